"""Effect screen: which parameters, rules and state variables move the outcomes.

A one-at-a-time screen with common random numbers. Every variant runs the
same worlds (the same root seed, so the same chunk seeds and the same
uniforms) and differs from the others in one input only:

* a drawn parameter is pinned at its 10th and at its 90th percentile (each
  option of a choice, each word of an enum); a fixed parameter, which has
  one value in every world, is checked statically (is it read?);
* a rule is switched off: a trigger, preference or foresight rule with
  ``when: false`` (it never applies), a constraint with ``allowed_if: true``
  (it never blocks), set through the ``--set`` override mechanism on the
  scenario's resolved text (read once, so every variant is of the same files),
  by the same override as ``wargame batch --without`` (:mod:`sim.scenario.removal`);
* a state variable is checked statically first: is it read by any
  expression of the scenario (rules, effects, events, intel, outcomes,
  flags ...)? One that is read and written is then **frozen**: every write
  to it is dropped (:func:`frozen`), so it keeps its initial value, and the
  worlds are run again. One that is read but never written keeps its
  initial value anyway; there is nothing to freeze.

The effect of an input is the largest change, over the outcomes and flags,
of the share of worlds in it: for a parameter the spread between its pinned
points, for a rule or a frozen variable the difference from the unchanged
scenario. Under common random numbers an input that does nothing changes
nothing, so the noise floor is one world: an input is **inert** when no
outcome or flag count changes at all.

An effect of a few worlds is not inert, but it may not be one an
independent run of ``N`` worlds could tell from noise: it is
**borderline** when, for every outcome and flag, the change is below two
standard errors of a difference of two shares, ``2 * sqrt(2 p (1 - p) / N)``
(``p`` the share, the change at least ``1 / N``). The screen says how many
worlds would make it clear, were the change the true one.

A modeller who expects an input to do nothing says so, and why, with
``inert: REASON`` in the scenario; such an input is **documented**: listed
apart, and not among the inert inputs. Events and intel items are not
screened; one with ``inert`` is listed with the documented inputs.

Claims: a claim an element ``cites`` (not one cited as ``context``) whose
every citing element is inert (found so, or documented) changes no
behaviour; the screen lists it, to be moved to ``context``. Elements the
screen does not vary (actions, events, intel, values, beliefs) count as
behaviour unless documented inert.

Pure data: :func:`screen` returns a :class:`Screen`; :func:`format_effects` renders it.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.batch.runner import simulate
from sim.errors import UsageError
from sim.expr import Expr
from sim.results.aggregate import Counts
from sim.scenario import cache as scenario_cache
from sim.scenario import load_scenario
from sim.scenario.model import Parameter, Scenario
from sim.scenario.pins import support
from sim.scenario.removal import off_override, off_setting
from sim.scenario.resolved import resolved_text

__all__ = [
    "Effect",
    "Screen",
    "format_effects",
    "frozen",
    "pin_points",
    "read_names",
    "screen",
]

DEFAULT_RUNS = 2000
LOW_Q, HIGH_Q = 0.10, 0.90
_QUANTILE_DRAWS = 20_000
_REASON_WIDTH = 40


@dataclass(frozen=True)
class Effect:
    """The screen's finding for one input.

    Attributes:
        kind: ``"parameter"``, ``"rule"``, ``"state"``, or (documented, not
            screened) ``"event"`` or ``"intel"``.
        id: the input's id (rules as ``actor.rule``).
        change: the largest change in any outcome or flag share (0 to 1);
            ``None`` where the input was checked statically or not screened.
        moved: the outcome (``outcome:x``) or flag (``flag:y``) most moved,
            or a note (``read by nothing``, ``not screened``).
        inert: True when the input changed no world's outcome or flag (a
            statically checked input: read by no expression).
        detail: how it was varied (the pinned points, how the rule was removed,
            ``frozen`` ...).
        borderline: a change, but below two standard errors of a difference of
            two shares for every outcome and flag (see the module docstring).
        resolve_runs: for a borderline effect, about how many worlds per variant
            would put it above two standard errors.
        documented: the scenario's ``inert`` reason for this input, if any.
        element: the input as claims listings name it (``rule:go``, ``state:x``).
    """

    kind: str
    id: str
    change: float | None
    moved: str
    inert: bool
    detail: str = ""
    borderline: bool = False
    resolve_runs: int | None = None
    documented: str | None = None
    element: str = ""


@dataclass(frozen=True)
class Screen:
    """What the screen found, with what follows from it.

    Attributes:
        runs: worlds per variant.
        effects: one :class:`Effect` per input, sorted by effect, largest first
            (inputs without a measured size last).
        idle_claims: claim id -> the elements citing it, for each claim cited
            (``cites``, not ``context``) only by inert elements.
    """

    runs: int
    effects: tuple[Effect, ...]
    idle_claims: dict[str, tuple[str, ...]]

    @property
    def inert(self) -> list[Effect]:
        """The inert inputs no ``inert`` reason accounts for (what ``--check`` fails on)."""
        return [e for e in self.effects if e.inert and e.documented is None]

    @property
    def documented(self) -> list[Effect]:
        """The inputs the scenario documents as inert."""
        return [e for e in self.effects if e.documented is not None]

    @property
    def borderline(self) -> list[Effect]:
        """The inputs whose effect is borderline."""
        return [e for e in self.effects if e.borderline]


def pin_points(p: Parameter) -> list[Any]:
    """The values a parameter is pinned at: each option, or its 10th and 90th percentile.

    Percentiles are those of a fixed-seed sample of the parameter's own
    distribution (rounded for whole numbers); fewer than two distinct
    points (a ``fixed`` parameter) mean the parameter is not drawn.
    """
    s = support(p)
    if s.discrete:
        return list(dict.fromkeys(s.values))
    draws = p.sample(np.random.default_rng(0), _QUANTILE_DRAWS).astype(float)
    lo, hi = (float(q) for q in np.quantile(draws, [LOW_Q, HIGH_Q]))
    if p.integer:
        return list(dict.fromkeys([int(np.floor(lo + 0.5)), int(np.floor(hi + 0.5))]))
    return [lo, hi] if hi > lo else [lo]


def _exprs(obj: Any, seen: set[int]) -> Iterator[Expr]:
    """Every compiled expression reachable from ``obj`` (dataclasses, tuples, dicts)."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, Expr):
        yield obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from _exprs(getattr(obj, f.name), seen)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _exprs(v, seen)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for v in obj:
            yield from _exprs(v, seen)


