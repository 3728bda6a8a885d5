"""The report's first page: the scenario's question answered in a sentence and a few numbers.

Everything here is read from what the batch stored (``summary.json``,
``daily.csv``, ``drivers.csv``), from folders written beside it (scenario
discoveries, rule knock-outs) and from the scenario file; nothing is rerun.
:func:`brief` gathers it, :mod:`sim.report.page` writes it as page 1.

* **Aggregates** come from the ladder, for any scenario: *war* is a world
  whose highest rung reached the first rung at the Correlates of War
  hostility level 5 (war) or one above it, *any use of force* the same from
  the first rung at level 4. Both are read from the last day of
  ``daily.csv`` (``reached_<rung>``: the share of worlds at or above the rung
  by then), with Wilson's 95% interval.
* **Drivers** are the parameters that swing the most severe outcome reached
  by at least :data:`COMMON` of the worlds the most (``drivers.csv``), with
  the share in their lowest and highest bin.
* **Time to event** is each key rung's share of worlds reaching it and the
  median first day among those that did (``summary.json``).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import ResultsError
from sim.stats import Share, share
from sim.tables import check_tables

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario.model import Scenario

COMMON = 0.05
"""An outcome in at least this share of worlds is common enough to explain on page 1."""
TOP_DRIVERS = 4
"""Drivers named on page 1 (those whose swing interval excludes 0, at most this many)."""
TOP_KNOCKOUTS = 3
"""Knock-outs named on page 1."""

LEVELS = ((5, "War", "war"), (4, "Any use of force", "use of force"))
"""Correlates of War hostility levels aggregated on page 1: level, name, the level's words."""


@dataclass(frozen=True)
class Aggregate:
    """A share of worlds over several rungs: ``name`` and how it is defined."""

    name: str
    definition: str
    share: Share
    rung: str = ""
    """The name of the aggregate's first rung."""


@dataclass(frozen=True)
class Driver:
    """How an outcome's share moves from a parameter's lowest bin (or option) to its highest."""

    parameter: str
    output: str
    low_label: str
    low: float
    high_label: str
    high: float
    swing: float
    swing_lo: float
    swing_hi: float
    choice: bool

    def sentence(self) -> str:
        """``"<param>: <output> in 43% of worlds when it is lowest (a–b) vs 2% when highest"``."""
        return f"{self.parameter}: {self.output} in {self.shares()}"

    def shares(self) -> str:
        """``"43% of worlds when it is lowest (a–b) vs 2% when highest (c–d)"``."""
        if self.choice:
            return (
                f"{_pct(self.low)} of worlds when it is \u201c{self.low_label}\u201d vs "
                f"{_pct(self.high)} when \u201c{self.high_label}\u201d"
            )
        return (
            f"{_pct(self.low)} of worlds when it is lowest ({self.low_label}) vs "
            f"{_pct(self.high)} when highest ({self.high_label})"
        )


@dataclass(frozen=True)
class Milestone:
    """A key rung: the share of worlds reaching it and the median first day of those that did."""

    rung: str
    reached: Share | None
    median_day: float | None
    date: str | None


@dataclass(frozen=True)
class Variant:
    """A scenario file that ``extends`` this one (a counterfactual to compare against)."""

    file: str
    title: str


@dataclass
class Brief:
    """What page 1 says."""

    question: str
    headline: str
    outcomes: list[dict[str, Any]]
    aggregates: list[Aggregate]
    drivers_output: str | None
    drivers: list[Driver]
    quiet_drivers: int
    """Drawn parameters whose swing on ``drivers_output`` is not told apart from 0."""
    milestones: list[Milestone]
    knockouts: list[str]
    discoveries: list[str]
    variants: list[Variant]
    caveats: list[str] = field(default_factory=list)


