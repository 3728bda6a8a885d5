"""The claims registry: our structured, cited extracts of the source articles.

``seeds/sources.yaml`` lists the articles; ``seeds/claims.yaml`` lists every
condition, figure, date or assessment a scenario may cite, paraphrased. The
registry is validated like a scenario (same loader, same messages), so a
scenario can be trusted to cite only claims that exist.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import Diagnostic, ValidationError
from sim.spec import Bool, Choice, Ctx, Date, F, ListOf, Num, Obj, Str, did_you_mean
from sim.yamlio import load_file

CLAIM_KINDS = (
    "condition",
    "commitment",
    "threat",
    "motive",
    "assessment",
    "estimate",
    "figure",
    "date",
    "event",
)
CLAIM_ACTORS = ("lukashenka", "kremlin", "nato", "ukraine", "other")
CLAIM_ID = Str(max_len=40, pattern=r"^[a-z0-9][a-z0-9-]*$", pattern_help="a kebab-case claim id")

VALUE = Obj(
    name="a claim value",
    doc="Structured value: a quantity, a range, a date or a date span.",
    fields={
        "quantity": F(Num()),
        "low": F(Num()),
        "high": F(Num()),
        "unit": F(Str(max_len=60)),
        "approx": F(Bool()),
        "date": F(Date()),
        "start": F(Date()),
        "end": F(Date()),
    },
)
VALUE_SHAPES = ({"quantity"}, {"low", "high"}, {"date"}, {"start", "end"})

CLAIM = Obj(
    name="a claim",
    fields={
        "id": F(CLAIM_ID, required=True),
        "sources": F(ListOf(Str(max_len=64), min_items=1, unique=True), required=True),
        "actors": F(ListOf(Choice(CLAIM_ACTORS), min_items=1, unique=True), required=True),
        "kind": F(Choice(CLAIM_KINDS), required=True),
        "stated_by": F(Str(max_len=200), required=True),
        "summary": F(Str(max_len=600), required=True),
        "value": F(VALUE),
        "contradicts": F(ListOf(CLAIM_ID, unique=True), default=[]),
        "note": F(Str(max_len=600), default=""),
    },
)
CLAIMS_FILE = Obj(name="the claims file", fields={"claims": F(ListOf(CLAIM), required=True)})

SOURCE = Obj(
    name="a source",
    fields={
        "id": F(Str(max_len=64, pattern=r"^[a-z0-9][a-z0-9-]*$"), required=True),
        "outlet": F(Str(max_len=200), required=True),
        "title": F(Str(max_len=300), required=True),
        "date": F(Date(), required=True),
        "date_note": F(Str(max_len=300), default=""),
        "author": F(Str(max_len=200), default=""),
        "url": F(Str(max_len=500), default=""),
        "covers": F(Str(max_len=600), default=""),
    },
)
SOURCES_FILE = Obj(name="the sources file", fields={"sources": F(ListOf(SOURCE), required=True)})


@dataclass(frozen=True)
class Source:
    """One source article."""

    id: str
    outlet: str
    title: str
    date: _dt.date
    author: str = ""
    url: str = ""
    covers: str = ""


@dataclass(frozen=True)
class Claim:
    """One claim: a paraphrase with who said it, where, and any figure."""

    id: str
    sources: tuple[str, ...]
    actors: tuple[str, ...]
    kind: str
    stated_by: str
    summary: str
    value: dict[str, Any] | None = None
    contradicts: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Registry:
    """Sources and claims, looked up by id."""

    sources: dict[str, Source] = field(default_factory=dict)
    claims: dict[str, Claim] = field(default_factory=dict)
    folder: str = ""

    def claim(self, claim_id: str) -> Claim:
        return self.claims[claim_id]


def find_seeds(start: Path) -> Path | None:
    """The nearest ``seeds/`` folder with a claims file, from ``start`` upwards."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / "seeds" / "claims.yaml").is_file():
            return folder / "seeds"
    return None


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_registry(folder: Path | str) -> Registry:
    """Load and validate ``sources.yaml`` and ``claims.yaml`` in ``folder``.

    Raises:
        ValidationError: with every problem found in either file.
    """
    folder = Path(folder)
    diags: list[Diagnostic] = []
    sources: dict[str, Source] = {}
    claims: dict[str, Claim] = {}

    try:
        sdoc = load_file(folder / "sources.yaml", display=_display(folder / "sources.yaml"))
        ctx = Ctx(sdoc)
        checked = SOURCES_FILE.check(sdoc.data, (), ctx)
        for i, s in enumerate(checked.get("sources", []) if isinstance(checked, dict) else []):
            if not all(k in s for k in ("id", "outlet", "title", "date")):
                continue  # its own errors are already reported
            if s["id"] in sources:
                ctx.error(("sources", i, "id"), f"duplicate source id {s['id']!r}")
            sources[s["id"]] = Source(
                s["id"], s["outlet"], s["title"], s["date"], s["author"], s["url"], s["covers"]
            )
        diags += ctx.diags
    except ValidationError as exc:
        diags += exc.diagnostics

    try:
        cdoc = load_file(folder / "claims.yaml", display=_display(folder / "claims.yaml"))
        ctx = Ctx(cdoc)
        checked = CLAIMS_FILE.check(cdoc.data, (), ctx)
        items = checked.get("claims", []) if isinstance(checked, dict) else []
        for i, c in enumerate(items):
            path = ("claims", i)
            if not all(k in c for k in ("id", "sources", "actors", "kind", "stated_by", "summary")):
                continue  # its own errors are already reported
            if c["id"] in claims:
                ctx.error((*path, "id"), f"duplicate claim id {c['id']!r}")
            for j, sid in enumerate(c["sources"]):
                if sources and sid not in sources:
                    ctx.error(
                        (*path, "sources", j),
                        f"unknown source {sid!r}{did_you_mean(sid, list(sources))}",
                    )
            value = c.get("value")
            if value is not None:
                given = {
                    k for k, v in value.items() if v is not None and k not in ("unit", "approx")
                }
                if given not in VALUE_SHAPES:
                    ctx.error(
                        (*path, "value"),
                        "value: give exactly one of quantity; low+high; date; start+end "
                        f"(got {', '.join(sorted(given)) or 'nothing'})",
                    )
                elif given == {"low", "high"} and value["low"] > value["high"]:
                    ctx.error((*path, "value"), "value: low is greater than high")
                elif given == {"start", "end"} and value["start"] > value["end"]:
                    ctx.error((*path, "value"), "value: start is after end")
                value = {k: v for k, v in value.items() if v is not None}
            claims[c["id"]] = Claim(
                c["id"],
                tuple(c["sources"]),
                tuple(c["actors"]),
                c["kind"],
                c["stated_by"],
                c["summary"],
                value,
                tuple(c["contradicts"]),
                c["note"],
            )
        for i, c in enumerate(items):
            for j, other in enumerate(c.get("contradicts", [])):
                if other not in claims:
                    ctx.error(
                        ("claims", i, "contradicts", j),
                        f"unknown claim {other!r}{did_you_mean(other, list(claims))}",
                    )
        diags += ctx.diags
    except ValidationError as exc:
        diags += exc.diagnostics

    if [d for d in diags if d.severity == "error"]:
        raise ValidationError(diags)
    return Registry(sources, claims, str(folder))
