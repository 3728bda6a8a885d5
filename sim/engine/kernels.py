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
what the numpy functions do, and random numbers are never drawn here.
Whenever a kernel cannot be had (numba missing, a construct without scalar
code, an input of an unexpected kind, a compilation that fails) the caller is
told ``None`` and keeps the numpy path.

Which path runs is chosen by the environment variable ``WARGAME_KERNELS``:
``numpy`` (the default) or ``numba`` (kernels where they exist, numpy
elsewhere). The cache folder is ``WARGAME_KERNEL_CACHE``, else
``$XDG_CACHE_HOME/wargame/kernels``, else ``~/.cache/wargame/kernels``.

Kernels so far: the chance ``P_H`` of a response in foresight
(:func:`chance`), the hottest part of a default batch's profile.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.expr import Expr
from sim.expr.scalar import HELPER_NAMES, HELPERS, names_in, substitute

if TYPE_CHECKING:
    from sim.engine.foresight import Response
    from sim.engine.state import WorldState

MODE_VARIABLE = "WARGAME_KERNELS"
"""The environment variable that chooses the path: ``numpy`` or ``numba``."""

CACHE_VARIABLE = "WARGAME_KERNEL_CACHE"
"""The environment variable that names the kernel cache folder."""

MODES = ("numpy", "numba")

_numba: Any = None  # the numba module once imported; False when it cannot be
_modules: dict[str, ModuleType] = {}  # generated modules by source hash
_failed: set[str] = set()  # source hashes whose kernel could not be compiled or run


def mode() -> str:
    """The path chosen by ``WARGAME_KERNELS`` (``numpy`` if unset or unknown)."""
    chosen = os.environ.get(MODE_VARIABLE, "numpy").strip().lower()
    return chosen if chosen in MODES else "numpy"


def numba_module() -> Any:
    """numba, imported on first use; None where it is not installed."""
    global _numba
    if _numba is None:
        try:
            import numba
        except ImportError:
            _numba = False
        else:
            _numba = numba
    return _numba or None


def active() -> bool:
    """Whether kernels are to be used: chosen by ``WARGAME_KERNELS`` and numba installed."""
    return mode() == "numba" and numba_module() is not None


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
    return "\n".join(lines) + "\n"


def helpers() -> ModuleType | None:
    """The helpers' module, shared by every kernel."""
    return module(helpers_source(), "h")


def header() -> str:
    """The start of every kernel module: imports, the helpers from their own module."""
    shared = f"sim_kernel_h{source_hash(helpers_source())}"
    lines = ["import math", "", "import numpy as np", "from numba import njit", ""]
    lines.append(f"from {shared} import {', '.join(HELPER_NAMES)}")
    return "\n".join(lines) + "\n"


# -- the chance of a response ------------------------------------------------------------


class ChanceKernel:
    """The generated kernel of one response's ``P_H`` (see :func:`chance`).

    ``names`` are the names its expressions read, in the order the kernel
    takes them; one source (and one compiled function) is made per pattern of
    which of them are arrays and which scalars in the views it is given.
    """

    __slots__ = ("body", "names", "once", "variants")

    def __init__(self, body: list[str], names: tuple[str, ...], once: bool) -> None:
        self.body = body
        self.names = names
        self.once = once
        self.variants: dict[str, Any] = {}

    def source(self, pattern: str) -> str:
        """The module source for the pattern (``"a"`` array, ``"s"`` scalar, per name)."""
        variables = {
            n: f"v{k}[i]" if kind == "a" else f"v{k}"
            for k, (n, kind) in enumerate(zip(self.names, pattern, strict=True))
        }
        args = ", ".join(["R", "H", "out", "taken", *(f"v{k}" for k in range(len(self.names)))])
        lines = [f"def kernel({args}):", "    for i in range(R):"]
        lines += ["        " + substitute(line, variables) for line in self.body]
        return header() + "\n\n@njit(cache=True)\n" + "\n".join(lines) + "\n"

    def function(self, pattern: str) -> Any:
        """The compiled kernel for ``pattern``, or None where it cannot be had."""
        if pattern in self.variants:
            return self.variants[pattern]
        mod = module(self.source(pattern))
        fn = None if mod is None else mod.kernel
        self.variants[pattern] = fn
        return fn


def _code(expr: Expr) -> str | None:
    return expr.code


