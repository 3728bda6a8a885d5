"""Compile rules for the scenario's sections, except actors.

Ladder, parameters, state, intel, events (with the effects they have), flags, outcomes
and reporting: each function checks one section and returns its compiled entries,
reporting problems through the :class:`~sim.scenario.context.CompileContext` it is given.
"""

from __future__ import annotations

from typing import Any

from sim.expr import Symbol
from sim.scenario import names
from sim.scenario.context import CompileContext
from sim.scenario.model import (
    Effect,
    Event,
    Flag,
    Intel,
    Observation,
    Outcome,
    Parameter,
    Rung,
    StateVar,
)
from sim.spec import MAX_MAGNITUDE, did_you_mean, magnitude_problem
from sim.yamlio import PathKey


def base_symbols(c: CompileContext) -> dict[str, Symbol]:
    """The names known before day 0: rung indices, the horizon and the parameters.

    Declared from the raw entries, so a parameter with an error elsewhere is still known.
    """
    syms = {
        names.rung(rid): Symbol(names.rung(rid), "int", constant=i, doc=f"index of rung {rid}")
        for rid, i in c.rung_index.items()
    }
    syms["horizon"] = Symbol("horizon", "int", constant=c.horizon, doc="days simulated")
    for pid, p in c.data["parameters"].items():
        enum_values: tuple[str, ...] = ()
        if p.get("dist") == "choice" and isinstance(p.get("options"), dict):
            if not all(_is_number(k) for k in p["options"]):
                enum_values = tuple(p["options"])
        elif p.get("dist") == "fixed" and isinstance(p.get("value"), str):
            enum_values = (p["value"],)
        typ = "enum" if enum_values else ("int" if p.get("integer") else "float")
        syms[pid] = Symbol(pid, typ, enum_values, doc=p.get("description", ""))
    return syms


def ladder(c: CompileContext) -> list[Rung]:
    """The rungs in the order written, which is their order of severity (mid levels may not
    fall from one rung to the next).
    """
    out = []
    prev = 0
    for i, (rid, r) in enumerate(c.data["ladder"].items()):
        if r["mid_level"] < prev:
            c.error(
                ("ladder", rid, "mid_level"),
                f"ladder.{rid}.mid_level: {r['mid_level']} is below the previous rung's "
                f"{prev}; rungs go from calm to severe",
            )
        prev = r["mid_level"]
        out.append(Rung(rid, i, r["name"], r["mid_level"], r["description"], r["colour"]))
    return out


