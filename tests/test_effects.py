"""The effect screen (``wargame trace --effects``) flags exactly the inert inputs.

A toy scenario with one input of each kind that matters and one of each
kind that cannot: parameter ``p`` is the trigger's daily chance of war,
``q`` is read by nothing; rule ``go`` fires the attack, rule ``never`` can
never fire (``day < 0``); state variable ``struck`` is set by the attack and
read by a flag, ``unused`` is read by nothing. Further toys add a variable
that is read but changes nothing (found only by freezing it), a rule whose
effect is a handful of worlds (borderline), and the ``inert`` and
``context`` keys. Seeds are fixed; the worlds are few (the screen runs each
variant on the same worlds).
"""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import SHIPPED_SCENARIOS

from sim.batch.runner import simulate
from sim.cli import main
from sim.effects import DEFAULT_RUNS, Effect, format_effects, frozen, measure, read_names, screen
from sim.results.aggregate import Counts
from sim.scenario import load_scenario
from sim.trace import cited_claims, format_trace

RUNS = 300

TOY = """
scenario: {name: toy, title: Toy, start: 2022-01-01, horizon_days: 10, seed: 1}
ladder:
  calm: {name: Calm, mid_level: 1}
  war: {name: War, mid_level: 5}
outcomes:
  quiet: {name: Quiet}
  war: {name: War, when: peak >= rungs.war}
flags:
  struck: {name: Struck, when: struck}
state:
  struck: {type: bool, initial: false}
  unused: {type: int, initial: 0}
parameters:
  p: {dist: uniform, low: 0.0, high: 0.2, cites: [kremlin-appetite-decides]}
  q: {dist: uniform, low: 0.0, high: 1.0, cites: [kremlin-appetite-decides]}
actors:
  a:
    name: A
    actions:
      wait: {default: true}
      attack: {once: true, escalate_to: war, effects: {struck: true}}
      parade: {once: true}
    rules:
      go: {kind: trigger, action: attack, prob: p, cites: [kremlin-appetite-decides]}
      never: {kind: trigger, action: parade, when: day < 0, cites: [kremlin-appetite-decides]}
"""

INERT = {("parameter", "q"), ("rule", "a.never"), ("state", "unused")}
LIVE = {("parameter", "p"), ("rule", "a.go"), ("state", "struck")}

# ``alarm`` is written by the attack and read by the ``cheer`` rule, whose
# action changes nothing an outcome or flag looks at: read, yet inert.
ALARM = TOY.replace(
    "  unused: {type: int, initial: 0}\n",
    "  unused: {type: int, initial: 0}\n  alarm: {type: bool, initial: false}\n",
).replace(
    "effects: {struck: true}}\n      parade: {once: true}\n",
    "effects: {struck: true, alarm: true}}\n      parade: {once: true}\n      cheer: {}\n",
) + (
    "      cheer_up: {kind: trigger, action: cheer, when: alarm, "
    "cites: [kremlin-appetite-decides]}\n"
)

# ``nudge`` attacks too, with a tiny daily chance: switching it off changes
# a few worlds out of RUNS, far below two standard errors of the war share.
NUDGE = TOY + (
    "      nudge: {kind: trigger, action: attack, prob: 0.0015, "
    "cites: [kremlin-appetite-decides]}\n"
)


@pytest.fixture
def toy(write_scenario):
    return write_scenario(TOY, "toy.yaml")


def _by_key(effects) -> dict[tuple[str, str], Effect]:
    return {(e.kind, e.id): e for e in effects}


def _documented(text: str, where: dict[str, str]) -> str:
    """``text`` with ``inert: reason`` added to the flow mappings of the named inputs."""
    for line_start, reason in where.items():
        i = text.index(line_start)
        j = text.index("}\n", i)
        text = f"{text[:j]}, inert: {reason!r}{text[j:]}"
    return text


def test_the_screen_flags_exactly_the_inert_inputs(toy) -> None:
    found = screen(toy, runs=RUNS, seed=5)
    effects = _by_key(found.effects)
    assert set(effects) == INERT | LIVE
    assert {k for k, e in effects.items() if e.inert} == INERT
    assert {(e.kind, e.id) for e in found.inert} == INERT
    for key in INERT - {("state", "unused")}:
        assert effects[key].change == 0.0
    # p pinned at its 10th and 90th percentile moves war by far more than noise
    assert effects[("parameter", "p")].change > 0.2
    assert effects[("parameter", "p")].moved in {"outcome:war", "outcome:quiet", "flag:struck"}
    assert effects[("rule", "a.go")].change > 0.2
    # struck is read by the flag and written by the attack: frozen, the flag never holds
    struck = effects[("state", "struck")]
    assert struck.moved == "flag:struck" and struck.change > 0.2
    assert not any(e.borderline for e in found.effects)


