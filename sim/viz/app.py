"""The viewer page: Mesa's SolaraViz around one world, plus a live ensemble.

Run it with ``wargame view SCENARIO`` (or ``solara run sim.viz.app`` with
``WARGAME_SCENARIO`` set). The page has

* a sidebar: Mesa's play / step / reset controls and its model parameters
  (the single world's seed), then our cards: a pin box and a slider per
  uncertain number, a list per choice, each actor's rationality expression
  and free ``--set`` style overrides;
* the single world (``replicates=1``, narrated): date, current and highest
  rung, its path so far and its story (who did what, by which rule, citing
  which claims);
* the ensemble: a few thousand worlds with the same settings, rerun in a
  background thread whenever a setting changes, as outcome shares with 95%
  Wilson intervals and a fan chart of the rung over time.

Every input is one ``solara.Reactive`` held by a per-session
:class:`ViewerSettings`: the widgets are bound to them, the ensemble panel
reads them, and the single world reads them when Mesa's *Reset* creates a
new :class:`ViewerModel`. One source of truth for all three.
"""

from __future__ import annotations

from html import escape
from typing import Any

import solara
import solara.lab
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from sim.engine.model import DEFAULT_SCENARIO, WargameModel
from sim.errors import UsageError, ValidationError
from sim.registry import claims_policy
from sim.scenario.cache import load_cached
from sim.scenario.model import Scenario
from sim.scenario.pins import check_pinned
from sim.viz.controls import (
    UNCERTAIN,
    Control,
    controls_for,
    describe_pins,
    format_value,
    pinned_values,
    rationality_overrides,
    split_overrides,
)
from sim.viz.ensemble import WORLDS, Ensemble, plot_fan, plot_outcomes, run_ensemble
from sim.viz.environment import (
    OVERRIDES_ENV,
    SCENARIO_ENV,
    claims_from_environment,
    scenario_from_environment,
)
from sim.viz.story import (
    StoryRow,
    plot_world_path,
    story_rows,
    world_parameters,
    world_status,
)


# -- loading, cached across sessions ---------------------------------------------------
def _scenario(path: str, overrides: tuple[str, ...]) -> Scenario:
    """The scenario with overrides, from the package's one scenario cache.

    :mod:`sim.scenario.cache` recompiles it when the file or a base it
    extends changes, so editing the scenario while the viewer runs shows
    the edit (on the next change of a setting, or a reload). Citations are
    checked as the command's ``--claims``/``--no-claims`` said.
    """
    claims = claims_from_environment()
    with claims_policy(claims.file, check=claims.check):
        return load_cached(path, overrides)


_ENSEMBLES: dict[tuple[Any, ...], Ensemble] = {}
_MAX_ENSEMBLES = 128


def _ensemble(
    path: str, overrides: tuple[str, ...], pinned: tuple[tuple[str, Any], ...]
) -> Ensemble:
    """The ensemble of these settings, computed once per compiled scenario and pins.

    Keyed by the scenario's ``sha256`` (what was compiled), not by the path:
    an edited file gives a new scenario, hence a new ensemble.
    """
    sc = _scenario(path, overrides)
    key = (sc.sha256, pinned)
    ens = _ENSEMBLES.get(key)
    if ens is None:
        ens = run_ensemble(sc, dict(pinned), worlds=WORLDS)
        if len(_ENSEMBLES) >= _MAX_ENSEMBLES:
            _ENSEMBLES.clear()
        _ENSEMBLES[key] = ens
    return ens


def _errors(exc: ValidationError) -> str:
    return "\n".join(str(d) for d in exc.diagnostics) or str(exc)


