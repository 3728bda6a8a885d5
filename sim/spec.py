"""A small declarative schema: one definition drives validation *and* JSON Schema.

Scenario and registry files are described with these node types (``Obj``,
``MapOf``, ``ListOf``, ``Str``, ``Num`` ...). :meth:`Spec.check` walks a
:class:`~sim.yamlio.Located` document, collects every structural problem with
its ``file:line:col`` and returns the value with defaults filled in;
:meth:`Spec.json_schema` emits the equivalent JSON Schema for editors. Keeping
both in one place means the editor schema can never drift from the validator.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import difflib
import math
import re
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from sim.errors import Diagnostic
from sim.expr.limits import MAX_CONSTANT
from sim.yamlio import Located, PathKey, char_name

_MISSING = object()
IDENT_PATTERN = r"^[a-z][a-z0-9_]*$"
"""Identifier pattern (as written in the JSON Schema); always matched with ``fullmatch``."""
IDENT_RE = re.compile(r"[a-z][a-z0-9_]*\Z")

MAX_MAGNITUDE = MAX_CONSTANT
"""Largest absolute value of a number in a scenario or registry file (as for
expression constants): far below the 9.2e18 at which 64-bit integers wrap, and
within the 2**53 up to which floats count whole numbers exactly."""

# Control characters (C0 but tab and line feed, DEL, C1), bidirectional
# controls (Trojan-source reordering) and Unicode line/paragraph separators.
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)


def control_problem(text: str, multiline: bool = True) -> str | None:
    """What is wrong with ``text`` as displayable text, or ``None``.

    Args:
        text: the text.
        multiline: whether a line feed is allowed (descriptions, expressions).
    """
    m = _CONTROL.search(text)
    if m:
        return (
            f"contains the control character {char_name(m.group())}, which is not allowed "
            "(it could rewrite the terminal, a table or the report); remove it"
        )
    if not multiline and "\n" in text:
        return "must be one line of text; got a line break"
    return None


def _shown(part: str | int) -> str:
    text = str(part)
    return text if text.isprintable() else repr(text)


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
        """Records an error at ``path``'s value (or at its key, when ``key``)."""
        self.diags.append(Diagnostic(self.doc.where(path, key), message))

    def warn(self, path: PathKey, message: str) -> None:
        """Records a warning at ``path``; warnings never make a file invalid."""
        self.diags.append(Diagnostic(self.doc.where(path), message, "warning"))


