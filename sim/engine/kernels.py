"""Compiled kernels generated from the scenario, where numba is installed.

The numpy path computes a quantity with one array operation after another,
each over all the worlds concerned; at the sizes of a chunk much of that time
is the fixed cost of each operation, and each makes a temporary array. A
kernel computes the same quantity in one loop over the worlds, one world at a
time. Kernels are never written by hand for a scenario: their source is
generated from the compiled scenario (each expression's scalar ``code``,
:mod:`sim.expr.scalar`, put into a loop that does what the engine's numpy
code does), written to a file in the kernel cache named by the hash of the
source, and compiled by numba's ``njit(cache=True)``, so a second process
loads the machine code from disk instead of compiling it again.

Results are bit-identical to the numpy path (``tests/test_kernels.py`` runs
every shipped scenario both ways): the scalar helpers do, element by element,
what the numpy functions do, and a kernel that reads uniforms reads the very
numbers the numpy path draws, at their places in the same stream
(:mod:`sim.engine.pcg`).
Whenever a kernel cannot be had (numba missing, a construct without scalar
code, an input of an unexpected kind, a compilation that fails) the caller is
told ``None`` and keeps the numpy path.

Which path runs is chosen by the environment variable ``WARGAME_KERNELS``:
``auto`` (the default), ``numba`` (kernels where they exist, numpy
elsewhere) or ``numpy`` (never kernels; any other value means ``numpy``
too). The cache folder is ``WARGAME_KERNEL_CACHE``, else
``$XDG_CACHE_HOME/wargame/kernels``, else ``~/.cache/wargame/kernels``.

``auto`` takes the compiled path where it pays, scenario by scenario and
process by process, and since both paths give the same bits it may switch
at any moment, even in the middle of a chunk. A process starts on the numpy
path (importing numba costs some 0.35 s of CPU and loading a scenario's
cached kernels some 0.25 s more, more than a short batch gains). Once it has
spent :data:`AUTO_AFTER` seconds of CPU on a scenario (counted between the
calls into this module, so the time spent on other scenarios does not
count), it imports numba, checks it (:func:`agrees_with_numpy`) and uses
the kernels from then on: a process that runs longer than that saves more
than the switch cost it. A scenario whose kernels were never compiled into
this cache would first compile them (several seconds, once), so it waits
:data:`AUTO_AFTER_COLD` seconds instead; a mark in the cache
(:func:`marker`) records that a process compiled them. A process that
knows it lives long (the viewer) calls :func:`prefer` and takes the
compiled path at once for every scenario whose kernels are in the cache. A
batch's worker knows better still how long it will run: before each chunk
the runner tells :func:`expect` how many worlds are left for it, and the
switch is made where the kernels will win back what it costs, and not made
where they would not.
Where numba is not installed, ``auto`` is ``numpy``.

Kernels so far, the hottest parts of a default batch's profile: the chance
``P_H`` of a response in foresight (:func:`chance`), the decider's value of a
hypothetical state (:func:`value`), an actor's whole decision (:func:`decide`:
once-actions, constraints, triggers, the choice by its preferences and the
softmax, the constraints that bound) and, where that cannot be had, the choice
alone (:func:`choose`).
"""

from __future__ import annotations

import functools
import gc
import hashlib
import importlib.util
import marshal
import operator
import os
import sys
import threading
import time
from pathlib import Path
from types import CodeType, ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.engine import elementary, pcg
from sim.engine.draws import Rng, Streams, skip_rows
from sim.expr import Expr
from sim.expr.scalar import HELPER_NAMES, HELPERS, names_in, substitute

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sim.engine.adjudication import Decision
    from sim.engine.decision import ActorPlan
    from sim.engine.foresight import Response
    from sim.engine.state import WorldState
    from sim.scenario.model import Action, Actor, Effect, StateVar

MODE_VARIABLE = "WARGAME_KERNELS"
"""The environment variable that chooses the path: ``auto``, ``numpy`` or ``numba``."""

CACHE_VARIABLE = "WARGAME_KERNEL_CACHE"
"""The environment variable that names the kernel cache folder."""

MODES = ("auto", "numpy", "numba")

AUTO_AFTER = 2.0
"""CPU seconds a process spends on a scenario before ``auto`` uses its kernels
(about what importing numba and loading the kernels costs, divided by the share
of a chunk's time they save)."""

AUTO_AFTER_COLD = 25.0
"""The same where the scenario's kernels were never compiled into the cache (the
first compilation of the default scenario's kernels takes some 7 s of CPU)."""

_numba: Any = None  # the numba module once imported; False when it cannot be
_modules: dict[str, ModuleType] = {}  # generated modules by source hash
_failed: set[str] = set()  # source hashes whose kernel could not be compiled or run


def mode() -> str:
    """The path chosen by ``WARGAME_KERNELS`` (``auto`` if unset, ``numpy`` if unknown).

    Read on every call (tests and users change it between calls; a chunk asks about
    a thousand times): from the dictionary behind ``os.environ`` where there is one
    (``os.environ.get`` encodes the name and decodes the value, some 0.6 us a
    reading; the dictionary, 13 ns), keyed as ``os.environ`` keeps it, which every
    change through ``os.environ`` updates; what a value means is kept per value."""
    environ, data, key = _ENVIRON
    raw = data.get(key, "auto") if data is not None and os.environ is environ else None
    if raw is None:
        raw = os.environ.get(MODE_VARIABLE, "auto")
    chosen = _meaning.get(raw)
    if chosen is None:
        text = raw if isinstance(raw, str) else os.environ.decodevalue(raw)
        chosen = text.strip().lower()
        chosen = chosen if chosen in MODES else "numpy"
        if len(_meaning) < 64:
            _meaning[raw] = chosen
    return chosen


def _environ_dict() -> tuple[Any, dict[Any, Any] | None, Any]:
    """``os.environ``, the dictionary it keeps its variables in and the key of
    ``WARGAME_KERNELS`` there; no dictionary where ``os.environ`` is not built so
    (:func:`mode` reads it only while ``os.environ`` is still that object)."""
    data = getattr(os.environ, "_data", None)
    encode = getattr(os.environ, "encodekey", None)
    if not isinstance(data, dict) or encode is None:
        return os.environ, None, None
    return os.environ, data, encode(MODE_VARIABLE)


_ENVIRON = _environ_dict()
_meaning: dict[Any, str] = {}  # per value of the variable (as kept), the mode it means


def numba_module() -> Any:
    """numba, imported on first use; None where it is not installed."""
    global _numba
    if _numba is None:
        try:
            import numba
        except ImportError:
            _numba = False
        else:
            _without_blas_check()
            _numba = numba
    return _numba or None


_BLAS = "scipy.linalg.cython_blas"


def _without_blas_check() -> None:
    """Load numba's numpy functions without their check for a BLAS.

    When numba first loads its support of numpy (at a process's first kernel),
    its array functions module asks whether SciPy's BLAS can be imported, to
    choose how ``np.correlate`` multiplies in compiled code; that imports
    ``scipy.linalg``, some 0.15-0.35 s of CPU, a good part of what switching to
    the compiled path costs. No kernel calls a BLAS routine, so the check is made
    to fail: the one import is blocked while that module loads, then unblocked,
    and SciPy stays importable as ever. Where the module or SciPy's BLAS is loaded
    already, nothing is done.
    """
    if _BLAS in sys.modules or "numba.np.arraymath" in sys.modules:
        return
    sys.modules[_BLAS] = None  # type: ignore[assignment]  # an import of it fails at once
    try:
        import numba.np.arraymath  # noqa: F401
    except ImportError:
        pass  # numba loads it itself later, with its check
    finally:
        if _BLAS in sys.modules and sys.modules[_BLAS] is None:
            del sys.modules[_BLAS]


def active() -> bool:
    """Whether kernels may be used: ``numba`` chosen, numba installed and the compiled
    ``exp``, ``log`` and ``pow`` giving numpy's results here; or ``auto`` chosen and
    numba installed (each kernel's entry then asks :func:`compiled_for` for its scenario)."""
    chosen = mode()
    if chosen == "numba":
        return (_agreement is True and bool(_numba)) or usable()  # checked once, then known
    return chosen == "auto" and _installed() and _agreement is not False


def usable() -> bool:
    """numba installed and its ``exp``, ``log`` and ``pow`` giving numpy's results."""
    if numba_module() is None or not agrees_with_numpy():
        return False
    _settle()
    return True


@functools.cache
def _settle() -> None:
    """Leave what the switch made alone in the garbage collector from now on (once).

    Importing numba and loading its first compiled function make some 110,000
    Python objects that live as long as the process. Each of Python's full
    collections then walks all of them: 30-65 ms each, one every 10-15 chunks of
    5,000 worlds in a worker (2-5% of the compiled path's time). ``gc.freeze()`` moves every
    object alive now out of the collector's sight; the process's later objects
    are collected as before. The young garbage is collected first (cheaply: the
    two young generations only), so that little of it is kept for good.
    """
    gc.collect(1)
    gc.freeze()


_found: bool | None = None  # whether numba is installed, looked up without importing it


def _installed() -> bool:
    """Whether numba can be imported (imported already, or found without importing it)."""
    global _found
    if _numba is not None:
        return _numba is not False
    if _found is None:
        try:
            _found = importlib.util.find_spec("numba") is not None
        except (ImportError, ValueError):  # a broken or blocked installation
            _found = False
    return _found


# -- auto: the compiled path where it pays ---------------------------------------------------


AUTO_SWITCH = 0.7
"""CPU seconds a process spends once to take a scenario's cached kernels (importing
numba, loading them), for a runner's estimate (:func:`expect`): a first compiled chunk
of 200 worlds of the default scenario costs 0.67-0.74 s, the next one 0.05 s."""

AUTO_SAVING = 0.6
"""The share of the numpy path's CPU that the kernels save on the rest of a batch,
for a runner's estimate (a chunk of 10,000 worlds of the default scenario: about
0.19-0.26 s of CPU compiled against about 0.6 s on the numpy path, on a slow day)."""


