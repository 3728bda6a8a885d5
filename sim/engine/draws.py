"""Uniform draws that are made only when needed, without moving the stream.

Each day an actor's stream yields ``rng.random((rows, R))``: one row per
trigger and one for the softmax. On most days most rows are not needed (a
trigger whose condition holds nowhere, an actor with nothing to choose
between). :class:`LazyUniforms` hands out the rows that are asked for and
jumps over the others, leaving the stream exactly where drawing the whole
block would have, so the numbers every world sees do not change.
"""

from __future__ import annotations

import numpy as np


def skip_uniforms(rng: np.random.Generator, n: int) -> None:
    """Move ``rng`` on as if ``rng.random(n)`` had been called.

    PCG64 (NumPy's default bit generator, and the one ``Generator.spawn``
    keeps) makes one 64-bit output per double, so jumping ahead by ``n``
    outputs is exact and costs almost nothing. Other bit generators draw
    and discard.
    """
    if n <= 0:
        return
    if type(rng.bit_generator) is np.random.PCG64:
        rng.bit_generator.advance(n)
    else:
        rng.random(n)


class LazyUniforms:
    """The rows of ``rng.random((rows, n))``, drawn only when asked for.

    Rows must be asked for in increasing order; :meth:`finish` moves the
    stream past the rows never asked for.
    """

    __slots__ = ("n", "pos", "rng", "rows")

    def __init__(self, rng: np.random.Generator, rows: int, n: int) -> None:
        self.rng = rng
        self.rows = rows
        self.n = n
        self.pos = 0

    def row(self, k: int) -> np.ndarray:
        """Row ``k`` of the block (a fresh array of ``n`` uniforms)."""
        if not self.pos <= k < self.rows:
            raise ValueError(f"row {k} asked for after row {self.pos - 1} (of {self.rows})")
        skip_uniforms(self.rng, (k - self.pos) * self.n)
        self.pos = k + 1
        return self.rng.random(self.n)

    def finish(self) -> None:
        """Leave the stream where drawing the whole block would have."""
        skip_uniforms(self.rng, (self.rows - self.pos) * self.n)
        self.pos = self.rows
