"""The float cells of ``runs.csv`` made by one compiled loop, where the kernels are on.

:func:`sim.tables.float_cells` writes each float as ``repr`` does, with numpy
steps over whole columns: some thirty arrays per column, for the eight float
parameters of a default chunk about 7 ms of its 65 ms of CPU on the compiled
path. Here the same numbers are made value by value in one loop compiled by
numba: the shortest decimal by the very integer steps of
:func:`sim.tables._shortest` (Schubfach, the shortest digits that read back as
the float, the closest of them, an even last digit on a tie), laid out as
``repr`` lays out a float from ``1e-4`` to ``1e16``, and every other value
(zeros, exponents, infinities, NaNs, subnormal numbers) left to ``repr``
itself, as there. Cells are left-aligned among NULs, which
:func:`sim.tables.joined_rows` drops: the bytes of a table are those of
:func:`sim.tables.float_cells`, which ``tests/test_cells.py`` checks on random
bit patterns, decimal boundaries and the values of real chunks.

It is used only in a process whose compiled path is on for the scenario
(:func:`sim.engine.kernels.running`): importing numba for this alone would
cost more than it saves, and a process that took the compiled path has the
kernels' helpers loaded already. The loop is one more module of the kernel
cache, named by the hash of its source: ``wargame validate --compile``
compiles it with a scenario's kernels, and a process that runs the kernels
and does not find it compiled compiles it (about 2 s, once per cache and
version of this source).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.engine import kernels
from sim.tables import _K_MIN, _POW10, Cells, _g, cell_table

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


@njit(cache=True)
def _put(row, at, v, n):
    # the n decimal digits of v (zeros first where it has fewer), from row[at] on
    ten = np.uint64(10)
    for j in range(at + n - 1, at - 1, -1):
        d = v // ten
        row[j] = np.uint8(48 + (v - d * ten))
        v = d
    return at + n


@njit(cache=True)
def _float_cells(x, g1s, g0s, kmin, p10, chars, lengths, other):
    bits = x.view(np.uint64)
    n_other = 0
    ten = np.uint64(10)
    for i in range(x.shape[0]):
        b = bits[i]
        biased = np.int64((b >> np.uint64(52)) & np.uint64(0x7FF))
        if biased == 0 or biased == 0x7FF:
            other[n_other] = i
            n_other += 1
            continue
        c = np.int64(b & np.uint64((1 << 52) - 1)) | _C_MIN
        q = biased - 1075
        f, e = _shortest(c, q, g1s, g0s, kmin)
        if q < 0 and -q < 53 and (c >> -q) << -q == c:
            f = c >> -q
            e = 0
        u = np.uint64(f)
        point = _count(u, p10) + e - 1
        if point < -4 or point >= 16:
            other[n_other] = i
            n_other += 1
            continue
        d = u // ten
        while u == d * ten:
            u = d
            d = u // ten
            e += 1
        row = chars[i]
        at = 0
        if b >> np.uint64(63):
            row[0] = 45
            at = 1
        if e >= 0:
            at = _put(row, at, u, _count(u, p10))
            for j in range(e):
                row[at + j] = 48
            at += e
            row[at] = 46
            row[at + 1] = 48
            at += 2
        else:
            shown = -e
            whole = np.uint64(0)
            part = u
            if shown < 20:
                whole = u // p10[shown]
                part = u - whole * p10[shown]
            at = _put(row, at, whole, _count(whole, p10))
            row[at] = 46
            at = _put(row, at + 1, part, shown)
        lengths[i] = at
    return n_other
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


_found: list[Any] = []  # the module once looked for (None: it cannot be had)


def _module() -> Any:
    """The compiled loop's module (generated into the kernel cache, looked for once per
    process), or None."""
    if not _found:
        _found.append(kernels.module(kernels.header() + SOURCE, "c"))
    return _found[0]