def chance_body(resp: Response) -> tuple[list[str], tuple[str, ...]] | None:
    """The loop body computing ``out[i] = P_H`` of ``resp`` for world ``i``, as
    :func:`sim.engine.foresight.daily_probability` and ``1 - (1 - p) ** H`` compute
    it, or None if an expression has no scalar code.

    The numpy path leaves out factors that are 1 and products with a first
    factor of 1, which changes no bit (``1.0 * x == x``); the loop multiplies
    them as the formulation does where that is simpler.
    """
    body: list[str] = []
    codes: list[str] = []

    def code(expr: Expr) -> str:
        c = _code(expr)
        if c is None:
            raise LookupError(expr.source)
        codes.append(c)
        return c

    try:
        body.append("ok = True" if not resp.action.once else "ok = taken[i] == 0")
        for r in resp.constraints:
            body.append(f"ok = ok and bool({code(r.condition)})")
        body.append("miss = 1.0")
        for r in resp.triggers:
            p = "1.0" if r.prob is None else f"_clip01(float({code(r.prob)}))"
            body.append(f"when = bool({code(r.condition)})")
            body.append(f"p = {p}")
            body.append("miss = miss * ((1.0 - p) if when else 1.0)")
        if not resp.preferences:
            body.append("chance = 1.0 - miss")
        else:
            body.append("active = False")
            body.append("u = 0.0")
            for r in resp.preferences:
                assert r.utility is not None
                body.append(f"on = bool({code(r.condition)})")
                body.append(f"u = u + (float({code(r.utility)}) if on else 0.0)")
                body.append("active = active or on")
            for r in resp.rival:
                assert r.utility is not None
                body.append(f"on = bool({code(r.condition)})")
                body.append(f"u = u - (float({code(r.utility)}) if on else 0.0)")
            body.append(f"beta = float({code(resp.actor.rationality)})")
            body.append("share = 1.0 / (1.0 + math.exp((-beta) * u)) if active else 0.0")
            body.append("chance = 1.0 - miss * (1.0 - share)")
    except LookupError:
        return None
    body.append("p = chance if ok else 0.0")
    body.append("q = 1.0 - p")
    # numpy's ``** H`` (a Python int): a copy for 1, a square for 2, pow otherwise
    body.append("out[i] = 1.0 - (q if H == 1 else (q * q if H == 2 else q ** float(H)))")
    names = tuple(dict.fromkeys(n for c in codes for n in names_in(c)))
    return body, names


def chance_kernel(resp: Response, state: WorldState) -> ChanceKernel | None:
    """The kernel of ``resp``'s chance, generated once per scenario model."""
    key = f"kernel:chance:{resp.actor.id}:{resp.action.index}"
    plans = state.plans
    if key not in plans:
        made = chance_body(resp)
        plans[key] = None if made is None else ChanceKernel(made[0], made[1], resp.action.once)
    kernel: ChanceKernel | None = plans[key]
    return kernel


def _kind(v: Any, R: int) -> str | None:
    """``"a"`` for a world array, ``"s"`` for a scalar, None for anything else."""
    if isinstance(v, np.ndarray):
        return "a" if v.shape == (R,) else None
    if isinstance(v, (bool, int, float, np.bool_, np.integer, np.floating)):
        return "s"
    return None


def chance(
    resp: Response, state: WorldState, view: dict[str, Any], horizon: int
) -> np.ndarray | None:
    """``P_H = 1 - (1 - p)^H`` of ``resp`` per world, ``p`` its daily probability on
    ``view`` (the responder's view of ``state``), by the generated kernel; None
    where there is none, and the caller computes it with numpy.
    """
    kernel = chance_kernel(resp, state)
    if kernel is None:
        return None
    R = state.R
    args = []
    pattern = []
    for n in kernel.names:
        v = view[n]
        kind = _kind(v, R)
        if kind is None:
            return None
        pattern.append(kind)
        args.append(v)
    fn = kernel.function("".join(pattern))
    if fn is None:
        return None
    taken = state.action_count[resp.actor.id][resp.action.index] if kernel.once else _NO_ROW
    out = np.empty(R)
    try:
        fn(R, int(horizon), out, taken, *args)
    except Exception:  # a typing failure in numba: keep the numpy path
        kernel.variants["".join(pattern)] = None
        return None
    return out


_NO_ROW = np.zeros(1, dtype=np.int32)
"""The ``taken`` argument of a kernel whose action is not ``once`` (never read)."""
