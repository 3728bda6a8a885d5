"""Effect screen: which parameters, rules and state variables move the outcomes.

A one-at-a-time screen with common random numbers. Every variant runs the
same worlds (the same root seed, so the same chunk seeds and the same
uniforms) and differs from the others in one input only:

* a drawn parameter is pinned at its 10th and at its 90th percentile (each
  option of a choice, each word of an enum);
* a rule is switched off: a trigger, preference or foresight rule with
  ``when: false`` (it never applies), a constraint with ``allowed_if: true``
  (it never blocks), set through the ``--set`` override mechanism;
* a state variable is checked statically: is it read by any expression of
  the scenario (rules, effects, events, intel, outcomes, flags ...)?

The effect of an input is the largest change, over the outcomes and flags,
of the share of worlds in it: for a parameter the spread between its pinned
points, for a rule the difference from the unchanged scenario. Under common
random numbers an input that does nothing changes nothing, so the noise
floor is one world: an input is **inert** when no outcome or flag count
changes at all (largest change below ``1 / N``). An input with an effect of
a few worlds is not inert but may be negligible; read the size.

Pure data: :func:`screen` returns rows; :func:`format_effects` renders them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.batch.runner import simulate
from sim.errors import UsageError
from sim.expr import Expr
from sim.results.aggregate import Counts
from sim.scenario import load_scenario
from sim.scenario.model import Parameter, Scenario
from sim.scenario.pins import support

__all__ = ["Effect", "format_effects", "pin_points", "read_names", "screen"]

DEFAULT_RUNS = 2000
LOW_Q, HIGH_Q = 0.10, 0.90
_QUANTILE_DRAWS = 20_000


@dataclass(frozen=True)
class Effect:
    """The screen's finding for one input.

    Attributes:
        kind: ``"parameter"``, ``"rule"`` or ``"state"``.
        id: the input's id (rules as ``actor.rule``).
        change: the largest change in any outcome or flag share (0 to 1);
            ``None`` for a state variable (checked statically only).
        moved: the outcome (``outcome:x``) or flag (``flag:y``) most moved,
            or a note (``read by nothing``).
        inert: True when the input changed no world's outcome or flag (a
            state variable: read by no expression).
        detail: how it was varied (the pinned points, or how the rule was removed).
    """

    kind: str
    id: str
    change: float | None
    moved: str
    inert: bool
    detail: str = ""


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


def _shares(c: Counts) -> dict[str, np.ndarray]:
    return {"outcomes": c.outcomes / max(c.n, 1), "flags": c.flags / max(c.n, 1)}


def _largest(runs: Sequence[Counts], sc: Scenario) -> tuple[float, str]:
    """The largest spread of any outcome or flag share over ``runs``, and what it moved."""
    best, what = 0.0, "-"
    labels = {
        "outcomes": [f"outcome:{o.id}" for o in sc.outcomes],
        "flags": [f"flag:{f.id}" for f in sc.flags],
    }
    shares = [_shares(c) for c in runs]
    for key, names in labels.items():
        if not names:
            continue
        stack = np.stack([s[key] for s in shares])
        spread = stack.max(axis=0) - stack.min(axis=0)
        i = int(np.argmax(spread))
        if spread[i] > best:
            best, what = float(spread[i]), names[i]
    return best, what


def _shown(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _off(rule_kind: str) -> str:
    return "allowed_if=true" if rule_kind == "constraint" else "when=false"


def screen(
    path: str | Path,
    *,
    runs: int = DEFAULT_RUNS,
    seed: int | None = None,
    overrides: Sequence[str] = (),
    on_step: Callable[[str], None] | None = None,
) -> list[Effect]:
    """Screen every drawn parameter, rule and state variable of the scenario at ``path``.

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
        One :class:`Effect` per input, sorted by effect, largest first
        (state variables, which have no measured size, last).
    """
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise UsageError(f"--runs must be a whole number of at least 1 (got {runs!r})")
    sc = load_scenario(path, overrides)
    step = on_step or (lambda _label: None)

    def run(scen: Scenario, label: str, pinned: dict[str, Any] | None = None) -> Counts:
        step(label)
        return simulate(scen, runs=runs, seed=seed, pinned=pinned or {})

    floor = 1.0 / runs
    found: list[Effect] = []
    for p in sc.parameters:
        points = pin_points(p)
        if len(points) < 2:
            continue  # not drawn: one value in every world
        counts = [run(sc, f"parameter {p.id}={_shown(v)}", {p.id: v}) for v in points]
        change, moved = _largest(counts, sc)
        shown = ", ".join(_shown(v) for v in points)
        found.append(Effect("parameter", p.id, change, moved, change < floor, f"pinned at {shown}"))

    base = run(sc, "unchanged scenario")
    for r in sc.rules:
        off = f"actors.{r.actor}.rules.{r.id}.{_off(r.kind)}"
        without = load_scenario(path, (*overrides, off))
        change, moved = _largest([base, run(without, f"rule {r.actor}.{r.id} off")], sc)
        found.append(
            Effect("rule", f"{r.actor}.{r.id}", change, moved, change < floor, _off(r.kind))
        )

    names = read_names(sc)
    for v in sc.state:
        read = v.id in names or f"state.{v.id}" in names
        found.append(
            Effect("state", v.id, None, "read" if read else "read by nothing", not read, "static")
        )
    found.sort(key=lambda e: (e.change is None, -(e.change or 0.0)))
    return found


def format_effects(effects: Sequence[Effect], runs: int) -> str:
    """The screen as a table sorted by effect, then the list of inert inputs."""
    head = f"{'kind':<10} {'id':<44} {'change pp':>9}  {'most moved':<36} inert"
    lines = [
        f"Effect screen: {runs} worlds per variant, common random numbers; "
        f"inert = no outcome or flag count changed (below 1/{runs}).",
        "",
        head,
        "-" * len(head),
    ]
    for e in effects:
        pp = "static" if e.change is None else f"{100 * e.change:.1f}"
        lines.append(f"{e.kind:<10} {e.id:<44} {pp:>9}  {e.moved:<36} {'yes' if e.inert else 'no'}")
    inert = [e for e in effects if e.inert]
    lines.append("")
    if inert:
        lines.append(f"Inert inputs ({len(inert)}):")
        lines.extend(f"  {e.kind} {e.id} ({e.detail})" for e in inert)
    else:
        lines.append("No inert inputs.")
    return "\n".join(lines)
