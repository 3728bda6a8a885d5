"""The scenario file format, declared once.

This module is the single definition of which keys a scenario may contain and
of what type each is. The validator (:mod:`sim.scenario.loader`) checks files
against it and ``wargame schema`` turns it into the JSON Schema shipped for
editors. Meaning (cross-references, expressions, dates inside the horizon) is
checked afterwards in :mod:`sim.scenario.compiler`.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from sim.spec import (
    Any_,
    Bool,
    Choice,
    Date,
    Expression,
    F,
    Ident,
    ListOf,
    MapOf,
    Num,
    Obj,
    Str,
)

DISTRIBUTIONS = ("fixed", "uniform", "triangular", "normal", "beta", "choice")
STATE_TYPES = ("bool", "int", "float", "enum")
RULE_KINDS = ("constraint", "trigger", "preference", "foresight")

Cites = ListOf(
    Str(max_len=64, pattern=r"^[a-z0-9][a-z0-9-]*$", pattern_help="a claim id"),
    doc="Claim ids from seeds/claims.yaml that this element is derived from.",
)
Text = Str(max_len=4000, multiline=True)
Context = ListOf(
    Cites.item,
    doc="Claim ids from seeds/claims.yaml cited as background only: the claim is context "
    "for this element and is not claimed to drive behaviour.",
)
Inert = Str(
    max_len=2000,
    multiline=True,
    pattern=r"^[\s\S]*\S[\s\S]*$",
    pattern_help="a reason (non-empty text)",
    doc="This element is expected to have no effect on any outcome or flag, and why "
    "(the effect screen lists it as documented instead of inert).",
)
EARLIEST_START = _dt.date(1800, 1, 1)
LATEST_START = _dt.date(2200, 12, 31)
"""Start dates supported: the horizon (up to 3650 days) stays inside the dates that
Python and pandas (charts) can represent."""
Colour = Str(
    max_len=40,
    pattern=r"^#[0-9a-fA-F]{6}$",
    pattern_help="a colour written #rrggbb",
    doc="Plot colour, #rrggbb.",
)

Effects = MapOf(
    Expression(doc="New value of the state variable; evaluated on the state before the change."),
    doc="State variables to set, each to an expression of the state before the change.",
)

METADATA = Obj(
    name="scenario",
    doc="Who the scenario is, when it starts and how long it runs.",
    fields={
        "name": F(Ident("Short machine name; used for results folders."), required=True),
        "title": F(Str(max_len=200, doc="Human title for plots and reports."), required=True),
        "description": F(Text, default=""),
        "start": F(
            Date(doc="Calendar date of day 0.", earliest=EARLIEST_START, latest=LATEST_START),
            required=True,
        ),
        "horizon_days": F(Num(minimum=1, maximum=3650, integer=True), required=True),
        "seed": F(Num(minimum=0, maximum=2**63 - 1, integer=True, limit=None), default=0),
        "sources": F(
            ListOf(Str(max_len=64), doc="Source ids from seeds/sources.yaml."), default=[]
        ),
        "default_runs": F(Num(minimum=1, maximum=10**8, integer=True), default=10_000),
    },
)

STATE_VAR = Obj(
    name="a state variable",
    doc="A variable of the world state, one value per simulated world.",
    fields={
        "type": F(Choice(STATE_TYPES), required=True),
        "initial": F(
            Expression(doc="Initial value: a literal, or an expression of parameters."),
            required=True,
        ),
        "min": F(Num(), default=None),
        "max": F(Num(), default=None),
        "values": F(ListOf(Ident(), min_items=2, unique=True), default=None),
        "description": F(Text, default=""),
        "cites": F(Cites, default=[]),
        "context": F(Context, default=None),
        "inert": F(Inert, default=None),
    },
)

PARAMETER = Obj(
    name="a parameter",
    doc="An uncertain quantity, drawn once per world from a distribution.",
    fields={
        "dist": F(Choice(DISTRIBUTIONS, doc="Distribution family."), required=True),
        "value": F(Any_(doc="fixed: the value.")),
        "low": F(Num(doc="uniform/triangular/normal/beta: lower bound.")),
        "high": F(Num(doc="uniform/triangular/normal/beta: upper bound.")),
        "mode": F(Num(doc="triangular: the most likely value.")),
        "mean": F(Num(doc="normal: mean before truncation.")),
        "sd": F(Num(doc="normal: standard deviation before truncation.")),
        "a": F(Num(doc="beta: first shape parameter (> 0).")),
        "b": F(Num(doc="beta: second shape parameter (> 0).")),
        "options": F(
            MapOf(
                Num(minimum=0),
                key=Str(max_len=64),
                doc="choice: option -> weight (weights need not sum to 1).",
            )
        ),
        "integer": F(Bool(doc="Round draws to whole numbers."), default=False),
        "owner": F(
            Ident(
                "The actor whose private trait this is: only its expressions (and world-level "
                "events, flags and outcomes) read it; others hold beliefs about it."
            ),
            default=None,
        ),
        "types": F(
            MapOf(
                Num(doc="The trait's value under this type."),
                doc="A numeric private trait's types: named values the other actors hold "
                "beliefs over (a word choice's types are its options).",
            ),
            default=None,
        ),
        "description": F(Text, default=""),
        "cites": F(Cites, required=True),
        "context": F(Context, default=None),
        "inert": F(Inert, default=None),
    },
)

RUNG = Obj(
    name="a ladder rung",
    doc="One rung of the escalation ladder, mapped to a Correlates of War MID hostility level.",
    fields={
        "name": F(Str(max_len=80), required=True),
        "description": F(Text, default=""),
        "mid_level": F(
            Num(
                minimum=1,
                maximum=5,
                integer=True,
                doc="MID hostility: 1 none, 2 threat, 3 display, 4 use of force, 5 war.",
            ),
            required=True,
        ),
        "colour": F(Colour, default=None),
    },
)

_LADDER_MOVES = {
    "escalate_to": F(Ident("Raise the current rung to this rung (never lowers it)."), default=None),
    "deescalate_to": F(
        Ident("Lower the current rung to this rung (only on a day without escalation)."),
        default=None,
    ),
}

INTEL = Obj(
    name="an intel item",
    doc="What one actor learns about the true state, late or not at all.",
    fields={
        "observer": F(Ident("Actor who learns it."), required=True),
        "watches": F(Expression(doc="Condition on the true state being watched."), required=True),
        "delay_days": F(
            Expression(doc="Days the condition must hold before it can be noticed."), default=0
        ),
        "detect_prob": F(
            Expression(doc="Daily probability of noticing once the delay has passed."), default=1
        ),
        "description": F(Text, default=""),
        "cites": F(Cites, required=True),
        "context": F(Context, default=None),
        "inert": F(Inert, default=None),
    },
)

EVENT = Obj(
    name="an event",
    doc="A scheduled event (start/end) or a random one (hazard).",
    fields={
        "name": F(Str(max_len=80), default=None),
        "description": F(Text, default=""),
        "start": F(Any_(doc="Scheduled: date YYYY-MM-DD or day number.")),
        "end": F(Any_(doc="Scheduled: last day (date or day number), inclusive.")),
        "hazard": F(Expression(doc="Random: daily probability while `when` holds.")),
        "when": F(Expression(doc="Random: condition for the hazard to apply."), default=True),
        "max_times": F(Num(minimum=1, integer=True, doc="Random: at most this many times.")),
        "narrate": F(
            Bool(doc="Tell it in day-by-day stories (false for a background drift)."),
            default=True,
        ),
        "effects": F(Effects, default={}),
        "end_effects": F(Effects, default={}),
        **_LADDER_MOVES,
        "cites": F(Cites, required=True),
        "context": F(Context, default=None),
        "inert": F(Inert, default=None),
    },
)

ACTION = Obj(
    name="an action",
    doc="Something an actor can do on a day.",
    fields={
        "name": F(Str(max_len=80), default=None),
        "description": F(Text, default=""),
        "default": F(
            Bool(doc="The no-op chosen when nothing else is; one per actor."), default=False
        ),
        "once": F(Bool(doc="Can be taken at most once per world."), default=False),
        "effects": F(Effects, default={}),
        **_LADDER_MOVES,
        "cites": F(Cites, default=[]),
        "context": F(Context, default=None),
    },
)

RULE = Obj(
    name="a rule",
    doc="Doctrine (constraint), trigger or preference; every rule cites claims.",
    fields={
        "kind": F(Choice(RULE_KINDS), required=True),
        "action": F(Ident("The action this rule is about."), required=True),
        "description": F(Text, default=""),
        "allowed_if": F(Expression(doc="constraint: the action is allowed only when true.")),
        "when": F(Expression(doc="trigger/preference/foresight: condition for the rule to apply.")),
        "prob": F(Expression(doc="trigger: daily probability of firing when `when` holds.")),
        "utility": F(Expression(doc="preference: utility added to the action (softmax).")),
        "horizon": F(
            Num(
                minimum=1,
                maximum=3650,
                integer=True,
                doc="foresight: days ahead over which the others' responses are predicted.",
            )
        ),
        "cites": F(Cites, required=True),
        "context": F(Context, default=None),
        "inert": F(Inert, default=None),
    },
)

VALUE = Obj(
    name="a value term",
    doc="One thing an actor values about the state of the world: V = sum of weight * of.",
    fields={
        "of": F(
            Expression(doc="The valued quantity (a number, or true/false as 1/0)."), required=True
        ),
        "weight": F(Expression(doc="Its weight (negative for a cost)."), default=1),
        "description": F(Text, default=""),
        "cites": F(Cites, required=True),
    },
)

EVIDENCE = Obj(
    name="an evidence item",
    doc="Something the holder observes and its likelihood under each type (Bayes' rule).",
    fields={
        "seen": F(Expression(doc="Condition the holder can observe."), required=True),
        "likelihood": F(
            MapOf(Expression(doc="P(seen on a day | this type)."), key=Ident(), min_items=1),
            required=True,
        ),
        "once": F(
            Bool(
                doc="Update once, on the first day it is seen (true), or every day, "
                "by the likelihood if seen and its complement if not (false)."
            ),
            default=True,
        ),
        "description": F(Text, default=""),
        "cites": F(Cites, required=True),
    },
)

BELIEF = Obj(
    name="a belief",
    doc="An actor's per-world probabilities over the types of another actor's private trait.",
    fields={
        "prior": F(
            MapOf(Expression(doc="Prior weight of this type."), key=Ident(), min_items=1),
            default=None,
        ),
        "evidence": F(MapOf(EVIDENCE), default={}),
        "description": F(Text, default=""),
        "cites": F(Cites, default=[]),
    },
)

ACTOR = Obj(
    name="an actor",
    doc="A decision maker: its repertoire of actions and its rules.",
    fields={
        "name": F(Str(max_len=80), required=True),
        "description": F(Text, default=""),
        "rationality": F(
            Expression(doc="Softmax inverse temperature for preferences (0 = random)."), default=1.0
        ),
        "actions": F(MapOf(ACTION, min_items=1), required=True),
        "rules": F(MapOf(RULE), default={}),
        "values": F(MapOf(VALUE), default={}),
        "beliefs": F(MapOf(BELIEF), default={}),
    },
)

FLAG = Obj(
    name="a flag",
    doc="A yes/no fact analysts ask about, recorded per world.",
    fields={
        "name": F(Str(max_len=80), required=True),
        "description": F(Text, default=""),
        "when": F(Expression(doc="Condition for the flag."), required=True),
        "at": F(
            Choice(("end", "any_day"), doc="Evaluate at the horizon or on any day."),
            default="any_day",
        ),
    },
)

OUTCOME = Obj(
    name="an outcome",
    doc="An outcome class; the most severe whose condition holds is the world's outcome.",
    fields={
        "name": F(Str(max_len=80), required=True),
        "description": F(Text, default=""),
        "when": F(Expression(doc="Condition over the final state and history."), default=None),
        "colour": F(Colour, default=None),
    },
)

OBSERVATION = Obj(
    name="an observation",
    doc="A dated, cited statement about the world as an analyst saw it; worlds that "
    "disagree with it are dropped or weighted down when a batch is conditioned "
    "(docs/evidence.md).",
    fields={
        "date": F(
            Any_(doc="The date YYYY-MM-DD (or day number) the statement is about."),
            required=True,
        ),
        "seen": F(
            Expression(
                doc="What was seen: a condition on the state of each world at the end of "
                "that day (parameters, state, rungs, flags so far)."
            ),
            required=True,
        ),
        "noise": F(
            Num(
                minimum=0,
                maximum=0.5,
                doc="Probability that the report is wrong: a world where `seen` holds "
                "gets weight 1 - noise, one where it does not gets noise (0: keep or drop).",
            ),
            default=0,
        ),
        "description": F(Text, default=""),
        "cites": F(Cites, required=True),
    },
)

REPORTING = Obj(
    name="reporting",
    doc="What the batch tables and charts single out.",
    fields={
        "key_rungs": F(ListOf(Ident()), default=None),
        "key_flags": F(ListOf(Ident()), default=None),
    },
)

SCENARIO = Obj(
    name="the scenario file",
    doc="A wargame scenario: state, uncertain parameters, ladder, events, actors and outcomes.",
    fields={
        "extends": F(
            Str(max_len=500, doc="Path of a base scenario this one overrides."), default=None
        ),
        "scenario": F(METADATA, required=True),
        "state": F(MapOf(STATE_VAR), default={}),
        "parameters": F(MapOf(PARAMETER), default={}),
        "ladder": F(MapOf(RUNG, min_items=2), required=True),
        "intel": F(MapOf(INTEL), default={}),
        "events": F(MapOf(EVENT), default={}),
        "actors": F(MapOf(ACTOR, min_items=1), required=True),
        "flags": F(MapOf(FLAG), default={}),
        "outcomes": F(MapOf(OUTCOME, min_items=1), required=True),
        "observations": F(MapOf(OBSERVATION), default={}),
        "reporting": F(REPORTING, default={"key_rungs": None, "key_flags": None}),
    },
)


OBSERVATIONS_FILE = Obj(
    name="an observations file",
    doc="Observations kept apart from the scenario they are about (docs/evidence.md).",
    fields={
        "scenario": F(
            Ident("The `name` of the scenario the observations are about."), required=True
        ),
        "observations": F(MapOf(OBSERVATION, min_items=1), required=True),
    },
)


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [node, {"type": "null"}]}


def _partial(node: dict[str, Any]) -> dict[str, Any]:
    """The schema of a child file: nothing required, ``null`` (delete) allowed anywhere."""
    out = {k: v for k, v in node.items() if k != "required"}
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: _nullable(_partial(v)) for k, v in out["properties"].items()}
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = _nullable(_partial(out["additionalProperties"]))
    return out


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of scenario files, for editors.

    A file with ``extends`` is partial (its base provides the rest, and
    ``null`` deletes an inherited key), so it is checked against a relaxed
    copy of the same definitions: unknown keys are still errors.
    """
    body = SCENARIO.json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.org/wargame-sim/scenario.schema.json",
        "title": "Wargame scenario",
        "if": {"type": "object", "required": ["extends"]},
        "then": {"$ref": "#/$defs/child"},
        "else": {"$ref": "#/$defs/scenario"},
        "$defs": {"scenario": body, "child": _partial(body)},
    }
