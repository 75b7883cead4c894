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

Noise on counts is exact. Every count-based release (:func:`gaussian_counts`, :func:`dp_bounds`,
:func:`dp_quantiles`, :func:`dp_categories`) adds discrete Gaussian noise N_Z(0, σ²) to integer
counts, sampled exactly with integer arithmetic by
:meth:`~tabsynth.privacy.noise.NoiseSource.discrete_gaussian` (Canonne, Kamath & Steinke 2020,
"The Discrete Gaussian for Differential Privacy"). Added independently to each coordinate of an
integer-valued query of L2 sensitivity Δ it is Δ²/(2σ²)-zCDP, the bound of the continuous
Gaussian (CKS 2020), so the costs below are those of the Gaussian mechanism; unlike
floating-point Gaussian noise it cannot leak through the low-order bits of the output (Mironov
2012). The sampler needs σ² as an exact rational: the requested σ² is rounded UP to one
(:func:`rational_variance`), so the noise is never smaller than asked, and the cost recorded is
computed from that rational, so never more than asked. Floating point remains in the exponential
mechanism's Gumbel noise (its scores are real numbers; see :mod:`tabsynth.privacy.noise`) and in
DP-SGD (opacus' float noise).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import special
from scipy.special import log_ndtr, logsumexp

from tabsynth.errors import DomainEstimationError, ParameterError
from tabsynth.privacy import tree_counts
from tabsynth.privacy.ledger import LedgerEntry, PrivacyLedger
from tabsynth.privacy.noise import NoiseSource

__all__ = [
    "BOUNDS_MAX_EXPONENT",
    "BOUNDS_MIN_EXPONENT",
    "dp_bounds",
    "dp_categories",
    "dp_quantiles",
    "dp_range_quantiles",
    "exponential_mechanism",
    "gaussian_counts",
    "occupied_span",
    "rational_variance",
    "sigma_for_rho",
]

#: dp_bounds' public grid: magnitudes 2^k for k in [BOUNDS_MIN_EXPONENT, BOUNDS_MAX_EXPONENT].
#: 2^62 keeps bounds exactly representable as int64; 2^-32 (about 2.3e-10) resolves tiny
#: positive measurements (concentrations, probabilities) without adding many empty buckets.
BOUNDS_MIN_EXPONENT = -32
BOUNDS_MAX_EXPONENT = 62
#: dp_bounds grows its range through adjacent buckets whose noisy count exceeds this many σ.
EXTEND_SIGMAS = 1.0
#: occupied_span also looks for rows spread too thinly for any one cell to clear its threshold
#: (bill amounts of a few thousand rows over 2^8 .. 2^19): the run of adjacent cells whose noisy
#: counts exceed this many σ on the whole (the largest sum of z − 1.5). An empty cell at a run's
#: end lowers that sum unless its noise exceeds 1.5σ (p = 0.07), and k of them unless their mean
#: does (p = P(N > 1.5·√k)), so the run stays where the rows are.
RUN_DRIFT_SIGMAS = 1.5
#: dp_range_quantiles: share of ρ for the look at where the rows are (the rest measures again).
ZOOM_LOOK_SHARE = 0.5
#: It zooms when the look shows the rows in at most grid cells // ZOOM_FACTOR (a new grid of as
#: many cells is then at least this much finer) ...
ZOOM_FACTOR = 16
#: ... holding all but this share of the rows (by the tree's least-squares cells): fewer than
#: the outermost of 32 bins holds, which without the zoom decodes across the whole bounds, ...
ZOOM_OUTSIDE = 0.03
#: ... even when that estimate is this many of its standard errors too low ...
ZOOM_ERRORS = 2.0
#: ... with nodes occupied as dp_bounds' buckets are (:func:`occupied_span`).
ZOOM_SIGMAS = 5.0

#: The discrete Gaussian's σ² is rounded up to p/2^k with p ≥ 2^32, a relative change below
#: 2^-32 ≈ 2.3e-10. That is under the ledger's 1e-9 tolerance, so budget plans that spend "what
#: is left" still end where they meant to (AIM stops once under 1e-9 of ρ is left), and it keeps
#: p below 2^34 for σ² < 2^32, so the sampler's integers fit int64.
_VARIANCE_BITS = 32
#: Largest count gaussian_counts accepts: the noisy counts are returned as float64, exact to 2^53.
_MAX_COUNT = 2**53


# -- shared helpers ----------------------------------------------------------------------------


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name} must be a number, got {value!r}.")
    if not 0.0 < value < math.inf:
        raise ParameterError(f"{name} must be finite and > 0, got {value!r}.")
    return float(value)


