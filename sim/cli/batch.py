"""The ``wargame`` commands that write and read results folders.

``batch``, ``sweep`` and ``compare`` run worlds and write a folder; ``plot``
and ``report`` redraw a folder's charts and write a batch's one-page report.
Each command is one library call plus printing. The options the three run
commands share are built once (:func:`settings_parser`) and read into one
:class:`~sim.batch.settings.RunSettings` (:func:`run_settings`). Charts and
the report are the ``on_complete`` hook the commands hand to the batch
layer (:func:`sim.report.drawing.present`), unless ``--no-plots``.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sim.arguments import add_claims_options
from sim.batch.executors import CHUNK_TIMEOUT, EXECUTORS
from sim.batch.lifetime import Terminated, stop_signals_interrupt
from sim.batch.seeding import CHUNK
from sim.cli.common import EXIT_OK, err, out
from sim.errors import UsageError

if TYPE_CHECKING:
    from sim.batch.settings import RunSettings

# Start-up time: the parser imports only what its help texts quote; each
# command imports its library (the batch layer, the report, YAML) when it runs.


def _progress(args: argparse.Namespace) -> bool:
    return not args.quiet and sys.stderr.isatty()


def _pins(items: list[str] | None) -> dict[str, Any]:
    """``--pin PARAM=VALUE`` arguments as a mapping (values read as YAML scalars)."""
    pins: dict[str, Any] = {}
    if not items:
        return pins  # start-up time: PyYAML only to read pinned values
    import yaml

    for text in items:
        pid, eq, raw = text.partition("=")
        if not eq or not pid.strip() or not raw.strip():
            raise UsageError(f"--pin {text!r}: expected PARAM=VALUE, e.g. kremlin_appetite=0.8")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw.strip()
        pins[pid.strip()] = value
    return pins


# -- printing ----------------------------------------------------------------------
def _pct(x: float | None) -> str:
    return "   n/a" if x is None else f"{100 * x:5.1f}%"


def _parts(manifest: dict[str, Any]) -> str:
    """How the manifest says a single chunk was shared between processes, if it was."""
    parts = manifest.get("parts", 1)
    return f" (its one chunk in {parts} processes at once)" if parts > 1 else ""


def format_summary(summary: dict[str, Any], manifest: dict[str, Any]) -> str:
    """Outcome and key-flag shares with 95% intervals, as a text table."""
    lines = [
        f"{summary['title']} ({summary['scenario']})",
        f"{summary['runs']:,} worlds, seed {summary['seed']}, {manifest['executor']} executor, "
        f"{manifest['workers']} worker(s){_parts(manifest)}, {manifest['wall_seconds']:.1f} s",
        "",
    ]
    removed = summary.get("without") or ()
    if removed:
        names = "; ".join(f"{d['rule']} ({d['actor_name']}, {d['kind']})" for d in removed)
        lines[-1:] = [f"Without: {names}", ""]
    played = manifest.get("moves")
    if played:
        seats = ", ".join(played["seats"]) or "no actor"
        lines[-1:] = [
            f"Moves: {played['moves']} from {played['file']} (seats: {seats}; "
            "where a move was not allowed the doctrine's choice stood: moves.csv)",
            "",
        ]
    width = max([len(o["name"]) for o in summary["outcomes"]] + [len("Outcome")])
    lines.append(f"{'Outcome':<{width}}  {'share':>6}   95% interval")
    for o in summary["outcomes"]:
        lines.append(f"{o['name']:<{width}}  {_pct(o['p'])}   [{_pct(o['lo'])}, {_pct(o['hi'])}]")
    flags = {f["id"]: f for f in summary["flags"]}
    keys = [flags[k] for k in summary["key_flags"] if k in flags]
    if keys:
        width = max([len(f["name"]) for f in keys] + [len("Key flag")])
        lines += ["", f"{'Key flag':<{width}}  {'share':>6}   95% interval"]
        for f in keys:
            lines.append(
                f"{f['name']:<{width}}  {_pct(f['p'])}   [{_pct(f['lo'])}, {_pct(f['hi'])}]"
            )
    return "\n".join(lines)


def format_comparison(doc: dict[str, Any]) -> str:
    """Per outcome and flag: p_A, p_B and p_B - p_A with Newcombe's 95% interval."""
    from sim.results.reader import side_by_side

    a, b = doc["a"], doc["b"]
    lines = [
        f"A: {a['label']} ({a['scenario']}), {a['runs']:,} worlds, seed {a['seed']}",
        f"B: {b['label']} ({b['scenario']}), {b['runs']:,} worlds, seed {b['seed']}",
        "",
    ]
    for title, what in (("Outcome", "outcomes"), ("Flag", "flags")):
        rows = side_by_side(doc, what)
        if not rows:
            continue
        width = max([len(r["name"]) for r in rows] + [len(title)])
        lines.append(f"{title:<{width}}  {'p_A':>6}  {'p_B':>6}  {'B - A':>7}   95% interval")
        for r in rows:
            diff = "    n/a"
            if r["diff"] is not None:
                diff = (
                    f"{100 * r['diff']:+6.1f}%   [{100 * r['diff_lo']:+5.1f}%, "
                    f"{100 * r['diff_hi']:+5.1f}%]"
                )
            lines.append(f"{r['name']:<{width}}  {_pct(r['p_a'])}  {_pct(r['p_b'])}  {diff}")
        lines.append("")
    return "\n".join(lines).rstrip()


