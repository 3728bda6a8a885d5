"""Charts across many batches: parameter sweeps and A/B comparisons.

Same conventions as :mod:`sim.plots.charts`: ``plot_*(result, ax=None)``
returns a :class:`~matplotlib.figure.Figure`, built without ``pyplot``;
``result`` is a folder path or an object with the tables as attributes.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.errors import ResultsError
from sim.plots import data
from sim.plots.style import (
    LEGEND,
    NOTE_COLOUR,
    PERCENT,
    POINTS_FORMATTER,
    as_tables,
    figure_of,
    footnote,
    ink,
    need,
    new_figure,
    outcome_colours,
    pct,
    percent_axis,
    signed_points,
    title,
    wrapped,
)

A_COLOUR, B_COLOUR = "#8c96a3", "#1f5fa8"


# -- sweeps -----------------------------------------------------------------------
def _value(v: Any) -> str:
    """A parameter value for a tick label: integers as such, floats to 3 significant digits."""
    if isinstance(v, numbers.Integral):
        return str(v)
    if isinstance(v, numbers.Real):
        return f"{float(v):.3g}"  # 2.0 -> "2", 0.0625 -> "0.0625"
    return str(v)


def _numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _sweep_footnote(
    summary: Mapping[str, Any], manifest: Mapping[str, Any], points: pd.DataFrame
) -> str:
    worlds = points["worlds"] if "worlds" in points.columns else pd.Series(dtype=int)
    each = (
        f"{int(worlds.iloc[0]):,} worlds each"
        if len(worlds) and worlds.nunique() == 1
        else f"{int(worlds.sum()):,} worlds in all"
    )
    parts = [str(summary.get("scenario", "scenario")), f"{len(points)} design points × {each}"]
    seed = summary.get("seed", manifest.get("seed"))
    if seed is not None:
        parts.append(f"seed {seed}")
    if manifest.get("design"):
        parts.append(f"{manifest['design']} design")
    return " · ".join(parts)


SHARE_MAP = "Blues"
"""Colour map of the sweep heatmaps: a share from 0 to 100%, not a severity."""


def plot_sweep(
    result: Any,
    ax: Axes | None = None,
    *,
    outcome: str | None = None,
    outcomes: Sequence[str] | None = None,
    paths: Sequence[str] | None = None,
) -> Figure:
    """Outcome probabilities across a parameter sweep.

    With one varied path: probability of each outcome (or of ``outcomes``)
    against the path's value, with 95% interval bands, over the prior the
    batch draws the parameter from. With two or more: one heatmap per
    outcome (``outcomes``, or ``outcome`` alone, default all) over the first
    two paths, pooled over any others, every panel on one 0-100% colour
    scale, each cell with its share and Wilson interval; a Latin-hypercube
    design, whose points do not form a grid, is drawn as coloured dots.
    Given an ``ax``, the one outcome ``outcome`` (default the most severe)
    is drawn there.
    """
    result = as_tables(result)
    summary = need(result, "summary", "summary.json")
    points = need(result, "points", "points.csv")
    manifest = getattr(result, "manifest", None) or {}
    varied = list(paths or manifest.get("vary") or data.sweep_paths(points))
    if not varied:
        raise ResultsError("points.csv: no varied path found (expected a column per --vary path)")
    known = {o["id"]: o for o in summary["outcomes"]}
    for oid in [outcome, *(outcomes or ())]:
        if oid is not None and oid not in known:
            raise ResultsError(f"unknown outcome {oid!r} (outcomes: {', '.join(known)})")
    columns = [data.resolve_path(points, v) for v in varied[:2]]
    axes = data.sweep_axes(manifest, columns)
    if len(varied) == 1:
        fig, ax, own = _sweep_curve(ax, summary, points, axes[columns[0]], outcomes or list(known))
    else:
        if ax is not None:
            wanted = [outcome or summary["outcomes"][-1]["id"]]
        else:
            wanted = [outcome] if outcome else list(outcomes or known)
        fig, own = _sweep_grids(
            ax, summary, points, axes[columns[0]], axes[columns[1]], [known[o] for o in wanted]
        )
    if own:
        note = [_sweep_footnote(summary, manifest, points)]
        if len(varied) > 1:
            pinned = all(axes[c].pinned for c in columns)
            how = ", each pinned in every world at its design point" if pinned else ""
            note.insert(0, f"x: {columns[0]}, y: {columns[1]}{how}.")
        if len(varied) > 2:
            note.insert(0, f"Pooled over the other varied paths: {', '.join(varied[2:])}.")
        footnote(fig, note)
    return fig


def _axis_label(axis: data.SweepAxis) -> str:
    how = "pinned in every world" if axis.pinned else "scenario value"
    return f"{wrapped(axis.name, 60)}\n({axis.path}, {how} at each design point)"


def _sweep_curve(
    ax: Axes | None,
    summary: Mapping[str, Any],
    points: pd.DataFrame,
    axis: data.SweepAxis,
    outcome_ids: Sequence[str],
) -> tuple[Figure, Axes, bool]:
    curve = data.sweep_curve(points, axis.path, outcome_ids)
    fig, ax, own = new_figure(ax, (10.0, 5.6))
    colours = outcome_colours(summary["outcomes"])
    names = {o["id"]: o.get("name") or o["id"] for o in summary["outcomes"]}
    xs = curve["x"].drop_duplicates()
    categorical = not _numeric(xs)
    position = {v: i for i, v in enumerate(xs)} if categorical else None
    extra: list[tuple[Any, str]] = []
    if axis.prior is not None and not categorical:
        # The prior under the curves: where the batch's worlds draw this parameter.
        under = ax.twinx()
        under.hist(axis.prior, bins=40, density=True, color="0.88", edgecolor="none", zorder=0)
        under.set_yticks([])
        under.set_ylim(0, under.get_ylim()[1] * 3.0)  # the lowest third of the panel
        under.spines[["top", "right"]].set_visible(False)
        ax.set_zorder(under.get_zorder() + 1)
        ax.patch.set_visible(False)
        extra.append((Patch(color="0.88"), "how a batch draws the parameter\n(its prior, density)"))
    for oid in outcome_ids:
        part = curve[curve["outcome"] == oid]
        x = part["x"].map(position).to_numpy(float) if position else part["x"].to_numpy(float)
        c = colours[oid]
        ax.fill_between(x, part["lo"], part["hi"], color=c, alpha=0.16, lw=0, zorder=1)
        ax.plot(x, part["p"], color=c, lw=2, marker="o", ms=3.5, label=names[oid], zorder=3)
    if position:
        ax.set_xticks(range(len(position)), [_value(v) for v in position])
    elif len(xs) <= 12:
        ax.set_xticks(xs.to_numpy(float), [_value(v) for v in xs])
    ax.set_xlabel(_axis_label(axis))
    percent_axis(ax.yaxis)
    top = float(curve["hi"].max()) if len(curve) else 1.0
    ax.set_ylim(0, min(1.0, max(0.05, top * 1.05)))
    ax.set_ylabel("share of worlds (%)")
    ax.grid(color="0.92", zorder=0)
    handles, labels = ax.get_legend_handles_labels()
    handles, labels = handles[::-1], labels[::-1]
    handles.append(Patch(color="0.5", alpha=0.16))
    labels.append("95% interval")
    for h, lab in extra:
        handles.append(h)
        labels.append(lab)
    ax.legend(handles, labels, title="outcome (severe at top)", title_fontsize=8, **LEGEND)
    title(ax, f"Outcome probabilities as “{axis.name}” varies", summary)
    return fig, ax, own


def _sweep_grids(
    ax: Axes | None,
    summary: Mapping[str, Any],
    points: pd.DataFrame,
    axis_x: data.SweepAxis,
    axis_y: data.SweepAxis,
    outcomes: Sequence[Mapping[str, Any]],
) -> tuple[Figure, bool]:
    """One heatmap per outcome, all on one 0-100% colour scale; ``ax`` takes one outcome."""
    cells = data.sweep_cells(points, axis_x.path, axis_y.path, [o["id"] for o in outcomes])
    own = ax is None
    if ax is None:
        ncols = min(3, len(outcomes))
        nrows = -(-len(outcomes) // ncols)
        fig = Figure(figsize=(4.1 * ncols + 1.4, 3.5 * nrows + 2.0), layout="constrained")
        panels = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
        for extra in panels[len(outcomes) :]:
            extra.set_visible(False)
    else:
        fig, panels = figure_of(ax), [ax]
    cmap = colormaps[SHARE_MAP].with_extremes(bad="0.9")
    art: ScalarMappable | None = None
    for panel, o in zip(panels, outcomes, strict=False):
        part = cells[cells["outcome"] == o["id"]]
        art = _heatmap(panel, part, cmap)
        panel.set_title(wrapped(str(o.get("name") or o["id"]), 40), loc="left", fontsize=9.5)
    used = panels[: len(outcomes)]
    if own:  # names on the outer panels; the paths go in the footnote
        columns = min(3, len(outcomes))
        for k, panel in enumerate(used):
            if k >= len(used) - columns:
                panel.set_xlabel(wrapped(axis_x.name, 45), fontsize=8.5)
            if k % columns == 0:
                panel.set_ylabel(wrapped(axis_y.name, 40), fontsize=8.5)
    else:
        used[0].set_xlabel(_axis_label(axis_x), fontsize=8.5)
        used[0].set_ylabel(_axis_label(axis_y), fontsize=8.5)
    assert art is not None
    fig.colorbar(
        art,
        ax=used,
        shrink=0.8,
        format=PERCENT,
        label="share of worlds ending in the outcome (%), one scale for every panel",
    )
    what = (
        f"Outcome probabilities across “{axis_x.name}” and “{axis_y.name}”; "
        "each cell or dot: share and 95% Wilson interval"
    )
    if own:
        scenario = summary.get("title") or summary.get("scenario") or ""
        fig.suptitle(f"{what}\n{scenario}", x=0.01, ha="left", fontsize=10.5)
    return fig, own


def _heatmap(ax: Axes, cells: pd.DataFrame, cmap: Any) -> ScalarMappable:
    """One outcome's cells (x, y, p, lo, hi) as a heatmap on 0-100%, or dots off a grid."""
    grid = cells.pivot(index="y", columns="x", values="p").sort_index().sort_index(axis=1)
    values = grid.to_numpy(float)
    scattered = (
        np.isnan(values).any()
        and _numeric(grid.index.to_series())
        and _numeric(grid.columns.to_series())
    )
    if scattered:
        art: ScalarMappable = ax.scatter(
            cells["x"],
            cells["y"],
            c=cells["p"],
            cmap=cmap,
            vmin=0,
            vmax=1,
            s=50,
            edgecolors="0.3",
            linewidths=0.4,
        )
        if len(cells) <= 40:  # each dot labelled with its share and interval, as a cell is
            for row in cells.itertuples():
                text = f"{pct(row.p, 0)} ({pct(row.lo, 0)}–{pct(row.hi, 0)})"
                ax.annotate(
                    text,
                    (row.x, row.y),
                    xytext=(5, 4),
                    textcoords="offset points",
                    fontsize=6.5,
                    color="0.2",
                )
        ax.margins(x=0.14, y=0.08)  # room for the labels of the outer dots
        ax.grid(color="0.92", zorder=0)
        ax.set_axisbelow(True)
        return art
    art = ax.imshow(
        np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=1, origin="lower", aspect="auto"
    )
    ny, nx = values.shape
    ax.set_xticks(*_thinned([_value(v) for v in grid.columns]))
    ax.set_yticks(*_thinned([_value(v) for v in grid.index]))
    if nx <= 8 and ny <= 8:
        lo = cells.pivot(index="y", columns="x", values="lo").sort_index().sort_index(axis=1)
        hi = cells.pivot(index="y", columns="x", values="hi").sort_index().sort_index(axis=1)
        for i in range(ny):
            for j in range(nx):
                v = values[i, j]
                if np.isnan(v):
                    continue
                text = f"{pct(v, 0)}\n{pct(lo.iat[i, j], 0)}–{pct(hi.iat[i, j], 0)}"
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color=ink(to_hex(cmap(v))),
                    linespacing=1.1,
                )
    ax.spines[:].set_visible(False)
    ax.tick_params(length=0, labelsize=8)
    return art


