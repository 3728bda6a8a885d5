"""Unit tests for the safe expression language (sim.expr)."""

from __future__ import annotations

import datetime
import pathlib
import pickle
import warnings

import numpy as np
import pytest

from sim.expr import (
    ALLOWED_FUNCTIONS,
    MAX_CONSTANT,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_NODES,
    Expr,
    ExpressionError,
    Symbol,
    compile_expr,
    quiet,
)

RUNGS = ("peace", "alert", "war")
START = datetime.date(2022, 2, 15)

SYMBOLS: dict[str, Symbol] = {
    s.name: s
    for s in [
        Symbol("tension", "float", doc="0..1"),
        Symbol("drills_active", "bool"),
        Symbol("belarus_attacked", "bool"),
        Symbol("russia_attacked", "bool"),
        Symbol("day", "int"),
        Symbol("troops", "int"),
        Symbol("kremlin.offensive_from_belarus.count", "int"),
        Symbol("ukraine.strike_belarus.count", "int"),
        Symbol("rung", "enum", RUNGS),
        Symbol("other_rung", "enum", RUNGS),
        Symbol("posture", "enum", ("defensive", "offensive")),
        Symbol("rungs.war", "int", constant=2),
        Symbol("rungs.peace", "int", constant=0),
        Symbol("half", "float", constant=0.5),
        Symbol("always", "bool", constant=True),
        Symbol("kremlin.secret_plan", "bool", visible_to="russia"),
    ]
}

ENV = {
    "tension": np.array([0.0, 0.25, 0.5, 1.0]),
    "drills_active": np.array([True, False, True, False]),
    "belarus_attacked": np.array([True, False, False, False]),
    "russia_attacked": np.array([False, False, True, False]),
    "day": np.array([0, 5, 10, 20]),
    "troops": np.array([0, 3, -4, 7]),
    "kremlin.offensive_from_belarus.count": np.array([0, 1, 2, 0]),
    "ukraine.strike_belarus.count": np.array([1, 0, 0, 3]),
    "rung": np.array([0, 1, 2, 2]),
    "other_rung": np.array([0, 2, 2, 1]),
    "posture": np.array([0, 1, 0, 1]),
    "kremlin.secret_plan": np.array([True, True, False, False]),
}


def c(text: str, **kwargs: object) -> Expr:
    kwargs.setdefault("start_date", START)
    return compile_expr(text, SYMBOLS, **kwargs)  # type: ignore[arg-type]


def ev(text: str, env: dict | None = None, **kwargs: object) -> object:
    return c(text, **kwargs).evaluate(ENV if env is None else env)


def err(text: str, **kwargs: object) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        c(text, **kwargs)
    return info.value


def scalar_env(i: int) -> dict:
    return {k: v[i] for k, v in ENV.items()}


def assert_scalar_consistent(text: str, **kwargs: object) -> None:
    expr = c(text, **kwargs)
    full = expr.evaluate(ENV)
    for i in range(4):
        one = expr.evaluate(scalar_env(i))
        assert isinstance(one, np.generic)
        assert one.dtype == full.dtype
        np.testing.assert_array_equal(full[i], one)


# ---------------------------------------------------------------------------- examples


def test_examples_from_scenarios() -> None:
    np.testing.assert_array_equal(
        ev("belarus_attacked or russia_attacked"), [True, False, True, False]
    )
    np.testing.assert_array_equal(
        ev("kremlin.offensive_from_belarus.count > 0 and day >= date('2022-02-20')"),
        [False, True, True, False],
    )
    np.testing.assert_allclose(
        ev("0.2 + 0.5 * tension if drills_active else 0.05"), [0.2, 0.05, 0.45, 0.05]
    )


# ---------------------------------------------------------------------------- literals


@pytest.mark.parametrize(
    ("text", "value", "type_"),
    [
        ("true", True, "bool"),
        ("false", False, "bool"),
        ("True", True, "bool"),
        ("False", False, "bool"),
        ("42", 42, "int"),
        ("-7", -7, "int"),
        ("0.25", 0.25, "float"),
        ("1e15", 1e15, "float"),
        ("1_000", 1000, "int"),
    ],
)
def test_literals(text: str, value: object, type_: str) -> None:
    expr = c(text)
    assert expr.is_constant
    assert expr.type == type_
    assert expr.value == value
    assert isinstance(expr.evaluate({}), np.generic)


