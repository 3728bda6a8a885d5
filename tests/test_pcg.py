"""The compiled PCG64 helpers give numpy's own uniforms, at their places in a stream."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sim.engine import kernels, pcg

numba = pytest.importorskip("numba")


@pytest.fixture(scope="module")
def helpers() -> Any:
    mod = kernels.helpers()
    assert mod is not None
    return mod


@pytest.fixture(scope="module")
def readers(helpers: Any) -> dict[str, Any]:
    """Compiled loops reading every place of a block of rows: ``"jump"`` with ``_uniform``
    at each place, ``"step"`` stepping through each row from its start (``_step``,
    ``_double``), as the softmax's row is read."""
    uniform, step, double = helpers._uniform, helpers._step, helpers._double

    @numba.njit
    def jump(ub: np.ndarray, tab: np.ndarray, st: np.ndarray, out: np.ndarray) -> None:
        rows, R = out.shape
        for k in range(rows):
            for i in range(R):
                out[k, i] = uniform(ub, k, tab, i, st)

    @numba.njit
    def stepped(ub: np.ndarray, tab: np.ndarray, st: np.ndarray, out: np.ndarray) -> None:
        rows, R = out.shape
        for k in range(rows):
            h, lo = ub[k, 0], ub[k, 1]
            for i in range(R):
                h, lo = step(h, lo, st)
                out[k, i] = double(h, lo)

    return {"jump": jump, "step": stepped}


@pytest.mark.parametrize("how", ["jump", "step"])
@pytest.mark.parametrize("R", [1, 2, 7, 3000])
@pytest.mark.parametrize("seed", [0, 20221010, 2**63 + 5])
def test_every_place_of_a_block_is_numpys_number(
    helpers: Any, readers: dict[str, Any], how: str, R: int, seed: int
) -> None:
    """Each place read, jumped to or stepped to, gives numpy's number there."""
    rng = np.random.default_rng(seed).spawn(3)[2]  # a spawned stream, as the engine's
    st = pcg.words(rng)
    rows = 5
    ub = helpers._pcg_rows(st, pcg.table(helpers, R), R, rows)
    got = np.empty((rows, R))
    readers[how](ub, pcg.table(helpers, R), st, got)
    np.testing.assert_array_equal(got, rng.random((rows, R)))


def test_the_table_is_the_generators_jumps(helpers: Any) -> None:
    """Row ``k``'s start is where ``advance(k * R)`` leaves the stream."""
    R, rows = 50, 4
    rng = np.random.default_rng(7)
    st = pcg.words(rng)
    ub = helpers._pcg_rows(st, pcg.table(helpers, R), R, rows)
    for k in range(rows):
        ahead = np.random.default_rng(7)
        ahead.bit_generator.advance(k * R)
        np.testing.assert_array_equal(ub[k], pcg.words(ahead)[:2])


def test_words_are_the_state_and_the_increment() -> None:
    rng = np.random.default_rng(11)
    s = rng.bit_generator.state["state"]
    hi, lo, ih, il = (int(w) for w in pcg.words(rng))
    assert (hi << 64) | lo == s["state"]
    assert (ih << 64) | il == s["inc"]


def test_words_follow_the_stream_as_it_moves() -> None:
    """The words read from the generator's memory are the state's after every draw and
    jump, each call a new array (a kernel may keep it while the stream moves on)."""
    rng = np.random.default_rng(12)
    for n in (0, 1, 7, 1000):
        rng.random(n)
        rng.bit_generator.advance(3 * n)
        st = pcg.words(rng)
        np.testing.assert_array_equal(st, pcg._slow(rng.bit_generator))
        assert pcg.words(rng) is not st
    assert pcg._views[id(rng.bit_generator)][1] is not None  # read from memory here


def test_words_fall_back_to_the_state_where_memory_differs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the memory does not hold what the ``state`` property says (another layout),
    the property is read."""
    rng = np.random.default_rng(13)
    monkeypatch.setattr(pcg, "_ORDER", np.array([0, 1, 2, 3]))  # as if laid out otherwise
    monkeypatch.setattr(pcg, "_views", {})
    got = pcg.words(rng)
    assert pcg._views[id(rng.bit_generator)][1] is None
    monkeypatch.undo()
    np.testing.assert_array_equal(got, pcg._slow(rng.bit_generator))


def test_only_pcg64_streams_are_usable() -> None:
    assert pcg.usable(np.random.default_rng(1))
    assert not pcg.usable(np.random.Generator(np.random.Philox(1)))


def test_tables_are_kept_per_size_and_read_only(helpers: Any) -> None:
    a = pcg.table(helpers, 123)
    assert pcg.table(helpers, 123) is a
    assert not a.flags.writeable
    assert a.shape == (123, 4)
