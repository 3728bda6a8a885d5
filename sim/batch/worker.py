"""The worker side of a run: one chunk task in, its counts and rows out.

:func:`run_chunk` is what every executor calls, in this process, in a local
worker process or on a Dask worker on another machine; it needs nothing but
the task (the scenario travels in it as text, see :mod:`sim.batch.plan`).
It imports neither Mesa nor anything Mesa imports.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import pickle
import signal
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from sim.batch.lifetime import tie_to_parent
from sim.batch.plan import ChunkGroup, ChunkTask, ScenarioSource
from sim.engine import kernels
from sim.engine.core import Engine
from sim.errors import ExecutionError
from sim.results.aggregate import ChunkSummary, summarise_chunk
from sim.results.writer import RunsFormat
from sim.scenario import cache as scenario_cache
from sim.scenario.model import Scenario
from sim.scenario.pins import check_pinned


def compiled(source: ScenarioSource) -> Scenario:
    """The compiled scenario of ``source``, from the process's scenario cache if possible.

    The cache (:mod:`sim.scenario.cache`) is found by ``sha256`` first: the
    parent process put its scenario there (:func:`sim.batch.plan.scenario_source`),
    and a worker process keeps each one it compiled.

    Raises:
        ExecutionError: the scenario compiled to another ``sha256`` than the
            parent's (its file changed while the batch ran).
    """
    sc = scenario_cache.by_sha256(source.sha256) if source.sha256 else None
    if sc is not None:
        return sc
    if source.text is not None:
        sc = scenario_cache.scenario_from_text(source.name, source.text)
    else:
        sc = scenario_cache.load_cached(source.path, source.overrides)
    if source.sha256 and sc.sha256 != source.sha256:
        raise ExecutionError(
            f"scenario {source.name!r} ({source.path}) compiled differently in a worker "
            f"(sha256 {sc.sha256[:12]} instead of {source.sha256[:12]}); "
            "was the file changed while the batch ran?"
        )
    return sc


@functools.cache
def keep_freed_memory() -> None:
    """Ask the C library to keep the memory a chunk frees for the next one (once per process).

    A chunk's arrays of a few hundred kilobytes each (a row per action or
    constraint over the worlds) are freed and made again every day. By default
    glibc gives such blocks back to the system and maps them anew, so each day
    pays thousands of page faults, each page zeroed by the kernel: some 2,500
    faults and 6-10 ms of system time per chunk of 5,000 worlds, against about
    50 and 1 ms once freed memory is kept for reuse (``M_MMAP_THRESHOLD`` of
    32 MiB, glibc's largest, and ``M_TRIM_THRESHOLD`` of 128 MiB). The peak
    memory stays what it was: the same blocks are reused. Where the C library has
    no ``mallopt`` (not glibc), nothing changes.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    mallopt(_M_TRIM_THRESHOLD, 128 << 20)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def run_chunk(task: ChunkTask | ChunkGroup) -> ChunkSummary | list[ChunkSummary]:
    """Run one chunk of worlds and reduce it to counts (the executor's unit of work).

    The chunk runs on the plain engine (:class:`sim.engine.core.Engine`), not
    the Mesa model, so a worker never imports Mesa; both spawn their streams
    from ``default_rng(task.seed_sequence)`` and give the same worlds.
    """
    keep_freed_memory()
    sc = compiled(task.source)
    if task.ahead:
        kernels.expect(sc, task.n, task.ahead)
    if isinstance(task, ChunkGroup):
        return [spooled(t, s) for t, s in zip(task.tasks, run_group(task, sc), strict=True)]
    if task.parts > 1 and task.moves is None:
        got = in_two_processes(task, sc)
        if got is not None:
            return spooled(task, got)
    return spooled(task, run_part(task, sc, 0, task.n))


def spooled(task: ChunkTask, summary: ChunkSummary) -> ChunkSummary:
    """``summary`` with its ``runs.csv`` lines written to a file of ``task.spool`` (named
    by its design point and chunk) instead of kept in it, where the task says so.

    Some 2.7 MB a chunk of 10,000 worlds: sent back, they are copied into the message,
    through the pipe and out of it again before the batch's own process writes them;
    from a file of their own that process copies them into ``runs.csv`` in the system
    (``os.copy_file_range``) and hashes them where they lie (docs/performance.md)."""
    if task.spool is None or summary.text is None:
        return summary
    path = Path(task.spool) / f"chunk-{task.point}-{task.chunk}.csv"
    path.write_bytes(summary.text)
    summary.text, summary.spooled = None, str(path)
    return summary


def run_part(task: ChunkTask, sc: Scenario, offset: int, n: int) -> ChunkSummary:
    """The summary of worlds ``offset`` to ``offset + n - 1`` of ``task``'s chunk (the
    whole chunk for ``0, task.n``), each world the one the whole chunk has."""
    rng = np.random.default_rng(task.seed_sequence)
    seats = task.moves.seats() if task.moves is not None else None
    pins = check_pinned(sc, dict(task.pinned) or None)
    part = None if (offset, n) == (0, task.n) else (offset, task.n)
    engine = Engine(sc, n, rng, pins, seats, part).run()
    first = task.first_world + offset
    summary = summarise_chunk(engine, task.point, task.chunk, first, task.runs_table, offset)
    del engine  # its arrays go now, before the rows are formatted
    if seats:
        from sim.seat.seats import tally  # start-up time: the seat layer only for --moves

        summary.extra["seats"] = tally(seats)
    if task.runs_text and summary.rows is not None:
        summary.text = runs_format(sc).lines(summary.rows, task.point, task.chunk, task.root_seed)
    return summary


def run_group(group: ChunkGroup, sc: Scenario) -> list[ChunkSummary]:
    """The summaries of a group's chunks, in order, from one engine that runs them all
    (:class:`~sim.engine.core.Engine`'s ``blocks``): each chunk's worlds, seeds and
    streams its own, so each summary is the one the chunk has alone. One engine of
    several chunks pays the Python around its kernels once a day for all of them."""
    tasks = group.tasks
    pins = check_pinned(sc, dict(tasks[0].pinned) or None)
    blocks = [(np.random.default_rng(t.seed_sequence), t.n, 0, t.n) for t in tasks]
    engine = Engine(sc, group.n, None, pins, blocks=blocks).run()
    out = [
        summarise_chunk(_Block(engine, start, n), t.point, t.chunk, t.first_world, t.runs_table)
        for t, (start, n, _, _) in zip(tasks, engine.world.blocks, strict=True)
    ]
    del engine  # its arrays go now, before the rows are formatted
    for t, summary in zip(tasks, out, strict=True):
        if t.runs_text and summary.rows is not None:
            summary.text = runs_format(sc).lines(summary.rows, t.point, t.chunk, t.root_seed)
    return out


class _Block:
    """One chunk's worlds of a finished engine of several (a view, as
    :func:`~sim.results.aggregate.summarise_chunk` reads a finished engine)."""

    def __init__(self, engine: Engine, start: int, n: int) -> None:
        at = slice(start, start + n)
        w = engine.world
        self.spec = engine.spec
        self.replicates = n
        assert engine.outcome is not None and engine.flags is not None  # finished
        self.outcome = engine.outcome[at]
        self.flags = engine.flags[:, at]
        self.rung_track = engine.rung_track[:, at]
        self.observed = engine.observed[:, at]
        self.world = SimpleNamespace(
            first_day=w.first_day[:, at],
            rule_fired=w.rule_fired[:, at],
            peak=w.peak[at],
            params={k: v[at] for k, v in w.params.items()},
        )


def in_two_processes(task: ChunkTask, sc: Scenario) -> ChunkSummary | None:
    """``task``'s chunk run in two halves at once: the second in a process forked for it,
    the first here; None (nothing run) where a fork is not safe here (not Linux, or
    another thread runs in this process).

    Both halves give exactly the worlds of the whole chunk
    (:class:`~sim.engine.core.Engine`'s ``part``), so this changes nothing but the
    time: a chunk of 10,000 worlds takes some 25 % less wall time on two cores
    (docs/performance.md). If the helper fails in any way (it dies, is killed, sends
    nothing), its half is run here: the results cannot depend on it. The helper ends
    with this process (:func:`~sim.batch.lifetime.tie_to_parent`) and is stopped and
    waited for whatever happens here.
    """
    if sys.platform != "linux" or threading.active_count() > 1:
        return None
    half = task.n // 2
    second = (half, task.n - half)
    parent = os.getpid()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the helper: its half, pickled down the pipe, and gone
        code = 1
        try:
            os.close(reader)
            tie_to_parent(parent)
            data = pickle.dumps(run_part(task, sc, *second), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(writer, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(writer)
    waited = False
    with os.fdopen(reader, "rb") as pipe:
        try:
            mine = run_part(task, sc, 0, half)
            data = pipe.read()
            _, status = os.waitpid(pid, 0)
            waited = True
        finally:
            if not waited:  # this half failed or was stopped: so is the helper
                with contextlib.suppress(ProcessLookupError, ChildProcessError):
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
    theirs = None
    if status == 0 and data:
        with contextlib.suppress(Exception):
            theirs = pickle.loads(data)
    if not isinstance(theirs, ChunkSummary):
        theirs = run_part(task, sc, *second)
    return ChunkSummary.joined([mine, theirs])


_FORMATS: dict[str, RunsFormat] = {}


def runs_format(sc: Scenario) -> RunsFormat:
    """The ``runs.csv`` format of ``sc``, made once per scenario and process."""
    fmt = _FORMATS.get(sc.sha256)
    if fmt is None or fmt.sc is not sc:
        fmt = _FORMATS[sc.sha256] = RunsFormat(sc)
    return fmt
