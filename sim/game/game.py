"""``Game``: one world played day by day, with people at some seats.

A game is a scenario, a seed, the seated actors and, per branch, the moves
the people made. The game's world is ``WargameModel(scenario, replicates=1,
rng=seed)`` with the seats playing the branch's moves (and the doctrine on
the days without one), so it is a deterministic replay of those: rewinding
to a day is replaying the moves before it, a branch is another list of
moves, and a saved game is those lists (:mod:`sim.game.record`).

Each day a seat sees its :class:`~sim.seat.view.SeatView` (worked out on a
copy of the world stepped one day ahead with the doctrine in its place, so
the game's own world and streams are not touched) and may ask for the
predicted consequences of each action it may take (:meth:`Game.options`):
an ensemble of worlds replayed with the moves so far and that action today
(:mod:`sim.game.ensemble` says what those worlds share with the game's).
"""

from __future__ import annotations

import copy
import datetime as _dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sim.engine.adjudication import SEATED
from sim.engine.model import WargameModel
from sim.errors import UsageError
from sim.game import record
from sim.game.ensemble import Paths, ensemble, paired
from sim.game.record import Branch
from sim.narrative import day_lines
from sim.scenario import load_scenario
from sim.scenario.model import Scenario
from sim.seat.moves import Move, Moves
from sim.seat.policy import Choice
from sim.seat.seats import Seated
from sim.seat.view import SeatView, Verdict
from sim.spec import did_you_mean
from sim.stats import Share

Progress = Callable[[int, int], None]
"""Told ``(done, total)`` as the ensembles of a prediction finish (for a progress bar)."""

MAIN = "main"
"""The name of a new game's first branch."""

MAX_WORLDS = 1_000_000
"""Most worlds an ensemble of a game may have."""

KEPT_ENSEMBLES = 32
"""Ensembles a game keeps for reuse (the doctrine's path, today's options...), the least
recently used dropped first."""


@dataclass(frozen=True)
class HistoryRow:
    """What one actor did on one day of the game's world.

    Attributes:
        day, date: the day.
        actor: the actor's id; ``seated`` whether a person holds its seat.
        action: what it took; ``doctrine`` what its doctrine chose that day.
        by: ``"seat"`` where the person chose (its choice taken or refused),
            ``"doctrine"`` where the doctrine decided.
        wanted: the person's choice (``None`` on a doctrine day).
        refused: the person's choice was not allowed that day (the doctrine's stood).
        rule: the rule behind the action taken (``None``: the seat's own choice, or a
            default with no rule); ``doctrine_rule`` the rule behind the doctrine's.
        claims: the claims the rule behind the action cites (the action's own for a
            choice of the seat).
        forbidden_by: the constraints that forbade a refused choice.
        rung_from, rung_to: the rung at the start and the end of the day (every
            actor's row of a day has the same: the day's events and moves together).
        note: the person's note on the move.
    """

    day: int
    date: _dt.date
    actor: str
    seated: bool
    action: str
    doctrine: str
    by: str
    wanted: str | None
    refused: bool
    rule: str | None
    doctrine_rule: str | None
    claims: tuple[str, ...]
    forbidden_by: tuple[str, ...]
    rung_from: str
    rung_to: str
    note: str = ""


@dataclass(frozen=True)
class DayReport:
    """One adjudicated day of the game's world, told in words.

    Attributes:
        lines: the day's story (events, moves with their rules and claims, ladder
            moves), a line each, as ``wargame run`` words them.
        rows: every actor's :class:`HistoryRow` of the day.
        finished, outcome: whether the horizon is reached, and then the outcome id.
    """

    day: int
    date: _dt.date
    lines: tuple[str, ...]
    rows: tuple[HistoryRow, ...]
    rung_from: str
    rung_to: str
    finished: bool
    outcome: str | None


