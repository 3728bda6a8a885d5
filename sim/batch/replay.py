"""Rerunning one world of a results folder, with narration on.

Each row of ``runs.csv`` records the root seed, design point, chunk and index
in chunk, which with the manifest (scenario file, overrides, pinned values,
chunk size; for a sweep the design) is all it takes to simulate that world
again. Telling its story is presentation, which this layer does not import:
the caller passes the story function in (``sim.narrative.tell``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.batch.seeding import chunk_seed, chunk_sizes
from sim.batch.sweep import point_scenario
from sim.engine.model import WargameModel
from sim.errors import ResultsError, UsageError
from sim.results.reader import find_folder, read_manifest
from sim.scenario import load_scenario
from sim.tables import check_table, read_table

StoryTeller = Callable[[WargameModel, int], str]
"""A story function: the story of world ``index`` of a finished, narrated model."""


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
        """The outcome the world reran to."""
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
    path = find_folder(folder)
    m = read_manifest(path)
    if m["kind"] not in ("batch", "sweep"):
        raise ResultsError(f"{path}: a {m['kind']} folder holds no worlds to rerun")
    point, chunk, index, stored = _locate(path, m, int(world))
    if m["kind"] == "sweep":
        sc, pins = point_scenario(m, point)
    else:
        sc = load_scenario(m["scenario_file"], tuple(m["overrides"]))
        pins = m.get("pinned") or {}
        if sc.sha256 != m["sha256"]:
            raise ResultsError(
                f"{m['scenario_file']} has changed since the batch was run "
                f"(sha256 {sc.sha256[:12]}, batch used {m['sha256'][:12]}); "
                "the world cannot be rerun exactly"
            )
    n = chunk_sizes(int(m["runs"]), int(m["chunk_size"]))[chunk]
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
    """(point, chunk, index in chunk, stored outcome) of a world id.

    Its row of ``runs.csv`` is found by the world column of the table as
    read by :func:`sim.tables.read_table` (quoted cells and all), once the
    table is checked against the manifest's record of it; without a
    ``runs.csv`` (``--no-runs-table``) they follow from the id and there is
    no stored outcome.
    """
    runs, size = int(m["runs"]), int(m["chunk_size"])
    points = int(m.get("points", 1))
    if not 0 <= world < runs * points:
        raise ResultsError(f"{path}: no world {world} (worlds are 0..{runs * points - 1})")
    point, k = divmod(world, runs)
    chunk, index = divmod(k, size)
    runs_csv = path / "runs.csv"
    check_table(path, "runs.csv", m)  # as the manifest records it, or absent if not recorded
    if not runs_csv.is_file():
        return point, chunk, index, None
    table = read_table(runs_csv)
    row = table[table["world"] == world]
    if len(row) != 1:
        raise ResultsError(f"{runs_csv}: {len(row)} rows for world {world}, expected one")
    point, chunk, index = (int(row[c].iloc[0]) for c in ("point", "chunk", "index_in_chunk"))
    return point, chunk, index, str(row["outcome"].iloc[0])
