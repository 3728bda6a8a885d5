"""How an actor decides, per world and per day (see docs/decision-model.md).

1. **Constraints** (doctrine) filter the allowed actions: an action is
   allowed only where all of its constraints hold. ``once`` actions already
   taken are not allowed. The default action (the no-op) is always allowed.
2. **Triggers**, in the order written, fire with their daily probability
   where their condition holds and their action is allowed; the first that
   fires decides.
3. Otherwise the actor chooses by **preferences**: each action with at least
   one active preference (or foresight rule, whose utility is the expected
   value of what the actor predicts will follow, :mod:`sim.engine.foresight`)
   gets the sum of their utilities; the default action
   has utility 0 (plus its own preferences); the choice is a softmax with the
   actor's rationality ``beta``: ``P(a) ~ exp(beta * u_a)`` over allowed
   candidates. ``beta = 0`` is a coin toss among candidates; a large beta
   picks the best.

Every decision records the rule that produced it: the trigger that fired, or
the preference or foresight rule with the largest utility for the chosen action (-1 for a bare
default). A constraint is recorded as *binding* in a world when a trigger or
preference wanted its action but the constraint forbade it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.engine import foresight, kernels
from sim.engine.adjudication import Decision
from sim.engine.beliefs import actor_env
from sim.engine.draws import Rng, state_uniforms
from sim.engine.state import WorldState
from sim.expr import Expr
from sim.scenario.model import Actor, Rule


@dataclass(frozen=True)
class Preference:
    """A preference (or foresight) rule with where its utility goes (see :class:`ActorPlan`)."""

    rule: Rule
    utility: Expr | None  # the rule's utility; None for foresight (worked out each day)
    row: int  # the action's row among the candidates
    first: bool  # no earlier preference for the same action
    last: bool  # no later preference for the same action


@dataclass(frozen=True)
class ActorPlan:
    """An actor's rules sorted by kind, worked out once instead of every day.

    ``candidates`` are the actions the softmax can give weight to: the
    default action, actions with at least one preference, and action 0 (the
    pick of a world whose weights are all undefined). Every other action has
    utility ``-inf`` in every world, hence weight 0, and leaving it out of the
    softmax changes no pick and no rounding.
    """

    once: tuple[int, ...]
    constraints: tuple[Rule, ...]
    triggers: tuple[Rule, ...]
    preferences: tuple[Preference, ...]
    candidates: np.ndarray  # action indices, ascending
    default_row: int
    constrained: frozenset[int]  # actions with a constraint (whose wishes are tracked)

    @classmethod
    def of(cls, actor: Actor) -> ActorPlan:
        """The plan of ``actor``'s rules; the same for every day and world."""
        # Foresight rules add to the softmax utility as preferences do.
        prefs = tuple(r for r in actor.rules if r.kind in ("preference", "foresight"))
        candidates = sorted({r.action_index for r in prefs} | {0, actor.default_action.index})
        row = {a: i for i, a in enumerate(candidates)}
        targets = [r.action_index for r in prefs]
        constraints = actor.rules_of("constraint")
        return cls(
            once=tuple(a.index for a in actor.actions if a.once),
            constraints=constraints,
            triggers=actor.rules_of("trigger"),
            preferences=tuple(
                Preference(r, _utility(r), row[a], a not in targets[:k], a not in targets[k + 1 :])
                for k, (r, a) in enumerate(zip(prefs, targets, strict=True))
            ),
            candidates=np.array(candidates, dtype=np.int64),
            default_row=row[actor.default_action.index],
            constrained=frozenset(r.action_index for r in constraints),
        )


def _utility(rule: Rule) -> Expr | None:
    """A preference's utility (the compiler refuses a preference without one); None for
    a foresight rule, whose utility :mod:`sim.engine.foresight` works out each day.
    """
    if rule.kind == "foresight":
        return None
    if rule.utility is None:
        raise ValueError(f"preference {rule.id} has no utility")
    return rule.utility


