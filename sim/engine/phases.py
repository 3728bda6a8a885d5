"""The phases of a day as plain functions (see docs/decision-model.md).

A day is ``events -> observe -> decide -> adjudicate``, then the day's
``any_day`` flags are recorded; at the horizon :func:`conclude` gives every
world its flags and its outcome. Each phase takes everything it reads as an
argument and *returns* what it produced; the model (:mod:`sim.engine.model`)
only wires them together. What a phase writes into the
:class:`~sim.engine.state.WorldState` is said in its docstring, and no
phase's result travels through an agent attribute, so phases can be run and
tested alone on hand-built states.

Order independence rests on two facts kept here: every actor observes and
decides on the same snapshot ``env`` (its knowledge and its decision are
returned, and applied only once every actor has produced its own), and every
actor draws from its own random stream, moved on by a fixed amount per call.

:func:`sim.engine.decision.decide` (the decide phase) and
:func:`sim.engine.adjudication.adjudicate` live in modules of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.engine import kernels, morning
from sim.engine.adjudication import Changes
from sim.engine.beliefs import BeliefKey, EvidenceKey, actor_env, update
from sim.engine.draws import Rng, skip_rows, state_uniforms
from sim.engine.state import WorldState
from sim.scenario import names
from sim.scenario.model import Event, Flag, Observation, Scenario


@dataclass(frozen=True)
class Happening:
    """An event that started (``kind="event"``) or ended (``"event_end"``) in some worlds."""

    event: Event
    kind: str
    worlds: np.ndarray  # bool (R,)


def events_phase(state: WorldState, day: int, rng: Rng) -> list[Happening]:
    """Start and end scheduled events and strike random ones, for day ``day``.

    All of the day's event effects are evaluated on the state of the morning
    and combined by the conflict rules (:class:`~sim.engine.adjudication.Changes`).

    Writes into ``state``: ``event_active`` and ``event_count``, the state
    variables the effects set, and the ladder (``rung``, ``peak``,
    ``first_day``). Moves ``rng`` (the events' stream) on by exactly one
    uniform array of length R per event, drawn or skipped.

    Returns:
        What happened, in scenario order, for stories.
    """
    if kernels.active():  # the generated kernels (sim.engine.morning), where they exist
        got = morning.events_phase(state, day, rng)
        if got is not None:
            return got
    events = state.scenario.events
    if not events:
        return []
    env = state.env()
    ch = Changes(state)
    R = state.R
    ones = np.ones(R, dtype=bool)
    draws = state_uniforms(rng, len(events), state)  # row i for event i
    happened: list[Happening] = []
    for i, ev in enumerate(events):
        if ev.kind == "scheduled":
            assert ev.start_day is not None and ev.end_day is not None  # compiled so
            state.event_active[i] = ev.start_day <= day <= ev.end_day
            if day == ev.start_day:
                state.event_count[i] += 1
                ch.add(None, ev.effects, env, ev.escalate_to, ev.deescalate_to)
                happened.append(Happening(ev, "event", ones))
            if day == ev.end_day + 1 and ev.end_effects:
                ch.add(None, ev.end_effects, env)
                happened.append(Happening(ev, "event_end", ones))
            continue
        assert ev.when is not None and ev.hazard is not None  # compiled so
        when = np.asarray(ev.when.evaluate(env, R), dtype=bool)
        if ev.max_times is not None:
            # Never in place: a bare-name condition is the state's own array.
            when = when & (state.event_count[i] < ev.max_times)
        if not when.any():
            state.event_active[i] = False
            continue
        if ev.hazard.value is not None and ev.hazard.value >= 1:  # a constant
            # every uniform draw in [0, 1) is below it: the row is skipped, not drawn
            hit = when.copy()
        else:
            hit = when & (draws.row(i) < state.evaluate(ev.hazard, env))
        state.event_active[i] = hit
        if hit.any():
            state.event_count[i] += hit
            ch.add(hit, ev.effects, env, ev.escalate_to, ev.deescalate_to)
            happened.append(Happening(ev, "event", hit))
    draws.finish()
    ch.apply(day)
    return happened


@dataclass(frozen=True)
class Knowledge:
    """What one actor knows after observing: per intel item it watches, new arrays.

    ``held[i]`` counts the days the watched condition of intel item ``i`` has
    held in a row; ``known[i]`` says whether the observer has noticed it.
    ``posterior`` holds the actor's beliefs after today's evidence, and
    ``evidence_used`` which of its ``once`` evidence items have now been seen
    (:mod:`sim.engine.beliefs`).
    """

    actor: str
    held: dict[int, np.ndarray]
    known: dict[int, np.ndarray]
    posterior: dict[BeliefKey, np.ndarray] = field(default_factory=dict)
    evidence_used: dict[EvidenceKey, np.ndarray] = field(default_factory=dict)


def observe(actor_id: str, state: WorldState, env: dict[str, Any], rng: Rng) -> Knowledge:
    """The observe phase of one actor: notice watched conditions, maybe late, and
    move its beliefs by today's evidence (Bayes' rule, :mod:`sim.engine.beliefs`).

    An intel item's condition must have held for more than its delay before
    the observer can notice it, then it is noticed with its daily
    probability; knowledge lapses as soon as the condition stops holding.

    Reads ``state`` and ``env`` only (apply the result with :func:`learn`).
    Moves ``rng`` (the actor's stream) on by exactly one row of uniforms per
    intel item the actor observes (a place per world of the chunk), drawn or
    skipped.
    """
    if kernels.active():  # the generated kernels (sim.engine.morning), where they exist
        got = morning.observe(actor_id, state, env, rng)
        if got is not None:
            return got
    held: dict[int, np.ndarray] = {}
    known: dict[int, np.ndarray] = {}
    for i, it in enumerate(state.scenario.intel):
        if it.observer != actor_id:
            continue
        watched = np.asarray(state.evaluate(it.watches, env), dtype=bool)
        held[i] = np.where(watched, state.held[i] + 1, 0)
        if not watched.any():  # nothing to notice: the knowledge lapses
            skip_rows(rng, 1, state)
            known[i] = np.zeros(state.R, dtype=bool)
            continue
        # Where it can be noticed today: the row is drawn only if that is somewhere
        # (skipped otherwise, which leaves the stream where drawing it would).
        notice = watched & (held[i] > state.intel_delay[i])
        if notice.any():
            row = state_uniforms(rng, 1, state)
            notice &= row.row(0) < state.evaluate(it.detect_prob, env)
            row.finish()
        else:
            skip_rows(rng, 1, state)
        known[i] = (state.belief[i] | notice) & watched
    actor = state.actors[actor_id]
    if not actor.beliefs:
        return Knowledge(actor_id, held, known)
    posterior: dict[BeliefKey, np.ndarray] = {}
    used: dict[EvidenceKey, np.ndarray] = {}
    own = actor_env(state, actor, env)
    for b in actor.beliefs:
        posterior[(actor_id, b.trait)], u = update(actor, b, state, own)
        used.update(u)
    return Knowledge(actor_id, held, known, posterior, used)


def learn(state: WorldState, knowledge: Sequence[Knowledge]) -> None:
    """Write what the actors observed into ``state`` (``held`` and ``belief`` rows, and
    the ``posterior`` and ``evidence_used`` of the actors' beliefs).

    Each intel item has one observer and each belief one holder, so what
    different actors write never overlaps and the order of ``knowledge``
    does not matter.
    """
    for k in knowledge:
        for i, h in k.held.items():
            state.held[i] = h
        for i, b in k.known.items():
            state.belief[i] = b
        state.posterior.update(k.posterior)
        state.evidence_used.update(k.evidence_used)


def record_flags(state: WorldState, flags: Sequence[Flag]) -> None:
    """At the end of a day, note the ``any_day`` flags that hold (writes ``flag_any``)."""
    if kernels.active() and morning.record_flags(state, flags):
        return
    if not flags:
        return
    env = state.env()
    for i, f in enumerate(flags):
        if f.at == "any_day":
            state.flag_any[i] |= np.asarray(state.evaluate(f.when, env), dtype=bool)


def witness(state: WorldState, observations: Sequence[Observation]) -> np.ndarray:
    """At the end of a day, whether each of ``observations`` holds in each world.

    Returns a bool array ``(len(observations), R)``; reads ``state`` only and
    draws nothing, so recording observations leaves every world as it was.
    ``seen`` reads the day's state and the ``any_day`` flags so far.
    """
    env = state.env()
    for i, f in enumerate(state.scenario.flags):
        if f.at == "any_day":
            env[names.flag(f.id)] = state.flag_any[i].copy()
    out = np.zeros((len(observations), state.R), dtype=bool)
    for k, o in enumerate(observations):
        out[k] = np.asarray(state.evaluate(o.seen, env), dtype=bool)
    return out


@dataclass(frozen=True)
class Ending:
    """Every world's flags ``(flags, R)`` and outcome index ``(R,)`` at the horizon."""

    flags: np.ndarray
    outcome: np.ndarray


def conclude(state: WorldState, scenario: Scenario) -> Ending:
    """Evaluate the flags and give each world exactly one outcome (reads ``state`` only).

    The outcome is the most severe class (the last written) whose condition
    holds on the last day, else the fallback class (the one without ``when``).
    """
    env = state.env(scenario.horizon_days - 1)
    R = state.R
    flags = np.zeros((len(scenario.flags), R), dtype=bool)
    for i, f in enumerate(scenario.flags):
        flags[i] = (
            state.flag_any[i]
            if f.at == "any_day"
            else np.asarray(f.when.evaluate(env, R), dtype=bool)
        )
        env[names.flag(f.id)] = flags[i]
    outcome = np.full(R, -1, dtype=np.int64)
    for o in reversed(scenario.outcomes):  # most severe first
        if o.when is None:
            continue
        hit = (outcome < 0) & np.asarray(o.when.evaluate(env, R), dtype=bool)
        outcome[hit] = o.index
    fallback = next(o.index for o in scenario.outcomes if o.when is None)
    outcome[outcome < 0] = fallback
    return Ending(flags, outcome)
