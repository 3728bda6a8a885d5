"""The scoring rules: Brier and log scores of yes/no forecasts, and skill against a reference.

Both are *proper*: a forecaster expects the best score by stating the
probability they believe, so neither rewards hedging towards 0.5 nor
overstating confidence.

* **Brier score** ``(p - y)^2``, where ``y`` is 1 if the event happened and 0
  if not: 0 is perfect, 1 is certainty in the wrong answer, and the
  uninformed forecast 0.5 scores 0.25 whatever happens. Lower is better. It
  is computed on the probability as given (it is bounded, so 0 and 1 need no
  care).
* **Log score** ``log2(p)`` if the event happened, ``log2(1 - p)`` if not:
  the probability given to what happened, in bits. 0 is perfect, the
  uninformed 0.5 scores -1 bit, and each further bit lost halves the
  probability given to what happened. Higher is better. The probability is
  first clipped to ``[CLIP, 1 - CLIP]``: a batch share of 0 (no world of
  thousands raised a flag) would otherwise score minus infinity on the one
  question that happened and outweigh every other question together, and
  a share of 0 out of ``n`` worlds only says "below about 1/n" anyway.
* **Skill** ``1 - score / reference`` for either score: 0 is no better than
  the reference, 1 is perfect, negative is worse than the reference. For the
  log score the reference is negative, so the same formula rewards a score
  nearer 0.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

CLIP = 0.001
"""Probabilities are clipped to ``[CLIP, 1 - CLIP]`` for the log score (not for Brier)."""

LOG_BASE = 2
"""The log score is in bits (base-2 logarithm): the 0.5 forecast scores exactly -1."""

UNINFORMED = 0.5
"""The forecast of someone who knows nothing about a yes/no question."""


def _outcomes(happened: ArrayLike) -> np.ndarray:
    """``happened`` as an array of 0/1 floats; refuses anything but 0, 1, True, False."""
    y = np.asarray(happened, dtype=float)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"happened must be 0/1 or true/false (got {happened!r})")
    return y


def _probabilities(p: ArrayLike) -> np.ndarray:
    q = np.asarray(p, dtype=float)
    if not (np.isfinite(q).all() and ((q >= 0) & (q <= 1)).all()):
        raise ValueError(f"probabilities must lie in [0, 1] (got {p!r})")
    return q


def brier(p: ArrayLike, happened: ArrayLike) -> np.ndarray:
    """Brier score of each forecast ``p`` of an event that happened (1) or not (0)."""
    return (_probabilities(p) - _outcomes(happened)) ** 2


def clip(p: ArrayLike) -> np.ndarray:
    """``p`` clipped to ``[CLIP, 1 - CLIP]``, as the log score takes it."""
    return np.clip(_probabilities(p), CLIP, 1 - CLIP)


def log_score(p: ArrayLike, happened: ArrayLike) -> np.ndarray:
    """Log score, in bits, of each forecast ``p`` (clipped) of an event that happened or not."""
    q, y = clip(p), _outcomes(happened)
    return np.log2(np.where(y == 1, q, 1 - q))


def skill(score: float, reference: float) -> float:
    """``1 - score / reference``: the share of the reference's shortfall from perfect removed.

    NaN when the reference is perfect (0), where no skill can be measured.
    """
    if reference == 0 or math.isnan(reference) or math.isnan(score):
        return math.nan
    return 1.0 - score / reference


UNINFORMED_BRIER = float(brier(UNINFORMED, 1))
"""0.25: the Brier score of 0.5, whatever happened."""

UNINFORMED_LOG = float(log_score(UNINFORMED, 1))
"""-1 bit: the log score of 0.5, whatever happened."""