def decide(actor: Actor, state: WorldState, env: dict[str, Any], rng: Rng) -> Decision:
    """Choose one action per world for ``actor`` on the snapshot ``env``.

    Moves the actor's own stream on by exactly ``len(triggers) + 1`` uniform
    arrays of length R per call (rows nobody needs are skipped, not drawn),
    so the draw sequence is fixed whatever the other actors do or the order
    they are asked in. Reads ``state`` and ``env`` only (besides caching the
    actor's :class:`ActorPlan` in ``state.plans``); the constraints that bound
    are returned in the decision, for :func:`~sim.engine.adjudication.adjudicate`
    to record.
    """
    R = state.R
    plan = state.plans.get(actor.id)
    if plan is None:
        plan = state.plans[actor.id] = ActorPlan.of(actor)
    env = actor_env(state, actor, env)  # with the actor's own beliefs, if it holds any
    if kernels.active():  # the whole decision compiled, where it can be had
        got = kernels.decide(actor, plan, state, env, rng)
        if got is not None:
            return got
    n = len(actor.actions)
    allowed = np.ones((n, R), dtype=bool)
    counts = state.action_count[actor.id]
    for a in plan.once:
        allowed[a] &= counts[a] == 0
    constraint_ok: list[tuple[Rule, np.ndarray]] = []
    for rule in plan.constraints:
        ok = np.asarray(state.evaluate(rule.condition, env), dtype=bool)
        allowed[rule.action_index] &= ok
        constraint_ok.append((rule, ok))
    T = len(plan.triggers)
    u = state_uniforms(rng, T + 1, state)  # row k for trigger k, row T for the softmax
    # What a trigger or preference wanted, kept only for constrained actions.
    wanted = np.zeros((n, R), dtype=bool) if plan.constrained else None
    chosen = _full(R, -1, np.int64)
    rule_of = chosen.copy()
    fired = False  # whether some trigger has decided in some world (else chosen < 0 everywhere)
    for k, rule in enumerate(plan.triggers):
        when = np.asarray(state.evaluate(rule.condition, env), dtype=bool)
        if not when.any():
            continue
        a = rule.action_index
        if wanted is not None and a in plan.constrained:
            wanted[a] |= when
        # Where the trigger can fire: its row is drawn only if that is somewhere
        # (skipped otherwise, which leaves the stream where drawing it would).
        fire = when & allowed[a]
        if fired:
            fire &= chosen < 0
        if not fire.any():
            continue
        p = state.evaluate(rule.prob, env) if rule.prob is not None else 1.0
        fire &= u.row(k) < p
        if fire.any():
            chosen[fire] = a
            rule_of[fire] = rule.index
            fired = True

    # A foresight utility is read only where its action is allowed and no trigger
    # has decided: it is worked out there alone (what a rule wanted, for binding
    # constraints, is its `when`; the softmax's pick is used only where
    # ``chosen < 0``). Foresight draws no random number, so working it out
    # after the triggers moves no stream.
    foreseen = [p.rule for p in plan.preferences if p.utility is None]
    ahead = {}
    if foreseen:
        undecided = allowed & (chosen < 0) if fired else allowed
        ahead = foresight.utilities(actor, foreseen, state, env, undecided)

    m = len(plan.candidates)
    # The softmax's row, drawn where some world is undecided and there is a choice.
    draws = u.row(T) if m > 1 and (not fired or (chosen < 0).any()) else None
    masks, decided = (allowed, wanted), (chosen, rule_of)
    if not (
        kernels.active() and kernels.choose(actor, plan, state, env, masks, decided, draws, ahead)
    ):
        chosen, rule_of = _by_preferences(
            actor, plan, state, env, masks, decided, draws, ahead, everywhere=not fired
        )
    u.finish()

    binding: list[tuple[int, np.ndarray]] = []
    for rule, ok in constraint_ok:
        assert wanted is not None
        bound = wanted[rule.action_index] & ~ok
        if bound.any():
            binding.append((rule.index, bound))
    return Decision(actor.id, chosen, rule_of, tuple(binding))


