"""Property-based tests for the safe expression language (sim.expr).

1. Vectorised evaluation equals element-by-element scalar evaluation, exactly.  Both paths
   run the same numpy ufuncs on the same float64/int64 values, so the results are compared
   bit for bit (``assert_array_equal``), not with a tolerance.
2. ``str(expr)`` is canonical: compiling it again gives the same text and the same results.
3. Arbitrary text never raises anything but ExpressionError; whatever compiles evaluates.
"""

from __future__ import annotations

import datetime
import functools
import math
import warnings

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim.expr import Expr, ExpressionError, Symbol, compile_expr

RUNGS = ("peace", "alert", "war")
START = datetime.date(2022, 2, 15)
SYMBOLS: dict[str, Symbol] = {
    s.name: s
    for s in [
        Symbol("b1", "bool"),
        Symbol("b2", "bool"),
        Symbol("i1", "int"),
        Symbol("i2", "int"),
        Symbol("f1", "float"),
        Symbol("f2", "float"),
        Symbol("grp.f3", "float"),
        Symbol("rung", "enum", RUNGS),
        Symbol("k.three", "int", constant=3),
        Symbol("k.on", "bool", constant=True),
    ]
}
BOOL_NAMES = ["b1", "b2"]
INT_NAMES = ["i1", "i2"]
FLOAT_NAMES = ["f1", "f2", "grp.f3"]

# Derandomised or not as the loaded profile says (tests/conftest.py).
PROFILE = settings(
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)


def compile_(text: str, **kwargs: object) -> Expr:
    return compile_expr(text, SYMBOLS, start_date=START, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------ expression texts

FLOAT_LITERALS = st.one_of(
    st.sampled_from(["0.0", "0.5", "2.5", "-1.5", "1e-05", "1e3"]),
    st.floats(-100, 100, allow_nan=False).map(lambda x: repr(round(x, 3))),
)
INT_LITERALS = st.integers(-20, 20).map(str)
NUM_LEAF = st.one_of(
    st.sampled_from(INT_NAMES + FLOAT_NAMES + ["k.three", "date('2022-02-20')"]),
    INT_LITERALS,
    FLOAT_LITERALS,
)
BOOL_LEAF = st.sampled_from([*BOOL_NAMES, "true", "false", "k.on"])
RUNG_VALUE = st.sampled_from(RUNGS).map(lambda v: f"'{v}'")
CMP_OP = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])


@functools.cache
def num_expr(depth: int) -> st.SearchStrategy[str]:
    """Numeric-typed expression texts (int, float, or bool used as 0/1)."""
    if depth == 0:
        return NUM_LEAF
    sub = num_expr(depth - 1)
    cond = bool_expr(depth - 1)
    return st.one_of(
        NUM_LEAF,
        st.builds("({} {} {})".format, sub, st.sampled_from(["+", "-", "*", "/"]), sub),
        st.builds("({}) ** {}".format, sub, st.integers(-4, 4)),
        st.builds("({}) ** {}".format, sub, st.sampled_from(["0.5", "-1.5", "2.0"])),
        st.builds("-({})".format, sub),
        st.builds("{}({})".format, st.sampled_from(["abs", "round", "exp", "log"]), sub),
        st.builds("{}({}, {})".format, st.sampled_from(["min", "max"]), sub, sub),
        st.builds("max({}, {}, {})".format, sub, sub, sub),
        st.builds("clip({}, {}, {})".format, sub, sub, sub),
        st.builds("({} if {} else {})".format, sub, cond, sub),
        st.builds("({}) * 2".format, cond),
    )


