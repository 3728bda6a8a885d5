"""The rows of ``runs.csv`` written by one compiled loop, where the kernels are on.

:func:`sim.tables.float_cells` writes each float as ``repr`` does, with numpy
steps over whole columns: some thirty arrays per column, for the eight float
parameters of a default chunk about 7 ms of its 65 ms of CPU on the compiled
path. Here the same numbers are made value by value in one loop compiled by
numba: the shortest decimal by the very integer steps of
:func:`sim.tables._shortest` (Schubfach, the shortest digits that read back as
the float, the closest of them, an even last digit on a tie), laid out as
``repr`` lays out a float from ``1e-4`` to ``1e16``, and every other value
(zeros, exponents, infinities, NaNs, subnormal numbers) left to ``repr``
itself, as there. :func:`float_cells` gives them as cells, left-aligned among
NULs, which :func:`sim.tables.joined_rows` drops; :func:`rows_text` writes
whole rows (:class:`sim.tables.Column`: whole numbers, floats and looked-up
cells) straight into the bytes of the lines, each cell where it goes, so that no
column's cells are made, laid side by side and stripped of their NULs first
(about 10 ms of CPU for a default chunk of 10,000 worlds, against 15-20 ms for
the cells joined). The bytes are those of :func:`sim.tables.column_cells` joined,
which ``tests/test_cells.py`` checks on random bit patterns and whole numbers,
decimal boundaries and the values of real chunks.

It is used only in a process whose compiled path is on for the scenario
(:func:`sim.engine.kernels.running`): importing numba for this alone would
cost more than it saves, and a process that took the compiled path has the
kernels' helpers loaded already. The loops are one more module of the kernel
cache, named by the hash of its source: ``wargame validate --compile``
compiles them with a scenario's kernels, and a process that runs the kernels
and does not find them compiled compiles them (a few seconds, once per cache
and version of this source).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sim.engine import kernels
from sim.tables import _K_MIN, _POW10, Cells, Column, _g, cell_table

WIDTH = 24
"""The longest ``repr`` of a float64 (``-2.2250738585072014e-308``)."""

SOURCE = """
_C_MIN = np.int64(1 << 52)
_M63 = np.uint64((1 << 63) - 1)
_ONE = np.uint64(1)


@njit(cache=True)
def _hi(a, b):
    m32 = np.uint64(0xFFFFFFFF)
    s32 = np.uint64(32)
    a0, a1, b0, b1 = a & m32, a >> s32, b & m32, b >> s32
    p01, p10 = a0 * b1, a1 * b0
    mid = ((a0 * b0) >> s32) + (p01 & m32) + (p10 & m32)
    return a1 * b1 + (p01 >> s32) + (p10 >> s32) + (mid >> s32)


@njit(cache=True)
def _rop(low1, high0, high1):
    z = (low1 >> _ONE) + high0
    vbp = high1 + (z >> np.uint64(63))
    return np.int64(vbp | (((z & _M63) + _M63) >> np.uint64(63)))


@njit(cache=True)
def _moved(high, low, a, s, up):
    shifted = a << s
    moved = a >> (np.uint64(64) - s)
    if up:
        return high + moved + (_ONE if (low + shifted) < low else np.uint64(0))
    return high - moved - (_ONE if low < shifted else np.uint64(0))


@njit(cache=True)
def _shortest(c, q, g1s, g0s, kmin):
    out = c & 1
    cb = c << 2
    regular = (c != _C_MIN) or (q == -1074)
    k = (q * 661971961083 - (0 if regular else 274743187321)) >> 41
    h = q + ((-k * 913124641741) >> 38) + 2
    g1 = g1s[k - kmin]
    g0 = g0s[k - kmin]
    cp = np.uint64(cb << h)
    low0 = g0 * cp
    low1 = g1 * cp
    high0 = _hi(g0, cp)
    high1 = _hi(g1, cp)
    vb = _rop(low1, high0, high1)
    byl = np.uint64(h + (1 if regular else 0))
    byr = np.uint64(h + 1)
    vbl = _rop(
        low1 - (g1 << byl), _moved(high0, low0, g0, byl, False), _moved(high1, low1, g1, byl, False)
    )
    vbr = _rop(
        low1 + (g1 << byr), _moved(high0, low0, g0, byr, True), _moved(high1, low1, g1, byr, True)
    )
    s = vb >> 2
    sp10 = s // 10 * 10
    tp10 = sp10 + 10
    upin = vbl + out <= (sp10 << 2)
    wpin = (tp10 << 2) + out <= vbr
    t = s + 1
    uin = vbl + out <= (s << 2)
    win = (t << 2) + out <= vbr
    cmp = vb - ((s + t) << 1)
    f = s if (cmp < 0 or (cmp == 0 and (s & 1) == 0)) else t
    if uin != win:
        f = s if uin else t
    if s >= 100 and upin != wpin:
        f = sp10 if upin else tp10
    return f, k


@njit(cache=True)
def _count(v, p10):
    n = 1
    while n < 20 and v >= p10[n]:
        n += 1
    return n


