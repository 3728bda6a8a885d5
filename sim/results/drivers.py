"""Drivers: how each outcome and key flag moves with each drawn parameter.

For every outcome and key flag (the *outputs*) and every parameter, the
worlds are split into bins of that parameter's draws and the output's share
is counted in each bin, with Wilson's 95% interval (:func:`sim.stats.share`):

* a numeric parameter with more than :data:`MAX_VALUE_BINS` distinct values
  is cut into quantile bins (quintiles by default) whose edges are the
  quantiles of its draws;
* one with fewer (a whole number with few values, a numeric choice) is
  binned by value, a choice of words by option;
* a parameter that takes one value in every world (pinned, or fixed by the
  scenario) is *not drawn*: it cannot move anything in this batch, and is
  listed so, never given a swing of 0.

The **swing** of a parameter on an output is the share in its top bin minus
the share in its bottom bin (for a choice of words, whose options have no
order: the largest option share minus the smallest), with Newcombe's hybrid
score interval for a difference of two independent shares
(:func:`sim.stats.newcombe_diff`). Parameters are ranked by ``|swing|``.
A swing is what the stored worlds show, not an effect: a parameter that
shares its bins with another that matters, or that acts only with others,
shows what the worlds in its bins have in common, not what changing it
alone would do (``wargame trace --effects`` and knock-outs answer that).

Bin edges are taken from the draws of the first :data:`EDGE_WORLDS` worlds
(all of them in smaller batches), so a batch can count its worlds chunk by
chunk as they arrive, in bounded memory, with or without ``runs.csv``
(:class:`DriverCounts`), and :func:`drivers` rebuilds the same table from
``runs.csv`` alone (rows are in world order there).

``drivers.csv`` has one row per output × parameter × bin; see
docs/drivers.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.errors import ResultsError, WargameError
from sim.results.aggregate import ChunkSummary
from sim.results.reader import BatchResult
from sim.stats import newcombe_arrays, share, wilson_arrays
from sim.tables import Columns

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario.model import Scenario

QUANTILE_BINS = 5
"""Quantile bins of a numeric parameter (quintiles)."""

MAX_VALUE_BINS = 10
"""A numeric parameter with at most this many distinct values is binned by value."""

EDGE_WORLDS = 100_000
"""Bin edges (and the values binned by value) come from the first this many worlds."""

COLUMNS = (
    "output",
    "output_name",
    "kind",
    "parameter",
    "parameter_name",
    "binning",
    "bin",
    "bin_label",
    "lo",
    "hi",
    "worlds",
    "count",
    "share",
    "share_lo",
    "share_hi",
    "swing",
    "swing_lo",
    "swing_hi",
    "rank",
)
"""The columns of ``drivers.csv``, in order."""

NOT_DRAWN = "not drawn"

Bins = Mapping[str, np.ndarray] | None
"""Each world's bin by parameter, for parameters whose bins are known (:meth:`DriverCounts.add`)."""


@dataclass(frozen=True)
class Output:
    """An outcome or a flag whose share is explained: ``kind`` is ``"outcome"`` or ``"flag"``."""

    id: str
    name: str
    kind: str


@dataclass(frozen=True)
class Param:
    """A parameter as the drivers see it: its id, a readable name, and its options if words."""

    id: str
    name: str
    options: tuple[str, ...] = ()
    pinned: bool = False


def parameter_name(pid: str, description: str = "") -> str:
    """A short readable name: the description's first clause, else the id in words.

    Parameters have ids and descriptions, no names; the first clause of the
    description ("How keen the Kremlin is on war") reads better on a chart
    than ``kremlin_appetite``, and is cut at a word near 72 characters.
    """
    text = " ".join(description.split())
    head = re.split(r"[.:;]\s|\s\(|[.:;]$", text, maxsplit=1)[0].strip() if text else ""
    if not head:
        words = pid.replace("_", " ").strip()
        return words[:1].upper() + words[1:]
    if len(head) > 72:
        cut = head[:72]
        comma = cut.rfind(",")
        head = cut[:comma] if comma > 30 else cut.rsplit(" ", 1)[0] + "…"
    return head


