"""A small declarative schema: one definition drives validation *and* JSON Schema.

Scenario and registry files are described with these node types (``Obj``,
``MapOf``, ``ListOf``, ``Str``, ``Num`` ...). :meth:`Spec.check` walks a
:class:`~sim.yamlio.Located` document, collects every structural problem with
its ``file:line:col`` and returns the value with defaults filled in;
:meth:`Spec.json_schema` emits the equivalent JSON Schema for editors. Keeping
both in one place means the editor schema can never drift from the validator.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import math
import re
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from sim.errors import Diagnostic
from sim.yamlio import Located, PathKey

_MISSING = object()
IDENT_RE = re.compile(r"^[a-z][a-z0-9_]*$")
IDENT_PATTERN = IDENT_RE.pattern


def did_you_mean(word: str, options: list[str] | tuple[str, ...] | set[str]) -> str:
    """A ``"; did you mean X?"`` suffix, or an empty string."""
    close = difflib.get_close_matches(str(word), sorted(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def type_name(value: Any) -> str:
    """Plain-words name of a YAML value's type for messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a true/false value ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        short = value if len(value) <= 30 else value[:27] + "..."
        return f"text ({short!r})"
    if isinstance(value, _dt.date):
        return f"a date ({value.isoformat()})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


@dataclass
class Ctx:
    """Validation context: the document and the list errors are collected into."""

    doc: Located
    diags: list[Diagnostic] = field(default_factory=list)

    def error(self, path: PathKey, message: str, key: bool = False) -> None:
        self.diags.append(Diagnostic(self.doc.where(path, key), message))

    def warn(self, path: PathKey, message: str) -> None:
        self.diags.append(Diagnostic(self.doc.where(path), message, "warning"))


