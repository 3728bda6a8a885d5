"""Seats: the engine hook, policies, moves files and ``wargame batch --moves``.

The property that matters most is common random numbers: a seat is asked after
the doctrine has drawn, so in every world where the seat picks what the doctrine
would have picked, the world's whole history is the doctrine run's, bit for bit.
"""

from __future__ import annotations

import filecmp
from dataclasses import replace

import numpy as np
import pytest
import yaml
from conftest import DEFAULT_SCENARIO, ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.batch.runner import run_batch, simulate
from sim.cli import main
from sim.engine.model import WargameModel
from sim.errors import UsageError, ValidationError
from sim.scenario import load_scenario
from sim.seat.examples import PromptPolicy, RuleOfThumb, first_action
from sim.seat.moves import load_moves, moves_of
from sim.seat.policy import Doctrine
from sim.seat.seats import Seated, seats_of
from sim.seat.view import SeatView

SEED = 5


@pytest.fixture(scope="module")
def sc():
    return load_scenario(DEFAULT_SCENARIO)


def _run(sc, seats=None, worlds=1500):
    return WargameModel(sc, replicates=worlds, collect=False, rng=SEED, seats=seats).run()


def _same_worlds(a: WargameModel, b: WargameModel) -> np.ndarray:
    """Per world: the same outcome, rung every day, rules fired, state and history."""
    same = (a.outcome == b.outcome) & (a.rung_track == b.rung_track).all(axis=0)
    same &= (a.world.rule_fired == b.world.rule_fired).all(axis=0)
    for actor, counts in a.world.action_count.items():
        same &= (counts == b.world.action_count[actor]).all(axis=0)
        same &= (a.world.action_last[actor] == b.world.action_last[actor]).all(axis=0)
    for k, v in a.world.values.items():
        same &= v == b.world.values[k]
    return same


def test_doctrine_at_every_seat_changes_no_world(sc):
    plain = _run(sc)
    seated = _run(sc, seats_of(sc, {a.id: Doctrine() for a in sc.actors}))
    assert _same_worlds(plain, seated).all()


def test_worlds_where_the_move_is_the_doctrines_keep_their_history(sc):
    # NATO's warning of 25 January (day 8) is what its doctrine does in most worlds,
    # not all: where it agrees, the world is the doctrine's; where not, it differs.
    moves = moves_of([{"actor": "nato", "day": 8, "action": "warn_minsk"}], sc)
    doctrine = _run(sc)
    seats = moves.seats()
    played = _run(sc, seats)
    warned = doctrine.world.action_last["nato"][1] == 8
    assert 0 < warned.sum() < len(warned)
    same = _same_worlds(doctrine, played)
    assert same[warned].all()
    assert not same[~warned].any()
    seat = seats["nato"]
    assert isinstance(seat, Seated)
    assert seat.taken == {(8, 1): len(warned)}
    assert seat.agreed == {(8, 1): int(warned.sum())}


def test_a_forbidden_move_leaves_the_doctrines_choice(sc):
    # The offensive needs the forward force, which is not there on the first day.
    moves = moves_of([{"actor": "kremlin", "day": 0, "action": "launch_offensive"}], sc)
    seats = moves.seats()
    assert _same_worlds(_run(sc), _run(sc, seats)).all()
    seat = seats["kremlin"]
    assert isinstance(seat, Seated)
    assert seat.refusals == {(0, 1): 1500}
    assert seat.taken == {}


class _Recorder:
    """A policy that keeps the views it is given and leaves every choice to the doctrine."""

    def __init__(self) -> None:
        self.views: list[SeatView] = []

    def choose(self, view: SeatView) -> None:
        self.views.append(view)
        return None


