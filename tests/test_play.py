"""``wargame play`` driven for real: a pseudo-terminal, a person's keystrokes, the files written.

The game as the Kremlin goes through a choice, a wait, a rewind into a new
branch, a save, a load of that file and the review (text and HTML); the
scripted seat (``--moves``) plays a file without a prompt. Every game here
uses a few worlds per prediction, so each screen costs little.
"""

from __future__ import annotations

import io
import os
import sys
import time

import pexpect
import pytest
import yaml
from conftest import DEFAULT_SCENARIO, ROOT

from sim.cli import main
from sim.errors import UsageError
from sim.play.commands import parse
from sim.review.text import WIDTH

WORLDS = "12"
TIMEOUT = 240


def _spawn(args: list[str], cwd: os.PathLike[str]) -> pexpect.spawn:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "COLUMNS": "80"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sim", "play", *args],
        cwd=str(cwd),
        env=env,
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(50, 80),
    )
    child.logfile_read = io.StringIO()
    return child


def _prompt(branch: str, day: int | str) -> str:
    where = day if isinstance(day, str) else f"day {day}"
    return rf"\[{branch} · {where}\] The Kremlin> "


def _step(child: pexpect.spawn, line: str, branch: str, day: int | str) -> str:
    """Type ``line``; return what the game printed up to its next prompt."""
    child.sendline(line)
    child.expect(_prompt(branch, day))
    return _text(child)


def _flat(text: str) -> str:
    """``text`` with every run of white space one space (lines wrapped for 80 columns)."""
    return " ".join(text.split())


def _text(child: pexpect.spawn) -> str:
    """What the terminal showed before the last match, with the terminal's line ends."""
    return str(child.before).replace("\r\n", "\n")


# -- the prompt's commands ------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "word", "days", "day"),
    [
        ("2", "choose", 1, None),
        ("launch_offensive", "choose", 1, None),
        ("wait", "wait", 1, None),
        ("wait 5", "wait", 5, None),
        ("w 3", "wait", 3, None),
        ("doctrine 4", "doctrine", 4, None),
        ("rewind 12", "rewind", 1, 12),
        ("rewind d12", "rewind", 1, 12),
        ("BRANCHES", "branches", 1, None),
        ("q", "quit", 1, None),
    ],
)
def test_a_line_is_one_command(line: str, word: str, days: int, day: int | None) -> None:
    cmd = parse(line)
    assert cmd is not None and (cmd.word, cmd.days, cmd.day) == (word, days, day)