AUTO_PRIOR = 30e-6
"""CPU seconds per world the numpy path is taken to cost before a first chunk has been
measured, for a runner's estimate: below what every shipped scenario costs in chunks of
10,000 on a machine where :data:`AUTO_SWITCH` holds (about 33 us for the cheapest, 43 us
for the default, 120-140 us for the RGF scenarios; one of a few rules, a few us). A
worker with more than some 39,000 worlds ahead (each of two workers of a batch of
100,000 worlds or more) switches at once rather than after a first chunk on the numpy
path, which would cost it more than the switch saves on the rest."""


class _Account:
    """What ``auto`` knows of one scenario in this process."""

    __slots__ = ("after", "cold", "done", "on", "running", "spent", "verdict")

    def __init__(self, cold: bool) -> None:
        self.cold = cold  # its kernels were never compiled into the cache
        self.after = AUTO_AFTER_COLD if cold else AUTO_AFTER  # CPU seconds on numpy first
        self.spent = 0.0
        self.on: bool | None = None  # decided: kernels (True) or never (False)
        self.done = 0  # worlds run on the numpy path before the current chunk (expect)
        self.running = 0  # worlds of the chunk running now (expect)
        self.verdict: bool | None = None  # the runner's estimate says switch now / not yet


def _key(sc: Any) -> str:
    """What a scenario's account is kept under: its sha256 (its object's id if it has none)."""
    return sc.sha256 or f"id{id(sc)}"


def _account(sc: Any) -> tuple[str, _Account]:
    """The scenario's key and what ``auto`` knows of it (made on first sight)."""
    key = _key(sc)
    acc = _accounts.get(key)
    if acc is None:
        acc = _accounts[key] = _Account(cold=not marker(key).exists())
    return key, acc


def running(sc: Any) -> bool:
    """Whether this process runs the kernels of ``sc`` now (the compiled path taken for
    it): asked by code that has a compiled variant of its own and would not switch for
    it alone (``runs.csv``'s float cells). Makes no switch and reads no clock."""
    acc = _accounts.get(_key(sc))
    return acc is not None and acc.on is True


def expect(sc: Any, worlds: int, ahead: int) -> None:
    """A batch runner's word before a chunk: this process now runs ``worlds`` worlds of
    ``sc`` and can expect some ``ahead`` worlds of it in all from now on (this chunk's
    included; an estimate, since workers take chunks as they come).

    Under ``auto`` the switch is then decided by what is left instead of by what
    was spent: the first chunk runs on the numpy path and measures its CPU per
    world (unless the worlds ahead would pay for the switch even at
    :data:`AUTO_PRIOR` per world: then at once); before each later chunk, the
    kernels are taken as soon as the numpy
    path's CPU for the worlds ahead, times :data:`AUTO_SAVING`, is more than
    :data:`AUTO_SWITCH`, and not while it is less (a process's last chunks do
    not pay for a switch they would not win back). Kernels never compiled into
    the cache keep the rule of :data:`AUTO_AFTER_COLD`. The numbers are the
    same either way; only the time differs.
    """
    if mode() != "auto" or _preferred:
        return
    _, acc = _account(sc)
    if acc.on is not None or acc.cold:
        return
    acc.done += acc.running
    acc.running = worlds
    if not acc.done or acc.spent <= 0.0:
        # nothing measured yet: this chunk measures it, unless so many worlds are
        # ahead that even a cheap scenario's numpy path would pay for the switch
        acc.verdict = ahead * AUTO_PRIOR * AUTO_SAVING > AUTO_SWITCH
        return
    per_world = acc.spent / acc.done
    acc.verdict = ahead * per_world * AUTO_SAVING > AUTO_SWITCH


_accounts: dict[str, _Account] = {}
_last: list[Any] = [None, 0.0, 0]  # the scenario last seen, the CPU clock then, calls
_preferred = False  # set by prefer(): this process lives long


def prefer(on: bool = True) -> None:
    """Tell ``auto`` that this process lives long (the viewer): the kernels at once for
    every scenario whose kernels are in the cache. One that would have to be compiled
    first (an override in the viewer makes a new scenario, whose kernels may need
    compiling for seconds) stays on the numpy path, however long the process works on
    it, so that no slider move or game day stops for a compilation."""
    global _preferred
    _preferred = on


def force(sc: Any) -> bool:
    """Take the compiled path for scenario ``sc`` in this process from now on, whatever
    ``WARGAME_KERNELS`` says (``wargame validate --compile``, which then runs a few worlds
    so that the kernels are compiled into the cache and marked there); False where
    they cannot be had (numba not installed, or its functions not numpy's)."""
    if not usable():
        return False
    key, acc = _account(sc)
    acc.on = True
    _mark(key)
    return True


def compiled_for(state: WorldState) -> bool:
    """Whether the kernels of ``state``'s scenario are to be used now (every kernel's
    entry asks; with ``auto``, the rule of the module's docs)."""
    key, acc = _account(state.scenario)
    if acc.on is not None:
        return acc.on
    if mode() != "auto":  # active() said yes: numba chosen and usable
        _mark(key)
        acc.on = True
        return True
    if _preferred and acc.cold:
        return False  # never compiled: a long-lived process does not stop to compile
    if not _preferred and not acc.verdict:  # else: at once
        _last[2] += 1
        if _last[0] == key and _last[2] % 16:
            return False  # the clock is read on every 16th call only (it costs 1-2 us)
        now = time.process_time()
        if _last[0] == key:
            acc.spent += now - _last[1]
        _last[0], _last[1] = key, now
        waiting = acc.spent < acc.after if acc.verdict is None else not acc.verdict
        if waiting:
            return False
    acc.on = usable()
    if acc.on:
        _mark(key)
    return acc.on


def marker(key: str) -> Path:
    """The mark in the cache saying the kernels of scenario ``key`` (its sha256) were
    compiled with this numba and this generator."""
    return cache_folder() / "compiled" / f"{key[:24]}-{_generator()}"


