"""The dotted names expressions read, built and taken apart in one place.

The scenario compiler declares these names as symbols
(:mod:`sim.scenario.compiler`) and the world state fills them with arrays
(:mod:`sim.engine.state`, :mod:`sim.engine.model`). Both go through this
module, so a name the compiler accepts is always one the state knows how to
fill, and a new kind of name is added in one place.

* ``rungs.<rung>`` (int): the index of a rung, a constant;
* ``flags.<flag>`` (bool): a flag's value, in outcome conditions;
* ``events.<event>.active`` (bool), ``events.<event>.count`` (int): the
  event is in force today (a random one: it struck today); the times it
  has started or struck;
* ``<actor>.<action>.taken`` (bool), ``.count`` (int), ``.days_since``
  (int): the action has been taken at least once; the days it has been
  taken; the days since it was last taken (:data:`NEVER` if never);
* ``belief.<trait>.<type>`` (float): the probability the actor whose
  expression it is gives to another actor's private trait being of that
  type. Only an actor that declares the belief reads it, and the name means
  *its own* belief (each holder's expressions see its own arrays).

Ids are identifiers (:data:`sim.spec.IDENT_RE`: no dots), so the number of
parts and the first one tell a name's kind. The last two groups are
**history** names: the state works them out each day, and only for the
names some expression of the scenario reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NEVER = 1_000_000
"""Value of ``<actor>.<action>.days_since`` for an action never taken.

Larger than any horizon, so ``days_since > 30`` holds for an action never taken.
"""

HISTORY_FIELDS: dict[str, tuple[str, str]] = {
    "taken": ("bool", "the action has been taken at least once"),
    "count": ("int", "number of days the action has been taken"),
    "days_since": ("int", "days since the action was last taken (huge if never)"),
}
"""Per action: the history fields an expression can read, with their type and meaning."""

EVENT_FIELDS: dict[str, str] = {"active": "bool", "count": "int"}
"""Per event: the fields an expression can read, with their type (see the module docstring)."""

RUNGS, FLAGS, EVENTS, BELIEF = "rungs", "flags", "events", "belief"
"""The first parts of the names of rungs, flags, events and beliefs (the first three
are reserved ids; ``belief`` may not be an actor's id, :mod:`sim.scenario.strategy`)."""


def rung(rung_id: str) -> str:
    """``rungs.<rung>``: the index of a rung."""
    return f"{RUNGS}.{rung_id}"


def flag(flag_id: str) -> str:
    """``flags.<flag>``: a flag's value, for outcome conditions."""
    return f"{FLAGS}.{flag_id}"


def event(event_id: str, field: str) -> str:
    """``events.<event>.<field>``, ``field`` one of :data:`EVENT_FIELDS`."""
    if field not in EVENT_FIELDS:
        raise ValueError(f"unknown event field {field!r}; expected one of {list(EVENT_FIELDS)}")
    return f"{EVENTS}.{event_id}.{field}"


def belief(trait: str, type_: str) -> str:
    """``belief.<trait>.<type>``: the reader's probability that ``trait`` is ``type_``."""
    return f"{BELIEF}.{trait}.{type_}"


def action(actor_id: str, action_id: str, field: str) -> str:
    """``<actor>.<action>.<field>``, ``field`` one of :data:`HISTORY_FIELDS`."""
    if field not in HISTORY_FIELDS:
        raise ValueError(f"unknown action field {field!r}; expected one of {list(HISTORY_FIELDS)}")
    return f"{actor_id}.{action_id}.{field}"


@dataclass(frozen=True)
class History:
    """A history name taken apart: what the state must compute for it.

    ``kind`` is ``"event"`` (``owner`` is the event id, ``action`` empty) or
    ``"action"`` (``owner`` is the actor id); ``field`` is the last part.
    """

    kind: Literal["event", "action"]
    owner: str
    action: str
    field: str


def history(name: str) -> History | None:
    """The history name ``name`` taken apart, or ``None`` for any other name.

    Only names built by :func:`event` and :func:`action` are history names;
    ``rungs.<rung>``, ``flags.<flag>`` and plain ids are not.
    """
    parts = name.split(".")
    if len(parts) != 3:
        return None
    head, middle, field = parts
    if head == EVENTS:
        return History("event", middle, "", field) if field in EVENT_FIELDS else None
    if head in (RUNGS, FLAGS, BELIEF) or field not in HISTORY_FIELDS:
        return None
    return History("action", head, middle, field)


def is_history(name: str) -> bool:
    """Whether ``name`` is a history name (its value changes as actions and events happen)."""
    return history(name) is not None