@functools.cache
def bool_expr(depth: int) -> st.SearchStrategy[str]:
    """Boolean-typed expression texts."""
    if depth == 0:
        return st.one_of(BOOL_LEAF, st.builds("rung == {}".format, RUNG_VALUE))
    sub = bool_expr(depth - 1)
    num = num_expr(depth - 1)
    return st.one_of(
        BOOL_LEAF,
        st.builds("({} {} {})".format, num, CMP_OP, num),
        st.builds("({} {} {} {} {})".format, num, CMP_OP, num, CMP_OP, num),
        st.builds("(rung {} {})".format, st.sampled_from(["==", "!="]), RUNG_VALUE),
        st.builds(
            "(rung {} ({}, {}))".format, st.sampled_from(["in", "not in"]), RUNG_VALUE, RUNG_VALUE
        ),
        st.builds("(({}) == {})".format, enum_expr(depth - 1), RUNG_VALUE),
        st.builds(
            "({} {} [{}, {}])".format,
            num,
            st.sampled_from(["in", "not in"]),
            INT_LITERALS,
            st.just("2.5"),
        ),
        st.builds("({} {} {})".format, sub, st.sampled_from(["and", "or"]), sub),
        st.builds("({} and {} or {})".format, sub, sub, sub),
        st.builds("not ({})".format, sub),
        st.builds("({} if {} else {})".format, sub, sub, sub),
    )


@functools.cache
def enum_expr(depth: int) -> st.SearchStrategy[str]:
    """Enum-typed expression texts (over RUNGS)."""
    if depth == 0:
        return st.just("rung")
    sub = enum_expr(depth - 1)
    either = st.one_of(sub, RUNG_VALUE)
    return st.one_of(
        st.just("rung"),
        st.builds("({} if {} else {})".format, sub, bool_expr(depth - 1), either),
        st.builds("({} if {} else {})".format, RUNG_VALUE, bool_expr(depth - 1), sub),
    )


TYPED = st.one_of(
    st.tuples(num_expr(3), st.just("number")),
    st.tuples(bool_expr(3), st.just("bool")),
    st.tuples(enum_expr(2), st.just("enum")),
    st.tuples(
        st.builds("({} if {} else {})".format, RUNG_VALUE, bool_expr(2), RUNG_VALUE),
        st.just("enum"),
    ),
)

# ------------------------------------------------------------------ environments

FLOAT_VALUES = st.one_of(
    st.floats(-1e3, 1e3, allow_nan=False),
    st.sampled_from([0.0, -0.0, 0.5, -0.5, 2.5, -2.5, 1.0, 3.0, math.inf, -math.inf, math.nan]),
)
INT_VALUES = st.one_of(st.integers(-50, 50), st.sampled_from([0, 1, 2, 3, -3]))


@st.composite
def environments(draw: st.DrawFn) -> dict[str, np.ndarray]:
    n = draw(st.integers(1, 6))
    env: dict[str, np.ndarray] = {}
    for name in BOOL_NAMES:
        env[name] = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    for name in INT_NAMES:
        env[name] = np.array(draw(st.lists(INT_VALUES, min_size=n, max_size=n)), dtype=np.int64)
    for name in FLOAT_NAMES:
        env[name] = np.array(draw(st.lists(FLOAT_VALUES, min_size=n, max_size=n)), dtype=float)
    env["rung"] = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    return env


def compile_or_reject(text: str, expect: str) -> Expr:
    """Compiles a generated well-typed text; only constant-limit violations may fail."""
    kwargs: dict[str, object] = {"expect": expect}
    if expect == "enum":
        kwargs["enum_values"] = RUNGS
    try:
        return compile_(text, **kwargs)
    except ExpressionError as exc:
        # A well-typed text can only fail because some folded constant got too large (or
        # nan, e.g. (-1.5) ** 0.5) or, rarely, because it is too long or deep.
        allowed = ("constant", "too long", "too deeply", "too complex")
        assert any(word in exc.message for word in allowed), (text, str(exc))
        assume(False)
        raise


def evaluate_quietly(expr: Expr, env: dict) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # evaluation itself must not warn
        return expr.evaluate(env)


# ------------------------------------------------------------------ properties


