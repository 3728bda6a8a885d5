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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.engine import kernels
from sim.engine import outlook as outlook_kernel
from sim.engine.adjudication import Decision, adjudicate, move
from sim.engine.beliefs import actor_env
from sim.engine.state import Rows, WorldState, rows_of
from sim.expr import Expr
from sim.scenario import names
from sim.scenario.model import Action, Actor, Parameter, Rule, ValueTerm


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
    reads: frozenset[str]  # every name its daily probability reads
    typed: bool  # its daily probability reads a trait whose types the decider weighs


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
    typed: frozenset[str]  # the ids of ``traits``


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
        typed = frozenset(t.id for t in traits)
        for act in b.actions:
            rules = [r for r in b.rules if r.action_index == act.index]
            picks = [r for r in rules if r.kind in ("trigger", "preference")]
            if act.default or not picks or not _can_change(act, b, valued):
                continue
            constraints = tuple(r for r in rules if r.kind == "constraint")
            triggers = tuple(r for r in rules if r.kind == "trigger")
            preferences = tuple(r for r in rules if r.kind == "preference")
            reads = _names_read(b, (*constraints, *triggers, *preferences, *rival))
            responses.append(
                Response(
                    b,
                    act,
                    constraints,
                    triggers,
                    preferences,
                    rival,
                    any(n in trait_ids for e in act.effects for n in e.expr.names),
                    reads,
                    not reads.isdisjoint(typed),
                )
            )
        if responses:
            out.append(Responder(b, tuple(responses), tuple(traits), means, typed))
    result = tuple(out)
    state.plans[key] = result
    return result


def _names_read(actor: Actor, rules: Sequence[Rule]) -> frozenset[str]:
    """The names :func:`daily_probability` reads for a response with these rules."""
    exprs = [actor.rationality]
    for r in rules:
        exprs += [x for x in (r.condition, r.prob, r.utility) if x is not None]
    return frozenset(n for e in exprs for n in e.names)


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
    actor's history: :meth:`WorldState.hypothetical`); everything else is
    shared, read only. ``env`` is the view the action's effects are evaluated on.
    """
    return _after(state, env, actor, action, _compiled(state), None)


def _after(
    state: WorldState,
    env: dict[str, Any],
    actor: Actor,
    action: Action,
    compiled: bool,
    decision: Decision | None,
) -> WorldState:
    """:func:`after`, by the move's kernel where ``compiled``; ``decision`` is the
    decision to adjudicate (``action`` in every world; made here if None). The numpy
    path adjudicates it by :func:`~sim.engine.adjudication.move` on a copy that does
    not record the days rungs are first reached (nothing here reads them), nor, where no
    expression reads the mover's history, the move in it."""
    if not compiled:
        history = actor.id in _history_by_mover(state)
        copy = state.hypothetical(actor.id, ladder=False, history=history)
        move(copy, actor, action, env, history)
        return copy
    copy = state.hypothetical(actor.id)
    if kernels.move(copy, env, actor, action):
        return copy
    if decision is None:
        decision = _everywhere(actor, action, state.R)
    adjudicate(copy, [decision], env)
    return copy


def _compiled(state: WorldState) -> bool:
    """Whether foresight on ``state`` takes the compiled path now: kernels allowed and,
    under ``auto``, this process switched to them for the scenario. Asking
    :func:`kernels.active` alone would say yes under ``auto`` before the switch too,
    and the moves would then go the compiled path's way (full copies, the general
    adjudication) only for each kernel to decline: the same numbers, more slowly."""
    return kernels.active() and kernels.compiled_for(state)


def _everywhere(actor: Actor, action: Action, R: int) -> Decision:
    """``actor`` taking ``action`` in all ``R`` worlds, by no rule."""
    return Decision(actor.id, np.full(R, action.index, dtype=np.int64), np.full(R, -1))


def value(actor: Actor, env: dict[str, Any], R: int) -> np.ndarray:
    """``V = sum of weight * of`` over ``actor``'s value terms, per world."""
    total = np.zeros(R)
    for term in actor.values:
        total = total + _term(term, env, R)
    return total


def _term(term: ValueTerm, env: dict[str, Any], R: int) -> np.ndarray:
    """One value term, ``weight * of``, per world.

    A constant weight multiplies as a scalar: the same product, world by world,
    as with an array filled with it, without making that array; and a float
    scalar times a bool or int array is a float array whose every element is cast
    exactly as ``astype(float)`` would, without making that cast array first.
    """
    w = term.weight
    of = term.of.evaluate(env, R)
    if w.is_constant:
        return np.float64(w.value) * of
    return _per_world(w.evaluate(env, R), R) * _per_world(of, R)


