"""The chosen box in words, and the summary that carries them (``summary.json``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sim.discovery.inputs import KIND, Target
from sim.results.reader import BatchResult

if TYPE_CHECKING:
    import pandas as pd


SIGNIFICANT = 0.05
"""Quasi-p value below which a restriction counts as significant."""


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


def summarise(
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
    reduced: Mapping[str, Any] | None = None,
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
    chosen_box["significant_only"] = None
    if reduced is not None:
        names = [r["name"] for r in restricted if r["id"] in set(reduced["restricted"])]
        chosen_box["significant_only"] = dict(reduced) | {
            "sentence": f"Keeping only the significant restrictions ({_and(names)}), "
            f"{_percent(reduced['density'])} of the box's worlds have it, covering "
            f"{_percent(reduced['coverage'])} of all the worlds where it happens (the box "
            f"holds {_percent(reduced['mass'])} of all worlds)."
        }
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
