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
  int64 arithmetic (it wraps around on overflow, like numpy arrays do).
* Division by zero gives ``0.0`` (never inf, nan or an exception, for arrays and scalars
  alike), because a weight that silently becomes inf would poison a whole batch of worlds.
  ``x ** -k`` is computed as ``1 / x ** k`` and therefore also gives ``0.0`` when ``x`` is 0.
* The exponent of ``**`` must be a constant between -16 and 16 (this rules out ``9**9**9``
  and similar resource bombs); the base may be anything.  A negative base with a fractional
  exponent gives nan, as in numpy.  Other floating-point overflow follows IEEE rules (inf).
  numpy's floating-point warnings are silenced during evaluation: a warning per batch chunk
  would not say which world is affected, and such values are visible in the results anyway.
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

import ast
import datetime
import difflib
import json
import operator
import re
import types
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.errors import WargameError

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
]

MAX_LENGTH = 1000
"""Maximum number of characters in an expression (checked before parsing)."""

MAX_DEPTH = 40
"""Maximum nesting depth of the syntax tree (guards recursion in the compiler)."""

MAX_NODES = 400
"""Maximum number of syntax nodes (guards compile time and evaluation cost)."""

MAX_CONSTANT = 1e15
"""Maximum absolute value of any literal or folded constant."""

MAX_EXPONENT = 16
"""Maximum absolute value of the (constant) exponent of ``**``."""

ALLOWED_FUNCTIONS: Mapping[str, str] = types.MappingProxyType(
    {
        "abs": "abs(x): absolute value.",
        "clip": "clip(x, lo, hi): min(max(x, lo), hi), element-wise.",
        "date": (
            'date("YYYY-MM-DD"): day index of that date relative to the scenario start date '
            "(a compile-time integer constant; needs a start date)."
        ),
        "exp": (
            "exp(x): e**x with x first clipped to [-50, 50], so it can never overflow "
            "(exp(50) is about 5e21)."
        ),
        "log": "log(x): natural logarithm of max(x, 1e-12), so it is finite for x <= 0.",
        "max": "max(a, b, ...): element-wise maximum of two or more numbers.",
        "min": "min(a, b, ...): element-wise minimum of two or more numbers.",
        "round": (
            "round(x): nearest integer, halves rounded away from zero (round(2.5) == 3, "
            "round(-2.5) == -3); integral floats stay floats."
        ),
    }
)
"""Whitelisted functions, name -> documentation.  Nothing else can be called."""

_ALLOWED_LIST = ", ".join(sorted(ALLOWED_FUNCTIONS))
_EXP_CLIP = 50.0
_LOG_FLOOR = 1e-12
_EXPECT_KINDS = ("any", "bool", "number", "enum")
_SYMBOL_TYPES = ("bool", "int", "float", "enum")
_NUMERIC = frozenset({"bool", "int", "float"})
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NEWLINE_RE = re.compile(r"\r\n|\r|\n")


