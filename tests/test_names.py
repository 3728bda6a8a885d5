"""The dotted-name convention (sim.scenario.names): built once, taken apart once.

The compiler declares names with these builders and the world state fills
them by taking them apart; these tests check that the two directions agree,
and that every history name a scenario can declare is one the state fills.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.engine.state import WorldState
from sim.scenario import load_scenario, names


def test_builders_give_the_documented_names() -> None:
    assert names.rung("crisis") == "rungs.crisis"
    assert names.flag("nato_reinforces") == "flags.nato_reinforces"
    assert names.event("exercise", "active") == "events.exercise.active"
    assert names.action("kremlin", "deploy", "days_since") == "kremlin.deploy.days_since"
    with pytest.raises(ValueError, match="unknown event field"):
        names.event("exercise", "taken")
    with pytest.raises(ValueError, match="unknown action field"):
        names.action("kremlin", "deploy", "active")


def test_history_names_come_apart_into_what_built_them() -> None:
    for field in names.EVENT_FIELDS:
        h = names.history(names.event("exercise", field))
        assert h == names.History("event", "exercise", "", field)
    for field in names.HISTORY_FIELDS:
        h = names.history(names.action("kremlin", "deploy", field))
        assert h == names.History("action", "kremlin", "deploy", field)


@pytest.mark.parametrize(
    "name",
    [
        "tension",
        "rungs.crisis",
        "flags.nato_reinforces",
        "kremlin.deploy",
        "events.exercise.taken",  # an action field on an event
        "kremlin.deploy.active",  # an event field on an action
        "rungs.crisis.count",
        "flags.f.count",
        "a.b.c.count",
    ],
)
def test_other_names_are_not_history(name: str) -> None:
    assert names.history(name) is None
    assert not names.is_history(name)


def test_the_state_fills_every_history_name_a_scenario_declares(default_scenario: Path) -> None:
    sc = load_scenario(default_scenario)
    declared = {names.event(e.id, f) for e in sc.events for f in names.EVENT_FIELDS}
    declared |= {
        names.action(a.id, x.id, f)
        for a in sc.actors
        for x in a.actions
        for f in names.HISTORY_FIELDS
    }
    st = WorldState.initial(sc, 3, np.random.default_rng(0))
    st.history_names = frozenset(declared)
    env = st.env()
    assert declared <= set(env)
    for name in declared:
        h = names.history(name)
        assert h is not None
        if h.field in ("active", "taken"):
            assert env[name].dtype == bool and not env[name].any(), name
        elif h.field == "days_since":
            assert (env[name] == names.NEVER).all(), name
        else:
            assert (env[name] == 0).all(), name
