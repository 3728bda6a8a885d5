"""The viewer's per-session settings, and the scenarios and ensembles they stand for.

Every input of the page is one ``solara.Reactive`` held by a per-session
:class:`ViewerSettings`: the widgets (:mod:`sim.viz.sidebar`) are bound to
them, the ensemble panel reads them, and the single world reads them when
Mesa's *Reset* creates a new :class:`ViewerModel`. One source of truth for
all three. Compiled scenarios and ensembles are cached across sessions.
"""

from __future__ import annotations

from typing import Any

import solara

from sim.engine.model import DEFAULT_SCENARIO, WargameModel
from sim.errors import UsageError, ValidationError
from sim.registry import claims_policy
from sim.scenario.cache import load_cached
from sim.scenario.model import Scenario
from sim.scenario.pins import check_pinned
from sim.viz.controls import (
    EXTRA,
    UNCERTAIN,
    Applied,
    Control,
    apply_overrides,
    controls_for,
    override_items,
    pinned_values,
)
from sim.viz.ensemble import WORLDS, Ensemble, run_ensemble
from sim.viz.environment import (
    claims_from_environment,
    observations_from_environment,
    scenario_from_environment,
)


# -- loading, cached across sessions ---------------------------------------------------
def compiled(path: str, overrides: tuple[str, ...]) -> Scenario:
    """The scenario with overrides, from the package's one scenario cache.

    :mod:`sim.scenario.cache` recompiles it when the file or a base it
    extends changes, so editing the scenario while the viewer runs shows
    the edit (on the next change of a setting, or a reload). Citations are
    checked as the command's ``--claims``/``--no-claims`` said.
    """
    claims = claims_from_environment()
    with claims_policy(claims.file, check=claims.check):
        return load_cached(path, overrides, observations_from_environment())


_ENSEMBLES: dict[tuple[Any, ...], Ensemble] = {}
_MAX_ENSEMBLES = 128


def ensemble_of(
    path: str, overrides: tuple[str, ...], pinned: tuple[tuple[str, Any], ...]
) -> Ensemble:
    """The ensemble of these settings, computed once per compiled scenario and pins.

    Keyed by the scenario's ``sha256`` (what was compiled), not by the path:
    an edited file gives a new scenario, hence a new ensemble.
    """
    sc = compiled(path, overrides)
    key = (sc.sha256, pinned)
    ens = _ENSEMBLES.get(key)
    if ens is None:
        ens = run_ensemble(sc, dict(pinned), worlds=WORLDS)
        if len(_ENSEMBLES) >= _MAX_ENSEMBLES:
            _ENSEMBLES.clear()
        _ENSEMBLES[key] = ens
    return ens


def errors_of(exc: ValidationError) -> str:
    return "\n".join(str(d) for d in exc.diagnostics) or str(exc)


# -- per-session state --------------------------------------------------------------
class ViewerSettings:
    """Everything the user set, one reactive value per input.

    Args:
        path: the scenario file.
        cli_overrides: ``--set`` overrides given on the command line; always
            applied, before the ones typed in the page.
    """

    def __init__(self, path: str, cli_overrides: tuple[str, ...] = ()) -> None:
        self.path = path
        self.cli_overrides = cli_overrides
        self.base = compiled(path, cli_overrides)
        self.controls: tuple[Control, ...] = controls_for(self.base)
        self.shown = {c.id: solara.reactive(c.default) for c in self.controls}
        self.pin = {c.id: solara.reactive(False) for c in self.controls if c.kind == "slider"}
        self.rationality = {a.id: solara.reactive(a.rationality.source) for a in self.base.actors}
        self.extra = solara.reactive("")
        self.seed = solara.reactive(str(self.base.seed))
        self.as_of = solara.reactive(0)  # 0: not conditioned; k: the k-th observation day
        self._applied: dict[tuple[Any, ...], Applied] = {}

    @classmethod
    def from_environment(cls) -> ViewerSettings:
        """Settings for the scenario named by ``WARGAME_SCENARIO`` (default: the bundled one)."""
        path, overrides = scenario_from_environment()
        return cls(path or str(DEFAULT_SCENARIO), overrides)

    # -- what the settings mean ---------------------------------------------------------
    def pinned(self) -> dict[str, Any]:
        """Pinned parameter values (reading them subscribes a component to changes)."""
        shown = {k: r.value for k, r in self.shown.items()}
        pins = {k: r.value for k, r in self.pin.items()}
        return pinned_values(self.controls, shown, pins)

    def checked_pins(self, spec: Scenario) -> tuple[dict[str, Any], dict[str, str]]:
        """The pins that ``spec`` accepts, and for each other pin why it was left out.

        The controls are built from the scenario as loaded; an override can
        move a parameter's support (``parameters.withdrawal_rate.high=0.05``)
        so that a pinned value falls outside it. Such a pin is checked as
        ``wargame batch`` checks it, left out, and the reason shown beside
        its slider; the other pins still apply.
        """
        ok: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for pid, value in self.pinned().items():
            try:
                ok |= check_pinned(spec, {pid: value})
            except UsageError as exc:
                errors[pid] = str(exc)
        return ok, errors

    def applied(self) -> Applied:
        """The scenario with every typed override that validates, and the others' errors.

        Remembered per set of inputs: a bad override would otherwise be
        compiled again on every redraw (the scenario cache keeps only
        scenarios that compile).
        """
        texts = {k: r.value for k, r in self.rationality.items()}
        items = override_items(self.base, texts, self.extra.value)
        key = (self.cli_overrides, items)
        found = self._applied.get(key)
        if found is None:
            try:
                found = apply_overrides(lambda o: compiled(self.path, o), self.cli_overrides, items)
            except ValidationError as exc:  # the file itself changed and broke
                found = Applied(self.base, self.cli_overrides, {EXTRA: errors_of(exc)})
            if len(self._applied) >= _MAX_ENSEMBLES:
                self._applied.clear()
            self._applied[key] = found
        return found

    def world_seed(self) -> tuple[int, str | None]:
        """The single world's seed, or the scenario's and an error if the text is no integer."""
        text = str(self.seed.value).strip()
        try:
            return int(text), None
        except ValueError:
            return self.base.seed, f"seed {text!r} is not a whole number; using {self.base.seed}"

    def key(self) -> tuple[Any, ...]:
        """Everything that determines the single world."""
        return (
            self.applied().overrides,
            tuple(sorted(self.pinned().items())),
            self.world_seed()[0],
        )

    def unpin_all(self) -> None:
        """Leave every parameter to its distribution again."""
        for r in self.pin.values():
            r.set(False)
        for c in self.controls:
            if c.kind == "select":
                self.shown[c.id].set(UNCERTAIN)


class ViewerModel(WargameModel):
    """The single narrated world, made from the current settings.

    Mesa's *Reset* calls ``ViewerModel(**model_parameters)``: ``settings``
    and Mesa's own ``scenario`` object (an experiment description this
    model does not use; ours is ``spec``).
    """

    def __init__(self, settings: ViewerSettings, scenario: Any = None, **_widgets: Any) -> None:
        spec = settings.applied().scenario
        seed, self.seed_error = settings.world_seed()
        self.settings_key = settings.key()
        self.pins, _ = settings.checked_pins(spec)
        super().__init__(spec, replicates=1, narrate=True, pinned=self.pins, rng=seed)
        self.world_seed = seed
