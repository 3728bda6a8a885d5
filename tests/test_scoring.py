"""Scoring forecasts against resolutions: hand-computed scores, skill, reliability, errors.

The numbers in these tests are worked out by hand (or from two-digit
logarithms written out), not by calling the code under test a second way.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import DEFAULT_SCENARIO, ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.errors import ResultsError, ValidationError
from sim.scoring import (
    brier,
    load_forecast,
    load_resolutions,
    log_score,
    reliability,
    score,
    skill,
    summarise,
)
from sim.tables import FORMAT_VERSION, digest

RESOLUTIONS = ROOT / "scenarios" / "resolutions" / "allied_resolve_2022.yaml"
HEADER = "as_of,kind,name,probability,low,high,ess,worlds\n"


# -- the scores by hand -----------------------------------------------------------
@pytest.mark.parametrize(
    ("p", "happened", "expected_brier", "expected_log"),
    [
        (0.7, 1, 0.09, -0.514573),  # log2(0.7)
        (0.7, 0, 0.49, -1.736966),  # log2(0.3)
        (0.5, 1, 0.25, -1.0),
        (0.5, 0, 0.25, -1.0),
        (0.2, 1, 0.64, -2.321928),  # log2(0.2)
        # 0 and 1 are clipped to 0.001 and 0.999 for the log score, not for Brier.
        (0.0, 1, 1.0, -9.965784),  # log2(0.001)
        (0.0, 0, 0.0, -0.001443),  # log2(0.999)
        (1.0, 1, 0.0, -0.001443),
        (1.0, 0, 1.0, -9.965784),
    ],
)
def test_brier_and_log_scores_match_hand_computed_values(p, happened, expected_brier, expected_log):
    assert float(brier(p, happened)) == pytest.approx(expected_brier, abs=1e-12)
    assert float(log_score(p, happened)) == pytest.approx(expected_log, abs=1e-6)


def test_scores_refuse_probabilities_and_outcomes_out_of_range():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        brier(1.2, 1)
    with pytest.raises(ValueError, match="0/1"):
        log_score(0.3, 2)


def test_skill_is_the_share_of_the_reference_shortfall_removed():
    assert skill(0.0625, 0.25) == pytest.approx(0.75)  # Brier: a quarter of 0.5's
    assert skill(-0.5, -1.0) == pytest.approx(0.5)  # log: half a bit lost, not one
    assert skill(0.3, 0.25) == pytest.approx(-0.2)  # worse than the reference
    assert math.isnan(skill(0.1, 0.0))  # a perfect reference leaves nothing to beat


# -- reliability ------------------------------------------------------------------
def test_reliability_bins_by_hand():
    p = [0.05, 0.15, 0.15, 0.95, 1.0, 0.1, 0.35]
    y = [0, 1, 0, 1, 1, 0, 1]
    t = reliability(p, y).set_index("bin")
    assert t["count"].tolist() == [1, 3, 0, 1, 0, 0, 0, 0, 0, 2]
    assert t.loc[0, "observed"] == 0.0
    assert t.loc[1, "mean_forecast"] == pytest.approx((0.15 + 0.15 + 0.1) / 3)
    assert t.loc[1, "observed"] == pytest.approx(1 / 3)
    assert t.loc[3, "observed"] == 1.0
    assert t.loc[9, "mean_forecast"] == pytest.approx(0.975)  # 1.0 falls in the last bin
    assert t.loc[9, "observed"] == 1.0
    assert np.isnan(t.loc[2, "observed"]) and np.isnan(t.loc[2, "mean_forecast"])
    # Wilson 95% interval of 1 of 3: 0.0615 to 0.7923.
    assert t.loc[1, "observed_low"] == pytest.approx(0.0615, abs=1e-4)
    assert t.loc[1, "observed_high"] == pytest.approx(0.7923, abs=1e-4)
    assert t["low"].tolist()[:2] == [0.0, 0.1] and t["high"].tolist()[-1] == 1.0


# -- a forecast and resolutions written by hand --------------------------------------
TOY_RESOLUTIONS = """\
scenario: toy
about: Hand-made resolutions for a test.
resolutions:
  - flag: a
    happened: true
    resolved: 2022-02-24
    source: {outlet: Test Wire, date: 2022-02-24, description: A happened.}
  - flag: b
    happened: false
    resolved: 2022-03-27
    source: {outlet: Test Wire, date: 2022-03-27, description: B did not.}
  - outcome: y
    resolved: 2022-03-27
    source: {outlet: Test Wire, date: 2022-03-27, description: The world ended in y.}