def _at_least_one(name: str, value: Any) -> int:
    """``value`` as an int, refused unless it is a whole number (not a bool) of at least 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ParameterError(f"{name} must be an int >= 1, got {value!r}.")
    return int(value)


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


def _integer_counts(counts: np.ndarray | Sequence[float]) -> np.ndarray:
    """``counts`` as exact int64: the discrete Gaussian mechanism is private for integer-valued
    queries only. Whole numbers stored as floats (e.g. ``np.bincount(...).astype(float)``) are
    accepted."""
    values = np.asarray(counts)
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
            raise ParameterError(
                "counts must be whole numbers: discrete Gaussian noise is only private on "
                "integer-valued counts, so fractional (or non-finite) counts are refused."
            )
    elif values.dtype.kind not in "biu":
        raise ParameterError(f"counts must be an array of whole numbers, got dtype {values.dtype}.")
    if values.size and not (values.min() >= -_MAX_COUNT and values.max() <= _MAX_COUNT):
        raise ParameterError("counts must lie within ±2^53 to be returned exactly as floats.")
    return values.astype(np.int64)


def _round_up(variance: Fraction) -> Fraction:
    """The smallest p/2^k ≥ ``variance`` with k ≥ 0 the least such that p ≥ 2^_VARIANCE_BITS."""
    magnitude = variance.numerator.bit_length() - variance.denominator.bit_length()
    scale = 2 ** max(0, _VARIANCE_BITS + 1 - magnitude)  # variance·scale ≥ 2^_VARIANCE_BITS
    return Fraction(-(-variance.numerator * scale // variance.denominator), scale)


def rational_variance(sigma: float) -> Fraction:
    """The exact σ² of the discrete Gaussian used for a requested noise scale σ: σ² rounded UP to
    a rational p/2^k, by a relative 2^-32 at most (exact when σ² is such a number already).

    Up, so that the noise is never smaller than requested and the cost computed from it,
    ρ = 1/(2σ²) for sensitivity 1, never exceeds the requested one.
    """
    return _round_up(Fraction(_positive("sigma", sigma)) ** 2)


def _variance_for_rho(rho: float, squared_sensitivity: int = 1) -> Fraction:
    """σ² = Δ²/(2ρ), rounded up: the discrete Gaussian noise that costs at most ρ on a query of
    L2 sensitivity Δ."""
    return _round_up(squared_sensitivity / (2 * Fraction(rho)))


def _cost(variance: Fraction, squared_sensitivity: int = 1) -> float:
    """ρ = Δ²/(2σ²), exact up to the final rounding to float: the zCDP cost of discrete Gaussian
    noise on a query of L2 sensitivity Δ (CKS 2020)."""
    return float(squared_sensitivity / (2 * variance))


def _noise_params(variance: Fraction) -> dict[str, Any]:
    """Ledger params describing the noise: σ, the exact rational σ² drawn with, and its kind."""
    return {
        "sigma": math.sqrt(variance),
        "variance": f"{variance.numerator}/{variance.denominator}",
        "noise": "discrete_gaussian",
    }


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
    sensitivity: int = 1,
    ledger: PrivacyLedger,
    purpose: str,
    phase: str = "",
    noise: NoiseSource | None = None,
) -> np.ndarray:
    """Counts plus independent discrete Gaussian noise per cell: the Gaussian mechanism on a
    histogram, with exact integer noise.

    ``counts`` must be a histogram (or marginal) in which each row adds 1 to exactly one cell, so
    adding or removing a row changes one cell by 1: L2 sensitivity 1. A query whose cells one
    row moves by more states its L2 ``sensitivity`` Δ (a whole number: a single count that one
    row moves by up to Δ, say). Counts must be whole numbers (integral floats are accepted),
    since the discrete Gaussian's guarantee is for integer-valued queries. The noise is
    N_Z(0, σ²) with σ² = :func:`rational_variance` (σ) (σ² rounded up by at most 2^-32), and the
    release is ρ = Δ²/(2σ²)-zCDP (CKS 2020; Bun & Steinke 2016, Prop. 1.6 for the continuous
    analogue). Returns float64 noisy counts, whole numbers that can be negative;
    post-processing (clipping, projection) is the caller's choice and free.

    Privacy cost recorded: ρ = Δ²/(2σ²) for the rounded σ², mechanism ``"gaussian"``.
    """
    sensitivity = _at_least_one("sensitivity", sensitivity)
    variance = rational_variance(sigma)
    values = _integer_counts(counts)
    noise = _checked_source(noise)
    _record(
        ledger,
        noise,
        mechanism="gaussian",
        purpose=purpose,
        phase=phase,
        rho=_cost(variance, sensitivity**2),
        params={
            **_noise_params(variance),
            "cells": int(values.size),
            "l2_sensitivity": float(sensitivity),
        },
    )
    return (values + noise.discrete_gaussian(variance, values.shape)).astype(float)


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


def _bounds_grid(min_exponent: int = BOUNDS_MIN_EXPONENT) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper edges of dp_bounds' buckets, in increasing order of value.

    Buckets are: [−2^k, −2^(k−1)) for k from the top exponent down, then {0}, then
    (2^(k−1), 2^k] upwards; the innermost buckets extend to 0: [−2^kmin, 0) and (0, 2^kmin].
    """
    exponents = np.arange(min_exponent, BOUNDS_MAX_EXPONENT + 1, dtype=float)
    tops = np.exp2(exponents)
    bottoms = np.concatenate([[0.0], tops[:-1]])
    lower = np.concatenate([-tops[::-1], [0.0], bottoms])
    upper = np.concatenate([-bottoms[::-1], [0.0], tops])
    return lower, upper


