"""What one benchmark case does, in its own fresh Python process.

``bench.py`` starts ``python benchmarks/bench.py --case SPEC`` for every
timed case; :func:`run` imports the library first and then times the call,
so a case's ``seconds`` are those of the call alone and import costs are
reported separately (``import_s``).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.registry import ClaimsPolicy
    from sim.scenario.model import Scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = "scenarios/allied_resolve_2022.yaml"
# Citations are checked against the project's registry, named explicitly so
# that a scenario copied to a temporary folder (``bench.py --at REV``) is
# checked against the same claims as the file in scenarios/.
CLAIMS = ROOT / "seeds" / "claims.yaml"
SWEEP_VARY = ("param.kremlin_appetite=0:1:{n}", "param.ukraine_retaliation=0:1:{n}")
CHUNK = 5000  # the batch's chunk size: foresight cases run their worlds in such chunks

# Parts of a batch whose cumulative time the profile reports: (label, file,
# function, a file whose calls are left out). Adjudication is also called by
# foresight, on copies; that share is counted under foresight, not here.
PARTS = (
    ("loading the scenario", "sim/scenario/__init__.py", "load_scenario", None),
    ("simulating", "sim/engine/core.py", "run", None),
    ("  events", "sim/engine/phases.py", "events_phase", None),
    ("  observing", "sim/engine/phases.py", "observe", None),
    ("  deciding", "sim/engine/decision.py", "decide", None),
    ("    of which foresight", "sim/engine/foresight.py", "utilities", None),
    ("  adjudicating", "sim/engine/adjudication.py", "adjudicate", "sim/engine/foresight.py"),
    ("reducing chunks to counts", "sim/results/aggregate.py", "summarise_chunk", None),
    ("writing runs.csv", "sim/results/writer.py", "write", None),
)


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one case in this (fresh) process; returns its measurements."""
    import resource

    t0 = time.perf_counter()
    kind = spec["kind"]
    import sim
    import sim.batch.runner
    import sim.batch.sweep
    import sim.results.reader
    from sim.registry import ClaimsPolicy

    if kind not in ("batch", "sweep"):
        # The Mesa model, for the cases that use it: a batch does not import
        # Mesa, and its forked workers should not carry it either.
        import sim.engine.model

    out: dict[str, Any] = {"import_s": time.perf_counter() - t0}
    cpu0 = cpu_seconds()
    scenario = spec.get("scenario", SCENARIO)
    claims = ClaimsPolicy(Path(spec.get("claims", CLAIMS)))
    with tempfile.TemporaryDirectory(prefix="wargame-bench-") as tmp:
        t = time.perf_counter()
        if kind == "batch":
            sim.run_batch(
                scenario,
                runs=spec["runs"],
                claims=claims,
                seed=1,
                workers=spec["workers"],
                executor=spec["executor"],
                runs_table=spec["runs_table"],
                progress=False,
                out=Path(tmp) / "out",
            )
        elif kind == "sweep":
            sim.run_sweep(
                scenario,
                vary=[v.format(n=spec["n"]) for v in SWEEP_VARY],
                claims=claims,
                runs=spec["runs"],
                seed=1,
                workers=spec["workers"],
                executor=spec["executor"],
                progress=False,
                out=Path(tmp) / "out",
            )
        elif kind == "mesa":
            out.update(_mesa(scenario, claims, spec["runs"]))
        elif kind == "profile":
            out.update(_profile(scenario, claims, spec["runs"], Path(tmp)))
        elif kind == "foresight":
            out.update(_foresight(spec, claims))
        elif kind == "snapshot":
            out.update(_snapshot(spec, claims))
        elif kind == "viewer":
            out.update(_viewer(scenario, claims, spec.get("moves", 5)))
        else:
            raise ValueError(f"unknown case kind {kind!r}")
        out["seconds"] = out.get("seconds", time.perf_counter() - t)
    out["cpu"] = cpu_seconds() - cpu0
    out["maxrss_self"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    # The largest finished child (a worker), not their sum.
    out["maxrss_children"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return out


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished workers."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


# -- the viewer's tweak loop ------------------------------------------------------
def _viewer(scenario: str, claims: ClaimsPolicy, moves: int) -> dict[str, Any]:
    """What the viewer does after a slider move, ``moves`` times: CPU and wall time each.

    Pins ``kremlin_appetite`` at ``moves`` values never seen before (the
    page's cache cannot help), reruns its 3,000 worlds, compares them with
    the scenario as written (run once, before the timing, as the page does on
    load) and builds both charts' specifications as the browser receives
    them (JSON). The browser's own drawing is not counted. Like the page, it
    tells the kernels' ``auto`` mode that the process lives long, so the
    compiled path is taken at once where numba and cached kernels are there.
    """
    import json

    from sim.engine import kernels
    from sim.viz.charts import fan_spec, outcomes_spec
    from sim.viz.ensemble import WORLDS, changes, run_ensemble

    kernels.prefer()  # as the page does when it loads: a long-lived process
    sc = load(scenario, claims)
    base = run_ensemble(sc, {}, worlds=WORLDS)
    sim_cpu, draw_cpu, wall = [], [], []
    for i in range(moves):
        t, c = time.perf_counter(), time.process_time()
        ens = run_ensemble(sc, {"kremlin_appetite": round(0.1 + 0.8 * i / max(moves - 1, 1), 3)})
        c1 = time.process_time()
        json.dumps([outcomes_spec(ens, changes(ens, base)), fan_spec(ens, base)])
        sim_cpu.append(c1 - c)
        draw_cpu.append(time.process_time() - c1)
        wall.append(time.perf_counter() - t)
    return {
        "worlds": WORLDS,
        "moves": moves,
        "viewer_cpu_s": statistics.median(s + d for s, d in zip(sim_cpu, draw_cpu, strict=True)),
        "viewer_simulate_cpu_s": statistics.median(sim_cpu),
        "viewer_draw_cpu_s": statistics.median(draw_cpu),
        "viewer_wall_s": statistics.median(wall),
    }


# -- mesa.batch_run ---------------------------------------------------------------
def _mesa(scenario: str, claims: ClaimsPolicy, runs: int) -> dict[str, Any]:
    """``mesa.batch_run`` of the default scenario's model, one world per model instance,
    timed in two parts, one after the other in this process.

    The scenario is loaded once, before the clock starts, and passed to every
    instance, as docs/decision-model.md recommends for ``mesa.batch_run``.

    An instance does not cost the same all along: under the kernels' ``auto``
    mode the process runs its first instances on the numpy path and, once it has
    spent :data:`sim.engine.kernels.AUTO_AFTER` seconds of CPU on the scenario,
    switches to the compiled one, whose instances cost about half as much. So
    the first instances' time (those before the switch, the switch and some after)
    is not a rate to multiply. The first part is a call of ``runs`` instances,
    repeated (at most 10 times) until the process runs the kernels, or at once
    where it never will (``WARGAME_KERNELS=numpy``, numba missing); then one more
    call of ``runs`` instances, made in the same process as the later instances
    of one long call are, gives the rate at which the rest of a long
    ``mesa.batch_run`` goes. ``switched`` says whether the process ran the
    kernels by the end of the first part, ``steady`` whether the rate was then
    steady (switched, or on the numpy path for good).
    """
    import mesa

    from sim.engine import kernels
    from sim.engine.model import WargameModel

    sc = load(scenario, claims)
    done = 0

    def call() -> tuple[float, float]:
        nonlocal done
        t, c = time.perf_counter(), cpu_seconds()
        mesa.batch_run(
            WargameModel,
            parameters={"scenario_file": sc, "replicates": 1},
            rng=list(range(done, done + runs)),
            max_steps=100,
            number_processes=1,
            display_progress=False,
        )
        done += runs
        return time.perf_counter() - t, cpu_seconds() - c

    first_s = first_cpu = 0.0
    for _ in range(10):
        s, c = call()
        first_s, first_cpu = first_s + s, first_cpu + c
        if kernels.running(sc) or not kernels.active():
            break
    # switched: the kernels run; steady: they run, or never will (the numpy path throughout)
    first_n, switched = done, kernels.running(sc)
    steady = switched or not kernels.active()
    then_s, then_cpu = call()
    return {
        "first_n": first_n,
        "first_s": first_s,
        "first_cpu": first_cpu,
        "then_s": then_s,
        "then_cpu": then_cpu,
        "switched": switched,
        "steady": steady,
        "seconds": first_s + then_s,
    }


def mesa_estimate(got: dict[str, Any], runs: int, total: int) -> tuple[float, float]:
    """Wall and CPU seconds of one ``mesa.batch_run`` of ``total`` instances, from a
    :func:`_mesa` case of ``runs`` instances a call: its first part as it was, and
    the other instances at the rate of its last call."""
    scale = (total - got["first_n"]) / runs
    return got["first_s"] + scale * got["then_s"], got["first_cpu"] + scale * got["then_cpu"]


# -- foresight ----------------------------------------------------------------------
def load(path: str, claims: ClaimsPolicy) -> Scenario:
    """A scenario file, loaded and checked against the claims registry of ``claims``."""
    from sim.registry import load_registry
    from sim.scenario import load_scenario

    assert claims.file is not None  # the benchmark always names its registry
    return load_scenario(path, registry=load_registry(claims.file))


def _foresight(spec: dict[str, Any], claims: ClaimsPolicy) -> dict[str, Any]:
    """The engine alone on a synthetic scenario: ``runs`` worlds in chunks of 5,000.

    Median over ``reps`` repetitions (seeds 1, 2, ...), after the scenario is
    loaded; no tables are written. Timed in CPU seconds of this process (one
    thread), which other programs on the machine disturb far less than wall
    time; wall time is returned as well. One more chunk, untimed, counts the
    work foresight does in it.
    """
    from sim.batch.seeding import chunk_seed
    from sim.engine.model import WargameModel

    sc = load(spec["path"], claims)
    runs, times, walls = spec["runs"], [], []
    moves = 0.0
    for rep in range(spec["reps"]):
        t, w = time.process_time(), time.perf_counter()
        left, c = runs, 0
        while left > 0:
            n = min(CHUNK, left)
            m = WargameModel(sc, replicates=n, rng=chunk_seed(rep + 1, 0, c), collect=False).run()
            moves += float(m.world.action_count["decider"][1:].sum())
            left, c = left - n, c + 1
        times.append(time.process_time() - t)
        walls.append(time.perf_counter() - w)
    with Counted() as counted:
        WargameModel(sc, replicates=CHUNK, rng=chunk_seed(1, 0, 0), collect=False).run()
    return {
        "seconds": statistics.median(times),
        "wall": statistics.median(walls),
        "days": sc.horizon_days,
        "moves_per_world": moves / (runs * spec["reps"]),
        "per_day": {k: v / sc.horizon_days for k, v in counted.calls.items()},
        "worlds_per_call": {k: counted.worlds[k] / max(v, 1) for k, v in counted.calls.items()},
    }


class Counted:
    """Inside the block, calls of foresight's hypothetical adjudications and response
    probabilities are counted, with the worlds each was made on.

    ``adjudicate`` is the engine's own function as foresight calls it; a name
    the module does not have (it changed) is left out.
    """

    NAMES = ("adjudicate", "daily_probability")

    def __init__(self) -> None:
        self.calls = dict.fromkeys(self.NAMES, 0)
        self.worlds = dict.fromkeys(self.NAMES, 0)
        self._saved: dict[str, Any] = {}

    def __enter__(self) -> Counted:
        from sim.engine import foresight

        for name in self.NAMES:
            inner = getattr(foresight, name, None)
            if inner is None:
                del self.calls[name], self.worlds[name]
                continue
            self._saved[name] = inner
            setattr(foresight, name, self._wrap(name, inner))
        return self

    def __exit__(self, *exc: object) -> None:
        from sim.engine import foresight

        for name, inner in self._saved.items():
            setattr(foresight, name, inner)

    def _wrap(self, name: str, inner: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            state = args[1] if name == "daily_probability" else args[0]
            self.worlds[name] += getattr(state, "R", 0)
            return inner(*args, **kwargs)

        return wrapper


def _snapshot(spec: dict[str, Any], claims: ClaimsPolicy) -> dict[str, Any]:
    """The foresight computation alone, for every (K, H), on one and the same snapshot.

    A 5,000-world model of the synthetic scenario with the largest K is run
    to ``day``; then :func:`sim.engine.foresight.utilities` is timed with the
    first K of its foresight rules and their horizon set to H (CPU time of
    the fastest of ``reps`` calls, the one least disturbed by other
    programs), and the
    hypothetical adjudications and response probabilities of one call are
    counted.
    """
    import dataclasses

    from sim.engine import foresight
    from sim.engine.beliefs import actor_env
    from sim.engine.model import WargameModel

    sc = load(spec["path"], claims)
    m = WargameModel(sc, replicates=CHUNK, rng=1, collect=False)
    for _ in range(spec["day"]):
        m.step()
    st = m.world
    st.day = m.day
    decider = sc.actor("decider")
    rules = decider.rules_of("foresight")
    env = actor_env(st, decider, st.env())
    out = []
    for k in spec["ks"]:
        for h in spec["hs"]:
            chosen = [dataclasses.replace(r, horizon=h) for r in rules[:k]]
            foresight.utilities(decider, chosen, st, env)  # warm-up
            times = []
            for _ in range(spec["reps"]):
                t = time.process_time()
                foresight.utilities(decider, chosen, st, env)
                times.append(time.process_time() - t)
            with Counted() as counted:
                foresight.utilities(decider, chosen, st, env)
            out.append({"k": k, "h": h, "seconds": min(times), **counted.calls})
    return {"snapshot": out, "worlds": CHUNK, "day": spec["day"]}


# -- profile ------------------------------------------------------------------------
def _profile(scenario: str, claims: ClaimsPolicy, runs: int, tmp: Path) -> dict[str, Any]:
    """cProfile of a serial batch, foresight's share of it without the profiler, and
    how run time splits by the size of a chunk."""
    import cProfile
    import pstats

    import sim
    from sim.engine import foresight
    from sim.engine.model import WargameModel

    prof = cProfile.Profile()
    prof.enable()
    sim.run_batch(scenario, runs=runs, seed=1, claims=claims, progress=False, out=tmp / "p")
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    visible_c = 0.0  # own time of C functions (builtins, ndarray methods) cProfile sees
    foresight_own = 0.0
    table = stats.stats  # type: ignore[attr-defined]
    for (file, line, name), (_, ncalls, tt, ct, _) in table.items():
        label = _label(file, line, name)
        rows.append((label, ncalls, tt, ct))
        if file == "~":
            visible_c += tt
        if label.startswith("sim/engine/foresight.py:"):
            foresight_own += tt
    by_own = sorted(rows, key=lambda r: -r[2])[:10]
    by_cum = sorted((r for r in rows if r[0].startswith("sim/")), key=lambda r: -r[3])[:10]
    parts = [(what, _cumulative(table, f, n, skip)) for what, f, n, skip in PARTS]

    # Foresight's share without the profiler: the same batch again, with
    # foresight.utilities (the engine's one entry into foresight) timed.
    spent = [0.0]
    inner = foresight.utilities

    def timed(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t

    foresight.utilities = timed  # type: ignore[assignment]
    try:
        t = time.perf_counter()
        sim.run_batch(scenario, runs=runs, seed=1, claims=claims, progress=False, out=tmp / "q")
        plain_total = time.perf_counter() - t
    finally:
        foresight.utilities = inner  # type: ignore[assignment]

    # The split between work that grows with the number of worlds (numpy
    # arithmetic and random draws on arrays) and the fixed cost of each call
    # (Python and numpy dispatch): time a chunk of 1 world and of 5,000.
    sc = load(scenario, claims)

    def chunk(n: int) -> float:
        times = []
        for seed in range(3):
            t = time.perf_counter()
            WargameModel(sc, replicates=n, rng=seed, collect=False).run()
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    one, full = chunk(1), chunk(CHUNK)
    return {
        "total": total,
        "by_own": by_own,
        "by_cum": by_cum,
        "parts": parts,
        "visible_c": visible_c,
        "foresight_own": foresight_own,
        "foresight_timed": spent[0],
        "plain_total": plain_total,
        "foresight_rules": sum(r.kind == "foresight" for r in sc.rules),
        "chunk_1": one,
        "chunk_5000": full,
    }


def _cumulative(table: dict[Any, Any], file: str, name: str, skip: str | None) -> float:
    """Cumulative time of the function(s) ``file:name``, leaving out calls from ``skip``."""
    total = 0.0
    for (f, line, n), (_, _, _, ct, callers) in table.items():
        if n != name or not _label(f, line, n).startswith(file + ":"):
            continue
        if skip is None:
            total += ct
            continue
        for (cf, cline, cn), (_, _, _, cct) in callers.items():
            if not _label(cf, cline, cn).startswith(skip + ":"):
                total += cct
    return total


def _label(file: str, line: int, name: str) -> str:
    if file == "~":
        return name
    parts = Path(file).parts
    short = "/".join(parts[parts.index("sim") :]) if "sim" in parts else Path(file).name
    return f"{short}:{line}({name})"