class ExpressionError(WargameError):
    """Raised for any invalid expression.

    A single exception type lets scenario loaders report every problem in an expression the
    same way (with position and suggestion) instead of leaking parser internals.

    Attributes:
        message: Plain-words description of the problem.
        offset: 0-based character offset into the expression text where the problem is (best
            effort; 0 if unknown), so tools can underline it.
        hint: Optional suggestion such as ``"did you mean tension?"``.
    """

    def __init__(self, message: str, offset: int = 0, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint

    def __str__(self) -> str:
        return self.message + (f" ({self.hint})" if self.hint else "")

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep offset and hint when the error crosses a process boundary (worker pools).
        return (type(self), (self.message, self.offset, self.hint))


@dataclass(frozen=True)
class Symbol:
    """A name that expressions may refer to.

    Attributes:
        name: Dotted name as written, e.g. ``"tension"`` or ``"ukraine.strike_belarus.count"``.
        type: ``"bool"``, ``"int"``, ``"float"`` or ``"enum"``; drives static type checking
            so that mistakes are reported at load time rather than mid-simulation.
        enum_values: For ``"enum"``: the allowed values in order.  The environment holds the
            integer code (index into this tuple), which keeps evaluation purely numeric.
        constant: If not None the symbol is a compile-time constant and is folded into the
            expression (e.g. ``rungs.war`` -> 3); no environment value is needed.  For enums
            it may be given as the value's text or as its integer code.
        visible_to: If set, only expressions compiled with ``owner == visible_to`` may use the
            symbol; it models private knowledge of one actor.
        doc: Human-readable description.
    """

    name: str
    type: str
    enum_values: tuple[str, ...] = ()
    constant: float | int | bool | str | None = None
    visible_to: str | None = None
    doc: str = ""

    def __post_init__(self) -> None:
        if self.type not in _SYMBOL_TYPES:
            raise ValueError(f"symbol {self.name!r}: type must be one of {_SYMBOL_TYPES}")
        values = tuple(self.enum_values)
        object.__setattr__(self, "enum_values", values)
        if self.type == "enum":
            if not values or not all(isinstance(v, str) for v in values):
                raise ValueError(f"symbol {self.name!r}: enum needs a tuple of text values")
            if len(set(values)) != len(values):
                raise ValueError(f"symbol {self.name!r}: enum values must be unique")
            c = self.constant
            if isinstance(c, str):
                if c not in values:
                    raise ValueError(f"symbol {self.name!r}: constant {c!r} is not a value")
            elif c is not None and (
                isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < len(values)
            ):
                raise ValueError(f"symbol {self.name!r}: constant must be a value or a code")
        elif values:
            raise ValueError(f"symbol {self.name!r}: enum_values given for a {self.type}")


# --------------------------------------------------------------------------------------
# Compiled nodes
# --------------------------------------------------------------------------------------

_Fn = Callable[[Mapping[str, Any]], Any]
_NOT_CONST: Any = object()
_EMPTY_ENV: Mapping[str, Any] = types.MappingProxyType({})

# Printing precedences (higher binds tighter), mirroring Python's grammar.
_P_IF, _P_OR, _P_AND, _P_NOT, _P_CMP, _P_ADD, _P_MUL, _P_UNARY, _P_POW, _P_ATOM = range(1, 11)


class _Node:
    """A type-checked, compiled sub-expression.

    Attributes:
        type: Static type: bool, int, float, enum, or str (a text literal whose enum is not
            known yet; it never survives to a finished expression).
        fn: Closure computing the value from an environment.
        text: Canonical source text.
        prec: Precedence of ``text``'s outermost operator, for minimal parentheses.
        offset: Character offset in the original text (for error messages).
        const: Folded numpy scalar (or the raw string for type str), or ``_NOT_CONST``.
        enum_values: For enum-typed nodes, the values the integer codes refer to.
    """

    __slots__ = ("const", "enum_values", "fn", "offset", "prec", "text", "type")

    def __init__(
        self,
        type_: str,
        fn: _Fn,
        text: str,
        prec: int,
        offset: int,
        const: Any = _NOT_CONST,
        enum_values: tuple[str, ...] = (),
    ) -> None:
        self.type = type_
        self.fn = fn
        self.text = text
        self.prec = prec
        self.offset = offset
        self.const = const
        self.enum_values = enum_values

    @property
    def is_const(self) -> bool:
        return self.const is not _NOT_CONST


def _const_fn(value: Any) -> _Fn:
    return lambda env: value


def _to_scalar(value: Any) -> Any:
    """Turns 0-d arrays and Python scalars into numpy scalars (the documented result type)."""
    if isinstance(value, np.generic):
        return value
    return np.asarray(value)[()]


def _paren(node: _Node, need: bool) -> str:
    return f"({node.text})" if need else node.text


def _quote(text: str) -> str:
    # JSON escapes are a subset of Python's, so the result re-parses to the same string.
    return json.dumps(text, ensure_ascii=False)


def _describe(node: _Node) -> str:
    if node.type in ("int", "float"):
        return "a number"
    if node.type == "bool":
        return "true/false"
    if node.type == "enum":
        return "an enum value (one of " + ", ".join(_quote(v) for v in node.enum_values) + ")"
    return "text"


def _safe_div(a: Any, b: Any) -> Any:
    """Element-wise ``a / b`` with 0.0 wherever ``b == 0`` (no warnings, no inf/nan)."""
    nonzero = np.not_equal(b, 0)
    out = np.zeros(np.broadcast_shapes(np.shape(a), np.shape(b)))
    np.divide(a, b, out=out, where=nonzero)
    return out


def _round_half_away(x: Any) -> Any:
    """Rounds to the nearest integer with halves away from zero, exactly.

    ``floor(abs(x) + 0.5)`` is wrong for 0.49999999999999994 and for odd values near 2**52,
    so the fractional part (computed exactly as ``x - trunc(x)``) decides instead.
    """
    whole = np.trunc(x)
    frac = np.subtract(x, whole)
    return np.add(whole, np.where(np.greater_equal(np.absolute(frac), 0.5), np.sign(x), 0.0))


def _exp(x: Any) -> Any:
    return np.exp(np.minimum(np.maximum(x, -_EXP_CLIP), _EXP_CLIP))


def _log(x: Any) -> Any:
    return np.log(np.maximum(x, _LOG_FLOOR))


def _binary_fn(func: Callable[[Any, Any], Any], a: _Node, b: _Node) -> _Fn:
    """Builds ``func(a, b)``, capturing constant operands directly to save a call."""
    fa, fb = a.fn, b.fn
    if a.is_const and not b.is_const:
        ca = a.const
        return lambda env: func(ca, fb(env))
    if b.is_const and not a.is_const:
        cb = b.const
        return lambda env: func(fa(env), cb)
    return lambda env: func(fa(env), fb(env))


def _unary_fn(func: Callable[[Any], Any], a: _Node) -> _Fn:
    fa = a.fn
    return lambda env: func(fa(env))


def _reduce_fn(func: Callable[[Any, Any], Any], nodes: list[_Node]) -> _Fn:
    """Builds ``func(func(n0, n1), n2) ...`` for element-wise reductions (and, or, min, max)."""
    if len(nodes) == 2:
        return _binary_fn(func, nodes[0], nodes[1])
    fns = tuple(n.fn for n in nodes)
    first, rest = fns[0], fns[1:]

    def reduce_(env: Mapping[str, Any]) -> Any:
        acc = first(env)
        for f in rest:
            acc = func(acc, f(env))
        return acc

    return reduce_


def _numeric_type(*nodes: _Node) -> str:
    return "float" if any(n.type == "float" for n in nodes) else "int"


# --------------------------------------------------------------------------------------
# Operator tables and messages
# --------------------------------------------------------------------------------------

_ARITH_OPS: dict[type, tuple[str, int]] = {
    ast.Add: ("+", _P_ADD),
    ast.Sub: ("-", _P_ADD),
    ast.Mult: ("*", _P_MUL),
    ast.Div: ("/", _P_MUL),
    ast.Pow: ("**", _P_POW),
}
_ARITH_UFUNCS: dict[type, Any] = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply}
_EXACT_INT_OPS: dict[type, Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
}
_FORBIDDEN_BINOPS: dict[type, tuple[str, str]] = {
    ast.FloorDiv: ("//", "floor division // is not allowed; use round(a / b) or a / b"),
    ast.Mod: ("%", "the remainder operator % is not allowed"),
    ast.MatMult: ("@", "matrix multiplication @ is not allowed"),
    ast.BitAnd: ("&", "the bitwise operator & is not allowed; use and"),
    ast.BitOr: ("|", "the bitwise operator | is not allowed; use or"),
    ast.BitXor: ("^", "the bitwise operator ^ is not allowed; for powers use **"),
    ast.LShift: ("<<", "shift operators like << are not allowed"),
    ast.RShift: (">>", "shift operators like >> are not allowed"),
}
_CMP_OPS: dict[type, tuple[str, Any]] = {
    ast.Eq: ("==", np.equal),
    ast.NotEq: ("!=", np.not_equal),
    ast.Lt: ("<", np.less),
    ast.LtE: ("<=", np.less_equal),
    ast.Gt: (">", np.greater),
    ast.GtE: (">=", np.greater_equal),
    ast.In: ("in", None),
    ast.NotIn: ("not in", None),
}
_FORBIDDEN_NODES: dict[type, str] = {
    ast.Subscript: "subscripts like x[0] are not allowed",
    ast.Slice: "slices like x[1:2] are not allowed",
    ast.Lambda: "lambda functions are not allowed",
    ast.ListComp: "comprehensions like [x for x in y] are not allowed",
    ast.SetComp: "comprehensions like {x for x in y} are not allowed",
    ast.DictComp: "comprehensions like {k: v for k in y} are not allowed",
    ast.GeneratorExp: "generator expressions like (x for x in y) are not allowed",
    ast.Starred: "starred expressions like *x are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.NamedExpr: "assignment expressions (:=) are not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Dict: "dictionaries like {'a': 1} are not allowed",
    ast.Set: "sets like {1, 2} are not allowed",
    ast.Tuple: "tuples and lists are only allowed on the right of in / not in, like x in (1, 2)",
    ast.List: "tuples and lists are only allowed on the right of in / not in, like x in (1, 2)",
}


