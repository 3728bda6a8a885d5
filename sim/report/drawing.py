"""Presenting a results folder: its charts, and a batch's one-page report.

The batch layer writes tables and never draws; the front end hands it
:func:`present` as the ``on_complete`` hook of ``run_batch``, ``run_sweep``
and ``compare`` (see :data:`sim.batch.runner.Presenter`), so a new folder
gets its charts and report before it is renamed into place. ``wargame plot``
redraws them later with :func:`redraw`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim.errors import ResultsError
from sim.report import REPORT_NAME, write_report
from sim.results.reader import find_folder, read_manifest
from sim.tables import check_tables


@dataclass
class Drawing:
    """What drawing a folder's charts (and a batch's report) gave."""

    files: list[Path]
    note: str
    """One line for the user: where the files are, or what failed and how to retry."""
    failed: bool


def _failure(exc: BaseException) -> str:
    """What failed, for a note: our own errors already name the file, others need their type."""
    return f"{type(exc).__name__}: {exc}" if not isinstance(exc, ResultsError) else str(exc)


def draw(folder: Path, kind: str) -> Drawing:
    """Draw the folder's charts with :mod:`sim.plots` (and a batch's report); never raises.

    A chart or report that fails leaves no file behind (each is written under
    a temporary name and renamed), and the note says what failed.
    """
    try:
        # Start-up time: matplotlib (about a second) only when charts are drawn.
        from sim.plots import draw_plots
    except ImportError as exc:
        return Drawing([], f"plots skipped: sim.plots is not available ({exc})", True)
    try:
        files = list(draw_plots(folder))
    except Exception as exc:
        note = f"plots failed ({_failure(exc)}); redraw with: wargame plot {folder}"
        return Drawing([], note, True)
    note = f"{len(files)} plots in {folder / 'plots'}"
    if kind in ("batch", "forecast"):
        # The one-page report embeds the plots, so it is (re)written with them.
        try:
            files.append(write_report(folder))
        except Exception as exc:
            note += f"; report failed ({_failure(exc)}); write it with: wargame report {folder}"
            return Drawing(files, note, True)
        note += f"; report {folder / REPORT_NAME}"
    return Drawing(files, note, False)


def present(folder: Path) -> str:
    """The ``on_complete`` hook: draw a written folder's charts (and report); returns the note.

    Presenting never loses results: if a chart or the report fails, the note
    says so and ``wargame plot FOLDER`` can draw them later.
    """
    return draw(folder, read_manifest(folder)["kind"]).note


def redraw(folder: Path | str) -> list[Path]:
    """``wargame plot``: redraw the charts (and a batch's report) of a written folder.

    Raises:
        ResultsError: the folder is not sound (see :func:`sim.results.reader.load_results`),
            or a chart or the report failed; the message says which.
    """
    path = find_folder(folder)
    m = read_manifest(path)
    check_tables(path, m)
    done = draw(path, m["kind"])
    if done.failed:
        raise ResultsError(done.note)
    return done.files
