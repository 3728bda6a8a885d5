"""Drivers: each outcome and key flag by bin of each parameter, against known answers.

The toy scenario's outcome ``high`` is ``p > 0.5`` on a uniform ``p``, and
its flag ``big_n`` is ``n >= 2`` on a whole number drawn from 0 to 3: so
``p`` (``n``) moves its output from 0 in the bottom bin to 1 in the top
one, and every other parameter moves nothing, its swing's interval holding
0 (seed 2; each such interval misses 0 one time in twenty by chance, so a
different seed may flag one of the six).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import sim
from sim.errors import ResultsError
from sim.results.drivers import (
    COLUMNS,
    DriverCounts,
    Output,
    Param,
    _quantile_index,
    drivers,
    parameter_name,
    quantiles,
)
from sim.results.reader import load_results
from sim.tables import write_table

RUNS = 4000
SEED = 2

TOY = """
scenario: {name: toy, title: Toy, start: 2022-01-01, horizon_days: 5, seed: 1}
ladder:
  calm: {name: Calm, mid_level: 1}
  war: {name: War, mid_level: 5}
outcomes:
  quiet: {name: Quiet}
  high: {name: High draw, when: p > 0.5}
flags:
  big_n: {name: Big n, when: n >= 2}
parameters:
  p: {dist: uniform, low: 0.0, high: 1.0, description: "The one that matters.",
      cites: [kremlin-appetite-decides]}
  q: {dist: uniform, low: 0.0, high: 1.0, cites: [kremlin-appetite-decides]}
  k: {dist: choice, options: {left: 0.5, right: 0.5}, cites: [kremlin-appetite-decides]}
  n: {dist: uniform, low: 0, high: 3, integer: true, cites: [kremlin-appetite-decides]}
  f: {dist: fixed, value: 2, cites: [kremlin-appetite-decides]}
actors:
  a:
    name: A
    actions: {wait: {default: true}, parade: {once: true}}
    rules:
      never: {kind: trigger, action: parade, when: day < 0, cites: [kremlin-appetite-decides]}
