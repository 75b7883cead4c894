"""Exact copies: synthetic rows identical to a training row, against the chance rate.

The crudest leak, and the one a data-protection officer asks about first. Identity is on all
learned columns, with floats rounded to their declared precision (or 6 significant digits).
A copy is not automatically a leak: in a table of a few categorical columns many real people
share a row, so a perfect synthesizer reproduces some training rows by chance. The control is
that chance: the share of holdout rows (real, never used for training) that equal some
training row. Without a holdout, the share of training rows that equal *another* training
row stands in for it (the same question asked of the training set's own rows).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tabsynth.evaluation.attacks.table import CodedTable
from tabsynth.evaluation.stats import newcombe_difference, wilson

DESCRIPTION = (
    "Share of synthetic rows identical to some training row (all learned columns, floats "
    "rounded), next to the share of real never-seen rows identical to some training row, "
    "which is how often that happens by chance. Only the excess is a leak: it counts "
    "training records released verbatim."
)


def exact_copies(
    train: CodedTable, synthetic: CodedTable, holdout: CodedTable | None, confidence: float = 0.95
) -> dict[str, Any]:
    """Copy rate, control rate, and the excess with Newcombe's interval."""
    train_keys = train.row_keys()
    k_syn = int(np.isin(synthetic.row_keys(), train_keys).sum())
    if holdout is not None and len(holdout) > 0:
        k_ctl = int(np.isin(holdout.row_keys(), train_keys).sum())
        n_ctl, control = len(holdout), "holdout rows equal to a training row"
    else:
        _, inverse, counts = np.unique(train_keys, return_inverse=True, return_counts=True)
        k_ctl = int((counts[inverse] > 1).sum())
        n_ctl, control = len(train), "training rows equal to another training row (no holdout)"
    excess, lo, hi = newcombe_difference(k_syn, len(synthetic), k_ctl, n_ctl, confidence)
    return {
        "rate": k_syn / len(synthetic),
        "ci": list(wilson(k_syn, len(synthetic), confidence)),
        "control_rate": k_ctl / n_ctl,
        "control": control,
        "excess": excess,
        "excess_ci": [lo, hi],
        "synthetic_rows": len(synthetic),
        "control_rows": n_ctl,
        "description": DESCRIPTION,
    }
