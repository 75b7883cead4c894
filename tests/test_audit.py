"""The privacy audit and the statistics behind its ε bound."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tabsynth.errors import ParameterError
from tabsynth.evaluation.audit import AuditResult, audit
from tabsynth.evaluation.stats import (
    clopper_pearson,
    epsilon_lower_bound,
    held_out_advantage,
    newcombe_difference,
    normalised_risk,
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
    assert not result.passed
    assert result.trials == 20 and len(result.targets) == 2


def test_blind_synthesizer_passes_with_bound_near_zero(small_table: pd.DataFrame) -> None:
    result = audit(BlindSynthesizer, small_table, trials=20, targets=2, seed=1, progress=False)
    assert result.empirical_epsilon_lower < 0.2
    assert result.passed


def test_blind_synthesizer_with_a_claim_passes_and_reports_it(small_table: pd.DataFrame) -> None:
    class Claimed(BlindSynthesizer):
        claim = 1.0

    result = audit(Claimed, small_table, trials=8, targets=[0, 5], progress=False)
    assert result.claimed_epsilon == 1.0 and result.claimed_delta == 1e-6
    assert result.passed
    assert result.targets == [0, 5]
    assert any("could certify" in n for n in result.notes)  # 8 trials cannot certify ε = 1


def test_targets_are_isolated_records(small_table: pd.DataFrame) -> None:
    table = small_table.copy()
    table.loc[7, ["age", "income", "sex"]] = [200, 1e9, "F"]  # a glaring outlier
    result = audit(LeakySynthesizer, table, trials=4, targets=1, progress=False)
    assert result.targets == [7]


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
        "notes",
    }
    path = tmp_path / "audit.html"
    result.to_html(path)
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "failed" in page
    assert "empirical ε lower bound" in result.summary()
    assert isinstance(result, AuditResult)


@pytest.mark.parametrize(
    "kwargs",
    [{"trials": 3}, {"targets": 0}, {"targets": [99]}, {"n_rows": 1}, {"max_seconds": 0}],
)
def test_bad_arguments_are_refused(small_table: pd.DataFrame, kwargs: dict) -> None:
    with pytest.raises(ParameterError):
        audit(LeakySynthesizer, small_table, progress=False, **kwargs)
