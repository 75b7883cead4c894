"""Where differential-privacy noise comes from.

A DP guarantee only holds if the adversary cannot predict the noise. A user's ``random_state``
is chosen for reproducibility, is often a small integer, and may be stored next to the output,
so DP noise must never be derived from it. :class:`NoiseSource` therefore draws from the
operating system's cryptographically secure generator (``os.urandom``) by default; the only way
to get reproducible noise is the explicit, test-only :meth:`NoiseSource.seeded`, which marks
itself ``is_secure = False`` so that every ledger entry it produced carries a warning.

Both kinds share one code path: each turns raw 64-bit words into uniforms, Gaussians (Box–Muller)
and Gumbels in the same vectorised way, so tests run with a seeded source exercise exactly the
transformations used with the secure one.

Floating-point caveat (Mironov 2012, "On Significance of the Least Significant Bits for
Differential Privacy"): the analysis is for real-valued noise. Doubles produced by ``log``,
``sqrt`` and ``cos`` are not spread evenly over the reals, and which low-order bits can occur
may depend on the true value, which in principle leaks information. The exact fix is a discrete
Gaussian sampled with integer arithmetic (Canonne, Kamath & Steinke 2020); tabsynth uses the
continuous Gaussian on counts because its outputs feed least-squares estimation of marginals
(AIM, MST), which wants real numbers, because a pure-Python exact sampler is orders of magnitude
too slow for millions of cells, and because DP-SGD libraries such as opacus add
floating-point Gaussian noise too. The tails are also truncated: with 53-bit uniforms no
Gaussian draw exceeds about 8.6 standard deviations (an event of probability below 1e-17).
"""

from __future__ import annotations

import math
import os

import numpy as np

from tabsynth.errors import ParameterError

__all__ = ["NoiseSource"]

_TWO_POW_M52 = 2.0**-52
_TWO_POW_M53 = 2.0**-53


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


class NoiseSource:
    """Source of random numbers for DP mechanisms: the OS CSPRNG unless explicitly seeded.

    ``NoiseSource()`` is the only source to use on real data. Its draws are not reproducible,
    not even by two instances created the same way, which is the point.

    Example:
        >>> noise = NoiseSource()
        >>> noise.normal(2.0, size=3).shape
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

    def normal(
        self, scale: float = 1.0, size: int | tuple[int, ...] | None = None
    ) -> np.ndarray | float:
        """Centred Gaussian draws with standard deviation ``scale``, by the Box–Muller transform.

        Box–Muller turns each pair of uniforms into two independent N(0, 1) draws using only
        ``log``, ``sqrt``, ``cos`` and ``sin``, which vectorise well.
        """
        if not (isinstance(scale, (int, float, np.integer, np.floating)) and 0 <= scale < math.inf):
            raise ParameterError(f"scale must be a finite number >= 0, got {scale!r}.")
        count = _count(size)
        pairs = (count + 1) // 2
        radius = np.sqrt(-2.0 * np.log(self._open(pairs)))
        angle = (2.0 * math.pi) * self._half_open(pairs)
        draws = np.concatenate([radius * np.cos(angle), radius * np.sin(angle)])[:count]
        return _finish(draws * float(scale), size)

    def gumbel(self, size: int | tuple[int, ...] | None = None) -> np.ndarray | float:
        """Standard Gumbel draws ``−log(−log U)``, used for the Gumbel-max exponential mechanism."""
        return _finish(-np.log(-np.log(self._open(_count(size)))), size)
