"""The phases around a day's decisions as generated kernels (observe, the ``any_day`` flags).

On the compiled path the decisions and their adjudication run as compiled
loops (:mod:`sim.engine.kernels`, :mod:`sim.engine.outlook`), while the
phases around them made one numpy operation after another, each over all
the worlds: an actor's intel items and the Bayes update of its beliefs, the
flags recorded at the end of the day. This module generates one kernel per
actor for its observe phase and one per scenario for the flags, from the
compiled scenario (each expression's scalar code), never by hand.

The numbers are those of the numpy path (:func:`sim.engine.phases.observe`,
:func:`sim.engine.beliefs.update`, :func:`sim.engine.phases.record_flags`) to
the bit, world by world:

* an intel item's ``held`` counter and whether its observer noticed it, with
  exactly one uniform array of ``R`` per item from the actor's stream, drawn
  where its condition holds in some world and skipped where it holds in none,
  as the numpy path does: random numbers are never drawn in a kernel, so the
  observe kernel is two loops, the first finding where each condition holds,
  the second (after the draws) who noticed;
* each belief's factor made in the evidence's order from 1 (a factor of 1
  where a ``once`` item is not new, which the numpy path leaves out and which
  changes no bit), the prior times it, the types' sum in their order and the
  division where it is positive, else the prior kept.

Where a kernel cannot be had (numba missing, an expression without scalar
code, a value of an unexpected kind), each entry gives None and the caller
keeps the numpy path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim.engine import kernels, phases
from sim.engine.beliefs import belief_names
from sim.engine.draws import skip_uniforms

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sim.engine.state import WorldState
    from sim.scenario.model import Actor, Flag


class _Observer:
    """What the observe kernels of one actor need: its intel ``items`` (indices into the
    scenario's intel), its ``once`` evidence keys, the ``watch`` kernel (conditions,
    ``held``, beliefs) and the ``detect`` kernel (who noticed), and which of the names
    they read are rows of its beliefs (``rows``: name -> (belief key, type row))."""

    __slots__ = ("detect", "items", "once", "rows", "watch")

    def __init__(
        self,
        items: list[int],
        pair: tuple[kernels.GeneratedKernel, kernels.GeneratedKernel | None],
        once: list[tuple[str, str, str]],
        rows: dict[str, tuple[tuple[str, str], int]],
    ) -> None:
        self.items, (self.watch, self.detect), self.once, self.rows = items, pair, once, rows


def _items(actor_id: str, state: WorldState) -> list[int]:
    """The intel items ``actor_id`` observes, in the scenario's order."""
    return [g for g, it in enumerate(state.scenario.intel) if it.observer == actor_id]


def _observer(actor: Actor, state: WorldState) -> _Observer | None:
    """The observe kernels of ``actor`` (made once per state's plans; None where some
    expression has no scalar code or the actor observes nothing and believes nothing)."""
    key = f"morning:observe:{actor.id}"
    plans = state.plans
    if key not in plans:
        try:
            plans[key] = _make_observer(actor, state)
        except LookupError:
            plans[key] = None
    got: _Observer | None = plans[key]
    return got


