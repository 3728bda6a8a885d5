"""Chunk planning and seeds: fixed before any work is handed out."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.batch.plan import ScenarioSource, plan_point
from sim.batch.seeding import CHUNK, chunk_seed, chunk_sizes
from sim.scenario.resolved import resolved_text

SOURCE = ScenarioSource("demo", "demo.yaml", (), "0" * 64)


def test_chunk_size_is_10000():
    assert CHUNK == 10_000


@pytest.mark.parametrize(
    ("runs", "sizes"),
    [(1, [1]), (10_000, [10_000]), (10_001, [10_000, 1]), (25_000, [10_000, 10_000, 5000])],
)
def test_chunk_sizes(runs, sizes):
    assert chunk_sizes(runs) == sizes


def test_chunk_sizes_of_another_chunk_size():
    assert chunk_sizes(12_000, 5000) == [5000, 5000, 2000]


@given(st.integers(1, 100_000), st.integers(1, 7000))
def test_chunks_cover_every_world_once(runs, size):
    sizes = chunk_sizes(runs, size)
    assert sum(sizes) == runs
    assert all(s == size for s in sizes[:-1])
    assert 0 < sizes[-1] <= size


def test_zero_runs_rejected():
    with pytest.raises(ValueError, match="at least 1"):
        chunk_sizes(0)


def test_chunk_seed_is_keyed_by_point_and_chunk():
    seq = chunk_seed(7, 2, 3)
    assert seq.entropy == 7
    assert seq.spawn_key == (2, 3)
    draws = {
        (p, c): np.random.default_rng(chunk_seed(7, p, c)).random()
        for p in range(4)
        for c in range(4)
    }
    assert len(set(draws.values())) == len(draws)
    again = np.random.default_rng(chunk_seed(7, 2, 3)).random()
    assert again == draws[(2, 3)]


def test_plan_is_fixed_before_work_and_independent_of_workers():
    """The plan has no notion of workers: every task carries its own seed."""
    plan = plan_point(SOURCE, 4, 24_000, 99, first_world=48_000)
    assert [t.chunk for t in plan] == [0, 1, 2]
    assert [t.n for t in plan] == [10_000, 10_000, 4000]
    assert [t.first_world for t in plan] == [48_000, 58_000, 68_000]
    assert all(t.point == 4 and t.root_seed == 99 for t in plan)
    assert [t.seed_sequence.spawn_key for t in plan] == [(4, 0), (4, 1), (4, 2)]
    # Planning again (as any executor would) yields equal tasks.
    assert plan == plan_point(SOURCE, 4, 24_000, 99, first_world=48_000)


def test_task_description_names_scenario_point_chunk_and_seed():
    task = plan_point(SOURCE, 1, 10, 42)[0]
    text = task.describe()
    for part in ("'demo'", "design point 1", "chunk 0", "seed 42", "spawn_key=(1, 0)"):
        assert part in text


def test_resolved_text_drops_absent_keys():
    assert resolved_text({"b": None, "a": [1, {"x": None, "y": 2}]}) == '{"a":[1,{"y":2}]}'


def test_each_task_knows_about_how_many_worlds_its_process_has_ahead():
    """The estimate the compiled path's switch reads: the scenario's worlds from a task
    on, shared among the workers; a second scenario's tasks count apart. Nothing else
    of a task changes, so neither does any number."""
    from sim.batch.runner import with_ahead

    other = ScenarioSource("other", "other.yaml", (), "1" * 64)
    tasks = plan_point(SOURCE, 0, 12_000, 7, chunk=5000) + plan_point(other, 1, 5_000, 7)
    assert [t.ahead for t in tasks] == [0, 0, 0, 0]
    assert [t.ahead for t in with_ahead(tasks, 1)] == [12_000, 7_000, 2_000, 5_000]
    assert [t.ahead for t in with_ahead(tasks, 2)] == [6_000, 3_500, 1_000, 2_500]
    again = [dataclasses.replace(t, ahead=0) for t in with_ahead(tasks, 2)]
    assert again == tasks