def test_the_view_holds_only_what_the_actor_may_know(sc):
    rec = _Recorder()
    WargameModel(sc, replicates=50, collect=False, rng=SEED, seats={"ukraine": Seated(rec)}).run()
    view = rec.views[-1]
    assert len(rec.views) == sc.horizon_days
    assert set(view.intel) == {"ukraine_sees_forward_units"}
    assert set(view.beliefs) == {"lukashenka_doctrine"}
    assert set(view.traits) == {"ukraine_retaliation"}
    hidden = {p.id for p in sc.parameters if p.owner not in (None, "ukraine")}
    assert hidden and not hidden & set(view.knowledge)
    strike = view.option("strike_belarus")
    assert [v.rule for v in strike.constraints] == ["strike_only_after_attack_from_belarus"]
    assert (strike.allowed == strike.constraints[0].where).all()
    assert view.allowed_actions(0)[0] == "wait"


class _Odds:
    """Leaves every choice to the doctrine; on some days keeps the doctrine's odds and picks."""

    def __init__(self, days: tuple[int, ...]) -> None:
        self.days = days
        self.seen: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.views: dict[int, SeatView] = {}

    def choose(self, view: SeatView) -> None:
        if view.day in self.days:
            self.seen[view.day] = (view.odds(), view.doctrine)
            self.views[view.day] = view
        return None


def test_doctrine_odds_match_the_doctrines_draws(sc):
    # Averaged over many worlds on one day, the odds give the share of worlds in
    # which the doctrine takes each action that day: triggers, softmax and foresight
    # (the Kremlin's and Ukraine's) alike.
    R = 20_000
    days = (10, 38, 45)
    kept = {a: _Odds(days) for a in ("kremlin", "lukashenka", "ukraine")}
    seats = {a: Seated(p, keep_views=a == "kremlin") for a, p in kept.items()}
    WargameModel(sc, replicates=R, collect=False, rng=SEED, seats=seats).run()
    for actor, policy in kept.items():
        for day, (odds, doctrine) in policy.seen.items():
            assert np.allclose(odds.sum(axis=0), 1.0)
            freq = np.bincount(doctrine, minlength=len(odds)) / R
            mean = odds.mean(axis=1)
            se = np.sqrt(mean * (1 - mean) / R)
            assert np.all(np.abs(mean - freq) <= 5 * se + 1e-9), (actor, day, mean, freq)
    # A lasting view (keep_views) works its odds out again, after the run, as on its
    # day; a view of the live state does not (so odds are read while choosing).
    for day, view in kept["kremlin"].views.items():
        assert np.array_equal(replace(view).odds(), kept["kremlin"].seen[day][0])
    stale = [
        not np.array_equal(replace(view).odds(), kept["ukraine"].seen[day][0])
        for day, view in kept["ukraine"].views.items()
    ]
    assert any(stale)


def test_unknown_seat_is_refused(sc):
    with pytest.raises(UsageError, match=r"no actor 'kremlim'.*did you mean 'kremlin'"):
        seats_of(sc, {"kremlim": Doctrine()})
    with pytest.raises(UsageError, match="no actor 'putin'"):
        WargameModel(sc, seats={"putin": Seated(Doctrine())})


# -- moves files ---------------------------------------------------------------------
BAD_MOVES = ROOT / "tests" / "moves" / "bad.yaml"
"""A moves file with one mistake of each kind (docs/seats.md shows its messages)."""


def test_moves_file_errors_are_positioned_and_all_reported(sc):
    path = BAD_MOVES
    with pytest.raises(ValidationError) as err:
        load_moves(path, sc)
    lines = str(err.value).splitlines()
    expected = [
        (1, 10, "no actor 'kremlim'"),
        (5, 9, "2023-01-01 is outside allied_resolve_2022"),
        (9, 11, "nato has no action 'warn_minks'; did you mean 'warn_minsk'? (wait, warn"),
        (12, 9, "give the day or the date of a move, not both"),
        (17, 3, "a second move for lukashenka on day 4"),
        (20, 3, "a move needs a day (0 is the start) or a date"),
        (22, 3, "unknown key 'colour' in a move"),
    ]
    assert len(lines) >= len(expected)
    for line, col, text in expected:
        assert any(f"{path}:{line}:{col}: error: {text}" in x for x in lines), (text, lines)


