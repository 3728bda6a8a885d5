"""The engine as a plain function, for EMA Workbench, SALib and friends.

Exploratory-modelling and sensitivity-analysis tools want a function from
input values to output numbers that they can call many times, often in
other processes. :func:`evaluate` is that function: picklable (a top-level
function), deterministic for a given seed, returning a flat ``dict`` of
floats. :class:`ScenarioFunction` wraps it with the scenario fixed, for
tools that call ``function(**inputs)`` (EMA Workbench's ``Model``).

Seeding follows :mod:`sim.batch.seeding` (design point 0), so
``evaluate(s, params, seed=S, runs=N)`` gives exactly the outcome shares of
``sim.run_batch(s, runs=N, seed=S, pinned=params)``. Keeping the seed fixed
across calls gives common random numbers: differences between inputs are
not blurred by differences in luck. See docs/interop.md for worked
examples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.scenario.model import Scenario

__all__ = ["ScenarioFunction", "evaluate", "output_names"]

PIN_PREFIX = "param."


def _scenario(path: str, overrides: tuple[str, ...]) -> Scenario:
    """Load a scenario once per process (reloaded if the file changes)."""
    p = Path(path)
    stamp = p.stat().st_mtime_ns if p.is_file() else 0
    return _cached(str(p), stamp, overrides)


_CACHE: dict[tuple[str, int, tuple[str, ...]], Scenario] = {}


def _cached(path: str, stamp: int, overrides: tuple[str, ...]) -> Scenario:
    key = (path, stamp, overrides)
    sc = _CACHE.get(key)
    if sc is None:
        from sim.scenario import load_scenario

        if len(_CACHE) >= 16:
            _CACHE.clear()
        sc = _CACHE[key] = load_scenario(path, overrides)
    return sc


def _split(params: Mapping[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    """Parameter ids (or ``param.<id>``) are pinned; dotted paths become overrides."""
    from sim.batch.sweep import format_value

    pins: dict[str, Any] = {}
    overrides: list[str] = []
    for key, value in (params or {}).items():
        if hasattr(value, "item"):  # numpy scalars from samplers
            value = value.item()
        if key.startswith(PIN_PREFIX):
            pins[key[len(PIN_PREFIX) :]] = value
        elif "." in key:
            overrides.append(f"{key}={format_value(value)}")
        else:
            pins[key] = value
    return pins, overrides


def evaluate(
    scenario: str,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    runs: int = 1000,
    overrides: Sequence[str] = (),
) -> dict[str, float]:
    """Simulate ``runs`` worlds and return outcome and flag probabilities.

    Args:
        scenario: path of the scenario file.
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
        UsageError: an unknown parameter id or an invalid value.
    """
    from sim.batch.aggregate import Counts
    from sim.batch.runner import check_pinned, run_chunk, scenario_source
    from sim.batch.seeding import plan_point

    pins, extra = _split(params)
    all_overrides = (*tuple(overrides), *extra)
    sc = _scenario(str(scenario), all_overrides)
    pins = check_pinned(sc, pins)
    source = scenario_source(sc, scenario, all_overrides, ship_text=False)
    total = Counts.zeros(sc)
    for task in plan_point(source, 0, int(runs), int(seed), 0, pins, runs_table=False):
        total.add(run_chunk(task).counts)
    n = total.n
    out = {f"p_{o.id}": float(total.outcomes[o.index] / n) for o in sc.outcomes}
    out |= {f"flag_{f.id}": float(total.flags[i] / n) for i, f in enumerate(sc.flags)}
    return out


def output_names(scenario: str, overrides: Sequence[str] = ()) -> list[str]:
    """The keys :func:`evaluate` returns for a scenario, in order."""
    sc = _scenario(str(scenario), tuple(overrides))
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

    scenario: str
    runs: int = 1000
    seed: int = 0
    overrides: tuple[str, ...] = ()

    def __call__(self, **inputs: Any) -> dict[str, float]:
        seed = int(inputs.pop("seed", self.seed))
        runs = int(inputs.pop("runs", self.runs))
        return evaluate(self.scenario, inputs, seed, runs, self.overrides)