def read_names(sc: Scenario) -> set[str]:
    """The names read by any expression of ``sc``."""
    names: set[str] = set()
    seen: set[int] = set()
    for f in dataclasses.fields(sc):
        for e in _exprs(getattr(sc, f.name), seen):
            names |= set(e.names)
    return names


def written(sc: Scenario, var: str) -> bool:
    """Whether any action or event of ``sc`` writes state variable ``var``."""
    effects = [x.effects for a in sc.actors for x in a.actions]
    effects += [e for ev in sc.events for e in (ev.effects, ev.end_effects)]
    return any(eff.target == var for group in effects for eff in group)


def frozen(sc: Scenario, var: str) -> Scenario:
    """``sc`` with every write to state variable ``var`` dropped: it keeps its initial value.

    The effects on ``var`` are taken out of every action and event (and out
    of the resolved document, so the result is the scenario that document
    compiles to, with its own ``sha256``: the process's scenario cache, which
    finds compiled scenarios by it, never hands one out for the other). The
    engine runs it as any scenario; nothing in its hot path knows of freezing.
    """

    def keep(effects: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(e for e in effects if e.target != var)

    actors = tuple(
        dataclasses.replace(
            a, actions=tuple(dataclasses.replace(x, effects=keep(x.effects)) for x in a.actions)
        )
        for a in sc.actors
    )
    events = tuple(
        dataclasses.replace(ev, effects=keep(ev.effects), end_effects=keep(ev.end_effects))
        for ev in sc.events
    )
    doc = copy.deepcopy(sc.resolved)
    places = [x for a in doc.get("actors", {}).values() for x in a.get("actions", {}).values()]
    places += list(doc.get("events", {}).values())
    for place in places:
        for key in ("effects", "end_effects"):
            if isinstance(place.get(key), dict):
                place[key].pop(var, None)
    digest = hashlib.sha256(resolved_text(doc).encode()).hexdigest()
    return dataclasses.replace(sc, actors=actors, events=events, resolved=doc, sha256=digest)


@dataclass(frozen=True)
class _Measure:
    change: float
    moved: str
    inert: bool
    borderline: bool
    resolve_runs: int | None


def _nice(n: float) -> int:
    """``n`` rounded up to two significant figures (12_345 -> 13_000)."""
    n = max(1, math.ceil(n))
    step = 10 ** max(0, len(str(n)) - 2)
    return -(-n // step) * step


def measure(runs: Sequence[Counts], sc: Scenario) -> _Measure:
    """The largest spread of any outcome or flag share over ``runs``, and how sure it is.

    All of ``runs`` have the same number of worlds ``N``. The spread of an
    outcome or flag is its largest count less its smallest (in worlds, so
    that no rounding of shares turns one world into none); it is clear
    when at least ``2 * sqrt(2 p (1 - p) / N)`` and one world (``p`` its mean
    share over ``runs``), borderline when above nothing and clear nowhere.
    """
    n = runs[0].n
    labels = [f"outcome:{o.id}" for o in sc.outcomes] + [f"flag:{f.id}" for f in sc.flags]
    counts = np.stack([np.concatenate([c.outcomes, c.flags]) for c in runs]).astype(np.int64)
    spread = counts.max(axis=0) - counts.min(axis=0)
    if not spread.size or not spread.any():
        return _Measure(0.0, "-", True, False, None)
    i = int(np.argmax(spread))
    share = spread / n
    p = counts.mean(axis=0) / n
    var = 2 * p * (1 - p)
    clear = share >= np.maximum(2 * np.sqrt(var / n), 1 / n)
    if clear.any():
        return _Measure(float(share[i]), labels[i], False, False, None)
    moved = spread > 0
    needed = min(
        max(4 * float(var[j]) / float(share[j]) ** 2, 1 / float(share[j]))
        for j in np.flatnonzero(moved)
    )
    return _Measure(float(share[i]), labels[i], False, True, _nice(needed))


def _shown(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def screen(
    path: str | Path,
    *,
    runs: int = DEFAULT_RUNS,
    seed: int | None = None,
    overrides: Sequence[str] = (),
    on_step: Callable[[str], None] | None = None,
) -> Screen:
    """Screen every parameter, rule and state variable of the scenario at ``path``.

    Args:
        path: the scenario file.
        runs: worlds per variant (the same worlds in every variant).
        seed: root seed; ``None``: the scenario's.
        overrides: ``--set`` overrides applied to every variant.
        on_step: called with a label before each variant is run (progress).

    Raises:
        UsageError: ``runs`` below 1, or a bad seed or override.
        ValidationError: the scenario does not load.

    Returns:
        The :class:`Screen`: one :class:`Effect` per input, sorted by effect,
        largest first (inputs without a measured size last), and the claims
        cited only by inert inputs.
    """
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise UsageError(f"--runs must be a whole number of at least 1 (got {runs!r})")
    sc = load_scenario(path, overrides)
    step = on_step or (lambda _label: None)

    def run(scen: Scenario, label: str, pinned: dict[str, Any] | None = None) -> Counts:
        step(label)
        return simulate(scen, runs=runs, seed=seed, pinned=pinned or {})

    def found(kind: str, id_: str, m: _Measure, detail: str, why: str | None, el: str) -> Effect:
        return Effect(
            kind, id_, m.change, m.moved, m.inert, detail, m.borderline, m.resolve_runs, why, el
        )

    names = read_names(sc)
    out: list[Effect] = []
    for p in sc.parameters:
        points = pin_points(p)
        if len(points) < 2:  # not drawn: one value in every world
            read = p.id in names
            note = "read (fixed)" if read else "read by nothing"
            out.append(
                Effect("parameter", p.id, None, note, not read, "static", False, None, p.inert)
            )
            continue
        counts = [run(sc, f"parameter {p.id}={_shown(v)}", {p.id: v}) for v in points]
        shown = ", ".join(_shown(v) for v in points)
        out.append(found("parameter", p.id, measure(counts, sc), f"pinned at {shown}", p.inert, ""))

    base = run(sc, "unchanged scenario")
    # Every variant is made from this one reading of the files (their resolved
    # text), so an edit while the screen runs cannot mix two versions.
    text = resolved_text(sc.resolved)
    for r in sc.rules:
        # Removed as wargame batch --without removes it (sim.scenario.removal).
        without = scenario_cache.scenario_from_text(sc.name, text, (off_override(r),))
        m = measure([base, run(without, f"rule {r.actor}.{r.id} off")], sc)
        how = off_setting(r.kind)
        out.append(found("rule", f"{r.actor}.{r.id}", m, how, r.inert, f"rule:{r.id}"))

    for v in sc.state:
        if v.id not in names and f"state.{v.id}" not in names:
            out.append(Effect("state", v.id, None, "read by nothing", True, "static"))
        elif not written(sc, v.id):
            out.append(Effect("state", v.id, None, "read; never written", False, "static"))
        else:
            m = measure([base, run(frozen(sc, v.id), f"state {v.id} frozen")], sc)
            out.append(found("state", v.id, m, "frozen at its initial value", None, ""))
        out[-1] = dataclasses.replace(out[-1], documented=v.inert)
    for ev in sc.events:
        if ev.inert is not None:
            out.append(Effect("event", ev.id, None, "not screened", False, "", documented=ev.inert))
    for it in sc.intel:
        if it.inert is not None:
            out.append(Effect("intel", it.id, None, "not screened", False, "", documented=it.inert))
    out = [e if e.element else dataclasses.replace(e, element=f"{e.kind}:{e.id}") for e in out]
    out.sort(key=lambda e: (e.change is None, -(e.change or 0.0)))
    return Screen(runs, tuple(out), idle_claims(sc, out))


def idle_claims(sc: Scenario, effects: Sequence[Effect]) -> dict[str, tuple[str, ...]]:
    """Claims cited (``cites``, not ``context``) only by elements that are inert.

    An element is inert when the screen found it so or the scenario documents
    it as inert; an element the screen did not vary (an action, value,
    belief, an event or intel item without ``inert``) counts as behaviour.
    """
    idle = {e.element for e in effects if e.inert or e.documented is not None}
    by_claim: dict[str, list[str]] = {}
    for claim, element, context in sc.citations():
        if not context:
            by_claim.setdefault(claim, []).append(element)
    return {c: tuple(els) for c, els in by_claim.items() if all(el in idle for el in els)}


def _status(e: Effect) -> str:
    if e.documented is not None:
        reason = " ".join(e.documented.split())
        if len(reason) > _REASON_WIDTH:
            reason = reason[: _REASON_WIDTH - 3] + "..."
        return f"documented: {reason}"
    if e.inert:
        return "yes"
    if e.borderline:
        return f"borderline (~{e.resolve_runs} worlds)"
    return "no"


def format_effects(result: Screen) -> str:
    """The screen as a table sorted by effect, then the inert, documented and borderline
    inputs and the claims that change no behaviour.
    """
    runs = result.runs
    head = f"{'kind':<10} {'id':<44} {'change pp':>9}  {'most moved':<36} inert"
    lines = [
        f"Effect screen: {runs} worlds per variant, common random numbers; "
        f"inert = no outcome or flag count changed (below 1/{runs}); state variables "
        "read and written are frozen at their initial value; borderline = below two "
        "standard errors of a difference of two shares, 2*sqrt(2p(1-p)/N), everywhere.",
        "",
        head,
        "-" * len(head),
    ]
    for e in result.effects:
        pp = "static" if e.change is None else f"{100 * e.change:.1f}"
        if e.moved == "not screened":
            pp = "-"
        lines.append(f"{e.kind:<10} {e.id:<44} {pp:>9}  {e.moved:<36} {_status(e)}")
    lines.append("")
    inert = result.inert
    if inert:
        lines.append(f"Inert inputs ({len(inert)}):")
        lines.extend(f"  {e.kind} {e.id} ({e.detail})" for e in inert)
    else:
        lines.append("No inert inputs.")
    documented = result.documented
    if documented:
        lines.append("")
        lines.append(f"Documented as inert ({len(documented)}):")
        for e in documented:
            lines.append(f"  {e.kind} {e.id}: {' '.join((e.documented or '').split())}")
            if not e.inert and e.change is not None:
                lines.append(
                    f"    but the screen measured {100 * e.change:.1f} pp on {e.moved}: not inert"
                )
            elif not e.inert and e.moved != "not screened":
                lines.append(f"    but it is {e.moved}")
    borderline = result.borderline
    if borderline:
        most = max(e.resolve_runs or 0 for e in borderline)
        lines.append("")
        lines.append(
            f"Borderline effects ({len(borderline)}): not inert, but below two standard "
            f"errors at {runs} worlds; --runs {most} would resolve them all:"
        )
        lines.extend(
            f"  {e.kind} {e.id}: {100 * (e.change or 0.0):.2f} pp on {e.moved} "
            f"(clear at about {e.resolve_runs} worlds)"
            for e in borderline
        )
    if result.idle_claims:
        lines.append("")
        lines.append(
            f"Claims that change no behaviour ({len(result.idle_claims)}): every element "
            "citing them is inert; cite them as context instead (context: [...]):"
        )
        lines.extend(f"  {c}: {', '.join(els)}" for c, els in result.idle_claims.items())
    return "\n".join(lines)
