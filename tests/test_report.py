"""The HTML report: what it says, that it is self-contained, and its errors.

Most tests use a synthetic project in ``tmp_path`` (seeds, one scenario and
a results folder written to the batch format by hand), so they do not depend
on the batch runner; one smoke test runs a real small batch when it can.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import DEFAULT_SCENARIO
from matplotlib.figure import Figure

from sim.errors import ResultsError
from sim.report import (
    REPORT_NAME,
    gather,
    interval,
    percent,
    rank_rules,
    reproduce_command,
    write_report,
)
from sim.scenario import load_scenario
from sim.tables import FORMAT_VERSION, record_tables

SOURCES = """
sources:
  - id: daily-news
    outlet: The Daily News
    title: Tensions rise & talks stall
    date: 2022-01-10
    author: A. Writer
    url: https://news.example.org/2022/01/10/tensions
  - id: think-tank
    outlet: Think Tank
    title: Why the drills matter
    date: 2022-01-12
"""

CLAIMS = """
claims:
  - id: claim-alpha
    sources: [daily-news]
    actors: [kremlin]
    kind: threat
    stated_by: A spokesman
    summary: The spokesman warned that provocations would be answered <at once>.
    contradicts: [claim-beta]
  - id: claim-beta
    sources: [think-tank]
    actors: [kremlin]
    kind: assessment
    stated_by: author
    summary: Analysts judged the warnings to be bluster meant for a home audience.
    contradicts: [claim-alpha]
  - id: claim-gamma
    sources: [daily-news, think-tank]
    actors: [nato]
    kind: commitment
    stated_by: An alliance official
    summary: The alliance promised to reinforce its flank if troops stayed.
    value: {quantity: 4000, unit: troops, approx: true}
  - id: claim-unused
    sources: [think-tank]
    actors: [other]
    kind: figure
    stated_by: author
    summary: A figure that no rule in the top list cites.
"""

SCENARIO = """
scenario:
  name: tiny
  title: "Tiny crisis: A & B <test>"
  description: >-
    Two actors poke and push. Does anyone go to war?
  start: 2022-01-01
  horizon_days: 30
  seed: 3
ladder:
  calm: {name: Calm, mid_level: 1}
  war: {name: War, mid_level: 5}
actors:
  one:
    name: One
    actions:
      wait: {default: true}
      poke: {}
      calm_down: {deescalate_to: calm}
    rules:
      poke_often:
        kind: trigger
        action: poke
        prob: 0.2
        description: Pokes now and then <when bored>.
        cites: [claim-alpha, claim-beta]
      calm:
        kind: preference
        action: calm_down
        utility: 0.1
        cites: [claim-alpha]
  two:
    name: Two
    actions:
      wait: {default: true}
      push: {escalate_to: war}
    rules:
      push_back: {kind: trigger, action: push, prob: 0.1, cites: [claim-gamma]}
flags:
  poked: {name: One poked, when: peak >= rungs.war}
  pushed: {name: Two pushed, when: peak >= rungs.war, at: end}
outcomes:
  quiet: {name: Quiet days}
  war: {name: Open war, when: peak >= rungs.war}
  nuclear: {name: Nuclear exchange, when: peak >= rungs.war and peak < rungs.calm}
