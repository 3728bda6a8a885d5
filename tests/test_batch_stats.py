"""Interval estimates against known values, and the tables built from counts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sim.results.aggregate import median_from_counts, percentile_from_counts, proportion
from sim.stats import newcombe_diff, wilson


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
