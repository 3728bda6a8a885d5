"""Foresight's cheaper ways of computing give, to the bit, what the plain ones give.

The worlds foresight works on are sliced as :meth:`WorldState.take` slices
them, the bookkeeping it never reads only when read, and only the state
variables and parameters it names are kept; ``(1 - p) ** H`` skips the
worlds where ``1 - p`` is 1, and is read from a table of cases where the
triggers' probabilities and the preferences' utilities are the same in every
world; a weight made only of priors is a scalar. (The utilities themselves
are compared with the plain computation in ``test_engine_speedups.py``.)
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.engine import foresight
from sim.engine.model import WargameModel
from sim.engine.state import Rows


def _model(R: int = 400, days: int = 25) -> WargameModel:
    """The default scenario after ``days`` days, so histories and beliefs have moved."""
    m = WargameModel(replicates=R, rng=3, collect=False)
    for _ in range(days):
        m.step()
    return m


def _same(a: object, b: object) -> None:
    """``a`` and ``b`` hold the same arrays, bit for bit, under the same keys."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()
    else:
        assert a == b


def test_the_worlds_foresight_works_on_are_those_take_gives() -> None:
    """Every field of the restricted state equals ``take``'s, read only; what
    foresight does not read is sliced on first reading, once."""
    st = _model().world
    where = np.flatnonzero(np.arange(st.R) % 3 != 1)
    sub = foresight._Worlds.of(st, where, frozenset(st.values) | frozenset(st.params))
    want = st.take(where, read_only=True)
    assert not foresight._LATER & sub.__dict__.keys()  # nothing of it sliced yet
    assert not sub.action_count and not sub.action_last  # each actor's sliced when read
    for f in dataclasses.fields(want):
        got = getattr(sub, f.name)
        if isinstance(got, Rows):
            got = {k: got[k] for k in getattr(want, f.name)}
        _same(got, getattr(want, f.name))
        arrays = got.values() if isinstance(got, dict) else [got]
        assert not any(isinstance(a, np.ndarray) and a.flags.writeable for a in arrays)
    assert sub.rule_fired is sub.rule_fired  # sliced once
    assert sub.plans is st.plans  # what the scenario alone decides is shared
    _same(sub.env(st.day + 1), want.env(st.day + 1))
    with pytest.raises(AttributeError):
        sub.no_such_field  # noqa: B018


@pytest.mark.parametrize("horizon", [1, 2, 3, 7, 14])
@pytest.mark.parametrize("R", [100, foresight._MASKED_POWER, 3 * foresight._MASKED_POWER + 5])
def test_the_power_in_place_is_numpys_power(horizon: int, R: int) -> None:
    """``_raise`` gives ``q ** H`` bit for bit, where ``q`` is exactly 1 in many worlds
    (as ``1 - p`` is where a response cannot be taken) and anything else elsewhere."""
    rng = np.random.default_rng(horizon)
    q = rng.uniform(0.0, 1.0, R)
    q[rng.random(R) < 0.6] = 1.0
    q[:4] = [0.0, np.nan, 1.0 - 1e-17, np.nextafter(1.0, 0.0)]
    got = q.copy()
    foresight._raise(got, horizon)
    assert got.tobytes() == (q**horizon).tobytes()


def test_a_weight_is_the_product_of_beliefs_and_priors_per_world() -> None:
    """Each joint type's weight broadcasts to the product, from 1, of the decider's
    belief (or the trait's prior) about each trait, in the traits' order."""
    m = _model(R=300)
    st = m.world
    seen = 0
    for decider in st.scenario.actors:
        if not decider.rules_of("foresight"):
            continue
        for responder in foresight.responders(st, decider):
            rows = [
                st.posterior.get((decider.id, t.id), np.repeat(t.prior[:, None], st.R, axis=1))
                for t in responder.traits
            ]
            weighted = foresight._type_weights(st, decider, responder)
            assert len(weighted) == int(np.prod([len(t.types) for t in responder.traits]))
            for (values, weight), combo in zip(
                weighted, np.ndindex(*(len(t.types) for t in responder.traits)), strict=True
            ):
                want = np.ones(st.R)
                for k, row in zip(combo, rows, strict=True):
                    want = want * row[k]
                got = np.broadcast_to(weight, (st.R,))
                assert got.tobytes() == want.tobytes()
                assert values == {
                    t.id: t.values[k] for t, k in zip(responder.traits, combo, strict=True)
                }
                seen += 1
    assert seen >= 6


