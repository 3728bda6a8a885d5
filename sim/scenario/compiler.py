"""From a structurally checked document to a compiled :class:`Scenario`.

This is where meaning is checked: ids resolve, expressions compile against
the names visible where they are used, distributions have legal parameters,
dates fall inside the horizon, rules cite claims that exist. Every problem is
collected with its position; nothing stops at the first.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import re
from typing import Any

from sim.errors import Diagnostic, Location, ValidationError
from sim.expr import ALLOWED_FUNCTIONS, Expr, ExpressionError, Symbol, compile_expr
from sim.registry import Registry
from sim.scenario.model import (
    Action,
    Actor,
    Effect,
    Event,
    Flag,
    Intel,
    Outcome,
    Parameter,
    Rule,
    Rung,
    Scenario,
    StateVar,
)
from sim.spec import MISSING, Ctx, did_you_mean
from sim.yamlio import Located, PathKey

RESERVED = {"day", "rung", "peak", "horizon", "true", "false", "rungs", "events", "flags"} | set(
    ALLOWED_FUNCTIONS
)
HISTORY_FIELDS = {
    "taken": ("bool", "the action has been taken at least once"),
    "count": ("int", "number of days the action has been taken"),
    "days_since": ("int", "days since the action was last taken (huge if never)"),
}
NEVER = 1_000_000
"""Value of ``days_since`` for an action never taken."""


class _Compiler:
    def __init__(self, doc: Located, data: dict[str, Any], registry: Registry | None):
        self.doc = doc
        self.d = data
        self.registry = registry
        self.ctx = Ctx(doc)
        meta = data["scenario"]
        self.start: _dt.date = meta["start"]
        self.horizon: int = meta["horizon_days"]
        self.rung_index = {rid: i for i, rid in enumerate(data["ladder"])}

    # -- messages -------------------------------------------------------------
    def error(self, path: PathKey, msg: str) -> None:
        self.ctx.error(path, msg)

    def where(self, path: PathKey) -> str:
        return ".".join(str(p) for p in path)

    # -- expressions ----------------------------------------------------------
    def expr(
        self,
        value: Any,
        path: PathKey,
        symbols: dict[str, Symbol],
        expect: str,
        *,
        owner: str | None = None,
        enum_values: tuple[str, ...] = (),
        prob: bool = False,
    ) -> Expr | None:
        # Newlines (block scalars) become spaces: same length, so offsets hold.
        text = value.replace("\n", " ") if isinstance(value, str) else _literal(value)
        try:
            e = compile_expr(
                text,
                symbols,
                expect=expect,
                enum_values=enum_values,
                owner=owner,
                start_date=self.start,
            )
        except ExpressionError as exc:
            loc = _place(self.doc.where(path), value, exc.offset)
            self.ctx.diags.append(
                Diagnostic(loc, f"{self.where(path)}: {exc}  [in: {_short(text)}]")
            )
            return None
        if prob and e.is_constant and not (0 <= float(e.value) <= 1):
            self.error(path, f"{self.where(path)}: probability {e.value} is outside [0, 1]")
        return e

    def cites(self, values: list[str], path: PathKey) -> tuple[str, ...]:
        if self.registry is not None:
            known = self.registry.claims
            for i, c in enumerate(values):
                if c not in known:
                    self.error(
                        (*path, i),
                        f"{self.where(path)}: unknown claim id {c!r}{did_you_mean(c, list(known))}",
                    )
        return tuple(values)

    def rung_ref(self, rid: str | None, path: PathKey) -> int | None:
        if rid is None:
            return None
        if rid not in self.rung_index:
            self.error(
                path,
                f"{self.where(path)}: unknown rung {rid!r}"
                f"{did_you_mean(rid, list(self.rung_index))}"
                f" (rungs: {', '.join(self.rung_index)})",
            )
            return None
        return self.rung_index[rid]

    def day_ref(self, value: Any, path: PathKey) -> int | None:
        if isinstance(value, bool) or value is None:
            self.error(path, f"{self.where(path)}: expected a date YYYY-MM-DD or a day number")
            return None
        if isinstance(value, int):
            day = value
        else:
            if isinstance(value, str):
                try:
                    value = _dt.date.fromisoformat(value)
                except ValueError:
                    self.error(path, f"{self.where(path)}: {value!r} is not a date YYYY-MM-DD")
                    return None
            if not isinstance(value, _dt.date):
                self.error(path, f"{self.where(path)}: expected a date or a day number")
                return None
            day = (value - self.start).days
        if not 0 <= day < self.horizon:
            last = self.start + _dt.timedelta(days=self.horizon - 1)
            self.error(
                path,
                f"{self.where(path)}: day {day} ({self.start + _dt.timedelta(days=day)}) "
                "is outside "
                f"the horizon (day 0 = {self.start} to day {self.horizon - 1} = {last})",
            )
            return None
        return day

    # -- sections -------------------------------------------------------------
    def run(self) -> Scenario:
        d = self.d
        meta = d["scenario"]
        if self.registry is not None:
            for i, s in enumerate(meta["sources"]):
                if s not in self.registry.sources:
                    self.error(
                        ("scenario", "sources", i),
                        f"scenario.sources: unknown source {s!r}"
                        f"{did_you_mean(s, list(self.registry.sources))}",
                    )
        ladder = self.ladder()
        actor_ids = list(d["actors"])
        self.check_names(actor_ids)
        params = self.parameters()
        base = self.base_symbols(params)
        state = self.state(base)
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
                for f, (typ, doc) in HISTORY_FIELDS.items():
                    name = f"{aid}.{act}.{f}"
                    daily[name] = Symbol(name, typ, doc=doc)
        for eid in d["events"]:
            daily[f"events.{eid}.active"] = Symbol(f"events.{eid}.active", "bool")
            daily[f"events.{eid}.count"] = Symbol(f"events.{eid}.count", "int")
        for iid, it in d["intel"].items():
            owner = it["observer"] if it["observer"] in actor_ids else None
            daily[iid] = Symbol(iid, "bool", visible_to=owner, doc=it["description"])
        public = {
            k: (
                Symbol(s.name, s.type, s.enum_values, s.constant, None, s.doc)
                if s.visible_to
                else s
            )
            for k, s in daily.items()
        }
        intel = self.intel(base, daily, actor_ids)
        events = self.events(daily, state)
        actors = self.actors(daily, state)
        flags = self.flags(public)
        final = dict(public)
        for f in flags:
            final[f"flags.{f.id}"] = Symbol(f"flags.{f.id}", "bool", doc=f.name)
        outcomes = self.outcomes(final)
        key_rungs, key_flags = self.reporting(flags)

        if any(x.severity == "error" for x in self.ctx.diags):
            raise ValidationError(self.ctx.diags)
        resolved = _jsonable(d)
        digest = hashlib.sha256(
            json.dumps(resolved, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        return Scenario(
            name=meta["name"],
            title=meta["title"],
            start=self.start,
            horizon_days=self.horizon,
            seed=int(meta["seed"]),
            description=meta["description"],
            sources=tuple(meta["sources"]),
            default_runs=int(meta["default_runs"]),
            state=tuple(state),
            parameters=tuple(params),
            ladder=tuple(ladder),
            intel=tuple(intel),
            events=tuple(events),
            actors=tuple(actors),
            flags=tuple(flags),
            outcomes=tuple(outcomes),
            key_rungs=key_rungs,
            key_flags=key_flags,
            file=self.doc.file,
            resolved=resolved,
            sha256=digest,
            warnings=tuple(str(x) for x in self.ctx.diags if x.severity == "warning"),
        )

    def check_names(self, actor_ids: list[str]) -> None:
        seen: dict[str, str] = {}
        for section in ("state", "parameters", "intel"):
            for name in self.d[section]:
                path = (section, name)
                if name in RESERVED:
                    self.ctx.error(path, f"{section}.{name}: {name!r} is a reserved name", key=True)
                elif name in actor_ids:
                    self.ctx.error(
                        path, f"{section}.{name}: {name!r} is already an actor id", key=True
                    )
                elif name in seen:
                    self.ctx.error(
                        path,
                        f"{section}.{name}: {name!r} is already declared in {seen[name]}; "
                        "state, parameter and intel names share one namespace",
                        key=True,
                    )
                seen[name] = section

    def ladder(self) -> list[Rung]:
        out = []
        prev = 0
        for i, (rid, r) in enumerate(self.d["ladder"].items()):
            if r["mid_level"] < prev:
                self.error(
                    ("ladder", rid, "mid_level"),
                    f"ladder.{rid}.mid_level: {r['mid_level']} is below the previous rung's "
                    f"{prev}; rungs go from calm to severe",
                )
            prev = r["mid_level"]
            out.append(Rung(rid, i, r["name"], r["mid_level"], r["description"], r["colour"]))
        return out

    def base_symbols(self, params: list[Parameter]) -> dict[str, Symbol]:
        syms = {
            f"rungs.{rid}": Symbol(f"rungs.{rid}", "int", constant=i, doc=f"index of rung {rid}")
            for rid, i in self.rung_index.items()
        }
        syms["horizon"] = Symbol("horizon", "int", constant=self.horizon, doc="days simulated")
        for pid, p in self.d["parameters"].items():
            enum_values: tuple[str, ...] = ()
            if p.get("dist") == "choice" and isinstance(p.get("options"), dict):
                if not all(_is_number(k) for k in p["options"]):
                    enum_values = tuple(p["options"])
            elif p.get("dist") == "fixed" and isinstance(p.get("value"), str):
                enum_values = (p["value"],)
            typ = "enum" if enum_values else ("int" if p.get("integer") else "float")
            syms[pid] = Symbol(pid, typ, enum_values, doc=p.get("description", ""))
        del params
        return syms

    def parameters(self) -> list[Parameter]:
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
        for pid, p in self.d["parameters"].items():
            path = ("parameters", pid)
            dist = p["dist"]
            given = {
                k
                for k in ("value", "low", "high", "mode", "mean", "sd", "a", "b", "options")
                if p.get(k) is not None
            }
            for k in sorted(need[dist] - given):
                self.error(path, f"parameters.{pid}: a {dist} distribution needs {k!r}")
            for k in sorted(given - need[dist] - optional.get(dist, set())):
                self.error((*path, k), f"parameters.{pid}.{k}: not used by a {dist} distribution")
            if need[dist] - given:
                continue
            args: dict[str, float] = {k: p[k] for k in given if k != "options" and k != "value"}
            options: tuple[tuple[Any, float], ...] = ()
            enum_values: tuple[str, ...] = ()
            lo, hi = p.get("low"), p.get("high")
            if lo is not None and hi is not None and not lo < hi:
                self.error(
                    (*path, "high"), f"parameters.{pid}: low ({lo}) must be below high ({hi})"
                )
            if (
                dist == "triangular"
                and lo is not None
                and hi is not None
                and not (lo <= p["mode"] <= hi)
            ):
                self.error(
                    (*path, "mode"), f"parameters.{pid}.mode: {p['mode']} is not in [low, high]"
                )
            if dist == "normal" and p["sd"] <= 0:
                self.error((*path, "sd"), f"parameters.{pid}.sd: must be > 0; got {p['sd']}")
            if dist == "beta":
                for k in ("a", "b"):
                    if p[k] <= 0:
                        self.error((*path, k), f"parameters.{pid}.{k}: must be > 0; got {p[k]}")
            if dist == "fixed":
                v = p["value"]
                if isinstance(v, str):
                    enum_values, options = (v,), ((v, 1.0),)
                elif isinstance(v, bool) or not isinstance(v, (int, float)):
                    self.error(
                        (*path, "value"), f"parameters.{pid}.value: expected a number or a word"
                    )
                    continue
                else:
                    args["value"] = float(v)
            if dist == "choice":
                opts = p["options"]
                if not opts:
                    self.error(
                        (*path, "options"), f"parameters.{pid}.options: needs at least one option"
                    )
                    continue
                if sum(opts.values()) <= 0:
                    self.error((*path, "options"), f"parameters.{pid}.options: weights sum to 0")
                    continue
                numeric = all(_is_number(k) for k in opts)
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
                    self.cites(p["cites"], (*path, "cites")),
                )
            )
            if not p["cites"]:
                self.error((*path, "cites"), f"parameters.{pid}: cite at least one claim")
        return out

    def state(self, base: dict[str, Symbol]) -> list[StateVar]:
        out = []
        for vid, v in self.d["state"].items():
            path = ("state", vid)
            typ = v["type"]
            lo, hi = v["min"], v["max"]
            if typ == "enum":
                if not v["values"]:
                    self.error(path, f"state.{vid}: an enum needs 'values' (two or more words)")
                    continue
            elif v["values"] is not None:
                self.error((*path, "values"), f"state.{vid}.values: only an enum has values")
            if typ in ("bool", "enum") and (lo is not None or hi is not None):
                self.error(path, f"state.{vid}: min/max only apply to int and float variables")
            if lo is not None and hi is not None and lo > hi:
                self.error((*path, "max"), f"state.{vid}: min ({lo}) is above max ({hi})")
            values = tuple(v["values"] or ()) if typ == "enum" else ()
            expect = {"bool": "bool", "enum": "enum"}.get(typ, "number")
            init = v["initial"]
            if typ == "enum" and isinstance(init, str) and init in values:
                init = f'"{init}"'
            e = self.expr(init, (*path, "initial"), base, expect, enum_values=values)
            if e is None:
                continue
            if e.is_constant and typ in ("int", "float"):
                x = float(e.value)
                if (lo is not None and x < lo) or (hi is not None and x > hi):
                    self.error(
                        (*path, "initial"), f"state.{vid}.initial: {x:g} is outside [min, max]"
                    )
            out.append(
                StateVar(
                    vid,
                    typ,
                    e,
                    lo,
                    hi,
                    values,
                    v["description"],
                    self.cites(v["cites"], (*path, "cites")),
                )
            )
        return out

    def intel(
        self, base: dict[str, Symbol], daily: dict[str, Symbol], actors: list[str]
    ) -> list[Intel]:
        out = []
        for iid, it in self.d["intel"].items():
            path = ("intel", iid)
            if it["observer"] not in actors:
                self.error(
                    (*path, "observer"),
                    f"intel.{iid}.observer: unknown actor {it['observer']!r}"
                    f"{did_you_mean(it['observer'], actors)}",
                )
                continue
            watches = self.expr(it["watches"], (*path, "watches"), daily, "bool")
            delay = self.expr(it["delay_days"], (*path, "delay_days"), base, "number")
            prob = self.expr(it["detect_prob"], (*path, "detect_prob"), daily, "number", prob=True)
            if None in (watches, delay, prob):
                continue
            out.append(
                Intel(
                    iid,
                    it["observer"],
                    watches,
                    delay,
                    prob,
                    it["description"],
                    self.cites(it["cites"], (*path, "cites")),
                )
            )
        return out

    def effects(
        self,
        effects: dict[str, Any],
        path: PathKey,
        symbols: dict[str, Symbol],
        state: list[StateVar],
        owner: str | None = None,
    ) -> tuple[Effect, ...]:
        by_id = {v.id: v for v in state}
        declared = self.d["state"]
        out = []
        for target, value in effects.items():
            p = (*path, target)
            if target in declared and target not in by_id:
                continue  # the variable itself is invalid; reported there
            if target not in by_id:
                self.ctx.error(
                    p,
                    f"{self.where(p)}: unknown state variable {target!r}"
                    f"{did_you_mean(target, list(by_id))}",
                    key=True,
                )
                continue
            var = by_id[target]
            expect = {"bool": "bool", "enum": "enum"}.get(var.type, "number")
            if var.type == "enum" and isinstance(value, str) and value in var.values:
                value = f'"{value}"'
            e = self.expr(value, p, symbols, expect, owner=owner, enum_values=var.values)
            if e is not None:
                out.append(Effect(target, e))
        return tuple(out)

    def events(self, daily: dict[str, Symbol], state: list[StateVar]) -> list[Event]:
        out = []
        for eid, ev in self.d["events"].items():
            path = ("events", eid)
            scheduled = ev["start"] is not None
            random = ev["hazard"] is not None
            if scheduled == random:
                self.error(
                    path,
                    f"events.{eid}: give either 'start' (scheduled) or 'hazard' "
                    "(random), not both or neither",
                )
                continue
            common = dict(
                id=eid,
                name=ev["name"] or eid.replace("_", " ").capitalize(),
                effects=self.effects(ev["effects"], (*path, "effects"), daily, state),
                end_effects=self.effects(ev["end_effects"], (*path, "end_effects"), daily, state),
                escalate_to=self.rung_ref(ev["escalate_to"], (*path, "escalate_to")),
                deescalate_to=self.rung_ref(ev["deescalate_to"], (*path, "deescalate_to")),
                description=ev["description"],
                narrate=ev["narrate"],
                cites=self.cites(ev["cites"], (*path, "cites")),
            )
            if scheduled:
                for k in ("max_times",):
                    if ev[k] is not None:
                        self.error((*path, k), f"events.{eid}.{k}: only for random events")
                if ev["when"] is not True:
                    self.error((*path, "when"), f"events.{eid}.when: only for random events")
                start = self.day_ref(ev["start"], (*path, "start"))
                end = start if ev["end"] is None else self.day_ref(ev["end"], (*path, "end"))
                if start is None or end is None:
                    continue
                if end < start:
                    self.error((*path, "end"), f"events.{eid}.end: before its start")
                    continue
                out.append(Event(kind="scheduled", start_day=start, end_day=end, **common))
            else:
                if ev["end"] is not None or ev["end_effects"]:
                    self.error(
                        path, f"events.{eid}: 'end' and 'end_effects' are for scheduled events"
                    )
                hazard = self.expr(ev["hazard"], (*path, "hazard"), daily, "number", prob=True)
                when = self.expr(ev["when"], (*path, "when"), daily, "bool")
                if hazard is None or when is None:
                    continue
                out.append(
                    Event(
                        kind="random", hazard=hazard, when=when, max_times=ev["max_times"], **common
                    )
                )
        return out

    def actors(self, daily: dict[str, Symbol], state: list[StateVar]) -> list[Actor]:
        out = []
        rule_index = 0
        rule_ids: dict[str, str] = {}
        for ai, (aid, a) in enumerate(self.d["actors"].items()):
            path = ("actors", aid)
            actions = []
            for xi, (xid, x) in enumerate(a["actions"].items()):
                xp = (*path, "actions", xid)
                if x["default"] and x["once"]:
                    self.error(
                        (*xp, "once"), f"{self.where(xp)}: the default action cannot be 'once'"
                    )
                actions.append(
                    Action(
                        xid,
                        xi,
                        x["name"] or xid.replace("_", " ").capitalize(),
                        x["default"],
                        x["once"],
                        self.effects(x["effects"], (*xp, "effects"), daily, state, owner=aid),
                        self.rung_ref(x["escalate_to"], (*xp, "escalate_to")),
                        self.rung_ref(x["deescalate_to"], (*xp, "deescalate_to")),
                        x["description"],
                        self.cites(x["cites"], (*xp, "cites")),
                    )
                )
            defaults = [x.id for x in actions if x.default]
            if len(defaults) != 1:
                self.error(
                    (*path, "actions"),
                    f"actors.{aid}.actions: mark exactly one action 'default: true' "
                    f"(the no-op); found {len(defaults)}"
                    + (f" ({', '.join(defaults)})" if defaults else ""),
                )
            action_ids = [x.id for x in actions]
            rules = []
            for rid, r in a["rules"].items():
                rp = (*path, "rules", rid)
                if rid in rule_ids:
                    self.ctx.error(
                        rp,
                        f"{self.where(rp)}: rule id {rid!r} is already used by "
                        f"{rule_ids[rid]}; rule ids are unique in a scenario",
                        key=True,
                    )
                rule_ids[rid] = f"actors.{aid}"
                kind = r["kind"]
                if r["action"] not in action_ids:
                    self.error(
                        (*rp, "action"),
                        f"{self.where(rp)}.action: {aid} has no action {r['action']!r}"
                        f"{did_you_mean(r['action'], action_ids)} "
                        f"(actions: {', '.join(action_ids)})",
                    )
                    continue
                allowed = {
                    "constraint": {"allowed_if"},
                    "trigger": {"when", "prob"},
                    "preference": {"when", "utility"},
                }[kind]
                for k in ("allowed_if", "when", "prob", "utility"):
                    if r[k] is not None and k not in allowed:
                        self.error(
                            (*rp, k),
                            f"{self.where(rp)}.{k}: not used by a {kind} rule "
                            f"(a {kind} takes: {', '.join(sorted(allowed))})",
                        )
                act = a["actions"][r["action"]]
                if kind == "constraint":
                    if act["default"]:
                        self.error(
                            (*rp, "action"),
                            f"{self.where(rp)}: the default action "
                            "cannot be constrained; it is always allowed",
                        )
                    if r["allowed_if"] is None:
                        self.error(rp, f"{self.where(rp)}: a constraint needs 'allowed_if'")
                        continue
                    cond = self.expr(r["allowed_if"], (*rp, "allowed_if"), daily, "bool", owner=aid)
                else:
                    cond = self.expr(
                        True if r["when"] is None else r["when"],
                        (*rp, "when"),
                        daily,
                        "bool",
                        owner=aid,
                    )
                prob = utility = None
                if kind == "trigger":
                    prob = self.expr(
                        1 if r["prob"] is None else r["prob"],
                        (*rp, "prob"),
                        daily,
                        "number",
                        owner=aid,
                        prob=True,
                    )
                if kind == "preference":
                    if r["utility"] is None:
                        self.error(rp, f"{self.where(rp)}: a preference needs 'utility'")
                        continue
                    utility = self.expr(r["utility"], (*rp, "utility"), daily, "number", owner=aid)
                if not r["cites"]:
                    self.ctx.warn(rp, f"{self.where(rp)}: rule cites no claim")
                if (
                    cond is None
                    or (kind == "trigger" and prob is None)
                    or (kind == "preference" and utility is None)
                ):
                    continue
                rules.append(
                    Rule(
                        rid,
                        rule_index,
                        aid,
                        kind,
                        r["action"],
                        action_ids.index(r["action"]),
                        cond,
                        prob,
                        utility,
                        r["description"],
                        self.cites(r["cites"], (*rp, "cites")),
                    )
                )
                rule_index += 1
            rat = self.expr(a["rationality"], (*path, "rationality"), daily, "number", owner=aid)
            if rat is None:
                continue
            out.append(
                Actor(aid, ai, a["name"], rat, tuple(actions), tuple(rules), a["description"])
            )
        return out

    def flags(self, symbols: dict[str, Symbol]) -> list[Flag]:
        out = []
        for fid, f in self.d["flags"].items():
            e = self.expr(f["when"], ("flags", fid, "when"), symbols, "bool")
            if e is not None:
                out.append(Flag(fid, f["name"], e, f["at"], f["description"]))
        return out

    def outcomes(self, symbols: dict[str, Symbol]) -> list[Outcome]:
        out = []
        fallback = [oid for oid, o in self.d["outcomes"].items() if o["when"] is None]
        if len(fallback) != 1:
            self.error(
                ("outcomes",),
                "outcomes: exactly one outcome must have no 'when' (the class a world gets "
                f"when no other applies); found {len(fallback)}"
                + (f" ({', '.join(fallback)})" if fallback else ""),
            )
        for i, (oid, o) in enumerate(self.d["outcomes"].items()):
            e = None
            if o["when"] is not None:
                e = self.expr(o["when"], ("outcomes", oid, "when"), symbols, "bool")
                if e is None:
                    continue
            out.append(Outcome(oid, i, o["name"], e, o["description"], o["colour"]))
        return out

    def reporting(self, flags: list[Flag]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        rep = self.d["reporting"]
        rungs = list(self.rung_index)
        flag_ids = [f.id for f in flags]
        key_rungs = rep.get("key_rungs") or rungs[1:]
        key_flags = rep.get("key_flags") or flag_ids
        for i, r in enumerate(key_rungs):
            if r not in self.rung_index:
                self.error(
                    ("reporting", "key_rungs", i),
                    f"reporting.key_rungs: unknown rung {r!r}{did_you_mean(r, rungs)}",
                )
        for i, f in enumerate(key_flags):
            if f not in flag_ids:
                self.error(
                    ("reporting", "key_flags", i),
                    f"reporting.key_flags: unknown flag {f!r}{did_you_mean(f, flag_ids)}",
                )
        return tuple(key_rungs), tuple(key_flags)


def _place(loc: Location, value: Any, offset: int) -> Location:
    """The column of character ``offset`` of an expression written at ``loc``.

    Single-line scalars map one-to-one. For folded, multi-line or escaped
    scalars the offending token is looked up in the source text instead.
    """
    if not isinstance(value, str):
        return loc
    offset = max(0, min(offset, len(value)))
    if loc.exact and "\n" not in value:
        return Location(loc.file, loc.line, loc.col + offset)
    if not loc.raw:
        return loc
    m = re.match(r"\w+|\S", value[offset:])
    if not m:
        return loc
    token = m.group(0)
    nth = len(re.findall(re.escape(token), value[:offset]))
    starts = [x.start() for x in re.finditer(re.escape(token), loc.raw)]
    if nth >= len(starts):
        return loc
    i = starts[nth]
    before = loc.raw[:i]
    lines = before.count("\n")
    col = loc.raw_col + i if not lines else i - before.rfind("\n")
    return Location(loc.file, loc.line + lines, col)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and (math.isinf(value) or math.isnan(value)):
        return "nan"
    return repr(value)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


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
    return _Compiler(doc, data, registry).run()


__all__ = ["MISSING", "NEVER", "compile_scenario"]
