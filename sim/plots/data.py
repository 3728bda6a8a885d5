"""What each chart shows, computed from the tables of a results folder.

Every function here is pure: it takes the tables written by the batch runner
(``summary.json`` as a dict, the CSV files as :class:`pandas.DataFrame`) and
returns a small table with documented columns. The drawing code in
:mod:`sim.plots.charts` only draws these tables, so tests can check the
numbers a chart shows without looking at pixels, and analysts can rebuild any
chart in another tool from the same numbers.

Shares are fractions in ``[0, 1]`` throughout; charts format them as %.
Nothing here imports matplotlib.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import ResultsError, WargameError
from sim.results.aggregate import rank_rules_table, reached_outcomes
from sim.results.drivers import parameter_name
from sim.results.reader import load_results
from sim.scenario import load_scenario
from sim.stats import share, wilson

PERCENTILES = ("p05", "p25", "p50", "p75", "p95")


# -- loading ----------------------------------------------------------------------
@dataclass(frozen=True)
class Tables:
    """The tables of one results folder, as the chart functions expect them.

    Any object with the same attributes works too (e.g. the batch runner's own
    result object); only the attributes a chart needs must be present.

    Attributes:
        folder: where the tables were read from.
        manifest: ``manifest.json``.
        summary: ``summary.json`` (batch and sweep folders).
        daily: ``daily.csv`` with ``date`` parsed (batch folders).
        rules: ``rules.csv`` (batch folders).
        points: ``points.csv`` (sweep folders).
        compare: ``compare.json`` (compare folders).
        runs: ``runs.csv``, only when asked for (it can be large).
    """

    folder: Path | None = None
    manifest: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    daily: pd.DataFrame | None = None
    rules: pd.DataFrame | None = None
    points: pd.DataFrame | None = None
    compare: dict[str, Any] | None = None
    runs: pd.DataFrame | None = None

    @property
    def kind(self) -> str:
        """``"batch"``, ``"sweep"`` or ``"compare"`` (from the manifest)."""
        return str((self.manifest or {}).get("kind", "batch"))


def load_tables(folder: str | Path, *, runs: bool = False) -> Tables:
    """Read the tables of a results folder, through the package's one reader.

    The folder is opened by :func:`sim.results.reader.load_results`, so the
    charts see exactly what every other reader sees: the same folder rule
    (``results/<scenario>`` means its latest folder), the same check of
    every table against the manifest's record (no chart is drawn from a
    table cut short or edited since the batch wrote it), and words (rule
    or outcome ids such as ``null`` or ``nan``) read as words.

    Args:
        folder: a batch, sweep or compare results folder (with ``manifest.json``).
        runs: also read ``runs.csv`` (one row per world) if it exists.

    Raises:
        ResultsError: the folder, its manifest or a table its kind needs is
            missing, unreadable, altered, or of an unknown format version.
    """
    return tables_of(load_results(folder), runs=runs)


def tables_of(result: Any, *, runs: bool = False) -> Tables:
    """The :class:`Tables` of an opened results folder (``BatchResult``, ``SweepResult``...).

    Reads the tables its kind has (a batch's ``daily.csv`` and
    ``rules.csv``, a sweep's ``points.csv``), ``runs.csv`` only if asked.
    """
    kind = result.kind
    daily = rules = points = compare = None
    summary: dict[str, Any] | None = result.stored_summary
    if kind == "batch":
        daily = _with_dates(result.daily, summary, result.folder / "daily.csv")
        rules = result.rules
    elif kind == "sweep":
        points = result.points
    else:
        summary, compare = None, result.compare
    return Tables(
        folder=result.folder,
        manifest=result.manifest,
        summary=summary,
        daily=daily,
        rules=rules,
        points=points,
        compare=compare,
        runs=result.runs if runs and result.has_runs else None,
    )


def _with_dates(daily: pd.DataFrame, summary: Mapping[str, Any] | None, where: Any) -> pd.DataFrame:
    """Return ``daily`` with a datetime ``date`` column (from ``start + day`` if absent)."""
    daily = daily.copy()
    if "date" in daily.columns:
        daily["date"] = pd.to_datetime(daily["date"])
    elif "day" in daily.columns and summary and summary.get("start"):
        daily["date"] = pd.Timestamp(summary["start"]) + pd.to_timedelta(daily["day"], unit="D")
    else:
        raise ResultsError(f"{where}: needs a 'date' column (or 'day' and a start date)")
    return daily


# -- validation helpers -----------------------------------------------------------
def _require(df: pd.DataFrame, columns: Iterable[str], table: str) -> None:
    """Raise :class:`ResultsError` naming every column ``table`` lacks."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        found = ", ".join(map(str, df.columns[:12])) + (", ..." if len(df.columns) > 12 else "")
        raise ResultsError(f"{table}: missing column(s) {', '.join(missing)} (found: {found})")


def _require_keys(d: Mapping[str, Any], keys: Iterable[str], table: str) -> None:
    missing = [k for k in keys if k not in d]
    if missing:
        raise ResultsError(f"{table}: missing key(s) {', '.join(missing)}")


def _dates(daily: pd.DataFrame) -> pd.Series:
    if "date" not in daily.columns:
        raise ResultsError("daily.csv: missing column date")
    return pd.to_datetime(daily["date"]).reset_index(drop=True)


def _ids(items: Iterable[Any]) -> list[str]:
    """Ids from a list of ids or of ``{"id": ...}`` records."""
    return [x["id"] if isinstance(x, Mapping) else str(x) for x in items]


# -- batch charts -----------------------------------------------------------------
def outcome_table(summary: Mapping[str, Any]) -> pd.DataFrame:
    """Outcome probabilities with their Wilson 95% intervals.

    Returns:
        One row per outcome, least to most severe, with columns ``id``,
        ``name``, ``colour`` (as given in the scenario, or ``None``),
        ``severity`` (0 = least severe), ``count``, ``p``, ``lo``, ``hi``.
    """
    _require_keys(summary, ["outcomes"], "summary.json")
    rows = []
    for i, o in enumerate(summary["outcomes"]):
        _require_keys(o, ["id", "p", "lo", "hi"], f"summary.json outcomes[{i}]")
        rows.append(
            {
                "id": o["id"],
                "name": o.get("name") or o["id"],
                "colour": o.get("colour"),
                "severity": i,
                "count": int(o.get("count", 0)),
                "p": float(o["p"]),
                "lo": float(o["lo"]),
                "hi": float(o["hi"]),
            }
        )
    return pd.DataFrame(
        rows, columns=["id", "name", "colour", "severity", "count", "p", "lo", "hi"]
    )


def flag_table(summary: Mapping[str, Any], flag_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Shares of worlds in which each flag was raised, with Wilson 95% intervals.

    Args:
        summary: ``summary.json``.
        flag_ids: the flags to keep, in this order; default ``key_flags`` if the
            summary names some, else every flag.

    Returns:
        Columns ``id``, ``name``, ``count``, ``p``, ``lo``, ``hi``.
    """
    flags = {f["id"]: f for f in summary.get("flags", [])}
    wanted = list(flag_ids or summary.get("key_flags") or flags)
    unknown = [f for f in wanted if f not in flags]
    if unknown:
        raise ResultsError(
            f"summary.json: unknown flag(s) {', '.join(unknown)}{_hint(unknown[0], flags)}"
        )
    rows = [
        {
            "id": f,
            "name": flags[f].get("name") or f,
            "count": int(flags[f].get("count", 0)),
            "p": float(flags[f]["p"]),
            "lo": float(flags[f]["lo"]),
            "hi": float(flags[f]["hi"]),
        }
        for f in wanted
    ]
    return pd.DataFrame(rows, columns=["id", "name", "count", "p", "lo", "hi"])


def fan_bands(daily: pd.DataFrame) -> pd.DataFrame:
    """Median rung and the bands holding the middle 50% and 90% of worlds, by date.

    Values are rung indices (0 = calmest rung of the ladder).

    Returns:
        Columns ``date``, ``day``, ``median`` (``p50``), ``lo50`` (``p25``),
        ``hi50`` (``p75``), ``lo90`` (``p05``), ``hi90`` (``p95``), ``mean``.
    """
    _require(daily, [*PERCENTILES, "mean"], "daily.csv")
    return pd.DataFrame(
        {
            "date": _dates(daily),
            "day": _day_column(daily),
            "median": daily["p50"].to_numpy(float),
            "lo50": daily["p25"].to_numpy(float),
            "hi50": daily["p75"].to_numpy(float),
            "lo90": daily["p05"].to_numpy(float),
            "hi90": daily["p95"].to_numpy(float),
            "mean": daily["mean"].to_numpy(float),
        }
    )


def at_or_above(
    daily: pd.DataFrame, ladder: Sequence[Any], worlds: int | None = None
) -> pd.DataFrame:
    """Share of worlds on each rung or a higher one at the end of each day (Wilson 95%).

    The ladder is ordinal: "at or above *Incident*" is a yes/no question of
    every world on every day, so its share has an honest interval, where a
    percentile of rung indices has none and moves in whole rungs. The
    calmest rung is left out (every world is on it or above).

    Args:
        daily: ``daily.csv`` (its ``share_<rung>`` columns and ``worlds``).
        ladder: the rungs, calm to severe (records with ``id`` or plain ids).
        worlds: the number of worlds, when ``daily`` has no ``worlds`` column.

    Returns:
        Long table, rung by rung (calm to severe, from the second rung), then
        date by date: ``date``, ``day``, ``rung``, ``worlds``, ``count``
        (worlds on that rung or above, from ``round(share × worlds)``), ``p``,
        ``lo``, ``hi``.
    """
    rungs = _ids(ladder)
    _require(daily, [f"share_{r}" for r in rungs], "daily.csv")
    if "worlds" in daily.columns:
        n = daily["worlds"].to_numpy(np.int64)
    elif worlds is not None:
        n = np.full(len(daily), int(worlds), dtype=np.int64)
    else:
        raise ResultsError("daily.csv: missing column worlds (and no number of worlds given)")
    on = np.column_stack([daily[f"share_{r}"].to_numpy(float) for r in rungs]) * n[:, None]
    above = np.rint(np.cumsum(on[:, ::-1], axis=1)[:, ::-1]).astype(np.int64)
    dates, days = _dates(daily), _day_column(daily)
    parts = []
    for k, rid in enumerate(rungs[1:], start=1):
        shares = [share(int(c), int(m)) for c, m in zip(above[:, k], n, strict=True)]
        parts.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "day": days,
                    "rung": rid,
                    "worlds": n,
                    "count": above[:, k],
                    "p": [s.p for s in shares],
                    "lo": [s.lo for s in shares],
                    "hi": [s.hi for s in shares],
                }
            )
        )
    cols = ["date", "day", "rung", "worlds", "count", "p", "lo", "hi"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


def _day_column(daily: pd.DataFrame) -> np.ndarray:
    if "day" in daily.columns:
        return daily["day"].to_numpy(int)
    return np.arange(len(daily))


def occupancy(daily: pd.DataFrame, ladder: Sequence[Any]) -> pd.DataFrame:
    """Share of worlds on each rung at the end of each day.

    Args:
        daily: ``daily.csv``.
        ladder: the rungs, calm to severe (records with ``id`` or plain ids).

    Returns:
        Index ``date``; one column per rung id, calm to severe, holding the
        ``share_<rung>`` column. Each row sums to 1 (up to the rounding of
        the CSV file).
    """
    rungs = _ids(ladder)
    _require(daily, [f"share_{r}" for r in rungs], "daily.csv")
    out = pd.DataFrame(
        {r: daily[f"share_{r}"].to_numpy(float) for r in rungs},
        index=pd.DatetimeIndex(_dates(daily), name="date"),
    )
    out.columns.name = "rung"
    return out


def rare_rungs(shares: pd.DataFrame, rare: float = 0.10) -> list[str]:
    """The most severe rungs of :func:`occupancy` that never hold more than ``rare`` of the worlds.

    Counted down from the most severe rung, stopping at the first that
    holds more on some day; never the calmest rung. These are the rungs the
    occupancy chart draws again on a stretched scale.
    """
    peaks = shares.max()
    cut = len(shares.columns)
    while cut > 1 and float(peaks.iloc[cut - 1]) <= rare:
        cut -= 1
    return [str(c) for c in shares.columns[cut:]]


def time_to_event(daily: pd.DataFrame, key_rungs: Sequence[Any]) -> pd.DataFrame:
    """Share of worlds that have reached each key rung (or a higher one), by date.

    Returns:
        Index ``date``; one column per key rung id, holding ``reached_<rung>``
        (non-decreasing over time).
    """
    rungs = _ids(key_rungs)
    _require(daily, [f"reached_{r}" for r in rungs], "daily.csv")
    out = pd.DataFrame(
        {r: daily[f"reached_{r}"].to_numpy(float) for r in rungs},
        index=pd.DatetimeIndex(_dates(daily), name="date"),
    )
    out.columns.name = "rung"
    return out


@dataclass(frozen=True)
class Attribution:
    """Which rules fired in the worlds that ended in each outcome.

    Attributes:
        matrix: index = rule id (most influential first), one column per
            outcome id (least to most severe): the share of the worlds ending
            in that outcome in which the rule fired (``fired_in_<outcome>``);
            NaN for an outcome no world reached.
        rules: same index; columns ``actor``, ``kind``, ``action``,
            ``share_fired`` (share of all worlds in which the rule fired),
            ``influence`` (spread of ``fired_in`` across reached outcomes) and
            ``separates`` (see :func:`attribution`).
        lift: like ``matrix``, divided by ``share_fired``: how many times more
            (above 1) or less (below 1) often the rule fired in the worlds of
            the outcome than in all worlds; NaN where the rule never fired.
        worlds: worlds ending in each outcome (the matrix's columns); ``None``
            per outcome when the outcomes were given as ids only.
        flat: the rules left out for separating nothing, in ranked order.
    """

    matrix: pd.DataFrame
    rules: pd.DataFrame
    lift: pd.DataFrame
    worlds: dict[str, int | None]
    flat: tuple[str, ...] = ()


def separates(
    fired_in: Mapping[str, float], worlds: Mapping[str, int | None], share_fired: float
) -> bool:
    """Whether a rule fired more or less often in some outcome's worlds than in all worlds,
    beyond noise: the share of that outcome's worlds in which it fired has a 95% Wilson
    interval that excludes its share over all worlds.

    An outcome whose number of worlds is unknown counts as separating when
    its share differs at all.
    """
    for o, p in fired_in.items():
        if p is None or not np.isfinite(p):
            continue
        n = worlds.get(o)
        if n is None:
            if p != share_fired:
                return True
            continue
        if n <= 0:
            continue
        lo, hi = wilson(round(p * n), int(n))
        if share_fired < lo or share_fired > hi:
            return True
    return False


def attribution(
    rules: pd.DataFrame,
    outcomes: Sequence[Any],
    top: int | None = 15,
    hide_flat: bool = False,
) -> Attribution:
    """Rule x outcome matrix of how often each rule fired, per outcome, with its lift.

    Rules come in the package's one ranking
    (:func:`sim.results.aggregate.rank_rules_table`, the report's order too):
    a rule is *influential* when whether it fired differs between outcomes,
    ``influence = max - min`` of ``fired_in_<outcome>`` over the outcomes
    that some world reached. A rule firing in every world (or in none)
    tells nothing about outcomes and sinks to the bottom. Ties are broken by
    ``share_fired`` (descending), then by rule id, so the order is stable.

    A rule **separates** outcomes when, in the worlds of some reached
    outcome, it fired more or less often than in all worlds beyond the
    noise of that outcome's number of worlds (:func:`separates`).

    Args:
        rules: ``rules.csv``.
        outcomes: ``summary["outcomes"]`` (records with ``id`` and ``count``)
            or a list of outcome ids (then every outcome counts as reached).
        top: keep the ``top`` most influential rules (``None`` keeps all),
            after those that separate nothing are left out (``hide_flat``).
        hide_flat: leave out the rules that separate no outcome (listed in
            :attr:`Attribution.flat`).
    """
    ids = _ids(outcomes)
    _require(rules, ["rule", *(f"fired_in_{o}" for o in ids)], "rules.csv")
    ranked = rank_rules_table(rules, outcomes)
    reached = set(reached_outcomes(outcomes))
    worlds: dict[str, int | None] = {o: None for o in ids}
    for o in outcomes:
        if isinstance(o, Mapping) and o.get("count") is not None:
            worlds[str(o["id"])] = int(o["count"])
    fired = (
        pd.to_numeric(ranked["share_fired"], errors="coerce")
        if "share_fired" in ranked.columns
        else pd.Series(np.nan, index=ranked.index)
    )
    split = [
        separates(
            {o: float(ranked[f"fired_in_{o}"].iat[i]) for o in ids if o in reached},
            worlds,
            float(fired.iat[i]),
        )
        for i in range(len(ranked))
    ]
    ranked = ranked.assign(separates=np.array(split, dtype=bool))
    flat: tuple[str, ...] = ()
    if hide_flat:
        flat = tuple(ranked.loc[~ranked["separates"], "rule"].astype(str))
        ranked = ranked[ranked["separates"]]
    if top is not None:
        ranked = ranked.iloc[: max(0, int(top))]
    index = pd.Index(ranked["rule"], name="rule")
    matrix = pd.DataFrame(
        {o: ranked[f"fired_in_{o}"].to_numpy(float) if o in reached else np.nan for o in ids},
        index=index,
    )
    matrix.columns.name = "outcome"
    info = pd.DataFrame(index=index)
    for col in ("actor", "kind", "action"):
        info[col] = ranked[col].fillna("").astype(str).to_numpy() if col in ranked.columns else ""
    info["share_fired"] = (
        pd.to_numeric(ranked["share_fired"], errors="coerce").to_numpy(float)
        if "share_fired" in ranked.columns
        else np.nan
    )
    info["influence"] = ranked["influence"].to_numpy(float)
    info["separates"] = ranked["separates"].to_numpy(bool)
    base = info["share_fired"].to_numpy(float)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        lift_values = np.where(base > 0, matrix.to_numpy(float) / base, np.nan)
    lift = pd.DataFrame(lift_values, index=index, columns=matrix.columns)
    return Attribution(matrix=matrix, rules=info, lift=lift, worlds=worlds, flat=flat)


# -- sweeps -----------------------------------------------------------------------
_STAT_PREFIXES = ("p_", "lo_", "hi_")


def sweep_paths(points: pd.DataFrame) -> list[str]:
    """The varied paths of a ``points.csv`` table (every column but the statistics)."""
    return [
        c
        for c in points.columns
        if c not in ("point", "worlds") and not str(c).startswith(_STAT_PREFIXES)
    ]


def resolve_path(points: pd.DataFrame, path: str) -> str:
    """The ``points.csv`` column meant by ``path``.

    Accepts the exact column name or a unique suffix of it, so
    ``kremlin_appetite.a`` finds ``parameters.kremlin_appetite.a``.
    """
    paths = sweep_paths(points)
    if path in paths:
        return path
    matches = [p for p in paths if p.endswith("." + path) or p.split(".", 1)[-1] == path]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ResultsError(f"points.csv: {path!r} is ambiguous (matches {', '.join(matches)})")
    raise ResultsError(
        f"points.csv: no varied path {path!r}{_hint(path, paths)} (varied: {', '.join(paths)})"
    )


def _hint(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _pooled(points: pd.DataFrame, keys: list[str], outcome_ids: Sequence[str]) -> pd.DataFrame:
    """One row per distinct value of ``keys`` with ``p``/``lo``/``hi`` per outcome.

    Rows sharing the same key values (because other paths were varied too)
    are pooled: counts ``round(p * worlds)`` are summed and the Wilson
    interval is recomputed. A key value held by a single row keeps the
    row's own numbers.
    """
    _require(points, ["worlds", *keys], "points.csv")
    for o in outcome_ids:
        _require(points, [f"p_{o}", f"lo_{o}", f"hi_{o}"], "points.csv")
    rows = []
    for key, grp in points.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        n = int(grp["worlds"].sum())
        row["worlds"] = n
        row["points"] = len(grp)
        for o in outcome_ids:
            if len(grp) == 1:
                r = grp.iloc[0]
                p, lo, hi = float(r[f"p_{o}"]), float(r[f"lo_{o}"]), float(r[f"hi_{o}"])
            else:
                pooled = share(int(np.rint(grp[f"p_{o}"] * grp["worlds"]).sum()), n)
                p, lo, hi = pooled.p, pooled.lo, pooled.hi
            row[f"p_{o}"], row[f"lo_{o}"], row[f"hi_{o}"] = p, lo, hi
        rows.append(row)
    return pd.DataFrame(rows)


def sweep_curve(points: pd.DataFrame, path: str, outcome_ids: Sequence[str]) -> pd.DataFrame:
    """Outcome probabilities against one varied path.

    If other paths were varied too, the points sharing a value of ``path``
    are pooled (see :func:`_pooled`): the curve is then the average over the
    other paths' design.

    Returns:
        Long table sorted by ``outcome`` (in the given order) then ``x``,
        with columns ``x`` (value of ``path``), ``outcome``, ``p``, ``lo``,
        ``hi``, ``worlds``, ``points`` (design points pooled into the row).
    """
    col = resolve_path(points, path)
    pooled = _pooled(points, [col], list(outcome_ids))
    parts = [
        pd.DataFrame(
            {
                "x": pooled[col].to_numpy(),
                "outcome": o,
                "p": pooled[f"p_{o}"].to_numpy(float),
                "lo": pooled[f"lo_{o}"].to_numpy(float),
                "hi": pooled[f"hi_{o}"].to_numpy(float),
                "worlds": pooled["worlds"].to_numpy(int),
                "points": pooled["points"].to_numpy(int),
            }
        )
        for o in outcome_ids
    ]
    cols = ["x", "outcome", "p", "lo", "hi", "worlds", "points"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


def sweep_heatmap(points: pd.DataFrame, path_x: str, path_y: str, outcome_id: str) -> pd.DataFrame:
    """Probability of one outcome over two varied paths.

    Points sharing the same (x, y) are pooled over any other varied paths.

    Returns:
        A pivot table of ``p``: index = sorted values of ``path_y`` (named
        after the column), columns = sorted values of ``path_x``; NaN where
        the design has no point (e.g. a Latin hypercube).
    """
    cx, cy = resolve_path(points, path_x), resolve_path(points, path_y)
    if cx == cy:
        raise ResultsError(f"sweep heatmap needs two different paths (got {cx!r} twice)")
    pooled = _pooled(points, [cy, cx], [outcome_id])
    grid = pooled.pivot(index=cy, columns=cx, values=f"p_{outcome_id}")
    return grid.sort_index().sort_index(axis=1)


def sweep_cells(
    points: pd.DataFrame, path_x: str, path_y: str, outcome_ids: Sequence[str]
) -> pd.DataFrame:
    """Every outcome's share at each (x, y) of two varied paths, with counts and intervals.

    Points sharing the same (x, y) are pooled over any other varied paths
    (see :func:`_pooled`).

    Returns:
        Long table, outcome by outcome (in the given order), then y, then
        x: ``x``, ``y``, ``outcome``, ``worlds``, ``count``
        (``round(p × worlds)``), ``p``, ``lo``, ``hi``.
    """
    cx, cy = resolve_path(points, path_x), resolve_path(points, path_y)
    if cx == cy:
        raise ResultsError(f"sweep heatmap needs two different paths (got {cx!r} twice)")
    pooled = _pooled(points, [cy, cx], list(outcome_ids)).sort_values([cy, cx])
    parts = [
        pd.DataFrame(
            {
                "x": pooled[cx].to_numpy(),
                "y": pooled[cy].to_numpy(),
                "outcome": o,
                "worlds": pooled["worlds"].to_numpy(int),
                "count": np.rint(pooled[f"p_{o}"] * pooled["worlds"]).to_numpy(int),
                "p": pooled[f"p_{o}"].to_numpy(float),
                "lo": pooled[f"lo_{o}"].to_numpy(float),
                "hi": pooled[f"hi_{o}"].to_numpy(float),
            }
        )
        for o in outcome_ids
    ]
    cols = ["x", "y", "outcome", "worlds", "count", "p", "lo", "hi"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


@dataclass(frozen=True)
class SweepAxis:
    """What a varied path means to a reader.

    Attributes:
        path: the ``points.csv`` column (``param.kremlin_appetite``).
        name: the parameter's name (the first clause of its description),
            else the path.
        pinned: the path pins a parameter in every world of a point.
        prior: draws of the parameter from its distribution in the scenario
            (its prior, over which a batch integrates), or ``None`` when the
            path is not a drawn parameter or the scenario file is not the
            one the sweep ran.
    """

    path: str
    name: str
    pinned: bool
    prior: np.ndarray | None = None


PRIOR_DRAWS = 20_000


def sweep_axes(manifest: Mapping[str, Any], paths: Sequence[str]) -> dict[str, SweepAxis]:
    """Names and priors of the varied paths, read from the scenario the sweep ran.

    The scenario is loaded from the manifest's ``scenario_file`` with its
    overrides (without checking citations); when it cannot be loaded or its
    ``sha256`` is no longer the manifest's, the paths keep their own names
    and no prior is drawn. Prior draws use a fixed seed, so charts redraw
    identically.
    """
    params: dict[str, Any] = {}
    file = manifest.get("scenario_file")
    if file:
        try:
            sc = load_scenario(file, manifest.get("overrides") or (), registry=None)
        except (OSError, WargameError):
            sc = None
        if sc is not None and sc.sha256 == manifest.get("sha256"):
            params = {q.id: q for q in sc.parameters}
    out = {}
    for path in paths:
        pid = path.split(".", 1)[1] if path.startswith("param.") else None
        q = params.get(pid) if pid else None
        if q is None:
            out[path] = SweepAxis(path, path, pid is not None)
            continue
        prior = None
        if not q.enum_values and q.dist != "fixed":
            prior = q.sample(np.random.default_rng(0), PRIOR_DRAWS).astype(float)
        out[path] = SweepAxis(path, parameter_name(q.id, q.description), True, prior)
    return out


# -- comparisons ------------------------------------------------------------------
def compare_table(compare: Mapping[str, Any], what: str = "outcomes") -> pd.DataFrame:
    """Probabilities of runs A and B side by side, with their difference.

    Args:
        compare: ``compare.json``.
        what: ``"outcomes"`` (from ``outcomes`` and ``diffs``) or ``"flags"``
            (from ``flags`` and ``flag_diffs``, when the comparison has them).

    Returns:
        One row per outcome (in A's order, least to most severe) or flag,
        columns ``id``, ``name``, ``p_a``, ``lo_a``, ``hi_a``, ``p_b``,
        ``lo_b``, ``hi_b``, ``diff`` (``p_b - p_a``), ``diff_lo``,
        ``diff_hi`` (Newcombe 95%), ``clear`` (the interval of the
        difference excludes zero) and ``only`` (``"a"`` or ``"b"`` for an
        item one side does not have, whose share there is NaN, never 0;
        else ``""``). Items of B alone are placed after the item that
        precedes them in B, so a ladder of outcomes keeps its severity order.
    """
    keys = {"outcomes": ("outcomes", "diffs"), "flags": ("flags", "flag_diffs")}
    if what not in keys:
        raise ResultsError(f"compare_table: what={what!r} (expected 'outcomes' or 'flags')")
    items, diffs = keys[what]
    _require_keys(compare, ["a", "b", diffs], "compare.json")
    a = {o["id"]: o for o in compare["a"].get(items, [])}
    b = {o["id"]: o for o in compare["b"].get(items, [])}
    d = {x["id"]: x for x in compare[diffs]}
    order = _merged_order(list(a), list(b))
    rows = []
    for oid in order:
        oa, ob, od = a.get(oid, {}), b.get(oid, {}), d.get(oid, {})
        name = od.get("name") or oa.get("name") or ob.get("name") or oid
        lo, hi = float(od.get("lo", math.nan)), float(od.get("hi", math.nan))
        rows.append(
            {
                "id": oid,
                "name": name,
                "p_a": float(oa.get("p", math.nan)),
                "lo_a": float(oa.get("lo", math.nan)),
                "hi_a": float(oa.get("hi", math.nan)),
                "p_b": float(ob.get("p", math.nan)),
                "lo_b": float(ob.get("lo", math.nan)),
                "hi_b": float(ob.get("hi", math.nan)),
                "diff": float(od.get("diff", math.nan)),
                "diff_lo": lo,
                "diff_hi": hi,
                "clear": bool(lo > 0 or hi < 0),
                "only": "" if oid in a and oid in b else ("a" if oid in a else "b"),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "id", "name", "p_a", "lo_a", "hi_a", "p_b", "lo_b", "hi_b",
            "diff", "diff_lo", "diff_hi", "clear", "only",
        ],
    )  # fmt: skip


def _merged_order(a: list[str], b: list[str]) -> list[str]:
    """A's ids, with B's own ids slotted in after the id that precedes them in B."""
    order = list(a)
    at = -1  # where the last id of B shared with A stands in ``order``
    for oid in b:
        if oid in order:
            at = order.index(oid)
        else:
            at += 1
            order.insert(at, oid)
    return order
