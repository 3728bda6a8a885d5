"""``wargame batch SCENARIO --as-of DATE``: a batch, and its worlds conditioned on the evidence.

The batch is the ordinary one (same seeds, same ``runs.csv`` rows, same
tables); :func:`run_conditional_batch` adds to its folder, before the
manifest is written, what the worlds say given the observations dated up to
the as-of date (:func:`sim.evidence.conditioning.condition`):

* ``conditional.csv``: per outcome and flag, the conditional probability
  with its 95% interval, the effective sample size and the worlds kept
  (columns :data:`~sim.evidence.conditioning.COLUMNS`);
* ``posterior.csv``: per drawn parameter, its prior against its posterior
  (:mod:`sim.evidence.posterior`);

and the manifest's ``conditional`` record (as-of date, observations used,
ESS, worlds, the warning and the runs it asks for).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from sim.batch.runner import Derivation, Presenter, run_batch
from sim.batch.settings import RunSettings
from sim.evidence.conditioning import (
    INTERVAL,
    ConditionalShares,
    check_as_of,
    condition_runs,
    ess_needed,
)
from sim.evidence.observations import records_of
from sim.evidence.posterior import posterior_table
from sim.results.reader import BatchResult
from sim.results.writer import write_table
from sim.scenario.model import Scenario
from sim.tables import read_table


def conditional_record(shares: ConditionalShares) -> dict[str, Any]:
    """The manifest's ``conditional`` record of ``shares``."""
    return {
        "as_of": shares.as_of.isoformat(),
        "observations_used": [r.id for r in shares.used],
        "runs": shares.runs,
        "worlds": shares.worlds,
        "ess": shares.ess,
        "ess_needed": ess_needed(),
        "warning": shares.warning,
        "runs_needed": shares.runs_needed,
        "interval": INTERVAL,
    }


def run_conditional_batch(
    scenario: str | Path,
    settings: RunSettings | None = None,
    *,
    as_of: _dt.date | str,
    out: str | Path | None = None,
    progress: bool = True,
    results_root: str | Path | None = None,
    on_complete: Presenter | None = None,
    **changes: Any,
) -> tuple[BatchResult, ConditionalShares]:
    """Run a batch and condition its worlds on the observations dated up to ``as_of``.

    Arguments as for :func:`sim.batch.runner.run_batch` (``runs.csv`` is
    always written: conditioning needs every world).

    Returns:
        The folder, opened, and the conditional shares.

    Raises:
        UsageError: a bad ``as_of`` or a scenario without observations
            (before anything runs), and what ``run_batch`` raises.
    """
    settings = RunSettings.of(settings, **changes)
    with settings.claims_in_force():
        sc = settings.load(scenario).scenario
    day = check_as_of(sc, as_of)
    found: list[ConditionalShares] = []

    def write(folder: Path, compiled: Scenario) -> dict[str, Any]:
        runs = read_table(folder / "runs.csv")
        shares = condition_runs(
            runs,
            records_of(compiled),
            day,
            [o.id for o in compiled.outcomes],
            [f.id for f in compiled.flags],
        )
        write_table(folder / "conditional.csv", shares.table())
        write_table(folder / "posterior.csv", posterior_table(runs, shares.weights))
        found.append(shares)
        return {"conditional": conditional_record(shares)}

    result = run_batch(
        scenario,
        settings,
        out=out,
        runs_table=True,
        progress=progress,
        results_root=results_root,
        on_complete=on_complete,
        derive=Derivation(write, ("--as-of", day.isoformat())),
    )
    return result, found[0]
