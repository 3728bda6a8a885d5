"""``evaluate``: the engine as a picklable, deterministic function."""

from __future__ import annotations

import pickle

import pytest
from conftest import DEFAULT_SCENARIO

import sim
from sim.errors import UsageError
from sim.interop import ScenarioFunction, evaluate, output_names

SCENARIO = str(DEFAULT_SCENARIO)


def test_pickle_round_trip():
    assert pickle.loads(pickle.dumps(evaluate)) is evaluate
    f = ScenarioFunction(SCENARIO, runs=100, seed=1)
    g = pickle.loads(pickle.dumps(f))
    assert g == f
    assert g(kremlin_appetite=0.5) == f(kremlin_appetite=0.5)


def test_same_seed_same_result_and_keys():
    a = evaluate(SCENARIO, {"kremlin_appetite": 0.7}, seed=3, runs=300)
    b = evaluate(SCENARIO, {"kremlin_appetite": 0.7}, seed=3, runs=300)
    assert a == b
    assert list(a) == output_names(SCENARIO)
    outcomes = [v for k, v in a.items() if k.startswith("p_")]
    assert sum(outcomes) == pytest.approx(1.0)
    assert all(isinstance(v, float) for v in a.values())
    assert evaluate(SCENARIO, {"kremlin_appetite": 0.7}, seed=4, runs=300) != a


def test_matches_run_batch(tmp_path):
    pins = {"kremlin_appetite": 0.3}
    got = evaluate(SCENARIO, pins, seed=5, runs=400)
    res = sim.run_batch(SCENARIO, runs=400, seed=5, pinned=pins, out=tmp_path / "b", progress=False)
    for o in res.summary["outcomes"]:
        assert got[f"p_{o['id']}"] == o["p"]


def test_parameter_paths_and_numpy_values():
    np = pytest.importorskip("numpy")
    high = evaluate(SCENARIO, {"param.kremlin_appetite": np.float64(0.95)}, runs=300)
    low = evaluate(SCENARIO, {"parameters.kremlin_appetite.b": 30}, runs=300)
    assert high["p_staging_area_war"] > low["p_staging_area_war"]


def test_unknown_parameter():
    with pytest.raises(UsageError, match="did you mean"):
        evaluate(SCENARIO, {"kremlin_apetite": 0.5}, runs=10)
