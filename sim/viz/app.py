"""The viewer page: parameters in the sidebar, one world and a live ensemble.

Run it with ``wargame view SCENARIO`` (or ``solara run sim.viz.app`` with
``WARGAME_SCENARIO`` set). The page has

* a sidebar (:mod:`sim.viz.sidebar`): the scenario's uncertain parameters
  first, by name, each *uncertain* or *pinned*; Mesa's Reset / play / Step
  for the single world and its seed; each actor's rationality and free
  ``--set`` style overrides, a bad one shown under its own input;
* the single world (``replicates=1``, narrated): date, current and highest
  rung, its path so far and its story (who did what, by which rule, citing
  which claims);
* the ensemble: a few thousand worlds with the same settings, rerun in a
  background thread whenever a setting changes, as outcome shares with 95%
  Wilson intervals and a fan chart of the rung over time; when anything is
  pinned or overridden, the scenario as written beside it (ghost bars, a
  dashed median) and a change column with Newcombe intervals.

The settings are one :class:`~sim.viz.settings.ViewerSettings` per session.
Charts are Vega-Lite specifications (:mod:`sim.viz.charts`) drawn by the
browser.
"""

from __future__ import annotations

from html import escape
from typing import Any

import solara
import solara.lab
from mesa.visualization.utils import update_counter

from sim.engine import kernels
from sim.errors import ValidationError
from sim.viz import vega
from sim.viz.asof import conditional_rows, conditioned, observation_days
from sim.viz.charts import conditional_spec, fan_spec, outcomes_spec, path_spec
from sim.viz.controls import describe_pins
from sim.viz.ensemble import WORLDS, Change, Ensemble, changes
from sim.viz.environment import OVERRIDES_ENV, SCENARIO_ENV
from sim.viz.seat import SeatTab
from sim.viz.settings import ViewerModel, ViewerSettings, ensemble_of, errors_of
from sim.viz.sidebar import OverridesCard, ParametersCard, WorldControls
from sim.viz.story import StoryRow, story_rows, world_parameters, world_rungs, world_status

_NOTE = {"font-size": "0.9em", "display": "block"}
_NOTE_CSS = "font-size: 0.9em"
_SMALL = {"font-size": "0.85em", "color": "#555", "display": "block"}


# -- panels ---------------------------------------------------------------------------
def _testid(name: str, text: str, tag: str = "div", style: str = "") -> solara.Element:
    """Text with a stable ``data-testid`` for browser tests."""
    return solara.v.Html(tag=tag, attributes={"data-testid": name}, children=[text], style_=style)


def _html(markup: str, style: str = "") -> solara.Element:
    """Trusted markup built here (every piece of scenario text passes :func:`escape`)."""
    return solara.HTML(tag="div", unsafe_innerHTML=markup, style=style)


def _chart(spec: dict[str, Any], testid: str) -> None:
    """A Vega-Lite chart, drawn by the browser, the full width of its card."""
    with solara.v.Html(tag="div", attributes={"data-testid": testid}, style_="width: 100%"):
        vega.chart(spec)


_STYLE = (
    ".wg-story{border-collapse:collapse;width:100%;font-size:0.88em}"
    ".wg-story th,.wg-story td{text-align:left;vertical-align:top;padding:3px 6px;"
    "border-bottom:1px solid #e4e4e4}.wg-story th{position:sticky;top:0;background:#fafafa}"
    ".wg-story td.claims{color:#555;font-size:0.92em}"
    ".wg-story td.rule{font-family:monospace;font-size:0.95em}"
    ".wg-story td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}"
    ".wg-story td.up{color:#b2182b}.wg-story td.down{color:#2166ac}"
)


def _story_table(rows: list[StoryRow], limit: int = 400) -> str:
    """The story as an HTML table, newest first (the last ``limit`` rows)."""
    if not rows:
        return "<i>Nothing has happened yet: press <b>Step</b> or <b>▶</b> above.</i>"
    head = "<tr><th>date</th><th>who</th><th>what</th><th>rule</th><th>claims cited</th></tr>"
    body = []
    for r in reversed(rows[-limit:]):
        who = r.who.capitalize() if r.who in ("event", "ladder") else r.who
        body.append(
            f"<tr><td style='white-space:nowrap'>{r.date:%d %b}</td><td>{escape(who)}</td>"
            f"<td>{escape(r.what)}</td><td class='rule'>{escape(r.rule)}</td>"
            f"<td class='claims'>{escape(', '.join(r.claims))}</td></tr>"
        )
    return f"<table class='wg-story'>{head}{''.join(body)}</table>"