def test_batch_refuses_a_bad_moves_file_with_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("- actor: nato\n  day: 70\n  action: wait\n")
    out = tmp_path / "out"
    code = main(["batch", str(DEFAULT_SCENARIO), "--runs", "20", "--moves", str(path),
                 "--no-plots", "--quiet", "--out", str(out)])  # fmt: skip
    assert code == 2
    assert f"{path}:2:8: error: day 70 is outside" in capsys.readouterr().err
    assert not out.exists()


def test_a_saved_list_is_also_read_from_a_mapping(sc, tmp_path):
    path = tmp_path / "game.yaml"
    path.write_text("format: 1\nmoves:\n  - {actor: nato, date: 2022-01-25, action: warn_minsk}\n")
    moves = load_moves(path, sc)
    assert [(m.actor, m.day, m.action) for m in moves.moves] == [("nato", 8, "warn_minsk")]
    assert len(moves.sha256) == 64


# -- batch --moves over 10,000 worlds (common random numbers) ------------------------
def test_batch_moves_same_as_doctrine_gives_the_doctrines_folder(tmp_path):
    same = tmp_path / "same.yaml"
    same.write_text("- actor: kremlin\n  day: 0\n  action: wait\n  note: as the doctrine\n")
    differ = tmp_path / "differ.yaml"
    differ.write_text("- actor: kremlin\n  date: 2022-02-24\n  action: launch_offensive\n")
    common = {"runs": 10_000, "progress": False, "runs_table": True}
    base = run_batch(DEFAULT_SCENARIO, out=tmp_path / "doctrine", **common)
    a = run_batch(DEFAULT_SCENARIO, out=tmp_path / "a", moves=same, **common)
    b = run_batch(DEFAULT_SCENARIO, out=tmp_path / "b", moves=differ, **common)
    for table in ("runs.csv", "daily.csv", "rules.csv"):
        assert filecmp.cmp(base.folder / table, a.folder / table, shallow=False), table
    assert a.manifest["moves"]["sha256"] and a.manifest["moves"]["seats"] == ["kremlin"]
    assert "--moves" in a.manifest["argv"]
    p0, p1 = (_count(r, "staging_area_war") for r in (base, b))
    assert p1 > p0 + 1000  # an offensive on 24 February in every world that can make it
    rows = (b.folder / "moves.csv").read_text().splitlines()
    played, refused = (int(x) for x in rows[1].split(",")[5:8:2])
    assert played + refused == 10_000 and played > 0 and refused > 0


def _count(result, outcome: str) -> int:
    return next(o["count"] for o in result.summary["outcomes"] if o["id"] == outcome)


def test_simulate_with_moves_is_the_batchs_counts(sc, tmp_path):
    moves = moves_of([{"actor": "nato", "day": 8, "action": "wait"}], sc)
    counts = simulate(sc, runs=600, seed=3, moves=moves)
    res = run_batch(DEFAULT_SCENARIO, runs=600, seed=3, moves=moves, progress=False,
                    out=tmp_path / "x")  # fmt: skip
    by_id = {o.id: int(counts.outcomes[o.index]) for o in sc.outcomes}
    assert by_id == {o["id"]: o["count"] for o in res.summary["outcomes"]}


