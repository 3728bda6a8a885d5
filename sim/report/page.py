"""The report as one HTML document with nothing outside it.

Charts are embedded as base64 PNG data and the style sheet is inline; the
only links are anchors to the source articles, which a reader may follow or
not. Every piece of text from a file goes through :func:`html.escape` (here
``_e``); the page carries no time of writing, so the same folder always gives
the same bytes.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sim.report.brief import Brief
from sim.report.contents import ReportData, reproduce_command

if TYPE_CHECKING:
    from sim.registry import Registry
    from sim.scenario.model import Scenario

TOP_RULES = 15
"""Rules shown in the attribution table."""
TOP_CLAIM_RULES = 8
"""Rules whose cited claims are spelled out."""

CHARTS: dict[str, tuple[str, str]] = {
    "outcomes": (
        "Outcomes",
        "Share of simulated worlds ending in each outcome, with 95% Wilson intervals.",
    ),
    "flags": (
        "Flags",
        "Share of worlds in which each yes/no question came true, with 95% intervals.",
    ),
    "fan": (
        "Escalation over time",
        "Rung of the escalation ladder day by day: median and percentile bands over all "
        "worlds, with the scheduled events marked.",
    ),
    "occupancy": (
        "Ladder occupancy",
        "Share of worlds on each rung of the ladder, day by day.",
    ),
    "time_to_event": (
        "Time to the key rungs",
        "Cumulative share of worlds that have reached each key rung by each day.",
    ),
    "drivers_tornado": (
        "What drives each outcome",
        "For each outcome and key flag, its share in the lowest and in the highest fifth of "
        "each parameter's draws (or its least and most telling option), with 95% intervals; "
        "the parameters that swing it most come first.",
    ),
    "drivers_dependence": (
        "How the shares move with the main drivers",
        "The share of worlds in each outcome, bin by bin of its three main drivers, with 95% "
        "Wilson bands.",
    ),
    "attribution": (
        "Rule attribution",
        "How often each rule fired in the worlds of each outcome; rules whose firing "
        "differs most between outcomes come first.",
    ),
}
"""Known charts, in reading order, with a heading and a caption."""

_MANIFEST_ORDER = (
    "scenario",
    "scenario_file",
    "sha256",
    "overrides",
    "pinned",
    "seed",
    "runs",
    "executor",
    "workers",
    "scheduler",
    "chunk_size",
    "started",
    "start",
    "finished",
    "end",
    "wall_seconds",
    "format_version",
    "kind",
    "runs_table",
)
_MANIFEST_HIDDEN = ("command", "argv", "versions", "tables")
_COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}")
"""Colours allowed into a style attribute: hex codes and CSS colour names (whole text)."""

CSS = """
:root { --ink: #1d2430; --muted: #5b6472; --line: #d9dde3; --band: #f4f6f8; --accent: #2d5d8a; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 60rem; padding: 1.5rem 1.5rem 4rem; color: var(--ink);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0 0 .3rem; }
h2 { font-size: 1.25rem; margin: 2.2rem 0 .6rem; padding-bottom: .2rem;
  border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
a { color: var(--accent); }
.meta, .muted, figcaption, .desc, .def { color: var(--muted); }
.meta { margin: 0 0 .8rem; }
nav { margin: 1rem 0; font-size: .9rem; }
nav a { margin-right: .9rem; white-space: nowrap; }
.notes { border-left: 4px solid #c9a227; background: #fbf6e6; padding: .5rem 1rem; }
table { border-collapse: collapse; margin: .4rem 0 1rem; font-size: .9rem; max-width: 100%; }
th, td { padding: .25rem .5rem; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; overflow-wrap: break-word; }
th { background: var(--band); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
tr.sum td { border-top: 1.5px solid var(--ink); font-weight: 600; }
table.rules { width: 100%; table-layout: fixed; font-size: .8rem; hyphens: auto; }
table.rules th { font-size: .75rem; }
table.rules td, table.rules th { padding: .2rem .3rem; overflow-wrap: anywhere; }
table.rules td.num { white-space: normal; }
table.params { width: 100%; table-layout: fixed; font-size: .85rem; }
table.records { width: 100%; table-layout: fixed; }
table.records td:last-child { word-break: break-all; }
.swatch { display: inline-block; width: .8em; height: .8em; margin-right: .4em;
  border: 1px solid rgba(0,0,0,.25); vertical-align: baseline; }
figure { margin: 1.2rem 0 1.8rem; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: .85rem; }
pre { background: var(--band); padding: .7rem 1rem; overflow-x: auto; white-space: pre-wrap;
  word-break: break-all; }
.claim { margin: .5rem 0 .9rem; padding: .5rem .9rem; border-left: 3px solid var(--line); }
.claim p { margin: .25rem 0; }
.tag { display: inline-block; padding: 0 .4rem; border-radius: .2rem; background: var(--band);
  font-size: .8rem; }
.id { font-size: .75rem; color: var(--muted); }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem;
  font-size: .85rem; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; overflow-wrap: anywhere; }
#brief h2 { font-size: 1.05rem; margin: 1rem 0 .35rem; }
#brief p, #brief ul { margin: .3rem 0; }
#brief ul { padding-left: 1.2rem; }
#brief li { margin: .15rem 0; }
.question { font-style: italic; }
.headline { font-size: 1.12rem; font-weight: 600; }
.pair { display: grid; grid-template-columns: minmax(0, 5fr) minmax(0, 7fr); gap: 1rem;
  align-items: start; }
.pair table { width: 100%; margin-top: 0; }
.pair figure { margin: 0; }
.pair figcaption { font-size: .8rem; }
.def { font-size: .8rem; margin: .2rem 0; }
#appendix { margin-top: 3rem; }
#appendix h2 { font-size: 1.1rem; }
@page { size: A4; margin: 11mm 12mm; }
@media print {
  html { font-size: 8.5pt; }
  body { max-width: none; padding: 0; font-size: 9pt; line-height: 1.4; }
  h1 { font-size: 15pt; }
  .headline { font-size: 11pt; }
  nav { display: none; }
  #brief { break-after: page; }
  #brief h2 { margin-top: .5rem; }
  #brief .pair h2 { margin-top: .2rem; }
  #appendix { break-before: page; margin-top: 0; }
  figure, .claim, tr { break-inside: avoid; }
  figure img { max-height: 235mm; width: auto; }
  a { color: inherit; }
}
"""


def _e(value: Any) -> str:
    """Text for HTML: escaped, ``None`` as an en dash."""
    return "\u2013" if value is None else html.escape(str(value), quote=True)


def _share(p: Any) -> float | None:
    try:
        x = float(p)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def percent(p: float | None) -> str:
    """A share as a percentage with one decimal (``0.4231`` -> ``42.3%``).

    A share too small to show as 0.1% but not zero is ``<0.1%``, so a rare
    outcome that did happen never reads as ``0.0%``.
    """
    x = _share(p)
    if x is None:
        return "\u2013"
    if 0 < x < 0.0005:
        return "<0.1%"
    return f"{100 * x:.1f}%"


def interval(lo: float | None, hi: float | None) -> str:
    """A 95% interval as ``38.1–46.5%``."""
    a, b = _share(lo), _share(hi)
    if a is None or b is None:
        return "\u2013"
    return f"{100 * a:.1f}\u2013{100 * b:.1f}%"


def _count(n: Any) -> str:
    x = _share(n)
    return _e(n) if x is None or isinstance(n, bool) else f"{round(x):,}"


def _table(head: Sequence[tuple[str, bool]], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    """A table from (label, numeric) headings and rows of HTML cells (already escaped)."""
    ths = "".join(f"<th{' class=num' if num else ''}>{_e(h)}</th>" for h, num in head)
    trs = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if num else ''}>{cell}</td>"
            for (_, num), cell in zip(head, row, strict=True)
        )
        + "</tr>\n"
        for row in rows
    )
    table = f'<table class="{cls}">' if cls else "<table>"
    return f"{table}\n<tr>{ths}</tr>\n{trs}</table>\n"


def _swatch(colour: Any) -> str:
    if isinstance(colour, str) and _COLOUR.fullmatch(colour):
        return f'<span class="swatch" style="background:{_e(colour)}"></span>'
    return ""


def _paragraphs(text: str) -> str:
    parts = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip())]
    return "".join(f'<p class="desc">{_e(p)}</p>\n' for p in parts if p)


def _end_date(summary: Mapping[str, Any]) -> str | None:
    try:
        start = _dt.date.fromisoformat(str(summary["start"]))
        return (start + _dt.timedelta(days=int(summary["horizon_days"]) - 1)).isoformat()
    except (KeyError, TypeError, ValueError):
        return None


def _header(d: ReportData) -> str:
    s, sc = d.summary, d.scenario
    title = s.get("title") or (sc.title if sc else None) or s.get("scenario", "Results")
    bits = []
    if s.get("start"):
        days = f" ({_count(s['horizon_days'])} days)" if s.get("horizon_days") else ""
        bits.append(f"{_e(s['start'])} to {_e(_end_date(s))}{days}")
    if s.get("runs") is not None:
        bits.append(f"{_count(s['runs'])} simulated worlds")
    if s.get("seed") is not None:
        bits.append(f"seed {_e(s['seed'])}")
    out = f"<h1>{_e(title)}</h1>\n<p class=meta>{' · '.join(bits)}</p>\n"
    if d.notes:
        out += '<div class="notes">' + "".join(f"<p>{_e(n)}</p>" for n in d.notes) + "</div>\n"
    return out


def _nav(sections: Sequence[tuple[str, str]]) -> str:
    return "<nav>" + "".join(f'<a href="#{a}">{_e(t)}</a>' for a, t in sections) + "</nav>\n"


def _figure(stem: str, png: bytes, heading: str, caption: str, level: str = "h3") -> str:
    data = base64.b64encode(png).decode("ascii")
    title = f"<{level}>{_e(heading)}</{level}>\n" if level else ""
    return (
        f'<figure id="chart-{_e(stem)}">{title}'
        f'<img alt="{_e(heading)}" src="data:image/png;base64,{data}">\n'
        f"<figcaption>{_e(caption)}</figcaption></figure>\n"
    )


def _short_titles(titles: Sequence[str]) -> list[str]:
    """Titles without the part before the first colon they all share ("Base, counterfactual: ")."""
    heads = {t.split(": ", 1)[0] for t in titles if ": " in t}
    if len(heads) == 1 and all(": " in t for t in titles):
        return [t.split(": ", 1)[1] for t in titles]
    return list(titles)


def _brief(d: ReportData) -> str:
    """Page 1: the question, the answer in a sentence and a few numbers, and the caveats."""
    b: Brief | None = d.brief
    out = '<section id="brief">\n'
    if b is None:
        return out + "</section>\n"
    if b.question:
        out += f'<p class="question">{_e(b.question)}</p>\n'
    if b.headline:
        out += f'<p class="headline">{_e(b.headline)}</p>\n'
    rows = [
        [
            _swatch(o.get("colour")) + _e(o.get("name", o.get("id"))),
            _e(percent(o.get("p"))),
            _e(interval(o.get("lo"), o.get("hi"))),
        ]
        for o in b.outcomes
    ]
    head = [("Outcome", False), ("Share", True), ("95% interval", True)]
    table = _table(head, rows, cls="brief-outcomes")
    if b.aggregates:
        sums = "".join(
            f'<tr class="sum"><td>{_e(a.name)}</td><td class=num>{_e(percent(a.share.p))}</td>'
            f"<td class=num>{_e(interval(a.share.lo, a.share.hi))}</td></tr>\n"
            for a in b.aggregates
        )
        table = table.replace("</table>", sums + "</table>")
        table += (
            '<p class="def">'
            + " ".join(f"<strong>{_e(a.name)}</strong>: {_e(a.definition)}." for a in b.aggregates)
            + "</p>\n"
        )
    chart = ""
    if "outcomes" in d.charts:
        chart = _figure(
            "outcomes",
            d.charts["outcomes"],
            CHARTS["outcomes"][0],
            "Share of worlds ending in each outcome, with 95% Wilson intervals.",
            level="",
        )
    out += (
        '<div class="pair"><div><h2 id="answer">How it ends</h2>\n'
        + table
        + f"</div><div>{chart}{_when(b)}</div></div>\n"
    )
    if b.drivers:
        out += f'<h2 id="drivers">What drives {_e(b.drivers_output)}</h2>\n<ul>\n'
        out += "".join(
            f"<li><strong>{_e(x.parameter)}</strong>: {_e(x.shares())}.</li>\n" for x in b.drivers
        )
        out += "</ul>\n"
        n = b.quiet_drivers
        quiet = (
            f" {n} other drawn parameter{'s' if n > 1 else ''} "
            f"{'do' if n > 1 else 'does'} not move it beyond the intervals."
            if n
            else ""
        )
        out += (
            f'<p class="def">The share of worlds ending in {_e(b.drivers_output)} in the lowest '
            "and the highest fifth of a parameter's draws (or by option), for those that move it "
            f"most.{quiet} These are associations among the worlds, not effects: a swing "
            "includes whatever else the worlds of a bin have in common (knock-outs measure "
            "effects). Every outcome's drivers are in the chart &ldquo;What drives each "
            "outcome&rdquo;.</p>\n"
        )
    if b.knockouts or b.discoveries:
        out += '<h2 id="why">Which rules and conditions lead there</h2>\n<ul>\n'
        # With a discovery too, two knock-outs keep the brief on one page.
        shown = b.knockouts[: 2 if b.discoveries else len(b.knockouts)]
        out += "".join(f"<li>{_e(x)}.</li>\n" for x in shown)
        out += "".join(f"<li>{_e(x)}</li>\n" for x in b.discoveries)
        out += "</ul>\n"
    if b.variants and not (b.knockouts or b.discoveries):  # room on page 1 for one of them
        titles = _short_titles([v.title for v in b.variants])
        out += (
            f"<p><strong>Variants.</strong> {len(b.variants)} counterfactual"
            f"{'s' if len(b.variants) > 1 else ''} of this scenario "
            "can be set against it with <code>wargame compare</code>: "
            f"{_e('; '.join(titles))}.</p>\n"
        )
    if b.caveats:
        out += '<h2 id="caveats">What these numbers do not say</h2>\n<ul>\n'
        out += "".join(f"<li>{_e(c)}</li>\n" for c in b.caveats)
        out += "</ul>\n"
    return out + "</section>\n"


def _when(b: Brief) -> str:
    """Time to event: each key rung's share of worlds and median first day, as a small table."""
    reached = [m for m in b.milestones if m.reached is not None or m.median_day is not None]
    if not reached:
        return ""
    rows = [
        [
            _e(m.rung),
            _e(percent(m.reached.p if m.reached else None)),
            _e(f"{m.date} (day {m.median_day:g})" if m.median_day is not None else None),
        ]
        for m in reached
    ]
    head = [("Key rung", False), ("Reached", True), ("First reached, median", True)]
    return (
        '<h2 id="when">When</h2>\n'
        + _table(head, rows, cls="brief-when")
        + '<p class="def">Reached by the last day; the median first day among those '
        "worlds (day 0 is the first).</p>\n"
    )


def _outcomes(d: ReportData) -> str:
    s, sc = d.summary, d.scenario
    out = '<h2 id="outcomes">Outcomes and flags</h2>\n'
    if d.brief is None or not d.brief.question:
        description = sc.description if sc else s.get("description", "")
        if description:
            out += _paragraphs(description)
    rows = [
        [
            _swatch(o.get("colour")) + _e(o.get("name", o.get("id"))),
            _e(percent(o.get("p"))),
            _e(interval(o.get("lo"), o.get("hi"))),
            _count(o.get("count")),
        ]
        for o in s["outcomes"]
    ]
    head = [("Outcome", False), ("Probability", True), ("95% interval", True), ("Worlds", True)]
    out += (
        "<p>Each simulated world ends in exactly one outcome. "
        "Probabilities are shares of worlds; the intervals are 95% Wilson score intervals, "
        "which reflect the number of worlds, not the uncertainty of the scenario itself.</p>\n"
    )
    out += _table(head, rows)
    flags = s.get("flags") or []
    if flags:
        # Mark the key flags only when they are a choice among the flags.
        key = set(s.get("key_flags") or ())
        if key >= {f.get("id") for f in flags}:
            key = set()
        rows = [
            [
                _e(f.get("name", f.get("id")))
                + (" <span class=tag>key</span>" if f.get("id") in key else ""),
                _e(percent(f.get("p"))),
                _e(interval(f.get("lo"), f.get("hi"))),
                _count(f.get("count")),
            ]
            for f in flags
        ]
        out += '<h3 id="flags">Flags</h3>\n<p>Yes/no questions recorded in every world.</p>\n'
        out += _table([("Flag", False), *head[1:]], rows)
    events = s.get("events") or []
    if events:
        rows = [
            [_e(ev.get("name", ev.get("id"))), _e(ev.get("start_date")), _e(ev.get("end_date"))]
            for ev in events
        ]
        out += "<h3>Scheduled events</h3>\n"
        out += _table([("Event", False), ("From", True), ("To", True)], rows)
    return out


def _charts_html(
    charts: Mapping[str, bytes], placed: set[str] | frozenset[str] = frozenset()
) -> str:
    """Every chart but the outcomes (on page 1) and those ``placed`` in another section:
    known ones in reading order, then others."""
    out = '<h2 id="charts">Charts</h2>\n'
    if not charts:
        return out + "<p class=muted>No charts were found in this folder.</p>\n"
    order = [s for s in CHARTS if s in charts] + [s for s in charts if s not in CHARTS]
    for stem in order:
        if stem == "outcomes" or stem in placed:
            continue
        heading, caption = CHARTS.get(stem, (stem.replace("_", " ").capitalize(), ""))
        out += _figure(stem, charts[stem], heading, caption)
    return out


def _rule_description(sc: Scenario | None, rule_id: str, actor: str) -> str:
    if sc is None:
        return ""
    for r in sc.rules:
        if r.id == rule_id and (r.actor == actor or not actor):
            return r.description
    return ""


def _actor_action(sc: Scenario | None, actor: str, action: str) -> tuple[str, str]:
    """The names of an actor and of one of its actions (the ids when not found)."""
    if sc is None:
        return actor, action
    who = next((a for a in sc.actors if a.id == actor), None)
    if who is None:
        return actor, action
    act = next((x for x in who.actions if x.id == action), None)
    return who.name, act.name if act is not None else action


def _rule_cell(d: ReportData, r: Any) -> str:
    """A rule as a reader sees it: its description, who does what, and its id small."""
    text = _rule_description(d.scenario, r.rule, r.actor)
    who, act = _actor_action(d.scenario, r.actor, r.action)
    head = _e(text) if text else f"<code>{_e(r.rule)}</code>"
    return (
        f'{head}<br><span class="muted">{_e(who)}, {_e(r.kind)}: {_e(act)}</span>'
        f' <code class="id">{_e(r.rule)}</code>'
    )


OUTCOME_COLUMNS = 6
"""Outcome columns per attribution table; more outcomes go on to a further table."""


def _attribution(d: ReportData) -> str:
    out = '<h2 id="rules">A. Rule attribution</h2>\n'
    if not d.rules:
        return out + "<p class=muted>No rule attribution is available.</p>\n"
    outcomes = d.summary["outcomes"]
    top = d.rules[:TOP_RULES]
    out += (
        f"<p>The {len(top)} rules whose firing differs most between outcomes. "
        "<em>Fired</em> is the share of all worlds in which the rule fired at least once; each "
        "outcome column is the share of the worlds ending in that outcome in which it fired, "
        "the number in the attribution chart's cell. "
        "<em>Influence</em> is the largest difference, in percentage points, between outcomes in "
        "how often the rule fired. It is an association within the model, not a cause in the "
        "world.</p>\n"
    )
    groups = [
        outcomes[i : i + OUTCOME_COLUMNS] for i in range(0, len(outcomes), OUTCOME_COLUMNS)
    ] or [[]]
    for n, group in enumerate(groups):
        first, last = n == 0, n == len(groups) - 1
        head = [("Rule", False)] + ([("Fired", True)] if first else [])
        head += [(str(o.get("name", o["id"])), True) for o in group]
        head += [("Influence (pp)", True)] if last else []
        rows = []
        for r in top:
            row = [_rule_cell(d, r)] + ([_e(percent(r.share_fired))] if first else [])
            row += [_e(percent(r.share_in.get(str(o["id"])))) for o in group]
            row += [f"{100 * r.influence:.1f}"] if last else []
            rows.append(row)
        cols = len(head) - 1
        widths = f'<colgroup><col style="width:{100 - 9 * cols}%">' + (
            '<col style="width:9%">' * cols + "</colgroup>"
        )
        if len(groups) > 1:
            out += f"<p class=def>Table {n + 1} of {len(groups)}.</p>\n"
        out += _table(head, rows, cls="rules").replace("\n", "\n" + widths, 1)
    return out


def _parameters(d: ReportData) -> str:
    """Every parameter: its name, what it is, how it is drawn and the claims it cites."""
    sc = d.scenario
    out = '<h2 id="parameters">B. Parameters and their sources</h2>\n'
    if sc is None or not sc.parameters:
        return out + "<p class=muted>The scenario file is not available.</p>\n"
    from sim.results.drivers import parameter_name

    pinned = d.manifest.get("pinned") or {}
    out += (
        "<p>The uncertain quantities drawn afresh in each world. Their ranges are the "
        "modellers' readings of the cited claims (docs/scenarios.md gives the reasoning); "
        "one marked <em>assumption</em> is the modellers' own (the scenario says so, or it "
        "cites no claim).</p>\n"
    )
    rows = []
    for prm in sc.parameters:
        how = _drawn(prm)
        if prm.id in pinned:
            how = f"pinned to {pinned[prm.id]}"
        cites = ", ".join(prm.cites)
        own = "assum" in prm.description.lower() or not prm.cites
        rows.append(
            [
                _e(parameter_name(prm.id, prm.description))
                + f' <code class="id">{_e(prm.id)}</code>',
                _e(how),
                ("<em>assumption</em> " if own else "")
                + (f'<span class="id">{_e(cites)}</span>' if cites else ""),
            ]
        )
    head = [("Parameter", False), ("Drawn as", False), ("Claims cited", False)]
    widths = '<colgroup><col style="width:45%"><col style="width:25%"><col style="width:30%">'
    return out + _table(head, rows, cls="params").replace("\n", "\n" + widths + "</colgroup>", 1)


def _drawn(prm: Any) -> str:
    """A parameter's distribution in words (``uniform 0.1 to 0.4``, ``choice: a 60%, b 40%``)."""
    args = prm.args or {}
    if prm.dist == "fixed":
        return f"fixed at {prm.options[0][0] if prm.enum_values else args.get('value')}"
    if prm.options:
        opts = ", ".join(f"{str(v).replace('_', ' ')} {100 * w:.0f}%" for v, w in prm.options)
        return f"{prm.dist}: {opts}"
    if "low" in args and "high" in args:
        mode = f", mode {args['mode']:g}" if "mode" in args else ""
        return f"{prm.dist} {args['low']:g} to {args['high']:g}{mode}"
    return prm.dist + (" " + ", ".join(f"{k} {v:g}" for k, v in args.items()) if args else "")


def _value(value: Mapping[str, Any] | None) -> str:
    if not value:
        return ""
    unit = f" {value['unit']}" if value.get("unit") else ""
    about = "about " if value.get("approx") else ""
    if "quantity" in value:
        return f"{about}{value['quantity']:,}{unit}"
    if "low" in value:
        return f"{about}{value['low']:,}\u2013{value['high']:,}{unit}"
    if "date" in value:
        return str(value["date"])
    if "start" in value:
        return f"{value['start']} to {value['end']}"
    return ""


def _source(reg: Registry, sid: str) -> str:
    src = reg.sources.get(sid)
    if src is None:
        return f"<code>{_e(sid)}</code> (not in seeds/sources.yaml)"
    parts = [_e(src.outlet), f"\u201c{_e(src.title)}\u201d"]
    if src.author:
        parts.insert(0, _e(src.author))
    parts.append(_e(src.date))
    text = ", ".join(parts)
    if src.url.startswith(("https://", "http://")):
        text += f', <a href="{_e(src.url)}" rel="noopener noreferrer">{_e(src.url)}</a>'
    return text


def _claims(d: ReportData) -> str:
    out = '<h2 id="claims">C. Claims behind the most influential rules</h2>\n'
    top = d.rules[:TOP_CLAIM_RULES]
    if not top:
        return out + "<p class=muted>No rules to show.</p>\n"
    out += (
        "<p>Every rule is derived from claims in the sources. Summaries are our paraphrases, "
        "not quotations.</p>\n"
    )
    reg = d.registry
    for r in top:
        who, act = _actor_action(d.scenario, r.actor, r.action)
        about = f"{_e(who)}, {_e(r.kind)} \u2192 {_e(act)}"
        text = _rule_description(d.scenario, r.rule, r.actor)
        out += (
            f"<h3>{_e(text) if text else ''} <code class=id>{_e(r.rule)}</code> "
            f"<span class=muted>({about})</span></h3>\n"
        )
        if not r.cites:
            out += "<p class=muted>This rule cites no claim.</p>\n"
        for cid in r.cites:
            claim = reg.claims.get(cid) if reg is not None else None
            if reg is None or claim is None:
                where = (
                    "claims registry not available" if reg is None else "not in seeds/claims.yaml"
                )
                out += (
                    f'<div class="claim"><p><code>{_e(cid)}</code> '
                    f"<span class=muted>({where})</span></p></div>\n"
                )
                continue
            value = _value(claim.value)
            who = "the source's author" if claim.stated_by == "author" else claim.stated_by
            lines = [
                f"<code>{_e(claim.id)}</code> <span class=tag>{_e(claim.kind)}</span> "
                f"stated by {_e(who)}",
                _e(claim.summary),
            ]
            if value:
                lines.append(f"Value: {_e(value)}")
            if claim.contradicts:
                lines.append(
                    "Disputed by: " + ", ".join(f"<code>{_e(c)}</code>" for c in claim.contradicts)
                )
            lines.append("Source: " + "; ".join(_source(reg, s) for s in claim.sources))
            out += '<div class="claim">' + "".join(f"<p>{x}</p>" for x in lines) + "</div>\n"
    return out


def _kv(items: Sequence[tuple[str, Any]]) -> str:
    def show(v: Any) -> str:
        if isinstance(v, (list, dict)):
            return _e(json.dumps(v, ensure_ascii=False)) if v else "none"
        return _e(v)

    rows = "".join(f"<dt>{_e(k)}</dt><dd>{show(v)}</dd>" for k, v in items)
    return f'<dl class="kv">{rows}</dl>\n'


def _provenance(d: ReportData) -> str:
    m = d.manifest
    out = '<h2 id="reproduce">D. Reproduce</h2>\n'
    command = reproduce_command(m)
    if command:
        out += (
            "<p>Run from the folder the batch was run from, this command gives the same "
            "numbers, whatever the executor and the number of workers:</p>\n"
            f"<pre><code>{_e(command)}</code></pre>\n"
        )
    else:
        out += "<p class=muted>The command is not known: the manifest does not record it.</p>\n"
    out += '<h2 id="manifest">E. Manifest</h2>\n'
    if not m:
        return out + "<p class=muted>No manifest.json in this folder.</p>\n"
    keys = [k for k in _MANIFEST_ORDER if k in m]
    keys += [k for k in m if k not in keys and k not in _MANIFEST_HIDDEN]
    out += _kv([(k, m[k]) for k in keys])
    versions = m.get("versions")
    if isinstance(versions, dict) and versions:
        out += "<h3>Versions</h3>\n" + _kv(list(versions.items()))
    return out + _table_records(m.get("tables"))


def _table_records(tables: Any) -> str:
    """The manifest's record of each table (checked before the report was written)."""
    if not isinstance(tables, dict) or not tables:
        return ""
    rows = [
        [f"<code>{_e(name)}</code>", _count(t.get("rows")), f"<code>{_e(t.get('sha256'))}</code>"]
        for name, t in tables.items()
        if isinstance(t, dict)
    ]
    head = [("table", False), ("rows", True), ("SHA-256", False)]
    widths = '<colgroup><col style="width:22%"><col style="width:12%"><col style="width:66%">'
    return (
        "<h3>Tables</h3>\n<p>Each table matched this record when the report was written.</p>\n"
        + _table(head, rows, cls="records").replace("\n", "\n" + widths + "</colgroup>", 1)
    )


def render(d: ReportData) -> str:
    """The report as one HTML document (no external resources).

    Page 1 is the brief (:func:`sim.report.brief.brief`); then the outcome
    and flag tables and the charts; then the appendix: rule attribution,
    parameters, claims, the command that reproduces the numbers and the
    manifest, where the scenario's ids are shown (small) beside the names.
    """
    title = d.summary.get("title") or d.summary.get("scenario") or "Results"
    sections = [("brief", "Summary"), ("outcomes", "Outcomes")]
    sections += [(anchor, name) for anchor, name, _ in d.sections]
    sections += [
        ("charts", "Charts"),
        ("appendix", "Appendix: rules, parameters, claims, manifest"),
    ]
    appendix = (
        '<section id="appendix">\n<h2 class="part">Appendix</h2>\n'
        f'<p class="def">Scenario <code class="id">'
        f"{_e(d.summary.get('scenario', d.manifest.get('scenario', '')))}</code>. "
        "Ids (small) name the scenario's rules, parameters and claims as its file does.</p>\n"
        + _attribution(d)
        + _parameters(d)
        + _claims(d)
        + _provenance(d)
        + "</section>\n"
    )
    body = (
        _header(d)
        + _nav(sections)
        + _brief(d)
        + '<section id="details">\n'
        + _outcomes(d)
        + "".join(html_ for _, _, html_ in d.sections)
        + _charts_html(d.charts, d.placed)
        + "</section>\n"
        + appendix
    )
    return (
        "<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)} \u2013 results</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n{body}</body>\n</html>\n"
    )
