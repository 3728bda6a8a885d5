"""``WargameModel``: a Mesa model whose state is vectorised over worlds.

One ``step()`` is one day, in fixed phases:

1. **events**: scheduled events start or end, random events strike
   (effects combined by the adjudication rules);
2. **observe**: each actor agent updates its private intel;
3. **decide**: each actor agent picks an action per world on the same
   snapshot of the world;
4. **adjudicate**: all decisions are applied at once; the ladder moves;
   history, flags and the rung track are recorded.

Randomness comes only from the model's generator (``rng=``), split with
``Generator.spawn`` into one stream per purpose (parameters, events, intel,
each actor). Because each actor draws from its own stream, asking agents in a
different order changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from sim.engine.adjudication import Changes, Decision, adjudicate
from sim.engine.decision import decide
from sim.engine.draws import LazyUniforms, skip_uniforms
from sim.engine.state import WorldState
from sim.scenario import load_scenario
from sim.scenario.model import Actor, Event, Scenario

DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "allied_resolve_2022.yaml"


@dataclass
class LogEntry:
    """One line of a world's story."""

    world: int
    day: int
    kind: str  # "event" | "event_end" | "action" | "rung"
    actor: str
    what: str
    rule: str
    cites: tuple[str, ...]
    rung_from: int = -1
    rung_to: int = -1


class ActorAgent(mesa.Agent):
    """One of the actors (Lukashenka, the Kremlin, NATO, Ukraine...).

    The agent is generic: its repertoire and doctrine come from the scenario.
    It holds its own random stream and, per world, what it privately knows.
    """

    def __init__(self, model: WargameModel, actor: Actor, rng: np.random.Generator):
        super().__init__(model)
        self.actor = actor
        self.stream = rng
        self.decision: Decision | None = None

    @property
    def name(self) -> str:
        return self.actor.name

    def observe(self) -> None:
        """Update this actor's intel: notice watched conditions, maybe late."""
        m: WargameModel = self.model  # type: ignore[assignment]
        st = m.world
        env = m._env
        for i, it in enumerate(m.spec.intel):
            if it.observer != self.actor.id:
                continue
            watched = np.asarray(st.evaluate(it.watches, env), dtype=bool)
            st.held[i] = np.where(watched, st.held[i] + 1, 0)
            if not watched.any():  # nothing to notice: belief is cleared
                skip_uniforms(self.stream, st.R)
                st.belief[i] = False
                continue
            p = st.evaluate(it.detect_prob, env)
            draw = self.stream.random(st.R)
            notice = watched & (st.held[i] > st.intel_delay[i]) & (draw < p)
            st.belief[i] = (st.belief[i] | notice) & watched

    def decide(self) -> None:
        """Choose today's action in every world (applied later, all at once)."""
        m: WargameModel = self.model  # type: ignore[assignment]
        self.decision = decide(self.actor, m.world, m._env, self.stream)


