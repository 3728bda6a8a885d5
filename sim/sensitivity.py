"""Global sensitivity: which drawn parameters drive each outcome share (Sobol, Morris).

The factors are the scenario's drawn parameters over their supports, as
:func:`sim.interop.salib_problem` maps them (a range for a number, a unit
cell per whole number or option). SALib draws the design points; at each
point every factor is pinned in ``runs`` worlds, and the outputs are the
shares of each outcome and flag among those worlds.

Every design point runs the *same* worlds: the chunk seeds are those of
design point 0 at every point (:mod:`sim.batch.seeding`), and pinning a
parameter leaves the draws of the others unchanged (each has its own
stream), so only the factors differ between points. These common random
numbers take the luck of the worlds out of the differences SALib's
estimators are built from: a factor the outcome does not depend on gets an
index of exactly zero, not the noise of two sets of worlds.

* Sobol (Saltelli's scheme, ``N * (D + 2)`` points for ``D`` factors):
  first-order ``S1`` (the share of the output's variance due to the factor
  alone) and total ``ST`` (with all its interactions), each with a 95%
  bootstrap interval;
* Morris (``N`` trajectories of ``D + 1`` points on a 4-level grid):
  ``mu_star``, the mean absolute elementary effect (change in the share when
  the factor moves over its range, with a 95% bootstrap interval), ``mu``
  (its signed mean) and ``sigma`` (the spread of the effects: interactions
  or non-linearity).

:func:`run_sensitivity` writes a results folder of kind ``sensitivity``
(``indices.csv``, ``points.csv``, ``summary.json``, ``manifest.json``), whole
or not at all. See docs/sensitivity.md.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.batch.limits import MAX_POINTS, check_chunk_memory, check_work
from sim.batch.plan import plan_point, scenario_source
from sim.batch.runner import Presenter, execute_groups, group_folder, opened, present
from sim.batch.settings import RunSettings
from sim.errors import UsageError
from sim.interop import salib_inputs, salib_problem
from sim.results.aggregate import ChunkSummary, Counts
from sim.results.drivers import parameter_name
from sim.results.reader import SensitivityResult
from sim.results.staging import Staging
from sim.results.writer import manifest, write_json, write_manifest, write_table
from sim.scenario.model import Parameter, Scenario
from sim.scenario.pins import check_pinned

__all__ = [
    "DEFAULT_N",
    "DEFAULT_RUNS",
    "METHODS",
    "Output",
    "analyse",
    "choose_outputs",
    "design",
    "ranking_notes",
    "run_sensitivity",
]

METHODS = ("sobol", "morris")
DEFAULT_N = {"sobol": 64, "morris": 20}
"""Base samples (Sobol) or trajectories (Morris) when ``n`` is not given."""
MIN_N = {"sobol": 16, "morris": 4}
"""Fewer give bootstrap intervals too wide to say anything."""
DEFAULT_RUNS = 300
"""Worlds per design point when ``runs`` is not given."""
LEVELS = 4
"""Grid levels of the Morris design (each step moves a factor by 2/3 of its range)."""
RESAMPLES = 1000
"""Bootstrap resamples behind each confidence interval."""
CONF_LEVEL = 0.95

INDEX = {"sobol": ("ST", "ST_conf"), "morris": ("mu_star", "mu_star_conf")}
"""The index a method ranks factors by, and its interval's half-width."""
COLUMNS = {
    "sobol": ["S1", "S1_conf", "ST", "ST_conf"],
    "morris": ["mu_star", "mu_star_conf", "mu", "sigma"],
}


# -- what is analysed --------------------------------------------------------------
@dataclass(frozen=True)
class Output:
    """One output: the share of worlds ending in an outcome, or holding a flag."""

    id: str
    name: str
    kind: str  # "outcome" or "flag"

    @property
    def column(self) -> str:
        """Its column in ``points.csv`` (the keys of :func:`sim.interop.evaluate`)."""
        return f"p_{self.id}" if self.kind == "outcome" else f"flag_{self.id}"


