"""numpy's own ``exp``, ``log`` and ``power``, called from the compiled kernels.

numpy does not compute ``exp``, ``log`` or ``power`` of float64 with the C
library everywhere: on processors with AVX-512 its wheels for Linux call
Intel's SVML, whose results differ from the C library's in the last bit for
some arguments (about one ``exp`` in twenty, in the probe of
:func:`sim.engine.kernels.agrees_with_numpy`), and other builds may have other
loops. A kernel that called the C library there would not give the numpy
path's results, and the compiled path could not be used at all.

So the kernels call numpy's inner loop itself, the very function a ufunc call
on an array runs for each element, on one element at a time: numpy's loops
compute each element on its own (a SIMD lane does not look at its
neighbours), so the number a kernel gets for ``x`` is the one the numpy path
gets for ``x`` in any array, whatever the processor and the numpy build.

The loop is found in the ufunc object (``PyUFuncObject``, numpy's public C
structure): its table of loops, checked field by field against what the ufunc
says of itself from Python (the number of inputs, outputs and loops, the name,
every loop's types), so a layout that is not the expected one is never read
as if it were. The loop's address is given to LLVM under a fixed symbol name
(:data:`SYMBOLS`) before any kernel is compiled or loaded from numba's cache,
and the kernels' machine code calls that symbol, so a kernel cached by one
process runs in the next, where numpy lies elsewhere in memory. Where a loop
cannot be found, :func:`register` says so and the caller keeps the numpy
path.

One call of numpy's loop on one element costs some tens of nanoseconds, far
more than the arithmetic around it, so a loop whose arguments take few values
across the worlds (the outlook kernel's) keeps what it got in a row per call site
(``_kept``, ``_keep``; ``_exp_kept`` for ``exp``) and takes the value again where
the site saw the argument among its last few.
"""

from __future__ import annotations

import ctypes

import numpy as np

SYMBOLS = {
    "wargame_numpy_exp_d": (np.exp, "d->d"),
    "wargame_numpy_log_d": (np.log, "d->d"),
    "wargame_numpy_power_dd": (np.power, "dd->d"),
}
"""The symbol each loop is known by in the kernels' machine code: its ufunc and types."""

KEPT = 8
"""How many values a row of ``_kept`` and ``_keep`` holds besides the last (it is
``2 + 2 * KEPT + 1`` wide: :func:`kept_rows` makes such rows): the outlook kernel's
exps (``_exp_kept``) and the powers of its chances (:mod:`sim.engine.outlook`)."""

