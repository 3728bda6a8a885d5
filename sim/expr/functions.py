"""The whitelisted functions and the numeric helpers behind them.

The helpers keep results finite where plain numpy would not: division by zero gives 0,
``exp`` clips its argument and ``log`` floors it.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any

import numpy as np

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


_INT_TOP = np.int64(np.iinfo(np.int64).max)
_INT_OVER = 2.0**63


def _saturating(func: Any) -> Any:
    """``func`` on int64 operands, saturating at +-(2**63 - 1) instead of wrapping around.

    The result is computed in int64 (exact wherever it fits) and again in float64; where
    the float result is out of the int64 range, the bound of its sign replaces the
    wrapped value. Near the bound the float result is rounded, so a result within about
    1e3 of 9.2e18 may be saturated a little early: no scenario value comes near (they
    are limited to 1e15).
    """

    def op(a: Any, b: Any) -> Any:
        with np.errstate(over="ignore"):
            exact = func(a, b)
            wide = func(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
        over = np.greater_equal(np.absolute(wide), _INT_OVER)
        if not np.any(over):
            return exact
        return _to_scalar_like(np.where(over, np.where(wide > 0, _INT_TOP, -_INT_TOP), exact))

    return op


def _to_scalar_like(value: Any) -> Any:
    value = np.asarray(value, dtype=np.int64)
    return value[()] if value.ndim == 0 else value


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
