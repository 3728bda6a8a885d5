"""The resolved scenario as text: what a worker on another machine compiles.

A resolved scenario (``extends`` and ``--set`` applied, see
:attr:`sim.scenario.model.Scenario.resolved`) is shipped to workers as
compact JSON and compiled there again (:func:`sim.scenario.cache.scenario_from_text`);
the batch checks that the text compiles back to the same scenario before it
sends any (:func:`sim.batch.plan.scenario_source`).
"""

from __future__ import annotations

import json
from typing import Any


def resolved_text(resolved: dict[str, Any]) -> str:
    """The resolved scenario as compact JSON, absent keys left out.

    Keys keep the scenario's order, which carries meaning (the ladder runs
    from calm to severe, outcomes are tried in order): sorted, the text
    would be another scenario, or none.
    """
    return json.dumps(_drop_nulls(resolved), separators=(",", ":"))


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value