def test_non_text_input_from_yaml() -> None:
    assert c(0.5).value == 0.5  # type: ignore[arg-type]
    assert c(True).value  # type: ignore[arg-type]
    assert c(3).type == "int"  # type: ignore[arg-type]
    with pytest.raises(ExpressionError, match="must be text"):
        c(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- arithmetic


def test_add_sub_mul_int_stays_int() -> None:
    result = ev("day + troops * 2 - 1")
    np.testing.assert_array_equal(result, [-1, 10, 1, 33])
    assert result.dtype == np.int64
    assert c("day + troops").type == "int"


def test_mixed_int_float_is_float() -> None:
    result = ev("day + tension")
    assert result.dtype == np.float64
    assert c("day * 0.5").type == "float"
    np.testing.assert_array_equal(result, [0.0, 5.25, 10.5, 21.0])


def test_division_is_float() -> None:
    result = ev("day / 4")
    assert c("day / 4").type == "float"
    np.testing.assert_array_equal(result, [0.0, 1.25, 2.5, 5.0])
    assert c("7 / 2").value == 3.5


def test_division_by_zero_gives_zero_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(ev("1 / day"), [0.0, 0.2, 0.1, 0.05])
        np.testing.assert_array_equal(ev("tension / 0"), [0.0, 0.0, 0.0, 0.0])
        assert ev("troops / (day - 5)", scalar_env(1)) == 0.0
        assert ev("tension / tension", scalar_env(0)) == 0.0
        assert c("1 / 0").value == 0.0
        assert c("0 / 0").value == 0.0
        np.testing.assert_array_equal(ev("day ** -1"), [0.0, 0.2, 0.1, 0.05])
        assert c("0 ** -2").value == 0.0
    assert_scalar_consistent("troops / (day - 5)")


def test_quiet_block_silences_evaluations_as_each_evaluation_does() -> None:
    """Inside ``quiet()`` evaluations leave numpy's error state alone; it must be
    the state each evaluation sets alone (an overflow warns nothing), and be
    put back afterwards."""
    expr = c("tension ** 16")
    env = {"tension": np.array([0.0, 1e30, -1e30])}
    before = np.geterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        alone = expr.evaluate(env)
        with quiet():
            assert set(np.geterr().values()) == {"ignore"}
            inside = expr.evaluate(env)
        assert np.geterr() == before
        with np.errstate(all="raise"):  # outside the block, each evaluation silences itself
            again = expr.evaluate(env)
    np.testing.assert_array_equal(inside, alone)
    np.testing.assert_array_equal(again, alone)
    assert np.isinf(alone[1:]).all()


def test_power() -> None:
    result = ev("troops ** 2")
    assert result.dtype == np.int64
    np.testing.assert_array_equal(result, [0, 9, 16, 49])
    assert c("troops ** 2").type == "int"
    assert c("troops ** 2.0").type == "float"
    assert c("troops ** -1").type == "float"
    assert c("tension ** 0.5").type == "float"
    np.testing.assert_allclose(ev("tension ** 0.5"), np.sqrt(ENV["tension"]))
    assert c("2 ** 10").value == 1024
    assert c("2 ** -1").value == 0.5
    assert c("(-2) ** 3").value == -8
    assert c("-2 ** 2").value == -4  # ** binds tighter than unary minus, as in Python
    assert c("2 ** 3 ** 2").value == 512  # right-associative
    assert c("x ** rungs.war".replace("x", "3")).value == 9  # constant symbol as exponent
    np.testing.assert_array_equal(ev("troops ** 0"), [1, 1, 1, 1])


def test_power_exponent_must_be_small_constant() -> None:
    for text in ["tension ** day", "2 ** 17", "2 ** -17", "9**9**9", "tension ** (1 + 16)"]:
        e = err(text)
        assert "exponent must be a constant between -16 and 16" in e.message
    assert c("2 ** 16").value == 65536
    assert c("tension ** -16").type == "float"


def test_unary_operators() -> None:
    np.testing.assert_array_equal(ev("-troops"), [0, -3, 4, -7])
    np.testing.assert_array_equal(ev("+troops"), ENV["troops"])
    np.testing.assert_array_equal(ev("- -troops"), ENV["troops"])
    np.testing.assert_array_equal(ev("-drills_active"), [-1, 0, -1, 0])
    np.testing.assert_array_equal(ev("not drills_active"), [False, True, False, True])
    assert c("-tension").type == "float"


def test_bool_counts_as_zero_one_in_arithmetic() -> None:
    assert c("true + true").value == 2
    assert c("true - true").value == 0
    assert c("true * 3").value == 3
    assert c("true + true").type == "int"
    np.testing.assert_array_equal(
        ev("drills_active + belarus_attacked"), [2, 0, 1, 0]
    )  # not logical or
    np.testing.assert_array_equal(ev("drills_active - belarus_attacked"), [0, 0, 1, 0])
    np.testing.assert_allclose(ev("0.2 * (day > 3)"), [0.0, 0.2, 0.2, 0.2])
    assert_scalar_consistent("drills_active - belarus_attacked")
    assert c("drills_active", expect="number").type == "bool"


def test_arithmetic_rejects_enums_and_text() -> None:
    e = err("rung + 1")
    assert "needs numbers" in e.message and "enum" in e.message
    assert "did you mean" in (e.hint or "")
    assert "needs numbers" in err("'war' * 2").message


# ---------------------------------------------------------------------------- logic


def test_and_or_not() -> None:
    a, b = ENV["drills_active"], ENV["belarus_attacked"]
    np.testing.assert_array_equal(ev("drills_active and belarus_attacked"), a & b)
    np.testing.assert_array_equal(ev("drills_active or belarus_attacked"), a | b)
    np.testing.assert_array_equal(
        ev("drills_active and not belarus_attacked or russia_attacked"),
        (a & ~b) | ENV["russia_attacked"],
    )
    np.testing.assert_array_equal(
        ev("drills_active and belarus_attacked and russia_attacked"), [False] * 4
    )
    assert c("true and false").value == np.False_
    assert c("true or false").value == np.True_
    assert ev("drills_active and always").dtype == np.bool_


def test_logic_needs_bool_operands_with_hint() -> None:
    e = err("tension and drills_active")
    assert e.message == "`and` needs true/false operands; tension is a number"
    assert e.hint == "did you mean tension > 0?"
    assert (
        str(e) == "`and` needs true/false operands; tension is a number (did you mean tension > 0?)"
    )
    assert e.offset == 0
    e = err("drills_active or day + 1")
    assert "`or` needs true/false" in e.message
    assert e.hint == "did you mean day + 1 > 0?"
    assert e.offset == len("drills_active or ")
    e = err("not rung")
    assert "`not`" in e.message and e.hint == 'did you mean rung == "peace"?'


# ---------------------------------------------------------------------------- comparisons


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("==", [False, True, False, False]),
        ("!=", [True, False, True, True]),
        ("<", [True, False, False, False]),
        ("<=", [True, True, False, False]),
        (">", [False, False, True, True]),
        (">=", [False, True, True, True]),
    ],
)
def test_comparison_operators(op: str, expected: list[bool]) -> None:
    result = ev(f"day {op} 5")
    assert result.dtype == np.bool_
    np.testing.assert_array_equal(result, expected)


