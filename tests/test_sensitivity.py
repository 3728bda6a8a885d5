"""``wargame sensitivity``: Sobol and Morris indices on toys with known answers, the folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.cli import main
from sim.cli import sensitivity as cli_sensitivity
from sim.errors import ResultsError, UsageError
from sim.plots.sensitivity import draw_sensitivity_plots, sensitivity_bars
from sim.results.reader import SensitivityResult, load_results
from sim.scenario import load_scenario
from sim.sensitivity import (
    DEFAULT_N,
    DEFAULT_RUNS,
    choose_outputs,
    ranking_notes,
    run_sensitivity,
)

# War (and the flag) depend on p1 alone: the Kremlin attacks, with a daily
# chance, only in worlds where p1 > 0.5. p2, p3 (a choice) and p4 (whole
# numbers) are drawn and read by nothing. p2's bounds are ones that SALib's
# scaling overshoots by a rounding error (0.002 + 1 * 0.018 > 0.02).
TOY = """
scenario: {name: toy, title: Toy, start: 2022-01-01, horizon_days: 10, seed: 1}
ladder:
  calm: {name: Calm, mid_level: 1}
  war: {name: War, mid_level: 5}
outcomes:
  quiet: {name: Quiet}
  war: {name: War, when: peak >= rungs.war}
flags:
  struck: {name: Struck, when: struck}
state:
  struck: {type: bool, initial: false}
parameters:
  p1:
    dist: uniform
    low: 0.0
    high: 1.0
    description: "The deciding share: above one half, war may come."
    cites: [kremlin-appetite-decides]
  p2: {dist: uniform, low: 0.002, high: 0.02, cites: [kremlin-appetite-decides]}
  p3: {dist: choice, options: {a: 0.5, b: 0.5}, cites: [kremlin-appetite-decides]}
  p4: {dist: uniform, low: 1, high: 5, integer: true, cites: [kremlin-appetite-decides]}
actors:
  a:
    name: A
    actions:
      wait: {default: true}
      attack: {once: true, escalate_to: war, effects: {struck: true}}
    rules:
      go: {kind: trigger, action: attack, when: p1 > 0.5, prob: 0.3,
           cites: [kremlin-appetite-decides]}
"""

RUNS = 100
OTHERS = ("p2", "p3", "p4")


@pytest.fixture
def toy(write_scenario) -> Path:
    return write_scenario(TOY, "toy.yaml")


def _indices(result: SensitivityResult, output: str) -> dict[str, dict]:
    table = result.indices
    return {r["parameter"]: r for r in table[table["output"] == output].to_dict("records")}


def _near_zero(value: float, conf: float, bound: float = 0.02) -> bool:
    """An index indistinguishable from 0: its interval holds 0, or it is below ``bound``."""
    return abs(value) <= bound or value - conf <= 0 <= value + conf


def test_sobol_gives_the_deciding_parameter_all_the_variance(toy, tmp_path) -> None:
    res = run_sensitivity(toy, "sobol", n=32, runs=RUNS, seed=3, out=tmp_path / "s", progress=False)
    assert res.summary["points"] == 32 * (4 + 2)
    for output in ("war", "quiet", "struck"):
        idx = _indices(res, output)
        assert idx["p1"]["ST"] > 0.9 and idx["p1"]["S1"] > 0.9
        assert idx["p1"]["ST"] - idx["p1"]["ST_conf"] > max(idx[p]["ST"] for p in OTHERS)
        for p in OTHERS:
            assert _near_zero(idx[p]["ST"], idx[p]["ST_conf"]), (output, p, idx[p])
            assert _near_zero(idx[p]["S1"], idx[p]["S1_conf"]), (output, p, idx[p])
    # rows of each output are ranked by ST, named as the scenario describes them
    war = res.indices[res.indices["output"] == "war"]
    assert war["parameter"].iloc[0] == "p1"
    assert war["parameter_name"].iloc[0] == "The deciding share"
    assert list(war["ST"]) == sorted(war["ST"], reverse=True)


def test_morris_ranks_the_deciding_parameter_first(toy, tmp_path) -> None:
    res = run_sensitivity(
        toy, "morris", n=10, runs=RUNS, seed=3, out=tmp_path / "m", progress=False
    )
    assert res.summary["points"] == 10 * (4 + 1)
    idx = _indices(res, "war")
    assert idx["p1"]["mu_star"] > 0.3
    for p in OTHERS:
        assert idx[p]["mu_star"] < 0.02 and idx[p]["sigma"] < 0.02
        assert idx["p1"]["mu_star"] - idx["p1"]["mu_star_conf"] > idx[p]["mu_star"]


def test_every_design_point_runs_the_same_worlds(toy, tmp_path) -> None:
    """Common random numbers: the war share is a function of p1's side of 0.5 alone."""
    res = run_sensitivity(toy, "sobol", n=16, runs=RUNS, seed=3, out=tmp_path / "s", progress=False)
    points = res.points
    above = points[points["param_p1"] > 0.5]
    below = points[points["param_p1"] <= 0.5]
    assert len(above) and len(below)
    assert above["p_war"].nunique() == 1 and 0.9 < above["p_war"].iloc[0] < 1.0
    assert set(below["p_war"]) == {0.0}
    assert set(points["worlds"]) == {RUNS}
    # the choice and whole-number factors took their own values
    assert set(points["param_p3"]) == {"a", "b"} and set(points["param_p4"]) <= {1, 2, 3, 4, 5}


