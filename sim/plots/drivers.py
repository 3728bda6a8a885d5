"""Charts of the drivers: which drawn parameters move each outcome and key flag.

Two charts of ``drivers.csv`` (:mod:`sim.results.drivers`), one panel per
output:

* :func:`plot_tornado`: for each output, its top parameters by ``|swing|``,
  a bar from the share in the parameter's bottom bin to the share in its
  top bin (for a choice of words: from its lowest to its highest option),
  with the Wilson 95% interval of each end, around the output's share over
  all worlds;
* :func:`plot_dependence`: for each output, the share by bin of each of its
  top parameters, with Wilson 95% bands: the shape behind each swing.

An output with the same count in every bin as an earlier one (a flag raised
in exactly the worlds of an outcome) is drawn once, and named in the
footnote.
Outputs that almost never or almost always happen (under
:data:`MIN_SHARE` or over ``1 - MIN_SHARE`` of the worlds) are left out:
a bin of them holds too few worlds to say anything. :func:`tornado_table`
and :func:`dependence_table` are the numbers each chart draws.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.errors import ResultsError
from sim.plots.style import (
    BAND_COLOUR,
    NOTE_COLOUR,
    footnote_text,
    pct,
    percent_axis,
    save_figure,
    signed_points,
    wrapped,
)
from sim.results.drivers import NOT_DRAWN, drivers
from sim.results.reader import BatchResult, load_results

TOP = 8
"""Parameters per output on the tornado chart."""

TOP_DEPENDENCE = 3
"""Parameters per output on the partial-dependence chart."""

MIN_SHARE = 0.01
"""Outputs in fewer than this share of the worlds (or in all but this share) are not drawn."""

MAX_OUTPUTS = 6
"""Outputs drawn by default: the outcomes, then the flags, with the largest swing, so the chart
stays one readable page (and quick to draw); ``outputs=`` picks others, and the footnote names
the ones left out."""

RISES, FALLS, OPTIONS = "#2f6b9a", "#b5651d", "#7a6aa8"
"""Bar colours: share higher in the top bin, lower in it, and a choice's options (no order)."""


# -- the table ------------------------------------------------------------------------
def drivers_of(result: Any) -> tuple[pd.DataFrame, Mapping[str, Any]]:
    """``drivers.csv`` and ``summary.json`` of a batch folder (path, result or tables).

    A folder written before batches had ``drivers.csv`` gets it rebuilt from
    ``runs.csv`` (:func:`sim.results.drivers.drivers`).

    Raises:
        ResultsError: not a batch folder, or it has neither ``drivers.csv`` nor ``runs.csv``.
    """
    found = _drivers_or_none(result)
    if found is None:
        raise ResultsError(
            f"{result.folder if hasattr(result, 'folder') else result}: neither drivers.csv nor "
            "runs.csv, so the drivers cannot be shown"
        )
    return found


def _drivers_or_none(result: Any) -> tuple[pd.DataFrame, Mapping[str, Any]] | None:
    """:func:`drivers_of`, or None for a batch folder with neither table."""
    if isinstance(result, BatchResult):
        return _of_folder(result)
    table = getattr(result, "drivers", None)
    summary = getattr(result, "summary", None)
    if isinstance(table, pd.DataFrame) and isinstance(summary, Mapping):
        return table, summary
    folder = result if isinstance(result, str | Path) else getattr(result, "folder", None)
    if folder is None:
        raise ResultsError("the drivers charts need a batch results folder")
    return _of_folder(load_results(folder))


def _of_folder(opened: Any) -> tuple[pd.DataFrame, Mapping[str, Any]] | None:
    if not isinstance(opened, BatchResult):
        raise ResultsError(f"{opened.folder}: a {opened.kind!r} folder has no drivers")
    if opened.has_drivers:
        return opened.drivers, opened.summary
    if not opened.has_runs:
        return None
    return drivers(opened), opened.summary


