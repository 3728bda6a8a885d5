"""How a batch is cut into chunks, and which seed each chunk gets.

Worlds run in chunks of :data:`CHUNK` (the last chunk of a design point may be
smaller). Chunk ``c`` of design point ``p`` draws all its randomness from

    ``np.random.SeedSequence(root_seed, spawn_key=(p, c))``

and every task, seed included, is fixed before any work is handed out. A
chunk's worlds therefore depend only on (scenario, pinned values, root seed,
point, chunk, chunk size), never on how many workers ran the batch or in
which order chunks finished; and one world can be rerun from the four
numbers that ``runs.csv`` records (seed, point, chunk, index in chunk).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

CHUNK = 10_000
"""Worlds per chunk (one task for an executor).

It was 5,000 until version 0.2. Doubling it halves what every chunk pays
once (each day's array operations have a fixed cost whatever their length),
so a million worlds take some 7-25 % less time, at the price of other worlds
for every batch of more than 5,000: results changed once, on purpose. A
results folder records its chunk size in its manifest (``chunk_size``), and
its rerun (:mod:`sim.batch.replay`) and its command (``--chunk-size 5000``)
take it from there, so a folder made before keeps giving its own worlds.
"""


def chunk_seed(root_seed: int, point: int, chunk: int) -> np.random.SeedSequence:
    """The seed of chunk ``chunk`` of design point ``point``."""
    import numpy as np  # start-up time: the parser quotes CHUNK, and needs no numpy

    return np.random.SeedSequence(int(root_seed), spawn_key=(int(point), int(chunk)))


def chunk_sizes(runs: int, chunk: int = CHUNK) -> list[int]:
    """Sizes of the chunks that make up ``runs`` worlds (the last may be smaller)."""
    if runs < 1:
        raise ValueError(f"runs must be at least 1 (got {runs})")
    full, rest = divmod(int(runs), chunk)
    return [chunk] * full + ([rest] if rest else [])
