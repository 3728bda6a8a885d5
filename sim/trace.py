"""Citation trace: which claims back each rule, and which claims go unused.

Doctrine is data, and it is cited; this report is how a reviewer checks that
no behaviour in a scenario is invented: every rule names its claims, and the
claims the scenario leaves aside are listed for a conscious decision.
"""

from __future__ import annotations

from sim.registry import Registry
from sim.scenario.model import Scenario


def cited_claims(sc: Scenario) -> dict[str, list[str]]:
    """Claim id -> the scenario elements citing it (``rule:x``, ``parameter:y`` ...).

    A claim cited as background (``context``) counts as cited; its element is
    marked ``(context)``, as in ``parameter:y (context)``.
    """
    used: dict[str, list[str]] = {}
    for claim, element, context in sc.citations():
        used.setdefault(claim, []).append(f"{element} (context)" if context else element)
    return used


def _context(claims: tuple[str, ...]) -> str:
    """``"; context a, b"``: the claims cited as background, or nothing."""
    return f"; context {', '.join(claims)}" if claims else ""


def format_trace(
    sc: Scenario, registry: Registry | None, *, verbose: bool = False
) -> tuple[str, list[str]]:
    """The trace as text, and the ids of rules that cite nothing."""
    lines = [f"Scenario {sc.name}: {sc.title}", ""]
    uncited = [r.id for r in sc.rules if not r.cites]

    def claim_line(c: str) -> str:
        if registry is not None and c in registry.claims:
            cl = registry.claims[c]
            text = f"      {c} [{cl.kind}; {', '.join(cl.sources)}]"
            return text + (f": {cl.summary}" if verbose else "")
        return f"      {c}"

    lines.append("Rules and the claims they cite:")
    for a in sc.actors:
        lines.append(f"  {a.id} ({a.name})")
        for r in a.rules:
            mark = "" if r.cites else "   <-- WARNING: cites no claim"
            lines.append(f"    {r.kind:<10} {r.id} -> {r.action}{mark}")
            lines.extend(claim_line(c) for c in r.cites)
            lines.extend(f"{claim_line(c)}  (context)" for c in r.context)
        for t in a.values:
            lines.append(f"    value      {t.id}: {t.weight} * {t.of}")
            lines.extend(claim_line(c) for c in t.cites)
        for b in a.beliefs:
            lines.append(f"    belief     about {b.trait} ({b.owner}'s): {', '.join(b.types)}")
            lines.extend(claim_line(c) for c in b.cites)
            for ev in b.evidence:
                lines.append(f"      evidence {ev.id}{' (once)' if ev.once else ''}: {ev.seen}")
                lines.extend(claim_line(c) for c in ev.cites)
    lines.append("")
    lines.append("Parameters, events and intel:")
    for p in sc.parameters:
        private = f", {p.owner}'s private trait" if p.owner else ""
        lines.append(
            f"    parameter  {p.id} ({p.dist}{private}) cites {', '.join(p.cites)}"
            + _context(p.context)
        )
    for e in sc.events:
        lines.append(
            f"    event      {e.id} ({e.kind}) cites {', '.join(e.cites) or '-'}"
            + _context(e.context)
        )
    for i in sc.intel:
        lines.append(
            f"    intel      {i.id} (seen by {i.observer}) cites {', '.join(i.cites)}"
            + _context(i.context)
        )
    used = cited_claims(sc)
    if registry is not None:
        unused = [c for c in registry.claims if c not in used]
        lines.append("")
        lines.append(
            f"Claims cited: {len(used)} of {len(registry.claims)}; "
            f"not used by this scenario: {len(unused)}"
        )
        for c in unused:
            lines.append(claim_line(c))
    else:
        lines.append("")
        lines.append("No claims registry (--no-claims): citations not checked.")
    lines.append("")
    if uncited:
        lines.append(f"WARNING: {len(uncited)} rule(s) cite no claim: {', '.join(uncited)}")
    else:
        lines.append(f"All {len(sc.rules)} rules cite at least one claim.")
    return "\n".join(lines), uncited
