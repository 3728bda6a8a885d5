"""Compile rules for what actors value and believe (docs/decision-model.md, *Reasoning*).

Three pieces, checked here so the rest of the compiler only learns one new thing
(each actor's expressions see their own symbol table):

* **private traits**: a parameter with ``owner: <actor>`` is that actor's hidden
  trait. Its owner's expressions read it, as do world-level ones (state, intel,
  events, flags, outcomes: the world is what it is); any other actor's
  expression reading it is an error that points to the belief it may hold;
* **beliefs**: ``actors.<a>.beliefs.<trait>`` gives ``a`` per-world
  probabilities over the types of another actor's word-valued ``choice``
  trait, read as ``belief.<trait>.<type>`` by ``a`` alone;
* **values**: ``actors.<a>.values.<term>``, what ``foresight`` rules score
  predicted states with.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sim.expr import Expr, Symbol
from sim.scenario import names
from sim.scenario.context import CompileContext
from sim.scenario.model import Actor, Belief, Evidence, ValueTerm
from sim.spec import IDENT_RE, did_you_mean


def private_traits(c: CompileContext, actor_ids: list[str]) -> dict[str, str]:
    """Parameter id -> owner, for the parameters that declare a valid ``owner``."""
    out = {}
    for pid, p in c.data["parameters"].items():
        owner = p.get("owner")
        if p.get("types") and (owner is None or _words(p)):
            c.error(
                ("parameters", pid, "types"),
                f"parameters.{pid}.types: only a numeric private trait (with 'owner') names "
                "types; a word choice's types are its options",
            )
        if owner is None:
            continue
        if owner not in actor_ids:
            c.error(
                ("parameters", pid, "owner"),
                f"parameters.{pid}.owner: unknown actor {owner!r}{did_you_mean(owner, actor_ids)}",
            )
            continue
        out[pid] = owner
    return out


def _words(p: dict[str, Any]) -> tuple[str, ...]:
    """The options of a ``choice`` parameter whose options are words (else empty)."""
    opts = p.get("options") if p.get("dist") == "choice" else None
    if not isinstance(opts, dict):
        return ()
    words = tuple(opts)
    return words if all(IDENT_RE.match(w) for w in words) else ()


def _types(c: CompileContext, trait: str) -> tuple[str, ...]:
    """A trait's types: a word choice's options, or a numeric trait's named ``types``."""
    p = c.data["parameters"].get(trait, {})
    return _words(p) or tuple(p.get("types") or ())


def actor_symbols(
    c: CompileContext, scope: dict[str, Symbol], traits: dict[str, str], actor_ids: list[str]
) -> dict[str, dict[str, Symbol]]:
    """Per actor: ``scope`` with the private traits made private, plus its own beliefs.

    ``scope`` is a world-level table (parameters for priors, the daily names
    for rules); traits stay readable by their owner only, with a hint naming
    the belief another reader may declare instead.
    """
    private = dict(scope)
    for pid, owner in traits.items():
        if pid in private:
            hint = (
                f"{{reader}} reads its belief about it as belief.{pid}.<type>, "
                f"declared under actors.{{reader}}.beliefs.{pid}"
                if _types(c, pid)
                else "beliefs are held about a trait with types (a choice with words as "
                "options, or a numeric trait with 'types'); this one only its owner and the "
                "world read"
            )
            private[pid] = dataclasses.replace(private[pid], visible_to=owner, hint=hint)
    out = {}
    for aid in actor_ids:
        own = dict(private)
        for trait in c.data["actors"][aid].get("beliefs") or {}:
            for t in _types(c, trait):
                name = names.belief(trait, t)
                own[name] = Symbol(
                    name, "float", visible_to=aid, doc=f"{aid}'s probability that {trait} is {t}"
                )
        out[aid] = own
    return out


def _keys_match(
    c: CompileContext, path: tuple[Any, ...], given: dict[str, Any], types: tuple[str, ...]
) -> bool:
    """Whether a per-type mapping names every type once; each mismatch is reported."""
    ok = True
    for k in given:
        if k not in types:
            c.error(
                (*path, k),
                f"{c.where(path)}: {k!r} is not a type of this trait{did_you_mean(k, types)} "
                f"(types: {', '.join(types)})",
                key=True,
            )
            ok = False
    missing = [t for t in types if t not in given]
    if missing:
        c.error(path, f"{c.where(path)}: give every type; missing {', '.join(missing)}")
        ok = False
    return ok


