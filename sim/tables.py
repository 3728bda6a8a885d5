"""The CSV tables of a results folder: how they are written, read back and checked.

``runs.csv``, ``daily.csv``, ``rules.csv`` and ``points.csv`` hold the raw
numbers of a results folder, and people open them in spreadsheets as often as
in pandas. Three rules keep them trustworthy (see docs/batch.md):

* **Quoting** (RFC 4180): a cell holding a comma, a double quote, a CR or an
  LF is enclosed in double quotes, with its quotes doubled. Cells are quoted
  here rather than by :mod:`csv`, whose writer leaves a lone CR unquoted when
  lines end in LF, and pandas reads such a CR as the end of a row.
* **Formula guard**: a *word* (a text cell that does not read as a number)
  starting with ``=``, ``+``, ``-``, ``@``, a tab or a CR is what a
  spreadsheet would run as a formula, so it is written with a single quote in
  front, as OWASP recommends. A word that already starts with a single quote
  gets one too, so a reader removes exactly one and gets the word back.
  Numbers, negative ones included, are written as they are.
* **Record**: the manifest lists each table's row count and SHA-256
  (:func:`record_tables`); every reader refuses a table that no longer
  matches, with one message naming the file and what differs
  (:func:`check_tables`).

Reading back (:func:`read_table`) keeps words as words: ``null``, ``NA``,
``nan``, ``None``, ``inf`` or ``true`` are not turned into missing values,
numbers or booleans, and the guard is removed.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.errors import ResultsError

if TYPE_CHECKING:
    import pandas as pd

FORMAT_VERSION = 2
"""Version of the results-folder layout; readers refuse any other.

2: the manifest records each table (rows, SHA-256) and words are guarded.
1 (refused): tables unrecorded, so a cut or edited table could not be told.
"""

TABLES = (
    "runs.csv",
    "daily.csv",
    "rules.csv",
    "drivers.csv",
    "points.csv",
    "indices.csv",
    "knockouts.csv",
    "scores.csv",
    "conditional.csv",
    "posterior.csv",
    "forecast.csv",
)
"""The CSV tables a results folder may hold, all recorded in its manifest."""

GUARD = "'"
"""Put in front of a word a spreadsheet would read as a formula (and of one starting with it)."""

FORMULA_STARTS = "=+-@\t\r"
FLOAT_FORMAT = "%.10g"
"""Derived numbers (shares, means) keep 10 significant digits: equal numbers, equal bytes."""

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')
_SHA256 = re.compile(r"[0-9a-f]{64}")
_BLOCK = 1 << 20


# -- writing ----------------------------------------------------------------------
def text_cell(text: str) -> str:
    """``text`` as one CSV field: guarded if it is a formula-like word, quoted if needed."""
    if text and text[0] in FORMULA_STARTS + GUARD and not _NUMBER.fullmatch(text):
        text = GUARD + text
    if _NEEDS_QUOTES.search(text):
        text = '"' + text.replace('"', '""') + '"'
    return text


def line(cells: Iterable[str]) -> str:
    """One row of fields already made by :func:`text_cell` or from numbers."""
    return ",".join(cells) + "\n"


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str):
        return text_cell(value)
    return str(value)


Columns = Mapping[str, Any]
"""A table without pandas: column name -> values (a numpy array or a list), in order.