def test_the_worlds_keep_the_variables_and_parameters_foresight_names() -> None:
    """Each decider's restricted state keeps what its values, the responses' rules and
    the effects of every action of the decider and the responders name, and every
    variable those actions write; the rest of the state variables and parameters
    are left out."""
    st = _model().world
    where = np.arange(0, st.R, 2)
    for decider in (a for a in st.scenario.actors if a.rules_of("foresight")):
        names = foresight._foreseen_names(st, decider)
        sub = foresight._Worlds.of(st, where, names)
        assert sub.values.keys() == st.values.keys() & names
        assert sub.params.keys() == st.params.keys() & names
        assert {t.of.names for t in decider.values} and all(
            n in names for t in decider.values for n in t.of.names
        )
        movers = [decider]
        for b in foresight.responders(st, decider):
            movers.append(b.actor)
            assert all(r.reads <= names for r in b.responses)
        effects = [e for m in movers for a in m.actions for e in a.effects]
        assert {e.target for e in effects} <= sub.values.keys()
        assert all(e.expr.names <= names for e in effects)
        assert len(sub.values) < len(st.values)  # the default scenario leaves some out


def _plain_p_h(allowed, factors, prefs, horizon: int, R: int) -> np.ndarray:
    """``1 - (1 - p) ** H`` of the daily probability from its parts, written plainly."""
    miss = np.ones(R)
    for when, keep in factors:
        miss = miss * np.where(when, keep, 1.0)
    share = np.zeros(R)
    if prefs is not None:
        mine, rival, beta = prefs
        u = np.zeros(R)
        for sign, group in ((1, mine), (-1, rival)):
            for on, utility in group:
                part = np.where(on, utility, 0.0)
                u = u + part if sign > 0 else u - part
        active = np.logical_or.reduce([on for on, _ in mine])
        with np.errstate(over="ignore"):
            share = np.where(active, 1.0 / (1.0 + np.exp(-beta * u)), 0.0)
    p = 1.0 - miss * (1.0 - share)
    if allowed is not None:
        p = np.where(allowed, p, 0.0)
    return 1.0 - (1.0 - p) ** horizon


@pytest.mark.parametrize("horizon", [1, 2, 3, 14])
@pytest.mark.parametrize("once", [False, True])
def test_the_chance_by_cases_is_the_chance_world_by_world(horizon: int, once: bool) -> None:
    """Where each trigger's ``1 - p``, each preference's utility and the rationality are
    the same in every world, ``P_H`` read from the table of cases equals the power
    taken world by world, bit for bit; where one differs between worlds (or is
    nan), there is no table."""
    R = 5000
    rng = np.random.default_rng(horizon)
    allowed = rng.random(R) < 0.7 if once else None
    masks = [rng.random(R) < f for f in (0.5, 0.2, 0.9)]
    masks.append(np.broadcast_to(np.True_, (R,)))  # a condition that reads no world
    keeps = [np.float64(0.7), np.full(R, 0.97), 0.0, np.float64(1 - 1e-9)]
    on = [rng.random(R) < f for f in (0.4, 0.6)]
    beta = np.broadcast_to(np.float64(1.5), (R,))
    preferences = [
        None,
        ([(on[0], np.full(R, -3.0))], [], beta),
        ([(on[0], np.full(R, 2.0)), (on[1], np.full(R, 0.5))], [(masks[0], np.full(R, 1.0))], 3.0),
    ]
    tables: dict = {}
    for prefs in preferences:
        for n in range(0 if prefs else 1, len(masks) + 1):
            factors = list(zip(masks[:n], keeps[:n], strict=True))
            got = foresight._by_table((allowed, factors, prefs), horizon, R, tables)
            assert got is not None
            want = _plain_p_h(allowed, factors, prefs, horizon, R)
            assert got.tobytes() == want.tobytes()
            again = foresight._by_table((allowed, factors, prefs), horizon, R, tables)
            assert again is not None and again.tobytes() == got.tobytes()  # the kept table
    varying = np.linspace(0.1, 0.9, R)
    assert foresight._by_table((allowed, [(masks[0], varying)], None), horizon, R, tables) is None
    with_nan = np.full(R, 0.5)
    with_nan[7] = np.nan
    assert foresight._by_table((allowed, [(masks[0], with_nan)], None), horizon, R, tables) is None
    mixed = ([(on[0], varying)], [], 1.0)
    assert foresight._by_table((allowed, [], mixed), horizon, R, tables) is None
    many = [(masks[0], np.float64(0.5))] * (foresight._TABLE_BITS + 1)
    assert foresight._by_table((allowed, many, None), horizon, R, tables) is None
