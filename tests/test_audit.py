"""The privacy audit and the statistics behind its ε bound."""

from __future__ import annotations

import doctest
import inspect
import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tabsynth import cli
from tabsynth.errors import ParameterError
from tabsynth.evaluation import audit as audit_module
from tabsynth.evaluation import stats as stats_module
from tabsynth.evaluation.audit import AuditResult, audit, decide_verdict, trials_needed
from tabsynth.evaluation.stats import (
    MAX_TRIAL_COUNT,
    clopper_pearson,
    epsilon_lower_bound,
    held_out_advantage,
    newcombe_difference,
    normalised_risk,
    trials_to_certify,
    wilson,
)
from tabsynth.synthesizers.base import Synthesizer


class LeakySynthesizer(Synthesizer):
    """Returns its training rows (shuffled): the worst synthesizer imaginable."""

    def _fit(self, data: pd.DataFrame, metadata) -> None:
        self.rows_ = data.reset_index(drop=True)

    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        order = np.resize(rng.permutation(len(self.rows_)), n)
        return self.rows_.iloc[order].reset_index(drop=True)


class BlindSynthesizer(Synthesizer):
    """Ignores its data: samples from a fixed distribution over the same columns."""

    claim: float | None = None

    def _fit(self, data: pd.DataFrame, metadata) -> None:
        if self.claim is not None:
            self.privacy_ = SimpleNamespace(epsilon=self.claim, delta=1e-6)

    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "age": rng.integers(18, 90, n),
                "income": np.round(rng.lognormal(10, 1, n), 2),
                "sex": rng.choice(["F", "M"], n),
            }
        )


@pytest.fixture
def small_table() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 40
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "income": np.round(rng.lognormal(10, 1, n), 2),
            "sex": rng.choice(["F", "M"], n),
        }
    )


# -- statistics --------------------------------------------------------------------------------


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (17, 50), (499, 1000)])
def test_clopper_pearson_matches_beta_quantiles(k: int, n: int) -> None:
    lo, hi = clopper_pearson(k, n, 0.95)
    expected_lo = 0.0 if k == 0 else stats.beta.ppf(0.025, k, n - k + 1)
    expected_hi = 1.0 if k == n else stats.beta.ppf(0.975, k + 1, n - k)
    assert lo == pytest.approx(expected_lo, abs=1e-12)
    assert hi == pytest.approx(expected_hi, abs=1e-12)
    one_lo = clopper_pearson(k, n, 0.95, side="lower")
    one_hi = clopper_pearson(k, n, 0.95, side="upper")
    assert one_lo[1] == 1.0 and one_hi[0] == 0.0
    if k > 0:
        assert one_lo[0] == pytest.approx(stats.beta.ppf(0.05, k, n - k + 1))
    if k < n:
        assert one_hi[1] == pytest.approx(stats.beta.ppf(0.95, k + 1, n - k))


def test_wilson_and_newcombe_cover_the_truth() -> None:
    lo, hi = wilson(40, 100)
    assert lo < 0.4 < hi and hi - lo < 0.2
    d, lo, hi = newcombe_difference(50, 100, 50, 100)
    assert d == 0 and lo < 0 < hi
    risk, lo, hi, r_t, r_c = normalised_risk(90, 100, 50, 100)
    assert risk == pytest.approx(0.8) and lo < 0.8 < hi
    assert (r_t, r_c) == (0.9, 0.5)


