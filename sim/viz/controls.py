"""What the viewer lets a user change, derived from a scenario (no UI code here).

Each uncertain parameter becomes one :class:`Control`: a slider between the
ends of its distribution for continuous and integer ranges, or a list of
choices for ``choice`` parameters. A control is either *pinned* to a value
(every world uses it) or left *uncertain* (every world draws its own value,
as in a batch run). Actors' rationality expressions and any other scenario
value are changed through ``--set``-style overrides, built here from the
text the user typed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sim.errors import ValidationError
from sim.results.drivers import parameter_name
from sim.scenario.model import Parameter, Scenario
from sim.scenario.pins import finite_range, support

UNCERTAIN = "uncertain (draw from distribution)"
"""The choice that leaves a parameter to its distribution."""


@dataclass(frozen=True)
class Control:
    """One input of the viewer: how a parameter can be pinned.

    Attributes:
        id: the parameter id.
        name: a readable name, the first clause of the description (as the
            drivers charts name it), else the id in words.
        kind: ``"slider"`` (a number between ``low`` and ``high``) or
            ``"select"`` (one of ``choices``).
        distribution: the distribution in words, e.g. ``Beta(3, 3) on [0, 1]``.
        description: what the parameter means (from the scenario).
        low, high, step: slider range and increment.
        default: the slider's starting position (the distribution's centre,
            on the slider's grid) or :data:`UNCERTAIN` for a list.
        integer: whether pinned values are whole numbers.
        choices: the values of a ``select`` control, as text.
        values: the values those texts stand for (the options themselves,
            so a pin is exactly an option, never a rounded copy of one).
    """

    id: str
    kind: str
    distribution: str
    description: str = ""
    name: str = ""
    low: float = 0.0
    high: float = 1.0
    step: float = 0.01
    default: Any = None
    integer: bool = False
    choices: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()

    def snap(self, x: float) -> float | int:
        """``x`` on the slider's grid, rounded as the browser's slider rounds it.

        Values off the grid would be "corrected" by the slider when the page
        loads, which would look like a change the user made.
        """
        x = min(max(float(x), self.low), self.high)
        k = round((x - self.low) / self.step)
        x = min(self.low + k * self.step, self.high)
        if self.integer:
            return round(x)
        decimals = max(0, -math.floor(math.log10(self.step)) + 1)
        return round(x, decimals)

    @property
    def ends(self) -> tuple[str, str]:
        """The slider's lowest and highest values as text, for the labels at its ends."""
        return format_value(self, self.low), format_value(self, self.high)

    def value_of(self, shown: Any) -> Any:
        """The value to pin, from what the input shows (``None`` if uncertain)."""
        if self.kind == "select":
            if shown in (None, UNCERTAIN):
                return None
            by_text = dict(zip(self.choices, self.values, strict=True))
            return by_text.get(shown, shown)  # unknown text: refused when the pin is checked
        return self.snap(shown)


def nice_step(span: float, divisions: int = 100) -> float:
    """A round increment (1, 2 or 5 times a power of ten) near ``span / divisions``."""
    if span <= 0:
        return 1.0
    raw = span / divisions
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power  # pragma: no cover - the loop always returns


def distribution_text(p: Parameter) -> str:
    """The distribution in words, e.g. ``Beta(3, 3) on [0, 1]``."""
    a = p.args
    if p.dist == "uniform":
        return f"Uniform on [{_g(a['low'])}, {_g(a['high'])}]"
    if p.dist == "triangular":
        return f"Triangular on [{_g(a['low'])}, {_g(a['high'])}], mode {_g(a['mode'])}"
    if p.dist == "beta":
        lo, hi = a.get("low", 0.0), a.get("high", 1.0)
        return f"Beta({_g(a['a'])}, {_g(a['b'])}) on [{_g(lo)}, {_g(hi)}]"
    if p.dist == "normal":
        text = f"Normal(mean {_g(a['mean'])}, sd {_g(a['sd'])})"
        if a.get("low") is not None or a.get("high") is not None:
            text += f" cut to [{_g(a.get('low', -math.inf))}, {_g(a.get('high', math.inf))}]"
        return text
    if p.dist == "choice":
        total = sum(w for _, w in p.options) or 1.0
        return "one of " + ", ".join(f"{v} ({w / total:.0%})" for v, w in p.options)
    return "fixed"


def _g(x: float) -> str:
    return f"{x:,.6g}" if abs(x) >= 1000 else f"{x:.6g}"


def controls_for(scenario: Scenario) -> tuple[Control, ...]:
    """One control per uncertain parameter, in the scenario's order.

    Fixed parameters get none: there is nothing to pin.
    """
    out: list[Control] = []
    for p in scenario.parameters:
        if p.dist == "fixed":
            continue
        dist = distribution_text(p)
        name = parameter_name(p.id, p.description)
        if p.dist == "choice":
            values = tuple(dict.fromkeys(support(p).values))
            choices = tuple(v if isinstance(v, str) else _g(v) for v in values)
            out.append(
                Control(
                    p.id,
                    "select",
                    dist,
                    p.description,
                    name,
                    default=UNCERTAIN,
                    integer=p.integer,
                    choices=choices,
                    values=values,
                )
            )
            continue
        low, high, centre = _range(p)
        step = max(1, round(nice_step(high - low))) if p.integer else nice_step(high - low)
        c = Control(p.id, "slider", dist, p.description, name, low, high, step, integer=p.integer)
        out.append(replace(c, default=c.snap(centre)))
    return tuple(out)