"""

OUTCOMES = [
    {"id": "quiet", "name": "Quiet days", "colour": "#4477aa", "count": 1731},
    {"id": "war", "name": "Open war", "colour": None, "count": 1269},
    {"id": "nuclear", "name": "Nuclear exchange", "colour": "red;}</style>", "count": 0},
]
P = {"quiet": (0.577, 0.5593, 0.5945), "war": (0.423, 0.4054, 0.4407), "nuclear": (0, 0, 0.0013)}
# rule -> (actor, kind, action, cites, worlds_fired, fired_in quiet/war/nuclear)
RULES = {
    "poke_often": ("one", "trigger", "poke", "claim-alpha;claim-beta", 1500, (0.1, 0.9, None)),
    "push_back": ("two", "trigger", "push", "claim-gamma", 1200, (0.2, 0.7, None)),
    "calm": ("one", "preference", "calm_down", "claim-alpha", 3000, (1.0, 1.0, None)),
}
CHART_STEMS = ["outcomes", "flags", "fan", "occupancy", "time_to_event", "attribution"]


def png(label: str) -> bytes:
    """A small real PNG (drawn without pyplot, so no GUI backend is touched)."""
    fig = Figure(figsize=(2, 1), dpi=40)
    fig.text(0.5, 0.5, label, ha="center")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def write_folder(folder: Path, scenario_file: str, sha256: str, **manifest: object) -> Path:
    """A results folder in the batch format (tables, summary, plots, then the manifest)."""
    (folder / "plots").mkdir(parents=True)
    outcomes = [o | dict(zip(("p", "lo", "hi"), P[o["id"]], strict=True)) for o in OUTCOMES]
    summary = {
        "scenario": "tiny",
        "title": "Tiny crisis: A & B <test>",
        "start": "2022-01-01",
        "horizon_days": 30,
        "runs": 3000,
        "seed": 7,
        "outcomes": outcomes,
        "flags": [
            {
                "id": "poked",
                "name": "One poked",
                "count": 1830,
                "p": 0.61,
                "lo": 0.5924,
                "hi": 0.6273,
            },
            {
                "id": "pushed",
                "name": "Two pushed",
                "count": 1,
                "p": 1 / 3000,
                "lo": 0,
                "hi": 0.0019,
            },
        ],
        "ladder": [
            {"id": "calm", "name": "Calm", "mid_level": 1, "colour": None},
            {"id": "war", "name": "War", "mid_level": 5, "colour": None},
        ],
        "events": [
            {
                "id": "talks",
                "name": "Talks",
                "kind": "scheduled",
                "start_date": "2022-01-05",
                "end_date": "2022-01-06",
            }
        ],
        "key_rungs": ["war"],
        "key_flags": ["poked"],
    }
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    ids = [o["id"] for o in OUTCOMES]
    with (folder / "rules.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(
            ["rule", "actor", "kind", "action", "cites", "worlds_fired", "share_fired"]
            + [f"share_{o}" for o in ids]
            + [f"fired_in_{o}" for o in ids]
        )
        for rule, (actor, kind, action, cites, fired, fired_in) in RULES.items():
            shares = [
                (x or 0) * o["count"] / fired for x, o in zip(fired_in, OUTCOMES, strict=True)
            ]
            w.writerow(
                [rule, actor, kind, action, cites, fired, fired / 3000]
                + [s if o["count"] else "" for s, o in zip(shares, OUTCOMES, strict=True)]
                + ["" if x is None else x for x in fired_in]
            )
    (folder / "daily.csv").write_text("day,date,worlds\n0,2022-01-01,3000\n", encoding="utf-8")
    (folder / "runs.csv").write_text("world,outcome\n0,quiet\n", encoding="utf-8")
    m = {
        "format_version": FORMAT_VERSION,
        "kind": "batch",
        "scenario": "tiny",
        "scenario_file": scenario_file,
        "sha256": sha256,
        "overrides": [],
        "seed": 7,
        "runs": 3000,
        "executor": "local",
        "workers": 4,
        "versions": {"sim": "0.1.0", "numpy": "2.0"},
        "started": "2022-01-01T10:00:00+00:00",
        "finished": "2022-01-01T10:00:02+00:00",
        "wall_seconds": 2.0,
        "command": f"wargame batch {scenario_file} --runs 3000 --seed 7",
        "tables": record_tables(folder),
    }
    m.update(manifest)
    (folder / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    for stem in CHART_STEMS:
        (folder / "plots" / f"{stem}.png").write_bytes(png(stem))
        (folder / "plots" / f"{stem}.svg").write_text("<svg/>", encoding="utf-8")
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with seeds/ and scenarios/tiny.yaml."""
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    (tmp_path / "seeds" / "claims.yaml").write_text(CLAIMS, encoding="utf-8")
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "tiny.yaml").write_text(SCENARIO, encoding="utf-8")
    return tmp_path


@pytest.fixture
def folder(project: Path) -> Path:
    sha = load_scenario(project / "scenarios" / "tiny.yaml").sha256
    return write_folder(
        project / "results" / "tiny" / "20220101-100000", "scenarios/tiny.yaml", sha
    )


@pytest.fixture
def page(folder: Path) -> str:
    return write_report(folder).read_text(encoding="utf-8")


class Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(page)
    return parser.tags


def text_of(page: str) -> str:
    """The page without tags and with entities decoded, whitespace collapsed."""
    import html

    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


