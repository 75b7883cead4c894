"""Fidelity, utility and subgroup scores behave as their definitions promise.

Uses the bundled medical sample when present (planted dependencies between columns make the
independent-columns shuffle visibly worse), else a small generated table with the same kind of
structure. Every random choice is seeded.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from tabsynth.errors import DataError, MetadataError, ParameterError
from tabsynth.evaluation import evaluate
from tabsynth.evaluation.fidelity import (
    Discretizer,
    choose_sets,
    column_report,
    detection,
    detection_auc,
    k_marginal,
    k_marginal_detail,
    ks_statistic,
    two_way_accuracy,
)
from tabsynth.evaluation.subgroups import subgroup_report
from tabsynth.evaluation.utility import utility_report
from tabsynth.io import read_table
from tabsynth.metadata import ColumnSpec, Metadata

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def generated_table(n: int, seed: int) -> tuple[pd.DataFrame, Metadata]:
    """Columns that depend on each other, so shuffling them apart is visible."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, n)
    sex = rng.choice(["F", "M"], n)
    old = age > 60
    diabetic = rng.random(n) < np.where(old, 0.35, 0.08)
    glucose = np.round(rng.normal(np.where(diabetic, 190, 100), 20), 1)
    glucose[rng.random(n) < 0.05] = np.nan
    stay = rng.poisson(np.where(old, 7, 3)) + 1
    kind = np.where(rng.random(n) < np.where(old, 0.7, 0.4), "Emergency", "Elective")
    readmitted = rng.random(n) < np.where(diabetic & old, 0.35, 0.08)
    frame = pd.DataFrame(
        {
            "age": age,
            "sex": sex,
            "admission_type": kind,
            "glucose": glucose,
            "diabetic": diabetic,
            "length_of_stay": stay,
            "readmitted_30d": readmitted,
        }
    )
    md = Metadata.detect(frame)
    return frame, md.with_columns(sex=dataclasses.replace(md["sex"], sensitive=True))


@pytest.fixture(scope="module")
def tables() -> tuple[pd.DataFrame, pd.DataFrame, Metadata]:
    """(train, holdout, metadata): two disjoint real samples of 3000 rows."""
    if (SAMPLES / "medical.csv").exists():
        full = read_table(SAMPLES / "medical.csv")
        md = Metadata.load(SAMPLES / "medical.metadata.json")
    else:
        full, md = generated_table(6000, seed=0)
    order = np.random.default_rng(0).permutation(len(full))
    train = full.iloc[order[:3000]].reset_index(drop=True)
    holdout = full.iloc[order[3000:6000]].reset_index(drop=True)
    return train, holdout, md