def test_chained_comparison() -> None:
    np.testing.assert_array_equal(ev("0 < day <= 10"), [False, True, True, False])
    np.testing.assert_array_equal(ev("-5 < troops < day < 15"), [False, True, True, False])
    assert c("1 < 2 < 3").value == np.True_
    assert c("1 < 3 < 2").value == np.False_
    assert_scalar_consistent("0 < day <= 10")


def test_in_and_not_in_numbers() -> None:
    np.testing.assert_array_equal(ev("day in (0, 10)"), [True, False, True, False])
    np.testing.assert_array_equal(ev("day not in [0, 10]"), [False, True, False, True])
    np.testing.assert_array_equal(ev("troops in (-4, 7.0)"), [False, False, True, True])
    assert c("3 in (1, 2, 3)").value == np.True_


def test_in_needs_constant_list() -> None:
    assert "needs a list" in err("day in troops").message
    assert "must be constants" in err("day in (troops, 1)").message
    assert "empty" in err("day in ()").message
    assert "only allowed on the right of in" in err("(1, 2) == day").message
    assert "only allowed on the right of in" in err("[1, 2]").message


def test_comparing_bools() -> None:
    np.testing.assert_array_equal(
        ev("drills_active == belarus_attacked"), [True, True, False, True]
    )
    np.testing.assert_array_equal(ev("drills_active == true"), ENV["drills_active"])


# ---------------------------------------------------------------------------- enums


def test_enum_equality_and_membership() -> None:
    np.testing.assert_array_equal(ev("rung == 'war'"), [False, False, True, True])
    np.testing.assert_array_equal(ev('"war" == rung'), [False, False, True, True])
    np.testing.assert_array_equal(ev("rung != 'peace'"), [False, True, True, True])
    np.testing.assert_array_equal(ev("rung in ('peace', 'war')"), [True, False, True, True])
    np.testing.assert_array_equal(ev("rung not in ['peace']"), [False, True, True, True])
    np.testing.assert_array_equal(ev("rung == other_rung"), [True, False, True, False])
    assert_scalar_consistent("rung in ('peace', 'war')")


def test_enum_unknown_value_did_you_mean() -> None:
    e = err("rung == 'wr'")
    assert '"wr" is not a value of rung' in e.message
    assert e.hint == 'did you mean "war"?'
    assert e.offset == len("rung == ")
    e = err("rung in ('war', 'alrt')")
    assert e.hint == 'did you mean "alert"?'
    assert e.offset == len("rung in ('war', ")


