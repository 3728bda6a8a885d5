"""Charts of one batch of simulated worlds, and the drivers that save them all.

Each ``plot_*(result, ax=None) -> Figure`` draws one table computed by
:mod:`sim.plots.data`. ``result`` is a results folder path or any object
with the tables as attributes (``summary``, ``daily``, ``rules``...). Given
an ``ax``, the chart is drawn there and its figure returned; otherwise a new
:class:`~matplotlib.figure.Figure` is made, with a footnote naming the
scenario, the number of worlds and the seed, so a saved chart can be read on
its own.

Figures are built directly (``Figure()``), never through ``pyplot``: no
global state, no GUI backend, safe in worker processes and tests. Sweep and
comparison charts live in :mod:`sim.plots.charts_sweep` and are re-exported
here.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from sim.errors import ResultsError
from sim.plots import data
from sim.plots.charts_sweep import plot_compare, plot_sweep
from sim.plots.drivers import draw_drivers_plots
from sim.plots.evidence import draw_forecast_plots, draw_posterior_plots
from sim.plots.knockouts import draw_knockouts_plots
from sim.plots.scoring import draw_score_plots
from sim.plots.sensitivity import draw_sensitivity_plots
from sim.plots.style import (
    BAND_COLOUR,
    DPI,
    EVENT_COLOUR,
    FORMATS,
    LEGEND,
    NOTE_COLOUR,
    as_tables,
    date_axis,
    empty,
    events_pad,
    figure_of,
    footnote,
    footnote_text,
    ink,
    ladder_colours,
    mark_events,
    need,
    new_figure,
    outcome_colours,
    pct,
    percent_axis,
    rung_names,
    save_figure,
    short,
    steps,
    title,
    wrapped,
)
from sim.results.reader import (
    BatchResult,
    ForecastResult,
    KnockoutsResult,
    ScoreResult,
    SensitivityResult,
    load_results,
)

__all__ = [
    "draw_batch_plots",
    "draw_compare_plots",
    "draw_plots",
    "draw_sweep_plots",
    "plot_attribution",
    "plot_compare",
    "plot_fan",
    "plot_flags",
    "plot_occupancy",
    "plot_outcomes",
    "plot_sweep",
    "plot_time_to_event",
]


# -- outcomes and flags -------------------------------------------------------------
def _interval_bars(
    ax: Axes, table: pd.DataFrame, colours: Sequence[str], header: str, edge: str = "0.25"
) -> None:
    """Horizontal bars with 95% intervals; first row on top; values listed right of the axes."""
    n = len(table)
    y = np.arange(n)[::-1]
    p, lo, hi = (table[c].to_numpy(float) for c in ("p", "lo", "hi"))
    ax.barh(y, p, color=colours, edgecolor=edge, linewidth=0.6, height=0.65, zorder=2)
    ax.errorbar(
        p, y, xerr=[p - lo, hi - p], fmt="none", ecolor="black", elinewidth=1, capsize=3, zorder=3
    )
    ax.set_yticks(y, [wrapped(str(s)) for s in table["name"]])
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlim(0, min(1.0, max(float(np.nanmax(hi)) if n else 0, 0.05) * 1.08))
    percent_axis(ax.xaxis)
    ax.set_xlabel("share of worlds (%)")
    ax.grid(axis="x", color="0.9", zorder=0)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    trans = ax.get_yaxis_transform()
    for yi, pi, li, hii in zip(y, p, lo, hi, strict=True):
        text = f"{pct(pi)}  ({pct(li)}–{pct(hii)})"
        ax.text(1.02, yi, text, transform=trans, va="center", fontsize=8.5, clip_on=False)
    ax.text(1.02, n - 0.4, header, transform=trans, va="bottom", fontsize=8, color=NOTE_COLOUR)


def plot_outcomes(result: Any, ax: Axes | None = None) -> Figure:
    """Horizontal bars: probability of each outcome with its Wilson 95% interval."""
    result = as_tables(result)
    summary = need(result, "summary", "summary.json")
    table = data.outcome_table(summary)
    fig, ax, own = new_figure(ax, (9.0, 1.9 + 0.45 * len(table)))
    colours = outcome_colours(summary["outcomes"])
    _interval_bars(ax, table, [colours[i] for i in table["id"]], "share (95% interval)")
    ax.set_ylabel("outcome (least to most severe)")
    horizon = summary.get("horizon_days")
    when = f" after {horizon} days" if horizon else ""
    title(ax, f"How the worlds end: outcome probabilities{when}", summary)
    if own:
        footnote(fig, [footnote_text(summary)])
    return fig


def plot_flags(result: Any, ax: Axes | None = None, flags: Sequence[str] | None = None) -> Figure:
    """Horizontal bars: share of worlds in which each key flag was raised (95% interval)."""
    result = as_tables(result)
    summary = need(result, "summary", "summary.json")
    table = data.flag_table(summary, flags)
    fig, ax, own = new_figure(ax, (9.0, 1.9 + 0.45 * max(len(table), 1)))
    if table.empty:
        empty(ax, "no flags in this scenario")
    else:
        _interval_bars(ax, table, ["#8da0b6"] * len(table), "share (95% interval)")
        ax.set_ylabel("flag")
    title(ax, "How often key developments happened (flags raised by the horizon)", summary)
    if own:
        footnote(fig, [footnote_text(summary)])
    return fig


# -- over time ------------------------------------------------------------------
def _time_frame(result: Any) -> tuple[Mapping[str, Any], pd.DataFrame]:
    result = as_tables(result)
    summary = need(result, "summary", "summary.json")
    daily = need(result, "daily", "daily.csv")
    if "date" in daily.columns and not pd.api.types.is_datetime64_any_dtype(daily["date"]):
        daily = daily.assign(date=pd.to_datetime(daily["date"]))
    if daily.empty:
        raise ResultsError("daily.csv has no rows")
    return summary, daily


_LINESTYLES = ("-", (0, (5, 2)), (0, (5, 2, 1, 2)), (0, (1, 1.5)), (0, (8, 2, 1, 2, 1, 2)))


RARE = 0.10
"""A rung never holding more than this share of worlds is drawn again in the zoomed panel."""


def _with_zoom(ax: Axes | None, zoomed: bool) -> tuple[Figure, Axes, Axes | None, bool]:
    """The caller's axes, or a new figure with a main panel and, if ``zoomed``, a zoom below.

    Returns the figure, the main axes, the zoom axes (``None`` on the caller's
    axes or without rare rungs) and whether the figure is new.
    """
    if ax is not None:
        return figure_of(ax), ax, None, False
    fig = Figure(figsize=(10.5, 7.6 if zoomed else 5.4), layout="constrained")
    if not zoomed:
        return fig, fig.add_subplot(), None, True
    grid = fig.add_gridspec(2, 1, height_ratios=[3, 1.7])
    return fig, fig.add_subplot(grid[0]), fig.add_subplot(grid[1]), True


def _rung_curves(
    ax: Axes, curves: pd.DataFrame, rungs: Sequence[str], summary: Mapping[str, Any]
) -> np.ndarray:
    """Step lines with Wilson bands of the at-or-above ``curves`` of ``rungs``; the dates drawn."""
    ladder = summary.get("ladder", [])
    colours = ladder_colours(ladder)
    names = rung_names(summary)
    last_date = curves["date"].max()
    x = np.array([])
    for k, rid in enumerate(curves["rung"].unique()):
        if rid not in rungs:
            continue
        frame = curves[curves["rung"] == rid].set_index("date")[["p", "lo", "hi"]]
        x, v = steps(frame)
        colour = colours.get(str(rid), BAND_COLOUR)
        ax.fill_between(x, v[:, 1], v[:, 2], step="post", color=colour, alpha=0.25, lw=0, zorder=1)
        higher = "" if rid == ladder[-1]["id"] else " or higher"
        when = f"{last_date.day} {last_date:%b}"
        label = f"{names.get(str(rid), rid)}{higher}: {pct(v[-1, 0])} on {when}"
        ls = _LINESTYLES[k % len(_LINESTYLES)]
        ax.plot(
            x, v[:, 0], drawstyle="steps-post", color=colour, lw=2, ls=ls, label=label, zorder=3
        )
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(
        [*handles[::-1], Patch(color="0.5", alpha=0.25)],
        [*labels[::-1], "95% Wilson interval"],
        title="on this rung or higher (severe at top)",
        title_fontsize=8,
        **LEGEND,
    )
    percent_axis(ax.yaxis)
    ax.grid(axis="y", color="0.92", zorder=0)
    return x


def plot_fan(result: Any, ax: Axes | None = None) -> Figure:
    """Lines: share of worlds on each rung or a higher one, day by day, with Wilson bands.

    One line per rung above the calmest, in the rung's severity colour; the
    legend gives each line's share on the last day. The rungs whose line
    never passes :data:`RARE` are drawn again in a second panel, on a
    zero-based scale stretched to their highest interval (only in a figure
    of the chart's own). (Saved as ``fan``: it replaces the fan chart of
    rung percentiles, which moved in whole rungs.)
    """
    summary, daily = _time_frame(result)
    ladder = summary.get("ladder", [])
    curves = data.at_or_above(daily, ladder, summary.get("runs"))
    peaks = curves.groupby("rung", sort=False)["p"].max()
    rare = [str(r) for r, top in peaks.items() if top <= RARE]
    fig, ax, zoom, own = _with_zoom(ax, bool(rare))
    if curves.empty:
        empty(ax, "a ladder of one rung: every world is on it")
        title(ax, "Escalation over time", summary)
        return fig
    x = _rung_curves(ax, curves, [str(r) for r in peaks.index], summary)
    first, last = pd.Timestamp(x[0]), pd.Timestamp(x[-1])
    date_axis(ax, first, last)
    rows = mark_events(ax, summary.get("events", []), first, last)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of worlds on the rung or a higher one (%)")
    title(
        ax,
        "Escalation over time: share of worlds at or above each rung, day by day",
        summary,
        events_pad(rows),
    )
    if zoom is not None:
        _rung_curves(zoom, curves, rare, summary)
        date_axis(zoom, first, last)
        top = float(curves.loc[curves["rung"].isin(rare), "hi"].max())
        zoom.set_ylim(0, max(top * 1.15, 0.005))
        zoom.set_ylabel("share of worlds (%)")
        _event_lines(zoom, summary, first, last)
        zoom.set_title(
            f"Zoom: the rungs whose line never passes {pct(RARE, 0)}, on a stretched scale",
            loc="left",
            fontsize=9.5,
        )
    if own:
        footnote(
            fig,
            [
                "Each line counts the worlds on that rung or a more severe one at the end of "
                "each day; worlds can step back down, so a line can fall.",
                footnote_text(summary),
            ],
        )
    return fig


def _event_lines(ax: Axes, summary: Mapping[str, Any], first: Any, last: Any) -> None:
    """Dashed lines at the start of each scheduled event, without labels (a lower panel)."""
    for ev in summary.get("events", []):
        when = ev.get("start_date")
        if when and first <= pd.Timestamp(when) <= last:
            ax.axvline(
                pd.Timestamp(when), color=EVENT_COLOUR, lw=0.8, ls=(0, (3, 2)), alpha=0.8, zorder=4
            )


def _stacked(
    ax: Axes, shares: pd.DataFrame, colours: Mapping[str, str], names: Mapping[str, str]
) -> None:
    """Stacked step areas of ``shares`` (columns calm to severe), each band named inside it."""
    x, v = steps(shares)
    tops = np.cumsum(v, axis=1)
    bottoms = tops - v
    top = float(tops[:, -1].max()) if v.size else 1.0
    for k, rid in enumerate(shares.columns):
        colour = colours[rid]
        ax.fill_between(x, bottoms[:, k], tops[:, k], step="post", color=colour, lw=0, zorder=1)
        # The label goes where the band is thickest, away from the ends (where it would be cut).
        days = len(v) - 1
        lo_day, hi_day = int(days * 0.12), max(int(days * 0.88), int(days * 0.12) + 1)
        thick = v[lo_day:hi_day, k]
        i = lo_day + int(np.argmax(thick)) if thick.size else 0
        if thick.size and v[i, k] >= 0.07 * top:  # room for a label inside the band
            mid = (bottoms[i, k] + tops[i, k]) / 2
            when = x[i] + (x[i + 1] - x[i]) / 2
            ax.text(
                when,
                mid,
                short(names[rid], 34),
                ha="center",
                va="center",
                fontsize=7.5,
                color=ink(colour),
                zorder=4,
                clip_on=True,
            )


def plot_occupancy(result: Any, ax: Axes | None = None) -> Figure:
    """Stacked areas: share of worlds on each rung, day by day; rare rungs zoomed below.

    The rungs that never hold more than :data:`RARE` of the worlds (the
    severe ones, as a rule) are a sliver on a 0-100% scale; a second panel
    draws them alone on a zero-based axis stretched to their peak. Given an
    ``ax``, only the main panel is drawn there.
    """
    summary, daily = _time_frame(result)
    ladder = summary.get("ladder", [])
    shares = data.occupancy(daily, ladder)
    colours = ladder_colours(ladder)
    names = rung_names(summary)
    rare = data.rare_rungs(shares, RARE)
    fig, ax, zoom, own = _with_zoom(ax, bool(rare))
    _stacked(ax, shares, colours, names)
    x = steps(shares)[0]
    first, last = pd.Timestamp(x[0]), pd.Timestamp(x[-1])
    date_axis(ax, first, last)
    rows = mark_events(ax, summary.get("events", []), first, last)
    ax.set_ylim(0, 1)
    percent_axis(ax.yaxis)
    ax.set_ylabel("share of worlds on the rung (%)")
    handles = {
        rid: Patch(facecolor=colours[rid], edgecolor="0.5", lw=0.4, label=names[rid])
        for rid in shares.columns
    }
    ax.legend(
        handles=list(handles.values())[::-1],
        title="rung (severe at top)",
        title_fontsize=8,
        **LEGEND,
    )
    title(
        ax,
        "Where the worlds are: share of worlds on each escalation rung, day by day",
        summary,
        events_pad(rows),
    )
    if zoom is not None:
        part = shares[rare]
        _stacked(zoom, part, colours, names)
        date_axis(zoom, first, last)
        peak = float(part.sum(axis=1).max())
        zoom.set_ylim(0, max(peak * 1.15, 0.005))
        percent_axis(zoom.yaxis)
        zoom.set_ylabel("share of worlds (%)")
        zoom.grid(axis="y", color="0.92", zorder=0)
        zoom.set_axisbelow(True)
        _event_lines(zoom, summary, first, last)
        zoom.legend(
            handles=[handles[r] for r in rare][::-1],
            title="zoomed rungs",
            title_fontsize=8,
            **LEGEND,
        )
        zoom.set_title(
            f"Zoom: the rungs that never hold more than {pct(RARE, 0)} of the worlds, "
            "stacked as above on a stretched scale",
            loc="left",
            fontsize=9.5,
        )
    if own:
        footnote(fig, [footnote_text(summary)])
    return fig


def plot_time_to_event(
    result: Any, ax: Axes | None = None, rungs: Sequence[str] | None = None
) -> Figure:
    """Step lines: share of worlds that have reached each key rung (or higher) by each date."""
    summary, daily = _time_frame(result)
    ladder = summary.get("ladder", [])
    key = list(rungs or summary.get("key_rungs") or [r["id"] for r in ladder[1:]])
    reached = data.time_to_event(daily, key)
    fig, ax, own = new_figure(ax, (10.5, 5.4))
    colours = ladder_colours(ladder)
    names = rung_names(summary)
    x, v = steps(reached)
    last_date = reached.index[-1]
    for k, rid in enumerate(reached.columns):
        final = v[-1, k]
        label = f"{names.get(rid, rid)}: {pct(final)} by {last_date:%d %b}"
        ls = _LINESTYLES[k % len(_LINESTYLES)]
        colour = colours.get(rid, BAND_COLOUR)
        ax.plot(
            x, v[:, k], drawstyle="steps-post", color=colour, lw=2, ls=ls, label=label, zorder=3
        )
    first, last = pd.Timestamp(x[0]), pd.Timestamp(x[-1])
    date_axis(ax, first, last)
    rows = mark_events(ax, summary.get("events", []), first, last)
    top = float(np.nanmax(v)) if v.size else 0.0
    ax.set_ylim(0, 1.0 if top > 0.6 else max(0.05, top * 1.15))
    percent_axis(ax.yaxis)
    ax.set_ylabel("share of worlds that reached the rung (%)")
    ax.grid(axis="y", color="0.9", zorder=0)
    ax.legend(title="rung reached (or a higher one)", title_fontsize=8, **LEGEND)
    title(
        ax,
        "Time to escalation: share of worlds that reached each key rung, by date",
        summary,
        events_pad(rows),
    )
    if own:
        footnote(fig, [footnote_text(summary)])
    return fig


# -- attribution -----------------------------------------------------------------
LIFT_CMAP = "BrBG"
"""Lift over all worlds: brown where a rule fired less often in an outcome's worlds, teal
where more often (a diverging palette, not the severity one: it colours rules, not outcomes)."""
LIFT_SPAN = 2.0
"""The colour scale runs from 1/4 to 4 times as often (log2 lift from -2 to +2), cut there."""


def attribution_title(n_rows: int) -> str:
    """What the attribution chart shows (its title, and the report's heading of its table)."""
    return (
        "In what share of the worlds ending in each outcome each rule fired "
        f"(the {n_rows} rules that separate outcomes most)"
    )


def plot_attribution(result: Any, ax: Axes | None = None, top: int = 15) -> Figure:
    """Heatmap rule x outcome: the share of the worlds of each outcome in which a rule fired.

    The number in a cell is that share (the first column: over all worlds);
    its colour is the *lift*, the share in the outcome's worlds divided by
    the share in all worlds, so a rule that fired as often whatever the
    outcome is white. Rules that separate no outcome (within each outcome's
    95% Wilson interval, :func:`sim.plots.data.separates`) are left out and
    counted in the footnote; each column says how many worlds it holds.
    """
    result = as_tables(result)
    summary = need(result, "summary", "summary.json")
    rules = need(result, "rules", "rules.csv")
    outcomes = summary["outcomes"]
    att = data.attribution(rules, outcomes, top=top, hide_flat=True)
    n_rows, n_cols = len(att.matrix), len(outcomes) + 1
    fig, ax, own = new_figure(ax, (4.8 + 1.1 * n_cols, 2.9 + 0.36 * max(n_rows, 2)))
    what = attribution_title(n_rows)
    flat_note = (
        f"{len(att.flat)} rules fired about as often whatever the outcome (within each "
        f"outcome's 95% interval) and are not shown: {', '.join(att.flat)}."
        if att.flat
        else ""
    )
    if n_rows == 0:
        empty(ax, "no rule fired more or less often in one outcome than in all worlds")
        title(ax, what, summary)
        if own:
            footnote(fig, [x for x in (flat_note, footnote_text(summary)) if x])
        return fig
    shares = np.column_stack([att.rules["share_fired"].to_numpy(float), att.matrix.to_numpy(float)])
    lift = np.column_stack([np.ones(n_rows), att.lift.to_numpy(float)])
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.clip(np.log2(lift), -LIFT_SPAN, LIFT_SPAN)
    logs[np.isnan(shares)] = np.nan
    cmap = colormaps[LIFT_CMAP].with_extremes(bad="0.93")
    image = ax.imshow(
        np.ma.masked_invalid(logs), cmap=cmap, vmin=-LIFT_SPAN, vmax=LIFT_SPAN, aspect="auto"
    )
    for i in range(n_rows):
        for j in range(n_cols):
            v, c = shares[i, j], logs[i, j]
            text = "no worlds" if np.isnan(v) else pct(v, 0)
            colour = "0.45" if np.isnan(c) else ink(to_hex(cmap((c + LIFT_SPAN) / (2 * LIFT_SPAN))))
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)
    ax.axvline(0.5, color="white", lw=5)
    labels = [
        f"{r} ({a})" if a else r for r, a in zip(att.matrix.index, att.rules["actor"], strict=True)
    ]
    ax.set_yticks(range(n_rows), labels, fontsize=8.5)
    table = data.outcome_table(summary).set_index("id")
    total = int(summary.get("runs") or 0)

    def worlds(n: int | None) -> str:
        return "" if n is None else f"\n{n:,} worlds"

    col_labels = [f"all worlds{worlds(total or None)}"] + [
        "\n".join(textwrap.wrap(str(table.loc[o, "name"]), 14)) + worlds(att.worlds.get(o))
        for o in att.matrix.columns
    ]
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xticks(range(n_cols), col_labels, fontsize=8)
    ax.tick_params(length=0)
    ax.tick_params(axis="x", pad=9)
    colours = outcome_colours(outcomes)
    for j, o in enumerate(att.matrix.columns, start=1):
        ax.add_patch(Rectangle((j - 0.45, -0.5 - 0.22), 0.9, 0.18, color=colours[o], clip_on=False))
    ax.set_xlabel("outcome at the horizon (least to most severe)", fontsize=9, labelpad=8)
    ax.set_ylabel("rule (actor)")
    ax.spines[:].set_visible(False)
    bar = fig.colorbar(image, ax=ax, shrink=0.7, ticks=[-2, -1, 0, 1, 2])
    bar.ax.set_yticklabels(["¼× or less", "½×", "as often", "2×", "4× or more"])
    bar.set_label("fired how often, compared with all worlds (lift)", fontsize=8.5)
    title(ax, what, summary)
    if own:
        footnote(
            fig,
            [
                "Number: of the worlds that ended in this outcome, the share in which the rule "
                "fired at least once (first column: of all worlds). Colour: that share divided",
                "by the share over all worlds. Rules ordered by influence, the largest minus "
                "smallest share across outcomes. An association within the model, not a cause.",
                *textwrap.wrap(flat_note, 150),
                footnote_text(summary),
            ],
        )
    return fig


