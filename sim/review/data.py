"""What an after-action review shows, computed without drawing or printing anything.

A review has three parts, each a plain frozen object a front end can show
in its own way (the terminal's text, the HTML page, the browser seat):

* a **timeline** per actor (:class:`Step`): every non-default action of the
  game's world with the rule and claims behind it, and for the seated actor
  every day it chose, what it chose and what its doctrine would have chosen
  that day;
* the **ladder moves** of the game's world (:class:`LadderMove`) and its rung
  day by day;
* the **paths compared** (:class:`PathRow`): the share of each outcome (and
  flag) over an ensemble of worlds in which the seat plays the person's
  choices, against the same worlds with the seat on doctrine. The worlds are
  the same (the same seeds, so the same draws), which makes every world a
  pair and the difference a paired one (Newcombe's interval,
  :func:`sim.stats.paired_diff`), which only the worlds that end
  differently widen.

:func:`timeline`, :func:`ladder_moves` and :func:`paths_of` are pure
functions of what a :class:`sim.game.Game` gives (its ``history()`` rows and
its ``compare()``); :func:`build_review` assembles a :class:`Review` from a
game. The browser seat (:mod:`sim.viz`) shows the same objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sim.scenario.model import Actor, Scenario
from sim.stats import Share


@dataclass(frozen=True)
class Step:
    """One entry of an actor's timeline.

    ``how`` is ``"chosen"`` (the person picked it), ``"waited"`` (the person let
    the day pass with no action), ``"doctrine"`` (the seat left the day to its
    doctrine) or ``"rule"`` (an actor on doctrine; only non-default actions are
    listed for those). ``doctrine_*`` say what the seat's doctrine would have
    chosen that day (seated days only; ``None`` elsewhere).
    """

    day: int
    date: str
    actor: str
    actor_name: str
    action: str
    action_name: str
    rule: str | None
    cites: tuple[str, ...]
    how: str
    doctrine_action: str | None = None
    doctrine_action_name: str | None = None
    doctrine_rule: str | None = None
    doctrine_cites: tuple[str, ...] = ()
    refused: bool = False
    """The person's choice was not allowed that day; the doctrine's stood."""
    wanted: str | None = None
    """The action the person asked for, where it was refused."""
    note: str = ""
    """Why, as the person wrote it (a moves file's ``note``)."""
    constraints: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """The person's days: the constraint rules (id, claims) on the action asked for,
    which allowed it (or, where it was refused, of which some forbade it)."""

    @property
    def differs(self) -> bool:
        """Whether the seat did something other than what its doctrine would have done."""
        return self.doctrine_action is not None and self.doctrine_action != self.action


@dataclass(frozen=True)
class Stretch:
    """Consecutive quiet days of the seat spent the same way, or one notable day.

    A day is quiet when nothing the person did set it apart from the doctrine:
    the default action taken as the doctrine would have (``waited``), or a day left
    to the doctrine (``doctrine``, whatever it chose). A notable day (a choice of
    the person besides the default, a refused one, one with a note) is a stretch
    of its own, with its :class:`Step` in ``step``.
    """

    steps: tuple[Step, ...]
    step: Step | None = None

    @property
    def first(self) -> Step:
        """The stretch's first day."""
        return self.steps[0]

    @property
    def last(self) -> Step:
        """The stretch's last day."""
        return self.steps[-1]

    @property
    def days(self) -> int:
        """How many days it spans."""
        return len(self.steps)

    @property
    def notable(self) -> bool:
        """A single day worth a line of its own."""
        return self.step is not None

    @property
    def actions(self) -> tuple[tuple[Step, int], ...]:
        """Each action and rule of the stretch once (its first step) with its days, most
        days first."""
        counts: dict[tuple[str, str | None], list[Step]] = {}
        for s in self.steps:
            counts.setdefault((s.action, s.rule), []).append(s)
        return tuple(
            (g[0], len(g)) for g in sorted(counts.values(), key=lambda g: (-len(g), g[0].day))
        )


def stretches(steps: Sequence[Step], default: str) -> tuple[Stretch, ...]:
    """The seat's days as :class:`Stretch` es: runs of quiet days, and notable days alone.

    ``default`` is the seat's default action (its "no action").
    """
    out: list[Stretch] = []
    for s in steps:
        plain = s.how == "doctrine" or s.action == default
        quiet = plain and not s.differs and not s.refused and not s.note
        if not quiet:
            out.append(Stretch((s,), s))
            continue
        prev = out[-1] if out else None
        if (
            prev is not None
            and not prev.notable
            and prev.last.how == s.how
            and prev.last.day + 1 == s.day
        ):
            out[-1] = Stretch((*prev.steps, s))
        else:
            out.append(Stretch((s,)))
    return tuple(out)


def repeats(steps: Sequence[Step]) -> tuple[tuple[Step, tuple[int, ...]], ...]:
    """An actor's steps with each action and rule once: its first step and every day it came.

    An actor on doctrine often repeats itself (rhetoric on many days); the review lists
    each action and rule once, in the order of their first day.
    """
    groups: dict[tuple[str, str | None], list[Step]] = {}
    for s in steps:
        groups.setdefault((s.action, s.rule), []).append(s)
    return tuple((g[0], tuple(x.day for x in g)) for g in groups.values())


@dataclass(frozen=True)
class LadderMove:
    """The game's world moved from one rung to another on ``day``."""

    day: int
    date: str
    rung_from: str
    rung_to: str
    name_from: str
    name_to: str
    mid_level: int
    up: bool
    """An escalation (else a de-escalation)."""


@dataclass(frozen=True)
class PathRow:
    """One outcome (or flag) under both paths over the same worlds.

    ``person`` and ``doctrine`` are shares with Wilson intervals; ``diff`` is
    person minus doctrine, with Newcombe's paired 95% interval ``[lo, hi]``.
    """

    id: str
    name: str
    kind: str  # "outcome" | "flag"
    person: Share
    doctrine: Share
    diff: float
    lo: float
    hi: float
    colour: str | None = None

    @property
    def significant(self) -> bool:
        """The interval of the difference leaves out zero."""
        return self.lo > 0 or self.hi < 0


@dataclass(frozen=True)
class Review:
    """Everything an after-action review shows, for one branch of one game."""

    scenario: str
    title: str
    seat: str
    seat_name: str
    seed: int
    branch: str
    start: str
    days_played: int
    horizon_days: int
    timeline: dict[str, tuple[Step, ...]]
    actor_names: dict[str, str]
    ladder: tuple[LadderMove, ...]
    rungs: tuple[int, ...]
    """The game world's rung at the end of each day played (ladder indices)."""
    rung_names: tuple[str, ...]
    worlds: int
    paths: tuple[PathRow, ...]
    outcome: str | None = None
    outcome_name: str | None = None
    seat_default: str = ""
    """The seat's default action (its "no action")."""
    notes: tuple[str, ...] = field(default=())

    @property
    def outcomes(self) -> tuple[PathRow, ...]:
        """The outcome rows of :attr:`paths`, least to most severe."""
        return tuple(r for r in self.paths if r.kind == "outcome")

    @property
    def flags(self) -> tuple[PathRow, ...]:
        """The flag rows of :attr:`paths`."""
        return tuple(r for r in self.paths if r.kind == "flag")

    @property
    def choices(self) -> tuple[Step, ...]:
        """The seat's own days (chosen, waited or left to doctrine), in order."""
        return tuple(s for s in self.timeline.get(self.seat, ()) if s.how != "rule")

    @property
    def departures(self) -> tuple[Step, ...]:
        """The seat's days where it did not do what its doctrine would have done."""
        return tuple(s for s in self.choices if s.differs)

    @property
    def stretches(self) -> tuple[Stretch, ...]:
        """The seat's days grouped: quiet runs in one piece, notable days alone."""
        return stretches(self.choices, self.seat_default)


def timeline(sc: Scenario, history: Sequence[Any], seat: str) -> dict[str, tuple[Step, ...]]:
    """Per actor (scenario order), its :class:`Step` s from a game's ``history()`` rows.

    The seat's every day is listed (what was taken, how, and what its doctrine would
    have taken); for the other actors, the days they did something besides their
    default action.
    """
    rules = {r.id: r for r in sc.rules}
    out: dict[str, list[Step]] = {a.id: [] for a in sc.actors}
    for row in history:
        actor = sc.actor(row.actor)
        default = actor.default_action.id
        if row.actor == seat and row.seated:
            if row.by == "seat":
                how = "waited" if row.wanted == default else "chosen"
            else:
                how = "doctrine"
            doc = rules.get(row.doctrine_rule) if row.doctrine_rule else None
            asked = row.wanted if row.by == "seat" and row.wanted else row.action
            constraints = tuple(
                (r.id, r.cites) for r in actor.rules if r.kind == "constraint" and r.action == asked
            )
            out[row.actor].append(
                Step(
                    *_taken(row, actor),
                    how,
                    row.doctrine,
                    actor.action(row.doctrine).name,
                    row.doctrine_rule,
                    doc.cites if doc else (),
                    bool(row.refused),
                    row.wanted if row.refused else None,
                    row.note or "",
                    constraints if how != "doctrine" else (),
                )
            )
        elif row.action != default:
            out[row.actor].append(Step(*_taken(row, actor), "rule"))
    return {k: tuple(v) for k, v in out.items()}


Taken = tuple[int, str, str, str, str, str, str | None, tuple[str, ...]]
"""The first fields of a :class:`Step`, in order."""


def _taken(row: Any, actor: Actor) -> Taken:
    """A :class:`Step`'s first fields, what was taken that day: day, date, actor, action, rule."""
    action = row.action
    return (
        row.day,
        _iso(row.date),
        row.actor,
        actor.name,
        action,
        actor.action(action).name,
        row.rule,
        tuple(row.claims),
    )


def _iso(date: Any) -> str:
    return date.isoformat() if hasattr(date, "isoformat") else str(date)


def ladder_moves(
    sc: Scenario, history: Sequence[Any]
) -> tuple[tuple[LadderMove, ...], tuple[int, ...]]:
    """The game world's moves on the ladder, and its rung at the end of each day played.

    Read from the ``rung_from`` and ``rung_to`` of a game's ``history()`` rows (the same
    for every actor of a day: the day's events and actions together).
    """
    index = {r.id: r.index for r in sc.ladder}
    days: dict[int, tuple[int, int]] = {}
    for row in history:
        days.setdefault(row.day, (index[row.rung_from], index[row.rung_to]))
    moves = []
    for d in sorted(days):
        a, b = days[d]
        if a != b:
            ra, rb = sc.ladder[a], sc.ladder[b]
            moves.append(
                LadderMove(
                    d,
                    sc.date_of(d).isoformat(),
                    ra.id,
                    rb.id,
                    ra.name,
                    rb.name,
                    rb.mid_level,
                    b > a,
                )
            )
    return tuple(moves), tuple(days[d][1] for d in sorted(days))


def paths_of(sc: Scenario, comparison: Any) -> tuple[PathRow, ...]:
    """Outcome rows (and flag rows, when the comparison has them) of a game's ``compare()``.

    ``comparison.seat`` and ``.doctrine`` map ids to :class:`~sim.stats.Share`;
    ``.difference`` maps them to (person minus doctrine, lo, hi), the paired interval
    of the same worlds.
    """
    rows = []
    for o in sc.outcomes:
        d, lo, hi = comparison.difference[o.id]
        rows.append(
            PathRow(
                o.id,
                o.name,
                "outcome",
                comparison.seat[o.id],
                comparison.doctrine[o.id],
                d,
                lo,
                hi,
                o.colour,
            )
        )
    seat_flags = getattr(comparison, "seat_flags", None) or {}
    doctrine_flags = getattr(comparison, "doctrine_flags", None) or {}
    flag_diff = getattr(comparison, "flag_difference", None) or {}
    for f in sc.flags:
        if f.id in seat_flags and f.id in doctrine_flags and f.id in flag_diff:
            d, lo, hi = flag_diff[f.id]
            rows.append(
                PathRow(f.id, f.name, "flag", seat_flags[f.id], doctrine_flags[f.id], d, lo, hi)
            )
    return tuple(rows)


def build_review(
    game: Any,
    seat: str | None = None,
    worlds: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Review:
    """The review of the branch a game is in, for ``seat`` (its first seat by default).

    Runs the game's comparison of the two paths (``game.compare(worlds)``: ``worlds``
    worlds per path, the game's own number when ``None``), which is what takes time;
    ``progress(done, total)`` is told as each path is done.
    """
    sc: Scenario = game.scenario
    seat = seat or game.seats[0]
    history = game.history()
    moves, rungs = ladder_moves(sc, history)
    comparison = game.compare(worlds, progress=progress)
    oid = game.outcome()
    outcome = next((o for o in sc.outcomes if o.id == oid), None)
    notes = []
    refused = [s for s in timeline(sc, history, seat)[seat] if s.refused]
    if refused:
        notes.append(
            f"{len(refused)} of your choices were not allowed on their day in this world; "
            "the doctrine's choice stood there."
        )
    return Review(
        scenario=sc.name,
        title=sc.title,
        seat=seat,
        seat_name=sc.actor(seat).name,
        seed=int(game.seed),
        branch=str(game.branch),
        start=sc.start.isoformat(),
        days_played=int(game.day),
        horizon_days=sc.horizon_days,
        timeline=timeline(sc, history, seat),
        actor_names={a.id: a.name for a in sc.actors},
        ladder=moves,
        rungs=rungs,
        rung_names=tuple(r.name for r in sc.ladder),
        worlds=int(comparison.worlds),
        paths=paths_of(sc, comparison),
        outcome=outcome.id if outcome else None,
        outcome_name=outcome.name if outcome else None,
        seat_default=sc.actor(seat).default_action.id,
        notes=tuple(notes),
    )
