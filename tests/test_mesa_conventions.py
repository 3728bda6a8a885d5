"""``WargameModel`` follows Mesa's conventions.

Fresh entropy for ``rng=None`` (recorded, so a run repeats), reporters that
describe every world, pins checked as ``run_batch`` checks them, a bundled
default scenario that works from a wheel, and a scenario compiled once and
reused across ``mesa.batch_run`` runs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings

import mesa
import numpy as np
import pytest
from conftest import DEFAULT_SCENARIO, ROOT

import sim
from sim.batch.seeding import chunk_seed
from sim.engine.model import ActorAgent, WargameModel, scenario_for
from sim.errors import UsageError
from sim.scenario import load_scenario


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(DEFAULT_SCENARIO)


def _model_rows(results: list[dict]) -> list[dict]:
    """One row per run: ``batch_run`` repeats the model columns for each agent."""
    return list({r["RunId"]: r for r in results}.values())


def _fingerprint(row: dict) -> tuple:
    return tuple(v for k, v in sorted(row.items()) if k.startswith(("p_", "flag_", "mean_")))


# -- rng -------------------------------------------------------------------------------
def test_rng_none_draws_fresh_entropy_recorded_in_seed(scenario) -> None:
    a = WargameModel(scenario, replicates=300, collect=False).run()
    b = WargameModel(scenario, replicates=300, collect=False).run()
    assert isinstance(a.seed, int) and a.seed != b.seed
    assert not np.array_equal(a.rung_track, b.rung_track)
    again = WargameModel(scenario, replicates=300, collect=False, rng=a.seed).run()
    np.testing.assert_array_equal(again.rung_track, a.rung_track)
    np.testing.assert_array_equal(again.outcome, a.outcome)


def test_seed_records_what_was_given(scenario) -> None:
    assert WargameModel(scenario, rng=7).seed == 7
    assert WargameModel(scenario, rng=np.random.default_rng(7)).seed is None
    ss = chunk_seed(3, 0, 1)
    m = WargameModel(scenario, replicates=50, collect=False, rng=ss).run()
    assert (m.seed.entropy, m.seed.spawn_key) == (3, (0, 1))
    # the caller's sequence is not advanced: given twice, it gives the same worlds
    twice = WargameModel(scenario, replicates=50, collect=False, rng=ss).run()
    np.testing.assert_array_equal(twice.rung_track, m.rung_track)
    repeat = WargameModel(scenario, replicates=50, collect=False, rng=m.seed).run()
    np.testing.assert_array_equal(repeat.rung_track, m.rung_track)


def test_wargame_run_uses_the_scenario_seed_explicitly(scenario) -> None:
    from sim.narrative import run_story

    story = run_story(scenario)
    assert f"--seed {scenario.seed}" in story
    assert run_story(scenario) == story


def test_batch_run_iterations_give_different_worlds_that_repeat(scenario) -> None:
    params = {"scenario_file": scenario, "replicates": 200}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Mesa prefers rng=[None] * 3
        results = mesa.batch_run(
            WargameModel, params, iterations=3, max_steps=100, display_progress=False
        )
    rows = _model_rows(results)
    assert len(rows) == 3
    assert len({r["seed"] for r in rows}) == 3
    assert len({_fingerprint(r) for r in rows}) == 3
    for row in rows:
        again = WargameModel(scenario, replicates=200, rng=row["seed"]).run()
        last = again.datacollector.get_model_vars_dataframe().iloc[-1].to_dict()
        assert _fingerprint(last) == _fingerprint(row)


# -- reporters -------------------------------------------------------------------------
def test_model_reporters_describe_all_worlds(scenario) -> None:
    m = WargameModel(scenario, replicates=2000, rng=11)
    for _ in range(20):
        m.step()
    early = m.datacollector.get_model_vars_dataframe().iloc[-1]
    assert early["p_de_escalation"] is None and early["outcome"] is None
    rung = m.world.rung
    assert early["rung_median"] == int(np.quantile(rung, 0.5, method="inverted_cdf"))
    assert early["rung_q05"] <= early["rung_median"] <= early["rung_q95"]
    assert early["rung_q95"] > early["rung_q05"]  # the worlds have spread out
    m.run()
    last = m.datacollector.get_model_vars_dataframe().iloc[-1]
    counts = np.bincount(m.outcome, minlength=len(scenario.outcomes))
    for o in scenario.outcomes:
        assert last[f"p_{o.id}"] == counts[o.index] / 2000
    assert sum(last[f"p_{o.id}"] for o in scenario.outcomes) == pytest.approx(1.0)
    assert last["outcome"] == scenario.outcomes[int(np.argmax(counts))].id
    for i, f in enumerate(scenario.flags):
        assert last[f"flag_{f.id}"] == m.flags[i].mean()
    peak = np.quantile(m.world.peak, 0.5, method="inverted_cdf")
    assert last["peak_rung"] == scenario.ladder[int(peak)].id
    assert last["mean_peak"] == m.world.peak.mean() and last["seed"] == 11


@pytest.mark.parametrize("n", [1, 2, 7, 100, 2001])
def test_rung_quantiles_are_numpys_inverted_cdf(n: int) -> None:
    from sim.engine.model import _quantile

    rng = np.random.default_rng(n)
    for _ in range(30):
        rungs = rng.integers(0, rng.integers(1, 8), n) + rng.integers(0, 3)
        for q in (0.0, 0.05, 0.25, 0.5, 0.95, 1.0):
            assert _quantile(rungs, q) == np.quantile(rungs, q, method="inverted_cdf")


def test_agent_reporters_give_each_actors_last_action_shares(scenario) -> None:
    m = WargameModel(scenario, replicates=1000, rng=5)
    first = m.datacollector.get_agent_vars_dataframe()
    assert first["action_shares"].isna().all()  # nobody has acted yet
    for _ in range(scenario.horizon_days // 2):
        m.step()
    table = m.datacollector.get_agent_vars_dataframe().xs(m.time, level="Step")
    assert sorted(table["actor"]) == sorted(a.id for a in scenario.actors)
    for agent in m.agents_by_type[ActorAgent]:
        row = table.loc[agent.unique_id]
        shares = row["action_shares"]
        assert list(shares) == [a.id for a in agent.actor.actions]
        counts = np.bincount(agent.decision.action, minlength=len(agent.actor.actions))
        assert list(shares.values()) == list(counts / 1000)
        assert row["top_action"] == agent.actor.actions[int(np.argmax(counts))].id


# -- pins ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "pins",
    [
        {"kremlin_apetite": 0.5},  # misspelt
        {"lukashenka_doctrine": "like_the_russian_army"},  # not a word of the enum
        {"kremlin_appetite": "high"},  # not a number
        {"kremlin_appetite": 1.5},  # outside Beta's support [0, 1]
        {"russian_troops": 20000.5},  # not a whole number
        {"russian_troops": 5},  # outside the triangle [10000, 30000]
        {"withdrawal_rate": float("nan")},
    ],
)
def test_pins_are_checked_exactly_as_in_run_batch(scenario, pins, tmp_path) -> None:
    with pytest.raises(UsageError) as model_error:
        WargameModel(scenario, pinned=pins)
    with pytest.raises(UsageError) as batch_error:
        sim.run_batch(DEFAULT_SCENARIO, runs=10, pinned=pins, out=tmp_path / "b", progress=False)
    assert str(model_error.value) == str(batch_error.value)


def test_whole_number_floats_pin_whole_number_parameters(scenario) -> None:
    m = WargameModel(scenario, replicates=10, pinned={"russian_troops": 20000.0})
    assert m.pinned == {"russian_troops": 20000} and isinstance(m.pinned["russian_troops"], int)
    assert (m.world.params["russian_troops"] == 20000).all()


def test_grid_over_pinned_gives_the_shares_of_run_batch(scenario, tmp_path) -> None:
    grid = [
        {"kremlin_appetite": 0.2},
        {"kremlin_appetite": 0.8, "lukashenka_doctrine": "like_russian_army"},
    ]
    runs, seed = 1500, 4
    results = mesa.batch_run(
        WargameModel,
        {"scenario_file": scenario, "replicates": runs, "pinned": grid},
        rng=[chunk_seed(seed, 0, 0)],  # the seed run_batch gives its first chunk
        max_steps=100,
        display_progress=False,
    )
    rows = _model_rows(results)
    assert [r["pinned"] for r in rows] == grid
    for i, (row, pins) in enumerate(zip(rows, grid, strict=True)):
        batch = sim.run_batch(
            DEFAULT_SCENARIO,
            runs=runs,
            seed=seed,
            pinned=pins,
            out=tmp_path / str(i),
            progress=False,
        )
        for o in batch.summary["outcomes"]:
            assert row[f"p_{o['id']}"] == o["p"]
    assert rows[0]["p_staging_area_war"] < rows[1]["p_staging_area_war"]


# -- the scenario: reused, bundled ------------------------------------------------------
def test_a_scenario_is_compiled_once_and_recompiled_when_a_file_changes(tmp_path) -> None:
    for f in ("allied_resolve_2022.yaml", "allied_resolve_troops_stay.yaml"):
        shutil.copy(ROOT / "scenarios" / f, tmp_path / f)
    child = tmp_path / "allied_resolve_troops_stay.yaml"
    first = scenario_for(child)
    assert scenario_for(child) is first
    assert WargameModel(first).spec is first  # a loaded Scenario is used as it is
    base = tmp_path / "allied_resolve_2022.yaml"
    base.write_text(base.read_text().replace("horizon_days: 70", "horizon_days: 71"))
    edited = scenario_for(child)
    assert edited is not first and edited.horizon_days == 71


def test_default_scenario_is_package_data() -> None:
    from importlib import resources

    from sim.engine.model import DEFAULT_RESOURCE
    from sim.engine.model import DEFAULT_SCENARIO as BUNDLED

    assert resources.files("sim").joinpath(DEFAULT_RESOURCE).is_file()
    assert BUNDLED.read_bytes() == DEFAULT_SCENARIO.read_bytes()
    m = WargameModel(replicates=5, rng=1)
    assert m.spec.sha256 == load_scenario(DEFAULT_SCENARIO).sha256


WHEEL_CHECK = """
import sys
from importlib import resources
import sim
from sim.engine.model import WargameModel
assert sim.__file__.startswith(sys.argv[1]), sim.__file__
# the claims the bundled scenarios cite travel with them
assert resources.files("sim").joinpath("data/seeds/claims.yaml").is_file()
m = WargameModel(replicates=200, rng=3).run()
print(m.spec.sha256, *m.outcome_shares())
"""


def test_default_scenario_works_from_a_wheel(tmp_path) -> None:
    """Build a wheel of the working tree and import it, as a zip, away from the repository.

    No ``seeds/`` folder is above the working folder there: the bundled
    scenario's citations are checked against the claims bundled with it.
    """
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for data in ("scenarios", "seeds"):  # sim/data/ links to them
        shutil.copytree(ROOT / data, src / data)
    shutil.copytree(
        ROOT / "sim", src / "sim", symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
    )
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*build, "--no-index", "-q", ".", "-w", str(tmp_path / "dist")],
        cwd=src,
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("wargame_sim-*.whl")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", WHEEL_CHECK, str(wheel)],
        cwd=elsewhere,
        env={"PYTHONPATH": str(wheel), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    here = WargameModel(replicates=200, rng=3).run()
    expected = " ".join(str(x) for x in [here.spec.sha256, *here.outcome_shares()])
    assert done.stdout.split() == expected.split()
