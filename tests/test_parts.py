"""A chunk run in parts: every world the one the whole chunk has, to the bit.

No world's numbers may depend on the chunk's other worlds: that is what lets a
batch of a single chunk run it in two processes at once
(:func:`sim.batch.worker.in_two_processes`) and give the same tables.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import SEEDS_DIR
from engine_reference import results_of

from sim.batch.runner import run_batch
from sim.engine import kernels
from sim.engine.core import Engine
from sim.registry import load_registry
from sim.scenario import load_scenario
from sim.scenario.model import Scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
MODES = ("numpy", "numba")


def _seed() -> np.random.Generator:
    """A fresh generator on the same seed (spawning moves a seed sequence on)."""
    return np.random.default_rng(np.random.SeedSequence(7, spawn_key=(0, 3)))


def _arrays(engine: Engine) -> dict[str, np.ndarray]:
    """Everything a world has at the end, as arrays whose last axis is the worlds."""
    w = engine.world
    got: dict[str, Any] = results_of(engine)  # type: ignore[arg-type]  # an engine will do
    got |= {"observed": engine.observed, "rung": w.rung, "held": w.held}
    got |= {f"param {k}": v for k, v in w.params.items()}
    return {k: np.ascontiguousarray(v) for k, v in got.items()}


def _run(sc: Scenario, n: int, part: tuple[int, int] | None = None) -> dict[str, np.ndarray]:
    return _arrays(Engine(sc, n, _seed(), part=part).run())


def _differences(whole: dict[str, np.ndarray], parts: list[dict[str, np.ndarray]]) -> list[str]:
    """The arrays whose parts, one after the other, are not the whole's to the byte."""
    return [
        k
        for k, v in whole.items()
        if np.concatenate([p[k] for p in parts], axis=-1).tobytes() != v.tobytes()
    ]


@pytest.fixture
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "numba":
        pytest.importorskip("numba")
    monkeypatch.setenv(kernels.MODE_VARIABLE, request.param)
    return str(request.param)


@pytest.mark.parametrize("mode", MODES, indirect=True)
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_parts_are_the_whole_chunks_worlds(path: Path, mode: str) -> None:
    sc = load_scenario(path)
    R = 400
    whole = _run(sc, R)
    cuts = [(0, 137), (137, 262), (399, 1)]  # uneven, and a part of one world
    parts = [_run(sc, n, (lo, R)) for lo, n in cuts]
    assert not _differences(whole, parts)


TINY = """
scenario: {name: zeros, title: Zeros, start: 2022-01-01, horizon_days: 30, seed: 3}
state:
  z: {type: float, initial: -0.0}
  w: {type: float, initial: -0.0}
ladder:
  calm: {name: Calm, mid_level: 1}
  tense: {name: Tense, mid_level: 3}
actors:
  one:
    name: One
    actions:
      wait: {default: true}
      poke: {effects: {z: z - 1}, escalate_to: tense}
    rules:
      poke_rarely: {kind: trigger, action: poke, prob: 0.02, cites: [kremlin-appetite-decides]}
events:
  jolt:
    hazard: 0.02
    description: Now and then something moves w.
    cites: [drone-incident-27-jan]
    effects:
      w: w - 1
outcomes:
  quiet: {name: Quiet}
  tense: {name: Tense, when: peak >= rungs.tense}
"""


@pytest.mark.parametrize("mode", MODES, indirect=True)
def test_a_world_keeps_its_negative_zero_whatever_the_others_do(tmp_path: Path, mode: str) -> None:
    f = tmp_path / "zeros.yaml"
    f.write_text(TINY)
    sc = load_scenario(f, registry=load_registry(SEEDS_DIR))
    R = 64
    whole = _run(sc, R)
    z, w = whole["state z"], whole["state w"]
    # some worlds acted (and some were struck), some never did: these keep -0.0
    for x in (z, w):
        assert (x < 0).any() and (x == 0).any()
        assert np.signbit(x[x == 0]).all()
    alone = [_run(sc, 1, (i, R)) for i in range(8)]  # each world with no other
    assert not _differences({k: v[..., :8] for k, v in whole.items()}, alone)


def test_a_batch_of_one_chunk_in_two_processes_writes_the_same_tables(tmp_path: Path) -> None:
    path = ROOT / "scenarios" / "allied_resolve_2022.yaml"
    kept = {"runs": 5000, "seed": 5, "progress": False}
    two = run_batch(path, out=tmp_path / "two", workers=None, **kept)
    one = run_batch(path, out=tmp_path / "one", workers=1, **kept)
    assert two.manifest.get("parts") == 2 and "parts" not in one.manifest
    for table in ("runs.csv", "daily.csv", "rules.csv", "drivers.csv", "summary.json"):
        assert (two.folder / table).read_bytes() == (one.folder / table).read_bytes(), table


def test_a_helper_that_fails_costs_time_not_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim.batch import worker

    parent, real = os.getpid(), worker.run_part

    def down_in_the_helper(*args: Any) -> Any:
        if os.getpid() != parent:
            raise RuntimeError("the helper fails")
        return real(*args)

    path = ROOT / "scenarios" / "allied_resolve_2022.yaml"
    kept = {"runs": 4000, "seed": 9, "progress": False}
    one = run_batch(path, out=tmp_path / "one", workers=1, **kept)
    monkeypatch.setattr(worker, "run_part", down_in_the_helper)
    two = run_batch(path, out=tmp_path / "two", workers=None, **kept)
    assert two.manifest.get("parts") == 2
    for table in ("runs.csv", "daily.csv", "summary.json"):
        assert (two.folder / table).read_bytes() == (one.folder / table).read_bytes(), table


def _chunk(c: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(7, spawn_key=(0, c)))


@pytest.mark.parametrize("mode", MODES, indirect=True)
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_chunks_in_one_engine_are_the_chunks_alone(path: Path, mode: str) -> None:
    """Several chunks (a whole one, and the last worlds of another) in one engine, each
    world reading its own chunk's streams."""
    sc = load_scenario(path)
    alone = [
        _arrays(Engine(sc, 300, _chunk(0)).run()),
        {k: v[..., 90:] for k, v in _arrays(Engine(sc, 250, _chunk(1)).run()).items()},
    ]
    blocks = [(_chunk(0), 300, 0, 300), (_chunk(1), 160, 90, 250)]
    together = _arrays(Engine(sc, 460, None, blocks=blocks).run())
    assert not _differences(together, alone)


def test_a_batch_in_groups_of_chunks_writes_the_same_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim.batch import runner

    monkeypatch.setattr(runner, "GROUP_FROM", 2)  # groups from 8 chunks on two workers
    path = ROOT / "scenarios" / "allied_resolve_2022.yaml"
    kept = {"runs": 1150, "seed": 4, "chunk_size": 100}  # 11 full chunks and a short one
    sc = load_scenario(path)
    settings = runner.RunSettings(workers=2, **kept).for_scenario(sc)
    tasks, ex, _ = runner.plan_batch(sc, path, (), settings)
    planned = runner.in_groups(tasks, ex)
    assert [len(getattr(t, "tasks", [t])) for t in planned] == [2] * 5 + [1, 1]
    grouped = run_batch(path, out=tmp_path / "grouped", workers=2, progress=False, **kept)
    serial = run_batch(path, out=tmp_path / "serial", workers=1, progress=False, **kept)
    for table in ("runs.csv", "daily.csv", "rules.csv", "drivers.csv", "summary.json"):
        assert (grouped.folder / table).read_bytes() == (serial.folder / table).read_bytes()
