"""Reading scenario files: ``extends`` chains, ``--set`` overrides, then checks.

A counterfactual is a small file that ``extends`` a base and overrides some
keys. Mappings merge key by key (so one rule can be replaced without copying
the actor), anything else is replaced, and ``null`` deletes a key. Positions
survive the merge: an error in an overridden value points into the child
file, an error in an inherited one into the base.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from sim.errors import Diagnostic, Location, ValidationError
from sim.yamlio import Located, PathKey, load_file

MAX_EXTENDS_DEPTH = 8
_EXPONENT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


def _display(path: Path) -> str:
    """A path as the user would write it: relative to the working folder if inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


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
                marks[p] = child.marks.get(p, marks.get(p))
                key_marks[p] = child.key_marks.get(p, key_marks.get(p))
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
    doc = load_file(path, display=name)
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
    target = (path.parent / parent).resolve()
    chain = (*seen, path.resolve())
    if target in chain:
        cycle = " -> ".join(_display(p) for p in (*chain, target))
        raise ValidationError([Diagnostic(where, f"extends forms a cycle: {cycle}")])
    if len(chain) > MAX_EXTENDS_DEPTH:
        raise ValidationError(
            [Diagnostic(where, f"extends chain deeper than {MAX_EXTENDS_DEPTH} files")]
        )
    if not target.is_file():
        raise ValidationError(
            [Diagnostic(where, f"extends: base scenario {parent!r} not found next to this file")]
        )
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
    from sim.spec import did_you_mean

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
            if (isinstance(node, dict) and key in node) or (
                isinstance(node, list) and isinstance(key, int) and key < len(node)
            ):
                node = node[key]  # type: ignore[index]
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
        if isinstance(node, dict) or (
            isinstance(node, list) and isinstance(last, int) and last < len(node)
        ):
            node[last] = value
        else:
            diags.append(Diagnostic(loc, f"--set {text!r}: cannot set a value there"))
            continue
        doc.marks[tuple(path)] = loc
        doc.key_marks[tuple(path)] = Location("--set", i + 1, 1)
    if diags:
        raise ValidationError(diags)
    return doc
