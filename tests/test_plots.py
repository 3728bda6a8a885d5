"""Tests for the charts: the numbers each chart shows, and that every chart is drawn.

A small synthetic results folder (4 rungs, 3 outcomes, 10 days, fixed
numbers) stands in for the batch runner's output, so these tests do not
depend on the engine. Figures are built without pyplot, so no GUI backend
is touched.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from sim.errors import ResultsError
from sim.plots import (
    attribution,
    compare_table,
    draw_batch_plots,
    draw_compare_plots,
    draw_plots,
    draw_sweep_plots,
    fan_bands,
    flag_table,
    load_tables,
    occupancy,
    outcome_table,
    plot_attribution,
    plot_compare,
    plot_fan,
    plot_flags,
    plot_occupancy,
    plot_outcomes,
    plot_sweep,
    plot_time_to_event,
    sweep_curve,
    sweep_heatmap,
    time_to_event,
)
from sim.plots.data import at_or_above, rare_rungs, sweep_axes, sweep_cells
from sim.plots.style import (
    date_ticks,
    ladder_colours,
    outcome_colours,
    pct,
    save_figure,
    stagger,
)
from sim.stats import newcombe_diff, wilson
from sim.tables import FORMAT_VERSION, record_tables

TITLE = "Test crisis: will it escalate?"
FOOT = "test_crisis · 1,000 worlds · seed 7"
RUNS = 1000
LADDER = [
    {"id": "calm", "name": "Calm", "mid_level": 1, "colour": None},
    {"id": "tension", "name": "Tension", "mid_level": 2, "colour": None},
    {"id": "clash", "name": "Clash", "mid_level": 4, "colour": "#aa3300"},
    {"id": "war", "name": "War", "mid_level": 5, "colour": None},
]
RUNGS = [r["id"] for r in LADDER]
COUNTS = {"settled": 500, "standoff": 300, "war": 200}
OUTCOME_NAMES = {"settled": "Settled", "standoff": "Standoff", "war": "War"}

# Shares of worlds on each rung at the end of each of 10 days (rows sum to 1).
SHARES = {
    "calm": [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.5, 0.4, 0.4, 0.4],
    "tension": [0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.25, 0.3, 0.3, 0.25],
    "clash": [0.0, 0.0, 0.05, 0.1, 0.1, 0.15, 0.15, 0.2, 0.15, 0.2],
}
SHARES["war"] = [round(1 - sum(SHARES[r][d] for r in RUNGS[:3]), 10) for d in range(10)]
PERCENTILES = {
    "p05": [0] * 10,
    "p25": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    "p50": [0, 0, 0, 0, 0, 0.5, 1, 1, 1, 1],
    "p75": [0, 0, 1, 1, 1, 1, 1, 2, 2, 2],
    "p95": [0, 1, 2, 2, 2, 3, 3, 3, 3, 3],
}

# rule -> (actor, kind, share_fired, fired_in per outcome settled/standoff/war)
RULES = {
    "always_on": ("kremlin", "constraint", 0.95, (1.0, 1.0, 1.0)),
    "goes_to_war": ("kremlin", "preference", 0.2, (0.0, 0.1, 0.9)),
    "talks_it_down_with_a_rather_long_rule_name": ("nato", "trigger", 0.3, (0.2, 0.6, 0.3)),
    "tie_but_rarer": ("ukraine", "trigger", 0.1, (0.0, 0.4, 0.0)),
    "never": ("belarus", "trigger", 0.0, (0.0, 0.0, 0.0)),
}


def _summary() -> dict:
    outcomes = []
    for oid, k in COUNTS.items():
        lo, hi = wilson(k, RUNS)
        outcomes.append(
            {"id": oid, "name": OUTCOME_NAMES[oid], "colour": None, "count": k, "p": k / RUNS}
            | {"lo": lo, "hi": hi}
        )
    outcomes[0]["colour"] = "#2b8cbe"
    lo, hi = wilson(300, RUNS)
    return {
        "scenario": "test_crisis",
        "title": TITLE,
        "start": "2022-01-17",
        "horizon_days": 10,
        "runs": RUNS,
        "seed": 7,
        "outcomes": outcomes,
        "flags": [
            {"id": "shots", "name": "Shots fired", "count": 300, "p": 0.3, "lo": lo, "hi": hi},
            {"id": "quiet", "name": "Quiet", "count": 0, "p": 0.0, "lo": 0.0, "hi": 0.0038},
        ],
        "ladder": LADDER,
        "events": [
            {"id": "drills", "name": "drills", "kind": "scheduled"}
            | {"start_date": "2022-01-19", "end_date": "2022-01-22"},
            {"id": "ally_drills", "name": "ally drills", "kind": "scheduled"}
            | {"start_date": "2022-01-19", "end_date": "2022-01-22"},
            {"id": "vote", "name": "vote", "kind": "scheduled"}
            | {"start_date": "2022-01-24", "end_date": "2022-01-24"},
            {"id": "later", "name": "after the horizon", "kind": "scheduled"}
            | {"start_date": "2022-03-01", "end_date": "2022-03-01"},
        ],
        "key_rungs": ["clash", "war"],
        "key_flags": ["shots"],
    }


def _daily() -> pd.DataFrame:
    dates = pd.date_range("2022-01-17", periods=10, freq="D")
    df = pd.DataFrame({"day": range(10), "date": dates.strftime("%Y-%m-%d"), "worlds": RUNS})
    for r in RUNGS:
        df[f"share_{r}"] = SHARES[r]
    df["mean"] = sum(k * np.array(SHARES[r]) for k, r in enumerate(RUNGS))
    for name, values in PERCENTILES.items():
        df[name] = values
    for k, r in enumerate(RUNGS):
        above = sum(np.array(SHARES[q]) for q in RUNGS[k:])
        df[f"reached_{r}"] = np.maximum.accumulate(above)
    return df


def _rules() -> pd.DataFrame:
    rows = []
    for rule, (actor, kind, share, fired_in) in RULES.items():
        row = {"rule": rule, "actor": actor, "kind": kind, "action": "act", "cites": "c1;c2"}
        row |= {"worlds_fired": round(share * RUNS), "share_fired": share}
        for oid, f in zip(COUNTS, fired_in, strict=True):
            fired = share * RUNS
            row[f"share_{oid}"] = f * COUNTS[oid] / fired if fired else 0.0
        for oid, f in zip(COUNTS, fired_in, strict=True):
            row[f"fired_in_{oid}"] = f
        rows.append(row)
    return pd.DataFrame(rows)


def _manifest(kind: str, **extra) -> dict:
    base = {"format_version": FORMAT_VERSION, "kind": kind, "scenario": "test_crisis", "seed": 7}
    return base | extra


def _write(folder: Path, files: dict) -> Path:
    """Write the files; the manifest last, with the record of the tables as the runner does."""
    folder.mkdir(parents=True)
    for name, content in files.items():
        if isinstance(content, pd.DataFrame):
            content.to_csv(folder / name, index=False)
        elif name != "manifest.json":
            (folder / name).write_text(json.dumps(content, indent=1), encoding="utf-8")
    if "manifest.json" in files:
        manifest = files["manifest.json"] | {"tables": record_tables(folder)}
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return folder


def _points(grid: dict[str, list], shuffle: bool = False) -> pd.DataFrame:
    """A points table where p(war) = 0.1 * x (+ 0.05 * y) and p(settled) = 1 - p(war)."""
    paths = list(grid)
    combos = pd.MultiIndex.from_product(list(grid.values()), names=paths).to_frame(index=False)
    rows = []
    for i, combo in combos.iterrows():
        x = combo[paths[0]]
        y = combo[paths[1]] if len(paths) > 1 else 0
        p_war = round(0.1 * x + 0.05 * y, 6)
        row = {"point": i, **combo.to_dict(), "worlds": 200}
        for oid, p in (("settled", 1 - p_war), ("standoff", 0.0), ("war", p_war)):
            lo, hi = wilson(round(p * 200), 200)
            row |= {f"p_{oid}": p, f"lo_{oid}": lo, f"hi_{oid}": hi}
        rows.append(row)
    df = pd.DataFrame(rows)
    return df.iloc[::-1].reset_index(drop=True) if shuffle else df


def _compare() -> dict:
    def side(label: str, counts: dict[str, int]) -> dict:
        outcomes = []
        for oid, k in counts.items():
            lo, hi = wilson(k, RUNS)
            outcomes.append({"id": oid, "name": OUTCOME_NAMES[oid], "count": k, "p": k / RUNS})
            outcomes[-1] |= {"lo": lo, "hi": hi}
        return {"label": label, "scenario": "test_crisis", "title": TITLE, "runs": RUNS} | {
            "seed": 7,
            "outcomes": outcomes,
        }

    a = side("baseline", {"settled": 500, "standoff": 300, "war": 200})
    b = side("hawks", {"settled": 400, "standoff": 305, "war": 295})
    diffs = []
    for oa, ob in zip(a["outcomes"], b["outcomes"], strict=True):
        d, lo, hi = newcombe_diff(oa["count"], RUNS, ob["count"], RUNS)
        diffs.append({"id": oa["id"], "name": oa["name"], "diff": d, "lo": lo, "hi": hi})
    return {"a": a, "b": b, "diffs": diffs}


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "batch",
        {
            "manifest.json": _manifest("batch", runs=RUNS),
            "summary.json": _summary(),
            "daily.csv": _daily(),
            "rules.csv": _rules(),
        },
    )


def _sweep_summary() -> dict:
    return {k: v for k, v in _summary().items() if k in ("scenario", "title", "outcomes", "ladder")}


@pytest.fixture
def sweep1(tmp_path: Path) -> Path:
    path = "parameters.appetite.a"
    return _write(
        tmp_path / "sweep1",
        {
            "manifest.json": _manifest("sweep", vary=[path], design="grid", runs=200),
            "summary.json": _sweep_summary() | {"runs": 200, "seed": 7},
            "points.csv": _points({path: [1, 2, 3]}, shuffle=True),
        },
    )


@pytest.fixture
def sweep2(tmp_path: Path) -> Path:
    grid = {"parameters.appetite.a": [1, 2, 3], "param.restraint": [0.0, 1.0]}
    return _write(
        tmp_path / "sweep2",
        {
            "manifest.json": _manifest("sweep", vary=list(grid), design="grid", runs=200),
            "summary.json": _sweep_summary() | {"runs": 200, "seed": 7},
            "points.csv": _points(grid),
        },
    )


@pytest.fixture
def compare(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "compare",
        {"manifest.json": _manifest("compare", runs=2 * RUNS), "compare.json": _compare()},
    )


# -- loading ----------------------------------------------------------------------
def test_load_tables_reads_a_batch_folder(batch: Path) -> None:
    t = load_tables(batch)
    assert t.kind == "batch"
    assert t.summary["title"] == TITLE
    assert pd.api.types.is_datetime64_any_dtype(t.daily["date"])
    assert list(t.rules["rule"]) == list(RULES)
    assert t.points is None and t.compare is None and t.runs is None


def test_load_tables_names_what_is_missing(tmp_path: Path, batch: Path) -> None:
    with pytest.raises(ResultsError, match="no such results folder"):
        load_tables(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ResultsError, match=r"no manifest\.json"):
        load_tables(tmp_path / "empty")
    (batch / "daily.csv").unlink()
    with pytest.raises(ResultsError, match=r"daily\.csv"):
        load_tables(batch)


def test_load_tables_rejects_unknown_format_version(batch: Path) -> None:
    (batch / "manifest.json").write_text(json.dumps(_manifest("batch", format_version=9)))
    with pytest.raises(ResultsError, match="format_version 9"):
        load_tables(batch)


def test_load_tables_reports_bad_json_with_its_place(batch: Path) -> None:
    (batch / "summary.json").write_text('{"scenario": }')
    with pytest.raises(ResultsError, match=r"summary.json:1:\d+"):
        load_tables(batch)


# -- data helpers: batch ------------------------------------------------------------
def test_outcome_table_keeps_order_and_intervals() -> None:
    t = outcome_table(_summary())
    assert list(t["id"]) == list(COUNTS)
    assert list(t["severity"]) == [0, 1, 2]
    assert t["p"].tolist() == pytest.approx([0.5, 0.3, 0.2])
    lo, hi = wilson(300, RUNS)
    assert (t.loc[1, "lo"], t.loc[1, "hi"]) == pytest.approx((lo, hi))
    assert (t["lo"] <= t["p"]).all() and (t["p"] <= t["hi"]).all()


def test_flag_table_defaults_to_key_flags() -> None:
    assert list(flag_table(_summary())["id"]) == ["shots"]
    assert list(flag_table(_summary(), ["quiet", "shots"])["id"]) == ["quiet", "shots"]
    with pytest.raises(ResultsError, match="did you mean 'shots'"):
        flag_table(_summary(), ["shot"])


def test_fan_bands_equal_the_percentile_columns() -> None:
    daily = _daily()
    bands = fan_bands(daily)
    assert bands["median"].tolist() == PERCENTILES["p50"]
    assert bands["lo50"].tolist() == PERCENTILES["p25"]
    assert bands["hi50"].tolist() == PERCENTILES["p75"]
    assert bands["lo90"].tolist() == PERCENTILES["p05"]
    assert bands["hi90"].tolist() == PERCENTILES["p95"]
    assert bands["mean"].tolist() == pytest.approx(daily["mean"].tolist())
    assert bands["date"].iloc[0] == pd.Timestamp("2022-01-17")
    assert (bands["lo90"] <= bands["lo50"]).all() and (bands["hi50"] <= bands["hi90"]).all()


def test_fan_bands_names_missing_columns() -> None:
    with pytest.raises(ResultsError, match="p95"):
        fan_bands(_daily().drop(columns=["p95"]))


def test_occupancy_rows_sum_to_one_and_follow_the_ladder() -> None:
    occ = occupancy(_daily(), LADDER)
    assert list(occ.columns) == RUNGS
    assert occ.sum(axis=1).to_numpy() == pytest.approx(np.ones(10))
    assert occ["clash"].tolist() == SHARES["clash"]
    assert occ.index[3] == pd.Timestamp("2022-01-20")


def test_at_or_above_counts_the_worlds_on_each_rung_or_higher() -> None:
    # Rungs of 500 worlds on 6 days (0 = calm): the daily table holds only the share on each
    # rung; the chart's counts must be those of the worlds themselves.
    rng = np.random.default_rng(3)
    rungs = rng.integers(0, 4, size=(6, 500))
    daily = pd.DataFrame({"day": range(6), "date": pd.date_range("2022-01-17", periods=6)})
    daily["worlds"] = 500
    for k, r in enumerate(RUNGS):
        daily[f"share_{r}"] = (rungs == k).mean(axis=1)
    curves = at_or_above(daily, LADDER)
    assert curves["rung"].unique().tolist() == RUNGS[1:]  # every world is calm or above
    for k, r in enumerate(RUNGS[1:], start=1):
        part = curves[curves["rung"] == r]
        assert part["count"].tolist() == (rungs >= k).sum(axis=1).tolist()
        for row in part.itertuples():
            assert (row.lo, row.hi) == pytest.approx(wilson(row.count, 500))
    assert (curves["lo"] <= curves["p"]).all() and (curves["p"] <= curves["hi"]).all()


def test_at_or_above_needs_the_number_of_worlds() -> None:
    daily = _daily().drop(columns=["worlds"])
    assert at_or_above(daily, LADDER, worlds=RUNS)["worlds"].eq(RUNS).all()
    with pytest.raises(ResultsError, match="worlds"):
        at_or_above(daily, LADDER)


def test_rare_rungs_are_the_severe_rungs_that_stay_below_the_threshold() -> None:
    shares = occupancy(_daily(), LADDER)  # peaks: war 15%, clash 20%, tension 30%
    assert rare_rungs(shares, 0.10) == []  # war peaks above: nothing below it counts
    assert rare_rungs(shares, 0.15) == ["war"]
    assert rare_rungs(shares, 0.25) == ["clash", "war"]
    assert rare_rungs(shares, 0.30) == ["tension", "clash", "war"]
    assert "calm" not in rare_rungs(shares, 1.0)


def test_occupancy_zooms_on_rare_rungs_on_a_zero_based_scale(batch: Path) -> None:
    daily = _daily()
    daily["share_clash"] = [0.0, 0.0, 0.01, 0.02, 0.02, 0.03, 0.03, 0.04, 0.03, 0.04]
    daily["share_war"] = [0.0, 0.0, 0.0, 0.0, 0.01, 0.02, 0.05, 0.06, 0.05, 0.06]
    daily["share_calm"] = 1 - daily[["share_tension", "share_clash", "share_war"]].sum(axis=1)
    result = SimpleNamespace(summary=_summary(), daily=daily)
    fig = plot_occupancy(result)
    main, zoom = fig.axes
    assert main.get_ylim() == (0, 1)
    assert zoom.get_ylim()[0] == 0 and zoom.get_ylim()[1] == pytest.approx(0.10 * 1.15)
    assert [t.get_text() for t in zoom.get_legend().get_texts()] == ["War", "Clash"]
    assert "Calm" in [t.get_text() for t in main.texts]  # bands carry their names
    main, zoom = plot_fan(result).axes  # at or above: clash+war peak at 10%, war at 6%
    assert main.get_ylim() == (0, 1) and zoom.get_ylim()[0] == 0
    assert [t.get_text().split(":")[0] for t in zoom.get_legend().get_texts()] == [
        "War",
        "Clash or higher",
        "95% Wilson interval",
    ]
    worst = at_or_above(daily, LADDER).query("rung == 'clash'")["hi"].max()
    assert zoom.get_ylim()[1] == pytest.approx(worst * 1.15)


def test_date_ticks_mark_both_ends_and_each_year() -> None:
    ticks = date_ticks(pd.Timestamp("2022-10-10"), pd.Timestamp("2023-02-07"))
    labels = [text for _, text in ticks]
    assert labels[0] == "10 Oct\n2022" and labels[-1] == "6 Feb\n2023"
    assert "Jan\n2023" in labels  # the new year is named where it starts
    assert sum("2023" in t for t in labels) == 2 and sum("2022" in t for t in labels) == 1
    short = date_ticks(pd.Timestamp("2022-01-17"), pd.Timestamp("2022-01-27"))
    assert short[0][1] == "17 Jan\n2022" and short[-1][1] == "26 Jan\n2022"


def test_time_to_event_equals_the_reached_columns() -> None:
    daily = _daily()
    reached = time_to_event(daily, ["clash", "war"])
    assert list(reached.columns) == ["clash", "war"]
    assert reached["clash"].tolist() == daily["reached_clash"].tolist()
    assert reached["war"].tolist() == daily["reached_war"].tolist()
    assert (reached.diff().dropna() >= 0).all().all()
    assert reached["clash"].iloc[-1] == pytest.approx(0.35)


def test_attribution_orders_rules_by_influence() -> None:
    att = attribution(_rules(), _summary()["outcomes"], top=None)
    # influence: goes_to_war .9; talks .4 (fired in 30%) before tie_but_rarer .4 (10%);
    # always_on and never tell nothing (0), more often fired first.
    assert list(att.matrix.index) == [
        "goes_to_war",
        "talks_it_down_with_a_rather_long_rule_name",
        "tie_but_rarer",
        "always_on",
        "never",
    ]
    assert att.rules["influence"].tolist() == pytest.approx([0.9, 0.4, 0.4, 0.0, 0.0])
    assert list(att.matrix.columns) == list(COUNTS)
    assert att.matrix.loc["goes_to_war"].tolist() == [0.0, 0.1, 0.9]
    assert att.rules.loc["goes_to_war", "actor"] == "kremlin"


def test_attribution_keeps_the_top_rules() -> None:
    att = attribution(_rules(), _summary()["outcomes"], top=2)
    assert list(att.matrix.index) == ["goes_to_war", "talks_it_down_with_a_rather_long_rule_name"]


def test_attribution_ignores_outcomes_no_world_reached() -> None:
    outcomes = _summary()["outcomes"]
    outcomes[2]["count"] = 0  # no war: its column is empty, not evidence
    att = attribution(_rules(), outcomes, top=None)
    assert att.matrix["war"].isna().all()
    assert att.rules.loc["goes_to_war", "influence"] == pytest.approx(0.1)
    assert att.matrix.index[0] == "talks_it_down_with_a_rather_long_rule_name"


# -- data helpers: sweeps and comparisons -------------------------------------------
def test_sweep_curve_picks_the_rows_of_each_outcome_in_order() -> None:
    points = _points({"parameters.appetite.a": [1, 2, 3]}, shuffle=True)
    curve = sweep_curve(points, "parameters.appetite.a", ["war", "settled"])
    war = curve[curve["outcome"] == "war"]
    assert war["x"].tolist() == [1, 2, 3]
    assert war["p"].tolist() == pytest.approx([0.1, 0.2, 0.3])
    assert curve[curve["outcome"] == "settled"]["p"].tolist() == pytest.approx([0.9, 0.8, 0.7])
    lo, hi = wilson(40, 200)
    assert (war["lo"].iloc[1], war["hi"].iloc[1]) == pytest.approx((lo, hi))
    assert list(curve["outcome"].unique()) == ["war", "settled"]


def test_sweep_curve_accepts_a_path_suffix_and_suggests_names() -> None:
    points = _points({"parameters.appetite.a": [1, 2]})
    assert sweep_curve(points, "appetite.a", ["war"])["x"].tolist() == [1, 2]
    with pytest.raises(ResultsError, match="did you mean"):
        sweep_curve(points, "parameters.apetite.a", ["war"])


def test_sweep_curve_pools_over_other_varied_paths() -> None:
    points = _points({"parameters.appetite.a": [1, 2, 3], "param.restraint": [0.0, 1.0]})
    curve = sweep_curve(points, "parameters.appetite.a", ["war"])
    # at x=1: 0.10 and 0.15 of 200 worlds each -> (20 + 30) / 400
    assert curve["p"].tolist() == pytest.approx([50 / 400, 90 / 400, 130 / 400])
    assert curve["worlds"].tolist() == [400, 400, 400]
    assert (curve["lo"].iloc[0], curve["hi"].iloc[0]) == pytest.approx(wilson(50, 400))


def test_sweep_heatmap_is_a_grid_of_one_outcome() -> None:
    points = _points({"parameters.appetite.a": [1, 2, 3], "param.restraint": [0.0, 1.0]})
    grid = sweep_heatmap(points, "parameters.appetite.a", "param.restraint", "war")
    assert grid.shape == (2, 3)
    assert grid.columns.tolist() == [1, 2, 3] and grid.index.tolist() == [0.0, 1.0]
    assert grid.loc[1.0, 2] == pytest.approx(0.25)
    assert grid.loc[0.0, 3] == pytest.approx(0.3)


def test_sweep_cells_hold_counts_and_intervals_of_every_outcome() -> None:
    points = _points({"parameters.appetite.a": [1, 2], "param.restraint": [0.0, 1.0]})
    cells = sweep_cells(points, "appetite.a", "param.restraint", ["war", "settled"])
    war = cells[cells["outcome"] == "war"]
    assert war[["x", "y"]].values.tolist() == [[1, 0.0], [2, 0.0], [1, 1.0], [2, 1.0]]
    assert war["count"].tolist() == [20, 40, 30, 50]
    assert (war["lo"].tolist(), war["hi"].tolist()) == tuple(
        map(list, zip(*(wilson(k, 200) for k in (20, 40, 30, 50)), strict=True))
    )
    assert cells[cells["outcome"] == "settled"]["count"].tolist() == [180, 160, 170, 150]


def test_sweep_axes_name_the_parameter_and_draw_its_prior() -> None:
    from sim.scenario import load_scenario

    file = Path(__file__).parents[1] / "scenarios" / "allied_resolve_2022.yaml"
    sc = load_scenario(file, registry=None)
    manifest = {"scenario_file": str(file), "overrides": [], "sha256": sc.sha256}
    axes = sweep_axes(manifest, ["param.kremlin_appetite", "parameters.x.a"])
    appetite = axes["param.kremlin_appetite"]
    assert appetite.name == "How keen the Kremlin is on war" and appetite.pinned
    param = next(q for q in sc.parameters if q.id == "kremlin_appetite")
    assert appetite.prior is not None and len(appetite.prior) == 20_000
    assert appetite.prior.tolist() == param.sample(np.random.default_rng(0), 20_000).tolist()
    assert axes["parameters.x.a"].name == "parameters.x.a" and axes["parameters.x.a"].prior is None
    # Another scenario file than the one the sweep ran: no names, no prior.
    stale = sweep_axes(manifest | {"sha256": "0" * 64}, ["param.kremlin_appetite"])
    assert stale["param.kremlin_appetite"].prior is None
    assert stale["param.kremlin_appetite"].name == "param.kremlin_appetite"


def test_compare_table_diff_signs() -> None:
    t = compare_table(_compare()).set_index("id")
    assert t.loc["settled", "diff"] == pytest.approx(-0.1)
    assert t.loc["war", "diff"] == pytest.approx(0.095)
    assert t.loc["settled", "diff_hi"] < 0 and t.loc["war", "diff_lo"] > 0
    assert t["clear"].to_dict() == {"settled": True, "standoff": False, "war": True}
    assert t.loc["war", "p_b"] - t.loc["war", "p_a"] == pytest.approx(t.loc["war", "diff"])


# -- layout helpers ---------------------------------------------------------------
@given(
    st.lists(
        st.tuples(st.floats(0, 100), st.floats(1, 40)),
        min_size=1,
        max_size=6,
    )
)
def test_stagger_never_overlaps_labels_in_a_row(labels: list[tuple[float, float]]) -> None:
    places = stagger(sorted(labels), span=100.0)
    boxes = []
    for (x, w), (row, left) in zip(sorted(labels), places, strict=True):
        boxes.append((x - w, x, row) if left else (x, x + w, row))
    for i, (a0, a1, ra) in enumerate(boxes):
        for b0, b1, rb in boxes[i + 1 :]:
            assert ra != rb or a1 <= b0 or b1 <= a0


def test_colours_follow_severity_unless_given() -> None:
    rungs = ladder_colours(LADDER)
    assert rungs["clash"] == "#aa3300"
    assert len(set(rungs.values())) == 4
    outcomes = outcome_colours(_summary()["outcomes"])
    assert outcomes["settled"] == "#2b8cbe"
    assert outcome_colours(_summary()["outcomes"]) == outcomes


def test_pct_never_rounds_a_rare_outcome_to_zero() -> None:
    assert pct(0.0) == "0%"
    assert pct(0.0004) == "<0.1%"
    assert pct(0.1234) == "12.3%"
    assert pct(math.nan) == "–"


# -- charts -------------------------------------------------------------------------
def _texts(fig: Figure) -> str:
    return "\n".join(t.get_text() for t in fig.texts)


def _title(ax) -> str:
    """The axes title with its line breaks (titles wrap to the figure width) undone."""
    return " ".join(ax.get_title(loc="left").split())


CHARTS = [
    (plot_outcomes, "outcome probabilities", "share of worlds (%)", "outcome"),
    (plot_flags, "flags raised", "share of worlds (%)", "flag"),
    (plot_fan, "at or above each rung", "date (end of day)", "or a higher one"),
    (plot_occupancy, "each escalation rung", "date (end of day)", "share of worlds on the rung"),
    (plot_time_to_event, "reached each key rung", "date (end of day)", "reached the rung"),
    (plot_attribution, "each rule fired", "outcome at the horizon", "rule (actor)"),
]


@pytest.mark.parametrize(("draw", "what", "xlabel", "ylabel"), CHARTS)
def test_batch_charts_are_labelled(batch: Path, draw, what, xlabel, ylabel) -> None:
    fig = draw(batch)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    title = _title(ax)
    assert what in title and TITLE in title
    assert xlabel in ax.get_xlabel() and ylabel in ax.get_ylabel()
    assert FOOT in _texts(fig)


def test_charts_accept_a_result_object_and_an_axes(batch: Path) -> None:
    t = load_tables(batch)
    result = SimpleNamespace(
        summary=t.summary, daily=pd.read_csv(batch / "daily.csv"), rules=t.rules, manifest={}
    )
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_occupancy(result, ax=ax) is fig
    assert len(fig.axes) == 1 and "escalation rung" in _title(ax)
    assert not fig.texts  # the caller's figure gets no footnote


def test_fan_draws_one_curve_per_rung_above_the_calmest_and_marks_events(batch: Path) -> None:
    ax = plot_fan(batch).axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [
        "War: 15.0% on 26 Jan",
        "Clash or higher: 35.0% on 26 Jan",
        "Tension or higher: 60.0% on 26 Jan",
        "95% Wilson interval",
    ]
    assert ax.get_ylim() == (0, 1)
    labels = [t.get_text() for t in ax.texts]
    assert "Drills / Ally drills" in labels and "Vote" in labels
    assert "After the horizon" not in labels  # outside the time axis


def test_time_to_event_legend_gives_final_shares(batch: Path) -> None:
    ax = plot_time_to_event(batch).axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Clash: 35.0% by 26 Jan", "War: 15.0% by 26 Jan"]


def test_attribution_annotates_percentages(batch: Path) -> None:
    ax = plot_attribution(batch).axes[0]
    cells = [t.get_text() for t in ax.texts]
    assert cells[:4] == ["20%", "0%", "10%", "90%"]  # goes_to_war: all worlds, then outcomes
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows[0] == "goes_to_war (kremlin)"


def test_sweep_chart_with_one_path(sweep1: Path) -> None:
    fig = plot_sweep(sweep1)
    ax = fig.axes[0]
    assert "Outcome probabilities as “parameters.appetite.a” varies" in _title(ax)
    assert ax.get_xlabel().startswith("parameters.appetite.a")  # no scenario file: the path
    assert ax.get_ylabel() == "share of worlds (%)"
    assert len(ax.get_lines()) == 3
    assert "3 design points × 200 worlds each · seed 7 · grid design" in _texts(fig)


def test_sweep_chart_with_two_paths(sweep2: Path) -> None:
    fig = plot_sweep(sweep2)
    panels = [a for a in fig.axes if a.images]
    assert [a.get_title(loc="left") for a in panels] == ["Settled", "Standoff", "War"]
    # One colour scale for every panel, 0 to 100%, and not the severity palette.
    assert {im.get_clim() for a in panels for im in a.images} == {(0.0, 1.0)}
    assert {im.get_cmap().name for a in panels for im in a.images} == {"Blues"}
    assert len(fig.axes) == len(panels) + 1  # a single colour bar
    war = panels[2]
    assert war.get_xlabel() == "parameters.appetite.a" and war.get_ylabel() == ""
    assert panels[0].get_ylabel() == "param.restraint"
    cells = [t.get_text() for t in war.texts]
    lo, hi = wilson(20, 200)
    assert cells[0] == f"10%\n{pct(lo, 0)}–{pct(hi, 0)}"  # share, then its Wilson interval
    assert [c.split("\n")[0] for c in cells] == ["10%", "20%", "30%", "15%", "25%", "35%"]
    assert "x: parameters.appetite.a, y: param.restraint." in _texts(fig)
    alone = plot_sweep(sweep2, outcome="settled")
    assert [a.get_title(loc="left") for a in alone.axes if a.images] == ["Settled"]
    with pytest.raises(ResultsError, match="unknown outcome"):
        plot_sweep(sweep2, outcome="peace")


def test_sweep_chart_of_a_latin_hypercube_labels_each_dot_on_the_shared_scale(
    tmp_path: Path,
) -> None:
    points = _points({"parameters.appetite.a": [1, 2, 3], "param.restraint": [0.0, 1.0]})
    points = points.iloc[[0, 3, 5]].reset_index(drop=True)  # three points, not a grid
    folder = _write(
        tmp_path / "lhs",
        {
            "manifest.json": _manifest("sweep", vary=list(points.columns[1:3]), design="lhs"),
            "summary.json": _sweep_summary() | {"runs": 200, "seed": 7},
            "points.csv": points,
        },
    )
    fig = plot_sweep(folder)
    panels = [a for a in fig.axes if a.get_title(loc="left")]
    assert len(panels) == 3 and not any(a.images for a in panels)
    assert {c.get_clim() for a in panels for c in a.collections} == {(0.0, 1.0)}
    lo, hi = wilson(20, 200)
    war = [t.get_text() for t in panels[2].texts]
    assert war == [f"10% ({pct(lo, 0)}–{pct(hi, 0)})", "25% (20%–31%)", "35% (29%–42%)"]


def test_compare_chart(compare: Path) -> None:
    fig = plot_compare(compare)
    bars, diffs = fig.axes[1], fig.axes[2]
    assert "B against A" in fig.get_suptitle()
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[:2] == [f"A: {TITLE} (as written)", f"B: {TITLE} (as written)"]
    assert bars.get_xlabel() == "share of worlds (%)"
    assert diffs.get_xlabel() == "difference B − A (percentage points)"
    assert any(line.get_xdata()[0] == 0 for line in diffs.get_lines())  # zero line
    assert "−10.0 pp" in "\n".join(t.get_text() for t in diffs.texts)
    assert "A = baseline: test_crisis" in _texts(fig)


def _one_sided_compare() -> dict:
    """A comparison where A has no "standoff" outcome and B has an extra, severe "nuclear"."""
    cmp = _compare()
    cmp["a"]["outcomes"] = [o for o in cmp["a"]["outcomes"] if o["id"] != "standoff"]
    lo, hi = wilson(5, RUNS)
    nuclear = {"id": "nuclear", "name": "Nuclear", "count": 5, "p": 0.005, "lo": lo, "hi": hi}
    cmp["b"]["outcomes"].append(nuclear)
    cmp["diffs"] = [d for d in cmp["diffs"] if d["id"] != "standoff"]
    return cmp


def test_compare_table_marks_outcomes_of_one_side_and_keeps_severity_order() -> None:
    table = compare_table(_one_sided_compare()).set_index("id")
    assert table.index.tolist() == ["settled", "standoff", "war", "nuclear"]
    assert table["only"].tolist() == ["", "b", "", "b"]
    assert math.isnan(table.loc["standoff", "p_a"]) and table.loc["standoff", "p_b"] == 0.305
    assert math.isnan(table.loc["nuclear", "diff"]) and not table.loc["nuclear", "clear"]


def test_compare_chart_never_draws_a_missing_side_as_zero() -> None:
    fig = plot_compare(_one_sided_compare())
    bars, diffs = fig.axes[1], fig.axes[2]
    widths = sorted(round(b.get_width(), 3) for b in bars.patches)
    assert len(bars.patches) == 2 + 4  # A's two outcomes, B's four: no bar for the missing ones
    assert 0.0 not in widths
    assert [t.get_text() for t in bars.texts].count("not in A") == 2
    marks = [t.get_text() for t in diffs.texts]
    assert marks.count("only in B") == 2 and marks.count("not compared") == 2
    dots = [c.get_offsets() for c in diffs.collections if isinstance(c, PathCollection)]
    shown = np.concatenate(dots)[:, 0]
    assert np.isfinite(shown).sum() == 2  # differences only where both sides have the outcome


def test_svg_keeps_text_as_text(batch: Path, tmp_path: Path) -> None:
    (svg,) = save_figure(plot_outcomes(batch), tmp_path, "outcomes", formats=("svg",))
    text = svg.read_text(encoding="utf-8")
    assert "<text" in text and "De-escalation" not in text
    assert "Settled" in text and TITLE.split(":")[0] in text


# -- drivers ------------------------------------------------------------------------
def _assert_images(paths: list[Path], folder: Path, stems: list[str]) -> None:
    expected = [folder / "plots" / f"{s}.{ext}" for s in stems for ext in ("png", "svg")]
    assert paths == expected
    for p in paths:
        head = p.read_bytes()[:8]
        assert head.startswith(b"\x89PNG") if p.suffix == ".png" else b"<?xml" in head


def test_draw_batch_plots_writes_png_and_svg(batch: Path) -> None:
    paths = draw_batch_plots(batch)
    stems = ["outcomes", "flags", "fan", "occupancy", "time_to_event", "attribution"]
    _assert_images(paths, batch, stems)


def test_draw_sweep_plots_one_and_two_paths(sweep1: Path, sweep2: Path) -> None:
    _assert_images(draw_sweep_plots(sweep1), sweep1, ["sweep"])
    _assert_images(draw_sweep_plots(sweep2), sweep2, ["sweep"])  # every outcome, one figure


def test_draw_compare_plots(compare: Path) -> None:
    _assert_images(draw_compare_plots(compare), compare, ["compare"])


def test_draw_plots_dispatches_on_kind(compare: Path) -> None:
    assert [p.name for p in draw_plots(compare)] == ["compare.png", "compare.svg"]


def test_svg_output_is_reproducible(batch: Path, tmp_path: Path) -> None:
    first = save_figure(plot_fan(batch), tmp_path / "one", "fan", formats=("svg",))
    second = save_figure(plot_fan(batch), tmp_path / "two", "fan", formats=("svg",))
    assert first[0].read_bytes() == second[0].read_bytes()


SPARK = """
    scenario: {name: spark, title: Spark, start: 2022-01-01, horizon_days: 30, seed: 1}
    ladder:
      calm: {name: Calm, mid_level: 1}
      war: {name: War, mid_level: 5}
    events:
      spark: {hazard: 0.05, escalate_to: war, cites: [kremlin-appetite-decides]}
    actors:
      a: {name: A, actions: {wait: {default: true}}}
    flags:
      at_war: {name: At war, when: peak >= rungs.war}
    outcomes:
      quiet: {name: Quiet}
      war: {name: War, when: peak >= rungs.war}
"""


def test_a_scenario_without_rules_or_parameters_gets_its_charts_and_report(
    write_scenario, tmp_path: Path
) -> None:
    """No rules: rules.csv keeps its header; no drawn parameter: no drivers charts, no failure."""
    from sim.cli import main

    out = tmp_path / "out"
    assert main(["batch", str(write_scenario(SPARK)), "--runs", "200", "--out", str(out)]) == 0
    header = (out / "rules.csv").read_text(encoding="utf-8").splitlines()
    assert header == [
        "rule,actor,kind,action,cites,worlds_fired,share_fired,"
        "share_quiet,share_war,fired_in_quiet,fired_in_war"
    ]
    assert (out / "report.html").is_file()
    stems = {p.stem for p in (out / "plots").glob("*.png")}
    assert {"outcomes", "flags", "fan", "attribution"} <= stems
    assert not stems & {"drivers_tornado", "drivers_dependence"}
