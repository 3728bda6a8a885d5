"""Rule knock-outs: each rule removed in turn, the same worlds run again.

A knock-out is the scenario with one rule removed (switched off, as
:mod:`sim.scenario.removal` says: a trigger, preference or foresight rule
never applies, a constraint forbids nothing). :func:`run_knockouts` runs
the base scenario and one knock-out per rule on the **same worlds**: every
variant takes design point 0's chunk seeds (:mod:`sim.batch.seeding`), and a
switched-off rule keeps the layout of its actor's random draws, so world
``i`` of a knock-out is world ``i`` of the base with one rule gone. What
differs between the two is then the rule's doing alone, world by world.

For each outcome and key flag it tables the change in its share, knock-out
minus base, with a 95% interval for a difference of paired shares
(:func:`sim.stats.paired_diff`, Newcombe's score interval for paired
proportions): only the worlds that changed (in the outcome in one run and
not in the other) move the difference, and a rule that changes nothing
changes it by exactly 0.

It writes a results folder of kind ``knockouts`` (``knockouts.csv``,
``summary.json``, ``manifest.json``), whole or not at all. See docs/knockouts.md.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.batch.limits import check_chunk_memory, check_work
from sim.batch.plan import plan_point, scenario_source
from sim.batch.runner import Presenter, execute_groups, group_folder, opened, present
from sim.batch.settings import RunSettings
from sim.errors import UsageError
from sim.results.aggregate import ChunkSummary
from sim.results.reader import KnockoutsResult
from sim.results.staging import Staging
from sim.results.writer import manifest, write_json, write_manifest, write_table
from sim.scenario import load_scenario
from sim.scenario.model import Scenario
from sim.scenario.pins import check_pinned
from sim.scenario.removal import Removal, removals
from sim.stats import paired_diff, share

__all__ = ["DEFAULT_RUNS", "Output", "Worlds", "knockout_table", "outputs_of", "run_knockouts"]

DEFAULT_RUNS = 2000
"""Worlds per variant when ``runs`` is not given."""
CONF_LEVEL = 0.95


@dataclass(frozen=True)
class Output:
    """An outcome or a key flag whose share each knock-out changes."""

    id: str
    name: str
    kind: str  # "outcome" or "flag"
    index: int  # the outcome's index, or the flag's place in the scenario's flags


def outputs_of(sc: Scenario) -> list[Output]:
    """Every outcome (least to most severe), then the key flags (every flag if none is key)."""
    out = [Output(o.id, o.name, "outcome", o.index) for o in sc.outcomes]
    place = {f.id: k for k, f in enumerate(sc.flags)}
    keys = list(sc.key_flags) or [f.id for f in sc.flags]
    out += [Output(f, sc.flags[place[f]].name, "flag", place[f]) for f in keys if f in place]
    return out


@dataclass
class Worlds:
    """Per world of one variant: its outcome (index) and its flags (worlds x flags)."""

    outcome: np.ndarray
    flags: np.ndarray

    @classmethod
    def empty(cls, runs: int, n_flags: int) -> Worlds:
        """Room for ``runs`` worlds."""
        return cls(np.full(runs, -1, dtype=np.int64), np.zeros((runs, n_flags), dtype=bool))

    def put(self, sc: Scenario, cs: ChunkSummary) -> None:
        """Record one chunk's worlds at their places."""
        rows = cs.rows
        assert rows is not None, "knock-out chunks are planned with their rows"
        at = slice(cs.first_world, cs.first_world + len(rows))
        self.outcome[at] = rows["outcome"]
        for k, f in enumerate(sc.flags):
            self.flags[at, k] = rows[f"flag_{f.id}"]

    def hits(self, o: Output) -> np.ndarray:
        """Per world: in the outcome, or holding the flag."""
        return self.outcome == o.index if o.kind == "outcome" else self.flags[:, o.index]


