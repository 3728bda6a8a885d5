"""Saved games: a versioned YAML (or JSON) file that replays to the same game.

A saved game holds what the game is made of, nothing derived::

    format: 1
    kind: game
    scenario: allied_resolve_2022
    scenario_file: scenarios/allied_resolve_2022.yaml
    sha256: ...            # the scenario's, to notice a scenario changed since
    overrides: []
    seed: 20220117
    seats: [kremlin]
    worlds: 1000
    branch: main           # the branch being played
    day: 12                # the day it reached
    moves: [...]           # its moves (so the file is a moves file too)
    branches:              # the other branches
      quiet: {day: 20, moves: [...]}

Loading checks every field and every move (``file:line:col``), loads the
scenario (a relative ``scenario_file`` that is not found from the working
folder is looked for beside the saved game) and replays each branch's
moves. A scenario whose hash differs from the saved one is loaded with a
warning in ``game.warnings``: the replay may then differ from the game saved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.atomic import atomic_file
from sim.errors import Diagnostic, ValidationError
from sim.scenario import load_scenario
from sim.scenario.model import Scenario
from sim.seat.moves import GAME_KEYS, Kept, Moves, moves_at
from sim.spec import Ctx, F, Ident, ListOf, MapOf, Num, Obj, Str
from sim.yamlio import Located, load_file


@dataclass
class Branch:
    """A line of play: its moves, the day it reached, and the branch it was forked from
    (``None`` for the first) on ``fork_day``."""

    moves: Moves
    day: int
    parent: str | None = None
    fork_day: int | None = None


@dataclass
class Saved:
    """A saved game as read: what :class:`sim.game.Game` is made again from."""

    scenario: Scenario
    seats: list[str]
    seed: int
    worlds: int
    branches: dict[str, Branch]
    branch: str
    warnings: list[str] = field(default_factory=list)


FORMAT = 1
"""The version of the saved-game format this package writes and reads."""

FORK_DAY = Num("the day it was forked on", integer=True, minimum=0)

BRANCH = Obj(
    {
        "day": F(Num("the day it reached", integer=True, minimum=0), required=True),
        "parent": F(Str("the branch it was forked from")),
        "fork_day": F(FORK_DAY),
        "moves": F(Kept()),  # checked move by move (sim.seat.moves.moves_at)
    },
    name="a branch",
)

SAVED = Obj(
    {
        "format": F(Num("format version", integer=True, minimum=1), required=True),
        "kind": F(Str("what the file holds"), required=True),
        "scenario": F(Ident("the scenario's name"), required=True),
        "scenario_file": F(Str("the scenario file"), required=True),
        "sha256": F(Str("the scenario's hash")),
        "overrides": F(ListOf(Str("PATH=VALUE"))),
        "seed": F(Num("the game's seed", integer=True, minimum=0, limit=None), required=True),
        "seats": F(ListOf(Ident("a seated actor"), min_items=1), required=True),
        "worlds": F(Num("ensemble size", integer=True, minimum=1), required=True),
        "branch": F(Str("the branch being played"), required=True),
        "day": F(Num("the day it reached", integer=True, minimum=0), required=True),
        "parent": F(Str("the branch it was forked from")),
        "fork_day": F(FORK_DAY),
        "moves": F(Kept()),
        "branches": F(MapOf(BRANCH, key=Str("a branch name"))),
    },
    name="a saved game",
)
assert set(SAVED.fields) == {"moves", *GAME_KEYS}, "a saved game is a moves file"


def document(
    sc: Scenario,
    scenario_file: str,
    seats: tuple[str, ...],
    seed: int,
    worlds: int,
    branch: str,
    branches: dict[str, Branch],
) -> dict[str, Any]:
    """The saved form of a game (plain data): ``branch`` is the one being played."""
    current = branches[branch]
    return {
        "format": FORMAT,
        "kind": "game",
        "scenario": sc.name,
        "scenario_file": scenario_file,
        "sha256": sc.sha256,
        "overrides": list(sc.overrides),
        "seed": seed,
        "seats": list(seats),
        "worlds": worlds,
        "branch": branch,
        "day": current.day,
        **_fork(current),
        "moves": [m.as_json(sc) for m in current.moves.moves],
        "branches": {
            name: {"day": b.day, **_fork(b), "moves": [m.as_json(sc) for m in b.moves.moves]}
            for name, b in branches.items()
            if name != branch
        },
    }


def _fork(b: Branch) -> dict[str, Any]:
    return {} if b.parent is None else {"parent": b.parent, "fork_day": b.fork_day}


def save(doc: dict[str, Any], path: Path) -> Path:
    """Write a saved game's ``doc`` to ``path`` (JSON for ``.json``, else YAML), whole or
    not at all."""
    if path.suffix.lower() == ".json":
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def load(path: str | Path) -> Saved:
    """The game saved in ``path``, checked (see the module's docs).

    Raises:
        ValidationError: every problem of the file, its scenario or its moves.
    """
    name = str(path)
    doc = load_file(path)
    ctx = Ctx(doc)
    data = SAVED.check(doc.data, (), ctx)
    _refuse(ctx)
    if data["format"] != FORMAT or data["kind"] != "game":
        ctx.error(
            ("format",),
            f"format {data['format']} of kind {data['kind']!r} is not a saved game this "
            f"version reads (format {FORMAT}, kind 'game')",
        )
        _refuse(ctx)
    sc = _scenario(data, Path(name), doc)
    current = moves_at(doc, ("moves",), sc, ctx)
    branches = {
        data["branch"]: Branch(
            Moves(tuple(sorted(current))), data["day"], data.get("parent"), data.get("fork_day")
        )
    }
    for bname, b in (data.get("branches") or {}).items():
        moves = moves_at(doc, ("branches", bname, "moves"), sc, ctx)
        branches[bname] = Branch(
            Moves(tuple(sorted(moves))), b["day"], b.get("parent"), b.get("fork_day")
        )
    for bname, b in branches.items():
        path_key: tuple[str, ...] = ("day",) if bname == data["branch"] else ("branches", bname)
        if b.day > sc.horizon_days:
            ctx.error(path_key, f"day {b.day} is past the scenario's {sc.horizon_days} days")
    _refuse(ctx)
    saved = Saved(sc, data["seats"], data["seed"], data["worlds"], branches, data["branch"])
    if data.get("sha256") and data["sha256"] != sc.sha256:
        saved.warnings.append(
            f"{name}: the scenario {sc.name} has changed since the game was saved "
            f"(sha256 {sc.sha256[:12]}, saved {str(data['sha256'])[:12]}); the replay may differ"
        )
    return saved


def _scenario(data: dict[str, Any], saved: Path, doc: Located) -> Scenario:
    file = Path(data["scenario_file"])
    if not file.is_absolute() and not file.exists() and (saved.parent / file).exists():
        file = saved.parent / file
    sc = load_scenario(file, tuple(data.get("overrides") or ()))
    if sc.name != data["scenario"]:
        raise ValidationError(
            [
                _diag(
                    doc,
                    ("scenario",),
                    f"the game is of scenario {data['scenario']!r}, but {file} is {sc.name!r}",
                )
            ]
        )
    return sc


def _diag(doc: Located, path: tuple[str, ...], message: str) -> Diagnostic:
    return Diagnostic(doc.where(path), message)


def _refuse(ctx: Ctx) -> None:
    if ctx.diags:
        raise ValidationError(ctx.diags)
