"""The effect screen (``wargame trace --effects``) flags exactly the inert inputs.

A toy scenario with one input of each kind that matters and one of each
kind that cannot: parameter ``p`` is the trigger's daily chance of war,
``q`` is read by nothing; rule ``go`` fires the attack, rule ``never`` can
never fire (``day < 0``); state variable ``struck`` is set by the attack and
read by a flag, ``unused`` is read by nothing. Seeds are fixed; the worlds
are few (the screen runs each variant on the same worlds).
"""

from __future__ import annotations

import pytest

from sim.cli import main
from sim.effects import Effect, read_names, screen
from sim.scenario import load_scenario

RUNS = 300

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
  unused: {type: int, initial: 0}
parameters:
  p: {dist: uniform, low: 0.0, high: 0.2, cites: [kremlin-appetite-decides]}
  q: {dist: uniform, low: 0.0, high: 1.0, cites: [kremlin-appetite-decides]}
actors:
  a:
    name: A
    actions:
      wait: {default: true}
      attack: {once: true, escalate_to: war, effects: {struck: true}}
      parade: {once: true}
    rules:
      go: {kind: trigger, action: attack, prob: p, cites: [kremlin-appetite-decides]}
      never: {kind: trigger, action: parade, when: day < 0, cites: [kremlin-appetite-decides]}
"""

INERT = {("parameter", "q"), ("rule", "a.never"), ("state", "unused")}
LIVE = {("parameter", "p"), ("rule", "a.go"), ("state", "struck")}


@pytest.fixture
def toy(write_scenario):
    return write_scenario(TOY, "toy.yaml")


def _by_key(effects: list[Effect]) -> dict[tuple[str, str], Effect]:
    return {(e.kind, e.id): e for e in effects}


def test_the_screen_flags_exactly_the_inert_inputs(toy) -> None:
    effects = _by_key(screen(toy, runs=RUNS, seed=5))
    assert set(effects) == INERT | LIVE
    assert {k for k, e in effects.items() if e.inert} == INERT
    for key in INERT - {("state", "unused")}:
        assert effects[key].change == 0.0
    # p pinned at its 10th and 90th percentile moves war by far more than noise
    assert effects[("parameter", "p")].change > 0.2
    assert effects[("parameter", "p")].moved in {"outcome:war", "outcome:quiet", "flag:struck"}
    assert effects[("rule", "a.go")].change > 0.2


def test_sorted_by_effect_state_last(toy) -> None:
    effects = screen(toy, runs=RUNS, seed=5)
    sizes = [e.change for e in effects if e.change is not None]
    assert sizes == sorted(sizes, reverse=True)
    assert [e.kind for e in effects][-2:] == ["state", "state"]


def test_static_reads(toy) -> None:
    names = read_names(load_scenario(toy))
    assert "struck" in names and "p" in names
    assert "unused" not in names and "q" not in names


def test_cli_prints_the_table_and_the_inert_list(toy, capsys) -> None:
    assert main(["trace", "--effects", str(toy), "--runs", str(RUNS), "--seed", "5"]) == 0
    text = capsys.readouterr().out
    table, _, tail = text.partition("Inert inputs (3):")
    assert "parameter  p " in table and "rule       a.go " in table
    listed = [line.split()[:2] for line in tail.strip().splitlines()]
    assert sorted(listed) == [["parameter", "q"], ["rule", "a.never"], ["state", "unused"]]
    assert "rule a.never (when=false)" in tail
