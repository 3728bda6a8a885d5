"""The report's first page (the brief), against known answers on a toy scenario.

The toy's hawk strikes (war) with a daily chance that grows with
``hawk_appetite`` and skirmishes (armed incident) now and then whatever it
is; ``dove_mood`` is drawn but read by nothing. So the brief must name
``hawk_appetite``'s description as the driver of war, with a lower share in
its bottom fifth than in its top one, and leave ``dove_mood`` out. Every
share is checked against a count over ``runs.csv``.

The browser tests open the page in headless Chromium at A4 width (794 px at
96 dpi): a screenshot of the first screen, the DOM after a script has
measured the page, and the brief alone printed to PDF on one A4 page. They
are skipped when Chromium is missing, except in CI (``CI=true``), where a
missing browser is a failure of the setup.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import DEFAULT_SCENARIO
from test_viewer_browser import CHROMIUM_ARGS as VIEWER_CHROMIUM_ARGS

import sim
from sim.report import gather
from sim.report.brief import (
    Driver,
    knockout_lines,
    knockouts_beside,
    variants_of,
)
from sim.report.drawing import present
from sim.results.drivers import parameter_name
from sim.stats import wilson

RUNS = 2000
SEED = 5

TOY = """
scenario:
  name: toy_brief
  title: "Hawk and dove: does the border stay calm?"
  description: >-
    A hawk weighs a strike across the border. Does it stay calm, does it come to
    skirmishes, or to war?
  start: 2022-03-01
  horizon_days: 30
  seed: 1
