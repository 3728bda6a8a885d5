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
* files are checked to be regular files, UTF-8, non-empty and at most
  :data:`MAX_BYTES` *before* they are read whole (``/dev/zero``, a FIFO or a
  sparse 3 GB file is refused at once);
* our own limits come first, so a given input gets the same message whatever
  the PyYAML build: the text is checked for characters YAML forbids and for
  nesting depth before any parser sees it, and a syntax error is always
  described by PyYAML's pure-Python parser (the C parser, when present, only
  makes valid files load faster);
* a syntax error names where the broken construct began as well as where the
  parser gave up;
* a caller can say what kind of file it expects (:class:`Expect`): a file
  whose top level has none of its keys is refused without quoting any of it,
  so pointing the tool at ``/etc/shadow`` prints none of its lines.

Files read by :func:`load_file` are parsed once per content: the document and
its positions are kept as JSON in a cache folder (:func:`cache_folder`), under
the SHA-256 of the text, the kind of file expected, this module's source, Python and
the PyYAML installed, so a hit is what parsing again would give (an edited
file, an upgrade, another kind: a miss). Only files that parsed without error
are kept, and only documents of plain values (a timestamp with a time or
binary data is parsed each time); JSON, not pickle, so an entry can only ever
be data, and only from a folder of the user's own that no one else may write.
Deleting the folder is safe. Parsing the default scenario and the
claims registry costs some 50 ms and PyYAML's import 20 ms more; a hit reads
the entries in a few.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import re
import stat
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import Diagnostic, Location, ValidationError

if TYPE_CHECKING:  # start-up time: PyYAML is imported only to parse a file not in the cache
    import yaml

MAX_BYTES = 1_000_000
"""Largest scenario or registry file accepted (bytes)."""

MAX_NODES = 100_000
"""Largest number of values a document may expand to (aliases included)."""

MAX_NESTING = 64
"""Deepest nesting of mappings and lists accepted."""

SCAN_NESTING = 2 * MAX_NESTING
"""Nesting at which the text is refused before parsing.

The pre-scan estimates depth from brackets and indentation without parsing;
it can be off by a little (a multi-line plain scalar that looks like a list),
so it refuses only at twice :data:`MAX_NESTING`, far below where either parser
gives up (libyaml at 1000 levels, the pure-Python composer at a few hundred
through recursion). The exact check, at :data:`MAX_NESTING`, is made on the
composed document.
"""

_C_LOADER = object()  # FAST_LOADER not yet looked up


def __getattr__(name: str) -> Any:
    if name == "FAST_LOADER":
        return _fast_loader()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _fast_loader() -> type | None:
    """``FAST_LOADER``: the C parser when this PyYAML build has it; ``None`` (set it so)
    forces the pure-Python one. Valid files compose to the same nodes with either; only
    the speed differs. Looked up on first use: importing PyYAML costs some 20 ms, and a
    file found in the cache of parsed files needs none of it."""
    chosen = globals().get("FAST_LOADER", _C_LOADER)
    if chosen is _C_LOADER:
        import yaml

        return getattr(yaml, "CSafeLoader", None)
    return chosen


_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:omap"}

