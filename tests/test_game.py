"""The Game API: one played world, its predictions, rewinds, branches and saved games."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DEFAULT_SCENARIO

from sim.batch.runner import run_batch
from sim.engine.model import WargameModel
from sim.errors import UsageError, ValidationError
from sim.game import Game
from sim.narrative import day_lines
from sim.scenario import load_scenario
from sim.seat.seats import Seated

SEED = 7


@pytest.fixture(scope="module")
def sc():
    return load_scenario(DEFAULT_SCENARIO)


def test_a_game_of_doctrine_choices_is_the_doctrines_world(sc):
    game = Game.new(sc, seats=["kremlin", "nato"], seed=SEED, worlds=50)
    told = []
    while not game.finished:
        for actor in game.waiting_for():
            game.choose(actor, game.view(actor).doctrine_action())
        told += [list(r.lines) for r in game.advance()]
    plain = WargameModel(sc, replicates=1, narrate=True, collect=False, rng=SEED).run()
    assert game.outcome() == plain.outcome_of(0)
    assert told == [day_lines(plain, d) for d in range(sc.horizon_days)]
    assert any(told)
    rows = [r for r in game.history() if r.seated]
    assert rows and all(r.by == "seat" and r.action == r.doctrine for r in rows)


def test_rewind_branch_save_and_load_give_the_same_histories(sc, tmp_path):
    game = Game.new(sc, seats=["kremlin", "lukashenka"], seed=SEED, worlds=50)
    game.choose("lukashenka", "war_rhetoric", note="keep it warm")
    game.advance(12)
    main = game.history()
    game.rewind(4)
    assert game.day == 4 and game.history() == main[: 4 * len(sc.actors)]
    game.advance(8)
    assert game.history() == main  # replaying the same moves gives the same world
    game.branch_off("refusal", day=5)
    game.choose("lukashenka", "refuse_territory", note="no war from here")
    game.advance(20)
    refusal = game.history()
    assert refusal[: 5 * len(sc.actors)] == main[: 5 * len(sc.actors)]
    assert refusal != main[: len(refusal)]
    for name in ("game.yaml", "game.json"):
        saved = game.save(tmp_path / name)
        back = Game.load(saved)
        assert (back.branch, back.day, back.seats, back.seed) == ("refusal", 25, game.seats, SEED)
        assert back.history() == refusal and not back.warnings
        assert back.forks == {"main": (None, None), "refusal": ("main", 5)}
        back.switch("main")
        assert back.day == 12 and back.history() == main
        assert back.moves.at("lukashenka", 0).note == "keep it warm"


def test_hot_seat_turns_and_refused_choices(sc):
    game = Game.new(sc, seats=["kremlin", "lukashenka"], seed=SEED, worlds=50)
    assert game.waiting_for() == ("kremlin", "lukashenka")
    game.choose("lukashenka", "war_rhetoric")
    assert game.waiting_for() == ("kremlin",)
    with pytest.raises(UsageError, match="constraint offensive_needs_forward_force forbids"):
        game.choose("kremlin", "launch_offensive")
    with pytest.raises(UsageError, match="holds no seat"):
        game.view("nato")
    with pytest.raises(UsageError, match="no action 'atack'"):
        game.choose("kremlin", "atack")
    (report,) = game.advance()
    by_actor = {r.actor: r for r in report.rows}
    assert by_actor["lukashenka"].action == "war_rhetoric" and by_actor["lukashenka"].by == "seat"
    assert by_actor["kremlin"].by == "doctrine"
    assert report.lines and report.rung_from == "standoff"


def test_options_predict_on_the_batchs_worlds(sc, tmp_path):
    game = Game.new(sc, seats=["kremlin"], seed=SEED, worlds=300)
    told = []
    forecasts = {f.action: f for f in game.options("kremlin", progress=lambda *a: told.append(a))}
    assert told == [(1, 1)]
    wait = forecasts["wait"]
    assert wait.allowed and wait.doctrine and wait.odds == 1.0
    assert not forecasts["launch_offensive"].allowed and not forecasts["launch_offensive"].shares
    assert forecasts["launch_offensive"].forbidden_by[0].rule == "offensive_needs_forward_force"
    # The doctrine's own choice changes no world: its forecast is the doctrine's path.
    doctrine = game.compare().doctrine
    assert {k: s.count for k, s in wait.shares.items()} == {k: s.count for k, s in doctrine.items()}
    # A saved game is a moves file; the batch with it makes the game's ensemble.
    game.choose("kremlin", "wait")
    game.advance(38)
    game.choose("kremlin", "launch_offensive", note="now")
    path = game.save(tmp_path / "game.yaml")
    seat = game.compare().seat
    batch = run_batch(DEFAULT_SCENARIO, runs=300, seed=SEED, moves=path, progress=False,
                      out=tmp_path / "b")  # fmt: skip
    assert {o["id"]: o["count"] for o in batch.summary["outcomes"]} == {
        k: s.count for k, s in seat.items()
    }
    offensive = {f.action: f for f in game.options("kremlin")}["launch_offensive"]
    assert offensive.refused + sum(s.count for s in offensive.shares.values()) > 300 - 1
    assert offensive.shares["staging_area_war"].p > doctrine["staging_area_war"].p


def test_a_bad_saved_game_is_reported_with_its_place(sc, tmp_path):
    game = Game.new(sc, seats=["kremlin"], seed=SEED, worlds=10)
    text = game.save(tmp_path / "g.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("worlds: 10", "worlds: -1").replace("format: 1", "format: 9"))
    with pytest.raises(ValidationError, match=r"bad.yaml:\d+:\d+: error: worlds"):
        Game.load(bad)
    bad.write_text(text.replace("moves: []", "moves:\n- {actor: kremlin, day: 3, action: go}"))
    with pytest.raises(ValidationError, match=r"bad.yaml:14:36: error: kremlin has no action"):
        Game.load(bad)


def test_the_games_view_is_the_view_of_its_day(sc):
    class Keep:
        def __init__(self):
            self.odds = {}

        def choose(self, view):
            self.odds[view.day] = view.odds()[:, 0].copy()
            return None

    keep = {a: Keep() for a in ("kremlin", "ukraine")}
    seats = {a: Seated(k) for a, k in keep.items()}
    WargameModel(sc, replicates=1, collect=False, rng=SEED, seats=seats).run()
    game = Game.new(sc, seats=list(keep), seed=SEED, worlds=10)
    seen = {a: {} for a in keep}
    while not game.finished:
        for a in keep:
            seen[a][game.day] = game.view(a)
        game.advance(3)
    for a, k in keep.items():  # read after their days were played
        for day, view in seen[a].items():
            assert np.array_equal(view.odds()[:, 0], k.odds[day]), (a, day)


def test_a_game_keeps_a_bounded_number_of_ensembles(sc, monkeypatch):
    import sim.game.game as game_module

    monkeypatch.setattr(game_module, "KEPT_ENSEMBLES", 2)
    game = Game.new(sc, seats=["kremlin"], seed=SEED, worlds=20)
    first = game.compare(worlds=20)
    for n in (21, 22, 23):
        game.compare(worlds=n)
    assert len(game._cache.paths) == 2
    assert game.compare(worlds=20).seat == first.seat  # made again, the same worlds


def test_a_seats_own_choice_is_told_with_its_reason_in_one_pair_of_brackets(sc):
    """A move no doctrine rule chose reads '(no rule: the seat's choice)', not '(rule (...))'."""
    game = Game.new(sc, seats=["kremlin"], seed=SEED, worlds=20)
    while not game.finished:
        view = game.view("kremlin")
        own = [a for a in view.allowed_actions() if a != view.doctrine_action()]
        if own:
            game.choose("kremlin", own[0])
            lines = game.advance()[0].lines
            break
        game.advance()
    else:
        pytest.fail("the Kremlin never had a choice other than its doctrine's")
    told = "\n".join(lines)
    assert "(no rule: the seat's choice)" in told
    assert "(rule (" not in told
