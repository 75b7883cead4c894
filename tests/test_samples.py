"""The bundled sample tables: loading, declared domains, planted structure, reproducibility.

The samples exist to make synthesizers fail visibly when they ignore dependence or
missingness, so these tests pin the structure the data cards promise, not just the shape.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from tabsynth import datasets
from tabsynth.errors import FileFormatError, ParameterError

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "data" / "samples"
GENERATOR = SAMPLES_DIR / "make_samples.py"
NAMES = ["financial", "medical"]


@pytest.fixture(scope="module")
def medical() -> pd.DataFrame:
    return datasets.load_sample("medical")


@pytest.fixture(scope="module")
def financial() -> pd.DataFrame:
    return datasets.load_sample("financial")


def _columns(name: str) -> dict[str, dict]:
    text = (SAMPLES_DIR / f"{name}.metadata.json").read_text(encoding="utf-8")
    return json.loads(text)["columns"]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tabsynth_make_samples", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _missing_rate(frame: pd.DataFrame, column: str, rows: pd.Series) -> float:
    return float(frame.loc[rows, column].isna().mean())


# -- the loader ------------------------------------------------------------------------------


def test_sample_names() -> None:
    assert datasets.sample_names() == ["financial", "medical"]


@pytest.mark.parametrize("bad", ["adult", "Medical", "", None, 3])
def test_unknown_name_is_a_parameter_error_listing_valid_names(bad: object) -> None:
    with pytest.raises(ParameterError) as info:
        datasets.load_sample(bad)  # type: ignore[arg-type]
    assert "financial" in str(info.value) and "medical" in str(info.value)


@pytest.mark.parametrize("name", NAMES)
def test_sample_path_points_at_the_csv(name: str) -> None:
    path = datasets.sample_path(name)
    assert path.name == f"{name}.csv"
    assert path.is_file()


@pytest.mark.parametrize("name", NAMES)
def test_shape_and_column_order_follow_the_metadata(name: str) -> None:
    frame = datasets.load_sample(name)
    assert frame.shape == (8000, 13)
    assert list(frame.columns) == list(_columns(name))


@pytest.mark.parametrize("name", NAMES)
def test_dtypes_follow_the_metadata_kinds(name: str) -> None:
    frame = datasets.load_sample(name)
    for column, spec in _columns(name).items():
        dtype = frame[column].dtype
        kind = spec["kind"]
        if kind == "datetime":
            assert dtype == np.dtype("datetime64[ns]"), column
        elif kind == "boolean":
            assert dtype == np.dtype(bool), column
        elif kind == "numerical" and spec["dtype"] == "float":
            assert dtype == np.dtype("float64"), column
        elif kind == "numerical":
            # integers stay int64 unless missing values force float64 (documented)
            expected = "float64" if spec["nullable"] and frame[column].isna().any() else "int64"
            assert dtype == np.dtype(expected), column
            assert (frame[column].dropna() % 1 == 0).all(), column
        elif kind == "id":
            assert dtype == np.dtype(object), column
        else:  # categorical: strings, except term_months whose categories are ints
            first = spec["categories"][0]
            expected = np.dtype("int64") if isinstance(first, int) else np.dtype(object)
            assert dtype == expected, column


@pytest.mark.parametrize("name", NAMES)
def test_values_lie_inside_the_declared_public_domain(name: str) -> None:
    frame = datasets.load_sample(name)
    for column, spec in _columns(name).items():
        values = frame[column]
        present = values.dropna()
        if not spec.get("nullable", True):
            assert not values.isna().any(), column
        if spec["kind"] == "id":
            assert values.is_unique, column
        elif spec["kind"] == "categorical":
            assert set(present) <= set(spec["categories"]), column
        elif spec["kind"] == "datetime":
            assert present.min() >= pd.Timestamp(spec["lower"]), column
            assert present.max() <= pd.Timestamp(spec["upper"]), column
        elif spec["kind"] == "numerical":
            assert present.min() >= spec["lower"], column
            assert present.max() <= spec["upper"], column
            if spec["dtype"] == "float":
                digits = spec["precision"]
                assert np.allclose(present, present.round(digits), rtol=0, atol=1e-9), column


def test_ids_have_the_documented_form(medical: pd.DataFrame, financial: pd.DataFrame) -> None:
    assert medical["patient_id"].str.fullmatch(r"P\d{6}").all()
    assert financial["loan_id"].str.fullmatch(r"L\d{7}").all()
    # loan ids are issued in date order
    assert financial["issue_date"].is_monotonic_increasing
    assert financial["loan_id"].is_monotonic_increasing


def test_packaged_copy_is_preferred(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    packaged = tmp_path / "_samples"
    packaged.mkdir()
    shutil.copy(SAMPLES_DIR / "medical.metadata.json", packaged)
    lines = (SAMPLES_DIR / "medical.csv").read_text(encoding="utf-8").splitlines()
    (packaged / "medical.csv").write_text("\n".join(lines[:11]) + "\n", encoding="utf-8")
    monkeypatch.setattr(datasets, "_packaged_dir", lambda: packaged)
    assert datasets.sample_path("medical") == packaged / "medical.csv"
    assert datasets.load_sample("medical").shape == (10, 13)


def test_missing_files_are_a_file_format_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(datasets, "_packaged_dir", lambda: None)
    monkeypatch.setattr(datasets, "_REPO_DIR", tmp_path)
    with pytest.raises(FileFormatError, match=r"medical\.csv"):
        datasets.sample_path("medical")


@pytest.mark.parametrize("name", NAMES)
def test_metadata_loads_and_validates_the_frame(name: str) -> None:
    pytest.importorskip("tabsynth.metadata")
    metadata = datasets.load_sample_metadata(name)
    assert metadata.public and metadata.source == "user"
    assert metadata.names == list(_columns(name))
    frame = datasets.load_sample(name)
    validated = metadata.validate(frame)  # raises DataError on any out-of-domain value
    assert validated.shape == frame.shape
    expected_sensitive = ["sex"] if name == "medical" else []
    assert metadata.sensitive_columns == expected_sensitive


@pytest.mark.parametrize("name", NAMES)
def test_data_card_describes_every_column(name: str) -> None:
    card = (SAMPLES_DIR / f"{name}.md").read_text(encoding="utf-8")
    for column in _columns(name):
        assert f"`{column}`" in card, column


# -- planted missingness ---------------------------------------------------------------------


def test_medical_missingness_rates_and_mechanisms(medical: pd.DataFrame) -> None:
    m = medical
    all_rows = pd.Series(True, index=m.index)
    assert 0.03 <= _missing_rate(m, "glucose", all_rows) <= 0.10
    assert 0.08 <= _missing_rate(m, "creatinine", all_rows) <= 0.17
    assert 0.60 <= _missing_rate(m, "hba1c", all_rows) <= 0.78
    # MAR: glucose is skipped on one-day stays, creatinine on planned admissions,
    # HbA1c is mostly drawn for diabetics
    one_day = m["length_of_stay"] == 1
    assert _missing_rate(m, "glucose", one_day) > 2 * _missing_rate(m, "glucose", ~one_day)
    elective = m["admission_type"] == "Elective"
    emergency = m["admission_type"] == "Emergency"
    assert _missing_rate(m, "creatinine", elective) > 3 * _missing_rate(m, "creatinine", emergency)
    diabetic = m["diabetic"]
    assert _missing_rate(m, "hba1c", diabetic) < _missing_rate(m, "hba1c", ~diabetic) - 0.4


def test_financial_missingness_rates_and_mechanisms(financial: pd.DataFrame) -> None:
    f = financial
    all_rows = pd.Series(True, index=f.index)
    assert 0.015 <= _missing_rate(f, "annual_income", all_rows) <= 0.05
    assert 0.03 <= _missing_rate(f, "employment_length", all_rows) <= 0.07
    # MAR: no employer listed for outright owners (retirees) far more often than for renters
    own, rent = f["home_ownership"] == "OWN", f["home_ownership"] == "RENT"
    own_rate = _missing_rate(f, "employment_length", own)
    assert own_rate > 2 * _missing_rate(f, "employment_length", rent)


# -- planted dependencies --------------------------------------------------------------------


def test_medical_dependencies(medical: pd.DataFrame) -> None:
    m = medical
    assert m["age"].corr(m["length_of_stay"], method="spearman") > 0.1
    assert 3.5 <= m["length_of_stay"].mean() <= 6.0
    assert 0.10 <= m["readmitted_30d"].mean() <= 0.18
    readmit = m.groupby("diabetic")["readmitted_30d"].mean()
    assert readmit[True] > readmit[False] + 0.03
    los = m.groupby("diagnosis_group")["length_of_stay"].mean()
    assert los["Infectious"] > 2 * los["Pregnancy"]
    young, old = m["age"] <= 44, m["age"] >= 65
    circulatory = m["diagnosis_group"] == "Circulatory"
    assert circulatory[old].mean() > 2 * circulatory[young].mean()
    assert m.groupby("diabetic")["systolic_bp"].mean().diff().iloc[-1] > 3


def test_medical_logical_rules(medical: pd.DataFrame) -> None:
    m = medical
    pregnant = m[m["diagnosis_group"] == "Pregnancy"]
    assert len(pregnant) > 300
    assert (pregnant["sex"] == "F").all()
    assert pregnant["age"].between(18, 44).all()
    # HbA1c >= 6.5 % is diagnostic of diabetes [ADA]
    assert m.loc[m["hba1c"] >= 6.5, "diabetic"].all()
    # planned admissions are booked on weekdays
    electives = m.loc[m["admission_type"] == "Elective", "admission_date"]
    assert len(electives) > 1000
    assert (electives.dt.dayofweek < 5).all()


def test_financial_dependencies(financial: pd.DataFrame) -> None:
    f = financial
    default_by_grade = f.groupby("grade")["defaulted"].mean()
    assert default_by_grade.loc[list("ABCDE")].is_monotonic_increasing
    assert default_by_grade.loc[list("ABCDE")].diff().dropna().min() > 0
    assert f.loc[f["grade"].isin(["F", "G"]), "defaulted"].mean() > default_by_grade["E"]
    rate_by_grade = f.groupby("grade")["interest_rate"].median()
    assert (rate_by_grade.loc[list("ABCDEFG")].diff().dropna() > 1).all()
    rate_by_term = f.groupby("term_months")["interest_rate"].mean()
    assert rate_by_term[60] > rate_by_term[36] + 1
    assert f["annual_income"].corr(f["loan_amount"], method="spearman") > 0.3
    assert f["annual_income"].corr(f["dti"], method="spearman") < -0.1
    assert 0.12 <= f["defaulted"].mean() <= 0.22
    share = pd.crosstab(f["home_ownership"], f["purpose"], normalize="index")
    assert share.loc["RENT", "home_improvement"] < share.loc["MORTGAGE", "home_improvement"] / 4


def test_financial_product_rules(financial: pd.DataFrame) -> None:
    f = financial
    assert (f["loan_amount"] % 25 == 0).all()
    assert (f.loc[f["term_months"] == 60, "loan_amount"] >= 10000).all()
    assert 0.2 <= (f["term_months"] == 60).mean() <= 0.4
    # amounts are heaped at round numbers, as people ask for them
    assert (f["loan_amount"] % 1000 == 0).mean() > 0.4


# -- the generator ---------------------------------------------------------------------------


def test_generator_reproduces_committed_files_byte_for_byte(tmp_path: Path) -> None:
    written = _generator().write_samples(tmp_path)
    assert sorted(p.name for p in written) == [
        "financial.csv",
        "financial.metadata.json",
        "medical.csv",
        "medical.metadata.json",
    ]
    for path in written:
        committed = (SAMPLES_DIR / path.name).read_bytes()
        assert path.read_bytes() == committed, f"{path.name} differs; rerun make_samples.py"


def test_generator_refuses_values_outside_the_domain() -> None:
    gen = _generator()
    frame = gen.make_medical(n=50)
    frame.loc[0, "age"] = 101
    with pytest.raises(ValueError, match="age"):
        gen.check_domain(frame, gen.MEDICAL_METADATA)


def test_csv_files_stay_small() -> None:
    for name in NAMES:
        assert (SAMPLES_DIR / f"{name}.csv").stat().st_size < 1_500_000