def _mark(key: str) -> None:
    if key.startswith("id"):
        return  # a scenario built in memory, without a sha256: nothing to find it by later
    try:
        path = marker(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:  # a read-only cache: auto just waits longer next time
        pass


_generator_id: list[str] = []


def _generator() -> str:
    """A hash of the numba installed and of the code that generates kernels (this
    module and the others of :func:`_own_source`, and the scalar helpers): a new
    version of either compiles anew."""
    if not _generator_id:
        try:  # where numba is and when it was installed (its version costs 0.1 s to read)
            spec = importlib.util.find_spec("numba")
            origin = spec.origin if spec is not None and spec.origin else ""
            numba = f"{origin}:{os.stat(origin).st_mtime_ns}" if origin else "none"
        except (ImportError, ValueError, OSError):
            numba = "none"
        text = numba.encode() + _own_source() + HELPERS.encode()
        _generator_id.append(hashlib.sha256(text).hexdigest()[:16])
    return _generator_id[0]


def _own_source() -> bytes:
    """What the modules that generate kernels (this one, the outlook's and the
    morning's) or give them helpers (uniforms, numpy's loops) do: their code as
    their loaders give it (so also from a wheel or a zip on ``sys.path`` where
    ``__file__`` names no file), without docstrings, comments or line numbers
    (:func:`_behaviour`), so that an edit to their documentation does not make the
    next batches wait as for kernels never compiled. Where a module's code cannot
    be had, the package's version stands for it."""
    parts = []
    generators = ("outlook", "morning", "pcg", "elementary")
    for name in (__name__, *(f"sim.engine.{g}" for g in generators)):
        try:
            spec = importlib.util.find_spec(name)
            get = getattr(spec.loader, "get_code", None) if spec is not None else None
            code = get(name) if get is not None else None
        except (ImportError, OSError, ValueError, SyntaxError):
            code = None
        if code is None:
            from sim import __version__

            parts.append(f"sim {__version__}".encode())
        else:
            parts += _behaviour(code)
    return b"".join(parts)


def _behaviour(code: CodeType) -> list[bytes]:
    """``code``'s bytecode, names and constants, and those of the code inside it,
    without its docstring. A function's docstring is its first constant (None where
    it has none), a module's too, a class body's its second (after its name); where a
    module, a lambda or a comprehension has none, a string of its own may stand there
    and is left out too: the mark only tells ``auto`` how long to wait, never which
    numbers come out."""
    consts = list(code.co_consts)
    doc = 1 if code.co_name != "<module>" and not code.co_flags & _NEW_LOCALS else 0
    if len(consts) > doc and isinstance(consts[doc], str):
        consts[doc] = None
    inner = [c for c in consts if isinstance(c, CodeType)]
    plain = tuple(None if isinstance(c, CodeType) else c for c in consts)
    # marshal writes a set's items sorted, whatever the process's hash seed
    out = [code.co_code, marshal.dumps((code.co_names, code.co_varnames, plain))]
    for c in inner:
        out += _behaviour(c)
    return out


_NEW_LOCALS = 0x2
"""``CO_NEWLOCALS`` (``inspect``'s, whose import would cost every process some ms):
set on a function's code, not on a module's or a class body's."""


_agreement: bool | None = None  # the probe's answer, once per process


def probe_points() -> np.ndarray:
    """Where the compiled elementary functions are compared with numpy's."""
    x = np.random.default_rng(20221010).uniform(-50.0, 50.0, 4096)
    return np.concatenate([np.linspace(-50.0, 50.0, 1001), x])


def reference(x: np.ndarray, e: float) -> np.ndarray:
    """numpy's ``exp``, ``log`` and ``pow`` at the probe points (what kernels must match)."""
    return np.stack([np.exp(x), np.log(np.abs(x) + 1e-12), np.power(np.abs(x) / 50.0, e)])


def agrees_with_numpy() -> bool:
    """Whether the compiled ``exp``, ``log`` and ``pow`` equal numpy's to the bit.

    numpy computes them with its own SIMD code on some processors (Intel's SVML
    where there is AVX-512), which can differ from the C library's in the last
    bit; the kernels call numpy's own loops (:mod:`sim.engine.elementary`), so
    this is a check that they are found and called right. Where the two differ,
    the kernels are not used, so the results stay those of the numpy path.
    Checked once per process.
    """
    global _agreement
    if _agreement is None:
        mod = helpers()
        if mod is None:
            _agreement = False
        else:
            x = probe_points()
            got = np.empty((3, len(x)))
            try:
                mod._probe(x, 7.0, got)
            except Exception:  # a compilation failure: keep the numpy path
                _agreement = False
            else:
                _agreement = bool(np.array_equal(got, reference(x, 7.0)))
    return _agreement


def cache_folder() -> Path:
    """Where generated sources (and numba's cache of their machine code) are kept."""
    named = os.environ.get(CACHE_VARIABLE)
    if named:
        return Path(named)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wargame" / "kernels"


def source_hash(source: str) -> str:
    """The name a generated source is kept under (its sha256, with numba's version)."""
    numba = numba_module()
    version = getattr(numba, "__version__", "none")
    return hashlib.sha256(f"{version}\n{source}".encode()).hexdigest()[:24]


def module(source: str, prefix: str = "k") -> ModuleType | None:
    """The generated module of ``source``, written to the cache and imported once
    (as ``sim_kernel_<prefix><hash>``)."""
    key = prefix + source_hash(source)
    got = _modules.get(key)
    if got is not None or key in _failed:
        return got
    if prefix != "h" and helpers() is None:
        return None
    try:
        folder = cache_folder()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{key}.py"
        if not path.exists() or path.read_text(encoding="utf-8") != source:
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(source, encoding="utf-8")
            tmp.replace(path)  # atomic: a concurrent worker sees a whole file or none
        spec = importlib.util.spec_from_file_location(f"sim_kernel_{key}", path)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
    except Exception:  # any failure means: keep the numpy path
        _failed.add(key)
        return None
    _modules[key] = mod
    return mod


def helpers_source() -> str:
    """The module of the scalar helpers, each compiled once (with numba's cache)."""
    lines = ["import math", "", "import numpy as np", "from numba import njit", ""]
    for block in HELPERS.strip().split("\n\n\n"):
        lines += ["", "@njit(cache=True)", block.strip(), ""]
    return "\n".join(lines) + "\n" + elementary.SOURCE + "\n" + pcg.SOURCE


def helpers() -> ModuleType | None:
    """The helpers' module, shared by every kernel (looked up by the name of its
    source, worked out once per process: the kernels that read uniforms ask for it
    on every call)."""
    if not _helpers_key:
        _helpers_key.append("h" + source_hash(helpers_source()))
    got = _modules.get(_helpers_key[0])
    if got is not None:
        return got
    if numba_module() is None or not elementary.register():
        return None  # numpy's own loops cannot be called: no kernel could match them
    return module(helpers_source(), "h")


_helpers_key: list[str] = []

DRAWN = ("st", "tab", "bw", "wb", "wj")
"""The names a kernel that reads uniforms takes :func:`uniforms`' arrays by."""


def uniforms(rng: Rng, state: WorldState) -> tuple[np.ndarray, ...] | None:
    """What a kernel reads ``rng``'s uniforms at their places with (:mod:`sim.engine.pcg`);
    None where they cannot be had (another bit generator than PCG64, no helpers), and
    the numpy path draws.

    ``st``, ``tab``, ``bw``, ``wb``, ``wj``: per stream (one, or one per block of
    :class:`~sim.engine.draws.Streams`) its four words, moved on to the first place
    its worlds read (a part's offset, :func:`pcg.advanced`); the table of steps for
    rows of the widest chunk; each stream's row width (its chunk's worlds); and per
    world its stream and its place in that stream's rows from there.
    """
    mod = helpers()
    if mod is None:
        return None
    if isinstance(rng, Streams):
        gens, blocks = rng.gens, rng.blocks
    else:
        offset, width = state.places
        gens, blocks = [rng], ((0, state.R, offset, width),)
    if not all(pcg.usable(g) for g in gens):
        return None
    tab = pcg.table(mod, max(b[3] for b in blocks))
    if len(gens) == 1 and not blocks[0][2]:
        st = pcg.words(gens[0]).reshape(1, 4)
    else:
        st = np.empty((len(gens), 4), dtype=np.uint64)
        for k, (g, (_, _, offset, _)) in enumerate(zip(gens, blocks, strict=True)):
            st[k] = pcg.advanced(pcg.words(g), tab, offset) if offset else pcg.words(g)
    return (st, tab, *_layout(blocks))


def _layout(blocks: tuple[tuple[int, int, int, int], ...]) -> tuple[np.ndarray, ...]:
    """Each stream's row width and each world's stream and place (:func:`uniforms`),
    read only, made once per layout (a few at once at most)."""
    got = _layouts.get(blocks)
    if got is None:
        bw = np.array([b[3] for b in blocks], dtype=np.int64)
        wb = np.concatenate(
            [np.full(n, k, dtype=np.int64) for k, (_, n, _, _) in enumerate(blocks)]
        )
        wj = np.concatenate([np.arange(n, dtype=np.int64) for _, n, _, _ in blocks])
        got = (bw, wb, wj)
        for a in got:
            a.flags.writeable = False
        with _lock:
            if len(_layouts) >= 8:
                del _layouts[next(iter(_layouts))]
            _layouts[blocks] = got
    return got


_layouts: dict[tuple[tuple[int, int, int, int], ...], tuple[np.ndarray, ...]] = {}
_lock = threading.Lock()


def header() -> str:
    """The start of every kernel module: imports, the helpers from their own module."""
    shared = f"sim_kernel_h{source_hash(helpers_source())}"
    lines = ["import math", "", "import numpy as np", "from numba import njit", ""]
    lines.append(
        f"from {shared} import {', '.join((*HELPER_NAMES, *elementary.NAMES, *pcg.NAMES))}"
    )
    return "\n".join(lines) + "\n"


# -- generated kernels --------------------------------------------------------------------


class GeneratedKernel:
    """A loop over the worlds generated for one part of the scenario.

    ``fixed`` are the arguments every call passes first (arrays and numbers
    of the engine), ``names`` the names the expressions in ``body`` read, in
    the order the kernel takes them after ``fixed``; ``body`` runs for world
    ``i`` (or, where ``loop`` is false, is the function's whole body, with loops
    of its own over ``i``). One source (and one compiled function) is made per
    pattern of which names are world arrays and which scalars in the views it is
    given.
    """

    __slots__ = ("body", "fixed", "loop", "names", "patterns", "read", "variants")

    def __init__(
        self, body: list[str], names: tuple[str, ...], fixed: tuple[str, ...], loop: bool = True
    ) -> None:
        self.body = body
        self.names = names
        self.fixed = fixed
        self.loop = loop
        self.variants: dict[str, Any] = {}
        self.patterns: dict[tuple[type, ...], Any] = {}  # for pattern()
        self.read = _getter(names)

    def __deepcopy__(self, memo: dict[int, Any]) -> GeneratedKernel:
        """The kernel itself: it is the scenario's code and holds nothing of a world,
        so a copy of a state (the game's look ahead) shares it. Copying its compiled
        functions would also be unsafe: numba gives a dispatcher its identity on its
        first copy, and two threads doing that at once fail an assertion."""
        return self

    def source(self, pattern: str) -> str:
        """The module source for the pattern (``"a"`` array, ``"s"`` scalar, per name)."""
        variables = {
            n: f"v{k}[i]" if kind == "a" else f"v{k}"
            for k, (n, kind) in enumerate(zip(self.names, pattern, strict=True))
        }
        args = ", ".join([*self.fixed, *(f"v{k}" for k in range(len(self.names)))])
        lines = [f"def kernel({args}):"]
        indent = "    "
        if self.loop:
            lines.append("    for i in range(R):")
            indent = "        "
        lines += [indent + substitute(line, variables) for line in self.body]
        return header() + "\n\n@njit(cache=True)\n" + "\n".join(lines) + "\n"

    def function(self, pattern: str) -> Any:
        """The compiled kernel for ``pattern``, or None where it cannot be had."""
        if pattern in self.variants:
            return self.variants[pattern]
        mod = module(self.source(pattern))
        fn = None if mod is None else mod.kernel
        self.variants[pattern] = fn
        return fn

    def run(self, fixed: tuple[Any, ...], view: dict[str, Any], R: int) -> bool:
        """Call the kernel with ``fixed`` and the names read from ``view``; False (and
        nothing written) where it cannot run, so the caller takes the numpy path."""
        got = self.prepare(view, R)
        return got is not None and self.call(got, fixed)

    def prepare(self, view: dict[str, Any], R: int) -> tuple[Any, Sequence[Any], str] | None:
        """The compiled function for ``view``'s pattern with the names read from it, for
        :meth:`call` (once or several times on the same view); None where there is none."""
        args = self.read(view)
        key = pattern(self.patterns, args, R)
        if key is None:
            return None
        fn = self.variants.get(key, _UNSEEN)
        if fn is _UNSEEN:
            fn = self.function(key)
        if fn is None:
            return None
        return fn, args, key

    def call(self, prepared: tuple[Any, Sequence[Any], str], fixed: tuple[Any, ...]) -> bool:
        """Call a :meth:`prepare`'d kernel with ``fixed``; False (and nothing written)
        where it fails, and that pattern is not tried again."""
        fn, args, key = prepared
        try:
            fn(*fixed, *args)
        except Exception:  # a typing failure in numba: keep the numpy path
            self.variants[key] = None
            return False
        return True


_UNSEEN = object()
"""What :attr:`GeneratedKernel.variants` gives for a pattern not compiled yet."""


def _getter(keys: Sequence[Any]) -> Any:
    """A function giving the tuple of the items at ``keys`` of what it is given (one C
    call: ``operator.itemgetter``, which gives a bare item for a single key)."""
    if not keys:
        return lambda got: ()
    if len(keys) == 1:
        (key,) = keys
        return lambda got: (got[key],)
    return operator.itemgetter(*keys)


def pattern(patterns: dict[tuple[type, ...], Any], args: Sequence[Any], R: int) -> str | None:
    """The pattern of ``args`` (``"a"`` a world array of shape ``(R,)``, ``"s"`` a
    number, per argument), None where one is neither (another shape, another type:
    no kernel). Which argument is an array and which a number is worked out once
    per tuple of the arguments' types (kept in ``patterns``, one per kernel), so
    that a call only looks at the arrays' shapes."""
    types = tuple(map(type, args))
    got = patterns.get(types)
    if got is None:
        arrays = [k for k, t in enumerate(types) if issubclass(t, np.ndarray)]
        scalar = (bool, int, float, np.bool_, np.integer, np.floating)
        plain = all(issubclass(t, np.ndarray) or issubclass(t, scalar) for t in types)
        kinds = "".join("a" if issubclass(t, np.ndarray) else "s" for t in types)
        got = patterns[types] = (kinds if plain else None, _getter(arrays) if arrays else None)
    key: str | None = got[0]
    at = got[1]
    if key is None:
        return None
    if at is not None:
        shape = (R,)
        for a in at(args):  # a kernel has a few names: a plain loop is quickest
            if a.shape != shape:
                return None  # an array of another shape: no kernel
    return key


def planned(state: WorldState, key: str, make: Any) -> GeneratedKernel | None:
    """The kernel kept in ``state.plans`` under ``key``, made by ``make()`` the first
    time (None where ``make`` finds an expression without scalar code)."""
    plans = state.plans
    if key not in plans:
        try:
            plans[key] = make()
        except LookupError:
            plans[key] = None
    kernel: GeneratedKernel | None = plans[key]
    return kernel


class _Codes:
    """The scalar code of expressions, collected with the names they read.

    Called with an expression, gives its code; :meth:`number` and
    :meth:`truth` give it as a float or a bool, as the numpy path's casts
    (``_per_world`` to float64, ``_mask`` to bool) make it.
    """

    def __init__(self) -> None:
        self.codes: list[str] = []

    def __call__(self, expr: Expr) -> str:
        c = expr.code
        if c is None:
            raise LookupError(expr.source)  # no scalar code: no kernel
        self.codes.append(c)
        return c

    def number(self, expr: Expr) -> str:
        """The value as a float (numba has no ``float(bool)``)."""
        c = self(expr)
        return f"(1.0 if {c} else 0.0)" if expr.type == "bool" else f"float({c})"

    def truth(self, expr: Expr) -> str:
        """A condition's value (conditions are true/false already)."""
        c = self(expr)
        return c if expr.type == "bool" else f"bool({c})"

    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(n for c in self.codes for n in names_in(c)))


