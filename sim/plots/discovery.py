"""Charts of a discovery folder: the peeling trajectory and the chosen box.

``plot_trajectory`` answers "how much coverage does each gain in density
cost?": every box PRIM peeled, coverage against density, coloured by how
many parameters it restricts, the chosen box ringed. ``plot_box`` answers
"which values make the outcome likely?": each restricted parameter's range
in the box against its full range in the batch, significant restrictions
in full colour. ``result`` is a discovery folder, or anything with
``summary``, ``trajectory`` and ``box`` (what :func:`sim.discovery.discover`
returns).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure

from sim.discovery import load_discovery, number
from sim.plots.style import (
    BAND_COLOUR,
    NOTE_COLOUR,
    footnote,
    footnote_text,
    new_figure,
    pct,
    percent_axis,
    save_figure,
    title,
    wrapped,
)

TRAJECTORY_COLOURS = "viridis"
"""Colours for the number of restricted parameters: an order, not a severity."""

STEMS = ("discovery_trajectory", "discovery_box")
"""File names (without extension) of the two charts under ``plots/``."""


def _as_discovery(result: Any) -> Any:
    if isinstance(result, str | os.PathLike):
        return load_discovery(Path(result))
    return result


def _notes(summary: dict[str, Any]) -> list[str]:
    o = summary.get("options", {})
    return [
        f"{footnote_text(summary)} · PRIM (EMA Workbench), peel alpha {o.get('peel_alpha', 0):g}, "
        f"min mass {o.get('min_mass', 0):g}, threshold {o.get('threshold', 0):g}",
    ]


def _what(summary: dict[str, Any]) -> str:
    """The target's name inside a sentence: "war from Belarusian territory" (but "NATO ...")."""
    name = str(summary["target"]["name"])
    if name[1:2].islower():
        name = name[0].lower() + name[1:]
    return name if summary["target"]["kind"] == "outcome" else f"{name} (flag)"