@dataclass(frozen=True)
class Forecast:
    """One action of a seat today, with the predicted consequences of taking it.

    Attributes:
        allowed: whether the action is allowed today in the game's world.
        forbidden_by, wanted_by: the constraints that forbid it here, and the rules
            that speak for it today (:class:`~sim.seat.view.Verdict`).
        doctrine: whether it is the doctrine's choice today; ``odds`` the doctrine's
            probability of it.
        shares: per outcome id, its share of the ensemble's worlds with Wilson's
            interval (empty for an action not allowed here).
        refused: ensemble worlds in which the action was not allowed that day (the
            doctrine's choice stood there).
        worlds: the ensemble's size.
    """

    action: str
    name: str
    allowed: bool
    forbidden_by: tuple[Verdict, ...]
    wanted_by: tuple[Verdict, ...]
    doctrine: bool
    odds: float
    shares: dict[str, Share]
    refused: int
    worlds: int


@dataclass(frozen=True)
class Comparison:
    """The person's path against the doctrine's, on the same worlds.

    ``seat`` and ``doctrine`` map each outcome id to its share (Wilson interval)
    when the seats play the branch's moves and when they are on doctrine;
    ``difference`` maps it to ``(seat - doctrine, lo, hi)``, Newcombe's paired
    95% interval. ``seat_flags``, ``doctrine_flags`` and ``flag_difference`` are
    the same for the flags.
    """

    seat: dict[str, Share]
    doctrine: dict[str, Share]
    difference: dict[str, tuple[float, float, float]]
    seat_flags: dict[str, Share]
    doctrine_flags: dict[str, Share]
    flag_difference: dict[str, tuple[float, float, float]]
    worlds: int
    seed: int
    moves: Moves


class _Played:
    """The policy of a seat in the game's world: the branch's move of the day, if any."""

    def __init__(self, game: Game, actor: str) -> None:
        self.game = game
        self.actor = actor

    def choose(self, view: SeatView) -> Choice:
        move = self.game.moves.at(self.actor, view.day)
        return None if move is None else move.action


class _Look:
    """A policy that keeps the view it is given and leaves the day to the doctrine."""

    def __init__(self) -> None:
        self.view: SeatView | None = None

    def choose(self, view: SeatView) -> Choice:
        self.view = view
        return None


@dataclass
class _Cache:
    views: dict[str, SeatView] = field(default_factory=dict)
    paths: dict[tuple[Move, ...], Paths] = field(default_factory=dict)


