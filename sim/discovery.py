"""Scenario discovery: the boxes of parameter values in which an outcome is concentrated.

A batch's ``runs.csv`` holds every world's parameter draws and how it
ended. PRIM (the patient rule induction method of Friedman and Fisher, as
EMA Workbench implements it in ``ema_workbench.analysis.prim``, the
implementation the scenario-discovery literature uses) peels thin slices
off the space of draws, each time the slice whose removal raises the share
of worlds with the outcome most, until the box holds too few worlds. Each
step is a box on the *peeling trajectory*, with

* **coverage**: the share of all worlds with the outcome that lie in the box;
* **density**: the share of the box's worlds that have the outcome;
* **mass**: the share of all worlds that lie in the box.

Peeling trades coverage for density. The box chosen is the one of highest
coverage whose density reaches ``threshold``; if none does, the densest.
Each restriction of the chosen box gets EMA Workbench's quasi-p value (a
one-sided binomial test of whether the box without that restriction is as
dense, Bryant and Lempert 2010): below :data:`SIGNIFICANT` the restriction
matters; above, the box is about as dense without it.

Inputs: each parameter that takes more than one value in the batch.
Choice parameters are categorical (PRIM removes options); whole-number
parameters are numbers. They are given to PRIM as real numbers because EMA
Workbench 3.0.0's pasting step writes half-integers into whole-number
columns, which pandas 3 refuses; their limits are then rounded inward to
the whole numbers the box holds.

The results are a folder of kind ``"discovery"`` (:func:`write_discovery`),
by default next to the batch folder, named after it
(``<batch>-discovery-<outcome>``, ``<batch>-discovery-flag-<flag>``), so
:func:`discoveries_of` finds a batch's discoveries. ``summary.json``'s
``box`` holds the box in words (``sentence``) and its limits
(``restricted``): what the report shows.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import math
import re
import shlex
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import ResultsError, UsageError, WargameError
from sim.results.reader import BatchResult, find_folder, load_results, read_json
from sim.results.staging import Staging
from sim.results.writer import versions, write_json
from sim.spec import did_you_mean
from sim.stats import wilson
from sim.tables import FORMAT_VERSION, check_format, check_table, check_tables, digest, write_table

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario.model import Parameter

KIND = "discovery"
"""The ``kind`` in a discovery folder's manifest."""

TABLES = ("trajectory.csv", "box.csv")
"""The tables of a discovery folder, recorded in its manifest like a batch's."""

MIN_CASES = 30
"""Worlds needed with the outcome, and without it, before a box means anything."""

SIGNIFICANT = 0.05
"""Quasi-p value below which a restriction counts as significant."""

INTEROP_HINT = (
    "scenario discovery needs EMA Workbench, which is in the interop extra: "
    "pip install 'wargame-sim[interop]' (or pip install -r requirements.lock)"
)

Progress = Callable[[int], None]
"""Called with the number of boxes on the trajectory so far, as PRIM peels."""

Presenter = Callable[[Path], str]
"""Draws a written folder's charts and returns one line for the user (as a batch's)."""


@dataclass(frozen=True)
class Target:
    """What the boxes are sought for: an outcome or a flag of the batch."""

    kind: str
    """``"outcome"`` or ``"flag"``."""
    id: str
    name: str

    def as_dict(self) -> dict[str, str]:
        """``{kind, id, name}`` for ``summary.json`` and the manifest."""
        return {"kind": self.kind, "id": self.id, "name": self.name}


@dataclass(frozen=True)
class Dimension:
    """A parameter as PRIM sees it, with what a reader needs to name it."""

    id: str
    label: str
    description: str = ""
    kind: str = "real"
    """``"real"``, ``"integer"`` or ``"choice"``."""


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


@dataclass
class DiscoveryResult:
    """A written discovery folder: manifest, summary and tables."""

    folder: Path
    manifest: dict[str, Any]
    summary: dict[str, Any]
    note: str = field(default="", repr=False)

    @property
    def trajectory(self) -> pd.DataFrame:
        """``trajectory.csv``, checked against the manifest before it is parsed."""
        return self._table("trajectory.csv")

    @property
    def box(self) -> pd.DataFrame:
        """``box.csv``, checked against the manifest before it is parsed."""
        return self._table("box.csv")

    def _table(self, name: str) -> pd.DataFrame:
        from sim.tables import read_table

        check_table(self.folder, name, self.manifest)
        return read_table(self.folder / name)


