"""Evidence: conditioning a batch's worlds on dated observations, and forecasts by date.

A scenario's observations (its ``observations:`` section, or a separate file
given with ``--observations``) are recorded per world by the engine
(``runs.csv`` columns ``obs_<id>``). This package turns those records into
answers, never simulating again:

* :func:`condition` (``wargame batch --as-of``): the outcome and flag shares
  given what was seen by a date, each world kept, dropped or weighted by the
  likelihood of the reports, with intervals at the effective sample size;
* :func:`posterior_table`: what that says about each drawn parameter;
* :func:`sim.evidence.forecast.run_forecast` (``wargame forecast``): the same for every as-of date
  of a range, from one batch.

Inside, bottom to top: ``observations`` (records and weights),
``conditioning | posterior``, ``batch | forecast``. See docs/evidence.md.
"""

from __future__ import annotations

from sim.evidence.conditioning import (
    COLUMNS,
    ConditionalShares,
    Share,
    condition,
    condition_runs,
    ess_needed,
)
from sim.evidence.observations import (
    Record,
    effective_size,
    records_from_manifest,
    records_of,
    world_weights,
)
from sim.evidence.posterior import posterior_table

__all__ = [
    "COLUMNS",
    "ConditionalShares",
    "Record",
    "Share",
    "condition",
    "condition_runs",
    "effective_size",
    "ess_needed",
    "posterior_table",
    "records_from_manifest",
    "records_of",
    "world_weights",
]