# -- the page --------------------------------------------------------------------
def test_report_is_written_into_the_folder(folder: Path) -> None:
    path = write_report(folder)
    assert path == folder / REPORT_NAME
    assert path.is_file()
    assert not list(folder.glob(".*.tmp"))


def test_title_name_dates_and_description(page: str) -> None:
    assert "<h1>Tiny crisis: A &amp; B &lt;test&gt;</h1>" in page
    assert "<title>Tiny crisis: A &amp; B &lt;test&gt;" in page
    words = text_of(page)
    assert "tiny" in words
    assert "2022-01-01 to 2022-01-30 (30 days)" in words
    assert "Two actors poke and push. Does anyone go to war?" in words


@pytest.mark.parametrize(
    ("name", "p", "ci", "count"),
    [
        ("Quiet days", "57.7%", "55.9–59.5%", "1,731"),
        ("Open war", "42.3%", "40.5–44.1%", "1,269"),
        ("Nuclear exchange", "0.0%", "0.0–0.1%", "0"),
    ],
)
def test_outcome_table_row(page: str, name: str, p: str, ci: str, count: str) -> None:
    details = page[page.index('id="outcomes"') :]
    row = re.search(rf"<tr><td>(?:<span[^>]*></span>)?{name}</td>(.*?)</tr>", details)
    assert row, f"no row for {name}"
    assert re.findall(r"<td class=num>(.*?)</td>", row.group(1)) == [p, ci, count]


def test_flags_table(page: str) -> None:
    words = text_of(page)
    assert "One poked key 61.0% 59.2–62.7% 1,830" in words
    assert "Two pushed <0.1% 0.0–0.2% 1" in words


def test_unsafe_colour_is_not_put_in_a_style(page: str) -> None:
    assert "#4477aa" in page
    assert "red;}" not in page


def test_every_chart_is_embedded_with_its_bytes(folder: Path, page: str) -> None:
    found = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    pngs = sorted(folder.glob("plots/*.png"))
    assert len(found) == len(pngs) == len(CHART_STEMS)
    assert {base64.b64decode(x) for x in found} == {p.read_bytes() for p in pngs}
    for stem in CHART_STEMS:
        assert f'id="chart-{stem}"' in page
    assert page.count("<figcaption>") == len(CHART_STEMS)


def test_charts_come_in_reading_order_and_unknown_ones_too(folder: Path) -> None:
    (folder / "plots" / "extra_view.png").write_bytes(png("extra"))
    page = write_report(folder).read_text(encoding="utf-8")
    order = re.findall(r'<figure id="chart-([a-z_]+)"', page)
    assert order == [*CHART_STEMS, "extra_view"]
    assert "<h3>Extra view</h3>" in page


def test_nothing_is_loaded_from_elsewhere(page: str) -> None:
    assert "<script" not in page
    assert "<link" not in page
    assert "@import" not in page
    assert "url(" not in page
    for tag, attrs in tags(page):
        for name, value in attrs.items():
            if tag == "a" and name == "href":
                continue
            assert not (value or "").lower().startswith(("http:", "https:", "//")), (tag, name)
        if tag == "img":
            assert (attrs.get("src") or "").startswith("data:image/png;base64,")
    assert not re.search(r'<img src="http', page)


def test_only_anchors_point_outside(page: str) -> None:
    outside = [
        (tag, a.get("href")) for tag, a in tags(page) if (a.get("href") or "").startswith("http")
    ]
    assert outside
    assert all(tag == "a" for tag, _ in outside)


def test_rule_attribution_table_is_ranked_by_influence(page: str) -> None:
    table = page[page.index('<table class="rules">') :]
    table = table[: table.index("</table>")]
    rules = re.findall(r'<code class="id">([a-z_]+)</code></td>', table)
    assert rules == ["poke_often", "push_back", "calm"]
    words = text_of(table)
    # The description first, then who does what by name, then the id, small.
    assert "Pokes now and then <when bored>. One, trigger: Poke poke_often 50.0%" in words
    assert "<when bored>" not in page


