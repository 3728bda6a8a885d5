"""Hostile and careless input: each case here once crashed, hung, wrapped or leaked.

Every test is a regression test for a hole found by probing the tool as an
attacker or a careless user would: files that never end or block when read,
``extends`` reaching out of the scenario's folder, files that are not scenarios
being quoted back, identifiers ending in a newline, control characters meant
for the terminal, integers that wrap around, syntax errors that do not say
where the broken construct began, tracebacks, and citations left unchecked.
Things that can hang or eat memory on a regression run in a subprocess with a
timeout and a memory cap, so a regression fails the test instead of the machine.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.engine.state import coerce
from sim.errors import ResultsError, ValidationError
from sim.expr import Symbol, compile_expr
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "tests" / "malformed" / "_base.yaml"
SEEDS = ROOT / "seeds"
SAFE = 10**15
"""The safe range of numbers (sim.spec.MAX_MAGNITUDE), written out."""
SECRET = "root:$6$s3cr3tHASH0123456789:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"
"""A file shaped like /etc/shadow: none of it may ever appear in a message."""


def validate(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``wargame validate`` in-process; a traceback fails the test."""
    return command(["validate", *argv], capsys)


def command(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Any ``wargame`` command in-process; a traceback fails the test."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: usage errors
        code = exc.code if isinstance(exc.code, int) else 2
    except Exception:
        pytest.fail("the command raised instead of reporting an error:\n" + traceback.format_exc())
    out, err = capsys.readouterr()
    return code, out, err


def python(code: str, *args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run Python code in a subprocess capped at 1 GB of address space."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    try:
        return subprocess.run(
            [sys.executable, "-c", code, *args],
            cwd=cwd,
            env=env,
            preexec_fn=cap,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {timeout} s (blocked or reading forever)")


TIMED_READ = """
import sys, time
from sim.errors import ValidationError
from sim.scenario import load_scenario
t0 = time.perf_counter()
try:
    load_scenario(sys.argv[1], registry=None)
except ValidationError as exc:
    print(f"{time.perf_counter() - t0:.3f}")
    print(exc)
"""


def timed_read(path: str, cwd: Path) -> tuple[float, str]:
    """Seconds until loading ``path`` was refused, and the message."""
    r = python(TIMED_READ, path, cwd=cwd)
    assert r.returncode == 0, r.stderr
    elapsed, _, message = r.stdout.partition("\n")
    return float(elapsed), message.strip()


def scenario(folder: Path, name: str = "s.yaml", text: str = "", base: bool = True) -> Path:
    """A scenario in ``folder``: ``_base.yaml`` copied beside it and extended by ``text``."""
    folder.mkdir(parents=True, exist_ok=True)
    if base:
        shutil.copy(BASE, folder / "_base.yaml")
        text = "extends: _base.yaml\n" + text
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


# -- files that never end, block, or are huge -----------------------------------------
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_as_scenario_is_refused_at_once(tmp_path: Path) -> None:
    # Before: read_bytes() read /dev/zero until memory ran out.
    elapsed, message = timed_read("/dev/zero", tmp_path)
    assert elapsed < 1.0
    assert message == "/dev/zero: error: is a character device, expected a regular YAML file"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_as_scenario_is_refused_at_once(tmp_path: Path) -> None:
    # Before: opening a FIFO nobody writes to blocked forever.
    os.mkfifo(tmp_path / "pipe.yaml")
    elapsed, message = timed_read("pipe.yaml", tmp_path)
    assert elapsed < 1.0
    assert message == "pipe.yaml: error: is a FIFO (named pipe), expected a regular YAML file"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_as_extends_target_is_refused(tmp_path: Path) -> None:
    # Before: "not found next to this file", which is not what is wrong.
    os.mkfifo(tmp_path / "pipe.yaml")
    path = scenario(tmp_path, text="", base=False)
    path.write_text("extends: pipe.yaml\n", encoding="utf-8")
    elapsed, message = timed_read("s.yaml", tmp_path)
    assert elapsed < 1.0
    assert message == (
        "s.yaml:1:10: error: extends: 'pipe.yaml' is not a regular file; expected a scenario file"
    )


def test_sparse_3_gb_file_is_refused_by_its_size(tmp_path: Path) -> None:
    # Before: the whole file was read (3 GB of memory) before its size was checked.
    with open(tmp_path / "huge.yaml", "wb") as f:
        f.truncate(3_000_000_000)
    (tmp_path / "s.yaml").write_text("extends: huge.yaml\n", encoding="utf-8")
    for target in ("huge.yaml", "s.yaml"):
        elapsed, message = timed_read(target, tmp_path)
        assert elapsed < 1.0
        assert (
            message
            == "huge.yaml:1:1: error: file is 3,000,000,000 bytes; the limit is 1,000,000 bytes"
        )


def test_file_growing_past_the_limit_is_cut_off(tmp_path: Path) -> None:
    # /proc files report size 0: at most limit + 1 bytes are ever read.
    from sim.yamlio import read_bytes

    path = tmp_path / "f.yaml"
    path.write_bytes(b"a" * 100)
    with pytest.raises(ValidationError, match="file is 100 bytes; the limit is 10 bytes"):
        read_bytes(path, limit=10)
    if Path("/proc/self/status").exists():
        with pytest.raises(ValidationError, match="file is over 10 bytes; the limit is 10 bytes"):
            read_bytes("/proc/self/status", limit=10)


# -- extends stays in the scenario's folder tree ----------------------------------------
@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A scenario-like file outside the folder of the scenarios below (``tree/``)."""
    secret = tmp_path / "private" / "base.yaml"
    secret.parent.mkdir()
    secret.write_text(BASE.read_text(encoding="utf-8"), encoding="utf-8")
    return secret


def test_extends_with_an_absolute_path_is_refused(
    tmp_path: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: any file on the machine could be named, and was loaded.
    path = scenario(tmp_path / "tree", text="", base=False)
    path.write_text(f"extends: {outside}\n", encoding="utf-8")
    code, _out, err = validate([str(path), "--no-claims"], capsys)
    assert code == 2
    assert err == (
        f"{path}:1:10: error: extends: {str(outside)!r} is an absolute path; a base scenario "
        "must be a file in this file's folder or below it, named relative to it\n"
    )


@pytest.mark.parametrize("parent", ["../private/base.yaml", "sub/../../private/base.yaml"])
def test_extends_leaving_the_folder_is_refused(
    parent: str, tmp_path: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = scenario(tmp_path / "tree", text="", base=False)
    (tmp_path / "tree" / "sub").mkdir()
    path.write_text(f"extends: {parent}\n", encoding="utf-8")
    code, _out, err = validate([str(path), "--no-claims"], capsys)
    assert code == 2
    assert err == (
        f"{path}:1:10: error: extends: {parent!r} leaves this file's folder; a base scenario "
        "must be a file in this file's folder or below it\n"
    )


def test_extends_through_a_symlink_out_of_the_tree_is_refused(
    tmp_path: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = scenario(tmp_path / "tree", text="", base=False)
    (tmp_path / "tree" / "link.yaml").symlink_to(outside)
    (tmp_path / "tree" / "dir").symlink_to(outside.parent, target_is_directory=True)
    for parent in ("link.yaml", "dir/base.yaml"):
        path.write_text(f"extends: {parent}\n", encoding="utf-8")
        code, _out, err = validate([str(path), "--no-claims"], capsys)
        assert code == 2
        assert err == (
            f"{path}:1:10: error: extends: {parent!r} leads out of this file's folder through "
            "a symlink; a base scenario must be a file in this file's folder or below it\n"
        )


def test_extends_inside_the_tree_is_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Below the folder, or through a symlink that stays in it, is fine.
    tree = tmp_path / "tree"
    scenario(tree / "bases", name="unused.yaml")
    (tree / "a.yaml").write_text("extends: bases/_base.yaml\n", encoding="utf-8")
    (tree / "alias.yaml").symlink_to(tree / "bases" / "_base.yaml")
    (tree / "b.yaml").write_text("extends: ./sub/../alias.yaml\n", encoding="utf-8")
    (tree / "sub").mkdir()
    code, _out, err = validate([str(tree / "a.yaml"), str(tree / "b.yaml")], capsys)
    assert (code, err) == (0, "")


# -- nothing of a file that is not a scenario is quoted ---------------------------------
def _no_secret(text: str) -> None:
    assert "s3cr3t" not in text
    assert "root:" not in text
    assert "daemon" not in text


def test_a_non_scenario_file_is_not_quoted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: `extends: /etc/shadow` printed every line of it as an "unknown key".
    (tmp_path / "shadow").write_text(SECRET, encoding="utf-8")
    child = scenario(tmp_path, text="", base=False)
    child.write_text("extends: shadow\n", encoding="utf-8")
    for target in (tmp_path / "shadow", child):
        code, out, err = validate([str(target), "--no-claims"], capsys)
        assert code == 2
        _no_secret(out + err)
        assert err == (
            f"{tmp_path / 'shadow'}:1:1: error: not a scenario file: it has none of the "
            "top-level keys scenario, extends, actors, ...; its content is not shown\n"
        )


def test_a_non_claims_file_given_as_claims_is_not_quoted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "shadow").write_text(SECRET, encoding="utf-8")
    shutil.copy(SEEDS / "sources.yaml", tmp_path / "sources.yaml")
    code, out, err = validate([str(BASE), "--claims", str(tmp_path / "shadow")], capsys)
    assert code == 2
    _no_secret(out + err)
    assert "not a claims file" in err


def _results_folder(folder: Path, manifest: dict[str, object]) -> Path:
    folder.mkdir(parents=True)
    summary = {"outcomes": [{"id": "quiet", "name": "Quiet", "p": 1.0, "lo": 0.9, "hi": 1.0}]}
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def test_report_does_not_quote_a_manifest_scenario_that_is_not_one(tmp_path: Path) -> None:
    # Before: the report's note on a scenario that "no longer loads" quoted its first line.
    import sim
    from sim.report import gather, render

    (tmp_path / "shadow").write_text(SECRET, encoding="utf-8")
    result = sim.run_batch(BASE, runs=20, progress=False, out=tmp_path / "batch")
    manifest = json.loads((result.folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["scenario_file"] = str(tmp_path / "shadow")
    (result.folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    data = gather(result.folder)
    assert any("not a scenario file" in note for note in data.notes)
    _no_secret("\n".join(data.notes))
    _no_secret(render(data))


@pytest.mark.parametrize("pointer", ["../elsewhere", "{tmp}/elsewhere", "elsewhere/.."])
def test_latest_txt_pointing_outside_its_folder_is_not_followed(
    pointer: str, tmp_path: Path
) -> None:
    # Before: latest.txt could name any folder on the machine.
    from sim.results.reader import find_folder

    group = tmp_path / "results" / "s"
    group.mkdir(parents=True)
    _results_folder(group.parent / "elsewhere", {"kind": "batch", "format_version": 1})
    _results_folder(tmp_path / "elsewhere", {"kind": "batch", "format_version": 1})
    (group / "latest.txt").write_text(pointer.format(tmp=tmp_path) + "\n", encoding="utf-8")
    with pytest.raises(ResultsError, match="not a results folder"):
        find_folder(group)
    # A sibling inside the folder is still found.
    _results_folder(group / "20240101-000000", {"kind": "batch", "format_version": 1})
    (group / "latest.txt").write_text("20240101-000000\n", encoding="utf-8")
    assert find_folder(group) == group / "20240101-000000"


# -- identifiers and text ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            'state:\n  "troops\\n": {type: int, initial: 1}\n',
            "3:3",
            "'troops\\n' is not an identifier",
        ),
        ('scenario: {name: "border_crisis\\n"}\n', "2:19", "is not an identifier"),
        (
            'actors:\n  attacker:\n    rules:\n      appetite: {cites: ["drills-10-20-feb\\n"]}\n',
            "5:27",
            "'drills-10-20-feb\\n' is not a claim id",
        ),
        (
            'ladder: {"war\\n": {name: War, mid_level: 5}}\n',
            "2:10",
            "'war\\n' is not an identifier",
        ),
    ],
    ids=["state-id", "scenario-name", "claim-id", "rung-id"],
)
def test_identifiers_cannot_end_in_a_newline(
    text: str, where: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: `^...$` matched "war\n", so the newline reached folder names and tables.
    path = scenario(tmp_path, text=text)
    code, _out, err = validate([str(path)], capsys)
    assert code == 2
    assert f"s.yaml:{where}: error: " in err
    assert message in err
    assert len(err.splitlines()) == 1  # no raw newline in the message itself


@pytest.mark.parametrize(
    ("text", "char"),
    [
        ('scenario: {title: "Crisis\\e[2J"}\n', "U+001B (ESC)"),
        ('scenario: {description: "ring\\a"}\n', "U+0007 (BEL)"),
        ('scenario: {description: "cut\\0here"}\n', "U+0000 (NUL)"),
        ('scenario: {title: "over\\rwrite"}\n', "U+000D"),
        ('actors: {attacker: {name: "Attacker\\u202e"}}\n', "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        ('actors: {attacker: {name: "A\\u2066B\\u2069"}}\n', "U+2066 (LEFT-TO-RIGHT ISOLATE)"),
        ('flags: {war: {name: "War\\x9b"}}\n', "U+009B"),
        ('flags: {war: {when: "attacker.attack.taken\\e"}}\n', "U+001B (ESC)"),
        ('parameters: {doctrine: {options: {"a\\eb": 1}}}\n', "U+001B (ESC)"),
    ],
    ids=["esc-title", "bel", "nul", "cr", "rlo", "isolate", "c1", "expression", "option"],
)
def test_control_characters_in_text_are_rejected(
    text: str, char: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: all of these validated, and reached the terminal, the tables and the report.
    path = scenario(tmp_path, text=text)
    code, _out, err = validate([str(path)], capsys)
    assert code == 2
    assert f"the control character {char}" in err
    assert all(line.startswith(f"{path}:2:") for line in err.splitlines()), err


def test_a_line_break_in_a_one_line_text_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = scenario(tmp_path, text='ladder: {war: {name: "War\\nbroke out"}}\n')
    code, _out, err = validate([str(path)], capsys)
    assert code == 2
    assert (
        err == f"{path}:2:23: error: ladder.war.name: must be one line of text; got a line break\n"
    )
    # Descriptions may span lines.
    path = scenario(tmp_path, text="ladder:\n  war:\n    description: |\n      two\n      lines\n")
    assert validate([str(path)], capsys)[0] == 0


def test_a_raw_control_character_is_reported_where_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: "YAML error: unacceptable character" at 1:1, in the parser's words.
    path = tmp_path / "raw.yaml"
    path.write_bytes(b"scenario:\n  title: Crisis\x1b[2J now\n")
    code, _out, err = validate([str(path)], capsys)
    assert code == 2
    assert err == (
        f"{path}:2:16: error: control character U+001B (ESC) is not allowed in a YAML file\n"
    )


# -- integers cannot wrap around --------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "parameters: {troops: {dist: fixed, value: 9200000000000000000,\n"
            "  low: null, mode: null, high: null}}\n",
            "2:43",
        ),
        ("parameters: {troops: {high: 1.0e+300}}\n", "2:29"),
        ("state: {troops_at_border: {min: -1.0e+16}}\n", "2:33"),
        (
            "parameters: {q: {dist: choice, options: {1.0e+20: 1, 2: 1},\n"
            "  cites: [drills-10-20-feb]}}\n",
            "2:42",
        ),
        ("events: {incident: {max_times: 10000000000000000}}\n", "2:32"),
    ],
    ids=["fixed-value", "bound", "state-min", "option", "max-times"],
)
def test_numbers_outside_the_safe_range_are_rejected(
    text: str, where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: accepted; an int state at 9.2e18 + 1000 a day ended at -9.2e18.
    path = scenario(tmp_path, text=text)
    code, _out, err = validate([str(path)], capsys)
    assert code == 2
    assert f"s.yaml:{where}: error: " in err
    assert "is outside the safe range [-1e+15, 1e+15]" in err


OVERFLOW = """\
parameters:
  huge: {dist: fixed, value: 1.0e+15, integer: true, cites: [drills-10-20-feb]}
state:
  big: {type: int, initial: huge}
  bigger: {type: int, initial: huge}
  low: {type: int, initial: -huge}
events:
  drift:
    hazard: 1
    effects: {big: big * 10000.0, bigger: bigger * bigger + 7, low: low * 1000.0 * huge}
    cites: [drills-10-20-feb]
"""


def test_int_state_is_clipped_never_wrapped(tmp_path: Path) -> None:
    # Before: 1e19 cast to int64 gave -9.2e18, and bigger * bigger wrapped around.
    from sim.engine.model import WargameModel

    model = WargameModel(scenario(tmp_path, text=OVERFLOW), replicates=5, rng=1).run()
    values = model.world.values
    assert values["big"].tolist() == [SAFE] * 5
    assert values["bigger"].tolist() == [SAFE] * 5
    assert values["low"].tolist() == [-SAFE] * 5


def test_coercion_to_int_clips_to_the_safe_range() -> None:
    got = coerce(np.array([9.3e18, -1e300, np.inf, np.nan, 2.5, -2.5]), "int", None, None)
    assert got.tolist() == [10**15, -(10**15), 10**15, 0, 3, -2]


@pytest.mark.parametrize(
    ("text", "x", "expected"),
    [
        ("x * x", 2**40, 2**63 - 1),
        ("x * x * -1", 2**40, -(2**63 - 1)),
        ("x + x", 2**62 + 5, 2**63 - 1),
        ("x - 1 - x - x", -(2**62), 2**63 - 1 - 2**62),
        ("x ** 3", 3_000_000, 2**63 - 1),
        ("x * x", 3_000_000_000, 9_000_000_000_000_000_000),
    ],
)
def test_integer_arithmetic_saturates_instead_of_wrapping(text: str, x: int, expected: int) -> None:
    expr = compile_expr(text, {"x": Symbol("x", "int")}, expect="number")
    got = expr.evaluate({"x": np.array([x, x], dtype=np.int64)}, 2)
    assert got.dtype == np.int64
    assert got.tolist() == [expected, expected]


def test_a_pinned_value_outside_the_safe_range_is_refused(tmp_path: Path) -> None:
    from sim.engine.model import WargameModel
    from sim.errors import UsageError

    text = "parameters: {spread: {dist: normal, mean: 0, sd: 1, cites: [drills-10-20-feb]}}\n"
    path = scenario(tmp_path, text=text)
    with pytest.raises(UsageError, match="pinned parameter 'spread': 1e\\+19 is outside"):
        WargameModel(path, replicates=2, rng=1, pinned={"spread": 1e19}).run()


# -- a syntax error names where the construct began --------------------------------------
def test_unclosed_bracket_names_the_line_it_was_opened_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: only where the parser noticed (the end of the file).
    path = tmp_path / "broken.yaml"
    path.write_text(
        "scenario:\n  sources: [mt-carnegie-staging,\n    other\n\nladder: {}\n", encoding="utf-8"
    )
    code, _out, err = validate([str(path)], capsys)
    assert code == 2
    assert err == (
        f"{path}:5:7: error: YAML syntax error: expected ',' or ']', but got ':' while parsing "
        "a flow sequence that began at line 2, column 12\n"
    )


def test_unclosed_quote_names_where_it_began(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("scenario:\n  title: 'A crisis\n  name: x\n", encoding="utf-8")
    code, _out, err = validate([str(path)], capsys)
    assert code == 2
    assert err == (
        f"{path}:4:1: error: YAML syntax error: found unexpected end of stream while scanning "
        "a quoted scalar that began at line 2, column 10\n"
    )


# -- no traceback -------------------------------------------------------------------------
def test_symlink_loop_in_extends_is_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: RuntimeError("Symlink loop") with a traceback.
    (tmp_path / "one.yaml").symlink_to(tmp_path / "two.yaml")
    (tmp_path / "two.yaml").symlink_to(tmp_path / "one.yaml")
    child = scenario(tmp_path, text="", base=False)
    child.write_text("extends: one.yaml\n", encoding="utf-8")
    code, _out, err = validate([str(child), str(tmp_path / "one.yaml")], capsys)
    assert code == 2
    assert err == (
        f"{child}:1:10: error: extends: 'one.yaml' cannot be followed: a symlink loop\n"
        f"{tmp_path / 'one.yaml'}: error: cannot read file: Too many levels of symbolic links\n"
    )


@pytest.mark.parametrize("command_name", ["validate", "run"])
def test_a_start_date_past_the_calendar_is_a_message(
    command_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: OverflowError: date value out of range.
    path = scenario(tmp_path, text="scenario: {start: 9999-12-31}\n")
    code, _out, err = command([command_name, str(path)], capsys)
    assert code == 2
    assert err == (
        f"{path}:2:19: error: scenario.start: 9999-12-31 is outside the supported dates "
        "1800-01-01 to 2200-12-31\n"
    )


def test_an_event_day_past_the_calendar_is_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = scenario(tmp_path, text="events: {exercise: {start: 99999999999, end: null}}\n")
    code, _out, err = validate([str(path)], capsys)
    assert code == 2
    assert "events.exercise.start: day 99999999999 is outside the horizon" in err


def test_a_negative_seed_is_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    # Before: ValueError: expected non-negative integer, from numpy, with a traceback.
    code, _out, err = command(["run", str(BASE), "--seed", "-1"], capsys)
    assert code == 2
    assert "argument --seed: must be a non-negative whole number (got -1)" in err
    assert "Traceback" not in err


def test_running_out_of_memory_is_a_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: MemoryError with a traceback. A real allocation numpy cannot make.
    import sim.narrative

    def story(*args: object, **kwargs: object) -> str:
        return str(np.zeros(10**16).sum())

    monkeypatch.setattr(sim.narrative, "run_story", story)
    code, _out, err = command(["run", str(BASE)], capsys)
    assert code == 2
    assert err.startswith("error: out of memory;")
    assert "Traceback" not in err


# -- citations are always checked --------------------------------------------------------
MADE_UP = "actors: {attacker: {rules: {appetite: {cites: [made-up-claim]}}}}\n"


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scenario citing a made-up claim, outside the repository, run from outside it."""
    path = scenario(tmp_path / "work", text=MADE_UP)
    monkeypatch.chdir(tmp_path)
    return path


def test_a_scenario_outside_the_repository_is_refused(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: "ok", because seeds/claims.yaml was only looked for above the scenario.
    code, out, err = validate([str(elsewhere)], capsys)
    assert (code, out) == (2, "")
    assert err == (
        f"work/s.yaml: error: citations cannot be checked: no seeds/claims.yaml in "
        f"{elsewhere.parent} or any folder above it, nor in the working folder "
        f"{elsewhere.parent.parent} or above it; give --claims FILE, or --no-claims to go on "
        "without checking them\n"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["trace"],
        ["run"],
        ["batch", "--runs", "20", "--no-plots", "-q"],
        ["sweep", "--runs", "20", "--no-plots", "-q", "--vary", "param.appetite=0.2,0.8"],
        ["compare", "{other}", "--runs", "20", "--no-plots", "-q"],
    ],
    ids=lambda a: a[0],
)
def test_every_command_refuses_unchecked_citations(
    argv: list[str], elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a.format(other=elsewhere) for a in argv]
    code, _out, err = command([argv[0], str(elsewhere), *argv[1:]], capsys)
    assert code == 2
    assert "citations cannot be checked" in err
    assert not (elsewhere.parent.parent / "results").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["validate"],
        ["trace"],
        ["run"],
        ["batch", "--runs", "20", "--no-plots", "-q", "--out", "b"],
        [
            "sweep",
            "--runs",
            "20",
            "--no-plots",
            "-q",
            "--vary",
            "param.appetite=0.2,0.8",
            "--out",
            "s",
        ],
        ["compare", "{other}", "--runs", "20", "--no-plots", "-q", "--out", "c"],
    ],
    ids=lambda a: a[0],
)
def test_no_claims_runs_without_checking(
    argv: list[str], elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a.format(other=elsewhere) for a in argv]
    code, _out, err = command([argv[0], str(elsewhere), *argv[1:], "--no-claims"], capsys)
    assert code == 0, err
    assert "citations cannot be checked" not in err


def test_claims_file_is_checked_against(
    elsewhere: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The repository's registry, given explicitly: the made-up id is caught.
    code, _out, err = validate([str(elsewhere), "--claims", str(SEEDS / "claims.yaml")], capsys)
    assert code == 2
    assert "unknown claim id 'made-up-claim'" in err
    # One's own registry, with the claim in it: accepted.
    mine = tmp_path / "mine"
    mine.mkdir()
    shutil.copy(SEEDS / "sources.yaml", mine / "sources.yaml")
    claims = (SEEDS / "claims.yaml").read_text(encoding="utf-8") + (
        "  - id: made-up-claim\n"
        "    sources: [mt-carnegie-staging]\n"
        "    actors: [kremlin]\n"
        "    kind: motive\n"
        "    stated_by: nobody\n"
        "    summary: A claim made up for this test.\n"
    )
    (mine / "my-claims.yaml").write_text(claims, encoding="utf-8")
    code, _out, err = validate([str(elsewhere), "--claims", str(mine / "my-claims.yaml")], capsys)
    assert (code, err) == (0, "")
    code, _out, err = command(["run", str(elsewhere), "--claims", "mine/my-claims.yaml"], capsys)
    assert (code, err) == (0, "")


def test_claims_and_no_claims_exclude_each_other(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = validate([str(elsewhere), "--claims", "x.yaml", "--no-claims"], capsys)
    assert code == 2
    assert "not allowed with argument" in err


def test_the_working_folder_registry_checks_a_scenario_outside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # From inside the repository, its registry applies to a scenario anywhere.
    path = scenario(tmp_path / "work", text=MADE_UP)
    code, _out, err = validate([str(path)], capsys)
    assert code == 2
    assert "unknown claim id 'made-up-claim'" in err


def test_the_registry_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sim.registry import find_claims

    project = tmp_path / "project"
    (project / "seeds").mkdir(parents=True)
    (project / "seeds" / "claims.yaml").write_text("claims: []\n", encoding="utf-8")
    (project / "scenarios" / "deep").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path / "other")
    # 2. above the scenario, however far up.
    assert find_claims(project / "scenarios" / "deep" / "s.yaml") == (
        project / "seeds" / "claims.yaml"
    )
    # 3. otherwise above the working folder (report: above the results folder first).
    assert find_claims(tmp_path / "other" / "s.yaml") is None
    monkeypatch.chdir(project / "scenarios")
    assert find_claims(tmp_path / "other" / "s.yaml") == project / "seeds" / "claims.yaml"
    assert find_claims(None, also=[tmp_path]) is None


def test_library_calls_follow_the_policy(elsewhere: Path) -> None:
    from sim.registry import claims_policy

    with pytest.raises(ValidationError, match="citations cannot be checked"):
        load_scenario(elsewhere)
    with claims_policy(check=False):
        assert load_scenario(elsewhere).name == "border_crisis"
    with claims_policy(SEEDS / "claims.yaml"), pytest.raises(ValidationError, match="made-up"):
        load_scenario(elsewhere)
    assert load_scenario(elsewhere, registry=None).name == "border_crisis"
