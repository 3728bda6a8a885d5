"""Charts of evidence: prior against posterior per parameter, and forecasts by date.

* :func:`posterior_panels` (data) and :func:`plot_posterior` (drawing): for a
  batch conditioned with ``--as-of``, one small panel per drawn parameter,
  from ``posterior.csv``: for a number, the prior's histogram (grey steps)
  under the posterior's (filled), with both means marked; for a word choice,
  each option's prior and posterior share side by side.
* :func:`forecast_lines` (data) and :func:`plot_forecast` (drawing): for a
  forecast folder, the probability of each outcome (left) and key flag
  (right) by as-of date, with its 95% interval as a band, from
  ``forecast.csv``.

Read how in docs/evidence.md.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from sim.errors import ResultsError
from sim.plots import style
from sim.results.reader import BatchResult, ForecastResult, load_results

PRIOR_COLOUR = "0.55"
POSTERIOR_COLOUR = style.BAND_COLOUR


def _opened[R: BatchResult | ForecastResult](result: R | str | Path, kind: type[R]) -> R:
    if isinstance(result, kind):
        return result
    opened = load_results(result)  # type: ignore[arg-type]
    if not isinstance(opened, kind):
        raise ResultsError(f"{result}: a {opened.kind} folder, not a {kind.__name__} folder")
    return opened


# -- prior against posterior ------------------------------------------------------------
def posterior_panels(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Per parameter of ``posterior.csv``, what its panel shows.

    Each item: ``parameter``, ``kind`` (``"number"`` or ``"choice"``) and
    either ``low``, ``high``, ``prior``, ``posterior`` (arrays over the bins:
    edges and shares), ``prior_mean``, ``posterior_mean``, or ``options``,
    ``prior``, ``posterior`` (one entry per option), in the table's order.
    """
    panels: list[dict[str, Any]] = []
    for pid, rows in table.groupby("parameter", sort=False):
        stat = rows["statistic"].astype(str)
        if (stat == "share").any():
            part = rows[stat == "share"]
            panels.append(
                {
                    "parameter": str(pid),
                    "kind": "choice",
                    "options": part["value"].astype(str).tolist(),
                    "prior": part["prior"].to_numpy(dtype=float),
                    "posterior": part["posterior"].to_numpy(dtype=float),
                }
            )
            continue
        bins = rows[stat == "bin"]
        means = rows[stat == "mean"]
        panels.append(
            {
                "parameter": str(pid),
                "kind": "number",
                "low": bins["low"].to_numpy(dtype=float),
                "high": bins["high"].to_numpy(dtype=float),
                "prior": bins["prior"].to_numpy(dtype=float),
                "posterior": bins["posterior"].to_numpy(dtype=float),
                "prior_mean": float(means["prior"].iloc[0]),
                "posterior_mean": float(means["posterior"].iloc[0]),
            }
        )
    return panels


def _number_panel(ax: Any, p: dict[str, Any]) -> None:
    edges = np.append(p["low"], p["high"][-1:])
    width = np.where(p["high"] > p["low"], p["high"] - p["low"], 1.0)
    prior, post = p["prior"] / width, np.nan_to_num(p["posterior"]) / width  # densities
    ax.stairs(post, edges, fill=True, color=POSTERIOR_COLOUR, alpha=0.55, lw=0)
    ax.stairs(prior, edges, color=PRIOR_COLOUR, lw=1.2)
    ax.axvline(p["prior_mean"], color=PRIOR_COLOUR, lw=0.9, ls="--")
    if not math.isnan(p["posterior_mean"]):
        ax.axvline(p["posterior_mean"], color=POSTERIOR_COLOUR, lw=1.1)
    ax.set_yticks([])
    ax.set_xlim(edges[0], edges[-1])
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.tick_params(axis="x", labelsize=7)


def _choice_panel(ax: Any, p: dict[str, Any]) -> None:
    y = np.arange(len(p["options"]))[::-1].astype(float)
    ax.barh(y + 0.18, p["prior"], height=0.34, color=PRIOR_COLOUR)
    ax.barh(y - 0.18, np.nan_to_num(p["posterior"]), height=0.34, color=POSTERIOR_COLOUR)
    ax.set_yticks(y, [style.short(o.replace("_", " "), 18) for o in p["options"]], fontsize=7)
    ax.set_xlim(0, 1)
    style.percent_axis(ax.xaxis)
    ax.tick_params(axis="x", labelsize=7)