def _where(result: Any) -> None:
    out("")
    out(f"results: {result.folder}")
    if result.note:
        out(result.note)


# -- commands ----------------------------------------------------------------------
def _stoppable(cmd: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run a command that writes results so that SIGTERM and SIGHUP stop it like Ctrl-C.

    The batch is cancelled, its workers stopped and its temporary folder
    removed; the exit code is the shell's ``128 + signal number`` (143 for
    SIGTERM, 129 for SIGHUP).
    """

    @functools.wraps(cmd)
    def run(args: argparse.Namespace) -> int:
        try:
            with stop_signals_interrupt():
                return cmd(args)
        except Terminated as stop:
            err(f"stopped by {stop.signal_name}: the unfinished results folder was removed")
            return stop.exit_code

    return run


def run_settings(args: argparse.Namespace) -> RunSettings:
    """The :class:`RunSettings` of ``batch``, ``sweep`` and ``compare``, from their options.

    Options left out are left out here too, so each default is the one of
    :class:`RunSettings`, but for ``--workers``: the commands' default is
    ``auto`` (``workers=None``: a worker per usable core, no more than there
    are chunks), the library's 1. The claims policy (``--claims``,
    ``--no-claims``) is set for the whole command by :func:`sim.cli.main`.
    """
    from sim.batch.settings import RunSettings

    given = {
        "runs": args.runs,
        "seed": args.seed,
        "executor": args.executor,
        "scheduler": args.scheduler,
        "chunk_size": args.chunk_size,
        "chunk_timeout": args.chunk_timeout,
        "overrides": tuple(args.set or ()),
        "without": tuple(args.without or ()),
        "observations": getattr(args, "observations", None),
        "pinned": _pins(args.pin),
    }
    workers = None if args.workers in (None, AUTO) else args.workers
    return RunSettings(workers=workers, **{k: v for k, v in given.items() if v is not None})


def _output(args: argparse.Namespace) -> dict[str, Any]:
    """Where the folder goes, what it holds and who presents it: the rest of a run's options."""
    options: dict[str, Any] = {
        "out": args.out,
        "progress": _progress(args),
        "on_complete": None if args.no_plots else presenter(),
    }
    if hasattr(args, "no_runs_table"):
        options["runs_table"] = not args.no_runs_table
    return options


