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
