"""Conditioning a batch on what was seen by a date: the same worlds, kept or weighted.

:func:`condition` is the library call: given a batch's worlds (a results
folder, or its ``runs.csv`` as a table) and the observations it recorded, it
weights each world by the likelihood of the reports dated up to ``as_of``
(:mod:`sim.evidence.observations`) and returns the conditional share of
every outcome and flag with an interval. Nothing is simulated again: a
conditional batch is a filter (noise 0) or a reweighting (noisy reports) of
the very worlds of the batch, with their seeds.

Intervals: the share is the weighted mean ``p = sum(w * hit) / sum(w)``;
its 95% interval is Wilson's with ``n`` set to Kish's effective sample size
``ESS = (sum w)^2 / sum w^2``. With noise 0 every kept world weighs 1, the
ESS is the number of worlds kept and this is the plain Wilson interval of
the kept worlds. With noisy reports the ESS is smaller than the number of
worlds with a weight, and the interval is correspondingly wider.

When fewer worlds survive than give a chosen precision (by default ±5
percentage points at worst, p = 0.5), :attr:`ConditionalShares.warning`
says so and how many runs would give it: the ESS grows in proportion to the
runs, so ``runs_needed = ceil(runs * ESS_needed / ESS)``.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.errors import ResultsError, UsageError
from sim.evidence.observations import (
    Record,
    as_date,
    dated_up_to,
    effective_size,
    records_from_manifest,
    records_of,
    world_weights,
)
from sim.stats import Z95, wilson

if TYPE_CHECKING:
    import pandas as pd

    from sim.results.reader import Results
    from sim.scenario.model import Scenario

COLUMNS = ("as_of", "kind", "name", "probability", "low", "high", "ess", "worlds")
"""The columns of ``conditional.csv`` and ``forecast.csv``, in this order."""

HALF_WIDTH = 0.05
"""The precision the warning asks for: a 95% interval at most this wide on each side."""


INTERVAL = "Wilson score interval with n = Kish's effective sample size (sum w)^2 / sum w^2"
"""How ``conditional.csv``'s and ``forecast.csv``'s intervals are made, as manifests say it."""


def check_as_of(sc: Scenario, as_of: _dt.date | str, what: str = "--as-of") -> _dt.date:
    """``as_of`` as a date of the scenario's calendar, for a scenario with observations.

    Raises:
        UsageError: not a date, outside the scenario's days, or a scenario
            without observations.
    """
    day = as_date(as_of, what)
    last = sc.date_of(sc.horizon_days - 1)
    if not sc.start <= day <= last:
        raise UsageError(f"{what} {day}: outside the scenario's days ({sc.start} to {last})")
    if not sc.observations:
        raise UsageError(
            f"{what}: scenario {sc.name!r} has no observations to condition on; add an "
            "observations: section or give --observations FILE (docs/evidence.md)"
        )
    return day


def ess_needed(half_width: float = HALF_WIDTH, z: float = Z95) -> int:
    """The effective sample size that gives a 95% interval of ±``half_width`` at p = 0.5.

    From the normal approximation ``z * sqrt(p (1 - p) / n) <= half_width``
    at its worst, ``p = 0.5``: 385 for ±5 points.
    """
    return math.ceil(z * z * 0.25 / (half_width * half_width))


@dataclass(frozen=True)
class Share:
    """The conditional probability of one outcome or flag."""

    kind: str  # "outcome" or "flag"
    name: str  # the outcome's or flag's id
    probability: float
    low: float
    high: float


@dataclass(frozen=True)
class ConditionalShares:
    """What the worlds say once conditioned on the observations dated up to ``as_of``.

    Attributes:
        as_of: the date conditioned on.
        used: the observations dated ``as_of`` or earlier.
        weights: per world, in ``runs.csv`` order, its weight (the
            likelihood of the reports; 0 or 1 when every report is noiseless).
        runs: the worlds of the batch.
        worlds: the worlds with a weight above 0.
        ess: Kish's effective sample size of the weights.
        shares: every outcome (scenario order), then every flag.
        warning: why the shares are imprecise, and how many runs would do
            (``None`` when the ESS gives the precision asked for).
        runs_needed: the runs that would give that precision (``None`` when
            enough worlds survive).
    """

    as_of: _dt.date
    used: tuple[Record, ...]
    weights: np.ndarray = field(repr=False)
    runs: int
    worlds: int
    ess: float
    shares: tuple[Share, ...]
    warning: str | None = None
    runs_needed: int | None = None

    def share(self, kind: str, name: str) -> Share:
        """The share of outcome or flag ``name`` (``kind`` ``"outcome"`` or ``"flag"``)."""
        for s in self.shares:
            if s.kind == kind and s.name == name:
                return s
        raise KeyError(f"no {kind} {name!r}")

    def rows(self) -> list[dict[str, Any]]:
        """One record per outcome and flag, with :data:`COLUMNS` as keys."""
        return [
            {
                "as_of": self.as_of.isoformat(),
                "kind": s.kind,
                "name": s.name,
                "probability": s.probability,
                "low": s.low,
                "high": s.high,
                "ess": self.ess,
                "worlds": self.worlds,
            }
            for s in self.shares
        ]

    def table(self) -> pd.DataFrame:
        """``conditional.csv``: :data:`COLUMNS`, one row per outcome and flag."""
        import pandas as pd  # start-up time: conditioning itself needs numpy only

        return pd.DataFrame(self.rows(), columns=list(COLUMNS))


def weighted_share(hit: np.ndarray, w: np.ndarray, ess: float) -> tuple[float, float, float]:
    """``(p, low, high)``: the weighted share of ``hit`` with Wilson's interval at ``n = ess``.

    All NaN when no world has a weight.
    """
    total = float(w.sum())
    if total <= 0:
        return (math.nan, math.nan, math.nan)
    p = float(w[hit].sum()) / total
    p = min(max(p, 0.0), 1.0)
    lo, hi = wilson(p * ess, ess)
    return (p, lo, hi)


def _warning(
    as_of: _dt.date, runs: int, worlds: int, ess: float, half_width: float
) -> tuple[str | None, int | None]:
    """The warning of :class:`ConditionalShares` and the runs that would make it go."""
    need = ess_needed(half_width)
    if ess >= need:
        return None, None
    target = f"an effective {need} worlds (95% intervals within ±{100 * half_width:g} points)"
    if worlds == 0:
        # No world agrees: by the rule of three, the share of agreeing worlds
        # is below 3 / runs (95%), so at least this many runs are needed.
        needed = math.ceil(need * runs / 3)
        return (
            f"no world of {runs:,} agrees with the observations dated up to {as_of}: they "
            f"contradict the scenario, or are rarer in it than 3 in {runs:,}; at least "
            f"{needed:,} runs would be needed for {target}",
            needed,
        )
    needed = math.ceil(runs * need / ess)
    return (
        f"only {worlds:,} of {runs:,} worlds agree with the observations dated up to {as_of} "
        f"(effective sample size {ess:.1f}): the shares are imprecise; about {needed:,} runs "
        f"would give {target}",
        needed,
    )


def condition_runs(
    runs: pd.DataFrame,
    records: Sequence[Record],
    as_of: _dt.date | str,
    outcomes: Sequence[str],
    flags: Sequence[str],
    *,
    half_width: float = HALF_WIDTH,
) -> ConditionalShares:
    """:func:`condition` on a ``runs.csv`` table, given the observations and the questions.

    Args:
        runs: one row per world, with ``outcome``, ``flag_<id>`` and ``obs_<id>`` columns.
        records: the observations the batch recorded.
        as_of: condition on the observations dated this day or earlier.
        outcomes: the outcome ids, in the order to report them.
        flags: the flag ids.
        half_width: the precision below which a warning is given.
    """
    day = as_date(as_of)
    used = dated_up_to(records, day)
    w = world_weights(runs, used)
    ess = effective_size(w)
    worlds = int(np.count_nonzero(w))
    outcome = runs["outcome"].astype(str).to_numpy()
    shares = []
    for o in outcomes:
        shares.append(Share("outcome", o, *weighted_share(outcome == o, w, ess)))
    for f in flags:
        column = f"flag_{f}"
        if column not in runs.columns:
            raise ResultsError(f"runs.csv has no column {column}")
        hit = runs[column].to_numpy(dtype=np.int64) == 1
        shares.append(Share("flag", f, *weighted_share(hit, w, ess)))
    warning, needed = _warning(day, len(runs), worlds, ess, half_width)
    return ConditionalShares(day, used, w, len(runs), worlds, ess, tuple(shares), warning, needed)


def condition(
    source: Results | pd.DataFrame,
    observations: Sequence[Record] | Scenario | None = None,
    as_of: _dt.date | str | None = None,
    *,
    half_width: float = HALF_WIDTH,
) -> ConditionalShares:
    """The outcome and flag shares of a batch's worlds given what was seen by ``as_of``.

    Each world is weighted by the likelihood of the observations dated
    ``as_of`` or earlier (``1 - noise`` for a report that held in it,
    ``noise`` for one that did not; noise 0 keeps or drops it), and every
    share is the weighted share with Wilson's 95% interval at the effective
    sample size (see the module docstring). The worlds are not run again.

    Args:
        source: a batch results folder as opened by
            :func:`sim.results.reader.load_results` (its ``runs.csv``, the
            observations and questions its manifest and summary record), or a
            ``runs.csv`` table (then ``observations`` must be a scenario or
            records, and the questions are the scenario's, or the outcomes
            and ``flag_<id>`` columns found in the table).
        observations: the observations to condition on: a compiled
            :class:`~sim.scenario.model.Scenario` (its ``observations``), or
            :class:`~sim.evidence.observations.Record` s; default those
            the folder's manifest records.
        as_of: the date (``datetime.date`` or ``YYYY-MM-DD``); required.
        half_width: the precision below which :attr:`ConditionalShares.warning`
            is set (default ±5 points).

    Returns:
        :class:`ConditionalShares`: the shares, the weights, the ESS and the
        warning. ``.table()`` is ``conditional.csv``.

    Raises:
        UsageError: no ``as_of``, no observations to condition on, or a table
            given without them.
        ResultsError: the folder has no ``runs.csv``, or lacks a column the
            observations need.
    """
    if as_of is None:
        raise UsageError("condition needs an as-of date (as_of=YYYY-MM-DD)")
    import pandas as pd  # start-up time: conditioning itself needs numpy only

    outcomes: list[str]
    flags: list[str]
    if isinstance(source, pd.DataFrame):
        runs = source
        if observations is None:
            raise UsageError("condition on a runs table needs the observations (or the scenario)")
        outcomes = sorted(set(runs["outcome"].astype(str)))
        flags = [c.removeprefix("flag_") for c in runs.columns if c.startswith("flag_")]
    else:
        if not source.has_runs:
            raise ResultsError(
                f"{source.folder}: no runs.csv (written with --no-runs-table); "
                "conditioning needs every world"
            )
        runs = source.runs
        summary = source.stored_summary
        outcomes = [o["id"] for o in summary.get("outcomes", [])]
        flags = [f["id"] for f in summary.get("flags", [])]
    records: Sequence[Record]
    if observations is None:
        assert not isinstance(source, pd.DataFrame)
        records = records_from_manifest(source.manifest)
    elif isinstance(observations, Sequence):
        records = observations
    else:
        records = records_of(observations)
        outcomes = [o.id for o in observations.outcomes]
        flags = [f.id for f in observations.flags]
    if not records:
        raise UsageError(
            "no observations to condition on: give the scenario an observations: section "
            "or run the batch with --observations FILE"
        )
    return condition_runs(runs, records, as_of, outcomes, flags, half_width=half_width)