def scenario_outputs(sc: Scenario) -> list[Output]:
    """The outcomes, then the key flags (``reporting.key_flags``, default every flag)."""
    names = {f.id: f.name for f in sc.flags}
    return [Output(o.id, o.name, "outcome") for o in sc.outcomes] + [
        Output(f, names.get(f, f), "flag") for f in (sc.key_flags or names)
    ]


def scenario_params(sc: Scenario, pinned: Iterable[str] = ()) -> list[Param]:
    """Every parameter of ``sc``, named by :func:`parameter_name`."""
    pins = set(pinned)
    return [
        Param(p.id, parameter_name(p.id, p.description), tuple(p.enum_values), p.id in pins)
        for p in sc.parameters
    ]


# -- counting -----------------------------------------------------------------------
@dataclass
class _Bins:
    """How one parameter's draws are binned, and the counts so far."""

    binning: str  # "quantile", "value", "option" or "not drawn"
    edges: np.ndarray = field(default_factory=lambda: np.zeros(0))  # interior quantile edges
    keys: list[Any] = field(default_factory=list)  # values or options (value/option bins)
    worlds: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    counts: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    low: float = math.inf
    high: float = -math.inf
    value: Any = None  # the one value of a parameter not drawn


class DriverCounts:
    """Counts of each output by bin of each parameter, added up chunk by chunk.

    Chunks must come in world order. The first :data:`EDGE_WORLDS` worlds are
    held until the bins are fixed from them, then counted; later chunks are
    counted as they arrive and dropped.
    """

    def __init__(
        self,
        outputs: Sequence[Output],
        params: Sequence[Param],
        quantiles: int = QUANTILE_BINS,
        edge_worlds: int = EDGE_WORLDS,
    ):
        if quantiles < 2:
            raise ValueError(f"quantiles={quantiles}: expected at least 2 bins")
        self.outputs = list(outputs)
        self.params = list(params)
        self.quantiles = quantiles
        self.edge_worlds = edge_worlds
        self.n = 0
        self.totals = np.zeros(len(self.outputs), dtype=np.int64)
        self._counted = 0  # worlds already in the bins
        self._counted_totals = np.zeros(len(self.outputs), dtype=np.int64)
        self._held: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []
        self._held_n = 0
        self._bins: dict[str, _Bins] | None = None

    def add(self, hits: np.ndarray, values: Mapping[str, np.ndarray], bins: Bins = None) -> None:
        """Add worlds: ``hits`` (outputs × worlds) booleans, ``values`` each parameter's draws.

        ``bins``: each world's bin, instead of its draw, for parameters whose bins are
        known already (an option's index is its bin where :meth:`option_bins` says so).
        """
        hits = np.asarray(hits, dtype=bool)
        if hits.shape[1] == 0:
            return
        self.n += hits.shape[1]
        self.totals += hits.sum(axis=1)
        if self._bins is None:
            self._held.append((hits, {p.id: np.asarray(values[p.id]) for p in self.params}))
            self._held_n += hits.shape[1]
            if self._held_n >= self.edge_worlds:
                self._fix()
            return
        self._count(hits, values, bins)

    def option_bins(self, pid: str, options: Sequence[str]) -> bool:
        """Whether parameter ``pid``'s bins are fixed as its ``options`` first, in order (then
        a world's bin is its option's index)."""
        b = self._bins.get(pid) if self._bins is not None else None
        return b is not None and b.binning == "option" and b.keys[: len(options)] == list(options)

    def _fix(self) -> None:
        held, self._held = self._held, []
        self._held_n = 0
        # The worlds held are counted at once: only the last chunk can reach past the
        # first ``edge_worlds`` worlds and hold values the bins have not seen, so they
        # get their bins in the order they would chunk by chunk.
        hits = np.concatenate([h for h, _ in held], axis=1)
        values = {p.id: np.concatenate([v[p.id] for _, v in held]) for p in self.params}
        self._bins = {p.id: self._binning(p, values[p.id][: self.edge_worlds]) for p in self.params}
        self._count(hits, values)

    def _binning(self, p: Param, sample: np.ndarray) -> _Bins:
        n_out = len(self.outputs)
        if _many_values(p, sample):
            distinct: list[Any] = [None] * (MAX_VALUE_BINS + 1)  # quantile bins: only their count
        else:
            distinct = list(dict.fromkeys(sample.tolist())) if len(sample) else []
        if p.options or sample.dtype.kind in "OUS":
            keys = [o for o in p.options] + sorted(str(x) for x in distinct if x not in p.options)
            binning = "option"
        elif len(distinct) > MAX_VALUE_BINS:
            qs = quantiles(sample, np.arange(1, self.quantiles) / self.quantiles)
            # Sorted and distinct; with counts, np.unique does without numpy.ma.
            edges = np.unique(qs, return_counts=True)[0]
            b = _Bins("quantile", edges=edges)
            b.worlds = np.zeros(len(edges) + 1, dtype=np.int64)
            b.counts = np.zeros((n_out, len(edges) + 1), dtype=np.int64)
            return b
        else:
            keys, binning = sorted(distinct), "value"
        if len(distinct) <= 1:
            return _Bins(NOT_DRAWN, value=distinct[0] if distinct else None)
        return _Bins(
            binning,
            keys=keys,
            worlds=np.zeros(len(keys), dtype=np.int64),
            counts=np.zeros((n_out, len(keys)), dtype=np.int64),
        )

    def _count(self, hits: np.ndarray, values: Mapping[str, np.ndarray], bins: Bins = None) -> None:
        assert self._bins is not None
        n = hits.shape[1]
        binned: list[tuple[_Bins, np.ndarray]] = []
        for p in self.params:
            if bins and p.id in bins:
                binned.append((self._bins[p.id], np.asarray(bins[p.id], dtype=np.int64)))
                continue
            b, x = self._bins[p.id], np.asarray(values[p.id])
            if b.binning == NOT_DRAWN:
                if not (x != b.value).any():
                    continue
                # A value first seen after the first worlds: bin them all by value.
                b.binning = "option" if x.dtype.kind in "OUS" else "value"
                b.keys = [b.value]
                b.worlds = np.array([self._counted], dtype=np.int64)
                b.counts = self._counted_totals[:, None].copy()
            if b.binning == "quantile":
                x = np.ascontiguousarray(x)  # a field of the rows: read faster in one piece
                low, high = float(x.min()), float(x.max())
                index = _quantile_index(b.edges, x, math.isnan(low))
                b.low, b.high = min(b.low, low), max(b.high, high)
            else:
                index = self._key_index(b, x)
            binned.append((b, index))
        if binned:
            _add_bins(binned, hits)
        self._counted += n
        self._counted_totals += hits.sum(axis=1)

    @staticmethod
    def _key_index(b: _Bins, x: np.ndarray) -> np.ndarray:
        """Each world's bin among ``b.keys``; values not yet seen get bins of their own
        (in sorted order)."""
        if x.dtype == object:
            seen = set(x.tolist())
            if all(type(w) is str for w in seen):
                # Words (an enum's options): sorted as np.unique sorts them, without
                # its sort of every world's word by Python comparisons; each world's
                # bin set by one comparison per word seen (a handful).
                lookup = _keys_for(b, sorted(seen))
                index = np.empty(len(x), dtype=np.int64)
                for w in seen:
                    index[x == w] = lookup[w]
                return index
        uniques, inverse = np.unique(x, return_inverse=True)
        found = uniques.tolist()
        lookup = _keys_for(b, found)
        return np.array([lookup[u] for u in found], dtype=np.int64)[inverse]

    def table(self) -> pd.DataFrame:
        """``drivers.csv`` as a DataFrame (columns :data:`COLUMNS`), outputs in order, ranked."""
        import pandas as pd  # start-up time: pandas only when a table is built

        # ``bin`` and ``rank`` are empty for a parameter not drawn: floats, written
        # as whole numbers (``%.10g``) and read back as numbers.
        df = pd.DataFrame(self._rows(), columns=list(COLUMNS))
        return df.astype({"bin": float, "rank": float})

    def columns(self) -> Columns:
        """:meth:`table` as plain columns (what a batch writes, without pandas)."""
        cols: dict[str, Any] = self._columns()
        for name in ("bin", "rank"):
            cols[name] = np.array(
                [math.nan if v is None else float(v) for v in cols[name]], dtype=np.float64
            )
        return cols

    def _rows(self) -> list[dict[str, Any]]:
        """The rows of :meth:`table`, one dict each."""
        cols = self._columns()
        return [dict(zip(cols, values, strict=True)) for values in zip(*cols.values(), strict=True)]

    def _columns(self) -> dict[str, list[Any]]:
        """The columns of :meth:`table` as lists (``None`` where ``bin`` and ``rank`` are empty).

        Built column by column, a parameter's bins at a time: a batch writes
        this table after its last chunk, while the command waits.
        """
        if self._bins is None:
            self._fix()
        assert self._bins is not None
        cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}
        labelled: dict[str, tuple[list[str], list[float], list[float]]] = {}  # the same per output
        groups: list[list[dict[str, list[Any]]]] = []
        flats: list[list[dict[str, Any]]] = []
        for j, out in enumerate(self.outputs):
            drawn, flat = [], []
            for p in self.params:
                b = self._bins[p.id]
                if b.binning == NOT_DRAWN:
                    flat.append(self._not_drawn_row(out, j, p, b))
                else:
                    drawn.append(self._bin_columns(out, j, p, b, labelled))
            groups.append(drawn)
            flats.append(flat)
        _intervals([g for drawn in groups for g in drawn])
        for drawn, flat in zip(groups, flats, strict=True):
            drawn.sort(key=lambda g: -abs(g["swing"][0]) if not math.isnan(g["swing"][0]) else 1)
            for rank, group in enumerate(drawn, start=1):
                group["rank"] = [rank] * len(group["bin"])
                for c in COLUMNS:
                    cols[c] += group[c]
            for row in flat:
                for c in COLUMNS:
                    cols[c].append(row[c])
        return cols

    def _base(self, out: Output, p: Param) -> dict[str, Any]:
        return {
            "output": out.id,
            "output_name": out.name,
            "kind": out.kind,
            "parameter": p.id,
            "parameter_name": p.name,
        }

    def _not_drawn_row(self, out: Output, j: int, p: Param, b: _Bins) -> dict[str, Any]:
        s = share(int(self.totals[j]), self.n)
        number = isinstance(b.value, int | float) and not isinstance(b.value, bool)
        how = "pinned" if p.pinned else "fixed"
        value = _number(b.value) if number else str(b.value)
        return self._base(out, p) | {
            "binning": NOT_DRAWN,
            "bin": None,
            "bin_label": f"{NOT_DRAWN} ({how} at {value})" if b.value is not None else NOT_DRAWN,
            "lo": float(b.value) if number else math.nan,
            "hi": float(b.value) if number else math.nan,
            "worlds": self.n,
            "count": int(self.totals[j]),
            "share": s.p,
            "share_lo": s.lo,
            "share_hi": s.hi,
            "swing": math.nan,
            "swing_lo": math.nan,
            "swing_hi": math.nan,
            "rank": None,
        }

    def _bin_columns(
        self,
        out: Output,
        j: int,
        p: Param,
        b: _Bins,
        labelled: dict[str, tuple[list[str], list[float], list[float]]],
    ) -> dict[str, list[Any]]:
        """The rows of one output by one drawn parameter's bins, as columns (no ``rank`` yet)."""
        order = list(range(len(b.worlds)))
        if b.binning == "value":
            order.sort(key=lambda i: b.keys[i])
        worlds, counts = b.worlds[order].tolist(), b.counts[j][order].tolist()
        if p.id not in labelled:
            labelled[p.id] = _labels(b, order)
        labels, los, his = labelled[p.id]
        full = [i for i in range(len(order)) if worlds[i] > 0]
        ends: tuple[int, int] | None = None  # the bins the swing is taken between
        if len(full) >= 2:
            if b.binning == "option":
                # The first bin of the smallest share and the first of the largest (as
                # np.argmin and np.argmax would pick them, without an array of a handful).
                ends = (
                    min(full, key=lambda i: counts[i] / worlds[i]),
                    max(full, key=lambda i: counts[i] / worlds[i]),
                )
            else:
                ends = full[0], full[-1]
        n = len(order)
        group = {c: [v] * n for c, v in self._base(out, p).items()}
        return group | {
            "binning": [b.binning] * n,
            "bin": list(range(n)),
            "bin_label": [labels[i] for i in range(n)],
            "lo": [los[i] for i in range(n)],
            "hi": [his[i] for i in range(n)],
            "worlds": worlds,
            "count": counts,
            "ends": ends,  # replaced by the shares and the swing (see _intervals)
        }


