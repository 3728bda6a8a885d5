"""Executors: run chunk tasks in this process, in local processes, or on Dask.

All three share one interface and are used as context managers::

    with LocalExecutor(workers=4) as ex:
        for summary in ex.map(run_chunk, tasks):
            ...

``map`` yields results **in task order**, whatever order the chunks finish
in, so everything written from them is deterministic. A chunk that fails
stops the batch with an :class:`~sim.errors.ExecutionError` naming the
scenario, design point, chunk and seed; errors the user caused (an invalid
scenario) come back as themselves. Work still queued is cancelled, and
workers still running are stopped rather than waited for: their results
would be thrown away, and one of them may never answer.

A batch whose workers stop answering (a stopped, swapping or deadlocked
process) does not wait forever: when no chunk has finished for
``chunk_timeout`` seconds (:data:`CHUNK_TIMEOUT` by default) the batch stops
with an error naming the oldest unfinished chunk.

Worker processes are started with an explicit context (never a global
``set_start_method``), all of them when the executor is entered, and reused
for every chunk until it is left (:func:`start_method`): on Linux they are
forked from the parent while it runs one thread, so they start in a
fraction of a second with the library imported and the scenario compiled;
elsewhere, or when the parent runs other threads, they are spawned.
Results do not depend on the start method. They end with their parent,
however it ends (:func:`sim.batch.lifetime.tie_to_parent`).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sim.batch.lifetime import held_stops, tie_to_parent
from sim.errors import Diagnostic, ExecutionError, UsageError, ValidationError, WargameError

EXECUTORS = ("serial", "local", "dask")

WINDOW_PER_WORKER = 4
"""Tasks submitted ahead per worker: keeps workers busy and memory bounded."""

CHUNK_TIMEOUT = 600.0
"""Seconds without any chunk finishing after which a batch's workers count as stalled.

