"""Coarse variants of AIM's 2-way candidates (``coarse_pairs``): the same marginal measured on
fewer, fuller cells.

Why. AIM scores a candidate by its error minus the error a measurement would itself leave,
``sqrt(2/π) σ`` per cell. At ε = 1 on Taiwan credit (24 columns, σ ≈ 126 in the first rounds)
a 2-way marginal of two 32-bin columns pays about 10⁵ for its 1,024 cells, more than a table
of 30,000 rows can be off (2n): AIM never measures how the six monthly bill amounts move
together, however strongly they do. Cut each column into about :data:`COARSE_CELLS` cells -
runs of adjacent bins of about equal mass for a binned column, its common values and one cell
for the rest otherwise - and the same marginal has 64 cells, a noise penalty 16 times smaller.
Private-PGM fits a coarse measurement through the merge
(:attr:`~tabsynth.synthesizers.marginal.Measurement.maps`); the detail inside a coarse cell
comes from the other measurements.

Each 2-way candidate is offered at both resolutions and the exponential mechanism picks among
all, so AIM's own score decides, round by round, whether detail or coverage pays more. Only
pairs: offering coarse 3-way marginals too scored lower on credit (682 against 698 with the
same noise) and grew the model faster.

Privacy. The cuts are computed from the noisy 1-way marginals and the public shape
(post-processing). A coarse marginal is a histogram - a row adds 1 to one cell - so its
Gaussian measurement has L2 sensitivity 1, and its score, like the fine one's, changes by at
most the candidate's weight when a row is added or removed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tabsynth.cells import coarse_sizes, fine_to_coarse
from tabsynth.synthesizers.aim_groups import coarse_cells
from tabsynth.synthesizers.bands import band_index
from tabsynth.synthesizers.marginal import Clique, Measurement

#: Cells per column of a coarse variant (at most; fewer where a value or bin holds more than
#: its share). 8 makes a pair of binned columns 64 cells where 32 bins make 1,024.
COARSE_CELLS = 8


@dataclass(frozen=True)
class Variant:
    """A candidate at one resolution: ``maps`` per attribute of ``clique`` from the model's
    codes to coarse codes (None: the model's own codes); ``index`` gives, per fine cell (C
    order), its coarse cell."""

    clique: Clique
    maps: tuple[np.ndarray, ...] | None
    index: np.ndarray | None
    cells: int

    @property
    def band(self) -> np.ndarray | None:
        """A band variant's grouping of the fine cells, as :func:`measure` takes it (None for
        the fine and coarse variants: their ``maps`` say it all)."""
        return self.index if self.maps is None else None

    def coarsen(self, table: np.ndarray) -> np.ndarray:
        """A table over the clique's fine cells, summed into this variant's cells."""
        flat = np.ravel(table)
        if self.index is None:
            return flat
        return np.bincount(self.index, weights=flat, minlength=self.cells)


def coarse_maps(
    one_way: Sequence[Measurement], binned: Sequence[int | None]
) -> list[np.ndarray | None]:
    """Per column, the map to its coarse cells, or None where cutting would not merge codes.

    ``one_way``: the noisy 1-way marginals (read as each column's distribution); ``binned``:
    per column its number of ordered bins, None for a column without order."""
    maps: list[np.ndarray | None] = []
    for m, bins in zip(one_way, binned, strict=True):
        total = float(np.maximum(m.values, 0.0).sum())
        mapping = coarse_cells(m.values, bins, total, total / COARSE_CELLS) if total > 0 else None
        merges = mapping is not None and int(mapping.max()) + 1 < len(m.values)
        maps.append(mapping if merges else None)
    return maps


def variants(
    clique: Clique,
    shape: Sequence[int],
    maps: Sequence[np.ndarray | None],
    ranks: Sequence[np.ndarray | None],
    *,
    coarse: bool,
) -> list[Variant]:
    """The candidate on the model's codes; for a 2-way marginal of which a column has a coarse
    map, on coarse cells (``coarse``); and for a pair of ordered columns with ``ranks``
    (:func:`~tabsynth.synthesizers.bands.rank_intervals`), on band cells along the rising
    diagonal. Not the falling one: offered too, it cost credit 1.7 to 11.1 points in each of
    five fits (``benchmarks/results/band_pairs/``), as more options spread the selection's
    choices; a pair that falls keeps its fine and coarse variants."""
    fine = Variant(clique, None, None, math.prod(shape[a] for a in clique))
    if len(clique) != 2:
        return [fine]
    out = [fine]
    a, b = clique
    if coarse and (maps[a] is not None or maps[b] is not None):
        cut = tuple(
            maps[x] if maps[x] is not None else np.arange(shape[x], dtype=np.int64) for x in clique
        )
        out.append(Variant(clique, cut, fine_to_coarse(cut), math.prod(coarse_sizes(cut))))
    ra, rb = ranks[a], ranks[b]
    if ra is not None and rb is not None:
        index = band_index((ra, rb), (shape[a], shape[b]), (maps[a], maps[b]))
        cells = int(index.max()) + 1
        if cells < index.size:
            out.append(Variant(clique, None, index, cells))
    return out
