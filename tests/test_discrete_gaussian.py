"""The exact discrete Gaussian sampler (NoiseSource.discrete_gaussian) and what is built on it.

Draws come from NoiseSource.seeded, so every test is deterministic; acceptance bands are still
derived from theory so that they would hold for almost any seed: chi-square goodness of fit at
p > 1e-6 (under the null the p-value is uniform, so a correct sampler fails once per million
seeds) and 5-standard-error bands on moments and counts (two-sided 5.7e-7 each, normal
approximation). The reference distribution is computed exactly by summation, not taken from
the continuous Gaussian, so a sampler that drew N(0, σ²) and rounded would fail.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import tabsynth.privacy.noise as noise_module
from tabsynth.privacy import (
    NoiseSource,
    PrivacyLedger,
    dp_bounds,
    dp_categories,
    dp_quantiles,
    rational_variance,
)
from tabsynth.privacy.mechanisms import _singleton_threshold
from tabsynth.privacy.noise import _DiscreteGaussianPlan

VARIANCES = [Fraction(1, 2), Fraction(1), Fraction(7, 3), Fraction(100), Fraction(10**6)]
DRAWS = 200_000


def exact_pmf(variance: Fraction) -> tuple[np.ndarray, np.ndarray]:
    """Support and probabilities of N_Z(0, σ²) over ±(40σ + 40): what is left out has mass
    below e^-800. Computed with floats, accurate to about 1e-15 relative per value."""
    reach = int(40 * math.sqrt(variance)) + 40
    support = np.arange(-reach, reach + 1)
    weights = np.exp(-(support.astype(float) ** 2) / (2 * float(variance)))
    return support, weights / math.fsum(weights)


def chi_square_pvalue(draws: np.ndarray, variance: Fraction, bins: int = 60) -> float:
    """Pearson chi-square of ``draws`` against the exact pmf, over about ``bins`` cells of equal
    probability (cells are unions of whole integers; small σ gives fewer, one value each)."""
    support, pmf = exact_pmf(variance)
    cdf = np.cumsum(pmf)
    # cell boundaries: the first integer at which the cdf passes j/bins
    cuts = np.unique(np.searchsorted(cdf, np.arange(1, bins) / bins))
    expected = np.add.reduceat(pmf, np.concatenate([[0], cuts + 1])) * draws.size
    cell = np.searchsorted(support[cuts], draws, side="left")
    observed = np.bincount(cell, minlength=expected.size)
    assert expected.min() > 5  # the chi-square approximation is sound
    return float(stats.chisquare(observed, expected).pvalue)


@pytest.mark.parametrize("variance", VARIANCES, ids=str)
def test_draws_follow_the_exact_pmf(variance: Fraction) -> None:
    draws = NoiseSource.seeded(11).discrete_gaussian(variance, DRAWS)
    assert draws.dtype == np.int64 and draws.shape == (DRAWS,)
    assert chi_square_pvalue(draws, variance) > 1e-6
    # every value with expected count ≥ 20 within 5 binomial standard errors
    support, pmf = exact_pmf(variance)
    counted = np.bincount(draws - support[0], minlength=support.size)
    expected = DRAWS * pmf
    visible = expected >= 20
    sd = np.sqrt(expected * (1 - pmf))
    assert np.all(np.abs(counted - expected)[visible] <= 5 * sd[visible])


@pytest.mark.parametrize("variance", VARIANCES, ids=str)
def test_variance_mean_and_symmetry(variance: Fraction) -> None:
    draws = NoiseSource.seeded(12).discrete_gaussian(variance, DRAWS).astype(float)
    support, pmf = exact_pmf(variance)
    x = support.astype(float)
    exact_variance = float(np.sum(pmf * x**2))
    fourth = float(np.sum(pmf * x**4))
    # The discrete Gaussian's variance is below σ² (CKS 2020): by Poisson summation the gap is
    # about 8π²σ⁴·e^(−2π²σ²): 1e-3 at σ² = 1/2, 2e-7 at σ² = 1, negligible beyond.
    assert exact_variance <= float(variance) * (1 + 1e-12)
    if variance == Fraction(1, 2):
        assert 0.4985 < exact_variance < 0.4995
    # sample mean: SE = sqrt(Var/n); sample variance: SE = sqrt((μ4 − Var²)/n)
    assert abs(draws.mean()) <= 5 * math.sqrt(exact_variance / DRAWS)
    spread = math.sqrt((fourth - exact_variance**2) / DRAWS)
    assert abs(draws.var() - exact_variance) <= 5 * spread
    # symmetry: among non-zero draws, the positive ones are Binomial(m, 1/2)
    positive, negative = int(np.sum(draws > 0)), int(np.sum(draws < 0))
    m = positive + negative
    assert abs(positive - m / 2) <= 5 * math.sqrt(m / 4)


def test_secure_source_runs_the_seeded_code_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """NoiseSource() and NoiseSource.seeded differ only in where the 64-bit words come from:
    feed the secure source PCG64's words and it returns exactly the seeded draws."""
    variance = Fraction(7, 3)
    generator = np.random.PCG64(5)
    monkeypatch.setattr(noise_module, "_urandom_words", generator.random_raw)
    secure = NoiseSource()
    assert secure.is_secure
    expected = NoiseSource.seeded(5).discrete_gaussian(variance, 5_000)
    assert np.array_equal(secure.discrete_gaussian(variance, 5_000), expected)


