"""Actors that reason: private traits, beliefs moved by Bayes' rule, values and foresight.

Toy scenarios with answers worked out by hand (docs/decision-model.md,
*Reasoning*): a belief must equal the analytic posterior in every world, and
a challenger facing a defender of uncertain resolve must attack with the
logistic chance of its expected gain, so that the threat's credibility moves
it across the threshold gain = P(punished) * cost. The toys cite real claims
of the registry, as the other toy scenarios of the suite do.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import SEEDS_DIR
from engine_reference import CheckedDecide, differences, orders_unlike, run_in_order
from scipy.stats import binomtest

from sim.engine import foresight
from sim.engine.beliefs import actor_env
from sim.engine.model import WargameModel
from sim.errors import ValidationError
from sim.registry import load_registry
from sim.scenario import load_scenario
from sim.trace import cited_claims, format_trace

REGISTRY = load_registry(SEEDS_DIR)
ALPHA = 1e-3
RUNS = 20_000

# -- Bayes ---------------------------------------------------------------------------
SIGNALS = """
scenario: {name: signals, title: Signals, start: 2022-01-01, horizon_days: 12, seed: 1}
parameters:
  ctype:
    dist: choice
    options: {hawk: 0.3, dove: 0.7}
    owner: challenger
    cites: [kremlin-appetite-decides]
ladder:
  calm: {name: Calm, mid_level: 1}
  tense: {name: Tense, mid_level: 3}
actors:
  challenger:
    name: Challenger
    actions:
      wait: {default: true}
      drill: {}
      mobilise: {once: true}
    rules:
      drills:
        kind: trigger
        action: drill
        prob: '0.5 if ctype == "hawk" else 0.1'
        cites: [drills-as-pressure-on-ukraine]
      mobilises:
        kind: trigger
        action: mobilise
        prob: '0.2 if ctype == "hawk" else 0.05'
        cites: [budanov-two-weeks-buildup]
  defender:
    name: Defender
    actions:
      wait: {default: true}
    beliefs:
      ctype:
        evidence:
          drill_seen:
            seen: challenger.drill.days_since == 1
            likelihood: {hawk: '0.5 if day >= 1 else 0', dove: '0.1 if day >= 1 else 0'}
            once: false
            cites: [drills-as-pressure-on-ukraine]
          mobilisation_seen:
            seen: challenger.mobilise.taken
            likelihood: {hawk: LH, dove: LD}
            cites: [budanov-two-weeks-buildup]
outcomes:
  quiet: {name: Quiet}
