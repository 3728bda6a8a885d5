"""Scoring forecasts against what happened: Brier and log scores, skill, reliability.

A scenario's batch, conditioned batch or forecast says how likely each
outcome and flag is; once the questions resolve, a resolutions file
(:mod:`~sim.scoring.resolutions`) says what happened, with its sources.
:func:`score` compares the two: per question, per as-of date and overall,
against an uninformed 0.5 forecast and, if given, a reference forecast;
:func:`reliability` bins the forecasts for the reliability diagram
(:mod:`sim.plots.scoring`). :func:`write_score` writes the result as a
folder of kind ``score``. See docs/calibration.md.

Modules, bottom to top: :mod:`~sim.scoring.rules` (the scores themselves),
:mod:`~sim.scoring.reliability`, :mod:`~sim.scoring.resolutions` and
:mod:`~sim.scoring.forecasts` (the two inputs, read and checked),
:mod:`~sim.scoring.score` (scoring one against the other) and
:mod:`~sim.scoring.folder` (the folder written).
"""

from __future__ import annotations

from sim.scoring.folder import KIND, write_score
from sim.scoring.forecasts import COLUMNS, Forecast, load_forecast
from sim.scoring.reliability import BINS, reliability
from sim.scoring.resolutions import Resolution, Resolutions, Source, load_resolutions
from sim.scoring.rules import (
    CLIP,
    LOG_BASE,
    UNINFORMED,
    UNINFORMED_BRIER,
    UNINFORMED_LOG,
    brier,
    clip,
    log_score,
    skill,
)
from sim.scoring.score import SCORE_COLUMNS, Question, Scoring, questions, score, summarise

__all__ = [
    "BINS",
    "CLIP",
    "COLUMNS",
    "KIND",
    "LOG_BASE",
    "SCORE_COLUMNS",
    "UNINFORMED",
    "UNINFORMED_BRIER",
    "UNINFORMED_LOG",
    "Forecast",
    "Question",
    "Resolution",
    "Resolutions",
    "Scoring",
    "Source",
    "brier",
    "clip",
    "load_forecast",
    "load_resolutions",
    "log_score",
    "questions",
    "reliability",
    "score",
    "skill",
    "summarise",
    "write_score",
]