# -- the chance of a response ------------------------------------------------------------


def chance_kernel(resp: Response, state: WorldState) -> GeneratedKernel | None:
    """The kernel of ``resp``'s chance: ``out[i] = P_H`` of world ``i``, as
    :func:`sim.engine.foresight.daily_probability` and ``1 - (1 - p) ** H`` compute
    it; generated once per scenario model, None if an expression has no scalar code.

    The numpy path leaves out factors that are 1 and products with a first
    factor of 1, which changes no bit (``1.0 * x == x``); the loop multiplies
    them as the formulation does where that is simpler.
    """

    def make() -> GeneratedKernel:
        code = _Codes()
        body = ["ok = True" if not resp.action.once else "ok = taken[i] == 0"]
        for r in resp.constraints:
            body.append(f"ok = ok and {code.truth(r.condition)}")
        # Where the move is not allowed, its chance is 0 whatever the rules say; where
        # a trigger's `when` does not hold its factor is 1 (``miss * 1.0 == miss``):
        # neither is worked out there.
        inner = ["miss = 1.0"]
        for r in resp.triggers:
            p = "1.0" if r.prob is None else f"_clip01({code.number(r.prob)})"
            inner += [f"if {code.truth(r.condition)}:", f"    miss = miss * (1.0 - {p})"]
        if not resp.preferences:
            inner.append("chance = 1.0 - miss")
        else:
            inner += ["active = False", "u = 0.0"]
            for r in resp.preferences:
                assert r.utility is not None
                inner.append(f"on = {code.truth(r.condition)}")
                inner.append(f"u = u + ({code.number(r.utility)} if on else 0.0)")
                inner.append("active = active or on")
            for r in resp.rival:
                assert r.utility is not None
                inner.append(f"on = {code.truth(r.condition)}")
                inner.append(f"u = u - ({code.number(r.utility)} if on else 0.0)")
            inner.append(f"beta = {code.number(resp.actor.rationality)}")
            inner.append("share = 1.0 / (1.0 + _npexp((-beta) * u)) if active else 0.0")
            inner.append("chance = 1.0 - miss * (1.0 - share)")
        body += ["chance = 0.0", "if ok:", *("    " + line for line in inner)]
        body += ["p = chance if ok else 0.0", "q = 1.0 - p"]
        # numpy's ``** H`` (a Python int): a copy for 1, a square for 2, pow otherwise
        # (and ``pow(1, H)`` is 1 exactly, by the C standard: not called for it)
        body.append(
            "out[i] = 1.0 - (q if H == 1 else (q * q if H == 2 else"
            " (1.0 if q == 1.0 else _nppow(q, float(H)))))"
        )
        return GeneratedKernel(body, code.names(), ("R", "H", "out", "taken"))

    return planned(state, f"kernel:chance:{resp.actor.id}:{resp.action.index}", make)


# -- a move taken in every world ----------------------------------------------------------------


def move_kernel(actor: Actor, action: Action, state: WorldState) -> GeneratedKernel | None:
    """The kernel of ``actor`` taking ``action`` in every world, as
    :func:`sim.engine.adjudication.adjudicate` applies one such decision: the
    effects evaluated on the snapshot and combined by the conflict rules, each
    target's new value cast to its type and bounds, the ladder moved (``rung``,
    ``peak``, ``first_day``) and the move counted in the actor's history.

    Fixed arguments: ``R``, ``day``, ``rung`` and ``peak`` (read),
    ``new_rung`` and ``new_peak`` (written where the ladder moves),
    ``newly`` (``newly[0]`` counts the worlds whose peak rose), ``first_day``,
    the action's ``count`` and ``last`` rows (written in place), then per
    target ``old<k>`` (read) and ``new<k>`` (written), in the order of
    :func:`move_targets`. None if an expression has no scalar code.
    """

    def make() -> GeneratedKernel:
        code = _Codes()
        types = state.var_types
        targets = move_targets(action)
        slot = {t: k for k, t in enumerate(targets)}
        body: list[str] = []
        seen: set[str] = set()
        for eff in action.effects if not action.default else ():
            k, var = slot[eff.target], types[eff.target]
            first = eff.target not in seen
            seen.add(eff.target)
            if var.type in ("int", "float"):
                change = f"({code.number(eff.expr)} - old{k}[i])"
                body.append(f"d{k} = {change}" if first else f"d{k} = d{k} + {change}")
            elif var.type == "bool":
                v = code.truth(eff.expr)
                if first:
                    body += [f"t{k} = {v}", f"f{k} = not t{k}"]
                else:
                    body += [f"b{k} = {v}", f"t{k} = t{k} or b{k}", f"f{k} = f{k} or not b{k}"]
            else:
                start = "-1" if first else f"m{k}"
                body.append(f"m{k} = max({start}, {code(eff.expr)})")
        body += _written(targets, types)
        up, down = (None, None) if action.default else (action.escalate_to, action.deescalate_to)
        if up is not None or down is not None:
            body.append("r = rung[i]")
            if up is not None:
                body.append(f"r = max(r, {int(up)})")
            elif down is not None:  # any escalatory move blocks de-escalation
                body.append(f"r = {int(down)} if {int(down)} < r else r")
            body += _ladder(len(state.first_day))
        body += ["count[i] += 1", "last[i] = day"]
        fixed: tuple[str, ...] = ("R", "day", "rung", "peak", "new_rung", "new_peak", "newly")
        fixed += ("first_day", "count", "last")
        fixed += tuple(x for k in range(len(targets)) for x in (f"old{k}", f"new{k}"))
        return GeneratedKernel(body, code.names(), fixed)

    return planned(state, f"kernel:move:{actor.id}:{action.index}", make)


def move_targets(action: Action) -> tuple[str, ...]:
    """The state variables ``action``'s effects write, each once, in order."""
    if action.default:
        return ()
    return tuple(dict.fromkeys(e.target for e in action.effects))


def _written(targets: tuple[str, ...], types: dict[str, StateVar]) -> list[str]:
    """The lines that write each target's new value ``new<k>[i]`` from its old one and
    the combined changes (``d<k>`` added, ``t<k>``/``f<k>`` set true/false, ``m<k>``
    the highest enum value or -1), cast to its type and bounds as
    :meth:`sim.engine.adjudication.Changes.apply` does."""
    return [line for k, t in enumerate(targets) for line in _write(k, types[t])]


def _write(k: int, var: StateVar) -> list[str]:
    """The lines of :func:`_written` for target ``k``."""
    lo = "-math.inf" if var.min is None else repr(float(var.min))
    hi = "math.inf" if var.max is None else repr(float(var.max))
    bounded = var.min is not None or var.max is not None
    if var.type == "float":
        x = f"old{k}[i] + d{k}"
        return [f"new{k}[i] = _clipf({x}, {lo}, {hi})" if bounded else f"new{k}[i] = {x}"]
    if var.type == "int":
        body = [f"x = old{k}[i] + d{k}", f"x = float(old{k}[i]) if x != x else x"]
        if bounded:
            body.append(f"x = _clipf(x, {lo}, {hi})")
        return [*body, f"new{k}[i] = _to_int(x)"]
    if var.type == "bool":
        return [f"new{k}[i] = t{k} | (old{k}[i] & (not f{k}))"]
    return [f"new{k}[i] = m{k} if m{k} >= 0 else old{k}[i]"]


