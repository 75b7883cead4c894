"""Fidelity: how closely a synthetic table reproduces the distributions of the real one.

Every score here is a pure function of two tables encoded by one :class:`Discretizer` fitted on
the *real* table, so single columns, pairs, triples and the detection classifier all see the
same bins:

* numbers and datetimes (as days since 1970) fall into ``bins`` quantile bins of the real
  values; a synthetic value outside the real range lands in the outermost bin;
* categories and booleans get one code per real category, one code for "missing" and one for
  "not seen in the real table" (a synthesizer that invents categories must show it, not crash);
* missing values always have their own code;
* ``id``, ``pii`` and ``text`` columns are left out: they are generated fresh, never learned.

This is not :class:`tabsynth.domain.DomainEncoder`: that encoder describes the *public* domain a
model may generate and refuses values outside it, whereas evaluation must accept any synthetic
value and count the ones that fall outside what the real table holds.

Scores (all in [0, 1] unless said otherwise, 1 = identical):

* per column: KS statistic (numbers, datetimes: on non-missing values) or TVD (categories,
  booleans: missing is a category), missing rates, range / category coverage;
* per pair: 2-way marginal TVD on the codes; a "pair trend" score, ``1 - |Δ Pearson| / 2`` for
  two numeric columns and ``1 - 2-way TVD`` otherwise (SDMetrics' CorrelationSimilarity and
  ContingencySimilarity, except that numbers are binned at real quantiles rather than 10
  equal-width bins); and an association matrix (Pearson, or Cramér's V when a categorical is
  involved) for the heatmap;
* ``k_marginal``: ``1000 * (1 - mean TVD)`` over 3-way marginals, as in the NIST CRC / SDNist
  k-marginal score;
* detection: the cross-validated AUC of a gradient-boosting classifier that tries to tell real
  rows from synthetic ones (0.5 = indistinguishable).

The scores are computed with counts (``np.bincount`` on combined codes), so a 3-way marginal of
40 000 rows costs well under a millisecond.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tabsynth.errors import MetadataError, ParameterError
from tabsynth.metadata import GENERATED_KINDS, Metadata

DEFAULT_BINS = 20
#: Most attribute sets scored by :func:`k_marginal`; beyond this, sets are sampled with ``seed``.
K_MARGINAL_MAX_SETS = 500
#: Rows per class the detection classifier sees at most (a balanced random subsample).
DETECTION_MAX_ROWS = 10_000
DETECTION_FOLDS = 3
#: Joint tables larger than this are counted sparsely (np.unique) instead of with bincount.
_DENSE_LIMIT = 1 << 21
MISSING_LABEL = "(missing)"
UNSEEN_LABEL = "(not in real)"
NUMERIC_KINDS = frozenset({"numerical", "datetime"})
_DAY_NS = 86_400 * 10**9
_Z95 = 1.959963984540054


# ---------------------------------------------------------------------------------------------
# encoding


@dataclass(frozen=True)
class ColumnCoding:
    """How one column becomes codes.

    Numeric columns: codes ``0 .. len(edges)`` are bins split at the interior ``edges``, then
    one code for missing. Categorical columns: codes ``0 .. K-1`` for ``categories``, then
    missing, then "not in real".
    """

    name: str
    kind: str
    edges: np.ndarray | None = None
    categories: tuple[str, ...] | None = None
    real_categories: int = 0
    datetime_format: str | None = None

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    @property
    def missing_code(self) -> int:
        if self.numeric:
            assert self.edges is not None
            return len(self.edges) + 1
        assert self.categories is not None
        return len(self.categories)

    @property
    def n_levels(self) -> int:
        return self.missing_code + (1 if self.numeric else 2)

    def numbers(self, series: pd.Series) -> np.ndarray:
        """Float values (NaN for missing); datetimes as days since 1970."""
        if self.kind == "datetime":
            stamps = pd.to_datetime(series, format=self.datetime_format, errors="coerce")
            if getattr(stamps.dt, "tz", None) is not None:
                stamps = stamps.dt.tz_convert(None)
            ns = stamps.astype("datetime64[ns]").to_numpy().astype(np.int64).astype(float)
            ns[stamps.isna().to_numpy()] = np.nan
            return ns / _DAY_NS
        if pd.api.types.is_bool_dtype(series.dtype):
            return series.astype(float).to_numpy()
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)

    def encode(self, series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """``(codes, numbers)``; numbers are NaN for categorical columns."""
        if self.numeric:
            assert self.edges is not None
            values = self.numbers(series)
            codes = np.searchsorted(self.edges, values, side="right").astype(np.int64)
            codes[np.isnan(values)] = self.missing_code
            return codes, values
        assert self.categories is not None
        keys = category_keys(series, self.kind)
        codes = pd.Categorical(keys, categories=self.categories).codes.astype(np.int64)
        missing = pd.isna(keys)
        codes[(codes < 0) & ~missing] = self.missing_code + 1
        codes[missing] = self.missing_code
        return codes, np.full(len(series), np.nan)

    def labels(self) -> list[str]:
        """One display label per code."""
        if not self.numeric:
            assert self.categories is not None
            return [*self.categories, MISSING_LABEL, UNSEEN_LABEL]
        assert self.edges is not None
        edges = self.edges
        if not len(edges):
            return ["all values", MISSING_LABEL]
        show = self.format_value
        # bin i+1 lies between edges i and i+1; it is a point bin when they are adjacent floats
        point = [b == np.nextafter(a, np.inf) for a, b in itertools.pairwise(edges)]
        out = [f"< {show(edges[0])}"]
        for i, is_point in enumerate(point):
            if is_point:
                out.append(f"= {show(edges[i])}")
            elif i > 0 and point[i - 1]:
                out.append(f"({show(edges[i - 1])}, {show(edges[i + 1])})")
            else:
                out.append(f"[{show(edges[i])}, {show(edges[i + 1])})")
        last = f"> {show(edges[-2])}" if point and point[-1] else f"≥ {show(edges[-1])}"
        return [*out, last, MISSING_LABEL]

    def format_value(self, value: float) -> str:
        """A bin edge as people read it: 4 significant digits, or a date."""
        if self.kind == "datetime":
            return str(pd.Timestamp(round(value * _DAY_NS)).date())
        return f"{value:.4g}"


def category_keys(series: pd.Series, kind: str) -> np.ndarray:
    """Comparable string keys of categorical values, None where missing.

    Real and synthetic tables often disagree on dtype (``1`` vs ``1.0`` vs ``"1"``, or
    ``True`` vs ``"true"``); comparing canonical strings keeps such pairs equal.
    """
    missing = series.isna().to_numpy()
    keys = np.full(len(series), None, dtype=object)
    present = series[~missing]
    if pd.api.types.is_bool_dtype(present.dtype):
        text = np.where(present.to_numpy(dtype=bool), "True", "False").astype(object)
    elif pd.api.types.is_numeric_dtype(present.dtype):
        arr = present.to_numpy(dtype=float)
        integral = np.isfinite(arr) & (arr == np.round(arr))
        text = arr.astype(str).astype(object)
        text[integral] = arr[integral].astype(np.int64).astype(str)
    else:
        text = present.astype(str).to_numpy(dtype=object)
    if kind == "boolean":
        lowered = np.char.lower(text.astype(str))
        text = np.where(np.isin(lowered, ["true", "1", "1.0"]), "True", text)
        text = np.where(np.isin(lowered, ["false", "0", "0.0"]), "False", text).astype(object)
    keys[~missing] = text
    return keys


@dataclass(frozen=True)
class EncodedTable:
    """A table under a :class:`Discretizer`: integer codes and float values, column by column."""

    codes: np.ndarray
    numbers: np.ndarray

    def __len__(self) -> int:
        return self.codes.shape[0]

    def take(self, rows: np.ndarray) -> EncodedTable:
        return EncodedTable(self.codes[rows], self.numbers[rows])


@dataclass(frozen=True)
class Discretizer:
    """Bins and category lists learned from the real table, applied to every table compared.

    Examples
    --------
    >>> real = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", None]})
    >>> disc = Discretizer.fit(real, Metadata.detect(real), bins=2)
    >>> disc.encode(pd.DataFrame({"x": [0.0, 9.0], "c": ["z", None]})).codes.tolist()
    [[0, 3], [1, 2]]
    """

    columns: tuple[ColumnCoding, ...]

    @classmethod
    def fit(cls, real: pd.DataFrame, metadata: Metadata, bins: int = DEFAULT_BINS) -> Discretizer:
        if not isinstance(bins, int) or bins < 2:
            raise ParameterError(f"bins must be an integer >= 2, got {bins!r}")
        codings = []
        for name, spec in metadata.columns.items():
            if spec.kind in GENERATED_KINDS:
                continue
            if name not in real.columns:
                raise MetadataError(f"column {name!r} is in the metadata but not in the table")
            codings.append(_fit_column(name, spec.kind, spec.format, spec.categories, real, bins))
        if not codings:
            raise MetadataError(
                "no column to evaluate: every column is id, pii or text; declare at least one "
                "numerical, categorical, boolean or datetime column"
            )
        return cls(tuple(codings))

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def n_levels(self) -> np.ndarray:
        return np.array([c.n_levels for c in self.columns], dtype=np.int64)

    def encode(self, data: pd.DataFrame) -> EncodedTable:
        pairs = [coding.encode(data[coding.name]) for coding in self.columns]
        return EncodedTable(
            np.column_stack([p[0] for p in pairs]), np.column_stack([p[1] for p in pairs])
        )

    def features(self, table: EncodedTable) -> tuple[np.ndarray, np.ndarray]:
        """Classifier inputs ``(X, categorical_mask)``: raw numbers for numeric columns (NaN if
        missing), codes for categorical ones (NaN if missing, so models see missingness as
        such). Categoricals with more levels than a histogram model takes stay ordinal."""
        x = table.numbers.copy()
        x[np.isinf(x)] = np.nan  # a synthesizer may emit ±inf; tree models refuse it
        mask = np.zeros(len(self.columns), dtype=bool)
        for j, coding in enumerate(self.columns):
            if coding.numeric:
                continue
            col = table.codes[:, j].astype(float)
            col[table.codes[:, j] == coding.missing_code] = np.nan
            x[:, j] = col
            mask[j] = coding.n_levels <= 250
        return x, mask


def bin_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Interior bin edges: quantiles, except that a value holding at least 1/bins of the rows
    gets a bin of its own.

    Plain quantiles collapse on a spike: when 95 % of ``capital_loss`` is 0, every quantile
    edge is 0 and all positive values share one bin, so a synthesizer that spreads them
    wrongly (or makes far too many of them) goes unseen. A point bin ``[v, nextafter(v))``
    for each spike, and quantiles of the remaining values for the remaining bins, keep both
    the spike and the tail visible.
    """
    uniq, counts = np.unique(values, return_counts=True)
    spikes = uniq[counts >= len(values) / bins]
    rest = values[~np.isin(values, spikes)]
    parts = [spikes, np.nextafter(spikes, np.inf)]
    n_rest = bins - len(spikes)
    if rest.size and n_rest > 1:
        parts.append(np.quantile(rest, np.linspace(0, 1, n_rest + 1)[1:-1]))
    return np.unique(np.concatenate(parts))


