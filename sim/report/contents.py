"""What a report shows, read from a batch's results folder.

Reading is kept apart from writing HTML (:mod:`sim.report.page`), so tests can
check what the page will say without parsing it. The folder is read by the
package's one reader (:func:`sim.results.reader.load_results`): its manifest,
``summary.json`` and ``rules.csv`` are required, and every table is checked
against the manifest's record first, so a report is never written from a
table cut short or edited since. What the folder does not need to hold (its
charts, the scenario file, the claims registry) becomes a note for the
reader when it is missing.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import ResultsError, WargameError
from sim.registry import Registry, find_claims, load_registry
from sim.report.brief import Brief, brief
from sim.results.aggregate import rank_rules_table
from sim.results.reader import BatchResult, find_folder, load_results
from sim.scenario import load_scenario
from sim.scenario.model import Scenario

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class RankedRule:
    """One row of ``rules.csv`` with its influence on the outcomes.

    ``influence`` is the spread (max - min) of ``fired_in_<outcome>`` over the
    outcomes some world reached: a rule that fired in every world, or in
    none, says nothing about where worlds ended and gets 0. This is the
    ordering of the attribution chart.
    """

    rule: str
    actor: str
    kind: str
    action: str
    cites: tuple[str, ...]
    worlds_fired: int | None
    share_fired: float | None
    share_in: dict[str, float | None]
    """Per outcome: the share of the worlds ending in it in which the rule fired
    (``fired_in_<outcome>``), the number the attribution chart shows in its cell."""
    influence: float


@dataclass
class ReportData:
    """Everything the page shows, read from a results folder.

    ``scenario`` and ``registry`` are ``None`` when the scenario file or the
    ``seeds/`` folder cannot be found or loaded; ``notes`` then says so.
    """

    summary: dict[str, Any]
    manifest: dict[str, Any]
    rules: list[RankedRule]
    charts: dict[str, bytes]
    """PNG bytes of each chart in ``plots/``, by file stem."""
    scenario: Scenario | None = None
    registry: Registry | None = None
    notes: list[str] = field(default_factory=list)
    """Things the reader should know (a changed scenario, missing charts...)."""
    folder: Path | None = None
    """The results folder read (a ``latest`` already followed)."""
    brief: Brief | None = None
    """What page 1 says (:func:`sim.report.brief.brief`)."""
    scenario_file: Path | None = None
    """The scenario file found for the manifest's name, if any."""
    sections: list[tuple[str, str, str]] = field(default_factory=list)
    """Further sections after the outcomes: ``(anchor, title in the menu, HTML)``."""
    placed: set[str] = field(default_factory=set)
    """Charts (file stems) a further section shows, left out of the Charts section."""


def _number(value: Any) -> float | None:
    """A cell as a float, or ``None`` when it is empty, NaN or not a number."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _text(value: Any) -> str:
    """A word cell as text (an empty cell, read as NaN, is ``""``)."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def rank_rules(
    rows: pd.DataFrame | Sequence[Mapping[str, Any]], outcomes: Sequence[Mapping[str, Any]]
) -> list[RankedRule]:
    """Rows of ``rules.csv``, most influential first (ties: most fired, then by id).

    The order is the package's one ranking of rules
    (:func:`sim.results.aggregate.rank_rules_table`), the one of the
    attribution chart.

    Args:
        rows: ``rules.csv`` as a DataFrame (``BatchResult.rules``) or as one
            dict per row.
        outcomes: ``summary["outcomes"]``; an outcome with ``count`` 0 is
            left out of the influence.
    """
    import pandas as pd  # start-up time: every wargame command imports the report

    table = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if table.empty:
        return []
    ids = [str(o["id"]) for o in outcomes]
    ranked = []
    for row in rank_rules_table(table, outcomes).to_dict("records"):
        worlds = _number(row.get("worlds_fired"))
        ranked.append(
            RankedRule(
                rule=row["rule"],
                actor=_text(row.get("actor")),
                kind=_text(row.get("kind")),
                action=_text(row.get("action")),
                cites=tuple(c for c in _text(row.get("cites")).split(";") if c),
                worlds_fired=None if worlds is None else int(worlds),
                share_fired=_number(row.get("share_fired")),
                share_in={o: _number(row.get(f"fired_in_{o}")) for o in ids},
                influence=float(row["influence"]),
            )
        )
    return ranked


