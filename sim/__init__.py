"""Scenario wargame engine for the 2022 Belarus-Russia-NATO-Ukraine crisis.

Heavy modules (Mesa, matplotlib, pandas) are imported lazily, so that
``wargame validate`` starts fast; the names below resolve on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.2.0"

_LAZY = {
    "load_scenario": "sim.scenario",
    "Scenario": "sim.scenario.model",
    "load_registry": "sim.registry",
    "WargameModel": "sim.engine.model",
    "RunSettings": "sim.batch.settings",
    "run_batch": "sim.batch.runner",
    "run_sweep": "sim.batch.sweep",
    "load_results": "sim.results.reader",
    "evaluate": "sim.interop",
    "WargameError": "sim.errors",
    "ValidationError": "sim.errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
