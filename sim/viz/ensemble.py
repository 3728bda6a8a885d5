"""The viewer's ensemble: a few thousand worlds run in-process, and their charts.

Data are kept apart from drawing: :func:`run_ensemble` returns an
:class:`Ensemble` (outcome shares with Wilson intervals, rung percentiles per
day), :func:`changes` compares it with the scenario as written, and
:mod:`sim.viz.charts` turns both into chart specifications.

The worlds are run by the batch's own in-memory runner
(:func:`sim.batch.runner.simulate`), with the batch's chunks, seeds, shares
(:func:`sim.stats.share`) and percentiles
(:func:`sim.results.aggregate.percentile_from_counts`): the panel shows
exactly the numbers of ``wargame batch SCENARIO --runs 3000 --seed S`` with
the same pins and overrides. Every ensemble of a scenario uses the
scenario's seed, so two settings are compared on the same random numbers: a
change in the panel comes from the change in the settings, not from a
different draw.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.batch.runner import simulate
from sim.results.aggregate import PERCENTILES, Counts, row_dtype
from sim.scenario.model import Scenario
from sim.stats import newcombe_diff, paired_diff, share

WORLDS = 3000
"""Worlds per ensemble: enough for intervals about ±2 points wide, fast enough to feel live."""


@dataclass(frozen=True)
class OutcomeShare:
    """One outcome class: how many worlds ended in it, with a 95% Wilson interval."""

    id: str
    name: str
    count: int
    worlds: int
    share: float
    low: float
    high: float

    def line(self) -> str:
        """``P(id) = 0.231 [0.216, 0.246]``: the text form shown under the chart."""
        return f"P({self.id}) = {self.share:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True, eq=False)
class Ensemble:
    """What the ensemble panel shows (compared by identity: it holds arrays).

    Attributes:
        scenario: the scenario that was run (after overrides).
        pinned: the pinned parameter values.
        outcomes: one share per outcome class, in the scenario's order.
        dates: the calendar date of each day.
        bands: rung index percentiles (5, 25, 50, 75, 95) per day, shape (5, days).
        seconds: wall-clock time of the run.
        rows: one record per world (``runs.csv``'s row), in world order: to
            pair its worlds with another ensemble's and to condition on
            observations.
    """

    scenario: Scenario
    pinned: Mapping[str, Any]
    outcomes: tuple[OutcomeShare, ...]
    dates: tuple[_dt.date, ...]
    bands: np.ndarray
    seconds: float
    rows: np.ndarray

    @property
    def worlds(self) -> int:
        """Worlds simulated (every outcome share counts the same worlds)."""
        return self.outcomes[0].worlds if self.outcomes else 0

    def share(self, outcome_id: str) -> OutcomeShare:
        """The share of the outcome with id ``outcome_id``."""
        return next(o for o in self.outcomes if o.id == outcome_id)


def outcome_shares(scenario: Scenario, counts: Counts) -> tuple[OutcomeShare, ...]:
    """One :class:`OutcomeShare` per outcome class, from a run's counts."""
    out = []
    for o in scenario.outcomes:
        s = share(counts.outcomes[o.index], counts.n)
        out.append(OutcomeShare(o.id, o.name, s.count, s.n, s.p, s.lo, s.hi))
    return tuple(out)


def rung_bands(occupancy: np.ndarray) -> np.ndarray:
    """Percentiles of the rung per day (rows: 5, 25, 50, 75, 95) from worlds per rung per day.

    ``occupancy[d, k]`` is the number of worlds on rung ``k`` at the end of
    day ``d`` (:attr:`sim.results.aggregate.Counts.occupancy`). The values
    of ``daily.csv``'s ``p05`` ... ``p95`` columns, the package's one
    quantile (:func:`sim.results.aggregate.percentile_from_counts`, the
    inverted CDF), so each value is a real rung; -1 on a day without worlds.
    Computed for every day at once: the smallest rung whose cumulative count
    reaches ``q`` of the day's worlds (and at least one world) is the number
    of rungs whose cumulative count stays below that.
    """
    occupancy = np.asarray(occupancy)
    days = occupancy.shape[0]
    if occupancy.shape[1] == 0:
        return np.full((len(PERCENTILES), days), -1, dtype=np.int64)
    cumulative = np.cumsum(occupancy, axis=1)
    n = cumulative[:, -1]
    out = np.empty((len(PERCENTILES), days), dtype=np.int64)
    for i, q in enumerate(PERCENTILES):
        need = np.maximum((q / 100.0) * n, 1)
        out[i] = np.sum(cumulative < need[:, None], axis=1)
    out[:, n == 0] = -1
    return out


def run_ensemble(
    scenario: Scenario,
    pinned: Mapping[str, Any] | None = None,
    worlds: int = WORLDS,
    seed: int | None = None,
) -> Ensemble:
    """Run ``worlds`` worlds to the horizon and summarise them, as ``wargame batch`` would.

    Args:
        scenario: the scenario (overrides already applied).
        pinned: parameter values to use in every world instead of drawing them.
        worlds: number of worlds.
        seed: the seed; ``None`` uses the scenario's.

    Raises:
        UsageError: a pinned value is not valid for the scenario.
    """
    pinned = dict(pinned or {})
    start = time.perf_counter()
    rows: list[np.ndarray] = []
    counts = simulate(scenario, runs=worlds, seed=seed, pinned=pinned, rows=rows)
    seconds = time.perf_counter() - start
    dates = tuple(scenario.date_of(d) for d in range(scenario.horizon_days))
    return Ensemble(
        scenario,
        pinned,
        outcome_shares(scenario, counts),
        dates,
        rung_bands(counts.occupancy),
        seconds,
        np.concatenate(rows) if rows else np.zeros(0, dtype=row_dtype(scenario)),
    )


@dataclass(frozen=True)
class Change:
    """How much more (or less) often an outcome happens than in the scenario as written.

    ``diff`` is this ensemble's share minus the baseline's, in ``[lo, hi]``, a
    95% interval. Both ensembles run the same worlds (the same seeds; a
    pinned parameter is still drawn, then replaced, so every other draw stays
    where it was), so the interval is Newcombe's for paired shares
    (:func:`sim.stats.paired_diff`): worlds that end the same way under both
    settings narrow it. ``paired`` is ``False`` where the worlds could not be
    matched (different numbers), and the interval is then Newcombe's for two
    independent shares (:func:`sim.stats.newcombe_diff`), wider.
    """

    id: str
    base: OutcomeShare
    now: OutcomeShare
    diff: float
    lo: float
    hi: float
    paired: bool = True

    @property
    def clear(self) -> bool:
        """Whether the interval leaves out zero (the change is not sampling noise)."""
        return self.lo > 0 or self.hi < 0

    def text(self) -> str:
        """``+12.3 points (+10.1 to +14.5)``: the change column's cell."""
        return f"{_points(self.diff)} points ({_points(self.lo)} to {_points(self.hi)})"


def changes(ens: Ensemble, baseline: Ensemble) -> tuple[Change, ...]:
    """Each outcome's change from ``baseline`` (the scenario without pins or typed overrides).

    Outcomes are matched by id; one that the baseline lacks (an override can
    rename nothing, but a changed file can) is left out. World ``i`` of one
    ensemble is paired with world ``i`` of the other.
    """
    paired = len(ens.rows) == len(baseline.rows) > 0
    # joint[k, j]: worlds ending in outcome k here and in outcome j in the
    # baseline, counted in one pass; each outcome's four paired counts follow.
    joint = _joint_outcomes(ens, baseline) if paired else None
    index = {o.id: o.index for o in baseline.scenario.outcomes}
    out = []
    for o in ens.outcomes:
        b = next((x for x in baseline.outcomes if x.id == o.id), None)
        if b is None or not b.worlds or not o.worlds:
            continue
        if joint is not None:
            k = next(x.index for x in ens.scenario.outcomes if x.id == o.id)
            j = index[o.id]
            both = int(joint[k, j])
            only_now = int(joint[k].sum()) - both
            only_was = int(joint[:, j].sum()) - both
            d, lo, hi = paired_diff(
                both, only_now, only_was, len(ens.rows) - both - only_now - only_was
            )
        else:
            d, lo, hi = newcombe_diff(b.count, b.worlds, o.count, o.worlds)
        out.append(Change(o.id, b, o, d, lo, hi, paired))
    return tuple(out)


def _joint_outcomes(ens: Ensemble, baseline: Ensemble) -> np.ndarray:
    """Worlds per pair of outcomes: ``[k, j]`` end in ``k`` in ``ens``, in ``j`` in ``baseline``."""
    kn, kb = len(ens.scenario.outcomes), len(baseline.scenario.outcomes)
    now = ens.rows["outcome"].astype(np.int64)
    was = baseline.rows["outcome"].astype(np.int64)
    return np.bincount(now * kb + was, minlength=kn * kb).reshape(kn, kb)


def _points(x: float) -> str:
    """A difference of shares in percentage points, signed (``+1.2``, ``-0.3``, ``0.0``)."""
    v = round(100 * x, 1)
    return "0.0" if v == 0 else f"{v:+.1f}"
