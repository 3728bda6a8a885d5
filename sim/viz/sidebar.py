"""The viewer's inputs: the scenario's parameters atop the sidebar, overrides, world controls.

Each uncertain parameter is named in words (the first clause of its
description; the id and the whole description on hover), with its slider's
lowest and highest values at its ends and its state written beside its name:
*uncertain* (every world draws its own value) or *pinned* at a value (every
world uses it). A pin or override that does not validate is shown under its
own input, in red, and the others still apply.
"""

from __future__ import annotations

from typing import Any

import solara
from mesa.visualization.solara_viz import ModelController

from sim.viz.controls import EXTRA, UNCERTAIN, Control, format_value
from sim.viz.settings import ViewerModel, ViewerSettings
from sim.viz.textbox import TextBox

_CSS = """
.wg-param .v-label { font-size: 0.9rem; font-weight: 600; color: rgba(0, 0, 0, 0.87); }
.wg-param.v-input--is-label-active .v-label { color: #1f5fbf; }
"""
_CAPTION = {"font-size": "0.8em", "color": "#555", "margin": "0 0 4px 0", "display": "block"}
_END = {"font-size": "0.8em", "color": "#555", "white-space": "nowrap"}
PINNED_COLOUR = "#1f5fbf"


def _state(c: Control, pinned: bool, value: Any) -> None:
    """``pinned 0.5`` in bold blue, or ``uncertain`` in grey, beside the name."""
    if pinned:
        text, style = (
            f"pinned: {format_value(c, value)}",
            {"color": PINNED_COLOUR, "font-weight": "bold"},
        )
    else:
        text, style = "uncertain", {"color": "#777", "font-style": "italic"}
    solara.v.Html(
        tag="span",
        attributes={"data-testid": f"state-{c.id}"},
        children=[text],
        style_="; ".join(f"{k}: {v}" for k, v in style.items()) + "; white-space: nowrap",
    )


def _error(c_id: str, message: str | None) -> None:
    if message:
        with solara.v.Html(tag="div", attributes={"data-testid": f"error-{c_id}"}):
            solara.Error(message, dense=True, text=True, style={"font-size": "0.8em"})


def _tip(c: Control) -> str:
    return f"{c.id}: {c.description}" if c.description else c.id


@solara.component
def ParameterInput(control: Control, settings: ViewerSettings, error: str | None) -> None:
    """One parameter: name and state, slider (or list) between its ends, its distribution.

    A list and a slider are two components, so each always calls the same
    hooks in the same order (Solara's rules of hooks).
    """
    if control.kind == "select":
        ChoiceInput(control, settings, error)
    else:
        SliderInput(control, settings, error)


@solara.component
def ChoiceInput(control: Control, settings: ViewerSettings, error: str | None) -> None:
    """A parameter drawn from a set of options: its list, with "uncertain" first."""
    c = control
    shown = settings.shown[c.id]
    tip = _tip(c)
    pinned = shown.value not in (None, UNCERTAIN)
    with solara.Row(style={"align-items": "center", "margin-top": "8px"}, gap="4px"):
        with solara.Tooltip(tip):
            solara.v.Html(tag="b", children=[c.name], style_="font-size: 0.92em")
        solara.v.Spacer()
        _state(c, pinned, shown.value)
    solara.v.Select(
        items=[UNCERTAIN, *c.choices],
        v_model=shown.value,
        on_v_model=shown.set,
        dense=True,
        hide_details=True,
        class_="mt-0 pt-0",
        attributes={"data-testid": f"select-{c.id}"},
    )
    caption = "pinned; choose the first entry to leave it to chance" if pinned else "drawn: "
    solara.Text(caption + ("" if pinned else c.distribution), style=_CAPTION)
    _error(c.id, error)