def _fit_column(
    name: str,
    kind: str,
    fmt: str | None,
    declared: tuple[Any, ...] | None,
    real: pd.DataFrame,
    bins: int,
) -> ColumnCoding:
    if kind in NUMERIC_KINDS:
        probe = ColumnCoding(name, kind, edges=np.empty(0), datetime_format=fmt)
        values = probe.numbers(real[name])
        values = values[~np.isnan(values)]
        if values.size == 0:
            return probe
        return ColumnCoding(name, kind, edges=bin_edges(values, bins), datetime_format=fmt)
    observed = pd.Series(category_keys(real[name], kind)).value_counts(dropna=True)
    cats = [str(k) for k in observed.index]
    if declared is not None:
        cats += [k for k in category_keys(pd.Series(list(declared)), kind) if k not in cats]
    return ColumnCoding(name, kind, categories=tuple(cats), real_categories=len(observed))


# ---------------------------------------------------------------------------------------------
# counting


def joint_codes(codes: np.ndarray, cols: tuple[int, ...], levels: np.ndarray) -> np.ndarray:
    """One integer per row identifying its cell in the joint table of ``cols``."""
    out = codes[:, cols[0]].copy()
    for c in cols[1:]:
        out = out * levels[c] + codes[:, c]
    return out


def marginal_tvd(
    real: np.ndarray, synth: np.ndarray, cols: tuple[int, ...], levels: np.ndarray
) -> float:
    """Total variation distance between the marginals of ``cols`` in two code matrices."""
    a = joint_codes(real, cols, levels)
    b = joint_codes(synth, cols, levels)
    size = int(np.prod(levels[list(cols)]))
    if size <= _DENSE_LIMIT:
        pa = np.bincount(a, minlength=size) / len(a)
        pb = np.bincount(b, minlength=size) / len(b)
        return 0.5 * float(np.abs(pa - pb).sum())
    cells, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    pa = np.bincount(inverse[: len(a)], minlength=len(cells)) / len(a)
    pb = np.bincount(inverse[len(a) :], minlength=len(cells)) / len(b)
    return 0.5 * float(np.abs(pa - pb).sum())


