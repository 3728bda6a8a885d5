"""Sweeps: ``--vary`` parsing, designs, and the sweep folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DEFAULT_SCENARIO
from hypothesis import given
from hypothesis import strategies as st

import sim
from sim.batch import rerun_world
from sim.batch.sweep import (
    Vary,
    as_varies,
    design_points,
    parse_vary,
    point_settings,
    with_types,
)
from sim.errors import UsageError, ValidationError

SCENARIO = DEFAULT_SCENARIO
QUIET = {"progress": False}


# -- parsing -------------------------------------------------------------------------
def test_parse_list():
    v = parse_vary("parameters.kremlin_appetite.a=1,2.5,true,only_if_attacked")
    assert v.path == "parameters.kremlin_appetite.a"
    assert v.values == (1, 2.5, True, "only_if_attacked")
    assert v.grid() == [1, 2.5, True, "only_if_attacked"]


def test_parse_range_inclusive():
    v = parse_vary("param.kremlin_appetite=0.1:0.5:5")
    assert v.pins
    assert v.grid() == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])
    assert v.grid()[-1] == 0.5  # the end is exact
    assert parse_vary("x.y=10:20:3").grid() == [10.0, 15.0, 20.0]
    assert parse_vary("x.y=0.3:0.9:1").grid() == [0.3]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nonsense", "expected PATH=VALUES"),
        ("=1,2", "expected PATH=VALUES"),
        ("a..b=1", "empty part"),
        ("a.b=", "no values"),
        ("a.b=1,,2", "empty value"),
        ("a.b=1:2:3:4", "lo:hi:n"),
        ("a.b=x:2:3", "must be a number"),
        ("a.b=0:1:0", "whole number >= 1"),
        ("a.b=0:1:2.5", "whole number >= 1"),
        ("a.b=0:inf:3", "finite"),
        ("a.b={x},2", "not a single value"),
    ],
)
def test_parse_errors_are_usage_errors(text, message):
    with pytest.raises(UsageError, match=message):
        parse_vary(text)


@given(st.lists(st.integers(-1000, 1000), min_size=1, max_size=6))
def test_list_round_trip(values):
    v = parse_vary("a.b=" + ",".join(map(str, values)))
    assert list(v.values) == values
    assert parse_vary(v.text()) == v


@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.integers(1, 50),
)
def test_range_has_n_points_from_lo_to_hi(lo, hi, n):
    v = parse_vary(f"a.b={lo!r}:{hi!r}:{n}")
    grid = v.grid()
    assert len(grid) == n
    assert grid[0] == lo
    if n > 1:
        assert grid[-1] == hi


def test_duplicate_paths_rejected():
    with pytest.raises(UsageError, match="more than once"):
        as_varies(["a.b=1,2", "a.b=3"])
    with pytest.raises(UsageError, match="at least one"):
        as_varies([])


def test_ranges_of_whole_number_targets_are_rounded():
    sc = sim.load_scenario(SCENARIO)
    varies = with_types(
        as_varies(
            [
                "scenario.horizon_days=40:80:3",
                "param.russian_troops=10000:30000:4",
                "param.kremlin_appetite=0:1:3",
                "parameters.kremlin_appetite.a=1:5:2",
            ]
        ),
        sc,
    )
    assert [v.integer for v in varies] == [True, True, False, True]
    assert varies[0].grid() == [40, 60, 80]
    assert varies[1].grid() == [10000, 16667, 23333, 30000]
    assert varies[2].grid() == [0.0, 0.5, 1.0]


def test_mapping_form():
    varies = as_varies({"a.b": [1, 2], "param.x": "0:1:3"})
    assert [v.path for v in varies] == ["a.b", "param.x"]
    assert varies[1].grid() == [0.0, 0.5, 1.0]


def test_point_settings():
    overrides, pins = point_settings({"parameters.x.a": 2.5, "param.y": "w", "s.flag": True})
    assert overrides == ["parameters.x.a=2.5", "s.flag=true"]
    assert pins == {"y": "w"}


# -- designs ---------------------------------------------------------------------
def test_grid_has_every_combination():
    varies = as_varies(["a.b=1,2,3", "param.x=0:1:4"])
    points = design_points(varies, "grid")
    assert len(points) == 12
    assert points[0] == {"a.b": 1, "param.x": 0.0}
    assert points[1] == {"a.b": 1, "param.x": pytest.approx(1 / 3)}  # last path varies fastest


def test_lhs_has_samples_points_in_range_and_is_seeded():
    varies = as_varies(["a.b=0.2:0.6", "param.x=red,green,blue"])
    points = design_points(varies, "lhs", samples=9, seed=4)
    assert len(points) == 9
    assert all(0.2 <= p["a.b"] <= 0.6 for p in points)
    assert sorted(p["param.x"] for p in points).count("red") == 3  # one stratum per third
    assert points == design_points(varies, "lhs", samples=9, seed=4)
    assert points != design_points(varies, "lhs", samples=9, seed=5)
    # Latin hypercube: each ninth of the range holds exactly one sample.
    bins = sorted(int((p["a.b"] - 0.2) / 0.4 * 9) for p in points)
    assert bins == list(range(9))


def test_design_errors():
    varies = as_varies(["a.b=0:1"])
    with pytest.raises(UsageError, match="number of points"):
        design_points(varies, "grid")
    with pytest.raises(UsageError, match="--samples"):
        design_points(varies, "lhs")
    with pytest.raises(UsageError, match="lhs only"):
        design_points(as_varies(["a.b=1,2"]), "grid", samples=3)
    with pytest.raises(UsageError, match="unknown design"):
        design_points(varies, "sobol", samples=3)


def test_too_many_design_points_are_refused_before_any_is_made(monkeypatch):
    made = []
    monkeypatch.setattr(Vary, "grid", lambda self: made.append(self) or [0.0])
    grid = as_varies(["param.x=0:1:200", "param.y=0:1:100"])
    with pytest.raises(UsageError, match=r"the grid 200 x 100 makes 20,000 design points; the "
                       r"limit is 10,000 design points: vary fewer values, or raise it with "
                       r"WARGAME_MAX_POINTS=20000"):  # fmt: skip
        design_points(grid, "grid")
    assert made == []
    with pytest.raises(UsageError, match="--samples 10,001 makes 10,001 design points"):
        design_points(as_varies(["param.x=0:1"]), "lhs", samples=10_001)
    monkeypatch.setenv("WARGAME_MAX_POINTS", "20000")
    assert len(design_points(grid, "grid")) == 1  # each grid() is faked to one value
    assert len(made) == 2


# -- running ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return sim.run_sweep(
        SCENARIO,
        vary={"param.kremlin_appetite": [0.1, 0.9], "parameters.withdrawal_rate.high": "0.1:0.2:2"},
        runs=250,
        seed=2,
        out=tmp_path_factory.mktemp("sweep") / "s",
        **QUIET,
    )


def test_sweep_folder(sweep):
    assert sweep.manifest["kind"] == "sweep"
    assert sweep.manifest["points"] == 4 and sweep.manifest["worlds"] == 1000
    assert sweep.varied == ["param.kremlin_appetite", "parameters.withdrawal_rate.high"]
    pts = sweep.points
    assert list(pts["point"]) == [0, 1, 2, 3]
    assert list(pts["param.kremlin_appetite"]) == [0.1, 0.1, 0.9, 0.9]
    assert set(pts["worlds"]) == {250}
    outcome_ids = [o["id"] for o in sweep.summary["outcomes"]]
    for o in outcome_ids:
        assert {f"p_{o}", f"lo_{o}", f"hi_{o}"} <= set(pts.columns)
    assert pts[[f"p_{o}" for o in outcome_ids]].sum(axis=1).round(12).eq(1).all()
    # The Kremlin's appetite drives war from Belarus.
    assert (pts["p_staging_area_war"][2:] > pts["p_staging_area_war"][:2].max()).all()


def test_sweep_runs_table(sweep):
    runs = sweep.runs
    assert len(runs) == 1000
    assert list(runs.groupby("point").size()) == [250] * 4
    assert set(runs[runs["point"] == 0]["param_kremlin_appetite"]) == {0.1}
    assert "--vary param.kremlin_appetite=0.1,0.9" in sweep.manifest["command"]


def test_sweep_rerun_world(sweep):
    world = 2 * 250 + 17
    replay = rerun_world(sweep.folder, world)
    assert replay.point == 2 and replay.index == 17
    assert replay.outcome == sweep.runs.loc[world, "outcome"]
    assert replay.model.world.params["kremlin_appetite"][17] == 0.9


def test_lhs_sweep_point_count(tmp_path):
    res = sim.run_sweep(
        SCENARIO,
        vary=["param.kremlin_appetite=0.1:0.9"],
        design="lhs",
        samples=3,
        runs=50,
        out=tmp_path / "lhs",
        runs_table=False,
        **QUIET,
    )
    assert len(res.points) == 3
    assert not (res.folder / "runs.csv").exists()


def test_sweep_input_errors(tmp_path):
    with pytest.raises(UsageError, match="did you mean 'kremlin_appetite'"):
        sim.run_sweep(SCENARIO, vary=["param.kremlin_apetite=0.1,0.2"], runs=10, **QUIET)
    with pytest.raises(UsageError, match="takes one of"):
        sim.run_sweep(SCENARIO, vary=["param.lukashenka_doctrine=0.1"], runs=10, **QUIET)
    with pytest.raises(ValidationError):
        sim.run_sweep(SCENARIO, vary=["parameters.nope.a=1,2"], runs=10, **QUIET)
    assert not list(Path.cwd().glob("results/allied_resolve_2022/.tmp-*"))


def test_vary_object_json_round_trip():
    for v in as_varies(["a.b=1:5:3", "c.d=x,y", "e.f=0.5:1"]):
        assert Vary.from_json(v.as_json()) == v