def choose_outputs(sc: Scenario, ids: Sequence[str] | None = None) -> list[Output]:
    """The outputs named by ``ids`` (outcome or flag ids), or every outcome and key flag.

    Raises:
        UsageError: an id that is neither an outcome nor a flag (with the
            closest ids), or the same id twice.
    """
    outcomes = {o.id: Output(o.id, o.name, "outcome") for o in sc.outcomes}
    flags = {f.id: Output(f.id, f.name, "flag") for f in sc.flags}
    if ids is None:
        return [*outcomes.values(), *(flags[k] for k in sc.key_flags if k in flags)]
    chosen: list[Output] = []
    known = [*outcomes, *flags]
    for raw in ids:
        oid = raw.strip()
        if oid in outcomes or oid in flags:
            out = outcomes.get(oid) or flags[oid]
            if out in chosen:
                raise UsageError(f"--outputs: {oid!r} is given twice")
            chosen.append(out)
            continue
        close = difflib.get_close_matches(oid, known, n=3)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise UsageError(
            f"--outputs: {oid!r} is neither an outcome nor a flag of {sc.name}{hint} "
            f"(outcomes: {', '.join(outcomes)}; flags: {', '.join(flags) or 'none'})"
        )
    if not chosen:
        raise UsageError("--outputs: no output given; e.g. --outputs " + ",".join(known[:2]))
    return chosen


def _factors(sc: Scenario, pinned: Mapping[str, Any]) -> dict[str, Any]:
    """The SALib problem of the drawn parameters not pinned by the user."""
    drawn = salib_problem(sc)["names"]
    problem = salib_problem(sc, [pid for pid in drawn if pid not in pinned])
    if problem["num_vars"] < 2:
        left = ", ".join(problem["names"]) or "none"
        raise UsageError(
            f"{sc.name}: global sensitivity needs at least 2 drawn parameters "
            f"(drawn and not pinned: {left})"
        )
    return problem


def _salib_seed(seed: int, stream: int) -> int:
    """A non-zero seed for one of SALib's random draws (SALib reads 0 as 'no seed')."""
    state = int(np.random.SeedSequence(int(seed), spawn_key=(stream,)).generate_state(1)[0])
    return state or 1


def _core(problem: Mapping[str, Any]) -> dict[str, Any]:
    return {k: problem[k] for k in ("num_vars", "names", "bounds")}


def check_n(method: str, n: int) -> None:
    """Refuse a sample size the method cannot use well.

    Raises:
        UsageError: an unknown method, ``n`` below :data:`MIN_N`, or (Sobol)
            not a power of 2, which Sobol' sequences need for their balance.
    """
    if method not in METHODS:
        raise UsageError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if isinstance(n, bool) or not isinstance(n, int) or n < MIN_N[method]:
        raise UsageError(
            f"--n {n}: {method} needs at least {MIN_N[method]} "
            f"{'base samples' if method == 'sobol' else 'trajectories'} "
            f"(default {DEFAULT_N[method]})"
        )
    if method == "sobol" and n & (n - 1):
        lower = 1 << (n.bit_length() - 1)
        raise UsageError(
            f"--n {n}: Sobol sampling needs a power of 2 (e.g. {lower} or {2 * lower})"
        )


def design(problem: Mapping[str, Any], method: str, n: int, seed: int) -> np.ndarray:
    """SALib's design: one row per point, one column per factor, reproducible from ``seed``."""
    check_n(method, n)
    if method == "sobol":
        from SALib.sample import sobol  # start-up time: SALib only when analysing

        return np.asarray(
            sobol.sample(_core(problem), n, calc_second_order=False, seed=_salib_seed(seed, 0))
        )
    from SALib.sample import morris

    return np.asarray(
        morris.sample(_core(problem), n, num_levels=LEVELS, seed=_salib_seed(seed, 0))
    )


def point_count(method: str, n: int, factors: int) -> int:
    """How many design points a method makes (known before making them)."""
    return n * (factors + 2) if method == "sobol" else n * (factors + 1)


