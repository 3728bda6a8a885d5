"""Moves files: a person's choices written down, played as a policy.

A moves file is YAML: a list of moves, or a mapping whose ``moves`` key
holds the list (a saved game is such a file, so a game can be played again
as a batch). Each move names the ``actor``, the ``day`` (0 is the scenario's
start) or the ``date``, the ``action``, and optionally a ``note`` (why)::

    - actor: kremlin
      date: 2022-02-24
      action: launch_offensive
      note: the drills end on the 20th; strike before the troops go home

Every problem is reported with its ``file:line:col`` (unknown actor or
action, with the closest name suggested; a day outside the scenario; both
``day`` and ``date``, or neither; two moves for one actor on one day), all at
once (:class:`~sim.errors.ValidationError`, exit code 2 from ``wargame``).

:class:`MovesPolicy` plays the moves: on a day with a move for the seated
actor it names that action in every world, on any other day it leaves the
choice to the doctrine.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from sim.engine.core import Seat
from sim.errors import ValidationError
from sim.scenario.model import Scenario
from sim.seat.policy import Choice
from sim.seat.seats import Seated, Tally
from sim.seat.view import SeatView
from sim.spec import MISSING, Ctx, Date, F, Ident, Num, Obj, Spec, Str, did_you_mean, type_name
from sim.yamlio import Located, PathKey, parse_text, read_bytes, read_text

MOVE = Obj(
    {
        "actor": F(Ident("the seated actor's id"), required=True),
        "day": F(Num("day index, 0 the scenario's start", integer=True, minimum=0)),
        "date": F(Date("the day as a date, YYYY-MM-DD")),
        "action": F(Ident("the action the actor takes that day"), required=True),
        "note": F(Str("why the move was made (shown in the review)", multiline=True)),
    },
    name="a move",
)
"""One move of a moves file."""

GAME_KEYS = (
    "format",
    "kind",
    "scenario",
    "scenario_file",
    "sha256",
    "overrides",
    "seed",
    "seats",
    "worlds",
    "day",
    "branch",
    "parent",
    "fork_day",
    "branches",
)
"""Keys of a saved game besides ``moves`` (a moves file may be a saved game)."""


class Kept(Spec):
    """Any value, kept as it is: checked elsewhere (the moves) or not read here (a saved
    game's other keys, which :mod:`sim.game` checks)."""

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        """``value`` unchanged."""
        return value

    def json_schema(self) -> dict[str, Any]:
        """Any value."""
        return {}


FILE = Obj(
    {"moves": F(Kept(), required=True)} | {k: F(Kept()) for k in GAME_KEYS},
    name="a moves file",
)
"""The top level of a moves file written as a mapping (each move is checked by MOVE)."""


@dataclass(frozen=True, order=True)
class Move:
    """One choice: ``actor`` takes ``action`` on ``day``."""

    day: int
    actor: str
    action: str
    note: str = ""

    def as_json(self, sc: Scenario | None = None) -> dict[str, Any]:
        """The move as a moves file writes it (with its date when ``sc`` is given)."""
        out: dict[str, Any] = {"actor": self.actor, "day": self.day}
        if sc is not None:
            out["date"] = sc.date_of(self.day).isoformat()
            del out["day"]
        out["action"] = self.action
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class Moves:
    """A checked list of moves, in day order, with the file they came from.

    Attributes:
        moves: the moves, sorted by day then actor.
        file: the file's name as given ("" when made in code).
        sha256: the hash of the file's bytes ("" when made in code).
    """

    moves: tuple[Move, ...]
    file: str = ""
    sha256: str = ""

    @property
    def actors(self) -> tuple[str, ...]:
        """The actors the moves seat, in the order they first appear."""
        return tuple(dict.fromkeys(m.actor for m in self.moves))

    def at(self, actor: str, day: int) -> Move | None:
        """The move of ``actor`` on ``day``, if any."""
        return self._index.get((actor, day))

    @cached_property
    def _index(self) -> dict[tuple[str, int], Move]:
        return {(m.actor, m.day): m for m in self.moves}

    def before(self, day: int) -> Moves:
        """The moves of the days before ``day`` (what a rewind to ``day`` keeps)."""
        return Moves(tuple(m for m in self.moves if m.day < day))

    def with_move(self, move: Move) -> Moves:
        """These moves with ``move`` added (replacing the actor's move of that day)."""
        kept = [m for m in self.moves if (m.actor, m.day) != (move.actor, move.day)]
        return Moves(tuple(sorted([*kept, move])))

    def manifest(self) -> dict[str, Any]:
        """What a results folder's manifest records of the moves."""
        return {
            "file": self.file,
            "sha256": self.sha256,
            "moves": len(self.moves),
            "seats": list(self.actors),
        }

    def seats(self) -> dict[str, Seat]:
        """The engine's seats that play these moves, one per seated actor."""
        return {a: Seated(MovesPolicy(self, a), days=self.days(a)) for a in self.actors}

    def days(self, actor: str) -> frozenset[int]:
        """The days on which ``actor`` has a move."""
        return frozenset(m.day for m in self.moves if m.actor == actor)


class MovesPolicy:
    """Plays ``moves`` for ``actor``: its move of the day in every world, else the doctrine."""

    def __init__(self, moves: Moves, actor: str) -> None:
        self.moves = moves
        self.actor = actor
        self._today = {m.day: m.action for m in moves.moves if m.actor == actor}

    def choose(self, view: SeatView) -> Choice:
        """The action of the day's move, or ``None`` (the doctrine's choice)."""
        return self._today.get(view.day)


def moves_of(items: Iterable[Mapping[str, Any]], scenario: Scenario, name: str = "moves") -> Moves:
    """Moves from plain mappings (as a moves file holds them), checked against ``scenario``.

    Raises:
        ValidationError: every problem found, each at its place (``name[i].key``).
    """
    doc = Located({"moves": list(items)}, file=name)
    return _checked(doc, scenario, "", "")


def load_moves(path: str | Path, scenario: Scenario, display: str | None = None) -> Moves:
    """Read and check a moves file against ``scenario``.

    Raises:
        ValidationError: the file cannot be read, is not YAML, or any move is wrong
            (every problem, each with its ``file:line:col``).
    """
    name = display or str(path)
    sha = hashlib.sha256(read_bytes(path, display=name)).hexdigest()
    doc = parse_text(read_text(path, display=name), name)
    if isinstance(doc.data, list):
        doc = Located(
            {"moves": doc.data},
            {("moves", *k): v for k, v in doc.marks.items()},
            {("moves", *k): v for k, v in doc.key_marks.items()},
            name,
        )
    return _checked(doc, scenario, name, sha)


def _checked(doc: Located, sc: Scenario, name: str, sha: str) -> Moves:
    """The moves of ``doc`` (a mapping with a ``moves`` list), every problem collected."""
    ctx = Ctx(doc)
    data = FILE.check(doc.data, (), ctx)
    moves = moves_at(doc, ("moves",), sc, ctx)
    if isinstance(data, dict) and data.get("scenario") not in (None, sc.name):
        ctx.error(
            ("scenario",),
            f"these moves are for scenario {data['scenario']!r}, not {sc.name!r}",
        )
    if ctx.diags:
        raise ValidationError(ctx.diags)
    return Moves(tuple(sorted(moves)), name, sha)


def moves_at(doc: Located, path: PathKey, sc: Scenario, ctx: Ctx) -> list[Move]:
    """The moves of the list at ``path`` in ``doc``; every problem is recorded in ``ctx``
    (a saved game checks each of its branches this way) and bad moves are left out."""
    raw: Any = doc.data
    for part in path:
        raw = raw.get(part) if isinstance(raw, dict) else None
    if raw is None:
        return []
    if not isinstance(raw, list):
        ctx.error(
            path, f"{'.'.join(map(str, path))}: expected a list of moves; got {type_name(raw)}"
        )
        return []
    moves: list[Move] = []
    first: dict[tuple[str, int], int] = {}
    for i, item in enumerate(raw):
        checked = MOVE.check(item, (*path, i), ctx)
        mv = None if checked is MISSING else _move(checked, (*path, i), sc, ctx)
        if mv is None:
            continue
        key = (mv.actor, mv.day)
        if key in first:
            line = doc.where((*path, first[key])).line
            ctx.error(
                (*path, i),
                f"a second move for {mv.actor} on day {mv.day} ({sc.date_of(mv.day)}); "
                f"the first is at line {line}",
            )
            continue
        first[key] = i
        moves.append(mv)
    return moves


def _move(m: dict[str, Any], path: tuple[str | int, ...], sc: Scenario, ctx: Ctx) -> Move | None:
    """One checked move, or None (its problems recorded)."""
    if not isinstance(m, dict) or "actor" not in m or "action" not in m:
        return None
    actors = [a.id for a in sc.actors]
    actor, action = m["actor"], m["action"]
    ok = _known(ctx, (*path, "actor"), actor, actors, f"no actor {actor!r} in {sc.name}")
    if ok:
        acts = [x.id for x in sc.actor(actor).actions]
        ok = _known(ctx, (*path, "action"), action, acts, f"{actor} has no action {action!r}")
    day = _day(m, path, sc, ctx)
    if day is None or not ok:
        return None
    return Move(day, m["actor"], m["action"], m.get("note") or "")


def _known(ctx: Ctx, path: PathKey, word: str, options: list[str], problem: str) -> bool:
    """Whether ``word`` is one of ``options``; if not, ``problem`` is recorded with the
    closest option and the list of them."""
    if word in options:
        return True
    ctx.error(path, f"{problem}{did_you_mean(word, options)} ({', '.join(options)})")
    return False


def _day(m: dict[str, Any], path: tuple[str | int, ...], sc: Scenario, ctx: Ctx) -> int | None:
    H = sc.horizon_days
    last = sc.date_of(H - 1)
    day, date = m.get("day"), m.get("date")
    if day is not None and date is not None:
        ctx.error((*path, "date"), "give the day or the date of a move, not both")
        return None
    if day is None and date is None:
        ctx.error(path, "a move needs a day (0 is the start) or a date (YYYY-MM-DD)")
        return None
    if date is not None:
        assert isinstance(date, _dt.date)
        if not sc.start <= date <= last:
            ctx.error(
                (*path, "date"),
                f"{date} is outside {sc.name}, which runs from {sc.start} to {last}",
            )
            return None
        return (date - sc.start).days
    assert day is not None  # checked above: the day or the date is given
    if not 0 <= int(day) < H:
        ctx.error(
            (*path, "day"),
            f"day {day} is outside {sc.name}, whose days are 0 ({sc.start}) to {H - 1} ({last})",
        )
        return None
    return int(day)


MOVES_COLUMNS = (
    "actor",
    "day",
    "date",
    "action",
    "worlds",
    "worlds_played",
    "worlds_as_doctrine",
    "worlds_refused",
    "note",
)
"""The columns of ``moves.csv`` (:func:`moves_table`)."""


def moves_table(sc: Scenario, moves: Moves, counts: Tally, runs: int) -> list[dict[str, Any]]:
    """Per move, in how many worlds it was played, agreed with the doctrine, or was refused.

    The rows of a batch's ``moves.csv``: ``actor, day, date, action, worlds,
    worlds_played, worlds_as_doctrine, worlds_refused, note``. ``worlds_played`` counts the
    worlds where the move's action was taken; ``worlds_as_doctrine`` those of them where
    the doctrine chose that action too (their histories are the doctrine's); and
    ``worlds_refused`` those where the action was not allowed that day, so the
    doctrine's choice stood.
    """
    rows = []
    for m in moves.moves:
        a = sc.actor(m.actor).action(m.action).index
        kinds = counts.get(m.actor, {})
        rows.append(
            {
                "actor": m.actor,
                "day": m.day,
                "date": sc.date_of(m.day).isoformat(),
                "action": m.action,
                "worlds": runs,
                "worlds_played": kinds.get("taken", {}).get((m.day, a), 0),
                "worlds_as_doctrine": kinds.get("agreed", {}).get((m.day, a), 0),
                "worlds_refused": kinds.get("refused", {}).get((m.day, a), 0),
                "note": m.note,
            }
        )
    return rows