_PAIRS = np.array([[48 + i // 10, 48 + i % 10] for i in range(100)], dtype=np.uint8)


@njit(cache=True)
def _put(row, at, v, n):
    # the n decimal digits of v (zeros first where it has fewer), from row[at] on, two at a
    # time (each division waits for the one before: half as many of them)
    hundred = np.uint64(100)
    j = at + n - 2
    while j >= at:
        d = v // hundred
        r = v - d * hundred
        row[j] = _PAIRS[r, 0]
        row[j + 1] = _PAIRS[r, 1]
        v = d
        j -= 2
    if j == at - 1:
        row[at] = np.uint8(48 + v % np.uint64(10))
    return at + n


@njit(cache=True)
def _float_at(buf, at, b, g1s, g0s, kmin, p10):
    # repr's text of the float of bits b from buf[at] on, and where it ends; -1 (nothing
    # written) where repr writes it otherwise than from 1e-4 to 1e16
    ten = np.uint64(10)
    biased = np.int64((b >> np.uint64(52)) & np.uint64(0x7FF))
    if biased == 0 or biased == 0x7FF:
        return -1
    c = np.int64(b & np.uint64((1 << 52) - 1)) | _C_MIN
    q = biased - 1075
    f, e = _shortest(c, q, g1s, g0s, kmin)
    if q < 0 and -q < 53 and (c >> -q) << -q == c:
        f = c >> -q
        e = 0
    u = np.uint64(f)
    point = _count(u, p10) + e - 1
    if point < -4 or point >= 16:
        return -1
    d = u // ten
    while u == d * ten:
        u = d
        d = u // ten
        e += 1
    if b >> np.uint64(63):
        buf[at] = 45
        at += 1
    if e >= 0:
        at = _put(buf, at, u, _count(u, p10))
        for j in range(e):
            buf[at + j] = 48
        at += e
        buf[at] = 46
        buf[at + 1] = 48
        at += 2
    else:
        shown = -e
        whole = np.uint64(0)
        part = u
        if shown < 20:
            whole = u // p10[shown]
            part = u - whole * p10[shown]
        at = _put(buf, at, whole, _count(whole, p10))
        buf[at] = 46
        at = _put(buf, at + 1, part, shown)
    return at


@njit(cache=True)
def _float_cells(x, g1s, g0s, kmin, p10, chars, lengths, other):
    bits = x.view(np.uint64)
    n_other = 0
    for i in range(x.shape[0]):
        at = _float_at(chars[i], 0, bits[i], g1s, g0s, kmin, p10)
        if at < 0:
            other[n_other] = i
            n_other += 1
        else:
            lengths[i] = at
    return n_other


@njit(cache=True)
def _int_at(buf, at, v, p10):
    # str's text of the whole number v from buf[at] on, and where it ends
    if v < 0:
        buf[at] = 45
        at += 1
        u = np.uint64(-(v + 1)) + _ONE
    else:
        u = np.uint64(v)
    return _put(buf, at, u, _count(u, p10))


@njit(cache=True)
def _rows(n, ints, codes, fbits, oidx, ochars, olen, kinds, which, tchars, toff, twidth, tlen,
          tloff, g1s, g0s, kmin, p10, out):
    # the rows of the columns (kind 0: whole numbers, row which[c] of ints; 1: cells of
    # table which[c] looked up by codes; 2: floats, row which[c] of fbits, or where
    # oidx >= 0 the text of that row of ochars), each cell followed by a comma, each row's
    # last by a line feed; the bytes written, or -1 where a float is none of repr's fixed
    # ones and has no text (nothing to be trusted written then)
    k = 0
    ncol = kinds.shape[0]
    for i in range(n):
        for c in range(ncol):
            kind = kinds[c]
            w = which[c]
            if kind == 0:
                k = _int_at(out, k, ints[w, i], p10)
            elif kind == 1:
                code = codes[w, i]
                base = toff[w] + code * twidth[w]
                size = tlen[tloff[w] + code]
                for j in range(size):
                    out[k + j] = tchars[base + j]
                k += size
            else:
                o = oidx[w, i]
                if o >= 0:
                    for j in range(olen[o]):
                        out[k + j] = ochars[o, j]
                    k += olen[o]
                else:
                    k = _float_at(out, k, fbits[w, i], g1s, g0s, kmin, p10)
                    if k < 0:
                        return -1
            out[k] = 44 if c < ncol - 1 else 10
            k += 1
    return k
"""
"""The loop (numba source, in a module that imports the kernels' helpers)."""


def float_cells(values: np.ndarray) -> Cells | None:
    """:func:`sim.tables.float_cells` of ``values`` by the compiled loop, byte for byte;
    None where the loop cannot be had (then the caller takes the numpy steps)."""
    mod = _module()
    if mod is None:
        return None
    x = np.ascontiguousarray(values, dtype=np.float64)
    n = len(x)
    chars = np.zeros((n, WIDTH), dtype=np.uint8)
    lengths = np.zeros(n, dtype=np.int64)
    other = np.empty(n, dtype=np.int64)
    g1, g0 = _g()
    try:
        count = mod._float_cells(x, g1, g0, _K_MIN, _POW10, chars, lengths, other)
    except Exception:  # a compilation failure: the numpy steps from now on
        _found[:] = [None]
        return None
    if count:
        which = other[:count]
        texts = cell_table([repr(v) for v in x[which].tolist()])
        width = texts.chars.shape[1]
        chars[which] = 0
        chars[which, :width] = texts.chars
        lengths[which] = texts.lengths
    used = int(lengths.max()) if n else 1
    return Cells(chars[:, : max(used, 1)], lengths)


def rows_text(columns: Sequence[Column]) -> bytes | None:
    """:func:`sim.tables.joined_rows` of :func:`sim.tables.column_cells` of ``columns``, byte
    for byte, by one compiled loop that writes each cell where it goes in its row, without
    the cells of each column made first; None where the loop cannot be had (then the
    caller makes the cells). A float ``repr`` writes with an exponent, a zero, an
    infinity or a NaN gets ``repr``'s own text, made here beforehand (few of a chunk's)."""
    mod = _module()
    if mod is None or not columns:
        return None
    n = len(columns[0].values)
    kinds = np.array([_KINDS[c.kind] for c in columns], dtype=np.int64)
    which = np.zeros(len(columns), dtype=np.int64)
    seen = [0, 0, 0]
    for c, kind in enumerate(kinds.tolist()):
        which[c], seen[kind] = seen[kind], seen[kind] + 1
    ints = _rows_of([c.values for c in columns if c.kind == "int"], np.int64, n)
    looked = [c for c in columns if c.kind == "looked up"]
    codes = _rows_of([c.values for c in looked], np.int64, n)
    kept = [c.values for c in columns if c.kind == "float"]
    floats = _rows_of(kept, np.float64, n) if kept else np.ones((1, n))
    magnitude = np.abs(floats)
    fixed = (magnitude >= 1e-4) & (magnitude < 1e16)  # NaN is neither
    oidx = np.full(floats.shape, -1, dtype=np.int64)
    where = np.flatnonzero(~fixed)
    oidx.reshape(-1)[where] = np.arange(len(where))
    texts = cell_table([repr(v) for v in floats.reshape(-1)[where].tolist()] or [""])
    tables = [c.table for c in looked if c.table is not None]
    if len(tables) != len(looked) or any(
        len(c.values) and (c.values.min() < 0 or c.values.max() >= len(t.lengths))
        for c, t in zip(looked, tables, strict=True)
    ):
        return None  # (a numpy index would wrap or fail; the loop reads no bounds)
    tchars = np.concatenate([t.chars.reshape(-1) for t in tables]) if tables else _NO_CHARS
    twidth = np.array([t.chars.shape[1] for t in tables], dtype=np.int64)
    toff = np.cumsum([0, *(t.chars.size for t in tables)])[:-1].astype(np.int64)
    tlen = np.concatenate([t.lengths for t in tables]).astype(np.int64) if tables else _NO_INTS
    tloff = np.cumsum([0, *(len(t.lengths) for t in tables)])[:-1].astype(np.int64)
    widest = {0: 20, 1: 0, 2: max(WIDTH, texts.chars.shape[1])}
    width = sum(widest[k] for k in kinds.tolist()) + int(twidth.sum()) + len(columns)
    out = np.empty(n * width, dtype=np.uint8)
    g1, g0 = _g()
    try:
        size = mod._rows(
            n, ints, codes, floats.view(np.uint64), oidx, texts.chars, texts.lengths,
            kinds, which, tchars, toff, twidth, tlen, tloff, g1, g0, _K_MIN, _POW10, out,
        )  # fmt: skip
    except Exception:  # a compilation failure: the cells, as without the loop
        return None
    return None if size < 0 else out[:size].tobytes()


def compile_rows() -> None:
    """Compile :func:`rows_text`'s loop into the kernel cache (``wargame validate --compile``),
    on a row of every kind of column."""
    rows_text(
        [
            Column("int", np.array([-1])),
            Column("looked up", np.array([0]), cell_table(["a"])),
            Column("float", np.array([0.5])),
        ]
    )


_KINDS = {"int": 0, "looked up": 1, "float": 2}
"""Each kind of :class:`~sim.tables.Column` as the loop knows it."""
_NO_CHARS = np.zeros(1, dtype=np.uint8)
_NO_INTS = np.zeros(1, dtype=np.int64)


def _rows_of(values: list[np.ndarray], dtype: type, n: int) -> np.ndarray:
    """``values`` as the rows of one array of ``dtype`` (one row of zeros if there are none:
    the loop is compiled for arrays of two dimensions)."""
    if not values:
        return np.zeros((1, n), dtype=dtype)
    return np.ascontiguousarray(np.stack(values), dtype=dtype)


_found: list[Any] = []  # the module once looked for (None: it cannot be had)


def _module() -> Any:
    """The compiled loop's module (generated into the kernel cache, looked for once per
    process), or None."""
    if not _found:
        _found.append(kernels.module(kernels.header() + SOURCE, "c"))
    return _found[0]
