"""The chart of a knockouts folder: per outcome and key flag, what removing each rule changed.

:func:`knockout_panels` computes what is drawn (pure, from the folder's
``knockouts.csv`` and ``summary.json``); :func:`plot_knockouts` draws one
panel per outcome or key flag that some knock-out moved: a dot per rule at
its change in share (knock-out minus base, in percentage points) with the
paired 95% interval as a whisker, sorted by the change, largest increase at
the top; rules whose interval includes 0 are grey. Rules that changed the
output in no world are left out and counted under the panel.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.errors import ResultsError
from sim.plots import style
from sim.results.reader import KnockoutsResult, load_results

MOST = 8
"""Rules drawn per panel (the largest changes); the rest are counted under it."""
CLEAR_COLOUR = style.BAND_COLOUR
"""A change whose interval excludes 0 (the severity palette belongs to outcome shares)."""
UNCLEAR_COLOUR = "0.68"
"""A change whose interval includes 0."""


def _result(result: KnockoutsResult | str | Path) -> KnockoutsResult:
    if isinstance(result, KnockoutsResult):
        return result
    opened = load_results(result)
    if not isinstance(opened, KnockoutsResult):
        raise ResultsError(f"{result}: a {opened.kind} folder, not a knockouts folder")
    return opened


def rule_label(row: Any) -> str:
    """A rule in words: ``Actor: rule id as words`` (the description is in the tables)."""
    rule = str(row["rule"]).split(".", 1)[-1].replace("_", " ")
    return f"{row['actor_name']}: {rule}"


def knockout_panels(result: KnockoutsResult | str | Path) -> list[dict[str, Any]]:
    """Per output some knock-out moved: its name, base share and the moved rules, sorted.

    Each item: ``id``, ``name``, ``kind``, ``base_p``, ``rows`` (a frame with
    ``label``, ``diff``, ``lo``, ``hi``, ``clear``, sorted by ``diff``
    descending, rules whose change is exactly 0 left out) and ``idle`` (how
    many rules changed nothing).
    """
    res = _result(result)
    table = res.table
    panels = []
    for o in res.summary["outputs"]:
        rows = table[table["output"] == o["id"]]
        moved = rows[rows["diff"] != 0]
        if moved.empty:
            continue
        frame = pd.DataFrame(
            {
                "rule": moved["rule"].astype(str),
                "label": [rule_label(r) for _, r in moved.iterrows()],
                "diff": moved["diff"].astype(float),
                "lo": moved["lo"].astype(float),
                "hi": moved["hi"].astype(float),
            }
        )
        frame["clear"] = (frame["lo"] > 0) | (frame["hi"] < 0)
        frame = frame.sort_values(["diff", "rule"], ascending=[False, True], kind="stable")
        panels.append(
            {
                "id": o["id"],
                "name": o["name"],
                "kind": o["kind"],
                "base_p": float(o["p"]),
                "rows": frame.reset_index(drop=True),
                "idle": int(len(rows) - len(moved)),
            }
        )
    return panels


def _top(frame: pd.DataFrame, most: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``most`` largest changes (by size), kept in the frame's order, and the rest."""
    keep = frame["diff"].abs().sort_values(ascending=False, kind="stable").index[:most]
    shown = frame.loc[sorted(keep)]
    return shown, frame.drop(index=keep)


def _nice_limit(reach: float) -> float:
    """An axis end a little past ``reach`` (a share), on a round number of points."""
    pp = 100 * reach * 1.1
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100) if pp <= s * 4 or s == 100)
    return min(1.0, math.ceil(pp / step) * step / 100)


