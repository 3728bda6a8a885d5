"""``wargame validate`` and ``wargame trace``, called in-process (one subprocess check)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from sim.cli import main
from sim.scenario import load_scenario

SHIPPED = "scenarios/allied_resolve_2022.yaml"
MALFORMED = "tests/malformed"


@pytest.fixture(autouse=True)
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    # Messages name files relative to the working folder, as a user types them.
    monkeypatch.chdir(ROOT)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_shipped_scenario_is_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["validate", SHIPPED], capsys) == (0, f"{SHIPPED}: ok\n", "")


def test_shipped_registry_is_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["validate", "seeds/claims.yaml"], capsys)
    assert (code, err) == (0, "")
    assert out.startswith("seeds/claims.yaml: ok (")
    assert out.rstrip().endswith(" claims, 5 sources)")


def test_every_bad_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    files = [
        f"{MALFORMED}/unknown_claim.yaml",
        SHIPPED,
        f"{MALFORMED}/all_errors_at_once.yaml",
        str(empty),
        f"{MALFORMED}/extends_missing.yaml",
    ]
    code, out, err = run(["validate", *files], capsys)
    assert code == 2
    assert out == f"{SHIPPED}: ok\n"  # a good file among bad ones is still checked
    errors = err.splitlines()
    assert all(": error: " in line for line in errors)
    by_file = [line.split(":", 1)[0] for line in errors]
    # In the order given, every error of every file (three in all_errors_at_once).
    assert by_file == [
        f"{MALFORMED}/unknown_claim.yaml",
        f"{MALFORMED}/all_errors_at_once.yaml",
        f"{MALFORMED}/all_errors_at_once.yaml",
        f"{MALFORMED}/all_errors_at_once.yaml",
        str(empty),
        f"{MALFORMED}/extends_missing.yaml",
    ]
    assert "Traceback" not in err


def test_set_with_unknown_path(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["validate", SHIPPED, "--set", "scenario.sed=3"], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("--set:1:1: error: unknown key 'sed' in scenario; did you mean 'seed'?")


def test_set_applies_and_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["validate", SHIPPED, "--set", "scenario.seed=3", "--set", "ladder.incident.mid_level=0"]
    code, _, err = run(argv, capsys)
    assert code == 2
    assert err == (
        f"--set:2:{len('ladder.incident.mid_level') + 2}: error: ladder.incident.mid_level: "
        "0 is outside the allowed range [1, 5]\n"
    )
    assert run(["validate", SHIPPED, "--set", "scenario.seed=3"], capsys)[0] == 0


UNCITED = """\
scenario: {name: uncited, title: Uncited rule, start: 2022-01-01, horizon_days: 5}
ladder:
  calm: {name: Calm, mid_level: 1}
  war: {name: War, mid_level: 5}
actors:
  a:
    name: A
    actions:
      wait: {default: true}
      go: {escalate_to: war}
    rules:
      cited: {kind: preference, action: go, utility: -1, cites: [war-only-if-attacked]}
      hunch: {kind: trigger, action: go, prob: 0.1, cites: []}
outcomes:
  calm: {name: Calm}
  war: {name: War, when: peak >= rungs.war}
"""


def test_uncited_rule_is_a_warning_not_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "uncited.yaml"
    path.write_text(UNCITED, encoding="utf-8")
    code, out, err = run(["validate", str(path)], capsys)
    assert (code, out) == (0, f"{path}: ok\n")
    assert err == f"{path}:13:14: warning: actors.a.rules.hunch: rule cites no claim\n"

    code, out, _ = run(["trace", "--strict", str(path)], capsys)
    assert code == 1
    assert "WARNING: 1 rule(s) cite no claim: hunch" in out
    assert run(["trace", str(path)], capsys)[0] == 0


def test_trace_of_shipped_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    n = len(load_scenario(SHIPPED).rules)
    code, out, err = run(["trace", SHIPPED], capsys)
    assert (code, err) == (0, "")
    assert f"All {n} rules cite at least one claim." in out
    assert "Rules and the claims they cite:" in out
    assert run(["trace", "--strict", SHIPPED], capsys)[0] == 0


def test_trace_of_bad_file_is_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["trace", f"{MALFORMED}/unknown_claim.yaml"], capsys)
    assert (code, out) == (2, "")
    assert "unknown claim id 'drills-10-20-fab'" in err


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([], capsys)
    assert code == 2
    assert "validate" in out


def test_validate_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["validate", "--help"])
    assert exc.value.code == 0
    assert "--set PATH=VALUE" in capsys.readouterr().out


def test_validate_needs_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["validate"])
    assert exc.value.code == 2
    assert "FILE" in capsys.readouterr().err


def test_python_dash_m_sim() -> None:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "validate", SHIPPED, f"{MALFORMED}/unknown_rung.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == f"{SHIPPED}: ok\n"
    assert proc.stderr.startswith(f"{MALFORMED}/unknown_rung.yaml:7:29: error: ")
    assert "Traceback" not in proc.stderr


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    """``wargame validate ... | head``: the pipe closes before the output is written;
    the command stops with the shell's SIGPIPE code and no traceback."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "validate",
            *[str(p) for p in sorted(ROOT.glob("scenarios/*.yaml"))],
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr


_EXIT_NOW = """
import atexit, sys, threading
from sim.cli.common import exit_now
atexit.register(lambda: print("handlers ran"))
print("output", end=" ")
if sys.argv[1] == "thread":
    stop = threading.Event()
    threading.Thread(target=stop.wait, args=(5,)).start()
    exit_now(3)
    print("kept the usual exit", end=" ")
    stop.set()
    sys.exit(4)
exit_now(3)
print("not reached")
"""


@pytest.mark.parametrize(("mode", "code", "text"), [
    ("plain", 3, "output handlers ran"),
    ("thread", 4, "output kept the usual exit handlers ran"),
])  # fmt: skip
def test_exit_now_flushes_runs_the_exit_handlers_and_ends(mode: str, code: int, text: str) -> None:
    """The command line's end: output flushed, atexit handlers run, no teardown; with
    another thread running, the usual exit instead."""
    done = subprocess.run(
        [sys.executable, "-c", _EXIT_NOW, mode], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout.strip()) == (code, text), done.stderr


@pytest.mark.parametrize(
    ("given", "want"), [(None, "1"), ("3", "3")], ids=["unset: one thread", "the user's"]
)
def test_the_command_gives_blas_one_thread_unless_told(given: str | None, want: str) -> None:
    """``wargame`` started as a program runs numpy's BLAS on one thread (its second
    thread would spin on the other core, taken from the workers), unless the user set
    ``OPENBLAS_NUM_THREADS``; the value reaches the workers it starts, by inheritance."""
    probe = (
        "import os\n"
        "import sim.cli as cli\n"
        "cli._command = lambda argv: print(os.environ.get('OPENBLAS_NUM_THREADS')) or 0\n"
        "cli.exit_now = lambda code: None\n"
        "cli.main()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    got = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert got.stdout.strip().splitlines()[-1] == want, got.stderr
