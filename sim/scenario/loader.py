"""Reading scenario files: ``extends`` chains, ``--set`` overrides, then checks.

A counterfactual is a small file that ``extends`` a base and overrides some
keys. Mappings merge key by key (so one rule can be replaced without copying
the actor), anything else is replaced, and ``null`` deletes a key. Positions
survive the merge: an error in an overridden value points into the child
file, an error in an inherited one into the base.

``extends`` names a regular file in the folder tree of the file that names it:
a path relative to that file's folder, which, once every symlink is followed,
is inside that folder or below it. Absolute paths, ``..`` steps out of the
folder and symlinks that lead out of it are refused before anything is read,
so a scenario cannot make the tool open (and quote) a file elsewhere.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.errors import Diagnostic, Location, ValidationError
from sim.scenario.format import OBSERVATIONS_FILE
from sim.spec import Ctx, did_you_mean
from sim.yamlio import Expect, Located, PathKey, load_file

MAX_EXTENDS_DEPTH = 8

SCENARIO_FILE = Expect(
    "a scenario file",
    (
        "scenario",
        "extends",
        "actors",
        "state",
        "parameters",
        "ladder",
        "intel",
        "events",
        "flags",
        "outcomes",
        "reporting",
    ),
)
"""A scenario file has at least one of the top-level keys of the format."""
OBSERVATIONS = Expect("an observations file", ("scenario", "observations"))
"""An observations file has a ``scenario`` (the name it is about) and ``observations``."""
_EXPONENT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


def _display(path: Path) -> str:
    """A path as the user would write it: relative to the working folder if inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):  # outside, or a symlink loop
        return str(path)


def _resolved(path: Path) -> Path:
    """``path`` with symlinks followed as far as they go (a loop stops it, no error)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def extends_target(path: Path, parent: str, where: Location) -> Path:
    """The file that ``extends: parent`` in ``path`` names, checked against the roots rule.

    Raises:
        ValidationError: an absolute path, a path out of the folder of
            ``path`` (by ``..`` or through a symlink), a symlink loop, or no
            regular file there.
    """

    def refuse(message: str) -> ValidationError:
        return ValidationError([Diagnostic(where, f"extends: {parent!r} {message}")])

    rule = "a base scenario must be a file in this file's folder or below it"
    if not parent.strip():
        raise refuse("is empty; expected a file name such as base.yaml")
    if not parent.isprintable():  # control or bidi characters would reach messages raw
        raise refuse("contains a control character; expected a file name such as base.yaml")
    given = Path(parent)
    if given.is_absolute() or given.drive or parent.startswith("~"):
        raise refuse(f"is an absolute path; {rule}, named relative to it")
    if os.path.normpath(parent).split(os.sep)[0] == os.pardir:
        raise refuse(f"leaves this file's folder; {rule}")
    folder = _resolved(path.parent)
    candidate = path.parent / given
    try:
        target = candidate.resolve(strict=True)
    except FileNotFoundError:
        raise ValidationError(
            [Diagnostic(where, f"extends: base scenario {parent!r} not found next to this file")]
        ) from None
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        raise refuse("cannot be followed: a symlink loop") from None
    if not target.is_relative_to(folder):
        raise refuse(f"leads out of this file's folder through a symlink; {rule}")
    if not target.is_file():
        kind = "a folder" if target.is_dir() else "not a regular file"
        raise refuse(f"is {kind}; expected a scenario file")
    return target


def merge(base: Located, child: Located) -> Located:
    """Deep-merge ``child`` over ``base``, keeping each value's position."""
    data = copy.deepcopy(base.data)
    marks = dict(base.marks)
    key_marks = dict(base.key_marks)

    def drop(prefix: PathKey) -> None:
        n = len(prefix)
        for table in (marks, key_marks):
            for p in [p for p in table if p[:n] == prefix and len(p) > n]:
                del table[p]

    def walk(dst: dict[str, Any], src: dict[str, Any], path: PathKey) -> None:
        for k, v in src.items():
            p = (*path, k)
            if v is None:
                dst.pop(k, None)
                drop(p)
                marks.pop(p, None)
                key_marks.pop(p, None)
                continue
            if isinstance(v, dict) and isinstance(dst.get(k), dict):
                for table, src_table in ((marks, child.marks), (key_marks, child.key_marks)):
                    if p in src_table:
                        table[p] = src_table[p]
                walk(dst[k], v, p)
                continue
            dst[k] = copy.deepcopy(v)
            drop(p)
            n = len(p)
            for table, src_table in ((marks, child.marks), (key_marks, child.key_marks)):
                for q, loc in src_table.items():
                    if q[:n] == p:
                        table[q] = loc

    if not isinstance(data, dict) or not isinstance(child.data, dict):
        return child
    walk(data, child.data, ())
    data.pop("extends", None)
    if () in child.marks:
        marks[()] = child.marks[()]
    return Located(data, marks, key_marks, child.file)


