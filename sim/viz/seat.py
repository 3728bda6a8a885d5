"""Take a seat in the browser: play one or several actors against the others' doctrine.

The page's *Take a seat* tab drives one :class:`sim.game.Game` per browser
session. Several actors can be seated at once (hot-seat): each takes its turn
on every day, seeing only its own knowledge, until all have chosen; then the
day is adjudicated. For the actor whose turn it is the tab shows what it
knows (its own intel, beliefs and traits and the names its rules read, never
another actor's hidden state), each of its actions with the rules and claims
that allow, forbid or favour it, what its doctrine would do, and the
predicted consequences of each allowed action (outcome shares of an ensemble
continued with that choice, with 95% intervals). The game can be advanced,
rewound to any earlier day, saved, and reviewed (the after-action review of
:mod:`sim.review`).

The text pieces are pure functions (tested without a browser); the
components only lay them out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import numpy as np
import reacton.ipywidgets as widgets
import solara
import solara.lab

from sim.errors import UsageError, WargameError
from sim.results.drivers import parameter_name
from sim.scenario.model import Scenario
from sim.viz.settings import ViewerSettings
from sim.viz.textbox import TextBox

PREDICTION_WORLDS = (200, 500, 1000)
"""Choices of ensemble size for the predicted consequences (per action)."""


# -- what the tab shows, as data --------------------------------------------------
def value_text(value: Any) -> str:
    """A value of the actor's knowledge in world 0, as a person would read it."""
    x = np.asarray(value)
    x = x.reshape(-1)[0] if x.size else x
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    if isinstance(x, (float, np.floating)):
        f = float(x)
        return f"{f:,.0f}" if f.is_integer() and abs(f) >= 1000 else f"{f:.3g}"
    return str(x)


def known_names(sc: Scenario) -> dict[str, str]:
    """Readable names of what an actor may know: state variables, parameters, intel, the rung."""
    out = {"day": "Days since the start", "rung": "Rung of the escalation ladder (index)"}
    described: list[Any] = [*sc.state, *sc.parameters, *sc.intel]
    for x in described:
        out[x.id] = parameter_name(x.id, x.description)
    return out


def knowledge_rows(view: Any) -> list[tuple[str, str, str]]:
    """(name, id, value) of everything the seated actor's own rules read today, in world 0."""
    names = known_names(view.scenario)
    rows = [(names.get(k, k), k, value_text(v)) for k, v in view.knowledge.items()]
    return sorted(rows)


def belief_rows(view: Any) -> list[tuple[str, str]]:
    """(trait, 'type 62%, other 38%') per belief the actor holds about another's trait."""
    out = []
    for trait, types in view.beliefs.items():
        parts = [
            f"{t.replace('_', ' ')} {100 * float(np.asarray(p).reshape(-1)[0]):.0f}%"
            for t, p in types.items()
        ]
        out.append((trait, ", ".join(parts)))
    return out


def share_text(s: Any) -> str:
    """``58% (55-61%)``: a share with its 95% interval."""
    if s is None or s.n == 0 or math.isnan(s.p):
        return "–"
    return f"{100 * s.p:.0f}% ({100 * s.lo:.0f}–{100 * s.hi:.0f}%)"


def verdict_text(verdicts: Sequence[Any]) -> str:
    """Rules as ``what it says (rule-id) [claim, claim]``, one after the other."""
    parts = []
    for v in verdicts:
        cites = f" [{', '.join(v.cites)}]" if v.cites else ""
        said = parameter_name(v.rule, v.description) if v.description.strip() else ""
        parts.append(f"{said} ({v.rule}){cites}" if said else f"{v.rule}{cites}")
    return "; ".join(parts)


