"""The reliability diagram's data: how often what was forecast at p actually happened.

A forecaster is *reliable* (calibrated) when, of all the questions given
about 30%, about 30% resolve yes. Forecasts are put in equal-width bins of
probability; for each bin the diagram shows the mean forecast against the
observed frequency, so a reliable forecaster's points lie on the diagonal.
With few questions per bin the observed frequency is rough: each bin carries
its count and a Wilson 95% interval, so a point far off the diagonal on two
questions is not read as a failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from sim.stats import wilson

if TYPE_CHECKING:
    import pandas as pd

BINS = 10
"""Bins of forecast probability: [0, 0.1), [0.1, 0.2), ..., [0.9, 1]."""


def reliability(probabilities: ArrayLike, happened: ArrayLike, bins: int = BINS) -> pd.DataFrame:
    """One row per bin of forecast probability: what was forecast there and what happened.

    Args:
        probabilities: the forecasts, each in [0, 1].
        happened: for each, 1 (or true) if the event happened, else 0.
        bins: the number of equal-width bins; the last includes 1.

    Returns:
        Columns ``bin`` (0-based), ``low``, ``high`` (the bin's edges),
        ``count``, ``mean_forecast``, ``observed`` (the share that happened),
        ``observed_low``, ``observed_high`` (its Wilson 95% interval); the
        last four are NaN in an empty bin.
    """
    import pandas as pd  # start-up time: pandas only when a table is made

    p = np.asarray(probabilities, dtype=float)
    y = np.asarray(happened, dtype=float)
    if p.shape != y.shape:
        raise ValueError(f"{p.size} probabilities but {y.size} outcomes")
    if bins < 1:
        raise ValueError(f"bins must be at least 1 (got {bins})")
    which = np.minimum((p * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        inside = which == b
        n, k = int(inside.sum()), int(y[inside].sum())
        lo, hi = wilson(k, n)
        rows.append(
            {
                "bin": b,
                "low": b / bins,
                "high": (b + 1) / bins,
                "count": n,
                "mean_forecast": float(p[inside].mean()) if n else np.nan,
                "observed": k / n if n else np.nan,
                "observed_low": lo,
                "observed_high": hi,
            }
        )
    return pd.DataFrame(rows)
