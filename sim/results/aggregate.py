"""Streaming aggregation: each chunk is reduced to counts right where it ran.

A finished chunk becomes a :class:`ChunkSummary`: fixed-size count arrays
(outcomes, flags, rung occupancy per day, rungs reached by each day, first
days, rules fired overall and per outcome) plus, unless switched off, one row
per world as a numpy structured array. Counts add up across chunks, so the
memory a batch needs does not grow with the number of worlds; the per-world
rows are written to ``runs.csv`` as they arrive and then dropped.

The functions at the bottom turn counts into the tables of a results folder
(``daily.csv``, ``rules.csv``, ``summary.json``). They are pure, and the same
functions rebuild the summary from ``runs.csv`` when a folder is loaded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from sim.stats import quantile_from_counts, share
from sim.tables import Columns, columns_of

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario.model import Scenario

PERCENTILES = (5, 25, 50, 75, 95)
"""Percentiles of the rung index reported per day in ``daily.csv``."""


@dataclass
class Counts:
    """Additive counts over a set of worlds of one scenario.

    Shapes: ``H`` days, ``K`` rungs, ``O`` outcomes, ``F`` flags, ``U`` rules.
    """

    n: int
    outcomes: np.ndarray  # (O,)
    flags: np.ndarray  # (F,)
    occupancy: np.ndarray  # (H, K): worlds on rung k at the end of day d
    reached: np.ndarray  # (H, K): worlds whose highest rung by day d is >= k
    first_day: np.ndarray  # (K, H): worlds that first reached rung k on day d
    rules: np.ndarray  # (U,): worlds in which the rule fired at least once
    rules_by_outcome: np.ndarray  # (U, O)

    @classmethod
    def zeros(cls, sc: Scenario) -> Counts:
        """Counts of no worlds yet, shaped for ``sc`` (what chunk counts are added into)."""
        H, K, n_out = sc.horizon_days, len(sc.ladder), len(sc.outcomes)
        F, U = len(sc.flags), len(sc.rules)
        z = np.zeros
        return cls(
            0,
            z(n_out, np.int64),
            z(F, np.int64),
            z((H, K), np.int64),
            z((H, K), np.int64),
            z((K, H), np.int64),
            z(U, np.int64),
            z((U, n_out), np.int64),
        )

    @classmethod
    def zeros_like(cls, other: Counts) -> Counts:
        """Counts of no worlds, shaped as ``other``."""
        return cls(0, *(np.zeros_like(getattr(other, k)) for k in _COUNTED))

    def add(self, other: Counts) -> Counts:
        """Add ``other`` into ``self`` (in place); returns ``self``."""
        self.n += other.n
        for name in _COUNTED:
            getattr(self, name).__iadd__(getattr(other, name))
        return self


_COUNTED = (
    "outcomes",
    "flags",
    "occupancy",
    "reached",
    "first_day",
    "rules",
    "rules_by_outcome",
)
"""The count arrays of :class:`Counts`, in the order of its fields after ``n``."""


@dataclass
class ChunkSummary:
    """What a worker sends back for one chunk."""

    point: int
    chunk: int
    first_world: int
    counts: Counts
    rows: np.ndarray | None  # structured array, one row per world
    extra: dict[str, Any] = field(default_factory=dict)
    """What the layers above add to a chunk's result (the seats' tallies of ``--moves``)."""
    text: bytes | None = None
    """The rows as ``runs.csv`` lines, when the worker formatted them
    (:class:`sim.results.writer.RunsFormat`)."""
    spooled: str | None = None
    """The file the worker wrote those lines to instead (``ChunkTask.spool``)."""

    @classmethod
    def joined(cls, parts: Sequence[ChunkSummary]) -> ChunkSummary:
        """One chunk's summary from those of its parts, in world order (counts added,
        rows and lines one after the other): what the chunk run at once gives."""
        first = parts[0]
        counts = Counts.zeros_like(first.counts).add(first.counts)
        for p in parts[1:]:
            counts.add(p.counts)
        rows = None if first.rows is None else np.concatenate([p.rows for p in parts])
        text = None if first.text is None else b"".join(p.text or b"" for p in parts)
        extra = dict(first.extra)
        return cls(first.point, first.chunk, first.first_world, counts, rows, extra, text)


class FinishedWorlds(Protocol):
    """What :func:`summarise_chunk` reads of a finished chunk's
    :class:`~sim.engine.state.WorldState` (or of one chunk's worlds among several)."""

    @property
    def first_day(self) -> np.ndarray: ...
    @property
    def rule_fired(self) -> np.ndarray: ...
    @property
    def peak(self) -> np.ndarray: ...
    @property
    def params(self) -> dict[str, np.ndarray]: ...


class Finished(Protocol):
    """What a chunk is reduced from: a finished :class:`sim.engine.core.Engine` (what the
    workers run) or :class:`sim.engine.model.WargameModel` (its Mesa face), or one
    chunk's worlds of an engine that ran several."""

    @property
    def spec(self) -> Scenario: ...
    @property
    def world(self) -> FinishedWorlds: ...
    @property
    def replicates(self) -> int: ...
    @property
    def outcome(self) -> np.ndarray | None: ...
    @property
    def flags(self) -> np.ndarray | None: ...
    @property
    def rung_track(self) -> np.ndarray: ...
    @property
    def observed(self) -> np.ndarray: ...


def row_dtype(sc: Scenario) -> np.dtype:
    """The per-world record: ids, outcome, peak, key first days, flags, parameters and
    whether each observation held on its day."""
    fields: list[tuple[str, Any]] = [
        ("world", np.int64),
        ("index_in_chunk", np.int32),
        ("outcome", np.int16),
        ("peak", np.int16),
    ]
    fields += [(f"first_day_{r}", np.int16) for r in sc.key_rungs]
    fields += [(f"flag_{f.id}", np.bool_) for f in sc.flags]
    for p in sc.parameters:
        fields.append((f"param_{p.id}", np.int64 if (p.enum_values or p.integer) else np.float64))
    fields += [(f"obs_{o.id}", np.bool_) for o in sc.observations]
    return np.dtype(fields)


def summarise_chunk(
    model: Finished, point: int, chunk: int, first_world: int, rows: bool = True, offset: int = 0
) -> ChunkSummary:
    """Reduce a finished engine or model (one chunk of worlds) to counts and rows; for a
    part of a chunk, ``first_world`` is the part's first world and ``offset`` its place
    in the chunk."""
    sc = model.spec
    st = model.world
    R = model.replicates
    H, K, n_out = sc.horizon_days, len(sc.ladder), len(sc.outcomes)
    outcome = np.asarray(model.outcome, dtype=np.int64)
    flags = np.asarray(model.flags, dtype=bool)

    # One count of (day, rung) pairs. The day offsets are added in place: a
    # second (H, R) integer array would be fresh memory in every chunk, whose
    # page faults cost more than the counting itself.
    track = model.rung_track.astype(np.intp)  # (H, R)
    track += (np.arange(H, dtype=np.intp) * K)[:, None]
    pairs = np.bincount(track.ravel(), minlength=H * K).astype(np.int64, copy=False)
    occupancy = pairs.reshape(H, K)

    first = st.first_day.astype(np.int64)  # (K, R), -1 = never
    first_hist = np.zeros((K, H), dtype=np.int64)
    # Rungs can be skipped, so "highest rung so far >= k" starts on the
    # earliest first day of any rung at or above k.
    never = np.int64(H)
    first_or_never = np.where(first >= 0, first, never)
    at_or_above = np.minimum.accumulate(first_or_never[::-1], axis=0)[::-1]
    reached = np.zeros((H, K), dtype=np.int64)
    for k in range(K):
        seen = first[k][first[k] >= 0]
        first_hist[k] = np.bincount(seen, minlength=H)[:H]
        reached[:, k] = np.cumsum(np.bincount(at_or_above[k], minlength=H + 1)[:H])

    fired = np.asarray(st.rule_fired, dtype=bool)
    # Worlds per (rule, outcome), counted outcome by outcome: no matrix
    # product (an integer one is slow, and a floating-point one is handed to
    # BLAS, whose threads spin on a busy machine from about 5,000 worlds on).
    by_outcome = np.empty((len(fired), n_out), dtype=np.int64)
    for j in range(n_out):
        by_outcome[:, j] = np.count_nonzero(fired[:, outcome == j], axis=1)
    counts = Counts(
        n=R,
        outcomes=np.bincount(outcome, minlength=n_out).astype(np.int64),
        flags=flags.sum(axis=1).astype(np.int64),
        occupancy=occupancy,
        reached=reached,
        first_day=first_hist,
        rules=fired.sum(axis=1).astype(np.int64),
        rules_by_outcome=by_outcome,
    )
    table = None
    if rows:
        table = np.zeros(R, dtype=row_dtype(sc))
        table["world"] = first_world + np.arange(R)
        table["index_in_chunk"] = np.arange(offset, offset + R)
        table["outcome"] = outcome
        table["peak"] = st.peak
        index = {r.id: r.index for r in sc.ladder}
        for r in sc.key_rungs:
            table[f"first_day_{r}"] = st.first_day[index[r]]
        for i, f in enumerate(sc.flags):
            table[f"flag_{f.id}"] = flags[i]
        for p in sc.parameters:
            table[f"param_{p.id}"] = st.params[p.id]
        for k, o in enumerate(sc.observations):
            table[f"obs_{o.id}"] = model.observed[k]
    return ChunkSummary(point, chunk, first_world, counts, table)


# -- tables ----------------------------------------------------------------------
def percentile_from_counts(counts: np.ndarray, q: float) -> int:
    """The ``q``-th percentile (0-100) of values given as counts per value; -1 if none.

    The package's one quantile, :func:`sim.stats.quantile_from_counts` (the
    inverted CDF, the same as ``np.percentile(values, q,
    method="inverted_cdf")`` on the expanded data), with ``q`` in percent as
    ``daily.csv`` names its columns.
    """
    return quantile_from_counts(counts, q / 100.0)


def median_from_counts(counts: np.ndarray) -> float | None:
    """Median of values given as counts per value (like ``np.median``); None if empty."""
    n = int(counts.sum())
    if n == 0:
        return None
    cum = np.cumsum(counts)
    lo = int(np.searchsorted(cum, (n - 1) // 2, side="right"))
    hi = int(np.searchsorted(cum, n // 2, side="right"))
    return (lo + hi) / 2


def daily_table(sc: Scenario, counts: Counts) -> pd.DataFrame:
    """Per day: share of worlds on each rung, rung-index statistics, rungs reached."""
    import pandas as pd  # start-up time: every command imports this module, few build tables

    return pd.DataFrame(daily_columns(sc, counts))


def daily_columns(sc: Scenario, counts: Counts) -> Columns:
    """:func:`daily_table` as plain columns (what a batch writes, without pandas)."""
    n = max(counts.n, 1)
    H = sc.horizon_days
    cols: dict[str, Any] = {
        "day": np.arange(H),
        "date": [sc.date_of(d).isoformat() for d in range(H)],
        "worlds": np.full(H, counts.n, dtype=np.int64),
    }
    for r in sc.ladder:
        cols[f"share_{r.id}"] = counts.occupancy[:, r.index] / n
    index = np.arange(len(sc.ladder))
    cols["mean"] = (counts.occupancy * index).sum(axis=1) / n
    for q in PERCENTILES:
        cols[f"p{q:02d}"] = [percentile_from_counts(row, q) for row in counts.occupancy]
    for r in sc.ladder:
        cols[f"reached_{r.id}"] = counts.reached[:, r.index] / n
    return cols


def rules_table(sc: Scenario, counts: Counts) -> pd.DataFrame:
    """Per rule: how often it fired, and how that relates to the outcomes."""
    import pandas as pd  # start-up time: every command imports this module, few build tables

    return pd.DataFrame(rules_columns(sc, counts))


def rules_columns(sc: Scenario, counts: Counts) -> Columns:
    """:func:`rules_table` as plain columns (what a batch writes, without pandas).

    The columns are named from the scenario, not from the rows, so a
    scenario with no rules still gets a table with its header, which the
    charts and the report can read.
    """
    return columns_of(rules_records(sc, counts), rules_column_names(sc))


def rules_column_names(sc: Scenario) -> list[str]:
    """The columns of ``rules.csv``, in order: the rule, then its shares per outcome."""
    names = ["rule", "actor", "kind", "action", "cites", "worlds_fired", "share_fired"]
    names += [f"share_{o.id}" for o in sc.outcomes]
    return names + [f"fired_in_{o.id}" for o in sc.outcomes]


def rules_records(sc: Scenario, counts: Counts) -> list[dict[str, Any]]:
    """:func:`rules_table`'s rows, one dict per rule."""
    n = max(counts.n, 1)
    records = []
    for rule in sc.rules:
        fired = int(counts.rules[rule.index])
        rec: dict[str, Any] = {
            "rule": rule.id,
            "actor": rule.actor,
            "kind": rule.kind,
            "action": rule.action,
            "cites": ";".join(rule.cites),
            "worlds_fired": fired,
            "share_fired": fired / n,
        }
        by_outcome = counts.rules_by_outcome[rule.index]
        for o in sc.outcomes:
            rec[f"share_{o.id}"] = by_outcome[o.index] / fired if fired else math.nan
        for o in sc.outcomes:
            total = int(counts.outcomes[o.index])
            rec[f"fired_in_{o.id}"] = by_outcome[o.index] / total if total else math.nan
        records.append(rec)
    return records


INFLUENCE_DECIMALS = 9
"""Influence is rounded to this many decimals before rules are ranked by it."""


def rank_rules_table(
    rules: pd.DataFrame, outcomes: Sequence[Mapping[str, Any] | str]
) -> pd.DataFrame:
    """``rules.csv`` ordered most influential first, with an ``influence`` column.

    The one ranking of rules, used by the attribution chart and the report,
    so both list the same rules in the same order. A rule is influential
    when whether it fired differs between outcomes: ``influence = max - min``
    of ``fired_in_<outcome>`` over the outcomes some world reached; a rule
    that fired in every world, or in none, gets 0. Ties go to the rule that
    fired in more worlds (``share_fired``), then to the rule id.

    The influence is rounded to :data:`INFLUENCE_DECIMALS` decimals first:
    two differences that are equal as fractions of worlds (``0.6 - 0.2`` and
    ``0.5 - 0.1``) differ in the last bits of a float, and such noise must
    not decide the order.

    Args:
        rules: ``rules.csv``; cells may be numbers or their text (empty or
            unreadable ones count as missing).
        outcomes: ``summary["outcomes"]`` (records with ``id`` and
            ``count``; an outcome with count 0 is left out), or outcome ids
            (all counted as reached).

    Returns:
        A copy of ``rules`` in ranked order (a fresh index), ``rule`` as text
        and ``influence`` added.
    """
    import pandas as pd  # start-up time: every command imports this module, few build tables

    reached = reached_outcomes(outcomes)
    out = rules.copy()
    out["rule"] = out["rule"].astype(str) if "rule" in out.columns else ""
    live = pd.DataFrame(
        {o: _numbers(out, f"fired_in_{o}") for o in reached}, index=out.index, dtype=float
    )
    spread = live.max(axis=1) - live.min(axis=1) if len(live.columns) else 0.0
    out["influence"] = pd.Series(spread, index=out.index, dtype=float).fillna(0.0)
    out["influence"] = out["influence"].round(INFLUENCE_DECIMALS)
    fired = _numbers(out, "share_fired").fillna(0.0)
    order = sorted(
        range(len(out)),
        key=lambda i: (-out["influence"].iat[i], -fired.iat[i], out["rule"].iat[i]),
    )
    return out.iloc[order].reset_index(drop=True)


def reached_outcomes(outcomes: Sequence[Mapping[str, Any] | str]) -> list[str]:
    """The ids of the outcomes some world reached (a record without ``count`` counts as reached)."""
    return [
        str(o["id"]) if isinstance(o, Mapping) else str(o)
        for o in outcomes
        if not isinstance(o, Mapping) or int(o.get("count", 1)) > 0
    ]


def _numbers(df: pd.DataFrame, column: str) -> pd.Series:
    """Column ``column`` as floats (missing column or cell, or text that is no number: NaN)."""
    import pandas as pd  # start-up time: every command imports this module, few build tables

    if column not in df.columns:
        return pd.Series(math.nan, index=df.index, dtype=float)
    return pd.to_numeric(df[column], errors="coerce").astype(float)


def proportion(k: int, n: int) -> dict[str, Any]:
    """Count, share and Wilson 95% interval (:func:`sim.stats.share`), JSON-ready."""
    s = share(k, n)
    return {"count": s.count, "p": _num(s.p), "lo": _num(s.lo), "hi": _num(s.hi)}


def _num(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def summary_dict(sc: Scenario, counts: Counts, seed: int) -> dict[str, Any]:
    """Everything a reader wants first: outcome and flag shares with 95% intervals."""
    index = {r.id: r.index for r in sc.ladder}
    return {
        "scenario": sc.name,
        "title": sc.title,
        "start": sc.start.isoformat(),
        "horizon_days": sc.horizon_days,
        "runs": counts.n,
        "seed": int(seed),
        "outcomes": [
            {"id": o.id, "name": o.name, "colour": o.colour}
            | proportion(counts.outcomes[o.index], counts.n)
            for o in sc.outcomes
        ],
        "flags": [
            {"id": f.id, "name": f.name} | proportion(counts.flags[i], counts.n)
            for i, f in enumerate(sc.flags)
        ],
        "ladder": [
            {"id": r.id, "name": r.name, "mid_level": r.mid_level, "colour": r.colour}
            for r in sc.ladder
        ],
        "events": [
            {
                "id": e.id,
                "name": e.name,
                "kind": e.kind,
                "start_date": sc.date_of(e.start_day).isoformat(),
                "end_date": sc.date_of(e.end_day).isoformat(),
            }
            for e in sc.events
            if e.kind == "scheduled" and e.start_day is not None and e.end_day is not None
        ],
        "key_rungs": list(sc.key_rungs),
        "key_flags": list(sc.key_flags),
        "median_first_day": {
            r: median_from_counts(counts.first_day[index[r]]) for r in sc.key_rungs
        },
    }


def recount_summary(summary: dict[str, Any], runs: pd.DataFrame) -> dict[str, Any]:
    """``summary`` with every count, share, interval and median recomputed from ``runs``.

    The scenario's names, colours, ladder and events come from ``summary``;
    every number comes from the per-world table.
    """
    n = len(runs)
    out = dict(summary)
    out["runs"] = n
    counts = runs["outcome"].value_counts()
    out["outcomes"] = [
        {k: o[k] for k in ("id", "name", "colour")} | proportion(int(counts.get(o["id"], 0)), n)
        for o in summary["outcomes"]
    ]
    out["flags"] = [
        {"id": f["id"], "name": f["name"]} | proportion(int(runs[f"flag_{f['id']}"].sum()), n)
        for f in summary["flags"]
    ]
    medians = {}
    for r in summary["key_rungs"]:
        days = runs[f"first_day_{r}"].dropna()
        medians[r] = float(np.median(days)) if len(days) else None
    out["median_first_day"] = medians
    return out
