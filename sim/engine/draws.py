"""Uniform draws that are made only when needed, without moving the stream.

Each day an actor's stream yields ``rng.random((rows, width))``: one row per
trigger and one for the softmax, a place per world of the chunk. On most days
most rows are not needed (a trigger whose condition holds nowhere, an actor
with nothing to choose between). :class:`LazyUniforms` hands out the rows
that are asked for and jumps over the others, leaving the stream exactly where
drawing the whole block would have, so the numbers every world sees do not
change.

A state may hold only some of its chunk's worlds (a part,
:attr:`sim.engine.state.WorldState.offset`): it then reads, in each row, the
places of its own worlds and jumps over the others', so each world gets the
number it gets when the whole chunk runs at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.engine.state import WorldState


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
    """The rows of ``rng.random((rows, width))``, drawn only when asked for: of each,
    the ``n`` places from ``offset`` (the whole row by default).

    Rows must be asked for in increasing order; :meth:`finish` moves the
    stream past the rows never asked for.
    """

    __slots__ = ("at", "n", "offset", "pos", "rng", "rows", "width")

    def __init__(
        self, rng: np.random.Generator, rows: int, n: int, width: int = 0, offset: int = 0
    ) -> None:
        self.rng = rng
        self.rows = rows
        self.n = n
        self.width = width or n
        self.offset = offset
        self.pos = 0
        self.at = 0  # the stream's place in the block

    def row(self, k: int) -> np.ndarray:
        """Row ``k`` of the block (a fresh array of ``n`` uniforms)."""
        if not self.pos <= k < self.rows:
            raise ValueError(f"row {k} asked for after row {self.pos - 1} (of {self.rows})")
        start = k * self.width + self.offset
        skip_uniforms(self.rng, start - self.at)
        self.at = start + self.n
        self.pos = k + 1
        return self.rng.random(self.n)

    def finish(self) -> None:
        """Leave the stream where drawing the whole block would have."""
        skip_uniforms(self.rng, self.rows * self.width - self.at)
        self.at = self.rows * self.width
        self.pos = self.rows


def state_uniforms(rng: np.random.Generator, rows: int, state: WorldState) -> LazyUniforms:
    """The :class:`LazyUniforms` of a block of ``rows`` rows for the worlds of ``state``
    (its :attr:`~sim.engine.state.WorldState.places`)."""
    offset, width = state.places
    return LazyUniforms(rng, rows, state.R, width, offset)
