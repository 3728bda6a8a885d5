"""The viewer's ensemble: a few thousand worlds run in-process, and their charts.

Data are kept apart from drawing: :func:`run_ensemble` returns an
:class:`Ensemble` (outcome shares with Wilson intervals, rung percentiles per
day), and ``plot_*`` functions draw it on a new
:class:`~matplotlib.figure.Figure` (never through ``pyplot``, so no global
state and no GUI backend).

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
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib import colormaps
from matplotlib import dates as mdates
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from sim.batch.runner import simulate
from sim.results.aggregate import PERCENTILES, Counts, percentile_from_counts
from sim.scenario.model import Scenario
from sim.stats import share

if TYPE_CHECKING:
    from matplotlib.typing import ColorType

WORLDS = 3000
"""Worlds per ensemble: enough for intervals about ±2 points wide, fast enough to feel live."""

BAND_COLOUR = "#3b5b92"


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
    """

    scenario: Scenario
    pinned: Mapping[str, Any]
    outcomes: tuple[OutcomeShare, ...]
    dates: tuple[_dt.date, ...]
    bands: np.ndarray
    seconds: float

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
    day ``d`` (:attr:`sim.results.aggregate.Counts.occupancy`). Computed as
    ``daily.csv`` computes its ``p05`` ... ``p95`` columns, with the
    package's one quantile, so each value is a real rung.
    """
    return np.array(
        [[percentile_from_counts(day, q) for day in occupancy] for q in PERCENTILES],
        dtype=np.int64,
    )


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
    counts = simulate(scenario, runs=worlds, seed=seed, pinned=pinned)
    seconds = time.perf_counter() - start
    dates = tuple(scenario.date_of(d) for d in range(scenario.horizon_days))
    return Ensemble(
        scenario,
        pinned,
        outcome_shares(scenario, counts),
        dates,
        rung_bands(counts.occupancy),
        seconds,
    )


# -- drawing -----------------------------------------------------------------------
def _rung_labels(scenario: Scenario) -> list[str]:
    return [f"{r.name} (MID {r.mid_level})" for r in scenario.ladder]


def _outcome_colours(scenario: Scenario) -> list[ColorType]:
    """The scenario's colours, else a calm-to-severe ramp."""
    cmap = colormaps["YlOrRd"]
    n = len(scenario.outcomes)
    ramp = [cmap(v) for v in np.linspace(0.15, 0.95, max(n, 2))]
    return [o.colour or ramp[i] for i, o in enumerate(scenario.outcomes)]


def plot_outcomes(ens: Ensemble, width: float = 7.0) -> Figure:
    """Horizontal bars: share of worlds ending in each outcome, with 95% intervals."""
    sc = ens.scenario
    n = len(ens.outcomes)
    fig = Figure(figsize=(width, 1.3 + 0.42 * n), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(n)[::-1]
    p = np.array([o.share for o in ens.outcomes])
    lo = np.array([o.low for o in ens.outcomes])
    hi = np.array([o.high for o in ens.outcomes])
    ax.barh(y, p, color=_outcome_colours(sc), edgecolor="0.3", linewidth=0.5, height=0.65)
    ax.errorbar(p, y, xerr=[p - lo, hi - p], fmt="none", ecolor="black", elinewidth=1, capsize=3)
    ax.set_yticks(y, [o.name for o in ens.outcomes])
    ax.set_xlim(0, min(1.0, max(float(hi.max()) if n else 0.0, 0.05) * 1.25))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(f"share of {ens.worlds:,} worlds (bars: 95% Wilson interval)")
    for yi, o in zip(y, ens.outcomes, strict=True):
        ax.text(o.high, yi, f"  {o.share:.1%}", va="center", fontsize=8.5)
    ax.grid(axis="x", color="0.9")
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    end = sc.date_of(sc.horizon_days - 1)
    ax.set_title(f"How the worlds end by {end:%d %b %Y}", loc="left", fontsize=10)
    return fig


def plot_fan(ens: Ensemble, width: float = 7.0) -> Figure:
    """Fan chart: the median world's rung per day, with the middle 50% and 90% shaded."""
    sc = ens.scenario
    fig = Figure(figsize=(width, 3.6), layout="constrained")
    ax = fig.add_subplot()
    x = np.array((*ens.dates, sc.date_of(sc.horizon_days)), dtype="datetime64[D]")
    q05, q25, q50, q75, q95 = (np.append(b, b[-1]) for b in ens.bands)
    kw: dict[str, Any] = {"step": "post", "lw": 0, "color": BAND_COLOUR}
    # a band spans whole rungs: from the bottom of the low rung to the top of the high one
    ax.fill_between(x, q05 - 0.5, q95 + 0.5, alpha=0.15, **kw)
    ax.fill_between(x, q25 - 0.5, q75 + 0.5, alpha=0.35, **kw)
    ax.plot(x, q50, color=BAND_COLOUR, lw=2.2, drawstyle="steps-post")
    labels = _rung_labels(sc)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.set_xlim(x[0], x[-1])
    for k in range(1, len(labels)):
        ax.axhline(k - 0.5, color="white", lw=0.8, zorder=2)
    ax.tick_params(axis="x", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title("Escalation rung over time (calm at the bottom)", loc="left", fontsize=10)
    fig.legend(
        handles=[
            Line2D([], [], color=BAND_COLOUR, lw=2.2, label="median world"),
            Patch(color=BAND_COLOUR, alpha=0.45, label="middle 50% of worlds"),
            Patch(color=BAND_COLOUR, alpha=0.15, label="middle 90% of worlds"),
        ],
        loc="outside lower center",
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    locator = mdates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    return fig
