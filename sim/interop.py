"""The engine as a plain function, for EMA Workbench, SALib and friends.

Exploratory-modelling and sensitivity-analysis tools want a function from
input values to output numbers that they can call many times, often in
other processes. :func:`evaluate` is that function: picklable (a top-level
function), deterministic for a given seed, returning a flat ``dict`` of
floats. :class:`ScenarioFunction` wraps it with the scenario fixed, for
tools that call ``function(**inputs)`` (EMA Workbench's ``Model``).

The inputs those tools sample are built from the scenario, not copied by
hand: :func:`ema_model` makes an EMA Workbench ``Model`` whose
uncertainties are the scenario's parameters over their supports, and
:func:`salib_problem` the SALib problem with the same bounds
(:func:`salib_inputs` turns a sample row back into inputs). A value outside
a parameter's support is refused, as everywhere else
(:mod:`sim.scenario.pins`).

Worlds run through :func:`sim.batch.runner.simulate`, the in-memory runner
of the batch (its chunks, its seeds), so
``evaluate(s, params, seed=S, runs=N)`` gives exactly the outcome shares of
``sim.run_batch(s, runs=N, seed=S, pinned=params)``. Keeping the seed fixed
across calls gives common random numbers: differences between inputs are
not blurred by differences in luck. See docs/interop.md for worked
examples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.batch.runner import simulate
from sim.batch.sweep import format_value
from sim.engine.model import scenario_for
from sim.scenario.model import Parameter, Scenario
from sim.scenario.pins import finite_range, parameter_of, support

__all__ = [
    "ScenarioFunction",
    "ema_model",
    "evaluate",
    "output_names",
    "salib_inputs",
    "salib_problem",
]

PIN_PREFIX = "param."


def _load(scenario: str | Path | Scenario, overrides: Sequence[str] = ()) -> Scenario:
    return scenario_for(scenario, tuple(overrides))


def _plain(value: Any) -> Any:
    """numpy scalars (as samplers produce them) as Python values."""
    return value.item() if hasattr(value, "item") and not isinstance(value, str) else value


def _split(params: Mapping[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    """Parameter ids (or ``param.<id>``) are pinned; dotted paths become overrides.

    A whole-number float (``30.0``, as samplers produce) for a path that holds
    a whole number (``scenario.horizon_days``) needs nothing here: the
    scenario format reads it as that whole number, as it does for ``--set``.
    """
    pins: dict[str, Any] = {}
    overrides: list[str] = []
    for key, raw in (params or {}).items():
        value = _plain(raw)
        if key.startswith(PIN_PREFIX):
            pins[key[len(PIN_PREFIX) :]] = value
        elif "." in key:
            overrides.append(f"{key}={format_value(value)}")
        else:
            pins[key] = value
    return pins, overrides


def evaluate(
    scenario: str | Path | Scenario,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    runs: int = 1000,
    overrides: Sequence[str] = (),
) -> dict[str, float]:
    """Simulate ``runs`` worlds and return outcome and flag probabilities.

    Args:
        scenario: a scenario file, or a loaded ``Scenario`` (which needs no
            file where it runs, e.g. on a Dask worker).
        params: input values. A parameter id (``kremlin_appetite``) or
            ``param.<id>`` pins that parameter in every world; a dotted
            scenario path (``parameters.kremlin_appetite.a``) is applied as
            an override, like ``--set``.
        seed: root seed; the same seed gives the same result.
        runs: number of worlds.
        overrides: further ``path=value`` overrides.

    Returns:
        ``{"p_<outcome>": share, ..., "flag_<flag>": share, ...}`` for every
        outcome and flag of the scenario, in scenario order.

    Raises:
        ValidationError: the scenario or an override is invalid.
        UsageError: an unknown parameter id, or a value of the wrong type or
            outside the parameter's support.
    """
    base = _load(scenario, overrides)
    pins, extra = _split(params)
    all_overrides = (*tuple(overrides), *extra)
    sc = _load(scenario, all_overrides) if extra else base
    total = simulate(sc, runs=int(runs), seed=int(seed), pinned=pins)
    n = total.n
    out = {f"p_{o.id}": float(total.outcomes[o.index] / n) for o in sc.outcomes}
    out |= {f"flag_{f.id}": float(total.flags[i] / n) for i, f in enumerate(sc.flags)}
    return out


def output_names(scenario: str | Path | Scenario, overrides: Sequence[str] = ()) -> list[str]:
    """The keys :func:`evaluate` returns for a scenario, in order."""
    sc = _load(scenario, overrides)
    return [f"p_{o.id}" for o in sc.outcomes] + [f"flag_{f.id}" for f in sc.flags]


@dataclass(frozen=True)
class ScenarioFunction:
    """``evaluate`` with the scenario fixed, called as ``f(**inputs)``.

    EMA Workbench's ``Model(name, function=f)`` calls ``f`` with one keyword
    argument per uncertainty and lever; instances pickle, so they run in
    EMA's multiprocessing evaluator too. The keywords ``seed`` and ``runs``,
    if given (e.g. as ``ReplicatorModel`` replications), replace the
    instance's.
    """

    scenario: str | Path | Scenario
    runs: int = 1000
    seed: int = 0
    overrides: tuple[str, ...] = ()

    def __call__(self, **inputs: Any) -> dict[str, float]:
        seed = int(inputs.pop("seed", self.seed))
        runs = int(inputs.pop("runs", self.runs))
        return evaluate(self.scenario, inputs, seed, runs, self.overrides)


# -- inputs built from the scenario ---------------------------------------------------
def _uncertain(sc: Scenario, parameters: Sequence[str] | None) -> list[Parameter]:
    """The parameters to sample: those named, or every one that takes more than one value."""
    if parameters is None:
        return [p for p in sc.parameters if len(set(support(p).values)) != 1]
    return [parameter_of(sc, pid) for pid in parameters]


def _categories(p: Parameter) -> list[Any] | None:
    """The values of a parameter that takes one of a set (``None`` for a range)."""
    s = support(p)
    return list(dict.fromkeys(s.values)) if s.discrete else None


def ema_model(
    scenario: str | Path | Scenario,
    runs: int = 1000,
    seed: int = 0,
    *,
    parameters: Sequence[str] | None = None,
    overrides: Sequence[str] = (),
    name: str | None = None,
) -> Any:
    """An EMA Workbench ``Model`` of the scenario, its inputs built from its parameters.

    Each uncertainty is a parameter of the scenario over its support: a
    ``RealParameter`` between the ends of a continuous distribution (an
    uncut normal: mean plus or minus three standard deviations), an
    ``IntegerParameter`` for a whole-number one, a ``CategoricalParameter``
    for a ``choice`` (its options, whatever their weights). EMA samples
    these ranges uniformly and each experiment pins the sampled values in
    all its worlds; the parameters left out keep their distributions.
    The outcomes are :func:`output_names`: ``p_<outcome>`` and
    ``flag_<flag>`` shares.

    Args:
        scenario: a scenario file or a loaded ``Scenario``.
        runs: worlds per experiment.
        seed: root seed of every experiment (common random numbers).
        parameters: parameter ids to make uncertainties (default: every
            parameter that takes more than one value).
        overrides: ``path=value`` changes applied to the scenario first.
        name: the model's name (default: the scenario's name).

    Raises:
        UsageError: an unknown parameter id.
        ImportError: EMA Workbench is not installed (``pip install .[interop]``).
    """
    # An optional extra (interop), and slow to import: only when a model is made.
    from ema_workbench import (
        CategoricalParameter,
        IntegerParameter,
        Model,
        RealParameter,
        ScalarOutcome,
    )

    sc = _load(scenario, overrides)
    uncertainties = []
    for p in _uncertain(sc, parameters):
        cats = _categories(p)
        if cats is not None:
            uncertainties.append(CategoricalParameter(p.id, cats))
            continue
        lo, hi = finite_range(p)
        cls = IntegerParameter if p.integer else RealParameter
        uncertainties.append(cls(p.id, int(lo), int(hi)) if p.integer else cls(p.id, lo, hi))
    model = Model(
        name or sc.name, function=ScenarioFunction(scenario, int(runs), int(seed), tuple(overrides))
    )
    model.uncertainties = uncertainties
    model.outcomes = [ScalarOutcome(n) for n in output_names(sc)]
    return model


def salib_problem(
    scenario: str | Path | Scenario,
    parameters: Sequence[str] | None = None,
    overrides: Sequence[str] = (),
) -> dict[str, Any]:
    """The SALib problem of the scenario's parameters, with :func:`ema_model`'s bounds.

    Continuous parameters get the ends of their support as bounds (an uncut
    normal: mean plus or minus three standard deviations). SALib samples
    real numbers only, so a variable that takes whole numbers ``lo..hi``
    gets bounds ``[lo, hi + 1]`` and a ``choice`` of ``k`` options bounds
    ``[0, k]``; :func:`salib_inputs` maps a sampled ``x`` to ``floor(x)``
    (the whole number, or the option at that index), which gives every
    value an equal share of the unit interval it owns. The problem records
    this in two extra keys SALib ignores: ``integers`` (names) and
    ``categories`` (name to options).

    Args:
        scenario: a scenario file or a loaded ``Scenario``.
        parameters: parameter ids to include (default: every parameter that
            takes more than one value).
        overrides: ``path=value`` changes applied to the scenario first.
    """
    sc = _load(scenario, overrides)
    names: list[str] = []
    bounds: list[list[float]] = []
    integers: list[str] = []
    categories: dict[str, list[Any]] = {}
    for p in _uncertain(sc, parameters):
        names.append(p.id)
        cats = _categories(p)
        if cats is not None:
            categories[p.id] = cats
            bounds.append([0.0, float(len(cats))])
            continue
        lo, hi = finite_range(p)
        if p.integer:
            integers.append(p.id)
            hi += 1
        bounds.append([lo, hi])
    return {
        "num_vars": len(names),
        "names": names,
        "bounds": bounds,
        "integers": integers,
        "categories": categories,
    }


def salib_inputs(problem: Mapping[str, Any], row: Sequence[float]) -> dict[str, Any]:
    """One row of a SALib sample as inputs for :func:`evaluate` (see :func:`salib_problem`)."""
    integers = set(problem.get("integers", ()))
    categories: Mapping[str, Sequence[Any]] = problem.get("categories", {})
    out: dict[str, Any] = {}
    for name, (lo, hi), x in zip(problem["names"], problem["bounds"], row, strict=True):
        x = float(x)
        if name in categories:
            options = categories[name]
            out[name] = options[min(max(math.floor(x), 0), len(options) - 1)]
        elif name in integers:
            out[name] = int(min(max(math.floor(x), lo), hi - 1))
        else:
            out[name] = x
    return out
