"""Performance benchmark of the engine and the batch subsystem: one table.

Run with ``make bench`` (``python benchmarks/bench.py``). ``--quick`` runs a
smaller variant in a few minutes; ``--million no`` leaves out the
1,000,000-world batch and ``--million all`` runs it serially too; ``--only
SECTION`` runs some sections only; ``--at REV`` measures a commit rather than
the working tree; ``--out FILE`` also writes the table as markdown and
``--json FILE`` every row and raw measurement as JSON. docs/performance.md
explains every row and holds the figures as measured.

Every timed case runs in a fresh Python process (:mod:`cases`), so no case
profits from modules imported or memory touched by another. Inside that
process the library's modules are imported first and the timed call comes
after, so a batch's time is that of the ``run_batch`` call (worker start-up
included) and import costs show up in the start-up rows instead; the
whole-command row times the ``wargame`` command itself, interpreter start
and imports included. Peak memory is sampled from ``/proc`` every 20 ms as
the resident set of the case process plus all its worker processes (their
sum at one moment); the case process also reports its own high-water mark
(``ru_maxrss``) and that of its largest worker, and for the 1,000,000-world
rows the bound ``own + workers × largest worker`` is given as well.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The benchmark folder is not a package: its modules are found beside this
# script, which Python puts first on sys.path.
import cases
from synthetic import DEFENDER_TYPES, PREDICTED, RESPONDERS, RESPONSES, foresight_scenario

ROOT = cases.ROOT
GIB = 1024**3
MIB = 1024**2

# Targets (on this 2-core machine; see docs/performance.md): those of "a million
# worlds in seconds", which the `targets` table at the end lists with their baselines.
TARGET_CLI_10K_S = 0.6  # `wargame batch <default> --runs 10000 --no-plots`, whole command
TARGET_RATIO = 1000.0  # our batch against mesa.batch_run, 10,000 worlds
TARGET_1M_S = 8.0  # 1,000,000 worlds end to end with runs.csv, every core (goal: 5 s)
TARGET_1M_GOAL_S = 5.0
TARGET_1M_MEMORY = GIB  # 1,000,000 worlds: all processes together
TARGET_LINEAR = 0.15  # 10 x the worlds in at most 10 x (1 + this) the time
TARGET_WORKERS_FROM = 20_000  # every core faster than one from this many worlds on
TARGET_SWEEP_S = 30.0
TARGET_VALIDATE_S = 1.0
TARGET_SCALING = 0.25  # a measured ratio within 25% of the one docs/decision-model.md implies

SECTIONS = ("command", "batch", "mesa", "viewer", "foresight", "sweep", "startup", "profile")
TARGET_VIEWER_S = 0.150  # 3,000 worlds re-simulated and redrawn after a slider move
KS = (1, 2, 4)
HS = (1, 7, 30)

Row = dict[str, Any]


@dataclass(frozen=True)
class Source:
    """What is measured: the scenario file and the claims registry it is checked against.

    ``pythonpath`` is the source tree the library is imported from, when it is
    not the working tree (``--at REV``).
    """

    scenario: str
    claims: str
    pythonpath: str | None = None
    label: str = "the working tree"

    def spec(self) -> dict[str, str]:
        """What a case needs to know of it."""
        return {"scenario": self.scenario, "claims": self.claims}


# -- the harness ----------------------------------------------------------------------
def _tree_rss(pid: int) -> int:
    """Resident set size of ``pid`` and all its descendants, in bytes (Linux)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        p = int(entry)
        children.setdefault(int(fields[1]), []).append(p)  # field 4: ppid
        rss[p] = int(fields[21]) * page  # field 24: rss in pages
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


