"""Pins: each distribution's support, and one check for the CLI, the API and the viewer."""

from __future__ import annotations

import math

import pytest
from conftest import DEFAULT_SCENARIO

from sim.errors import UsageError
from sim.scenario.model import Parameter
from sim.scenario.pins import check_pin, finite_range, support


def _p(dist: str, integer: bool = False, options=(), enum=(), **args) -> Parameter:
    return Parameter("x", dist, args, tuple(options), tuple(enum), integer)


@pytest.mark.parametrize(
    "param, inside, outside",
    [
        (_p("uniform", low=0.02, high=0.15), [0.02, 0.1, 0.15], [0.0199, 0.16]),
        (_p("triangular", low=1, mode=2, high=5), [1, 5], [0.5, 5.5]),
        (_p("beta", a=2, b=5), [0, 0.3, 1], [-0.01, 1.01]),
        (_p("beta", a=2, b=5, low=10, high=20), [10, 20], [9, 21]),
        (_p("normal", mean=0, sd=1), [-1e9, 1e9], []),
        (_p("normal", mean=0, sd=1, low=0), [0, 40], [-0.1]),
        (_p("uniform", integer=True, low=0.6, high=9.4), [1, 9, 3.0], [0, 10]),
        (_p("choice", options=[(1, 0.5), (2.5, 0.5)]), [1, 2.5], [2, 1.5]),
        (_p("fixed", value=0.3), [0.3], [0.31]),
    ],
)
def test_a_pin_must_lie_in_the_support(param, inside, outside) -> None:
    for value in inside:
        assert check_pin(param, value) == value
    for value in outside:
        with pytest.raises(UsageError, match="distribution\\); got"):
            check_pin(param, value)


def test_types_whole_numbers_and_words() -> None:
    whole = _p("uniform", integer=True, low=0, high=10)
    assert check_pin(whole, 4.0) == 4 and isinstance(check_pin(whole, 4.0), int)
    with pytest.raises(UsageError, match="takes a whole number"):
        check_pin(whole, 4.5)  # refused, not rounded
    for bad in (True, "4", None, math.inf, math.nan):
        with pytest.raises(UsageError):
            check_pin(whole, bad)
    words = _p("choice", options=[("a", 1), ("b", 0)], enum=("a", "b"))
    assert check_pin(words, "b") == "b"  # a zero weight still is a value of the choice
    with pytest.raises(UsageError, match="did you mean 'a'"):
        check_pin(words, "aa")
    with pytest.raises(UsageError):
        check_pin(words, 0)  # the words, not their codes


def test_finite_range_of_an_uncut_normal_and_of_whole_numbers() -> None:
    assert finite_range(_p("normal", mean=10, sd=2)) == (4.0, 16.0)
    assert finite_range(_p("normal", mean=10, sd=2, low=8)) == (8.0, 16.0)
    assert finite_range(_p("normal", integer=True, mean=10, sd=0.9)) == (8.0, 12.0)
    assert support(_p("triangular", integer=True, low=1.5, mode=3, high=7.5)).low == 2
    with pytest.raises(ValueError, match="set of values"):
        finite_range(_p("choice", options=[(1, 1)]))


def test_cli_refuses_a_pin_outside_the_support(capsys, tmp_path) -> None:
    from sim.cli import main

    argv = ["batch", str(DEFAULT_SCENARIO), "--runs", "10", "--out", str(tmp_path / "b")]
    assert main([*argv, "--pin", "kremlin_appetite=1.5"]) == 2
    err = capsys.readouterr().err
    assert "error: parameter 'kremlin_appetite' takes a number in [0, 1]" in err
    assert "Traceback" not in err and not (tmp_path / "b").exists()
    assert main([*argv, "--pin", "russian_troops=20000.0", "--no-plots", "-q"]) == 0


def test_viewer_leaves_out_a_pin_an_override_makes_invalid() -> None:
    pytest.importorskip("solara")
    from sim.viz.settings import ViewerSettings

    settings = ViewerSettings(str(DEFAULT_SCENARIO))
    settings.shown["withdrawal_rate"].set(0.14)
    settings.pin["withdrawal_rate"].set(True)
    settings.shown["lukashenka_doctrine"].set("like_russian_army")
    applied = settings.applied()
    assert not applied.errors
    assert settings.checked_pins(applied.scenario) == (
        {"withdrawal_rate": 0.14, "lukashenka_doctrine": "like_russian_army"},
        {},
    )
    settings.extra.set("parameters.withdrawal_rate.high=0.1")
    applied = settings.applied()
    pins, why = settings.checked_pins(applied.scenario)
    assert not applied.errors and pins == {"lukashenka_doctrine": "like_russian_army"}
    assert set(why) == {"withdrawal_rate"}
    assert "parameter 'withdrawal_rate' takes a number in [0.02, 0.1]" in why["withdrawal_rate"]


def test_viewer_choice_pins_the_option_itself() -> None:
    from sim.scenario.model import Scenario
    from sim.viz.controls import controls_for

    precise = _p("choice", options=[(0.1234567, 1), (0.9, 1)])
    sc = Scenario.__new__(Scenario)
    object.__setattr__(sc, "parameters", (precise,))
    (control,) = controls_for(sc)
    assert control.choices == ("0.123457", "0.9")
    assert control.value_of("0.123457") == 0.1234567
    assert check_pin(precise, control.value_of("0.123457")) == 0.1234567
