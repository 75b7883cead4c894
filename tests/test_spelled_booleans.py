"""Booleans spelled in words or codes (``true_value`` / ``false_value``): declared, validated,
modelled as flags by every synthesizer, and given back exactly as the table spells them; and
the spelling is domain, so a DP fit uses it only when the metadata is public."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from tabsynth.errors import DataError, MetadataError, ParameterError
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.synthesizers import AIMSynthesizer, MSTSynthesizer
from tabsynth.synthesizers.autoregressive import AutoregressiveSynthesizer
from tabsynth.synthesizers.sdv import GaussianCopulaSynthesizer

from neighbours import differences, fingerprint, fit_and_watch

ROWS = 600


def table(rows: int = ROWS) -> pd.DataFrame:
    """Prescriptions: ``med`` Yes/No, ``change`` Ch/No (only where ``med``), ``code`` 1/2."""
    rng = np.random.default_rng(4)
    med = rng.random(rows) < 0.7
    return pd.DataFrame(
        {
            "med": np.where(med, "Yes", "No").astype(object),
            "change": np.where(med & (rng.random(rows) < 0.6), "Ch", "No").astype(object),
            "code": np.where(rng.random(rows) < 0.4, 2, 1),
            "age": rng.integers(20, 90, rows),
        }
    )


def metadata(public: bool = True) -> Metadata:
    return Metadata(
        {
            "med": ColumnSpec("boolean", true_value="Yes", false_value="No", nullable=False),
            "change": ColumnSpec("boolean", true_value="Ch", false_value="No", nullable=False),
            "code": ColumnSpec("boolean", true_value=2, false_value=1, nullable=False),
            "age": ColumnSpec("numerical", dtype="int", lower=0, upper=100, nullable=False),
        },
        public=public,
    )


@pytest.mark.parametrize(
    "spelling, message",
    [
        ({"true_value": "Yes"}, "both true_value and false_value"),
        ({"true_value": True, "false_value": False}, "needs neither"),
        ({"true_value": "1", "false_value": 1}, "must differ"),
        ({"true_value": 1.5, "false_value": 0}, "a string or a whole number"),
    ],
)
def test_a_spelling_is_both_words_different_and_not_true_false(spelling, message):
    with pytest.raises(MetadataError, match=message):
        ColumnSpec("boolean", **spelling)


def test_only_booleans_are_spelled_and_the_spelling_round_trips_through_json():
    with pytest.raises(MetadataError, match="only boolean columns take 'true_value'"):
        ColumnSpec("categorical", true_value="a", false_value="b")
    md = metadata()
    assert md.to_dict()["columns"]["med"]["true_value"] == "Yes"
    assert Metadata.from_json(md.to_json()) == md


def test_validation_reads_the_spelling_as_flags_and_refuses_other_values():
    data = table(20)
    clean = metadata().validate(data)
    assert clean["med"].dtype == bool and clean["code"].dtype == bool
    assert (clean["med"] == (data["med"] == "Yes")).all()
    assert (clean["code"] == (data["code"] == 2)).all()
    # a CSV with a missing value reads an int column as floats: 2.0 is still the code 2
    floats = Metadata({"code": dataclasses.replace(metadata()["code"], nullable=True)})
    read = floats.validate(pd.DataFrame({"code": [2.0, 1.0, np.nan]}))["code"]
    assert read.tolist()[:2] == [True, False] and read.isna().tolist() == [False, False, True]
    bad = data.assign(med=["Maybe", *data["med"][1:]])
    with pytest.raises(DataError, match=r"spelled 'Yes' / 'No' but holds other values.*'Maybe'"):
        metadata().validate(bad)
    with pytest.raises(DataError) as refused:  # a DP fit's refusal quotes no value
        metadata().validate(bad, private=True)
    assert "Maybe" not in str(refused.value)
    nullable = Metadata({"med": dataclasses.replace(metadata()["med"], nullable=True)})
    assert nullable.validate(bad[["med"]], on_out_of_bounds="clip")["med"].isna().sum() == 1


SYNTHESIZERS = {
    "mst": lambda: MSTSynthesizer(1.0, max_iters=100),
    "aim": lambda: AIMSynthesizer(1.0, max_rounds=4, round_iters=20, max_iters=60),
    "autoregressive": lambda: AutoregressiveSynthesizer(epochs=1, width=8, progress=False),
    "gaussian copula": lambda: GaussianCopulaSynthesizer(),
}


@pytest.mark.parametrize("name", SYNTHESIZERS)
def test_every_synthesizer_gives_the_flags_back_as_spelled(name):
    synth = SYNTHESIZERS[name]().fit(table(), metadata())
    out = synth.sample(300, seed=1)
    assert out.dtypes.astype(str).to_dict() == {
        "med": "object",
        "change": "object",
        "code": "int64",
        "age": "int64",
    }
    assert set(out["med"]) == {"Yes", "No"} and set(out["change"]) == {"Ch", "No"}
    assert set(out["code"]) == {1, 2}
    given = synth.sample(40, seed=1, conditions={"med": "No"})
    assert (given["med"] == "No").all()
    with pytest.raises(ParameterError, match=r"cannot condition on 'med'.*'Maybe'"):
        synth.sample(5, seed=1, conditions={"med": "Maybe"})
    shared = synth.sample(100, seed=1, shares={"change": "equal"})
    assert shared["change"].value_counts().to_dict() == {"Ch": 50, "No": 50}


def _neighbours(extra_med: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    data = table()
    row = data.iloc[[7]].assign(med=extra_med)
    return data, pd.concat([data, row], ignore_index=True)


@pytest.mark.parametrize(
    "public, extra_med",
    [(True, "No"), (False, "No"), (False, "Maybe")],
    ids=["public spelling", "private spelling", "private spelling, a new word"],
)
def test_neighbours_expose_the_same_schema_and_messages(tmp_path, public, extra_med):
    """Public: the spelling types the output whatever the rows hold. Not public: the words are
    the table's, so the column is a categorical whose categories a charged release picks; one
    more row (even with a third word) changes nothing deterministic."""
    data, other = _neighbours(extra_med)

    def make() -> MSTSynthesizer:
        return MSTSynthesizer(4.0, max_iters=100, seed=0, noise_seed=3, on_out_of_bounds="clip")

    left, shown_left = fit_and_watch(make, data, metadata(public))
    right, shown_right = fit_and_watch(make, other, metadata(public))
    first = fingerprint(left, shown_left, tmp_path)
    assert not differences(first, fingerprint(right, shown_right, tmp_path))
    kinds = {c: spec["kind"] for c, spec in first["schema"]["columns"].items()}
    assert kinds["med"] == ("boolean" if public else "categorical")
