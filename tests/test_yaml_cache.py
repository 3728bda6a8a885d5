"""The cache of parsed YAML files: a hit is exactly what parsing gives, and nothing stale.

:func:`sim.yamlio.load_file` keeps each parsed document (and every position in
it) as JSON, keyed by the text, the kind of file and the code that parses it.
These tests hold a hit to a fresh parse value by value and position by position,
and make sure an edited file, a broken entry or an unwritable folder costs a
parse, never a wrong document.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

import sim.yamlio as yamlio
from sim.errors import Location
from sim.registry import CLAIMS_FILE_KIND, SOURCES_FILE_KIND
from sim.yamlio import Located, load_file, parse_text

TRICKY = """\
scenario:
  id: tricky
  start: 2022-01-17
  when: [2021-12-31, "2022-01-01"]
numbers: {nan: .nan, inf: .inf, ninf: -.inf, zero: -0.0, huge: 123456789012345678901234567890}
floats: [1.0, 1e16, 0.1, 5.0e-324, 1_000.5]
words:
  quoted: "a \\"b\\", c"
  single: 'it''s'
  block: |
    two
    lines
  folded: >
    folded
    text
  empty: ""
  none: null
  yes_word: "yes"
  truth: true
  unicode: "Лукашенко ✓"
  "key with: colon": 1
  2: number key kept as text
nested:
  - [1, [2, [3, {deep: x}]]]
  - &anchor {a: 1}
  - *anchor
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(yamlio.CACHE_VARIABLE, str(folder))
    return folder