"""


def _scenario(write_scenario, text: str, name: str = "toy.yaml"):
    return load_scenario(write_scenario(text, name), registry=REGISTRY)


def _wilson(k: int, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    ci = binomtest(k, n).proportion_ci(confidence_level=1 - alpha, method="wilson")
    return ci.low, ci.high


def _logistic(u: float) -> float:
    return 1 / (1 + math.exp(-u))


def test_belief_equals_the_analytic_posterior_in_every_world(write_scenario) -> None:
    """Daily evidence multiplies by L on the days it is seen and by 1 - L on the
    others (from day 1: on day 0 nothing can have been seen, and L is 0); ``once``
    evidence by L on the first day only; the prior defaults to the trait's option
    weights."""
    sc = _scenario(write_scenario, SIGNALS.replace("LH", "0.8").replace("LD", "0.3"))
    m = WargameModel(sc, replicates=4000, rng=5, collect=False).run()
    st, H = m.world, sc.horizon_days
    post = st.posterior[("defender", "ctype")]
    drill, mob = 1, 2
    # Observed on days 0..H-1: a drill of day d is seen on day d + 1, so the
    # drills of days 0..H-2 count; a mobilisation likewise.
    drilled_last_day = st.action_last["challenger"][drill] == H - 1
    k = st.action_count["challenger"][drill] - drilled_last_day
    mobilised = (st.action_count["challenger"][mob] > 0) & (
        st.action_last["challenger"][mob] <= H - 2
    )
    hawk = 0.3 * 0.5**k * 0.5 ** (H - 1 - k) * np.where(mobilised, 0.8, 1.0)
    dove = 0.7 * 0.1**k * 0.9 ** (H - 1 - k) * np.where(mobilised, 0.3, 1.0)
    np.testing.assert_allclose(post[0], hawk / (hawk + dove), rtol=1e-12)
    np.testing.assert_allclose(post.sum(axis=0), 1.0, rtol=1e-12)
    # the analytic posterior is not trivially the prior: both kinds of evidence occurred
    assert mobilised.any() and (k > 1).any() and (k == 0).any()


def test_belief_is_calibrated_against_the_true_types(write_scenario) -> None:
    """With likelihoods true to how the challenger behaves, the number of worlds
    whose challenger really is a hawk is the sum of the posteriors (a Poisson
    binomial: 4.5 standard deviations), overall and among confident worlds."""
    # P(first seen on a given day) is not what LH/LD say, so only the drills count here.
    sc = _scenario(write_scenario, SIGNALS.replace("LH", "1").replace("LD", "1"))
    m = WargameModel(sc, replicates=RUNS, rng=8, collect=False).run()
    st = m.world
    p = st.posterior[("defender", "ctype")][0]
    hawk = st.params["ctype"] == 0
    for worlds in (np.ones_like(hawk), p > 0.5, p < 0.1):
        expected = p[worlds].sum()
        sd = math.sqrt((p[worlds] * (1 - p[worlds])).sum())
        assert abs(hawk[worlds].sum() - expected) <= 4.5 * sd + 1, (
            hawk[worlds].sum(),
            expected,
        )
    assert (p > 0.5).sum() > 1000 and (p < 0.1).sum() > 1000


# -- foresight: deterrence ---------------------------------------------------------------
DETERRENCE = """
scenario: {name: deterrence, title: Deterrence, start: 2022-01-01, horizon_days: DAYS, seed: 1}
state:
  attacked: {type: bool, initial: false}
  punished: {type: bool, initial: false}
  committed: {type: bool, initial: COMMITTED}
parameters:
  resolve:
    dist: choice
    options: {resolute: 0.5, irresolute: 0.5}
    owner: defender
    cites: [us-swift-response-25-jan]
ladder:
  calm: {name: Calm, mid_level: 1}
  war: {name: War, mid_level: 5}
actors:
  challenger:
    name: Challenger
    rationality: 2
    actions:
      wait: {default: true}
      attack: {once: true, effects: {attacked: true}, escalate_to: war}
    values:
      gain: {of: attacked, weight: 3, cites: [kremlin-appetite-decides]}
      cost: {of: punished, weight: -10, cites: [us-sanctions-if-belarus-joins]}
    beliefs:
      resolve:
        prior: {resolute: Q, irresolute: 1 - Q}
        evidence:
          threat:
            seen: committed and defender.threaten.taken
            likelihood: {resolute: 0.9, irresolute: BLUFF}
            cites: [us-swift-response-25-jan]
    rules:
      not_first_day:
        kind: constraint
        action: attack
        allowed_if: day >= 1
        cites: [budanov-two-weeks-buildup]
      weigh:
        kind: foresight
        action: attack
        horizon: HORIZON
        cites: [us-swift-response-25-jan]
  defender:
    name: Defender
    actions:
      wait: {default: true}
      threaten: {once: true, effects: {committed: true}}
      punish: {once: true, effects: {punished: true}}
    rules:
      warn:
        kind: trigger
        action: threaten
        when: day == 0
        prob: 'WARN'
        cites: [us-swift-response-25-jan]
      carry_out:
        kind: trigger
        action: punish
        when: attacked and committed and resolve == "resolute"
        prob: PUNISH
        cites: [us-swift-response-25-jan]
outcomes:
  quiet: {name: Quiet}
  war: {name: War, when: challenger.attack.taken}
"""


def _deterrence_text(rule: str = "", **subs: object) -> str:
    """The deterrence toy with its placeholders filled (``subs`` over the defaults),
    and ``rule`` written first among the challenger's rules."""
    values: dict[str, object] = {
        "DAYS": 2,
        "COMMITTED": "true",
        "Q": 0.5,
        "BLUFF": 0.3,
        "HORIZON": 1,
        "WARN": "0",
        "PUNISH": 1,
    } | subs
    text = DETERRENCE
    for key, value in values.items():
        text = text.replace(key, str(value))
    return text.replace(
        "    rules:\n      not_first_day:", "    rules:\n" + rule + "      not_first_day:"
    )