def test_same_seed_same_bytes_and_the_folder_reads_back(toy, tmp_path) -> None:
    a = run_sensitivity(toy, "sobol", n=16, runs=RUNS, seed=9, out=tmp_path / "a", progress=False)
    b = run_sensitivity(
        toy, "sobol", n=16, runs=RUNS, seed=9, out=tmp_path / "b", workers=2, progress=False
    )
    for table in ("indices.csv", "points.csv"):
        assert (a.folder / table).read_bytes() == (b.folder / table).read_bytes()
    c = run_sensitivity(toy, "sobol", n=16, runs=RUNS, seed=10, out=tmp_path / "c", progress=False)
    assert (a.folder / "points.csv").read_bytes() != (c.folder / "points.csv").read_bytes()

    back = load_results(a.folder)
    assert isinstance(back, SensitivityResult) and back.kind == "sensitivity"
    assert back.manifest["tables"]["indices.csv"]["rows"] == 3 * 4
    assert back.manifest["tables"]["points.csv"]["rows"] == 16 * 6
    assert back.manifest["command"].startswith("wargame sensitivity ")
    assert back.indices.equals(a.indices)
    with (a.folder / "indices.csv").open("a", encoding="utf-8") as f:
        f.write("war,War,p9,p9,0,0,0,0\n")
    with pytest.raises(ResultsError, match=r"indices\.csv"):
        load_results(a.folder)


