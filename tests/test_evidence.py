"""Conditioning on evidence against closed forms, on toy scenarios with fixed seeds.

* A daily chance h of war: given no war by the end of day d, war by the end
  of a horizon of H days has probability 1 - (1 - h)^(H - 1 - d).
* A parameter x ~ Uniform(0, 1) seen below 0.5: x given that is
  Uniform(0, 0.5), and an outcome "x < 0.2" has probability 0.4 (0.32 when
  the report is wrong with probability 0.2: 0.8 * 0.2 / (0.8 * 0.5 + 0.2 * 0.5)).
* theta ~ Beta(2, 2), one trial a day with success probability theta,
  3 successes seen in 10 days: theta given that is Beta(5, 9).

Each estimate must lie within an interval of confidence 1 - ALPHA around the
exact value (a binomial interval for shares, four standard errors for means);
the seeds are fixed, so the tests are repeatable.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import beta as beta_dist
from scipy.stats import binomtest

import sim
from sim.cli import main
from sim.errors import UsageError
from sim.evidence import condition, effective_size
from sim.evidence.batch import run_conditional_batch
from sim.evidence.forecast import as_of_dates, run_forecast
from sim.results.reader import load_results
from sim.scenario import load_scenario
from sim.stats import wilson

ALPHA = 1e-3
CITE = "[kremlin-appetite-decides]"

HAZARD = f"""
scenario: {{name: spark, title: Spark, start: 2022-01-01, horizon_days: 30, seed: 1}}
ladder:
  calm: {{name: Calm, mid_level: 1}}
  war: {{name: War, mid_level: 5}}
events:
  spark: {{hazard: 0.05, escalate_to: war, cites: {CITE}}}
actors:
  a: {{name: A, actions: {{wait: {{default: true}}}}}}
flags:
  at_war: {{name: At war, when: peak >= rungs.war}}
outcomes:
  quiet: {{name: Quiet}}
  war: {{name: War, when: peak >= rungs.war}}
observations:
"""

UNIFORM = f"""
scenario: {{name: unif, title: Uniform, start: 2022-01-01, horizon_days: 5, seed: 1}}
parameters:
  x: {{dist: uniform, low: 0, high: 1, cites: {CITE}}}
  y: {{dist: uniform, low: 0, high: 1, cites: {CITE}}}
ladder:
  calm: {{name: Calm, mid_level: 1}}
  war: {{name: War, mid_level: 5}}
actors:
  a: {{name: A, actions: {{wait: {{default: true}}}}}}
flags:
  small_x: {{name: Small x, when: x < 0.2}}
outcomes:
  quiet: {{name: Quiet}}
  war: {{name: War, when: x < 0.2}}
observations:
  x_below_half: {{date: 2022-01-02, seen: x < 0.5, noise: NOISE, cites: {CITE}}}
"""

BETA_BINOMIAL = f"""
scenario: {{name: trials, title: Trials, start: 2022-01-01, horizon_days: 10, seed: 1}}
parameters:
  theta: {{dist: beta, a: 2, b: 2, cites: {CITE}}}
state:
  hits: {{type: int, initial: 0}}
ladder:
  calm: {{name: Calm, mid_level: 1}}
  war: {{name: War, mid_level: 5}}
events:
  trial: {{hazard: theta, narrate: false, effects: {{hits: hits + 1}}, cites: {CITE}}}
actors:
  a: {{name: A, actions: {{wait: {{default: true}}}}}}
outcomes:
  quiet: {{name: Quiet}}
observations:
  three_of_ten: {{date: 2022-01-10, seen: hits == 3, cites: {CITE}}}
