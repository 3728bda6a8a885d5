"""Expressions as scalar source: one world's computation, for generated kernels.

Every compiled :class:`~sim.expr.Expr` carries, besides the closures that
compute it for all worlds at once, its ``code``: the same computation for one
world, written as Python on scalars, with each name it reads between
:data:`~sim.expr.nodes.NAME_OPEN` and :data:`~sim.expr.nodes.NAME_CLOSE`.
A kernel generator (:mod:`sim.engine.kernels`) puts its own variables in
place of the names (:func:`substitute`) and compiles the result with the
helpers below (:data:`HELPERS`), which it copies into the generated module.

The helpers do what the numpy operations of the closures do, element by
element, to the bit: ``np.maximum`` and ``np.minimum`` (NaN wins; of two equal
values the second), integer arithmetic that saturates at the int64 bounds
instead of wrapping (:func:`sim.expr.functions._saturating`), division by
zero giving 0, ``exp`` of a clipped argument, ``log`` of a floored one,
rounding half away from zero, ``np.power``'s own results for the
exponents 2 (a square) and 0.5 (a square root), ``np.clip`` (``_clipf``) and
the engine's cast of a number to an ``int`` state variable (``_to_int``:
NaN to 0, rounded half up, clipped to +-1e15). Plain ``+ - * /`` on floats
and the comparisons are IEEE operations that give the same result in any
language. ``exp``, ``log`` and ``power`` are not: numpy computes them with
loops of its own (Intel's SVML on processors with AVX-512), so the helpers
call ``_npexp``, ``_nplog`` and ``_nppow``, which a compiled kernel has from
:mod:`sim.engine.elementary` (numpy's very loops, one element at a time) and
:func:`python_scope` as numpy's ufuncs. Where a construct has no scalar
form, ``code`` is None and the caller keeps the numpy path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from sim.expr.limits import MAX_CONSTANT
from sim.expr.nodes import NAME_CLOSE, NAME_OPEN

HELPERS = """
def _fmax(a, b):
    return a if (a > b or a != a) else b


def _fmin(a, b):
    return a if (a < b or a != a) else b


def _clip01(x):
    t = 0.0 if x < 0.0 else x
    return 1.0 if t > 1.0 else t


def _clipf(x, lo, hi):
    t = lo if x < lo else x
    return hi if t > hi else t


def _to_int(x):
    if x != x:
        x = 0.0
    elif x == math.inf:
        x = 1.7976931348623157e308
    elif x == -math.inf:
        x = -1.7976931348623157e308
    y = _clipf(np.floor(x + 0.5), -INT_LIMIT, INT_LIMIT)
    return int(y)


def _sat(exact, wide):
    if abs(wide) >= 9.223372036854775808e18:
        return 9223372036854775807 if wide > 0 else -9223372036854775807
    return exact


def _iadd(a, b):
    return _sat(a + b, float(a) + float(b))


def _isub(a, b):
    return _sat(a - b, float(a) - float(b))


def _imul(a, b):
    return _sat(a * b, float(a) * float(b))


def _ipow(a, e):
    out = 1
    base = a
    k = e
    while k > 0:
        if k & 1:
            out = out * base
        k = k >> 1
        if k:
            base = base * base
    return _sat(out, _pow(float(a), float(e)))


def _pow(x, e):
    if e == 2.0:
        return x * x
    if e == 0.5:
        return np.sqrt(x)
    return _nppow(x, e)


def _div(a, b):
    return a / b if b != 0 else 0.0


def _exp(x):
    return _npexp(_fmin(_fmax(x, -50.0), 50.0))


def _log(x):
    return _nplog(_fmax(x, 1e-12))


def _probe(x, e, out):
    for i in range(x.shape[0]):
        out[0, i] = _npexp(x[i])
        out[1, i] = _nplog(abs(x[i]) + 1e-12)
        out[2, i] = _nppow(abs(x[i]) / 50.0, e)


def _round(x):
    whole = np.trunc(x)
    frac = x - whole
    if abs(frac) >= 0.5:
        return whole + (1.0 if x > 0 else -1.0)
    return whole + 0.0
""".replace("INT_LIMIT", repr(float(MAX_CONSTANT)))
"""The helpers a node's ``code`` calls, as source for a generated module (which
imports ``math`` and ``numpy as np``); plain Python, so :func:`python_helpers`
can run them too."""

HELPER_NAMES = tuple(re.findall(r"^def (\w+)", HELPERS, flags=re.MULTILINE))
"""The helpers' names, in the order :data:`HELPERS` defines them."""

_NAME = re.compile(re.escape(NAME_OPEN) + r"([^" + NAME_CLOSE + r"]+)" + re.escape(NAME_CLOSE))


def names_in(code: str) -> tuple[str, ...]:
    """The names ``code`` reads, each once, in the order they first appear."""
    return tuple(dict.fromkeys(_NAME.findall(code)))


def substitute(code: str, variables: Mapping[str, str]) -> str:
    """``code`` with each name replaced by its variable's source (e.g. ``"x3[i]"``)."""
    return _NAME.sub(lambda m: variables[m.group(1)], code)


def python_scope() -> dict[str, Any]:
    """What scalar code needs to run as plain Python, as a compiled kernel runs it.

    ``float`` and ``int`` are numpy's 64-bit scalars there, whose arithmetic
    overflows to ``inf`` and wraps around as machine numbers do (Python's own
    floats raise on overflow), so the values are those of a kernel.
    """
    import math

    import numpy as np

    scope: dict[str, Any] = {"math": math, "np": np, "float": np.float64, "int": np.int64}
    # numpy's own exp, log and power (a compiled kernel calls their very loops)
    scope.update(_npexp=np.exp, _nplog=np.log, _nppow=np.power)
    exec(HELPERS, scope)  # our own constant source
    return scope


def python_helpers() -> dict[str, Callable[..., Any]]:
    """The helpers as plain Python functions (to test them against numpy)."""
    scope = python_scope()
    return {name: scope[name] for name in HELPER_NAMES}
