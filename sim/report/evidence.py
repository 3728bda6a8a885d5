"""The report's evidence: a conditioned batch's section, and a forecast folder's page.

* :func:`evidence_section`: for a batch run with ``--as-of``, the section
  "Given the evidence": the observations used (date, what was seen, noise,
  the claims cited), the worlds that agree and the effective sample size,
  the warning when they are too few, every outcome and flag before and given
  the evidence, and the prior-against-posterior chart.
* :func:`render_forecast`: the whole page of a ``forecast`` folder: the
  forecast of each outcome and key flag by as-of date, its chart, the
  observations, the command that reproduces it and the manifest.

Both read what :mod:`sim.report.contents` and the folder's reader give, and
write HTML with the page's own helpers (:mod:`sim.report.page`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sim.report.contents import ReportData, _charts, reproduce_command
from sim.report.page import CSS, _e, _figure, _kv, _nav, _table, _table_records, interval, percent
from sim.results.reader import BatchResult, ForecastResult

POSTERIOR_CAPTION = (
    "Each drawn parameter: for a number, the prior's histogram (grey steps, every world) "
    "under the posterior's (blue, the worlds weighted by the likelihood of the observations), "
    "with both means; for a choice, each option's prior and posterior share. A posterior on "
    "its prior: the evidence says nothing about that parameter."
)
FORECAST_CAPTION = (
    "The probability of each outcome (left) and key flag (right) at the horizon, given the "
    "observations dated up to each as-of date, with its 95% interval (Wilson at n = effective "
    "sample size). Every date conditions the same worlds: the lines move only as evidence "
    "arrives (dotted: the observations' dates)."
)


def _day(date: Any) -> str:
    """A date that does not break across lines."""
    return f'<span style="white-space:nowrap">{_e(date)}</span>'


def _observations(records: Sequence[Mapping[str, Any]], used: set[str] | None = None) -> str:
    """The observations as a table: date, id, what was seen, noise, claims (used ones marked)."""
    rows = []
    for r in sorted(records, key=lambda r: (str(r.get("date")), str(r.get("id")))):
        mark = "" if used is None or r.get("id") in used else " <span class=muted>(later)</span>"
        description = r.get("description") or ""
        rows.append(
            [
                _day(r.get("date")),
                f"<code class=id>{_e(r.get('id'))}</code>{mark}"
                + (f"<div class=def>{_e(description)}</div>" if description else ""),
                f"<code>{_e(r.get('seen'))}</code>",
                _e(f"{float(r.get('noise') or 0):g}"),
                ", ".join(f"<code class=id>{_e(c)}</code>" for c in r.get("cites") or ()),
            ]
        )
    head = [("Date", False), ("Observation", False), ("Seen", False), ("Noise", True)]
    return _table([*head, ("Claims", False)], rows)


def _before_after(d: ReportData, rows: Sequence[Mapping[str, Any]]) -> str:
    """Every outcome and flag: its share over all worlds, then given the evidence."""
    s = d.summary
    before = {("outcome", o["id"]): o for o in s.get("outcomes", [])}
    before |= {("flag", f["id"]): f for f in s.get("flags", [])}
    out_rows = []
    for r in rows:
        b = before.get((str(r["kind"]), str(r["name"])), {})
        out_rows.append(
            [
                _e(b.get("name", r["name"]))
                + (" <span class=tag>flag</span>" if r["kind"] == "flag" else ""),
                _e(percent(b.get("p"))),
                _e(percent(r["probability"])),
                _e(interval(r["low"], r["high"])),
            ]
        )
    head = [("Outcome or flag", False), ("All worlds", True), ("Given the evidence", True)]
    return _table([*head, ("95% interval", True)], out_rows)


def evidence_section(d: ReportData, result: BatchResult) -> str:
    """The section "Given the evidence" of a batch conditioned with ``--as-of``."""
    record = d.manifest.get("conditional") or {}
    used = set(record.get("observations_used") or ())
    out = '<h2 id="evidence">Given the evidence</h2>\n'
    ess = float(record.get("ess", math.nan))
    out += (
        f"<p>The same {int(record.get('runs', 0)):,} worlds, each weighted by the likelihood "
        f"of the observations dated up to <strong>{_e(record.get('as_of'))}</strong> (1 - noise "
        "where an observation held in the world, noise where it did not): "
        f"{int(record.get('worlds', 0)):,} worlds agree, worth an effective "
        f"{ess:,.1f} independent worlds. Intervals are Wilson's at n = the effective sample "
        "size; they reflect the number of worlds, not whether the scenario is right.</p>\n"
    )
    if record.get("warning"):
        out += f'<div class="notes"><p>{_e(record["warning"])}</p></div>\n'
    out += _before_after(d, result.conditional.to_dict("records"))
    out += "<h3>Observations</h3>\n" + _observations(d.manifest.get("observations") or [], used)
    if "posterior" in d.charts:
        out += _figure("posterior", d.charts["posterior"], "Prior against posterior",
                       POSTERIOR_CAPTION)  # fmt: skip
    return out


def _forecast_table(summary: Mapping[str, Any], table: Any) -> str:
    """One row per as-of date: each outcome's probability, then the ESS and worlds."""
    outcomes = summary.get("outcomes", [])
    rows = []
    for as_of, part in table[table["kind"] == "outcome"].groupby("as_of", sort=False):
        p = dict(zip(part["name"].astype(str), part["probability"], strict=True))
        rows.append(
            [_day(as_of)]
            + [_e(percent(p.get(o["id"]))) for o in outcomes]
            + [_e(f"{float(part['ess'].iloc[0]):,.1f}"), _e(f"{int(part['worlds'].iloc[0]):,}")]
        )
    head = [("As of", False)] + [(o.get("name", o["id"]), True) for o in outcomes]
    return _table([*head, ("ESS", True), ("Worlds", True)], rows)


