"""One settings object for a run: RunSettings, shared by batch, sweep, compare and their parsers.

Also the hook by which the front end presents a finished folder: the batch
layer calls it with the folder being written and keeps its line, and a hook
that fails loses no results.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from conftest import DEFAULT_SCENARIO

import sim
from sim.batch.compare import compare
from sim.batch.seeding import CHUNK
from sim.batch.settings import RunSettings
from sim.cli import build_parser
from sim.cli.batch import run_settings
from sim.errors import UsageError
from sim.registry import ClaimsPolicy

SCENARIO = str(DEFAULT_SCENARIO)
QUIET = {"progress": False}


# -- the object --------------------------------------------------------------------------
def test_one_default_each() -> None:
    s = RunSettings()
    assert (s.runs, s.seed, s.workers, s.executor, s.scheduler) == (None, None, 1, None, None)
    assert (s.chunk_size, s.chunk_timeout) == (CHUNK, 600.0)
    assert (s.pinned, s.overrides, s.claims) == ({}, (), None)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"runs": 0}, r"--runs must be at least 1 \(got 0\)"),
        ({"runs": 2.5}, r"--runs must be a whole number of at least 1 \(got 2\.5\)"),
        ({"runs": True}, r"--runs must be a whole number"),
        ({"seed": -1}, r"--seed must be a non-negative whole number \(got -1\)"),
        ({"chunk_size": 0}, r"--chunk-size must be at least 1 \(got 0\)"),
        ({"chunk_size": None}, r"--chunk-size must be a whole number"),
        ({"workers": 0}, r"--workers must be at least 1 \(got 0\)"),
        ({"executor": "threads"}, "unknown executor 'threads'"),
        ({"executor": "serial", "workers": 3}, "the serial executor runs one worker"),
        ({"scheduler": "tcp://127.0.0.1:1", "executor": "local"}, "dask executor only"),
        ({"chunk_timeout": -1}, "--chunk-timeout must be a number of seconds >= 0"),
        ({"overrides": "a.b=1"}, "a list of PATH=VALUE strings, not the string"),
        ({"pinned": ["kremlin_appetite=1"]}, "pinned must map parameter ids to values"),
    ],
)
def test_bad_values_are_refused_when_made(changes: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        RunSettings(**changes)


def test_values_are_normalised_once() -> None:
    s = RunSettings(overrides=["a.b=1"], pinned={"p": 1}, chunk_timeout=0)
    assert s.overrides == ("a.b=1",) and s.chunk_timeout is None
    assert RunSettings(chunk_timeout=math.inf).chunk_timeout is None
    pins = {"p": 1}
    assert RunSettings(pinned=pins).pinned is not pins  # a copy: later changes do not leak in


def test_keyword_changes_are_fields_of_the_settings() -> None:
    base = RunSettings(runs=10, seed=3)
    assert RunSettings.of(base, seed=4) == RunSettings(runs=10, seed=4)
    assert RunSettings.of(None, runs=5) == RunSettings(runs=5)
    assert RunSettings.of(base) is base
    with pytest.raises(TypeError, match="unknown run settings: plots"):
        RunSettings.of(base, plots=False)


def test_scenario_defaults_fill_runs_and_seed_only_where_not_given() -> None:
    sc = sim.load_scenario(SCENARIO)
    assert RunSettings().for_scenario(sc).worlds == (sc.default_runs, sc.seed)
    assert RunSettings(runs=7, seed=0).for_scenario(sc).worlds == (7, 0)
    with pytest.raises(ValueError, match="call for_scenario first"):
        _ = RunSettings().worlds


def test_the_command_that_runs_the_same_worlds_again() -> None:
    s = RunSettings(runs=10, seed=3, overrides=("a.b=1",), pinned={"p": 0.5}, chunk_size=7)
    assert s.command("batch", "s.yaml", runs_table=False) == [
        "wargame", "batch", "s.yaml", "--runs", "10", "--seed", "3", "--set", "a.b=1",
        "--pin", "p=0.5", "--chunk-size", "7", "--no-runs-table",
    ]  # fmt: skip
    # Executor, workers, scheduler and timeout do not change the worlds: left out.
    fast = RunSettings(runs=10, seed=3, workers=4, executor="local", chunk_timeout=5)
    assert fast.command("batch", "s.yaml") == RunSettings(runs=10, seed=3).command(
        "batch", "s.yaml"
    )


def test_a_claims_policy_in_the_settings_is_in_force_while_scenarios_load(tmp_path) -> None:
    lone = tmp_path / "lone.yaml"  # no seeds/ above it: refused under the default rule
    lone.write_text(DEFAULT_SCENARIO.read_text(encoding="utf-8"), encoding="utf-8")
    res = sim.run_batch(
        lone, runs=20, claims=ClaimsPolicy(check=False), out=tmp_path / "b", **QUIET
    )
    assert res.summary["runs"] == 20


# -- the command lines --------------------------------------------------------------------
def _args(argv: list[str]):
    return build_parser().parse_args(argv)


def test_batch_sweep_and_compare_read_their_options_into_the_same_settings() -> None:
    options = ["--runs", "40", "--seed", "2", "--set", "scenario.horizon_days=30",
               "--pin", "kremlin_appetite=0.8", "--chunk-size", "25", "--workers", "2",
               "--executor", "local", "--chunk-timeout", "9"]  # fmt: skip
    expected = RunSettings(
        runs=40,
        seed=2,
        overrides=("scenario.horizon_days=30",),
        pinned={"kremlin_appetite": 0.8},
        chunk_size=25,
        workers=2,
        executor="local",
        chunk_timeout=9,
    )
    for argv in (
        ["batch", SCENARIO, *options],
        ["sweep", SCENARIO, "--vary", "param.kremlin_appetite=0.1,0.9", *options],
        ["compare", SCENARIO, SCENARIO, *options],
    ):
        assert run_settings(_args(argv)) == expected, argv[0]


def test_options_left_out_take_the_defaults_of_the_settings() -> None:
    # All but --workers, which the commands run as auto (workers=None), the library as 1.
    for argv in (["batch", SCENARIO], ["compare", SCENARIO, SCENARIO]):
        assert run_settings(_args(argv)) == RunSettings(workers=None)
    assert RunSettings().workers == 1


def test_compare_takes_overrides_pins_and_chunk_size(tmp_path: Path) -> None:
    pins = {"kremlin_appetite": 0.9}
    res = compare(
        SCENARIO, SCENARIO, runs=120, seed=4, pinned=pins, chunk_size=50,
        overrides=("scenario.horizon_days=60",), results_root=tmp_path, **QUIET,
    )  # fmt: skip
    for side in ("a", "b"):
        batch = sim.load_results(res.compare[side]["folder"])
        assert batch.manifest["pinned"] == pins and batch.manifest["chunk_size"] == 50
        assert batch.manifest["overrides"] == ["scenario.horizon_days=60"]
        assert batch.summary["horizon_days"] == 60
    assert res.manifest["argv"][4:] == [
        "--runs", "120", "--seed", "4", "--set", "scenario.horizon_days=60",
        "--pin", "kremlin_appetite=0.9", "--chunk-size", "50",
    ]  # fmt: skip


def test_compare_refuses_pins_and_overrides_for_a_folder(tmp_path: Path) -> None:
    a = sim.run_batch(SCENARIO, runs=30, out=tmp_path / "a", **QUIET)
    with pytest.raises(UsageError, match=r"is a results folder.*--pin apply to scenario files"):
        compare(a.folder, SCENARIO, pinned={"kremlin_appetite": 0.5}, **QUIET)


# -- presenting a folder is the caller's hook ----------------------------------------------
def test_the_hook_sees_the_written_folder_before_it_is_renamed(tmp_path: Path) -> None:
    seen: list[tuple[Path, list[str]]] = []

    def hook(folder: Path) -> str:
        seen.append((folder, sorted(p.name for p in folder.iterdir())))
        (folder / "extra.txt").write_text("drawn", encoding="utf-8")
        return f"drew into {folder}"

    res = sim.run_batch(SCENARIO, runs=30, out=tmp_path / "b", on_complete=hook, **QUIET)
    ((staged, names),) = seen
    assert staged != res.folder and staged.parent == res.folder.parent  # the temporary folder
    assert {"manifest.json", "summary.json", "runs.csv", "daily.csv", "rules.csv"} <= set(names)
    assert (res.folder / "extra.txt").read_text(encoding="utf-8") == "drawn"
    assert res.note == f"drew into {res.folder}"


def test_a_failing_hook_loses_no_results(tmp_path: Path) -> None:
    def broken(folder: Path) -> str:
        raise RuntimeError("no ink")

    res = sim.run_batch(SCENARIO, runs=30, out=tmp_path / "b", on_complete=broken, **QUIET)
    assert json.loads((res.folder / "manifest.json").read_text(encoding="utf-8"))["runs"] == 30
    assert res.note == "presenting the results failed (RuntimeError: no ink)"


def test_without_a_hook_nothing_is_drawn(tmp_path: Path) -> None:
    res = sim.run_batch(SCENARIO, runs=30, out=tmp_path / "b", **QUIET)
    assert not (res.folder / "plots").exists() and not (res.folder / "report.html").exists()
    assert res.note == ""
