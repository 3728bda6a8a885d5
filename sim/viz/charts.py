"""The viewer's charts as Vega-Lite specifications, drawn by the browser.

Each function returns a plain ``dict`` (JSON-ready, no Altair objects), so
building a chart costs the server a fraction of a millisecond and the
browser draws it as sharp SVG at any width, with tooltips. Rendering PNGs
with Matplotlib on every slider move cost the page more than the
simulation did.

The specifications use only what Vega-Lite 5.2 (the version the viewer's
front end ships) knows. Data come from :mod:`sim.viz.ensemble` and
:mod:`sim.viz.story`; nothing here computes a number a test would check
elsewhere.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from typing import Any

from sim.scenario.model import Scenario
from sim.viz.ensemble import Change, Ensemble

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
BAND_COLOUR = "#3b5b92"
GHOST_COLOUR = "#9a9a9a"
# Matplotlib's YlOrRd at 0.15 ... 0.95, the reports' calm-to-severe ramp
RAMP = ("#fff0a8", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026", "#800026")
FONT = 12

_CONFIG: dict[str, Any] = {
    "axis": {"labelFontSize": FONT, "titleFontSize": FONT, "labelLimit": 260},
    "legend": {"labelFontSize": FONT, "titleFontSize": FONT},
    "title": {"fontSize": 14, "anchor": "start", "fontWeight": "normal"},
    "view": {"stroke": None},
}


def outcome_colours(scenario: Scenario) -> list[str]:
    """The scenario's outcome colours, else a calm-to-severe ramp."""
    n = len(scenario.outcomes)
    ramp = [RAMP[round(i * (len(RAMP) - 1) / max(n - 1, 1))] for i in range(n)]
    return [o.colour or ramp[i] for i, o in enumerate(scenario.outcomes)]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def outcome_rows(ens: Ensemble, change: Sequence[Change] = ()) -> list[dict[str, Any]]:
    """One row per outcome: the bars' data (shares as fractions, texts for tooltips)."""
    by_id = {c.id: c for c in change}
    colours = outcome_colours(ens.scenario)
    rows = []
    for i, o in enumerate(ens.outcomes):
        row: dict[str, Any] = {
            "outcome": o.name,
            "share": o.share,
            "low": o.low,
            "high": o.high,
            "colour": colours[i],
            "label": _pct(o.share),
            "interval": f"{_pct(o.low)} to {_pct(o.high)}",
        }
        c = by_id.get(o.id)
        if c is not None:
            row |= {
                "base": c.base.share,
                "base_text": f"{_pct(c.base.share)} ({_pct(c.base.low)} to {_pct(c.base.high)})",
                "change": c.text(),
            }
        rows.append(row)
    return rows


def outcomes_spec(ens: Ensemble, change: Sequence[Change] = ()) -> dict[str, Any]:
    """Bars of the share of worlds per outcome, 95% intervals, and ghost bars of the baseline.

    With ``change`` (something is pinned or overridden), a wide grey bar
    behind each coloured one shows the scenario as written, so the eye sees
    the change before reading the numbers.
    """
    sc = ens.scenario
    end = sc.date_of(sc.horizon_days - 1)
    title = f"How the worlds end by {end:%d %b %Y}"
    if change:
        title += " (grey: the scenario as written)"
    return _bars(
        outcome_rows(ens, change),
        title,
        f"share of {ens.worlds:,} worlds (whiskers: 95% interval)",
        [("base_text", "as written"), ("change", "change")] if change else [],
    )


