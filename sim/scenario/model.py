"""The compiled, immutable scenario the engine runs.

Everything here has been validated: ids resolve, expressions are compiled
against the declared names, distributions have legal parameters. The engine
never sees YAML.
"""

from __future__ import annotations

import builtins
import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.expr import Expr


@dataclass(frozen=True)
class StateVar:
    """A world-state variable; ``values`` are the words of an enum."""

    id: str
    type: str
    initial: Expr
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] = ()
    description: str = ""
    cites: tuple[str, ...] = ()
    context: tuple[str, ...] = ()  # claims cited as background only
    inert: str | None = None  # why the modeller expects no effect on outcomes or flags

    @property
    def dtype(self) -> builtins.type[np.generic]:
        """The numpy type of the variable's array (enums hold the index of their word)."""
        return {"bool": np.bool_, "int": np.int64, "float": np.float64, "enum": np.int64}[self.type]


@dataclass(frozen=True)
class Parameter:
    """An uncertain quantity with its distribution; drawn once per world."""

    id: str
    dist: str
    args: dict[str, float] = field(default_factory=dict)
    options: tuple[tuple[Any, float], ...] = ()
    enum_values: tuple[str, ...] = ()
    integer: bool = False
    description: str = ""
    cites: tuple[str, ...] = ()
    owner: str | None = None  # the actor whose private trait this is
    types: tuple[tuple[str, float], ...] = ()  # a numeric trait's named values
    context: tuple[str, ...] = ()  # claims cited as background only
    inert: str | None = None  # why the modeller expects no effect on outcomes or flags

    @property
    def type(self) -> str:
        """The type expressions see: enum for word choices, else int or float."""
        if self.enum_values:
            return "enum"
        return "int" if self.integer else "float"

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values (enum parameters as integer codes)."""
        a = self.args
        if self.dist == "fixed":
            v = self.options[0][0] if self.enum_values else a["value"]
            x = np.full(n, 0 if self.enum_values else v, dtype=float)
        elif self.dist == "uniform":
            x = rng.uniform(a["low"], a["high"], n)
        elif self.dist == "triangular":
            x = rng.triangular(a["low"], a["mode"], a["high"], n)
        elif self.dist == "normal":
            x = _truncated_normal(rng, a["mean"], a["sd"], a.get("low"), a.get("high"), n)
        elif self.dist == "beta":
            lo, hi = a.get("low", 0.0), a.get("high", 1.0)
            x = lo + (hi - lo) * rng.beta(a["a"], a["b"], n)
        elif self.dist == "choice":
            w = np.array([wt for _, wt in self.options], dtype=float)
            idx = rng.choice(len(w), size=n, p=w / w.sum())
            if self.enum_values:
                return idx.astype(np.int64)
            vals = np.array([float(v) for v, _ in self.options])
            x = vals[idx]
        else:  # pragma: no cover - validated before
            raise ValueError(self.dist)
        if self.enum_values:
            return x.astype(np.int64)
        if self.integer:
            return np.floor(x + 0.5).astype(np.int64)
        return x


def _truncated_normal(
    rng: np.random.Generator, mean: float, sd: float, lo: float | None, hi: float | None, n: int
) -> np.ndarray:
    """Inverse-CDF sampling: one uniform per draw, so draws are reproducible."""
    from scipy.special import ndtr, ndtri  # start-up time: not needed to validate

    a = -np.inf if lo is None else (lo - mean) / sd
    b = np.inf if hi is None else (hi - mean) / sd
    pa, pb = ndtr(a), ndtr(b)
    u = rng.uniform(pa, pb, n)
    return np.clip(
        mean + sd * ndtri(u), -np.inf if lo is None else lo, np.inf if hi is None else hi
    )


@dataclass(frozen=True)
class Rung:
    """A ladder rung; ``index`` 0 is the calmest."""

    id: str
    index: int
    name: str
    mid_level: int
    description: str = ""
    colour: str | None = None


@dataclass(frozen=True)
class Effect:
    """Set state variable ``target`` to ``expr`` (of the state before the change)."""

    target: str
    expr: Expr


@dataclass(frozen=True)
class Intel:
    """Private knowledge: ``observer`` learns that ``watches`` holds, maybe late."""

    id: str
    observer: str
    watches: Expr
    delay_days: Expr
    detect_prob: Expr
    description: str = ""
    cites: tuple[str, ...] = ()
    context: tuple[str, ...] = ()  # claims cited as background only
    inert: str | None = None  # why the modeller expects no effect on outcomes or flags


@dataclass(frozen=True)
class Event:
    """A scheduled (``start``..``end``) or random (``hazard``) event."""

    id: str
    name: str
    kind: str  # "scheduled" | "random"
    start_day: int | None = None
    end_day: int | None = None
    hazard: Expr | None = None
    when: Expr | None = None
    max_times: int | None = None
    narrate: bool = True
    effects: tuple[Effect, ...] = ()
    end_effects: tuple[Effect, ...] = ()
    escalate_to: int | None = None
    deescalate_to: int | None = None
    description: str = ""
    cites: tuple[str, ...] = ()
    context: tuple[str, ...] = ()  # claims cited as background only
    inert: str | None = None  # why the modeller expects no effect on outcomes or flags


@dataclass(frozen=True)
class Action:
    """One action of an actor's repertoire."""

    id: str
    index: int
    name: str
    default: bool = False
    once: bool = False
    effects: tuple[Effect, ...] = ()
    escalate_to: int | None = None
    deescalate_to: int | None = None
    description: str = ""
    cites: tuple[str, ...] = ()
    context: tuple[str, ...] = ()  # claims cited as background only


