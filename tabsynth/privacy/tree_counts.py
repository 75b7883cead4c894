"""Cell counts measured through a tree of sums, so that every prefix of them is accurate.

:func:`~tabsynth.privacy.dp_quantiles` reads quantiles off cumulative counts. Noise of σ added
to each of B cells leaves the count below cell k off by about sqrt(k)·σ: 16σ at the top of a
256-cell grid. Where DP bounds leave a long empty range above the data (Adult's ``fnlwgt``
reaches 1.5 million, its bound 2^21), the fitted CDF keeps that walk's upward excursions, the
total comes out a few percent too large, and every quantile slides down: at ε = 1 the last of
32 edges fell at the 92nd percentile and decoded 7 % of the rows above the real 99.5th.

A ``branching``-ary tree over the cells (the root, b nodes, b² nodes, ..., the cells) measures
every node's count instead. A row adds 1 to one node per level, so L levels have L2 sensitivity
sqrt(L) and cost L/(2σ²) at noise σ per node. Any prefix is a sum of at most b − 1 nodes per
level, and the least-squares cells (Hay, Rastogi, Miklau & Suciu 2010, "Boosting the accuracy of
differentially private histograms through consistency") keep every prefix accurate: for 256
cells, b = 4 and the same ρ, its error has a standard deviation of 1.7 to 3.8 times the σ a
flat grid adds to each cell, against sqrt(k) times, up to 16. Branching 2 does about as well
(3.8 at worst) with twice the levels, 16 worse (4.8).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Children per node of dp_quantiles' tree.
BRANCHING = 4


def depth(cells: int, branching: int = BRANCHING) -> int:
    """Levels of the smallest complete tree with at least ``cells`` leaves, root included."""
    levels, leaves = 1, 1
    while leaves < cells:
        levels, leaves = levels + 1, leaves * branching
    return levels


def level_counts(counts: np.ndarray, branching: int = BRANCHING) -> list[np.ndarray]:
    """Every node's count, root first, leaves last. Cells past ``counts`` up to a power of
    ``branching`` are public and empty (count 0), so the tree is complete. The fit does not
    impose their zeros, so a grid that is not a power of the branching is a little less
    accurate (the total's standard error is 1.36 node σ at 100 cells, 0.87 at 256) and may
    have a level more: dp_quantiles' callers use 256 or 1024 cells."""
    leaves = branching ** (depth(counts.size, branching) - 1)
    level = np.concatenate([counts, np.zeros(leaves - counts.size, dtype=counts.dtype)])
    levels = [level]
    while level.size > 1:
        level = level.reshape(-1, branching).sum(axis=1)
        levels.append(level)
    return levels[::-1]


def least_squares_cells(noisy: Sequence[np.ndarray], branching: int = BRANCHING) -> np.ndarray:
    """The leaf counts that best fit noisy counts of every node (root first, equal noise on
    each): the ordinary least-squares solution, in two linear passes (Hay et al. 2010, §4).

    Up the tree, each node's own count and its children's sum are averaged with the weights
    that minimise the variance of the node's estimate; down the tree, each parent's estimate
    is shared among its children so that they add up to it.
    """
    height = len(noisy)
    up = [np.asarray(level, dtype=float) for level in noisy]
    for index in range(height - 2, -1, -1):
        below = height - index  # levels from the leaves up to this one, itself included
        own = (branching**below - branching ** (below - 1)) / (branching**below - 1)
        children = up[index + 1].reshape(-1, branching).sum(axis=1)
        up[index] = own * up[index] + (1 - own) * children
    estimate = up[0]
    for index in range(1, height):
        siblings = up[index].reshape(-1, branching).sum(axis=1)
        estimate = up[index] + np.repeat((estimate - siblings) / branching, branching)
    return estimate