_NUMBERS = ("int", "float")


def effect_start(k: int, var: StateVar) -> list[str]:
    """The locals of target ``k`` before any change, by its type: the sum of the changes
    (``d``, from -0.0: adding the first change to it gives that change to the bit, as
    the numpy path takes it, not added to anything), set true or false (``t``, ``f``),
    the highest enum value (``m``)."""
    if var.type in _NUMBERS:
        return [f"d{k} = -0.0"]
    if var.type == "bool":
        return [f"t{k} = False", f"f{k} = False"]
    return [f"m{k} = -1"]


def effect_lines(k: int, var: StateVar, effect: Effect, code: _Codes) -> list[str]:
    """One effect on target ``k`` where the local ``on`` holds, by the conflict rules of
    :class:`~sim.engine.adjudication.Changes`: a number's change is -0.0 where it does
    not (as the numpy path's ``where`` has it: adding -0.0 keeps every value to the
    bit); a bool is set true or false; an enum keeps the highest value. No branch: the
    effect's value is worked out in every world."""
    if var.type in _NUMBERS:
        change = f"({code.number(effect.expr)} - old{k}[i])"
        return [f"c = {change} if on else -0.0", f"d{k} = d{k} + c"]
    if var.type == "bool":
        truth = code.truth(effect.expr)
        return [f"b = {truth}", f"t{k} = t{k} | (on & b)", f"f{k} = f{k} | (on & (not b))"]
    return [f"m{k} = max(m{k}, {code(effect.expr)}) if on else m{k}"]


RUNG_LINES = [
    "r = rung[i]",
    "if any_up:",
    "    r = max(r, up)",
    "if any_down and down >= 0 and down < r and (up < 0 or not any_up):",
    "    r = down",
    "if any_up or any_down:",
]
"""The new rung ``r`` of world ``i`` from the highest escalation ``up`` and de-escalation
``down`` of the day (-1 for none): the escalation wins, a de-escalation lowers the rung
only where nothing escalated; the next lines (indented) are :func:`_ladder`'s."""


def _ladder(rungs: int) -> list[str]:
    """The lines after the new rung ``r`` of world ``i`` is known: ``new_rung``,
    ``new_peak``, ``first_day`` of every rung passed on the way up and ``newly[0]``."""
    body = ["new_rung[i] = r", "if r > peak[i]:"]
    for j in range(1, rungs):
        body.append(f"    if r >= {j} and first_day[{j}, i] < 0:")
        body.append(f"        first_day[{j}, i] = day")
    return [*body, "    new_peak[i] = r", "    newly[0] += 1", "else:", "    new_peak[i] = peak[i]"]


def move(state: WorldState, env: dict[str, Any], actor: Actor, action: Action) -> bool:
    """Apply ``actor`` taking ``action`` in every world to ``state`` (a hypothetical
    copy: its ``first_day`` and the actor's history rows its own) by the generated
    kernel, as :func:`~sim.engine.adjudication.adjudicate` would; False, with
    nothing written, where there is no kernel."""
    kernel = move_kernel(actor, action, state) if compiled_for(state) else None
    if kernel is None:
        return False
    targets = move_targets(action)
    out = _Written(state, targets)
    history = (
        state.action_count[actor.id][action.index],
        state.action_last[actor.id][action.index],
    )
    if not kernel.run(out.fixed(history), env, state.R):
        return False
    out.store(
        set(targets),
        not action.default and (action.escalate_to, action.deescalate_to) != (None, None),
    )
    return True


class _Written:
    """The arrays a kernel writes a state into: each target's new values, the new
    ``rung`` and ``peak`` and the count of worlds whose peak rose, stored into the
    state after the kernel ran (:meth:`store`)."""

    def __init__(self, state: WorldState, targets: tuple[str, ...]) -> None:
        R, types = state.R, state.var_types
        self.state, self.targets = state, targets
        self.news: list[np.ndarray] = [np.empty(R, dtype=_DTYPES[types[t].type]) for t in targets]
        self.rung, self.peak = np.empty(R, dtype=np.int64), np.empty(R, dtype=np.int64)
        self.newly = np.zeros(1, dtype=np.int64)

    def fixed(self, middle: tuple[Any, ...]) -> tuple[Any, ...]:
        """The kernel's fixed arguments: ``R``, ``day``, the ladder's arrays, ``middle``,
        then each target's old and new values."""
        st = self.state
        olds = [st.values[t] for t in self.targets]
        return (
            *(st.R, st.day, st.rung, st.peak, self.rung, self.peak, self.newly, st.first_day),
            *middle,
            *(a for pair in zip(olds, self.news, strict=True) for a in pair),
        )

    def store(self, touched: set[str], ladder: bool) -> None:
        """Put the new values of the ``touched`` targets into the state, and the ladder
        if it may have moved."""
        st = self.state
        for t, new in zip(self.targets, self.news, strict=True):
            if t in touched:
                st.values[t] = new
        if ladder:
            st.rung = self.rung
            if self.newly[0]:
                st.peak = self.peak


# -- a day's adjudication -----------------------------------------------------------------


def adjudication_kernel(actor_ids: tuple[str, ...], state: WorldState) -> GeneratedKernel | None:
    """The kernel of a day's decisions of ``actor_ids`` (in that order) applied at
    once, as :func:`sim.engine.adjudication.adjudicate` applies them: in each world,
    the effects of each actor's chosen action evaluated on the snapshot and combined
    by the conflict rules (a change of -0.0 for the worlds where an action was not
    chosen, as the numpy path's ``where`` has it), each target cast to its type
    and bounds, the ladder moved and the history of the moves written.

    A loop per actor first writes its history (its rows seen as one flat array,
    ``count[a, i]`` at ``a * R + i``: half the cost of a row and a column index
    per world) and marks which actions some world took (``taken``). That is what
    the numpy path decides from all the worlds at once: which changes it adds up
    at all, hence which targets it writes (the others keep their arrays, as
    there, and are not worked out) and whether the ladder may move. Then one loop
    per target written, over the actions that change it, and one for the ladder:
    short loops without a branch on the world's values (an action no world took is
    worked out too, its change -0.0, which adds nothing).

    Fixed arguments: ``R``, ``day``, ``rung``, ``peak``, ``new_rung``,
    ``new_peak``, ``newly``, ``first_day``, ``taken`` (per action of each actor in
    turn, whether some world took it; written), ``marks`` (per target whether it
    was written, then whether the ladder may have moved; written), per actor its
    chosen ``act<j>`` and its ``count<j>`` and ``last<j>`` history (actions x
    worlds, C order, written), then per target ``old<k>`` and ``new<k>``, in the
    order of :func:`adjudication_targets`. None if an expression has no scalar code.
    """

    def make() -> GeneratedKernel:
        code = _Codes()
        types = state.var_types
        actors = [state.actors[a] for a in actor_ids]
        targets = adjudication_targets(actors)
        places = _places(actors)
        body = ["newly[0] = 0", "taken[:] = False"]
        offset = 0
        for j, actor in enumerate(actors):
            body += [
                f"c{j} = count{j}.reshape(count{j}.size)",
                f"l{j} = last{j}.reshape(last{j}.size)",
                "for i in range(R):",
                f"    a = act{j}[i]",
                f"    taken[{offset} + a] = True" if offset else "    taken[a] = True",
                "    at = a * R + i",
                f"    c{j}[at] += 1",
                f"    l{j}[at] = day",
            ]
            offset += len(actor.actions)
        moves = [(p, j, x) for p, j, x in places if not x.default]
        body += [f"k{p} = taken[{p}]" for p, _, _ in moves]
        for k, t in enumerate(targets):
            var = types[t]
            lines = effect_start(k, var)
            acts = [(p, j, x) for p, j, x in moves if t in move_targets(x)]
            for _, j, x in acts:
                lines.append(f"on = act{j}[i] == {x.index}")
                for e in x.effects:
                    if e.target == t:
                        lines += effect_lines(k, var, e, code)
            lines += _write(k, var)
            body += [f"w{k} = {_some(acts)}", f"marks[{k}] = w{k}", *_worlds(f"w{k}", lines)]
        lines = ["up = -1", "down = -1"]
        for _, j, x in moves:
            if x.escalate_to is not None or x.deescalate_to is not None:
                lines.append(f"on = act{j}[i] == {x.index}")
            if x.escalate_to is not None:
                lines.append(f"up = max(up, {int(x.escalate_to)} if on else -1)")
            if x.deescalate_to is not None:
                lines.append(f"down = max(down, {int(x.deescalate_to)} if on else -1)")
        lines += [*RUNG_LINES, *("    " + line for line in _ladder(len(state.first_day)))]
        body.append(f"any_up = {_some([m for m in moves if m[2].escalate_to is not None])}")
        body.append(f"any_down = {_some([m for m in moves if m[2].deescalate_to is not None])}")
        body += [
            f"marks[{len(targets)}] = any_up or any_down",
            *_worlds("any_up or any_down", lines),
        ]
        fixed: tuple[str, ...] = ("R", "day", "rung", "peak", "new_rung", "new_peak", "newly")
        fixed += ("first_day", "taken", "marks")
        fixed += tuple(x for j in range(len(actors)) for x in (f"act{j}", f"count{j}", f"last{j}"))
        fixed += tuple(x for k in range(len(targets)) for x in (f"old{k}", f"new{k}"))
        return GeneratedKernel(body, code.names(), fixed, loop=False)

    return planned(state, f"kernel:adjudicate:{','.join(actor_ids)}", make)


def _some(moves: list[tuple[int, int, Action]]) -> str:
    """Whether some world took one of ``moves`` (their ``k<place>`` locals)."""
    return " or ".join(f"k{p}" for p, _, _ in moves) or "False"


