"""Compiled expressions: :func:`compile_expr` and the :class:`Expr` it returns."""

from __future__ import annotations

import ast
import datetime
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np

from sim.expr.compiler import _Compiler
from sim.expr.errors import ExpressionError
from sim.expr.limits import MAX_DEPTH, MAX_LENGTH, MAX_NODES
from sim.expr.nodes import _NUMERIC, _P_CMP, _describe, _Node, _paren, _quote, _to_scalar
from sim.expr.symbol import Symbol

_EXPECT_KINDS = ("any", "bool", "number", "enum")


@np.errstate(all="ignore")
def _quietly(fn: Any, env: Mapping[str, Any]) -> Any:
    """``fn(env)`` with numpy's floating-point errors ignored, as every evaluation is
    (the helpers of :mod:`sim.expr.functions` keep results finite where numpy would
    warn).

    The decorator form sets and resets numpy's error state in one call instead of
    the three a ``with np.errstate(...)`` block makes. It keeps no state between
    calls, so it is safe to re-enter and to call from several threads. Inside
    :func:`quiet` evaluations skip it: the error state is already what it sets.
    """
    return fn(env)


_QUIET: ContextVar[bool] = ContextVar("sim.expr.quiet", default=False)
"""True inside :func:`quiet` (per thread and per task, as numpy's error state is)."""


@contextmanager
def quiet() -> Iterator[None]:
    """numpy's floating-point errors ignored for a whole block of evaluations.

    :meth:`Expr.evaluate` ignores them for each evaluation by setting numpy's
    error state and resetting it afterwards, which costs more than many a
    small evaluation. Inside this block the state is set once and evaluations
    leave it alone, with the same effect on what they compute and warn. Every
    numpy operation of the block is silenced too, not only the evaluations.
    The block must not change numpy's error state around an evaluation (a
    nested ``np.errstate(over="ignore")`` is harmless: it ignores as well).
    """
    token = _QUIET.set(True)
    try:
        with np.errstate(all="ignore"):
            yield
    finally:
        _QUIET.reset(token)


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
        code: The computation for one world as scalar Python source (see
            :mod:`sim.expr.scalar`), or None where a construct has none.
    """

    __slots__ = (
        "_args",
        "_fn",
        "_text",
        "code",
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
        self.code = node.code

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
            result = self._fn(env) if _QUIET.get() else _quietly(self._fn, env)
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
        # np.full(size, result) for a numpy scalar, without its Python-level steps
        out = np.empty(size, dtype=result.dtype)
        out.fill(result)
        return out

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
