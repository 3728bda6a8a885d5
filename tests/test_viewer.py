"""What the viewer shows, without a browser: names, overrides, changes, chart specifications."""

from __future__ import annotations

import json

import pytest
from conftest import DEFAULT_SCENARIO

from sim.errors import ValidationError
from sim.scenario import load_scenario
from sim.stats import newcombe_diff, paired_diff
from sim.viz.charts import fan_spec, outcomes_spec, path_spec
from sim.viz.controls import EXTRA, apply_overrides, controls_for, describe_pins, override_items
from sim.viz.ensemble import changes, run_ensemble
from sim.viz.vega import library_folders


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(DEFAULT_SCENARIO)


@pytest.fixture(scope="module")
def pair(scenario):
    """An ensemble with the Kremlin's appetite pinned high, and the scenario as written."""
    base = run_ensemble(scenario, {}, worlds=400)
    high = run_ensemble(scenario, {"kremlin_appetite": 1.0}, worlds=400)
    return high, base


def test_parameters_are_named_in_words_with_their_ends(scenario):
    controls = {c.id: c for c in controls_for(scenario)}
    assert controls["kremlin_appetite"].name == "How keen the Kremlin is on war"
    assert controls["russian_troops"].name == "Russian troops brought in"
    assert controls["russian_troops"].ends == ("10,000", "30,000")
    assert controls["kremlin_appetite"].ends == ("0", "1")
    for c in controls.values():
        assert c.name and c.name != c.id  # every shipped parameter has a description
    text = describe_pins(tuple(controls.values()), {"kremlin_appetite": 0.9})
    assert text.startswith("Pinned: How keen the Kremlin is on war = 0.9;")


def _load(overrides):
    return load_scenario(DEFAULT_SCENARIO, overrides)


def test_a_bad_override_is_kept_beside_its_input_and_the_others_apply(scenario):
    texts = {a.id: a.rationality.source for a in scenario.actors}
    texts["kremlin"] = "2 +"  # does not parse
    items = override_items(
        scenario, texts, "parameters.nope.low=1; parameters.withdrawal_rate.high=0.05"
    )
    assert [k for k, _ in items] == ["rationality:kremlin", EXTRA, EXTRA]
    applied = apply_overrides(_load, (), items)
    assert applied.overrides == ("parameters.withdrawal_rate.high=0.05",)
    assert applied.scenario.parameter("withdrawal_rate").args["high"] == 0.05
    assert set(applied.errors) == {"rationality:kremlin", EXTRA}
    assert "nope" in applied.errors[EXTRA] and not applied.errors[EXTRA].startswith("--set:")
    assert "syntax" in applied.errors["rationality:kremlin"]


def test_overrides_build_on_those_before_them(scenario):
    # the second is valid only once the first has widened the range
    items = (
        (EXTRA, "parameters.withdrawal_rate.high=0.5"),
        (EXTRA, "parameters.withdrawal_rate.low=0.3"),
    )
    applied = apply_overrides(_load, (), items)
    assert applied.overrides == tuple(o for _, o in items) and not applied.errors


def test_a_broken_command_line_override_still_raises():
    with pytest.raises(ValidationError):
        apply_overrides(_load, ("parameters.nope.low=1",), ())


def test_changes_are_paired_newcombe_differences_over_the_same_worlds(pair):
    import numpy as np

    high, base = pair
    rows = {c.id: c for c in changes(high, base)}
    war = rows["staging_area_war"]
    assert war.paired
    now, was = high.rows["outcome"] == 3, base.rows["outcome"] == 3  # staging_area_war
    assert high.scenario.outcomes[3].id == "staging_area_war"
    cells = [int(np.sum(a & b)) for a, b in ((now, was), (now, ~was), (~now, was), (~now, ~was))]
    assert (war.diff, war.lo, war.hi) == paired_diff(*cells)
    assert war.diff == pytest.approx(war.now.share - war.base.share)
    # the same worlds: narrower than two independent samples would give
    _, lo, hi = newcombe_diff(war.base.count, war.base.worlds, war.now.count, war.now.worlds)
    assert war.hi - war.lo < hi - lo
    assert war.clear and war.diff > 0.2
    assert war.text().startswith(f"+{100 * war.diff:.1f} points (+")
    assert not any(c.clear for c in changes(base, base))  # no change from itself