def test_sorted_by_effect_static_last(toy) -> None:
    effects = screen(toy, runs=RUNS, seed=5).effects
    sizes = [e.change for e in effects if e.change is not None]
    assert sizes == sorted(sizes, reverse=True)
    assert [(e.kind, e.id) for e in effects][-1] == ("state", "unused")


def test_static_reads(toy) -> None:
    names = read_names(load_scenario(toy))
    assert "struck" in names and "p" in names
    assert "unused" not in names and "q" not in names


def test_cli_prints_the_table_and_the_inert_list(toy, capsys) -> None:
    assert main(["trace", "--effects", str(toy), "--runs", str(RUNS), "--seed", "5"]) == 0
    text = capsys.readouterr().out
    table, _, tail = text.partition("Inert inputs (3):")
    assert "parameter  p " in table and "rule       a.go " in table
    listed = [line.split()[:2] for line in tail.strip().splitlines()]
    assert sorted(listed) == [["parameter", "q"], ["rule", "a.never"], ["state", "unused"]]
    assert "rule a.never (when=false)" in tail


def test_a_variable_read_but_changing_nothing_is_found_by_freezing_it(write_scenario) -> None:
    path = write_scenario(ALARM, "alarm.yaml")
    sc = load_scenario(path)
    assert "alarm" in read_names(sc)  # the static check cannot see it
    effects = _by_key(screen(path, runs=RUNS, seed=5).effects)
    alarm = effects[("state", "alarm")]
    assert alarm.inert and alarm.change == 0.0
    assert alarm.detail == "frozen at its initial value"
    assert not effects[("state", "struck")].inert
    # freezing alarm does change what is done: the cheer rule never fires
    cheer = next(r.index for r in sc.rules if r.id == "cheer_up")
    assert simulate(sc, runs=RUNS, seed=5).rules[cheer] > 0
    assert simulate(frozen(sc, "alarm"), runs=RUNS, seed=5).rules[cheer] == 0


def test_frozen_is_the_scenario_compiled_without_the_writes(write_scenario) -> None:
    sc = load_scenario(write_scenario(ALARM, "alarm.yaml"))
    without = load_scenario(
        write_scenario(
            ALARM.replace("effects: {struck: true, alarm: true}", "effects: {struck: true}"),
            "without.yaml",
        )
    )
    cold = frozen(sc, "alarm")
    assert cold.sha256 == without.sha256 != sc.sha256
    attack = cold.actor("a").action("attack")
    assert [e.target for e in attack.effects] == ["struck"]
    # the frozen copy has its own cache entry: the scenario itself still runs as before
    before = simulate(sc, runs=RUNS, seed=5)
    simulate(cold, runs=RUNS, seed=5)
    after = simulate(sc, runs=RUNS, seed=5)
    assert (before.outcomes == after.outcomes).all() and (before.rules == after.rules).all()
    assert (
        simulate(cold, runs=RUNS, seed=5).rules == simulate(without, runs=RUNS, seed=5).rules
    ).all()


def test_a_small_effect_is_marked_borderline_with_the_worlds_that_resolve_it(
    write_scenario,
) -> None:
    path = write_scenario(NUDGE, "nudge.yaml")
    found = screen(path, runs=RUNS, seed=5)
    nudge = _by_key(found.effects)[("rule", "a.nudge")]
    assert not nudge.inert and nudge.borderline
    assert 1 / RUNS <= nudge.change < 0.05
    assert nudge.resolve_runs is not None and nudge.resolve_runs > RUNS
    assert {(e.kind, e.id) for e in found.borderline} == {("rule", "a.nudge")}
    text = format_effects(found)
    assert re.search(rf"rule\s+a\.nudge .*borderline \(~{nudge.resolve_runs} worlds\)", text)
    assert "Borderline effects (1)" in text and f"--runs {nudge.resolve_runs}" in text


