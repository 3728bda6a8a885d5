"""What every section rule of the scenario compiler works with.

The rules in :mod:`sim.scenario.sections` and :mod:`sim.scenario.actors` are functions of
one :class:`CompileContext`: the structurally checked document, the claims registry, and
the helpers that compile an expression, resolve a reference or report a problem at its
place in the file. Problems are collected, never raised, so one run reports them all.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any

from sim.errors import Diagnostic, Location
from sim.expr import Expr, ExpressionError, Symbol, compile_expr
from sim.registry import Registry
from sim.spec import Ctx, did_you_mean
from sim.yamlio import Located, PathKey


class CompileContext:
    """The document being compiled and the helpers its section rules report through.

    Attributes:
        doc: The located document, for the file positions of messages.
        data: The structurally checked document (every field present, defaults filled).
        registry: The claims registry citations are checked against, or None to skip.
        ctx: The diagnostics collected so far.
        start: Day 0 of the scenario.
        horizon: Number of days simulated.
        rung_index: Rung id to its index on the ladder.
    """

    def __init__(self, doc: Located, data: dict[str, Any], registry: Registry | None) -> None:
        self.doc = doc
        self.data = data
        self.registry = registry
        self.ctx = Ctx(doc)
        meta = data["scenario"]
        self.start: _dt.date = meta["start"]
        self.horizon: int = meta["horizon_days"]
        self.rung_index = {rid: i for i, rid in enumerate(data["ladder"])}

    # -- messages -------------------------------------------------------------
    def error(self, path: PathKey, msg: str, key: bool = False) -> None:
        """Records an error at ``path`` (at its key rather than its value when ``key``)."""
        self.ctx.error(path, msg, key=key)

    def warn(self, path: PathKey, msg: str) -> None:
        """Records a warning at ``path``; warnings do not stop compilation."""
        self.ctx.warn(path, msg)

    def where(self, path: PathKey) -> str:
        """``path`` written the way messages name a place: ``actors.kremlin.rules``."""
        return ".".join(str(p) for p in path)

    # -- expressions and references -------------------------------------------
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
        """Compiles the expression written at ``path``, or records why not and returns None.

        Args:
            value: The text, or a plain YAML number or boolean.
            path: Where it is written (its message points at the offending column).
            symbols: The names visible there.
            expect: "bool", "number" or "enum".
            owner: The actor whose private intel the expression may read.
            enum_values: For ``expect="enum"``, the values allowed.
            prob: A constant result must lie in [0, 1].
        """
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
        if prob and e.value is not None and not (0 <= float(e.value) <= 1):
            self.error(path, f"{self.where(path)}: probability {e.value} is outside [0, 1]")
        return e

    def cites(self, values: list[str], path: PathKey) -> tuple[str, ...]:
        """The claim ids cited at ``path``; each unknown one is reported (with a registry)."""
        if self.registry is not None:
            known = self.registry.claims
            for i, c in enumerate(values):
                if c not in known:
                    self.error(
                        (*path, i),
                        f"{self.where(path)}: unknown claim id {c!r}{did_you_mean(c, list(known))}",
                    )
        return tuple(values)

    def notes(self, entry: dict[str, Any], path: PathKey) -> dict[str, Any]:
        """An element's ``context`` claims (checked as ``cites`` are) and its ``inert`` reason
        (where its kind takes one), as keyword arguments of the compiled element.
        """
        claims = entry["context"] or []  # absent: None, so the resolved text leaves it out
        out: dict[str, Any] = {"context": self.cites(claims, (*path, "context"))}
        if "inert" in entry:
            out["inert"] = entry["inert"]
        return out

    def rung_ref(self, rid: str | None, path: PathKey) -> int | None:
        """The ladder index of rung ``rid``; None when absent or unknown (then reported)."""
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
        """A date or a day number as a day inside the horizon; None (reported) otherwise."""
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