# -- per-session state --------------------------------------------------------------
class ViewerSettings:
    """Everything the user set, one reactive value per input.

    Args:
        path: the scenario file.
        cli_overrides: ``--set`` overrides given on the command line; always
            applied, before the ones typed in the page.
    """

    def __init__(self, path: str, cli_overrides: tuple[str, ...] = ()) -> None:
        self.path = path
        self.cli_overrides = cli_overrides
        self.base = _scenario(path, cli_overrides)
        self.controls: tuple[Control, ...] = controls_for(self.base)
        self.shown = {c.id: solara.reactive(c.default) for c in self.controls}
        self.pin = {c.id: solara.reactive(False) for c in self.controls if c.kind == "slider"}
        self.rationality = {a.id: solara.reactive(a.rationality.source) for a in self.base.actors}
        self.extra = solara.reactive("")
        self.seed = solara.reactive(str(self.base.seed))

    @classmethod
    def from_environment(cls) -> ViewerSettings:
        """Settings for the scenario named by ``WARGAME_SCENARIO`` (default: the bundled one)."""
        path, overrides = scenario_from_environment()
        return cls(path or str(DEFAULT_SCENARIO), overrides)

    # -- what the settings mean ---------------------------------------------------------
    def pinned(self) -> dict[str, Any]:
        """Pinned parameter values (reading them subscribes a component to changes)."""
        shown = {k: r.value for k, r in self.shown.items()}
        pins = {k: r.value for k, r in self.pin.items()}
        return pinned_values(self.controls, shown, pins)

    def checked_pins(self, spec: Scenario) -> tuple[dict[str, Any], str | None]:
        """The pins that ``spec`` accepts, and why any others were left out.

        The controls are built from the scenario as loaded; an override can
        move a parameter's support (``parameters.withdrawal_rate.high=0.05``)
        so that a pinned value falls outside it. Such a pin is checked as
        ``wargame batch`` checks it, left out, and the reason shown.
        """
        ok: dict[str, Any] = {}
        errors: list[str] = []
        for pid, value in self.pinned().items():
            try:
                ok |= check_pinned(spec, {pid: value})
            except UsageError as exc:
                errors.append(str(exc))
        return ok, ("\n".join(errors) or None)

    def overrides(self) -> tuple[str, ...]:
        """Command-line overrides, then changed rationalities, then the typed ones."""
        texts = {k: r.value for k, r in self.rationality.items()}
        return (
            self.cli_overrides
            + rationality_overrides(self.base, texts)
            + split_overrides(self.extra.value)
        )

    def scenario(self) -> tuple[Scenario, str | None]:
        """The scenario with all overrides, or the base one and the errors that stopped them."""
        overrides = self.overrides()
        try:
            return _scenario(self.path, overrides), None
        except ValidationError as exc:
            return self.base, _errors(exc)

    def world_seed(self) -> tuple[int, str | None]:
        """The single world's seed, or the scenario's and an error if the text is no integer."""
        text = str(self.seed.value).strip()
        try:
            return int(text), None
        except ValueError:
            return self.base.seed, f"seed {text!r} is not a whole number; using {self.base.seed}"

    def key(self) -> tuple[Any, ...]:
        """Everything that determines the single world."""
        return (self.overrides(), tuple(sorted(self.pinned().items())), self.world_seed()[0])

    def unpin_all(self) -> None:
        """Leave every parameter to its distribution again."""
        for r in self.pin.values():
            r.set(False)
        for c in self.controls:
            if c.kind == "select":
                self.shown[c.id].set(UNCERTAIN)

    # -- Mesa's inputs ----------------------------------------------------------------
    def model_params(self) -> dict[str, Any]:
        """``model_params`` for SolaraViz.

        ``settings`` is fixed: Mesa passes it unchanged to the model on
        *Reset*. The seed input is bound to our reactive, so the model reads
        it from the settings like every other value; the copy Mesa also
        passes is ignored by :class:`ViewerModel`.
        """
        return {
            "settings": self,
            "world_seed": {
                "type": "InputText",
                "label": "Seed of the single world (applied on Reset)",
                "value": self.seed,
            },
        }