def _thinned(labels: list[str], most: int = 12) -> tuple[list[int], list[str]]:
    """Tick positions and labels, keeping at most ``most`` evenly spaced ticks."""
    step = max(1, int(np.ceil(len(labels) / most)))
    keep = list(range(0, len(labels), step))
    return keep, [labels[i] for i in keep]


# -- comparisons ------------------------------------------------------------------
def _compare_dict(result: Any) -> Mapping[str, Any]:
    if isinstance(result, Mapping) and "diffs" in result:
        return result
    return need(as_tables(result), "compare", "compare.json")


def _label(run: Mapping[str, Any], tag: str) -> str:
    """A run's label; a folder path is cut to its last two parts (scenario/timestamp)."""
    label = str(run.get("label") or tag)
    if "/" in label or "\\" in label:
        parts = [p for p in label.replace("\\", "/").split("/") if p]
        label = "/".join(parts[-2:]) if parts else label
    return label


def _names(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[str, str]:
    """What a reader calls A and B: their scenario titles, with their settings if titles tie."""
    names = [
        str(r.get("title") or r.get("scenario") or _label(r, t)) for r, t in ((a, "A"), (b, "B"))
    ]
    if names[0] == names[1]:
        for k, run in enumerate((a, b)):
            changes = [
                *map(str, run.get("overrides", ())),
                *(f"{key}={v}" for key, v in (run.get("pinned") or {}).items()),
            ]
            names[k] += f" ({', '.join(changes)})" if changes else " (as written)"
    return names[0], names[1]


def _run_note(tag: str, run: Mapping[str, Any]) -> str:
    bits = [f"{tag} = {_label(run, tag)}: {run.get('scenario', '?')}"]
    changes = [
        *run.get("overrides", ()),
        *(f"{k}={v}" for k, v in (run.get("pinned") or {}).items()),
    ]
    if changes:
        bits.append("with " + ", ".join(map(str, changes)))
    if run.get("runs") is not None:
        bits.append(f"{int(run['runs']):,} worlds")
    if run.get("seed") is not None:
        bits.append(f"seed {run['seed']}")
    return " · ".join(bits)


def _pp(x: float) -> str:
    return signed_points(x, 1)


def plot_compare(
    result: Any, ax: Axes | Sequence[Axes] | None = None, what: str = "outcomes"
) -> Figure:
    """Runs A and B side by side, and the difference B − A of each outcome's probability.

    Left: each outcome's probability in A and in B with Wilson 95% intervals.
    Right: the difference in percentage points with its Newcombe 95% interval;
    a filled dot marks an interval that excludes zero.

    Args:
        result: a compare folder, an object with ``.compare``, or the
            ``compare.json`` dict itself.
        ax: a pair of axes (bars, differences); a single axes gets the bars only.
        what: ``"outcomes"``, or ``"flags"`` to compare the flags instead.
    """
    cmp = _compare_dict(result)
    table = data.compare_table(cmp, what)
    noun = {"outcomes": "outcome", "flags": "flag"}[what]
    a, b = cmp["a"], cmp["b"]
    la, lb = _names(a, b)
    n = len(table)
    key_ax = None
    diffs: Axes | None
    if ax is None:
        panels = 0.6 * max(n, 1)
        fig = Figure(figsize=(12.0, 2.6 + panels), layout="constrained")
        grid = fig.add_gridspec(2, 2, height_ratios=[0.3, panels], width_ratios=[3, 2])
        key_ax = fig.add_subplot(grid[0, :])
        key_ax.axis("off")
        bars = fig.add_subplot(grid[1, 0])
        diffs = fig.add_subplot(grid[1, 1], sharey=bars)
        diffs.tick_params(axis="y", labelleft=False)
    elif isinstance(ax, Axes):
        fig, bars, diffs = figure_of(ax), ax, None
    else:
        bars, diffs = ax
        fig = figure_of(bars)
    y = np.arange(n)[::-1].astype(float)
    h = 0.36
    for tag, col, colour, dy in (("a", la, A_COLOUR, h / 2), ("b", lb, B_COLOUR, -h / 2)):
        p, lo, hi = (table[f"{k}_{tag}"].to_numpy(float) for k in ("p", "lo", "hi"))
        has = np.isfinite(p)  # an item this side does not have gets no bar, never a 0% one
        bars.barh(
            y[has] + dy,
            p[has],
            height=h,
            color=colour,
            label=f"{tag.upper()}: {wrapped(col, 70)}",
            zorder=2,
        )
        bars.errorbar(
            p[has],
            y[has] + dy,
            xerr=[p[has] - lo[has], hi[has] - p[has]],
            fmt="none",
            ecolor="black",
            elinewidth=0.9,
            capsize=2.5,
            zorder=3,
        )
        for yi, pi, hii in zip(y + dy, p, hi, strict=True):
            missing = not np.isfinite(pi)
            bars.annotate(
                f"not in {tag.upper()}" if missing else pct(pi),
                (0 if missing else hii, yi),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=7.5,
                style="italic" if missing else "normal",
                color=NOTE_COLOUR if missing else "black",
            )
    top = float(np.nanmax(table[["hi_a", "hi_b"]].to_numpy())) if n else 1.0
    bars.set_xlim(0, max(0.05, top) * 1.28)
    bars.set_xticks([t for t in bars.get_xticks() if 0 <= t <= 1])
    percent_axis(bars.xaxis)
    bars.set_yticks(y, [wrapped(str(s)) for s in table["name"]])
    bars.set_ylim(-0.7, n - 0.3)
    bars.set_xlabel("share of worlds (%)")
    bars.set_ylabel("outcome (least to most severe)" if noun == "outcome" else "flag")
    bars.grid(axis="x", color="0.92", zorder=0)
    bars.set_axisbelow(True)
    heading = "Outcome probability" if noun == "outcome" else "Share of worlds with the flag"
    bars.set_title(f"{heading} (95% Wilson interval)", loc="left", fontsize=9.5)
    if diffs is not None:
        only = table["only"].to_numpy(str)
        # No difference for an item one side lacks: it is marked, not drawn as a change from 0.
        d, dlo, dhi = (
            np.where(only == "", table[k].to_numpy(float), np.nan)
            for k in ("diff", "diff_lo", "diff_hi")
        )
        clear = table["clear"].to_numpy(bool) & (only == "")
        diffs.axvline(0, color="black", lw=1.2, zorder=1)
        diffs.set_axisbelow(True)
        diffs.errorbar(
            d,
            y,
            xerr=[d - dlo, dhi - d],
            fmt="none",
            ecolor=B_COLOUR,
            elinewidth=1.4,
            capsize=3,
            zorder=2,
        )
        diffs.scatter(d[clear], y[clear], s=40, color=B_COLOUR, zorder=3)
        diffs.scatter(d[~clear], y[~clear], s=40, facecolor="white", edgecolor=B_COLOUR, zorder=3)
        ends = np.abs(np.concatenate([dlo, dhi]))
        reach = float(np.nanmax(ends)) if np.isfinite(ends).any() else 0.01
        diffs.set_xlim(-max(reach, 0.01) * 1.15, max(reach, 0.01) * 1.15)
        diffs.xaxis.set_major_formatter(POINTS_FORMATTER)
        diffs.set_xlabel("difference B − A (percentage points)")
        diffs.grid(axis="x", color="0.92", zorder=0)
        diffs.tick_params(axis="y", length=0)
        trans = diffs.get_yaxis_transform()
        for yi, di, li, hi_, side in zip(y, d, dlo, dhi, only, strict=True):
            if side:
                text = "not compared"
                diffs.text(
                    0.5,
                    yi,
                    f"only in {side.upper()}",
                    transform=trans,
                    ha="center",
                    va="center",
                    fontsize=8.5,
                    style="italic",
                    color=NOTE_COLOUR,
                    bbox={"fc": "white", "ec": "0.7", "lw": 0.6},
                )
            else:
                text = f"{_pp(di)} pp  ({_pp(li)} to {_pp(hi_)})"
            diffs.text(1.03, yi, text, transform=trans, va="center", fontsize=8, clip_on=False)
        diffs.set_title("Difference B − A (95% Newcombe interval)", loc="left", fontsize=9.5)
        key = [
            Line2D([], [], ls="", marker="o", color=B_COLOUR, label="interval excludes 0"),
            Line2D(
                [], [], ls="", marker="o", mfc="white", color=B_COLOUR, label="interval includes 0"
            ),
        ]
    else:
        key = []
    handles, labels = bars.get_legend_handles_labels()
    handles += key
    labels += [k.get_label() for k in key]
    headline = f"How the {noun} probabilities differ between two batches: B against A"
    if key_ax is not None:
        # Two columns: the A/B labels can be long paths and must not run off the page.
        key_ax.legend(handles, labels, loc="center left", ncols=2, frameon=False, fontsize=8.5)
        fig.suptitle(headline, x=0.01, ha="left", fontsize=10.5)
        footnote(fig, [_run_note("A", a), _run_note("B", b)])
    else:
        bars.legend(handles, labels, fontsize=7.5, loc="lower right")
    return fig
