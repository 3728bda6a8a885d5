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


class Streams:
    """The streams of one purpose (the events', an actor's) of a state whose worlds come
    from several chunks: one generator per block of worlds
    (:attr:`sim.engine.state.WorldState.blocks`), each read at its own chunk's places.

    Wherever the engine moves a stream on by rows of uniforms, it moves each block's on
    by rows of its own chunk's width; a row's numbers are each block's, one block after
    the other, as the worlds are. So the worlds of each chunk get exactly the numbers
    they get when that chunk runs alone.
    """

    __slots__ = ("blocks", "gens")

    def __init__(
        self, gens: list[np.random.Generator], blocks: tuple[tuple[int, int, int, int], ...]
    ) -> None:
        self.gens = gens
        self.blocks = blocks  # per block: (first world in the state, worlds, offset, width)


class BlockUniforms:
    """:class:`LazyUniforms` over the blocks of :class:`Streams`: each row the rows of
    every block's stream, one after the other."""

    __slots__ = ("n", "parts")

    def __init__(self, streams: Streams, rows: int) -> None:
        self.parts = [
            LazyUniforms(g, rows, n, width, offset)
            for g, (_, n, offset, width) in zip(streams.gens, streams.blocks, strict=True)
        ]
        self.n = sum(p.n for p in self.parts)

    def row(self, k: int) -> np.ndarray:
        """Row ``k`` of the block of every stream, worlds in the state's order."""
        out = np.empty(self.n)
        at = 0
        for p in self.parts:
            out[at : at + p.n] = p.row(k)
            at += p.n
        return out

    def finish(self) -> None:
        """Leave every stream where drawing its whole block would have."""
        for p in self.parts:
            p.finish()


Rng = np.random.Generator | Streams
"""What the engine's phases draw from: a generator, or one per block of worlds."""


def state_uniforms(rng: Rng, rows: int, state: WorldState) -> LazyUniforms | BlockUniforms:
    """The :class:`LazyUniforms` of a block of ``rows`` rows for the worlds of ``state``
    (its :attr:`~sim.engine.state.WorldState.places`); for :class:`Streams`, their
    :class:`BlockUniforms`."""
    if isinstance(rng, Streams):
        return BlockUniforms(rng, rows)
    offset, width = state.places
    return LazyUniforms(rng, rows, state.R, width, offset)


def skip_rows(rng: Rng, rows: int, state: WorldState) -> None:
    """Move ``rng`` on by ``rows`` rows of uniforms of ``state``'s chunk (each stream of
    :class:`Streams` by rows of its own chunk)."""
    if isinstance(rng, Streams):
        for g, (_, _, _, width) in zip(rng.gens, rng.blocks, strict=True):
            skip_uniforms(g, rows * width)
        return
    skip_uniforms(rng, rows * state.places[1])