def _intervals(groups: list[dict[str, list[Any]]]) -> None:
    """Fill in every group's shares with their intervals and its swing, all in one step
    (:func:`sim.stats.wilson_arrays`, :func:`sim.stats.newcombe_arrays`: the same floats
    as :func:`sim.stats.share` and :func:`sim.stats.newcombe_diff` one at a time)."""
    worlds = np.array([w for g in groups for w in g["worlds"]], dtype=np.int64)
    counts = np.array([k for g in groups for k in g["count"]], dtype=np.int64)
    lo, hi = wilson_arrays(counts, worlds)
    p = counts / np.where(worlds > 0, worlds, 1)
    p[worlds == 0] = math.nan
    shares, share_lo, share_hi = p.tolist(), lo.tolist(), hi.tolist()
    ends = [g.pop("ends") for g in groups]
    pairs = [(g["count"], g["worlds"], e) for g, e in zip(groups, ends, strict=True) if e]
    d, s_lo, s_hi = newcombe_arrays(
        [k[a] for k, _, (a, _) in pairs],
        [n[a] for _, n, (a, _) in pairs],
        [k[t] for k, _, (_, t) in pairs],
        [n[t] for _, n, (_, t) in pairs],
    )
    swings = iter(zip(d.tolist(), s_lo.tolist(), s_hi.tolist(), strict=True))
    start = 0
    for g, e in zip(groups, ends, strict=True):
        n = len(g["worlds"])
        g["share"] = shares[start : start + n]
        g["share_lo"] = share_lo[start : start + n]
        g["share_hi"] = share_hi[start : start + n]
        start += n
        swing = next(swings) if e else (math.nan, math.nan, math.nan)
        g["swing"], g["swing_lo"], g["swing_hi"] = [swing[0]] * n, [swing[1]] * n, [swing[2]] * n


