"""The engine's shortcuts give what the plain computation gives, to the bit.

Foresight (:class:`sim.engine.foresight.Outlook`) reuses what every
hypothetical state of a day shares: a response's chance, a rule's expression
or a value term that reads nothing the move wrote is worked out once on the
base state, what reads no weighed trait once for all types, and a ``once``
response taken in every world is not looked at. Here the utilities are
compared, exactly, with the computation written plainly (every state a
fresh copy with its own environment, every type tried, nothing reused), on a
toy where each shortcut applies and on one where none does. The world
state's cached read-only views must follow every write, in place or not.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import SEEDS_DIR
from engine_reference import CheckedDecide

from sim.engine import foresight
from sim.engine.adjudication import Decision, adjudicate
from sim.engine.beliefs import actor_env
from sim.engine.model import WargameModel
from sim.engine.state import WorldState
from sim.registry import load_registry
from sim.scenario import load_scenario

REGISTRY = load_registry(SEEDS_DIR)

# The defender's rules read what the challenger's attack writes (``attacked``)
# and its private resolve, or not, as the placeholders say; ``hit``'s effect
# reads the resolve, so its gain differs by type.
TOY = """
scenario: {name: shortcuts, title: Shortcuts, start: 2022-01-01, horizon_days: 6, seed: 1}
state:
  attacked: {type: bool, initial: false}
  punished: {type: bool, initial: false}
  alerted: {type: bool, initial: false}
  harm: {type: float, initial: 0, min: 0}
parameters:
  resolve:
    dist: choice
    options: {resolute: 0.4, irresolute: 0.6}
    owner: defender
    cites: [us-swift-response-25-jan]
  anger: {dist: uniform, low: 0.2, high: 0.8, owner: defender, cites: [lithuania-direct-threat]}
  greed: {dist: uniform, low: 0, high: 1, owner: challenger, cites: [kremlin-appetite-decides]}
ladder:
  calm: {name: Calm, mid_level: 1}
  war: {name: War, mid_level: 5}
actors:
  challenger:
    name: Challenger
    rationality: 1.5
    actions:
      wait: {default: true}
      attack: {effects: {attacked: true}, escalate_to: war}
    values:
      gain: {of: attacked, weight: 1 + greed, cites: [kremlin-appetite-decides]}
      cost: {of: punished, weight: -5, cites: [us-swift-response-25-jan]}
      alarm: {of: alerted, weight: -1, cites: [lithuania-direct-threat]}
      hurt: {of: harm, weight: -0.5, cites: [us-sanctions-if-belarus-joins]}
    beliefs:
      resolve: {prior: {resolute: greed, irresolute: 1 - greed}}
    rules:
      rush:
        kind: trigger
        action: attack
        when: greed > 0.6 and day >= 1
        prob: 0.4
        cites: [kremlin-appetite-decides]
      weigh:
        kind: foresight
        action: attack
        horizon: 3
        when: day >= 1
        cites: [kremlin-appetite-decides]
  defender:
    name: Defender
    rationality: 2
    actions:
      wait: {default: true}
      punish: {once: true, effects: {punished: true}}
      alert: {effects: {alerted: true}}
      hit: {effects: {harm: '2 if resolve == "resolute" else 1'}}
    rules:
      punishes:
        kind: trigger
        action: punish
        when: attacked
        prob: '0.9 if resolve == "resolute" else 0.2'
        cites: [us-swift-response-25-jan]
      punishes_anyway:
        kind: trigger
        action: punish
        when: PUNISH_WHEN
        prob: anger / 4
        cites: [us-swift-response-25-jan]
      alerts:
        kind: trigger
        action: alert
        when: ALERT_WHEN
        prob: ALERT_PROB
        cites: [lithuania-direct-threat]
      hits:
        kind: preference
        action: hit
        when: HIT_WHEN
        utility: anger - 0.5
        cites: [us-swift-response-25-jan]
      hits_only:
        kind: constraint
        action: hit
        allowed_if: HIT_ALLOWED
        cites: [us-swift-response-25-jan]
      rests: {kind: preference, action: wait, utility: 0.2, cites: [grey-zone-preferred]}