def test_enum_misuse() -> None:
    assert "only be compared with ==, !=, in and not in" in err("rung < 'war'").message
    assert "cannot compare enum rung" in err("rung == 1").message
    assert "cannot compare enum rung" in err("rung in (1, 2)").message
    assert "different values" in err("rung == posture").message
    assert "only allowed where an enum value is expected" in err("'war' == 'war'").message
    assert "cannot compare text" in err("day == 'war'").message
    assert "only allowed where an enum value is expected" in err("'war'").message


def test_expect_enum() -> None:
    expr = c("'alert'", expect="enum", enum_values=RUNGS)
    assert expr.type == "enum" and expr.is_constant and expr.value == 1
    assert expr.enum_values == RUNGS
    expr = c("'war' if drills_active else rung", expect="enum", enum_values=RUNGS)
    np.testing.assert_array_equal(expr.evaluate(ENV), [2, 1, 2, 2])
    expr = c("'war' if drills_active else 'peace'", expect="enum", enum_values=RUNGS)
    np.testing.assert_array_equal(expr.evaluate(ENV), [2, 0, 2, 0])
    np.testing.assert_array_equal(
        c("rung", expect="enum", enum_values=RUNGS).evaluate(ENV), [0, 1, 2, 2]
    )
    e = err("'wr'", expect="enum", enum_values=RUNGS)
    assert e.message == '"wr" is not one of the allowed values "peace", "alert", "war"'
    assert e.hint == 'did you mean "war"?'
    assert "is expected here" in err("posture", expect="enum", enum_values=RUNGS).message
    assert "is expected here" in err("1", expect="enum", enum_values=RUNGS).message


# ---------------------------------------------------------------------------- ternary


def test_ternary() -> None:
    np.testing.assert_array_equal(ev("day if drills_active else troops"), [0, 3, 10, 7])
    assert c("day if drills_active else troops").type == "int"
    assert c("day if drills_active else 0.5").type == "float"
    assert c("true if drills_active else belarus_attacked").type == "bool"
    np.testing.assert_array_equal(ev("1 if day > 15 else 2 if day > 5 else 3"), [3, 3, 2, 1])
    np.testing.assert_array_equal(
        ev("(rung if drills_active else 'war') == 'war'"), [False, True, True, True]
    )
    assert c("1 if true else 2").value == 1
    assert_scalar_consistent("0.2 + 0.5 * tension if drills_active else 0.05")


def test_ternary_errors() -> None:
    e = err("1 if day else 2")
    assert "`if` needs a true/false condition" in e.message
    assert e.offset == len("1 if ")
    assert "same kind of value" in err("1 if drills_active else rung").message
    assert "same kind of value" in err("rung if drills_active else posture").message
    assert (
        "only allowed where an enum value is expected"
        in err("'war' if drills_active else 'peace'").message
    )


# ---------------------------------------------------------------------------- functions


def test_min_max() -> None:
    np.testing.assert_array_equal(ev("min(day, troops)"), [0, 3, -4, 7])
    np.testing.assert_array_equal(ev("max(day, troops, 6)"), [6, 6, 10, 20])
    assert c("max(day, troops)").type == "int"
    assert c("min(day, tension)").type == "float"
    assert c("min(3, 1, 2)").value == 1
    assert "at least 2 arguments" in err("min(day)").message
    assert "at least 2 arguments" in err("max()").message


def test_abs_clip() -> None:
    np.testing.assert_array_equal(ev("abs(troops)"), [0, 3, 4, 7])
    assert c("abs(troops)").type == "int"
    np.testing.assert_array_equal(ev("clip(troops, 0, 5)"), [0, 3, 0, 5])
    np.testing.assert_allclose(ev("clip(tension, 0.1, 0.6)"), [0.1, 0.25, 0.5, 0.6])
    assert c("clip(5, 3, 1)").value == 1  # lo > hi: defined as min(max(x, lo), hi)
    assert "exactly 3 arguments (got 2)" in err("clip(day, 1)").message
    assert "exactly 1 argument (got 2)" in err("abs(day, 1)").message


def test_round_half_away_from_zero() -> None:
    values = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, 2.4, -2.6, 1e300])
    expr = c("round(tension)")
    result = expr.evaluate({"tension": values})
    np.testing.assert_array_equal(result, [1, 2, 3, -1, -2, -3, 0, 2, -3, 1e300])
    for v, r in zip(values, result, strict=True):
        assert expr.evaluate({"tension": v}) == r
        assert expr.evaluate({"tension": float(v)}) == r
    assert c("round(2.5)").value == 3.0
    assert c("round(day)").type == "int"
    assert c("round(tension)").type == "float"
    odd = 2.0**52 + 1  # floor(x + 0.5) would round this up to the next even number
    assert expr.evaluate({"tension": odd}) == odd


