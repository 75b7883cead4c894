"""Round values: how often an integer column's values are multiples of 5, 10, 50, 100, ...

Amounts, limits and counts that people write down pile up on round numbers: every credit limit
in Taiwan credit is a multiple of 10,000, and about a fifth of the payments that are neither 0
nor a released frequent value are multiples of 1,000. A bin decoded uniformly spreads its rows
over all of its whole numbers (57,176 to 69,033, where nearly every row holds 60,000), and a
scorer or an analyst's ``groupby`` whose bins start at round values sees those rows moved.

A column's *steps* are the ladder 1, 5, 10, 50, 100, ... up to the larger magnitude of its
bounds; a value's *class* is the largest step that divides it (each step divides the next, so
the classes partition the whole numbers; 0 is in the top class). The share of the rows in each
class, the step *weights*, against the class's share of all whole numbers, says how much
rounder than chance the column is; decoding gives each whole number in a bin those odds
(:func:`draw`). On Taiwan credit's decoded training rows that recovers about 12 of the 42
points of 3-way k-marginal that uniform decoding loses (``benchmarks/results/round_values/``).

The ladder follows from the column's bounds (public, or released before the weights), and each
row falls in one class, so under DP the class counts are one Gaussian histogram of L2
sensitivity 1 (:mod:`~tabsynth.synthesizers.dp_domain`) and decoding with them is
post-processing. The non-private model takes the exact counts (:func:`observed`).
"""

from __future__ import annotations

import numpy as np

#: (step, weight) pairs of a column, ascending steps from 1 (:attr:`BinnedCodec.steps`).
Steps = tuple[tuple[float, float], ...]
#: Steps per power of ten: 1 and 5 times it (each divides the next: 1, 5, 10, 50, 100, ...).
FACTORS = (1, 5)


def ladder(lower: float, upper: float) -> np.ndarray:
    """Steps 1, 5, 10, 50, ... up to the larger magnitude of ``lower`` and ``upper``."""
    top = max(abs(float(lower)), abs(float(upper)), 1.0)
    steps: list[float] = []
    power = 1.0
    while power <= top:
        steps.extend(power * f for f in FACTORS if power * f <= top)
        power *= 10
    return np.asarray(steps)


def class_counts(values: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """How many of ``values`` (whole numbers) have each step as their largest divisor in
    ``steps``: one count per value, so adding a value changes one count by 1."""
    x = np.abs(np.asarray(values, dtype=float))
    classes = np.zeros(x.shape, dtype=np.int64)
    for j, step in enumerate(steps[1:], start=1):
        classes = np.where(np.fmod(x, step) == 0, j, classes)
    return np.bincount(classes, minlength=len(steps))


def whole_numbers(edges: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last whole number of each bin ``idx`` over ``edges``, as an integer
    :class:`~tabsynth.domain.BinnedCodec` decodes them: half-open bins, the last one closed.
    ``last < first`` where a bin holds none."""
    lo, hi = edges[idx], edges[idx + 1]
    first = np.ceil(lo)
    last = np.where(idx == edges.size - 2, np.floor(hi), np.ceil(hi) - 1)
    return first, last


def in_wide_bins(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Which ``values`` (finite) fall in a bin of more than one whole number: the others decode
    exactly whatever the weights (a frequent value's bin, a one-integer spike)."""
    idx = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, edges.size - 2)
    first, last = whole_numbers(edges, idx)
    return last > first


def observed(values: np.ndarray, edges: np.ndarray, lower: float, upper: float) -> Steps:
    """Non-private (step, weight) pairs: the class counts of the values in bins of more than
    one whole number; none where the ladder has one step."""
    steps = ladder(lower, upper)
    if steps.size == 1:
        return ()
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    counts = class_counts(x[in_wide_bins(x, edges)], steps).astype(float)
    return tuple(zip(steps.tolist(), counts.tolist(), strict=True))


def _multiples(first: np.ndarray, last: np.ndarray, step: float) -> np.ndarray:
    return np.maximum(np.floor(last / step) - np.ceil(first / step) + 1, 0)


def _nth_member(
    first: np.ndarray, last: np.ndarray, step: np.ndarray, ratio: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """A uniform multiple k·step in [first, last] with k not a multiple of ``ratio`` (the next
    step over this one; 0 for the top step, which excludes nothing), from uniforms ``u``."""
    low, high = np.ceil(first / step), np.floor(last / step)
    top = ratio == 0
    r = np.where(top, 2, ratio)  # placeholder where top: its result is not used
    skipped = np.where(top, 0, np.floor(high / r) - np.ceil(low / r) + 1)
    m = np.floor(u * (high - low + 1 - skipped))
    # f(x) = x - floor(x / r) counts the non-multiples of r up to x; the one at count T is
    # T + floor((T - 1) / (r - 1))
    target = (low - 1) - np.floor((low - 1) / r) + m + 1
    k = np.where(top, low + m, target + np.floor((target - 1) / (r - 1)))
    return k * step


def draw(
    first: np.ndarray,
    last: np.ndarray,
    steps: np.ndarray,
    weights: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """One whole number in each ``[first, last]`` (whole-number bounds, ``first <= last``).

    Each whole number's odds are its class's weight over the class's share of all whole
    numbers (1/5 - 1/10 = 1/10 for the multiples of 5 that are not of 10): how much rounder
    than chance the rows are. A class is drawn with those odds times its members in the range,
    then a uniform member of it there (a multiple of its step that is not one of the next
    step's). Values of no particular roundness, decoded with the weights counted off them,
    thus come back uniform; where a bin holds one multiple of 1,000 and a class weight says
    such values are 100 times likelier than chance, that one value takes most of the bin
    (as a spike at 3,000 does among payments). Where no class with weight has a member in
    the range, the draw is uniform over it, as without weights.
    """
    ranges, inverse = np.unique(np.stack([first, last], axis=1), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    lows, highs = ranges[:, 0], ranges[:, 1]
    multiples = np.stack([_multiples(lows, highs, s) for s in steps], axis=1)
    members = multiples - np.concatenate([multiples[:, 1:], np.zeros((len(ranges), 1))], axis=1)
    chance = 1 / steps - np.append(1 / steps[1:], 0.0)  # each class's share of the integers
    odds = members * (weights / chance)
    cumulative = np.cumsum(odds, axis=1)
    total = cumulative[:, -1]
    # the last class with odds: where pick * total rounds up to the total, no further
    top = len(steps) - 1 - np.argmax(odds[:, ::-1] > 0, axis=1)
    pick, u = rng.random(first.shape), rng.random(first.shape)
    below = (cumulative[inverse] <= (pick * total[inverse])[:, None]).sum(axis=1)
    chosen = np.minimum(below, top[inverse])
    ratios = np.append(steps[1:] / steps[:-1], 0.0)
    values = _nth_member(first, last, steps[chosen], ratios[chosen], u)
    uniform = first + np.floor(u * (last - first + 1))
    return np.where(total[inverse] > 0, values, uniform)
