"""Self-describing results folders: writing them safely, reading them back.

A results folder holds raw tables (``runs.csv``, ``daily.csv``,
``rules.csv``, ``points.csv``), a ``summary.json`` recomputable from them and
a ``manifest.json`` that says what produced it (format version, scenario
hash, seed, package versions, the command that reproduces it) and records
each table's row count and SHA-256. How tables are written, read back and
checked against that record is :mod:`sim.tables`; every reader here refuses
a folder whose tables no longer match it.

Folders are written into a hidden temporary sibling and renamed into place
only when complete (:mod:`sim.batch.staging`): an interrupted batch leaves
no folder that looks finished, and an existing folder is never overwritten.

Result objects are data: a folder's manifest, summary and tables. Drawing
them is :mod:`sim.plots` (``plot_fan(result)``), rerunning one of their
worlds :func:`sim.batch.replay.rerun_world`.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim import __version__
from sim.batch.aggregate import ChunkSummary, recount_summary
from sim.errors import ResultsError
from sim.tables import FORMAT_VERSION as FORMAT_VERSION
from sim.tables import (
    check_format,
    check_table,
    check_tables,
    line,
    read_table,
    record_tables,
    text_cell,
)
from sim.tables import write_table as write_table

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario.model import Scenario

RESULTS_ROOT = Path("results")
"""Default parent of results folders (relative to the working folder)."""

KINDS = ("batch", "sweep", "compare")


# -- writing ---------------------------------------------------------------------
def write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_manifest(folder: Path, m: dict[str, Any]) -> None:
    """Write ``manifest.json`` with the record of the tables already in ``folder``.

    Written last, once every table is complete: readers check each table
    against this record (:func:`sim.tables.check_tables`).
    """
    write_json(folder / "manifest.json", m | {"tables": record_tables(folder)})


def versions() -> dict[str, str]:
    import mesa  # start-up time: Mesa (a second) only when a folder is written

    return {
        "sim": __version__,
        "mesa": mesa.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
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
        "started": started.astimezone().isoformat(timespec="seconds"),
        "finished": finished.astimezone().isoformat(timespec="seconds"),
        "wall_seconds": round((finished - started).total_seconds(), 3),
        "command": shlex.join(command),
        "argv": command,
        "runs_table": bool(runs_table),
    }
    if not runs_table:
        m["runs_table_note"] = "runs.csv was not written (--no-runs-table)"
    m.update(extra)
    return m


class RunsWriter:
    """Writes ``runs.csv`` chunk by chunk, in chunk order.

    Columns: ``world, point, chunk, index_in_chunk, seed, outcome, peak``,
    ``first_day_<rung>`` per key rung (empty if never reached), ``flag_<id>``
    (0/1) per flag and ``param_<id>`` per parameter (enum parameters as their
    word; floats as their shortest exact repr). Words (outcome, rung and enum
    ids, the header) are quoted and guarded once per scenario by
    :func:`sim.tables.text_cell`; numbers are written as they are.
    """

    def __init__(self, path: Path, sc: Scenario, extra: dict[str, list[str]] | None = None):
        self.sc = sc
        self._file = path.open("w", encoding="utf-8", newline="\n")
        self._outcomes = _words([o.id for o in sc.outcomes])
        self._rungs = _words([r.id for r in sc.ladder])
        self._enums = {p.id: _words(p.enum_values) for p in sc.parameters if p.enum_values}
        header = ["world", "point", "chunk", "index_in_chunk", "seed", "outcome", "peak"]
        header += [f"first_day_{r}" for r in sc.key_rungs]
        header += [f"flag_{f.id}" for f in sc.flags]
        header += [f"param_{p.id}" for p in sc.parameters]
        self._file.write(line(map(text_cell, header)))

    def write(self, cs: ChunkSummary, seed: int) -> None:
        rows = cs.rows
        if rows is None or len(rows) == 0:
            return
        n = len(rows)
        cols: list[list[str]] = [
            list(map(str, rows["world"].tolist())),
            [str(cs.point)] * n,
            [str(cs.chunk)] * n,
            list(map(str, rows["index_in_chunk"].tolist())),
            [str(seed)] * n,
            self._outcomes[rows["outcome"]].tolist(),
            self._rungs[rows["peak"]].tolist(),
        ]
        for r in self.sc.key_rungs:
            days = rows[f"first_day_{r}"].tolist()
            cols.append([str(d) if d >= 0 else "" for d in days])
        for f in self.sc.flags:
            cols.append(["1" if x else "0" for x in rows[f"flag_{f.id}"].tolist()])
        for p in self.sc.parameters:
            values = rows[f"param_{p.id}"]
            if p.enum_values:
                cols.append(self._enums[p.id][values].tolist())
            elif p.integer:
                cols.append(list(map(str, values.tolist())))
            else:
                cols.append(list(map(repr, values.tolist())))
        self._file.write("".join(map(line, zip(*cols, strict=True))))

    def close(self) -> None:
        self._file.close()


def _words(words: Iterable[str]) -> np.ndarray:
    """Words as CSV fields (quoted, guarded), indexable by their codes."""
    return np.array([text_cell(w) for w in words], dtype=object)


# -- reading ---------------------------------------------------------------------
@dataclass
class Results:
    """Common part of the result objects: folder, manifest, summary."""

    folder: Path
    manifest: dict[str, Any]
    stored_summary: dict[str, Any] = field(repr=False)
    note: str = field(default="", repr=False)
    """What presenting the folder said when it was written (see ``run_batch``'s
    ``on_complete``); empty for a folder opened later."""

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    def _table(self, name: str) -> pd.DataFrame:
        """Table ``name``, checked again against the manifest right before it is parsed."""
        check_table(self.folder, name, self.manifest)
        return read_table(self.folder / name)

    @property
    def has_runs(self) -> bool:
        return (self.folder / "runs.csv").is_file()

    @cached_property
    def runs(self) -> pd.DataFrame:
        """One row per world (``runs.csv``); raises if it was not written."""
        if not self.has_runs:
            raise ResultsError(f"{self.folder}: no runs.csv (the batch ran with --no-runs-table)")
        return self._table("runs.csv")


@dataclass
class BatchResult(Results):
    """A batch's results folder, with its tables as pandas DataFrames.

    ``summary`` is ``summary.json``; :meth:`recount` recomputes it from
    ``runs.csv`` (``load_results(folder, recount=True)`` does so on opening).
    """

    @property
    def summary(self) -> dict[str, Any]:
        return self.stored_summary

    def recount(self) -> dict[str, Any]:
        """The summary recomputed from ``runs.csv`` (every count, share, interval, median)."""
        return recount_summary(self.stored_summary, self.runs)

    @cached_property
    def daily(self) -> pd.DataFrame:
        """Per day: rung shares, rung-index statistics, rungs reached (``daily.csv``)."""
        return self._table("daily.csv")

    @cached_property
    def rules(self) -> pd.DataFrame:
        """Per rule: how often it fired, and with which outcomes (``rules.csv``)."""
        return self._table("rules.csv")

    def outcome_table(self) -> pd.DataFrame:
        """Outcome shares with Wilson 95% intervals, one row per outcome."""
        import pandas as pd  # start-up time: opening a folder reads JSON only

        return pd.DataFrame(self.summary["outcomes"])


@dataclass
class SweepResult(Results):
    """A sweep's results folder: one design point per row of :attr:`points`."""

    @property
    def summary(self) -> dict[str, Any]:
        return self.stored_summary

    @cached_property
    def points(self) -> pd.DataFrame:
        """Per design point: the varied values and outcome shares with 95% intervals."""
        return self._table("points.csv")

    @property
    def varied(self) -> list[str]:
        """The varied paths, as given to ``--vary``."""
        return list(self.manifest["vary"])


