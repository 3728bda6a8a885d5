"""What the evidence says about each drawn parameter: its prior against its posterior.

Every world drew its parameters from the scenario's distributions, so the
batch's worlds are a sample of the prior; weighted by the likelihood of the
observations (:mod:`sim.evidence.observations`) they are a sample of the
posterior. For each parameter that varies across the worlds,
:func:`posterior_table` gives both side by side (``posterior.csv``), in rows
of one of four kinds (``statistic``):

* ``mean``, ``sd``: prior and posterior mean and standard deviation;
* ``q05``, ``q50``, ``q95``: quantiles (the inverted CDF, weighted);
* ``bin``: for a number, the share of prior and of posterior weight in each
  of :data:`BINS` equal bins between the smallest and largest value drawn
  (``low``, ``high``);
* ``share``: for a word choice, the prior and posterior share of each option
  (``value``, the only rows with one).

The prior here is the sample the batch drew (not the formula), so prior and
posterior are compared on the same worlds.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

BINS = 20
"""Bins of a numeric parameter's histogram."""

QUANTILES = (0.05, 0.5, 0.95)

POSTERIOR_COLUMNS = ("parameter", "statistic", "value", "low", "high", "prior", "posterior")
"""The columns of ``posterior.csv``."""


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """The smallest value with at least ``q`` of the weight at or below it (NaN if no weight)."""
    total = float(w.sum())
    if total <= 0 or len(x) == 0:
        return math.nan
    order = np.argsort(x, kind="stable")
    cumulative = np.cumsum(w[order])
    i = int(np.searchsorted(cumulative, q * total, side="left"))
    return float(x[order][min(i, len(x) - 1)])


def _moments(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    total = float(w.sum())
    if total <= 0:
        return (math.nan, math.nan)
    mean = float((w * x).sum() / total)
    var = float((w * (x - mean) ** 2).sum() / total)
    return (mean, math.sqrt(max(var, 0.0)))


def _numeric(pid: str, x: np.ndarray, w: np.ndarray) -> list[dict[str, Any]]:
    ones = np.ones_like(w)
    rows: list[dict[str, Any]] = []
    (pm, ps), (qm, qs) = _moments(x, ones), _moments(x, w)
    rows.append(_row(pid, "mean", prior=pm, posterior=qm))
    rows.append(_row(pid, "sd", prior=ps, posterior=qs))
    for q in QUANTILES:
        rows.append(
            _row(
                pid,
                f"q{round(100 * q):02d}",
                prior=weighted_quantile(x, ones, q),
                posterior=weighted_quantile(x, w, q),
            )
        )
    edges = np.linspace(float(x.min()), float(x.max()), BINS + 1)
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, BINS - 1)
    prior = np.bincount(which, minlength=BINS) / len(x)
    total = float(w.sum())
    post = np.bincount(which, weights=w, minlength=BINS) / total if total > 0 else prior * math.nan
    for b in range(BINS):
        lo, hi = float(edges[b]), float(edges[b + 1])
        rows.append(
            _row(
                pid,
                "bin",
                low=lo,
                high=hi,
                prior=float(prior[b]),
                posterior=float(post[b]),
            )
        )
    return rows


def _options(pid: str, words: np.ndarray, w: np.ndarray) -> list[dict[str, Any]]:
    total = float(w.sum())
    rows = []
    for option in sorted(set(words.tolist())):
        hit = words == option
        rows.append(
            _row(
                pid,
                "share",
                value=str(option),
                prior=float(hit.mean()),
                posterior=float(w[hit].sum() / total) if total > 0 else math.nan,
            )
        )
    return rows


def _row(pid: str, statistic: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"parameter": pid, "statistic": statistic}
    row |= {"value": None, "low": math.nan, "high": math.nan}
    return row | values


def posterior_table(runs: pd.DataFrame, weights: np.ndarray) -> pd.DataFrame:
    """``posterior.csv``: prior and posterior of every parameter that varies (see the module).

    Args:
        runs: ``runs.csv``: one row per world, ``param_<id>`` columns.
        weights: per world, its weight given the observations.
    """
    import pandas as pd  # start-up time: conditioning itself needs numpy only

    w = np.asarray(weights, dtype=np.float64)
    rows: list[dict[str, Any]] = []
    for column in runs.columns:
        if not column.startswith("param_"):
            continue
        pid = column.removeprefix("param_")
        values = runs[column]
        if values.nunique(dropna=False) < 2:
            continue  # fixed or pinned: nothing to learn
        if values.dtype.kind in "iuf":
            rows += _numeric(pid, values.to_numpy(dtype=np.float64), w)
        else:
            rows += _options(pid, values.astype(str).to_numpy(), w)
    table = pd.DataFrame(rows, columns=list(POSTERIOR_COLUMNS))
    table["value"] = table["value"].astype(object)
    return table