def option_rows(scenario: Scenario, forecasts: Sequence[Any]) -> list[dict[str, Any]]:
    """One row per action: allowed, doctrine, rules for and against, predicted shares."""
    rows = []
    for f in forecasts:
        rows.append(
            {
                "action": f.action,
                "name": f.name,
                "allowed": bool(f.allowed),
                "doctrine": bool(f.doctrine),
                "odds": float(f.odds),
                "for": verdict_text(f.wanted_by),
                "against": verdict_text(f.forbidden_by),
                "shares": {o.name: share_text(f.shares.get(o.id)) for o in scenario.outcomes}
                if f.allowed
                else {},
                "refused": int(getattr(f, "refused", 0) or 0),
                "worlds": int(getattr(f, "worlds", 0) or 0),
            }
        )
    return rows


def history_table(rows: Sequence[Any], limit: int = 200) -> str:
    """The game's history, newest first: day, actor, what it did, by whom, doctrine's pick."""
    if not rows:
        return "<i>No day played yet.</i>"
    head = (
        "<tr><th>date</th><th>actor</th><th>did</th><th>chosen by</th>"
        "<th>doctrine's pick</th><th>rule</th><th>claims</th></tr>"
    )
    body = []
    for r in reversed(list(rows)[-limit:]):
        by = "refused, doctrine stood" if r.refused else r.by
        body.append(
            f"<tr><td style='white-space:nowrap'>{r.date:%d %b}</td><td>{escape(r.actor)}</td>"
            f"<td>{escape(str(r.action))}</td><td>{escape(by)}</td>"
            f"<td>{escape(str(r.doctrine))}</td><td class='rule'>{escape(str(r.rule or ''))}</td>"
            f"<td class='claims'>{escape(', '.join(r.claims))}</td></tr>"
        )
    return f"<table class='wg-story' data-testid='seat-history'>{head}{''.join(body)}</table>"


# -- per-session game --------------------------------------------------------------
class SeatSession:
    """The session's game (``None`` before one starts) and a counter to redraw after a move."""

    def __init__(self) -> None:
        self.game: Any = None
        self.version = solara.reactive(0)
        self.message = solara.reactive("")
        self.error = solara.reactive("")
        self.reports: list[Any] = []

    def touched(self) -> None:
        self.version.set(self.version.value + 1)

    def act(self, what: Any) -> None:
        """Run a game call; a bad input becomes the tab's error, not a traceback."""
        try:
            self.error.set("")
            what()
        except WargameError as exc:
            self.error.set(str(exc))
        self.touched()


def _start(session: SeatSession, settings: ViewerSettings, seats: list[str], worlds: int) -> None:
    from sim.game import Game

    session.game = Game.new(settings.applied().scenario, seats=tuple(seats), worlds=worlds)
    session.reports = []
    session.message.set("")


def _load(session: SeatSession, name: str, data: bytes) -> None:
    """A saved game dropped on the page (``Game.save``'s YAML or JSON)."""
    import tempfile
    from pathlib import Path

    from sim.game import Game

    suffix = ".json" if name.lower().endswith(".json") else ".yaml"
    with tempfile.TemporaryDirectory(prefix="wargame-game-") as tmp:
        path = Path(tmp) / f"game{suffix}"
        path.write_bytes(data)
        try:
            game = Game.load(path)
        except WargameError as exc:  # positions name the dropped file, not the copy
            diagnostics = getattr(exc, "diagnostics", None)
            text = "\n".join(str(d) for d in diagnostics) if diagnostics else str(exc)
            raise UsageError(text.replace(str(path), name)) from None
    session.game = game
    session.reports = []
    session.message.set(f"Loaded {name}: day {game.day}, branch {game.branch}.")


# -- components --------------------------------------------------------------------
_SMALL = {"font-size": "0.85em", "color": "#555", "display": "block"}


@solara.component
def SeatTab(settings: ViewerSettings) -> None:
    """The *Take a seat* tab."""
    session = solara.use_memo(SeatSession, [])
    version = session.version.value  # a new value after every move: redraw the board
    if session.error.value:
        with solara.v.Html(tag="div", attributes={"data-testid": "seat-error"}):
            solara.Error(session.error.value, dense=True)
    if session.game is None:
        SeatSetup(settings, session)
        return
    GameBoard(session, version)