def _same(a: Any, b: Any) -> bool:
    """Equal values of equal types, NaN equal to NaN and -0.0 told from 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    return bool(a == b)


def _positions(doc: Located) -> tuple[Any, ...]:
    """Every field of every position (``exact``, ``raw`` and ``raw_col`` are not compared
    by ``Location.__eq__``)."""

    def table(marks: dict[Any, Any]) -> list[Any]:
        return [(p, m.file, m.line, m.col, m.exact, m.raw, m.raw_col) for p, m in marks.items()]

    return doc.file, table(doc.marks), table(doc.key_marks)


def _hit(path: Path, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> Located:
    """``load_file`` with parsing made impossible: only the cache can answer."""
    with monkeypatch.context() as m:
        m.setattr(yamlio, "parse_text", _no_parse)
        return load_file(path, **kw)


def _no_parse(*args: Any, **kw: Any) -> Located:
    raise AssertionError("parsed again: the cache missed")


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        (ROOT / "scenarios" / "allied_resolve_2022.yaml", None),
        (ROOT / "seeds" / "claims.yaml", CLAIMS_FILE_KIND),
        (ROOT / "seeds" / "sources.yaml", SOURCES_FILE_KIND),
        (None, None),
    ],
    ids=["scenario", "claims", "sources", "tricky"],
)
def test_a_hit_is_what_parsing_gives(source, kind, cache, tmp_path, monkeypatch) -> None:
    text = TRICKY if source is None else source.read_text(encoding="utf-8")
    path = tmp_path / "doc.yaml"
    path.write_text(text, encoding="utf-8")
    fresh = parse_text(text, "shown/as.yaml", expect=kind)
    first = load_file(path, display="shown/as.yaml", expect=kind)  # a miss: parsed, kept
    assert len(list(cache.glob("*.json"))) == 1
    again = _hit(path, monkeypatch, display="shown/as.yaml", expect=kind)
    # A hit's positions are made when first read, not before (a valid file reads none).
    assert "marks" not in vars(again) and "key_marks" not in vars(again)
    for doc in (first, again):
        assert _same(doc.data, fresh.data)
        assert _positions(doc) == _positions(fresh)
        assert type(doc) is Located
    # Positions name the file as it is shown this time, not as it was when kept.
    elsewhere = _hit(path, monkeypatch, display="other.yaml", expect=kind)
    assert {m.file for m in elsewhere.marks.values()} == {"other.yaml"}


def test_positions_from_an_entry_are_locations_like_any_other() -> None:
    # They are made without Location.__init__: nothing may need to run there.
    assert not hasattr(Location, "__post_init__")
    made = yamlio._location("f.yaml", 3, 4, False, "raw text", 2)
    full = Location("f.yaml", 3, 4, exact=False, raw="raw text", raw_col=2)
    assert made == full and hash(made) == hash(full) and str(made) == "f.yaml:3:4"
    assert vars(made) == vars(full) and type(made) is Location
    with pytest.raises(AttributeError):
        made.line = 5  # type: ignore[misc]


def test_tricky_values_survive(cache, tmp_path, monkeypatch) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(TRICKY, encoding="utf-8")
    load_file(path)
    doc = _hit(path, monkeypatch).data
    assert (
        str(doc["scenario"]["start"]) == "2022-01-17" and doc["scenario"]["when"][1] == "2022-01-01"
    )
    n = doc["numbers"]
    assert math.isnan(n["nan"]) and n["inf"] == math.inf and n["ninf"] == -math.inf
    assert math.copysign(1, n["zero"]) == -1 and n["huge"] == 123456789012345678901234567890
    assert doc["words"]["2"] == "number key kept as text" and doc["words"]["truth"] is True
    assert doc["nested"][1] == doc["nested"][2] == {"a": 1}


def test_an_edit_is_a_miss_even_at_the_same_size_and_time(cache, tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("a: 70\n", encoding="utf-8")
    stamp = path.stat()
    assert load_file(path).data == {"a": 70}
    path.write_text("a: 71\n", encoding="utf-8")
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert load_file(path).data == {"a": 71}


def test_the_kind_expected_is_part_of_the_key(cache, tmp_path) -> None:
    path = tmp_path / "claims.yaml"
    path.write_text("scenario: {id: x}\n", encoding="utf-8")
    assert load_file(path).data == {"scenario": {"id": "x"}}
    with pytest.raises(yamlio.ValidationError, match="not a claims file"):
        load_file(path, expect=CLAIMS_FILE_KIND)


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: t[: len(t) // 2],  # cut short
        lambda t: "not json",
        lambda t: t.replace('"key":"', '"key":"0', 1),  # another text's entry
        lambda t: json.dumps({"key": json.loads(t)["key"], "data": 1}),  # no positions
    ],
    ids=["cut", "garbage", "other-key", "incomplete"],
)
def test_a_broken_entry_is_parsed_again_and_replaced(damage, cache, tmp_path, monkeypatch) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("a: [1, 2]\nb: {c: x}\n", encoding="utf-8")
    fresh = load_file(path)
    (entry,) = cache.glob("*.json")
    entry.write_text(damage(entry.read_text(encoding="utf-8")), encoding="utf-8")
    again = load_file(path)
    assert again.data == fresh.data and _positions(again) == _positions(fresh)
    assert _hit(path, monkeypatch).data == fresh.data  # the entry was written anew


def test_escaped_nul_keys_and_lone_surrogates_come_back_as_written(cache, tmp_path, monkeypatch):
    """YAML escapes can write a NUL (the cache's tag) and a lone surrogate, which no text
    file can hold: the first is parsed each time, the second kept escaped."""
    tagged = tmp_path / "t.yaml"
    tagged.write_text('a: {"\\0": "2022-01-17"}\n', encoding="utf-8")
    assert load_file(tagged).data == load_file(tagged).data == {"a": {"\0": "2022-01-17"}}
    assert not list(cache.glob("*.json"))
    odd = tmp_path / "s.yaml"
    odd.write_text('a: "x\\ud800y"\n', encoding="utf-8")
    assert load_file(odd).data == {"a": "x\ud800y"}
    assert _hit(odd, monkeypatch).data == {"a": "x\ud800y"}


def test_timestamps_and_binary_are_parsed_each_time(cache, tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("at: 2022-01-17 10:00:00\nb: !!binary aGk=\n", encoding="utf-8")
    assert load_file(path).data["b"] == b"hi"
    assert not list(cache.glob("*.json"))


def test_no_cache_when_the_variable_is_empty(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(yamlio.CACHE_VARIABLE, "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    path = tmp_path / "s.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    assert load_file(path).data == {"a": 1}
    assert not (tmp_path / "xdg").exists()


def test_an_unwritable_folder_only_costs_a_parse(tmp_path, monkeypatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("in the way", encoding="utf-8")
    monkeypatch.setenv(yamlio.CACHE_VARIABLE, str(blocked / "cache"))
    path = tmp_path / "s.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    assert load_file(path).data == load_file(path).data == {"a": 1}


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="files have no owners here")
def test_a_folder_others_may_write_is_not_used(cache, tmp_path, monkeypatch) -> None:
    cache.mkdir()
    cache.chmod(0o777)
    parsed = []
    real = yamlio.parse_text
    monkeypatch.setattr(yamlio, "parse_text", lambda *a, **k: parsed.append(1) or real(*a, **k))
    path = tmp_path / "s.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    assert load_file(path).data == load_file(path).data == {"a": 1}
    assert len(parsed) == 2 and not list(cache.iterdir())


def test_the_oldest_entries_go_past_the_limit(cache, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(yamlio, "CACHE_ENTRIES", 3)
    for i in range(5):
        path = tmp_path / f"s{i}.yaml"
        path.write_text(f"a: {i}\n", encoding="utf-8")
        load_file(path)
    assert len(list(cache.glob("*.json"))) == 3
    assert _hit(tmp_path / "s4.yaml", monkeypatch).data == {"a": 4}


def test_a_second_command_needs_no_yaml(tmp_path) -> None:
    """Start-up time: once the default scenario and its registry are kept, loading them
    imports no PyYAML, and compiles the same scenario."""
    code = (
        "import json, sys\nfrom sim.scenario import load_scenario\n"
        "sc = load_scenario('scenarios/allied_resolve_2022.yaml')\n"
        "print(json.dumps({'sha': sc.sha256, 'yaml': 'yaml' in sys.modules}))\n"
    )
    env = os.environ | {yamlio.CACHE_VARIABLE: str(tmp_path / "cache")}
    runs = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert runs[0]["yaml"] and not runs[1]["yaml"]
    assert runs[0]["sha"] == runs[1]["sha"]
