"""Comparing two batches: how much does a counterfactual change the outcomes?

Each side is a results folder or a scenario file (run as a batch first, both
with the same seed and number of worlds). Per outcome and per flag the
comparison gives ``p_A``, ``p_B`` and ``p_B - p_A`` with Newcombe's 95%
interval for a difference of two proportions.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.batch.executors import CHUNK_TIMEOUT
from sim.errors import ResultsError, UsageError

if TYPE_CHECKING:
    from sim.batch.results import BatchResult, CompareResult


def differences(
    items_a: list[dict[str, Any]], n_a: int, items_b: list[dict[str, Any]], n_b: int
) -> list[dict[str, Any]]:
    """``p_B - p_A`` with Newcombe's 95% interval for each id (outcome or flag) in both.

    An id that only one side defines has no difference: its absence on the
    other side is not a share of zero.
    """
    from sim.stats import newcombe_diff

    by_b = {x["id"]: x for x in items_b}
    rows = []
    for a in items_a:
        b = by_b.get(a["id"])
        if b is None:
            continue
        d, lo, hi = newcombe_diff(int(a["count"]), n_a, int(b["count"]), n_b)
        rows.append({"id": a["id"], "name": a.get("name", a["id"]), "diff": d, "lo": lo, "hi": hi})
    return rows


def side_by_side(doc: dict[str, Any], what: str = "outcomes") -> list[dict[str, Any]]:
    """Rows of ``compare.json`` joined for display, A's ids first then B's own.

    Columns ``count_a, p_a, lo_a, hi_a``, the same for B, and ``diff, diff_lo,
    diff_hi`` (``None`` where only one side defines the id). ``what`` is
    ``"outcomes"`` or ``"flags"``.
    """
    by_a = {x["id"]: x for x in doc["a"][what]}
    by_b = {x["id"]: x for x in doc["b"][what]}
    diffs = {d["id"]: d for d in doc["diffs" if what == "outcomes" else "flag_diffs"]}
    ids = list(by_a) + [i for i in by_b if i not in by_a]
    rows = []
    for i in ids:
        a, b, d = by_a.get(i, {}), by_b.get(i, {}), diffs.get(i, {})
        row = {"id": i, "name": (a or b).get("name", i)}
        for tag, x in (("a", a), ("b", b)):
            row |= {f"{k}_{tag}": x.get(k) for k in ("count", "p", "lo", "hi")}
        row |= {"diff": d.get("diff"), "diff_lo": d.get("lo"), "diff_hi": d.get("hi")}
        rows.append(row)
    return rows


def _side(
    spec: str | Path,
    label: str,
    runs: int | None,
    seed: int | None,
    options: dict[str, Any],
    check_runs: int | None,
) -> BatchResult:
    from sim.batch.results import BatchResult, load_results
    from sim.batch.runner import run_batch

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
        return res
    if not path.is_file():
        raise UsageError(f"{label} = {spec}: neither a results folder nor a scenario file")
    return run_batch(path, runs=runs, seed=seed, **options)


def compare(
    a: str | Path,
    b: str | Path,
    runs: int | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    plots: bool = True,
    progress: bool = True,
    workers: int | None = 1,
    executor: str | None = None,
    scheduler: str | None = None,
    results_root: str | Path | None = None,
    chunk_timeout: float | None = CHUNK_TIMEOUT,
) -> CompareResult:
    """Compare two batches (folders, or scenario files run first with the same seed).

    When a side is a scenario file and ``seed``/``runs`` are not given, it
    uses the other side's: A's own settings if A is a folder, else the
    scenario defaults of A. Differences are ``p_B - p_A``.

    Raises:
        UsageError: a side is neither a folder nor a file.
        ResultsError: a folder is not a batch.
    """
    from sim.batch.results import (
        FORMAT_VERSION,
        RESULTS_ROOT,
        Staging,
        draw_plots,
        versions,
        write_json,
        write_manifest,
    )

    options: dict[str, Any] = {
        "plots": plots,
        "progress": progress,
        "workers": workers,
        "executor": executor,
        "scheduler": scheduler,
        "results_root": results_root,
        "chunk_timeout": chunk_timeout,
    }
    started = _dt.datetime.now()
    res_a = _side(a, "A", runs, seed, options, check_runs=runs)
    runs_b = int(res_a.summary["runs"]) if runs is None else runs
    seed_b = int(res_a.manifest["seed"]) if seed is None else seed
    res_b = _side(b, "B", runs_b, seed_b, options, check_runs=runs)

    n_a, n_b = int(res_a.summary["runs"]), int(res_b.summary["runs"])
    doc = {
        "a": _describe(res_a, str(a)),
        "b": _describe(res_b, str(b)),
        "difference": "p_b - p_a with Newcombe's hybrid score 95% interval",
        "diffs": differences(res_a.summary["outcomes"], n_a, res_b.summary["outcomes"], n_b),
        "flag_diffs": differences(res_a.summary["flags"], n_a, res_b.summary["flags"], n_b),
    }
    root = Path(results_root) if results_root is not None else RESULTS_ROOT
    with Staging(root / "compare", out, started) as stage:
        write_json(stage.path / "compare.json", doc)
        command = ["wargame", "compare", str(a), str(b)]
        if not Path(a).is_dir() or not Path(b).is_dir():
            command += ["--runs", str(n_a), "--seed", str(res_a.manifest["seed"])]
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
        note = draw_plots(stage.path, "compare")[1] if plots else ""
    return stage.result(note)  # type: ignore[no-any-return]


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