@solara.component
def SeatSetup(settings: ViewerSettings, session: SeatSession) -> None:
    """Choose the actors to play and the size of the prediction ensembles, then start."""
    chosen = solara.use_reactive(list[str]())
    worlds = solara.use_reactive(PREDICTION_WORLDS[0])
    sc = settings.base
    with solara.Card("Take a seat", style={"max-width": "900px"}):
        solara.Text(
            "Play one actor, or several taking turns on one screen (hot-seat), against the "
            "doctrine of the others. The game world is one world of the scenario with its "
            "seed; each option's predicted consequences come from an ensemble continued "
            "with that choice. The overrides typed in the sidebar apply; its pins do not "
            "(the game world draws its own values, as one world of a batch does).",
            style=_SMALL,
        )
        for a in sc.actors:

            def toggle(on: bool, aid: str = a.id) -> None:
                rest = [x for x in chosen.value if x != aid]
                chosen.set([*rest, aid] if on else rest)

            solara.v.Checkbox(
                label=f"{a.name} ({a.id})",
                v_model=a.id in chosen.value,
                on_v_model=toggle,
                dense=True,
                hide_details=True,
                attributes={"data-testid": f"seat-pick-{a.id}"},
            )
        solara.ToggleButtonsSingle(
            value=worlds, values=list(PREDICTION_WORLDS), style={"margin-top": "8px"}
        )
        solara.Text("worlds per predicted consequence", style=_SMALL)
        order = [a.id for a in sc.actors if a.id in chosen.value]
        solara.Button(
            "Start the game",
            color="primary",
            disabled=not order,
            on_click=lambda: session.act(lambda: _start(session, settings, order, worlds.value)),
            class_="mt-2",
        )
        solara.Text("… or load a game saved with Save game:", style=_SMALL)

        def uploaded(files: Any) -> None:
            for f in files or ():
                session.act(lambda f=f: _load(session, f["name"], bytes(f["content"])))

        widgets.FileUpload(accept=".yaml,.yml,.json", multiple=False, on_value=uploaded)


@solara.component
def GameBoard(session: SeatSession, version: int) -> None:
    """The game under way: whose turn, what it knows, its options; advance, rewind, review.

    ``version`` changes after every move, so the board (whose game object is
    changed in place) is drawn again.
    """
    game = session.game
    sc: Scenario = game.scenario
    waiting = game.waiting_for() if not game.finished else ()
    turn = waiting[0] if waiting else None
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
        head = (
            f"Game over on day {game.day}: {_outcome_name(sc, game.outcome())}"
            if game.finished
            else f"Day {game.day} of {game.horizon}: {game.date:%a %d %b %Y}"
        )
        solara.v.Html(tag="h3", attributes={"data-testid": "seat-day"}, children=[head])
        solara.v.Spacer()
        solara.Text(f"branch {game.branch} · seats: {', '.join(game.seats)}", style=_SMALL)
    GameControls(session, turn, version)
    if session.message.value:
        solara.Info(session.message.value, dense=True)
    if session.reports:
        lines = [
            ln
            for rep in session.reports
            for ln in (f"{rep.date:%a %d %b}:", *(rep.lines or ("a quiet day",)))
        ]
        with solara.Card("What happened", margin=0):
            solara.v.Html(
                tag="pre",
                attributes={"data-testid": "seat-report"},
                children=["\n".join(lines[-60:])],
                style_="white-space: pre-wrap; font-size: 0.85em; margin: 0",
            )
    if turn is not None:
        actor = sc.actor(turn)
        solara.v.Html(
            tag="h3",
            attributes={"data-testid": "seat-turn"},
            children=[f"Your move as {actor.name}"],
            style_="margin-top: 12px",
        )
        with solara.ColumnsResponsive(default=12, large=[4, 8]):
            Knowledge(game, turn, version)
            Options(session, turn, version)
    elif not game.finished:
        solara.Info("Every seat has chosen for today: advance the day.", dense=True)
    with (
        solara.Card("History of this branch", margin=0, style={"margin-top": "12px"}),
        solara.Div(style={"max-height": "420px", "overflow-y": "auto"}),
    ):
        solara.HTML(tag="div", unsafe_innerHTML=history_table(game.history()))
    Review(session, version)


