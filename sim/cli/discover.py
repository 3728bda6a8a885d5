"""``wargame discover``: the box of parameter values in which an outcome is concentrated.

One library call (:func:`sim.discovery.discover`, then
:func:`sim.discovery.write_discovery` with the charts of
:mod:`sim.plots.discovery` as its hook) plus printing.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from sim.cli.batch import _stoppable as stoppable
from sim.cli.common import EXIT_OK, out

MIN_CASES = 30
""":data:`sim.discovery.MIN_CASES`, quoted here so that the parser does not import
the discovery package (start-up time; a test keeps the two equal)."""


def _range(r: dict[str, Any]) -> tuple[str, str]:
    """A restricted parameter's range in the box and its full range, as text."""
    from sim.discovery import number

    if r["kind"] == "choice":
        return " or ".join(r["kept"]), ""
    kind = r["kind"]
    return (
        f"{number(r['lower'], kind)} to {number(r['upper'], kind)}",
        f"{number(r['full_lower'], kind)} to {number(r['full_upper'], kind)}",
    )


def format_discovery(summary: dict[str, Any]) -> str:
    """The chosen box as text: what was sought, the restrictions, the sentence."""
    t, box = summary["target"], summary["box"]
    lines = [
        f"{summary['title']} ({summary['scenario']})",
        f"{t['name']} ({t['kind']} {t['id']}): {summary['cases']:,} of {summary['worlds']:,} "
        f"worlds, base rate {100 * summary['base_rate']:.1f}%",
        f"box {box['index']} of {box['of']} on the peeling trajectory: coverage "
        f"{100 * box['coverage']:.1f}%, density {100 * box['density']:.1f}% "
        f"[{100 * box['density_lo']:.1f}%, {100 * box['density_hi']:.1f}%], mass "
        f"{100 * box['mass']:.1f}% ({box['worlds']:,} worlds)",
        "",
    ]
    rows = box["restricted"]
    if rows:
        width = max(len(r["name"]) for r in [*rows, {"name": "Parameter"}])
        cells = [_range(r) for r in rows]
        w1 = max(len(c[0]) for c in [*cells, ("in the box", "")])
        lines.append(f"{'Parameter':<{width}}  {'in the box':<{w1}}  {'of':<20}  quasi-p")
        for r, (inside, full) in zip(rows, cells, strict=True):
            p = r["quasi_p"]
            ptext = "" if p is None or not math.isfinite(p) else f"{p:.2g}"
            mark = " *" if r["significant"] else ""
            lines.append(f"{r['name']:<{width}}  {inside:<{w1}}  {full:<20}  {ptext}{mark}")
        lines.append("(* significant: quasi-p below 0.05)")
        lines.append("")
    lines.append(box["sentence"])
    if box["significance"]:
        lines.append(box["significance"])
    if box.get("significant_only"):
        lines.append(box["significant_only"]["sentence"])
    lines += summary["notes"]
    return "\n".join(lines)


@stoppable  # SIGTERM and SIGHUP remove the unfinished folder, as for a batch
def cmd_discover(args: argparse.Namespace) -> int:
    """Find the box, write the folder with its charts, print the box and where it is."""
    from tqdm import tqdm  # start-up time: only to discover

    from sim.discovery import discover, expected_steps, write_discovery

    show = not args.quiet and sys.stderr.isatty()
    with tqdm(
        total=expected_steps(args.peel_alpha, args.min_mass),
        unit="box",
        desc="peeling",
        delay=1.0,
        file=sys.stderr,
        leave=False,
        disable=not show,
    ) as bar:

        def step(n: int) -> None:
            bar.update(n - bar.n)

        found = discover(
            args.results,
            outcome=args.outcome,
            flag=args.flag,
            threshold=args.threshold,
            peel_alpha=args.peel_alpha,
            min_mass=args.min_mass,
            on_step=step,
        )
    on_complete = None
    if not args.no_plots:
        from sim.plots.discovery import present  # start-up time: matplotlib only to draw

        on_complete = present
    written = write_discovery(found, out=args.out, on_complete=on_complete)
    out(format_discovery(written.summary))
    out("")
    out(f"results: {written.folder}")
    if written.note:
        out(written.note)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``discover`` to the ``wargame`` parser."""
    p = sub.add_parser(
        "discover",
        help="scenario discovery: the parameter box where an outcome or flag is concentrated",
        description="Find, with PRIM (EMA Workbench), the box of parameter values in which an "
        "outcome (or a flag) of a batch is concentrated, from the batch's runs.csv; report its "
        "coverage, density and limits in words, and write a discovery folder with the peeling "
        f"trajectory and the box. Needs at least {MIN_CASES} worlds with the outcome and "
        f"{MIN_CASES} without.",
    )
    p.add_argument(
        "results", metavar="RESULTS", help="a batch folder, or results/<scenario> for its latest"
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--outcome", metavar="ID", help="the outcome whose worlds are sought")
    what.add_argument("--flag", metavar="ID", help="or the flag whose worlds are sought")
    p.add_argument(
        "--threshold",
        type=float,
        metavar="D",
        default=0.8,
        help="density the chosen box must reach: the box of highest coverage that does "
        "(the densest if none does); default 0.8",
    )
    p.add_argument(
        "--peel-alpha",
        type=float,
        metavar="A",
        default=0.05,
        help="share of the box's worlds peeled off per step; default 0.05",
    )
    p.add_argument(
        "--min-mass",
        type=float,
        metavar="M",
        default=0.05,
        help="peeling stops before a box holds fewer than this share of all worlds; default 0.05",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="exact folder to create; it must not exist "
        "(default: <batch folder>-discovery-<outcome>, beside the batch)",
    )
    p.add_argument("--no-plots", action="store_true", help="do not draw the charts")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_discover)
