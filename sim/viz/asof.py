"""The viewer's "as of" slider: the ensemble given what was seen by a date.

When the scenario has observations (its own ``observations:`` or
``wargame view --observations FILE``), the ensemble keeps each world's
record and the slider conditions those same worlds on the observations dated
up to the chosen day (:func:`sim.evidence.condition_runs`, as
``wargame batch --as-of`` does): nothing is simulated again, so moving it is
instant. The panel shows each outcome's conditional share beside the
unconditioned one, the effective sample size and, when too few worlds agree
with the evidence, the warning with the runs that would be needed.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np

from sim.scenario.model import Scenario
from sim.viz.ensemble import Ensemble


def observation_days(sc: Scenario) -> list[int]:
    """The distinct days that have observations, in order (the slider's stops)."""
    return sorted({int(o.day) for o in sc.observations})


def runs_table(ens: Ensemble) -> Any:
    """The ensemble's worlds as ``runs.csv`` would have them: outcome ids, flags, observations."""
    import pandas as pd

    sc = ens.scenario
    rows = ens.rows
    if rows is None:
        raise ValueError(
            "the ensemble kept no per-world records (the scenario has no observations)"
        )
    ids = np.array([o.id for o in sc.outcomes], dtype=object)
    data: dict[str, Any] = {"outcome": ids[rows["outcome"].astype(np.int64)]}
    for f in sc.flags:
        data[f"flag_{f.id}"] = rows[f"flag_{f.id}"].astype(np.int64)
    for o in sc.observations:
        data[f"obs_{o.id}"] = rows[f"obs_{o.id}"].astype(np.int64)
    return pd.DataFrame(data)


def conditioned(ens: Ensemble, as_of: _dt.date) -> Any:
    """The ensemble conditioned on the observations dated ``as_of`` or earlier.

    Returns :class:`sim.evidence.ConditionalShares`.
    """
    from sim.evidence import condition_runs, records_of

    sc = ens.scenario
    return condition_runs(
        runs_table(ens),
        records_of(sc),
        as_of,
        [o.id for o in sc.outcomes],
        [f.id for f in sc.flags],
    )


def conditional_rows(ens: Ensemble, cond: Any) -> list[dict[str, Any]]:
    """Per outcome: its name, the share of all worlds and the conditional share, as text."""
    out = []
    for o in ens.outcomes:
        s = cond.share("outcome", o.id)
        given = (
            "–"
            if s.probability != s.probability  # NaN: no world agrees
            else f"{100 * s.probability:.1f}% ({100 * s.low:.1f}–{100 * s.high:.1f}%)"
        )
        out.append(
            {
                "outcome": o.name,
                "all": f"{100 * o.share:.1f}%",
                "given": given,
                "p": s.probability,
            }
        )
    return out
