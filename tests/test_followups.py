"""Loose ends of the hardening and ecosystem work, each once a real hole.

* ``wargame view`` told users to give ``--no-claims`` but had no such option;
* the scenario cache handed out a scenario compiled without citation checks
  (or against another registry) where they were checked;
* scenarios differing only in the order of their ladder, actions or outcomes
  shared one hash, by which workers find compiled scenarios;
* ``--set`` and ``--vary`` refused ``30.0`` for a whole-number path;
* the editors' JSON Schema lacked the safe range of numbers; the report let a
  colour ending in a line break into a style;
* a worker running out of memory came back as its traceback;
* ``rerun_world`` found its row of runs.csv by counting lines, unchecked.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import DEFAULT_SCENARIO, ROOT, SEEDS_DIR

from sim.errors import ValidationError
from sim.registry import claims_policy
from sim.scenario import cache
from sim.viz.environment import CLAIMS_ENV

BASE = ROOT / "tests" / "malformed" / "_base.yaml"
CITED = "kremlin-appetite-decides"
"""A claim that BASE cites."""


@pytest.fixture
def outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """BASE copied outside the repository and run from there: no registry applies."""
    path = tmp_path / "work" / "s.yaml"
    path.parent.mkdir()
    shutil.copy(BASE, path)
    monkeypatch.chdir(tmp_path)
    cache.clear()
    yield path
    cache.clear()


def registry_without(folder: Path, claim: str) -> Path:
    """A copy of seeds/ in ``folder`` without ``claim``; returns its claims file."""
    folder.mkdir(parents=True)
    shutil.copy(SEEDS_DIR / "sources.yaml", folder / "sources.yaml")
    doc = yaml.safe_load((SEEDS_DIR / "claims.yaml").read_text(encoding="utf-8"))
    doc["claims"] = [c for c in doc["claims"] if c["id"] != claim]
    (folder / "claims.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return folder / "claims.yaml"


# -- 1. wargame view --claims / --no-claims ---------------------------------------------
def _viewer_missing() -> bool:
    from sim.viz.cli import _importable

    return not all(_importable(m) for m in ("solara", "mesa.visualization"))


needs_viewer = pytest.mark.skipif(_viewer_missing(), reason="viewer extra not installed")


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """Stands in for the exec of the Solara server; collects the environment it got."""
    import sim.viz.cli as view_cli

    envs: list[dict[str, str]] = []

    def execve(path: str, argv: list[str], env: dict[str, str]) -> None:
        envs.append(env)

    monkeypatch.setattr(view_cli.os, "execve", execve)
    monkeypatch.setattr(view_cli.subprocess, "call", lambda *args, **kwargs: 0)
    return envs


@needs_viewer
@pytest.mark.parametrize("entry", ["wargame", "python -m sim.viz"])
def test_view_takes_no_claims_and_the_page_follows_it(
    entry: str,
    outside: Path,
    served: list[dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Before: "unrecognized arguments: --no-claims", though the refusal said to give it.
    import sim.cli
    import sim.viz.cli as view_cli

    main = sim.cli.main if entry == "wargame" else view_cli.main
    prefix = ["view"] if entry == "wargame" else []
    assert main([*prefix, str(outside)]) == 2
    err = capsys.readouterr().err
    assert "give --claims FILE, or --no-claims to go on without checking them" in err
    assert served == []

    assert main([*prefix, str(outside), "--no-claims"]) == 0
    (env,) = served
    from sim.viz import settings

    monkeypatch.delenv(CLAIMS_ENV, raising=False)
    with pytest.raises(ValidationError, match="citations cannot be checked"):
        settings.compiled(str(outside), ())  # the page, told nothing, checks
    monkeypatch.setenv(CLAIMS_ENV, env[CLAIMS_ENV])
    assert settings.compiled(str(outside), ()).name == "border_crisis"


@needs_viewer
def test_view_checks_against_the_claims_file_given(
    outside: Path,
    tmp_path: Path,
    served: list[dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sim.viz.cli as view_cli
    from sim.viz import settings

    good = tmp_path / "good"
    shutil.copytree(SEEDS_DIR, good)
    bad = registry_without(tmp_path / "bad", CITED)
    assert view_cli.main([str(outside), "--claims", str(bad)]) == 2
    assert f"unknown claim id {CITED!r}" in capsys.readouterr().err
    assert view_cli.main([str(outside), "--claims", str(good / "claims.yaml")]) == 0
    (env,) = served
    monkeypatch.setenv(CLAIMS_ENV, env[CLAIMS_ENV])
    assert json.loads(env[CLAIMS_ENV]) == {
        "file": str((good / "claims.yaml").resolve()),
        "check": True,
    }
    assert settings.compiled(str(outside), ()).name == "border_crisis"


# -- 2. the scenario cache and the claims policy -----------------------------------------
def test_a_scenario_loaded_without_checks_is_not_reused_with_them(outside: Path) -> None:
    # Before: the second load was a cache hit, so the unchecked scenario was accepted.
    with claims_policy(check=False):
        assert cache.load_cached(outside).name == "border_crisis"
    with pytest.raises(ValidationError, match="citations cannot be checked"):
        cache.load_cached(outside)


def test_a_scenario_checked_against_one_registry_is_not_reused_for_another(
    outside: Path, tmp_path: Path
) -> None:
    good = tmp_path / "good"
    shutil.copytree(SEEDS_DIR, good)
    bad = registry_without(tmp_path / "bad", CITED)
    with claims_policy(good / "claims.yaml"):
        cache.load_cached(outside)
    with claims_policy(bad), pytest.raises(ValidationError, match=f"unknown claim id {CITED!r}"):
        cache.load_cached(outside)


def test_an_edited_registry_is_checked_again(outside: Path, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)  # found from the working folder (tmp_path)
    cache.load_cached(outside)
    registry = yaml.safe_load((seeds / "claims.yaml").read_text(encoding="utf-8"))
    registry["claims"] = [c for c in registry["claims"] if c["id"] != CITED]
    (seeds / "claims.yaml").write_text(yaml.safe_dump(registry), encoding="utf-8")
    with pytest.raises(ValidationError, match=f"unknown claim id {CITED!r}"):
        cache.load_cached(outside)


# -- 3. the scenario hash keeps order ------------------------------------------------------
def written(folder: Path, *reverse: str) -> Path:
    """BASE written to ``folder``; the entries of the mapping at path ``reverse`` reversed.

    Every rung gets one MID level, so that the ladder is valid in either order.
    """
    doc = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    for rung in doc["ladder"].values():
        rung["mid_level"] = 3
    if reverse:
        parent = doc
        for key in reverse[:-1]:
            parent = parent[key]
        parent[reverse[-1]] = dict(reversed(list(parent[reverse[-1]].items())))
    folder.mkdir(parents=True)
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "reverse",
    [
        ("ladder",),
        ("outcomes",),
        ("actors", "attacker", "actions"),
        ("actors", "defender", "rules"),
    ],
    ids=".".join,
)
def test_scenarios_differing_only_in_order_differ_in_hash(
    reverse: tuple[str, ...], tmp_path: Path
) -> None:
    # Before: the hash was of JSON with sorted keys, so both had one hash, and a worker that
    # finds compiled scenarios by hash could run one for the other.
    from sim.registry import load_registry
    from sim.scenario import load_scenario

    registry = load_registry(SEEDS_DIR)
    one, again = (load_scenario(written(tmp_path / n), registry=registry) for n in "ab")
    assert one.sha256 == again.sha256
    other = load_scenario(written(tmp_path / "c", *reverse), registry=registry)
    assert other.sha256 != one.sha256


# -- 4. whole-number floats for whole-number paths ----------------------------------------
def wargame(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """A ``wargame`` command in-process: its exit code and stderr."""
    from sim.cli import main

    code = main(argv)
    return code, capsys.readouterr().err


def runs_tables(
    command: list[str], settings: list[list[str]], tmp_path: Path, capsys: pytest.CaptureFixture
) -> list[bytes]:
    """runs.csv of ``command`` run with each of ``settings`` added (each must succeed)."""
    tables = []
    for i, setting in enumerate(settings):
        out = tmp_path / str(i)
        code, err = wargame([*command, *setting, "--out", str(out)], capsys)
        assert code == 0, err
        tables.append((out / "runs.csv").read_bytes())
    return tables


def test_batch_takes_a_whole_number_float_for_a_whole_number_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: "scenario.horizon_days: expected a whole number; got a number (50.0)", exit 2.
    batch = ["batch", str(DEFAULT_SCENARIO), "--runs", "40", "--no-plots", "-q"]
    settings = [["--set", f"scenario.horizon_days={v}"] for v in ("50", "50.0")]
    as_int, as_float = runs_tables(batch, settings, tmp_path, capsys)
    assert as_int == as_float
    code, err = wargame([*batch, "--set", "scenario.horizon_days=50.5"], capsys)
    assert code == 2
    assert err == (
        "--set:1:23: error: scenario.horizon_days: expected a whole number; got 50.5, "
        "which has a fractional part\n"
    )


def test_sweep_takes_whole_number_floats_in_a_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = ["sweep", str(DEFAULT_SCENARIO), "--runs", "30", "--no-plots", "-q"]
    settings = [["--vary", f"scenario.horizon_days={v}"] for v in ("45,50", "45.0,50.0")]
    as_ints, as_floats = runs_tables(sweep, settings, tmp_path, capsys)
    assert as_ints == as_floats


@pytest.mark.parametrize(
    "value, expected",
    [(30.0, 30), (-0.0, 0), (30, 30), (2.0**52, 2**52)],
)
def test_whole_number_floats_become_ints(value: float, expected: int) -> None:
    from sim.spec import Ctx, Num
    from sim.yamlio import Located

    ctx = Ctx(Located({}, file="f.yaml"))
    got = Num(integer=True, limit=None).check(value, ("x",), ctx)
    assert (got, type(got), ctx.diags) == (expected, int, [])


# -- 5. the report's colours --------------------------------------------------------------
@pytest.mark.parametrize("colour", ["red\n", "#4477aa\n", "red;}", "#12"])
def test_a_colour_that_is_not_wholly_a_colour_gets_no_swatch(colour: str) -> None:
    # Before: re.match with ^...$ let "red\n" and "#4477aa\n" into a style attribute.
    from sim.report.page import _swatch

    assert _swatch(colour) == ""
    assert 'style="background:#4477aa"' in _swatch("#4477aa")


# -- 6. a worker out of memory -------------------------------------------------------------
OUT_OF_MEMORY = (
    " ran out of memory; a chunk needs memory in proportion to its worlds: give a smaller "
    "--chunk-size (fewer worlds per chunk), or fewer --workers so that fewer chunks run at once"
)


@pytest.mark.parametrize("workers", [0, 1], ids=["serial", "local worker"])
def test_a_chunk_out_of_memory_is_one_message_without_traceback(workers: int) -> None:
    # Before: "... failed: MemoryError: Unable to allocate ...\nworker traceback:\n...".
    import numpy as np

    from sim.batch.executors import LocalExecutor, SerialExecutor
    from sim.errors import ExecutionError

    too_many = 10**16  # np.zeros cannot allocate this: a real MemoryError, at once
    executor = LocalExecutor(workers) if workers else SerialExecutor()
    with executor as ex, pytest.raises(ExecutionError) as caught:
        list(ex.map(np.zeros, [too_many]))
    assert str(caught.value) == f"{too_many}{OUT_OF_MEMORY}"


def test_a_batch_out_of_memory_names_the_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np

    from sim.engine.core import Engine  # what the batch's workers run

    monkeypatch.setattr(Engine, "run", lambda self: np.zeros(10**16))
    out = tmp_path / "out"
    argv = ["batch", str(DEFAULT_SCENARIO), "--runs", "40", "--seed", "3", "--out", str(out)]
    code, err = wargame([*argv, "-q"], capsys)
    assert code == 2
    assert err == (
        f"error: scenario 'allied_resolve_2022' ({DEFAULT_SCENARIO}), design point 0, chunk 0 "
        f"(40 worlds), seed 3 [SeedSequence(3, spawn_key=(0, 0))]{OUT_OF_MEMORY}\n"
    )
    assert not out.exists()


# -- 7. rerun_world reads runs.csv checked ------------------------------------------------
@pytest.fixture(scope="module")
def small_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import sim

    out = tmp_path_factory.mktemp("rerun") / "b"
    sim.run_batch(DEFAULT_SCENARIO, runs=60, seed=3, chunk_size=25, out=out, progress=False)
    return out


@pytest.fixture
def copy_of(small_batch: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(small_batch, tmp_path / "b"))


def test_rerun_world_finds_its_row_by_world(copy_of: Path) -> None:
    from sim.batch import rerun_world
    from sim.tables import read_table

    row = read_table(copy_of / "runs.csv").set_index("world").loc[37]
    replay = rerun_world(copy_of, 37)
    assert (replay.point, replay.chunk, replay.index) == (0, 1, 12)
    assert replay.outcome == row["outcome"]


def test_rerun_world_refuses_a_runs_table_cut_short(copy_of: Path) -> None:
    # Before: world 40, past the cut, was rerun silently with nothing to check it against.
    from sim.batch import rerun_world
    from sim.errors import ResultsError

    runs = copy_of / "runs.csv"
    lines = runs.read_bytes().splitlines(keepends=True)
    runs.write_bytes(b"".join(lines[:31]))
    with pytest.raises(ResultsError, match=r"30 rows where the manifest records 60; .* cut short"):
        rerun_world(copy_of, 40)


def test_rerun_world_refuses_a_runs_table_altered(copy_of: Path) -> None:
    # Before: with rows moved by one, the line read for world 20 was world 21's, so it was
    # ignored and the world rerun silently with nothing to check it against.
    from sim.batch import rerun_world
    from sim.errors import ResultsError

    runs = copy_of / "runs.csv"
    header, *rows = runs.read_bytes().splitlines(keepends=True)
    runs.write_bytes(b"".join([header, *rows[1:], rows[0]]))
    with pytest.raises(ResultsError, match="altered after it was written"):
        rerun_world(copy_of, 20)