@pytest.mark.parametrize(
    ("war", "expect"),
    [
        # N = 1000, war share 0.5: two standard errors of a difference are
        # 2 * sqrt(2 * 0.25 / 1000) = 0.0447 (44.7 worlds)
        (500, ("inert", None)),
        (490, ("borderline", 20_000)),  # 10 worlds: N >= 8 * 0.25 / 0.01**2
        (480, ("borderline", 5_000)),
        (460, ("borderline", 1_300)),  # 8 * 0.25 / 0.04**2 = 1250, up to 2 figures
        (450, ("clear", None)),  # 50 worlds > 44.7
    ],
)
def test_borderline_is_two_standard_errors_of_a_difference_of_shares(toy, war, expect) -> None:
    sc = load_scenario(toy)
    base, other = Counts.zeros(sc), Counts.zeros(sc)
    base.n = other.n = 1000
    base.outcomes[:] = [500, 500]
    other.outcomes[:] = [1000 - war, war]
    m = measure([base, other], sc)
    state = "inert" if m.inert else "borderline" if m.borderline else "clear"
    assert (state, m.resolve_runs) == expect
    assert m.change == pytest.approx(abs(500 - war) / 1000)


def test_one_world_is_never_lost_to_rounding(toy) -> None:
    """9/1000 - 8/1000 is 0.000999... in floating point: still one world, not inert."""
    sc = load_scenario(toy)
    base, other = Counts.zeros(sc), Counts.zeros(sc)
    base.n = other.n = 1000
    base.outcomes[:] = other.outcomes[:] = [500, 500]
    base.flags[:] = [9]
    other.flags[:] = [8]
    assert not measure([base, other], sc).inert


def test_documented_inert_inputs_are_listed_apart_and_pass_the_check(
    write_scenario, capsys
) -> None:
    text = _documented(
        TOY,
        {
            "  q: {": "context: read by nothing",
            "      never: {": "a parade never changes the ladder",
            "  unused: {": "kept for the narrative",
        },
    )
    path = write_scenario(text, "documented.yaml")
    found = screen(path, runs=RUNS, seed=5)
    assert found.inert == []
    assert {(e.kind, e.id): e.documented for e in found.documented} == {
        ("parameter", "q"): "context: read by nothing",
        ("rule", "a.never"): "a parade never changes the ladder",
        ("state", "unused"): "kept for the narrative",
    }
    args = ["trace", "--effects", str(path), "--runs", str(RUNS), "--seed", "5", "--check"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "No inert inputs." in out and "Documented as inert (3):" in out
    assert "  rule a.never: a parade never changes the ladder" in out
    assert re.search(r"parameter\s+q .* documented: context: read by nothing", out)


def test_check_fails_on_an_undocumented_inert_input_only(toy, write_scenario, capsys) -> None:
    args = ["--runs", str(RUNS), "--seed", "5"]
    assert main(["trace", "--effects", str(toy), *args, "--check"]) == 1
    assert "Inert inputs (3):" in capsys.readouterr().out  # printed before failing
    assert main(["trace", "--effects", str(toy), *args]) == 0
    capsys.readouterr()
    # one input left undocumented is enough to fail
    partly = write_scenario(
        _documented(TOY, {"  q: {": "not read", "      never: {": "never fires"}), "partly.yaml"
    )
    assert main(["trace", "--effects", str(partly), *args, "--check"]) == 1
    assert "Inert inputs (1):\n  state unused (static)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["--runs", "0", "--check"],
        ["--check", "--set", "parameters.nothing.value=1"],
    ],
)
def test_bad_input_is_one_message_and_exit_2(toy, capsys, argv) -> None:
    assert main(["trace", "--effects", str(toy), *argv]) == 2
    captured = capsys.readouterr()
    assert len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err
    assert captured.out == ""


def test_check_without_effects_is_refused(toy, capsys) -> None:
    assert main(["trace", str(toy), "--check"]) == 2
    assert "--check goes with --effects" in capsys.readouterr().err


