"""The outlook kernel (a decider's whole foresight in one loop) == the numpy path, to the bit.

Every call of :func:`sim.engine.foresight.utilities` on every shipped scenario
is made twice, by the outlook kernel and by the path without it (the piece
kernels and numpy), and every utility array must be the same: values, NaNs
and the sign of zeros.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.engine import foresight, kernels, outlook
from sim.engine.model import WargameModel
from sim.engine.state import PerScenario
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def same(got: np.ndarray, want: np.ndarray) -> bool:
    """Equal to the bit: values, NaNs and the sign of zeros."""
    return (
        got.shape == want.shape
        and np.array_equal(got, want, equal_nan=True)
        and np.array_equal(np.signbit(got), np.signbit(want))
    )


@pytest.fixture(autouse=True)
def _setup(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    pytest.importorskip("numba")
    folder = tmp_path_factory.getbasetemp() / "kernels"  # shared by the tests of a session
    monkeypatch.setenv(kernels.CACHE_VARIABLE, str(folder))
    monkeypatch.setenv(kernels.MODE_VARIABLE, "numba")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _compared(path: Path, monkeypatch: pytest.MonkeyPatch, n: int = 1500) -> tuple[int, int]:
    """Run ``path`` with every foresight call made both ways; how many calls had some
    world active, and how many of them the kernel made."""
    real, fused = foresight.utilities, outlook.utilities
    calls = [0, 0]  # calls with some world active, of which the kernel made

    def without(*args: Any) -> None:
        return None

    def both(*args: Any, **kwargs: Any) -> dict[int, np.ndarray]:
        ran: list[bool] = []

        def spy(*a: Any) -> Any:
            got = fused(*a)
            ran.append(got is not None)
            return got

        monkeypatch.setattr(outlook, "utilities", spy)
        got = real(*args, **kwargs)
        monkeypatch.setattr(outlook, "utilities", without)
        want = real(*args, **kwargs)
        calls[0] += bool(ran)  # else no world is active (zeros, before the hook)
        calls[1] += bool(ran and ran[0])
        assert sorted(got) == sorted(want)
        for k in want:
            assert same(got[k], want[k]), (path.stem, k)
        return got

    monkeypatch.setattr(foresight, "utilities", both)
    WargameModel(load_scenario(path), replicates=n, collect=False, rng=11).run()
    monkeypatch.setattr(foresight, "utilities", real)
    monkeypatch.setattr(outlook, "utilities", fused)
    return calls[0], calls[1]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_outlook_equals_the_path_without_it(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls, fused = _compared(path, monkeypatch)
    has_foresight = any(r.kind == "foresight" for a in load_scenario(path).actors for r in a.rules)
    if has_foresight:
        assert calls and fused == calls  # the kernel ran, on every call with an active world


def test_no_kernel_means_the_numpy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where a piece has no kernel (an expression without scalar code), the outlook
    gives None and foresight's own path gives the utilities."""
    path = ROOT / "scenarios" / "allied_resolve_2022.yaml"
    monkeypatch.setattr(outlook, "_PLANS", PerScenario(16))  # no plan kept from before
    monkeypatch.setattr(kernels, "chance_kernel", lambda *args: None)
    real = outlook.utilities
    got: list[Any] = []

    def spy(*args: Any) -> Any:
        out = real(*args)
        got.append(out)
        return out

    monkeypatch.setattr(outlook, "utilities", spy)
    WargameModel(load_scenario(path), replicates=200, collect=False, rng=11).run()
    assert got and all(x is None for x in got)