"""

TOY_FORECAST = [
    # as of the start: a 0.2, b 0.1, outcomes x 0.6 and y 0.4
    ("2022-01-17", "flag", "a", 0.2),
    ("2022-01-17", "flag", "b", 0.1),
    ("2022-01-17", "outcome", "x", 0.6),
    ("2022-01-17", "outcome", "y", 0.4),
    # as of the day a resolved: a is hindsight (left out); b 0, x and y 0.5
    ("2022-02-24", "flag", "a", 0.9),
    ("2022-02-24", "flag", "b", 0.0),
    ("2022-02-24", "outcome", "x", 0.5),
    ("2022-02-24", "outcome", "y", 0.5),
]

TOY_REFERENCE = [
    ("2022-01-01", "flag", "a", 0.5),
    ("2022-01-01", "flag", "b", 0.2),
    ("2022-01-01", "outcome", "x", 0.5),
    ("2022-01-01", "outcome", "y", 0.5),
    ("2022-02-01", "flag", "b", 0.4),  # the reference's latest for b by 24 Feb
]


def csv_text(rows) -> str:
    return HEADER + "".join(f"{d},{k},{n},{p},{p},{p},100,100\n" for d, k, n, p in rows)


def forecast_folder(where: Path, rows, *, table="forecast.csv", kind="forecast", scenario="toy"):
    """A folder as ``wargame forecast`` (or ``batch --as-of``) writes it, by the contract."""
    where.mkdir(parents=True)
    (where / table).write_text(csv_text(rows), encoding="utf-8")
    manifest = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "scenario": scenario,
        "sha256": "ab" * 32,
        "tables": {table: digest(where / table)},
    }
    (where / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return where


@pytest.fixture
def toy(tmp_path):
    res = tmp_path / "toy_resolutions.yaml"
    res.write_text(TOY_RESOLUTIONS, encoding="utf-8")
    ref = tmp_path / "reference.csv"
    ref.write_text(csv_text(TOY_REFERENCE), encoding="utf-8")
    return {
        "resolutions": res,
        "forecast": forecast_folder(tmp_path / "forecast", TOY_FORECAST),
        "reference": ref,
    }


# Scored rows (a as of 24 Feb is left out):   Brier    log2
#   17 Jan  a 0.2, yes                         0.64   -2.321928
#           b 0.1, no                          0.01   -0.152003
#           x 0.6, no                          0.36   -1.321928
#           y 0.4, yes                         0.36   -1.321928
#   24 Feb  b 0.0, no                          0.00   -0.001443 (clipped)
#           x 0.5, no / y 0.5, yes             0.25   -1 each
TOY_BRIER = (0.64 + 0.01 + 0.36 + 0.36 + 0.0 + 0.25 + 0.25) / 7
TOY_LOG = (-2.321928 - 0.152003 - 1.321928 - 1.321928 - 0.001443 - 1 - 1) / 7
# The reference on the same rows: 17 Jan a 0.5, b 0.2, x 0.5, y 0.5; 24 Feb b 0.4, x, y 0.5.
REF_BRIER = (0.25 + 0.04 + 0.25 + 0.25 + 0.16 + 0.25 + 0.25) / 7
REF_LOG = (-1 - 0.321928 - 1 - 1 - 0.736966 - 1 - 1) / 7  # log2(0.8), log2(0.6)


def test_score_by_hand_per_row_per_question_per_date_and_overall(toy):
    s = score(load_forecast(toy["forecast"]), load_resolutions(toy["resolutions"]))
    rows = s.scores
    assert list(zip(rows["as_of"].astype(str), rows["name"], strict=True)) == [
        ("2022-01-17", "a"), ("2022-01-17", "b"), ("2022-01-17", "x"), ("2022-01-17", "y"),
        ("2022-02-24", "b"), ("2022-02-24", "x"), ("2022-02-24", "y"),
    ]  # fmt: skip
    assert rows["happened"].tolist() == [1, 0, 0, 1, 0, 0, 1]
    o = s.summary["overall"]
    assert o["rows"] == 7
    assert o["brier"] == pytest.approx(TOY_BRIER)
    assert o["log_score"] == pytest.approx(TOY_LOG, abs=1e-6)
    assert o["brier_vs_uninformed"] == pytest.approx(TOY_BRIER - 0.25)
    assert o["brier_skill_vs_uninformed"] == pytest.approx(1 - TOY_BRIER / 0.25)
    assert o["log_skill_vs_uninformed"] == pytest.approx(1 + TOY_LOG, abs=1e-6)
    by_q = {q["name"]: q for q in s.summary["by_question"]}
    assert by_q["b"]["brier"] == pytest.approx((0.01 + 0.0) / 2)
    assert by_q["a"]["rows"] == 1
    by_d = {d["as_of"]: d for d in s.summary["by_date"]}
    assert by_d["2022-01-17"]["brier"] == pytest.approx((0.64 + 0.01 + 0.36 + 0.36) / 4)
    assert by_d["2022-02-24"]["brier"] == pytest.approx(0.5 / 3)
    assert s.summary["left_out"] == [
        {"kind": "flag", "name": "a", "rows": 1, "first_as_of": "2022-02-24",
         "reason": "made on or after it resolved"}
    ]  # fmt: skip
    assert "reference_brier" not in o
    assert summarise(s.scores)["overall"] == o  # the summary comes from the rows alone


def test_score_against_a_reference_uses_its_latest_forecast_by_each_date(toy):
    s = score(
        load_forecast(toy["forecast"]),
        load_resolutions(toy["resolutions"]),
        load_forecast(toy["reference"]),
    )
    b_rows = s.scores[s.scores["name"] == "b"]
    assert b_rows["reference_probability"].tolist() == [0.2, 0.4]
    assert b_rows["reference_as_of"].astype(str).tolist() == ["2022-01-01", "2022-02-01"]
    o = s.summary["overall"]
    assert o["reference_brier"] == pytest.approx(REF_BRIER)
    assert o["brier_vs_reference"] == pytest.approx(TOY_BRIER - REF_BRIER)
    assert o["brier_skill_vs_reference"] == pytest.approx(1 - TOY_BRIER / REF_BRIER)
    assert o["reference_log_score"] == pytest.approx(REF_LOG, abs=1e-6)
    assert o["log_skill_vs_reference"] == pytest.approx(1 - TOY_LOG / REF_LOG, abs=1e-6)


def test_a_reference_without_a_forecast_by_the_date_is_refused(toy, tmp_path):
    late = tmp_path / "late.csv"
    late.write_text(csv_text([("2022-02-01", k, n, 0.5) for _, k, n, _ in TOY_REFERENCE[:4]]))
    with pytest.raises(ResultsError, match=r"no forecast of flag 'a' made on or before 2022-01-17"):
        score(load_forecast(toy["forecast"]), load_resolutions(toy["resolutions"]),
              load_forecast(late))  # fmt: skip


def test_a_conditioned_batch_is_read_from_its_conditional_table(toy, tmp_path):
    folder = forecast_folder(tmp_path / "cond", TOY_FORECAST[:4], table="conditional.csv",
                             kind="batch")  # fmt: skip
    f = load_forecast(folder)
    assert f.what == "conditioned batch" and len(f.rows) == 4
    s = score(f, load_resolutions(toy["resolutions"]))
    assert s.summary["overall"]["brier"] == pytest.approx((0.64 + 0.01 + 0.36 + 0.36) / 4)


def test_a_question_the_forecast_lacks_is_named_at_its_position(toy, tmp_path):
    text = TOY_RESOLUTIONS.replace("flag: b", "flag: bb")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        score(load_forecast(toy["forecast"]), load_resolutions(bad))
    (d,) = exc.value.diagnostics
    assert str(d.location) == f"{bad}:8:11"
    assert "flag 'bb' is not in the forecast" in d.message and "did you mean 'b'?" in d.message


def test_resolutions_of_another_scenario_are_refused(toy, tmp_path):
    other = forecast_folder(tmp_path / "other", TOY_FORECAST, scenario="elsewhere")
    with pytest.raises(
        ValidationError, match=r"of scenario 'toy', but the forecast .* 'elsewhere'"
    ):
        score(load_forecast(other), load_resolutions(toy["resolutions"]))
    # As a reference, a forecast of another scenario asking the same questions is welcome.
    s = score(load_forecast(toy["forecast"]), load_resolutions(toy["resolutions"]),
              load_forecast(other))  # fmt: skip
    assert s.summary["overall"]["brier_skill_vs_reference"] == 0


def test_a_forecast_with_nothing_to_score_says_why(toy, tmp_path):
    late = forecast_folder(tmp_path / "late", [r for r in TOY_FORECAST if r[0] == "2022-02-24"])
    only_a = tmp_path / "only_a.yaml"
    only_a.write_text(TOY_RESOLUTIONS.split("  - flag: b")[0], encoding="utf-8")
    with pytest.raises(ResultsError, match=r"nothing to score: .* as of 2022-02-24, on or after"):
        score(load_forecast(late), load_resolutions(only_a))


# -- bad input: positioned messages, exit code 2 -------------------------------------
def test_a_bad_resolutions_file_gets_file_line_col_and_exit_2(toy, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        TOY_RESOLUTIONS.replace("happened: true", "happened: yes please")
        .replace("resolved: 2022-03-27\n    source: {outlet: Test Wire, date: 2022-03-27, "
                 "description: B did not.}",
                 "resolved: 27 March\n    sorce: {outlet: Test Wire}")
        .replace("  - outcome: y\n", "  - outcome: y\n    happened: true\n"),
        encoding="utf-8",
    )  # fmt: skip
    code = main(["score", str(toy["forecast"]), "--resolutions", str(bad), "--out",
                 str(tmp_path / "s")])  # fmt: skip
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert f"{bad}:5:15: error: resolutions.0.happened: expected true or false" in err[0]
    assert f"{bad}:8:5: error: resolutions.1: missing required key 'source'" in err[1]
    assert err[2].startswith(f"{bad}:10:15: error: resolutions.1.resolved: expected a date")
    assert err[3].startswith(f"{bad}:11:5: error: unknown key 'sorce' in a resolution; did you")
    assert any(f"{bad}:13:5: error: an outcome entry names the outcome" in line for line in err)
    assert not (tmp_path / "s").exists()


def test_a_resolution_must_name_one_flag_or_one_outcome(tmp_path):
    bad = tmp_path / "two.yaml"
    bad.write_text(TOY_RESOLUTIONS.replace("  - flag: a\n", "  - flag: a\n    outcome: y\n"))
    with pytest.raises(ValidationError, match=r"two.yaml:4:5: error: a resolution names exactly"):
        load_resolutions(bad)
    twice = tmp_path / "twice.yaml"
    twice.write_text(
        TOY_RESOLUTIONS + TOY_RESOLUTIONS.split("resolutions:\n")[1].split("  - flag: b")[0]
    )
    with pytest.raises(
        ValidationError, match=r"twice.yaml:15:11: error: flag 'a' is resolved twice"
    ):
        load_resolutions(twice)


def test_a_forecast_table_that_breaks_the_format_is_refused_with_its_position(tmp_path):
    with pytest.raises(ResultsError, match=r"allied_resolve_2022.yaml: not a forecast; give"):
        load_forecast(DEFAULT_SCENARIO)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("as_of,kind,name,p\n2022-01-17,flag,a,0.2\n")
    with pytest.raises(
        ValidationError, match=r"wrong.csv:1:1: error: expected exactly the columns"
    ):
        load_forecast(wrong)
    bad = tmp_path / "bad.csv"
    bad.write_text(csv_text([("2022-01-17", "flag", "a", 1.2), ("17 Jan", "rung", "b", 0.1),
                             ("2022-01-17", "flag", "a", 0.3)]))  # fmt: skip
    with pytest.raises(ValidationError) as exc:
        load_forecast(bad)
    assert [str(d) .split(": error")[0] for d in exc.value.diagnostics] == [
        f"{bad}:2:4", f"{bad}:3:1", f"{bad}:3:2", f"{bad}:4:3",
    ]  # fmt: skip


# -- the command end to end on a small batch ----------------------------------------
@pytest.fixture(scope="module")
def small_batch(tmp_path_factory):
    import sim

    out = tmp_path_factory.mktemp("batch") / "b"
    return sim.run_batch(DEFAULT_SCENARIO, runs=200, seed=3, out=out, progress=False)


def test_wargame_score_on_a_batch_end_to_end(small_batch, tmp_path, capsys):
    out = tmp_path / "score"
    code = main(["score", str(small_batch.folder), "--resolutions", str(RESOLUTIONS), "--out",
                 str(out)])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0, text
    assert "flag offensive_from_belarus" in text and "Overall" in text
    from sim.results import load_results

    res = load_results(out)
    assert res.kind == "score" and res.manifest["sha256"] == small_batch.manifest["sha256"]
    assert res.manifest["resolutions"]["sha256"] == load_resolutions(RESOLUTIONS).sha256
    shares = {f["id"]: f["p"] for f in small_batch.summary["flags"]}
    outcomes = {o["id"]: o["p"] for o in small_batch.summary["outcomes"]}
    rows = res.scores.set_index("name")
    assert rows.loc["offensive_from_belarus", "brier"] == pytest.approx(
        (shares["offensive_from_belarus"] - 1) ** 2
    )
    assert rows.loc["territory_refused", "brier"] == pytest.approx(shares["territory_refused"] ** 2)
    assert rows.loc["staging_area_war", "happened"] == 1
    assert rows.loc[rows["kind"] == "outcome", "happened"].sum() == 1  # every other: no
    assert len(rows) == 7 + len(outcomes)  # seven flags, and every outcome as a yes/no question
    assert (rows["as_of"].astype(str) == small_batch.summary["start"]).all()
    assert (out / "plots" / "reliability.png").is_file()
    # wargame plot redraws it; wargame report says reports are for batches, as for other kinds
    (out / "plots" / "reliability.png").unlink()
    assert main(["plot", str(out)]) == 0 and (out / "plots" / "reliability.png").is_file()
    capsys.readouterr()
    assert main(["report", str(out)]) == 2
    assert "a 'score' folder; reports are written for batch folders" in capsys.readouterr().err


def test_a_batch_scored_against_itself_as_reference_has_no_skill_over_it(small_batch, tmp_path):
    code = main(["score", str(small_batch.folder), "--resolutions", str(RESOLUTIONS),
                 "--reference", str(small_batch.folder), "--out", str(tmp_path / "s"),
                 "--no-plots"])  # fmt: skip
    assert code == 0
    o = json.loads((tmp_path / "s" / "summary.json").read_text())["overall"]
    assert o["brier_vs_reference"] == 0 and o["brier_skill_vs_reference"] == 0
    assert not (tmp_path / "s" / "plots").exists()


def test_reliability_chart_data_is_the_folder_rows_binned(small_batch, tmp_path):
    from sim.plots.scoring import plot_reliability, reliability_table

    out = tmp_path / "s"
    assert main(["score", str(small_batch.folder), "--resolutions", str(RESOLUTIONS), "--out",
                 str(out), "--no-plots"]) == 0  # fmt: skip
    t = reliability_table(out)
    assert t["count"].sum() == 13
    scores = json.loads((out / "summary.json").read_text())["by_question"]
    low = [q for q in scores if q["brier"] < 0.01]  # forecasts near 0 of what did not happen
    assert t.loc[0, "count"] >= len(low) and t.loc[0, "observed"] == 0
    assert plot_reliability(out).axes


# -- the shipped resolutions, and keeping them apart from the scenario ----------------
def test_the_shipped_resolutions_name_the_scenarios_questions_and_postdate_its_sources():
    from sim.registry import load_registry
    from sim.scenario import load_scenario

    res = load_resolutions(RESOLUTIONS)
    sc = load_scenario(DEFAULT_SCENARIO)
    assert res.scenario == sc.name
    flags, outcomes = {f.id for f in sc.flags}, {o.id for o in sc.outcomes}
    for e in res.entries:
        assert e.id in (flags if e.kind == "flag" else outcomes), e
    cited = load_registry(ROOT / "seeds").sources
    latest = max(cited[s].date for s in sc.sources)
    assert all(e.source.date > latest for e in res.entries)  # outside the articles
    assert all(e.source.url == "" for e in res.entries)  # no address we could not check


def test_loading_a_scenario_never_opens_its_resolutions(tmp_path):
    """The scenario's rules cannot read what happened: no scenario opens a resolutions file."""
    from sim.scenario import load_scenario

    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    forbidden = (tmp_path / "scenarios" / "resolutions").resolve()
    opened: list[str] = []

    def hook(event: str, args: tuple) -> None:
        if event == "open" and isinstance(args[0], (str, Path)) and watching:
            opened.append(str(Path(args[0]).resolve()))

    watching = True
    sys.addaudithook(hook)
    try:
        for path in sorted((tmp_path / "scenarios").glob("*.yaml")):
            load_scenario(path)
    finally:
        watching = False
    assert any(p.endswith("allied_resolve_2022.yaml") for p in opened)  # the hook sees reads
    assert not [p for p in opened if p.startswith(str(forbidden))]