# -- the indices ---------------------------------------------------------------------
def analyse(
    problem: Mapping[str, Any],
    method: str,
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
) -> dict[str, np.ndarray] | None:
    """The indices of one output ``y`` (one value per design point), per factor.

    Keys are :data:`COLUMNS` of the method; ``None`` when ``y`` is the same at
    every point (no variance to apportion).
    """
    y = np.asarray(y, dtype=float)
    if np.ptp(y) == 0:
        return None
    boot = _salib_seed(seed, 1)
    if method == "sobol":
        from SALib.analyze import sobol

        res = sobol.analyze(
            _core(problem),
            y,
            calc_second_order=False,
            num_resamples=RESAMPLES,
            conf_level=CONF_LEVEL,
            seed=boot,
        )
    else:
        from SALib.analyze import morris

        res = morris.analyze(
            _core(problem),
            x,
            y,
            num_resamples=RESAMPLES,
            conf_level=CONF_LEVEL,
            num_levels=LEVELS,
            seed=boot,
        )
    return {k: np.asarray(res[k], dtype=float) for k in COLUMNS[method]}


def _round_up(method: str, n: float) -> int:
    k = math.ceil(n)
    return 1 << (k - 1).bit_length() if method == "sobol" else k


def ranking_notes(
    rows: Sequence[Mapping[str, Any]], method: str, n: int
) -> tuple[str | None, int | None]:
    """Whether the top factors of one output can be ranked; if not, why and which ``n``.

    ``rows`` are one output's factors with their index and half-width (keys
    of :data:`INDEX`). The ranking fails when the intervals of the top two
    overlap, or when the top interval's half-width exceeds half its index.
    Intervals shrink like ``1/sqrt(n)``, so the ``n`` suggested is ``n``
    times the square of the factor by which they must shrink (a power of 2
    for Sobol); ``None`` when the two look tied (no affordable ``n`` would
    separate them: more than 64 times ``n``).
    """
    key, conf = INDEX[method]
    shown = "mu*" if key == "mu_star" else key
    ranked = sorted(rows, key=lambda r: -r[key])
    if len(ranked) < 2:
        return None, None
    top, second = ranked[0], ranked[1]
    shrink = 1.0
    problems = []
    if top[key] - top[conf] < second[key] + second[conf]:
        gap = top[key] - second[key]
        shrink = max(shrink, (top[conf] + second[conf]) / gap if gap > 0 else math.inf)
        problems.append(
            f"the {shown} intervals of {top['parameter_name']} and "
            f"{second['parameter_name']} overlap"
        )
    if top[conf] > 0.5 * top[key]:
        shrink = max(shrink, top[conf] / (0.5 * top[key]) if top[key] > 0 else math.inf)
        problems.append(f"the top {shown} is less than twice its interval's half-width")
    if not problems:
        return None, None
    text = "; ".join(problems)
    needed = n * shrink**2
    if not math.isfinite(needed) or needed > 64 * n:
        return f"{text}: the top two may be tied (no affordable --n would rank them)", None
    suggest = _round_up(method, needed)
    return f"{text}: try --n {suggest:,}", suggest


# -- running the design points ---------------------------------------------------------
def _run_points(
    sc: Scenario,
    scenario: str | Path,
    inputs: Sequence[Mapping[str, Any]],
    settings: RunSettings,
    progress: bool,
) -> tuple[list[Counts], dict[str, Any]]:
    """Run ``runs`` worlds at every design point, the same worlds at each; counts per point."""
    runs, seed = settings.worlds
    ex = settings.make_executor(len(inputs))
    source = scenario_source(
        sc, scenario, sc.overrides, ship_text=not ex.in_process, check=ex.compiles_text
    )
    # Design point 0's seeds at every point: common random numbers.
    groups = [
        plan_point(source, 0, runs, seed, 0, dict(pins), False, settings.chunk_size)
        for pins in inputs
    ]
    counts = [Counts.zeros(sc) for _ in inputs]

    def add(i: int, result: ChunkSummary) -> None:
        counts[i].add(result.counts)

    execute_groups(groups, ex, add, progress, unit="point")
    return counts, ex.describe()