TITLE_WIDTH = 36
"""A panel's title wraps at this many characters (four panels side by side)."""


def parameter_names(res: BatchResult) -> dict[str, str]:
    """Each parameter's readable name, as ``drivers.csv`` gives it (empty if it has none).

    The names come from the scenario's descriptions (their first clause), the
    same as the drivers charts and the viewer show.
    """
    if not res.has_drivers:
        return {}
    table = res.drivers
    if not {"parameter", "parameter_name"} <= set(table.columns):
        return {}
    pairs = table.drop_duplicates("parameter")
    return {
        str(k): str(v) for k, v in zip(pairs["parameter"], pairs["parameter_name"], strict=True)
    }


def plot_posterior(result: BatchResult | str | Path) -> Figure:
    """Prior against posterior, one panel per drawn parameter (see the module docstring)."""
    res = _opened(result, BatchResult)
    if not res.has_conditional:
        raise ResultsError(f"{res.folder}: not conditioned (run wargame batch with --as-of)")
    panels = posterior_panels(res.posterior)
    record = res.manifest.get("conditional") or {}
    cols = 4
    rows = max(1, math.ceil(len(panels) / cols))
    fig = Figure(figsize=(11.5, 1.9 * rows + 1.5), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    names = parameter_names(res)
    for ax, p in zip(axes.flat, panels, strict=False):
        (_choice_panel if p["kind"] == "choice" else _number_panel)(ax, p)
        name = names.get(p["parameter"]) or p["parameter"].replace("_", " ")
        ax.set_title(textwrap.fill(name, TITLE_WIDTH), loc="left", fontsize=8.5)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    if not panels:
        style.empty(axes[0, 0], "no parameter varies across the worlds")
    handles = [
        Line2D([], [], color=PRIOR_COLOUR, lw=1.2, label="prior (every world)"),
        Patch(color=POSTERIOR_COLOUR, alpha=0.55, label="posterior (worlds weighted)"),
        Line2D([], [], color=PRIOR_COLOUR, lw=0.9, ls="--", label="prior mean"),
        Line2D([], [], color=POSTERIOR_COLOUR, lw=1.1, label="posterior mean"),
    ]
    fig.legend(handles=handles, loc="outside upper right", frameon=False, fontsize=8, ncols=2)
    s = res.summary
    fig.suptitle(
        f"What the evidence up to {record.get('as_of', '?')} says about each parameter: "
        f"prior against posterior\n{s.get('title') or s.get('scenario', '')}",
        x=0.01,
        ha="left",
        fontsize=10.5,
    )
    used = record.get("observations_used") or []
    style.footnote(
        fig,
        [
            "Numbers: share of the worlds per bin as a density (grey steps: every world "
            "drawn; blue: the worlds weighted by the likelihood of the observations).",
            "Choices: share of each option, prior (grey) and posterior (blue). The prior is "
            "the batch's own draw, so both are on the same worlds.",
            style.footnote_text(s)
            + f" · {len(used)} observations · {int(record.get('worlds', 0)):,} worlds agree"
            + f" · effective sample size {float(record.get('ess', math.nan)):,.1f}",
        ],
    )
    return fig


# -- forecasts by date -----------------------------------------------------------------
def forecast_lines(result: ForecastResult | str | Path) -> dict[str, list[dict[str, Any]]]:
    """Per side (``"outcome"``, ``"flag"``), one line per question of ``forecast.csv``.

    Each line: ``id``, ``name``, ``colour`` (outcomes), ``dates`` (as-of
    dates, as timestamps), ``p``, ``low``, ``high`` (arrays) and ``ess``
    (per date; the same for every question of a date). Flags are the key
    flags (every flag if none is key).
    """
    res = _opened(result, ForecastResult)
    s, table = res.summary, res.forecast
    colours = style.outcome_colours(s["outcomes"])
    keys = s.get("key_flags") or [f["id"] for f in s["flags"]]
    questions: list[tuple[str, str, str, str | None]] = [
        ("outcome", o["id"], o["name"], colours[o["id"]]) for o in s["outcomes"]
    ]
    questions += [("flag", f["id"], f["name"], None) for f in s["flags"] if f["id"] in keys]
    out: dict[str, list[dict[str, Any]]] = {"outcome": [], "flag": []}
    for kind, qid, name, colour in questions:
        rows = table[(table["kind"] == kind) & (table["name"].astype(str) == qid)]
        out[kind].append(
            {
                "id": qid,
                "name": name,
                "colour": colour,
                "dates": pd.to_datetime(rows["as_of"].astype(str)).to_numpy(),
                "p": rows["probability"].to_numpy(dtype=float),
                "low": rows["low"].to_numpy(dtype=float),
                "high": rows["high"].to_numpy(dtype=float),
                "ess": rows["ess"].to_numpy(dtype=float),
            }
        )
    return out


def plot_forecast(result: ForecastResult | str | Path) -> Figure:
    """Forecast trajectories: each outcome and key flag by as-of date, with 95% bands."""
    res = _opened(result, ForecastResult)
    lines = forecast_lines(res)
    s = res.summary
    fig = Figure(figsize=(12, 7.0), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    # Flags are not ordered by severity: a qualitative palette tells them apart.
    palette = colormaps["tab10"]
    flag_colours = [to_hex(palette(i % 10)) for i in range(max(len(lines["flag"]), 1))]
    for ax, kind, what in ((axes[0], "outcome", "Outcomes"), (axes[1], "flag", "Key flags")):
        for i, line in enumerate(lines[kind]):
            colour = line["colour"] or flag_colours[i]
            # Steps: a forecast holds from its as-of date until the next one.
            ax.fill_between(line["dates"], line["low"], line["high"], color=colour, alpha=0.16,
                            lw=0, step="post")  # fmt: skip
            ax.plot(line["dates"], line["p"], color=colour, lw=1.6, marker="o", ms=2.5,
                    drawstyle="steps-post", label=style.short(line["name"], 44))  # fmt: skip
        for day in sorted({o["date"] for o in s.get("observations", [])}):
            ax.axvline(pd.Timestamp(day), color="0.8", lw=0.7, ls=":", zorder=0)
        ax.set_title(f"{what} at the horizon ({s['horizon']})", loc="left", fontsize=9.5)
        ax.set_ylim(0, 1)
        style.percent_axis(ax.yaxis)
        ax.grid(axis="y", color="0.9", lw=0.6)
        ax.set_axisbelow(True)
        ax.set_xlabel("as of (observations dated up to this day)", fontsize=8)
        ax.tick_params(labelsize=7.5)
        ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.22),
                  ncols=2)  # fmt: skip
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        fig.autofmt_xdate(rotation=30, ha="right")
    axes[0].set_ylabel("probability given the evidence")
    fig.suptitle(
        "Forecast by date: the probability an analyst would have published each day\n"
        + str(s.get("title") or s.get("scenario", "")),
        x=0.01,
        ha="left",
        fontsize=10.5,
    )
    ess = lines["outcome"][0]["ess"] if lines["outcome"] else np.array([math.nan])
    style.footnote(
        fig,
        [
            "Line: share of the worlds (weighted by the likelihood of the observations dated up "
            "to that day) in the outcome, or with the flag, at the horizon; band: 95% interval "
            "(Wilson at n = effective sample size).",
            "Every date conditions the same worlds: the lines move only as evidence arrives "
            "(dotted: the dates of the observations).",
            style.footnote_text(s)
            + f" · {len(s.get('observations', []))} observations · effective sample size "
            + f"{np.nanmin(ess):,.0f} to {np.nanmax(ess):,.0f}",
        ],
    )
    return fig


def draw_forecast_plots(
    result: ForecastResult | str | Path, formats: Any = style.FORMATS, dpi: int = style.DPI
) -> list[Path]:
    """Draw ``forecast`` into ``<folder>/plots/`` (PNG and SVG)."""
    res = _opened(result, ForecastResult)
    return style.save_figure(plot_forecast(res), res.folder / "plots", "forecast", formats, dpi)


def draw_posterior_plots(
    result: BatchResult | str | Path, formats: Any = style.FORMATS, dpi: int = style.DPI
) -> list[Path]:
    """Draw ``posterior`` into a conditioned batch's ``<folder>/plots/`` (none if unconditioned)."""
    res = _opened(result, BatchResult)
    if not res.has_conditional:
        return []
    return style.save_figure(plot_posterior(res), res.folder / "plots", "posterior", formats, dpi)
