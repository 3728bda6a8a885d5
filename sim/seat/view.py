"""What a seated actor knows on one day, per world: :class:`SeatView`.

A view gives the actor's own knowledge (the names its own rules read, its
private intel, its beliefs and its private traits), never the true hidden
state: another actor's private traits, intel and beliefs are not in it. It
gives, for every action, where it is allowed today and which constraint
rules (with the claims they cite) allow or forbid it, the rules that speak
for it today, and the doctrine's choice with the rule behind it. The
doctrine's probabilities (:meth:`SeatView.odds`) are worked out only when
asked for.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from sim.engine.adjudication import Decision
from sim.engine.beliefs import actor_env
from sim.engine.decision import ActorPlan
from sim.engine.state import WorldState
from sim.scenario import strategy
from sim.scenario.model import Action, Actor, Rule, Scenario


@dataclass(frozen=True)
class Verdict:
    """One rule's word on one action today: a constraint that allows or forbids it, or a
    trigger, preference or foresight rule that speaks for it.

    ``where`` says, per world, where the rule holds (a constraint's ``allowed_if``, the
    others' ``when``).
    """

    rule: str
    kind: str
    cites: tuple[str, ...]
    description: str
    where: np.ndarray  # bool (R,)


@dataclass(frozen=True)
class Option:
    """One action of the seated actor on one day.

    Attributes:
        action: the action's id; ``index`` its place in the actor's actions.
        allowed: per world, whether the actor may take it today.
        spent: per world, a ``once`` action already taken (so not allowed).
        constraints: its constraint rules: allowed where each one's ``where`` holds,
            forbidden where any does not.
        wanted_by: the triggers, preferences and foresight rules for it whose ``when``
            holds somewhere today.
    """

    action: str
    index: int
    name: str
    default: bool
    allowed: np.ndarray
    spent: np.ndarray
    constraints: tuple[Verdict, ...]
    wanted_by: tuple[Verdict, ...]

    def forbidden_by(self, world: int = 0) -> tuple[Verdict, ...]:
        """The constraints that forbid the action in ``world`` today."""
        return tuple(v for v in self.constraints if not v.where[world])


def _verdict(rule: Rule, where: Any, R: int) -> Verdict:
    mask = np.broadcast_to(np.asarray(where, dtype=bool), (R,))
    return Verdict(rule.id, rule.kind, rule.cites, rule.description, mask)


def allowed_today(
    actor: Actor, state: WorldState, env: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    """Where each action is allowed (actions x worlds), where a ``once`` action is spent,
    and, per constraint rule (global index), where its ``allowed_if`` holds.

    The same filter as the doctrine's (:func:`sim.engine.decision.decide`), on the
    actor's own view ``env``; it draws no random number.
    """
    plan = ActorPlan.of(actor) if actor.id not in state.plans else state.plans[actor.id]
    R = state.R
    allowed = np.ones((len(actor.actions), R), dtype=bool)
    spent = np.zeros_like(allowed)
    counts = state.action_count[actor.id]
    for a in plan.once:
        spent[a] = counts[a] > 0
    allowed &= ~spent
    holds: dict[int, np.ndarray] = {}
    for rule in plan.constraints:
        ok = np.broadcast_to(np.asarray(state.evaluate(rule.condition, env), dtype=bool), (R,))
        allowed[rule.action_index] &= ok
        holds[rule.index] = ok
    return allowed, spent, holds


def known_names(actor: Actor) -> frozenset[str]:
    """The names the actor's own expressions read: what its doctrine knows of the world."""
    exprs = [actor.rationality, *strategy.expressions(actor)]
    for r in actor.rules:
        exprs += [x for x in (r.condition, r.prob, r.utility) if x is not None]
    return frozenset(n for e in exprs for n in e.names)


@dataclass(frozen=True)
class SeatView:
    """What the seated ``actor`` knows on ``day``, in each of ``worlds`` worlds.

    Arrays have one element per world (a played game has one world). Read the
    knowledge through :attr:`knowledge`, :attr:`intel`, :attr:`beliefs` and
    :attr:`traits`; the state behind the view is kept only to work out the
    doctrine's odds on demand.

    Attributes:
        scenario, actor: the scenario and the seated actor.
        day, date: today (day 0 is the scenario's start).
        worlds: the number of worlds the arrays describe.
        options: every action of the actor, in the scenario's order (:class:`Option`).
        doctrine: per world, the index of the action the doctrine chose today.
        doctrine_rule: per world, the global index of the rule behind it (-1: none).
        knowledge: each name the actor's own rules read, with its value per world
            (state variables, the rung, the day, action history, public parameters
            and its own traits, intel and beliefs, as its expressions see them).
        intel: the actor's own intel items: noticed (true) or not, per world.
        beliefs: per trait of another actor it holds a belief about, the
            probability of each type, per world.
        traits: the actor's own private traits (parameters it owns), per world.
        rung: the ladder's rung index per world (0 the calmest).
    """

    scenario: Scenario
    actor: Actor
    day: int
    date: _dt.date
    worlds: int
    options: tuple[Option, ...]
    doctrine: np.ndarray
    doctrine_rule: np.ndarray
    knowledge: Mapping[str, np.ndarray]
    intel: Mapping[str, np.ndarray]
    beliefs: Mapping[str, Mapping[str, np.ndarray]]
    traits: Mapping[str, np.ndarray]
    rung: np.ndarray
    _state: WorldState = field(repr=False, compare=False)
    _env: dict[str, Any] = field(repr=False, compare=False)

    @property
    def allowed(self) -> np.ndarray:
        """Where each action is allowed today: bool (actions x worlds)."""
        return np.stack([o.allowed for o in self.options])

    def option(self, action: str) -> Option:
        """The option of action id ``action`` (KeyError if the actor has none)."""
        for o in self.options:
            if o.action == action:
                return o
        raise KeyError(action)

    def allowed_actions(self, world: int = 0) -> tuple[str, ...]:
        """The ids of the actions allowed in ``world`` today."""
        return tuple(o.action for o in self.options if o.allowed[world])

    def doctrine_action(self, world: int = 0) -> str:
        """The id of the action the doctrine chose in ``world`` today."""
        return self.actor.actions[int(self.doctrine[world])].id

    def doctrine_rule_id(self, world: int = 0) -> str | None:
        """The id of the rule behind the doctrine's choice in ``world`` (None: no rule)."""
        r = int(self.doctrine_rule[world])
        return self.scenario.rules[r].id if r >= 0 else None

    def odds(self) -> np.ndarray:
        """The doctrine's probability of each action today: float (actions x worlds).

        Ask for it while the policy chooses (or of a view made ``lasting``, as a
        game's are): it is worked out from the state behind the view on first
        use (:func:`sim.seat.odds.doctrine_odds`): triggers in their order with
        their daily probabilities, then the softmax of the preferences' and
        foresight rules' utilities. Each column sums to 1.
        """
        return self._odds

    @cached_property
    def _odds(self) -> np.ndarray:
        from sim.seat.odds import doctrine_odds  # a sibling below this module's users

        return doctrine_odds(self.actor, self._state, self._env, self.allowed)


def make_view(
    actor: Actor,
    state: WorldState,
    env: dict[str, Any],
    doctrine: Decision,
    lasting: bool = False,
) -> SeatView:
    """The view of ``actor`` on the snapshot ``env`` the doctrine decided ``doctrine`` on.

    A view reads the live state, so what it works out on demand (:meth:`SeatView.odds`)
    holds only while the day is being decided. With ``lasting`` it keeps a read-only
    copy of the day's state instead, and stays right after the day is adjudicated
    (for views kept or shown later: a game's).
    """
    sc = state.scenario
    R = state.R
    if lasting:
        state = state.take(np.arange(R), read_only=True)
        env = state.env()
    own = actor_env(state, actor, env)
    allowed, spent, holds = allowed_today(actor, state, own)
    options = []
    for act in actor.actions:
        constraints = tuple(
            _verdict(r, holds[r.index], R)
            for r in actor.rules
            if r.kind == "constraint" and r.action_index == act.index
        )
        options.append(_option(act, allowed, spent, constraints, actor, state, own))
    knowledge = {n: own[n] for n in sorted(known_names(actor) | {"day", "rung"}) if n in own}
    intel = {it.id: own[it.id] for it in sc.intel if it.observer == actor.id}
    beliefs = {
        b.trait: {t: state.posterior[(actor.id, b.trait)][k] for k, t in enumerate(b.types)}
        for b in actor.beliefs
    }
    traits = {p.id: state.params[p.id] for p in sc.parameters if p.owner == actor.id}
    return SeatView(
        scenario=sc,
        actor=actor,
        day=state.day,
        date=sc.date_of(state.day),
        worlds=R,
        options=tuple(options),
        doctrine=doctrine.action,
        doctrine_rule=doctrine.rule,
        knowledge=knowledge,
        intel=intel,
        beliefs=beliefs,
        traits=traits,
        rung=state.rung,
        _state=state,
        _env=own,
    )


def _option(
    act: Action,
    allowed: np.ndarray,
    spent: np.ndarray,
    constraints: tuple[Verdict, ...],
    actor: Actor,
    state: WorldState,
    env: dict[str, Any],
) -> Option:
    R = state.R
    wanted = []
    for r in actor.rules:
        if r.kind == "constraint" or r.action_index != act.index:
            continue
        when = np.broadcast_to(np.asarray(state.evaluate(r.condition, env), dtype=bool), (R,))
        if when.any():
            wanted.append(_verdict(r, when, R))
    return Option(
        act.id,
        act.index,
        act.name,
        act.default,
        allowed[act.index],
        spent[act.index],
        constraints,
        tuple(wanted),
    )