def test_exp_log_are_guarded() -> None:
    assert c("exp(0)").value == 1.0
    # The argument is clipped to [-50, 50] (folded constants above 1e15 are rejected, so
    # check this at run time).
    big = c("exp(tension)").evaluate({"tension": np.array([1000.0, 50.0, -1000.0, np.inf])})
    np.testing.assert_array_equal(big, np.exp([50.0, 50.0, -50.0, 50.0]))
    assert c("exp(-1000)").value == np.exp(-50.0)
    assert c("log(0)").value == np.log(1e-12)
    assert c("log(-5)").value == np.log(1e-12)
    np.testing.assert_allclose(ev("log(exp(tension))"), ENV["tension"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.all(np.isfinite(ev("exp(day * 100) + log(troops)")))
    assert c("exp(day)").type == "float"


def test_date() -> None:
    expr = c("date('2022-02-20')")
    assert expr.is_constant and expr.value == 5 and expr.type == "int"
    assert c("date('2022-02-10')").value == -5
    assert c("date('2022-02-15')", start_date=datetime.datetime(2022, 2, 15, 12)).value == 0
    assert str(c("date('2022-02-20')")) == 'date("2022-02-20")'
    assert "no start date" in err("date('2022-02-20')", start_date=None).message
    for bad in ["2022-02-30", "2022-2-3", "20220220", "yesterday", "2022-02-20T00:00"]:
        assert "invalid date" in err(f"date('{bad}')").message
    assert "one text argument" in err("date(day)").message
    assert "one text argument" in err("date('2022-02-20', '2022-02-21')").message


def test_disallowed_functions() -> None:
    for name in ["open", "eval", "exec", "getattr", "print", "sqrt", "__import__"]:
        e = err(f"{name}('x')")
        assert e.message == (
            f"function {name} is not allowed; allowed: abs, clip, date, exp, log, max, min, round"
        )
    assert err("mn(1, 2)").hint == "did you mean min?"
    assert "not allowed" in err("os.system('ls')").message
    assert "not allowed" in err("'a'.upper()").message
    assert "not allowed" in err("min(1, 2)(3)").message
    e = err("max")
    assert "is a function" in e.message
    assert set(ALLOWED_FUNCTIONS) == {"abs", "clip", "date", "exp", "log", "max", "min", "round"}


def test_keyword_and_star_arguments_rejected() -> None:
    assert "keyword argument lo=" in err("clip(tension, lo=0, hi=1)").message
    assert "keyword arguments" in err("min(**k)").message
    assert "starred" in err("min(*day)").message


# ---------------------------------------------------------------------------- names


def test_dotted_names() -> None:
    expr = c("ukraine.strike_belarus.count + kremlin.offensive_from_belarus.count")
    np.testing.assert_array_equal(expr.evaluate(ENV), [1, 1, 2, 3])
    assert expr.names == {
        "ukraine.strike_belarus.count",
        "kremlin.offensive_from_belarus.count",
    }


def test_unknown_name_did_you_mean_and_offset() -> None:
    e = err("tension > 1 and drils_active")
    assert e.message == "unknown name 'drils_active'"
    assert e.hint == "did you mean drills_active?"
    assert e.offset == 16
    assert str(e) == "unknown name 'drils_active' (did you mean drills_active?)"
    e = err("ukraine.strike_belaru.count > 0")
    assert e.hint == "did you mean ukraine.strike_belarus.count?"
    assert e.offset == 0
    e = err("zzz")
    assert e.hint is None and str(e) == "unknown name 'zzz'"
    assert err("tru").hint == "did you mean true?"


def test_offsets_with_whitespace_newlines_and_unicode() -> None:
    assert err("   bogus").offset == 3
    assert err("(tension >\n 1 and bogus)").offset == len("(tension >\n 1 and ")
    # The parser reports UTF-8 byte columns; offsets must be in characters.
    local = {"niveau": Symbol("niveau", "enum", ("élevé", "bas")), "day": SYMBOLS["day"]}
    for text, prefix in [
        ("niveau == 'élevé' or bogus", "niveau == 'élevé' or "),
        ("niveau == 'élevé' or day % 2", "niveau == 'élevé' or day "),
        ("niveau == 'élevé' or day ==", "niveau == 'élevé' or day =="),
        ("niveau == 'élevé' or day day", "niveau == 'élevé' or day "),
    ]:
        with pytest.raises(ExpressionError) as info:
            compile_expr(text, local)
        assert info.value.offset == len(prefix), text
    e = err("day >")
    assert e.message.startswith("syntax error")
    assert 0 <= e.offset <= len("day >")
    assert err("day day").offset == 4


def test_underscore_names_rejected() -> None:
    for text in ["_secret", "a.__class__", "__builtins__", "a._b", "x__y"]:
        assert "names starting with an underscore are not allowed" in err(text).message


def test_attribute_on_non_name_rejected() -> None:
    for text in ["().__class__", "f(x).y", "'a'.upper", "(1).real", "(day + 1).imag"]:
        assert "attribute access is only allowed on declared dotted names" in err(text).message


def test_private_symbols() -> None:
    expr = c("kremlin.secret_plan and drills_active", owner="russia")
    np.testing.assert_array_equal(expr.evaluate(ENV), [True, False, False, False])
    e = err("kremlin.secret_plan", owner="nato")
    assert (
        e.message == "kremlin.secret_plan is private knowledge of russia; it cannot be used by nato"
    )
    e = err("kremlin.secret_plan")
    assert e.message.endswith("it cannot be used by this expression")
    # Private names are not leaked through did-you-mean suggestions.
    assert err("kremlin.secret_pla").hint is None
    assert err("kremlin.secret_pla", owner="russia").hint == "did you mean kremlin.secret_plan?"


def test_constant_symbols_are_folded() -> None:
    expr = c("rungs.war + 1")
    assert expr.is_constant and expr.value == 3 and expr.type == "int"
    assert expr.names == {"rungs.war"}
    assert expr.evaluate({}) == 3
    expr = c("day * half")
    assert expr.names == {"day", "half"}
    np.testing.assert_array_equal(expr.evaluate(ENV), [0.0, 2.5, 5.0, 10.0])
    assert c("always and true").value == np.True_


# ---------------------------------------------------------------------------- folding


def test_constant_folding() -> None:
    expr = c("0.2 + 0.5 * 2")
    assert expr.is_constant and expr.value == 1.2 and expr.type == "float"
    assert str(expr) == "0.2 + 0.5 * 2"  # printing keeps the written structure
    assert not c("day + 1").is_constant and c("day + 1").value is None
    assert c("min(1, 2) + max(3, 4) * abs(-2)").value == 9
    assert c("1 < 2 and not false").value == np.True_


def test_constant_too_large() -> None:
    for text in ["1e10 * 1e10", "10 ** 16", "1e16", "10000000000000000", "10**8 * 10**8"]:
        assert "constant too large" in err(text).message
    assert "constant too large" in err("exp(50)").message
    assert c(str(int(MAX_CONSTANT))).value == MAX_CONSTANT
    assert "not a number" in err("(-8) ** 0.5").message


# ---------------------------------------------------------------------------- rejections


def test_import_os_system_is_rejected(tmp_path: pathlib.Path) -> None:
    target = tmp_path / "pwned"
    with pytest.raises(ExpressionError, match="not allowed"):
        c(f"__import__('os').system('touch {target}')")
    assert not target.exists()
    with pytest.raises(ExpressionError):
        c("__import__('os')")
    assert not target.exists()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("lambda: 1", "lambda"),
        ("lambda x: x", "lambda"),
        ("day[0]", "subscripts like x[0] are not allowed"),
        ("day[1:2]", "subscripts"),
        ("f'{day}'", "f-strings are not allowed"),
        ("(x := 1)", "assignment expressions"),
        ("[d for d in day]", "comprehensions"),
        ("{d for d in day}", "comprehensions"),
        ("{d: 1 for d in day}", "comprehensions"),
        ("(d for d in day)", "generator expressions"),
        ("*day", "syntax error"),
        ("{1, 2}", "sets"),
        ("{'a': 1}", "dictionaries"),
        ("(1, 2)", "tuples and lists"),
        ("day // 2", "floor division"),
        ("day % 2", "remainder"),
        ("day @ day", "matrix"),
        ("day & 1", "use and"),
        ("day | 1", "use or"),
        ("day ^ 2", "for powers use **"),
        ("day << 1", "shift"),
        ("day >> 1", "shift"),
        ("~day", "use not"),
        ("day is 1", "`is` is not allowed"),
        ("day is not 1", "`is` is not allowed"),
        ("None", "None is not allowed"),
        ("b'x' == rung", "byte strings"),
        ("1j", "complex numbers"),
        ("...", "... is not allowed"),
        ("await day", "await"),
        ("(yield)", "yield"),
        ("day if", "syntax error"),
        ("", "empty expression"),
        ("   \n ", "empty expression"),
        ("day\x00", "null bytes"),
        ("import os", "syntax error"),
        ("day = 1", "syntax error"),
        ("day; day", "syntax error"),
    ],
)
def test_rejected_constructs(text: str, fragment: str) -> None:
    assert fragment in err(text).message


