"""The viewer (``wargame view``) in a real headless browser, plus its launcher.

The browser test starts the viewer server on 127.0.0.1 on a free port (as
``python -m sim.viz``), opens the page in Debian's Chromium through
Playwright, reads the ensemble's outcome shares, pins ``kremlin_appetite``
first to its lowest and then to its highest value with the keyboard, and
checks that the shares change the way the model says they must (more war
from Belarusian territory with a keener Kremlin). It also steps the single
world and checks that its day, rung and story appear. Screenshots go to a
temporary folder (copied to ``$WARGAME_SCREENSHOT_DIR`` if set, to look at).

It is skipped, with the reason, when Solara, Mesa's viz extra or Playwright
is not installed, or when ``/usr/bin/chromium`` is missing (CI installs it
with ``apt-get install -y chromium``). Playwright's own browser downloads are
never used.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import DEFAULT_SCENARIO

from sim.viz import cli as view_cli

SCENARIO = DEFAULT_SCENARIO
OBSERVATIONS = SCENARIO.parent / "observations" / "allied_resolve_2022.yaml"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT = 90.0  # seconds for the server to answer
UPDATE_TIMEOUT_MS = 60_000  # for the page to show or update a panel


def _missing(*modules: str) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


_MISSING = _missing("solara", "playwright", "altair")
# In CI (CI=true) the test command installs the extra and Chromium, so a
# missing piece there is a failure of the setup, not a reason to skip.
_REQUIRED = os.environ.get("CI", "").lower() == "true"
needs_browser = pytest.mark.skipif(
    not _REQUIRED and (bool(_MISSING) or not CHROMIUM.exists()),
    reason=(
        f"viewer extra not installed ({', '.join(_MISSING)}): pip install -e .[viz]"
        if _MISSING
        else f"{CHROMIUM} not found: apt-get install -y chromium"
    ),
)


# -- what the panels show, without a browser ---------------------------------------------
@pytest.fixture(scope="module")
def scenario():
    from sim.scenario import load_scenario

    return load_scenario(SCENARIO)


def test_controls_span_each_distribution_and_start_on_the_grid(scenario):
    from sim.viz.controls import UNCERTAIN, controls_for

    controls = {c.id: c for c in controls_for(scenario)}
    appetite = controls["kremlin_appetite"]
    assert (appetite.kind, appetite.low, appetite.high, appetite.default) == (
        "slider",
        0.0,
        1.0,
        0.5,
    )
    troops = controls["russian_troops"]
    assert troops.integer and troops.default == 15000 and troops.snap(12345.6) % troops.step == 0
    doctrine = controls["lukashenka_doctrine"]
    assert doctrine.kind == "select" and doctrine.default == UNCERTAIN
    assert doctrine.choices == ("only_if_attacked", "like_russian_army")
    for c in controls.values():
        if c.kind == "slider":
            assert c.snap(c.default) == c.default  # the browser will not "correct" it


def test_only_pinned_parameters_are_passed_to_the_model(scenario):
    from sim.viz.controls import UNCERTAIN, controls_for, pinned_values

    controls = controls_for(scenario)
    shown = {"kremlin_appetite": 0.904, "withdrawal_rate": 0.1, "lukashenka_doctrine": UNCERTAIN}
    assert pinned_values(controls, shown, {"kremlin_appetite": True}) == {"kremlin_appetite": 0.9}
    shown["lukashenka_doctrine"] = "like_russian_army"
    assert pinned_values(controls, shown, {})["lukashenka_doctrine"] == "like_russian_army"


def test_rationality_and_typed_overrides_become_set_strings(scenario):
    from sim.viz.controls import rationality_overrides, split_overrides

    texts = {a.id: a.rationality.source for a in scenario.actors}
    assert rationality_overrides(scenario, texts) == ()
    texts["kremlin"] = "2 * kremlin_appetite"
    assert rationality_overrides(scenario, texts) == (
        "actors.kremlin.rationality=2 * kremlin_appetite",
    )
    assert split_overrides(" a.b=1; c.d=x \n\n e=2;") == ("a.b=1", "c.d=x", "e=2")


def test_ensemble_shares_bands_and_charts(scenario):
    from sim.viz.charts import fan_spec, outcomes_spec
    from sim.viz.ensemble import run_ensemble

    low = run_ensemble(scenario, {"kremlin_appetite": 0.0}, worlds=500)
    high = run_ensemble(scenario, {"kremlin_appetite": 1.0}, worlds=500)
    assert sum(o.count for o in low.outcomes) == 500
    for o in low.outcomes:
        assert 0 <= o.low <= o.share <= o.high <= 1
    assert high.share("staging_area_war").share > low.share("staging_area_war").share + 0.2
    assert low.bands.shape == (5, scenario.horizon_days)
    assert (low.bands[:-1] <= low.bands[1:]).all()  # percentiles in order
    assert outcomes_spec(low)["layer"] and fan_spec(low)["layer"]
    same = run_ensemble(scenario, {"kremlin_appetite": 0.0}, worlds=500)
    assert [o.count for o in same.outcomes] == [o.count for o in low.outcomes]


def test_story_and_status_of_a_stepped_world(scenario):
    from sim.engine.model import WargameModel
    from sim.narrative import run_story
    from sim.viz.story import story_rows, world_rungs, world_status

    model = WargameModel(scenario, replicates=1, narrate=True, collect=False, rng=scenario.seed)
    assert world_status(model).date is None
    for _ in range(10):
        model.step()
    status = world_status(model)
    assert (status.days_done, status.date, status.outcome) == (10, scenario.date_of(9), None)
    assert world_rungs(model) == [int(x) for x in model.rung_track[:10, 0]]
    model.run()
    rows = story_rows(model)
    assert len(rows) == len(model.log) and rows[0].day == 0
    final = world_status(model)
    assert final.finished and f"Outcome: {final.outcome} [" in run_story(scenario)
    actions = [r for r in rows if r.who not in ("event", "ladder")]
    assert all(r.rule for r in actions)


# -- the launcher, in-process ----------------------------------------------------------
def test_server_command_binds_loopback_and_runs_the_app():
    cmd = view_cli.server_command(port=8123)
    assert cmd[:5] == [sys.executable, "-m", "solara", "run", "sim.viz.app"]
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--port") + 1] == "8123"
    assert "--production" in cmd


def test_server_env_names_the_scenario_and_overrides(tmp_path):
    env = view_cli.server_env("scenarios/x.yaml", ["a.b=1"], base={})
    assert env[view_cli.SCENARIO_ENV] == str((Path.cwd() / "scenarios/x.yaml").resolve())
    assert env[view_cli.OVERRIDES_ENV] == '["a.b=1"]'
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"


def test_missing_solara_gives_the_install_hint(monkeypatch, capsys):
    monkeypatch.setattr(view_cli, "_importable", lambda module: False)
    assert view_cli.main([str(SCENARIO)]) == 2
    err = capsys.readouterr().err
    assert "install the viewer extra: pip install -e .[viz]" in err


@pytest.mark.skipif(bool(_missing("solara")), reason="viewer extra not installed")
def test_bad_override_is_reported_before_any_server_starts(capsys):
    assert view_cli.main([str(SCENARIO), "--set", "parameters.nope.value=1"]) == 2
    assert "nope" in capsys.readouterr().err


# -- the page, in a browser ------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_serving(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"viewer server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"viewer server did not answer within {START_TIMEOUT:.0f} s:\n{log.read_text()}")


@contextlib.contextmanager
def _serving(folder: Path, *args: str):
    """A viewer server on 127.0.0.1 on a free port; yields its URL; stopped by pid afterwards."""
    port = _free_port()
    log = folder / "server.log"
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sim.viz", str(SCENARIO), "--port", str(port), *args],
            cwd=folder,  # solara reads a .env file from the working directory
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_until_serving(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def viewer(tmp_path):
    """The viewer of the default scenario."""
    with _serving(tmp_path) as url:
        yield url


@pytest.fixture
def observed_viewer(tmp_path):
    """The viewer of the default scenario with its observations file (the as-of slider)."""
    with _serving(tmp_path, "--observations", str(OBSERVATIONS)) as url:
        yield url


def _shares(text: str) -> dict[str, float]:
    """``P(id) = 0.123 [...]`` lines -> {id: 0.123}."""
    return {m[1]: float(m[2]) for m in re.finditer(r"P\((\w+)\) = ([0-9.]+)", text)}


def _settled_text(locator) -> str:
    """The text of the one element ``locator`` finds, "" while there is none or more
    than one: while the page draws a card again, the old element and its successor
    can both carry the test id for a moment (seen when the change table first
    appears), and reading either would be reading a page that has not settled."""
    from playwright.sync_api import Error as PlaywrightError

    if locator.count() != 1:
        return ""
    try:
        return locator.inner_text(timeout=1_000)
    except PlaywrightError:  # it went, or a second one came, between count and read
        return ""


def _settled_shares(page, previous: str | None = None) -> str:
    """The outcome lines once the ensemble has finished (and differ from ``previous``)."""
    panel = page.get_by_test_id("outcome-shares")
    status = page.get_by_test_id("ensemble-status")
    deadline = time.monotonic() + UPDATE_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        text = _settled_text(panel)
        done = "computed in" in _settled_text(status)
        if text and done and text != previous:
            return text
        time.sleep(0.25)
    pytest.fail(f"the outcome panel did not update (still {previous!r})")


def _text_with(locator, wanted: str) -> str:
    """The text of ``locator`` once it contains ``wanted`` (the last text seen if never)."""
    deadline = time.monotonic() + UPDATE_TIMEOUT_MS / 1000
    text = ""
    while time.monotonic() < deadline:
        text = _settled_text(locator)
        if wanted in text:
            break
        time.sleep(0.25)
    return text


def _reset_world(page) -> None:
    """Press Reset until the single world is made from the current settings: the panel's
    note that the settings changed is gone. A click that lands while the controls are
    being drawn again can be lost (the page then still shows the note), so it is
    pressed again, three times at most."""
    changed = page.get_by_text("The settings changed: press Reset")
    for _ in range(3):
        page.get_by_role("button", name="Reset").click()
        deadline = time.monotonic() + 10
        while changed.count() and time.monotonic() < deadline:
            time.sleep(0.25)
        if not changed.count():
            return
    raise AssertionError("Reset did not make the world from the current settings")


def _drawn(page, testid: str) -> None:
    """Wait until the chart ``testid`` is drawn as SVG (its libraries served locally)."""
    page.locator(f'[data-testid="{testid}"] svg').first.wait_for(timeout=UPDATE_TIMEOUT_MS)


@needs_browser
def test_viewer_page_reacts_to_a_parameter(viewer, tmp_path):
    with _viewer_page(viewer, tmp_path) as (page, shots):
        page.get_by_test_id("outcome-shares").wait_for(timeout=UPDATE_TIMEOUT_MS)
        baseline = _settled_shares(page)
        assert set(_shares(baseline)) >= {"de_escalation", "staging_area_war"}
        _drawn(page, "outcomes-chart")
        _drawn(page, "fan-chart")
        # the parameters open the sidebar, by name, on the first screen
        first = page.locator("label", has_text="Russian troops brought in")
        box = first.bounding_box()
        assert box is not None and box["y"] + box["height"] < 720
        reset = page.get_by_role("button", name="Reset").bounding_box()
        assert reset is not None and reset["y"] > box["y"]  # Mesa's controls below
        assert page.get_by_test_id("state-kremlin_appetite").inner_text() == "uncertain"
        assert page.get_by_text("Play Interval").count() == 0  # Mesa's unused controls
        assert page.get_by_test_id("change-table").count() == 0  # nothing pinned yet
        page.screenshot(path=shots / "1-loaded.png")

        # pin kremlin_appetite at its lowest, then at its highest value
        # Vuetify puts the test id on the slider's thumb, which takes the keys
        thumb = page.locator('[data-testid="slider-kremlin_appetite"][role="slider"]')
        thumb.focus()
        thumb.press("Home")
        low = _settled_shares(page, previous=baseline)
        assert "How keen the Kremlin is on war = 0" in page.get_by_test_id("pins").inner_text()
        assert page.get_by_test_id("state-kremlin_appetite").inner_text() == "pinned: 0"
        page.screenshot(path=shots / "2-appetite-low.png")
        thumb.press("End")
        high = _settled_shares(page, previous=low)
        p_low, p_high = _shares(low), _shares(high)
        assert p_high["staging_area_war"] > p_low["staging_area_war"] + 0.2
        assert abs(sum(p_high.values()) - 1) < 0.01
        # pinned: the change column against the scenario as written
        table = page.get_by_test_id("change-table")
        table.wait_for(timeout=UPDATE_TIMEOUT_MS)
        war = table.locator("tr", has_text="War from Belarusian territory").inner_text()
        assert re.search(r"\+\d+\.\d points \(\+", war), war
        page.screenshot(path=shots / "3-appetite-high.png")

        # a bad override is shown under its field; the valid one beside it applies
        field = page.get_by_label("more overrides")
        field.fill("parameters.nope.low=1; actors.kremlin.rationality=0")
        field.press("Enter")
        error = page.get_by_test_id("error-overrides")
        error.wait_for(timeout=UPDATE_TIMEOUT_MS)
        assert "'parameters.nope' does not exist" in error.inner_text()
        page.get_by_text("Overrides applied: actors.kremlin.rationality=0").wait_for(
            timeout=UPDATE_TIMEOUT_MS
        )
        _settled_shares(page, previous=high)
        error.scroll_into_view_if_needed()
        page.screenshot(path=shots / "4-bad-override.png")
        field.fill("")
        field.press("Enter")
        _settled_shares(page)

        # the single world: Reset applies the pin; Step advances one day at a time
        _reset_world(page)
        for _ in range(5):
            page.get_by_role("button", name="Step").click()
            time.sleep(0.3)
        day = page.get_by_test_id("world-day")
        page.wait_for_function(
            "() => document.querySelector('[data-testid=world-day]')"
            "?.innerText.startsWith('Day 5 ')",
            timeout=UPDATE_TIMEOUT_MS,
        )
        assert "Current rung:" in page.get_by_test_id("world-rung").inner_text()
        # the panel may redraw a moment after the day does: wait for the pin in it
        params = _text_with(
            page.get_by_text("This world's parameters"),
            "How keen the Kremlin is on war = 1 (pinned)",
        )
        assert "How keen the Kremlin is on war = 1 (pinned)" in params
        _drawn(page, "world-path")
        assert page.locator("table").count() >= 1  # the story so far
        day.scroll_into_view_if_needed()
        page.screenshot(path=shots / "5-world-stepped.png")
        assert day.inner_text().startswith("Day 5 ")


@contextlib.contextmanager
def _viewer_page(url: str, tmp_path: Path):
    """A 1280x720 page of the viewer at ``url``, and a folder for its screenshots.

    The browser closes whatever happens; after a test that passed, the
    screenshots are copied to ``WARGAME_SCREENSHOT_DIR`` (if set) and removed.
    """
    from playwright.sync_api import sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(url)
            yield page, shots
        finally:
            browser.close()
    keep = os.environ.get("WARGAME_SCREENSHOT_DIR")
    if keep:
        shutil.copytree(shots, keep, dirs_exist_ok=True)
    shutil.rmtree(shots)


@needs_browser
def test_as_of_slider_conditions_the_ensemble(observed_viewer, tmp_path):
    with _viewer_page(observed_viewer, tmp_path) as (page, shots):
        shares = _shares(_settled_shares(page))
        state = page.get_by_test_id("as-of-state")
        state.wait_for(timeout=UPDATE_TIMEOUT_MS)
        assert state.inner_text().startswith("Not conditioned")
        thumb = page.locator('[data-testid="as-of-slider"][role="slider"]')
        thumb.focus()
        thumb.press("End")  # as of the last observation day, 15 February
        table = page.get_by_test_id("as-of-table")
        table.wait_for(timeout=UPDATE_TIMEOUT_MS)
        _drawn(page, "as-of-chart")
        text = state.inner_text()
        m = re.match(r"As of Tue 15 Feb 2022: 9 observations; ([\d,]+) of 3,000 worlds", text)
        assert m, text
        assert 0 < int(m[1].replace(",", "")) < 3000
        assert "effective sample size" in text
        # no offensive by 15 February: war from Belarus far less likely than a priori
        row = table.locator("tr", has_text="War from Belarusian territory").inner_text()
        given = float(re.findall(r"([\d.]+)%", row)[1]) / 100
        assert given < shares["staging_area_war"] / 2, row
        page.get_by_test_id("as-of-chart").scroll_into_view_if_needed()
        page.screenshot(path=shots / "6-as-of-15-feb.png")
        thumb.press("Home")
        page.wait_for_function(
            "() => document.querySelector('[data-testid=as-of-state]')"
            "?.innerText.startsWith('Not conditioned')",
            timeout=UPDATE_TIMEOUT_MS,
        )


def _pick(page, label: str) -> None:
    """Tick a Vuetify checkbox by its label (its ripple covers the input)."""
    page.locator("label", has_text=label).click()


def _upload(page, path: Path) -> None:
    """Load a saved game through the setup's upload button."""
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name=re.compile(r"Upload")).click()
    chooser.value.set_files(path)


