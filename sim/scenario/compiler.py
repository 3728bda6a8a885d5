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
from sim.scenario import names
from sim.scenario.actors import _Actors
from sim.scenario.model import Parameter, Scenario
from sim.scenario.sections import _is_number, _Sections
from sim.spec import MISSING, Ctx, did_you_mean
from sim.yamlio import Located, PathKey

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


class _Compiler(_Sections, _Actors):
    """Checks meaning across the whole document and builds the :class:`Scenario`.

    The driver: it declares the names expressions may use, runs each section's rules
    (in :mod:`sim.scenario.sections` and :mod:`sim.scenario.actors`) and collects every
    problem. The section rules call back into the helpers here (``error``, ``where``,
    ``expr``, ``cites``, ``rung_ref``, ``day_ref``).
    """

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
            last = _date_of(self.start, self.horizon - 1)
            date = _date_of(self.start, day)
            self.error(
                path,
                f"{self.where(path)}: day {day}{f' ({date})' if date else ''} is outside "
                f"the horizon (day 0 = {self.start} to day {self.horizon - 1} = {last})",
            )
            return None
        return day

    # -- the whole document ---------------------------------------------------
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
            final[names.flag(f.id)] = Symbol(names.flag(f.id), "bool", doc=f.name)
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

    def base_symbols(self, params: list[Parameter]) -> dict[str, Symbol]:
        syms = {
            names.rung(rid): Symbol(names.rung(rid), "int", constant=i, doc=f"index of rung {rid}")
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


def _date_of(start: _dt.date, day: int) -> _dt.date | None:
    """``start`` plus ``day`` days, or ``None`` past the dates Python can represent."""
    try:
        return start + _dt.timedelta(days=day)
    except (OverflowError, ValueError):
        return None


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


__all__ = ["MISSING", "compile_scenario"]
