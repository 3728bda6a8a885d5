"""Shared paths, fixtures and hypothesis profiles of the test suite.

Paths that test modules need at import time (for ``parametrize``) are plain
constants here (``from conftest import ROOT``); the same values are also
fixtures for test functions.

Hypothesis profiles (``--hypothesis-profile NAME`` or ``HYPOTHESIS_PROFILE``
choose one; the default is ``ci`` where the environment sets ``CI=true``,
else ``dev``):

* ``dev``: derandomised, so a local run sees the same examples every time;
* ``ci``: randomised, with a fresh seed per run printed at the end of the
  run (``HYPOTHESIS_SEED=N`` or ``--hypothesis-seed=N`` repeats it), so CI
  explores new examples run after run. A case it finds is pinned with
  ``@example`` in the test that failed.
"""

from __future__ import annotations

import os
import random
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS_DIR = ROOT / "scenarios"
DEFAULT_SCENARIO = SCENARIOS_DIR / "allied_resolve_2022.yaml"
SHIPPED_SCENARIOS = tuple(sorted(SCENARIOS_DIR.glob("*.yaml")))
SEEDS_DIR = ROOT / "seeds"

# -- hypothesis ----------------------------------------------------------------------
_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("dev", derandomize=True, **_COMMON)
settings.register_profile("ci", derandomize=False, print_blob=True, database=None, **_COMMON)
RANDOMISED_PROFILES = frozenset({"ci"})


def _default_profile() -> str:
    chosen = os.environ.get("HYPOTHESIS_PROFILE")
    if chosen:
        return chosen
    return "ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev"


settings.load_profile(_default_profile())


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Give a randomised profile one seed for the whole run, so it can be repeated.

    Runs before hypothesis' own ``pytest_configure``, which then applies the
    seed (and any ``--hypothesis-profile`` given on the command line).
    """
    profile = config.getoption("hypothesis_profile", None) or settings.get_current_profile_name()
    if profile not in RANDOMISED_PROFILES or config.getoption("hypothesis_seed", None):
        return
    config.option.hypothesis_seed = os.environ.get("HYPOTHESIS_SEED") or str(
        random.SystemRandom().randrange(2**32)
    )


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Print the hypothesis profile and seed of a randomised run."""
    seed = config.getoption("hypothesis_seed", None)
    profile = settings.get_current_profile_name()
    if profile in RANDOMISED_PROFILES and seed is not None:
        terminalreporter.write_line(
            f"hypothesis profile {profile!r}, seed {seed} "
            f"(repeat with HYPOTHESIS_SEED={seed} or --hypothesis-seed={seed})"
        )


# -- paths and scenarios -------------------------------------------------------------
@pytest.fixture(scope="session")
def root() -> Path:
    """The repository's root folder."""
    return ROOT


@pytest.fixture(scope="session")
def default_scenario() -> Path:
    """The default shipped scenario (allied_resolve_2022.yaml)."""
    return DEFAULT_SCENARIO


@pytest.fixture(scope="session")
def registry():
    """The claims registry of the shipped scenarios (seeds/)."""
    from sim.registry import load_registry

    return load_registry(SEEDS_DIR)


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[..., Path]:
    """Write scenario text into the test's tmp folder; returns its path.

    ``write_scenario(text, name="scenario.yaml")``: the text is dedented, so
    it can be written indented inside a test.
    """

    def write(text: str, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
