"""Compile rules for actors: their actions and the rules that choose among them."""

from __future__ import annotations

from sim.expr import Symbol
from sim.scenario import strategy
from sim.scenario.model import Action, Actor, Rule, StateVar
from sim.spec import did_you_mean


class _Actors:
    """The actors section, mixed into :class:`~sim.scenario.compiler._Compiler`.

    Rule ids are checked for uniqueness across all actors. Effects of actions are
    compiled by ``effects`` (in :mod:`sim.scenario.sections`); messages go through the
    compiler's helpers (``error``, ``where``, ``ctx``, ``expr``, ``cites``, ``rung_ref``).
    """

    def actors(self, world: dict[str, Symbol], state: list[StateVar]) -> list[Actor]:
        """The actors, with what they value and believe (:mod:`sim.scenario.strategy`).

        ``world`` are the daily names as world-level expressions see them; each
        actor's expressions see them with the other actors' private traits
        hidden and its own beliefs added.
        """
        out = []
        rule_index = 0
        rule_ids: dict[str, str] = {}
        actor_ids = list(self.d["actors"])
        traits = strategy.private_traits(self, actor_ids)
        symbols = strategy.actor_symbols(self, world, traits, actor_ids)
        for ai, (aid, a) in enumerate(self.d["actors"].items()):
            path = ("actors", aid)
            daily = symbols[aid]
            actions = []
            for xi, (xid, x) in enumerate(a["actions"].items()):
                xp = (*path, "actions", xid)
                if x["default"] and x["once"]:
                    self.error(
                        (*xp, "once"), f"{self.where(xp)}: the default action cannot be 'once'"
                    )
                actions.append(
                    Action(
                        xid,
                        xi,
                        x["name"] or xid.replace("_", " ").capitalize(),
                        x["default"],
                        x["once"],
                        self.effects(x["effects"], (*xp, "effects"), daily, state, owner=aid),
                        self.rung_ref(x["escalate_to"], (*xp, "escalate_to")),
                        self.rung_ref(x["deescalate_to"], (*xp, "deescalate_to")),
                        x["description"],
                        self.cites(x["cites"], (*xp, "cites")),
                    )
                )
            defaults = [x.id for x in actions if x.default]
            if len(defaults) != 1:
                self.error(
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
                    self.ctx.error(
                        rp,
                        f"{self.where(rp)}: rule id {rid!r} is already used by "
                        f"{rule_ids[rid]}; rule ids are unique in a scenario",
                        key=True,
                    )
                rule_ids[rid] = f"actors.{aid}"
                kind = r["kind"]
                if r["action"] not in action_ids:
                    self.error(
                        (*rp, "action"),
                        f"{self.where(rp)}.action: {aid} has no action {r['action']!r}"
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
                        self.error(
                            (*rp, k),
                            f"{self.where(rp)}.{k}: not used by a {kind} rule "
                            f"(a {kind} takes: {', '.join(sorted(allowed))})",
                        )
                act = a["actions"][r["action"]]
                if kind == "constraint":
                    if act["default"]:
                        self.error(
                            (*rp, "action"),
                            f"{self.where(rp)}: the default action "
                            "cannot be constrained; it is always allowed",
                        )
                    if r["allowed_if"] is None:
                        self.error(rp, f"{self.where(rp)}: a constraint needs 'allowed_if'")
                        continue
                    cond = self.expr(r["allowed_if"], (*rp, "allowed_if"), daily, "bool", owner=aid)
                else:
                    cond = self.expr(
                        True if r["when"] is None else r["when"],
                        (*rp, "when"),
                        daily,
                        "bool",
                        owner=aid,
                    )
                prob = utility = None
                if kind == "trigger":
                    prob = self.expr(
                        1 if r["prob"] is None else r["prob"],
                        (*rp, "prob"),
                        daily,
                        "number",
                        owner=aid,
                        prob=True,
                    )
                if kind == "preference":
                    if r["utility"] is None:
                        self.error(rp, f"{self.where(rp)}: a preference needs 'utility'")
                        continue
                    utility = self.expr(r["utility"], (*rp, "utility"), daily, "number", owner=aid)
                if kind == "foresight" and r["horizon"] is None:
                    self.error(rp, f"{self.where(rp)}: a foresight rule needs 'horizon' (days)")
                    continue
                if not r["cites"]:
                    self.ctx.warn(rp, f"{self.where(rp)}: rule cites no claim")
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
                        self.cites(r["cites"], (*rp, "cites")),
                        r["horizon"] if kind == "foresight" else None,
                    )
                )
                rule_index += 1
            rat = self.expr(a["rationality"], (*path, "rationality"), daily, "number", owner=aid)
            if rat is None:
                continue
            out.append(
                Actor(aid, ai, a["name"], rat, tuple(actions), tuple(rules), a["description"])
            )
        base = strategy.actor_symbols(self, self.base_symbols([]), traits, actor_ids)
        return strategy.with_strategy(self, out, traits, base, symbols)
