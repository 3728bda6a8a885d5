"""From a structurally checked document to a compiled :class:`Scenario`.

This is where meaning is checked: ids resolve, expressions compile against
the names visible where they are used, distributions have legal parameters,
dates fall inside the horizon, rules cite claims that exist. Every problem is
collected with its position; nothing stops at the first.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from typing import Any

from sim.errors import ValidationError
from sim.expr import ALLOWED_FUNCTIONS, Symbol
from sim.registry import Registry
from sim.scenario import actors, names, sections
from sim.scenario.context import CompileContext
from sim.scenario.model import Scenario
from sim.scenario.resolved import resolved_text
from sim.spec import MISSING, did_you_mean
from sim.yamlio import Located

RESERVED = {
    "day",
    "rung",
    "peak",
    "horizon",
    "true",
    "false",
    names.RUNGS,
    names.EVENTS,
    names.FLAGS,
} | set(ALLOWED_FUNCTIONS)


def _compile(c: CompileContext) -> Scenario:
    """Runs the section rules in the order their names become visible; builds the scenario
    only if none of them found an error.
    """
    d = c.data
    meta = d["scenario"]
    if c.registry is not None:
        for i, s in enumerate(meta["sources"]):
            if s not in c.registry.sources:
                c.error(
                    ("scenario", "sources", i),
                    f"scenario.sources: unknown source {s!r}"
                    f"{did_you_mean(s, list(c.registry.sources))}",
                )
    ladder = sections.ladder(c)
    actor_ids = list(d["actors"])
    _check_names(c, actor_ids)
    params = sections.parameters(c)
    base = sections.base_symbols(c)
    state = sections.state(c, base)
    daily = dict(base)
    # Declared from the raw entries, so an entry with an error elsewhere
    # (say, a bad initial value) does not also make every use "unknown".
    for vid, v in d["state"].items():
        typ = v.get("type")
        if typ is None or (typ == "enum" and not v.get("values")):
            continue
        values = tuple(v["values"]) if typ == "enum" else ()
        daily[vid] = Symbol(vid, typ, values, doc=v.get("description", ""))
    daily.update(
        {
            "day": Symbol("day", "int", doc="days since the start date (day 0)"),
            "rung": Symbol("rung", "int", doc="index of the current rung"),
            "peak": Symbol("peak", "int", doc="index of the highest rung reached"),
        }
    )
    for aid, actor in d["actors"].items():
        for act in actor["actions"]:
            for f, (typ, doc) in names.HISTORY_FIELDS.items():
                name = names.action(aid, act, f)
                daily[name] = Symbol(name, typ, doc=doc)
    for eid in d["events"]:
        for f, typ in names.EVENT_FIELDS.items():
            name = names.event(eid, f)
            daily[name] = Symbol(name, typ)
    for iid, it in d["intel"].items():
        owner = it["observer"] if it["observer"] in actor_ids else None
        daily[iid] = Symbol(iid, "bool", visible_to=owner, doc=it["description"])
    public = {
        k: (Symbol(s.name, s.type, s.enum_values, s.constant, None, s.doc) if s.visible_to else s)
        for k, s in daily.items()
    }
    intel = sections.intel(c, base, daily, actor_ids)
    events = sections.events(c, daily, state)
    actor_list = actors.actors(c, daily, state)
    flags = sections.flags(c, public)
    final = dict(public)
    for flag in flags:
        final[names.flag(flag.id)] = Symbol(names.flag(flag.id), "bool", doc=flag.name)
    outcomes = sections.outcomes(c, final)
    key_rungs, key_flags = sections.reporting(c, flags)
    observed = sections.observations(c, public, flags)

    if any(x.severity == "error" for x in c.ctx.diags):
        raise ValidationError(c.ctx.diags)
    resolved = _jsonable(d)
    if not resolved["observations"]:
        # Left out when empty: a scenario without observations keeps the text
        # (and so the sha256) it had before the section existed.
        del resolved["observations"]
    # Of the text workers get, in the file's order: the order of the ladder,
    # actions, rules and outcomes is meaning, so a reordered scenario is another one.
    digest = hashlib.sha256(resolved_text(resolved).encode()).hexdigest()
    return Scenario(
        name=meta["name"],
        title=meta["title"],
        start=c.start,
        horizon_days=c.horizon,
        seed=int(meta["seed"]),
        description=meta["description"],
        sources=tuple(meta["sources"]),
        default_runs=int(meta["default_runs"]),
        state=tuple(state),
        parameters=tuple(params),
        ladder=tuple(ladder),
        intel=tuple(intel),
        events=tuple(events),
        actors=tuple(actor_list),
        flags=tuple(flags),
        outcomes=tuple(outcomes),
        key_rungs=key_rungs,
        key_flags=key_flags,
        observations=tuple(observed),
        file=c.doc.file,
        resolved=resolved,
        sha256=digest,
        warnings=tuple(str(x) for x in c.ctx.diags if x.severity == "warning"),
    )


def _check_names(c: CompileContext, actor_ids: list[str]) -> None:
    """State, parameter and intel names share one namespace, kept apart from actor ids and
    reserved words.
    """
    seen: dict[str, str] = {}
    for section in ("state", "parameters", "intel"):
        for name in c.data[section]:
            path = (section, name)
            if name in RESERVED:
                c.error(path, f"{section}.{name}: {name!r} is a reserved name", key=True)
            elif name in actor_ids:
                c.error(path, f"{section}.{name}: {name!r} is already an actor id", key=True)
            elif name in seen:
                c.error(
                    path,
                    f"{section}.{name}: {name!r} is already declared in {seen[name]}; "
                    "state, parameter and intel names share one namespace",
                    key=True,
                )
            seen[name] = section


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, _dt.date):
        return value.isoformat()
    return value


def compile_scenario(doc: Located, data: dict[str, Any], registry: Registry | None) -> Scenario:
    """Check meaning and compile; raises :class:`ValidationError` with every problem."""
    return _compile(CompileContext(doc, data, registry))


__all__ = ["MISSING", "compile_scenario"]
