"""Uniform draws of a PCG64 stream at fixed places, for the compiled kernels.

The numpy path takes an actor's uniforms for the day as the rows of one
block ``rng.random((rows, R))``, drawing a row only where some world needs
it and jumping over the others (:class:`~sim.engine.draws.LazyUniforms`), so
the number world ``i`` reads in row ``k`` is always the one at place
``k * R + i`` of the block, whether or not any other row or world was drawn.
A kernel can therefore compute that number itself, for the worlds that read
it only, and leave the stream where drawing the whole block would have: no
first pass to find which rows are needed, no row drawn in Python.

PCG64 (NumPy's default bit generator, the one ``Generator.spawn`` keeps)
is a 128-bit linear congruential generator ``s -> A s + c (mod 2**128)``
whose output is the XSL-RR permutation of the new state, and a double is
the output's top 53 bits times ``2**-53`` (what ``Generator.random`` does).
``n`` steps from ``s`` give ``A**n s + G(n) c`` with ``G(n) = 1 + A + ... +
A**(n-1)``, so with a table of ``(A**(i+1), G(i+1))`` for the ``R`` places
of a row (:func:`table`, once per chunk size) the number at ``(k, i)`` is
one affine step from the state at the row's start: two 128-bit products and
a sum, 128-bit arithmetic being LLVM's own (an intrinsic), not emulated. A
loop that reads a row in nearly every world (the softmax's) steps through it
instead, ``s -> A s + c`` once a world (``_step``, one product and no table),
and makes the same double of each state (``_double``).

``R`` is the width of the chunk. A state that holds only some of its chunk's
worlds (a part, from ``offset``) reads from the stream moved on by ``offset``
places (:func:`advanced`), so its world ``i`` reads place ``offset + i``.

:data:`SOURCE` is compiled into the kernels' helper module
(:func:`sim.engine.kernels.helpers`); ``tests/test_pcg.py`` compares every
helper with numpy's own stream.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import numpy as np

MULTIPLIER = (2549297995355413924 << 64) + 4865540595714422341
"""PCG64's 128-bit multiplier ``A`` (``PCG_DEFAULT_MULTIPLIER_128``)."""

_WORD = (1 << 64) - 1

SOURCE = '''
from llvmlite import ir as _ir
from numba import types as _types
from numba.extending import intrinsic as _intrinsic


@_intrinsic
def _mul128(typingctx, ah, al, bh, bl):
    """``(ah:al) * (bh:bl) mod 2**128`` as ``(hi, lo)``, in LLVM's 128-bit integers."""
    u64 = _types.uint64
    sig = _types.UniTuple(u64, 2)(u64, u64, u64, u64)

    def codegen(context, builder, signature, args):
        i64, i128 = _ir.IntType(64), _ir.IntType(128)
        s64 = _ir.Constant(i128, 64)

        def wide(h, lo):
            return builder.or_(builder.shl(builder.zext(h, i128), s64), builder.zext(lo, i128))

        p = builder.mul(wide(args[0], args[1]), wide(args[2], args[3]))
        hi = builder.trunc(builder.lshr(p, s64), i64)
        return context.make_tuple(builder, signature.return_type, [hi, builder.trunc(p, i64)])

    return sig, codegen


@njit(cache=True)
def _affine(bh, bl, ah, al, gh, gl, ch, cl):
    """``A b + G c mod 2**128`` as ``(hi, lo)``."""
    xh, xl = _mul128(ah, al, bh, bl)
    yh, yl = _mul128(gh, gl, ch, cl)
    lo = xl + yl
    return xh + yh + np.uint64(lo < xl), lo


_MH = np.uint64(2549297995355413924)  # MULTIPLIER (A), its high and low words
_ML = np.uint64(4865540595714422341)


@njit(cache=True)
def _pcg_table(R, out):
    """``out[i] = (A**(i+1), G(i+1))`` as four words, for ``i < R``."""
    mh, ml = _MH, _ML
    ah, al, gh, gl = mh, ml, np.uint64(0), np.uint64(1)
    for i in range(R):
        out[i, 0] = ah
        out[i, 1] = al
        out[i, 2] = gh
        out[i, 3] = gl
        ah, al = _mul128(ah, al, mh, ml)
        xh, xl = _mul128(gh, gl, mh, ml)
        lo = xl + np.uint64(1)
        gh, gl = xh + np.uint64(lo < xl), lo


@njit(cache=True)
def _pcg_rows(st, tab, R, rows):
    """The state at the start of each of ``rows`` rows of ``R`` places from ``st``
    (the stream's state and increment, four words), as ``(rows, 2)`` words."""
    out = np.empty((rows, 2), dtype=np.uint64)
    bh, bl = st[0], st[1]
    j = R - 1  # R steps: from a row's start to the next one's
    for k in range(rows):
        out[k, 0] = bh
        out[k, 1] = bl
        bh, bl = _affine(bh, bl, tab[j, 0], tab[j, 1], tab[j, 2], tab[j, 3], st[2], st[3])
    return out


@njit(cache=True)
def _pcg_blocks(st, tab, bw, rows):
    """:func:`_pcg_rows` for each stream ``b`` of ``st`` (``(B, 4)`` words) with rows of
    ``bw[b]`` places, as ``(B, rows, 2)`` words."""
    out = np.empty((st.shape[0], rows, 2), dtype=np.uint64)
    for b in range(st.shape[0]):
        bh, bl = st[b, 0], st[b, 1]
        j = bw[b] - 1
        for k in range(rows):
            out[b, k, 0] = bh
            out[b, k, 1] = bl
            bh, bl = _affine(bh, bl, tab[j, 0], tab[j, 1], tab[j, 2], tab[j, 3], st[b, 2], st[b, 3])
    return out


@njit(cache=True)
def _double(h, lo):
    """The double ``Generator.random`` makes of the state ``(h, lo)``: XSL-RR, top 53 bits."""
    x = h ^ lo
    r = h >> np.uint64(58)
    v = (x >> r) | (x << ((np.uint64(64) - r) & np.uint64(63)))
    return float(v >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _uniform(ub, k, tab, i, st):
    """The uniform at place ``i`` of row ``k`` (``ub``: the rows' starts, :func:`_pcg_rows`)."""
    h, lo = _affine(ub[k, 0], ub[k, 1], tab[i, 0], tab[i, 1], tab[i, 2], tab[i, 3], st[2], st[3])
    return _double(h, lo)


@njit(cache=True)
def _uniform_in(ub, b, k, tab, j, st):
    """The uniform at place ``j`` of row ``k`` of stream ``b`` (``ub``: :func:`_pcg_blocks`)."""
    h, lo = _affine(
        ub[b, k, 0], ub[b, k, 1], tab[j, 0], tab[j, 1], tab[j, 2], tab[j, 3], st[b, 2], st[b, 3]
    )
    return _double(h, lo)


@njit(cache=True)
def _step_in(h, lo, st, b):
    """:func:`_step` in stream ``b`` of ``st`` (``(B, 4)`` words)."""
    return _affine(h, lo, _MH, _ML, np.uint64(0), np.uint64(1), st[b, 2], st[b, 3])


@njit(cache=True)
def _step(h, lo, st):
    """The state one place on from ``(h, lo)``: ``A s + c``. A loop that reads a row's
    uniform in most of its worlds steps it once per world (one product, no table) and
    reads it as ``_double`` of the state, the same number as ``_uniform`` there."""
    return _affine(h, lo, _MH, _ML, np.uint64(0), np.uint64(1), st[2], st[3])
'''
"""The compiled helpers (numba source, put into the kernels' helper module)."""

