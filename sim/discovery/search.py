"""PRIM on a batch's draws: the peeling trajectory, the box chosen on it, its tables."""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.discovery.inputs import (
    Dimension,
    Target,
    check_enough,
    gist,
    inputs,
    rerun_command,
    target_of,
)
from sim.discovery.words import SIGNIFICANT, restriction_words, summarise
from sim.errors import ResultsError, UsageError
from sim.results.reader import BatchResult, load_results
from sim.stats import wilson

if TYPE_CHECKING:
    import pandas as pd


INTEROP_HINT = (
    "scenario discovery needs EMA Workbench, which is in the interop extra: "
    "pip install 'wargame-sim[interop]' (or pip install -r requirements.lock)"
)

Progress = Callable[[int], None]
"""Called with the number of boxes on the trajectory so far, as PRIM peels."""


@dataclass
class Discovery:
    """What PRIM found for one target in one batch (data; :func:`write_discovery` writes it)."""

    batch: BatchResult
    target: Target
    options: dict[str, float]
    trajectory: pd.DataFrame
    """One row per box on the peeling trajectory (the columns of ``trajectory.csv``)."""
    box: pd.DataFrame
    """One row per restricted parameter of the chosen box (the columns of ``box.csv``)."""
    summary: dict[str, Any]
    """``summary.json``: the target, base rate, chosen box in words and numbers."""


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """EMA Workbench's import warning (no ipyparallel) and its log lines, silenced."""
    logger = logging.getLogger("EMA")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _run_prim(
    x: pd.DataFrame,
    y: Any,
    peel_alpha: float,
    min_mass: float,
    on_step: Progress | None,
) -> Any:
    """EMA Workbench's PRIM on ``x`` and ``y``; the box found (all its trajectory)."""
    with quiet():
        try:
            from ema_workbench.analysis import prim  # start-up time; an optional extra
        except ImportError as exc:
            raise UsageError(INTEROP_HINT) from exc

        class CountedBox(prim.PrimBox):
            """A box that reports each step of its trajectory, for a progress bar."""

            def update(self, box_lims: Any, indices: Any) -> None:
                super().update(box_lims, indices)
                if on_step is not None:
                    on_step(len(self.peeling_trajectory))

        finder = prim.Prim(x, y, peel_alpha=peel_alpha, paste_alpha=peel_alpha, mass_min=min_mass)
        finder._prim_box_klass = CountedBox
        return finder.find_box()


def expected_steps(peel_alpha: float, min_mass: float) -> int:
    """About how many peels take the box from all worlds to ``min_mass`` (for a progress bar)."""
    return max(1, math.ceil(math.log(min_mass) / math.log(1 - peel_alpha))) + 1


def _check_options(threshold: float, peel_alpha: float, min_mass: float) -> None:
    if not 0 < threshold <= 1:
        raise UsageError(f"--threshold {threshold:g}: expected a density above 0, at most 1")
    if not 0 < peel_alpha < 0.5:
        raise UsageError(
            f"--peel-alpha {peel_alpha:g}: expected a share of the box peeled per step, "
            "above 0 and below 0.5 (PRIM's usual 0.05)"
        )
    if not 0 < min_mass < 1:
        raise UsageError(
            f"--min-mass {min_mass:g}: expected the smallest share of all worlds a box may "
            "hold, above 0 and below 1 (e.g. 0.05)"
        )