def daily_probability(
    resp: Response,
    state: WorldState,
    env: dict[str, Any] | None,
    evaluate: Callable[[Expr], Any] | None = None,
) -> np.ndarray:
    """The chance, per world, that the responder takes ``resp.action`` on a day like ``env``.

    Zero where a constraint forbids it (or a ``once`` action was taken);
    otherwise ``q + (1 - q) * s``: ``q = 1 - prod(1 - p_k)`` over its
    triggers whose ``when`` holds, ``s`` the softmax share of its summed
    active preferences against the default's (with the responder's
    rationality), 0 where none is active.

    ``evaluate(expr)`` gives an expression's value on ``env`` (by default
    ``expr.evaluate(env, R)``); :class:`Outlook` passes one that reuses
    values it already has. Where the constraints forbid the move in every
    world the result is 0 without the triggers and preferences being read:
    they could only be multiplied by 0.
    """
    R = state.R
    if evaluate is None:
        assert env is not None

        def evaluate(expr: Expr) -> Any:
            return expr.evaluate(env, R)

    p = _daily(resp, state, evaluate)
    return np.zeros(R) if p is None else p


def _daily(resp: Response, state: WorldState, evaluate: Callable[[Expr], Any]) -> np.ndarray | None:
    """:func:`daily_probability`, or None where it is 0 in every world."""
    parts = _parts(resp, state, evaluate)
    return None if parts is None else _combined(*parts, state.R)


Parts = tuple[np.ndarray | None, list[tuple[np.ndarray, Any]], "Prefs | None"]
"""What a daily probability is made of: where the move is allowed (None: everywhere),
each trigger that holds somewhere as its ``when`` and ``1 - p``, and the
preferences (None: none is active anywhere)."""

Prefs = tuple[list[tuple[np.ndarray, Any]], list[tuple[np.ndarray, Any]], Any]
"""A response's preferences, each as its ``when`` and utility, the default's alike, and
the responder's rationality."""


def _parts(resp: Response, state: WorldState, evaluate: Callable[[Expr], Any]) -> Parts | None:
    """The :data:`Parts` of ``resp``'s daily probability; None where it is 0 everywhere."""
    # Written for as few array operations as give the same numbers: the factors
    # that are 1 (all-true masks, a first product, a share of 0, a trigger or
    # preferences whose `when` holds in no world) are left out, and a constant
    # trigger probability is taken as a scalar.
    R = state.R
    act = resp.action
    allowed = None  # every world
    if act.once:
        allowed = state.action_count[resp.actor.id][act.index] == 0
    for r in resp.constraints:
        ok = _mask(evaluate(r.condition), R)
        allowed = ok if allowed is None else allowed & ok
    if allowed is not None and not allowed.any():
        return None
    factors = []
    for r in resp.triggers:
        when = _mask(evaluate(r.condition), R)
        if when.any():  # else a factor of 1 in every world
            factors.append((when, _keep(r, state, evaluate, R)))
    prefs = _preferences(resp, evaluate, R) if resp.preferences else None
    if prefs is None and not factors:
        return None  # 1 - 1 in every world
    return allowed, factors, prefs


def _combined(
    allowed: np.ndarray | None,
    factors: list[tuple[np.ndarray, Any]],
    prefs: Prefs | None,
    R: int,
) -> np.ndarray:
    """The daily probability from its :data:`Parts`: ``q + (1 - q) * s``, 0 where not allowed."""
    miss = None  # 1 in every world
    for when, keep in factors:
        factor = np.where(when, keep, 1.0)
        miss = factor if miss is None else miss * factor
    share = None if prefs is None else _share(prefs, R)
    if share is None:
        assert miss is not None  # some factor (_parts)
        chance = 1.0 - miss
    else:
        if miss is None:
            miss = np.ones(R)
        chance = 1.0 - miss * (1.0 - share)
    return chance if allowed is None else np.where(allowed, chance, 0.0)


