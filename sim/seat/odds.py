"""The doctrine's probability of each action, per world, on one day.

:func:`sim.engine.decision.decide` draws the doctrine's choice; this module
works out the distribution that draw comes from, with no random number:

* the triggers, in the order written: trigger ``k`` decides with probability
  ``p_k`` times the chance that no earlier trigger whose ``when`` holds and
  whose action is allowed fired (``prod (1 - p_j)``);
* the rest of the mass goes to the softmax over the candidates, with
  ``P(a) ~ exp(beta * u_a)`` over the allowed actions that some active
  preference or foresight rule speaks for, and the default (utility 0 plus
  its own preferences).

The utilities are the doctrine's own: the same sums of active preferences
and the same foresight utilities (:func:`sim.engine.foresight.utilities`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.engine import foresight
from sim.engine.decision import ActorPlan
from sim.engine.state import WorldState
from sim.scenario.model import Actor


def doctrine_odds(
    actor: Actor, state: WorldState, env: dict[str, Any], allowed: np.ndarray
) -> np.ndarray:
    """Probability of each action (actions x worlds) under ``actor``'s doctrine.

    Args:
        actor: the deciding actor.
        state: the world state of the morning (after events and observation).
        env: the actor's own view of the snapshot (with its beliefs).
        allowed: where each action is allowed (actions x worlds).
    """
    R = state.R
    n = len(actor.actions)
    plan = state.plans.get(actor.id) or ActorPlan.of(actor)
    odds = np.zeros((n, R))
    left = np.ones(R)  # chance that no trigger has decided yet
    for rule in plan.triggers:
        a = rule.action_index
        when = np.broadcast_to(np.asarray(state.evaluate(rule.condition, env), dtype=bool), (R,))
        live = when & allowed[a]
        if not live.any():
            continue
        p = 1.0 if rule.prob is None else state.evaluate(rule.prob, env)
        p = np.clip(np.broadcast_to(np.asarray(p, dtype=float), (R,)), 0.0, 1.0)
        fire = np.where(live, left * p, 0.0)
        odds[a] += fire
        left = left - fire
    odds += left * _softmax(actor, plan, state, env, allowed)
    return odds


def _softmax(
    actor: Actor, plan: ActorPlan, state: WorldState, env: dict[str, Any], allowed: np.ndarray
) -> np.ndarray:
    """The softmax's share of each action (actions x worlds), as the doctrine draws it."""
    R = state.R
    n = len(actor.actions)
    out = np.zeros((n, R))
    cands = plan.candidates
    if len(cands) == 1:
        out[cands[0]] = 1.0  # a single candidate is picked whatever its weight
        return out
    foreseen = [p.rule for p in plan.preferences if p.utility is None]
    ahead = foresight.utilities(actor, foreseen, state, env, allowed) if foreseen else {}
    utility = np.full((len(cands), R), -np.inf)
    utility[plan.default_row] = 0.0
    for pref in plan.preferences:
        rule, j = pref.rule, pref.row
        active = np.broadcast_to(np.asarray(state.evaluate(rule.condition, env), dtype=bool), (R,))
        if not active.any():
            continue
        if pref.utility is None:
            val = ahead[rule.index]
        else:
            val = np.asarray(state.evaluate(pref.utility, env), dtype=np.float64)
        base = np.where(np.isneginf(utility[j]), 0.0, utility[j])
        utility[j] = np.where(active, base + val, utility[j])
    beta = np.broadcast_to(np.asarray(state.evaluate(actor.rationality, env), dtype=float), (R,))
    ok = allowed[cands] & np.isfinite(utility)
    logits = np.where(ok, beta * np.where(ok, utility, 0.0), -np.inf)
    top = logits.max(axis=0)
    weight = np.where(ok, np.exp(logits - np.where(np.isfinite(top), top, 0.0)), 0.0)
    total = weight.sum(axis=0)
    good = total > 0
    share = np.where(good, weight / np.where(good, total, 1.0), 0.0)
    # Where no weight is defined the doctrine picks the first candidate.
    share[0] = np.where(good, share[0], 1.0)
    out[cands] = share
    return out
