"""Operators: which ones are allowed, how they are typed, printed and computed.

Each rule is a function of the compiler that called it (a :class:`CompilerHost`) and the
syntax node; :class:`~sim.expr.compiler._Compiler` dispatches to them.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np

from sim.expr.errors import ExpressionError
from sim.expr.functions import _safe_div, _saturating
from sim.expr.limits import MAX_EXPONENT
from sim.expr.nodes import (
    _NUMERIC,
    _P_ADD,
    _P_AND,
    _P_ATOM,
    _P_CMP,
    _P_IF,
    _P_MUL,
    _P_NOT,
    _P_OR,
    _P_POW,
    _P_UNARY,
    _binary_fn,
    _code,
    _const_fn,
    _describe,
    _Node,
    _numeric_type,
    _paren,
    _quote,
    _reduce_fn,
    _unary_fn,
)

_ARITH_OPS: dict[type, tuple[str, int]] = {
    ast.Add: ("+", _P_ADD),
    ast.Sub: ("-", _P_ADD),
    ast.Mult: ("*", _P_MUL),
    ast.Div: ("/", _P_MUL),
    ast.Pow: ("**", _P_POW),
}
_ARITH_UFUNCS: dict[type, Any] = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply}
# Integer + - * and ** saturate at the int64 bounds rather than wrap around.
_INT_UFUNCS: dict[type, Any] = {op: _saturating(f) for op, f in _ARITH_UFUNCS.items()}
_INT_POWER = _saturating(np.power)
# The same operators for one world, in a node's ``code`` (helpers of sim.expr.scalar).
_ARITH_CODE: dict[type, str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}
_INT_CODE: dict[type, str] = {ast.Add: "_iadd", ast.Sub: "_isub", ast.Mult: "_imul"}
_MEMBER_SEP = "\x1f"  # between the values' code in a membership list's holder
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


class CompilerHost(Protocol):
    """What the operator rules need from the compiler that walks the tree.

    Recursion, positions and errors, operand checks and constant folding stay in one place
    (:class:`~sim.expr.compiler._Compiler`); the rules here only combine compiled operands.
    """

    src: str
    """The expression's text without its leading whitespace."""
    lead: int
    """How many characters of leading whitespace ``src`` lost (offsets count them)."""

    def compile(self, node: ast.AST, ctx: tuple[str, ...] | None = None) -> _Node:
        """Compiles a sub-tree; ``ctx`` holds the enum values a bare text may name."""
        ...

    def offset(self, node: ast.AST) -> int:
        """Character offset where ``node`` starts."""
        ...

    def end_offset(self, node: ast.AST) -> int:
        """Character offset just past ``node``."""
        ...

    def error(self, message: str, at: ast.AST | int, hint: str | None = None) -> ExpressionError:
        """An error placed at a node or an offset, for the caller to raise."""
        ...

    def text_error(self, node: _Node) -> ExpressionError:
        """The error for text where no enum value is expected."""
        ...

    def as_number(self, node: _Node, what: str) -> _Node:
        """``node`` checked to be numeric, booleans turned into 0/1 integers."""
        ...

    def as_bool(self, node: _Node, what: str, needs: str = "true/false operands") -> _Node:
        """``node`` checked to be true/false."""
        ...

    def resolve_text(self, node: _Node, values: tuple[str, ...], owner: str) -> _Node:
        """A text literal turned into the code of one of an enum's ``values``."""
        ...

    def maybe_fold(self, node: _Node, children: list[_Node], exact: int | None = None) -> _Node:
        """``node`` replaced by its value when all ``children`` are constant."""
        ...


