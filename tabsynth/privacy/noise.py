"""Where differential-privacy noise comes from.

A DP guarantee only holds if the adversary cannot predict the noise. A user's ``random_state``
is chosen for reproducibility, is often a small integer, and may be stored next to the output,
so DP noise must never be derived from it. :class:`NoiseSource` therefore draws from the
operating system's cryptographically secure generator (``os.urandom``) by default; the only way
to get reproducible noise is the explicit, test-only :meth:`NoiseSource.seeded`, which marks
itself ``is_secure = False`` so that every ledger entry it produced carries a warning.

Both kinds share one code path: each turns raw 64-bit words into draws in the same vectorised
way, so tests run with a seeded source exercise exactly the transformations used with the
secure one.

Counts get exact noise. :meth:`NoiseSource.discrete_gaussian` draws from the discrete Gaussian
N_Z(0, σ²), P(x) ∝ exp(−x²/(2σ²)) on the integers, of Canonne, Kamath & Steinke (2020, "The
Discrete Gaussian for Differential Privacy"), exactly, with integer arithmetic only: uniform
integers by rejection from 64-bit words, Bernoulli(exp(−γ)) for rational γ, discrete Laplace
proposals. Added to an integer-valued query of L2 sensitivity Δ it is Δ²/(2σ²)-zCDP, the bound
of the continuous Gaussian. So the count releases are safe from the floating-point attacks on
continuous samplers (Mironov 2012, "On Significance of the Least Significant Bits for
Differential Privacy": the doubles that ``log``, ``sqrt`` and ``cos`` produce are not spread
evenly over the reals, and which low-order bits can occur may depend on the true value), and
their tails are not cut (Box–Muller on 53-bit uniforms never exceeds about 8.6σ).

Floating point remains in two places, both outside this exact path:

* The Gumbel noise of the exponential mechanism (:meth:`NoiseSource.gumbel`). Its scores
  (AIM's and MST's errors of marginals) are real numbers, so the selection probabilities
  ∝ exp(ε·score/(2Δ)) are not rationals an integer sampler could hit exactly (exact variants
  need base-2 ε and rational scores: Ilvento 2020, "Implementing the Exponential Mechanism with
  Base-2 Differential Privacy"). What it releases is an index, not a number whose low-order
  bits are published, and rounding only perturbs each candidate's probability slightly.
* DP-SGD, through opacus: it adds ``torch.normal`` noise to float gradients, and its secure
  mode needs ``torchcsprng``, which is unmaintained and not installable for current torch
  (see :mod:`tabsynth.synthesizers.autoregressive.dp`). Gradients are real vectors, so an
  integer mechanism would first need a discretisation that opacus does not offer.
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from tabsynth.errors import ParameterError

__all__ = ["MAX_VARIANCE", "NoiseSource"]

_TWO_POW_M52 = 2.0**-52
_TWO_POW_M53 = 2.0**-53
_INT64_MAX = 2**63 - 1

#: Largest σ² :meth:`NoiseSource.discrete_gaussian` accepts (σ ≈ 1.1e15). Draws are returned as
#: int64; with σ² ≤ 2^100 one beyond ±2^63 has probability below exp(−2^25) (the discrete
#: Gaussian's tail is bounded by the continuous one's), and would raise OverflowError.
MAX_VARIANCE = 2**100

# Each round of the discrete Gaussian sampler proposes this many candidates per draw still
# needed (plus a few). Measured acceptance: 48 % for σ ≥ 5, 32 % to 48 % for 1 ≤ σ < 5, down
# to 18 % for σ < 1 (the discrete Laplace step rejects −0, which is most proposals there). So
# one round usually suffices from σ ≈ 1.5 on, and small σ takes a few more.
_PROPOSALS_PER_DRAW = 3


def _urandom_words(count: int) -> np.ndarray:
    """``count`` independent uniform 64-bit words from the OS CSPRNG."""
    return np.frombuffer(os.urandom(8 * count), dtype="<u8")


def _shape(size: int | tuple[int, ...] | None) -> tuple[int, ...]:
    if size is None:
        return ()
    shape = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    if any(not isinstance(d, (int, np.integer)) or d < 0 for d in shape):
        raise ParameterError(f"size must be a non-negative int or a tuple of them, got {size!r}.")
    return tuple(int(d) for d in shape)


def _count(size: int | tuple[int, ...] | None) -> int:
    """Number of draws needed for ``size`` (one for a scalar)."""
    return 1 if size is None else math.prod(_shape(size))


def _finish(values: np.ndarray, size: int | tuple[int, ...] | None) -> np.ndarray | float:
    return float(values[0]) if size is None else values.reshape(_shape(size))


def _checked_variance(sigma2: Fraction) -> Fraction:
    if (
        isinstance(sigma2, bool)
        or not isinstance(sigma2, numbers.Rational)
        or not 0 < sigma2 <= MAX_VARIANCE
    ):
        raise ParameterError(
            f"sigma2 must be an exact rational (fractions.Fraction or int) in (0, 2^100], got "
            f"{sigma2!r}; round a float variance up first (tabsynth.privacy.rational_variance)."
        )
    return Fraction(sigma2)


@dataclass(frozen=True)
class _DiscreteGaussianPlan:
    """Integer constants of one discrete Gaussian sampler, N_Z(0, σ²) with σ² = p/q.

    CKS 2020 (Algorithm 3) proposes Y from the discrete Laplace distribution with scale τ,
    P(y) ∝ exp(−|y|/τ), and accepts it with probability exp(−(|y| − c)²/(2σ²)), c = σ²/τ:
    the product of the two is ∝ exp(−y²/(2σ²)), so any τ > 0 gives exact N_Z(0, σ²); τ ≈ σ
    accepts the most. CKS take τ = ⌊σ⌋ + 1, which makes the exponent's denominator 2pq·τ².
    Here c = m/n instead, a dyadic rational within 1/16 of σ (n = 1 when σ ≥ 8), so
    τ = pn/(qm) and the exponent is (n|y| − m)²·q / (2pn²), reduced by gcd(q, 2n²): its
    denominator stays below 2^35 for the variances the mechanisms use when σ² < 2^32 (they
    round σ² to p/2^k with p < 2^34, see ``tabsynth.privacy.mechanisms``), where CKS's 2pqτ²
    would overflow int64 for most σ.

    int64 bound: for |y| ≤ ``int64_limit`` every intermediate of the acceptance test fits
    int64 ((n|y| + m)²·mult ≤ 2^63 − 1, den ≤ 2^63 − 1); larger |y|, and everything when den
    or the Laplace constants do not fit, is computed on Python ints (object arrays). With the
    mechanisms' rounding the limit is above 30 000σ for σ ≤ 1e4 (3 000σ at σ = 1e6), beyond
    the reach of any proposal (the Laplace scale is about σ: probability below e^-3000); it
    falls to 2σ at σ = 1e9, where part of the proposals take the slower path (measured: 10^6
    draws in 1.0 s instead of 0.8 s with the seeded source).
    """

    scale_num: int  # proposals: discrete Laplace with scale scale_num / scale_den
    scale_den: int
    centre_num: int  # c = centre_num / centre_den
    centre_den: int
    exponent_mult: int  # acceptance: Bernoulli(exp(−(n|y| − m)²·mult / den))
    exponent_den: int
    int64_limit: int

    @classmethod
    def for_variance(cls, sigma2: Fraction) -> _DiscreteGaussianPlan:
        p, q = sigma2.numerator, sigma2.denominator
        n = 1
        while p * n * n < 64 * q:  # smallest power of two with σ·n ≥ 8
            n *= 2
        m = (math.isqrt(4 * p * n * n // q) + 1) // 2  # σ·n rounded, ≥ 8: c is within 1/16 of σ
        scale_gcd = math.gcd(p * n, q * m)
        exponent_gcd = math.gcd(q, 2 * n * n)
        mult, den = q // exponent_gcd, 2 * p * n * n // exponent_gcd
        root = math.isqrt(_INT64_MAX // mult)
        limit = (root - m) // n if den <= _INT64_MAX and n + m <= root else -1
        return cls(p * n // scale_gcd, q * m // scale_gcd, m, n, mult, den, limit)


class NoiseSource:
    """Source of random numbers for DP mechanisms: the OS CSPRNG unless explicitly seeded.

    ``NoiseSource()`` is the only source to use on real data. Its draws are not reproducible,
    not even by two instances created the same way, which is the point.

    Example:
        >>> from fractions import Fraction
        >>> noise = NoiseSource()
        >>> noise.discrete_gaussian(Fraction(9, 4), size=3).shape
        (3,)
    """

    def __init__(self) -> None:
        self._words = _urandom_words
        self._seed: int | None = None

    @classmethod
    def seeded(cls, seed: int) -> NoiseSource:
        """A reproducible source for TESTS ONLY: its noise is predictable, so outputs are not DP.

        Mechanisms record ``seeded_noise=True`` on every ledger entry produced with it, and
        :meth:`PrivacyLedger.explain` prints a warning.
        """
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ParameterError(f"seed must be an int >= 0, got {seed!r}.")
        source = cls()
        bit_generator = np.random.PCG64(int(seed))
        source._words = bit_generator.random_raw
        source._seed = int(seed)
        return source

    @property
    def is_secure(self) -> bool:
        """True when draws come from the OS CSPRNG, False for a :meth:`seeded` source."""
        return self._seed is None

    def __repr__(self) -> str:
        return "NoiseSource()" if self.is_secure else f"NoiseSource.seeded({self._seed})"

    def _half_open(self, count: int) -> np.ndarray:
        """Uniforms on the 2^53-point grid of [0, 1)."""
        return (self._words(count) >> np.uint64(11)).astype(np.float64) * _TWO_POW_M53

    def _open(self, count: int) -> np.ndarray:
        """Uniforms on (0, 1): midpoints of a 2^52-cell grid, so ``log`` of them is finite."""
        cells = (self._words(count) >> np.uint64(12)).astype(np.float64)
        return (cells + 0.5) * _TWO_POW_M52

    def uniform(self, size: int | tuple[int, ...] | None = None) -> np.ndarray | float:
        """Uniform draws on [0, 1) with 53 random bits each (a float when ``size`` is None)."""
        return _finish(self._half_open(_count(size)), size)

    def gumbel(self, size: int | tuple[int, ...] | None = None) -> np.ndarray | float:
        """Standard Gumbel draws ``−log(−log U)``, used for the Gumbel-max exponential mechanism."""
        return _finish(-np.log(-np.log(self._open(_count(size)))), size)

    # -- exact discrete Gaussian ----------------------------------------------------------------

    def discrete_gaussian(
        self, sigma2: Fraction, size: int | tuple[int, ...] | None = None
    ) -> np.ndarray | int:
        """Exact draws from the discrete Gaussian N_Z(0, σ²): P(x) ∝ exp(−x²/(2σ²)), x ∈ Z.

        ``sigma2`` is σ² itself, an exact rational (``Fraction`` or ``int``) in (0, 2^100]: the
        sampler never rounds, so the caller decides, and accounts for, the variance. Returns an
        int64 array of shape ``size``, or an ``int`` when ``size`` is None.

        Canonne, Kamath & Steinke (2020), Algorithms 1 to 3, with integer arithmetic only:
        discrete Laplace proposals accepted with probability exp(−(|y| − c)²/(2σ²)) (see
        :class:`_DiscreteGaussianPlan` for the choice of c), Bernoulli(exp(−γ)) for rational γ
        from ⌊γ⌋ Bernoulli(exp(−1)) trials and one Bernoulli(exp(−(γ − ⌊γ⌋))), and uniform
        integers by rejection from 64-bit words. Every step is vectorised over the proposals
        still undecided, so the Python-level loops run about log(count) times, not count times.

        Speed, 10^6 draws on a 2-core VM (``uptime`` load average 0.4 to 0.7), best of 3:
        ``NoiseSource()`` 1.3 s at σ = 1, 1.7 and 100, 1.5 s at σ = 10 and 10^4 (about 40 % of
        it in ``os.urandom``); ``NoiseSource.seeded`` 0.75 to 0.85 s. A call for a handful of
        cells costs about 1 ms. Statistical checks: ``tests/test_discrete_gaussian.py``.
        """
        plan = _DiscreteGaussianPlan.for_variance(_checked_variance(sigma2))
        count = _count(size)
        out = np.empty(count, dtype=np.int64)
        filled = 0
        while filled < count:
            needed = count - filled
            drawn = self._discrete_gaussian_round(plan, _PROPOSALS_PER_DRAW * needed + 16)
            drawn = drawn[:needed]
            out[filled : filled + drawn.size] = drawn
            filled += drawn.size
        return int(out[0]) if size is None else out.reshape(_shape(size))

    def _discrete_gaussian_round(self, plan: _DiscreteGaussianPlan, proposals: int) -> np.ndarray:
        """The accepted ones among ``proposals`` candidates, in order (int64)."""
        magnitude = self._discrete_laplace_magnitudes(plan, proposals)
        negative = (self._words(magnitude.size) >> np.uint64(63)).astype(bool)
        # CKS Algorithm 2: −0 is rejected, so that 0 is not proposed twice as often as ±y.
        kept = ~(negative & (magnitude == 0))
        magnitude, negative = magnitude[kept], negative[kept]
        accepted = self._gaussian_acceptance(plan, magnitude)
        values = magnitude[accepted].astype(np.int64)
        return np.where(negative[accepted], -values, values)

    def _discrete_laplace_magnitudes(
        self, plan: _DiscreteGaussianPlan, proposals: int
    ) -> np.ndarray:
        """|Y| of the discrete Laplace draws with scale L/S that survive CKS Algorithm 2's first
        rejection: X = U + L·V with U uniform on [0, L) kept with probability exp(−U/L) and V
        geometric (P(V ≥ v) = exp(−v)) has P(X = x) ∝ exp(−x/L); then |Y| = ⌊X/S⌋."""
        scale_num, scale_den = plan.scale_num, plan.scale_den
        u = self._below(scale_num, proposals)
        u = u[self._bernoulli_exp_fraction(u, scale_num)]
        v = self._geometric_exp(u.size)
        if u.dtype == np.int64 and v.max(initial=0) < _INT64_MAX // scale_num:
            x = u + v * scale_num
        else:
            x = u.astype(object) + v.astype(object) * scale_num
        if x.dtype == np.int64 and scale_den > _INT64_MAX:
            x = x.astype(object)
        return x // scale_den

    def _gaussian_acceptance(
        self, plan: _DiscreteGaussianPlan, magnitude: np.ndarray
    ) -> np.ndarray:
        """Bernoulli(exp(−(n|y| − m)²·mult/den)) per proposal: int64 where it provably fits
        (|y| ≤ ``plan.int64_limit``), Python ints elsewhere."""
        accepted = np.empty(magnitude.size, dtype=bool)
        small = magnitude <= plan.int64_limit
        for group, dtype in ((small, np.int64), (~small, object)):
            where = np.flatnonzero(group)
            if where.size:
                offset = magnitude[where].astype(dtype) * plan.centre_den - plan.centre_num
                exponent = offset * offset * plan.exponent_mult
                accepted[where] = self._bernoulli_exp(exponent, plan.exponent_den)
        return accepted

    def _below(self, bound: int, count: int) -> np.ndarray:
        """``count`` exact uniform integers on [0, bound), as int64 when bound ≤ 2^63 and as
        Python ints (object array) otherwise.

        Values are read from w 64-bit words and kept only below the largest multiple of
        ``bound`` that w words can hold, so the remainder modulo ``bound`` is exactly uniform;
        the others (probability < 1/2, usually ≈ bound/2^64) are drawn again.
        """
        if bound == 1:
            return np.zeros(count, dtype=np.int64)
        width = 1 if bound <= 2**63 else -(-bound.bit_length() // 64)
        span = 1 << (64 * width)
        if width == 1:
            words = self._words(count)
            usable = words <= np.uint64(span - span % bound - 1)
            values = (words % np.uint64(bound)).astype(np.int64)
        else:
            words = self._words(count * width).reshape(count, width).astype(object)
            wide = sum((words[:, i] << (64 * i) for i in range(width)), np.zeros(count, object))
            usable = wide < span - span % bound
            values = wide % bound
        redo = np.flatnonzero(~usable)
        if redo.size:
            values[redo] = self._below(bound, redo.size)
        return values

    def _bernoulli_exp_minus_one(self, count: int) -> np.ndarray:
        """``count`` Bernoulli(exp(−1)) trials (CKS Algorithm 1 with γ = 1): K counts up while
        Bernoulli(1/K) succeeds; the trial succeeds when the first failure has K odd."""
        result = np.empty(count, dtype=bool)
        alive = np.arange(count)
        k = 1
        while alive.size:
            going_on = self._below(k, alive.size) == 0
            result[alive[~going_on]] = k % 2 == 1
            alive = alive[going_on]
            k += 1
        return result

    def _bernoulli_exp_fraction(self, numerator: np.ndarray, denominator: int) -> np.ndarray:
        """Bernoulli(exp(−γ)) for γ = numerator/denominator in [0, 1) (CKS Algorithm 1):
        Bernoulli(γ/K) is Bernoulli(1/K) and [uniform on [0, denominator) < numerator]."""
        result = np.empty(numerator.size, dtype=bool)
        alive = np.arange(numerator.size)
        k = 1
        while alive.size:
            going_on = self._below(k, alive.size) == 0
            candidates = np.flatnonzero(going_on)
            going_on[candidates] = (
                self._below(denominator, candidates.size) < numerator[alive[candidates]]
            )
            result[alive[~going_on]] = k % 2 == 1
            alive = alive[going_on]
            k += 1
        return result

    def _bernoulli_exp_integer(self, exponent: np.ndarray) -> np.ndarray:
        """Bernoulli(exp(−k)) for whole k ≥ 0: k Bernoulli(exp(−1)) trials must all succeed."""
        result = np.ones(exponent.size, dtype=bool)
        alive = np.flatnonzero(exponent > 0)
        left = exponent[alive]
        while alive.size:
            success = self._bernoulli_exp_minus_one(alive.size)
            result[alive[~success]] = False
            alive, left = alive[success], left[success] - 1
            more = left > 0
            alive, left = alive[more], left[more]
        return result

    def _bernoulli_exp(self, numerator: np.ndarray, denominator: int) -> np.ndarray:
        """Bernoulli(exp(−numerator/denominator)) per element, numerator ≥ 0 (CKS Algorithm 2's
        split: exp(−γ) = exp(−1)^⌊γ⌋ · exp(−(γ − ⌊γ⌋)), independent trials)."""
        whole = numerator // denominator
        result = self._bernoulli_exp_integer(whole)
        survivors = np.flatnonzero(result)
        fraction = numerator[survivors] - whole[survivors] * denominator
        result[survivors] = self._bernoulli_exp_fraction(fraction, denominator)
        return result

    def _geometric_exp(self, count: int) -> np.ndarray:
        """``count`` draws of V with P(V ≥ v) = exp(−v): Bernoulli(exp(−1)) successes before the
        first failure (int64)."""
        result = np.zeros(count, dtype=np.int64)
        alive = np.arange(count)
        while alive.size:
            alive = alive[self._bernoulli_exp_minus_one(alive.size)]
            result[alive] += 1
        return result
