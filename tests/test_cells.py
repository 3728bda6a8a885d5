"""Cells of many rows at once (sim.tables: float_cells, int_cells, joined_rows): the bytes
of ``repr``, ``str`` and a plain join, whatever the values; the float cells both by numpy's
steps and by the compiled loop of sim.results.compiled_cells."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.tables import cell_table, float_cells, int_cells, joined_rows, looked_up


def _compiled(values):
    """The compiled loop's cells (the test is skipped where numba cannot give them)."""
    pytest.importorskip("numba")
    from sim.engine import kernels
    from sim.results import compiled_cells

    if not kernels.usable():
        pytest.skip("the kernels' exp and pow do not match numpy's here")
    got = compiled_cells.float_cells(np.asarray(values, dtype=np.float64))
    assert got is not None
    return got


FLOAT_CELLS = pytest.mark.parametrize(
    "made", [float_cells, _compiled], ids=["numpy steps", "compiled loop"]
)
"""Each float-cell test runs on both ways of making them."""


def _texts(cells) -> list[str]:
    return [
        bytes(row[:n]).replace(b"\0", b"").decode("utf-8")
        for row, n in zip(cells.chars, cells.lengths, strict=True)
    ]


_RNG = np.random.default_rng(20)
_TRICKY = [
    0.0, -0.0, 1.0, -3.0, 0.1, 0.2, 0.3, 1 / 3, 2 / 3, 100.0, 123456.0, 0.5, 0.25,
    1e-4, 9.999999999999999e-05, 0.0001234, 1e-5, 2.5e-7, 1e15, 1e16, 9999999999999998.0,
    999999999999999.9, 2.0**53, 2.0**53 + 2, 9007199254740993.0, 1e22, 1e23, 1e100,
    1.5e-300, 5e-324, 1.5e-323, 2.2250738585072014e-308, 2.225073858507201e-308,
    1.7976931348623157e308, float("inf"), float("-inf"), float("nan"), -1e-5, -123.456,
]  # fmt: skip


@pytest.mark.parametrize(
    "values",
    [
        np.array(_TRICKY),
        _RNG.uniform(size=20_000),
        _RNG.uniform(0.001, 0.05, size=5_000),
        _RNG.lognormal(0, 10, size=20_000),
        _RNG.integers(0, 2**63, size=20_000, dtype=np.int64).view(np.float64),  # any bits
        np.ldexp(1.0, _RNG.integers(-1074, 1024, size=5_000)),  # powers of two
        np.round(_RNG.uniform(-100, 100, size=5_000), 2),
        _RNG.integers(-(10**6), 10**6, size=5_000).astype(float),
        np.array([]),
    ],
)
@FLOAT_CELLS
def test_floats_are_written_as_repr_writes_them(values, made):
    assert _texts(made(values)) == list(map(repr, values.tolist()))
    assert joined_rows([made(values)]) == "".join(f"{v!r}\n" for v in values.tolist()).encode()


@FLOAT_CELLS
@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=50))
def test_any_floats_as_repr(values, made):
    assert _texts(made(np.array(values))) == list(map(repr, values))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=50))
def test_whole_numbers_as_str(values):
    assert _texts(int_cells(np.array(values, dtype=np.int64))) == list(map(str, values))


def _every_layout() -> np.ndarray:
    """Floats of every layout float_cells makes itself: each decimal exponent of the first
    digit from -4 to 15, with 1 to 17 digits, both signs, and whole numbers."""
    out = []
    for point in range(-4, 16):
        for digits in range(1, 18):
            for lead in (1, 4, 9):
                text = str(lead) + "".join(str((point + i) % 10) for i in range(1, digits))
                out.append(
                    float(f"{text[0]}.{text[1:]}e{point}")
                    if digits > 1
                    else float(f"{lead}e{point}")
                )
    values = np.array(out)
    return np.concatenate([values, -values, np.nextafter(values, 0), np.floor(values[values >= 1])])


