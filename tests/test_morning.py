"""The morning kernels (observe, the any_day flags) == the numpy path, to the bit.

Every call of each phase on every shipped scenario is made twice, by the
generated kernel and by the numpy path, on the same state and a copy of the
same stream: every array must be the same (values, dtypes, NaNs and the sign
of zeros) and the stream must be left at the same place.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.engine import kernels, morning, phases
from sim.engine.model import WargameModel
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def same(got: np.ndarray, want: np.ndarray) -> bool:
    """Equal to the bit: shape, dtype, values, NaNs and the sign of zeros."""
    if got.shape != want.shape or got.dtype != want.dtype:
        return False
    if want.dtype.kind != "f":
        return bool(np.array_equal(got, want))
    return bool(
        np.array_equal(got, want, equal_nan=True)
        and np.array_equal(np.signbit(got), np.signbit(want))
    )


@pytest.fixture(autouse=True)
def _compiled(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """The compiled path, its kernels cached in a folder kept for the whole session."""
    pytest.importorskip("numba")
    monkeypatch.setenv(kernels.MODE_VARIABLE, "numba")
    monkeypatch.setenv(kernels.CACHE_VARIABLE, str(tmp_path_factory.getbasetemp() / "kernels"))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        yield


def _knowledge_same(got: phases.Knowledge, want: phases.Knowledge) -> None:
    assert got.actor == want.actor
    for part in ("held", "known", "posterior", "evidence_used"):
        g, w = getattr(got, part), getattr(want, part)
        assert list(g) == list(w), part
        for k in w:
            assert same(g[k], w[k]), (part, k)


def _compared(path: Path, monkeypatch: pytest.MonkeyPatch, n: int = 1200) -> dict[str, int]:
    """Run ``path`` with every observe and record_flags call made both ways; how many
    calls each kernel made."""
    fused_observe, fused_flags = morning.observe, morning.record_flags
    made = {"observe": 0, "flags": 0}

    def observe(actor_id: str, state: Any, env: dict[str, Any], rng: Any) -> Any:
        other = copy.deepcopy(rng)
        got = fused_observe(actor_id, state, env, rng)
        if got is None:
            assert rng.bit_generator.state == other.bit_generator.state  # untouched
            return None
        made["observe"] += 1
        monkeypatch.setattr(morning, "observe", lambda *args: None)
        want = phases.observe(actor_id, state, env, other)
        monkeypatch.setattr(morning, "observe", observe)
        assert rng.bit_generator.state == other.bit_generator.state
        _knowledge_same(got, want)
        return got

    def record_flags(state: Any, flags: Any) -> bool:
        before = state.flag_any.copy()
        if not fused_flags(state, flags):
            assert same(state.flag_any, before)  # nothing written
            return False
        made["flags"] += 1
        got, state.flag_any = state.flag_any, before
        monkeypatch.setattr(morning, "record_flags", lambda *args: False)
        phases.record_flags(state, flags)
        monkeypatch.setattr(morning, "record_flags", record_flags)
        assert same(got, state.flag_any)
        return True

    monkeypatch.setattr(morning, "observe", observe)
    monkeypatch.setattr(morning, "record_flags", record_flags)
    WargameModel(load_scenario(path), replicates=n, collect=False, rng=11).run()
    return made


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_morning_equals_the_numpy_path(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = _compared(path, monkeypatch)
    sc = load_scenario(path)
    if sc.intel or any(a.beliefs for a in sc.actors):
        assert made["observe"]
    if any(f.at == "any_day" for f in sc.flags):
        assert made["flags"] == sc.horizon_days


def test_whole_runs_equal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run with the morning kernels and one without: the same flags, outcomes and rungs."""
    path = ROOT / "scenarios" / "rgf_deployment_2022.yaml"

    def ending() -> list[np.ndarray]:
        model = WargameModel(load_scenario(path), replicates=800, collect=False, rng=5).run()
        assert model.flags is not None and model.outcome is not None
        return [model.flags, model.outcome, model.rung_track]

    got = ending()
    monkeypatch.setattr(morning, "observe", lambda *args: None)
    monkeypatch.setattr(morning, "record_flags", lambda *args: False)
    want = ending()
    assert all(same(g, w) for g, w in zip(got, want, strict=True))


def test_no_kernel_means_the_numpy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where an expression has no scalar code, each entry declines and the stream is
    left alone, so the numpy path draws as it would have."""
    path = ROOT / "scenarios" / "rgf_deployment_2022.yaml"
    monkeypatch.setattr(kernels._Codes, "__call__", _no_code)
    got: list[Any] = []
    real_observe, real_flags = morning.observe, morning.record_flags

    def observe(*args: Any) -> Any:
        got.append(real_observe(*args))
        return got[-1]

    def record_flags(*args: Any) -> bool:
        got.append(real_flags(*args) or None)
        return False

    monkeypatch.setattr(morning, "observe", observe)
    monkeypatch.setattr(morning, "record_flags", record_flags)
    WargameModel(load_scenario(path), replicates=100, collect=False, rng=3).run()
    assert got and all(x is None for x in got)


def _no_code(self: Any, expr: Any) -> str:
    raise LookupError(expr.source)
