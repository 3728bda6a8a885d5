"""The batch path's structure: a plain engine without Mesa, and tables without pandas.

* The plain engine (:class:`sim.engine.core.Engine`) and the Mesa model that
  wraps it give the same worlds for the same seed, on every shipped scenario.
* ``wargame batch --no-plots`` imports neither Mesa nor pandas, scipy,
  networkx or matplotlib (checked in a fresh interpreter).
* The tables a batch writes from plain columns are the bytes pandas gives,
  and ``runs.csv`` lines formatted a chunk at once (in the workers) are the
  cells formatted one by one.
* Forked workers start on entering the executor and leave no process behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DEFAULT_SCENARIO, ROOT, SHIPPED_SCENARIOS

from sim.batch.executors import start_method
from sim.batch.seeding import chunk_seed
from sim.engine.core import Engine
from sim.engine.model import WargameModel
from sim.results.aggregate import Counts, daily_columns, daily_table, rules_columns, rules_table
from sim.results.drivers import batch_counts
from sim.results.writer import RunsFormat
from sim.scenario import load_scenario
from sim.tables import columns_of, inferred_kind, text_cell, write_table

OBSERVATIONS = ROOT / "scenarios" / "observations" / "allied_resolve_2022.yaml"
IS_LINUX = sys.platform.startswith("linux")
HEAVY = ("mesa", "pandas", "scipy", "networkx", "matplotlib")


def _same_worlds(engine: Engine, model: WargameModel) -> None:
    np.testing.assert_array_equal(engine.rung_track, model.rung_track)
    np.testing.assert_array_equal(engine.outcome, model.outcome)
    np.testing.assert_array_equal(engine.flags, model.flags)
    a, b = engine.world, model.world
    np.testing.assert_array_equal(a.peak, b.peak)
    np.testing.assert_array_equal(a.first_day, b.first_day)
    np.testing.assert_array_equal(a.rule_fired, b.rule_fired)
    assert a.params.keys() == b.params.keys()
    for pid in a.params:
        np.testing.assert_array_equal(a.params[pid], b.params[pid])


@pytest.mark.parametrize("path", SHIPPED_SCENARIOS, ids=lambda p: p.stem)
def test_plain_engine_and_mesa_model_give_the_same_worlds(path: Path) -> None:
    sc = load_scenario(path)
    # A fresh sequence each (spawning streams advances the sequence spawned from).
    engine = Engine(sc, 400, np.random.default_rng(chunk_seed(11, 0, 2))).run()
    model = WargameModel(sc, replicates=400, collect=False, rng=chunk_seed(11, 0, 2)).run()
    _same_worlds(engine, model)


def test_plain_engine_matches_a_narrating_collecting_model() -> None:
    sc = load_scenario(DEFAULT_SCENARIO)
    engine = Engine(sc, 60, np.random.default_rng(5)).run()
    model = WargameModel(sc, replicates=60, narrate=True, collect=True, rng=5).run()
    _same_worlds(engine, model)
    assert model.log and not model.running and not engine.running
    assert len(model.datacollector.get_model_vars_dataframe()) == sc.horizon_days + 1


def _modules_after(argv: list[str], cwd: Path) -> dict[str, object]:
    """The heavy modules a command leaves imported, on the numpy path: ``auto`` may
    switch to the compiled kernels once a process has spent 2 s of CPU (a slow or
    busy machine can take that long over these small chunks), and numba's own
    imports (scipy among them) are not the batch's."""
    code = (
        "import json, sys\n"
        "from sim.cli import main\n"
        f"rc = main({argv!r})\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(json.dumps({'rc': rc, 'heavy': heavy}))\n"
    )
    env = {**os.environ, "WARGAME_KERNELS": "numpy"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_batch_without_plots_imports_no_mesa_pandas_scipy_matplotlib(tmp_path) -> None:
    """Serially and with forked workers, whose tables are the same bytes."""
    outs = {w: tmp_path / f"w{w}" for w in ("1", "2")}
    for workers, out in outs.items():
        argv = ["batch", str(DEFAULT_SCENARIO), "--runs", "900", "--chunk-size", "200"]
        argv += ["--workers", workers, "--no-plots", "-q", "--out", str(out)]
        assert _modules_after(argv, ROOT) == {"rc": 0, "heavy": []}
    manifest = json.loads((outs["2"] / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["start_method"] == ("fork" if IS_LINUX else "spawn")
    for name in ("runs.csv", "daily.csv", "rules.csv", "drivers.csv", "summary.json"):
        assert (outs["1"] / name).read_bytes() == (outs["2"] / name).read_bytes(), name


def test_quiet_batch_imports_only_what_it_runs(tmp_path) -> None:
    """Start-up time: no progress bar (tqdm), no --moves (the seat layer), no package metadata,
    no masked arrays (the drivers' quantiles)."""
    out = tmp_path / "b"
    argv = ["batch", str(DEFAULT_SCENARIO), "--runs", "300", "--no-plots", "-q", "--out", str(out)]
    unused = ("tqdm", "sim.seat", "importlib.metadata", "email", "numpy.ma")
    code = (
        "import json, sys\nfrom sim.cli import main\n"
        f"rc = main({argv!r})\n"
        f"names = {unused!r}\n"
        "found = sorted(m for m in sys.modules if any(m == n or m.startswith(n + '.') "
        "for n in names))\n"
        "print(json.dumps({'rc': rc, 'found': found}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"rc": 0, "found": []}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["versions"]["mesa"] != "not installed"


def test_help_imports_no_engine(tmp_path) -> None:
    code = (
        "import sys\nfrom sim.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'yaml', 'mesa')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_parser_quotes_the_library_defaults() -> None:
    from sim.batch.settings import RunSettings
    from sim.cli import batch as cli_batch
    from sim.cli import discover as cli_discover
    from sim.discovery import MIN_CASES

    defaults = RunSettings()
    assert defaults.workers == 1  # the library runs serially unless asked
    assert (defaults.chunk_size, defaults.chunk_timeout) == (
        cli_batch.CHUNK,
        cli_batch.CHUNK_TIMEOUT,
    )
    assert cli_discover.MIN_CASES == MIN_CASES


def test_the_commands_default_to_auto_workers() -> None:
    """No --workers (or --workers auto) is RunSettings(workers=None); --workers 1 stays serial."""
    from sim.cli import build_parser
    from sim.cli.batch import run_settings

    parser = build_parser()

    def workers(*extra: str) -> int | None:
        return run_settings(parser.parse_args(["batch", "x.yaml", *extra])).workers

    assert workers() is None
    assert workers("--workers", "auto") is None
    assert workers("--workers", "1") == 1
    assert workers("--workers", "3") == 3
    for command in (
        ["sweep", "x.yaml", "--vary", "seed=1,2"],
        ["knockouts", "x.yaml"],
        ["compare", "a", "b"],
        ["sensitivity", "x.yaml"],
    ):
        assert run_settings(parser.parse_args(command)).workers is None, command
    with pytest.raises(SystemExit):
        parser.parse_args(["batch", "x.yaml", "--workers", "many"])


# -- tables from plain columns ------------------------------------------------------
def _bytes(tmp_path: Path, table: object, name: str) -> bytes:
    path = tmp_path / name
    write_table(path, table)  # type: ignore[arg-type]
    return path.read_bytes()


@pytest.mark.parametrize("path", SHIPPED_SCENARIOS, ids=lambda p: p.stem)
def test_batch_tables_from_columns_are_the_bytes_of_dataframes(tmp_path, path: Path) -> None:
    from sim.results.aggregate import summarise_chunk
    from sim.results.drivers import add_chunk

    sc = load_scenario(path)
    totals = Counts.zeros(sc)
    drivers = batch_counts(sc, {})
    for c in range(2):
        engine = Engine(sc, 300, np.random.default_rng(chunk_seed(1, 0, c))).run()
        cs = summarise_chunk(engine, 0, c, 300 * c)
        totals.add(cs.counts)
        add_chunk(drivers, sc, cs)
    pairs = [
        (daily_columns(sc, totals), daily_table(sc, totals)),
        (rules_columns(sc, totals), rules_table(sc, totals)),
        (drivers.columns(), drivers.table()),
    ]
    for i, (columns, frame) in enumerate(pairs):
        assert _bytes(tmp_path, columns, f"c{i}.csv") == _bytes(tmp_path, frame, f"f{i}.csv")


@pytest.mark.parametrize(
    "values",
    [
        [1, 2, 3],
        [1, None, 3],
        [1.5, 2, None],
        [True, False],
        [True, None],
        [True, 1],
        ["a", None, "=b"],
        [None, None],
        [float("nan"), 1],
        [np.int64(3), 4],
        [np.float64(0.1), 1],
        [],
    ],
)
def test_columns_are_written_as_pandas_infers_them(tmp_path, values) -> None:
    columns = columns_of([{"x": v} for v in values], ["x"])
    frame = pd.DataFrame({"x": pd.Series(values, dtype=object).infer_objects()})
    if values:
        frame = pd.DataFrame.from_records([{"x": v} for v in values])
        assert inferred_kind(list(columns["x"])) == frame["x"].dtype.kind
    assert _bytes(tmp_path, columns, "c.csv") == _bytes(tmp_path, frame, "f.csv")


# -- runs.csv, formatted where the chunk ran -----------------------------------------
def _cell_by_cell(sc, rows: np.ndarray, point: int, chunk: int, seed: int) -> str:
    """runs.csv rows formatted one cell at a time (the format as docs/batch.md states it)."""

    def word(w: str) -> str:
        return text_cell(w)

    lines = []
    for row in rows.tolist():
        r = dict(zip(rows.dtype.names, row, strict=True))
        cells = [str(r["world"]), str(point), str(chunk), str(r["index_in_chunk"]), str(seed)]
        cells += [word(sc.outcomes[r["outcome"]].id), word(sc.ladder[r["peak"]].id)]
        for k in sc.key_rungs:
            d = r[f"first_day_{k}"]
            cells.append(str(d) if d >= 0 else "")
        cells += ["1" if r[f"flag_{f.id}"] else "0" for f in sc.flags]
        for p in sc.parameters:
            v = r[f"param_{p.id}"]
            cells.append(word(p.enum_values[v]) if p.enum_values else repr(v))
        cells += ["1" if r[f"obs_{o.id}"] else "0" for o in sc.observations]
        lines.append(",".join(cells) + "\n")
    return "".join(lines)


@pytest.mark.parametrize("per_cell", [RunsFormat.FLAGS_PER_CELL, 2, 1])
def test_runs_lines_are_the_cells_formatted_one_by_one(monkeypatch, per_cell) -> None:
    from sim.results.aggregate import summarise_chunk

    sc = load_scenario(DEFAULT_SCENARIO, observations=OBSERVATIONS)
    assert sc.observations and len(sc.flags) > 2
    engine = Engine(sc, 700, np.random.default_rng(chunk_seed(2, 1, 3))).run()
    rows = summarise_chunk(engine, 1, 3, 2100).rows
    assert rows is not None
    monkeypatch.setattr(RunsFormat, "FLAGS_PER_CELL", per_cell)
    text = RunsFormat(sc).lines(rows, 1, 3, 7)
    assert text.decode("utf-8") == _cell_by_cell(sc, rows, 1, 3, 7)


# -- worker processes ------------------------------------------------------------------
_WORKERS_GONE = """
import math, multiprocessing, os, sys
from sim.batch.executors import LocalExecutor
from sim.errors import ExecutionError

def gone(pids):
    return all(not os.path.exists(f"/proc/{p}") for p in pids)

with LocalExecutor(workers=2) as ex:
    method = ex.start_method
    pids = list(ex._pool._processes)
    assert list(ex.map(math.sqrt, [16, 9, 4])) == [4, 3, 2]
assert gone(pids) and not multiprocessing.active_children(), pids
try:
    with LocalExecutor(workers=2) as ex:
        failed = list(ex._pool._processes)
        list(ex.map(math.sqrt, [4, -1, 9]))
except ExecutionError:
    pass
assert gone(failed) and not multiprocessing.active_children(), failed
print(method, len(pids), len(failed))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork and /proc: Linux")
def test_forked_workers_start_on_entering_and_leave_nothing_behind() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _WORKERS_GONE], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["fork", "2", "2"]


def test_workers_are_not_forked_from_a_process_running_threads() -> None:
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert start_method() == "spawn"
    finally:
        stop.set()
        thread.join()


def test_a_finished_chunk_is_released_at_once_without_the_cycle_collector(monkeypatch) -> None:
    """The plain engine holds no reference cycle (a Mesa model and its agents do), so a
    worker's chunk is freed as soon as it is reduced, not when the collector runs."""
    import gc
    import weakref

    from sim.batch.plan import ChunkTask, scenario_source
    from sim.batch.worker import run_chunk

    sc = load_scenario(DEFAULT_SCENARIO)
    task = ChunkTask(scenario_source(sc, DEFAULT_SCENARIO, ship_text=False), 0, 0, 200, 1, 0)
    made: list[weakref.ref] = []
    real = Engine.__init__

    def init(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        real(self, *args, **kwargs)
        made.append(weakref.ref(self))

    monkeypatch.setattr(Engine, "__init__", init)
    gc.disable()
    try:
        summary = run_chunk(task)
    finally:
        gc.enable()
    assert summary.rows is not None and len(made) == 1
    assert made[0]() is None
