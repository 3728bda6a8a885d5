"""A world's parameters are drawn once per stream, and are what plain draws give, to the bit.

:meth:`sim.engine.state.WorldState.initial` spawns one stream per parameter
from its generator; the draws of a stream seen before are handed out again
(copies) instead of being drawn again. Here they are compared with
``rng.spawn`` and :meth:`Parameter.sample` written plainly, on every shipped
scenario, first and second time.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT

from sim.engine import state
from sim.engine.state import WorldState
from sim.scenario import load_scenario

SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def plain(sc, R: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every parameter drawn as ``rng.spawn`` and ``Parameter.sample`` give them."""
    streams = rng.spawn(max(1, len(sc.parameters)))
    return {p.id: p.sample(g, R) for p, g in zip(sc.parameters, streams, strict=False)}


@pytest.fixture(autouse=True)
def fresh() -> None:
    state._draws.clear()
    yield
    state._draws.clear()


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_the_draws_are_the_plain_draws_first_and_second_time(path) -> None:
    sc = load_scenario(path)
    for seed in (1, 2, 1):  # seed 1 again: the kept draws
        expected = plain(sc, 300, np.random.default_rng(seed))
        got = WorldState.initial(sc, 300, np.random.default_rng(seed)).params
        assert got.keys() == expected.keys()
        for k, v in expected.items():
            assert got[k].dtype == v.dtype and got[k].tobytes() == v.tobytes(), (path.stem, k)


def test_the_streams_are_those_spawn_makes_and_spawn_as_much() -> None:
    a = np.random.default_rng(np.random.SeedSequence([7, 8], spawn_key=(3,)))
    b = np.random.default_rng(np.random.SeedSequence([7, 8], spawn_key=(3,)))
    for _ in range(2):  # the second time, from children spawned after the first
        mine = state._streams(a, 4)
        theirs = b.spawn(4)
        for seq, g in zip(mine, theirs, strict=True):
            made = np.random.Generator(np.random.PCG64(seq))
            assert made.bit_generator.state == g.bit_generator.state


def test_kept_draws_are_handed_out_as_copies() -> None:
    sc = load_scenario(SCENARIOS[0])
    for _ in range(2):  # drawn, then kept: each handed out, then written over
        for v in WorldState.initial(sc, 50, np.random.default_rng(4)).params.values():
            v[:] = 0
    again = WorldState.initial(sc, 50, np.random.default_rng(4)).params
    expected = plain(sc, 50, np.random.default_rng(4))
    for k, v in expected.items():
        np.testing.assert_array_equal(again[k], v)


def test_another_bit_generator_is_drawn_from_as_given() -> None:
    sc = load_scenario(SCENARIOS[0])
    rng = np.random.Generator(np.random.Philox(5))
    got = WorldState.initial(sc, 40, rng).params
    expected = plain(sc, 40, np.random.Generator(np.random.Philox(5)))
    for k, v in expected.items():
        np.testing.assert_array_equal(got[k], v)
    assert not state._draws


def test_draws_of_many_worlds_are_not_kept() -> None:
    """A batch's large chunks never come again: their draws hold no memory."""
    sc = load_scenario(ROOT / "scenarios" / "allied_resolve_2022.yaml")
    big = state.MAX_KEPT_WORLDS + 1
    got = WorldState.initial(sc, big, np.random.default_rng(3)).params
    assert not state._draws
    for k, v in plain(sc, big, np.random.default_rng(3)).items():
        np.testing.assert_array_equal(got[k], v)
    WorldState.initial(sc, state.MAX_KEPT_WORLDS, np.random.default_rng(3))
    assert state._draws  # up to the limit they are