outcomes:
  quiet: {name: Quiet}
  war: {name: War, when: challenger.attack.taken}
"""

# Each shortcut applies: rules that read neither ``attacked`` nor the resolve, a
# constant probability, a constraint that forbids ``hit`` everywhere on day 1.
SHORTCUTS = {
    "PUNISH_WHEN": "day >= 2",
    "ALERT_WHEN": "day >= 0",
    "ALERT_PROB": "0.3",
    "HIT_WHEN": "day >= 1",
    "HIT_ALLOWED": "day >= 3",
}
# None does: every rule reads what the attack writes and the resolve.
NONE_APPLIES = {
    "PUNISH_WHEN": "attacked",
    "ALERT_WHEN": "attacked or harm > 0",
    "ALERT_PROB": '0.6 if resolve == "resolute" else 0.3',
    "HIT_WHEN": 'attacked and resolve == "resolute"',
    "HIT_ALLOWED": 'attacked or resolve == "resolute"',
}


def _toy(write_scenario, subs: dict[str, str]):
    text = TOY
    for key, value in subs.items():
        text = text.replace(key, value)
    return load_scenario(write_scenario(text, "shortcuts.yaml"), registry=REGISTRY)


# -- the plain computation -------------------------------------------------------------
def _copy_after(state: WorldState, env: dict, actor, action) -> WorldState:
    """``state`` with ``action`` taken everywhere, on a fresh copy with empty caches."""
    copy = dataclasses.replace(
        state,
        values=dict(state.values),
        first_day=state.first_day.copy(),
        action_count={**state.action_count, actor.id: state.action_count[actor.id].copy()},
        action_last={**state.action_last, actor.id: state.action_last[actor.id].copy()},
    )
    R = state.R
    dec = Decision(actor.id, np.full(R, action.index, dtype=np.int64), np.full(R, -1))
    adjudicate(copy, [dec], env)
    return copy


def _plain_chance(resp, state: WorldState, env: dict) -> np.ndarray:
    """A response's daily probability, every expression evaluated, nothing skipped."""
    R = state.R

    def ev(expr):
        return expr.evaluate(env, R)

    act = resp.action
    allowed = np.ones(R, dtype=bool)
    if act.once:
        allowed &= state.action_count[resp.actor.id][act.index] == 0
    for r in resp.constraints:
        allowed &= foresight._mask(ev(r.condition), R)
    miss = np.ones(R)
    for r in resp.triggers:
        when = foresight._mask(ev(r.condition), R)
        p = 1.0 if r.prob is None else np.clip(foresight._per_world(ev(r.prob), R), 0, 1)
        miss = miss * np.where(when, 1.0 - p, 1.0)
    share = np.zeros(R)
    if resp.preferences:
        active = np.zeros(R, dtype=bool)
        u = np.zeros(R)
        for r in resp.preferences:
            on = foresight._mask(ev(r.condition), R)
            u = u + np.where(on, foresight._per_world(ev(r.utility), R), 0.0)
            active |= on
        for r in resp.rival:
            on = foresight._mask(ev(r.condition), R)
            u = u - np.where(on, foresight._per_world(ev(r.utility), R), 0.0)
        beta = foresight._per_world(ev(resp.actor.rationality), R)
        with np.errstate(over="ignore"):
            share = np.where(active, 1.0 / (1.0 + np.exp(-beta * u)), 0.0)
    return np.where(allowed, 1.0 - miss * (1.0 - share), 0.0)