def load_chain(path: Path, seen: tuple[Path, ...] = ()) -> Located:
    """Load ``path`` and everything it ``extends``, merged, base first."""
    name = _display(path)
    doc = load_file(path, display=name, expect=SCENARIO_FILE)
    if not isinstance(doc.data, dict):
        raise ValidationError(
            [Diagnostic(doc.where(()), "a scenario file must be a YAML mapping of keys")]
        )
    parent = doc.data.get("extends")
    if parent is None:
        return doc
    where = doc.where(("extends",))
    if not isinstance(parent, str):
        raise ValidationError([Diagnostic(where, "extends: expected a file path (text)")])
    chain = (*seen, _resolved(path))
    if len(chain) > MAX_EXTENDS_DEPTH:
        raise ValidationError(
            [Diagnostic(where, f"extends chain deeper than {MAX_EXTENDS_DEPTH} files")]
        )
    target = extends_target(path, parent, where)
    if target in chain:
        cycle = " -> ".join(_display(p) for p in (*chain, target))
        raise ValidationError([Diagnostic(where, f"extends forms a cycle: {cycle}")])
    base = load_chain(target, chain)
    return merge(base, doc)


def parse_override(text: str, index: int) -> tuple[tuple[str, ...], Any]:
    """Split ``path.to.key=value``; the value is read as a YAML scalar or list.

    Path parts stay text here: whether ``1`` is a list index or a mapping key
    depends on the document, so :func:`apply_overrides` decides.
    """
    loc = Location("--set", index + 1, 1)
    if "=" not in text:
        raise ValidationError(
            [Diagnostic(loc, f"--set {text!r}: expected path.to.key=VALUE, e.g. scenario.seed=3")]
        )
    key, _, raw = text.partition("=")
    parts = tuple(p.strip() for p in key.strip().split("."))
    if not key.strip() or any(not p for p in parts):
        raise ValidationError([Diagnostic(loc, f"--set {text!r}: the path has an empty part")])
    import yaml  # start-up time: only for --set (files may come from the cache of parsed files)

    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, str) and _EXPONENT.match(raw.strip()):
        # YAML 1.1 reads 1e3 as text; a user writing it unquoted means the number.
        value = float(value)
    if isinstance(value, dict):
        raise ValidationError([Diagnostic(loc, f"--set {text!r}: give one value, not a mapping")])
    return parts, value


def apply_overrides(doc: Located, overrides: Sequence[str]) -> Located:
    """Apply ``--set`` overrides; each must name an existing key's parent."""
    diags: list[Diagnostic] = []
    for i, text in enumerate(overrides):
        parts, value = parse_override(text, i)
        loc = Location("--set", i + 1, len(text.partition("=")[0]) + 2)
        node: Any = doc.data
        path: list[str | int] = []
        failed = False
        for depth, part in enumerate(parts):
            key: str | int = int(part) if isinstance(node, list) and part.isdigit() else part
            path.append(key)
            if depth == len(parts) - 1:
                break
            if isinstance(node, dict) and key in node:
                node = node[key]
                continue
            if isinstance(node, list) and isinstance(key, int) and key < len(node):
                node = node[key]
                continue
            known = list(node) if isinstance(node, dict) else []
            diags.append(
                Diagnostic(
                    Location("--set", i + 1, 1),
                    f"--set {text!r}: {'.'.join(parts[: depth + 1])!r} does not exist in the "
                    f"scenario{did_you_mean(part, known)}",
                )
            )
            failed = True
            break
        if failed:
            continue
        last = path[-1]
        settable = isinstance(node, dict) or (
            isinstance(node, list) and isinstance(last, int) and last < len(node)
        )
        if not settable:
            diags.append(Diagnostic(loc, f"--set {text!r}: cannot set a value there"))
            continue
        node[last] = value
        doc.marks[tuple(path)] = loc
        doc.key_marks[tuple(path)] = Location("--set", i + 1, 1)
    if diags:
        raise ValidationError(diags)
    return doc


def load_observations(path: Path | str) -> Located:
    """An observations file (``scenario: NAME`` and ``observations:``), structurally checked.

    The observations are checked in full (dates, expressions, citations)
    once merged into the scenario they name (:func:`add_observations`), with
    positions in this file.

    Raises:
        ValidationError: every problem of the file, each with ``file:line:col``.
    """
    path = Path(path)
    doc = load_file(path, display=_display(path), expect=OBSERVATIONS)
    ctx = Ctx(doc)
    OBSERVATIONS_FILE.check(doc.data, (), ctx)
    if any(d.severity == "error" for d in ctx.diags):
        raise ValidationError(ctx.diags)
    return doc


def add_observations(doc: Located, observations: Located) -> Located:
    """The scenario ``doc`` with the observations of a separate file added to its own.

    The file must name the scenario (its ``scenario.name``) and may not
    repeat an observation id of the scenario; positions stay those of the
    file, so every later message points into it.

    Raises:
        ValidationError: the file names another scenario, or repeats an id.
    """
    meta = doc.data.get("scenario") if isinstance(doc.data, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    about = observations.data["scenario"]
    if about != name:
        raise ValidationError(
            [
                Diagnostic(
                    observations.where(("scenario",)),
                    f"scenario: these observations are about {about!r}, "
                    f"but the scenario is {name!r}",
                )
            ]
        )
    own = doc.data.get("observations") or {}
    twice = [oid for oid in observations.data["observations"] if oid in own]
    if twice:
        raise ValidationError(
            [
                Diagnostic(
                    observations.where(("observations", oid), key=True),
                    f"observations.{oid}: the scenario already has an observation {oid!r}",
                )
                for oid in twice
            ]
        )

    def inside(table: dict[PathKey, Location]) -> dict[PathKey, Location]:
        return {p: loc for p, loc in table.items() if p[:1] == ("observations",)}

    child = Located(
        {"observations": observations.data["observations"]},
        inside(observations.marks),
        inside(observations.key_marks),
        observations.file,
    )
    merged = merge(doc, child)
    merged.file = doc.file
    return merged
