"""What a player types at the game's prompt, parsed into commands.

The prompt takes an action (by its number on the screen or its id) and a
few words; :func:`parse` turns a line into one :class:`Command` or raises a
:class:`~sim.errors.UsageError` whose message says what was wrong and what
would be understood, so the game can print it and ask again. Parsing knows
nothing of the game: an action's number or id is checked against the
screen's list by the caller.
"""

from __future__ import annotations

import datetime as _dt
import shlex
from dataclasses import dataclass

from sim.errors import UsageError

HELP = """\
Commands (a word can be shortened to its first letters when that is unique):
  N or ACTION      take the action numbered N on the screen, or by its id
  wait [N]         let N days pass (default 1); you take no action
  doctrine [N]     let N days pass (default 1) with your actor's doctrine deciding
  rewind DAY       go back to an earlier day (a day number, d12, or a date 2022-02-06);
                   the game goes on in a new branch, the old one is kept
  branches         list the branches of this game
  branch NAME      switch to another branch
  save FILE        save the game (every branch) to FILE
  load FILE        load a saved game
  review [FILE]    the after-action review of this branch; FILE.html writes the page too
  show             show today's screen again
  help             this list
  quit             end the game (also Ctrl-D)"""

WORDS = (
    "wait",
    "doctrine",
    "rewind",
    "branches",
    "branch",
    "save",
    "load",
    "review",
    "show",
    "help",
    "quit",
)
"""The command words, in the order help lists them."""

ALIASES = {"exit": "quit", "q": "quit", "?": "help", "h": "help"}


@dataclass(frozen=True)
class Command:
    """One parsed line: ``word`` and its argument (``None`` when none was given).

    ``word`` is ``"choose"`` for an action (``arg`` its number or id as typed),
    one of :data:`WORDS` otherwise. ``days`` is the count of ``wait`` and
    ``doctrine``; ``day`` the target of ``rewind`` (a day number, or a date
    to be turned into one by the caller).
    """

    word: str
    arg: str | None = None
    days: int = 1
    day: int | None = None
    date: _dt.date | None = None


def _word(text: str) -> str:
    """The command word ``text`` stands for: itself, an alias, or a unique prefix."""
    low = text.lower()
    if low in ALIASES:
        return ALIASES[low]
    if low in WORDS:
        return low
    matches = [w for w in WORDS if w.startswith(low)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UsageError(f"{text!r} could be {' or '.join(matches)}; type more of it")
    return ""


def _count(word: str, text: str | None) -> int:
    if text is None:
        return 1
    try:
        n = int(text)
    except ValueError:
        raise UsageError(f"{word} takes a number of days (got {text!r}; e.g. {word} 3)") from None
    if n < 1:
        raise UsageError(f"{word} takes a number of days from 1 (got {n})")
    return n


def _day(text: str) -> tuple[int | None, _dt.date | None]:
    """A day number (``12`` or ``d12``) or an ISO date (``2022-02-06``)."""
    t = text.lower().removeprefix("d") if text[:1] in "dD" else text
    if t.isdigit():
        return int(t), None
    try:
        return None, _dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"rewind takes a day: a number (12 or d12) or a date (2022-02-06); got {text!r}"
        ) from None


def parse(line: str) -> Command | None:
    """The command a line means; ``None`` for an empty line.

    Raises:
        UsageError: the line is not a command; the message says why and how to
            write it.
    """
    try:
        parts = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"cannot read that line ({exc}); quote a file name with spaces") from None
    if not parts:
        return None
    head, rest = parts[0], parts[1:]
    word = _word(head)
    if not word:
        if rest:
            raise UsageError(f"unknown command {head!r}; type help for the list")
        return Command("choose", head)
    arg = rest[0] if rest else None
    takes = {"wait": 1, "doctrine": 1, "rewind": 1, "branch": 1, "save": 1, "load": 1, "review": 1}
    if len(rest) > takes.get(word, 0):
        extra = " ".join(rest[takes.get(word, 0) :])
        raise UsageError(f"{word}: unexpected {extra!r}; type help for the list")
    if word in ("wait", "doctrine"):
        return Command(word, arg, days=_count(word, arg))
    if word == "rewind":
        if arg is None:
            raise UsageError("rewind needs a day: a number (12 or d12) or a date (2022-02-06)")
        day, date = _day(arg)
        return Command(word, arg, day=day, date=date)
    if word in ("branch", "save", "load") and arg is None:
        what = {"branch": "a branch name (see branches)", "save": "a file", "load": "a file"}
        raise UsageError(f"{word} needs {what[word]}")
    return Command(word, arg)
