"""The bound on a DP fit's 1-way score of a column without public values
(benchmarks/marginal/release_floor.py), checked against group privacy step by step."""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.marginal.release_floor import best_one_way, holders


def release_chance(count: int, epsilon: float, delta: float) -> float:
    """Group privacy one row at a time: p_0 = 0 (no row holds the value), p_c <= e^ε p_{c-1} + δ."""
    p = 0.0
    for _ in range(count):
        p = min(1.0, math.exp(epsilon) * p + delta)
    return p


@pytest.mark.parametrize("epsilon", [0.1, 1.0, 3.0])
def test_the_bound_is_group_privacy_applied_row_by_row(epsilon: float) -> None:
    delta = 1e-9
    counts = np.array([1, 2, 5, 17, 30, 80])
    expected = sum(int(c) * release_chance(int(c), epsilon, delta) for c in counts) / counts.sum()
    assert best_one_way(counts, epsilon, delta) == pytest.approx(expected, rel=1e-9)


def test_values_held_by_one_row_come_out_with_chance_delta() -> None:
    assert best_one_way(np.ones(50, dtype=int), 1.0, 1e-9) == pytest.approx(1e-9)


def test_common_values_count_fully() -> None:
    # 1,000 rows: e^1000 overflows a float; the bound must read 1 for them without it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert best_one_way(np.array([1000, 1]), 1.0, 1e-9) == pytest.approx(1000 / 1001)
        assert best_one_way(np.array([5, 7]), 800.0, 1e-9) == 1.0


def test_missing_values_come_out_for_free() -> None:
    # 30 missing cells and one value held by one row: only the missing ones count
    assert best_one_way(np.array([1]), 1.0, 1e-12, missing=30) == pytest.approx(30 / 31)


def test_a_small_budget_keeps_its_precision() -> None:
    # ε c = 1e-9: the chance is δ c to first order, where naive formulas lose every digit
    assert best_one_way(np.array([3]), 1e-9 / 3, 1e-6) == pytest.approx(3e-6, rel=1e-6)


def test_a_larger_budget_never_lowers_the_bound() -> None:
    counts = np.array([3, 10, 25, 40, 200])
    bounds = [best_one_way(counts, eps, 1e-9) for eps in (0.25, 0.5, 1.0, 2.0)]
    assert bounds == sorted(bounds)
    assert bounds[0] < bounds[-1]


def test_a_pooled_release_counts_every_row_that_holds_the_value() -> None:
    # held once in this column but by 40 rows across the pooled columns: it can come out
    alone = best_one_way(np.array([1, 99]), 1.0, 1e-9)
    pooled = best_one_way(np.array([1, 99]), 1.0, 1e-9, holders=np.array([40, 99]))
    assert alone == pytest.approx(0.99, abs=1e-6)
    assert pooled == pytest.approx(1.0)


def test_holders_count_each_row_once_per_value() -> None:
    frame = pd.DataFrame(
        {"a": ["x", "x", None, "y"], "b": ["x", "y", "y", None], "c": [1, 2, 3, 4]}
    )
    counted = holders(frame, ["a", "b"]).to_dict()
    assert counted == {"x": 2, "y": 3}  # row 0 holds x twice: once