def _shares(sc: Scenario, outputs: Sequence[Output], counts: Sequence[Counts]) -> np.ndarray:
    """Output shares, one row per design point, one column per output."""
    flag_index = {f.id: k for k, f in enumerate(sc.flags)}
    outcome_index = {o.id: o.index for o in sc.outcomes}
    y = np.empty((len(counts), len(outputs)))
    for i, c in enumerate(counts):
        for j, o in enumerate(outputs):
            hits = (
                c.outcomes[outcome_index[o.id]]
                if o.kind == "outcome"
                else c.flags[flag_index[o.id]]
            )
            y[i, j] = hits / c.n
    return y


def _factor_doc(p: Parameter, problem: Mapping[str, Any], j: int) -> dict[str, Any]:
    lo, hi = problem["bounds"][j]
    doc: dict[str, Any] = {
        "id": p.id,
        "name": parameter_name(p.id, p.description),  # as the drivers name it
        "description": p.description,
    }
    if p.id in problem["categories"]:
        doc |= {"kind": "choice", "options": list(problem["categories"][p.id])}
    elif p.id in problem["integers"]:
        doc |= {"kind": "integer", "low": int(lo), "high": int(hi) - 1}
    else:
        doc |= {"kind": "range", "low": lo, "high": hi}
    return doc


