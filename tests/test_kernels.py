"""Generated kernels: the scalar code of expressions, and compiled == numpy.

The scalar code of an expression (``Expr.code``) and its helpers are checked
in plain Python against the numpy evaluation, world by world, on edge values
and on every expression of every shipped scenario; with numba installed,
every shipped scenario is run on both paths and must give the same worlds;
without it (or with its import failing) the numpy path runs.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.engine import foresight, kernels, outlook
from sim.engine.foresight import responders
from sim.engine.model import WargameModel
from sim.expr import Symbol, compile_expr
from sim.expr.functions import _exp, _log, _round_half_away, _safe_div, _saturating
from sim.expr.scalar import names_in, python_helpers, python_scope, substitute
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
HELPERS = python_helpers()

EDGE = np.array(
    [
        *(0.0, -0.0, np.nan, np.inf, -np.inf, 1.0, -1.0, 0.5, -0.5, 2.5, -2.5),
        *(1e300, -1e-300, 0.49999999999999994, 4503599627370497.0, 60.0, -60.0, 1e-13, -3.7),
    ]
)
PAIRS_A = np.repeat(EDGE, len(EDGE))
PAIRS_B = np.tile(EDGE, len(EDGE))
INTS = np.array(
    [0, 1, -1, 3, 10**15, -(10**15), 2**62, -(2**62), 2**63 - 1, -(2**63) + 1, 3037000500],
    dtype=np.int64,
)


def same(got: Any, want: Any) -> bool:
    """Equal to the bit where it matters: values, NaNs and the sign of zeros."""
    g, w = np.asarray(got), np.asarray(want)
    if w.dtype == bool or g.dtype == bool:
        return np.array_equal(g.astype(bool), w.astype(bool))
    g, w = g.astype(float), w.astype(float)
    return np.array_equal(g, w, equal_nan=True) and np.array_equal(np.signbit(g), np.signbit(w))


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


# -- the helpers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("helper", "ufunc"), [("_fmax", np.maximum), ("_fmin", np.minimum), ("_div", _safe_div)]
)
def test_binary_helpers_match_numpy(helper: str, ufunc: Any) -> None:
    f = HELPERS[helper]
    assert same([f(a, b) for a, b in zip(PAIRS_A, PAIRS_B, strict=True)], ufunc(PAIRS_A, PAIRS_B))
    assert same([f(a, 0.5) for a in EDGE], ufunc(EDGE, 0.5))


@pytest.mark.parametrize(
    ("helper", "ufunc"),
    [
        ("_round", _round_half_away),
        ("_exp", _exp),
        ("_log", _log),
        ("_clip01", lambda x: np.clip(x, 0, 1)),
    ],
)
def test_unary_helpers_match_numpy(helper: str, ufunc: Any) -> None:
    f = HELPERS[helper]
    assert same([f(x) for x in PAIRS_A], ufunc(PAIRS_A))


def test_clip_matches_numpy() -> None:
    f = HELPERS["_clipf"]
    for lo, hi in ((0.0, 1.0), (-np.inf, 2.5), (-3.0, np.inf), (-1.0, 1e15)):
        assert same([f(x, lo, hi) for x in PAIRS_A], np.clip(PAIRS_A, lo, hi))


def test_integer_cast_matches_the_engine() -> None:
    from sim.engine.state import coerce

    x = np.concatenate([PAIRS_A, [1e16, -1e16, 0.5, -0.5, 1.5, 2**53 + 1.0]])
    assert np.array_equal([HELPERS["_to_int"](v) for v in x], coerce(x, "int", None, None))


@pytest.mark.parametrize("e", [0.0, 1.0, 2.0, 3.0, 0.5, 1.5, 7.0, 30.0])
def test_power_matches_numpy(e: float) -> None:
    x = np.concatenate([EDGE, np.random.default_rng(0).uniform(-2, 2, 500)])
    assert same([HELPERS["_pow"](v, e) for v in x], np.power(x, e))


def _wide_points() -> np.ndarray:
    """Arguments where exp, log and power are hard: edges, the whole range of doubles,
    and the [-50, 50] the engine clips exp to, where SVML and the C library disagree."""
    rng = np.random.default_rng(20221201)
    bits = rng.integers(0, 2**63, 20_000, dtype=np.int64).view(np.float64)
    return np.concatenate([EDGE, rng.uniform(-50.0, 50.0, 40_000), bits, -bits])


def test_compiled_exp_log_and_power_are_numpys_own() -> None:
    """The kernels' exp, log and power call numpy's loops (sim.engine.elementary), so
    they give numpy's bits on every processor, also where numpy does not use the C
    library (its SVML loops on processors with AVX-512)."""
    pytest.importorskip("numba")
    mod = kernels.helpers()
    assert mod is not None
    x = _wide_points()
    y = np.abs(x) / 50.0
    got_exp = np.array([mod._npexp(v) for v in x])
    got_log = np.array([mod._nplog(v) for v in x])
    assert same(got_exp, np.exp(x)) and same(got_log, np.log(x))
    into = np.full_like(x, 7.0)
    mod._npexp_into(x, into, len(x) - 3)  # the first n only, in one call of the loop
    assert same(into[:-3], np.exp(x[:-3])) and (into[-3:] == 7.0).all()
    for e in (3.0, 1.5, 7.0, -2.5, 30.0):
        assert same([mod._nppow(v, e) for v in y[:5000]], np.power(y[:5000], e))
    assert kernels.agrees_with_numpy()


def test_kept_exps_are_the_exps_of_their_arguments() -> None:
    """``_exp_kept`` (the outlook kernel's exp, sim.engine.outlook) gives what ``_exp``
    (clipped) or ``_npexp`` give, whether the argument is the last one, one of the few
    before it, one pushed out of the row, a new one, -0 or nan; and each row of the
    table is its own."""
    pytest.importorskip("numba")
    from sim.engine import elementary

    mod = kernels.helpers()
    assert mod is not None
    rng = np.random.default_rng(7)
    few = rng.uniform(-60.0, 60.0, 3)
    many = rng.uniform(-60.0, 60.0, elementary.KEPT + 5)  # more than a row keeps
    x = np.concatenate(
        [few[rng.integers(0, 3, 400)], np.tile(many, 3), [0.0, -0.0, np.nan, np.nan, 0.0]]
    )
    x = np.concatenate([x, rng.permutation(x)])
    table = elementary.kept_rows(2)
    clipped = [mod._exp_kept(table, 0, True, v) for v in x]
    plain = [mod._exp_kept(table, 1, False, v) for v in x]
    assert same(clipped, [mod._exp(v) for v in x])
    assert same(plain, np.exp(x))
    assert not same(clipped, plain)  # the rows did not mix: beyond 50, clipping differs
    assert 0 < table[0, -1] < len(x) / 2  # computed where not found, far from every time


def test_numpys_loops_are_found_and_checked() -> None:
    from sim.engine import elementary

    for ufunc, types in elementary.SYMBOLS.values():
        fn, data = elementary.loop(ufunc, types)
        assert fn and not data
    with pytest.raises(LookupError, match="no loop"):
        elementary.loop(np.exp, "qq->q")

    class Impostor(bytes):
        """Says what np.exp says of itself, but its memory holds a bytes object."""

        __name__ = "exp"
        nin, nout, nargs, ntypes, types = 1, 1, 2, 1, ["d->d"]

    with pytest.raises(LookupError, match="not laid out"):
        elementary.loop(Impostor(bytes(256)), "d->d")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("helper", "ufunc"), [("_iadd", np.add), ("_isub", np.subtract), ("_imul", np.multiply)]
)
def test_integer_helpers_saturate_as_numpy(helper: str, ufunc: Any) -> None:
    a, b = np.repeat(INTS, len(INTS)), np.tile(INTS, len(INTS))
    want = _saturating(ufunc)(a, b)
    assert np.array_equal([HELPERS[helper](x, y) for x, y in zip(a, b, strict=True)], want)


@pytest.mark.parametrize("e", [0, 1, 2, 3, 5, 10])
def test_integer_power_saturates_as_numpy(e: int) -> None:
    want = _saturating(np.power)(INTS, np.int64(e))
    assert np.array_equal([HELPERS["_ipow"](x, e) for x in INTS], want)


# -- the scalar code of expressions -------------------------------------------------------

RUNGS = ("peace", "alert", "war")
SYMBOLS = {
    s.name: s
    for s in [
        Symbol("tension", "float"),
        Symbol("other", "float"),
        Symbol("drills", "bool"),
        Symbol("attacked", "bool"),
        Symbol("day", "int"),
        Symbol("troops", "int"),
        Symbol("strikes.count", "int"),
        Symbol("rung", "enum", RUNGS),
        Symbol("half", "float", constant=0.5),
        Symbol("war", "int", constant=2),
    ]
}
N = len(PAIRS_A)
RNG = np.random.default_rng(7)
ENV: dict[str, Any] = {
    "tension": PAIRS_A,
    "other": PAIRS_B,
    "drills": RNG.random(N) < 0.5,
    "attacked": RNG.random(N) < 0.3,
    "day": RNG.integers(-2, 40, N),
    "troops": RNG.choice(INTS, N),
    "strikes.count": RNG.integers(0, 4, N).astype(np.int32),
    "rung": RNG.integers(0, 3, N),
}

SOURCES = [
    "tension + other",
    "tension - other * 2",
    "troops + troops",
    "troops * troops",
    "troops - 3 * day",
    "troops / day",
    "tension / other",
    "tension / 2",
    "tension ** 2",
    "tension ** 0.5",
    "tension ** 3",
    "day ** 3",
    "troops ** 2",
    "tension ** -2",
    "-tension",
    "+troops",
    "-strikes.count + 1",
    "not drills",
    "drills and attacked or not drills",
    "1 < day <= 5",
    "tension < other < 1",
    'rung == "war"',
    'rung in ("war", "peace")',
    "day not in (1, 2, 30)",
    "tension if drills else troops",
    "drills if attacked else false",
    '"war" if drills else rung',
    "min(tension, other, 0.5)",
    "max(tension, 0)",
    "max(day, troops)",
    "clip(tension, 0, 1)",
    "clip(day, 3, 10)",
    "abs(tension)",
    "abs(troops)",
    "round(tension)",
    "round(day)",
    "exp(tension)",
    "log(tension)",
    "drills + 1",
    "half * tension + war",
    "strikes.count * 0.5 - day / 7",
    "exp(-0.2 * day) * (1 + drills)",
]


def per_world(code: str, env: dict[str, Any], n: int) -> list[Any]:
    """``code`` run in plain Python, world by world, with the helpers."""
    variables = {
        name: f"_e[{name!r}]" + ("[i]" if isinstance(env[name], np.ndarray) else "")
        for name in names_in(code)
    }
    fn = eval(  # the expression compiler's own output
        f"lambda _e, i: {substitute(code, variables)}", python_scope()
    )
    return [fn(env, i) for i in range(n)]


@pytest.mark.parametrize("source", SOURCES)
def test_scalar_code_matches_numpy(source: str) -> None:
    expr = compile_expr(source, SYMBOLS)
    assert expr.code is not None
    assert same(per_world(expr.code, ENV, N), expr.evaluate(ENV, N))


def test_constants_fold_to_code() -> None:
    expr = compile_expr("half * 4 + war", SYMBOLS)
    assert expr.is_constant and expr.code == "(4.0)"


def _scenario_expressions(sc: Any) -> list[Any]:
    exprs = [v.initial for v in sc.state]
    for a in sc.actors:
        exprs.append(a.rationality)
        exprs += [e.expr for x in a.actions for e in x.effects]
        for r in a.rules:
            exprs += [x for x in (r.condition, r.prob, r.utility) if x is not None]
        for t in a.values:
            exprs += [t.of, t.weight]
    for e in sc.events:
        exprs += [x for x in (e.when, e.hazard) if x is not None]
    return exprs


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_expression_has_matching_code(path: Path) -> None:
    """On a state 30 days in, each expression's code gives the numpy values."""
    model = WargameModel(load_scenario(path), replicates=64, collect=False, rng=5)
    for _ in range(30):
        model.step()
    env = model.world.env()
    for a in model.spec.actors:
        for b in a.beliefs:
            env.update({f"belief.{b.trait}.{t}": 0.5 for t in b.types})
    for expr in _scenario_expressions(model.spec):
        if not expr.names <= env.keys():
            continue  # a name only an actor's own view holds
        assert expr.code is not None, expr.source
        want = expr.evaluate(env, 64)
        assert same(per_world(expr.code, env, 64), want), expr.source


# -- compiled == numpy ----------------------------------------------------------------------


def _run(path: Path, mode: str, monkeypatch: pytest.MonkeyPatch, n: int = 1500) -> WargameModel:
    """The model run on ``mode``'s path; ``model.utilities`` holds every foresight utility
    worked out (a difference in the last bit shows there, even where no pick changes)."""
    monkeypatch.setenv(kernels.MODE_VARIABLE, mode)
    seen: list[np.ndarray] = []
    real = foresight.utilities

    def recorded(*args: Any, **kwargs: Any) -> dict[int, np.ndarray]:
        out = real(*args, **kwargs)
        seen.extend(out[k] for k in sorted(out))
        return out

    monkeypatch.setattr(foresight, "utilities", recorded)
    model = WargameModel(load_scenario(path), replicates=n, collect=False, rng=11).run()
    monkeypatch.setattr(foresight, "utilities", real)
    model.utilities = seen  # type: ignore[attr-defined]
    return model


def _same_worlds(a: WargameModel, b: WargameModel) -> bool:
    wa, wb = a.world, b.world
    return (
        np.array_equal(a.outcome, b.outcome)
        and np.array_equal(a.flags, b.flags)
        and np.array_equal(a.rung_track, b.rung_track)
        and np.array_equal(wa.rule_fired, wb.rule_fired)
        and np.array_equal(wa.first_day, wb.first_day)
        and all(same(wa.values[k], wb.values[k]) for k in wa.values)
        and all(np.array_equal(wa.action_count[k], wb.action_count[k]) for k in wa.action_count)
        and len(a.utilities) == len(b.utilities)  # type: ignore[attr-defined]
        and all(same(x, y) for x, y in zip(a.utilities, b.utilities, strict=True))  # type: ignore[attr-defined]
    )


@pytest.fixture
def kernel_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    folder = tmp_path_factory.getbasetemp() / "kernels"  # shared by the tests of a session
    monkeypatch.setenv(kernels.CACHE_VARIABLE, str(folder))
    return folder


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_compiled_equals_numpy_on_every_scenario(
    path: Path, monkeypatch: pytest.MonkeyPatch, kernel_cache: Path
) -> None:
    pytest.importorskip("numba")
    plain = _run(path, "numpy", monkeypatch)
    names = ("chance", "value", "decide", "move", "adjudicate", "fired")
    calls: dict[str, list[bool]] = {name: [] for name in names}

    def counted(name: str) -> Any:
        real = getattr(kernels, name)

        def call(*args: Any) -> Any:
            got = real(*args)
            calls[name].append(got is not None and got is not False)
            return got

        return call

    for name in calls:
        monkeypatch.setattr(kernels, name, counted(name))
    # the piece kernels, which the outlook kernel replaces where it can be had
    # (tests/test_outlook.py compares that one)
    monkeypatch.setattr(outlook, "utilities", lambda *args: None)
    compiled = _run(path, "numba", monkeypatch)
    assert _same_worlds(plain, compiled)
    assert calls["decide"] and all(calls["decide"])  # every decision compiled
    assert calls["adjudicate"] and all(calls["adjudicate"])  # and every day's adjudication
    assert calls["fired"] and all(calls["fired"])  # and the rules that fired
    has_foresight = any(r.kind == "foresight" for a in plain.spec.actors for r in a.rules)
    if has_foresight and any(responders(plain.world, a) for a in plain.spec.actors):
        assert calls["chance"] and all(calls["chance"])  # the kernels ran, every time
        assert calls["value"] and all(calls["value"])
        assert calls["move"] and all(calls["move"])


def test_numpy_path_when_numba_cannot_be_imported(
    monkeypatch: pytest.MonkeyPatch, kernel_cache: Path
) -> None:
    path = ROOT / "scenarios" / "allied_resolve_2022.yaml"
    plain = _run(path, "numpy", monkeypatch, n=400)
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` raises ImportError
    monkeypatch.setattr(kernels, "_numba", None)
    monkeypatch.setenv(kernels.MODE_VARIABLE, "numba")
    assert kernels.numba_module() is None and not kernels.active()
    assert _same_worlds(plain, _run(path, "numba", monkeypatch, n=400))


def test_a_kernel_that_cannot_be_compiled_leaves_the_numpy_path(
    monkeypatch: pytest.MonkeyPatch, kernel_cache: Path
) -> None:
    pytest.importorskip("numba")
    path = ROOT / "scenarios" / "allied_resolve_2022.yaml"
    plain = _run(path, "numpy", monkeypatch, n=400)
    monkeypatch.setattr(kernels, "module", lambda source, prefix="k": None)
    assert _same_worlds(plain, _run(path, "numba", monkeypatch, n=400))


def test_a_copy_of_a_state_shares_its_kernels(
    monkeypatch: pytest.MonkeyPatch, kernel_cache: Path
) -> None:
    """The game's look ahead deep-copies the engine; its kernels are the scenario's
    code, shared, and numba's dispatchers are never copied (two threads copying one
    for the first time at once fail inside numba)."""
    pytest.importorskip("numba")
    path = ROOT / "scenarios" / "allied_resolve_2022.yaml"
    world = _run(path, "numba", monkeypatch, n=50).world
    made = [k for k in world.plans.values() if isinstance(k, kernels.GeneratedKernel)]
    assert made and any(k.variants for k in made)
    copied = copy.deepcopy(world.plans)
    assert all(copied[key] is k for key, k in world.plans.items() if k in made)


def test_kernels_are_not_used_where_numpy_rounds_otherwise(
    monkeypatch: pytest.MonkeyPatch, kernel_cache: Path
) -> None:
    """Where numpy's exp (or log, or pow) differs from the compiled one, numpy runs."""
    pytest.importorskip("numba")
    monkeypatch.setenv(kernels.MODE_VARIABLE, "numba")
    monkeypatch.setattr(kernels, "_agreement", None)
    assert kernels.active()
    real = kernels.reference

    def off_by_one_ulp(x: np.ndarray, e: float) -> np.ndarray:
        out = real(x, e)
        out[0, 7] = np.nextafter(out[0, 7], np.inf)
        return out

    monkeypatch.setattr(kernels, "reference", off_by_one_ulp)
    monkeypatch.setattr(kernels, "_agreement", None)
    assert not kernels.active()


def test_mode_follows_every_change_of_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """``mode`` reads the variable on every call (from the dictionary behind
    ``os.environ``), so setting, changing and removing it take effect at once."""
    seen = []
    for value in ("numba", " NumPy ", None, "numba", "fast", "auto"):
        if value is None:
            monkeypatch.delenv(kernels.MODE_VARIABLE, raising=False)
        else:
            monkeypatch.setenv(kernels.MODE_VARIABLE, value)
        seen.append(kernels.mode())
    assert seen == ["numba", "numpy", "auto", "numba", "numpy", "auto"]


def test_unknown_mode_is_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(kernels.MODE_VARIABLE, "fortran")
    assert kernels.mode() == "numpy" and not kernels.active()


# -- generated source ----------------------------------------------------------------------

_SOURCES_OF = """
import hashlib, sys
from sim.engine import foresight, kernels
from sim.engine.foresight import responders
from sim.engine.model import WargameModel
from sim.scenario import load_scenario
m = WargameModel(load_scenario(sys.argv[1]), replicates=3, collect=False, rng=1)
for a in m.spec.actors:
    for b in responders(m.world, a):
        for r in b.responses:
            k = kernels.chance_kernel(r, m.world)
            src = "none" if k is None else k.source("a" * len(k.names))
            print(a.id, r.actor.id, r.action.id, hashlib.sha256(src.encode()).hexdigest())
"""


def test_generated_source_is_deterministic() -> None:
    """The same scenario gives the same kernel sources in processes with other hash seeds."""
    path = str(ROOT / "scenarios" / "allied_resolve_2022.yaml")
    outs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", _SOURCES_OF, path],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        outs.append(done.stdout)
    assert outs[0] == outs[1]
    assert outs[0].count("\n") >= 3 and "none" not in outs[0]


_SWITCH = """
import gc
from sim.engine import kernels
before = gc.get_freeze_count()
usable = kernels.usable()
print(usable, before, gc.get_freeze_count(), len(gc.get_objects()))
"""


def test_the_switch_takes_numbas_objects_out_of_the_collectors_walks(kernel_cache: Path) -> None:
    """After the switch, the objects it made (numba's, some 100,000) are frozen: a full
    collection no longer walks them on every tenth chunk."""
    pytest.importorskip("numba")
    env = {**os.environ, "PYTHONPATH": str(ROOT), kernels.MODE_VARIABLE: "numba"}
    done = subprocess.run(
        [sys.executable, "-c", _SWITCH], capture_output=True, text=True, env=env, check=True
    )
    usable, before, frozen, tracked = done.stdout.split()
    if usable != "True":
        pytest.skip("numba's exp, log and pow are not numpy's here")
    assert int(frozen) - int(before) > 50_000 and int(tracked) < 10_000


# -- auto: the compiled path where it pays ----------------------------------------------------


@pytest.fixture
def fresh_auto(monkeypatch: pytest.MonkeyPatch, kernel_cache: Path) -> None:
    """``auto`` as in a new process: no scenario seen, nothing preferred."""
    monkeypatch.setattr(kernels, "_accounts", {})
    monkeypatch.setattr(kernels, "_last", [None, 0.0, 0])
    monkeypatch.setattr(kernels, "_preferred", False)
    monkeypatch.setattr(kernels, "_agreement", None)  # checked again, as in a new process


DEFAULT = ROOT / "scenarios" / "allied_resolve_2022.yaml"


def _counting(monkeypatch: pytest.MonkeyPatch, name: str = "decide") -> list[bool]:
    """Every call into a compiled part (the whole decision unless told), and whether it
    ran compiled."""
    calls: list[bool] = []
    real = getattr(kernels, name)

    def call(*args: Any) -> Any:
        got = real(*args)
        calls.append(got is not None and got is not False)
        return got

    monkeypatch.setattr(kernels, name, call)
    return calls


def test_auto_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(kernels.MODE_VARIABLE, raising=False)
    assert kernels.mode() == "auto"


def test_auto_switches_after_its_cpu_budget_with_the_same_worlds(
    monkeypatch: pytest.MonkeyPatch, fresh_auto: None
) -> None:
    """Below the budget auto runs numpy; past it, the kernels, and the worlds are the same."""
    pytest.importorskip("numba")
    plain, calls = _run(DEFAULT, "numpy", monkeypatch, n=300), _counting(monkeypatch)
    path = DEFAULT
    monkeypatch.setattr(kernels, "AUTO_AFTER", 1e9)
    monkeypatch.setattr(kernels, "AUTO_AFTER_COLD", 1e9)
    assert _same_worlds(plain, _run(path, "auto", monkeypatch, n=300))
    assert calls and not any(calls)  # a short process: numpy throughout
    monkeypatch.setattr(kernels, "_accounts", {})
    monkeypatch.setattr(kernels, "AUTO_AFTER", 0.0)
    monkeypatch.setattr(kernels, "AUTO_AFTER_COLD", 0.0)
    calls.clear()
    assert _same_worlds(plain, _run(path, "auto", monkeypatch, n=300))
    assert not calls[0] and calls[-1]  # numpy until the clock was read, compiled after


def test_auto_before_its_switch_foresees_as_the_numpy_path(
    monkeypatch: pytest.MonkeyPatch, fresh_auto: None
) -> None:
    """Until auto switches, foresight's hypothetical moves go the numpy path's way
    (adjudication.move on a copy), not the compiled path's general adjudication that
    each declining kernel would leave them to: the general one runs once a day only,
    for the real moves."""
    pytest.importorskip("numba")
    monkeypatch.setattr(kernels, "AUTO_AFTER", 1e9)
    monkeypatch.setattr(kernels, "AUTO_AFTER_COLD", 1e9)
    general: list[int] = []
    real = foresight.adjudicate

    def counted(*args: Any) -> None:
        general.append(1)
        real(*args)

    monkeypatch.setattr(foresight, "adjudicate", counted)
    plain = _run(DEFAULT, "numpy", monkeypatch, n=300)
    assert _same_worlds(plain, _run(DEFAULT, "auto", monkeypatch, n=300))
    assert general == []


def _chunks_with_estimates(
    monkeypatch: pytest.MonkeyPatch, n: int, aheads: list[int]
) -> list[list[bool]]:
    """Chunks of ``n`` worlds of the default scenario under auto, each told
    :func:`kernels.expect` its estimate first; per chunk, whether each compiled
    decision ran compiled. Each chunk's worlds are the numpy path's."""
    sc = load_scenario(DEFAULT)
    plain = _run(DEFAULT, "numpy", monkeypatch, n=n)
    calls = _counting(monkeypatch)
    monkeypatch.setenv(kernels.MODE_VARIABLE, "auto")
    seen = []
    for ahead in aheads:
        calls.clear()
        kernels.expect(sc, n, ahead)
        assert _same_worlds(plain, _run(DEFAULT, "auto", monkeypatch, n=n))
        seen.append(list(calls))
    return seen


def test_auto_with_a_runners_estimate_switches_where_it_pays(
    monkeypatch: pytest.MonkeyPatch, fresh_auto: None
) -> None:
    """Told that many worlds are ahead, auto takes the kernels after the first chunk,
    long before its own budget; told that only this chunk is left, it never does,
    even past its budget."""
    pytest.importorskip("numba")
    _run(DEFAULT, "numba", monkeypatch, n=50)  # the kernels compiled into the cache
    monkeypatch.setattr(kernels, "_accounts", {})
    monkeypatch.setattr(kernels, "_agreement", None)
    monkeypatch.setattr(kernels, "AUTO_AFTER", 1e9)
    # fewer worlds ahead than would pay for the switch at the prior's CPU per world
    below = int(0.9 * kernels.AUTO_SWITCH / (kernels.AUTO_PRIOR * kernels.AUTO_SAVING))
    first, second = _chunks_with_estimates(monkeypatch, 300, [below, 10**9])
    assert first and not any(first)  # the first chunk measures the numpy path
    assert second and second[-1]  # then the kernels, the budget still far off
    monkeypatch.setattr(kernels, "_accounts", {})
    # so many worlds ahead that even a cheap scenario would pay: the kernels at once
    (at_once,) = _chunks_with_estimates(monkeypatch, 300, [10**9])
    assert at_once and all(at_once)
    monkeypatch.setattr(kernels, "_accounts", {})
    # each of two workers of a batch of 100,000 worlds: at once too (docs/performance.md)
    (half,) = _chunks_with_estimates(monkeypatch, 300, [50_000])
    assert half and all(half)
    monkeypatch.setattr(kernels, "_accounts", {})
    monkeypatch.setattr(kernels, "AUTO_AFTER", 0.0)
    # a switch that costs more than these chunks' CPU could ever save, however slow
    # the machine (the first chunk's CPU per world is what the estimate multiplies)
    monkeypatch.setattr(kernels, "AUTO_SWITCH", 60.0)
    chunks = _chunks_with_estimates(monkeypatch, 300, [600, 300])
    assert all(c and not any(c) for c in chunks)  # the last chunks: never worth a switch


def test_auto_waits_longer_where_the_kernels_were_never_compiled(
    monkeypatch: pytest.MonkeyPatch, fresh_auto: None
) -> None:
    pytest.importorskip("numba")
    sc = load_scenario(ROOT / "scenarios" / "allied_resolve_2022.yaml")
    state = WargameModel(sc, replicates=5, collect=False, rng=1).world
    monkeypatch.setenv(kernels.MODE_VARIABLE, "auto")
    mark = kernels.marker(sc.sha256)
    mark.unlink(missing_ok=True)
    kernels.compiled_for(state)
    assert kernels._accounts[sc.sha256].after == kernels.AUTO_AFTER_COLD
    monkeypatch.setenv(kernels.MODE_VARIABLE, "numba")  # compiled: the mark is made
    monkeypatch.setattr(kernels, "_accounts", {})
    assert kernels.compiled_for(state) and mark.exists()
    monkeypatch.setenv(kernels.MODE_VARIABLE, "auto")
    monkeypatch.setattr(kernels, "_accounts", {})
    kernels.compiled_for(state)
    assert kernels._accounts[sc.sha256].after == kernels.AUTO_AFTER


_GENERATOR = '''"""A module that generates kernels."""

# a comment
TEMPLATE = "out[i] = {x}"


class Maker:
    """Makes kernels."""

    def line(self, x: str) -> str:
        """A line of a kernel."""
        return TEMPLATE.format(x=x) if x not in {"a", "b", "c"} else ""
'''


def _generator_behaviour(source: str) -> bytes:
    return b"".join(kernels._behaviour(compile(source, "generator.py", "exec")))


@pytest.mark.parametrize(
    "edit",
    [
        ("A module that generates kernels.", "Generates kernels, and says so at length."),
        ("Makes kernels.", "Makes the kernels."),
        ("A line of a kernel.", "One line of a kernel,\n        over two lines."),
        ("# a comment", "# another comment\n# and one more"),
        ("\n\nclass Maker", "\n\n\n\nclass Maker"),  # every line below moves
    ],
)
def test_the_generators_mark_ignores_its_docs(edit: tuple[str, str]) -> None:
    """A docs-only edit to a module that generates kernels keeps the mark of every
    scenario compiled before (else the next batches wait as for kernels never
    compiled)."""
    edited = _GENERATOR.replace(*edit)
    assert edited != _GENERATOR
    assert _generator_behaviour(edited) == _generator_behaviour(_GENERATOR)


@pytest.mark.parametrize(
    "edit",
    [
        ('"out[i] = {x}"', '"out[i] = -{x}"'),
        ('{"a", "b", "c"}', '{"a", "b", "d"}'),
        ("x not in", "x in"),
        ("format(x=x)", "format(x=x.upper())"),
    ],
)
def test_the_generators_mark_follows_its_code(edit: tuple[str, str]) -> None:
    edited = _GENERATOR.replace(*edit)
    assert edited != _GENERATOR
    assert _generator_behaviour(edited) != _generator_behaviour(_GENERATOR)


def test_the_generators_mark_is_the_same_in_every_process() -> None:
    """Sets of strings among the constants iterate in an order that changes with the
    hash seed; the mark must not."""
    code = (
        "import hashlib, sys; import sim.engine.kernels as k; "
        "print(k._generator(), hashlib.sha256(b''.join(k._behaviour("
        "compile(sys.stdin.read(), 'generator.py', 'exec')))).hexdigest())"
    )
    marks = {
        subprocess.run(
            [sys.executable, "-c", code],
            input=_GENERATOR,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3", "4")
    }
    assert len(marks) == 1


def test_auto_prefer_takes_the_cached_kernels_at_once_and_compiles_none(
    monkeypatch: pytest.MonkeyPatch, fresh_auto: None
) -> None:
    """A long-lived process uses a scenario's kernels from the first call where they are
    in the cache, and does not stop to compile those of a scenario never compiled."""
    pytest.importorskip("numba")
    sha = load_scenario(DEFAULT).sha256
    calls = _counting(monkeypatch)
    kernels.prefer()
    kernels.marker(sha).unlink(missing_ok=True)
    _run(DEFAULT, "auto", monkeypatch, n=50)
    assert calls and not any(calls)  # never compiled here: numpy, as a short process
    kernels._mark(sha)
    monkeypatch.setattr(kernels, "_accounts", {})
    calls.clear()
    _run(DEFAULT, "auto", monkeypatch, n=50)
    assert calls and all(calls)


def test_auto_prefer_never_compiles_however_long_it_runs(
    monkeypatch: pytest.MonkeyPatch, fresh_auto: None
) -> None:
    """In a long-lived process a scenario never compiled stays on numpy even past the
    budget of a cold scenario: a page or a game day never stops for a compilation."""
    pytest.importorskip("numba")
    sha = load_scenario(DEFAULT).sha256
    calls = _counting(monkeypatch)
    kernels.prefer()
    kernels.marker(sha).unlink(missing_ok=True)
    monkeypatch.setattr(kernels, "AUTO_AFTER_COLD", 0.0)
    _run(DEFAULT, "auto", monkeypatch, n=50)
    assert calls and not any(calls)


def test_auto_without_numba_is_numpy(monkeypatch: pytest.MonkeyPatch, fresh_auto: None) -> None:
    path = ROOT / "scenarios" / "allied_resolve_2022.yaml"
    plain = _run(path, "numpy", monkeypatch, n=200)
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` raises ImportError
    monkeypatch.setattr(kernels, "_numba", None)
    monkeypatch.setattr(kernels, "_found", None)
    monkeypatch.setenv(kernels.MODE_VARIABLE, "auto")
    assert not kernels.active()
    kernels.prefer()
    assert _same_worlds(plain, _run(path, "auto", monkeypatch, n=200))


def test_the_viewer_prefers_the_kernels_from_its_first_page(
    monkeypatch: pytest.MonkeyPatch, fresh_auto: None
) -> None:
    """The viewer's process takes the compiled path once the page loads its settings, so
    the page's first ensemble loads the kernels, not the first slider move."""
    pytest.importorskip("solara")
    from sim.viz import app
    from sim.viz.environment import SCENARIO_ENV

    assert not kernels._preferred  # importing the page changes nothing
    monkeypatch.setenv(SCENARIO_ENV, str(DEFAULT))
    settings, error = app._load_settings()
    assert settings is not None and error is None
    assert kernels._preferred


def _decisions(model: WargameModel, rng: np.random.Generator, k: int) -> list[Any]:
    """Random decisions of every actor: pattern ``k`` leaves some actions untaken (0), takes
    one action everywhere (1) or any action anywhere (2)."""
    from sim.engine.adjudication import Decision

    R, out = model.world.R, []
    for actor in model.spec.actors:
        n = len(actor.actions)
        if k == 0:
            pick = rng.choice(n, size=max(1, n // 2), replace=False)
            action = rng.choice(pick, size=R)
        elif k == 1:
            action = np.full(R, rng.integers(n))
        else:
            action = rng.integers(n, size=R)
        out.append(Decision(actor.id, action.astype(np.int64), np.full(R, -1)))
    return out


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_compiled_adjudication_equals_numpy_on_random_decisions(
    path: Path, monkeypatch: pytest.MonkeyPatch, kernel_cache: Path
) -> None:
    """Every action of every actor, taken in some worlds, in all or in none: the same
    values (zeros signed as there: some start at -0.0, which a change of 0 makes
    +0.0), the same arrays kept where nothing changes a variable, and what a call
    handed to a state left alone by the next calls (the kernel keeps its arrays)."""
    pytest.importorskip("numba")
    from sim.engine.adjudication import adjudicate

    model = WargameModel(load_scenario(path), replicates=300, collect=False, rng=3)
    for _ in range(12):
        model.step()
    world = model.world
    for name, var in world.var_types.items():
        if var.type == "float":
            world.values[name] = np.where(np.arange(world.R) % 3 == 0, -0.0, world.values[name])
    rng = np.random.default_rng(7)
    handed: list[tuple[np.ndarray, np.ndarray]] = []
    for k in (0, 1, 2, 0, 2):
        decisions = _decisions(model, rng, k)
        env = world.env()
        monkeypatch.setenv(kernels.MODE_VARIABLE, "numpy")
        a = world.take(np.arange(world.R))
        kept = dict(a.values)
        adjudicate(a, decisions, env)
        monkeypatch.setenv(kernels.MODE_VARIABLE, "numba")
        b = world.take(np.arange(world.R))
        before = dict(b.values)
        assert kernels.active() and kernels.adjudicate(b, decisions, env)  # compiled
        assert all(same(a.values[n], b.values[n]) for n in a.values)
        assert [n for n in a.values if a.values[n] is kept[n]] == [
            n for n in b.values if b.values[n] is before[n]
        ]
        handed += [(x, x.copy()) for n, x in b.values.items() if x is not before[n]]
        handed += [(b.rung, b.rung.copy()), (b.peak, b.peak.copy())]
        assert np.array_equal(a.rung, b.rung) and np.array_equal(a.peak, b.peak)
        assert np.array_equal(a.first_day, b.first_day)
        for actor in a.action_count:
            assert np.array_equal(a.action_count[actor], b.action_count[actor])
            assert np.array_equal(a.action_last[actor], b.action_last[actor])
    assert all(np.array_equal(x, y) for x, y in handed)


# -- an actor's whole decision ------------------------------------------------------------------


def _same_decision(a: Any, b: Any) -> bool:
    return (
        a.actor == b.actor
        and np.array_equal(a.action, b.action)
        and np.array_equal(a.rule, b.rule)
        and [k for k, _ in a.binding] == [k for k, _ in b.binding]
        and all(np.array_equal(x, y) for (_, x), (_, y) in zip(a.binding, b.binding, strict=True))
    )


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_compiled_decisions_equal_numpy_on_every_scenario(
    path: Path, monkeypatch: pytest.MonkeyPatch, kernel_cache: Path
) -> None:
    """Every decision of every actor on every day: the kernel's and the numpy path's on
    the same state and a copy of the same stream give the same choices, rules, binding
    constraints (in their order), and leave the stream at the same place."""
    pytest.importorskip("numba")
    from sim.engine import decision

    monkeypatch.setenv(kernels.MODE_VARIABLE, "numba")
    real = kernels.decide
    compared: list[str] = []

    def checked(actor: Any, plan: Any, state: Any, env: Any, rng: np.random.Generator) -> Any:
        twin = copy.deepcopy(rng)
        got = real(actor, plan, state, env, rng)
        assert got is not None  # compiled, every time
        os.environ[kernels.MODE_VARIABLE] = "numpy"
        try:
            want = decision.decide(actor, state, env, twin)
        finally:
            os.environ[kernels.MODE_VARIABLE] = "numba"
        assert _same_decision(got, want), (actor.id, state.day)
        assert rng.bit_generator.state == twin.bit_generator.state
        compared.append(actor.id)
        return got

    monkeypatch.setattr(kernels, "decide", checked)
    model = WargameModel(load_scenario(path), replicates=400, collect=False, rng=5).run()
    assert len(compared) == len(model.spec.actors) * model.spec.horizon_days


def test_compiled_choice_alone_equals_numpy(
    monkeypatch: pytest.MonkeyPatch, kernel_cache: Path
) -> None:
    """Where the whole decision has no kernel, the choice by preferences still runs
    compiled (:func:`kernels.choose`), with the numpy path's worlds."""
    pytest.importorskip("numba")
    path = ROOT / "scenarios" / "rgf_deployment_2022.yaml"
    plain = _run(path, "numpy", monkeypatch, n=400)
    calls = _counting(monkeypatch, "choose")
    monkeypatch.setattr(kernels, "decide", lambda *args: None)
    assert _same_worlds(plain, _run(path, "numba", monkeypatch, n=400))
    assert calls and all(calls)


_BLAS_CHECK = """
import sys
from sim.engine import kernels
assert kernels.numba_module() is not None
import numba.np.arraymath
print(numba.np.arraymath._HAVE_BLAS, "scipy.linalg" in sys.modules)
import scipy.linalg.cython_blas  # still importable afterwards
print("scipy.linalg" in sys.modules)
"""


def test_numba_is_loaded_without_importing_scipys_blas() -> None:
    """numba's numpy functions are loaded without their BLAS check (which imports
    scipy.linalg, a third of the switch to the compiled path), and SciPy's BLAS can
    still be imported after it."""
    pytest.importorskip("numba")
    pytest.importorskip("scipy.linalg.cython_blas")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _BLAS_CHECK], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.split() == ["False", "False", "True"]


def test_validate_compile_puts_the_kernels_in_the_cache(
    monkeypatch: pytest.MonkeyPatch, fresh_auto: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """``wargame validate --compile`` (which ``make main`` runs for the default scenario)
    compiles and marks the kernels, so that ``auto`` treats them as cached; where numba
    cannot be had it says so and the file is still ok."""
    pytest.importorskip("numba")
    from sim.cli import main

    monkeypatch.setenv(kernels.MODE_VARIABLE, "auto")
    sc = load_scenario(DEFAULT)
    kernels.marker(sc.sha256).unlink(missing_ok=True)
    assert main(["validate", "--compile", str(DEFAULT)]) == 0
    said = capsys.readouterr().out
    assert ": ok; kernels " in said and "s of CPU" in said
    assert kernels.marker(sc.sha256).exists()
    monkeypatch.setattr(kernels, "_accounts", {})  # as in the next process
    assert not kernels._account(sc)[1].cold  # auto's rule for cached kernels

    monkeypatch.setattr(kernels, "_accounts", {})
    monkeypatch.setattr(kernels, "_agreement", False)  # as where numba gives other numbers
    assert main(["validate", "--compile", str(DEFAULT)]) == 0
    assert "kernels not compiled" in capsys.readouterr().out
