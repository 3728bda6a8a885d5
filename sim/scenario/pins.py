"""Pinned parameter values: which values a parameter can take, and checking pins.

A *pin* replaces a parameter's draw by one value in every world (``--pin``,
``param.<id>`` in sweeps, ``pinned=`` of ``run_batch`` and ``WargameModel``,
the viewer's sliders, the inputs of :func:`sim.interop.evaluate`). Every one
of those paths checks its pins with :func:`check_pinned`, so a value is
accepted or refused, and normalised, the same way everywhere.

A pin must lie in the parameter's :class:`Support`, the set of values its
distribution can produce: a value a world could never draw would make the
results describe a scenario nobody wrote. Whole-number parameters take
whole numbers; ``3.0`` (as samplers produce it) counts as ``3``, ``3.5`` is
refused rather than rounded, so what ran is what was asked for.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.errors import UsageError
from sim.spec import did_you_mean

if TYPE_CHECKING:
    from sim.scenario.model import Parameter, Scenario

__all__ = ["Support", "check_pin", "check_pinned", "finite_range", "parameter_of", "support"]

SPREAD_SD = 3.0
"""Half-width, in standard deviations, of :func:`finite_range` for an uncut normal."""


@dataclass(frozen=True)
class Support:
    """The values a parameter's distribution can produce.

    Either a closed range ``[low, high]`` (ends may be infinite for an uncut
    normal), of whole numbers only if ``integer``, or a finite set
    ``values`` (the options of a ``choice``, the value of a ``fixed``).
    """

    low: float = -math.inf
    high: float = math.inf
    integer: bool = False
    values: tuple[Any, ...] = ()

    @property
    def discrete(self) -> bool:
        """True for a finite set of values (choice, fixed)."""
        return bool(self.values)

    def describe(self) -> str:
        """The support in words, for error messages."""
        if self.discrete:
            return "one of " + ", ".join(_text(v) for v in self.values)
        ends = f"[{_text(self.low)}, {_text(self.high)}]"
        return f"a whole number in {ends}" if self.integer else f"a number in {ends}"


def _text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _whole(x: float) -> int:
    """Round half up, as the engine rounds draws of whole-number parameters."""
    return math.floor(x + 0.5)


def support(p: Parameter) -> Support:
    """The support of parameter ``p`` (see :class:`Support`)."""
    a = p.args
    if p.enum_values:
        return Support(values=tuple(p.enum_values))
    if p.dist == "fixed":
        v = a["value"]
        return Support(values=(_whole(v) if p.integer else float(v),), integer=p.integer)
    if p.dist == "choice":
        vals = (float(v) for v, _ in p.options)
        return Support(values=tuple(_whole(v) if p.integer else v for v in vals), integer=p.integer)
    if p.dist == "beta":
        lo, hi = a.get("low", 0.0), a.get("high", 1.0)
    elif p.dist == "normal":
        lo = -math.inf if a.get("low") is None else a["low"]
        hi = math.inf if a.get("high") is None else a["high"]
    else:  # uniform, triangular
        lo, hi = a["low"], a["high"]
    if p.integer:
        lo, hi = (lo if math.isinf(lo) else _whole(lo)), (hi if math.isinf(hi) else _whole(hi))
    return Support(float(lo), float(hi), p.integer)


def finite_range(p: Parameter) -> tuple[float, float]:
    """Finite ends of a continuous or whole-number parameter, for samplers and sliders.

    The support's ends, except for a normal without a cut, whose support is
    unbounded: there the range is the mean plus or minus :data:`SPREAD_SD`
    standard deviations (inside any one-sided cut), which holds all but
    0.3% of its draws. Whole-number ranges end on whole numbers.

    Raises:
        ValueError: ``p`` takes a set of values (choice, fixed), not a range.
    """
    s = support(p)
    if s.discrete:
        raise ValueError(f"parameter {p.id!r} takes one of a set of values, not a range")
    lo, hi = s.low, s.high
    if math.isinf(lo) or math.isinf(hi):
        mean, sd = p.args["mean"], p.args["sd"]
        lo = max(lo, mean - SPREAD_SD * sd)
        hi = min(hi, mean + SPREAD_SD * sd)
        if p.integer:
            lo, hi = math.ceil(lo), math.floor(hi)
    return float(lo), float(hi)


def check_pin(p: Parameter, value: Any) -> Any:
    """``value`` checked against ``p`` and normalised (a word, an ``int`` or a ``float``).

    Raises:
        UsageError: the value has the wrong type, is not finite, is not a
            whole number for a whole-number parameter, or lies outside the
            parameter's support.
    """
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars from samplers
        value = value.item()
    s = support(p)
    if p.enum_values:
        if not isinstance(value, str) or value not in s.values:
            words = [str(v) for v in s.values]
            raise UsageError(
                f"parameter {p.id!r} takes one of {', '.join(words)} (got {value!r})"
                f"{did_you_mean(str(value), words)}"
            )
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UsageError(f"parameter {p.id!r} takes a number (got {value!r})")
    x = float(value)
    if not math.isfinite(x):
        raise UsageError(f"parameter {p.id!r} takes a finite number (got {value!r})")
    if p.integer and not x.is_integer():
        raise UsageError(f"parameter {p.id!r} takes a whole number (got {value!r})")
    if not (x in s.values if s.discrete else s.low <= x <= s.high):
        hint = f"; to change it, --set parameters.{p.id}.value=..." if p.dist == "fixed" else ""
        raise UsageError(
            f"parameter {p.id!r} takes {s.describe()} (its {p.dist} distribution); "
            f"got {value!r}{hint}"
        )
    return int(x) if p.integer else x


def parameter_of(sc: Scenario, pid: str, what: str = "parameter") -> Parameter:
    """Parameter ``pid`` of ``sc``.

    Raises:
        UsageError: no such parameter; the message suggests a close id and
            lists them all (``what`` names the input, e.g. "pinned parameter").
    """
    ids = [p.id for p in sc.parameters]
    if pid not in ids:
        raise UsageError(
            f"{what} {pid!r} is not a parameter of scenario {sc.name!r}"
            f"{did_you_mean(str(pid), ids)} (parameters: {', '.join(ids)})"
        )
    return sc.parameter(pid)


def check_pinned(sc: Scenario, pinned: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check pinned values against the scenario's parameters; return them normalised.

    The one check behind every way of pinning (see the module docstring).

    Raises:
        UsageError: an unknown parameter id (with a suggestion) or a bad
            value (see :func:`check_pin`).
    """
    return {
        pid: check_pin(parameter_of(sc, pid, "pinned parameter"), value)
        for pid, value in (pinned or {}).items()
    }