# -- the external-policy examples ----------------------------------------------------
def test_prompt_policy_takes_the_first_allowed_action_named(sc):
    asked = []

    def complete(prompt: str) -> str:
        asked.append(prompt)
        # Names a forbidden action first (enter_war needs an attack), then an allowed one.
        return "Not enter_war, no: refuse_territory, then war_rhetoric."

    policy = PromptPolicy(complete)
    seat = Seated(policy, keep=True)
    WargameModel(sc, replicates=1, rng=3, collect=False, seats={"lukashenka": seat}).run()
    assert len(asked) == sc.horizon_days
    assert "Lukashenka" in asked[0] and "Actions you may take today:" in asked[0]
    assert "us_resolve =" not in asked[0]  # NATO's hidden trait is not in the prompt
    first = seat.turns[0]
    refuse = sc.actor("lukashenka").action("refuse_territory").index
    assert first.wanted[0] == refuse and first.action[0] == refuse
    assert first_action("I pick war_rhetoric", ("wait", "war_rhetoric")) == "war_rhetoric"
    assert first_action("no idea", ("wait",)) is None


def test_rule_of_thumb_never_climbs_above_its_rung(sc):
    offensive = sc.actor("kremlin").action("launch_offensive")
    assert offensive.escalate_to is not None
    below = sc.ladder[offensive.escalate_to - 1].id
    restrained = Seated(RuleOfThumb(max_rung=below))
    m = WargameModel(sc, replicates=400, rng=SEED, collect=False, seats={"kremlin": restrained})
    m.run()
    assert not m.world.action_count["kremlin"][offensive.index].any()
    free = Seated(RuleOfThumb(), keep=True)
    WargameModel(sc, replicates=400, rng=SEED, collect=False, seats={"kremlin": free}).run()
    assert all((t.wanted >= 0).all() for t in free.turns)


def test_moves_reach_worker_processes(tmp_path):
    moves = ROOT / "scenarios" / "moves" / "kremlin_strikes_24_feb.yaml"
    common = {"runs": 400, "chunk_size": 100, "progress": False, "moves": moves}
    serial = run_batch(DEFAULT_SCENARIO, out=tmp_path / "s", **common)
    local = run_batch(DEFAULT_SCENARIO, out=tmp_path / "l", workers=2, **common)
    for table in ("runs.csv", "moves.csv"):
        assert filecmp.cmp(serial.folder / table, local.folder / table, shallow=False), table


def test_a_once_action_taken_is_refused_the_second_time(sc):
    moves = moves_of(
        [
            {"actor": "kremlin", "date": "2022-02-24", "action": "launch_offensive"},
            {"actor": "kremlin", "date": "2022-03-03", "action": "launch_offensive"},
        ],
        sc,
    )
    seats = moves.seats()
    m = _run(sc, seats, worlds=600)
    seat = seats["kremlin"]
    assert isinstance(seat, Seated)
    first = seat.taken[(38, 1)]
    # Every world that launched on 24 February is refused on 3 March (once: true).
    assert seat.refusals[(45, 1)] >= first
    assert (m.world.action_count["kremlin"][1] <= 1).all()


@settings(max_examples=40)
@given(
    moves_in=st.lists(
        st.tuples(
            st.sampled_from(["kremlin", "lukashenka", "nato", "ukraine"]),
            st.integers(0, 69),
            st.booleans(),
            st.text(alphabet="abc xyz,.'", max_size=20),
        ),
        max_size=12,
        unique_by=lambda t: (t[0], t[1]),
    )
)
def test_moves_written_and_read_back_are_the_same(moves_in, tmp_path_factory):
    sc = load_scenario(DEFAULT_SCENARIO)
    items = []
    for actor, day, by_date, note in moves_in:
        action = sc.actor(actor).actions[day % len(sc.actor(actor).actions)].id
        item = {"actor": actor, "action": action, "note": note.strip()}
        item |= {"date": sc.date_of(day).isoformat()} if by_date else {"day": day}
        items.append(item)
    moves = moves_of(items, sc)
    path = tmp_path_factory.mktemp("moves") / "m.yaml"
    path.write_text(yaml.safe_dump([m.as_json(sc) for m in moves.moves]) if items else "[]\n")
    assert load_moves(path, sc).moves == moves.moves
    assert len(moves.moves) == len(items)