def binop(c: CompilerHost, node: ast.BinOp, ctx: tuple[str, ...] | None) -> _Node:
    """Arithmetic ``+ - * / **``; the other binary operators are refused with a pointer to
    their symbol. Integer results saturate instead of wrapping; division by zero gives 0.
    """
    op_type = type(node.op)
    if op_type not in _ARITH_OPS:
        symbol, message = _FORBIDDEN_BINOPS.get(
            op_type, ("", f"the operator {op_type.__name__} is not allowed")
        )
        off = c.end_offset(node.left)
        found = c.src.find(symbol, off - c.lead) if symbol else -1
        raise c.error(message, found + c.lead if found >= 0 else off)
    sym, prec = _ARITH_OPS[op_type]
    left = c.compile(node.left)
    right = c.compile(node.right)
    off = c.offset(node)
    if op_type is ast.Pow:
        return _power(c, left, right, off)
    a = c.as_number(left, f"`{sym}`")
    b = c.as_number(right, f"`{sym}`")
    text = f"{_paren(a, a.prec < prec)} {sym} {_paren(b, b.prec <= prec)}"
    exact = None
    if op_type is ast.Div:
        if b.is_const and b.const != 0:
            fn = _binary_fn(np.divide, a, b)
            code = "(float({0}) / float({1}))"
        else:
            fn = _binary_fn(_safe_div, a, b)
            code = "_div(float({0}), float({1}))"
        rtype = "float"
    else:
        rtype = _numeric_type(a, b)
        ufuncs = _INT_UFUNCS if rtype == "int" else _ARITH_UFUNCS
        fn = _binary_fn(ufuncs[op_type], a, b)
        if rtype == "int":
            code = _INT_CODE[op_type] + "({0}, {1})"
        else:
            code = "({0} " + _ARITH_CODE[op_type] + " {1})"
        if rtype == "int" and a.is_const and b.is_const:
            exact = _EXACT_INT_OPS[op_type](int(a.const), int(b.const))
    result = _Node(rtype, fn, text, prec, off)
    result.code = _code(code, a, b)
    return c.maybe_fold(result, [a, b], exact)


def _power(c: CompilerHost, left: _Node, right: _Node, off: int) -> _Node:
    """``left ** right`` with a bounded constant exponent (no resource bombs); a negative
    exponent is computed as ``1 / left ** -right`` so that ``0 ** -k`` gives 0.
    """
    base = c.as_number(left, "`**`")
    limit_msg = f"exponent must be a constant between -{MAX_EXPONENT} and {MAX_EXPONENT}"
    if right.type not in _NUMERIC or not right.is_const:
        raise c.error(limit_msg, right.offset)
    e = right.const
    if not -MAX_EXPONENT <= e <= MAX_EXPONENT:
        raise c.error(limit_msg, right.offset, f"got {right.text}")
    text = f"{_paren(base, base.prec <= _P_POW)} ** {_paren(right, right.prec < _P_POW)}"
    exact = None
    if right.type != "float" and base.type == "int" and e >= 0:
        ie = np.int64(e)
        fn = _binary_fn(_INT_POWER, base, _Node("int", _const_fn(ie), "", _P_ATOM, 0, ie))
        rtype = "int"
        code = f"_ipow({{0}}, {int(ie)})"
        if base.is_const:
            exact = int(base.const) ** int(ie)
    elif e >= 0:
        fe = np.float64(e)
        fn = _binary_fn(np.power, base, _Node("float", _const_fn(fe), "", _P_ATOM, 0, fe))
        rtype = "float"
        code = f"_pow(float({{0}}), {float(fe)!r})"
    else:
        ne = np.float64(-e)
        fb = base.fn
        fn = lambda env: _safe_div(1.0, np.power(fb(env), ne))  # noqa: E731
        rtype = "float"
        code = f"_div(1.0, _pow(float({{0}}), {float(ne)!r}))"
    result = _Node(rtype, fn, text, _P_POW, off)
    result.code = _code(code, base)
    return c.maybe_fold(result, [base], exact)


def unaryop(c: CompilerHost, node: ast.UnaryOp, ctx: tuple[str, ...] | None) -> _Node:
    """``not`` on true/false, unary ``-``/``+`` on numbers; ``~`` is refused."""
    off = c.offset(node)
    if isinstance(node.op, ast.Invert):
        raise c.error("the bitwise operator ~ is not allowed; use not", off)
    operand = c.compile(node.operand)
    if isinstance(node.op, ast.Not):
        operand = c.as_bool(operand, "`not`")
        text = f"not {_paren(operand, operand.prec < _P_NOT)}"
        result = _Node("bool", _unary_fn(np.logical_not, operand), text, _P_NOT, off)
        result.code = _code("(not {0})", operand)
        return c.maybe_fold(result, [operand])
    sym = "-" if isinstance(node.op, ast.USub) else "+"
    operand = c.as_number(operand, f"unary `{sym}`")
    text = f"{sym}{_paren(operand, operand.prec < _P_UNARY)}"
    fn = _unary_fn(np.negative, operand) if sym == "-" else operand.fn
    result = _Node(operand.type, fn, text, _P_UNARY, off)
    result.code = _code("(-{0})", operand) if sym == "-" else operand.code
    return c.maybe_fold(result, [operand])