def test_epsilon_bound_on_known_counts() -> None:
    level = 0.975  # each one-sided bound, so the pair holds jointly at 95%
    tpr_lo = stats.beta.ppf(1 - level, 18, 20 - 18 + 1)
    fpr_hi = stats.beta.ppf(level, 2 + 1, 20 - 2)
    expected = max(math.log(tpr_lo / fpr_hi), math.log((1 - fpr_hi) / (1 - tpr_lo)))
    assert epsilon_lower_bound(18, 20, 2, 20) == pytest.approx(expected)
    # perfect separation with n trials each: both terms equal log(q / (1 - q)), q = 0.025^(1/n)
    q = 0.025 ** (1 / 100)
    assert epsilon_lower_bound(100, 100, 0, 100) == pytest.approx(math.log(q / (1 - q)))
    # no separation, or fewer flags among members than non-members: no evidence
    assert epsilon_lower_bound(10, 20, 10, 20) == 0.0
    assert epsilon_lower_bound(0, 20, 0, 20) == 0.0
    assert epsilon_lower_bound(2, 20, 18, 20) == 0.0
    # delta makes the bound smaller
    assert epsilon_lower_bound(18, 20, 2, 20, delta=0.1) < epsilon_lower_bound(18, 20, 2, 20)
    with pytest.raises(ParameterError):
        epsilon_lower_bound(1, 0, 0, 10)


@pytest.mark.parametrize("module", [stats_module, audit_module])
def test_doctests(module) -> None:
    assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
@pytest.mark.parametrize("delta", [0.0, 1e-6, 0.05])
@pytest.mark.parametrize("epsilon", [0.0, 0.5, 1.0, 2.0, 3.0])
def test_trials_to_certify_matches_a_brute_force_search(
    epsilon: float, delta: float, confidence: float
) -> None:
    def perfect(n: int) -> float:
        return epsilon_lower_bound(n, n, 0, n, delta, confidence)

    n = 1
    while perfect(n) <= epsilon:
        n += 1
    assert trials_to_certify(epsilon, delta, confidence) == n


def test_trials_to_certify_gives_up_beyond_countable_trials() -> None:
    assert trials_to_certify(40.0) is not None and trials_to_certify(40.0) < MAX_TRIAL_COUNT
    assert trials_to_certify(45.0) is None
    assert trials_to_certify(1e6) is None  # e^-ε underflows: no overflow, no division by 0
    with pytest.raises(ParameterError):
        trials_to_certify(-1.0)
    with pytest.raises(ParameterError):
        trials_to_certify(math.inf)


