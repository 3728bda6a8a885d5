"""The batch commands, called in-process."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import DEFAULT_SCENARIO

from sim.batch import plan, runner, sweep
from sim.cli import main
from sim.results.reader import load_results

SCENARIO = str(DEFAULT_SCENARIO)


@pytest.mark.parametrize("command", ["batch", "sweep", "compare", "plot"])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert command in capsys.readouterr().out


def test_top_level_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(c in out for c in ("batch", "sweep", "compare", "plot"))


def test_batch_command(tmp_path, capsys):
    out = tmp_path / "b"
    code = main(
        ["batch", SCENARIO, "--runs", "400", "--seed", "3", "--out", str(out), "--no-plots"]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "De-escalation" in text and "95% interval" in text
    assert f"results: {out}" in text
    m = json.loads((out / "manifest.json").read_text())
    assert m["runs"] == 400 and m["seed"] == 3
    assert (out / "runs.csv").is_file()


def test_batch_default_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["batch", SCENARIO, "--runs", "50", "--no-plots", "--quiet"]) == 0
    assert main(["batch", SCENARIO, "--runs", "50", "--no-plots", "--no-runs-table"]) == 0
    made = sorted(p for p in (tmp_path / "results" / "allied_resolve_2022").iterdir())
    assert len([p for p in made if p.name != "latest"]) == 2


def test_batch_with_plots(tmp_path, capsys):
    pytest.importorskip("sim.plots")
    out = tmp_path / "p"
    assert main(["batch", SCENARIO, "--runs", "200", "--out", str(out), "--no-plots"]) == 0
    assert not (out / "plots").exists()
    assert main(["plot", str(out)]) == 0
    assert any((out / "plots").glob("*.png"))


@pytest.mark.parametrize(
    "argv",
    [
        ["sweep", SCENARIO, "--vary", "param.kremlin_appetite=0.1:0.9:0", "--runs", "10"],
        ["sweep", SCENARIO, "--vary", "kremlin_appetite", "--runs", "10"],
        ["sweep", SCENARIO, "--vary", "param.x=1:2", "--runs", "10"],
        ["batch", SCENARIO, "--runs", "0"],
        ["batch", SCENARIO, "--runs", "10", "--set", "parameters.nope.a=1"],
        ["batch", SCENARIO, "--runs", "10", "--pin", "kremlin_appetite"],
        ["batch", SCENARIO, "--runs", "10", "--executor", "serial", "--workers", "2"],
        ["batch", "no/such/file.yaml"],
        ["plot", "no/such/folder"],
        ["compare", "no/such/a", "no/such/b"],
    ],
)
def test_bad_input_exits_2_with_one_message(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip() and "Traceback" not in err
    assert not (tmp_path / "results").exists() or not list((tmp_path / "results").rglob("*.json"))


def test_sweep_command(tmp_path, capsys):
    out = tmp_path / "s"
    argv = ["sweep", SCENARIO, "--vary", "param.kremlin_appetite=0.2,0.8", "--runs", "100"]
    assert main([*argv, "--out", str(out), "--no-plots"]) == 0
    text = capsys.readouterr().out
    assert "2 design points (grid)" in text and "p_staging_area_war" in text
    assert (out / "points.csv").is_file()


def test_compare_command(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["batch", SCENARIO, "--runs", "100", "--out", str(a), "--no-plots"]) == 0
    assert main(["batch", SCENARIO, "--runs", "100", "--out", str(b), "--no-plots",
                 "--pin", "kremlin_appetite=0.9"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "c"), "--no-plots"]) == 0
    text = capsys.readouterr().out
    assert "B - A" in text and "War from Belarusian territory" in text
    assert (tmp_path / "c" / "compare.json").is_file()


# -- file-system failures of the results folder ------------------------------------
@pytest.fixture
def tmpfs(tmp_path):
    """Mount small tmpfs file systems (root only); skip where the machine does not allow it.

    The fake-``OSError`` tests below cover the same paths everywhere.
    """
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        if os.geteuid() != 0 or shutil.which("mount") is None:
            pytest.skip("mounting a tmpfs needs root and mount(8)")
        where = tmp_path / f"fs{len(mounted)}"
        where.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True
        )
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", str(where)], check=True)


def _fails_cleanly(argv, where: Path, reason: str, area: Path, capsys) -> None:
    """The command exits 2 with one message naming ``where``; nothing in ``area`` looks
    complete, nor stays half-written."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(where) in err and reason in err
    assert not list(area.rglob("manifest.json")) and not list(area.rglob(".tmp-*"))


