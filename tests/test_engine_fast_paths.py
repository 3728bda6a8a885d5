"""The engine's fast paths give exactly what the plain formulations give.

Skipped random draws, the softmax over candidate actions only and the values
kept for expressions of parameters must not change a single number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.engine.decision import softmax_pick
from sim.engine.draws import LazyUniforms, skip_uniforms
from sim.engine.state import WorldState
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "allied_resolve_2022.yaml"


# -- skipped draws -------------------------------------------------------------------
@pytest.mark.parametrize("bitgen", [np.random.PCG64, np.random.MT19937, np.random.Philox])
def test_lazy_rows_are_the_rows_of_the_whole_block(bitgen: type) -> None:
    whole = np.random.Generator(bitgen(7))
    lazy = np.random.Generator(bitgen(7))
    block = whole.random((5, 13))
    rows = LazyUniforms(lazy, 5, 13)
    np.testing.assert_array_equal(rows.row(1), block[1])
    np.testing.assert_array_equal(rows.row(3), block[3])
    rows.finish()
    # the stream goes on where drawing the whole block left it
    np.testing.assert_array_equal(lazy.random(4), whole.random(4))


def test_skipping_moves_the_stream_like_drawing() -> None:
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    a.random(1000)
    skip_uniforms(b, 1000)
    np.testing.assert_array_equal(a.random(10), b.random(10))


def test_rows_must_be_asked_for_in_order() -> None:
    rows = LazyUniforms(np.random.default_rng(0), 3, 4)
    rows.row(2)
    with pytest.raises(ValueError, match="row 1"):
        rows.row(1)


# -- softmax over candidates ---------------------------------------------------------
def _reference_pick(
    allowed: np.ndarray, utility: np.ndarray, beta: np.ndarray, u: np.ndarray, rule: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The softmax over every action, as first written (cumsum and argmax)."""
    R = u.shape[0]
    ok = allowed & np.isfinite(utility)
    with np.errstate(all="ignore"):
        logits = np.where(ok, beta * np.where(ok, utility, 0.0), -np.inf)
        logits -= logits.max(axis=0)
        w = np.exp(logits)
    cdf = np.cumsum(w, axis=0)
    pick = (u * cdf[-1] < cdf).argmax(axis=0)
    return pick, rule[pick, np.arange(R)]


def _special(rng: np.random.Generator, shape: tuple[int, ...], values: list[float]) -> np.ndarray:
    x = rng.normal(0, 3, shape)
    hit = rng.random(shape) < 0.15
    x[hit] = rng.choice(values, size=int(hit.sum()))
    return x


@pytest.mark.parametrize("seed", range(6))
def test_softmax_over_candidates_matches_softmax_over_all_actions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, R = 5, 4000
    candidates = np.array(sorted({0, *rng.choice(n, size=2, replace=False)}), dtype=np.int64)
    utility = np.full((n, R), -np.inf)
    utility[candidates] = _special(rng, (len(candidates), R), [np.inf, -np.inf, np.nan, 0.0])
    allowed = rng.random((n, R)) < 0.8
    beta = _special(rng, (R,), [0.0, np.inf, -np.inf, np.nan, 1e300])
    u = rng.random(R)
    rule = rng.integers(-1, 9, size=(n, R))
    want_action, want_rule = _reference_pick(allowed, utility, beta, u, rule)
    with np.errstate(all="ignore"):
        action, got_rule = softmax_pick(
            allowed[candidates], utility[candidates], beta, u, candidates, rule[candidates]
        )
    np.testing.assert_array_equal(action, want_action)
    np.testing.assert_array_equal(got_rule, want_rule)


def test_single_candidate_is_always_picked() -> None:
    rng = np.random.default_rng(1)
    R = 500
    utility = _special(rng, (1, R), [np.inf, -np.inf, np.nan])
    allowed = rng.random((1, R)) < 0.5
    beta = _special(rng, (R,), [np.inf, np.nan])
    rule = rng.integers(-1, 4, size=(1, R))
    want_action, want_rule = _reference_pick(allowed, utility, beta, rng.random(R), rule)
    assert (want_action == 0).all()
    np.testing.assert_array_equal(want_rule, rule[0])


# -- values of parameter-only expressions, kept per model ---------------------------
def _state() -> tuple[WorldState, list]:
    sc = load_scenario(DEFAULT)
    exprs = [x for r in sc.rules for x in (r.condition, r.prob, r.utility) if x is not None]
    return WorldState.initial(sc, 50, np.random.default_rng(2)), exprs


def test_parameter_expressions_are_kept_and_read_only() -> None:
    st, exprs = _state()
    env = st.env()
    expr = next(x for x in exprs if x.names and x.names <= set(st.params))
    kept = st.evaluate(expr, env)
    np.testing.assert_array_equal(kept, expr.evaluate(env, 50))
    assert st.evaluate(expr, env) is kept
    assert not kept.flags.writeable


def test_state_expressions_are_evaluated_afresh() -> None:
    st, exprs = _state()
    floats = {v.id for v in st.scenario.state if v.type == "float"}
    expr = next(x for x in exprs if x.type == "float" and x.names & floats)
    name = sorted(expr.names & floats)[0]
    before = st.evaluate(expr, st.env())
    st.values[name] = st.values[name] + 0.25
    after = st.evaluate(expr, st.env())
    np.testing.assert_array_equal(after, expr.evaluate(st.env(), 50))
    assert not np.array_equal(before, after)
