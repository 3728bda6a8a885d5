"""One settings object for a run of worlds, shared by batches, sweeps and comparisons.

``run_batch``, ``run_sweep`` and ``compare`` all run worlds the same way,
and their command lines take the same options. :class:`RunSettings` holds
those options once, with one default each, and checks them once, when it is
made, so a bad value is refused before any scenario is loaded, whichever
entry point it came through. What differs between the entry points (the
design of a sweep, the two sides of a comparison, where the folder goes)
stays their own.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.batch.executors import (
    CHUNK_TIMEOUT,
    Executor,
    check_executor,
    chunk_timeout_seconds,
    make_executor,
)
from sim.batch.seeding import CHUNK, chunk_sizes
from sim.errors import UsageError
from sim.registry import ClaimsPolicy, claims_policy
from sim.scenario import load_scenario
from sim.scenario.removal import removal_overrides, removals

if TYPE_CHECKING:
    from sim.scenario.model import Scenario


@dataclass(frozen=True)
class RunSettings:
    """How the worlds of a batch, sweep or comparison are run.

    Only ``runs``, ``seed``, ``chunk_size``, ``pinned`` and ``overrides``
    change which worlds are simulated; the executor, workers, scheduler and
    timeout only change how fast (results are identical for any of them).

    Attributes:
        runs: worlds (per design point in a sweep); ``None``: the scenario's
            ``default_runs``.
        seed: root seed; ``None``: the scenario's ``seed``.
        workers: worker processes; ``None``: auto, one per usable core but
            never more than the run has chunks, so a run of one chunk stays
            in this process (what the ``wargame`` commands do by default,
            ``--workers auto``; :func:`sim.batch.executors.auto_workers`).
        executor: ``"serial"``, ``"local"`` or ``"dask"``; ``None``: serial
            for one worker, local for several, dask with a ``scheduler``.
        scheduler: address of a running Dask scheduler.
        chunk_size: worlds per task. Part of the seeding scheme: another
            chunk size gives other (equally valid) worlds.
        chunk_timeout: seconds without any chunk finishing after which the
            workers count as stalled (local and Dask executors); ``None``
            waits forever (0 and infinity are read as ``None``).
        pinned: parameter values used in every world instead of drawing them.
        overrides: ``path=value`` changes to the scenario (``--set``).
        without: rules removed from the scenario (``--without``), each as
            ``actor.rule`` or a rule id only one actor has: switched off as
            :mod:`sim.scenario.removal` says, keeping every world's random
            draws (:meth:`load` turns them into overrides).
        observations: a separate observations file naming the scenario
            (``--observations``, docs/evidence.md): recorded per world, drawing
            nothing, so the worlds are those of the scenario alone.
        claims: how citations are checked while the scenarios load;
            ``None`` follows the policy in force (:func:`sim.registry.claims_policy`,
            which ``wargame`` sets from ``--claims`` and ``--no-claims``).
        executor_options: extra arguments of the executor (Dask's
            ``local_directory``).

    Raises:
        UsageError: a value out of range, or options that do not go
            together (``--scheduler`` without Dask, several serial workers).
    """

    runs: int | None = None
    seed: int | None = None
    workers: int | None = 1
    executor: str | None = None
    scheduler: str | None = None
    chunk_size: int = CHUNK
    chunk_timeout: float | None = CHUNK_TIMEOUT
    pinned: Mapping[str, Any] = field(default_factory=dict, hash=False)
    overrides: tuple[str, ...] = ()
    without: tuple[str, ...] = ()
    observations: str | None = None
    claims: ClaimsPolicy | None = None
    executor_options: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)  # frozen: normalised once, here

        put("runs", _whole("--runs", self.runs, 1))
        put("seed", _whole("--seed", self.seed, 0, "a non-negative whole number"))
        put("workers", _whole("--workers", self.workers, 1))
        put("chunk_size", _whole("--chunk-size", self.chunk_size, 1, optional=False))
        put("chunk_timeout", chunk_timeout_seconds(self.chunk_timeout))
        check_executor(self.executor, self.workers, self.scheduler)
        if isinstance(self.overrides, str):
            raise UsageError(
                f"overrides must be a list of PATH=VALUE strings, not the string {self.overrides!r}"
            )
        put("overrides", tuple(self.overrides))
        if isinstance(self.without, str):
            raise UsageError(f"without must be a list of rule ids, not the string {self.without!r}")
        put("without", tuple(self.without))
        if not isinstance(self.pinned, Mapping):
            raise UsageError(f"pinned must map parameter ids to values (got {self.pinned!r})")
        put("pinned", dict(self.pinned))
        put("executor_options", dict(self.executor_options))

    @classmethod
    def of(cls, settings: RunSettings | None = None, **changes: Any) -> RunSettings:
        """``settings`` (default: all defaults) with ``changes``, each a field of this class.

        What the keyword arguments of ``run_batch``, ``run_sweep`` and
        ``compare`` go through, so ``run_batch(path, runs=100)`` is
        ``run_batch(path, RunSettings(runs=100))``.

        Raises:
            TypeError: a change names no field (a mistyped keyword argument).
        """
        unknown = sorted(set(changes) - {f.name for f in fields(cls)})
        if unknown:
            raise TypeError(f"unknown run settings: {', '.join(unknown)}")
        base = settings if settings is not None else cls()
        return replace(base, **changes) if changes else base

    def for_scenario(self, sc: Scenario) -> RunSettings:
        """These settings with ``runs`` and ``seed`` filled in from ``sc`` where not given."""
        return replace(
            self,
            runs=sc.default_runs if self.runs is None else self.runs,
            seed=sc.seed if self.seed is None else self.seed,
        )

    def load(self, scenario: str | Path) -> Loaded:
        """The scenario these settings run: ``scenario`` with :attr:`overrides`, less
        the rules of :attr:`without` (see :class:`Loaded`).

        Raises:
            ValidationError: the scenario or an override is invalid.
            UsageError: a rule of :attr:`without` is unknown, ambiguous or named twice.
        """
        seen = self.observations
        sc = load_scenario(scenario, self.overrides, observations=seen)
        if not self.without:
            return Loaded(sc, self.overrides, ())
        gone = removals(sc, self.without)
        overrides = (*self.overrides, *removal_overrides(gone))
        sc = load_scenario(scenario, overrides, observations=seen)
        return Loaded(sc, overrides, tuple(r.as_json(sc) for r in gone))

    @property
    def worlds(self) -> tuple[int, int]:
        """``(runs, seed)`` once filled in by :meth:`for_scenario`."""
        if self.runs is None or self.seed is None:
            raise ValueError("runs and seed are not known yet: call for_scenario first")
        return self.runs, self.seed

    def make_executor(self, groups: int = 1) -> Executor:
        """The executor these settings name (:func:`sim.batch.executors.make_executor`), for
        ``groups`` design points (or variants) of :attr:`runs` worlds each: with
        ``workers=None`` (auto), their number of chunks caps the workers.
        """
        runs, _ = self.worlds
        return make_executor(
            self.executor,
            self.workers,
            self.scheduler,
            self.chunk_timeout,
            tasks=groups * len(chunk_sizes(runs, self.chunk_size)),
            **self.executor_options,
        )

    @contextlib.contextmanager
    def claims_in_force(self) -> Iterator[None]:
        """Inside the block, scenarios load under :attr:`claims` (if given)."""
        if self.claims is None:
            yield
            return
        with claims_policy(self.claims.file, check=self.claims.check):
            yield

    def command(
        self,
        kind: str,
        scenario: str | Path,
        *,
        runs_table: bool = True,
        extra: Sequence[str] = (),
        pinned: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """The ``wargame`` command line that runs the same worlds again.

        Executor, workers, scheduler, timeout and output folder are left out:
        they do not change the results. ``extra`` are the command's own
        options (a sweep's ``--vary``); ``pinned`` replaces :attr:`pinned`
        (with the values as checked against the scenario).
        """
        options = self.options(runs_table=runs_table, extra=extra, pinned=pinned)
        return ["wargame", kind, str(scenario), *options]

    def options(
        self,
        *,
        runs_table: bool = True,
        extra: Sequence[str] = (),
        pinned: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """The options of :meth:`command`, after the command and its scenario."""
        runs, seed = self.worlds
        opts = ["--runs", str(runs), "--seed", str(seed)]
        opts += _repeated("--set", self.overrides)
        opts += _repeated("--without", self.without)
        if self.observations is not None:
            opts += ["--observations", str(self.observations)]
        pins = self.pinned if pinned is None else pinned
        opts += _repeated("--pin", (f"{pid}={value}" for pid, value in pins.items()))
        opts += list(extra)
        if self.chunk_size != CHUNK:
            opts += ["--chunk-size", str(self.chunk_size)]
        if not runs_table:
            opts.append("--no-runs-table")
        return opts


@dataclass(frozen=True)
class Loaded:
    """A scenario as run settings make it (:meth:`RunSettings.load`).

    Attributes:
        scenario: the compiled scenario, removed rules switched off (its
            ``sha256`` is that of the scenario so changed).
        overrides: every override it was compiled with: the ``--set`` ones,
            then those that remove rules; what workers and readers of the
            folder rebuild it from (the manifest's ``overrides``).
        without: each removed rule as a manifest records it
            (:meth:`sim.scenario.removal.Removal.as_json`).
    """

    scenario: Scenario
    overrides: tuple[str, ...]
    without: tuple[dict[str, Any], ...]


def _repeated(option: str, values: Iterable[str]) -> list[str]:
    return [part for value in values for part in (option, value)]


def _whole(
    option: str,
    value: Any,
    minimum: int,
    what: str = "",
    *,
    optional: bool = True,
) -> int | None:
    """``value`` as an ``int`` of at least ``minimum`` (``None`` if allowed)."""
    if value is None and optional:
        return None
    what = what or f"a whole number of at least {minimum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise UsageError(f"{option} must be {what} (got {value!r})")
    if value < minimum:
        if minimum == 1:
            raise UsageError(f"{option} must be at least 1 (got {value})")
        raise UsageError(f"{option} must be {what} (got {value})")
    return int(value)