class Spec:
    """Base of all schema nodes."""

    doc: str = ""

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        """Checks ``value`` found at ``path``, recording every problem in ``ctx``.

        Returns the value with defaults filled in, or :data:`MISSING` when it is unusable
        (the problem is recorded, so callers just leave it out).
        """
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema fragment that accepts what :meth:`check` accepts (for editors)."""
        raise NotImplementedError

    def _described(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.doc:
            schema["description"] = self.doc
        return schema

    @staticmethod
    def _where(path: PathKey) -> str:
        # A key that is not displayable text is shown quoted (escaped), never raw.
        return ".".join(_shown(p) for p in path) or "the file"


@dataclass
class Str(Spec):
    """Text; optionally matching a pattern (e.g. an identifier)."""

    doc: str = ""
    pattern: str | None = None
    pattern_help: str = ""
    max_len: int = 10_000
    multiline: bool = False

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        """Text within ``max_len``, matching ``pattern`` if set, without control characters."""
        if not isinstance(value, str):
            ctx.error(path, f"{self._where(path)}: expected text; got {type_name(value)}")
            return _MISSING
        if len(value) > self.max_len:
            ctx.error(path, f"{self._where(path)}: text longer than {self.max_len} characters")
            return _MISSING
        if self.pattern and not re.fullmatch(self.pattern, value):
            ctx.error(
                path, f"{self._where(path)}: {value!r} is not {self.pattern_help or self.pattern}"
            )
            return _MISSING
        problem = control_problem(value, self.multiline)
        if problem:
            ctx.error(path, f"{self._where(path)}: {problem}")
            return _MISSING
        return value

    def json_schema(self) -> dict[str, Any]:
        """A string schema with the same length limit and pattern."""
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
    limit: float | None = MAX_MAGNITUDE  # None: only minimum/maximum bound it (seeds)

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        """A finite int (or float unless ``integer``) within the bounds and ``limit``.

        Booleans are refused although Python counts them as integers. Where
        ``integer``, a float with no fraction (``30.0``, as samplers and
        ``--set`` write it) is that whole number, returned as an ``int``.
        """
        if self.integer and isinstance(value, float) and math.isfinite(value):
            if not value.is_integer():
                ctx.error(
                    path,
                    f"{self._where(path)}: expected a whole number; got {value}, "
                    "which has a fractional part",
                )
                return _MISSING
            value = int(value)
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
        if self.limit is not None and abs(value) > self.limit:
            ctx.error(path, f"{self._where(path)}: {magnitude_problem(value, self.limit)}")
            return _MISSING
        lo_bad = self.minimum is not None and (
            value <= self.minimum if self.exclusive_min else value < self.minimum
        )
        if lo_bad or (self.maximum is not None and value > self.maximum):
            ctx.error(path, f"{self._where(path)}: {value} is outside {self.range_text()}")
            return _MISSING
        return value

    def range_text(self) -> str:
        """The bounds as a message writes them, e.g. ``the allowed range (0, 1]``."""
        lo = "(" if self.exclusive_min else "["
        a = "-inf" if self.minimum is None else f"{self.minimum:g}"
        b = "inf" if self.maximum is None else f"{self.maximum:g}"
        return f"the allowed range {lo}{a}, {b}]"

    def json_schema(self) -> dict[str, Any]:
        """A number or integer schema with the same minimum and maximum (and ``limit``)."""
        s: dict[str, Any] = {"type": "integer" if self.integer else "number"}
        safe = safe_range(self.limit) if self.limit is not None else {}
        lo, hi = safe.get("minimum"), safe.get("maximum")
        if self.minimum is not None and (lo is None or self.minimum >= lo):
            s["exclusiveMinimum" if self.exclusive_min else "minimum"] = self.minimum
        elif lo is not None:
            s["minimum"] = lo
        if self.maximum is not None or hi is not None:
            s["maximum"] = min(x for x in (self.maximum, hi) if x is not None)
        return self._described(s)


def safe_range(limit: float = MAX_MAGNITUDE) -> dict[str, Any]:
    """``[-limit, limit]`` as JSON Schema keywords (which apply to numbers only)."""
    bound = int(limit) if float(limit).is_integer() else limit
    return {"minimum": -bound, "maximum": bound}


def magnitude_problem(value: float, limit: float = MAX_MAGNITUDE) -> str:
    """The message for a number outside ``[-limit, limit]``."""
    return (
        f"{value:g} is outside the safe range [-{limit:g}, {limit:g}] of numbers "
        "(larger values would lose precision or wrap around)"
    )


@dataclass
class Bool(Spec):
    """``true`` or ``false``."""

    doc: str = ""

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        """A YAML boolean only: 0 and 1, or the text ``"true"``, are refused."""
        if not isinstance(value, bool):
            ctx.error(path, f"{self._where(path)}: expected true or false; got {type_name(value)}")
            return _MISSING
        return value

    def json_schema(self) -> dict[str, Any]:
        """A boolean schema."""
        return self._described({"type": "boolean"})


@dataclass
class Date(Spec):
    """A calendar date written ``YYYY-MM-DD``, optionally within ``[earliest, latest]``."""

    doc: str = ""
    earliest: _dt.date | None = None
    latest: _dt.date | None = None

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        """A date (YAML dates arrive as dates, quoted ones as text), as a ``datetime.date``."""
        day: _dt.date | None = None
        if isinstance(value, _dt.datetime):
            day = value.date()
        elif isinstance(value, _dt.date):
            day = value
        elif isinstance(value, str):
            with contextlib.suppress(ValueError):
                day = _dt.date.fromisoformat(value)
        if day is None:
            ctx.error(
                path, f"{self._where(path)}: expected a date YYYY-MM-DD; got {type_name(value)}"
            )
            return _MISSING
        if (self.earliest and day < self.earliest) or (self.latest and day > self.latest):
            ctx.error(
                path,
                f"{self._where(path)}: {day.isoformat()} is outside the supported dates "
                f"{self.earliest or _dt.date.min} to {self.latest or _dt.date.max}",
            )
            return _MISSING
        return day

    def json_schema(self) -> dict[str, Any]:
        """A string schema with ``format: date``."""
        return self._described({"type": "string", "format": "date"})


@dataclass
class Choice(Spec):
    """One of a fixed set of words."""

    values: tuple[str, ...] = ()
    doc: str = ""

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        """One of ``values``, with the closest one suggested otherwise."""
        if value not in self.values or not isinstance(value, str):
            ctx.error(
                path,
                f"{self._where(path)}: got {type_name(value)}; expected one of "
                f"{', '.join(self.values)}{did_you_mean(str(value), self.values)}",
            )
            return _MISSING
        return value

    def json_schema(self) -> dict[str, Any]:
        """An ``enum`` schema of the words."""
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
        """Text without control characters, or a plain number or boolean where allowed."""
        if isinstance(value, bool):
            if self.allow_bool:
                return value
        elif isinstance(value, (int, float)):
            if self.allow_number:
                return value
        elif isinstance(value, str):
            problem = control_problem(value)
            if problem:
                ctx.error(path, f"{self._where(path)}: {problem}")
                return _MISSING
            return value
        ctx.error(
            path, f"{self._where(path)}: expected an expression (text); got {type_name(value)}"
        )
        return _MISSING

    def json_schema(self) -> dict[str, Any]:
        """A schema of the accepted YAML types (the language itself is not described)."""
        types = ["string"]
        if self.allow_number:
            types.append("number")
        if self.allow_bool:
            types.append("boolean")
        s: dict[str, Any] = {"type": types}
        if self.allow_number:
            s |= safe_range()  # as for constants in the expression text
        return self._described(s)


@dataclass
class Any_(Spec):
    """Any scalar (used where the type depends on a sibling field)."""

    doc: str = ""

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        """Any scalar that is displayable and, if a number, finite and within MAX_MAGNITUDE."""
        if isinstance(value, (dict, list)):
            ctx.error(path, f"{self._where(path)}: expected a single value; got {type_name(value)}")
            return _MISSING
        problem = control_problem(value, multiline=False) if isinstance(value, str) else None
        if problem:
            ctx.error(path, f"{self._where(path)}: {problem}")
            return _MISSING
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number and not math.isfinite(value):
            ctx.error(path, f"{self._where(path)}: expected a finite number; got {value}")
            return _MISSING
        if number and abs(value) > MAX_MAGNITUDE:
            ctx.error(path, f"{self._where(path)}: {magnitude_problem(value)}")
            return _MISSING
        return value

    def json_schema(self) -> dict[str, Any]:
        """A schema of any scalar (a number within the safe range)."""
        return self._described({"type": ["string", "number", "boolean", "null"], **safe_range()})


@dataclass
class ListOf(Spec):
    """A list whose items all follow ``item``."""

    item: Spec = field(default_factory=Any_)
    doc: str = ""
    min_items: int = 0
    unique: bool = False

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        """Each item checked by ``item`` (bad ones left out); a lone scalar counts as a
        one-item list.
        """
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
        """An array schema of ``item``'s schema."""
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
        """Each key checked by ``key`` (errors placed at the key) and each value by ``value``;
        entries with a bad key or value are left out, the order is kept.
        """
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
        """An object schema with the value schema for every property and the key pattern."""
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
        """Records the error at the key of ``path``, whatever ``key`` says."""
        self.inner.error(path, message, key=True)

    def warn(self, path: PathKey, message: str) -> None:
        """Records a warning as the wrapped context does."""
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
        """The known keys checked by their fields, unknown keys refused with the closest
        known one suggested, missing optional keys filled with their defaults.
        """
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
        """An object schema of the fields that forbids other keys."""
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
