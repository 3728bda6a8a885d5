"""The after-action review as plain text, for an 80-column terminal.

:func:`format_review` lays out a :class:`~sim.review.data.Review`: the game
in a line, the seat's choices against its doctrine, the other actors'
moves, the ladder, and the outcome shares of the person's path against the
doctrine's over the same worlds, with the paired difference and its 95%
interval. Nothing is printed here; the caller decides where the text goes.
"""

from __future__ import annotations

import math
import textwrap

from sim.review.data import PathRow, Review, Step, Stretch, repeats

WIDTH = 80


def pct(x: float) -> str:
    """A share as a whole percentage, with one decimal below 10% (``4.2%``, ``37%``)."""
    if math.isnan(x):
        return "-"
    v = 100 * x
    if v != 0 and abs(v) < 0.05:
        return "<0.1%" if v > 0 else "-<0.1%"
    return f"{v:.1f}%" if abs(v) < 10 else f"{v:.0f}%"


def points(x: float) -> str:
    """A difference of shares in percentage points, signed (``+12.0``, ``-3.4``)."""
    if math.isnan(x):
        return "-"
    return f"{100 * x:+.1f}"


def share_text(p: float, lo: float, hi: float) -> str:
    """``37% (31-43)``: a share with its 95% interval."""
    if math.isnan(p):
        return "-"
    return f"{pct(p)} ({pct(lo).rstrip('%')}-{pct(hi)})"


def _wrap(text: str, indent: int, width: int = WIDTH) -> list[str]:
    pad = " " * indent
    return textwrap.wrap(
        text, width, initial_indent=pad, subsequent_indent=pad, break_on_hyphens=False
    ) or [pad]


def _cites(cites: tuple[str, ...]) -> str:
    return f" [{', '.join(cites)}]" if cites else ""


HOW = {"chosen": "chose", "waited": "waited:", "doctrine": "left it to doctrine:"}


def _stretch_lines(st: Stretch) -> list[str]:
    """A quiet run of days in one line, or a notable day with what doctrine would have done."""
    s = st.step or st.first
    if st.step is None:
        span = f"{st.first.date} d{st.first.day}" + (f"-{st.last.day}" if st.days > 1 else "")
        days = "1 day" if st.days == 1 else f"{st.days} days"
        if s.how == "waited":
            what = f"waited, {days} ({s.action_name}), as doctrine would have"
        else:
            took = ", ".join(
                x.action_name
                + (f" {k}" if len(st.actions) > 1 else "")
                + (f" by {x.rule}" if x.rule else "")
                for x, k in st.actions
            )
            what = f"left to doctrine, {days}: {took}"
        head, *rest = _wrap(what, 0, WIDTH - 20)
        return [f"{span:<19} {head}", *(" " * 20 + x for x in rest)]
    head = f"{f'{s.date} d{s.day}':<19} "
    what = f"{HOW[s.how]} {s.action_name}"
    what += f" (rule {s.rule}){_cites(s.cites)}" if s.rule else _cites(s.cites)
    if s.constraints and not s.refused:
        what += "; allowed by " + ", ".join(f"{r}{_cites(c)}" for r, c in s.constraints)
    if s.refused:
        what += f"; you asked for {s.wanted}, not allowed that day, so doctrine's choice stood"
    if s.note:
        what += f"; note: {s.note}"
    lines = _wrap(what, 0, WIDTH - len(head))
    out = [head + lines[0], *(" " * len(head) + x for x in lines[1:])]
    if s.differs:
        rule = f" (rule {s.doctrine_rule})" if s.doctrine_rule else " (no rule: its default)"
        doc = f"doctrine would have: {s.doctrine_action_name}{rule}{_cites(s.doctrine_cites)}"
        out += _wrap(doc, len(head) + 2)
    elif s.doctrine_action is not None:
        out.append(" " * (len(head) + 2) + "as doctrine would have")
    return out


def _actor_lines(steps: tuple[Step, ...]) -> list[str]:
    """An actor on doctrine: each action and rule once, on the first day it came, with the
    other days it came again."""
    out = []
    for s, days in repeats(steps):
        head = f"{f'{s.date} d{s.day}':<19} "
        what = s.action_name + (f" (rule {s.rule})" if s.rule else "")
        if len(days) > 1:
            what += f", {len(days)} days: d" + ", ".join(str(d) for d in days)
        what += _cites(s.cites)
        lines = _wrap(what, 0, WIDTH - len(head))
        out += [head + lines[0], *(" " * len(head) + x for x in lines[1:])]
    return out


def path_table(rows: tuple[PathRow, ...], width: int = WIDTH) -> list[str]:
    """Rows of ``name  your path  doctrine's path  difference (interval)``, fitted to ``width``."""
    cols = ("your path", "doctrine", "difference (95%)")
    name_w = max(12, width - 17 - 17 - 24)
    out = [f"{'':<{name_w}} {cols[0]:>16} {cols[1]:>16} {cols[2]:>22}"]
    for r in rows:
        diff = f"{points(r.diff)} ({points(r.lo)}, {points(r.hi)})"
        mark = "*" if r.significant else " "
        name = r.name
        if len(name) > name_w:  # the name on a line of its own, the numbers below it
            out += _wrap(name, 0, width)
            name = ""
        out.append(
            f"{name:<{name_w}} {share_text(r.person.p, r.person.lo, r.person.hi):>16} "
            f"{share_text(r.doctrine.p, r.doctrine.lo, r.doctrine.hi):>16} {diff:>22}{mark}"
        )
    return out


def format_review(review: Review) -> str:
    """The review as text of at most :data:`WIDTH` columns."""
    r = review
    lines = [
        f"After-action review: {r.title}",
        f"You played {r.seat_name} ({r.seat}) in branch {r.branch}, seed {r.seed}; "
        f"{r.days_played} of {r.horizon_days} days from {r.start}.",
    ]
    lines = [x for line in lines for x in _wrap(line, 0)]
    if r.outcome_name:
        lines.append(f"This world ended in: {r.outcome_name} [{r.outcome}]")
    n_diff = len(r.departures)
    lines += ["", f"Your days ({len(r.choices)} played; {n_diff} unlike your doctrine)"]
    lines += [x for st in r.stretches for x in _stretch_lines(st)] or ["  none yet"]
    for actor, steps in r.timeline.items():
        if actor == r.seat:
            continue
        lines += ["", f"{r.actor_names.get(actor, actor)} (doctrine)"]
        lines += _actor_lines(steps) or ["  no action besides the default"]
    lines += ["", "The ladder"]
    lines += [
        f"{f'{m.date} d{m.day}':<19} {'escalates' if m.up else 'de-escalates'}: "
        f"{m.name_from} -> {m.name_to} (MID {m.mid_level})"
        for m in r.ladder
    ] or ["  no move"]
    if r.paths:
        lines += [
            "",
            *_wrap(
                f"Your path against your doctrine's, over the same {r.worlds:,} worlds (the "
                "same draws; shares with 95% intervals, differences in points with Newcombe's "
                "paired interval, * where it leaves out 0):",
                0,
            ),
            "",
        ]
        lines += path_table(r.outcomes)
        if r.flags:
            lines += ["", *path_table(r.flags)]
    lines += ["", *[x for n in r.notes for x in _wrap(n, 0)]] if r.notes else []
    return "\n".join(lines)
