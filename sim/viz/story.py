"""The single world of the viewer: its story so far, where it stands, its path.

Pure functions of a narrated :class:`~sim.engine.model.WargameModel` (any
day, finished or not), so they are tested without a browser; the viewer's
components only lay them out.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from sim.engine.model import LogEntry, WargameModel
from sim.scenario.model import Scenario


@dataclass(frozen=True)
class StoryRow:
    """One line of the story: who did what on which day, by which rule, citing what."""

    day: int
    date: _dt.date
    who: str
    what: str
    rule: str
    claims: tuple[str, ...]


@dataclass(frozen=True)
class WorldStatus:
    """Where the world stands after the days simulated so far."""

    days_done: int
    horizon: int
    date: _dt.date | None  # the last simulated day; None before the first step
    rung: str
    rung_mid: int
    peak: str
    peak_mid: int
    outcome: str | None  # set once the horizon is reached

    @property
    def finished(self) -> bool:
        """Whether the world has reached its horizon (then ``outcome`` is set)."""
        return self.outcome is not None


def _row(sc: Scenario, e: LogEntry) -> StoryRow:
    date = sc.date_of(e.day)
    if e.kind in ("event", "event_end"):
        name = next((ev.name for ev in sc.events if ev.id == e.what), e.what)
        what = name if e.kind == "event" else f"{name} ends"
        return StoryRow(e.day, date, "event", what, "", e.cites)
    if e.kind == "rung":
        a, b = sc.ladder[e.rung_from], sc.ladder[e.rung_to]
        verb = "escalates" if e.rung_to > e.rung_from else "de-escalates"
        return StoryRow(
            e.day, date, "ladder", f"{verb}: {a.name} → {b.name} (MID {b.mid_level})", "", ()
        )
    actor = sc.actor(e.actor)
    return StoryRow(e.day, date, actor.name, actor.action(e.what).name, e.rule, e.cites)


def story_rows(model: WargameModel, world: int = 0) -> list[StoryRow]:
    """Everything that happened in ``world`` so far, oldest first."""
    sc = model.spec
    return [_row(sc, e) for e in model.log if e.world == world]


def world_status(model: WargameModel, world: int = 0) -> WorldStatus:
    """The current and highest rung, the date reached and, at the end, the outcome."""
    sc = model.spec
    st = model.world
    rung = sc.ladder[int(st.rung[world])]
    peak = sc.ladder[int(st.peak[world])]
    outcome = None
    if model.outcome is not None:
        outcome = sc.outcomes[int(model.outcome[world])].name
    return WorldStatus(
        days_done=model.day,
        horizon=sc.horizon_days,
        date=sc.date_of(model.day - 1) if model.day else None,
        rung=rung.name,
        rung_mid=rung.mid_level,
        peak=peak.name,
        peak_mid=peak.mid_level,
        outcome=outcome,
    )


def world_parameters(model: WargameModel, world: int = 0) -> dict[str, str]:
    """This world's parameter values (drawn or pinned), formatted."""
    sc = model.spec
    out = {}
    for p in sc.parameters:
        x = model.world.params[p.id][world]
        if p.enum_values:
            out[p.id] = p.enum_values[int(x)]
        elif p.integer:
            out[p.id] = f"{int(x):,}"
        else:
            out[p.id] = f"{float(x):.3g}"
    return out


def world_rungs(model: WargameModel, world: int = 0) -> list[int]:
    """The world's rung (index on the ladder) at the end of each day simulated so far."""
    return [int(x) for x in model.rung_track[: model.day, world]]