# Characters YAML does not allow in a stream (PyYAML's Reader.NON_PRINTABLE), compiled on
# first use (some 5 ms: a file found in the cache of parsed files is not checked again).
_NON_PRINTABLE_CLASS = "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Expect:
    """What kind of file a caller expects: its name and top-level keys.

    A mapping with at least one of ``keys`` counts as that kind of file and
    gets every detailed message; anything else is refused with one message
    that quotes nothing from it.
    """

    what: str
    keys: tuple[str, ...]


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

    @classmethod
    def stored(cls, data: Any, file: str, marks: list[Any], keys: list[Any]) -> Located:
        """A document from the cache of parsed files, its positions made when first read:
        a file that validates reads none (the claims registry's some 2,400, about 6 ms),
        one with a problem all (its message needs one)."""
        doc = object.__new__(cls)
        vars(doc).update(data=data, file=file, _stored=(marks, keys))
        return doc

    def __getattr__(self, name: str) -> Any:
        # Called only for what is not set: the positions of a stored document, made now.
        # The entry goes only once both tables are set, so another thread asking at the
        # same moment makes them too (the same tables) instead of finding nothing.
        stored = vars(self).get("_stored") if name in ("marks", "key_marks") else None
        if stored is None:
            raise AttributeError(name)
        marks, keys = stored
        file = self.file
        self.marks = {tuple(p): _location(file, line, col, *rest) for p, line, col, *rest in marks}
        self.key_marks = {tuple(p): _location(file, line, col) for p, line, col in keys}
        vars(self).pop("_stored", None)
        return getattr(self, name)

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
        import yaml  # imported by now: the loader is PyYAML's

        self.yaml = yaml
        self.loader = loader
        self.file = file
        self.text = text
        self.count = 0
        self.marks: dict[PathKey, Location] = {}
        self.key_marks: dict[PathKey, Location] = {}

    def loc(self, node: yaml.Node) -> Location:
        """Where ``node`` starts, 1-based as editors count."""
        m = node.start_mark
        return Location(self.file, m.line + 1, m.column + 1)

    def convert(self, node: yaml.Node, path: PathKey, stack: frozenset[int] = frozenset()) -> Any:
        """``node`` as plain Python, recording positions under ``path``.

        Every value counts towards MAX_NODES, aliases included, and ``stack`` holds the
        nodes being converted above this one, so a bomb or a cycle is refused early.
        """
        yaml = self.yaml
        self.count += 1
        here = self.loc(node)
        if self.count > MAX_NODES:
            raise _err(
                here,
                f"document expands to more than {MAX_NODES:,} values "
                "(too many or nested aliases); refusing to load it",
            )
        if len(path) > MAX_NESTING:
            raise _err(here, _too_deep())
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
        style = getattr(node, "style", None)
        quoted = style in ('"', "'")
        exact = start.line == end.line and not (quoted and "\\" in raw) and style not in ("|", ">")
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


_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_bytes(path: Path | str, *, display: str | None = None, limit: int = MAX_BYTES) -> bytes:
    """Read at most ``limit`` bytes of a regular file, refusing anything else at once.

    The file is looked at before it is read: a folder, FIFO, device or socket
    is refused by its type (opened, if at all, without blocking), a file whose
    size is over ``limit`` by its size, and no more than ``limit + 1`` bytes
    are ever read (a file that grows or lies about its size is still cut off).
    """
    name = display or str(path)
    where = Location(name)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _err(where, "file not found") from None
    except OSError as exc:
        raise _err(where, f"cannot read file: {_reason(exc)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise _err(where, "is a folder, expected a YAML file")
    if not stat.S_ISREG(st.st_mode):
        raise _err(where, f"is {_file_kind(st.st_mode)}, expected a regular YAML file")
    if st.st_size > limit:
        raise _err(
            Location(name, 1, 1), f"file is {st.st_size:,} bytes; the limit is {limit:,} bytes"
        )
    try:
        fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | _O_BINARY)
    except OSError as exc:
        raise _err(where, f"cannot read file: {_reason(exc)}") from None
    try:
        st = os.fstat(fd)  # the file opened may not be the one looked at
        if not stat.S_ISREG(st.st_mode):
            raise _err(where, f"is {_file_kind(st.st_mode)}, expected a regular YAML file")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise _err(where, f"cannot read file: {_reason(exc)}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise _err(
            Location(name, 1, 1), f"file is over {limit:,} bytes; the limit is {limit:,} bytes"
        )
    return b"".join(chunks)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def read_text(path: Path | str, *, display: str | None = None) -> str:
    """Read a file as UTF-8 with the type, size, emptiness and encoding checks."""
    name = display or str(path)
    raw = read_bytes(path, display=name)
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


# -- our own limits, checked on the text before any parser sees it -----------------
def char_name(ch: str) -> str:
    """``U+001B (ESC)``-style name of a character, for messages."""
    names = {0: "NUL", 7: "BEL", 8: "BS", 0x1B: "ESC", 0x7F: "DEL", 0x0B: "VT", 0x0C: "FF"}
    label = names.get(ord(ch)) or unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" ({label})" if label else "")