def _plain_expected_value(decider, action, horizon, state: WorldState, env: dict) -> np.ndarray:
    """``EV_H`` with every environment built afresh and every type of every response
    tried (in the order of the sum the engine makes, so it rounds the same way)."""
    R = state.R
    day = state.day + 1
    sx = _copy_after(state, env, decider, action)
    ex = sx.env(day)
    v_x = foresight.value(decider, actor_env(sx, decider, ex), R)
    ev = v_x.copy()
    for responder in foresight.responders(state, decider):
        b = responder.actor
        seen = dict(actor_env(sx, b, ex))
        seen.update({t: np.float64(m) for t, m in responder.means.items()})
        for resp in responder.responses:
            for values, weight in foresight._type_weights(state, decider, responder):
                typed = {**seen, **values}
                p_h = 1.0 - (1.0 - _plain_chance(resp, sx, typed)) ** horizon
                if not (p_h > 0).any():
                    continue
                sxr = _copy_after(sx, typed, b, resp.action)
                gain = foresight.value(decider, actor_env(sxr, decider, sxr.env(day)), R) - v_x
                ev = ev + weight * p_h * gain
    return ev


def _plain_utility(decider, rule, state: WorldState, env: dict) -> np.ndarray:
    """The foresight utility on every world of ``state`` (no restriction to active ones)."""
    return _plain_expected_value(
        decider, decider.actions[rule.action_index], rule.horizon, state, env
    ) - _plain_expected_value(decider, decider.default_action, rule.horizon, state, env)


def _snapshots(sc, days: int = 5, R: int = 300):
    """The model's state and the challenger's view at the start of each decision day."""
    m = WargameModel(sc, replicates=R, rng=4, collect=False)
    for _ in range(days):
        m.step()
        st = m.world
        st.day = m.day
        yield st, actor_env(st, sc.actor("challenger"), st.env())


def _compare(sc) -> int:
    """Assert the engine's utilities equal the plain ones on each day; count the days
    on which some world has a non-zero utility."""
    challenger = sc.actor("challenger")
    rule = challenger.rules_of("foresight")[0]
    seen = 0
    for st, env in _snapshots(sc):
        got = foresight.utilities(challenger, [rule], st, env)[rule.index]
        want = _plain_utility(challenger, rule, st, env)
        active = np.asarray(rule.condition.evaluate(env, st.R), dtype=bool)
        np.testing.assert_array_equal(got[active], want[active], err_msg=f"day {st.day}")
        assert not got[~active].any()
        seen += bool(got.any())
    return seen


@pytest.mark.parametrize("subs", [SHORTCUTS, NONE_APPLIES], ids=["shortcuts", "none-applies"])
def test_foresight_utilities_equal_the_plain_computation(write_scenario, subs) -> None:
    sc = _toy(write_scenario, subs)
    assert _compare(sc) >= 3


def test_the_toys_exercise_the_shortcuts_or_not(write_scenario) -> None:
    """What the shortcuts rest on holds on one toy and not on the other: which
    responses read the attack's writes or a weighed trait, and whose effects read one."""
    for subs, untouched in ((SHORTCUTS, {"alert", "hit"}), (NONE_APPLIES, set())):
        sc = _toy(write_scenario, subs)
        m = WargameModel(sc, replicates=5, rng=1, collect=False)
        (defender,) = foresight.responders(m.world, sc.actor("challenger"))
        by_id = {r.action.id: r for r in defender.responses}
        assert {a for a, r in by_id.items() if "attacked" not in r.reads} == untouched
        assert by_id["punish"].typed and by_id["hit"].reads_traits
        assert by_id["alert"].typed == (subs is NONE_APPLIES)


def test_a_once_response_taken_everywhere_is_left_out_and_elsewhere_counted(
    write_scenario,
) -> None:
    """A ``once`` response already taken in every world has chance 0 on every state and
    is not looked at; taken in some worlds only, it is weighed in the others."""
    sc = _toy(write_scenario, SHORTCUTS)
    challenger = sc.actor("challenger")
    rule = challenger.rules_of("foresight")[0]
    punish = sc.actor("defender").actions[1]
    for taken in (np.ones(300, dtype=bool), np.arange(300) % 3 == 0):
        st, env = list(_snapshots(sc, days=3))[-1]
        st.action_count["defender"][punish.index] = taken
        got = foresight.utilities(challenger, [rule], st, env)[rule.index]
        np.testing.assert_array_equal(got, _plain_utility(challenger, rule, st, env))
    # with punishment open in two worlds of three, it weighs there
    outlook = foresight.Outlook(challenger, st, env)
    (defender,) = outlook.responders
    resp = next(r for r in defender.responses if r.action.id == "punish")
    p_h, anywhere = outlook.chance(outlook.move(challenger.actions[1]), defender, resp, 0, 3)
    assert anywhere and not p_h[taken].any() and p_h[~taken].all()


