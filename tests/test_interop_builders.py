"""EMA Workbench and SALib inputs built from a scenario, run with the real libraries.

Also runs every example of docs/interop.md (with fewer experiments and
worlds), so the documentation cannot drift from the code.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import DEFAULT_SCENARIO, ROOT

from sim.errors import UsageError, ValidationError
from sim.interop import (
    ema_model,
    evaluate,
    output_names,
    salib_inputs,
    salib_problem,
)
from sim.scenario import load_scenario

ema = pytest.importorskip("ema_workbench")
pytest.importorskip("SALib")

SCENARIO = str(DEFAULT_SCENARIO)
SOME = ["kremlin_appetite", "russian_troops", "lukashenka_doctrine"]


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(SCENARIO)


def test_ema_uncertainties_are_the_parameters_over_their_supports(scenario) -> None:
    model = ema_model(SCENARIO, runs=100, seed=1)
    by_name = {u.name: u for u in model.uncertainties}
    uncertain = [p.id for p in scenario.parameters if p.dist != "fixed"]
    assert list(by_name) == uncertain
    appetite = by_name["kremlin_appetite"]  # Beta(3, 3) on [0, 1]
    assert isinstance(appetite, ema.RealParameter)
    assert (appetite.lower_bound, appetite.upper_bound) == (0.0, 1.0)
    troops = by_name["russian_troops"]  # whole-number triangle on [10000, 30000]
    assert isinstance(troops, ema.IntegerParameter)
    assert (troops.lower_bound, troops.upper_bound) == (10000, 30000)
    doctrine = by_name["lukashenka_doctrine"]
    assert isinstance(doctrine, ema.CategoricalParameter)
    assert [c.value for c in doctrine.categories] == ["only_if_attacked", "like_russian_army"]
    rate = by_name["withdrawal_rate"]
    assert (rate.lower_bound, rate.upper_bound) == (0.02, 0.15)
    assert [o.name for o in model.outcomes] == output_names(SCENARIO)
    assert model.name == scenario.name


def test_ema_model_of_chosen_parameters_and_unknown_ones(scenario) -> None:
    model = ema_model(scenario, parameters=SOME)
    assert [u.name for u in model.uncertainties] == SOME
    with pytest.raises(UsageError, match="did you mean 'kremlin_appetite'"):
        ema_model(scenario, parameters=["kremlin_apetite"])


def test_salib_problem_has_the_bounds_of_the_ema_model(scenario) -> None:
    problem = salib_problem(scenario)
    model = ema_model(scenario)
    assert problem["names"] == [u.name for u in model.uncertainties]
    assert problem["num_vars"] == len(problem["names"])
    for name, (lo, hi) in zip(problem["names"], problem["bounds"], strict=True):
        u = model.uncertainties[name]
        if name in problem["categories"]:
            cats = [c.value for c in u.categories]
            assert problem["categories"][name] == cats and (lo, hi) == (0, len(cats))
        elif name in problem["integers"]:
            assert (lo, hi) == (u.lower_bound, u.upper_bound + 1)  # a unit cell per value
        else:
            assert (lo, hi) == (u.lower_bound, u.upper_bound)
    assert problem["integers"] == ["russian_troops", "force_needed"]


def test_salib_inputs_give_every_discrete_value_a_unit_cell(scenario) -> None:
    problem = salib_problem(scenario, SOME)
    lo = [b[0] for b in problem["bounds"]]
    top = [math.nextafter(b[1], -math.inf) for b in problem["bounds"]]
    assert salib_inputs(problem, lo) == {
        "kremlin_appetite": 0.0,
        "russian_troops": 10000,
        "lukashenka_doctrine": "only_if_attacked",
    }
    assert salib_inputs(problem, top) == {
        "kremlin_appetite": math.nextafter(1.0, 0.0),
        "russian_troops": 30000,
        "lukashenka_doctrine": "like_russian_army",
    }
    mid = salib_inputs(problem, [0.5, 10000.999, 0.999])
    assert (mid["russian_troops"], mid["lukashenka_doctrine"]) == (10000, "only_if_attacked")


def test_normal_without_a_cut_gets_three_sd_either_side(write_scenario) -> None:
    text = DEFAULT_SCENARIO.read_text()
    text = text.replace(
        "  withdrawal_rate:\n    dist: uniform\n    low: 0.02\n    high: 0.15\n",
        "  withdrawal_rate:\n    dist: normal\n    mean: 0.08\n    sd: 0.01\n",
    )
    assert "mean: 0.08" in text
    path = write_scenario(text, "allied_resolve_2022.yaml")
    problem = salib_problem(path, ["withdrawal_rate"])
    assert problem["bounds"] == [[pytest.approx(0.05), pytest.approx(0.11)]]


def test_ema_experiments_pin_the_sampled_values(scenario) -> None:
    """Each experiment's outcomes are evaluate() of its sampled inputs; PRIM runs on them."""
    from ema_workbench import Samplers, SequentialEvaluator
    from ema_workbench.analysis import prim

    model = ema_model(scenario, runs=80, seed=2, parameters=SOME)
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(
            scenarios=10,
            uncertainty_sampling=Samplers.LHS,
            uncertainty_sampling_kwargs={"rng": 3},
        )
    assert experiments["russian_troops"].between(10000, 30000).all()
    for i in (0, 7):
        inputs = {name: experiments[name].iloc[i] for name in SOME}
        expected = evaluate(scenario, inputs, seed=2, runs=80)
        assert {k: v[i] for k, v in outcomes.items()} == expected
    war = outcomes["p_staging_area_war"] > np.median(outcomes["p_staging_area_war"])
    box = prim.Prim(experiments[SOME], war).find_box()
    assert 0 < box.stats["coverage"] <= 1


