"""The statistics every part of the package reports, defined once.

* :func:`share`: how many of ``n`` worlds ended a given way, with Wilson's
  score interval. Wilson's interval behaves well near 0 and 1, where rare
  escalation outcomes live (the normal "Wald" interval collapses there).
  ``summary.json``, ``points.csv``, pooled sweep charts and the viewer's
  ensemble all take their shares from here.
* :func:`newcombe_diff`: the difference of two independent shares with
  Newcombe's hybrid score interval (method 10), used by ``wargame compare``.
* :func:`wilson_arrays` and :func:`newcombe_arrays`: the same two intervals
  for arrays of counts at once (``drivers.csv`` has hundreds of them), the
  same floats to the bit as the scalar functions: the same operations in the
  same order, element by element.
* :func:`paired_diff`: the difference of two shares of the *same* worlds
  (paired: common random numbers) with Newcombe's score interval for paired
  proportions (his 1998 method 10), used by ``wargame knockouts``.
* :func:`quantile_from_counts`: the rung (or any small whole-number value)
  below which a given share of the worlds lie, for ``daily.csv``'s
  percentile columns, the viewer's fan chart and the model's reporters.

Why the quantile is the inverted CDF (numpy's ``method="inverted_cdf"``,
Hyndman and Fan's definition 1): the ``q`` quantile is the smallest value
``v`` with at least ``q`` of the worlds at or below ``v``. Two properties
follow that a fan chart of rungs needs. The value is always a rung that
some world is on (never a value between two rungs, which means nothing).
And the band it draws holds what it says: at least 95% of worlds are at or
below the p95 line, at least 95% at or above the p05 line, so the "middle
90%" band holds at least 90% of them. numpy's ``"lower"`` method, used
before for ``daily.csv``, also stays on a rung, but it takes the order
statistic at ``floor((n - 1) q)`` and so can fall below worlds it should
cover: of 10 worlds with nine on rung 0 and one on rung 3, only 90% are at
or below 0, yet "lower" gives p95 = 0 and hides the tenth world from the
band; the inverted CDF gives 3. The two agree whenever ``n q`` is a whole
number (e.g. any number of worlds divisible by 20 for the 5% steps);
otherwise "lower" may take the world one place below in rung order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054
"""Two-sided 95% standard normal quantile."""


def wilson(k: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes out of ``n`` trials.

    ``n`` may be an effective sample size (not a whole number) and ``k`` the
    weighted count ``p * n``, as for a weighted share (:mod:`sim.evidence`).

    Returns ``(nan, nan)`` for ``n == 0``: no worlds, no estimate.
    """
    if n <= 0:
        return (math.nan, math.nan)
    if not 0 <= k <= n:
        raise ValueError(f"k={k} must lie in [0, n={n}]")
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    lo, hi = max(0.0, centre - half), min(1.0, centre + half)
    if k == 0:
        lo = 0.0
    if k == n:
        hi = 1.0
    return (lo, hi)


