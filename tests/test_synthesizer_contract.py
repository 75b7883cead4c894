"""The Synthesizer contract, checked on the SDV Gaussian copula baseline and on the base class."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest

import tabsynth as ts
from tabsynth.errors import (
    DataError,
    MetadataError,
    ModelFileError,
    NotFittedError,
    ParameterError,
    TabsynthError,
)
from tabsynth.synthesizers.base import Synthesizer


@pytest.fixture(scope="module")
def medical() -> pd.DataFrame:
    return ts.datasets.load_sample("medical").head(1500)


@pytest.fixture(scope="module")
def fitted(medical) -> ts.GaussianCopulaSynthesizer:
    return ts.GaussianCopulaSynthesizer(seed=0).fit(medical)


def test_constructor_stores_parameters_only():
    synth = ts.GaussianCopulaSynthesizer(seed=3, default_distribution="norm")
    assert synth.get_params() == {
        "seed": 3,
        "default_distribution": "norm",
        "sdv_params": None,
        "on_out_of_bounds": "error",
    }
    assert not synth.is_fitted and synth.privacy is None


def test_sample_keeps_columns_order_dtypes_and_missingness(medical, fitted):
    out = fitted.sample(3000, seed=1)
    assert list(out.columns) == list(medical.columns)
    assert out.dtypes.astype(str).to_dict() == medical.dtypes.astype(str).to_dict()
    assert len(out) == 3000
    for column in ("glucose", "creatinine", "hba1c"):
        real, synth = medical[column].isna().mean(), out[column].isna().mean()
        # binomial standard error of a rate p over 3000 rows is at most 0.009; allow 5 of them
        assert abs(real - synth) < 0.05, column
    assert not set(out["patient_id"]) & set(medical["patient_id"])


def test_same_seed_same_rows_other_seed_other_rows(fitted):
    pd.testing.assert_frame_equal(fitted.sample(200, seed=7), fitted.sample(200, seed=7))
    assert not fitted.sample(200, seed=7).equals(fitted.sample(200, seed=8))


def test_fit_with_seed_is_reproducible(medical, fitted):
    again = ts.GaussianCopulaSynthesizer(seed=0).fit(medical)
    pd.testing.assert_frame_equal(again.sample(100, seed=2), fitted.sample(100, seed=2))


def test_save_and_load_need_trust_for_pickled_sdv_models(tmp_path, fitted):
    path = tmp_path / "model.tsyn"
    fitted.save(path)
    with pytest.raises(ModelFileError, match="trusted=True"):
        ts.load(path)
    again = ts.load(path, trusted=True)
    assert type(again) is ts.GaussianCopulaSynthesizer
    pd.testing.assert_frame_equal(again.sample(100, seed=5), fitted.sample(100, seed=5))


def test_fit_accepts_metadata_objects_dicts_and_paths(medical):
    md = ts.datasets.load_sample_metadata("medical")
    path = ts.datasets.sample_path("medical").with_suffix(".metadata.json")
    for given in (md, md.to_dict(), path, str(path)):
        synth = ts.GaussianCopulaSynthesizer(seed=0).fit(medical, metadata=given)
        assert synth.metadata_ == md
    with pytest.raises(MetadataError, match="must be a Metadata"):
        ts.GaussianCopulaSynthesizer().fit(medical, metadata=42)


@pytest.mark.parametrize("n", [0, -5, 2.5, "10", True])
def test_bad_row_counts(fitted, n):
    with pytest.raises(ParameterError, match="positive integer"):
        fitted.sample(n)


def test_sample_and_save_before_fit(tmp_path):
    synth = ts.GaussianCopulaSynthesizer()
    with pytest.raises(NotFittedError, match="call fit"):
        synth.sample(10)
    with pytest.raises(NotFittedError):
        synth.save(tmp_path / "m.tsyn")


def test_bad_tables_raise_project_errors():
    synth = ts.GaussianCopulaSynthesizer()
    for frame in (pd.DataFrame({"a": []}), pd.DataFrame([[1, 2]], columns=["a", "a"])):
        with pytest.raises(DataError):
            synth.fit(frame)
    assert issubclass(DataError, TabsynthError)


def test_out_of_bounds_default_refuses_and_clip_is_opt_in(medical):
    md = ts.datasets.load_sample_metadata("medical")
    bad = medical.copy()
    bad.loc[bad.index[0], "age"] = 140
    with pytest.raises(DataError, match="outside its declared bounds"):
        ts.GaussianCopulaSynthesizer().fit(bad, metadata=md)
    synth = ts.GaussianCopulaSynthesizer(on_out_of_bounds="clip", seed=0).fit(bad, metadata=md)
    assert synth.sample(500, seed=0)["age"].max() <= 100


class _Echo(Synthesizer):
    """A minimal synthesizer that stores per-column means: exercises the JSON+array format."""

    name = "_test_echo"

    def _fit(self, data, metadata):
        self.means_ = data.select_dtypes("number").mean().to_numpy()
        self.names_ = list(data.select_dtypes("number").columns)

    def _sample(self, n, rng):
        return pd.DataFrame(
            {c: m + rng.normal(size=n) for c, m in zip(self.names_, self.means_, strict=True)}
        )

    def _get_state(self):
        return {"names": self.names_}, {"means": self.means_}

    def _set_state(self, state, arrays):
        self.names_, self.means_ = state["names"], arrays["means"]


def test_model_file_is_json_plus_arrays_and_loads_without_trust(tmp_path):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [10.0, 20.0, 35.5]})
    synth = _Echo(seed=1).fit(frame)
    path = tmp_path / "echo.tsyn"
    synth.save(path)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["arrays.npz", "model.json"]
        raw = archive.read("model.json").decode() + archive.read("arrays.npz").decode("latin1")
    assert "35.5" not in raw.split('"metadata"')[0]  # no training value outside the domain
    again = ts.load(path)
    pd.testing.assert_frame_equal(again.sample(20, seed=3), synth.sample(20, seed=3))


@pytest.mark.parametrize(
    "content",
    [b"not a zip at all", b"PK\x03\x04broken"],
)
def test_corrupt_model_files(tmp_path, content):
    path = tmp_path / "bad.tsyn"
    path.write_bytes(content)
    with pytest.raises(ModelFileError):
        ts.load(path)


def test_foreign_and_future_model_files(tmp_path):
    foreign = tmp_path / "foreign.tsyn"
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("model.json", '{"format": "something-else"}')
        archive.writestr("arrays.npz", b"")
    with pytest.raises(ModelFileError):
        ts.load(foreign)
    future = tmp_path / "future.tsyn"
    synth = _Echo().fit(pd.DataFrame({"x": [1.0, 2.0]}))
    synth.save(future)
    with zipfile.ZipFile(future) as archive:
        manifest = (
            archive.read("model.json")
            .decode()
            .replace('"format_version": 2', '"format_version": 99')
        )
        arrays = archive.read("arrays.npz")
    with zipfile.ZipFile(future, "w") as archive:
        archive.writestr("model.json", manifest)
        archive.writestr("arrays.npz", arrays)
    with pytest.raises(ModelFileError, match="version 99"):
        ts.load(future)
    with pytest.raises(ModelFileError, match="does not exist"):
        ts.load(tmp_path / "absent.tsyn")


def test_pickles_inside_arrays_are_refused(tmp_path):
    synth = _Echo().fit(pd.DataFrame({"x": [1.0, 2.0]}))
    path = tmp_path / "m.tsyn"
    synth.save(path)
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path) as archive:
        manifest = archive.read("model.json")
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("means.npy", buffer.getvalue())
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model.json", manifest)
        archive.writestr("arrays.npz", evil.getvalue())
    with pytest.raises(ModelFileError):
        ts.load(path)
