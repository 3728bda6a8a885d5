"""Rule knock-outs: ``wargame batch --without RULE`` and ``wargame knockouts``.

Toy scenario: actor ``a`` attacks only through trigger ``go`` (the one route
to the outcome ``war``); trigger ``idle`` fires a parade no outcome or flag
looks at; trigger ``late`` comes before ``go`` and never applies (``day <
0``), so removing it must leave the draws of ``go`` (the next row of the
actor's uniforms) untouched; constraint ``no_march`` forbids the march a
preference wants, so without it the march happens. Actor ``b`` draws its own
coin every day (``b.flip``), which no knock-out of ``a`` may shift.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser

import numpy as np
import pytest

from sim.batch.knockouts import DEFAULT_RUNS, run_knockouts
from sim.batch.runner import run_batch, simulate
from sim.cli import main
from sim.cli.knockouts import RUNS as CLI_RUNS
from sim.errors import UsageError
from sim.plots.charts import plot_attribution
from sim.report.contents import gather
from sim.report.page import _attribution
from sim.scenario import load_scenario
from sim.scenario.removal import find_rule, removals
from sim.stats import paired_diff

TOY = """
scenario: {name: toy, title: Toy, start: 2022-01-01, horizon_days: 20, seed: 3}
ladder:
  calm: {name: Calm, mid_level: 1}
  war: {name: War, mid_level: 5}
outcomes:
  quiet: {name: Quiet}
  war: {name: War, when: peak >= rungs.war}
flags:
  marched: {name: Marched, when: a.march.taken}
  flipped: {name: Flipped, when: b.flip.taken}
parameters:
  p: {dist: uniform, low: 0.0, high: 0.1, cites: [kremlin-appetite-decides]}
actors:
  a:
    name: Actor A
    actions:
      wait: {default: true}
      attack: {once: true, escalate_to: war}
      parade: {}
      march: {once: true}
      pose: {}
    rules:
      late: {kind: trigger, action: parade, when: day < 0, prob: 0.5,
        cites: [kremlin-appetite-decides]}
      go: {kind: trigger, action: attack, prob: p, description: Attack at a daily chance p,
        cites: [kremlin-appetite-decides]}
      idle: {kind: trigger, action: parade, prob: 0.3, cites: [kremlin-appetite-decides]}
      no_march: {kind: constraint, action: march, allowed_if: day > 1000,
        cites: [kremlin-appetite-decides]}
      want_march: {kind: preference, action: march, utility: 2, cites: [kremlin-appetite-decides]}
  b:
    name: Actor B
    actions:
      stay: {default: true}
      flip: {}
    rules:
      coin: {kind: trigger, action: flip, prob: 0.05, when: day == 5,
        cites: [kremlin-appetite-decides]}
