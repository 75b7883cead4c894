"""The floor on a long tail's 1-way error at a given noise (benchmarks/marginal/tail_noise.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.marginal.tail_noise import posterior_means, tail_tvd


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


def test_no_noise_leaves_the_tail_exact() -> None:
    counts = np.array([5.0, 40.0, 0.0, 120.0, 7.0])
    rows = 1000
    assert tail_tvd(counts, rows, 1e-6, np.random.default_rng(0)) < 1e-6


def test_more_noise_costs_more() -> None:
    """The tail's TVD at σ = 40 against σ = 4, mean of 20 draws each on 200 codes of 0-60
    rows: the noise is a tenth of the counts' spread at 4 and beyond it at 40."""
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 60, 200).astype(float)
    rows = 50_000
    low = np.mean([tail_tvd(counts, rows, 4.0, rng) for _ in range(20)])
    high = np.mean([tail_tvd(counts, rows, 40.0, rng) for _ in range(20)])
    assert high > 3 * low