def conditional_spec(ens: Ensemble, cond: Any) -> dict[str, Any]:
    """The outcome shares given the evidence (:class:`sim.evidence.ConditionalShares`),
    with ghost bars of the shares of all worlds."""
    colours = outcome_colours(ens.scenario)
    rows = []
    for i, o in enumerate(ens.outcomes):
        s = cond.share("outcome", o.id)
        if s.probability != s.probability:  # NaN: no world agrees with the evidence
            continue
        rows.append(
            {
                "outcome": o.name,
                "share": s.probability,
                "low": s.low,
                "high": s.high,
                "colour": colours[i],
                "label": _pct(s.probability),
                "interval": f"{_pct(s.low)} to {_pct(s.high)}",
                "base": o.share,
                "base_text": _pct(o.share),
            }
        )
    return _bars(
        rows,
        f"Given what was seen by {cond.as_of:%d %b %Y} (grey: all worlds)",
        f"weighted share of the worlds (effective sample size {cond.ess:,.0f}; "
        "whiskers: 95% interval)",
        [("base_text", "all worlds")],
    )


def _bars(
    rows: list[dict[str, Any]], title: str, x_title: str, extra: list[tuple[str, str]]
) -> dict[str, Any]:
    """Horizontal bars with whiskers and labels; ghost bars of ``base`` when ``extra``."""
    ghost = bool(extra)
    top = max([r["high"] for r in rows] + [r.get("base", 0.0) for r in rows] + [0.05])
    y = {
        "field": "outcome",
        "type": "nominal",
        "sort": [r["outcome"] for r in rows],
        "title": None,
        "axis": {"labelLimit": 230},
    }
    x = {
        "field": "share",
        "type": "quantitative",
        "title": x_title,
        "scale": {"domain": [0, min(1.0, top * 1.2)]},
        "axis": {"format": ".0%", "grid": True},
    }
    tooltip = [
        {"field": "outcome", "title": "outcome"},
        {"field": "label", "title": "share"},
        {"field": "interval", "title": "95% interval"},
        *({"field": f, "title": t} for f, t in extra),
    ]
    layers: list[dict[str, Any]] = []
    if ghost:
        layers.append(
            {
                "mark": {"type": "bar", "color": GHOST_COLOUR, "opacity": 0.45, "size": 26},
                "encoding": {"x": {**x, "field": "base"}, "y": y, "tooltip": tooltip},
            }
        )
    layers += [
        {
            "mark": {"type": "bar", "size": 16, "stroke": "#444", "strokeWidth": 0.5},
            "encoding": {
                "x": x,
                "y": y,
                "color": {"field": "colour", "type": "nominal", "scale": None},
                "tooltip": tooltip,
            },
        },
        {
            "mark": {"type": "rule", "color": "black"},
            "encoding": {"x": {**x, "field": "low"}, "x2": {"field": "high"}, "y": y},
        },
        {
            "mark": {"type": "text", "align": "left", "dx": 5, "fontSize": FONT},
            "encoding": {"x": {**x, "field": "high"}, "y": y, "text": {"field": "label"}},
        },
    ]
    return {
        "$schema": SCHEMA,
        "title": title,
        "width": "container",
        "height": {"step": 34},
        "data": {"values": rows},
        "layer": layers,
        "config": _CONFIG,
    }


def _rung_axis(scenario: Scenario) -> dict[str, Any]:
    """A y axis with one tick per rung, labelled with its name and MID level."""
    labels = [f"{r.name} (MID {r.mid_level})" for r in scenario.ladder]
    n = len(labels)
    return {
        "scale": {"domain": [-0.6, n - 0.4], "nice": False, "zero": False},
        "axis": {
            "values": list(range(n)),
            "labelExpr": f"{json.dumps(labels)}[datum.value]",
            "title": None,
            "grid": True,
            "gridColor": "#eee",
        },
    }


def _iso(d: _dt.date) -> str:
    return d.isoformat()


