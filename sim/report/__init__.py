"""One self-contained HTML page presenting a batch's results folder.

``report.html`` is meant to be sent by e-mail or opened from a USB stick
years later: it needs no network, no fonts or scripts from elsewhere, and no
other file of the folder. It shows the scenario, the outcome and flag tables
with 95% intervals, every chart, the rules most associated with the outcomes,
the claims those rules are derived from, the manifest and the command that
reproduces the results.

:mod:`sim.report.contents` reads the folder; :mod:`sim.report.page` writes
the HTML. ``wargame report`` is in :mod:`sim.cli`, with the other commands.
"""

from __future__ import annotations

from pathlib import Path

from sim.atomic import atomic_file
from sim.errors import ResultsError
from sim.report.contents import (
    RankedRule,
    ReportData,
    find_results,
    gather,
    rank_rules,
    reproduce_command,
)
from sim.report.evidence import evidence_section, forecast_page
from sim.report.page import interval, percent, render
from sim.results.reader import BatchResult, ForecastResult, load_results

__all__ = [
    "REPORT_NAME",
    "RankedRule",
    "ReportData",
    "find_results",
    "gather",
    "interval",
    "percent",
    "rank_rules",
    "render",
    "reproduce_command",
    "write_report",
]

REPORT_NAME = "report.html"


def write_report(folder: Path | str) -> Path:
    """Write ``report.html`` into a batch's (or a forecast's) results folder; returns its path.

    A batch conditioned with ``--as-of`` gets the section "Given the
    evidence"; a forecast folder gets a page of its own
    (:mod:`sim.report.evidence`).

    The page is written beside the other files under a temporary name and
    renamed, so a reader never opens half a report.

    Args:
        folder: the results folder, or ``results/<scenario>`` for its latest.

    Raises:
        ResultsError: the folder or its ``summary.json`` is missing or
            unreadable, or the page cannot be written.
    """
    opened = load_results(folder)
    if isinstance(opened, ForecastResult):
        path, page = opened.folder / REPORT_NAME, forecast_page(opened)
    else:
        data = gather(folder)
        if isinstance(opened, BatchResult) and opened.has_conditional:
            data.sections.append(("evidence", "Given the evidence", evidence_section(data, opened)))
            data.placed.add("posterior")
            as_of = (opened.manifest.get("conditional") or {}).get("as_of")
            data.notes.append(
                f"Page 1 counts every world. This batch is also conditioned on the "
                f"observations dated up to {as_of}: see Given the evidence."
            )
        path = (data.folder or find_results(folder)) / REPORT_NAME
        page = render(data)
    try:
        with atomic_file(path) as tmp:
            tmp.write_text(page, encoding="utf-8")
    except UnicodeError as exc:  # a lone surrogate in a name: nothing is left behind
        raise ResultsError(f"{path}: cannot be written ({exc})") from exc
    return path
