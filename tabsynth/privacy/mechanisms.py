"""Differentially private mechanisms used by tabsynth's synthesizers.

Conventions shared by every function here:

* Neighbouring datasets differ by adding or removing one row; sensitivities are for that.
* Each mechanism takes the summary of the data it needs, its privacy parameter, a
  :class:`~tabsynth.privacy.noise.NoiseSource` (default: a fresh OS-CSPRNG source) and a
  :class:`~tabsynth.privacy.ledger.PrivacyLedger` with a ``purpose`` and ``phase``.
* The cost is recorded BEFORE any noise is drawn or anything is returned, so a
  :class:`~tabsynth.errors.BudgetError` means nothing was released.
* Costs are in ρ-zCDP (Bun & Steinke 2016, "Concentrated Differential Privacy: Simplifications,
  Extensions, and Lower Bounds"), plus an additive δ for thresholded releases.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from tabsynth.errors import ParameterError
from tabsynth.privacy.ledger import LedgerEntry, PrivacyLedger
from tabsynth.privacy.noise import NoiseSource

__all__ = [
    "BOUNDS_MAX_EXPONENT",
    "BOUNDS_MIN_EXPONENT",
    "dp_bounds",
    "dp_categories",
    "dp_quantiles",
    "exponential_mechanism",
    "gaussian_counts",
    "sigma_for_rho",
]

#: dp_bounds' public grid: magnitudes 2^k for k in [BOUNDS_MIN_EXPONENT, BOUNDS_MAX_EXPONENT].
#: 2^62 keeps bounds exactly representable as int64; 2^-32 (about 2.3e-10) resolves tiny
#: positive measurements (concentrations, probabilities) without adding many empty buckets.
BOUNDS_MIN_EXPONENT = -32
BOUNDS_MAX_EXPONENT = 62


# -- shared helpers ----------------------------------------------------------------------------


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name} must be a number, got {value!r}.")
    if not 0.0 < value < math.inf:
        raise ParameterError(f"{name} must be finite and > 0, got {value!r}.")
    return float(value)


def _checked_source(noise: NoiseSource | None) -> NoiseSource:
    if noise is None:
        return NoiseSource()
    if not isinstance(noise, NoiseSource):
        raise ParameterError(
            f"noise must be a tabsynth NoiseSource, got {type(noise).__name__}: DP noise never "
            "comes from a user-supplied generator or seed."
        )
    return noise


def _record(
    ledger: PrivacyLedger,
    noise: NoiseSource,
    *,
    mechanism: str,
    purpose: str,
    phase: str,
    rho: float,
    delta: float = 0.0,
    params: dict[str, Any],
) -> None:
    if not isinstance(ledger, PrivacyLedger):
        raise ParameterError(f"ledger must be a PrivacyLedger, got {type(ledger).__name__}.")
    ledger.record(
        LedgerEntry(
            mechanism=mechanism,
            purpose=purpose,
            phase=phase,
            rho=rho,
            delta=delta,
            params=params,
            seeded_noise=not noise.is_secure,
        )
    )


def _numeric_values(values: Any) -> np.ndarray:
    """Non-missing values of a numeric column as float64 (NaN, None and pd.NA dropped)."""
    if isinstance(values, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
        array = pd.Series(values).to_numpy(dtype=float, na_value=np.nan)
    else:
        array = np.asarray(values, dtype=float).ravel()
    return array[~np.isnan(array)]


def sigma_for_rho(rho: float, sensitivity: float = 1.0) -> float:
    """Noise scale σ = Δ/sqrt(2ρ) at which the Gaussian mechanism with L2 sensitivity Δ is ρ-zCDP.

    Bun & Steinke (2016), Proposition 1.6: adding N(0, σ²) to each coordinate of a query with
    L2 sensitivity Δ is (Δ²/(2σ²))-zCDP.
    """
    return _positive("sensitivity", sensitivity) / math.sqrt(2.0 * _positive("rho", rho))


# -- Gaussian and exponential mechanisms ---------------------------------------------------------


def gaussian_counts(
    counts: np.ndarray | Sequence[float],
    sigma: float,
    *,
    ledger: PrivacyLedger,
    purpose: str,
    phase: str = "",
    noise: NoiseSource | None = None,
) -> np.ndarray:
    """Counts plus independent N(0, σ²) noise per cell: the Gaussian mechanism on a histogram.

    ``counts`` must be a histogram (or marginal) in which each row adds 1 to exactly one cell, so
    adding or removing a row changes one cell by 1: L2 sensitivity 1, and the release is
    ρ = 1/(2σ²)-zCDP (Bun & Steinke 2016, Prop. 1.6). Noisy counts can be negative or
    fractional; post-processing (clipping, projection) is the caller's choice and free.

    Privacy cost recorded: ρ = 1/(2σ²), mechanism ``"gaussian"``.
    """
    sigma = _positive("sigma", sigma)
    values = np.asarray(counts, dtype=float)
    if not np.all(np.isfinite(values)):
        raise ParameterError("counts must be finite numbers.")
    noise = _checked_source(noise)
    _record(
        ledger,
        noise,
        mechanism="gaussian",
        purpose=purpose,
        phase=phase,
        rho=1.0 / (2.0 * sigma**2),
        params={"sigma": sigma, "cells": int(values.size), "l2_sensitivity": 1.0},
    )
    return values + noise.normal(sigma, values.shape)


def exponential_mechanism(
    scores: np.ndarray | Sequence[float],
    *,
    sensitivity: float,
    epsilon: float | None = None,
    rho: float | None = None,
    ledger: PrivacyLedger,
    purpose: str,
    phase: str = "",
    noise: NoiseSource | None = None,
) -> int:
    """Index of a candidate chosen with probability ∝ exp(ε·score/(2Δ)); higher scores win.

    ``sensitivity`` Δ bounds how much any candidate's score changes when one row is added or
    removed. Sampled exactly by the Gumbel-max trick (argmax of ε·score/(2Δ) + Gumbel noise).

    Privacy cost: the mechanism is ε-DP (McSherry & Talwar 2007) and, more usefully here,
    ε-bounded-range, hence ε²/8-zCDP (Cesar & Rogers 2021, "Bounding, Concentrating, and
    Truncating: Unifying Privacy Loss Composition for Data Analytics"); AIM
    (McKenna et al. 2022) accounts for its selection step this way. Give exactly one of
    ``epsilon`` or ``rho`` (then ε = sqrt(8ρ)). Records ρ = ε²/8, mechanism ``"exponential"``.
    """
    if (epsilon is None) == (rho is None):
        raise ParameterError("give exactly one of epsilon and rho.")
    if rho is not None:
        cost = _positive("rho", rho)
        epsilon = math.sqrt(8.0 * cost)
    else:
        epsilon = _positive("epsilon", epsilon)
        cost = epsilon**2 / 8.0
    sensitivity = _positive("sensitivity", sensitivity)
    values = np.asarray(scores, dtype=float)
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
        raise ParameterError("scores must be a non-empty 1-d array of finite numbers.")
    noise = _checked_source(noise)
    _record(
        ledger,
        noise,
        mechanism="exponential",
        purpose=purpose,
        phase=phase,
        rho=cost,
        params={"epsilon": epsilon, "sensitivity": sensitivity, "candidates": int(values.size)},
    )
    logits = (epsilon / (2.0 * sensitivity)) * values
    return int(np.argmax(logits + noise.gumbel(values.size)))


# -- domain estimation ---------------------------------------------------------------------------


def _bounds_grid() -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper edges of dp_bounds' buckets, in increasing order of value.

    Buckets are: [−2^k, −2^(k−1)) for k from the top exponent down, then {0}, then
    (2^(k−1), 2^k] upwards; the innermost buckets extend to 0: [−2^kmin, 0) and (0, 2^kmin].
    """
    exponents = np.arange(BOUNDS_MIN_EXPONENT, BOUNDS_MAX_EXPONENT + 1, dtype=float)
    tops = np.exp2(exponents)
    bottoms = np.concatenate([[0.0], tops[:-1]])
    lower = np.concatenate([-tops[::-1], [0.0], bottoms])
    upper = np.concatenate([-bottoms[::-1], [0.0], tops])
    return lower, upper


def _bucket_indices(values: np.ndarray) -> np.ndarray:
    """Index of each (finite or infinite, non-NaN) value's bucket on dp_bounds' grid."""
    top = 2.0**BOUNDS_MAX_EXPONENT
    clipped = np.clip(values, -top, top)
    mantissa, exponent = np.frexp(np.abs(clipped))
    # |x| = m·2^e with m in [0.5, 1): the bucket (2^(k−1), 2^k] holding |x| has k = e, except
    # that an exact power of two (m = 0.5) is the top of the bucket below.
    k = np.where(mantissa > 0.5, exponent, exponent - 1)
    offset = np.clip(k, BOUNDS_MIN_EXPONENT, BOUNDS_MAX_EXPONENT) - BOUNDS_MIN_EXPONENT
    zero = BOUNDS_MAX_EXPONENT - BOUNDS_MIN_EXPONENT + 1
    return np.where(clipped > 0, zero + 1 + offset, np.where(clipped < 0, zero - 1 - offset, zero))


def dp_bounds(
    values: Any,
    rho: float,
    *,
    ledger: PrivacyLedger,
    purpose: str,
    phase: str = "",
    noise: NoiseSource | None = None,
    threshold: float = 5.0,
) -> tuple[float, float]:
    """Public (lower, upper) bounds of a numeric column whose range was not declared.

    Method: the public grid of signed powers of two splits the reals into buckets
    ``[−2^k, −2^(k−1))``, ``{0}`` and ``(2^(k−1), 2^k]`` for k in
    [:data:`BOUNDS_MIN_EXPONENT`, :data:`BOUNDS_MAX_EXPONENT`] (values smaller in magnitude than
    2^-32 share the innermost buckets, values beyond ±2^62 the outermost ones). Each row falls
    in exactly one bucket, so the bucket histogram has L2 sensitivity 1; Gaussian noise with
    σ = 1/sqrt(2ρ) is added, and the result spans from the lowest to the highest bucket whose
    noisy count exceeds ``threshold``·σ. With the default 5σ, each of the 191 empty buckets
    passes with probability 3e-7, so a spurious far-away bound is very unlikely, at the price
    of dropping sparse tails: values outside the returned bounds must be clipped to them
    afterwards. The bounds are ±powers of two or 0: ages in [0, 97] give upper = 128 and, when
    the few rows aged 0 to 3 do not clear the threshold, lower = 4 (they are then clipped to 4).

    If no bucket clears the threshold (too few rows for this ρ), the bounds of the bucket with
    the largest noisy count are returned and a warning is issued: a data-driven but private
    guess that keeps the fit going, better than the useless widest grid; declare the bounds
    or raise ρ to avoid it. ``lower == upper == 0`` happens only when the zero bucket is the
    only one selected (e.g. an all-zero column). NaNs are ignored (missingness is accounted for
    elsewhere); ±inf count as ±2^62.

    Privacy cost recorded: ρ (Gaussian mechanism, L2 sensitivity 1; Bun & Steinke 2016),
    mechanism ``"dp_bounds"``. The threshold is post-processing and costs nothing.
    """
    rho = _positive("rho", rho)
    threshold = _positive("threshold", threshold)
    observed = _numeric_values(values)
    noise = _checked_source(noise)
    sigma = sigma_for_rho(rho)
    lower_edges, upper_edges = _bounds_grid()
    _record(
        ledger,
        noise,
        mechanism="dp_bounds",
        purpose=purpose,
        phase=phase,
        rho=rho,
        params={"sigma": sigma, "threshold_sigmas": threshold, "buckets": int(lower_edges.size)},
    )
    counts = np.bincount(_bucket_indices(observed), minlength=lower_edges.size)
    noisy = counts + noise.normal(sigma, lower_edges.size)
    cleared = np.flatnonzero(noisy > threshold * sigma)
    if cleared.size:
        low, high = int(cleared[0]), int(cleared[-1])
    else:
        low = high = int(np.argmax(noisy))
        warnings.warn(
            f"dp_bounds ({purpose}): no bucket's noisy count cleared {threshold:g}σ = "
            f"{threshold * sigma:.3g} rows; using the most populated bucket "
            f"[{lower_edges[low]:g}, {upper_edges[high]:g}]. Declare the bounds or spend more ρ.",
            UserWarning,
            stacklevel=2,
        )
    return float(lower_edges[low]), float(upper_edges[high])


def _quantile_grid(lower: float, upper: float, bins: int, grid: str) -> tuple[np.ndarray, str]:
    """Cell edges of dp_quantiles' public grid, and the grid kind actually used."""
    if grid == "auto":
        grid = "log" if lower > 0 and upper / lower >= 1000.0 else "linear"
    if grid == "log":
        if lower <= 0:
            raise ParameterError(f"grid='log' needs lower > 0, got lower={lower!r}.")
        return np.geomspace(lower, upper, bins + 1), grid
    if grid == "linear":
        return np.linspace(lower, upper, bins + 1), grid
    raise ParameterError(f"grid must be 'auto', 'linear' or 'log', got {grid!r}.")


def _isotonic_increasing(values: np.ndarray) -> np.ndarray:
    """Least-squares non-decreasing fit to ``values``, by pool-adjacent-violators (O(n)).

    Each new value starts a block; while the last block's mean is not below the new block's,
    the two are merged into their weighted mean. The result is the block means, repeated.
    """
    means: list[float] = []
    sizes: list[int] = []
    for value in values.tolist():
        mean, size = value, 1
        while means and means[-1] >= mean:
            previous_size = sizes.pop()
            mean = (means.pop() * previous_size + mean * size) / (previous_size + size)
            size += previous_size
        means.append(mean)
        sizes.append(size)
    return np.repeat(np.asarray(means, dtype=float), sizes)


def _read_quantiles(edges: np.ndarray, weights: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Quantiles of the distribution with ``weights`` spread uniformly within each cell.

    Inverts the piecewise-linear CDF: the level-q quantile lies in the first cell where the
    cumulative weight reaches q·total. Level 0 maps to the start of the first non-empty cell.
    """
    cumulative = np.concatenate([[0.0], np.cumsum(weights)])
    targets = levels * cumulative[-1]
    side_right = np.searchsorted(cumulative, targets, side="right")
    side_left = np.searchsorted(cumulative, targets, side="left")
    cell = np.clip(np.where(targets > 0, side_left, side_right), 1, weights.size) - 1
    fraction = np.clip((targets - cumulative[cell]) / weights[cell], 0.0, 1.0)
    return edges[cell] + fraction * (edges[cell + 1] - edges[cell])


def dp_quantiles(
    values: Any,
    quantiles: Sequence[float] | np.ndarray,
    lower: float,
    upper: float,
    rho: float,
    *,
    ledger: PrivacyLedger,
    purpose: str,
    phase: str = "",
    noise: NoiseSource | None = None,
    bins: int = 1024,
    grid: str = "auto",
) -> np.ndarray:
    """Private quantiles (e.g. bin edges) of a numeric column within PUBLIC bounds.

    ``lower`` and ``upper`` must not come from the data (declared, or from :func:`dp_bounds`);
    values outside them are clipped to them, NaNs are ignored. The range is cut into ``bins``
    public cells, uniform (``grid="linear"``) or geometric (``grid="log"``, needs lower > 0);
    ``"auto"`` picks log when 0 < lower and upper/lower ≥ 1000, i.e. when the range spans three
    orders of magnitude and uniform cells would lump all small values into the first cell.

    One Gaussian measurement of the cell histogram (L2 sensitivity 1, σ = 1/sqrt(2ρ)). The
    noisy cumulative counts are made non-decreasing by isotonic (least-squares) regression and
    clipped at 0, and every requested quantile is read off that one CDF, assuming values spread
    uniformly within a cell; so the result is non-decreasing in the quantile level and within
    [lower, upper]. Isotonic regression rather than clipping each noisy count at 0: clipping
    adds a bias of about 0.4σ rows per empty cell, which dominates when the range has many
    empty cells (3 to 10 times larger quantile errors on skewed data). The error is about the
    noise on the CDF, ≤ sqrt(bins)·σ rows, plus one cell width. If the fitted CDF is 0
    everywhere (tiny data), the quantiles are those of a uniform spread over the grid.

    Privacy cost recorded: ρ once, whatever the number of quantiles (Gaussian mechanism;
    Bun & Steinke 2016), mechanism ``"dp_quantiles"``. Everything after the noise is
    post-processing.
    """
    rho = _positive("rho", rho)
    for name, bound in (("lower", lower), ("upper", upper)):
        if isinstance(bound, bool) or not isinstance(bound, (int, float, np.integer, np.floating)):
            raise ParameterError(f"{name} must be a number, got {bound!r}.")
    if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
        raise ParameterError(f"need finite lower < upper, got ({lower!r}, {upper!r}).")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ParameterError(f"bins must be an int >= 1, got {bins!r}.")
    levels = np.asarray(quantiles, dtype=float)
    if not np.all((levels >= 0.0) & (levels <= 1.0)):
        raise ParameterError("quantiles must lie in [0, 1].")
    edges, grid = _quantile_grid(float(lower), float(upper), int(bins), grid)
    observed = np.clip(_numeric_values(values), lower, upper)
    noise = _checked_source(noise)
    sigma = sigma_for_rho(rho)
    _record(
        ledger,
        noise,
        mechanism="dp_quantiles",
        purpose=purpose,
        phase=phase,
        rho=rho,
        params={"sigma": sigma, "bins": int(bins), "grid": grid, "quantiles": int(levels.size)},
    )
    counts, _ = np.histogram(observed, bins=edges)
    noisy_cdf = np.cumsum(counts + noise.normal(sigma, counts.size))
    cdf = np.maximum(_isotonic_increasing(noisy_cdf), 0.0)
    weights = np.maximum(np.diff(cdf, prepend=0.0), 0.0)
    if weights.sum() <= 0:
        weights = np.ones_like(weights)
    flat = levels.ravel()
    order = np.argsort(flat, kind="stable")
    result = np.empty_like(flat)
    # Rounding must not break monotonicity: enforce it along increasing levels.
    result[order] = np.maximum.accumulate(_read_quantiles(edges, weights, flat[order]))
    return np.clip(result, lower, upper).reshape(levels.shape)


def _deterministic_key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


def _sorted_values(values: list[Any]) -> list[Any]:
    """Sort values of possibly mixed types reproducibly (by type name, then value)."""
    try:
        return sorted(values, key=_deterministic_key)
    except TypeError:
        return sorted(values, key=lambda v: (type(v).__name__, repr(v)))


def dp_categories(
    values: Any,
    rho: float,
    delta: float,
    *,
    max_categories: int | None = None,
    ledger: PrivacyLedger,
    purpose: str,
    phase: str = "",
    noise: NoiseSource | None = None,
) -> list[Any]:
    """Categories of a column whose categories were not declared, found privately.

    Every distinct non-missing value (NaN/None/NA is not a category) is counted, N(0, σ²)
    noise with σ = 1/sqrt(2ρ) is added to each count, and the values whose noisy count exceeds
    τ = 1 + σ·Φ⁻¹(1 − δ) are kept. Values absent from the data are never candidates, which is
    why a δ is needed: a value held by a single row exists in only one of two neighbouring
    tables, and is released with probability exactly P(1 + N(0, σ²) > τ) = δ. Otherwise (the
    value is in both) the two outputs differ only through one noisy count, i.e. the Gaussian
    mechanism with sensitivity 1. So the release is δ-approximately ρ-zCDP ("stability-based
    histogram": Korolova et al. 2009, "Releasing Search Queries and Clicks Privately";
    Wilson et al. 2020, "Differentially Private SQL with Bounded User Contribution";
    Desfontaines et al. 2022, "Differentially Private Partition Selection").

    Returns the kept values sorted by (type name, value); with ``max_categories``, only that
    many with the largest noisy counts are kept (post-processing, no extra cost).

    Privacy cost recorded: ρ and additive δ (paid from the ledger's ``delta_reserved``),
    mechanism ``"dp_categories"``.
    """
    rho = _positive("rho", rho)
    delta = _positive("delta", delta)
    if delta >= 1.0:
        raise ParameterError(f"delta must be in (0, 1), got {delta!r}.")
    if max_categories is not None and (
        isinstance(max_categories, bool)
        or not isinstance(max_categories, (int, np.integer))
        or max_categories < 1
    ):
        raise ParameterError(f"max_categories must be an int >= 1 or None, got {max_categories!r}.")
    counts = pd.Series(values, dtype=object).value_counts(dropna=True)
    noise = _checked_source(noise)
    sigma = sigma_for_rho(rho)
    threshold = 1.0 + sigma * float(-ndtri(delta))
    _record(
        ledger,
        noise,
        mechanism="dp_categories",
        purpose=purpose,
        phase=phase,
        rho=rho,
        delta=delta,
        params={"sigma": sigma, "threshold": threshold, "max_categories": max_categories},
    )
    noisy = counts.to_numpy(dtype=float) + noise.normal(sigma, len(counts))
    kept = np.flatnonzero(noisy > threshold)
    if max_categories is not None:
        kept = kept[np.argsort(-noisy[kept], kind="stable")[:max_categories]]
    return _sorted_values(counts.index[kept].tolist())
