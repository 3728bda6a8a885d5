"""Plain formulations of the engine, and helpers to run it in another agent order.

Shared by the fast-path, agent-order and generated-scenario tests: the
engine must give exactly what these slower, obvious versions give.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import itertools
import random
from collections.abc import Callable

import numpy as np
import pytest

import sim.engine.model
from sim.engine import foresight
from sim.engine.adjudication import Decision, adjudicate
from sim.engine.decision import decide
from sim.engine.model import ActorAgent, WargameModel
from sim.engine.state import WorldState
from sim.scenario import names
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
    env = with_beliefs(actor, state, env)

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
    for r in actor.rules:
        if r.kind not in ("preference", "foresight"):
            continue
        j = r.action_index
        active = value(r.condition).astype(bool)
        wanted[j] |= active
        if r.kind == "foresight":
            val = reference_foresight(actor, r, state, env)
        else:
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


def with_beliefs(actor: Actor, state: WorldState, env: dict) -> dict:
    """``env`` with ``actor``'s beliefs under their names ``belief.<trait>.<type>``."""
    out = dict(env)
    for b in actor.beliefs:
        for k, t in enumerate(b.types):
            out[names.belief(b.trait, t)] = state.posterior[(actor.id, b.trait)][k]
    return out


def copied(state: WorldState) -> WorldState:
    """A copy of ``state`` that shares no array with it."""
    fields = {}
    for f in dataclasses.fields(state):
        v = getattr(state, f.name)
        if isinstance(v, np.ndarray):
            v = v.copy()
        elif isinstance(v, dict):
            v = {k: x.copy() if isinstance(x, np.ndarray) else x for k, x in v.items()}
        fields[f.name] = v
    return WorldState(**fields)


def reference_foresight(actor: Actor, rule, state: WorldState, env: dict) -> np.ndarray:
    """A foresight rule's utility as docs/decision-model.md states it, written plainly:
    every hypothetical state a full copy, every type of every responder tried for
    every response, nothing reused."""
    R = state.R
    sc = state.scenario

    def per_world(x) -> np.ndarray:
        return np.broadcast_to(np.asarray(x, dtype=float), (R,))

    def took(st: WorldState, who: Actor, action, view: dict) -> WorldState:
        out = copied(st)
        dec = Decision(who.id, np.full(R, action.index, dtype=np.int64), np.full(R, -1))
        adjudicate(out, [dec], view)
        return out

    def values(st: WorldState) -> np.ndarray:
        view = with_beliefs(actor, st, st.env(state.day + 1))
        return sum(
            (
                per_world(t.weight.evaluate(view, R)) * per_world(t.of.evaluate(view, R))
                for t in actor.values
            ),
            np.zeros(R),
        )

    def chance(b: Actor, act, st: WorldState, view: dict) -> np.ndarray:
        ok = np.ones(R, dtype=bool)
        if act.once:
            ok &= st.action_count[b.id][act.index] == 0
        rules = [r for r in b.rules if r.action_index == act.index]
        for r in rules:
            if r.kind == "constraint":
                ok &= per_world(r.condition.evaluate(view, R)).astype(bool)
        q = np.zeros(R)
        for r in rules:
            if r.kind == "trigger":
                when = per_world(r.condition.evaluate(view, R)).astype(bool)
                p = per_world(1.0 if r.prob is None else r.prob.evaluate(view, R))
                q = 1 - (1 - q) * (1 - np.where(when, np.clip(p, 0, 1), 0))
        u = np.zeros(R)
        active = np.zeros(R, dtype=bool)
        for r in b.rules_of("preference"):
            on = per_world(r.condition.evaluate(view, R)).astype(bool)
            if r.action_index == act.index:
                u += np.where(on, per_world(r.utility.evaluate(view, R)), 0)
                active |= on
            elif r.action_index == b.default_action.index:
                u -= np.where(on, per_world(r.utility.evaluate(view, R)), 0)
        beta = per_world(b.rationality.evaluate(view, R))
        with np.errstate(over="ignore"):
            share = np.where(active, 1 / (1 + np.exp(-beta * u)), 0)
        return np.where(ok, q + (1 - q) * share, 0)

    def expected(x) -> np.ndarray:
        sx = took(state, actor, x, env)
        v_x = values(sx)
        ev = v_x.copy()
        for b in sc.actors:
            if b.id == actor.id:
                continue
            own = [p for p in sc.parameters if p.owner == b.id]
            words = [p for p in own if p.enum_values]
            words += [p for p in own if p.types and (actor.id, p.id) in state.posterior]
            numbers = [p for p in own if p not in words]
            sizes = [len(p.enum_values) or len(p.types) for p in words]
            for combo in itertools.product(*(range(n) for n in sizes)):
                weight = np.ones(R)
                view = with_beliefs(b, sx, sx.env(state.day + 1))
                for p, k in zip(words, combo, strict=True):
                    belief = state.posterior.get((actor.id, p.id))
                    if belief is None:
                        w = np.array([wt for _, wt in p.options])
                        weight = weight * w[k] / w.sum()
                    else:
                        weight = weight * belief[k]
                    if p.enum_values:
                        view[p.id] = np.full(R, k, dtype=np.int64)
                    else:
                        view[p.id] = np.full(R, p.types[k][1])
                for p in numbers:
                    view[p.id] = np.full(R, foresight.prior_mean(p))
                for act in b.actions:
                    picks = [r for r in b.rules if r.action_index == act.index]
                    if act.default or not any(r.kind in ("trigger", "preference") for r in picks):
                        continue
                    p_h = 1 - (1 - chance(b, act, sx, view)) ** rule.horizon
                    gain = values(took(sx, b, act, view)) - v_x
                    ev = ev + weight * p_h * gain
        return ev

    return expected(actor.actions[rule.action_index]) - expected(actor.default_action)


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
        before = copied(state)
        dec = decide(actor, state, env, rng)
        # decide (foresight included) reads the state and writes nothing into it
        for f in dataclasses.fields(state):
            a, b = getattr(before, f.name), getattr(state, f.name)
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b, err_msg=f.name)
            elif isinstance(a, dict) and f.name != "history_names":
                assert a.keys() == b.keys(), f.name
                for k in a:
                    np.testing.assert_array_equal(a[k], b[k], err_msg=f"{f.name}[{k}]")
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
    out |= {f"{holder}'s belief about {trait}": v for (holder, trait), v in st.posterior.items()}
    return out


def differences(a: WargameModel, b: WargameModel) -> list[str]:
    """The results (of :func:`results_of`) that differ between two runs."""
    ra, rb = results_of(a), results_of(b)
    return [k for k in ra if not np.array_equal(ra[k], rb[k])]
