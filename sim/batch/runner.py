"""``run_batch``: many worlds of one scenario, written to a results folder.

The flow is the same for batches and sweeps (:mod:`sim.batch.sweep`):

1. check the settings (:class:`~sim.batch.settings.RunSettings`), load and
   validate the scenario in this process (errors surface before any worker
   starts), and check the work against the limits (:mod:`sim.batch.limits`);
2. plan every chunk task with its seed (:mod:`sim.batch.plan`);
3. hand the tasks to an executor; each worker compiles the scenario once,
   runs its chunk and sends back counts plus per-world rows
   (:mod:`sim.batch.worker`);
4. add the counts up and stream the rows to ``runs.csv`` in chunk order;
5. write the derived tables, the summary and the manifest, hand the folder
   to the front end's ``on_complete`` hook (charts, report) and rename the
   folder into place (:mod:`sim.results.writer`, :mod:`sim.results.staging`).

Nothing here draws or tells: presentation is plugged in by the caller
through ``on_complete`` (a :data:`Presenter`), so this layer never imports
it.
"""

from __future__ import annotations

import datetime as _dt
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.batch.executors import Executor, SerialExecutor, usable_cores
from sim.batch.limits import check_chunk_memory, check_work
from sim.batch.plan import ChunkGroup, ChunkTask, grouped, plan_point, scenario_source
from sim.batch.settings import RunSettings
from sim.batch.worker import run_chunk
from sim.errors import UsageError
from sim.results.aggregate import ChunkSummary, Counts, daily_columns, rules_columns, summary_dict
from sim.results.drivers import add_chunk, batch_counts
from sim.results.reader import BatchResult, Results
from sim.results.staging import Staging
from sim.results.writer import (
    RESULTS_ROOT,
    RunsWriter,
    manifest,
    write_json,
    write_manifest,
    write_table,
)
from sim.scenario.model import Scenario
from sim.scenario.pins import check_pinned
from sim.tables import columns_of

if TYPE_CHECKING:  # start-up time: the seat layer only for a batch with --moves
    from sim.seat.moves import Moves
    from sim.seat.seats import Tally

Presenter = Callable[[Path], str]
"""What the front end does with a finished results folder: draw its charts,
write its report. Called with the folder while it is still being written
(every table, the summary and the manifest are in it), so what it draws is
renamed into place with the tables; it returns one line for the user (where
the files are, or what failed). An exception it raises becomes that line:
presenting never loses results. ``sim.report.drawing.present`` is the package's own.
"""


@dataclass(frozen=True)
class Derivation:
    """Further tables an upper layer computes from a batch's written tables.

    ``write(folder, scenario)`` is called once ``runs.csv``, the tables and
    the summary are in the folder and before the manifest is written (so
    the manifest records the tables it adds); it returns fields for the
    manifest. ``options`` are the command-line options that ask for it, added
    to the manifest's command so that it reproduces the folder whole.
    ``sim.evidence`` conditions a batch this way (``--as-of``).
    """

    write: Callable[[Path, Scenario], dict[str, Any]]
    options: tuple[str, ...] = ()