def choose_sets(n_columns: int, k: int, max_sets: int, seed: int) -> tuple[list[tuple], int]:
    """All ``k``-subsets of the columns, or ``max_sets`` of them drawn with ``seed``.

    Returns the chosen sets and how many exist in all.
    """
    if k < 1:
        raise ParameterError(f"k must be >= 1, got {k}")
    if max_sets < 1:
        raise ParameterError(f"max_sets must be >= 1, got {max_sets}")
    k = min(k, n_columns)
    total = math.comb(n_columns, k)
    if total <= max_sets:
        return list(itertools.combinations(range(n_columns), k)), total
    rng = np.random.default_rng(seed)
    chosen: set[tuple[int, ...]] = set()
    while len(chosen) < max_sets:
        chosen.add(tuple(sorted(rng.choice(n_columns, size=k, replace=False).tolist())))
    return sorted(chosen), total


def k_marginal_detail(
    disc: Discretizer,
    real: EncodedTable,
    synth: EncodedTable,
    *,
    k: int = 3,
    max_sets: int = K_MARGINAL_MAX_SETS,
    seed: int = 0,
    columns: list[int] | None = None,
) -> dict[str, Any]:
    """k-marginal score with its parts: the sets used, a CI when sets were sampled, and the
    five worst sets. ``columns`` restricts the sets to some columns (subgroups drop the
    column that defines the group, which is constant inside it)."""
    pool = list(range(len(disc.columns))) if columns is None else list(columns)
    if not pool:
        return {"score": None, "mean_tvd": None, "n_sets": 0}
    sets, total = choose_sets(len(pool), k, max_sets, seed)
    sets = [tuple(pool[i] for i in s) for s in sets]
    levels = disc.n_levels
    tvds = np.array([marginal_tvd(real.codes, synth.codes, s, levels) for s in sets])
    mean = float(tvds.mean())
    out: dict[str, Any] = {
        "score": 1000.0 * (1.0 - mean),
        "mean_tvd": mean,
        "k": len(sets[0]),
        "n_sets": len(sets),
        "n_sets_total": total,
        "sampled": len(sets) < total,
        "seed": seed,
        "ci": None,
    }
    if len(sets) < total and len(sets) > 1:
        # sampling error of the mean over sets (finite-population corrected)
        half = _Z95 * tvds.std(ddof=1) / math.sqrt(len(sets)) * math.sqrt(1 - len(sets) / total)
        out["ci"] = [1000.0 * (1 - mean - half), 1000.0 * (1 - mean + half)]
    worst = np.argsort(-tvds)[:5]
    out["worst_sets"] = [
        {"columns": [disc.names[c] for c in sets[i]], "tvd": float(tvds[i])} for i in worst
    ]
    return out


