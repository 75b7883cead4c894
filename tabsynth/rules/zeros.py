"""Structural zeros: the cells of a marginal model that the declared rules make impossible.

A marginal model (MST, AIM) lives on the encoder's codes. A rule that reads only columns
whose codes each stand for one value (categories, booleans, "missing", a point bin) rules out
whole cells of the marginal over those columns: ``relationship == Husband`` with
``sex == Female``, ``diabetesMed == No`` with ``insulin == Steady``. Private-PGM then
estimates the distribution *with those cells fixed at zero* (:func:`log_mask` is added to the
log-potentials, see :func:`tabsynth.synthesizers.marginal.estimate`): the mass that the
noisy measurements put there is moved to the valid cells by the fit, instead of being cut
from the fitted model by rejection at sampling, which made the rows that satisfy a rule's
condition rarer than in the real table.

A cell is a zero only when *every* value its codes can decode to breaks the rule: a numeric
bin of several values, or the "other" code, whose value is unknown, is never a zero. Rows
those cells produce that break a rule are still redrawn by :mod:`tabsynth.rules.enforce`.

The masks read the rules and the encoder's domain only - the declared public metadata, or
the domain the fit released under DP - never the rows: they cost no privacy budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tabsynth.cells import coarse_sizes, fine_to_coarse
from tabsynth.domain import BinnedCodec, BooleanCodec, CategoryCodec, Codec
from tabsynth.rules.check import Table, satisfied

if TYPE_CHECKING:
    from tabsynth.domain import DomainEncoder
    from tabsynth.metadata import Metadata

#: Largest marginal (in cells) a rule is turned into zeros on; wider rules are only enforced
#: on sampling (the mask is as large as the marginal, and the model's tables grow with it).
MAX_CELLS = 1 << 16
#: Log-potential of an impossible cell. Finite, so that a slice of impossible cells sums to a
#: finite log-mass instead of NaN; ``exp`` of it is exactly 0 in float64.
IMPOSSIBLE = -1e6


@dataclass(frozen=True)
class StructuralZero:
    """The cells of the marginal on ``clique`` (encoder column positions, increasing) that
    the rules allow: ``allowed`` has one axis per column, over that column's codes."""

    clique: tuple[int, ...]
    allowed: np.ndarray

    def log_mask(self) -> np.ndarray:
        """0 on allowed cells, :data:`IMPOSSIBLE` on the others: a fixed log-potential."""
        return np.where(self.allowed, 0.0, IMPOSSIBLE)

    def coarsened(self, maps: Sequence[np.ndarray]) -> StructuralZero:
        """The zero on merged codes (``maps[k]``: this clique's ``k``-th column's codes to the
        merged ones, as MST's compression): a merged cell is allowed when any of its cells is."""
        sizes = coarse_sizes(maps)
        merged = np.zeros(math.prod(sizes), dtype=bool)
        np.logical_or.at(merged, fine_to_coarse(maps), self.allowed.ravel())
        return StructuralZero(self.clique, merged.reshape(sizes))


def structural_zeros(metadata: Metadata, encoder: DomainEncoder) -> list[StructuralZero]:
    """One :class:`StructuralZero` per set of columns that some rule rules cells out of (rules
    on the same columns are combined), for the rules of ``metadata`` that read encoded
    columns only and whose marginal has at most :data:`MAX_CELLS` cells."""
    position = {name: i for i, name in enumerate(encoder.columns)}
    masks: dict[tuple[int, ...], np.ndarray] = {}
    for rule in metadata.rules:
        if rule.derived is not None or any(n not in position for n in rule.columns):
            continue  # derived columns are computed on sampling; they are not in the model
        names = sorted(set(rule.columns), key=position.__getitem__)
        codecs = [encoder.codecs[n] for n in names]
        if math.prod(c.size for c in codecs) > MAX_CELLS:
            continue
        exact = [_exact_codes(c) for c in codecs]
        if not all(e.any() for e in exact):
            continue
        grid = np.indices(tuple(c.size for c in codecs)).reshape(len(codecs), -1)
        known = np.all([e[g] for e, g in zip(exact, grid, strict=True)], axis=0)
        rng = np.random.default_rng(0)  # exact codes decode to one value: no draw is used
        frame = pd.DataFrame(
            {
                n: c.decode(np.where(known, g, np.flatnonzero(e)[0]), rng).reset_index(drop=True)
                for n, c, e, g in zip(names, codecs, exact, grid, strict=True)
            }
        )
        allowed = ~known | satisfied(rule, Table(frame, metadata))
        if allowed.all():
            continue
        clique = tuple(position[n] for n in names)
        shaped = allowed.reshape(tuple(c.size for c in codecs))
        masks[clique] = masks[clique] & shaped if clique in masks else shaped
    return [StructuralZero(c, m) for c, m in sorted(masks.items())]


def _exact_codes(codec: Codec) -> np.ndarray:
    """Which codes of ``codec`` decode to a single known value (or to missing)."""
    if isinstance(codec, BooleanCodec):
        return np.ones(codec.size, dtype=bool)
    if isinstance(codec, CategoryCodec):
        out = np.ones(codec.size, dtype=bool)
        if codec.other_code is not None:
            out[codec.other_code] = False
        return out
    if isinstance(codec, BinnedCodec):
        lo, hi = codec.edges[:-1], codec.edges[1:]
        single = lo == hi
        if codec.integer:
            last = np.where(np.arange(codec.bins) == codec.bins - 1, np.floor(hi), np.ceil(hi) - 1)
            single |= last <= np.ceil(lo)
        return np.concatenate([single, [True] if codec.nullable else []]).astype(bool)
    return np.zeros(codec.size, dtype=bool)