# --------------------------------------------------------------------------------------
# Compiler
# --------------------------------------------------------------------------------------


class _Compiler:
    """Walks a parsed tree, checking it against the whitelist and building closures."""

    def __init__(
        self,
        src: str,
        lead: int,
        symbols: Mapping[str, Symbol],
        owner: str | None,
        start_date: datetime.date | None,
    ) -> None:
        self.src = src
        self.lead = lead
        self.symbols = symbols
        self.owner = owner
        self.start_date = start_date
        self.names: set[str] = set()
        self.lines: list[tuple[int, str]] = []
        start = 0
        for m in _NEWLINE_RE.finditer(src):
            self.lines.append((start, src[start : m.start()]))
            start = m.end()
        self.lines.append((start, src[start:]))
        self.dispatch: dict[type, Callable[[Any, tuple[str, ...] | None], _Node]] = {
            ast.Constant: self.constant,
            ast.Name: self.name,
            ast.Attribute: self.attribute,
            ast.BinOp: self.binop,
            ast.UnaryOp: self.unaryop,
            ast.BoolOp: self.boolop,
            ast.Compare: self.compare,
            ast.IfExp: self.ifexp,
            ast.Call: self.call,
        }

    # ---- positions and errors ------------------------------------------------------

    def pos(self, lineno: int | None, col_bytes: int | None) -> int:
        """Converts the parser's (line, UTF-8 byte column) into a character offset."""
        if lineno is None or col_bytes is None or not 1 <= lineno <= len(self.lines):
            return 0
        start, line = self.lines[lineno - 1]
        col = len(line.encode("utf-8")[:col_bytes].decode("utf-8", "ignore"))
        return self.lead + start + col

    def offset(self, node: ast.AST) -> int:
        return self.pos(getattr(node, "lineno", None), getattr(node, "col_offset", None))

    def end_offset(self, node: ast.AST) -> int:
        return self.pos(getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None))

    def error(self, message: str, at: ast.AST | int, hint: str | None = None) -> ExpressionError:
        offset = at if isinstance(at, int) else self.offset(at)
        return ExpressionError(message, offset, hint)

    # ---- helpers -------------------------------------------------------------------

    def compile(self, node: ast.AST, ctx: tuple[str, ...] | None = None) -> _Node:
        """Compiles one AST node.

        Args:
            node: The syntax node.
            ctx: Enum values that a bare text literal at this position should be resolved
                against (only passed where an enum value is expected), else None.
        """
        handler = self.dispatch.get(type(node))
        if handler is None:
            message = _FORBIDDEN_NODES.get(
                type(node), f"{type(node).__name__} expressions are not allowed"
            )
            raise self.error(message, node)
        return handler(node, ctx)

    def fold(self, node: _Node, exact: int | None = None) -> _Node:
        """Replaces ``node`` by its value (computed now) when all its inputs are constant.

        Folding uses the very closures that would run at evaluation time, so folded values
        are bit-identical to unfolded evaluation.

        Args:
            node: A freshly built node whose children are all constant.
            exact: For integer operations that may overflow int64, the exact Python-int
                result, used for the magnitude check.
        """
        with np.errstate(all="ignore"):
            value = _to_scalar(node.fn(_EMPTY_ENV))
        if node.type in ("int", "float"):
            if exact is not None:
                too_big = abs(exact) > MAX_CONSTANT
            elif node.type == "float" and np.isnan(value):
                raise self.error(f"the constant {node.text} is not a number", node.offset)
            else:
                too_big = not np.isfinite(value) or abs(value) > MAX_CONSTANT
            if too_big:
                raise self.error(
                    f"constant too large: {node.text} (the limit is {MAX_CONSTANT:g})",
                    node.offset,
                )
        node.const = value
        node.fn = _const_fn(value)
        return node

    def maybe_fold(self, node: _Node, children: list[_Node], exact: int | None = None) -> _Node:
        if all(c.is_const for c in children):
            return self.fold(node, exact)
        return node

    def as_number(self, node: _Node, what: str) -> _Node:
        """Checks that ``node`` is numeric and returns it with booleans turned into 0/1 ints.

        numpy treats ``bool + bool`` as logical or and refuses ``bool - bool``, so booleans
        are converted explicitly to keep "booleans count as 0/1" true for every operator.
        """
        if node.type in ("int", "float"):
            return node
        if node.type == "bool":
            if node.is_const:
                value = np.int64(node.const)
                return _Node("int", _const_fn(value), node.text, node.prec, node.offset, value)
            fn = node.fn
            return _Node(
                "int",
                lambda env: np.asarray(fn(env), dtype=np.int64),
                node.text,
                node.prec,
                node.offset,
            )
        if node.type == "enum":
            raise self.error(
                f"{what} needs numbers; {node.text} is {_describe(node)}",
                node.offset,
                f"did you mean {node.text} == {_quote(node.enum_values[0])}?",
            )
        raise self.error(f"{what} needs numbers; {node.text} is text", node.offset)

    def as_bool(self, node: _Node, what: str, needs: str = "true/false operands") -> _Node:
        if node.type == "bool":
            return node
        hint = None
        if node.type in ("int", "float"):
            hint = f"did you mean {_paren(node, node.prec <= _P_CMP)} > 0?"
        elif node.type == "enum":
            hint = f"did you mean {node.text} == {_quote(node.enum_values[0])}?"
        raise self.error(
            f"{what} needs {needs}; {node.text} is {_describe(node)}",
            node.offset,
            hint,
        )

    def enum_literal(
        self, value: str, values: tuple[str, ...], offset: int, owner: str | None
    ) -> _Node:
        """Resolves a text literal to the integer code of an enum value.

        Args:
            value: The literal's text.
            values: The enum's values.
            offset: Where the literal is, for errors.
            owner: Text of the enum expression it is compared with (for errors), or None
                when the value is what the whole expression is expected to produce.
        """
        if value not in values:
            close = difflib.get_close_matches(value, values, n=1, cutoff=0.6)
            where = f"a value of {owner}; its values are" if owner else "one of the allowed values"
            raise self.error(
                f"{_quote(value)} is not {where} " + ", ".join(_quote(v) for v in values),
                offset,
                f"did you mean {_quote(close[0])}?" if close else None,
            )
        code = np.int64(values.index(value))
        return _Node("enum", _const_fn(code), _quote(value), _P_ATOM, offset, code, values)

    def resolve_text(self, node: _Node, values: tuple[str, ...], owner: str) -> _Node:
        if node.type != "str":
            return node
        return self.enum_literal(node.const, values, node.offset, owner)

    def text_error(self, node: _Node) -> ExpressionError:
        return self.error(
            f"text like {node.text} is only allowed where an enum value is expected, "
            'e.g. rung == "war"',
            node.offset,
        )

    # ---- leaves --------------------------------------------------------------------

    def constant(self, node: ast.Constant, ctx: tuple[str, ...] | None) -> _Node:
        value = node.value
        off = self.offset(node)
        if isinstance(value, bool):
            v = np.bool_(value)
            return _Node("bool", _const_fn(v), "true" if value else "false", _P_ATOM, off, v)
        if isinstance(value, int):
            if abs(value) > MAX_CONSTANT:
                raise self.error(f"constant too large (the limit is {MAX_CONSTANT:g})", off)
            v = np.int64(value)
            return _Node("int", _const_fn(v), str(value), _P_ATOM, off, v)
        if isinstance(value, float):
            if not abs(value) <= MAX_CONSTANT:
                raise self.error(f"constant too large (the limit is {MAX_CONSTANT:g})", off)
            v = np.float64(value)
            return _Node("float", _const_fn(v), repr(value), _P_ATOM, off, v)
        if isinstance(value, str):
            if ctx is not None:
                return self.enum_literal(value, ctx, off, None)
            return _Node("str", _const_fn(value), _quote(value), _P_ATOM, off, value)
        if value is None:
            raise self.error("None is not allowed; use false or 0", off)
        if isinstance(value, bytes):
            raise self.error("byte strings are not allowed", off)
        if isinstance(value, complex):
            raise self.error("complex numbers are not allowed", off)
        if value is Ellipsis:
            raise self.error("... is not allowed", off)
        raise self.error(f"constants of type {type(value).__name__} are not allowed", off)

    def name(self, node: ast.Name, ctx: tuple[str, ...] | None) -> _Node:
        off = self.offset(node)
        if node.id in ("true", "false"):
            v = np.bool_(node.id == "true")
            return _Node("bool", _const_fn(v), node.id, _P_ATOM, off, v)
        return self.symbol(node.id, off)

    def attribute(self, node: ast.Attribute, ctx: tuple[str, ...] | None) -> _Node:
        parts: list[str] = []
        cur: ast.AST = node
        while isinstance(cur, ast.Attribute):
            parts.append(cur.attr)
            cur = cur.value
        if not isinstance(cur, ast.Name):
            raise self.error("attribute access is only allowed on declared dotted names", node)
        parts.append(cur.id)
        return self.symbol(".".join(reversed(parts)), self.offset(node))

    def symbol(self, dotted: str, off: int) -> _Node:
        """Looks a (dotted) name up in the symbol table, enforcing privacy."""
        if "__" in dotted or any(part.startswith("_") for part in dotted.split(".")):
            raise self.error(f"{dotted}: names starting with an underscore are not allowed", off)
        sym = self.symbols.get(dotted)
        if sym is None:
            if dotted in ALLOWED_FUNCTIONS:
                raise self.error(
                    f"{dotted} is a function; call it like {dotted}(...)",
                    off,
                    ALLOWED_FUNCTIONS[dotted],
                )
            candidates = [
                k
                for k, s in self.symbols.items()
                if s.visible_to is None or s.visible_to == self.owner
            ]
            candidates += ["true", "false"]
            close = difflib.get_close_matches(dotted, candidates, n=1, cutoff=0.6)
            raise self.error(
                f"unknown name {dotted!r}", off, f"did you mean {close[0]}?" if close else None
            )
        if sym.visible_to is not None and sym.visible_to != self.owner:
            who = self.owner if self.owner is not None else "this expression"
            raise self.error(
                f"{dotted} is private knowledge of {sym.visible_to}; it cannot be used by {who}",
                off,
            )
        self.names.add(dotted)
        if sym.constant is not None:
            c = sym.constant
            if sym.type == "bool":
                value: Any = np.bool_(c)
            elif sym.type == "float":
                value = np.float64(c)
            elif isinstance(c, str):
                value = np.int64(sym.enum_values.index(c))
            else:
                value = np.int64(c)
            return _Node(sym.type, _const_fn(value), dotted, _P_ATOM, off, value, sym.enum_values)
        return _Node(
            sym.type,
            operator.itemgetter(dotted),
            dotted,
            _P_ATOM,
            off,
            enum_values=sym.enum_values,
        )

    # ---- operators -----------------------------------------------------------------

    def binop(self, node: ast.BinOp, ctx: tuple[str, ...] | None) -> _Node:
        op_type = type(node.op)
        if op_type not in _ARITH_OPS:
            symbol, message = _FORBIDDEN_BINOPS.get(
                op_type, ("", f"the operator {op_type.__name__} is not allowed")
            )
            off = self.end_offset(node.left)
            found = self.src.find(symbol, off - self.lead) if symbol else -1
            raise self.error(message, found + self.lead if found >= 0 else off)
        sym, prec = _ARITH_OPS[op_type]
        left = self.compile(node.left)
        right = self.compile(node.right)
        off = self.offset(node)
        if op_type is ast.Pow:
            return self.power(left, right, off)
        a = self.as_number(left, f"`{sym}`")
        b = self.as_number(right, f"`{sym}`")
        text = f"{_paren(a, a.prec < prec)} {sym} {_paren(b, b.prec <= prec)}"
        exact = None
        if op_type is ast.Div:
            if b.is_const and b.const != 0:
                fn = _binary_fn(np.divide, a, b)
            else:
                fn = _binary_fn(_safe_div, a, b)
            rtype = "float"
        else:
            fn = _binary_fn(_ARITH_UFUNCS[op_type], a, b)
            rtype = _numeric_type(a, b)
            if rtype == "int" and a.is_const and b.is_const:
                exact = _EXACT_INT_OPS[op_type](int(a.const), int(b.const))
        return self.maybe_fold(_Node(rtype, fn, text, prec, off), [a, b], exact)

    def power(self, left: _Node, right: _Node, off: int) -> _Node:
        base = self.as_number(left, "`**`")
        limit_msg = f"exponent must be a constant between -{MAX_EXPONENT} and {MAX_EXPONENT}"
        if right.type not in _NUMERIC or not right.is_const:
            raise self.error(limit_msg, right.offset)
        e = right.const
        if not -MAX_EXPONENT <= e <= MAX_EXPONENT:
            raise self.error(limit_msg, right.offset, f"got {right.text}")
        text = f"{_paren(base, base.prec <= _P_POW)} ** {_paren(right, right.prec < _P_POW)}"
        exact = None
        if right.type != "float" and base.type == "int" and e >= 0:
            ce = np.int64(e)
            fn = _binary_fn(np.power, base, _Node("int", _const_fn(ce), "", _P_ATOM, 0, ce))
            rtype = "int"
            if base.is_const:
                exact = int(base.const) ** int(ce)
        elif e >= 0:
            ce = np.float64(e)
            fn = _binary_fn(np.power, base, _Node("float", _const_fn(ce), "", _P_ATOM, 0, ce))
            rtype = "float"
        else:
            ce = np.float64(-e)
            fb = base.fn
            fn = lambda env: _safe_div(1.0, np.power(fb(env), ce))  # noqa: E731
            rtype = "float"
        return self.maybe_fold(_Node(rtype, fn, text, _P_POW, off), [base], exact)

    def unaryop(self, node: ast.UnaryOp, ctx: tuple[str, ...] | None) -> _Node:
        off = self.offset(node)
        if isinstance(node.op, ast.Invert):
            raise self.error("the bitwise operator ~ is not allowed; use not", off)
        operand = self.compile(node.operand)
        if isinstance(node.op, ast.Not):
            operand = self.as_bool(operand, "`not`")
            text = f"not {_paren(operand, operand.prec < _P_NOT)}"
            result = _Node("bool", _unary_fn(np.logical_not, operand), text, _P_NOT, off)
            return self.maybe_fold(result, [operand])
        sym = "-" if isinstance(node.op, ast.USub) else "+"
        operand = self.as_number(operand, f"unary `{sym}`")
        text = f"{sym}{_paren(operand, operand.prec < _P_UNARY)}"
        fn = _unary_fn(np.negative, operand) if sym == "-" else operand.fn
        return self.maybe_fold(_Node(operand.type, fn, text, _P_UNARY, off), [operand])

    def boolop(self, node: ast.BoolOp, ctx: tuple[str, ...] | None) -> _Node:
        is_and = isinstance(node.op, ast.And)
        word, prec = ("and", _P_AND) if is_and else ("or", _P_OR)
        values = [self.as_bool(self.compile(v), f"`{word}`") for v in node.values]
        func = np.logical_and if is_and else np.logical_or
        text = f" {word} ".join(_paren(v, v.prec <= prec) for v in values)
        result = _Node("bool", _reduce_fn(func, values), text, prec, self.offset(node))
        return self.maybe_fold(result, values)

    def compare(self, node: ast.Compare, ctx: tuple[str, ...] | None) -> _Node:
        raw = [node.left, *node.comparators]
        ops = node.ops
        for op in ops:
            if type(op) not in _CMP_OPS:
                raise self.error("`is` is not allowed; use == or !=", node)
        # Compile operands; lists are only legal directly right of in / not in.
        operands: list[_Node | list[ast.expr]] = []
        for i, item in enumerate(raw):
            if isinstance(item, (ast.Tuple, ast.List)):
                if i == 0 or not isinstance(ops[i - 1], (ast.In, ast.NotIn)) or i < len(ops):
                    raise self.error(_FORBIDDEN_NODES[ast.Tuple], item)
                operands.append(list(item.elts))
            else:
                operands.append(self.compile(item))
        # Resolve text literals against a neighbouring enum operand.
        for i, item in enumerate(operands):
            if isinstance(item, _Node) and item.type == "str":
                neighbours = [
                    operands[j]
                    for j in (i - 1, i + 1)
                    if 0 <= j < len(operands) and isinstance(operands[j], _Node)
                ]
                enums = [n for n in neighbours if isinstance(n, _Node) and n.type == "enum"]
                if not enums:
                    others = [n for n in neighbours if isinstance(n, _Node) and n.type != "str"]
                    if others:
                        raise self.error(
                            f"cannot compare text {item.text} with {others[0].text}, which is "
                            f"{_describe(others[0])}",
                            item.offset,
                        )
                    raise self.text_error(item)
                operands[i] = self.resolve_text(item, enums[0].enum_values, enums[0].text)
        nodes: list[_Node] = []
        pair_fns: list[Callable[[Any, Any], Any]] = []
        texts: list[str] = []
        for i, op in enumerate(ops):
            left = operands[i]
            right = operands[i + 1]
            assert isinstance(left, _Node)
            sym, ufunc = _CMP_OPS[type(op)]
            if sym in ("in", "not in"):
                if not isinstance(right, list):
                    raise self.error(
                        f"`{sym}` needs a list of values on the right, like x {sym} (1, 2)",
                        right.offset,
                    )
                right, cmp = self.membership(left, right, sym == "not in", self.offset(node))
            else:
                assert isinstance(right, _Node)
                self.check_comparable(left, right, sym)
                cmp = ufunc
            if i == 0:
                nodes.append(left)
                texts.append(_paren(left, left.prec <= _P_CMP))
            nodes.append(right)
            texts.append(sym)
            texts.append(_paren(right, right.prec <= _P_CMP))
            pair_fns.append(cmp)
        text = " ".join(texts)
        off = self.offset(node)
        if len(pair_fns) == 1:
            fn = _binary_fn(pair_fns[0], nodes[0], nodes[1])
        else:
            fns = tuple(n.fn for n in nodes)
            pairs = tuple(pair_fns)

            def fn(env: Mapping[str, Any]) -> Any:
                vals = [f(env) for f in fns]
                acc = pairs[0](vals[0], vals[1])
                for k in range(1, len(pairs)):
                    acc = np.logical_and(acc, pairs[k](vals[k], vals[k + 1]))
                return acc

        return self.maybe_fold(_Node("bool", fn, text, _P_CMP, off), nodes)

    def check_comparable(self, left: _Node, right: _Node, sym: str) -> None:
        if left.type == "enum" or right.type == "enum":
            enum, other = (left, right) if left.type == "enum" else (right, left)
            if other.type != "enum":
                raise self.error(
                    f"cannot compare enum {enum.text} with {other.text}, which is "
                    f"{_describe(other)}; compare it with one of its values",
                    other.offset,
                    f"did you mean {enum.text} == {_quote(enum.enum_values[0])}?",
                )
            if left.enum_values != right.enum_values:
                raise self.error(
                    f"cannot compare {left.text} with {right.text}: they have different values",
                    right.offset,
                )
            if sym not in ("==", "!="):
                raise self.error(
                    f"enum values can only be compared with ==, !=, in and not in, not {sym}",
                    left.offset,
                )

    def membership(
        self, left: _Node, elts: list[ast.expr], negate: bool, off: int
    ) -> tuple[_Node, Callable[[Any, Any], Any]]:
        """Compiles ``left in (c1, c2, ...)`` into an or-chain of equalities."""
        if not elts:
            raise self.error("the list after `in` is empty", off)
        if left.type == "enum":
            items = [self.compile(e, left.enum_values) for e in elts]
        elif left.type in _NUMERIC:
            items = [self.compile(e) for e in elts]
        else:
            raise self.text_error(left)
        for item in items:
            if not item.is_const:
                raise self.error("the values after `in` must be constants", item.offset)
            if left.type == "enum":
                self.check_comparable(left, item, "==")
            elif item.type not in _NUMERIC:
                raise self.error(
                    f"cannot look for {left.text}, which is {_describe(left)}, among "
                    f"{item.text}, which is {_describe(item)}",
                    item.offset,
                )
        values = tuple(item.const for item in items)
        first, rest = values[0], values[1:]

        def isin(x: Any, _unused: Any) -> Any:
            acc = np.equal(x, first)
            for v in rest:
                acc = np.logical_or(acc, np.equal(x, v))
            return np.logical_not(acc) if negate else acc

        text = "[" + ", ".join(item.text for item in items) + "]"
        holder = _Node("list", _const_fn(None), text, _P_ATOM, off, None)
        return holder, isin

    def ifexp(self, node: ast.IfExp, ctx: tuple[str, ...] | None) -> _Node:
        cond = self.as_bool(self.compile(node.test), "`if`", "a true/false condition")
        body = self.compile(node.body, ctx)
        orelse = self.compile(node.orelse, ctx)
        if body.type == "str" and orelse.type == "enum":
            body = self.resolve_text(body, orelse.enum_values, orelse.text)
        elif orelse.type == "str" and body.type == "enum":
            orelse = self.resolve_text(orelse, body.enum_values, body.text)
        for branch in (body, orelse):
            if branch.type == "str":
                raise self.text_error(branch)
        enum_values: tuple[str, ...] = ()
        if body.type in _NUMERIC and orelse.type in _NUMERIC:
            rtype = "bool" if body.type == orelse.type == "bool" else _numeric_type(body, orelse)
        elif body.type == orelse.type == "enum" and body.enum_values == orelse.enum_values:
            rtype = "enum"
            enum_values = body.enum_values
        else:
            raise self.error(
                f"both branches of `if` must have the same kind of value; {body.text} is "
                f"{_describe(body)} but {orelse.text} is {_describe(orelse)}",
                orelse.offset,
            )
        text = (
            f"{_paren(body, body.prec <= _P_IF)} if {_paren(cond, cond.prec <= _P_IF)} "
            f"else {_paren(orelse, orelse.prec < _P_IF)}"
        )
        fc, fa, fb = cond.fn, body.fn, orelse.fn
        result = _Node(
            rtype,
            lambda env: np.where(fc(env), fa(env), fb(env)),
            text,
            _P_IF,
            self.offset(node),
            enum_values=enum_values,
        )
        return self.maybe_fold(result, [cond, body, orelse])

    # ---- calls ---------------------------------------------------------------------

    def call(self, node: ast.Call, ctx: tuple[str, ...] | None) -> _Node:
        func = node.func
        off = self.offset(node)
        if not isinstance(func, ast.Name):
            shown = ast.unparse(func) if isinstance(func, ast.Attribute) else "this"
            raise self.error(
                f"function {shown} is not allowed; allowed: {_ALLOWED_LIST}", self.offset(func)
            )
        name = func.id
        if name not in ALLOWED_FUNCTIONS:
            close = difflib.get_close_matches(name, list(ALLOWED_FUNCTIONS), n=1, cutoff=0.6)
            raise self.error(
                f"function {name} is not allowed; allowed: {_ALLOWED_LIST}",
                off,
                f"did you mean {close[0]}?" if close else None,
            )
        if node.keywords:
            kw = node.keywords[0]
            what = "**keyword arguments" if kw.arg is None else f"keyword argument {kw.arg}="
            raise self.error(
                f"{what} is not allowed; give the arguments of {name}() in order",
                self.offset(kw),
            )
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.error("starred arguments like *x are not allowed", arg)
        if name == "date":
            return self.date_call(node, off)
        nargs = len(node.args)
        if name in ("min", "max"):
            if nargs < 2:
                raise self.error(f"{name}() needs at least 2 arguments (got {nargs})", off)
        else:
            expected = 3 if name == "clip" else 1
            if nargs != expected:
                plural = "argument" if expected == 1 else "arguments"
                raise self.error(f"{name}() takes exactly {expected} {plural} (got {nargs})", off)
        args = [self.as_number(self.compile(a), f"{name}()") for a in node.args]
        text = f"{name}({', '.join(a.text for a in args)})"
        if name in ("min", "max"):
            ufunc = np.minimum if name == "min" else np.maximum
            result = _Node(_numeric_type(*args), _reduce_fn(ufunc, args), text, _P_ATOM, off)
        elif name == "clip":
            fx, flo, fhi = (a.fn for a in args)
            result = _Node(
                _numeric_type(*args),
                lambda env: np.minimum(np.maximum(fx(env), flo(env)), fhi(env)),
                text,
                _P_ATOM,
                off,
            )
        elif name == "abs":
            result = _Node(args[0].type, _unary_fn(np.absolute, args[0]), text, _P_ATOM, off)
        elif name == "round":
            if args[0].type == "int":
                result = _Node("int", args[0].fn, text, _P_ATOM, off)
            else:
                result = _Node("float", _unary_fn(_round_half_away, args[0]), text, _P_ATOM, off)
        else:
            func_ = _exp if name == "exp" else _log
            result = _Node("float", _unary_fn(func_, args[0]), text, _P_ATOM, off)
        return self.maybe_fold(result, args)

    def date_call(self, node: ast.Call, off: int) -> _Node:
        usage = 'date() needs exactly one text argument like date("2022-02-24")'
        if len(node.args) != 1:
            raise self.error(usage, off)
        arg = node.args[0]
        if not isinstance(arg, ast.Constant) or not isinstance(arg.value, str):
            raise self.error(usage, arg)
        if self.start_date is None:
            raise self.error("date() cannot be used here: no start date is known", off)
        text = arg.value
        try:
            if not _DATE_RE.fullmatch(text):
                raise ValueError(text)
            day = datetime.date.fromisoformat(text)
        except ValueError:
            raise self.error(
                f"invalid date {_quote(text)}; write it as YYYY-MM-DD", self.offset(arg)
            ) from None
        start = self.start_date
        if isinstance(start, datetime.datetime):
            start = start.date()
        value = np.int64((day - start).days)
        return _Node("int", _const_fn(value), f"date({_quote(text)})", _P_ATOM, off, value)


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