"""


def _calm_by(days: list[int]) -> str:
    return "".join(
        f"  calm_{d}: {{date: {d}, seen: not flags.at_war, cites: {CITE}}}\n" for d in days
    )


def _covers(want: float, k: float, n: float) -> bool:
    ci = binomtest(round(k), round(n)).proportion_ci(1 - ALPHA, method="wilson")
    return ci.low <= want <= ci.high


def test_conditioning_on_no_war_yet_gives_the_closed_form(write_scenario, tmp_path) -> None:
    path = write_scenario(HAZARD + _calm_by([9]), "spark.yaml")
    runs = 20_000
    batch = sim.run_batch(path, runs=runs, seed=3, progress=False, out=tmp_path / "b")
    shares = condition(batch, as_of="2022-01-10")  # day 9
    kept = shares.worlds
    assert shares.ess == pytest.approx(kept)  # noise 0: every kept world weighs 1
    war = shares.share("outcome", "war")
    assert _covers(1 - 0.95**20, war.probability * kept, kept), war
    # Noise 0: the plain Wilson interval of the kept worlds.
    assert (war.low, war.high) == pytest.approx(wilson(round(war.probability * kept), kept))
    assert _covers(0.95**10, kept, runs)
    # Before the observation's date nothing is known: the unconditional shares.
    before = condition(batch, as_of="2022-01-09")
    assert before.worlds == runs and before.used == ()
    p = before.share("outcome", "war").probability
    assert p == batch.summary["outcomes"][1]["p"]


def test_a_noiseless_report_keeps_the_worlds_that_agree(write_scenario, tmp_path) -> None:
    path = write_scenario(UNIFORM.replace("NOISE", "0"), "unif.yaml")
    batch = sim.run_batch(path, runs=20_000, seed=4, progress=False, out=tmp_path / "b")
    shares = condition(batch, as_of="2022-01-05")
    x = batch.runs["param_x"].to_numpy()
    assert np.array_equal(shares.weights == 1, x < 0.5)
    assert np.array_equal(shares.weights == 0, x >= 0.5)
    war = shares.share("outcome", "war")
    assert _covers(0.4, war.probability * shares.worlds, shares.worlds)
    assert shares.share("flag", "small_x").probability == war.probability


def test_noisy_reports_weight_the_worlds_by_their_likelihood(write_scenario, tmp_path) -> None:
    path = write_scenario(UNIFORM.replace("NOISE", "0.2"), "unif.yaml")
    batch = sim.run_batch(path, runs=40_000, seed=5, progress=False, out=tmp_path / "b")
    shares = condition(batch, as_of="2022-01-02")
    x = batch.runs["param_x"].to_numpy()
    assert np.array_equal(shares.weights, np.where(x < 0.5, 0.8, 0.2))
    assert shares.worlds == 40_000
    w = shares.weights
    assert shares.ess == pytest.approx(w.sum() ** 2 / (w**2).sum())
    assert shares.ess == pytest.approx(40_000 * 0.25 / 0.34, rel=0.02)  # half 0.8, half 0.2
    war = shares.share("outcome", "war")
    se = math.sqrt(0.32 * 0.68 / shares.ess)
    assert war.probability == pytest.approx(0.32, abs=4 * se)
    assert war.low < war.probability < war.high
    # The interval is Wilson's at n = ESS, wider than at n = worlds.
    assert (war.low, war.high) == pytest.approx(wilson(war.probability * shares.ess, shares.ess))
    # Posterior of x: density 0.8 below 0.5, 0.2 above (times 2): mean 0.35.
    post = batch_posterior(tmp_path, path, "2022-01-02")
    mean = post[(post["parameter"] == "x") & (post["statistic"] == "mean")].iloc[0]
    assert mean["prior"] == pytest.approx(0.5, abs=0.01)
    assert mean["posterior"] == pytest.approx(0.35, abs=4 * math.sqrt(0.0825 / shares.ess))
    # y is independent of the report: its posterior stays its prior.
    y = post[(post["parameter"] == "y") & (post["statistic"] == "mean")].iloc[0]
    assert y["posterior"] == pytest.approx(0.5, abs=4 * math.sqrt(1 / 12 / shares.ess))


def batch_posterior(tmp_path, path, as_of):  # type: ignore[no-untyped-def]
    result, _ = run_conditional_batch(
        path, runs=40_000, seed=5, as_of=as_of, progress=False, out=tmp_path / "c"
    )
    return result.posterior


def test_posterior_of_a_parameter_is_the_beta_binomial_one(write_scenario, tmp_path) -> None:
    path = write_scenario(BETA_BINOMIAL, "trials.yaml")
    result, shares = run_conditional_batch(
        path, runs=30_000, seed=6, as_of="2022-01-10", progress=False, out=tmp_path / "c"
    )
    post = result.posterior
    theta = post[post["parameter"] == "theta"].set_index("statistic")
    want = beta_dist(5, 9)
    se = want.std() / math.sqrt(shares.ess)
    assert theta.loc["mean", "posterior"] == pytest.approx(want.mean(), abs=4 * se)
    assert theta.loc["sd", "posterior"] == pytest.approx(want.std(), rel=0.05)
    assert theta.loc["q50", "posterior"] == pytest.approx(want.median(), abs=6 * se)
    assert theta.loc["mean", "prior"] == pytest.approx(0.5, abs=0.01)
    # The histogram's posterior shares add up to 1 and follow Beta(5, 9).
    bins = post[(post["parameter"] == "theta") & (post["statistic"] == "bin")]
    assert bins["posterior"].sum() == pytest.approx(1.0)
    exact = want.cdf(bins["high"].to_numpy()) - want.cdf(bins["low"].to_numpy())
    assert np.abs(bins["posterior"].to_numpy() - exact).max() < 0.02
    # Worlds kept: P(3 of 10) under the prior predictive (beta-binomial).
    p3 = math.comb(10, 3) * math.exp(
        math.lgamma(5) + math.lgamma(9) - math.lgamma(14) - (math.lgamma(2) * 2 - math.lgamma(4))
    )
    assert _covers(p3, shares.worlds, 30_000)


def test_forecasts_fall_as_calm_days_pass(write_scenario, tmp_path) -> None:
    days = [0, 5, 10, 15, 20, 25]
    path = write_scenario(HAZARD + _calm_by(days), "spark.yaml")
    result = run_forecast(
        path,
        runs=20_000,
        seed=8,
        start="2022-01-01",
        end="2022-01-26",
        every=5,
        progress=False,
        out=tmp_path / "f",
    )
    table = result.forecast
    war = table[(table["kind"] == "outcome") & (table["name"] == "war")]
    assert list(war["as_of"]) == [f"2022-01-{d + 1:02d}" for d in days]
    p = war["probability"].to_numpy()
    # The same worlds at every date: exactly non-increasing, not just on average.
    assert np.all(np.diff(p) <= 0)
    for d, prob, n in zip(days, p, war["worlds"], strict=True):
        assert _covers(1 - 0.95 ** (29 - d), prob * n, n), (d, prob)
    assert list(table.columns) == [
        "as_of", "kind", "name", "probability", "low", "high", "ess", "worlds",
    ]  # fmt: skip
    assert result.manifest["kind"] == "forecast"
    assert load_results(tmp_path / "f").kind == "forecast"


def test_conditioning_changes_no_seed_and_repeats_to_the_bit(write_scenario, tmp_path) -> None:
    path = write_scenario(HAZARD + _calm_by([4, 9]), "spark.yaml")
    plain = sim.run_batch(path, runs=3000, seed=2, progress=False, out=tmp_path / "plain")
    for name in ("c1", "c2"):
        run_conditional_batch(
            path, runs=3000, seed=2, as_of="2022-01-10", progress=False, out=tmp_path / name
        )
    run_forecast(
        path, runs=3000, seed=2, start="2022-01-01", end="2022-01-11", every=5,
        progress=False, out=tmp_path / "f",
    )  # fmt: skip
    same = ("runs.csv", "daily.csv", "rules.csv", "drivers.csv")
    for table in same:
        assert (tmp_path / "c1" / table).read_bytes() == (tmp_path / "plain" / table).read_bytes()
    assert (tmp_path / "f" / "runs.csv").read_bytes() == (
        tmp_path / "plain" / "runs.csv"
    ).read_bytes()
    for table in ("conditional.csv", "posterior.csv"):
        assert (tmp_path / "c1" / table).read_bytes() == (tmp_path / "c2" / table).read_bytes()
    assert plain.manifest["seed"] == 2
    cond = load_results(tmp_path / "c1")
    assert cond.manifest["command"].endswith("--as-of 2022-01-10")
    assert list(cond.conditional.columns) == [
        "as_of", "kind", "name", "probability", "low", "high", "ess", "worlds",
    ]  # fmt: skip
    # The folder conditions again, as of any date, to the same numbers.
    again = condition(cond, as_of="2022-01-10").table()
    stored = cond.conditional
    assert np.allclose(again["probability"], stored["probability"], rtol=1e-9, equal_nan=True)


def test_condition_on_a_runs_table_with_the_scenario(write_scenario, tmp_path) -> None:
    path = write_scenario(HAZARD + _calm_by([9]), "spark.yaml")
    batch = sim.run_batch(path, runs=2000, seed=3, progress=False, out=tmp_path / "b")
    sc = load_scenario(path)
    a = condition(batch.runs, sc, "2022-01-10")
    b = condition(batch, as_of="2022-01-10")
    assert a.shares == b.shares and a.ess == b.ess
    with pytest.raises(UsageError):
        condition(batch.runs, None, "2022-01-10")
    with pytest.raises(UsageError):
        condition(batch)


def test_too_few_worlds_give_a_warning_with_the_runs_needed(
    write_scenario, tmp_path, capsys
) -> None:
    path = write_scenario(HAZARD + _calm_by([25]), "spark.yaml")  # 0.95^26 = 26% kept
    code = main(["batch", str(path), "--runs", "800", "--as-of", "2022-01-27", "--no-plots",
                 "-q", "--out", str(tmp_path / "c")])  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    assert "warning: only" in captured.err and "runs would give" in captured.err
    record = load_results(tmp_path / "c").manifest["conditional"]
    assert record["ess"] < 385
    assert record["runs_needed"] == math.ceil(800 * 385 / record["ess"])
    assert "worlds agree" in captured.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2021-12-31"], "outside the scenario's days"),
        (["--as-of", "15 Feb"], "expected a date"),
    ],
)
def test_bad_as_of_dates_exit_2(write_scenario, tmp_path, capsys, args, message) -> None:
    path = write_scenario(HAZARD + _calm_by([9]), "spark.yaml")
    code = main(["batch", str(path), "--runs", "50", "--no-plots", "-q", *args,
                 "--out", str(tmp_path / "never")])  # fmt: skip
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_as_of_without_observations_exits_2(write_scenario, tmp_path, capsys) -> None:
    path = write_scenario(HAZARD.replace("observations:\n", ""), "spark.yaml")
    code = main(["batch", str(path), "--runs", "50", "--as-of", "2022-01-05", "-q"])
    assert code == 2
    assert "no observations" in capsys.readouterr().err


def test_effective_size_and_as_of_dates() -> None:
    assert effective_size(np.array([1.0, 1.0, 0.0])) == 2.0
    assert effective_size(np.zeros(3)) == 0.0
    assert effective_size(np.array([0.5, 0.5])) == pytest.approx(2.0)
    import datetime as dt

    got = as_of_dates(dt.date(2022, 1, 1), dt.date(2022, 1, 8), 3)
    assert got == [
        dt.date(2022, 1, 1),
        dt.date(2022, 1, 4),
        dt.date(2022, 1, 7),
        dt.date(2022, 1, 8),
    ]
    with pytest.raises(UsageError):
        as_of_dates(dt.date(2022, 1, 2), dt.date(2022, 1, 1), 1)


def test_charts_and_reports_of_a_conditioned_batch_and_a_forecast(write_scenario, tmp_path) -> None:
    from sim.plots.evidence import forecast_lines, plot_forecast, plot_posterior, posterior_panels
    from sim.report import write_report
    from sim.report.drawing import redraw

    # A rule, so that rules.csv has rows and every batch chart can be drawn.
    actor = (
        "  a:\n    name: A\n    actions: {wait: {default: true}, act: {once: true}}\n"
        f"    rules: {{go: {{kind: trigger, action: act, prob: 0.1, cites: {CITE}}}}}\n"
    )
    text = UNIFORM.replace("NOISE", "0.2").replace(
        "  a: {name: A, actions: {wait: {default: true}}}\n", actor
    )
    path = write_scenario(text, "u.yaml")
    batch, shares = run_conditional_batch(
        path, runs=2000, seed=7, as_of="2022-01-03", progress=False, out=tmp_path / "c"
    )
    panels = {p["parameter"]: p for p in posterior_panels(batch.posterior)}
    assert set(panels) == {"x", "y"} and panels["x"]["kind"] == "number"
    assert panels["x"]["posterior_mean"] < panels["x"]["prior_mean"]
    assert panels["x"]["posterior"].sum() == pytest.approx(1.0)
    titles = [ax.get_title(loc="left") for ax in plot_posterior(batch).axes if ax.get_visible()]
    assert titles[:2] == ["X", "Y"]  # the names drivers.csv gives, not the bare ids
    stems = {p.stem for p in redraw(tmp_path / "c")}
    assert "posterior" in stems
    page = write_report(tmp_path / "c").read_text(encoding="utf-8")
    assert 'id="evidence"' in page and "Given the evidence" in page
    assert f"{shares.worlds:,} worlds agree" in page
    assert 'id="chart-posterior"' in page and page.count('id="chart-posterior"') == 1

    path = write_scenario(HAZARD + _calm_by([3, 6]), "spark.yaml")
    result = run_forecast(
        path, runs=1500, seed=1, start="2022-01-01", end="2022-01-08", every=3,
        progress=False, out=tmp_path / "f",
    )  # fmt: skip
    lines = forecast_lines(result)
    war = next(line for line in lines["outcome"] if line["id"] == "war")
    assert len(war["dates"]) == 4 and np.all(np.diff(war["p"]) <= 0)
    assert [line["id"] for line in lines["flag"]] == ["at_war"]
    assert len(plot_forecast(result).axes) == 2
    assert [p.name for p in redraw(tmp_path / "f")] == [
        "forecast.png",
        "forecast.svg",
        "report.html",
    ]
    page = (tmp_path / "f" / "report.html").read_text(encoding="utf-8")
    assert "Forecast by date" in page and 'id="chart-forecast"' in page
    assert "calm_3" in page and "--every 3" in page


def test_an_earlier_horizon_asks_by_that_day(write_scenario, tmp_path) -> None:
    path = write_scenario(HAZARD + _calm_by([3]), "spark.yaml")
    result = run_forecast(
        path, runs=20_000, seed=9, start="2022-01-01", end="2022-01-04", every=3,
        horizon="2022-01-15", progress=False, out=tmp_path / "f",
    )  # fmt: skip
    assert result.summary["horizon"] == "2022-01-15"
    assert result.manifest["command"].endswith("--horizon 2022-01-15")
    assert "scenario.horizon_days=15" in result.manifest["overrides"]
    table = result.forecast
    war = table[(table["kind"] == "outcome") & (table["name"] == "war")].set_index("as_of")
    # War by day 14: 1 - 0.95^15 before any evidence; 1 - 0.95^11 once calm by day 3.
    first, last = war.loc["2022-01-01"], war.loc["2022-01-04"]
    assert _covers(1 - 0.95**15, first["probability"] * first["worlds"], first["worlds"])
    assert _covers(1 - 0.95**11, last["probability"] * last["worlds"], last["worlds"])
    with pytest.raises(UsageError, match="outside the scenario's days"):
        run_forecast(path, runs=10, start="2022-01-01", end="2022-01-02", horizon="2023-01-01")


@given(
    held=st.lists(st.lists(st.booleans(), min_size=1, max_size=30), min_size=1, max_size=4),
    noise=st.lists(st.sampled_from([0.0, 0.05, 0.2, 0.5]), min_size=4, max_size=4),
)
@settings(max_examples=60, deadline=None)
def test_weights_are_likelihoods_and_the_ess_counts_worlds(held, noise) -> None:
    import datetime as dt

    import pandas as pd

    from sim.evidence import Record, world_weights

    n = min(len(h) for h in held)
    runs = pd.DataFrame({f"obs_o{k}": np.array(h[:n], dtype=int) for k, h in enumerate(held)})
    records = [Record(f"o{k}", dt.date(2022, 1, 1), noise[k]) for k in range(len(held))]
    w = world_weights(runs, records)
    assert np.all((w >= 0) & (w <= 1))
    ess = effective_size(w)
    assert ess <= np.count_nonzero(w) + 1e-9
    if all(r.noise == 0 for r in records):  # a filter: weight 1 where every report held
        every = np.all(runs.to_numpy() == 1, axis=1)
        assert np.array_equal(w, every.astype(float))
        assert ess == pytest.approx(every.sum())
    # Scaling every weight changes nothing: only likelihood ratios matter.
    assert effective_size(3 * w) == pytest.approx(ess)
