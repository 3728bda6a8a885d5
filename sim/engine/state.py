"""The world state, vectorised: one array element per simulated world.

A :class:`WorldState` holds everything the expressions can read (state
variables, parameters, ladder position, action and event history, private
intel) plus what the batch tables need (first day of each rung, which rules
fired). ``R`` worlds cost one array of length ``R`` per quantity; there is no
per-world Python object anywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

import numpy as np

from sim.engine.beliefs import belief_names, initial_beliefs
from sim.errors import UsageError
from sim.expr import Expr
from sim.scenario import names, strategy
from sim.scenario.model import Actor, Parameter, Scenario, StateVar
from sim.spec import MAX_MAGNITUDE, magnitude_problem

INT_LIMIT = MAX_MAGNITUDE
"""Largest absolute value an ``int`` state variable can take (values are clipped to it)."""


@dataclass
class WorldState:
    """Mutable per-world arrays for ``R`` worlds of one scenario.

    Built whole by :meth:`initial`: every array exists, with its final shape,
    from construction on.
    """

    scenario: Scenario
    R: int
    values: dict[str, np.ndarray]  # state variable -> (R,)
    params: dict[str, np.ndarray]  # parameter -> (R,)
    rung: np.ndarray  # (R,)
    peak: np.ndarray  # (R,)
    first_day: np.ndarray  # (rungs, R)
    action_count: dict[str, np.ndarray]  # actor -> (actions, R)
    action_last: dict[str, np.ndarray]  # actor -> (actions, R)
    event_active: np.ndarray  # (events, R)
    event_count: np.ndarray  # (events, R)
    belief: np.ndarray  # (intel, R)
    held: np.ndarray  # (intel, R)
    intel_delay: np.ndarray  # (intel, R)
    rule_fired: np.ndarray  # (rules, R)
    flag_any: np.ndarray  # (flags, R)
    history_names: frozenset[str]
    posterior: dict[tuple[str, str], np.ndarray]  # (holder, trait) -> (types, R)
    evidence_used: dict[tuple[str, str, str], np.ndarray]  # once-evidence seen -> (R,)
    day: int = 0
    offset: int = 0
    """Where these worlds start among the ``width`` worlds of their chunk (0 but for a part)."""
    width: int = 0
    """The worlds of the chunk these are part of: every row of uniforms has this many
    places, world ``i`` reading place ``offset + i`` (``R`` but for a part)."""
    blocks: tuple[tuple[int, int, int, int], ...] = ()
    """Where the worlds come from several chunks: per chunk its first world here, its
    worlds, their offset in it and its width, in order (empty: one chunk,
    :attr:`offset` and :attr:`width`). Each chunk's worlds draw from its own streams
    (:class:`sim.engine.draws.Streams`)."""

    @classmethod
    def initial(
        cls,
        scenario: Scenario,
        R: int,
        rng: np.random.Generator | None,
        pinned: dict[str, Any] | None = None,
        part: tuple[int, int] | None = None,
        blocks: Sequence[tuple[np.random.Generator, int, int, int]] = (),
    ) -> WorldState:
        """Draw parameters and set initial values for ``R`` worlds.

        ``pinned`` fixes named parameters to given values (for sweeps and
        external samplers) instead of drawing them; draws for the other
        parameters are unchanged, because each parameter has its own stream.

        ``part`` is ``(offset, width)``: these ``R`` worlds are worlds ``offset``
        to ``offset + R - 1`` of a chunk of ``width`` worlds run on the same
        ``rng``, and get exactly the numbers those worlds get when the whole
        chunk runs at once (:func:`sim.engine.core.Engine`'s ``part``).

        ``blocks`` (instead of ``rng`` and ``part``) are the worlds of several chunks
        one after the other: per chunk its parameters' generator, the worlds taken,
        their offset and the chunk's width; ``R`` is their sum.
        """
        offset, width = (0, R) if part is None else part
        if blocks:
            given = list(blocks)
        elif rng is None:
            raise ValueError("worlds need a generator, or blocks")
        else:
            given = [(rng, R, offset, width)]
        layout: list[tuple[int, int, int, int]] = []
        for _, n, off, w in given:
            if not (off >= 0 and n >= 1 and off + n <= w):
                raise UsageError(f"worlds {off} to {off + n - 1} are not in a chunk of {w}")
            layout.append((sum(b[1] for b in layout), n, off, w))
        if sum(b[1] for b in layout) != R:
            raise UsageError(f"{R} worlds asked for, {sum(b[1] for b in layout)} in the blocks")
        pinned = pinned or {}
        params: dict[str, np.ndarray] = {}
        n_params = max(1, len(scenario.parameters))
        per_block = [_streams(g, n_params) for g, _, _, _ in given]
        for j, p in enumerate(scenario.parameters):
            pieces = []
            for streams, (_, n, off, w) in zip(per_block, given, strict=True):
                d = _sample(p, streams[j], w)
                pieces.append(d if (off, n) == (0, w) else d[off : off + n].copy())
            drawn = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
            if p.id in pinned:
                v = pinned[p.id]
                if not p.enum_values and not isinstance(v, str) and not abs(v) <= MAX_MAGNITUDE:
                    raise UsageError(f"pinned parameter {p.id!r}: {magnitude_problem(v)}")
                if p.enum_values:
                    v = p.enum_values.index(v) if isinstance(v, str) else int(v)
                drawn = np.full(R, v, dtype=drawn.dtype if not p.enum_values else np.int64)
                if not p.enum_values and not p.integer:
                    drawn = drawn.astype(float)
            params[p.id] = drawn
        base_env: dict[str, Any] = {**params}
        values = {
            v.id: _coerce(
                np.array(v.initial.evaluate(base_env, R), copy=True), v.type, v.min, v.max
            )
            for v in scenario.state
        }
        first_day = np.full((len(scenario.ladder), R), -1, dtype=np.int32)
        first_day[0] = 0
        n_in = len(scenario.intel)
        intel_delay = np.zeros((n_in, R), dtype=float)
        for i, it in enumerate(scenario.intel):
            intel_delay[i] = it.delay_days.evaluate(base_env, R)
        n_ev = len(scenario.events)
        posterior, evidence_used = initial_beliefs(scenario, base_env, R)
        state = cls(
            scenario=scenario,
            R=R,
            values=values,
            params=params,
            rung=np.zeros(R, dtype=np.int64),
            peak=np.zeros(R, dtype=np.int64),
            first_day=first_day,
            action_count={
                a.id: np.zeros((len(a.actions), R), dtype=np.int32) for a in scenario.actors
            },
            action_last={
                a.id: np.full((len(a.actions), R), -names.NEVER, dtype=np.int32)
                for a in scenario.actors
            },
            event_active=np.zeros((n_ev, R), dtype=bool),
            event_count=np.zeros((n_ev, R), dtype=np.int32),
            belief=np.zeros((n_in, R), dtype=bool),
            held=np.zeros((n_in, R), dtype=np.int32),
            intel_delay=intel_delay,
            rule_fired=np.zeros((len(scenario.rules), R), dtype=bool),
            flag_any=np.zeros((len(scenario.flags), R), dtype=bool),
            history_names=_referenced_history(scenario),
            posterior=posterior,
            evidence_used=evidence_used,
            offset=offset,
            width=width,
            blocks=tuple(layout) if blocks else (),
        )
        state.__dict__.update(_of_scenario(state))
        return state

    def take(self, where: np.ndarray, read_only: bool = False) -> WorldState:
        """A copy of the worlds ``where`` (indices), every per-world array sliced.

        What is worked out once per scenario (:attr:`plans`) is shared; the
        cache of fixed expression values is not, since it holds arrays of
        ``R`` worlds. With ``read_only`` every array of the copy is made
        read-only (for a copy that is only read, or copied before a write, as
        foresight's is): :meth:`env` then hands the arrays out as they are,
        with no view to make, and a stray write fails loudly.
        """

        def rows(x: Any) -> Any:
            return rows_of(x, where, read_only)

        sub = WorldState(
            scenario=self.scenario,
            R=len(where),
            values=rows(self.values),
            params=rows(self.params),
            rung=rows(self.rung),
            peak=rows(self.peak),
            first_day=rows(self.first_day),
            action_count=rows(self.action_count),
            action_last=rows(self.action_last),
            event_active=rows(self.event_active),
            event_count=rows(self.event_count),
            belief=rows(self.belief),
            held=rows(self.held),
            intel_delay=rows(self.intel_delay),
            rule_fired=rows(self.rule_fired),
            flag_any=rows(self.flag_any),
            history_names=self.history_names,
            posterior=rows(self.posterior),
            evidence_used=rows(self.evidence_used),
            day=self.day,
            width=len(where),
        )
        sub.__dict__.update(self._shared())
        return sub

    def hypothetical(self, actor_id: str, ladder: bool = True, history: bool = True) -> WorldState:
        """A copy to adjudicate ``actor_id``'s move on without touching this state.

        :func:`~sim.engine.adjudication.adjudicate` replaces the state
        variables and the ladder arrays it changes (never writing into them)
        but writes into ``first_day`` and the mover's history rows, so those
        are copied; everything else is shared, and so are the caches that
        depend on the scenario alone and the values of constant expressions.
        Without ``ladder`` the copy's ``first_day`` is a read-only view of this
        state's, which the numpy adjudication leaves as it is (foresight reads
        no day a rung was first reached on its copies); the compiled one
        writes it in place, so its copies get their own. Without ``history``
        the copy shares the mover's history arrays too, read as they are, for a
        move that is not to be counted there (foresight's, where no expression
        reads the mover's history: :func:`sim.engine.adjudication.move` with
        ``history=False``).
        The other kept expression values are not: foresight evaluates a
        move's effects on views in which a responder's private trait stands
        for one of its types, so a value of parameters kept there would be
        wrong for the real state and for the other types.
        Built without ``dataclasses.replace``, which costs more than the
        copies when foresight makes many of these a day.
        """
        copy = object.__new__(WorldState)
        copy.__dict__.update(self.__dict__)
        copy.__dict__.pop("_static", None)
        copy.__dict__["_constants"] = self._constants  # the same worlds: shared
        copy.values = dict(self.values)
        copy.first_day = self.first_day.copy() if ladder else frozen(self.first_day)
        if history:
            copy.action_count = _with(self.action_count, actor_id)
            copy.action_last = _with(self.action_last, actor_id)
        return copy

    @property
    def places(self) -> tuple[int, int]:
        """``(offset, width)``: each row of uniforms these worlds read has ``width``
        places, and world ``i`` reads place ``offset + i`` (:attr:`offset`, :attr:`width`)."""
        return self.offset, self.width or self.R

    def _shared(self) -> dict[str, Any]:
        """The cached properties that depend on the scenario alone, not on the worlds."""
        return {k: getattr(self, k) for k in _SHARED}

    def evaluate(self, expr: Expr, env: Mapping[str, Any]) -> np.ndarray:
        """``expr.evaluate(env, R)``, computed only once if ``expr`` reads no state.

        Expressions of parameters and constants alone (a preference's utility
        ``-6 + 5 * ukraine_retaliation``, a trigger's ``prob: 0.5``) give the
        same array every day, so the first result is kept and returned, read
        only, from then on. Anything else is evaluated afresh. Which
        expressions read the state is worked out once per scenario; the value
        of a constant (``true``, ``1``) is kept for this state and its
        :meth:`hypothetical` copies alike, since no view can change it.
        """
        if expr.is_constant:
            kept = self._constants.get(expr)
            if kept is None:
                kept = self._constants[expr] = _kept(expr.evaluate(env, self.R))
            return kept
        fixed = self._fixed.get(expr)
        if fixed is None:
            history = any(names.is_history(n) for n in expr.names)  # actor.action.count ...
            fixed = not history and expr.names.isdisjoint(self._dynamic_names)
            self._fixed[expr] = fixed
        if not fixed:
            return expr.evaluate(env, self.R)
        kept = self._static.get(expr)
        if kept is None:
            kept = self._static[expr] = _kept(expr.evaluate(env, self.R))
        return kept

    @cached_property
    def _static(self) -> dict[Expr, np.ndarray]:
        """Per expression of parameters (not constant) that reads no state: its value."""
        return {}

    @cached_property
    def _constants(self) -> dict[Expr, np.ndarray]:
        """Per constant expression: its value for ``R`` worlds."""
        return {}

    @cached_property
    def _fixed(self) -> dict[Expr, bool]:
        """Per expression seen: whether it reads no state (its value never changes)."""
        return {}

    @cached_property
    def _dynamic_names(self) -> frozenset[str]:
        """The names of the environment that can change from one day to the next."""
        sc = self.scenario
        return frozenset(
            {"day", "rung", "peak"}
            | {v.id for v in sc.state}
            | set(self.history_names)
            | {it.id for it in sc.intel}
            | {names.flag(f.id) for f in sc.flags}
            | {n for a in sc.actors for n in belief_names(a)}
        )

    @cached_property
    def plans(self) -> dict[str, Any]:
        """Per actor id: what :func:`sim.engine.decision.decide` works out once."""
        return {}

    @cached_property
    def var_types(self) -> dict[str, StateVar]:
        """State variables by id."""
        return {v.id: v for v in self.scenario.state}

    @cached_property
    def actors(self) -> dict[str, Actor]:
        """Actors by id."""
        return {a.id: a for a in self.scenario.actors}

    def env(self, day: int | None = None) -> dict[str, Any]:
        """The names an expression can read, mapped to this state's arrays.

        History quantities (``actor.action.count`` ...) are computed only if
        some expression of the scenario refers to them.
        """
        d = self.day if day is None else day
        # Read-only views: an expression may return the very array it reads,
        # and any in-place change of such a result must fail loudly rather
        # than silently rewrite the world state.
        view, views = self._view, self._views
        env: dict[str, Any] = {"day": d, "rung": view("rung", self.rung)}
        env["peak"] = view("peak", self.peak)
        for part in (self.params, self.values):
            for k, v in part.items():
                held = views.get(k)  # _view's own first step, without its call
                env[k] = held[1] if held is not None and held[0] is v else view(k, v)
        for name, h in self._history:
            env[name] = self.history_value(h, d)
        for i, it in enumerate(self.scenario.intel):
            env[it.id] = self.belief[i].copy()
        return env

    def learned(self, env: dict[str, Any]) -> dict[str, Any]:
        """What :meth:`env` would give now, ``env`` being this day's made before
        :func:`sim.engine.phases.learn` wrote the ``belief`` rows (the only thing an
        environment reads that learning writes): ``env`` with the intelligence items
        read again, the rest shared."""
        out = dict(env)
        for i, it in enumerate(self.scenario.intel):
            out[it.id] = self.belief[i].copy()
        return out

    def history_value(self, h: names.History, day: int) -> np.ndarray:
        """What the history name ``h`` reads on ``day``: a new array (a copy, never a view
        of the rows that adjudication and the events phase write in place)."""
        if h.kind == "event":
            i = self._event_index[h.owner]
            src = self.event_active if h.field == "active" else self.event_count
            return src[i].copy()
        k = self._action_index[(h.owner, h.action)]
        if h.field == "count":
            return self.action_count[h.owner][k].copy()
        if h.field == "taken":
            return self.action_count[h.owner][k] > 0
        return np.minimum(day - self.action_last[h.owner][k], names.NEVER)

    def _view(self, name: str, a: np.ndarray) -> np.ndarray:
        """A read-only view of ``a``, the array now held under ``name``, made once per array.

        A view shows the array's current content, so it stays right however
        the array is written in place; it is made again only when ``name``
        holds another array (adjudication replaces the arrays it changes). An
        array that is read-only already is its own view.
        """
        if not a.flags.writeable:
            return a  # nothing can be written through it
        held = self._views.get(name)
        if held is None or held[0] is not a:
            held = self._views[name] = (a, frozen(a))
        return held[1]

    @cached_property
    def _views(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per name: the array last seen under it and a read-only view of it."""
        return {}

    @property
    def history_parts(self) -> tuple[tuple[str, names.History], ...]:
        """The history names some expression reads, each with its parts."""
        return self._history

    @cached_property
    def _history(self) -> tuple[tuple[str, names.History], ...]:
        """The history names some expression reads, each with its parts."""
        parsed = ((n, names.history(n)) for n in self.history_names)
        return tuple((n, h) for n, h in parsed if h is not None)

    @cached_property
    def _event_index(self) -> dict[str, int]:
        return {e.id: i for i, e in enumerate(self.scenario.events)}

    @cached_property
    def _action_index(self) -> dict[tuple[str, str], int]:
        return {(a.id, x.id): x.index for a in self.scenario.actors for x in a.actions}


_T = TypeVar("_T")


class PerScenario:
    """Values kept per scenario object, by identity, a few scenarios at a time (the
    oldest dropped; each held, so that its id is not reused while kept): every chunk
    of a batch is a new state of the same scenario object, and what depends on the
    scenario alone is worked out on the first. Made under a lock, as threads of a
    viewer may start chunks at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._kept: dict[int, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def get(self, sc: Any, make: Callable[[], _T]) -> _T:
        """The value kept for ``sc``, made by ``make()`` the first time."""
        got = self._kept.get(id(sc))
        if got is None or got[0] is not sc:
            with self._lock:
                got = self._kept.get(id(sc))
                if got is None or got[0] is not sc:
                    while len(self._kept) >= self.limit:
                        del self._kept[next(iter(self._kept))]
                    got = self._kept[id(sc)] = (sc, make())
        value: _T = got[1]
        return value


_SHARED_BY_SCENARIO = PerScenario(8)


def _of_scenario(state: WorldState) -> dict[str, Any]:
    """What :meth:`WorldState._shared` holds for ``state``'s scenario, kept from one
    :meth:`WorldState.initial` to the next, so that the plans and kernels worked out
    on a chunk's first day serve the next chunks instead of being made again."""
    return _SHARED_BY_SCENARIO.get(
        state.scenario,
        lambda: {k: getattr(state, k) for k in _SHARED if k not in _OF_THE_STATE},
    )


_SHARED: tuple[str, ...] = ("plans", "var_types", "actors", "_dynamic_names", "_history")
_SHARED += ("_action_index", "_event_index", "_fixed")
"""The cached properties of :meth:`WorldState._shared`."""

_OF_THE_STATE = ("_history", "_dynamic_names")
"""What :func:`_of_scenario` leaves to each state: they follow its ``history_names``, a
field that a caller may set on a state of its own (a test of the names does)."""


def rows_of(x: Any, where: np.ndarray, read_only: bool = True) -> Any:
    """A field of a state restricted to the worlds ``where`` (indices): an array along
    its last axis (read-only with ``read_only``), a dict of arrays entry by entry,
    anything else as it is."""
    if isinstance(x, np.ndarray):
        # ndarray.take gives x[..., where], a few times faster for 2-D arrays
        out = x.take(where, axis=-1)
        if read_only:
            out.flags.writeable = False
        return out
    if isinstance(x, dict):
        return {k: rows_of(v, where, read_only) for k, v in x.items()}
    return x


class Rows(dict[str, np.ndarray]):
    """Per actor, history arrays read from ``source`` when first asked for: its rows of
    the worlds ``where`` (indices; read-only), or its own array where ``where`` is None.

    A restricted state (foresight's) reads the history of a few actors only; the
    others' are never sliced. Entries are read by key only: iterating shows those
    read so far.
    """

    __slots__ = ("_source", "_where")

    def __init__(
        self,
        source: Mapping[str, np.ndarray],
        where: np.ndarray | None = None,
        own: dict[str, np.ndarray] | None = None,
    ) -> None:
        super().__init__(own or {})
        self._source, self._where = source, where

    def __missing__(self, key: str) -> np.ndarray:
        v = self._source[key]
        if self._where is not None:
            v = rows_of(v, self._where)
        self[key] = v
        return v


def _with(history: dict[str, np.ndarray], actor_id: str) -> dict[str, np.ndarray]:
    """``history`` with a copy of ``actor_id``'s arrays of its own (the others shared)."""
    own = history[actor_id].copy()
    if type(history) is dict:
        return {**history, actor_id: own}
    return Rows(history, None, {actor_id: own})  # the others read from it when asked for


def _kept(value: Any) -> np.ndarray:
    """A read-only copy of an expression's value, to keep."""
    out = np.array(value, copy=True)
    out.flags.writeable = False
    return out


def frozen(a: np.ndarray) -> np.ndarray:
    """A read-only view of ``a`` (no copy)."""
    v = a.view()
    v.flags.writeable = False
    return v


def _coerce(x: np.ndarray, typ: str, lo: float | None, hi: float | None) -> np.ndarray:
    """Cast to the variable's type, rounding and clipping numbers to bounds.

    An ``int`` is also clipped to the safe range +-:data:`INT_LIMIT` before it is
    cast, so it can never wrap around (casting 9.3e18 to int64 gives -9.2e18); a
    value that is not a number (nan) becomes 0 there.
    """
    if typ == "bool":
        return x.astype(bool)
    if typ == "enum":
        return x.astype(np.int64)
    if lo is not None or hi is not None:
        x = np.clip(x, -np.inf if lo is None else lo, np.inf if hi is None else hi)
    if typ == "int":
        # What np.nan_to_num(x, nan=0.0) then rounding and clipping gives, in fewer
        # steps: an infinity rounds and clips to the limit whether or not it was
        # made the largest float first, and a nan is made 0 after the clip.
        x = np.clip(np.floor(np.asarray(x, dtype=float) + 0.5), -INT_LIMIT, INT_LIMIT)
        nan = np.isnan(x)
        if nan.any():
            x[nan] = 0.0
        return x.astype(np.int64)
    return np.asarray(x, dtype=float)


def coerce(x: np.ndarray, typ: str, lo: float | None, hi: float | None) -> np.ndarray:
    """Public alias of the type/bounds coercion used by adjudication."""
    return _coerce(x, typ, lo, hi)


def _referenced_history(sc: Scenario) -> frozenset[str]:
    """The history names some expression of ``sc`` reads (worked out once per scenario
    object: every chunk asks)."""
    return _HISTORIES.get(sc, lambda: _history_names(sc))


_HISTORIES = PerScenario(8)


def _history_names(sc: Scenario) -> frozenset[str]:
    exprs = [v.initial for v in sc.state]
    for it in sc.intel:
        exprs += [it.watches, it.detect_prob]
    for e in sc.events:
        exprs += [x.expr for x in (*e.effects, *e.end_effects)]
        exprs += [x for x in (e.hazard, e.when) if x is not None]
    for a in sc.actors:
        exprs.append(a.rationality)
        for x in a.actions:
            exprs += [f.expr for f in x.effects]
        for r in a.rules:
            exprs += [x for x in (r.condition, r.prob, r.utility) if x is not None]
        exprs += strategy.expressions(a)
    exprs += [f.when for f in sc.flags]
    exprs += [o.when for o in sc.outcomes if o.when is not None]
    exprs += [o.seen for o in sc.observations]
    return frozenset(n for e in exprs for n in e.names if names.is_history(n))


# -- parameter draws, kept per stream ----------------------------------------------------
_Stream = np.random.SeedSequence | np.random.Generator

MAX_DRAWS = 64
"""Parameter draws kept (:func:`_sample`); past that the memo starts again."""

MAX_KEPT_WORLDS = 20_000
"""Draws of more worlds than this are not kept: what the memo is for (the viewer's
few thousand worlds, the same seeds every time) is far below, and 64 kept draws of a
batch's large chunks, whose seeds never come again, would only hold memory."""

_draws: dict[tuple[Any, ...], tuple[Parameter, np.ndarray]] = {}


def _streams(rng: np.random.Generator, n: int) -> list[_Stream]:
    """What ``rng.spawn(n)`` gives each parameter, as seed sequences where possible.

    The children are spawned from the same seed sequence in the same way, so
    each one is the stream ``rng.spawn(n)`` would have made; only the
    generator (a ``PCG64``, as ``rng``'s) is not built yet: :func:`_sample`
    builds it if it must draw.
    """
    seq = getattr(rng.bit_generator, "seed_seq", None)
    if (
        type(rng) is not np.random.Generator
        or type(rng.bit_generator) is not np.random.PCG64
        or type(seq) is not np.random.SeedSequence
    ):
        return list(rng.spawn(n))
    return list(seq.spawn(n))


def _sample(p: Parameter, stream: _Stream, R: int) -> np.ndarray:
    """``p.sample`` of ``R`` worlds from a fresh ``PCG64`` generator on ``stream``, drawn once.

    A fresh generator's draws are fixed by its seed sequence (entropy, spawn
    key, pool size), so the same parameter (the same object: a compiled
    scenario is immutable) on an equal seed sequence gives the same draws,
    bit for bit. The viewer runs the same worlds (the same seeds) on every
    change of a setting, so it draws each parameter once. A copy is handed
    out.
    """
    if isinstance(stream, np.random.Generator):
        return p.sample(stream, R)
    entropy = stream.entropy
    if isinstance(entropy, list):
        entropy = tuple(entropy)
    key = (id(p), entropy, stream.spawn_key, stream.pool_size, R)
    kept = _draws.get(key)
    if kept is not None and kept[0] is p:
        return kept[1].copy()
    drawn = p.sample(np.random.Generator(np.random.PCG64(stream)), R)
    if R > MAX_KEPT_WORLDS:
        return drawn
    if len(_draws) >= MAX_DRAWS:
        _draws.clear()
    _draws[key] = (p, drawn)
    return drawn.copy()