class Expr:
    """A compiled expression, ready to be evaluated many times.

    Attributes:
        source: The original text.
        names: Dotted symbol names referenced (including folded constant symbols), so the
            engine knows which values to put in the environment.
        type: Static result type: ``"bool"``, ``"int"``, ``"float"`` or ``"enum"``.
        enum_values: For enum results, the values the integer codes refer to.
        is_constant: True if the whole expression was folded at compile time.
        value: The folded numpy scalar if ``is_constant``, else None.
    """

    __slots__ = (
        "_args",
        "_fn",
        "_text",
        "enum_values",
        "is_constant",
        "names",
        "source",
        "type",
        "value",
    )

    def __init__(
        self,
        source: str,
        names: frozenset[str],
        node: _Node,
        enum_values: tuple[str, ...],
        args: tuple[Any, ...],
    ) -> None:
        self._args = args
        self.source = source
        self.names = names
        self.type = node.type
        self.enum_values = enum_values
        self.is_constant = node.is_const
        self.value = node.const if node.is_const else None
        self._fn = node.fn
        self._text = node.text

    def evaluate(self, env: Mapping[str, Any], size: int | None = None) -> Any:
        """Computes the expression for every world at once (or for one world).

        Args:
            env: Maps symbol name -> numpy array of shape ``(n,)`` or scalar.  Constant
                symbols need no entry.
            size: If given, the result is always an ndarray of shape ``(size,)``; constant
                results are broadcast, which saves callers from special-casing them.

        Returns:
            A numpy array of shape ``(n,)`` if any referenced value is an array, else a numpy
            scalar (unless ``size`` is given).  The array may be an input array itself.

        Raises:
            ExpressionError: If ``env`` lacks a value the expression needs.
        """
        try:
            with np.errstate(all="ignore"):
                result = self._fn(env)
        except KeyError as exc:
            missing = exc.args[0] if exc.args else "?"
            raise ExpressionError(
                f"no value for {missing!r} in the environment of {self._text}"
            ) from None
        if type(result) is np.ndarray and result.ndim:
            if size is not None and result.shape != (size,):
                result = np.array(np.broadcast_to(result, (size,)))
            return result
        result = _to_scalar(result)
        if size is None:
            return result
        return np.full(size, result)

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"Expr({self._text!r}, type={self.type!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Closures cannot be pickled; recompiling from the source (with only the symbols it
        # uses) lets compiled scenarios travel to worker processes.
        return (_recompile, (self.source, *self._args))


