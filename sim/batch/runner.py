"""``run_batch``: many worlds of one scenario, written to a results folder.

The flow is the same for batches and sweeps:

1. load and validate the scenario in this process (errors surface before
   any worker starts), and check the work against the limits
   (:mod:`sim.batch.limits`);
2. plan every chunk task with its seed (:mod:`sim.batch.seeding`);
3. hand the tasks to an executor; each worker compiles the scenario once,
   runs its chunk and sends back counts plus per-world rows
   (:mod:`sim.batch.aggregate`);
4. add the counts up and stream the rows to ``runs.csv`` in chunk order;
5. write the derived tables, the summary and the manifest, draw the plots
   and rename the folder into place (:mod:`sim.batch.results`).
"""

from __future__ import annotations

import datetime as _dt
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.batch.aggregate import ChunkSummary, Counts, summarise_chunk
from sim.batch.executors import CHUNK_TIMEOUT, Executor, SerialExecutor, make_executor
from sim.batch.limits import check_chunk_memory, check_work
from sim.batch.seeding import (
    CHUNK,
    ChunkTask,
    ScenarioSource,
    chunk_sizes,
    plan_point,
    resolved_text,
)
from sim.errors import ExecutionError, ResultsError, UsageError, ValidationError
from sim.scenario import cache as scenario_cache

if TYPE_CHECKING:
    from sim.batch.results import BatchResult
    from sim.engine.model import WargameModel
    from sim.scenario.model import Scenario

StoryTeller = Callable[["WargameModel", int], str]
"""A story function: the story of world ``index`` of a finished, narrated model."""


