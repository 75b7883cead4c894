"""`tabsynth demo`: the DP path by default (AIM at ε = 1 with public metadata), its ledger
summary, the verdict and the file paths at the end; `--non-private` for the baseline."""

from __future__ import annotations

import json

import pytest

from tabsynth.cli import main
from tabsynth.demo import DEMO_BINS, TARGET, TARGET_WEIGHT, demo_synthesizer, ledger_summary
from tabsynth.privacy import LedgerEntry, PrivacyLedger


@pytest.mark.slow
def test_default_demo_is_aim_at_epsilon_1_and_ends_with_verdict_and_paths(tmp_path, capsys):
    assert main(["demo", "--out-dir", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "AIMSynthesizer at ε = 1 with the sample's public metadata" in err
    assert "privacy: (1, 1e-09)-differential privacy spent" in err  # what the ledger spent
    report = json.loads((tmp_path / "report.json").read_text())
    lines = {line["check"]: line["light"] for line in report["verdict"]["lines"]}
    assert lines["Formal privacy"] == "green"
    assert report["summary"]["overall"] in ("green", "amber", "red")
    tail = out.strip().splitlines()[-3:]
    assert tail[0] == f"Verdict: {report['summary']['overall'].upper()}"
    assert str(tmp_path / "synthetic_medical.csv") in tail[1]
    assert str(tmp_path / "report.html") in tail[2] and str(tmp_path / "report.json") in tail[2]


def test_demo_synthesizer_weights_the_target_and_coarsens_bins():
    synth = demo_synthesizer(epsilon=2.0)
    assert synth.epsilon == 2.0 and synth.bins == DEMO_BINS
    weighted = {
        w for w, x in zip(synth.workload, synth.workload_weights, strict=True) if x == TARGET_WEIGHT
    }
    assert weighted and all(TARGET in w for w in weighted)
    assert all("patient_id" not in w for w in synth.workload)  # ids are generated, not modelled


def test_non_private_takes_no_epsilon(tmp_path, capsys):
    assert main(["demo", "--non-private", "--epsilon", "1", "--out-dir", str(tmp_path)]) == 2
    assert "--non-private takes neither" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_ledger_summary_shares_by_phase():
    ledger = PrivacyLedger(epsilon=1.0, delta=1e-9)
    half = ledger.rho_budget / 2
    ledger.record(LedgerEntry("gaussian", "a", phase="domain", rho=half / 2))
    ledger.record(LedgerEntry("gaussian", "b", phase="measure", rho=half))
    text = ledger_summary(ledger)
    assert "domain: 1 noisy releases, 25 % of the budget" in text
    assert "measure: 1 noisy releases, 50 % of the budget" in text
