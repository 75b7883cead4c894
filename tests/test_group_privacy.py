"""Privacy by group (tabsynth.evaluation.group_privacy): a release that mirrors a small group
is caught even when the whole-table checks average it away."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabsynth.evaluation import evaluate
from tabsynth.evaluation.group_privacy import combine, group_privacy
from tabsynth.metadata import ColumnSpec, Metadata

METADATA = Metadata(
    {
        "race": ColumnSpec("categorical", categories=("A", "B", "C"), sensitive=True),
        "sex": ColumnSpec("categorical", categories=("F", "M"), sensitive=True),
        "x": ColumnSpec("numerical", dtype="float", lower=-10, upper=10),
        "z": ColumnSpec("numerical", dtype="float", lower=-10, upper=10),
    },
    source="user",
)


def people(n: int, seed: int, small: int = 40) -> pd.DataFrame:
    """``small`` people of group C, the rest A or B; two continuous columns."""
    rng = np.random.default_rng(seed)
    race = np.r_[np.full(small, "C"), rng.choice(["A", "B"], n - small)]
    return pd.DataFrame(
        {
            "race": race,
            "sex": rng.choice(["F", "M"], n),
            "x": np.round(rng.normal(0, 1, n), 4),
            "z": np.round(rng.normal(0, 1, n), 4),
        }
    )


def mirrored(train: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A fresh sample for the majority, and group C as near-copies of its training members
    (each copied twice, nudged by 0.001: no exact copies for the whole-table check to see)."""
    rng = np.random.default_rng(seed)
    fresh = people(len(train), seed + 100)
    members = train[train["race"] == "C"]
    copies = pd.concat([members, members], ignore_index=True)
    copies["x"] = copies["x"] + rng.choice([-1e-3, 1e-3], len(copies))
    copies["z"] = copies["z"] + rng.choice([-1e-3, 1e-3], len(copies))
    return pd.concat([fresh[fresh["race"] != "C"], copies], ignore_index=True)


@pytest.fixture(scope="module")
def tables():
    train, holdout = people(2000, 0), people(2000, 1)
    return train, holdout, mirrored(train, 2), people(2000, 3)


def test_a_mirrored_small_group_is_exposed_and_the_release_is_not_low_risk(tables):
    train, holdout, leaky, _ = tables
    report = evaluate(train, leaky, holdout, metadata=METADATA, progress=False).to_dict()
    priv = report["privacy"]
    race = next(c for c in priv["groups"]["columns"] if c["column"] == "race")
    c = next(g for g in race["groups"] if g["group"] == "C")
    assert c["near_copies"]["advantage"] > 0.9 and c["near_copies"]["ci"][0] > 0.5
    assert c["risk"] == "high" and priv["groups"]["exposed"][0]["group"] == "C"
    assert priv["privacy_risk"] == "high"
    assert priv["notes"][0].startswith("Group race = C is exposed")
    line = next(x for x in report["verdict"]["lines"] if x["check"] == "Privacy attacks")
    assert line["light"] == "red" and "race = C exposed" in line["display"]
    # the big groups are not flagged: their synthetic rows are fresh
    assert all(g["risk"] == "low" for g in race["groups"] if g["group"] != "C")


def test_a_fresh_sample_exposes_no_group(tables):
    train, holdout, _, fresh = tables
    section = group_privacy(train, fresh, holdout, METADATA, ["race", "sex"], ["race", "sex"])
    assert section["risk"] == "low" and section["exposed"] == []
    for col in section["columns"]:
        for g in col["groups"]:
            assert abs(g["near_copies"]["advantage"]) < 0.5
            assert g["near_copies"]["ci"][0] < 0.05  # below the "medium" threshold
    # combine never lowers the table's risk
    assert combine({"privacy_risk": "medium", "notes": []}, section)["privacy_risk"] == "medium"


def test_groups_too_small_or_numeric_are_skipped(tables):
    train, holdout, leaky, _ = tables
    small = holdout[holdout["race"] != "C"]  # no holdout members of C: nothing to compare
    section = group_privacy(train, leaky, small, METADATA, ["race", "x"], [])
    assert sorted(g["group"] for g in section["columns"][0]["groups"]) == ["A", "B"]
    assert "x" in section["notes"][0]


def test_html_lists_privacy_by_group(tables):
    train, holdout, leaky, _ = tables
    page = evaluate(train, leaky, holdout, metadata=METADATA, progress=False).to_html()
    assert "Privacy by group" in page and "Near copies" in page
