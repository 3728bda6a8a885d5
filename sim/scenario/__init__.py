"""Scenario files: format, loading (``extends``, ``--set``), validation, compilation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sim.errors import ValidationError
from sim.registry import Registry, find_seeds, load_registry
from sim.scenario.format import SCENARIO
from sim.scenario.model import Scenario
from sim.spec import Ctx

__all__ = ["Scenario", "load_scenario", "registry_for"]


def registry_for(path: Path | str) -> Registry | None:
    """The claims registry that applies to a scenario file (nearest ``seeds/``)."""
    folder = find_seeds(Path(path).parent)
    return load_registry(folder) if folder else None


def load_scenario(
    path: Path | str,
    overrides: Sequence[str] = (),
    *,
    registry: Registry | str | None = "auto",
) -> Scenario:
    """Load, merge, override, validate and compile a scenario file.

    Args:
        path: the YAML file.
        overrides: ``path.to.key=value`` strings, applied after ``extends``.
        registry: the claims registry to check citations against; ``"auto"``
            finds the nearest ``seeds/`` folder, ``None`` skips citation checks.

    Raises:
        ValidationError: with every problem found, each with ``file:line:col``.
    """
    from sim.scenario.compiler import compile_scenario
    from sim.scenario.loader import apply_overrides, load_chain

    path = Path(path)
    doc = load_chain(path)
    if overrides:
        doc = apply_overrides(doc, overrides)
    ctx = Ctx(doc)
    data = SCENARIO.check(doc.data, (), ctx)
    if any(d.severity == "error" for d in ctx.diags) or not isinstance(data, dict):
        raise ValidationError(ctx.diags)
    if registry == "auto":
        registry = registry_for(path)
    try:
        scenario = compile_scenario(doc, data, registry)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ValidationError(ctx.diags + exc.diagnostics + exc.warnings) from None
    if overrides:
        object.__setattr__(scenario, "overrides", tuple(overrides))
    extra = tuple(str(d) for d in ctx.diags if d.severity == "warning")
    if extra:
        object.__setattr__(scenario, "warnings", extra + scenario.warnings)
    return scenario
