"""Parameter sweeps: the same batch at many design points.

A design point is a set of values for the varied paths. A path is either a
scenario path (``parameters.kremlin_appetite.a``,
``actors.kremlin.values.cost_of_war.weight``), applied as an override
and recompiled per point, or ``param.<id>``, which pins that parameter to
the value in every world of the point instead of drawing it.

Designs: ``grid`` (every combination, first path varying slowest) or
``lhs`` (a Latin hypercube of ``samples`` points drawn with
``scipy.stats.qmc.LatinHypercube`` seeded by the root seed).
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.batch.executors import Executor
from sim.batch.limits import check_chunk_memory, check_points, check_work
from sim.batch.plan import ChunkTask, ScenarioSource, plan_point, scenario_source
from sim.batch.runner import Presenter, group_folder, opened, present, stream
from sim.batch.settings import RunSettings
from sim.errors import UsageError
from sim.results.aggregate import Counts, proportion
from sim.results.reader import SweepResult
from sim.results.staging import Staging
from sim.results.writer import manifest, write_json, write_manifest, write_table
from sim.scenario import load_scenario
from sim.scenario.model import Scenario
from sim.scenario.pins import check_pinned

DESIGNS = ("grid", "lhs")
PIN_PREFIX = "param."


@dataclass(frozen=True)
class Vary:
    """One varied path: a list of values, or a numeric range ``lo:hi:n``."""

    path: str
    values: tuple[Any, ...] = ()
    lo: float | None = None
    hi: float | None = None
    n: int | None = None
    integer: bool = False
    """Round range values to whole numbers (set when the target holds an integer)."""

    @property
    def is_range(self) -> bool:
        """Whether the axis is a ``lo:hi[:n]`` range (``lo`` and ``hi`` set), not a list."""
        return self.lo is not None

    @property
    def pins(self) -> bool:
        """True for ``param.<id>``: pin a parameter rather than override the file."""
        return self.path.startswith(PIN_PREFIX)

    def grid_size(self) -> int:
        """How many values a grid design takes (known before making them)."""
        if not self.is_range:
            return len(self.values)
        if self.n is None:
            raise UsageError(
                f"--vary {self.path}={self.text_values()}: a grid needs a number of points, "
                "e.g. 0.1:0.9:5"
            )
        return self.n

    def grid(self) -> list[Any]:
        """The values a grid design takes."""
        if not self.is_range:
            return list(self.values)
        self.grid_size()  # a range without a number of points is refused
        assert self.lo is not None and self.hi is not None and self.n is not None
        if self.n == 1:
            xs = [self.lo]
        else:
            step = (self.hi - self.lo) / (self.n - 1)
            xs = [self.lo + i * step for i in range(self.n - 1)] + [self.hi]
        return [self._number(x) for x in xs]

    def scale(self, u: float) -> Any:
        """The value at ``u`` in [0, 1) (for Latin hypercube samples)."""
        if self.is_range:
            assert self.lo is not None and self.hi is not None
            return self._number(self.lo + u * (self.hi - self.lo))
        return self.values[min(int(u * len(self.values)), len(self.values) - 1)]

    def _number(self, x: float) -> int | float:
        return round(x) if self.integer else float(x)

    def text_values(self) -> str:
        """The VALUES part of ``--vary PATH=VALUES`` that gives this object."""
        if self.is_range:
            assert self.lo is not None and self.hi is not None
            parts = [format_value(self._number(self.lo)), format_value(self._number(self.hi))]
            if self.n is not None:
                parts.append(str(self.n))
            return ":".join(parts)
        return ",".join(format_value(v) for v in self.values)

    def text(self) -> str:
        """The axis as ``--vary`` writes it: ``PATH=VALUES``."""
        return f"{self.path}={self.text_values()}"

    def as_json(self) -> dict[str, Any]:
        """The axis as the sweep manifest records it (read back by :meth:`from_json`)."""
        if self.is_range:
            return {"path": self.path, "range": [self.lo, self.hi, self.n], "integer": self.integer}
        return {"path": self.path, "values": list(self.values)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Vary:
        """The axis recorded by :meth:`as_json`."""
        if "range" in d:
            lo, hi, n = d["range"]
            return cls(d["path"], (), lo, hi, n, bool(d.get("integer")))
        return cls(d["path"], tuple(d["values"]))


def format_value(v: Any) -> str:
    """A value as YAML text, the way ``--set`` reads it back."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _scalar(text: str, spec: str) -> Any:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = text
    if isinstance(value, dict | list) or value is None:
        raise UsageError(f"--vary {spec!r}: {text!r} is not a single value")
    return value


