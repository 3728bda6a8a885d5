"""The score folder: ``scores.csv``, ``summary.json`` and a manifest, written whole or not at all.

A folder of kind ``score``, by default ``results/<scenario>/score/<time>/``,
holds the scored rows (``scores.csv``, from which ``summary.json`` can be
recomputed with :func:`sim.scoring.score.summarise`), the summary, and a
manifest that records what was scored against what: the forecast (its
folder and the SHA-256 of its manifest), the scenario hash that forecast
recorded (which rules made it), the resolutions file and its SHA-256, and
the reference. The charts (the reliability diagram, :mod:`sim.plots.scoring`)
are drawn by the ``on_complete`` hook, as for every other kind of folder.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sim.results.reader import ScoreResult, load_results
from sim.results.staging import Staging
from sim.results.writer import (
    RESULTS_ROOT,
    provenance,
    versions,
    write_json,
    write_manifest,
    write_table,
)
from sim.scoring.forecasts import Forecast
from sim.scoring.score import Scoring
from sim.tables import FORMAT_VERSION

KIND = "score"

Presenter = Callable[[Path], str]
"""Draws a written folder's charts and returns one line for the user (as a batch's)."""


def write_score(
    scoring: Scoring,
    *,
    out: str | Path | None = None,
    results_root: str | Path | None = None,
    command: Sequence[str] | None = None,
    on_complete: Presenter | None = None,
    started: _dt.datetime | None = None,
) -> ScoreResult:
    """Write ``scoring`` as a score folder and open it.

    Args:
        scoring: what :func:`sim.scoring.score.score` returned.
        out: the exact folder to create (it must not exist); by default
            ``results/<scenario>/score/<time>/`` under ``results_root``.
        command: the command line that reproduces the folder (for the manifest).
        on_complete: draws the charts before the folder is renamed into place.
        started: when the work began (for the manifest and the folder's name).

    Raises:
        ResultsError: the folder cannot be written (nothing is kept).
    """
    started = started or _dt.datetime.now()
    res = scoring.resolutions
    group = Path(results_root) if results_root is not None else RESULTS_ROOT
    argv = list(command) if command else ["wargame", "score", str(scoring.forecast.source)]
    summary = scoring.summary | {
        "scenario": scoring.forecast.scenario or res.scenario,
        "title": scoring.forecast.title or scoring.forecast.scenario or res.scenario,
        "resolutions": {
            "file": str(res.path),
            "about": res.about,
            "entries": [_entry(e) for e in res.entries],
        },
    }
    with Staging(group / res.scenario / KIND, out, started) as stage:
        write_table(stage.path / "scores.csv", scoring.scores)
        write_json(stage.path / "summary.json", summary)
        finished = _dt.datetime.now()
        manifest = {
            "format_version": FORMAT_VERSION,
            "kind": KIND,
            "scenario": summary["scenario"],
            "sha256": scoring.forecast.scenario_sha256,
            "forecast": _described(scoring.forecast),
            "reference": _described(scoring.reference) if scoring.reference else None,
            "resolutions": {"file": str(res.path), "sha256": res.sha256},
            "versions": versions(),
            **provenance(started, finished, argv),
        }
        write_manifest(stage.path, manifest)
        note = ""
        if on_complete is not None:
            try:
                note = on_complete(stage.path)
            except Exception as exc:
                note = f"drawing the charts failed ({type(exc).__name__}: {exc})"
    assert stage.final is not None
    opened = load_results(stage.final)
    assert isinstance(opened, ScoreResult)
    opened.note = note.replace(str(stage.path), str(stage.final))
    return opened


def _described(f: Forecast) -> dict[str, Any]:
    """A forecast as the manifest records it: where, what, and which scenario made it."""
    return {
        "source": str(f.source),
        "what": f.what,
        "scenario": f.scenario,
        "scenario_sha256": f.scenario_sha256,
        "sha256": f.sha256,
    }


def _entry(e: Any) -> dict[str, Any]:
    d = asdict(e)
    d["where"] = str(e.where)
    d["resolved"] = str(e.resolved)
    d["source"]["date"] = str(e.source.date)
    return d
