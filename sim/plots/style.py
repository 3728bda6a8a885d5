"""The look shared by every chart: colours, titles, footnotes, date axes, events.

Keeping these in one place is what makes the charts consistent: an outcome
has the same colour on every chart, every saved chart names its scenario,
number of worlds and seed, and every time axis marks the scheduled events
the same way.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib import colormaps, rc_context
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine, TightLayoutEngine
from matplotlib.ticker import FuncFormatter

from sim.atomic import atomic_file
from sim.errors import ResultsError
from sim.plots import data

SEQUENTIAL = "YlOrRd"
"""Colormap for rungs and outcomes without a colour of their own (calm → severe)."""

BAND_COLOUR = "#25456e"
EVENT_COLOUR = "0.25"
NOTE_COLOUR = "0.35"
LEGEND: dict[str, Any] = {
    "loc": "upper left",
    "bbox_to_anchor": (1.01, 1.0),
    "frameon": False,
    "fontsize": 8,
}


# -- inputs ---------------------------------------------------------------------
def as_tables(result: Any) -> Any:
    """A results folder path becomes :class:`~sim.plots.data.Tables`; anything else passes."""
    if isinstance(result, str | os.PathLike):
        return data.load_tables(Path(result))
    return result


def need(result: Any, name: str, file: str) -> Any:
    """``result.name``, or a message naming the missing table ``file`` when it is absent."""
    value = getattr(result, name, None)
    if value is None:
        raise ResultsError(f"this chart needs the {file} table (result.{name}), which is missing")
    return value


# -- colours --------------------------------------------------------------------
def sequential(n: int) -> list[str]:
    """``n`` colours from calm to severe; the palest end is skipped so bars stay visible."""
    cmap = colormaps[SEQUENTIAL]
    if n <= 1:
        return [to_hex(cmap(0.6))]
    return [to_hex(cmap(v)) for v in np.linspace(0.25, 1.0, n)]


def ladder_colours(ladder: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Rung id -> colour: the rung's own colour, else its place on the sequential map."""
    fallback = sequential(len(ladder))
    return {r["id"]: r.get("colour") or fallback[i] for i, r in enumerate(ladder)}


def outcome_colours(outcomes: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Outcome id -> colour (given in the scenario, else by severity), the same on every chart."""
    fallback = sequential(len(outcomes))
    return {o["id"]: o.get("colour") or fallback[i] for i, o in enumerate(outcomes)}


def ink(colour: str) -> str:
    """Black or white, whichever reads better on ``colour``."""
    r, g, b = (int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else "white"


# -- text -------------------------------------------------------------------------
def pct(x: float, digits: int = 1) -> str:
    """A share as a percentage; tiny non-zero shares do not round to a misleading 0."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if x == 0:
        return "0%"
    floor = 10.0**-digits / 100
    if 0 < x < floor:
        return f"<{floor * 100:.{digits}f}%"
    if x > 1 - floor and x < 1:
        return f">{(1 - floor) * 100:.{digits}f}%"
    return f"{x * 100:.{digits}f}%"


def _percent_tick(v: float, _pos: Any = None) -> str:
    text = f"{v * 100:.2f}".rstrip("0").rstrip(".")
    return ("0" if text in ("-0", "") else text) + "%"


PERCENT = FuncFormatter(_percent_tick)
"""Tick labels for shares: 0.25 -> "25%", 0.0175 -> "1.75%" (no needless decimals)."""


def percent_axis(axis: Any) -> None:
    """Label ``axis``'s ticks as percentages (shares run 0 to 1)."""
    axis.set_major_formatter(PERCENT)


def footnote_text(summary: Mapping[str, Any], worlds: int | None = None) -> str:
    """``scenario · N worlds · seed S`` for the bottom of a chart."""
    runs = worlds if worlds is not None else summary.get("runs")
    parts = [str(summary.get("scenario", "scenario"))]
    if runs is not None:
        parts.append(f"{int(runs):,} worlds")
    if summary.get("seed") is not None:
        parts.append(f"seed {summary['seed']}")
    return " · ".join(parts)


def figure_of(ax: Axes) -> Figure:
    """The figure ``ax`` is drawn in (the top one when the axes sit in a subfigure)."""
    fig = ax.get_figure(root=True)
    if fig is None:
        raise ValueError("these axes belong to no figure")
    return fig


def new_figure(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes, bool]:
    """The caller's axes and their figure, or a new figure of ``size`` inches with one axes.

    The flag says whether the figure is new (then the chart adds its footnote and layout).
    """
    if ax is not None:
        return figure_of(ax), ax, False
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot(), True


def footnote(fig: Figure, lines: Sequence[str]) -> None:
    """Small grey lines at the bottom-left; the layout leaves room for them."""
    text = "\n".join(lines)
    fig.text(0.008, 0.008, text, ha="left", va="bottom", fontsize=7.5, color=NOTE_COLOUR)
    height = (0.06 + 0.15 * len(lines)) / fig.get_figheight()
    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine | TightLayoutEngine):
        engine.set(rect=(0, height, 1, 1 - height))