@pytest.mark.parametrize("targets", [1, 2, 3, 5])
@pytest.mark.parametrize("epsilon", [0.0, 0.5, 1.0, 2.0, 3.0])
def test_trials_needed_matches_a_brute_force_search(epsilon: float, targets: int) -> None:
    """Smallest number of audit trials (at least 4) whose pooled evaluation halves let a
    perfect attack certify more than ε; the audit counts ``trials - trials // 2`` per target."""
    delta = 1e-9
    trials = 4
    while True:
        n = targets * (trials - trials // 2)
        if epsilon_lower_bound(n, n, 0, n, delta) > epsilon:
            break
        trials += 1
    assert trials_needed(epsilon, targets, delta) == trials


def test_default_audit_can_refute_a_claim_of_one() -> None:
    """The defaults must leave room above ε = 1, or every claim up to 1 would be untestable."""
    defaults = inspect.signature(audit).parameters
    trials, targets = defaults["trials"].default, defaults["targets"].default
    confidence = defaults["confidence"].default
    n = targets * (trials - trials // 2)
    for delta in (0.0, 1e-9, 1e-5):
        assert epsilon_lower_bound(n, n, 0, n, delta, confidence) >= 1.5
    assert trials_needed(1.0, targets, 1e-9, confidence) <= trials
    args = cli.build_parser().parse_args(["audit", "data.csv", "-s", "mst", "-o", "a.html"])
    assert (args.trials, args.targets) == (trials, targets)


@pytest.mark.parametrize(
    ("tp", "fp", "n", "claim", "expected"),
    [
        (30, 0, 30, 1.0, "failed"),  # bound 2.03 > 1
        (27, 1, 30, 1.0, "failed"),  # bound 1.45: an imperfect attack can refute ε = 1 too
        (15, 15, 30, 1.0, "passed"),  # no separation, and the trials could refute up to 2.03
        (30, 0, 30, 3.0, "inconclusive"),  # even perfect separation cannot exceed 2.03 < 3
        (8, 0, 8, 1.0, "inconclusive"),  # 8 evaluation trials certify at most 0.54
        (30, 0, 30, None, "failed"),  # non-private: leakage detected
        (15, 15, 30, None, "passed"),  # non-private: none detected by trials that could
        (2, 0, 2, None, "inconclusive"),  # non-private: 2 trials cannot show any leakage
    ],
)
def test_verdict_on_constructed_counts(
    tp: int, fp: int, n: int, claim: float | None, expected: str
) -> None:
    delta = 1e-9
    bound = epsilon_lower_bound(tp, n, fp, n, delta)
    best = epsilon_lower_bound(n, n, 0, n, delta)
    assert decide_verdict(bound, claim, best) == expected


def test_a_claim_equal_to_what_the_trials_can_certify_is_inconclusive() -> None:
    # the bound never exceeds a perfect attack's, so such a claim could not have failed
    assert decide_verdict(2.0, 2.0, 2.0) == "inconclusive"
    assert decide_verdict(0.0, None, 0.0) == "inconclusive"


def test_held_out_advantage_is_centred_without_signal() -> None:
    rng = np.random.default_rng(0)
    advantages = []
    for _ in range(30):
        scores = rng.normal(size=400)
        labels = np.r_[np.ones(200, bool), np.zeros(200, bool)]
        tp, n_pos, fp, n_neg = held_out_advantage(scores, labels, rng)
        advantages.append(tp / n_pos - fp / n_neg)
    assert abs(np.mean(advantages)) < 0.03


# -- the audit ---------------------------------------------------------------------------------


def test_leaky_synthesizer_fails_with_a_large_bound(small_table: pd.DataFrame) -> None:
    result = audit(LeakySynthesizer, small_table, trials=20, targets=2, progress=False)
    assert result.claimed_epsilon is None
    assert result.tpr == 1.0 and result.fpr == 0.0
    assert result.empirical_epsilon_lower > 1.0
    assert result.verdict == "failed" and not result.passed
    assert result.trials == 20 and len(result.targets) == 2


def test_blind_synthesizer_passes_with_bound_near_zero(small_table: pd.DataFrame) -> None:
    result = audit(BlindSynthesizer, small_table, trials=20, targets=2, seed=1, progress=False)
    assert result.empirical_epsilon_lower < 0.2
    assert result.verdict == "passed" and result.passed
    assert result.max_measurable_epsilon > 0  # 20 evaluation trials could have shown leakage


def test_a_claim_the_trials_cannot_refute_is_inconclusive(small_table: pd.DataFrame) -> None:
    class Claimed(BlindSynthesizer):
        claim = 1.0

    result = audit(Claimed, small_table, trials=8, targets=[0, 5], progress=False)
    assert result.claimed_epsilon == 1.0 and result.claimed_delta == 1e-6
    assert result.targets == [0, 5]
    # 4 evaluation trials x 2 targets: a perfect attack certifies at most 0.54 < 1
    assert result.max_measurable_epsilon < 1.0
    assert result.verdict == "inconclusive" and not result.passed
    needed = trials_needed(1.0, 2, 1e-6)
    assert result.trials_needed == needed == 11
    assert f"needs at least {needed} trials with 2 targets" in result.reason
    assert "INCONCLUSIVE" in result.summary() and f"{needed} trials" in result.summary()

    # with the trials it asked for, the same audit can refute the claim, and does not
    enough = audit(Claimed, small_table, trials=needed, targets=[0, 5], progress=False)
    assert enough.max_measurable_epsilon > 1.0
    assert enough.verdict == "passed" and enough.trials_needed is None
    fewer = audit(Claimed, small_table, trials=needed - 1, targets=[0, 5], progress=False)
    assert fewer.verdict == "inconclusive"


def test_targets_are_isolated_records(small_table: pd.DataFrame) -> None:
    table = small_table.copy()
    table.loc[7, ["age", "income", "sex"]] = [200, 1e9, "F"]  # a glaring outlier
    result = audit(LeakySynthesizer, table, trials=4, targets=1, progress=False)
    assert result.targets == [7]
    # perfect separation, but 2 evaluation trials cannot show any leakage at 95%
    assert (result.tpr, result.fpr) == (1.0, 0.0)
    assert result.verdict == "inconclusive" and result.trials_needed == 11


def test_max_seconds_stops_early(small_table: pd.DataFrame) -> None:
    result = audit(
        LeakySynthesizer, small_table, trials=400, targets=1, max_seconds=0.5, progress=False
    )
    assert result.trials < 400
    assert any("Stopped after" in n for n in result.notes)


def test_result_serialises_and_renders(small_table: pd.DataFrame, tmp_path) -> None:
    result = audit(LeakySynthesizer, small_table, trials=12, targets=1, progress=False)
    data = result.to_dict()
    json.dumps(data)
    assert set(data) >= {
        "claimed_epsilon",
        "claimed_delta",
        "empirical_epsilon_lower",
        "ci",
        "tpr",
        "fpr",
        "trials",
        "targets",
        "passed",
        "verdict",
        "reason",
        "max_measurable_epsilon",
        "trials_needed",
        "notes",
    }
    assert data["verdict"] == "failed" and data["passed"] is False
    path = tmp_path / "audit.html"
    result.to_html(path)
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "class='failed'" in page and "largest ε this audit could certify" in page
    assert "empirical ε lower bound" in result.summary()
    assert isinstance(result, AuditResult)


def _constructed(verdict: str, claim: float | None = 1.0) -> AuditResult:
    return AuditResult(
        claimed_epsilon=claim,
        claimed_delta=None if claim is None else 1e-9,
        empirical_epsilon_lower=0.0,
        ci={"tpr": [0.0, 1.0], "fpr": [0.0, 1.0]},
        tpr=0.5,
        fpr=0.5,
        trials=20,
        targets=[1, 2, 3],
        verdict=verdict,
        reason=f"because {verdict}",
        notes=[],
    )


def test_passed_is_derived_from_the_verdict() -> None:
    assert [_constructed(v).passed for v in ("passed", "failed", "inconclusive")] == [
        True,
        False,
        False,
    ]
    with pytest.raises(ParameterError):
        _constructed("maybe")


def test_inconclusive_page_says_so(tmp_path) -> None:
    path = tmp_path / "audit.html"
    _constructed("inconclusive").to_html(path)
    page = path.read_text()
    assert "class='inconclusive'" in page and "because inconclusive" in page


@pytest.mark.parametrize(("verdict", "code"), [("passed", 0), ("failed", 1), ("inconclusive", 0)])
def test_cli_prints_the_verdict_and_exits_1_only_on_failure(
    verdict: str, code: int, small_table: pd.DataFrame, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setattr(audit_module, "audit", lambda *a, **k: _constructed(verdict))
    data = tmp_path / "t.csv"
    small_table.to_csv(data, index=False)
    argv = ["audit", str(data), "-s", "gaussian_copula", "-o", str(tmp_path / "a.html")]
    if code:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == code
    else:
        assert cli.main(argv) == 0
    assert f"Privacy audit {verdict.upper()}" in capsys.readouterr().out
    assert (tmp_path / "a.html").exists()


@pytest.mark.parametrize(
    "kwargs",
    [{"trials": 3}, {"targets": 0}, {"targets": [99]}, {"n_rows": 1}, {"max_seconds": 0}],
)
def test_bad_arguments_are_refused(small_table: pd.DataFrame, kwargs: dict) -> None:
    with pytest.raises(ParameterError):
        audit(LeakySynthesizer, small_table, progress=False, **kwargs)


@pytest.mark.parametrize("limit", [float("nan"), float("inf"), -1.0, "10"])
def test_max_seconds_must_be_a_finite_positive_number(limit) -> None:
    data = pd.DataFrame({"x": np.arange(20.0), "c": ["a", "b"] * 10})
    with pytest.raises(ParameterError, match="max_seconds"):
        audit(lambda: None, data, max_seconds=limit)
