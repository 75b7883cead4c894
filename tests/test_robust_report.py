"""``evaluate`` and ``tabsynth report`` on inputs with nothing to predict (issue #12).

A constant target is a finding, not bad input: the utility section says why TSTR and TRTR
cannot be computed (``skipped``), and every other section of the report is still there.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import tabsynth as ts
from tabsynth.cli import main
from tabsynth.errors import ParameterError
from tabsynth.evaluation import utility
from tabsynth.evaluation.fidelity import Discretizer
from tabsynth.evaluation.report import Report

TARGET = "readmitted_30d"


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return ts.datasets.load_sample("medical").head(500)


@pytest.fixture(scope="module")
def synthetic(real) -> pd.DataFrame:
    # a shuffled copy stands in for a synthesizer: fast, and every column varies
    return real.sample(frac=1, random_state=0).reset_index(drop=True)


def _evaluate(real, synthetic, holdout=None, target=TARGET):
    return ts.evaluate(real, synthetic, holdout=holdout, target=target, progress=False)


def _utility_line(report: Report) -> dict:
    (line,) = [x for x in report.to_dict()["verdict"]["lines"] if x["check"] == "Utility"]
    return line


def _assert_rest_of_report_works(report: Report) -> None:
    data = report.to_dict()
    assert data["fidelity"]["k_marginal"]["score"] is not None
    assert data["fidelity"]["detection"]["auc"] is not None
    assert data["privacy"]["privacy_risk"] in ("low", "medium", "high")
    assert data["summary"]["tstr_auc"] is None and data["summary"]["trtr_auc"] is None
    page = report.to_html()
    assert "Not scored" in page and "single value" in page
    assert "tabsynth report" in report.summary()
    again = Report.from_json(report.to_json())  # the JSON form keeps the reason
    assert again.to_dict()["utility"]["skipped"] == data["utility"]["skipped"]


def test_constant_real_target_is_reported_not_raised(real, synthetic):
    report = _evaluate(real.assign(**{TARGET: False}), synthetic)
    util = report.to_dict()["utility"]
    assert util["skipped"]["reason"] == "constant_real"
    message = util["skipped"]["message"]
    assert "single value" in message and "real" in message
    assert "choose a target with at least two values" in message  # what to fix
    assert "tstr" not in util and "trtr" not in util
    assert _utility_line(report)["light"] == "amber"
    _assert_rest_of_report_works(report)


def test_constant_synthetic_target_is_red(real, synthetic):
    report = _evaluate(real, synthetic.assign(**{TARGET: False}))
    util = report.to_dict()["utility"]
    assert util["skipped"]["reason"] == "constant_synthetic"
    assert "synthetic table" in util["skipped"]["message"]
    assert "retrain" in util["skipped"]["message"]
    line = _utility_line(report)
    assert line["light"] == "red" and line["display"] == "not scored"
    _assert_rest_of_report_works(report)


def test_constant_target_in_the_holdout(real, synthetic):
    holdout = real.tail(200).assign(**{TARGET: True})
    report = _evaluate(real.head(300), synthetic.head(300), holdout=holdout)
    util = report.to_dict()["utility"]
    assert util["skipped"]["reason"] == "constant_test"
    assert "holdout with both outcomes" in util["skipped"]["message"]
    _assert_rest_of_report_works(report)


def test_target_missing_from_the_synthetic_table(real, synthetic):
    report = _evaluate(real, synthetic.assign(**{TARGET: None}))
    util = report.to_dict()["utility"]
    assert util["skipped"]["reason"] == "too_few_rows"
    assert "synthetic" in util["skipped"]["message"]


def test_numeric_target_constant_in_the_synthetic_table_is_still_scored(real, synthetic):
    report = _evaluate(real, synthetic.assign(age=50), target="age")
    util = report.to_dict()["utility"]
    assert util["skipped"] is None
    assert util["tstr"] <= 0.0 < util["trtr"]  # a constant prediction explains nothing


def test_one_class_training_subsample_does_not_crash(real, synthetic):
    """A rare class can vanish from the subsample a model is trained on; the shape error of
    issue #12 came from there too."""
    md = ts.Metadata.detect(real)
    disc = Discretizer.fit(real, md)
    rare = synthetic.assign(**{TARGET: [True] + [False] * (len(synthetic) - 1)})
    train, syn, test = disc.encode(real.head(300)), disc.encode(rare), disc.encode(real.tail(200))
    out, preds = utility.utility_report(disc, train, syn, test, TARGET, max_train=12, seed=3)
    assert out["skipped"] is None and preds is not None
    assert out["tstr"] is not None and out["trtr"] is not None


def test_report_seed_out_of_range_is_a_parameter_error(real, synthetic):
    for seed in (-1, 2**32, 2**70):
        with pytest.raises(ParameterError, match=r"seed must be a whole number from 0 to 2\*\*32"):
            ts.evaluate(real, synthetic, seed=seed, progress=False)


@pytest.mark.parametrize("side", ["real", "synthetic"])
def test_cli_report_with_a_constant_target(tmp_path, real, synthetic, capsys, side):
    frames = {"real": real, "synthetic": synthetic}
    frames[side] = frames[side].assign(**{TARGET: False})
    for name, frame in frames.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    argv = ["report", str(tmp_path / "real.csv"), str(tmp_path / "synthetic.csv")]
    argv += ["--target", TARGET, "-o", str(tmp_path / "r.html"), "--json", str(tmp_path / "r.json")]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "Utility" in captured.out and "single value" in captured.out
    util = json.loads((tmp_path / "r.json").read_text())["utility"]
    assert util["skipped"]["reason"] == f"constant_{side}"
    assert (tmp_path / "r.html").stat().st_size > 10_000


def test_skipped_utility_renders_from_old_style_json(real, synthetic):
    """Reports written before ``skipped`` existed (no key) still render."""
    data = _evaluate(real, synthetic).to_dict()
    data["utility"].pop("skipped")
    page = Report(data).to_html()
    assert "Train on synthetic" in page
    assert np.isfinite(Report(data).to_dict()["summary"]["tstr_auc"])
