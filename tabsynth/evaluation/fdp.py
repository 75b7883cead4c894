"""Gaussian differential privacy (GDP) and trade-off curves: the statistics of a tight audit.

A membership test between neighbouring datasets has a false-positive rate (FPR, type I error
α) and a true-positive rate (TPR, power 1 − β). Dong, Roth & Su (2022, "Gaussian Differential
Privacy", JRSS B) describe a mechanism's privacy by the trade-off curve ``β = f(α)``, the least
type II error any test reaches at level α. A mechanism is μ-GDP when ``f ≥ G_μ`` with
``G_μ(α) = Φ(Φ⁻¹(1 − α) − μ)``: no test does better than telling N(0, 1) from N(μ, 1).

Why GDP for auditing: the Gaussian mechanism with L2 sensitivity 1 and noise σ is exactly
(1/σ)-GDP, and Gaussian releases compose as ``μ = sqrt(Σ 1/σ_i²)``; a mechanism that is
ρ-zCDP only through Gaussian measurements is therefore ``sqrt(2ρ)``-GDP. One (FPR, TPR) point
then bounds μ from below:

    ``f(α) ≥ G_μ(α)``  ⇔  ``μ ≥ Φ⁻¹(TPR) − Φ⁻¹(FPR)``,

which, unlike an (ε, δ) bound, is informative at *every* threshold, not only in the far tails
where tiny δ's live. With one-sided Clopper-Pearson bounds ``TPR_lo`` and ``FPR_hi`` (each at
level ``1 − (1 − confidence)/2``) it becomes a confidence bound, ``μ_lb``: the probability that
a μ-GDP mechanism yields ``μ_lb > μ`` is at most ``1 − confidence`` (the bound is monotone in
both rates). The audit converts ``μ_lb`` to ε at the claimed δ with the exact GDP duality
(Dong, Roth & Su, Corollary 2.13):

    ``δ(ε) = Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2)``.

This step assumes the mechanism's trade-off curve has the Gaussian shape (true of every
Gaussian-mechanism release: MST, AIM's measurements); the same two rates also give the
assumption-free (ε, δ) bound of :func:`tabsynth.evaluation.stats.epsilon_lower_bound`, and an
audit reports both. Nasr et al. (2023, "Tight Auditing of Differentially Private Machine
Learning") and the 2026 MST/AIM auditing paper use the same GDP reading of audit outcomes.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq
from scipy.special import bdtrc, gammaln, xlog1py, xlogy
from scipy.stats import beta as beta_dist
from scipy.stats import norm

from tabsynth.errors import ParameterError

#: Largest μ the conversions handle; beyond it every δ in (0, 1) is met only at huge ε.
MAX_MU = 40.0


def _check_mu(mu: float) -> float:
    if not (isinstance(mu, (int, float, np.floating)) and 0.0 <= mu < math.inf):
        raise ParameterError(f"mu must be a finite number >= 0, got {mu!r}")
    return min(float(mu), MAX_MU)


def _check_delta(delta: float) -> float:
    if not (isinstance(delta, (int, float, np.floating)) and 0.0 < delta < 1.0):
        raise ParameterError(f"delta must be a number in (0, 1), got {delta!r}")
    return float(delta)


def gdp_delta(epsilon: float, mu: float) -> float:
    """δ at which a μ-GDP mechanism is (ε, δ)-DP, exactly (the tight privacy profile).

    >>> round(gdp_delta(1.0, 1.0), 4)
    0.1269
    """
    mu = _check_mu(mu)
    if mu == 0.0:
        return 0.0
    # e^ε Φ(−ε/μ − μ/2) in log space: e^ε overflows long before the product does
    tail = norm.logcdf(-epsilon / mu - mu / 2) + epsilon
    return max(0.0, float(norm.cdf(-epsilon / mu + mu / 2) - math.exp(tail)))


def gdp_epsilon(mu: float, delta: float) -> float:
    """Smallest ε ≥ 0 at which a μ-GDP mechanism is (ε, δ)-DP.

    >>> round(gdp_epsilon(1.0, 1e-5), 3)
    4.377
    >>> gdp_epsilon(0.0, 1e-5)
    0.0
    """
    mu, delta = _check_mu(mu), _check_delta(delta)
    if gdp_delta(0.0, mu) <= delta:
        return 0.0
    high = 1.0
    while gdp_delta(high, mu) > delta:
        high *= 2.0
    return float(brentq(lambda e: gdp_delta(e, mu) - delta, 0.0, high, xtol=1e-12))


def gdp_mu(epsilon: float, delta: float) -> float:
    """The μ whose GDP guarantee is exactly (ε, δ)-DP: the Gaussian curve of a claim.

    >>> round(gdp_mu(4.377, 1e-5), 3)
    1.0
    """
    delta = _check_delta(delta)
    if not (isinstance(epsilon, (int, float, np.floating)) and 0.0 <= epsilon < math.inf):
        raise ParameterError(f"epsilon must be a finite number >= 0, got {epsilon!r}")
    high = 1.0
    while gdp_delta(epsilon, high) < delta:
        high *= 2.0
        if high > MAX_MU:
            return MAX_MU
    return float(brentq(lambda m: gdp_delta(epsilon, m) - delta, 0.0, high, xtol=1e-12))


def rate_bounds(
    tp: int, n_pos: int, fp: int, n_neg: int, confidence: float = 0.95
) -> tuple[float, float]:
    """One-sided Clopper-Pearson ``(TPR_lo, FPR_hi)``, each at ``1 − (1 − confidence)/2``,
    so that both hold together with probability ``confidence`` (Bonferroni)."""
    if not 0.5 <= confidence < 1.0:
        raise ParameterError(f"confidence must be in [0.5, 1), got {confidence!r}")
    for k, n in ((tp, n_pos), (fp, n_neg)):
        if not (0 <= k <= n and n >= 1):
            raise ParameterError(f"counts must satisfy 0 <= k <= n, n >= 1; got k={k}, n={n}")
    a = (1.0 - confidence) / 2
    tpr_lo = 0.0 if tp == 0 else float(beta_dist.ppf(a, tp, n_pos - tp + 1))
    fpr_hi = 1.0 if fp == n_neg else float(beta_dist.ppf(1 - a, fp + 1, n_neg - fp))
    return tpr_lo, fpr_hi


def mu_from_rates(tpr: float, fpr: float) -> float:
    """``Φ⁻¹(TPR) − Φ⁻¹(FPR)``, clipped at 0: the least μ a test with these rates implies."""
    if tpr <= 0.0 or fpr >= 1.0:
        return 0.0
    return max(0.0, min(MAX_MU, float(norm.ppf(tpr) - norm.ppf(fpr))))


#: Share of a μ test's error budget spent on the nuisance parameter (the FPR's interval).
NUISANCE_SHARE = 1 / 8
#: The FPR's confidence interval, on the probit scale ``s = Φ⁻¹(FPR)``, is searched for the
#: largest p-value on a grid of this step with at least NUISANCE_GRID points (:func:`_p_value`).
#: Beyond ±S_RANGE the rates are below 1e-9: no audit has trials enough to see them.
NUISANCE_GRID = 24
S_STEP = 0.05
S_RANGE = 6.0


def _phi_inv_rate(k: np.ndarray, n: int) -> np.ndarray:
    """``Φ⁻¹((k + ½)/(n + 1))``: a rate on the probit scale, finite at 0 and n."""
    return norm.ppf((np.asarray(k, float) + 0.5) / (n + 1))


def _tail_mass(
    mu0: float, d_obs: float, n_pos: int, n_neg: int, s: np.ndarray, tp_grid: np.ndarray
) -> np.ndarray:
    """``P(D ≥ d_obs)`` for each ``s``, when ``FPR = Φ(s)`` and ``TPR = Φ(s + μ0)``, with
    ``D = Φ⁻¹(TP̃) − Φ⁻¹(FP̃)`` (continuity-corrected rates). Exact binomial sums: for each FP
    count the TP counts with ``D ≥ d_obs`` are a tail; FP counts more than 12 standard
    deviations from their mean (mass below 1e-30) are skipped."""
    fpr, tpr = norm.cdf(s)[:, None], norm.cdf(s + mu0)[:, None]
    spread = 12.0 * np.sqrt(n_neg * fpr * (1 - fpr)) + 2
    first = np.clip(np.floor(n_neg * fpr - spread), 0, n_neg)
    width = int(np.max(np.ceil(2 * spread))) + 2
    fp = first + np.arange(width)[None, :]
    inside = fp <= n_neg
    fp = np.minimum(fp, n_neg)
    need = np.searchsorted(tp_grid, d_obs + _phi_inv_rate(fp, n_neg) - 1e-12, side="left")
    log_pmf = (
        gammaln(n_neg + 1)
        - gammaln(fp + 1)
        - gammaln(n_neg - fp + 1)
        + xlogy(fp, fpr)
        + xlog1py(n_neg - fp, -fpr)
    )
    # P(TP >= need) = P(TP > need - 1)
    tail = np.where(need <= 0, 1.0, bdtrc(np.maximum(need - 1, 0), n_pos, tpr))
    tail = np.where(need > n_pos, 0.0, tail)
    return np.sum(np.where(inside, np.exp(log_pmf) * tail, 0.0), axis=1)


def _p_value(mu0: float, d_obs: float, n_pos: int, n_neg: int, s_lo: float, s_hi: float) -> float:
    """``max P(D ≥ d_obs)`` over ``s ∈ [s_lo, s_hi]`` (:func:`_tail_mass`), searched on a
    grid of step :data:`S_STEP` (at least :data:`NUISANCE_GRID` points), then refined ten
    times finer around the best point. The tail mass moves with ``s`` on the scale of the
    spread of ``D`` across FPRs (tenths on the probit scale), far coarser than the grid."""
    tp_grid = _phi_inv_rate(np.arange(n_pos + 1), n_pos)
    points = max(NUISANCE_GRID, math.ceil((s_hi - s_lo) / S_STEP))
    grid = np.linspace(s_lo, s_hi, points + 1)
    mass = _tail_mass(mu0, d_obs, n_pos, n_neg, grid, tp_grid)
    best = int(np.argmax(mass))
    step = (s_hi - s_lo) / points
    fine = np.linspace(max(s_lo, grid[best] - step), min(s_hi, grid[best] + step), 21)
    return float(max(mass.max(), _tail_mass(mu0, d_obs, n_pos, n_neg, fine, tp_grid).max()))


def mu_lower_bound(tp: int, n_pos: int, fp: int, n_neg: int, confidence: float = 0.95) -> float:
    """Confidence lower bound on the μ of any GDP mechanism that produced these counts.

    A test of ``H0: μ ≤ μ0`` on ``D = Φ⁻¹(TPR) − Φ⁻¹(FPR)`` (probit rates, continuity
    corrected). Under H0 the worst case lies on the boundary ``TPR = Φ(Φ⁻¹(FPR) + μ0)``
    (``D`` grows with TPR), which leaves one nuisance parameter, the FPR. Following Berger &
    Boos (1994, JASA 89, "P values maximised over a confidence set for the nuisance
    parameter"), the p-value is maximised over a Clopper-Pearson interval of the FPR at level
    ``1 − β`` and ``β`` is added to it; ``β`` is :data:`NUISANCE_SHARE` of the error budget.
    The bound is the largest μ0 the test rejects. Why not Bonferroni on the two rates: it adds
    the two one-sided margins (about ``2 · 1.96 σ``), where this test pays about
    ``1.75 · sqrt(2) σ`` - the same certainty from about 2.5 times fewer trials.

    >>> round(mu_lower_bound(600, 1000, 400, 1000), 3)
    0.408
    >>> mu_lower_bound(500, 1000, 500, 1000)
    0.0
    """
    for k, n in ((tp, n_pos), (fp, n_neg)):
        if not (0 <= k <= n and n >= 1):
            raise ParameterError(f"counts must satisfy 0 <= k <= n, n >= 1; got k={k}, n={n}")
    if not 0.5 <= confidence < 1.0:
        raise ParameterError(f"confidence must be in [0.5, 1), got {confidence!r}")
    alpha = 1.0 - confidence
    nuisance = alpha * NUISANCE_SHARE
    level = alpha - nuisance
    lo = 0.0 if fp == 0 else float(beta_dist.ppf(nuisance / 2, fp, n_neg - fp + 1))
    hi = 1.0 if fp == n_neg else float(beta_dist.ppf(1 - nuisance / 2, fp + 1, n_neg - fp))
    s_lo, s_hi = max(float(norm.ppf(lo)), -S_RANGE), min(float(norm.ppf(hi)), S_RANGE)
    d_obs = float(_phi_inv_rate(tp, n_pos) - _phi_inv_rate(fp, n_neg))
    if d_obs <= 0 or _p_value(0.0, d_obs, n_pos, n_neg, s_lo, s_hi) > level:
        return 0.0
    low, high = 0.0, d_obs  # rejected at low; D >= d_obs is likely once μ0 reaches d_obs
    while _p_value(high, d_obs, n_pos, n_neg, s_lo, s_hi) <= level:
        low, high = high, 2 * high
    while high - low > 1e-3:
        mid = 0.5 * (low + high)
        if _p_value(mid, d_obs, n_pos, n_neg, s_lo, s_hi) <= level:
            low = mid
        else:
            high = mid
    return min(low, MAX_MU)


def max_mu(n_pos: int, n_neg: int, confidence: float = 0.95) -> float:
    """The μ bound of a perfect test (TPR 1, FPR 0) on this many trials: the largest μ they
    can certify, whatever the attack.

    >>> round(max_mu(100, 100), 2)
    4.31
    """
    return mu_lower_bound(n_pos, n_pos, 0, n_neg, confidence)


def roc_points(in_scores: np.ndarray, out_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Empirical (FPR, TPR) of the tests "IN if score ≥ t" over every threshold t, from (0, 0)
    to (1, 1): the attack's empirical trade-off curve (β = 1 − TPR)."""
    in_s, out_s = np.sort(np.asarray(in_scores, float)), np.sort(np.asarray(out_scores, float))
    thresholds = np.unique(np.r_[in_s, out_s])[::-1]
    tpr = 1.0 - np.searchsorted(in_s, thresholds, side="left") / max(len(in_s), 1)
    fpr = 1.0 - np.searchsorted(out_s, thresholds, side="left") / max(len(out_s), 1)
    return np.r_[0.0, fpr, 1.0], np.r_[0.0, tpr, 1.0]


#: Quantiles of the pooled calibration scores tried as thresholds: dense in the middle, where
#: rates are estimated best, with a few in the tails for leaks that only show there.
THRESHOLD_QUANTILES = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
#: The z of the predicted bound (about that of :func:`mu_lower_bound` at 95%).
PREDICTION_Z = 1.75


def threshold_promises(
    in_scores: np.ndarray, out_scores: np.ndarray, n_eval: int
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate thresholds ``t`` of the test "IN if score ≥ t" (the first is the median of the
    pooled scores) and the μ bound each promises on ``n_eval`` evaluation trials per world.

    The promise is ``D − se_cal(D) − z · se_eval(D)`` with ``D = Φ⁻¹(TPR) − Φ⁻¹(FPR)`` on the
    calibration scores and ``se`` its delta-method standard errors on the calibration and on
    ``n_eval`` trials: a cautious estimate of the separation, less the margin the evaluation
    will pay. Without the calibration term the noisiest candidate wins (an MST audit of 5600
    trials picked a 2 % tail threshold whose calibration ``D`` was 0.2 too high, and certified
    nothing). Only :data:`THRESHOLD_QUANTILES` of the pooled scores are candidates, and the
    perfectly separating threshold if there is one.
    """
    in_s, out_s = np.sort(np.asarray(in_scores, float)), np.sort(np.asarray(out_scores, float))
    pooled = np.r_[in_s, out_s]
    # the median first, then the other quantiles and a threshold just above every OUT score
    above = out_s[-1] + (np.abs(out_s[-1]) + 1.0) * 1e-9
    candidates = np.r_[np.median(pooled), np.quantile(pooled, THRESHOLD_QUANTILES), above]
    tp = len(in_s) - np.searchsorted(in_s, candidates, side="left")
    fp = len(out_s) - np.searchsorted(out_s, candidates, side="left")
    tpr, fpr = (tp + 0.5) / (len(in_s) + 1), (fp + 0.5) / (len(out_s) + 1)
    zt, zf = norm.ppf(tpr), norm.ppf(fpr)
    spread = tpr * (1 - tpr) / norm.pdf(zt) ** 2 + fpr * (1 - fpr) / norm.pdf(zf) ** 2
    n_cal = min(len(in_s), len(out_s))
    promise = zt - zf - np.sqrt(spread / n_cal) - PREDICTION_Z * np.sqrt(spread / n_eval)
    return candidates, promise


def gaussian_trade_off(mu: float, alpha: np.ndarray) -> np.ndarray:
    """``G_μ(α)``: the least type II error at type I error α under μ-GDP."""
    return norm.cdf(norm.ppf(1.0 - np.asarray(alpha, float)) - _check_mu(mu))


def dp_trade_off(epsilon: float, delta: float, alpha: np.ndarray) -> np.ndarray:
    """The least type II error at type I error α under (ε, δ)-DP (Kairouz et al. 2015)."""
    a = np.asarray(alpha, float)
    e = math.exp(min(epsilon, 700.0))
    return np.maximum.reduce([np.zeros_like(a), 1 - delta - e * a, (1 - delta - a) / e])