def _worlds(condition: str, lines: list[str]) -> list[str]:
    """A loop of ``lines`` over the worlds, where ``condition`` holds."""
    return [f"if {condition}:", "    for i in range(R):", *("        " + x for x in lines)]


def adjudication_targets(actors: list[Actor]) -> tuple[str, ...]:
    """The state variables the actions of ``actors`` write, each once, in order."""
    return tuple(dict.fromkeys(t for a in actors for act in a.actions for t in move_targets(act)))


def _places(actors: list[Actor]) -> list[tuple[int, int, Action]]:
    """Each action of ``actors`` with its place in the kernel's ``taken`` and its actor's."""
    places, offset = [], 0
    for j, a in enumerate(actors):
        places += [(offset + x.index, j, x) for x in a.actions]
        offset += len(a.actions)
    return places


class _Adjudication:
    """A day's kernel with what :func:`adjudicate` needs besides, worked out once per
    scenario model: the targets and their dtypes, and the arrays the kernel writes
    into, kept from call to call per number of worlds and thread. A target's new
    array is handed to the state where the kernel wrote it, and made anew for the
    next call; one it did not write is nobody's, and serves again."""

    __slots__ = ("dtypes", "kept", "kernel", "slots", "targets")

    def __init__(self, kernel: GeneratedKernel, actors: list[Actor], state: WorldState) -> None:
        self.kernel = kernel
        self.targets = adjudication_targets(actors)
        self.dtypes = [_DTYPES[state.var_types[t].type] for t in self.targets]
        self.slots = sum(len(a.actions) for a in actors)
        self.kept: dict[tuple[int, int], list[Any]] = {}

    def arrays(self, R: int) -> list[Any]:
        """``[taken, marks, newly, new_rung, new_peak, new<k>...]`` for ``R`` worlds in
        this thread; an entry the caller set to None (handed on) is made anew."""
        key = (R, threading.get_ident())
        got = self.kept.get(key)
        if got is None:
            if len(self.kept) >= 4:
                self.kept.clear()
            got = self.kept[key] = [
                np.zeros(self.slots, dtype=bool),
                np.zeros(len(self.targets) + 1, dtype=bool),
                np.zeros(1, dtype=np.int64),
                *(None for _ in range(2 + len(self.targets))),
            ]
        for k in range(3, len(got)):
            if got[k] is None:
                got[k] = np.empty(R, dtype=np.int64 if k < 5 else self.dtypes[k - 5])
        return got


def _adjudication_plan(actor_ids: tuple[str, ...], state: WorldState) -> _Adjudication | None:
    """The :class:`_Adjudication` of ``actor_ids``' decisions, made once per scenario
    model; None where there is no kernel (or an actor comes twice: not a day's
    decisions)."""
    key = "kernel:adjudicate-plan:" + ",".join(actor_ids)
    plans = state.plans
    got = plans.get(key, _UNSEEN)
    if got is _UNSEEN:
        twice = len(set(actor_ids)) < len(actor_ids)
        kernel = None if twice else adjudication_kernel(actor_ids, state)
        actors = [state.actors[a] for a in actor_ids]
        got = plans[key] = None if kernel is None else _Adjudication(kernel, actors, state)
    plan: _Adjudication | None = got
    return plan


def adjudicate(state: WorldState, decisions: Sequence[Decision], env: dict[str, Any]) -> bool:
    """Apply a day's ``decisions`` to ``state`` by the generated kernel, as
    :func:`sim.engine.adjudication.adjudicate` applies them, except ``rule_fired``
    (the caller writes it); False, with nothing written, where there is no kernel."""
    if not decisions or not compiled_for(state):
        return False
    plan = _adjudication_plan(tuple([d.actor for d in decisions]), state)
    if plan is None:
        return False
    R = state.R
    out = plan.arrays(R)
    counts, lasts, values = state.action_count, state.action_last, state.values
    fixed = [R, state.day, state.rung, state.peak, *out[3:5], out[2], state.first_day, *out[:2]]
    for d in decisions:
        fixed += (d.action, counts[d.actor], lasts[d.actor])
    for k, t in enumerate(plan.targets):
        fixed += (values[t], out[5 + k])
    if not plan.kernel.run(tuple(fixed), env, R):
        return False
    written = out[1].tolist()
    for k, t in enumerate(plan.targets):
        if written[k]:
            values[t] = out[5 + k]
            out[5 + k] = None
    if written[-1]:  # the ladder may have moved
        state.rung = out[3]
        out[3] = None
        if out[2][0]:  # some peak rose
            state.peak = out[4]
            out[4] = None
    return True


def fired(state: WorldState, decisions: Sequence[Decision]) -> bool:
    """``rule_fired`` set by a kernel where each decision's ``rule`` is a rule (what
    :func:`sim.engine.adjudication._fired` does with a mask and an index per decision,
    one loop over the worlds instead); the constraints that bound are left to the
    caller. False, with nothing written, where there is no kernel.

    One call for all the decisions (a kernel per number of decisions): it only sets
    marks, so the order in which worlds and decisions are visited changes nothing,
    and each call into a kernel costs a few microseconds of its own."""
    n = len(decisions)
    if not n:
        return True  # nothing to mark
    kernel = planned(state, f"kernel:fired:{n}", lambda: _fired_kernel(n))
    if kernel is None:
        return False
    R = state.R
    prepared = kernel.prepare({}, R)
    if prepared is None:
        return False
    return kernel.call(prepared, (R, state.rule_fired, *[dec.rule for dec in decisions]))


def _fired_kernel(n: int) -> GeneratedKernel:
    body = []
    for j in range(n):
        body += [f"r = rule{j}[i]", "if r >= 0:", "    fired[r, i] = True"]
    return GeneratedKernel(body, (), ("R", "fired", *(f"rule{j}" for j in range(n))))


_DTYPES = {"int": np.int64, "float": np.float64, "bool": np.bool_, "enum": np.int64}
"""The dtype of a state variable's array, by its type."""


# -- what a decider values ---------------------------------------------------------------------


def values_kernel(decider: Actor, state: WorldState) -> GeneratedKernel | None:
    """The kernel of the decider's value ``V`` (``out[i]``: the sum of ``weight * of``
    over its value terms, in their order, from 0), as the foresight's numpy path
    adds it up; None if an expression has no scalar code."""

    def make() -> GeneratedKernel:
        code = _Codes()
        body = ["t = 0.0", *(f"t = t + {term}" for term in value_terms(decider, code))]
        body.append("out[i] = t")
        return GeneratedKernel(body, code.names(), ("R", "out"))

    return planned(state, f"kernel:values:{decider.id}", make)


def value_terms(decider: Actor, code: _Codes) -> list[str]:
    """The scalar code of each of ``decider``'s value terms, ``weight * of``, in order."""
    return [f"{code.number(term.weight)} * {code.number(term.of)}" for term in decider.values]


def value(decider: Actor, state: WorldState, view: dict[str, Any]) -> np.ndarray | None:
    """``V`` of ``decider`` per world on ``view`` by the generated kernel (None: none)."""
    kernel = values_kernel(decider, state) if compiled_for(state) else None
    if kernel is None:
        return None
    out = np.empty(state.R)
    return out if kernel.run((state.R, out), view, state.R) else None


# -- an actor's choice by preferences ---------------------------------------------------------


def choice_kernel(actor: Actor, plan: ActorPlan, state: WorldState) -> GeneratedKernel | None:
    """The kernel of ``actor``'s choice by preferences and softmax, as
    :func:`sim.engine.decision.decide` makes it after its triggers: each
    candidate's summed utility, best rule and (where no trigger decided) the
    softmax pick of :func:`~sim.engine.decision.softmax_pick`, world by world;
    None if an expression has no scalar code.

    Fixed arguments: ``R``, the decision's ``chosen`` and ``rule_of`` (written
    where ``chosen < 0``), the ``allowed`` and ``wanted`` masks (actions x
    worlds; ``wanted`` written for constrained actions), the softmax's uniform
    draws and the foresight utilities ``f0, f1...`` in the order of the plan's
    foresight rules. The
    draws are read only in undecided worlds, so where there are none (or a
    single candidate, which needs none) a placeholder is passed.
    """

    def make() -> GeneratedKernel:
        code = _Codes()
        body, foreseen = _choice_body(actor, plan, code)
        fixed = ("R", "chosen", "rule_of", "allowed", "wanted", "draws")
        return GeneratedKernel(body, code.names(), fixed + tuple(f"f{k}" for k in range(foreseen)))

    return planned(state, f"kernel:choice:{actor.id}", make)


_IN_ARRAYS = {"allowed": "allowed[{a}, i]", "wanted": "wanted[{a}, i]"}
_IN_ARRAYS |= {"chosen": "chosen[i]", "rule_of": "rule_of[i]", "draw": "draws[i]"}
"""Where :func:`_choice_body` reads and writes a world's masks and decision (the
arrays) and where it reads the softmax's uniform (``draws``)."""


def _choice_body(
    actor: Actor, plan: ActorPlan, code: _Codes, at: dict[str, str] = _IN_ARRAYS
) -> tuple[list[str], int]:
    """The lines of :func:`choice_kernel`'s loop for world ``i`` and the number of
    foresight utilities ``f0, f1...`` they read; ``at`` says where world ``i``'s
    ``allowed`` and ``wanted`` flag of action ``{a}``, its ``chosen`` action and
    ``rule_of`` are (array elements, or local variables) and ``draw`` its softmax
    uniform."""
    cands = [int(c) for c in plan.candidates]
    m = len(cands)
    chosen, rule_of = at["chosen"], at["rule_of"]
    body, foreseen = _utility_lines(plan, code, at)
    if m == 1:
        return body, foreseen
    body += _logit_lines(actor, plan, code, at)
    # exp(0) is 1 and exp(-inf) 0 exactly: the largest logit's weight and a
    # candidate's that is not allowed are had without calling exp
    body += [
        "    e = lg0 - mx",
        "    cdf0 = 1.0 if e == 0.0 else (0.0 if e == -math.inf else _npexp(e))",
    ]
    for j in range(1, m):
        body += [
            f"    e = lg{j} - mx",
            "    x = 1.0 if e == 0.0 else (0.0 if e == -math.inf else _npexp(e))",
            f"    cdf{j} = cdf{j - 1} + x",
        ]
    body += _pick_lines(cands, at["draw"], [f"br{j}" for j in range(m)])
    body += [f"    {chosen} = act", f"    {rule_of} = rr"]
    return body, foreseen


