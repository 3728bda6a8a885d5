"""Two decision-makers from outside the scenario, as examples of the policy protocol.

Neither needs a network:

* :class:`RuleOfThumb` is a restrained player: it takes what the doctrine
  would most likely take (the action with the highest odds, not a draw),
  except an action that would raise the ladder above ``max_rung``, which it
  never takes;
* :class:`PromptPolicy` turns the view into a text prompt and hands it to any
  function ``complete(prompt) -> str``: a language model served elsewhere (an
  HTTP call written by the user), a person typing, or a stub in a test. It
  reads the first allowed action id in the answer; an answer without one
  leaves the choice to the doctrine.

Both are used as ``Seated(policy)`` (:mod:`sim.seat.seats`) or in a game.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from sim.scenario.model import Scenario
from sim.seat.policy import Choice
from sim.seat.view import SeatView


class RuleOfThumb:
    """The doctrine's most likely action, never one that climbs above ``max_rung``.

    Args:
        max_rung: the id of the highest rung the player accepts to climb to by its
            own action (``None``: no limit, so just the doctrine's most likely action).
    """

    def __init__(self, max_rung: str | None = None) -> None:
        self.max_rung = max_rung

    def choose(self, view: SeatView) -> Choice:
        """Per world, the allowed action of highest doctrine odds within the limit."""
        odds = np.where(view.allowed, view.odds(), -1.0)
        if self.max_rung is not None:
            limit = view.scenario.rung(self.max_rung).index
            for act in view.actor.actions:
                if act.escalate_to is not None and act.escalate_to > limit:
                    odds[act.index] = -1.0
        default = view.actor.default_action.index
        odds[default] = np.maximum(odds[default], 0.0)  # always allowed, the fallback
        return np.argmax(odds, axis=0).astype(np.int64)


def prompt(view: SeatView, world: int = 0) -> str:
    """The view of one world as text: who and when, what the actor knows, what it may do."""
    sc, actor = view.scenario, view.actor
    lines = [
        f"You decide for {actor.name} ({actor.id}) in the scenario {sc.title}.",
        f"Today is {view.date} (day {view.day} of {sc.horizon_days}). "
        f"The crisis stands at: {sc.ladder[int(view.rung[world])].name}.",
        "What you know:",
    ]
    for name, value in view.knowledge.items():
        if name.startswith("belief."):
            continue  # written below, per trait
        v = np.asarray(value).reshape(-1)
        lines.append(f"- {name} = {_word(sc, name, v[world if v.size > 1 else 0])}")
    for trait, types in view.beliefs.items():
        odds = ", ".join(f"{t} {float(p[world]):.0%}" for t, p in types.items())
        lines.append(f"- your belief about {trait}: {odds}")
    lines.append("Actions you may take today:")
    for o in view.options:
        if not o.allowed[world]:
            continue
        why = "; ".join(v.description or v.rule for v in o.wanted_by if v.where[world])
        lines.append(f"- {o.action}: {o.name}" + (f" (your doctrine: {why})" if why else ""))
    lines.append(f"Your doctrine would choose: {view.doctrine_action(world)}.")
    lines.append("Answer with the id of one action.")
    return "\n".join(lines)


def _word(sc: Scenario, name: str, value: Any) -> str:
    """An enum's word instead of its code; anything else as it is."""
    words = next((v.values for v in sc.state if v.id == name and v.type == "enum"), ())
    words = words or next((p.enum_values for p in sc.parameters if p.id == name), ())
    return words[int(value)] if words else str(value)


class PromptPolicy:
    """Asks ``complete`` for each world's action, with the view written out as a prompt.

    Args:
        complete: a function from the prompt to the answer text; any network call is
            the caller's (a language model served elsewhere); an exception it raises
            propagates.

    Attributes:
        asked: the prompts and answers so far, for the record (a review can show them).
    """

    def __init__(self, complete: Callable[[str], str]) -> None:
        self.complete = complete
        self.asked: list[tuple[str, str]] = []

    def choose(self, view: SeatView) -> Choice:
        """Per world, the first allowed action id named in the answer, else the doctrine."""
        out: list[str | None] = []
        for w in range(view.worlds):
            text = prompt(view, w)
            answer = self.complete(text)
            self.asked.append((text, answer))
            out.append(first_action(answer, view.allowed_actions(w)))
        return out


def first_action(answer: str, allowed: tuple[str, ...]) -> str | None:
    """The first of ``allowed`` named as a word in ``answer`` (None if none is)."""
    found = [(m.start(), a) for a in allowed for m in re.finditer(rf"\b{re.escape(a)}\b", answer)]
    return min(found)[1] if found else None
