"""Charts of an after-action review, drawn from a :class:`~sim.review.data.Review`.

Each ``plot_*(review, ax=None) -> Figure`` draws what the review's data
already holds (nothing is computed here): the outcome shares of both paths,
the paired differences, and the game's own ladder day by day with the
seat's choices on it. Figures are built without ``pyplot``, with the
package's shared look (:mod:`sim.plots.style`).
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sim.plots.style import (
    BAND_COLOUR,
    NOTE_COLOUR,
    POINTS_FORMATTER,
    footnote,
    new_figure,
    outcome_colours,
    pct,
    percent_axis,
    signed_points,
    wrapped,
)
from sim.review.data import PathRow, Review

DOCTRINE_COLOUR = "0.72"
"""The doctrine's path: grey, so the person's path, in the outcome's colour, stands out."""


def _foot(review: Review) -> str:
    return (
        f"{review.scenario} · {review.seat_name} in branch {review.branch} · "
        f"{review.worlds:,} worlds · seed {review.seed}"
    )


def _title(ax: Axes, what: str, review: Review) -> None:
    ax.set_title(f"{what}\n{review.title}", loc="left", fontsize=10.5)


def plot_paths(review: Review, ax: Axes | None = None) -> Figure:
    """Paired bars per outcome: the person's path against the doctrine's, 95% intervals."""
    rows = review.outcomes
    fig, ax, own = new_figure(ax, (9.0, 1.9 + 0.7 * max(len(rows), 1)))
    colours = outcome_colours([{"id": r.id, "colour": r.colour} for r in rows])
    y = np.arange(len(rows))[::-1].astype(float)
    h = 0.36
    for k, (which, offset) in enumerate((("person", h / 2), ("doctrine", -h / 2))):
        shares = [getattr(r, which) for r in rows]
        p = np.array([s.p for s in shares])
        lo = np.array([s.lo for s in shares])
        hi = np.array([s.hi for s in shares])
        face = [colours[r.id] for r in rows] if k == 0 else [DOCTRINE_COLOUR] * len(rows)
        ax.barh(
            y + offset,
            p,
            height=h,
            color=face,
            edgecolor="0.25",
            linewidth=0.6,
            zorder=2,
            hatch=None if k == 0 else "///",
        )
        ax.errorbar(
            p,
            y + offset,
            xerr=[p - lo, hi - p],
            fmt="none",
            ecolor="black",
            elinewidth=1,
            capsize=2.5,
            zorder=3,
        )
        for yi, pi, top in zip(y + offset, p, hi, strict=True):
            ax.text(top, yi, f"  {pct(pi)}", va="center", fontsize=8, zorder=4)
    ax.set_yticks(y, [wrapped(r.name, 24) for r in rows])
    ax.set_xlim(
        0,
        min(1.0, max([r.person.hi for r in rows] + [r.doctrine.hi for r in rows] + [0.05]) * 1.18),
    )
    percent_axis(ax.xaxis)
    ax.set_xlabel("share of worlds (%)")
    ax.grid(axis="x", color="0.9", zorder=0)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(
        handles=[
            Patch(facecolor="0.45", edgecolor="0.25", label="your path (in the outcome's colour)"),
            Patch(
                facecolor=DOCTRINE_COLOUR, edgecolor="0.25", hatch="///", label="doctrine's path"
            ),
        ],
        loc="lower right",
        frameon=False,
        fontsize=8,
    )
    _title(
        ax,
        f"How the worlds end: your path against your doctrine's ({review.worlds:,} worlds)",
        review,
    )
    if own:
        footnote(
            fig,
            [
                "The same worlds (the same draws) under both paths; bars are shares with "
                "95% Wilson intervals.",
                _foot(review),
            ],
        )
    return fig


