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

Mesa's conventions hold: ``rng=None`` draws fresh entropy (and records it in
``model.seed``, so the run can be repeated), every argument has a default
(the bundled scenario, package data, so ``WargameModel()`` works from an
installed wheel), and the data collector's reporters describe all the
worlds, not the first one. A scenario given as a path is compiled once per
process and reused (:func:`scenario_for`); a loaded :class:`Scenario` is
used as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from sim.engine.adjudication import SEATED, Decision
from sim.engine.core import Day, Engine, Seat
from sim.engine.decision import decide
from sim.engine.draws import Rng
from sim.engine.phases import Happening, Knowledge, observe
from sim.engine.state import WorldState
from sim.scenario import cache as scenario_cache
from sim.scenario.model import Actor, Scenario
from sim.scenario.pins import check_pinned
from sim.scenario.resolved import resolved_text
from sim.stats import quantile_of_values

DATA = "data"
"""Package data of ``sim``: the shipped ``scenarios/`` and the ``seeds/`` claims they cite."""

DEFAULT_RESOURCE = f"{DATA}/scenarios/allied_resolve_2022.yaml"
"""The bundled default scenario, relative to the ``sim`` package."""

DEFAULT_SCENARIO = Path(str(resources.files("sim").joinpath(DEFAULT_RESOURCE))).resolve()
"""Where the bundled default scenario is on disk (for tools that need a path)."""

SeedLike = int | np.integer | np.random.SeedSequence
"""What :attr:`WargameModel.seed` holds: a value that, passed as ``rng=``, repeats the run."""

RUNG_QUANTILES = (0.05, 0.5, 0.95)
"""Quantiles of the rung over the worlds that the model reporters give each day."""


# -- the scenario, compiled once per process -----------------------------------------
def scenario_for(
    scenario: str | Path | Scenario | None = None, overrides: Sequence[str] = ()
) -> Scenario:
    """The compiled scenario that ``scenario`` names, reused within this process.

    Compiling a scenario costs about as much as simulating one world of it,
    so runs that each name the same file (``mesa.batch_run`` makes one model
    per run, EMA Workbench and SALib call :func:`sim.interop.evaluate` many
    times) compile it once per process, through the package's one scenario
    cache (:mod:`sim.scenario.cache`), which notices edits to the file and
    to the files it extends.

    Args:
        scenario: a scenario file, an already loaded :class:`Scenario`
            (returned as it is when there are no overrides), or ``None`` for
            the bundled default scenario.
        overrides: ``path=value`` strings, like ``--set``.

    Raises:
        ValidationError: the scenario or an override is invalid.
    """
    overrides = tuple(overrides)
    if isinstance(scenario, Scenario):
        if not overrides:
            return scenario
        return _recompiled(scenario, overrides)
    if scenario is None:
        # The whole data folder, so the claims registry is found beside the
        # scenario (a real folder as it is; from a zipped install, a copy).
        with resources.as_file(resources.files("sim").joinpath(DATA)) as data:
            path = (data / DEFAULT_RESOURCE.removeprefix(f"{DATA}/")).resolve()
            return scenario_cache.load_cached(path, overrides)
    return scenario_cache.load_cached(scenario, overrides)


def _recompiled(sc: Scenario, overrides: tuple[str, ...]) -> Scenario:
    """``sc`` with further overrides, recompiled from its resolved text (no files needed)."""
    return scenario_cache.scenario_from_text(sc.name, resolved_text(sc.resolved), overrides)


def _own_copy(ss: np.random.SeedSequence) -> np.random.SeedSequence:
    """A copy of ``ss`` in its current state.

    The model spawns its streams from the sequence it is given, which
    advances that sequence; working on a copy leaves the caller's object as it
    was, so passing the same ``SeedSequence`` twice gives the same worlds.
    """
    return np.random.SeedSequence(
        ss.entropy,
        spawn_key=ss.spawn_key,
        pool_size=ss.pool_size,
        n_children_spawned=ss.n_children_spawned,
    )


