"""One world, told as a story: what happened each day, and why.

``wargame run`` simulates a single world and prints, per day, each event,
each non-default action with the rule that produced it and the claims that
rule cites, and each move on the ladder; then the outcome and the flags. The
same seed always tells the same story.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sim.engine.model import LogEntry, WargameModel
from sim.scenario import load_scenario
from sim.scenario.model import Scenario


def _value(sc: Scenario, pid: str, x: float) -> str:
    """A parameter's value as the story prints it: the word of an enum code, else the number."""
    p = sc.parameter(pid)
    if p.enum_values:
        return p.enum_values[int(x)]
    if p.integer:
        return f"{int(x):,}"
    return f"{float(x):.3g}"


def tell(model: WargameModel, world: int = 0) -> str:
    """The story of one world of a finished, narrated model."""
    if model.outcome is None or model.flags is None:
        raise RuntimeError("the model has not reached its horizon yet")
    sc = model.spec
    st = model.world
    lines = [f"{sc.title} ({sc.name})", f"{sc.start} to {sc.date_of(sc.horizon_days - 1)}"]
    params = ", ".join(
        f"{p.id} = {_value(sc, p.id, st.params[p.id][world])}" for p in sc.parameters
    )
    lines += [f"This world's parameters: {params}", ""]
    names = {e.id: e.name for e in sc.events}
    last_day = -1
    for e in (x for x in model.log if x.world == world):
        head = f"{sc.date_of(e.day)} d{e.day:<3}" if e.day != last_day else " " * 15
        last_day = e.day
        lines.append(f"{head} {_line(sc, e, names)}")
    lines.append("")
    o = sc.outcomes[int(model.outcome[world])]
    peak = sc.ladder[int(st.peak[world])]
    lines.append(f"Outcome: {o.name} [{o.id}]; highest rung: {peak.name} (MID {peak.mid_level})")
    flags = [
        f"{f.name}: {'yes' if model.flags[i, world] else 'no'}" for i, f in enumerate(sc.flags)
    ]
    if flags:
        lines.append("Flags: " + "; ".join(flags))
    return "\n".join(lines)


def day_lines(model: WargameModel, day: int, world: int = 0) -> list[str]:
    """What happened in one world of a narrated model on one day, a line each, as
    :func:`tell` words them (events, non-default actions with their rule and claims,
    ladder moves); none for a quiet day."""
    sc = model.spec
    names = {e.id: e.name for e in sc.events}
    return [_line(sc, e, names) for e in model.log if e.world == world and e.day == day]


def _line(sc: Scenario, e: LogEntry, names: dict[str, str]) -> str:
    cites = f"  [{', '.join(e.cites)}]" if e.cites else ""
    if e.kind == "event":
        return f"{'event':<11} {names.get(e.what, e.what)}{cites}"
    if e.kind == "event_end":
        return f"{'event':<11} {names.get(e.what, e.what)} ends{cites}"
    if e.kind == "rung":
        a, b = sc.ladder[e.rung_from], sc.ladder[e.rung_to]
        arrow = "escalates" if e.rung_to > e.rung_from else "de-escalates"
        return f"{'ladder':<11} {arrow}: {a.name} -> {b.name} (MID {b.mid_level})"
    actor = sc.actor(e.actor)
    act = actor.action(e.what)
    # An action no rule chose carries its reason, in brackets, where the rule would be.
    why = e.rule if e.rule.startswith("(") else f"(rule {e.rule})"
    return f"{e.actor:<11} {act.name}  {why}{cites}"


def run_story(
    scenario: str | Path | Scenario, seed: int | None = None, overrides: Sequence[str] = ()
) -> str:
    """Simulate one world and return its story (the ``wargame run`` output)."""
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario, tuple(overrides))
    model = WargameModel(
        sc, replicates=1, narrate=True, collect=False, rng=sc.seed if seed is None else seed
    )
    model.run()
    text = tell(model)
    used = sc.seed if seed is None else seed
    return (
        text
        + f"\n\nReplay: wargame run {sc.file} --seed {used}"
        + "".join(f" --set {o}" for o in sc.overrides)
    )
