"""``Engine``: the vectorised day loop as a plain class, without Mesa.

One :meth:`Engine.step` is one day in every world, in fixed phases (the
plain functions of :mod:`sim.engine.phases`, :mod:`sim.engine.decision`
and :mod:`sim.engine.adjudication`):

1. **events**: scheduled events start or end, random events strike;
2. **observe**: each actor updates its private intel;
3. **decide**: each actor picks an action per world on the same snapshot;
4. **adjudicate**: all decisions are applied at once; the ladder moves;
   history, flags and the rung track are recorded.

Randomness comes only from the generator the engine is given, split with
``Generator.spawn`` into one stream per purpose (parameters, events, an
unused third, each actor), exactly as :class:`sim.engine.model.WargameModel`
splits the generator Mesa builds from its ``rng=``: the same seed gives the
same worlds through either. The batch workers run this class directly, so
simulating needs neither Mesa nor what Mesa imports (scipy, pandas,
networkx); ``WargameModel`` wraps it as a Mesa model, its agents being
the actors asked through Mesa's agent set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.engine.adjudication import Decision, adjudicate
from sim.engine.decision import decide
from sim.engine.draws import Rng, Streams
from sim.engine.phases import (
    Happening,
    Knowledge,
    conclude,
    events_phase,
    learn,
    observe,
    record_flags,
    witness,
)
from sim.engine.state import WorldState
from sim.errors import UsageError
from sim.expr import quiet
from sim.scenario.model import Actor, Scenario

Ask = Callable[[str, dict[str, Any]], Sequence[Any]]
"""How a day asks every actor: ``ask("observe" | "decide", env)`` returns each actor's
answer (:class:`Knowledge` or :class:`Decision`), in any order."""


Seat = Callable[[Actor, WorldState, dict[str, Any], Decision], Decision]
"""Who decides for a seated actor: given the actor, the state, the snapshot it decided on
and the doctrine's decision (made first, so the actor's random stream moves as it always
does), returns the decision to apply. ``sim.seat`` builds these from policies."""


@dataclass(frozen=True)
class Day:
    """What happened on one day, for a narrator (nothing reads it to simulate)."""

    day: int
    happened: list[Happening]
    rung_before_events: np.ndarray
    rung_after_events: np.ndarray
    rung_before_actions: np.ndarray
    decisions: list[Decision]


class Engine:
    """The worlds of one scenario, stepped day by day (see the module's docs).

    Args:
        spec: the compiled scenario.
        replicates: number of worlds simulated together.
        rng: the generator every stream is spawned from (it is spawned
            from, never drawn from).
        pinned: parameter values to use instead of drawing them, already
            checked (:func:`sim.scenario.pins.check_pinned`).
        seats: per actor id, a :data:`Seat` that decides for that actor after its
            doctrine (``sim.seat`` makes them from policies and moves files).
            Without seats every world is what it always was, bit for bit.
        part: ``(offset, width)``: these ``replicates`` worlds are worlds
            ``offset`` to ``offset + replicates - 1`` of a chunk of ``width``
            on the same ``rng``, each with exactly the numbers it has when the
            whole chunk runs at once (no world's arithmetic reads another's),
            so a chunk can be run in parts, in several processes.
        blocks: instead of ``rng`` and ``part``, the worlds of several chunks in
            one engine, one after the other: per chunk its generator (what
            ``rng`` is for one chunk), the worlds taken, their offset in the
            chunk and its width; ``replicates`` is their sum. Each chunk's worlds
            are the ones it has alone, each reading its own chunk's streams
            (:class:`~sim.engine.draws.Streams`).

    Raises:
        UsageError: a seat for an actor the scenario does not have.
    """

    def __init__(
        self,
        spec: Scenario,
        replicates: int,
        rng: np.random.Generator | None,
        pinned: dict[str, Any] | None = None,
        seats: Mapping[str, Seat] | None = None,
        part: tuple[int, int] | None = None,
        blocks: Sequence[tuple[np.random.Generator, int, int, int]] = (),
    ) -> None:
        if replicates < 1:
            raise ValueError("replicates must be at least 1")
        self.seats = dict(seats or {})
        unknown = sorted(set(self.seats) - {a.id for a in spec.actors})
        if unknown:
            known = ", ".join(a.id for a in spec.actors)
            raise UsageError(f"no actor {unknown[0]!r} to seat in {spec.name} (actors: {known})")
        self.spec = spec
        self.replicates = int(replicates)
        # One stream per purpose. The third was meant for intel and is never
        # drawn from (each observer draws from its own stream); it is still
        # spawned because dropping it would shift every actor's stream and
        # so change the worlds of every seed ever published.
        self.event_rng: Rng
        self.actor_rngs: list[Rng]
        if not blocks:
            if rng is None:
                raise ValueError("an engine needs a generator, or blocks")
            streams = rng.spawn(3 + len(spec.actors))
            self.param_rng, self.event_rng, _unused_intel_rng, *actor_rngs = streams
            self.actor_rngs = list(actor_rngs)
            self.world = WorldState.initial(
                spec, self.replicates, self.param_rng, pinned or {}, part
            )
        else:
            each = [g.spawn(3 + len(spec.actors)) for g, _, _, _ in blocks]
            params = [(s[0], n, off, w) for s, (_, n, off, w) in zip(each, blocks, strict=True)]
            self.world = WorldState.initial(
                spec, self.replicates, None, pinned or {}, blocks=params
            )
            layout = self.world.blocks
            self.event_rng = Streams([s[1] for s in each], layout)
            self.actor_rngs = [
                Streams([s[3 + a] for s in each], layout) for a in range(len(spec.actors))
            ]
        self.day = 0
        self.running = True
        self.rung_track = np.zeros((spec.horizon_days, self.replicates), dtype=np.int8)
        self.outcome: np.ndarray | None = None
        self.flags: np.ndarray | None = None
        # Per observation, whether it held in each world on its day: filled
        # on those days only, from the state alone (no draws).
        self.observed = np.zeros((len(spec.observations), self.replicates), dtype=bool)
        self._observed_on: dict[int, list[int]] = {}
        for k, o in enumerate(spec.observations):
            self._observed_on.setdefault(o.day, []).append(k)
        # The snapshot the actors last decided on (read-only views of the
        # state), kept for inspection: no phase reads it from here.
        self.snapshot: dict[str, Any] = {}
        self._order = {a.id: a.index for a in spec.actors}

    def ask_directly(self, what: str, env: dict[str, Any]) -> list[Any]:
        """Every actor's answer, in scenario order (the default :data:`Ask`)."""
        st = self.world
        actors = zip(self.spec.actors, self.actor_rngs, strict=True)
        if what == "observe":
            return [observe(a.id, st, env, r) for a, r in actors]
        return [decide(a, st, env, r) for a, r in actors]

    def step(self, ask: Ask | None = None) -> Day | None:
        """Simulate one day in every world; ``None`` once the horizon is reached.

        ``ask`` puts the question of a phase to every actor; the answers are
        applied only once all have answered, decisions in scenario order, so
        the order in which actors are asked cannot change anything.

        numpy's floating-point errors are ignored for the whole day
        (:func:`sim.expr.quiet`), as every expression evaluation ignores them,
        set once instead of once per evaluation.
        """
        if not self.running:
            return None
        with quiet():
            return self._day(ask)

    def _day(self, ask: Ask | None) -> Day:
        """The body of :meth:`step`: one day in every world."""
        ask = ask or self.ask_directly
        st = self.world
        st.day = day = self.day
        before_events = st.rung
        happened = events_phase(st, day, self.event_rng)
        after_events = st.rung
        morning_env = st.env()
        knowledge: Sequence[Knowledge] = ask("observe", morning_env)
        learn(st, knowledge)
        env = st.learned(morning_env)
        self.snapshot = env
        decisions = sorted(ask("decide", env), key=lambda d: self._order[d.actor])
        if self.seats:
            decisions = self._seated(decisions, env)
        before_actions = st.rung
        adjudicate(st, decisions, env)
        self.rung_track[day] = st.rung
        record_flags(st, self.spec.flags)
        if day in self._observed_on:
            seen = self._observed_on[day]
            self.observed[seen] = witness(st, [self.spec.observations[k] for k in seen])
        self.day += 1
        if self.day >= self.spec.horizon_days:
            ending = conclude(st, self.spec)
            self.flags, self.outcome = ending.flags, ending.outcome
            self.running = False
        return Day(day, happened, before_events, after_events, before_actions, decisions)

    def _seated(self, decisions: list[Decision], env: dict[str, Any]) -> list[Decision]:
        """The day's decisions with each seat's in place of its actor's doctrine.

        The doctrine has decided (and drawn) already, so a seat moves no stream:
        a world in which the seat chooses what the doctrine chose is the
        doctrine's world.
        """
        out = []
        for d in decisions:
            seat = self.seats.get(d.actor)
            actor = self.spec.actors[self._order[d.actor]]
            out.append(d if seat is None else seat(actor, self.world, env, d))
        return out

    def run(self) -> Engine:
        """Step to the horizon; returns self for chaining (numpy's errors ignored once
        for all the days, as :meth:`step` ignores them for one)."""
        with quiet():
            while self.running:
                self._day(None)
        return self