def test_salib_sobol_on_decoded_rows(scenario) -> None:
    from SALib.analyze import sobol
    from SALib.sample import sobol as sobol_sample

    problem = salib_problem(scenario, SOME)
    X = sobol_sample.sample(problem, 8, calc_second_order=False, seed=1)
    Y = np.array(
        [evaluate(scenario, salib_inputs(problem, row), seed=1, runs=60)["p_staging_area_war"]
         for row in X]
    )  # fmt: skip
    si = sobol.analyze(problem, Y, calc_second_order=False, seed=1)
    assert si["ST"].shape == (3,) and np.isfinite(si["ST"]).all()


# -- values samplers produce --------------------------------------------------------------
def test_whole_number_floats_for_whole_number_paths_and_parameters(scenario) -> None:
    as_float = evaluate(SCENARIO, {"scenario.horizon_days": 60.0}, runs=100)
    assert as_float == evaluate(SCENARIO, {"scenario.horizon_days": 60}, runs=100)
    assert as_float != evaluate(SCENARIO, runs=100)
    with pytest.raises(ValidationError, match="whole number"):
        evaluate(SCENARIO, {"scenario.horizon_days": 60.5}, runs=10)
    troops = evaluate(SCENARIO, {"russian_troops": np.float64(20000.0)}, runs=100)
    assert troops == evaluate(SCENARIO, {"russian_troops": 20000}, runs=100)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"kremlin_appetite": 1.5}, r"a number in \[0, 1\] \(its beta distribution\); got 1.5"),
        ({"russian_troops": 20000.5}, "takes a whole number"),
        ({"russian_troops": 9999}, r"a whole number in \[10000, 30000\]"),
        ({"lukashenka_doctrine": "like_russian"}, "did you mean 'like_russian_army'"),
        ({"withdrawal_rate": True}, "takes a number"),
    ],
)
def test_pins_outside_the_support_or_of_the_wrong_type_are_errors(params, message) -> None:
    with pytest.raises(UsageError, match=message):
        evaluate(SCENARIO, params, runs=10)


def test_a_loaded_scenario_needs_no_file(scenario) -> None:
    """Pins and overrides work on a Scenario object alone (what Dask workers receive)."""
    import pickle

    params = {"kremlin_appetite": 0.7, "parameters.ukraine_retaliation.a": 4}
    shipped = pickle.loads(pickle.dumps(scenario))
    assert evaluate(shipped, params, seed=3, runs=200) == evaluate(
        SCENARIO, params, seed=3, runs=200
    )


# -- the documentation's examples ----------------------------------------------------------
DOC = ROOT / "docs" / "interop.md"
SMALL = {"EXPERIMENTS": 20, "RUNS": 60, "BASE_SAMPLES": 4, "PROCESSES": 2}
"""Sizes the examples run with here (the documentation gives the real ones)."""


def _examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("index", range(len(_examples())))
def test_docs_examples_run(index: int, tmp_path) -> None:
    code = _examples()[index]
    for name, value in SMALL.items():
        code, n = re.subn(rf"^{name} = \d+", f"{name} = {value}", code, flags=re.M)
        assert n <= 1
    assert "EXPERIMENTS = 256" not in code and "BASE_SAMPLES = 64" not in code
    script = tmp_path / f"interop_example_{index}.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.strip()