SOURCE = '''
from llvmlite import ir as _ir
from numba import types as _types
from numba.core import cgutils as _cgutils
from numba.extending import intrinsic as _intrinsic


def _call_loop(builder, symbol, pointers, n):
    """Call numpy's inner loop ``symbol`` as numpy calls it: ``args`` the ``pointers``
    (the inputs', then the output's), ``dimensions`` the count ``n``, ``steps`` of 8
    bytes (contiguous float64), no data."""
    i64 = _ir.IntType(64)
    i8p = _ir.IntType(8).as_pointer()
    fnty = _ir.FunctionType(
        _ir.VoidType(), [i8p.as_pointer(), i64.as_pointer(), i64.as_pointer(), i8p]
    )
    fn = _cgutils.get_or_insert_function(builder.module, fnty, symbol)
    argv = _cgutils.alloca_once(builder, i8p, size=len(pointers))
    steps = _cgutils.alloca_once(builder, i64, size=len(pointers))
    for k, ptr in enumerate(pointers):
        at = _ir.Constant(i64, k)
        builder.store(builder.bitcast(ptr, i8p), builder.gep(argv, [at]))
        builder.store(_ir.Constant(i64, 8), builder.gep(steps, [at]))
    dims = _cgutils.alloca_once_value(builder, n)
    builder.call(fn, [argv, dims, steps, _ir.Constant(i8p, None)])


def _numpy_loop(symbol, nin):
    """An intrinsic that runs numpy's inner loop ``symbol`` on one element: ``nin``
    float64 inputs and one output, each in a cell of the stack."""

    def codegen(context, builder, signature, args):
        cells = [_cgutils.alloca_once_value(builder, a) for a in args]
        cells.append(_cgutils.alloca_once(builder, _ir.DoubleType()))
        _call_loop(builder, symbol, cells, _ir.Constant(_ir.IntType(64), 1))
        return builder.load(cells[-1])

    if nin == 1:

        @_intrinsic
        def call1(typingctx, x):
            return _types.float64(_types.float64), codegen

        return call1

    @_intrinsic
    def call2(typingctx, x, y):
        return _types.float64(_types.float64, _types.float64), codegen

    return call2


def _numpy_loop_over(symbol):
    """An intrinsic that runs numpy's inner loop ``symbol`` (one input) over the first
    ``n`` elements of a contiguous float64 array into another, as numpy does for an
    array: the numbers are those of one element at a time, in a single call."""

    def codegen(context, builder, signature, args):
        src = context.make_array(signature.args[0])(context, builder, args[0])
        dst = context.make_array(signature.args[1])(context, builder, args[1])
        _call_loop(builder, symbol, [src.data, dst.data], args[2])
        return context.get_dummy_value()

    @_intrinsic
    def call_over(typingctx, src, dst, n):
        for a in (src, dst):
            if not (isinstance(a, _types.Array) and a.dtype == _types.float64):
                return None
            if a.ndim != 1 or a.layout != "C":
                return None
        return _types.void(src, dst, _types.int64), codegen

    return call_over


_exp_loop = _numpy_loop("wargame_numpy_exp_d", 1)
_exp_over = _numpy_loop_over("wargame_numpy_exp_d")
_log_loop = _numpy_loop("wargame_numpy_log_d", 1)
_power_loop = _numpy_loop("wargame_numpy_power_dd", 2)


@njit(cache=True)
def _npexp(x):
    """numpy's ``exp`` of ``x``, to the bit."""
    return _exp_loop(float(x))


@njit(cache=True)
def _npexp_into(src, dst, n):
    """``dst[:n] = exp(src[:n])``, numpy's ``exp`` in one call of its loop (``n`` at
    most the arrays' length, so nothing outside them is read or written)."""
    if n > 0:
        _exp_over(src, dst, min(n, src.shape[0], dst.shape[0]))


@njit(cache=True)
def _nplog(x):
    """numpy's ``log`` of ``x``, to the bit."""
    return _log_loop(float(x))


@njit(cache=True)
def _nppow(x, e):
    """numpy's ``power`` of ``x`` and ``e``, to the bit."""
    return _power_loop(float(x), float(e))


@njit(cache=True)
def _kept(ek, s, x):
    """Whether row ``s`` of ``ek`` holds a value for ``x`` (then in ``ek[s, 1]``): ``x``
    is the last argument kept there (``ek[s, 0]``) or one of the KEPT before it
    (``ek[s, 2:2+KEPT]``, their values after them, written round in turn, ``ek[s, -1]``
    counting them), which is made the last. A row starts as nan, which no ``x`` equals,
    and its count as 0."""
    if x == ek[s, 0]:
        return True
    w = 0
    while w < KEPT and not (x == ek[s, 2 + w]):
        w += 1
    if w == KEPT:
        return False
    ek[s, 0] = x
    ek[s, 1] = ek[s, 2 + KEPT + w]
    return True


@njit(cache=True)
def _keep(ek, s, x, y):
    """Keep ``y`` as the value of ``x`` in row ``s`` of ``ek`` (see ``_kept``); gives ``y``."""
    w = int(ek[s, 2 + 2 * KEPT]) % KEPT
    ek[s, 2 + 2 * KEPT] += 1.0
    ek[s, 2 + w] = x
    ek[s, 2 + KEPT + w] = y
    ek[s, 0] = x
    ek[s, 1] = y
    return y


@njit(cache=True)
def _exp_kept(ek, s, clip, x):
    """``_exp(x)`` where ``clip``, else ``_npexp(x)``, taken again from row ``s`` of ``ek``
    where ``x`` was seen there before (``_kept``)."""
    if _kept(ek, s, x):
        return ek[s, 1]
    return _keep(ek, s, x, _exp(x) if clip else _npexp(x))
'''.replace("KEPT", str(KEPT))
"""The compiled helpers (numba source, put into the kernels' helper module)."""