def _bucket_indices(values: np.ndarray, min_exponent: int = BOUNDS_MIN_EXPONENT) -> np.ndarray:
    """Index of each (finite or infinite, non-NaN) value's bucket on dp_bounds' grid."""
    top = 2.0**BOUNDS_MAX_EXPONENT
    clipped = np.clip(values, -top, top)
    mantissa, exponent = np.frexp(np.abs(clipped))
    # |x| = m·2^e with m in [0.5, 1): the bucket (2^(k−1), 2^k] holding |x| has k = e, except
    # that an exact power of two (m = 0.5) is the top of the bucket below.
    k = np.where(mantissa > 0.5, exponent, exponent - 1)
    offset = np.clip(k, min_exponent, BOUNDS_MAX_EXPONENT) - min_exponent
    zero = BOUNDS_MAX_EXPONENT - min_exponent + 1
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
    integer: bool = False,
) -> tuple[float, float]:
    """Public (lower, upper) bounds of a numeric column whose range was not declared.

    Method: the public grid of signed powers of two splits the reals into buckets
    ``[−2^k, −2^(k−1))``, ``{0}`` and ``(2^(k−1), 2^k]`` for k in
    [:data:`BOUNDS_MIN_EXPONENT`, :data:`BOUNDS_MAX_EXPONENT`] (values smaller in magnitude than
    2^-32 share the innermost buckets, values beyond ±2^62 the outermost ones). ``integer``
    (public: the column's dtype) starts the magnitudes at 2^0, so that 1 is the neighbour of
    0: whole numbers never fall between them, and 32 empty buckets there stopped the growth
    described below (a count of procedures, 46 % zeros, came back as the range [0, 0]). Each
    row falls in exactly one bucket, so the bucket histogram has L2 sensitivity 1; discrete
    Gaussian noise with σ² = 1/(2ρ) (rounded up) is added, and everything after is
    post-processing of that one histogram:

    * a bucket is *occupied* when its noisy count exceeds ``threshold``·σ; with the default
      5σ each of the 191 empty buckets (127 on the integer grid) passes with probability
      about 3e-7 (the discrete
      Gaussian's tail beyond k ≥ 1 is below the continuous one's beyond k − 1), so a
      spurious far-away bound is very unlikely;
    * so is the run of adjacent buckets that stands out of the noise as a whole
      (:func:`occupied_span`). This is what degrades gracefully at small budgets: a few
      thousand bill amounts spread over ten buckets clear no bucket at 5σ, but their run does;
    * the range spans the occupied buckets, grown outwards through adjacent buckets above
      :data:`EXTEND_SIGMAS`·σ (a false step, one bucket further than the data, has
      probability about 0.16 per side and costs only a wider range).

    Values outside the returned bounds must be clipped to them afterwards. The bounds are
    ±powers of two or 0: ages in [0, 97] give upper = 128 and, when the few rows aged 0 to 3
    are not seen, lower = 4 (they are then clipped to 4).

    If nothing is occupied (too few rows for this ρ), :class:`DomainEstimationError` is raised:
    any bound read off pure noise would be arbitrary (an age range of [0, 0], an income of
    -2.8e14), so the fix is the user's: declare the column's bounds, raise ε, or use more rows.
    ``lower == upper == 0`` happens only when the zero bucket is the only one selected (e.g.
    an all-zero column). NaNs are ignored (missingness is accounted for elsewhere); ±inf count
    as ±2^62.

    Privacy cost recorded: 1/(2σ²) ≤ ρ for the rounded σ² (discrete Gaussian mechanism, L2
    sensitivity 1; CKS 2020), mechanism ``"dp_bounds"``. The thresholds are post-processing.
    """
    rho = _positive("rho", rho)
    threshold = _positive("threshold", threshold)
    observed = _numeric_values(values)
    noise = _checked_source(noise)
    variance = _variance_for_rho(rho)
    min_exponent = 0 if integer else BOUNDS_MIN_EXPONENT
    lower_edges, upper_edges = _bounds_grid(min_exponent)
    _record(
        ledger,
        noise,
        mechanism="dp_bounds",
        purpose=purpose,
        phase=phase,
        rho=_cost(variance),
        params={
            **_noise_params(variance),
            "threshold_sigmas": threshold,
            "buckets": int(lower_edges.size),
        },
    )
    counts = np.bincount(_bucket_indices(observed, min_exponent), minlength=lower_edges.size)
    noisy = counts + noise.discrete_gaussian(variance, lower_edges.size)
    span = occupied_span(noisy / math.sqrt(variance), threshold)
    if span is None:
        raise DomainEstimationError(
            f"{purpose}: no range could be released under differential privacy (no "
            "power-of-two bucket's noisy count, nor any run of them, cleared the threshold): "
            "the column has too few rows for the privacy budget spent on it. Declare the "
            "column's bounds (lower and upper) in the metadata, raise epsilon, or use more rows."
        )
    low, high = span
    return float(lower_edges[low]), float(upper_edges[high])


def occupied_span(z: np.ndarray, threshold: float) -> tuple[int, int] | None:
    """First and last cell of what a noisy histogram on a public grid shows occupied, from its
    counts in units of σ (``z``); ``None`` when nothing stands out of the noise. Pure
    post-processing of the histogram (dp_bounds' powers of two, the years of a date range):

    * a cell is occupied when its z exceeds ``threshold``;
    * so is every cell of the run of adjacent cells with the largest sum of
      ``z −`` :data:`RUN_DRIFT_SIGMAS`, when the run's sum of z exceeds z_run·√w for its w cells
      (the sum's noise has variance w). z_run is set so that the grid's n(n + 1)/2 runs
      together pass pure noise no more often than its n cells pass ``threshold``: 5.8 for
      dp_bounds' 191 buckets at 5σ (both ~6e-5 per column), 6.0 for 584 years;
    * the span, from the first to the last occupied cell, grows outwards through adjacent cells
      whose z exceeds :data:`EXTEND_SIGMAS`. Growing keeps thin tails that no cell shows at
      ``threshold`` (a 10th percentile of 7 came back as 512 on a 7,000-row table at a small
      budget), while a false step, one cell further than the data, happens with probability
      about 0.16 per side and costs only a wider range.

    The run's test assumes Gaussian tails for sums of discrete Gaussian noise, which holds
    for the σ ≥ 1 of every budget that could release a range.
    """
    z = np.asarray(z, dtype=float)
    occupied = z > threshold
    first, last = _best_run(z - RUN_DRIFT_SIGMAS)
    tail = float(special.ndtr(-threshold))
    run_sigmas = -float(special.ndtri(2.0 * tail / (z.size + 1)))
    if z[first : last + 1].sum() > run_sigmas * math.sqrt(last - first + 1):
        occupied[first : last + 1] = True
    cells = np.flatnonzero(occupied)
    if not cells.size:
        return None
    low, high = int(cells[0]), int(cells[-1])
    while low > 0 and z[low - 1] > EXTEND_SIGMAS:
        low -= 1
    while high < z.size - 1 and z[high + 1] > EXTEND_SIGMAS:
        high += 1
    return low, high


