"""rgf_deployment_2022: the actors' decisions move with what the sources say moves them.

The force against what an offensive needs, how credible Minsk finds the
West's threats, a prompt warning, the General Staff's reading of the
grouping and Kyiv's fear of a second front each enter a decision through
values, beliefs and foresight (docs/scenarios.md, section 3). Each test pins
or switches off one of them in the same worlds (the same seed) and asserts
that the decision moves the way the reasoning predicts, by more than the
95% Wilson intervals allow for chance; the belief test checks Bayes' rule
exactly. Fixed seeds; 4,000 worlds a side.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.engine.model import WargameModel
from sim.scenario import load_scenario
from sim.stats import wilson

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
BASE = SCENARIOS / "rgf_deployment_2022.yaml"
RUNS = 4000
SEED = 11


def _run(path: Path = BASE, pinned=None, overrides=(), runs: int = RUNS) -> WargameModel:
    sc = load_scenario(path, list(overrides))
    return WargameModel(sc, replicates=runs, rng=SEED, collect=False, pinned=pinned).run()


def _index(actor: str, action: str) -> int:
    return next(a.index for a in load_scenario(BASE).actor(actor).actions if a.id == action)


def _action(m: WargameModel, actor: str, action: str) -> np.ndarray:
    """Whether ``actor`` took ``action`` in each world."""
    return m.world.action_count[actor][_index(actor, action)] > 0


def _share(mask: np.ndarray, among: np.ndarray | None = None) -> tuple[float, float]:
    among = np.ones_like(mask) if among is None else among
    return wilson(int(mask[among].sum()), int(among.sum()))


def test_an_offensive_is_rarer_where_the_force_falls_short_of_what_it_needs() -> None:
    """Two weeks of build-up bring the grouping to about 30,000: where an offensive
    needs 40,000 the chance of success, and with it the Kremlin's willingness,
    falls, so fewer offensives come than where 20,000 would do."""
    small, large = (
        _run(pinned={"troops_needed": need}).world.values["offensive_launched"]
        for need in (20_000, 40_000)
    )
    (small_lo, _), (_, large_hi) = _share(small), _share(large)
    assert small_lo > large_hi, (small.mean(), large.mean())


def test_minsk_helps_where_the_wests_threat_looks_empty_and_never_if_only_attacked() -> None:
    """Asked by Moscow, Lukashenka weighs Moscow's favour against sanctions as
    credible as he finds them: under "like the Russian army" he almost always
    helps at a credibility of 0.4, rarely at 0.9; under "only if attacked" the
    cost at home outweighs the favour whatever he believes."""
    shares = []
    for credibility in (0.4, 0.9):
        m = _run(
            pinned={
                "lukashenka_doctrine": "like_russian_army",
                "minsk_threat_credibility": credibility,
            }
        )
        asked = _action(m, "kremlin", "plan_northern_offensive")
        assert asked.sum() > 300
        shares.append(_share(m.world.values["minsk_consents"], asked))
    (cheap_lo, _), (_, credible_hi) = shares
    assert cheap_lo > 0.9 and credible_hi < 0.5, shares
    m = _run(pinned={"lukashenka_doctrine": "only_if_attacked", "minsk_threat_credibility": 0.4})
    assert _action(m, "kremlin", "plan_northern_offensive").sum() > 300
    assert not m.world.values["minsk_consents"].any()


def test_a_prompt_warning_moves_the_kremlins_belief_in_western_resolve_by_bayes() -> None:
    """A public warning within two weeks of the order multiplies the odds of a
    resolute West by 0.93 / 0.135; without one the belief stays at its prior 0.7."""
    m = _run()
    ordered = _action(m, "kremlin", "plan_northern_offensive")
    warned = m.world.values["minsk_warned"]
    order_day = m.world.action_last["kremlin"][_index("kremlin", "plan_northern_offensive")]
    warn_day = m.world.action_last["nato"][_index("nato", "warn_minsk")]
    # seen in the observe phase of the day after the warning, when days_since is
    # counted from the order; a warning on the last day is never seen
    horizon = load_scenario(BASE).horizon_days
    prompt = ordered & warned & (warn_day + 1 - order_day <= 14) & (warn_day <= horizon - 2)
    belief = m.world.posterior[("kremlin", "western_resolve")][0]
    assert prompt.sum() > 200 and (ordered & ~prompt).sum() > 200
    want = 0.7 * 0.93 / (0.7 * 0.93 + 0.3 * 0.135)
    np.testing.assert_allclose(belief[prompt], want, rtol=1e-12)
    np.testing.assert_allclose(belief[~ordered], 0.7, rtol=1e-12)


def test_where_the_general_staff_is_right_offensives_come_far_more_often() -> None:
    """The same worlds with the grouping meant for a drive west everywhere: the
    doubled prize outweighs the doubled risk of war with NATO in many more worlds."""
    base = _run().world.values["offensive_launched"]
    west = _run(SCENARIOS / "rgf_general_staff_right.yaml").world.values["offensive_launched"]
    (_, base_hi), (west_lo, _) = _share(base), _share(west)
    assert west_lo > base_hi + 0.04, (base.mean(), west.mean())


def _first_strikes(m: WargameModel, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Per world: an offensive came; Kyiv struck Belarus while its army was still out."""
    strike = _index("ukraine", "strike_belarus")
    first = np.full(m.world.R, days)
    army_in = np.full(m.world.R, days)
    for day in range(days):
        m.step()
        struck = m.world.action_count["ukraine"][strike] > 0
        first = np.where(struck & (first == days), day, first)
        army_in = np.where(
            m.world.values["belarus_army_in_combat"] & (army_in == days), day, army_in
        )
    return m.world.values["offensive_launched"], (first < days) & (first <= army_in)


def test_kyiv_rarely_strikes_first_because_it_foresees_the_second_front() -> None:
    """Kyiv weighs a strike against the Belarusian army entering the war: it
    strikes while that army is still out after few offensives (a fifth at most;
    27% in the previous version, whose strike was a fixed daily pull), and after
    nearly all once the second front costs it nothing."""
    shares = []
    for overrides in ([], ["actors.ukraine.values.second_front.weight=0"]):
        sc = load_scenario(BASE, overrides)
        m = WargameModel(sc, replicates=RUNS, rng=SEED, collect=False)
        offensive, first = _first_strikes(m, sc.horizon_days)
        assert offensive.sum() > 200
        shares.append(_share(first, offensive))
    (_, fearful_hi), (free_lo, _) = shares
    assert fearful_hi < 0.25, shares  # 27% in the previous version, without foresight
    assert free_lo > fearful_hi + 0.5, shares