def _line_col(text: str, index: int) -> tuple[int, int]:
    # Line breaks as YAML counts them (\n, \r\n, \r, NEL, LS, PS), as splitlines does.
    before = text[:index].splitlines(keepends=True)
    if not before:
        return 1, 1
    last = before[-1]
    if last.endswith(("\n", "\r", "\x85", "\u2028", "\u2029")):
        return len(before) + 1, 1
    return len(before), len(last) + 1


def check_characters(text: str, name: str) -> None:
    """Refuse characters that YAML forbids in a stream (control characters, mostly)."""
    m = re.search(_NON_PRINTABLE_CLASS, text)  # compiled once, by re's own cache
    if m:
        line, col = _line_col(text, m.start())
        raise _err(
            Location(name, line, col),
            f"control character {char_name(m.group())} is not allowed in a YAML file",
        )


_FLOW_TOKEN = re.compile(r"""[\[\]{}'"]|(?:^|(?<=\s))\#""")
_DOUBLE_END = re.compile(r'(?:[^"\\]|\\.)*"')
_SINGLE_END = re.compile(r"(?:[^']|'')*'(?!')")
_KEY = re.compile(r"""(?:[^\s#'"][^#]*?|"(?:[^"\\]|\\.)*"|'(?:[^']|'')*')[ \t]*:(?=\s|$)""")
_PROPS = re.compile(r"(?:[&!][^\s]*\s+)*")
_NODE_PREFIX = re.compile(r"(?:(?:[&!]\S*|\?)\s*)+")


class _DepthScan:
    """An estimate of the nesting depth of YAML text, without parsing it.

    Flow collections are counted exactly (brackets outside quotes and
    comments); block collections from the columns of their ``-`` and
    ``key:`` entries, block scalars skipped. See :data:`SCAN_NESTING`.
    """

    def __init__(self, text: str, limit: int):
        self.limit = limit
        self.lines = text.splitlines()
        self.block: list[tuple[int, str]] = []
        self.flow = 0
        self.quote = ""  # the quote of a quoted scalar left open at the end of a line
        self.fresh = True  # in a flow collection: nothing written since the last [ { , :
        self.scalar_above = -2  # skipping a block scalar: lines indented more than this

    def too_deep(self) -> tuple[int, int] | None:
        """``(line, col)`` where the depth first passes the limit, or ``None``."""
        for n, line in enumerate(self.lines):
            try:
                self.scan_line(line)
            except _Deep as deep:
                return n + 1, deep.col + 1
        return None

    def scan_line(self, line: str) -> None:
        """Updates the open blocks, flows and quotes with one line; raises _Deep past the limit."""
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if self.scalar_above > -2:
            if not stripped or indent > self.scalar_above:
                return
            self.scalar_above = -2
        if self.quote or self.flow:
            self.flow_part(line, 0)
            return
        if not stripped or stripped.startswith("#"):
            return
        pos = indent
        if indent == 0 and (line.startswith(("---", "...")) and line[3:4] in ("", " ", "\t")):
            self.block.clear()
            pos = 4
            owner = -1
        elif indent == 0 and line.startswith("%"):
            return
        else:
            owner = -1
            while pos < len(line):
                c, after = line[pos], line[pos + 1 : pos + 2]
                if c in "-?:" and after in ("", " ", "\t"):
                    if c != ":":
                        self.entry(pos, "seq" if c == "-" else "map")
                    owner = pos
                    pos += 1
                    while pos < len(line) and line[pos] in " \t":
                        pos += 1
                    continue
                break
            key = _KEY.match(line, pos)
            if key and not line.startswith(("[", "{"), pos):
                self.entry(pos, "map")
                owner = pos
                pos = key.end() + 1
        self.node(line, pos, owner)

    def node(self, line: str, pos: int, owner: int) -> None:
        """A node starting at ``pos`` (after its ``key:`` or ``-``)."""
        props = _PROPS.match(line, pos)  # anchors and tags (it also matches nothing)
        pos = props.end() if props else pos
        while pos < len(line) and line[pos] in " \t":
            pos += 1
        if pos >= len(line):
            return
        c = line[pos]
        if c in "|>":
            self.scalar_above = owner
        elif c in "[{\"'":
            self.fresh = True
            self.flow_part(line, pos)

    def flow_part(self, line: str, pos: int) -> None:
        """Follow brackets and quotes from ``pos`` to the end of the line (or of the flow)."""
        while pos < len(line):
            if self.quote:
                end = (_DOUBLE_END if self.quote == '"' else _SINGLE_END).match(line, pos)
                if not end:
                    return  # the quoted scalar goes on on the next line
                self.quote = ""
                self.fresh = False
                pos = end.end()
                if not self.flow:
                    return
                continue
            m = _FLOW_TOKEN.search(line, pos)
            gap = (line[pos : m.start()] if m else line[pos:]).strip()
            if gap:  # a quote opens a scalar only where a node can start
                cut = max(gap.rfind(","), gap.rfind(":")) if self.flow else -1
                rest = gap[cut + 1 :].strip()
                if not rest or _NODE_PREFIX.fullmatch(rest):  # tags, anchors, "?"
                    self.fresh = self.fresh or cut >= 0
                else:
                    self.fresh = False
            if not m:
                return
            c = m.group()
            pos = m.end()
            if c == "#":
                return
            if c in "'\"":
                if self.fresh:
                    self.quote = c
                continue
            if c in "[{":
                self.flow += 1
                self.fresh = True
                if len(self.block) + self.flow > self.limit:
                    raise _Deep(m.start())
            else:
                self.flow = max(0, self.flow - 1)
                self.fresh = False
                if not self.flow:
                    return

    def entry(self, col: int, kind: str) -> None:
        """A block collection entry (``-`` or ``key:``) at column ``col``."""
        block = self.block
        while block and block[-1][0] > col:
            block.pop()
        if block and block[-1][0] == col:
            if block[-1][1] == kind:
                return
            if kind == "seq":  # a list as the value of a key, at the key's column
                block.append((col, kind))
            else:  # back from such a list to its mapping
                block.pop()
                if not (block and block[-1] == (col, "map")):
                    block.append((col, kind))
        else:
            block.append((col, kind))
        if len(block) > self.limit:
            raise _Deep(col)


