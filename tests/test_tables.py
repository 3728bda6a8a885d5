"""Tables that cannot be corrupted: quoting, the formula guard, and the record in the manifest.

Regression tests on real results folders: a batch and a sweep of a scenario
whose words hold commas, quotes, formula starts and NA-like spellings; tables
cut short or edited after the batch, refused by every reader and command; and
charts or a report that cannot be written, reported by ``wargame plot`` with
no empty or partial file left behind.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

import sim
import sim.tables as tables
from sim.cli import main
from sim.errors import ResultsError
from sim.plots import load_tables
from sim.report import gather
from sim.results.reader import load_results
from sim.tables import check_tables, digest, read_records, read_table, record_tables, write_table

QUIET = {"progress": False}

# Words a spreadsheet would run, words a CSV writer must quote, and words that
# pandas would turn into NaN, inf or booleans if let.
WORDS = [
    '=HYPERLINK("http://example.org","x")',
    "a, b",
    'say "hi", then go',
    "+1+2",
    "-2+3",
    "@SUM(A1:A2)",
    "'quoted",
    "null",
    "NA",
    "None",
    "nan",
    "inf",
    "true",
    "-1.5",
]
CONTROL_WORDS = ["two\nlines", "car\rriage", "crlf\r\nend", "\tTab", "\rCR", "''twice", "=", "-"]

HOSTILE = """
extends: allied_resolve_2022.yaml
scenario:
  name: hostile_words
  title: '=HYPERLINK("http://example.org","click"), the "A, B" side'
parameters:
  label:
    dist: choice
    options: {OPTIONS}
    description: Words a table must keep as they are.
    cites: [kremlin-appetite-decides]
  offset:
    dist: uniform
    low: -1
    high: 1
    description: A number that can be negative (written as a number, not guarded).
    cites: [kremlin-appetite-decides]
actors:
  kremlin:
    rules:
      nan:
        kind: trigger
        action: withdraw_from_belarus
        when: day > date('2022-02-20')
        prob: 0.01
        cites: [russian-units-leave-after-drills]
outcomes:
  'null':
    name: 'Null, "really"'
    when: peak >= rungs.nato_russia_war
"""


def raw_rows(path: Path) -> list[list[str]]:
    """The fields of a CSV file as a spreadsheet or the csv module sees them (nothing undone)."""
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def assert_no_formula_cell(path: Path) -> None:
    """No field starts like a formula, unless it is a number (``-1.5``)."""
    for row in raw_rows(path):
        for cell in row:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                float(cell)  # raises for a word written raw


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shipped scenarios and claims, with hostile_words.yaml beside them."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "scenarios", root / "scenarios")
    shutil.copytree(ROOT / "seeds", root / "seeds")
    options = json.dumps({w: 1 for w in WORDS})
    (root / "scenarios" / "hostile_words.yaml").write_text(
        HOSTILE.replace("{OPTIONS}", options), encoding="utf-8"
    )
    return root


@pytest.fixture(scope="module")
def hostile(project: Path):
    return sim.run_batch(
        project / "scenarios" / "hostile_words.yaml",
        runs=700,
        seed=3,
        chunk_size=300,
        out=project / "results" / "hostile",
        **QUIET,
    )


@pytest.fixture(scope="module")
def sound(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small batch of the default scenario, never touched: tests tamper with copies."""
    out = tmp_path_factory.mktemp("sound") / "batch"
    sim.run_batch(ROOT / "scenarios" / "allied_resolve_2022.yaml", runs=300, out=out, **QUIET)
    return out


@pytest.fixture
def copy_of(tmp_path: Path, sound: Path) -> Callable[[], Path]:
    def make() -> Path:
        return Path(shutil.copytree(sound, tmp_path / "batch"))

    return make


# -- the writer and readers on their own --------------------------------------------
def test_words_and_numbers_round_trip_exactly(tmp_path: Path) -> None:
    words = WORDS + CONTROL_WORDS
    numbers = [(-1) ** i * i / 7 for i in range(len(words))]
    df = pd.DataFrame({"=word, col": words, "n": numbers, "k": range(-3, len(words) - 3)})
    path = tmp_path / "t.csv"
    write_table(path, df)

    back = read_table(path)
    assert list(back.columns) == ["=word, col", "n", "k"]
    assert back["=word, col"].tolist() == words
    assert back["n"].tolist() == [float(f"{x:.10g}") for x in numbers]
    assert back["k"].tolist() == list(range(-3, len(words) - 3))
    records = read_records(path)
    assert [r["=word, col"] for r in records] == words

    rows = raw_rows(path)
    assert len(rows) == len(words) + 1 and {len(r) for r in rows} == {3}
    assert_no_formula_cell(path)
    assert rows[2][1:] == ["-0.1428571429", "-2"]  # negative numbers are not guarded
    assert digest(path)["rows"] == len(words)


