"""Group fidelity and fairness in the report: intersections, per-group classifier rates,
equalized odds, and the flags they raise (tabsynth.evaluation.groups / subgroups)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabsynth.evaluation import evaluate
from tabsynth.evaluation.groups import equalized_odds
from tabsynth.metadata import ColumnSpec, Metadata

N = 2000


def population(n: int, seed: int, minority_share: float = 0.08, broken: bool = False):
    """``race`` (A, B, and a minority C), ``sex``, a score ``x`` and a target ``y`` that
    follows ``x`` in every group. ``broken``: in group C, ``y`` is drawn independently of
    ``x`` (what a synthesizer that serves the group badly produces)."""
    rng = np.random.default_rng(seed)
    race = rng.choice(["A", "B", "C"], n, p=[0.7, 0.3 - minority_share, minority_share])
    sex = rng.choice(["F", "M"], n)
    x = np.round(rng.normal(0, 1, n), 2)
    p = 1 / (1 + np.exp(-3 * x))
    if broken:
        p = np.where(race == "C", 0.5, p)
    y = rng.random(n) < p
    return pd.DataFrame({"race": race, "sex": sex, "x": x, "y": y})


METADATA = Metadata(
    {
        "race": ColumnSpec("categorical", categories=("A", "B", "C"), sensitive=True),
        "sex": ColumnSpec("categorical", categories=("F", "M"), sensitive=True),
        "x": ColumnSpec("numerical", dtype="float", lower=-6, upper=6),
        "y": ColumnSpec("boolean"),
    },
    source="user",
)


@pytest.fixture(scope="module")
def biased():
    real, holdout = population(N, 0), population(N, 1)
    synthetic = population(N, 2, minority_share=0.01, broken=True)
    return evaluate(real, synthetic, holdout, metadata=METADATA, target="y", progress=False)


@pytest.fixture(scope="module")
def fair():
    real, holdout, synthetic = population(N, 0), population(N, 1), population(N, 3)
    return evaluate(real, synthetic, holdout, metadata=METADATA, target="y", progress=False)


def _column(report, name):
    return next(c for c in report.to_dict()["subgroups"]["columns"] if c["column"] == name)


def test_intersections_of_the_sensitive_columns_are_scored(biased):
    section = _column(biased, "race × sex")
    assert section["intersection"] == ["race", "sex"]
    labels = {g["group"] for g in section["groups"]}
    assert {"A × F", "A × M", "B × F", "B × M", "C × F", "C × M"} <= labels
    big = [g for g in section["groups"] if g["n_real"] >= 100 and g["n_synthetic"] >= 100]
    assert big and all(g["one_way_accuracy_reference"] is not None for g in big)


def test_classifier_rates_and_equalized_odds(biased, fair):
    race = _column(biased, "race")
    c = next(g for g in race["groups"] if g["group"] == "C")
    a = next(g for g in race["groups"] if g["group"] == "A")
    # trained on real data, the model sorts C as well as A; trained on the broken copy, not
    assert c["accuracy_trtr"] > 0.7 and c["accuracy_tstr"] < c["accuracy_trtr"] - 0.05
    assert abs(a["accuracy_tstr"] - a["accuracy_trtr"]) < 0.05
    assert race["equalized_odds"]["trtr"] < race["equalized_odds"]["tstr"]
    # a fresh real sample's excess is noise of small groups: within its standard errors
    odds = _column(fair, "race")["equalized_odds"]
    assert odds["groups"] == ["A", "B", "C"] and not odds["flagged"]


def test_under_represented_and_badly_served_groups_are_flagged(biased, fair):
    flagged = biased.to_dict()["subgroups"]["flagged"]
    c_flags = [f for f in flagged if f["column"] == "race" and f["group"] == "C"]
    assert c_flags and any("under-represented" in r for r in c_flags[0]["reasons"])
    assert any(f["column"] == "race × sex" and f["group"].startswith("C ×") for f in flagged)
    # a fresh real sample is not flagged: the references absorb the noise of small groups
    assert fair.to_dict()["subgroups"]["flagged"] == []


def test_html_shows_intersections_and_fairness(biased):
    page = biased.to_html()
    assert "race × sex" in page and "Equalized-odds difference" in page
    assert "TPR TSTR / TRTR" in page


def test_equalized_odds_needs_two_groups_with_both_classes():
    rows = [
        {
            "group": "a",
            "n_positive": 50,
            "n_negative": 50,
            "tpr_tstr": 0.9,
            "fpr_tstr": 0.1,
            "tpr_trtr": 0.8,
            "fpr_trtr": 0.2,
        },
        {
            "group": "b",
            "n_positive": 5,
            "n_negative": 50,
            "tpr_tstr": 0.1,
            "fpr_tstr": 0.1,
            "tpr_trtr": 0.8,
            "fpr_trtr": 0.2,
        },
    ]
    assert equalized_odds(rows) is None
    rows[1]["n_positive"] = 40
    out = equalized_odds(rows)
    assert out["tstr"] == pytest.approx(0.8) and out["trtr"] == pytest.approx(0.0)
    assert out["flagged"]