parameters:
  hawk_appetite:
    dist: uniform
    low: 0.0
    high: 1.0
    description: How keen the hawk is on a strike (modellers' assumption).
    cites: [kremlin-appetite-decides]
  dove_mood:
    dist: uniform
    low: 0.0
    high: 1.0
    description: A mood of the dove that nothing reads.
    cites: [kremlin-appetite-decides]
ladder:
  calm_days: {name: Calm days, mid_level: 1}
  border_clash: {name: Border clash, mid_level: 4}
  open_war: {name: Open war on the border, mid_level: 5}
actors:
  hawk_state:
    name: The hawk
    actions:
      hold_fire: {default: true}
      border_skirmish: {name: Skirmish, escalate_to: border_clash, once: true}
      full_strike: {name: Strike, escalate_to: open_war, once: true}
    rules:
      skirmish_now_and_then:
        kind: trigger
        action: border_skirmish
        prob: 0.01
        description: Skirmishes now and then.
        cites: [kremlin-appetite-decides]
      strike_when_keen:
        kind: trigger
        action: full_strike
        prob: 0.04 * hawk_appetite
        description: Strikes more often the keener it is.
        cites: [kremlin-appetite-decides]
flags:
  shots_fired: {name: Shots fired, when: peak >= rungs.border_clash}
outcomes:
  calm_border: {name: Calm border}
  skirmishes_only: {name: Skirmishes only, when: peak >= rungs.border_clash}
  war_on_border: {name: War on the border, when: peak >= rungs.open_war}
reporting:
  key_rungs: [border_clash, open_war]
"""


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("brief")
    path = folder / "toy_brief.yaml"
    path.write_text(TOY, encoding="utf-8")
    result = sim.run_batch(
        path, runs=RUNS, seed=SEED, out=folder / "batch", progress=False, on_complete=present
    )
    return result


@pytest.fixture(scope="module")
def default_page(tmp_path_factory) -> str:
    """The default scenario's report (1,000 worlds, its own seed), charts and all."""
    folder = tmp_path_factory.mktemp("default") / "batch"
    sim.run_batch(DEFAULT_SCENARIO, runs=1000, out=folder, progress=False, on_complete=present)
    return (folder / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def data(toy):
    return gather(toy.folder)


@pytest.fixture(scope="module")
def page(toy) -> str:
    return (toy.folder / "report.html").read_text(encoding="utf-8")


def text_of(markup: str) -> str:
    """Visible text: tags dropped (images' alt kept), entities decoded, spaces collapsed."""
    markup = re.sub(r'<img alt="([^"]*)"[^>]*>', r" \1 ", markup)
    markup = re.sub(r"<style>.*?</style>|<title>.*?</title>", " ", markup, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def brief_part(page: str) -> str:
    return page[page.index('<section id="brief">') : page.index('<section id="details">')]


def _pct(k: int, n: int) -> str:
    return f"{100 * k / n:.0f}%"


# -- what page 1 says --------------------------------------------------------------
def test_headline_names_the_likeliest_outcome_and_the_share_reaching_war(toy, data):
    runs = toy.runs
    counts = runs["outcome"].value_counts()
    likely = counts.idxmax()
    name = {o["id"]: o["name"] for o in data.summary["outcomes"]}[likely]
    war = int((runs["peak"] == "open_war").sum())
    lo, hi = wilson(war, RUNS)
    b = data.brief
    assert b.headline.startswith(
        f"The most likely outcome is {name}, in {_pct(int(counts.max()), RUNS)} of 2,000 "
        "simulated worlds"
    )
    assert f"; {_pct(war, RUNS)} ({100 * lo:.0f}–{100 * hi:.0f}%) reach war" in b.headline
    assert b.question.startswith("A hawk weighs a strike across the border.")


def test_war_and_use_of_force_are_counted_from_the_ladder(toy, data):
    runs = toy.runs
    by_name = {a.name: a for a in data.brief.aggregates}
    assert set(by_name) == {"War", "Any use of force"}
    war = by_name["War"]
    assert war.share.count == int((runs["peak"] == "open_war").sum())
    assert (war.share.lo, war.share.hi) == pytest.approx(wilson(war.share.count, RUNS))
    assert "Open war on the border" in war.definition and "level 5" in war.definition
    force = by_name["Any use of force"]
    assert force.share.count == int(runs["peak"].isin(["border_clash", "open_war"]).sum())
    assert "Border clash or a rung above it" in force.definition


def test_the_driver_of_war_is_the_parameter_that_decides_it(data):
    b = data.brief
    assert b.drivers_output == "War on the border"
    assert [d.parameter for d in b.drivers] == [
        parameter_name("hawk_appetite", "How keen the hawk is on a strike (modellers' assumption).")
    ]
    d = b.drivers[0]
    assert d.low < d.high and d.swing_lo > 0
    assert d.sentence().startswith("How keen the hawk is on a strike: War on the border in ")
    assert "when it is lowest (0.0" in d.sentence()
    assert b.quiet_drivers == 1  # dove_mood, drawn and read by nothing


def test_time_to_event_is_the_median_first_day_of_the_worlds_reaching_the_rung(toy, data):
    runs = toy.runs
    by_rung = {m.rung: m for m in data.brief.milestones}
    assert list(by_rung) == ["Border clash", "Open war on the border"]
    days = runs["first_day_open_war"].dropna()
    war = by_rung["Open war on the border"]
    assert war.median_day == float(np.median(days))
    assert war.reached is not None and war.reached.count == len(days)
    assert war.date is not None and war.date.endswith("2022")


def test_caveats_say_what_the_intervals_cover_and_what_is_assumed(data):
    words = " ".join(data.brief.caveats)
    assert "sampling error only" in words and "do not cover model error" in words
    assert "2 parameters drawn in each world" in words
    # The one whose description says it is the modellers' assumption is named.
    assert "own assumptions: How keen the hawk is on a strike." in words
    assert "A mood of the dove" not in words


def test_page_one_holds_headline_shares_drivers_time_and_caveats(data, page):
    one = text_of(brief_part(page))
    b = data.brief
    assert html.unescape(b.headline) in one
    for o in data.summary["outcomes"]:
        lo, hi = 100 * o["lo"], 100 * o["hi"]
        assert f"{o['name']} {100 * o['p']:.1f}% {lo:.1f}–{hi:.1f}%" in one
    assert "War " + f"{100 * b.aggregates[0].share.p:.1f}%" in one
    assert f"What drives {b.drivers_output}" in one
    assert f"{b.drivers[0].parameter} : {b.drivers[0].shares()}." in one
    assert "When Key rung Reached First reached, median Border clash" in one
    assert "What these numbers do not say" in one and "sampling error only" in one
    assert 'id="chart-outcomes"' in brief_part(page)
    # The rules, claims and manifest are not on page 1 but in the appendix.
    appendix = page[page.index('<section id="appendix">') :]
    for anchor in ('id="rules"', 'id="parameters"', 'id="claims"', 'id="manifest"'):
        assert anchor in appendix and anchor not in brief_part(page)


def test_no_raw_ids_outside_the_appendix(toy, page):
    sc = sim.load_scenario(toy.folder.parent / "toy_brief.yaml")
    ids = {sc.name}
    ids |= {o.id for o in sc.outcomes} | {f.id for f in sc.flags} | {r.id for r in sc.ladder}
    ids |= {p.id for p in sc.parameters} | {r.id for r in sc.rules} | {a.id for a in sc.actors}
    ids |= {x.id for a in sc.actors for x in a.actions}
    assert all("_" in i for i in ids)  # so none can be an ordinary word of the page
    before = text_of(page[: page.index('<section id="appendix">')])
    shown = sorted(i for i in ids if re.search(rf"\b{re.escape(i)}\b", before))
    assert shown == []
    # The appendix shows them, beside the names.
    after = text_of(page[page.index('<section id="appendix">') :])
    assert "strike_when_keen" in after and "hawk_appetite" in after


# -- knock-outs and variants ---------------------------------------------------------
def test_knockout_lines_name_the_rules_whose_removal_changes_an_outcome():
    summary = {
        "knockouts": [
            {
                "rule": "hawk_state.strike_when_keen",
                "actor_name": "The hawk",
                "description": "Strikes more often the keener it is.",
                "largest": {"output_name": "War on the border", "diff": -0.21, "lo": -0.23}
                | {"hi": -0.19, "clear": True},
            },
            {
                "rule": "hawk_state.idle",
                "description": "Changes nothing.",
                "largest": {"output_name": "Calm border", "diff": 0.0, "lo": -0.001}
                | {"hi": 0.001, "clear": False},
            },
        ]
    }
    assert knockout_lines(summary) == [
        "Without the rule “Strikes more often the keener it is” (The hawk): "
        "War on the border -21 points (-23 to -19)"
    ]
    assert knockout_lines(None) == []
    # With knockouts.csv's rows: the rules that change the asked outcome most, clear of 0.
    row = {"actor_name": "The hawk", "output": "war_on_border", "output_name": "War on the border"}
    summary["rows"] = [
        row
        | {"rule": "a.small", "description": "Small.", "diff": 0.02, "lo": 0.01, "hi": 0.03}
        | {"clear": True},
        row
        | {"rule": "a.big_one", "description": float("nan"), "diff": -0.3, "lo": -0.32}
        | {"hi": -0.28, "clear": True},
        row
        | {"rule": "a.noise", "description": "Noise.", "diff": 0.5, "lo": -0.1, "hi": 1.0}
        | {"clear": False},
        row | {"rule": "a.other", "output": "calm_border", "diff": 0.9, "clear": True},
    ]
    assert knockout_lines(summary, "war_on_border") == [
        "Without the rule “big one” (The hawk): War on the border -30 points (-32 to -28)",
        "Without the rule “Small” (The hawk): War on the border +2 points (+1 to +3)",
    ]


def test_no_knockouts_folder_beside_a_batch_gives_none(toy, data):
    assert knockouts_beside(toy.folder, toy.manifest) is None
    assert data.brief.knockouts == []


def test_a_sound_knockouts_folder_of_the_same_scenario_is_found(tmp_path, toy):
    batch = tmp_path / "toy_brief" / "20220301-000000"
    shutil.copytree(toy.folder, batch)
    ko = tmp_path / "toy_brief" / "knockouts" / "20220302-000000"
    ko.mkdir(parents=True)
    summary = {"knockouts": [{"rule": "r", "largest": {"clear": False}}]}
    (ko / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    manifest = {"kind": "knockouts", "sha256": toy.manifest["sha256"], "tables": {}}
    manifest["format_version"] = toy.manifest["format_version"]
    (ko / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert knockouts_beside(batch, toy.manifest) == summary | {"rows": []}
    # Another scenario's (or another version's) knock-outs are not this batch's.
    manifest["sha256"] = "0" * 64
    (ko / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert knockouts_beside(batch, toy.manifest) is None


def test_variants_are_the_files_that_extend_the_scenario(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("scenario: {name: base}\n", encoding="utf-8")
    (tmp_path / "b_variant.yaml").write_text(
        'extends: base.yaml\nscenario:\n  name: b_variant\n  title: "Base, counterfactual: B"\n',
        encoding="utf-8",
    )
    (tmp_path / "other.yaml").write_text("extends: elsewhere.yaml\n", encoding="utf-8")
    found = variants_of(base)
    assert [(v.file, v.title) for v in found] == [("b_variant.yaml", "Base, counterfactual: B")]


def test_a_choice_driver_names_its_options():
    d = Driver(
        "Which doctrine", "War", "only if attacked", 0.1, "like the army", 0.3, 0.2, 0.1, 0.3, True
    )
    assert d.sentence() == (
        "Which doctrine: War in 10% of worlds when it is “only if attacked” vs 30% when "
        "“like the army”"
    )


# -- in a browser at A4 width ------------------------------------------------------
CHROMIUM = next(
    (
        Path(p)
        for p in ("/usr/bin/chromium", shutil.which("chromium") or "")
        if p and Path(p).is_file()
    ),
    None,
)
CHROMIUM_ARGS = [*VIEWER_CHROMIUM_ARGS, "--hide-scrollbars"]
"""The flags of the viewer's browser test (no network, no first-run chores), no scrollbars."""
A4_WIDTH = 794
"""210 mm at 96 dpi."""
A4_HEIGHT = 1123
_REQUIRED = os.environ.get("CI", "").lower() == "true"

browser = pytest.mark.skipif(
    CHROMIUM is None and not _REQUIRED, reason="chromium not found: apt-get install -y chromium"
)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        pytest.fail("chromium is required in CI (CI=true) but was not found")
    profile = tmp_path / "profile"
    cmd = [str(CHROMIUM), *CHROMIUM_ARGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=True)


MEASURE = """
<script>
window.addEventListener("load", () => {
  const page = document.documentElement.clientWidth;
  const box = (sel) => { const e = document.querySelector(sel);
    return e ? e.getBoundingClientRect().toJSON() : null; };
  const wide = Array.from(document.querySelectorAll("table, pre, dl, img, figure"))
    .filter((e) => e.getBoundingClientRect().right > page + 0.5
      || e.scrollWidth > e.clientWidth + 1)
    .map((e) => e.tagName + "." + e.className);
  const out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify({page, scroll: document.documentElement.scrollWidth, wide,
    headline: box(".headline"), chart: box("#chart-outcomes img"),
    chartLoaded: (document.querySelector("#chart-outcomes img") || {}).naturalWidth || 0});
  document.body.appendChild(out);
});
</script>
"""


def _measured(tmp_path: Path, page: str, width: int) -> dict:
    wrapper = tmp_path / f"measure_{width}.html"
    wrapper.write_text(page.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    done = _chromium(
        tmp_path,
        f"--window-size={width},{A4_HEIGHT}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        wrapper.as_uri(),
    )
    found = re.search(r'<pre id="measured">(.*?)</pre>', done.stdout, re.S)
    assert found, "the measuring script did not run"
    return json.loads(html.unescape(found.group(1)))


def _pdf_pages(path: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", path.read_bytes()))


@browser
def test_first_screen_at_a4_width_shows_the_brief(tmp_path, toy):
    from PIL import Image

    shot = tmp_path / "page1.png"
    _chromium(
        tmp_path,
        f"--window-size={A4_WIDTH},{A4_HEIGHT}",
        f"--screenshot={shot}",
        (toy.folder / "report.html").as_uri(),
    )
    img = Image.open(shot).convert("RGB")
    assert img.size == (A4_WIDTH, A4_HEIGHT)
    grey = np.asarray(img.convert("L"))
    # Ink on the first screen: text and the chart, not a blank page.
    assert (grey < 200).mean() > 0.02
    # The outcome bars carry the severity colours: many saturated pixels.
    rgb = np.asarray(img).astype(int)
    saturated = (rgb.max(axis=2) - rgb.min(axis=2)) > 80
    assert saturated.mean() > 0.005
    if os.environ.get("WARGAME_SCREENSHOT_DIR"):
        shutil.copy(shot, Path(os.environ["WARGAME_SCREENSHOT_DIR"]) / "report_page1.png")


@browser
@pytest.mark.parametrize("width", [A4_WIDTH, 703])
def test_headline_and_chart_on_the_first_screen_and_nothing_wider_than_the_page(
    tmp_path, page, width
):
    """At A4 width, and at A4's width inside print margins (186 mm), nothing overflows."""
    m = _measured(tmp_path, page, width)
    assert m["wide"] == [] and m["scroll"] <= m["page"]
    assert m["headline"]["bottom"] < A4_HEIGHT
    assert m["chartLoaded"] > 0
    assert 0 < m["chart"]["bottom"] < A4_HEIGHT and m["chart"]["right"] <= m["page"]


@browser
@pytest.mark.parametrize("which", ["toy", "default"])
def test_the_brief_prints_on_one_a4_page(tmp_path, request, which):
    """Page 1 of the printed report holds the whole brief: alone, it prints on one A4 page."""
    page = request.getfixturevalue("page" if which == "toy" else "default_page")
    only = page.replace(
        "</style>", "section#details, section#appendix { display: none; }</style>", 1
    )
    wrapper = tmp_path / "brief.html"
    wrapper.write_text(only, encoding="utf-8")
    pdf = tmp_path / "brief.pdf"
    _chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", wrapper.as_uri())
    assert _pdf_pages(pdf) == 1
    full = tmp_path / "report.pdf"
    source = tmp_path / "report.html"
    source.write_text(page, encoding="utf-8")
    _chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={full}", source.as_uri())
    assert _pdf_pages(full) > 2  # the details, then the appendix on pages of their own


@browser
def test_default_report_has_no_table_wider_than_the_page(tmp_path, default_page):
    """The rule table of the default scenario (six outcome columns) fits in 186 mm."""
    m = _measured(tmp_path, default_page, 703)
    assert m["wide"] == [] and m["scroll"] <= m["page"]
    assert m["chart"]["bottom"] < A4_HEIGHT


def test_a_discovery_is_told_by_its_significant_limits_and_parameter_descriptions():
    from sim.report.brief import discovery_sentence

    summary = {
        "target": {"name": "War on the border"},
        "base_rate": 0.2,
        "box": {
            "sentence": "the discovery's own sentence",
            "density": 0.8,
            "density_lo": 0.75,
            "density_hi": 0.85,
            "coverage": 0.5,
            "mass": 0.125,
            "restricted": [
                {
                    "id": "hawk_appetite",
                    "name": "hawk appetite",
                    "description": "How keen",
                    "kind": "real",
                    "lower": 0.6,
                    "upper": 1.0,
                    "full_lower": 0.0,
                    "full_upper": 1.0,
                    "kept": [],
                },
                {
                    "id": "dove_mood",
                    "name": "dove mood",
                    "description": "A mood",
                    "kind": "real",
                    "lower": 0.0,
                    "upper": 0.9,
                    "full_lower": 0.0,
                    "full_upper": 1.0,
                    "kept": [],
                },
            ],
            "significant_only": {
                "restricted": ["hawk_appetite"],
                "density": 0.7,
                "density_lo": 0.65,
                "density_hi": 0.74,
                "coverage": 0.55,
                "mass": 0.16,
            },
        },
    }
    assert discovery_sentence(summary) == (
        "Scenario discovery: War on the border in 70% of worlds (65–74%) when How keen ≥ 0.6, "
        "covering 55% of the worlds where it happens (the box holds 16% of all worlds; "
        "base rate 20%)."
    )
    del summary["box"]["significant_only"]
    assert "when How keen ≥ 0.6 and A mood ≤ 0.9," in discovery_sentence(summary)