def _range(p: Parameter) -> tuple[float, float, float]:
    """Slider ends (the support, where every value is a valid pin) and starting point."""
    lo, hi = finite_range(p)
    a = p.args
    if p.dist == "triangular":
        centre = a["mode"]
    elif p.dist == "beta":
        centre = lo + (hi - lo) * a["a"] / (a["a"] + a["b"])
    elif p.dist == "normal":
        centre = a["mean"]
    else:
        centre = (lo + hi) / 2
    return lo, hi, centre


def pinned_values(
    controls: tuple[Control, ...], shown: Mapping[str, Any], pinned: Mapping[str, bool]
) -> dict[str, Any]:
    """The ``pinned=`` argument of :class:`~sim.engine.model.WargameModel`.

    Args:
        controls: the scenario's controls.
        shown: each control's current value as the input shows it.
        pinned: for slider controls, whether the user pinned the value
            (select controls are pinned unless they show :data:`UNCERTAIN`).
    """
    out: dict[str, Any] = {}
    for c in controls:
        if c.kind == "slider" and not pinned.get(c.id, False):
            continue
        value = c.value_of(shown.get(c.id, c.default))
        if value is not None:
            out[c.id] = value
    return out


def rationality_overrides(scenario: Scenario, texts: Mapping[str, str]) -> tuple[str, ...]:
    """``--set`` overrides for actors whose rationality text was changed."""
    out = []
    for a in scenario.actors:
        text = (texts.get(a.id) or "").strip()
        if text and text != a.rationality.source.strip():
            out.append(f"actors.{a.id}.rationality={text}")
    return tuple(out)


_SET_PREFIX = re.compile(r"^--set:\d+:\d+: error: ")
"""Where a diagnostic of an override points (the position in a list the user never typed)."""

EXTRA = "extra"
"""The key of the free ``path=value`` field in :func:`override_items`."""


def override_items(
    scenario: Scenario, rationality: Mapping[str, str], extra: str
) -> tuple[tuple[str, str], ...]:
    """Every override the page asks for, keyed by the input it came from.

    Keys are ``rationality:ACTOR`` for an actor's rationality field and
    :data:`EXTRA` for the items typed in the free field, so
    :func:`apply_overrides` can report a bad one beside its input.
    """
    out = [
        (f"rationality:{o.split('.', 2)[1]}", o)
        for o in rationality_overrides(scenario, rationality)
    ]
    return (*out, *((EXTRA, o) for o in split_overrides(extra)))


def split_overrides(text: str) -> tuple[str, ...]:
    """``path=value`` items typed in one line, separated by ``;`` or new lines."""
    parts = (p.strip() for line in text.splitlines() for p in line.split(";"))
    return tuple(p for p in parts if p)


@dataclass(frozen=True)
class Applied:
    """The scenario with the overrides that validate, and why the others did not.

    Attributes:
        scenario: the scenario with every applied override.
        overrides: the overrides applied, in order (the command line's first).
        errors: for each input whose override was left out, the message
            ``wargame validate`` gives, keyed as the input was in
            :func:`apply_overrides`.
    """

    scenario: Scenario
    overrides: tuple[str, ...]
    errors: Mapping[str, str] = field(default_factory=dict)


def apply_overrides(
    load: Callable[[tuple[str, ...]], Scenario],
    base: tuple[str, ...],
    items: Sequence[tuple[str, str]],
) -> Applied:
    """Add the typed overrides one at a time, leaving out each that does not validate.

    A bad override is reported against the input it came from and does not
    stop the others: each ``(key, override)`` of ``items`` is tried on top
    of ``base`` and the ones before it that applied. ``load(overrides)``
    compiles the scenario (raising :class:`~sim.errors.ValidationError`).

    Raises:
        ValidationError: ``base`` itself does not validate (the command line
            checked it before the server started, so only if the file changed).
    """
    applied = tuple(base)
    scenario = load(applied)
    errors: dict[str, str] = {}
    for key, item in items:
        try:
            scenario = load((*applied, item))
        except ValidationError as exc:
            message = "\n".join(_SET_PREFIX.sub("", str(d)) for d in exc.diagnostics) or str(exc)
            errors[key] = f"{errors[key]}\n{message}" if key in errors else message
            continue
        applied = (*applied, item)
    return Applied(scenario, applied, errors)


def describe_pins(controls: tuple[Control, ...], pins: Mapping[str, Any]) -> str:
    """One sentence saying which parameters are pinned, for panel captions."""
    if not pins:
        return "All parameters drawn from their distributions."
    by_id = {c.id: c for c in controls}
    items = [f"{_name(by_id.get(k), k)} = {format_value(by_id.get(k), v)}" for k, v in pins.items()]
    rest = len(controls) - len(pins)
    tail = f"; the other {rest} drawn from their distributions" if rest else ""
    return "Pinned: " + ", ".join(items) + tail + "."


def _name(control: Control | None, pid: str) -> str:
    return control.name if control is not None and control.name else pid


def format_value(control: Control | None, value: Any) -> str:
    """A pinned or drawn value as a person would write it."""
    if isinstance(value, str):
        return value
    if control is not None and control.integer:
        return f"{int(value):,}"
    return f"{float(value):.3g}"
