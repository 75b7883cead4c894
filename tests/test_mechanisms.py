"""Statistical tests of tabsynth.privacy.noise and tabsynth.privacy.mechanisms.

Mechanisms run with NoiseSource.seeded, so every test is deterministic; the acceptance bands
are still derived from theory (≥ 5 standard errors) so that they would hold for any seed.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import logsumexp
from sklearn.isotonic import isotonic_regression

from tabsynth.errors import BudgetError, DataError, DomainEstimationError, ParameterError
from tabsynth.privacy import (
    BOUNDS_MAX_EXPONENT,
    NoiseSource,
    PrivacyLedger,
    dp_bounds,
    dp_categories,
    dp_quantiles,
    exponential_mechanism,
    gaussian_counts,
    occupied_span,
    rational_variance,
    sigma_for_rho,
)
from tabsynth.privacy.mechanisms import (
    _bounds_grid,
    _combined_threshold,
    _isotonic_increasing,
    _log_combined_tail_bound,
    dp_category_look,
)


def roomy_ledger(delta_reserved: float = 0.0) -> PrivacyLedger:
    """A ledger with a huge budget, so that statistical tests can repeat mechanisms freely."""
    return PrivacyLedger(1e6, 0.5, delta_reserved=delta_reserved)


# -- NoiseSource ---------------------------------------------------------------------------------


def test_default_source_is_secure_and_not_reproducible() -> None:
    a, b = NoiseSource(), NoiseSource()
    assert a.is_secure and b.is_secure
    # 100 draws with σ = 100 coincide with probability below (1/250)^100
    variance = Fraction(10_000)
    assert not np.array_equal(
        a.discrete_gaussian(variance, 100), b.discrete_gaussian(variance, 100)
    )


def test_seeded_source_is_reproducible_and_marked_insecure() -> None:
    a, b = NoiseSource.seeded(7), NoiseSource.seeded(7)
    assert not a.is_secure
    variance = Fraction(9, 4)
    assert np.array_equal(a.discrete_gaussian(variance, 100), b.discrete_gaussian(variance, 100))
    assert np.array_equal(a.gumbel(10), b.gumbel(10))
    assert not np.array_equal(
        NoiseSource.seeded(8).discrete_gaussian(variance, 100),
        NoiseSource.seeded(7).discrete_gaussian(variance, 100),
    )
    with pytest.raises(ParameterError):
        NoiseSource.seeded(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("source", [NoiseSource.seeded(2024), NoiseSource()], ids=["seeded", "os"])
def test_draws_follow_their_distributions(source: NoiseSource) -> None:
    # KS tests at p > 1e-6: the secure source is random, so this fails spuriously once per
    # million runs; the seeded one is deterministic. (The discrete Gaussian has its own tests in
    # test_discrete_gaussian.py.)
    n = 20_000
    assert stats.kstest(source.gumbel(n), "gumbel_r").pvalue > 1e-6
    uniform = source.uniform(n)
    assert np.all((uniform >= 0) & (uniform < 1))
    assert stats.kstest(uniform, "uniform").pvalue > 1e-6


def test_noise_shapes() -> None:
    source = NoiseSource.seeded(0)
    variance = Fraction(4)
    assert isinstance(source.discrete_gaussian(variance), int)
    assert source.discrete_gaussian(variance, (3, 4)).shape == (3, 4)
    assert source.discrete_gaussian(variance, 5).dtype == np.int64
    assert source.discrete_gaussian(variance, 0).shape == (0,)
    assert source.gumbel(0).shape == (0,)
    # σ² must be an exact positive rational: floats are rounded by the mechanisms, not here
    for bad in (4.0, Fraction(0), -1, True, Fraction(2**101)):
        with pytest.raises(ParameterError):
            source.discrete_gaussian(bad, 3)  # type: ignore[arg-type]


# -- gaussian_counts -----------------------------------------------------------------------------


def test_gaussian_counts_noise_has_scale_sigma_and_mean_zero() -> None:
    ledger = roomy_ledger()
    sigma, n = 3.0, 200_000
    counts = np.arange(n, dtype=float) % 7
    noisy = gaussian_counts(counts, sigma, ledger=ledger, purpose="m", noise=NoiseSource.seeded(3))
    error = noisy - counts
    assert noisy.dtype == np.float64 and np.array_equal(error, np.round(error))
    # Sample mean has std σ/sqrt(N); sample variance has std about σ²·sqrt(2/(N−1)) (the
    # discrete Gaussian's kurtosis is the normal one's to within e^-177 at σ = 3, as is its
    # variance: σ² − Var = O(σ⁴·e^(−2π²σ²))). 5-sigma bands.
    assert abs(error.mean()) < 5 * sigma / math.sqrt(n)
    assert abs(error.var(ddof=1) - sigma**2) < 5 * sigma**2 * math.sqrt(2 / (n - 1))
    (entry,) = ledger.entries
    # σ² = 9 is a rational already, so nothing is rounded: ρ = 1/18 exactly
    assert entry.mechanism == "gaussian" and entry.rho == 1 / 18
    assert entry.params["sigma"] == sigma and entry.params["variance"] == "9/1"
    assert entry.params["noise"] == "discrete_gaussian" and entry.seeded_noise


def test_gaussian_counts_take_whole_counts_only() -> None:
    ledger, source = roomy_ledger(), NoiseSource.seeded(0)
    for counts in (np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0]), [True, False]):
        noisy = gaussian_counts(counts, 2.0, ledger=ledger, purpose="m", noise=source)
        assert noisy.dtype == np.float64
    for bad in ([1.5, 2.0], [np.nan], [np.inf], ["3"], [2.0**60]):
        with pytest.raises(ParameterError):
            gaussian_counts(bad, 2.0, ledger=ledger, purpose="m", noise=source)
    assert len(ledger.entries) == 3  # refused before anything was charged


def test_gaussian_counts_charge_the_stated_sensitivity_with_the_same_noise() -> None:
    """A count one row moves by up to Δ (a value group's tally of rows at stake, Δ = k) costs
    Δ²/(2σ²); the noise is the same N_Z(0, σ²) draw as at Δ = 1 (same seed, same output)."""
    counts = np.arange(50_000, dtype=float) % 5
    one, three = roomy_ledger(), roomy_ledger()
    plain = gaussian_counts(counts, 4.0, ledger=one, purpose="m", noise=NoiseSource.seeded(1))
    wide = gaussian_counts(
        counts, 4.0, sensitivity=3, ledger=three, purpose="m", noise=NoiseSource.seeded(1)
    )
    assert np.array_equal(plain, wide)
    ((entry_1,), (entry_3,)) = one.entries, three.entries
    assert entry_1.rho == 1 / 32 and entry_1.params["l2_sensitivity"] == 1.0
    assert entry_3.rho == 9 / 32 and entry_3.params["l2_sensitivity"] == 3.0
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ParameterError, match="sensitivity"):
            gaussian_counts(counts[:2], 4.0, sensitivity=bad, ledger=three, purpose="m")
    assert len(three.entries) == 1  # refused before anything was charged


@pytest.mark.parametrize("sigma", [0.3, 1.0, 1.3, math.pi, 1 / math.sqrt(0.2), 1e4 + 0.1, 7e9])
def test_rational_variance_rounds_up_and_is_charged_exactly(sigma: float) -> None:
    variance = rational_variance(sigma)
    requested = Fraction(sigma) ** 2  # the float σ, squared exactly
    assert requested <= variance <= requested * (1 + Fraction(1, 2**32))
    assert variance.denominator & (variance.denominator - 1) == 0  # a power of two
    ledger = roomy_ledger()
    gaussian_counts([0, 0], sigma, ledger=ledger, purpose="m", noise=NoiseSource.seeded(0))
    (entry,) = ledger.entries
    # the recorded cost is 1/(2σ²) of the ROUNDED σ², so at most what σ would cost
    assert entry.rho == float(1 / (2 * variance)) and entry.rho <= 1 / (2 * sigma**2)
    assert Fraction(entry.params["variance"]) == variance
    assert entry.params["sigma"] == pytest.approx(sigma, rel=2**-32)


def test_sigma_for_rho_inverts_the_gaussian_cost() -> None:
    assert sigma_for_rho(0.5) == pytest.approx(1.0)
    assert sigma_for_rho(0.02, sensitivity=3.0) == pytest.approx(3.0 / math.sqrt(0.04))
    with pytest.raises(ParameterError):
        sigma_for_rho(0.0)


def test_mechanisms_check_the_budget_before_releasing() -> None:
    ledger = PrivacyLedger(0.1, 1e-6)
    with pytest.raises(BudgetError):
        gaussian_counts(np.zeros(4), 0.1, ledger=ledger, purpose="too precise")
    assert ledger.entries == ()


def test_mechanisms_refuse_foreign_randomness() -> None:
    with pytest.raises(ParameterError, match="NoiseSource"):
        gaussian_counts(
            np.zeros(2),
            1.0,
            ledger=roomy_ledger(),
            purpose="m",
            noise=np.random.default_rng(0),  # type: ignore[arg-type]
        )


# -- exponential mechanism -----------------------------------------------------------------------


def test_exponential_mechanism_frequencies_match_softmax() -> None:
    ledger, source = roomy_ledger(), NoiseSource.seeded(11)
    scores = np.array([0.0, 1.0, 2.0, 4.0, 3.5])
    epsilon, sensitivity, trials = 1.2, 2.0, 6_000
    picks = [
        exponential_mechanism(
            scores,
            epsilon=epsilon,
            sensitivity=sensitivity,
            ledger=ledger,
            purpose="s",
            noise=source,
        )
        for _ in range(trials)
    ]
    observed = np.bincount(picks, minlength=scores.size)
    logits = epsilon * scores / (2 * sensitivity)
    expected = np.exp(logits - logits.max())
    expected = trials * expected / expected.sum()
    # Each count is Binomial(T, p): 5-sigma band; plus a chi-square goodness of fit at 1e-6.
    assert np.all(np.abs(observed - expected) <= 5 * np.sqrt(expected * (1 - expected / trials)))
    assert stats.chisquare(observed, expected).pvalue > 1e-6
    assert ledger.spent_rho == pytest.approx(trials * epsilon**2 / 8)


def test_exponential_mechanism_accepts_rho() -> None:
    ledger = roomy_ledger()
    choice = exponential_mechanism(
        [0.0, 100.0, 0.0],
        sensitivity=1.0,
        rho=2.0,
        ledger=ledger,
        purpose="s",
        noise=NoiseSource.seeded(0),
    )
    assert choice == 1  # a gap of 100 at ε = 4: the others have probability ~e^-200
    (entry,) = ledger.entries
    assert entry.rho == 2.0 and entry.params["epsilon"] == pytest.approx(4.0)
    with pytest.raises(ParameterError):
        exponential_mechanism([1.0], sensitivity=1.0, ledger=ledger, purpose="s")
    with pytest.raises(ParameterError):
        exponential_mechanism([1.0], sensitivity=1.0, epsilon=1, rho=1, ledger=ledger, purpose="s")


# -- dp_categories -------------------------------------------------------------------------------


def discrete_gaussian_tail(k: int, variance: float) -> float:
    """P(X ≥ k) for X ~ N_Z(0, σ²), by direct summation over ±(60σ + 60): the terms left out
    are below e^-1800 of the largest."""
    reach = int(60 * math.sqrt(variance)) + 60
    weights = {x: math.exp(-x * x / (2 * variance)) for x in range(-reach, reach + 1)}
    return math.fsum(w for x, w in weights.items() if x >= k) / math.fsum(weights.values())


def test_dp_categories_singletons_pass_with_probability_at_most_delta() -> None:
    # 20 000 values held by one row each: each passes the threshold independently with
    # probability p = P(1 + X ≥ τ) ≤ δ, so the number released is Binomial(20 000, p).
    singletons = [f"s{i}" for i in range(20_000)]
    values = ["frequent"] * 300 + singletons + [None, np.nan]
    rho, delta = 0.05, 0.01
    ledger = roomy_ledger(delta_reserved=0.1)
    kept = dp_categories(
        values, rho, delta, ledger=ledger, purpose="c", noise=NoiseSource.seeded(5)
    )
    (entry,) = ledger.entries
    assert entry.rho == pytest.approx(rho, rel=2**-32) and entry.rho <= rho
    assert entry.delta == delta
    threshold, variance = entry.params["threshold"], float(Fraction(entry.params["variance"]))
    # τ is the smallest integer with P(X ≥ τ − 1) ≤ δ, computed exactly here
    p = discrete_gaussian_tail(threshold - 1, variance)
    assert p <= delta < discrete_gaussian_tail(threshold - 2, variance)
    released = sum(value.startswith("s") for value in kept)
    assert abs(released - 20_000 * p) <= 5 * math.sqrt(20_000 * p * (1 - p))
    # The frequent value is 300 rows and τ = 9 (σ = 3.16), so missing it is a > 90σ event.
    assert "frequent" in kept
    assert None not in kept and not any(isinstance(v, float) for v in kept)


def test_dp_categories_noise_follows_the_values_not_the_counts() -> None:
    """The noise is assigned in the values' sorted order, not in the order of their counts:
    adding one row to a value changes that value's noisy count by 1 and nothing else, so with
    the same seeded noise every other value is kept or dropped exactly as before."""
    borderline = [f"v{i:03d}" for i in range(300)]
    base = [value for value in borderline for _ in range(4)]  # count 4; σ = 1 and τ = 5 here
    ledger = roomy_ledger(delta_reserved=0.1)

    def fit(rows: list[str]) -> set[str]:
        kept = dp_categories(
            rows, 0.5, 1e-3, ledger=ledger, purpose="c", noise=NoiseSource.seeded(4)
        )
        return set(kept)

    before = fit(base)
    # each is kept with P(X ≥ 1) ≈ 0.32, so the kept set is informative: a shifted noise
    # assignment would change it for about 0.43 of the values
    assert 50 < len(before) < 150
    for moved in ("v000", "v150", "v299"):  # the value that jumps to the top of value_counts
        after = fit([*base, moved])
        assert before - {moved} == after - {moved}


def test_dp_categories_sorted_top_k_and_mixed_types() -> None:
    ledger = roomy_ledger(delta_reserved=0.1)
    values = pd.Series(["b"] * 500 + ["a"] * 400 + [3] * 300 + ["rare"] * 2)
    kept = dp_categories(values, 1.0, 1e-6, ledger=ledger, purpose="c", noise=NoiseSource.seeded(0))
    assert kept == [3, "a", "b"]  # sorted by type name, then value; "rare" (2 rows) is below τ = 5
    top = dp_categories(
        values,
        1.0,
        1e-6,
        max_categories=2,
        ledger=ledger,
        purpose="c",
        noise=NoiseSource.seeded(0),
    )
    assert top == ["a", "b"]


def first_and_second_look(values, sigma_1, sigma_2, delta, seed):
    """Both looks at ``values``; the second counts the rows the first left unreleased."""
    ledger = roomy_ledger(delta_reserved=0.1)
    rho = lambda sigma: 1 / (2 * sigma**2)  # noqa: E731
    noise = NoiseSource.seeded(seed)
    kept, unreleased, _ = dp_category_look(
        values, rho(sigma_1), delta, ledger=ledger, purpose="c", noise=noise
    )
    rest = [v for v in values if v not in set(kept)]
    more, left, _ = dp_category_look(
        rest, rho(sigma_2), delta, earlier=unreleased, ledger=ledger, purpose="c", noise=noise
    )
    return kept, more, left, ledger


def test_a_second_look_combines_both_noisy_counts_by_inverse_variance() -> None:
    """3,000 values of 50 rows each, kept by neither look (δ = 1e-300 puts τ far above): the
    combined counts left over have mean 50 and variance σ_c² = 1/(1/10² + 1/5²) = 20. With
    3,000 draws the sample variance has a relative standard deviation of sqrt(2/2999) = 2.6 %
    (15 % is 5.8 of them) and the mean one of sqrt(20/3000) = 0.08 (0.45 is 5.5 of them)."""
    values = [f"v{i:04d}" for i in range(3000) for _ in range(50)]
    kept, more, left, ledger = first_and_second_look(values, 10.0, 5.0, 1e-300, seed=3)
    assert kept == [] and more == []
    combined = np.array(list(left.noisy.values()))
    assert len(combined) == 3000 and left.variance == pytest.approx(20.0, rel=1e-6)
    assert abs(combined.mean() - 50) < 0.45
    assert combined.var(ddof=1) == pytest.approx(20.0, rel=0.15)
    assert ledger.entries[1].params["combined_sigma"] == pytest.approx(math.sqrt(20.0))
    assert repr(left) == "UnreleasedCounts(<not shown>)"  # nothing of the counts in a repr


def test_a_second_look_releases_a_singleton_with_probability_at_most_its_delta() -> None:
    """20,000 values held by one row each, σ₁ = 30, σ₂ = 20, δ = 0.02 per look. The combined
    count is 1 + S, S nearly N(0, σ_c²) with σ_c² = 1/(1/900 + 1/400) = 277; its threshold
    comes from an upper bound on S's tail, so each remaining singleton passes with a
    probability p ≤ δ, and the count released is Binomial(~19,600, p): at most δ·n plus 5
    standard deviations. The bound is tight (p about 0.8δ here), so at least δ/2 pass; a
    Chernoff threshold, 1 + σ_c·sqrt(2 ln 50), would let only 0.26 % through."""
    values = [f"s{i:05d}" for i in range(20_000)]
    kept, more, _, ledger = first_and_second_look(values, 30.0, 20.0, 0.02, seed=8)
    second = ledger.entries[1]
    sigma_c = math.sqrt(1 / (1 / 900 + 1 / 400))
    assert second.params["combined_sigma"] == pytest.approx(sigma_c)
    assert 1 + sigma_c * 2.05 < second.params["threshold"] < 1 + sigma_c * 2.2  # Φ⁻¹(0.98) = 2.054
    assert second.delta == 0.02
    assert len(kept) <= 20_000 * 0.02 + 5 * math.sqrt(20_000 * 0.02)  # the first look's own
    n = 20_000 - len(kept)
    assert n * 0.01 <= len(more) <= n * 0.02 + 5 * math.sqrt(n * 0.02)
    assert not set(kept) & set(more)


def test_the_combined_tail_bound_is_above_the_true_tail() -> None:
    """Against 2,000,000 simulated draws of a·X₁ + b·X₂ (the exact discrete Gaussian
    sampler): at every u where the simulated tail has at least 2,000 hits (relative standard
    error ≤ 2.2 %), the bound is at least 0.9 times it and at most 1.6 times it."""
    noise = NoiseSource.seeded(1)
    for s1, s2 in ((3, 2), (1.2, 0.7), (10, 4)):
        v1, v2 = s1**2, s2**2
        x1 = noise.discrete_gaussian(rational_variance(s1), 2_000_000).astype(float)
        x2 = noise.discrete_gaussian(rational_variance(s2), 2_000_000).astype(float)
        vc = 1 / (1 / v1 + 1 / v2)
        total = vc / v1 * x1 + vc / v2 * x2
        for u in np.array([0.5, 1, 2, 3, 4]) * math.sqrt(vc):
            simulated = float((total >= u).mean())
            if simulated * 2_000_000 < 2_000:
                continue
            bound = math.exp(_log_combined_tail_bound(float(u), v1, v2))
            assert 0.9 * simulated <= bound <= 1.6 * simulated, (s1, s2, u)


def exact_log_tail(u: float, var1: float, var2: float) -> float:
    """log P(a·X₁ + b·X₂ ≥ u) by exact convolution of the two discrete Gaussians (pmfs
    normalised over ±(42σ + 12), beyond which each holds less than e^-880)."""

    def log_pmf(variance: float) -> tuple[np.ndarray, np.ndarray]:
        reach = math.ceil(42 * math.sqrt(variance)) + 12
        x = np.arange(-reach, reach + 1)
        log_f = -np.square(x.astype(float)) / (2 * variance)
        return x, log_f - logsumexp(log_f)

    combined = 1 / (1 / var1 + 1 / var2)
    a, b = combined / var1, combined / var2
    (x1, lp1), (x2, lp2) = log_pmf(var1), log_pmf(var2)
    log_tail2 = np.logaddexp.accumulate(lp2[::-1])[::-1]  # log P(X₂ ≥ x2[i])
    needed = (u - a * x1) / b
    k = np.ceil(needed - 1e-9 * np.maximum(1, np.abs(needed)))  # on an atom: count it
    index = np.clip((k - x2[0]).astype(np.int64), 0, len(x2) - 1)
    tail = np.where(k <= x2[0], 0.0, np.where(k > x2[-1], -np.inf, log_tail2[index]))
    return float(logsumexp(lp1 + tail))


@pytest.mark.parametrize(
    ("sigma_1", "sigma_2"), [(0.3, 0.3), (0.45, 0.57), (0.5, 8.0), (8.0, 0.5), (3.0, 2.0), (40, 12)]
)
@pytest.mark.parametrize("delta", [0.02, 1e-11, 1e-300])
def test_the_combined_threshold_holds_against_the_exact_tail(sigma_1, sigma_2, delta) -> None:
    """Exact convolution, small and very unequal σ included: a value held by one row passes
    the combined look (1 + S ≥ τ_c) with probability at most δ, and τ_c is not loose: within
    1 + 15 % of the exact smallest threshold's distance from 1 (Gaussian-like tails at these
    σ: the bound is 1.2-1.4 times the exact tail, a few percent of the threshold)."""
    var1, var2 = sigma_1**2, sigma_2**2
    tau = _combined_threshold(var1, var2, delta)
    assert exact_log_tail(tau - 1, var1, var2) <= math.log(delta)
    assert exact_log_tail((tau - 1) / 1.15 - 1e-6, var1, var2) > math.log(delta)


def test_the_combined_tail_bound_counts_a_value_the_sum_hits_exactly() -> None:
    """At u = a·3 + b·3 = 3 the sum takes the value u itself: a ceiling rounded up past it in
    floating point dropped that value, and the bound fell below the exact tail."""
    var1, var2 = 0.45331979207087314**2, 0.5673628228501737**2
    assert _log_combined_tail_bound(3.0, var1, var2) >= exact_log_tail(3.0, var1, var2)


def test_a_second_look_counts_only_what_the_first_left_unreleased() -> None:
    ledger = roomy_ledger(delta_reserved=0.1)
    _, unreleased, _ = dp_category_look(["a"] * 3, 0.5, 1e-3, ledger=ledger, purpose="c")
    with pytest.raises(ParameterError, match="second look"):
        dp_category_look(["b"], 0.5, 1e-3, earlier=unreleased, ledger=ledger, purpose="c")


def test_dp_categories_needs_reserved_delta() -> None:
    with pytest.raises(BudgetError):
        dp_categories(["a"] * 10, 0.1, 1e-8, ledger=PrivacyLedger(1.0, 1e-6), purpose="c")


# -- dp_quantiles --------------------------------------------------------------------------------


def test_dp_quantiles_close_to_true_quantiles_for_large_n() -> None:
    rng = np.random.default_rng(1)
    values = np.clip(rng.normal(50, 10, 100_000), 0, 100)
    levels = np.array([0.1, 0.25, 0.5, 0.75, 0.9])
    ledger = roomy_ledger()
    estimate = dp_quantiles(
        values, levels, 0.0, 100.0, 0.1, ledger=ledger, purpose="q", noise=NoiseSource.seeded(2)
    )
    # Six tree levels: σ² = 6/(2ρ) = 30 per node, and a level's CDF error has a standard error
    # ≤ 1.86σ ≈ 10 rows (the 1024-cell tree's pseudo-inverse, computed as in
    # tests/test_tree_counts.py; 5 of them: 51 rows = 0.05 % of n); the density at these
    # levels is ≥ 0.017 per unit, so that is ≤ 0.03 in value; plus a cell width of 0.1:
    # tolerance 0.15.
    assert np.allclose(estimate, np.quantile(values, levels), atol=0.15)
    assert ledger.spent_rho == pytest.approx(0.1, rel=2**-32) and len(ledger.entries) == 1


def test_dp_quantiles_log_grid_for_wide_positive_ranges() -> None:
    rng = np.random.default_rng(4)
    values = rng.lognormal(mean=3.0, sigma=2.0, size=50_000)
    levels = np.array([0.1, 0.5, 0.9])
    ledger = roomy_ledger()
    estimate = dp_quantiles(
        values, levels, 1e-3, 1e6, 0.1, ledger=ledger, purpose="q", noise=NoiseSource.seeded(9)
    )
    assert ledger.entries[0].params["grid"] == "log"
    # Geometric cells are 2 % wide. CDF noise ≤ 5·1.86·5.48 = 51 rows = 0.1 % in level, which
    # is ≤ 1.2 % in value at these levels (d log q / d level = 2/φ(1.28) = 11.4): 4 % relative.
    assert np.allclose(estimate, np.quantile(values, levels), rtol=0.04)


def test_dp_quantiles_with_no_data_spreads_uniformly() -> None:
    estimate = dp_quantiles(
        [np.nan],
        [0.0, 0.5, 1.0],
        0.0,
        10.0,
        1e-6,
        ledger=roomy_ledger(),
        purpose="q",
        noise=NoiseSource.seeded(0),
    )
    assert np.all(np.diff(estimate) >= 0) and estimate[0] >= 0.0 and estimate[-1] <= 10.0


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(st.floats(-1e6, 1e6) | st.just(math.nan), max_size=200),
    levels=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=8),
    lower=st.floats(-1e3, 1e3),
    width=st.floats(1e-3, 1e4),
    rho=st.floats(1e-4, 10.0),
    seed=st.integers(0, 2**32),
)
def test_dp_quantiles_are_monotone_and_within_bounds(values, levels, lower, width, rho, seed):
    upper = lower + width
    levels = np.array(levels)
    estimate = dp_quantiles(
        values,
        levels,
        lower,
        upper,
        rho,
        bins=64,
        ledger=roomy_ledger(),
        purpose="q",
        noise=NoiseSource.seeded(seed),
    )
    assert estimate.shape == levels.shape
    assert np.all((estimate >= lower) & (estimate <= upper))
    order = np.argsort(levels)
    assert np.all(np.diff(estimate[order]) >= 0)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60))
def test_isotonic_fit_matches_reference(values: list[float]) -> None:
    # The pool-adjacent-violators fit behind dp_quantiles' monotone CDF, against scikit-learn.
    fitted = _isotonic_increasing(np.array(values))
    assert np.all(np.diff(fitted) >= 0)
    np.testing.assert_allclose(fitted, isotonic_regression(values), rtol=1e-9, atol=1e-6)


def test_dp_quantiles_rejects_bad_arguments() -> None:
    ledger = roomy_ledger()
    with pytest.raises(ParameterError):
        dp_quantiles([1.0], [0.5], 1.0, 1.0, 0.1, ledger=ledger, purpose="q")
    with pytest.raises(ParameterError):
        dp_quantiles([1.0], [1.5], 0.0, 1.0, 0.1, ledger=ledger, purpose="q")
    with pytest.raises(ParameterError):
        dp_quantiles([1.0], [0.5], 0.0, 1.0, 0.1, grid="log", ledger=ledger, purpose="q")
    assert ledger.entries == ()


# -- dp_bounds -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (3.0, 1000.0, (2.0, 1024.0)),  # (2, 4] holds the minimum, (512, 1024] the maximum
        (-50.0, 20.0, (-64.0, 32.0)),
        (1e-6, 3e-6, (2.0**-20, 2.0**-18)),  # tiny magnitudes get their own buckets
        (-7e12, -5e12, (-(2.0**43), -(2.0**42))),
    ],
)
def test_dp_bounds_cover_the_data_range_buckets(low, high, expected) -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.uniform(low, high, 20_000), [low, high] * 500, [np.nan] * 50])
    ledger = roomy_ledger()
    bounds = dp_bounds(values, 0.1, ledger=ledger, purpose="b", noise=NoiseSource.seeded(1))
    # σ = 2.24 and the threshold is 5σ = 11 rows; the extreme buckets hold ≥ 500 rows each
    # (the 500 copies of each endpoint), and empty buckets pass with probability 3e-7 each.
    # Growing through neighbours above 1σ may add one empty bucket on a side (p ≈ 0.16 each;
    # two in a row, p ≈ 0.03, would fail this seeded test and be a regression to look at).
    lower_edges, upper_edges = _bounds_grid()
    low = int(np.flatnonzero(lower_edges == expected[0])[0])
    high = int(np.flatnonzero(upper_edges == expected[1])[0])
    assert bounds[0] in (lower_edges[low], lower_edges[low - 1])
    assert bounds[1] in (upper_edges[high], upper_edges[high + 1])
    assert bounds[0] <= np.nanmin(values) and np.nanmax(values) <= bounds[1]
    assert ledger.entries[0].rho == pytest.approx(0.1, rel=2**-32) and ledger.entries[0].rho <= 0.1
    assert ledger.entries[0].mechanism == "dp_bounds"


def test_dp_bounds_keep_a_thin_tail() -> None:
    """A tail spread over buckets that each hold about 5σ (here 250 rows, σ = 50) clears the
    5σ threshold only half the time per bucket, so the lowest cleared bucket could be (8, 16]
    or above; growing through neighbours above 1σ keeps all three tail buckets unless the
    noise on one is below -4σ (p ≈ 3e-5)."""
    rng = np.random.default_rng(4)
    tail = np.concatenate([rng.uniform(lo, 2 * lo, 250) for lo in (2.5, 4.5, 8.5)])
    values = np.concatenate([rng.uniform(16.5, 64, 6000), tail])
    bounds = dp_bounds(
        values, 2e-4, ledger=roomy_ledger(), purpose="b", noise=NoiseSource.seeded(5)
    )
    assert bounds[0] <= 2.0 and bounds[1] >= 64.0


def bounds_over_seeds(values, sigma: float, seeds: int, **kwargs) -> list:
    """dp_bounds at noise scale ``sigma`` with noise seeds 0 .. seeds-1 ("error" where it
    refuses)."""
    out = []
    for seed in range(seeds):
        try:
            out.append(
                dp_bounds(
                    values,
                    1 / (2 * sigma**2),
                    ledger=roomy_ledger(),
                    purpose="b",
                    noise=NoiseSource.seeded(seed),
                    **kwargs,
                )
            )
        except DomainEstimationError:
            out.append("error")
    return out


def test_dp_bounds_of_an_integer_column_grow_from_zero_to_one() -> None:
    """A count of procedures (5,596 rows of diabetes130): 46 % zeros, then 1 .. 6. At σ = 254
    only the zero bucket clears 5σ. On the integer grid (magnitudes from 2^0) the bucket of 1
    (1,166 rows, 4.6σ) is zero's neighbour and the growth through buckets above 1σ reaches it
    unless its noise is below -3.6σ (p = 1.6e-4); the buckets of 2 and of 3-4 (2.7σ and 2.9σ)
    pass with probability 0.95 and 0.97. On the real-valued grid 32 empty buckets of tiny
    magnitudes separate 0 from 1 (the range came back as [0, 0] in a fit)."""
    counts = np.repeat(np.arange(7.0), [2567, 1166, 691, 522, 214, 166, 270])
    found = bounds_over_seeds(counts, 254.0, 50, integer=True)
    assert all(b != "error" and b[0] <= 0.0 and b[1] >= 1.0 for b in found)
    assert sum(b[1] >= 4.0 for b in found) >= 40  # about 46 expected
    ledger = roomy_ledger()
    dp_bounds(counts, 0.1, ledger=ledger, purpose="b", noise=NoiseSource.seeded(0), integer=True)
    assert ledger.entries[0].params["buckets"] == 2 * 63 + 1  # ±2^0 .. ±2^62 and {0}


def test_dp_bounds_find_rows_spread_too_thinly_for_any_bucket() -> None:
    """5,000 amounts spread evenly over the ten buckets of 2^8 .. 2^18 (about 500 rows, 3.3σ
    at σ = 150, each): a single bucket clears 5σ only now and then, and a fit used to stop
    with DomainEstimationError. Their run's sum (33σ) clears 5.8·√10 = 18σ in every seed, and
    its ends stay where the rows are (an empty bucket joins it when its noise beats 1.5σ)."""
    rng = np.random.default_rng(0)
    amounts = np.round(np.exp2(rng.uniform(8, 18, 5000)))
    found = bounds_over_seeds(amounts, 150.0, 20, integer=True)
    assert "error" not in found
    assert all(2.0**5 <= low <= 2.0**9 and 2.0**17 <= high <= 2.0**21 for low, high in found)
    assert sum(b == (256.0, 262144.0) for b in found) >= 10  # exactly the data's buckets


def test_dp_bounds_stay_tight_around_one_bucket() -> None:
    """All rows in (32, 64] at 50σ: the range grows one empty bucket per side with probability
    0.16 (noise above 1σ), two with 0.026; the run may add one with 0.07 (noise above 1.5σ).
    A run that swallowed empty buckets (an earlier draft: ranges six buckets too wide) would
    fail the count; the seeds are fixed, so the test is deterministic."""
    found = bounds_over_seeds(np.full(5000, 40.0), 100.0, 300)
    assert all(low >= 2.0 and high <= 2.0**10 for low, high in found)  # 5 buckets: p < 1e-3
    assert sum(high >= 256.0 for _, high in found) <= 15  # about 8 expected
    # exact when neither neighbour exceeds 1σ (a cell the run could take exceeds 1.5σ, so is
    # counted there too): about 0.84² ≈ 0.70, 211 of 300 expected
    assert sum(b == (32.0, 64.0) for b in found) >= 190


@pytest.mark.parametrize(("level", "found"), [(2.95, True), (2.85, False)])
def test_occupied_span_finds_a_run_exactly_above_its_threshold(level, found) -> None:
    """191 cells of z = 0 but four adjacent ones at ``level``: no cell clears 5σ, and the run
    of the four (the largest sum of z − 1.5) is read when its sum beats z_run·√4 with z_run =
    5.8175 for 191 cells (the runs together pass pure noise as rarely as the cells pass 5σ):
    11.8 does, 11.4 does not. Pins the threshold: 5σ·√4 = 10 would take both."""
    z = np.zeros(191)
    z[100:104] = level
    assert occupied_span(z, 5.0) == ((100, 103) if found else None)


def test_occupied_span_reads_single_cells_and_refuses_pure_zeros() -> None:
    z = np.full(191, -1.0)
    z[7] = 6.0  # one cell above 5σ (and above z_run): the best run is that cell alone
    assert occupied_span(z, 5.0) == (7, 7)
    assert occupied_span(np.zeros(191), 5.0) is None
    assert occupied_span([0.0, 9.0, 0.5], 5.0) == (1, 1)  # a list is read as an array


def test_dp_bounds_read_no_range_off_pure_noise() -> None:
    """No rows: single buckets pass 5σ with probability 191 × 2.9e-7 and the best run of the
    ~18,000 clears 5.8σ·√w with at most 18,000 × 3.0e-9 per fit, so a range here would be
    noise. A run threshold without √w (the sum of w noises has variance w) would fail at once."""
    assert bounds_over_seeds(np.empty(0), 100.0, 1000) == ["error"] * 1000


def test_dp_bounds_handles_zero_and_huge_values() -> None:
    ledger = roomy_ledger()
    source = NoiseSource.seeded(2)
    assert dp_bounds(np.zeros(1000), 0.1, ledger=ledger, purpose="b", noise=source) == (0.0, 0.0)
    huge = np.array([1e30, np.inf] * 500 + [0.0] * 1000)
    assert dp_bounds(huge, 0.1, ledger=ledger, purpose="b", noise=source) == (
        0.0,
        2.0**BOUNDS_MAX_EXPONENT,
    )


def test_dp_bounds_refuses_to_guess_when_no_bucket_clears_the_threshold() -> None:
    # σ = 707 at ρ = 1e-6: three rows never clear 5σ, and the argmax of pure noise would be an
    # arbitrary power of two (ages of 0, incomes of -2.8e14). The refusal names the purpose,
    # says what to do, and quotes no number (nothing from the data leaks through the message).
    ledger = roomy_ledger()
    with pytest.raises(DomainEstimationError) as caught:
        dp_bounds(
            [5.0, 6.0, 7.0],
            1e-6,
            ledger=ledger,
            purpose="range of column 'age'",
            noise=NoiseSource.seeded(3),
        )
    message = str(caught.value)
    assert isinstance(caught.value, DataError)
    assert message.startswith("range of column 'age'")
    for advice in ("Declare the column's bounds", "metadata", "raise epsilon", "more rows"):
        assert advice in message
    assert not any(ch.isdigit() for ch in message)
    assert len(ledger.entries) == 1  # the noisy histogram was released, and is charged
