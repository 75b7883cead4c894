"""What a long tail costs a column's 1-way score at a noise σ
(benchmarks/marginal/tail_noise.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.marginal.tail_noise import posterior_means, score, tail_shape


def test_posterior_means_come_closer_to_the_counts_than_the_noisy_counts() -> None:
    """300 empty codes and 30 of 500 rows, σ = 10: the prior fitted to the noisy counts knows
    most codes are empty and the rest near 500, so the posterior means of both kinds lie nearer
    the truth than the noisy counts do (mean absolute error about 0.8 σ = 8 for those), and an
    empty code's sits near 0 (its noisy count clipped at 0 would average 0.40 σ = 4)."""
    rng = np.random.default_rng(0)
    counts = np.r_[np.zeros(300), np.full(30, 500.0)]
    noisy = counts + rng.normal(0, 10, len(counts))
    means = posterior_means(noisy, 10.0)
    for part in (slice(0, 300), slice(300, None)):
        assert np.abs(means[part] - counts[part]).mean() < np.abs(noisy[part] - counts[part]).mean()
    assert means[:300].mean() < 1.0


def test_without_noise_the_tail_is_exact() -> None:
    """σ = 0 returns the counts; a σ far below one row shifts each count by under a row and
    the odds rescale them back, so the shape stays within a millionth."""
    counts = np.array([5.0, 40.0, 0.0, 120.0, 7.0])
    rng = np.random.default_rng(0)
    assert np.array_equal(tail_shape(counts, 0.0, rng), counts)
    assert np.allclose(tail_shape(counts, 1e-6, rng), counts, atol=1e-6)
    assert tail_shape(np.array([]), 10.0, rng).size == 0  # a column with no tail


def test_more_noise_costs_more() -> None:
    """The tail's L1 error at σ = 40 against σ = 4, 20 draws each, on 200 codes of 0-59 rows
    (spread about 17): σ = 4 is a quarter of that spread, σ = 40 more than twice it."""
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 60, 200).astype(float)
    error = {
        sigma: np.mean([np.abs(tail_shape(counts, sigma, rng) - counts).sum() for _ in range(20)])
        for sigma in (4.0, 40.0)
    }
    assert error[40.0] > 3 * error[4.0]


def test_the_score_is_one_less_the_tvd_of_the_sample() -> None:
    """All rows drawn in one of two equal cells: TVD 0.5 whatever the draw. Drawn from the real
    shares, 10,000 rows land within 4 standard errors (0.02) of them."""
    real = np.array([50.0, 50.0])
    rng = np.random.default_rng(2)
    assert score(real, np.array([1.0, 0.0]), 1000, rng) == 0.5
    assert score(real, real, 10_000, rng) > 0.98