def _repeatable(rng: Any) -> SeedLike | None:
    """The seed that repeats a model made with ``rng=rng`` (``None`` for a generator).

    Called before the model spawns from ``rng``. A plain sequence (fresh
    entropy, or ``SeedSequence(n)``) is recorded as its integer entropy, since
    ``np.random.default_rng(entropy)`` builds the same sequence with the same
    spawned streams; any other sequence as a copy of itself.
    """
    if isinstance(rng, np.random.SeedSequence):
        entropy = rng.entropy
        if isinstance(entropy, int) and not rng.spawn_key and not rng.n_children_spawned:
            return entropy
        return _own_copy(rng)
    if isinstance(rng, (int, np.integer)):
        return int(rng)
    return None


def _shares(codes: np.ndarray, n: int) -> np.ndarray:
    """Share of the worlds holding each code ``0..n-1``."""
    return np.bincount(codes, minlength=n) / max(len(codes), 1)


def _quantile(codes: np.ndarray, q: float) -> int:
    """The ``q`` quantile of small non-negative codes: :func:`sim.stats.quantile_of_values`.

    The package's one quantile (the inverted CDF), so the reporters' rung
    quantiles are those of ``daily.csv`` and of the viewer's fan chart.
    """
    return quantile_of_values(codes, q)


def _model_reporters(sc: Scenario) -> dict[str, Callable[[WargameModel], Any]]:
    """The data collector's model reporters (see :class:`WargameModel`)."""

    def quantile(q: float) -> Callable[[WargameModel], int]:
        return lambda m: _quantile(m.world.rung, q)

    def outcome_share(i: int) -> Callable[[WargameModel], float | None]:
        return lambda m: None if m.outcome is None else float(m.outcome_shares()[i])

    def flag_share(i: int) -> Callable[[WargameModel], float | None]:
        return lambda m: None if m.flags is None else float(m.flags[i].mean())

    def modal_outcome(m: WargameModel) -> str | None:
        if m.outcome is None:
            return None
        return sc.outcomes[int(np.argmax(m.outcome_shares()))].id

    def median_peak(m: WargameModel) -> str:
        return sc.ladder[_quantile(m.world.peak, 0.5)].id

    reporters: dict[str, Callable[[WargameModel], Any]] = {
        "day": lambda m: m.day,
        "mean_rung": lambda m: float(m.world.rung.mean()),
        "rung_q05": quantile(RUNG_QUANTILES[0]),
        "rung_median": quantile(RUNG_QUANTILES[1]),
        "rung_q95": quantile(RUNG_QUANTILES[2]),
        "mean_peak": lambda m: float(m.world.peak.mean()),
        "peak_rung": median_peak,
        "outcome": modal_outcome,
    }
    reporters |= {f"p_{o.id}": outcome_share(o.index) for o in sc.outcomes}
    reporters |= {f"flag_{f.id}": flag_share(i) for i, f in enumerate(sc.flags)}
    reporters["seed"] = lambda m: m.seed
    return reporters


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

    def __init__(self, model: WargameModel, actor: Actor, rng: Rng):
        super().__init__(model)
        self.actor = actor
        self.stream = rng
        # The last decision, kept for the agent reporters only: the model
        # takes decisions from what ``decide`` returns, never from here.
        self.decision: Decision | None = None

    @property
    def name(self) -> str:
        """The actor's display name (what Mesa's tools show for the agent)."""
        return self.actor.name

    def observe(self, env: dict[str, Any]) -> Knowledge:
        """The observe phase for this actor on the snapshot ``env`` (see :func:`observe`)."""
        return observe(self.actor.id, self.model.world, env, self.stream)

    def decide(self, env: dict[str, Any]) -> Decision:
        """Choose today's action in every world; applied later, with everyone's, at once."""
        self.decision = decide(self.actor, self.model.world, env, self.stream)
        return self.decision

    def action_shares(self) -> dict[str, float] | None:
        """Share of the worlds choosing each action on the last day (``None`` before)."""
        if self.decision is None:
            return None
        shares = _shares(self.decision.action, len(self.actor.actions))
        return {a.id: float(s) for a, s in zip(self.actor.actions, shares, strict=True)}

    def top_action(self) -> str | None:
        """The action most worlds chose on the last day (``None`` before the first)."""
        shares = self.action_shares()
        return None if shares is None else max(shares, key=shares.__getitem__)