class _Deep(Exception):
    def __init__(self, col: int):
        self.col = col


def check_nesting(text: str, name: str) -> None:
    """Refuse text nested far deeper than :data:`MAX_NESTING` before parsing it."""
    where = _DepthScan(text, SCAN_NESTING).too_deep()
    if where:
        raise _err(Location(name, *where), _too_deep())


def _too_deep() -> str:
    return f"too deeply nested (over {MAX_NESTING} levels); refusing to load it"


# -- parsing -----------------------------------------------------------------------
def _compose(text: str, loader_class: type) -> tuple[Any, yaml.Node | None]:
    loader = loader_class(text)
    try:
        return loader, loader.get_single_node()
    finally:
        loader.dispose()


def _syntax_error(exc: yaml.MarkedYAMLError, name: str) -> ValidationError:
    """One message naming where the parser gave up and where the broken construct began."""
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or "syntax error"
    context, began = exc.context or "", exc.context_mark
    text = problem
    if context:
        if began is not None and (began.line, began.column) != (line - 1, col - 1):
            at = f"line {began.line + 1}, column {began.column + 1}"
            if context.startswith("while "):
                text = f"{problem} {context} that began at {at}"
            else:
                text = f"{context} at {at}; {problem}"
        else:
            text = f"{problem} {context}"
    return _err(Location(name, line, col), f"YAML syntax error: {text}")


