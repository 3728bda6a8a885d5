"""Interval estimates for outcome shares.

Wilson's score interval for one proportion behaves well near 0 and 1, where
rare escalation outcomes live (the normal "Wald" interval collapses there).
Newcombe's hybrid score interval (method 10) gives the difference of two
independent proportions, used by ``wargame compare``.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054
"""Two-sided 95% standard normal quantile."""


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes out of ``n`` trials.

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