def test_claims_of_cited_rules_with_summaries_and_sources(page: str) -> None:
    claims = page[page.index('id="claims"') : page.index('id="reproduce"')]
    words = text_of(claims)
    for cid in ("claim-alpha", "claim-beta", "claim-gamma"):
        assert cid in words
    assert "The spokesman warned that provocations would be answered <at once>." in words
    assert "<at once>" not in claims
    assert "Analysts judged the warnings to be bluster meant for a home audience." in words
    assert "stated by An alliance official" in words
    assert "claim-beta assessment stated by the source's author" in words
    assert "Value: about 4,000 troops" in words
    assert "Disputed by: claim-beta" in words
    assert "A. Writer, The Daily News, “Tensions rise & talks stall”, 2022-01-10" in words
    assert '<a href="https://news.example.org/2022/01/10/tensions"' in claims
    assert "Think Tank, “Why the drills matter”, 2022-01-12" in words
    assert "claim-unused" not in words


def test_reproduce_command_and_manifest(page: str) -> None:
    assert "<pre><code>wargame batch scenarios/tiny.yaml --runs 3000 --seed 7</code></pre>" in page
    words = text_of(page[page.index('id="manifest"') :])
    for item in ("seed 7", "runs 3000", "executor local", "workers 4", "wall_seconds 2.0"):
        assert item in words
    assert "sim 0.1.0" in words
    assert "sha256" in words


def test_manifest_section_lists_the_checked_tables(folder: Path, page: str) -> None:
    record = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["tables"]
    words = text_of(page[page.index('id="manifest"') :])
    assert "Tables Each table matched this record" in words
    for name in ("rules.csv", "daily.csv", "runs.csv"):
        assert f"{name} {record[name]['rows']} {record[name]['sha256']}" in words
    assert '"sha256":' not in page  # shown as a table, not as the raw record


def test_folder_without_manifest_is_refused(folder: Path) -> None:
    """Without its manifest no table can be checked: refused, as by every reader."""
    (folder / "manifest.json").unlink()
    with pytest.raises(ResultsError, match=r"not a results folder \(no manifest\.json\)"):
        gather(folder, context=False)
    assert not (folder / REPORT_NAME).exists()


def test_altered_rules_table_is_refused(folder: Path) -> None:
    rules = folder / "rules.csv"
    rules.write_text(rules.read_text(encoding="utf-8").replace("1500", "1600"), encoding="utf-8")
    with pytest.raises(ResultsError, match=r"rules\.csv: altered after it was written"):
        write_report(folder)
    assert not (folder / REPORT_NAME).exists()


def test_the_same_folder_gives_the_same_bytes(folder: Path) -> None:
    first = write_report(folder).read_bytes()
    assert write_report(folder).read_bytes() == first


def test_latest_folder_of_a_scenario_is_found(folder: Path) -> None:
    (folder.parent / "latest.txt").write_text(folder.name + "\n", encoding="utf-8")
    assert write_report(folder.parent) == folder / REPORT_NAME


# -- what is missing or has changed -------------------------------------------------
def test_changed_scenario_is_noted(project: Path) -> None:
    folder = write_folder(project / "out", "scenarios/tiny.yaml", "0" * 64)
    page = write_report(folder).read_text(encoding="utf-8")
    assert "has changed since this batch ran" in page


def test_missing_scenario_and_plots_still_give_a_report(project: Path) -> None:
    folder = write_folder(project / "out", "scenarios/gone.yaml", "0" * 64)
    for p in (folder / "plots").iterdir():
        p.unlink()
    page = write_report(folder).read_text(encoding="utf-8")
    words = text_of(page)
    assert "scenario file named in the manifest was not found" in words
    assert "No charts in plots/" in words
    assert "data:image/png" not in page
    # The claims still come from the nearest seeds/ folder.
    assert "Analysts judged the warnings" in words


def test_reproduce_command_is_rebuilt_when_the_manifest_lacks_it() -> None:
    m = {
        "scenario_file": "scenarios/my file.yaml",
        "runs": 500,
        "seed": 11,
        "overrides": ["parameters.appetite.value=0.8", "scenario.horizon_days=40"],
    }
    assert reproduce_command(m) == (
        "wargame batch 'scenarios/my file.yaml' --runs 500 --seed 11 "
        "--set parameters.appetite.value=0.8 --set scenario.horizon_days=40"
    )
    assert reproduce_command({"command": "wargame batch a.yaml"}) == "wargame batch a.yaml"
    assert reproduce_command({}) == ""


