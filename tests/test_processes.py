"""Processes and folders of a batch: signals, workers, stalls, temporary folders, races, latest.

The process tests run ``python -m sim batch`` as a real child process, look
at its children through ``/proc`` (no third-party process library) and
signal them by pid. Every process a test starts is stopped at the end of
the test, whatever happened.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import DEFAULT_SCENARIO

import sim
from sim.batch import runner
from sim.cli import main
from sim.errors import ResultsError
from sim.results.locks import hold, release
from sim.results.staging import Staging

SCENARIO = DEFAULT_SCENARIO
GROUP = SCENARIO.stem
LIVE_SECONDS = 5
"""How soon after the parent is signalled none of its processes may be left."""

needs_proc = pytest.mark.skipif(
    not Path("/proc/self/stat").is_file(), reason="reads processes from /proc (Linux)"
)


# -- processes, from /proc -------------------------------------------------------
def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state first), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def running(pid: int) -> bool:
    """The process exists and is not a zombie (a zombie has released everything)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def is_worker(pid: int) -> bool:
    """A pool worker: spawned, or forked (so running its parent's command line)."""
    fields = _stat(pid)
    try:
        own = Path(f"/proc/{pid}/cmdline").read_bytes()
        parent = Path(f"/proc/{fields[1]}/cmdline").read_bytes() if fields else b""
    except OSError:
        return False
    return b"spawn_main" in own or (bool(own) and own == parent)


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail after ``seconds`` (a hang, not a timing)."""
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"still not {what} after {seconds} s")
        time.sleep(0.05)


@pytest.fixture
def spawn(tmp_path_factory) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start processes that are killed, with every child they had, when the test ends.

    Their stderr goes to a file (see :func:`finish`), never a pipe: a pipe kept
    open by a leftover worker would block whoever reads it to the end.
    """
    logs = tmp_path_factory.mktemp("stderr")
    started: list[subprocess.Popen[bytes]] = []
    family: set[int] = set()

    def start(argv: list[str], cwd: Path) -> subprocess.Popen[bytes]:
        log = logs / f"{len(started)}.txt"
        with log.open("wb") as err:
            proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        proc.log = log  # type: ignore[attr-defined]
        started.append(proc)
        return proc

    start.family = family  # type: ignore[attr-defined]
    yield start
    for proc in started:
        if proc.poll() is None:
            family.update(children(proc.pid))
            proc.kill()
        proc.wait()
    for pid in family:
        if running(pid):
            os.kill(pid, signal.SIGKILL)


def finish(proc: subprocess.Popen[bytes], seconds: float) -> str:
    """Wait for ``proc`` to end (failing after ``seconds``: a hang); its stderr."""
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the process still runs after {seconds} s")
    return proc.log.read_text(encoding="utf-8", errors="replace")  # type: ignore[attr-defined]


def batch_argv(out: Path, *extra: str) -> list[str]:
    """A batch long enough to be signalled while it runs (it never finishes in a test)."""
    return [
        sys.executable, "-m", "sim", "batch", str(SCENARIO), "--runs", "1000000",
        "--chunk-size", "500", "--no-plots", "-q", "--out", str(out), *extra,
    ]  # fmt: skip


def running_batch(proc: subprocess.Popen[bytes], out: Path, workers: int = 0) -> list[int]:
    """Wait until the batch has written worlds (its workers are at work); its children."""

    def busy() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"the batch ended early ({proc.returncode}): {finish(proc, 1)}")
        tables = list(out.parent.glob(".tmp-*/runs.csv"))
        written = bool(tables) and tables[0].stat().st_size > 10_000
        return written and sum(map(is_worker, children(proc.pid))) >= workers

    wait_for(busy, 120, "writing worlds")
    kids = children(proc.pid)
    return kids


# -- signals and workers ---------------------------------------------------------
def _name(sig: signal.Signals) -> str:
    return sig.name


