"""Reducing a chunk to counts, and the tables built from them."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DEFAULT_SCENARIO

from sim.batch.seeding import chunk_seed
from sim.engine.model import WargameModel
from sim.results.aggregate import Counts, daily_table, rules_table, summarise_chunk, summary_dict
from sim.scenario import load_scenario

SCENARIO = DEFAULT_SCENARIO
R = 1500


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(SCENARIO)


@pytest.fixture(scope="module")
def model(scenario):
    return WargameModel(scenario, replicates=R, collect=False, rng=chunk_seed(11, 0, 0)).run()


@pytest.fixture(scope="module")
def chunk(model):
    return summarise_chunk(model, point=0, chunk=0, first_world=100)


def test_outcome_and_flag_counts(model, chunk, scenario):
    c = chunk.counts
    assert c.n == R
    assert c.outcomes.sum() == R
    np.testing.assert_array_equal(
        c.outcomes, np.bincount(model.outcome, minlength=len(scenario.outcomes))
    )
    np.testing.assert_array_equal(c.flags, model.flags.sum(axis=1))


def test_occupancy_is_the_rung_track(model, chunk):
    occ = chunk.counts.occupancy
    assert (occ.sum(axis=1) == R).all()
    for day in (0, 20, 69):
        expected = np.bincount(model.rung_track[day], minlength=occ.shape[1])
        np.testing.assert_array_equal(occ[day], expected)


def test_reached_by_day_brute_force(model, chunk, scenario):
    first = model.world.first_day
    reached = chunk.counts.reached
    K = len(scenario.ladder)
    for day in (0, 10, 35, 69):
        for k in range(K):
            ok = ((first[k:] >= 0) & (first[k:] <= day)).any(axis=0)
            assert reached[day, k] == ok.sum(), (day, k)
    assert (np.diff(reached, axis=0) >= 0).all()  # never decreases over time
    assert (np.diff(reached, axis=1) <= 0).all()  # fewer worlds reach higher rungs
    assert (reached[:, 0] == R).all()
    peak = model.world.peak
    for k in range(K):
        assert reached[-1, k] == (peak >= k).sum()


def test_first_day_histograms(model, chunk, scenario):
    first = model.world.first_day
    for k in range(len(scenario.ladder)):
        hist = chunk.counts.first_day[k]
        assert hist.sum() == (first[k] >= 0).sum()
        if hist.sum():
            assert np.nonzero(hist)[0].min() == first[k][first[k] >= 0].min()


def test_rules_by_outcome(model, chunk, scenario):
    c = chunk.counts
    np.testing.assert_array_equal(c.rules_by_outcome.sum(axis=1), c.rules)
    np.testing.assert_array_equal(c.rules, model.world.rule_fired.sum(axis=1))
    fired = model.world.rule_fired
    for o in scenario.outcomes:
        in_o = model.outcome == o.index
        np.testing.assert_array_equal(c.rules_by_outcome[:, o.index], (fired & in_o).sum(axis=1))
    assert c.rules_by_outcome.dtype == np.int64


def test_rows(model, chunk, scenario):
    rows = chunk.rows
    assert len(rows) == R
    assert rows["world"][0] == 100 and rows["world"][-1] == 100 + R - 1
    np.testing.assert_array_equal(rows["index_in_chunk"], np.arange(R))
    np.testing.assert_array_equal(rows["outcome"], model.outcome)
    np.testing.assert_array_equal(rows["peak"], model.world.peak)
    for p in scenario.parameters:
        np.testing.assert_array_equal(rows[f"param_{p.id}"], model.world.params[p.id])


def test_no_rows_when_switched_off(model):
    assert summarise_chunk(model, 0, 0, 0, rows=False).rows is None


def test_counts_add_up(chunk, scenario):
    total = Counts.zeros(scenario).add(chunk.counts).add(chunk.counts)
    assert total.n == 2 * R
    np.testing.assert_array_equal(total.occupancy, 2 * chunk.counts.occupancy)


def test_daily_table(chunk, scenario):
    daily = daily_table(scenario, chunk.counts)
    assert len(daily) == scenario.horizon_days
    shares = daily[[f"share_{r.id}" for r in scenario.ladder]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0)
    assert daily["date"].iloc[0] == scenario.start.isoformat()
    assert (daily["p05"] <= daily["p50"]).all() and (daily["p50"] <= daily["p95"]).all()
    assert (daily["reached_standoff"] == 1.0).all()
    assert list(daily.columns[:3]) == ["day", "date", "worlds"]


def test_rules_table(chunk, scenario):
    rules = rules_table(scenario, chunk.counts)
    assert list(rules["rule"]) == [r.id for r in scenario.rules]
    fired = rules[rules["worlds_fired"] > 0]
    shares = fired[[f"share_{o.id}" for o in scenario.outcomes]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0)


def test_summary(chunk, scenario):
    s = summary_dict(scenario, chunk.counts, seed=11)
    assert s["runs"] == R and s["seed"] == 11
    assert sum(o["count"] for o in s["outcomes"]) == R
    for o in s["outcomes"]:
        assert o["lo"] <= o["p"] <= o["hi"]
    assert set(s["median_first_day"]) == set(scenario.key_rungs)
    assert all(e["start_date"] <= e["end_date"] for e in s["events"])
