"""The day's screen of a game, as text for an 80-column terminal.

Pure functions of what the game gives (the seated actor's
:class:`~sim.seat.view.SeatView` of the game's one world, and the predicted
consequences of each allowed action); nothing is printed here. Colour is a
:class:`Style`: plain text unless the session writes to a terminal.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.review.text import share_text
from sim.scenario.model import Scenario
from sim.stats import Share

WIDTH = 80
COLUMNS = 3
"""Actions side by side in the table of predicted consequences (more go in a second table)."""
CELL = 16
"""Characters of one share with its interval in that table (``100% (98-100%)``)."""


@dataclass(frozen=True)
class Style:
    """ANSI colour when ``on``, plain text otherwise (``NO_COLOR`` turns it off)."""

    on: bool = False

    @classmethod
    def for_stream(cls, stream: Any) -> Style:
        """Colour only for a terminal, and only if ``NO_COLOR`` is not set."""
        tty = bool(getattr(stream, "isatty", lambda: False)())
        return cls(tty and not os.environ.get("NO_COLOR"))

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.on and text else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def good(self, text: str) -> str:
        return self._wrap("32", text)

    def bad(self, text: str) -> str:
        return self._wrap("31", text)

    def note(self, text: str) -> str:
        return self._wrap("36", text)


def wrap(text: str, indent: int = 0, first: str | None = None, width: int = WIDTH) -> list[str]:
    """``text`` wrapped to ``width``, every line indented by ``indent`` (the first by
    ``first`` when given)."""
    pad = " " * indent
    return textwrap.wrap(
        text,
        width,
        initial_indent=pad if first is None else first,
        subsequent_indent=pad,
        break_on_hyphens=False,
    ) or [pad]


def cites(ids: Sequence[str]) -> str:
    """Claim ids as the story writes them: ``[a, b]`` (nothing when there are none)."""
    return f"[{', '.join(ids)}]" if ids else ""


def value_text(sc: Scenario, name: str, x: Any) -> str:
    """One known value as a person reads it: yes/no, the word of an enum, a number."""
    v = np.asarray(x).reshape(-1)
    v = v[0] if v.size else v
    words: tuple[str, ...] = ()
    whole = np.issubdtype(np.asarray(v).dtype, np.integer)
    var = next((s for s in sc.state if s.id == name), None)
    par = next((p for p in sc.parameters if p.id == name), None)
    if var is not None:
        words, whole = (var.values, var.type == "int") if var.type != "bool" else ((), False)
    elif par is not None:
        words, whole = par.enum_values, par.integer
    if np.asarray(v).dtype == bool or (var is not None and var.type == "bool"):
        return "yes" if bool(v) else "no"
    if words:
        return words[int(v)]
    return f"{int(v):,}" if whole else f"{float(v):.3g}"


def header(sc: Scenario, view: Any, seat_name: str, branch: str, style: Style) -> list[str]:
    """The date, the day, who you are, the branch and the ladder's rung."""
    rung = sc.ladder[int(view.rung[0])]
    date = view.date
    title = (
        f"{date:%A} {date.day} {date:%B %Y} · day {view.day} of {sc.horizon_days} · "
        f"{seat_name} · branch {branch}"
    )
    return [
        "=" * WIDTH,
        *[style.bold(x) for x in wrap(title)],
        f"Ladder: {rung.name} (MID {rung.mid_level})",
        "=" * WIDTH,
    ]


def knowledge(sc: Scenario, view: Any, style: Style) -> list[str]:
    """What the seated actor knows today: its traits, the world as its rules read it,
    its intel and its beliefs. Never another actor's private trait, intel or belief."""
    out = [style.bold("What you know")]
    traits = [f"{k} {value_text(sc, k, v)}" for k, v in view.traits.items()]
    if traits:
        out += wrap(", ".join(traits), 15, first="  your traits  ")
    state_ids = [s.id for s in sc.state]
    public = {p.id for p in sc.parameters if p.owner is None}
    world = [
        f"{k} {value_text(sc, k, view.knowledge[k])}" for k in state_ids if k in view.knowledge
    ]
    if world:
        out += wrap(", ".join(world), 15, first="  the world    ")
    params = [f"{k} {value_text(sc, k, v)}" for k, v in view.knowledge.items() if k in public]
    if params:
        out += wrap(", ".join(params), 15, first="  givens       ")
    history = [
        f"{k} {value_text(sc, k, v)}"
        for k, v in view.knowledge.items()
        if "." in k and not k.startswith(("belief.", "rungs.", "flags.", "events."))
    ]
    if history:
        out += wrap(", ".join(history), 15, first="  so far       ")
    for k, v in view.intel.items():
        seen = "noticed" if bool(np.asarray(v).reshape(-1)[0]) else "not noticed"
        item = next(i for i in sc.intel if i.id == k)
        out += wrap(f"{k}: {seen} ({item.description.strip()})", 15, first="  your intel   ")
    for trait, types in view.beliefs.items():
        probs = ", ".join(
            f"{t} {100 * float(np.asarray(p).reshape(-1)[0]):.0f}%" for t, p in types.items()
        )
        out += wrap(f"{trait}: {probs}", 15, first="  you believe  ")
    return out


