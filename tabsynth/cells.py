"""Flat cell indexes of marginals over encoded codes, on the codes themselves or coarser ones.

Several parts count a marginal on coarser codes than the model's: MST's merged codes, AIM's
group cells and coarse pairs, the rules' zeros after MST's merge, an audit reading a released
marginal. Each gives, per attribute of the marginal, a map from the encoder's codes to the
coarse codes; these helpers turn such maps into flat (C order) cell indexes and counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def coarse_sizes(maps: Sequence[np.ndarray]) -> tuple[int, ...]:
    """Number of coarse codes per attribute (coarse codes run from 0)."""
    return tuple(int(m.max()) + 1 for m in maps)


def fine_to_coarse(maps: Sequence[np.ndarray]) -> np.ndarray:
    """For each cell of the fine marginal (C order), the flat index of the coarse cell that
    holds it."""
    grids = np.meshgrid(*maps, indexing="ij")
    return np.ravel_multi_index(tuple(g.ravel() for g in grids), coarse_sizes(maps))


def row_cells(codes: np.ndarray, columns: Sequence[int], maps: Sequence[np.ndarray]) -> np.ndarray:
    """The flat coarse cell of each row of ``codes`` (rows by encoded columns) in the marginal
    on ``columns``."""
    mapped = tuple(m[codes[:, a]] for m, a in zip(maps, columns, strict=True))
    return np.ravel_multi_index(mapped, coarse_sizes(maps))


def cell_counts(
    codes: np.ndarray, columns: Sequence[int], maps: Sequence[np.ndarray]
) -> np.ndarray:
    """Exact counts of the marginal on ``columns`` over the coarse cells of ``maps``, flat in
    C order (the private input of a coarse measurement)."""
    size = int(np.prod(coarse_sizes(maps)))
    return np.bincount(row_cells(codes, columns, maps), minlength=size).astype(float)