def shuffled(frame: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """Every column permuted on its own: marginals kept, all dependencies destroyed."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: frame[c].to_numpy()[rng.permutation(len(frame))] for c in frame})


def encoded(train, other, md):
    disc = Discretizer.fit(train, md)
    return disc, disc.encode(train), disc.encode(other)


# -- a perfect copy ---------------------------------------------------------------------------


def test_copy_has_zero_distance_everywhere(tables):
    train, _, md = tables
    disc, real, synth = encoded(train, train.copy(), md)
    for col in column_report(disc, real, synth):
        assert col["statistic"] == 0.0, col["column"]
        assert col["missing_real"] == col["missing_synthetic"]
    assert k_marginal(train, train.copy(), md) == 1000.0
    assert two_way_accuracy(train, train.copy(), md) == 1.0


def test_copy_is_undetectable(tables):
    train, _, md = tables
    auc = detection_auc(train, train.copy(), md, seed=0)
    assert auc is not None and abs(auc - 0.5) < 0.05


# -- dependencies and detection ---------------------------------------------------------------


def test_shuffle_scores_below_holdout(tables):
    train, holdout, md = tables
    broken = shuffled(train)
    assert k_marginal(train, broken, md) < k_marginal(train, holdout, md) - 20
    assert two_way_accuracy(train, broken, md) < two_way_accuracy(train, holdout, md) - 0.01


def test_detection_separates_a_different_table(tables):
    train, holdout, md = tables
    other = holdout.copy()
    other["age"] = np.clip(other["age"] + 25, 18, 100)
    other["sex"] = "F"
    assert detection_auc(train, other, md, seed=0) > 0.9
    auc_holdout = detection_auc(train, holdout, md, seed=0)
    assert auc_holdout < 0.6


def test_detection_reports_an_interval(tables):
    train, holdout, md = tables
    disc, real, synth = encoded(train, holdout, md)
    out = detection(disc, real, synth, seed=0, max_rows=500)
    assert out["n_per_class"] == 500
    lo, hi = out["ci"]
    assert lo <= out["auc"] <= hi and hi - lo < 0.2


# -- encoding ---------------------------------------------------------------------------------


def test_discretizer_codes_missing_and_unseen_values_apart():
    real = pd.DataFrame({"x": np.arange(100.0), "c": ["a", "b"] * 50})
    disc = Discretizer.fit(real, Metadata.detect(real), bins=4)
    table = disc.encode(pd.DataFrame({"x": [-5.0, np.nan, 500.0], "c": ["zz", None, "b"]}))
    x_coding, c_coding = disc.columns
    assert table.codes[:, 0].tolist() == [0, x_coding.missing_code, x_coding.missing_code - 1]
    assert table.codes[:, 1].tolist() == [c_coding.missing_code + 1, c_coding.missing_code, 1]


def test_category_keys_match_across_dtypes():
    real = pd.DataFrame({"code": [1, 2, 2, 3] * 10, "flag": [True, False] * 20})
    synth = pd.DataFrame({"code": [1.0, 2.0, 2.0, 3.0] * 10, "flag": ["true", "False"] * 20})
    md = Metadata({"code": ColumnSpec("categorical"), "flag": ColumnSpec("boolean")})
    disc, r, s = encoded(real, synth, md)
    assert [c["statistic"] for c in column_report(disc, r, s)] == [0.0, 0.0]


def test_ks_statistic_matches_scipy():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=300), np.round(rng.normal(0.2, 1.1, size=200), 1)
    assert ks_statistic(a, b) == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)


def test_k_marginal_samples_sets_reproducibly():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"c{i}": rng.integers(0, 3, 400).astype(str) for i in range(9)})
    other = pd.DataFrame({f"c{i}": rng.integers(0, 3, 400).astype(str) for i in range(9)})
    sets, total = choose_sets(9, 3, 20, seed=5)
    assert total == 84 and len(sets) == 20 and len(set(sets)) == 20
    first = k_marginal(frame, other, max_sets=20, seed=5)
    assert first == k_marginal(frame, other, max_sets=20, seed=5)
    disc, r, s = encoded(frame, other, Metadata.detect(frame))
    detail = k_marginal_detail(disc, r, s, max_sets=20, seed=5)
    assert detail["sampled"] and detail["ci"][0] <= detail["score"] <= detail["ci"][1]


# -- utility ----------------------------------------------------------------------------------


def test_tstr_with_a_good_copy_matches_trtr(tables):
    train, holdout, md = tables
    half = len(holdout) // 2
    test, good = holdout.iloc[:half], holdout.iloc[half:]
    disc = Discretizer.fit(train, md)
    enc = disc.encode
    out, _ = utility_report(disc, enc(train), enc(good), enc(test), "diabetic", seed=0)
    assert out["metric"] == "auc" and out["trtr"] > 0.7
    assert abs(out["tstr"] - out["trtr"]) < 0.05
    copy, _ = utility_report(disc, enc(train), enc(train), enc(test), "diabetic", seed=0)
    assert copy["tstr"] == copy["trtr"]
    broken, _ = utility_report(disc, enc(train), enc(shuffled(train)), enc(test), "diabetic")
    assert broken["tstr"] < broken["trtr"] - 0.1
    assert broken["gap_ci"][0] > 0


def test_regression_target_uses_r2(tables):
    train, holdout, md = tables
    disc = Discretizer.fit(train, md)
    out, _ = utility_report(
        disc, disc.encode(train), disc.encode(train), disc.encode(holdout), "length_of_stay"
    )
    assert out["metric"] == "r2" and out["tstr"] == out["trtr"]


def test_utility_survives_an_all_missing_synthetic_column(tables):
    """A synthesizer may emit a numeric column with no values at all (seen with a peer's DP
    output): TSTR must still be scored, the column simply carrying no information."""
    train, holdout, md = tables
    hollow = train.assign(glucose=np.nan)
    disc = Discretizer.fit(train, md)
    out, _ = utility_report(
        disc, disc.encode(train), disc.encode(hollow), disc.encode(holdout), "diabetic"
    )
    assert out["tstr"] is not None and out["tstr"] < out["trtr"]


# -- subgroups --------------------------------------------------------------------------------


def test_subgroups_carry_a_reference_and_flag_a_missing_group(tables):
    train, holdout, md = tables
    disc = Discretizer.fit(train, md)
    real, ref = disc.encode(train), disc.encode(holdout)
    good = subgroup_report(disc, ["sex", "age"], real, ref, (real, ref), seed=0)
    for column in good["columns"]:
        scored = [g for g in column["groups"] if g["n_real"] >= 100]
        assert scored
        for group in scored:
            assert group["k_marginal_reference"] is not None
            assert group["two_way_accuracy_reference"] is not None
    assert good["flagged"] == []
    biased = holdout[(holdout["sex"] != "F") | (np.arange(len(holdout)) % 10 == 0)]
    bad = subgroup_report(disc, ["sex"], real, disc.encode(biased), (real, ref), seed=0)
    flagged = {(f["column"], f["group"]): f for f in bad["flagged"]}
    assert ("sex", "F") in flagged and flagged[("sex", "F")]["severe"]
    assert "under-represented" in flagged[("sex", "F")]["reasons"][0]


# -- input checks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"synthetic": pd.DataFrame()}, DataError),
        ({"synthetic": "not a frame"}, DataError),
        ({"drop": "age"}, DataError),
        ({"target": "nope"}, ParameterError),
        ({"sensitive": ["nope"]}, ParameterError),
        ({"groups": ["nope"]}, ParameterError),
        ({"privacy": object()}, ParameterError),
        ({"metadata": Metadata.detect(pd.DataFrame({"other": [1, 2]}))}, MetadataError),
    ],
)
def test_evaluate_refuses_bad_inputs(tables, kwargs, error):
    train, holdout, md = tables
    args = {"real": train, "synthetic": holdout, "metadata": md, "progress": False}
    drop = kwargs.pop("drop", None)
    args.update(kwargs)
    if drop:
        args["synthetic"] = holdout.drop(columns=[drop])
    with pytest.raises(error):
        evaluate(**args)
