"""The after-action review from a game's records: timeline, ladder, paths, text and page.

The records are built by hand here (rows as a game's ``history()`` gives
them, shares as its ``compare()`` gives them), so each part of the review is
checked against numbers known in advance; tests/test_play.py checks the
review of a game played for real.
"""

from __future__ import annotations

import datetime as _dt
from types import SimpleNamespace

import pytest
from conftest import DEFAULT_SCENARIO
from matplotlib.figure import Figure

from sim.review import (
    Review,
    build_review,
    format_review,
    ladder_moves,
    paths_of,
    render_review,
    repeats,
    stretches,
    timeline,
    write_review,
)
from sim.review.charts import CHARTS
from sim.review.text import WIDTH
from sim.scenario import load_scenario
from sim.stats import paired_diff, share

START = _dt.date(2022, 1, 17)


@pytest.fixture(scope="module")
def sc():
    return load_scenario(DEFAULT_SCENARIO)


def _row(
    day,
    actor,
    action,
    *,
    seated=False,
    by="doctrine",
    wanted=None,
    doctrine=None,
    rule=None,
    doctrine_rule=None,
    claims=(),
    rung=("show_of_force", "show_of_force"),
    refused=False,
    note="",
):
    return SimpleNamespace(
        day=day,
        date=START + _dt.timedelta(days=day),
        actor=actor,
        seated=seated,
        action=action,
        doctrine=doctrine or action,
        by=by,
        wanted=wanted,
        refused=refused,
        rule=rule,
        doctrine_rule=doctrine_rule,
        claims=claims,
        forbidden_by=(),
        rung_from=rung[0],
        rung_to=rung[1],
        note=note,
    )


def _history():
    """A Kremlin that waits two days, leaves one to doctrine, then attacks on day 3."""
    rows = [
        _row(
            0,
            "kremlin",
            "wait",
            seated=True,
            by="seat",
            wanted="wait",
            rung=("standoff", "show_of_force"),
        ),
        _row(
            0,
            "lukashenka",
            "war_rhetoric",
            rule="grey_zone",
            claims=("grey-zone-preferred",),
            rung=("standoff", "show_of_force"),
        ),
        _row(1, "kremlin", "wait", seated=True, by="seat", wanted="wait"),
        _row(1, "lukashenka", "war_rhetoric", rule="grey_zone", claims=("grey-zone-preferred",)),
        _row(2, "kremlin", "wait", seated=True),
        _row(
            3,
            "kremlin",
            "launch_offensive",
            seated=True,
            by="seat",
            wanted="launch_offensive",
            doctrine="wait",
            note="before the troops go home",
            claims=("belarus-staging-area",),
            rung=("show_of_force", "offensive_from_belarus"),
        ),
        _row(
            3,
            "nato",
            "reinforce_flank",
            rule="reinforce_after_offensive",
            claims=("us-8500-on-alert",),
            rung=("show_of_force", "offensive_from_belarus"),
        ),
    ]
    return rows


def _comparison(sc, n=400):
    """The person's path: war in 300 of 400 worlds; the doctrine's: in 100 (80 in both)."""
    seat, doctrine, diff = {}, {}, {}
    for o in sc.outcomes:
        if o.id == "staging_area_war":
            both, p_only, d_only = 80, 220, 20
        elif o.id == "de_escalation":
            both, p_only, d_only = 50, 0, 250
        else:
            both, p_only, d_only = 0, 0, 0
        seat[o.id] = share(both + p_only, n)
        doctrine[o.id] = share(both + d_only, n)
        diff[o.id] = paired_diff(both, p_only, d_only, n - both - p_only - d_only)
    return SimpleNamespace(seat=seat, doctrine=doctrine, difference=diff, worlds=n)


def _game(sc):
    return SimpleNamespace(
        scenario=sc,
        seats=("kremlin",),
        seed=7,
        branch="main",
        day=4,
        history=_history,
        compare=lambda worlds=None, progress=None: _comparison(sc),
        outcome=lambda: None,
    )


@pytest.fixture(scope="module")
def review(sc) -> Review:
    return build_review(_game(sc))


