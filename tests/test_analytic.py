"""End to end against a closed form: toy scenarios whose chance of war is known.

A daily chance p of war, independent from day to day, gives war by the end
of a horizon of H days with probability 1 - (1 - p)^H, and war by day d
(counting from 0) with probability 1 - (1 - p)^(d + 1). Each toy scenario is
written into a tmp folder and run through ``run_batch``; the share of worlds
at war must lie in the Wilson interval of that share (confidence 1 - ALPHA,
split over the days when the whole curve is checked). Seeds are fixed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest

import sim

ALPHA = 1e-3
RUNS = 20_000

HEAD = """
scenario: {name: toy, title: Toy, start: 2022-01-01, horizon_days: H, seed: 1}
ladder:
  calm: {name: Calm, mid_level: 1}
  war: {name: War, mid_level: 5}
outcomes:
  quiet: {name: Quiet}
  war: {name: War, when: peak >= rungs.war}
"""

WAITER = """
actors:
  a: {name: A, actions: {wait: {default: true}}}
"""

EVENT = """
events:
  spark: {hazard: P, escalate_to: war, cites: [kremlin-appetite-decides]}
"""

TRIGGER = """
actors:
  a:
    name: A
    actions:
      wait: {default: true}
      attack: {once: true, escalate_to: war}
    rules:
      go: {kind: trigger, action: attack, prob: P, cites: [kremlin-appetite-decides]}
"""

PREFERENCE = """
actors:
  a:
    name: A
    rationality: 1
    actions:
      wait: {default: true}
      attack: {escalate_to: war}
    rules:
      want: {kind: preference, action: attack, utility: U, cites: [kremlin-appetite-decides]}
"""

LATE_EVENT = """
events:
  spark: {hazard: P, when: day >= 10, escalate_to: war, cites: [kremlin-appetite-decides]}
"""

BOTH = """
events:
  spark: {hazard: Q, escalate_to: war, cites: [kremlin-appetite-decides]}
""" + TRIGGER.replace("\nactors:", "actors:")


def _logistic(u: float) -> float:
    return math.exp(u) / (1 + math.exp(u))


# (id, body, horizon, substitutions, daily chance of war, first day it applies)
CASES = [
    ("random event", EVENT + WAITER, 20, {"P": 0.03}, 0.03, 0),
    ("trigger", TRIGGER, 15, {"P": 0.05}, 0.05, 0),
    # beta = 1 and one rival of utility 0: the daily chance is e^u / (1 + e^u)
    ("softmax preference", PREFERENCE, 20, {"U": -3}, _logistic(-3), 0),
    ("event limited by when", LATE_EVENT + WAITER, 24, {"P": 0.04}, 0.04, 10),
    # two independent sources: (1 - p) = (1 - p1)(1 - p2)
    ("event and trigger", BOTH, 25, {"P": 0.03, "Q": 0.02}, 1 - 0.97 * 0.98, 0),
]


def _text(body: str, horizon: int, subs: dict[str, float]) -> str:
    text = HEAD.replace("horizon_days: H", f"horizon_days: {horizon}") + body
    for key, value in subs.items():
        text = text.replace(f": {key},", f": {value},")
    return text


def _wilson(k: int, n: int, alpha: float) -> tuple[float, float]:
    ci = binomtest(k, n).proportion_ci(confidence_level=1 - alpha, method="wilson")
    return ci.low, ci.high


@pytest.mark.parametrize(
    ("body", "horizon", "subs", "p", "first"),
    [pytest.param(*c[1:], id=c[0]) for c in CASES],
)
def test_chance_of_war_matches_the_closed_form(
    write_scenario, tmp_path, body, horizon, subs, p, first
) -> None:
    path = write_scenario(_text(body, horizon, subs), "toy.yaml")
    result = sim.run_batch(path, runs=RUNS, seed=11, progress=False, out=tmp_path / "batch")
    runs = result.runs
    assert len(runs) == RUNS
    war = (runs["outcome"] == "war").to_numpy()
    want = 1 - (1 - p) ** (horizon - first)
    lo, hi = _wilson(int(war.sum()), RUNS, ALPHA)
    assert lo <= want <= hi, (war.mean(), want, (lo, hi))
    # the summary counts the same worlds
    shares = {o["id"]: o["count"] for o in result.summary["outcomes"]}
    assert shares["war"] == int(war.sum())

    # the whole curve: war by day d, for every day
    day = runs["first_day_war"].to_numpy(dtype=float)
    assert np.array_equal(np.isfinite(day), war)
    for d in range(horizon):
        k = int((day <= d).sum())
        want_d = 1 - (1 - p) ** max(0, d + 1 - first)
        lo, hi = _wilson(k, RUNS, ALPHA / horizon)
        assert lo <= want_d <= hi, (d, k / RUNS, want_d, (lo, hi))
