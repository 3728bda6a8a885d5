"""Executors: identical results for any executor and worker count; clear failures."""

from __future__ import annotations

import filecmp
import math
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import DEFAULT_SCENARIO, ROOT

import sim
from sim.batch.executors import (
    CHUNK_TIMEOUT,
    ChunkFailure,
    DaskExecutor,
    LocalExecutor,
    SerialExecutor,
    chunk_timeout_seconds,
    guarded_call,
    make_executor,
)
from sim.errors import ExecutionError, UsageError, ValidationError
from sim.scenario import load_scenario

SCENARIO = DEFAULT_SCENARIO
DOCS = ROOT / "docs" / "batch.md"
TABLES = ("runs.csv", "daily.csv", "rules.csv", "summary.json")
SETTINGS = {"runs": 1300, "seed": 5, "chunk_size": 400, "progress": False}


def same_tables(a: Path, b: Path) -> None:
    for name in TABLES:
        assert filecmp.cmp(a / name, b / name, shallow=False), name


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "batch"
    return sim.run_batch(SCENARIO, out=out, **SETTINGS)


def test_serial_is_repeatable(serial, tmp_path):
    again = sim.run_batch(SCENARIO, out=tmp_path / "again", **SETTINGS)
    same_tables(serial.folder, again.folder)
    assert len(again.runs) == SETTINGS["runs"]
    assert list(again.runs["chunk"].unique()) == [0, 1, 2, 3]


def test_local_two_workers_byte_identical(serial, tmp_path):
    local = sim.run_batch(SCENARIO, out=tmp_path / "local", workers=2, **SETTINGS)
    assert local.manifest["executor"] == "local" and local.manifest["workers"] == 2
    same_tables(serial.folder, local.folder)
    assert serial.manifest["tables"] == local.manifest["tables"]  # rows and SHA-256 alike
    assert sorted(p.name for p in local.folder.iterdir()) == sorted(
        p.name for p in serial.folder.iterdir()
    )  # the workers' files of lines are gone


def test_local_lines_copied_without_the_system_call(serial, tmp_path, monkeypatch):
    """Where the system cannot copy file to file, the workers' lines are written from
    their map of the file (each chunk's, in turn)."""
    refusals = []

    def refused(*args):
        refusals.append(args)
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", refused, raising=False)
    local = sim.run_batch(SCENARIO, out=tmp_path / "local", workers=2, **SETTINGS)
    assert len(refusals) == 4  # one per chunk: each came as a file
    same_tables(serial.folder, local.folder)
    assert serial.manifest["tables"] == local.manifest["tables"]


def test_forked_workers_compile_nothing(serial, tmp_path, monkeypatch):
    """The parent compiles the scenario once; forked workers take it from the cache they
    inherit, so neither checks the text by compiling it back nor compiles it."""
    from sim.batch.executors import start_method
    from sim.scenario import cache

    if start_method() != "fork":
        pytest.skip("workers are spawned here")

    def no_compile(*args, **kwargs):
        raise AssertionError("compiled the scenario text again")

    monkeypatch.setattr(cache, "scenario_from_text", no_compile)
    local = sim.run_batch(SCENARIO, out=tmp_path / "local", workers=2, **SETTINGS)
    assert local.manifest["start_method"] == "fork"
    same_tables(serial.folder, local.folder)


def test_dask_local_cluster_byte_identical(serial, tmp_path):
    pytest.importorskip("dask.distributed")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = sim.run_batch(
        SCENARIO,
        out=tmp_path / "dask",
        workers=2,
        executor="dask",
        executor_options={"local_directory": scratch},
        **SETTINGS,
    )
    assert result.manifest["executor"] == "dask"
    same_tables(serial.folder, result.folder)
    # The cluster stopped and removed its workers' scratch folders.
    left = [p.name for p in (scratch / "dask-scratch-space").glob("*") if p.is_dir()]
    assert left == []


def test_different_seed_different_worlds(serial, tmp_path):
    other = sim.run_batch(SCENARIO, out=tmp_path / "o", **{**SETTINGS, "seed": 6})
    assert not filecmp.cmp(serial.folder / "runs.csv", other.folder / "runs.csv", shallow=False)


# -- the executor interface ---------------------------------------------------------
def test_results_come_back_in_task_order():
    with LocalExecutor(workers=2) as ex:
        assert list(ex.map(math.sqrt, [16, 9, 4, 1, 0])) == [4, 3, 2, 1, 0]
    with SerialExecutor() as ex:
        assert list(ex.map(math.sqrt, [16, 9])) == [4, 3]


@pytest.mark.parametrize("make", [SerialExecutor, lambda: LocalExecutor(workers=2)])
def test_failing_task_raises_execution_error(make):
    with make() as ex, pytest.raises(ExecutionError, match=r"-1 failed: ValueError"):
        list(ex.map(math.sqrt, [4, -1, 9]))


def test_killed_worker_raises_execution_error_not_hang():
    with LocalExecutor(workers=1) as ex, pytest.raises(ExecutionError, match="3 failed"):
        list(ex.map(os._exit, [3]))


