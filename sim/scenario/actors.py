"""Compile rules for actors: their actions and the rules that choose among them."""

from __future__ import annotations

from sim.expr import Symbol
from sim.scenario import strategy
from sim.scenario.context import CompileContext
from sim.scenario.model import Action, Actor, Rule, StateVar
from sim.scenario.sections import base_symbols, effects
from sim.spec import did_you_mean


def actors(c: CompileContext, world: dict[str, Symbol], state: list[StateVar]) -> list[Actor]:
    """The actors, with what they value and believe (:mod:`sim.scenario.strategy`).

    ``world`` are the daily names as world-level expressions see them; each
    actor's expressions see them with the other actors' private traits
    hidden and its own beliefs added.
    """
    out = []
    rule_index = 0
    rule_ids: dict[str, str] = {}
    actor_ids = list(c.data["actors"])
    traits = strategy.private_traits(c, actor_ids)
    symbols = strategy.actor_symbols(c, world, traits, actor_ids)
    for ai, (aid, a) in enumerate(c.data["actors"].items()):
        path = ("actors", aid)
        daily = symbols[aid]
        actions = []
        for xi, (xid, x) in enumerate(a["actions"].items()):
            xp = (*path, "actions", xid)
            if x["default"] and x["once"]:
                c.error((*xp, "once"), f"{c.where(xp)}: the default action cannot be 'once'")
            actions.append(
                Action(
                    xid,
                    xi,
                    x["name"] or xid.replace("_", " ").capitalize(),
                    x["default"],
                    x["once"],
                    effects(c, x["effects"], (*xp, "effects"), daily, state, owner=aid),
                    c.rung_ref(x["escalate_to"], (*xp, "escalate_to")),
                    c.rung_ref(x["deescalate_to"], (*xp, "deescalate_to")),
                    x["description"],
                    c.cites(x["cites"], (*xp, "cites")),
                    **c.notes(x, xp),
                )
            )
        defaults = [x.id for x in actions if x.default]
        if len(defaults) != 1:
            c.error(
                (*path, "actions"),
                f"actors.{aid}.actions: mark exactly one action 'default: true' "
                f"(the no-op); found {len(defaults)}"
                + (f" ({', '.join(defaults)})" if defaults else ""),
            )
        action_ids = [x.id for x in actions]
        rules = []
        for rid, r in a["rules"].items():
            rp = (*path, "rules", rid)
            if rid in rule_ids:
                c.error(
                    rp,
                    f"{c.where(rp)}: rule id {rid!r} is already used by "
                    f"{rule_ids[rid]}; rule ids are unique in a scenario",
                    key=True,
                )
            rule_ids[rid] = f"actors.{aid}"
            kind = r["kind"]
            if r["action"] not in action_ids:
                c.error(
                    (*rp, "action"),
                    f"{c.where(rp)}.action: {aid} has no action {r['action']!r}"
                    f"{did_you_mean(r['action'], action_ids)} "
                    f"(actions: {', '.join(action_ids)})",
                )
                continue
            allowed = {
                "constraint": {"allowed_if"},
                "trigger": {"when", "prob"},
                "preference": {"when", "utility"},
                "foresight": {"when", "horizon"},
            }[kind]
            for k in ("allowed_if", "when", "prob", "utility", "horizon"):
                if r[k] is not None and k not in allowed:
                    c.error(
                        (*rp, k),
                        f"{c.where(rp)}.{k}: not used by a {kind} rule "
                        f"(a {kind} takes: {', '.join(sorted(allowed))})",
                    )
            act = a["actions"][r["action"]]
            if kind == "constraint":
                if act["default"]:
                    c.error(
                        (*rp, "action"),
                        f"{c.where(rp)}: the default action "
                        "cannot be constrained; it is always allowed",
                    )
                if r["allowed_if"] is None:
                    c.error(rp, f"{c.where(rp)}: a constraint needs 'allowed_if'")
                    continue
                cond = c.expr(r["allowed_if"], (*rp, "allowed_if"), daily, "bool", owner=aid)
            else:
                cond = c.expr(
                    True if r["when"] is None else r["when"],
                    (*rp, "when"),
                    daily,
                    "bool",
                    owner=aid,
                )
            prob = utility = None
            if kind == "trigger":
                prob = c.expr(
                    1 if r["prob"] is None else r["prob"],
                    (*rp, "prob"),
                    daily,
                    "number",
                    owner=aid,
                    prob=True,
                )
            if kind == "preference":
                if r["utility"] is None:
                    c.error(rp, f"{c.where(rp)}: a preference needs 'utility'")
                    continue
                utility = c.expr(r["utility"], (*rp, "utility"), daily, "number", owner=aid)
            if kind == "foresight" and r["horizon"] is None:
                c.error(rp, f"{c.where(rp)}: a foresight rule needs 'horizon' (days)")
                continue
            if not r["cites"]:
                c.warn(rp, f"{c.where(rp)}: rule cites no claim")
            if (
                cond is None
                or (kind == "trigger" and prob is None)
                or (kind == "preference" and utility is None)
            ):
                continue
            rules.append(
                Rule(
                    rid,
                    rule_index,
                    aid,
                    kind,
                    r["action"],
                    action_ids.index(r["action"]),
                    cond,
                    prob,
                    utility,
                    r["description"],
                    c.cites(r["cites"], (*rp, "cites")),
                    r["horizon"] if kind == "foresight" else None,
                    **c.notes(r, rp),
                )
            )
            rule_index += 1
        rat = c.expr(a["rationality"], (*path, "rationality"), daily, "number", owner=aid)
        if rat is None:
            continue
        out.append(Actor(aid, ai, a["name"], rat, tuple(actions), tuple(rules), a["description"]))
    base = strategy.actor_symbols(c, base_symbols(c), traits, actor_ids)
    return strategy.with_strategy(c, out, traits, base, symbols)