def boolop(c: CompilerHost, node: ast.BoolOp, ctx: tuple[str, ...] | None) -> _Node:
    """Element-wise ``and``/``or`` over all operands (no short-circuit: nothing has effects)."""
    is_and = isinstance(node.op, ast.And)
    word, prec = ("and", _P_AND) if is_and else ("or", _P_OR)
    values = [c.as_bool(c.compile(v), f"`{word}`") for v in node.values]
    func = np.logical_and if is_and else np.logical_or
    text = f" {word} ".join(_paren(v, v.prec <= prec) for v in values)
    result = _Node("bool", _reduce_fn(func, values), text, prec, c.offset(node))
    joined = f" {word} ".join(f"{{{k}}}" for k in range(len(values)))
    result.code = _code(f"({joined})", *values)
    return c.maybe_fold(result, values)


def compare(c: CompilerHost, node: ast.Compare, ctx: tuple[str, ...] | None) -> _Node:
    """Comparisons, chained as in Python (``a < b < c`` is ``a < b and b < c``).

    Text next to an enum operand is resolved to that enum's code; lists are allowed only
    right of ``in``/``not in``.
    """
    raw = [node.left, *node.comparators]
    ops = node.ops
    for op in ops:
        if type(op) not in _CMP_OPS:
            raise c.error("`is` is not allowed; use == or !=", node)
    # Compile operands; lists are only legal directly right of in / not in.
    operands: list[_Node | list[ast.expr]] = []
    for i, item in enumerate(raw):
        if isinstance(item, (ast.Tuple, ast.List)):
            if i == 0 or not isinstance(ops[i - 1], (ast.In, ast.NotIn)) or i < len(ops):
                raise c.error(_FORBIDDEN_NODES[ast.Tuple], item)
            operands.append(list(item.elts))
        else:
            operands.append(c.compile(item))
    # Resolve text literals against a neighbouring enum operand.
    for i, operand in enumerate(operands):
        if isinstance(operand, _Node) and operand.type == "str":
            neighbours = [
                operands[j]
                for j in (i - 1, i + 1)
                if 0 <= j < len(operands) and isinstance(operands[j], _Node)
            ]
            enums = [n for n in neighbours if isinstance(n, _Node) and n.type == "enum"]
            if not enums:
                others = [n for n in neighbours if isinstance(n, _Node) and n.type != "str"]
                if others:
                    raise c.error(
                        f"cannot compare text {operand.text} with {others[0].text}, which is "
                        f"{_describe(others[0])}",
                        operand.offset,
                    )
                raise c.text_error(operand)
            operands[i] = c.resolve_text(operand, enums[0].enum_values, enums[0].text)
    nodes: list[_Node] = []
    pair_fns: list[Callable[[Any, Any], Any]] = []
    pair_codes: list[str] = []  # per pair, a template over {left} and {right}
    texts: list[str] = []
    for i, op in enumerate(ops):
        left = operands[i]
        right = operands[i + 1]
        assert isinstance(left, _Node)
        sym, ufunc = _CMP_OPS[type(op)]
        if sym in ("in", "not in"):
            if not isinstance(right, list):
                raise c.error(
                    f"`{sym}` needs a list of values on the right, like x {sym} (1, 2)",
                    right.offset,
                )
            right, cmp = _membership(c, left, right, sym == "not in", c.offset(node))
            if right.code is None:
                pair_codes.append("")
            else:
                tests = " or ".join(f"{{left}} == {v}" for v in right.code.split(_MEMBER_SEP))
                pair_codes.append(f"(not ({tests}))" if sym == "not in" else f"({tests})")
        else:
            assert isinstance(right, _Node)
            _check_comparable(c, left, right, sym)
            cmp = ufunc
            pair_codes.append(f"({{left}} {sym} {{right}})")
        if i == 0:
            nodes.append(left)
            texts.append(_paren(left, left.prec <= _P_CMP))
        nodes.append(right)
        texts.append(sym)
        texts.append(_paren(right, right.prec <= _P_CMP))
        pair_fns.append(cmp)
    text = " ".join(texts)
    off = c.offset(node)
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

    result = _Node("bool", fn, text, _P_CMP, off)
    codes = [n.code for n in nodes]
    if all(pc for pc in pair_codes) and all(x is not None for x in codes[:1]):
        parts: list[str] = []
        for k, pc in enumerate(pair_codes):
            left_code, right_code = codes[k], codes[k + 1]
            if left_code is None or (right_code is None and "{right}" in pc):
                parts = []
                break
            parts.append(pc.format(left=left_code, right=right_code))
        if parts:
            result.code = parts[0] if len(parts) == 1 else "(" + " and ".join(parts) + ")"
    return c.maybe_fold(result, nodes)


