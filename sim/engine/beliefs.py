"""Beliefs about other actors' private traits, per world, moved by Bayes' rule.

A belief (``actors.<holder>.beliefs.<trait>``) is an array ``(types, R)`` of
probabilities: in every world, what the holder thinks of the types the trait
may have. It starts at the normalised prior and, in the observe phase, each
evidence item multiplies it by the item's likelihood (docs/decision-model.md,
*Beliefs*):

* ``once: true``: on the first day ``seen`` holds, posterior ~ prior * L;
  afterwards (and before) nothing;
* ``once: false``: every day, by L where ``seen`` holds and by 1 - L where
  it does not (absence is evidence too).

The product is normalised once per day; where it is zero under every type
(the holder saw something its likelihoods call impossible) the belief is
kept as it was. No random numbers are drawn, so beliefs never move a stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.scenario import names
from sim.scenario.model import Actor, Belief, Evidence, Scenario

if TYPE_CHECKING:
    from sim.engine.state import WorldState

BeliefKey = tuple[str, str]
"""(holder, trait): whose belief, about which trait."""

EvidenceKey = tuple[str, str, str]
"""(holder, trait, evidence id) of a ``once`` evidence item."""


def _normalised(w: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``w`` scaled to sum to 1 per world (column); ``keep`` where the sum is not positive."""
    total = w.sum(axis=0)
    good = total > 0
    return np.where(good, w / np.where(good, total, 1.0), keep)


def _per_world(x: Any, R: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(x, dtype=np.float64), (R,))


def initial_beliefs(
    scenario: Scenario, env: Mapping[str, Any], R: int
) -> tuple[dict[BeliefKey, np.ndarray], dict[EvidenceKey, np.ndarray]]:
    """Every belief at its prior, and every ``once`` evidence item as not yet seen.

    Prior weights are evaluated on the parameters (``env``); negative or
    undefined weights count as 0, and a world whose weights are all 0 starts
    with equal odds.
    """
    posterior: dict[BeliefKey, np.ndarray] = {}
    used: dict[EvidenceKey, np.ndarray] = {}
    for a in scenario.actors:
        for b in a.beliefs:
            w = np.stack([_per_world(e.evaluate(env, R), R) for e in b.prior])
            w = np.clip(np.nan_to_num(w, nan=0.0), 0.0, None)
            uniform = np.full_like(w, 1.0 / len(b.types))
            posterior[(a.id, b.trait)] = _normalised(w, uniform)
            for ev in b.evidence:
                if ev.once:
                    used[(a.id, b.trait, ev.id)] = np.zeros(R, dtype=bool)
    return posterior, used


def belief_names(actor: Actor) -> dict[str, tuple[BeliefKey, int]]:
    """``belief.<trait>.<type>`` -> (its belief's key, the type's row), for ``actor``."""
    return {
        names.belief(b.trait, t): ((actor.id, b.trait), k)
        for b in actor.beliefs
        for k, t in enumerate(b.types)
    }


def actor_env(state: WorldState, actor: Actor, env: dict[str, Any]) -> dict[str, Any]:
    """``env`` as ``actor``'s expressions see it: with its beliefs (``env`` itself if none).

    Each holder reads its own arrays under the same names, so the names are
    added per actor rather than to the snapshot everyone shares.
    """
    if not actor.beliefs:
        return env
    plan = f"beliefs:{actor.id}"
    rows = state.plans.get(plan)
    if rows is None:  # worked out once per scenario
        rows = state.plans[plan] = tuple(belief_names(actor).items())
    out = dict(env)
    posterior = state.posterior
    for name, (key, k) in rows:
        row = posterior[key][k]  # a view of the belief's row
        if row.flags.writeable:
            row.flags.writeable = False
        out[name] = row
    return out


def update(
    actor: Actor, belief: Belief, state: WorldState, env: dict[str, Any]
) -> tuple[np.ndarray, dict[EvidenceKey, np.ndarray]]:
    """The posterior of one belief after today's evidence, and its ``once`` items' flags.

    Reads ``state`` and ``env`` (the holder's view) only.
    """
    R = state.R
    key = (actor.id, belief.trait)
    prior = state.posterior[key]
    factor = None  # made (all ones) where some factor is not 1 in every world
    used: dict[EvidenceKey, np.ndarray] = {}
    for ev in belief.evidence:
        seen = _per_world(ev.seen.evaluate(env, R), R).astype(bool)
        if ev.once:
            k = (actor.id, belief.trait, ev.id)
            before = state.evidence_used[k]
            new = seen & ~before
            if not new.any():  # a factor of 1 everywhere, and ``before | seen`` is ``before``
                used[k] = before
                continue
            if factor is None:
                factor = np.ones_like(prior)
            factor *= np.where(new, _likelihood(ev, env, R), 1.0)
            used[k] = before | seen
        else:
            if factor is None:
                factor = np.ones_like(prior)
            lik = _likelihood(ev, env, R)
            factor *= np.where(seen, lik, 1.0 - lik)
    # prior * 1 is the prior, number for number: the product is made only where it moves
    return _normalised(prior if factor is None else prior * factor, prior), used


def _likelihood(ev: Evidence, env: dict[str, Any], R: int) -> np.ndarray:
    """P(seen | type) of evidence ``ev``, per type and world, clipped to [0, 1]."""
    return np.clip(np.stack([_per_world(x.evaluate(env, R), R) for x in ev.likelihood]), 0, 1)