def _by_table(
    parts: Parts, horizon: int, R: int, tables: dict[Any, np.ndarray]
) -> np.ndarray | None:
    """``P_H`` from the :data:`Parts` of a daily probability whose triggers' ``1 - p``,
    preferences' utilities and rationality are each the same in every world
    (None where they are not).

    A world's ``P_H`` then depends only on which triggers and preferences hold
    there and whether the move is allowed: each of these at most ``2^k`` cases
    is worked out once, by the very operations :func:`_combined` and the power
    apply to a world (on an array of the cases), and each world reads its
    case's value. A world's number is the same; the powers are taken once per
    case, not once per world. ``tables`` keeps the cases' values by what they
    depend on.
    """
    allowed, factors, prefs = parts
    pairs = list(factors)
    if prefs is not None:
        mine, rival, beta = prefs
        pairs += [*mine, *rival]
        beta = _uniform(beta)
        if beta is None:
            return None
    scalars = [_uniform(x) for _, x in pairs]
    if any(x is None for x in scalars):
        return None
    masks = [m for m, _ in pairs] + ([] if allowed is None else [allowed])
    k = len(masks)
    if k > _TABLE_BITS:
        return None
    shape = (len(factors), *(() if prefs is None else (len(mine), len(rival), beta)))
    key = (*scalars, shape, allowed is not None, horizon)
    table = tables.get(key)
    if table is None:
        case = np.arange(1 << k)
        holds = [(case >> j) & 1 == 1 for j in range(k)]
        cases = list(zip(holds, scalars, strict=False))
        n = len(factors)
        table_prefs = None
        if prefs is not None:
            table_prefs = (cases[n : n + len(mine)], cases[n + len(mine) : len(pairs)], beta)
        table = 1.0 - _combined(
            holds[-1] if allowed is not None else None, cases[:n], table_prefs, len(case)
        )
        table **= horizon
        np.subtract(1.0, table, out=table)
        table.flags.writeable = False
        if len(tables) >= _TABLES_KEPT:  # kept for every chunk of the scenario: bounded
            tables.clear()
        tables[key] = table
    # each world's case, bit j set where mask j holds (a bool's byte is 0 or 1); one
    # mask is its own code (indexing reads it only)
    code: np.ndarray = masks[0].view(np.uint8)
    if k > 1:
        code = code | (masks[1].view(np.uint8) << 1)
        for j in range(2, k):
            code |= masks[j].view(np.uint8) << j
    return table.take(code)  # table[code], without the general indexing's steps


def _uniform(x: Any) -> Any:
    """``x`` as one scalar where it is the same in every world (a scalar, or an array
    whose least and greatest values are equal); None where it is not, or is nan
    (which no key of a table finds again)."""
    if isinstance(x, np.ndarray):
        lo = x.min()
        if lo != x.max():  # differs between worlds (or is nan somewhere)
            return None
        x = lo  # equal values (where they are 0 and -0, no result differs)
    return None if x != x else x


_TABLES_KEPT = 4096
"""At most this many tables of :func:`_by_table` are kept per scenario (they are kept
from chunk to chunk with the scenario's plans; the keys hold values of the day)."""

_TABLE_BITS = 8
"""At most this many triggers, preferences and allowed mask for :func:`_by_table` (a case is
a byte)."""


def _keep(r: Rule, state: WorldState, evaluate: Callable[[Expr], Any], R: int) -> Any:
    """``1 - p`` of trigger ``r`` (``p`` clipped to [0, 1]): a scalar where ``p`` is a
    constant (worked out once), else per world."""
    if r.prob is None:
        return 0.0  # 1 - 1
    if r.prob.is_constant:
        kept = state.plans.get("foresight:keep")
        if kept is None:
            kept = state.plans["foresight:keep"] = {}
        got = kept.get(r.prob)
        if got is None:
            got = kept[r.prob] = 1.0 - np.clip(np.float64(r.prob.value), 0, 1)
        return got
    p = evaluate(r.prob)
    if not isinstance(p, np.ndarray):  # the same in every world (a type's value, say)
        return 1.0 - np.clip(np.float64(p), 0, 1)
    return 1.0 - _per_world(p, R).clip(0, 1)


def _preferences(resp: Response, evaluate: Callable[[Expr], Any], R: int) -> Prefs | None:
    """The :data:`Prefs` of ``resp``; None where no preference is active in any world."""
    ons = [_mask(evaluate(r.condition), R) for r in resp.preferences]
    if not any(on.any() for on in ons):
        return None
    mine = []
    for r, on in zip(resp.preferences, ons, strict=True):
        assert r.utility is not None  # compiled so
        mine.append((on, _number(r.utility, evaluate, R)))
    rival = []
    for r in resp.rival:
        assert r.utility is not None
        rival.append((_mask(evaluate(r.condition), R), _number(r.utility, evaluate, R)))
    return mine, rival, _number(resp.actor.rationality, evaluate, R)


def _number(expr: Expr, evaluate: Callable[[Expr], Any], R: int) -> Any:
    """``expr``'s value as a float per world, or as one float where it is a constant
    (a utility of ``-3``, a rationality of ``1``): the same number in every world,
    which broadcasts like the array, and which :func:`_by_table` takes as it is
    instead of finding it the same in every world."""
    if expr.is_constant:
        return np.float64(expr.value)
    x = evaluate(expr)
    if not isinstance(x, np.ndarray):  # the same in every world (a type's value, say)
        return np.float64(x)
    return _per_world(x, R)