The batch writes its tables this way, so a batch never imports pandas; a
list is written as pandas would infer its type (:func:`inferred_kind`), so a
table written from columns and from ``pd.DataFrame(columns)`` are the same bytes.
"""


def inferred_kind(values: Any) -> str:
    """The numpy kind pandas gives a column of ``values`` (``"b"``, ``"i"``, ``"f"`` or ``"O"``).

    A numpy array keeps its own; for a list, as ``pd.DataFrame`` infers it:
    all booleans ``b``, all integers ``i``, numbers with any float or missing
    value (``None``, NaN) ``f``, anything else (words, or booleans mixed with
    numbers or missing values) ``O``.
    """
    if isinstance(values, np.ndarray):
        return str(values.dtype.kind)
    # By the values' types, each looked at once: a column of thousands of cells
    # has a handful of types (``isinstance(v, T)`` is ``issubclass(type(v), T)``).
    seen = set()
    for t in set(map(type, values)):
        if t is type(None):
            seen.add("none")
        elif issubclass(t, bool | np.bool_):
            seen.add("b")
        elif issubclass(t, int | np.integer):
            seen.add("i")
        elif issubclass(t, float | np.floating):
            seen.add("f")
        else:
            return "O"
    if seen in ({"b"}, {"i"}):
        return seen.pop()
    if seen and seen <= {"i", "f", "none"} and seen != {"none"}:
        return "f"
    return "O"


def _cells_of(values: list[Any], kind: str) -> list[str]:
    """The fields of one column: floats with :data:`FLOAT_FORMAT`, missing values empty."""
    if kind == "f":
        return ["" if x is None or math.isnan(x) else FLOAT_FORMAT % x for x in values]
    if kind in "iub":
        return [str(x) for x in values]
    # Words repeat down a column (an output's name on each of its rows): each distinct
    # word is made a cell once. Only words: 0.0 and -0.0 (or 1 and True) are equal keys.
    words: dict[str, str] = {}
    cells = []
    for x in values:
        if type(x) is str:
            cell = words.get(x)
            if cell is None:
                cell = words[x] = text_cell(x)
            cells.append(cell)
        else:
            cells.append(_cell(x))
    return cells


def _column_cells(values: Any) -> list[str]:
    kind = inferred_kind(values)
    return _cells_of(values.tolist() if isinstance(values, np.ndarray) else list(values), kind)


def columns_of(records: Iterable[Mapping[str, Any]], names: Iterable[str] = ()) -> Columns:
    """Records (dicts) as :data:`Columns`: ``names`` in order, else the keys as they come
    (as ``pd.DataFrame.from_records``); a key a record lacks is a missing value."""
    records = list(records)
    order = list(names) or list(dict.fromkeys(k for r in records for k in r))
    return {n: [r.get(n) for r in records] for n in order}


def write_table(path: Path, table: pd.DataFrame | Columns) -> None:
    """Write ``table`` as a CSV table (no index; LF line ends; quoted and guarded words)."""
    if isinstance(table, Mapping):
        names = list(table)
        columns = [_column_cells(v) for v in table.values()]
    else:
        names = list(table.columns)
        columns = [
            _cells_of(table.iloc[:, i].tolist(), table.iloc[:, i].dtype.kind)
            for i in range(table.shape[1])
        ]
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(line(text_cell(str(c)) for c in names))
        f.writelines(map(line, zip(*columns, strict=True)))


# -- the record in the manifest ----------------------------------------------------
def digest(path: Path) -> dict[str, Any]:
    """``{"rows": data rows, "sha256": hex digest}`` of a table, in one pass over its bytes.

    A row ends at an LF outside quotes: one preceded by an even number of
    double quotes, since quotes inside a quoted field come in pairs.
    """
    sha = hashlib.sha256()
    ends = 0
    odd = 0  # 1 while inside a quoted field at the end of the previous block
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            sha.update(block)
            if not odd and b'"' not in block:
                ends += block.count(b"\n")
                continue
            data = np.frombuffer(block, dtype=np.uint8)
            quotes = np.flatnonzero(data == ord('"'))
            before = np.searchsorted(quotes, np.flatnonzero(data == ord("\n"))) + odd
            ends += int(np.count_nonzero(before % 2 == 0))
            odd = (len(quotes) + odd) % 2
    return {"rows": max(ends - 1, 0), "sha256": sha.hexdigest()}


def record_tables(folder: Path) -> dict[str, dict[str, Any]]:
    """The manifest's ``tables``: the digest of every table present in ``folder``."""
    return {name: digest(folder / name) for name in TABLES if (folder / name).is_file()}


def check_format(manifest: Any, where: Path) -> int:
    """The manifest's format version; refuses one this package cannot read soundly."""
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if isinstance(version, bool) or version != FORMAT_VERSION:
        if version == 1:
            raise ResultsError(
                f"{where}: format_version 1, from before tables were recorded: a table cut "
                "short or edited since cannot be detected; run the command in this manifest "
                f"again for a folder in format {FORMAT_VERSION} (the same seed gives the same "
                "worlds)"
            )
        raise ResultsError(
            f"{where}: format_version {version!r} is not supported "
            f"(this version of wargame reads format {FORMAT_VERSION})"
        )
    return version