def fan_spec(ens: Ensemble, baseline: Ensemble | None = None) -> dict[str, Any]:
    """The median world's rung per day, the middle 50% and 90% of worlds shaded.

    With ``baseline``, its median is drawn dashed in grey for comparison.
    """
    sc = ens.scenario
    dates = [*ens.dates, sc.date_of(sc.horizon_days)]
    bands = ens.bands.tolist()  # Python ints, read once (not a NumPy scalar per cell)
    base_median = baseline.bands[2].tolist() if baseline is not None else []
    rows = []
    for d in range(len(dates)):
        k = min(d, len(ens.dates) - 1)  # the last day's band holds to the horizon's end
        q05, q25, q50, q75, q95 = (b[k] for b in bands)
        row = {
            "date": _iso(dates[d]),
            "q05": q05 - 0.5,
            "q95": q95 + 0.5,
            "q25": q25 - 0.5,
            "q75": q75 + 0.5,
            "median": q50,
        }
        if k < len(base_median):
            row["base_median"] = base_median[k]
        rows.append(row)
    rung = _rung_axis(sc)
    x = {"field": "date", "type": "temporal", "title": None, "axis": {"format": "%d %b"}}
    step = "step-after"
    layers: list[dict[str, Any]] = [
        {
            "mark": {"type": "area", "interpolate": step, "color": BAND_COLOUR, "opacity": 0.15},
            "encoding": {
                "x": x,
                "y": {"field": "q05", "type": "quantitative", **rung},
                "y2": {"field": "q95"},
            },
        },
        {
            "mark": {"type": "area", "interpolate": step, "color": BAND_COLOUR, "opacity": 0.35},
            "encoding": {
                "x": x,
                "y": {"field": "q25", "type": "quantitative"},
                "y2": {"field": "q75"},
            },
        },
        {
            "mark": {"type": "line", "interpolate": step, "color": BAND_COLOUR, "strokeWidth": 2.5},
            "encoding": {
                "x": x,
                "y": {"field": "median", "type": "quantitative"},
                "tooltip": [
                    {"field": "date", "type": "temporal", "format": "%a %d %b %Y"},
                    {"field": "median", "title": "median rung (index)"},
                ],
            },
        },
    ]
    if baseline is not None:
        layers.append(
            {
                "mark": {
                    "type": "line",
                    "interpolate": step,
                    "color": GHOST_COLOUR,
                    "strokeDash": [5, 3],
                    "strokeWidth": 2,
                },
                "encoding": {"x": x, "y": {"field": "base_median", "type": "quantitative"}},
            }
        )
    note = "dark line: median world; shading: middle 50% and 90% of worlds"
    if baseline is not None:
        note += "; dashed grey: median as written"
    return {
        "$schema": SCHEMA,
        "title": {"text": "Escalation rung over time", "subtitle": note},
        "width": "container",
        "height": 230,
        "data": {"values": rows},
        "layer": layers,
        "config": _CONFIG,
    }


def path_spec(scenario: Scenario, rungs: Sequence[int]) -> dict[str, Any]:
    """One world's rung per simulated day, on the scenario's whole time axis."""
    start, end = scenario.start, scenario.date_of(scenario.horizon_days)
    rows = [{"date": _iso(scenario.date_of(d)), "rung": int(r)} for d, r in enumerate(rungs)]
    if rows:
        rows.append({"date": _iso(scenario.date_of(len(rungs))), "rung": int(rungs[-1])})
    x = {
        "field": "date",
        "type": "temporal",
        "title": None,
        "scale": {"domain": [_iso(start), _iso(end)]},
        "axis": {"format": "%d %b"},
    }
    return {
        "$schema": SCHEMA,
        "title": "This world's rung, day by day",
        "width": "container",
        "height": 170,
        "data": {"values": rows},
        "mark": {
            "type": "line",
            "interpolate": "step-after",
            "color": BAND_COLOUR,
            "strokeWidth": 2.5,
        },
        "encoding": {
            "x": x,
            "y": {"field": "rung", "type": "quantitative", **_rung_axis(scenario)},
            "tooltip": [{"field": "date", "type": "temporal", "format": "%a %d %b %Y"}],
        },
        "config": _CONFIG,
    }
