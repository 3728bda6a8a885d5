"""The shipped counterfactuals of allied_resolve_2022 show deterrence working or failing.

Each demonstration is a file that ``extends`` the base and changes one thing
the sources say matters: the US warning to Minsk, Lukashenka's consent, the
size of the Russian force. ``wargame compare`` runs base and variant with the
same seed (common random numbers) and gives Newcombe's interval for the
difference; each test asserts that the interval excludes zero on the side
the reasoning predicts. Fixed seeds; 3,000 worlds a side keep the intervals
a few points wide, far narrower than the effects (9 to 52 points at 10,000
worlds, docs/scenarios.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.cli import main
from sim.engine.model import WargameModel
from sim.scenario import load_scenario
from sim.stats import wilson

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
BASE = SCENARIOS / "allied_resolve_2022.yaml"
RUNS = 3000
SEED = 11


def _flag_difference(a: Path, b: Path, flag: str, tmp_path: Path) -> dict[str, float]:
    """``wargame compare A B``: the difference B − A of one flag's share, with its interval."""
    out = tmp_path / "compare"
    argv = ["compare", str(a), str(b), "--runs", str(RUNS), "--seed", str(SEED)]
    assert main([*argv, "--no-plots", "-q", "--out", str(out)]) == 0
    diffs = json.loads((out / "compare.json").read_text())["flag_diffs"]
    return next(d for d in diffs if d["id"] == flag)


@pytest.fixture(autouse=True)
def _results_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # compare runs scenario files as batches under results/ of the working folder
    monkeypatch.chdir(tmp_path)


def test_without_the_us_warning_an_offensive_from_belarus_is_likelier(tmp_path: Path) -> None:
    d = _flag_difference(
        BASE, SCENARIOS / "allied_resolve_no_us_threat.yaml", "offensive_from_belarus", tmp_path
    )
    assert d["lo"] > 0.02, d


def test_when_lukashenka_refuses_an_offensive_from_belarus_is_less_likely(tmp_path: Path) -> None:
    d = _flag_difference(
        BASE,
        SCENARIOS / "allied_resolve_lukashenka_refuses.yaml",
        "offensive_from_belarus",
        tmp_path,
    )
    assert d["hi"] < -0.05, d


def test_the_size_of_the_force_changes_the_kremlins_choice(tmp_path: Path) -> None:
    d = _flag_difference(
        SCENARIOS / "allied_resolve_small_force.yaml",
        SCENARIOS / "allied_resolve_large_force.yaml",
        "offensive_from_belarus",
        tmp_path,
    )
    assert d["lo"] > 0.2, d


def test_kyiv_rarely_strikes_belarus_after_an_offensive_because_it_foresees_belarus_entering() -> (
    None
):
    """P(Ukraine strikes Belarus | offensive) stays far below the third (35%) of the model
    without foresight, and switching Kyiv's foresight off (a strike then has no
    pull at all) or its fear of a second front off moves it as the reasoning says."""
    sc = load_scenario(BASE)
    m = WargameModel(sc, replicates=6000, rng=SEED, collect=False).run()
    ukraine = sc.actor("ukraine")
    strike = next(a.index for a in ukraine.actions if a.id == "strike_belarus")
    offensive = m.world.values["offensive_launched"]
    struck = m.world.action_count["ukraine"][strike] > 0
    k, n = int(struck[offensive].sum()), int(offensive.sum())
    assert n > 500
    _, hi = wilson(k, n)
    assert hi < 0.25, (k, n)
    # Kyiv strikes only after an offensive, and mostly where Belarus's entry was
    # coming anyway, so a strike costs little more: where NATO and Russia have
    # clashed (Lukashenka then defends Russia) or where he acts like the Russian
    # army. Such worlds are under a third of those with an offensive but most of
    # those with a strike.
    assert not (struck & ~offensive).any()
    like = m.world.params["lukashenka_doctrine"] == sc.parameter(
        "lukashenka_doctrine"
    ).enum_values.index("like_russian_army")
    anyway = like | m.world.values["russia_attacked_by_west"]
    _, anyway_among_offensive_hi = wilson(int(anyway[offensive].sum()), n)
    anyway_among_struck_lo, _ = wilson(int(anyway[struck].sum()), k)
    assert anyway_among_struck_lo > max(0.5, anyway_among_offensive_hi + 0.2), (
        anyway[struck].mean(),
        anyway[offensive].mean(),
    )


def test_without_fear_of_a_second_front_kyiv_strikes_far_more_often() -> None:
    """The same worlds with Kyiv's second-front cost set to zero: the strike rate
    after an offensive rises well above the base's (the cost is what holds it back)."""
    shares = []
    for overrides in ([], ["actors.ukraine.values.second_front.weight=0"]):
        sc = load_scenario(BASE, overrides)
        m = WargameModel(sc, replicates=4000, rng=SEED, collect=False).run()
        strike = next(a.index for a in sc.actor("ukraine").actions if a.id == "strike_belarus")
        offensive = m.world.values["offensive_launched"]
        struck = m.world.action_count["ukraine"][strike] > 0
        shares.append(wilson(int(struck[offensive].sum()), int(offensive.sum())))
    (_, base_hi), (free_lo, _) = shares
    assert free_lo > base_hi + 0.2, shares