def knockout_table(
    sc: Scenario, base: Worlds, knocked: Sequence[tuple[Removal, Worlds]]
) -> pd.DataFrame:
    """One row per knock-out and output: base and knock-out shares and their paired difference.

    Columns: ``rule`` (``actor.rule``), ``actor``, ``actor_name``, ``kind``,
    ``action``, ``description``, ``removed_by``, ``output``, ``output_kind``,
    ``output_name``, ``worlds``, ``base_count``, ``knockout_count``,
    ``only_base`` and ``only_knockout`` (the discordant worlds), ``base_p``,
    ``knockout_p``, ``diff`` (knock-out minus base), ``lo``, ``hi`` (its 95%
    interval) and ``clear`` (the interval excludes 0).
    """
    outputs = outputs_of(sc)
    rows: list[dict[str, Any]] = []
    for removal, ko in knocked:
        doc = removal.as_json(sc)
        for o in outputs:
            b, k = base.hits(o), ko.hits(o)
            both, only_k = int((b & k).sum()), int((~b & k).sum())
            only_b, neither = int((b & ~k).sum()), int((~b & ~k).sum())
            diff, lo, hi = paired_diff(both, only_k, only_b, neither)
            n = len(b)
            rows.append(
                {
                    "rule": doc["rule"],
                    "actor": doc["actor"],
                    "actor_name": doc["actor_name"],
                    "kind": doc["kind"],
                    "action": doc["action"],
                    "description": doc["description"],
                    "removed_by": doc["removed_by"],
                    "output": o.id,
                    "output_kind": o.kind,
                    "output_name": o.name,
                    "worlds": n,
                    "base_count": both + only_b,
                    "knockout_count": both + only_k,
                    "only_base": only_b,
                    "only_knockout": only_k,
                    "base_p": (both + only_b) / n,
                    "knockout_p": (both + only_k) / n,
                    "diff": diff,
                    "lo": lo,
                    "hi": hi,
                    "clear": bool(lo > 0 or hi < 0),
                }
            )
    return pd.DataFrame.from_records(rows)


def _summary(
    sc: Scenario, table: pd.DataFrame, base: Worlds, runs: int, seed: int, without: Sequence[Any]
) -> dict[str, Any]:
    """``summary.json``: the base shares, then the knock-outs, largest change first."""
    outputs = outputs_of(sc)
    base_docs = []
    for o in outputs:
        s = share(int(base.hits(o).sum()), runs)
        base_docs.append(
            {"id": o.id, "name": o.name, "kind": o.kind, "count": s.count, "p": s.p}
            | {"lo": s.lo, "hi": s.hi}
        )
    knockouts = []
    for rule, rows in table.groupby("rule", sort=False):
        first = rows.iloc[0]
        top = rows.loc[rows["diff"].abs().idxmax()]
        knockouts.append(
            {
                "rule": str(rule),
                "actor": first["actor"],
                "actor_name": first["actor_name"],
                "kind": first["kind"],
                "action": first["action"],
                "description": first["description"],
                "removed_by": first["removed_by"],
                "changed_worlds": int((rows["only_base"] + rows["only_knockout"]).max()),
                "largest": {
                    "output": top["output"],
                    "output_name": top["output_name"],
                    "diff": float(top["diff"]),
                    "lo": float(top["lo"]),
                    "hi": float(top["hi"]),
                    "clear": bool(top["clear"]),
                },
                "clear": [str(x) for x in rows.loc[rows["clear"], "output"]],
            }
        )
    knockouts.sort(key=lambda k: (-abs(k["largest"]["diff"]), k["rule"]))
    return {
        "scenario": sc.name,
        "title": sc.title,
        "runs": runs,
        "seed": seed,
        "conf_level": CONF_LEVEL,
        "interval": "Newcombe's score interval for paired proportions (method 10)",
        "outputs": base_docs,
        "knockouts": knockouts,
        "without": list(without),
        "outcomes": [{"id": o.id, "name": o.name, "colour": o.colour} for o in sc.outcomes],
        "flags": [{"id": f.id, "name": f.name} for f in sc.flags],
    }


def _variants(
    scenario: str | Path, base: Scenario, overrides: tuple[str, ...], gone: Sequence[Removal]
) -> list[tuple[Scenario, tuple[str, ...]]]:
    """The base, then each knock-out: its scenario and the overrides it was compiled with."""
    out = [(base, overrides)]
    for r in gone:
        extra = (*overrides, r.override)
        out.append((load_scenario(scenario, extra), extra))
    return out