def test_an_unknown_context_claim_is_an_error_at_its_place(write_scenario, capsys) -> None:
    text = TOY.replace(
        "  q: {dist: uniform, low: 0.0, high: 1.0, cites: [kremlin-appetite-decides]}",
        "  q: {dist: uniform, low: 0.0, high: 1.0, cites: [kremlin-appetite-decides],\n"
        "      context: [kremlin-appetite-decide]}",
    )
    path = write_scenario(text, "context.yaml")
    line = text.splitlines().index("      context: [kremlin-appetite-decide]}") + 1
    assert main(["trace", "--effects", str(path), "--runs", "10", "--check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"{path}:{line}:17: error: parameters.q.context: unknown claim id "
        "'kremlin-appetite-decide'; did you mean 'kremlin-appetite-decides'?"
    ]


def test_claims_cited_only_by_inert_inputs_are_listed_context_ones_are_not(
    write_scenario,
) -> None:
    text = (
        TOY.replace(
            "  q: {dist: uniform, low: 0.0, high: 1.0, cites: [kremlin-appetite-decides]}",
            "  q: {dist: uniform, low: 0.0, high: 1.0, cites: [act-like-russian-army],"
            " context: [war-only-if-attacked]}",
        )
        .replace(
            "when: day < 0, cites: [kremlin-appetite-decides]}",
            "when: day < 0, cites: [act-like-russian-army]}",
        )
        .replace(
            "prob: p, cites: [kremlin-appetite-decides]}",
            "prob: p, cites: [kremlin-appetite-decides], context: [drills-10-20-feb]}",
        )
    )
    path = write_scenario(text, "claims.yaml")
    found = screen(path, runs=RUNS, seed=5)
    # act-like-russian-army: cited by q and never, both inert; context claims are never listed
    assert found.idle_claims == {"act-like-russian-army": ("rule:never", "parameter:q")}
    out = format_effects(found)
    assert "Claims that change no behaviour (1)" in out
    assert "  act-like-russian-army: rule:never, parameter:q" in out
    # the trace counts context claims as cited, marked as context
    sc = load_scenario(path)
    used = cited_claims(sc)
    assert used["war-only-if-attacked"] == ["parameter:q (context)"]
    assert used["drills-10-20-feb"] == ["rule:go (context)"]
    trace, _ = format_trace(sc, None)
    assert "      drills-10-20-feb  (context)" in trace
    assert "cites act-like-russian-army; context war-only-if-attacked" in trace


def test_extends_sets_and_clears_inert_and_context(write_scenario) -> None:
    write_scenario(_documented(TOY, {"  q: {": "not read"}), "base.yaml")
    child = write_scenario(
        """
        extends: base.yaml
        parameters:
          q: {inert: null}
        state:
          unused: {inert: kept for the story, context: [drills-10-20-feb]}
        """,
        "child.yaml",
    )
    sc = load_scenario(child)
    assert sc.parameter("q").inert is None
    unused = next(v for v in sc.state if v.id == "unused")
    assert unused.inert == "kept for the story" and unused.context == ("drills-10-20-feb",)
    cleared = load_scenario(child, ["state.unused.context=[]"])
    assert next(v for v in cleared.state if v.id == "unused").context == ()


def test_inert_and_context_change_no_result(toy, write_scenario) -> None:
    text = _documented(TOY, {"  q: {": "not read", "      go: {": "wrongly documented"})
    noted = load_scenario(write_scenario(text, "noted.yaml"))
    plain = load_scenario(toy)
    a, b = simulate(plain, runs=RUNS, seed=5), simulate(noted, runs=RUNS, seed=5)
    assert (a.outcomes == b.outcomes).all() and (a.flags == b.flags).all()
    assert (a.first_day == b.first_day).all() and (a.rules == b.rules).all()
    # a documented input with an effect is shown as not inert after all
    found = screen(write_scenario(text, "noted.yaml"), runs=RUNS, seed=5)
    out = format_effects(found)
    assert "  rule a.go: wrongly documented\n    but the screen measured" in out


def _base_scenarios() -> list:
    return [
        p
        for p in SHIPPED_SCENARIOS
        if "extends" not in (yaml.safe_load(p.read_text(encoding="utf-8")) or {})
    ]


@pytest.mark.parametrize("path", _base_scenarios(), ids=lambda p: p.stem)
def test_shipped_scenarios_have_no_undocumented_inert_input(path) -> None:
    """What ``wargame trace --effects --check SCENARIO`` checks: 2000 worlds, the scenario's
    own seed, so the test and the command agree on an effect of a world or two.
    """
    found = screen(path, runs=DEFAULT_RUNS, seed=None)
    inert = [f"{e.kind} {e.id} ({e.detail})" for e in found.inert]
    assert not inert, f"{path.name}: undocumented inert inputs:\n  " + "\n  ".join(inert)