def _make_observer(actor: Actor, state: WorldState) -> _Observer | None:
    items = _items(actor.id, state)
    if not items and not actor.beliefs:
        return None
    intel = state.scenario.intel
    code = kernels._Codes()
    body: list[str] = []
    fixed: list[str] = ["R"]
    if items:
        fixed += ["held", "watched", "held_new", "anyw"]
    for k, g in enumerate(items):
        body += [
            f"w = {code.truth(intel[g].watches)}",
            f"watched[{k}, i] = w",
            "if w:",
            f"    held_new[{k}, i] = held[{g}, i] + 1",
            f"    anyw[{k}] = True",
            "else:",
            f"    held_new[{k}, i] = 0",
        ]
    once: list[tuple[str, str, str]] = []
    for j, b in enumerate(actor.beliefs):
        fixed += [f"prior{j}", f"post{j}"]
        types = range(len(b.types))
        body += [f"f{t} = 1.0" for t in types]
        for ev in b.evidence:
            body.append(f"s = {code.truth(ev.seen)}")
            if ev.once:
                e = len(once)
                once.append((actor.id, b.trait, ev.id))
                fixed += [f"before{e}", f"used{e}"]
                body += [f"b = before{e}[i]", "new = s and not b", f"used{e}[i] = b or s"]
                for t, x in zip(types, ev.likelihood, strict=True):
                    body.append(f"f{t} = f{t} * (_clip01({code.number(x)}) if new else 1.0)")
            else:
                for t, x in zip(types, ev.likelihood, strict=True):
                    q = f"_clip01({code.number(x)})"
                    body += [f"q = {q}", f"f{t} = f{t} * (q if s else 1.0 - q)"]
        body += [f"w{t} = prior{j}[{t}, i] * f{t}" for t in types]
        body.append("tot = " + " + ".join(f"w{t}" for t in types))
        body.append("if tot > 0.0:")
        body += [f"    post{j}[{t}, i] = w{t} / tot" for t in types]
        body.append("else:")
        body += [f"    post{j}[{t}, i] = prior{j}[{t}, i]" for t in types]
    watch = kernels.GeneratedKernel(body, code.names(), tuple(fixed))
    detect = None
    if items:
        code = kernels._Codes()
        lines: list[str] = []
        for k, g in enumerate(items):
            lines += [
                "kn = False",
                f"if watched[{k}, i]:",
                f"    if belief[{g}, i]:",
                "        kn = True",
                f"    elif held_new[{k}, i] > delay[{g}, i]"
                f" and draws[{k}, i] < {code.number(intel[g].detect_prob)}:",
                "        kn = True",
                f"known[{k}, i] = kn",
            ]
        fixed_d = ("R", "watched", "held_new", "delay", "belief", "draws", "known")
        detect = kernels.GeneratedKernel(lines, code.names(), fixed_d)
    own = belief_names(actor)
    names = set(watch.names) | set(() if detect is None else detect.names)
    rows = {n: own[n] for n in names if n in own}
    return _Observer(items, (watch, detect), once, rows)


def observe(
    actor_id: str, state: WorldState, env: dict[str, Any], rng: np.random.Generator
) -> phases.Knowledge | None:
    """:func:`sim.engine.phases.observe` by the generated kernels (the same result, the
    same uniforms taken from ``rng``); None, with ``rng`` untouched, where there are none."""
    if not kernels.compiled_for(state):
        return None
    actor = state.actors[actor_id]
    plan = _observer(actor, state)
    if plan is None:
        return None
    R = state.R
    view = env
    if plan.rows:
        view = dict(env)
        for name, (key, k) in plan.rows.items():
            view[name] = state.posterior[key][k]
    items = plan.items
    n = len(items)
    fixed: list[Any] = [R]
    if n:
        watched = np.empty((n, R), dtype=bool)
        held_new = np.empty((n, R), dtype=state.held.dtype)
        anyw = np.zeros(n, dtype=bool)
        fixed += [state.held, watched, held_new, anyw]
    posts = []
    for b in actor.beliefs:
        prior = state.posterior[(actor_id, b.trait)]
        posts.append(np.empty_like(prior))
        fixed += [prior, posts[-1]]
    used = []
    for seen_key in plan.once:
        used.append(np.empty(R, dtype=bool))
        fixed += [state.evidence_used[seen_key], used[-1]]
    if not plan.watch.run(tuple(fixed), view, R):
        return None
    held: dict[int, np.ndarray] = {}
    known: dict[int, np.ndarray] = {}
    if n:
        seen = anyw.tolist()
        out = np.zeros((n, R), dtype=bool)
        if any(seen):
            draws = np.empty((n, R))
            for k in range(n):
                if seen[k]:
                    rng.random(out=draws[k])
                else:
                    skip_uniforms(rng, R)
            args = (R, watched, held_new, state.intel_delay, state.belief, draws, out)
            assert plan.detect is not None  # made with the items
            if not plan.detect.run(args, view, R):  # the draws are made: numpy from here
                _detected(state, items, env, (watched, held_new, draws, seen), out)
        else:
            for _ in range(n):
                skip_uniforms(rng, R)
        for k, g in enumerate(items):
            held[g] = held_new[k]
            known[g] = out[k]
    if not actor.beliefs:
        return phases.Knowledge(actor_id, held, known)
    posterior = {(actor_id, b.trait): p for b, p in zip(actor.beliefs, posts, strict=True)}
    return phases.Knowledge(
        actor_id, held, known, posterior, dict(zip(plan.once, used, strict=True))
    )