def test_every_outcomes_change_counts_its_own_paired_worlds(pair):
    import numpy as np

    high, base = pair
    got = changes(high, base)
    assert [c.id for c in got] == [o.id for o in high.outcomes]
    for c, o in zip(got, high.scenario.outcomes, strict=True):
        now, was = high.rows["outcome"] == o.index, base.rows["outcome"] == o.index
        pairs = ((now, was), (now, ~was), (~now, was), (~now, ~was))
        assert (c.diff, c.lo, c.hi) == paired_diff(*(int(np.sum(a & b)) for a, b in pairs)), c.id


def test_rung_bands_are_the_daily_tables_percentiles_day_by_day():
    import numpy as np

    from sim.results.aggregate import PERCENTILES, percentile_from_counts
    from sim.viz.ensemble import rung_bands

    rng = np.random.default_rng(7)
    occupancy = rng.integers(0, 4, size=(300, 6)) * (rng.random((300, 6)) < 0.5)
    occupancy[:3] = [[0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 20]]
    occupancy[3] = [1, 1, 1, 1, 1, 15]  # 5% of 20 is exactly one world: the first rung
    want = [[percentile_from_counts(day, q) for day in occupancy] for q in PERCENTILES]
    bands = rung_bands(occupancy)
    assert bands.dtype == np.int64 and bands.tolist() == want
    assert bands[:, 0].tolist() == [-1] * len(PERCENTILES)  # a day without worlds


def test_outcome_chart_draws_ghost_bars_only_when_something_changed(pair):
    high, base = pair
    plain = outcomes_spec(base)
    ghost = outcomes_spec(high, changes(high, base))
    assert len(ghost["layer"]) == len(plain["layer"]) + 1
    assert ghost["layer"][0]["encoding"]["x"]["field"] == "base"
    rows = ghost["data"]["values"]
    war = next(r for r in rows if r["outcome"] == "War from Belarusian territory")
    assert war["base"] == base.share("staging_area_war").share
    assert "points" in war["change"]
    assert [r["outcome"] for r in rows] == [o.name for o in high.outcomes]
    json.dumps(ghost)  # plain JSON, as the browser gets it


def test_fan_and_path_specs_cover_the_horizon(pair, scenario):
    high, base = pair
    fan = fan_spec(high, base)
    values = fan["data"]["values"]
    assert len(values) == scenario.horizon_days + 1
    assert all(v["q05"] <= v["q25"] <= v["median"] <= v["q75"] <= v["q95"] for v in values)
    assert "base_median" in values[0]
    path = path_spec(scenario, [0, 1, 1])
    assert [v["rung"] for v in path["data"]["values"]] == [0, 1, 1, 1]


def test_chart_libraries_are_found_by_exact_version(tmp_path):
    for name in ("vega@5.9.1", "vega@5.21.0", "vega-lite@5.2.0", "vega@6.0.0", "vega-embed@6.2.0"):
        (tmp_path / name / "build").mkdir(parents=True)
    (tmp_path / "vega-embed@6.20.2").mkdir()  # no build folder: not a usable copy
    assert library_folders(tmp_path) == {
        "vega": "vega@5.21.0",
        "vega-lite": "vega-lite@5.2.0",
        "vega-embed": "vega-embed@6.2.0",
    }
    assert library_folders(tmp_path / "missing")["vega"] == "vega@5"


# -- the "as of" slider ----------------------------------------------------------------
OBSERVATIONS = DEFAULT_SCENARIO.parent / "observations" / "allied_resolve_2022.yaml"