def _change_table(change: tuple[Change, ...]) -> str:
    """Outcome, share now, share as written, and the change with its 95% interval."""
    head = (
        "<tr><th>outcome</th><th>now</th><th>as written</th>"
        "<th>change, points (95% interval)</th></tr>"
    )
    body = []
    for c in change:
        tone = ("up" if c.diff > 0 else "down") if c.clear else ""
        body.append(
            f"<tr><td>{escape(c.now.name)}</td><td class='num'>{100 * c.now.share:.1f}%</td>"
            f"<td class='num'>{100 * c.base.share:.1f}%</td>"
            f"<td class='num {tone}'>{escape(c.text())}</td></tr>"
        )
    table = f"<table class='wg-story' data-testid='change-table'>{head}{''.join(body)}</table>"
    return table


@solara.component
def WorldPanel(current: solara.Reactive[ViewerModel], settings: ViewerSettings) -> None:
    """The single world: Mesa's controls, status line, rung path, parameters and story."""
    update_counter.get()  # re-render after each Mesa step
    model = current.value
    status = world_status(model)
    path = solara.use_memo(lambda: path_spec(model.spec, world_rungs(model)), [model, model.day])
    with solara.Card("One world, day by day", style={"height": "100%"}):
        if status.date is None:
            head = f"Day 0 of {status.horizon}: starts {model.spec.start:%a %d %b %Y}"
        else:
            head = f"Day {status.days_done} of {status.horizon}: {status.date:%a %d %b %Y}"
        WorldControls(settings, current)
        _testid("world-day", head, tag="h3")
        _testid(
            "world-rung",
            f"Current rung: {status.rung} (MID {status.rung_mid})"
            f" · highest so far: {status.peak} (MID {status.peak_mid})",
            style="font-size: 1.05em; margin: 4px 0",
        )
        if status.finished:
            solara.Success(f"Outcome: {status.outcome}", dense=True)
        if model.seed_error:
            solara.Warning(model.seed_error, dense=True)
        if settings.key() != model.settings_key:
            solara.Info(
                "The settings changed: press Reset to apply them to this world.", dense=True
            )
        _chart(path, "world-path")
        names = {c.id: c.name for c in settings.controls}
        values = world_parameters(model)
        parts = [
            f"<span title='{escape(k)}'><b>{escape(names.get(k, k))}</b></span> = {escape(v)}"
            f"{' (pinned)' if k in model.pins else ''}"
            for k, v in values.items()
        ]
        _html(
            f"This world's parameters (seed {model.world_seed}): " + "; ".join(parts) + ".",
            style="font-size: 0.88em; margin-bottom: 10px",
        )
        solara.HTML(tag="h4", unsafe_innerHTML="Story so far (newest first)")
        with solara.Div(style={"max-height": "560px", "overflow-y": "auto"}):
            _html(_story_table(story_rows(model)))


def _runs(
    key: tuple[Any, ...], base_key: tuple[Any, ...] | None
) -> tuple[Ensemble, Ensemble | None]:
    """The ensemble of ``key`` and, unless ``base_key`` is ``None``, the scenario as written."""
    ens = ensemble_of(*key)
    return ens, (ensemble_of(*base_key) if base_key is not None else None)


@solara.component
def EnsemblePanel(settings: ViewerSettings) -> None:
    """Outcome shares and fan chart of a few thousand worlds, against the scenario as written."""
    applied = settings.applied()
    spec = applied.scenario
    pins, _ = settings.checked_pins(spec)
    key = (settings.path, applied.overrides, tuple(sorted(pins.items())))
    base_key = (settings.path, settings.cli_overrides, ())
    changed = key != base_key

    def compute() -> tuple[Ensemble, Ensemble | None]:
        return _runs(key, base_key if changed else None)

    task = solara.lab.use_task(compute, dependencies=[key], raise_error=False)
    result = task.latest if task.value is None else task.value
    ens, base = result if result else (None, None)
    change = solara.use_memo(lambda: changes(ens, base) if ens and base else (), [ens, base])
    charts = solara.use_memo(
        lambda: ens and (outcomes_spec(ens, change), fan_spec(ens, base)), [ens, change]
    )
    with solara.Card(f"Ensemble: {WORLDS:,} worlds with these settings", style={"height": "100%"}):
        solara.ProgressLinear(task.pending)
        _testid("pins", describe_pins(settings.controls, pins), style=_NOTE_CSS)
        typed = applied.overrides[len(settings.cli_overrides) :]
        if typed:
            solara.Text("Overrides applied: " + "; ".join(typed), style=_NOTE)
        if task.error:
            solara.Error(f"The ensemble failed: {task.exception}")
        if ens is None or not charts:
            solara.Text("Running the ensemble…")
            return
        outcomes_chart, fan_chart = charts
        _chart(outcomes_chart, "outcomes-chart")
        if change:
            solara.Text(
                "Change from the scenario as written, on the same worlds (Newcombe's 95% "
                "interval for paired shares; coloured where it leaves out zero)",
                style=_SMALL,
            )
            _html(_change_table(change))
        solara.Text("The same as numbers: share of worlds [95% Wilson interval]", style=_SMALL)
        _testid(
            "outcome-shares",
            "\n".join(o.line() for o in ens.outcomes),
            tag="pre",
            style="font-size: 0.88em; margin: 0 0 8px 0",
        )
        _chart(fan_chart, "fan-chart")
        if ens.scenario.observations:
            AsOfCard(settings, ens)
        state = "updating…" if task.pending else f"computed in {ens.seconds:.2f} s"
        _testid(
            "ensemble-status",
            f"{ens.worlds:,} worlds, seed {spec.seed} (the same for every setting); {state}",
            style="font-size: 0.85em; color: #666",
        )