def test_operator_error_offset_points_at_operator() -> None:
    assert err("day  // 2").offset == 5
    assert err("(day) % 2").offset == 6


def test_resource_limits() -> None:
    e = err("(" * 5000)
    assert "too long" in e.message
    e = err("day + " * 400 + "1")
    assert e.message == f"expression is too long (2401 characters; the limit is {MAX_LENGTH})"
    assert "too long" in err("x" * 2000).message
    assert "syntax error" in err("(" * 300 + "1" + ")" * 300).message  # parser nesting limit
    assert "nested too deeply" in err("-" * (MAX_DEPTH + 5) + "day").message
    assert "nested too deeply" in err("+".join(["1"] * 60)).message
    many = "min(" + ",".join(["1"] * (MAX_NODES + 5)) + ")"
    assert len(many) <= MAX_LENGTH
    assert "too complex" in err(many).message
    assert c("-" * (MAX_DEPTH - 2) + "day").type == "int"
    assert c("9 ** 9").value == 387420489


def test_nested_parentheses_beyond_length_are_rejected_quickly() -> None:
    for text in ["(" * 10_000, "(" * 10_000 + ")" * 10_000, "[" * 10_000, "-" * 10_000 + "1"]:
        assert "too long" in err(text).message


# ---------------------------------------------------------------------------- expect


