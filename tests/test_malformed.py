"""The catalogue of malformed scenarios in ``tests/malformed/``.

Each file there is broken in one place and says, in its leading comments,
what ``wargame validate`` must answer:

``# expect: [FILE:]LINE:COL: TEXT``
    an error at that place whose message contains ``TEXT``. ``FILE``
    defaults to the file itself (``--set`` names a command-line override);
    ``*`` stands for a line or column that is not pinned down. A file may
    expect several errors; the run must report exactly those, no more.
``# args: ...``
    extra command-line arguments (e.g. ``--set``).
``# xfail: REASON``
    a known validator bug: the test is expected to fail until it is fixed.

Files starting with ``_`` are helpers (``_base.yaml`` is the documented
complete example, which the others extend). Cases that need generated input
(an empty file, a file over the size limit) are written to ``tmp_path`` here.
"""

from __future__ import annotations

import re
import shlex
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import sim.yamlio
from sim.cli import main
from sim.yamlio import MAX_BYTES, MAX_NODES

ROOT = Path(__file__).resolve().parents[1]
MALFORMED = ROOT / "tests" / "malformed"
CATALOGUE = sorted(p for p in MALFORMED.glob("*.yaml") if not p.name.startswith("_"))
CANARY = Path("/tmp/wargame_unsafe_canary")  # what unsafe_import.yaml tries to create

EXPECT_RE = re.compile(
    r"^#\s*expect:\s*(?:(?P<file>[^\s:]+):)?(?P<line>\d+|\*):(?P<col>\d+|\*):\s*(?P<text>.+?)\s*$"
)
ERROR_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error: (?P<message>.*)$")


@dataclass(frozen=True)
class Expected:
    file: str
    line: str
    col: str
    text: str

    def matches(self, error: re.Match[str]) -> bool:
        return (
            error["file"] == self.file
            and self.line in ("*", error["line"])
            and self.col in ("*", error["col"])
            and self.text in error["message"]
        )

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: ...{self.text}..."


@dataclass(frozen=True)
class Case:
    path: Path
    expected: tuple[Expected, ...]
    args: tuple[str, ...]
    xfail: str | None


def read_case(path: Path) -> Case:
    """Parse the leading comment block of a catalogue file."""
    # Decoded leniently: one file is deliberately not UTF-8 (after its header).
    lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    expected: list[Expected] = []
    args: tuple[str, ...] = ()
    xfail = None
    for line in lines:
        if not line.startswith("#"):
            break
        if m := EXPECT_RE.match(line):
            expected.append(Expected(m["file"] or path.name, m["line"], m["col"], m["text"]))
        elif line.startswith("# args:"):
            args = tuple(shlex.split(line.removeprefix("# args:")))
        elif line.startswith("# xfail:"):
            xfail = line.removeprefix("# xfail:").strip()
    return Case(path, tuple(expected), args, xfail)


CASES = [read_case(p) for p in CATALOGUE]