def plot_knockouts(result: KnockoutsResult | str | Path, most: int = MOST) -> Figure:
    """One panel per outcome and key flag a knock-out moved; see the module docstring."""
    res = _result(result)
    s = res.summary
    panels = knockout_panels(res)
    shown = [_top(p["rows"], most) for p in panels]
    k = max([len(f) for f, _ in shown] + [1])
    cols = 2 if len(panels) > 1 else 1
    rows = max(1, math.ceil(len(panels) / cols))
    fig = Figure(figsize=(6.6 * cols, (0.3 * k + 1.2) * rows + 1.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    if not panels:
        style.empty(axes[0, 0], "no knock-out changed any outcome or key flag in any world")
    for ax, p, (frame, rest) in zip(axes.flat, panels, shown, strict=False):
        kind = "outcome" if p["kind"] == "outcome" else "key flag"
        ax.set_title(
            style.wrapped(f"{p['name']} ({kind}): {style.pct(p['base_p'])} of worlds", 60),
            loc="left",
            fontsize=9,
        )
        # Each panel its own scale, symmetric about 0: a change of 75 pp in one
        # output would flatten every change of 2 pp in another.
        reach = max(0.005, float(frame[["lo", "hi"]].abs().max().max()))
        x1 = _nice_limit(reach)
        y = (k - 1 - np.arange(len(frame))).astype(float)  # from the top, in every panel
        for clear, colour in ((False, UNCLEAR_COLOUR), (True, CLEAR_COLOUR)):
            part = frame["clear"].to_numpy() == clear
            if not part.any():
                continue
            d, lo, hi = (frame[c].to_numpy()[part] for c in ("diff", "lo", "hi"))
            ax.errorbar(
                d,
                y[part],
                xerr=[d - lo, hi - d],
                fmt="o",
                color=colour,
                ms=4.5,
                elinewidth=1.1,
                capsize=2,
                label="interval excludes 0" if clear else "interval includes 0",
            )
        ax.set_yticks(y, [style.wrapped(t, 36) for t in frame["label"]], fontsize=7.5)
        for tick, clear in zip(ax.get_yticklabels(), frame["clear"], strict=True):
            tick.set_color("0.1" if clear else "0.45")
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_xlim(-x1, x1)
        ax.set_ylim(-0.7 - (0.5 if len(rest) or p["idle"] else 0), k - 0.4)
        ax.xaxis.set_major_formatter(style.POINTS_FORMATTER)
        ax.tick_params(axis="x", labelsize=7.5)
        ax.grid(axis="x", color="0.9", lw=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        notes = []
        if len(rest):
            biggest = 100 * float(rest["diff"].abs().max())
            notes.append(f"{len(rest)} more rules, each within ±{biggest:.1f} pp")
        if p["idle"]:
            notes.append(f"{p['idle']} rules changed no world")
        if notes:
            ax.text(0.99, 0.01, "; ".join(notes), transform=ax.transAxes, ha="right",
                    va="bottom", fontsize=7, color=style.NOTE_COLOUR, style="italic")  # fmt: skip
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    for c in range(cols):
        column = [ax for ax in axes[:, c] if ax.get_visible()]
        if column:
            column[-1].set_xlabel("change in share when the rule is removed (pp)", fontsize=8)
    handles = [
        Line2D([], [], color=c, marker="o", ms=4.5, lw=1.1, label=t)
        for c, t in ((CLEAR_COLOUR, "interval excludes 0"), (UNCLEAR_COLOUR, "interval includes 0"))
    ]
    fig.legend(handles=handles, loc="outside upper right", frameon=False, fontsize=8, ncols=2)
    fig.suptitle(
        "What removing each rule changes: knock-out minus base, the same worlds\n"
        + str(s.get("title") or s.get("scenario", "")),
        x=0.01,
        ha="left",
        fontsize=10.5,
    )
    notes = [
        "Dot: change in the share of worlds when the rule is removed (a trigger, preference "
        "or foresight rule never applies; a constraint forbids nothing),",
        "on the same worlds as the base; whisker: paired 95% interval (Newcombe). Grey: the "
        "interval includes 0. Each panel has its own scale.",
        style.footnote_text(s) + f" per variant · {len(s['knockouts'])} knock-outs",
    ]
    style.footnote(fig, notes)
    # A tall figure puts the footnote's baseline (a share of its height) higher
    # than style.footnote leaves room for: keep the panels above it.
    height = fig.get_figheight()
    room = (0.1 + 0.008 * height + 0.16 * len(notes)) / height
    fig.get_layout_engine().set(rect=(0, room, 1, 1 - room))  # type: ignore[union-attr,call-arg]
    return fig


def draw_knockouts_plots(
    result: KnockoutsResult | str | Path, formats: Any = style.FORMATS, dpi: int = style.DPI
) -> list[Path]:
    """Draw ``knockouts`` into ``<folder>/plots/`` (PNG and SVG)."""
    res = _result(result)
    return style.save_figure(plot_knockouts(res), res.folder / "plots", "knockouts", formats, dpi)
