"""The resolutions file: what actually happened, for named flags and outcomes of a scenario.

A scenario forecasts; a resolutions file says, after the fact, how its
questions resolved. It is kept apart from the scenario on purpose: the
scenario's rules and priors must come from what was known at its start, and
nothing in the scenario format can read a resolutions file (see
docs/calibration.md). Each entry names one question and cites a source::

    scenario: allied_resolve_2022
    about: Where these resolutions come from (e.g. sources after the articles).
    resolutions:
      - flag: offensive_from_belarus       # a flag of the scenario
        happened: true                     # raised by the horizon, or not
        resolved: 2022-02-24               # the day the answer became known
        source: {outlet: ..., date: 2022-02-24, description: ...}
      - outcome: staging_area_war          # the outcome that happened; every other did not
        resolved: 2022-03-27
        source: {outlet: ..., date: ..., description: ...}

The file is read with the project's safe YAML loader and checked whole;
every problem is reported as ``file:line:col`` (a
:class:`~sim.errors.ValidationError`). Whether the named flags and outcomes
exist is checked against the forecast being scored
(:func:`sim.scoring.score.score`), with the same positions.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import Location, ValidationError
from sim.spec import MISSING, Bool, Ctx, Date, F, Ident, ListOf, Obj, Spec, Str
from sim.yamlio import Expect, PathKey, parse_text, read_text

FILE_KIND = Expect("a resolutions file", ("resolutions",))

SOURCE = Obj(
    name="a source",
    fields={
        "outlet": F(Str(max_len=200), required=True),
        "date": F(Date(), required=True),
        "description": F(Str(max_len=1000, multiline=True), required=True),
        "url": F(Str(max_len=500), default=""),
    },
)
FIELDS = Obj(
    name="a resolution",
    fields={
        "flag": F(Ident("A flag of the scenario.")),
        "outcome": F(Ident("The outcome that happened; every other outcome did not.")),
        "happened": F(Bool("For a flag: whether it was raised by the horizon.")),
        "resolved": F(Date("The day the answer became known."), required=True),
        "source": F(SOURCE, required=True),
        "note": F(Str(max_len=1000, multiline=True), default=""),
    },
)


class _Entry(Spec):
    """One resolution: its fields, then the rules between them (one flag or one outcome)."""

    def check(self, value: Any, path: PathKey, ctx: Ctx) -> Any:
        """The checked fields with ``kind``, ``id`` and ``path`` added, or MISSING."""
        checked = FIELDS.check(value, path, ctx)
        if checked is MISSING:
            return MISSING
        named = [k for k in ("flag", "outcome") if k in value]
        if len(named) != 1:
            ctx.error(path, "a resolution names exactly one 'flag' or one 'outcome'")
            return MISSING
        kind = named[0]
        if kind == "flag" and "happened" not in value:
            ctx.error(path, f"flag {value['flag']!r}: missing 'happened' (true or false)")
            return MISSING
        if kind == "outcome" and "happened" in value:
            ctx.error(
                (*path, "happened"),
                "an outcome entry names the outcome that happened (every other did not); "
                "leave out 'happened'",
                key=True,
            )
            return MISSING
        return checked | {"kind": kind, "id": checked.get(kind), "path": path}

    def json_schema(self) -> dict[str, Any]:
        """The fields' schema (the rules between them are not expressed)."""
        return FIELDS.json_schema()


FILE = Obj(
    name="the resolutions file",
    fields={
        "scenario": F(Ident("The scenario's name (scenario.name)."), required=True),
        "about": F(Str(max_len=2000, multiline=True), required=True),
        "resolutions": F(ListOf(_Entry(), min_items=1), required=True),
    },
)


@dataclass(frozen=True)
class Source:
    """Where a resolution comes from: the outlet, the date and what it reported."""

    outlet: str
    date: _dt.date
    description: str
    url: str = ""


@dataclass(frozen=True)
class Resolution:
    """One resolved question: a flag (``happened``) or the outcome (``id`` is what happened)."""

    kind: str
    """``"flag"`` or ``"outcome"``."""
    id: str
    happened: bool | None
    """For a flag, whether it was raised; ``None`` for the outcome entry."""
    resolved: _dt.date
    source: Source
    note: str
    where: Location
    """Where the entry names its flag or outcome (for messages)."""


@dataclass(frozen=True)
class Resolutions:
    """A checked resolutions file."""

    path: Path
    scenario: str
    about: str
    entries: tuple[Resolution, ...]
    sha256: str
    """Of the file's text (UTF-8): the score's manifest records which resolutions it used."""
    scenario_where: Location


def load_resolutions(path: str | Path) -> Resolutions:
    """Read and check a resolutions file.

    Raises:
        ValidationError: with every problem found, each at its ``file:line:col``.
    """
    path = Path(path)
    text = read_text(path)
    doc = parse_text(text, str(path), expect=FILE_KIND)
    ctx = Ctx(doc)
    checked = FILE.check(doc.data, (), ctx)
    entries: list[Resolution] = []
    seen: dict[tuple[str, str], int] = {}
    for e in checked.get("resolutions") or [] if isinstance(checked, dict) else []:
        key = (e["kind"], "" if e["kind"] == "outcome" else e["id"])
        first = seen.setdefault(key, e["path"][-1])
        if first != e["path"][-1]:
            what = "the outcome" if e["kind"] == "outcome" else f"flag {e['id']!r}"
            ctx.error(
                (*e["path"], e["kind"]), f"{what} is resolved twice (first in entry {first + 1})"
            )
            continue
        s = e.get("source") or {}
        if (
            e["id"] is None
            or "resolved" not in e
            or not all(k in s for k in ("outlet", "date", "description"))
        ):
            continue  # reported by the field checks
        entries.append(
            Resolution(
                e["kind"],
                e["id"],
                e.get("happened"),
                e["resolved"],
                Source(s["outlet"], s["date"], s["description"], s["url"]),
                e["note"],
                doc.where((*e["path"], e["kind"])),
            )
        )
    if ctx.diags:
        raise ValidationError(ctx.diags)
    return Resolutions(
        path,
        checked["scenario"],
        checked["about"],
        tuple(entries),
        hashlib.sha256(text.encode("utf-8")).hexdigest(),
        doc.where(("scenario",)),
    )
