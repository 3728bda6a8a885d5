"""The compiler: checks a parsed tree against the whitelist and builds closures."""

from __future__ import annotations

import ast
import datetime
import difflib
import operator
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import numpy as np

from sim.expr.errors import ExpressionError
from sim.expr.functions import _ALLOWED_LIST, ALLOWED_FUNCTIONS, _exp, _log, _round_half_away
from sim.expr.limits import MAX_CONSTANT
from sim.expr.nodes import (
    _EMPTY_ENV,
    _P_ATOM,
    _P_CMP,
    NAME_CLOSE,
    NAME_OPEN,
    _code,
    _const_fn,
    _describe,
    _literal,
    _Node,
    _numeric_type,
    _paren,
    _quote,
    _reduce_fn,
    _to_scalar,
    _unary_fn,
)
from sim.expr.operators import _FORBIDDEN_NODES, binop, boolop, compare, ifexp, unaryop
from sim.expr.symbol import Symbol

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NEWLINE_RE = re.compile(r"\r\n|\r|\n")


class _Compiler:
    """Walks a parsed tree, checking it against the whitelist and building closures.

    Leaves and calls are compiled here; operators by the rules in :mod:`sim.expr.operators`,
    which get this compiler as their :class:`~sim.expr.operators.CompilerHost`.
    """

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
            ast.BinOp: partial(binop, self),
            ast.UnaryOp: partial(unaryop, self),
            ast.BoolOp: partial(boolop, self),
            ast.Compare: partial(compare, self),
            ast.IfExp: partial(ifexp, self),
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
        """Character offset where ``node`` starts (0 for nodes the parser did not place)."""
        return self.pos(getattr(node, "lineno", None), getattr(node, "col_offset", None))

    def end_offset(self, node: ast.AST) -> int:
        """Character offset just past ``node``, where a refused operator is looked for."""
        return self.pos(getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None))

    def error(self, message: str, at: ast.AST | int, hint: str | None = None) -> ExpressionError:
        """The error placed at a node or an offset; callers raise it, so the flow stays visible."""
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
        node.code = _literal(value)
        return node

    def maybe_fold(self, node: _Node, children: list[_Node], exact: int | None = None) -> _Node:
        """Folds ``node`` (see :meth:`fold`) when every child is constant, else returns it."""
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
            as_int = _Node(
                "int",
                lambda env: np.asarray(fn(env), dtype=np.int64),
                node.text,
                node.prec,
                node.offset,
            )
            as_int.code = _code("(1 if {0} else 0)", node)
            return as_int
        if node.type == "enum":
            raise self.error(
                f"{what} needs numbers; {node.text} is {_describe(node)}",
                node.offset,
                f"did you mean {node.text} == {_quote(node.enum_values[0])}?",
            )
        raise self.error(f"{what} needs numbers; {node.text} is text", node.offset)

    def as_bool(self, node: _Node, what: str, needs: str = "true/false operands") -> _Node:
        """Checks that ``node`` is true/false; numbers and enums are refused with the
        comparison the author probably meant as a hint (no implicit truthiness).
        """
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
        """A text literal as the code of one of ``values`` (the enum ``owner``); other nodes
        pass through unchanged.
        """
        if node.type != "str":
            return node
        return self.enum_literal(node.const, values, node.offset, owner)

    def text_error(self, node: _Node) -> ExpressionError:
        """The error for a text literal where no enum value is expected."""
        return self.error(
            f"text like {node.text} is only allowed where an enum value is expected, "
            'e.g. rung == "war"',
            node.offset,
        )

    # ---- leaves --------------------------------------------------------------------

    def constant(self, node: ast.Constant, ctx: tuple[str, ...] | None) -> _Node:
        """Numbers within MAX_CONSTANT and booleans; text only as an enum value or, with
        no ``ctx``, for a neighbour to resolve later. Every other constant is refused.
        """
        value = node.value
        off = self.offset(node)
        if isinstance(value, bool):
            b = np.bool_(value)
            return _Node("bool", _const_fn(b), "true" if value else "false", _P_ATOM, off, b)
        if isinstance(value, int):
            if abs(value) > MAX_CONSTANT:
                raise self.error(f"constant too large (the limit is {MAX_CONSTANT:g})", off)
            i = np.int64(value)
            return _Node("int", _const_fn(i), str(value), _P_ATOM, off, i)
        if isinstance(value, float):
            if not abs(value) <= MAX_CONSTANT:
                raise self.error(f"constant too large (the limit is {MAX_CONSTANT:g})", off)
            f = np.float64(value)
            return _Node("float", _const_fn(f), repr(value), _P_ATOM, off, f)
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
        """``true``/``false`` or a symbol."""
        off = self.offset(node)
        if node.id in ("true", "false"):
            v = np.bool_(node.id == "true")
            return _Node("bool", _const_fn(v), node.id, _P_ATOM, off, v)
        return self.symbol(node.id, off)

    def attribute(self, node: ast.Attribute, ctx: tuple[str, ...] | None) -> _Node:
        """A dotted name such as ``kremlin.mobilise.count``, looked up as one symbol (no real
        attribute access ever happens).
        """
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
                sym.hint.format(reader=who) if sym.hint else None,
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
        read = _Node(
            sym.type,
            operator.itemgetter(dotted),
            dotted,
            _P_ATOM,
            off,
            enum_values=sym.enum_values,
        )
        read.code = NAME_OPEN + dotted + NAME_CLOSE
        return read

    # ---- calls ---------------------------------------------------------------------

    def call(self, node: ast.Call, ctx: tuple[str, ...] | None) -> _Node:
        """A call of one of ALLOWED_FUNCTIONS by name, with positional arguments only and
        the number of arguments each function takes.
        """
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
            helper = "_fmin" if name == "min" else "_fmax"
            chain = "{0}"
            for k in range(1, len(args)):
                chain = f"{helper}({chain}, {{{k}}})"
            result.code = _code(chain, *args)
        elif name == "clip":
            fx, flo, fhi = (a.fn for a in args)
            result = _Node(
                _numeric_type(*args),
                lambda env: np.minimum(np.maximum(fx(env), flo(env)), fhi(env)),
                text,
                _P_ATOM,
                off,
            )
            result.code = _code("_fmin(_fmax({0}, {1}), {2})", *args)
        elif name == "abs":
            result = _Node(args[0].type, _unary_fn(np.absolute, args[0]), text, _P_ATOM, off)
            result.code = _code("abs({0})", *args)
        elif name == "round":
            if args[0].type == "int":
                result = _Node("int", args[0].fn, text, _P_ATOM, off)
                result.code = args[0].code
            else:
                result = _Node("float", _unary_fn(_round_half_away, args[0]), text, _P_ATOM, off)
                result.code = _code("_round({0})", *args)
        else:
            func_ = _exp if name == "exp" else _log
            result = _Node("float", _unary_fn(func_, args[0]), text, _P_ATOM, off)
            result.code = _code(f"_{name}({{0}})", *args)
        return self.maybe_fold(result, args)

    def date_call(self, node: ast.Call, off: int) -> _Node:
        """``date("YYYY-MM-DD")`` as a constant day number counted from the start date."""
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
