"""A Gower-like mixed distance that fast nearest-neighbour search can use.

Gower's distance averages per-column differences: ``|x - y| / range`` for numbers, 0 or 1 for
categories. Its L1 form needs a pairwise loop; the attacks need tens of millions of distances
(a thousand targets against forty thousand synthetic rows, several times), so they use the
Euclidean version on an encoded matrix instead, which scikit-learn computes with one matrix
product per block:

* a number becomes ``(x - median) / robust range`` (the 1st-99th percentile span, so a few
  extreme values do not squash every other difference to 0); a missing number is put at the
  median and flagged in an extra 0/1 column, so missing-versus-present counts as a mismatch;
* a category becomes a one-hot vector scaled by ``1/sqrt(2)``, so two different categories
  are at squared distance exactly 1, as in Gower. Only the :data:`MAX_ONEHOT` most frequent
  categories get their own slot (the rest share one), which keeps the matrix narrow for
  columns with hundreds of codes;
* everything is divided by ``sqrt(number of columns)``: the distance is the root mean square
  of the per-column differences, so 0 means identical and about 1 means "different in every
  column", whatever the table's width.

The encoder is fitted on the *synthetic* table, the attacker's view: it uses no statistic of
the training rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.neighbors import NearestNeighbors

from tabsynth.evaluation.attacks.table import CodedTable

#: Most frequent categories of a column that get their own one-hot slot.
MAX_ONEHOT = 64
#: Distances below this are rounding error of the blocked computation: identical rows.
IDENTICAL = 1e-6
#: Searches with at most this many query-index pairs run in numpy (see :func:`nearest`).
NUMPY_CELLS = 10_000_000
#: Distance-matrix cells numpy computes at once (16 MB of float64).
BLOCK_CELLS = 2_000_000
_HALF_SQRT = 1.0 / np.sqrt(2.0)


@dataclass(frozen=True)
class DistanceEncoder:
    """Maps the chosen columns of a :class:`CodedTable` to rows of a Euclidean space."""

    columns: tuple[int, ...]
    numeric: tuple[bool, ...]
    centre: tuple[float, ...]
    scale: tuple[float, ...]
    indicator: tuple[bool, ...]
    kept: tuple[np.ndarray, ...]  # per categorical column: sorted codes with a slot of their own
    weight: float

    @classmethod
    def fit(cls, table: CodedTable, columns: Sequence[str] | None = None) -> DistanceEncoder:
        """Learn medians, robust ranges and frequent categories from ``table``."""
        names = list(table.names) if columns is None else list(columns)
        idx = tuple(table.index(n) for n in names)
        centre, scale, kept = [], [], []
        for j in idx:
            col = table.values[:, j]
            present = col[~np.isnan(col)]
            if table.numeric[j]:
                centre.append(float(np.median(present)) if present.size else 0.0)
                scale.append(_robust_range(present))
                kept.append(np.empty(0))
            else:
                codes = np.where(np.isnan(col), -1, col).astype(np.int64)
                values, counts = np.unique(codes, return_counts=True)
                top = values[np.argsort(-counts, kind="stable")[:MAX_ONEHOT]]
                centre.append(0.0)
                scale.append(1.0)
                kept.append(np.sort(top))
        return cls(
            columns=idx,
            numeric=tuple(table.numeric[j] for j in idx),
            centre=tuple(centre),
            scale=tuple(scale),
            indicator=tuple(table.numeric[j] and table.nullable[j] for j in idx),
            kept=tuple(kept),
            weight=1.0 / np.sqrt(max(len(idx), 1)),
        )

    @property
    def width(self) -> int:
        return sum(
            1 + ind if num else len(k) + 1
            for num, ind, k in zip(self.numeric, self.indicator, self.kept, strict=True)
        )

    def transform(self, table: CodedTable) -> np.ndarray:
        """Encoded rows of ``table`` (float64, ``len(table)`` x :attr:`width`)."""
        n = len(table)
        out = np.zeros((n, self.width))
        pos = 0
        rows = np.arange(n)
        for j, num, c, s, ind, kept in zip(
            self.columns,
            self.numeric,
            self.centre,
            self.scale,
            self.indicator,
            self.kept,
            strict=True,
        ):
            col = table.values[:, j]
            missing = np.isnan(col)
            if num:
                out[:, pos] = np.where(missing, 0.0, (col - c) / s)
                pos += 1
                if ind:
                    out[:, pos] = missing
                    pos += 1
                continue
            codes = np.where(missing, -1, col).astype(np.int64)
            at = np.clip(np.searchsorted(kept, codes), 0, max(len(kept) - 1, 0))
            found = kept[at] == codes if len(kept) else np.zeros(n, dtype=bool)
            slot = np.where(found, at, len(kept))
            out[rows, pos + slot] = _HALF_SQRT
            pos += len(kept) + 1
        return out * self.weight


def nearest(query: np.ndarray, index: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Distances and positions of the ``k`` nearest rows of ``index`` for each query row.

    Brute force: on one-hot-heavy matrices of a hundred columns tree indexes are slower.
    Large searches go to scikit-learn (threaded blocked matrix products, about twice as fast
    as numpy at a thousand by forty thousand rows). Up to :data:`NUMPY_CELLS` distances,
    numpy does it in blocks of query rows (``|q|^2 + |x|^2 - 2 q.x``, then a partial sort):
    there scikit-learn's fixed cost per call (tens of milliseconds, far more on a busy
    machine) dominates, as in the audit's many small searches. Matrix products leave
    identical rows about 1e-8 apart; distances below :data:`IDENTICAL` are set to 0.
    """
    k = max(1, min(k, len(index)))
    if len(query) * len(index) > NUMPY_CELLS:
        search = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(index)
        dist, idx = search.kneighbors(query)
        dist[dist < IDENTICAL] = 0.0
        return dist, idx
    index_sq = (index**2).sum(axis=1)
    block = max(1, BLOCK_CELLS // max(len(index), 1))
    dist = np.empty((len(query), k))
    idx = np.empty((len(query), k), dtype=np.int64)
    for start in range(0, len(query), block):
        q = query[start : start + block]
        sq = (q**2).sum(axis=1)[:, None] + index_sq[None, :] - 2.0 * (q @ index.T)
        part = np.argpartition(sq, k - 1, axis=1)[:, :k] if k < len(index) else None
        if part is None:
            part = np.broadcast_to(np.arange(len(index)), sq.shape)
        cand = np.take_along_axis(sq, part, axis=1)
        order = np.argsort(cand, axis=1, kind="stable")
        idx[start : start + block] = np.take_along_axis(part, order, axis=1)
        dist[start : start + block] = np.sqrt(
            np.maximum(np.take_along_axis(cand, order, axis=1), 0.0)
        )
    dist[dist < IDENTICAL] = 0.0
    return dist, idx


def _robust_range(values: np.ndarray) -> float:
    if values.size == 0:
        return 1.0
    lo, hi = np.percentile(values, [1, 99])
    if hi > lo:
        return float(hi - lo)
    spread = float(values.max() - values.min())
    return spread if spread > 0 else 1.0