def validate(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``wargame validate`` in-process; a traceback is a test failure."""
    try:
        code = main(["validate", *argv])
    except Exception:
        pytest.fail(
            "the validator raised instead of reporting an error:\n" + traceback.format_exc()
        )
    out, err = capsys.readouterr()
    return code, out, err


def check_reported(case: Case, code: int, out: str, err: str) -> None:
    assert code == 2, f"exit code {code}; stdout={out!r}; stderr={err!r}"
    assert "Traceback" not in err
    assert f"{case.path.name}: ok" not in out
    errors = [m for m in map(ERROR_RE.match, err.splitlines()) if m]
    for exp in case.expected:
        assert any(exp.matches(e) for e in errors), f"expected {exp}; got:\n{err}"
    unexpected = [e[0] for e in errors if not any(exp.matches(e) for exp in case.expected)]
    assert not unexpected, "errors not listed in the file's '# expect:' lines:\n" + "\n".join(
        unexpected
    )


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            c,
            id=c.path.stem,
            marks=[pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else [],
        )
        for c in CASES
    ],
)
def test_malformed_file_is_reported(
    case: Case, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(MALFORMED)  # messages then name files as written here
    code, out, err = validate([case.path.name, *case.args], capsys)
    check_reported(case, code, out, err)


# -- the same messages whatever the PyYAML build -------------------------------------
LOADERS = {"C": getattr(yaml, "CSafeLoader", None), "pure": None}


@pytest.fixture(params=list(LOADERS), ids=[f"{k}-loader" for k in LOADERS])
def yaml_build(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Parse with the C loader, or force the pure-Python one (as a build without libyaml)."""
    if request.param == "C" and LOADERS["C"] is None:
        pytest.skip("this PyYAML has no C loader")
    monkeypatch.setattr(sim.yamlio, "FAST_LOADER", LOADERS[request.param])
    return str(request.param)


def _catalogue_messages(capsys: pytest.CaptureFixture[str]) -> dict[str, tuple[int, str, str]]:
    return {c.path.name: validate([c.path.name, *c.args], capsys) for c in CASES}


def test_catalogue_gives_the_same_messages_with_either_loader(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: the C loader reported deep nesting and several syntax errors in its own
    # words (and at other columns) than the pure-Python one.
    if LOADERS["C"] is None:
        pytest.skip("this PyYAML has no C loader")
    monkeypatch.chdir(MALFORMED)
    monkeypatch.setattr(sim.yamlio, "FAST_LOADER", LOADERS["C"])
    fast = _catalogue_messages(capsys)
    monkeypatch.setattr(sim.yamlio, "FAST_LOADER", None)
    pure = _catalogue_messages(capsys)
    differ = {name: (fast[name], pure[name]) for name in fast if fast[name] != pure[name]}
    assert not differ


@pytest.mark.parametrize("case", [c for c in CASES if not c.xfail], ids=lambda c: c.path.stem)
def test_catalogue_is_reported_with_either_loader(
    case: Case,
    yaml_build: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(MALFORMED)
    code, out, err = validate([case.path.name, *case.args], capsys)
    check_reported(case, code, out, err)


@pytest.mark.parametrize(
    "text",
    [
        "scenario:\n  sources: [a,\n    b\nladder: {}\n",
        "scenario: {name: x, title: 'unclosed\n",
        "a:\n  - b\n c: d\n",
        "scenario: {a: 1\n",
        "a: &x 1\nb: &x 2\n",
        "scenario: x\n\tladder: y\n",
        "scenario: [" * 40 + "]" * 40 + "\n",
        "scenario: " + "[" * 1500 + "\n",
        "x:\n" + "".join(" " * i + "- \n" for i in range(1, 600)),
    ],
    ids=[
        "unclosed",
        "quote",
        "indent",
        "flow-map",
        "anchor",
        "tab",
        "nested",
        "deep",
        "deep-block",
    ],
)
def test_syntax_errors_read_the_same_with_either_loader(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if LOADERS["C"] is None:
        pytest.skip("this PyYAML has no C loader")
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    results = []
    for loader in LOADERS.values():
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(sim.yamlio, "FAST_LOADER", loader)
            results.append(validate([str(path)], capsys))
    assert results[0] == results[1]
    assert results[0][0] == 2
    assert "Traceback" not in results[0][2]


# -- the catalogue itself ---------------------------------------------------------
def test_catalogue_is_large_and_every_file_states_its_expectation() -> None:
    assert len(CASES) >= 30
    for case in CASES:
        assert case.expected, f"{case.path.name}: no '# expect: LINE:COL: message' line"
        first = case.path.read_bytes().split(b"\n", 1)[0]
        assert first.startswith(b"# expect:"), f"{case.path.name}: must begin with '# expect:'"


def test_base_is_the_documented_example_and_valid(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every malformed file that extends _base.yaml must fail for its own reason only.
    text = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    section = text[text.index("## A complete example") :]
    example = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert example is not None
    base = MALFORMED / "_base.yaml"
    assert yaml.safe_load(base.read_text(encoding="utf-8")) == yaml.safe_load(example[1])
    monkeypatch.chdir(MALFORMED)
    code, out, err = validate(["_base.yaml"], capsys)
    assert (code, out.strip(), err) == (0, "_base.yaml: ok", "")


# -- cases that need more than the generic check -------------------------------------
def test_unsafe_expression_is_not_executed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    case = read_case(MALFORMED / "unsafe_import.yaml")
    assert str(CANARY) in case.path.read_text(encoding="utf-8")
    CANARY.unlink(missing_ok=True)
    monkeypatch.chdir(MALFORMED)
    code, out, err = validate([case.path.name], capsys)
    check_reported(case, code, out, err)
    assert not CANARY.exists(), "an expression was executed"


def test_alias_bomb_is_refused_quickly(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(MALFORMED)
    validate(["_base.yaml"], capsys)  # first use imports the scenario modules: not timed
    t0 = time.perf_counter()
    code, _, err = validate(["alias_bomb.yaml"], capsys)
    elapsed = time.perf_counter() - t0
    assert code == 2
    assert f"more than {MAX_NODES:,} values" in err
    # A safety bound, not a benchmark: expanding the bomb would take minutes and gigabytes.
    assert elapsed < 2.0


def test_not_utf8_file_really_is_not_utf8() -> None:
    raw = (MALFORMED / "not_utf8.yaml").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


@pytest.mark.parametrize(
    "content", [b"", b"\n  \n\t\n", b"\xef\xbb\xbf"], ids=["empty", "blank", "bom"]
)
def test_empty_file(content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.yaml"
    path.write_bytes(content)
    code, _, err = validate([str(path)], capsys)
    assert code == 2
    assert err.strip() == f"{path}:1:1: error: file is empty; expected a YAML mapping"


def test_oversized_file_is_refused_before_parsing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = (MALFORMED / "_base.yaml").read_bytes()
    padding = b"# " + b"x" * 98 + b"\n"
    path = tmp_path / "big.yaml"
    path.write_bytes(base + padding * (MAX_BYTES // len(padding) + 1))
    size = path.stat().st_size
    assert size > MAX_BYTES
    code, _, err = validate([str(path)], capsys)
    assert code == 2
    assert err.strip() == (
        f"{path}:1:1: error: file is {size:,} bytes; the limit is {MAX_BYTES:,} bytes"
    )


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = validate([str(tmp_path / "nope.yaml")], capsys)
    assert code == 2
    assert err.strip() == f"{tmp_path / 'nope.yaml'}: error: file not found"
