"""A decider's whole foresight for a day as one generated kernel (the outlook kernel).

:func:`sim.engine.foresight.utilities` on the compiled path calls a kernel
for each piece of the expected values it adds up (a move, a value, a
chance), with numpy and Python between them: hypothetical copies of the
state, views, memos, the worlds restricted to where a rule is active. At
the size of a chunk that orchestration costs more than the kernels'
arithmetic. The outlook kernel computes the same utilities in one loop over
the worlds, each hypothetical state being scalar locals of that loop.

Its source is generated from the compiled scenario, never written per
scenario: the bodies of :mod:`sim.engine.kernels`' move, value and chance
kernels put one after another for the decider's moves ``x``, the responses
``r`` on ``s+x`` and each joint type of a responder's traits, every name an
expression reads bound to what it is on that hypothetical state (a local
written by a move, a type's trait value, the base snapshot read as the next
day, the decider's view of today for its own moves). A body whose names are
bound alike on two states (a chance that reads nothing the decider's move
wrote, a value that reads nothing a response wrote) is computed once, as the
numpy path's memos reuse it.

The numbers are those of the numpy path to the bit: each world's utility is
made by the same operations on the same values in the same order. What the
numpy path decides across the worlds is reproduced across the same worlds
(those where some rule's ``when`` holds with its action allowed): a term
``weight * P_H * gain`` is added only if its ``P_H`` is positive in one of
them, so a first pass writes each term and whether it is, and a second adds
up the terms so kept in the order of
:meth:`~sim.engine.foresight.Outlook.expected_value`. A ``pow`` or an ``exp``
whose argument the call has met before in another world is taken again from
what it gave there (:meth:`_Builder.chance`, :func:`_kept_exps`): the same
numbers, without numpy's loop on one element each time. Where the kernel cannot
be had (numba missing, an expression without scalar code, a value of an
unexpected kind), :func:`utilities` gives None and the numpy path runs.
"""

from __future__ import annotations

import operator
import re
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.engine import elementary, foresight, kernels
from sim.engine.beliefs import belief_names
from sim.engine.state import PerScenario
from sim.expr.nodes import NAME_CLOSE, NAME_OPEN
from sim.expr.scalar import names_in, substitute
from sim.scenario import names
from sim.scenario.model import Action, Actor

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sim.engine.state import WorldState
    from sim.scenario.model import Rule


Slot = tuple[Any, ...]
"""Where a kernel argument comes from at each call (see :func:`_fetch`)."""


class Plan:
    """The outlook kernel of one decider's foresight rules and what its arguments are:
    ``slots`` (see :func:`_fetch`), how many ``terms``, decider's moves (``width``),
    ``rows`` (rules), chances whose powers are kept (``powers``) and calls of ``exp``
    whose values are kept (``exps``) it has."""

    __slots__ = ("exps", "kernel", "powers", "rows", "scratch", "slots", "terms", "width")

    def __init__(
        self,
        kernel: _TwoLoops,
        slots: list[Slot],
        terms: int,
        width: int,
        rows: int,
        powers: int,
        exps: int,
    ) -> None:
        self.kernel, self.slots = kernel, slots
        self.terms, self.width, self.rows, self.powers = terms, width, rows, powers
        self.exps = exps
        self.scratch: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def buffers(self, R: int) -> tuple[np.ndarray, np.ndarray]:
        """The first loop's ``terms`` and ``vxs`` for ``R`` worlds, kept for the next call
        in this thread (every element the second loop reads is written first): new
        arrays of several megabytes on every call cost their pages' first touch."""
        key = (R, threading.get_ident())
        got = self.scratch.get(key)
        if got is None:
            if len(self.scratch) >= 4:
                self.scratch.clear()
            got = self.scratch[key] = (
                np.empty((max(self.terms, 1), R)),
                np.empty((self.width, R)),
            )
        return got


class _TwoLoops(kernels.GeneratedKernel):
    """A generated kernel with a second loop over the worlds after the first, whose
    lines ``after`` read only the fixed arguments (what the first loop wrote)."""

    __slots__ = ("after",)

    def __init__(
        self, body: list[str], after: list[str], names: tuple[str, ...], fixed: tuple[str, ...]
    ) -> None:
        super().__init__(body, names, fixed)
        self.after = after

    def source(self, pattern: str) -> str:
        second = "".join(f"        {line}\n" for line in self.after)
        return f"{super().source(pattern)}    for i in range(R):\n{second}"


