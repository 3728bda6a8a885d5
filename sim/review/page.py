"""The after-action review as one self-contained HTML page, like ``report.html``.

The charts (:mod:`sim.review.charts`) are embedded as base64 PNG data and
the style sheet is the report's own, inline: the page needs no network and
no other file. Every piece of text goes through :func:`html.escape`.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from sim.atomic import atomic_file
from sim.report.page import CSS
from sim.review.charts import CHARTS
from sim.review.data import PathRow, Review, Step, repeats
from sim.review.text import pct, points, share_text

EXTRA_CSS = """
tr.differs td { background: #fbf6e6; }
td.yes { color: #1b6e3a; } td.no { color: #9b2c2c; }
.cites { font-size: .75rem; color: var(--muted); }
table.timeline td:first-child { white-space: nowrap; }
"""


def _e(value: object) -> str:
    return "\u2013" if value is None else html.escape(str(value), quote=True)


def chart_png(review: Review, name: str, dpi: int = 110) -> bytes:
    """One chart of :data:`~sim.review.charts.CHARTS` as PNG bytes."""
    draw = CHARTS[name][0]
    fig = draw(review)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi)
    finally:
        fig.clear()
    return buf.getvalue()


def _figure(name: str, png: bytes) -> str:
    _, heading, caption = CHARTS[name]
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure id="chart-{_e(name)}"><h3>{_e(heading)}</h3>\n'
        f'<img alt="{_e(heading)}" src="data:image/png;base64,{data}">\n'
        f"<figcaption>{_e(caption)}</figcaption></figure>\n"
    )


def _cites(cites: tuple[str, ...]) -> str:
    return f'<div class="cites">{_e(", ".join(cites))}</div>' if cites else ""


def _choices(review: Review) -> str:
    """The seat's days: quiet runs on one row, every notable day on its own."""
    rows = []
    for st in review.stretches:
        s = st.step or st.first
        days = f"{st.first.day}" + (f"–{st.last.day}" if st.days > 1 else "")
        if st.step is None:
            what = "waited" if s.how == "waited" else "left to doctrine"
            took = "<br>".join(
                f"{_e(x.action_name)} ({k} {'day' if k == 1 else 'days'})" for x, k in st.actions
            )
            why = "".join(
                f'<div><span class="id">{_e(x.rule)}</span>{_cites(x.cites)}</div>'
                for x, _ in st.actions
                if x.rule
            )
            rows.append(
                f"<tr><td>{_e(st.first.date)}</td><td class=num>{days}</td><td>{what}</td>"
                f"<td>{took}</td><td>{why}</td><td>as doctrine</td></tr>"
            )
            continue
        how = {"chosen": "chose", "waited": "waited", "doctrine": "doctrine"}[s.how]
        if s.differs:
            doc = (
                f"{_e(s.doctrine_action_name)}"
                + (f' <span class="id">{_e(s.doctrine_rule)}</span>' if s.doctrine_rule else "")
                + _cites(s.doctrine_cites)
            )
        else:
            doc = "as doctrine"
        rule = (f'<span class="id">{_e(s.rule)}</span>' if s.rule else "") + _cites(s.cites)
        if s.constraints and not s.refused:
            rule += "".join(
                f'<div>allowed by <span class="id">{_e(r)}</span>{_cites(c)}</div>'
                for r, c in s.constraints
            )
        extra = ""
        if s.refused:
            extra += f"<div class=cites>asked for {_e(s.wanted)}: not allowed that day</div>"
        if s.note:
            extra += f"<div class=cites>note: {_e(s.note)}</div>"
        cls = ' class="differs"' if s.differs else ""
        rows.append(
            f"<tr{cls}><td>{_e(s.date)}</td><td class=num>{days}</td><td>{how}</td>"
            f"<td>{_e(s.action_name)}{extra}</td><td>{rule}</td><td>{doc}</td></tr>"
        )
    head = "<tr><th>date</th><th class=num>day</th><th>how</th><th>your action</th>"
    head += "<th>rule and claims</th><th>doctrine would have</th></tr>"
    return '<table class="timeline">\n' + head + "\n" + "\n".join(rows) + "\n</table>\n"


def _actor(steps: tuple[Step, ...]) -> str:
    """An actor on doctrine: each action and rule once, with the days it came."""
    if not steps:
        return "<p class=muted>No action besides the default.</p>\n"
    rows = [
        f"<tr><td>{_e(s.date)}</td><td class=num>{_e(', '.join(map(str, days)))}</td>"
        f"<td>{_e(s.action_name)}</td>"
        f'<td><span class="id">{_e(s.rule)}</span>{_cites(s.cites)}</td></tr>'
        for s, days in repeats(steps)
    ]
    head = "<tr><th>first</th><th class=num>days</th><th>action</th><th>rule and claims</th></tr>"
    return '<table class="timeline">\n' + head + "\n" + "\n".join(rows) + "\n</table>\n"


def _paths(rows: tuple[PathRow, ...], what: str) -> str:
    body = []
    for r in rows:
        mark = " *" if r.significant else ""
        body.append(
            f"<tr><td>{_e(r.name)}</td>"
            f"<td class=num>{_e(share_text(r.person.p, r.person.lo, r.person.hi))}</td>"
            f"<td class=num>{_e(share_text(r.doctrine.p, r.doctrine.lo, r.doctrine.hi))}</td>"
            f"<td class=num>{_e(points(r.diff))} ({_e(points(r.lo))} to {_e(points(r.hi))}){mark}"
            "</td></tr>"
        )
    head = (
        f"<tr><th>{_e(what)}</th><th class=num>your path</th><th class=num>doctrine's path</th>"
        "<th class=num>difference, points (95%)</th></tr>"
    )
    return "<table>\n" + head + "\n" + "\n".join(body) + "\n</table>\n"


def render_review(review: Review, charts: dict[str, bytes] | None = None) -> str:
    """The page's HTML; ``charts`` maps chart names to PNG bytes (drawn here if ``None``)."""
    r = review
    if charts is None:
        charts = {name: chart_png(r, name) for name in CHARTS}
    meta = (
        f"{_e(r.seat_name)} · branch {_e(r.branch)} · {r.days_played} of {r.horizon_days} days "
        f"from {_e(r.start)} · seed {r.seed} · {r.worlds:,} worlds per path"
    )
    out = [
        "<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n",
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f"<title>After-action review: {_e(r.title)}</title>\n",
        f"<style>{CSS}{EXTRA_CSS}</style>\n</head>\n<body>\n",
        f"<h1>After-action review: {_e(r.title)}</h1>\n<p class=meta>{meta}</p>\n",
    ]
    summary = (
        f"You took {len(r.choices)} {'day' if len(r.choices) == 1 else 'days'} as "
        f"{_e(r.seat_name)}; on {len(r.departures)} of them you did something other than "
        "what your doctrine would have done."
    )
    if r.outcome_name:
        summary += f" The game's world ended in <strong>{_e(r.outcome_name)}</strong>."
    out.append(f'<p class="headline">{summary}</p>\n')
    for note in r.notes:
        out.append(f'<p class="notes">{_e(note)}</p>\n')
    out.append("<h2 id=paths>Your path against your doctrine's</h2>\n")
    out.append(
        f"<p class=desc>The same {r.worlds:,} worlds (the same draws of every uncertain "
        "parameter and every random number) played twice: once with your choices, once with "
        "your actor on its doctrine from the first day. Shares with 95% Wilson intervals; the "
        "difference in percentage points with Newcombe's interval for paired shares (* where "
        "it leaves out 0).</p>\n"
    )
    out.append(_paths(r.outcomes, "outcome"))
    for name in ("paths", "differences"):
        if name in charts:
            out.append(_figure(name, charts[name]))
    if r.flags:
        out.append(_paths(r.flags, "flag"))
    out.append("<h2 id=timeline>Timeline</h2>\n")
    out.append(f"<h3>{_e(r.seat_name)} (you)</h3>\n")
    out.append(_choices(r))
    if "ladder" in charts:
        out.append(_figure("ladder", charts["ladder"]))
    for actor, steps in r.timeline.items():
        if actor == r.seat:
            continue
        out.append(f"<h3>{_e(r.actor_names.get(actor, actor))} (doctrine)</h3>\n")
        out.append(_actor(steps))
    out.append("<h2 id=ladder>Ladder moves</h2>\n")
    if r.ladder:
        rows = "".join(
            f"<tr><td>{_e(m.date)}</td><td class=num>{m.day}</td>"
            f"<td>{'escalates' if m.up else 'de-escalates'}</td><td>{_e(m.name_from)}</td>"
            f"<td>{_e(m.name_to)}</td><td class=num>{m.mid_level}</td></tr>\n"
            for m in r.ladder
        )
        out.append(
            "<table>\n<tr><th>date</th><th class=num>day</th><th>move</th><th>from</th>"
            f"<th>to</th><th class=num>MID</th></tr>\n{rows}</table>\n"
        )
    else:
        out.append("<p class=muted>No move on the ladder.</p>\n")
    out.append("</body>\n</html>\n")
    return "".join(out)


def write_review(review: Review, path: str | Path) -> Path:
    """Write the review page to ``path`` (whole or not at all) and return the path.

    Raises:
        ResultsError: the file cannot be written (the message names it).
    """
    path = Path(path)
    page = render_review(review)
    with atomic_file(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


__all__ = ["chart_png", "pct", "render_review", "write_review"]