def _share(prefs: Prefs, R: int) -> np.ndarray:
    """The softmax share ``s`` of the active preferences against the default's (with the
    responder's rationality), 0 where none is active."""
    mine, rival, beta = prefs
    active = np.zeros(R, dtype=bool)
    u = np.zeros(R)
    for on, utility in mine:
        u = u + np.where(on, utility, 0.0)
        active |= on
    for on, utility in rival:
        u = u - np.where(on, utility, 0.0)
    with np.errstate(over="ignore"):
        return np.where(active, 1.0 / (1.0 + np.exp(-beta * u)), 0.0)


def _raise(q: np.ndarray, horizon: int) -> None:
    """``q **= horizon``, in place. In a long array the power is taken only where ``q``
    is not 1 (``1 ** H`` is 1, and the rest keep their 1): half the worlds or more
    of a response's ``1 - p`` are often exactly 1, and ``pow`` costs much more
    than a comparison. ``**=`` itself for a horizon of 1 or 2, where numpy's
    ``**`` does not call ``pow``."""
    if horizon > 2 and len(q) >= _MASKED_POWER and _one_stays_one(horizon):
        np.power(q, horizon, out=q, where=q != 1.0)
    else:
        q **= horizon


_MASKED_POWER = 4096
"""The length from which :func:`_raise` skips the worlds where ``q`` is 1 (below it the
masked loop's fixed cost is more than the powers it saves)."""

_ONE_STAYS_ONE: dict[int, bool] = {}


def _one_stays_one(horizon: int) -> bool:
    """Whether numpy's power gives exactly 1 for ``1 ** horizon`` here (as C's ``pow``
    must); checked once per horizon, on an array long enough for any vector loop."""
    got = _ONE_STAYS_ONE.get(horizon)
    if got is None:
        ones = np.ones(_MASKED_POWER)
        got = _ONE_STAYS_ONE[horizon] = bool((ones**horizon == 1.0).all())
    return got


Weighted = tuple[dict[str, np.generic], np.ndarray | np.float64]
"""A joint type of a responder's traits: the values its expressions read, and its weight
(per world, or a scalar where it is the same in every world)."""


def _type_weights(state: WorldState, decider: Actor, responder: Responder) -> list[Weighted]:
    """Every joint type of the responder's traits, as the values its expressions read
    (scalars, which expressions broadcast), with its weight per world.

    The weight is the product of the decider's beliefs about each trait (its
    prior where it holds none): beliefs about different traits are held apart.
    A prior is the same in every world, so it is a scalar (which broadcasts),
    and so is the weight of a responder all of whose weighed traits are
    priors; the product starts from the first factor (``1 * w`` is ``w``).
    """
    rows: list[np.ndarray] = []
    for t in responder.traits:
        belief = state.posterior.get((decider.id, t.id))
        rows.append(belief if belief is not None else t.prior)
    out = []
    for combo in itertools.product(*(range(len(t.types)) for t in responder.traits)):
        w: Any = None
        for k, row in zip(combo, rows, strict=True):
            w = row[k] if w is None else w * row[k]
        values = {t.id: t.values[k] for t, k in zip(responder.traits, combo, strict=True)}
        out.append((values, np.float64(1.0) if w is None else w))
    return out


class Hypothesis:
    """A hypothetical state of an :class:`Outlook`, and what it shows unlike the base.

    ``changed`` maps each name of the environment whose array adjudication
    replaced or rewrote (state variables, ``rung``, ``peak``, the movers'
    history names) to its value here; every other name reads as in the base.
    ``delta`` holds those of them that this state's own move wrote, the
    others being as in ``parent`` (the state the move was made on; None for
    the decider's move, made on the base). ``memo`` keeps what was worked
    out on this state alone.
    """

    __slots__ = ("changed", "delta", "memo", "parent", "state", "views")

    def __init__(
        self,
        state: WorldState,
        changed: dict[str, Any],
        delta: dict[str, Any],
        parent: Hypothesis | None,
    ) -> None:
        self.state = state
        self.changed = changed
        self.delta = delta
        self.parent = parent
        self.memo: dict[Any, Any] = {}
        self.views: dict[Any, dict[str, Any]] = {}