def test_columns_of_words_pandas_would_parse_stay_words(tmp_path: Path) -> None:
    """A column of only ``inf``/``true``-like words (one outcome in every world) stays text."""
    path = tmp_path / "t.csv"
    df = pd.DataFrame({"o": ["inf", "-inf"], "b": ["true", "False"], "n": ["nan", "null"]})
    write_table(path, df)
    back = read_table(path)
    assert {c: back[c].tolist() for c in back} == {c: df[c].tolist() for c in df}


def test_columns_are_written_cell_by_cell_as_documented(tmp_path: Path) -> None:
    """Plain columns of tricky values: each cell as the format states it (words quoted and
    guarded, floats ``%.10g``, empty for missing), however often a word repeats."""

    class Word(str):
        pass

    words = ["a,b", 'say "hi"', "=1+1", "-x", "'q", "plain", "a,b", "=1+1", Word("=w"), "", "nan"]
    floats = [math.nan, math.inf, -math.inf, -0.0, 0.0, 1e308, 5e-324, 0.1, None, 2, 1 / 3]
    ints = [0, -1, 2**63, -(2**70), 10**30, 7, 8, 9, 10, 11, 12]
    mixed = [True, 1, 1.0, -0.0, 0.0, "1", None, math.nan, "x,y", 2**64, False]
    path = tmp_path / "t.csv"
    array = np.array([-0.0, math.inf, math.nan, 1e-300] * 3)[:11]
    write_table(path, {"w": words, "f": floats, "i": ints, "m": mixed, "a": array})

    def cell(v: object, kind: str) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        if kind == "f":
            return tables.FLOAT_FORMAT % v
        return tables.text_cell(v) if isinstance(v, str) else str(v)

    expected = ["w,f,i,m,a\n"] + [
        ",".join([cell(w, "O"), cell(f, "f"), cell(i, "i"), cell(m, "O"), cell(a, "f")]) + "\n"
        for w, f, i, m, a in zip(words, floats, ints, mixed, array.tolist(), strict=True)
    ]
    assert path.read_text(encoding="utf-8") == "".join(expected)
    assert [tables.inferred_kind(c) for c in (words, floats, ints, mixed)] == ["O", "f", "i", "O"]
    assert tables.inferred_kind([np.int64(1), 2]) == "i"
    assert tables.inferred_kind([np.bool_(1)]) == "b"


@pytest.mark.parametrize("block", [1, 2, 5, 64])
def test_rows_are_records_not_lines_whatever_the_block_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    path = tmp_path / "t.csv"
    write_table(path, pd.DataFrame({"w": CONTROL_WORDS + WORDS, "x": range(22)}))
    whole = digest(path)
    monkeypatch.setattr(tables, "_BLOCK", block)
    assert digest(path) == whole
    assert whole["rows"] == len(raw_rows(path)) - 1 == 22


# -- a real batch and sweep with hostile words --------------------------------------
def test_batch_tables_keep_hostile_words(hostile) -> None:
    runs_csv = hostile.folder / "runs.csv"
    header, *rows = raw_rows(runs_csv)
    assert len(rows) == 700 and {len(r) for r in rows} == {len(header)}
    assert_no_formula_cell(runs_csv)

    for runs in (hostile.runs, load_tables(hostile.folder, runs=True).runs):
        assert set(runs["param_label"]) == set(WORDS)
        assert "null" in set(runs["outcome"])
    counts = hostile.runs["outcome"].value_counts()
    null = next(o for o in hostile.summary["outcomes"] if o["id"] == "null")
    assert null["count"] == counts["null"] > 0
    assert hostile.recount() == hostile.summary

    assert "nan" in hostile.rules["rule"].tolist()
    assert "nan" in load_tables(hostile.folder).rules["rule"].tolist()
    assert "nan" in [r.rule for r in gather(hostile.folder, context=False).rules]


def test_sweep_points_keep_hostile_words_and_negative_numbers(project: Path) -> None:
    chosen = [WORDS[0], "a, b", "-2+3", "-1.5", "null"]
    res = sim.run_sweep(
        project / "scenarios" / "hostile_words.yaml",
        vary={"param.label": chosen, "param.offset": [-0.5, 0.5]},
        runs=20,
        out=project / "results" / "sweep",
        **QUIET,
    )
    points_csv = res.folder / "points.csv"
    assert_no_formula_cell(points_csv)
    assert [r[2] for r in raw_rows(points_csv)[1:3]] == ["-0.5", "0.5"]
    for points in (res.points, load_tables(res.folder).points):
        assert points["param.label"].tolist() == [w for w in chosen for _ in (0, 1)]
        assert points["param.offset"].tolist() == [-0.5, 0.5] * len(chosen)