# -- the worker side ---------------------------------------------------------------
def compiled(source: ScenarioSource) -> Scenario:
    """The compiled scenario of ``source``, from the process's scenario cache if possible.

    The cache (:mod:`sim.scenario.cache`) is found by ``sha256`` first: the
    parent process put its scenario there (:func:`scenario_source`), and a
    worker process keeps each one it compiled.
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


def run_chunk(task: ChunkTask) -> ChunkSummary:
    """Run one chunk of worlds and reduce it to counts (the executor's unit of work)."""
    from sim.engine.model import WargameModel

    sc = compiled(task.source)
    model = WargameModel(
        sc,
        replicates=task.n,
        pinned=dict(task.pinned) or None,
        collect=False,
        rng=task.seed_sequence,
    ).run()
    return summarise_chunk(model, task.point, task.chunk, task.first_world, task.runs_table)


# -- the parent side ---------------------------------------------------------------
def scenario_source(
    sc: Scenario, path: str | Path, overrides: Sequence[str] = (), ship_text: bool = True
) -> ScenarioSource:
    """Describe ``sc`` for workers, with its resolved text: workers need no files.

    The text is checked to compile back to exactly ``sc``; shipping one that
    does not would run another scenario, so that is an error, never a
    fall-back to loading ``path`` on each worker. ``ship_text=False`` skips
    the text (for work that stays in this process).

    Raises:
        ExecutionError: the resolved text does not compile back to ``sc``.
    """
    text: str | None = resolved_text(sc.resolved) if ship_text else None
    if text is not None:
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


def check_pinned(sc: Scenario, pinned: dict[str, Any] | None) -> dict[str, Any]:
    """Validate pinned parameter values against the scenario; returns them normalised.

    The one check shared with ``WargameModel``, the viewer and ``sim.interop``
    (:func:`sim.scenario.pins.check_pinned`).
    """
    from sim.scenario.pins import check_pinned as check

    return check(sc, pinned)


def execute(
    tasks: list[ChunkTask],
    executor: Executor,
    on_chunk: Callable[[ChunkSummary], None],
    progress: bool = True,
) -> None:
    """Run ``tasks`` on ``executor``; call ``on_chunk`` for each result in task order."""
    from tqdm import tqdm

    total = sum(t.n for t in tasks)
    with tqdm(
        total=total,
        unit="world",
        unit_scale=True,
        disable=not progress,
        delay=1.0,
        file=sys.stderr,
        leave=False,
    ) as bar:
        for result in executor.map(run_chunk, tasks):
            on_chunk(result)
            bar.update(result.counts.n)


def simulate(
    sc: Scenario,
    runs: int | None = None,
    seed: int | None = None,
    pinned: dict[str, Any] | None = None,
    chunk_size: int = CHUNK,
) -> Counts:
    """Run ``runs`` worlds of ``sc`` in this process and add up their counts.

    ``runs`` and ``seed`` default to the scenario's, as in :func:`run_batch`.

    The one in-memory runner: the same chunks with the same seeds as
    ``run_batch(..., runs=runs, seed=seed, pinned=pinned, chunk_size=chunk_size)``
    (:func:`sim.batch.seeding.plan_point`, design point 0), run by the same
    function (:func:`run_chunk`, through :func:`execute`), so the counts are
    exactly the batch's. :func:`sim.interop.evaluate` and the viewer's
    ensemble call it; nothing is written.

    Raises:
        UsageError: a bad number of runs, seed or chunk size, or a pinned
            value that is not valid for ``sc``.
        ExecutionError: a chunk failed (the message names it and its seed).
    """
    runs, seed = _settings(sc, runs, seed, chunk_size)
    pins = check_pinned(sc, pinned)
    source = scenario_source(sc, sc.file, sc.overrides, ship_text=False)
    tasks = plan_point(source, 0, runs, seed, 0, pins, False, chunk_size)
    totals = Counts.zeros(sc)

    def add(cs: ChunkSummary) -> None:
        totals.add(cs.counts)

    execute(tasks, SerialExecutor(), add, progress=False)
    return totals


def stream(
    tasks: Sequence[ChunkTask],
    ex: Executor,
    sc: Scenario,
    folder: Path,
    add: Callable[[ChunkSummary], None],
    *,
    seed: int,
    runs_table: bool,
    progress: bool,
) -> None:
    """Run the chunks, hand each chunk's counts to ``add`` and stream its rows
    to ``folder/runs.csv`` (if ``runs_table``), in chunk order."""
    from sim.batch.results import RunsWriter

    writer = RunsWriter(folder / "runs.csv", sc) if runs_table else None

    def on_chunk(cs: ChunkSummary) -> None:
        add(cs)
        if writer is not None:
            writer.write(cs, seed)

    try:
        with ex:
            execute(tasks, ex, on_chunk, progress)
    finally:
        if writer is not None:
            writer.close()


def batch_command(
    kind: str,
    scenario: str | Path,
    *,
    runs: int,
    seed: int,
    overrides: Iterable[str] = (),
    pinned: dict[str, Any] | None = None,
    runs_table: bool = True,
    chunk_size: int = CHUNK,
    extra: Sequence[str] = (),
) -> list[str]:
    """The ``wargame`` command line that reproduces a batch or sweep.

    Executor, workers and output folder are left out: they do not change the
    results.
    """
    cmd = ["wargame", kind, str(scenario), "--runs", str(runs), "--seed", str(seed)]
    for text in overrides:
        cmd += ["--set", text]
    for pid, value in (pinned or {}).items():
        cmd += ["--pin", f"{pid}={value}"]
    cmd += list(extra)
    if chunk_size != CHUNK:
        cmd += ["--chunk-size", str(chunk_size)]
    if not runs_table:
        cmd.append("--no-runs-table")
    return cmd


def _settings(
    sc: Scenario, runs: int | None, seed: int | None, chunk_size: int = CHUNK
) -> tuple[int, int]:
    runs = sc.default_runs if runs is None else int(runs)
    seed = sc.seed if seed is None else int(seed)
    if chunk_size < 1:
        raise UsageError(f"--chunk-size must be at least 1 (got {chunk_size})")
    if runs < 1:
        raise UsageError(f"--runs must be at least 1 (got {runs})")
    if seed < 0:
        raise UsageError(f"--seed must be a non-negative whole number (got {seed})")
    return runs, seed


def run_batch(
    scenario: str | Path,
    runs: int | None = None,
    seed: int | None = None,
    workers: int | None = 1,
    executor: str | None = None,
    scheduler: str | None = None,
    overrides: Sequence[str] = (),
    out: str | Path | None = None,
    plots: bool = True,
    runs_table: bool = True,
    progress: bool = True,
    pinned: dict[str, Any] | None = None,
    results_root: str | Path | None = None,
    executor_options: dict[str, Any] | None = None,
    chunk_size: int = CHUNK,
    chunk_timeout: float | None = CHUNK_TIMEOUT,
) -> BatchResult:
    """Run ``runs`` worlds of a scenario and write a results folder.

    Args:
        scenario: the scenario file.
        runs: number of worlds (default: the scenario's ``default_runs``).
        seed: root seed (default: the scenario's ``seed``). With the same
            seed, results are identical for any executor and worker count.
        workers: worker processes (``None``: every CPU).
        executor: ``"serial"``, ``"local"`` or ``"dask"``; by default serial
            for one worker, local for several, dask when ``scheduler`` is set.
        scheduler: address of a Dask scheduler.
        overrides: ``path=value`` changes to the scenario (like ``--set``).
        out: exact folder to create (must not exist). Default:
            ``results/<scenario>/<YYYYmmdd-HHMMSS>/`` under ``results_root``.
        plots: draw the charts into ``plots/``.
        runs_table: write ``runs.csv`` (one row per world).
        progress: show a progress bar on stderr for batches longer than 1 s.
        pinned: parameter values used in every world instead of drawing them.
        results_root: parent of default results folders (default ``results``).
        executor_options: extra arguments for the executor (e.g. Dask's
            ``local_directory``).
        chunk_size: worlds per task. Part of the seeding scheme: another
            chunk size gives other (equally valid) worlds.
        chunk_timeout: seconds without any chunk finishing after which the
            workers count as stalled and the batch stops (local and Dask
            executors); ``None`` or 0 waits forever.

    Raises:
        ValidationError: the scenario or an override is invalid.
        UsageError: a bad option value, or more work than the limits allow
            (:mod:`sim.batch.limits`).
        ExecutionError: a chunk failed or stalled (the message names it and its seed).
        ResultsError: the folder cannot be written (the message names the
            path; nothing is kept), or ``latest`` cannot be updated (the
            folder is complete).
    """
    from sim.batch.aggregate import daily_table, rules_table, summary_dict
    from sim.batch.results import (
        RESULTS_ROOT,
        Staging,
        draw_plots,
        manifest,
        write_json,
        write_manifest,
        write_table,
    )
    from sim.scenario import load_scenario

    overrides = tuple(overrides)
    sc = load_scenario(scenario, overrides)
    runs, seed = _settings(sc, runs, seed, chunk_size)
    check_work(runs, chunk_size)
    check_chunk_memory(sc, min(runs, chunk_size))
    pins = check_pinned(sc, pinned)
    ex = make_executor(executor, workers, scheduler, chunk_timeout, **(executor_options or {}))
    source = scenario_source(sc, scenario, overrides, ship_text=not ex.in_process)
    tasks = plan_point(source, 0, runs, seed, 0, pins, runs_table, chunk_size)
    root = Path(results_root) if results_root is not None else RESULTS_ROOT
    started = _dt.datetime.now()
    totals = Counts.zeros(sc)

    with Staging(root / sc.name, out, started) as stage:
        stream(
            tasks,
            ex,
            sc,
            stage.path,
            lambda cs: totals.add(cs.counts),
            seed=seed,
            runs_table=runs_table,
            progress=progress,
        )
        write_table(stage.path / "daily.csv", daily_table(sc, totals))
        write_table(stage.path / "rules.csv", rules_table(sc, totals))
        write_json(stage.path / "summary.json", summary_dict(sc, totals, seed))
        finished = _dt.datetime.now()
        write_manifest(
            stage.path,
            manifest(
                "batch",
                sc,
                scenario_file=str(scenario),
                overrides=overrides,
                seed=seed,
                runs=runs,
                chunk_size=chunk_size,
                executor=ex.describe(),
                started=started,
                finished=finished,
                command=batch_command(
                    "batch",
                    scenario,
                    runs=runs,
                    seed=seed,
                    overrides=overrides,
                    pinned=pins,
                    runs_table=runs_table,
                    chunk_size=chunk_size,
                ),
                runs_table=runs_table,
                pinned=pins,
            ),
        )
        note = draw_plots(stage.path, "batch")[1] if plots else ""
    return stage.result(note)  # type: ignore[no-any-return]


# -- rerunning one world -------------------------------------------------------------
@dataclass
class Replay:
    """One world of a results folder, simulated again with narration on.

    ``model`` is the whole chunk the world belongs to (its ``log`` holds every
    world of the chunk); ``index`` is the world's position in it. ``tell`` is
    the story function given to :func:`rerun_world`.
    """

    model: WargameModel
    index: int
    world: int
    point: int
    chunk: int
    tell: StoryTeller | None = field(default=None, repr=False)

    @property
    def outcome(self) -> str:
        return self.model.outcome_of(self.index)

    def story(self) -> str:
        """The day-by-day story of the world, told by the story function given to
        :func:`rerun_world` (``sim.narrative.tell`` tells it as ``wargame run`` does).

        Raises:
            UsageError: :func:`rerun_world` was given no story function.
        """
        if self.tell is None:
            raise UsageError(
                "this replay has no story function: rerun the world with "
                "rerun_world(folder, world, tell=sim.narrative.tell)"
            )
        return self.tell(self.model, self.index)


def rerun_world(folder: str | Path, world: int, tell: StoryTeller | None = None) -> Replay:
    """Rerun world ``world`` (the ``world`` column of ``runs.csv``) of a results folder.

    The chunk is rebuilt from the manifest (scenario file, overrides, seed,
    chunk size) and, for a sweep, the design point's values; the rerun is
    checked against the stored outcome.

    Args:
        folder: the results folder.
        world: the world's id.
        tell: how :meth:`Replay.story` tells the world's story, e.g.
            ``sim.narrative.tell``. Passed in, because telling stories is
            presentation, which the batch layer does not import.

    Raises:
        ResultsError: unknown world, or the scenario file changed since.
    """
    from sim.batch.results import find_folder, read_manifest
    from sim.engine.model import WargameModel

    path = find_folder(folder)
    m = read_manifest(path)
    if m["kind"] not in ("batch", "sweep"):
        raise ResultsError(f"{path}: a {m['kind']} folder holds no worlds to rerun")
    point, chunk, index, stored = _locate(path, m, int(world))
    if m["kind"] == "sweep":
        from sim.batch.sweep import point_scenario

        sc, pins = point_scenario(m, point)
    else:
        from sim.scenario import load_scenario

        sc = load_scenario(m["scenario_file"], tuple(m["overrides"]))
        pins = m.get("pinned") or {}
        if sc.sha256 != m["sha256"]:
            raise ResultsError(
                f"{m['scenario_file']} has changed since the batch was run "
                f"(sha256 {sc.sha256[:12]}, batch used {m['sha256'][:12]}); "
                "the world cannot be rerun exactly"
            )
    n = chunk_sizes(int(m["runs"]), int(m["chunk_size"]))[chunk]
    from sim.batch.seeding import chunk_seed

    model = WargameModel(
        sc,
        replicates=n,
        pinned=pins or None,
        narrate=True,
        collect=False,
        rng=chunk_seed(int(m["seed"]), point, chunk),
    ).run()
    replay = Replay(model, index, int(world), point, chunk, tell)
    if stored is not None and replay.outcome != stored:
        raise ResultsError(
            f"world {world} reran to outcome {replay.outcome!r}, but {path / 'runs.csv'} "
            f"records {stored!r}; the engine or scenario differs from the one that wrote it"
        )
    return replay


def _locate(path: Path, m: dict[str, Any], world: int) -> tuple[int, int, int, str | None]:
    """(point, chunk, index in chunk, stored outcome) of a world id."""
    runs, size = int(m["runs"]), int(m["chunk_size"])
    points = int(m.get("points", 1))
    if not 0 <= world < runs * points:
        raise ResultsError(f"{path}: no world {world} (worlds are 0..{runs * points - 1})")
    point, k = divmod(world, runs)
    chunk, index = divmod(k, size)
    stored = None
    runs_csv = path / "runs.csv"
    if runs_csv.is_file():
        import pandas as pd

        row = pd.read_csv(runs_csv, skiprows=range(1, world + 1), nrows=1, keep_default_na=False)
        if len(row) and int(row["world"].iloc[0]) == world:
            point, chunk, index = (
                int(row[c].iloc[0]) for c in ("point", "chunk", "index_in_chunk")
            )
            stored = str(row["outcome"].iloc[0])
    return point, chunk, index, stored