@dataclass(frozen=True)
class Rule:
    """A constraint, trigger, preference or foresight rule of one actor, with its citations.

    ``condition`` is ``allowed_if`` for a constraint and ``when`` otherwise.
    """

    id: str
    index: int  # global index over all rules of the scenario
    actor: str
    kind: str
    action: str
    action_index: int
    condition: Expr
    prob: Expr | None = None
    utility: Expr | None = None
    description: str = ""
    cites: tuple[str, ...] = ()
    horizon: int | None = None  # foresight: days ahead the responses are predicted over
    context: tuple[str, ...] = ()  # claims cited as background only
    inert: str | None = None  # why the modeller expects no effect on outcomes or flags


@dataclass(frozen=True)
class ValueTerm:
    """One term of what an actor values: ``weight * of``, summed over its terms."""

    id: str
    of: Expr
    weight: Expr
    description: str = ""
    cites: tuple[str, ...] = ()


@dataclass(frozen=True)
class Evidence:
    """An observation that moves a belief: ``likelihood[k]`` is P(seen | type k)."""

    id: str
    seen: Expr
    likelihood: tuple[Expr, ...]  # one per type, in the trait's order
    once: bool = True
    description: str = ""
    cites: tuple[str, ...] = ()


@dataclass(frozen=True)
class Belief:
    """What its holder believes about another actor's private trait ``trait``.

    ``types`` are the trait's words (its choice options, in order); ``prior``
    gives one weight per type (normalised per world when the worlds are made).
    """

    trait: str
    owner: str  # the actor whose trait it is
    types: tuple[str, ...]
    prior: tuple[Expr, ...]
    evidence: tuple[Evidence, ...] = ()
    description: str = ""
    cites: tuple[str, ...] = ()


@dataclass(frozen=True)
class Actor:
    """An actor with its actions and rules, and what it values and believes."""

    id: str
    index: int
    name: str
    rationality: Expr
    actions: tuple[Action, ...]
    rules: tuple[Rule, ...]
    description: str = ""
    values: tuple[ValueTerm, ...] = ()
    beliefs: tuple[Belief, ...] = ()

    @property
    def default_action(self) -> Action:
        """The no-op the actor takes when no rule picks anything (the compiler checks there
        is exactly one).
        """
        return next(a for a in self.actions if a.default)

    def action(self, action_id: str) -> Action:
        """The action with id ``action_id`` (StopIteration if the actor has none)."""
        return next(a for a in self.actions if a.id == action_id)

    def rules_of(self, kind: str) -> tuple[Rule, ...]:
        """The actor's constraints, triggers or preferences, in the order written."""
        return tuple(r for r in self.rules if r.kind == kind)