def main_outputs(table: pd.DataFrame, outputs: Sequence[str] | None = None) -> list[str]:
    """The outputs to draw, in the table's order: those given, else the ones not too rare.

    Ids are matched to the ``output`` column; an outcome and a flag of the
    same id are both kept. Without ``outputs``, an output is drawn when its
    share of the worlds lies between :data:`MIN_SHARE` and ``1 - MIN_SHARE``.
    """
    first = table.drop_duplicates(["kind", "output"])
    keys = list(zip(first["kind"], first["output"], strict=True))
    if outputs is not None:
        known = set(first["output"])
        unknown = [o for o in outputs if o not in known]
        if unknown:
            raise ResultsError(
                f"no output {unknown[0]!r} in drivers.csv; expected one of {sorted(known)}"
            )
        return [f"{k}:{o}" for k, o in keys if o in outputs]
    drawn = _candidates(table)
    if len(drawn) <= MAX_OUTPUTS:
        return drawn
    swing = table.assign(key=_key(table)).groupby("key")["swing"].agg(lambda x: x.abs().max())
    swing = swing.reindex(drawn).fillna(0)
    # Outcomes first (they answer the scenario's question), then flags, each by swing.
    ranked = sorted(drawn, key=lambda k: (not k.startswith("outcome:"), -swing[k]))
    kept = set(ranked[:MAX_OUTPUTS])
    return [k for k in drawn if k in kept]


def _candidates(table: pd.DataFrame) -> list[str]:
    """The outputs worth drawing, in the table's order: neither too rare nor another's twin."""
    first = table.drop_duplicates(["kind", "output"])
    overall = _overall(table)
    twins = same_counts(table)
    keys = (f"{k}:{o}" for k, o in zip(first["kind"], first["output"], strict=True))
    return [k for k in keys if MIN_SHARE <= overall[k] <= 1 - MIN_SHARE and k not in twins]


def same_counts(table: pd.DataFrame) -> dict[str, str]:
    """Outputs with the same count in every bin of every parameter as an earlier one.

    Such an output (a flag raised exactly in the worlds of an outcome, say)
    would draw the same panel twice; it maps to the first output with its
    counts (``kind:output`` keys).
    """
    t = table.assign(key=_key(table))
    seen: dict[tuple[int, ...], str] = {}
    twins: dict[str, str] = {}
    for key, part in t.groupby("key", sort=False):
        counts = tuple(int(c) for c in part["count"])
        if counts in seen:
            twins[str(key)] = seen[counts]
        else:
            seen[counts] = str(key)
    return twins


def _key(table: pd.DataFrame) -> pd.Series:
    return table["kind"].astype(str) + ":" + table["output"].astype(str)


def _overall(table: pd.DataFrame) -> dict[str, float]:
    """Each output's share over all worlds (the bins of any one parameter add up to it)."""
    first = table[table["parameter"] == table["parameter"].iloc[0]]
    sums = first.groupby(_key(first), sort=False)[["count", "worlds"]].sum()
    return {k: float(r["count"] / r["worlds"]) for k, r in sums.iterrows()}


