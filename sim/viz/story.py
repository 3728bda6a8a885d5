"""The single world of the viewer: its story so far, where it stands, its path.

Pure functions of a narrated :class:`~sim.engine.model.WargameModel` (any
day, finished or not), so they are tested without a browser; the viewer's
components only lay them out.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np
from matplotlib import dates as mdates
from matplotlib.figure import Figure

from sim.engine.model import LogEntry, WargameModel
from sim.scenario.model import Scenario
from sim.viz.ensemble import BAND_COLOUR


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


def plot_world_path(model: WargameModel, world: int = 0, width: float = 7.0) -> Figure:
    """The world's rung per day so far, on the whole scenario's time axis."""
    sc = model.spec
    fig = Figure(figsize=(width, 2.6), layout="constrained")
    ax = fig.add_subplot()
    start = np.datetime64(sc.start, "D")
    end = np.datetime64(sc.date_of(sc.horizon_days), "D")
    days = model.day
    if days:
        x = start + np.arange(days + 1)
        y = np.append(model.rung_track[:days, world], model.rung_track[days - 1, world])
        ax.plot(x, y, color=BAND_COLOUR, lw=2, drawstyle="steps-post")
        ax.plot(x[-2:-1], y[-2:-1], "o", color=BAND_COLOUR)
    labels = [f"{r.name} (MID {r.mid_level})" for r in sc.ladder]
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.set_xlim(start, end)  # type: ignore[arg-type]  # dates convert; the stubs say float
    locator = mdates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="y", color="0.92")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title("This world's rung, day by day", loc="left", fontsize=10)
    return fig