@dataclass(frozen=True)
class Flag:
    """A yes/no question about each world (at the end or on any day)."""

    id: str
    name: str
    when: Expr
    at: str = "any_day"
    description: str = ""


@dataclass(frozen=True)
class Observation:
    """A dated, cited statement about the world, recorded per world on its day.

    The engine evaluates ``seen`` on every world's state at the end of day
    ``day`` and keeps the answer (``runs.csv`` column ``obs_<id>``); it draws
    nothing for it, so worlds are the same with or without observations.
    Conditioning on it (:mod:`sim.evidence`) keeps a world where it holds
    with weight ``1 - noise`` and one where it does not with weight ``noise``.
    """

    id: str
    day: int
    seen: Expr
    noise: float = 0.0
    description: str = ""
    cites: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """An outcome class; ``when`` is None for the fallback class."""

    id: str
    index: int
    name: str
    when: Expr | None
    description: str = ""
    colour: str | None = None


@dataclass(frozen=True)
class Scenario:
    """A complete, validated scenario."""

    name: str
    title: str
    start: _dt.date
    horizon_days: int
    seed: int
    description: str
    sources: tuple[str, ...]
    default_runs: int
    state: tuple[StateVar, ...]
    parameters: tuple[Parameter, ...]
    ladder: tuple[Rung, ...]
    intel: tuple[Intel, ...]
    events: tuple[Event, ...]
    actors: tuple[Actor, ...]
    flags: tuple[Flag, ...]
    outcomes: tuple[Outcome, ...]
    key_rungs: tuple[str, ...]
    key_flags: tuple[str, ...]
    observations: tuple[Observation, ...] = ()
    file: str = ""
    overrides: tuple[str, ...] = ()
    resolved: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    sha256: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def rules(self) -> tuple[Rule, ...]:
        """All rules of all actors, in global index order."""
        return tuple(r for a in self.actors for r in a.rules)

    def actor(self, actor_id: str) -> Actor:
        """The actor with id ``actor_id`` (StopIteration if there is none)."""
        return next(a for a in self.actors if a.id == actor_id)

    def rung(self, rung_id: str) -> Rung:
        """The ladder rung with id ``rung_id`` (StopIteration if there is none)."""
        return next(r for r in self.ladder if r.id == rung_id)

    def date_of(self, day: int) -> _dt.date:
        """Calendar date of a day index."""
        return self.start + _dt.timedelta(days=int(day))

    def parameter(self, pid: str) -> Parameter:
        """The parameter with id ``pid`` (StopIteration if there is none)."""
        return next(p for p in self.parameters if p.id == pid)

    def citations(self) -> list[tuple[str, str, bool]]:
        """Every claim an element cites: ``(claim id, element, as context)``, in file order.

        Elements are named ``rule:x``, ``parameter:y``, ``event:e``, ``intel:i``,
        ``state:v``, ``action:actor.x``, ``value:actor.t``, ``belief:actor.trait`` and
        ``evidence:actor.trait.e``, ``observation:o``; ``as context`` is True for a claim cited as
        background (``context``) rather than as what the element is derived from.
        """
        out: list[tuple[str, str, bool]] = []

        def add(element: str, cites: tuple[str, ...], context: tuple[str, ...] = ()) -> None:
            out.extend((c, element, False) for c in cites)
            out.extend((c, element, True) for c in context)

        for r in self.rules:
            add(f"rule:{r.id}", r.cites, r.context)
        for p in self.parameters:
            add(f"parameter:{p.id}", p.cites, p.context)
        for e in self.events:
            add(f"event:{e.id}", e.cites, e.context)
        for i in self.intel:
            add(f"intel:{i.id}", i.cites, i.context)
        for v in self.state:
            add(f"state:{v.id}", v.cites, v.context)
        for a in self.actors:
            for x in a.actions:
                add(f"action:{a.id}.{x.id}", x.cites, x.context)
            for t in a.values:
                add(f"value:{a.id}.{t.id}", t.cites)
            for b in a.beliefs:
                add(f"belief:{a.id}.{b.trait}", b.cites)
                for ev in b.evidence:
                    add(f"evidence:{a.id}.{b.trait}.{ev.id}", ev.cites)
        for o in self.observations:
            add(f"observation:{o.id}", o.cites)
        return out
