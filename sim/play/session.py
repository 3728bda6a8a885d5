"""The game in the terminal: the day's screen, the prompt, the day told.

:func:`play` is what ``wargame play`` calls. Each day it shows the seated
actor's screen (:mod:`sim.play.screen`), reads one command
(:mod:`sim.play.commands`), carries it out on the game
(:class:`sim.game.Game`) and tells what happened in the story's words (the
game's day reports). Every mistake a player can make is one line of
explanation and the prompt again, never a traceback; the end of input ends
the game cleanly. With a moves file the choices come from the file instead
of the prompt, and the same story is printed.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO, TypeVar

from sim.errors import UsageError, ValidationError, WargameError
from sim.play import commands, screen
from sim.play.commands import HELP, Command
from sim.play.screen import Style
from sim.review import build_review, format_review, write_review

PROGRESS_AFTER = 1.0
"""Seconds of work after which the terminal says that it is working, and on what."""

T = TypeVar("T")


class Working:
    """Progress of one piece of work, told on ``out`` once it has taken ``after`` seconds.

    Called with ``(done, total)`` as parts finish (the game's ``progress`` hook); the
    line says ``what...``, then each count reached (``1/3 2/3``), or a dot per second
    between counts, so a long ensemble shows that it is moving. Nothing is written for
    work that ends sooner.
    """

    def __init__(self, out: TextIO, what: str, after: float = PROGRESS_AFTER) -> None:
        self.out, self.what, self.after = out, what, after
        self.start = time.monotonic()
        self.ended = threading.Event()
        self.shown = False
        self.col = 0
        self.count = ""
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._tick, daemon=True)
        self.thread.start()

    def __call__(self, done: int, total: int) -> None:
        with self.lock:
            self.count = f"{done}/{total}"
            if self.shown:
                self._write(f" {self.count}")

    def _write(self, text: str) -> None:
        """Write ``text`` on the note's line, going on to a new one at the screen's edge."""
        if self.col + len(text) > screen.WIDTH and not text.endswith("\n"):
            self.out.write("\n ")
            self.col = 1
        self.out.write(text)
        self.out.flush()
        self.col = 0 if text.endswith("\n") else self.col + len(text)

    def _tick(self) -> None:
        if self.ended.wait(self.after):
            return
        with self.lock:
            self.shown = True
            self._write(f"{self.what}..." + (f" {self.count}" if self.count else ""))
        while not self.ended.wait(1.0):
            with self.lock:
                self._write(".")

    def end(self) -> None:
        """The work is over: end the line with how long it took (if anything was shown)."""
        self.ended.set()
        self.thread.join()
        if self.shown:
            self._write(f" done in {time.monotonic() - self.start:.1f} s")
            self._write("\n")


@contextmanager
def working(out: TextIO, what: str, after: float = PROGRESS_AFTER) -> Iterator[Working]:
    """A :class:`Working` for the block: the note ends as the block does, so a story that
    follows is never broken in the middle of a line."""
    note = Working(out, what, after)
    try:
        yield note
    finally:
        note.end()


STORY_INDENT = 28
"""Where the words of a story's line start, after its date, day and actor columns."""


def story_lines(line: str) -> list[str]:
    """One line of the story fitted to the terminal: what does not fit goes on lines
    indented to where its words start (the claims in brackets move down whole)."""
    if len(line) <= screen.WIDTH:
        return [line]
    head, words = line[:STORY_INDENT], line[STORY_INDENT:]
    return screen.wrap(words, STORY_INDENT, first=head)


def day_story(sc: Any, report: Any) -> list[str]:
    """A day report's lines as the story prints them: the date and day before the first,
    each fitted to the terminal (``wargame run``'s layout)."""
    out = []
    for k, text in enumerate(report.lines):
        head = f"{sc.date_of(report.day)} d{report.day:<3}" if k == 0 else " " * 15
        out += story_lines(f"{head} {text}")
    return out


class Session:
    """One player at one seat of a game, reading commands and writing screens.

    Args:
        game: the game (:class:`sim.game.Game`); the player takes its first seat.
        read: returns the next line typed (raises ``EOFError`` at the end of input).
        out: where screens and stories go.
        worlds: worlds behind each predicted consequence and each path of the review
            (``None``: the game's own number).
        review_out: an HTML file to write the review to when the game ends.
    """

    def __init__(
        self,
        game: Any,
        read: Callable[[str], str],
        out: TextIO,
        worlds: int | None = None,
        review_out: str | None = None,
    ) -> None:
        self.game = game
        self.read = read
        self.out = out
        self.worlds = worlds
        self.review_out = review_out
        self.style = Style.for_stream(out)
        self.ids: list[str] = []
        self.reviewed_end = False
        self.forks = 0

    @property
    def seat(self) -> str:
        """The actor the player plays."""
        return str(self.game.seats[0])

    # -- output ----------------------------------------------------------------
    def say(self, *lines: str) -> None:
        """Write lines to the player."""
        for line in lines:
            self.out.write(line + "\n")
        self.out.flush()

    def tell_user(self, text: str) -> None:
        """A message to the player, wrapped to the terminal's width."""
        self.say(*screen.wrap(text, 2, first=""))

    def error(self, text: str) -> None:
        """What was wrong, starting with ``!``; the prompt comes again."""
        self.say(*(self.style.bad(x) for x in screen.wrap(text, 2, first="! ")))

    def slow(self, what: str, work: Callable[[Working], T]) -> T:
        """``work(progress)``, with a note on the terminal if it takes more than a second."""
        with working(self.out, what) as progress:
            return work(progress)

    # -- the screen --------------------------------------------------------------
    def show(self) -> None:
        """Today's screen: header, knowledge, actions, predicted consequences."""
        g = self.game
        sc = g.scenario
        if g.finished:
            self.say(*self.ending())
            return
        view = g.view(self.seat)
        forecasts = self.slow(
            "predicting the consequences of each action",
            lambda progress: g.options(self.seat, worlds=self.worlds, progress=progress),
        )
        actor = sc.actor(self.seat)
        lines = screen.header(sc, view, actor.name, g.branch, self.style)
        lines += ["", *screen.knowledge(sc, view, self.style), ""]
        opts, self.ids = screen.options(sc, view, forecasts, self.style)
        lines += opts
        numbered = [(self.ids.index(f.action) + 1, f.action) for f in forecasts if f.allowed]
        predicted = {f.action: f.shares for f in forecasts if f.allowed and f.shares}
        worlds = max((f.worlds for f in forecasts), default=0)
        lines += ["", *screen.consequences(sc, numbered, predicted, worlds, self.style)]
        self.say(*lines)

    def ending(self, more: bool = True) -> list[str]:
        """What the player sees once the game has reached its horizon (``more``: and what
        can still be done)."""
        sc = self.game.scenario
        oid = self.game.outcome()
        o = next(x for x in sc.outcomes if x.id == oid)
        return [
            "=" * screen.WIDTH,
            self.style.bold(f"The game has ended on {sc.date_of(sc.horizon_days - 1)}: {o.name}"),
            *screen.wrap(" ".join(o.description.split()), 2),
            *(
                screen.wrap(
                    "You can rewind to an earlier day, switch branch, save, review or quit.", 0
                )
                if more
                else []
            ),
        ]

    def tell(self, reports: list[Any]) -> None:
        """What happened each day, in the story's words (a quiet day says so)."""
        lines = [x for r in reports for x in day_story(self.game.scenario, r)]
        self.say("", self.style.bold("What happened"), *(lines or ["  a quiet day"]), "")

    # -- commands ----------------------------------------------------------------
    def action_id(self, text: str) -> str:
        """The action a typed number or id (or the unique start of an id) stands for."""
        if text.isdigit():
            k = int(text)
            if 1 <= k <= len(self.ids):
                return self.ids[k - 1]
            raise UsageError(f"there is no action {k} today (type 1 to {len(self.ids)})")
        if text in self.ids:
            return text
        start = [a for a in self.ids if a.startswith(text.lower())]
        if len(start) == 1:
            return start[0]
        raise UsageError(
            f"{text!r} is neither an action nor a command; type a number 1 to "
            f"{len(self.ids)}, an action id ({', '.join(self.ids)}) or help"
        )

    def take(self, action: str) -> list[Any]:
        """Today's choice, then the day adjudicated."""
        self.game.choose(self.seat, action)
        return self.slow("playing the day", lambda _: self.game.advance(1))

    def wait(self, days: int) -> list[Any]:
        """``days`` days on which the seat takes its default action (no action)."""
        default = self.game.scenario.actor(self.seat).default_action.id
        reports: list[Any] = []
        for _ in range(days):
            if self.game.finished:
                break
            reports += self.take(default)
        return reports

    def rewind(self, cmd: Command) -> None:
        """Fork a new branch at an earlier day of this one and go on there."""
        g = self.game
        if cmd.day is not None:
            day = cmd.day
        else:
            assert cmd.date is not None  # parse gives a day or a date
            day = (cmd.date - g.scenario.start).days
        if day < 0:
            raise UsageError(f"{cmd.arg} is before the game starts ({g.scenario.start}, day 0)")
        if day >= g.day:
            raise UsageError(f"day {day} is not earlier than today (day {g.day}); rewind goes back")
        old, name = g.branch, self.fork_name()
        g.branch_off(name, day)
        self.tell_user(
            f"Back to day {day} ({g.scenario.date_of(day)}) of branch {old}; the game goes on "
            f"in the new branch {name} (branch {old} stays as it was)."
        )

    def fork_name(self) -> str:
        """A branch name not yet taken: ``b1``, ``b2``..."""
        taken = set(self.game.branches)
        while True:
            self.forks += 1
            if f"b{self.forks}" not in taken:
                return f"b{self.forks}"

    def do(self, cmd: Command) -> bool:
        """Carry out one command; ``False`` ends the session."""
        g = self.game
        if cmd.word == "quit":
            return False
        if cmd.word == "help":
            self.say(HELP)
            return True
        if cmd.word == "branches":
            self.say(*self.branch_lines())
            return True
        if cmd.word == "save":
            g.save(cmd.arg)
            self.tell_user(f"Saved the game ({len(g.branches)} branches) to {cmd.arg}.")
            return True
        if cmd.word == "review":
            self.review(cmd.arg)
            return True
        if cmd.word == "branch":
            g.switch(cmd.arg)
            self.tell_user(f"Now in branch {g.branch}, on day {g.day}.")
        elif cmd.word == "load":
            self.game = type(g).load(cmd.arg)
            self.reviewed_end = self.game.finished
            self.tell_user(f"Loaded {cmd.arg}: branch {self.game.branch}, day {self.game.day}.")
        elif cmd.word == "rewind":
            self.rewind(cmd)
            self.reviewed_end = False
        elif cmd.word in ("choose", "wait", "doctrine"):
            if g.finished:
                raise UsageError("the game has ended: rewind DAY, branches, save, review or quit")
            if cmd.word == "choose":
                reports = self.take(self.action_id(cmd.arg or ""))
            elif cmd.word == "wait":
                reports = self.wait(cmd.days)
            else:
                reports = self.slow("playing the days", lambda _: g.advance(cmd.days))
            self.tell(reports)
        self.show()
        if self.game.finished:
            self.end_review()
        return True

    def branch_lines(self) -> list[str]:
        """The branches, the one the player is in marked."""
        rows = []
        forks = self.game.forks
        for name, (day, moves) in self.game.branches.items():
            mark = "*" if name == self.game.branch else " "
            parent, fork_day = forks.get(name, (None, None))
            where = f"from {parent} at day {fork_day}" if parent is not None else "the first"
            rows.append(f" {mark} {name:<12} day {day:<3} {len(moves.moves):>3} moves  {where}")
        return ["Branches (* the one you are in):", *rows]

    def review(self, html: str | None = None) -> None:
        """The after-action review of this branch, as text; the page too when asked."""
        r = self.slow(
            "reviewing your path and your doctrine's",
            lambda progress: build_review(self.game, self.seat, self.worlds, progress),
        )
        self.say("", *format_review(r).splitlines(), "")
        if html:
            path = write_review(r, html)
            self.tell_user(f"The review page is {path}.")

    def end_review(self) -> None:
        """At the end of the game, the review once (and its page when asked for)."""
        if self.reviewed_end:
            return
        self.reviewed_end = True
        self.review(self.review_out)

    # -- the loop --------------------------------------------------------------
    def prompt(self) -> str:
        """``[main · day 12] The Kremlin> ``: where the player is."""
        g = self.game
        where = "ended" if g.finished else f"day {g.day}"
        return f"[{g.branch} · {where}] {g.scenario.actor(self.seat).name}> "

    def run(self) -> None:
        """Show the screen and take commands until ``quit`` or the end of input."""
        self.show()
        if self.game.finished:
            self.end_review()
        while True:
            try:
                line = self.read(self.prompt())
            except EOFError:
                self.say("", "End of input: the game is over (save FILE keeps a game).")
                return
            try:
                cmd = commands.parse(line)
                if cmd is None:
                    continue
                if not self.do(cmd):
                    self.say("Goodbye.")
                    return
            except ValidationError as exc:
                for d in exc.diagnostics:
                    self.error(str(d))
            except WargameError as exc:
                self.error(str(exc))
            except OSError as exc:  # a file to save or load that the system refuses
                self.error(f"{exc.filename or 'file'}: {exc.strerror or exc}")


def _reader(stdin: TextIO, stdout: TextIO) -> Callable[[str], str]:
    """``input`` on a terminal (with line editing); otherwise the prompt and one line read."""
    if stdin is sys.stdin and stdout is sys.stdout and stdin.isatty():
        return input

    def read(prompt: str) -> str:
        stdout.write(prompt)
        stdout.flush()
        line = stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    return read


def play(
    scenario: str | None,
    seat: str | None,
    seed: int | None = None,
    worlds: int | None = None,
    moves: str | None = None,
    load: str | None = None,
    review_out: str | None = None,
    overrides: tuple[str, ...] = (),
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> None:
    """``wargame play``: a new or loaded game played at the prompt, or a moves file played.

    Raises:
        UsageError: the arguments do not make a game (no scenario, no seat, an actor the
            scenario lacks).
        ValidationError: a moves file or saved game that cannot be read (every problem,
            at its place in the file).
    """
    from sim.game import Game  # start-up time: the engine (Mesa) only when a game is played

    if load:
        if scenario or moves:
            raise UsageError("--load goes on with a saved game: give no SCENARIO or --moves")
        game = Game.load(load)
        if seat and seat not in game.seats:
            raise UsageError(f"{load} seats {', '.join(game.seats)}, not {seat!r}")
    else:
        if not scenario:
            raise UsageError("play needs a SCENARIO (or --load FILE)")
        if not seat:
            raise UsageError("play needs --as ACTOR: the actor you play")
        kwargs = {} if worlds is None else {"worlds": worlds}
        game = Game.new(scenario, seats=(seat,), seed=seed, overrides=overrides, **kwargs)
    if moves:
        session = Session(game, _no_prompt, stdout, worlds, review_out)
        script(session, Path(moves))
        return
    Session(game, _reader(stdin, stdout), stdout, worlds, review_out).run()


def _no_prompt(prompt: str) -> str:
    raise EOFError


def script(session: Session, path: Path) -> None:
    """Play a moves file's choices day by day, telling each day as a played game does.

    A day with a move for the seat takes it; any other day is left to the seat's doctrine
    (as ``wargame batch --moves`` plays the same file).
    """
    from sim.seat.moves import load_moves  # with the game, below this module

    game = session.game
    sc = game.scenario
    moves = load_moves(path, sc)
    others = [a for a in moves.actors if a != session.seat]
    if others:
        raise UsageError(
            f"{path} has moves for {', '.join(others)}, and you play {session.seat}: play "
            f"--as {others[0]} (wargame batch --moves plays several seats at once)"
        )
    actor = sc.actor(session.seat)
    session.tell_user(f"{sc.title}: {actor.name} plays the moves of {path}.")
    while not game.finished:
        move = moves.at(session.seat, game.day)
        if move is not None:
            game.choose(session.seat, move.action, note=move.note)
            said = f"{sc.date_of(game.day)} d{game.day:<3} {'you':<11} "
            said += actor.action(move.action).name + (f" ({move.note})" if move.note else "")
            session.say(*story_lines(said))
        for r in game.advance(1):
            session.say(*day_story(sc, r))
    session.say(*session.ending(more=False))
    session.end_review()