# -- drivers ----------------------------------------------------------------------
def _plots_dir(tables: data.Tables) -> Path:
    """``plots/`` of the folder the tables were read from (a ``latest`` already followed)."""
    return Path(tables.folder or ".") / "plots"


def draw_batch_plots(
    folder: str | Path, formats: Sequence[str] = FORMATS, dpi: int = DPI
) -> list[Path]:
    """Draw every chart of a batch folder into ``<folder>/plots/``.

    Writes ``outcomes``, ``flags`` (if the scenario has flags), ``fan``,
    ``occupancy``, ``time_to_event``, ``attribution``, ``drivers_tornado`` and
    ``drivers_dependence`` (from ``drivers.csv``, else ``runs.csv``; neither
    if the folder has neither), each as PNG and SVG.

    Returns:
        The paths written, in that order.
    """
    return _batch_plots(data.load_tables(folder), formats, dpi)


def _batch_plots(tables: data.Tables, formats: Sequence[str], dpi: int) -> list[Path]:
    out = _plots_dir(tables)
    charts: list[tuple[str, Any]] = [("outcomes", plot_outcomes)]
    if tables.summary and tables.summary.get("flags"):
        charts.append(("flags", plot_flags))
    charts += [
        ("fan", plot_fan),
        ("occupancy", plot_occupancy),
        ("time_to_event", plot_time_to_event),
        ("attribution", plot_attribution),
    ]
    paths: list[Path] = []
    for stem, draw in charts:
        paths += save_figure(draw(tables), out, stem, formats, dpi)
    return paths + draw_drivers_plots(tables, out, formats, dpi)