def plot_differences(review: Review, ax: Axes | None = None) -> Figure:
    """Dots: your path minus the doctrine's, per outcome and flag, with paired 95% intervals."""
    rows: tuple[PathRow, ...] = review.paths
    fig, ax, own = new_figure(ax, (9.0, 1.9 + 0.32 * max(len(rows), 1)))
    y = np.arange(len(rows))[::-1].astype(float)
    d = np.array([r.diff for r in rows])
    lo = np.array([r.lo for r in rows])
    hi = np.array([r.hi for r in rows])
    colour = [BAND_COLOUR if r.significant else "0.55" for r in rows]
    ax.axvline(0, color="0.3", lw=0.8, zorder=1)
    ax.errorbar(
        d, y, xerr=[d - lo, hi - d], fmt="none", ecolor="0.35", elinewidth=1, capsize=2.5, zorder=2
    )
    ax.scatter(d, y, c=colour, s=28, zorder=3)
    labels = [("Outcome: " if r.kind == "outcome" else "Flag: ") + r.name for r in rows]
    ax.set_yticks(y, [wrapped(x, 34) for x in labels], fontsize=8)
    span = max(0.02, float(np.nanmax(np.abs(np.r_[lo, hi, 0.0]))) * 1.15)
    ax.set_xlim(-span, span)
    ax.xaxis.set_major_formatter(POINTS_FORMATTER)
    ax.set_xlabel("your path minus your doctrine's (percentage points)")
    ax.grid(axis="x", color="0.9", zorder=0)
    ax.spines[["top", "right"]].set_visible(False)
    trans = ax.get_yaxis_transform()
    for yi, r in zip(y, rows, strict=True):
        text = f"{signed_points(r.diff, 1)}  ({signed_points(r.lo, 1)} to {signed_points(r.hi, 1)})"
        ax.text(1.02, yi, text, transform=trans, va="center", fontsize=8, clip_on=False)
    _title(ax, "What your choices changed: differences with paired 95% intervals", review)
    if own:
        footnote(
            fig,
            [
                "Newcombe's interval for paired shares: only worlds that end differently under "
                "the two paths widen it. Blue where it leaves out 0.",
                _foot(review),
            ],
        )
    return fig


def plot_game_ladder(review: Review, ax: Axes | None = None) -> Figure:
    """Steps: the game world's rung each day, with the seat's notable days marked on it.

    A filled marker is a day the seat did something other than its doctrine
    would have; a hollow one a day it took an action besides its default as its
    doctrine would have (quiet days are not marked).
    """
    fig, ax, own = new_figure(ax, (9.0, 3.6))
    rungs = np.array(review.rungs, dtype=float)
    days = np.arange(len(rungs))
    if len(rungs):
        ax.step(days, rungs, where="post", color=BAND_COLOUR, lw=2, zorder=2)
    for st in review.stretches:
        s = st.step
        if s is None or s.day >= len(rungs):  # quiet days, as doctrine would have
            continue
        face = BAND_COLOUR if s.differs else "white"
        ax.plot([s.day], [rungs[s.day]], "o", ms=8, mfc=face, mec=BAND_COLOUR, zorder=3)
        ax.annotate(
            wrapped(s.action_name, 18),
            (s.day, rungs[s.day]),
            xytext=(4, 8),
            textcoords="offset points",
            fontsize=7.5,
            color=NOTE_COLOUR,
            zorder=4,
        )
    ax.set_yticks(
        range(len(review.rung_names)), [wrapped(n, 22) for n in review.rung_names], fontsize=8
    )
    ax.set_ylim(-0.5, len(review.rung_names) - 0.5)
    ax.set_xlim(-0.5, max(review.horizon_days, 1) - 0.5)
    ax.set_xlabel(f"day of the game (0 = {review.start})")
    ax.grid(axis="y", color="0.92", zorder=0)
    ax.spines[["top", "right"]].set_visible(False)
    _title(
        ax,
        f"Your game, day by day: the ladder and your choices ({review.days_played} days played)",
        review,
    )
    if own:
        footnote(
            fig,
            [
                "Filled: a choice unlike your doctrine's that day; hollow: an action your "
                "doctrine would have taken too. Quiet days are not marked.",
                _foot(review),
            ],
        )
    return fig


CHARTS = {
    "paths": (
        plot_paths,
        "How the worlds end",
        "Outcome shares of your path and of your "
        "doctrine's over the same worlds, with 95% Wilson intervals.",
    ),
    "differences": (
        plot_differences,
        "What your choices changed",
        "Your path minus your "
        "doctrine's, per outcome and flag, with Newcombe's paired 95% interval.",
    ),
    "ladder": (
        plot_game_ladder,
        "Your game on the ladder",
        "The game world's rung day by day; markers are your days of note (filled where "
        "you did not do what your doctrine would have).",
    ),
}
"""The review's charts in reading order: function, heading, caption."""