def test_os_source_follows_the_exact_pmf() -> None:
    # The secure source is random: this fails spuriously once per million runs.
    variance = Fraction(7, 3)
    assert chi_square_pvalue(NoiseSource().discrete_gaussian(variance, 50_000), variance) > 1e-6


def test_big_integer_path_gives_the_same_draws() -> None:
    """The Python-int fallback (taken for large |y| or σ) must decide exactly like int64: with
    the int64 limit forced to -1, every acceptance test runs on Python ints, on the same
    words, and must return the same draws."""
    for variance in (rational_variance(1.3), Fraction(10**6), Fraction(1, 2)):
        plan = _DiscreteGaussianPlan.for_variance(variance)
        forced = dataclasses.replace(plan, int64_limit=-1)
        fast = NoiseSource.seeded(8)._discrete_gaussian_round(plan, 20_000)
        exact = NoiseSource.seeded(8)._discrete_gaussian_round(forced, 20_000)
        assert np.array_equal(fast, exact)


def test_huge_variance_uses_big_integers_and_stays_gaussian() -> None:
    # σ² ≈ 2^80 overflows int64 in every step; standardised draws must still look N(0, 1)
    # (the discrete Gaussian at this σ is the normal one to within 1e-12 in CDF).
    variance = Fraction(2**80 + 1, 3)
    draws = NoiseSource.seeded(9).discrete_gaussian(variance, 5_000)
    assert draws.dtype == np.int64
    assert stats.kstest(draws / math.sqrt(variance), "norm").pvalue > 1e-6


def test_uniform_integers_are_exact_beyond_64_bits() -> None:
    # bound = 3·2^70 + 1 needs two words per value; the leading digit in base 2^70 is then
    # 0, 1 or 2 with probability 1/3 each up to 2^-70 (chi-square, p > 1e-6).
    source = NoiseSource.seeded(10)
    bound = 3 * 2**70 + 1
    values = source._below(bound, 30_000)
    assert values.dtype == object and all(0 <= v < bound for v in values)
    leading = np.array([v >> 70 for v in values])
    counts = np.bincount(leading, minlength=4)[:3]
    assert stats.chisquare(counts).pvalue > 1e-6
    small = source._below(6, 60_000)  # one word each, rejection from 2^64 - 2^64 mod 6
    assert small.dtype == np.int64 and stats.chisquare(np.bincount(small)).pvalue > 1e-6


@settings(max_examples=200, deadline=None)
@given(sigma=st.floats(1e-6, 1e12, allow_nan=False, allow_infinity=False))
def test_rational_variance_is_at_least_the_request(sigma: float) -> None:
    variance = rational_variance(sigma)
    requested = Fraction(sigma) ** 2
    assert requested <= variance <= requested * (1 + Fraction(1, 2**32))


@pytest.mark.parametrize("variance", [*VARIANCES[:4], Fraction(10**4), rational_variance(3.7)])
@pytest.mark.parametrize("delta", [0.1, 1e-3, 1e-6, 1e-9, 1e-12])
def test_singleton_threshold_is_exact_and_never_too_low(variance: Fraction, delta: float) -> None:
    """τ is the smallest integer with P(X ≥ τ − 1) ≤ δ, X ~ N_Z(0, σ²), checked on the exact
    pmf: a value held by one row (count 1) passes ``1 + X ≥ τ`` with probability ≤ δ."""
    support, pmf = exact_pmf(variance)
    tail = lambda k: math.fsum(pmf[support >= k])  # noqa: E731
    threshold = _singleton_threshold(variance, delta)
    assert tail(threshold - 1) <= delta
    assert threshold == 2 or tail(threshold - 2) > delta


def test_count_releases_record_the_exact_cost() -> None:
    """Every count-based release charges ρ = Δ²/(2σ²) for the rational σ² it drew with, at
    most the ρ it was given, and says so in its params. Δ² is 1, or dp_quantiles' number of
    tree levels (a row adds 1 to one node of each): 6 for its default 1024 cells."""
    ledger = PrivacyLedger(1e6, 0.5, delta_reserved=0.1)
    source, rho = NoiseSource.seeded(0), 0.0123
    values = np.arange(1000, dtype=float)
    dp_bounds(values, rho, ledger=ledger, purpose="b", noise=source)
    dp_quantiles(values, [0.5], 0.0, 1000.0, rho, ledger=ledger, purpose="q", noise=source)
    dp_categories(["a"] * 50, rho, 1e-6, ledger=ledger, purpose="c", noise=source)
    assert ledger.entries[1].params["tree_levels"] == 6
    for entry in ledger.entries:
        variance = Fraction(entry.params["variance"])
        squared = entry.params.get("tree_levels", 1)
        assert entry.params.get("l2_sensitivity", 1.0) == pytest.approx(math.sqrt(squared))
        assert variance >= squared / (2 * Fraction(rho))
        assert entry.rho == float(squared / (2 * variance)) and entry.rho <= rho
        assert entry.rho == pytest.approx(rho, rel=2**-32)
        assert entry.params["noise"] == "discrete_gaussian"
