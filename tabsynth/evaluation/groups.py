"""Groups beyond one column: intersections of two attributes, and fairness of the models.

:mod:`tabsynth.evaluation.subgroups` scores fidelity and utility inside the groups of each
group column. Harms concentrate where attributes meet (Black women, old men of one region), so
this module adds:

* :class:`IntersectionGrouping` - the groups of a pair of group columns (each pair of the
  sensitive columns by default, at most :data:`MAX_INTERSECTIONS` pairs), scored exactly like
  the groups of one column;
* :func:`classifier_rates` - accuracy, true-positive and false-positive rates of the
  train-on-synthetic (TSTR) and train-on-real (TRTR) models inside a group, for a binary
  target (the utility section's positive class, the minority class of the real rows);
* :func:`equalized_odds` - the equalized-odds difference over a column's groups,
  ``max(max TPR - min TPR, max FPR - min FPR)``, for both models. TRTR is the reference: a
  model trained on real data shows the disparity the data itself has, and a TSTR difference
  well above it is unfairness the synthetic table added.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from tabsynth.evaluation.fidelity import EncodedTable
from tabsynth.evaluation.utility import UtilityPredictions

#: Pairs of group columns whose intersections are scored, at most.
MAX_INTERSECTIONS = 3
#: Test rows of each class a group needs before its TPR / FPR count towards the
#: equalized-odds difference (rates of a handful of rows are noise).
MIN_CLASS_ROWS = 20
#: A column is flagged when TSTR's equalized-odds difference exceeds TRTR's by more than this.
FLAG_EQUALIZED_ODDS = 0.10
#: Standard errors an excess must also exceed to be flagged (rates of small groups are noisy).
Z = 3.0
#: Separator of the two values in an intersection group's label.
JOIN = " × "


class GroupingLike(Protocol):
    """What the subgroup scoring needs of a grouping (one column or an intersection)."""

    column: str
    labels: tuple[str, ...]

    @property
    def indices(self) -> tuple[int, ...]: ...

    def assign(self, table: EncodedTable) -> np.ndarray: ...


@dataclass(frozen=True)
class IntersectionGrouping:
    """The groups of two group columns: every pair of their groups."""

    first: Any
    second: Any

    @property
    def column(self) -> str:
        return f"{self.first.column}{JOIN}{self.second.column}"

    @property
    def indices(self) -> tuple[int, ...]:
        return (*self.first.indices, *self.second.indices)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(
            f"{a}{JOIN}{b}" for a, b in itertools.product(self.first.labels, self.second.labels)
        )

    def assign(self, table: EncodedTable) -> np.ndarray:
        return self.first.assign(table) * len(self.second.labels) + self.second.assign(table)


def intersection_pairs(columns: Sequence[str]) -> list[tuple[str, str]]:
    """The first :data:`MAX_INTERSECTIONS` pairs of ``columns``, in their order."""
    return list(itertools.combinations(columns, 2))[:MAX_INTERSECTIONS]


def classifier_rates(predictions: UtilityPredictions, rows: np.ndarray) -> dict[str, Any]:
    """Accuracy (any classification target) and TPR / FPR (binary: the positive class is the
    utility section's, the minority class of the real training rows) of both models on the
    test rows at positions ``rows``; empty for a regression target. A model's prediction is
    its most probable class."""
    if predictions.task == "regression" or len(rows) == 0:
        return {}
    y = predictions.y[rows]
    out: dict[str, Any] = {}
    binary = predictions.task == "binary"
    positive = predictions.classes[0] if binary else None
    for name, probs in (("tstr", predictions.tstr), ("trtr", predictions.trtr)):
        guess = np.argmax(probs[rows], axis=1)
        out[f"accuracy_{name}"] = float((guess == y).mean())
        if binary:
            pos, neg = y == positive, y != positive
            out[f"tpr_{name}"] = float((guess[pos] == positive).mean()) if pos.any() else None
            out[f"fpr_{name}"] = float((guess[neg] == positive).mean()) if neg.any() else None
    if binary:
        out["n_positive"] = int((y == positive).sum())
        out["n_negative"] = int((y != positive).sum())
    return out


def equalized_odds(groups: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Equalized-odds difference of TSTR and TRTR over the groups with at least
    :data:`MIN_CLASS_ROWS` test rows of each class; ``None`` when fewer than two qualify.

    ``flagged`` when TSTR's difference exceeds TRTR's by more than
    :data:`FLAG_EQUALIZED_ODDS` *and* by more than :data:`Z` standard errors: rates of small
    groups are noisy, and the standard error sums the binomial variances of the four rates
    that define the two differences (a conservative bound: the models are scored on the same
    rows).
    """
    usable = [
        g
        for g in groups
        if g.get("n_positive", 0) >= MIN_CLASS_ROWS and g.get("n_negative", 0) >= MIN_CLASS_ROWS
    ]
    if len(usable) < 2:
        return None
    out: dict[str, Any] = {"groups": [g["group"] for g in usable]}
    variance = 0.0
    for name in ("tstr", "trtr"):
        spans = []
        for rate, size in (("tpr", "n_positive"), ("fpr", "n_negative")):
            values = [g[f"{rate}_{name}"] for g in usable]
            hi, lo = usable[int(np.argmax(values))], usable[int(np.argmin(values))]
            spread = max(values) - min(values)
            var = sum(g[f"{rate}_{name}"] * (1 - g[f"{rate}_{name}"]) / g[size] for g in (hi, lo))
            spans.append((spread, var))
        spread, var = max(spans)
        out[name] = float(spread)
        variance += var
    out["excess"] = out["tstr"] - out["trtr"]
    out["standard_error"] = float(np.sqrt(variance))
    out["flagged"] = bool(out["excess"] > max(FLAG_EQUALIZED_ODDS, Z * out["standard_error"]))
    return out