class Outlook:
    """One decider's foresight on one day, over the worlds of ``state``.

    Every hypothetical state the decider weighs (``s+x`` for each of its
    moves ``x``, ``s+x+r`` for each response ``r``) is today's snapshot read
    as the next day (the *base*) with only the names adjudication wrote
    replaced. So each state's view is the base's with those names put in
    (no environment is rebuilt), and whatever reads none of them (a value
    term, a response's daily probability, one of its rules' expressions) is
    worked out once on the base and reused by every state; what reads no
    weighed trait of a responder is worked out once for all of its types.
    A response whose triggers' probabilities, preferences' utilities and
    rationality are each the same in every world has its ``P_H`` worked out
    once per case of which of them hold (:func:`_by_table`), not once per
    world.
    Each number is still computed by the same operations on the same values
    as in the formulation of the module docstring, so the utilities are
    bit-identical to it; only repeated work is saved.

    ``env`` is the decider's view of today's snapshot (its moves' effects
    are evaluated on it).
    """

    def __init__(self, decider: Actor, state: WorldState, env: dict[str, Any]) -> None:
        self.decider = decider
        self.state = state
        self.env = env
        self.R = state.R
        self.day = state.day + 1
        self.base = state.env(self.day)
        for v in self.base.values():
            if isinstance(v, np.ndarray):
                v.flags.writeable = False  # shared by every state's view
        self.responders = responders(state, decider)
        self._history = _history_by_mover(state)
        self._memo: dict[Any, Any] = {}  # what was worked out on the base
        self._seen: dict[str, dict[str, Any]] = {}
        self._types: dict[str, list[Weighted]] = {}
        self._moves: dict[int, Hypothesis] = {}
        self._decisions: dict[tuple[str, int], Decision] = {}
        self._fills: dict[int, np.ndarray] = {}
        self._tables: dict[Any, np.ndarray] = state.plans.setdefault("foresight:tables", {})
        self.compiled = _compiled(state)  # asked once: the environment is read each time

    # -- states and views ----------------------------------------------------------
    def move(self, action: Action) -> Hypothesis:
        """``s+x``: the decider takes ``action`` in every world (worked out once)."""
        h = self._moves.get(action.index)
        if h is None:
            h = self._moves[action.index] = self._after(None, self.env, self.decider, action)
        return h

    def _after(
        self, parent: Hypothesis | None, env: dict[str, Any], actor: Actor, action: Action
    ) -> Hypothesis:
        """:func:`after` on ``parent`` (the base if None) as a hypothesis: the new state,
        and the names its move changed (found by identity: adjudication puts a new
        array in place of each one it changes, and copies the history it writes)."""
        prev = self.state if parent is None else parent.state
        key = (actor.id, action.index)
        decision = self._decisions.get(key)
        if decision is None and self.compiled:  # the numpy path adjudicates without one
            filled = self._filled
            decision = self._decisions[key] = Decision(actor.id, filled(action.index), filled(-1))
        st = _after(prev, env, actor, action, self.compiled, decision)
        delta: dict[str, Any] = {}
        for k, v in st.values.items():
            if v is not prev.values[k]:
                delta[k] = v
        for name, new, old in (("rung", st.rung, prev.rung), ("peak", st.peak, prev.peak)):
            if new is not old:
                delta[name] = new
        for mover, hist in self._history.items():
            if (
                st.action_count[mover] is not prev.action_count[mover]
                or st.action_last[mover] is not prev.action_last[mover]
            ):
                for name, h in hist:
                    delta[name] = st.history_value(h, self.day)
        for v in delta.values():
            # The new state's own new arrays, never written again (a state made
            # on this one copies what its adjudication writes into).
            v.flags.writeable = False
        changed = delta if parent is None else {**parent.changed, **delta}
        return Hypothesis(st, changed, delta, parent)

    def _filled(self, v: int) -> np.ndarray:
        """``v`` in every world, read only (made once: the decisions of every move share
        their arrays, which adjudication only reads)."""
        a = self._fills.get(v)
        if a is None:
            a = self._fills[v] = np.full(self.R, v, dtype=np.int64)
            a.flags.writeable = False
        return a

    def seen(self, actor: Actor) -> dict[str, Any]:
        """The base as ``actor`` sees it: with its beliefs, and, for a responder, its
        numeric traits without types replaced by their prior means (scalars, which
        expressions broadcast like arrays)."""
        view = self._seen.get(actor.id)
        if view is None:
            view = actor_env(self.state, actor, self.base)
            means = next((b.means for b in self.responders if b.actor.id == actor.id), {})
            if means:
                view = {**view, **{t: np.float64(m) for t, m in means.items()}}
            self._seen[actor.id] = view
        return view

    def view(self, h: Hypothesis, actor: Actor, values: dict[str, np.generic]) -> dict[str, Any]:
        """State ``h`` as ``actor`` sees it, its traits set to ``values`` (made once)."""
        key = (actor.id, *values.values())
        view = h.views.get(key)
        if view is None:
            view = h.views[key] = {**self.seen(actor), **h.changed, **values}
        return view

    def types(self, responder: Responder) -> list[Weighted]:
        """:func:`_type_weights` of ``responder`` (the decider's beliefs are the day's)."""
        out = self._types.get(responder.actor.id)
        if out is None:
            out = self._types[responder.actor.id] = _type_weights(
                self.state, self.decider, responder
            )
        return out

    def _memo_for(self, h: Hypothesis, reads: frozenset[str]) -> dict[Any, Any]:
        """Where to keep what reads ``reads`` on ``h``: the base's memo if ``h`` changed
        none of those names (it is then the same on every state), else ``h``'s own."""
        return self._memo if h.changed.keys().isdisjoint(reads) else h.memo

    # -- what the decider expects ----------------------------------------------------
    def value(self, h: Hypothesis) -> np.ndarray:
        """:func:`value` of the decider on ``h``: the same sum of the same terms."""
        total = h.memo.get("value")
        if total is None and self.compiled:
            total = kernels.value(self.decider, h.state, self.view(h, self.decider, {}))
            if total is not None:
                h.memo["value"] = total
        if total is None:
            total = np.zeros(self.R)
            for i, (term, reads) in enumerate(_value_terms(self.state, self.decider)):
                total += self._term(h, i, term, reads)
            h.memo["value"] = total
        return total

    def _term(self, h: Hypothesis, i: int, term: ValueTerm, reads: frozenset[str]) -> np.ndarray:
        """Value term ``i`` on ``h``: the base's where ``h`` changed none of its names,
        the parent state's where ``h``'s own move wrote none of them."""
        if h.changed.keys().isdisjoint(reads):
            memo = self._memo
        elif h.parent is not None and h.delta.keys().isdisjoint(reads):
            return self._term(h.parent, i, term, reads)
        else:
            memo = h.memo
        key = ("term", i)
        part = memo.get(key)
        if part is None:
            part = memo[key] = _term(term, self.view(h, self.decider, {}), self.R)
        return part

    def chance(
        self, h: Hypothesis, responder: Responder, resp: Response, t: int, horizon: int
    ) -> tuple[np.ndarray, bool]:
        """``P_H`` of ``resp`` on ``h`` for the responder's joint type ``t``, and whether
        it is positive in any world (worked out once per state, or once for all
        states and types, as far as what it reads allows)."""
        b = responder.actor
        memo = self._memo_for(h, resp.reads)
        if resp.action.once and h.state.action_count[b.id] is not self.state.action_count[b.id]:
            memo = h.memo  # never so (only the decider moved), but the once check reads it
        key = ("chance", b.id, resp.action.index, t if resp.typed else None, horizon)
        got = memo.get(key)
        if got is None:
            values = self.types(responder)[t][0]
            p_h = None
            if self.compiled:
                p_h = kernels.chance(resp, h.state, self.view(h, b, values), horizon)
            if p_h is None:

                def evaluate(expr: Expr) -> Any:
                    return self.evaluate(expr, h, responder, t, values)

                parts = _parts(resp, h.state, evaluate)
                if parts is None:
                    got = memo[key] = (np.zeros(self.R), False)  # 1 - 1^H in every world
                    return got
                p_h = _by_table(parts, horizon, self.R, self._tables)
                if p_h is None:
                    # 1 - (1 - p) ** H, the power and the subtraction in place
                    p_h = 1.0 - _combined(*parts, self.R)
                    _raise(p_h, horizon)
                    np.subtract(1.0, p_h, out=p_h)
            got = memo[key] = (p_h, bool((p_h > 0).any()))
        return got

    def evaluate(
        self, expr: Expr, h: Hypothesis, responder: Responder, t: int, values: dict[str, Any]
    ) -> Any:
        """``expr`` of ``responder`` on ``h`` with its joint type ``t`` (whose trait values
        are ``values``), kept for every state that changed none of its names and
        for every type when it reads no weighed trait."""
        b = responder.actor
        memo = self._memo_for(h, expr.names)
        typed = not expr.names.isdisjoint(responder.typed)
        key = (b.id, expr, t if typed else None)
        got = memo.get(key)
        if got is None:
            # a scalar where it is the same in every world (it reads only scalars, such
            # as a type's value): what reads it broadcasts it, or takes it as it is
            got = memo[key] = expr.evaluate(self.view(h, b, values))
        return got

    def gain(
        self, h: Hypothesis, responder: Responder, resp: Response, t: int, v_x: np.ndarray
    ) -> np.ndarray:
        """``V(s+x+r) - V(s+x)`` on ``h = s+x`` (once for all types unless the response's
        effects read the responder's traits)."""
        b = responder.actor
        key = ("gain", b.id, resp.action.index, t if resp.reads_traits else None)
        got = h.memo.get(key)
        if got is None:
            values = self.types(responder)[t][0]
            sxr = self._after(h, self.view(h, b, values), b, resp.action)
            got = h.memo[key] = self.value(sxr) - v_x
        return got

    def expected_value(self, action: Action, horizon: int) -> np.ndarray:
        """``EV_H(action)`` for the decider, per world (see the module docstring).

        The sum runs over the responders, their responses and their types in
        the order of the plain formulation, so it rounds the same way.
        """
        h = self.move(action)
        v_x = self.value(h)
        ev = v_x.copy()
        for responder in self.responders:
            weighted = self.types(responder)
            for resp in responder.responses:
                if not self._open(resp):
                    continue
                for t, (_, weight) in enumerate(weighted):
                    p_h, anywhere = self.chance(h, responder, resp, t, horizon)
                    if not anywhere:
                        continue
                    # ev + weight * p_h * gain, the products and the sum in place
                    term = weight * p_h
                    term *= self.gain(h, responder, resp, t, v_x)
                    ev += term
        return ev

    def _open(self, resp: Response) -> bool:
        """Whether ``resp`` can be taken in some world: a ``once`` action taken in every
        world has chance 0 everywhere, on every state (only the decider moves)."""
        act = resp.action
        if not act.once:
            return True
        key = ("open", resp.actor.id, act.index)
        got = self._memo.get(key)
        if got is None:
            taken = self.state.action_count[resp.actor.id][act.index]
            got = self._memo[key] = bool((taken == 0).any())
        return got


