"""The process's one cache of compiled scenarios, with one invalidation rule.

Compiling a scenario costs about as much as simulating one world of it, and
several parts of the package compile the same scenario again and again:
``WargameModel`` given a path (``mesa.batch_run`` makes one model per run),
:func:`sim.interop.evaluate` (called thousands of times by EMA Workbench or
SALib), the viewer (every change of a setting) and a batch worker (every
chunk). They all go through this module, so a scenario is compiled once per
process and every caller sees the same rule for when that copy is stale.

There are two ways in, each keyed so that a hit is exactly what compiling
again would give:

* a **file** (:func:`load_cached`): keyed by the file's resolved path, the
  stamps of the file and of every file it ``extends``, the overrides, and
  the claims policy in force (:func:`claims_stamps`: checking off under
  ``--no-claims``, or the stamps of the registry that applies), so a
  scenario loaded without citation checks, or against another registry, is
  never handed out where they are checked.
  A stamp is the modification time (``st_mtime_ns``), the size and a digest
  of the content. Times alone are not enough: file systems stamp times in
  ticks of a few milliseconds, so an edit that keeps the size within one
  tick of the previous write (``horizon_days: 70`` to ``71``) would be
  missed. Reading a scenario file to hash it costs far less than compiling
  it, but it is still most of a cache hit (the viewer asks twice per change
  of a setting), so a file's digest is taken again only when its status
  may have changed (:func:`_stamp`): not if its device, inode, size,
  modification and change times are all as they were, and it had last
  changed at least :data:`SETTLED_NS` before its digest was taken. Any
  write sets the change time (``st_ctime_ns``) to the present, which no
  program can set back; a file that changed just before its digest was
  taken is read again every time, as a second write in the same tick of
  the clock would leave its status as it was.
* a **resolved text** (:func:`scenario_from_text`): what a worker on
  another machine receives; keyed by the text's digest and the overrides.

A compiled scenario can also be found by its ``sha256``
(:func:`by_sha256`), which identifies what was compiled, whatever the way
in: a batch's parent process puts its scenario there (:func:`remember`), so
an in-process worker does not compile it again.

The cache keeps the most recently used :data:`MAX_ENTRIES` entries and is
safe to use from several threads (the viewer computes in a background
thread).
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sim.registry import current_policy, find_claims, registry_files
from sim.scenario import load_scenario
from sim.scenario.model import Scenario

MAX_ENTRIES = 32
"""Entries kept (file, text and sha256 keys together), least recently used dropped first."""

_EXTENDS = re.compile(r"""^extends[ \t]*:[ \t]*(['"]?)([^'"#\r\n]+?)\1[ \t]*(?:#.*)?$""", re.M)
_MAX_CHAIN = 16

_entries: OrderedDict[tuple[Any, ...], Scenario] = OrderedDict()
_lock = threading.Lock()

SETTLED_NS = 2_000_000_000
"""How long before its digest a file must have last changed for the digest to be reused
(two seconds: well above the clock ticks of file systems, FAT's two-second one included)."""

MAX_DIGESTS = 256
"""Files whose digest is kept; past that the memo starts again."""

_digests: dict[str, tuple[tuple[int, ...], tuple[str, int, int, str], bytes]] = {}
_bases: dict[str, str | None] = {}


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def file_stamps(path: Path | str) -> tuple[tuple[str, int, int, str], ...]:
    """(resolved file, mtime in ns, size, content digest) of a scenario file and its bases.

    The bases are found as the loader finds them, from a top-level
    ``extends: base.yaml`` line, relative to the file that names it. A file
    that cannot be read gets ``(-1, -1, "")``: loading then reports it
    properly.
    """
    out: list[tuple[str, int, int, str]] = []
    p = Path(path).resolve()
    while len(out) < _MAX_CHAIN and all(p.as_posix() != f for f, *_ in out):
        stamp, data = _stamp(p)
        out.append(stamp)
        base = None if data is None else _base_named(stamp[3], data)
        if base is None:
            break
        p = (p.parent / base).resolve()
    return tuple(out)


def _base_named(digest: str, data: bytes) -> str | None:
    """The file that the content ``data`` (of digest ``digest``) ``extends``, if any.

    Found once per content: the search of a whole file costs more than its stamp.
    """
    if digest in _bases:
        return _bases[digest]
    m = _EXTENDS.search(data.decode("utf-8", errors="replace"))
    base = None if m is None else m.group(2).strip()
    with _lock:
        if len(_bases) >= MAX_DIGESTS:
            _bases.clear()
        _bases[digest] = base
    return base


def _stamp(p: Path) -> tuple[tuple[str, int, int, str], bytes | None]:
    """The stamp of one file and its content (``None``, and a stamp of -1s, if unreadable).

    The file is read and hashed again unless its status is what it was when
    it was last read and it had settled by then (see the module's docs).
    """
    name = p.as_posix()
    now = time.time_ns()
    try:
        stat = p.stat()
    except OSError:
        return (name, -1, -1, ""), None
    status = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    known = _digests.get(name)
    if known is not None and known[0] == status:
        return known[1], known[2]
    try:
        data = p.read_bytes()
    except OSError:
        return (name, -1, -1, ""), None
    stamp = (name, stat.st_mtime_ns, stat.st_size, _digest(data))
    with _lock:
        if max(stat.st_mtime_ns, stat.st_ctime_ns) < now - SETTLED_NS:
            if len(_digests) >= MAX_DIGESTS:
                _digests.clear()
            _digests[name] = (status, stamp, data)
        else:
            _digests.pop(name, None)
    return stamp, data


def claims_stamps(path: Path | str) -> tuple[Any, ...]:
    """What loading ``path`` now would check its citations against, as a cache key part.

    ``("unchecked",)`` when checking is off (``--no-claims``); ``("not found",)``
    when no registry applies (loading then refuses the scenario); otherwise
    the stamps of the registry's claims and sources files, found by the
    policy in force (:func:`sim.registry.claims_policy`: ``--claims FILE`` or
    the rule), so an edited registry is checked again too.
    """
    policy = current_policy()
    if not policy.check:
        return ("unchecked",)
    claims = policy.file or find_claims(path)
    if claims is None:
        return ("not found",)
    return ("checked", *(_stamp(f.absolute())[0] for f in registry_files(claims)))


def _cached(key: tuple[Any, ...], build: Callable[[], Scenario]) -> Scenario:
    """The entry under ``key``, built (outside the lock) and kept if absent."""
    with _lock:
        sc = _entries.get(key)
        if sc is not None:
            _entries.move_to_end(key)
            return sc
    sc = build()
    with _lock:
        _put(key, sc)
        if sc.sha256:
            _put(("sha256", sc.sha256), sc)
    return sc


def _put(key: tuple[Any, ...], sc: Scenario) -> None:
    _entries[key] = sc
    _entries.move_to_end(key)
    while len(_entries) > MAX_ENTRIES:
        _entries.popitem(last=False)


def load_cached(
    path: Path | str, overrides: Sequence[str] = (), observations: Path | str | None = None
) -> Scenario:
    """:func:`sim.scenario.load_scenario` of ``path``, compiled once while the files stay the same.

    ``observations`` is a separate observations file (``--observations``),
    watched like the scenario's own files.

    Raises:
        ValidationError: the scenario or an override is invalid (nothing is kept).
    """
    overrides = tuple(overrides)
    resolved = Path(path).resolve().as_posix()
    key: tuple[Any, ...] = ("file", resolved, file_stamps(path), overrides, claims_stamps(path))
    if observations is not None:
        key += ("observations", _stamp(Path(observations).absolute())[0])
    return _cached(key, lambda: load_scenario(path, overrides, observations=observations))


def scenario_from_text(name: str, text: str, overrides: Sequence[str] = ()) -> Scenario:
    """Compile a scenario from its resolved text (``sim.scenario.resolved.resolved_text``), once.

    What a worker with no scenario files does. Citations were checked
    against the claims registry when the scenario was first loaded; the text
    carries the claim ids and is compiled without a registry.

    Raises:
        ValidationError: the text or an override is invalid (nothing is kept).
    """
    overrides = tuple(overrides)

    def build() -> Scenario:
        with tempfile.TemporaryDirectory(prefix="wargame-") as tmp:
            path = Path(tmp) / f"{name}.json"
            path.write_text(text, encoding="utf-8")
            return load_scenario(path, overrides, registry=None)

    return _cached(("text", name, _digest(text.encode("utf-8")), overrides), build)


def remember(sc: Scenario) -> None:
    """Keep an already compiled scenario, to be found by its ``sha256``."""
    if sc.sha256:
        with _lock:
            _put(("sha256", sc.sha256), sc)


def by_sha256(sha256: str) -> Scenario | None:
    """The compiled scenario with this ``sha256``, if one is kept."""
    with _lock:
        sc = _entries.get(("sha256", sha256))
        if sc is not None:
            _entries.move_to_end(("sha256", sha256))
        return sc


def clear() -> None:
    """Forget every compiled scenario (for tests and long-lived processes)."""
    with _lock:
        _entries.clear()
        _digests.clear()
        _bases.clear()