NAMES = (
    "_pcg_table",
    "_pcg_rows",
    "_pcg_blocks",
    "_uniform",
    "_uniform_in",
    "_step",
    "_step_in",
    "_double",
)
"""The helpers a kernel module imports."""


def usable(rng: np.random.Generator) -> bool:
    """Whether ``rng``'s numbers can be had at fixed places (its bit generator is PCG64)."""
    return type(rng.bit_generator) is np.random.PCG64


def words(rng: np.random.Generator) -> np.ndarray:
    """``rng``'s state and increment as four 64-bit words (high, low, high, low).

    Read straight from the bit generator's memory where that was found to hold them
    (:func:`_memory`): a kernel reads them once per actor and day, and the ``state``
    property builds a dictionary of Python integers each time (some 1.7 us against
    0.2 us)."""
    bg = rng.bit_generator
    got = _views.get(id(bg))
    if got is None or got[0] is not bg:
        got = _memory(bg)
    view = got[1]
    return _slow(bg) if view is None else view[_ORDER]


def _slow(bg: Any) -> np.ndarray:
    s = bg.state["state"]
    state, inc = s["state"], s["inc"]
    return np.array([state >> 64, state & _WORD, inc >> 64, inc & _WORD], dtype=np.uint64)


def _memory(bg: Any) -> tuple[Any, np.ndarray | None]:
    """``bg`` with a view of the four words of its state and increment as numpy keeps
    them (the ``pcg64_random_t`` its state struct points to: two 128-bit integers, the low
    word first on a little-endian processor), checked once against the ``state``
    property, or None where what is there is not what the ``state``
    property says (another layout): then the property is read each time. Kept for a
    few dozen bit generators (five streams per chunk are read), the oldest dropped;
    holding the bit generator keeps the memory viewed alive."""
    view: np.ndarray | None = None
    try:
        at = ctypes.c_void_p.from_address(bg.ctypes.state_address).value
        if at:
            view = np.ctypeslib.as_array((ctypes.c_uint64 * 4).from_address(at))
            if not np.array_equal(view[_ORDER], _slow(bg)):
                view = None
    except (AttributeError, TypeError, ValueError):
        view = None
    got = (bg, view)
    with _lock:
        while len(_views) >= 64:
            del _views[next(iter(_views))]
        _views[id(bg)] = got
    return got


_ORDER = np.array([1, 0, 3, 2])
"""Where :func:`words` finds the high and low words of state and increment in memory."""
_views: dict[int, tuple[Any, np.ndarray | None]] = {}
_lock = threading.Lock()


def advanced(st: np.ndarray, tab: np.ndarray, n: int) -> np.ndarray:
    """The four words ``st`` (state and increment) with the state moved on ``n`` places
    (``0 < n <= len(tab)``), by one affine step of the table: ``A**n s + G(n) c``."""
    a = (int(tab[n - 1, 0]) << 64) | int(tab[n - 1, 1])
    g = (int(tab[n - 1, 2]) << 64) | int(tab[n - 1, 3])
    s = (int(st[0]) << 64) | int(st[1])
    c = (int(st[2]) << 64) | int(st[3])
    x = (a * s + g * c) & ((1 << 128) - 1)
    return np.array([x >> 64, x & _WORD, st[2], st[3]], dtype=np.uint64)


def table(helpers: Any, R: int) -> np.ndarray:
    """The read-only table of :data:`SOURCE`'s ``_pcg_table`` for rows of ``R`` places
    (made once per ``R`` in a process; 32 bytes a place)."""
    got = _tables.get(R)
    if got is None:
        got = np.empty((R, 4), dtype=np.uint64)
        helpers._pcg_table(R, got)
        got.flags.writeable = False
        if len(_tables) >= 8:  # a few chunk sizes at once at most; drop the oldest
            del _tables[next(iter(_tables))]
        _tables[R] = got
    return got


_tables: dict[int, np.ndarray] = {}