def _detected(
    state: WorldState,
    items: list[int],
    env: dict[str, Any],
    made: tuple[np.ndarray, np.ndarray, np.ndarray, list[bool]],
    out: np.ndarray,
) -> None:
    """Who noticed each item, as the numpy path works it out, into ``out`` (where the
    detection kernel could not run after the draws were made)."""
    watched, held_new, draws, seen = made
    for k, g in enumerate(items):
        if seen[k]:
            p = state.evaluate(state.scenario.intel[g].detect_prob, env)
            notice = watched[k] & (held_new[k] > state.intel_delay[g]) & (draws[k] < p)
            out[k] = (state.belief[g] | notice) & watched[k]


# -- the any_day flags ------------------------------------------------------------------------


def _flags_kernel(state: WorldState, flags: Sequence[Flag]) -> kernels.GeneratedKernel | None:
    """The kernel that notes, per ``any_day`` flag ``k``, ``flag_any[k, i] = True``
    where its condition holds in world ``i``."""

    def make() -> kernels.GeneratedKernel:
        code = kernels._Codes()
        body: list[str] = []
        for k, f in enumerate(flags):
            if f.at == "any_day":
                body += [f"if {code.truth(f.when)}:", f"    flag_any[{k}, i] = True"]
        return kernels.GeneratedKernel(body, code.names(), ("R", "flag_any"))

    return kernels.planned(state, "morning:flags", make)


def record_flags(state: WorldState, flags: Sequence[Flag]) -> bool:
    """:func:`sim.engine.phases.record_flags` by the generated kernel; False, with nothing
    written, where there is none."""
    if flags is not state.scenario.flags or not kernels.compiled_for(state):
        return False  # the kernel is made for the scenario's own flags
    if not any(f.at == "any_day" for f in flags):
        return True  # nothing to note
    kernel = _flags_kernel(state, flags)
    if kernel is None:
        return False
    return kernel.run((state.R, state.flag_any), read(state, kernel.names), state.R)


def read(state: WorldState, wanted: Sequence[str]) -> dict[str, Any]:
    """The names ``wanted`` as :meth:`~sim.engine.state.WorldState.env` gives them today,
    for a kernel, which only reads them: the state's own arrays instead of read-only
    views, and nothing else of the environment made."""
    key = f"morning:read:{','.join(wanted)}"
    how = state.plans.get(key)
    if how is None:
        history = dict(state.history_parts)
        intel = {it.id: g for g, it in enumerate(state.scenario.intel)}
        how = state.plans[key] = [(n, history.get(n), intel.get(n)) for n in wanted]
    out: dict[str, Any] = {}
    values, params = state.values, state.params
    for name, h, g in how:
        if h is not None:
            out[name] = state.history_value(h, state.day)
        elif g is not None:
            out[name] = state.belief[g]
        elif name in values:
            out[name] = values[name]
        elif name in params:
            out[name] = params[name]
        elif name == "day":
            out[name] = state.day
        elif name in ("rung", "peak"):
            out[name] = state.rung if name == "rung" else state.peak
        else:
            return state.env()  # a name of another kind: the whole environment
    return out