def plot_trajectory(result: Any, ax: Axes | None = None) -> Figure:
    """Coverage against density for every box on the peeling trajectory, the chosen one ringed.

    Vertical bars are Wilson 95% intervals of each box's density; colours
    and the small numbers give how many parameters each box restricts.
    """
    d = _as_discovery(result)
    summary, traj = d.summary, d.trajectory
    fig, ax, own = new_figure(ax, (9.0, 6.2))
    k = traj["restricted"].to_numpy(int)
    top = max(int(k.max()), 1)
    cmap = ListedColormap(colormaps[TRAJECTORY_COLOURS](np.linspace(0.0, 0.9, top + 1)))
    norm = BoundaryNorm(np.arange(-0.5, top + 1.5), cmap.N)
    cov, den = traj["coverage"].to_numpy(float), traj["density"].to_numpy(float)
    err = np.vstack([den - traj["density_lo"], traj["density_hi"] - den])
    ax.plot(cov, den, color="0.75", lw=0.8, zorder=1)
    ax.errorbar(cov, den, yerr=err, fmt="none", ecolor="0.6", elinewidth=0.7, zorder=2)
    points = ax.scatter(cov, den, c=k, cmap=cmap, norm=norm, s=22, zorder=3, edgecolors="none")
    box = summary["box"]
    ax.scatter(
        [box["coverage"]],
        [box["density"]],
        s=190,
        facecolors="none",
        edgecolors="black",
        linewidths=1.4,
        zorder=4,
    )
    label = (
        f"chosen: box {box['index']} of {box['of']}, {len(box['restricted'])} restricted\n"
        f"coverage {pct(box['coverage'], 0)}, density {pct(box['density'], 0)}, "
        f"mass {pct(box['mass'], 0)}"
    )
    # Up and to the right of a box is empty: the boxes peeled after it have less
    # coverage, those before it less density. Near the top, straight to the right.
    if box["coverage"] > 0.75:
        where, ha, va = (-8, 40), "right", "bottom"
    elif box["density"] > 0.85:
        where, ha, va = (40, 0), "left", "center"
    else:
        where, ha, va = (24, 30), "left", "bottom"
    ax.annotate(
        label,
        (box["coverage"], box["density"]),
        xytext=where,
        textcoords="offset points",
        fontsize=8,
        ha=ha,
        va=va,
        arrowprops={"arrowstyle": "-", "color": "0.3", "lw": 0.7},
        bbox={"boxstyle": "square,pad=0.2", "fc": "white", "ec": "none"},
        zorder=5,
    )
    base, threshold = summary["base_rate"], summary["options"]["threshold"]
    for level, label, dash in (
        (base, f"base rate {pct(base)} (all worlds)", ":"),
        (threshold, f"threshold {pct(threshold, 0)}", (0, (4, 3))),
    ):
        ax.axhline(level, color=NOTE_COLOUR, lw=0.9, ls=dash, zorder=0)
        ax.text(
            0.01,
            level,
            label,
            transform=ax.get_yaxis_transform(),
            va="bottom",
            fontsize=7.5,
            color=NOTE_COLOUR,
        )
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    percent_axis(ax.xaxis)
    percent_axis(ax.yaxis)
    ax.set_xlabel("coverage: share of all the worlds where it happens that lie in the box")
    ax.set_ylabel("density: share of the box's worlds where it happens (95% interval)")
    ax.grid(color="0.92", lw=0.6)
    ax.set_axisbelow(True)
    bar = fig.colorbar(points, ax=ax, ticks=range(top + 1), fraction=0.04, pad=0.02)
    bar.set_label("parameters restricted", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    title(ax, f"Peeling trajectory: where {_what(summary)} is concentrated", summary)
    if own:
        footnote(fig, _notes(summary))
    return fig


def plot_box(result: Any, ax: Axes | None = None) -> Figure:
    """Each restricted parameter's range in the chosen box against its full range.

    A numeric parameter is a bar over its full range (the lowest to the
    highest draw in the batch), the box's range in colour; a choice
    parameter shows each option, the kept ones in colour. Restrictions that
    are not significant (quasi-p 0.05 or more) are drawn pale.
    """
    d = _as_discovery(result)
    summary = d.summary
    rows = summary["box"]["restricted"]
    fig, ax, own = new_figure(ax, (9.5, 2.6 + 0.8 * max(len(rows), 1)))
    if not rows:
        ax.text(
            0.5,
            0.5,
            "the chosen box restricts no parameter",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color="0.4",
        )
        ax.set_xticks([])
        ax.set_yticks([])
    for y, r in enumerate(rows):
        alpha = 1.0 if r["significant"] else 0.35
        if r["kind"] == "choice":
            _choice_row(ax, y, r, alpha)
        else:
            ax.barh(y, 1.0, left=0.0, height=0.5, color="0.9", zorder=1)
            _range_row(ax, y, r, alpha)
    labels = []
    for r in rows:
        p = r["quasi_p"]
        ptext = (
            ""
            if p is None or not math.isfinite(p)
            else ("quasi-p < 0.001" if p < 0.001 else f"quasi-p {p:.2g}")
        )
        verdict = "significant" if r["significant"] else "not significant"
        gist = wrapped(r["description"], 34) + "\n" if r.get("description") else ""
        labels.append(f"{r['name']}\n{gist}{ptext}, {verdict}".strip(", "))
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    for tick, r in zip(ax.get_yticklabels(), rows, strict=True):
        if not r["significant"]:
            tick.set_color("0.45")
    ax.set_ylim(len(rows) - 0.4, -0.6)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xticks([0, 1], ["lowest draw", "highest draw"], fontsize=8)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    title(ax, summary["box"]["sentence"], summary)
    if own:
        footnote(
            fig,
            [
                "Grey: the parameter's full range in the batch; blue: its range in the box "
                "(pale: not significant).",
                *_notes(summary),
            ],
        )
    return fig


def _range_row(ax: Axes, y: int, r: dict[str, Any], alpha: float) -> None:
    """The box's range as a bar over the full range; limits written at the restricted ends."""
    lo_all, hi_all = r["full_lower"], r["full_upper"]
    span = (hi_all - lo_all) or 1.0
    a, b = (r["lower"] - lo_all) / span, (r["upper"] - lo_all) / span
    ax.barh(y, b - a, left=a, height=0.5, color=BAND_COLOUR, alpha=alpha, zorder=2)
    kind = r["kind"]
    text: dict[str, Any] = {"fontsize": 7.5, "va": "center", "zorder": 3}
    inside = "white" if alpha == 1.0 else "0.1"
    if r["lower"] > lo_all:  # a limit from below: written beside it, inside the bar near 0
        out = a > 0.12
        ax.text(
            a - 0.01 if out else a + 0.01,
            y,
            f"≥ {number(r['lower'], kind)}",
            ha="right" if out else "left",
            color="0.15" if out else inside,
            **text,
        )
    if r["upper"] < hi_all:
        out = b < 0.88
        ax.text(
            b + 0.01 if out else b - 0.01,
            y,
            f"≤ {number(r['upper'], kind)}",
            ha="left" if out else "right",
            color="0.15" if out else inside,
            **text,
        )
    for x, v, ha in ((0.0, lo_all, "left"), (1.0, hi_all, "right")):
        ax.text(x, y + 0.38, number(v, kind), ha=ha, color="0.5", fontsize=6.5, va="center")


def _choice_row(ax: Axes, y: int, r: dict[str, Any], alpha: float) -> None:
    options = [o for o in (r.get("options") or []) if o] or list(r["kept"])
    width = 1.0 / max(len(options), 1)
    for j, option in enumerate(options):
        kept = option in r["kept"]
        ax.barh(
            y,
            width * 0.96,
            left=j * width + width * 0.02,
            height=0.5,
            color=BAND_COLOUR if kept else "0.9",
            alpha=alpha if kept else 1.0,
            zorder=2,
        )
        ax.text(
            (j + 0.5) * width,
            y,
            option.replace("_", " "),
            ha="center",
            va="center",
            fontsize=7.5,
            color="white" if kept and alpha == 1.0 else "0.2",
            zorder=3,
        )


def draw_discovery_plots(folder: Path | str) -> list[Path]:
    """Save both charts of a discovery folder under ``<folder>/plots/`` as PNG and SVG."""
    folder = Path(folder)
    d = load_discovery(folder)
    files = []
    for stem, plot in zip(STEMS, (plot_trajectory, plot_box), strict=True):
        files += save_figure(plot(d), folder / "plots", stem)
    return files


def present(folder: Path) -> str:
    """The hook of ``wargame discover``: draw the charts; returns where they are."""
    files = draw_discovery_plots(folder)
    return f"{len(files)} plots in {folder / 'plots'}"