def run_sensitivity(
    scenario: str | Path,
    method: str = "sobol",
    settings: RunSettings | None = None,
    *,
    outputs: Sequence[str] | None = None,
    n: int | None = None,
    out: str | Path | None = None,
    progress: bool = True,
    results_root: str | Path | None = None,
    on_complete: Presenter | None = None,
    **changes: Any,
) -> SensitivityResult:
    """Global sensitivity of the outcome and flag shares to the drawn parameters.

    Args:
        scenario: the scenario file.
        method: ``"sobol"`` or ``"morris"``.
        settings: how the worlds are run; ``runs`` is per design point
            (default :data:`DEFAULT_RUNS`), ``seed`` seeds the worlds (the
            same at every point), SALib's design and its bootstrap. Pinned
            parameters are held at their value and are not factors.
        outputs: outcome or flag ids (default: every outcome and key flag).
        n: Sobol base samples (a power of 2) or Morris trajectories
            (default :data:`DEFAULT_N`).
        out, progress, results_root, on_complete: as for
            :func:`sim.batch.runner.run_batch`; the default folder is
            ``results/<scenario>/sensitivity/<YYYYmmdd-HHMMSS>/``.

    Raises:
        UsageError: an unknown method or output, ``n`` too small (or not a
            power of 2 for Sobol), fewer than 2 drawn parameters, or more
            work than the limits allow.
        ValidationError: the scenario or an override is invalid.
    """
    settings = RunSettings.of(settings, **changes)
    n = DEFAULT_N.get(method, 0) if n is None else n
    check_n(method, n)
    with settings.claims_in_force():
        loaded = settings.load(scenario)  # --set, and the rules of --without removed
        sc = loaded.scenario
    if settings.runs is None:
        settings = RunSettings.of(settings, runs=DEFAULT_RUNS)
    settings = settings.for_scenario(sc)
    runs, seed = settings.worlds
    chosen = choose_outputs(sc, outputs)
    base_pins = check_pinned(sc, settings.pinned)
    problem = _factors(sc, base_pins)
    points = point_count(method, n, problem["num_vars"])
    MAX_POINTS.check(
        points,
        f"--n {n:,} with {problem['num_vars']} factors makes {points:,} design points",
        "lower --n",
    )
    check_work(runs, settings.chunk_size, points)
    check_chunk_memory(sc, min(runs, settings.chunk_size))
    x = design(problem, method, n, seed)
    # SALib scales its unit design to the bounds as lo + u * (hi - lo), which can
    # overshoot hi by a rounding error (Morris's grid reaches u = 1): clip first.
    lo, hi = np.asarray(problem["bounds"], dtype=float).T
    inputs = [
        check_pinned(sc, {**base_pins, **salib_inputs(problem, np.clip(row, lo, hi))}) for row in x
    ]

    started = _dt.datetime.now()
    counts, executor = _run_points(sc, scenario, inputs, settings, progress)
    y = _shares(sc, chosen, counts)

    by_id = {p.id: p for p in sc.parameters}
    factors = [_factor_doc(by_id[pid], problem, j) for j, pid in enumerate(problem["names"])]
    rows: list[dict[str, Any]] = []
    docs: list[dict[str, Any]] = []
    key, _ = INDEX[method]
    for j, o in enumerate(chosen):
        found = analyse(problem, method, x, y[:, j], seed)
        mine = []
        for k, f in enumerate(factors):
            row = {
                "output": o.id,
                "output_name": o.name,
                "parameter": f["id"],
                "parameter_name": f["name"],
            }
            row |= {c: (float(found[c][k]) if found else math.nan) for c in COLUMNS[method]}
            mine.append(row)
        if found:
            mine.sort(key=lambda r: -r[key])
        note, suggest = ranking_notes(mine, method, n) if found else (None, None)
        if not found:
            note = f"{pct_text(y[0, j])} in every design point: nothing to apportion"
        rows += mine
        docs.append(
            {
                "id": o.id,
                "name": o.name,
                "kind": o.kind,
                "column": o.column,
                "mean": float(y[:, j].mean()),
                "min": float(y[:, j].min()),
                "max": float(y[:, j].max()),
                "varies": found is not None,
                "ranked": found is not None and note is None,
                "note": note,
                "suggest_n": suggest,
                "top": [r["parameter"] for r in mine[:3]] if found else [],
            }
        )

    table = pd.DataFrame.from_records(rows, columns=[*rows[0].keys()])
    design_rows: list[dict[str, Any]] = []
    for i, row in enumerate(x):
        rec: dict[str, Any] = {"point": i}
        rec |= {f"x_{pid}": float(v) for pid, v in zip(problem["names"], row, strict=True)}
        rec |= {f"param_{pid}": inputs[i][pid] for pid in problem["names"]}
        rec["worlds"] = counts[i].n
        rec |= {o.column: float(y[i, j]) for j, o in enumerate(chosen)}
        design_rows.append(rec)
    suggestions = [d["suggest_n"] for d in docs if d["suggest_n"]]
    summary = {
        "scenario": sc.name,
        "title": sc.title,
        "method": method,
        "n": n,
        "points": points,
        "runs": runs,
        "seed": seed,
        "conf_level": CONF_LEVEL,
        "resamples": RESAMPLES,
        "levels": LEVELS if method == "morris" else None,
        "index": key,
        "factors": factors,
        "pinned": {k: v for k, v in base_pins.items()},
        "outputs": docs,
        "notes": [f"{d['name']}: {d['note']}" for d in docs if d["varies"] and d["note"]],
        "suggest_n": max(suggestions) if suggestions else None,
        "outcomes": [{"id": o.id, "name": o.name, "colour": o.colour} for o in sc.outcomes],
        "flags": [{"id": f.id, "name": f.name} for f in sc.flags],
    }
    extra = ["--method", method, "--n", str(n)]
    if outputs is not None:
        extra += ["--outputs", ",".join(o.id for o in chosen)]
    with Staging(group_folder(results_root, f"{sc.name}/sensitivity"), out, started) as stage:
        write_table(stage.path / "indices.csv", table)
        write_table(stage.path / "points.csv", pd.DataFrame.from_records(design_rows))
        write_json(stage.path / "summary.json", summary)
        write_manifest(
            stage.path,
            manifest(
                "sensitivity",
                sc,
                scenario_file=str(scenario),
                overrides=loaded.overrides,
                seed=seed,
                runs=runs,
                chunk_size=settings.chunk_size,
                executor=executor,
                started=started,
                finished=_dt.datetime.now(),
                command=settings.command("sensitivity", scenario, extra=extra, pinned=base_pins),
                runs_table=False,
                runs_table_note="a sensitivity folder keeps shares per design point, not worlds",
                pinned=base_pins,
                method=method,
                n=n,
                points=points,
                worlds=points * runs,
                factors=list(problem["names"]),
                outputs=[o.id for o in chosen],
                salib=version("SALib"),
                **({"without": list(loaded.without)} if loaded.without else {}),
            ),
        )
        note = present(on_complete, stage.path)
    return opened(stage, note, SensitivityResult)


def pct_text(x: float) -> str:
    """A share as a percentage with one decimal."""
    return f"{100 * x:.1f}%"