def draw_sweep_plots(
    folder: str | Path, formats: Sequence[str] = FORMATS, dpi: int = DPI
) -> list[Path]:
    """Draw the charts of a sweep folder into ``<folder>/plots/``.

    Writes ``sweep``: with one varied path, every outcome against the path;
    with two or more, one heatmap per outcome over the first two paths
    (pooled over the others), all in one figure on one colour scale.
    """
    return _sweep_plots(data.load_tables(folder), formats, dpi)


def _sweep_plots(tables: data.Tables, formats: Sequence[str], dpi: int) -> list[Path]:
    return save_figure(plot_sweep(tables), _plots_dir(tables), "sweep", formats, dpi)


def draw_compare_plots(
    folder: str | Path, formats: Sequence[str] = FORMATS, dpi: int = DPI
) -> list[Path]:
    """Draw ``compare`` (A and B side by side, and their differences) into ``<folder>/plots/``.

    Also ``compare_flags`` when the comparison covers flags.
    """
    return _compare_plots(data.load_tables(folder), formats, dpi)


def _compare_plots(tables: data.Tables, formats: Sequence[str], dpi: int) -> list[Path]:
    out = _plots_dir(tables)
    paths = save_figure(plot_compare(tables), out, "compare", formats, dpi)
    if (tables.compare or {}).get("flag_diffs"):
        paths += save_figure(plot_compare(tables, what="flags"), out, "compare_flags", formats, dpi)
    return paths


def draw_plots(folder: str | Path, formats: Sequence[str] = FORMATS, dpi: int = DPI) -> list[Path]:
    """Draw the charts that suit the folder's kind (batch, sweep, compare, sensitivity,
    knockouts, score or forecast); a batch conditioned with ``--as-of`` also gets
    ``posterior``."""
    opened = load_results(folder)
    if isinstance(opened, SensitivityResult):
        return draw_sensitivity_plots(opened, formats, dpi)
    if isinstance(opened, KnockoutsResult):
        return draw_knockouts_plots(opened, formats, dpi)
    if isinstance(opened, ScoreResult):
        return draw_score_plots(opened, formats, dpi)
    if isinstance(opened, ForecastResult):
        return draw_forecast_plots(opened, formats, dpi)
    tables = data.tables_of(opened)
    draw = {"batch": _batch_plots, "sweep": _sweep_plots, "compare": _compare_plots}
    if tables.kind not in draw:
        raise ResultsError(f"{folder}: cannot draw charts for a {tables.kind!r} folder")
    paths = draw[tables.kind](tables, formats, dpi)
    if isinstance(opened, BatchResult):
        paths += draw_posterior_plots(opened, formats, dpi)
    return paths