def test_expect_bool() -> None:
    assert c("day > 1", expect="bool").type == "bool"
    e = err("tension", expect="bool")
    assert e.message == "a condition must be true or false; got a number"
    assert e.hint == "did you mean tension > 0?"
    assert "got an enum value" in err("rung", expect="bool").message


def test_expect_number() -> None:
    assert c("tension * 2", expect="number").type == "float"
    assert c("day", expect="number").type == "int"
    assert c("true", expect="number").type == "bool"
    assert "a number is expected" in err("rung", expect="number").message


def test_expect_argument_validation() -> None:
    with pytest.raises(ValueError, match="expect"):
        c("1", expect="string")
    with pytest.raises(ValueError, match="enum_values"):
        c("'war'", expect="enum")


# ---------------------------------------------------------------------------- evaluate


def test_evaluate_scalars_and_size_broadcasting() -> None:
    expr = c("0.05")
    assert isinstance(expr.evaluate({}), np.float64)
    full = expr.evaluate({}, size=5)
    assert isinstance(full, np.ndarray) and full.shape == (5,) and full.dtype == np.float64
    np.testing.assert_array_equal(full, [0.05] * 5)
    expr = c("day > 3")
    one = expr.evaluate({"day": 7})
    assert isinstance(one, np.bool_) and one
    assert expr.evaluate({"day": np.int64(2)}) == np.False_
    np.testing.assert_array_equal(expr.evaluate({"day": 7}, size=3), [True, True, True])
    np.testing.assert_array_equal(expr.evaluate(ENV, size=4), [False, True, True, True])
    assert c("true").evaluate({}, size=2).dtype == np.bool_
    assert c("rungs.war").evaluate({}, size=2).dtype == np.int64


def test_evaluate_does_not_copy_inputs() -> None:
    assert c("tension").evaluate(ENV) is ENV["tension"]


def test_evaluate_python_scalars_match_numpy_scalars() -> None:
    expr = c("0.2 + 0.5 * tension if drills_active else day / 3")
    for i in range(4):
        py_env = {k: v[i].item() for k, v in ENV.items()}
        assert expr.evaluate(py_env) == expr.evaluate(scalar_env(i))
        assert expr.evaluate(py_env).dtype == np.float64


def test_evaluate_missing_value() -> None:
    with pytest.raises(ExpressionError, match="no value for 'day'"):
        c("day + 1").evaluate({})


def test_evaluate_result_dtypes() -> None:
    assert ev("day > 1").dtype == np.bool_
    assert ev("day + 1").dtype == np.int64
    assert ev("day / 1").dtype == np.float64
    assert ev("rung if drills_active else other_rung").dtype == np.int64


def test_scalar_vector_consistency_for_all_functions() -> None:
    for text in [
        "min(day, tension, troops) + max(troops, 1)",
        "abs(troops) + clip(tension, 0.1, 0.4)",
        "round(tension * 5 - 1.25) + exp(tension) - log(tension)",
        "troops ** 3 + tension ** -2 + tension ** 0.5",
        "rung == 'war' or posture != 'offensive'",
        "day / troops",
    ]:
        assert_scalar_consistent(text)