@solara.component
def AsOfCard(settings: ViewerSettings, ens: Ensemble) -> None:
    """The "as of" slider: these worlds given the observations dated up to a day."""
    sc = ens.scenario
    days = observation_days(sc)
    stop = settings.as_of
    k = min(int(stop.value), len(days))
    cond = solara.use_memo(
        lambda: conditioned(ens, sc.date_of(days[k - 1])) if k else None, [ens, k]
    )
    with solara.Card("Given what was seen by a date", margin=0, style={"margin-top": "12px"}):
        with solara.Row(style={"align-items": "center"}):
            solara.Text("start", style=_SMALL)
            solara.v.Slider(
                v_model=k,
                on_v_model=stop.set,
                min=0,
                max=len(days),
                step=1,
                ticks="always",
                dense=True,
                hide_details=True,
                attributes={"data-testid": "as-of-slider"},
            )
            solara.Text(f"{sc.date_of(days[-1]):%d %b}", style=_SMALL)
        if cond is None:
            _testid(
                "as-of-state",
                "Not conditioned: move the slider to weigh the worlds by the "
                f"{len(sc.observations)} observations, dated {sc.date_of(days[0]):%d %b} "
                f"to {sc.date_of(days[-1]):%d %b}.",
                style=_NOTE_CSS,
            )
            return
        _testid(
            "as-of-state",
            f"As of {cond.as_of:%a %d %b %Y}: {len(cond.used)} observations; "
            f"{cond.worlds:,} of {cond.runs:,} worlds agree "
            f"(effective sample size {cond.ess:,.0f})",
            style=_NOTE_CSS + "; font-weight: bold",
        )
        if cond.warning:
            solara.Warning(cond.warning, dense=True)
        seen = "".join(
            f"<li>{r.date:%d %b}: {escape(r.description or r.seen)}"
            f"{f' (wrong with chance {r.noise:g})' if r.noise else ''}"
            f" <span style='color:#777'>[{escape(', '.join(r.cites))}]</span></li>"
            for r in cond.used
        )
        _chart(conditional_spec(ens, cond), "as-of-chart")
        _html(f"<ul style='font-size:0.85em;margin:4px 0'>{seen}</ul>")
        head = "<tr><th>outcome</th><th>all worlds</th><th>given the evidence (95%)</th></tr>"
        body = "".join(
            f"<tr><td>{escape(r['outcome'])}</td><td class='num'>{r['all']}</td>"
            f"<td class='num'>{r['given']}</td></tr>"
            for r in conditional_rows(ens, cond)
        )
        _html(f"<table class='wg-story' data-testid='as-of-table'>{head}{body}</table>")


@solara.component
def Page() -> None:
    """The whole page (Solara's entry point)."""
    settings, error = solara.use_memo(_load_settings, [])
    if settings is None:
        solara.Error(f"The scenario could not be loaded:\n{error}")
        return
    PageWithSettings(settings)


def _load_settings() -> tuple[ViewerSettings | None, str | None]:
    # A long-lived process: the compiled kernels from now on (where numba is
    # installed), loaded by the page's first ensemble, before any slider move.
    kernels.prefer()
    try:
        return ViewerSettings.from_environment(), None
    except ValidationError as exc:
        return None, errors_of(exc)


@solara.component
def PageWithSettings(settings: ViewerSettings) -> None:
    """The app bar, the sidebar (parameters first) and the two panels side by side.

    Mesa's ``SolaraViz`` is not used whole: its sidebar puts play-speed,
    render-interval, thread and model-parameter cards above everything else,
    none of which means anything here. Its :func:`ModelController` (Reset,
    play, Step) drives the single world from our own card.
    """
    first = solara.use_memo(lambda: ViewerModel(settings=settings), [])
    model: solara.Reactive[ViewerModel] = solara.use_reactive(first)
    with solara.AppBar():
        solara.AppBarTitle(settings.base.title)
    with solara.Sidebar():
        ParametersCard(settings)
        OverridesCard(settings)
    solara.Style(_STYLE)
    with solara.lab.Tabs(background_color="#f5f7fb"):
        with solara.lab.Tab("Explore the ensemble"), solara.ColumnsResponsive(12, xlarge=6):
            EnsemblePanel(settings)
            WorldPanel(model, settings)
        with solara.lab.Tab("Take a seat"):
            SeatTab(settings)


__all__ = ["OVERRIDES_ENV", "SCENARIO_ENV", "Page", "ViewerModel", "ViewerSettings"]
