"""The autoregressive synthesizer without DP: fine bins, reproducibility, conditions, files."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch

from tabsynth.errors import ParameterError
from tabsynth.metadata import Metadata
from tabsynth.synthesizers.autoregressive import AutoregressiveSynthesizer
from tabsynth.synthesizers.autoregressive.encoding import fine_edges, fine_encoder
from tabsynth.synthesizers.base import REGISTRY, load

FAST = {"epochs": 2, "width": 16, "batch_size": 64, "progress": False}


@pytest.fixture(scope="module")
def linked() -> pd.DataFrame:
    """``late`` copies ``early`` 95 % of the time: conditioning on ``late`` must move ``early``."""
    rng = np.random.default_rng(1)
    n = 1000
    early = rng.choice(["a", "b"], n, p=[0.8, 0.2])
    late = np.where(rng.random(n) < 0.95, early, np.where(early == "a", "b", "a"))
    return pd.DataFrame({"early": early, "noise": rng.integers(0, 5, n), "late": late})


@pytest.fixture(scope="module")
def fitted(linked: pd.DataFrame) -> AutoregressiveSynthesizer:
    # 30 epochs: enough for the any-order model to learn p(early | late) = 0.83 (see below)
    params = {**FAST, "epochs": 30, "width": 32, "validation": 0.0}
    return AutoregressiveSynthesizer(seed=0, **params).fit(linked)


def test_registered_under_its_name() -> None:
    assert REGISTRY["autoregressive"] is AutoregressiveSynthesizer


def test_fit_with_a_seed_is_reproducible(mixed_frame: pd.DataFrame) -> None:
    first = AutoregressiveSynthesizer(seed=3, **FAST).fit(mixed_frame)
    second = AutoregressiveSynthesizer(seed=3, **FAST).fit(mixed_frame)
    other = AutoregressiveSynthesizer(seed=4, **FAST).fit(mixed_frame)
    weights = [s._get_model_state()[1] for s in (first, second, other)]
    assert all(np.array_equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not all(np.array_equal(weights[0][k], weights[2][k]) for k in weights[0])
    pd.testing.assert_frame_equal(first.sample(50, seed=1), second.sample(50, seed=1))


def test_fit_restores_torch_settings(mixed_frame: pd.DataFrame) -> None:
    torch.set_num_threads(1)
    state = torch.get_rng_state()
    AutoregressiveSynthesizer(seed=0, **FAST).fit(mixed_frame)
    assert torch.get_num_threads() == 1
    assert not torch.are_deterministic_algorithms_enabled()
    assert torch.equal(torch.get_rng_state(), state)


def test_samples_have_the_training_columns_and_dtypes(mixed_frame: pd.DataFrame) -> None:
    synth = AutoregressiveSynthesizer(seed=0, **FAST).fit(mixed_frame)
    out = synth.sample(120, seed=0)
    assert list(out.columns) == list(mixed_frame.columns)
    assert out["age"].dtype == mixed_frame["age"].dtype
    assert out["visit"].dtype == mixed_frame["visit"].dtype
    assert out["patient"].nunique() == 120  # ids are generated fresh, never learned
    assert not set(out["patient"]) & set(mixed_frame["patient"])


def test_conditions_from_a_dict_hold_exactly(fitted: AutoregressiveSynthesizer) -> None:
    out = fitted.sample(200, seed=0, conditions={"late": "b", "noise": 3})
    assert (out["late"] == "b").all() and (out["noise"] == 3).all()


def test_conditioning_on_a_later_column_changes_earlier_ones(
    fitted: AutoregressiveSynthesizer, linked: pd.DataFrame
) -> None:
    # Without conditions "early" is mostly "a"; given late == "b" it is mostly "b". Overwriting
    # the column after an unconditional draw would leave "early" mostly "a".
    free = fitted.sample(2000, seed=0)
    given = fitted.sample(2000, seed=0, conditions={"late": "b"})
    assert (free["early"] == "b").mean() < 0.4
    assert (given["early"] == "b").mean() > 0.7


def test_conditions_from_partial_rows(fitted: AutoregressiveSynthesizer) -> None:
    partial = pd.DataFrame(
        {"early": ["a", np.nan, "b", np.nan], "noise": [np.nan, 4, np.nan, np.nan]}
    )
    out = fitted.sample(4, seed=0, conditions=partial)
    assert out["early"].iloc[0] == "a" and out["early"].iloc[2] == "b"
    assert out["noise"].iloc[1] == 4
    assert out.notna().all().all()


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"colour": "red"}, "not a column"),
        ({"early": "z"}, "categories"),
        ({"noise": 2.5}, "non-integer"),
        ({"noise": 99}, "bound"),
    ],
)
def test_bad_conditions_are_refused(
    fitted: AutoregressiveSynthesizer, conditions: dict, message: str
) -> None:
    with pytest.raises(ParameterError, match=message):
        fitted.sample(5, seed=0, conditions=conditions)


def test_partial_rows_must_match_n(fitted: AutoregressiveSynthesizer) -> None:
    with pytest.raises(ParameterError, match="rows"):
        fitted.sample(3, conditions=pd.DataFrame({"early": ["a"]}))


def test_fixed_order_conditions_only_on_leading_columns(linked: pd.DataFrame) -> None:
    synth = AutoregressiveSynthesizer(order="fixed", seed=0, **FAST).fit(linked)
    assert (synth.sample(10, seed=0, conditions={"early": "b"})["early"] == "b").all()
    with pytest.raises(ParameterError, match="order='random'"):
        synth.sample(10, seed=0, conditions={"late": "b"})


def test_save_load_gives_the_same_samples_and_holds_no_pickle(
    mixed_frame: pd.DataFrame, tmp_path
) -> None:
    synth = AutoregressiveSynthesizer(seed=0, **FAST).fit(mixed_frame)
    path = tmp_path / "model.zip"
    synth.save(path)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["arrays.npz", "model.json"]
        with np.load(io.BytesIO(archive.read("arrays.npz")), allow_pickle=False) as arrays:
            assert all(arrays[k].dtype.kind == "f" for k in arrays.files)
        assert b"P00001" not in archive.read("model.json")  # no id value of a training row
    loaded = load(path)
    pd.testing.assert_frame_equal(synth.sample(80, seed=5), loaded.sample(80, seed=5))
    conditions = {"sex": "F"}
    pd.testing.assert_frame_equal(
        synth.sample(30, seed=6, conditions=conditions),
        loaded.sample(30, seed=6, conditions=conditions),
    )


def test_fine_edges_give_spikes_their_own_bin() -> None:
    rng = np.random.default_rng(0)
    hours = np.where(rng.random(5000) < 0.5, 40, rng.integers(1, 200, 5000))
    edges = fine_edges(hours.astype(float), 100, 1, 199, integer=True)
    assert 39.5 in edges and 40.5 in edges
    frame = pd.DataFrame({"hours": hours})
    metadata = Metadata.detect(frame)
    encoder = fine_encoder(frame, metadata, bins=100)
    back = encoder.decode(encoder.encode(frame), rng)["hours"]
    assert (back == 40).sum() == (hours == 40).sum()


def test_fine_edges_mark_float_spikes_as_point_bins() -> None:
    values = np.r_[np.zeros(600), np.linspace(1.0, 9.0, 400)]
    edges = fine_edges(values, 20, 0.0, 9.0, integer=False)
    assert edges[0] == edges[1] == 0.0  # the spike at 0 is a point bin
    assert len(edges) >= 15


@pytest.mark.parametrize(
    "params", [{"epochs": 0}, {"order": "sorted"}, {"validation": 1.0}, {"blocks": -1}]
)
def test_bad_parameters_are_refused(mixed_frame: pd.DataFrame, params: dict) -> None:
    with pytest.raises(ParameterError):
        AutoregressiveSynthesizer(**{**FAST, **params}).fit(mixed_frame)