def _deterrence(write_scenario, **subs: object):
    return _scenario(write_scenario, _deterrence_text(**subs), "deterrence.yaml")


def _attack_share(sc, worlds=None, seed: int = 3) -> tuple[int, int, WargameModel]:
    m = WargameModel(sc, replicates=RUNS, rng=seed, collect=False).run()
    attacked = m.world.action_count["challenger"][1] > 0
    if worlds is not None:
        attacked = attacked[worlds(m)]
    return int(attacked.sum()), len(attacked), m


# Gain 3, cost 10, rationality 2: the challenger attacks on day 1 with chance
# logistic(2 * (3 - 10 * q * P_H)), P_H = 1 - (1 - p)^H the chance that a
# resolute defender punishes within the horizon. The threshold is q * P_H = 0.3.
@pytest.mark.parametrize(
    ("q", "punish", "horizon"),
    [(0.1, 1, 1), (0.2, 1, 1), (0.4, 1, 1), (0.5, 1, 1), (0.5, 0.2, 5), (0.5, 0.2, 1)],
)
def test_challenger_attacks_iff_the_expected_cost_is_below_the_gain(
    write_scenario, q: float, punish: float, horizon: int
) -> None:
    sc = _deterrence(write_scenario, Q=q, PUNISH=punish, HORIZON=horizon)
    p_h = 1 - (1 - punish) ** horizon
    want = _logistic(2 * (3 - 10 * q * p_h))
    k, n, m = _attack_share(sc)
    lo, hi = _wilson(k, n)
    assert lo <= want <= hi, (k / n, want)
    assert (k / n > 0.5) == (q * p_h < 0.3)
    # the foresight rule is recorded as the rule behind every attack, and the
    # constraint as binding on day 0, when foresight already wanted to attack
    rules = {r.id: r.index for r in sc.rules}
    attacked = m.world.action_count["challenger"][1] > 0
    assert np.array_equal(m.world.rule_fired[rules["weigh"]], attacked)
    if want > 0.5:
        assert m.world.rule_fired[rules["not_first_day"]].all()


def test_foresight_utility_is_the_expected_gain_in_every_world(write_scenario) -> None:
    """On a snapshot, U(attack) = 3 - 10 * belief(resolute) * P_H, exactly."""
    sc = _deterrence(write_scenario)
    m = WargameModel(sc, replicates=50, rng=1, collect=False)
    m.step()  # day 0: nobody may attack yet
    st = m.world
    st.day = m.day
    q = np.linspace(0, 1, 50)
    st.posterior[("challenger", "resolve")] = np.vstack([q, 1 - q])
    challenger = sc.actor("challenger")
    env = actor_env(st, challenger, st.env())
    weigh = challenger.rules_of("foresight")
    got = foresight.utilities(challenger, weigh, st, env)[weigh[0].index]
    np.testing.assert_allclose(got, 3 - 10 * q, rtol=0, atol=1e-12)


# A threat is an action that sets a commitment; the punishment reads it and the
# defender's resolve; the challenger's belief in that resolve rises from seeing
# it: prior 0.2, P(threat | resolute) = 0.9, P(threat | irresolute) = b (the bluff
# rate), so posterior = 0.18 / (0.18 + 0.8 b), and deterrence holds iff it is > 0.3.
@pytest.mark.parametrize("bluff", [0.1, 0.3, 0.7, 0.9])
def test_a_credible_threat_deters_and_a_cheap_one_does_not(write_scenario, bluff: float) -> None:
    sc = _deterrence(
        write_scenario,
        COMMITTED="false",
        Q=0.2,
        BLUFF=bluff,
        WARN=f'0.9 if resolve == "resolute" else {bluff}',
    )
    k, n, m = _attack_share(sc, worlds=lambda m: m.world.values["committed"])
    post = 0.18 / (0.18 + 0.8 * bluff)
    threatened = m.world.values["committed"]
    belief = m.world.posterior[("challenger", "resolve")][0]
    np.testing.assert_allclose(belief[threatened], post, rtol=1e-12)
    np.testing.assert_allclose(belief[~threatened], 0.2, rtol=1e-12)
    want = _logistic(2 * (3 - 10 * post))
    lo, hi = _wilson(k, n)
    assert lo <= want <= hi, (k / n, want)
    assert (k / n > 0.5) == (post < 0.3)
    # unthreatened, nothing is risked: attack with logistic(2 * 3)
    attacked = m.world.action_count["challenger"][1] > 0
    lo, hi = _wilson(int(attacked[~threatened].sum()), int((~threatened).sum()))
    assert lo <= _logistic(6) <= hi


