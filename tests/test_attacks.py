"""Privacy attacks and the verdict of assess_privacy, on tables with known leakage."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from tabsynth import datasets
from tabsynth.errors import DataError, ParameterError
from tabsynth.evaluation.attacks.result import AttackResult
from tabsynth.evaluation.privacy import RISK_THRESHOLDS, assess_privacy, risk_level
from tabsynth.metadata import Metadata

REQUIRED_KEYS = {
    "mia_advantage",
    "privacy_risk",
    "risk_thresholds",
    "attacks",
    "exact_copy_rate",
    "diagnostics",
    "notes",
}


@pytest.fixture(scope="module")
def medical() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Metadata]:
    """Disjoint training, holdout and 'other real rows' parts of the bundled medical sample."""
    frame = datasets.load_sample("medical")
    metadata = datasets.load_sample_metadata("medical")
    order = np.random.default_rng(0).permutation(len(frame))
    train = frame.iloc[order[:2000]].reset_index(drop=True)
    holdout = frame.iloc[order[2000:3500]].reset_index(drop=True)
    other = frame.iloc[order[3500:5500]].reset_index(drop=True)
    return train, holdout, other, metadata


@pytest.fixture(scope="module")
def copies_result(medical) -> dict:
    train, holdout, _, metadata = medical
    return assess_privacy(train, train, holdout, metadata)


@pytest.fixture(scope="module")
def fresh_result(medical) -> dict:
    train, holdout, other, metadata = medical
    return assess_privacy(train, other, holdout, metadata)


def test_result_schema_is_json(copies_result: dict) -> None:
    assert set(copies_result) >= REQUIRED_KEYS
    json.dumps(copies_result)
    for attack in copies_result["attacks"].values():
        assert {"advantage", "ci", "description"} <= set(attack)
        assert len(attack["ci"]) == 2 and attack["ci"][0] <= attack["advantage"] <= attack["ci"][1]
        assert len(attack["description"]) > 80
        if "roc" in attack:
            assert len(attack["roc"]["fpr"]) == len(attack["roc"]["tpr"]) <= 200
    assert {"dcr", "nndr", "caveat"} <= set(copies_result["diagnostics"])
    assert "not privacy evidence" in copies_result["diagnostics"]["caveat"]
    thresholds = copies_result["risk_thresholds"]
    assert thresholds["attack_high"] == RISK_THRESHOLDS["attack_high"] and "rule" in thresholds


def test_copied_training_rows_are_high_risk(copies_result: dict) -> None:
    assert copies_result["privacy_risk"] == "high"
    assert copies_result["mia_advantage"] > 0.9
    assert copies_result["exact_copy_rate"] == pytest.approx(1.0)
    assert copies_result["exact_copy"]["control_rate"] < 0.01
    attacks = copies_result["attacks"]
    # the anonymeter-style attacks must survive exact copies (anonymeter's issue #32)
    for name in ("singling_out_univariate", "singling_out_multivariate", "linkability"):
        assert attacks[name]["ci"][0] > RISK_THRESHOLDS["attack_high"], name
    assert attacks["attribute_inference:sex"]["advantage"] > 0.9
    assert copies_result["diagnostics"]["dcr"]["synthetic_to_train"]["share_zero"] == 1.0


def test_fresh_real_rows_as_synthetic_are_low_risk(fresh_result: dict) -> None:
    assert fresh_result["privacy_risk"] == "low"
    assert abs(fresh_result["mia_advantage"]) < 0.1
    for name, attack in fresh_result["attacks"].items():
        assert attack["ci"][0] < RISK_THRESHOLDS["attack_medium"], name
        assert abs(attack["advantage"]) < 0.15, name
    for name in ("membership_distance", "membership_density_ratio"):
        lo, hi = fresh_result["attacks"][name]["ci"]
        assert lo <= 0 <= hi, name
    assert fresh_result["exact_copy_rate"] < 0.01


def test_noisy_copies_are_caught_by_membership_inference(medical) -> None:
    train, holdout, _, metadata = medical
    rng = np.random.default_rng(1)
    noisy = train.copy()
    noisy["age"] = np.clip(noisy["age"] + rng.integers(-1, 2, len(noisy)), 18, 100)
    noisy["systolic_bp"] = noisy["systolic_bp"] + rng.integers(-3, 4, len(noisy))
    noisy["glucose"] = (noisy["glucose"] * rng.uniform(0.97, 1.03, len(noisy))).round(1)
    noisy["admission_date"] = noisy["admission_date"] + pd.to_timedelta(
        rng.integers(-3, 4, len(noisy)), "D"
    )
    out = assess_privacy(train, noisy, holdout, metadata)
    assert out["exact_copy_rate"] < 0.05  # the noise hides exact copies...
    assert out["mia_advantage"] > 0.5  # ...not membership
    assert out["attacks"]["membership_distance"]["ci"][0] > RISK_THRESHOLDS["attack_high"]
    assert out["privacy_risk"] == "high"


def _people(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Quasi-identifiers and a secret drawn independently of them."""
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "zip": rng.choice([f"Z{i:02d}" for i in range(40)], n),
            "sex": rng.choice(["F", "M"], n),
            "diagnosis": rng.choice([f"D{i}" for i in range(8)], n),
        }
    )