def _outcome_name(sc: Scenario, oid: str | None) -> str:
    return next((o.name for o in sc.outcomes if o.id == oid), str(oid))


@solara.component
def GameControls(session: SeatSession, turn: str | None, version: int) -> None:
    """Advance, rewind, save and new game."""
    game = session.game
    days = solara.use_reactive("1")
    back = solara.use_reactive("0")
    name = solara.use_reactive("")

    def advance() -> None:
        n = _whole(days.value, "days to advance")
        session.reports = game.advance(n)
        session.message.set("")

    def rewind() -> None:
        day = _whole(back.value, "day to rewind to")
        game.rewind(day)
        session.reports = []
        session.message.set(f"Rewound to the start of day {day}; the moves from then on are gone.")

    def branch_off() -> None:
        day = _whole(back.value, "day to branch off at")
        game.branch_off(name.value.strip(), day)
        session.reports = []
        session.message.set(
            f"Branch {game.branch!r} starts at day {day}; the other branches are kept."
        )

    def switch(to: str) -> None:
        session.act(lambda: game.switch(to))
        session.reports = []

    def new() -> None:
        session.game = None
        session.reports = []

    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}, gap="8px"):
        solara.Button(
            "Advance",
            color="primary",
            disabled=game.finished,
            on_click=lambda: session.act(advance),
        )
        with solara.Div(style={"width": "70px"}):
            TextBox("days", days)
        if turn is not None:
            solara.Text("(seats that have not chosen follow their doctrine)", style=_SMALL)
        solara.Button("Rewind to day", outlined=True, on_click=lambda: session.act(rewind))
        with solara.Div(style={"width": "70px"}):
            TextBox("day", back)
        solara.Button(
            "or branch off there as", outlined=True, on_click=lambda: session.act(branch_off)
        )
        with solara.Div(style={"width": "110px"}):
            TextBox("branch name", name)
        if len(game.branches) > 1:
            with solara.Div(style={"width": "150px"}):
                solara.Select(
                    "branch", value=game.branch, values=list(game.branches), on_value=switch
                )
        SaveButton(game)
        solara.Button("New game", outlined=True, on_click=lambda: session.act(new))