def expected_value(
    decider: Actor, action: Action, horizon: int, state: WorldState, env: dict[str, Any]
) -> np.ndarray:
    """``EV_H(action)`` for ``decider``, per world (see the module docstring)."""
    return Outlook(decider, state, env).expected_value(action, horizon)


def _history_by_mover(state: WorldState) -> dict[str, tuple[tuple[str, names.History], ...]]:
    """Per actor: the action history names some expression reads (worked out once)."""
    key = "foresight:history"
    cached = state.plans.get(key)
    if cached is None:
        by: dict[str, list[tuple[str, names.History]]] = {}
        for name, h in state.history_parts:
            if h.kind == "action":
                by.setdefault(h.owner, []).append((name, h))
        cached = state.plans[key] = {k: tuple(v) for k, v in by.items()}
    return cached


def _value_terms(state: WorldState, decider: Actor) -> tuple[tuple[ValueTerm, frozenset[str]], ...]:
    """The decider's value terms, each with the names it reads (worked out once)."""
    key = f"foresight:values:{decider.id}"
    cached = state.plans.get(key)
    if cached is None:
        cached = state.plans[key] = tuple((t, t.of.names | t.weight.names) for t in decider.values)
    return cached


def utilities(
    decider: Actor,
    rules: Sequence[Rule],
    state: WorldState,
    env: dict[str, Any],
    allowed: np.ndarray | None = None,
    active: np.ndarray | None = None,
) -> dict[int, np.ndarray]:
    """Per foresight rule (global index): ``EV_H(action) - EV_H(default)``, per world.

    ``env`` is the decider's view of today's snapshot; ``allowed`` (actions x
    worlds), where given, says where each action is allowed; ``active``, where
    given, says where some rule's ``when`` holds with its action allowed (the
    compiled decision works it out in its own loop), and ``allowed`` is not
    read. Each (action,
    horizon) and each horizon's default is worked out once, and only in the
    worlds where some rule's ``when`` holds and its action is allowed (0
    elsewhere, where the decision does not read it): every step is
    element-wise, so a world's utility is the same whichever other worlds are
    computed with it. One :class:`Outlook` serves all of them, so what the
    action's and the default's states share is worked out once.
    """
    R = state.R
    if active is None:
        active = np.zeros(R, dtype=bool)
        for r in rules:
            on = _mask(state.evaluate(r.condition, env), R)
            active |= on if allowed is None else on & allowed[r.action_index]
    if not active.any():
        return {r.index: np.zeros(R) for r in rules}
    if kernels.active():  # the whole outlook in one compiled loop, where it can be had
        fused = outlook_kernel.utilities(decider, rules, state, env, active)
        if fused is not None:
            return fused
    where = None if active.all() else np.flatnonzero(active)
    if where is None:
        sub, sub_env = state, env
    else:
        sub = _Worlds.of(state, where, _foreseen_names(state, decider))
        sub_env = _take(env, where, R)
    outlook = Outlook(decider, sub, sub_env)
    default = decider.default_action
    cache: dict[tuple[int, int], np.ndarray] = {}

    def ev(act: Action, h: int) -> np.ndarray:
        key = (act.index, h)
        if key not in cache:
            cache[key] = outlook.expected_value(act, h)
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
    return _Restricted(env, where, R)