def tornado_table(
    table: pd.DataFrame, outputs: Sequence[str] | None = None, top: int = TOP
) -> pd.DataFrame:
    """One row per output and top parameter, as the tornado chart draws it.

    Columns: ``key`` (``kind:output``), ``output_name``, ``overall`` (share
    over all worlds), ``parameter``, ``parameter_name``, ``rank``, ``binning``,
    ``low_label``, ``low``, ``low_lo``, ``low_hi`` (the bottom bin, or a
    choice's lowest option, with its Wilson interval), the same for ``high``,
    ``swing``, ``swing_lo`` and ``swing_hi``.
    """
    keys = main_outputs(table, outputs)
    overall = _overall(table)
    t = table.assign(key=_key(table))
    rows: list[dict[str, Any]] = []
    for key in keys:
        part = t[(t["key"] == key) & (t["binning"] != NOT_DRAWN) & (t["worlds"] > 0)]
        ranked = part[part["rank"] <= top]
        for pid, bins in ranked.groupby("parameter", sort=False):
            if bins["binning"].iloc[0] == "option":
                low, high = bins.loc[bins["share"].idxmin()], bins.loc[bins["share"].idxmax()]
            else:
                low, high = bins.iloc[0], bins.iloc[-1]
            rows.append(
                {
                    "key": key,
                    "output_name": low["output_name"],
                    "overall": overall[key],
                    "parameter": pid,
                    "parameter_name": low["parameter_name"],
                    "rank": int(low["rank"]),
                    "binning": low["binning"],
                    "low_label": low["bin_label"],
                    "low": low["share"],
                    "low_lo": low["share_lo"],
                    "low_hi": low["share_hi"],
                    "high_label": high["bin_label"],
                    "high": high["share"],
                    "high_lo": high["share_lo"],
                    "high_hi": high["share_hi"],
                    "swing": low["swing"],
                    "swing_lo": low["swing_lo"],
                    "swing_hi": low["swing_hi"],
                }
            )
    out = pd.DataFrame(rows)
    return out.sort_values(["key", "rank"], key=_in_order(keys)) if len(out) else out


def _in_order(keys: Sequence[str]) -> Any:
    """A sort key keeping outputs in ``keys`` order and ranks ascending."""
    place = {k: i for i, k in enumerate(keys)}
    return lambda col: col.map(place) if col.name == "key" else col


def dependence_table(
    table: pd.DataFrame, outputs: Sequence[str] | None = None, top: int = TOP_DEPENDENCE
) -> pd.DataFrame:
    """The rows of ``drivers.csv`` the partial-dependence chart draws: each output's
    top ``top`` parameters, every bin, with ``key`` (``kind:output``) added."""
    keys = main_outputs(table, outputs)
    t = table.assign(key=_key(table))
    part = t[t["key"].isin(keys) & (t["binning"] != NOT_DRAWN) & (t["rank"] <= top)]
    return part.sort_values(["key", "rank", "bin"], key=_in_order(keys)).reset_index(drop=True)


# -- drawing ---------------------------------------------------------------------------
def _frame(
    rows: int, width: float, row_height: float, strip: float = 0.35
) -> tuple[Figure, Any, Any, Any]:
    """A figure in three subfigures: a strip for the legend, the panels, the notes.

    Notes written as a footnote would not push subfigures up, and a legend
    above the panels would run into the two-line heading; each gets room
    of its own instead.
    """
    body = row_height * rows
    fig = Figure(figsize=(width, 0.75 + strip + body + 1.2), layout="constrained")
    top, panels, notes = fig.subfigures(3, 1, squeeze=False, height_ratios=[strip, body, 0.6])[:, 0]
    return fig, top, panels, notes


def _nothing_to_explain() -> Figure:
    fig = Figure(figsize=(8, 2.5), layout="constrained")
    fig.text(0.5, 0.5, "no outcome or key flag to explain", ha="center", color="0.4")
    return fig


def _write_notes(notes: Any, lines: Sequence[str]) -> None:
    notes.text(0.008, 0.95, "\n".join(lines), ha="left", va="top", fontsize=7.5, color=NOTE_COLOUR)


def _heading(fig: Figure, what: str, summary: Mapping[str, Any]) -> None:
    scenario = summary.get("title") or summary.get("scenario") or ""
    fig.suptitle(f"{what}\n{scenario}", x=0.01, ha="left", fontsize=11.5)


def _panel_title(ax: Axes, name: str, kind: str, overall: float) -> None:
    what = "outcome" if kind == "outcome" else "flag"
    ax.set_title(
        f"{wrapped(name, 48, 1)}  ({what}, {pct(overall)} of worlds)",
        loc="left",
        fontsize=9.5,
    )


