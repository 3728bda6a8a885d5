"""Writing a results folder's files: the manifest, JSON documents and ``runs.csv``.

What a folder holds and how its tables are quoted and recorded is
:mod:`sim.tables` and docs/batch.md; this module writes the files the batch
layer produces, into the temporary folder of a :class:`~sim.results.staging.Staging`.
The manifest is written last, with the record of every table already in the
folder, so a reader can check each table against it
(:mod:`sim.results.reader`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.util
import json
import mmap
import os
import platform
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim import __version__
from sim.results.aggregate import ChunkSummary
from sim.tables import (
    FORMAT_VERSION,
    Cells,
    Column,
    cell_table,
    column_cells,
    float_cells,
    joined_rows,
    line,
    record_tables,
    text_cell,
)
from sim.tables import write_table as write_table

if TYPE_CHECKING:
    from sim.scenario.model import Scenario

RESULTS_ROOT = Path("results")
"""Default parent of results folders (relative to the working folder)."""


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented UTF-8 JSON (``summary.json``, ``compare.json``, the manifest)."""
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_manifest(folder: Path, m: dict[str, Any]) -> None:
    """Write ``manifest.json`` with the record of the tables already in ``folder``.

    Written last, once every table is complete: readers check each table
    against this record (:func:`sim.tables.check_tables`). ``runs.csv``, the
    largest, is not read again if :class:`RunsWriter` made its digest as it
    wrote it and the file is as it left it.
    """
    known = {}
    runs = _written_digest(folder / "runs.csv")
    if runs is not None:
        known["runs.csv"] = runs
    write_json(folder / "manifest.json", m | {"tables": record_tables(folder, known)})


_WRITTEN: dict[str, tuple[int, int, dict[str, Any]]] = {}
"""Digests :class:`RunsWriter` made, by path: the file's size and modification time
when it was closed, and its digest (:func:`sim.tables.digest`'s)."""


def _written_digest(path: Path) -> dict[str, Any] | None:
    """The digest made while ``path`` was written, if it is still the file that was written."""
    made = _WRITTEN.pop(str(path), None)
    if made is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    size, mtime, found = made
    return found if (st.st_size, st.st_mtime_ns) == (size, mtime) else None