@dataclass
class CompareResult(Results):
    """A comparison of two batches: per outcome p_A, p_B and p_B - p_A with a 95% interval."""

    @property
    def summary(self) -> dict[str, Any]:
        return self.stored_summary

    @property
    def compare(self) -> dict[str, Any]:
        """``compare.json``: both sides' shares and the differences."""
        return self.stored_summary

    def table(self, what: str = "outcomes") -> pd.DataFrame:
        """One row per outcome (or flag): p_a, lo_a, hi_a, p_b, ..., diff, diff_lo, diff_hi."""
        import pandas as pd  # start-up time: opening a folder reads JSON only

        return pd.DataFrame(side_by_side(self.stored_summary, what))


def side_by_side(doc: dict[str, Any], what: str = "outcomes") -> list[dict[str, Any]]:
    """Rows of ``compare.json`` joined for display, A's ids first then B's own.

    Columns ``count_a, p_a, lo_a, hi_a``, the same for B, and ``diff, diff_lo,
    diff_hi`` (``None`` where only one side defines the id). ``what`` is
    ``"outcomes"`` or ``"flags"``.
    """
    by_a = {x["id"]: x for x in doc["a"][what]}
    by_b = {x["id"]: x for x in doc["b"][what]}
    diffs = {d["id"]: d for d in doc["diffs" if what == "outcomes" else "flag_diffs"]}
    ids = list(by_a) + [i for i in by_b if i not in by_a]
    rows = []
    for i in ids:
        a, b, d = by_a.get(i, {}), by_b.get(i, {}), diffs.get(i, {})
        row = {"id": i, "name": (a or b).get("name", i)}
        for tag, x in (("a", a), ("b", b)):
            row |= {f"{k}_{tag}": x.get(k) for k in ("count", "p", "lo", "hi")}
        row |= {"diff": d.get("diff"), "diff_lo": d.get("lo"), "diff_hi": d.get("hi")}
        rows.append(row)
    return rows


