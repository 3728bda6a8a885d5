"""The phases around a day's decisions as generated kernels (events, observe, flags).

On the compiled path the decisions and their adjudication run as compiled
loops (:mod:`sim.engine.kernels`, :mod:`sim.engine.outlook`), while the
phases around them made one numpy operation after another, each over all
the worlds: the events and their effects, an actor's intel items and the
Bayes update of its beliefs, the flags recorded at the end of the day. This
module generates their kernels from the compiled scenario (each
expression's scalar code), never by hand: two for the events phase and
one for the flags per scenario, one per actor for its observe phase.

The numbers are those of the numpy path (:func:`sim.engine.phases.events_phase`,
:func:`sim.engine.phases.observe`, :func:`sim.engine.beliefs.update`,
:func:`sim.engine.phases.record_flags`) to the bit, world by world. The numpy
path draws a row of uniforms (a place per world of the chunk) only if some
world needs it and skips it otherwise, so world ``i`` always reads the number at
its own place in the row; a kernel computes that number where it is read (:mod:`sim.engine.pcg`),
and the stream is moved on by the whole block afterwards.

* Events: where each random event's ``when`` holds (and it may strike
  again) and where it strikes, its uniform at its place in the event's row
  of the events' stream; then a second loop adds up the effects
  of everything that happened today by the conflict rules of
  :class:`~sim.engine.adjudication.Changes`, in its order (which of them it
  adds at all, decided across the worlds, comes in as flags), casts each
  target to its type and bounds and moves the ladder.
* Observe: an intel item's ``held`` counter and whether its observer
  noticed it (its uniform in the item's row of the actor's stream); each belief's factor
  made in the evidence's order from 1 (a factor of 1 where a ``once`` item
  is not new, which the numpy path leaves out and which changes no bit), the
  prior times it, the types' sum in their order and the division where it is
  positive, else the prior kept.
* Flags: each ``any_day`` flag noted where its condition holds.

Where a kernel cannot be had (numba missing, an expression without scalar
code, a value of an unexpected kind), each entry gives None, with nothing
written and the stream left where it was, and the caller keeps the
numpy path.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.engine import kernels, phases
from sim.engine.beliefs import belief_names
from sim.engine.draws import Rng, skip_rows
from sim.expr.scalar import substitute

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sim.engine.state import WorldState
    from sim.scenario.model import Actor, Flag


class _Observer:
    """What the observe kernel of one actor needs: its intel ``items`` (indices into the
    scenario's intel), its ``once`` evidence keys, the ``watch`` kernel (conditions,
    ``held``, who noticed, beliefs) and which of the names it reads are rows of its
    beliefs (``rows``: name -> (belief key, type row))."""

    __slots__ = ("items", "once", "rows", "watch")

    def __init__(
        self,
        items: list[int],
        watch: kernels.GeneratedKernel,
        once: list[tuple[str, str, str]],
        rows: dict[str, tuple[tuple[str, str], int]],
    ) -> None:
        self.items, self.watch, self.once, self.rows = items, watch, once, rows


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
        fixed += ["held", "delay", "belief", "held_new", "known", *kernels.DRAWN]
    for k, g in enumerate(items):
        body += [
            f"w = {code.truth(intel[g].watches)}",
            "kn = False",
            "if w:",
            f"    held_new[{k}, i] = held[{g}, i] + 1",
            f"    kn = belief[{g}, i]",
            f"    if not kn and held_new[{k}, i] > delay[{g}, i]:",  # it can be noticed today
            f"        kn = _uniform_in(ub, wb[i], {k}, tab, wj[i], st)"
            f" < {code.number(intel[g].detect_prob)}",
            "else:",
            f"    held_new[{k}, i] = 0",
            f"known[{k}, i] = kn",
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
    # the rows' starts once, before the loop over the worlds
    prelude = [f"ub = _pcg_blocks(st, tab, bw, {len(items)})"] if items else []
    loop = [*prelude, "for i in range(R):", *("    " + line for line in body)]
    watch = kernels.GeneratedKernel(loop, code.names(), tuple(fixed), loop=False)
    own = belief_names(actor)
    rows = {n: own[n] for n in watch.names if n in own}
    return _Observer(items, watch, once, rows)


def observe(
    actor_id: str, state: WorldState, env: dict[str, Any], rng: Rng
) -> phases.Knowledge | None:
    """:func:`sim.engine.phases.observe` by the generated kernel (the same result, the
    same uniforms of ``rng``, read at their places, and the stream moved on by one row
    per intel item, a place per world of the chunk); None, with ``rng`` where it was,
    where there is none."""
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
        held_new = np.empty((n, R), dtype=state.held.dtype)
        out = np.empty((n, R), dtype=bool)
        drawn = kernels.uniforms(rng, state)
        if drawn is None:
            return None
        fixed += [state.held, state.intel_delay, state.belief, held_new, out, *drawn]
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
        skip_rows(rng, n, state)  # one row per intel item
        for k, g in enumerate(items):
            held[g] = held_new[k]
            known[g] = out[k]
    if not actor.beliefs:
        return phases.Knowledge(actor_id, held, known)
    posterior = {(actor_id, b.trait): p for b, p in zip(actor.beliefs, posts, strict=True)}
    return phases.Knowledge(
        actor_id, held, known, posterior, dict(zip(plan.once, used, strict=True))
    )


# -- the any_day flags ------------------------------------------------------------------------


class _Loops(kernels.GeneratedKernel):
    """A generated kernel of several loops over the worlds, one after another, each with
    its own lines (a loop that does one thing can be vectorised by the compiler)."""

    __slots__ = ("loops",)

    def __init__(
        self, loops: list[list[str]], names: tuple[str, ...], fixed: tuple[str, ...]
    ) -> None:
        super().__init__(loops[0], names, fixed)
        self.loops = loops

    def source(self, pattern: str) -> str:
        variables = {
            n: f"v{k}[i]" if kind == "a" else f"v{k}"
            for k, (n, kind) in enumerate(zip(self.names, pattern, strict=True))
        }
        rest = "".join(
            "    for i in range(R):\n"
            + "".join(f"        {substitute(x, variables)}\n" for x in lines)
            for lines in self.loops[1:]
        )
        return super().source(pattern) + rest


def _flags_kernel(state: WorldState, flags: Sequence[Flag]) -> kernels.GeneratedKernel | None:
    """The kernel that notes, per ``any_day`` flag ``k``, ``flag_any[k, i] = True``
    where its condition holds in world ``i`` (one loop per flag)."""

    def make() -> kernels.GeneratedKernel:
        code = kernels._Codes()
        loops = [
            [f"flag_any[{k}, i] = flag_any[{k}, i] | ({code.truth(f.when)})"]
            for k, f in enumerate(flags)
            if f.at == "any_day"
        ]
        return _Loops(loops, code.names(), ("R", "flag_any"))

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


# -- the events phase ---------------------------------------------------------------------------


class _Events:
    """The events phase's kernels: ``hits`` (per random event, where its condition holds,
    it may strike again and it strikes, its uniform read at its place) and ``effects``
    (every effect that happened today, by the conflict rules, and the ladder);
    ``random`` are the random events' indices, ``certain`` whether each strikes wherever
    its condition holds (a constant hazard of 1 or more, no draw), ``slots`` the changes
    the numpy path may add, in its order (event index, ``"start"``, ``"end"`` or the
    random event's place), ``targets`` the state variables their effects write."""

    __slots__ = ("certain", "effects", "hits", "names", "random", "slots", "targets")

    def __init__(
        self,
        random: list[int],
        certain: list[bool],
        slots: list[tuple[int, str | int]],
        targets: tuple[str, ...],
        made: tuple[kernels.GeneratedKernel | None, ...],
    ) -> None:
        self.random, self.certain, self.slots, self.targets = random, certain, slots, targets
        self.hits, self.effects = made
        self.names = tuple(dict.fromkeys(n for k in made if k is not None for n in k.names))


def _events(state: WorldState) -> _Events | None:
    """The events phase's kernels (made once per state's plans; None where some
    expression has no scalar code)."""
    key = "morning:events"
    plans = state.plans
    if key not in plans:
        try:
            plans[key] = _make_events(state)
        except LookupError:
            plans[key] = None
    got: _Events | None = plans[key]
    return got


def _make_events(state: WorldState) -> _Events:
    events = state.scenario.events
    random = [e for e, ev in enumerate(events) if ev.kind != "scheduled"]
    certain = []
    for e in random:
        hazard = events[e].hazard
        assert hazard is not None  # compiled so
        certain.append(hazard.value is not None and hazard.value >= 1)
    hits = None
    if random:
        code = kernels._Codes()
        body = []
        for k, e in enumerate(random):
            ev = events[e]
            hazard = ev.hazard
            assert ev.when is not None and hazard is not None  # compiled so
            body.append(f"h = {code.truth(ev.when)}")
            if ev.max_times is not None:
                body.append(f"h = h and count[{e}, i] < {int(ev.max_times)}")
            if not certain[k]:  # else it strikes wherever it may (and no number is read)
                u = f"_uniform_in(ub, wb[i], {e}, tab, wj[i], st)"
                body += ["if h:", f"    h = {u} < {code.number(hazard)}"]
            body += [
                f"hits[{k}, i] = h",
                f"active[{e}, i] = h",
                "if h:",
                f"    count[{e}, i] += 1",
                f"    anyh[{k}] = True",
            ]
        loop = [f"ub = _pcg_blocks(st, tab, bw, {len(events)})", "for i in range(R):"]
        loop += ["    " + line for line in body]
        fixed = ("R", *kernels.DRAWN, "hits", "anyh", "active", "count")
        hits = kernels.GeneratedKernel(loop, code.names(), fixed, loop=False)
    slots: list[tuple[int, str | int]] = []
    for e, ev in enumerate(events):
        if ev.kind == "scheduled":
            slots.append((e, "start"))
            if ev.end_effects:
                slots.append((e, "end"))
        else:
            slots.append((e, random.index(e)))
    targets = tuple(
        dict.fromkeys(x.target for ev in events for x in (*ev.effects, *ev.end_effects))
    )
    return _Events(random, certain, slots, targets, (hits, _effects(state, slots, targets)))


def _effects(
    state: WorldState, slots: list[tuple[int, str | int]], targets: tuple[str, ...]
) -> kernels.GeneratedKernel | None:
    """The kernel of the day's event effects, as :class:`~sim.engine.adjudication.Changes`
    adds them up and applies them: slot ``j``'s effects where ``added[j]`` (the numpy path
    called ``add`` for it), in every world for a scheduled event and where ``hits`` for a
    random one; then each target cast to its type and bounds and the ladder moved, as
    :func:`sim.engine.kernels.adjudication_kernel` does for the day's decisions."""
    if not targets and not any(
        ev.escalate_to is not None or ev.deescalate_to is not None for ev in state.scenario.events
    ):
        return None
    events = state.scenario.events
    code = kernels._Codes()
    types = state.var_types
    body = [line for k, t in enumerate(targets) for line in kernels.effect_start(k, types[t])]
    body += ["up = -1", "down = -1"]
    for j, (e, kind) in enumerate(slots):
        ev = events[e]
        end = kind == "end"
        mask = "True" if isinstance(kind, str) else f"hits[{kind}, i]"
        body += [f"if added[{j}]:", f"    on = {mask}"]
        for eff in ev.end_effects if end else ev.effects:
            k = targets.index(eff.target)
            body += ["    " + x for x in kernels.effect_lines(k, types[eff.target], eff, code)]
        for name, rung in (("up", ev.escalate_to), ("down", ev.deescalate_to)):
            if rung is not None and not end:
                body += ["    if on:", f"        {name} = max({name}, {int(rung)})"]
    for k, t in enumerate(targets):  # only the targets of what happened today
        body.append(f"if touched[{k}]:")
        body += ["    " + _numbered(line, k) for line in kernels._written((t,), types)]
    body += kernels.RUNG_LINES
    body += ["    " + line for line in kernels._ladder(len(state.first_day))]
    fixed: tuple[str, ...] = ("R", "day", "rung", "peak", "new_rung", "new_peak", "newly")
    fixed += ("first_day", "added", "touched", "any_up", "any_down", "hits")
    fixed += tuple(x for k in range(len(targets)) for x in (f"old{k}", f"new{k}"))
    return kernels.GeneratedKernel(body, code.names(), fixed)


_LOCALS = re.compile(r"\b(old|new|d|t|f|m|s)0\b")


def _numbered(line: str, k: int) -> str:
    """A line of :func:`kernels._written` for a single target, made target ``k``'s."""
    return _LOCALS.sub(lambda m: f"{m.group(1)}{k}", line)


def events_phase(state: WorldState, day: int, rng: Rng) -> list[phases.Happening] | None:
    """:func:`sim.engine.phases.events_phase` by the generated kernels (the same writes,
    the same uniforms of ``rng``, read at their places, and the stream moved on by one
    row per event, a place per world of the chunk; the same happenings); None, with
    nothing written and ``rng`` where it was, where there are none."""
    events = state.scenario.events
    if not events or day != state.day or not kernels.compiled_for(state):
        return None
    plan = _events(state)
    if plan is None or (plan.effects is None and plan.targets):
        return None
    R = state.R
    view = read(state, plan.names)  # the morning's: before anything is written
    n = len(plan.random)
    hits = np.zeros((max(n, 1), R), dtype=bool)
    anyh = np.zeros(max(n, 1), dtype=bool)
    if n:
        assert plan.hits is not None  # made with the random events
        drawn = kernels.uniforms(rng, state)
        if drawn is None:
            return None
        rows = (R, *drawn, hits, anyh, state.event_active, state.event_count)
        if not plan.hits.run(rows, view, R):
            return None
    struck = anyh.tolist()
    added, happened, scheduled = [], [], []
    ones: np.ndarray | None = None  # every world, for a scheduled event's happening (made if one)
    up = down = False
    for e, kind in plan.slots:
        ev = events[e]
        if kind == "start":
            assert ev.start_day is not None and ev.end_day is not None  # compiled so
            on = day == ev.start_day
            scheduled.append((e, ev.start_day <= day <= ev.end_day, on))
            if on:
                ones = np.ones(R, dtype=bool) if ones is None else ones
                happened.append(phases.Happening(ev, "event", ones))
        elif kind == "end":
            assert ev.end_day is not None  # compiled so
            on = day == ev.end_day + 1
            if on:
                ones = np.ones(R, dtype=bool) if ones is None else ones
                happened.append(phases.Happening(ev, "event_end", ones))
        else:
            assert isinstance(kind, int)  # a random event's place
            on = struck[kind]
            if on:
                happened.append(phases.Happening(ev, "event", hits[kind]))
        added.append(on)
        if on and kind != "end":
            up = up or ev.escalate_to is not None
            down = down or ev.deescalate_to is not None
    if any(added) and plan.effects is not None:
        touched = {
            x.target
            for (e, kind), on in zip(plan.slots, added, strict=True)
            if on
            for x in (events[e].end_effects if kind == "end" else events[e].effects)
        }
        out = kernels._Written(state, plan.targets)
        flags = np.array(added, dtype=bool)
        marks = np.array([t in touched for t in plan.targets], dtype=bool)
        if not plan.effects.run(out.fixed((flags, marks, up, down, hits)), view, R):
            if n:  # the random events' counts as they were: the numpy path counts again
                state.event_count[plan.random] -= hits
            return None
        out.store(touched, up or down)
    skip_rows(rng, len(events), state)  # the day's block: a row per event
    for e, active, started in scheduled:  # the random events' rows are written already
        state.event_active[e] = active
        if started:  # adding 0 to the row changes nothing
            state.event_count[e] += 1
    return happened