def _odds_text(p: float) -> str:
    v = 100 * p
    if 0 < v < 0.5:
        return "<1%"
    if 99.5 < v < 100:
        return ">99%"
    return f"{v:.0f}%"


def options(
    sc: Scenario, view: Any, forecasts: Sequence[Any], style: Style
) -> tuple[list[str], list[str]]:
    """The actions of today, numbered: each with the rules and claims that allow or forbid
    it, the rules that speak for it, and the doctrine's probability and pick.

    ``forecasts`` are the game's :class:`~sim.game.Forecast` of each action, in the
    actor's order. Returns the lines and the action ids in number order.
    """
    out = [style.bold("Your actions today")]
    ids = []
    by_id = {f.action: f for f in forecasts}
    for k, o in enumerate(view.options, start=1):
        ids.append(o.action)
        act = view.actor.action(o.action)
        f = by_id.get(o.action)
        allowed = bool(o.allowed[0])
        tag = " (default)" if o.default else ""
        if not allowed:
            right = "forbidden today"
        else:
            right = f"doctrine {_odds_text(float(f.odds))}" if f is not None else ""
            if f is not None and f.doctrine:
                right += " · its pick"
        name = f"{k:>3}  {act.name}{tag}"
        line = name + " " * max(2, WIDTH - len(name) - len(right)) + right
        out.append(style.bold(line) if allowed else style.dim(line))
        if act.description:
            out += [style.dim(x) for x in wrap(" ".join(act.description.split()), 7)]
        if bool(o.spent[0]):
            out += wrap("already taken, and it can be taken only once", 7)
        for v in o.constraints:
            holds = bool(v.where[0])
            word = "allowed by" if holds else "forbidden by"
            text = wrap(f"{word} {v.rule} {cites(v.cites)}", 9, first="       ")
            paint = style.good if holds else style.bad
            out += [text[0].replace(word, paint(word), 1), *text[1:]]
        for v in o.wanted_by:
            if bool(v.where[0]):
                out += wrap(f"for it: {v.rule} ({v.kind}) {cites(v.cites)}", 9, first="       ")
    pick = view.doctrine_action()
    rule = view.doctrine_rule_id()
    why = f"by {rule}" if rule else "by no rule (its default)"
    out += ["", *wrap(f"Doctrine would take: {view.actor.action(pick).name} ({pick}), {why}.", 2)]
    return out, ids


def consequences(
    sc: Scenario,
    numbered: Sequence[tuple[int, str]],
    predicted: Mapping[str, Mapping[str, Share]],
    worlds: int,
    style: Style,
) -> list[str]:
    """A table of outcome shares with 95% intervals, one column per allowed action.

    ``numbered`` gives each allowed action's number on the screen and its id;
    ``predicted[action][outcome id]`` its outcome shares.
    """
    if not predicted:
        return []
    out = [
        style.bold("Predicted consequences"),
        *wrap(
            f"If you take the action today: outcome shares, with 95% intervals, of {worlds:,} "
            "worlds played with your choices so far, this action today and doctrine "
            "afterwards. Those worlds draw every uncertain value afresh: they show where "
            "your path leads, not what this world hides.",
            2,
        ),
    ]
    cols = [(k, a) for k, a in numbered if a in predicted]
    for start in range(0, len(cols), COLUMNS):
        part = cols[start : start + COLUMNS]
        name_w = WIDTH - 2 - CELL * len(part)
        heads = "".join(f"{'if ' + str(k):>{CELL}}" for k, _ in part)
        out.append(f"  {'':<{name_w}}{heads}")
        for o in sc.outcomes:
            name = o.name
            if len(name) > name_w - 1:  # the name on a line of its own, the shares below
                out.append(f"  {name}")
                name = ""
            cells = "".join(
                f"{share_text(s.p, s.lo, s.hi):>{CELL}}"
                for s in (predicted[a][o.id] for _, a in part)
            )
            out.append(f"  {name:<{name_w}}{cells}")
    return out