class WargameModel(mesa.Model):
    """Four (or more) actors deciding day by day in ``replicates`` worlds at once.

    Args:
        scenario_file: a scenario path, an already loaded :class:`Scenario`
            (reused as it is: the way to run one scenario many times, e.g.
            ``mesa.batch_run(WargameModel, {"scenario_file": sc, ...})``), or
            ``None`` for the bundled default scenario. Paths are compiled
            once per process (:func:`scenario_for`).
        replicates: number of worlds simulated together (1 = a single world).
        overrides: ``path=value`` strings applied to the scenario (like ``--set``).
        pinned: parameter values to use instead of drawing them, checked as
            ``run_batch`` checks them (:func:`sim.scenario.pins.check_pinned`).
        narrate: keep a day-by-day log of what happened (for stories; costs memory).
        collect: record the reporters below after every day.
        rng: seed or generator (Mesa's convention). ``None`` draws fresh
            entropy; :attr:`seed` records it. ``wargame`` and ``run_batch``
            always pass a seed (the scenario's own by default).
        seats: per actor id, a :data:`sim.engine.core.Seat` that decides for that
            actor instead of its doctrine (``sim.seat`` makes them from policies
            and moves files). Without seats every world is what it always was.

    Attributes:
        observed: per observation of the scenario and world, whether it held
            at the end of its day (``False`` before that day).
        seed: what repeats this run when passed as ``rng=``: the entropy drawn
            for ``rng=None``, the integer or ``SeedSequence`` given, or
            ``None`` when a generator was given (its state is Mesa's
            ``_rng``).
        pinned: the pinned values, normalised.

    The data collector's model reporters describe all the worlds: ``day``,
    ``mean_rung``, ``rung_q05``/``rung_median``/``rung_q95`` (quantiles of
    today's rung, as ladder indices, 0 = calmest), ``mean_peak``,
    ``peak_rung`` (the median highest rung, by id), ``outcome`` (the most
    common outcome; for one world, its outcome), ``p_<outcome>`` and
    ``flag_<flag>`` (shares of the worlds, from the horizon on; ``None``
    before) and ``seed``. Agent reporters give, for each actor, ``actor``
    (its id), ``action_shares`` (``{action: share of worlds}`` of the action
    chosen on the last day; ``None`` before the first) and ``top_action``.
    """

    running: bool
    """Mesa's flag: true from ``mesa.Model.__init__`` until the horizon is reached."""

    def __init__(
        self,
        scenario_file: str | Path | Scenario | None = None,
        replicates: int = 1,
        overrides: tuple[str, ...] | list[str] = (),
        pinned: dict[str, Any] | None = None,
        narrate: bool = False,
        collect: bool = True,
        rng: SeedLike | np.random.Generator | np.random.BitGenerator | None = None,
        seats: Mapping[str, Seat] | None = None,
    ) -> None:
        spec = scenario_for(scenario_file, tuple(overrides))
        if rng is None:
            rng = np.random.SeedSequence()  # fresh entropy, as in Mesa
        elif isinstance(rng, np.random.SeedSequence):
            rng = _own_copy(rng)
        self.seed: SeedLike | None = _repeatable(rng)
        super().__init__(rng=rng)
        if replicates < 1:
            raise ValueError("replicates must be at least 1")
        self.spec = spec
        self.replicates = int(replicates)
        self.pinned = check_pinned(spec, pinned)
        # The plain engine runs the worlds; it spawns its streams from the
        # generator Mesa built from ``rng``, as the batch workers do.
        self.core = Engine(spec, self.replicates, self.rng, self.pinned, seats)
        self.narrate = narrate
        self.log: list[LogEntry] = []
        self.actor_agents = [
            ActorAgent(self, a, r) for a, r in zip(spec.actors, self.core.actor_rngs, strict=True)
        ]
        self.collect = collect
        self.datacollector = mesa.DataCollector(
            model_reporters=_model_reporters(spec),
            agent_reporters={
                "actor": lambda a: a.actor.id,
                "action_shares": lambda a: a.action_shares(),
                "top_action": lambda a: a.top_action(),
            },
        )
        if collect:
            self.datacollector.collect(self)

    # -- the state, held by the plain engine ------------------------------------
    @property
    def world(self) -> WorldState:
        """The worlds' state (:class:`~sim.engine.state.WorldState`)."""
        return self.core.world

    @property
    def day(self) -> int:
        """Days simulated so far (the next day's index)."""
        return self.core.day

    @property
    def rung_track(self) -> np.ndarray:
        """``(horizon, replicates)``: each world's rung at the end of each day."""
        return self.core.rung_track

    @property
    def outcome(self) -> np.ndarray | None:
        """Each world's outcome class index, from the horizon on (``None`` before)."""
        return self.core.outcome

    @property
    def flags(self) -> np.ndarray | None:
        """``(flags, replicates)`` booleans, from the horizon on (``None`` before)."""
        return self.core.flags

    @property
    def observed(self) -> np.ndarray:
        """``(observations, replicates)``: whether each observation held on its day."""
        return self.core.observed

    @property
    def snapshot(self) -> dict[str, Any]:
        """The snapshot the actors last decided on (read-only views of the state)."""
        return self.core.snapshot

    # -- the day ---------------------------------------------------------------
    def step(self) -> None:
        """Simulate one day in every world: events, observe, decide, adjudicate.

        The day is :meth:`sim.engine.core.Engine.step`; the agents are asked
        through Mesa's agent set (``AgentSet.map``, in whatever order it
        holds them) and their results are applied only once all have
        answered, in scenario order, so the order in which they are asked
        cannot change anything.
        """
        if not self.running:
            return
        agents = self.agents_by_type[ActorAgent]
        today = self.core.step(lambda what, env: agents.map(what, env))
        if self.core.seats and today is not None:
            for agent, decision in zip(self.actor_agents, today.decisions, strict=True):
                agent.decision = decision  # what was taken, the seats' choices included
        if self.narrate and today is not None:
            self._narrate(today)
        self.running = self.core.running
        if self.collect:
            self.datacollector.collect(self)

    # -- results ---------------------------------------------------------------
    def outcome_of(self, world: int = 0) -> str:
        """Outcome class id of one world (after the horizon)."""
        if self.outcome is None:
            raise RuntimeError("the model has not reached its horizon yet")
        return self.spec.outcomes[int(self.outcome[world])].id

    def outcome_shares(self) -> np.ndarray:
        """Share of the worlds in each outcome class, in scenario order (after the horizon)."""
        if self.outcome is None:
            raise RuntimeError("the model has not reached its horizon yet")
        return _shares(self.outcome, len(self.spec.outcomes))

    def run(self) -> WargameModel:
        """Step to the horizon; returns self for chaining."""
        while self.running:
            self.step()
        return self

    # -- narrative ---------------------------------------------------------------
    def _narrate(self, today: Day) -> None:
        day = today.day
        self._log_events(day, today.happened)
        self._log_rung(day, today.rung_before_events, today.rung_after_events, "events")
        self._log_decisions(day, today.decisions)
        self._log_rung(day, today.rung_before_actions, self.world.rung, "actions")

    def _log_events(self, day: int, happened: list[Happening]) -> None:
        for h in happened:
            if not h.event.narrate:
                continue
            for w in np.nonzero(h.worlds)[0]:
                self.log.append(
                    LogEntry(int(w), day, h.kind, "world", h.event.id, "", h.event.cites)
                )

    def _log_rung(self, day: int, before: np.ndarray, after: np.ndarray, cause: str) -> None:
        for w in np.nonzero(after != before)[0]:
            self.log.append(
                LogEntry(int(w), day, "rung", "", cause, "", (), int(before[w]), int(after[w]))
            )

    def _log_decisions(self, day: int, decisions: list[Decision]) -> None:
        rules = self.spec.rules
        for dec in decisions:
            actor = self.spec.actor(dec.actor)
            default = actor.default_action.index
            for w in np.nonzero(dec.action != default)[0]:
                act = actor.actions[int(dec.action[w])]
                r = int(dec.rule[w])
                rule = rules[r] if r >= 0 else None
                why = "(no rule: the seat's choice)" if r == SEATED else "(no rule: chosen freely)"
                self.log.append(
                    LogEntry(
                        int(w),
                        day,
                        "action",
                        actor.id,
                        act.id,
                        rule.id if rule else why,
                        rule.cites if rule else act.cites,
                    )
                )
