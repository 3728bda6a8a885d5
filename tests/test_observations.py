"""Observations: dated statements recorded per world on their day, drawing nothing.

A toy scenario with a drawn parameter and a daily chance of war: the
recorded truth of each observation must be what the world's own history says
(its parameter, its first day at war), the worlds must be the same with or
without observations, and a bad observations file gets ``file:line:col``
messages and exit code 2.
"""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.cli import main
from sim.errors import ValidationError
from sim.scenario import load_scenario

TOY = """
scenario: {name: toy, title: Toy, start: 2022-01-01, horizon_days: 30, seed: 1}
parameters:
  x: {dist: uniform, low: 0, high: 1, cites: [kremlin-appetite-decides]}
ladder:
  calm: {name: Calm, mid_level: 1}
  war: {name: War, mid_level: 5}
events:
  spark: {hazard: 0.04, escalate_to: war, cites: [kremlin-appetite-decides]}
actors:
  a: {name: A, actions: {wait: {default: true}}}
flags:
  at_war: {name: At war, when: peak >= rungs.war}
outcomes:
  quiet: {name: Quiet}
  war: {name: War, when: peak >= rungs.war}
reporting: {key_rungs: [war]}
"""

OBSERVED = """
observations:
  low_x:
    date: 2022-01-03
    seen: x < 0.5
    cites: [kremlin-appetite-decides]
  calm_day_9:
    date: 9
    seen: not flags.at_war
    cites: [kremlin-appetite-decides]
"""


def test_observations_record_each_worlds_state_on_their_day(write_scenario, tmp_path) -> None:
    path = write_scenario(TOY + OBSERVED, "toy.yaml")
    runs = sim.run_batch(path, runs=3000, seed=5, progress=False, out=tmp_path / "b").runs
    x = runs["param_x"].to_numpy()
    assert np.array_equal(runs["obs_low_x"].to_numpy() == 1, x < 0.5)
    first = runs["first_day_war"].to_numpy(dtype=float)
    calm = ~(first <= 9)  # never at war, or first at war after day 9
    assert np.array_equal(runs["obs_calm_day_9"].to_numpy() == 1, calm)
    assert 0 < calm.mean() < 1


def test_observations_change_no_world(write_scenario, tmp_path) -> None:
    plain = write_scenario(TOY, "plain.yaml")
    seen = write_scenario(TOY + OBSERVED, "seen.yaml")
    a = sim.run_batch(plain, runs=1500, seed=9, progress=False, out=tmp_path / "a")
    b = sim.run_batch(seen, runs=1500, seed=9, progress=False, out=tmp_path / "b")
    assert list(b.runs.columns) == [*a.runs.columns, "obs_low_x", "obs_calm_day_9"]
    assert b.runs[list(a.runs.columns)].equals(a.runs)
    assert b.daily.equals(a.daily)
    assert (tmp_path / "a" / "rules.csv").read_bytes() == (
        tmp_path / "b" / "rules.csv"
    ).read_bytes()


def test_a_scenario_without_observations_keeps_its_hash(write_scenario) -> None:
    a = load_scenario(write_scenario(TOY, "a.yaml"))
    b = load_scenario(write_scenario(TOY + "observations: {}\n", "b.yaml"))
    assert a.observations == () and a.sha256 == b.sha256


def test_an_observations_file_adds_to_the_scenario(write_scenario, tmp_path) -> None:
    path = write_scenario(TOY, "toy.yaml")
    extra = tmp_path / "seen.yaml"
    extra.write_text("scenario: toy\n" + OBSERVED, encoding="utf-8")
    sc = load_scenario(path, observations=extra)
    assert [o.id for o in sc.observations] == ["low_x", "calm_day_9"]
    assert [o.day for o in sc.observations] == [2, 9]
    assert sc.file.endswith("toy.yaml")


BAD = """\
scenario: toy
observations:
  typo:
    date: 2022-01-05
    seen: x < 0.5 and not flags.at_wr
    cites: [kremlin-appetite-decides]
  late:
    date: 2022-03-01
    seen: x > 0.2
    cites: [kremlin-appetite-decides]
  unknown_claim:
    date: 3
    seen: "true"
    cites: [no-such-claim]
"""


def test_a_bad_observations_file_gets_positions_and_exit_2(
    write_scenario, tmp_path, capsys
) -> None:
    path = write_scenario(TOY, "toy.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    code = main(
        [
            "batch",
            str(path),
            "--runs",
            "10",
            "--no-plots",
            "-q",
            "--observations",
            str(bad),
            "--out",
            str(tmp_path / "never"),
        ]
    )
    assert code == 2
    errors = capsys.readouterr().err.splitlines()
    assert any(e.startswith(f"{bad}:5:") and "flags.at_wr" in e for e in errors), errors
    assert any(e.startswith(f"{bad}:8:11:") and "outside the horizon" in e for e in errors)
    assert any(e.startswith(f"{bad}:14:") and "no-such-claim" in e for e in errors)
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("scenario: other\n" + OBSERVED, "1:11", "about 'other'"),
        (
            "scenario: toy\nobservations:\n  a: {date: 1, seen: x, noise: 0.6, cites: []}\n",
            "3:",
            "noise",
        ),
        ("scenario: toy\nobservations:\n  a: {date: 1, cites: []}\n", "3:", "seen"),
    ],
)
def test_observations_file_mistakes(write_scenario, tmp_path, text, where, what) -> None:
    path = write_scenario(TOY, "toy.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        load_scenario(path, observations=bad)
    messages = [str(d) for d in exc.value.diagnostics]
    assert any(m.startswith(f"{bad}:{where}") and what in m for m in messages), messages


def test_validate_checks_an_observations_file(write_scenario, tmp_path, capsys) -> None:
    path = write_scenario(TOY, "toy.yaml")
    good = tmp_path / "good.yaml"
    good.write_text("scenario: toy\n" + OBSERVED, encoding="utf-8")
    assert main(["validate", str(path), "--observations", str(good)]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    assert main(["validate", str(path), "--observations", str(bad)]) == 2
    assert f"{bad}:8:11:" in capsys.readouterr().err