@solara.component
def SliderInput(control: Control, settings: ViewerSettings, error: str | None) -> None:
    """A numeric parameter: a tick to pin it and a slider between its ends."""
    c = control
    shown = settings.shown[c.id]
    tip = _tip(c)
    pin = settings.pin[c.id]

    def moved(value: float) -> None:
        # moving the slider means "use this value": pin it
        shown.set(c.snap(value))
        pin.set(True)

    with solara.Row(style={"align-items": "center", "margin-top": "8px"}, gap="0px"):
        with solara.Tooltip(tip):
            solara.v.Checkbox(
                label=c.name,
                v_model=pin.value,
                on_v_model=pin.set,
                dense=True,
                hide_details=True,
                class_="mt-0 pt-0 wg-param",
                attributes={"data-testid": f"pin-{c.id}"},
            )
        solara.v.Spacer()
        _state(c, pin.value, shown.value)
    low, high = c.ends
    with solara.Row(style={"align-items": "center"}, gap="6px"):
        solara.v.Html(tag="span", children=[low], style_="font-size: 0.8em; color: #555")
        slider = solara.v.Slider(
            v_model=shown.value,
            min=c.low,
            max=c.high,
            step=c.step,
            dense=True,
            hide_details=True,
            thumb_label=True,
            color=PINNED_COLOUR if pin.value else "grey",
            track_color="#ccc",
            class_="mt-0",
            attributes={"data-testid": f"slider-{c.id}"},
        )
        # "change", not the value: once on release (or per key), never mid-drag, so a
        # drag across the slider reruns the ensemble once
        solara.v.use_event(slider, "change", lambda _w, _e, value: moved(value))
        solara.v.Html(tag="span", children=[high], style_="font-size: 0.8em; color: #555")
    caption = (
        f"pinned; untick to draw: {c.distribution}" if pin.value else f"drawn: {c.distribution}"
    )
    solara.Text(caption, style=_CAPTION)
    _error(c.id, error)


@solara.component
def ParametersCard(settings: ViewerSettings) -> None:
    """The scenario's uncertain parameters, at the top of the sidebar."""
    _, pin_errors = settings.checked_pins(settings.applied().scenario)
    solara.Style(_CSS)
    with solara.Card("Scenario parameters", margin=0, style={"padding": "8px 12px"}):
        solara.Text(
            "Move a slider (or tick a name) to pin a parameter: every world then uses that "
            "value. Uncertain, each world draws its own value. Hover over a name for its "
            "meaning.",
            style=_CAPTION,
        )
        for c in settings.controls:
            ParameterInput(c, settings, pin_errors.get(c.id))
        solara.Button(
            "Unpin all", on_click=settings.unpin_all, outlined=True, small=True, class_="mt-2"
        )


@solara.component
def WorldControls(settings: ViewerSettings, model: solara.Reactive[ViewerModel]) -> None:
    """Mesa's Reset / play / Step for the single world, and its seed (atop its panel)."""
    params = solara.use_memo(lambda: {"settings": settings}, [])
    play_interval = solara.use_reactive(250)
    render_interval = solara.use_reactive(1)
    threads = solara.use_reactive(False)
    with solara.Row(style={"align-items": "center"}):
        with solara.Div(style={"min-width": "260px"}):
            ModelController(
                model,
                model_parameters=params,
                play_interval=play_interval,
                render_interval=render_interval,
                use_threads=threads,
            )
        TextBox("Seed of this world (applied on Reset)", settings.seed)


@solara.component
def OverridesCard(settings: ViewerSettings) -> None:
    """Each actor's rationality, and any other scenario value as ``path=value``."""
    errors = settings.applied().errors
    with solara.Card("Key weights and overrides", margin=0, style={"padding": "8px 12px"}):
        solara.Text(
            "Rationality: how strongly an actor prefers its best-scoring option (0: all "
            "allowed options equally likely); a number or an expression of the parameters. "
            "Below, any scenario value as path=value, several separated by ';'. "
            "Press Enter to apply; an entry that does not validate is shown in red and "
            "left out, the others apply.",
            style=_CAPTION,
        )
        for a in settings.base.actors:
            TextBox(f"rationality of {a.name}", settings.rationality[a.id])
            _error(f"rationality-{a.id}", errors.get(f"rationality:{a.id}"))
        TextBox("more overrides, e.g. parameters.withdrawal_rate.high=0.3", settings.extra)
        _error("overrides", errors.get(EXTRA))
