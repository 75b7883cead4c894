"""Round values: how often an integer column's values are multiples of 5, 10, 50, 100, ...

Amounts, limits and counts that people write down pile up on round numbers: every credit limit
in Taiwan credit is a multiple of 10,000, and about a fifth of the payments that are neither 0
nor a released frequent value are multiples of 1,000. A bin decoded uniformly spreads its rows
over all of its whole numbers (57,176 to 69,033, where nearly every row holds 60,000), and a
scorer or an analyst's ``groupby`` whose bins start at round values sees those rows moved.

A column's *steps* are the ladder 1, 5, 10, 50, 100, ... up to the larger magnitude of its
bounds; a value's *class* is the largest step that divides it (each step divides the next, so
the classes partition the whole numbers; 0 is in the top class). The share of the rows in each
class, the step *weights*, let decoding draw a class and then a multiple of its step inside the
bin, or of the next finer step where the bin holds none. On Taiwan credit's decoded training
rows that recovered 10-14 of the 42 points of 3-way k-marginal that uniform decoding loses
(``benchmarks/results/round_values/``).

The ladder follows from the column's bounds (public, or released before the weights), and each
row falls in one class, so under DP the class counts are one Gaussian histogram of L2
sensitivity 1 (:mod:`~tabsynth.synthesizers.dp_domain`) and decoding with them is
post-processing. The non-private model takes the exact counts (:func:`observed`).
"""

from __future__ import annotations

import numpy as np

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


def observed(
    values: np.ndarray, edges: np.ndarray, lower: float, upper: float
) -> tuple[tuple[float, float], ...]:
    """Non-private (step, weight) pairs: the class counts of the values in bins of more than
    one whole number (a bin of one decodes exactly, whatever the weights); none where the
    ladder has one step."""
    steps = ladder(lower, upper)
    if steps.size == 1:
        return ()
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    bin_of = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)
    wide = np.ceil(edges[bin_of + 1]) - np.ceil(edges[bin_of]) > 1
    counts = class_counts(x[wide], steps).astype(float)
    return tuple(zip(steps.tolist(), counts.tolist(), strict=True))


def draw(
    first: np.ndarray,
    last: np.ndarray,
    steps: np.ndarray,
    weights: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """One whole number in each ``[first, last]`` (whole-number bounds, ``first <= last``):
    a class drawn with ``weights`` (positive sum), then a uniform multiple of its step inside
    the range, falling to finer steps until one has a multiple there (step 1 always has)."""
    chosen = rng.choice(len(steps), size=first.shape, p=weights / weights.sum())
    u = rng.random(first.shape)
    values = first + np.floor(u * (last - first + 1))
    for j in range(len(steps) - 1, 0, -1):
        low, high = np.ceil(first / steps[j]), np.floor(last / steps[j])
        mine = chosen == j
        fits = mine & (high >= low)
        chosen = np.where(mine & ~fits, j - 1, chosen)
        values = np.where(fits, (low + np.floor(u * (high - low + 1))) * steps[j], values)
    return values
