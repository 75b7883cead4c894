"""Rules hold in every synthetic row, for every synthesizer family, DP or not.

One small table obeys one rule of each kind; every synthesizer is fitted on it with the rules
declared and must return rows that all satisfy them, with derived columns exactly computed.
Fits are tiny (few iterations, few epochs): enforcement is exact whatever the model's quality,
and poor models are the harder case for it (more rows to redraw).
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from tabsynth.errors import PrivacyError, RulesError
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.rules import Combinations, Compare, Condition, Conditional, Dependency, Identity
from tabsynth.rules.check import all_satisfied, check
from tabsynth.rules.enforce import Enforcer
from tabsynth.synthesizers import (
    AIMSynthesizer,
    AutoregressiveSynthesizer,
    GaussianCopulaSynthesizer,
    MSTSynthesizer,
    load,
)

from neighbours import differences, fingerprint, fit_and_watch

ROWS = 1500
LEVELS = {1: "low", 2: "mid", 3: "high"}
COLUMNS = {
    "pid": ColumnSpec("id"),
    "age": ColumnSpec("numerical", dtype="int", lower=0, upper=90, nullable=False),
    "marital": ColumnSpec("categorical", categories=("single", "married")),
    "relationship": ColumnSpec("categorical", categories=("Husband", "Wife", "Other")),
    "sex": ColumnSpec("categorical", categories=("Male", "Female"), nullable=False),
    "code": ColumnSpec("numerical", dtype="int", lower=1, upper=3, nullable=False),
    "level": ColumnSpec("categorical", categories=("low", "mid", "high"), nullable=False),
    "a": ColumnSpec("numerical", dtype="float", lower=0, upper=50, precision=2, nullable=False),
    "b": ColumnSpec("numerical", dtype="float", lower=0, upper=50, precision=2, nullable=False),
    "total": ColumnSpec("numerical", dtype="float", lower=0, upper=100, precision=2),
    "admitted": ColumnSpec(
        "datetime", lower="2020-01-01", upper="2020-12-31", format="%Y-%m-%d", nullable=False
    ),
    "discharged": ColumnSpec(
        "datetime", lower="2020-01-01", upper="2021-03-31", format="%Y-%m-%d", nullable=False
    ),
}
RULES = (
    Compare("discharged", ">=", right="admitted", name="discharge after admission"),
    Compare("age", ">=", value=1),
    Conditional((Condition("age", "<", 15),), (Condition("marital", "missing"),)),
    Conditional((Condition("relationship", "==", "Husband"),), (Condition("sex", "==", "Male"),)),
    Combinations(("relationship", "sex"), forbidden=[("Wife", "Male")]),
    Dependency("code", "level", mapping=list(LEVELS.items())),
    Identity("total", plus=("a", "b")),
)


#: The rules with the dependency's mapping left to a non-private fit to learn.
LEARNED = tuple(Dependency("code", "level") if isinstance(r, Dependency) else r for r in RULES)


def make_table(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(1, 91, rows)
    relationship = rng.choice(["Husband", "Wife", "Other"], rows, p=[0.35, 0.3, 0.35])
    sex = np.where(
        relationship == "Husband",
        "Male",
        np.where(relationship == "Wife", "Female", rng.choice(["Male", "Female"], rows)),
    )
    marital = np.where(age < 15, None, rng.choice(["single", "married"], rows)).astype(object)
    code = rng.integers(1, 4, rows)
    a, b = rng.uniform(0, 50, rows).round(2), rng.uniform(0, 50, rows).round(2)
    admitted = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 366, rows), "D")
    stay = pd.to_timedelta(rng.integers(0, 60, rows), "D")
    return pd.DataFrame(
        {
            "pid": [f"p{i}" for i in range(rows)],
            "age": age,
            "marital": marital,
            "relationship": relationship.astype(object),
            "sex": sex.astype(object),
            "code": code,
            "level": [LEVELS[c] for c in code],
            "a": a,
            "b": b,
            "total": (a + b).round(2),
            "admitted": admitted.strftime("%Y-%m-%d"),
            "discharged": (admitted + stay).strftime("%Y-%m-%d"),
        }
    )


def metadata(rules=RULES) -> Metadata:
    return Metadata(COLUMNS, public=True, rules=tuple(rules))


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    data = make_table()
    assert all_satisfied(data, metadata(), RULES).all()
    return data


SYNTHESIZERS = {
    "mst": lambda: MSTSynthesizer(1.0, noise_seed=1, max_iters=100, binning="auto"),
    "aim": lambda: AIMSynthesizer(
        1.0, noise_seed=1, max_rounds=4, round_iters=20, max_iters=50, binning="auto"
    ),
    "autoregressive": lambda: AutoregressiveSynthesizer(
        seed=0, epochs=1, width=8, batch_size=256, validation=0.0, progress=False
    ),
    "dp-sgd": lambda: AutoregressiveSynthesizer(
        epsilon=2.0, noise_seed=1, seed=0, epochs=1, width=8, batch_size=256, progress=False
    ),
    "gaussian copula": lambda: GaussianCopulaSynthesizer(seed=0),
}


@pytest.fixture(scope="module")
def fitted(table) -> dict:
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, make in SYNTHESIZERS.items():
            out[name] = make().fit(table, metadata(LEARNED if name == "autoregressive" else RULES))
    return out


@pytest.mark.parametrize("name", list(SYNTHESIZERS))
def test_every_row_satisfies_every_rule(fitted, name) -> None:
    synth = fitted[name]
    out = synth.sample(2000, seed=3)
    assert list(out.columns) == list(COLUMNS)
    results = check(out, metadata())
    assert [r.share for r in results] == [1.0] * len(RULES), [
        (r.rule.label, r.share) for r in results if r.share < 1
    ]
    # derived columns take their computed value exactly, not a draw inside a bin
    assert (out["level"] == out["code"].map(LEVELS)).all()
    np.testing.assert_allclose(out["total"], (out["a"] + out["b"]).round(2), atol=1e-9)
    assert str(out["code"].dtype) == "int64" and str(out["total"].dtype) == "float64"


@pytest.mark.parametrize("name", ["mst", "dp-sgd"])
def test_dp_models_spend_nothing_on_derived_columns(fitted, name) -> None:
    synth = fitted[name]
    assert "level" not in synth.encoder_.columns and "total" not in synth.encoder_.columns
    assert not any("level" in e.purpose or "total" in e.purpose for e in synth.privacy.entries)
    assert any(p.startswith("rules (declared") for p in synth.privacy.public)


def test_same_seed_same_rows_and_rules_survive_save_and_load(fitted, tmp_path) -> None:
    synth = fitted["mst"]
    path = tmp_path / "model.tsyn"
    synth.save(path)
    again = load(path)
    pd.testing.assert_frame_equal(synth.sample(500, seed=9), again.sample(500, seed=9))
    assert again.metadata_.rules == metadata().rules


def test_conditional_sampling_keeps_working_under_rules(fitted) -> None:
    synth = fitted["autoregressive"]
    given = synth.sample(300, seed=1, conditions={"relationship": "Husband"})
    assert (given["relationship"] == "Husband").all() and (given["sex"] == "Male").all()
    partial = pd.DataFrame({"age": [5.0, np.nan, 70.0] * 40, "relationship": "Wife"})
    out = synth.sample(120, seed=2, conditions=partial)
    assert (out["age"].to_numpy()[::3] == 5).all() and (out["age"].to_numpy()[2::3] == 70).all()
    assert out["marital"].iloc[::3].isna().all()  # given age 5: marital must be missing
    assert all_satisfied(out, metadata(), RULES).all()


def test_conditions_on_a_derived_column_are_kept(fitted) -> None:
    """Conditioning on the dependent of a dependency keeps the given value: rows whose drawn
    determinant disagrees are redrawn, never overwritten."""
    out = fitted["autoregressive"].sample(200, seed=4, conditions={"level": "mid"})
    assert (out["level"] == "mid").all() and (out["code"] == 2).all()


def test_conditions_that_contradict_a_rule_fail_with_the_rule_named(fitted) -> None:
    synth = fitted["autoregressive"]
    with pytest.raises(RulesError, match="Husband"):
        synth.sample(5, seed=0, conditions={"relationship": "Husband", "sex": "Female"})


def test_a_non_private_fit_learns_an_undeclared_mapping(fitted) -> None:
    (learned,) = [r for r in fitted["autoregressive"].metadata_.rules if r.kind == "dependency"]
    assert dict(learned.mapping) == LEVELS  # and the sampled rows follow it (test above)


def test_a_dp_fit_refuses_an_undeclared_mapping(table) -> None:
    with pytest.raises(PrivacyError, match="declare the rule's 'mapping'"):
        MSTSynthesizer(1.0, max_iters=10).fit(table, metadata((Dependency("code", "level"),)))


def test_a_numeric_value_tied_to_a_category_takes_the_declared_value() -> None:
    """The issue's 0.1 % case: a number that takes one value per category was drawn
    uniformly inside a bin; derived, it is exact."""
    rng = np.random.default_rng(0)
    grade = rng.choice(["A", "B", "C"], 2000)
    rate = {"A": 5.32, "B": 9.99, "C": 14.47}
    data = pd.DataFrame({"grade": grade, "rate": [rate[g] for g in grade]})
    md = Metadata(
        {
            "grade": ColumnSpec("categorical", categories=("A", "B", "C"), nullable=False),
            "rate": ColumnSpec("numerical", dtype="float", lower=0, upper=30, nullable=False),
        },
        public=True,
        rules=(Dependency("grade", "rate", mapping=list(rate.items())),),
    )
    synth = MSTSynthesizer(1.0, noise_seed=0, max_iters=50).fit(data, md)
    out = synth.sample(1000, seed=0)
    assert (out["rate"] == out["grade"].map(rate)).all()


def model_of_x(rows: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """A sampler whose rows have x uniform on 0..9."""
    return pd.DataFrame({"x": rng.integers(0, 10, len(rows)).astype(float)})


X_ONLY = {"x": ColumnSpec("numerical", dtype="int", lower=0, upper=2000, nullable=False)}


def test_rare_rows_are_found_by_redrawing_and_impossible_ones_stop_with_an_error() -> None:
    rng = np.random.default_rng(0)
    rare = Enforcer(Metadata(X_ONLY, rules=(Compare("x", "==", value=7),)))
    out = rare.enforce(model_of_x(np.arange(5000), rng), model_of_x, rng)
    assert (out["x"] == 7).all() and len(out) == 5000
    never = Enforcer(Metadata(X_ONLY, rules=(Compare("x", ">", value=1999, name="impossible"),)))
    with pytest.raises(RulesError, match="'impossible'"):
        never.enforce(model_of_x(np.arange(100), rng), model_of_x, rng)


def test_redrawn_rows_are_draws_from_the_model_given_the_rules() -> None:
    """Rejection keeps the model's conditional law: x uniform on 0..9 given x >= 5 is
    uniform on 5..9. 20 000 rows: each share's standard error is 0.003; 5 sigma allowed."""
    rng = np.random.default_rng(1)
    enforcer = Enforcer(Metadata(X_ONLY, rules=(Compare("x", ">=", value=5),)))
    by_rows = enforcer.enforce(model_of_x(np.arange(20_000), rng), model_of_x, rng)
    iid = enforcer.enforce_iid(lambda k, r: model_of_x(np.arange(k), r), 20_000, rng)
    for out in (by_rows, iid):
        assert len(out) == 20_000
        shares = out["x"].value_counts(normalize=True).sort_index()
        assert list(shares.index) == [5, 6, 7, 8, 9]
        assert np.abs(shares.to_numpy() - 0.2).max() < 5 * 0.003


