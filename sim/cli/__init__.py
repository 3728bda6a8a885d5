"""The ``wargame`` command: a thin layer over the library.

Each subcommand parses its arguments and makes one library call. Errors the
user can cause (:class:`~sim.errors.WargameError`, and running out of memory)
become one message per problem and exit code 2; anything else is a bug and
keeps its traceback.

``--claims FILE`` and ``--no-claims`` (validate, trace, run, batch, sweep,
compare, view) set the :func:`sim.registry.claims_policy` for the whole command.

Here: ``validate``, ``trace``, ``run`` and ``schema``, and the parser;
:mod:`sim.cli.batch` holds the commands that write and read results folders
(``batch``, ``sweep``, ``compare``, ``plot``, ``report``); ``view`` is the
viewer's (:mod:`sim.viz.cli`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sim import __version__
from sim.arguments import add_claims_options, seed_value
from sim.cli.batch import register as register_results_commands
from sim.cli.common import EXIT_FAIL, EXIT_OK, EXIT_PIPE, EXIT_USAGE, err, exit_now, out
from sim.cli.discover import register as register_discover
from sim.cli.evidence import register as register_forecast
from sim.cli.knockouts import register as register_knockouts
from sim.cli.play import register as register_play
from sim.cli.score import register as register_score
from sim.cli.sensitivity import register as register_sensitivity
from sim.errors import UsageError, ValidationError, WargameError
from sim.viz.cli import register as register_view

if TYPE_CHECKING:
    from sim.scenario.model import Scenario

__all__ = ["EXIT_FAIL", "EXIT_OK", "EXIT_USAGE", "add_claims_options", "main", "seed_value"]


# -- validate / trace ---------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    """Validate each file; report every problem; exit 2 if any file is bad."""
    from sim.registry import load_registry  # start-up time: the parser alone for --help
    from sim.scenario import load_scenario

    status = EXIT_OK
    for name in args.files:
        path = Path(name)
        try:
            if path.name in ("claims.yaml", "sources.yaml") and path.parent.name == "seeds":
                reg = load_registry(path.parent)
                out(f"{name}: ok ({len(reg.claims)} claims, {len(reg.sources)} sources)")
                continue
            sc = load_scenario(path, args.set or (), observations=args.observations)
        except ValidationError as exc:
            for d in exc.diagnostics:
                err(str(d))
            for w in exc.warnings:
                err(str(w))
            status = EXIT_USAGE
            continue
        for warning in sc.warnings:
            err(warning)
        out(f"{name}: ok{_compiled(sc) if args.compile else ''}")
    return status


def _compiled(sc: Scenario) -> str:
    """Compile ``sc``'s kernels into the cache (a run of 200 worlds on the compiled path,
    results thrown away); what was done, for the line that says the file is ok."""
    import time

    import numpy as np

    from sim.engine import kernels
    from sim.engine.core import Engine
    from sim.results import compiled_cells

    started = time.process_time()
    cached = bool(sc.sha256) and kernels.marker(sc.sha256).exists()
    if not kernels.force(sc):
        return "; kernels not compiled (numba is not installed, or gives other numbers here)"
    Engine(sc, 200, np.random.default_rng(0)).run()
    compiled_cells.float_cells(np.array([0.5]))  # runs.csv's float cells, once per cache
    compiled_cells.compile_rows()  # and its rows
    spent = f"{time.process_time() - started:.1f} s of CPU"
    return f"; kernels {'in the cache already' if cached else 'compiled into the cache'} ({spent})"


def cmd_trace(args: argparse.Namespace) -> int:
    """Show which claims each rule cites, unused claims and uncited rules."""
    if args.effects:
        return _trace_effects(args)
    if args.check:
        raise UsageError("--check goes with --effects (for uncited rules, see --strict)")
    from sim.registry import registry_for_scenario  # start-up time: the parser alone for --help
    from sim.scenario import load_scenario
    from sim.trace import format_trace

    sc = load_scenario(args.file, args.set or ())
    text, uncited = format_trace(sc, registry_for_scenario(args.file), verbose=args.verbose)
    out(text)
    return EXIT_FAIL if (uncited and args.strict) else EXIT_OK


def _trace_effects(args: argparse.Namespace) -> int:
    """``trace --effects``: screen every input for an effect on the outcomes and flags."""
    from tqdm import tqdm  # start-up time: the engine only to screen

    from sim.effects import DEFAULT_RUNS, format_effects, screen

    runs = DEFAULT_RUNS if args.runs is None else args.runs
    with tqdm(
        unit="variant", delay=1.0, file=sys.stderr, leave=False, bar_format="{desc} {n} {unit}s"
    ) as bar:

        def step(label: str) -> None:
            bar.set_description_str(label, refresh=False)
            bar.update(1)

        found = screen(args.file, runs=runs, seed=args.seed, overrides=args.set or (), on_step=step)
    out(format_effects(found))
    return EXIT_FAIL if (args.check and found.inert) else EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    """Simulate one world and print its story."""
    from sim.narrative import run_story  # start-up time: the engine (Mesa) only to run

    out(run_story(args.file, seed=args.seed, overrides=args.set or ()))
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    """Print (or write) the JSON Schema of scenario files."""
    from sim.schema import schema_text  # start-up time: the parser alone for --help

    text = schema_text()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        out(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


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
    p.add_argument(
        "--observations",
        metavar="FILE",
        help="also check this observations file against each scenario (docs/evidence.md)",
    )
    p.add_argument(
        "--compile",
        action="store_true",
        help="also compile each scenario's kernels into the cache, so that batches of it "
        "take the compiled path at once (needs numba; some 15 s a scenario, once)",
    )
    _add_set(p)
    add_claims_options(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("trace", help="which claims each rule cites; unused claims; uncited rules")
    p.add_argument("file", metavar="SCENARIO")
    p.add_argument("-v", "--verbose", action="store_true", help="print claim summaries too")
    p.add_argument("--strict", action="store_true", help="exit 1 if a rule cites nothing")
    p.add_argument(
        "--effects",
        action="store_true",
        help="screen every parameter, rule and state variable for an effect; list the inert",
    )
    p.add_argument(
        "--runs", type=int, default=None, help="--effects: worlds per variant (default 2000)"
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="--effects: exit 1 if an input is inert and the scenario does not say why (inert:)",
    )
    p.add_argument(
        "--seed", type=seed_value, default=None, help="--effects: seed (default: the scenario's)"
    )
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

    register_results_commands(sub)
    register_discover(sub)
    register_sensitivity(sub)
    register_knockouts(sub)
    register_score(sub)
    register_forecast(sub)
    register_play(sub)
    register_view(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``wargame`` and ``python -m sim``; returns the exit code.

    Run on the process's own command line (``argv`` left out), the process
    ends here once the command is done (:func:`sim.cli.common.exit_now`); given
    ``argv``, as by a script or a test, it returns.
    """
    if argv is None:
        _one_blas_thread()
    code = _command(argv)
    if argv is None:
        exit_now(code)
    return code


