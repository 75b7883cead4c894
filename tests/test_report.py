"""The Report: JSON contract, round trip, verdict, standalone HTML, and the render check."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabsynth.evaluation import Report, evaluate
from tabsynth.io import read_table
from tabsynth.metadata import Metadata

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
CHROMIUM = Path("/usr/bin/chromium")

SUMMARY_KEYS = {
    "k_marginal",
    "k_marginal_holdout",
    "two_way_accuracy",
    "detection_auc",
    "tstr_auc",
    "trtr_auc",
    "mia_advantage",
    "privacy_risk",
    "n_real",
    "n_synthetic",
    "epsilon",
    "delta",
    "overall",
}
# an HTML resource fetched from elsewhere: src/href/url()/@import pointing at a network address
REMOTE = re.compile(r"""(src|href)\s*=\s*["']?\s*(https?:)?//|url\(|@import|<link|<script""", re.I)


class FakeLedger:
    """Duck-typed privacy ledger, as the report expects it."""

    def __init__(self, epsilon: float = 1.0, seeded_noise: bool = False) -> None:
        self.epsilon, self.delta, self.seeded_noise = epsilon, 1e-6, seeded_noise
        self.spent_epsilon = 0.93 * epsilon

    def explain(self) -> str:
        return f"Privacy ledger\nSpent: (ε = {self.spent_epsilon:.4g}) <all phases>"

    def to_dict(self) -> dict:
        return {"epsilon": self.epsilon, "delta": self.delta, "entries": []}


def sample_tables(n: int = 1500) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Metadata]:
    """Three disjoint real samples of ``n`` rows (train, holdout, other) and the metadata."""
    if (SAMPLES / "medical.csv").exists():
        full = read_table(SAMPLES / "medical.csv")
        md = Metadata.load(SAMPLES / "medical.metadata.json")
    else:
        rng = np.random.default_rng(0)
        age = rng.integers(18, 90, 3 * n)
        full = pd.DataFrame(
            {
                "age": age,
                "sex": rng.choice(["F", "M"], 3 * n),
                "glucose": np.round(rng.normal(60 + age, 15), 1),
                "readmitted_30d": rng.random(3 * n) < np.where(age > 60, 0.4, 0.05),
            }
        )
        md = Metadata.detect(full)
    order = np.random.default_rng(1).permutation(len(full))
    parts = [full.iloc[order[i * n : (i + 1) * n]].reset_index(drop=True) for i in range(3)]
    return parts[0], parts[1], parts[2], md


@pytest.fixture(scope="module")
def report() -> Report:
    train, holdout, other, md = sample_tables()
    rng = np.random.default_rng(2)
    # a mediocre synthetic table: unseen real rows with two columns shuffled apart
    synthetic = other.copy()
    for col in ("age", "readmitted_30d"):
        synthetic[col] = synthetic[col].to_numpy()[rng.permutation(len(synthetic))]
    return evaluate(
        train,
        synthetic,
        holdout=holdout,
        metadata=md,
        target="readmitted_30d",
        groups=["sex", "age"],
        progress=False,
    )


def test_summary_is_the_ci_contract(report):
    summary = report.to_dict()["summary"]
    assert set(summary) >= SUMMARY_KEYS
    assert summary["n_real"] == summary["n_synthetic"] == 1500
    assert 0 < summary["k_marginal"] < summary["k_marginal_holdout"] <= 1000
    assert summary["tstr_auc"] < summary["trtr_auc"]
    assert summary["epsilon"] is None and summary["dp"] is False
    assert summary["overall"] in {"green", "amber", "red"}


def test_json_round_trips(report, tmp_path):
    path = tmp_path / "report.json"
    text = report.to_json(path)
    assert path.read_text(encoding="utf-8") == text + "\n"
    assert json.loads(text) == report.to_dict()
    again = Report.from_json(text)
    assert again.to_dict() == report.to_dict()
    assert "NaN" not in text and "Infinity" not in text


def test_verdict_lights_and_sentences(report):
    verdict = report.to_dict()["verdict"]
    lights = [line["light"] for line in verdict["lines"]]
    rank = {"green": 0, "amber": 1, "red": 2}
    assert verdict["overall"] == max(lights, key=rank.__getitem__) == report.overall
    checks = {line["check"] for line in verdict["lines"]}
    assert {"3-way marginals", "Detection", "Utility", "Formal privacy"} <= checks
    assert all(line["message"].endswith(".") for line in verdict["lines"])
    text = report.summary()
    assert f"Overall: {report.overall.upper()}" in text and "Detection AUC" in text


def test_subgroups_show_their_reference(report):
    section = report.to_dict()["subgroups"]
    rows = [g for col in section["columns"] for g in col["groups"] if g["n_real"] >= 100]
    assert rows and all(g["k_marginal_reference"] is not None for g in rows)
    assert all("tstr" in g for g in rows)


