"""``wargame play``: take a seat in a scenario, day by day, in the terminal.

One library call: :func:`sim.play.session.play`, which runs the game on this
process's standard input and output (see docs/play.md). A bad scenario,
actor, moves file or saved game is refused before the game starts, with one
message and exit code 2, like every other command.
"""

from __future__ import annotations

import argparse
import sys

from sim.arguments import add_claims_options, seed_value
from sim.cli.common import EXIT_OK

WORLDS = 200
"""Worlds per predicted consequence and per path of the review, unless ``--worlds`` says."""


def _worlds(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {n})")
    return n


def cmd_play(args: argparse.Namespace) -> int:
    """Play (or replay, with ``--moves``) a game; returns when it ends or input runs out."""
    from sim.play.session import play  # start-up time: the engine (Mesa) only to play

    play(
        args.scenario,
        seat=args.seat,
        seed=args.seed,
        worlds=args.worlds,
        moves=args.moves,
        load=args.load,
        review_out=args.review_out,
        overrides=tuple(args.set or ()),
        stdin=sys.stdin,
        stdout=sys.stdout,
    )
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``play`` to the ``wargame`` parser."""
    p = sub.add_parser(
        "play",
        help="take an actor's seat and play the scenario day by day against the others' doctrine",
        description="Play one actor of a scenario day by day in the terminal; the other actors "
        "decide from doctrine. Type help at the prompt for the commands (docs/play.md).",
    )
    p.add_argument(
        "scenario", metavar="SCENARIO", nargs="?", help="scenario file (not with --load)"
    )
    p.add_argument("--as", dest="seat", metavar="ACTOR", help="the actor you play (its id)")
    p.add_argument(
        "--seed", type=seed_value, default=None, help="seed of the game (default: the scenario's)"
    )
    p.add_argument(
        "--worlds",
        type=_worlds,
        default=WORLDS,
        help=f"worlds behind each predicted consequence and each path of the review "
        f"(default {WORLDS})",
    )
    p.add_argument(
        "--moves",
        metavar="FILE",
        help="play the choices of a moves file without asking (a scripted seat)",
    )
    p.add_argument("--load", metavar="FILE", help="go on with a saved game")
    p.add_argument(
        "--review-out",
        metavar="FILE.html",
        help="write the after-action review as an HTML page when the game ends",
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="override a scenario value, e.g. --set parameters.kremlin_appetite.value=0.8",
    )
    add_claims_options(p)
    p.set_defaults(func=cmd_play)