def test_validation_error_crosses_process_boundary(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenario: {name: x}\n", encoding="utf-8")
    with pytest.raises(ValidationError) as direct:
        load_scenario(bad)
    with LocalExecutor(workers=1) as ex, pytest.raises(ValidationError) as remote:
        list(ex.map(load_scenario, [bad]))
    assert [str(d) for d in remote.value.diagnostics] == [str(d) for d in direct.value.diagnostics]


def test_guarded_call_returns_failures_as_values():
    failure = guarded_call(math.sqrt, -1)
    assert isinstance(failure, ChunkFailure)
    assert failure.kind == "error" and "ValueError" in failure.error_type
    assert "Traceback" in failure.traceback


def test_make_executor_defaults_and_errors():
    assert isinstance(make_executor(None, 1), SerialExecutor)
    assert isinstance(make_executor(None, 3), LocalExecutor)
    assert isinstance(make_executor(None, 1, scheduler="tcp://127.0.0.1:1"), DaskExecutor)
    with pytest.raises(UsageError, match="unknown executor"):
        make_executor("threads", 1)
    with pytest.raises(UsageError, match="at least 1"):
        make_executor(None, 0)
    with pytest.raises(UsageError, match="dask executor only"):
        make_executor("local", 2, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(UsageError, match="one worker"):
        make_executor("serial", 4)


def test_auto_workers_one_per_usable_core_never_more_than_the_chunks(monkeypatch):
    from sim.batch import executors

    monkeypatch.setattr(executors.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert executors.usable_cores() == 3
    assert isinstance(make_executor(None, None, tasks=1), SerialExecutor)  # one chunk: here
    two = make_executor(None, None, tasks=2)
    assert isinstance(two, LocalExecutor) and two.workers == 2
    assert make_executor(None, None, tasks=40).workers == 3
    assert make_executor(None, None).workers == 3  # the tasks unknown: every usable core
    assert isinstance(make_executor("serial", None, tasks=40), SerialExecutor)
    assert isinstance(make_executor("local", None, tasks=1), LocalExecutor)  # as asked
    from sim.batch.settings import RunSettings

    auto = RunSettings(workers=None, runs=25_000, seed=1)
    assert auto.make_executor().workers == 3  # three chunks of 10,000 worlds at most
    one = RunSettings(workers=None, runs=10_000, seed=1)
    assert isinstance(one.make_executor(), SerialExecutor)
    assert RunSettings(workers=None, runs=100, seed=1).make_executor(groups=2).workers == 2


def test_missing_dask_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(UsageError, match=r"pip install \.\[distributed\]"), DaskExecutor(workers=1):
        pass


# -- stalled workers -----------------------------------------------------------------
@pytest.fixture
def hang_guard():
    """Kill this test's worker processes if the test still runs after a minute.

    A broken timeout would otherwise hang the suite; the guard turns the hang
    into a failure (``fired`` is checked at the end).
    """
    fired = threading.Event()

    def rescue() -> None:
        fired.set()
        for child in multiprocessing.active_children():
            child.kill()

    timer = threading.Timer(60, rescue)
    timer.start()
    yield fired
    timer.cancel()
    assert not fired.is_set(), "hung until the guard killed the workers"


def test_stalled_worker_times_out_and_is_stopped(hang_guard):
    # The task stops its own worker (SIGSTOP), as a debugger or a full swap would.
    with (
        LocalExecutor(workers=1, chunk_timeout=1) as ex,
        pytest.raises(ExecutionError, match=r"no chunk finished for 1 s.*--chunk-timeout"),
    ):
        list(ex.map(signal.raise_signal, [signal.SIGSTOP]))
    # Leaving the block (the error was caught inside it) killed the stopped worker
    # rather than waiting for it.
    assert multiprocessing.active_children() == []
    assert not hang_guard.is_set()


def test_no_timeout_while_chunks_keep_finishing():
    with LocalExecutor(workers=2, chunk_timeout=30) as ex:
        assert list(ex.map(math.sqrt, range(40))) == [math.sqrt(i) for i in range(40)]


@pytest.mark.parametrize(("value", "seconds"), [(None, None), (0, None), (math.inf, None), (2, 2)])
def test_chunk_timeout_values(value, seconds):
    assert chunk_timeout_seconds(value) == seconds
    assert make_executor("local", 2, chunk_timeout=value).chunk_timeout == seconds


@pytest.mark.parametrize("value", [-1, math.nan])
def test_bad_chunk_timeout_is_a_usage_error(value):
    with pytest.raises(UsageError, match="--chunk-timeout must be a number of seconds >= 0"):
        make_executor("local", 2, chunk_timeout=value)


def test_default_chunk_timeout_is_documented():
    (row,) = [r for r in DOCS.read_text("utf-8").splitlines() if r.startswith("| `--chunk-t")]
    assert f"(default {CHUNK_TIMEOUT:g};" in row


_FAULTS = """
import resource, sys
import numpy as np
from sim.batch.worker import keep_freed_memory, runs_format
from sim.engine.core import Engine
from sim.engine.model import DEFAULT_SCENARIO
from sim.results.aggregate import summarise_chunk
from sim.scenario import load_scenario

if sys.argv[1] == "kept":
    keep_freed_memory()
sc = load_scenario(DEFAULT_SCENARIO)

def chunk(seed):  # what a worker does with a chunk, as run_chunk
    summary = summarise_chunk(Engine(sc, 5000, np.random.default_rng(seed)).run(), 0, 0, 0, True)
    runs_format(sc).lines(summary.rows, 0, 0, seed)

chunk(0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for seed in (1, 2):
    chunk(seed)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt, Linux's faults")
def test_a_worker_keeps_the_memory_its_chunks_free():
    """A chunk's freed arrays are reused by the next chunk rather than mapped anew, page by
    page (thousands of page faults per chunk of 5,000 worlds otherwise)."""
    env = {**os.environ, "WARGAME_KERNELS": "numpy"}
    faults = {
        how: int(
            subprocess.run(
                [sys.executable, "-c", _FAULTS, how],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            ).stdout
        )
        for how in ("kept", "default")
    }
    assert faults["kept"] * 5 < faults["default"], faults