def _left_out(table: pd.DataFrame, keys: Sequence[str]) -> str:
    overall = _overall(table)
    names = table.assign(key=_key(table)).drop_duplicates("key").set_index("key")["output_name"]
    twins = {k: v for k, v in same_counts(table).items() if k not in keys and v in keys}
    same = "; ".join(f"{names[k]}: the same worlds as {names[v]}" for k, v in twins.items())
    gone_keys = [
        k
        for k, v in overall.items()
        if k not in keys and k not in twins and not MIN_SHARE <= v <= 1 - MIN_SHARE
    ]
    gone = [f"{names[k]} ({pct(overall[k])})" for k in gone_keys]
    if same:
        same = f"Not drawn again, with the same count in every bin: {same}. "
    capped = list(keys) == main_outputs(table)  # the default choice, not the caller's
    beyond = [names[k] for k in _candidates(table) if capped and k not in keys]
    if beyond:
        same += (
            f"Left out to keep the chart to {MAX_OUTPUTS} outputs (outcomes first, then the "
            "flags with the largest swing) "
            "(drivers.csv holds them all): " + ", ".join(beyond) + ". "
        )
    if gone:
        same += (
            f"Not shown (in under {pct(MIN_SHARE, 0)} or over {pct(1 - MIN_SHARE, 0)} of worlds, "
            "too few in a bin to tell): " + ", ".join(gone) + "."
        )
    return same


def plot_tornado(
    result: Any, outputs: Sequence[str] | None = None, top: int = TOP, cols: int = 2
) -> Figure:
    """Small multiples, one per output: its top parameters by |swing| as tornado bars.

    Each bar runs from the output's share in the parameter's bottom bin
    (hollow end) to its share in the top bin (filled end); for a choice of
    words, from its lowest option to its highest. Whiskers are the Wilson 95%
    intervals of the two shares; the dashed line is the share over all
    worlds; the swing and its Newcombe 95% interval are written on the right.
    A paler bar's swing interval holds 0.
    """
    table, summary = drivers_of(result)
    data = tornado_table(table, outputs, top)
    keys = list(dict.fromkeys(data["key"])) if len(data) else []
    if not keys:
        return _nothing_to_explain()
    cols = min(cols, len(keys))
    rows = math.ceil(len(keys) / cols)
    fig, strip, panels, notes = _frame(rows, 7.8 * cols, 0.38 * top + 0.9)
    axes = panels.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in axes[len(keys) :]:
        ax.set_visible(False)
    for ax, key in zip(axes[: len(keys)], keys, strict=True):
        _tornado_panel(ax, data[data["key"] == key], top)
    _heading(
        fig,
        "What moves each outcome and key flag: its share of worlds in the bottom and the top "
        f"bin of each parameter's draws (top {top} parameters by swing)",
        summary,
    )
    handles = [
        Patch(color=RISES, label="share higher in the top bin"),
        Patch(color=FALLS, label="share lower in the top bin"),
        Patch(color=OPTIONS, label="choice: lowest to highest option"),
        Patch(color=RISES, alpha=0.35, label="swing's 95% interval holds 0"),
        Line2D([], [], marker="o", mfc="white", mec="0.2", ls="", label="bottom bin"),
        Line2D([], [], marker="o", mfc="0.2", mec="0.2", ls="", label="top bin"),
        Line2D([], [], color="0.3", ls="--", label="share over all worlds"),
    ]
    strip.legend(handles=handles, loc="center", ncols=7, frameon=False, fontsize=8)
    note = (
        "Bins are quintiles of the draws (whole numbers with few values: by value; choices: by "
        "option). Whiskers: Wilson 95% intervals; swing: Newcombe 95% interval. A swing shows "
        "what the worlds in a bin have in common, not what changing the parameter alone does."
    )
    _write_notes(notes, [*_notes_lines(table, keys, note), footnote_text(summary)])
    return fig


