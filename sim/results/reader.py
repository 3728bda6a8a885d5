"""Reading a results folder back: the package's one reader.

A results folder holds raw tables (``runs.csv``, ``daily.csv``,
``rules.csv``, ``points.csv``), a ``summary.json`` recomputable from them and
a ``manifest.json`` that says what produced it (format version, scenario
hash, seed, package versions, the command that reproduces it) and records
each table's row count and SHA-256. How tables are written, read back and
checked against that record is :mod:`sim.tables`; every reader here refuses
a folder whose tables no longer match it. The charts
(:func:`sim.plots.load_tables`), the report and ``wargame plot`` open
folders through this module.

Result objects are data: a folder's manifest, summary and tables. Drawing
them is :mod:`sim.plots` (``plot_fan(result)``), rerunning one of their
worlds :func:`sim.batch.replay.rerun_world`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import ResultsError
from sim.results.aggregate import recount_summary
from sim.tables import check_format, check_table, check_tables, read_table

if TYPE_CHECKING:
    import pandas as pd

KINDS = ("batch", "sweep", "compare", "sensitivity", "knockouts", "score", "forecast")


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
        """``"batch"``, ``"sweep"`` or ``"compare"``, as the manifest records it."""
        return str(self.manifest["kind"])

    def _table(self, name: str) -> pd.DataFrame:
        """Table ``name``, checked again against the manifest right before it is parsed."""
        check_table(self.folder, name, self.manifest)
        return read_table(self.folder / name)

    @property
    def has_runs(self) -> bool:
        """Whether the folder has ``runs.csv`` (a batch run with ``--no-runs-table`` has none)."""
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
        """``summary.json`` as stored (:meth:`recount` recomputes it from ``runs.csv``)."""
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

    @property
    def has_drivers(self) -> bool:
        """Whether the folder has ``drivers.csv`` (batches written before it existed have none)."""
        return (self.folder / "drivers.csv").is_file()

    @cached_property
    def drivers(self) -> pd.DataFrame:
        """Each outcome and key flag by bin of each parameter, with swings (``drivers.csv``)."""
        return self._table("drivers.csv")

    @property
    def has_conditional(self) -> bool:
        """Whether the batch was conditioned on its observations (``--as-of``)."""
        return (self.folder / "conditional.csv").is_file()

    @cached_property
    def conditional(self) -> pd.DataFrame:
        """Outcome and flag shares given the observations up to the as-of date
        (``conditional.csv``; see :mod:`sim.evidence`)."""
        return self._table("conditional.csv")

    @cached_property
    def posterior(self) -> pd.DataFrame:
        """Each drawn parameter's prior against its posterior (``posterior.csv``)."""
        return self._table("posterior.csv")

    def outcome_table(self) -> pd.DataFrame:
        """Outcome shares with Wilson 95% intervals, one row per outcome."""
        import pandas as pd  # start-up time: opening a folder reads JSON only

        return pd.DataFrame(self.summary["outcomes"])


@dataclass
class SweepResult(Results):
    """A sweep's results folder: one design point per row of :attr:`points`."""

    @property
    def summary(self) -> dict[str, Any]:
        """The sweep's ``summary.json``: the scenario, the design, the axes and the settings."""
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
        """``compare.json``, the comparison's summary (also :attr:`compare`)."""
        return self.stored_summary

    @property
    def compare(self) -> dict[str, Any]:
        """``compare.json``: both sides' shares and the differences."""
        return self.stored_summary

    def table(self, what: str = "outcomes") -> pd.DataFrame:
        """One row per outcome (or flag): p_a, lo_a, hi_a, p_b, ..., diff, diff_lo, diff_hi."""
        import pandas as pd  # start-up time: opening a folder reads JSON only

        return pd.DataFrame(side_by_side(self.stored_summary, what))