@_stoppable
def cmd_batch(args: argparse.Namespace) -> int:
    """Run a batch, print the summary table, say where the folder is."""
    if args.as_of is not None:
        if args.moves:
            raise UsageError("--moves and --as-of do not go together yet: run them apart")
        from sim.cli.evidence import cmd_conditional_batch  # conditioned: sim.evidence's

        return cmd_conditional_batch(args)
    from sim.batch.runner import run_batch  # start-up time: the engine only to run

    moves = {"moves": args.moves} if args.moves else {}
    result = run_batch(args.scenario, run_settings(args), **_output(args), **moves)
    out(format_summary(result.summary, result.manifest))
    _where(result)
    return EXIT_OK


@_stoppable
def cmd_sweep(args: argparse.Namespace) -> int:
    """Run a sweep, print the outcome shares per design point."""
    from sim.batch.sweep import as_varies, run_sweep  # start-up time: the engine

    result = run_sweep(
        args.scenario,
        as_varies(args.vary or []),
        run_settings(args),
        design=args.design,
        samples=args.samples,
        **_output(args),
    )
    s = result.summary
    out(f"{s['title']} ({s['scenario']})")
    out(
        f"{s['points']} design points ({s['design']}) x {s['runs']:,} worlds, seed {s['seed']}, "
        f"{result.manifest['wall_seconds']:.1f} s"
    )
    out("")
    points = result.points
    show = ["point", *result.varied] + [f"p_{o['id']}" for o in s["outcomes"]]
    out(points[show].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    _where(result)
    return EXIT_OK


@_stoppable
def cmd_compare(args: argparse.Namespace) -> int:
    """Compare two batches (folders or scenario files) outcome by outcome."""
    from sim.batch.compare import compare  # start-up time: the engine only to run

    result = compare(args.a, args.b, run_settings(args), **_output(args))
    out(format_comparison(result.summary))
    _where(result)
    return EXIT_OK


def cmd_plot(args: argparse.Namespace) -> int:
    """Redraw the plots (and a batch's report) of a results folder from its checked tables."""
    from sim.report.drawing import redraw

    for f in redraw(args.folder):
        out(str(f))
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """``wargame report RESULTS_DIR``: write the report and print its path."""
    from sim.report import write_report

    out(str(write_report(args.folder)))
    return EXIT_OK


def presenter() -> Callable[[Any], str]:
    """The front end's ``on_complete`` hook, :func:`sim.report.drawing.present` (the charts
    and the report), imported only when a command draws."""
    from sim.report.drawing import present

    return present


# -- parser ------------------------------------------------------------------------
AUTO = "auto"
"""The default of ``--workers``: as many workers as the machine has usable cores,
never more than the run has chunks; a run of one chunk stays in the command's
own process (:func:`sim.batch.executors.auto_workers`)."""


def _workers(text: str) -> int | str:
    """``--workers``: ``auto`` or a whole number (checked by :class:`RunSettings`)."""
    if text.strip().lower() == AUTO:
        return AUTO
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or auto, got {text!r}") from None


def settings_parser() -> argparse.ArgumentParser:
    """The options of :class:`RunSettings`, once, as the parent of batch, sweep and compare.

    No option has a default here (an option left out is ``None``): the
    defaults are those of :class:`RunSettings`, which the help texts quote.
    """
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--runs",
        type=int,
        metavar="N",
        help="worlds (per design point in a sweep, per scenario file in a comparison; "
        "default: the scenario's default_runs)",
    )
    p.add_argument("--seed", type=int, metavar="S", help="root seed (default: the scenario's)")
    p.add_argument(
        "--workers",
        type=_workers,
        metavar="K",
        help="worker processes, or auto (the default): one per usable core, no more "
        "than there are chunks; a single chunk runs in this process (a batch's from "
        "4,000 worlds with a forked helper on a second core); 1 runs serially; results "
        "do not depend on it",
    )
    p.add_argument(
        "--executor",
        choices=list(EXECUTORS),
        help="serial (default for 1 worker), local processes (default for more), or dask",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (implies dask)",
    )
    p.add_argument(
        "--chunk-timeout",
        type=float,
        metavar="SECONDS",
        help=f"stop when no chunk finishes for this long: a worker is stalled "
        f"(default {CHUNK_TIMEOUT:g}; 0 waits forever)",
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="override a scenario value, e.g. --set parameters.kremlin_appetite.a=4",
    )
    p.add_argument(
        "--without",
        action="append",
        metavar="RULE",
        help="remove a rule (actor.rule, or a rule id only one actor has): a trigger, "
        "preference or foresight rule never applies, a constraint forbids nothing; "
        "the worlds keep their random draws (repeatable)",
    )
    p.add_argument(
        "--observations",
        metavar="FILE",
        help="a file of dated, cited observations naming the scenario, added to its own; "
        "each world records whether each held (runs.csv obs_<id>; docs/evidence.md)",
    )
    p.add_argument(
        "--pin",
        action="append",
        metavar="PARAM=VALUE",
        help="use this value of a parameter in every world instead of drawing it",
    )
    p.add_argument(
        "--chunk-size",
        type=int,
        metavar="N",
        help=f"worlds per task (default {CHUNK}); part of the seeding, so it changes the worlds",
    )
    add_claims_options(p)
    return p


