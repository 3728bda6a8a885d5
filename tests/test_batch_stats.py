"""Interval estimates against known values, and the tables built from counts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sim.results.aggregate import median_from_counts, percentile_from_counts, proportion
from sim.stats import Z95, _squares, newcombe_arrays, newcombe_diff, wilson, wilson_arrays


def test_wilson_known_values():
    lo, hi = wilson(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4)
    assert hi == pytest.approx(0.7634, abs=1e-4)
    assert wilson(0, 10) == (0.0, pytest.approx(0.2775, abs=1e-4))
    assert wilson(10, 10) == (pytest.approx(0.7225, abs=1e-4), 1.0)


def test_wilson_without_worlds_is_undefined():
    assert all(np.isnan(wilson(0, 0)))


def test_newcombe_1998_example():
    """Newcombe (1998), example (a): 56/70 vs 48/80, difference 0.2, CI 0.0524 to 0.3339.

    ``newcombe_diff(k1, n1, k2, n2)`` returns ``p2 - p1``, so the example's
    first group goes second.
    """
    d, lo, hi = newcombe_diff(48, 80, 56, 70)
    assert d == pytest.approx(0.2)
    assert lo == pytest.approx(0.0524, abs=1e-4)
    assert hi == pytest.approx(0.3339, abs=1e-4)
    d, lo, hi = newcombe_diff(56, 70, 48, 80)
    assert (d, lo, hi) == (pytest.approx(-0.2), pytest.approx(-0.3339, abs=1e-4),
                           pytest.approx(-0.0524, abs=1e-4))  # fmt: skip


def test_proportion_record():
    rec = proportion(5, 10)
    assert rec["count"] == 5 and rec["p"] == 0.5
    assert rec["lo"] == pytest.approx(0.2366, abs=1e-4)
    assert proportion(0, 0) == {"count": 0, "p": None, "lo": None, "hi": None}


counts_strategy = st.lists(st.integers(0, 30), min_size=1, max_size=8).filter(lambda c: sum(c))


@given(counts_strategy, st.sampled_from([0, 5, 25, 50, 75, 95, 100]))
@example([9, 0, 0, 1], 95)  # "lower" gives 0 here: the tenth world is left out of the band
@example([1, 1], 50)
def test_percentile_from_counts_matches_numpy_inverted_cdf(counts, q):
    values = np.repeat(np.arange(len(counts)), counts)
    expected = np.percentile(values, q, method="inverted_cdf")
    assert percentile_from_counts(np.array(counts), q) == expected
    # At least q% of the values lie at or below it (the definition in sim.stats).
    assert np.mean(values <= expected) >= q / 100


@given(counts_strategy)
def test_median_from_counts_matches_numpy(counts):
    values = np.repeat(np.arange(len(counts)), counts)
    assert median_from_counts(np.array(counts)) == np.median(values)


def test_empty_counts():
    assert median_from_counts(np.zeros(4, dtype=int)) is None
    assert percentile_from_counts(np.zeros(4, dtype=int), 50) == -1


def _same(a: float, b: float) -> bool:
    """Equal to the bit (NaN equal to NaN)."""
    return np.float64(a).tobytes() == np.float64(b).tobytes()


def _counts(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts ``k`` of ``n`` worlds with many edge cases: n = 0, k = 0, k = n, n = 1, large n."""
    n = rng.choice([0, 1, 2, 3, 7, 10, 100, 999, 10_000, 1_000_000, 123_456_789], size)
    n = np.where(rng.random(size) < 0.5, rng.integers(0, 50_000, size), n)
    k = (rng.random(size) * (n + 1)).astype(np.int64).clip(0, n)
    edge = rng.random(size)
    k = np.where(edge < 0.15, 0, np.where(edge < 0.3, n, k))
    return k, n


def test_wilson_arrays_are_the_scalar_intervals_to_the_bit():
    rng = np.random.default_rng(7)
    k, n = _counts(rng, 20_000)
    lo, hi = wilson_arrays(k, n)
    for i in range(len(k)):
        want = wilson(int(k[i]), int(n[i]))
        assert _same(lo[i], want[0]) and _same(hi[i], want[1]), (k[i], n[i])
    assert np.isnan(lo[n == 0]).all() and (lo[(k == 0) & (n > 0)] == 0).all()
    assert (hi[(k == n) & (n > 0)] == 1).all()
    # Effective sample sizes (not whole numbers) and other z, as sim.evidence uses them.
    ne = rng.random(5_000) * 300
    ke = rng.random(5_000) * ne
    for z in (Z95, 1.0, 2.5758293035489):
        lo, hi = wilson_arrays(ke, ne, z)
        for i in range(len(ke)):
            want = wilson(float(ke[i]), float(ne[i]), z)
            assert _same(lo[i], want[0]) and _same(hi[i], want[1])


def test_wilson_arrays_refuse_counts_outside_the_worlds():
    with pytest.raises(ValueError, match="must lie in"):
        wilson_arrays([1, 11], [10, 10])
    with pytest.raises(ValueError, match="must lie in"):
        wilson_arrays([-1], [10])
    assert np.isnan(wilson_arrays([5], [0])[0]).all()  # no worlds: no estimate, no error


def test_newcombe_arrays_are_the_scalar_differences_to_the_bit():
    rng = np.random.default_rng(11)
    k1, n1 = _counts(rng, 20_000)
    k2, n2 = _counts(rng, 20_000)
    d, lo, hi = newcombe_arrays(k1, n1, k2, n2)
    checked = 0
    for i in range(len(k1)):
        if n1[i] == 0 or n2[i] == 0:
            assert np.isnan([d[i], lo[i], hi[i]]).all()
            continue
        want = newcombe_diff(int(k1[i]), int(n1[i]), int(k2[i]), int(n2[i]))
        got = (d[i], lo[i], hi[i])
        assert all(_same(g, w) for g, w in zip(got, want, strict=True)), (
            k1[i],
            n1[i],
            k2[i],
            n2[i],
        )
        checked += 1
    assert checked > 10_000
    # Newcombe (1998), example (a), through the arrays.
    d, lo, hi = newcombe_arrays([48], [80], [56], [70])
    assert (d[0], lo[0], hi[0]) == newcombe_diff(48, 80, 56, 70)


def test_squares_are_those_of_the_scalar_difference():
    """The scalar interval squares by ``v ** 2`` (the C library's pow), which is not
    always ``v * v``: the arrays must square the same way to give the same bits."""
    x = np.random.default_rng(3).random(100_000) * 2 - 1
    want = np.array([v**2 for v in x.tolist()])
    assert _squares(x).tobytes() == want.tobytes()