def _by_preferences(
    actor: Actor,
    plan: ActorPlan,
    state: WorldState,
    env: dict[str, Any],
    masks: tuple[np.ndarray, np.ndarray | None],
    decided: tuple[np.ndarray, np.ndarray],
    draws: np.ndarray | None,
    ahead: dict[int, np.ndarray],
    everywhere: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The decision completed by preferences and the softmax where no trigger decided
    (the numpy path; :func:`sim.engine.kernels.choose` is the compiled one).

    Writes ``wanted`` (the second of ``masks``) for constrained actions; returns
    the new ``chosen`` and ``rule_of``. ``everywhere`` says that no trigger decided
    in any world (``chosen`` is -1 throughout), so the picks are the decision as
    they are.
    """
    R = state.R
    allowed, wanted = masks
    chosen, rule_of = decided
    # Per candidate action: summed utility, best preference and its utility.
    m = len(plan.candidates)
    utility = _full((m, R), -np.inf)
    utility[plan.default_row] = 0.0
    # the best utility so far, per candidate: -inf until a preference of the action is
    # applied, so a first preference compares with -inf itself, and the rows are made
    # only for an action that has several preferences
    best_u: np.ndarray | None = None
    best_rule = _full((m, R), -1, np.int64)
    for pref in plan.preferences:
        rule, j = pref.rule, pref.row
        active = np.asarray(state.evaluate(rule.condition, env), dtype=bool)
        if not active.any():
            # Writes nothing below: every update is masked by ``active``. Skipping
            # even the first preference of an action is safe, because until one is
            # applied the action's utility is the same in every world (-inf, or 0
            # for the default), which is what ``first`` relies on.
            continue
        if wanted is not None and rule.action_index in plan.constrained:
            wanted[rule.action_index] |= active
        if pref.utility is None:
            val = ahead[rule.index]
        else:
            val = np.asarray(state.evaluate(pref.utility, env), dtype=np.float64)
        # Before an action's first preference its utility is the same in every
        # world (-inf, or 0 for the default), so the sum starts from 0.
        base = 0.0 if pref.first else np.where(np.isneginf(utility[j]), 0.0, utility[j])
        # putmask(row, m, x) writes what row = np.where(m, x, row) writes, in place
        # (as copyto(row, x, where=m) does, whose masked loop costs a few times more)
        np.putmask(utility[j], active, base + val)
        better = active & (val > (-np.inf if best_u is None else best_u[j]))
        if not pref.last:
            if best_u is None:
                best_u = _full((m, R), -np.inf)
            np.putmask(best_u[j], better, val)
        np.putmask(best_rule[j], better, rule.index)

    pending = None if everywhere else chosen < 0
    if pending is not None and not pending.any():
        return chosen, rule_of
    if m == 1:
        # A single candidate is picked whatever its weight (see softmax_pick).
        action, picked_rule = plan.candidates[0], best_rule[0]
    else:
        beta = np.asarray(state.evaluate(actor.rationality, env), dtype=float)
        assert draws is not None  # drawn for m > 1 where a world is pending
        action, picked_rule = softmax_pick(
            allowed[plan.candidates], utility, beta, draws, plan.candidates, best_rule
        )
    if pending is None:  # decided by the picks alone, in every world
        if m > 1:
            return action, picked_rule  # new arrays of their own
        return np.full(R, action), picked_rule.copy()
    chosen = np.where(pending, action, chosen)
    rule_of = np.where(pending, picked_rule, rule_of)
    return chosen, rule_of


def _full(shape: int | tuple[int, int], value: float, dtype: type = np.float64) -> np.ndarray:
    """``np.full(shape, value, dtype)``, without its Python-level steps."""
    out: np.ndarray = np.empty(shape, dtype=dtype)
    out.fill(value)
    return out


def softmax_pick(
    allowed: np.ndarray,
    utility: np.ndarray,
    beta: np.ndarray,
    u: np.ndarray,
    candidates: np.ndarray,
    best_rule: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one candidate per world with ``P(a) ~ exp(beta * utility_a)``.

    Args:
        allowed, utility, best_rule: ``(m, R)``, one row per candidate action.
        beta: ``(R,)`` rationality; u: ``(R,)`` uniform draws.
        candidates: the ``m`` action indices, ascending.

    Returns:
        The chosen action and its best preference rule, per world (new arrays). A
        world is given the first candidate whose cumulative weight exceeds
        ``u * total``, or row 0 where the weights are undefined (nan), as
        ``argmax`` over ``u * cdf[-1] < cdf`` would; the rounding is that of
        ``np.cumsum`` over the candidates' weights.

    A candidate that is allowed with a finite utility in no world has weight 0
    in every world: it adds exactly 0 to every running sum and is never the
    first above a threshold, so where row 0 is a live candidate the others are
    weighed without it. One live candidate is then picked everywhere, and two
    are weighed with one ``exp`` per world instead of two (:func:`_pick_of_two`).
    """
    m = len(candidates)
    ok = allowed & np.isfinite(utility)
    rows = None  # the candidates weighed (None: all)
    if m > 1:
        live = ok.any(axis=1)
        if live[0] and not live.all():
            rows = np.flatnonzero(live)
            if len(rows) == 1:  # row 0 alone: its weight is 1 (or nan: row 0 again)
                R = len(u)
                return np.full(R, candidates[0]), best_rule[0].copy()
            ok, utility = ok[rows], utility[rows]
            m = len(rows)
    # beta * utility where ok, -inf elsewhere: the product everywhere, then -inf put
    # in (a masked multiply's loop costs a few times more); the products it then
    # drops may be undefined or overflow, which is not worth a warning
    with np.errstate(invalid="ignore", over="ignore"):
        logits = np.multiply(beta, utility)
    np.putmask(logits, ~ok, -np.inf)
    second = _pick_of_two(logits, u) if m == 2 else None
    if second is not None:  # row 1 of the two where true, row 0 elsewhere
        a, b = (0, 1) if rows is None else rows
        return np.where(second, candidates[b], candidates[a]), np.where(
            second, best_rule[b], best_rule[a]
        )
    row = _pick(logits, u)
    if rows is not None:
        row = rows.take(row)
    R = len(row)
    return candidates.take(row), best_rule.ravel().take(row * R + np.arange(R))


def _pick(logits: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The row picked in each world from the ``(m, R)`` logits (written over)."""
    m = len(logits)
    logits -= logits.max(axis=0)
    cdf = np.exp(logits, out=logits)
    for j in range(1, m):  # the running sum np.cumsum makes, row by row (faster)
        np.add(cdf[j - 1], cdf[j], out=cdf[j])
    threshold = u * cdf[-1]
    # Where the threshold is a number, so is every weight, and cdf only
    # grows: the rows at or below the threshold come first, and their number
    # is the row of the first one above it (m where none is: row 0, as where
    # the threshold is nan and no row is counted).
    row = (cdf <= threshold).sum(axis=0)
    row[row == m] = 0
    return row


def _pick_of_two(logits: np.ndarray, u: np.ndarray) -> np.ndarray | None:
    """Where :func:`_pick` of two rows gives row 1, with one ``exp`` per world; None
    where a logit is ``+inf`` or nan (whose weights are nan, which this does not
    reproduce).

    The larger logit less the maximum is exactly 0, whose ``exp`` is exactly 1;
    the other less the maximum is ``-|l0 - l1|`` (a difference and its negation
    round alike). So the first weight is 1 or ``x = exp(-|l0 - l1|)`` and the
    total is ``1 + x`` either way; a world whose logits are both ``-inf`` has a
    nan ``x`` and total, hence row 0, as in :func:`_pick`.
    """
    l0, l1 = logits
    if not logits.max() < np.inf:  # +inf or nan somewhere
        return None
    x = np.subtract(l0, l1)
    first = x >= 0  # l0 is the larger (or a nan difference, where the total is nan)
    np.abs(x, out=x)
    np.negative(x, out=x)
    np.exp(x, out=x)
    cdf0 = np.where(first, 1.0, x)
    x += 1.0
    threshold = u * x
    # row 1 where the first weight is at or below the threshold and the total is not
    second = cdf0 <= threshold
    # ``~(x <= threshold)``: they differ only where the total is nan, where the first
    # comparison is false already
    second &= x > threshold
    return second