def quantiles(sample: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """``np.quantile(sample, qs)`` of a 1-D sample (its default method, linear), computed
    by the same steps in the same arithmetic, so the same numbers to the bit.

    Start-up time: ``np.quantile`` calls ``np.unique``, which imports ``numpy.ma``
    (some 10 ms, at the end of every batch) only to ask whether a plain array is
    masked. tests/test_drivers.py holds it to ``np.quantile`` on tricky samples.
    """
    n = len(sample)
    if not n:
        return np.quantile(sample, qs)  # which refuses it
    virtual = (n - 1) * np.asarray(qs, dtype=np.float64)
    before = np.floor(virtual)
    after = before + 1
    above, below = virtual >= n - 1, virtual < 0
    before[above], after[above] = -1, -1
    before[below], after[below] = 0, 0
    before[np.isnan(virtual)], after[np.isnan(virtual)] = -1, -1
    low_i, high_i = before.astype(np.intp), after.astype(np.intp)
    # The order statistics needed, and the extremes (a NaN sorts last), in place. A sort
    # puts the same values there as np.quantile's partition, and in less time (numpy's
    # sorts are vectorised: 10,000 draws 0.26 -> 0.07 ms, 100,000 2.9 -> 1.0 ms), except
    # that equal values may come in another order: where a zero (0.0 or -0.0) or a NaN
    # is one of them, the partition itself.
    needed = sorted({0, n - 1, *(low_i % n).tolist(), *(high_i % n).tolist()})
    arr = np.sort(sample)
    if arr.dtype.kind in "fc" and (np.isnan(arr[-1]) or (arr[needed] == 0).any()):
        arr = np.partition(sample, needed)
    gamma = np.asanyarray(virtual - low_i, dtype=virtual.dtype)
    low, high = arr[low_i], arr[high_i]
    diff = high - low
    result = np.add(low, diff * gamma)
    np.subtract(
        high,
        diff * (1 - gamma),
        out=result,
        where=gamma >= 0.5,
        casting="unsafe",
        dtype=type(result.dtype),
    )
    if arr.dtype.kind in "fc" and n and np.isnan(arr[-1]):
        result[...] = arr[-1]
    return result


def _quantile_index(edges: np.ndarray, x: np.ndarray, nan: bool) -> np.ndarray:
    """Each value's quantile bin: ``np.searchsorted(edges, x, side="right")``, the number
    of edges at or below it. For the few edges of quantile bins, one comparison with
    each edge is some five times faster than the binary search of every value (a
    million worlds' parameters are binned in the batch's own process); values with a
    NaN among them (``nan``), which the search puts last, are searched."""
    if nan or len(edges) > 8:
        return np.searchsorted(edges, x, side="right")
    index = np.zeros(len(x), dtype=np.intp)
    for e in edges:
        index += x >= e
    return index


def _add_bins(binned: Sequence[tuple[_Bins, np.ndarray]], hits: np.ndarray) -> None:
    """Add worlds to the bins of every parameter at once: ``binned`` pairs each parameter's
    bins with each world's bin in them, ``hits`` (outputs x worlds) is what each world counts.

    Worlds that hit the same outputs (a handful of combinations: one outcome each, and the
    key flags) count alike, so each world is counted once per parameter in one bincount of
    (combination, parameter's bin) cells, and the outputs' counts follow from the
    combinations' table of hits, exactly (whole numbers throughout).
    """
    combos, which = _combinations(hits)
    sizes = [len(b.worlds) for b, _ in binned]
    offsets = np.cumsum([0, *sizes])
    width = int(offsets[-1])
    starts = offsets[:-1].tolist()
    cells = np.concatenate([index + off for (_, index), off in zip(binned, starts, strict=True)])
    cells += np.tile(which * width, len(binned))
    table = np.bincount(cells, minlength=len(combos) * width).reshape(len(combos), width)
    worlds = table.sum(axis=0)
    counts = combos.T.astype(np.int64) @ table  # (outputs, all bins)
    for (b, _), start, size in zip(binned, starts, sizes, strict=True):
        b.worlds += worlds[start : start + size]
        b.counts += counts[:, start : start + size]


def _combinations(hits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct columns of ``hits`` (outputs x worlds, booleans) as rows (combinations x
    outputs), and each world's combination."""
    n_out, n = hits.shape
    code: np.ndarray
    if n_out <= 63:
        code = np.zeros(n, dtype=np.int64)
        for j in range(n_out):
            code |= hits[j].astype(np.int64) << j
    else:  # more outputs than bits of a number: the worlds' bytes of hits, as one value each
        packed = np.ascontiguousarray(np.packbits(hits, axis=0).T)
        code = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    order = np.argsort(code, kind="stable")
    ordered = code[order]
    first = np.ones(n, dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    which = np.empty(n, dtype=np.int64)
    which[order] = np.cumsum(first) - 1
    return hits[:, order[first]].T, which


def _keys_for(b: _Bins, values: list[Any]) -> dict[Any, int]:
    """Each key's bin in ``b``, once the ``values`` not yet among its keys are added (in
    the order given), with their (empty) columns."""
    lookup = {k: i for i, k in enumerate(b.keys)}
    for u in values:
        if u not in lookup:
            lookup[u] = len(b.keys)
            b.keys.append(u)
    _grow(b)
    return lookup


def _grow(b: _Bins) -> None:
    """Give the keys added to ``b`` since its last count their (empty) columns."""
    grow = len(b.keys) - len(b.worlds)
    if grow:
        b.worlds = np.concatenate([b.worlds, np.zeros(grow, dtype=np.int64)])
        b.counts = np.concatenate([b.counts, np.zeros((len(b.counts), grow), np.int64)], 1)


def _many_values(p: Param, sample: np.ndarray) -> bool:
    """Whether a numeric parameter's first draws alone already hold more than
    :data:`MAX_VALUE_BINS` distinct values (then it gets quantile bins, whatever the rest),
    found without listing every distinct value of the sample (and without ``np.unique``,
    which imports ``numpy.ma``, some 10 ms, to ask whether a plain array is masked)."""
    if p.options or sample.dtype.kind in "OUS":
        return False
    return len(set(sample[: 4 * MAX_VALUE_BINS].tolist())) > MAX_VALUE_BINS


def _labels(b: _Bins, order: list[int]) -> tuple[list[str], list[float], list[float]]:
    """Each bin's label in words ("0.62–0.80", "3", "firm") and its edges."""
    if b.binning == "quantile":
        edges = [b.low, *b.edges.tolist(), b.high]
        text = _edge_texts(edges)
        labels = [f"{text[i]}–{text[i + 1]}" for i in range(len(edges) - 1)]
        return labels, edges[:-1], edges[1:]
    keys = [b.keys[i] for i in order]
    if b.binning == "value":
        return [_number(k) for k in keys], [float(k) for k in keys], [float(k) for k in keys]
    return [str(k) for k in keys], [math.nan] * len(keys), [math.nan] * len(keys)


def _edge_texts(edges: Sequence[float]) -> list[str]:
    """Edges rounded to the fewest decimals (two at least) that keep them distinct."""
    span = max(edges) - min(edges)
    decimals = max(0, 2 - math.floor(math.log10(span))) if span > 0 else 2
    if all(float(e).is_integer() for e in edges) and span >= 100:
        decimals = 0
    for d in range(decimals, decimals + 6):
        texts = [f"{e:,.{d}f}" for e in edges]
        if len(set(texts)) == len(texts):
            return texts
    return texts


def _number(x: Any) -> str:
    """A value as a short number: whole numbers with thousands separators."""
    v = float(x)
    return f"{v:,.0f}" if v.is_integer() else f"{v:.4g}"


# -- from a batch -------------------------------------------------------------------
def batch_counts(
    sc: Scenario, pinned: Iterable[str] = (), quantiles: int = QUANTILE_BINS
) -> DriverCounts:
    """A :class:`DriverCounts` for the worlds of ``sc`` (add chunks with :func:`add_chunk`)."""
    return DriverCounts(scenario_outputs(sc), scenario_params(sc, pinned), quantiles)


def add_chunk(dc: DriverCounts, sc: Scenario, cs: ChunkSummary) -> None:
    """Count one chunk's per-world rows (a chunk run with rows; see ``summarise_chunk``)."""
    rows = cs.rows
    if rows is None:
        raise ValueError("drivers need the per-world rows of every chunk")
    outcome = rows["outcome"]
    index = {o.id: i for i, o in enumerate(sc.outcomes)}
    hits = (
        np.stack(
            [
                outcome == index[o.id] if o.kind == "outcome" else rows[f"flag_{o.id}"]
                for o in dc.outputs
            ]
        )
        if dc.outputs
        else np.zeros((0, len(rows)), dtype=bool)
    )
    values: dict[str, np.ndarray] = {}
    bins: dict[str, np.ndarray] = {}
    for p in sc.parameters:
        v = rows[f"param_{p.id}"]
        if p.enum_values and dc.option_bins(p.id, p.enum_values):
            bins[p.id] = v  # the option's index, not its word
        else:
            values[p.id] = np.asarray(p.enum_values, dtype=object)[v] if p.enum_values else v
    dc.add(hits, values, bins)


# -- from a results folder ----------------------------------------------------------
def drivers(
    results: BatchResult, *, quantiles: int = QUANTILE_BINS, names: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The drivers table of a batch folder, rebuilt from its ``runs.csv`` (no rerun).

    Outputs come from ``summary.json`` (outcomes, then ``key_flags``);
    parameters are the ``param_*`` columns of ``runs.csv``, named from the
    scenario file the manifest names when it still loads (else by their
    ids in words, or by ``names``). The same table the batch wrote, when
    the folder has one.

    Raises:
        ResultsError: the folder has no ``runs.csv`` (a batch run with
            ``--no-runs-table``), or it lacks a column the summary names.
    """
    runs = results.runs
    summary = results.summary
    flag_names = {f["id"]: f.get("name", f["id"]) for f in summary.get("flags", ())}
    outputs = [Output(o["id"], o.get("name", o["id"]), "outcome") for o in summary["outcomes"]]
    outputs += [
        Output(f, flag_names.get(f, f), "flag") for f in (summary.get("key_flags") or flag_names)
    ]
    known = _scenario_params(results)
    pins = set((results.manifest.get("pinned") or {}).keys())
    params = []
    for c in runs.columns:
        if c.startswith("param_"):
            pid = c[len("param_") :]
            name, options = known.get(pid, (parameter_name(pid), ()))
            params.append(Param(pid, (names or {}).get(pid, name), options, pid in pins))
    missing = [f"flag_{o.id}" for o in outputs if o.kind == "flag"]
    missing = [c for c in [*missing, "outcome"] if c not in runs.columns]
    if missing:
        raise ResultsError(f"{results.folder / 'runs.csv'}: no column {missing[0]!r}")
    outcome = runs["outcome"].astype(str).to_numpy()
    hits = np.stack(
        [
            outcome == o.id if o.kind == "outcome" else runs[f"flag_{o.id}"].to_numpy() == 1
            for o in outputs
        ]
    )
    dc = DriverCounts(outputs, params, quantiles)
    values = {p.id: _column(runs[f"param_{p.id}"]) for p in params}
    dc.add(hits, values)
    return dc.table()


def _column(column: pd.Series) -> np.ndarray:
    """A parameter's column as the batch holds it: words as objects, numbers as numbers."""
    if column.dtype.kind in "OUS":
        return column.astype(str).to_numpy(dtype=object)
    return column.to_numpy()


def _scenario_params(results: BatchResult) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Each parameter's name and options (if words) from the scenario file the manifest
    names, if it is found and loads; else nothing (names from ids, options as found)."""
    from sim.scenario import load_scenario  # start-up time: only when names are wanted

    given = results.manifest.get("scenario_file")
    if not given:
        return {}
    candidates = [Path(given)] + [base / given for base in (Path.cwd(), *results.folder.parents)]
    for path in candidates:
        if path.is_file():
            try:
                sc = load_scenario(path, results.manifest.get("overrides") or (), registry=None)
            except WargameError:
                return {}
            return {
                p.id: (parameter_name(p.id, p.description), tuple(p.enum_values))
                for p in sc.parameters
            }
    return {}