"""


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("drivers")
    path = folder / "toy.yaml"
    path.write_text(TOY, encoding="utf-8")
    result = sim.run_batch(path, runs=RUNS, seed=SEED, out=folder / "batch", progress=False)
    return result, path


def _of(table: pd.DataFrame, output: str, parameter: str) -> pd.DataFrame:
    return table[(table["output"] == output) & (table["parameter"] == parameter)]


def test_the_parameter_that_decides_swings_from_0_to_1(toy):
    result, _ = toy
    table = result.drivers
    assert list(table.columns) == list(COLUMNS)
    p = _of(table, "high", "p")
    assert list(p["binning"]) == ["quantile"] * 5 and list(p["worlds"]) == [RUNS // 5] * 5
    assert p["share"].iloc[0] == 0 and p["share"].iloc[-1] == 1
    assert p["swing"].iloc[0] == 1 and p["swing_lo"].iloc[0] > 0.99
    assert set(p["rank"]) == {1}
    assert p["parameter_name"].iloc[0] == "The one that matters"
    n = _of(table, "big_n", "n")
    assert list(n["binning"]) == ["value"] * 4 and list(n["bin_label"]) == ["0", "1", "2", "3"]
    assert list(n["share"]) == [0, 0, 1, 1] and set(n["rank"]) == {1}


@pytest.mark.parametrize(("output", "others"), [("high", "qkn"), ("big_n", "qkp")])
def test_parameters_that_do_not_matter_have_swings_around_0(toy, output, others):
    table = toy[0].drivers
    for pid in others:
        rows = _of(table, output, pid)
        lo, hi = rows["swing_lo"].iloc[0], rows["swing_hi"].iloc[0]
        assert lo < 0 < hi, (output, pid, lo, hi)
        assert abs(rows["swing"].iloc[0]) < 0.1
        assert set(rows["rank"]) <= {2, 3, 4}


def test_a_fixed_parameter_is_not_drawn(toy):
    f = _of(toy[0].drivers, "high", "f")
    assert len(f) == 1
    row = f.iloc[0]
    assert row["binning"] == "not drawn" and row["bin_label"] == "not drawn (fixed at 2)"
    assert math.isnan(row["swing"]) and pd.isna(row["rank"]) and pd.isna(row["bin"])
    assert row["worlds"] == RUNS


def test_bin_shares_are_direct_counts_of_runs(toy):
    result, _ = toy
    runs, table = result.runs, result.drivers
    for pid in ("p", "q"):
        rows = _of(table, "high", pid)
        x = runs[f"param_{pid}"].to_numpy()
        # Quintiles of the draws (the table writes them to 10 digits).
        edges = np.quantile(x, [0.2, 0.4, 0.6, 0.8])
        assert list(rows["lo"])[1:] == pytest.approx(edges, rel=1e-9)
        index = np.searchsorted(edges, x, side="right")
        for b, row in enumerate(rows.itertuples()):
            inside = index == b
            assert row.lo == pytest.approx(x[inside].min() if b == 0 else edges[b - 1])
            assert row.hi == pytest.approx(x[inside].max() if b == 4 else edges[b])
            assert row.worlds == inside.sum()
            assert row.count == (runs["outcome"][inside] == "high").sum()
            assert row.share == pytest.approx(row.count / row.worlds)
            assert row.share_lo <= row.share <= row.share_hi
    k = _of(table, "big_n", "k").set_index("bin_label")
    for option in ("left", "right"):
        chosen = runs["param_k"] == option
        assert k.loc[option, "worlds"] == chosen.sum()
        assert k.loc[option, "count"] == runs["flag_big_n"][chosen].sum()
    # A choice's swing is its largest option share minus its smallest.
    assert k["swing"].iloc[0] == pytest.approx(k["share"].max() - k["share"].min())


def test_rebuilt_from_runs_equals_the_written_table(toy, tmp_path):
    result, _ = toy
    write_table(tmp_path / "again.csv", drivers(result))
    assert (tmp_path / "again.csv").read_bytes() == (result.folder / "drivers.csv").read_bytes()


def test_recorded_in_the_manifest_and_checked(toy, tmp_path):
    result, _ = toy
    record = result.manifest["tables"]["drivers.csv"]
    assert record["rows"] == len(result.drivers)
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in result.folder.iterdir():
        if f.is_file():
            (copy / f.name).write_bytes(f.read_bytes())
    text = (copy / "drivers.csv").read_text(encoding="utf-8")
    (copy / "drivers.csv").write_text(text.replace(",800,0,", ",800,1,", 1), encoding="utf-8")
    with pytest.raises(ResultsError, match=r"drivers\.csv: altered"):
        load_results(copy)


def test_without_runs_table_the_same_drivers(toy, tmp_path):
    result, path = toy
    other = sim.run_batch(
        path, runs=RUNS, seed=SEED, out=tmp_path / "b", runs_table=False, progress=False
    )
    assert not other.has_runs
    assert (other.folder / "drivers.csv").read_bytes() == (
        result.folder / "drivers.csv"
    ).read_bytes()


def test_pinned_parameter_is_not_drawn(toy, tmp_path):
    _, path = toy
    pinned = sim.run_batch(
        path, runs=500, seed=1, out=tmp_path / "b", pinned={"p": 0.75}, progress=False
    )
    p = _of(pinned.drivers, "high", "p")
    assert list(p["bin_label"]) == ["not drawn (pinned at 0.75)"]
    assert p["share"].iloc[0] == 1


def test_counting_chunk_by_chunk_equals_counting_at_once():
    rng = np.random.default_rng(5)
    n = 3000
    x = rng.uniform(size=n)
    m = rng.integers(0, 3, size=n)
    m[2500] = 7  # a value first seen after the worlds the bins are fixed from
    w = np.asarray(rng.choice(["a", "b"], size=n), dtype=object)
    hits = np.stack([x > 0.3, m == 1])
    outputs = [Output("o", "O", "outcome"), Output("f", "F", "flag")]
    params = [Param("x", "X"), Param("m", "M"), Param("w", "W", ("b", "a"))]
    at_once = DriverCounts(outputs, params, edge_worlds=1000)
    at_once.add(hits, {"x": x, "m": m, "w": w})
    chunked = DriverCounts(outputs, params, edge_worlds=1000)
    for s in range(0, n, 700):
        part = slice(s, s + 700)
        chunked.add(hits[:, part], {"x": x[part], "m": m[part], "w": w[part]})
    pd.testing.assert_frame_equal(at_once.table(), chunked.table())
    table = at_once.table()
    mrows = table[(table["output"] == "f") & (table["parameter"] == "m")]
    assert list(mrows["bin_label"]) == ["0", "1", "2", "7"] and mrows["worlds"].sum() == n
    # Edges from the first 1,000 worlds only; every world is counted.
    xrows = table[(table["output"] == "o") & (table["parameter"] == "x")]
    assert xrows["worlds"].sum() == n
    assert list(xrows["lo"])[1:] == pytest.approx(np.quantile(x[:1000], [0.2, 0.4, 0.6, 0.8]))
    # Options in the order given, not alphabetical.
    assert list(table[table["parameter"] == "w"]["bin_label"])[:2] == ["b", "a"]


def test_words_are_counted_as_numpy_strings_are():
    """Words met after the bins are fixed get bins in sorted order, whether they come as
    Python strings (an enum's options) or as a numpy string array."""
    rng = np.random.default_rng(3)
    n = 2000
    words = rng.choice(["kilo", "alfa", "zulu", "echo"], size=n)
    words[:500] = rng.choice(["kilo", "alfa"], size=500)  # the bins see two words only
    hits = np.stack([rng.uniform(size=n) > 0.5])
    outputs = [Output("o", "O", "outcome")]
    tables = []
    for values in (np.asarray(words, dtype=object), words.astype(str)):
        dc = DriverCounts(outputs, [Param("w", "W")], edge_worlds=500)
        for s in range(0, n, 500):
            dc.add(hits[:, s : s + 500], {"w": values[s : s + 500]})
        tables.append(dc.table())
    pd.testing.assert_frame_equal(*tables)
    assert list(tables[0]["bin_label"]) == ["alfa", "kilo", "echo", "zulu"]
    assert tables[0]["worlds"].sum() == n


_RNG = np.random.default_rng(11)


@pytest.mark.parametrize(
    "sample",
    [
        _RNG.uniform(size=10_000),
        _RNG.integers(0, 30_000, size=10_000),
        _RNG.normal(size=11),
        np.array([1.0] * 5 + [2.0] * 7),  # ties at the edges
        np.arange(11),
        np.array([2**62, 2**62 + 1, -(2**62)] * 4),  # huge whole numbers
        np.array([0.0, -0.0, 1e308, -1e308, 5e-324, 3.0, 2.0, 1.0, 0.5, 0.25, 0.125]),
        np.random.default_rng(0).choice([0.0, -0.0, 1.0, -1.0], 340),  # zeros: sort != partition
        np.array([np.inf, *range(10)], dtype=float),
        np.array([-np.inf, np.inf] * 6),
        np.array([np.nan, *range(10)], dtype=float),
        _RNG.uniform(size=1001).astype(np.float32),
    ],
)
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf - inf, as numpy's
def test_quantile_edges_are_numpys_to_the_bit(sample):
    for qs in (np.arange(1, 5) / 5, np.arange(1, 3) / 3, np.array([0.0, 1.0]), np.arange(10) / 9):
        want, got = np.quantile(sample, qs), quantiles(sample.copy(), qs)
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes(), (qs, want, got)


def test_quantile_edges_of_many_samples_with_ties_are_numpys_to_the_bit():
    """Many ties (whole numbers, few values, both zeros) and sizes up to 100,000."""
    rng = np.random.default_rng(5)
    qs = np.arange(1, 10) / 10
    for size in [*rng.integers(2, 3000, 150).tolist(), 10_000, 100_000]:
        for sample in (
            rng.choice([0.0, -0.0, 0.5, -2.0, 3.0], size),
            rng.integers(-5, 6, size),
            rng.normal(size=size).round(1),
        ):
            want, got = np.quantile(sample, qs), quantiles(sample.copy(), qs)
            assert got.tobytes() == want.tobytes(), (size, want, got)


@pytest.mark.parametrize(
    ("pid", "description", "name"),
    [
        (
            "kremlin_appetite",
            "How keen the Kremlin is on war: the weight of its aims.",
            "How keen the Kremlin is on war",
        ),
        ("russian_troops", "Russian troops brought in. Experts put it near 10,000.", None),
        ("us_resolve", "", "Us resolve"),
        ("x", "Minsk's prior (modellers' assumption, mean 0.57).", "Minsk's prior"),
    ],
)
def test_parameter_name(pid, description, name):
    assert parameter_name(pid, description) == (name or "Russian troops brought in")


# -- charts ---------------------------------------------------------------------------
def _old_folder(result, tmp_path, runs: bool = True):
    """A copy of the batch folder as written before batches had drivers.csv."""
    import json

    copy = tmp_path / "old"
    copy.mkdir(parents=True)
    for f in result.folder.iterdir():
        if f.is_file() and f.name != "drivers.csv" and (runs or f.name != "runs.csv"):
            (copy / f.name).write_bytes(f.read_bytes())
    m = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    del m["tables"]["drivers.csv"]
    if not runs:
        del m["tables"]["runs.csv"]
    (copy / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    return copy


def test_tornado_table_shows_bottom_and_top_bins(toy):
    from sim.plots.drivers import dependence_table, tornado_table

    table = toy[0].drivers
    t = tornado_table(table, top=2)
    assert list(dict.fromkeys(t["key"])) == ["outcome:quiet", "outcome:high", "flag:big_n"]
    high = t[t["key"] == "outcome:high"].set_index("parameter")
    assert list(high.index) == ["p", high.index[1]] and high.loc["p", "rank"] == 1
    assert high.loc["p", ["low", "high", "swing"]].tolist() == [0, 1, 1]
    assert high.loc["p", "overall"] == pytest.approx((toy[0].runs["outcome"] == "high").mean())
    d = dependence_table(table, ["big_n"], top=1)
    assert list(d["bin_label"]) == ["0", "1", "2", "3"] and set(d["parameter"]) == {"n"}
    with pytest.raises(ResultsError, match="no output 'nope'"):
        tornado_table(table, ["nope"])


def test_rare_and_twin_outputs_are_left_out_of_the_charts():
    from sim.plots.drivers import _left_out, main_outputs, same_counts

    rows = []
    for kind, out, counts in (
        ("outcome", "often", (100, 200)),
        ("outcome", "rare", (2, 3)),
        ("outcome", "always", (499, 499)),
        ("flag", "often", (100, 200)),  # raised in the worlds of the outcome "often"
        ("flag", "other", (200, 100)),
    ):
        for b, count in enumerate(counts):
            rows.append(
                {
                    "kind": kind,
                    "output": out,
                    "output_name": out.title(),
                    "parameter": "x",
                    "bin": b,
                    "count": count,
                    "worlds": 500,
                }
            )
    table = pd.DataFrame(rows)
    assert same_counts(table) == {"flag:often": "outcome:often"}
    assert main_outputs(table) == ["outcome:often", "flag:other"]
    assert main_outputs(table, ["often"]) == ["outcome:often", "flag:often"]
    note = _left_out(table, main_outputs(table))
    assert "Often: the same worlds as Often" in note and "Rare (0.5%)" in note
    # Outputs left out because they were not asked for are not called rare.
    assert "Other" not in _left_out(table, ["outcome:often"])


def test_charts_drawn_for_a_batch_and_for_an_older_folder(toy, tmp_path):
    from sim.plots import draw_plots
    from sim.plots.drivers import STEMS, draw_drivers_plots

    result, _ = toy
    written = {p.name for p in draw_plots(result.folder)}
    for stem in STEMS:
        assert {f"{stem}.png", f"{stem}.svg"} <= written
    old = _old_folder(result, tmp_path)
    assert not load_results(old).has_drivers
    paths = draw_drivers_plots(old, old / "plots", ("png",), 40)
    assert [p.name for p in paths] == [f"{s}.png" for s in STEMS]
    bare = _old_folder(result, tmp_path / "bare", runs=False)
    assert draw_drivers_plots(bare, bare / "plots", ("png",), 40) == []


def test_by_default_the_charts_keep_outcomes_first_then_the_flags_that_swing_most():
    from sim.plots.drivers import MAX_OUTPUTS, _left_out, main_outputs

    rows = []
    outputs = [("outcome", f"o{i}", 0.1 * i) for i in range(3)]
    outputs += [("flag", f"f{i}", 0.05 * (i + 1) + 0.01) for i in range(6)]  # no twins
    for kind, out, swing in outputs:
        for b, count in enumerate((100, 100 + round(500 * swing))):
            rows.append(
                {
                    "kind": kind,
                    "output": out,
                    "output_name": out.upper(),
                    "parameter": "x",
                    "bin": b,
                    "count": count,
                    "worlds": 1000,
                    "swing": swing,
                }
            )
    table = pd.DataFrame(rows)
    drawn = main_outputs(table)
    assert len(drawn) == MAX_OUTPUTS == 6
    # the three outcomes whatever their swing, then the flags with the largest swings,
    # in the table's order
    assert drawn == ["outcome:o0", "outcome:o1", "outcome:o2", "flag:f3", "flag:f4", "flag:f5"]
    note = _left_out(table, drawn)
    assert "F0, F1, F2" in note
    assert "F0" not in _left_out(table, ["outcome:o0"])  # not asked for is not "left out"


@pytest.mark.parametrize("n_out", [0, 3, 70])
def test_counts_by_bin_are_each_worlds_hits(n_out):
    """Every (output, parameter, bin) count is the worlds of that bin that hit the output,
    however many outputs (more than fit in the bits of a number too), chunk by chunk."""
    rng = np.random.default_rng(n_out)
    n = 4000
    x = rng.uniform(size=n)
    m = rng.integers(0, 4, size=n)
    w = np.asarray(rng.choice(["a", "b", "c"], size=n), dtype=object)
    hits = rng.uniform(size=(n_out, n)) < rng.uniform(size=(n_out, 1))
    outputs = [Output(f"o{j}", f"O{j}", "flag") for j in range(n_out)]
    params = [Param("x", "X"), Param("m", "M"), Param("w", "W", ("c", "a", "b"))]
    dc = DriverCounts(outputs, params, edge_worlds=1000)
    for s in range(0, n, 600):
        part = slice(s, s + 600)
        dc.add(hits[:, part], {"x": x[part], "m": m[part], "w": w[part]})
    table = dc.table()
    edges = np.quantile(x[:1000], [0.2, 0.4, 0.6, 0.8])
    bins = {
        "x": (np.searchsorted(edges, x, side="right"), range(5)),
        "m": (m, range(4)),
        "w": (w, ["c", "a", "b"]),
    }
    for j in range(n_out):
        for pid, (of, keys) in bins.items():
            rows = table[(table["output"] == f"o{j}") & (table["parameter"] == pid)]
            assert list(rows["worlds"]) == [int((of == k).sum()) for k in keys]
            assert list(rows["count"]) == [int((hits[j] & (of == k)).sum()) for k in keys]


def test_options_given_by_their_index_count_as_their_words():
    """Once the bins are fixed, an option's index stands for its word (``bins``)."""
    rng = np.random.default_rng(8)
    n = 3000
    options = ("firm", "soft")
    code = rng.integers(0, 2, size=n)
    words = np.asarray(options, dtype=object)[code]
    hits = np.stack([rng.uniform(size=n) < 0.3 + 0.4 * code])
    tables = []
    for by_index in (False, True):
        outputs, params = [Output("o", "O", "outcome")], [Param("w", "W", options)]
        dc = DriverCounts(outputs, params, edge_worlds=1000)
        for s in range(0, n, 500):
            part = slice(s, s + 500)
            if by_index and dc.option_bins("w", options):
                dc.add(hits[:, part], {}, {"w": code[part]})
            else:
                dc.add(hits[:, part], {"w": words[part]})
        assert dc.option_bins("w", options) and not dc.option_bins("w", ("soft", "firm"))
        tables.append(dc.table())
    pd.testing.assert_frame_equal(*tables)
    assert list(tables[1]["count"]) == [int((hits[0] & (code == k)).sum()) for k in (0, 1)]


def test_values_past_the_first_worlds_in_the_chunk_that_fixes_the_bins():
    """The chunk that completes the first worlds may reach past them: its later worlds are
    counted, and values they alone hold get bins of their own, as in any later chunk."""
    rng = np.random.default_rng(9)
    n = 2800
    x = rng.uniform(size=n)
    m = rng.integers(0, 3, size=n)
    m[1200], m[1300] = 9, 8  # past the first 1,000 worlds, in the chunk that fixes the bins
    w = np.asarray(rng.choice(["a", "b"], size=n), dtype=object)
    w[1250] = "c"
    hits = np.stack([x > 0.5, m == 2])
    outputs = [Output("o", "O", "outcome"), Output("f", "F", "flag")]
    params = [Param("x", "X"), Param("m", "M"), Param("w", "W")]
    tables = []
    for step in (700, 1400, n):
        dc = DriverCounts(outputs, params, edge_worlds=1000)
        for s in range(0, n, step):
            part = slice(s, s + step)
            dc.add(hits[:, part], {"x": x[part], "m": m[part], "w": w[part]})
        tables.append(dc.table())
    for table in tables[1:]:
        pd.testing.assert_frame_equal(tables[0], table)
    table = tables[0]
    mrows = table[(table["output"] == "f") & (table["parameter"] == "m")]
    assert list(mrows["bin_label"]) == ["0", "1", "2", "8", "9"]
    assert list(mrows["worlds"]) == [int((m == k).sum()) for k in (0, 1, 2, 8, 9)]
    wrows = table[(table["output"] == "o") & (table["parameter"] == "w")]
    assert list(wrows["bin_label"]) == ["a", "b", "c"]
    xrows = table[(table["output"] == "o") & (table["parameter"] == "x")]
    assert list(xrows["lo"])[1:] == pytest.approx(np.quantile(x[:1000], [0.2, 0.4, 0.6, 0.8]))


def test_every_row_has_the_scalar_intervals_of_its_counts(toy):
    """The table's intervals, computed all at once, are those of sim.stats one at a time:
    each row's share of its bin, and its group's swing between the bins it names."""
    from sim.stats import newcombe_diff, share

    table = drivers(load_results(toy[0].folder))  # full floats, not the file's 10 digits
    swung = 0
    for _, rows in table.groupby(["output", "parameter"], sort=False):
        for r in rows.itertuples():
            s = share(r.count, r.worlds)
            np.testing.assert_array_equal([r.share, r.share_lo, r.share_hi], [s.p, s.lo, s.hi])
        if rows["binning"].iloc[0] == "not drawn":
            continue
        full = rows[rows["worlds"] > 0]
        fractions = (full["count"] / full["worlds"]).to_numpy()
        if rows["binning"].iloc[0] == "option":
            low, top = full.iloc[int(np.argmin(fractions))], full.iloc[int(np.argmax(fractions))]
        else:
            low, top = full.iloc[0], full.iloc[-1]
        want = newcombe_diff(low["count"], low["worlds"], top["count"], top["worlds"])
        got = rows[["swing", "swing_lo", "swing_hi"]].to_numpy()
        np.testing.assert_array_equal(got, np.tile(want, (len(rows), 1)))
        swung += 1
    assert swung >= 8


def test_an_option_no_world_drew_has_no_share():
    from sim.stats import newcombe_diff

    dc = DriverCounts([Output("o", "O", "outcome")], [Param("c", "C", ("a", "b", "never"))])
    dc.add(np.arange(100)[None, :] % 2 == 0, {"c": np.array(["a", "b"] * 50, dtype=object)})
    cols = dc.columns()
    assert cols["worlds"] == [50, 50, 0] and cols["count"] == [50, 0, 0]
    assert cols["share"][:2] == [1.0, 0.0] and math.isnan(cols["share"][2])
    assert math.isnan(cols["share_lo"][2]) and math.isnan(cols["share_hi"][2])
    # The swing from the smallest share (b) to the largest (a); the empty option is left out.
    want = newcombe_diff(0, 50, 50, 50)
    assert [cols[c][0] for c in ("swing", "swing_lo", "swing_hi")] == list(want)


@pytest.mark.parametrize("kind", ["normal", "whole numbers", "integers", "with a nan"])
def test_quantile_bins_are_the_binary_searchs(kind: str) -> None:
    """The comparisons with each edge give ``searchsorted``'s bins, ties and all."""
    rng = np.random.default_rng(len(kind))
    for n in (1, 2, 7, 5000):
        x = {
            "normal": rng.normal(size=n),
            "whole numbers": rng.integers(-3, 3, size=n).astype(float),
            "integers": rng.integers(-3, 3, size=n),
            "with a nan": np.append(rng.normal(size=n), np.nan),
        }[kind]
        finite = x[~np.isnan(x)] if x.dtype.kind == "f" else x
        for edges in (np.quantile(finite.astype(float), [0.2, 0.4, 0.6, 0.8]), np.sort(x[:3])):
            edges = edges[~np.isnan(edges)].astype(float)
            want = np.searchsorted(edges, x, side="right")
            got = _quantile_index(edges, x, bool(np.isnan(x).any()))
            assert got.dtype == want.dtype and np.array_equal(got, want)