def _whole(text: str, what: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not a whole number") from None


@solara.component
def SaveButton(game: Any) -> None:
    """Download the game as YAML (also a moves file for ``wargame batch --moves``)."""

    def data() -> bytes:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory(prefix="wargame-game-") as tmp:
            path = Path(tmp) / "game.yaml"
            game.save(path)
            return path.read_bytes()

    solara.FileDownload(
        data,
        filename=f"{game.scenario.name}-game.yaml",
        label="Save game",
    )


@solara.component
def Knowledge(game: Any, actor: str, version: int) -> None:
    """What the actor knows today (its own view, not the true state)."""
    view = game.view(actor)
    rows = knowledge_rows(view)
    beliefs = belief_rows(view)
    with solara.Card("What you know", margin=0):
        body = "".join(
            f"<tr><td title='{escape(i)}'>{escape(k)}</td><td class='num'>{escape(v)}</td></tr>"
            for k, i, v in rows
        )
        html = f"<table class='wg-story' data-testid='seat-knowledge'>{body}</table>"
        if beliefs:
            html += (
                "<h4 style='margin-top:8px'>Beliefs</h4><table class='wg-story'>"
                + "".join(f"<tr><td>{escape(t)}</td><td>{escape(b)}</td></tr>" for t, b in beliefs)
                + "</table>"
            )
        solara.HTML(tag="div", unsafe_innerHTML=html)


@solara.component
def Options(session: SeatSession, actor: str, version: int) -> None:
    """The actor's actions today, with rules, doctrine and predicted consequences; choose one."""
    game = session.game
    key = (id(game), game.branch, game.day, actor, len(game.moves.moves))

    def compute() -> list[dict[str, Any]]:
        return option_rows(game.scenario, game.options(actor))

    task = solara.lab.use_task(compute, dependencies=[key], raise_error=False)
    with solara.Card("Your options today", margin=0):
        solara.ProgressLinear(task.pending)
        if task.error:
            solara.Error(f"Could not predict the options: {task.exception}")
            return
        if task.value is None or task.pending:
            solara.Text(f"Predicting each option over {game.worlds:,} worlds…", style=_SMALL)
            return
        for row in task.value:
            OptionRow(session, actor, row)


@solara.component
def OptionRow(session: SeatSession, actor: str, row: Mapping[str, Any]) -> None:
    """One action: its name, doctrine's mark, rules, predicted shares and a Choose button."""
    game = session.game
    tag = "doctrine's choice" if row["doctrine"] else f"doctrine's odds {100 * row['odds']:.0f}%"
    with solara.v.Html(
        tag="div",
        attributes={"data-testid": f"seat-option-{row['action']}"},
        style_="border-bottom: 1px solid #e4e4e4; padding: 6px 0",
    ):
        with solara.Row(style={"align-items": "center"}, gap="8px"):
            solara.v.Html(
                tag="b",
                children=[row["name"]],
                style_="" if row["allowed"] else "color: #999; text-decoration: line-through",
            )
            solara.Text(f"({row['action']}) · {tag}", style={"font-size": "0.85em"})
            solara.v.Spacer()
            solara.Button(
                "Choose",
                small=True,
                color="primary",
                disabled=not row["allowed"],
                on_click=lambda: session.act(lambda: game.choose(actor, row["action"])),
                attributes={"data-testid": f"seat-choose-{row['action']}"},
            )
        if row["against"]:
            solara.Text(
                f"forbidden today by {row['against']}", style={**_SMALL, "color": "#b2182b"}
            )
        if row["for"]:
            solara.Text(f"favoured by {row['for']}", style=_SMALL)
        if row["shares"]:
            text = " · ".join(f"{k} {v}" for k, v in row["shares"].items())
            solara.Text(f"predicted over {row['worlds']:,} worlds: {text}", style=_SMALL)


@solara.component
def Review(session: SeatSession, version: int) -> None:
    """The after-action review of the game so far, on demand, for one seat at a time."""
    shown = solara.use_reactive(False)
    game = session.game
    seat = solara.use_reactive(game.seats[0])
    who = seat.value if seat.value in game.seats else game.seats[0]
    key = (id(game), game.branch, game.day, len(game.moves.moves), who)

    def compute() -> str:
        from sim.review import build_review, render_review

        return render_review(build_review(game, seat=who))

    with solara.Card("After-action review", margin=0, style={"margin-top": "12px"}):
        if len(game.seats) > 1:
            solara.ToggleButtonsSingle(value=seat, values=list(game.seats))
        if not shown.value:
            solara.Button("Review the game so far", outlined=True, on_click=lambda: shown.set(True))
            return
        ReviewFrame(compute, key)


@solara.component
def ReviewFrame(compute: Any, key: tuple[Any, ...]) -> None:
    task = solara.lab.use_task(compute, dependencies=[key], raise_error=False)
    solara.ProgressLinear(task.pending)
    if task.error:
        solara.Error(f"The review failed: {task.exception}")
    elif task.value is not None:
        solara.v.Html(
            tag="iframe",
            attributes={"srcdoc": task.value, "data-testid": "seat-review"},
            style_="width: 100%; height: 900px; border: 1px solid #ddd",
        )