@pytest.mark.parametrize("toy", ["deterrence", "rich"])
def test_order_of_agents_changes_nothing_with_beliefs_and_foresight(
    write_scenario, toy: str
) -> None:
    text = (
        RICH
        if toy == "rich"
        else _deterrence_text(
            DAYS=6, COMMITTED="false", Q=0.3, WARN='0.9 if resolve == "resolute" else 0.4'
        )
    )
    sc = _scenario(write_scenario, text)
    ids = [a.id for a in sc.actors]
    natural = run_in_order(sc, lambda day: ids, replicates=500)
    order, given = orders_unlike(ids, seed=4)
    shuffled = run_in_order(sc, order, replicates=500)
    assert len(given) == sc.horizon_days
    assert differences(natural, shuffled) == []  # beliefs included
    assert natural.world.posterior and natural.world.action_count["challenger"][-1].any()


# -- privacy -------------------------------------------------------------------------
def test_reading_another_actors_trait_is_a_positioned_error(write_scenario) -> None:
    text = _deterrence_text(
        rule="      peek: {kind: preference, action: attack, utility: "
        "'1 if resolve == \"resolute\" else 0', cites: [kremlin-appetite-decides]}\n"
    )
    path = write_scenario(text, "peek.yaml")
    with pytest.raises(ValidationError) as err:
        load_scenario(path, registry=REGISTRY)
    (msg,) = [str(d) for d in err.value.diagnostics]
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "peek:" in t)
    col = text.splitlines()[line - 1].index("resolve ==") + 1
    assert msg.startswith(f"{path}:{line}:{col}: error: actors.challenger.rules.peek.utility")
    assert "resolve is private knowledge of defender" in msg
    assert "belief.resolve.<type>" in msg


def test_world_level_expressions_and_the_owner_read_a_trait(write_scenario) -> None:
    """Flags and outcomes see the world as it is, and the owner its own trait;
    only the other actors are blind to it."""
    text = _deterrence_text() + (
        'flags:\n  resolute: {name: Resolute, when: resolve == "resolute", at: end}\n'
    )
    sc = _scenario(write_scenario, text)
    assert sc.parameter("resolve").owner == "defender"
    assert [b.trait for b in sc.actor("challenger").beliefs] == ["resolve"]
    m = WargameModel(sc, replicates=500, rng=2, collect=False).run()
    assert m.flags is not None
    np.testing.assert_array_equal(m.flags[0], m.world.params["resolve"] == 0)