def _recompile(
    source: str,
    symbols: dict[str, Symbol],
    expect: str,
    enum_values: tuple[str, ...],
    owner: str | None,
    start_date: datetime.date | None,
) -> Expr:
    return compile_expr(
        source,
        symbols,
        expect=expect,
        enum_values=enum_values,
        owner=owner,
        start_date=start_date,
    )


def compile_expr(
    text: str,
    symbols: Mapping[str, Symbol],
    *,
    expect: str = "any",
    enum_values: tuple[str, ...] = (),
    owner: str | None = None,
    start_date: datetime.date | None = None,
) -> Expr:
    """Parses, checks and compiles an expression once, so it can be evaluated cheaply often.

    Args:
        text: The expression.  A bool, int or float (as YAML may produce for ``true`` or
            ``0.5``) is accepted and treated as the corresponding literal.
        symbols: Symbol table, dotted name -> :class:`Symbol`.
        expect: ``"bool"`` (a condition: the result must be true/false), ``"number"``
            (int, float or bool, bool counting as 0/1), ``"enum"`` (the result must be one of
            ``enum_values``: a text literal such as ``"alert"`` or an enum-typed expression
            with the same values) or ``"any"``.
        enum_values: The allowed values when ``expect == "enum"``.
        owner: The actor the expression belongs to; needed to use private symbols.
        start_date: Scenario start date; ``date("YYYY-MM-DD")`` gives days since it.

    Returns:
        The compiled :class:`Expr`.

    Raises:
        ExpressionError: For any problem with the text (this is the only exception that text
            can cause).
        ValueError: For invalid arguments from the calling code (``expect`` unknown, or
            ``expect="enum"`` without ``enum_values``).
    """
    if expect not in _EXPECT_KINDS:
        raise ValueError(f"expect must be one of {_EXPECT_KINDS}, not {expect!r}")
    enum_values = tuple(enum_values)
    if expect == "enum" and not enum_values:
        raise ValueError('expect="enum" needs enum_values')
    if isinstance(text, bool):
        text = "true" if text else "false"
    elif isinstance(text, (int, float)):
        text = repr(text)
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"expression is too long ({len(text)} characters; the limit is {MAX_LENGTH})",
            MAX_LENGTH,
        )
    try:
        return _compile(text, symbols, expect, enum_values, owner, start_date)
    except ExpressionError:
        raise
    except (RecursionError, MemoryError):
        raise ExpressionError("expression is too complex") from None
    except Exception as exc:  # pragma: no cover - a bug; keep the "only ExpressionError" promise
        raise ExpressionError(f"internal error while compiling the expression: {exc!r}") from exc