def parameters(c: CompileContext) -> list[Parameter]:
    """Each parameter with its distribution; missing, unused and out-of-range arguments are
    reported, and every parameter must cite a claim.
    """
    need = {
        "fixed": {"value"},
        "uniform": {"low", "high"},
        "triangular": {"low", "mode", "high"},
        "normal": {"mean", "sd"},
        "beta": {"a", "b"},
        "choice": {"options"},
    }
    optional = {"normal": {"low", "high"}, "beta": {"low", "high"}}
    out = []
    for pid, p in c.data["parameters"].items():
        path = ("parameters", pid)
        dist = p["dist"]
        given = {
            k
            for k in ("value", "low", "high", "mode", "mean", "sd", "a", "b", "options")
            if p.get(k) is not None
        }
        for k in sorted(need[dist] - given):
            c.error(path, f"parameters.{pid}: a {dist} distribution needs {k!r}")
        for k in sorted(given - need[dist] - optional.get(dist, set())):
            c.error((*path, k), f"parameters.{pid}.{k}: not used by a {dist} distribution")
        if need[dist] - given:
            continue
        args: dict[str, float] = {k: p[k] for k in given if k != "options" and k != "value"}
        options: tuple[tuple[Any, float], ...] = ()
        enum_values: tuple[str, ...] = ()
        lo, hi = p.get("low"), p.get("high")
        if lo is not None and hi is not None and not lo < hi:
            c.error((*path, "high"), f"parameters.{pid}: low ({lo}) must be below high ({hi})")
        if (
            dist == "triangular"
            and lo is not None
            and hi is not None
            and not (lo <= p["mode"] <= hi)
        ):
            c.error((*path, "mode"), f"parameters.{pid}.mode: {p['mode']} is not in [low, high]")
        if dist == "normal" and p["sd"] <= 0:
            c.error((*path, "sd"), f"parameters.{pid}.sd: must be > 0; got {p['sd']}")
        if dist == "beta":
            for k in ("a", "b"):
                if p[k] <= 0:
                    c.error((*path, k), f"parameters.{pid}.{k}: must be > 0; got {p[k]}")
        if dist == "fixed":
            v = p["value"]
            if isinstance(v, str):
                enum_values, options = (v,), ((v, 1.0),)
            elif isinstance(v, bool) or not isinstance(v, (int, float)):
                c.error((*path, "value"), f"parameters.{pid}.value: expected a number or a word")
                continue
            else:
                args["value"] = float(v)
        if dist == "choice":
            opts = p["options"]
            if not opts:
                c.error((*path, "options"), f"parameters.{pid}.options: needs at least one option")
                continue
            if sum(opts.values()) <= 0:
                c.error((*path, "options"), f"parameters.{pid}.options: weights sum to 0")
                continue
            numeric = all(_is_number(k) for k in opts)
            if numeric:
                big = [k for k in opts if not abs(float(k)) <= MAX_MAGNITUDE]
                if big:
                    c.error(
                        (*path, "options", big[0]),
                        f"parameters.{pid}.options: {magnitude_problem(float(big[0]))}",
                        key=True,
                    )
                    continue
            options = tuple((k, float(w)) for k, w in opts.items())
            if not numeric:
                enum_values = tuple(opts)
        out.append(
            Parameter(
                pid,
                dist,
                args,
                options,
                enum_values,
                bool(p["integer"]),
                p["description"],
                c.cites(p["cites"], (*path, "cites")),
                p["owner"],
                tuple((k, float(v)) for k, v in (p["types"] or {}).items()),
                **c.notes(p, path),
            )
        )
        if not p["cites"]:
            c.error((*path, "cites"), f"parameters.{pid}: cite at least one claim")
    return out


def state(c: CompileContext, base: dict[str, Symbol]) -> list[StateVar]:
    """The state variables with their initial values, compiled against the names known before
    day 0 (``base``) and checked against the variable's type and bounds.
    """
    out = []
    for vid, v in c.data["state"].items():
        path = ("state", vid)
        typ = v["type"]
        lo, hi = v["min"], v["max"]
        if typ == "enum":
            if not v["values"]:
                c.error(path, f"state.{vid}: an enum needs 'values' (two or more words)")
                continue
        elif v["values"] is not None:
            c.error((*path, "values"), f"state.{vid}.values: only an enum has values")
        if typ in ("bool", "enum") and (lo is not None or hi is not None):
            c.error(path, f"state.{vid}: min/max only apply to int and float variables")
        if lo is not None and hi is not None and lo > hi:
            c.error((*path, "max"), f"state.{vid}: min ({lo}) is above max ({hi})")
        values = tuple(v["values"] or ()) if typ == "enum" else ()
        expect = {"bool": "bool", "enum": "enum"}.get(typ, "number")
        init = v["initial"]
        if typ == "enum" and isinstance(init, str) and init in values:
            init = f'"{init}"'
        e = c.expr(init, (*path, "initial"), base, expect, enum_values=values)
        if e is None:
            continue
        if e.value is not None and typ in ("int", "float"):
            x = float(e.value)
            if (lo is not None and x < lo) or (hi is not None and x > hi):
                c.error((*path, "initial"), f"state.{vid}.initial: {x:g} is outside [min, max]")
        out.append(
            StateVar(
                vid,
                typ,
                e,
                lo,
                hi,
                values,
                v["description"],
                c.cites(v["cites"], (*path, "cites")),
                **c.notes(v, path),
            )
        )
    return out


