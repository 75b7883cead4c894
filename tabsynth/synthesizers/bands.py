"""Band cells: a 2-way marginal of two ordered columns counted cell by cell near the diagonal
of their ranks, and on coarse cells everywhere else (AIM's and MST's ``band_pairs``).

Why. Monthly amounts, repeated scores, balances before and after: pairs of ordered columns
that move together hold most of their rows near the diagonal of their ranks. On Taiwan credit
(32 quantile bins a column) 80 % of the rows of two consecutive monthly bill amounts fall in
the 144 of 930 cells whose rank intervals lie within 0.05 of each other
(``benchmarks/results/band_pairs/band_mass.txt``). A Gaussian measurement leaves about σ of
error in every cell it counts, so the fine marginal spends most of its error where there are
no rows, and AIM's score - error minus ``sqrt(2/π) σ`` per cell - seldom pays for it; MST,
which measures its tree's pairs whatever they cost, pays it. The coarse variant
(:mod:`~tabsynth.synthesizers.aim_resolution`, about 8 × 8 cells) is cheap but blurs the
diagonal, where the rows are. A band measurement keeps each cell near the diagonal and merges
the others into the coarse cells they fall in: about a fifth of the fine cells, at full
resolution where the mass is.

Which cells are near the diagonal is read off the noisy 1-way marginals: bin i of a column
covers the ranks ``[F(i - 1), F(i)]`` of the column's noisy distribution over its ordered
bins, and a cell is in the band when its two rank intervals lie within :data:`WIDTH` of each
other; a falling band does the same with one column's ranks counted from the top, for pairs
where one rises as the other falls. Codes after the ordered bins ("missing", "other") are
never in a band. AIM offers the rising band beside the fine (and coarse) marginal and its
selection picks. MST (on tables of three columns or more) picks for each pair of ordered
columns among the whole marginal and both bands, with a small share of its selection budget,
and measures the tree's pairs as picked: a pair that follows neither diagonal most likely
keeps its fine measurement.

Privacy. The grouping is post-processing of released values and the public shape. It is a
partition of the marginal's cells - a row adds 1 to exactly one measured cell - so a Gaussian
measurement of it has L2 sensitivity 1, and AIM's score of it changes by at most the
candidate's weight when a row is added or removed; MST's choice scores the same way, with
weight 1. MST reads the ranks of the bins that kept a code of their own after its
compression, which is post-processing too.
"""

from __future__ import annotations

import numpy as np

from tabsynth.cells import fine_to_coarse

#: Largest gap, in ranks (fractions of the rows), between the intervals of a band cell's two
#: bins; 0.0 keeps only the cells whose intervals touch. On credit at ε = 1 (noise seed 1,
#: ``benchmarks/results/band_pairs/credit_settings.txt``) MST scored 686.6 at 0.0, 698.8 at
#: 0.05, 699.4 at 0.1 and 694.1 at 0.2 (671.3 on coarse cells alone); AIM 713.7 to 719.1
#: from 0.0 to 0.1, within its noise.
WIDTH = 0.05
#: Fewest ordered bins a column needs for band cells: with fewer, nearly every cell is near
#: the diagonal and the band merges little.
MIN_BINS = 8


def rank_intervals(noisy: np.ndarray, bins: int | None) -> np.ndarray | None:
    """Per ordered bin of a column, the interval of ranks ``[F(i - 1), F(i)]`` it covers in the
    column's noisy 1-way distribution over those bins (negative counts read as 0): an array of
    shape (bins, 2). None for a column without order, with fewer than :data:`MIN_BINS` bins, or
    whose noisy counts are all at or below 0."""
    if not bins or bins < MIN_BINS:
        return None
    share = np.maximum(np.asarray(noisy, dtype=float)[:bins], 0.0)
    total = share.sum()
    if total <= 0:
        return None
    cdf = np.concatenate([[0.0], np.cumsum(share) / total])
    return np.column_stack([cdf[:-1], cdf[1:]])


def band_index(
    ranks: tuple[np.ndarray, np.ndarray],
    sizes: tuple[int, int],
    coarse: tuple[np.ndarray | None, np.ndarray | None],
    *,
    falling: bool = False,
) -> np.ndarray:
    """Per cell of a pair's marginal (C order over ``sizes``), the measured cell it counts in:
    cells near the diagonal (see the module; with ``falling``, near the diagonal along which
    one column rises as the other falls) one each, the rest by the coarse cell of ``coarse``
    (per column a map from codes to coarse codes; None: every code its own). Measured cells
    are numbered band cells first, in C order, then merged cells by coarse cell."""
    ra, rb = ranks
    if falling:  # the second column's ranks counted from the top
        rb = 1.0 - rb[:, ::-1]
    gap = np.maximum(ra[:, None, 0] - rb[None, :, 1], rb[None, :, 0] - ra[:, None, 1])
    near = np.zeros(sizes, dtype=bool)
    near[: len(ra), : len(rb)] = gap <= WIDTH
    maps = tuple(
        np.arange(n, dtype=np.int64) if m is None else m for m, n in zip(coarse, sizes, strict=True)
    )
    flat = near.ravel()
    # band cells keep their fine number, the others take the fine count plus their coarse cell:
    # no two labels collide, and np.unique numbers them densely in that order
    labels = np.where(flat, np.arange(flat.size), flat.size + fine_to_coarse(maps))
    return np.unique(labels, return_inverse=True)[1].astype(np.int64)