def test_a_date_is_a_day_to_rewind_to() -> None:
    cmd = parse("rewind 2022-02-06")
    assert cmd is not None and cmd.date is not None and cmd.date.isoformat() == "2022-02-06"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("wait soon", "wait takes a number of days"),
        ("wait 0", "from 1"),
        ("rewind", "rewind needs a day"),
        ("rewind yesterday", "rewind takes a day"),
        ("save", "save needs a file"),
        ("b x", "could be branches or branch"),
        ("frob a b", "unknown command 'frob'"),
        ("wait 1 2", "unexpected '2'"),
    ],
)
def test_a_bad_line_says_what_would_be_understood(line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse(line)


# -- a game as the Kremlin, in a pseudo-terminal ----------------------------------------
def test_a_game_as_the_kremlin_with_a_rewind_a_branch_a_save_and_a_review(tmp_path) -> None:
    child = _spawn([str(DEFAULT_SCENARIO), "--as", "kremlin", "--worlds", WORLDS], tmp_path)
    child.expect(_prompt("main", 0))
    first = _text(child)
    # What the Kremlin knows, and what it may do today with the rules and claims.
    assert "Monday 17 January 2022 · day 0 of 70 · The Kremlin · branch main" in first
    assert "kremlin_appetite" in first  # its own private trait
    for hidden in ("us_resolve", "lukashenka_doctrine", "ukraine_retaliation", "moscow_hold"):
        assert hidden not in first  # the others' private traits are not shown
    assert "forbidden by offensive_needs_forward_force [units-40-50km-chernihiv" in first
    assert "Doctrine would take: Wait (wait)" in first
    assert "Predicted consequences" in first and "War from Belarusian territory" in first
    assert max(len(x) for x in first.splitlines()) <= WIDTH

    # Twenty days of waiting: the story of each day in the narrative's words.
    waited = _flat(_step(child, "wait 20", "main", 20))
    assert "2022-01-17 d0 event Drills announced" in waited
    assert "escalates: Standoff -> Show of force (MID 3)" in waited
    assert "allowed by offensive_needs_forward_force" in waited  # the forward units are there

    # A choice the doctrine would not make; a bad command is one line, then the prompt again.
    chose = _flat(_step(child, "2", "main", 21))
    assert "kremlin Launch offensive" in chose
    assert "-> Offensive from Belarus (MID 5)" in chose
    bad = _flat(_step(child, "frobnicate", "main", 21))
    assert "! 'frobnicate' is neither an action nor a command" in bad
    assert "Traceback" not in bad
    assert "! day 30 is not earlier than today" in _step(child, "rewind 30", "main", 21)
    for line in ("load missing.yaml", "save no/such/folder/game.yaml"):
        said = _flat(_step(child, line, "main", 21))
        assert "! " in said and line.split()[1] in said and "Traceback" not in said

    # Back to day 10 in a new branch; the first branch stays as it was.
    back = _flat(_step(child, "rewind 10", "b1", 10))
    assert "the game goes on in the new branch b1 (branch main stays as it was)" in back
    listed = _step(child, "branches", "b1", 10)
    assert "main         day 21   21 moves  the first" in listed
    assert "* b1           day 10   10 moves  from main at day 10" in listed
    _step(child, "doctrine 3", "b1", 13)
    _step(child, "save game.yaml", "b1", 13)
    child.sendline("quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.logfile_read.getvalue()[-2000:]

    saved = yaml.safe_load((tmp_path / "game.yaml").read_text(encoding="utf-8"))
    assert saved["seats"] == ["kremlin"] and (saved["branch"], saved["day"]) == ("b1", 13)
    main_line = saved["branches"]["main"]  # the branch left, beside the one being played
    assert main_line["day"] == 21 and len(main_line["moves"]) == 21
    offensive = {"actor": "kremlin", "date": "2022-02-06", "action": "launch_offensive"}
    assert offensive in main_line["moves"]
    assert len(saved["moves"]) == 10  # b1 kept the ten waits before day 10; doctrine since

    # Loaded again: the same branches; the review of main, as text and as a page.
    child = _spawn(["--load", "game.yaml", "--worlds", WORLDS], tmp_path)
    child.expect(_prompt("b1", 13))
    _step(child, "branch main", "main", 21)
    review = _step(child, "review review.html", "main", 21)
    assert max(len(x) for x in review.splitlines()) <= WIDTH
    review = _flat(review)
    assert "After-action review: Allied Resolve 2022" in review
    assert "2022-02-06 d20 chose Launch offensive" in review
    assert "doctrine would have: Wait (no rule: its default)" in review
    assert "2022-01-17 d0-19 waited, 20 days (Wait), as doctrine would have" in review
    assert "2022-02-06 d20 escalates:" in review and "-> Offensive from Belarus (MID 5)" in review
    assert "Your path against your doctrine's, over the same 12 worlds" in review
    page = (tmp_path / "review.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3
    assert "Launch offensive" in page and "<h2 id=paths>Your path against your doctrine" in page
    child.sendeof()
    child.expect("End of input")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


# -- a game as Lukashenka, in process ----------------------------------------------------
def test_lukashenka_sees_his_belief_and_the_trigger_of_the_warning_day() -> None:
    from sim.play.session import play

    out = io.StringIO()
    keys = io.StringIO("wait 9\nquit\n")
    play(str(DEFAULT_SCENARIO), "lukashenka", worlds=int(WORLDS), stdin=keys, stdout=out)
    text = out.getvalue()
    day9 = _flat(text.split("Wednesday 26 January 2022 · day 9")[1])
    assert "you believe us_resolve: firm" in day9  # his belief, moved by the warning or not
    assert "lukashenka_doctrine" in text and "moscow_hold" in text  # his own traits
    assert "kremlin_appetite" not in text and "us_resolve firm" not in text
    assert "for it: answer_the_warning (trigger) [regime-survival-first" in day9
    assert "Refuse territory" in day9 and "Goodbye." in text


# -- a scripted seat -----------------------------------------------------------------
def test_a_moves_file_plays_without_a_prompt_and_tells_the_same_story(tmp_path, capsys) -> None:
    moves = tmp_path / "moves.yaml"
    moves.write_text(
        "- {actor: kremlin, date: 2022-02-06, action: launch_offensive, note: strike early}\n",
        encoding="utf-8",
    )
    page = tmp_path / "r.html"
    argv = ["play", str(DEFAULT_SCENARIO), "--as", "kremlin", "--moves", str(moves)]
    code = main([*argv, "--worlds", WORLDS, "--review-out", str(page)])
    out = _flat(capsys.readouterr().out)
    assert code == 0
    assert "2022-02-06 d20 you Launch offensive (strike early)" in out
    assert "2022-02-06 d20 event Forward deployment" in out
    assert "kremlin Launch offensive" in out
    assert "The game has ended on 2022-03-27" in out
    assert "After-action review" in out and "note: strike early" in out
    assert "data:image/png;base64," in page.read_text(encoding="utf-8")


def test_bad_arguments_are_one_message_and_exit_code_2(tmp_path, capsys) -> None:
    assert main(["play", str(DEFAULT_SCENARIO), "--as", "tsar", "--worlds", "5"]) == 2
    assert "tsar" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {actor: kremlin, day: 3, action: nuke}\n", encoding="utf-8")
    argv = ["play", str(DEFAULT_SCENARIO), "--as", "kremlin", "--moves", str(bad)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{bad}:1:" in err and "no action 'nuke'" in err
    kremlin = tmp_path / "kremlin.yaml"
    kremlin.write_text("- {actor: kremlin, day: 20, action: launch_offensive}\n", encoding="utf-8")
    argv = ["play", str(DEFAULT_SCENARIO), "--as", "nato", "--moves", str(kremlin)]
    assert main([*argv, "--worlds", "5"]) == 2
    assert "has moves for kremlin, and you play nato" in capsys.readouterr().err


def test_slow_work_says_what_it_does_and_how_far_it_got() -> None:
    from sim.play.session import working

    out = io.StringIO()
    with working(out, "predicting", after=0.0) as progress:
        time.sleep(0.2)
        progress(1, 2)
        progress(2, 2)
    text = out.getvalue()
    assert text.startswith("predicting...") and " 1/2 2/2 done in " in text
    assert text.endswith(" s\n") and max(len(x) for x in text.splitlines()) <= WIDTH
    long = io.StringIO()
    with working(long, "x" * 70, after=0.0) as progress:
        time.sleep(0.1)
        for k in range(1, 6):
            progress(k, 5)
    assert max(len(x) for x in long.getvalue().splitlines()) <= WIDTH
    quiet = io.StringIO()
    with working(quiet, "predicting", after=60.0) as progress:
        progress(1, 1)
    assert quiet.getvalue() == ""


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch) -> None:
    from sim.play.screen import Style

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert Style.for_stream(Tty()).bad("x") == "\x1b[31mx\x1b[0m"
    assert Style.for_stream(io.StringIO()).bad("x") == "x"
    monkeypatch.setenv("NO_COLOR", "1")
    assert Style.for_stream(Tty()).bold("x") == "x"
