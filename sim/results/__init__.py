"""Results folders: their format, written safely, and the one reader.

The layer between the engine and the batch: what a folder holds and how it
is written and read back, with nothing of how its worlds were run or how it
is shown.

* :mod:`sim.results.aggregate`: counts of a chunk of worlds, and the tables
  and summary made from them (and recomputed from ``runs.csv``);
* :mod:`sim.results.writer`: the manifest, JSON documents and ``runs.csv``;
* :mod:`sim.results.staging`: a folder written into a temporary sibling and
  renamed into place whole, or not at all;
* :mod:`sim.results.locks`: who owns a temporary folder;
* :mod:`sim.results.reader`: :func:`load_results`, the package's one reader.
"""

from __future__ import annotations

from sim.results.reader import (
    BatchResult,
    CompareResult,
    SweepResult,
    find_folder,
    load_results,
)
from sim.results.staging import Staging

__all__ = ["BatchResult", "CompareResult", "Staging", "SweepResult", "find_folder", "load_results"]