# -- conformance on a richer toy ---------------------------------------------------------
RICH = """
scenario: {name: rich, title: Rich, start: 2022-01-01, horizon_days: 8, seed: 1}
state:
  attacked: {type: bool, initial: false}
  probed: {type: int, initial: 0, min: 0, max: 5}
  punished: {type: bool, initial: false}
  sanctions: {type: float, initial: 0, min: 0, max: 10}
  committed: {type: bool, initial: false}
parameters:
  resolve:
    dist: choice
    options: {resolute: 0.4, irresolute: 0.6}
    owner: defender
    cites: [us-swift-response-25-jan]
  mood:
    dist: choice
    options: {calm: 1, angry: 1}
    owner: defender
    cites: [lithuania-direct-threat]
  anger:
    dist: uniform
    low: 0.2
    high: 0.8
    owner: defender
    types: {mild: 0.3, fierce: 0.7}
    cites: [us-swift-response-25-jan]
  patience: {dist: uniform, low: 0, high: 2, owner: ally, cites: [grey-zone-preferred]}
  greed: {dist: uniform, low: 0, high: 1, owner: challenger, cites: [kremlin-appetite-decides]}
ladder:
  calm: {name: Calm, mid_level: 1}
  tense: {name: Tense, mid_level: 3}
  war: {name: War, mid_level: 5}
actors:
  challenger:
    name: Challenger
    rationality: 1.5
    actions:
      wait: {default: true}
      probe: {effects: {probed: probed + 1}, escalate_to: tense}
      attack: {once: true, effects: {attacked: true}, escalate_to: war}
    values:
      gain: {of: attacked, weight: 2 + 3 * greed, cites: [kremlin-appetite-decides]}
      probing: {of: probed, weight: 0.3, cites: [drills-as-pressure-on-ukraine]}
      cost: {of: punished, weight: -8, cites: [us-swift-response-25-jan]}
      sanctions: {of: sanctions, weight: -0.5, cites: [us-sanctions-if-belarus-joins]}
    beliefs:
      anger: {prior: {mild: 2, fierce: 1}}
      resolve:
        evidence:
          warned:
            seen: committed
            likelihood: {resolute: 0.8, irresolute: 0.3}
            cites: [us-swift-response-25-jan]
          steady:
            seen: sanctions > 0
            likelihood: {resolute: '0.6 if day >= 1 else 0', irresolute: '0.4 if day >= 1 else 0'}
            once: false
            cites: [us-sanctions-if-belarus-joins]
    rules:
      not_yet:
        kind: constraint
        action: attack
        allowed_if: day >= 2
        cites: [budanov-two-weeks-buildup]
      weigh_attack: {kind: foresight, action: attack, horizon: 3, cites: [kremlin-appetite-decides]}
      weigh_probe:
        kind: foresight
        action: probe
        horizon: 1
        when: probed < 3
        cites: [drills-as-pressure-on-ukraine]
      urge:
        kind: preference
        action: attack
        utility: greed - 1
        cites: [kremlin-appetite-decides]
  defender:
    name: Defender
    actions:
      wait: {default: true}
      warn: {once: true, effects: {committed: true}}
      punish: {once: true, effects: {punished: true}}
      mobilise: {effects: {sanctions: sanctions + 1}}
    rules:
      warns:
        kind: trigger
        action: warn
        when: day == 0
        prob: '0.8 if resolve == "resolute" else 0.3'
        cites: [us-swift-response-25-jan]
      punishes:
        kind: trigger
        action: punish
        when: attacked
        prob: 'anger if resolve == "resolute" else anger / 4'
        cites: [us-swift-response-25-jan]
      only_if_committed:
        kind: constraint
        action: punish
        allowed_if: committed
        cites: [us-swift-response-25-jan]
      mobilises:
        kind: preference
        action: mobilise
        when: probed > 0
        utility: '1 if mood == "angry" else -1'
        cites: [lithuania-direct-threat]
      rests: {kind: preference, action: wait, utility: 0.5, cites: [grey-zone-preferred]}
  ally:
    name: Ally
    rationality: 1.5
    actions:
      wait: {default: true}
      sanction: {effects: {sanctions: sanctions + 2}}
    rules:
      sanctions_if_probed:
        kind: preference
        action: sanction
        utility: probed - 1 - patience
        cites: [us-sanctions-if-belarus-joins]
outcomes:
  quiet: {name: Quiet}
  war: {name: War, when: challenger.attack.taken}
"""


def test_foresight_decisions_match_the_plain_reference(write_scenario, monkeypatch) -> None:
    """Every decision of every actor equals the plain formulation's (foresight and
    beliefs included), takes nothing a constraint forbids, and writes nothing into the
    state; several responders, word and numeric traits, triggers, preferences and
    constraints on the responses all take part."""
    sc = _scenario(write_scenario, RICH, "rich.yaml")
    checked = CheckedDecide().install(monkeypatch)
    m = WargameModel(sc, replicates=400, rng=6, collect=False).run()
    assert checked.calls == {a.id: sc.horizon_days for a in sc.actors}
    counts = m.world.action_count["challenger"]
    assert counts[1].any() and counts[2].any()  # both foreseen actions happen
    rules = {r.id: r.index for r in sc.rules}
    assert m.world.rule_fired[rules["weigh_probe"]].any()
    assert m.world.rule_fired[rules["not_yet"]].any()