def find_folder(
    path: Path | str,
    marker: str = "manifest.json",
    missing: str = "not a results folder (no manifest.json); "
    "expected a folder written by wargame batch, sweep or compare",
) -> Path:
    """The results folder ``path`` names: itself, or the one its ``latest`` points at.

    A folder counts when it holds ``marker``; ``missing`` ends the message
    when neither it nor its ``latest`` (symlink or ``latest.txt``) does.
    """
    folder = Path(path)
    if not folder.exists():
        raise ResultsError(f"{folder}: no such results folder")
    if not folder.is_dir():
        raise ResultsError(f"{folder}: not a folder; give a results folder")
    if (folder / marker).is_file():
        return folder
    # ``latest`` (symlink or latest.txt) must name a folder inside this one:
    # a pointer elsewhere is ignored, so nothing outside is read or quoted.
    if (folder / "latest" / marker).is_file() and _is_child(folder, folder / "latest"):
        return folder / "latest"
    if (folder / "latest.txt").is_file():
        with (folder / "latest.txt").open(encoding="utf-8", errors="replace") as f:
            name = f.read(256).strip()
        if _is_child(folder, folder / name) and (folder / name / marker).is_file():
            return folder / name
    raise ResultsError(f"{folder}: {missing}")


def _is_child(folder: Path, path: Path) -> bool:
    """Whether ``path`` is, symlinks followed, a folder directly inside ``folder``."""
    try:
        return path.name not in ("", ".", "..") and path.resolve().parent == folder.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return False


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object of a results folder (``summary.json``, ``compare.json``).

    Raises:
        ResultsError: the file is missing or unreadable, is not JSON (the
            message gives the line and column) or holds no JSON object.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ResultsError(
            f"{path}:{exc.lineno}:{exc.colno}: cannot be read (invalid JSON: {exc.msg})"
        ) from exc
    except FileNotFoundError:
        raise ResultsError(f"{path}: missing from the results folder") from None
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: cannot be read ({exc})") from exc
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: expected a JSON object; got {type(data).__name__}")
    return data


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{folder / 'manifest.json'}: cannot be read ({exc})") from exc
    check_format(m, folder / "manifest.json")
    if m.get("kind") not in KINDS:
        raise ResultsError(f"{folder}: unknown kind of results {m.get('kind')!r}")
    return m


def load_results(
    folder: Path | str, recount: bool = False
) -> BatchResult | SweepResult | CompareResult:
    """Open a results folder (or ``results/<scenario>``, meaning its latest folder).

    Every table is checked against the manifest's record on opening (one
    pass over its bytes, no parsing): a table cut short, edited, removed or
    added since the folder was written is refused.

    Args:
        folder: the folder.
        recount: recompute a batch's summary from ``runs.csv`` instead of
            trusting ``summary.json`` (reads the whole table).

    Raises:
        ResultsError: the folder is missing, incomplete, altered or of an
            unknown format.
    """
    path = find_folder(folder)
    m = read_manifest(path)
    check_tables(path, m)
    name = "compare.json" if m["kind"] == "compare" else "summary.json"
    summary = read_json(path / name)
    cls = {"batch": BatchResult, "sweep": SweepResult, "compare": CompareResult}[m["kind"]]
    result = cls(path, m, summary)
    if recount and isinstance(result, BatchResult) and result.has_runs:
        result.stored_summary = result.recount()
    return result