@settings(max_examples=200)
@given(q=st.floats(0.01, 0.99), p=st.floats(0.0, 1.0))
def test_both_scores_are_proper_the_true_chance_scores_best_on_average(q, p):
    """Whoever believes q expects the best score by saying q: neither rule rewards hedging."""

    def expected(rule, forecast):
        return q * float(rule(forecast, 1)) + (1 - q) * float(rule(forecast, 0))

    assert expected(brier, q) <= expected(brier, p) + 1e-12
    if 0.001 <= p <= 0.999:  # within the clipping, the log score is proper too
        assert expected(log_score, q) >= expected(log_score, p) - 1e-12


def test_wargame_score_on_a_forecast_by_date_prints_each_date(toy, tmp_path, capsys):
    code = main(["score", str(toy["forecast"]), "--resolutions", str(toy["resolutions"]),
                 "--reference", str(toy["reference"]), "--out", str(tmp_path / "s")])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0
    lines = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.strip()}
    assert lines["2022-01-17"][:3] == ["4", "0.343", "-1.28"]  # (0.64+0.01+0.36+0.36)/4
    assert lines["2022-02-24"][:3] == ["3", "0.167", "-0.67"]
    assert lines["Overall"][:4] == ["7", f"{TOY_BRIER:.3f}", f"{TOY_LOG:.2f}", "-0.07"]
    assert "not scored: flag a as of 2022-02-24 and later (1 forecast)" in text
    assert (tmp_path / "s" / "plots" / "reliability.png").is_file()


