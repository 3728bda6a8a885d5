"""Batches, sweeps and ``evaluate`` on a real Dask cluster whose workers have no files.

A scheduler and two workers are started as separate processes (``python -m
dask scheduler`` / ``dask worker``, as on a cluster), bound to 127.0.0.1 on
ports the system picks, without dashboards, in a temporary folder that holds
no scenario. ``wargame batch`` and ``wargame sweep`` then run from the
repository with a relative scenario path: a worker that tried to open that
path would fail, so identical results show that the scenario's text
travelled with the tasks. The processes are stopped, and the folder
removed, whatever happens.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DEFAULT_SCENARIO, ROOT

pytest.importorskip("dask.distributed")
psutil = pytest.importorskip("psutil")

RELATIVE = "scenarios/allied_resolve_2022.yaml"
START_TIMEOUT = 120.0  # seconds for the scheduler file and both workers to appear
LOOPBACK = "127.0.0.1"


def _dask(*args: str) -> list[str]:
    return [sys.executable, "-m", "dask", *args]


def _stop(procs: list[subprocess.Popen]) -> None:
    """Stop the processes this test started (by their pids), gently, then not."""
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in reversed(procs):
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=20)


def _listening(pid: int, besides: frozenset[int] = frozenset()) -> list[tuple[str, int]]:
    """Addresses that a process and its children (but those in ``besides``) listen on."""
    out = []
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        if proc.pid in besides:
            continue
        try:
            conns = proc.net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue
        out += [(c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN]
    return out


@pytest.fixture(scope="module")
def cluster() -> Iterator[dict]:
    """``{"address", "work", "procs"}`` of a running scheduler with two workers."""
    from dask.distributed import Client

    work = Path(tempfile.mkdtemp(prefix="wargame-dask-test-"))
    procs: list[subprocess.Popen] = []
    env = {**os.environ, "DASK_TEMPORARY_DIRECTORY": str(work)}  # scratch files stay in work
    try:
        info = work / "scheduler.json"
        common = ["--no-dashboard", "--dashboard-address", f"{LOOPBACK}:0"]
        procs.append(
            subprocess.Popen(
                _dask(
                    "scheduler",
                    "--host",
                    LOOPBACK,
                    "--port",
                    "0",
                    *common,
                    "--scheduler-file",
                    str(info),
                ),
                cwd=work,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not info.is_file() and time.monotonic() < deadline:
            assert procs[0].poll() is None, "the scheduler exited"
            time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        for i in range(2):
            procs.append(
                subprocess.Popen(
                    _dask(
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--host",
                        LOOPBACK,
                        *common,
                        "--local-directory",
                        str(work / f"worker{i}"),
                    ),
                    cwd=work,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT)
        assert not (work / "scenarios").exists() and not list(work.glob("*.yaml"))
        yield {"address": address, "work": work, "procs": procs}
    finally:
        _stop(procs)
        shutil.rmtree(work, ignore_errors=True)


def _wargame(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done


def _same_tables(a: Path, b: Path) -> None:
    for name in ("runs.csv", "daily.csv", "rules.csv"):
        if (a / name).exists() or (b / name).exists():
            assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_cluster_listens_on_loopback_only(cluster) -> None:
    for proc in cluster["procs"]:
        addresses = _listening(proc.pid)
        assert addresses, "every process of the cluster listens somewhere"
        assert {ip for ip, _ in addresses} == {LOOPBACK}
        assert 8787 not in {port for _, port in addresses}


def test_private_local_cluster_binds_loopback_only_and_not_8787(tmp_path) -> None:
    """``--executor dask`` without a scheduler: no dashboard, nothing on 8787."""
    import dask

    from sim.batch.executors import DaskExecutor

    me = psutil.Process()
    before = frozenset(p.pid for p in me.children(recursive=True))
    with (
        dask.config.set({"temporary-directory": str(tmp_path)}),  # the scheduler's scratch
        DaskExecutor(workers=2, local_directory=tmp_path),
    ):
        addresses = _listening(me.pid, besides=before)
    # the scheduler, its HTTP endpoint, two nannies, two workers and their endpoints
    assert len(addresses) >= 4
    assert {ip for ip, _ in addresses} == {LOOPBACK}
    assert 8787 not in {port for _, port in addresses}


def test_batch_on_the_cluster_is_byte_identical_to_serial(cluster, tmp_path) -> None:
    common = [RELATIVE, "--runs", "11000", "--seed", "3", "--no-plots", "-q"]
    _wargame("batch", *common, "--workers", "1", "--out", str(tmp_path / "serial"))
    done = _wargame(
        "batch", *common, "--scheduler", cluster["address"], "--out", str(tmp_path / "dask")
    )
    assert "dask executor, 2 worker(s)" in done.stdout
    _same_tables(tmp_path / "serial", tmp_path / "dask")
    manifest = json.loads((tmp_path / "dask" / "manifest.json").read_text())
    assert manifest["scheduler"] == cluster["address"]


def test_sweep_on_the_cluster_is_byte_identical_to_serial(cluster, tmp_path) -> None:
    """Override points recompile the scenario: each point's text is sent as well."""
    common = [
        RELATIVE,
        "--vary",
        "param.kremlin_appetite=0.2,0.8",
        "--vary",
        "parameters.withdrawal_rate.high=0.05,0.3",
        "--runs",
        "2500",
        "--seed",
        "5",
        "--no-plots",
        "-q",
    ]
    _wargame("sweep", *common, "--workers", "1", "--out", str(tmp_path / "serial"))
    _wargame("sweep", *common, "--scheduler", cluster["address"], "--out", str(tmp_path / "dask"))
    _same_tables(tmp_path / "serial", tmp_path / "dask")
    a, b = (json.loads((tmp_path / f / "summary.json").read_text()) for f in ("serial", "dask"))
    assert a["results"] == b["results"]


def test_evaluate_on_the_cluster_with_a_loaded_scenario(cluster) -> None:
    from dask.distributed import Client

    from sim.interop import evaluate
    from sim.scenario import load_scenario

    sc = load_scenario(DEFAULT_SCENARIO)
    inputs = [
        {"kremlin_appetite": 0.1},
        {"kremlin_appetite": 0.9, "lukashenka_doctrine": "like_russian_army"},
        {"parameters.ukraine_retaliation.a": 5, "scenario.horizon_days": 60.0},
    ]
    with Client(cluster["address"], timeout="30s") as client:
        shipped = client.scatter(sc, broadcast=True)
        futures = client.map(evaluate, [shipped] * len(inputs), inputs, seed=2, runs=600)
        remote = client.gather(futures)
    assert remote == [evaluate(DEFAULT_SCENARIO, x, seed=2, runs=600) for x in inputs]


def test_a_text_that_does_not_round_trip_is_an_error(monkeypatch) -> None:
    """No silent fall-back to loading the file on each worker."""
    from sim.batch import plan
    from sim.errors import ExecutionError
    from sim.scenario import load_scenario, resolved

    sc = load_scenario(DEFAULT_SCENARIO)
    reordered = json.dumps(resolved._drop_nulls(sc.resolved), sort_keys=True)
    monkeypatch.setattr(plan, "resolved_text", lambda resolved: reordered)
    with pytest.raises(ExecutionError, match="cannot be sent to workers as text"):
        plan.scenario_source(sc, RELATIVE)
