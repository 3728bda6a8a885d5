"""Seats as the engine takes them: a policy wrapped into a :data:`sim.engine.core.Seat`.

Each day the doctrine decides first (so the actor's random stream moves as
in a run without seats), then :class:`Seated` asks the policy. Per world:

* where the policy names an allowed action, that action is taken; its rule is
  the doctrine's where the two agree (the world's history is then exactly the
  doctrine's), :data:`~sim.engine.adjudication.SEATED` where they differ;
* where it names an action that is not allowed today (a constraint forbids it,
  or a ``once`` action was taken), the doctrine's choice stands and the
  refusal is recorded;
* where it leaves the choice to the doctrine, the doctrine's choice stands.

The constraints that bound are the doctrine's (what its rules wanted), so a
world in which the policy agrees with the doctrine records the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.engine.adjudication import SEATED, Decision
from sim.engine.core import Seat
from sim.engine.state import WorldState
from sim.errors import UsageError
from sim.scenario.model import Actor, Scenario
from sim.seat.policy import Policy, indices
from sim.seat.view import SeatView, make_view
from sim.spec import did_you_mean


@dataclass(frozen=True)
class Turn:
    """What happened at one seat on one day, per world.

    Attributes:
        actor, day: whose seat and which day.
        wanted: the action index the policy named (-1: it left it to the doctrine).
        doctrine: what the doctrine chose; ``doctrine_rule`` the rule behind it.
        action: what was taken; ``rule`` the rule recorded for it.
        refused: the policy named an action not allowed today (the doctrine's stood).
        view: the view the policy was given (kept only when asked for).
    """

    actor: str
    day: int
    wanted: np.ndarray
    doctrine: np.ndarray
    doctrine_rule: np.ndarray
    action: np.ndarray
    rule: np.ndarray
    refused: np.ndarray
    view: SeatView | None = None


@dataclass
class Seated:
    """The engine's seat for one actor, deciding by ``policy``.

    Args:
        policy: who decides (:class:`~sim.seat.policy.Policy`).
        keep: keep every day's :class:`Turn` in :attr:`turns` (with its view when
            ``keep_views``: such views keep a copy of their day's state, so they stay
            right after the day); a batch keeps only the counts.
        days: the only days on which the policy is asked (``None``: every day); on
            the others the doctrine decides without a view being made. A moves file
            names its days, so a batch pays for views on those days alone.

    Attributes:
        turns: the kept turns, in day order.
        refusals: per (day, action index), the worlds in which the policy's action
            was not allowed and the doctrine's stood.
        taken: per (day, action index), the worlds in which the policy's own action
            was taken (whether or not the doctrine agreed).
        agreed: per (day, action index), the worlds in which that taken action is the
            doctrine's too.
    """

    policy: Policy
    keep: bool = False
    keep_views: bool = False
    days: frozenset[int] | None = None
    turns: list[Turn] = field(default_factory=list)
    refusals: dict[tuple[int, int], int] = field(default_factory=dict)
    taken: dict[tuple[int, int], int] = field(default_factory=dict)
    agreed: dict[tuple[int, int], int] = field(default_factory=dict)

    def __call__(
        self, actor: Actor, state: WorldState, env: dict[str, Any], doctrine: Decision
    ) -> Decision:
        """The decision to apply: the policy's where allowed, else the doctrine's."""
        if self.days is not None and state.day not in self.days and not self.keep:
            return doctrine
        view = make_view(actor, state, env, doctrine, lasting=self.keep_views)
        want = indices(view, self.policy.choose(view))
        named = want >= 0
        if not named.any() and not self.keep:
            return doctrine
        allowed = view.allowed
        ok = named.copy()
        ok[named] = allowed[want[named], np.flatnonzero(named)]
        refused = named & ~ok
        action = np.where(ok, want, doctrine.action)
        rule = np.where(ok & (want != doctrine.action), SEATED, doctrine.rule)
        day = state.day
        _tally(self.refusals, day, want[refused])
        _tally(self.taken, day, want[ok])
        _tally(self.agreed, day, want[ok & (want == doctrine.action)])
        if self.keep:
            self.turns.append(
                Turn(
                    actor.id,
                    day,
                    want,
                    doctrine.action,
                    doctrine.rule,
                    action,
                    rule,
                    refused,
                    view if self.keep_views else None,
                )
            )
        return Decision(actor.id, action, rule, doctrine.binding)


def _tally(table: dict[tuple[int, int], int], day: int, actions: np.ndarray) -> None:
    if not len(actions):
        return
    for a, k in zip(*np.unique(actions, return_counts=True), strict=True):
        table[(day, int(a))] = table.get((day, int(a)), 0) + int(k)


def seats_of(
    scenario: Scenario, policies: Mapping[str, Policy], keep: bool = False
) -> dict[str, Seat]:
    """A :class:`Seated` per actor id of ``policies``, for ``WargameModel(seats=...)``.

    Raises:
        UsageError: an actor id the scenario does not have.
    """
    known = [a.id for a in scenario.actors]
    for actor_id in policies:
        if actor_id not in known:
            raise UsageError(
                f"no actor {actor_id!r} to seat in {scenario.name}"
                f"{did_you_mean(actor_id, known)} (actors: {', '.join(known)})"
            )
    return {a: Seated(p, keep=keep) for a, p in policies.items()}


Tally = dict[str, dict[str, dict[tuple[int, int], int]]]
"""Per seated actor: its ``taken``, ``refused`` and ``agreed`` counts by (day, action)."""


def tally(seats: Mapping[str, Seat]) -> Tally:
    """What the seats of one run counted (for a batch's ``moves.csv``)."""
    return {
        a: {"taken": dict(s.taken), "refused": dict(s.refusals), "agreed": dict(s.agreed)}
        for a, s in seats.items()
        if isinstance(s, Seated)
    }


def add_tally(total: Tally, part: Tally) -> Tally:
    """Add the counts of ``part`` into ``total`` (in place); returns ``total``."""
    for actor, kinds in part.items():
        mine = total.setdefault(actor, {})
        for kind, table in kinds.items():
            into = mine.setdefault(kind, {})
            for key, n in table.items():
                into[key] = into.get(key, 0) + n
    return total