class _Builder:
    """The first pass's lines, written state by state.

    A hypothetical state is a dict ``changed``: each name a move wrote, to the
    local holding its value in world ``i``; every other name reads as in the
    base (or, for its own moves, the decider's view of today). Arguments are
    named ``s<k>`` between the expression name markers, so that the kernel's
    pattern (world array or scalar) puts ``v<k>[i]`` or ``v<k>`` in their place.
    """

    def __init__(self, state: WorldState, decider: Actor) -> None:
        self.state = state
        self.decider = decider
        self.lines: list[str] = []
        self.slots: dict[Slot, int] = {}
        self.done: dict[Any, Any] = {}  # what is computed already, by what it reads
        self.count = 0
        self.powers = 0  # chances whose powers are kept for the next worlds (``pc``)
        self.history = foresight._history_by_mover(state)
        self.terms = kernels.value_terms(decider, kernels._Codes())
        self.special = {decider.id: frozenset(belief_names(decider))}
        for b in foresight.responders(state, decider):
            self.special[b.actor.id] = frozenset(belief_names(b.actor)) | set(b.means)

    def arg(self, slot: Slot) -> str:
        """The source of the argument ``slot`` (made an argument on first use)."""
        k = self.slots.setdefault(slot, len(self.slots))
        return f"{NAME_OPEN}s{k}{NAME_CLOSE}"

    def local(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    def source(self, name: str, actor: Actor, changed: dict[str, str], traits: Slot | None) -> str:
        """What ``name`` reads on the state ``changed`` as ``actor`` sees it, a responder's
        weighed traits being those of the joint type ``traits`` (responder, type)."""
        if (
            traits is not None
            and name in foresight.responders(self.state, self.decider)[traits[0]].typed
        ):
            responder = foresight.responders(self.state, self.decider)[traits[0]]
            combo = _joint_types(responder)[traits[1]]
            j = next(j for j, t in enumerate(responder.traits) if t.id == name)
            return self.arg(("const", responder.traits[j].values[combo[j]]))
        got = changed.get(name)
        if got is not None:
            return got
        if name in self.special.get(actor.id, ()):
            return self.arg(("seen", actor.id, name))
        return self.arg(("base", name))

    def inline(
        self, kernel: kernels.GeneratedKernel, bound: dict[str, str], fixed: dict[str, str]
    ) -> None:
        """``kernel``'s body for one world, its names read from ``bound`` and its fixed
        arrays replaced by ``fixed`` (a token such as ``old0[i]`` to a source); the
        lines that write the history and ``first_day``, which no expression reads
        on a hypothetical state, are left out."""
        token = re.compile(
            r"(?<!\w)(" + "|".join(re.escape(t) for t in sorted(fixed, key=len, reverse=True)) + ")"
        )
        for line in kernel.body:
            if any(d in line for d in _LEFT_OUT):
                continue
            line = substitute(line, bound)
            self.lines.append(token.sub(lambda m: fixed[m.group(1)], line) if fixed else line)

    def weight(self, b: int, t: int) -> str:
        """The weight of responder ``b``'s joint type ``t``, as :func:`foresight._type_weights`
        makes it: the product, in order, of the decider's belief in each trait's type
        (a row per world) or, where it holds none, the trait's prior (a number)."""
        responder = foresight.responders(self.state, self.decider)[b]
        factors = []
        for trait, k in zip(responder.traits, _joint_types(responder)[t], strict=True):
            key = (self.decider.id, trait.id)
            held = key in self.state.posterior
            factors.append(self.arg(("posterior", key, k) if held else ("const", trait.prior[k])))
        if not factors:
            return "1.0"
        product = factors[0]
        for f in factors[1:]:
            product = f"({product} * {f})"
        return product

    # -- the pieces ---------------------------------------------------------------------
    def move(
        self,
        actor: Actor,
        action: Action,
        changed: dict[str, str],
        bound: dict[str, str],
    ) -> dict[str, str]:
        """The state ``changed`` after ``actor`` took ``action`` (its effects reading
        ``bound``): its targets, the ladder and the mover's history of it as new locals."""
        st = self.state
        kernel = kernels.move_kernel(actor, action, st)
        if kernel is None:
            raise LookupError(action.id)
        parent = (changed.get(n, "") for n in ("rung", "peak", *kernels.move_targets(action)))
        key = ("move", actor.id, action.index, *(bound[n] for n in kernel.names), *parent)
        got = self.done.get(key)
        if got is not None:
            return {**changed, **got}
        delta: dict[str, str] = {}
        fixed = {
            "rung[i]": self.source("rung", actor, changed, None),
            "peak[i]": self.source("peak", actor, changed, None),
        }
        for k, t in enumerate(kernels.move_targets(action)):
            fixed[f"old{k}[i]"] = self.source(t, actor, changed, None)
            fixed[f"new{k}[i]"] = delta[t] = self.local("x")
        if not action.default and (action.escalate_to, action.deescalate_to) != (None, None):
            fixed["new_rung[i]"] = delta["rung"] = self.local("rung")
            fixed["new_peak[i]"] = delta["peak"] = self.local("peak")
        self.inline(kernel, bound, fixed)
        count = self.arg(("count", actor.id, action.index))
        for name, h in self.history.get(actor.id, ()):
            if h.action != action.id:
                continue  # as in the base: only this action's row changed
            v = delta[name] = self.local("hist")
            moved = {
                "count": f"{count} + 1",
                "taken": f"({count} + 1) > 0",
                "days_since": f"min(D1 - D0, {names.NEVER})",
            }[h.field]
            self.lines.append(f"{v} = {moved}")
        self.done[key] = delta
        return {**changed, **delta}

    def value(self, changed: dict[str, str]) -> str:
        """The local holding the decider's ``V`` on the state ``changed``: its terms
        added up from 0 in their order, as :func:`kernels.values_kernel` adds them, each
        term worked out once for all states on which it reads the same."""
        parts = []
        for term in self.terms:
            bound = {n: self.source(n, self.decider, changed, None) for n in names_in(term)}
            key = ("term", term, *bound.values())
            got = self.done.get(key)
            if got is None:
                got = self.done[key] = self.local("term")
                self.lines.append(f"{got} = {substitute(term, bound)}")
            parts.append(got)
        key = ("value", *parts)
        total = self.done.get(key)
        if total is None:
            total = self.done[key] = self.local("val")
            self.lines.append(f"{total} = {' + '.join(['0.0', *parts])}")
        return str(total)

    def chance(
        self, b: int, resp: foresight.Response, t: int, horizon: int, changed: dict[str, str]
    ) -> str:
        """The local holding ``P_H`` of ``resp`` (of responder ``b``, joint type ``t``)."""
        kernel = kernels.chance_kernel(resp, self.state)
        if kernel is None:
            raise LookupError(resp.action.id)
        actor = resp.actor
        bound = {n: self.source(n, actor, changed, (b, t)) for n in kernel.names}
        key = ("chance", actor.id, resp.action.index, horizon, *bound.values())
        got = self.done.get(key)
        if got is None:
            got = self.done[key] = self.local("ph")
            taken = self.arg(("count", actor.id, resp.action.index))
            self.lines.append(f"H = {int(horizon)}")
            self.inline(kernel, bound, {"out[i]": got, "taken[i]": taken})
            if horizon > 2:
                # ``1 - q ** H`` (the last line) taken again where ``q`` is one whose
                # power this call has taken, kept in row ``n`` of ``pc`` (``_kept``,
                # ``_keep`` of :mod:`sim.engine.elementary`). A response's ``1 - p``
                # takes few values in a call, a handful at most in a default batch (it is
                # never -0, whose power would differ from 0's), and one ``pow`` costs
                # several times more than looking them up.
                n = self.powers
                self.powers += 1
                last = self.lines.pop()
                self.lines += [
                    f"if _kept(pc, {n}, q):",
                    f"    {got} = pc[{n}, 1]",
                    "else:",
                    f"    {last}",
                    f"    _keep(pc, {n}, q, {got})",
                ]
        return str(got)


_EXPS = re.compile(r"(?<!\w)(_exp|_npexp)\(")
"""A call of the clipped ``exp`` of scalar code, or of numpy's own."""


def _kept_exps(lines: list[str]) -> tuple[list[str], int]:
    """``lines`` with each call of ``exp`` made one of ``_exp_kept`` (row ``s`` of the
    table ``ek`` for the ``s``-th call), which takes the value again where the call's
    argument is one it has seen in this call of the kernel: an argument reads the
    decider's beliefs and the base, which take few values across the worlds, and
    numpy's ``exp`` on one element costs much more than looking them up. Also gives
    how many calls there are (rows of ``ek``)."""
    sites = 0
    out = []
    for line in lines:
        parts = _EXPS.split(line)
        if len(parts) > 1:
            made = [parts[0]]
            for name, rest in zip(parts[1::2], parts[2::2], strict=True):
                clip = "True" if name == "_exp" else "False"
                made.append(f"_exp_kept(ek, {sites}, {clip}, {rest}")
                sites += 1
            line = "".join(made)
        out.append(line)
    return out, sites


_LEFT_OUT = ("first_day[", "newly[0]", "count[i] +=", "last[i] = day")
"""What a move kernel's lines write that no expression reads on a hypothetical state."""


def plan(state: WorldState, decider: Actor, rules: Sequence[Rule]) -> Plan | None:
    """The outlook kernels of ``decider``'s foresight ``rules`` (made once per scenario
    model and set of rules; None where some expression has no scalar code)."""
    key = (decider.id, *map(_INDEX, rules))  # each call asks: no string made
    plans = _plans_of(state.scenario)
    if key not in plans:
        try:
            plans[key] = _make(state, decider, rules)
        except LookupError:
            plans[key] = None
    got: Plan | None = plans[key]
    return got


_INDEX = operator.attrgetter("index")

_PLANS = PerScenario(16)
"""The plans of the scenarios last seen: a chunk's state is new, the scenario is not."""


def _plans_of(scenario: Any) -> dict[tuple[Any, ...], Plan | None]:
    """The plans kept for ``scenario``."""
    made: dict[tuple[Any, ...], Plan | None] = _PLANS.get(scenario, dict)
    return made


def _make(state: WorldState, decider: Actor, rules: Sequence[Rule]) -> Plan:
    """Generate the two passes (see the module docstring)."""
    gen = _Builder(state, decider)
    env = {n: gen.arg(("env", n)) for n in _move_names(decider, state)}
    others = foresight.responders(state, decider)
    types = [len(_joint_types(b)) for b in others]
    default = decider.default_action
    wanted: dict[tuple[int, int], None] = {}
    for r in rules:
        h = int(r.horizon or 0)  # compiled so
        wanted[(r.action_index, h)] = None
        wanted[(default.index, h)] = None
    moves = list(dict.fromkeys(a for a, _ in wanted))
    sums: dict[tuple[int, int], list[int]] = {k: [] for k in wanted}
    k = 0
    for slot, a in enumerate(moves):
        act = decider.actions[a]
        kernel = kernels.move_kernel(decider, act, state)
        if kernel is None:
            raise LookupError(act.id)
        sx = gen.move(decider, act, {}, {n: env[n] for n in kernel.names})
        vx = gen.value(sx)
        gen.lines.append(f"vxs[{slot}, i] = {vx}")
        horizons = [h for (x, h) in wanted if x == a]
        for bi, responder in enumerate(others):
            b = responder.actor
            for resp in responder.responses:
                gains: dict[int | None, str] = {}
                for t in range(types[bi]):
                    key = t if resp.reads_traits else None
                    if key not in gains:
                        mk = kernels.move_kernel(b, resp.action, state)
                        if mk is None:
                            raise LookupError(resp.action.id)
                        bound = {n: gen.source(n, b, sx, (bi, t)) for n in mk.names}
                        sxr = gen.move(b, resp.action, sx, bound)
                        g = gains[key] = gen.local("gain")
                        gen.lines.append(f"{g} = {gen.value(sxr)} - {vx}")
                    weight = gen.weight(bi, t)
                    for h in horizons:
                        ph = gen.chance(bi, resp, t, h, sx)
                        gen.lines += [
                            f"if {ph} > 0.0:",
                            f"    anyw[{k}] = True",
                            f"terms[{k}, i] = ({weight} * {ph}) * {gains[key]}",
                        ]
                        sums[(a, h)].append(k)
                        k += 1
    body, exps = _kept_exps(gen.lines)
    first = ["if not live[i]:", "    continue", *body]
    second = ["if live[i]:"]
    for n, ((a, _), ks) in enumerate(sums.items()):
        second.append(f"    e = vxs[{moves.index(a)}, i]")
        for j in ks:
            second += [f"    if anyw[{j}]:", f"        e = e + terms[{j}, i]"]
        second.append(f"    e{n} = e")
    order = list(sums)
    for row, r in enumerate(rules):
        h = int(r.horizon or 0)  # compiled so
        mine, base = order.index((r.action_index, h)), order.index((default.index, h))
        second.append(f"    out[{row}, i] = e{mine} - e{base}")
    slots = [_resolved(x, state, decider) for x in sorted(gen.slots, key=gen.slots.__getitem__)]
    argnames = tuple(f"s{j}" for j in range(len(slots)))
    fixed = ("R", "D0", "D1", "live", "anyw", "terms", "vxs", "pc", "ek", "out")
    return Plan(
        _TwoLoops(first, second, argnames, fixed),
        slots,
        k,
        len(moves),
        len(rules),
        gen.powers,
        exps,
    )


def _move_names(decider: Actor, state: WorldState) -> set[str]:
    """The names the decider's moves' effects read (on its view of today)."""
    out: set[str] = set()
    for act in decider.actions:
        kernel = kernels.move_kernel(decider, act, state)
        if kernel is not None:
            out |= set(kernel.names)
    return out


def _joint_types(responder: foresight.Responder) -> list[tuple[int, ...]]:
    """The joint types of ``responder``'s weighed traits, in :func:`foresight._type_weights`'
    order."""
    import itertools

    return list(itertools.product(*(range(len(t.types)) for t in responder.traits)))


def utilities(
    decider: Actor,
    rules: Sequence[Rule],
    state: WorldState,
    env: dict[str, Any],
    active: np.ndarray,
) -> dict[int, np.ndarray] | None:
    """:func:`sim.engine.foresight.utilities` by the outlook kernel, ``active`` being
    where some rule's ``when`` holds with its action allowed; None where there is
    no kernel (the caller then takes the numpy path)."""
    if not kernels.compiled_for(state):
        return None
    got = plan(state, decider, rules)
    if got is None:
        return None
    R = state.R
    args = _fetch(got.slots, state, env)
    key = kernels.pattern(got.kernel.patterns, args, R)
    if key is None:
        return None
    fn = got.kernel.variants.get(key, kernels._UNSEEN)
    if fn is kernels._UNSEEN:
        fn = got.kernel.function(key)
    if fn is None:
        return None
    day = state.day
    anyw = np.zeros(max(got.terms, 1), dtype=np.bool_)
    terms, vxs = got.buffers(R)
    out = np.zeros((got.rows, R))
    try:
        powers, exps = elementary.kept_rows(got.powers), elementary.kept_rows(got.exps)
        fn(R, day, day + 1, active, anyw, terms, vxs, powers, exps, out, *args)
    except Exception:  # a typing failure in numba: keep the numpy path
        got.kernel.variants[key] = None
        return None
    return {r.index: out[j] for j, r in enumerate(rules)}


def _resolved(slot: Slot, state: WorldState, decider: Actor) -> Slot:
    """``slot`` as what :func:`_fetch` reads for it each day (worked out once): a state
    variable, a parameter, a history name, the ladder or the day of the base; a row of a
    belief or a prior mean of an actor's own view; else as it is."""
    kind = slot[0]
    if kind == "base":
        name = slot[1]
        history = dict(state.history_parts)
        if name in state.values:
            return ("value", name)
        if name in state.params:
            return ("param", name)
        if name in history:
            return ("history", history[name])
        if name in ("day", "rung", "peak"):
            return (name,)
        intel = [it.id for it in state.scenario.intel]
        if name in intel:
            return ("intel", intel.index(name))
    elif kind == "seen":
        actor = state.actors[slot[1]]
        where = belief_names(actor).get(slot[2])
        if where is not None:
            return ("posterior", *where)
        b = next(b for b in foresight.responders(state, decider) if b.actor.id == slot[1])
        return ("const", np.float64(b.means[slot[2]]))
    return slot


def _fetch(slots: list[Slot], state: WorldState, env: dict[str, Any]) -> list[Any]:
    """The value today of each of the :func:`_resolved` ``slots``: a name of the
    decider's view ``env``; of the base (the snapshot read as the next day) a state
    variable, a parameter, a history name, an intelligence item, the ladder or the
    day; a row of a belief, a history row, or a number."""
    day = state.day + 1
    base: dict[str, Any] | None = None
    out: list[Any] = []
    for slot in slots:
        kind = slot[0]
        v: Any
        if kind == "value":
            v = state.values[slot[1]]
        elif kind == "param":
            v = state.params[slot[1]]
        elif kind == "const":
            v = slot[1]
        elif kind == "env":
            v = env[slot[1]]
        elif kind == "count":
            v = state.action_count[slot[1]][slot[2]]
        elif kind == "posterior":
            v = state.posterior[slot[1]][slot[2]]
        elif kind == "history":
            v = state.history_value(slot[1], day)
        elif kind == "intel":
            v = state.belief[slot[1]]  # read only (the base's is a copy of it)
        elif kind == "day":
            v = day
        elif kind in ("rung", "peak"):
            v = state.rung if kind == "rung" else state.peak
        else:
            if base is None:
                base = state.env(day)
            v = base[slot[1]]
        out.append(v)
    return out