def _pct(p: float | None) -> str:
    """A share as a whole percentage (``<1%`` when small but not zero)."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "\u2013"
    if 0 < p < 0.005:
        return "<1%"
    return f"{100 * p:.0f}%"


def _interval(lo: float | None, hi: float | None) -> str:
    if lo is None or hi is None:
        return ""
    return f"{100 * lo:.0f}\u2013{100 * hi:.0f}%"


def _words(value: Any) -> str:
    """An option word (``only_if_attacked``) as words (``only if attacked``)."""
    return str(value).replace("_", " ")


def _date(start: Any, day: float | None) -> str | None:
    try:
        first = _dt.date.fromisoformat(str(start))
    except ValueError:
        return None
    if day is None:
        return None
    return (first + _dt.timedelta(days=round(day))).strftime("%-d %B %Y")


# -- aggregates --------------------------------------------------------------------
def aggregates(summary: Mapping[str, Any], daily: pd.DataFrame | None) -> list[Aggregate]:
    """War and any use of force, from the ladder's hostility levels and the last day.

    A level is left out when no rung reaches it, when it starts at the first
    rung (every world would count) or when ``daily.csv`` lacks its column.
    """
    ladder = list(summary.get("ladder") or ())
    if daily is None or daily.empty or not ladder:
        return []
    last = daily.iloc[-1]
    worlds = int(last.get("worlds", summary.get("runs", 0)) or 0)
    out = []
    for level, name, words in LEVELS:
        at = [i for i, r in enumerate(ladder) if (r.get("mid_level") or 0) >= level]
        if not at or at[0] == 0 or worlds <= 0:
            continue
        rung = ladder[at[0]]
        col = f"reached_{rung['id']}"
        if col not in daily.columns:
            continue
        count = round(float(last[col]) * worlds)
        above = " or a rung above it" if at[0] < len(ladder) - 1 else ""
        out.append(
            Aggregate(
                name,
                f"the worlds that reached {rung.get('name', rung['id'])}{above} "
                f"(the ladder's first rung at hostility level {level}, {words}, "
                "on the Correlates of War scale)",
                share(count, worlds),
                str(rung.get("name", rung["id"])),
            )
        )
    return out


# -- drivers -----------------------------------------------------------------------
def driven_outcome(summary: Mapping[str, Any], drivers: pd.DataFrame | None) -> str | None:
    """The most severe outcome in :data:`COMMON` of worlds or more that ``drivers.csv`` has."""
    if drivers is None or drivers.empty:
        return None
    explained = set(drivers.loc[drivers["kind"] == "outcome", "output"].astype(str))
    for o in reversed(summary.get("outcomes") or ()):
        if (o.get("p") or 0) >= COMMON and str(o["id"]) in explained:
            return str(o["id"])
    return None


def top_drivers(
    drivers: pd.DataFrame, output: str, n: int = TOP_DRIVERS
) -> tuple[list[Driver], int]:
    """The ``n`` parameters of ``drivers.csv`` that swing ``output`` most, and how many others
    were drawn but swing it by an amount not told apart from 0."""
    rows = drivers[(drivers["output"].astype(str) == output) & (drivers["binning"] != "not drawn")]
    found: list[Driver] = []
    quiet = 0
    for _, g in sorted(rows.groupby("parameter", sort=False), key=lambda kv: kv[1]["rank"].min()):
        g = g.sort_values("bin")
        first = g.iloc[0]
        lo, hi = float(first["swing_lo"]), float(first["swing_hi"])
        if lo <= 0 <= hi:
            quiet += 1
            continue
        if len(found) >= n:
            continue
        choice = first["binning"] == "option"
        if choice:
            low, high = g.loc[g["share"].idxmin()], g.loc[g["share"].idxmax()]
        else:
            low, high = g.iloc[0], g.iloc[-1]
        found.append(
            Driver(
                parameter=str(first["parameter_name"]),
                output=str(first["output_name"]),
                low_label=_words(low["bin_label"]),
                low=float(low["share"]),
                high_label=_words(high["bin_label"]),
                high=float(high["share"]),
                swing=float(first["swing"]),
                swing_lo=lo,
                swing_hi=hi,
                choice=bool(choice),
            )
        )
    return found, quiet


# -- time to event -----------------------------------------------------------------
def milestones(summary: Mapping[str, Any], daily: pd.DataFrame | None) -> list[Milestone]:
    """Each key rung: share of worlds reaching it by the last day, median first day and date."""
    names = {r["id"]: r.get("name", r["id"]) for r in summary.get("ladder") or ()}
    medians = summary.get("median_first_day") or {}
    last = None if daily is None or daily.empty else daily.iloc[-1]
    worlds = int(summary.get("runs") or 0)
    out = []
    for rung in summary.get("key_rungs") or ():
        reached = None
        if last is not None and f"reached_{rung}" in last.index and worlds > 0:
            reached = share(round(float(last[f"reached_{rung}"]) * worlds), worlds)
        day = medians.get(rung)
        day = None if day is None or (isinstance(day, float) and math.isnan(day)) else float(day)
        out.append(Milestone(names.get(rung, rung), reached, day, _date(summary.get("start"), day)))
    return out


# -- folders beside the batch ------------------------------------------------------
def knockouts_beside(folder: Path, manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    """The summary of the newest sound ``knockouts`` folder of the same scenario, or ``None``.

    ``wargame knockouts`` writes ``results/<scenario>/knockouts/<time>``; a
    batch in ``results/<scenario>/<time>`` finds it beside itself. It counts
    only when its manifest records the same scenario file contents (sha256)
    and overrides as the batch's and its tables match their record. The
    rows of its ``knockouts.csv`` (one per knock-out and output) are added
    as ``rows`` when the folder has one.
    """
    group = folder.resolve().parent / "knockouts"
    if not group.is_dir():
        return None
    for path in sorted((p for p in group.iterdir() if p.is_dir()), reverse=True):
        if path.is_symlink():
            continue
        try:
            m = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
            if m.get("kind") != "knockouts" or m.get("sha256") != manifest.get("sha256"):
                continue
            if list(m.get("overrides") or ()) != list(manifest.get("overrides") or ()):
                continue
            check_tables(path, m)
            summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
            rows: list[dict[str, Any]] = []
            if "knockouts.csv" in (m.get("tables") or {}):
                import pandas as pd  # start-up time: only when a knock-outs folder is there

                rows = pd.read_csv(path / "knockouts.csv").to_dict("records")
        except (OSError, ValueError, ResultsError):
            continue
        if isinstance(summary.get("knockouts"), list):
            return dict(summary) | {"rows": rows}
    return None


def _rule_words(description: Any, rule: Any) -> str:
    """A rule's description cut to its first clause, else its id in words."""
    text = "" if not isinstance(description, str) else " ".join(description.split())
    head = re.split(r"[.:;]\s|\s\(|[.:;]$", text, maxsplit=1)[0].strip() if text else ""
    head = re.sub(r"[\s/*+=^-]+$", "", head)
    if not head:
        return _words(str(rule).rsplit(".", 1)[-1])
    return head if len(head) <= 90 else head[:90].rsplit(" ", 1)[0] + "\u2026"


