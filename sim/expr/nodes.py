"""Compiled nodes: typed sub-expressions and the closures that compute them."""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

_Fn = Callable[[Mapping[str, Any]], Any]
_NOT_CONST: Any = object()
_EMPTY_ENV: Mapping[str, Any] = types.MappingProxyType({})

# Printing precedences (higher binds tighter), mirroring Python's grammar.
_P_IF, _P_OR, _P_AND, _P_NOT, _P_CMP, _P_ADD, _P_MUL, _P_UNARY, _P_POW, _P_ATOM = range(1, 11)

_NUMERIC = frozenset({"bool", "int", "float"})


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
        code: The same computation for one world, as Python source on scalars that a
            kernel compiler can translate (:mod:`sim.expr.scalar`), or None where it
            has none; a name ``x`` appears in it as ``NAME_OPEN + x + NAME_CLOSE``.
    """

    __slots__ = ("code", "const", "enum_values", "fn", "offset", "prec", "text", "type")

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
        self.code: str | None = _literal(const) if const is not _NOT_CONST else None

    @property
    def is_const(self) -> bool:
        """Whether the node was folded to a value known at compile time."""
        return self.const is not _NOT_CONST


NAME_OPEN = "\u00ab"
"""Opens a name in a node's ``code`` (the names of expressions never contain it)."""
NAME_CLOSE = "\u00bb"
"""Closes a name in a node's ``code``."""


def _literal(value: Any) -> str | None:
    """``value`` (a folded numpy scalar) as scalar source, or None (text, lists, inf)."""
    if isinstance(value, np.bool_):
        return "True" if value else "False"
    if isinstance(value, np.integer):
        return f"({int(value)})"
    if isinstance(value, np.floating) and np.isfinite(value):
        return f"({float(value)!r})"
    return None


def _code(template: str, *nodes: _Node) -> str | None:
    """``template`` with ``{0}``, ``{1}``... replaced by the nodes' code (None if one has none)."""
    codes = [n.code for n in nodes]
    if any(c is None for c in codes):
        return None
    return template.format(*codes)


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
