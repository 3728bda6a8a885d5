"""Plain formulations of the engine, and helpers to run it in another agent order.

Shared by the fast-path, agent-order and generated-scenario tests: the
engine must give exactly what these slower, obvious versions give.
"""

from __future__ import annotations

import collections
import copy
import random
from collections.abc import Callable

import numpy as np
import pytest

import sim.engine.model
from sim.engine.decision import decide
from sim.engine.model import ActorAgent, WargameModel
from sim.engine.state import WorldState
from sim.scenario.model import Actor, Scenario


# -- decisions ---------------------------------------------------------------------
def reference_pick(
    allowed: np.ndarray, utility: np.ndarray, beta: np.ndarray, u: np.ndarray, rule: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The softmax over every action, as first written (cumsum and argmax)."""
    R = u.shape[0]
    ok = allowed & np.isfinite(utility)
    with np.errstate(all="ignore"):
        logits = np.where(ok, beta * np.where(ok, utility, 0.0), -np.inf)
        logits -= logits.max(axis=0)
        w = np.exp(logits)
    cdf = np.cumsum(w, axis=0)
    pick = (u * cdf[-1] < cdf).argmax(axis=0)
    return pick, rule[pick, np.arange(R)]


def reference_decide(
    actor: Actor, state: WorldState, env: dict, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    """``decide`` as docs/decision-model.md states it, written plainly.

    The whole block of uniforms is drawn, every action takes part in the
    softmax, every expression is evaluated afresh, and nothing is worked out
    ahead. Returns the action and rule per world, and per constraint (by
    global rule index) the worlds where it was binding.
    """
    R = state.R
    n = len(actor.actions)

    def value(expr) -> np.ndarray:
        return np.broadcast_to(np.asarray(expr.evaluate(env, R)), (R,))

    allowed = np.ones((n, R), dtype=bool)
    for a in actor.actions:
        if a.once:
            allowed[a.index] &= state.action_count[actor.id][a.index] == 0
    constraints = [(r, value(r.condition).astype(bool)) for r in actor.rules_of("constraint")]
    for r, ok in constraints:
        allowed[r.action_index] &= ok
    triggers = actor.rules_of("trigger")
    u = rng.random((len(triggers) + 1, R))
    wanted = np.zeros((n, R), dtype=bool)
    chosen = np.full(R, -1, dtype=np.int64)
    rule_of = np.full(R, -1, dtype=np.int64)
    for k, r in enumerate(triggers):
        when = value(r.condition).astype(bool)
        wanted[r.action_index] |= when
        p = value(r.prob) if r.prob is not None else 1.0
        fire = when & allowed[r.action_index] & (u[k] < p) & (chosen < 0)
        chosen[fire] = r.action_index
        rule_of[fire] = r.index
    default = actor.default_action.index
    total = np.zeros((n, R))
    spoken_for = np.zeros((n, R), dtype=bool)
    spoken_for[default] = True
    best_u = np.full((n, R), -np.inf)
    best_rule = np.full((n, R), -1, dtype=np.int64)
    for r in actor.rules_of("preference"):
        j = r.action_index
        active = value(r.condition).astype(bool)
        wanted[j] |= active
        val = value(r.utility).astype(float)
        total[j] = np.where(active, total[j] + val, total[j])
        spoken_for[j] |= active
        better = active & (val > best_u[j])
        best_u[j] = np.where(better, val, best_u[j])
        best_rule[j] = np.where(better, r.index, best_rule[j])
    utility = np.where(spoken_for, total, -np.inf)
    beta = value(actor.rationality).astype(float)
    with np.errstate(all="ignore"):
        pick, picked_rule = reference_pick(allowed, utility, beta, u[-1], best_rule)
    pending = chosen < 0
    chosen = np.where(pending, pick, chosen)
    rule_of = np.where(pending, picked_rule, rule_of)
    binding = {r.index: wanted[r.action_index] & ~ok for r, ok in constraints}
    return chosen, rule_of, binding


class CheckedDecide:
    """Stands in for ``decide`` where the model calls it, and checks each call.

    Each decision must equal :func:`reference_decide`'s (actions, rules,
    binding constraints), leave the actor's stream where drawing the whole
    block leaves it, take no action its constraints forbid and no ``once``
    action twice. ``calls`` counts the decisions checked, per actor.
    """

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> CheckedDecide:
        monkeypatch.setattr(sim.engine.model, "decide", self)
        return self

    def __call__(self, actor: Actor, state: WorldState, env: dict, rng: np.random.Generator):
        twin = copy.deepcopy(rng)
        taken_before = state.action_count[actor.id].copy()
        want_action, want_rule, binding = reference_decide(actor, state, env, twin)
        dec = decide(actor, state, env, rng)
        where = f"{actor.id} on day {state.day}"
        np.testing.assert_array_equal(dec.action, want_action, err_msg=where)
        np.testing.assert_array_equal(dec.rule, want_rule, err_msg=where)
        reported = dict(dec.binding)
        none = np.zeros(state.R, dtype=bool)
        for index, bound in binding.items():
            np.testing.assert_array_equal(reported.get(index, none), bound, err_msg=where)
        assert set(reported) <= set(binding), where
        assert rng.bit_generator.state == twin.bit_generator.state, where
        R = state.R
        for rule in actor.rules_of("constraint"):
            ok = np.broadcast_to(np.asarray(rule.condition.evaluate(env, R), dtype=bool), (R,))
            broken = (dec.action == rule.action_index) & ~ok
            assert not broken.any(), f"{rule.id} broken by {where} in worlds {np.nonzero(broken)}"
        for a in actor.actions:
            if a.once:
                again = (dec.action == a.index) & (taken_before[a.index] > 0)
                assert not again.any(), f"once action {a.id} taken again by {where}"
        self.calls[actor.id] += 1
        return dec


# -- agent order -------------------------------------------------------------------
class Asked:
    """The order in which the model really asks its agents, phase by phase and day by day."""

    PHASES = ("observe", "decide")

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: dict[str, dict[int, list[str]]] = {p: {} for p in self.PHASES}
        for phase in self.PHASES:
            original = getattr(ActorAgent, phase)

            def asked(agent: ActorAgent, *args, _phase: str = phase, _original=original):
                day = agent.model.day  # type: ignore[attr-defined]
                self.calls[_phase].setdefault(day, []).append(agent.actor.id)
                return _original(agent, *args)

            monkeypatch.setattr(ActorAgent, phase, asked)

    def clear(self) -> None:
        for calls in self.calls.values():
            calls.clear()


def run_in_order(
    sc: Scenario, order_of_day: Callable[[int], list[str]], replicates: int = 1000, seed: int = 9
) -> WargameModel:
    """Run ``sc``, putting the model's own actor agents in ``order_of_day(day)`` each morning.

    The order is set on the agent set the model iterates (Mesa's
    ``AgentSet.sort(inplace=True)``); :class:`Asked` checks it was followed.
    """
    m = WargameModel(sc, replicates=replicates, rng=seed, collect=False)
    agents = m.agents_by_type[ActorAgent]
    while m.running:
        rank = {actor_id: i for i, actor_id in enumerate(order_of_day(m.day))}
        agents.sort(key=lambda a: rank[a.actor.id], ascending=True, inplace=True)
        m.step()
    return m


def orders_unlike(ids: list[str], seed: int):
    """Per day, a random order of ``ids`` other than ``ids`` itself (remembered).

    With a single actor there is no other order: ``ids`` is given.
    """
    shuffler = random.Random(seed)
    given: dict[int, list[str]] = {}

    def order(day: int) -> list[str]:
        o = list(ids)
        while o == ids and len(ids) > 1:
            shuffler.shuffle(o)
        given[day] = o
        return o

    return order, given


def results_of(m: WargameModel) -> dict[str, np.ndarray]:
    """Everything a run produces, per world."""
    st = m.world
    out = {
        "outcome": m.outcome,
        "flags": m.flags,
        "rung_track": m.rung_track,
        "peak": st.peak,
        "first_day": st.first_day,
        "rule_fired": st.rule_fired,
        "event_count": st.event_count,
        "belief": st.belief,
    }
    out |= {f"state {k}": v for k, v in st.values.items()}
    out |= {f"{k} action counts": v for k, v in st.action_count.items()}
    out |= {f"{k} last actions": v for k, v in st.action_last.items()}
    return out


def differences(a: WargameModel, b: WargameModel) -> list[str]:
    """The results (of :func:`results_of`) that differ between two runs."""
    ra, rb = results_of(a), results_of(b)
    return [k for k in ra if not np.array_equal(ra[k], rb[k])]
