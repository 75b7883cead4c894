"""Score a sampled table with tabsynth's report, in the harness process, the same way for all.

Scoring happens here and not in the run's process so that every method, tabsynth or peer, is
measured by one code path on one metadata (the data card's kinds), and so that the run's time
and memory are the synthesizer's alone.

The "real holdout" reference row scores real rows the synthesizers never saw as if they were a
synthetic table: half of the holdout plays "synthetic", the other half stays the holdout (the
membership attack needs non-members that are not the table under test). It shows what a fresh
real sample of that size reaches on each metric. Each run's report also carries its own
reference (``*_ref`` columns): the holdout subsampled to the synthetic table's size.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.harness.datasets import Dataset

#: Report summary keys copied into the results, with the column names they get there.
SUMMARY = {
    "k_marginal": "k_marginal",
    "k_marginal_holdout": "k_marginal_ref",
    "two_way_accuracy": "two_way_accuracy",
    "two_way_accuracy_holdout": "two_way_accuracy_ref",
    "detection_auc": "detection_auc",
    "tstr_auc": "tstr_auc",
    "trtr_auc": "trtr_auc",
    "mia_advantage": "mia_advantage",
    "privacy_risk": "privacy_risk",
}
EVAL_SEED = 0
BOOLEAN_TEXT = {"True": True, "False": False, "true": True, "false": False, "1": True, "0": False}


def score(dataset: Dataset, synthetic: pd.DataFrame, holdout: pd.DataFrame | None = None) -> dict:
    """The report's numbers for ``synthetic`` (columns of :data:`SUMMARY`, plus ``eval_s``)."""
    from tabsynth.evaluation import evaluate

    started = time.perf_counter()
    report = evaluate(
        dataset.train,
        conform(synthetic, dataset.train),
        holdout=dataset.holdout if holdout is None else holdout,
        metadata=dataset.metadata,
        target=dataset.target,
        seed=EVAL_SEED,
        progress=False,
    )
    data = json.loads(report.to_json())
    summary = data["summary"]
    row: dict[str, Any] = {name: summary.get(key) for key, name in SUMMARY.items()}
    # the synthetic table subsampled to the reference's size: the like-for-like comparison
    row["k_marginal_matched"] = data["fidelity"]["k_marginal"].get("score_matched")
    row["two_way_tvd"] = None if row["two_way_accuracy"] is None else 1 - row["two_way_accuracy"]
    row["eval_s"] = time.perf_counter() - started
    return row


def score_reference(dataset: Dataset) -> dict:
    """The "real holdout" row (module docstring)."""
    order = np.random.default_rng(EVAL_SEED).permutation(len(dataset.holdout))
    half = len(order) // 2
    as_synthetic = dataset.holdout.iloc[np.sort(order[:half])].reset_index(drop=True)
    rest = dataset.holdout.iloc[np.sort(order[half:])].reset_index(drop=True)
    return score(dataset, as_synthetic, holdout=rest)


def conform(synthetic: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """``synthetic`` with the columns, order and value types of ``like``.

    Peers return their own dtypes (pyarrow strings, floats for integer columns, numbers for
    numeric-looking categories); the report compares values, so numbers become numbers and
    everything else text, with missing values kept missing. A missing column is an error: the
    method did not produce the table it was asked for.
    """
    missing = [c for c in like.columns if c not in synthetic.columns]
    if missing:
        raise ValueError(f"the synthetic table lacks columns {missing}")
    out = {}
    for name in like.columns:
        values, kind = synthetic[name], like[name].dtype
        if values.dtype == kind:
            out[name] = values
        elif pd.api.types.is_bool_dtype(kind):
            out[name] = values.map(_as_text).map(BOOLEAN_TEXT).astype("boolean")
        elif pd.api.types.is_numeric_dtype(kind):
            out[name] = pd.to_numeric(values, errors="coerce").astype(float)
        else:
            text = values.astype(object).map(_as_text)
            out[name] = text.where(values.notna(), np.nan)
    return pd.DataFrame(out)


def _as_text(value: Any) -> Any:
    """``1.0`` -> ``"1"``: a category read back as a float keeps its written form."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
