"""The claims registry: the shipped seeds, and a broken registry's messages."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from conftest import ROOT

from sim.errors import ValidationError
from sim.registry import CLAIM_KINDS, find_seeds, load_registry


@pytest.fixture(scope="module")
def shipped():
    return load_registry(ROOT / "seeds")


# -- the shipped registry -----------------------------------------------------------
def test_shipped_registry_loads(shipped) -> None:
    assert len(shipped.claims) >= 60
    assert len(shipped.sources) == 5
    assert all(c.kind in CLAIM_KINDS for c in shipped.claims.values())


def test_every_claim_cites_existing_sources(shipped) -> None:
    for claim in shipped.claims.values():
        assert claim.sources, claim.id
        assert set(claim.sources) <= set(shipped.sources), claim.id


def test_contradicts_links_resolve_and_go_both_ways(shipped) -> None:
    links = [(c.id, other) for c in shipped.claims.values() for other in c.contradicts]
    assert links, "the seeds record disagreements between sources"
    for a, b in links:
        assert b in shipped.claims, f"{a} contradicts unknown {b}"
        assert a != b
        assert a in shipped.claims[b].contradicts, f"{a} -> {b} has no link back"


def test_claim_values_have_one_shape(shipped) -> None:
    shapes = [{"quantity"}, {"low", "high"}, {"date"}, {"start", "end"}]
    for claim in shipped.claims.values():
        if claim.value is None:
            continue
        given = set(claim.value) - {"unit", "approx"}
        assert given in shapes, claim.id
        if given == {"low", "high"}:
            assert claim.value["low"] <= claim.value["high"], claim.id


def test_seeds_are_found_from_any_folder_below_the_root() -> None:
    assert find_seeds(ROOT / "tests" / "malformed") == ROOT / "seeds"
    assert find_seeds(ROOT / "scenarios") == ROOT / "seeds"


def test_no_seeds_above_an_unrelated_folder(tmp_path: Path) -> None:
    assert find_seeds(tmp_path) is None


# -- a broken registry -----------------------------------------------------------------
SOURCES = """\
sources:
  - id: paper-a
    outlet: Outlet A
    title: First paper
    date: 2022-01-01
  - id: paper-b
    outlet: Outlet B
    title: Second paper
    date: 2022-01-02
"""

CLAIM = """\
  - id: {id}
    sources: [{source}]
    actors: [kremlin]
    kind: {kind}
    stated_by: author
    summary: A claim.
