"""The claims registry: our structured, cited extracts of the source articles.

``seeds/sources.yaml`` lists the articles; ``seeds/claims.yaml`` lists every
condition, figure, date or assessment a scenario may cite, paraphrased. The
registry is validated like a scenario (same loader, same messages), so a
scenario can be trusted to cite only claims that exist.

Which registry applies to a scenario is decided by one rule
(:func:`find_claims`), the same for every command, ``report`` included:

1. the claims file given explicitly (``--claims FILE``), with the
   ``sources.yaml`` beside it;
2. otherwise the nearest ``seeds/claims.yaml`` found in the scenario file's
   folder or any folder above it;
3. otherwise the nearest one found from the working folder upwards (for
   ``report``: from the results folder upwards, then from the working folder).

Citations are always checked: a scenario whose registry cannot be found is
refused unless checking is switched off on purpose (``--no-claims``, or
:func:`claims_policy` with ``check=False``).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import Diagnostic, Location, ValidationError
from sim.spec import Bool, Choice, Ctx, Date, F, ListOf, Num, Obj, Str, did_you_mean
from sim.yamlio import Expect, load_file

SEEDS = "seeds"
CLAIMS_NAME = "claims.yaml"
SOURCES_NAME = "sources.yaml"
CLAIMS_FILE_KIND = Expect("a claims file", ("claims",))
SOURCES_FILE_KIND = Expect("a sources file", ("sources",))

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
        "summary": F(Str(max_len=600, multiline=True), required=True),
        "value": F(VALUE),
        "contradicts": F(ListOf(CLAIM_ID, unique=True), default=[]),
        "note": F(Str(max_len=600, multiline=True), default=""),
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
        "date_note": F(Str(max_len=300, multiline=True), default=""),
        "author": F(Str(max_len=200), default=""),
        "url": F(Str(max_len=500), default=""),
        "covers": F(Str(max_len=600, multiline=True), default=""),
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
        """The claim with id ``claim_id`` (KeyError if the registry has none)."""
        return self.claims[claim_id]


def find_seeds(start: Path) -> Path | None:
    """The nearest ``seeds/`` folder with a claims file, from ``start`` upwards."""
    here = _absolute(start)
    for folder in (here, *here.parents):
        if (folder / SEEDS / CLAIMS_NAME).is_file():
            return folder / SEEDS
    return None


def find_claims(
    scenario: Path | str | None, also: Sequence[Path | str] | None = None
) -> Path | None:
    """The claims file that applies to ``scenario``, by the rule in the module docstring.

    Args:
        scenario: the scenario file (``None``: only ``also`` is searched).
        also: where to search, in order, when nothing is found from the
            scenario's folder upwards; the working folder by default.

    Returns:
        The ``claims.yaml`` found, or ``None``.
    """
    starts = [Path(scenario).parent] if scenario is not None else []
    starts += [Path(p) for p in (also if also is not None else [Path.cwd()])]
    for start in starts:
        seeds = find_seeds(start)
        if seeds is not None:
            return seeds / CLAIMS_NAME
    return None


def _absolute(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return path.absolute()


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):
        return str(path)


@dataclass(frozen=True)
class ClaimsPolicy:
    """How citations are checked while it is in force (see :func:`claims_policy`).

    Attributes:
        file: an explicit claims file (``--claims``); ``None`` follows the rule.
        check: ``False`` skips citation checks (``--no-claims``).
    """

    file: Path | None = None
    check: bool = True


_RULE = ClaimsPolicy()
_POLICY: ContextVar[ClaimsPolicy] = ContextVar("wargame_claims_policy", default=_RULE)


@contextmanager
def claims_policy(file: Path | str | None = None, *, check: bool = True) -> Iterator[ClaimsPolicy]:
    """Check citations against ``file``, or not at all, inside the ``with`` block.

    This is what ``--claims FILE`` and ``--no-claims`` do for one command:
    every scenario loaded with ``registry="auto"`` in the block (by
    :func:`sim.scenario.load_scenario`, and so by batches, sweeps and
    comparisons) follows it. Outside any block the rule applies and a
    scenario whose registry cannot be found is refused.
    """
    policy = ClaimsPolicy(Path(file) if file is not None else None, check)
    token = _POLICY.set(policy)
    try:
        yield policy
    finally:
        _POLICY.reset(token)


def current_policy() -> ClaimsPolicy:
    """The :class:`ClaimsPolicy` in force."""
    return _POLICY.get()


def registry_for_scenario(path: Path | str) -> Registry | None:
    """The registry to check ``path``'s citations against under the current policy.

    Returns ``None`` when checking is switched off.

    Raises:
        ValidationError: no registry can be found (and checking is on), or
            the registry itself is invalid.
    """
    policy = current_policy()
    if not policy.check:
        return None
    claims = policy.file or find_claims(path)
    if claims is None:
        raise ValidationError([Diagnostic(Location(_display(Path(path))), _not_found(path))])
    return load_registry(claims)


def _not_found(path: Path | str) -> str:
    folder = _absolute(Path(path)).parent
    return (
        f"citations cannot be checked: no {SEEDS}/{CLAIMS_NAME} in {folder} or any folder "
        f"above it, nor in the working folder {Path.cwd()} or above it; give --claims FILE, "
        "or --no-claims to go on without checking them"
    )


def registry_files(where: Path | str) -> tuple[Path, Path]:
    """The claims file and the sources file of a registry given as for :func:`load_registry`."""
    where = Path(where)
    if where.is_dir():
        return where / CLAIMS_NAME, where / SOURCES_NAME
    return where, where.parent / SOURCES_NAME


def load_registry(where: Path | str) -> Registry:
    """Load and validate a claims registry: ``sources.yaml`` and ``claims.yaml``.

    Args:
        where: a folder holding both files (``seeds/``), or a claims file,
            whose ``sources.yaml`` is the one beside it.

    Raises:
        ValidationError: with every problem found in either file.
    """
    claims_path, sources_path = registry_files(where)
    diags: list[Diagnostic] = []
    sources: dict[str, Source] = {}
    claims: dict[str, Claim] = {}

    try:
        sdoc = load_file(sources_path, display=_display(sources_path), expect=SOURCES_FILE_KIND)
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
        cdoc = load_file(claims_path, display=_display(claims_path), expect=CLAIMS_FILE_KIND)
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
    return Registry(sources, claims, str(sources_path.parent))
