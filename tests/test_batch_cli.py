"""The batch commands, called in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.cli import main

SCENARIO = str(Path(__file__).resolve().parents[1] / "scenarios" / "allied_resolve_2022.yaml")


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