class Game:
    """One game: the scenario's world played by its seats and the others' doctrine.

    Make one with :meth:`new` (or :meth:`load`); see docs/seats.md, *The Game API*.

    Attributes:
        scenario: the compiled scenario; ``scenario_file`` the file it came from.
        seed: the seed of the game's world and the root seed of its ensembles.
        seats: the seated actors, in the order given.
        worlds: the size of the ensembles behind :meth:`options` and :meth:`compare`.
        branch: the name of the branch being played.
        warnings: what loading a saved game noticed (a scenario that changed since).
    """

    def __init__(
        self,
        scenario: Scenario,
        seats: Sequence[str],
        seed: int,
        worlds: int,
        branches: dict[str, Branch] | None = None,
        branch: str = MAIN,
    ) -> None:
        self.scenario = scenario
        self.scenario_file = scenario.file
        self.seats = _checked_seats(scenario, seats)
        self.seed = _whole("seed", seed, 0)
        self.worlds = _worlds(worlds)
        self.warnings: list[str] = []
        self._branches = branches or {MAIN: Branch(Moves(()), 0)}
        if branch not in self._branches:
            raise UsageError(f"no branch {branch!r} (branches: {', '.join(self._branches)})")
        self.branch = branch
        self._cache = _Cache()
        self._rows: list[HistoryRow] = []
        self._replay(self._branches[branch].day)

    # -- making and keeping a game ---------------------------------------------------
    @classmethod
    def new(
        cls,
        scenario: str | Path | Scenario,
        seats: Iterable[str],
        seed: int | None = None,
        worlds: int = 1000,
        overrides: Sequence[str] = (),
    ) -> Game:
        """A game at day 0 of ``scenario`` with people at ``seats``.

        Args:
            scenario: a scenario file or a compiled scenario.
            seats: the actor ids people play (one or more: several take turns).
            seed: the game's seed (default: the scenario's).
            worlds: the size of the ensembles that predict consequences.
            overrides: ``path=value`` changes to the scenario file (``--set``).

        Raises:
            ValidationError: the scenario is invalid.
            UsageError: an unknown or repeated seat, or a bad seed or number of worlds.
        """
        if isinstance(scenario, Scenario):
            sc = scenario
        else:
            sc = load_scenario(scenario, tuple(overrides))
        return cls(sc, tuple(seats), sc.seed if seed is None else seed, worlds)

    def save(self, path: str | Path) -> Path:
        """Write the game (YAML; JSON if ``path`` ends in ``.json``), whole or not at all.

        The file is also a moves file: ``wargame batch SCENARIO --moves FILE``
        plays the current branch's moves.
        """
        self._keep_branch()
        doc = record.document(
            self.scenario,
            self.scenario_file,
            self.seats,
            self.seed,
            self.worlds,
            self.branch,
            self._branches,
        )
        return record.save(doc, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> Game:
        """A saved game, replayed to the day it was saved on.

        Raises:
            ValidationError: the file, its scenario or one of its moves is invalid
                (every problem with its ``file:line:col``).
        """
        saved = record.load(path)
        game = cls(
            saved.scenario, saved.seats, saved.seed, saved.worlds, saved.branches, saved.branch
        )
        game.warnings += saved.warnings
        return game

    # -- today -----------------------------------------------------------------------
    @property
    def day(self) -> int:
        """The next day to be played (the horizon once the game is over)."""
        return int(self._model.day)

    @property
    def date(self) -> _dt.date:
        """The date of :attr:`day`."""
        return self.scenario.date_of(self.day)

    @property
    def horizon(self) -> int:
        """The scenario's number of days."""
        return self.scenario.horizon_days

    @property
    def finished(self) -> bool:
        """Whether every day has been played."""
        return not self._model.running

    @property
    def moves(self) -> Moves:
        """The moves of the branch being played (today's choices included)."""
        return self._branches[self.branch].moves

    @property
    def branches(self) -> dict[str, tuple[int, Moves]]:
        """Every branch: the day it reached and its moves."""
        self._keep_branch()
        return {k: (b.day, b.moves) for k, b in self._branches.items()}

    @property
    def forks(self) -> dict[str, tuple[str | None, int | None]]:
        """Every branch: the branch it was forked from and the day (``None`` for the first)."""
        return {k: (b.parent, b.fork_day) for k, b in self._branches.items()}

    def view(self, actor: str) -> SeatView:
        """What the seated ``actor`` knows today in the game's world (one world).

        Raises:
            UsageError: ``actor`` holds no seat, or the game is over.
        """
        self._seated(actor)
        self._not_over()
        if actor not in self._cache.views:
            self._look()
        return self._cache.views[actor]

    def waiting_for(self) -> tuple[str, ...]:
        """The seats that have not chosen today (in seat order)."""
        if self.finished:
            return ()
        return tuple(a for a in self.seats if self.moves.at(a, self.day) is None)

    def choose(self, actor: str, action: str, note: str = "") -> None:
        """Record ``actor``'s choice for today (replacing an earlier one of today).

        Raises:
            UsageError: not a seat, an unknown action, the game is over, or the
                action is not allowed today (the message names what forbids it).
        """
        view = self.view(actor)
        ids = [a.id for a in view.actor.actions]
        if action not in ids:
            raise UsageError(
                f"{actor} has no action {action!r}{did_you_mean(action, ids)} "
                f"(actions: {', '.join(ids)})"
            )
        option = view.option(action)
        if not option.allowed[0]:
            raise UsageError(f"{actor} may not {action} on {self.date}: {_why_not(option)}")
        self._set_moves(self.moves.with_move(Move(self.day, actor, action, note)))

    def options(
        self, actor: str, worlds: int | None = None, progress: Progress | None = None
    ) -> list[Forecast]:
        """Each of ``actor``'s actions today, with the predicted consequences of taking it.

        Every allowed action gets an ensemble of ``worlds`` worlds (the game's
        number by default): replayed from day 0 with the branch's moves before
        today, the other seats' choices of today, this action today and the
        doctrine afterwards. All of them are the same worlds (see
        :mod:`sim.game.ensemble`), so their shares differ only where the
        action changed something. ``progress(done, total)`` is called as each
        ensemble is done.
        """
        view = self.view(actor)
        n = self.worlds if worlds is None else _worlds(worlds)
        today = Moves(tuple(m for m in self.moves.moves if m.day < self.day or m.actor != actor))
        odds = view.odds()[:, 0]
        total = int(view.allowed[:, 0].sum())
        done = 0
        out = []
        for opt in view.options:
            allowed = bool(opt.allowed[0])
            shares: dict[str, Share] = {}
            refused = 0
            if allowed:
                moves = today.with_move(Move(self.day, actor, opt.action))
                paths = self._paths(moves, n)
                shares = paths.outcome_shares(self.scenario)
                refused = paths.refused(actor, self.day, opt.index)
                done += 1
                if progress is not None:
                    progress(done, total)
            out.append(
                Forecast(
                    opt.action,
                    opt.name,
                    allowed,
                    opt.forbidden_by(0),
                    tuple(v for v in opt.wanted_by if v.where[0]),
                    opt.action == view.doctrine_action(0),
                    float(odds[opt.index]),
                    shares,
                    refused,
                    n,
                )
            )
        return out

    # -- playing ---------------------------------------------------------------------
    def advance(self, days: int = 1) -> list[DayReport]:
        """Adjudicate ``days`` days (fewer if the horizon comes first).

        On each day a seat plays its choice of that day, if it made one; on a
        day without one its doctrine decides (the history says so).
        """
        _whole("days", days, 1)
        reports = []
        for _ in range(days):
            if self.finished:
                break
            reports.append(self._step())
        self._branches[self.branch].day = self.day
        return reports

    def rewind(self, day: int) -> None:
        """Go back to the start of ``day`` on this branch; its moves from ``day`` on go.

        Raises:
            UsageError: ``day`` is not between 0 and today.
        """
        day = self._day_up_to_today(day)
        self._set_moves(self.moves.before(day))
        self._replay(day)

    def branch_off(self, name: str, day: int | None = None) -> None:
        """Start a branch ``name`` from the start of ``day`` (default: today) and play it.

        The branch being played is kept as it is; the new one has its moves of
        the days before ``day``.

        Raises:
            UsageError: the name is taken or empty, or ``day`` is not between 0 and today.
        """
        if not isinstance(name, str) or not name.strip() or not name.isprintable():
            raise UsageError(f"a branch needs a name of printable text (got {name!r})")
        if name in self._branches:
            raise UsageError(f"there is a branch {name!r} already")
        day = self.day if day is None else self._day_up_to_today(day)
        self._keep_branch()
        self._branches[name] = Branch(self.moves.before(day), day, self.branch, day)
        self.branch = name
        self._replay(day)

    def switch(self, name: str) -> None:
        """Play branch ``name`` again, from the day it reached.

        Raises:
            UsageError: there is no such branch.
        """
        if name not in self._branches:
            raise UsageError(
                f"no branch {name!r}{did_you_mean(name, list(self._branches))} "
                f"(branches: {', '.join(self._branches)})"
            )
        self._keep_branch()
        self.branch = name
        self._replay(self._branches[name].day)

    # -- what happened ---------------------------------------------------------------
    def history(self) -> list[HistoryRow]:
        """Per day played and actor (in scenario order), what happened (:class:`HistoryRow`)."""
        return list(self._rows)

    def story(self) -> str:
        """The game's world so far, told day by day as ``wargame run`` tells a world."""
        sc = self.scenario
        lines = [f"{sc.title} ({sc.name}), seats: {', '.join(self.seats)}, seed {self.seed}"]
        for d in range(self.day):
            for k, text in enumerate(day_lines(self._model, d)):
                head = f"{sc.date_of(d)} d{d:<3}" if k == 0 else " " * 15
                lines.append(f"{head} {text}")
        oid = self.outcome()
        if oid is not None:
            lines.append(f"Outcome: {next(o.name for o in sc.outcomes if o.id == oid)} [{oid}]")
        return "\n".join(lines)

    def outcome(self) -> str | None:
        """The outcome id of the game's world once the game is over, else ``None``."""
        return self._model.outcome_of(0) if self.finished else None

    def compare(self, worlds: int | None = None, progress: Progress | None = None) -> Comparison:
        """The branch's path (its moves, the doctrine elsewhere) against the doctrine's.

        Both are the same ``worlds`` worlds (the game's number by default),
        replayed from day 0; the differences are paired world by world.
        ``progress(done, total)`` is called as each of the two paths is done.
        """
        n = self.worlds if worlds is None else _worlds(worlds)
        sc = self.scenario
        seat = self._paths(self.moves, n)
        if progress is not None:
            progress(1, 2)
        base = self._paths(Moves(()), n)
        if progress is not None:
            progress(2, 2)
        diff = {o.id: paired(base.outcome == o.index, seat.outcome == o.index) for o in sc.outcomes}
        flag_diff = {f.id: paired(base.flags[i], seat.flags[i]) for i, f in enumerate(sc.flags)}
        return Comparison(
            seat.outcome_shares(sc),
            base.outcome_shares(sc),
            diff,
            seat.flag_shares(sc),
            base.flag_shares(sc),
            flag_diff,
            n,
            self.seed,
            self.moves,
        )

    # -- inside ----------------------------------------------------------------------
    def _replay(self, day: int) -> None:
        """The game's world made again and played to the start of ``day``."""
        self._seats = {a: Seated(_Played(self, a), keep=True, keep_views=True) for a in self.seats}
        self._model = WargameModel(
            self.scenario,
            replicates=1,
            narrate=True,
            collect=False,
            rng=self.seed,
            seats=dict(self._seats),
        )
        self._rows = []
        self._cache.views = {}
        for _ in range(min(day, self.horizon)):
            self._step()

    def _step(self) -> DayReport:
        model, sc = self._model, self.scenario
        d = model.day
        before = sc.ladder[int(model.world.rung[0])].id
        model.step()
        after = sc.ladder[int(model.world.rung[0])].id
        rows = tuple(self._row(actor.id, d, before, after) for actor in sc.actors)
        self._rows.extend(rows)
        self._cache.views = {}
        for seat in self._seats.values():
            if seat.turns:  # its view was read for the row: keep no day's state alive
                object.__setattr__(seat.turns[-1], "view", None)
        return DayReport(
            d,
            sc.date_of(d),
            tuple(day_lines(model, d)),
            rows,
            before,
            after,
            self.finished,
            self.outcome(),
        )

    def _row(self, actor_id: str, day: int, before: str, after: str) -> HistoryRow:
        sc = self.scenario
        actor = sc.actor(actor_id)
        ids = [a.id for a in actor.actions]
        seat = self._seats.get(actor_id)
        turn = seat.turns[-1] if seat is not None and seat.turns else None
        if turn is None or turn.day != day:
            agent = self._model.actor_agents[actor.index]
            assert agent.decision is not None  # the day was just played
            action = int(agent.decision.action[0])
            rule = int(agent.decision.rule[0])
            doctrine, doctrine_rule, wanted, refused = action, rule, -1, False
            forbidden: tuple[str, ...] = ()
        else:
            action, rule = int(turn.action[0]), int(turn.rule[0])
            doctrine, doctrine_rule = int(turn.doctrine[0]), int(turn.doctrine_rule[0])
            wanted, refused = int(turn.wanted[0]), bool(turn.refused[0])
            forbidden = ()
            if refused and turn.view is not None:
                forbidden = tuple(v.rule for v in turn.view.options[wanted].forbidden_by(0))
                if not forbidden and turn.view.options[wanted].spent[0]:
                    forbidden = ("once",)
        rules = sc.rules
        if rule >= 0:
            claims = rules[rule].cites
        elif rule == SEATED:
            claims = actor.actions[action].cites
        else:
            claims = ()
        move = self.moves.at(actor_id, day)
        return HistoryRow(
            day,
            sc.date_of(day),
            actor_id,
            seat is not None,
            ids[action],
            ids[doctrine],
            "seat" if wanted >= 0 else "doctrine",
            ids[wanted] if wanted >= 0 else None,
            refused,
            rules[rule].id if rule >= 0 else None,
            rules[doctrine_rule].id if doctrine_rule >= 0 else None,
            tuple(claims),
            forbidden,
            before,
            after,
            move.note if move is not None else "",
        )

    def _look(self) -> None:
        """Today's views of every seat: a copy of the game's world stepped one day ahead
        with the doctrine at every seat (the game's own world and streams untouched)."""
        core = self._model.core
        memo = {id(self.scenario): self.scenario, id(self): self}
        ahead = copy.deepcopy(core, memo)
        looks = {a: _Look() for a in self.seats}
        ahead.seats = {a: Seated(p, keep_views=True) for a, p in looks.items()}
        ahead.step()
        for a, look in looks.items():
            assert look.view is not None  # every seat is asked every day
            self._cache.views[a] = look.view

    def _paths(self, moves: Moves, worlds: int) -> Paths:
        key = (*moves.moves, Move(-1, "", "", str(worlds)))
        paths = self._cache.paths.pop(key, None)
        if paths is None:
            paths = ensemble(self.scenario, self.seed, worlds, moves)
            while len(self._cache.paths) >= KEPT_ENSEMBLES:
                del self._cache.paths[next(iter(self._cache.paths))]  # the least recently used
        self._cache.paths[key] = paths
        return paths

    def _set_moves(self, moves: Moves) -> None:
        self._branches[self.branch].moves = moves

    def _keep_branch(self) -> None:
        self._branches[self.branch].day = self.day

    def _seated(self, actor: str) -> None:
        if actor not in self.seats:
            raise UsageError(
                f"{actor!r} holds no seat in this game{did_you_mean(actor, list(self.seats))} "
                f"(seats: {', '.join(self.seats)})"
            )

    def _not_over(self) -> None:
        if self.finished:
            raise UsageError(f"the game is over (all {self.horizon} days played)")

    def _day_up_to_today(self, day: int) -> int:
        _whole("day", day, 0)
        if day > self.day:
            raise UsageError(f"day {day} has not been played yet (today is day {self.day})")
        return int(day)


def _why_not(option: object) -> str:
    from sim.seat.view import Option

    assert isinstance(option, Option)
    forbidden = option.forbidden_by(0)
    if forbidden:
        return "; ".join(
            f"constraint {v.rule} forbids it"
            + (f" ({v.description})" if v.description else "")
            + (f" [{', '.join(v.cites)}]" if v.cites else "")
            for v in forbidden
        )
    if option.spent[0]:
        return "it can be taken only once, and it was"
    return "it is not allowed today"


def _checked_seats(sc: Scenario, seats: Sequence[str]) -> tuple[str, ...]:
    if isinstance(seats, str):
        seats = (seats,)
    known = [a.id for a in sc.actors]
    out: list[str] = []
    for s in seats:
        if s not in known:
            raise UsageError(
                f"no actor {s!r} to seat in {sc.name}{did_you_mean(str(s), known)} "
                f"(actors: {', '.join(known)})"
            )
        if s in out:
            raise UsageError(f"{s} is seated twice")
        out.append(s)
    if not out:
        raise UsageError(f"a game needs at least one seat (actors: {', '.join(known)})")
    return tuple(out)


def _whole(what: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"{what} must be a whole number of at least {minimum} (got {value!r})")
    return int(value)


def _worlds(worlds: object) -> int:
    n = _whole("worlds", worlds, 1)
    if n > MAX_WORLDS:
        raise UsageError(f"worlds must be at most {MAX_WORLDS:,} (got {n:,})")
    return n