class _NoBar:
    """What :func:`progress_bar` gives when no bar is shown: counts nothing, imports nothing."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def update(self, n: float = 1) -> None:
        """Ignored."""


def progress_bar(total: int, unit: str, show: bool, unit_scale: bool = False) -> Any:
    """A context manager with ``update(n)``: tqdm's bar on stderr after a second, if ``show``.

    tqdm is imported only for a bar that may be shown (start-up time: a quiet batch does
    without it), and its monitor thread is off: it would outlive the bar, and a process
    that runs a thread can no longer fork its workers (:func:`sim.batch.executors.start_method`).
    """
    if not show:
        return _NoBar()
    from tqdm import tqdm

    class Bar(tqdm):
        monitor_interval = 0

    return Bar(
        total=total,
        unit=unit,
        unit_scale=unit_scale,
        delay=1.0,
        file=sys.stderr,
        leave=False,
    )


def with_ahead[T: ChunkTask | ChunkGroup](tasks: Sequence[T], workers: int) -> list[T]:
    """``tasks`` with :attr:`ChunkTask.ahead` set: the worlds of its scenario from each
    task on, shared among ``workers`` (chunks go to whichever worker is free, so each
    can expect about its share). The compiled path's switch reads it
    (:func:`sim.engine.kernels.expect`); the results do not depend on it."""
    left: dict[str, int] = {}
    out = []
    share = max(int(workers), 1)
    for t in reversed(tasks):
        key = t.source.sha256 or t.source.path
        left[key] = left.get(key, 0) + t.n
        out.append(replace(t, ahead=-(-left[key] // share)))
    out.reverse()
    return out


def execute(
    tasks: Sequence[ChunkTask | ChunkGroup],
    executor: Executor,
    on_chunk: Callable[[ChunkSummary], None],
    progress: bool = True,
) -> None:
    """Run ``tasks`` on ``executor``; call ``on_chunk`` for each result in task order."""
    total = sum(t.n for t in tasks)
    with progress_bar(total, "world", progress, unit_scale=True) as bar:
        for result in executor.map(run_chunk, with_ahead(tasks, executor.workers)):
            for summary in result if isinstance(result, list) else [result]:
                on_chunk(summary)
                bar.update(summary.counts.n)


def execute_groups(
    groups: Sequence[Sequence[ChunkTask]],
    executor: Executor,
    on_chunk: Callable[[int, ChunkSummary], None],
    progress: bool = True,
    unit: str = "point",
) -> None:
    """Run groups of tasks (a design point's or a variant's chunks each) on ``executor``.

    ``on_chunk(group, result)`` is called for every chunk in task order; the
    progress bar counts the groups finished, not the worlds (a sensitivity
    design or a set of knock-outs is many small batches). The executor is
    entered and left here.
    """
    owner = [g for g, tasks in enumerate(groups) for _ in tasks]
    left = [len(tasks) for tasks in groups]
    with (
        executor,
        progress_bar(len(groups), unit, progress) as bar,
    ):
        flat = with_ahead([t for tasks in groups for t in tasks], executor.workers)
        for k, result in enumerate(executor.map(run_chunk, flat)):
            g = owner[k]
            on_chunk(g, result)
            left[g] -= 1
            if not left[g]:
                bar.update(1)


def simulate(
    sc: Scenario,
    settings: RunSettings | None = None,
    *,
    moves: Moves | None = None,
    rows: list[np.ndarray] | None = None,
    **changes: Any,
) -> Counts:
    """Run the worlds of ``sc`` in this process and add up their counts.

    ``runs`` and ``seed`` default to the scenario's, as in :func:`run_batch`;
    of the settings only ``runs``, ``seed``, ``pinned`` and ``chunk_size``
    matter (the work stays in this process, and ``sc`` is already compiled,
    with its overrides).

    The one in-memory runner: the same chunks with the same seeds as
    ``run_batch`` with the same settings (:func:`sim.batch.plan.plan_point`,
    design point 0), run by the same function
    (:func:`sim.batch.worker.run_chunk`, through :func:`execute`), so the
    counts are exactly the batch's. :func:`sim.interop.evaluate` and the
    viewer's ensemble call it; nothing is written. With ``moves``, the actors
    they seat play them (as ``run_batch(..., moves=...)`` does). With
    ``rows`` (a list), each chunk's per-world records (``runs.csv``'s rows,
    as :func:`sim.results.aggregate.row_dtype`) are appended to it in world
    order.

    Raises:
        UsageError: a bad setting, overrides (apply them when loading
            ``sc``), or a pinned value that is not valid for ``sc``.
        ExecutionError: a chunk failed (the message names it and its seed).
    """
    settings = RunSettings.of(settings, **changes)
    if settings.overrides:
        raise UsageError(
            "simulate runs a compiled scenario: apply overrides when loading it "
            "(load_scenario(path, overrides))"
        )
    runs, seed = settings.for_scenario(sc).worlds
    pins = check_pinned(sc, settings.pinned)
    source = scenario_source(sc, sc.file, sc.overrides, ship_text=False)
    keep = rows is not None
    tasks = plan_point(source, 0, runs, seed, 0, pins, keep, settings.chunk_size, moves)
    totals = Counts.zeros(sc)

    def add(cs: ChunkSummary) -> None:
        totals.add(cs.counts)
        if rows is not None and cs.rows is not None:
            rows.append(cs.rows)

    execute(tasks, SerialExecutor(), add, progress=False)
    return totals


def stream(
    tasks: Sequence[ChunkTask],
    ex: Executor,
    sc: Scenario,
    folder: Path,
    add: Callable[[ChunkSummary], object],
    *,
    seed: int,
    runs_table: bool,
    progress: bool,
) -> None:
    """Run the chunks, hand each chunk's counts to ``add`` and stream its rows
    to ``folder/runs.csv`` (if ``runs_table``), in chunk order.

    What ``add`` returns is ignored (``Counts.add`` returns the totals, for chaining).
    """
    writer: RunsWriter | None = None

    def on_chunk(cs: ChunkSummary) -> None:
        add(cs)
        if writer is not None:
            writer.write(cs, seed)

    spool = folder / SPOOL if runs_table and ex.name == "local" else None
    if spool is not None:  # the workers are processes of this machine
        spool.mkdir()
        tasks = [replace(t, spool=str(spool)) if t.runs_text else t for t in tasks]
    try:
        with ex:
            # Opened once the workers have started: a forked worker must not
            # inherit a buffer of this file.
            writer = RunsWriter(folder / "runs.csv", sc) if runs_table else None
            execute(in_groups(tasks, ex), ex, on_chunk, progress)
    finally:
        if writer is not None:
            writer.close()
        if spool is not None:
            shutil.rmtree(spool, ignore_errors=True)


SPOOL = ".lines"
"""The folder of a results folder being written where local workers leave their chunks'
``runs.csv`` lines for the batch's own process (:func:`sim.batch.worker.spooled`);
removed before the folder is complete."""


def present(on_complete: Presenter | None, folder: Path) -> str:
    """Hand a written folder to the front end's hook; returns its line for the user.

    Presentation never loses results: an exception of the hook becomes the
    line, and the folder is kept.
    """
    if on_complete is None:
        return ""
    try:
        return on_complete(folder)
    except Exception as exc:
        return f"presenting the results failed ({type(exc).__name__}: {exc})"


def group_folder(results_root: str | Path | None, name: str) -> Path:
    """Where default folders named ``name`` go: ``results/<name>`` under the working
    folder, or under ``results_root``."""
    return (Path(results_root) if results_root is not None else RESULTS_ROOT) / name


def plan_batch(
    sc: Scenario,
    scenario: str | Path,
    overrides: Sequence[str],
    settings: RunSettings,
    moves: Moves | None = None,
    runs_text: bool = False,
) -> tuple[list[ChunkTask], Executor, dict[str, Any]]:
    """The chunk tasks of a batch of ``sc`` (design point 0), the executor and the pins.

    The work is checked against the limits first. Every chunk sends its
    per-world rows, ``runs.csv`` or not: the drivers count them; with
    ``runs_text``, formatted as ``runs.csv`` lines by the worker too. ``moves``
    are played by the actors they seat (``--moves``).

    Raises:
        UsageError: more work than the limits allow, or a bad pinned value.
    """
    runs, seed = settings.worlds
    check_work(runs, settings.chunk_size)
    check_chunk_memory(sc, min(runs, settings.chunk_size))
    pins = check_pinned(sc, settings.pinned)
    ex = settings.make_executor()
    source = scenario_source(
        sc, scenario, overrides, ship_text=not ex.in_process, check=ex.compiles_text
    )
    tasks = plan_point(
        source, 0, runs, seed, 0, pins, True, settings.chunk_size, moves, runs_text=runs_text
    )
    if splits(settings, ex, tasks):
        tasks = [replace(tasks[0], parts=2)]
    return tasks, ex, pins


GROUP = 2
"""Chunks a worker of a long batch runs in one engine (:func:`in_groups`)."""

GROUP_FROM = 8
"""Groups per worker from which a batch's chunks are run in groups."""


