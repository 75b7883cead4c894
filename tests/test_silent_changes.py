"""Nothing is changed silently: time zones, large integers, huge floats, dates over numbers,
metadata flags written as text, a failed fit, bad seeds (issue #12, families 2, 3, 4 and 6)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tabsynth as ts
from tabsynth.errors import DataError, MetadataError, ParameterError
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.schema import output_dtypes


def _visits(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "t": pd.date_range("2021-03-01", periods=n, freq="7h", tz="Europe/Paris"),
            "x": rng.normal(50, 10, n).round(1),
            "c": rng.choice(["a", "b"], n),
        }
    )


def test_time_zones_survive_the_round_trip() -> None:
    data = _visits()
    synth = ts.GaussianCopulaSynthesizer(seed=0).fit(data)
    assert synth.metadata_["t"].timezone == "Europe/Paris"
    out = synth.sample(200, seed=1)
    assert str(out["t"].dtype) == "datetime64[ns, Europe/Paris]"
    # modelled in UTC, returned in the zone: the values stay inside the real range
    assert out["t"].min() >= data["t"].min() and out["t"].max() <= data["t"].max()


def test_zone_aware_values_need_a_declared_zone() -> None:
    with pytest.raises(DataError, match='"timezone": "Europe/Paris"'):
        Metadata({"t": ColumnSpec("datetime")}).validate(_visits()[["t"]])
    with pytest.raises(MetadataError, match="unknown timezone"):
        ColumnSpec("datetime", timezone="Mars/Olympus")
    with pytest.raises(MetadataError, match="only datetime"):
        ColumnSpec("categorical", timezone="UTC")


def test_dp_schema_keeps_the_zone_of_the_dtype() -> None:
    from tabsynth.schema import schema_from_dtypes

    assert schema_from_dtypes(_visits())["t"].timezone == "Europe/Paris"


def test_integers_beyond_two_to_the_53_are_refused_not_corrupted() -> None:
    data = pd.DataFrame({"u": np.arange(100, dtype="uint64") + 2**63, "c": ["a", "b"] * 50})
    with pytest.raises(DataError, match="2\\^53"):
        ts.GaussianCopulaSynthesizer(seed=0).fit(data)
    md = Metadata({"u": ColumnSpec("numerical", dtype="int")})
    clipped = md.validate(data[["u"]], on_out_of_bounds="clip")["u"]
    assert clipped.max() == 2.0**53


def test_huge_integral_floats_stay_floats() -> None:
    """1e308 is integral but no int64: detection keeps it a float, and it comes back near its
    value instead of wrapping around to -2^63."""
    data = pd.DataFrame({"x": np.r_[np.full(100, 1e308), np.full(100, 1.0)], "c": ["a"] * 200})
    assert Metadata.detect(data)["x"].dtype == "float"
    out = ts.GaussianCopulaSynthesizer(seed=0).fit(data).sample(100, seed=0)
    assert out["x"].dtype == np.float64 and (out["x"] > 0).all()


def test_a_column_declared_datetime_over_numbers_is_refused() -> None:
    md = Metadata({"age": ColumnSpec("datetime")})
    with pytest.raises(DataError, match="holds numbers"):
        md.validate(pd.DataFrame({"age": [30, 41, 57]}))


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("nullable", "no", "nullable"),
        ("sensitive", "false", "sensitive"),
        ("categories", "north", "categories"),
        ("lower", "0", "lower"),
        ("upper", float("nan"), "upper"),
        ("upper", 1e308, "upper"),
        ("precision", 1.5, "precision"),
    ],
)
def test_metadata_values_are_type_checked(key, value, message) -> None:
    column = {"kind": "numerical", "dtype": "float", key: value}
    if key == "categories":
        column = {"kind": "categorical", key: value}
    with pytest.raises(MetadataError, match=message):
        Metadata.from_dict({"columns": {"x": column}})


def test_public_written_as_text_is_refused() -> None:
    """'"public": "false"' used to read as public: a DP fit took the domain for free."""
    with pytest.raises(MetadataError, match="JSON boolean"):
        Metadata.from_dict({"public": "false", "columns": {"x": {"kind": "boolean"}}})


def test_id_columns_take_no_domain() -> None:
    with pytest.raises(MetadataError, match="generated fresh"):
        Metadata.from_dict({"columns": {"x": {"kind": "id", "lower": 0, "upper": 5}}})


def test_a_failed_fit_leaves_the_fitted_model_as_it_was() -> None:
    data = pd.DataFrame({"x": np.arange(200.0), "c": ["a", "b"] * 100})
    md = Metadata(
        {
            "x": ColumnSpec("numerical", dtype="float", lower=0, upper=200, nullable=False),
            "c": ColumnSpec("categorical", categories=("a", "b")),
        },
        public=True,
    )
    synth = ts.MSTSynthesizer(epsilon=3.0, max_iters=50, binning="auto")
    synth.fit(data, md)
    before = synth.sample(50, seed=0)
    with pytest.raises(DataError):
        synth.fit(data.assign(x=np.nan), md)
    pd.testing.assert_frame_equal(synth.sample(50, seed=0), before)


@pytest.mark.parametrize("seed", [-1, "abc", 1.5, 2**70, True])
def test_bad_seeds_are_refused(seed) -> None:
    data = pd.DataFrame({"x": np.arange(50.0), "c": ["a", "b"] * 25})
    with pytest.raises(ParameterError, match="seed"):
        ts.GaussianCopulaSynthesizer(seed=seed).fit(data)
    fitted = ts.GaussianCopulaSynthesizer(seed=0).fit(data)
    with pytest.raises(ParameterError, match="seed"):
        fitted.sample(5, seed=seed)


def test_output_dtypes_follow_the_declarations() -> None:
    md = Metadata(
        {
            "i": ColumnSpec("numerical", dtype="int", nullable=False),
            "j": ColumnSpec("numerical", dtype="int"),
            "b": ColumnSpec("boolean"),
            "d": ColumnSpec("datetime", format="%Y-%m-%d"),
            "k": ColumnSpec("categorical", categories=(1, 2, 3), nullable=False),
            "s": ColumnSpec("categorical", categories=("x", "y")),
        }
    )
    assert output_dtypes(md) == {
        "i": "int64",
        "j": "Int64",
        "b": "boolean",
        "d": "object",
        "k": "int64",
        "s": "object",
    }


@pytest.mark.parametrize("trusted", ["no", 1, None])
def test_trusted_must_be_a_real_boolean(tmp_path, trusted) -> None:
    data = pd.DataFrame({"x": np.arange(50.0), "c": ["a", "b"] * 25})
    path = tmp_path / "m.tsyn"
    ts.GaussianCopulaSynthesizer(seed=0).fit(data).save(path)
    with pytest.raises(ParameterError, match="trusted"):
        ts.load(path, trusted=trusted)