def _turn_of(page, name: str) -> None:
    page.wait_for_function(
        f"() => document.querySelector('[data-testid=seat-turn]')?.innerText.includes({name!r})",
        timeout=UPDATE_TIMEOUT_MS,
    )


def _day(page, day: int) -> None:
    page.wait_for_function(
        f"() => document.querySelector('[data-testid=seat-day]')?.innerText"
        f".startsWith('Day {day} ')",
        timeout=UPDATE_TIMEOUT_MS,
    )


@needs_browser
def test_two_people_take_seats_in_turn_rewind_and_review(viewer, tmp_path):
    with _viewer_page(viewer, tmp_path) as (page, shots):
        page.get_by_test_id("outcome-shares").wait_for(timeout=UPDATE_TIMEOUT_MS)
        page.get_by_role("tab", name="Take a seat").click()
        _pick(page, "The Kremlin (kremlin)")
        _pick(page, "Lukashenka (Belarus) (lukashenka)")
        page.get_by_role("button", name="Start the game").click()

        # the Kremlin's turn: what it knows, its options with rules, claims, doctrine
        _turn_of(page, "The Kremlin")
        knows = page.get_by_test_id("seat-knowledge")
        knows.wait_for(timeout=UPDATE_TIMEOUT_MS)
        assert "How keen the Kremlin is on war" in knows.inner_text()  # its own trait
        assert "How tightly Lukashenka" not in knows.inner_text()  # not another's
        wait = page.get_by_test_id("seat-option-wait")
        wait.wait_for(timeout=UPDATE_TIMEOUT_MS)
        assert "doctrine's choice" in wait.inner_text()
        assert re.search(r"predicted over 200 worlds: De-escalation \d+% \(", wait.inner_text())
        attack = page.get_by_test_id("seat-option-launch_offensive").inner_text()
        assert "(offensive_needs_forward_force) [units-" in attack  # rule and claims
        assert page.get_by_test_id("seat-choose-launch_offensive").is_disabled()
        page.screenshot(path=shots / "7-seat-kremlin.png")
        wait.get_by_role("button", name="Choose").click()

        # then Lukashenka's, on the same day (hot-seat)
        _turn_of(page, "Lukashenka")
        rhetoric = page.get_by_test_id("seat-option-war_rhetoric")
        rhetoric.wait_for(timeout=UPDATE_TIMEOUT_MS)
        assert "doctrine's odds" in rhetoric.inner_text()
        rhetoric.get_by_role("button", name="Choose").click()
        page.get_by_text("Every seat has chosen for today").wait_for(timeout=UPDATE_TIMEOUT_MS)
        page.get_by_role("button", name="Advance").click()
        _day(page, 1)
        report = page.get_by_test_id("seat-report").inner_text()
        assert report.startswith("Mon 17 Jan:")
        history = page.get_by_test_id("seat-history").inner_text()
        assert re.search(r"17 Jan\tlukashenka\twar_rhetoric\tseat", history), history
        assert re.search(r"17 Jan\tkremlin\twait\tseat", history), history
        page.screenshot(path=shots / "8-seat-day-1.png")

        # four more days on doctrine, then back to day 1
        page.get_by_role("textbox", name="days", exact=True).fill("4")
        page.get_by_role("button", name="Advance").click()
        _day(page, 5)
        page.get_by_role("textbox", name="day", exact=True).fill("1")
        page.get_by_role("button", name="Rewind to day").click()
        _day(page, 1)
        assert "Rewound to the start of day 1" in page.get_by_text("Rewound").inner_text()
        assert "18 Jan" not in page.get_by_test_id("seat-history").inner_text()

        # saved, a new game, and the saved one dropped on the page again
        with page.expect_download() as saving:
            page.get_by_role("button", name="Save game").click()
        saved = tmp_path / saving.value.suggested_filename
        saving.value.save_as(saved)
        text = saved.read_text()
        assert "action: war_rhetoric" in text and "lukashenka" in text
        page.get_by_role("button", name="New game").click()
        page.get_by_role("button", name="Start the game").wait_for(timeout=UPDATE_TIMEOUT_MS)
        _upload(page, saved)
        page.get_by_text(f"Loaded {saved.name}: day 1").wait_for(timeout=UPDATE_TIMEOUT_MS)
        _day(page, 1)
        history = page.get_by_test_id("seat-history").inner_text()
        assert re.search(r"17 Jan\tlukashenka\twar_rhetoric\tseat", history), history
        bad = tmp_path / "bad-game.yaml"
        bad.write_text("format: 1\nscenario: allied_resolve_2022\n")
        page.get_by_role("button", name="New game").click()
        _upload(page, bad)
        error = page.get_by_test_id("seat-error")
        error.wait_for(timeout=UPDATE_TIMEOUT_MS)
        assert error.inner_text().startswith("bad-game.yaml:"), error.inner_text()
        _upload(page, saved)
        _day(page, 1)

        # the after-action review of the game so far
        page.get_by_role("button", name="Review the game so far").click()
        frame = page.frame_locator("[data-testid=seat-review]")
        frame.locator("body").wait_for(timeout=UPDATE_TIMEOUT_MS)
        assert "war_rhetoric" in frame.locator("body").inner_text() or (
            "War rhetoric" in frame.locator("body").inner_text()
        )
        page.get_by_test_id("seat-review").scroll_into_view_if_needed()
        page.screenshot(path=shots / "9-seat-review.png")