class ViewerModel(WargameModel):
    """The single narrated world, made from the current settings.

    Mesa's *Reset* calls ``ViewerModel(**model_parameters)``: ``settings``,
    the seed widget's value (also held by the settings, which are read) and
    Mesa's own ``scenario`` object (an experiment description this model
    does not use; ours is ``spec``).
    """

    def __init__(self, settings: ViewerSettings, scenario: Any = None, **_widgets: Any) -> None:
        spec, self.override_error = settings.scenario()
        seed, self.seed_error = settings.world_seed()
        self.settings_key = settings.key()
        self.pins, self.pin_error = settings.checked_pins(spec)
        super().__init__(spec, replicates=1, narrate=True, pinned=self.pins, rng=seed)
        self.world_seed = seed


# -- panels ---------------------------------------------------------------------------
def _testid(name: str, text: str, tag: str = "div", style: str = "") -> solara.Element:
    """Text with a stable ``data-testid`` for browser tests."""
    return solara.v.Html(tag=tag, attributes={"data-testid": name}, children=[text], style_=style)


def _html(markup: str, style: str = "") -> solara.Element:
    """Trusted markup built here (every piece of scenario text passes :func:`escape`)."""
    return solara.HTML(tag="div", unsafe_innerHTML=markup, style=style)


_TABLE_CSS = (
    "<style>.wg-story{border-collapse:collapse;width:100%;font-size:0.82em}"
    ".wg-story th,.wg-story td{text-align:left;vertical-align:top;padding:3px 6px;"
    "border-bottom:1px solid #e4e4e4}.wg-story th{position:sticky;top:0;background:#fafafa}"
    ".wg-story td.claims{color:#555;font-size:0.92em}"
    ".wg-story td.rule{font-family:monospace;font-size:0.95em}</style>"
)


def _story_table(rows: list[StoryRow], limit: int = 400) -> str:
    """The story as an HTML table, newest first (the last ``limit`` rows)."""
    if not rows:
        return "<i>Nothing has happened yet: press <b>Step</b> or <b>▶</b> in the sidebar.</i>"
    head = "<tr><th>date</th><th>who</th><th>what</th><th>rule</th><th>claims cited</th></tr>"
    body = []
    for r in reversed(rows[-limit:]):
        who = r.who.capitalize() if r.who in ("event", "ladder") else r.who
        body.append(
            f"<tr><td style='white-space:nowrap'>{r.date:%d %b}</td><td>{escape(who)}</td>"
            f"<td>{escape(r.what)}</td><td class='rule'>{escape(r.rule)}</td>"
            f"<td class='claims'>{escape(', '.join(r.claims))}</td></tr>"
        )
    return f"{_TABLE_CSS}<table class='wg-story'>{head}{''.join(body)}</table>"


@solara.component
def WorldPanel(model: ViewerModel, settings: ViewerSettings) -> None:
    """The single world: status line, rung path, parameters and story so far."""
    update_counter.get()  # re-render after each Mesa step
    status = world_status(model)
    path_chart = solara.use_memo(lambda: plot_world_path(model), [model, model.day])
    with solara.Card("One world, day by day", style={"height": "100%"}):
        if status.date is None:
            head = f"Day 0 of {status.horizon}: starts {model.spec.start:%a %d %b %Y}"
        else:
            head = f"Day {status.days_done} of {status.horizon}: {status.date:%a %d %b %Y}"
        _testid("world-day", head, tag="h3")
        _testid(
            "world-rung",
            f"Current rung: {status.rung} (MID {status.rung_mid})"
            f" · highest so far: {status.peak} (MID {status.peak_mid})",
            style="font-size: 1.05em; margin: 4px 0",
        )
        if status.finished:
            solara.Success(f"Outcome: {status.outcome}", dense=True)
        if model.override_error:
            solara.Error(f"Overrides not applied:\n{model.override_error}", dense=True)
        if model.seed_error:
            solara.Warning(model.seed_error, dense=True)
        if model.pin_error:
            solara.Error(f"Pins not applied:\n{model.pin_error}", dense=True)
        if settings.key() != model.settings_key:
            solara.Info(
                "The settings changed: press Reset to apply them to this world.", dense=True
            )
        solara.FigureMatplotlib(path_chart, dependencies=[id(model), model.day], format="png")
        values = world_parameters(model)
        parts = [
            f"<b>{escape(k)}</b> = {escape(v)}{' (pinned)' if k in model.pins else ''}"
            for k, v in values.items()
        ]
        _html(
            f"This world's parameters (seed {model.world_seed}): " + "; ".join(parts) + ".",
            style="font-size: 0.85em; margin-bottom: 10px",
        )
        solara.HTML(tag="h4", unsafe_innerHTML="Story so far (newest first)")
        with solara.Div(style={"max-height": "560px", "overflow-y": "auto"}):
            _html(_story_table(story_rows(model)))