@dataclass
class SensitivityResult(Results):
    """Global sensitivity indices of a scenario's outputs (``wargame sensitivity``)."""

    @property
    def summary(self) -> dict[str, Any]:
        """``summary.json``: method, factors, outputs with their notes, and the settings."""
        return self.stored_summary

    @cached_property
    def indices(self) -> pd.DataFrame:
        """Per output and factor: S1, ST and their intervals (Sobol) or mu*, sigma (Morris)."""
        return self._table("indices.csv")

    @cached_property
    def points(self) -> pd.DataFrame:
        """Per design point: the factors' values and the output shares."""
        return self._table("points.csv")


@dataclass
class KnockoutsResult(Results):
    """Rule knock-outs of a scenario, on the same worlds as its base (``wargame knockouts``)."""

    @property
    def summary(self) -> dict[str, Any]:
        """``summary.json``: the base shares, and the knock-outs, largest change first."""
        return self.stored_summary

    @cached_property
    def table(self) -> pd.DataFrame:
        """Per knock-out and output: base and knock-out shares, their paired difference."""
        return self._table("knockouts.csv")


@dataclass
class ScoreResult(Results):
    """A forecast scored against what happened (``wargame score``)."""

    @property
    def summary(self) -> dict[str, Any]:
        """``summary.json``: mean scores overall, per question and per date; the resolutions."""
        return self.stored_summary

    @cached_property
    def scores(self) -> pd.DataFrame:
        """Per scored as-of date and question: the forecast, what happened, both scores."""
        return self._table("scores.csv")


@dataclass
class ForecastResult(Results):
    """Forecasts by date: the batch's worlds conditioned as of each date (``wargame forecast``)."""

    @property
    def summary(self) -> dict[str, Any]:
        """``summary.json``: the as-of dates, the questions, the observations, the settings."""
        return self.stored_summary

    @cached_property
    def forecast(self) -> pd.DataFrame:
        """Per as-of date and question: probability, interval, ESS, worlds (``forecast.csv``)."""
        return self._table("forecast.csv")


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
    """The folder's manifest, checked to be of this format and of a known kind."""
    try:
        m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{folder / 'manifest.json'}: cannot be read ({exc})") from exc
    check_format(m, folder / "manifest.json")
    if m.get("kind") not in KINDS:
        raise ResultsError(f"{folder}: unknown kind of results {m.get('kind')!r}")
    return m


AnyResult = (
    BatchResult
    | SweepResult
    | CompareResult
    | SensitivityResult
    | KnockoutsResult
    | ScoreResult
    | ForecastResult
)


def load_results(folder: Path | str, recount: bool = False, *, check: bool = True) -> AnyResult:
    """Open a results folder (or ``results/<scenario>``, meaning its latest folder).

    Every table is checked against the manifest's record on opening (one
    pass over its bytes, no parsing): a table cut short, edited, removed or
    added since the folder was written is refused.

    Args:
        folder: the folder.
        recount: recompute a batch's summary from ``runs.csv`` instead of
            trusting ``summary.json`` (reads the whole table).
        check: check the tables against the manifest (``False`` only for a folder
            this process has just written and recorded, :meth:`Staging.result
            <sim.results.staging.Staging.result>`: reading every table back to
            compare it with the record made from it moments ago finds nothing).

    Raises:
        ResultsError: the folder is missing, incomplete, altered or of an
            unknown format.
    """
    path = find_folder(folder)
    m = read_manifest(path)
    if check:
        check_tables(path, m)
    name = "compare.json" if m["kind"] == "compare" else "summary.json"
    summary = read_json(path / name)
    kinds: dict[str, type[AnyResult]] = {
        "batch": BatchResult,
        "sweep": SweepResult,
        "compare": CompareResult,
        "sensitivity": SensitivityResult,
        "knockouts": KnockoutsResult,
        "score": ScoreResult,
        "forecast": ForecastResult,
    }
    result = kinds[m["kind"]](path, m, summary)
    if recount and isinstance(result, BatchResult) and result.has_runs:
        result.stored_summary = result.recount()
    return result
