"""``wargame sensitivity``: Sobol or Morris indices of the outcome shares (:mod:`sim.sensitivity`).

One library call (:func:`sim.sensitivity.run_sensitivity`), then the top
factors of each output and the notes on intervals too wide to rank. The
charts (:mod:`sim.plots.sensitivity`) are drawn into the folder before it is
renamed into place, unless ``--no-plots``, by the same hook as a batch's
(:func:`sim.report.drawing.present`); ``wargame plot`` redraws them.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from sim.cli.batch import _output_options, _progress, _stoppable, _where, presenter, run_settings
from sim.cli.batch import settings_parser as _settings_parser
from sim.cli.common import EXIT_OK, out

TOP = 5
"""Factors printed per output (the folder has them all)."""

SOBOL_N, MORRIS_N, RUNS = 64, 20, 300
"""The defaults of :mod:`sim.sensitivity`, for the help text (importing it loads the
engine; a test checks they agree)."""


def _num(x: Any, digits: int = 2) -> str:
    return "   –" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def format_sensitivity(summary: dict[str, Any], indices: Any, wall: float) -> str:
    """The top factors of each output with their 95% intervals, and the notes."""
    method = summary["method"]
    lines = [
        f"{summary['title']} ({summary['scenario']})",
        f"{method.capitalize()}, N = {summary['n']}: {summary['points']:,} design points x "
        f"{summary['runs']:,} worlds (the same worlds at every point), seed {summary['seed']}, "
        f"{len(summary['factors'])} factors, {wall:.1f} s",
    ]
    if method == "sobol":
        head = f"{'':<4}{'factor':<44}  {'S1':>5}  {'± 95%':>5}  {'ST':>5}  {'± 95%':>5}"
        cols = ("S1", "S1_conf", "ST", "ST_conf")
    else:
        head = f"{'':<4}{'factor':<44}  {'mu*':>5}  {'± 95%':>5}  {'mu':>6}  {'sigma':>5}"
        cols = ("mu_star", "mu_star_conf", "mu", "sigma")
    for o in summary["outputs"]:
        lines += ["", f"{o['name']} ({o['kind']}, {100 * o['mean']:.1f}% on average)"]
        if not o["varies"]:
            lines.append(f"    {o['note']}")
            continue
        lines.append(head)
        rows = indices[indices["output"] == o["id"]].head(TOP)
        for r in rows.itertuples(index=False):
            v = [getattr(r, c) for c in cols]
            mu = f"{v[2]:+6.2f}" if method == "morris" else f"{_num(v[2]):>5}"
            lines.append(
                f"{'':<4}{r.parameter_name[:44]:<44}  {_num(v[0]):>5}  {_num(v[1]):>5}  "
                f"{mu}  {_num(v[3]):>5}"
            )
    if summary["notes"]:
        lines += ["", "Intervals too wide to rank the top factors (they shrink like 1/sqrt(N)):"]
        lines += [f"  {n}" for n in summary["notes"]]
    return "\n".join(lines)


@_stoppable
def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Run the design points, print the top factors of each output, say where the folder is."""
    from sim.sensitivity import run_sensitivity  # start-up time: the engine and SALib

    outputs = None if args.outputs is None else [s for s in args.outputs.split(",")]
    result = run_sensitivity(
        args.scenario,
        args.method,
        run_settings(args),
        outputs=outputs,
        n=args.n,
        out=args.out,
        progress=_progress(args),
        on_complete=None if args.no_plots else presenter(),
    )
    out(format_sensitivity(result.summary, result.indices, result.manifest["wall_seconds"]))
    _where(result)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``sensitivity`` to the ``wargame`` parser."""
    p = sub.add_parser(
        "sensitivity",
        parents=[_settings_parser()],
        conflict_handler="resolve",
        help="global sensitivity of the outcome shares to the drawn parameters (Sobol, Morris)",
        description="Sobol (S1, ST) or Morris (mu*, sigma) indices of each outcome and key "
        "flag share with 95%% intervals. The drawn parameters are the factors; each design "
        "point pins them in --runs worlds, the same worlds at every point (common random "
        "numbers). Writes results/<scenario>/sensitivity/<time>/.",
    )
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--method", choices=["sobol", "morris"], default="sobol", help="default sobol")
    p.add_argument(
        "--outputs",
        metavar="ID,...",
        help="outcome and flag ids to analyse (default: every outcome and key flag)",
    )
    p.add_argument(
        "--n",
        type=int,
        metavar="N",
        help=f"Sobol base samples, a power of 2 (default {SOBOL_N}; N x (factors + 2) points), "
        f"or Morris trajectories (default {MORRIS_N}; N x (factors + 1) points)",
    )
    p.add_argument(
        "--runs",
        type=int,
        metavar="R",
        help=f"worlds per design point (default {RUNS})",
    )
    _output_options(p, runs_table=False, default="results/<scenario>/sensitivity/<time>/")
    p.set_defaults(func=cmd_sensitivity)
