"""How an actor decides, per world and per day (see docs/decision-model.md).

1. **Constraints** (doctrine) filter the allowed actions: an action is
   allowed only where all of its constraints hold. ``once`` actions already
   taken are not allowed. The default action (the no-op) is always allowed.
2. **Triggers**, in the order written, fire with their daily probability
   where their condition holds and their action is allowed; the first that
   fires decides.
3. Otherwise the actor chooses by **preferences**: each action with at least
   one active preference gets the sum of their utilities; the default action
   has utility 0 (plus its own preferences); the choice is a softmax with the
   actor's rationality ``beta``: ``P(a) ~ exp(beta * u_a)`` over allowed
   candidates. ``beta = 0`` is a coin toss among candidates; a large beta
   picks the best.

Every decision records the rule that produced it: the trigger that fired, or
the preference with the largest utility for the chosen action (-1 for a bare
default). A constraint is recorded as *binding* in a world when a trigger or
preference wanted its action but the constraint forbade it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.engine.adjudication import Decision
from sim.engine.state import WorldState
from sim.scenario.model import Actor


def decide(
    actor: Actor, state: WorldState, env: dict[str, Any], rng: np.random.Generator
) -> Decision:
    """Choose one action per world for ``actor`` on the snapshot ``env``.

    Draws exactly ``len(triggers) + 1`` uniform arrays of length R per call,
    from the actor's own stream, so the draw sequence is fixed whatever the
    other actors do or the order they are asked in.
    """
    R = state.R
    n = len(actor.actions)
    allowed = np.ones((n, R), dtype=bool)
    counts = state.action_count[actor.id]
    for act in actor.actions:
        if act.once:
            allowed[act.index] &= counts[act.index] == 0
    constraint_ok: list[tuple[int, np.ndarray]] = []
    for rule in actor.rules:
        if rule.kind == "constraint":
            ok = np.asarray(rule.condition.evaluate(env, R), dtype=bool)
            allowed[rule.action_index] &= ok
            constraint_ok.append((rule.index, ok))

    triggers = [r for r in actor.rules if r.kind == "trigger"]
    u = rng.random((len(triggers) + 1, R))
    wanted = np.zeros((n, R), dtype=bool)
    chosen = np.full(R, -1, dtype=np.int64)
    rule_of = np.full(R, -1, dtype=np.int64)
    for k, rule in enumerate(triggers):
        when = np.asarray(rule.condition.evaluate(env, R), dtype=bool)
        wanted[rule.action_index] |= when
        p = rule.prob.evaluate(env, R) if rule.prob is not None else 1.0
        fire = when & allowed[rule.action_index] & (u[k] < p) & (chosen < 0)
        chosen[fire] = rule.action_index
        rule_of[fire] = rule.index

    default = actor.default_action.index
    utility = np.full((n, R), -np.inf)
    utility[default] = 0.0
    best_u = np.full((n, R), -np.inf)
    best_rule = np.full((n, R), -1, dtype=np.int64)
    for rule in actor.rules:
        if rule.kind != "preference":
            continue
        a = rule.action_index
        active = np.asarray(rule.condition.evaluate(env, R), dtype=bool)
        wanted[a] |= active
        val = np.broadcast_to(np.asarray(rule.utility.evaluate(env, R), dtype=float), (R,))
        base = np.where(np.isneginf(utility[a]), 0.0, utility[a])
        utility[a] = np.where(active, base + val, utility[a])
        better = active & (val > best_u[a])
        best_u[a] = np.where(better, val, best_u[a])
        best_rule[a] = np.where(better, rule.index, best_rule[a])

    pending = chosen < 0
    if pending.any():
        beta = np.broadcast_to(np.asarray(actor.rationality.evaluate(env, R), dtype=float), (R,))
        ok = allowed & np.isfinite(utility)
        logits = np.where(ok, beta * np.where(ok, utility, 0.0), -np.inf)
        logits -= logits.max(axis=0)
        w = np.exp(logits)
        cdf = np.cumsum(w, axis=0)
        pick = (u[-1] * cdf[-1] < cdf).argmax(axis=0)
        chosen = np.where(pending, pick, chosen)
        rule_of = np.where(pending, best_rule[pick, np.arange(R)], rule_of)

    for index, ok in constraint_ok:
        rule = next(r for r in actor.rules if r.index == index)
        binding = wanted[rule.action_index] & ~ok
        if binding.any():
            state.rule_fired[index] |= binding
    return Decision(actor.id, chosen, rule_of)