def discover(
    batch: str | Path | BatchResult,
    *,
    outcome: str | None = None,
    flag: str | None = None,
    threshold: float = 0.8,
    peel_alpha: float = 0.05,
    min_mass: float = 0.05,
    on_step: Progress | None = None,
) -> Discovery:
    """Find the box of parameter values in which ``outcome`` (or ``flag``) is concentrated.

    Args:
        batch: a batch's results folder (or ``results/<scenario>``: its latest),
            or the batch opened.
        outcome: the outcome id; give this or ``flag``.
        flag: the flag id.
        threshold: the density the chosen box must reach (the densest box is
            chosen if none does).
        peel_alpha: the share of the box's worlds peeled off per step (and
            the pasting step).
        min_mass: peeling stops before a box would hold fewer than this share
            of all worlds.
        on_step: called with the trajectory's length as PRIM goes.

    Raises:
        ResultsError: not a batch folder, or one without ``runs.csv``.
        UsageError: an unknown outcome or flag, one in too few worlds (or
            in too many), bad options, or EMA Workbench not installed.
    """
    _check_options(threshold, peel_alpha, min_mass)
    res = batch if isinstance(batch, BatchResult) else load_results(batch)
    if not isinstance(res, BatchResult):
        raise ResultsError(
            f"{res.folder}: a {res.kind} folder; discovery needs the folder of a batch "
            "(wargame batch SCENARIO)"
        )
    target = target_of(res, outcome, flag)
    if not res.has_runs:
        raise ResultsError(
            f"{res.folder}: no runs.csv (the batch ran with --no-runs-table), and discovery needs "
            f"each world's parameter draws; run the batch again without it: "
            f"{rerun_command(res.manifest)}"
        )
    import numpy as np  # start-up time: not needed to parse the command line

    runs = res.runs
    if target.kind == "outcome":
        y = (runs["outcome"].astype(str) == target.id).to_numpy()
    else:
        y = runs[f"flag_{target.id}"].to_numpy() == 1
    worlds, cases = len(y), int(np.sum(y))
    check_enough(target, cases, worlds, res.manifest)
    x, dims, left_out = inputs(res)
    found = _run_prim(x, y, peel_alpha, min_mass, on_step)
    options = {"threshold": threshold, "peel_alpha": peel_alpha, "min_mass": min_mass}
    trajectory = _trajectory(found, x, dims)
    chosen, met = choose(trajectory, threshold)
    trajectory["chosen"] = (trajectory["box"] == chosen).astype(int)
    box = _box_table(found, chosen, dims)
    reduced = significant_box(x, y, box)
    summary = summarise(
        res, target, options, trajectory, box, chosen, met, cases, worlds, left_out, reduced
    )
    return Discovery(res, target, options, trajectory, box, summary)


def choose(trajectory: pd.DataFrame, threshold: float) -> tuple[int, bool]:
    """The box of highest coverage with density at least ``threshold``, else the densest.

    Returns the box's number and whether it reached the threshold. Of boxes
    with the same coverage the densest is taken, then the one with fewer
    restrictions, then the earlier one.
    """
    ok = trajectory[trajectory["density"] >= threshold]
    if len(ok):
        keys = ["coverage", "density", "restricted", "box"]
        best = ok.sort_values(keys, ascending=[False, False, True, True])
        return int(best["box"].iloc[0]), True
    best = trajectory.sort_values(["density", "restricted", "box"], ascending=[False, True, True])
    return int(best["box"].iloc[0]), False


def _restricted(box_lim: Any, init: Any, dims: Mapping[str, Dimension]) -> list[str]:
    """Parameters whose limits in ``box_lim`` are narrower than in the initial box."""
    out = []
    for pid, dim in dims.items():
        if dim.kind == "choice":
            if set(box_lim.loc[0, pid]) != set(init.loc[0, pid]):
                out.append(pid)
        elif box_lim.loc[0, pid] > init.loc[0, pid] or box_lim.loc[1, pid] < init.loc[1, pid]:
            out.append(pid)
    return out


def _trajectory(found: Any, x: pd.DataFrame, dims: Mapping[str, Dimension]) -> pd.DataFrame:
    """``trajectory.csv``: each box's coverage, density (with Wilson 95%), mass and restrictions."""
    import pandas as pd  # start-up time

    pt = found.peeling_trajectory
    init = found.prim.box_init
    rows = []
    for i in range(len(pt)):
        k, n = int(pt["k"].iloc[i]), int(pt["n"].iloc[i])
        lo, hi = wilson(k, n)
        names = _restricted(found.box_lims[i], init, dims)
        rows.append(
            {
                "box": i,
                "coverage": float(pt["coverage"].iloc[i]),
                "density": float(pt["density"].iloc[i]),
                "density_lo": lo,
                "density_hi": hi,
                "mass": float(pt["mass"].iloc[i]),
                "worlds": n,
                "cases": k,
                "restricted": len(names),
                "parameters": ";".join(names),
            }
        )
    return pd.DataFrame(rows)