@pytest.mark.parametrize(
    "values",
    [
        _every_layout(),
        np.array([-123.5, -0.0001, -9999.25, 123456789012345.6, -999999999999999.9, 5e-324]),
        np.array([1.5, 1e-300, 2.5, float("nan"), -1e300]),  # repr's own cells among ours
    ],
)
@FLOAT_CELLS
def test_every_layout_is_written_as_repr_writes_it(values, made):
    assert _texts(made(values)) == list(map(repr, values.tolist()))


@pytest.mark.parametrize(
    "values",
    [
        [0, -1, 9, -9, 10, -10, 999, -999, 1000, -1000, 9999, -9999, 10_000, -10_000],
        [-(2**63), 2**63 - 1, 0],
        [5, 17, 3],  # one group of four, no sign
    ],
)
def test_whole_numbers_of_every_width_as_str(values):
    assert _texts(int_cells(np.array(values, dtype=np.int64))) == list(map(str, values))


def test_a_field_of_rows_is_read_where_it_is():
    rows = np.zeros(4, dtype=[("a", np.int16), ("x", np.float64), ("k", np.int64)])
    rows["x"] = [0.1, -2.5, 1e-9, 7.0]
    rows["k"] = [-1, 0, 10**18, 42]
    assert _texts(float_cells(rows["x"])) == ["0.1", "-2.5", "1e-09", "7.0"]
    assert _texts(int_cells(rows["k"])) == ["-1", "0", "1000000000000000000", "42"]


def test_rows_are_joined_with_commas_and_line_ends():
    words = cell_table(["", "a", '"quoted, with a comma"', "naïve"])
    cols = [
        int_cells(np.array([1, 22, 333, 4444])),
        looked_up(words, np.array([3, 0, 2, 1])),
        float_cells(np.array([0.5, -0.0, 1e20, 12.25])),
    ]
    want = '1,naïve,0.5\n22,,-0.0\n333,"quoted, with a comma",1e+20\n4444,a,12.25\n'
    assert joined_rows(cols).decode("utf-8") == want
    # Cells aligned on their points (NULs before and after them) are joined the same way.
    cols = [float_cells(np.array([-3.25, 1234.5, 0.001])), int_cells(np.array([7, -70, 700]))]
    assert joined_rows(cols) == b"-3.25,7\n1234.5,-70\n0.001,700\n"
    assert joined_rows([]) == b""


def test_a_cell_with_a_nul_is_refused():
    """A NUL is what the rows' padding is made of, so no cell may hold one."""
    with pytest.raises(ValueError, match="NUL"):
        cell_table(["a\0b"])


def test_runs_csv_is_recorded_as_it_was_written(tmp_path):
    """The manifest's record of runs.csv is made while it is written, and is the digest
    of the file read back; a file changed after it was written is read again."""
    import json

    from sim.engine.core import Engine
    from sim.results.aggregate import summarise_chunk
    from sim.results.writer import _WRITTEN, RunsWriter, write_manifest
    from sim.scenario import load_scenario
    from sim.tables import digest

    sc = load_scenario("scenarios/allied_resolve_2022.yaml")
    chunks = [
        summarise_chunk(Engine(sc, 300, np.random.default_rng(c)).run(), 0, c, 300 * c)
        for c in range(3)
    ]
    for changed in (False, True):
        folder = tmp_path / f"f{changed}"
        folder.mkdir()
        writer = RunsWriter(folder / "runs.csv", sc)
        for cs in chunks:
            writer.write(cs, 7)
        writer.close()
        assert str(folder / "runs.csv") in _WRITTEN
        if changed:
            with (folder / "runs.csv").open("ab") as f:
                f.write(b"0,0,0,0,7,x,y\n")
        write_manifest(folder, {})
        recorded = json.loads((folder / "manifest.json").read_text())["tables"]["runs.csv"]
        assert recorded == digest(folder / "runs.csv")
        assert recorded["rows"] == 900 + changed


