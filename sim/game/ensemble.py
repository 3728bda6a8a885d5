"""Ensembles of worlds that play a game's moves: the predicted consequences of a choice.

An ensemble is the ``worlds`` worlds of ``wargame batch SCENARIO --seed S
--runs worlds`` (the same chunks with the same chunk seeds), replayed from
day 0 with a set of moves forced where they are allowed and the doctrine
everywhere else. Every ensemble of one game uses the game's seed, so two
ensembles that differ only in the moves are the same worlds, paired world by
world (common random numbers): where the moves agree with the doctrine the
worlds are identical, and a difference between two paths comes from the
worlds where the moves changed something.

What an ensemble shares with the game's own world: the scenario, the seed
as root seed and the moves. What it does not: the game world's own draws
(its parameter values, private traits and random events), which the person
has only partly seen; the ensemble's worlds draw theirs afresh, so an
ensemble says what the person's path leads to across the worlds that the
scenario allows, not what happens next in the one world being played.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.batch.seeding import CHUNK, chunk_seed, chunk_sizes
from sim.engine.core import Engine
from sim.scenario.model import Scenario
from sim.seat.moves import Moves
from sim.seat.seats import Tally, add_tally, tally
from sim.stats import Share, paired_diff, share


@dataclass(frozen=True)
class Paths:
    """Each world's outcome and flags in an ensemble, and what the seats counted.

    Attributes:
        outcome: outcome index per world ``(R,)``.
        flags: ``(flags, R)`` booleans.
        seats: the seats' counts of moves taken, agreed and refused (:data:`Tally`).
    """

    outcome: np.ndarray
    flags: np.ndarray
    seats: Tally

    @property
    def worlds(self) -> int:
        """The number of worlds."""
        return len(self.outcome)

    def outcome_shares(self, sc: Scenario) -> dict[str, Share]:
        """Each outcome's share with its Wilson interval."""
        n = self.worlds
        return {o.id: share(int((self.outcome == o.index).sum()), n) for o in sc.outcomes}

    def flag_shares(self, sc: Scenario) -> dict[str, Share]:
        """Each flag's share with its Wilson interval."""
        n = self.worlds
        return {f.id: share(int(self.flags[i].sum()), n) for i, f in enumerate(sc.flags)}

    def refused(self, actor: str, day: int, action: int) -> int:
        """Worlds in which ``actor``'s move of ``day`` (action index) was not allowed."""
        return self.seats.get(actor, {}).get("refused", {}).get((day, action), 0)


def ensemble(sc: Scenario, seed: int, worlds: int, moves: Moves | None) -> Paths:
    """The ``worlds`` worlds of a batch with root seed ``seed``, playing ``moves``."""
    outcomes, flags = [], []
    seats: Tally = {}
    for c, n in enumerate(chunk_sizes(worlds, CHUNK)):
        played = moves.seats() if moves is not None and moves.moves else None
        rng = np.random.default_rng(chunk_seed(seed, 0, c))
        engine = Engine(sc, n, rng, None, played).run()
        assert engine.outcome is not None and engine.flags is not None  # ran to the horizon
        outcomes.append(engine.outcome)
        flags.append(engine.flags)
        if played:
            add_tally(seats, tally(played))
    return Paths(np.concatenate(outcomes), np.concatenate(flags, axis=1), seats)


def paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """``share(b) - share(a)`` over the same worlds (booleans), with Newcombe's paired
    interval (:func:`sim.stats.paired_diff`)."""
    both = int((a & b).sum())
    only_b = int((b & ~a).sum())
    only_a = int((a & ~b).sum())
    return paired_diff(both, only_b, only_a, len(a) - both - only_b - only_a)
