"""Tests of tabsynth.privacy.tree_counts, the tree of sums behind dp_quantiles.

Statistical tests use NoiseSource.seeded; their bands are ≥ 5 standard errors from theory.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabsynth.privacy import NoiseSource, PrivacyLedger, dp_quantiles, tree_counts


def design(cells: int, branching: int) -> np.ndarray:
    """The 0/1 matrix mapping padded leaf counts to every node's count, root first."""
    leaves = branching ** (tree_counts.depth(cells, branching) - 1)
    rows = []
    nodes = 1
    while nodes <= leaves:
        width = leaves // nodes
        rows.append(np.kron(np.eye(nodes), np.ones((1, width))))
        nodes *= branching
    return np.vstack(rows)


@pytest.mark.parametrize(
    ("cells", "branching", "levels"), [(1, 4, 1), (4, 4, 2), (5, 4, 3), (256, 4, 5), (1024, 4, 6)]
)
def test_depth_counts_the_root_and_the_leaves(cells: int, branching: int, levels: int) -> None:
    assert tree_counts.depth(cells, branching) == levels


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(0, 1000), min_size=1, max_size=70),
    branching=st.sampled_from([2, 3, 4]),
    data=st.data(),
)
def test_one_row_moves_one_node_per_level(
    counts: list[int], branching: int, data: st.DataObject
) -> None:
    """The neighbour property behind the cost: a row added to any cell adds 1 to one node of
    each level and nothing else, so the node counts have L2 sensitivity sqrt(levels)."""
    before = np.array(counts)
    cell = data.draw(st.integers(0, before.size - 1))
    after = before.copy()
    after[cell] += 1
    old = tree_counts.level_counts(before, branching)
    new = tree_counts.level_counts(after, branching)
    assert len(old) == len(new) == tree_counts.depth(before.size, branching)
    assert old[0].size == 1 and old[0][0] == before.sum()
    for low, high in zip(old, new, strict=True):
        assert np.array_equal(np.flatnonzero(high - low), [cell * low.size // old[-1].size])
        assert (high - low).sum() == 1
    assert np.array_equal(old[-1][: before.size], before) and not old[-1][before.size :].any()


@pytest.mark.parametrize(("cells", "branching"), [(16, 4), (10, 4), (16, 2), (27, 3), (64, 4)])
def test_least_squares_cells_are_the_ordinary_least_squares_fit(cells: int, branching: int) -> None:
    rng = np.random.default_rng(cells)
    counts = rng.integers(0, 50, cells)
    levels = tree_counts.level_counts(counts, branching)
    noisy = [level + rng.normal(0, 3, level.size) for level in levels]
    matrix = design(cells, branching)
    expected = np.linalg.lstsq(matrix, np.concatenate(noisy), rcond=None)[0]
    fitted = tree_counts.least_squares_cells(noisy, branching)
    np.testing.assert_allclose(fitted, expected, atol=1e-9)
    # without noise the fit returns the counts themselves
    exact = tree_counts.least_squares_cells(levels, branching)
    np.testing.assert_allclose(exact[:cells], counts, atol=1e-9)


def test_prefix_errors_match_theory() -> None:
    """Discrete Gaussian noise of variance v on every node leaves each prefix of the fitted cells
    unbiased with variance v·‖row of the pseudo-inverse's cumulative sum‖² (at most 1.54² v for
    64 cells, against 64 v for noise on each cell): 4,000 fits, ±5 standard errors."""
    cells, variance, trials = 64, Fraction(400), 4000
    counts = np.random.default_rng(0).integers(0, 100, cells)
    levels = tree_counts.level_counts(counts)
    source = NoiseSource.seeded(5)
    errors = np.empty((trials, cells))
    for trial in range(trials):
        noisy = [level + source.discrete_gaussian(variance, level.size) for level in levels]
        errors[trial] = np.cumsum(tree_counts.least_squares_cells(noisy)) - np.cumsum(counts)
    prefix = np.cumsum(np.linalg.pinv(design(cells, tree_counts.BRANCHING)), axis=0)
    expected = float(variance) * (prefix**2).sum(axis=1)
    assert expected.max() < 1.55**2 * float(variance)
    measured = errors.var(axis=0)
    # a sample variance of n normals has relative standard error sqrt(2/n) = 0.022
    assert np.all(np.abs(measured / expected - 1) < 5 * np.sqrt(2 / trials))
    assert np.all(np.abs(errors.mean(axis=0)) < 5 * np.sqrt(expected / trials))


def test_quantiles_hold_under_a_long_empty_range_above_the_data() -> None:
    """The case the tree was built for: Adult's ``fnlwgt``-like weights under a DP upper bound
    of 2^21, four times their maximum, at a small per-column budget. With noise on each cell,
    the empty three quarters of the grid made the total a few percent too large and slid every
    quantile down (the last of 32 edges at the 92nd percentile)."""
    rng = np.random.default_rng(3)
    values = np.clip(rng.lognormal(12.0, 0.5, 40_000), 10_000, 500_000)
    levels = np.array([0.25, 0.5, 0.9, 0.97])
    errors = []
    for seed in range(1, 9):
        estimate = dp_quantiles(
            values,
            levels,
            0.0,
            2.0**21,
            1e-4,
            bins=256,
            ledger=PrivacyLedger(1e6, 0.5),
            purpose="q",
            noise=NoiseSource.seeded(seed),
        )
        errors.append(np.searchsorted(np.sort(values), estimate) / values.size - levels)
    # σ² per node = 5 levels / (2ρ) = 25,000, σ = 158. A level q is off by its prefix's error
    # less q times the total's, whose standard error is at most 1.71σ at every cell (from the
    # pseudo-inverse, as above) = 270 rows, 0.68 % of the rows: 5 standard errors are 0.034.
    # Reading uniformly inside cells of 8,192 adds under 0.0002 here (exact counts). Seeds 1-8
    # stay within 0.013; noise on each cell alone erred 0.053 at seed 7 (and 0.027 at seed 3).
    assert np.abs(errors).max() < 0.035


@pytest.mark.parametrize(("bins", "sizes"), [(1, [1]), (5, [1, 4, 16]), (256, [1, 4, 16, 64, 256])])
def test_every_node_gets_the_recorded_noise(bins: int, sizes: list[int]) -> None:
    """dp_quantiles draws noise for every node of every level, at the variance its ledger entry
    records, and charges L/(2σ²) for L levels: the cost of L histograms of sensitivity 1."""
    source = NoiseSource.seeded(0)
    draws: list[tuple[Fraction, int]] = []
    draw = source.discrete_gaussian

    def spy(variance: Fraction, size: int) -> np.ndarray:
        draws.append((variance, size))
        return draw(variance, size)

    source.discrete_gaussian = spy  # type: ignore[method-assign]
    ledger = PrivacyLedger(1e6, 0.5)
    dp_quantiles(
        np.arange(100.0),
        [0.5],
        0.0,
        100.0,
        0.01,
        bins=bins,
        ledger=ledger,
        purpose="q",
        noise=source,
    )
    (entry,) = ledger.entries
    variance = Fraction(entry.params["variance"])
    assert [size for _, size in draws] == sizes
    assert all(v == variance for v, _ in draws)
    assert entry.params["tree_levels"] == len(sizes)
    assert entry.rho == float(len(sizes) / (2 * variance)) <= 0.01