# ---------------------------------------------------------------------------------------------
# per column


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic (the same value as ``scipy.stats.ks_2samp``)."""
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / len(a)
    cdf_b = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.abs(cdf_a - cdf_b).max())


def column_report(disc: Discretizer, real: EncodedTable, synth: EncodedTable) -> list[dict]:
    """One dict per column: shape statistic and score, missing rates, coverage, marginals."""
    rows = []
    for j, coding in enumerate(disc.columns):
        levels = coding.n_levels
        p_real = np.bincount(real.codes[:, j], minlength=levels) / len(real)
        p_syn = np.bincount(synth.codes[:, j], minlength=levels) / len(synth)
        row: dict[str, Any] = {
            "column": coding.name,
            "kind": coding.kind,
            "missing_real": float(p_real[coding.missing_code]),
            "missing_synthetic": float(p_syn[coding.missing_code]),
            "binned_tvd": 0.5 * float(np.abs(p_real - p_syn).sum()),
            "marginal": {
                "labels": coding.labels(),
                "real": p_real.tolist(),
                "synthetic": p_syn.tolist(),
            },
        }
        if coding.numeric:
            row.update(_numeric_shape(real.numbers[:, j], synth.numbers[:, j]))
        else:
            row.update(_categorical_shape(coding, p_real, p_syn))
        row["score"] = None if row["statistic"] is None else 1.0 - row["statistic"]
        rows.append(row)
    return rows


def _numeric_shape(real: np.ndarray, synth: np.ndarray) -> dict[str, Any]:
    r, s = real[~np.isnan(real)], synth[~np.isnan(synth)]
    out: dict[str, Any] = {"metric": "ks", "coverage_kind": "range"}
    if r.size == 0 or s.size == 0:
        out.update(statistic=None if r.size == s.size else 1.0, coverage=0.0, outside_real=None)
        return out
    lo, hi = r.min(), r.max()
    if hi > lo:
        overlap = min(hi, s.max()) - max(lo, s.min())
        coverage = float(np.clip(overlap / (hi - lo), 0.0, 1.0))
    else:
        coverage = float(np.any(s == lo))
    out.update(
        statistic=ks_statistic(r, s),
        coverage=coverage,
        outside_real=float(np.mean((s < lo) | (s > hi))),
    )
    return out


def _categorical_shape(coding: ColumnCoding, p_real: np.ndarray, p_syn: np.ndarray) -> dict:
    seen = p_real[: coding.real_categories] > 0
    covered = p_syn[: coding.real_categories] > 0
    return {
        "metric": "tvd",
        "statistic": 0.5 * float(np.abs(p_real - p_syn).sum()),
        "coverage_kind": "categories",
        "coverage": float(covered[seen].mean()) if seen.any() else None,
        "outside_real": float(p_syn[coding.missing_code + 1]),
    }


# ---------------------------------------------------------------------------------------------
# pairs


def pair_report(disc: Discretizer, real: EncodedTable, synth: EncodedTable) -> dict[str, Any]:
    """2-way marginal TVDs, pair-trend scores and association matrices for every pair."""
    d = len(disc.columns)
    levels = disc.n_levels
    numeric = [c.numeric for c in disc.columns]
    corr_real = _pearson(real.numbers)
    corr_syn = _pearson(synth.numbers)
    assoc_real = np.eye(d)
    assoc_syn = np.eye(d)
    pairs = []
    for a, b in itertools.combinations(range(d), 2):
        tvd = marginal_tvd(real.codes, synth.codes, (a, b), levels)
        entry: dict[str, Any] = {
            "columns": [disc.names[a], disc.names[b]],
            "tvd": tvd,
        }
        r_corr, s_corr = corr_real[a, b], corr_syn[a, b]
        if numeric[a] and numeric[b] and np.isfinite(r_corr) and np.isfinite(s_corr):
            entry.update(
                trend="correlation",
                real=float(r_corr),
                synthetic=float(s_corr),
                trend_score=1.0 - abs(r_corr - s_corr) / 2.0,
            )
            assoc_real[a, b] = assoc_real[b, a] = r_corr
            assoc_syn[a, b] = assoc_syn[b, a] = s_corr
        else:
            v_real = cramers_v(real.codes[:, a], real.codes[:, b], levels[a], levels[b])
            v_syn = cramers_v(synth.codes[:, a], synth.codes[:, b], levels[a], levels[b])
            entry.update(trend="contingency", real=v_real, synthetic=v_syn, trend_score=1 - tvd)
            assoc_real[a, b] = assoc_real[b, a] = np.nan if v_real is None else v_real
            assoc_syn[a, b] = assoc_syn[b, a] = np.nan if v_syn is None else v_syn
        pairs.append(entry)
    tvds = np.array([p["tvd"] for p in pairs]) if pairs else np.zeros(0)
    return {
        "pairs": pairs,
        "two_way_accuracy": float(1 - tvds.mean()) if pairs else None,
        "pair_trend_score": float(np.mean([p["trend_score"] for p in pairs])) if pairs else None,
        "association": {
            "columns": disc.names,
            "real": _nan_to_none(assoc_real),
            "synthetic": _nan_to_none(assoc_syn),
        },
    }


def two_way_tvds(
    disc: Discretizer, real: EncodedTable, synth: EncodedTable, columns: list[int] | None = None
) -> np.ndarray:
    """TVD of every 2-way marginal among ``columns`` (all columns by default)."""
    pool = list(range(len(disc.columns))) if columns is None else columns
    levels = disc.n_levels
    return np.array(
        [marginal_tvd(real.codes, synth.codes, p, levels) for p in itertools.combinations(pool, 2)]
    )


def _pearson(numbers: np.ndarray) -> np.ndarray:
    """Pairwise-complete Pearson correlations (NaN for categorical or constant columns)."""
    return pd.DataFrame(numbers).corr(method="pearson").to_numpy()


def cramers_v(a: np.ndarray, b: np.ndarray, la: int, lb: int) -> float | None:
    """Cramér's V of two code columns (no bias correction), None when it is undefined."""
    if la * lb > _DENSE_LIMIT:
        return None
    table = np.bincount(a * lb + b, minlength=la * lb).reshape(la, lb).astype(float)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    r, c = table.shape
    if min(r, c) < 2:
        return None
    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return math.sqrt(chi2 / n / (min(r, c) - 1))