def test_attribute_inference_detects_a_planted_leak() -> None:
    rng = np.random.default_rng(2)
    train, holdout, fresh = _people(1500, rng), _people(1500, rng), _people(1500, rng)
    metadata = Metadata.detect(train)
    metadata = metadata.with_columns(
        diagnosis=dataclasses.replace(metadata["diagnosis"], sensitive=True)
    )
    # 40% of the training people leak: their secret, copied with their quasi-identifiers
    planted = rng.choice(len(train), 600, replace=False)
    leaky = pd.concat([train.iloc[planted], fresh.iloc[600:]], ignore_index=True)

    attacks = assess_privacy(train, leaky, holdout, metadata)["attacks"]
    leak = attacks["attribute_inference:diagnosis"]
    assert leak["ci"][0] > 0.2
    assert leak["details"]["train_success_rate"] > leak["details"]["control_success_rate"] + 0.2

    clean = assess_privacy(train, fresh, holdout, metadata)["attacks"]
    inference = clean["attribute_inference:diagnosis"]
    assert inference["ci"][0] <= 0 <= inference["ci"][1]


def test_explicit_sensitive_columns_and_their_validation(medical) -> None:
    train, holdout, other, metadata = medical
    small = [f.iloc[:300] for f in (train, holdout, other)]
    out = assess_privacy(small[0], small[2], small[1], metadata, sensitive=["diabetic"])
    assert set(k for k in out["attacks"] if k.startswith("attribute")) == {
        "attribute_inference:diabetic"
    }
    with pytest.raises(ParameterError, match="not learned columns"):
        assess_privacy(small[0], small[2], small[1], metadata, sensitive=["patient_id"])
    with pytest.raises(ParameterError, match="list"):
        assess_privacy(small[0], small[2], small[1], metadata, sensitive="sex")  # type: ignore[arg-type]


def test_mixed_kinds_and_foreign_dtypes(mixed_frame: pd.DataFrame) -> None:
    """Missing values, datetimes, booleans, categoricals; the synthetic copy comes back with
    other dtypes (floats for ints, text for booleans and dates) and is still a copy."""
    metadata = Metadata.detect(mixed_frame)
    train, holdout = mixed_frame.iloc[:250], mixed_frame.iloc[250:]
    copy = train.copy()
    copy["age"] = copy["age"].astype(float)
    copy["smoker"] = copy["smoker"].map({True: "True", False: "False"})
    copy["visit"] = copy["visit"].dt.strftime("%Y-%m-%d")
    copy["patient"] = [f"X{i}" for i in range(len(copy))]  # ids are generated, never compared
    out = assess_privacy(train, copy, holdout, metadata, sensitive=["smoker"])
    assert out["exact_copy_rate"] == pytest.approx(1.0)
    assert out["privacy_risk"] == "high"
    json.dumps(out)


def test_without_holdout_only_copies_are_checked(medical) -> None:
    train, _, other, metadata = medical
    out = assess_privacy(train.iloc[:500], other.iloc[:500], None, metadata)
    assert out["mia_advantage"] is None and out["attacks"] == {}
    assert out["privacy_risk"] == "medium"  # "low" needs the attacks
    assert any("holdout" in n for n in out["notes"])
    copied = assess_privacy(train.iloc[:500], train.iloc[:500], None, metadata)
    assert copied["privacy_risk"] == "high"


def test_bad_inputs_say_what_to_fix(medical) -> None:
    train, holdout, other, metadata = medical
    with pytest.raises(DataError, match="synthetic table lacks"):
        assess_privacy(train, other.drop(columns=["age"]), holdout, metadata)
    with pytest.raises(DataError, match="holdout table"):
        assess_privacy(train, other, holdout.iloc[:0], metadata)
    with pytest.raises(ParameterError, match="Metadata"):
        assess_privacy(train, other, holdout, metadata.to_dict())  # type: ignore[arg-type]


def _attack(advantage: float, lo: float, hi: float) -> AttackResult:
    return AttackResult(advantage, (lo, hi), "test")


def test_risk_level_thresholds() -> None:
    no_copies = {"excess_ci": [-0.001, 0.001], "rate": 0.0, "control_rate": 0.0}
    copies = {"excess_ci": [0.02, 0.05], "rate": 0.03, "control_rate": 0.0}
    assert risk_level({"a": _attack(0.0, -0.04, 0.04)}, no_copies, True)[0] == "low"
    assert risk_level({"a": _attack(0.1, 0.06, 0.14)}, no_copies, True)[0] == "medium"
    assert risk_level({"a": _attack(0.3, 0.25, 0.35)}, no_copies, True)[0] == "high"
    assert risk_level({"a": _attack(0.0, -0.04, 0.04)}, copies, True)[0] == "high"
    assert risk_level({}, no_copies, False)[0] == "medium"
    level, notes = risk_level({"a": _attack(0.1, -0.1, 0.3)}, no_copies, True)
    assert level == "low" and any("Inconclusive" in n for n in notes)


@pytest.mark.parametrize(
    ("kind", "values", "same"),
    [
        # a category written as an int, a float from a column with a gap, and text
        ("categorical", [2, 2.0, "2", np.float32(2.0), np.int64(2)], True),
        ("categorical", [2, 2.5], False),
        ("categorical", ["True", True], True),  # the label the metadata matches: str(True)
        ("categorical", ["true", True], False),  # a category's spelling is kept
        ("boolean", [True, np.True_, "true", "1", 1, 1.0, "True"], True),
        ("boolean", [False, "0", 0.0, "FALSE"], True),
        ("boolean", [True, False], False),
    ],
)
def test_attacks_code_values_as_the_metadata_labels_them(kind, values, same) -> None:
    """The attacker's coding (attacks.table) reads a cell as the metadata's label_key does, so
    one value written by a decoder in another dtype is one code."""
    from tabsynth.evaluation.attacks.table import code_tables
    from tabsynth.metadata import ColumnSpec

    metadata = Metadata({"c": ColumnSpec(kind)}, public=True)
    frames = [pd.DataFrame({"c": pd.Series([v], dtype=object)}) for v in values]
    codes = [t.values[0, 0] for t in code_tables(metadata, ["c"], frames)]
    assert (len(set(codes)) == 1) is same, codes
