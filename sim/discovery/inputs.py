"""What discovery is given: the outcome or flag sought and the parameter draws of a batch."""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import UsageError, WargameError
from sim.results.drivers import parameter_name
from sim.results.reader import BatchResult
from sim.spec import did_you_mean

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario.model import Parameter

KIND = "discovery"
"""The ``kind`` in a discovery folder's manifest."""

MIN_CASES = 30
"""Worlds needed with the outcome, and without it, before a box means anything."""


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


def target_of(res: BatchResult, outcome: str | None, flag: str | None) -> Target:
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


def rerun_command(manifest: Mapping[str, Any], runs: int | None = None) -> str:
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


def check_enough(target: Target, cases: int, worlds: int, manifest: Mapping[str, Any]) -> None:
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
        f"{rerun_command(manifest, max(runs, worlds + 1))}"
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


def gist(pid: str, description: str) -> str:
    """A parameter's description as the drivers name it (its first clause), or empty.

    Shared with :func:`sim.results.drivers.parameter_name`, so a parameter
    reads the same on every chart of a batch.
    """
    return parameter_name(pid, description) if description.strip() else ""


def _word(value: Any) -> str:
    """A choice option as a word (numbers as written, 2.0 as 2)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