class _Restricted(dict[str, Any]):
    """``env`` restricted to the worlds ``where``, each entry sliced when first read.

    Foresight evaluates only its moves' effects on today's view, which read a
    few of its names; slicing the others would be work thrown away. A name
    ``env`` lacks is a ``KeyError`` as with a plain dict.
    """

    def __init__(self, env: dict[str, Any], where: np.ndarray, R: int) -> None:
        super().__init__()
        self._env, self._where, self._R = env, where, R

    def __missing__(self, key: str) -> Any:
        v = self._env[key]
        if isinstance(v, np.ndarray) and v.shape == (self._R,):
            v = v.take(self._where)
        self[key] = v
        return v


class _Worlds(WorldState):
    """The worlds ``where`` (indices) of ``whole``, as :meth:`WorldState.take` with
    ``read_only`` gives them, but for foresight's reading only.

    Foresight reads the arrays an environment or adjudication reads; the
    others (:data:`_LATER`: events, intel delays and holdings, rules fired,
    flags, evidence seen) it does not, save events for an environment that
    names one. Each of those is sliced when first read, so the many rows of
    bookkeeping are not copied on every day foresight runs. A hypothetical
    copy (:meth:`WorldState.hypothetical`) does not have them: reading one
    there fails loudly instead of showing the whole state's worlds.

    Of the state variables and parameters, only those named in ``names`` are
    kept (:func:`_foreseen_names`: all that foresight's expressions read and
    its moves write); an expression reading another would fail loudly. An
    actor's history arrays are sliced when first read (:class:`Rows`): the
    numpy path reads those of the actors whose history some expression names
    and of responders with a ``once`` move.
    """

    _whole: WorldState
    _where: np.ndarray

    @classmethod
    def of(cls, whole: WorldState, where: np.ndarray, names: frozenset[str]) -> _Worlds:
        """``whole`` restricted to the worlds ``where`` and to the ``names`` it keeps."""
        sub = object.__new__(cls)
        d = sub.__dict__
        for name in _FIELDS:
            if name in ("values", "params"):
                d[name] = _kept_rows(getattr(whole, name), where, names)
            elif name in ("action_count", "action_last"):
                d[name] = Rows(getattr(whole, name), where)  # an actor's when first read
            elif name not in _LATER:
                d[name] = rows_of(getattr(whole, name), where)
        d["R"] = d["width"] = len(where)  # its own worlds, as take's copy has them
        d["offset"], d["blocks"] = 0, ()
        d.update(whole._shared())
        d["_whole"], d["_where"] = whole, where
        return sub

    def __getattr__(self, name: str) -> Any:
        # Called only for what the instance lacks: a field of _LATER, sliced now.
        if name not in _LATER:
            raise AttributeError(name)
        v = self.__dict__[name] = rows_of(getattr(self._whole, name), self._where)
        return v