# -- tables cut short or altered after the batch ------------------------------------
def cut_runs(folder: Path) -> str:
    lines = (folder / "runs.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "runs.csv").write_text("".join(lines[:235]), encoding="utf-8")
    return r"runs\.csv: 234 rows where the manifest records 300; the table was cut short"


def alter_daily(folder: Path) -> str:
    text = (folder / "daily.csv").read_text(encoding="utf-8")
    head, _, rest = text.partition("\n0,")
    (folder / "daily.csv").write_text(head + "\n1," + rest, encoding="utf-8")
    return r"daily\.csv: altered after it was written: the same 70 rows"


def cli_refuses(args: list[str]) -> Callable[[Path, pytest.CaptureFixture[str]], str]:
    def run(folder: Path, capsys: pytest.CaptureFixture[str]) -> str:
        capsys.readouterr()
        assert main([*args, str(folder)]) == 2
        return capsys.readouterr().err

    return run


def raises(read: Callable[[Path], object]) -> Callable[[Path, pytest.CaptureFixture[str]], str]:
    def run(folder: Path, capsys: pytest.CaptureFixture[str]) -> str:
        with pytest.raises(ResultsError) as info:
            read(folder)
        return str(info.value)

    return run


READERS = {
    "load_results": raises(load_results),
    "recount on opening": raises(lambda f: load_results(f, recount=True)),
    "load_tables": raises(load_tables),
    "gather": raises(gather),
    "wargame plot": cli_refuses(["plot"]),
    "wargame report": cli_refuses(["report"]),
}


@pytest.mark.parametrize("tamper", [cut_runs, alter_daily])
@pytest.mark.parametrize("reader", list(READERS))
def test_tampered_table_is_refused_by_every_reader(
    copy_of: Callable[[], Path], capsys: pytest.CaptureFixture[str], tamper, reader: str
) -> None:
    folder = copy_of()
    expected = tamper(folder)
    message = READERS[reader](folder, capsys)
    assert folder.name in message
    assert re.search(expected, message), message
    assert not (folder / "plots").exists() and not (folder / "report.html").exists()


def test_recount_checks_runs_again_after_opening(copy_of: Callable[[], Path]) -> None:
    folder = copy_of()
    result = load_results(folder)
    cut_runs(folder)
    with pytest.raises(ResultsError, match="234 rows where the manifest records 300"):
        result.recount()


def test_missing_added_and_unrecorded_tables_are_refused(copy_of: Callable[[], Path]) -> None:
    folder = copy_of()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tables"] == record_tables(folder)
    assert manifest["tables"]["runs.csv"]["rows"] == 300
    check_tables(folder, manifest)

    (folder / "points.csv").write_text("point\n0\n", encoding="utf-8")
    with pytest.raises(ResultsError, match=r"points\.csv: not recorded in the manifest"):
        load_results(folder)
    (folder / "points.csv").unlink()
    (folder / "rules.csv").unlink()
    with pytest.raises(ResultsError, match=r"rules\.csv: missing .*records 21 rows"):
        load_results(folder)
    del manifest["tables"]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ResultsError, match="no 'tables' record"):
        load_results(folder)


def test_format_1_folder_is_refused_with_what_to_do(copy_of: Callable[[], Path]) -> None:
    folder = copy_of()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["format_version"] = 1
    del manifest["tables"]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    for read in (load_results, load_tables, gather):
        with pytest.raises(ResultsError, match=r"format_version 1.*run the command in this"):
            read(folder)


# -- charts and report that cannot be written ---------------------------------------
def _file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:  # in the child: writes past `limit` bytes fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="needs RLIMIT_FSIZE")
@pytest.mark.parametrize(
    ("limit", "failed", "charts"),
    # 2.5 MB holds every chart (the drivers charts, the largest, about 1.5 MB)
    # but not the report, which embeds them all.
    [(20_000, "plots failed", False), (2_500_000, "report failed", True)],
    ids=["charts", "report"],
)
def test_failing_plot_or_report_is_reported_and_leaves_no_partial_file(
    copy_of: Callable[[], Path], limit: int, failed: str, charts: bool
) -> None:
    """A file-size limit makes writes fail as a full disk would (the real OSError)."""
    folder = copy_of()
    done = subprocess.run(
        [sys.executable, "-m", "sim", "plot", str(folder)],
        capture_output=True,
        text=True,
        preexec_fn=_file_size_limit(limit),
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert failed in done.stderr and "File too large" in done.stderr
    assert "Traceback" not in done.stderr
    written = [p for p in folder.rglob("*") if p.is_file()]
    assert not [p for p in written if p.name.startswith(".") or p.stat().st_size == 0]
    assert not (folder / "report.html").exists()
    pngs = sorted((folder / "plots").glob("*.png")) if (folder / "plots").exists() else []
    assert bool(pngs) == charts
    for png in pngs:
        assert png.read_bytes().endswith(b"IEND\xaeB`\x82")  # complete files only
