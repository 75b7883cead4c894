"""Rules in the metadata: their JSON form, their validation, and the checker (one test per kind)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tabsynth.cli import main
from tabsynth.errors import MetadataError
from tabsynth.evaluation import Report, evaluate
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.rules import Combinations, Compare, Condition, Conditional, Dependency, Identity
from tabsynth.rules.check import check, violations
from tabsynth.rules.report import rules_html, rules_section
from tabsynth.rules.suggest import suggest_rules

COLUMNS = {
    "age": ColumnSpec("numerical", dtype="int", lower=0, upper=100),
    "marital": ColumnSpec("categorical", categories=("single", "married")),
    "relationship": ColumnSpec("categorical", categories=("Husband", "Wife", "Child")),
    "sex": ColumnSpec("categorical", categories=("Male", "Female"), nullable=False),
    "code": ColumnSpec("numerical", dtype="int", lower=1, upper=3),
    "level": ColumnSpec("categorical", categories=("low", "mid", "high")),
    "a": ColumnSpec("numerical", dtype="float", lower=0, upper=10),
    "b": ColumnSpec("numerical", dtype="float", lower=0, upper=10),
    "total": ColumnSpec("numerical", dtype="float", lower=0, upper=20),
    "admitted": ColumnSpec("datetime", lower="2020-01-01", upper="2021-12-31", format="%Y-%m-%d"),
    "discharged": ColumnSpec("datetime", lower="2020-01-01", upper="2021-12-31"),
    "pid": ColumnSpec("id"),
}

ALL_KINDS = [
    {"kind": "compare", "left": "discharged", "op": ">=", "right": "admitted"},
    {"kind": "compare", "name": "school ages", "left": "age", "op": ">=", "value": 12},
    {
        "kind": "conditional",
        "if": [{"column": "age", "op": "<", "value": 15}],
        "then": [{"column": "marital", "op": "missing"}],
    },
    {
        "kind": "conditional",
        "if": [{"column": "relationship", "op": "==", "value": "Husband"}],
        "then": [{"column": "sex", "op": "in", "value": ["Male"]}],
    },
    {"kind": "dependency", "determinant": "code", "dependent": "level"},
    {
        "kind": "dependency",
        "determinant": "level",
        "dependent": "code",
        "mapping": [["low", 1], ["mid", 2], ["high", 3]],
    },
    {
        "kind": "combinations",
        "columns": ["relationship", "sex"],
        "forbidden": [["Husband", "Female"]],
    },
    {"kind": "identity", "column": "total", "plus": ["a", "b"], "tolerance": 0.01},
]


def metadata(rules: list) -> Metadata:
    return Metadata.from_dict(
        {"columns": {n: s.to_dict() for n, s in COLUMNS.items()}, "rules": rules}
    )


def frame() -> pd.DataFrame:
    """Six rows; row 5 breaks every rule, the others none (the dependency without mapping:
    its code 1 says 'high' where rows 0 and 3 say 'low')."""
    return pd.DataFrame(
        {
            "age": [40, 14, 30, 50, 20, 11],
            "marital": ["married", None, "single", "married", None, "single"],
            "relationship": ["Husband", "Child", "Wife", "Husband", None, "Husband"],
            "sex": ["Male", "Female", "Female", "Male", "Female", "Female"],
            "code": [1, 2, 3, 1, 2, 1],
            "level": ["low", "mid", "high", "low", "mid", "high"],
            "a": [1.0, 2.0, 3.0, np.nan, 5.0, 1.0],
            "b": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            "total": [2.0, 3.005, 4.0, 7.0, 6.0, 5.0],
            "admitted": [
                "2020-01-01",
                "2020-02-01",
                "2020-03-01",
                None,
                "2020-05-01",
                "2020-06-09",
            ],
            "discharged": pd.to_datetime(
                ["2020-01-03", "2020-02-01", "2020-03-05", "2020-04-01", None, "2020-06-08"]
            ),
            "pid": [f"p{i}" for i in range(6)],
        }
    )


def test_every_kind_round_trips_through_json() -> None:
    md = metadata(ALL_KINDS)
    assert len(md.rules) == len(ALL_KINDS)
    again = Metadata.from_json(md.to_json())
    assert again == md
    assert json.loads(again.to_json())["rules"][1]["name"] == "school ages"
    # rules may hold values read off the rows, like bounds: not part of the bare schema
    assert not md.schema_only().rules


def test_python_objects_equal_their_json() -> None:
    rules = (
        Compare("discharged", ">=", right="admitted"),
        Conditional((Condition("age", "<", 15),), (Condition("marital", "missing"),)),
        Dependency("level", "code", mapping=[("low", 1), ("mid", 2), ("high", 3)]),
        Combinations(("relationship", "sex"), forbidden=[("Husband", "Female")]),
        Identity("total", plus=("a", "b"), tolerance=0.01),
    )
    md = Metadata(COLUMNS, rules=rules)
    chosen = [ALL_KINDS[i] for i in (0, 2, 5, 6, 7)]
    assert md == metadata(chosen)


def test_each_kind_is_checked_row_by_row() -> None:
    md = metadata(ALL_KINDS)
    shares = {r.rule.label: r.satisfied for r in check(frame(), md)}
    # row 5 breaks every rule; missing operands make comparisons and identities not applicable
    assert list(shares.values()) == [5] * len(ALL_KINDS)
    broken = violations(frame(), md)
    assert all(list(rows) == [5] for rows in broken.values())
    assert len(broken) == len(ALL_KINDS)


def test_conditional_then_part_is_strict_about_missing_values() -> None:
    md = metadata([ALL_KINDS[3]])
    data = frame()
    data.loc[0, "sex"] = None
    (result,) = check(data, md)
    assert result.satisfied == 4  # row 0, a husband whose sex is missing, breaks it too


def test_checker_reads_values_written_as_text() -> None:
    """A CSV read as text (codes as '1', dates as strings) is checked like typed values."""
    md = metadata([ALL_KINDS[0], ALL_KINDS[5]])
    text = frame().astype(str).replace({"None": None, "nan": None, "NaT": None})
    assert [r.satisfied for r in check(text, md)] == [5, 5]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"kind": "compare", "left": "nope", "op": ">", "value": 1}, "does not declare"),
        ({"kind": "compare", "left": "sex", "op": ">", "value": "Male"}, "orders values"),
        ({"kind": "compare", "left": "age", "op": "=>", "value": 1}, "unknown operator"),
        ({"kind": "compare", "left": "age", "op": ">", "right": "admitted"}, "two numerical"),
        ({"kind": "compare", "left": "age", "op": ">"}, "exactly one of"),
        ({"kind": "compare", "left": "pid", "op": "==", "value": "x"}, "generated fresh"),
        (
            {"kind": "conditional", "if": [{"column": "age", "op": "<", "value": 9}], "then": []},
            "at least one",
        ),
        (
            {
                "kind": "conditional",
                "if": [{"column": "relationship", "op": "==", "value": "Son"}],
                "then": [{"column": "sex", "op": "==", "value": "Male"}],
            },
            "not a declared category",
        ),
        (
            {
                "kind": "conditional",
                "if": [{"column": "age", "op": "<", "value": 9}],
                "then": [{"column": "sex", "op": "missing"}],
            },
            "nullable: false",
        ),
        (
            {"kind": "dependency", "determinant": "level", "dependent": "code", "mapping": [1]},
            "pairs",
        ),
        (
            {
                "kind": "dependency",
                "determinant": "level",
                "dependent": "code",
                "mapping": [["low", 1], ["low", 2]],
            },
            "two values",
        ),
        ({"kind": "combinations", "columns": ["age", "sex"], "allowed": [[1, "Male"]]}, "take"),
        ({"kind": "combinations", "columns": ["relationship", "sex"]}, "exactly one of"),
        ({"kind": "identity", "column": "total", "plus": ["a", "sex"]}, "identities add"),
        ({"kind": "identity", "column": "total", "plus": "a"}, "list of column names"),
        ({"kind": "identity", "column": "total", "plus": ["a"], "bogus": 1}, "unknown keys"),
        ({"kind": "sum", "column": "total"}, "'kind' is one of"),
    ],
)
def test_bad_rules_are_refused_with_the_rule_and_the_fix(rule, message) -> None:
    with pytest.raises(MetadataError, match=message):
        metadata([rule])


def test_two_rules_deriving_one_column_or_a_cycle_are_refused() -> None:
    twice = [ALL_KINDS[5], {"kind": "dependency", "determinant": "age", "dependent": "code",
                            "mapping": [[1, 1]]}]  # fmt: skip
    with pytest.raises(MetadataError, match="already derives"):
        metadata(twice)
    cycle = [
        {"kind": "identity", "column": "total", "plus": ["a", "b"]},
        {"kind": "identity", "column": "a", "plus": ["total"], "minus": ["b"]},
    ]
    with pytest.raises(MetadataError, match="cycle"):
        metadata(cycle)


def test_rules_must_be_a_list() -> None:
    raw = {"columns": {"age": COLUMNS["age"].to_dict()}, "rules": {"kind": "compare"}}
    with pytest.raises(MetadataError, match="'rules' must be a list"):
        Metadata.from_dict(raw)


def test_report_section_shares_and_synthetic_examples_only() -> None:
    md = metadata(ALL_KINDS)
    real = frame().iloc[:5]  # every rule holds
    synthetic = frame()  # row 5 breaks every rule
    section = rules_section(real, synthetic, md)
    assert section["all_hold"] is False and section["min_share_synthetic"] == 5 / 6
    for entry in section["rules"]:
        assert entry["share_real"] == 1.0 and entry["broken_synthetic"] == 1
        (example,) = entry["examples"]
        assert set(example) == set(entry["columns"])  # the rule's columns of row 5 only
    assert section["rules"][-1]["examples"][0] != {}
    page = rules_html({"rules": section})
    assert "83.33 %" in page and "100.00 %" in page


def test_evaluate_reports_the_rules_in_json_and_html(tmp_path) -> None:
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"a": rng.uniform(0, 5, 300).round(2), "b": rng.uniform(0, 5, 300)})
    real["total"] = real["a"] + real["b"]
    synthetic = real.sample(frac=1.0, random_state=1).reset_index(drop=True)
    synthetic.loc[:9, "total"] += 1.0
    md = Metadata(
        {n: ColumnSpec("numerical", dtype="float") for n in real.columns},
        rules=(Identity("total", plus=("a", "b"), name="total is the sum"),),
    )
    report = evaluate(real, synthetic, metadata=md, progress=False)
    data = report.to_dict()
    (entry,) = data["rules"]["rules"]
    assert entry["rule"] == "total is the sum" and entry["broken_synthetic"] == 10
    assert data["summary"]["rules_min_share"] == pytest.approx(290 / 300)
    assert "total is the sum" in report.to_html()
    assert Report.from_json(report.to_json()).to_dict()["rules"] == data["rules"]


def suggest_frame(rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    code = rng.integers(1, 4, rows)
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 100, rows), "D")
    kind = rng.choice(["child", "adult"], rows)
    return pd.DataFrame(
        {
            "code": code,
            "level": np.array(["low", "mid", "high"])[code - 1],
            "start": start,
            "end": start + pd.to_timedelta(rng.integers(1, 30, rows), "D"),
            "kind": kind,
            "job": np.where(kind == "child", None, rng.choice(["a", "b"], rows)),
            "noise": rng.normal(size=rows),
        }
    )


def test_suggest_rules_finds_what_holds_and_only_that() -> None:
    data = suggest_frame()
    md = Metadata.detect(data)
    found = {r.describe(): r for r in suggest_rules(data, md)}
    assert "end > start" in found
    assert "level is determined by code" in found
    assert dict(found["level is determined by code"].mapping) == {1: "low", 2: "mid", 3: "high"}
    assert "code is determined by level" not in found  # one-to-one: one direction
    assert "if kind == 'child' then job is missing" in found
    # every suggestion holds in every row
    assert all(r.satisfied == len(data) for r in check(data, md, list(found.values())))
    # nothing involving the unrelated noise column
    assert not any("noise" in r.columns for r in found.values())


def test_suggest_rules_cli_writes_a_draft_marked_as_read_from_the_rows(tmp_path, capsys) -> None:
    path, out = tmp_path / "t.csv", tmp_path / "draft.json"
    suggest_frame().to_csv(path, index=False)
    assert main(["metadata", "suggest-rules", str(path), "-o", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["draft"] is True and "private rows" in written["warning"]
    assert {"kind": "compare", "left": "end", "op": ">", "right": "start"} in written["rules"]
    assert "private rows" in capsys.readouterr().err
    with pytest.raises(MetadataError, match=r"needs a .columns. object"):
        Metadata.load(out)  # a draft is not metadata: it cannot be passed to a fit as is
