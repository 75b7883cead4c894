"""SDV baselines behind tabsynth's contract, on the bundled samples and on ../shared tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tabsynth as ts
from tabsynth.schema import output_dtypes

from conftest import read_shared


def _assert_like(real: pd.DataFrame, out: pd.DataFrame, tolerance: float) -> None:
    assert list(out.columns) == list(real.columns)
    assert out.dtypes.astype(str).to_dict() == real.dtypes.astype(str).to_dict()
    for column in real.columns:
        assert abs(real[column].isna().mean() - out[column].isna().mean()) < tolerance, column


@pytest.mark.parametrize("cls", [ts.CTGANSynthesizer, ts.TVAESynthesizer])
def test_neural_baselines_fit_sample_and_round_trip(tmp_path, cls):
    data = ts.datasets.load_sample("financial").head(600)
    synth = cls(seed=0, epochs=2, batch_size=100, progress=False).fit(data)
    out = synth.sample(300, seed=1)
    assert list(out.columns) == list(data.columns)
    # integral floats with gaps are detected as int: nullable Int64, as the metadata says
    assert out.dtypes.astype(str).to_dict() == output_dtypes(synth.metadata_)
    assert str(out["annual_income"].dtype) == "Int64"
    path = tmp_path / "m.tsyn"
    synth.save(path)
    again = ts.load(path, trusted=True)
    pd.testing.assert_frame_equal(again.sample(50, seed=4), synth.sample(50, seed=4))


def test_sdv_params_pass_through():
    data = ts.datasets.load_sample("medical").head(500)
    synth = ts.GaussianCopulaSynthesizer(seed=0, default_distribution="norm").fit(data)
    assert synth.model_.default_distribution == "norm"
    ctgan = ts.CTGANSynthesizer(epochs=1, batch_size=50, progress=False, sdv_params={"pac": 5}).fit(
        data
    )
    assert ctgan.model_._model_kwargs["pac"] == 5


@pytest.mark.slow
@pytest.mark.shared
@pytest.mark.parametrize(
    ("name", "rows"),
    [("adult.csv.gz", None), ("diabetes130.csv.gz", 20_000)],
)
def test_gaussian_copula_on_public_tables(shared_datasets, name, rows):
    real = read_shared(shared_datasets, name)
    if rows is not None:
        real = real.sample(rows, random_state=0).reset_index(drop=True)
    synth = ts.GaussianCopulaSynthesizer(seed=0).fit(real)
    out = synth.sample(len(real), seed=0)
    # missing-value rates: binomial standard error at most 0.5/sqrt(n) < 0.004; allow ~5 of them
    _assert_like(real, out, tolerance=0.02)
    categorical = [c for c in real.columns if real[c].dtype == object]
    assert categorical
    for column in categorical:
        assert set(out[column].dropna()) <= set(real[column].dropna()), column
    for column in real.select_dtypes("number").columns:  # SDV enforces the learned ranges
        assert out[column].min() >= real[column].min(), column
        assert out[column].max() <= real[column].max(), column


def test_gaussian_copula_keeps_the_frequencies_of_few_valued_numbers():
    """A count of 1-4 (German credit's existing_credits: 63% 1, 34% 2) fitted by a continuous
    marginal and rounded came out 93% 2; modelled as ordinal it keeps its frequencies."""
    from tabsynth.metadata import ColumnSpec, Metadata
    from tabsynth.synthesizers.sdv import ordinal_columns

    rng = np.random.default_rng(0)
    credits = rng.choice([1, 2, 3, 4], 1000, p=[0.63, 0.34, 0.02, 0.01])
    real = pd.DataFrame(
        {"credits": credits, "amount": (rng.lognormal(8, 0.5, 1000) * credits).round(2)}
    )
    md = Metadata(
        {
            "credits": ColumnSpec("numerical", dtype="int", lower=0, upper=10, nullable=False),
            "amount": ColumnSpec("numerical", dtype="float", lower=0, upper=1e6, nullable=False),
        }
    )
    assert set(ordinal_columns(real, md)) == {"credits"}  # amount: many values
    assert ordinal_columns(real, md)["credits"]["range_values"] == [1, 2, 3, 4]
    out = ts.GaussianCopulaSynthesizer(seed=0).fit(real, metadata=md).sample(2000, seed=0)
    assert str(out["credits"].dtype) == "int64" and set(out["credits"]) <= {1, 2, 3, 4}
    real_share = real["credits"].value_counts(normalize=True)
    out_share = out["credits"].value_counts(normalize=True).reindex(real_share.index, fill_value=0)
    # sampling noise on 2000 rows: standard error <= 0.011 per value; the encoder's fitted
    # marginal adds a little. 0.05 total variation is far below the rounded copula's 0.6
    assert 0.5 * (real_share - out_share).abs().sum() < 0.05


def test_gaussian_copula_orders_integer_codes_by_their_number():
    """Payment statuses written as text sort "-1" < "-2" < "0"; the copula's latent order is
    the codes' numeric one, and the codes come back as written."""
    from tabsynth.metadata import ColumnSpec, Metadata
    from tabsynth.synthesizers.sdv import ordinal_columns

    rng = np.random.default_rng(1)
    status = rng.integers(-2, 3, 600)
    real = pd.DataFrame(
        {
            "pay_0": status.astype(str),
            "pay_2": np.clip(status + rng.integers(-1, 2, 600), -2, 2).astype(str),
            "region": rng.choice(["north", "south"], 600),
        }
    )
    codes = ("-1", "-2", "0", "1", "2")
    md = Metadata(
        {
            "pay_0": ColumnSpec("categorical", categories=codes, nullable=False),
            "pay_2": ColumnSpec("categorical", categories=codes, nullable=False),
            "region": ColumnSpec("categorical", categories=("north", "south"), nullable=False),
        }
    )
    found = ordinal_columns(real, md)
    assert set(found) == {"pay_0", "pay_2"}  # words are not codes
    assert found["pay_0"]["range_values"] == ["-2", "-1", "0", "1", "2"]
    out = ts.GaussianCopulaSynthesizer(seed=0).fit(real, metadata=md).sample(600, seed=0)
    assert set(out["pay_0"]) <= set(codes)
    # in numeric order the copula keeps the statuses' strong correlation (real: about 0.8)
    synthetic = np.corrcoef(out["pay_0"].astype(int), out["pay_2"].astype(int))[0, 1]
    assert synthetic > 0.5
