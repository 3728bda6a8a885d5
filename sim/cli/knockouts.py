"""``wargame knockouts``: each rule removed in turn, same worlds (:mod:`sim.batch.knockouts`).

One library call (:func:`sim.batch.knockouts.run_knockouts`), then the
knock-outs that changed something, largest change first, each with the
outcomes and key flags it moved and their paired 95% intervals. The chart
(:mod:`sim.plots.knockouts`) is drawn into the folder by the same hook as a
batch's (:func:`sim.report.drawing.present`), unless ``--no-plots``.
"""

from __future__ import annotations

import argparse
from typing import Any

from sim.cli.batch import _output_options, _progress, _stoppable, _where, presenter, run_settings
from sim.cli.batch import settings_parser as _settings_parser
from sim.cli.common import EXIT_OK, out

RUNS = 2000
"""The default of :data:`sim.batch.knockouts.DEFAULT_RUNS`, for the help text (importing it
loads the engine; a test checks they agree)."""


def _pp(x: float) -> str:
    return f"{100 * x:+.1f}"


def format_knockouts(summary: dict[str, Any], table: Any, wall: float) -> str:
    """The knock-outs that changed a share, largest change first, with their intervals."""
    runs = summary["runs"]
    lines = [
        f"{summary['title']} ({summary['scenario']})",
        f"{len(summary['knockouts'])} knock-outs x {runs:,} worlds, the same worlds as the "
        f"base (seed {summary['seed']}), {wall:.1f} s",
        "Change in share, knock-out minus base, in percentage points, with the paired 95% "
        "interval; * = the interval excludes 0.",
    ]
    if summary.get("without"):
        lines.append("Base without: " + ", ".join(d["rule"] for d in summary["without"]))
    idle = []
    width = min(56, max([len(str(n)) for n in table["output_name"]] + [10]))
    for k in summary["knockouts"]:
        rows = table[(table["rule"] == k["rule"]) & (table["diff"] != 0)]
        if rows.empty:
            idle.append(k["rule"])
            continue
        lines += ["", f"{k['actor_name']}: {k['rule'].split('.', 1)[1]} ({k['kind']})"]
        if k["description"]:
            lines.append(f"    {k['description']}")
        rows = rows.reindex(rows["diff"].abs().sort_values(ascending=False).index)
        for r in rows.itertuples(index=False):
            mark = "*" if r.lo > 0 or r.hi < 0 else " "
            lines.append(
                f"  {mark} {str(r.output_name)[:width]:<{width}} {100 * r.base_p:5.1f}% -> "
                f"{100 * r.knockout_p:5.1f}%  {_pp(r.diff):>6} [{_pp(r.lo)}, {_pp(r.hi)}]"
            )
    if idle:
        lines += [
            "",
            f"Changed no outcome or key flag in any world ({len(idle)}): " + ", ".join(idle),
        ]
    return "\n".join(lines)


@_stoppable
def cmd_knockouts(args: argparse.Namespace) -> int:
    """Run the base and every knock-out, print the changes, say where the folder is."""
    from sim.batch.knockouts import run_knockouts  # start-up time: the engine (Mesa)

    rules = None if args.rules is None else [s.strip() for s in args.rules.split(",") if s.strip()]
    result = run_knockouts(
        args.scenario,
        run_settings(args),
        rules=rules,
        out=args.out,
        progress=_progress(args),
        on_complete=None if args.no_plots else presenter(),
    )
    out(format_knockouts(result.summary, result.table, result.manifest["wall_seconds"]))
    _where(result)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``knockouts`` to the ``wargame`` parser."""
    p = sub.add_parser(
        "knockouts",
        parents=[_settings_parser()],
        conflict_handler="resolve",
        help="remove each rule in turn and measure the change in every outcome (same worlds)",
        description="Run the scenario and, on the same worlds (common random numbers), the "
        "scenario without each rule in turn: a trigger, preference or foresight rule never "
        "applies, a constraint forbids nothing. Tables the change in each outcome and key flag "
        "share, knock-out minus base, with a paired 95%% interval. Writes "
        "results/<scenario>/knockouts/<time>/.",
    )
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument(
        "--rules",
        metavar="ID,...",
        help="the rules to knock out, as actor.rule or a rule id one actor has "
        "(default: every rule)",
    )
    p.add_argument("--runs", type=int, metavar="N", help=f"worlds per knock-out (default {RUNS})")
    _output_options(p, runs_table=False, default="results/<scenario>/knockouts/<time>/")
    p.set_defaults(func=cmd_knockouts)