def _best_run(gains: np.ndarray) -> tuple[int, int]:
    """First and last index of the contiguous run with the largest sum (Kadane)."""
    best, best_run = -math.inf, (0, 0)
    total, start = 0.0, 0
    for i, gain in enumerate(gains.tolist()):
        if total <= 0.0:
            total, start = 0.0, i
        total += gain
        if total > best:
            best, best_run = total, (start, i)
    return best_run


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

    The cell histogram is measured through a tree of sums (:mod:`~tabsynth.privacy.tree_counts`:
    the root, 4 nodes, 16, ..., the cells; L levels, L2 sensitivity sqrt(L)), with discrete
    Gaussian noise σ² = L/(2ρ) rounded up on every node, and the cells are their least-squares
    fit to all nodes. That keeps every cumulative count within a few σ of the truth, where noise
    on each cell alone lets the count below cell k drift by sqrt(k)·σ, and lets a long empty
    range above the data inflate the total. The cumulative counts are made non-decreasing by
    isotonic (least-squares) regression and clipped at 0, and every requested quantile is read
    off that one CDF, assuming values spread uniformly within a cell; so the result is
    non-decreasing in the quantile level and within [lower, upper]. Isotonic regression rather
    than clipping each cell at 0: clipping adds a bias of about 0.4σ rows per empty cell. If the
    fitted CDF is 0 everywhere (tiny data), the quantiles are those of a uniform spread over the
    grid.

    Privacy cost recorded: L/(2σ²) ≤ ρ once, whatever the number of quantiles (discrete
    Gaussian mechanism; CKS 2020), mechanism ``"dp_quantiles"``. Everything after the noise
    is post-processing.
    """
    rho = _positive("rho", rho)
    levels, edges, grid = _quantile_setup(quantiles, lower, upper, bins, grid)
    observed = _numeric_values(values)
    tree = _measured_tree(
        observed,
        edges,
        rho,
        _checked_source(noise),
        ledger=ledger,
        purpose=purpose,
        phase=phase,
        params={"grid": grid, "quantiles": int(levels.size)},
    )
    return _quantiles_from_tree(tree.levels, edges, levels)


class RangeQuantiles(NamedTuple):
    """What :func:`dp_range_quantiles` releases: a range and quantiles inside it."""

    lower: float
    upper: float
    quantiles: np.ndarray


def dp_range_quantiles(
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
) -> RangeQuantiles:
    """Private quantiles of a numeric column, and the range they lie in, which narrows to where
    the rows are when they fill only a sliver of the public bounds.

    :func:`dp_bounds` gives powers of two, and ``dp_quantiles`` reads quantiles off a grid of
    ``bins`` cells inside them, uniform within each cell. Latitudes from 44.89 to 45.05 get
    the bounds [32, 64], whose 256 cells are 0.125 wide: the data fill two cells, every edge is
    a guess inside them, and the outermost bins, [32, 44.88] and [45.11, 64], decode a 32nd of
    the rows each as far-off places. Decimal years (2016.5 to 2017.7 in [1024, 2048]) fill one.

    So the budget is spent in two measurements of :func:`dp_quantiles`' tree, each charged:

    * a *look* with :data:`ZOOM_LOOK_SHARE` of ρ over the public grid. Post-processing of it
      finds the cells where the rows are: the occupied nodes (:func:`occupied_span` at
      :data:`ZOOM_SIGMAS`) of the finest level whose span the look's least-squares cells
      put all but :data:`ZOOM_OUTSIDE` of the rows in, even at :data:`ZOOM_ERRORS` standard
      errors (a public function of σ and the tree's shape);
    * when those cells are at most ``bins //`` :data:`ZOOM_FACTOR`, the rest of ρ measures a
      tree over a new grid of ``bins`` cells on just those cells (the grid kind chosen again
      for the narrower range, unless ``grid`` names one). Values outside it are clipped to it,
      the quantiles are read off the second tree alone, and the range is the new grid less its
      own empty ends, found in the second tree the same way: the outermost bins then end near
      the first and last rows, not at the look's coarse cells;
    * otherwise the rest measures the same tree again, and the two are averaged with inverse-
      variance weights, which is as accurate as one measurement with all of ρ; the range stays.

    Both measurements are recorded (mechanism ``"dp_quantiles"``), whichever way it goes, at
    L/(2σ²) each, adding to at most ρ. The choice, the span and the quantiles are
    post-processing of the noisy trees.
    """
    rho = _positive("rho", rho)
    levels, edges, grid_used = _quantile_setup(quantiles, lower, upper, bins, grid)
    observed = _numeric_values(values)
    noise = _checked_source(noise)
    params = {"grid": grid_used, "quantiles": int(levels.size)}

    def measure(grid_edges: np.ndarray, share: float, what: str, about: dict) -> _Tree:
        return _measured_tree(
            observed,
            grid_edges,
            rho * share,
            noise,
            ledger=ledger,
            purpose=what,
            phase=phase,
            params=about,
        )

    look = measure(edges, ZOOM_LOOK_SHARE, f"{purpose} (where the rows are)", params)
    span = _rows_span(look, bins)
    # (cells too narrow for floating point to split leave nothing to zoom into)
    if span is None or span[1] - span[0] + 1 > bins // ZOOM_FACTOR or not _splits(edges, span):
        combined = _averaged_levels(look, measure(edges, 1.0 - ZOOM_LOOK_SHARE, purpose, params))
        return RangeQuantiles(
            float(lower), float(upper), _quantiles_from_tree(combined, edges, levels)
        )
    low, high = float(edges[span[0]]), float(edges[span[1] + 1])
    zoomed, zoomed_grid = _quantile_grid(low, high, bins, grid)
    about = {"grid": zoomed_grid, "quantiles": int(levels.size), "lower": low, "upper": high}
    tree = measure(zoomed, 1.0 - ZOOM_LOOK_SHARE, purpose, about)  # clips to the new grid
    found = _quantiles_from_tree(tree.levels, zoomed, levels)
    inside = _rows_span(tree, bins)
    if inside is not None and _splits(zoomed, inside):
        # the outer bins end where the rows do, not at the look's cells
        low, high = float(zoomed[inside[0]]), float(zoomed[inside[1] + 1])
    return RangeQuantiles(low, high, np.clip(found, low, high))


def _splits(edges: np.ndarray, span: tuple[int, int]) -> bool:
    """Whether the cells ``span`` covers have a range of their own (lower < upper)."""
    return bool(edges[span[0]] < edges[span[1] + 1])


class _Tree(NamedTuple):
    """Noisy counts of every node of a tree of sums (root first), and their noise variance."""

    levels: list[np.ndarray]
    variance: Fraction


def _quantile_setup(
    quantiles: Sequence[float] | np.ndarray,
    lower: float,
    upper: float,
    bins: int,
    grid: str,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Checked quantile levels, the public grid's cell edges and its kind."""
    for name, bound in (("lower", lower), ("upper", upper)):
        if isinstance(bound, bool) or not isinstance(bound, (int, float, np.integer, np.floating)):
            raise ParameterError(f"{name} must be a number, got {bound!r}.")
    if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
        raise ParameterError(f"need finite lower < upper, got ({lower!r}, {upper!r}).")
    bins = _at_least_one("bins", bins)
    levels = np.asarray(quantiles, dtype=float)
    if not np.all((levels >= 0.0) & (levels <= 1.0)):
        raise ParameterError("quantiles must lie in [0, 1].")
    edges, grid = _quantile_grid(float(lower), float(upper), bins, grid)
    return levels, edges, grid


def _measured_tree(
    observed: np.ndarray,
    edges: np.ndarray,
    rho: float,
    noise: NoiseSource,
    *,
    ledger: PrivacyLedger,
    purpose: str,
    phase: str,
    params: dict[str, Any],
) -> _Tree:
    """The histogram of ``observed`` (clipped to the grid) on the cells between ``edges``,
    measured through a tree of sums at cost ρ: recorded first, then drawn."""
    cells = edges.size - 1
    depth = tree_counts.depth(cells)
    variance = _variance_for_rho(rho, depth)
    _record(
        ledger,
        noise,
        mechanism="dp_quantiles",
        purpose=purpose,
        phase=phase,
        rho=_cost(variance, depth),
        params={
            **_noise_params(variance),
            "bins": cells,
            **params,
            "tree_levels": depth,
            "branching": tree_counts.BRANCHING,
            "l2_sensitivity": math.sqrt(depth),
        },
    )
    counts, _ = np.histogram(np.clip(observed, edges[0], edges[-1]), bins=edges)
    noisy = [
        level + noise.discrete_gaussian(variance, level.size)
        for level in tree_counts.level_counts(counts)
    ]
    return _Tree(noisy, variance)


def _averaged_levels(first: _Tree, second: _Tree) -> list[np.ndarray]:
    """Two noisy measurements of one tree, averaged with inverse-variance weights: the noise
    of the average has variance 1/(1/v1 + 1/v2), that of one measurement with both budgets."""
    w1, w2 = float(1 / first.variance), float(1 / second.variance)
    return [(w1 * a + w2 * b) / (w1 + w2) for a, b in zip(first.levels, second.levels, strict=True)]


def _rows_span(tree: _Tree, cells: int) -> tuple[int, int] | None:
    """The cells a noisy tree shows the rows in, or None; post-processing.

    Level by level from the leaves up, the nodes a level shows occupied (:func:`occupied_span`
    at :data:`ZOOM_SIGMAS`) give a span of cells. The first span whose rows outside, by the
    tree's least-squares cells plus :data:`ZOOM_ERRORS` standard errors of that estimate, are
    at most :data:`ZOOM_OUTSIDE` of the total is the answer. The standard error is public: σ
    times the norm of the estimate's weights on the nodes. Without it, at the budgets of a
    small table (σ of a hundred rows per node), spans that left 5-10 % of the rows outside
    passed on noise. Rows spread thinly over many cells clear no leaf, but their nodes a level
    or two up do.
    """
    weights = _least_squares_weights(len(tree.levels))[:cells]
    estimate = weights @ np.concatenate(tree.levels)
    total = float(estimate.sum())
    if total <= 0:
        return None
    sigma = math.sqrt(tree.variance)
    leaves = tree.levels[-1].size
    for level in tree.levels[:0:-1]:
        found = occupied_span(level / sigma, ZOOM_SIGMAS)
        if found is None:
            continue
        width = leaves // level.size  # leaves under each node of this level
        first, last = found[0] * width, min((found[1] + 1) * width, cells) - 1
        if first > last:  # nodes past the grid (a grid that is not a power of the branching)
            continue
        outside = np.ones(cells, dtype=bool)
        outside[first : last + 1] = False
        on_nodes = weights[outside].sum(axis=0)
        error = sigma * float(np.sqrt(on_nodes @ on_nodes))
        if estimate[outside].sum() + ZOOM_ERRORS * error <= ZOOM_OUTSIDE * total:
            return first, last
    return None


@functools.lru_cache(maxsize=8)
def _least_squares_weights(height: int) -> np.ndarray:
    """The matrix of :func:`~tabsynth.privacy.tree_counts.least_squares_cells` (leaves ×
    nodes, root first) for a complete tree of ``height`` levels: the fit is linear, so its
    column j is the fit to a tree whose node j alone counts 1. Public (the tree's shape)."""
    sizes = [tree_counts.BRANCHING**level for level in range(height)]
    columns = []
    for node in range(sum(sizes)):
        unit = np.zeros(sum(sizes))
        unit[node] = 1.0
        levels = np.split(unit, np.cumsum(sizes)[:-1])
        columns.append(tree_counts.least_squares_cells(levels))
    weights = np.stack(columns, axis=1)
    weights.flags.writeable = False
    return weights


def _quantiles_from_tree(
    noisy: list[np.ndarray], edges: np.ndarray, levels: np.ndarray
) -> np.ndarray:
    """Quantiles at ``levels`` read off a noisy tree's least-squares cells (post-processing):
    the CDF made non-decreasing and non-negative, uniform within each cell."""
    cells = tree_counts.least_squares_cells(noisy)[: edges.size - 1]
    cdf = np.maximum(_isotonic_increasing(np.cumsum(cells)), 0.0)
    weights = np.maximum(np.diff(cdf, prepend=0.0), 0.0)
    if weights.sum() <= 0:
        weights = np.ones_like(weights)
    flat = levels.ravel()
    order = np.argsort(flat, kind="stable")
    result = np.empty_like(flat)
    # Rounding must not break monotonicity: enforce it along increasing levels.
    result[order] = np.maximum.accumulate(_read_quantiles(edges, weights, flat[order]))
    return np.clip(result, edges[0], edges[-1]).reshape(levels.shape)


def _deterministic_key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


def _value_order(values: list[Any]) -> list[int]:
    """Positions of ``values`` (possibly of mixed types) in a reproducible order: by type name,
    then value (then repr, where values of one type do not compare)."""
    positions = range(len(values))
    try:
        return sorted(positions, key=lambda i: _deterministic_key(values[i]))
    except TypeError:
        return sorted(positions, key=lambda i: (type(values[i]).__name__, repr(values[i])))


# Terms of the discrete Gaussian's tail summed one by one before an integral bound takes over.
_TAIL_TERMS = 256
# Relative margin on the tail bound, for the floating-point rounding of its evaluation.
_TAIL_MARGIN = 1e-9


def _log_density(x: np.ndarray, variance: float) -> np.ndarray:
    """log f(x) = −x²/(2σ²), the discrete Gaussian's unnormalised log-probability."""
    return -np.square(x.astype(float)) / (2.0 * variance)


def _log_integral(start: float, variance: float) -> float:
    """log ∫_start^∞ f = log(σ·sqrt(2π)·Φ(−start/σ))."""
    sigma = math.sqrt(variance)
    return math.log(sigma * math.sqrt(2.0 * math.pi)) + float(log_ndtr(-start / sigma))


def _log_normaliser(variance: float) -> float:
    """log of the lower bound on the discrete Gaussian's normaliser Z that
    :func:`_log_tail_bound` describes."""
    near = np.arange(-_TAIL_TERMS, _TAIL_TERMS + 1)
    return max(_log_integral(-math.inf, variance), float(logsumexp(_log_density(near, variance))))


def _log_tail_bound(k: int, variance: float) -> float:
    """log of an upper bound on P(X ≥ k), X ~ N_Z(0, σ²), for k ≥ 1.

    With f(x) = exp(−x²/(2σ²)): P(X ≥ k) = Σ_{x≥k} f(x) / Z, Z = Σ_{x∈Z} f(x).

    * Z ≥ σ·sqrt(2π) (Poisson summation: Z = σ·sqrt(2π)·Σ_j exp(−2π²σ²j²)), and Z is at least
      any partial sum; the larger of the two is used (the first is tight for σ ≥ 1, the
      second for σ < 1).
    * Σ_{x≥k} f(x) ≤ Σ_{x=k}^{k+W−1} f(x) + ∫_{k+W−1/2}^∞ f when k + W − 1/2 ≥ σ: f is convex
      beyond σ, so each f(x) there is at most its integral over [x − 1/2, x + 1/2]; the W
      exact terms make this tight for small σ, the midpoint rule is tight for large σ.
      Otherwise Σ_{x≥k} f(x) ≤ f(k) + ∫_k^∞ f, as f decreases on [0, ∞).

    Summed in log space, so a tiny δ neither underflows nor loses precision.
    """
    log_z = _log_normaliser(variance)
    if k + _TAIL_TERMS - 0.5 >= math.sqrt(variance):
        terms = _log_density(np.arange(k, k + _TAIL_TERMS), variance)
        rest = _log_integral(k + _TAIL_TERMS - 0.5, variance)
    else:
        terms, rest = _log_density(np.array([k]), variance), _log_integral(k, variance)
    return float(np.logaddexp(logsumexp(terms), rest)) - log_z


def _singleton_threshold(variance: Fraction, delta: float) -> int:
    """The smallest integer τ ≥ 2 with P(X ≥ τ − 1) ≤ δ for X ~ N_Z(0, σ²): a value held by
    one row (count 1) then passes ``count + X ≥ τ`` with probability at most δ.

    Decided on an upper bound of the tail (:func:`_log_tail_bound`, with a relative margin of
    1e-9 for rounding), so τ is never below the exact threshold. It is the exact one unless the
    tail at τ − 2 is within that margin of δ, or δ is so large (above about P(X ≥ σ) ≈ 0.16)
    that τ − 1 < σ − 256, where the cruder bound may add one or two. τ ≥ 2 always, since
    P(X ≥ 0) > 1/2: for δ near 1/2 or above that is conservative too.
    """
    sigma2, log_delta = float(variance), math.log(delta) + math.log1p(-_TAIL_MARGIN)

    def passes(k: int) -> bool:
        return _log_tail_bound(k, sigma2) <= log_delta

    high = 1
    while not passes(high):
        high *= 2
    low = high // 2  # 0, or a k that fails
    while high - low > 1:  # the bound decreases with k: bisect for the first k that passes
        middle = (low + high) // 2
        low, high = (low, middle) if passes(middle) else (middle, high)
    return high + 1


#: Blocks of X₁'s values summed one by one by :func:`_log_combined_tail_bound`.
_COMBINED_BLOCKS = 4096


def _ceil_down(t: np.ndarray) -> np.ndarray:
    """⌈t⌉, except that a t within float error above a whole number k gives k: a threshold
    computed in floating point may sit on a value the sum can take, and skipping that value
    would understate a tail."""
    return np.ceil(t - 1e-9 * np.maximum(1.0, np.abs(t)))


def _log_tail_bounds(k: np.ndarray, variance: float) -> np.ndarray:
    """log of upper bounds on P(X ≥ k), X ~ N_Z(0, σ²), for an array of integers k.

    Looser than :func:`_log_tail_bound` by at most one term but vectorised: for k ≥ 1,
    Σ_{x≥k} f(x) ≤ f(k) + ∫_k^∞ f (f decreases on [0, ∞)), over the same lower bound on Z;
    1 for k ≤ 0.
    """
    sigma = math.sqrt(variance)
    log_root = math.log(sigma * math.sqrt(2.0 * math.pi))
    k = np.asarray(k, dtype=float)
    bound = np.logaddexp(-np.square(k) / (2.0 * variance), log_root + log_ndtr(-k / sigma))
    return np.where(k >= 1, np.minimum(bound - _log_normaliser(variance), 0.0), 0.0)


def _log_combined_tail_bound(
    u: float, first: float, second: float, blocks: int = _COMBINED_BLOCKS
) -> float:
    """log of an upper bound on P(a·X₁ + b·X₂ ≥ u), X_i ~ N_Z(0, σ_i²) independent, with the
    inverse-variance weights a = σ_c²/σ₁², b = σ_c²/σ₂² of :func:`dp_category_look`.

    P = Σ_x P(X₁ = x)·P(X₂ ≥ (u − a·x)/b). X₁'s values from −40σ₁ to 40σ₁ beyond
    min(u/a, 40σ₁) are cut into at most ``blocks`` blocks of w integers: in each,
    P(X₁ = x) ≤ exp(−x²/(2σ₁²))/Z₁ (Z₁ bounded below) at the block's point nearest 0, times w,
    and X₂'s tail (increasing in x) is bounded at the block's top. Values above the range add
    at most P(X₁ > top); values below it at most P(X₁ < bottom) times X₂'s tail at the bottom.
    Every step rounds up, ceilings included (:func:`_ceil_down`).
    """
    var1, var2 = first, second
    combined = 1.0 / (1.0 / var1 + 1.0 / var2)
    a, b = combined / var1, combined / var2
    s1 = math.sqrt(var1)
    low = -math.ceil(40.0 * s1)
    high = math.ceil(min(max(u / a, 0.0), 40.0 * s1) + 40.0 * s1) + 1
    width = max(1, math.ceil((high - low) / blocks))
    starts = np.arange(low, high, width, dtype=float)
    tops = starts + width - 1
    nearest = np.where(starts > 0, starts, np.where(tops < 0, tops, 0.0))
    log_mass = math.log(width) - np.square(nearest) / (2.0 * var1) - _log_normaliser(var1)
    log_tail2 = _log_tail_bounds(_ceil_down((u - a * tops) / b), var2)
    above = _log_tail_bound(int(starts[-1] + width), var1)
    below = _log_tail_bound(-low + 1, var1) + float(
        _log_tail_bounds(_ceil_down(np.array([(u - a * low) / b])), var2)[0]
    )
    return float(logsumexp(np.concatenate([log_mass + log_tail2, [above, below]])))


def _combined_threshold(first: float, second: float, delta: float) -> float:
    """The smallest τ (to within 1e-6·σ_c above it) with P(1 + a·X₁ + b·X₂ ≥ τ) ≤ δ, from
    :func:`_log_combined_tail_bound`: a value held by one row passes a combined look with
    probability at most δ. Close to 1 + σ_c·Φ⁻¹(1 − δ), where a Chernoff bound would give
    1 + σ_c·sqrt(2 ln(1/δ)), about 6 % more at δ = 1e-11. The margin added at the end keeps
    the float error of a combined count (an inverse-variance sum) from crossing a value the
    noise can take exactly at τ."""
    combined = 1.0 / (1.0 / first + 1.0 / second)
    log_delta = math.log(delta) + math.log1p(-_TAIL_MARGIN)
    low, high = 0.0, math.sqrt(2.0 * combined * math.log(1.0 / delta))
    while _log_combined_tail_bound(high, first, second) > log_delta:
        low, high = high, 2.0 * high + 1.0
    while high - low > 1e-6 * math.sqrt(combined):
        middle = (low + high) / 2
        if _log_combined_tail_bound(middle, first, second) > log_delta:
            low = middle
        else:
            high = middle
    return 1.0 + high + 1e-9 * max(1.0, high)


def in_release_order(values: Sequence[Any]) -> list[Any]:
    """``values`` in the order :func:`dp_categories` returns them: by type name, then value."""
    values = list(values)
    return [values[i] for i in _value_order(values)]


class UnreleasedCounts:
    """The noisy counts a category release drew for the values it did not keep.

    Internal state of one fit, for a second look at the same values (:func:`dp_category_look`
    with ``earlier=``): never released, printed or saved, so its repr shows nothing of it.
    """

    __slots__ = ("noisy", "variance")

    def __init__(self, noisy: dict[Any, float], variance: float) -> None:
        self.noisy = noisy
        self.variance = variance

    def __repr__(self) -> str:
        return "UnreleasedCounts(<not shown>)"


class ListedCounts(NamedTuple):
    """The noisy counts a look with a list drew for the listed values it did not keep, and
    their noise variance.

    Unlike :class:`UnreleasedCounts` these may be released: they are a Gaussian histogram over
    a public list, which the look's ρ covers without δ whatever the counts are (a listed value
    that no row holds included). A second look leaves them to say which rarer codes the rows
    the model calls "other" hold (:func:`~tabsynth.synthesizers.code_ranges.rare_codes`)."""

    noisy: dict[Any, float]
    variance: float


class CategoryLook(NamedTuple):
    """What :func:`dp_category_look` returns."""

    #: The values kept, in release order.
    kept: list[Any]
    #: The noisy counts of the values off the list it did not keep: never released.
    unreleased: UnreleasedCounts
    #: The noisy counts of the listed values it did not keep: released.
    listed: ListedCounts


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

    Every distinct non-missing value (NaN/None/NA is not a category) is counted. The candidates
    are put in a fixed order, by (type name, value), before any noise is drawn, so which noise
    a value gets does not depend on the counts or their order. Discrete Gaussian noise
    X ~ N_Z(0, σ²) with σ² = 1/(2ρ) (rounded up) is added to each count, and the values with
    count + X ≥ τ are kept, τ being the smallest integer with P(X ≥ τ − 1) ≤ δ (computed from
    an upper bound of the discrete Gaussian's tail, so never below the exact threshold, see
    :func:`_singleton_threshold`). Values absent from the data are never candidates, which is
    why a δ is needed: a value held by a single row exists in only one of two neighbouring
    tables, and is released with probability P(1 + X ≥ τ) ≤ δ. Otherwise (the value is in
    both) the two outputs differ only through one noisy count, i.e. the discrete Gaussian
    mechanism with sensitivity 1, 1/(2σ²)-zCDP (CKS 2020). So the release is δ-approximately
    ρ-zCDP ("stability-based histogram": Korolova et al. 2009, "Releasing Search Queries and
    Clicks Privately"; Wilson et al. 2020, "Differentially Private SQL with Bounded User
    Contribution"; Desfontaines et al. 2022, "Differentially Private Partition Selection").

    Returns the kept values sorted by (type name, value); with ``max_categories``, only that
    many with the largest noisy counts are kept, ties going to the earlier value in that order
    (post-processing, no extra cost).

    Privacy cost recorded: 1/(2σ²) ≤ ρ and additive δ (paid from the ledger's
    ``delta_reserved``), mechanism ``"dp_categories"``.
    """
    return dp_category_look(
        values,
        rho,
        delta,
        max_categories=max_categories,
        ledger=ledger,
        purpose=purpose,
        phase=phase,
        noise=noise,
    ).kept


#: The chance that a listed code no row holds passes :func:`dp_category_look` (``listed``).
LISTED_FALSE_RATE = 1e-3
#: How many listed codes that no row holds a list passes on average at most: a list longer
#: than 500 codes takes a lower rate than :data:`LISTED_FALSE_RATE` for each.
LISTED_FALSE_PER_LIST = 0.5


def dp_category_look(
    values: Any,
    rho: float,
    delta: float,
    *,
    earlier: UnreleasedCounts | None = None,
    listed: Sequence[Any] = (),
    max_categories: int | None = None,
    per_row: int = 1,
    ledger: PrivacyLedger,
    purpose: str,
    phase: str = "",
    noise: NoiseSource | None = None,
) -> CategoryLook:
    """:func:`dp_categories`, also returning the noisy counts of the values it did not keep,
    for a second look at them.

    With ``earlier`` (what a first look at a superset of these rows left unreleased, every
    value here among them), each value's fresh noisy count y₂ (variance σ₂²) is combined with
    its earlier one y₁ (variance σ₁²) by inverse variance, ŷ = (y₁/σ₁² + y₂/σ₂²)·σ_c² with
    σ_c² = 1/(1/σ₁² + 1/σ₂²): together as good as one look with both budgets. The two noise
    terms are independent, and τ_c is set from a numerical upper bound on the tail of their
    weighted sum (:func:`_combined_threshold`), so a value held by one row passes ŷ ≥ τ_c
    with probability at most δ; over both looks at most δ₁ + δ₂ (a union bound, whatever the
    first look did). For values in both neighbours the outputs are post-processing
    of two discrete Gaussian releases of the same counts: 1/(2σ₂²)-zCDP for this look.

    With ``per_row`` = k > 1, ``values`` holds each row's distinct values from k columns that
    share them (a value group, :mod:`~tabsynth.synthesizers.value_groups`), so a row adds 1 to
    at most k counts: L2 sensitivity √k. The noise variance is k times that of ρ, so the k
    unit shifts cost k/(2σ²) ≤ ρ together (independent discrete Gaussians: the Rényi
    divergences add up, CKS 2020), and the threshold is set for δ/k, so the at most k values
    that one row alone holds pass together with probability at most δ (a union bound).

    With ``listed``, a list that is a function of earlier releases only, never of the rows or
    of ``earlier``'s unreleased counts (the codes an earlier release implies,
    :mod:`~tabsynth.synthesizers.code_ranges`), the values on it are counted on the list
    instead: each listed value gets its count (0 if no row holds it) plus fresh noise of the
    same variance, and is kept when that clears τ_L, the smallest integer with P(X ≥ τ_L) ≤
    :data:`LISTED_FALSE_RATE`, or :data:`LISTED_FALSE_PER_LIST` over the list's length where
    that is less (about 3.1 σ; 3.3 σ for 1,000 codes; a choice on noisy counts:
    post-processing). A row's value is on the list or off it, so the two parts are one Gaussian
    histogram over the list and the values off it that the rows hold, sensitivity 1 (√k with
    ``per_row``) and one cost; the δ covers, as before, a value off the list that only the new
    row holds, while a listed value needs none: the list is public, so the noise alone protects
    it. Listed values are never combined with ``earlier`` (a value only the new row holds has a
    first-look count on one side only). Their noisy counts, kept or not, are the Gaussian
    mechanism's own output, so the unkept ones are returned as :class:`ListedCounts`, which may
    be released, and not among the unreleased counts. ``max_categories`` ranks both parts
    together (on a tie, a value off the list first).

    Privacy cost recorded: k/(2σ₂²) ≤ ρ and additive δ, mechanism ``"dp_categories"``.
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
    per_row = _at_least_one("per_row", per_row)
    on_list = pd.Index(list(listed), dtype=object)
    if not on_list.is_unique:
        raise ParameterError("listed must hold distinct values")
    counts = pd.Series(values, dtype=object).value_counts(dropna=True)
    off = counts[~counts.index.isin(on_list)]
    order = _value_order(off.index.tolist())
    candidates = [off.index[i] for i in order]
    if earlier is not None and not all(c in earlier.noisy for c in candidates):
        raise ParameterError("a second look may only count values the earlier look left unreleased")
    noise = _checked_source(noise)
    variance = per_row * _variance_for_rho(rho)
    rate = min(LISTED_FALSE_RATE, LISTED_FALSE_PER_LIST / max(len(on_list), 1))
    listed_threshold = _singleton_threshold(variance, rate) - 1  # P(X ≥ τ_L) ≤ rate
    threshold: float
    if earlier is None:
        combined, threshold = float(variance), _singleton_threshold(variance, delta / per_row)
    else:
        combined = 1.0 / (1.0 / earlier.variance + 1.0 / float(variance))
        threshold = _combined_threshold(earlier.variance, float(variance), delta / per_row)
    _record(
        ledger,
        noise,
        mechanism="dp_categories",
        purpose=purpose,
        phase=phase,
        rho=_cost(variance / per_row),
        delta=delta,
        params={
            **_noise_params(variance),
            "threshold": threshold,
            "max_categories": max_categories,
            **({} if per_row == 1 else {"values_per_row": per_row}),
            **({} if earlier is None else {"combined_sigma": math.sqrt(combined)}),
            **(
                {}
                if on_list.empty
                else {"listed": len(on_list), "listed_threshold": listed_threshold}
            ),
        },
    )
    exact = off.to_numpy(dtype=np.int64)[order]
    noisy = (exact + noise.discrete_gaussian(variance, len(candidates))).astype(float)
    if earlier is not None:
        before = np.array([earlier.noisy[c] for c in candidates], dtype=float)
        noisy = (before / earlier.variance + noisy / float(variance)) * combined
    on = counts.reindex(on_list, fill_value=0).to_numpy(dtype=np.int64)
    on_noisy = (on + noise.discrete_gaussian(variance, len(on_list))).astype(float)
    passed = np.concatenate([noisy >= threshold, on_noisy >= listed_threshold])
    values_all = [*candidates, *on_list]
    scores = np.concatenate([noisy, on_noisy])
    kept = np.flatnonzero(passed)
    if max_categories is not None:
        kept = np.sort(kept[np.argsort(-scores[kept], kind="stable")[:max_categories]])
    left = np.ones(len(values_all), dtype=bool)
    left[kept] = False
    left_off, left_on = (np.flatnonzero(part) for part in np.split(left, [len(candidates)]))
    return CategoryLook(
        in_release_order([values_all[i] for i in kept]),
        UnreleasedCounts({candidates[i]: float(noisy[i]) for i in left_off}, combined),
        ListedCounts({on_list[i]: float(on_noisy[i]) for i in left_on}, float(variance)),
    )
