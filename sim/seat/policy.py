"""The decision-maker at a seat: anything with ``choose(view)``.

A :class:`Policy` is given the seated actor's :class:`~sim.seat.view.SeatView`
every day and answers with a :data:`Choice`: one action id for every world,
one per world, an array of action indices, or ``None`` (leave it to the
doctrine). Where the action it names is not allowed that day, the doctrine's
choice stands and the refusal is recorded (:mod:`sim.seat.seats`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from sim.errors import UsageError
from sim.seat.view import SeatView
from sim.spec import did_you_mean

Choice = str | None | np.ndarray | Sequence[str | None]
"""What a policy answers: an action id for every world, ``None`` for the doctrine's
choice everywhere, a sequence with an action id (or ``None``) per world, or an integer
array of action indices per world (-1 for the doctrine's choice)."""


@runtime_checkable
class Policy(Protocol):
    """Decides for a seated actor, one day at a time."""

    def choose(self, view: SeatView) -> Choice:
        """Today's action for the seated actor, given what it knows (see :data:`Choice`)."""
        ...


class Doctrine:
    """The scenario's own doctrine: leaves every choice as the rules made it."""

    def choose(self, view: SeatView) -> Choice:
        """``None``: the doctrine's choice in every world."""
        return None


def indices(view: SeatView, choice: Choice) -> np.ndarray:
    """``choice`` as action indices per world (-1 where the doctrine decides).

    Raises:
        UsageError: an action the seated actor does not have, or a choice with the
            wrong number of worlds.
    """
    R = view.worlds
    if choice is None:
        return np.full(R, -1, dtype=np.int64)
    if isinstance(choice, str):
        return np.full(R, _index(view, choice), dtype=np.int64)
    if isinstance(choice, np.ndarray) and choice.dtype.kind in "iu":
        out = np.broadcast_to(choice.astype(np.int64), (R,)).copy()
        n = len(view.actor.actions)
        if ((out < -1) | (out >= n)).any():
            raise UsageError(f"{view.actor.id}: action indices must be -1 to {n - 1}")
        return out
    items = list(choice)
    if len(items) != R:
        raise UsageError(
            f"{view.actor.id}: a choice per world needs {R} entries (got {len(items)})"
        )
    return np.array([-1 if c is None else _index(view, c) for c in items], dtype=np.int64)


def _index(view: SeatView, action: str) -> int:
    ids = [a.id for a in view.actor.actions]
    if action not in ids:
        raise UsageError(
            f"{view.actor.id} has no action {action!r}{did_you_mean(action, ids)} "
            f"(actions: {', '.join(ids)})"
        )
    return ids.index(action)