def _tornado_panel(ax: Axes, rows: pd.DataFrame, top: int) -> None:
    n = len(rows)
    y = np.arange(n)[::-1].astype(float)
    overall = float(rows["overall"].iloc[0])
    low, high = rows["low"].to_numpy(float), rows["high"].to_numpy(float)
    choice = (rows["binning"] == "option").to_numpy()
    colours = np.where(choice, OPTIONS, np.where(high >= low, RISES, FALLS))
    clear = ~((rows["swing_lo"] <= 0) & (rows["swing_hi"] >= 0)).to_numpy()
    ax.barh(
        y,
        np.abs(high - low),
        left=np.minimum(low, high),
        height=0.6,
        color=[to_rgba(c, 1.0 if k else 0.35) for c, k in zip(colours, clear, strict=True)],
    )
    # One call per end (not per bar): the chart has a hundred bars or more.
    for end, filled in (("low", False), ("high", True)):
        share = rows[end].to_numpy(float)
        lo, hi = rows[f"{end}_lo"].to_numpy(float), rows[f"{end}_hi"].to_numpy(float)
        ax.errorbar(
            share,
            y,
            xerr=[share - lo, hi - share],
            fmt="o",
            ms=4.5,
            mec="0.15",
            mfc="0.15" if filled else "white",
            ecolor="0.15",
            elinewidth=0.9,
            capsize=2.5,
            zorder=3,
        )
    right = max(0.05, float(np.nanmax(rows[["low_hi", "high_hi"]].to_numpy(float))))
    for yi, r in zip(y, rows.itertuples(), strict=True):
        text = (
            f"{signed_points(r.swing, 1)} pp "
            f"[{signed_points(r.swing_lo, 1)}, {signed_points(r.swing_hi, 1)}]"
        )
        if r.binning == "option":
            versus = f"{r.high_label} vs {r.low_label}".replace("_", " ")
            text += "\n" + wrapped(versus, 28, 2)
        ax.text(
            1.01,
            yi,
            text,
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=7.5,
            clip_on=False,
        )
    ax.axvline(overall, color="0.3", ls="--", lw=0.9, zorder=1)
    ax.set_yticks(y, [wrapped(str(s), 30, 3) for s in rows["parameter_name"]], fontsize=7.5)
    ax.set_ylim(-0.6, max(n, top) - 0.4)
    ax.set_xlim(0, min(1.0, right * 1.06))
    percent_axis(ax.xaxis)
    ax.tick_params(axis="x", labelsize=7.5)
    ax.grid(axis="x", color="0.9", zorder=0)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    key = str(rows["key"].iloc[0])
    _panel_title(ax, str(rows["output_name"].iloc[0]), key.split(":", 1)[0], overall)


def plot_dependence(
    result: Any, outputs: Sequence[str] | None = None, top: int = TOP_DEPENDENCE
) -> Figure:
    """Small multiples: per output (rows), its share by bin of each of its top parameters.

    Each panel's x axis is the parameter's bins (quintile ranges, values or
    options), named by the parameter; points are shares with Wilson 95%
    bands, the dashed line the share over all worlds. The y axis starts at 0
    and is shared along a row.
    """
    table, summary = drivers_of(result)
    data = dependence_table(table, outputs, top)
    keys = list(dict.fromkeys(data["key"])) if len(data) else []
    if not keys:
        return _nothing_to_explain()
    overall = _overall(table)
    fig, _, panels, foot = _frame(len(keys), 4.0 * top, 2.3, strip=0.01)
    grid = panels.subplots(len(keys), top, squeeze=False)
    for row, key in zip(grid, keys, strict=True):
        part = data[data["key"] == key]
        params = list(dict.fromkeys(part["parameter"]))
        ceiling = min(1.0, max(0.05, float(part["share_hi"].max()) * 1.08))
        name, kind = str(part["output_name"].iloc[0]), key.split(":", 1)[0]
        what = "outcome" if kind == "outcome" else "flag"
        # The row's title spans its panels: kept out of the layout, which
        # would otherwise widen the first column to fit it.
        heading = row[0].set_title(
            f"{name}  ({what}, {pct(overall[key])} of worlds)", loc="left", fontsize=9.5
        )
        heading.set_in_layout(False)
        for ax in row:
            ax.set_title(" ", fontsize=9.5)  # room above every panel of the row
        for j, ax in enumerate(row):
            if j >= len(params):
                ax.set_visible(False)
                continue
            _dependence_panel(ax, part[part["parameter"] == params[j]], overall[key], ceiling)
            if j == 0:
                ax.set_ylabel("share of worlds", fontsize=8)
    _heading(
        fig,
        "How each outcome and key flag changes along its top parameters: share of worlds by "
        "bin of the parameter's draws, with Wilson 95% bands",
        summary,
    )
    note = (
        "Each row is an outcome or key flag; its panels are its top parameters by swing, left to "
        "right. Dashed: share over all worlds. Bins: quintiles of the draws, values or options."
    )
    _write_notes(foot, [*_notes_lines(table, keys, note), footnote_text(summary)])
    return fig