def in_groups(tasks: Sequence[ChunkTask], ex: Executor) -> Sequence[ChunkTask | ChunkGroup]:
    """``tasks`` as the workers of ``ex`` run them: pairs of chunks (:data:`GROUP`) in one
    engine each where there are processes of their own to run them and enough pairs for
    each to get :data:`GROUP_FROM` (so that none waits long for the last); else as they
    are. A chunk's worlds are its own however it runs (``Engine``'s ``blocks``), so this
    changes only the time: the Python around a compiled chunk's kernels costs about the
    same for 20,000 worlds as for 10,000 (docs/performance.md), and a pair pays it once.
    An engine of two chunks needs twice a chunk's memory."""
    if ex.in_process or len(tasks) < GROUP * GROUP_FROM * max(ex.workers, 1):
        return tasks
    return grouped(tasks, GROUP)


SPLIT_FROM = 4_000
"""Worlds from which a batch of a single chunk, run in this process by ``--workers auto``,
runs its chunk in two processes at once (:func:`splits`)."""


def splits(settings: RunSettings, ex: Executor, tasks: Sequence[ChunkTask]) -> bool:
    """Whether a batch's one chunk is run in two halves at once, in this process and a
    process forked for the second (:func:`sim.batch.worker.in_two_processes`).

    ``--workers auto`` runs a single chunk in this process, on one core; with a second
    core to use, from :data:`SPLIT_FROM` worlds, both cores share it. The worlds are
    the same (a chunk's worlds do not depend on how it is run), so this is a choice of
    speed only; never with ``--moves`` (a seat's tallies are kept per process), nor
    where the workers were given.
    """
    return (
        settings.workers is None
        and ex.in_process
        and len(tasks) == 1
        and tasks[0].n >= SPLIT_FROM
        and tasks[0].moves is None
        and usable_cores() >= 2
    )


