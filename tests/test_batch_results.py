"""Results folders: layout, safety (temporary folder, no overwrite), reading back."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import DEFAULT_SCENARIO

import sim
import sim.batch.runner as runner
import sim.results.staging as staging_module
from sim.batch import rerun_world
from sim.errors import ExecutionError, ResultsError
from sim.narrative import tell
from sim.results.reader import BatchResult, load_results
from sim.results.staging import Staging
from sim.tables import FORMAT_VERSION

SCENARIO = DEFAULT_SCENARIO
QUIET = {"progress": False}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    return sim.run_batch(SCENARIO, runs=1200, seed=3, chunk_size=500, results_root=root, **QUIET)


def folders(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_dir())


def test_default_location_and_latest(batch):
    group = batch.folder.parent
    assert group.name == "allied_resolve_2022"
    assert len(batch.folder.name) == len("20220117-000000")
    assert (group / "latest").resolve() == batch.folder.resolve()
    assert not list(group.glob(".tmp-*"))


def test_files_and_manifest(batch):
    names = {p.name for p in batch.folder.iterdir()}
    assert {"manifest.json", "summary.json", "runs.csv", "daily.csv", "rules.csv"} <= names
    m = batch.manifest
    assert m["format_version"] == FORMAT_VERSION and m["kind"] == "batch"
    assert m["scenario"] == "allied_resolve_2022"
    assert m["seed"] == 3 and m["runs"] == 1200 and m["chunk_size"] == 500
    assert m["executor"] == "serial" and m["workers"] == 1
    assert len(m["sha256"]) == 64 and m["runs_table"] is True
    assert set(m["versions"]) == {"sim", "mesa", "numpy", "python", "platform"}
    assert m["wall_seconds"] >= 0 and m["started"] <= m["finished"]
    assert m["argv"][:2] == ["wargame", "batch"]
    assert "--runs 1200 --seed 3" in m["command"] and "--chunk-size 500" in m["command"]


def test_manifest_versions_are_the_installed_ones(tmp_path):
    import importlib.metadata

    from sim.results import writer

    for package in ("mesa", "numpy", "tqdm"):
        assert writer._installed_version(package) == importlib.metadata.version(package)
    assert writer._installed_version("no_such_package_here") == "not installed"
    # A package without one dist-info folder beside it is asked of importlib.metadata.
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    for version in ("1.0", "2.0"):
        info = tmp_path / f"pkg-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: pkg\nVersion: {version}\n")
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        assert writer._dist_info_version("pkg") is None
        (tmp_path / "pkg-2.0.dist-info" / "METADATA").unlink()
        (tmp_path / "pkg-2.0.dist-info").rmdir()
        assert writer._dist_info_version("pkg") == "1.0"
    finally:
        sys.path.remove(str(tmp_path))


def test_runs_table_columns(batch):
    runs = batch.runs
    sc = sim.load_scenario(SCENARIO)
    expected = ["world", "point", "chunk", "index_in_chunk", "seed", "outcome", "peak"]
    expected += [f"first_day_{r}" for r in sc.key_rungs]
    expected += [f"flag_{f.id}" for f in sc.flags]
    expected += [f"param_{p.id}" for p in sc.parameters]
    assert list(runs.columns) == expected
    assert list(runs["world"]) == list(range(1200))
    assert set(runs["seed"]) == {3} and set(runs["point"]) == {0}
    assert list(runs.groupby("chunk").size()) == [500, 500, 200]
    assert set(runs["outcome"]) <= {o.id for o in sc.outcomes}
    assert set(runs["param_lukashenka_doctrine"]) <= {"only_if_attacked", "like_russian_army"}
    assert runs["first_day_incident"].isna().any()  # never reached -> empty cell
    flags = runs[[f"flag_{f.id}" for f in sc.flags]]
    assert set(flags.stack().unique()) <= {0, 1}


def test_summary_is_recomputed_from_runs(batch):
    stored = json.loads((batch.folder / "summary.json").read_text())
    assert batch.summary == stored
    assert batch.recount() == stored
    assert load_results(batch.folder, recount=True).summary == stored
    counts = batch.runs["outcome"].value_counts()
    for o in batch.summary["outcomes"]:
        assert o["count"] == counts.get(o["id"], 0)


def test_load_results_accepts_group_folder(batch):
    again = load_results(batch.folder.parent)
    assert isinstance(again, BatchResult)
    assert again.folder.resolve() == batch.folder.resolve()
    assert len(again.daily) == 70 and len(again.rules) == 21


def test_second_batch_never_overwrites(batch):
    before = (batch.folder / "runs.csv").read_bytes()
    second = sim.run_batch(
        SCENARIO, runs=200, seed=4, results_root=batch.folder.parents[1], **QUIET
    )
    assert second.folder != batch.folder
    assert (batch.folder / "runs.csv").read_bytes() == before
    assert (batch.folder.parent / "latest").resolve() == second.folder.resolve()


def test_same_second_gets_a_suffix(tmp_path):
    started = dt.datetime(2022, 2, 24, 4, 0, 0)
    made = []
    for _ in range(3):
        with Staging(tmp_path, started=started) as stage:
            (stage.path / "manifest.json").write_text("{}")
        made.append(stage.final.name)
    assert made == ["20220224-040000", "20220224-040000-2", "20220224-040000-3"]
    assert (tmp_path / "latest").resolve() == (tmp_path / made[-1]).resolve()


def test_latest_falls_back_to_a_text_file(tmp_path, monkeypatch):
    def no_symlinks(*args, **kwargs):
        raise OSError("symlinks not supported here")

    monkeypatch.setattr("os.symlink", no_symlinks)
    staging_module.point_latest(tmp_path, "20220224-040000")
    assert (tmp_path / "latest.txt").read_text().strip() == "20220224-040000"


def test_out_must_not_exist(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(ResultsError, match="already exists"):
        sim.run_batch(SCENARIO, runs=10, out=tmp_path / "taken", **QUIET)


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_interrupted_batch_leaves_nothing_complete(tmp_path, monkeypatch, error):
    real = runner.run_chunk

    def flaky(task):
        if task.chunk == 1:
            raise error("stop")
        return real(task)

    monkeypatch.setattr(runner, "run_chunk", flaky)
    expected = KeyboardInterrupt if error is KeyboardInterrupt else ExecutionError
    with pytest.raises(expected):
        sim.run_batch(SCENARIO, runs=300, chunk_size=100, results_root=tmp_path, **QUIET)
    assert not list(tmp_path.rglob("manifest.json"))
    assert not list(tmp_path.rglob(".tmp-*"))
    assert not list(tmp_path.iterdir())  # the scenario's folder was new, so it is gone too


def test_failed_chunk_message_names_scenario_point_chunk_seed(tmp_path, monkeypatch):
    def broken(task):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(runner, "run_chunk", broken)
    with pytest.raises(ExecutionError) as info:
        sim.run_batch(SCENARIO, runs=10, seed=8, results_root=tmp_path, **QUIET)
    text = str(info.value)
    for part in ("allied_resolve_2022", "design point 0", "chunk 0", "seed 8", "ZeroDivisionError"):
        assert part in text


def test_no_runs_table(tmp_path):
    res = sim.run_batch(SCENARIO, runs=300, out=tmp_path / "b", runs_table=False, **QUIET)
    assert not (res.folder / "runs.csv").exists()
    assert res.manifest["runs_table"] is False and "runs_table_note" in res.manifest
    assert res.summary["runs"] == 300
    with pytest.raises(ResultsError, match="no-runs-table"):
        _ = res.runs
    replay = rerun_world(res.folder, 299)
    assert (replay.chunk, replay.index) == (0, 299)


def test_same_counts_with_and_without_runs_table(batch, tmp_path):
    res = sim.run_batch(
        SCENARIO, runs=1200, seed=3, chunk_size=500, out=tmp_path / "n", runs_table=False, **QUIET
    )
    assert res.summary == batch.summary
    pd.testing.assert_frame_equal(res.daily, batch.daily)


def test_rerun_one_world(batch):
    row = batch.runs.iloc[1037]
    replay = rerun_world(batch.folder, 1037, tell=tell)
    assert (replay.point, replay.chunk, replay.index) == (0, 2, 37)
    assert replay.outcome == row["outcome"]
    assert replay.model.narrate
    story = replay.story()
    assert "Outcome:" in story


def test_rerun_unknown_world(batch):
    with pytest.raises(ResultsError, match="no world 5000"):
        rerun_world(batch.folder, 5000)


def test_pinned_parameters(tmp_path):
    res = sim.run_batch(
        SCENARIO,
        runs=200,
        out=tmp_path / "p",
        pinned={"kremlin_appetite": 0.9, "lukashenka_doctrine": "like_russian_army"},
        **QUIET,
    )
    assert set(res.runs["param_kremlin_appetite"]) == {0.9}
    assert set(res.runs["param_lukashenka_doctrine"]) == {"like_russian_army"}
    assert "--pin kremlin_appetite=0.9" in res.manifest["command"]


def test_load_results_errors(tmp_path):
    with pytest.raises(ResultsError, match="no such results folder"):
        load_results(tmp_path / "nope")
    with pytest.raises(ResultsError, match="not a results folder"):
        load_results(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format_version": 99, "kind": "batch"}')
    with pytest.raises(ResultsError, match="version 99"):
        load_results(tmp_path)
