"""The softmax choice has the distribution docs/decision-model.md states.

Where no trigger fires, an actor picks among its allowed candidates (the
default action and every action with an active preference) with
P(a) = exp(beta * u_a) / sum_b exp(beta * u_b). Each test runs one day of many
worlds through the whole model and compares the frequencies of the picks
with those probabilities: a binomial test per action, with fixed seeds.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from sim.engine.model import WargameModel
from sim.scenario import load_scenario

SCENARIO = """
scenario: {name: choice, title: Choice, start: 2022-01-01, horizon_days: 1, seed: 1}
parameters:
  beta: {dist: choice, options: {0: 1, 1: 1, 3: 1}, cites: [c]}
  gate: {dist: choice, options: {0: 1, 1: 1}, cites: [c]}
ladder:
  calm: {name: Calm, mid_level: 1}
  war: {name: War, mid_level: 5}
actors:
  a:
    name: A
    rationality: beta
    actions:
      best: {}
      never: {}
      wait: {default: true}
      good: {}
      poor: {}
      summed: {}
      banned: {}
      gated: {}
    rules:
      best_u: {kind: preference, action: best, utility: 1, cites: [c]}
      good_u: {kind: preference, action: good, utility: 0.5, cites: [c]}
      poor_u: {kind: preference, action: poor, utility: -1, cites: [c]}
      summed_small: {kind: preference, action: summed, utility: 0.3, cites: [c]}
      summed_large: {kind: preference, action: summed, utility: 0.4, cites: [c]}
      banned_u: {kind: preference, action: banned, utility: 3, cites: [c]}
      banned_never: {kind: constraint, action: banned, allowed_if: false, cites: [c]}
      gated_u: {kind: preference, action: gated, utility: 0.2, cites: [c]}
      gate_open: {kind: constraint, action: gated, allowed_if: gate == 1, cites: [c]}
outcomes:
  quiet: {name: Quiet}
"""
"""``never`` has no preference and ``banned`` is never allowed: neither is a
candidate. ``summed`` has utility 0.3 + 0.4; ``gated`` is a candidate only in
the worlds where ``gate`` is 1. Citations are placeholders (no registry)."""

UTILITY = {"wait": 0.0, "best": 1.0, "good": 0.5, "poor": -1.0, "summed": 0.7, "gated": 0.2}
ALPHA = 1e-4
"""Per binomial test; with fixed seeds the outcome is the same on every run."""


@pytest.fixture
def choice(write_scenario):
    path = write_scenario(SCENARIO)

    def run(worlds: int, seed: int, *overrides: str):
        sc = load_scenario(path, overrides, registry=None)
        m = WargameModel(sc, replicates=worlds, rng=seed, collect=False).run()
        actor = sc.actor("a")
        counts = m.world.action_count["a"]
        assert (counts.sum(axis=0) == 1).all()  # one action per world on the one day
        picked = np.array([a.id for a in actor.actions])[counts.argmax(axis=0)]
        return m, picked

    return run


def _softmax(beta: float, candidates: list[str]) -> dict[str, float]:
    w = {a: np.exp(beta * UTILITY[a]) for a in candidates}
    total = sum(w.values())
    return {a: x / total for a, x in w.items()}


def _check_frequencies(picked: np.ndarray, want: dict[str, float]) -> None:
    n = len(picked)
    assert n > 1000
    assert set(picked) <= set(want), set(picked) - set(want)
    for action, p in want.items():
        k = int((picked == action).sum())
        test = binomtest(k, n, p)
        assert test.pvalue > ALPHA, (action, k / n, p, test.pvalue)


@pytest.mark.parametrize("beta", [0.0, 1.0, 3.0])
def test_pick_frequencies_follow_the_softmax(choice, beta: float) -> None:
    """With one beta in every world: P(a) ∝ exp(beta * u_a) over the allowed
    candidates, so beta = 0 is uniform; never a non-candidate."""
    m, picked = choice(30_000, 5, f"actors.a.rationality={beta}")
    gate = m.world.params["gate"] == 1
    assert 0.45 < gate.mean() < 0.55
    base = ["wait", "best", "good", "poor", "summed"]
    _check_frequencies(picked[~gate], _softmax(beta, base))
    _check_frequencies(picked[gate], _softmax(beta, [*base, "gated"]))
    if beta == 0:
        # uniform: each candidate 1/5 where the gate is shut, 1/6 where it is open
        assert set(_softmax(0, base).values()) == {0.2}


def test_beta_varies_by_world(choice) -> None:
    """beta is a per-world expression: each world follows its own softmax."""
    m, picked = choice(60_000, 7)
    beta = m.world.params["beta"]
    gate = m.world.params["gate"] == 1
    base = ["wait", "best", "good", "poor", "summed"]
    for b in (0.0, 1.0, 3.0):
        here = beta == b
        _check_frequencies(picked[here & ~gate], _softmax(b, base))
        _check_frequencies(picked[here & gate], _softmax(b, [*base, "gated"]))


def test_large_beta_picks_the_best_allowed_action(choice) -> None:
    """beta = 60: the argmax, every time (a rival's odds are below 1e-7); the
    forbidden action of higher utility is never taken."""
    _, picked = choice(20_000, 3, "actors.a.rationality=60")
    assert set(picked) == {"best"}


def test_large_beta_on_a_tie_splits_evenly(choice) -> None:
    """Two best actions of equal utility: beta = 60 picks each half the time."""
    _, picked = choice(20_000, 4, "actors.a.rationality=60", "actors.a.rules.good_u.utility=1")
    assert set(picked) == {"best", "good"}
    _check_frequencies(picked, {"best": 0.5, "good": 0.5})


def test_the_pick_records_its_strongest_preference(choice) -> None:
    """A world that picked ``summed`` credits its larger preference."""
    m, picked = choice(5_000, 2)
    sc = m.spec
    fired = m.world.rule_fired
    index = {r.id: r.index for r in sc.rules}
    summed = picked == "summed"
    assert summed.any()
    assert fired[index["summed_large"], summed].all()
    assert not fired[index["summed_small"]].any()