def kept_rows(n: int) -> np.ndarray:
    """``n`` empty rows for ``_kept`` and ``_keep``: nan everywhere (no ``x`` equals it),
    counts 0."""
    rows = np.empty((max(n, 1), 3 + 2 * KEPT))
    rows.fill(np.nan)  # np.full, without its Python layer
    rows[:, -1] = 0.0
    return rows


NAMES = ("_npexp", "_npexp_into", "_nplog", "_nppow", "_kept", "_keep", "_exp_kept")
"""The helpers a kernel module imports."""


class _UFunc(ctypes.Structure):
    """The head of numpy's ``PyUFuncObject`` (``numpy/ufuncobject.h``), up to ``types``."""

    _fields_ = [
        ("ob_refcnt", ctypes.c_ssize_t),
        ("ob_type", ctypes.c_void_p),
        ("nin", ctypes.c_int),
        ("nout", ctypes.c_int),
        ("nargs", ctypes.c_int),
        ("identity", ctypes.c_int),
        ("functions", ctypes.POINTER(ctypes.c_void_p)),
        ("data", ctypes.POINTER(ctypes.c_void_p)),
        ("ntypes", ctypes.c_int),
        ("reserved1", ctypes.c_int),
        ("name", ctypes.c_char_p),
        ("types", ctypes.c_void_p),
    ]


def loop(ufunc: np.ufunc, types: str) -> tuple[int, int]:
    """The address of ``ufunc``'s inner loop for ``types`` (e.g. ``"d->d"``) and of its data.

    Raises:
        LookupError: the structure is not laid out as expected, or has no such loop.
    """
    head = _UFunc.from_address(id(ufunc))
    seen = (head.nin, head.nout, head.nargs, head.ntypes, head.name)
    said = (ufunc.nin, ufunc.nout, ufunc.nargs, ufunc.ntypes, ufunc.__name__.encode())
    if seen != said or not head.types or not head.functions:
        raise LookupError(f"numpy's {ufunc.__name__} is not laid out as expected")
    nums = ctypes.string_at(head.types, ufunc.ntypes * ufunc.nargs)
    for k, sig in enumerate(ufunc.types):
        codes = sig.replace("->", "")
        want = bytes(np.dtype(c).num for c in codes)
        if nums[k * ufunc.nargs : (k + 1) * ufunc.nargs] != want:
            raise LookupError(f"numpy's {ufunc.__name__} loop {sig} is not where expected")
        if sig == types:
            fn = head.functions[k]
            data = head.data[k] if head.data else None
            if not fn:
                break
            return int(fn), int(data or 0)
    raise LookupError(f"numpy's {ufunc.__name__} has no loop {types}")


_registered: list[bool] = []


def register() -> bool:
    """Give LLVM the address of each loop of :data:`SYMBOLS` (once per process, before
    any kernel is compiled or loaded); False where one cannot be had (a loop not
    found, one that needs its data pointer, no llvmlite), and then no kernel runs."""
    if not _registered:
        _registered.append(_register())
    return _registered[0]


def _register() -> bool:
    try:
        from llvmlite import binding
    except ImportError:
        return False
    found: dict[str, int] = {}
    for symbol, (ufunc, types) in SYMBOLS.items():
        try:
            fn, data = loop(ufunc, types)
        except (LookupError, ValueError, TypeError):
            return False
        if data:  # a generic loop that calls the function its data names: not ours
            return False
        found[symbol] = fn
    for symbol, fn in found.items():
        binding.add_symbol(symbol, fn)
    return True