def reproduce_command(manifest: Mapping[str, Any]) -> str:
    """The command line that reproduces the folder's results ("" if unknown).

    The manifest's ``command`` when present; otherwise rebuilt from the
    scenario file, runs, seed, ``--set`` overrides and pinned parameters.
    Executor, workers and output folder are left out: they do not change the
    results.
    """
    if manifest.get("command"):
        return str(manifest["command"])
    if manifest.get("argv"):
        return shlex.join(str(a) for a in manifest["argv"])
    if not manifest.get("scenario_file"):
        return ""
    cmd = ["wargame", "batch", str(manifest["scenario_file"])]
    if manifest.get("runs") is not None:
        cmd += ["--runs", str(manifest["runs"])]
    if manifest.get("seed") is not None:
        cmd += ["--seed", str(manifest["seed"])]
    for text in manifest.get("overrides") or ():
        cmd += ["--set", str(text)]
    for pid, value in (manifest.get("pinned") or {}).items():
        cmd += ["--pin", f"{pid}={value}"]
    if manifest.get("runs_table") is False:
        cmd.append("--no-runs-table")
    return shlex.join(cmd)


def find_results(folder: Path | str) -> Path:
    """The batch folder ``folder`` names: itself, or the one its ``latest`` points at.

    The rule of every reader (:func:`sim.results.reader.find_folder`).

    Raises:
        ResultsError: no such folder, or no ``manifest.json`` in it.
    """
    return find_folder(folder)


def _charts(folder: Path) -> dict[str, bytes]:
    """The PNG charts of ``plots/`` by file stem, in name order."""
    return {p.stem: p.read_bytes() for p in sorted((folder / "plots").glob("*.png"))}


def _scenario_path(manifest: Mapping[str, Any], folder: Path) -> Path | None:
    """The manifest's scenario file, relative to the working folder or to one above ``folder``."""
    name = manifest.get("scenario_file")
    if not name:
        return None
    given = Path(str(name))
    if given.is_absolute():
        return given if given.is_file() else None
    for base in (Path.cwd(), *folder.resolve().parents):
        if (base / given).is_file():
            return base / given
    return None


def _load_context(data: ReportData, folder: Path) -> None:
    """Add the scenario and claims registry behind the folder to ``data``, if found."""
    path = _scenario_path(data.manifest, folder)
    data.scenario_file = path
    # The registry rule of every command, searching from the results folder
    # (then the working folder) when nothing is found above the scenario.
    claims = find_claims(path, also=(folder, Path.cwd()))
    registry_note = ""
    if claims is None:
        registry_note = "No seeds/ folder was found, so cited claims cannot be shown."
    else:
        try:
            data.registry = load_registry(claims)
        except WargameError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            registry_note = f"The claims registry does not load ({first})."
    if path is None and data.manifest:
        data.notes.append(
            "The scenario file named in the manifest was not found, so its description, "
            "rule descriptions and citations are missing."
        )
    elif path is not None:
        try:
            data.scenario = load_scenario(
                path, data.manifest.get("overrides") or (), registry=data.registry
            )
        except WargameError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            data.notes.append(f"The scenario file no longer loads ({first}).")
        else:
            recorded = data.manifest.get("sha256")
            if recorded and data.scenario.sha256 and recorded != data.scenario.sha256:
                data.notes.append(
                    "The scenario file has changed since this batch ran (its sha256 differs "
                    "from the manifest's); descriptions come from the current file."
                )
    if registry_note:
        data.notes.append(registry_note)


def gather(folder: Path | str, *, context: bool = True) -> ReportData:
    """Read what the report shows from a batch's results folder.

    The folder is opened by the package's one reader
    (:func:`sim.results.reader.load_results`): every table is checked
    against the manifest's record before anything is shown.

    Args:
        folder: the results folder (or ``results/<scenario>``: its latest one).
        context: also load the scenario file and claims registry the manifest
            points at (for the description, rule texts and cited claims).

    Raises:
        ResultsError: the folder, its manifest, ``summary.json`` or
            ``rules.csv`` is missing or unreadable, a table differs from the
            manifest's record of it, or the folder is no batch.
    """
    result = load_results(folder)
    path = result.folder
    if not isinstance(result, BatchResult):
        raise ResultsError(
            f"{path}: a {result.kind!r} folder; reports are written for batch folders"
        )
    summary = result.stored_summary
    if not isinstance(summary.get("outcomes"), list):
        raise ResultsError(f"{path / 'summary.json'}: no list of outcomes")
    rules = rank_rules(result.rules, summary["outcomes"])
    notes = []
    charts = _charts(path)
    if not charts:
        notes.append(
            "No charts in plots/: draw them with wargame plot on this folder, then run "
            "wargame report again."
        )
    data = ReportData(summary, result.manifest, rules, charts, notes=notes, folder=path)
    if context:
        _load_context(data, path)
    data.brief = brief(
        summary,
        result.manifest,
        scenario=data.scenario,
        daily=result.daily,
        drivers=result.drivers if result.has_drivers else None,
        folder=path,
        scenario_file=data.scenario_file,
    )
    return data