# -- the inputs -------------------------------------------------------------------
def _target(res: BatchResult, outcome: str | None, flag: str | None) -> Target:
    """The outcome or flag named on the command line, checked against the batch."""
    if (outcome is None) == (flag is None):
        raise UsageError("give one of --outcome ID or --flag ID (what the boxes are sought for)")
    kind, wanted = ("outcome", outcome) if outcome is not None else ("flag", flag)
    assert wanted is not None
    items = res.summary.get("outcomes" if kind == "outcome" else "flags") or []
    known = {str(x["id"]): str(x.get("name") or x["id"]) for x in items}
    if wanted not in known:
        other = "flags" if kind == "outcome" else "outcomes"
        also = {str(x["id"]) for x in res.summary.get(other) or []}
        hint = did_you_mean(wanted, list(known))
        if not hint and wanted in also:
            hint = f"; it is one of the {other} (--{other[:-1]} {wanted})"
        raise UsageError(
            f"--{kind} {wanted!r}: no such {kind} in {res.folder}{hint} "
            f"({kind}s: {', '.join(known) or 'none'})"
        )
    return Target(kind, wanted, known[wanted])


def _rerun_command(manifest: Mapping[str, Any], runs: int | None = None) -> str:
    """The batch's command without ``--no-runs-table`` (and with ``--runs``, if given)."""
    argv = [str(a) for a in manifest.get("argv") or shlex.split(str(manifest.get("command", "")))]
    argv = [a for a in argv if a != "--no-runs-table"]
    if runs is not None:
        for i, a in enumerate(argv):
            if a == "--runs" and i + 1 < len(argv):
                argv[i + 1] = str(runs)
                break
            if a.startswith("--runs="):
                argv[i] = f"--runs={runs}"
                break
        else:
            argv += ["--runs", str(runs)]
    return shlex.join(argv) if argv else "wargame batch SCENARIO"


def _enough(target: Target, cases: int, worlds: int, manifest: Mapping[str, Any]) -> None:
    """Refuse a target too rare (or too common) for a box to mean anything."""
    rare = min(cases, worlds - cases)
    if rare >= MIN_CASES:
        return
    what = f"{target.name} ({target.id})"
    if rare == cases:
        held = f"in {cases:,} of {worlds:,} worlds"
        need = "with it"
    else:
        held = f"in all but {worlds - cases:,} of {worlds:,} worlds"
        need = "without it"
    share = rare / worlds if worlds else 0.0
    runs = 10 * worlds if share == 0 else math.ceil(2 * MIN_CASES / share / 1000) * 1000
    raise UsageError(
        f"{what} {held}: too few worlds {need} for PRIM to tell where it happens "
        f"(at least {MIN_CASES} are needed); run a larger batch, about {runs:,} worlds: "
        f"{_rerun_command(manifest, max(runs, worlds + 1))}"
    )


def _scenario_parameters(res: BatchResult) -> dict[str, Parameter]:
    """The batch's scenario parameters by id, if its file still loads (names, kinds)."""
    from sim.scenario import load_scenario  # start-up time: only when discovering

    m = res.manifest
    given = Path(str(m.get("scenario_file") or ""))
    # Relative to the working folder, or to a folder above the batch (as the report looks).
    bases = (Path.cwd(), *res.folder.resolve().parents)
    path = next((b / given for b in bases if given.name and (b / given).is_file()), None)
    if path is None:
        return {}
    try:
        sc = load_scenario(path, tuple(m.get("overrides") or ()))
    except WargameError:
        return {}
    return {p.id: p for p in sc.parameters}


def _label(pid: str, param: Parameter | None) -> str:
    """A parameter's name for a reader: its own name if the scenario gives one, else its id
    in words."""
    name = getattr(param, "name", "") if param is not None else ""
    return str(name) if name else pid.replace("_", " ")


def inputs(res: BatchResult) -> tuple[pd.DataFrame, dict[str, Dimension], list[str]]:
    """The parameter draws PRIM is given, their dimensions, and the parameters left out.

    A parameter whose value is the same in every world (fixed, or pinned) is
    left out: there is nothing to peel. Choice parameters become words
    (categories), every other parameter a real number.
    """
    runs = res.runs
    params = _scenario_parameters(res)
    columns = [c for c in runs.columns if c.startswith("param_")]
    x = runs[columns].copy()
    x.columns = [c.removeprefix("param_") for c in columns]
    dims: dict[str, Dimension] = {}
    left_out = []
    for pid in list(x.columns):
        col = x[pid]
        if col.nunique(dropna=False) <= 1:
            left_out.append(pid)
            x = x.drop(columns=pid)
            continue
        p = params.get(pid)
        numeric = col.dtype.kind in "iuf"
        if (p is not None and p.dist == "choice") or not numeric:
            kind = "choice"
            x[pid] = col.map(_word).astype(object)
        else:
            kind = "integer" if (p.integer if p is not None else col.dtype.kind in "iu") else "real"
            x[pid] = col.astype(float)
        dims[pid] = Dimension(pid, _label(pid, p), p.description if p else "", kind)
    if not dims:
        raise UsageError(
            f"{res.folder}: no parameter takes more than one value in this batch "
            f"(left out: {', '.join(left_out) or 'none'}), so there is nothing to discover"
        )
    return x, dims, left_out


