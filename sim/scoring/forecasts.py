"""Forecasts to score: one table of probabilities, whatever folder or file they come from.

Every forecast is read into the same table, one row per as-of date and
question, with exactly the columns :data:`COLUMNS`:

* ``as_of``: the day the forecast was made (what was known by the end of it);
* ``kind``: ``outcome`` or ``flag``; ``name``: its id in the scenario;
* ``probability``: P(the outcome at the horizon, or the flag by the horizon);
* ``low``, ``high``: its 95% interval; ``ess``: the effective number of
  worlds behind it; ``worlds``: the worlds run.

Four sources give it (:func:`load_forecast`):

* a **forecast folder** (``wargame forecast``): its ``forecast.csv``;
* a **conditioned batch** (``wargame batch --as-of``): its ``conditional.csv``;
* a **plain batch**: its outcome and flag shares from ``summary.json``, read
  through :func:`sim.results.reader.load_results`, as of the scenario's start;
* a **CSV file** with those columns (e.g. a reference forecast from elsewhere).

A folder's tables are checked against its manifest before they are read, as
everywhere else; a table with other columns, a probability outside [0, 1]
or a question twice on one date is refused with its ``file:line:col``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import Diagnostic, Location, ResultsError, ValidationError
from sim.results.reader import BatchResult, find_folder, load_results, read_json
from sim.tables import check_format, check_table, check_tables, read_table

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ("as_of", "kind", "name", "probability", "low", "high", "ess", "worlds")
"""The columns of every forecast table, in this order (``forecast.csv``, ``conditional.csv``)."""

KINDS = ("outcome", "flag")

TABLES = ("forecast.csv", "conditional.csv")
"""The tables a forecast folder or a conditioned batch holds, looked for in this order."""


@dataclass(frozen=True)
class Forecast:
    """A forecast's rows and where they come from."""

    rows: pd.DataFrame
    """:data:`COLUMNS`, ``as_of`` as :class:`datetime.date`; one row per date and question."""
    source: Path
    what: str
    """``"forecast"``, ``"conditioned batch"``, ``"batch"`` or ``"table"`` (a CSV file)."""
    scenario: str | None
    """The scenario's name as the folder's manifest records it (``None`` for a CSV file)."""
    scenario_sha256: str | None
    """The scenario's hash as the folder's manifest records it: which rules made the forecast."""
    sha256: str
    """Of the folder's ``manifest.json`` (which records each of its tables), or of the CSV file."""
    title: str | None = None
    """The scenario's title, where the folder's ``summary.json`` gives it (for charts)."""

    def label(self) -> str:
        """``forecast results/...`` for messages and tables."""
        return f"{self.what} {self.source}"


def load_forecast(path: str | Path) -> Forecast:
    """Open a forecast folder, a conditioned or plain batch folder, or a forecast CSV file.

    Raises:
        ResultsError: not a folder or file that holds a forecast, or one
            altered since it was written.
        ValidationError: a forecast table that breaks the format (positioned).
    """
    given = Path(path)
    if given.is_file():
        if given.suffix.lower() != ".csv":
            raise ResultsError(
                f"{given}: not a forecast; give a batch, a conditioned batch or a forecast "
                "folder, or a .csv file with the columns " + ",".join(COLUMNS)
            )
        rows = check_rows(read_table(given), given)
        return Forecast(rows, given, "table", None, None, _sha256(given))
    folder = find_folder(given)
    manifest = read_json(folder / "manifest.json")
    check_format(manifest, folder / "manifest.json")
    check_tables(folder, manifest)
    known = (manifest.get("scenario"), manifest.get("sha256"), _sha256(folder / "manifest.json"))
    summary = read_json(folder / "summary.json") if (folder / "summary.json").is_file() else {}
    title = summary.get("title") if isinstance(summary.get("title"), str) else None
    for name, what in zip(TABLES, ("forecast", "conditioned batch"), strict=True):
        if (folder / name).is_file():
            check_table(folder, name, manifest)
            rows = check_rows(read_table(folder / name), folder / name)
            return Forecast(rows, folder, what, *known, title)
    if manifest.get("kind") != "batch":
        raise ResultsError(
            f"{folder}: a {manifest.get('kind')!r} folder holds no forecast; give a batch, a "
            "conditioned batch (batch --as-of), a forecast folder or a CSV file with the "
            "columns " + ",".join(COLUMNS)
        )
    batch = load_results(folder)
    assert isinstance(batch, BatchResult)
    return Forecast(batch_rows(batch.summary), folder, "batch", *known, title)


def batch_rows(summary: dict[str, Any]) -> pd.DataFrame:
    """A plain batch's outcome and flag shares as forecast rows, as of the scenario's start."""
    import pandas as pd  # start-up time: pandas only when a table is made

    as_of = _dt.date.fromisoformat(str(summary["start"]))
    runs = int(summary["runs"])
    rows = [
        (as_of, kind, x["id"], float(x["p"]), float(x["lo"]), float(x["hi"]), runs, runs)
        for kind, key in (("outcome", "outcomes"), ("flag", "flags"))
        for x in summary[key]
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def check_rows(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``df`` checked against the forecast format, with ``as_of`` as dates.

    Raises:
        ValidationError: every problem (up to 20), at ``path:line:col``.
    """
    if tuple(df.columns) != COLUMNS:
        raise ValidationError(
            [
                Diagnostic(
                    Location(str(path), 1, 1),
                    f"expected exactly the columns {','.join(COLUMNS)}; "
                    f"got {','.join(map(str, df.columns))}",
                )
            ]
        )
    diags: list[Diagnostic] = []
    dates: list[_dt.date | None] = []
    seen: dict[tuple[Any, ...], int] = {}
    for i, row in enumerate(df.itertuples(index=False)):
        line = i + 2  # the header is line 1

        def bad(column: str, message: str, line: int = line) -> None:
            diags.append(Diagnostic(Location(str(path), line, COLUMNS.index(column) + 1), message))

        day = _date(row.as_of)
        dates.append(day)
        if day is None:
            bad("as_of", f"as_of: expected a date YYYY-MM-DD; got {row.as_of!r}")
        if row.kind not in KINDS:
            bad("kind", f"kind: expected outcome or flag; got {row.kind!r}")
        if not isinstance(row.name, str) or not row.name:
            bad("name", f"name: expected the id of an outcome or flag; got {row.name!r}")
        p = _number(row.probability)
        if p is None or not 0 <= p <= 1:
            bad("probability", f"probability: expected a number in [0, 1]; got {row.probability!r}")
        key = (day, row.kind, row.name)
        if key in seen:
            bad(
                "name",
                f"{row.kind} {row.name!r} as of {row.as_of} again (first on line {seen[key]})",
            )
        seen.setdefault(key, line)
    if diags:
        raise ValidationError(diags[:20])
    out = df.copy()
    out["as_of"] = dates
    out["probability"] = out["probability"].astype(float)
    return out


def _date(value: Any) -> _dt.date | None:
    try:
        return _dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
