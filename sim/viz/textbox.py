"""A text field of the viewer that keeps what is typed until it is applied.

``solara.InputText(..., continuous_update=False)`` applies its text on Enter
or when it loses focus, and until then the text lives only in the widget. A
redraw of the page in between (any background computation finishing: the
ensemble, the options of a seat, the review) sets every widget back to what
its component says, so the text typed so far is replaced by the value last
applied: a person who types ``4`` in the game's *days* box while the
options of the day are being predicted, and clicks *Advance* after the
prediction is shown, advances one day instead of four.

:func:`TextBox` keeps the text as typed in a state of its own, so a redraw
shows it again, and applies it to ``value`` on Enter or when the field loses
focus, as ``solara.InputText`` does. A value set elsewhere (a reset) replaces
the text.
"""

from __future__ import annotations

import solara


@solara.component
def TextBox(label: str, value: solara.Reactive[str]) -> solara.Element:
    """A text field for ``value``, applied on Enter or when it loses focus; the text typed
    before then survives a redraw."""
    # the text as typed; a new value of ``value`` (set elsewhere) replaces it
    draft = solara.use_reactive(value.value)

    def typed(text: str | None) -> None:
        draft.set("" if text is None else str(text))

    def apply(*_: object) -> None:
        if value.value != draft.value:
            value.set(draft.value)

    field = solara.v.TextField(label=label, v_model=draft.value, on_v_model=typed)
    solara.v.use_event(field, "focusout", apply)
    solara.v.use_event(field, "keyup.enter", apply)
    return field


__all__ = ["TextBox"]