def _check_comparable(c: CompilerHost, left: _Node, right: _Node, sym: str) -> None:
    """Refuses comparing an enum with anything but the same enum, and ordering enums."""
    if left.type == "enum" or right.type == "enum":
        enum, other = (left, right) if left.type == "enum" else (right, left)
        if other.type != "enum":
            raise c.error(
                f"cannot compare enum {enum.text} with {other.text}, which is "
                f"{_describe(other)}; compare it with one of its values",
                other.offset,
                f"did you mean {enum.text} == {_quote(enum.enum_values[0])}?",
            )
        if left.enum_values != right.enum_values:
            raise c.error(
                f"cannot compare {left.text} with {right.text}: they have different values",
                right.offset,
            )
        if sym not in ("==", "!="):
            raise c.error(
                f"enum values can only be compared with ==, !=, in and not in, not {sym}",
                left.offset,
            )


def _membership(
    c: CompilerHost, left: _Node, elts: list[ast.expr], negate: bool, off: int
) -> tuple[_Node, Callable[[Any, Any], Any]]:
    """Compiles ``left in (c1, c2, ...)`` into an or-chain of equalities."""
    if not elts:
        raise c.error("the list after `in` is empty", off)
    if left.type == "enum":
        items = [c.compile(e, left.enum_values) for e in elts]
    elif left.type in _NUMERIC:
        items = [c.compile(e) for e in elts]
    else:
        raise c.text_error(left)
    for item in items:
        if not item.is_const:
            raise c.error("the values after `in` must be constants", item.offset)
        if left.type == "enum":
            _check_comparable(c, left, item, "==")
        elif item.type not in _NUMERIC:
            raise c.error(
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
    item_codes = [item.code for item in items]
    holder.code = None if None in item_codes else _MEMBER_SEP.join(str(x) for x in item_codes)
    return holder, isin


def ifexp(c: CompilerHost, node: ast.IfExp, ctx: tuple[str, ...] | None) -> _Node:
    """``a if cond else b``: both branches are computed and must have the same kind of value."""
    cond = c.as_bool(c.compile(node.test), "`if`", "a true/false condition")
    body = c.compile(node.body, ctx)
    orelse = c.compile(node.orelse, ctx)
    if body.type == "str" and orelse.type == "enum":
        body = c.resolve_text(body, orelse.enum_values, orelse.text)
    elif orelse.type == "str" and body.type == "enum":
        orelse = c.resolve_text(orelse, body.enum_values, body.text)
    for branch in (body, orelse):
        if branch.type == "str":
            raise c.text_error(branch)
    enum_values: tuple[str, ...] = ()
    if body.type in _NUMERIC and orelse.type in _NUMERIC:
        rtype = "bool" if body.type == orelse.type == "bool" else _numeric_type(body, orelse)
    elif body.type == orelse.type == "enum" and body.enum_values == orelse.enum_values:
        rtype = "enum"
        enum_values = body.enum_values
    else:
        raise c.error(
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
        c.offset(node),
        enum_values=enum_values,
    )
    result.code = _code("({1} if {0} else {2})", cond, body, orelse)
    return c.maybe_fold(result, [cond, body, orelse])