def _compile(
    text: str,
    symbols: Mapping[str, Symbol],
    expect: str,
    enum_values: tuple[str, ...],
    owner: str | None,
    start_date: datetime.date | None,
) -> Expr:
    src = text.lstrip(" \t\f\r\n")
    lead = len(text) - len(src)
    if not src.strip():
        raise ExpressionError("empty expression", 0)
    compiler = _Compiler(src, lead, symbols, owner, start_date)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning for "\d" or `1 is 1`
            tree = ast.parse(src, mode="eval")
    except SyntaxError as exc:
        # exc.offset is a 1-based character column; Python reports 0 when the text ends early.
        offset = compiler.pos(exc.lineno, 0) + exc.offset - 1 if exc.offset else len(text.rstrip())
        raise ExpressionError(f"syntax error: {exc.msg}", min(max(offset, 0), len(text))) from None
    except ValueError as exc:  # null bytes
        raise ExpressionError(f"invalid text: {exc}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression is nested too deeply") from None
    _check_size(tree, compiler)
    ctx = enum_values if expect == "enum" else None
    root = compiler.compile(tree.body, ctx)
    _check_expect(root, expect, enum_values, compiler)
    used = {name: symbols[name] for name in compiler.names}
    args = (used, expect, enum_values, owner, start_date)
    return Expr(text, frozenset(compiler.names), root, root.enum_values, args)


