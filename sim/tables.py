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
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

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


def record_tables(
    folder: Path, known: Mapping[str, dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """The manifest's ``tables``: the digest of every table present in ``folder``
    (``known``: digests already made of some, as they were written)."""
    known = known or {}
    return {
        name: known.get(name) or digest(folder / name)
        for name in TABLES
        if (folder / name).is_file()
    }


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


# -- cells of many rows at once, as bytes ----------------------------------------------
# ``runs.csv`` has a row per world: its cells are made a column at a time, as a matrix of
# bytes per column (one row per world, each cell padded with NULs, with where it ends),
# and the rows are cut out of the columns side by side in one step (:func:`joined_rows`).


class Cells(NamedTuple):
    """A column's cells as bytes: ``chars`` (rows x width, ``uint8``), each row's cell
    among NULs, and the column just after its last byte, ``lengths`` (rows).

    A looked-up cell (:func:`cell_table`) is left-aligned, so that column is its length;
    numbers are aligned on their last digit (:func:`int_cells`) or their point
    (:func:`float_cells`), with NULs before them too. No cell holds a NUL, so the NULs
    are only padding, and :func:`joined_rows` drops them.
    """

    chars: np.ndarray
    lengths: np.ndarray


class Column(NamedTuple):
    """One column of a table still to be written, as numbers: whole numbers (``kind``
    ``"int"``, written as ``str`` writes them), floats (``"float"``, as ``repr``), or the
    cells of ``table`` (:func:`cell_table`) at the indices in ``values`` (``"looked up"``).

    :func:`column_cells` makes its :class:`Cells`; a compiled writer can write the rows
    of such columns without making them (:mod:`sim.results.compiled_cells`)."""

    kind: str
    values: np.ndarray
    table: Cells | None = None


def column_cells(
    columns: Sequence[Column], floats: Callable[[np.ndarray], Cells] | None = None
) -> list[Cells]:
    """The cells of ``columns``, for :func:`joined_rows`. The floats of all of them are
    made in one call (one pass of each step over all of them, not one per column) of
    ``floats``, :func:`float_cells` if not given (another way to the same bytes)."""
    floats = floats or float_cells
    kept = [c.values for c in columns if c.kind == "float"]
    made: Iterable[Cells] = ()
    if kept:
        n = len(kept[0])
        cells = floats(np.stack(kept).ravel())
        chars = cells.chars.reshape(len(kept), n, -1)
        lengths = cells.lengths.reshape(len(kept), n)
        made = (Cells(chars[k], lengths[k]) for k in range(len(kept)))
    each = iter(made)
    out = []
    for c in columns:
        if c.kind == "int":
            out.append(int_cells(c.values))
        elif c.kind == "float":
            out.append(next(each))
        else:
            assert c.table is not None  # a looked-up column has its table
            out.append(looked_up(c.table, c.values))
    return out


def cell_table(texts: Sequence[str]) -> Cells:
    """Cells already made (:func:`text_cell`, numbers as text), to be looked up by index
    (``table.chars[codes]``, :func:`looked_up`)."""
    data = [t.encode("utf-8") for t in texts]
    if any(b"\0" in d for d in data):
        raise ValueError("a cell holds a NUL character")
    width = max((len(d) for d in data), default=0) or 1
    chars = np.frombuffer(b"".join(d.ljust(width, b"\0") for d in data), dtype=np.uint8)
    return Cells(chars.reshape(len(data), width), np.array([len(d) for d in data], np.int64))


def looked_up(table: Cells, codes: np.ndarray) -> Cells:
    """Each row's cell from ``table`` (:func:`cell_table`) by its index in ``codes``."""
    return Cells(table.chars[codes], table.lengths[codes])


_POW10 = np.array([10**i for i in range(20)], dtype=np.uint64)
_POW10_SIGNED = _POW10[:19].astype(np.int64)
_DIGIT = ord("0")


_FOURS: list[np.ndarray] = []


def _fours() -> np.ndarray:
    """ "0000" to "9999", the four bytes of each as one number (made on first use: start-up
    time)."""
    if not _FOURS:
        i = np.arange(10_000)
        digits = np.stack([i // 1000, i // 100 % 10, i // 10 % 10, i % 10], axis=1) + _DIGIT
        _FOURS.append(np.ascontiguousarray(digits.astype(np.uint8)).view(np.uint32).ravel())
    return _FOURS[0]


def int_cells(values: np.ndarray) -> Cells:
    """Whole numbers as ``str`` writes them, right-aligned (NULs before them), four digits
    at a time, looked up with the NULs before the first digit (:func:`_group_tables`)."""
    v = np.ascontiguousarray(values, dtype=np.int64)
    rows = len(v)
    if not rows:
        return Cells(np.zeros((0, 1), dtype=np.uint8), np.zeros(0, dtype=np.int64))
    neg = v < 0
    magnitude = np.where(neg, -(v + 1), v).astype(np.uint64) + neg  # |v|, even of -2**63
    count = np.maximum(np.searchsorted(_POW10, magnitude, side="right"), 1)
    groups = (int((count + neg).max()) + 3) // 4  # the digits and a sign
    last = _group_tables()[1]
    words = np.empty((rows, groups), dtype=np.uint32)
    rest = magnitude
    for j in range(groups - 1, -1, -1):
        rest, low = np.divmod(rest, np.uint64(10_000))
        kept = np.clip(count - 4 * (groups - 1 - j), 0, 4)
        words[:, j] = last[low.astype(np.int64) + 10_000 * kept]
    chars = words.view(np.uint8).reshape(rows, -1)
    width = 4 * groups
    if neg.any():
        which = np.flatnonzero(neg)
        chars[which, width - 1 - count[which]] = ord("-")
    return Cells(chars, np.full(rows, width, dtype=np.int64))


# Schubfach (R. Giulietti, "The Schubfach way to render doubles", 2020), as in the
# JDK's DoubleToDecimal: for a double c * 2**q, the decimal of fewest digits that reads
# back as it, the closest to it of those (an even last digit on a tie): what repr gives.
_K_MIN, _K_MAX = -324, 292
_C_MIN = 1 << 52
_Q_MIN = -1074
_MASK32 = np.uint64(0xFFFFFFFF)
_MASK63 = np.uint64((1 << 63) - 1)
_G: tuple[np.ndarray, np.ndarray] | None = None


def _g() -> tuple[np.ndarray, np.ndarray]:
    """The 126-bit ``g = g1 * 2**63 + g0`` of each decimal exponent ``k`` (from ``_K_MIN``):
    ``floor(10**-k * 2**-r) + 1`` with ``r = floor(log2(10**-k)) - 125``."""
    global _G
    if _G is None:
        g1, g0 = [], []
        for k in range(_K_MIN, _K_MAX + 1):
            r = ((-k * 913_124_641_741) >> 38) - 125
            if k <= 0:
                g = (10**-k << -r if r < 0 else 10**-k >> r) + 1
            else:
                g = (1 << -r) // 10**k + 1
            assert 1 << 125 <= g < 1 << 126, k
            g1.append(g >> 63)
            g0.append(g & ((1 << 63) - 1))
        _G = np.array(g1, dtype=np.uint64), np.array(g0, dtype=np.uint64)
    return _G


def _halves(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lower and upper 32 bits of each of ``a`` (``uint64``)."""
    return a & _MASK32, a >> np.uint64(32)


def _mulhi(a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray) -> np.ndarray:
    """The upper 64 bits of the 128-bit products ``a * b`` (``uint64``), from the halves
    of ``a`` and ``b`` (:func:`_halves`); in place where a step makes a new array."""
    p01, p10 = a0 * b1, a1 * b0
    mid = a0 * b0
    mid >>= np.uint64(32)
    mid += p01 & _MASK32
    mid += p10 & _MASK32
    mid >>= np.uint64(32)
    high = a1 * b1
    p01 >>= np.uint64(32)
    p10 >>= np.uint64(32)
    high += p01
    high += p10
    high += mid
    return high


def _rop(low1: np.ndarray, high0: np.ndarray, high1: np.ndarray) -> np.ndarray:
    """``cp * g * 2**-127``, rounded to odd, from the lower 64 bits of ``g1 * cp`` and the
    upper 64 bits of ``g0 * cp`` and of ``g1 * cp``."""
    z = low1 >> np.uint64(1)
    z += high0
    vbp = high1 + (z >> np.uint64(63))
    return (vbp | (((z & _MASK63) + _MASK63) >> np.uint64(63))).astype(np.int64)


def _moved_high(
    high: np.ndarray, low: np.ndarray, a: np.ndarray, s: np.ndarray, sign: int
) -> np.ndarray:
    """The upper 64 bits of ``a * (cp + sign * 2**s)``, from those (``high``) and the lower
    ones (``low``) of ``a * cp``: ``a * 2**s`` is ``a`` shifted, added or taken away with
    its carry, where a product of its own would take four."""
    shifted = a << s
    moved = a >> (np.uint64(64) - s)
    if sign > 0:
        return high + moved + ((low + shifted) < low)
    return high - moved - (low < shifted)


def _shortest(c: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The shortest decimal ``f * 10**e`` of each normal double ``c * 2**q``."""
    out = c & 1
    cb = c << 2
    regular = (c != _C_MIN) | (q == _Q_MIN)
    k = np.where(regular, q * 661_971_961_083, q * 661_971_961_083 - 274_743_187_321) >> 41
    h = q + ((-k * 913_124_641_741) >> 38) + 2
    g1, g0 = (g[k - _K_MIN] for g in _g())
    # cp * g for cp = cb << h, and for the bounds (cb + 2 and cbl, shifted alike) from it:
    # they differ from cp by 2**(h + 1), or 2**h below an irregular one.
    cp = (cb << h).astype(np.uint64)
    cph = _halves(cp)
    low0, low1 = g0 * cp, g1 * cp
    high0, high1 = _mulhi(*_halves(g0), *cph), _mulhi(*_halves(g1), *cph)
    vb = _rop(low1, high0, high1)
    bounds = []
    for sign, by in ((-1, (h + regular).astype(np.uint64)), (1, (h + 1).astype(np.uint64))):
        bounds.append(
            _rop(
                low1 + (g1 << by) if sign > 0 else low1 - (g1 << by),
                _moved_high(high0, low0, g0, by, sign),
                _moved_high(high1, low1, g1, by, sign),
            )
        )
    vbl, vbr = bounds
    s = vb >> 2
    sp10 = s // 10 * 10
    tp10 = sp10 + 10
    upin = vbl + out <= sp10 << 2
    wpin = (tp10 << 2) + out <= vbr
    t = s + 1
    uin = vbl + out <= s << 2
    win = (t << 2) + out <= vbr
    cmp = vb - ((s + t) << 1)
    closer = np.where((cmp < 0) | ((cmp == 0) & ((s & 1) == 0)), s, t)
    f = np.where(uin != win, np.where(uin, s, t), closer)
    f = np.where((s >= 100) & (upin != wpin), np.where(upin, sp10, tp10), f)
    return f, k


_TRAILING: list[np.ndarray] = []


def _trailing_zeros(f: np.ndarray) -> np.ndarray:
    """How many decimal zeros each of ``f`` (``int64``, none 0) ends with."""
    if not _TRAILING:
        i = np.arange(10_000)
        tz = np.zeros(10_000, dtype=np.int64)
        for d in range(1, 4):
            tz += i % 10**d == 0
        tz[0] = 4
        _TRAILING.append(tz)
    table = _TRAILING[0]
    low = f % 10_000
    zeros = table[low]
    more = np.flatnonzero(low == 0)  # four zeros or more: the next four digits
    if len(more):
        zeros[more] += _trailing_zeros(f[more] // 10_000)
    return zeros


_GROUP_TABLES: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []


def _group_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Groups of four bytes, each as one number, looked up by ``value + size * k``
    (made on first use: start-up time):

    * decimals: the first ``k`` (0 to 4) digits of "0000" to "9999", NULs after them;
    * integer part: the last ``k`` (0 to 4) digits of "0000" to "9999", NULs before them;
    * the integer part's last three digits and the point: the last ``k + 1`` (1 to 3)
      digits of "000." to "999." and the point, NULs before them.
    """
    if not _GROUP_TABLES:
        digits = _fours().view(np.uint8).reshape(10_000, 4)
        at = np.arange(4)
        first = np.concatenate([digits * (at < k) for k in range(5)])
        last = np.concatenate([digits * (at >= 4 - k) for k in range(5)])
        three = np.concatenate([digits[:1000, 1:], np.full((1000, 1), ord("."))], axis=1)
        point = np.concatenate([three * (at >= 3 - k) for k in range(1, 4)])

        def words(t: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(t.astype(np.uint8)).view(np.uint32).ravel()

        _GROUP_TABLES.append((words(first), words(last), words(point)))
    return _GROUP_TABLES[0]


def _digit_count(whole: np.ndarray) -> np.ndarray:
    """How many digits each of ``whole`` (``int64``, none negative) has ("0" has one):
    compared with the powers of ten up to the largest's (a search would take more)."""
    count = np.ones(len(whole), dtype=np.int64)
    top = int(whole.max()) if len(whole) else 0
    for p in _POW10_SIGNED[1:]:
        if p > top:
            break
        count += whole >= p
    return count


def _fixed(f: np.ndarray, e: np.ndarray, neg: np.ndarray) -> Cells:
    """The decimals ``f * 10**e`` (``f`` > 0) laid out as ``repr`` lays them out where the
    first digit's decimal exponent is from -4 to 15: ``123.45``, ``100.0``, ``-0.00012``.

    The cells are aligned on their points, not left-aligned: the integer part is written
    right-aligned before a point at the same column in every row, and the decimals
    left-aligned after it, so no row's digits are moved by its own number of digits
    (:func:`joined_rows` drops the NULs around them). Each part is a whole number written
    four digits at a time (the last three of the integer part with the point), looked up
    with the NULs around the digits shown.
    """
    rows = len(f)
    zeros = _trailing_zeros(f)
    f = f // _POW10_SIGNED[zeros]
    e = e + zeros  # f * 10**e, f ending in a digit other than 0
    shown = np.maximum(-e, 1)  # decimals shown: at least one
    down = _POW10_SIGNED[np.clip(-e, 0, 18)]
    whole, part = np.divmod(f, down)  # the decimals as a whole number (0 if there are none)
    whole *= _POW10_SIGNED[np.clip(e, 0, 18)]
    count = _digit_count(whole)
    top = int((count + neg).max()) - 3  # digits (and a sign) before the last three
    groups_int = 1 + (max(top, 0) + 3) // 4
    groups_dec = (int(shown.max()) + 3) // 4
    first, last, point = _group_tables()
    # The groups of four bytes as numbers, one column each.
    words = np.empty((rows, groups_int + groups_dec), dtype=np.uint32)
    upper, low = np.divmod(whole, 1000)
    words[:, groups_int - 1] = point[low + 1000 * (np.minimum(count, 3) - 1)]
    for j in range(groups_int - 2, -1, -1):
        upper, low = np.divmod(upper, 10_000)
        kept = np.clip(count + (4 * j + 5 - 4 * groups_int), 0, 4)
        words[:, j] = last[low + 10_000 * kept]
    # The decimals left-aligned in 4 * groups_dec digits, part * 10**shift, taken as
    # their first four digits and the rest, so that no product reaches 10**19.
    shift = 4 * groups_dec - shown
    rest_digits = 4 * groups_dec - 4
    lead, rest = np.divmod(part, _POW10_SIGNED[np.clip(rest_digits - shift, 0, 18)])
    lead *= _POW10_SIGNED[np.clip(shift - rest_digits, 0, 4)]
    rest *= _POW10_SIGNED[np.minimum(shift, rest_digits)]
    words[:, groups_int] = first[lead + 10_000 * np.minimum(shown, 4)]
    for j in range(groups_dec - 1, 0, -1):
        rest, low = np.divmod(rest, 10_000)
        words[:, groups_int + j] = first[low + 10_000 * np.clip(shown - 4 * j, 0, 4)]
    chars = words.view(np.uint8).reshape(rows, -1)
    at = 4 * groups_int - 1  # the point's column
    if neg.any():
        which = np.flatnonzero(neg)
        chars[which, at - 1 - count[which]] = ord("-")
    return Cells(chars, at + 1 + shown)


def float_cells(values: np.ndarray) -> Cells:
    """Floats as ``repr`` writes them (the shortest text that reads back as the same
    float), byte for byte.

    Numbers from 0.0001 to 1e16 are made here, a column at a time (:func:`_fixed`);
    any other (zeros, exponents, infinities, NaNs, subnormal numbers) by ``repr`` itself.
    """
    x = np.ascontiguousarray(values, dtype=np.float64)
    if not len(x):
        return Cells(np.zeros((0, 1), dtype=np.uint8), np.zeros(0, dtype=np.int64))
    bits = x.view(np.uint64)
    biased = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64)
    normal = (biased > 0) & (biased < 0x7FF)
    c = np.where(normal, (bits & np.uint64(_C_MIN - 1)).astype(np.int64) | _C_MIN, _C_MIN)
    q = np.where(normal, biased - 1075, 0)
    f, e = _shortest(c, q)
    # Whole numbers below 2**53 are their own shortest decimal.
    shift = np.clip(-q, 0, 63)
    whole = (q < 0) & (-q < 53) & ((c >> shift) << shift == c)
    f = np.where(whole, c >> shift, f)
    e = np.where(whole, 0, e)
    point = np.searchsorted(_POW10, f.astype(np.uint64), side="right") + e - 1
    fixed = normal & (point >= -4) & (point < 16)  # the first digit's decimal exponent
    neg = (bits >> np.uint64(63)).astype(bool) & fixed
    cells = _fixed(np.where(fixed, f, 1), np.where(fixed, e, 0), neg)
    other = np.flatnonzero(~fixed)
    if len(other):  # as repr has them
        texts = cell_table([repr(v) for v in x[other].tolist()])
        width = max(cells.chars.shape[1], texts.chars.shape[1])
        chars = np.zeros((len(x), width), dtype=np.uint8)
        chars[:, : cells.chars.shape[1]] = cells.chars
        chars[other] = 0
        chars[other, : texts.chars.shape[1]] = texts.chars
        lengths = cells.lengths.copy()
        lengths[other] = texts.lengths
        cells = Cells(chars, lengths)
    return cells


def joined_rows(columns: Sequence[Cells]) -> bytes:
    """The rows of ``columns`` side by side, as CSV lines: cells separated by commas, each
    row ended by an LF.

    Every cell is NUL-padded to its column's width (no cell holds a NUL,
    :func:`cell_table`): the cells and their separators are laid side by side, padding and
    all, and the padding is dropped from the bytes in one pass.
    """
    if not columns:
        return b""
    rows = len(columns[0].lengths)
    width = sum(c.chars.shape[1] + 1 for c in columns)
    chars = np.empty((rows, width), dtype=np.uint8)
    # Each row's separators put by their offsets in the flat bytes: one index per cell,
    # where a (row, column) pair of indices would be two.
    flat = chars.reshape(-1)
    starts = np.arange(0, rows * width, width)
    at = 0
    for i, c in enumerate(columns):
        w = c.chars.shape[1]
        chars[:, at : at + w] = c.chars
        chars[:, at + w] = 0
        flat[starts + (c.lengths + at)] = ord("\n") if i == len(columns) - 1 else ord(",")
        at += w + 1
    return chars.tobytes().translate(None, b"\0")