"""


@pytest.fixture
def toy(write_scenario):
    return write_scenario(TOY)


def test_paired_diff_known_answer():
    # Newcombe (1998), paired proportions, method 10: 36 + 12 + 2 + 0 pairs.
    d, lo, hi = paired_diff(36, 12, 2, 0)
    assert d == pytest.approx(0.2)
    assert (lo, hi) == pytest.approx((0.0569, 0.3404), abs=5e-5)
    # Identical worlds: no change, an interval around 0; none under B: all lost.
    assert paired_diff(300, 0, 0, 700)[0] == 0.0
    d, lo, hi = paired_diff(0, 0, 300, 700)
    assert d == pytest.approx(-0.3) and hi < 0
    with pytest.raises(ValueError):
        paired_diff(-1, 0, 0, 1)


def test_find_rule_and_did_you_mean(toy):
    sc = load_scenario(toy)
    assert find_rule(sc, "a.go").id == "go"
    assert find_rule(sc, "coin").actor == "b"
    with pytest.raises(UsageError, match=r"did you mean a\.go"):
        find_rule(sc, "goo")
    with pytest.raises(UsageError, match="once already"):
        removals(sc, ["a.go", "go"])


def test_removal_keeps_every_other_draw(toy):
    """Removing a trigger that sits before another leaves the other's draws and B's alone."""
    base = simulate(load_scenario(toy), runs=400)
    late = simulate(load_scenario(toy, ("actors.a.rules.late.when=false",)), runs=400)
    assert np.array_equal(base.outcomes, late.outcomes)
    assert np.array_equal(base.flags, late.flags)
    assert np.array_equal(base.rules, late.rules)


def test_batch_without_records_the_removal(toy, tmp_path):
    base = run_batch(toy, runs=300, out=tmp_path / "base", progress=False)
    res = run_batch(toy, runs=300, without=["go"], out=tmp_path / "ko", progress=False)
    war = next(o for o in res.summary["outcomes"] if o["id"] == "war")
    assert war["count"] == 0
    assert next(o for o in base.summary["outcomes"] if o["id"] == "war")["count"] > 30
    assert res.summary["without"][0]["rule"] == "a.go"
    assert res.manifest["without"][0]["removed_by"] == "when=false"
    assert "actors.a.rules.go.when=false" in res.manifest["overrides"]
    assert res.manifest["command"].endswith("--without go")
    assert res.manifest["sha256"] == load_scenario(toy, ("actors.a.rules.go.when=false",)).sha256
    assert res.manifest["sha256"] != base.manifest["sha256"]
    # The coin of actor B falls the same way in every world.
    assert (res.runs["flag_flipped"] == base.runs["flag_flipped"]).all()


def test_without_a_constraint_lets_the_action_happen(toy, tmp_path):
    base = run_batch(toy, runs=100, out=tmp_path / "base", progress=False)
    res = run_batch(toy, runs=100, without=["a.no_march"], out=tmp_path / "ko", progress=False)
    assert not base.runs["flag_marched"].any()
    assert res.runs["flag_marched"].all()
    assert res.manifest["without"][0]["removed_by"] == "allowed_if=true"


def test_knockouts_known_answers(toy, tmp_path):
    res = run_knockouts(toy, runs=400, out=tmp_path / "k", progress=False)
    t = res.table.set_index(["rule", "output"])
    go = t.loc[("a.go", "war")]
    assert go["base_count"] > 40 and go["knockout_count"] == 0
    assert go["diff"] == pytest.approx(-go["base_p"])
    assert go["hi"] < 0
    for rule in ("a.idle", "a.late"):  # change nothing: exactly 0, interval holds 0
        rows = res.table[res.table["rule"] == rule]
        assert (rows["diff"] == 0).all() and (rows["only_base"] + rows["only_knockout"] == 0).all()
        assert ((rows["lo"] <= 0) & (rows["hi"] >= 0)).all()
    march = t.loc[("a.no_march", "marched")]
    assert march["base_p"] == 0 and march["knockout_p"] == 1 and march["lo"] > 0
    first = res.summary["knockouts"][0]
    assert first["rule"] == "a.no_march" and first["actor_name"] == "Actor A"
    assert res.summary["knockouts"][1]["rule"] == "a.go"
    assert res.kind == "knockouts" and res.manifest["worlds"] == 400 * 7
    # The base of the knock-outs is the batch of the same seed.
    batch = run_batch(toy, runs=400, out=tmp_path / "b", progress=False)
    war = next(o for o in batch.summary["outcomes"] if o["id"] == "war")
    assert go["base_count"] == war["count"]


def test_knockouts_reproducible_and_rules_option(toy, tmp_path):
    a = run_knockouts(toy, runs=200, seed=9, rules=["go", "b.coin"], out=tmp_path / "a")
    run_knockouts(toy, runs=200, seed=9, rules=["go", "b.coin"], out=tmp_path / "b")
    assert (tmp_path / "a/knockouts.csv").read_bytes() == (
        tmp_path / "b/knockouts.csv"
    ).read_bytes()
    assert set(a.table["rule"]) == {"a.go", "b.coin"}
    assert a.manifest["command"].endswith("--rules a.go,b.coin")
    with pytest.raises(UsageError, match="already removed"):
        run_knockouts(toy, runs=50, without=["go"], rules=["go"], out=tmp_path / "c")


def test_cli(toy, tmp_path, capsys):
    assert DEFAULT_RUNS == CLI_RUNS
    assert main(["batch", str(toy), "--runs", "20", "--without", "gox", "-q"]) == 2
    assert "did you mean a.go" in capsys.readouterr().err
    assert main(["knockouts", str(toy), "--runs", "20", "--rules", "a.nope", "-q"]) == 2
    capsys.readouterr()
    folder = tmp_path / "k"
    code = main(["knockouts", str(toy), "--runs", "200", "--out", str(folder), "-q", "--no-plots"])
    assert code == 0
    text = capsys.readouterr().out
    assert "Actor A: go (trigger)" in text and "Attack at a daily chance p" in text
    assert "Changed no outcome or key flag in any world (3): a.idle, a.late, a.want_march" in text
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["runs"] == 200


# -- the co-occurrence attribution: its chart and the report's table agree ---------------
class _Rows(HTMLParser):
    """The report's rule tables: per body row, the rule id (the first code in its first
    cell) and its other cells by their column heading."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self._head: list[str] = []
        self._cells: list[str] = []
        self._text: list[str] | None = None
        self._rule: str | None = None
        self._code: list[str] | None = None
        self._in_rules = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._in_rules = "rules" in (dict(attrs).get("class") or "")
            self._head = []
        elif self._in_rules and tag == "tr":
            self._cells, self._rule = [], None
        elif self._in_rules and tag in ("td", "th"):
            self._text = []
        elif self._in_rules and tag == "code" and not self._cells and self._rule is None:
            self._code = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "code" and self._code is not None:
            self._rule, self._code = "".join(self._code).strip(), None
        elif tag in ("td", "th") and self._text is not None:
            text = " ".join("".join(self._text).split())
            (self._head if tag == "th" else self._cells).append(text)
            self._text = None
        elif tag == "tr" and self._in_rules and self._cells and self._rule:
            self.rows.append(
                {"rule": self._rule} | dict(zip(self._head, self._cells, strict=False))
            )
        elif tag == "table":
            self._in_rules = False

    def handle_data(self, data: str) -> None:
        if self._code is not None:
            self._code.append(data)
        if self._text is not None:
            self._text.append(data)


