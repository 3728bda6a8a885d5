"""The morning kernels (events, observe, the any_day flags) == the numpy path, to the bit.

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
from conftest import SEEDS_DIR

from sim.engine import kernels, morning, phases
from sim.engine.model import WargameModel
from sim.registry import load_registry
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
    """The compiled path, its kernels cached in a folder kept for the whole test run."""
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


def _compared(
    path: Path, monkeypatch: pytest.MonkeyPatch, n: int = 1200, scenario: Any = None
) -> dict[str, int]:
    """Run ``path`` with every observe and record_flags call made both ways; how many
    calls each kernel made."""
    fused_observe, fused_flags = morning.observe, morning.record_flags
    fused_events = morning.events_phase
    made = {"observe": 0, "flags": 0, "events": 0}

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

    def events_phase(state: Any, day: int, rng: Any) -> Any:
        other = copy.deepcopy(rng)
        before = _written_by_events(state)
        got = fused_events(state, day, rng)
        if got is None:
            assert rng.bit_generator.state == other.bit_generator.state  # untouched
            return None
        made["events"] += 1
        after = _written_by_events(state)
        _restore(state, before)
        monkeypatch.setattr(morning, "events_phase", lambda *args: None)
        want = phases.events_phase(state, day, other)
        monkeypatch.setattr(morning, "events_phase", events_phase)
        assert rng.bit_generator.state == other.bit_generator.state
        numpy_after = _written_by_events(state)
        assert list(after) == list(numpy_after)
        for k in numpy_after:
            assert same(after[k], numpy_after[k]), (k, day)
        assert [(h.event.id, h.kind) for h in got] == [(h.event.id, h.kind) for h in want]
        assert all(same(g.worlds, w.worlds) for g, w in zip(got, want, strict=True))
        return got

    monkeypatch.setattr(morning, "observe", observe)
    monkeypatch.setattr(morning, "record_flags", record_flags)
    monkeypatch.setattr(morning, "events_phase", events_phase)
    WargameModel(scenario or load_scenario(path), replicates=n, collect=False, rng=11).run()
    return made


_EVENT_FIELDS = ("rung", "peak", "first_day", "event_active", "event_count")


def _written_by_events(state: Any) -> dict[str, np.ndarray]:
    """Copies of what the events phase may write: the ladder, the events' rows, the values."""
    out = {f: getattr(state, f).copy() for f in _EVENT_FIELDS}
    out.update({f"value:{k}": v.copy() for k, v in state.values.items()})
    return out