class WargameModel(mesa.Model):
    """Four (or more) actors deciding day by day in ``replicates`` worlds at once.

    Args:
        scenario_file: a scenario path or an already loaded :class:`Scenario`.
        replicates: number of worlds simulated together (1 = a single world).
        overrides: ``path=value`` strings applied to the scenario (like ``--set``).
        pinned: parameter values to use instead of drawing them.
        narrate: keep a day-by-day log of what happened (for stories; costs memory).
        rng: seed or generator (Mesa convention); ``None`` uses the scenario's seed.
    """

    def __init__(
        self,
        scenario_file: str | Path | Scenario = DEFAULT_SCENARIO,
        replicates: int = 1,
        overrides: tuple[str, ...] | list[str] = (),
        pinned: dict[str, Any] | None = None,
        narrate: bool = False,
        collect: bool = True,
        rng: Any = None,
    ) -> None:
        spec = (
            scenario_file
            if isinstance(scenario_file, Scenario)
            else load_scenario(scenario_file, tuple(overrides))
        )
        if rng is None:
            rng = spec.seed
        super().__init__(rng=rng)
        if replicates < 1:
            raise ValueError("replicates must be at least 1")
        self.spec = spec
        self.replicates = int(replicates)
        streams = self.rng.spawn(3 + len(spec.actors))
        self._param_rng, self._event_rng, _, *actor_rngs = streams
        self.world = WorldState.initial(spec, self.replicates, self._param_rng, pinned)
        self.day = 0
        self.narrate = narrate
        self.log: list[LogEntry] = []
        self.actor_agents = [
            ActorAgent(self, a, r) for a, r in zip(spec.actors, actor_rngs, strict=True)
        ]
        H = spec.horizon_days
        self.rung_track = np.zeros((H, self.replicates), dtype=np.int8)
        self.outcome: np.ndarray | None = None
        self.flags: np.ndarray | None = None
        self._env: dict[str, Any] = {}
        self.collect = collect
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "day": "day",
                "mean_rung": lambda m: float(m.world.rung.mean()),
                "mean_peak": lambda m: float(m.world.peak.mean()),
                "outcome": lambda m: m.outcome_of(0) if m.outcome is not None else None,
                "peak_rung": lambda m: m.spec.ladder[int(m.world.peak[0])].id,
            }
        )
        if collect:
            self.datacollector.collect(self)

    # -- the day ---------------------------------------------------------------
    def step(self) -> None:
        """Simulate one day in every world."""
        if not self.running:
            return
        st = self.world
        st.day = self.day
        self._events_phase()
        self._env = st.env()
        self.agents_by_type[ActorAgent].do("observe")
        self._env = st.env()
        self.agents_by_type[ActorAgent].do("decide")
        decisions = [a.decision for a in self.actor_agents]
        before = st.rung
        adjudicate(st, decisions, self._env)  # type: ignore[arg-type]
        if self.narrate:
            self._log_decisions(decisions, before)
        self.rung_track[self.day] = st.rung
        if self.spec.flags:
            env = st.env()
            for i, f in enumerate(self.spec.flags):
                if f.at == "any_day":
                    st.flag_any[i] |= np.asarray(st.evaluate(f.when, env), dtype=bool)
        self.day += 1
        if self.day >= self.spec.horizon_days:
            self._finish()
        if self.collect:
            self.datacollector.collect(self)

    def _events_phase(self) -> None:
        st = self.world
        sc = self.spec
        if not sc.events:
            return
        env = st.env()
        ch = Changes(st)
        R = st.R
        ones = np.ones(R, dtype=bool)
        draws = LazyUniforms(self._event_rng, len(sc.events), R)  # row i for event i
        before = st.rung
        for i, ev in enumerate(sc.events):
            if ev.kind == "scheduled":
                st.event_active[i] = ev.start_day <= self.day <= ev.end_day
                if self.day == ev.start_day:
                    st.event_count[i] += 1
                    ch.add(ones, ev.effects, env, ev.escalate_to, ev.deescalate_to)
                    self._log_event(ev, "event", ones)
                if self.day == ev.end_day + 1 and ev.end_effects:
                    ch.add(ones, ev.end_effects, env)
                    self._log_event(ev, "event_end", ones)
            else:
                when = np.asarray(ev.when.evaluate(env, R), dtype=bool)
                if ev.max_times is not None:
                    # Never in place: a bare-name condition is the state's own array.
                    when = when & (st.event_count[i] < ev.max_times)
                if not when.any():
                    st.event_active[i] = False
                    continue
                hit = when & (draws.row(i) < st.evaluate(ev.hazard, env))
                st.event_active[i] = hit
                if hit.any():
                    st.event_count[i] += hit
                    ch.add(hit, ev.effects, env, ev.escalate_to, ev.deescalate_to)
                    self._log_event(ev, "event", hit)
        draws.finish()
        ch.apply(self.day)
        if self.narrate:
            self._log_rung(before, "events")

    def _finish(self) -> None:
        st = self.world
        sc = self.spec
        env = st.env(sc.horizon_days - 1)
        R = st.R
        flags = np.zeros((len(sc.flags), R), dtype=bool)
        for i, f in enumerate(sc.flags):
            flags[i] = (
                st.flag_any[i]
                if f.at == "any_day"
                else np.asarray(f.when.evaluate(env, R), dtype=bool)
            )
            env[f"flags.{f.id}"] = flags[i]
        outcome = np.full(R, -1, dtype=np.int64)
        for o in reversed(sc.outcomes):  # most severe first
            if o.when is None:
                continue
            hit = (outcome < 0) & np.asarray(o.when.evaluate(env, R), dtype=bool)
            outcome[hit] = o.index
        fallback = next(o.index for o in sc.outcomes if o.when is None)
        outcome[outcome < 0] = fallback
        self.flags = flags
        self.outcome = outcome
        self.running = False

    # -- results ---------------------------------------------------------------
    def outcome_of(self, world: int = 0) -> str:
        """Outcome class id of one world (after the horizon)."""
        if self.outcome is None:
            raise RuntimeError("the model has not reached its horizon yet")
        return self.spec.outcomes[int(self.outcome[world])].id

    def run(self) -> WargameModel:
        """Step to the horizon; returns self for chaining."""
        while self.running:
            self.step()
        return self

    # -- narrative ---------------------------------------------------------------
    def _log_event(self, ev: Event, kind: str, mask: np.ndarray) -> None:
        if not (self.narrate and ev.narrate):
            return
        for w in np.nonzero(mask)[0]:
            self.log.append(LogEntry(int(w), self.day, kind, "world", ev.id, "", ev.cites))

    def _log_rung(self, before: np.ndarray, cause: str) -> None:
        after = self.world.rung
        for w in np.nonzero(after != before)[0]:
            self.log.append(
                LogEntry(int(w), self.day, "rung", "", cause, "", (), int(before[w]), int(after[w]))
            )

    def _log_decisions(self, decisions: list[Decision | None], before: np.ndarray) -> None:
        rules = self.spec.rules
        for dec in decisions:
            assert dec is not None
            actor = self.spec.actor(dec.actor)
            default = actor.default_action.index
            for w in np.nonzero(dec.action != default)[0]:
                act = actor.actions[int(dec.action[w])]
                r = int(dec.rule[w])
                rule = rules[r] if r >= 0 else None
                self.log.append(
                    LogEntry(
                        int(w),
                        self.day,
                        "action",
                        actor.id,
                        act.id,
                        rule.id if rule else "(no rule: chosen freely)",
                        rule.cites if rule else act.cites,
                    )
                )
        self._log_rung(before, "actions")
