"""Domain encoder: codes over a public domain, and faithful decoding back to values."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tabsynth.domain import (
    OTHER,
    BinnedCodec,
    CategoryCodec,
    DomainEncoder,
    codec_from_dict,
    quantile_edges,
    uniform_edges,
)
from tabsynth.errors import DataError, MetadataError, ModelFileError
from tabsynth.metadata import ColumnSpec, Metadata


def public_metadata() -> Metadata:
    return Metadata(
        {
            "age": ColumnSpec("numerical", dtype="int", lower=18, upper=89, nullable=False),
            "income": ColumnSpec("numerical", dtype="float", lower=0, upper=1e6, precision=2),
            "sex": ColumnSpec("categorical", categories=("F", "M"), nullable=False),
            "smoker": ColumnSpec("boolean", nullable=False),
            "visit": ColumnSpec(
                "datetime",
                lower="2020-01-01",
                upper="2022-12-31",
                format="%Y-%m-%d",
                nullable=False,
            ),
            "patient": ColumnSpec("id"),
        },
        public=True,
    )


def test_sizes_come_from_the_public_domain_only():
    enc = DomainEncoder.from_metadata(public_metadata(), bins=10)
    assert enc.columns == ["age", "income", "sex", "smoker", "visit"]
    assert enc.sizes == {"age": 10, "income": 11, "sex": 2, "smoker": 2, "visit": 10}


def test_round_trip_keeps_kinds_missing_and_bins(mixed_frame):
    md = Metadata.detect(mixed_frame)
    enc = DomainEncoder.fit(mixed_frame, md, bins=12)
    codes = enc.encode(mixed_frame)
    back = enc.decode(codes, np.random.default_rng(0))
    assert list(back.columns) == list(mixed_frame.columns)
    np.testing.assert_array_equal(enc.encode(back), codes)
    assert back["income"].isna().equals(mixed_frame["income"].isna())
    assert (back["sex"] == mixed_frame["sex"]).all()
    assert (back["smoker"] == mixed_frame["smoker"]).all()
    # ids are generated fresh, never copied
    assert not set(back["patient"]) & set(mixed_frame["patient"])
    assert back["patient"].is_unique


def test_point_bin_keeps_a_spike_exactly(mixed_frame):
    md = Metadata.detect(mixed_frame)
    enc = DomainEncoder.fit(mixed_frame, md, bins=12)
    back = enc.decode(enc.encode(mixed_frame), np.random.default_rng(1))
    assert (back["income"] == 0).sum() == (mixed_frame["income"] == 0).sum()


def test_integer_bins_hold_whole_numbers():
    edges = uniform_edges(0, 1000, 7, integer=True)
    assert np.all(edges % 1 == 0.5)
    codec = BinnedCodec(edges, integer=True, nullable=False)
    values = codec.decode(np.repeat(np.arange(codec.bins), 200), np.random.default_rng(0))
    assert np.all(values % 1 == 0) and values.min() >= 0 and values.max() <= 1000
    small = uniform_edges(1, 5, 32, integer=True)
    assert len(small) == 6  # one bin per value when the range is small


@pytest.mark.parametrize("integer", [True, False])
def test_uniform_bins_keep_spikes_at_public_bounds(integer):
    """Zero-inflated amounts (capital_gain: 0 for 92 % of Adult) must come back as zeros, and
    values capped at the upper bound as the bound, without reading any data."""
    x = pd.Series(np.r_[np.zeros(900), np.linspace(1, 99_998, 90), np.full(10, 99_999.0)])
    codec = BinnedCodec(uniform_edges(0, 99_999, 16, integer), integer=integer, nullable=False)
    assert codec.bins == 16
    back = codec.decode(codec.encode(x), np.random.default_rng(0))
    assert (back == 0).sum() == 900 and (back == 99_999).sum() == 10


def test_decode_samples_uniformly_inside_a_bin():
    codec = BinnedCodec(np.array([0.0, 10.0, 20.0]), nullable=False)
    values = codec.decode(np.zeros(20_000, dtype=int), np.random.default_rng(0)).to_numpy()
    assert values.min() >= 0 and values.max() < 10
    # mean of U(0, 10) is 5 with standard error 10/sqrt(12 n) = 0.02; allow 5 standard errors
    assert abs(values.mean() - 5) < 0.1


def test_precision_and_datetime_unit_restored():
    md = public_metadata()
    enc = DomainEncoder.from_metadata(md, bins=8)
    rng = np.random.default_rng(0)
    codes = np.column_stack([rng.integers(0, s, 500) for s in enc.sizes.values()])
    out = enc.decode(codes, rng)
    income = out["income"].dropna().to_numpy()
    np.testing.assert_allclose(income, np.round(income, 2))
    assert (out["visit"].dt.normalize() == out["visit"]).all()
    assert out["visit"].between(pd.Timestamp("2020-01-01"), pd.Timestamp("2022-12-31")).all()
    assert out["age"].between(18, 89).all()


def test_other_code_for_unknown_categories():
    codec = CategoryCodec(("a", "b"), other=True, nullable=True)
    codes = codec.encode(pd.Series(["a", "zzz", None, "b"], name="c"))
    assert codes.tolist() == [0, 2, 3, 1]
    back = codec.decode(codes, np.random.default_rng(0))
    assert back.iloc[1] == OTHER and pd.isna(back.iloc[2])
    with pytest.raises(DataError, match="not among its categories"):
        CategoryCodec(("a",), other=False).encode(pd.Series(["b"], name="c"))


def test_other_decodes_to_rare_values_with_their_odds():
    """``rare`` weights 1 and 3: of 40,000 rows in "other", "7" takes a quarter (the binomial's
    standard deviation is 0.0022, so 5 of them allow 0.011; weights read the other way round
    would give 0.75). Rows of the categories and of "missing" decode as before."""
    codec = CategoryCodec(("1", "2"), other=True, rare=(("7", 1.0), ("9", 3.0)))
    codes = np.array([2] * 40_000 + [0, 1, 3])
    back = codec.decode(codes, np.random.default_rng(0))
    assert set(back.iloc[:40_000]) == {"7", "9"}
    assert (back.iloc[:40_000] == "7").mean() == pytest.approx(0.25, abs=0.011)
    assert back.iloc[40_000:40_002].tolist() == ["1", "2"] and pd.isna(back.iloc[-1])
    assert codec.encode(pd.Series(["7", "1"], name="c")).tolist() == [2, 0]  # still "other"


def test_rare_values_round_trip_and_are_checked():
    codec = CategoryCodec(("1", "2"), other=True, rare=(("7", 0.5), ("9", 3.0)))
    assert codec_from_dict(codec.to_dict()) == codec
    assert "rare" not in CategoryCodec(("1",), other=True).to_dict()  # files as before
    numpy = CategoryCodec((np.int64(1),), other=True, rare=((np.int64(7), np.float64(2.0)),))
    assert json.loads(json.dumps(numpy.to_dict()))["rare"] == [[7, 2.0]]
    for rare, other in [
        ((("7", 1.0),), False),  # nothing to decode them from
        ((("1", 1.0),), True),  # a category already
        ((("7", 1.0), ("7", 2.0)), True),
        ((("7", 0.0),), True),
        ((("7", float("nan")),), True),
        ((("7", "1.5"),), True),
        ((("7", True),), True),
        ((("7",),), True),
    ]:
        with pytest.raises(MetadataError):
            CategoryCodec(("1", "2"), other=other, rare=rare)
    raw = codec.to_dict()
    for bad in ([["7"]], [["7", "heavy"]], 5, [["7", -1.0]]):
        with pytest.raises(ModelFileError, match="corrupt column codec"):
            codec_from_dict({**raw, "rare": bad})


def test_missing_domain_is_an_error_that_says_what_to_do():
    md = Metadata({"x": ColumnSpec("numerical", dtype="float")})
    with pytest.raises(MetadataError, match="declare lower and upper"):
        DomainEncoder.from_metadata(md)
    md = Metadata({"c": ColumnSpec("categorical")})
    with pytest.raises(MetadataError, match="list them"):
        DomainEncoder.from_metadata(md)


def test_explicit_edges_win_and_serialise():
    md = public_metadata()
    enc = DomainEncoder.from_metadata(md, edges={"income": np.array([0, 0, 100, 1e6])})
    assert enc.sizes["income"] == 4  # point bin at 0, two bins, missing
    again = DomainEncoder.from_dict(enc.to_dict())
    assert again.sizes == enc.sizes
    np.testing.assert_array_equal(again.codecs["income"].edges, enc.codecs["income"].edges)


def test_quantile_edges_mark_spikes_as_point_bins():
    values = np.concatenate([np.zeros(900), np.linspace(1, 100, 100)])
    edges = quantile_edges(values, 10, 0.0, 100.0, integer=False)
    assert edges[0] == edges[1] == 0.0
    assert np.all(np.diff(edges) >= 0)


frames = st.integers(min_value=1, max_value=60).flatmap(
    lambda n: st.fixed_dictionaries(
        {
            "i": st.lists(st.integers(-50, 50), min_size=n, max_size=n),
            "f": st.lists(
                st.one_of(st.none(), st.floats(-1e3, 1e3, allow_nan=False)), min_size=n, max_size=n
            ),
            "c": st.lists(
                st.one_of(st.none(), st.sampled_from(["x", "y", "z"])), min_size=n, max_size=n
            ),
            "b": st.lists(st.booleans(), min_size=n, max_size=n),
        }
    )
)


def test_rounding_to_the_precision_stays_out_of_a_point_bin_below() -> None:
    """Edges 0, 0, 0.5: a point bin at 0, then (0, 0.5]. Draws in the second bin rounded to
    one decimal reach 0.0 (a draw under 0.05), the point bin's value; they move up one step
    instead, so every decoded value re-encodes to its bin and stays on the 0.1 grid. (Found
    by the round-trip property below: a frame whose floats were 0, 0 and 0.5.)"""
    codec = BinnedCodec(edges=np.array([0.0, 0.0, 0.5]), precision=1)
    codes = np.ones(20_000, dtype=np.int64)
    values = codec.decode(codes, np.random.default_rng(0)).to_numpy()
    assert values.min() == 0.1 and values.max() == 0.5
    assert np.array_equal(codec.encode(pd.Series(values)), codes)
    assert set(values) == {0.1, 0.2, 0.3, 0.4, 0.5}  # exactly on the grid
    # a point bin at 0.2 below the last bin, (0.2, 0.9] (closed): draws under 0.25 move up to
    # 0.3, not to 0.30000000000000004
    codec = BinnedCodec(edges=np.array([0.0, 0.2, 0.2, 0.9]), precision=1)
    codes = np.full(20_000, 2, dtype=np.int64)
    values = codec.decode(codes, np.random.default_rng(0)).to_numpy()
    assert set(values) == {0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}
    assert np.array_equal(codec.encode(pd.Series(values)), codes)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=frames, bins=st.integers(1, 40))
def test_property_round_trip_of_random_frames(raw, bins):
    frame = pd.DataFrame(raw)
    frame["f"] = frame["f"].astype(float)
    if frame["f"].isna().all():
        frame["f"] = 0.0
    if frame["c"].isna().all():
        frame["c"] = "x"
    md = Metadata.detect(frame)
    enc = DomainEncoder.fit(frame, md, bins=bins)
    codes = enc.encode(frame)
    assert codes.shape == (len(frame), 4)
    assert all(codes[:, j].max() < size for j, size in enumerate(enc.sizes.values()))
    back = enc.decode(codes, np.random.default_rng(0))
    # decoding lands in the same bin, keeps missingness, categories and booleans exactly
    np.testing.assert_array_equal(enc.encode(back), codes)
    assert back["f"].isna().tolist() == frame["f"].isna().tolist()
    assert back["c"].fillna("NA").tolist() == frame["c"].fillna("NA").tolist()
    assert back["b"].tolist() == frame["b"].tolist()
    assert back["i"].between(frame["i"].min(), frame["i"].max()).all()
    assert (back["i"] % 1 == 0).all()


@pytest.mark.parametrize("edges", [[0.0, float("nan"), 10.0], [0.0, float("inf")]])
def test_edges_that_are_not_finite_are_refused(edges) -> None:
    with pytest.raises(MetadataError, match="finite"):
        BinnedCodec(np.array(edges))
    raw = {**BinnedCodec(np.array([0.0, 10.0])).to_dict(), "edges": edges}
    with pytest.raises(ModelFileError, match="corrupt column codec"):
        codec_from_dict(raw)