def test_state_views_follow_every_write() -> None:
    """``WorldState.env`` keeps one read-only view per array: it must show writes made
    in place, and a new array once one is put in its place."""
    m = WargameModel(replicates=20, rng=2, collect=False)
    st = m.world
    name = next(iter(st.values))
    first = st.env()[name]
    assert not first.flags.writeable
    st.values[name][:] = st.values[name][::-1].copy()  # in place
    np.testing.assert_array_equal(st.env()[name], st.values[name])
    replaced = np.zeros_like(st.values[name])
    st.values[name] = replaced
    again = st.env()[name]
    assert again.base is replaced and not again.flags.writeable
    np.testing.assert_array_equal(again, replaced)
    param = next(iter(st.params))
    assert st.env()[param] is st.env()[param]  # made once for an unchanged array


def test_a_hypothetical_copy_shares_no_fixed_values_with_the_state(write_scenario) -> None:
    """An effect that reads only a trait is a fixed value for the real state, but the
    copies foresight adjudicates on see each type in turn: they must not reuse the
    state's fixed values, nor each other's."""
    sc = _toy(write_scenario, SHORTCUTS)
    m = WargameModel(sc, replicates=10, rng=1, collect=False)
    m.step()  # the real state has kept its fixed values by now
    st = m.world
    defender = sc.actor("defender")
    hit = defender.actions[3]
    env = st.env()
    st.evaluate(hit.effects[0].expr, env)  # the true resolve, kept as a fixed value
    harm, count = st.values["harm"].copy(), st.action_count[defender.id].copy()
    for code, want in ((0, 2.0), (1, 1.0), (0, 2.0)):
        copy = st.hypothetical(defender.id)
        dec = Decision(defender.id, np.full(st.R, hit.index), np.full(st.R, -1))
        adjudicate(copy, [dec], {**env, "resolve": np.int64(code)})
        np.testing.assert_array_equal(copy.values["harm"], np.full(st.R, want))
    np.testing.assert_array_equal(st.values["harm"], harm)
    np.testing.assert_array_equal(st.action_count[defender.id], count)


def test_todays_view_restricted_to_some_worlds_slices_what_is_read() -> None:
    """Foresight's view of today on the active worlds: each name read gives the
    per-world array at those worlds (a scalar as it is), and a name the view
    lacks is a KeyError, as for a plain dict."""
    R = 6
    env = {"a": np.arange(R) * 1.5, "day": 3, "b": np.arange(R) > 2, "m": np.float64(0.5)}
    where = np.array([1, 4, 5])
    view = foresight._take(env, where, R)
    np.testing.assert_array_equal(view["a"], env["a"][where])
    np.testing.assert_array_equal(view["b"], env["b"][where])
    assert view["day"] == 3 and view["m"] == 0.5
    assert view["a"] is view["a"]  # sliced once
    with pytest.raises(KeyError):
        view["nothing"]


@pytest.mark.parametrize("subs", [SHORTCUTS, NONE_APPLIES], ids=["shortcuts", "none-applies"])
def test_decisions_match_the_plain_reference_when_a_trigger_decides_first(
    write_scenario, monkeypatch, subs
) -> None:
    """Foresight is worked out only where no trigger has decided (the softmax's
    utilities are read nowhere else): every decision still equals the plain
    formulation's, which works it out in every world."""
    sc = _toy(write_scenario, subs)
    checked = CheckedDecide().install(monkeypatch)
    m = WargameModel(sc, replicates=300, rng=5, collect=False).run()
    assert checked.calls["challenger"] == sc.horizon_days
    rules = {r.id: r.index for r in sc.rules}
    assert m.world.rule_fired[rules["rush"]].any()
    assert m.world.rule_fired[rules["weigh"]].any()
