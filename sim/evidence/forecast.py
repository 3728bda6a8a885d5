"""Forecasts by date: what an analyst would have published day by day, from one batch.

:func:`run_forecast` simulates the scenario's worlds once, each recording
every observation on its day, then conditions them as of each date of a
range (:func:`sim.evidence.conditioning.condition_runs`): for each as-of
date, the probability of every outcome and flag at the horizon given the
observations dated up to it. Every as-of date sees the same worlds, so the
trajectory moves only because evidence arrives, never because of sampling
noise between dates.

The horizon is the scenario's last day, unless ``horizon`` is earlier: the
scenario is then run to that day (``scenario.horizon_days`` shortened, its
outcomes and flags judged there), so each question reads "by the horizon".

It writes a results folder of kind ``forecast`` (``forecast.csv``,
``runs.csv``, ``summary.json``, ``manifest.json``), whole or not at all.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import pandas as pd

from sim.batch.runner import Presenter, group_folder, opened, plan_batch, present, stream
from sim.batch.settings import RunSettings
from sim.errors import UsageError
from sim.evidence.conditioning import COLUMNS, INTERVAL, check_as_of, condition_runs, ess_needed
from sim.evidence.observations import as_date, records_of
from sim.results.reader import ForecastResult
from sim.results.staging import Staging
from sim.results.writer import (
    manifest,
    observation_records,
    write_json,
    write_manifest,
    write_table,
)
from sim.scenario.model import Scenario
from sim.tables import read_table

MAX_DATES = 1000
"""As-of dates one forecast may have."""


def as_of_dates(start: _dt.date, end: _dt.date, every: int) -> list[_dt.date]:
    """``start``, ``start + every`` days, ... up to ``end``, and ``end`` itself.

    Raises:
        UsageError: ``every`` below 1, ``end`` before ``start``, or more than
            :data:`MAX_DATES` dates.
    """
    if every < 1:
        raise UsageError(f"--every {every}: expected a whole number of days, 1 or more")
    if end < start:
        raise UsageError(f"--to {end} is before --from {start}")
    days = (end - start).days
    if days // every + 2 > MAX_DATES:
        raise UsageError(f"--from {start} --to {end} --every {every}: more than {MAX_DATES} dates")
    dates = [start + _dt.timedelta(days=d) for d in range(0, days + 1, every)]
    if dates[-1] != end:
        dates.append(end)
    return dates


def forecast_table(sc: Scenario, runs: pd.DataFrame, dates: list[_dt.date]) -> pd.DataFrame:
    """``forecast.csv``: :data:`~sim.evidence.conditioning.COLUMNS`, per as-of date and question.

    Questions are every outcome (scenario order), then every flag.
    """
    records = records_of(sc)
    outcomes = [o.id for o in sc.outcomes]
    flags = [f.id for f in sc.flags]
    rows: list[dict[str, Any]] = []
    for day in dates:
        rows += condition_runs(runs, records, day, outcomes, flags).rows()
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _horizon_override(sc: Scenario, horizon: _dt.date | str | None) -> tuple[str, ...]:
    """The override that ends the scenario on ``horizon`` (none for its own last day)."""
    if horizon is None:
        return ()
    day = as_date(horizon, "--horizon")
    last = sc.date_of(sc.horizon_days - 1)
    if not sc.start <= day <= last:
        raise UsageError(f"--horizon {day}: outside the scenario's days ({sc.start} to {last})")
    if day == last:
        return ()
    return (f"scenario.horizon_days={(day - sc.start).days + 1}",)


def run_forecast(
    scenario: str | Path,
    settings: RunSettings | None = None,
    *,
    start: _dt.date | str,
    end: _dt.date | str,
    every: int = 1,
    horizon: _dt.date | str | None = None,
    out: str | Path | None = None,
    progress: bool = True,
    results_root: str | Path | None = None,
    on_complete: Presenter | None = None,
    **changes: Any,
) -> ForecastResult:
    """Forecast every outcome and flag as of each date from ``start`` to ``end``.

    Args:
        scenario: the scenario file (its observations, and those of
            ``settings.observations``, are the evidence).
        settings: how the worlds are run, as for
            :func:`sim.batch.runner.run_batch`.
        start, end: the first and last as-of dates (``YYYY-MM-DD``).
        every: days between as-of dates (the last date is always ``end``).
        horizon: the date the questions are asked for (default the
            scenario's last day; earlier ends the scenario there).
        out, progress, results_root, on_complete: as for ``run_batch``; the
            default folder is ``results/<scenario>/forecast/<YYYYmmdd-HHMMSS>/``.

    Raises:
        UsageError: bad dates, no observations, or more work than the limits allow.
        ValidationError: the scenario, an override or the observations are
            invalid (an observation dated after an earlier horizon included).
    """
    asked = RunSettings.of(settings, **changes)
    settings = asked
    with settings.claims_in_force():
        cut = _horizon_override(settings.load(scenario).scenario, horizon)
        if cut:
            settings = RunSettings.of(settings, overrides=(*settings.overrides, *cut))
        loaded = settings.load(scenario)
    sc = loaded.scenario
    dates = as_of_dates(check_as_of(sc, start, "--from"), check_as_of(sc, end, "--to"), every)
    settings = settings.for_scenario(sc)
    runs, seed = settings.worlds
    tasks, ex, pins = plan_batch(sc, scenario, loaded.overrides, settings)
    started = _dt.datetime.now()
    options = ["--from", dates[0].isoformat(), "--to", dates[-1].isoformat()]
    options += ["--every", str(every)]
    if horizon is not None:
        options += ["--horizon", as_date(horizon, "--horizon").isoformat()]
    # The command asks for the horizon with --horizon, not with the override it makes.
    command = asked.for_scenario(sc).command("forecast", scenario, extra=options, pinned=pins)
    with Staging(group_folder(results_root, f"{sc.name}/forecast"), out, started) as stage:
        stream(tasks, ex, sc, stage.path, _ignore, seed=seed, runs_table=True, progress=progress)
        table = forecast_table(sc, read_table(stage.path / "runs.csv"), dates)
        write_table(stage.path / "forecast.csv", table)
        write_json(stage.path / "summary.json", _summary(sc, dates, every, runs, seed))
        write_manifest(
            stage.path,
            manifest(
                "forecast",
                sc,
                scenario_file=str(scenario),
                overrides=loaded.overrides,
                seed=seed,
                runs=runs,
                chunk_size=settings.chunk_size,
                executor=ex.describe(),
                started=started,
                finished=_dt.datetime.now(),
                command=command,
                runs_table=True,
                pinned=pins,
                as_of=[d.isoformat() for d in dates],
                horizon=sc.date_of(sc.horizon_days - 1).isoformat(),
                interval=INTERVAL,
            ),
        )
        note = present(on_complete, stage.path)
    return opened(stage, note, ForecastResult)


def _ignore(_: object) -> None:
    """A forecast needs the worlds' rows only (``runs.csv``), not the chunks' counts."""


def _summary(
    sc: Scenario, dates: list[_dt.date], every: int, runs: int, seed: int
) -> dict[str, Any]:
    """``summary.json`` of a forecast: the dates, the questions and the evidence."""
    return {
        "scenario": sc.name,
        "title": sc.title,
        "start": sc.start.isoformat(),
        "horizon_days": sc.horizon_days,
        "horizon": sc.date_of(sc.horizon_days - 1).isoformat(),
        "runs": runs,
        "seed": seed,
        "as_of": [d.isoformat() for d in dates],
        "every": every,
        "ess_needed": ess_needed(),
        "interval": INTERVAL,
        "outcomes": [{"id": o.id, "name": o.name, "colour": o.colour} for o in sc.outcomes],
        "flags": [{"id": f.id, "name": f.name} for f in sc.flags],
        "key_flags": list(sc.key_flags),
        "observations": observation_records(sc),
    }