def test_trace_lists_values_and_beliefs_with_their_claims(write_scenario) -> None:
    sc = _deterrence(write_scenario)
    used = cited_claims(sc)
    assert "value:challenger.cost" in used["us-sanctions-if-belarus-joins"]
    assert "evidence:challenger.resolve.threat" in used["us-swift-response-25-jan"]
    text, uncited = format_trace(sc, REGISTRY)
    assert uncited == []
    assert "    value      cost: -10 * punished" in text
    assert "    belief     about resolve (defender's): resolute, irresolute" in text
    assert "resolve (choice, defender's private trait)" in text


# -- numeric traits with named types -------------------------------------------------------
LEVELS = """
scenario: {name: levels, title: Levels, start: 2022-01-01, horizon_days: 10, seed: 1}
state:
  attacked: {type: bool, initial: false}
  punished: {type: bool, initial: false}
parameters:
  level:
    dist: uniform
    low: 0
    high: 1
    owner: defender
    types: {weak: 0.1, strong: 0.9}
    cites: [us-swift-response-25-jan]
ladder:
  calm: {name: Calm, mid_level: 1}
  war: {name: War, mid_level: 5}
actors:
  challenger:
    name: Challenger
    actions:
      wait: {default: true}
      attack: {once: true, effects: {attacked: true}}
    values:
      gain: {of: attacked, weight: 3, cites: [kremlin-appetite-decides]}
      cost: {of: punished, weight: -10, cites: [us-sanctions-if-belarus-joins]}
    BELIEFS
    rules:
      not_yet: {kind: constraint, action: attack, allowed_if: day >= 20, cites: [drills-10-20-feb]}
      weigh: {kind: foresight, action: attack, horizon: 1, cites: [us-swift-response-25-jan]}
  defender:
    name: Defender
    actions:
      wait: {default: true}
      drill: {}
      punish: {once: true, effects: {punished: true}}
    rules:
      drills: {kind: trigger, action: drill, prob: level, cites: [drills-as-pressure-on-ukraine]}
      carry_out:
        kind: trigger
        action: punish
        when: attacked
        prob: level
        cites: [us-swift-response-25-jan]
outcomes:
  quiet: {name: Quiet}
"""

LEVEL_BELIEF = """beliefs:
      level:
        prior: PRIOR
        evidence:
          drilling:
            seen: defender.drill.days_since == 1
            likelihood: {weak: '0.1 if day >= 1 else 0', strong: '0.9 if day >= 1 else 0'}
            once: false
            cites: [drills-as-pressure-on-ukraine]"""


def test_numeric_trait_with_types_is_believed_and_foreseen(write_scenario) -> None:
    """A numeric trait's named values are the types of a belief (equal prior weights
    by default); foresight weighs each value by the belief, and falls back on the prior
    mean for a decider that holds none."""
    text = LEVELS.replace("BELIEFS", LEVEL_BELIEF.replace("prior: PRIOR\n        ", ""))
    sc = _scenario(write_scenario, text)
    m = WargameModel(sc, replicates=2000, rng=3, collect=False)
    for _ in range(sc.horizon_days - 1):
        m.step()
    st = m.world
    H = m.day  # days observed: 0 .. H - 1
    drilled_last = st.action_last["defender"][1] == H - 1
    k = st.action_count["defender"][1] - drilled_last
    weak = 0.1**k * 0.9 ** (H - 1 - k)
    strong = 0.9**k * 0.1 ** (H - 1 - k)
    post = st.posterior[("challenger", "level")]
    np.testing.assert_allclose(post[1], strong / (weak + strong), rtol=1e-12)
    st.day = m.day
    challenger = sc.actor("challenger")
    rule = challenger.rules_of("foresight")
    got = foresight.utilities(challenger, rule, st, actor_env(st, challenger, st.env()))
    want = 3 - 10 * (0.1 * post[0] + 0.9 * post[1])
    np.testing.assert_allclose(got[rule[0].index], want, rtol=0, atol=1e-12)

    blind = _scenario(write_scenario, LEVELS.replace("BELIEFS", ""), "blind.yaml")
    m = WargameModel(blind, replicates=10, rng=3, collect=False)
    m.step()
    st = m.world
    st.day = m.day
    challenger = blind.actor("challenger")
    rule = challenger.rules_of("foresight")
    got = foresight.utilities(challenger, rule, st, st.env())
    np.testing.assert_allclose(got[rule[0].index], 3 - 10 * 0.5, rtol=0, atol=1e-12)