BLAS_THREADS = "OPENBLAS_NUM_THREADS"
"""The variable that sets how many threads numpy's BLAS (OpenBLAS) starts."""


def _one_blas_thread() -> None:
    """Give numpy's BLAS one thread in this process and the workers it starts, unless
    the user set how many (``OPENBLAS_NUM_THREADS``) or numpy is imported already.

    Nothing the commands do multiplies matrices large enough for more threads to
    help, and OpenBLAS's extra thread busy-waits for about a tenth of a second of
    CPU after numpy's import: on two cores, taken from the batch's workers (a
    10,000-world ``wargame batch`` used 0.65 s of user CPU with it, 0.53 s without).
    """
    if "numpy" not in sys.modules:
        os.environ.setdefault(BLAS_THREADS, "1")


def _reader_gone() -> int:
    """The exit code when whoever read the output stopped (``wargame ... | head``).

    Whatever the command wrote to files is complete (the summary is printed
    last); what is left of stdout goes nowhere, so the interpreter's final
    flush raises nothing, and the code is the shell's for a process ended by
    SIGPIPE, as for any other program in a pipeline.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file behind stdout
        pass
    return EXIT_PIPE


def _command(argv: Sequence[str] | None) -> int:
    """Parse ``argv`` and run its command; the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    from sim.registry import claims_policy  # start-up time: the parser alone for --help

    try:
        with claims_policy(
            getattr(args, "claims", None), check=not getattr(args, "no_claims", False)
        ):
            return args.func(args)
    except ValidationError as exc:
        for d in exc.diagnostics:
            err(str(d))
        return EXIT_USAGE
    except WargameError as exc:
        err(f"error: {exc}")
        return EXIT_USAGE
    except MemoryError:
        err(
            "error: out of memory; the scenario or the batch is too large for this machine "
            "(try fewer --runs, a smaller --chunk-size or fewer --workers)"
        )
        return EXIT_USAGE
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except BrokenPipeError:
        return _reader_gone()
