"""``wargame score``: a forecast scored against what happened (:mod:`sim.scoring`).

One library call (:func:`sim.scoring.score`, then
:func:`sim.scoring.write_score` with the reliability diagram of
:mod:`sim.plots.scoring` drawn by the same hook as a batch's charts), then
the scores as a table.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from sim.cli.batch import presenter
from sim.cli.common import EXIT_OK, out


def _num(x: Any, digits: int = 3, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def format_scores(summary: dict[str, Any], scores: Any, forecast: str) -> str:
    """The scores per question, per as-of date (when there are several) and overall."""
    o = summary["overall"]
    has_ref = "reference_brier" in o
    dates = sorted({str(d) for d in scores["as_of"]})
    lines = [
        f"Scores of the {forecast}",
        f"against {summary['resolutions']['file']} ({summary['scenario']})",
        f"{o['rows']} forecasts of {len(summary['by_question'])} yes/no questions, as of "
        + (dates[0] if len(dates) == 1 else f"{len(dates)} dates, {dates[0]} to {dates[-1]}"),
        "Brier: (p - happened)^2, lower is better; 0.5 scores 0.250.",
        "Log: log2 of the probability given to what happened, in bits (p clipped to "
        f"[{summary['clip'][0]:g}, {summary['clip'][1]:g}]), higher is better; 0.5 scores -1.00.",
        "Skill: 1 - score / reference score; above 0 beats the reference, 1 is perfect.",
        "",
    ]
    width = max(len(f"{q['kind']} {q['name']}") for q in summary["by_question"]) + 2
    single = len(dates) == 1
    head = f"{'Question':<{width}}{'happened':>9}{'p' if single else 'forecasts':>10}"
    head += f"{'Brier':>8}{'log':>7}"
    if has_ref:
        head += (f"{'ref p':>8}" if single else "") + f"{'ref Brier':>10}{'ref log':>8}"
    lines.append(head)
    for q in summary["by_question"]:
        rows = scores[(scores["kind"] == q["kind"]) & (scores["name"] == q["name"])]
        p = f"{100 * float(rows['probability'].iloc[0]):.1f}%" if single else str(q["rows"])
        text = f"{q['kind'] + ' ' + q['name']:<{width}}{'yes' if q['happened'] else 'no':>9}{p:>10}"
        text += f"{_num(q['brier']):>8}{_num(q['log_score'], 2):>7}"
        if has_ref:
            if single:
                text += f"{100 * float(rows['reference_probability'].iloc[0]):>7.1f}%"
            text += f"{_num(q['reference_brier']):>10}{_num(q['reference_log_score'], 2):>8}"
        lines.append(text)
    blocks = [("Overall", o)]
    if not single:
        blocks = [(d["as_of"], d) for d in summary["by_date"]] + blocks
    lines += [
        "",
        f"{'':<12}{'n':>4}{'Brier':>8}{'log':>7}   skill vs 0.5: Brier, log"
        + ("   reference: Brier, log; skill vs it: Brier, log" if has_ref else ""),
    ]
    for name, m in blocks:
        text = (
            f"{name:<12}{m['rows']:>4}{_num(m['brier']):>8}{_num(m['log_score'], 2):>7}   "
            f"{_num(m['brier_skill_vs_uninformed'], 2, True):>20} "
            f"{_num(m['log_skill_vs_uninformed'], 2, True):>5}"
        )
        if has_ref:
            text += (
                f"{_num(m['reference_brier']):>20} {_num(m['reference_log_score'], 2):>5}"
                f"{_num(m['brier_skill_vs_reference'], 2, True):>22} "
                f"{_num(m['log_skill_vs_reference'], 2, True):>5}"
            )
        lines.append(text)
    for left in summary["left_out"]:
        lines.append(
            f"not scored: {left['kind']} {left['name']} as of {left['first_as_of']} and later "
            f"({left['rows']} forecast{'s' if left['rows'] > 1 else ''}), {left['reason']}"
        )
    return "\n".join(lines)


def cmd_score(args: argparse.Namespace) -> int:
    """Score the forecast, write the score folder, print the table and where it is."""
    # start-up time: the parser alone for --help
    from sim.scoring import load_forecast, load_resolutions, score, write_score

    resolutions = load_resolutions(args.resolutions)
    forecast = load_forecast(args.forecast)
    reference = load_forecast(args.reference) if args.reference else None
    scored = score(forecast, resolutions, reference)
    written = write_score(
        scored,
        out=args.out,
        command=_command(args),
        on_complete=None if args.no_plots else presenter(),
    )
    text = format_scores(written.summary, written.scores, forecast.label())
    if reference is not None:
        text += f"\nreference: the {reference.label()}"
    out(text)
    out("")
    out(f"results: {written.folder}")
    if written.note:
        out(written.note)
    return EXIT_OK


def _command(args: argparse.Namespace) -> list[str]:
    """The command line that scores the same forecast again (for the manifest)."""
    argv = ["wargame", "score", args.forecast, "--resolutions", args.resolutions]
    return argv + (["--reference", args.reference] if args.reference else [])


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``score`` to the ``wargame`` parser."""
    p = sub.add_parser(
        "score",
        help="Brier and log scores of a forecast against what happened, and its reliability",
        description="Score a batch (its outcome and flag shares, as of the scenario's start), a "
        "conditioned batch (batch --as-of) or a forecast folder against a resolutions file: "
        "Brier and log scores per question, per as-of date and overall, against an uninformed "
        "0.5 forecast and a reference forecast if given, and a reliability diagram. Writes "
        "results/<scenario>/score/<time>/. See docs/calibration.md.",
    )
    p.add_argument(
        "forecast",
        metavar="RESULTS_OR_FORECAST",
        help="a batch, conditioned batch or forecast folder, or a forecast CSV file",
    )
    p.add_argument(
        "--resolutions",
        required=True,
        metavar="FILE",
        help="what happened (e.g. scenarios/resolutions/allied_resolve_2022.yaml)",
    )
    p.add_argument(
        "--reference",
        metavar="FOLDER_OR_CSV",
        help="a forecast to compare with (the reference's latest forecast made on or "
        "before each date is used)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="exact folder to create; it must not exist "
        "(default: results/<scenario>/score/<time>/)",
    )
    p.add_argument("--no-plots", action="store_true", help="do not draw the reliability diagram")
    p.set_defaults(func=cmd_score)