def _flags_table(summary: Mapping[str, Any], table: Any) -> str:
    """The key flags' probability at the first and the last as-of date, with intervals."""
    keys = summary.get("key_flags") or [f["id"] for f in summary.get("flags", [])]
    names = {f["id"]: f.get("name", f["id"]) for f in summary.get("flags", [])}
    dates = list(dict.fromkeys(table["as_of"].astype(str)))
    if not dates or not keys:
        return ""
    first, last = dates[0], dates[-1]
    rows = []
    for f in keys:
        part = table[(table["kind"] == "flag") & (table["name"].astype(str) == f)]
        at = {str(r["as_of"]): r for r in part.to_dict("records")}
        a, b = at.get(first), at.get(last)
        if a is None or b is None:
            continue
        rows.append(
            [
                _e(names.get(f, f)),
                _e(percent(a["probability"])),
                _e(interval(a["low"], a["high"])),
                _e(percent(b["probability"])),
                _e(interval(b["low"], b["high"])),
            ]
        )
    head = [("Key flag", False), (f"As of {first}", True), ("95% interval", True)]
    return _table([*head, (f"As of {last}", True), ("95% interval", True)], rows)


def render_forecast(result: ForecastResult, charts: Mapping[str, bytes]) -> str:
    """The report of a forecast folder, as one self-contained HTML document."""
    s, m = result.summary, result.manifest
    title = s.get("title") or s.get("scenario") or "Forecast"
    table = result.forecast
    dates = s.get("as_of") or []
    meta = [
        "forecast by date",
        f"as of {_e(dates[0])} to {_e(dates[-1])}" if dates else "",
        f"questions at the horizon {_e(s.get('horizon'))}",
        f"{int(s.get('runs', 0)):,} simulated worlds",
        f"seed {_e(s.get('seed'))}",
    ]
    out = f"<h1>{_e(title)}</h1>\n<p class=meta>{' · '.join(m for m in meta if m)}</p>\n"
    out += _nav(
        [("forecast", "Forecast"), ("observations", "Observations"), ("reproduce", "Reproduce")]
    )
    out += '<h2 id="forecast">The forecast an analyst would have published</h2>\n'
    out += (
        "<p>For each as-of date, the probability of each outcome at the horizon given the "
        "observations dated up to that day: the scenario's worlds, simulated once, each "
        "weighted by the likelihood of the reports (see docs/evidence.md). ESS: the effective "
        f"sample size; below {int(s.get('ess_needed', 385))} the intervals are wider than "
        "±5 points.</p>\n"
    )
    thin = sorted(set(table[table["ess"] < float(s.get("ess_needed", 385))]["as_of"].astype(str)))
    if thin:
        out += (
            '<div class="notes"><p>Few worlds agree with the evidence as of '
            f"{_e(', '.join(thin))}: those forecasts are imprecise (run more worlds).</p></div>\n"
        )
    out += _forecast_table(s, table) + _flags_table(s, table)
    if "forecast" in charts:
        out += _figure("forecast", charts["forecast"], "Forecast by date", FORECAST_CAPTION)
    out += '<h2 id="observations">Observations</h2>\n' + _observations(s.get("observations", []))
    out += '<h2 id="reproduce">Reproduce</h2>\n'
    command = reproduce_command(m)
    if command:
        out += f"<pre><code>{_e(command)}</code></pre>\n"
    keys = [k for k in m if k not in ("tables", "versions", "argv", "observations")]
    out += "<h3>Manifest</h3>\n" + _kv([(k, m[k]) for k in keys])
    out += _table_records(m.get("tables"))
    return (
        "<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)} \u2013 forecast</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n{out}</body>\n</html>\n"
    )


def forecast_page(result: ForecastResult) -> str:
    """:func:`render_forecast` with the charts found in the folder's ``plots/``."""
    return render_forecast(result, _charts(result.folder))
