"""The chart of a sensitivity folder: per output, the factors' indices with their intervals.

:func:`sensitivity_bars` computes what is drawn (pure, from the folder's
``indices.csv`` and ``summary.json``); :func:`plot_sensitivity` draws one
panel per output: horizontal bars of S1 and ST (Sobol) or mu* and sigma
(Morris), factors named as the scenario describes them and sorted by ST
(or mu*), the 95% bootstrap interval on each index that has one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.errors import ResultsError
from sim.plots import style
from sim.results.reader import SensitivityResult, load_results

# Two shades of one neutral hue: the severity palette belongs to outcomes.
MAIN_COLOUR = style.BAND_COLOUR
"""ST (Sobol) or mu* (Morris): the index factors are ranked by."""
SECOND_COLOUR = "#9fb3cc"
"""S1 (Sobol) or sigma (Morris)."""

BARS = {
    "sobol": (("ST", "ST_conf", "ST: total, with interactions"), ("S1", "S1_conf", "S1: alone")),
    "morris": (
        ("mu_star", "mu_star_conf", "mu*: mean absolute effect"),
        ("sigma", None, "sigma: spread of the effects"),
    ),
}
"""Per method: (index, half-width column or None, legend label), ranked index first."""
MOST = 8
"""Factors drawn per panel; the rest are counted under it."""


def _result(result: SensitivityResult | str | Path) -> SensitivityResult:
    if isinstance(result, SensitivityResult):
        return result
    opened = load_results(result)
    if not isinstance(opened, SensitivityResult):
        raise ResultsError(f"{result}: a {opened.kind} folder, not a sensitivity folder")
    return opened


def sensitivity_bars(result: SensitivityResult | str | Path) -> dict[str, pd.DataFrame]:
    """Per output id: its factors' indices, ranked index first (largest at the top).

    Columns: ``parameter``, ``name`` and, per bar of :data:`BARS`, the index
    and ``<index>_conf`` (0 where the method gives no interval). An output
    that never varied has an empty frame.
    """
    res = _result(result)
    method = res.summary["method"]
    table = res.indices
    out: dict[str, pd.DataFrame] = {}
    for o in res.summary["outputs"]:
        rows = table[table["output"] == o["id"]]
        frame = pd.DataFrame({"parameter": rows["parameter"], "name": rows["parameter_name"]})
        for index, conf, _label in BARS[method]:
            frame[index] = rows[index].astype(float)
            frame[f"{index}_conf"] = rows[conf].astype(float) if conf else 0.0
        ranked = BARS[method][0][0]
        frame = frame.dropna(subset=[ranked]).sort_values(ranked, ascending=False, kind="stable")
        out[o["id"]] = frame.reset_index(drop=True)
    return out


def _limits(
    frames: Sequence[pd.DataFrame], columns: Sequence[str], method: str
) -> tuple[float, float]:
    """One x range for every panel, so bars compare across outputs; zero always shown.

    Sobol indices are shares of a variance: the axis ends just past 1, and a
    whisker that runs further is cut at the edge. Morris effects have no
    ceiling: the axis ends past the largest bar (not the largest whisker).
    """
    shown = [f for f in frames if len(f)]
    lowest = min([0.0] + [float((f[c] - f[f"{c}_conf"]).min()) for f in shown for c in columns])
    if method == "sobol":
        return (0.0 if lowest >= 0 else -0.1), 1.05
    top = max([0.0] + [float(f[c].max()) for f in shown for c in columns]) or 1.0
    return (0.0 if lowest >= 0 else -0.1 * top), 1.3 * top


def plot_sensitivity(
    result: SensitivityResult | str | Path,
    outputs: Sequence[str] | None = None,
    most: int = MOST,
) -> Figure:
    """One panel per output (default: all of the folder's), its top ``most`` factors ranked.

    Factors past ``most`` are counted under the panel, with the largest
    index among them, so none disappears silently.
    """
    res = _result(result)
    s = res.summary
    method = s["method"]
    bars = sensitivity_bars(res)
    docs = [o for o in s["outputs"] if outputs is None or o["id"] in outputs]
    if not docs:
        raise ResultsError(f"{res.folder}: none of the outputs {list(outputs or [])} was analysed")
    (main, _main_conf, main_label), (second, _c, second_label) = BARS[method]
    shown = {o["id"]: bars[o["id"]].head(most) for o in docs}
    k = max(len(f) for f in shown.values()) or 1
    cols = 2 if len(docs) > 1 else 1
    rows = math.ceil(len(docs) / cols)
    panel_h = 0.36 * k + 1.0
    fig = Figure(figsize=(6.4 * cols, panel_h * rows + 1.5), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    x0, x1 = _limits(list(shown.values()), [main, second], method)
    err = {"ecolor": "0.15", "capsize": 2.0, "elinewidth": 0.8}
    for ax, o in zip(axes.flat, docs, strict=False):
        frame, rest = shown[o["id"]], bars[o["id"]].iloc[most:]
        ax.set_title(
            f"{o['name']} ({o['kind']}, {style.pct(o['mean'])} on average)",
            loc="left",
            fontsize=9.5,
        )
        if frame.empty:
            style.empty(ax, "the same share at every design point: nothing to apportion")
            continue
        y = np.arange(len(frame))[::-1].astype(float)
        ax.barh(y + 0.19, frame[main], 0.36, color=MAIN_COLOUR, label=main_label)
        ax.errorbar(frame[main], y + 0.19, xerr=frame[f"{main}_conf"], fmt="none", **err)
        ax.barh(y - 0.19, frame[second], 0.36, color=SECOND_COLOUR, label=second_label)
        if method == "sobol":
            ax.errorbar(frame[second], y - 0.19, xerr=frame[f"{second}_conf"], fmt="none", **err)
        ax.set_yticks(y, [style.wrapped(n, 32) for n in frame["name"]], fontsize=7.5)
        for value, at in ((frame[main], y + 0.19), (frame[second], y - 0.19)):
            for v, yy in zip(value, at, strict=True):
                if v > x1:  # a bar past the axis's end: its value at the edge
                    ax.text(
                        x1,
                        yy,
                        f"{_index_text(float(v), method)} ▸",
                        ha="right",
                        va="center",
                        fontsize=7,
                        color="white",
                    )
        ax.set_xlim(x0, x1)
        ax.axvline(0, color="0.3", lw=0.7)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", color="0.9", lw=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if method == "morris":
            style.percent_axis(ax.xaxis)
        notes = []
        if len(rest):
            notes.append(
                f"{len(rest)} more factors, {'mu*' if main == 'mu_star' else main} ≤ "
                f"{_index_text(float(rest[main].max()), method)}"
            )
        if o.get("note"):
            notes.append(
                f"too wide to rank the top two: try --n {o['suggest_n']:,}"
                if o.get("suggest_n")
                else "the top two may be tied"
            )
        # Room under the last bar for the notes, so they never cover a bar.
        ax.set_ylim(-0.6 - 0.45 * len(notes), k - 0.4)
        if notes:
            ax.text(
                0.99,
                0.01,
                "\n".join(notes),
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                fontsize=7.5,
                color=style.NOTE_COLOUR,
                style="italic",
            )
    for ax in list(axes.flat)[len(docs) :]:
        ax.set_visible(False)
    for c in range(cols):
        column = [ax for ax in axes[:, c] if ax.get_visible()]
        if column:
            column[-1].set_xlabel(
                "index (share of the output's variance)"
                if method == "sobol"
                else "change in the share over the factor's range",
                fontsize=8,
            )
    handles, labels = next(
        (ax.get_legend_handles_labels() for ax in axes.flat if ax.get_legend_handles_labels()[0]),
        ([], []),
    )
    fig.legend(handles, labels, loc="outside upper right", frameon=False, fontsize=8, ncols=2)
    kinds = {o["kind"] for o in docs}
    what = {"outcome": "each outcome", "flag": "each key flag"}.get(
        next(iter(kinds)) if len(kinds) == 1 else "", "each output"
    )
    how = "Sobol indices" if method == "sobol" else "Morris elementary effects"
    fig.suptitle(
        f"What drives {what}: {how} of the drawn parameters\n{s.get('title') or s['scenario']}",
        x=0.01,
        ha="left",
        fontsize=10.5,
    )
    style.footnote(
        fig,
        [
            f"{s['scenario']} · {method.capitalize()}, N = {s['n']}: {s['points']:,} design "
            f"points × {s['runs']:,} worlds, the same worlds at every point · seed {s['seed']}",
            f"Whiskers: {round(100 * s['conf_level'])}% bootstrap intervals "
            f"({s['resamples']:,} resamples)"
            + ("; sigma has none" if method == "morris" else "; cut at the axis edge")
            + ". Factors sorted by "
            + ("ST." if method == "sobol" else "mu*."),
        ],
    )
    return fig


def _index_text(x: float, method: str) -> str:
    return f"{x:.2f}" if method == "sobol" else style.pct(x)


def draw_sensitivity_plots(
    folder: SensitivityResult | str | Path,
    formats: Sequence[str] = style.FORMATS,
    dpi: int = style.DPI,
) -> list[Path]:
    """Save the charts of a sensitivity folder: ``plots/sensitivity_outcomes.<fmt>`` and
    ``plots/sensitivity_flags.<fmt>`` (for the outputs of each kind analysed)."""
    res = _result(folder)
    files: list[Path] = []
    for kind, stem in (("outcome", "sensitivity_outcomes"), ("flag", "sensitivity_flags")):
        ids = [o["id"] for o in res.summary["outputs"] if o["kind"] == kind]
        if ids:
            fig: Any = plot_sensitivity(res, ids)
            files += style.save_figure(fig, res.folder / "plots", stem, formats, dpi)
    return files
