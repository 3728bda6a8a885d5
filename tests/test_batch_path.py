"""The batch path's structure: a plain engine without Mesa, and tables without pandas.

* The plain engine (:class:`sim.engine.core.Engine`) and the Mesa model that
  wraps it give the same worlds for the same seed, on every shipped scenario.
* ``wargame batch --no-plots`` imports neither Mesa nor pandas, scipy,
  networkx or matplotlib (checked in a fresh interpreter).
* The tables a batch writes from plain columns are the bytes pandas gives.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DEFAULT_SCENARIO, ROOT, SHIPPED_SCENARIOS

from sim.batch.seeding import chunk_seed
from sim.engine.core import Engine
from sim.engine.model import WargameModel
from sim.results.aggregate import Counts, daily_columns, daily_table, rules_columns, rules_table
from sim.results.drivers import batch_counts
from sim.scenario import load_scenario
from sim.tables import columns_of, inferred_kind, write_table

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
    code = (
        "import json, sys\n"
        "from sim.cli import main\n"
        f"rc = main({argv!r})\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(json.dumps({'rc': rc, 'heavy': heavy}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("workers", ["1", "2"])
def test_batch_without_plots_imports_no_mesa_pandas_scipy_matplotlib(tmp_path, workers) -> None:
    out = tmp_path / "out"
    argv = ["batch", str(DEFAULT_SCENARIO), "--runs", "300", "--chunk-size", "100"]
    argv += ["--workers", workers, "--no-plots", "-q", "--out", str(out)]
    found = _modules_after(argv, ROOT)
    assert found == {"rc": 0, "heavy": []}
    assert (out / "runs.csv").is_file()


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