# -- the real commands: wargame forecast and wargame batch --as-of, then wargame score --
OBSERVATIONS = ROOT / "scenarios" / "observations" / "allied_resolve_2022.yaml"


def test_wargame_score_on_wargame_forecast_with_the_batch_as_reference(small_batch, tmp_path):
    forecast = tmp_path / "forecast"
    assert main(["forecast", str(DEFAULT_SCENARIO), "--observations", str(OBSERVATIONS),
                 "--from", "2022-01-17", "--to", "2022-02-24", "--every", "7", "--runs", "200",
                 "--seed", "3", "--out", str(forecast), "--no-plots", "-q"]) == 0  # fmt: skip
    out = tmp_path / "score"
    assert main(["score", str(forecast), "--resolutions", str(RESOLUTIONS), "--reference",
                 str(small_batch.folder), "--out", str(out), "--no-plots"]) == 0  # fmt: skip
    from sim.results import load_results

    res = load_results(out)
    rows = res.scores
    published = load_results(forecast).forecast  # the forecast's own table, as written
    merged = rows.merge(published, on=["as_of", "kind", "name"], suffixes=("", "_published"))
    assert len(merged) == len(rows)
    assert (merged["probability"] == merged["probability_published"]).all()
    # Forecasts made on or after a question resolved are left out, by the resolutions' dates.
    assert rows["as_of"].astype(str).lt(rows["resolved"].astype(str)).all()
    left = {x["name"]: x["first_as_of"] for x in res.summary["left_out"]}
    assert left["offensive_from_belarus"] == "2022-02-24"
    assert left["russian_troops_stay"] == "2022-02-21"
    # The batch of the same worlds is the reference, made as of the start: the same numbers
    # as the forecast's first date, so no skill over it there.
    first = res.summary["by_date"][0]
    assert first["as_of"] == "2022-01-17"
    assert first["brier"] == pytest.approx(first["reference_brier"])
    assert set(rows["reference_as_of"].astype(str)) == {"2022-01-17"}
    assert res.manifest["forecast"]["what"] == "forecast"


def test_wargame_score_on_a_conditioned_batch(tmp_path):
    batch = tmp_path / "conditioned"
    assert main(["batch", str(DEFAULT_SCENARIO), "--observations", str(OBSERVATIONS), "--as-of",
                 "2022-02-15", "--runs", "200", "--seed", "3", "--out", str(batch),
                 "--no-plots", "-q"]) == 0  # fmt: skip
    f = load_forecast(batch)
    assert f.what == "conditioned batch" and set(f.rows["as_of"].astype(str)) == {"2022-02-15"}
    s = score(f, load_resolutions(RESOLUTIONS))
    rows = s.scores.set_index("name")
    conditional = f.rows.set_index("name")
    p = float(conditional.loc["offensive_from_belarus", "probability"])
    assert rows.loc["offensive_from_belarus", "brier"] == pytest.approx((p - 1) ** 2)
    assert "russian_troops_stay" in rows.index  # resolved on 20 Feb, after the as-of date