def versions() -> dict[str, str]:
    """The versions of this package, Mesa, numpy and Python, and the platform, for the manifest."""
    # Mesa's version from its installed metadata: importing Mesa costs about a
    # second (scipy, pandas, networkx), and a batch does not otherwise need it.
    return {
        "sim": __version__,
        "mesa": _installed_version("mesa"),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _installed_version(package: str) -> str:
    """The installed version of ``package`` ("not installed" if it is missing).

    Read from the ``METADATA`` of the one ``<package>-<version>.dist-info`` folder beside
    the package, where there is one (start-up time: :mod:`importlib.metadata` costs
    about 25 ms to import, more than everything else a manifest needs); from
    :func:`importlib.metadata.version` otherwise (an egg, a zip, several copies).
    """
    version = _dist_info_version(package)
    if version is not None:
        return version
    import importlib.metadata

    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _dist_info_version(package: str) -> str | None:
    """The ``Version:`` of the ``METADATA`` in ``<package>-*.dist-info`` beside the package
    (found without importing it), or ``None`` when there is not exactly one such folder."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.has_location:
        return None
    where = Path(spec.origin).parent.parent
    found = list(where.glob(f"{package}-*.dist-info"))
    if len(found) != 1:
        return None
    try:
        lines = (found[0] / "METADATA").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for text in lines:
        if not text:  # the headers end at the first empty line
            break
        if text.startswith("Version:"):
            return text.partition(":")[2].strip() or None
    return None


def provenance(started: _dt.datetime, finished: _dt.datetime, argv: list[str]) -> dict[str, Any]:
    """When a folder was made, how long it took, and the command that makes it again."""
    return {
        "started": started.astimezone().isoformat(timespec="seconds"),
        "finished": finished.astimezone().isoformat(timespec="seconds"),
        "wall_seconds": round((finished - started).total_seconds(), 3),
        "command": shlex.join(argv),
        "argv": argv,
    }


def manifest(
    kind: str,
    sc: Scenario,
    *,
    scenario_file: str,
    overrides: Iterable[str],
    seed: int,
    runs: int,
    chunk_size: int,
    executor: dict[str, Any],
    started: _dt.datetime,
    finished: _dt.datetime,
    command: list[str],
    runs_table: bool,
    **extra: Any,
) -> dict[str, Any]:
    """The manifest of a results folder (see docs/batch.md for each field)."""
    m: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "scenario": sc.name,
        "scenario_file": scenario_file,
        "sha256": sc.sha256,
        "overrides": list(overrides),
        "seed": int(seed),
        "runs": int(runs),
        "chunk_size": int(chunk_size),
        **executor,
        "versions": versions(),
        **provenance(started, finished, command),
        "runs_table": bool(runs_table),
    }
    if sc.observations:
        m["observations"] = observation_records(sc)
    if not runs_table:
        m["runs_table_note"] = "runs.csv was not written (--no-runs-table)"
    m.update(extra)
    return m


def observation_records(sc: Scenario) -> list[dict[str, Any]]:
    """The scenario's observations as the manifest records them (``observations``).

    Date, noise and condition of each, so a folder can be conditioned on
    them without its scenario file (:mod:`sim.evidence`).
    """
    return [
        {
            "id": o.id,
            "date": sc.date_of(o.day).isoformat(),
            "noise": o.noise,
            "seen": o.seen.source,
            "cites": list(o.cites),
            "description": o.description,
        }
        for o in sc.observations
    ]


class RunsFormat:
    """How one scenario's worlds are written as rows of ``runs.csv``.

    Columns: ``world, point, chunk, index_in_chunk, seed, outcome, peak``,
    ``first_day_<rung>`` per key rung (empty if never reached), ``flag_<id>``
    (0/1) per flag, ``param_<id>`` per parameter (enum parameters as their
    word; floats as their shortest exact repr) and ``obs_<id>`` (0/1) per
    observation: whether it held in the world on its day. Words (outcome, rung and enum
    ids, the header) are quoted and guarded once per scenario by
    :func:`sim.tables.text_cell`; numbers are written as they are.

    :meth:`lines` formats a whole chunk at once, in the worker that ran it
    (:mod:`sim.batch.worker`), so the parent only appends bytes. Cells with
    few possible values are looked up, not formatted: the outcome and peak
    together, each key rung's first day, and the flags and observations as
    one cell per group of up to :data:`FLAGS_PER_CELL` (a table of their
    ``2**k`` combinations, built once); only the world ids, whole-number
    parameters and floats are formatted per world.
    """

    FLAGS_PER_CELL = 10
    """0/1 columns looked up together: a table of 2**10 = 1,024 strings at most per group."""

    def __init__(self, sc: Scenario):
        self.sc = sc
        self._outcomes = [text_cell(o.id) for o in sc.outcomes]
        self._rungs = [text_cell(r.id) for r in sc.ladder]
        self._enums = {
            p.id: cell_table([text_cell(w) for w in p.enum_values])
            for p in sc.parameters
            if p.enum_values
        }
        header = ["world", "point", "chunk", "index_in_chunk", "seed", "outcome", "peak"]
        header += [f"first_day_{r}" for r in sc.key_rungs]
        header += [f"flag_{f.id}" for f in sc.flags]
        header += [f"param_{p.id}" for p in sc.parameters]
        header += [f"obs_{o.id}" for o in sc.observations]
        self.header = line(map(text_cell, header))
        # Whole days 0..H-1, and -1 (never) as an empty cell, at index day + 1.
        self._days = cell_table([""] + [str(d) for d in range(sc.horizon_days)])
        self._bits: dict[int, Cells] = {}

    def _combinations(self, k: int) -> Cells:
        """The cells of ``k`` 0/1 columns, indexed by their bits (column ``i`` is bit ``i``)."""
        table = self._bits.get(k)
        if table is None:
            table = cell_table(
                [",".join("1" if code >> i & 1 else "0" for i in range(k)) for code in range(2**k)]
            )
            self._bits[k] = table
        return table

    def _flag_columns(self, columns: list[np.ndarray]) -> list[Column]:
        """0/1 columns as groups of up to :data:`FLAGS_PER_CELL`, each looked up by its bits."""
        out = []
        for start in range(0, len(columns), self.FLAGS_PER_CELL):
            group = columns[start : start + self.FLAGS_PER_CELL]
            code = np.zeros(len(group[0]), dtype=np.int64)
            for i, col in enumerate(group):
                code |= col.astype(np.int64) << i
            out.append(Column("looked up", code, self._combinations(len(group))))
        return out

    def columns(self, rows: np.ndarray, point: int, chunk: int, seed: int) -> list[Column]:
        """The columns of one chunk's rows, as numbers still (:class:`~sim.tables.Column`)."""
        sc = self.sc
        n = len(rows)
        # outcome and peak in one cell, behind the seed: O x K strings per chunk
        ends = cell_table([f"{seed},{o},{r}" for o in self._outcomes for r in self._rungs])
        ending = rows["outcome"].astype(np.int64) * len(self._rungs) + rows["peak"]
        cols = [
            Column("int", rows["world"]),
            Column("looked up", np.zeros(n, dtype=np.int64), cell_table([f"{point},{chunk}"])),
            Column("int", rows["index_in_chunk"]),
            Column("looked up", ending, ends),
        ]
        for r in sc.key_rungs:
            first = rows[f"first_day_{r}"].astype(np.int64) + 1
            cols.append(Column("looked up", first, self._days))
        flags = [rows[f"flag_{f.id}"] for f in sc.flags]
        if flags:
            cols += self._flag_columns(flags)
        for p in sc.parameters:
            values = rows[f"param_{p.id}"]
            if p.enum_values:
                cols.append(Column("looked up", values, self._enums[p.id]))
            else:
                cols.append(Column("int" if p.integer else "float", values))
        observed = [rows[f"obs_{o.id}"] for o in sc.observations]
        if observed:
            cols += self._flag_columns(observed)
        return cols

    def lines(self, rows: np.ndarray, point: int, chunk: int, seed: int) -> bytes:
        """The rows of one chunk (:func:`sim.results.aggregate.row_dtype`), as UTF-8 CSV lines.

        In a process that runs the scenario's kernels, by one compiled loop over the rows
        (:func:`sim.results.compiled_cells.rows_text`); else, or where that loop cannot be
        had, by numpy's steps, a column at a time (:func:`~sim.tables.column_cells`, the
        float cells all in one call, compiled there too), then side by side
        (:func:`~sim.tables.joined_rows`). The bytes are the same."""
        if len(rows) == 0:
            return b""
        cols = self.columns(rows, point, chunk, seed)
        compiled = _compiled_cells(self.sc)
        if compiled is not None:
            text = compiled.rows_text(cols)
            if text is not None:
                return text
            floats = compiled.float_cells
            return joined_rows(column_cells(cols, lambda v: floats(v) or float_cells(v)))
        return joined_rows(column_cells(cols))


def _compiled_cells(sc: Scenario) -> Any:
    """:mod:`sim.results.compiled_cells` where this process runs ``sc``'s kernels, else None.
    A process that never imported the kernels' module runs none: it is not imported here
    (a report or a plot needs none)."""
    kernels = sys.modules.get("sim.engine.kernels")
    if kernels is None or not kernels.running(sc):
        return None
    from sim.results import compiled_cells

    return compiled_cells


def _copied(src: int, dst: int, size: int) -> bool:
    """Copy ``size`` bytes of ``src`` from its start to ``dst`` at its position, in the
    system; False, with ``dst`` as it was, where the system cannot (no
    ``copy_file_range``, another file system, an old kernel)."""
    copy = getattr(os, "copy_file_range", None)
    if copy is None:
        return False
    start = os.lseek(dst, 0, os.SEEK_CUR)
    done = 0
    try:
        while done < size:
            n = copy(src, dst, size - done, done)
            if n <= 0:
                break
            done += n
    except OSError:
        pass
    if done == size:
        return True
    os.ftruncate(dst, start)
    os.lseek(dst, start, os.SEEK_SET)
    return False


class RunsWriter:
    """Writes ``runs.csv`` chunk by chunk, in chunk order (columns: :class:`RunsFormat`).

    A chunk whose worker already formatted its rows (``ChunkSummary.text``)
    is appended as it came; any other is formatted here.
    """

    def __init__(self, path: Path, sc: Scenario):
        self.format = RunsFormat(sc)
        self.path = path
        self._file = path.open("wb")
        # The digest the manifest records, made as the bytes go by (not read back).
        self._sha = hashlib.sha256()
        self._rows = 0
        self._put(self.format.header.encode("utf-8"))

    def _put(self, data: bytes) -> None:
        self._file.write(data)
        self._sha.update(data)

    def write(self, cs: ChunkSummary, seed: int) -> None:
        """Appends one row per world of the chunk (nothing for a chunk without rows)."""
        if cs.rows is None:
            return
        if cs.spooled is not None:
            self._append(Path(cs.spooled))
        else:
            text = cs.text
            self._put(
                text if text is not None else self.format.lines(cs.rows, cs.point, cs.chunk, seed)
            )
        self._rows += len(cs.rows)

    def _append(self, path: Path) -> None:
        """Append the lines a worker wrote to ``path`` (then removed): copied file to file
        by the system where it can (``os.copy_file_range``), hashed where they lie (a
        read-only map of the file), so this process never copies them itself."""
        self._file.flush()
        out = self._file.fileno()
        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            try:
                lines = mmap.mmap(fd, size, access=mmap.ACCESS_READ) if size else None
            except (OSError, ValueError):  # a file system that maps no files: read it
                self._put(path.read_bytes())
                lines = None
            if lines is not None:
                with lines:
                    self._sha.update(lines)
                    if _copied(fd, out, size):
                        self._file.seek(0, os.SEEK_END)  # where the system left the file
                    else:
                        self._file.write(lines)
        finally:
            os.close(fd)
        path.unlink()

    def close(self) -> None:
        """Closes the file (the staging folder makes it final, or discards it)."""
        if self._file.closed:
            return
        self._file.close()
        st = self.path.stat()
        _WRITTEN[str(self.path)] = (
            st.st_size,
            st.st_mtime_ns,
            {"rows": self._rows, "sha256": self._sha.hexdigest()},
        )
