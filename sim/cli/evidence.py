"""``wargame batch --as-of`` and ``wargame forecast``: the worlds given what was seen.

Each is one library call (:func:`sim.evidence.batch.run_conditional_batch`,
:func:`sim.evidence.forecast.run_forecast`) and printing: the conditional
shares with their intervals and effective sample size, and the warning
when too few worlds survive. See docs/evidence.md.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from sim.cli.batch import (
    _output_options,
    _progress,
    _stoppable,
    _where,
    format_summary,
    presenter,
    run_settings,
)
from sim.cli.batch import settings_parser as _settings_parser
from sim.cli.common import EXIT_OK, err, out

if TYPE_CHECKING:
    import pandas as pd

    from sim.evidence import ConditionalShares


def _pct(x: float) -> str:
    return "   n/a" if x != x else f"{100 * x:5.1f}%"  # NaN: no world left


def format_conditional(shares: ConditionalShares, summary: dict[str, Any]) -> str:
    """The conditional outcome and key-flag shares, with the worlds kept and the ESS."""
    used = ", ".join(r.id for r in shares.used) or "none"
    lines = [
        f"Given the observations dated up to {shares.as_of} ({used}):",
        f"{shares.worlds:,} of {shares.runs:,} worlds agree (effective sample size "
        f"{shares.ess:,.1f}; intervals: Wilson at n = ESS)",
        "",
    ]
    names = {o["id"]: o["name"] for o in summary["outcomes"]}
    flags = {f["id"]: f["name"] for f in summary["flags"]}
    keys = set(summary.get("key_flags") or flags)
    rows = [(names[s.name], s) for s in shares.shares if s.kind == "outcome"]
    rows += [(flags[s.name], s) for s in shares.shares if s.kind == "flag" and s.name in keys]
    width = max([len(n) for n, _ in rows] + [len("Outcome")])
    head = "Outcome"
    lines.append(f"{head:<{width}}  {'P':>6}   95% interval")
    for i, (name, s) in enumerate(rows):
        if s.kind == "flag" and (i == 0 or rows[i - 1][1].kind == "outcome"):
            lines += ["", f"{'Key flag':<{width}}  {'P':>6}   95% interval"]
        lines.append(f"{name:<{width}}  {_pct(s.probability)}   [{_pct(s.low)}, {_pct(s.high)}]")
    return "\n".join(lines)


@_stoppable
def cmd_conditional_batch(args: argparse.Namespace) -> int:
    """``wargame batch --as-of DATE``: the batch, then its worlds given the observations."""
    from sim.evidence.batch import run_conditional_batch  # start-up time: the engine (Mesa)

    if getattr(args, "no_runs_table", False):
        err("note: --as-of keeps runs.csv (conditioning needs every world)")
    result, shares = run_conditional_batch(
        args.scenario,
        run_settings(args),
        as_of=args.as_of,
        out=args.out,
        progress=_progress(args),
        on_complete=None if args.no_plots else presenter(),
    )
    out(format_summary(result.summary, result.manifest))
    out("")
    out(format_conditional(shares, result.summary))
    if shares.warning:
        err(f"warning: {shares.warning}")
    _where(result)
    return EXIT_OK


def format_forecast(summary: dict[str, Any], table: pd.DataFrame) -> str:
    """Per as-of date, the outcomes' probabilities and the ESS, as a text table."""
    outcomes = [o["id"] for o in summary["outcomes"]]
    lines = [
        f"{summary['title']} ({summary['scenario']})",
        f"{summary['runs']:,} worlds, seed {summary['seed']}; probability of each outcome "
        f"at the horizon ({summary['horizon']}) given the observations up to each date",
        "",
        "as of       " + " ".join(f"{o:>{max(len(o), 7)}}" for o in outcomes) + "       ESS",
    ]
    outcome_rows = table[table["kind"] == "outcome"]
    for as_of, rows in outcome_rows.groupby("as_of", sort=False):
        p = dict(zip(rows["name"], rows["probability"], strict=True))
        ess = float(rows["ess"].iloc[0])
        cells = " ".join(f"{_pct(float(p[o])):>{max(len(o), 7)}}" for o in outcomes)
        lines.append(f"{as_of}  {cells} {ess:9.1f}")
    return "\n".join(lines)


@_stoppable
def cmd_forecast(args: argparse.Namespace) -> int:
    """``wargame forecast``: one batch, conditioned as of every date; print and say where."""
    from sim.evidence.conditioning import ess_needed
    from sim.evidence.forecast import run_forecast  # start-up time: the engine (Mesa)

    result = run_forecast(
        args.scenario,
        run_settings(args),
        start=args.start,
        end=args.end,
        every=args.every,
        horizon=args.horizon,
        out=args.out,
        progress=_progress(args),
        on_complete=None if args.no_plots else presenter(),
    )
    table = result.forecast
    out(format_forecast(result.summary, table))
    thin = table[table["ess"] < ess_needed()]["as_of"].unique()
    if len(thin):
        err(
            f"warning: effective sample size below {ess_needed()} as of {', '.join(thin)}: "
            "those forecasts are imprecise (more --runs)"
        )
    _where(result)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``forecast`` to the ``wargame`` parser."""
    p = sub.add_parser(
        "forecast",
        parents=[_settings_parser()],
        conflict_handler="resolve",
        help="probability of each outcome and flag as of each date, given the observations",
        description="Simulate the scenario's worlds once, each recording every observation, "
        "then condition them as of each date from --from to --to: the probability of every "
        "outcome and flag at the horizon given the observations dated up to that day. "
        "Writes results/<scenario>/forecast/<time>/ (forecast.csv, runs.csv, a chart).",
    )
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--from", dest="start", metavar="DATE", required=True, help="first as-of date")
    p.add_argument("--to", dest="end", metavar="DATE", required=True, help="last as-of date")
    p.add_argument(
        "--every", type=int, default=1, metavar="N", help="days between as-of dates (default 1)"
    )
    p.add_argument(
        "--horizon",
        metavar="DATE",
        help="the date the questions are asked for (default: the scenario's last day; "
        "earlier ends the scenario there)",
    )
    _output_options(p, runs_table=False, default="results/<scenario>/forecast/<time>/")
    p.set_defaults(func=cmd_forecast)