def test_html_is_standalone(report, tmp_path):
    path = tmp_path / "report.html"
    report.to_html(path)
    page = path.read_text(encoding="utf-8")
    assert "<title>Synthetic data report</title>" in page
    for section in ("verdict", "fidelity", "subgroups", "utility", "privacy", "methods"):
        assert f"id='{section}'" in page
    assert page.count('<img src="data:image/png;base64,') >= 4
    assert "http://" not in page and "https://" not in page
    assert not REMOTE.search(page)


def test_html_escapes_user_strings():
    rng = np.random.default_rng(0)
    evil = "<script>alert(1)</script>"
    frame = pd.DataFrame(
        {"<b>age</b>": rng.integers(18, 90, 300), "kind": rng.choice([evil, "plain"], 300)}
    )
    shuffled = frame.sample(frac=1, random_state=0)
    page = evaluate(frame, shuffled, groups=["kind"], progress=False).to_html()
    assert evil not in page and "<b>age</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;age&lt;/b&gt;" in page


def test_dp_ledger_opens_the_privacy_section(report):
    data = report.to_dict()
    with_dp = Report(data, privacy=FakeLedger(epsilon=1.0))
    summary = with_dp.to_dict()["summary"]
    assert summary["dp"] is True and summary["epsilon"] == 1.0 and summary["delta"] == 1e-6
    page = with_dp.to_html()
    privacy = page[page.index("id='privacy'") :]
    assert privacy.index("Differential privacy ledger") < privacy.index("<h3>Attacks</h3>")
    assert "&lt;all phases&gt;" in privacy
    line = next(x for x in with_dp.to_dict()["verdict"]["lines"] if x["check"] == "Formal privacy")
    assert line["light"] == "green"


def test_accepts_tabsynths_privacy_ledger():
    from tabsynth.privacy.ledger import LedgerEntry, PrivacyLedger

    ledger = PrivacyLedger(epsilon=2.0, delta=1e-7)
    ledger.record(LedgerEntry("gaussian", "measure marginal (age,)", rho=0.01))
    report = Report(_fake_results(), privacy=ledger)
    dp = report.to_dict()["dp"]
    assert report.to_dict()["summary"]["epsilon"] == 2.0
    assert dp["epsilon_spent"] < 2.0 and dp["ledger"]["entries"]
    assert _line(report, "Formal privacy")["light"] == "amber"
    assert "Privacy ledger" in report.to_html()


def test_seeded_noise_is_red():
    data = _fake_results()
    line = _line(Report(data, privacy=FakeLedger(seeded_noise=True)), "Formal privacy")
    assert line["light"] == "red" and "NOT differentially private" in line["message"]
    assert _line(Report(data, privacy=FakeLedger(epsilon=50.0)), "Formal privacy")["light"] == "red"
    assert _line(Report(data), "Formal privacy")["light"] == "amber"


def test_any_attacks_render_generically():
    data = _fake_results()
    data["privacy"] = {
        "mia_advantage": 0.31,
        "privacy_risk": "high",
        "risk_thresholds": {"attack_high": 0.2},
        "attacks": {
            "shadow_model": {
                "advantage": 0.31,
                "ci": [0.25, 0.37],
                "description": "trains <shadow> models",
                "roc": {"fpr": [0, 0.2, 1], "tpr": [0, 0.6, 1]},
            },
            "new_attack": {"advantage": 0.01, "ci": [-0.02, 0.04], "description": "no roc"},
        },
        "exact_copy_rate": 0.002,
        "diagnostics": {"dcr": {"synthetic_to_train": {"median": 0.1, "p05": 0.01}}},
        "notes": ["a note"],
    }
    report = Report(data)
    page = report.to_html()
    assert "shadow_model" in page and "new_attack" in page and "trains &lt;shadow&gt;" in page
    assert "not privacy evidence" in page
    assert "DCR Delusion" in page
    assert _line(report, "Privacy attacks")["light"] == "red"
    assert report.to_dict()["summary"]["mia_advantage"] == 0.31
    del data["privacy"]["attacks"]["shadow_model"]["roc"]
    without_roc = Report(data).to_html()
    assert without_roc.count("data:image/png") == page.count("data:image/png") - 1


def test_repr_html_is_a_fragment(report):
    fragment = report._repr_html_()
    assert "<html" not in fragment and "Overall:" in fragment and "<table" in fragment


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt install chromium)")
def test_render_script_draws_the_page(report, tmp_path):
    html_path, png = tmp_path / "report.html", tmp_path / "report.png"
    report.to_html(html_path)
    script = str(ROOT / "scripts" / "render_report.py")
    done = subprocess.run(
        [sys.executable, script, str(html_path), str(png), "--height", "1500"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, script, str(blank), str(tmp_path / "blank.png"), "--height", "600"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 1, done.stderr


# -- helpers ----------------------------------------------------------------------------------


def _fake_results() -> dict:
    """A small real evaluation to edit (privacy and DP replaced in each test)."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "c": rng.choice(["a", "b"], 200)})
    data = evaluate(frame, frame, progress=False).to_dict()
    data["dp"] = None
    return data


def _line(report: Report, check: str) -> dict:
    return next(x for x in report.to_dict()["verdict"]["lines"] if x["check"] == check)