def _restore(state: Any, saved: dict[str, np.ndarray]) -> None:
    for f in _EVENT_FIELDS:
        setattr(state, f, saved[f].copy())
    for k in state.values:
        state.values[k] = saved[f"value:{k}"].copy()


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_morning_equals_the_numpy_path(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = _compared(path, monkeypatch)
    sc = load_scenario(path)
    if sc.intel or any(a.beliefs for a in sc.actors):
        assert made["observe"]
    if any(f.at == "any_day" for f in sc.flags):
        assert made["flags"] == sc.horizon_days
    if sc.events:
        assert made["events"] == sc.horizon_days


def _ending(path: Path) -> list[np.ndarray]:
    model = WargameModel(load_scenario(path), replicates=800, collect=False, rng=5).run()
    assert model.flags is not None and model.outcome is not None
    return [model.flags, model.outcome, model.rung_track]


def _without_morning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(morning, "observe", lambda *args: None)
    monkeypatch.setattr(morning, "record_flags", lambda *args: False)
    monkeypatch.setattr(morning, "events_phase", lambda *args: None)


def test_whole_runs_equal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run with the morning kernels and one without: the same flags, outcomes and rungs."""
    path = ROOT / "scenarios" / "rgf_deployment_2022.yaml"
    got = _ending(path)
    _without_morning(monkeypatch)
    want = _ending(path)
    assert all(same(g, w) for g, w in zip(got, want, strict=True))


@pytest.mark.parametrize("failing", [("anyh", "known"), ("touched",)], ids=["draws", "effects"])
def test_a_kernel_failing_after_the_draws(
    failing: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a loop after the draws cannot run (events' strikes, intel's detection, the
    events' effects), the stream and the events' counts are put back and the numpy
    path draws the same rows again."""
    path = ROOT / "scenarios" / "rgf_deployment_2022.yaml"
    real = kernels.GeneratedKernel.run
    failed = [0]

    def run(self: kernels.GeneratedKernel, *args: Any) -> bool:
        if any(name in self.fixed for name in failing):
            failed[0] += 1
            return False
        return real(self, *args)

    monkeypatch.setattr(kernels.GeneratedKernel, "run", run)
    got = _ending(path)
    assert failed[0]
    monkeypatch.setattr(kernels.GeneratedKernel, "run", real)
    _without_morning(monkeypatch)
    want = _ending(path)
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

    real_events = morning.events_phase

    def events_phase(*args: Any) -> Any:
        got.append(real_events(*args))
        return got[-1]

    monkeypatch.setattr(morning, "observe", observe)
    monkeypatch.setattr(morning, "record_flags", record_flags)
    monkeypatch.setattr(morning, "events_phase", events_phase)
    WargameModel(load_scenario(path), replicates=100, collect=False, rng=3).run()
    assert got and all(x is None for x in got)


def _no_code(self: Any, expr: Any) -> str:
    raise LookupError(expr.source)


LADDER_EVENTS = """
scenario: {name: ladder_events, title: Ladder events, start: 2022-01-01, horizon_days: 40, seed: 3}
ladder:
  quiet: {name: Quiet, mid_level: 1}
  strained: {name: Strained, mid_level: 2}
  fighting: {name: Fighting, mid_level: 4}
state:
  alarm: {type: bool, initial: false}
  mood: {type: enum, values: [low, mid, high], initial: low}
  level: {type: float, initial: 12, min: 0, max: 90}
  count: {type: int, initial: 0, max: 6}
events:
  flare: {hazard: 0.15, when: level >= 0, effects: {level: level + 5, alarm: true, mood: mid,
          count: count + 1}, escalate_to: fighting, cites: [C]}
  lull: {hazard: 0.5, when: rung >= 1, effects: {level: level - 3, alarm: false},
         deescalate_to: quiet, cites: [C]}
  spark: {hazard: 0.2, when: level >= 0, max_times: 4, effects: {mood: high, level: level * 0.5},
          escalate_to: strained, cites: [C]}
  drills: {start: 2022-01-05, end: 2022-01-09, effects: {count: count + 2},
           end_effects: {alarm: false}, cites: [C]}
  ease: {hazard: 1, when: level > 20, effects: {level: level - 0.25}, deescalate_to: strained,
         cites: [C]}
actors:
  one:
    name: One
    actions:
      wait: {default: true}
outcomes:
  calm: {name: Calm}
  fought: {name: Fought, when: peak >= rungs.fighting}
"""


def test_events_that_escalate_and_de_escalate_on_one_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random events of every kind of effect, escalating and de-escalating on the same
    days, a limit of strikes, a certain event, a scheduled one with end effects."""
    f = tmp_path / "ladder_events.yaml"
    f.write_text(LADDER_EVENTS.replace("[C]", "[kremlin-appetite-decides]"))
    sc = load_scenario(f, registry=load_registry(SEEDS_DIR))
    made = _compared(f, monkeypatch, n=2000, scenario=sc)
    assert made["events"] == sc.horizon_days


def test_the_days_environment_is_the_mornings_with_what_was_learned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The engine makes the environment the actors decide on from the one they
    observed on (``WorldState.learned``): each day it must be what ``env()`` makes
    after learning, intelligence items included."""
    from sim.engine import core

    sc = load_scenario(ROOT / "scenarios" / "allied_resolve_2022.yaml")
    assert sc.intel  # beliefs that learning changes
    fresh: list[dict[str, Any]] = []
    real = core.learn

    def learn(state: Any, knowledge: Any) -> None:
        real(state, knowledge)
        fresh.append(state.env())

    monkeypatch.setattr(core, "learn", learn)
    engine = core.Engine(sc, 300, np.random.default_rng(3))
    changed = 0
    while engine.running:
        before = engine.world.belief.copy()
        engine.step()
        changed += not np.array_equal(before, engine.world.belief)
        want, got = fresh[-1], engine.snapshot
        assert got.keys() == want.keys()
        assert all(np.array_equal(got[k], want[k]) for k in want), engine.day
    assert changed  # some day's learning wrote the beliefs