def watch(
    cmd: list[str], env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], float, int, float]:
    """Run ``cmd``; returns it finished, its wall time, the peak memory of its tree and
    the CPU time (user + system) of the tree's processes that were waited for."""
    cpu0 = _children_cpu()
    t = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            if os.path.isdir("/proc"):
                peak[0] = max(peak[0], _tree_rss(proc.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - t
    done.set()
    sampler.join()
    finished = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    return finished, seconds, peak[0], _children_cpu() - cpu0


def _children_cpu() -> float:
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def run_case(spec: dict[str, Any]) -> dict[str, Any]:
    """Run a case in a fresh process, sampling the memory of its process tree."""
    proc, _, peak, _ = watch([sys.executable, __file__, "--case", json.dumps(spec)])
    if proc.returncode != 0:
        raise RuntimeError(f"case {spec} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["sampled_rss"] = peak
    result["peak_rss"] = max(peak, result["maxrss_self"])
    return result


def repeat(spec: dict[str, Any], reps: int) -> dict[str, Any]:
    """Median time and largest peak memory over ``reps`` fresh processes."""
    results = [run_case(spec) for _ in range(reps)]
    return {
        "seconds": statistics.median(r["seconds"] for r in results),
        "import_s": statistics.median(r["import_s"] for r in results),
        "cpu": statistics.median(r["cpu"] for r in results),
        "peak_rss": max(r["peak_rss"] for r in results),
        "maxrss_self": max(r["maxrss_self"] for r in results),
        "maxrss_children": max(r["maxrss_children"] for r in results),
        "reps": reps,
        "last": results[-1],
    }


def wall(cmd: list[str], reps: int) -> tuple[float | None, int, str]:
    """Median wall time of a command (None if it fails), its peak memory and a note."""
    times, peak = [], 0
    for _ in range(reps):
        proc, seconds, rss, _ = watch(cmd)
        times.append(seconds)
        peak = max(peak, rss)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["?"])[-1]
            return None, peak, f"fails (exit {proc.returncode}: {last[:80]})"
    return statistics.median(times), peak, ""


def wargame_cmd() -> list[str]:
    script = Path(sys.executable).with_name("wargame")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sim"]


# -- formatting -----------------------------------------------------------------------
def fmt_s(s: float | None) -> str:
    if s is None:
        return "n/a"
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def fmt_t(s: float, cpu: float) -> str:
    """Wall time, with the CPU time of all processes (more than wall: parallel; less: waiting)."""
    return f"{fmt_s(s)} (CPU {fmt_s(cpu)})"


def fmt_rate(n: int, s: float) -> str:
    return f"{n / s:,.0f} worlds/s"


def fmt_mem(b: int) -> str:
    return f"{b / MIB:,.0f} MiB"


def workers_text(executor: str, workers: int) -> str:
    return f"{executor}, {workers} worker{'s' if workers > 1 else ''}"


def reps_text(reps: int) -> str:
    return "1 run" if reps == 1 else f"median of {reps}"


def row(
    case: str,
    setting: str,
    measured: str = "",
    result: str = "",
    memory: str = "",
    target: str = "",
    ok: bool | None = None,
    **data: Any,
) -> Row:
    """One row of the table; ``data`` goes to the JSON file only."""
    return {
        "case": case,
        "setting": setting,
        "measured": measured,
        "result": result,
        "memory": memory,
        "target": target,
        "ok": ok,
        "data": data,
    }


def mark(ok: bool | None) -> str:
    return "" if ok is None else ("pass" if ok else "**fail**")


def within(got: float, want: float) -> bool:
    return abs(got / want - 1) <= TARGET_SCALING


# -- the sections ---------------------------------------------------------------------
def bytecode(tree: Path) -> None:
    """Compile the library under ``tree`` to bytecode (``__pycache__``, ignored by git) once,
    so that no timed command compiles it from source: where ``PYTHONDONTWRITEBYTECODE`` is
    set, or in a freshly exported tree, every run would, at about 0.15 s each."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(tree / "sim")],
        capture_output=True,
        check=False,
    )


def warm_kernels(src: Source) -> str:
    """Compile the scenario's kernels into the cache before anything is timed, as
    ``make main`` does for the default scenario (``wargame validate --compile``): a user's
    batches find them there, and without them ``auto`` keeps the numpy path for a
    long time (docs/performance.md, "Compiled kernels"). A batch of 300 worlds with
    ``WARGAME_KERNELS=numba``, which every version of the command can run; says what
    it did, for the line about the machine."""
    env = os.environ | {"WARGAME_KERNELS": "numba"}
    if src.pythonpath:
        env["PYTHONPATH"] = src.pythonpath
    with tempfile.TemporaryDirectory(prefix="wargame-bench-") as tmp:
        cmd = [*wargame_cmd(), "batch", src.scenario, "--runs", "300", "--no-plots", "-q"]
        cmd += ["--claims", src.claims, "--out", str(Path(tmp) / "warm")]
        started = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return f"kernels not compiled first (exit {proc.returncode})"
    return f"kernels compiled into the cache first ({time.perf_counter() - started:.1f} s)"


def whole_command(src: Source, reps: int) -> tuple[list[float], list[float], int, str, str]:
    """``wargame batch`` of 10,000 worlds without plots, ``reps`` times: wall times, CPU times,
    peak memory, a note if it failed and how it ran (executor and workers, as the command
    chose them by default). ``src.pythonpath`` names the code (else this tree's).

    One untimed run comes first, so that every timed one is a user's second command: the
    library compiled to bytecode, its files in the system's file cache and the scenario and
    claims registry in the cache of parsed files (docs/batch.md)."""
    times, cpus, peak, note, how = [], [], 0, "", ""
    env = None
    if src.pythonpath:
        env = os.environ | {"PYTHONPATH": src.pythonpath}
    bytecode(Path(src.pythonpath) if src.pythonpath else ROOT)
    with tempfile.TemporaryDirectory(prefix="wargame-bench-") as tmp:
        for i in range(-1, reps):
            out = Path(tmp) / f"run{i}"
            # The installed script, not ``python -m sim``: that would import the
            # package from the working folder whatever PYTHONPATH says.
            cmd = [*wargame_cmd(), "batch", src.scenario, "--runs", "10000", "--no-plots", "-q"]
            cmd += ["--claims", src.claims, "--out", str(out)]
            proc, seconds, rss, cpu = watch(cmd, env)
            if i < 0 and proc.returncode == 0:
                continue  # the warm-up
            if proc.returncode != 0:
                note = f"fails (exit {proc.returncode}: {proc.stderr.strip()[-80:]})"
                break
            times.append(seconds)
            cpus.append(cpu)
            peak = max(peak, rss)
            ran = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
            how = f"{ran['executor']}, {ran['workers']} worker(s)"
            if ran.get("parts", 1) > 1:
                how += f", its one chunk in {ran['parts']} processes"
    return times, cpus, peak, note, how


def command_section(
    src: Source, quick: bool, say: Any, got: dict[str, Any], baseline: Source | None = None
) -> list[Row]:
    """The whole `wargame batch` command, 10,000 worlds of the default scenario, no plots
    (and, with ``baseline``, the same command on the baseline's code, in the same run)."""
    reps = 3 if quick else 5
    rows = []
    if baseline is not None:
        say(f"baseline: wargame batch --runs 10000 --no-plots ({reps} rep.)")
        times, cpus, peak, note, how = whole_command(baseline, reps)
        if times:
            got["cli_baseline"] = (statistics.median(times), statistics.median(cpus))
            rows.append(
                row(
                    "1. baseline: `wargame batch`, 10,000 worlds, `--no-plots`",
                    f"the same command on {baseline.label}, {reps_text(reps)}",
                    fmt_t(*got["cli_baseline"]),
                    note or how,
                    fmt_mem(peak),
                )
            )
    say(f"wargame batch --runs 10000 --no-plots ({reps} rep.)")
    times, cpus, peak, note, how = whole_command(src, reps)
    if note or not times:
        return [row("1. `wargame batch`, 10,000 worlds", "whole command", "n/a", note, ok=False)]
    s = statistics.median(times)
    got["cli_10k"] = (s, statistics.median(cpus))
    return [
        *rows,
        row(
            "1. `wargame batch` default scenario, 10,000 worlds, `--no-plots`",
            f"whole command in a subprocess (start-up and imports included), {reps_text(reps)}",
            fmt_t(s, statistics.median(cpus)),
            f"{fmt_rate(10_000, s)}; fastest {fmt_s(min(times))}; {how}",
            fmt_mem(peak),
            f"≤ {TARGET_CLI_10K_S:.1f} s",
            s <= TARGET_CLI_10K_S,
            seconds=s,
            times=times,
            cpu=cpus,
            peak_rss=peak,
        ),
    ]


def batch_section(
    src: Source, quick: bool, million: str, say: Any, got: dict[str, Any]
) -> list[Row]:
    """``run_batch`` from 1,000 to 1,000,000 worlds, serially and on every core.

    ``million`` is ``"no"``, ``"workers"`` (1,000,000 worlds on every core
    only) or ``"all"`` (serially too).
    """
    cores = os.cpu_count() or 1
    reps = 1 if quick else 3
    sizes = [1_000, 10_000, TARGET_WORKERS_FROM] if quick else [1_000, 10_000, 20_000, 100_000]
    if million != "no":
        sizes.append(1_000_000)
    rows, m_by = [], {}
    for n in sizes:
        for executor, workers in (("serial", 1), ("local", cores)):
            if n == 1_000_000 and executor == "serial" and million != "all":
                continue
            r = 1 if n >= 1_000_000 else reps
            say(f"batch {n:,} worlds, {executor} x{workers} ({r} rep.)")
            spec = {
                "kind": "batch",
                **src.spec(),
                "runs": n,
                "executor": executor,
                "workers": workers,
                "runs_table": True,
            }
            m = repeat(spec, r)
            m_by[(n, executor)] = m
            s, memory = m["seconds"], fmt_mem(m["peak_rss"])
            result = fmt_rate(n, s)
            target, ok = "", None
            if n == 1_000_000:
                # Workers are alike, so own peak + workers x the largest worker's
                # peak bounds what all processes together can have held at once.
                bound = m["maxrss_self"] + workers * m["maxrss_children"]
                if executor == "serial":
                    bound = m["maxrss_self"]
                memory += " (sampled sum of all processes)"
                result += f"; getrusage bound {fmt_mem(bound)}; runs.csv written"
                target = f"≤ {TARGET_1M_S:.0f} s; < 1 GiB (all processes)"
                m["memory_ok"] = max(m["peak_rss"], bound) < TARGET_1M_MEMORY
                ok = m["memory_ok"] and (executor == "serial" or s <= TARGET_1M_S)
                if executor == "serial":
                    target = "bounded: < 1 GiB"
                    ok = m["memory_ok"]
                m["rusage_bound"] = bound
            rows.append(
                row(
                    f"2. `run_batch`, {n:,} worlds",
                    f"{workers_text(executor, workers)}, {reps_text(r)}",
                    fmt_t(s, m["cpu"]),
                    result,
                    memory,
                    target,
                    ok,
                    runs=n,
                    executor=executor,
                    workers=workers,
                    **{k: v for k, v in m.items() if k != "last"},
                )
            )
    got["batch"] = m_by
    for n in sizes:
        if n >= TARGET_WORKERS_FROM and (n, "serial") in m_by and (n, "local") in m_by:
            one, every = m_by[(n, "serial")], m_by[(n, "local")]
            speedup = one["seconds"] / every["seconds"]
            rows.append(
                row(
                    f"2. {cores} workers against 1, {n:,} worlds",
                    "local against serial, same run",
                    "",
                    f"× {speedup:.2f} (CPU {fmt_s(one['cpu'])} against {fmt_s(every['cpu'])})",
                    "",
                    f"faster from {TARGET_WORKERS_FROM:,} worlds: > × 1",
                    speedup > 1,
                    runs=n,
                    speedup=speedup,
                )
            )
    big = 1_000_000
    for executor in ("serial", "local"):
        if (big, executor) in m_by and (100_000, executor) in m_by:
            # Time = start-up + worlds x cost per world: 10 x the worlds may take
            # at most 10 x the time (less when start-up matters).
            small, large = m_by[(100_000, executor)], m_by[(big, executor)]
            growth = large["seconds"] / small["seconds"]
            memory = large["peak_rss"] / small["peak_rss"]
            rows.append(
                row(
                    "2. growth, 100k → 1M worlds",
                    executor,
                    "",
                    f"time × {growth:.1f}, peak memory × {memory:.2f} for 10 × the worlds",
                    "",
                    f"time linear: ≤ × {10 * (1 + TARGET_LINEAR):.0f}",
                    growth <= 10 * (1 + TARGET_LINEAR),
                    time_growth=growth,
                    memory_growth=memory,
                )
            )
    return rows


def mesa_section(src: Source, quick: bool, say: Any, got: dict[str, Any]) -> list[Row]:
    """mesa.batch_run on a subset of the 10,000 worlds, extrapolated, against our batch.

    In one process (:func:`cases._mesa`): a first part of ``subset`` instances (repeated
    until the process runs the kernels) as it ran, and the rest of the 10,000 at the
    rate of ``subset`` more, the rate a long ``mesa.batch_run`` keeps once its process
    has taken the compiled path."""
    subset = 20 if quick else 200
    say(f"mesa.batch_run, {subset} + {subset} worlds")
    mesa_run = repeat({"kind": "mesa", **src.spec(), "runs": subset}, 1)
    parts = mesa_run["last"]
    mesa_10k, mesa_cpu = cases.mesa_estimate(parts, subset, 10_000)
    ours = got.get("batch", {}).get((10_000, "serial"))
    if ours is None:
        say("batch 10,000 worlds, serial")
        spec = {
            "kind": "batch",
            **src.spec(),
            "runs": 10_000,
            "executor": "serial",
            "workers": 1,
            "runs_table": True,
        }
        ours = repeat(spec, 1 if quick else 3)
    ratio = mesa_10k / ours["seconds"]
    got["mesa"] = {"mesa_10k": mesa_10k, "mesa_cpu": mesa_cpu, "ours": ours}
    cli = got.get("cli_10k")
    versus_cli = f"; {mesa_10k / cli[0]:,.0f} × against the whole command (row 1)" if cli else ""
    rest = 10_000 - parts["first_n"]
    how = (
        f"1 process, one world per model instance; the first {parts['first_n']} "
        f"({parts['first_s']:.2f} s) + {rest:,} at the rate of the next {subset} "
        f"({parts['then_s'] / subset * 1e3:.1f} ms each)"
    )
    if not parts["steady"]:
        how += "; the process had not switched to the kernels after the first part: high"
    return [
        row(
            "3. `mesa.batch_run`, 10,000 worlds",
            how,
            fmt_t(mesa_10k, mesa_cpu),
            fmt_rate(10_000, mesa_10k),
            fmt_mem(mesa_run["peak_rss"]),
            seconds=mesa_10k,
            subset=subset,
            first_instances=parts["first_n"],
            subset_seconds=parts["first_s"],
            then_seconds=parts["then_s"],
            switched=parts["switched"],
        ),
        row(
            "3. our `run_batch`, same 10,000 worlds",
            f"serial, {reps_text(ours['reps'])} (row 2)",
            fmt_t(ours["seconds"], ours["cpu"]),
            f"{ratio:,.0f} × mesa.batch_run{versus_cli}",
            fmt_mem(ours["peak_rss"]),
            f"≥ {TARGET_RATIO:.0f} ×",
            ratio >= TARGET_RATIO,
            seconds=ours["seconds"],
            ratio=ratio,
        ),
    ]


def viewer_section(src: Source, quick: bool, say: Any, got: dict[str, Any]) -> list[Row]:
    """The viewer's tweak loop (:func:`cases._viewer`): a slider move, 3,000 worlds rerun and
    both charts' specifications built; CPU time, median over the moves."""
    moves = 3 if quick else 5
    say(f"viewer, {moves} slider moves")
    v = run_case({"kind": "viewer", **src.spec(), "moves": moves})
    got["viewer"] = v["viewer_cpu_s"]
    return [
        row(
            f"8. viewer: {v['worlds']:,} worlds after a slider move",
            f"simulation and both chart specs, CPU time, median of {moves} moves",
            f"{fmt_s(v['viewer_cpu_s'])} (wall {fmt_s(v['viewer_wall_s'])})",
            f"simulation {fmt_s(v['viewer_simulate_cpu_s'])}, "
            f"charts {fmt_s(v['viewer_draw_cpu_s'])}",
            fmt_mem(v["peak_rss"]),
            f"≤ {TARGET_VIEWER_S * 1000:.0f} ms",
            v["viewer_cpu_s"] <= TARGET_VIEWER_S,
            **{k: v[k] for k in v if k.startswith("viewer_")},
        )
    ]


def foresight_section(src: Source, quick: bool, say: Any) -> list[Row]:
    """What foresight costs, on the synthetic scenario of :mod:`synthetic`."""
    runs = 2_000 if quick else 10_000
    reps = 1 if quick else 3
    reps_snap = 5 if quick else 20
    rows = []
    with tempfile.TemporaryDirectory(prefix="wargame-bench-") as tmp:

        def write(k: int, h: int, on: bool) -> str:
            path = Path(tmp) / (f"fs_k{k}_h{h}.yaml" if on else f"plain_k{k}.yaml")
            path.write_text(foresight_scenario(k, h, foresight=on), encoding="utf-8")
            return str(path)

        plain, timed = {}, {}
        for k in KS:
            say(f"foresight: plain K={k}, {runs:,} worlds")
            plain[k] = repeat(
                {
                    "kind": "foresight",
                    **src.spec(),
                    "path": write(k, 0, False),
                    "runs": runs,
                    "reps": reps,
                },
                1,
            )["last"]
            for h in HS:
                say(f"foresight: K={k}, H={h}, {runs:,} worlds")
                timed[(k, h)] = repeat(
                    {
                        "kind": "foresight",
                        **src.spec(),
                        "path": write(k, h, True),
                        "runs": runs,
                        "reps": reps,
                    },
                    1,
                )["last"]
        say("foresight: one snapshot, every K and H")
        snap = run_case(
            {
                "kind": "snapshot",
                **src.spec(),
                "path": write(max(KS), 1, True),
                "ks": KS,
                "hs": HS,
                "day": 10,
                "reps": reps_snap,
            }
        )

    days = plain[KS[0]]["days"]
    setting = (
        f"{runs:,} worlds × {days} days, engine only, chunks of {cases.CHUNK:,}, "
        f"CPU time, {reps_text(reps)}"
    )

    def per_day(s: float) -> str:
        per_world_day = s / (runs * days) * 1e6
        return f"CPU {s * 10_000 / runs:.2f} s per 10k worlds ({per_world_day:.2f} µs/world-day)"

    for k in KS:
        p = plain[k]
        rows.append(
            row(
                f"4. synthetic, K={k}, no foresight",
                setting,
                per_day(p["seconds"]),
                f"decider moves {p['moves_per_world']:.1f} times per world",
                k=k,
                seconds=p["seconds"],
                moves_per_world=p["moves_per_world"],
            )
        )
        for h in HS:
            f = timed[(k, h)]
            work = f["per_day"]
            adj = work.get("adjudicate")
            counts = (
                f"; {adj:.1f} hypothetical adjudications per decider-day, on "
                f"{f['worlds_per_call']['adjudicate']:,.0f} worlds each"
                if adj is not None
                else ""
            )
            rows.append(
                row(
                    f"4. synthetic, K={k}, H={h}, foresight",
                    setting,
                    per_day(f["seconds"]),
                    f"× {f['seconds'] / p['seconds']:.1f} the time without; "
                    f"decider moves {f['moves_per_world']:.1f} times per world{counts}",
                    k=k,
                    h=h,
                    seconds=f["seconds"],
                    ratio=f["seconds"] / p["seconds"],
                    moves_per_world=f["moves_per_world"],
                    per_day=work,
                    worlds_per_call=f["worlds_per_call"],
                )
            )
    # The end-to-end growth, dynamics included: foresight's extra time.
    extra = {key: timed[key]["seconds"] - plain[key[0]]["seconds"] for key in timed}
    h_mid = HS[1]
    k_growth = extra[(max(KS), h_mid)] / extra[(1, h_mid)]
    k_want = (max(KS) + 1) / 2  # K actions and the default: K + 1 expected values
    by_h = [extra[(max(KS), h)] for h in HS]
    h_growth = max(by_h) / min(by_h)
    rows.append(
        row(
            "4. end to end: foresight's extra time, K=1 → 4",
            f"H={h_mid}, dynamics included",
            "",
            f"× {k_growth:.2f} (K + 1 expected values a day: × {k_want:.1f})",
            "",
            f"linear in K + 1: × {k_want:.1f} ± {TARGET_SCALING:.0%}",
            within(k_growth, k_want),
            growth=k_growth,
            want=k_want,
        )
    )
    rows.append(
        row(
            f"4. end to end: foresight's extra time, H={HS[0]} / {HS[1]} / {HS[2]}",
            f"K={max(KS)}, dynamics included",
            "",
            "; ".join(f"H={h}: {fmt_s(extra[(max(KS), h)])}" for h in HS)
            + f" (largest / smallest × {h_growth:.2f})",
            "",
            f"flat in H: ≤ × {1 + TARGET_SCALING:.2f}",
            h_growth <= 1 + TARGET_SCALING,
            growth=h_growth,
        )
    )
    # One snapshot: the computation alone, same state for every K and H.
    by = {(s["k"], s["h"]): s for s in snap["snapshot"]}
    for k in KS:
        cells = []
        for h in HS:
            s = by[(k, h)]
            cells.append(f"H={h}: {s['seconds'] * 1000:.1f} ms")
        s = by[(k, h_mid)]
        rows.append(
            row(
                f"4. foresight alone, K={k}",
                f"one decider-day on one snapshot (day {snap['day']}, {snap['worlds']:,} worlds), "
                f"CPU time, fastest of {reps_snap} calls",
                "; ".join(cells),
                f"{s.get('adjudicate', '?')} hypothetical adjudications, "
                f"{s.get('daily_probability', '?')} response probabilities per decider-day "
                f"({RESPONDERS} responders, {PREDICTED} of their {RESPONSES} responses "
                f"predicted, {DEFENDER_TYPES} types of one trait)",
                k=k,
                by_h={h: by[(k, h)] for h in HS},
            )
        )
    snap_k = by[(max(KS), h_mid)]["seconds"] / by[(1, h_mid)]["seconds"]
    snap_h = max(
        max(by[(k, h)]["seconds"] for h in HS) / min(by[(k, h)]["seconds"] for h in HS) for k in KS
    )
    snap_hi = max(by[(k, HS[2])]["seconds"] / by[(k, HS[1])]["seconds"] for k in KS)
    rows.append(
        row(
            "4. foresight alone: K=1 → 4",
            f"H={h_mid}, same snapshot",
            "",
            f"× {snap_k:.2f}",
            "",
            f"linear in K + 1: × {k_want:.1f} ± {TARGET_SCALING:.0%}",
            within(snap_k, k_want),
            growth=snap_k,
        )
    )
    rows.append(
        row(
            f"4. foresight alone: H={HS[0]} / {HS[1]} / {HS[2]}",
            "every K, same snapshot",
            "",
            f"slowest / fastest H, worst K: × {snap_h:.2f}; H={HS[1]} → {HS[2]}: × {snap_hi:.2f}",
            "",
            f"flat in H: ≤ × {1 + TARGET_SCALING:.2f}",
            snap_h <= 1 + TARGET_SCALING,
            growth=snap_h,
        )
    )
    return rows


def sweep_section(src: Source, quick: bool, say: Any) -> list[Row]:
    """A 10 x 10 grid sweep of the default scenario, serially and on every core."""
    cores = os.cpu_count() or 1
    sweep_n, sweep_runs = (3, 500) if quick else (10, 2000)
    points = sweep_n * sweep_n
    full = sweep_n == 10 and sweep_runs == 2000
    rows = []
    say(f"sweep {sweep_n} x {sweep_n} x {sweep_runs:,} worlds")
    for executor, workers in (("serial", 1), ("local", cores)):
        spec = {
            "kind": "sweep",
            **src.spec(),
            "n": sweep_n,
            "runs": sweep_runs,
            "executor": executor,
            "workers": workers,
        }
        sw = repeat(spec, 1 if quick else 2)
        rows.append(
            row(
                f"5. sweep {sweep_n} × {sweep_n} × {sweep_runs:,} worlds",
                f"{workers_text(executor, workers)}, {reps_text(sw['reps'])}",
                fmt_t(sw["seconds"], sw["cpu"]),
                fmt_rate(points * sweep_runs, sw["seconds"]),
                fmt_mem(sw["peak_rss"]),
                f"< {TARGET_SWEEP_S:.0f} s" if full else "",
                sw["seconds"] < TARGET_SWEEP_S if full else None,
                seconds=sw["seconds"],
                executor=executor,
            )
        )
    return rows


def startup_section(src: Source, say: Any) -> list[Row]:
    """The command's start-up, and the library's imports in a case process."""
    cmd = wargame_cmd()
    say("start-up")
    help_s, _, help_note = wall([*cmd, "--help"], 5)
    val_s, _, val_note = wall([*cmd, "validate", src.scenario, "--claims", src.claims], 5)
    imports = [
        run_case(
            {
                "kind": "batch",
                **src.spec(),
                "runs": 1,
                "executor": "serial",
                "workers": 1,
                "runs_table": False,
            }
        )["import_s"]
        for _ in range(3)
    ]
    return [
        row("6. `wargame --help`", "wall, median of 5", fmt_s(help_s), help_note, seconds=help_s),
        row(
            "6. `wargame validate` (default scenario)",
            "wall, median of 5",
            fmt_s(val_s),
            val_note,
            "",
            f"< {TARGET_VALIDATE_S:.0f} s",
            None if val_s is None else val_s < TARGET_VALIDATE_S,
            seconds=val_s,
        ),
        row(
            "6. import of sim + engine + batch",
            "in a case process, median of 3",
            fmt_s(statistics.median(imports)),
            "paid once per process: in row 1, not in rows 2–5",
            seconds=statistics.median(imports),
        ),
    ]


def profile_section(src: Source, say: Any) -> list[Row]:
    """cProfile of 10,000 worlds of the default scenario, and foresight's share."""
    say("profile, 10,000 worlds")
    p = run_case({"kind": "profile", **src.spec(), "runs": 10_000})
    per_call = p["chunk_1"] / p["chunk_5000"]
    own = "; ".join(f"{name} {tt:.3f} s" for name, _, tt, _ in p["by_own"])
    cum = "; ".join(f"{name} {ct:.3f} s" for name, _, _, ct in p["by_cum"])
    parts = "; ".join(f"{what.strip()} {t:.3f} s" for what, t in p["parts"])
    fs_cum = dict((what.strip(), t) for what, t in p["parts"])["of which foresight"]
    return [
        row(
            "7. profile: foresight's share of a 10,000-world batch",
            f"default scenario ({p['foresight_rules']} foresight rules), serial",
            f"{p['foresight_timed'] / p['plain_total']:.0%} without the profiler",
            f"{fmt_s(p['foresight_timed'])} of {fmt_s(p['plain_total'])} in "
            f"foresight.utilities (timed); under cProfile {fs_cum / p['total']:.0%} cumulative, "
            f"{p['foresight_own'] / p['total']:.0%} own time of sim/engine/foresight.py",
            **{k: p[k] for k in ("foresight_timed", "plain_total", "foresight_own", "total")},
        ),
        row(
            "7. profile: where a chunk's time goes",
            f"chunk of {cases.CHUNK:,} worlds vs of 1 world",
            fmt_s(p["chunk_5000"]),
            f"{1 - per_call:.0%} numpy work on arrays (grows with worlds), "
            f"{per_call:.0%} per-call overhead (Python + numpy dispatch)",
            chunk_1=p["chunk_1"],
            chunk_5000=p["chunk_5000"],
        ),
        row(
            "7. profile: top 10 by own time",
            f"cProfile, total {p['total']:.2f} s; "
            f"{p['visible_c'] / p['total']:.0%} in C functions cProfile sees",
            "",
            own,
        ),
        row("7. profile: top 10 by cumulative time", "project code", "", cum),
        row("7. profile: time by part", "cProfile, cumulative", "", parts, parts=p["parts"]),
    ]


# -- the table ----------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repetitions")
    parser.add_argument(
        "--million",
        choices=("no", "workers", "all"),
        help="1,000,000-world batches: none, on every core only (the default, except "
        "with --quick: none), or serially too",
    )
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only SECTION")
    parser.add_argument(
        "--scenario", default=cases.SCENARIO, help="the scenario measured (default: %(default)s)"
    )
    parser.add_argument(
        "--at",
        metavar="REV",
        help="measure the code, scenario and claims as committed at git revision REV "
        "(e.g. HEAD; exported to a temporary folder), not the working tree",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also time the whole command (row 1) on the code of git revision REV, in the "
        "same run, as the baseline of its target",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if a target is missed (for people comparing runs, not for CI: "
        "timings on a shared machine vary)",
    )
    parser.add_argument("--out", metavar="FILE", help="also write the table as markdown")
    parser.add_argument("--json", metavar="FILE", help="also write every row as JSON")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(cases.run(json.loads(args.case))))
        return 0

    with tempfile.TemporaryDirectory(prefix="wargame-bench-") as tmp:
        if args.at:
            src, shown = exported(args.scenario, args.at, Path(tmp))
            os.environ["PYTHONPATH"] = os.pathsep.join(
                p for p in (src.pythonpath, os.environ.get("PYTHONPATH")) if p
            )
        else:
            src = Source(args.scenario, str(cases.CLAIMS))
            shown = f"working tree at {_commit('HEAD')}, scenario {args.scenario}"
            if _modified(args.scenario):
                shown += " (with uncommitted changes)"
        baseline = None
        if args.baseline:
            baseline, _ = exported(args.scenario, args.baseline, Path(tmp))
        about, rows, targets = measure(args, src, baseline)
    about = f"{about}; code and scenario: {shown}"
    print(about)
    print()
    table = markdown(rows) + "\n\n" + targets_markdown(targets)
    print(table)
    if args.out:
        Path(args.out).write_text(about + "\n\n" + table + "\n", encoding="utf-8")
    if args.json:
        doc = {"about": about, "measured": shown, "rows": rows, "targets": targets}
        Path(args.json).write_text(json.dumps(doc, indent=1, default=str) + "\n", encoding="utf-8")
    failed = [r["case"] for r in rows if r["ok"] is False]
    failed += [t["target"] for t in targets if t["ok"] is False]
    if failed:
        print(f"{len(failed)} target(s) not met: " + "; ".join(failed), file=sys.stderr)
    return 1 if (args.check and failed) else 0


def measure(
    args: argparse.Namespace, src: Source, baseline: Source | None = None
) -> tuple[str, list[Row], list[Row]]:
    """Run the chosen sections; returns the line about the machine, the rows and the
    targets (:func:`targets_of`)."""
    quick = args.quick
    million = args.million or ("no" if quick else "workers")
    chosen = args.only or SECTIONS
    # Every section's commands and case processes import the library: from bytecode.
    bytecode(Path(src.pythonpath) if src.pythonpath else ROOT)
    warmed = warm_kernels(src)
    if baseline is not None:
        warm_kernels(baseline)
    load_before = _load()
    pace_before = _pace()
    started = time.perf_counter()

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    rows: list[Row] = []
    got: dict[str, Any] = {}
    if "command" in chosen:
        rows += command_section(src, quick, say, got, baseline)
    if "batch" in chosen:
        rows += batch_section(src, quick, million, say, got)
    if "mesa" in chosen:
        rows += mesa_section(src, quick, say, got)
    if "viewer" in chosen:
        rows += viewer_section(src, quick, say, got)
    if "foresight" in chosen:
        rows += foresight_section(src, quick, say)
    if "sweep" in chosen:
        rows += sweep_section(src, quick, say)
    if "startup" in chosen:
        rows += startup_section(src, say)
    if "profile" in chosen:
        rows += profile_section(src, say)
    about = (
        f"Machine: {_cpu()}, {os.cpu_count()} cores, {_ram()}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"{_versions()}; load average {load_before} before, {_load()} after; "
        f"{time.perf_counter() - started:.0f} s{' (--quick)' if quick else ''}; {warmed}; "
        f"pace: 10,000,000 Python additions in {pace_before:.2f} s of CPU before, "
        f"{_pace():.2f} s after (0.65-0.73 s on the day of the 3c2e516 table)"
    )
    return about, rows, targets_of(got)


def exported(scenario: str, rev: str, tmp: Path) -> tuple[Source, str]:
    """The library, scenarios and claims as committed at ``rev``, exported under ``tmp``.

    Others may be editing the working tree while the benchmark runs; an
    exported tree stays as it was. Cases import the library from it
    (``PYTHONPATH`` comes before the editable install on ``sys.path``).
    """
    commit = _commit(rev)
    tree = tmp / f"src-{commit}"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, "sim", "scenarios", "seeds"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise SystemExit(f"cannot export {rev}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    src = Source(
        str(tree / scenario), str(tree / "seeds" / "claims.yaml"), str(tree), f"commit {commit}"
    )
    return src, f"commit {commit} (exported), scenario {scenario}"


def target(
    name: str, threshold: str, baseline: str, measured: str, ratio: str, ok: bool | None
) -> Row:
    """One row of the targets table."""
    return {
        "target": name,
        "threshold": threshold,
        "baseline": baseline,
        "measured": measured,
        "ratio": ratio,
        "ok": ok,
    }


def targets_of(got: dict[str, Any]) -> list[Row]:
    """Each target of "a million worlds in seconds", with its baseline measured in the same
    run and the ratio between them; a target whose rows did not run says so."""
    cores = os.cpu_count() or 1
    out: list[Row] = []
    missing = "not measured in this run"
    cli, base = got.get("cli_10k"), got.get("cli_baseline")
    if cli:
        out.append(
            target(
                "`wargame batch`, 10,000 worlds, `--no-plots`, whole command",
                f"≤ {TARGET_CLI_10K_S} s",
                fmt_t(*base) + " (`--baseline`)" if base else "none (give `--baseline REV`)",
                fmt_t(*cli),
                f"× {base[0] / cli[0]:.2f} faster; {cli[0] / TARGET_CLI_10K_S:.1f} × the target"
                if base
                else f"{cli[0] / TARGET_CLI_10K_S:.1f} × the target",
                cli[0] <= TARGET_CLI_10K_S,
            )
        )
    else:
        out.append(target("`wargame batch`, 10,000 worlds", "", "", missing, "", None))
    by = got.get("batch", {})
    big, mid = by.get((1_000_000, "local")), by.get((100_000, "local"))
    if big:
        serial = by.get((1_000_000, "serial"))
        out.append(
            target(
                f"1,000,000 worlds with runs.csv, {cores} workers",
                f"≤ {TARGET_1M_S:.0f} s (goal {TARGET_1M_GOAL_S:.0f} s)",
                fmt_t(serial["seconds"], serial["cpu"]) + " (serial)" if serial else "",
                fmt_t(big["seconds"], big["cpu"]),
                f"{big['seconds'] / TARGET_1M_S:.1f} × the target",
                big["seconds"] <= TARGET_1M_S,
            )
        )
        peak = max(big["peak_rss"], big.get("rusage_bound", 0))
        out.append(
            target(
                "1,000,000 worlds: peak memory of all processes",
                "< 1 GiB",
                f"{fmt_mem(mid['peak_rss'])} (100,000 worlds)" if mid else "",
                f"{fmt_mem(peak)} (the larger of the sampled sum and the getrusage bound)",
                f"sampled × {big['peak_rss'] / mid['peak_rss']:.2f} for 10 × the worlds"
                if mid
                else "",
                peak < TARGET_1M_MEMORY,
            )
        )
        if mid:
            per_world = (big["seconds"] / 1e6) / (mid["seconds"] / 1e5)
            out.append(
                target(
                    "time linear in worlds, 100,000 → 1,000,000",
                    f"per world within {TARGET_LINEAR:.0%}",
                    f"{mid['seconds'] / 1e5 * 1e6:.1f} µs per world (100,000)",
                    f"{big['seconds'] / 1e6 * 1e6:.1f} µs per world (1,000,000)",
                    f"× {per_world:.2f}",
                    per_world <= 1 + TARGET_LINEAR,
                )
            )
    else:
        out.append(target("1,000,000 worlds", "", "", missing + " (--million)", "", None))
    sizes = sorted(n for n, e in by if e == "serial" and (n, "local") in by)
    for n in [n for n in sizes if n >= TARGET_WORKERS_FROM]:
        one, every = by[(n, "serial")], by[(n, "local")]
        out.append(
            target(
                f"{cores} workers faster than 1, {n:,} worlds",
                "faster (from 20,000 worlds)",
                fmt_t(one["seconds"], one["cpu"]) + " (1 worker)",
                fmt_t(every["seconds"], every["cpu"]),
                f"× {one['seconds'] / every['seconds']:.2f}",
                every["seconds"] < one["seconds"],
            )
        )
    mesa = got.get("mesa")
    if mesa:
        ours = mesa["ours"]
        ratio = mesa["mesa_10k"] / ours["seconds"]
        out.append(
            target(
                "ratio to `mesa.batch_run`, 10,000 worlds",
                f"≥ {TARGET_RATIO:,.0f} ×",
                fmt_t(mesa["mesa_10k"], mesa["mesa_cpu"]) + " (mesa.batch_run)",
                fmt_t(ours["seconds"], ours["cpu"]) + " (run_batch, serial)",
                f"× {ratio:,.0f} (by CPU × {mesa['mesa_cpu'] / ours['cpu']:,.0f})",
                ratio >= TARGET_RATIO,
            )
        )
    else:
        out.append(target("ratio to `mesa.batch_run`", "", "", missing, "", None))
    viewer = got.get("viewer")
    out.append(
        target(
            "viewer: 3,000 worlds re-simulated and redrawn after a slider move",
            f"≤ {TARGET_VIEWER_S * 1000:.0f} ms",
            "",
            f"{fmt_s(viewer)} CPU" if viewer is not None else missing + " (--only viewer)",
            f"{viewer / TARGET_VIEWER_S:.1f} × the target" if viewer is not None else "",
            None if viewer is None else viewer <= TARGET_VIEWER_S,
        )
    )
    return out


def targets_markdown(targets: list[Row]) -> str:
    """The targets, each beside its baseline measured in the same run."""
    header = ("target", "threshold", "baseline (same run)", "measured", "ratio", "")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for t in targets:
        cells = (t["target"], t["threshold"], t["baseline"], t["measured"], t["ratio"])
        lines.append("| " + " | ".join((*cells, mark(t["ok"]))) + " |")
    return "\n".join(lines)


def markdown(rows: list[Row]) -> str:
    """The rows as one markdown table."""
    header = ("case", "setting", "measured (CPU)", "throughput / result", "peak memory")
    header += ("target", "")
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for r in rows:
        cells = (r["case"], r["setting"], r["measured"], r["result"], r["memory"], r["target"])
        lines.append("| " + " | ".join((*cells, mark(r["ok"]))) + " |")
    return "\n".join(lines)


def _pace() -> float:
    """CPU seconds of a plain Python loop of 10,000,000 additions, the fastest of three:
    how fast this machine runs Python at the moment. A shared virtual machine's pace
    changes by up to about 2 x from day to day, and sometimes within minutes, and
    every absolute target with it; the tables in docs/performance.md quote it, so that
    a figure can be read against the day it was measured on (a hint only: a tight
    loop can run fast while array work does not)."""
    best = math.inf
    for _ in range(3):
        t = time.process_time()
        total = 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.process_time() - t)
    return best


def _load() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _ram() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024**2:.0f} GiB RAM"
    except OSError:
        pass
    return "unknown RAM"


def _versions() -> str:
    from importlib.metadata import version

    return ", ".join(f"{name} {version(name)}" for name in ("numpy", "mesa"))


def _modified(path: str) -> bool:
    """Whether ``path`` differs from what is committed (git's answer; False without git)."""
    proc = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", path], cwd=ROOT, check=False)
    return proc.returncode == 1


def _commit(rev: str) -> str:
    proc = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"not a git revision: {rev}")
    return proc.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
