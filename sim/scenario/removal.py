"""Removing a rule from a scenario: which rule an id names, and the override that removes it.

A removed rule stays in the scenario, switched off, so that the worlds of
the scenario without it are paired with those of the scenario with it:

* a **trigger**, **preference** or **foresight** rule gets ``when: false``:
  it never applies, so it never fires, adds no utility and wants nothing
  (what a constraint records as binding). It keeps its place among the
  actor's rules, and with it the layout of the actor's random draws: an
  actor's stream moves on by one array of uniforms per trigger and one for
  the softmax every day (:func:`sim.engine.decision.decide`), so dropping a
  trigger from the list would shift every later draw of that actor and
  pair each world with another world. Switched off, every other rule and
  actor draws exactly the numbers it drew before;
* a **constraint** gets ``allowed_if: true``: it no longer forbids
  anything (the action is then allowed wherever its other constraints allow it).

Both are ``--set`` overrides on the scenario's text, so the scenario they
compile to has its own ``sha256`` (results folders record that one) and
workers rebuild it from the same text and overrides as any other.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sim.errors import UsageError
from sim.scenario.model import Rule, Scenario

__all__ = ["Removal", "find_rule", "off_override", "off_setting", "removal_overrides", "removals"]


def off_setting(kind: str) -> str:
    """The setting that switches off a rule of this kind (``when=false``, ``allowed_if=true``)."""
    return "allowed_if=true" if kind == "constraint" else "when=false"


def off_override(rule: Rule) -> str:
    """The ``--set`` override that removes ``rule``."""
    return f"actors.{rule.actor}.rules.{rule.id}.{off_setting(rule.kind)}"


@dataclass(frozen=True)
class Removal:
    """One rule removed: the rule and the override that removes it."""

    rule: Rule

    @property
    def id(self) -> str:
        """The rule as ``actor.rule``."""
        return f"{self.rule.actor}.{self.rule.id}"

    @property
    def override(self) -> str:
        """The ``--set`` override that switches the rule off."""
        return off_override(self.rule)

    def as_json(self, sc: Scenario) -> dict[str, Any]:
        """What a manifest or summary records: ids, names in words and how it was removed."""
        actor = next((a.name for a in sc.actors if a.id == self.rule.actor), self.rule.actor)
        return {
            "rule": self.id,
            "actor": self.rule.actor,
            "actor_name": actor,
            "kind": self.rule.kind,
            "action": self.rule.action,
            "description": self.rule.description,
            "removed_by": off_setting(self.rule.kind),
        }


def find_rule(sc: Scenario, text: str) -> Rule:
    """The rule ``text`` names: ``actor.rule``, or a rule id only one actor has.

    Raises:
        UsageError: no such rule (with the closest ids), or a bare id that
            several actors use (with the qualified ids to choose from).
    """
    name = str(text).strip()
    qualified = {f"{r.actor}.{r.id}": r for r in sc.rules}
    if name in qualified:
        return qualified[name]
    bare = [r for r in sc.rules if r.id == name]
    if len(bare) == 1:
        return bare[0]
    if bare:
        ids = ", ".join(f"{r.actor}.{r.id}" for r in bare)
        raise UsageError(f"rule {name!r} belongs to several actors; name one of: {ids}")
    known = list(qualified) + [r.id for r in sc.rules]
    matches = difflib.get_close_matches(name, known, n=6, cutoff=0.6)
    as_qualified = {m: m for m in qualified} | {
        r.id: f"{r.actor}.{r.id}" for r in sc.rules if r.id not in qualified
    }
    close = list(dict.fromkeys(as_qualified.get(m, m) for m in matches))[:3]
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    some = ", ".join(list(qualified)[:6]) + (", ..." if len(qualified) > 6 else "")
    where = f" (rules are actor.rule: {some})" if not close and qualified else ""
    raise UsageError(f"--without {name!r}: no such rule in {sc.name}{hint}{where}")


def removals(sc: Scenario, ids: Iterable[str]) -> tuple[Removal, ...]:
    """The rules ``ids`` name, each once, in the order given.

    Raises:
        UsageError: an unknown or ambiguous id (see :func:`find_rule`), or
            the same rule named twice.
    """
    out: list[Removal] = []
    for text in ids:
        r = Removal(find_rule(sc, text))
        if any(x.id == r.id for x in out):
            raise UsageError(f"--without {text!r}: rule {r.id} is removed once already")
        out.append(r)
    return tuple(out)


def removal_overrides(gone: Sequence[Removal]) -> tuple[str, ...]:
    """The overrides that remove ``gone``."""
    return tuple(r.override for r in gone)