def _recognise(node: yaml.Node, name: str, expect: Expect) -> None:
    """Refuse a document that is not the expected kind of file, quoting none of it."""
    import yaml  # imported by now: the node is PyYAML's

    here = Location(name, node.start_mark.line + 1, node.start_mark.column + 1)
    if not isinstance(node, yaml.MappingNode):
        raise _err(here, f"{expect.what} must be a YAML mapping of keys")
    keys = {k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    if keys.isdisjoint(expect.keys):
        raise _err(
            here,
            f"not {expect.what}: it has none of the top-level keys "
            f"{', '.join(expect.keys[:3])}{', ...' if len(expect.keys) > 3 else ''}; "
            "its content is not shown",
        )


def parse_text(text: str, name: str, *, expect: Expect | None = None) -> Located:
    """Parse YAML text safely into a :class:`Located` document.

    Args:
        text: the YAML text.
        name: the file name used in messages.
        expect: the kind of file expected; a document that is not of that
            kind is refused before any of its content can reach a message.
    """
    import yaml  # start-up time: only to parse

    check_characters(text, name)
    check_nesting(text, name)
    node = None
    loader: Any = None
    fast = _fast_loader()
    if fast is not None:
        try:
            loader, node = _compose(text, fast)
        except yaml.YAMLError:
            loader = None  # described below by the reference parser, in its words
    if loader is None:
        try:
            loader, node = _compose(text, yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            raise _syntax_error(exc, name) from None
        except yaml.YAMLError as exc:
            raise _err(Location(name, 1, 1), f"YAML error: {exc}") from None
        except RecursionError:
            raise _err(Location(name, 1, 1), _too_deep()) from None
    if node is None:
        raise _err(Location(name, 1, 1), "file is empty; expected a YAML mapping")
    if expect is not None:
        _recognise(node, name, expect)
    conv = _Converter(loader, name, text)
    data = conv.convert(node, ())
    return Located(data, conv.marks, conv.key_marks, name)


def load_file(
    path: Path | str, *, display: str | None = None, expect: Expect | None = None
) -> Located:
    """Read and parse one YAML file; raises :class:`ValidationError`."""
    name = display or str(path)
    return _cached(read_text(path, display=name), name, expect)


def iter_paths(data: Any, prefix: PathKey = ()) -> Iterator[PathKey]:
    """Every path in a plain document, parents before children."""
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from iter_paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from iter_paths(v, (*prefix, i))


# -- the cache of parsed files ----------------------------------------------------
CACHE_VARIABLE = "WARGAME_YAML_CACHE"
"""Environment variable naming the folder of parsed files; set but empty, no cache."""

CACHE_FORMAT = 1
CACHE_ENTRIES = 256
"""Entries kept; the least recently written go first."""

_TAG = "\0"  # the key of a tagged value (a date); a document holding it is not kept


class _Uncacheable(Exception):
    """A value the cache does not write (timestamps with a time, binary): parsed each time."""


def cache_folder() -> Path | None:
    """Where parsed files are kept: ``$WARGAME_YAML_CACHE``, else
    ``$XDG_CACHE_HOME/wargame/parsed``, else ``~/.cache/wargame/parsed``; ``None`` when
    ``WARGAME_YAML_CACHE`` is set but empty (no cache)."""
    named = os.environ.get(CACHE_VARIABLE)
    if named is not None:
        return Path(named) if named.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wargame" / "parsed"


def _code_stamp() -> str:
    """What else a parse depends on: this module's source, the PyYAML installed (found
    without importing it) and Python's version, so an upgrade or an edit of any of them
    parses every file again."""
    if not _stamp:
        import importlib.util

        loader = __spec__.loader if __spec__ is not None else None
        get_source = getattr(loader, "get_source", None)  # also from a wheel or a zip
        source = get_source(__name__) if callable(get_source) else None

        found = importlib.util.find_spec("yaml")
        where = found.origin if found is not None else None
        try:
            st = os.stat(where) if where else None
        except OSError:
            st = None
        yaml_id = f"{where}:{st.st_mtime_ns}:{st.st_size}" if st else "no yaml"
        from sim import __version__

        _stamp.append(f"{CACHE_FORMAT}\n{sys.version}\n{source or __version__}\n{yaml_id}")
    return _stamp[0]


_stamp: list[str] = []


def _cache_key(text: str, expect: Expect | None) -> str:
    kind = f"{expect.what}\n{','.join(expect.keys)}" if expect is not None else ""
    material = f"{_code_stamp()}\n{kind}\n{text}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(material).hexdigest()


def _encode(value: Any) -> Any:
    t = type(value)
    if t is dict:
        if _TAG in value or not all(type(k) is str for k in value):
            raise _Uncacheable  # JSON would make the keys text; "\0" is a YAML escape
        return {k: _encode(v) for k, v in value.items()}
    if t is list:
        return [_encode(v) for v in value]
    if value is None or t in (str, int, float, bool):
        return value
    if t is _dt.date:
        return {_TAG: value.isoformat()}
    raise _Uncacheable


def _decoded(obj: dict[str, Any]) -> Any:
    return _dt.date.fromisoformat(obj[_TAG]) if _TAG in obj else obj


def _entry(doc: Located, key: str) -> str:
    """The cache entry of a parsed document (its positions without the file's name)."""
    marks = []
    for path, loc in doc.marks.items():
        mark = [list(path), loc.line, loc.col]
        if not loc.exact or loc.raw or loc.raw_col:
            mark += [loc.exact, loc.raw, loc.raw_col]
        marks.append(mark)
    keys = [[list(path), loc.line, loc.col] for path, loc in doc.key_marks.items()]
    entry = {"key": key, "data": _encode(doc.data), "marks": marks, "key_marks": keys}
    # ASCII: a lone surrogate (a YAML escape) is written as its escape, not refused.
    return json.dumps(entry, separators=(",", ":"))


def _document(entry: str, key: str, name: str) -> Located | None:
    """The document of a cache entry, its positions in file ``name``; ``None`` if the
    entry is not one for ``key`` (cut short, edited, or another version's)."""
    try:
        got = json.loads(entry, object_hook=_decoded)
        if got.get("key") != key:
            return None
        marks, keys = got["marks"], got["key_marks"]
        if not (isinstance(marks, list) and isinstance(keys, list)):
            return None
        return Located.stored(got["data"], name, marks, keys)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _location(
    file: str, line: int, col: int, exact: bool = True, raw: str = "", raw_col: int = 0
) -> Location:
    """``Location(file, line, col, exact, raw, raw_col)``, made as pickle restores one (its
    fields put in place): a frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``, and a registry's entry holds thousands of positions."""
    loc = object.__new__(Location)
    vars(loc).update(file=file, line=line, col=col, exact=exact, raw=raw, raw_col=raw_col)
    return loc


def _cached(text: str, name: str, expect: Expect | None) -> Located:
    """:func:`parse_text`, from the cache of parsed files when it holds this text."""
    try:
        folder = cache_folder()
    except (RuntimeError, KeyError, OSError):  # no home folder to find the cache in
        folder = None
    if folder is None or not _own(folder):
        return parse_text(text, name, expect=expect)
    key = _cache_key(text, expect)
    path = folder / f"{key[:32]}.json"
    try:
        doc = _document(path.read_text(encoding="utf-8"), key, name)
    except (OSError, UnicodeDecodeError):
        doc = None
    if doc is not None:
        return doc
    doc = parse_text(text, name, expect=expect)
    try:
        entry = _entry(doc, key)
    except _Uncacheable:
        return doc
    _keep(folder, path, entry)
    return doc


def _own(folder: Path) -> bool:
    """Whether the entries of ``folder`` may be used: where files have owners, it must be
    this user's and writable by no one else (or not exist yet: it is made so)."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return True
    try:
        st = folder.stat()
    except OSError:
        return True
    return st.st_uid == getuid() and not st.st_mode & 0o022


def _keep(folder: Path, path: Path, entry: str) -> None:
    """Write one entry whole (or not at all), then drop the oldest past CACHE_ENTRIES."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp.write_text(entry, encoding="utf-8")
        os.replace(tmp, path)
        entries = list(folder.glob("*.json"))
        if len(entries) > CACHE_ENTRIES:
            entries.sort(key=lambda p: p.stat().st_mtime_ns)
            for old in entries[: len(entries) - CACHE_ENTRIES]:
                old.unlink(missing_ok=True)
    except (OSError, ValueError):  # a read-only or full disk: the next load parses again
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