def test_the_seats_days_and_the_other_actors_moves(sc) -> None:
    t = timeline(sc, _history(), "kremlin")
    seat = t["kremlin"]
    assert [(s.day, s.how, s.action) for s in seat] == [
        (0, "waited", "wait"),
        (1, "waited", "wait"),
        (2, "doctrine", "wait"),
        (3, "chosen", "launch_offensive"),
    ]
    assert [s.differs for s in seat] == [False, False, False, True]
    assert seat[3].doctrine_action == "wait" and seat[3].note == "before the troops go home"
    assert [r for r, _ in seat[3].constraints] == ["offensive_needs_forward_force"]
    assert seat[2].constraints == ()  # a day left to the doctrine asked for nothing
    assert [(s.day, s.rule) for s in t["lukashenka"]] == [(0, "grey_zone"), (1, "grey_zone")]
    assert [s.action for s in t["nato"]] == ["reinforce_flank"] and t["ukraine"] == ()
    assert repeats(t["lukashenka"])[0][1] == (0, 1)


def test_quiet_days_run_together_and_a_departure_stands_alone(sc) -> None:
    runs = stretches(timeline(sc, _history(), "kremlin")["kremlin"], "wait")
    assert [(r.first.day, r.last.day, r.days, r.notable) for r in runs] == [
        (0, 1, 2, False),
        (2, 2, 1, False),
        (3, 3, 1, True),
    ]


def test_the_ladder_moves_of_the_game(sc) -> None:
    moves, rungs = ladder_moves(sc, _history())
    assert [(m.day, m.rung_from, m.rung_to, m.up) for m in moves] == [
        (0, "standoff", "show_of_force", True),
        (3, "show_of_force", "offensive_from_belarus", True),
    ]
    assert rungs == (1, 1, 1, 3)


def test_the_paths_are_paired_differences_of_the_same_worlds(sc) -> None:
    rows = {r.id: r for r in paths_of(sc, _comparison(sc))}
    war = rows["staging_area_war"]
    assert (war.person.count, war.doctrine.count) == (300, 100)
    assert war.diff == pytest.approx(0.5) and war.lo > 0.4 and war.significant
    assert not rows["grey_zone"].significant and rows["grey_zone"].diff == 0


def test_the_text_fits_80_columns_and_says_what_doctrine_would_have_done(review) -> None:
    text = format_review(review)
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    flat = " ".join(text.split())
    assert "Your days (4 played; 1 unlike your doctrine)" in flat
    assert "2022-01-17 d0-1 waited, 2 days (Wait), as doctrine would have" in flat
    assert "2022-01-19 d2 left to doctrine, 1 day: Wait" in flat
    assert (
        "2022-01-20 d3 chose Launch offensive [belarus-staging-area]; allowed by "
        "offensive_needs_forward_force [units-40-50km-chernihiv, units-200km-kyiv]; "
        "note: before the troops go home"
    ) in flat
    assert "doctrine would have: Wait (no rule: its default)" in flat
    assert "War rhetoric (rule grey_zone), 2 days: d0, 1 [grey-zone-preferred]" in flat
    assert "War from Belarusian territory 75% (71-79%) 25% (21-29%) +50.0 (+43.9, +55.5)*" in flat


def test_each_chart_draws_the_reviews_numbers(review) -> None:
    for name, (draw, _, _) in CHARTS.items():
        fig = draw(review)
        assert isinstance(fig, Figure), name
        assert fig.axes and fig.axes[0].has_data(), name
    bars = [p.get_width() for p in CHARTS["paths"][0](review).axes[0].patches]
    war = next(r for r in review.outcomes if r.id == "staging_area_war")
    assert war.person.p in bars and war.doctrine.p in bars


def test_the_page_is_whole_self_contained_and_escaped(review, tmp_path) -> None:
    path = write_review(review, tmp_path / "review.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count('src="data:image/png;base64,') == 3
    assert "http://" not in page and "https://" not in page
    assert "before the troops go home" in page and "Launch offensive" in page
    hostile = Review(**{**review.__dict__, "title": "<script>alert(1)</script>"})
    assert "<script>alert" not in render_review(hostile, charts={})
    assert list(tmp_path.iterdir()) == [path]  # nothing left beside it


def test_the_pages_headline_counts_days_in_words(review) -> None:
    """'1 day', never '1 days'."""
    seat = review.seat
    one = Review(**{**review.__dict__, "timeline": {seat: review.choices[:1]}})
    assert "You took 1 day as" in render_review(one, charts={})
    assert f"You took {len(review.choices)} days as" in render_review(review, charts={})