@solara.component
def EnsemblePanel(settings: ViewerSettings) -> None:
    """Outcome shares and fan chart of a few thousand worlds with the current settings."""
    spec, error = settings.scenario()
    pins, pin_error = settings.checked_pins(spec)
    overrides = settings.overrides() if error is None else settings.cli_overrides
    key = (settings.path, overrides, tuple(sorted(pins.items())))

    def compute() -> Ensemble:
        return _ensemble(*key)

    task = solara.lab.use_task(compute, dependencies=[key], raise_error=False)
    ens = task.latest if task.value is None else task.value
    figures = solara.use_memo(lambda: ens and (plot_outcomes(ens), plot_fan(ens)), [ens])
    with solara.Card(f"Ensemble: {WORLDS:,} worlds with these settings", style={"height": "100%"}):
        solara.ProgressLinear(task.pending)
        solara.Text(describe_pins(settings.controls, pins), style=_NOTE)
        if overrides:
            solara.Text("Overrides: " + "; ".join(overrides), style=_NOTE)
        if error:
            solara.Error(f"Overrides not applied:\n{error}", dense=True)
        if pin_error:
            solara.Error(f"Pins not applied:\n{pin_error}", dense=True)
        if task.error:
            solara.Error(f"The ensemble failed: {task.exception}")
        if ens is None or not figures:
            solara.Text("Running the ensemble…")
            return
        outcomes_chart, fan_chart = figures
        solara.FigureMatplotlib(outcomes_chart, dependencies=[id(ens)], format="png")
        solara.Text(
            "The same as numbers: share of worlds [95% Wilson interval]",
            style={"font-size": "0.8em", "color": "#666"},
        )
        _testid(
            "outcome-shares",
            "\n".join(o.line() for o in ens.outcomes),
            tag="pre",
            style="font-size: 0.85em; margin: 0 0 8px 0",
        )
        solara.FigureMatplotlib(fan_chart, dependencies=[id(ens)], format="png")
        state = "updating…" if task.pending else f"computed in {ens.seconds:.2f} s"
        _testid(
            "ensemble-status",
            f"{ens.worlds:,} worlds, seed {spec.seed} (the same for every setting); {state}",
            style="font-size: 0.8em; color: #666",
        )


@solara.component
def ParameterInput(control: Control, settings: ViewerSettings) -> None:
    """One parameter: pin box and value, slider (or list), its distribution."""
    c = control
    shown = settings.shown[c.id]
    if c.kind == "select":
        with solara.Tooltip(c.description or c.id):
            solara.v.Select(
                label=c.id,
                items=[UNCERTAIN, *c.choices],
                v_model=shown.value,
                on_v_model=shown.set,
                dense=True,
                hide_details=True,
                class_="mt-2",
                attributes={"data-testid": f"select-{c.id}"},
            )
        solara.Text(f"uncertain: {c.distribution}", style=_CAPTION)
        return
    pin = settings.pin[c.id]

    def moved(value: float) -> None:
        # moving the slider means "use this value": pin it
        shown.set(c.snap(value))
        pin.set(True)

    with solara.Row(style={"align-items": "center"}, gap="0px"):
        with solara.Tooltip(c.description or c.id):
            solara.v.Checkbox(
                label=c.id,
                v_model=pin.value,
                on_v_model=pin.set,
                dense=True,
                hide_details=True,
                class_="mt-0",
                attributes={"data-testid": f"pin-{c.id}"},
            )
        solara.v.Spacer()
        solara.Text(
            format_value(c, shown.value) if pin.value else "uncertain",
            style={"font-weight": "bold"} if pin.value else {"color": "#777"},
        )
    solara.v.Slider(
        v_model=shown.value,
        on_v_model=moved,
        min=c.low,
        max=c.high,
        step=c.step,
        dense=True,
        hide_details=True,
        thumb_label=True,
        class_="mt-n1",
        attributes={"data-testid": f"slider-{c.id}"},
    )
    caption = f"pinned; unticked: {c.distribution}" if pin.value else f"drawn: {c.distribution}"
    solara.Text(caption, style=_CAPTION)