def _choice_parts(
    actor: Actor, plan: ActorPlan, code: _Codes, at: dict[str, str], row: int
) -> tuple[list[str], list[str], list[str], int]:
    """:func:`_choice_body` in two loops over the worlds, so that every ``exp`` of the
    softmax is taken in one call of numpy's loop (:mod:`sim.engine.elementary`; one
    call per number costs some 20 ns, more than the rest of a world's choice).

    Returns the lines that make the buffers (before the first loop), those of the
    first loop for world ``i`` (the utilities and logits; each logit's distance from
    the largest in ``E``, each best rule in ``BR``, and each distance whose ``exp``
    is wanted, in the worlds' order, in ``xs``), those after it and of the second
    loop for world ``i`` (``exp`` of ``xs`` into ``ys``, then the softmax's pick of
    the worlds no trigger decided, ``chosen[i] < 0``: the numbers of ``ys`` read
    back in the same order), and the number of foresight utilities read. A single
    candidate needs no second loop (its lines are empty).

    ``row`` is the softmax's row of the actor's stream (``ub``, ``st``): the second loop
    steps the stream's state once per world and reads each pick's uniform from it
    (``_step``, ``_double``: the number ``_uniform`` gives at that place), one 128-bit
    product a world and no table, where reading each at its place costs two and a
    table's row; nearly every world of a day reads the softmax's number, few a trigger's.
    """
    m = len(plan.candidates)
    cands = [int(c) for c in plan.candidates]
    first, foreseen = _utility_lines(plan, code, at)
    if m == 1:
        return [], first, [], foreseen
    alloc = [
        f"E = np.empty(({m}, R))",
        f"BR = np.empty(({m}, R), dtype=np.int64)",
        f"xs = np.empty({m} * R)",
        f"ys = np.empty({m} * R)",
        "nx = 0",
    ]
    first += _logit_lines(actor, plan, code, at)
    for j in range(m):
        first += [
            f"    e = lg{j} - mx",
            f"    E[{j}, i] = e",
            f"    BR[{j}, i] = br{j}",
            "    if not (e == 0.0) and not (e == -math.inf):",
            "        xs[nx] = e",
            "        nx += 1",
        ]
    # the row stepped through world by world, from each stream's start at its first world
    second = [
        "_npexp_into(xs, ys, nx)",
        "k = 0",
        "b = 0",
        f"sh, sl = ub[0, {row}, 0], ub[0, {row}, 1]",
    ]
    second += [
        "for i in range(R):",
        "    if wj[i] == 0:",
        "        b = wb[i]",
        f"        sh, sl = ub[b, {row}, 0], ub[b, {row}, 1]",
        "    sh, sl = _step_in(sh, sl, st, b)",
        "    if chosen[i] < 0:",
    ]
    for j in range(m):
        x = "cdf0" if j == 0 else "x"
        second += [
            f"        e = E[{j}, i]",
            "        if e == 0.0:",
            f"            {x} = 1.0",
            "        elif e == -math.inf:",
            f"            {x} = 0.0",
            "        else:",
            f"            {x} = ys[k]",
            "            k += 1",
        ]
        if j:
            second.append(f"        cdf{j} = cdf{j - 1} + x")
    pick = _pick_lines(cands, "_double(sh, sl)", [f"BR[{j}, i]" for j in range(m)])
    second += ["    " + line for line in pick]
    second += ["        chosen[i] = act", "        rule_of[i] = rr"]
    return alloc, first, second, foreseen


def _utility_lines(plan: ActorPlan, code: _Codes, at: dict[str, str]) -> tuple[list[str], int]:
    """Each candidate's summed utility ``ut{j}`` and best rule ``br{j}`` for world ``i``,
    then ``if chosen < 0:`` (where no trigger decided), under which a single candidate
    is chosen at once; and the number of foresight utilities ``f0, f1...`` read."""
    body = []
    for j in range(len(plan.candidates)):
        start = "0.0" if j == plan.default_row else "-math.inf"
        body += [f"ut{j} = {start}", f"bu{j} = -math.inf", f"br{j} = -1"]
    foreseen = 0
    for pref in plan.preferences:
        rule, j = pref.rule, pref.row
        body += [f"on = {code.truth(rule.condition)}", "if on:"]
        if rule.action_index in plan.constrained:
            body.append(f"    {at['wanted'].format(a=rule.action_index)} = True")
        if pref.utility is None:
            body.append(f"    val = f{foreseen}[i]")
            foreseen += 1
        else:
            body.append(f"    val = {code.number(pref.utility)}")
        base = "0.0" if pref.first else f"(0.0 if ut{j} == -math.inf else ut{j})"
        body += [f"    ut{j} = {base} + val", f"    if val > bu{j}:"]
        if not pref.last:
            body.append(f"        bu{j} = val")
        body.append(f"        br{j} = {rule.index}")
    body.append(f"if {at['chosen']} < 0:")
    if len(plan.candidates) == 1:
        body += [f"    {at['chosen']} = {int(plan.candidates[0])}", f"    {at['rule_of']} = br0"]
    return body, foreseen


def _logit_lines(actor: Actor, plan: ActorPlan, code: _Codes, at: dict[str, str]) -> list[str]:
    """Inside ``if chosen < 0:``, each candidate's logit ``lg{j}`` (``-inf`` where it is
    not allowed or its utility is not finite) and the largest, ``mx``."""
    cands = [int(c) for c in plan.candidates]
    lines = [f"    beta = {code.number(actor.rationality)}"]
    for j, c in enumerate(cands):
        ok = f"{at['allowed'].format(a=c)} and math.isfinite(ut{j})"
        lines.append(f"    lg{j} = beta * ut{j} if {ok} else -math.inf")
    lines.append("    mx = lg0")
    lines += [f"    mx = _fmax(mx, lg{j})" for j in range(1, len(cands))]
    return lines


def _pick_lines(cands: list[int], draw: str, rules: list[str]) -> list[str]:
    """Inside ``if chosen < 0:``, the softmax's pick from the cumulative weights
    ``cdf{j}``: the first candidate whose ``cdf`` is above the uniform times the sum,
    into ``act``, and its best rule (``rules[j]``) into ``rr``."""
    m = len(cands)
    lines = [f"    th = {draw} * cdf{m - 1}", f"    act = {cands[0]}", f"    rr = {rules[0]}"]
    lines.append("    above = th < cdf0")
    for j in range(1, m):
        lines += [
            f"    now = th < cdf{j}",
            "    if now and not above:",
            f"        act = {cands[j]}",
            f"        rr = {rules[j]}",
            "    above = now",
        ]
    return lines


def choose(
    actor: Actor,
    plan: ActorPlan,
    state: WorldState,
    env: dict[str, Any],
    masks: tuple[np.ndarray, np.ndarray | None],
    decided: tuple[np.ndarray, np.ndarray],
    draws: np.ndarray | None,
    ahead: dict[int, np.ndarray],
) -> bool:
    """Complete ``actor``'s decision by its preferences with the generated kernel:
    ``decided`` (``chosen``, ``rule_of``) written where no trigger decided, and
    ``masks`` (``allowed``, ``wanted``) read and, for constrained actions,
    ``wanted`` written. False, with nothing written, where there is no kernel.
    """
    kernel = choice_kernel(actor, plan, state) if compiled_for(state) else None
    if kernel is None:
        return False
    allowed, wanted = masks
    chosen, rule_of = decided
    foreseen = tuple(ahead[p.rule.index] for p in plan.preferences if p.utility is None)
    fixed = (
        state.R,
        chosen,
        rule_of,
        allowed,
        _NO_MASK if wanted is None else wanted,
        _NO_DRAWS if draws is None else draws,
        *foreseen,
    )
    return kernel.run(fixed, env, state.R)


# -- an actor's whole decision -----------------------------------------------------------------