def _batch(out: Path, runs: int = 2000) -> list[str]:
    return ["batch", SCENARIO, "--runs", str(runs), "--out", str(out), "--no-plots", "-q"]


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ("size=64k", "No space left on device"),  # runs.csv alone is ~400 kB
        ("size=1m,nr_inodes=4", "No space left on device"),  # room for 2 of 5 files
        ("ro,size=64k", "Read-only file system"),
    ],
    ids=["disk-full", "inodes-full", "read-only"],
)
def test_out_on_a_failing_file_system(tmpfs, options, reason, capsys):
    fs = tmpfs(options)
    _fails_cleanly(_batch(fs / "b"), fs / "b", reason, fs, capsys)
    assert list(fs.iterdir()) == []


def test_disk_full_while_writing_the_summary(tmp_path, monkeypatch, capsys):
    def full(path, obj):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(runner, "write_json", full)  # where the batch writes summary.json
    _fails_cleanly(_batch(tmp_path / "b", 50), tmp_path / "b", "No space left", tmp_path, capsys)


def test_permission_denied_on_the_parent(tmp_path, monkeypatch, capsys):
    def denied(prefix=None, dir=None, **kw):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dir))

    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    _fails_cleanly(_batch(tmp_path / "b", 50), tmp_path, "Permission denied", tmp_path, capsys)
    assert list(tmp_path.iterdir()) == []


def test_dangling_symlink_as_out(tmp_path, capsys):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")
    _fails_cleanly(_batch(link, 50), link, "symbolic link", tmp_path, capsys)
    assert not (tmp_path / "nowhere").exists()


def test_default_folder_under_a_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").write_text("not a folder")
    assert main(["batch", SCENARIO, "--runs", "50", "--no-plots", "-q"]) == 2
    err = capsys.readouterr().err
    assert "results" in err and "not a folder" in err and "Traceback" not in err


def test_latest_that_cannot_be_written_fails_after_the_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    group = tmp_path / "results" / "allied_resolve_2022"
    (group / "latest").mkdir(parents=True)  # in the way: a real folder, not a link
    (group / "latest" / "mine.txt").write_text("keep me")
    assert main(["batch", SCENARIO, "--runs", "50", "--no-plots", "-q"]) == 2
    err = capsys.readouterr().err
    assert f"{Path('results') / 'allied_resolve_2022' / 'latest'}: cannot point it" in err
    (made,) = [p for p in group.iterdir() if p.name != "latest"]
    assert f"the results are complete in {Path('results') / group.name / made.name}" in err
    assert load_results(made).manifest["runs"] == 50
    assert (group / "latest" / "mine.txt").read_text() == "keep me"


# -- work-size limits ----------------------------------------------------------------
@pytest.fixture
def no_planning(monkeypatch):
    """Make planning fail loudly: limits must refuse before any task is planned."""

    def fail(*args, **kwargs):
        raise AssertionError("planned work that the limits should have refused")

    for module in (runner, sweep, plan):
        monkeypatch.setattr(module, "plan_point", fail)


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["batch", SCENARIO, "--runs", str(10**12)], {},
         "the limit is 100,000,000 worlds: lower --runs, or raise it with WARGAME_MAX_WORLDS="),
        (["batch", SCENARIO, "--runs", "300000", "--chunk-size", "1"], {},
         "makes 300,000 chunks; the limit is 200,000 chunks: use a larger --chunk-size"),
        (["sweep", SCENARIO, "--vary", "param.kremlin_appetite=0:1:200",
          "--vary", "param.ukraine_retaliation=0:1:100", "--runs", "10"], {},
         "the grid 200 x 100 makes 20,000 design points; the limit is 10,000 design points"),
        (["sweep", SCENARIO, "--vary", "param.kremlin_appetite=0:1:10", "--runs", str(2 * 10**7)],
         {}, "--runs 20,000,000 at 10 design points is 200,000,000 worlds; the limit is"),
        (["batch", SCENARIO, "--runs", "12000"], {"WARGAME_MAX_CHUNK_MB": "10"},
         "a chunk of 10,000 worlds of scenario 'allied_resolve_2022' needs about 34 MB of memory"
         " per worker (4 actors, 21 rules, 15 actions, 70 days); the limit is 10 MB per chunk: "
         "use a smaller --chunk-size"),
        (["batch", SCENARIO, "--runs", "100"], {"WARGAME_MAX_WORLDS": "lots"},
         "WARGAME_MAX_WORLDS='lots': expected a whole number >= 1"),
    ],
    ids=["runs", "chunks", "sweep-points", "sweep-worlds", "chunk-memory", "bad-variable"],
)  # fmt: skip
def test_work_over_the_limits_is_refused_before_planning(
    argv, env, message, no_planning, monkeypatch, tmp_path, capsys
):
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "results").exists()


def test_a_raised_limit_lets_the_work_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WARGAME_MAX_WORLDS", "40")
    assert main(_batch(tmp_path / "no", 50)) == 2
    monkeypatch.setenv("WARGAME_MAX_WORLDS", "50")
    assert main(_batch(tmp_path / "yes", 50)) == 0