@needs_proc
@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL], ids=_name
)
def test_signalled_parent_leaves_no_process_behind(tmp_path, spawn, sig):
    out = tmp_path / "b"
    proc = spawn(batch_argv(out, "--workers", "2", "--executor", "local"), tmp_path)
    kids = running_batch(proc, out, workers=2)
    spawn.family.update(kids)
    # Forked workers alone; spawned ones (no fork here) come with a resource tracker.
    assert sum(map(is_worker, kids)) == 2 and len(kids) in (2, 3)

    os.kill(proc.pid, sig)
    deadline = time.monotonic() + LIVE_SECONDS
    err = finish(proc, 60)
    while any(map(running, kids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [k for k in kids if running(k)] == []

    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
        return
    # A stop signal is handled like Ctrl-C: message, 128 + signal, nothing left.
    assert proc.returncode == 128 + sig
    said = "interrupted" if sig == signal.SIGINT else f"stopped by {sig.name}"
    assert said in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_stop_signal_or_ctrl_c_in_a_held_block_is_raised_on_leaving_it():
    from sim.batch.lifetime import Terminated, held_stops, stop_signals_interrupt

    reached, before = [], signal.getsignal(signal.SIGHUP)
    with pytest.raises(Terminated) as stop, stop_signals_interrupt(), held_stops():
        os.kill(os.getpid(), signal.SIGHUP)
        with held_stops():  # nested: raised when the outer block is left
            os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        reached.append("end of the block")
    assert reached == ["end of the block"] and stop.value.signum == signal.SIGHUP
    assert signal.getsignal(signal.SIGHUP) == before  # restored on leaving
    with pytest.raises(KeyboardInterrupt) as ctrl_c, stop_signals_interrupt(), held_stops():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        reached.append("Ctrl-C held")
    assert reached[-1] == "Ctrl-C held" and type(ctrl_c.value) is KeyboardInterrupt
    with held_stops():  # outside stop_signals_interrupt, nothing is held
        pass


# A signal that lands while the parent holds one of concurrent.futures' locks: half-way
# through concurrent.futures.wait, which takes the futures' locks one after the other
# ("wait", SIGTERM), or just after Future.result took its future's lock, where Python checks
# for signals on the way out of a C call ("result", Ctrl-C).
_SIGNAL_INSIDE_THE_POOL = """
import os, signal, sys, time
import concurrent.futures._base as base
from sim.batch.executors import LocalExecutor
from sim.batch.lifetime import stop_signals_interrupt

where, sig = sys.argv[1], getattr(signal, sys.argv[2])
sent = []

def send():
    sent.append(os.kill(os.getpid(), sig))
    for _ in range(100):  # the handler runs here, a lock taken
        pass

def enter(self):
    for n, future in enumerate(self.futures):
        future._condition.acquire()
        if where == "wait" and n == 0 and len(self.futures) > 1 and not sent:
            send()

result = base.Future.result

def result_of(self, timeout=None):
    if where == "result" and not sent:
        self._condition.acquire()
        send()
        self._condition.release()
    return result(self, timeout)

base._AcquireFutures.__enter__ = enter
base.Future.result = result_of

def work(x):
    time.sleep(0.02)
    return x

try:
    with stop_signals_interrupt():
        with LocalExecutor(workers=2) as ex:
            for _ in ex.map(work, range(200)):
                pass
except KeyboardInterrupt as stop:  # Terminated for SIGTERM
    print("stopped by", type(stop).__name__, "after", len(sent), "signal")
"""


@pytest.mark.parametrize(
    ("where", "sig", "stopped"),
    [("wait", "SIGTERM", "Terminated"), ("result", "SIGINT", "KeyboardInterrupt")],
)
def test_a_stop_signal_inside_the_pools_locking_waits_until_it_is_out(
    tmp_path, where, sig, stopped
):
    # Raised there, it left the lock taken: the pool's manager thread then waited for it
    # forever, and so did closing the pool (the parent never ended).
    done = subprocess.run(
        [sys.executable, "-c", _SIGNAL_INSIDE_THE_POOL, where, sig],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"stopped by {stopped} after 1 signal"


# A worker that dies half-way through sending its result (here: it sends half a message
# and waits, and the stop kills it), the pipe of results left open by the parent's own end.
_HALF_A_RESULT = """
import os, signal, struct, sys, threading, time
from sim.batch.executors import LocalExecutor
from sim.batch.lifetime import Terminated, stop_signals_interrupt

def work(x):
    frame = sys._getframe()
    while "result_queue" not in frame.f_locals:  # the pool's worker loop, further up
        frame = frame.f_back
    if x == 0:
        frame.f_locals["result_queue"]._writer._send(struct.pack("!i", 1 << 20) + b"x" * 64)
    time.sleep(600)

try:
    with stop_signals_interrupt():
        with LocalExecutor(workers=2) as ex:
            threading.Timer(2.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
            for _ in ex.map(work, range(4)):
                pass
except Terminated as stop:
    print("stopped by", stop.signal_name)
"""


def test_a_worker_killed_while_it_sends_its_result_does_not_hang_the_stop(tmp_path):
    # The pool's manager thread waited for the rest of the message for ever, and closing
    # the pool with it: the parent of a stopped batch never ended (seen in CI, SIGTERM).
    done = subprocess.run(
        [sys.executable, "-c", _HALF_A_RESULT],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "stopped by SIGTERM"


@needs_proc
def test_leftover_of_a_killed_batch_is_removed_by_the_next(tmp_path, spawn, capsys):
    proc = spawn(batch_argv(tmp_path / "b"), tmp_path)
    running_batch(proc, tmp_path / "b")
    proc.kill()
    finish(proc, 60)
    (leftover,) = tmp_path.glob(".tmp-*")

    assert main(["batch", str(SCENARIO), "--runs", "50", "--out", str(tmp_path / "c"),
                 "--no-plots", "-q"]) == 0  # fmt: skip
    assert not leftover.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]
    assert (tmp_path / "c" / "manifest.json").is_file()


def test_leftover_of_a_live_batch_is_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid = int(dead.stdout)
    mine = tmp_path / f".tmp-a-{os.getpid()}-abcd1234"  # this process runs
    elsewhere = tmp_path / f".tmp-b-{dead_pid}-efgh5678"  # pid unknown here, but locked
    gone = tmp_path / f".tmp-c-{dead_pid}-ijkl9012"  # pid gone, lock free
    for folder in (mine, elsewhere, gone):
        folder.mkdir()
        (folder / "runs.csv").write_text("world\n")
    lock = hold(elsewhere)  # as a process in another PID namespace would
    try:
        with Staging(tmp_path, out=tmp_path / "new") as stage:
            (stage.path / "manifest.json").write_text("{}")
        assert stage.removed == [gone]
    finally:
        release(lock)
    assert mine.is_dir() and elsewhere.is_dir() and not gone.exists()


@needs_proc
def test_stalled_worker_stops_the_batch(tmp_path, spawn):
    out = tmp_path / "b"
    # 20 s leaves room for the workers' start-up on a busy machine (the first
    # chunk waits for it); a stall is declared 20 s after the last chunk.
    argv = batch_argv(out, "--workers", "2", "--executor", "local", "--chunk-timeout", "20")
    proc = spawn(argv, tmp_path)
    kids = running_batch(proc, out, workers=2)
    spawn.family.update(kids)
    stalled = next(k for k in kids if is_worker(k))
    os.kill(stalled, signal.SIGSTOP)

    err = finish(proc, 300)
    assert proc.returncode == 2
    assert "no chunk finished for 20 s" in err and "--chunk-timeout" in err
    assert "Traceback" not in err and err.strip().count("\n") == 0
    wait_for(lambda: not running(stalled), LIVE_SECONDS, "rid of the stalled worker")
    assert list(tmp_path.iterdir()) == []


# -- two batches at once ---------------------------------------------------------
STARTED = dt.datetime(2022, 2, 24, 4, 0, 0)
NAMES = ["20220224-040000", "20220224-040000-2"]
QUIET = {"seed": 5, "progress": False}


class _Clock(dt.datetime):
    """Every batch starts at the same second."""

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
        return STARTED


@pytest.fixture
def same_second(monkeypatch):
    monkeypatch.setattr(runner, "_dt", SimpleNamespace(datetime=_Clock))


@pytest.fixture(scope="module")
def expected(tmp_path_factory) -> Callable[[int], bytes]:
    """The runs.csv a batch of ``runs`` worlds must hold (run alone, serially)."""
    cache: dict[int, bytes] = {}

    def table(runs: int) -> bytes:
        if runs not in cache:
            out = tmp_path_factory.mktemp("alone") / "b"
            cache[runs] = (
                sim.run_batch(SCENARIO, runs=runs, out=out, **QUIET)
                .folder.joinpath("runs.csv")
                .read_bytes()
            )
        return cache[runs]

    return table


def _together(*jobs: Callable[[], object]) -> list[object]:
    """Run ``jobs`` in threads released at the same moment; their results or errors."""
    barrier = threading.Barrier(len(jobs))
    outcome: list[object] = [None] * len(jobs)

    def run(i: int) -> None:
        barrier.wait()
        try:
            outcome[i] = jobs[i]()
        except Exception as exc:
            outcome[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return outcome


def _folders(group: Path) -> list[str]:
    return sorted(p.name for p in group.iterdir() if p.name != "latest")


def test_two_batches_in_one_second_in_threads(tmp_path, same_second, expected):
    a, b = _together(
        lambda: sim.run_batch(SCENARIO, runs=300, results_root=tmp_path, **QUIET),
        lambda: sim.run_batch(SCENARIO, runs=500, results_root=tmp_path, **QUIET),
    )
    assert not isinstance(a, Exception) and not isinstance(b, Exception), (a, b)
    assert _folders(tmp_path / GROUP) == NAMES
    for res, runs in ((a, 300), (b, 500)):
        assert (res.folder / "runs.csv").read_bytes() == expected(runs)
        assert res.manifest["runs"] == runs


def test_two_batches_racing_for_one_out(tmp_path, expected):
    out = tmp_path / "b"
    outcome = _together(
        lambda: sim.run_batch(SCENARIO, runs=300, out=out, **QUIET),
        lambda: sim.run_batch(SCENARIO, runs=500, out=out, **QUIET),
    )
    won = [r for r in outcome if not isinstance(r, BaseException)]
    lost = [r for r in outcome if isinstance(r, BaseException)]
    assert len(won) == 1 and len(lost) == 1, outcome
    assert isinstance(lost[0], ResultsError) and f"--out {out}" in str(lost[0])
    runs = won[0].manifest["runs"]
    assert (out / "runs.csv").read_bytes() == expected(runs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


_SAME_SECOND = f"""
import datetime as dt, sys, types
import sim.batch.runner as runner
class Clock(dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return dt.datetime({STARTED.year}, {STARTED.month}, {STARTED.day}, {STARTED.hour})
runner._dt = types.SimpleNamespace(datetime=Clock)
from sim.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _own_pid_namespace() -> list[str]:
    """``unshare`` so that both processes get the same pid, as in two containers; or nothing."""
    if shutil.which("unshare") is None:
        return []
    probe = ["unshare", "--pid", "--fork", sys.executable, "-c", "import os; print(os.getpid())"]
    done = subprocess.run(probe, capture_output=True, text=True)
    return ["unshare", "--pid", "--fork"] if done.stdout.strip() == "1" else []


def test_two_processes_in_one_second(tmp_path, spawn, expected):
    prefix = _own_pid_namespace()
    argv = [*prefix, sys.executable, "-c", _SAME_SECOND, "batch", str(SCENARIO), "--seed", "5"]
    procs = [spawn([*argv, "--runs", str(n), "--no-plots", "-q"], tmp_path) for n in (300, 500)]
    for proc in procs:
        err = finish(proc, 300)
        assert proc.returncode == 0, err
    group = tmp_path / "results" / GROUP
    assert _folders(group) == NAMES
    held = sorted((group / name / "runs.csv").read_bytes() for name in NAMES)
    assert held == sorted([expected(300), expected(500)])


# -- latest ----------------------------------------------------------------------
def _stage(group: Path, started: dt.datetime) -> Path:
    with Staging(group, started=started) as stage:
        (stage.path / "manifest.json").write_text("{}")
    assert stage.final is not None
    return stage.final


def test_latest_points_at_the_batch_that_started_last(tmp_path):
    later = _stage(tmp_path, STARTED + dt.timedelta(hours=1))
    _stage(tmp_path, STARTED)  # started first, finished last
    assert os.readlink(tmp_path / "latest") == later.name
    newest = _stage(tmp_path, STARTED + dt.timedelta(hours=2))
    assert os.readlink(tmp_path / "latest") == newest.name