def knockout_lines(
    summary: Mapping[str, Any] | None, output: str | None = None, n: int = TOP_KNOCKOUTS
) -> list[str]:
    """The ``n`` knock-outs that change ``output`` most, their interval clear of 0.

    Without ``output`` (or without the folder's rows), the knock-outs that
    change any outcome or key flag most, as ``summary.json`` ranks them.
    """
    if not summary:
        return []
    picked: list[Mapping[str, Any]] = []
    rows = [r for r in summary.get("rows") or () if output and str(r.get("output")) == output]
    if rows:
        clear = [r for r in rows if bool(r.get("clear"))]
        picked = sorted(clear, key=lambda r: (-abs(float(r["diff"])), str(r.get("rule"))))[:n]
    else:
        for k in summary.get("knockouts") or ():
            top = k.get("largest") or {}
            if top.get("clear") and len(picked) < n:
                picked.append(
                    k | {key: top.get(key) for key in ("output_name", "diff", "lo", "hi")}
                )
    lines = []
    for k in picked:
        what = _rule_words(k.get("description"), k.get("rule", ""))
        who = k.get("actor_name") if isinstance(k.get("actor_name"), str) else ""
        diff = 100 * float(k.get("diff") or 0)
        lo, hi = 100 * float(k.get("lo") or 0), 100 * float(k.get("hi") or 0)
        lines.append(
            f"Without the rule \u201c{what}\u201d{f' ({who})' if who else ''}: "
            f"{k.get('output_name', '')} {diff:+.0f} points ({lo:+.0f} to {hi:+.0f})"
        )
    return lines