def _number(text: str, spec: str, what: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise UsageError(
            f"--vary {spec!r}: the {what} of a range must be a number (got {text!r}); "
            "write a range as lo:hi:n, e.g. 0.1:0.9:5"
        ) from None
    if not math.isfinite(x):
        raise UsageError(f"--vary {spec!r}: the {what} of a range must be finite (got {text!r})")
    return x


def parse_values(path: str, text: str) -> Vary:
    """Read VALUES: a list ``0.1,0.3,0.5`` or a range ``lo:hi:n`` (n points, ends included)."""
    spec = f"{path}={text}"
    text = text.strip()
    if not text:
        raise UsageError(f"--vary {spec!r}: no values after '='; e.g. {path}=0.1,0.3,0.5")
    if ":" in text:
        parts = [p.strip() for p in text.split(":")]
        if len(parts) not in (2, 3):
            raise UsageError(
                f"--vary {spec!r}: a range is lo:hi:n (n points from lo to hi inclusive), "
                "e.g. 0.1:0.9:5"
            )
        lo = _number(parts[0], spec, "low end")
        hi = _number(parts[1], spec, "high end")
        n = None
        if len(parts) == 3:
            if not parts[2].isdigit() or int(parts[2]) < 1:
                raise UsageError(
                    f"--vary {spec!r}: the number of points must be a whole number >= 1 "
                    f"(got {parts[2]!r})"
                )
            n = int(parts[2])
        return Vary(path, (), lo, hi, n)
    items = [p.strip() for p in text.split(",")]
    if any(not p for p in items):
        raise UsageError(f"--vary {spec!r}: an empty value in the list (two commas?)")
    return Vary(path, tuple(_scalar(p, spec) for p in items))


def parse_vary(text: str) -> Vary:
    """Read one ``--vary PATH=VALUES`` argument."""
    path, eq, values = text.partition("=")
    path = path.strip()
    if not eq or not path:
        raise UsageError(
            f"--vary {text!r}: expected PATH=VALUES, e.g. "
            "parameters.kremlin_appetite.a=1:5:3 or param.kremlin_appetite=0.2,0.5,0.8"
        )
    if any(not p for p in path.split(".")) or path == PIN_PREFIX.rstrip("."):
        raise UsageError(f"--vary {text!r}: the path {path!r} has an empty part")
    return parse_values(path, values)


def as_varies(vary: Mapping[str, Any] | Sequence[str | Vary]) -> list[Vary]:
    """Accept ``{"path": [values] | "lo:hi:n" | "v1,v2"}`` or ``--vary`` strings."""
    out: list[Vary] = []
    if isinstance(vary, Mapping):
        for path, spec in vary.items():
            if isinstance(spec, Vary):
                out.append(spec)
            elif isinstance(spec, str):
                out.append(parse_values(str(path), spec))
            elif isinstance(spec, Sequence) and len(spec) > 0:
                out.append(Vary(str(path), tuple(spec)))
            else:
                raise UsageError(
                    f"vary[{path!r}]: expected a non-empty list of values or a 'lo:hi:n' range "
                    f"(got {spec!r})"
                )
    else:
        out = [v if isinstance(v, Vary) else parse_vary(v) for v in vary]
    if not out:
        raise UsageError("a sweep needs at least one --vary PATH=VALUES")
    paths = [v.path for v in out]
    dup = sorted({p for p in paths if paths.count(p) > 1})
    if dup:
        raise UsageError(f"--vary: {', '.join(dup)} given more than once")
    return out


def design_points(
    varies: Sequence[Vary], design: str = "grid", samples: int | None = None, seed: int = 0
) -> list[dict[str, Any]]:
    """The design: one ``{path: value}`` mapping per point, in point order.

    The number of points is checked against :data:`sim.batch.limits.MAX_POINTS`
    before any is made (a grid's size is the product of its ranges' sizes).
    """
    if design not in DESIGNS:
        raise UsageError(f"unknown design {design!r}; expected one of {', '.join(DESIGNS)}")
    if design == "grid":
        if samples is not None:
            raise UsageError("--samples applies to --design lhs only (a grid takes every value)")
        sizes = [v.grid_size() for v in varies]
        check_points(math.prod(sizes), "the grid " + " x ".join(f"{n:,}" for n in sizes))
        grids = [v.grid() for v in varies]
        return [
            dict(zip([v.path for v in varies], combo, strict=True))
            for combo in itertools.product(*grids)
        ]
    if samples is None or samples < 1:
        raise UsageError("--design lhs needs --samples M (the number of design points, >= 1)")
    check_points(samples, f"--samples {samples:,}")
    from scipy.stats import qmc  # start-up time: scipy only for a Latin hypercube

    u = qmc.LatinHypercube(d=len(varies), rng=np.random.default_rng(int(seed))).random(samples)
    return [{v.path: v.scale(float(row[j])) for j, v in enumerate(varies)} for row in u]


def with_types(varies: Sequence[Vary], sc: Scenario) -> list[Vary]:
    """Mark ranges whose target holds whole numbers, so their values are rounded.

    The target is a pinned parameter declared ``integer``, or a scenario
    path whose current value is a whole number (``scenario.horizon_days``).
    """
    out = []
    for v in varies:
        if v.is_range:
            if v.pins:
                pid = v.path[len(PIN_PREFIX) :]
                whole = any(p.id == pid and p.integer for p in sc.parameters)
            else:
                current = lookup_path(sc.resolved, v.path)
                whole = isinstance(current, int) and not isinstance(current, bool)
            v = replace(v, integer=whole)
        out.append(v)
    return out


def lookup_path(data: Any, path: str) -> Any:
    """The value at a dotted scenario path (``parameters.a.value``, ``ladder.0``), or ``None``."""
    for part in path.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def point_settings(values: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Overrides and pins of a design point."""
    overrides, pins = [], {}
    for path, value in values.items():
        if path.startswith(PIN_PREFIX):
            pins[path[len(PIN_PREFIX) :]] = value
        else:
            overrides.append(f"{path}={format_value(value)}")
    return overrides, pins


def _structure(sc: Scenario) -> tuple[Any, ...]:
    """What must stay the same across points for one runs.csv and points.csv."""
    return (
        tuple(o.id for o in sc.outcomes),
        tuple(f.id for f in sc.flags),
        tuple((p.id, p.type, p.enum_values) for p in sc.parameters),
        tuple(r.id for r in sc.ladder),
        sc.key_rungs,
    )


def point_scenario(manifest: Mapping[str, Any], point: int) -> tuple[Scenario, dict[str, Any]]:
    """Scenario and pins of one design point of a sweep folder (for reruns)."""
    varies = [Vary.from_json(v) for v in manifest["vary_spec"]]
    points = design_points(varies, manifest["design"], manifest.get("samples"), manifest["seed"])
    overrides, pins = point_settings(points[point])
    sc = load_scenario(manifest["scenario_file"], (*manifest["overrides"], *overrides))
    return sc, check_pinned(sc, {**(manifest.get("pinned") or {}), **pins})


def _plan(
    scenario: str | Path,
    base: Scenario,
    points: list[dict[str, Any]],
    settings: RunSettings,
    base_pins: dict[str, Any],
    runs_table: bool,
    ex: Executor,
) -> tuple[list[ChunkTask], dict[int, Scenario]]:
    """Every point compiled and planned before any work starts: errors surface at once.

    Points that compile to the same scenario share one source (workers
    compile it once); a point that changes the scenario's structure is refused.
    """
    runs, seed = settings.worlds
    chunk_size = settings.chunk_size
    tasks: list[ChunkTask] = []
    scenarios: dict[int, Scenario] = {}
    sources: dict[str, ScenarioSource] = {}
    for i, values in enumerate(points):
        extra, pins = point_settings(values)
        overrides = (*settings.overrides, *extra)
        sc = load_scenario(scenario, overrides) if extra else base
        if _structure(sc) != _structure(base):
            raise UsageError(
                f"design point {i} ({', '.join(extra)}) changes the scenario's outcomes, flags, "
                "parameters or ladder; a sweep can vary values only"
            )
        pins = check_pinned(sc, {**base_pins, **pins})
        if sc.sha256 not in sources:
            check_chunk_memory(sc, min(runs, chunk_size))
            sources[sc.sha256] = scenario_source(
                sc, scenario, overrides, ship_text=not ex.in_process, check=ex.compiles_text
            )
        scenarios[i] = sc
        tasks += plan_point(
            sources[sc.sha256],
            i,
            runs,
            seed,
            i * runs,
            pins,
            runs_table,
            chunk_size,
            runs_text=runs_table,
        )
    return tasks, scenarios


def run_sweep(
    scenario: str | Path,
    vary: Mapping[str, Any] | Sequence[str | Vary],
    settings: RunSettings | None = None,
    *,
    design: str = "grid",
    samples: int | None = None,
    out: str | Path | None = None,
    runs_table: bool = True,
    progress: bool = True,
    results_root: str | Path | None = None,
    on_complete: Presenter | None = None,
    **changes: Any,
) -> SweepResult:
    """Run ``settings.runs`` worlds at every design point and write a sweep folder.

    Args:
        vary: ``{path: values}`` where values is a list, ``"v1,v2"`` or
            ``"lo:hi:n"``; or ``--vary`` strings. ``param.<id>`` pins a
            parameter; any other path overrides the scenario file.
        settings: how the worlds are run; ``runs`` is per design point
            (default: the scenario's ``default_runs``).
        design: ``"grid"`` or ``"lhs"``.
        samples: number of Latin hypercube points (``lhs`` only).

    The remaining arguments, keyword changes of ``settings`` included, are
    those of :func:`sim.batch.runner.run_batch`.
    """
    settings = RunSettings.of(settings, **changes)
    with settings.claims_in_force():
        loaded = settings.load(scenario)
        base = loaded.scenario
        varies = with_types(as_varies(vary), base)
        settings = settings.for_scenario(base)
        runs, seed = settings.worlds
        base_pins = check_pinned(base, settings.pinned)
        points = design_points(varies, design, samples, seed)
        check_work(runs, settings.chunk_size, len(points))
        ex = settings.make_executor(len(points))
        # Every point is compiled with the rules of --without removed, as the base is.
        planned = replace(settings, overrides=loaded.overrides, without=())
        tasks, scenarios = _plan(scenario, base, points, planned, base_pins, runs_table, ex)
    overrides, chunk_size = loaded.overrides, settings.chunk_size

    started = _dt.datetime.now()
    counts = {i: Counts.zeros(sc) for i, sc in scenarios.items()}
    with Staging(group_folder(results_root, base.name), out, started) as stage:
        stream(
            tasks,
            ex,
            base,
            stage.path,
            lambda cs: counts[cs.point].add(cs.counts),
            seed=seed,
            runs_table=runs_table,
            progress=progress,
        )

        rows, per_point = [], []
        for i, values in enumerate(points):
            c = counts[i]
            row: dict[str, Any] = {"point": i}
            row |= {v.path: format_value(values[v.path]) for v in varies}
            row["worlds"] = c.n
            outcomes, flags = {}, {}
            for o in base.outcomes:
                pr = proportion(c.outcomes[o.index], c.n)
                outcomes[o.id] = pr
                row |= {f"p_{o.id}": pr["p"], f"lo_{o.id}": pr["lo"], f"hi_{o.id}": pr["hi"]}
            for k, f in enumerate(base.flags):
                flags[f.id] = proportion(c.flags[k], c.n)
            rows.append(row)
            per_point.append(
                {"point": i, "values": values, "worlds": c.n, "outcomes": outcomes, "flags": flags}
            )
        write_table(stage.path / "points.csv", pd.DataFrame.from_records(rows))
        vary_json = [v.as_json() for v in varies]
        write_json(
            stage.path / "summary.json",
            {
                "scenario": base.name,
                "title": base.title,
                "start": base.start.isoformat(),
                "horizon_days": base.horizon_days,
                "design": design,
                "samples": samples,
                "vary": vary_json,
                "points": len(points),
                "runs": runs,
                "seed": seed,
                "outcomes": [
                    {"id": o.id, "name": o.name, "colour": o.colour} for o in base.outcomes
                ],
                "flags": [{"id": f.id, "name": f.name} for f in base.flags],
                "ladder": [
                    {"id": r.id, "name": r.name, "mid_level": r.mid_level, "colour": r.colour}
                    for r in base.ladder
                ],
                "key_rungs": list(base.key_rungs),
                "key_flags": list(base.key_flags),
                **({"without": list(loaded.without)} if loaded.without else {}),
                "results": per_point,
            },
        )
        extra_args = [a for v in varies for a in ("--vary", v.text())] + ["--design", design]
        if samples is not None:
            extra_args += ["--samples", str(samples)]
        write_manifest(
            stage.path,
            manifest(
                "sweep",
                base,
                scenario_file=str(scenario),
                overrides=overrides,
                seed=seed,
                runs=runs,
                chunk_size=chunk_size,
                executor=ex.describe(),
                started=started,
                finished=_dt.datetime.now(),
                command=settings.command(
                    "sweep", scenario, runs_table=runs_table, extra=extra_args, pinned=base_pins
                ),
                runs_table=runs_table,
                pinned=base_pins,
                **({"without": list(loaded.without)} if loaded.without else {}),
                design=design,
                samples=samples,
                vary=[v.path for v in varies],
                vary_spec=vary_json,
                points=len(points),
                worlds=len(points) * runs,
            ),
        )
        note = present(on_complete, stage.path)
    return opened(stage, note, SweepResult)