@pytest.fixture(scope="module")
def observed():
    sc = load_scenario(DEFAULT_SCENARIO, observations=OBSERVATIONS)
    return run_ensemble(sc, {}, worlds=600)


def test_recording_observations_leaves_the_worlds_as_they_were(scenario, observed):
    from sim.viz.asof import observation_days

    base = run_ensemble(scenario, {}, worlds=600)
    assert "obs_units_near_border" not in base.rows.dtype.names
    assert len(observed.rows) == 600 and "obs_units_near_border" in observed.rows.dtype.names
    assert (observed.rows["outcome"] == base.rows["outcome"]).all()
    # recording observations draws nothing: the same worlds end the same way
    assert [o.count for o in observed.outcomes] == [o.count for o in base.outcomes]
    assert observation_days(observed.scenario) == [0, 15, 23, 29]


def test_as_of_keeps_the_worlds_that_agree_with_noiseless_observations(observed):
    import numpy as np

    from sim.viz.asof import conditional_rows, conditioned

    sc = observed.scenario
    cond = conditioned(observed, sc.date_of(15))  # 17 Jan and 1 Feb: all noiseless
    assert {r.id for r in cond.used} == {o.id for o in sc.observations if o.day <= 15}
    rows = observed.rows
    kept = np.ones(len(rows), dtype=bool)
    for r in cond.used:
        kept &= rows[f"obs_{r.id}"]
    assert cond.worlds == int(kept.sum()) and cond.ess == pytest.approx(kept.sum())
    war = next(o for o in sc.outcomes if o.id == "staging_area_war")
    share = cond.share("outcome", "staging_area_war").probability
    assert share == pytest.approx(np.mean(rows["outcome"][kept] == war.index))
    text = {r["outcome"]: r["given"] for r in conditional_rows(observed, cond)}
    assert text[war.name].startswith(f"{100 * share:.1f}% (")
    from sim.viz.charts import conditional_spec

    spec = conditional_spec(observed, cond)
    bar = next(r for r in spec["data"]["values"] if r["outcome"] == war.name)
    assert (bar["share"], bar["base"]) == (share, observed.share("staging_area_war").share)
    assert spec["layer"][0]["encoding"]["x"]["field"] == "base"  # the ghost of all worlds


# -- the browser seat's text ------------------------------------------------------------
def test_the_seat_shows_its_own_knowledge_by_name_and_each_option_with_its_rules(scenario):
    from sim.game import Game
    from sim.viz.seat import history_table, knowledge_rows, option_rows

    game = Game.new(scenario, seats=("kremlin",), worlds=60)
    rows = {i: (name, value) for name, i, value in knowledge_rows(game.view("kremlin"))}
    assert rows["kremlin_appetite"][0] == "How keen the Kremlin is on war"
    assert "moscow_hold" not in rows  # Lukashenka's private trait
    options = {r["action"]: r for r in option_rows(scenario, game.options("kremlin"))}
    assert options["wait"]["doctrine"] and options["wait"]["allowed"]
    assert set(options["wait"]["shares"]) == {o.name for o in scenario.outcomes}
    attack = options["launch_offensive"]
    assert not attack["allowed"] and not attack["shares"]
    assert (
        "needs a force camped near the border (offensive_needs_forward_force) ["
        in (attack["against"])
    )
    game.choose("kremlin", "wait")
    game.advance(1)
    table = history_table(game.history())
    assert "<td>kremlin</td><td>wait</td><td>seat</td>" in table
    assert history_table([]) == "<i>No day played yet.</i>"


def test_a_bad_observations_file_stops_the_viewer_before_any_server(tmp_path, capsys):
    pytest.importorskip("solara", reason="viewer extra not installed")
    from sim.viz import cli as view_cli

    bad = tmp_path / "obs.yaml"
    bad.write_text(
        "scenario: allied_resolve_2022\nobservations:\n  x:\n    date: 2022-02-01\n"
        "    seen: nope_var\n    cites: [drills-10-20-feb]\n"
    )
    assert view_cli.main([str(DEFAULT_SCENARIO), "--observations", str(bad)]) == 2
    assert f"{bad}:5:11: error: observations.x.seen: unknown name 'nope_var'" in (
        capsys.readouterr().err
    )