A chunk of 10,000 worlds of the shipped scenarios takes one to two seconds; ten
minutes leaves room for scenarios hundreds of times heavier before a stall
is declared.
"""


@dataclass
class ChunkFailure:
    """An exception raised inside a worker, carried back as a plain value.

    Exceptions with custom constructors (such as ``ValidationError``) do not
    survive pickling reliably, so the worker sends their parts instead.
    """

    kind: str  # "validation" | "wargame" | "memory" | "error"
    message: str
    error_type: str = ""
    traceback: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)

    def exception(self, task: Any) -> Exception:
        """The exception the parent raises for this failure of ``task``, naming the task (a
        validation failure comes back as the same ValidationError, positions and all).
        """
        if self.kind == "validation":
            return ValidationError(self.diagnostics + self.warnings)
        where = _describe(task)
        if self.kind == "wargame":
            return ExecutionError(f"{where}: {self.message}")
        if self.kind == "memory":
            return ExecutionError(
                f"{where} ran out of memory; a chunk needs memory in proportion to its "
                "worlds: give a smaller --chunk-size (fewer worlds per chunk), or fewer "
                "--workers so that fewer chunks run at once"
            )
        return ExecutionError(
            f"{where} failed: {self.error_type}: {self.message}\n"
            f"worker traceback:\n{self.traceback.rstrip()}"
        )


def guarded_call(fn: Callable[[Any], Any], task: Any) -> Any:
    """Run ``fn(task)`` in a worker; return a :class:`ChunkFailure` instead of raising."""
    try:
        return fn(task)
    except ValidationError as exc:
        return ChunkFailure(
            "validation", str(exc), "ValidationError", "", exc.diagnostics, exc.warnings
        )
    except WargameError as exc:
        return ChunkFailure("wargame", str(exc), type(exc).__name__)
    except MemoryError:  # its traceback says nothing the user can act on
        return ChunkFailure("memory", "", "MemoryError")
    except Exception as exc:
        return ChunkFailure("error", str(exc), type(exc).__name__, traceback.format_exc())


def _describe(task: Any) -> str:
    describe = getattr(task, "describe", None)
    return describe() if callable(describe) else repr(task)


def _unwrap(task: Any, result: Any) -> Any:
    if isinstance(result, ChunkFailure):
        raise result.exception(task)
    return result


def _lost(task: Any, exc: BaseException) -> ExecutionError:
    """A chunk whose worker died or could not be reached."""
    return ExecutionError(f"{_describe(task)} failed: {type(exc).__name__}: {exc}")


class Executor(ABC):
    """Runs tasks; ``map`` yields results in task order."""

    name = "executor"
    in_process = False
    """True when tasks run in this process (no need to ship the scenario's text)."""

    @property
    def compiles_text(self) -> bool:
        """Whether the workers compile the scenario text they are sent (so it is
        checked before it is sent, :func:`sim.batch.plan.scenario_source`)."""
        return not self.in_process

    def __init__(self, workers: int = 1, chunk_timeout: float | None = CHUNK_TIMEOUT):
        self.workers = int(workers)
        self.chunk_timeout = chunk_timeout_seconds(chunk_timeout)
        """Seconds to wait for the next chunk to finish; ``None``: forever."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(abort=exc_type is not None)

    def close(self, abort: bool = False) -> None:  # noqa: B027 - nothing to release by default
        """Release workers (called on leaving the ``with`` block).

        ``abort``: the work is being abandoned (an error, Ctrl-C, a stop
        signal), so running tasks may be stopped rather than waited for.
        """

    @abstractmethod
    def map(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        """Apply ``fn`` to every task; yield results in task order."""

    def describe(self) -> dict[str, Any]:
        """What the manifest records about the executor."""
        return {"executor": self.name, "workers": self.workers}


class SerialExecutor(Executor):
    """Runs every task in this process, one after the other."""

    name = "serial"
    in_process = True

    def __init__(self) -> None:
        super().__init__(1, chunk_timeout=None)

    def map(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        """Runs each task in turn here; a failure is raised as the pool executors raise it."""
        for task in tasks:
            yield _unwrap(task, guarded_call(fn, task))


def chunk_timeout_seconds(value: float | None) -> float | None:
    """``--chunk-timeout`` as seconds, or ``None`` for no limit (0 or infinity)."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value) or value < 0:
        raise UsageError(
            f"--chunk-timeout must be a number of seconds >= 0 (got {value}); 0 waits forever"
        )
    return None if value == 0 or math.isinf(value) else value


def _in_order(
    tasks: list[Any],
    submit: Callable[[Any], Any],
    wait_first: Callable[[list[Any], float | None], Iterable[Any]],
    cancel: Callable[[list[Any]], None],
    window: int,
    timeout: float | None = None,
) -> Iterator[Any]:
    """Yield results in task order, with at most ``window`` tasks submitted ahead.

    The window bounds memory: results that finish early wait in a buffer
    of at most ``window`` entries, whatever the number of tasks. Failures
    are noticed as soon as they happen (not when their turn comes); then
    everything still pending is cancelled.

    ``wait_first(futures, timeout)`` returns the futures done within
    ``timeout`` seconds (none when it runs out). When no task at all finishes
    for ``timeout`` seconds, every running task has run at least that long,
    so the oldest unfinished one is reported as stalled.

    Everything but the ``yield`` is done inside :class:`~sim.batch.lifetime.held_stops`
    (the wait in slices of :data:`HELD_WAIT` seconds at most), so a stop signal or
    Ctrl-C is raised between the pool's calls, never inside them: ``concurrent.futures``
    takes its locks in Python code (``with future._condition``, whose ``__enter__`` is
    a Python method), and an exception raised just after a lock was taken leaves it
    taken, which hangs the pool's manager thread and so the pool's closing.
    """
    pending: dict[Any, int] = {}
    ready: dict[int, Any] = {}
    submitted = done = 0
    try:
        while done < len(tasks):
            with held_stops():
                while submitted < len(tasks) and submitted - done < window:
                    pending[submit(tasks[submitted])] = submitted
                    submitted += 1
            finished = _wait_held(wait_first, list(pending), timeout)
            if not finished:
                raise _stalled(tasks[min(pending.values())], timeout)
            with held_stops():
                for fut in finished:
                    i = pending.pop(fut)
                    try:
                        result = fut.result()
                    except WargameError:
                        raise
                    except Exception as exc:
                        raise _lost(tasks[i], exc) from exc
                    ready[i] = _unwrap(tasks[i], result)
            while done in ready:
                yield ready.pop(done)
                done += 1
    except BaseException:
        with held_stops():
            cancel(list(pending))
        raise


HELD_WAIT = 0.25
"""Seconds a wait for tasks lasts at most before a stop signal held meanwhile is raised."""


def _wait_held(
    wait_first: Callable[[list[Any], float | None], Iterable[Any]],
    futures: list[Any],
    timeout: float | None,
) -> list[Any]:
    """``wait_first(futures, timeout)`` in waits of :data:`HELD_WAIT` seconds at most, each
    inside :class:`~sim.batch.lifetime.held_stops`: the futures done (none once
    ``timeout`` has run out)."""
    end = None if timeout is None else time.monotonic() + timeout
    while True:
        left = HELD_WAIT if end is None else min(HELD_WAIT, max(0.0, end - time.monotonic()))
        with held_stops():
            finished = list(wait_first(futures, left))
        if finished or (end is not None and time.monotonic() >= end):
            return finished


def _stalled(task: Any, timeout: float | None) -> ExecutionError:
    return ExecutionError(
        f"{_describe(task)}: no chunk finished for {timeout:g} s, so the batch was stopped "
        "(a worker may be stopped, swapping or deadlocked); if chunks of this scenario "
        "really take that long, raise --chunk-timeout (0 waits forever)"
    )


def _stop_workers(pool: Any) -> None:
    """Kill a process pool's workers now (a stalled one would never finish), and let the
    pool see that they are gone.

    Python 3.14 has ``kill_workers``; before it, the pool's own table of
    processes is the only handle on them.

    A worker killed while it was sending a result leaves half a message in the
    pipe of results, whose other end this process holds open too, so the pool's
    manager thread would wait for the rest of it for ever, and closing the pool
    with it. Once the workers are dead (their sentinels say so, within
    :data:`STOP_SECONDS`) this process's end is closed: the thread then reads
    the end of the pipe, counts the pool broken, and ends.
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
    kill = getattr(pool, "kill_workers", None)
    if callable(kill):
        kill()
    else:
        for process in processes:
            with contextlib.suppress(OSError, ValueError):  # already gone, or closed
                process.kill()
    if not _gone(processes, STOP_SECONDS):
        return  # a worker still alive may yet write: leave the pipe as it is
    writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
    if writer is not None:
        with contextlib.suppress(OSError):
            writer.close()


def _gone(processes: list[Any], seconds: float) -> bool:
    """Whether every one of ``processes`` has ended within ``seconds`` (their sentinels,
    which do not reap them: the pool's manager thread does); False where one cannot be
    told."""
    from multiprocessing.connection import wait  # start-up time, as in __enter__

    left = [p.sentinel for p in processes]
    deadline = time.monotonic() + seconds
    try:
        while left and time.monotonic() < deadline:
            done = wait(left, timeout=max(0.0, deadline - time.monotonic()))
            left = [s for s in left if s not in done]
    except (OSError, ValueError):  # a sentinel closed already
        return False
    return not left


STOP_SECONDS = 5.0
"""How long a killed worker is given to be gone before the pool is closed without it."""


def start_method() -> str:
    """How the local executor starts its workers here and now: ``fork`` or ``spawn``.

    ``fork`` on Linux while this process runs a single thread: a forked
    worker has the parent's imports and compiled scenarios, so it starts in
    about a tenth of a second instead of a second or more. Forking a process
    that runs other threads can deadlock the child (a lock held by a thread
    that does not exist there), and macOS's system libraries do not survive
    a fork; there the workers are spawned. (Not ``forkserver``: its workers
    are the server's children, not this process's, so they could not be
    tied to it, :func:`sim.batch.lifetime.tie_to_parent`.)
    """
    import multiprocessing  # start-up time: `wargame --help` starts no process

    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "spawn"


class LocalExecutor(Executor):
    """Runs tasks in a pool of local processes, started on entering (see :func:`start_method`).

    Workers end with this process (:func:`sim.batch.lifetime.tie_to_parent`),
    and are killed, not waited for, when the work is abandoned.

    Args:
        workers: number of processes; ``None``: one per usable core (:func:`usable_cores`).
        chunk_timeout: seconds without any task finishing before the workers
            count as stalled; ``None`` or 0 waits forever.
    """

    name = "local"

    def __init__(self, workers: int | None = None, chunk_timeout: float | None = CHUNK_TIMEOUT):
        super().__init__(workers or usable_cores(), chunk_timeout)
        self._pool: Any = None
        self._abandoned = False
        self.start_method = ""
        """How the workers were started (:func:`start_method`), once entered."""

    def __enter__(self) -> LocalExecutor:
        import multiprocessing  # start-up time: `wargame --help` starts no process
        from concurrent.futures import ProcessPoolExecutor

        self._abandoned = False
        self.start_method = start_method()
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context(self.start_method),
            initializer=tie_to_parent,
            initargs=(os.getpid(),),
        )
        try:
            # Start every worker now, from this thread: a forking pool starts
            # them all on its first task, before any other thread (a progress
            # bar's) exists, and they are reused for every chunk.
            with held_stops():
                self._pool.submit(os.getpid).result()
        except BaseException:
            self.close(abort=True)
            raise
        return self

    def close(self, abort: bool = False) -> None:
        """Shuts the pool down; its workers are killed first if ``abort`` or the work was abandoned
        (a worker that never answers must not make closing wait).
        """
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        with held_stops():  # the pool's own locks, as in _in_order
            if abort or self._abandoned:
                _stop_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)

    def map(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        """Submits a bounded window of tasks to the pool and yields results in task order.

        Any error on the way (a stall past ``chunk_timeout`` among them) marks the work
        abandoned, so closing kills the workers instead of waiting for them.
        """
        if self._pool is None:
            raise RuntimeError("use LocalExecutor as a context manager (with ... as ex:)")
        pool = self._pool
        from concurrent.futures import FIRST_COMPLETED
        from concurrent.futures import wait as wait_futures

        def wait_first(fs: list[Any], timeout: float | None) -> Iterable[Any]:
            return wait_futures(fs, timeout=timeout, return_when=FIRST_COMPLETED).done

        def cancel(fs: list[Any]) -> None:
            for f in fs:
                f.cancel()

        try:
            yield from _in_order(
                list(tasks),
                lambda t: pool.submit(guarded_call, fn, t),
                wait_first,
                cancel,
                window=WINDOW_PER_WORKER * self.workers,
                timeout=self.chunk_timeout,
            )
        except BaseException:
            # Even if the caller swallows the error, closing must not wait
            # for workers that may never answer.
            self._abandoned = True
            raise

    @property
    def compiles_text(self) -> bool:
        """Forked workers find the scenario in the scenario cache they inherit (put there
        before they start); spawned ones compile its text."""
        return (self.start_method or start_method()) != "fork"

    def describe(self) -> dict[str, Any]:
        """The base description, plus how the workers were started (``fork`` or ``spawn``)."""
        return super().describe() | {"start_method": self.start_method or start_method()}


class DaskExecutor(Executor):
    """Runs tasks on a Dask cluster: an existing scheduler, or a local one.

    Args:
        scheduler: address of a running scheduler (``tcp://host:8786``). Its
            workers must have this package installed. ``None`` starts a
            private ``LocalCluster`` bound to 127.0.0.1, without a dashboard,
            and stops it on leaving the ``with`` block. Its scheduler, nannies
            and workers listen on random loopback ports only: Dask always
            opens a small HTTP endpoint (health, metrics) beside the
            scheduler and each worker, and it is put there too, not on 8787.
        workers: processes of the private cluster (``None``: one per usable core).
        local_directory: scratch folder of the private cluster's workers.
        chunk_timeout: as for :class:`LocalExecutor`.
    """

    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        workers: int | None = None,
        local_directory: str | os.PathLike[str] | None = None,
        chunk_timeout: float | None = CHUNK_TIMEOUT,
    ):
        super().__init__(workers or usable_cores(), chunk_timeout)
        self.scheduler = scheduler
        self.local_directory = local_directory
        self._client: Any = None
        self._cluster: Any = None

    def __enter__(self) -> DaskExecutor:
        try:
            # An optional extra (distributed), slow to import: only for this executor.
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:
            raise UsageError(
                "the dask executor needs Dask: pip install .[distributed] "
                '(or pip install "dask[distributed]")'
            ) from exc
        try:
            if self.scheduler:
                self._client = Client(self.scheduler, timeout="10s")
                self.workers = len(self._client.scheduler_info().get("workers", {})) or 1
            else:
                options: dict[str, Any] = {}
                if self.local_directory is not None:
                    options["local_directory"] = os.fspath(self.local_directory)
                self._cluster = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    # No dashboard, but the scheduler's HTTP endpoint would
                    # still take 8787 (or warn and move): a random loopback port.
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                    silence_logs=40,  # logging.ERROR
                    **options,
                )
                self._client = Client(self._cluster)
        except OSError as exc:
            self.close()
            where = self.scheduler or "a local cluster"
            raise ExecutionError(f"cannot connect to Dask scheduler at {where}: {exc}") from exc
        except BaseException:
            self.close()
            raise
        return self

    def close(self, abort: bool = False) -> None:
        """Closes the client, and the private cluster if this executor started one."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def map(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        """Submits a bounded window of tasks to the cluster and yields results in task order."""
        from dask.distributed import wait  # the optional extra, imported by __enter__

        if self._client is None:
            raise RuntimeError("use DaskExecutor as a context manager (with ... as ex:)")
        client = self._client

        def wait_first(fs: list[Any], timeout: float | None) -> Iterable[Any]:
            try:
                return wait(fs, timeout=timeout, return_when="FIRST_COMPLETED").done
            except TimeoutError:  # Dask raises where concurrent.futures returns none
                return ()

        def cancel(fs: list[Any]) -> None:
            if fs:
                client.cancel(fs)

        yield from _in_order(
            list(tasks),
            lambda t: client.submit(guarded_call, fn, t, pure=False),
            wait_first,
            cancel,
            window=WINDOW_PER_WORKER * self.workers,
            timeout=self.chunk_timeout,
        )

    def describe(self) -> dict[str, Any]:
        """The base description, plus the scheduler address when one was given."""
        info = super().describe()
        if self.scheduler:
            info["scheduler"] = self.scheduler
        return info


def check_executor(executor: str | None, workers: int | None, scheduler: str | None) -> str:
    """The executor that ``executor``, ``workers`` and ``scheduler`` name together.

    Default: ``dask`` when a scheduler address is given, ``serial`` for one
    worker, ``local`` for several.

    Raises:
        UsageError: an unknown executor, fewer than one worker, or options
            that do not go together.
    """
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be at least 1 (got {workers})")
    if executor is None:
        executor = "dask" if scheduler else ("serial" if workers == 1 else "local")
    if executor not in EXECUTORS:
        raise UsageError(f"unknown executor {executor!r}; expected one of {', '.join(EXECUTORS)}")
    if scheduler and executor != "dask":
        raise UsageError("--scheduler applies to the dask executor only (use --executor dask)")
    if executor == "serial" and workers not in (None, 1):
        raise UsageError(f"the serial executor runs one worker (got --workers {workers})")
    return executor


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity mask where the system has one)."""
    affinity = getattr(os, "sched_getaffinity", None)
    if callable(affinity):
        return len(affinity(0)) or 1
    return os.cpu_count() or 1


def auto_workers(tasks: int | None = None) -> int:
    """``--workers auto``: one worker per usable core, never more than ``tasks`` (if known)."""
    cores = usable_cores()
    return max(1, min(cores, tasks)) if tasks is not None else cores


def make_executor(
    executor: str | None = None,
    workers: int | None = 1,
    scheduler: str | None = None,
    chunk_timeout: float | None = CHUNK_TIMEOUT,
    tasks: int | None = None,
    **options: Any,
) -> Executor:
    """The executor named by ``executor``; the default follows the other options
    (:func:`check_executor`). ``chunk_timeout`` applies to the local and
    Dask executors (a serial batch runs in this process, where a stall is
    the caller's own).

    ``workers=None`` is ``--workers auto``: :func:`auto_workers` of ``tasks``
    (the number of chunk tasks to run, if known), so one chunk runs serially
    and two chunks on a machine of eight cores start two workers, not eight.
    """
    chunk_timeout = chunk_timeout_seconds(chunk_timeout)
    if workers is None and not scheduler:
        workers = 1 if executor == "serial" else auto_workers(tasks)
    executor = check_executor(executor, workers, scheduler)
    if executor == "serial":
        return SerialExecutor()
    if executor == "local":
        return LocalExecutor(workers, chunk_timeout)
    return DaskExecutor(scheduler, workers, chunk_timeout=chunk_timeout, **options)
