"""Performance benchmark of the engine and the batch subsystem: one table.

Run with ``make bench`` (``python benchmarks/bench.py``); ``--quick`` runs a
smaller variant in a minute or two, ``--out FILE`` also writes the table as
markdown. docs/performance.md explains every row and holds the figures as
measured.

Every timed case runs in a fresh Python process, so no case profits from
modules imported or memory touched by another. Inside that process the
library's modules are imported first and the timed call comes after, so a
batch's time is that of the ``run_batch`` call (worker start-up included) and
import costs show up in the start-up rows instead. Peak memory is sampled
from ``/proc`` every 20 ms as the resident set of the case process plus all
its worker processes; the case process also reports its own high-water mark
(``ru_maxrss``), and the larger of the two figures is shown.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = "scenarios/allied_resolve_2022.yaml"
SWEEP_VARY = ("param.kremlin_appetite=0:1:{n}", "param.ukraine_retaliation=0:1:{n}")
GIB = 1024**3
MIB = 1024**2

# Targets on the reference machine (see docs/performance.md).
TARGET_10K_S = 1.0
TARGET_RATIO = 100.0
TARGET_1M_S = 60.0
TARGET_1M_RSS = GIB
TARGET_LINEAR = 0.20  # 10 x the worlds in at most 10 x (1 + this) the time
TARGET_SWEEP_S = 30.0
TARGET_VALIDATE_S = 1.0


# Parts of a batch whose cumulative time the profile row reports.
PARTS = (
    ("loading the scenario", ("sim/scenario/__init__.py", "load_scenario")),
    ("simulating", ("sim/engine/model.py", "run")),
    ("  of which deciding", ("sim/engine/decision.py", "decide")),
    ("  adjudicating", ("sim/engine/adjudication.py", "adjudicate")),
    ("  events", ("sim/engine/model.py", "_events_phase")),
    ("reducing chunks to counts", ("sim/batch/aggregate.py", "summarise_chunk")),
    ("writing runs.csv", ("sim/batch/results.py", "write")),
    ("reading the folder back", ("sim/batch/results.py", "load_results")),
)


# -- the case process ---------------------------------------------------------------
def _case(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one case in this (fresh) process; returns its measurements."""
    import resource

    t0 = time.perf_counter()
    import sim
    import sim.batch.runner
    import sim.batch.sweep
    import sim.engine.model
    import sim.results.reader

    out: dict[str, Any] = {"import_s": time.perf_counter() - t0}
    cpu0 = _cpu_seconds()
    kind = spec["kind"]
    with tempfile.TemporaryDirectory(prefix="wargame-bench-") as tmp:
        t = time.perf_counter()
        if kind == "batch":
            sim.run_batch(
                SCENARIO,
                runs=spec["runs"],
                seed=1,
                workers=spec["workers"],
                executor=spec["executor"],
                runs_table=spec["runs_table"],
                progress=False,
                out=Path(tmp) / "out",
            )
        elif kind == "sweep":
            sim.run_sweep(
                SCENARIO,
                vary=[v.format(n=spec["n"]) for v in SWEEP_VARY],
                runs=spec["runs"],
                seed=1,
                workers=spec["workers"],
                executor=spec["executor"],
                progress=False,
                out=Path(tmp) / "out",
            )
        elif kind == "mesa":
            import mesa

            from sim.engine.model import WargameModel

            mesa.batch_run(
                WargameModel,
                parameters={"replicates": 1},
                rng=list(range(spec["runs"])),
                max_steps=100,
                number_processes=1,
                display_progress=False,
            )
        elif kind == "profile":
            out.update(_profile(spec["runs"], Path(tmp)))
        else:
            raise ValueError(f"unknown case kind {kind!r}")
        out["seconds"] = time.perf_counter() - t
    out["cpu"] = _cpu_seconds() - cpu0
    out["maxrss_self"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out["maxrss_children"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return out


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished workers."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _profile(runs: int, tmp: Path) -> dict[str, Any]:
    """cProfile of a serial batch, plus how run time splits by the size of a chunk."""
    import cProfile
    import pstats

    import sim
    from sim.engine.model import WargameModel
    from sim.scenario import load_scenario

    prof = cProfile.Profile()
    prof.enable()
    sim.run_batch(SCENARIO, runs=runs, seed=1, progress=False, out=tmp / "p")
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    visible_c = 0.0  # own time of C functions (builtins, ndarray methods) cProfile sees
    cum: dict[tuple[str, str], float] = {}
    for (file, line, name), (_, ncalls, tt, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
        label = _label(file, line, name)
        rows.append((label, ncalls, tt, ct))
        if file == "~":
            visible_c += tt
        key = (label.split(":")[0], name)
        cum[key] = cum.get(key, 0.0) + ct
    by_own = sorted(rows, key=lambda r: -r[2])[:10]
    by_cum = sorted((r for r in rows if r[0].startswith("sim/")), key=lambda r: -r[3])[:10]
    parts = [(what, cum.get(key, 0.0)) for what, key in PARTS]

    # The split between work that grows with the number of worlds (numpy
    # arithmetic and random draws on arrays) and the fixed cost of each call
    # (Python and numpy dispatch): time a chunk of 1 world and of 5,000.
    sc = load_scenario(SCENARIO)

    def chunk(n: int) -> float:
        times = []
        for seed in range(3):
            t = time.perf_counter()
            WargameModel(sc, replicates=n, rng=seed, collect=False).run()
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    one, full = chunk(1), chunk(5000)
    return {
        "total": total,
        "by_own": by_own,
        "by_cum": by_cum,
        "parts": parts,
        "visible_c": visible_c,
        "chunk_1": one,
        "chunk_5000": full,
    }


def _label(file: str, line: int, name: str) -> str:
    if file == "~":
        return name
    path = Path(file)
    parts = path.parts
    short = "/".join(parts[parts.index("sim") :]) if "sim" in parts else path.name
    return f"{short}:{line}({name})"


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


def run_case(spec: dict[str, Any]) -> dict[str, Any]:
    """Run a case in a fresh process, sampling the memory of its process tree."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--case", json.dumps(spec)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
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
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"case {spec} failed:\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss"] = max(peak[0], result["maxrss_self"])
    return result


def repeat(spec: dict[str, Any], reps: int) -> dict[str, Any]:
    """Median time and largest peak memory over ``reps`` fresh processes."""
    results = [run_case(spec) for _ in range(reps)]
    return {
        "seconds": statistics.median(r["seconds"] for r in results),
        "import_s": statistics.median(r["import_s"] for r in results),
        "cpu": statistics.median(r["cpu"] for r in results),
        "peak_rss": max(r["peak_rss"] for r in results),
        "reps": reps,
        "last": results[-1],
    }


def wall(cmd: list[str], reps: int) -> tuple[float | None, str]:
    """Median wall time of a command (None if it fails) and a note."""
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["?"])[-1]
            return None, f"fails (exit {proc.returncode}: {last[:80]})"
    return statistics.median(times), ""


def wargame_cmd() -> list[str]:
    script = Path(sys.executable).with_name("wargame")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sim"]


# -- the table ----------------------------------------------------------------------
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


def mark(ok: bool | None) -> str:
    return "" if ok is None else ("met" if ok else "**not met**")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one repetition")
    parser.add_argument("--out", metavar="FILE", help="also write the table as markdown")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(_case(json.loads(args.case))))
        return 0

    quick = args.quick
    load_before = _load()
    cores = os.cpu_count() or 1
    reps = 1 if quick else 3
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000, 1_000_000)
    mesa_subset = 20 if quick else 200
    sweep_n, sweep_runs = (3, 500) if quick else (10, 2000)
    rows: list[tuple[str, str, str, str, str, str, str]] = []

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    # 1. batch throughput, serial and on every core
    rate: dict[tuple[int, str], float] = {}
    for n in sizes:
        for executor, workers in (("serial", 1), ("local", cores)):
            r = 1 if n >= 1_000_000 else reps
            say(f"batch {n:,} worlds, {executor} x{workers} ({r} rep.)")
            spec = {
                "kind": "batch",
                "runs": n,
                "executor": executor,
                "workers": workers,
                "runs_table": True,
            }
            m = repeat(spec, r)
            s = m["seconds"]
            rate[(n, executor)] = n / s
            target, ok = "", None
            if n == 10_000 and executor == "serial":
                target, ok = f"≤ {TARGET_10K_S:.1f} s", s <= TARGET_10K_S
            if n == 1_000_000:
                target = f"< {TARGET_1M_S:.0f} s, < 1 GiB"
                ok = s < TARGET_1M_S and m["peak_rss"] < TARGET_1M_RSS
            rows.append(
                (
                    f"1. batch, {n:,} worlds",
                    f"{executor}, {workers} worker{'s' if workers > 1 else ''}"
                    + (", 1 run" if r == 1 else f", median of {r}"),
                    fmt_t(s, m["cpu"]),
                    fmt_rate(n, s),
                    fmt_mem(m["peak_rss"]),
                    target,
                    mark(ok),
                )
            )
    if not quick:
        for executor in ("serial", "local"):
            # Time = start-up + worlds × cost per world: 10 × the worlds may
            # take at most 10 × the time (less when start-up matters).
            growth = rate[(100_000, executor)] / rate[(1_000_000, executor)] * 10
            rows.append(
                (
                    "1. growth, 100k → 1M worlds",
                    executor,
                    "",
                    f"time × {growth:.1f} for 10 × the worlds",
                    "",
                    f"linear: ≤ × {10 * (1 + TARGET_LINEAR):.0f}",
                    mark(growth <= 10 * (1 + TARGET_LINEAR)),
                )
            )

    # 2. mesa.batch_run on the same worlds, extrapolated from a subset
    say(f"mesa.batch_run, {mesa_subset} worlds")
    mesa_run = repeat({"kind": "mesa", "runs": mesa_subset}, 1)
    mesa_2000 = mesa_run["seconds"] * 2000 / mesa_subset
    say("batch 2,000 worlds, serial")
    ours = repeat(
        {"kind": "batch", "runs": 2000, "executor": "serial", "workers": 1, "runs_table": True},
        reps,
    )
    ratio = mesa_2000 / ours["seconds"]
    rows.append(
        (
            "2. mesa.batch_run, 2,000 worlds",
            f"1 process; timed on {mesa_subset} worlds × {2000 // mesa_subset}",
            fmt_t(mesa_2000, mesa_run["cpu"] * 2000 / mesa_subset),
            fmt_rate(2000, mesa_2000),
            fmt_mem(mesa_run["peak_rss"]),
            "",
            "",
        )
    )
    rows.append(
        (
            "2. our batch, same 2,000 worlds",
            f"serial, median of {reps}",
            fmt_t(ours["seconds"], ours["cpu"]),
            f"{fmt_rate(2000, ours['seconds'])}; {ratio:,.0f} × mesa.batch_run",
            fmt_mem(ours["peak_rss"]),
            f"≥ {TARGET_RATIO:.0f} ×",
            mark(ratio >= TARGET_RATIO),
        )
    )

    # 3. a grid sweep
    points = sweep_n * sweep_n
    say(f"sweep {sweep_n} x {sweep_n} x {sweep_runs:,} worlds")
    for executor, workers in (("serial", 1), ("local", cores)):
        sw = repeat(
            {
                "kind": "sweep",
                "n": sweep_n,
                "runs": sweep_runs,
                "executor": executor,
                "workers": workers,
            },
            1 if quick else 2,
        )
        full = sweep_n == 10 and sweep_runs == 2000
        rows.append(
            (
                f"3. sweep {sweep_n} × {sweep_n} × {sweep_runs:,} worlds",
                f"{executor}, {workers} worker{'s' if workers > 1 else ''}, "
                + ("1 run" if sw["reps"] == 1 else f"median of {sw['reps']}"),
                fmt_t(sw["seconds"], sw["cpu"]),
                fmt_rate(points * sweep_runs, sw["seconds"]),
                fmt_mem(sw["peak_rss"]),
                f"< {TARGET_SWEEP_S:.0f} s" if full else "",
                mark(sw["seconds"] < TARGET_SWEEP_S) if full else "",
            )
        )

    # 4. start-up
    cmd = wargame_cmd()
    say("start-up")
    help_s, help_note = wall([*cmd, "--help"], 5)
    val_s, val_note = wall([*cmd, "validate", SCENARIO], 5)
    rows.append(("4. `wargame --help`", "wall, median of 5", fmt_s(help_s), help_note, "", "", ""))
    rows.append(
        (
            "4. `wargame validate` (default scenario)",
            "wall, median of 5",
            fmt_s(val_s),
            val_note,
            "",
            f"< {TARGET_VALIDATE_S:.0f} s",
            "n/a" if val_s is None else mark(val_s < TARGET_VALIDATE_S),
        )
    )
    rows.append(
        (
            "4. import of sim + engine + batch",
            "in each case process, median",
            fmt_s(ours["import_s"]),
            "paid once per process, not in rows 1–3",
            "",
            "",
            "",
        )
    )

    # 5. profile of 10,000 worlds
    say("profile, 10,000 worlds")
    p = run_case({"kind": "profile", "runs": 10_000})
    per_call = p["chunk_1"] / p["chunk_5000"]
    own = "; ".join(f"{name} {tt:.3f} s" for name, _, tt, _ in p["by_own"])
    cum = "; ".join(f"{name} {ct:.3f} s" for name, _, _, ct in p["by_cum"])
    rows.append(
        (
            "5. profile, 10,000 worlds: where a chunk's time goes",
            "chunk of 5,000 worlds vs of 1 world",
            fmt_s(p["chunk_5000"]),
            f"{1 - per_call:.0%} numpy work on arrays (grows with worlds), "
            f"{per_call:.0%} per-call overhead (Python + numpy dispatch)",
            "",
            "",
            "",
        )
    )
    rows.append(
        (
            "5. profile: top 10 by own time",
            f"cProfile, total {p['total']:.2f} s; "
            f"{p['visible_c'] / p['total']:.0%} in C functions cProfile sees",
            "",
            own,
            "",
            "",
            "",
        )
    )
    rows.append(("5. profile: top 10 by cumulative time", "project code", "", cum, "", "", ""))
    parts = "; ".join(f"{what.strip()} {t:.3f} s" for what, t in p["parts"])
    rows.append(("5. profile: time by part", "cProfile, cumulative", "", parts, "", "", ""))

    header = ("case", "setting", "median wall (CPU)", "throughput / result", "peak RSS")
    header += ("target", "")
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]
    table = "\n".join(lines)
    about = (
        f"Machine: {_cpu()}, {cores} cores, {_ram()}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"{_versions()}; load average {load_before} before, {_load()} after"
        f"{' (--quick)' if quick else ''}"
    )
    print(about)
    print()
    print(table)
    if args.out:
        Path(args.out).write_text(about + "\n\n" + table + "\n", encoding="utf-8")
    return 0


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


if __name__ == "__main__":
    sys.exit(main())
