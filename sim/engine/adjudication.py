"""Adjudication: apply all of a day's decisions at once.

Actors decide on the same snapshot of the world, then this module applies
every chosen action together, so the order in which agents were asked cannot
matter. When two actions (or two events) write the same variable in the same
world on the same day, the conflict rules are:

* ``int``/``float``: the changes add up (``new = old + sum(value_i - old)``),
  then the result is clipped to the variable's bounds (ints are rounded, and
  clipped to the safe range +-1e15: never wrapped around); a change whose value
  is not a number (nan) is not applied to an ``int``;
* ``bool``: setting ``true`` wins over setting ``false`` (a thing that
  happened cannot be undone by a simultaneous denial);
* ``enum``: the value listed last in ``values`` wins (enums are declared from
  mild to severe).

Ladder: the rung rises to the highest ``escalate_to`` of the day; a
``deescalate_to`` lowers it (to the highest de-escalation target) only in
worlds where no escalatory move (any ``escalate_to``) was made that day.

:func:`adjudicate` is a function of (state, decisions, snapshot) that writes
the state (its docstring says what); it draws no random numbers, which makes
it easy to test on hand-built states.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.engine import kernels
from sim.engine.state import WorldState, coerce
from sim.scenario.model import Action, Actor, Effect


@dataclass
class Changes:
    """Pending writes of one phase, combined by the conflict rules."""

    state: WorldState
    delta: dict[str, np.ndarray] = field(default_factory=dict)
    set_true: dict[str, np.ndarray] = field(default_factory=dict)
    set_false: dict[str, np.ndarray] = field(default_factory=dict)
    enum_max: dict[str, np.ndarray] = field(default_factory=dict)
    escalate: np.ndarray | None = None
    deescalate: np.ndarray | None = None

    def add(
        self,
        mask: np.ndarray | None,
        effects: Sequence[Effect],
        env: dict[str, Any],
        escalate_to: int | None = None,
        deescalate_to: int | None = None,
    ) -> None:
        """Record the effects of something that happened in the worlds of ``mask``.

        ``mask`` None means every world: the same changes as an all-true mask,
        without the steps that would only copy them through it.
        """
        R = self.state.R
        types = self.state.var_types
        for eff in effects:
            var = types[eff.target]
            value = self.state.evaluate(eff.expr, env)
            old = self.state.values[eff.target]
            if var.type in ("int", "float"):
                d = np.asarray(value, dtype=float) - old
                if mask is not None:
                    # -0.0 where it did not happen: adding it keeps every value to
                    # the bit (0.0 would turn a -0.0 into 0.0), so a world's numbers
                    # never depend on whether another world of the chunk acted
                    d = np.where(mask, d, -0.0)
                if eff.target in self.delta:
                    self.delta[eff.target] += d
                else:
                    self.delta[eff.target] = d
            elif var.type == "bool":
                v = np.asarray(value, dtype=bool)
                t, f = (v, ~v) if mask is None else (mask & v, mask & ~v)
                # kept as they are when first set (never written in place: a later
                # effect on the same variable makes new arrays, as apply does)
                before = self.set_true.get(eff.target)
                self.set_true[eff.target] = t if before is None else before | t
                before = self.set_false.get(eff.target)
                self.set_false[eff.target] = f if before is None else before | f
            else:
                cur = self.enum_max.get(eff.target)
                if cur is None:
                    cur = np.full(R, -1, dtype=np.int64)
                top = np.maximum(cur, value)
                self.enum_max[eff.target] = top if mask is None else np.where(mask, top, cur)
        if escalate_to is not None:
            e = _where(mask, escalate_to, R)
            self.escalate = e if self.escalate is None else np.maximum(self.escalate, e)
        if deescalate_to is not None:
            e = _where(mask, deescalate_to, R)
            self.deescalate = e if self.deescalate is None else np.maximum(self.deescalate, e)

    def apply(self, day: int) -> None:
        """Write the combined changes into the state and move the ladder."""
        st = self.state
        types = st.var_types
        for name, d in self.delta.items():
            v = types[name]
            new = st.values[name] + d
            if v.type == "int":
                new = np.where(np.isnan(new), st.values[name], new)
            st.values[name] = coerce(new, v.type, v.min, v.max)
        for name in set(self.set_true) | set(self.set_false):
            cur = st.values[name]
            t = self.set_true.get(name, False)
            f = self.set_false.get(name, False)
            # true where set true, else false where set false, else unchanged
            st.values[name] = np.logical_or(t, np.logical_and(cur, np.logical_not(f)))
        for name, m in self.enum_max.items():
            st.values[name] = np.where(m >= 0, m, st.values[name])
        rung = st.rung
        if self.escalate is not None:
            rung = np.maximum(rung, self.escalate)
        if self.deescalate is not None:
            lower = (self.deescalate >= 0) & (self.deescalate < rung)
            if self.escalate is not None:
                lower &= self.escalate < 0  # any escalatory move blocks de-escalation
            rung = np.where(lower, self.deescalate, rung)
        if rung is not st.rung:
            _climb(st, rung, day)


def _climb(st: WorldState, rung: np.ndarray, day: int) -> None:
    """Put the day's new ``rung`` (a new array) in place, with the peak and the days
    rungs are first reached."""
    st.rung = rung.astype(np.int64, copy=False)
    newly = st.rung > st.peak
    if newly.any():
        # Every rung passed on the way up counts as reached today, except on a
        # hypothetical copy that shares the days with its state, read only
        # (WorldState.hypothetical without ``ladder``): nothing reads them there.
        if st.first_day.flags.writeable:
            # the worlds that rose alone: each rung up to theirs is set where it is
            # still unset (no rung above the highest of them is reached today)
            w = np.flatnonzero(newly)
            up = st.rung.take(w)
            for j in range(1, min(len(st.first_day), int(up.max()) + 1)):
                days = st.first_day[j]
                days[w[(up >= j) & (days.take(w) < 0)]] = day
        st.peak = np.maximum(st.peak, st.rung)


def _where(mask: np.ndarray | None, rung: int, R: int) -> np.ndarray:
    """``rung`` in the worlds of ``mask`` (every world for None), -1 elsewhere."""
    if mask is None:
        out = np.empty(R, dtype=np.int64)
        out.fill(rung)
        return out
    return np.where(mask, rung, -1)


SEATED = -2
"""The ``rule`` of a choice a seat made (a person or a policy), not a rule of the scenario."""


@dataclass(frozen=True)
class Decision:
    """One actor's choice in every world: action index and producing rule.

    ``rule`` is the global rule index that produced the choice, -1 when
    the actor fell back on its default action with no rule involved, or
    :data:`SEATED` where a seat chose instead of the doctrine.
    ``binding`` lists, per constraint that bound today, its global rule index
    and the worlds where it forbade an action a trigger or preference wanted.
    """

    actor: str
    action: np.ndarray
    rule: np.ndarray
    binding: tuple[tuple[int, np.ndarray], ...] = ()


def adjudicate(state: WorldState, decisions: Sequence[Decision], env: dict[str, Any]) -> None:
    """Apply all decisions simultaneously (see module docstring for conflicts).

    ``env`` is the snapshot the actors decided on; effects are evaluated on
    it, so no actor sees another's move of the same day. ``decisions`` come
    in scenario order of the actors (the model sorts them), so sums of
    simultaneous changes are added in one fixed order.

    Writes into ``state``: the state variables the actions set, the ladder
    (``rung``, ``peak``, ``first_day``), the action history
    (``action_count``, ``action_last``) and ``rule_fired`` (the rule behind
    each choice, and the constraints that bound).
    """
    if kernels.active() and kernels.adjudicate(state, decisions, env):
        _fired(state, decisions, compiled=True)
        return
    ch = Changes(state)
    day = state.day
    # (actor, action, worlds) of today's moves; worlds None: every world
    taken: list[tuple[str, int, np.ndarray | None]] = []
    R = state.R
    for dec in decisions:
        actor = state.actors[dec.actor]
        # One count of the worlds per action, instead of a mask per action to
        # find the actions nobody took (foresight adjudicates one action taken
        # in every world many times a day, where no mask is needed at all).
        taken_in = np.bincount(dec.action, minlength=len(actor.actions))
        for act in actor.actions:
            n = taken_in[act.index]
            if not n:
                continue
            mask = None if n == R else dec.action == act.index
            taken.append((actor.id, act.index, mask))
            if not act.default:
                ch.add(mask, act.effects, env, act.escalate_to, act.deescalate_to)
    # History is updated only after every effect has been evaluated, so no
    # actor's effects can see another actor's move of the same day.
    for actor_id, index, mask in taken:
        if mask is None:
            state.action_count[actor_id][index] += 1
            state.action_last[actor_id][index] = day
        else:
            state.action_count[actor_id][index] += mask
            np.putmask(state.action_last[actor_id][index], mask, day)  # [mask] = day, faster
    _fired(state, decisions)
    ch.apply(day)


def move(
    state: WorldState, actor: Actor, action: Action, env: dict[str, Any], history: bool = True
) -> None:
    """:func:`adjudicate` of one decision: ``actor`` taking ``action`` in every world, by
    no rule (foresight's hypothetical moves, many a day), on the numpy path.

    The same writes in the same order, without what a decision that differs
    between worlds needs: no count of the worlds per action, no masks, and no
    rule to record (none fired, no constraint bound). Without ``history`` the
    move is not counted in the actor's history (for a copy that shares it:
    :meth:`WorldState.hypothetical` with ``history=False``).
    """
    day = state.day
    if action.default:
        pass
    elif _distinct(action):
        _alone(state, action, env, day)
    else:
        ch = Changes(state)
        ch.add(None, action.effects, env, action.escalate_to, action.deescalate_to)
        ch.apply(day)
    if history:
        state.action_count[actor.id][action.index] += 1
        state.action_last[actor.id][action.index] = day


_DISTINCT: dict[Action, bool] = {}


def _distinct(action: Action) -> bool:
    """Whether no two of ``action``'s effects set the same variable (worked out once)."""
    got = _DISTINCT.get(action)
    if got is None:
        targets = [e.target for e in action.effects]
        got = _DISTINCT[action] = len(set(targets)) == len(targets)
    return got


