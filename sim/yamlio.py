"""Safe YAML loading that remembers where every value was written.

PyYAML's ``safe_load`` forgets positions, silently keeps the last of two
duplicate keys and expands aliases without limit (the "billion laughs" bomb).
Here we compose the node graph with the *safe* loader and convert it
ourselves, so that:

* every value's position is kept in a side table keyed by its path
  (``("actors", "kremlin", "rules", "no_offensive", "when")``), which is how
  validation errors get a precise ``file:line:col``;
* duplicate keys are errors, not silent overrides;
* alias expansion is counted and stopped at :data:`MAX_NODES`, so a bomb is
  rejected in milliseconds without building the expanded document;
* files are checked to be UTF-8, non-empty and at most :data:`MAX_BYTES`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.errors import Diagnostic, Location, ValidationError

MAX_BYTES = 1_000_000
"""Largest scenario or registry file accepted (bytes)."""

MAX_NODES = 100_000
"""Largest number of values a document may expand to (aliases included)."""

MAX_NESTING = 64
"""Deepest nesting of mappings and lists accepted."""

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:omap"}

PathKey = tuple[str | int, ...]


@dataclass
class Located:
    """A plain-Python document plus the position of each value and key.

    ``marks[path]`` is where the value at ``path`` starts; ``key_marks[path]``
    is where its key is written (for "unknown key" messages).
    """

    data: Any
    marks: dict[PathKey, Location] = field(default_factory=dict)
    key_marks: dict[PathKey, Location] = field(default_factory=dict)
    file: str = ""

    def where(self, path: PathKey, key: bool = False) -> Location:
        """Best known location for ``path``: itself, else its nearest parent."""
        table = self.key_marks if key else self.marks
        p = tuple(path)
        while True:
            if p in table:
                return table[p]
            if p in self.marks:
                return self.marks[p]
            if not p:
                return Location(self.file, 1, 1)
            p = p[:-1]


class _Converter:
    def __init__(self, loader: yaml.SafeLoader, file: str, text: str = ""):
        self.loader = loader
        self.file = file
        self.text = text
        self.count = 0
        self.marks: dict[PathKey, Location] = {}
        self.key_marks: dict[PathKey, Location] = {}

    def loc(self, node: yaml.Node) -> Location:
        m = node.start_mark
        return Location(self.file, m.line + 1, m.column + 1)

    def convert(self, node: yaml.Node, path: PathKey, stack: frozenset[int] = frozenset()) -> Any:
        self.count += 1
        here = self.loc(node)
        if self.count > MAX_NODES:
            raise _err(
                here,
                f"document expands to more than {MAX_NODES:,} values "
                "(too many or nested aliases); refusing to load it",
            )
        if len(path) > MAX_NESTING:
            raise _err(here, f"too deeply nested (over {MAX_NESTING} levels); refusing to load it")
        if id(node) in stack:
            raise _err(here, "an alias refers to a value that contains it (a cycle)")
        self.marks[path] = here
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
            raise _err(here, f"tags such as {node.tag!r} are not allowed in scenario files")
        inner = stack | {id(node)}
        if isinstance(node, yaml.MappingNode):
            try:
                self.loader.flatten_mapping(node)
            except yaml.MarkedYAMLError as exc:
                mark = exc.problem_mark or node.start_mark
                raise _err(
                    Location(self.file, mark.line + 1, mark.column + 1),
                    f"cannot merge mappings here: {exc.problem}",
                ) from None
            out: dict[str, Any] = {}
            for knode, vnode in node.value:
                if not isinstance(knode, yaml.ScalarNode):
                    raise _err(self.loc(knode), "mapping keys must be plain names or numbers")
                key = knode.value  # keys are names: keep their text as written
                if key in out:
                    first = self.key_marks[(*path, key)]
                    raise _err(
                        self.loc(knode),
                        f"duplicate key {key!r} (first written at line {first.line})",
                    )
                self.key_marks[(*path, key)] = self.loc(knode)
                out[key] = self.convert(vnode, (*path, key), inner)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(v, (*path, i), inner) for i, v in enumerate(node.value)]
        start, end = node.start_mark, node.end_mark
        raw = self.text[start.index : end.index]
        quoted = getattr(node, "style", None) in ('"', "'")
        exact = (
            start.line == end.line and not (quoted and "\\" in raw) and node.style not in ("|", ">")
        )
        if quoted or not exact:
            # Point at the first character inside the quotes, so an offset
            # into an expression maps onto the right column.
            self.marks[path] = Location(
                self.file,
                here.line,
                here.col + (1 if quoted else 0),
                exact=exact,
                raw="" if exact else raw,
                raw_col=here.col,
            )
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            raise _err(here, f"cannot read value {node.value!r}: {exc}") from None


def _err(loc: Location, message: str) -> ValidationError:
    return ValidationError([Diagnostic(loc, message)])


def read_text(path: Path | str, *, display: str | None = None) -> str:
    """Read a file as UTF-8 with the size, emptiness and encoding checks."""
    name = display or str(path)
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise _err(Location(name), "file not found") from None
    except IsADirectoryError:
        raise _err(Location(name), "is a folder, expected a YAML file") from None
    except OSError as exc:
        raise _err(Location(name), f"cannot read file: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise _err(
            Location(name, 1, 1),
            f"file is {len(raw):,} bytes; the limit is {MAX_BYTES:,} bytes",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise _err(
            Location(name, line, col),
            f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8",
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        raise _err(Location(name, 1, 1), "file is empty; expected a YAML mapping")
    return text


def parse_text(text: str, name: str) -> Located:
    """Parse YAML text safely into a :class:`Located` document."""
    # The C parser (when PyYAML has it) composes ~10x faster with the same
    # marks; construction stays in our own converter either way.
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "syntax error"
        context = f" {exc.context}" if exc.context else ""
        raise _err(Location(name, line, col), f"YAML syntax error: {problem}{context}") from None
    except yaml.YAMLError as exc:
        raise _err(Location(name, 1, 1), f"YAML error: {exc}") from None
    except RecursionError:
        raise _err(
            Location(name, 1, 1), "too deeply nested for a scenario file; refusing to load it"
        ) from None
    finally:
        loader.dispose()
    if node is None:
        raise _err(Location(name, 1, 1), "file is empty; expected a YAML mapping")
    conv = _Converter(loader, name, text)
    data = conv.convert(node, ())
    return Located(data, conv.marks, conv.key_marks, name)


def load_file(path: Path | str, *, display: str | None = None) -> Located:
    """Read and parse one YAML file; raises :class:`ValidationError`."""
    name = display or str(path)
    return parse_text(read_text(path, display=name), name)


def iter_paths(data: Any, prefix: PathKey = ()) -> Iterator[PathKey]:
    """Every path in a plain document, parents before children."""
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from iter_paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from iter_paths(v, (*prefix, i))