_NOTE = {"font-size": "0.9em", "display": "block"}
_CAPTION = {"font-size": "0.78em", "color": "#666", "margin": "-4px 0 6px 0", "display": "block"}


@solara.component
def SidebarCards(settings: ViewerSettings) -> None:
    """Our cards in the sidebar, below Mesa's play controls.

    Solara orders sidebar content by how deep in the page it is declared;
    one level below Mesa's SolaraViz puts ours after its cards.
    """
    _SidebarCardsBelow(settings)


@solara.component
def _SidebarCardsBelow(settings: ViewerSettings) -> None:
    with solara.Sidebar():
        SettingsCard(settings)


@solara.component
def SettingsCard(settings: ViewerSettings) -> None:
    """The scenario's uncertain parameters and key weights (in the sidebar)."""
    with solara.Card("Scenario parameters"):
        _html(
            "Tick a box or move a slider to <b>pin</b> a parameter: every world then uses "
            "that value. Unticked, each world draws its own value from the distribution "
            "shown. The ensemble updates at once; the single world on <b>Reset</b>. "
            "Hover over a name for what it means.",
            style="font-size: 0.85em; margin-bottom: 8px",
        )
        for c in settings.controls:
            ParameterInput(c, settings)
        solara.Button("Unpin all", on_click=settings.unpin_all, outlined=True, small=True)
    with solara.Card("Key weights and overrides"):
        _html(
            "Each actor's <i>rationality</i>: how strongly it prefers its best-scoring "
            "option (0: all allowed options equally likely); a number or an expression "
            "of the parameters. Below it, any other scenario value as "
            "<code>path=value</code>, several separated by <code>;</code>. "
            "Press Enter to apply.",
            style="font-size: 0.85em; margin-bottom: 8px",
        )
        for a in settings.base.actors:
            solara.InputText(f"rationality of {a.name}", value=settings.rationality[a.id])
        solara.InputText(
            "more overrides, e.g. parameters.withdrawal_rate.high=0.3", value=settings.extra
        )


@solara.component
def Page() -> None:
    """The whole page (Solara's entry point)."""
    settings, error = solara.use_memo(_load_settings, [])
    if settings is None:
        solara.Error(f"The scenario could not be loaded:\n{error}")
        return
    PageWithSettings(settings)


def _load_settings() -> tuple[ViewerSettings | None, str | None]:
    try:
        return ViewerSettings.from_environment(), None
    except ValidationError as exc:
        return None, _errors(exc)


@solara.component
def PageWithSettings(settings: ViewerSettings) -> None:
    """Mesa's SolaraViz (app bar, sidebar) and our two panels side by side."""
    first = solara.use_memo(lambda: ViewerModel(settings=settings), [])
    model: solara.Reactive[ViewerModel] = solara.use_reactive(first)
    params = solara.use_memo(settings.model_params, [])
    SolaraViz(
        model,
        components=[],
        model_params=params,
        name=settings.base.title,
        play_interval=250,
    )
    with solara.ColumnsResponsive(default=12, large=6):
        WorldPanel(model.value, settings)
        EnsemblePanel(settings)
    SidebarCards(settings)


__all__ = ["OVERRIDES_ENV", "SCENARIO_ENV", "Page", "ViewerModel", "ViewerSettings"]