def test_outputs_chosen_and_unknown(toy) -> None:
    sc = load_scenario(toy)
    assert [o.column for o in choose_outputs(sc)] == ["p_quiet", "p_war", "flag_struck"]
    assert [o.id for o in choose_outputs(sc, ["struck", "war"])] == ["struck", "war"]
    with pytest.raises(UsageError, match="did you mean 'war'"):
        choose_outputs(sc, ["wat"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--outputs", "wat"], "'wat' is neither an outcome nor a flag of toy; did you mean 'war'"),
        (["--n", "20"], "power of 2 (e.g. 16 or 32)"),
        (["--n", "8"], "sobol needs at least 16"),
        (["--method", "morris", "--n", "2"], "morris needs at least 4"),
        (["--pin", "p2=0.01", "--pin", "p3=a", "--pin", "p4=2"], "at least 2 drawn parameters"),
    ],
)
def test_bad_input_is_one_message_and_exit_2(toy, tmp_path, capsys, args, message) -> None:
    out = tmp_path / "never"
    code = main(["sensitivity", str(toy), "--runs", "10", "--out", str(out), "-q", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_prints_the_ranking_and_draws_the_charts(toy, tmp_path, capsys) -> None:
    out = tmp_path / "cli"
    code = main(
        [
            *("sensitivity", str(toy), "--method", "morris", "--n", "6", "--runs", "50"),
            *("--seed", "2", "--outputs", "war", "--out", str(out), "-q"),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0
    assert "Morris, N = 6: 30 design points x 50 worlds" in text
    war = text.split("War (outcome")[1]
    assert war.splitlines()[2].split()[:3] == ["The", "deciding", "share"]
    assert (out / "plots" / "sensitivity_outcomes.png").is_file()
    assert not (out / "plots" / "sensitivity_flags.png").exists()  # no flag was asked for


def test_chart_data_and_figure(toy, tmp_path) -> None:
    res = run_sensitivity(toy, "sobol", n=16, runs=RUNS, seed=3, out=tmp_path / "s", progress=False)
    bars = sensitivity_bars(res)
    assert list(bars) == ["quiet", "war", "struck"]
    war = bars["war"]
    assert war["name"].iloc[0] == "The deciding share"
    assert list(war["ST"]) == sorted(war["ST"], reverse=True)
    names = {
        "sensitivity_outcomes.png",
        "sensitivity_outcomes.svg",
        "sensitivity_flags.png",
        "sensitivity_flags.svg",
    }
    assert {f.name for f in draw_sensitivity_plots(res.folder)} == names
    # wargame plot redraws them, as for any other folder
    for f in (res.folder / "plots").iterdir():
        f.unlink()
    assert main(["plot", str(res.folder)]) == 0
    assert {f.name for f in (res.folder / "plots").iterdir()} == names


def test_ranking_notes_suggest_the_n_that_separates_the_top_two() -> None:
    def rows(*pairs):
        return [
            {"parameter_name": f"f{i}", "ST": v, "ST_conf": c} for i, (v, c) in enumerate(pairs)
        ]

    # well apart, tight: rankable
    assert ranking_notes(rows((0.8, 0.1), (0.2, 0.1)), "sobol", 64) == (None, None)
    # 0.5 ± 0.2 and 0.3 ± 0.2 overlap; halving both takes 4 x N
    note, n = ranking_notes(rows((0.5, 0.2), (0.3, 0.2)), "sobol", 64)
    assert n == 256 and "f0 and f1 overlap" in note and "--n 256" in note
    # apart, but the top interval is wider than half its index: 0.4 ± 0.3 needs (0.3/0.2)^2 x N
    note, n = ranking_notes(rows((0.4, 0.3), (-0.5, 0.1)), "sobol", 64)
    assert n == 256 and "less than twice" in note  # 64 * 2.25 = 144, next power of 2
    # Morris suggestions need not be powers of 2
    morris = [{"parameter_name": "a", "mu_star": 0.5, "mu_star_conf": 0.2}]
    morris.append({"parameter_name": "b", "mu_star": 0.3, "mu_star_conf": 0.2})
    assert ranking_notes(morris, "morris", 10)[1] == 40
    # equal indices: no N separates them
    note, n = ranking_notes(rows((0.4, 0.1), (0.4, 0.1)), "sobol", 64)
    assert n is None and "may be tied" in note


def test_factors_are_named_as_the_drivers_name_them(toy, tmp_path) -> None:
    res = run_sensitivity(toy, "morris", n=4, runs=20, seed=3, out=tmp_path / "m", progress=False)
    names = {f["id"]: f["name"] for f in res.summary["factors"]}
    assert names == {"p1": "The deciding share", "p2": "P2", "p3": "P3", "p4": "P4"}
    assert set(res.indices["parameter_name"]) == set(names.values())


def test_help_quotes_the_defaults() -> None:
    assert DEFAULT_N["sobol"] == cli_sensitivity.SOBOL_N
    assert DEFAULT_N["morris"] == cli_sensitivity.MORRIS_N
    assert cli_sensitivity.RUNS == DEFAULT_RUNS