def gist(description: str) -> str:
    """A parameter description's first clause: "How keen the Kremlin is on war"."""
    text = " ".join(description.split())
    cut = re.search(r"[.:;(]( |$)|\(", text)
    return (text[: cut.start()] if cut else text).strip(" ,")


def _word(value: Any) -> str:
    """A choice option as a word (numbers as written, 2.0 as 2)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- PRIM -----------------------------------------------------------------------------
@contextlib.contextmanager
def _quiet() -> Iterator[None]:
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
    with _quiet():
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
    target = _target(res, outcome, flag)
    if not res.has_runs:
        raise ResultsError(
            f"{res.folder}: no runs.csv (the batch ran with --no-runs-table), and discovery needs "
            f"each world's parameter draws; run the batch again without it: "
            f"{_rerun_command(res.manifest)}"
        )
    import numpy as np  # start-up time: not needed to parse the command line

    runs = res.runs
    if target.kind == "outcome":
        y = (runs["outcome"].astype(str) == target.id).to_numpy()
    else:
        y = runs[f"flag_{target.id}"].to_numpy() == 1
    worlds, cases = len(y), int(np.sum(y))
    _enough(target, cases, worlds, res.manifest)
    x, dims, left_out = inputs(res)
    found = _run_prim(x, y, peel_alpha, min_mass, on_step)
    options = {"threshold": threshold, "peel_alpha": peel_alpha, "min_mass": min_mass}
    trajectory = _trajectory(found, x, dims)
    chosen, met = choose(trajectory, threshold)
    trajectory["chosen"] = (trajectory["box"] == chosen).astype(int)
    box = _box_table(found, chosen, dims)
    summary = _summary(res, target, options, trajectory, box, chosen, met, cases, worlds, left_out)
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
            "description": gist(dim.description),
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


def _qp(v: Any) -> float:
    """A quasi-p value, or NaN where EMA Workbench marks that side as not restricted (-1)."""
    return math.nan if v is None or v < 0 else float(v)


# -- words ----------------------------------------------------------------------------
def number(x: float, kind: str = "real") -> str:
    """A limit as a reader wants it: 24,000 for whole numbers, 0.67 or 0.0033 for others."""
    if kind == "integer" or abs(x) >= 1000:
        return f"{round(x):,}"
    if abs(x) >= 1:
        return f"{x:.3g}"
    return f"{x:.2g}"


def _percent(x: float) -> str:
    return f"{100 * x:.0f}%" if x >= 0.01 or x == 0 else f"{100 * x:.1g}%"


def restriction_words(row: Mapping[str, Any]) -> str:
    """One restriction in words: ``kremlin appetite ≥ 0.49``, ``us resolve is firm``."""
    name = row["name"]
    if row["kind"] == "choice":
        kept = [o.replace("_", " ") for o in str(row["kept"]).split(";") if o]
        if len(kept) == 1:
            return f"{name} is {kept[0]}"
        return f"{name} is {', '.join(kept[:-1])} or {kept[-1]}"
    lo, hi = row["lower"], row["upper"]
    low_cut = lo > row["full_lower"]
    high_cut = hi < row["full_upper"]
    kind = str(row["kind"])
    if low_cut and high_cut:
        return f"{name} between {number(lo, kind)} and {number(hi, kind)}"
    if low_cut:
        return f"{name} ≥ {number(lo, kind)}"
    return f"{name} ≤ {number(hi, kind)}"


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _p_text(p: float) -> str:
    return "quasi-p < 0.001" if p < 0.001 else f"quasi-p {p:.2g}"


def box_sentence(target: Target, box: Mapping[str, Any], base_rate: float) -> str:
    """The chosen box in one sentence, as the report quotes it."""
    limits = [r["words"] for r in box["restricted"]]
    when = f" when {_and(limits)}" if limits else " in the whole space of draws"
    return (
        f"{target.name} in {_percent(box['density'])} of worlds{when}, covering "
        f"{_percent(box['coverage'])} of all the worlds where it happens (the box holds "
        f"{_percent(box['mass'])} of all worlds; base rate {_percent(base_rate)})."
    )


def significance_sentence(restricted: Sequence[Mapping[str, Any]]) -> str:
    """Which restrictions are significant by their quasi-p values and which are not."""
    yes = [r for r in restricted if r["significant"]]
    no = [r for r in restricted if not r["significant"]]
    parts = []
    if yes:
        items = [f"{r['name']} ({_p_text(r['quasi_p'])})" for r in yes]
        parts.append(f"Significant restrictions (quasi-p below {SIGNIFICANT:g}): {_and(items)}.")
    if no:
        items = [
            f"{r['name']} ({_p_text(r['quasi_p'])})" if math.isfinite(r["quasi_p"]) else r["name"]
            for r in no
        ]
        parts.append(
            f"Not significant: {_and(items)}; the box is about as dense without "
            f"{'this restriction' if len(no) == 1 else 'these restrictions'}."
        )
    return " ".join(parts)


def _finite(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _summary(
    res: BatchResult,
    target: Target,
    options: Mapping[str, float],
    trajectory: pd.DataFrame,
    box: pd.DataFrame,
    chosen: int,
    met: bool,
    cases: int,
    worlds: int,
    left_out: list[str],
) -> dict[str, Any]:
    """``summary.json``: see docs/discovery.md for each field."""
    row = trajectory[trajectory["box"] == chosen].iloc[0]
    restricted = [
        {
            "id": r["parameter"],
            "name": r["name"],
            "description": r["description"],
            "kind": r["kind"],
            "lower": _finite(r["lower"]),
            "upper": _finite(r["upper"]),
            "full_lower": _finite(r["full_lower"]),
            "full_upper": _finite(r["full_upper"]),
            "kept": [o for o in str(r["kept"]).split(";") if o],
            "options": [o for o in str(r["options"]).split(";") if o],
            "quasi_p": _finite(r["quasi_p"]),
            "significant": bool(r["significant"]),
            "words": r["words"],
        }
        for r in box.to_dict("records")
    ]
    base = cases / worlds
    chosen_box = {
        "index": chosen,
        "of": len(trajectory),
        "coverage": float(row["coverage"]),
        "density": float(row["density"]),
        "density_lo": float(row["density_lo"]),
        "density_hi": float(row["density_hi"]),
        "mass": float(row["mass"]),
        "worlds": int(row["worlds"]),
        "cases": int(row["cases"]),
        "threshold_met": met,
        "restricted": restricted,
    }
    chosen_box["sentence"] = box_sentence(target, chosen_box, base)
    chosen_box["significance"] = significance_sentence(restricted)
    s = res.summary
    notes = []
    if not met:
        top = float(trajectory["density"].max())
        notes.append(
            f"No box on the trajectory reaches a density of {_percent(options['threshold'])} "
            f"(the densest holds {_percent(top)}); the densest is shown. A lower --threshold "
            "picks a box of larger coverage."
        )
    if left_out:
        notes.append(
            "Left out, as they take one value in every world (fixed or pinned): "
            + ", ".join(p.replace("_", " ") for p in left_out)
            + "."
        )
    return {
        "kind": KIND,
        "scenario": s.get("scenario"),
        "title": s.get("title"),
        "runs": int(s.get("runs", worlds)),
        "seed": s.get("seed"),
        "batch": str(res.folder.resolve()),
        "target": target.as_dict(),
        "worlds": worlds,
        "cases": cases,
        "base_rate": base,
        "options": dict(options),
        "box": chosen_box,
        "left_out": left_out,
        "notes": notes,
    }


# -- the folder -------------------------------------------------------------------------
def default_folder(batch_folder: Path, target: Target) -> Path:
    """``<batch>-discovery-<outcome>`` (or ``-flag-<flag>``) beside the batch, first free name."""
    real = batch_folder.resolve()
    tag = target.id if target.kind == "outcome" else f"flag-{target.id}"
    stem = f"{real.name}-discovery-{tag}"
    for k in range(1, 10_000):
        path = real.parent / (stem if k == 1 else f"{stem}-{k}")
        if not path.exists() and not path.is_symlink():
            return path
    raise ResultsError(f"{real.parent}: too many discovery folders named {stem}")


def write_discovery(
    found: Discovery,
    *,
    out: str | Path | None = None,
    command: Sequence[str] | None = None,
    on_complete: Presenter | None = None,
    started: _dt.datetime | None = None,
) -> DiscoveryResult:
    """Write ``found`` as a discovery folder, whole or not at all.

    Args:
        found: what :func:`discover` returned.
        out: the exact folder to create (it must not exist); by default
            :func:`default_folder`, beside the batch.
        command: the command line that reproduces the folder (for the manifest).
        on_complete: draws the charts into the folder before it is renamed into
            place; returns one line for the user (an error in it becomes that line).
        started: when the work began (for the manifest's wall time).

    Raises:
        ResultsError: the folder cannot be written (nothing is kept).
    """
    started = started or _dt.datetime.now()
    res = found.batch
    target = default_folder(res.folder, found.target) if out is None else Path(out)
    argv = list(command) if command else _command(found)
    with Staging(target.parent, target, started) as stage:
        write_table(stage.path / "trajectory.csv", found.trajectory)
        write_table(stage.path / "box.csv", found.box)
        write_json(stage.path / "summary.json", found.summary)
        finished = _dt.datetime.now()
        batch_runs = (res.manifest.get("tables") or {}).get("runs.csv") or {}
        manifest = {
            "format_version": FORMAT_VERSION,
            "kind": KIND,
            "scenario": res.manifest.get("scenario"),
            "scenario_file": res.manifest.get("scenario_file"),
            "sha256": res.manifest.get("sha256"),
            "batch": str(res.folder.resolve()),
            "batch_runs_sha256": batch_runs.get("sha256"),
            "target": found.target.as_dict(),
            "options": found.options,
            "versions": versions() | {"ema_workbench": _ema_version()},
            "started": started.astimezone().isoformat(timespec="seconds"),
            "finished": finished.astimezone().isoformat(timespec="seconds"),
            "wall_seconds": round((finished - started).total_seconds(), 3),
            "command": shlex.join(argv),
            "argv": argv,
            "tables": {name: digest(stage.path / name) for name in TABLES},
        }
        write_json(stage.path / "manifest.json", manifest)
        note = ""
        if on_complete is not None:
            try:
                note = on_complete(stage.path)
            except Exception as exc:
                note = f"drawing the charts failed ({type(exc).__name__}: {exc})"
    assert stage.final is not None
    return DiscoveryResult(
        stage.final, manifest, found.summary, note.replace(str(stage.path), str(stage.final))
    )


def _command(found: Discovery) -> list[str]:
    """The command line that writes the same folder (the batch named by its own folder)."""
    real = found.batch.folder.resolve()
    with contextlib.suppress(ValueError):
        real = real.relative_to(Path.cwd().resolve())
    argv = ["wargame", "discover", str(real), f"--{found.target.kind}"]
    argv.append(found.target.id)
    for key, flag in (("threshold", "--threshold"), ("peel_alpha", "--peel-alpha")):
        argv += [flag, f"{found.options[key]:g}"]
    return [*argv, "--min-mass", f"{found.options['min_mass']:g}"]


def _ema_version() -> str:
    with _quiet():
        import ema_workbench  # start-up time; present, as discover ran

    return str(ema_workbench.__version__)


def load_discovery(folder: str | Path) -> DiscoveryResult:
    """Open a discovery folder; its tables are checked against the manifest.

    Raises:
        ResultsError: not a discovery folder, or one altered since it was written.
    """
    import json

    path = find_folder(
        folder, missing="not a results folder (no manifest.json); expected a discovery folder"
    )
    try:
        m = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path / 'manifest.json'}: cannot be read ({exc})") from exc
    check_format(m, path / "manifest.json")
    if m.get("kind") != KIND:
        raise ResultsError(f"{path}: a {m.get('kind')!r} folder, not a discovery")
    check_tables(path, m)
    for name in TABLES:
        check_table(path, name, m)
    return DiscoveryResult(path, m, read_json(path / "summary.json"))


def discoveries_of(batch_folder: str | Path) -> list[DiscoveryResult]:
    """The discoveries written beside a batch by default, of its very tables, oldest first.

    A folder counts when it is named after the batch (``<batch>-discovery-...``),
    opens soundly, and records the SHA-256 of the batch's ``runs.csv``.
    Folders written elsewhere with ``--out`` are not found.
    """
    batch = find_folder(batch_folder).resolve()
    m = read_json(batch / "manifest.json")
    runs_sha = ((m.get("tables") or {}).get("runs.csv") or {}).get("sha256")
    found = []
    for path in sorted(batch.parent.glob(f"{batch.name}-discovery-*")):
        if not path.is_dir():
            continue
        try:
            d = load_discovery(path)
        except ResultsError:
            continue
        if runs_sha and d.manifest.get("batch_runs_sha256") == runs_sha:
            found.append(d)
    return sorted(found, key=lambda d: str(d.manifest.get("finished", "")))
