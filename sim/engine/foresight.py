"""Foresight: an action's worth as the value of what the actor predicts will follow it.

A ``foresight`` rule of actor ``i`` for action ``a`` adds to ``a``'s softmax
utility, in every world at once (docs/decision-model.md, *Foresight*)::

    U(a) = EV_H(a) - EV_H(default)
    EV_H(x) = V(s+x) + sum over responses r of P_H(r | s+x) * [V(s+x+r) - V(s+x)]

``s+x`` is today's snapshot with ``x`` adjudicated on copies of the arrays
(:func:`~sim.engine.adjudication.adjudicate` itself, so the conflict rules
and the ladder are the engine's), ``V`` is ``i``'s values, and the responses
are every non-default action of every other actor that a trigger or a
preference can pick. ``P_H = 1 - (1 - p)^H`` with ``p`` the response's daily
probability under the responder's doctrine on ``s+x``, averaged over the
types of the responder's private traits with ``i``'s belief as weights
(a word trait's prior where ``i`` holds no belief about it; a numeric trait
without one is its prior mean). One level of
reasoning, first order in the responses; nothing here draws a random number
or writes the real state.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.engine.adjudication import Decision, adjudicate
from sim.engine.beliefs import actor_env
from sim.engine.state import WorldState
from sim.scenario import names
from sim.scenario.model import Action, Actor, Parameter, Rule


@dataclass(frozen=True)
class Response:
    """One move another actor might make, with the rules that can pick or forbid it."""

    actor: Actor
    action: Action
    constraints: tuple[Rule, ...]
    triggers: tuple[Rule, ...]
    preferences: tuple[Rule, ...]
    rival: tuple[Rule, ...]  # the responder's preferences for its default action
    reads_traits: bool  # its effects read a private trait of the responder


@dataclass(frozen=True)
class Trait:
    """A private trait of a responder whose types the decider weighs.

    ``values`` are what each type stands for: the word's code for a word
    choice, the named value for a numeric trait with ``types``.
    """

    id: str
    types: tuple[str, ...]
    prior: np.ndarray  # normalised option weights, (types,)
    values: tuple[np.generic, ...]


@dataclass(frozen=True)
class Responder:
    """Another actor, its responses and its private traits.

    ``traits`` are the traits whose types the decider weighs: word choices,
    and numeric traits with named ``types`` that the decider holds a belief
    about; ``means`` its other numeric traits, which the decider replaces by
    their prior means.
    """

    actor: Actor
    responses: tuple[Response, ...]
    traits: tuple[Trait, ...]
    means: dict[str, float]


def prior_mean(p: Parameter) -> float:
    """The mean of a numeric parameter's distribution (truncation included)."""
    a = p.args
    if p.dist == "fixed":
        return float(a["value"])
    if p.dist == "uniform":
        return (a["low"] + a["high"]) / 2
    if p.dist == "triangular":
        return (a["low"] + a["mode"] + a["high"]) / 3
    if p.dist == "beta":
        lo, hi = a.get("low", 0.0), a.get("high", 1.0)
        return lo + (hi - lo) * a["a"] / (a["a"] + a["b"])
    if p.dist == "normal":
        from scipy.stats import truncnorm  # start-up time: scipy.stats only for a normal

        lo = -np.inf if a.get("low") is None else (a["low"] - a["mean"]) / a["sd"]
        hi = np.inf if a.get("high") is None else (a["high"] - a["mean"]) / a["sd"]
        return float(truncnorm.mean(lo, hi, loc=a["mean"], scale=a["sd"]))
    w = np.array([wt for _, wt in p.options], dtype=float)
    return float(np.dot(w / w.sum(), [float(v) for v, _ in p.options]))


def responders(state: WorldState, decider: Actor) -> tuple[Responder, ...]:
    """The other actors whose doctrine the decider predicts (worked out once, then cached)."""
    key = f"foresight:{decider.id}"
    cached = state.plans.get(key)
    if cached is not None:
        return cached
    sc = state.scenario
    valued = _valued_names(decider)
    out = []
    for b in sc.actors:
        if b.id == decider.id:
            continue
        traits = []
        means = {}
        for p in sc.parameters:
            if p.owner != b.id:
                continue
            if p.enum_values:
                w = np.array([wt for _, wt in p.options], dtype=float)
                codes = tuple(np.int64(k) for k in range(len(w)))
                traits.append(Trait(p.id, p.enum_values, w / w.sum(), codes))
            elif p.types and (decider.id, p.id) in state.posterior:
                named = tuple(np.float64(v) for _, v in p.types)
                equal = np.full(len(named), 1 / len(named))
                traits.append(Trait(p.id, tuple(t for t, _ in p.types), equal, named))
            else:
                means[p.id] = prior_mean(p)
        trait_ids = {t.id for t in traits} | set(means)
        default = b.default_action
        rival = tuple(r for r in b.rules_of("preference") if r.action_index == default.index)
        responses = []
        for act in b.actions:
            rules = [r for r in b.rules if r.action_index == act.index]
            picks = [r for r in rules if r.kind in ("trigger", "preference")]
            if act.default or not picks or not _can_change(act, b, valued):
                continue
            responses.append(
                Response(
                    b,
                    act,
                    tuple(r for r in rules if r.kind == "constraint"),
                    tuple(r for r in rules if r.kind == "trigger"),
                    tuple(r for r in rules if r.kind == "preference"),
                    rival,
                    any(n in trait_ids for e in act.effects for n in e.expr.names),
                )
            )
        if responses:
            out.append(Responder(b, tuple(responses), tuple(traits), means))
    result = tuple(out)
    state.plans[key] = result
    return result