def _beliefs(
    c: CompileContext,
    aid: str,
    traits: dict[str, str],
    base: dict[str, Symbol],
    daily: dict[str, Symbol],
) -> tuple[Belief, ...]:
    out = []
    for trait, b in c.data["actors"][aid]["beliefs"].items():
        path = ("actors", aid, "beliefs", trait)
        if trait not in c.data["parameters"]:
            c.error(
                path,
                f"{c.where(path)}: no parameter {trait!r}"
                f"{did_you_mean(trait, list(traits))}; a belief is about a private trait",
                key=True,
            )
            continue
        owner = traits.get(trait)
        if owner is None:
            c.error(
                path,
                f"{c.where(path)}: parameters.{trait} is not a private trait; "
                "give it 'owner: <actor>' (anything else every actor can read)",
                key=True,
            )
            continue
        if owner == aid:
            c.error(path, f"{c.where(path)}: {trait} is {aid}'s own trait; it knows it", key=True)
            continue
        types = _types(c, trait)
        if not types:
            c.error(
                path,
                f"{c.where(path)}: a belief needs a trait with types: a 'choice' whose "
                "options are words, or a numeric trait with 'types'",
                key=True,
            )
            continue
        if b["prior"] is None:  # a word choice's option weights; named values: equal
            opts = (
                c.data["parameters"][trait].get("options")
                if _words(c.data["parameters"][trait])
                else None
            )
            prior_src: dict[str, Any] = dict(opts) if opts else dict.fromkeys(types, 1)
        else:
            prior_src = b["prior"]
            if not _keys_match(c, (*path, "prior"), prior_src, types):
                continue
        prior = [
            c.expr(prior_src[t], (*path, "prior", t), base, "number", owner=aid) for t in types
        ]
        evidence = []
        for eid, ev in b["evidence"].items():
            ep = (*path, "evidence", eid)
            seen = c.expr(ev["seen"], (*ep, "seen"), daily, "bool", owner=aid)
            if not _keys_match(c, (*ep, "likelihood"), ev["likelihood"], types):
                continue
            lik = [
                c.expr(
                    ev["likelihood"][t],
                    (*ep, "likelihood", t),
                    daily,
                    "number",
                    owner=aid,
                    prob=True,
                )
                for t in types
            ]
            if seen is None or any(x is None for x in lik):
                continue
            evidence.append(
                Evidence(
                    eid,
                    seen,
                    tuple(x for x in lik if x is not None),
                    ev["once"],
                    ev["description"],
                    c.cites(ev["cites"], (*ep, "cites")),
                )
            )
        if any(x is None for x in prior):
            continue
        out.append(
            Belief(
                trait,
                owner,
                types,
                tuple(x for x in prior if x is not None),
                tuple(evidence),
                b["description"],
                c.cites(b["cites"], (*path, "cites")),
            )
        )
    return tuple(out)


def _values(c: CompileContext, aid: str, daily: dict[str, Symbol]) -> tuple[ValueTerm, ...]:
    out = []
    for vid, v in c.data["actors"][aid]["values"].items():
        path = ("actors", aid, "values", vid)
        of = c.expr(v["of"], (*path, "of"), daily, "number", owner=aid)
        weight = c.expr(v["weight"], (*path, "weight"), daily, "number", owner=aid)
        if of is None or weight is None:
            continue
        out.append(
            ValueTerm(vid, of, weight, v["description"], c.cites(v["cites"], (*path, "cites")))
        )
    return tuple(out)


def with_strategy(
    c: CompileContext,
    actors: list[Actor],
    traits: dict[str, str],
    base: dict[str, dict[str, Symbol]],
    daily: dict[str, dict[str, Symbol]],
) -> list[Actor]:
    """The actors with their values and beliefs.

    ``base`` and ``daily`` are the per-actor tables of :func:`actor_symbols`
    (parameters only, for priors; every daily name, for the rest). A
    foresight rule of an actor that values nothing is an error, and so is an
    actor named ``belief`` (its history names would read as beliefs).
    """
    out = []
    for a in actors:
        if a.id == names.BELIEF:
            c.error(
                ("actors", a.id),
                f"actors.{a.id}: {a.id!r} is a reserved name (belief.<trait>.<type>)",
                key=True,
            )
        values = _values(c, a.id, daily[a.id])
        beliefs = _beliefs(c, a.id, traits, base[a.id], daily[a.id])
        if not c.data["actors"][a.id]["values"]:
            for r in a.rules_of("foresight"):
                path = ("actors", a.id, "rules", r.id)
                c.error(
                    path,
                    f"{c.where(path)}: a foresight rule scores predicted states by what "
                    f"the actor values; declare actors.{a.id}.values",
                )
        out.append(dataclasses.replace(a, values=values, beliefs=beliefs))
    return out


def expressions(actor: Actor) -> list[Expr]:
    """Every expression of ``actor``'s values and beliefs (for the names the state fills)."""
    out: list[Expr] = []
    for v in actor.values:
        out += [v.of, v.weight]
    for b in actor.beliefs:
        out += list(b.prior)
        for e in b.evidence:
            out += [e.seen, *e.likelihood]
    return out