def newcombe_diff(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """Difference ``p2 - p1`` with Newcombe's 95% interval (hybrid score).

    Returns ``(diff, lo, hi)``.
    """
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    d = p2 - p1
    lo = d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    hi = d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return (d, max(-1.0, lo), min(1.0, hi))


def wilson_arrays(
    k: np.ndarray | Sequence[float], n: np.ndarray | Sequence[float], z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`wilson` of each ``(k[i], n[i])``: arrays ``(lo, hi)``, NaN where ``n <= 0``.

    The same floats as :func:`wilson`, bit for bit: the same operations in the
    same order (``4 * n * n`` is exact or correctly rounded either way, and a
    square root is correctly rounded in both ``math`` and numpy).

    Raises:
        ValueError: some ``k`` lies outside ``[0, n]`` (where ``n > 0``).
    """
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    some = n > 0
    bad = some & ~((k >= 0) & (k <= n))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"k={k.flat[i]:g} must lie in [0, n={n.flat[i]:g}]")
    n1 = np.where(some, n, 1.0)  # no division by zero (nor root of < 0) where no estimate
    p = np.where(some, k, 0.0) / n1
    z2 = z * z
    denom = 1 + z2 / n1
    centre = (p + z2 / (2 * n1)) / denom
    half = z * np.sqrt(p * (1 - p) / n1 + z2 / (4 * n1 * n1)) / denom
    lo = np.maximum(0.0, centre - half)
    hi = np.minimum(1.0, centre + half)
    lo[k == 0] = 0.0
    hi[k == n] = 1.0
    lo[~some] = math.nan
    hi[~some] = math.nan
    return lo, hi


def newcombe_arrays(
    k1: np.ndarray | Sequence[float],
    n1: np.ndarray | Sequence[float],
    k2: np.ndarray | Sequence[float],
    n2: np.ndarray | Sequence[float],
    z: float = Z95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`newcombe_diff` of each ``(k1[i], n1[i], k2[i], n2[i])``: arrays ``(diff, lo, hi)``.

    The same floats as :func:`newcombe_diff`, bit for bit. Where ``n1`` or
    ``n2`` is 0 (which :func:`newcombe_diff` refuses) all three are NaN.
    """
    k1, n1, k2, n2 = (np.asarray(a, dtype=np.float64) for a in (k1, n1, k2, n2))
    some = (n1 > 0) & (n2 > 0)
    p1 = k1 / np.where(n1 > 0, n1, 1.0)
    p2 = k2 / np.where(n2 > 0, n2, 1.0)
    l1, u1 = wilson_arrays(k1, n1, z)
    l2, u2 = wilson_arrays(k2, n2, z)
    d = p2 - p1
    lo = np.maximum(-1.0, d - np.sqrt(_squares(p2 - l2) + _squares(u1 - p1)))
    hi = np.minimum(1.0, d + np.sqrt(_squares(u2 - p2) + _squares(p1 - l1)))
    for a in (d, lo, hi):
        a[~some] = math.nan
    return d, lo, hi


def _squares(x: np.ndarray) -> np.ndarray:
    """``v ** 2`` of each element as :func:`newcombe_diff` squares a float: by the C
    library's ``pow``, which is not always ``v * v`` (numpy's ``x ** 2``) to the bit."""
    return np.array([v**2 for v in x.tolist()], dtype=np.float64).reshape(x.shape)


def paired_diff(
    both: int, only_b: int, only_a: int, neither: int, z: float = Z95
) -> tuple[float, float, float]:
    """Difference ``p_B - p_A`` of two shares of the same ``n`` worlds, with a 95% interval.

    The worlds are pairs (each world run under A and under B): ``both`` are
    in the outcome under A and B, ``only_b`` under B alone, ``only_a`` under
    A alone, ``neither`` under neither. The difference is
    ``(only_b - only_a) / n``: only the discordant pairs move it. The
    interval is Newcombe's hybrid score interval for paired proportions
    (Newcombe 1998, Statistics in Medicine 17:2635, method 10): the Wilson
    intervals of both shares, combined with the correlation ``phi`` of the
    pairs, so that worlds which agree narrow it. Where ``phi`` is undefined
    (a margin of zero) it is taken as 0, the independent case.

    Returns ``(diff, lo, hi)``; ``(nan, nan, nan)`` when there are no worlds.
    """
    cells = (both, only_b, only_a, neither)
    if any(int(c) != c or c < 0 for c in cells):
        raise ValueError(f"paired counts must be non-negative whole numbers (got {cells})")
    a, b, c, d = (int(x) for x in cells)
    n = a + b + c + d
    if n == 0:
        return (math.nan, math.nan, math.nan)
    pb, pa = (a + b) / n, (a + c) / n
    lb, ub = wilson(a + b, n, z)
    la, ua = wilson(a + c, n, z)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(margins) if margins > 0 else 0.0
    diff = pb - pa
    lo = diff - math.sqrt(
        max(0.0, (pb - lb) ** 2 - 2 * phi * (pb - lb) * (ua - pa) + (ua - pa) ** 2)
    )
    hi = diff + math.sqrt(
        max(0.0, (ub - pb) ** 2 - 2 * phi * (ub - pb) * (pa - la) + (pa - la) ** 2)
    )
    return (diff, max(-1.0, lo), min(1.0, hi))


@dataclass(frozen=True)
class Share:
    """``count`` of ``n`` worlds: the share ``p`` with its Wilson 95% interval ``[lo, hi]``.

    With no worlds (``n == 0``) there is no estimate: ``p``, ``lo`` and
    ``hi`` are NaN.
    """

    count: int
    n: int
    p: float
    lo: float
    hi: float


def share(k: int, n: int, z: float = Z95) -> Share:
    """The share of ``n`` worlds that ``k`` of them make, with Wilson's interval."""
    k, n = int(k), int(n)
    lo, hi = wilson(k, n, z)
    return Share(k, n, k / n if n > 0 else math.nan, lo, hi)


def quantile_from_counts(counts: np.ndarray, q: float) -> int:
    """The ``q`` quantile (0 to 1) of whole-number values 0, 1, ... given as counts per value.

    The inverted CDF (see the module's docstring for why): the smallest
    value ``v`` whose cumulative count reaches ``q`` of all values (and at
    least one value), the same as ``np.quantile(values, q,
    method="inverted_cdf")`` on the expanded values. Counting instead of
    sorting costs one pass over ``counts``, which matters when it runs every
    day of every chunk.

    Returns -1 when there are no values (no worlds: no rung).
    """
    cumulative = np.cumsum(counts)
    n = int(cumulative[-1]) if len(cumulative) else 0
    if n == 0:
        return -1
    return int(np.searchsorted(cumulative, max(q * n, 1), side="left"))


def quantile_of_values(values: np.ndarray, q: float) -> int:
    """:func:`quantile_from_counts` of small non-negative whole numbers given one by one."""
    return quantile_from_counts(np.bincount(np.asarray(values, dtype=np.int64)), q)
