"""How ``wargame view`` tells the viewer's server which scenario to show.

The server runs ``solara run sim.viz.app`` in a child process, which can be
told things only through its environment: the scenario file in
:data:`SCENARIO_ENV`, the command line's ``--set`` overrides, as a JSON
list, in :data:`OVERRIDES_ENV`, and its ``--claims FILE`` or ``--no-claims``
in :data:`CLAIMS_ENV`, and an ``--observations FILE`` in
:data:`OBSERVATIONS_ENV`. Both ends use this module, the command
(:mod:`sim.viz.cli`) to write them and the page (:mod:`sim.viz.app`) to read
them, so the page does not import the command-line code above it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.registry import ClaimsPolicy

SCENARIO_ENV = "WARGAME_SCENARIO"
"""Environment variable naming the scenario file the page shows."""
OVERRIDES_ENV = "WARGAME_OVERRIDES"
"""Environment variable with command-line ``--set`` overrides, as a JSON list."""
OBSERVATIONS_ENV = "WARGAME_OBSERVATIONS"
"""Environment variable with ``--observations FILE`` (unset: the scenario's own only)."""
CLAIMS_ENV = "WARGAME_CLAIMS"
"""Environment variable with ``--claims FILE`` or ``--no-claims``, as JSON (file, check)."""


def server_env(
    scenario: str | Path,
    overrides: Sequence[str] = (),
    base: Mapping[str, str] | None = None,
    claims: ClaimsPolicy | None = None,
    observations: str | Path | None = None,
) -> dict[str, str]:
    """Environment of the server: the scenario, any ``--set``, ``--observations``, the claims
    policy, no telemetry."""
    env = dict(os.environ if base is None else base)
    env[SCENARIO_ENV] = str(Path(scenario).resolve())
    env[OVERRIDES_ENV] = json.dumps(list(overrides))
    env.pop(OBSERVATIONS_ENV, None)
    if observations is not None:
        env[OBSERVATIONS_ENV] = str(Path(observations).resolve())
    if claims is None:
        from sim.registry import ClaimsPolicy  # start-up time: `wargame --help` builds no registry

        claims = ClaimsPolicy()
    file = str(claims.file.resolve()) if claims.file is not None else None
    env[CLAIMS_ENV] = json.dumps({"file": file, "check": claims.check})
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    return env


def scenario_from_environment(
    environ: Mapping[str, str] | None = None,
) -> tuple[str | None, tuple[str, ...]]:
    """The scenario file (``None`` if unset) and overrides that :func:`server_env` wrote."""
    env = os.environ if environ is None else environ
    path = env.get(SCENARIO_ENV) or None
    return path, tuple(json.loads(env.get(OVERRIDES_ENV) or "[]"))


def claims_from_environment(environ: Mapping[str, str] | None = None) -> ClaimsPolicy:
    """The claims policy that :func:`server_env` wrote (the rule if unset)."""
    from sim.registry import ClaimsPolicy  # start-up time: `wargame --help` builds no registry

    env = os.environ if environ is None else environ
    given = json.loads(env.get(CLAIMS_ENV) or "{}")
    file = given.get("file")
    return ClaimsPolicy(Path(file) if file else None, bool(given.get("check", True)))


def observations_from_environment(environ: Mapping[str, str] | None = None) -> str | None:
    """The ``--observations`` file that :func:`server_env` wrote, or ``None``."""
    env = os.environ if environ is None else environ
    return env.get(OBSERVATIONS_ENV) or None