def _valued_names(decider: Actor) -> frozenset[str]:
    """The names the decider's values read."""
    return frozenset(n for t in decider.values for n in t.of.names | t.weight.names)


def _can_change(act: Action, actor: Actor, valued: frozenset[str]) -> bool:
    """Whether ``actor`` taking ``act`` can change a name that ``valued`` holds.

    Adjudicating an action writes its effects' targets, the ladder (if it
    moves it) and the actor's history of that action, nothing else; a
    response that touches none of the names the decider's values read adds
    exactly ``P_H * 0`` to its expected value, so it is not predicted at all.
    """
    if any(e.target in valued for e in act.effects):
        return True
    moves = act.escalate_to is not None or act.deescalate_to is not None
    if moves and valued & {"rung", "peak"}:
        return True
    for n in valued:
        h = names.history(n)
        if h is not None and h.kind == "action" and (h.owner, h.action) == (actor.id, act.id):
            return True
    return False


def _per_world(x: Any, R: int) -> np.ndarray:
    """``x`` as a float array of shape ``(R,)`` (a view where it already is one)."""
    if isinstance(x, np.ndarray) and x.shape == (R,):
        return x if x.dtype == np.float64 else x.astype(np.float64)
    return np.broadcast_to(np.asarray(x, dtype=np.float64), (R,))


def _mask(x: Any, R: int) -> np.ndarray:
    """A condition's value as a boolean array of shape ``(R,)``."""
    if isinstance(x, np.ndarray) and x.shape == (R,) and x.dtype == np.bool_:
        return x
    return np.broadcast_to(np.asarray(x, dtype=bool), (R,))


def after(state: WorldState, env: dict[str, Any], actor: Actor, action: Action) -> WorldState:
    """A copy of ``state`` in which ``actor`` took ``action`` in every world today.

    Only what adjudication writes is copied (state variables, ladder, the
    actor's history); everything else is shared, read only. ``env`` is the
    view the action's effects are evaluated on.
    """
    copy = dataclasses.replace(
        state,
        values=dict(state.values),
        first_day=state.first_day.copy(),
        action_count={**state.action_count, actor.id: state.action_count[actor.id].copy()},
        action_last={**state.action_last, actor.id: state.action_last[actor.id].copy()},
    )
    R = state.R
    adjudicate(
        copy,
        [Decision(actor.id, np.full(R, action.index, dtype=np.int64), np.full(R, -1))],
        env,
    )
    return copy


def value(actor: Actor, env: dict[str, Any], R: int) -> np.ndarray:
    """``V = sum of weight * of`` over ``actor``'s value terms, per world."""
    total = np.zeros(R)
    for term in actor.values:
        total = total + _per_world(term.weight.evaluate(env, R), R) * _per_world(
            term.of.evaluate(env, R), R
        )
    return total


def daily_probability(resp: Response, state: WorldState, env: dict[str, Any]) -> np.ndarray:
    """The chance, per world, that the responder takes ``resp.action`` on a day like ``env``.

    Zero where a constraint forbids it (or a ``once`` action was taken);
    otherwise ``q + (1 - q) * s``: ``q = 1 - prod(1 - p_k)`` over its
    triggers whose ``when`` holds, ``s`` the softmax share of its summed
    active preferences against the default's (with the responder's
    rationality), 0 where none is active.
    """
    R = state.R
    act = resp.action
    allowed = np.ones(R, dtype=bool)
    if act.once:
        allowed &= state.action_count[resp.actor.id][act.index] == 0
    for r in resp.constraints:
        allowed &= _mask(r.condition.evaluate(env, R), R)
    miss = np.ones(R)
    for r in resp.triggers:
        when = _mask(r.condition.evaluate(env, R), R)
        p = 1.0 if r.prob is None else np.clip(_per_world(r.prob.evaluate(env, R), R), 0, 1)
        miss = miss * np.where(when, 1.0 - p, 1.0)
    share = np.zeros(R)
    if resp.preferences:
        active = np.zeros(R, dtype=bool)
        u = np.zeros(R)
        for r in resp.preferences:
            on = _mask(r.condition.evaluate(env, R), R)
            assert r.utility is not None  # compiled so
            u = u + np.where(on, _per_world(r.utility.evaluate(env, R), R), 0.0)
            active |= on
        for r in resp.rival:
            on = _mask(r.condition.evaluate(env, R), R)
            assert r.utility is not None
            u = u - np.where(on, _per_world(r.utility.evaluate(env, R), R), 0.0)
        beta = _per_world(resp.actor.rationality.evaluate(env, R), R)
        with np.errstate(over="ignore"):
            share = np.where(active, 1.0 / (1.0 + np.exp(-beta * u)), 0.0)
    return np.where(allowed, 1.0 - miss * (1.0 - share), 0.0)