def _check_size(tree: ast.Expression, compiler: _Compiler) -> None:
    """Enforces MAX_NODES and MAX_DEPTH iteratively, before any recursive processing."""
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr):
            count += 1
            if count > MAX_NODES:
                raise ExpressionError(f"expression is too complex (more than {MAX_NODES} parts)", 0)
            if depth > MAX_DEPTH:
                raise compiler.error(
                    f"expression is nested too deeply (more than {MAX_DEPTH} levels)", node
                )
        step = 1 if isinstance(node, ast.expr) else 0
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + step))


def _check_expect(
    root: _Node, expect: str, enum_values: tuple[str, ...], compiler: _Compiler
) -> None:
    if root.type == "str":
        raise compiler.text_error(root)
    if expect == "bool" and root.type != "bool":
        hint = None
        if root.type in ("int", "float"):
            hint = f"did you mean {_paren(root, root.prec <= _P_CMP)} > 0?"
        elif root.type == "enum":
            hint = f"did you mean {root.text} == {_quote(root.enum_values[0])}?"
        what = "a number" if root.type in ("int", "float") else _describe(root)
        raise compiler.error(f"a condition must be true or false; got {what}", root.offset, hint)
    if expect == "number" and root.type not in _NUMERIC:
        raise compiler.error(f"a number is expected here; got {_describe(root)}", root.offset)
    if expect == "enum" and (root.type != "enum" or root.enum_values != enum_values):
        raise compiler.error(
            "one of "
            + ", ".join(_quote(v) for v in enum_values)
            + f" is expected here; got {_describe(root)}",
            root.offset,
        )