def _kept_rows(
    arrays: dict[str, np.ndarray], where: np.ndarray, names: frozenset[str]
) -> dict[str, np.ndarray]:
    """The arrays of ``names`` among ``arrays``, each restricted to the worlds ``where`` and
    read only (what :func:`rows_of` gives each, in one loop)."""
    out = {}
    for k, v in arrays.items():
        if k in names:
            out[k] = row = v.take(where)
            row.flags.writeable = False
    return out


def _foreseen_names(state: WorldState, decider: Actor) -> frozenset[str]:
    """Every name foresight reads or writes for ``decider``: what its values and the
    responses' rules read, and what the effects of every action of the decider and
    of each responder read and the variables they write (an adjudication of one
    move, compiled, reads those of all its mover's actions); worked out once."""
    key = f"foresight:names:{decider.id}"
    cached = state.plans.get(key)
    if cached is None:
        others = responders(state, decider)
        names = set(_valued_names(decider)).union(*(r.reads for b in others for r in b.responses))
        for mover in (decider, *(b.actor for b in others)):
            for act in mover.actions:
                for e in act.effects:
                    names |= e.expr.names | {e.target}
        cached = state.plans[key] = frozenset(names)
    return cached


_LATER = frozenset(
    {
        "event_active",
        "event_count",
        "held",
        "intel_delay",
        "rule_fired",
        "flag_any",
        "evidence_used",
    }
)
"""The fields of a :class:`_Worlds` sliced when first read."""

_FIELDS = tuple(f.name for f in dataclasses.fields(WorldState))
"""The fields of a :class:`WorldState`, in order."""
