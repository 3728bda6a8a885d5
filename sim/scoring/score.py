"""Scoring a forecast against resolutions: per question, per as-of date and overall.

Each resolved flag is one yes/no question. The outcome entry is one yes/no
question per outcome of the forecast ("does the scenario end in this
outcome?"): yes for the outcome that happened, no for every other.

A forecast is scored only where it was made **before** its question
resolved (``as_of < resolved``): a forecast as of the day of the offensive
or later, conditioned on what was seen by then, is hindsight, not a
forecast. Those rows are left out and counted.

Each scored row gets its Brier and log score (:mod:`sim.scoring.rules`).
The summaries, recomputed from those rows alone (:func:`summarise`),
average them per question, per as-of date and overall, and compare them
with the uninformed forecast 0.5 and, if given, a reference forecast. The
reference's forecast of a question on a date is its latest one made on or
before that date: what the reference had published by then (a plain batch,
made as of the scenario's start, is the same prior on every date).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.errors import Diagnostic, ResultsError, ValidationError
from sim.scoring.forecasts import Forecast
from sim.scoring.resolutions import Resolution, Resolutions
from sim.scoring.rules import (
    CLIP,
    LOG_BASE,
    UNINFORMED,
    UNINFORMED_BRIER,
    UNINFORMED_LOG,
    brier,
    log_score,
    skill,
)
from sim.spec import did_you_mean

if TYPE_CHECKING:
    import pandas as pd

SCORE_COLUMNS = (
    "as_of",
    "kind",
    "name",
    "probability",
    "happened",
    "resolved",
    "brier",
    "log_score",
    "reference_as_of",
    "reference_probability",
    "reference_brier",
    "reference_log_score",
)
"""The columns of ``scores.csv``: one row per scored as-of date and question."""


@dataclass(frozen=True)
class Question:
    """One yes/no question the resolutions settle."""

    kind: str
    name: str
    happened: bool
    resolved: _dt.date
    resolution: Resolution


@dataclass(frozen=True)
class Scoring:
    """The scored rows, their summaries, and what was scored against what."""

    scores: pd.DataFrame
    """:data:`SCORE_COLUMNS`, one row per scored as-of date and question."""
    summary: dict[str, Any]
    """:func:`summarise` of :attr:`scores`, with the left-out rows and the settings."""
    forecast: Forecast
    resolutions: Resolutions
    reference: Forecast | None = None


def questions(
    resolutions: Resolutions, forecast: Forecast, same_scenario: bool = True
) -> list[Question]:
    """The yes/no questions of ``resolutions``, each checked to be in ``forecast``.

    Args:
        resolutions: what happened.
        forecast: the forecast to score.
        same_scenario: refuse a forecast of another scenario than the
            resolutions' (a reference may be of any scenario that asks the
            same questions: a counterfactual variant, another model).

    Raises:
        ValidationError: the resolutions are of another scenario, or name a
            flag or outcome the forecast lacks (at the entry's position).
    """
    diags = _same_scenario(resolutions, forecast) if same_scenario else []
    names = {
        k: list(dict.fromkeys(forecast.rows.loc[forecast.rows["kind"] == k, "name"]))
        for k in ("flag", "outcome")
    }
    found: list[Question] = []
    for r in resolutions.entries:
        known = names[r.kind]
        if r.id not in known:
            listed = ", ".join(known) if known else "none"
            diags.append(
                Diagnostic(
                    r.where,
                    f"{r.kind} {r.id!r} is not in the {forecast.label()} (its {r.kind}s: "
                    f"{listed}){did_you_mean(r.id, known)}",
                )
            )
        elif r.kind == "flag":
            found.append(Question("flag", r.id, bool(r.happened), r.resolved, r))
        else:
            found += [Question("outcome", o, o == r.id, r.resolved, r) for o in known]
    if diags:
        raise ValidationError(diags)
    return found


def _same_scenario(resolutions: Resolutions, forecast: Forecast) -> list[Diagnostic]:
    if forecast.scenario is None or forecast.scenario == resolutions.scenario:
        return []
    return [
        Diagnostic(
            resolutions.scenario_where,
            f"these resolutions are of scenario {resolutions.scenario!r}, but the "
            f"{forecast.label()} is of {forecast.scenario!r} (score it against resolutions of "
            "its own scenario, or give it as --reference)",
        )
    ]


def score(
    forecast: Forecast, resolutions: Resolutions, reference: Forecast | None = None
) -> Scoring:
    """Score ``forecast`` (and ``reference``, on the same rows) against ``resolutions``.

    Raises:
        ValidationError: see :func:`questions` (for the reference too).
        ResultsError: no forecast was made before its question resolved, or
            the reference has no forecast of a scored question by its date.
    """
    import pandas as pd  # start-up time: pandas only when scoring

    asked = questions(resolutions, forecast)
    if reference is not None:
        questions(resolutions, reference, same_scenario=False)
    rows, late = [], []
    for q in asked:
        mine = forecast.rows[(forecast.rows["kind"] == q.kind) & (forecast.rows["name"] == q.name)]
        for as_of, p in zip(mine["as_of"], mine["probability"], strict=True):
            if as_of >= q.resolved:
                late.append((q, as_of))
                continue
            ref_as_of, ref_p = _reference(reference, q, as_of) if reference else (None, math.nan)
            rows.append(
                (as_of, q.kind, q.name, float(p), int(q.happened), q.resolved, ref_as_of, ref_p)
            )
    if not rows:
        raise ResultsError(_nothing_scored(forecast, asked, late))
    frame = pd.DataFrame(
        rows,
        columns=["as_of", "kind", "name", "probability", "happened", "resolved",
                 "reference_as_of", "reference_probability"],
    )  # fmt: skip
    frame["brier"] = brier(frame["probability"], frame["happened"])
    frame["log_score"] = log_score(frame["probability"], frame["happened"])
    has_ref = reference is not None
    frame["reference_brier"] = (
        brier(frame["reference_probability"], frame["happened"]) if has_ref else math.nan
    )
    frame["reference_log_score"] = (
        log_score(frame["reference_probability"], frame["happened"]) if has_ref else math.nan
    )
    # Dates in order; on each date, the questions in the order the resolutions give them.
    rank = {(q.kind, q.name): i for i, q in enumerate(asked)}
    frame["rank"] = [rank[k] for k in zip(frame["kind"], frame["name"], strict=True)]
    frame = frame.sort_values(["as_of", "rank"], kind="stable")
    frame = frame[list(SCORE_COLUMNS)].reset_index(drop=True)
    summary = summarise(frame) | {"left_out": _left_out(late)}
    return Scoring(frame, summary, forecast, resolutions, reference)


def _reference(reference: Forecast, q: Question, as_of: _dt.date) -> tuple[_dt.date, float]:
    """The reference's latest forecast of ``q`` made on or before ``as_of``."""
    r = reference.rows
    mine = r[(r["kind"] == q.kind) & (r["name"] == q.name) & (r["as_of"] <= as_of)]
    if mine.empty:
        raise ResultsError(
            f"the reference {reference.source} has no forecast of {q.kind} {q.name!r} made on "
            f"or before {as_of} (its first is of {min(r['as_of'])}); a reference must have "
            "forecast every scored question by the forecast's date"
        )
    last = mine.loc[mine["as_of"].idxmax()]
    return last["as_of"], float(last["probability"])


def _nothing_scored(forecast: Forecast, asked: list[Question], late: list[Any]) -> str:
    dates = sorted(set(forecast.rows["as_of"]))
    first = min(q.resolved for q in asked)
    return (
        f"nothing to score: the {forecast.label()} was made as of {dates[0]}"
        + (f" to {dates[-1]}" if len(dates) > 1 else "")
        + f", on or after the day each of its questions resolved (the first on {first}); "
        "only a forecast made before its question resolved is scored"
    )


def _left_out(late: list[tuple[Question, _dt.date]]) -> list[dict[str, Any]]:
    """The rows not scored, per question: made on or after it resolved."""
    count: dict[tuple[str, str], list[_dt.date]] = {}
    for q, as_of in late:
        count.setdefault((q.kind, q.name), []).append(as_of)
    return [
        {
            "kind": k,
            "name": n,
            "rows": len(d),
            "first_as_of": str(min(d)),
            "reason": "made on or after it resolved",
        }
        for (k, n), d in count.items()
    ]


def _means(part: pd.DataFrame) -> dict[str, Any]:
    """Mean scores of ``part``'s rows, against 0.5 and against the reference."""
    b, lg = float(part["brier"].mean()), float(part["log_score"].mean())
    out: dict[str, Any] = {
        "rows": len(part),
        "brier": b,
        "log_score": lg,
        "brier_vs_uninformed": b - UNINFORMED_BRIER,
        "brier_skill_vs_uninformed": skill(b, UNINFORMED_BRIER),
        "log_vs_uninformed": lg - UNINFORMED_LOG,
        "log_skill_vs_uninformed": skill(lg, UNINFORMED_LOG),
    }
    if part["reference_probability"].notna().all():
        rb, rl = float(part["reference_brier"].mean()), float(part["reference_log_score"].mean())
        out |= {
            "reference_brier": rb,
            "reference_log_score": rl,
            "brier_vs_reference": b - rb,
            "brier_skill_vs_reference": skill(b, rb),
            "log_vs_reference": lg - rl,
            "log_skill_vs_reference": skill(lg, rl),
        }
    return out


def summarise(scores: pd.DataFrame) -> dict[str, Any]:
    """Mean scores overall, per question and per as-of date, from ``scores.csv``'s rows alone."""
    by_q = [
        {"kind": k, "name": n, "happened": int(g["happened"].iloc[0])} | _means(g)
        for (k, n), g in _groups(scores, ["kind", "name"])
    ]
    by_d = [{"as_of": str(d)} | _means(g) for (d,), g in _groups(scores, ["as_of"])]
    return {
        "uninformed": UNINFORMED,
        "log_base": LOG_BASE,
        "clip": [CLIP, 1 - CLIP],
        "overall": _means(scores),
        "by_question": by_q,
        "by_date": by_d,
    }


def _groups(frame: pd.DataFrame, by: list[str]) -> Iterable[tuple[tuple[Any, ...], pd.DataFrame]]:
    """Groups in order of first appearance (the order of the rows)."""
    yield from frame.groupby(by, sort=False)
