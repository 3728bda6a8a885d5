"""Comparing two batches: differences p_B - p_A with Newcombe intervals."""

from __future__ import annotations

import json

import pytest
from conftest import DEFAULT_SCENARIO

import sim
from sim.batch.compare import compare, differences
from sim.errors import ResultsError, UsageError
from sim.results.reader import side_by_side
from sim.stats import newcombe_diff

SCENARIO = DEFAULT_SCENARIO
QUIET = {"progress": False}


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("cmp")
    a = sim.run_batch(SCENARIO, runs=800, seed=1, out=root / "a", **QUIET)
    b = sim.run_batch(
        SCENARIO, runs=800, seed=1, out=root / "b", pinned={"kremlin_appetite": 0.9}, **QUIET
    )
    return root, a, b


def test_compare_two_folders(pair):
    root, a, b = pair
    res = compare(a.folder, b.folder, out=root / "c", **QUIET)
    doc = json.loads((res.folder / "compare.json").read_text())
    assert res.manifest["kind"] == "compare"
    assert doc["a"]["runs"] == doc["b"]["runs"] == 800
    diffs = {d["id"]: d for d in doc["diffs"]}
    for o_a, o_b in zip(a.summary["outcomes"], b.summary["outcomes"], strict=True):
        d = diffs[o_a["id"]]
        expected = newcombe_diff(o_a["count"], 800, o_b["count"], 800)
        assert (d["diff"], d["lo"], d["hi"]) == pytest.approx(expected)
        assert d["diff"] == pytest.approx(o_b["p"] - o_a["p"])
    # A high appetite for war makes war from Belarus clearly more likely.
    war = diffs["staging_area_war"]
    assert war["diff"] > 0 and war["lo"] > 0
    table = res.table()
    assert list(table["id"]) == [o["id"] for o in a.summary["outcomes"]]
    assert {"p_a", "p_b", "diff", "diff_lo", "diff_hi"} <= set(table.columns)


def test_compare_scenario_files_use_same_seed(tmp_path):
    res = compare(SCENARIO, SCENARIO, runs=300, seed=9, results_root=tmp_path, **QUIET)
    doc = res.compare
    assert doc["a"]["seed"] == doc["b"]["seed"] == 9
    assert all(d["diff"] == 0 for d in doc["diffs"])  # same scenario, same seed
    assert res.folder.parent == tmp_path / "compare"


def test_differences_only_for_ids_on_both_sides():
    a = [{"id": "x", "name": "X", "count": 5}, {"id": "z", "name": "Z", "count": 1}]
    b = [{"id": "y", "name": "Y", "count": 2}, {"id": "z", "name": "Z", "count": 3}]
    rows = differences(a, 10, b, 10)
    assert [r["id"] for r in rows] == ["z"]
    assert rows[0]["diff"] == pytest.approx(0.2)
    doc = {"a": {"outcomes": a}, "b": {"outcomes": b}, "diffs": rows}
    table = side_by_side(doc)
    assert [r["id"] for r in table] == ["x", "z", "y"]
    assert table[0]["diff"] is None and table[0]["p_b"] is None
    assert table[1]["diff"] == pytest.approx(0.2)


def test_compare_errors(pair, tmp_path):
    _, a, _ = pair
    with pytest.raises(UsageError, match="neither a results folder nor a scenario file"):
        compare(a.folder, tmp_path / "missing.yaml", results_root=tmp_path, **QUIET)
    with pytest.raises(ResultsError, match="not a results folder"):
        compare(tmp_path, a.folder, results_root=tmp_path, **QUIET)
    with pytest.raises(UsageError, match="leave out --runs"):
        compare(a.folder, a.folder, runs=5, results_root=tmp_path, **QUIET)
