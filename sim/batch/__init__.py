"""Batches of many worlds: seeding, executors, aggregation, results folders.

Kept light: the names below are imported on first use, so that commands
which do not run batches (``wargame validate``) start fast.

* :class:`RunSettings` says how worlds are run (runs, seed, workers,
  executor, chunk size, pins, overrides...), one default each;
* :func:`run_batch`, :func:`run_sweep`, :func:`compare` run and write
  results folders; :func:`load_results` reads them back;
* :func:`rerun_world` simulates one world of a folder again, with its story;
* :func:`simulate` runs worlds in memory, with the batch's chunks and seeds;
* :class:`SerialExecutor`, :class:`LocalExecutor`, :class:`DaskExecutor`
  run chunk tasks behind one interface.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "RunSettings": "sim.batch.settings",
    "run_batch": "sim.batch.runner",
    "simulate": "sim.batch.runner",
    "Presenter": "sim.batch.runner",
    "rerun_world": "sim.batch.replay",
    "Replay": "sim.batch.replay",
    "run_sweep": "sim.batch.sweep",
    "compare": "sim.batch.compare",
    "load_results": "sim.results.reader",
    "BatchResult": "sim.results.reader",
    "SweepResult": "sim.results.reader",
    "CompareResult": "sim.results.reader",
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