def _output_options(
    p: argparse.ArgumentParser,
    runs_table: bool = True,
    default: str = "results/<scenario>/<YYYYmmdd-HHMMSS>/",
) -> None:
    p.add_argument(
        "--out",
        metavar="DIR",
        help=f"exact results folder to create; it must not exist (default: {default})",
    )
    p.add_argument("--no-plots", action="store_true", help="do not draw plots")
    if runs_table:
        p.add_argument(
            "--no-runs-table",
            action="store_true",
            help="do not write runs.csv (one row per world); for very large batches",
        )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``batch``, ``sweep``, ``compare``, ``plot`` and ``report`` to the ``wargame`` parser."""
    run = [settings_parser()]
    p = sub.add_parser(
        "batch",
        parents=run,
        help="simulate many worlds; write tables, summary and plots",
        description="Simulate many worlds of a scenario and write a results folder. "
        "The same seed gives byte-identical tables for any executor and worker count.",
    )
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument(
        "--as-of",
        metavar="DATE",
        help="also condition the worlds on the observations dated up to DATE: "
        "conditional.csv, posterior.csv (docs/evidence.md)",
    )
    p.add_argument(
        "--moves",
        metavar="FILE",
        help="play the moves in FILE (a moves file or a saved game) for the actors it "
        "names, in every world, instead of their doctrine (docs/seats.md)",
    )
    _output_options(p)
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser(
        "sweep",
        parents=run,
        help="run a batch at every point of a parameter design",
        description="Run a batch at every design point. VALUES is a list (0.1,0.3,0.5) or a "
        "range lo:hi:n (n points, ends included). PATH is a scenario path (applied like "
        "--set) or param.<id> (pin that parameter in every world of the point).",
    )
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument(
        "--vary",
        action="append",
        metavar="PATH=VALUES",
        required=True,
        help="e.g. --vary parameters.kremlin_appetite.a=1:5:3 "
        "--vary param.withdrawal_rate=0.02,0.1",
    )
    p.add_argument(
        "--design", choices=["grid", "lhs"], default="grid", help="grid (default) or lhs"
    )
    p.add_argument("--samples", type=int, metavar="M", help="number of design points for lhs")
    _output_options(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser(
        "compare",
        parents=run,
        help="compare two batches outcome by outcome (B - A with 95%% intervals)",
        description="A and B are results folders, or scenario files (run first as batches "
        "with the same seed and number of worlds). Writes results/compare/<time>/.",
    )
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    _output_options(p, runs_table=False, default="results/compare/<YYYYmmdd-HHMMSS>/")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("plot", help="redraw the plots of a results folder")
    p.add_argument("folder", metavar="RESULTS_DIR")
    p.set_defaults(func=cmd_plot)

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
