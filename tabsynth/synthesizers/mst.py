"""MST: a maximum spanning tree of 2-way marginals (McKenna, Miklau & Sheldon 2021).

"Winning the NIST Contest: A scalable and general approach to differentially private synthetic
data" (Journal of Privacy and Confidentiality 11(3)). After domain estimation, the model's zCDP
budget ρ is split in three equal parts:

1. **measure** every 1-way marginal (Gaussian, ρ/(3d) each), then *compress* each column:
   codes whose noisy count is below 3σ are merged into one code, because a 2-way marginal
   over near-empty codes would measure mostly noise;
2. **select** d − 1 pairs forming a spanning tree, Kruskal-style: each edge is drawn by the
   exponential mechanism among the pairs joining two components, scored by the L1 distance
   between the pair's true marginal and its estimate from the 1-way measurements (sensitivity
   1: one row moves one cell by one), ρ/(3(d − 1)) each (less :data:`BAND_CHOICE_SHARE` of
   it with ``band_pairs`` and two ordered columns). The tree is where independence fails
   most;
3. **measure** the d − 1 selected 2-way marginals (Gaussian, ρ/(3(d − 1)) each); with
   ``band_pairs``, a pair of two ordered columns whole or on band cells, as an exponential
   mechanism picked with :data:`BAND_CHOICE_SHARE` of step 2's budget
   (:mod:`tabsynth.synthesizers.bands`).

Private-PGM estimates the distribution from all measurements, with the cells that the
declared rules make impossible held at zero (:mod:`tabsynth.rules.zeros`); samples are drawn
from it and merged codes are split back in proportion to their noisy 1-way counts
(post-processing).
With two columns the only tree is the one edge, so nothing is selected and ρ is split in
halves; with one column ρ measures its 1-way marginal.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
from tqdm.auto import tqdm

from tabsynth.domain import DEFAULT_BINS, BinnedCodec, DomainEncoder
from tabsynth.errors import ParameterError
from tabsynth.metadata import OutOfBounds
from tabsynth.privacy import NoiseSource, PrivacyLedger, exponential_mechanism
from tabsynth.rules.zeros import structural_zeros
from tabsynth.synthesizers.aim_resolution import coarse_maps
from tabsynth.synthesizers.bands import band_index, rank_intervals
from tabsynth.synthesizers.dp_base import DEFAULT_DELTA, check_count
from tabsynth.synthesizers.dp_domain import Binning
from tabsynth.synthesizers.marginal import (
    SUPPORT_SIGMAS,
    GraphicalModel,
    MarginalSynthesizer,
    Measurement,
    Released,
    data_marginal,
    estimate,
    estimate_total,
    measure,
    sample_rows,
    unused_codes,
)

#: Share of the selection's budget that picks how each pair of two ordered columns would be
#: measured (all cells or a band, :meth:`MSTSynthesizer._bands`); reserved only where two
#: ordered columns exist. Set at 5 % without a sweep: the choice is seldom close - a band's
#: error differs from the whole marginal's by thousands of counts on credit.
BAND_CHOICE_SHARE = 0.05


class MSTSynthesizer(MarginalSynthesizer):
    """(ε, δ)-DP synthesizer measuring 1-way marginals and a spanning tree of 2-way marginals.

    Parameters
    ----------
    epsilon, delta, budget_split, bins, binning, seed, noise_seed, on_out_of_bounds:
        See :class:`~tabsynth.synthesizers.dp_base.DPSynthesizer`.
    max_iters:
        Mirror-descent iterations of the final Private-PGM estimate.
    band_pairs:
        Measure a selected pair of two ordered columns (8 bins or more) on band cells where
        that pays: each cell near the rising or the falling diagonal of their ranks on its
        own, the rest merged into about 8 × 8 coarse cells (:mod:`tabsynth.synthesizers.bands`).
        An exponential mechanism picks, per pair of ordered columns, the whole marginal or
        either band, with :data:`BAND_CHOICE_SHARE` of the selection's budget. Why: the
        tree's pairs of numbers are mostly columns that move together, whose rows lie near
        one diagonal; the whole marginal spreads the same noise over cells that hold none.
        Measured at ε = 1 (``benchmarks/results/band_pairs/``): Taiwan credit +30 to +40
        k-marginal points, Adult −0.1 to +2.1, diabetes130 +0.0 to +0.4, German credit +2.5
        to +15. Tables of two columns have no selection to take the share from: their one
        pair is measured whole.

    Examples
    --------
    >>> import pandas as pd
    >>> n = 10_000  # enough rows for the domain's noisy counts to clear their thresholds
    >>> df = pd.DataFrame({"a": ["x", "y"] * (n // 2), "b": list(range(10)) * (n // 10)})
    >>> synth = MSTSynthesizer(epsilon=1.0, max_iters=50).fit(df)
    >>> synth.sample(5, seed=0).columns.tolist()
    ['a', 'b']
    >>> synth.privacy.spent_epsilon <= 1.0 + 1e-9
    True
    """

    name: ClassVar[str] = "mst"

    def __init__(
        self,
        epsilon: float,
        delta: float = DEFAULT_DELTA,
        *,
        max_iters: int = 2000,
        band_pairs: bool = True,
        budget_split: float | None = None,
        bins: int = DEFAULT_BINS,
        binning: Binning = "quantile",
        seed: int | None = None,
        noise_seed: int | None = None,
        on_out_of_bounds: OutOfBounds = "error",
    ):
        super().__init__(
            epsilon,
            delta,
            budget_split=budget_split,
            bins=bins,
            binning=binning,
            seed=seed,
            noise_seed=noise_seed,
            on_out_of_bounds=on_out_of_bounds,
        )
        self.max_iters = max_iters
        self.band_pairs = band_pairs

    def _check_params(self, n_rows: int) -> None:
        super()._check_params(n_rows)
        check_count("max_iters", self.max_iters)
        if not isinstance(self.band_pairs, bool):
            raise ParameterError(f"band_pairs must be True or False, got {self.band_pairs!r}")

    def _fit_codes(
        self, codes: np.ndarray, encoder: DomainEncoder, ledger: PrivacyLedger, noise: NoiseSource
    ) -> None:
        names = encoder.columns
        shape = [encoder.sizes[c] for c in names]
        d = len(shape)
        rho = ledger.remaining_rho()
        parts = 1 if d == 1 else 2 if d == 2 else 3
        sigma_one = math.sqrt(d / (2 * rho / parts))
        one_way = [
            measure(codes, shape, (i,), sigma_one, names=names, ledger=ledger, noise=noise)
            for i in range(d)
        ]
        merge = [compression(m.values, sigma_one) for m in one_way]
        small = np.column_stack([m[codes[:, i]] for i, m in enumerate(merge)])
        small_shape = [int(m.max()) + 1 for m in merge]
        measurements = [compress_measurement(m, k) for m, k in zip(one_way, merge, strict=True)]
        if d >= 2:
            sigma_two = math.sqrt((d - 1) / (2 * rho / parts))
            ranks = [None] * d
            if self.band_pairs and d >= 3:
                ranks = self._ranks(encoder, one_way, merge)
            # reserved only where two ordered columns could make an edge (known by now)
            choice = rho / 3 * BAND_CHOICE_SHARE if sum(r is not None for r in ranks) > 1 else 0.0
            if d >= 3:
                edges = self._select(
                    small, small_shape, measurements, rho / 3 - choice, ledger, noise
                )
            else:
                edges = [(0, 1)]
            bands = {}
            if choice:
                bands = self._bands(
                    small, small_shape, measurements, edges, ranks, sigma_two, choice, names,
                    ledger, noise,
                )  # fmt: skip
            measurements += [
                measure(
                    small,
                    small_shape,
                    e,
                    sigma_two,
                    names=names,
                    ledger=ledger,
                    noise=noise,
                    index=bands.get(e),
                )
                for e in edges
            ]
        self.released_ = tuple(Released.direct(m, shape) for m in one_way) + tuple(
            Released(m, (merge[m.clique[0]], merge[m.clique[1]])) for m in measurements[d:]
        )
        zeros = [  # cells the declared rules rule out, on the compressed codes
            z.coarsened([merge[a] for a in z.clique])
            for z in structural_zeros(self.metadata_, encoder)
        ]
        with tqdm(total=self.max_iters, desc="MST estimation", disable=None, leave=False) as bar:
            model = estimate(
                small_shape, measurements, iters=self.max_iters, progress=bar.update, zeros=zeros
            )
        unused = unused_codes(encoder, one_way)
        self.expand_ = [expansion(m, k, u) for m, k, u in zip(one_way, merge, unused, strict=True)]
        used = {
            i: t.sum(axis=1) > 0 for i, t in enumerate(self.expand_) if t.sum(axis=1).min() == 0
        }
        self.model_ = model.condition(used)

    @staticmethod
    def _ranks(
        encoder: DomainEncoder, one_way: list[Measurement], merge: list[np.ndarray]
    ) -> list[np.ndarray | None]:
        """Per column, the rank intervals (:func:`~.bands.rank_intervals`) of its ordered
        bins that kept a compressed code of their own - compressed codes 0, 1, ... in order;
        few or none where compression merged most bins, whose band is then mostly coarse
        cells - or None (no order, or too few bins to have ranks). Post-processing of the
        noisy 1-way marginals. Which columns have ranks does not follow compression, so that
        which pairs get a pick depends only on the encoder and, where a column's noisy counts
        are all at or below 0, on its released 1-way marginal."""
        out: list[np.ndarray | None] = []
        for codec, m, mapping in zip(encoder.codecs.values(), one_way, merge, strict=True):
            ranks = rank_intervals(m.values, codec.bins if isinstance(codec, BinnedCodec) else None)
            out.append(None if ranks is None else ranks[kept_codes(mapping)[: len(ranks)]])
        return out

    @staticmethod
    def _bands(
        codes: np.ndarray,
        shape: list[int],
        compressed: list[Measurement],
        edges: list[tuple[int, int]],
        ranks: list[np.ndarray | None],
        sigma: float,
        rho: float,
        names: list[str],
        ledger: PrivacyLedger,
        noise: NoiseSource,
    ) -> dict[tuple[int, int], np.ndarray]:
        """How to measure each tree edge of two ordered columns: all its cells, or band cells
        along the rising or the falling diagonal (:mod:`~.bands`), where they merge cells.
        The exponential mechanism picks on AIM's score: the independent model's L1 error on
        the option's cells, less the error a measurement with ``sigma`` would itself leave
        there (``sqrt(2/π) σ`` a cell). One row moves one cell of one option's error by 1:
        sensitivity 1. Every pair of ordered columns gets a pick, sharing ``rho``, not only
        the tree's, so that the ledger's entries follow the encoder and the released 1-way
        marginals, not the tree (a pair whose bands merge nothing picks the whole marginal,
        its only option). Picking for the tree's pairs alone would be as private (the tree
        is a release) and give each pick several times the budget; measured in a draft, it
        scored credit no better (693.1, 693.6, 700.5 against 697.0, 692.9, 696.0, seeds
        1-3, ``benchmarks/results/band_pairs/mst_tree_picks.txt``)."""
        ordered = [i for i, r in enumerate(ranks) if r is not None]
        banded = list(itertools.combinations(ordered, 2))
        cuts = coarse_maps(compressed, [None if r is None else len(r) for r in ranks])
        bias = math.sqrt(2 / math.pi) * sigma
        out = {}
        for (i, j), diff in independence_gaps(codes, shape, compressed, banded):
            options: list[np.ndarray | None] = [None]
            # a column whose compression merged all its ordered bins has no band (both
            # directions would be its coarse cells)
            directions = (False, True) if len(ranks[i]) and len(ranks[j]) else ()  # type: ignore[arg-type]
            for falling in directions:
                index = band_index(
                    (ranks[i], ranks[j]), (shape[i], shape[j]), (cuts[i], cuts[j]),  # type: ignore[arg-type]
                    falling=falling,
                )  # fmt: skip
                if int(index.max()) + 1 < index.size:
                    options.append(index)
            scores = [
                float(np.abs(diff).sum()) - bias * diff.size
                if o is None
                else float(np.abs(np.bincount(o, weights=diff)).sum()) - bias * (int(o.max()) + 1)
                for o in options
            ]
            pick = exponential_mechanism(
                scores,
                sensitivity=1.0,
                rho=rho / len(banded),
                ledger=ledger,
                purpose=f"how to measure ({names[i]!r}, {names[j]!r}): all cells or a band",
                phase="select",
                noise=noise,
            )
            if options[pick] is not None and (i, j) in edges:
                out[(i, j)] = options[pick]
        return out

    def _select(
        self,
        codes: np.ndarray,
        shape: list[int],
        one_way: list[Measurement],
        rho: float,
        ledger: PrivacyLedger,
        noise: NoiseSource,
    ) -> list[tuple[int, int]]:
        """Kruskal's algorithm with each edge chosen by the exponential mechanism, scored
        against the independent model that best fits the 1-way measurements."""
        d = len(shape)
        pairs = [(i, j) for i in range(d) for j in range(i + 1, d)]
        score = {
            pair: float(np.abs(gap).sum())
            for pair, gap in independence_gaps(codes, shape, one_way, pairs)
        }
        component = list(range(d))
        chosen: list[tuple[int, int]] = []
        for _ in range(d - 1):
            open_pairs = [p for p in pairs if component[p[0]] != component[p[1]]]
            pick = open_pairs[
                exponential_mechanism(
                    [score[p] for p in open_pairs],
                    sensitivity=1.0,
                    rho=rho / (d - 1),
                    ledger=ledger,
                    purpose="an edge of the spanning tree (L1 error of the independent model)",
                    phase="select",
                    noise=noise,
                )
            ]
            old, new = component[pick[0]], component[pick[1]]
            component = [new if c == old else c for c in component]
            chosen.append(pick)
        return chosen

    def _sample_codes(
        self, n: int, rng: np.random.Generator, model: GraphicalModel | None = None
    ) -> np.ndarray:
        small = (model or self.model_).sample(n, rng)
        codes = np.empty_like(small)
        for i, table in enumerate(self.expand_):
            codes[:, i] = table.argmax(axis=1)[small[:, i]]
            spread = ((table > 0).sum(axis=1) > 1)[small[:, i]]
            if spread.any():
                codes[spread, i] = sample_rows(table, small[spread, i], rng)
        return codes

    def _model_mask(self, column: int, code: int) -> np.ndarray:
        return self.expand_[column][:, code] > 0

    def _get_model_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state, arrays = super()._get_model_state()
        arrays.update({f"expand_{i}": table for i, table in enumerate(self.expand_)})
        return {**state, "columns": len(self.expand_)}, arrays

    def _set_model_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        super()._set_model_state(state, arrays)
        self.expand_ = [np.asarray(arrays[f"expand_{i}"], float) for i in range(state["columns"])]


def independence_gaps(
    codes: np.ndarray,
    shape: list[int],
    one_way: list[Measurement],
    pairs: list[tuple[int, int]],
) -> Iterator[tuple[tuple[int, int], np.ndarray]]:
    """For each pair, its exact marginal (flat, C order) less that of the independent model
    that best fits the 1-way measurements: the private input of MST's scores, one pair at a
    time so that a wide table's pairs are never all held at once."""
    total = estimate_total(one_way)
    alone = [simplex_fit(m, total) / total for m in one_way]
    for i, j in pairs:
        yield (
            (i, j),
            data_marginal(codes, shape, (i, j)) - total * np.outer(alone[i], alone[j]).ravel(),
        )


def simplex_fit(m: Measurement, total: float) -> np.ndarray:
    """The non-negative counts summing to ``total`` closest to a 1-way measurement in the
    variance-weighted L2 norm: ``max(0, y - lambda * var)``, with lambda found by bisection."""
    var = np.broadcast_to(np.square(m.stddev), m.values.shape)

    def mass(lam: float) -> float:
        return float(np.maximum(m.values - lam * var, 0.0).sum())

    lo, hi = -1.0, 1.0
    while mass(lo) < total:
        lo *= 2
    while mass(hi) > total:
        hi *= 2
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if mass(mid) > total else (lo, mid)
    return np.maximum(m.values - 0.5 * (lo + hi) * var, 0.0)


def compression(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """Map from a column's codes to compressed codes: codes with a noisy count of at least
    ``SUPPORT_SIGMAS`` σ keep a code each (in order); the others share one last code."""
    kept = noisy >= SUPPORT_SIGMAS * sigma
    mapping = np.cumsum(kept) - 1
    mapping[~kept] = int(kept.sum())
    return mapping.astype(np.int64)


def kept_codes(mapping: np.ndarray) -> np.ndarray:
    """Which codes kept a compressed code of their own in a :func:`compression` map: all of
    them when it is the identity, else all but the members of the last, merged code."""
    if np.array_equal(mapping, np.arange(mapping.size)):
        return np.ones(mapping.size, dtype=bool)
    return mapping != mapping.max()


def compress_measurement(m: Measurement, mapping: np.ndarray) -> Measurement:
    """The 1-way measurement on compressed codes: a merged code's value is the sum of its
    members' noisy counts, with the variance of that sum."""
    size = int(mapping.max()) + 1
    values = np.bincount(mapping, weights=m.values, minlength=size)
    members = np.bincount(mapping, minlength=size)
    return Measurement(m.clique, values, m.stddev * np.sqrt(members))


def expansion(m: Measurement, mapping: np.ndarray, unused: np.ndarray) -> np.ndarray:
    """Row-stochastic table from compressed codes back to original codes. A merged code splits
    in proportion to its members' noisy counts (clipped at 0; uniform if all are 0), never
    into ``unused`` codes; a merged code with only unused members gets an empty row (the
    caller conditions the model on never drawing it)."""
    size = int(mapping.max()) + 1
    member = np.zeros((size, mapping.size))
    member[mapping, np.arange(mapping.size)] = 1.0
    member[:, unused] = 0.0
    table = member * np.maximum(m.values, 0.0)
    empty = table.sum(axis=1) == 0
    table[empty] = member[empty]
    mass = table.sum(axis=1, keepdims=True)
    return np.divide(table, mass, out=np.zeros_like(table), where=mass > 0)
