"""Metadata: detection, the public-domain flag, JSON and SDV round trips, validation errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tabsynth.errors import DataError, FileFormatError, MetadataError
from tabsynth.metadata import ColumnSpec, Metadata


def test_detect_kinds_and_marks_source(mixed_frame):
    md = Metadata.detect(mixed_frame)
    kinds = {name: spec.kind for name, spec in md.columns.items()}
    assert kinds == {
        "age": "numerical",
        "income": "numerical",
        "sex": "categorical",
        "smoker": "boolean",
        "visit": "datetime",
        "patient": "id",
    }
    assert md.source == "data" and not md.public
    assert md["age"].dtype == "int" and md["income"].dtype == "float"
    assert md["income"].precision == 2 and md["income"].nullable
    assert not md["age"].nullable
    assert md["sex"].categories == ("F", "M")
    assert md["visit"].lower == mixed_frame["visit"].min()


def test_json_round_trip(tmp_path, mixed_frame):
    md = Metadata.detect(mixed_frame)
    path = tmp_path / "m.json"
    md.save(path)
    again = Metadata.load(path)
    assert again == md
    assert json.loads(path.read_text())["source"] == "data"


def test_detected_metadata_cannot_be_public(mixed_frame):
    raw = Metadata.detect(mixed_frame).to_dict()
    raw["public"] = True
    with pytest.raises(MetadataError, match="cannot be public"):
        Metadata.from_dict(raw)


def test_schema_only_drops_every_data_derived_part(mixed_frame):
    schema = Metadata.detect(mixed_frame).schema_only()
    assert schema.source == "data" and not schema.public  # detected kinds: still data
    for spec in schema.columns.values():
        assert spec.lower is None and spec.upper is None and spec.categories is None
        assert spec.nullable or spec.kind in ("id", "pii", "text")
    assert schema["age"].precision == 0


def test_declared_makes_checked_metadata_the_users_own_but_not_public(mixed_frame):
    schema = Metadata.detect(mixed_frame).schema_only()
    mine = schema.declared()
    assert mine.source == "user" and not mine.public and mine.columns == schema.columns


def test_user_metadata_declares_itself_public():
    md = Metadata.from_dict(
        {
            "public": True,
            "columns": {
                "age": {"kind": "numerical", "dtype": "int", "lower": 0, "upper": 120},
                "when": {"kind": "datetime", "lower": "2019-01-01", "upper": "2020-12-31"},
            },
        }
    )
    assert md.public and md.source == "user"
    assert md["when"].lower == pd.Timestamp("2019-01-01")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"columns": {"a": {"kind": "number"}}}, "unknown kind"),
        ({"columns": {"a": {"kind": "numerical"}}}, "dtype"),
        (
            {"columns": {"a": {"kind": "numerical", "dtype": "int", "lower": 5, "upper": 1}}},
            "above",
        ),
        ({"columns": {"a": {"kind": "categorical", "colour": 1}}}, "unknown keys"),
        ({"columns": {"a": {"kind": "categorical", "categories": ["x", "x"]}}}, "unique"),
        ({"columns": {}}, "at least one column"),
        ({"columns": {"a": {"kind": "boolean"}}, "schema_version": 7}, "schema_version"),
    ],
)
def test_malformed_metadata_is_refused(raw, message):
    with pytest.raises(MetadataError, match=message):
        Metadata.from_dict(raw)


def test_unreadable_metadata_file(tmp_path):
    with pytest.raises(FileFormatError):
        Metadata.load(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(MetadataError, match="not valid JSON"):
        Metadata.load(bad)


def test_from_sdv_dict_and_file(tmp_path):
    sdv = {
        "METADATA_SPEC_VERSION": "V1",
        "tables": {
            "patients": {
                "primary_key": "pid",
                "columns": {
                    "pid": {"sdtype": "id"},
                    "age": {"sdtype": "numerical", "computer_representation": "Int64"},
                    "sex": {"sdtype": "categorical"},
                    "seen": {"sdtype": "datetime", "datetime_format": "%Y-%m-%d"},
                    "email": {"sdtype": "email", "pii": True},
                },
            }
        },
    }
    md = Metadata.from_sdv(sdv)
    assert [md[c].kind for c in md] == ["id", "numerical", "categorical", "datetime", "pii"]
    assert md["age"].dtype == "int" and md["seen"].format == "%Y-%m-%d"
    path = tmp_path / "sdv.json"
    path.write_text(json.dumps(sdv))
    assert Metadata.from_sdv(path) == md
    assert Metadata.from_dict(sdv) == md  # from_dict recognises the SDV layout


def test_validate_refuses_mismatched_columns(mixed_frame):
    md = Metadata.detect(mixed_frame)
    with pytest.raises(MetadataError, match="not in the table"):
        md.validate(mixed_frame.drop(columns=["age"]))
    with pytest.raises(MetadataError, match="not in the metadata"):
        md.validate(mixed_frame.assign(extra=1))


def test_validate_out_of_bounds_error_or_clip():
    md = Metadata.from_dict(
        {
            "columns": {
                "x": {
                    "kind": "numerical",
                    "dtype": "float",
                    "lower": 0,
                    "upper": 1,
                    "nullable": False,
                }
            }
        }
    )
    frame = pd.DataFrame({"x": [0.5, 2.0]})
    with pytest.raises(DataError, match="outside its declared bounds"):
        md.validate(frame)
    assert md.validate(frame, on_out_of_bounds="clip")["x"].tolist() == [0.5, 1.0]


def test_validate_unknown_category_error_or_missing():
    md = Metadata({"c": ColumnSpec("categorical", categories=("a", "b"))})
    frame = pd.DataFrame({"c": ["a", "z"]})
    with pytest.raises(DataError, match="outside its declared categories"):
        md.validate(frame)
    assert md.validate(frame, on_out_of_bounds="clip")["c"].isna().tolist() == [False, True]


def test_validate_wrong_types_and_missing_in_non_nullable():
    md = Metadata(
        {
            "n": ColumnSpec("numerical", dtype="float", nullable=False),
            "b": ColumnSpec("boolean"),
            "d": ColumnSpec("datetime"),
        }
    )
    ok = pd.DataFrame({"n": ["1.5", "2"], "b": ["True", "false"], "d": ["2020-01-01", None]})
    clean = md.validate(ok)
    assert clean["n"].dtype == float and clean["b"].dtype == bool
    assert str(clean["d"].dtype) == "datetime64[ns]"
    with pytest.raises(DataError, match="declared numerical"):
        md.validate(ok.assign(n=["1.5", "lots"]))
    with pytest.raises(DataError, match="declared boolean"):
        md.validate(ok.assign(b=["yes", "no"]))
    with pytest.raises(DataError, match="declared datetime"):
        md.validate(ok.assign(d=["2020-01-01", "someday"]))
    with pytest.raises(DataError, match="nullable: false"):
        md.validate(ok.assign(n=[1.0, np.nan]))


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"a": []}), "no rows"),
        (pd.DataFrame(), "no columns"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), "duplicate column"),
        (pd.DataFrame({"a": [np.nan, np.nan]}), "entirely missing"),
        (pd.DataFrame({"a": [1 + 2j, 3j]}), "unsupported dtype"),
        (pd.DataFrame({"a": [1.0, np.inf]}), "infinite"),
    ],
)
def test_detect_refuses_bad_tables(frame, message):
    with pytest.raises(DataError, match=message):
        Metadata.detect(frame)


def test_not_a_frame():
    with pytest.raises(DataError, match="DataFrame"):
        Metadata.detect([[1, 2]])


def test_dates_stored_as_text_are_detected_with_their_format():
    frame = pd.DataFrame({"d": ["2021-03-01", "2021-03-05", None], "s": ["a", "b", "2021-01-01"]})
    md = Metadata.detect(frame)
    assert md["d"].kind == "datetime" and md["d"].format == "%Y-%m-%d" and md["d"].nullable
    assert md["s"].kind == "categorical"
    assert str(md.validate(frame)["d"].dtype) == "datetime64[ns]"