def _run(
    scenario: str | Path,
    variants: Sequence[tuple[Scenario, tuple[str, ...]]],
    settings: RunSettings,
    pins: dict[str, Any],
    progress: bool,
) -> tuple[list[Worlds], dict[str, Any]]:
    """Run every variant on the same worlds (design point 0's seeds); each one's worlds."""
    runs, seed = settings.worlds
    ex = settings.make_executor(len(variants))
    groups = []
    for sc, overrides in variants:
        source = scenario_source(
            sc, scenario, overrides, ship_text=not ex.in_process, check=ex.compiles_text
        )
        # Design point 0's seeds for every variant: common random numbers.
        groups.append(plan_point(source, 0, runs, seed, 0, pins, True, settings.chunk_size))
    base = variants[0][0]
    worlds = [Worlds.empty(runs, len(base.flags)) for _ in variants]

    def put(i: int, result: ChunkSummary) -> None:
        worlds[i].put(variants[i][0], result)

    execute_groups(groups, ex, put, progress, unit="variant")
    return worlds, ex.describe()


def run_knockouts(
    scenario: str | Path,
    settings: RunSettings | None = None,
    *,
    rules: Sequence[str] | None = None,
    out: str | Path | None = None,
    progress: bool = True,
    results_root: str | Path | None = None,
    on_complete: Presenter | None = None,
    **changes: Any,
) -> KnockoutsResult:
    """Run the scenario and one knock-out per rule on the same worlds; write a folder.

    Args:
        scenario: the scenario file.
        settings: how the worlds are run; ``runs`` is per variant (default
            :data:`DEFAULT_RUNS`). Rules of ``settings.without`` are removed
            from the base (and from every knock-out) and not knocked out again.
        rules: the rules to knock out (``actor.rule`` or a rule id one actor
            has); default every rule of the scenario.
        out, progress, results_root, on_complete: as for
            :func:`sim.batch.runner.run_batch`; the default folder is
            ``results/<scenario>/knockouts/<YYYYmmdd-HHMMSS>/``.

    Raises:
        UsageError: an unknown, ambiguous or repeated rule, a rule already
            removed by ``without``, no rule to knock out, or more work than the
            limits allow.
        ValidationError: the scenario or an override is invalid.
    """
    settings = RunSettings.of(settings, **changes)
    with settings.claims_in_force():
        loaded = settings.load(scenario)
        base = loaded.scenario
        if settings.runs is None:
            settings = RunSettings.of(settings, runs=DEFAULT_RUNS)
        settings = settings.for_scenario(base)
        runs, seed = settings.worlds
        removed = {d["rule"] for d in loaded.without}
        if rules is None:
            gone = tuple(r for r in removals(base, [f"{x.actor}.{x.id}" for x in base.rules]))
            gone = tuple(r for r in gone if r.id not in removed)
        else:
            gone = removals(base, rules)
            twice = [r.id for r in gone if r.id in removed]
            if twice:
                raise UsageError(
                    f"--rules {', '.join(twice)}: already removed from the base by --without"
                )
        if not gone:
            raise UsageError(f"{base.name}: no rule left to knock out")
        check_work(runs, settings.chunk_size, len(gone) + 1)
        check_chunk_memory(base, min(runs, settings.chunk_size))
        pins = check_pinned(base, settings.pinned)
        variants = _variants(scenario, base, loaded.overrides, gone)

    started = _dt.datetime.now()
    worlds, executor = _run(scenario, variants, settings, pins, progress)
    table = knockout_table(base, worlds[0], list(zip(gone, worlds[1:], strict=True)))
    summary = _summary(base, table, worlds[0], runs, seed, loaded.without)
    extra = ["--rules", ",".join(r.id for r in gone)] if rules is not None else []
    with Staging(group_folder(results_root, f"{base.name}/knockouts"), out, started) as stage:
        write_table(stage.path / "knockouts.csv", table)
        write_json(stage.path / "summary.json", summary)
        write_manifest(
            stage.path,
            manifest(
                "knockouts",
                base,
                scenario_file=str(scenario),
                overrides=loaded.overrides,
                seed=seed,
                runs=runs,
                chunk_size=settings.chunk_size,
                executor=executor,
                started=started,
                finished=_dt.datetime.now(),
                command=settings.command("knockouts", scenario, extra=extra, pinned=pins),
                runs_table=False,
                runs_table_note="a knockouts folder keeps the paired changes, not the worlds",
                pinned=pins,
                knockouts=[r.id for r in gone],
                variants=len(variants),
                worlds=len(variants) * runs,
                **({"without": list(loaded.without)} if loaded.without else {}),
            ),
        )
        note = present(on_complete, stage.path)
    return opened(stage, note, KnockoutsResult)