@PROFILE
@given(TYPED, environments())
def test_vector_evaluation_equals_scalar_evaluation(
    typed: tuple[str, str], env: dict[str, np.ndarray]
) -> None:
    text, expect = typed
    expr = compile_or_reject(text, expect)
    n = len(env["b1"])
    full = evaluate_quietly(expr, env)
    if expr.is_constant:
        assert isinstance(full, np.generic)
        full = np.full(n, full)
    else:
        assert isinstance(full, np.ndarray) and full.shape == (n,)
    sized = expr.evaluate(env, size=n)
    assert isinstance(sized, np.ndarray) and sized.shape == (n,)
    np.testing.assert_array_equal(sized, full)
    for i in range(n):
        numpy_scalars = {k: v[i] for k, v in env.items()}
        python_scalars = {k: v[i].item() for k, v in env.items()}
        for scalar_env in (numpy_scalars, python_scalars):
            one = evaluate_quietly(expr, scalar_env)
            assert isinstance(one, np.generic), type(one)
            assert one.dtype == full.dtype, (text, one.dtype, full.dtype)
            np.testing.assert_array_equal(one, full[i], err_msg=text)


@PROFILE
@given(TYPED, environments())
def test_canonical_text_round_trips(typed: tuple[str, str], env: dict[str, np.ndarray]) -> None:
    text, expect = typed
    expr = compile_or_reject(text, expect)
    kwargs: dict[str, object] = {"expect": expect}
    if expect == "enum":
        kwargs["enum_values"] = RUNGS
    again = compile_(str(expr), **kwargs)
    assert str(again) == str(expr)
    assert again.type == expr.type
    assert again.names == expr.names
    n = len(env["b1"])
    np.testing.assert_array_equal(
        evaluate_quietly(again, env), evaluate_quietly(expr, env), err_msg=str(expr)
    )
    np.testing.assert_array_equal(again.evaluate(env, size=n), expr.evaluate(env, size=n))


# Pieces of the language (and of Python that must be rejected), glued together at random.
TOKENS = [
    *SYMBOLS,
    "k",
    "grp",
    "x",
    "tension",
    "true",
    "false",
    "True",
    "None",
    "0",
    "1",
    "2.5",
    "1e15",
    "1e16",
    "-",
    "+",
    "*",
    "/",
    "**",
    "//",
    "%",
    "@",
    "&",
    "|",
    "^",
    "~",
    "<<",
    "<",
    "<=",
    ">",
    ">=",
    "==",
    "!=",
    "=",
    ":=",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ".",
    ":",
    ";",
    "'war'",
    "'peace'",
    "'wr'",
    '"alert"',
    "f'{b1}'",
    "b'x'",
    "1j",
    "...",
    "and",
    "or",
    "not",
    "in",
    "not in",
    "is",
    "if",
    "else",
    "lambda",
    "for",
    "await",
    "yield",
    "import",
    "min",
    "max",
    "abs",
    "clip",
    "round",
    "exp",
    "log",
    "date",
    "date('2022-02-20')",
    "open",
    "eval",
    "__import__",
    "__class__",
    "_x",
    "*",
    "**",
    "\n",
    "\x00",
    "#",
    "\\",
    "é",
]


def assert_only_expression_error(text: str) -> Expr | None:
    try:
        return compile_(text)
    except ExpressionError as exc:
        assert isinstance(exc.message, str) and exc.message
        assert "internal error" not in exc.message, exc.message
        assert isinstance(exc.offset, int) and 0 <= exc.offset <= len(text)
        assert exc.hint is None or isinstance(exc.hint, str)
        str(exc)
        return None


@PROFILE
@given(st.text(max_size=200))
def test_arbitrary_text_only_raises_expression_error(text: str) -> None:
    assert_only_expression_error(text)


@PROFILE
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join), environments())
def test_token_soup_only_raises_expression_error(text: str, env: dict[str, np.ndarray]) -> None:
    expr = assert_only_expression_error(text)
    if expr is not None:
        # Anything that compiles must evaluate cleanly on every environment.
        result = evaluate_quietly(expr, env)
        assert np.ndim(result) in (0, 1)
        assert expr.evaluate(env, size=len(env["b1"])).shape == (len(env["b1"]),)


@PROFILE
@given(TYPED, st.data())
def test_mutated_valid_text_only_raises_expression_error(
    typed: tuple[str, str], data: st.DataObject
) -> None:
    text = typed[0]
    pos = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 3))
    insert = data.draw(st.sampled_from(["", "(", ")", ",", "'", "[0]", ".x", " if ", "*", "__"]))
    assert_only_expression_error(text[:pos] + insert + text[pos + cut :])