def discovery_sentence(summary: Mapping[str, Any]) -> str | None:
    """A discovery's box in one sentence, parameters by their descriptions.

    When PRIM's box keeps restrictions that are not significant, the box of
    the significant ones alone (``significant_only``) is told instead:
    fewer limits, about as dense.
    """
    from sim.discovery.words import restriction_words

    box = summary.get("box") or {}
    target = (summary.get("target") or {}).get("name") or ""
    rows = list(box.get("restricted") or ())
    told: Mapping[str, Any] = box
    only = box.get("significant_only") or {}
    if only.get("restricted") and len(only["restricted"]) < len(rows):
        keep = set(only["restricted"])
        rows = [r for r in rows if r.get("id") in keep]
        told = only
    if not rows or not target or told.get("density") is None:
        return box.get("sentence")
    limits = []
    for r in rows:
        name = str(r.get("description") or r.get("name") or r.get("id"))
        limits.append(restriction_words(dict(r) | {"name": name, "kept": ";".join(r["kept"])}))
    when = limits[0] if len(limits) == 1 else ", ".join(limits[:-1]) + " and " + limits[-1]
    return (
        f"Scenario discovery: {target} in {_pct(told['density'])} of worlds "
        f"({_interval(told.get('density_lo'), told.get('density_hi'))}) when {when}, covering "
        f"{_pct(told.get('coverage'))} of the worlds where it happens (the box holds "
        f"{_pct(told.get('mass'))} of all worlds; base rate {_pct(summary.get('base_rate'))})."
    )


def discovery_lines(folder: Path) -> list[str]:
    """The box of each scenario discovery written beside the batch, in a sentence."""
    try:
        from sim.discovery import discoveries_of
    except ImportError:  # the discovery extra is optional
        return []
    try:
        found = discoveries_of(folder)
    except ResultsError:
        return []
    lines = []
    for d in found:
        try:
            sentence = discovery_sentence(d.summary or {})
        except (KeyError, TypeError, ValueError):
            sentence = ((d.summary or {}).get("box") or {}).get("sentence")
        if sentence and sentence not in lines:
            lines.append(str(sentence))
    return lines


_EXTENDS = re.compile(r"^extends:\s*[\"']?([^\"'\s#]+)", re.MULTILINE)
_TITLE = re.compile(r"^\s+title:\s*(.+?)\s*$", re.MULTILINE)


def variants_of(scenario_file: Path | None) -> list[Variant]:
    """The scenario files beside ``scenario_file`` that extend it, by file name."""
    if scenario_file is None or not scenario_file.is_file():
        return []
    out = []
    for path in sorted(scenario_file.parent.glob("*.yaml")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeError):
            continue
        ext = _EXTENDS.search(text)
        if not ext or (path.parent / ext.group(1)).resolve() != scenario_file.resolve():
            continue
        title = _TITLE.search(text)
        name = title.group(1).strip("\"'") if title else path.stem.replace("_", " ")
        out.append(Variant(path.name, name))
    return out