def check_tables(folder: Path, manifest: Mapping[str, Any]) -> None:
    """Refuse ``folder`` if a table is missing, added, cut short or altered since it was written.

    Raises:
        ResultsError: naming the first table that differs, and how.
    """
    for name in TABLES:
        check_table(folder, name, manifest)


def check_table(folder: Path, name: str, manifest: Mapping[str, Any]) -> None:
    """Refuse table ``name`` of ``folder`` unless it matches the manifest's record of it.

    A table the manifest does not record must be absent.

    Raises:
        ResultsError: naming the table and what differs from the record.
    """
    where = folder / "manifest.json"
    check_format(manifest, where)
    recorded = manifest.get("tables")
    if not isinstance(recorded, Mapping):
        raise ResultsError(f"{where}: no 'tables' record, so the tables cannot be checked")
    path = folder / name
    entry = recorded.get(name)
    if entry is None:
        if path.exists():
            raise ResultsError(f"{path}: not recorded in the manifest (added afterwards?)")
        return
    if not (
        isinstance(entry, Mapping)
        and isinstance(entry.get("rows"), int)
        and isinstance(entry.get("sha256"), str)
        and _SHA256.fullmatch(entry["sha256"])
    ):
        raise ResultsError(f"{where}: the record of {name} is malformed: {entry!r}")
    if not path.is_file():
        raise ResultsError(
            f"{path}: missing from the results folder (the manifest records {entry['rows']:,} rows)"
        )
    found = digest(path)
    if found["rows"] != entry["rows"]:
        how = "cut short" if found["rows"] < entry["rows"] else "added to"
        raise ResultsError(
            f"{path}: {found['rows']:,} rows where the manifest records "
            f"{entry['rows']:,}; the table was {how} after it was written"
        )
    if found["sha256"] != entry["sha256"]:
        raise ResultsError(
            f"{path}: altered after it was written: the same {found['rows']:,} rows, "
            f"but its SHA-256 is {found['sha256'][:12]}... where the manifest records "
            f"{entry['sha256'][:12]}..."
        )


# -- reading ----------------------------------------------------------------------
def unguard(text: str) -> str:
    """Undo the formula guard of :func:`text_cell` (quoting is undone by the CSV parser)."""
    return text[1:] if text.startswith(GUARD) else text


def _unguarded(column: pd.Series) -> pd.Series:
    guarded = column.str.startswith(GUARD, na=False)
    return column.where(~guarded, column.str[1:]) if guarded.any() else column


def read_table(path: Path) -> pd.DataFrame:
    """A table as a DataFrame: numbers as numbers, words exactly as they were written.

    pandas' own type guessing is kept for speed; a column it read as booleans
    or as holding infinities holds words (tables never hold either), so it
    is read again as text.

    Raises:
        ResultsError: the file is missing or is not readable CSV.
    """
    import pandas as pd  # start-up time: pandas only when a table is parsed

    if not path.is_file():
        raise ResultsError(f"{path}: missing from the results folder")
    options: dict[str, Any] = {"keep_default_na": False, "na_values": [""]}
    try:
        df = pd.read_csv(path, **options)
        words = [
            c
            for c in df.columns
            if df[c].dtype.kind == "b" or (df[c].dtype.kind == "f" and np.isinf(df[c]).any())
        ]
        if words:
            df[words] = pd.read_csv(path, usecols=words, dtype=str, **options)[words]
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ResultsError(f"{path}: unreadable CSV ({exc})") from exc
    for c in df.columns:
        if df[c].dtype.kind == "O":
            df[c] = _unguarded(df[c])
    return df.rename(columns=unguard)


def read_records(path: Path) -> list[dict[str, str]]:
    """A table as one dict of strings per row (the words unguarded); empty cells are ``""``.

    Raises:
        ResultsError: the file cannot be read, or a row has more cells than the header.
    """
    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: cannot be read ({exc})") from exc
    if not rows:
        return []
    header = [unguard(c) for c in rows[0]]
    records = []
    for n, row in enumerate(rows[1:], start=2):
        if len(row) > len(header):
            raise ResultsError(f"{path}: row {n} has {len(row)} cells, the header {len(header)}")
        records.append({k: unguard(v) for k, v in zip(header, row, strict=False)})
    return records