def _inward(dim: Dimension, lower: float, upper: float) -> tuple[float, float]:
    """Limits as the box holds them: whole-number parameters rounded inward."""
    if dim.kind == "integer":
        return float(math.ceil(lower - 1e-9)), float(math.floor(upper + 1e-9))
    return float(lower), float(upper)


def _box_table(found: Any, i: int, dims: Mapping[str, Dimension]) -> pd.DataFrame:
    """``box.csv``: one row per restricted parameter of box ``i``, limits and quasi-p values."""
    import pandas as pd  # start-up time

    lim, init = found.box_lims[i], found.prim.box_init
    qp = found.p_values[i]
    rows = []
    for pid in _restricted(lim, init, dims):
        dim = dims[pid]
        q = [v for v in qp.get(pid, []) if v is not None and v >= 0]
        row: dict[str, Any] = {
            "parameter": pid,
            "name": dim.label,
            "description": gist(pid, dim.description),
            "kind": dim.kind,
            "lower": math.nan,
            "upper": math.nan,
            "full_lower": math.nan,
            "full_upper": math.nan,
            "kept": "",
            "options": "",
        }
        sides = [*qp.get(pid, [-1, -1]), -1, -1]
        if dim.kind == "choice":
            every = sorted(map(str, init.loc[0, pid]))
            row["kept"] = ";".join(o for o in every if o in set(map(str, lim.loc[0, pid])))
            row["options"] = ";".join(every)
            row["qp_lower"], row["qp_upper"] = _qp(sides[0]), math.nan
        else:
            row["lower"], row["upper"] = _inward(dim, lim.loc[0, pid], lim.loc[1, pid])
            row["full_lower"], row["full_upper"] = float(init.loc[0, pid]), float(init.loc[1, pid])
            row["qp_lower"], row["qp_upper"] = _qp(sides[0]), _qp(sides[1])
        row["quasi_p"] = min(q) if q else math.nan
        row["significant"] = int(bool(q) and min(q) < SIGNIFICANT)
        row["words"] = restriction_words(row)
        rows.append(row)
    columns = [
        "parameter", "name", "description", "kind", "lower", "upper", "full_lower", "full_upper",
        "kept", "options", "qp_lower", "qp_upper", "quasi_p", "significant", "words",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def significant_box(x: pd.DataFrame, y: Any, box: pd.DataFrame) -> dict[str, Any] | None:
    """The chosen box with its significant restrictions only: coverage, density (Wilson 95%), mass.

    ``None`` when every restriction is significant, or none is (nothing to drop,
    or nothing left).
    """
    import numpy as np  # start-up time

    keep = box[box["significant"] == 1]
    if len(keep) == 0 or len(keep) == len(box):
        return None
    inside = np.ones(len(x), dtype=bool)
    for r in keep.to_dict("records"):
        col = x[r["parameter"]]
        if r["kind"] == "choice":
            inside &= col.isin(str(r["kept"]).split(";")).to_numpy()
        else:
            inside &= ((col >= r["lower"]) & (col <= r["upper"])).to_numpy()
    n, k, total = int(inside.sum()), int(np.sum(y[inside])), int(np.sum(y))
    lo, hi = wilson(k, n)
    return {
        "restricted": [str(p) for p in keep["parameter"]],
        "coverage": k / total,
        "density": k / n if n else 0.0,
        "density_lo": lo,
        "density_hi": hi,
        "mass": n / len(x),
        "worlds": n,
        "cases": k,
    }


def _qp(v: Any) -> float:
    """A quasi-p value, or NaN where EMA Workbench marks that side as not restricted (-1)."""
    return math.nan if v is None or v < 0 else float(v)
