"""dp_range_quantiles: quantiles whose range narrows to where the rows are.

A column read without declared bounds gets dp_bounds' powers of two, and quantiles on a grid of
cells inside them. Rows that fill a sliver of those bounds (latitudes of one city, decimal
years) land in one or two cells; the look finds them, and the rest of ρ measures a grid on
just those cells. Elsewhere the two measurements are averaged. Seeded noise throughout; each
tolerance is justified beside it.
"""

from __future__ import annotations

import numpy as np
import pytest

from tabsynth.privacy import (
    NoiseSource,
    PrivacyLedger,
    dp_quantiles,
    dp_range_quantiles,
    mechanisms,
    tree_counts,
)
from tabsynth.privacy.mechanisms import ZOOM_LOOK_SHARE

#: 32 bins' edges, as the domain asks for them.
LEVELS = np.linspace(0.0, 1.0, 33)[1:-1]
CELLS = 256


def ledger() -> PrivacyLedger:
    return PrivacyLedger(epsilon=1000.0, delta=1e-9)


def release(values, lower, upper, rho, seed=1, ledger_=None):
    return dp_range_quantiles(
        values,
        LEVELS,
        lower,
        upper,
        rho,
        ledger=ledger() if ledger_ is None else ledger_,
        purpose="q",
        noise=NoiseSource.seeded(seed),
        bins=CELLS,
    )


def latitudes(rows: int = 20_000) -> np.ndarray:
    """One city's latitudes: a standard deviation of 0.03 degrees, inside dp_bounds' [32, 64]."""
    return np.random.default_rng(0).normal(44.97, 0.03, rows)


def test_rows_in_a_sliver_of_the_bounds_get_a_range_around_them() -> None:
    x = latitudes()
    spent = ledger()
    found = release(x, 32.0, 64.0, 0.01, ledger_=spent)
    # The first grid's cells are 0.125 wide; the rows fill two or three of them, and the span
    # grows by at most a few more at 1 σ: at most 16 cells, or it would not have zoomed. The
    # second grid's empty ends go too: all but 1 % of the rows (by its noisy cells) stay.
    first, second = spent.entries
    grid = second.params["lower"], second.params["upper"]
    assert 32.0 < grid[0] <= found.lower and found.upper <= grid[1] < 64.0
    assert grid[1] - grid[0] <= 16 * 0.125
    assert np.mean((x < found.lower) | (x > found.upper)) < 0.015
    assert found.upper - found.lower < 8 * 0.03  # ± 4 standard deviations of the rows
    # The second tree has ρ/2: σ² = 5 levels / (2 · 0.005) = 500, σ ≈ 22 rows per node; a CDF
    # error of 5 × 1.7 σ (tests/test_tree_counts.py) is 190 rows, 0.95 % in level. At the
    # outermost levels (z = ±1.87) the density is 0.069 / 0.03 = 2.3 per degree, so that is
    # ≤ 0.0041 in value; cells are ≤ 2/256 = 0.0078 wide. Tolerance 0.015, half the rows'
    # standard deviation.
    assert np.abs(found.quantiles - np.quantile(x, LEVELS)).max() < 0.015
    # Without the zoom the same ρ reads every edge inside two cells of 0.125, a guess.
    flat = dp_quantiles(
        x,
        LEVELS,
        32.0,
        64.0,
        0.01,
        ledger=ledger(),
        purpose="q",
        noise=NoiseSource.seeded(1),
        bins=CELLS,
    )
    assert np.abs(flat - np.quantile(x, LEVELS)).max() > 0.015
    # Two measurements, each charged, adding to ρ.
    assert (first.purpose, second.purpose) == ("q (where the rows are)", "q")
    assert first.rho == pytest.approx(0.01 * ZOOM_LOOK_SHARE, rel=1e-9)
    assert spent.spent_rho == pytest.approx(0.01, rel=1e-9) and spent.spent_rho <= 0.01


def test_rows_that_fill_their_bounds_keep_them() -> None:
    x = np.random.default_rng(1).uniform(0.0, 1000.0, 20_000)
    spent = ledger()
    found = release(x, 0.0, 1024.0, 0.01, ledger_=spent)
    assert (found.lower, found.upper) == (0.0, 1024.0)
    # σ ≈ 22 rows per node with all of ρ (the average): 190 rows is 1 % in level, 10 in value.
    assert np.abs(found.quantiles - np.quantile(x, LEVELS)).max() < 15.0
    assert [e.purpose for e in spent.entries] == ["q (where the rows are)", "q"]
    assert "lower" not in spent.entries[1].params
    assert spent.spent_rho == pytest.approx(0.01, rel=1e-9) and spent.spent_rho <= 0.01


def test_rows_left_outside_a_narrow_span_keep_the_bounds() -> None:
    """5 % of the rows spread thinly over [50, 60]: no cell of theirs stands out (12 rows per
    cell, σ ≈ 22 at the look's ρ), so the occupied cells are the city's alone, but the look's
    least-squares cells put 1,000 ± 53 rows outside them, over the 3 % allowed: clipping them
    to the city would move 5 % of the mass."""
    rng = np.random.default_rng(2)
    x = np.concatenate([latitudes(19_000), rng.uniform(50.0, 60.0, 1_000)])
    found = release(x, 32.0, 64.0, 0.01)
    assert (found.lower, found.upper) == (32.0, 64.0)


def test_a_small_table_does_not_zoom_on_noise() -> None:
    """2,000 rows, a tenth of them spread thinly over the bounds, at a small table's budget
    (σ ≈ 100 rows per node of the look): the estimate of the rows outside the city's cells has
    a standard error of a few hundred rows, so passing "at most 3 % outside" on the estimate
    alone happened for a large share of looks, each clipping the tenth. Counted with two
    standard errors, a zoom needs the estimate below 600 - 2 · (≥ 230) rows, which the 200
    thin rows reach with probability under 1 % per look; over 20 looks none may clip more
    than 5 %."""
    rng = np.random.default_rng(3)
    x = np.concatenate([latitudes(1_800), rng.uniform(32.0, 64.0, 200)])
    for seed in range(20):
        found = release(x, 32.0, 64.0, 5e-4, seed=seed)
        assert np.mean((x < found.lower) | (x > found.upper)) <= 0.05, seed


def test_averaged_measurements_have_the_noise_of_one_with_both_budgets() -> None:
    """The look and the second measurement of the same tree, averaged with inverse-variance
    weights, have per-node variance L/(2ρ) for the total ρ: 5 levels, ρ = 1, 2.5. Over 200
    pairs of 341 nodes (68,200 draws) the sample variance has a relative standard error of
    sqrt(2/68,200) = 0.54 %; tolerance 3 %, 5.5 of them."""
    edges = np.linspace(0.0, 1.0, CELLS + 1)
    empty = np.empty(0)
    noise = NoiseSource.seeded(7)
    draws = []
    for _ in range(200):
        look = mechanisms._measured_tree(
            empty, edges, 0.3, noise, ledger=ledger(), purpose="a", phase="", params={}
        )
        again = mechanisms._measured_tree(
            empty, edges, 0.7, noise, ledger=ledger(), purpose="b", phase="", params={}
        )
        draws.append(np.concatenate(mechanisms._averaged_levels(look, again)))
    depth = tree_counts.depth(CELLS)
    assert np.var(np.concatenate(draws)) == pytest.approx(depth / 2.0, rel=0.03)