def intel(
    c: CompileContext, base: dict[str, Symbol], daily: dict[str, Symbol], actors: list[str]
) -> list[Intel]:
    """What each observer can learn: ``watches`` and ``detect_prob`` read the daily names, the
    delay only those known before day 0 (it is drawn once per world).
    """
    out = []
    for iid, it in c.data["intel"].items():
        path = ("intel", iid)
        if it["observer"] not in actors:
            c.error(
                (*path, "observer"),
                f"intel.{iid}.observer: unknown actor {it['observer']!r}"
                f"{did_you_mean(it['observer'], actors)}",
            )
            continue
        watches = c.expr(it["watches"], (*path, "watches"), daily, "bool")
        delay = c.expr(it["delay_days"], (*path, "delay_days"), base, "number")
        prob = c.expr(it["detect_prob"], (*path, "detect_prob"), daily, "number", prob=True)
        if watches is None or delay is None or prob is None:
            continue
        out.append(
            Intel(
                iid,
                it["observer"],
                watches,
                delay,
                prob,
                it["description"],
                c.cites(it["cites"], (*path, "cites")),
                **c.notes(it, path),
            )
        )
    return out


def effects(
    c: CompileContext,
    effects: dict[str, Any],
    path: PathKey,
    symbols: dict[str, Symbol],
    state: list[StateVar],
    owner: str | None = None,
) -> tuple[Effect, ...]:
    """The assignments ``{state variable: expression}`` of an event or action, each compiled to
    the variable's type; ``owner`` is the actor whose private names they may read.
    """
    by_id = {v.id: v for v in state}
    declared = c.data["state"]
    out = []
    for target, value in effects.items():
        p = (*path, target)
        if target in declared and target not in by_id:
            continue  # the variable itself is invalid; reported there
        if target not in by_id:
            c.error(
                p,
                f"{c.where(p)}: unknown state variable {target!r}"
                f"{did_you_mean(target, list(by_id))}",
                key=True,
            )
            continue
        var = by_id[target]
        expect = {"bool": "bool", "enum": "enum"}.get(var.type, "number")
        if var.type == "enum" and isinstance(value, str) and value in var.values:
            value = f'"{value}"'
        e = c.expr(value, p, symbols, expect, owner=owner, enum_values=var.values)
        if e is not None:
            out.append(Effect(target, e))
    return tuple(out)


def events(c: CompileContext, daily: dict[str, Symbol], state: list[StateVar]) -> list[Event]:
    """Scheduled events (``start``/``end`` days) and random ones (a daily ``hazard`` where
    ``when`` holds); an event is one or the other.
    """
    out = []
    for eid, ev in c.data["events"].items():
        path = ("events", eid)
        scheduled = ev["start"] is not None
        random = ev["hazard"] is not None
        if scheduled == random:
            c.error(
                path,
                f"events.{eid}: give either 'start' (scheduled) or 'hazard' "
                "(random), not both or neither",
            )
            continue
        common = dict(
            id=eid,
            name=ev["name"] or eid.replace("_", " ").capitalize(),
            effects=effects(c, ev["effects"], (*path, "effects"), daily, state),
            end_effects=effects(c, ev["end_effects"], (*path, "end_effects"), daily, state),
            escalate_to=c.rung_ref(ev["escalate_to"], (*path, "escalate_to")),
            deescalate_to=c.rung_ref(ev["deescalate_to"], (*path, "deescalate_to")),
            description=ev["description"],
            narrate=ev["narrate"],
            cites=c.cites(ev["cites"], (*path, "cites")),
            **c.notes(ev, path),
        )
        if scheduled:
            for k in ("max_times",):
                if ev[k] is not None:
                    c.error((*path, k), f"events.{eid}.{k}: only for random events")
            if ev["when"] is not True:
                c.error((*path, "when"), f"events.{eid}.when: only for random events")
            start = c.day_ref(ev["start"], (*path, "start"))
            end = start if ev["end"] is None else c.day_ref(ev["end"], (*path, "end"))
            if start is None or end is None:
                continue
            if end < start:
                c.error((*path, "end"), f"events.{eid}.end: before its start")
                continue
            out.append(Event(kind="scheduled", start_day=start, end_day=end, **common))
        else:
            if ev["end"] is not None or ev["end_effects"]:
                c.error(path, f"events.{eid}: 'end' and 'end_effects' are for scheduled events")
            hazard = c.expr(ev["hazard"], (*path, "hazard"), daily, "number", prob=True)
            when = c.expr(ev["when"], (*path, "when"), daily, "bool")
            if hazard is None or when is None:
                continue
            out.append(
                Event(kind="random", hazard=hazard, when=when, max_times=ev["max_times"], **common)
            )
    return out