def title(ax: Axes, what: str, summary: Mapping[str, Any], pad: float = 6.0) -> None:
    """What the chart shows, then the scenario's title on a second line."""
    scenario = summary.get("title") or summary.get("scenario") or ""
    fig = figure_of(ax)
    chars = max(40, int(ax.get_position().width * fig.get_figwidth() * 72 / (10.5 * 0.55)))
    lines = [*textwrap.wrap(what, chars), *textwrap.wrap(str(scenario), chars)]
    ax.set_title("\n".join(lines), loc="left", fontsize=10.5, pad=pad)


def short(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, with an ellipsis if cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def wrapped(text: str, width: int = 30, lines: int = 2) -> str:
    """``text`` on at most ``lines`` lines of about ``width`` characters (for tick labels)."""
    parts = textwrap.wrap(text, width) or [""]
    if len(parts) > lines:
        parts = [*parts[: lines - 1], short(" ".join(parts[lines - 1 :]), width)]
    return "\n".join(parts)


# -- time axes --------------------------------------------------------------------
def date_ticks(first: pd.Timestamp, last: pd.Timestamp) -> list[tuple[pd.Timestamp, str]]:
    """Ticks for a time axis from ``first`` to ``last``, with their labels.

    ``last`` is the end of the drawn range, one day after the last day (as
    :func:`steps` draws it). The first and the last day always get a tick
    labelled with day, month and year ("17 Jan\n2022"); between them,
    matplotlib's choice of days or month starts ("Feb"), each month start
    in a new year labelled with its year ("Jan\n2023"), so a run across a
    new year shows both years. Inner ticks too close to the ends are dropped.
    """
    final = last - pd.Timedelta(days=1) if last - first >= pd.Timedelta(days=2) else last
    span = max((final - first).total_seconds(), 1.0)
    locator = mdates.AutoDateLocator(minticks=5, maxticks=9)
    inner = [
        pd.Timestamp(mdates.num2date(t)).tz_localize(None)
        for t in locator.tick_values(first.to_pydatetime(), final.to_pydatetime())
    ]
    gap = 0.06 * span
    inner = [
        t for t in inner if (t - first).total_seconds() > gap and (final - t).total_seconds() > gap
    ]
    out = [(first, f"{first.day} {first:%b}\n{first:%Y}")]
    year = first.year
    for t in inner:
        text = f"{t:%b}" if t.day == 1 else f"{t.day} {t:%b}"
        if t.year != year:
            text, year = f"{text}\n{t:%Y}", t.year
        out.append((t, text))
    out.append((final, f"{final.day} {final:%b}\n{final:%Y}"))
    return out


def date_axis(ax: Axes, first: pd.Timestamp, last: pd.Timestamp) -> None:
    """Date ticks from ``first`` to ``last`` (see :func:`date_ticks`): both ends and each year."""
    ticks = date_ticks(first, last)
    ax.set_xticks([mdates.date2num(t) for t, _ in ticks], [text for _, text in ticks])
    ax.set_xlim(first, last)
    ax.set_xlabel("date (end of day)")


def steps(frame: pd.DataFrame | pd.Series) -> tuple[np.ndarray, Any]:
    """Dates and values for ``step="post"`` drawing, one day added to show the last day."""
    dates = pd.DatetimeIndex(frame.index)
    end = dates[-1] + pd.Timedelta(days=1)
    x = np.append(dates.to_numpy(), end.to_datetime64())
    values = frame.to_numpy(float)
    return x, np.concatenate([values, values[-1:]], axis=0)


EVENT_FONT = 7.0
_ROW_PT = EVENT_FONT + 4.0


def stagger(
    labels: Sequence[tuple[float, float]], span: float, max_rows: int = 6
) -> list[tuple[int, bool]]:
    """Rows (0 = lowest) and sides for labels hung on poles, so that no two overlap.

    Each label is ``(x, width)``: it hangs from a pole at ``x`` and reads to
    the right of it, or to the left when that fits better (near the right end
    of the axis, ``span``). Labels in the same row must not overlap; a pole
    rising through a lower label is allowed but avoided when another free
    spot exists.

    Returns:
        ``(row, leftward)`` for each label, in the given order.
    """
    placed: list[tuple[float, float, int, float]] = []  # (lo, hi, row, pole)
    out = []
    for x, width in labels:
        best: tuple[float, int, bool] | None = None
        for row in range(max_rows):
            for leftward in (False, True):
                lo, hi = (x - width, x) if leftward else (x, x + width)
                if any(r == row and lo < b and a < hi for a, b, r, _ in placed):
                    continue
                crossings = sum(
                    (r < row and a < x < b) or (r > row and lo < p < hi) for a, b, r, p in placed
                )
                overhang = hi > span or lo < 0
                cost = 10 * crossings + row + 0.5 * leftward + 5 * overhang
                if best is None or cost < best[0]:
                    best = (cost, row, leftward)
        if best is None:  # every row full: stack on top
            best = (0, max_rows - 1, False)
        _, row, leftward = best
        lo, hi = (x - width, x) if leftward else (x, x + width)
        placed.append((lo, hi, row, x))
        out.append((row, leftward))
    return out


def mark_events(
    ax: Axes, events: Sequence[Mapping[str, Any]], first: pd.Timestamp, last: pd.Timestamp
) -> int:
    """Mark scheduled events with dashed lines and labels above the plotting area.

    A one-day event gets one dashed line; an event lasting several days a
    dashed line at each end and a grey bar along the top edge between them.
    Labels sit on rows above the axes, on thin poles, so they never cover
    data; :func:`stagger` keeps them from overlapping each other.

    Returns:
        The number of label rows used (the title is padded above them).
    """
    merged: dict[tuple[pd.Timestamp, pd.Timestamp], list[str]] = {}
    for ev in events:
        if not ev.get("start_date"):
            continue
        start = pd.Timestamp(ev["start_date"])
        end = pd.Timestamp(ev.get("end_date") or ev["start_date"])
        if end < first or start > last:
            continue
        name = str(ev.get("name") or ev.get("id") or "")
        merged.setdefault((max(start, first), min(end, last)), []).append(name)
    if not merged:
        return 0
    # Events on the same dates share one mark and one label.
    items = [
        (start, end, short(" / ".join(n[:1].upper() + n[1:] for n in names), 40))
        for (start, end), names in sorted(merged.items())
    ]
    fig = figure_of(ax)
    width_pt = max(ax.get_position().width * fig.get_figwidth() * 72, 1.0)
    span = max((last - first).total_seconds() / 86400, 1.0)
    days_per_pt = span / width_pt
    line: dict[str, Any] = {
        "color": EVENT_COLOUR,
        "lw": 0.8,
        "ls": (0, (3, 2)),
        "alpha": 0.8,
        "zorder": 4,
    }
    top = ax.get_xaxis_transform()
    sizes = []
    for start, end, label in items:
        ax.axvline(start, **line)
        if end > start:
            ax.axvline(end, **line)
            ax.plot([start, end], [1, 1], transform=top, color="0.45", lw=4,
                    solid_capstyle="butt", clip_on=False, zorder=5)  # fmt: skip
        x0 = (start - first).total_seconds() / 86400
        sizes.append((x0, (len(label) * EVENT_FONT * 0.58 + 6) * days_per_pt))
    places = stagger(sizes, span)
    for (start, _end, label), (row, leftward) in zip(items, places, strict=True):
        where: dict[str, Any] = {
            "xy": (mdates.date2num(start), 1.0),
            "xycoords": top,
            "xytext": (0, 3 + row * _ROW_PT),
            "textcoords": "offset points",
            "annotation_clip": False,
        }
        pole = {"arrowstyle": "-", "color": "0.6", "lw": 0.6, "shrinkA": 0, "shrinkB": 0}
        ax.annotate("", arrowprops=pole, zorder=2, **where)
        ax.annotate(
            label,
            ha="right" if leftward else "left",
            va="bottom",
            fontsize=EVENT_FONT,
            color=EVENT_COLOUR,
            bbox={"boxstyle": "square,pad=0.15", "fc": "white", "ec": "none"},
            zorder=6,
            **where,
        )
    return 1 + max(row for row, _ in places)


def events_pad(rows: int) -> float:
    """Title padding (points) above ``rows`` rows of event labels (see :func:`mark_events`)."""
    return 8.0 + rows * _ROW_PT


def rung_names(summary: Mapping[str, Any]) -> dict[str, str]:
    """Rung id -> display name (the id when the rung has no name)."""
    return {r["id"]: r.get("name") or r["id"] for r in summary.get("ladder", [])}


def empty(ax: Axes, message: str) -> None:
    """Shows ``message`` instead of a chart on ``ax`` (a scenario with nothing to draw)."""
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


# -- signed shares (used by comparisons) ----------------------------------------
def signed_points(x: float, digits: int = 0) -> str:
    """A difference of shares in percentage points, signed, with a true minus sign."""
    if not np.isfinite(x):
        return "–"
    if round(x * 100, digits) == 0:
        return "0"
    return f"{x * 100:+.{digits}f}".replace("-", "−")


POINTS_FORMATTER = FuncFormatter(lambda v, _pos: signed_points(v))


# -- saving -----------------------------------------------------------------------
FORMATS = ("png", "svg")
DPI = 150


def save_figure(
    fig: Figure, folder: Path, stem: str, formats: Sequence[str] = FORMATS, dpi: int = DPI
) -> list[Path]:
    """Write ``fig`` as ``<folder>/<stem>.<fmt>`` for each format, then release it.

    SVG files carry no date and fixed element ids, so re-drawing unchanged
    results gives identical files. Each file is written whole or not at all
    (:func:`sim.atomic.atomic_file`): a chart that fails leaves no empty file.
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    try:
        with rc_context({"svg.hashsalt": "wargame-sim", "svg.fonttype": "none"}):
            for fmt in formats:
                path = folder / f"{stem}.{fmt}"
                metadata = {"Date": None} if fmt == "svg" else None
                with atomic_file(path) as tmp:
                    fig.savefig(tmp, dpi=dpi, format=fmt, metadata=metadata)
                paths.append(path)
    finally:
        fig.clear()
    return paths
