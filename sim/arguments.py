"""Command-line options shared by every front end: ``wargame`` and ``python -m sim.viz``.

Only :mod:`argparse`: the parsers of :mod:`sim.cli` and :mod:`sim.viz.cli`
both take these, so they live below both, and each option is spelled and
explained once.
"""

from __future__ import annotations

import argparse


def seed_value(text: str) -> int:
    """``--seed``: a whole number from 0 (numpy seeds are non-negative)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative whole number (got {value})")
    return value


def add_claims_options(p: argparse.ArgumentParser) -> None:
    """``--claims FILE`` and ``--no-claims``: which registry citations are checked against."""
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--claims",
        metavar="FILE",
        help="claims registry to check citations against, with the sources.yaml beside it "
        "(default: the nearest seeds/claims.yaml above the scenario, else above the working "
        "folder)",
    )
    g.add_argument(
        "--no-claims",
        action="store_true",
        help="do not check citations (without it, a scenario whose claims registry cannot "
        "be found is refused)",
    )
