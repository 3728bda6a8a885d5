"""Safe expression language for scenario conditions and weights.

Scenario files write conditions and weights as short text, for example::

    belarus_attacked or russia_attacked
    kremlin.offensive_from_belarus.count > 0 and day >= date("2022-02-20")
    0.2 + 0.5 * tension if drills_active else 0.05

Such text comes from scenario authors and may be untrusted, so it is never handed to
``eval``/``exec``.  Instead :func:`compile_expr` parses it once (at scenario load time) with
:func:`ast.parse`, accepts only a strict whitelist of syntax, type-checks it against a symbol
table, folds constant sub-expressions and turns the tree into nested Python closures that
compute with numpy.  The resulting :class:`Expr` is then evaluated many times, either on numpy
arrays holding one element per simulated world (the vectorised engine) or on scalars, and both
give identical results because exactly the same numpy operations run in both cases.

Language summary
----------------
* Literals: integers, floats, ``true``/``false`` (``True``/``False`` also work) and text in
  quotes.  Text is only allowed where an enum value is expected (``rung == "war"``,
  ``rung in ("war", "alert")``, a whole expression compiled with ``expect="enum"``, a branch
  of ``... if ... else ...`` next to an enum) and as the argument of ``date()``.
* Names: a plain name or a dotted name such as ``ukraine.strike_belarus.count`` looked up, as a
  whole, in the symbol table.  Names starting with ``_`` (or containing ``__``) are rejected.
  A symbol with ``visible_to`` set is private knowledge of that actor and may only be used by
  expressions compiled with the same ``owner``.  Symbols with a ``constant`` are folded.
* ``and``/``or``/``not`` are element-wise logical operators on true/false operands.  Both sides
  are always evaluated (no short-circuit), which is harmless since nothing has side effects.
* Arithmetic ``+ - * / **`` and unary ``-``/``+`` work on numbers; booleans count as 0/1.
  ``int op int`` stays an integer for ``+ - *`` and for ``**`` with a non-negative integer
  exponent; ``/`` and everything involving a float give floats.  Integer arithmetic is numpy
  int64 arithmetic, except that it never wraps around: a result beyond the int64 range
  saturates at +-(2**63 - 1).
* Division by zero gives ``0.0`` (never inf, nan or an exception, for arrays and scalars
  alike), because a weight that silently becomes inf would poison a whole batch of worlds.
  ``x ** -k`` is computed as ``1 / x ** k`` and therefore also gives ``0.0`` when ``x`` is 0.
* The exponent of ``**`` must be a constant between -16 and 16 (this rules out ``9**9**9``
  and similar resource bombs); the base may be anything.  A negative base with a fractional
  exponent gives nan, as in numpy.  Other floating-point overflow follows IEEE rules (inf).
  numpy's floating-point warnings are silenced during evaluation: a warning per batch chunk
  would not say which world is affected, and such values are visible in the results anyway.
  Code that evaluates many expressions in a row can silence them once for the whole block
  with ``with quiet():`` (the engine does so for each simulated day), which is cheaper.
* Comparisons ``== != < <= > >=`` (chains like ``0 < x <= 5`` allowed) give booleans.
  ``in``/``not in`` need a literal list or tuple of constants on the right.  Enum values can
  only be compared with ``==``, ``!=``, ``in`` and ``not in`` against their own values given as
  text; internally they are integer codes (the index in ``Symbol.enum_values``).
* ``a if cond else b`` is ``np.where(cond, a, b)``; both branches are evaluated.
* Functions (see :data:`ALLOWED_FUNCTIONS`): ``min``, ``max``, ``abs``, ``clip``, ``round``,
  ``exp``, ``log`` and ``date``.  Only positional arguments are accepted.
* Constant folding: every sub-expression whose inputs are all constants is computed at compile
  time; literals and folded results must stay within ``MAX_CONSTANT`` in absolute value.

The text may span several lines inside parentheses and may end in a ``# comment``, as in
Python; the canonical form (``str(expr)``) drops comments and normalises spacing, quotes
(double), booleans (``true``/``false``) and lists (``[...]``).

Limits: at most :data:`MAX_LENGTH` characters, :data:`MAX_NODES` syntax nodes and
:data:`MAX_DEPTH` levels of nesting.  Any problem with the text raises :class:`ExpressionError`
(never another exception type) carrying a plain-words message, the character offset of the
problem and, where possible, a "did you mean" hint.

Evaluation contract: ``env`` maps symbol names to numpy arrays of shape ``(n,)`` or scalars.
Values should have dtypes matching the declared symbol types (bool, integer, float; enums hold
integer codes); they are used as given, never copied or converted.  The result may therefore
be (or share memory with) an input array, so callers must not modify results in place.
"""

from __future__ import annotations

from sim.expr.errors import ExpressionError
from sim.expr.expression import Expr, compile_expr, quiet
from sim.expr.functions import ALLOWED_FUNCTIONS
from sim.expr.limits import MAX_CONSTANT, MAX_DEPTH, MAX_EXPONENT, MAX_LENGTH, MAX_NODES
from sim.expr.symbol import Symbol

__all__ = [
    "ALLOWED_FUNCTIONS",
    "MAX_CONSTANT",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_NODES",
    "Expr",
    "ExpressionError",
    "Symbol",
    "compile_expr",
    "quiet",
]