def _alone(state: WorldState, action: Action, env: dict[str, Any], day: int) -> None:
    """What :class:`Changes` writes for ``action`` alone, taken in every world, whose
    effects set different variables: the same numbers, without the combining.

    A number is ``old + (value - old)``, made an ``int``'s old value where it is
    nan, then coerced; a bool set alone is its value (``v or (old and not not v)``
    is ``v``: a new array); an enum is the larger of its value and -1 where that is
    a value, else the old one. The ladder rises to ``escalate_to`` and, where nothing
    escalates, falls to ``deescalate_to`` where it is above it (the smaller of the
    two, for ints); a move of the ladder always gives a new ``rung`` array.
    """
    R = state.R
    types = state.var_types
    values = state.values
    new: list[tuple[str, np.ndarray]] = []
    for eff in action.effects:  # every value on the morning's state, then the writes
        var = types[eff.target]
        value = state.evaluate(eff.expr, env)
        old = values[eff.target]
        if var.type in ("int", "float"):
            x = old + (np.asarray(value, dtype=float) - old)
            if var.type == "int":
                x = np.where(np.isnan(x), old, x)
            x = coerce(x, var.type, var.min, var.max)
        elif var.type == "bool":
            x = np.array(value, dtype=bool)
        else:
            top = np.maximum(np.full(R, -1, dtype=np.int64), value)
            x = np.where(top >= 0, top, old)
        new.append((eff.target, x))
    for name, x in new:
        values[name] = x
    up, down = action.escalate_to, action.deescalate_to
    if up is None and down is None:
        return
    rung = state.rung
    if up is not None:
        rung = np.maximum(rung, up)
    if down is not None:
        # any escalatory move (a rung of 0 or more) blocks de-escalation: ``rung`` is
        # then as it is
        blocked = up is not None and up >= 0
        rung = np.minimum(rung, down) if down >= 0 and not blocked else rung.copy()
    _climb(state, rung, day)


def _fired(state: WorldState, decisions: Sequence[Decision], compiled: bool = False) -> None:
    """``rule_fired``: the rule behind each choice, and the constraints that bound
    (the rules by a kernel where ``compiled`` and one can be had)."""
    chosen = compiled and kernels.fired(state, decisions)
    for dec in decisions:
        if not chosen:
            fired = dec.rule >= 0
            if fired.any():
                _mark(state.rule_fired, dec.rule, fired)
        for rule_index, worlds in dec.binding:
            state.rule_fired[rule_index] |= worlds


def _mark(rows: np.ndarray, rule: np.ndarray, fired: np.ndarray) -> None:
    """``rows[rule[w], w] = True`` for the worlds ``w`` where ``fired``; written through the
    flat array where ``rows`` is one block (a quarter of the time of the two-axis write)."""
    if not rows.flags.c_contiguous:
        rows[rule[fired], np.nonzero(fired)[0]] = True
        return
    w = np.flatnonzero(fired)
    rows.reshape(-1)[rule.take(w) * rows.shape[1] + w] = True