def _nan_to_none(matrix: np.ndarray) -> list[list[float | None]]:
    return [[None if not np.isfinite(v) else float(v) for v in row] for row in matrix]


# ---------------------------------------------------------------------------------------------
# detection


def single_thread() -> Any:
    """Context in which OpenMP runs one thread.

    The models here fit in well under a second on one core, while OpenMP's busy-waiting
    threads slow down badly on a shared machine: a 100-tree HistGradientBoosting fit on 8000
    rows took 22 s with two threads on a loaded 2-core machine and 0.25 s with one.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def rank_auc(positive: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve from ranks (ties count one half); None if one class is empty."""
    from scipy.stats import rankdata

    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auc_interval(auc: float, n_pos: int, n_neg: int) -> list[float]:
    """95 % interval of an AUC from the Hanley & McNeil (1982) standard error."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (
        n_pos * n_neg
    )
    half = _Z95 * math.sqrt(max(var, 0.0))
    return [max(0.0, auc - half), min(1.0, auc + half)]


def detection(
    disc: Discretizer,
    real: EncodedTable,
    synth: EncodedTable,
    *,
    max_rows: int = DETECTION_MAX_ROWS,
    folds: int = DETECTION_FOLDS,
    seed: int = 0,
) -> dict[str, Any]:
    """Cross-validated AUC of a classifier telling real rows from synthetic ones.

    Both classes are subsampled to the same size (at most ``max_rows`` each) so an AUC of 0.5
    means "no better than chance" whatever the table sizes. The AUC is computed on pooled
    out-of-fold predictions; its 95 % interval is Hanley & McNeil's.

    Identical rows share a fold. Otherwise a synthetic row copied from a real one would be
    scored by a model that saw its real twin labelled "real", and a table of copies would get
    an AUC far *below* 0.5 instead of the 0.5 it deserves.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import GroupKFold, cross_val_predict

    rng = np.random.default_rng(seed)
    n = min(len(real), len(synth), max_rows)
    if n < folds * 2:
        return {"auc": None, "ci": None, "n_per_class": n, "note": "too few rows to cross-validate"}
    x_real, mask = disc.features(real.take(rng.choice(len(real), n, replace=False)))
    x_syn, _ = disc.features(synth.take(rng.choice(len(synth), n, replace=False)))
    x = np.vstack([x_real, x_syn])
    y = np.r_[np.zeros(n, dtype=int), np.ones(n, dtype=int)]
    model = HistGradientBoostingClassifier(
        max_iter=100, categorical_features=mask, early_stopping=False, random_state=seed
    )
    twins = pd.util.hash_pandas_object(pd.DataFrame(x), index=False).to_numpy()
    cv = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    with single_thread():
        proba = cross_val_predict(model, x, y, groups=twins, cv=cv, method="predict_proba")[:, 1]
    auc = rank_auc(y == 1, proba)
    assert auc is not None
    return {
        "auc": auc,
        "ci": auc_interval(auc, n, n),
        "n_per_class": n,
        "folds": folds,
        "model": "HistGradientBoostingClassifier(max_iter=100)",
    }