def decision_kernel(actor: Actor, plan: ActorPlan, state: WorldState) -> GeneratedKernel | None:
    """The kernel of ``actor``'s whole decision, as :func:`sim.engine.decision.decide`
    makes it, in one or two stages (a call runs the one ``stage`` says):

    2. per world: the allowed actions (``once`` actions not taken yet, each
       constraint's condition), then the triggers in order: the first whose
       ``when`` holds, whose action is allowed and whose uniform is below its
       ``prob`` decides; what a trigger wanted is kept for constrained actions;
    4. per world where no trigger decided, the choice by preferences of
       :func:`choice_kernel` (softmax, foresight utilities ``f0, f1...``), then
       per constraint whether it bound (``bound``, constraints x worlds, and the
       number of such worlds, ``nbound``).

    An actor without foresight rules runs 2 and 4 in one loop (``stage`` 6), its
    masks held in local variables. One with foresight runs 2 alone, which writes
    ``allowed`` and ``ok`` (actions, constraints x worlds), ``chosen``,
    ``rule_of``, ``wanted``, the undecided worlds' number ``pending[0]`` and
    where foresight is wanted (``active``: some foresight rule's ``when`` holds,
    its action is allowed and no trigger decided), for
    :func:`~sim.engine.foresight.utilities`; then 4, which reads them.

    The day's uniforms are the block of ``len(triggers) + 1`` rows of ``R`` the
    numpy path takes from the actor's stream (trigger ``k``'s row ``k``, the
    softmax's the last): a world reads the number at its own place of a row,
    computed in the kernel (:mod:`sim.engine.pcg`, from ``st``, the stream's state,
    and ``tab``, the table of the chunk's size) only where it is read, so no row is
    drawn and no pass looks first for where one is needed; the softmax's row, which
    nearly every undecided world reads, is stepped through world by world instead
    (:func:`_choice_parts`).

    Fixed arguments: ``R``, ``stage``, ``counts`` (the actor's action counts),
    ``allowed``, ``ok``, ``st``, ``tab``, ``chosen``, ``rule_of``, ``wanted``,
    ``pending``, ``active``, ``bound``, ``nbound``, then ``f0, f1...``. None if an
    expression has no scalar code.
    """

    def make() -> GeneratedKernel:
        code = _Codes()
        n, once = len(actor.actions), set(plan.once)
        T = len(plan.triggers)
        foresees = any(p.utility is None for p in plan.preferences)
        body = [f"ub = _pcg_blocks(st, tab, bw, {T + 1})"]
        # (``&`` and ``|`` of bools rather than branches where the worlds' flags are
        # unpredictable: a mispredicted branch costs more than the work)
        second = [f"al{a} = " + (f"counts[{a}, i] == 0" if a in once else "True") for a in range(n)]
        for c, rule in enumerate(plan.constraints):
            a = rule.action_index
            second += [f"o{c} = {code.truth(rule.condition)}", f"al{a} = al{a} & o{c}"]
        second += ["ch = -1", "ro = -1", *(f"wa{a} = False" for a in sorted(plan.constrained))]
        for k, rule in enumerate(plan.triggers):
            a = rule.action_index
            second += [f"w = {code.truth(rule.condition)}"]
            if a in plan.constrained:
                second.append(f"wa{a} = wa{a} | w")
            second.append(f"fire = (ch < 0) & w & al{a}")
            if rule.prob is not None:  # else u < 1: always (and no number is read)
                u = f"_uniform_in(ub, wb[i], {k}, tab, wj[i], st)"
                second += ["if fire:", f"    fire = {u} < {code.number(rule.prob)}"]
            second += [f"ch = {a} if fire else ch", f"ro = {rule.index} if fire else ro"]
        # counts kept in local variables, stored after the loop (a sum in memory would
        # make each world wait for the last one's store)
        C = len(plan.constraints)
        held = [f"nb{c} = 0" for c in range(C)]
        counted = [f"nbound[{c}] = nb{c}" for c in range(C)]
        if not foresees:
            local = {"allowed": "al{a}", "wanted": "wa{a}", "chosen": "ch", "rule_of": "ro"}
            alloc, third, pick, foreseen = _choice_parts(actor, plan, code, local, T)
            body += [*held, *alloc, "for i in range(R):"]
            body += ["    " + line for line in second + third]
            for c, rule in enumerate(plan.constraints):
                b = f"wa{rule.action_index} & (not o{c})"
                body += [f"    b = {b}", f"    bound[{c}, i] = b", f"    nb{c} += b"]
            body += ["    chosen[i] = ch", "    rule_of[i] = ro", *pick, *counted]
        else:
            stored = [f"allowed[{a}, i] = al{a}" for a in range(n)]
            stored += [f"ok[{c}, i] = o{c}" for c in range(len(plan.constraints))]
            stored += [f"wanted[{a}, i] = wa{a}" for a in sorted(plan.constrained)]
            stored += ["chosen[i] = ch", "rule_of[i] = ro", "left += ch < 0"]
            # where foresight is wanted: some foresight rule's `when` holds, its action is
            # allowed and no trigger decided (foresight.utilities's `active`)
            stored.append("act = False")
            for p in plan.preferences:
                if p.utility is None:
                    on = f"({code.truth(p.rule.condition)})"
                    stored.append(f"act = act | ((ch < 0) & {on} & al{p.rule.action_index})")
            stored.append("active[i] = act")
            body += ["if stage == 2:", "    left = 0", "    for i in range(R):"]
            body += ["        " + line for line in second + stored]
            body += ["    pending[0] = left", "    return"]
            alloc, third, pick, foreseen = _choice_parts(actor, plan, code, _IN_ARRAYS, T)
            body += [*held, *alloc, "for i in range(R):", *("    " + line for line in third)]
            for c, rule in enumerate(plan.constraints):
                b = f"wanted[{rule.action_index}, i] & (not ok[{c}, i])"
                body += [f"    b = {b}", f"    bound[{c}, i] = b", f"    nb{c} += b"]
            body += [*pick, *counted]
        fixed: tuple[str, ...] = ("R", "stage", "counts", "allowed", "ok", *DRAWN)
        fixed += ("chosen", "rule_of", "wanted", "pending", "active", "bound", "nbound")
        fixed += tuple(f"f{k}" for k in range(foreseen))
        return GeneratedKernel(body, code.names(), fixed, loop=False)

    return planned(state, f"kernel:decide:{actor.id}", make)


def decide(
    actor: Actor, plan: ActorPlan, state: WorldState, env: dict[str, Any], rng: Rng
) -> Decision | None:
    """``actor``'s decision on ``env`` (its own view) by the generated kernel, as
    :func:`sim.engine.decision.decide` makes it: the same choices, rules, binding
    constraints and the stream moved on by the same ``len(triggers) + 1`` rows.

    One call of :func:`decision_kernel` for an actor without foresight, and for
    an actor with foresight one call before and one after
    :func:`~sim.engine.foresight.utilities` (which draws nothing). The kernel
    reads its uniforms at their places in the stream without moving it; the
    stream is moved on once the decision is made. None, with the stream where it
    was and nothing else changed, where there is no kernel.
    """
    if not compiled_for(state):
        return None
    shape = _decision_shape(actor, plan, state)
    if shape is None:
        return None
    kernel, n, T, C, foreseen = shape
    R = state.R
    prepared = kernel.prepare(env, R)
    if prepared is None:
        return None
    foresight, Decision = _late()
    chosen, rule_of = np.empty(R, dtype=np.int64), np.empty(R, dtype=np.int64)
    bound, nbound = np.empty((C, R), dtype=bool), np.zeros(C, dtype=np.int64)
    allowed = ok = wanted = _NO_MASK  # written by stage 2 only where foresight reads them
    pending = np.zeros(1, dtype=np.int64)
    active = _NO_ROW_BOOL
    if foreseen:
        allowed, ok = np.empty((n, R), dtype=bool), np.empty((C, R), dtype=bool)
        active = np.empty(R, dtype=bool)
        if plan.constrained:
            wanted = np.empty((n, R), dtype=bool)
    counts = state.action_count[actor.id]
    drawn = uniforms(rng, state)
    if drawn is None:
        return None
    fixed = [R, 6, counts, allowed, ok, *drawn, chosen, rule_of, wanted, pending, active]
    fixed += [bound, nbound]
    if not foreseen:
        if not kernel.call(prepared, tuple(fixed)):
            return None
    else:
        fixed[1] = 2
        if not kernel.call(prepared, (*fixed, *[_NO_DRAWS] * len(foreseen))):
            return None
        ahead = foresight.utilities(actor, foreseen, state, env, active=active)
        fixed[1] = 4
        if not kernel.call(prepared, (*fixed, *[ahead[r.index] for r in foreseen])):
            return None
    skip_rows(rng, T + 1, state)  # the day's block, as the numpy path leaves it
    counted = nbound.tolist()
    binding = (
        tuple(
            (rule.index, bound[c])
            for c, (rule, b) in enumerate(zip(plan.constraints, counted, strict=True))
            if b
        )
        if any(counted)
        else ()
    )
    return Decision(actor.id, chosen, rule_of, binding)


def _late() -> tuple[Any, Any]:
    """:mod:`sim.engine.foresight` and :class:`~sim.engine.adjudication.Decision`, which
    import this module (imported on first use, then kept: an import statement in
    :func:`decide` cost about a microsecond a call)."""
    if not _LATE:
        from sim.engine import foresight
        from sim.engine.adjudication import Decision

        _LATE.extend((foresight, Decision))
    return _LATE[0], _LATE[1]


_LATE: list[Any] = []


def _decision_shape(actor: Actor, plan: ActorPlan, state: WorldState) -> tuple[Any, ...] | None:
    """What :func:`decide` asks of ``actor``'s plan each day, worked out once: its
    :func:`decision_kernel` (None: no kernel), the numbers of actions, triggers and
    constraints and the rules foreseen."""
    key = f"decide:{actor.id}"
    plans = state.plans
    if key not in plans:
        kernel = decision_kernel(actor, plan, state)
        plans[key] = (
            None
            if kernel is None
            else (
                kernel,
                len(actor.actions),
                len(plan.triggers),
                len(plan.constraints),
                [p.rule for p in plan.preferences if p.utility is None],
            )
        )
    shape: tuple[Any, ...] | None = plans[key]
    return shape


def chance(
    resp: Response, state: WorldState, view: dict[str, Any], horizon: int
) -> np.ndarray | None:
    """``P_H = 1 - (1 - p)^H`` of ``resp`` per world, ``p`` its daily probability on
    ``view`` (the responder's view of ``state``), by the generated kernel; None
    where there is none, and the caller computes it with numpy.
    """
    kernel = chance_kernel(resp, state) if compiled_for(state) else None
    if kernel is None:
        return None
    R = state.R
    once = resp.action.once
    taken = state.action_count[resp.actor.id][resp.action.index] if once else _NO_ROW
    out = np.empty(R)
    return out if kernel.run((R, int(horizon), out, taken), view, R) else None


_NO_ROW = np.zeros(1, dtype=np.int32)
"""The ``taken`` argument of a kernel whose action is not ``once`` (never read)."""
_NO_ROW_BOOL = np.zeros(1, dtype=bool)
"""The ``active`` argument of an actor without foresight (never written)."""
_NO_MASK = np.zeros((1, 1), dtype=bool)
"""The ``wanted`` argument where no action is constrained (never written)."""
_NO_DRAWS = np.zeros(1)
"""The ``draws`` argument where the softmax draws nothing (never read)."""
