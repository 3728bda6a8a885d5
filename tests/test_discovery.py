"""Scenario discovery (``wargame discover``) finds known boxes in toy batches.

In the toy, war happens on the first day exactly when ``p1 > 0.6`` and
``p2 < 0.4``; ``p3`` is read by nothing. All three are uniform on [0, 1],
so 0.4 x 0.4 = 16% of worlds end in war, and the box PRIM should find is
``p1 >= 0.6, p2 <= 0.4``, with density 1 and coverage 1.

How near the limits must be. Each peel takes ``peel_alpha`` (5%) of the
box's worlds off one side, so the boxes on the trajectory step past the
true limits in jumps: near the end, where the box is about 0.4 wide in
``p1`` and ``p2``, one peel moves a limit by about 5% of 0.45 (0.0225).
The box chosen may thus lie up to one peel outside a true limit (coverage
1, density a little under 1) or inside it (density 1, coverage a little
under 1). A limit is the midpoint of two neighbouring draws, which inside
a box of N·0.16 worlds are about 1/(N·0.4) apart along one parameter
(0.0006 for N = 4,000); five such gaps are allowed for the irregularity of
the draws. Density and coverage may each lose one peel per restricted
parameter: at least 1 - 2·peel_alpha.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys

import pytest

from sim.batch.runner import run_batch
from sim.cli import main
from sim.discovery import (
    MIN_CASES,
    choose,
    discover,
    discoveries_of,
    load_discovery,
    write_discovery,
)
from sim.errors import ResultsError, UsageError

WORLDS = 4000
PEEL = 0.05
GAP = 5 / (WORLDS * 0.4)
"""Five gaps between neighbouring draws along one parameter of the box (see above)."""
STEP = PEEL * 0.45 + GAP
"""How far a limit may lie from the true one: one peel of the box, plus the gaps."""

TOY = """
scenario: {name: box_toy, title: Box toy, start: 2022-01-01, horizon_days: 3, seed: 1}
ladder:
  calm: {name: Calm, mid_level: 1}
  war: {name: War, mid_level: 5}
outcomes:
  quiet: {name: Quiet}
  war: {name: War in the box, when: peak >= rungs.war}
flags:
  struck: {name: Struck, when: struck}
state:
  struck: {type: bool, initial: false}
parameters:
  p1: {dist: uniform, low: 0.0, high: 1.0, cites: [kremlin-appetite-decides]}
  p2: {dist: uniform, low: 0.0, high: 1.0, cites: [kremlin-appetite-decides]}
  p3: {dist: uniform, low: 0.0, high: 1.0, cites: [kremlin-appetite-decides]}
actors:
  a:
    name: A
    actions:
      wait: {default: true}
      attack: {once: true, escalate_to: war, effects: {struck: true}}
    rules:
      go: {kind: trigger, action: attack, when: p1 > 0.6 and p2 < 0.4,
           cites: [kremlin-appetite-decides]}
