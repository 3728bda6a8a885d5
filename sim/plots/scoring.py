"""The chart of a score folder: the reliability diagram across every scored forecast.

:func:`reliability_table` computes what is drawn (pure: the bins of
:func:`sim.scoring.reliability.reliability` over the folder's
``scores.csv``); :func:`plot_reliability` draws it: for each bin of forecast
probability with forecasts in it, a dot at the bin's mean forecast against
the share of its questions that resolved yes, with the Wilson 95% interval
of that share and the number of forecasts beside it; the diagonal is a
perfectly reliable forecaster. A panel below counts the forecasts per bin:
how much each dot rests on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.errors import ResultsError
from sim.plots import style
from sim.results.reader import ScoreResult, load_results
from sim.scoring.reliability import BINS, reliability

if TYPE_CHECKING:
    import pandas as pd

DOT_COLOUR = style.BAND_COLOUR
"""The forecast's bins (the severity palette belongs to outcome shares)."""


def _result(result: ScoreResult | str | Path) -> ScoreResult:
    if isinstance(result, ScoreResult):
        return result
    opened = load_results(result)
    if not isinstance(opened, ScoreResult):
        raise ResultsError(f"{result}: a {opened.kind} folder, not a score folder")
    return opened


def reliability_table(result: ScoreResult | str | Path, bins: int = BINS) -> pd.DataFrame:
    """The numbers behind ``reliability.png``: one row per bin (see :func:`reliability`)."""
    scores = _result(result).scores
    return reliability(scores["probability"], scores["happened"], bins)


def plot_reliability(
    result: ScoreResult | str | Path, ax: Axes | None = None, bins: int = BINS
) -> Figure:
    """The reliability diagram (see the module docstring); ``ax`` for the diagram alone."""
    res = _result(result)
    table = reliability_table(res, bins)
    s = res.summary
    if ax is None:
        fig = Figure(figsize=(6.4, 8.0), layout="constrained")
        ax, counts = fig.subplots(2, 1, height_ratios=(4, 1), sharex=True)
        own = True
    else:
        fig, counts, own = style.figure_of(ax), None, False
    ax.plot([0, 1], [0, 1], ls="--", color="0.55", lw=0.9)
    ax.text(
        0.8,
        0.81,
        "perfectly reliable",
        rotation=45,
        rotation_mode="anchor",
        transform_rotates_text=True,
        ha="center",
        va="bottom",
        fontsize=7.5,
        color="0.45",
    )
    full = table[table["count"] > 0]
    x, y = full["mean_forecast"].to_numpy(), full["observed"].to_numpy()
    ax.errorbar(
        x,
        y,
        yerr=[y - full["observed_low"].to_numpy(), full["observed_high"].to_numpy() - y],
        fmt="o",
        color=DOT_COLOUR,
        ms=6,
        elinewidth=1.1,
        capsize=2.5,
    )
    # Each count above its whisker's cap: two bins side by side rarely share a cap height.
    caps = full["observed_high"].to_numpy()
    for xi, top, n in zip(x, caps, full["count"], strict=True):
        ax.annotate(
            f"n={n}",
            (xi, top),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=7.5,
            color=style.NOTE_COLOUR,
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.08)
    ax.set_ylabel("share that happened")
    style.percent_axis(ax.yaxis)
    style.percent_axis(ax.xaxis)
    ax.grid(color="0.92", lw=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    o = s["overall"]
    style.title(
        ax,
        f"Reliability of {o['rows']} scored forecasts: how often what was forecast at p happened",
        s,
    )
    if counts is not None:
        edges = table["low"].to_numpy()
        bars = counts.bar(
            edges, table["count"], width=1 / bins, align="edge", color="0.75", edgecolor="white"
        )
        labels = [str(n) if n else "" for n in table["count"]]
        counts.bar_label(bars, labels, fontsize=7, color=style.NOTE_COLOUR, padding=1)
        counts.set_ylim(0, max(1, int(table["count"].max())) * 1.3)
        counts.set_ylabel("forecasts", fontsize=8)
        counts.set_xlabel("forecast probability (bins of 10 points)")
        counts.set_xticks(np.linspace(0, 1, bins + 1))
        style.percent_axis(counts.xaxis)
        counts.tick_params(labelsize=7.5)
        for side in ("top", "right"):
            counts.spines[side].set_visible(False)
    if own:
        style.footnote(
            fig,
            [
                "Dot: the forecasts in a bin of 10 points, at their mean against the share of "
                "them that happened;",
                "whisker: Wilson 95% interval of that share; n: forecasts in the bin.",
                f"Brier {o['brier']:.3f} (0.5 everywhere: 0.250) · log score "
                f"{o['log_score']:.2f} bits (0.5: -1.00; p clipped to "
                f"[{s['clip'][0]:g}, {s['clip'][1]:g}])",
                f"{s['scenario']} · resolutions {Path(s['resolutions']['file']).name}",
            ],
        )
    return fig


def draw_score_plots(
    result: ScoreResult | str | Path,
    formats: Sequence[str] = style.FORMATS,
    dpi: int = style.DPI,
) -> list[Path]:
    """Save ``plots/reliability.<fmt>`` of a score folder."""
    res = _result(result)
    fig: Any = plot_reliability(res)
    return style.save_figure(fig, res.folder / "plots", "reliability", formats, dpi)
