"""Conversions between zero-concentrated DP (zCDP), Rényi DP (RDP) and (ε, δ)-DP.

Every tabsynth mechanism is analysed either in ρ-zCDP (Bun & Steinke 2016) or, for DP-SGD, as an
RDP curve ``α ↦ ε(α)`` (Mironov 2017). Both compose by addition, and ρ-zCDP is the RDP curve
``α ↦ α·ρ``, so a whole fit is summarised by one RDP curve that is converted to (ε, δ)-DP once,
at the end. The conversion is the one of Canonne, Kamath & Steinke (2020, "The Discrete Gaussian
for Differential Privacy"), equivalently Balle et al. (2020, "Hypothesis Testing Interpretations
and Rényi Differential Privacy", Thm. 21 of the arXiv version): a mechanism with RDP ε̂ at
order α > 1 is (ε, δ)-DP for

    ε = ε̂ + log(1/δ)/(α − 1) + log(1 − 1/α) − log(α)/(α − 1).

It holds for every α > 1, so minimising over α can only make the bound tighter: a numerical
optimiser that misses the exact minimum reports a slightly larger, still valid, ε. It is never
worse than the classic ``ρ + 2·sqrt(ρ·log(1/δ))`` of Bun & Steinke (2016).

These functions are pure and know nothing about ledgers; :mod:`tabsynth.privacy.ledger` uses them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize_scalar

from tabsynth.errors import BudgetError, ParameterError

__all__ = [
    "DEFAULT_ORDERS",
    "epsilon_from_rdp",
    "epsilon_from_rho",
    "rho_from_epsilon",
]

#: Rényi orders on which RDP curves are stored: 400 points in [1.01, 10000], geometrically
#: spaced in ``α − 1`` (consecutive ``α − 1`` differ by 3.5 %). Dense near 1 because large budgets
#: are optimised there; reaching 10 000 covers the very small budgets (ρ down to about 1e-7 at
#: δ = 1e-9) whose optimal order is ``≈ 1 + sqrt(log(1/δ)/ρ)``.
DEFAULT_ORDERS: tuple[float, ...] = tuple(float(a) for a in 1.0 + np.geomspace(0.01, 9999.0, 400))

# Search range of log(α − 1) for the continuous optimisation in epsilon_from_rho, and the number
# of grid points used to bracket the minimum before refining it with a bounded scalar optimiser.
_LOG_AM1_MIN = math.log(1e-8)
_BRACKET_POINTS = 200


def _check_delta(delta: float) -> float:
    if not (isinstance(delta, (int, float, np.floating, np.integer)) and 0.0 < delta < 1.0):
        raise BudgetError(f"delta must be a number in (0, 1), got {delta!r}.")
    return float(delta)


def _check_rho(rho: float) -> float:
    if not (isinstance(rho, (int, float, np.floating, np.integer)) and 0.0 <= rho < math.inf):
        raise BudgetError(f"rho must be a finite number >= 0, got {rho!r}.")
    return float(rho)


def _conversion_terms(log_am1: np.ndarray, log_inv_delta: float) -> np.ndarray:
    """The part of the CKS bound that does not depend on the mechanism, at α = 1 + exp(log_am1).

    Written in terms of ``a = α − 1`` so that ``log(1 − 1/α) = log(a) − log1p(a)`` and
    ``log(α) = log1p(a)`` stay accurate for α close to 1.
    """
    am1 = np.exp(log_am1)
    log_alpha = np.log1p(am1)
    return (log_inv_delta - log_alpha) / am1 + (log_am1 - log_alpha)


def _zcdp_bound(log_am1: np.ndarray, rho: float, log_inv_delta: float) -> np.ndarray:
    return (1.0 + np.exp(log_am1)) * rho + _conversion_terms(log_am1, log_inv_delta)


def epsilon_from_rho(rho: float, delta: float) -> float:
    """Smallest ε (over continuous Rényi orders α > 1) such that ρ-zCDP implies (ε, δ)-DP.

    Uses the conversion of Canonne, Kamath & Steinke (2020), minimised over α by bracketing the
    minimum on a log-spaced grid of ``α − 1`` and refining it with a bounded Brent search. The
    result is the value of the bound at an actual order, so it is always a valid ε. Returns 0 for
    ρ = 0 and never a negative number.

    Raises:
        BudgetError: ρ negative or not finite, or δ not in (0, 1).
    """
    rho = _check_rho(rho)
    delta = _check_delta(delta)
    if rho == 0.0:
        return 0.0
    log_inv_delta = -math.log(delta)
    # The optimal order is about 1 + sqrt(log(1/δ)/ρ); search well past it.
    log_am1_max = math.log(max(1e4, 100.0 * (1.0 + math.sqrt(log_inv_delta / rho))))
    grid = np.linspace(_LOG_AM1_MIN, log_am1_max, _BRACKET_POINTS)
    values = _zcdp_bound(grid, rho, log_inv_delta)
    best = int(np.argmin(values))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    refined = minimize_scalar(
        lambda t: float(_zcdp_bound(np.asarray(t), rho, log_inv_delta)),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-10},
    )
    epsilon = min(float(values[best]), float(refined.fun))
    return max(epsilon, 0.0)


def rho_from_epsilon(epsilon: float, delta: float) -> float:
    """Largest ρ such that ``epsilon_from_rho(ρ, delta) <= epsilon`` (found by bisection).

    This turns a user's (ε, δ) target into the zCDP budget that mechanisms spend. Bisection keeps
    the invariant ``epsilon_from_rho(low) <= epsilon``, so the returned ρ never converts to more
    than ``epsilon``, even where the numerical optimiser is not perfectly monotone.

    Raises:
        BudgetError: ε not a finite number > 0, or δ not in (0, 1).
    """
    if not (
        isinstance(epsilon, (int, float, np.floating, np.integer)) and 0.0 < epsilon < math.inf
    ):
        raise BudgetError(f"epsilon must be a finite number > 0, got {epsilon!r}.")
    return _rho_from_epsilon(float(epsilon), _check_delta(delta))


@functools.lru_cache(maxsize=64)
def _rho_from_epsilon(epsilon: float, delta: float) -> float:
    """The bisection of :func:`rho_from_epsilon`, cached: it is pure and costs about 25 ms,
    which every DP fit pays once and a privacy audit thousands of times."""
    low, high = 0.0, epsilon
    while epsilon_from_rho(high, delta) <= epsilon:
        low, high = high, 2.0 * high
    while high - low > 1e-14 * high:
        mid = 0.5 * (low + high)
        if mid in (low, high):
            break
        if epsilon_from_rho(mid, delta) <= epsilon:
            low = mid
        else:
            high = mid
    return low


def epsilon_from_rdp(
    orders: Sequence[float] | np.ndarray, rdp: Sequence[float] | np.ndarray, delta: float
) -> tuple[float, float]:
    """Convert an RDP curve given on a grid of orders to (ε, δ)-DP; returns ``(ε, best_order)``.

    ``rdp[i]`` is the Rényi divergence bound at order ``orders[i]``; ``inf`` means "no bound at
    that order". Same conversion as :func:`epsilon_from_rho`, minimised over the grid only, so
    the result is slightly larger than the continuous optimum when the optimum falls between grid
    points (with :data:`DEFAULT_ORDERS`, under 0.1 % in tabsynth's regimes). Never negative.

    Raises:
        ParameterError: mismatched lengths, empty grid, orders not > 1, or RDP values negative
            or NaN.
        BudgetError: δ not in (0, 1).
    """
    delta = _check_delta(delta)
    alphas = np.asarray(orders, dtype=float)
    values = np.asarray(rdp, dtype=float)
    if alphas.ndim != 1 or alphas.shape != values.shape or alphas.size == 0:
        raise ParameterError(
            f"orders and rdp must be non-empty 1-d sequences of the same length, got shapes "
            f"{alphas.shape} and {values.shape}."
        )
    if not (np.all(np.isfinite(alphas)) and np.all(alphas > 1.0)):
        raise ParameterError("every Rényi order must be a finite number > 1.")
    if np.any(np.isnan(values)) or np.any(values < 0.0):
        raise ParameterError("RDP values must be >= 0 (inf allowed, NaN not).")
    bound = values + _conversion_terms(np.log(alphas - 1.0), -math.log(delta))
    best = int(np.argmin(bound))
    return max(float(bound[best]), 0.0), float(alphas[best])
