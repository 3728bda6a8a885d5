"""The plan of a run: what each worker is given, fixed before any work starts.

A run is a list of :class:`ChunkTask`, each naming its scenario (a
:class:`ScenarioSource`), design point, chunk, size, seed and pinned values.
The whole list is made before the first task is handed out, so what a chunk
computes never depends on the executor, the number of workers or the order
chunks finish in (see :mod:`sim.batch.seeding` for the seeds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.batch.seeding import CHUNK, chunk_seed, chunk_sizes
from sim.errors import ExecutionError, ValidationError
from sim.scenario import cache as scenario_cache
from sim.scenario.resolved import resolved_text

if TYPE_CHECKING:
    from sim.scenario.model import Scenario
    from sim.seat.moves import Moves


@dataclass(frozen=True)
class ScenarioSource:
    """What a worker needs to compile the scenario of a design point.

    ``text`` is the resolved scenario as JSON (``extends`` and ``--set``
    already applied), so workers on other machines need no access to the
    scenario files. It is ``None`` only for work that stays in the process
    that compiled the scenario (the serial executor, :func:`sim.interop.evaluate`).
    """

    name: str
    path: str
    overrides: tuple[str, ...] = ()
    sha256: str = ""
    text: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ChunkTask:
    """One unit of work: ``n`` worlds of one design point, with their seed."""

    source: ScenarioSource
    point: int
    chunk: int
    n: int
    root_seed: int
    first_world: int
    """Id (row of ``runs.csv``) of the chunk's first world."""
    pinned: tuple[tuple[str, Any], ...] = ()
    runs_table: bool = True
    moves: Moves | None = None
    """Moves that seated actors play instead of their doctrine (``--moves``)."""
    """Send the per-world rows back (for ``runs.csv`` and the drivers)."""
    runs_text: bool = False
    """Send them formatted as ``runs.csv`` lines too, formatted where the chunk ran."""
    spool: str | None = None
    """A folder on this machine where the worker writes the chunk's ``runs.csv`` lines, a
    file per chunk (:func:`sim.batch.worker.spooled`), instead of sending them back:
    the batch's own process then copies them into ``runs.csv`` without reading them
    through a pipe (:class:`sim.results.writer.RunsWriter`). None: sent back."""
    parts: int = 1
    """Processes the chunk is run in at once (1 or 2; :func:`sim.batch.worker.run_chunk`):
    its worlds are the same either way, so only the time depends on it."""
    ahead: int = 0
    """Worlds of this scenario the process that runs this chunk can expect to run from it
    on, this chunk's included (an estimate, :func:`sim.batch.runner.with_ahead`; 0:
    unknown). Only the choice of the compiled path reads it; no number depends on it."""

    @property
    def seed_sequence(self) -> np.random.SeedSequence:
        """The seed of this chunk: fixed by the root seed, the design point and the chunk number,
        whichever worker runs it.
        """
        return chunk_seed(self.root_seed, self.point, self.chunk)

    def describe(self) -> str:
        """Names the chunk in error messages."""
        return (
            f"scenario {self.source.name!r} ({self.source.path}), design point {self.point}, "
            f"chunk {self.chunk} ({self.n} worlds), seed {self.root_seed} "
            f"[SeedSequence({self.root_seed}, spawn_key=({self.point}, {self.chunk}))]"
        )


@dataclass(frozen=True)
class ChunkGroup:
    """Chunks of one design point run together in one engine, each with its own seed and
    worlds (:func:`sim.batch.worker.run_chunk` gives one summary per chunk, in order):
    the worlds are each chunk's own, so grouping changes only the time."""

    tasks: tuple[ChunkTask, ...]
    ahead: int = 0
    """As :attr:`ChunkTask.ahead`, for the group's first chunk."""

    @property
    def source(self) -> ScenarioSource:
        """The scenario, the same for every chunk of the group."""
        return self.tasks[0].source

    @property
    def n(self) -> int:
        """The worlds of all the group's chunks."""
        return sum(t.n for t in self.tasks)

    def describe(self) -> str:
        """Names the group's chunks in error messages."""
        first, last = self.tasks[0], self.tasks[-1]
        return (
            f"scenario {first.source.name!r} ({first.source.path}), design point {first.point}, "
            f"chunks {first.chunk}-{last.chunk} ({self.n} worlds), seed {first.root_seed}"
        )


def grouped(tasks: Sequence[ChunkTask], size: int) -> list[ChunkTask | ChunkGroup]:
    """``tasks`` with runs of ``size`` consecutive full chunks (as large as the first) of
    the same design point, pinned values and moves put together; the rest alone."""
    out: list[ChunkTask | ChunkGroup] = []
    run: list[ChunkTask] = []
    for t in tasks:
        if run and not _joins(run[0], t):
            out += run
            run = []
        run.append(t)
        if len(run) == size:
            out.append(ChunkGroup(tuple(run)))
            run = []
    return out + run


def _joins(first: ChunkTask, t: ChunkTask) -> bool:
    return (
        t.n == first.n
        and t.point == first.point
        and t.source == first.source
        and t.pinned == first.pinned
        and t.moves is None
        and first.moves is None
        and t.parts == 1
    )


def plan_point(
    source: ScenarioSource,
    point: int,
    runs: int,
    root_seed: int,
    first_world: int = 0,
    pinned: dict[str, Any] | None = None,
    runs_table: bool = True,
    chunk: int = CHUNK,
    moves: Moves | None = None,
    runs_text: bool = False,
) -> list[ChunkTask]:
    """All chunk tasks of one design point, in chunk order (``runs_text``: see
    :attr:`ChunkTask.runs_text`; it implies ``runs_table``)."""
    tasks = []
    start = first_world
    pins = tuple(sorted((pinned or {}).items()))
    for c, n in enumerate(chunk_sizes(runs, chunk)):
        tasks.append(
            ChunkTask(
                source,
                point,
                c,
                n,
                int(root_seed),
                start,
                pins,
                runs_table or runs_text,
                moves,
                runs_text,
            )
        )
        start += n
    return tasks


def scenario_source(
    sc: Scenario,
    path: str | Path,
    overrides: Sequence[str] = (),
    ship_text: bool = True,
    check: bool = True,
) -> ScenarioSource:
    """Describe ``sc`` for workers, with its resolved text: workers need no files.

    The text is checked to compile back to exactly ``sc``; shipping one that
    does not would run another scenario, so that is an error, never a
    fall-back to loading ``path`` on each worker. ``ship_text=False`` skips
    the text (for work that stays in this process). ``check=False`` ships
    it unchecked, for workers that will not compile it (forked from this
    process after ``sc`` was put in the scenario cache, they find it there
    by its ``sha256``; :attr:`sim.batch.executors.Executor.compiles_text`):
    compiling it here would be a second compile of the scenario for nothing.
    A worker that compiles it all the same checks its ``sha256``
    (:func:`sim.batch.worker.compiled`).

    Raises:
        ExecutionError: the resolved text does not compile back to ``sc``.
    """
    text: str | None = resolved_text(sc.resolved) if ship_text else None
    if text is not None and check:
        why = "it compiles to a different scenario"
        try:
            back = scenario_cache.scenario_from_text(sc.name, text)
        except ValidationError as exc:
            back, why = None, f"it does not compile: {exc.diagnostics[0].message}"
        if back is None or back.sha256 != sc.sha256 or resolved_text(back.resolved) != text:
            raise ExecutionError(
                f"scenario {sc.name!r} ({path}) cannot be sent to workers as text: {why}"
            )
    scenario_cache.remember(sc)
    return ScenarioSource(sc.name, str(path), tuple(overrides), sc.sha256, text)
