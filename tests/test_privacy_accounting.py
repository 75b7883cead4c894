"""Tests of the zCDP / RDP -> (ε, δ) conversions in tabsynth.privacy.accounting."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabsynth.errors import BudgetError, ParameterError
from tabsynth.privacy.accounting import (
    DEFAULT_ORDERS,
    epsilon_from_rdp,
    epsilon_from_rho,
    rho_from_epsilon,
)

RHOS = [1e-6, 1e-4, 1e-2, 0.1, 1.0, 10.0, 1e3]
DELTAS = [1e-12, 1e-9, 1e-6, 1e-3, 0.1]


def brute_force_epsilon(rho: float, delta: float) -> float:
    """The CKS bound evaluated on two million orders spanning α − 1 in [1e-8, 1e9]."""
    alpha = 1.0 + np.geomspace(1e-8, 1e9, 2_000_000)
    bound = (
        alpha * rho
        + math.log(1 / delta) / (alpha - 1)
        + np.log(1 - 1 / alpha)
        - np.log(alpha) / (alpha - 1)
    )
    return max(float(bound.min()), 0.0)


def classic_epsilon(rho: float, delta: float) -> float:
    """Bun & Steinke (2016), Prop. 1.3: ρ-zCDP implies (ρ + 2·sqrt(ρ·log(1/δ)), δ)-DP."""
    return rho + 2 * math.sqrt(rho * math.log(1 / delta))


@pytest.mark.parametrize("rho", RHOS)
@pytest.mark.parametrize("delta", DELTAS)
def test_epsilon_from_rho_is_tighter_than_classic_bound(rho: float, delta: float) -> None:
    assert 0.0 <= epsilon_from_rho(rho, delta) <= classic_epsilon(rho, delta)


@pytest.mark.parametrize("rho", [1e-4, 0.1, 10.0])
@pytest.mark.parametrize("delta", [1e-9, 1e-3])
def test_epsilon_from_rho_matches_brute_force_minimum(rho: float, delta: float) -> None:
    ours = epsilon_from_rho(rho, delta)
    brute = brute_force_epsilon(rho, delta)
    # Both are values of the same bound at some order; the continuous optimiser may only be
    # beaten by the 2e6-point grid through rounding, and must come within 1e-8 relative of it
    # (the grid spacing of 1.4e-5 in log(α−1) limits the brute force to about that accuracy).
    assert ours <= brute * (1 + 1e-12)
    assert ours == pytest.approx(brute, rel=1e-8)


def test_epsilon_from_rho_known_value() -> None:
    # Reference value computed independently by the brute-force minimum above at ρ = 1,
    # δ = 1e-6; the classic bound there is 8.434.
    assert epsilon_from_rho(1.0, 1e-6) == pytest.approx(7.766216625, rel=1e-9)


def test_zero_rho_costs_nothing() -> None:
    assert epsilon_from_rho(0.0, 1e-6) == 0.0


def test_epsilon_from_rho_is_monotone_in_rho_and_delta() -> None:
    rhos = np.geomspace(1e-6, 1e3, 60)
    eps = [epsilon_from_rho(r, 1e-6) for r in rhos]
    assert np.all(np.diff(eps) > 0)
    deltas = np.geomspace(1e-15, 0.5, 40)
    eps = [epsilon_from_rho(0.1, d) for d in deltas]
    assert np.all(np.diff(eps) < 0)


@pytest.mark.parametrize("epsilon", [0.01, 0.1, 1.0, 3.0, 10.0, 100.0])
@pytest.mark.parametrize("delta", [1e-10, 1e-6, 1e-3])
def test_rho_from_epsilon_inverts_epsilon_from_rho(epsilon: float, delta: float) -> None:
    rho = rho_from_epsilon(epsilon, delta)
    converted = epsilon_from_rho(rho, delta)
    assert converted <= epsilon
    assert converted == pytest.approx(epsilon, rel=1e-9)
    assert rho_from_epsilon(epsilon_from_rho(0.05, delta), delta) == pytest.approx(0.05, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    rho=st.floats(min_value=1e-6, max_value=1e3),
    delta=st.floats(min_value=1e-14, max_value=0.5),
)
def test_conversion_properties(rho: float, delta: float) -> None:
    epsilon = epsilon_from_rho(rho, delta)
    assert 0.0 <= epsilon <= classic_epsilon(rho, delta)
    if epsilon > 0:
        back = rho_from_epsilon(epsilon, delta)
        assert epsilon_from_rho(back, delta) <= epsilon
        assert back == pytest.approx(rho, rel=1e-7)


@pytest.mark.parametrize("epsilon", [0.0, -1.0, math.inf, math.nan, "1"])
def test_rho_from_epsilon_rejects_impossible_epsilon(epsilon: object) -> None:
    with pytest.raises(BudgetError):
        rho_from_epsilon(epsilon, 1e-6)  # type: ignore[arg-type]


@pytest.mark.parametrize("delta", [0.0, 1.0, -1e-6, 2.0, math.nan])
def test_rejects_delta_outside_unit_interval(delta: float) -> None:
    with pytest.raises(BudgetError):
        rho_from_epsilon(1.0, delta)
    with pytest.raises(BudgetError):
        epsilon_from_rho(0.1, delta)
    with pytest.raises(BudgetError):
        epsilon_from_rdp([2.0], [0.1], delta)


def test_epsilon_from_rho_rejects_negative_rho() -> None:
    with pytest.raises(BudgetError):
        epsilon_from_rho(-0.1, 1e-6)


def test_default_orders_are_dense_on_the_documented_range() -> None:
    orders = np.asarray(DEFAULT_ORDERS)
    assert orders[0] == pytest.approx(1.01) and orders[-1] == pytest.approx(10000.0)
    assert np.all(np.diff(orders) > 0)
    assert np.max(np.diff(np.log(orders - 1))) < 0.04  # consecutive α − 1 within 4 %


@pytest.mark.parametrize("sigma", [0.8, 3.0, 20.0, 200.0])
@pytest.mark.parametrize("delta", [1e-9, 1e-5])
def test_gaussian_rdp_curve_gives_zcdp_epsilon(sigma: float, delta: float) -> None:
    # The Gaussian mechanism's RDP curve α/(2σ²) is ρ-zCDP with ρ = 1/(2σ²); on a grid the
    # conversion can only be looser than the continuous optimum, by under 0.1 % on
    # DEFAULT_ORDERS, and it matches to 1e-6 on a dense grid around the optimum.
    rho = 1 / (2 * sigma**2)
    continuous = epsilon_from_rho(rho, delta)
    orders = np.asarray(DEFAULT_ORDERS)
    on_grid, best_order = epsilon_from_rdp(orders, orders * rho, delta)
    assert continuous <= on_grid <= continuous * 1.001
    assert best_order in DEFAULT_ORDERS
    dense = 1 + np.geomspace(1e-3, 1e6, 400_000)
    assert epsilon_from_rdp(dense, dense * rho, delta)[0] == pytest.approx(continuous, rel=1e-6)


@pytest.mark.parametrize("k", [2, 10, 250])
def test_composition_of_k_gaussians_equals_one_with_smaller_sigma(k: int) -> None:
    sigma, delta = 5.0, 1e-6
    orders = np.asarray(DEFAULT_ORDERS)
    composed = sum(orders / (2 * sigma**2) for _ in range(k))
    single = orders / (2 * (sigma / math.sqrt(k)) ** 2)
    assert epsilon_from_rdp(orders, composed, delta)[0] == pytest.approx(
        epsilon_from_rdp(orders, single, delta)[0], rel=1e-12
    )
    assert epsilon_from_rho(k / (2 * sigma**2), delta) == pytest.approx(
        epsilon_from_rho(1 / (2 * (sigma / math.sqrt(k)) ** 2), delta), rel=1e-12
    )


def test_epsilon_from_rdp_handles_infinite_orders_and_validates_input() -> None:
    orders = [1.5, 2.0, 8.0, 32.0]
    eps, best = epsilon_from_rdp(orders, [math.inf, 0.2, 0.8, math.inf], 1e-5)
    assert math.isfinite(eps) and best in (2.0, 8.0)
    assert epsilon_from_rdp(orders, [math.inf] * 4, 1e-5)[0] == math.inf
    with pytest.raises(ParameterError):
        epsilon_from_rdp(orders, [0.1, 0.2], 1e-5)
    with pytest.raises(ParameterError):
        epsilon_from_rdp([1.0, 2.0], [0.1, 0.2], 1e-5)
    with pytest.raises(ParameterError):
        epsilon_from_rdp([2.0], [math.nan], 1e-5)
    with pytest.raises(ParameterError):
        epsilon_from_rdp([2.0], [-0.1], 1e-5)