@pytest.mark.parametrize("extra", ["missing value", "breaks a rule", "new category"])
def test_neighbours_of_a_dp_fit_with_rules_expose_the_same(table, tmp_path, extra) -> None:
    """Rules are public: a DP fit with rules on D and on D plus one row (here also a row that
    breaks the rules) exposes the same schema, ledger structure, model file and messages."""
    row = table.iloc[[7]].copy()
    if extra == "missing value":
        row["marital"] = None
    elif extra == "breaks a rule":
        row[["relationship", "sex", "level"]] = ["Husband", "Female", "high"]
    else:
        row["relationship"] = "X"
    bigger = pd.concat([table, row], ignore_index=True)
    make = lambda: MSTSynthesizer(2.0, seed=0, noise_seed=3, max_iters=50, on_out_of_bounds="clip")  # noqa: E731
    kinds_and_rules = Metadata(
        metadata().schema_only().columns, public=True, rules=metadata().rules
    )
    for md in (metadata(), kinds_and_rules):
        left, shown_left = fit_and_watch(make, table, md)
        right, shown_right = fit_and_watch(make, bigger, md)
        found = differences(
            fingerprint(left, shown_left, tmp_path), fingerprint(right, shown_right, tmp_path)
        )
        assert not found, "\n".join(found)


