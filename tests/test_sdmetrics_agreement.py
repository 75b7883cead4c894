"""tabsynth's column-shape and pair-trend scores equal SDMetrics' on the same inputs.

Where the definitions coincide the numbers must too, so users comparing a tabsynth report with
an SDV Quality Report see the same values:

* 1 − KS (numbers, datetimes)           = ``KSComplement``
* 1 − TVD (categories without missing)  = ``TVComplement``
* 1 − |Δ Pearson| / 2 (numeric pairs)   = ``CorrelationSimilarity(coefficient="Pearson")``
* 1 − 2-way TVD (categorical pairs)     = ``ContingencySimilarity``

Tolerance: 1e-9, i.e. the same computation up to floating-point rounding. Not compared, on
purpose: categorical columns with missing values (TVComplement drops missing rows, tabsynth
counts missing as a category) and numeric-categorical pairs (SDMetrics bins numbers into 10
equal-width bins, tabsynth into 20 quantile bins of the real data).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabsynth.evaluation.fidelity import Discretizer, column_report, pair_report
from tabsynth.io import read_table
from tabsynth.metadata import Metadata

pytest.importorskip("sdmetrics", reason="sdmetrics is not installed (it comes with sdv)")
from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity
from sdmetrics.single_column import KSComplement, TVComplement

TOL = 1e-9
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


@pytest.fixture(scope="module")
def inputs() -> tuple[pd.DataFrame, pd.DataFrame, Metadata]:
    """Real sample vs a disjoint real sample with some columns shuffled (scores well below 1)."""
    if (SAMPLES / "medical.csv").exists():
        full = read_table(SAMPLES / "medical.csv")
        md = Metadata.load(SAMPLES / "medical.metadata.json")
    else:
        rng = np.random.default_rng(0)
        full = pd.DataFrame(
            {
                "age": rng.integers(18, 90, 4000),
                "glucose": np.where(rng.random(4000) < 0.05, np.nan, rng.normal(110, 30, 4000)),
                "sex": rng.choice(["F", "M"], 4000),
                "admission_type": rng.choice(["Emergency", "Elective", "Urgent"], 4000),
                "diabetic": rng.random(4000) < 0.2,
            }
        )
        full["length_of_stay"] = full["age"] // 10 + rng.integers(0, 5, 4000)
        md = Metadata.detect(full)
    order = np.random.default_rng(0).permutation(len(full))
    real = full.iloc[order[:2000]].reset_index(drop=True)
    synth = full.iloc[order[2000:3500]].reset_index(drop=True)
    rng = np.random.default_rng(1)
    for col in synth.columns[::2]:
        synth[col] = synth[col].to_numpy()[rng.permutation(len(synth))]
    for name, spec in md.columns.items():
        if spec.kind == "datetime":
            real[name] = pd.to_datetime(real[name], format=spec.format)
            synth[name] = pd.to_datetime(synth[name], format=spec.format)
    return real, synth, md


def test_column_shapes_agree(inputs):
    real, synth, md = inputs
    disc = Discretizer.fit(real, md)
    compared = 0
    for col in column_report(disc, disc.encode(real), disc.encode(synth)):
        name = col["column"]
        if col["metric"] == "ks":
            expected = KSComplement.compute(real[name], synth[name])
        elif real[name].notna().all() and synth[name].notna().all():
            expected = TVComplement.compute(real[name], synth[name])
        else:
            continue
        assert col["score"] == pytest.approx(expected, abs=TOL), name
        assert col["score"] < 1.0 or expected == 1.0
        compared += 1
    assert compared >= 4


def test_pair_trends_agree(inputs):
    real, synth, md = inputs
    disc = Discretizer.fit(real, md)
    pairs = pair_report(disc, disc.encode(real), disc.encode(synth))["pairs"]
    by_columns = {tuple(p["columns"]): p for p in pairs}
    kinds = {c.name: c.kind for c in disc.columns}
    numeric = [n for n, k in kinds.items() if k in ("numerical", "datetime")]
    discrete = [n for n, k in kinds.items() if k in ("categorical", "boolean")]
    for a, b in itertools.combinations(numeric, 2):
        pair = by_columns[(a, b)]
        expected = CorrelationSimilarity.compute(real[[a, b]], synth[[a, b]], coefficient="Pearson")
        assert pair["trend"] == "correlation"
        assert pair["trend_score"] == pytest.approx(expected, abs=TOL), (a, b)
    for a, b in itertools.combinations(discrete, 2):
        pair = by_columns[(a, b)]
        expected = ContingencySimilarity.compute(real[[a, b]], synth[[a, b]])
        assert pair["trend_score"] == pytest.approx(expected, abs=TOL), (a, b)
    assert len(numeric) >= 2 and len(discrete) >= 2
