"""Metadata drafts (kinds of coded data, round bounds, never public) and checks of data against
metadata, in Python and on the command line; kinds tested against the public data cards."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tabsynth as ts
from tabsynth.cli import main
from tabsynth.errors import MetadataError, ParameterError, TabsynthError
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.metadata_tools import check, draft, load_dictionary, round_outwards
from tabsynth.schema import restore_dtypes

SHARED = Path(os.environ.get("TABSYNTH_SHARED", Path(__file__).parents[1] / ".." / "shared"))
DATASETS = SHARED / "datasets"
CARDS = sorted(DATASETS.glob("*.json")) if DATASETS.is_dir() else []
#: Rows read per table: enough for every kind rule, and the largest table drafts in seconds.
CARD_ROWS = 5_000
#: Columns whose card type only the code book gives: two-valued codes whose labels say yes/no.
#: Without the code book the draft must ask about each (PLEASE CONFIRM, offering the card's
#: kind); with it, it gets them right.
NEEDS_CODE_BOOK = {
    ("german_credit", "telephone"): "codes A191/A192, labelled none / yes",
    ("german_credit", "foreign_worker"): "codes A201/A202, labelled yes / no",
}


def _card(path: Path) -> dict | None:
    card = json.loads(path.read_text())
    return card if isinstance(card, dict) and isinstance(card.get("columns"), list) else None


@pytest.mark.shared
@pytest.mark.parametrize("path", CARDS, ids=[p.stem for p in CARDS])
def test_draft_kinds_match_the_data_cards(path):
    card = _card(path)
    if card is None:
        pytest.skip(f"{path.name} is not a data card with columns")
    table = pd.read_csv(
        path.parent / card["file"], keep_default_na=False, na_values=[""], low_memory=False
    )
    if len(table) > CARD_ROWS:  # a seeded sample: the files are sorted (by date, by payer)
        table = table.sample(CARD_ROWS, random_state=0)
    book = {c["name"]: c["value_labels"] for c in card["columns"] if "value_labels" in c}
    result = draft(table, value_labels=book)
    kinds = result.metadata
    wrong = {c["name"]: c["type"] for c in card["columns"] if kinds[c["name"]].kind != c["type"]}
    assert wrong == {}
    for name, question in result.confirm.items():  # each question offers the card's kind
        card_kind = next(c["type"] for c in card["columns"] if c["name"] == name)
        assert question.kinds[0] == kinds[name].kind and card_kind in question.kinds
    assert check(kinds, table) == []  # a draft fits the table it was read from
    without_book = draft(table)
    for key in (key for key in NEEDS_CODE_BOOK if key[0] == path.stem):
        name, card_kind = key[1], kinds[key[1]].kind
        assert without_book.metadata[name].kind != card_kind  # never a silent guess:
        assert card_kind in without_book.confirm[name].kinds[1:]
        assert without_book.notes[name][0].startswith("PLEASE CONFIRM")


if not CARDS:  # pragma: no cover - depends on the checkout

    @pytest.mark.shared
    def test_draft_kinds_match_the_data_cards():
        pytest.skip(f"no data cards: {DATASETS} is absent (set TABSYNTH_SHARED)")


@pytest.mark.parametrize("name", ["medical", "financial"])
def test_draft_kinds_match_the_bundled_samples(name):
    declared = ts.datasets.load_sample_metadata(name)
    drafted = Metadata.draft(ts.datasets.load_sample(name))
    assert {c: drafted[c].kind for c in declared} == {c: declared[c].kind for c in declared}


def test_coded_integers_become_categories_and_counts_stay_numbers():
    n = 200
    df = pd.DataFrame(
        {
            "SEX": [1, 2] * (n // 2),
            "PAY_0": [(i % 11) - 2 for i in range(n)],  # status codes -2..8
            "num_dependents": [1, 2] * (n // 2),  # a count: consecutive, named so
            "term_months": [36, 60] * (n // 2),  # two products, not a run of numbers
            "admission_type_id": [(i % 8) + 1 for i in range(n)],
            "patient_nbr": list(range(1000, 1000 + n)),
            "flag": [0, 1] * (n // 2),
            "answer": ["Yes", "No"] * (n // 2),
            "days": [i % 40 for i in range(n)],
        }
    )
    md = draft(df).metadata
    assert md["SEX"].kind == md["PAY_0"].kind == md["term_months"].kind == "categorical"
    assert md["SEX"].categories == (1, 2) and md["PAY_0"].categories[0] == -2
    assert md["admission_type_id"].kind == "categorical"
    assert md["num_dependents"].kind == md["days"].kind == "numerical"
    assert md["patient_nbr"].kind == "id"
    assert md["flag"].kind == "boolean"
    assert (md["answer"].kind, md["answer"].true_value, md["answer"].false_value) == (
        "boolean",
        "Yes",
        "No",
    )  # a flag in words, spelled as the table spells it


def test_two_values_are_flags_in_words_or_asked_about():
    n = 120
    df = pd.DataFrame(
        {
            "change": ["Ch", "No"] * (n // 2),  # one value says 'absent': a flag, asked
            "rare_drug": ["No", "Steady"] * (n // 2),  # two codes of the drugs' code list
            "drug": ["No", "Steady", "Up", "Down"] * (n // 4),
            "phone": ["A191", "A192"] * (n // 2),  # labels only a code book gives
            "med": ["Yes", "No"] * (n // 2),  # a yes/no pair: a flag, sure
            "sex": [1, 2] * (n // 2),
            "ok": ["True", "False"] * (n // 2),  # the boolean kind's own spelling
            "paid": ["0", "1"] * (n // 2),  # text: a flag or two codes, asked
        }
    )
    result = draft(df)
    md = result.metadata
    kinds = {c: md[c].kind for c in df}
    assert kinds == {
        "change": "boolean",
        "rare_drug": "categorical",
        "drug": "categorical",
        "phone": "categorical",
        "med": "boolean",
        "sex": "categorical",
        "ok": "boolean",
        "paid": "boolean",
    }
    spelled = {c: md[c].labels for c in ("change", "med", "paid", "ok")}
    assert spelled == {"change": ("No", "Ch"), "med": ("No", "Yes"), "paid": ("0", "1"), "ok": None}
    assert set(result.confirm) == {"change", "phone", "sex", "paid"}  # not the drugs, not med
    assert result.confirm["change"].kinds == ("boolean", "categorical")
    assert "'No' says 'absent'" in result.confirm["change"].why
    assert result.confirm["phone"].kinds == ("categorical", "boolean")
    assert "not a yes/no pair" in result.confirm["phone"].why
    assert result.confirm["paid"].kinds == ("boolean", "categorical")
    assert "change, phone, sex, paid" in result.notes[""][-1]
    assert check(md, df) == []  # the table fits its draft
    out = restore_dtypes(md.validate(df), md)  # and the flags come back as written
    assert out[["change", "med", "paid"]].equals(df[["change", "med", "paid"]])


def test_few_valued_integers_are_codes_or_counts_and_the_draft_asks():
    df = pd.DataFrame(
        {"cp": [1, 2, 3, 4] * 30, "num_dependents": [0, 1, 2, 3] * 30, "x": [0.5] * 120}
    )
    confirm = draft(df).confirm
    assert confirm["cp"].kinds == ("categorical", "numerical")
    assert confirm["num_dependents"].kinds == ("numerical", "categorical")
    assert str(confirm["cp"]).startswith("PLEASE CONFIRM: categorical or numerical?")
    sure = pd.DataFrame({"flag": [0, 1] * 60, "x": [i / 7 for i in range(120)]})
    assert draft(sure).confirm == {}


def test_an_encoded_table_is_categorical_throughout():
    df = pd.DataFrame({"age": [1, 5, 70, 3] * 30, "sex": [0, 1] * 60, "w": [0, 99, 4, 7] * 30})
    assert {draft(df).metadata[c].kind for c in df} == {"categorical"}


def test_bounds_are_rounded_outwards_and_dates_to_whole_years():
    assert round_outwards(18, 100, True) == (10, 100)
    assert round_outwards(51.2, 600.0, False) == (0.0, 600.0)
    assert round_outwards(0.26, 13.52, False) == (0.0, 14.0)
    assert round_outwards(-165580, 964511, True) == (-200000, 1000000)
    df = pd.DataFrame({"d": ["2019-03-04", "2021-07-01"] * 40, "x": [3.25, 7.5] * 40})
    md = draft(df).metadata
    assert md["d"].format == "%Y-%m-%d"
    assert (md["d"].lower, md["d"].upper) == (
        pd.Timestamp("2019-01-01"),
        pd.Timestamp("2021-12-31"),
    )
    assert md["x"].lower <= 3.25 and md["x"].upper >= 7.5


def test_a_draft_is_never_public_and_dp_fits_refuse_it():
    df = ts.datasets.load_sample("medical").head(300)
    result = draft(df)
    assert result.metadata.source == "data" and not result.metadata.public
    assert "public" in result.notes[""][0] and result.notes["age"]
    with pytest.raises(TabsynthError):
        ts.AIMSynthesizer(epsilon=1.0).fit(df, metadata=result.metadata)


def test_check_lists_every_contradiction_without_values_unless_asked():
    md = Metadata(
        {
            "age": ColumnSpec("numerical", dtype="int", lower=0, upper=100, nullable=False),
            "sex": ColumnSpec("categorical", categories=("F", "M"), nullable=False),
        }
    )
    df = pd.DataFrame({"age": [30, 130, 140, None], "sex": ["F", "X", "M", "F"], "x": 1})
    found = check(md, df)
    text = "\n".join(map(str, found))
    assert "x: is in the table but not in the metadata" in text
    assert "age: has missing values but nullable: false (1 value)" in text
    assert "age: holds values outside its declared bounds [0, 100] (2 values)" in text
    assert any(f.column == "sex" and f.count == 1 for f in found)
    assert "130" not in text and "'X'" not in text  # private values only on request
    shown = "\n".join(map(str, check(md, df, show_values=1)))
    assert "e.g. 130" in shown and "e.g. 'X'" in shown
    assert check(md, df.drop(columns="x").iloc[[0]]) == []


def test_cli_draft_then_check(tmp_path, capsys):
    data = tmp_path / "medical.csv"
    ts.datasets.load_sample("medical").head(400).to_csv(data, index=False)
    out = tmp_path / "m.json"
    assert main(["metadata", "draft", str(data), "-o", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["source"] == "data" and written["notes"]["age"]
    assert Metadata.load(out)["sex"].kind == "categorical"  # the notes do not stop loading
    drafted = capsys.readouterr().err
    assert "sex: PLEASE CONFIRM: categorical or boolean?" in drafted
    assert main(["metadata", "check", str(out), str(data)]) == 0
    assert "sex: PLEASE CONFIRM" in capsys.readouterr().err  # until the note is deleted
    written["notes"].pop("sex")
    decided = tmp_path / "decided.json"
    decided.write_text(json.dumps(written))
    assert main(["metadata", "check", str(decided), str(data)]) == 0
    assert "PLEASE CONFIRM" not in capsys.readouterr().err
    narrow = json.loads(out.read_text())
    narrow["columns"]["age"]["upper"] = 30
    (tmp_path / "narrow.json").write_text(json.dumps(narrow))
    with pytest.raises(SystemExit) as exit_:  # exit code 1, like a failed audit
        main(["metadata", "check", str(tmp_path / "narrow.json"), str(data)])
    assert exit_.value.code == 1
    printed = capsys.readouterr().out
    assert "age: holds values outside its declared bounds [10, 30]" in printed


def test_data_dictionary_in_csv(tmp_path):
    path = tmp_path / "dictionary.csv"
    path.write_text(
        "column,kind,type,lower,upper,codes,nullable,group\n"
        "age,numerical,int,18,100,,false,\n"
        "sex,categorical,,,,F|M,false,\n"
        "grade,categorical,,,,1|2|3,true,\n"
        "diag_1,categorical,,,,,true,icd9\n"
        "diag_2,categorical,,,,,true,icd9\n"
    )
    md = load_dictionary(path)
    assert md.source == "user" and not md.public
    assert md["diag_2"].value_group == "icd9" and md["sex"].value_group is None
    assert (md["age"].lower, md["age"].upper, md["age"].nullable) == (18, 100, False)
    assert md["sex"].categories == ("F", "M") and md["grade"].categories == (1, 2, 3)
    out = tmp_path / "m.json"
    assert main(["metadata", "from-dictionary", str(path), "-o", str(out)]) == 0
    assert Metadata.load(out)["age"].dtype == "int"
    path.write_text("column,kind,type,group\nage,numerical,int,icd9\n")
    with pytest.raises(MetadataError, match="only categorical columns take a group"):
        load_dictionary(path)


def test_kinds_from_a_parquet_schema_read_no_rows(tmp_path):
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    from tabsynth.metadata_tools import from_arrow_schema

    table = pa.table(
        {
            "n": pa.array([1, 2], pa.int32()),
            "x": pa.array([0.5, None], pa.float64()),
            "ok": pa.array([True, False]),
            "day": pa.array([datetime.date(2020, 1, 1)] * 2, pa.date32()),
            "at": pa.array([0, 1], pa.timestamp("s", tz="UTC")),
            "code": pa.array(["a", "b"]).dictionary_encode(),
            "text": pa.array(["a", "b"]),
        }
    )
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    md = from_arrow_schema(path)
    kinds = {c: (md[c].kind, md[c].dtype) for c in md}
    assert kinds == {
        "n": ("numerical", "int"),
        "x": ("numerical", "float"),
        "ok": ("boolean", None),
        "day": ("datetime", None),
        "at": ("datetime", None),
        "code": ("categorical", None),
        "text": ("categorical", None),
    }
    assert md["at"].timezone == "UTC" and md.source == "user" and not md.public
    assert all(not md[c].has_domain for c in ("n", "x", "day", "code"))
    assert from_arrow_schema(table.schema) == md
    out = tmp_path / "m.json"
    assert main(["metadata", "from-schema", str(path), "-o", str(out)]) == 0
    assert Metadata.load(out) == md


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_check_refuses_a_bad_number_of_values_to_show(bad) -> None:
    """A negative slice would quote every private value but one."""
    md = Metadata({"age": ColumnSpec("numerical", dtype="int", lower=0, upper=100)})
    with pytest.raises(ParameterError, match="show_values"):
        check(md, pd.DataFrame({"age": [30, 130]}), show_values=bad)


def test_a_code_book_decides_two_valued_codes(tmp_path, capsys):
    df = pd.DataFrame({"phone": ["A191", "A192"] * 30, "alien": ["A201", "A201", "A202"] * 20})
    book = {
        "phone": {"A191": "none", "A192": "yes, registered"},
        "alien": {"A201": "yes", "A202": "no"},
    }
    result = draft(df, value_labels=book)
    assert result.metadata["alien"].labels == ("A202", "A201")  # "yes"/"no": sure
    assert result.metadata["phone"].labels == ("A191", "A192")  # "none" is false: asked
    assert set(result.confirm) == {"phone"} and "labelled 'none'" in result.confirm["phone"].why
    for bad, message in [
        ({"nope": {"a": "yes"}}, "'nope', which is not a column"),
        ({"phone": ["A191"]}, "must map each code to a text label"),
        (["phone"], "must map column names"),
    ]:
        with pytest.raises(MetadataError, match=message):
            draft(df, value_labels=bad)
    data, labels, out = tmp_path / "t.csv", tmp_path / "book.json", tmp_path / "m.json"
    df.to_csv(data, index=False)
    labels.write_text(json.dumps(book))
    assert (
        main(["metadata", "draft", str(data), "--value-labels", str(labels), "-o", str(out)]) == 0
    )
    assert Metadata.load(out)["alien"].true_value == "A201"
    assert "phone: PLEASE CONFIRM: boolean or categorical?" in capsys.readouterr().err


def test_columns_named_alike_that_share_codes_are_drafted_as_a_value_group():
    rng = np.random.default_rng(0)
    codes = ["250.01", "428", "414", "V45", "401"]
    table = pd.DataFrame(
        {
            "diag_1": rng.choice(codes, 200),
            "diag_2": rng.choice(codes[1:], 200),
            "diag 3": rng.choice([*codes[:3], "786"], 200),
            "answer1": rng.choice(["yes", "no", "maybe"], 200),  # alike in name only
            "answer2": rng.choice(["red", "green", "blue"], 200),
            "score1": rng.normal(size=200),  # numbers: no categories to share
            "score2": rng.normal(size=200),
        }
    )
    result = draft(table)
    groups = {n: s.value_group for n, s in result.metadata.columns.items()}
    assert groups == {
        **dict.fromkeys(table, None),
        **dict.fromkeys(["diag_1", "diag_2", "diag 3"], "diag"),
    }
    assert any("value_group 'diag', with 'diag_1', 'diag 3'" in n for n in result.notes["diag_2"])
    assert result.metadata.schema_only()["diag_1"].value_group == "diag"


def test_a_value_group_keeps_only_members_that_share_with_the_others_that_stay():
    """c1 and c2 share nothing but what c3 holds; c3 shares a quarter of its values and
    leaves, and then c1 and c2 do not qualify. Q1 and q2 share exactly half of Q1's values (the
    least that qualifies), whatever the stem's case; q3 shares none and is left out."""
    wide = ["x", "y", "p", "q", *[f"w{i}" for i in range(12)]]
    table = pd.DataFrame(
        {
            "c1": ["x", "y"] * 8,
            "c2": ["p", "q"] * 8,
            "c3": wide,
            "Q1": ["a", "b", "c", "d"] * 4,
            "q2": ["a", "b", "e"] * 5 + ["a"],
            "q3": ["z1", "z2"] * 8,
        }
    )
    groups = {n: s.value_group for n, s in draft(table).metadata.columns.items()}
    assert groups == {"c1": None, "c2": None, "c3": None, "Q1": "Q", "q2": "Q", "q3": None}


def test_an_encoded_table_drafts_no_value_group():
    table = pd.DataFrame({f"x{i}": np.arange(100) % 4 for i in range(5)})
    assert all(s.value_group is None for s in draft(table).metadata.columns.values())