# ---------------------------------------------------------------------------- printing


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("day+1", "day + 1"),
        ("(day + 1) * 2", "(day + 1) * 2"),
        ("day + (troops + 1)", "day + (troops + 1)"),
        ("day - (troops - 1)", "day - (troops - 1)"),
        ("(day - troops) - 1", "day - troops - 1"),
        ("-(day + 1)", "-(day + 1)"),
        ("(-day) ** 2", "(-day) ** 2"),
        ("-day ** 2", "-day ** 2"),
        ("day ** -1", "day ** (-1)"),
        ("(day ** 2) ** 3", "(day ** 2) ** 3"),
        ("day ** 2 ** 3", "day ** 2 ** 3"),
        ("not (drills_active and always)", "not (drills_active and always)"),
        ("(drills_active or always) and true", "(drills_active or always) and true"),
        ("drills_active and (always and true)", "drills_active and (always and true)"),
        ("not day > 1", "not day > 1"),
        ("(day > 1) == true", "(day > 1) == true"),
        ("(1 if drills_active else 2) + 1", "(1 if drills_active else 2) + 1"),
        (
            "1 if drills_active else 2 if always else 3",
            "1 if drills_active else 2 if always else 3",
        ),
        (
            "(1 if drills_active else 2) if always else 3",
            "(1 if drills_active else 2) if always else 3",
        ),
        ("rung == 'war'", 'rung == "war"'),
        ("rung in ('war',)", 'rung in ["war"]'),
        ("day in (1, -2, 3.5)", "day in [1, -2, 3.5]"),
        ("True and False", "true and false"),
        ("0.1 + 1e-05", "0.1 + 1e-05"),
        ("0x10", "16"),
        ("max(day,troops , 1)", "max(day, troops, 1)"),
        ("1 + (not drills_active)", "1 + (not drills_active)"),
    ],
)
def test_canonical_text_round_trips(text: str, canonical: str) -> None:
    expr = c(text)
    assert str(expr) == canonical
    again = c(str(expr))
    assert str(again) == canonical
    np.testing.assert_array_equal(again.evaluate(ENV, size=4), expr.evaluate(ENV, size=4))
    assert repr(expr) == f"Expr({canonical!r}, type={expr.type!r})"
    assert expr.source == text


def test_enum_value_with_quotes_round_trips() -> None:
    odd = ('say "hi"', "back\\slash", "new\nline")
    symbols = {"mood": Symbol("mood", "enum", odd)}
    for value in odd:
        text = f"mood == {value!r}"
        expr = compile_expr(text, symbols)
        again = compile_expr(str(expr), symbols)
        assert str(again) == str(expr)
        assert again.evaluate({"mood": odd.index(value)})


# ---------------------------------------------------------------------------- API details


def test_expression_error_attributes_and_pickle() -> None:
    e = ExpressionError("boom", 3, "did you mean bam?")
    assert (e.message, e.offset, e.hint) == ("boom", 3, "did you mean bam?")
    assert str(e) == "boom (did you mean bam?)"
    assert str(ExpressionError("plain")) == "plain"
    assert ExpressionError("plain").offset == 0
    copy = pickle.loads(pickle.dumps(e))
    assert (copy.message, copy.offset, copy.hint) == ("boom", 3, "did you mean bam?")


def test_symbol_validation() -> None:
    with pytest.raises(ValueError):
        Symbol("x", "string")
    with pytest.raises(ValueError):
        Symbol("x", "enum")
    with pytest.raises(ValueError):
        Symbol("x", "enum", ("a", "a"))
    with pytest.raises(ValueError):
        Symbol("x", "int", ("a",))
    with pytest.raises(ValueError):
        Symbol("x", "enum", ("a", "b"), constant="c")
    with pytest.raises(ValueError):
        Symbol("x", "enum", ("a", "b"), constant=2)


def test_enum_constant_symbols() -> None:
    symbols = {
        "rung": SYMBOLS["rung"],
        "war": Symbol("war", "enum", RUNGS, constant="war"),
        "alert": Symbol("alert", "enum", RUNGS, constant=1),
    }
    expr = compile_expr("rung == war or rung == alert", symbols)
    np.testing.assert_array_equal(expr.evaluate(ENV), [False, True, True, True])
    assert compile_expr("war == 'war'", symbols).value == np.True_
    assert compile_expr("war", symbols, expect="enum", enum_values=RUNGS).value == 2
    assert Symbol("x", "enum", ["a", "b"]).enum_values == ("a", "b")  # type: ignore[arg-type]


def test_expr_pickles_by_recompiling() -> None:
    expr = c("kremlin.secret_plan and day >= date('2022-02-20')", owner="russia")
    copy = pickle.loads(pickle.dumps(expr))
    assert str(copy) == str(expr) and copy.names == expr.names and copy.type == expr.type
    np.testing.assert_array_equal(copy.evaluate(ENV), expr.evaluate(ENV))
    enum = c("'war' if drills_active else rung", expect="enum", enum_values=RUNGS)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(enum)).evaluate(ENV), [2, 1, 2, 2])
