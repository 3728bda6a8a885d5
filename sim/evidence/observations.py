"""Observations as a results folder records them, and the weight each gives a world.

The engine records, per world, whether each observation of the scenario
held on its day (``runs.csv`` column ``obs_<id>``, see
:class:`sim.scenario.model.Observation`). What conditioning needs besides
is each observation's date and noise; a folder's manifest keeps them
(``observations``), so a folder can be conditioned years later without its
scenario file.

The weight of a world given the observations dated up to an as-of date is
the likelihood of the reports in that world (reports assumed independent
given the world)::

    w = prod over observations o with date <= as_of of
        (1 - noise_o) if o held in the world else noise_o

With noise 0 this keeps the worlds where every observation held (weight 1)
and drops the others (weight 0). The prior is the batch's own draw of worlds,
so the weighted worlds are a sample of the posterior (importance sampling
with the prior as proposal).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.errors import ResultsError, UsageError
from sim.results.writer import observation_records

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario.model import Scenario


@dataclass(frozen=True)
class Record:
    """One observation as conditioning uses it: when, how reliable, what it says.

    Attributes:
        id: the observation id (``runs.csv`` column ``obs_<id>``).
        date: the day it is about.
        noise: the probability that the report is wrong.
        seen: its condition, as written.
        cites: the claims it rests on.
        description: what was reported, in words.
    """

    id: str
    date: _dt.date
    noise: float = 0.0
    seen: str = ""
    cites: tuple[str, ...] = ()
    description: str = ""

    @property
    def column(self) -> str:
        """Its column in ``runs.csv``."""
        return f"obs_{self.id}"


def records_of(sc: Scenario) -> tuple[Record, ...]:
    """The observations of a compiled scenario, in the order written (as a manifest has them)."""
    return records_from_manifest({"observations": observation_records(sc)})


def records_from_manifest(manifest: Mapping[str, Any]) -> tuple[Record, ...]:
    """The observations a results folder's manifest records (none for an older folder).

    Raises:
        ResultsError: the record is malformed.
    """
    out = []
    for doc in manifest.get("observations") or []:
        try:
            out.append(
                Record(
                    str(doc["id"]),
                    _dt.date.fromisoformat(str(doc["date"])),
                    float(doc.get("noise", 0.0)),
                    str(doc.get("seen", "")),
                    tuple(str(c) for c in doc.get("cites", ())),
                    str(doc.get("description", "")),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ResultsError(f"manifest.json: a malformed observation record ({exc})") from exc
    return tuple(out)


def as_date(value: _dt.date | str, what: str = "--as-of") -> _dt.date:
    """``value`` as a date (``YYYY-MM-DD`` text accepted).

    Raises:
        UsageError: not a date.
    """
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise UsageError(f"{what} {value!r}: expected a date YYYY-MM-DD") from None


def dated_up_to(records: Iterable[Record], as_of: _dt.date) -> tuple[Record, ...]:
    """The observations an analyst had on ``as_of``: those dated that day or earlier."""
    return tuple(r for r in records if r.date <= as_of)


def world_weights(runs: pd.DataFrame, used: Sequence[Record]) -> np.ndarray:
    """Per world (row of ``runs``), the likelihood of the reports ``used`` (see the module).

    Raises:
        ResultsError: ``runs`` has no column for one of the observations.
    """
    w = np.ones(len(runs), dtype=np.float64)
    for r in used:
        if r.column not in runs.columns:
            raise ResultsError(
                f"runs.csv has no column {r.column}: the batch did not record observation "
                f"{r.id!r} (run it with the observations)"
            )
        held = runs[r.column].to_numpy(dtype=np.int64) == 1
        w *= np.where(held, 1.0 - r.noise, r.noise)
    return w


def effective_size(w: np.ndarray) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` (0 when every weight is 0).

    Equal weights give the number of worlds kept; uneven weights give fewer,
    as many independent worlds as the weighted sample is worth.
    """
    total = float(w.sum())
    if total <= 0:
        return 0.0
    return total * total / float(np.square(w).sum())