"""

# A choice and a whole-number parameter: war exactly when the colour is red
# and n is at least 7 (n uniform over the whole numbers 0..10).
CHOICE = (
    TOY.replace("box_toy", "choice_toy")
    .replace(
        "  p3: {dist: uniform, low: 0.0, high: 1.0, cites: [kremlin-appetite-decides]}\n",
        "  p3: {dist: uniform, low: 0.0, high: 1.0, cites: [kremlin-appetite-decides]}\n"
        "  colour: {dist: choice, options: {red: 0.4, blue: 0.3, green: 0.3},"
        " cites: [kremlin-appetite-decides]}\n"
        "  n: {dist: uniform, low: -0.5, high: 10.5, integer: true,"
        " cites: [kremlin-appetite-decides]}\n",
    )
    .replace("when: p1 > 0.6 and p2 < 0.4", "when: colour == 'red' and n >= 7")
)


@pytest.fixture(scope="module")
def toy_batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy")
    path = folder / "toy.yaml"
    path.write_text(TOY, encoding="utf-8")
    return run_batch(path, runs=WORLDS, seed=3, out=folder / "batch", progress=False)


def _limits(found) -> dict[str, tuple[float, float]]:
    return {r["parameter"]: (r["lower"], r["upper"]) for r in found.box.to_dict("records")}


def test_the_known_box_is_found(toy_batch) -> None:
    found = discover(toy_batch, outcome="war", peel_alpha=PEEL)
    box = found.summary["box"]
    assert set(_limits(found)) == {"p1", "p2"}  # p3 is never restricted
    (lo1, hi1), (lo2, hi2) = _limits(found)["p1"], _limits(found)["p2"]
    assert abs(lo1 - 0.6) <= STEP, lo1
    assert abs(hi2 - 0.4) <= STEP, hi2
    assert hi1 == found.box.loc[0, "full_upper"] and lo2 == found.box.loc[1, "full_lower"]
    # every war world has p1 > 0.6 and p2 < 0.4: a box that gets them all is all war
    assert box["density"] >= 1 - 2 * PEEL, box
    assert box["coverage"] >= 1 - 2 * PEEL, box
    cases = found.summary["cases"]
    assert abs(cases / WORLDS - 0.16) < 4 * math.sqrt(0.16 * 0.84 / WORLDS)
    assert found.box["significant"].tolist() == [1, 1]


def test_the_words_name_the_two_parameters_and_their_limits(toy_batch) -> None:
    found = discover(toy_batch, outcome="war")
    sentence = found.summary["box"]["sentence"]
    assert sentence.startswith("War in the box in ")
    p1 = re.search(r"\bp1 ≥ ([0-9.]+)", sentence)
    p2 = re.search(r"\bp2 ≤ ([0-9.]+)", sentence)
    assert p1 and p2, sentence
    assert abs(float(p1[1]) - 0.6) <= STEP + 0.005 and abs(float(p2[1]) - 0.4) <= STEP + 0.005
    assert "p3" not in sentence
    base = re.search(r"base rate (\d+)%", sentence)
    assert base and abs(int(base[1]) - 16) <= 1, sentence
    assert "Significant restrictions" in found.summary["box"]["significance"]
    assert "Not significant" not in found.summary["box"]["significance"]


def test_the_same_batch_gives_the_same_box_csv(toy_batch, tmp_path) -> None:
    a = write_discovery(discover(toy_batch, outcome="war"), out=tmp_path / "a")
    b = write_discovery(discover(toy_batch, outcome="war"), out=tmp_path / "b")
    for name in ("box.csv", "trajectory.csv"):
        assert (a.folder / name).read_bytes() == (b.folder / name).read_bytes()


def test_a_flag_is_a_target_too(toy_batch) -> None:
    found = discover(toy_batch, flag="struck")
    assert found.summary["target"] == {"kind": "flag", "id": "struck", "name": "Struck"}
    assert set(_limits(found)) == {"p1", "p2"}


def test_choices_are_categories_and_whole_numbers_stay_whole(tmp_path) -> None:
    path = tmp_path / "choice.yaml"
    path.write_text(CHOICE, encoding="utf-8")
    batch = run_batch(path, runs=WORLDS, seed=4, out=tmp_path / "batch", progress=False)
    found = discover(batch, outcome="war")
    rows = {r["parameter"]: r for r in found.box.to_dict("records")}
    assert set(rows) == {"colour", "n"}
    assert rows["colour"]["kind"] == "choice" and rows["colour"]["kept"] == "red"
    assert rows["colour"]["options"] == "blue;green;red"
    assert rows["n"]["kind"] == "integer"
    assert (rows["n"]["lower"], rows["n"]["upper"]) == (7.0, 10.0)
    assert found.summary["box"]["density"] == 1.0
    assert found.summary["box"]["coverage"] == 1.0
    sentence = found.summary["box"]["sentence"]
    assert "colour is red" in sentence and "n ≥ 7" in sentence


def test_the_chosen_box_is_the_widest_dense_enough() -> None:
    import pandas as pd

    t = pd.DataFrame(
        {
            "box": [0, 1, 2, 3],
            "coverage": [1.0, 0.9, 0.9, 0.5],
            "density": [0.2, 0.7, 0.85, 0.95],
            "restricted": [0, 1, 2, 2],
        }
    )
    assert choose(t, 0.8) == (2, True)
    assert choose(t, 0.9) == (3, True)
    assert choose(t, 0.99) == (3, False)  # none reaches it: the densest


def test_folder_manifest_and_finding_it_from_the_batch(toy_batch, tmp_path) -> None:
    import shutil

    batch = tmp_path / "batch"
    shutil.copytree(toy_batch.folder, batch)
    assert main(["discover", str(batch), "--outcome", "war", "-q"]) == 0
    folder = tmp_path / "batch-discovery-war"
    m = json.loads((folder / "manifest.json").read_text())
    assert m["kind"] == "discovery" and m["target"]["id"] == "war"
    assert set(m["tables"]) == {"trajectory.csv", "box.csv"}
    assert sorted(p.name for p in (folder / "plots").iterdir()) == [
        "discovery_box.png",
        "discovery_box.svg",
        "discovery_trajectory.png",
        "discovery_trajectory.svg",
    ]
    traj = load_discovery(folder).trajectory
    assert traj["chosen"].sum() == 1
    summary = json.loads((folder / "summary.json").read_text())
    assert traj.loc[traj["chosen"] == 1, "box"].item() == summary["box"]["index"]
    # a second run goes beside the first; both are found, oldest first
    assert main(["discover", str(batch), "--flag", "struck", "-q", "--no-plots"]) == 0
    found = discoveries_of(batch)
    assert [d.folder.name for d in found] == ["batch-discovery-war", "batch-discovery-flag-struck"]
    assert found[0].summary["box"]["sentence"].startswith("War in the box")
    # the manifests keep whole seconds: two of the same second go in the order written
    second = tmp_path / "batch-discovery-flag-struck"
    for f, when in ((folder, 1_000), (second, 2_000)):
        mf = json.loads((f / "manifest.json").read_text())
        mf["finished"] = "2026-01-01T00:00:00+00:00"
        (f / "manifest.json").write_text(json.dumps(mf))
        os.utime(f / "manifest.json", ns=(when, when))
    found = discoveries_of(batch)
    assert [d.folder.name for d in found] == ["batch-discovery-war", "batch-discovery-flag-struck"]
    # an edited table is refused
    with (folder / "box.csv").open("a") as f:
        f.write("x\n")
    with pytest.raises(ResultsError, match=r"box\.csv"):
        load_discovery(folder)
    assert [d.folder.name for d in discoveries_of(batch)] == ["batch-discovery-flag-struck"]


def _one_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0]


def test_bad_input_is_one_message_and_exit_2(toy_batch, tmp_path, capsys) -> None:
    batch = str(toy_batch.folder)
    msg = _one_error(capsys, ["discover", batch, "--outcome", "wra"])
    assert "no such outcome" in msg and "did you mean 'war'?" in msg
    msg = _one_error(capsys, ["discover", batch, "--outcome", "struck"])
    assert "--flag struck" in msg
    msg = _one_error(capsys, ["discover", str(tmp_path), "--outcome", "war"])
    assert "not a results folder" in msg
    msg = _one_error(capsys, ["discover", batch, "--outcome", "war", "--peel-alpha", "0.7"])
    assert "--peel-alpha" in msg
    out = tmp_path / "taken"
    out.mkdir()
    msg = _one_error(capsys, ["discover", batch, "--outcome", "war", "--out", str(out)])
    assert "already exists" in msg


def test_too_few_worlds_says_how_many_and_how_many_to_run(toy_batch, tmp_path, capsys) -> None:
    path = tmp_path / "rare.yaml"
    path.write_text(TOY.replace("p1 > 0.6 and p2 < 0.4", "p1 > 0.995"), encoding="utf-8")
    rare = run_batch(path, runs=2000, seed=3, out=tmp_path / "rare", progress=False)
    cases = int((rare.runs["outcome"] == "war").sum())
    assert cases < MIN_CASES
    msg = _one_error(capsys, ["discover", str(rare.folder), "--outcome", "war"])
    assert f"in {cases:,} of 2,000 worlds" in msg and "--runs" in msg
    with pytest.raises(UsageError, match="all but"):
        discover(rare, outcome="quiet")


def test_a_batch_without_runs_table_is_refused(tmp_path, capsys) -> None:
    path = tmp_path / "toy.yaml"
    path.write_text(TOY, encoding="utf-8")
    run_batch(path, runs=200, seed=3, out=tmp_path / "lean", progress=False, runs_table=False)
    msg = _one_error(capsys, ["discover", str(tmp_path / "lean"), "--outcome", "war"])
    assert "no runs.csv" in msg and "--no-runs-table" in msg


def test_a_sweep_folder_is_refused(tmp_path) -> None:
    from sim.batch.sweep import run_sweep

    path = tmp_path / "toy.yaml"
    path.write_text(TOY, encoding="utf-8")
    sweep = run_sweep(path, {"param.p3": [0.1, 0.9]}, runs=100, out=tmp_path / "s", progress=False)
    with pytest.raises(ResultsError, match="a sweep folder"):
        discover(sweep.folder, outcome="war")


def test_both_charts_are_drawn_from_the_folder(toy_batch, tmp_path) -> None:
    from sim.plots.discovery import plot_box, plot_trajectory

    written = write_discovery(discover(toy_batch, outcome="war"), out=tmp_path / "d")
    fig = plot_trajectory(written.folder)
    assert fig.axes and fig.axes[0].get_ylim()[0] == 0
    fig = plot_box(written.folder)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert [label.split("\n")[0] for label in labels] == ["p1", "p2"]


def test_the_box_without_its_insignificant_restrictions() -> None:
    import numpy as np
    import pandas as pd

    from sim.discovery.search import significant_box

    grid = np.linspace(0.0, 1.0, 101)
    x = pd.DataFrame({"p1": np.repeat(grid, 2), "p2": np.tile([0.2, 0.95], 101)})
    y = (x["p1"] >= 0.5).to_numpy()
    box = pd.DataFrame(
        [
            {"parameter": "p1", "kind": "real", "lower": 0.5, "upper": 1.0, "kept": "",
             "significant": 1},
            {"parameter": "p2", "kind": "real", "lower": 0.0, "upper": 0.9, "kept": "",
             "significant": 0},
        ]
    )  # fmt: skip
    reduced = significant_box(x, y, box)
    assert reduced is not None and reduced["restricted"] == ["p1"]
    assert (reduced["coverage"], reduced["density"], reduced["worlds"]) == (1.0, 1.0, 102)
    assert significant_box(x, y, box.assign(significant=1)) is None
    assert significant_box(x, y, box.assign(significant=0)) is None


def test_progress_counts_every_box_and_a_missing_workbench_names_the_extra(
    toy_batch, monkeypatch
) -> None:
    seen: list[int] = []
    found = discover(toy_batch, outcome="war", on_step=seen.append)
    assert seen == list(range(1, len(found.trajectory) + 1))  # box 0 (all worlds) first
    monkeypatch.setitem(sys.modules, "ema_workbench", None)
    monkeypatch.setitem(sys.modules, "ema_workbench.analysis", None)
    with pytest.raises(UsageError, match=r"interop extra: pip install 'wargame-sim\[interop\]'"):
        discover(toy_batch, outcome="war")


def test_a_pinned_parameter_is_left_out_and_listed(tmp_path) -> None:
    path = tmp_path / "toy.yaml"
    path.write_text(TOY, encoding="utf-8")
    batch = run_batch(
        path, runs=1000, seed=1, pinned={"p3": 0.5}, out=tmp_path / "b", progress=False
    )
    found = discover(batch, outcome="war")
    assert found.summary["left_out"] == ["p3"]
    assert any("pinned" in note and "p3" in note for note in found.summary["notes"])
    assert set(_limits(found)) == {"p1", "p2"}