def test_the_server_is_told_the_observations_file(tmp_path):
    from sim.viz.environment import OBSERVATIONS_ENV, observations_from_environment, server_env

    env = server_env("s.yaml", (), base={OBSERVATIONS_ENV: "stale"})
    assert OBSERVATIONS_ENV not in env and observations_from_environment(env) is None
    env = server_env("s.yaml", (), base={}, observations=tmp_path / "o.yaml")
    assert observations_from_environment(env) == str((tmp_path / "o.yaml").resolve())


@pytest.mark.parametrize(
    "path", sorted(DEFAULT_SCENARIO.parent.glob("*.yaml")), ids=lambda p: p.stem
)
def test_every_shipped_scenario_has_named_controls_and_charts(path):
    sc = load_scenario(path)
    controls = controls_for(sc)
    assert controls and all(c.name for c in controls)
    first = controls[0]
    pin = {first.id: first.default if first.kind == "slider" else first.values[0]}
    base, pinned = run_ensemble(sc, {}, worlds=60), run_ensemble(sc, pin, worlds=60)
    change = changes(pinned, base)
    assert len(change) == len(sc.outcomes) and all(c.paired for c in change)
    json.dumps([outcomes_spec(pinned, change), fan_spec(pinned, base)])


def test_the_sidebar_keeps_solaras_rules_of_hooks():
    """Solara checks each component's hooks when it is defined; none may be called conditionally."""
    import importlib
    import warnings

    pytest.importorskip("solara")
    import sim.viz.sidebar

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        importlib.reload(sim.viz.sidebar)
    assert not [str(w.message) for w in caught if "hook" in str(w.message).lower()]


def test_days_typed_before_a_redraw_are_the_days_advanced(scenario):
    """The game's *days* box keeps the text typed into it when the page is drawn again
    before the box loses focus (a background computation finishing, such as the
    options of the day), so Advance plays the days typed, not the value last applied."""
    pytest.importorskip("solara")
    import ipyvuetify as v
    import solara

    from sim.game import Game
    from sim.viz.seat import GameControls, SeatSession

    session = SeatSession()
    session.game = Game.new(scenario, seats=("kremlin",), worlds=20)
    elsewhere = solara.reactive(0)

    @solara.component
    def Board() -> None:
        elsewhere.value  # noqa: B018 - read, so that a change of it draws the board again
        GameControls(session, None, session.version.value)

    _, rc = solara.render(Board(), handle_error=False)
    try:
        box = rc.find(v.TextField, label="days").widget
        box.v_model = "4"  # the browser sends the text as it is typed
        elsewhere.set(1)  # the page is drawn again before the box loses focus
        box = rc.find(v.TextField, label="days").widget
        assert box.v_model == "4"
        box.fire_event("focusout")
        rc.find(v.Btn, children=["Advance"]).widget.click()
        assert session.game.day == 4
    finally:
        rc.close()


def test_a_text_box_applies_on_enter_and_follows_a_value_set_elsewhere():
    pytest.importorskip("solara")
    import ipyvuetify as v
    import solara

    from sim.viz.textbox import TextBox

    value = solara.reactive("a")
    _, rc = solara.render(TextBox("x", value), handle_error=False)
    try:
        box = rc.find(v.TextField, label="x").widget
        box.v_model = "b"
        assert value.value == "a"  # typed, not applied yet
        box.fire_event("keyup.enter")
        assert value.value == "b"
        value.set("c")  # a reset elsewhere replaces the text
        assert rc.find(v.TextField, label="x").widget.v_model == "c"
    finally:
        rc.close()
