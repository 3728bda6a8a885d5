"""Scenario files: format, loading (``extends``, ``--set``), validation, compilation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from sim.errors import Diagnostic, ValidationError
from sim.registry import Registry, find_claims, load_registry, registry_for_scenario
from sim.scenario.compiler import compile_scenario
from sim.scenario.format import SCENARIO
from sim.scenario.loader import add_observations, apply_overrides, load_chain, load_observations
from sim.scenario.model import Scenario
from sim.spec import Ctx

__all__ = ["Scenario", "load_scenario", "registry_for"]


def registry_for(path: Path | str) -> Registry | None:
    """The claims registry that applies to a scenario file, by the rule of :mod:`sim.registry`.

    ``None`` when none is found (no error: for reports and traces that say so).
    """
    claims = find_claims(path)
    return load_registry(claims) if claims else None


def load_scenario(
    path: Path | str,
    overrides: Sequence[str] = (),
    *,
    registry: Registry | Literal["auto"] | None = "auto",
    observations: Path | str | None = None,
) -> Scenario:
    """Load, merge, override, validate and compile a scenario file.

    Args:
        path: the YAML file.
        overrides: ``path.to.key=value`` strings, applied after ``extends``.
        registry: the claims registry to check citations against; ``"auto"``
            follows :func:`sim.registry.claims_policy` (by default the rule
            of :mod:`sim.registry`, refusing the scenario when no registry
            is found); ``None`` skips citation checks.
        observations: a separate observations file naming this scenario
            (docs/evidence.md), added to the scenario's own ``observations``.

    Raises:
        ValidationError: with every problem found, each with ``file:line:col``.
    """
    path = Path(path)
    doc = load_chain(path)
    if overrides:
        doc = apply_overrides(doc, overrides)
    if observations is not None:
        doc = add_observations(doc, load_observations(observations))
    ctx = Ctx(doc)
    data = SCENARIO.check(doc.data, (), ctx)
    if any(d.severity == "error" for d in ctx.diags) or not isinstance(data, dict):
        raise ValidationError(ctx.diags)
    unchecked: list[Diagnostic] = []
    checked = registry if isinstance(registry, Registry) else None
    if registry == "auto":
        try:
            checked = registry_for_scenario(path)
        except ValidationError as exc:
            # Reported with the scenario's own problems, which are still checked.
            unchecked = exc.diagnostics
    try:
        scenario = compile_scenario(doc, data, checked)
    except ValidationError as exc:
        raise ValidationError(ctx.diags + unchecked + exc.diagnostics + exc.warnings) from None
    if unchecked:
        raise ValidationError(ctx.diags + unchecked)
    if overrides:
        object.__setattr__(scenario, "overrides", tuple(overrides))
    extra = tuple(str(d) for d in ctx.diags if d.severity == "warning")
    if extra:
        object.__setattr__(scenario, "warnings", extra + scenario.warnings)
    return scenario