def _pct(text: str) -> float:
    if text in ("–", "-", ""):  # no share (no worlds): compares unequal to anything
        return float("nan")
    return 0.0 if text.startswith("<") else float(text.rstrip("%")) / 100


# ``hot`` fires at the same daily chance as the attack, on its own draws: more often in
# the worlds that end in war than in all worlds, yet far from all its worlds end in war.
HOT = TOY.replace(
    "      want_march:",
    "      hot: {kind: trigger, action: pose, prob: p, cites: [kremlin-appetite-decides]}\n"
    "      want_march:",
)


def test_attribution_chart_and_report_table_show_the_same_numbers(write_scenario, tmp_path):
    """Read from one batch: each number in the chart's cells is the one in the report's table
    under the same rule and outcome (to the chart's rounding), and the chart's numbers are the
    share of each outcome's worlds in which the rule fired."""
    res = run_batch(write_scenario(HOT), runs=400, out=tmp_path / "b", progress=False)
    fig = plot_attribution(res.folder)
    ax = fig.axes[0]
    rules = [t.get_text().split(" (")[0] for t in ax.get_yticklabels()]
    outcomes = [o["id"] for o in res.summary["outcomes"]]
    chart = {
        (rules[round(t.get_position()[1])], (["all", *outcomes])[round(t.get_position()[0])]): t
        for t in ax.texts
    }
    parser = _Rows()
    parser.feed(_attribution(gather(res.folder, context=False)))
    heading = {"Fired": "all"} | {o["name"]: o["id"] for o in res.summary["outcomes"]}
    table = {}
    for row in parser.rows:
        for name, o in heading.items():
            if name in row:
                table[(row["rule"], o)] = _pct(row[name])
    assert "hot" in rules and "go" in rules and "idle" not in rules  # idle fires everywhere
    compared = 0
    for (rule, o), text in chart.items():
        if text.get_text() == "no worlds" or (rule, o) not in table:
            continue
        assert abs(_pct(text.get_text()) - table[(rule, o)]) <= 0.005 + 1e-9, (rule, o)
        compared += 1
    assert compared >= 2 * (len(outcomes) + 1)
    # The chart shows the share of the war worlds in which hot fired, not the share of
    # the worlds where hot fired that ended in war (the two differ here by far).
    hot = res.rules.set_index("rule").loc["hot"]
    assert _pct(chart[("hot", "war")].get_text()) == pytest.approx(hot["fired_in_war"], abs=0.0051)
    assert abs(hot["share_war"] - hot["fired_in_war"]) > 0.1


def test_sweep_and_compare_honour_without(toy, tmp_path):
    """--without is a shared run option: a sweep removes the rule at every design point,
    and a comparison of folders refuses it (their worlds are already run)."""
    from sim.batch.compare import compare
    from sim.batch.sweep import run_sweep

    res = run_sweep(
        toy, ["param.p=0.05,0.1"], runs=100, without=["go"], out=tmp_path / "s", progress=False
    )
    assert (res.points["p_war"] == 0).all()
    assert res.manifest["without"][0]["rule"] == "a.go"
    assert "--without go" in res.manifest["command"]
    a = run_batch(toy, runs=50, out=tmp_path / "a", progress=False)
    with pytest.raises(UsageError, match="--without"):
        compare(a.folder, a.folder, without=["go"], out=tmp_path / "c", progress=False)