def test_runs_csv_takes_the_compiled_loop_only_where_the_kernels_run(monkeypatch):
    """A chunk's rows come from the compiled loop in a process that runs the scenario's
    kernels, and from numpy's steps in any other (which so never imports numba for them);
    where the loop cannot be had there, the float cells are still compiled; the lines are
    the same bytes every way."""
    pytest.importorskip("numba")
    from sim.engine import kernels
    from sim.engine.core import Engine
    from sim.results import compiled_cells
    from sim.results.aggregate import summarise_chunk
    from sim.results.writer import RunsFormat
    from sim.scenario import load_scenario

    sc = load_scenario("scenarios/allied_resolve_2022.yaml")
    rows = summarise_chunk(Engine(sc, 400, np.random.default_rng(5)).run(), 0, 0, 0).rows
    real_rows, real_floats = compiled_cells.rows_text, compiled_cells.float_cells
    asked: list[str] = []

    def rows_spy(columns):
        asked.append("rows")
        return real_rows(columns) if "no rows" not in asked else None

    def floats_spy(values):
        asked.append("floats")
        return real_floats(values)

    monkeypatch.setattr(compiled_cells, "rows_text", rows_spy)
    monkeypatch.setattr(compiled_cells, "float_cells", floats_spy)
    lines = {}
    for on in (False, True):
        monkeypatch.setattr(kernels, "running", lambda scenario, on=on: on and scenario is sc)
        lines[on] = RunsFormat(sc).lines(rows, 0, 0, 1)
        assert asked == (["rows"] if on else [])
    asked.append("no rows")
    assert RunsFormat(sc).lines(rows, 0, 0, 1) == lines[False] == lines[True]
    assert asked == ["rows", "no rows", "rows", "floats"]


def _columns(draw_ints, draw_floats, codes, width):
    """Columns of every kind, for the compiled loop against numpy's steps."""
    from sim.tables import Column

    table = cell_table([f"t{i}" * (i % 4) for i in range(width)])
    return [
        Column("int", np.asarray(draw_ints, dtype=np.int64)),
        Column("float", np.asarray(draw_floats, dtype=np.float64)),
        Column("looked up", np.asarray(codes, dtype=np.int64) % width, table),
        Column("float", np.asarray(draw_floats, dtype=np.float64)[::-1].copy()),
    ]


@settings(max_examples=200, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.integers(-(2**63), 2**63 - 1),
            st.floats(allow_nan=True, allow_infinity=True),
            st.integers(0, 10**6),
        ),
        min_size=1,
        max_size=40,
    ),
    width=st.integers(1, 9),
)
def test_compiled_rows_are_the_joined_cells(data, width):
    """The compiled loop writes every row as the cells joined would, whatever the numbers
    (any whole number, any float: exponents, zeros, infinities and NaNs by repr)."""
    pytest.importorskip("numba")
    from sim.engine import kernels
    from sim.results import compiled_cells
    from sim.tables import column_cells

    if not kernels.usable():
        pytest.skip("the kernels' exp and pow do not match numpy's here")
    ints, floats, codes = zip(*data, strict=True)
    columns = _columns(ints, floats, codes, width)
    assert compiled_cells.rows_text(columns) == joined_rows(column_cells(columns))


def test_compiled_rows_on_real_floats_and_codes_out_of_their_table():
    """Many rows of the floats of real parameters (some below 1e-4, written with an
    exponent) give the joined cells' bytes; a code outside its table is not read: the
    loop gives none and the caller makes the cells."""
    pytest.importorskip("numba")
    from sim.engine import kernels
    from sim.results import compiled_cells
    from sim.tables import Column, column_cells

    if not kernels.usable():
        pytest.skip("the kernels' exp and pow do not match numpy's here")
    rng = np.random.default_rng(8)
    n = 5_000
    floats = np.concatenate([rng.uniform(size=n // 2), rng.lognormal(-9, 3, size=n - n // 2)])
    columns = _columns(rng.integers(-(10**9), 10**9, size=n), floats, rng.integers(0, 50, n), 7)
    assert compiled_cells.rows_text(columns) == joined_rows(column_cells(columns))
    table = cell_table(["a", "b"])
    for bad in (-1, 2):
        assert compiled_cells.rows_text([Column("looked up", np.array([0, bad]), table)]) is None