def test_rules_of_metadata_not_declared_public_are_not_applied_under_dp(table) -> None:
    """Rules carry values (mappings, combinations, constants) that may have been read off the
    rows, like bounds: a DP fit uses them only from public metadata, and says so."""
    private = dataclasses.replace(metadata(), public=False)
    with pytest.warns(UserWarning, match="rules are not applied"):
        synth = MSTSynthesizer(2.0, seed=0, max_iters=20, on_out_of_bounds="clip").fit(
            table, private
        )
    assert not synth.metadata_.rules
    assert not any("rules" in what for what in synth.privacy.public)


#: The hard rules of the bundled samples' data cards that the rule kinds express (the
#: weekday of elective admissions and loan amounts in steps of 25 are not among them).
SAMPLE_RULES = {
    "medical": (
        Conditional(
            (Condition("diagnosis_group", "==", "Pregnancy"),),
            (Condition("sex", "==", "F"), Condition("age", ">=", 18), Condition("age", "<=", 44)),
        ),
        Conditional((Condition("hba1c", ">=", 6.5),), (Condition("diabetic", "==", True),)),
    ),
    "financial": (
        Conditional(
            (Condition("term_months", "==", 60),), (Condition("loan_amount", ">=", 10000),)
        ),
    ),
}


@pytest.mark.parametrize("sample", list(SAMPLE_RULES))
def test_rules_of_the_bundled_samples_hold_in_every_row(sample) -> None:
    """The samples obey their data cards' rules; MST (DP) and GaussianCopula fitted with
    them declared keep them in every row (the other families share the enforcement above)."""
    from tabsynth.datasets import load_sample, load_sample_metadata

    data = load_sample(sample)
    md = dataclasses.replace(load_sample_metadata(sample), rules=SAMPLE_RULES[sample])
    assert all_satisfied(data, md, md.rules).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for make in (
            lambda: MSTSynthesizer(1.0, noise_seed=1, max_iters=100),
            lambda: GaussianCopulaSynthesizer(seed=0),
        ):
            out = make().fit(data, md).sample(2000, seed=0)
            assert all_satisfied(out, md, md.rules).all()
