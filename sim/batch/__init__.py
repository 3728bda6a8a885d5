"""Batches of many worlds: seeding, executors, aggregation, results folders.

Kept light: the names below are imported on first use, so that commands
which do not run batches (``wargame validate``) start fast.

* :func:`run_batch`, :func:`run_sweep`, :func:`compare` run and write
  results folders; :func:`load_results` reads them back;
* :func:`rerun_world` simulates one world of a folder again, with its story;
* :class:`SerialExecutor`, :class:`LocalExecutor`, :class:`DaskExecutor`
  run chunk tasks behind one interface.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "run_batch": "sim.batch.runner",
    "rerun_world": "sim.batch.runner",
    "Replay": "sim.batch.runner",
    "run_sweep": "sim.batch.sweep",
    "compare": "sim.batch.compare",
    "load_results": "sim.batch.results",
    "BatchResult": "sim.batch.results",
    "SweepResult": "sim.batch.results",
    "CompareResult": "sim.batch.results",
    "SerialExecutor": "sim.batch.executors",
    "LocalExecutor": "sim.batch.executors",
    "DaskExecutor": "sim.batch.executors",
    "make_executor": "sim.batch.executors",
    "CHUNK": "sim.batch.seeding",
    "chunk_seed": "sim.batch.seeding",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sim.batch' has no attribute {name!r}")
