"""Work-size limits, checked before any work is planned.

A slip of the keyboard (``--runs 1000000000000``), a sweep range with too
many points or a scenario file that is small on disk but huge in memory
must be refused at once, with the limit and the way to raise it, rather
than planned for minutes, then run out of memory hours later. Every limit
is an environment variable, so the command line, the Python API and batch
scripts are raised alike, and only deliberately.

The memory a chunk needs was measured on generated scenarios from 8 to
3,200 rules, 5 to 2,000 actions and 30 to 3,650 days: at most 17 bytes per
world for each rule, action, day, state variable, parameter, event and
intel item, plus a few hundred bytes per world; the estimate
(:func:`chunk_bytes`) counts 20.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim.errors import UsageError

if TYPE_CHECKING:
    from sim.scenario.model import Scenario


@dataclass(frozen=True)
class Limit:
    """A ceiling on some amount of work, raised by setting ``variable``."""

    variable: str
    default: int
    unit: str

    def value(self) -> int:
        """The limit in force: the environment variable if set, else the default."""
        raw = os.environ.get(self.variable, "").strip()
        if not raw:
            return self.default
        try:
            value = int(raw.replace("_", ""))
        except ValueError:
            value = 0
        if value < 1:
            raise UsageError(f"{self.variable}={raw!r}: expected a whole number >= 1")
        return value

    def check(self, amount: int, what: str, remedy: str = "") -> None:
        """Raise :class:`UsageError` if ``amount`` is over the limit.

        ``what`` says what was asked for; ``remedy`` another way out besides
        raising the limit.
        """
        limit = self.value()
        if amount <= limit:
            return
        how = f"{remedy}, or raise" if remedy else "raise"
        raise UsageError(
            f"{what}; the limit is {limit:,} {self.unit}: {how} it with "
            f"{self.variable}={_suggest(amount)} if that is really meant"
        )


MAX_WORLDS = Limit("WARGAME_MAX_WORLDS", 100_000_000, "worlds")
"""Worlds in one batch, or in all the design points of a sweep together."""

MAX_CHUNKS = Limit("WARGAME_MAX_CHUNKS", 200_000, "chunks")
"""Tasks one batch or sweep is cut into (each is planned, and held, up front)."""

MAX_POINTS = Limit("WARGAME_MAX_POINTS", 10_000, "design points")
"""Design points of one sweep (each is compiled before any work starts)."""

MAX_CHUNK_MB = Limit("WARGAME_MAX_CHUNK_MB", 1024, "MB per chunk")
"""Estimated memory one chunk needs in its worker (see :func:`chunk_bytes`)."""

BYTES_PER_ITEM = 20
"""Bytes per world for each rule, action, day, variable... (at most 17 measured)."""

BASE_ITEMS = 32
"""Items' worth of bytes per world that every scenario needs (rows, ladder, outcomes)."""


def _suggest(amount: int) -> str:
    """A round value at or above ``amount`` to quote in the message."""
    step = 10 ** max(0, len(str(amount)) - 2)
    return str(-(-amount // step) * step)


def check_work(runs: int, chunk_size: int, points: int = 1) -> None:
    """Refuse a batch (``points == 1``) or sweep larger than the limits.

    Raises:
        UsageError: too many worlds or chunks, with the limit and how to raise it.
    """
    worlds = runs * points
    asked = f"--runs {runs:,}" if points == 1 else f"--runs {runs:,} at {points:,} design points"
    MAX_WORLDS.check(worlds, f"{asked} is {worlds:,} worlds", "lower --runs")
    chunks = points * -(-runs // chunk_size)
    MAX_CHUNKS.check(
        chunks,
        f"{asked} in chunks of {chunk_size:,} worlds makes {chunks:,} chunks",
        "use a larger --chunk-size",
    )


def check_points(points: int, how: str) -> None:
    """Refuse a sweep design of more than :data:`MAX_POINTS` points (before making it).

    Raises:
        UsageError: too many points; ``how`` says where they came from.
    """
    MAX_POINTS.check(points, f"{how} makes {points:,} design points", "vary fewer values")


def chunk_bytes(sc: Scenario, worlds: int) -> int:
    """Estimated peak memory, in bytes, of one chunk of ``worlds`` worlds of ``sc``.

    Every rule, action, day (the rung track), state variable, parameter,
    event and intel item costs one or two arrays over the worlds; the
    largest chunk of a batch is what a worker must hold at once.
    """
    items = (
        len(sc.rules)
        + sum(len(a.actions) for a in sc.actors)
        + sc.horizon_days
        + len(sc.state)
        + len(sc.parameters)
        + len(sc.events)
        + len(sc.intel)
        + BASE_ITEMS
    )
    return BYTES_PER_ITEM * items * worlds


def check_chunk_memory(sc: Scenario, worlds: int) -> None:
    """Refuse chunks of ``worlds`` worlds of ``sc`` that would need too much memory.

    Raises:
        UsageError: the estimate is over :data:`MAX_CHUNK_MB`; the message
            says what makes the scenario heavy.
    """
    mb = -(-chunk_bytes(sc, worlds) // 2**20)
    actions = sum(len(a.actions) for a in sc.actors)
    MAX_CHUNK_MB.check(
        mb,
        f"a chunk of {worlds:,} worlds of scenario {sc.name!r} needs about {mb:,} MB of memory "
        f"per worker ({len(sc.actors)} actors, {len(sc.rules):,} rules, {actions:,} actions, "
        f"{sc.horizon_days:,} days)",
        "use a smaller --chunk-size (another chunk size draws other, equally valid worlds)",
    )
