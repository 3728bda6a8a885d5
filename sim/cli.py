"""The ``wargame`` command: a thin layer over the library.

Each subcommand parses its arguments and makes one library call. Errors the
user can cause (:class:`~sim.errors.WargameError`, and running out of memory)
become one message per problem and exit code 2; anything else is a bug and
keeps its traceback.

``--claims FILE`` and ``--no-claims`` (validate, trace, run, batch, sweep,
compare) set the :func:`sim.registry.claims_policy` for the whole command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sim import __version__
from sim.errors import ValidationError, WargameError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _out(text: str = "") -> None:
    print(text, file=sys.stdout)


def _err(text: str) -> None:
    print(text, file=sys.stderr)


# -- validate / trace ---------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    """Validate each file; report every problem; exit 2 if any file is bad."""
    from sim.registry import load_registry
    from sim.scenario import load_scenario

    status = EXIT_OK
    for name in args.files:
        path = Path(name)
        try:
            if path.name in ("claims.yaml", "sources.yaml") and path.parent.name == "seeds":
                reg = load_registry(path.parent)
                _out(f"{name}: ok ({len(reg.claims)} claims, {len(reg.sources)} sources)")
                continue
            sc = load_scenario(path, args.set or ())
        except ValidationError as exc:
            for d in exc.diagnostics:
                _err(str(d))
            for w in exc.warnings:
                _err(str(w))
            status = EXIT_USAGE
            continue
        for w in sc.warnings:
            _err(w)
        _out(f"{name}: ok")
    return status


def cmd_trace(args: argparse.Namespace) -> int:
    """Show which claims each rule cites, unused claims and uncited rules."""
    from sim.registry import registry_for_scenario
    from sim.scenario import load_scenario
    from sim.trace import format_trace

    sc = load_scenario(args.file, args.set or ())
    text, uncited = format_trace(sc, registry_for_scenario(args.file), verbose=args.verbose)
    _out(text)
    return EXIT_FAIL if (uncited and args.strict) else EXIT_OK


# -- engine and batch commands (imported lazily: they pull in Mesa) ------------
def cmd_run(args: argparse.Namespace) -> int:
    from sim.narrative import run_story

    _out(run_story(args.file, seed=args.seed, overrides=args.set or ()))
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from sim.schema import schema_text

    text = schema_text()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        _out(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


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


def _add_set(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="override a scenario value, e.g. --set parameters.kremlin_appetite.value=0.8",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="wargame",
        description="Scenario wargame engine: Belarus, the Kremlin, NATO and Ukraine, 2022.",
    )
    parser.add_argument("--version", action="version", version=f"wargame {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("validate", help="check scenario files (and seeds/claims.yaml)")
    p.add_argument("files", nargs="+", metavar="FILE")
    _add_set(p)
    add_claims_options(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("trace", help="which claims each rule cites; unused claims; uncited rules")
    p.add_argument("file", metavar="SCENARIO")
    p.add_argument("-v", "--verbose", action="store_true", help="print claim summaries too")
    p.add_argument("--strict", action="store_true", help="exit 1 if a rule cites nothing")
    _add_set(p)
    add_claims_options(p)
    p.set_defaults(func=cmd_trace)

    p = sub.add_parser("run", help="simulate one world and tell its story day by day")
    p.add_argument("file", metavar="SCENARIO")
    p.add_argument(
        "--seed", type=seed_value, default=None, help="seed, 0 or more (default: the scenario's)"
    )
    _add_set(p)
    add_claims_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    p.add_argument("--out", metavar="FILE", help="write it to FILE instead of stdout")
    p.set_defaults(func=cmd_schema)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


_EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []


def _register_batch_commands(sub: argparse._SubParsersAction) -> None:
    try:
        from sim.batch.cli import register
    except ImportError:  # pragma: no cover - batch package absent
        return
    register(sub)


def cmd_report(args: argparse.Namespace) -> int:
    """``wargame report RESULTS_DIR``: write the report and print its path."""
    from sim.report import write_report

    _out(str(write_report(args.folder)))
    return EXIT_OK


def _register_report(sub: argparse._SubParsersAction) -> None:
    """``wargame report``: one self-contained page of a batch's results (:mod:`sim.report`)."""
    p = sub.add_parser(
        "report",
        help="write report.html, one self-contained page of a batch's results",
        description="Write report.html into a batch's results folder: outcomes, charts, rule "
        "attribution, the claims behind the rules and the command that reproduces them.",
    )
    p.add_argument(
        "folder",
        metavar="RESULTS_DIR",
        help="a results folder, or results/<scenario> for its latest one",
    )
    p.set_defaults(func=cmd_report)


def _register_view(sub: argparse._SubParsersAction) -> None:
    from sim.viz.cli import register

    register(sub)


_EXTRA_COMMANDS.append(_register_batch_commands)
_EXTRA_COMMANDS.append(_register_report)
_EXTRA_COMMANDS.append(_register_view)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``wargame`` and ``python -m sim``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    from sim.registry import claims_policy

    try:
        with claims_policy(
            getattr(args, "claims", None), check=not getattr(args, "no_claims", False)
        ):
            return args.func(args)
    except ValidationError as exc:
        for d in exc.diagnostics:
            _err(str(d))
        return EXIT_USAGE
    except WargameError as exc:
        _err(f"error: {exc}")
        return EXIT_USAGE
    except MemoryError:
        _err(
            "error: out of memory; the scenario or the batch is too large for this machine "
            "(try fewer --runs, a smaller --chunk-size or fewer --workers)"
        )
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