def _type_weights(
    state: WorldState, decider: Actor, responder: Responder
) -> list[tuple[dict[str, np.generic], np.ndarray]]:
    """Every joint type of the responder's traits, as the values its expressions read
    (scalars, which expressions broadcast), with its weight per world.

    The weight is the product of the decider's beliefs about each trait (its
    prior where it holds none): beliefs about different traits are held apart.
    """
    R = state.R
    rows = []
    for t in responder.traits:
        belief = state.posterior.get((decider.id, t.id))
        rows.append(belief if belief is not None else np.repeat(t.prior[:, None], R, axis=1))
    out = []
    for combo in itertools.product(*(range(len(t.types)) for t in responder.traits)):
        w = np.ones(R)
        for k, row in zip(combo, rows, strict=True):
            w = w * row[k]
        values = {t.id: t.values[k] for t, k in zip(responder.traits, combo, strict=True)}
        out.append((values, w))
    return out


def expected_value(
    decider: Actor, action: Action, horizon: int, state: WorldState, env: dict[str, Any]
) -> np.ndarray:
    """``EV_H(action)`` for ``decider``, per world (see the module docstring)."""
    R = state.R
    day = state.day + 1
    sx = after(state, env, decider, action)
    ex = sx.env(day)
    v_x = value(decider, actor_env(sx, decider, ex), R)
    ev = v_x.copy()
    for responder in responders(state, decider):
        b = responder.actor
        seen_by_b = actor_env(sx, b, ex)
        # Substituted values are scalars, which expressions broadcast like arrays.
        seen_by_b.update({t: np.float64(m) for t, m in responder.means.items()})
        typed_envs = []
        for values, weight in _type_weights(state, decider, responder):
            typed_envs.append(({**seen_by_b, **values}, weight))
        for resp in responder.responses:
            gain = None  # V(s+x+r) - V(s+x), when it does not depend on the type
            for typed, weight in typed_envs:
                p_h = 1.0 - (1.0 - daily_probability(resp, sx, typed)) ** horizon
                if not (p_h > 0).any():
                    continue
                if gain is None or resp.reads_traits:
                    sxr = after(sx, typed, b, resp.action)
                    gain = value(decider, actor_env(sxr, decider, sxr.env(day)), R) - v_x
                ev = ev + weight * p_h * gain
    return ev


def utilities(
    decider: Actor,
    rules: Sequence[Rule],
    state: WorldState,
    env: dict[str, Any],
    allowed: np.ndarray | None = None,
) -> dict[int, np.ndarray]:
    """Per foresight rule (global index): ``EV_H(action) - EV_H(default)``, per world.

    ``env`` is the decider's view of today's snapshot; ``allowed`` (actions x
    worlds), where given, says where each action is allowed. Each (action,
    horizon) and each horizon's default is worked out once, and only in the
    worlds where some rule's ``when`` holds and its action is allowed (0
    elsewhere, where the decision does not read it): every step is
    element-wise, so a world's utility is the same whichever other worlds are
    computed with it.
    """
    R = state.R
    active = np.zeros(R, dtype=bool)
    for r in rules:
        on = _mask(state.evaluate(r.condition, env), R)
        active |= on if allowed is None else on & allowed[r.action_index]
    if not active.any():
        return {r.index: np.zeros(R) for r in rules}
    where = None if active.all() else np.flatnonzero(active)
    sub, sub_env = (state, env) if where is None else (state.take(where), _take(env, where, R))
    default = decider.default_action
    cache: dict[tuple[int, int], np.ndarray] = {}

    def ev(act: Action, h: int) -> np.ndarray:
        key = (act.index, h)
        if key not in cache:
            cache[key] = expected_value(decider, act, h, sub, sub_env)
        return cache[key]

    out = {}
    for r in rules:
        assert r.horizon is not None  # compiled so
        u = ev(decider.actions[r.action_index], r.horizon) - ev(default, r.horizon)
        if where is not None:
            full = np.zeros(R)
            full[where] = u
            u = full
        out[r.index] = u
    return out


def _take(env: dict[str, Any], where: np.ndarray, R: int) -> dict[str, Any]:
    """``env`` restricted to the worlds ``where`` (scalars stay as they are)."""
    return {
        k: v[where] if isinstance(v, np.ndarray) and v.shape == (R,) else v for k, v in env.items()
    }