def flags(c: CompileContext, symbols: dict[str, Symbol]) -> list[Flag]:
    """The yes/no questions asked of each world, over the public daily names (no private intel)."""
    out = []
    for fid, f in c.data["flags"].items():
        e = c.expr(f["when"], ("flags", fid, "when"), symbols, "bool")
        if e is not None:
            out.append(Flag(fid, f["name"], e, f["at"], f["description"]))
    return out


def outcomes(c: CompileContext, symbols: dict[str, Symbol]) -> list[Outcome]:
    """The outcome classes in the order they are tried; exactly one, the fallback, has no
    ``when``.
    """
    out = []
    fallback = [oid for oid, o in c.data["outcomes"].items() if o["when"] is None]
    if len(fallback) != 1:
        c.error(
            ("outcomes",),
            "outcomes: exactly one outcome must have no 'when' (the class a world gets "
            f"when no other applies); found {len(fallback)}"
            + (f" ({', '.join(fallback)})" if fallback else ""),
        )
    for i, (oid, o) in enumerate(c.data["outcomes"].items()):
        e = None
        if o["when"] is not None:
            e = c.expr(o["when"], ("outcomes", oid, "when"), symbols, "bool")
            if e is None:
                continue
        out.append(Outcome(oid, i, o["name"], e, o["description"], o["colour"]))
    return out


def observations(
    c: CompileContext, symbols: dict[str, Symbol], flags: list[Flag]
) -> list[Observation]:
    """The dated statements about the world, each a condition on a day's public state.

    ``seen`` reads what flags and outcomes read, and the ``any_day`` flags as
    they stand at the end of its day (a flag evaluated at the horizon only has
    no value on an earlier day, so it is not in scope).
    """
    scope = dict(symbols)
    for f in flags:
        if f.at == "any_day":
            name = names.flag(f.id)
            scope[name] = Symbol(name, "bool", doc=f"{f.name} (so far)")
    out = []
    for oid, o in c.data["observations"].items():
        path = ("observations", oid)
        day = c.day_ref(o["date"], (*path, "date"))
        e = c.expr(o["seen"], (*path, "seen"), scope, "bool")
        cites = c.cites(o["cites"], (*path, "cites"))
        if day is not None and e is not None:
            out.append(Observation(oid, day, e, float(o["noise"]), o["description"], cites))
    return out


def reporting(c: CompileContext, flags: list[Flag]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The rungs and flags the report leads with (by default every rung above the first and
    every flag), each checked to exist.
    """
    rep = c.data["reporting"]
    rungs = list(c.rung_index)
    flag_ids = [f.id for f in flags]
    key_rungs = rep.get("key_rungs") or rungs[1:]
    key_flags = rep.get("key_flags") or flag_ids
    for i, r in enumerate(key_rungs):
        if r not in c.rung_index:
            c.error(
                ("reporting", "key_rungs", i),
                f"reporting.key_rungs: unknown rung {r!r}{did_you_mean(r, rungs)}",
            )
    for i, f in enumerate(key_flags):
        if f not in flag_ids:
            c.error(
                ("reporting", "key_flags", i),
                f"reporting.key_flags: unknown flag {f!r}{did_you_mean(f, flag_ids)}",
            )
    return tuple(key_rungs), tuple(key_flags)


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True
