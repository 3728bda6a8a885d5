"""Comparing two batches: how much does a counterfactual change the outcomes?

Each side is a results folder or a scenario file (run as a batch first, both
with the same seed and number of worlds). Per outcome and per flag the
comparison gives ``p_A``, ``p_B`` and ``p_B - p_A`` with Newcombe's 95%
interval for a difference of two proportions.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sim.batch.runner import Presenter, group_folder, opened, present, run_batch
from sim.batch.settings import RunSettings
from sim.errors import ResultsError, UsageError
from sim.results.reader import BatchResult, CompareResult, load_results
from sim.results.staging import Staging
from sim.results.writer import versions, write_json, write_manifest
from sim.stats import newcombe_diff
from sim.tables import FORMAT_VERSION


def differences(
    items_a: list[dict[str, Any]], n_a: int, items_b: list[dict[str, Any]], n_b: int
) -> list[dict[str, Any]]:
    """``p_B - p_A`` with Newcombe's 95% interval for each id (outcome or flag) in both.

    An id that only one side defines has no difference: its absence on the
    other side is not a share of zero.
    """
    by_b = {x["id"]: x for x in items_b}
    rows = []
    for a in items_a:
        b = by_b.get(a["id"])
        if b is None:
            continue
        d, lo, hi = newcombe_diff(int(a["count"]), n_a, int(b["count"]), n_b)
        rows.append({"id": a["id"], "name": a.get("name", a["id"]), "diff": d, "lo": lo, "hi": hi})
    return rows


def _side(
    spec: str | Path,
    label: str,
    settings: RunSettings,
    check_runs: int | None,
    run: Callable[[Path, RunSettings], BatchResult],
) -> BatchResult:
    """One side of a comparison: a batch folder opened, or a scenario file run as a batch."""
    path = Path(spec)
    if path.is_dir():
        res = load_results(path)
        if not isinstance(res, BatchResult):
            raise ResultsError(f"{label} = {path}: a {res.kind} folder; compare needs batches")
        if check_runs is not None and res.summary["runs"] != check_runs:
            raise UsageError(
                f"{label} = {path} holds {res.summary['runs']} worlds, not --runs {check_runs}; "
                "leave out --runs when comparing results folders"
            )
        given = [
            o
            for o, v in (
                ("--set", settings.overrides),
                ("--pin", settings.pinned),
                ("--without", settings.without),
            )
            if v
        ]
        if given:
            raise UsageError(
                f"{label} = {path} is a results folder, whose worlds are already run: "
                f"{' and '.join(given)} apply to scenario files only"
            )
        return res
    if not path.is_file():
        raise UsageError(f"{label} = {spec}: neither a results folder nor a scenario file")
    return run(path, settings)


def compare(
    a: str | Path,
    b: str | Path,
    settings: RunSettings | None = None,
    *,
    out: str | Path | None = None,
    progress: bool = True,
    results_root: str | Path | None = None,
    on_complete: Presenter | None = None,
    **changes: Any,
) -> CompareResult:
    """Compare two batches (folders, or scenario files run first with the same seed).

    A side that is a scenario file is run as a batch with ``settings`` (its
    overrides and pinned values apply to both files). Where ``seed`` or
    ``runs`` is not given, side B uses A's: A's own if A is a folder, else
    the scenario defaults of A. Differences are ``p_B - p_A``. Keyword
    arguments other than those below are fields of
    :class:`~sim.batch.settings.RunSettings`, as for
    :func:`~sim.batch.runner.run_batch`, whose arguments these are too;
    ``on_complete`` presents each batch run and the comparison's folder.

    Raises:
        UsageError: a side is neither a folder nor a file, or overrides or
            pinned values are given for a folder.
        ResultsError: a folder is not a batch.
    """
    settings = RunSettings.of(settings, **changes)

    def run(path: Path, side: RunSettings) -> BatchResult:
        return run_batch(
            path,
            side,
            progress=progress,
            results_root=results_root,
            on_complete=on_complete,
        )

    started = _dt.datetime.now()
    res_a = _side(a, "A", settings, settings.runs, run)
    runs_b = int(res_a.summary["runs"]) if settings.runs is None else settings.runs
    seed_b = int(res_a.manifest["seed"]) if settings.seed is None else settings.seed
    res_b = _side(b, "B", replace(settings, runs=runs_b, seed=seed_b), settings.runs, run)

    n_a, n_b = int(res_a.summary["runs"]), int(res_b.summary["runs"])
    doc = {
        "a": _describe(res_a, str(a)),
        "b": _describe(res_b, str(b)),
        "difference": "p_b - p_a with Newcombe's hybrid score 95% interval",
        "diffs": differences(res_a.summary["outcomes"], n_a, res_b.summary["outcomes"], n_b),
        "flag_diffs": differences(res_a.summary["flags"], n_a, res_b.summary["flags"], n_b),
    }
    with Staging(group_folder(results_root, "compare"), out, started) as stage:
        write_json(stage.path / "compare.json", doc)
        command = ["wargame", "compare", str(a), str(b)]
        if not Path(a).is_dir() or not Path(b).is_dir():
            ran = replace(settings, runs=n_a, seed=int(res_a.manifest["seed"]))
            command += ran.options()
        finished = _dt.datetime.now()
        write_manifest(
            stage.path,
            {
                "format_version": FORMAT_VERSION,
                "kind": "compare",
                "a": str(res_a.folder),
                "b": str(res_b.folder),
                "versions": versions(),
                "started": started.astimezone().isoformat(timespec="seconds"),
                "finished": finished.astimezone().isoformat(timespec="seconds"),
                "wall_seconds": round((finished - started).total_seconds(), 3),
                "command": " ".join(command),
                "argv": command,
            },
        )
        note = present(on_complete, stage.path)
    return opened(stage, note, CompareResult)


def _describe(res: BatchResult, label: str) -> dict[str, Any]:
    m = res.manifest
    return {
        "label": label,
        "folder": str(res.folder),
        "scenario": m["scenario"],
        "title": res.summary.get("title", ""),
        "scenario_file": m["scenario_file"],
        "sha256": m["sha256"],
        "overrides": m["overrides"],
        "runs": int(res.summary["runs"]),
        "seed": m["seed"],
        "outcomes": res.summary["outcomes"],
        "flags": res.summary["flags"],
    }
