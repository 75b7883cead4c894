"""Group rounds for AIM's ``group_share``: a few coarse (sensitive column, partner) marginals,
chosen for the smallest groups and measured before AIM's own rounds.

Why AIM alone misses small groups (``benchmarks/groups/results.md``): it scores a marginal by
its error in counts, and a group of a few hundred rows can move no marginal by more than twice
its size, far below the noise term of the score; and when a (group, column) marginal is
measured anyway, a small group's cells hold ~10 rows each against σ ≈ 25-100, so the
measurement flattens the group instead of sharpening it. The rounds here change both:

* **coarse cells** - each partner column is cut into cells that the smallest group is
  expected to fill above the noise: runs of adjacent bins for binned columns, and for the
  others every value the group is expected to fill, plus one cell for all the rest. "Other"
  in Adult is 55 % US-born where the table is 90 %: (race, US / not US) carries most of what
  its native_country mix differs by, where (race, 42 countries) buried it in noise.
  Expected fills come from the noisy 1-way marginals (post-processing of DP releases).
* **a score in the groups' own scale** - the error of the current model on the coarse
  (group, cell) counts, each group weighted by the smallest group's size over its own, so
  that a 400-row group's error counts as much as a 40,000-row group's relative error. The
  weights are at most 1 and each row falls in one cell of one group: sensitivity 1. The
  exponential mechanism picks one candidate per round (10 % of the round's budget, as in
  AIM), the Gaussian mechanism measures it (90 %), and the model is re-estimated.

Each coarse measurement is a histogram (every row adds 1 to one merged cell: L2 sensitivity
1). The cells, weights and noise scales follow from the schema, the domain, ρ and the noisy
1-way marginals; which candidate wins and the measured values follow the charged mechanisms.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tabsynth.cells import cell_counts, coarse_sizes
from tabsynth.privacy import NoiseSource, PrivacyLedger, exponential_mechanism, gaussian_counts
from tabsynth.synthesizers.marginal import SUPPORT_SIGMAS, GraphicalModel, Measurement

#: Rounds the group share is split over: each picks and measures one coarse marginal. Few, so
#: that each measurement's noise stays low enough for a small group's merged cells.
GROUP_ROUNDS = 3
#: A coarse cell should hold at least this many σ of the smallest group's expected rows.
CELL_SIGMAS = 2.0


@dataclass(frozen=True)
class Candidate:
    """A coarse (sensitive column, partner column) marginal: ``clique`` in increasing order,
    ``maps`` from each attribute's codes to its coarse codes (the identity for the sensitive
    column), ``sensitive`` the position of the sensitive attribute within the clique."""

    clique: tuple[int, int]
    maps: tuple[np.ndarray, np.ndarray]
    sensitive: int

    @property
    def sizes(self) -> tuple[int, int]:
        a, b = coarse_sizes(self.maps)
        return a, b

    def counts(self, codes: np.ndarray) -> np.ndarray:
        """Exact coarse counts (the private input), flattened in C order."""
        return cell_counts(codes, self.clique, self.maps)

    def by_group(self, table: np.ndarray, coarse: bool = False) -> np.ndarray:
        """A table over the clique's codes (or, ``coarse``, over its coarse cells) as coarse
        counts, groups by cells."""
        if coarse:
            out = table.reshape(self.sizes)
        else:
            out = np.zeros(self.sizes)
            np.add.at(out, np.ix_(self.maps[0], self.maps[1]), table)
        return out if self.sensitive == 0 else out.T


def coarse_cells(
    noisy: np.ndarray, binned: int | None, expected_rows: float, floor: float
) -> np.ndarray | None:
    """Map from a partner column's codes to coarse cells the smallest group is expected to fill
    with at least ``floor`` rows, if there are at least two such cells (else None).

    ``noisy`` is the column's noisy 1-way marginal, read as its distribution; the smallest
    group is expected to hold ``expected_rows`` times each share. ``binned``: the number of
    ordered bins of a binned column (its codes after them, e.g. "missing", join the last
    cell, or form their own), or None for a column without order.
    """
    share = np.maximum(noisy, 0.0)
    if share.sum() <= 0:
        return None
    expect = expected_rows * share / share.sum()
    mapping = np.zeros(len(noisy), dtype=np.int64)
    if binned:
        cell, filled = 0, 0.0
        for code in range(binned):
            if filled >= floor:
                cell, filled = cell + 1, 0.0
            mapping[code], filled = cell, filled + expect[code]
        if filled < floor and cell > 0:  # a thin last run joins the one before
            mapping[mapping == cell] = cell - 1
            cell -= 1
        for code in range(binned, len(noisy)):
            cell += expect[code] >= floor
            mapping[code] = cell
    else:
        kept = expect >= floor  # each common value its own cell, in code order; the rest one
        mapping[kept] = np.arange(int(kept.sum()))
        mapping[~kept] = int(kept.sum())
    return mapping if mapping.max() >= 1 else None


def group_rounds(
    codes: np.ndarray,
    shape: Sequence[int],
    names: Sequence[str],
    one_way: Sequence[Measurement],
    sensitive: Sequence[int],
    binned: Sequence[int | None],
    rho: float,
    model: GraphicalModel,
    refit: Callable[[Measurement, GraphicalModel], GraphicalModel],
    *,
    ledger: PrivacyLedger,
    noise: NoiseSource,
) -> GraphicalModel:
    """Spend ``rho`` in :data:`GROUP_ROUNDS` rounds on coarse (sensitive, partner) marginals;
    returns the model after the last round. ``refit`` adds a measurement and re-estimates
    from the previous model. ``binned`` gives per column its number of ordered bins (None:
    unordered codes)."""
    from tabsynth.synthesizers.aim import round_scales  # aim imports this module

    sigma, epsilon = round_scales(rho / GROUP_ROUNDS)  # AIM's measure/select split
    candidates: list[Candidate] = []
    weights: dict[int, np.ndarray] = {}
    for s in sensitive:
        m = one_way[s]
        floor = SUPPORT_SIGMAS * float(np.max(m.stddev))
        sizes = np.maximum(m.values, floor)  # groups the noise cannot tell apart count as floor
        present = m.values >= floor
        smallest = float(sizes[present].min()) if present.any() else floor
        weights[s] = np.minimum(smallest / sizes, 1.0)  # at most 1: sensitivity 1
        for a in range(len(shape)):
            if a == s:
                continue
            mapping = coarse_cells(one_way[a].values, binned[a], smallest, CELL_SIGMAS * sigma)
            if mapping is None:
                continue
            identity = np.arange(shape[s])
            clique, maps = ((s, a), (identity, mapping)) if s < a else ((a, s), (mapping, identity))
            candidates.append(Candidate(clique, maps, 0 if s < a else 1))
    if not candidates:
        return model
    truth = [c.by_group(c.counts(codes), coarse=True) for c in candidates]
    bias = math.sqrt(2 / math.pi) * sigma
    for _ in range(GROUP_ROUNDS):
        scores = []
        for c, exact in zip(candidates, truth, strict=True):
            error = np.abs(exact - c.by_group(model.project(c.clique))).sum(axis=1)
            # as in AIM: minus the error a measurement would leave, here per group
            scores.append(float(weights[c.clique[c.sensitive]] @ (error - bias * exact.shape[1])))
        pick = candidates[
            exponential_mechanism(
                scores,
                sensitivity=1.0,
                epsilon=epsilon,
                ledger=ledger,
                purpose="a coarse group marginal to measure (group-weighted error)",
                phase="select",  # what is measured next is post-processing of this choice
                noise=noise,
            )
        ]
        purpose = (
            "coarse marginal ("
            + ", ".join(repr(names[a]) for a in pick.clique)
            + f"; {pick.sizes[0]} x {pick.sizes[1]} cells)"
        )
        values = gaussian_counts(
            pick.counts(codes), sigma, ledger=ledger, purpose=purpose, phase="groups", noise=noise
        )
        model = refit(Measurement(pick.clique, values, float(sigma), pick.maps), model)
    return model