# ---------------------------------------------------------------------------------------------
# one-call conveniences on DataFrames


def _encoded(
    real: pd.DataFrame, synth: pd.DataFrame, metadata: Metadata | None, bins: int
) -> tuple[Discretizer, EncodedTable, EncodedTable]:
    md = metadata if metadata is not None else Metadata.detect(real)
    disc = Discretizer.fit(real, md, bins=bins)
    return disc, disc.encode(real), disc.encode(synth)


def k_marginal(
    real: pd.DataFrame,
    synth: pd.DataFrame,
    metadata: Metadata | None = None,
    k: int = 3,
    bins: int = DEFAULT_BINS,
    max_sets: int = K_MARGINAL_MAX_SETS,
    seed: int = 0,
) -> float:
    """``1000 * (1 - mean TVD)`` over ``k``-way marginals; 1000 means identical marginals.

    At most ``max_sets`` column sets are scored (drawn with ``seed`` when there are more).

    >>> df = pd.DataFrame({"a": [1, 2, 3, 4] * 5, "b": list("xyxy") * 5, "c": [0.5] * 20})
    >>> k_marginal(df, df)
    1000.0
    """
    disc, r, s = _encoded(real, synth, metadata, bins)
    score = k_marginal_detail(disc, r, s, k=k, max_sets=max_sets, seed=seed)["score"]
    return float(score)


def two_way_accuracy(
    real: pd.DataFrame,
    synth: pd.DataFrame,
    metadata: Metadata | None = None,
    bins: int = DEFAULT_BINS,
) -> float | None:
    """``1 - mean TVD`` over all 2-way marginals (None with fewer than two columns)."""
    disc, r, s = _encoded(real, synth, metadata, bins)
    tvds = two_way_tvds(disc, r, s)
    return float(1 - tvds.mean()) if tvds.size else None


def detection_auc(
    real: pd.DataFrame,
    synth: pd.DataFrame,
    metadata: Metadata | None = None,
    seed: int = 0,
    bins: int = DEFAULT_BINS,
) -> float | None:
    """Cross-validated real-vs-synthetic classifier AUC (see :func:`detection`)."""
    disc, r, s = _encoded(real, synth, metadata, bins)
    return detection(disc, r, s, seed=seed)["auc"]