"""

BROKEN_CLAIMS = (
    "claims:\n"
    + CLAIM.format(id="good-claim", source="paper-a", kind="figure")  # lines 2-7
    + CLAIM.format(id="good-claim", source="paper-b", kind="figure")  # 8-13: duplicate id
    + CLAIM.format(id="unknown-source", source="papr-a", kind="figure")  # 14-19
    + CLAIM.format(id="unknown-kind", source="paper-a", kind="rumour")  # 20-25
    + CLAIM.format(id="two-shapes", source="paper-a", kind="figure")  # 26-31
    + "    value: {quantity: 3, date: 2022-01-05}\n"  # 32
    + CLAIM.format(id="low-above-high", source="paper-a", kind="estimate")  # 33-38
    + "    value: {low: 30000, high: 10000, unit: troops}\n"  # 39
    + CLAIM.format(id="dangling-link", source="paper-a", kind="figure")  # 40-45
    + "    contradicts: [good-claim, good-clam]\n"  # 46
)


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    (tmp_path / "claims.yaml").write_text(BROKEN_CLAIMS, encoding="utf-8")
    return tmp_path


def test_broken_registry_reports_every_error_with_its_line(
    broken: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(broken)
    with pytest.raises(ValidationError) as exc:
        load_registry(broken)
    assert [str(d) for d in exc.value.diagnostics] == [
        "claims.yaml:8:9: error: duplicate claim id 'good-claim'",
        "claims.yaml:15:15: error: unknown source 'papr-a'; did you mean 'paper-a'?",
        "claims.yaml:23:11: error: claims.3.kind: got text ('rumour'); expected one of "
        + ", ".join(CLAIM_KINDS),
        "claims.yaml:32:12: error: value: give exactly one of quantity; low+high; date; "
        "start+end (got date, quantity)",
        "claims.yaml:39:12: error: value: low is greater than high",
        "claims.yaml:46:31: error: unknown claim 'good-clam'; did you mean 'good-claim'?",
    ]


def test_errors_in_both_registry_files_are_reported_together(
    broken: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (broken / "sources.yaml").write_text(
        SOURCES + "  - id: paper-a\n    outlet: Again\n    title: Again\n    date: 2022-01-03\n"
        "    editor: someone\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(broken)
    with pytest.raises(ValidationError) as exc:
        load_registry(broken)
    errors = [str(d) for d in exc.value.diagnostics]
    assert errors[6:] == [
        "sources.yaml:10:9: error: duplicate source id 'paper-a'",
        "sources.yaml:14:5: error: unknown key 'editor' in a source (allowed: id, outlet, title, "
        "date, date_note, author, url, covers)",
    ]
    assert errors[0] == "claims.yaml:8:9: error: duplicate claim id 'good-claim'"
    assert len(errors) == 8


BAD_FIELD_CASES = {
    "source date": (
        SOURCES.replace("date: 2022-01-02", "date: someday"),
        CLAIM.format(id="c", source="paper-a", kind="figure"),
        ("sources.yaml", 9, "sources.1.date: expected a date YYYY-MM-DD"),
    ),
    "source without title": (
        SOURCES.replace("    title: Second paper\n", ""),
        CLAIM.format(id="c", source="paper-a", kind="figure"),
        ("sources.yaml", 6, "missing required key 'title'"),
    ),
    "claim summary": (
        SOURCES,
        CLAIM.format(id="c", source="paper-a", kind="figure").replace(
            "summary: A claim.", "summary: [a, list]"
        ),
        ("claims.yaml", 7, "claims.0.summary: expected text"),
    ),
}


@pytest.mark.parametrize("case", list(BAD_FIELD_CASES), ids=list(BAD_FIELD_CASES))
def test_bad_field_of_a_record_is_reported(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources, claim, (file, line, text) = BAD_FIELD_CASES[case]
    (tmp_path / "sources.yaml").write_text(sources, encoding="utf-8")
    (tmp_path / "claims.yaml").write_text("claims:\n" + claim, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    try:
        load_registry(tmp_path)
    except ValidationError as exc:
        (diag,) = exc.diagnostics
        assert (diag.location.file, diag.location.line) == (file, line)
        assert text in diag.message
    else:
        pytest.fail("the registry loaded")


def test_registry_with_unreadable_claims_file(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    (tmp_path / "claims.yaml").write_text("claims:\n  - id: a\n  - id: a\n    id: b\n", "utf-8")
    with pytest.raises(ValidationError) as exc:
        load_registry(tmp_path)
    (diag,) = exc.value.diagnostics
    assert (diag.location.line, diag.location.col) == (4, 5)
    assert "duplicate key 'id'" in diag.message


def test_registry_with_missing_file(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        load_registry(tmp_path)
    (diag,) = exc.value.diagnostics
    assert diag.location.file.endswith("claims.yaml")
    assert diag.message == "file not found"


MINIMAL_CLAIMS = """\
claims:
  - id: one
    sources: [paper-a, paper-b]
    actors: [nato, ukraine]
    kind: estimate
    stated_by: NATO
    summary: Between one and two.
    value: {low: 1, high: 2, unit: brigades, approx: true}
    contradicts: [two]
  - id: two
    sources: [paper-b]
    actors: [other]
    kind: date
    stated_by: author
    summary: A span.
    value: {start: 2022-02-10, end: 2022-02-20}
    contradicts: [one]
"""


def test_minimal_registry_loads(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    (tmp_path / "claims.yaml").write_text(MINIMAL_CLAIMS, encoding="utf-8")
    reg = load_registry(tmp_path)
    assert list(reg.claims) == ["one", "two"]
    assert reg.claim("one").value == {"low": 1, "high": 2, "unit": "brigades", "approx": True}
    assert reg.claim("two").contradicts == ("one",)
    assert reg.claim("two").value == {"start": date(2022, 2, 10), "end": date(2022, 2, 20)}
    assert reg.sources["paper-b"].title == "Second paper"