def _notes_lines(table: pd.DataFrame, keys: Sequence[str], note: str) -> list[str]:
    return [*textwrap.wrap(_left_out(table, keys), 190), *textwrap.wrap(note, 190)]


def _dependence_panel(ax: Axes, bins: pd.DataFrame, overall: float, ceiling: float) -> None:
    x = np.arange(len(bins))
    share, lo, hi = (bins[c].to_numpy(float) for c in ("share", "share_lo", "share_hi"))
    if bins["binning"].iloc[0] == "option":
        ax.bar(x, share, width=0.55, color=OPTIONS, alpha=0.85)
        ax.errorbar(
            x,
            share,
            yerr=[share - lo, hi - share],
            fmt="none",
            ecolor="0.15",
            elinewidth=0.9,
            capsize=3,
        )
    else:
        ax.fill_between(x, lo, hi, color=BAND_COLOUR, alpha=0.18, lw=0)
        ax.plot(x, share, "o-", color=BAND_COLOUR, ms=3.5, lw=1.4)
    ax.axhline(overall, color="0.3", ls="--", lw=0.8)
    labels = [str(s) for s in bins["bin_label"]]
    if bins["binning"].iloc[0] == "quantile":
        labels = [s.replace("–", "–\n", 1) for s in labels]
    else:
        labels = [wrapped(s.replace("_", " "), 14) for s in labels]
    ax.set_xticks(x, labels, fontsize=6.8)
    ax.set_xlim(-0.5, len(bins) - 0.5)
    ax.set_ylim(0, ceiling)
    percent_axis(ax.yaxis)
    ax.tick_params(axis="y", labelsize=7.5)
    ax.grid(axis="y", color="0.92")
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    how = {"quantile": "fifths of the draws", "value": "by value", "option": "by option"}
    binning = str(bins["binning"].iloc[0])
    name = str(bins["parameter_name"].iloc[0])
    swing = signed_points(float(bins["swing"].iloc[0]), 1)
    ax.set_xlabel(
        f"{wrapped(name, 52)}\n({how.get(binning, binning)}; swing {swing} pp)",
        fontsize=7.5,
        color="0.1",
    )


# -- saving --------------------------------------------------------------------------
STEMS = ("drivers_tornado", "drivers_dependence")
"""File stems of the two charts under ``plots/``."""


def draw_drivers_plots(result: Any, out: Path, formats: Sequence[str], dpi: int) -> list[Path]:
    """Save the tornado and partial-dependence charts of a batch folder into ``out``.

    A folder with neither ``drivers.csv`` nor ``runs.csv`` (written before
    batches counted drivers, with ``--no-runs-table``) gets neither chart,
    and so does a scenario that draws no parameter (its ``drivers.csv`` has
    no rows: nothing but chance varies between its worlds).
    """
    found = _drivers_or_none(result)
    if found is None or found[0].empty:
        return []
    table, summary = found
    source = _Drivers(table, summary)
    paths: list[Path] = []
    for stem, draw in zip(STEMS, (plot_tornado, plot_dependence), strict=True):
        paths += save_figure(draw(source), out, stem, formats, dpi)
    return paths


class _Drivers:
    """The two tables the charts read, computed once for both."""

    def __init__(self, drivers: pd.DataFrame, summary: Mapping[str, Any]):
        self.drivers = drivers
        self.summary = summary