class Spec:
    """Base of all schema nodes."""

    doc: str = ""

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def _described(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.doc:
            schema["description"] = self.doc
        return schema

    @staticmethod
    def _where(path: PathKey) -> str:
        return ".".join(str(p) for p in path) or "the file"


@dataclass
class Str(Spec):
    """Text; optionally matching a pattern (e.g. an identifier)."""

    doc: str = ""
    pattern: str | None = None
    pattern_help: str = ""
    max_len: int = 10_000

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        if not isinstance(value, str):
            ctx.error(path, f"{self._where(path)}: expected text; got {type_name(value)}")
            return _MISSING
        if len(value) > self.max_len:
            ctx.error(path, f"{self._where(path)}: text longer than {self.max_len} characters")
            return _MISSING
        if self.pattern and not re.match(self.pattern, value):
            ctx.error(
                path, f"{self._where(path)}: {value!r} is not {self.pattern_help or self.pattern}"
            )
            return _MISSING
        return value

    def json_schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": "string", "maxLength": self.max_len}
        if self.pattern:
            s["pattern"] = self.pattern
        return self._described(s)


def Ident(doc: str = "") -> Str:
    """An identifier: lowercase letters, digits and underscores, starting with a letter."""
    return Str(
        doc=doc,
        pattern=IDENT_PATTERN,
        pattern_help="an identifier (lowercase letters, digits, _; starting with a letter)",
        max_len=64,
    )


@dataclass
class Num(Spec):
    """A number within optional bounds; ``integer=True`` for whole numbers."""

    doc: str = ""
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    exclusive_min: bool = False

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        ok = isinstance(value, int) and not isinstance(value, bool)
        if not self.integer:
            ok = ok or isinstance(value, float)
        if not ok:
            what = "a whole number" if self.integer else "a number"
            ctx.error(path, f"{self._where(path)}: expected {what}; got {type_name(value)}")
            return _MISSING
        if isinstance(value, float) and not math.isfinite(value):
            ctx.error(path, f"{self._where(path)}: expected a finite number; got {value}")
            return _MISSING
        lo_bad = self.minimum is not None and (
            value <= self.minimum if self.exclusive_min else value < self.minimum
        )
        if lo_bad or (self.maximum is not None and value > self.maximum):
            ctx.error(path, f"{self._where(path)}: {value} is outside {self.range_text()}")
            return _MISSING
        return value

    def range_text(self) -> str:
        lo = "(" if self.exclusive_min else "["
        a = "-inf" if self.minimum is None else f"{self.minimum:g}"
        b = "inf" if self.maximum is None else f"{self.maximum:g}"
        return f"the allowed range {lo}{a}, {b}]"

    def json_schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": "integer" if self.integer else "number"}
        if self.minimum is not None:
            s["exclusiveMinimum" if self.exclusive_min else "minimum"] = self.minimum
        if self.maximum is not None:
            s["maximum"] = self.maximum
        return self._described(s)


@dataclass
class Bool(Spec):
    """``true`` or ``false``."""

    doc: str = ""

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        if not isinstance(value, bool):
            ctx.error(path, f"{self._where(path)}: expected true or false; got {type_name(value)}")
            return _MISSING
        return value

    def json_schema(self) -> dict[str, Any]:
        return self._described({"type": "boolean"})


@dataclass
class Date(Spec):
    """A calendar date written ``YYYY-MM-DD``."""

    doc: str = ""

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        if isinstance(value, _dt.datetime):
            return value.date()
        if isinstance(value, _dt.date):
            return value
        if isinstance(value, str):
            try:
                return _dt.date.fromisoformat(value)
            except ValueError:
                pass
        ctx.error(path, f"{self._where(path)}: expected a date YYYY-MM-DD; got {type_name(value)}")
        return _MISSING

    def json_schema(self) -> dict[str, Any]:
        return self._described({"type": "string", "format": "date"})


@dataclass
class Choice(Spec):
    """One of a fixed set of words."""

    values: tuple[str, ...] = ()
    doc: str = ""

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        if value not in self.values or not isinstance(value, str):
            ctx.error(
                path,
                f"{self._where(path)}: got {type_name(value)}; expected one of "
                f"{', '.join(self.values)}{did_you_mean(str(value), self.values)}",
            )
            return _MISSING
        return value

    def json_schema(self) -> dict[str, Any]:
        return self._described({"enum": list(self.values)})


@dataclass
class Expression(Spec):
    """An expression of the safe language (text), or a plain number/boolean.

    Only the shape is checked here; names and types are checked when the
    scenario is compiled, against the declared symbols.
    """

    doc: str = ""
    allow_number: bool = True
    allow_bool: bool = True

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        if isinstance(value, bool):
            if self.allow_bool:
                return value
        elif isinstance(value, (int, float)):
            if self.allow_number:
                return value
        elif isinstance(value, str):
            return value
        ctx.error(
            path, f"{self._where(path)}: expected an expression (text); got {type_name(value)}"
        )
        return _MISSING

    def json_schema(self) -> dict[str, Any]:
        types = ["string"]
        if self.allow_number:
            types.append("number")
        if self.allow_bool:
            types.append("boolean")
        return self._described({"type": types})


@dataclass
class Any_(Spec):
    """Any scalar (used where the type depends on a sibling field)."""

    doc: str = ""

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        if isinstance(value, (dict, list)):
            ctx.error(path, f"{self._where(path)}: expected a single value; got {type_name(value)}")
            return _MISSING
        return value

    def json_schema(self) -> dict[str, Any]:
        return self._described({"type": ["string", "number", "boolean", "null"]})


@dataclass
class ListOf(Spec):
    """A list whose items all follow ``item``."""

    item: Spec = field(default_factory=Any_)
    doc: str = ""
    min_items: int = 0
    unique: bool = False

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            value = [value]  # a single item is a one-item list
        if not isinstance(value, list):
            ctx.error(path, f"{self._where(path)}: expected a list; got {type_name(value)}")
            return _MISSING
        if len(value) < self.min_items:
            ctx.error(path, f"{self._where(path)}: needs at least {self.min_items} item(s)")
        out = []
        seen: set[Any] = set()
        for i, v in enumerate(value):
            r = self.item.check(v, (*path, i), ctx)
            if r is _MISSING:
                continue
            if self.unique and r in seen:
                ctx.error((*path, i), f"{self._where(path)}: {r!r} is listed twice")
            seen.add(r) if isinstance(r, (str, int, float)) else None
            out.append(r)
        return out

    def json_schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": "array", "items": self.item.json_schema()}
        if self.min_items:
            s["minItems"] = self.min_items
        return self._described(s)


@dataclass
class MapOf(Spec):
    """A mapping from identifiers (ids) to values following ``value``.

    Order is kept: for the ladder and outcomes, order is meaning.
    """

    value: Spec = field(default_factory=Any_)
    doc: str = ""
    key: Spec = field(default_factory=Ident)
    min_items: int = 0

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        if not isinstance(value, dict):
            ctx.error(
                path, f"{self._where(path)}: expected a mapping of ids; got {type_name(value)}"
            )
            return _MISSING
        if len(value) < self.min_items:
            ctx.error(path, f"{self._where(path)}: needs at least {self.min_items} entr(y/ies)")
        out = {}
        for k, v in value.items():
            kk = self.key.check(k, (*path, k), _KeyCtx(ctx))
            r = self.value.check(v, (*path, k), ctx)
            if kk is not _MISSING and r is not _MISSING:
                out[k] = r
        return out

    def json_schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {
            "type": "object",
            "additionalProperties": self.value.json_schema(),
        }
        if isinstance(self.key, Str) and self.key.pattern:
            s["propertyNames"] = {"pattern": self.key.pattern}
        return self._described(s)


class _KeyCtx(Ctx):
    """Reports key errors at the key's own position."""

    def __init__(self, inner: Ctx):
        self.inner = inner

    def error(self, path: PathKey, message: str, key: bool = True) -> None:
        self.inner.error(path, message, key=True)

    def warn(self, path: PathKey, message: str) -> None:
        self.inner.warn(path, message)


@dataclass
class F:
    """A field of an :class:`Obj` (``required``/``default`` are keyword-only)."""

    spec: Spec
    _: KW_ONLY
    required: bool = False
    default: Any = None


@dataclass
class Obj(Spec):
    """A mapping with a fixed set of known keys; unknown keys are errors."""

    fields: dict[str, F] = field(default_factory=dict)
    doc: str = ""
    name: str = "this mapping"

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        if not isinstance(value, dict):
            ctx.error(path, f"{self._where(path)}: expected a mapping; got {type_name(value)}")
            return _MISSING
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k not in self.fields:
                ctx.error(
                    (*path, k),
                    f"unknown key {k!r} in {self.name}{did_you_mean(k, list(self.fields))} "
                    f"(allowed: {', '.join(self.fields)})",
                    key=True,
                )
                continue
            r = self.fields[k].spec.check(v, (*path, k), ctx)
            if r is not _MISSING:
                out[k] = r
        for k, f in self.fields.items():
            if k in value:
                continue
            if f.required:
                ctx.error(path, f"{self._where(path)}: missing required key {k!r} in {self.name}")
            else:
                out[k] = f.default
        return out

    def json_schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {
            "type": "object",
            "properties": {k: f.spec.json_schema() for k, f in self.fields.items()},
            "additionalProperties": False,
        }
        req = [k for k, f in self.fields.items() if f.required]
        if req:
            s["required"] = req
        return self._described(s)


MISSING = _MISSING