# -- caveats -----------------------------------------------------------------------
def assumed(sc: Scenario | None, pinned: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """Names of the drawn parameters, and of those the scenario marks as assumptions.

    A parameter is marked when its description says so ("modellers'
    assumption", any word starting "assum") or when it cites no claim.
    """
    if sc is None:
        return [], []
    from sim.results.drivers import parameter_name

    drawn, marked = [], []
    for p in sc.parameters:
        if p.dist == "fixed" or p.id in pinned:
            continue
        name = parameter_name(p.id, p.description)
        drawn.append(name)
        if "assum" in p.description.lower() or not p.cites:
            marked.append(name)
    return drawn, marked


def caveats(
    summary: Mapping[str, Any],
    manifest: Mapping[str, Any],
    sc: Scenario | None,
) -> list[str]:
    """What the numbers on page 1 do and do not say (the drivers' own caveat is beside them)."""
    runs = summary.get("runs")
    out = [
        "The 95% intervals (Wilson score) cover sampling error only: how far a share could "
        f"move if more than these {runs:,} worlds of the same model were run. They do not "
        "cover model error: whether the actors, rules, ladder and ranges describe the crisis."
        if isinstance(runs, int)
        else "The 95% intervals cover sampling error only, not model error."
    ]
    drawn, marked = assumed(sc, list((manifest.get("pinned") or {}).keys()))
    text = "Every share is conditional on the modellers' assumptions"
    if drawn:
        text += (
            f": the ranges of the {len(drawn)} parameters drawn in each world are readings of "
            "the cited claims, not measurements (sources in appendix B, reasoning in "
            "docs/scenarios.md)."
        )
        if len(marked) > 2:
            text += (
                f" The scenario marks {len(marked)} of them as its modellers' own assumptions "
                "(marked so in the appendix)."
            )
        elif marked:
            own = "; ".join(marked)
            text += f" The scenario marks as its modellers' own assumptions: {own}."
    else:
        text += " (the parameter ranges and rules of the scenario; see docs/scenarios.md)."
    out.append(text)
    changes = list(manifest.get("overrides") or ()) + [
        f"{k}={v}" for k, v in (manifest.get("pinned") or {}).items()
    ]
    if changes:
        out.append("This batch changed the scenario as written: " + ", ".join(changes) + ".")
    return out


# -- the brief ---------------------------------------------------------------------
def headline(
    summary: Mapping[str, Any],
    outcomes: Sequence[Mapping[str, Any]],
    aggs: Sequence[Aggregate],
    when: Sequence[Milestone] = (),
) -> str:
    """One sentence: the most likely outcome, the share of worlds reaching war and, when war's
    first rung is a key rung, the date by which half of those worlds had reached it."""
    likely = max(outcomes, key=lambda o: o.get("p") or 0)
    runs = summary.get("runs")
    worlds = f" of {runs:,} simulated worlds" if isinstance(runs, int) else " of simulated worlds"
    ci = _interval(likely.get("lo"), likely.get("hi"))
    text = (
        f"The most likely outcome is {likely.get('name', likely['id'])}, in "
        f"{_pct(likely.get('p'))}{worlds} (95% interval {ci})"
    )
    war = next((a for a in aggs if a.name == "War"), None)
    if war is not None:
        text += f"; {_pct(war.share.p)} ({_interval(war.share.lo, war.share.hi)}) reach war"
        first = next((m for m in when if m.rung == war.rung and m.date), None)
        if first is not None and war.share.count:
            text += f", half of them by {first.date}"
    return text + "."


def brief(
    summary: Mapping[str, Any],
    manifest: Mapping[str, Any],
    *,
    scenario: Scenario | None = None,
    daily: pd.DataFrame | None = None,
    drivers: pd.DataFrame | None = None,
    folder: Path | None = None,
    scenario_file: Path | None = None,
) -> Brief:
    """What page 1 says, from a batch's stored tables and the folders beside it."""
    outcomes = [dict(o) for o in summary.get("outcomes") or ()]
    aggs = aggregates(summary, daily)
    target = driven_outcome(summary, drivers)
    found: list[Driver] = []
    quiet = 0
    if target is not None and drivers is not None:
        found, quiet = top_drivers(drivers, target)
    name = next((o.get("name", o["id"]) for o in outcomes if str(o["id"]) == target), None)
    when = milestones(summary, daily)
    question = (scenario.description if scenario else "") or str(summary.get("title") or "")
    return Brief(
        question=" ".join(question.split()),
        headline=headline(summary, outcomes, aggs, when) if outcomes else "",
        outcomes=outcomes,
        aggregates=aggs,
        drivers_output=name,
        drivers=found,
        quiet_drivers=quiet,
        milestones=when,
        knockouts=knockout_lines(knockouts_beside(folder, manifest), target) if folder else [],
        discoveries=discovery_lines(folder) if folder else [],
        variants=variants_of(scenario_file),
        caveats=caveats(summary, manifest, scenario),
    )