def run_batch(
    scenario: str | Path,
    settings: RunSettings | None = None,
    *,
    out: str | Path | None = None,
    runs_table: bool = True,
    progress: bool = True,
    results_root: str | Path | None = None,
    on_complete: Presenter | None = None,
    derive: Derivation | None = None,
    moves: str | Path | Moves | None = None,
    **changes: Any,
) -> BatchResult:
    """Run the worlds of a scenario and write a results folder.

    ``run_batch(path, runs=20_000, seed=7)`` is
    ``run_batch(path, RunSettings(runs=20_000, seed=7))``: keyword arguments
    other than those below are fields of :class:`~sim.batch.settings.RunSettings`
    (runs, seed, workers, executor, scheduler, chunk size and timeout,
    pinned values, overrides, claims), changing ``settings``.

    Args:
        scenario: the scenario file.
        settings: how the worlds are run (default: :class:`RunSettings` defaults).
        out: exact folder to create (must not exist). Default:
            ``results/<scenario>/<YYYYmmdd-HHMMSS>/`` under ``results_root``.
        runs_table: write ``runs.csv`` (one row per world).
        progress: show a progress bar on stderr for batches longer than 1 s.
        results_root: parent of default results folders (default ``results``).
        on_complete: what to do with the written folder before it is renamed
            into place (a :data:`Presenter`, e.g. ``sim.report.drawing.present`` for
            the charts and the report); by default nothing.
        derive: further tables to write from the batch's own (a
            :class:`Derivation`); by default none.
        moves: a moves file (or moves already checked against this scenario) that
            the actors it names play instead of their doctrine, in every world
            (:mod:`sim.seat.moves`); the folder gets ``moves.csv`` and the manifest
            records the file and its hash.

    Raises:
        ValidationError: the scenario, an override or the moves file is invalid.
        UsageError: a bad setting, or more work than the limits allow
            (:mod:`sim.batch.limits`).
        ExecutionError: a chunk failed or stalled (the message names it and its seed).
        ResultsError: the folder cannot be written (the message names the
            path; nothing is kept), or ``latest`` cannot be updated (the
            folder is complete).
    """
    settings = RunSettings.of(settings, **changes)
    with settings.claims_in_force():
        loaded = settings.load(scenario)
    sc, overrides = loaded.scenario, loaded.overrides
    settings = settings.for_scenario(sc)
    runs, seed = settings.worlds
    played = _moves(moves, sc)
    tasks, ex, pins = plan_batch(sc, scenario, overrides, settings, played, runs_table)
    started = _dt.datetime.now()
    totals = Counts.zeros(sc)
    drivers = batch_counts(sc, pins)
    seated: Tally = {}

    def add(cs: ChunkSummary) -> None:
        totals.add(cs.counts)
        add_chunk(drivers, sc, cs)
        if played is not None:
            from sim.seat.seats import add_tally

            add_tally(seated, cs.extra.get("seats", {}))

    with Staging(group_folder(results_root, sc.name), out, started) as stage:
        stream(
            tasks,
            ex,
            sc,
            stage.path,
            add,
            seed=seed,
            runs_table=runs_table,
            progress=progress,
        )
        # Plain columns, not DataFrames: a batch never imports pandas.
        write_table(stage.path / "daily.csv", daily_columns(sc, totals))
        write_table(stage.path / "rules.csv", rules_columns(sc, totals))
        write_table(stage.path / "drivers.csv", drivers.columns())
        summary = summary_dict(sc, totals, seed)
        removed = {"without": list(loaded.without)} if loaded.without else {}
        seats = {"moves": played.manifest()} if played is not None else {}
        if played is not None:
            from sim.seat.moves import MOVES_COLUMNS, moves_table

            rows = moves_table(sc, played, seated, runs)
            write_table(stage.path / "moves.csv", columns_of(rows, MOVES_COLUMNS))
        write_json(stage.path / "summary.json", summary | removed)
        derived = derive.write(stage.path, sc) if derive is not None else {}
        extra = list(derive.options) if derive is not None else []
        write_manifest(
            stage.path,
            manifest(
                "batch",
                sc,
                scenario_file=str(scenario),
                overrides=overrides,
                seed=seed,
                runs=runs,
                chunk_size=settings.chunk_size,
                executor=ex.describe() | ({"parts": tasks[0].parts} if tasks[0].parts > 1 else {}),
                started=started,
                finished=_dt.datetime.now(),
                command=settings.command(
                    "batch",
                    scenario,
                    runs_table=runs_table,
                    extra=[*extra, *(["--moves", played.file] if played and played.file else [])],
                    pinned=pins,
                ),
                runs_table=runs_table,
                pinned=pins,
                **removed,
                **derived,
                **seats,
            ),
        )
        note = present(on_complete, stage.path)
    return opened(stage, note, BatchResult)


def _moves(moves: str | Path | Moves | None, sc: Scenario) -> Moves | None:
    """``run_batch``'s ``moves``: none, moves already checked, or a file checked against ``sc``."""
    if moves is None:
        return None
    from sim.seat.moves import Moves, load_moves

    return moves if isinstance(moves, Moves) else load_moves(moves, sc)


def opened[R: Results](stage: Staging, note: str, kind: type[R]) -> R:
    """The folder ``stage`` committed, opened as a ``kind``; ``note`` names its final path."""
    result = stage.result(note)
    assert isinstance(result, kind), f"wrote a {result.kind} folder, expected {kind.__name__}"
    return result