def test_rebuilt_command_appears_in_the_report(project: Path) -> None:
    folder = write_folder(project / "out", "scenarios/tiny.yaml", "", command=None)
    page = write_report(folder).read_text(encoding="utf-8")
    assert "<pre><code>wargame batch scenarios/tiny.yaml --runs 3000 --seed 7</code></pre>" in page


def test_missing_folder_is_a_results_error(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="no such results folder"):
        write_report(tmp_path / "nope")


def test_folder_without_summary_is_a_results_error(folder: Path) -> None:
    (folder / "summary.json").unlink()
    with pytest.raises(ResultsError, match=r"summary\.json: missing from the results folder"):
        write_report(folder)


def test_unreadable_summary_is_a_results_error(folder: Path) -> None:
    (folder / "summary.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ResultsError, match=r"summary\.json:1:2: cannot be read"):
        write_report(folder)


def test_sweep_folder_is_refused(project: Path) -> None:
    folder = write_folder(project / "out", "scenarios/tiny.yaml", "", kind="sweep")
    with pytest.raises(ResultsError, match="'sweep' folder"):
        write_report(folder)


# -- pieces ------------------------------------------------------------------------
def test_rank_rules_ignores_unreached_outcomes_and_breaks_ties() -> None:
    outcomes = [{"id": "a", "count": 5}, {"id": "b", "count": 5}, {"id": "c", "count": 0}]
    rows = [
        {"rule": "z", "share_fired": "0.5", "fired_in_a": "0.2", "fired_in_b": "0.6"},
        {"rule": "y", "share_fired": "0.5", "fired_in_a": "0.6", "fired_in_b": "0.2"},
        {"rule": "x", "share_fired": "0.9", "fired_in_a": "0.1", "fired_in_b": "0.5"},
        {"rule": "w", "share_fired": "1", "fired_in_a": "1", "fired_in_b": "1", "fired_in_c": "0"},
        {"rule": "v", "share_fired": "0", "fired_in_a": "", "fired_in_b": "nan"},
    ]
    ranked = rank_rules(rows, outcomes)
    assert [r.rule for r in ranked] == ["x", "y", "z", "w", "v"]
    assert ranked[0].influence == pytest.approx(0.4)
    assert ranked[3].influence == 0.0


def test_percent_and_interval() -> None:
    assert percent(0.4231) == "42.3%"
    assert percent(1) == "100.0%"
    assert percent(0) == "0.0%"
    assert percent(0.0001) == "<0.1%"
    assert percent(None) == "–"
    assert interval(0.4054, 0.4407) == "40.5–44.1%"
    assert interval(None, 0.1) == "–"


def test_gather_without_context_loads_no_scenario(folder: Path) -> None:
    data = gather(folder, context=False)
    assert data.scenario is None and data.registry is None
    assert [r.rule for r in data.rules] == ["poke_often", "push_back", "calm"]
    assert list(data.charts) == sorted(CHART_STEMS)


# -- command line ------------------------------------------------------------------
def test_report_command_prints_the_path(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sim import cli

    assert cli.main(["report", str(folder)]) == 0
    assert capsys.readouterr().out.strip() == str(folder / REPORT_NAME)


def test_report_command_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sim import cli

    assert cli.main(["report", str(tmp_path / "nope")]) == 2
    assert "no such results folder" in capsys.readouterr().err


# -- a real batch ------------------------------------------------------------------
def test_report_of_a_real_batch(tmp_path: Path) -> None:
    """A small real batch (without its charts, which take seconds to draw)."""
    runner = pytest.importorskip("sim.batch.runner")
    scenario = DEFAULT_SCENARIO
    result = runner.run_batch(scenario, runs=300, seed=7, out=tmp_path / "r", progress=False)
    page = write_report(result.folder).read_text(encoding="utf-8")
    summary = json.loads((result.folder / "summary.json").read_text(encoding="utf-8"))
    words = text_of(page)
    assert summary["title"] in words
    for o in summary["outcomes"]:
        assert f"{o['name']} {percent(o['p'])} {interval(o['lo'], o['hi'])}" in words
    assert "Claims behind the most influential rules" in words
    assert "claims registry not available" not in words
    assert "not in seeds/claims.yaml" not in words
    assert "has changed since this batch ran" not in words
    assert "--runs 300 --seed 7" in words
