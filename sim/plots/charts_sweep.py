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
    short,
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
    against the path's value, with 95% interval bands. With two or more: a
    heatmap of one outcome (``outcome``, default the most severe) over the
    first two paths, pooled over any others; a Latin-hypercube design, whose
    points do not form a grid, is drawn as coloured dots instead.
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
    if len(varied) == 1:
        fig, ax, own = _sweep_curve(ax, summary, points, varied[0], outcomes or list(known))
    else:
        oid = outcome or summary["outcomes"][-1]["id"]
        fig, ax, own = _sweep_grid(ax, summary, points, varied[0], varied[1], known[oid])
    if own:
        note = [_sweep_footnote(summary, manifest, points)]
        if len(varied) > 2:
            note.insert(0, f"Pooled over the other varied paths: {', '.join(varied[2:])}.")
        footnote(fig, note)
    return fig


def _sweep_curve(
    ax: Axes | None,
    summary: Mapping[str, Any],
    points: pd.DataFrame,
    path: str,
    outcome_ids: Sequence[str],
) -> tuple[Figure, Axes, bool]:
    curve = data.sweep_curve(points, path, outcome_ids)
    fig, ax, own = new_figure(ax, (10.0, 5.4))
    colours = outcome_colours(summary["outcomes"])
    names = {o["id"]: o.get("name") or o["id"] for o in summary["outcomes"]}
    xs = curve["x"].drop_duplicates()
    categorical = not _numeric(xs)
    position = {v: i for i, v in enumerate(xs)} if categorical else None
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
    resolved = data.resolve_path(points, path)
    how = "pinned in every world" if resolved.startswith("param.") else "scenario value"
    ax.set_xlabel(f"{resolved} ({how} at each design point)")
    percent_axis(ax.yaxis)
    top = float(curve["hi"].max()) if len(curve) else 1.0
    ax.set_ylim(0, min(1.0, max(0.05, top * 1.05)))
    ax.set_ylabel("share of worlds (%)")
    ax.grid(color="0.92", zorder=0)
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Patch(color="0.5", alpha=0.16))
    labels.append("95% interval")
    ax.legend(
        handles[::-1], labels[::-1], title="outcome (severe at top)", title_fontsize=8, **LEGEND
    )
    title(ax, f"Outcome probabilities as {resolved} varies", summary)
    return fig, ax, own


def _sweep_grid(
    ax: Axes | None,
    summary: Mapping[str, Any],
    points: pd.DataFrame,
    path_x: str,
    path_y: str,
    outcome: Mapping[str, Any],
) -> tuple[Figure, Axes, bool]:
    grid = data.sweep_heatmap(points, path_x, path_y, outcome["id"])
    fig, ax, own = new_figure(ax, (9.0, 6.6))
    cmap = colormaps["YlOrRd"].with_extremes(bad="0.9")
    values = grid.to_numpy(float)
    vmax = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
    scale = "(colour scale: 0 to the highest value)"
    if not vmax > 0:
        vmax, scale = 1.0, "(no world ended so at any design point)"
    scattered = (
        np.isnan(values).any()
        and _numeric(grid.index.to_series())
        and _numeric(grid.columns.to_series())
    )
    art: ScalarMappable
    if scattered:
        cells = grid.stack().rename("p").reset_index()
        art = ax.scatter(
            cells[grid.columns.name],
            cells[grid.index.name],
            c=cells["p"],
            cmap=cmap,
            vmin=0,
            vmax=vmax,
            s=60,
            edgecolors="0.3",
            linewidths=0.4,
        )
        ax.grid(color="0.92", zorder=0)
        ax.set_axisbelow(True)
    else:
        art = ax.imshow(
            np.ma.masked_invalid(values),
            cmap=cmap,
            vmin=0,
            vmax=vmax,
            origin="lower",
            aspect="auto",
        )
        ny, nx = values.shape
        ax.set_xticks(*_thinned([_value(v) for v in grid.columns]))
        ax.set_yticks(*_thinned([_value(v) for v in grid.index]))
        digits = 1 if vmax < 0.1 else 0
        if nx <= 14 and ny <= 14:
            for i in range(ny):
                for j in range(nx):
                    v = values[i, j]
                    colour = "0.4" if np.isnan(v) else ink(to_hex(cmap(v / vmax)))
                    text = pct(v, digits)
                    ax.text(j, i, text, ha="center", va="center", fontsize=7.5, color=colour)
        ax.spines[:].set_visible(False)
    ax.set_xlabel(str(grid.columns.name))
    ax.set_ylabel(str(grid.index.name))
    name = outcome.get("name") or outcome["id"]
    fig.colorbar(
        art,
        ax=ax,
        shrink=0.8,
        format=PERCENT,
        label=f"share of worlds ending in “{short(str(name), 40)}” (%)\n{scale}",
    )
    title(ax, f"Probability of “{name}” across {grid.columns.name} and {grid.index.name}", summary)
    return fig, ax, own


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
    la, lb = _label(a, "A"), _label(b, "B")
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
        bars.barh(y + dy, p, height=h, color=colour, label=f"{tag.upper()}: {col}", zorder=2)
        bars.errorbar(
            p,
            y + dy,
            xerr=[p - lo, hi - p],
            fmt="none",
            ecolor="black",
            elinewidth=0.9,
            capsize=2.5,
            zorder=3,
        )
        for yi, pi, hii in zip(y + dy, p, hi, strict=True):
            bars.annotate(
                pct(pi),
                (hii, yi),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=7.5,
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
        d, dlo, dhi = (table[k].to_numpy(float) for k in ("diff", "diff_lo", "diff_hi"))
        clear = table["clear"].to_numpy(bool)
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
        reach = float(np.nanmax(np.abs(np.concatenate([dlo, dhi])))) if n else 0.01
        diffs.set_xlim(-max(reach, 0.01) * 1.15, max(reach, 0.01) * 1.15)
        diffs.xaxis.set_major_formatter(POINTS_FORMATTER)
        diffs.set_xlabel("difference B − A (percentage points)")
        diffs.grid(axis="x", color="0.92", zorder=0)
        diffs.tick_params(axis="y", length=0)
        trans = diffs.get_yaxis_transform()
        for yi, di, li, hi_ in zip(y, d, dlo, dhi, strict=True):
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
    scenario_titles = {str(r.get("title") or r.get("scenario") or "") for r in (a, b)}
    name_a, name_b = a.get("scenario") or la, b.get("scenario") or lb
    if name_a == name_b:  # the same scenario with other settings: the labels tell them apart
        name_a, name_b = la, lb
    headline = f"How the {noun} probabilities differ: B = {name_b} against A = {name_a}"
    if key_ax is not None:
        # Two columns: the A/B labels can be long paths and must not run off the page.
        key_ax.legend(handles, labels, loc="center left", ncols=2, frameon=False, fontsize=8.5)
        heading = "\n".join([headline, " | ".join(sorted(s for s in scenario_titles if s))])
        fig.suptitle(heading, x=0.01, ha="left", fontsize=10.5)
        footnote(fig, [_run_note("A", a), _run_note("B", b)])
    else:
        bars.legend(handles, labels, fontsize=7.5, loc="lower right")
    return fig
