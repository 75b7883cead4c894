"""AIM: an adaptive and iterative mechanism for workload-aware synthetic data.

McKenna, Mullins, Sheldon & Miklau (2022), "AIM: An Adaptive and Iterative Mechanism for
Differentially Private Synthetic Data", PVLDB 15(11), Algorithm 2. The workload W (by default
every 3-way marginal, optionally weighted, e.g. towards a target column) says which
statistics matter; AIM spends the model's zCDP budget ρ in rounds:

1. **initialise** - measure every 1-way marginal with σ₀ = sqrt(T / (2 · 0.9 · ρ)), where T
   (``max_rounds``, default 16·d) is the most rounds the budget can pay for; with
   ``group_share`` > 0, that share of ρ is set aside for a few coarse (sensitive column,
   column) marginals chosen for the smallest groups, measured next
   (:mod:`tabsynth.synthesizers.aim_groups`);
2. **select** - among the downward closure of W (every subset of a workload marginal,
   weighted by ``c_r = Σ_s w_s |r ∩ s|``; on wide tables a random ``max_candidates`` of
   them, drawn afresh each round without looking at the data), keep the candidates whose
   addition keeps the junction tree within ``(ρ used / ρ) · max_model_size`` MB, and draw
   one with the exponential mechanism (ε_t = sqrt(8 · 0.1 · ρ / T)) on the score
   ``c_r (||M_r(D) − M_r(p̂)||₁ − sqrt(2/π) σ_t n_r)``: the estimated error of the current
   model on r, minus the error a measurement with σ_t itself would leave (``n_r`` cells).
   Sensitivity ``max c_r``. A pair of ordered columns is also offered on band cells
   (``band_pairs``, :mod:`tabsynth.synthesizers.bands`), and any pair on coarse cells with
   ``coarse_pairs``: the same score on fewer, merged cells;
3. **measure** the chosen marginal with the Gaussian mechanism (σ_t), **estimate** p̂ with
   Private-PGM, warm-started from the previous round, until it converges (at most
   :data:`ROUND_WORK` / d iterations, see ``round_iters``);
4. **anneal** - when the new measurement moved the estimate of r by less than the noise
   scale ``sqrt(2/π) σ_t n_r``, halve σ and double ε (each round then costs 4× more); when
   what is left would pay for less than two rounds, the last round spends all of it.

After the budget is spent, a longer final estimate (until converged) gives the model that is
sampled. Every estimate holds the cells that the declared rules make impossible at zero
(:mod:`tabsynth.rules.zeros`). Codes that
exist only because the domain was not public ("missing", "other") and whose noisy 1-way count
is below 3σ₀ are conditioned away (post-processing).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from tqdm.auto import tqdm

from tabsynth.domain import DEFAULT_BINS, BinnedCodec, DomainEncoder
from tabsynth.errors import ParameterError
from tabsynth.metadata import OutOfBounds
from tabsynth.privacy import NoiseSource, PrivacyLedger, exponential_mechanism
from tabsynth.rules.zeros import structural_zeros
from tabsynth.synthesizers.aim_groups import group_rounds
from tabsynth.synthesizers.aim_resolution import Variant, coarse_maps, variants
from tabsynth.synthesizers.bands import rank_intervals
from tabsynth.synthesizers.dp_base import DEFAULT_DELTA, check_count
from tabsynth.synthesizers.dp_domain import Binning
from tabsynth.synthesizers.marginal import (
    BYTES_PER_CELL,
    Clique,
    GraphicalModel,
    MarginalSynthesizer,
    Measurement,
    Released,
    data_marginal,
    estimate,
    measure,
    unused_codes,
)

#: Share of each round's budget for the measurement; the rest pays for the selection (AIM).
#: The group rounds (:mod:`.aim_groups`) split theirs alike, through :func:`round_scales`.
MEASURE_SHARE = 0.9
#: Rounds the budget is planned for, per column, when ``max_rounds`` is None (AIM's 16·d).
ROUNDS_PER_COLUMN = 16
#: Candidates scored per round by default (Adult's closure has 575, Taiwan credit's 2,324).
MAX_CANDIDATES = 2500
#: Budget left below this fraction of ρ counts as spent (floating-point dust).
RHO_DUST = 1e-9
#: Iterations a round's estimate may run, times the columns d, when ``round_iters`` is None:
#: AIM plans 16·d rounds, so a cap of ROUND_WORK / d keeps the planned work of all the round
#: estimates the same on a wide table as on a narrow one. Each stops sooner once converged.
#: Why estimates that converge: the annealing test reads how far the new measurement moved
#: the estimate, and 100 warm-started iterations left part of the move to come, so rounds
#: annealed early and the budget went to fewer, dearer rounds (Taiwan credit at ε = 1: 30
#: rounds, 40 once converged). At ε = 1 credit gained 3.3 k-marginal points over 8 noise
#: seeds (3.4 with its card), Adult 1.6 at ε = 10 and nothing at ε = 1; diabetes130 (48
#: columns, cap 125) kept its score, its fit 12 % slower with its card and 27 % without,
#: where a cap of 500 had doubled its time for 0.9 points
#: (``benchmarks/results/aim_rounds_converged/``).
ROUND_WORK = 6000
#: Bounds of that default cap. Below the estimate's convergence window (100 iterations) a
#: round could not stop early; caps of 500 and 1,000 scored as 250 on credit.
MIN_ROUND_ITERS, MAX_ROUND_ITERS = 100, 400

#: Default ``max_model_size`` (MB), 4 where the paper has 80. A fit's time is the model's cells
#: times the iterations that sweep them: every round re-estimates the model (``round_iters``),
#: the final estimate runs at most ``max_iters``, and scoring a candidate outside the tree
#: sums over it. At 80 MB the model grows to millions of cells wherever the noise is small
#: enough to pay for big cliques: Adult at ε = 10 had not finished after 40 minutes, one
#: round's estimate alone took 8 s and one round's scoring 46 s. At 4 MB the same fit took 91
#: CPU seconds and scored a 3-way k-marginal of 942 on as many rows as it trained on (919
#: subsampled to the size of the real sample, which scores 933), and Adult at ε = 3 scored 937
#: against 932 at 80 MB (``benchmarks/results/aim_model_size/README.md``).
MAX_MODEL_SIZE = 4.0


def round_scales(rho: float) -> tuple[float, float]:
    """σ of the measurement and ε of the selection of one round that spends ``rho`` (zCDP):
    :data:`MEASURE_SHARE` of it measures, the rest selects."""
    return math.sqrt(1 / (2 * MEASURE_SHARE * rho)), math.sqrt(8 * (1 - MEASURE_SHARE) * rho)


class AIMSynthesizer(MarginalSynthesizer):
    """(ε, δ)-DP synthesizer that adaptively measures the marginals a workload needs.

    Parameters
    ----------
    epsilon, delta, budget_split, bins, binning, seed, noise_seed, on_out_of_bounds:
        See :class:`~tabsynth.synthesizers.dp_base.DPSynthesizer`.
    workload:
        Column-name tuples whose marginals the synthetic data should preserve. ``None``: every
        set of ``degree`` columns.
    workload_weights:
        One positive weight per workload tuple (default all 1). Raising the weight of the
        tuples that hold a target column makes AIM spend more on its relationships, e.g.
        ``[3.0 if "income" in w else 1.0 for w in workload]``.
    sensitive_weight:
        Multiplies the weight of every workload marginal that holds a column the metadata
        marks ``sensitive`` (default 1: no change). Above 1, AIM measures more marginals
        involving those columns. On Adult at ε = 1 a weight of 4 on race raised the
        within-group fidelity of groups of 1,500 rows and more, but lowered it for groups of
        about 400, whose cells drown in the noise (``benchmarks/groups/results.md``; see
        also ``group_share``). The flags are public schema: no budget.
    group_share:
        Share of the budget (in [0, 1), default 0: plain AIM) spent, after the 1-way
        marginals, on a few coarse marginals of a column the metadata marks ``sensitive``
        with another column, chosen for the smallest groups
        (:mod:`tabsynth.synthesizers.aim_groups`); AIM's rounds share the rest. Why: AIM
        scores a marginal by its error in counts, which a group of a few hundred rows can
        hardly move, so AIM models a small group as the whole table; and a full (group,
        column) marginal spreads a small group over cells below the noise, where measuring
        flattens it. The group rounds cut each column into cells the smallest group fills
        above the noise and pick, by the exponential mechanism, the marginals where the
        groups, each weighted by the smallest group's size over its own, differ most from
        the model. On Adult at ε = 1 (share 0.15) it raised the two smallest race groups by
        0.022 and 0.028 and cost the 1,519-row one 0.016, whose countries are rare in the
        whole table: ``benchmarks/groups/results.md``, also for diabetes130.
    coarse_pairs:
        Also offer every 2-way candidate on coarse cells, about 8 a column (runs of bins of
        equal noisy mass; common values and one cell for the rest), and let the selection
        pick either (:mod:`tabsynth.synthesizers.aim_resolution`). Why: at small ε the
        noise a 32 × 32 marginal would leave outweighs any error it could fix, so AIM never
        measures how numeric columns move together; on 64 cells it can. Measured at ε = 1
        (``benchmarks/results/aim_resolution/``): Taiwan credit +48 to +51 k-marginal
        points at 1.3 to 1.9 times the fit time; Adult unchanged at 5 times (the coarse
        pairs grow the model); German credit (1,000 rows) −16. Off by default.
    band_pairs:
        Also offer every 2-way candidate of two ordered columns (8 bins or more) on band
        cells: each cell near the diagonal of the two columns' ranks on its own, the rest
        merged into coarse cells (:mod:`tabsynth.synthesizers.bands`). Why: columns that move
        together (monthly amounts, repeated measurements) hold most of their rows near that
        diagonal, and a measurement of about a fifth of the cells keeps their detail at a
        fraction of the noise of the whole marginal. Measured at ε = 1
        (``benchmarks/results/band_pairs/``): Taiwan credit +55 to +70 k-marginal points
        (five fits) at 0.7 to 1.2 times the CPU time; Adult, diabetes130 and German credit
        within their noise, at up to 1.9 times the time on Adult (a few seconds) and twice
        on one diabetes130 fit of three; heart disease +22 on average. On by default; the
        selection still picks the fine marginal where it pays more. Only the rising
        diagonal: a pair that falls keeps its fine and coarse variants.
    degree:
        Size of the marginals of the default workload.
    max_model_size:
        Largest model in megabytes (float64 junction-tree tables); bounds memory and, above
        all, time: see :data:`MAX_MODEL_SIZE`.
    max_rounds:
        The T of AIM: the budget is first planned for this many rounds (default 16 per
        column); annealing makes later rounds dearer, so fewer are run. The first d rounds
        measure the one-way marginals, so at least d + 1 are planned whatever is asked.
    max_candidates:
        Most candidate marginals scored per round, drawn at random (not from the data) when
        the downward closure of the workload is larger; ``None`` scores them all. Bounds the
        time of a round on wide tables: 1,000 fits diabetes130 (18,472 candidates) in about
        half the time of the default, 1.2 k-marginal points lower on average over 11 fits of
        diabetes130 and Taiwan credit at ε = 1 (``benchmarks/results/aim_speed/``).
    round_iters:
        Most Private-PGM iterations after each round (warm-started from the previous
        estimate, stopping once converged as the final estimate does). ``None``:
        :data:`ROUND_WORK` / d for d columns, within [:data:`MIN_ROUND_ITERS`,
        :data:`MAX_ROUND_ITERS`] (400 on Adult, 250 on Taiwan credit, 125 on diabetes130).
    max_iters:
        Most iterations of the final estimate, which stops sooner once it gains less than
        the measurements can tell apart (``until_converged`` of
        :func:`~tabsynth.synthesizers.marginal.estimate`).

    Examples
    --------
    >>> import pandas as pd
    >>> n = 10_000  # enough rows for the domain's noisy counts to clear their thresholds
    >>> df = pd.DataFrame({"a": ["x", "y"] * (n // 2), "b": list(range(10)) * (n // 10)})
    >>> df["c"] = 1.5
    >>> synth = AIMSynthesizer(epsilon=1.0, workload=[("a", "b"), ("b", "c")]).fit(df)
    >>> synth.sample(5, seed=0).columns.tolist()
    ['a', 'b', 'c']
    """

    name: ClassVar[str] = "aim"

    def __init__(
        self,
        epsilon: float,
        delta: float = DEFAULT_DELTA,
        *,
        workload: Sequence[Sequence[str]] | None = None,
        workload_weights: Sequence[float] | None = None,
        sensitive_weight: float = 1.0,
        group_share: float = 0.0,
        coarse_pairs: bool = False,
        band_pairs: bool = True,
        degree: int = 3,
        max_model_size: float = MAX_MODEL_SIZE,
        max_rounds: int | None = None,
        max_candidates: int | None = MAX_CANDIDATES,
        round_iters: int | None = None,
        max_iters: int = 1000,
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
        self.workload = workload
        self.workload_weights = workload_weights
        self.sensitive_weight = sensitive_weight
        self.group_share = group_share
        self.coarse_pairs = coarse_pairs
        self.band_pairs = band_pairs
        self.degree = degree
        self.max_model_size = max_model_size
        self.max_rounds = max_rounds
        self.max_candidates = max_candidates
        self.round_iters = round_iters
        self.max_iters = max_iters

    def _check_params(self, n_rows: int) -> None:
        super()._check_params(n_rows)
        for name in ("degree", "max_iters"):
            check_count(name, getattr(self, name))
        for name in ("max_rounds", "max_candidates", "round_iters"):
            if getattr(self, name) is not None:
                check_count(name, getattr(self, name))
        size = self.max_model_size
        if isinstance(size, bool) or not isinstance(size, (int, float)) or not size > 0:
            raise ParameterError(f"max_model_size must be a number of megabytes > 0, got {size!r}")
        share = self.group_share
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share < 1:
            raise ParameterError(f"group_share must be a number in [0, 1), got {share!r}")
        for name in ("coarse_pairs", "band_pairs"):
            if not isinstance(getattr(self, name), bool):
                raise ParameterError(f"{name} must be True or False, got {getattr(self, name)!r}")

    def _fit_codes(
        self, codes: np.ndarray, encoder: DomainEncoder, ledger: PrivacyLedger, noise: NoiseSource
    ) -> None:
        names = encoder.columns
        shape = [encoder.sizes[c] for c in names]
        d = len(shape)
        # column by column in memory: AIM counts the marginal of nearly every candidate it
        # scores (18,000 on a 48-column table), and a strided column costs 3 times as much
        codes = np.asfortranarray(codes)
        candidates = downward_closure(self._workload(names))
        sensitive = self._sensitive_positions(names)
        rho = ledger.remaining_rho()
        rho_rounds = rho * (1 - self.group_share) if sensitive else rho
        rounds = self.max_rounds if self.max_rounds is not None else ROUNDS_PER_COLUMN * d
        # the d one-way measurements are rounds too: plan for at least one selection after them
        rounds = max(rounds, d + 1)
        sigma = math.sqrt(rounds / (2 * MEASURE_SHARE * rho_rounds))
        epsilon = math.sqrt(8 * (1 - MEASURE_SHARE) * rho_rounds / rounds)

        measurements: list[Measurement] = []

        def take(
            clique: Clique,
            scale: float,
            maps: tuple[np.ndarray, ...] | None = None,
            band: np.ndarray | None = None,
        ) -> None:
            measurements.append(
                measure(
                    codes,
                    shape,
                    clique,
                    scale,
                    names=names,
                    ledger=ledger,
                    noise=noise,
                    maps=maps,
                    index=band,
                )
            )

        for i in range(d):
            take((i,), sigma)
        one_way = list(measurements)
        zeros = structural_zeros(self.metadata_, encoder)  # public: cells the rules rule out
        round_iters = self._round_iters(d)

        def reestimate(previous: GraphicalModel | None) -> GraphicalModel:
            return estimate(
                shape,
                measurements,
                iters=round_iters,
                warm_start=previous,
                zeros=zeros,
                until_converged=True,
            )

        model = reestimate(None)
        binned = [c.bins if isinstance(c, BinnedCodec) else None for c in encoder.codecs.values()]
        if sensitive:

            def refit(m: Measurement, previous: GraphicalModel) -> GraphicalModel:
                measurements.append(m)
                return reestimate(previous)

            model = group_rounds(
                codes,
                shape,
                names,
                one_way,
                sensitive,
                binned,
                rho - rho_rounds,
                model,
                refit,
                ledger=ledger,
                noise=noise,
            )
        truth: dict[Clique, np.ndarray] = {}  # filled as candidates are first scored
        # post-processing of the noisy 1-way marginals
        split = self.coarse_pairs or self.band_pairs
        cuts = coarse_maps(one_way, binned) if split else [None] * len(shape)
        ranks = [
            rank_intervals(m.values, bins) if self.band_pairs else None
            for m, bins in zip(one_way, binned, strict=True)
        ]
        resolutions: dict[Clique, list[Variant]] = {}

        def offered(allowed: list[Clique]) -> list[Variant]:
            """Each allowed candidate at each of its resolutions."""
            for r in allowed:
                if r not in resolutions:
                    resolutions[r] = variants(r, shape, cuts, ranks, coarse=self.coarse_pairs)
            return [v for r in allowed for v in resolutions[r]]

        def errors(options: list[Variant]) -> list[float]:
            """The current model's L1 error on each option's cells."""
            out, diff = [], {}
            for v in options:
                r = v.clique
                if r not in diff:
                    if r not in truth:
                        truth[r] = data_marginal(codes, shape, r)
                    diff[r] = truth[r] - model.project(r).ravel()
                out.append(float(np.abs(v.coarsen(diff[r])).sum()))
            return out

        with tqdm(total=100, desc="AIM rounds (% of ρ)", disable=None, leave=False) as bar:
            while (left := ledger.remaining_rho()) > RHO_DUST * rho:
                if left <= 2 * (1 / (2 * sigma**2) + epsilon**2 / 8):
                    sigma, epsilon = round_scales(left)
                used = rho - left + 1 / (2 * sigma**2) + epsilon**2 / 8
                pool = self._pool(candidates, noise)
                allowed = self._fitting(shape, model, pool, used / rho * self.max_model_size)
                bias = math.sqrt(2 / math.pi) * sigma
                options = offered(allowed)
                scores = [
                    candidates[v.clique] * (e - bias * v.cells)
                    for v, e in zip(options, errors(options), strict=True)
                ]
                pick = options[
                    exponential_mechanism(
                        scores,
                        sensitivity=max(candidates[r] for r in allowed),
                        epsilon=epsilon,
                        ledger=ledger,
                        purpose="a marginal to measure (AIM quality score)",
                        phase="select",
                        noise=noise,
                    )
                ]
                before = pick.coarsen(model.project(pick.clique))
                take(pick.clique, sigma, pick.maps, pick.band)
                model = reestimate(model)
                moved = pick.coarsen(model.project(pick.clique)) - before
                if np.abs(moved).sum() <= bias * pick.cells:
                    sigma, epsilon = sigma / 2, epsilon * 2
                bar.update(round(100 * (1 - ledger.remaining_rho() / rho)) - bar.n)
        with tqdm(total=self.max_iters, desc="AIM estimation", disable=None, leave=False) as bar:
            model = estimate(
                shape,
                measurements,
                iters=self.max_iters,
                warm_start=model,
                progress=bar.update,
                zeros=zeros,
                until_converged=True,
            )
        unused = unused_codes(encoder, one_way)
        self.model_ = model.condition({i: ~u for i, u in enumerate(unused) if u.any()})
        self.released_ = tuple(Released.direct(m, shape) for m in measurements)

    def _round_iters(self, columns: int) -> int:
        """Most iterations of a round's estimate (``round_iters``, or the default for a table
        of ``columns`` columns: :data:`ROUND_WORK` / columns, bounded)."""
        if self.round_iters is not None:
            return self.round_iters
        return min(MAX_ROUND_ITERS, max(MIN_ROUND_ITERS, ROUND_WORK // columns))

    def _pool(self, candidates: dict[Clique, float], noise: NoiseSource) -> dict[Clique, float]:
        """The candidates a round scores: all of them, or ``max_candidates`` drawn uniformly
        from the noise source (public randomness, independent of the data and of ``seed``).
        Scoring a candidate outside the model's cliques means a sum-product over the tree,
        and a wide table's closure is large (48 columns: 18,472 marginals per round)."""
        cap = self.max_candidates
        if cap is None or len(candidates) <= cap:
            return candidates
        keys = list(candidates)
        drawn = np.sort(np.argsort(noise.uniform(len(keys)), kind="stable")[:cap])
        return {keys[i]: candidates[keys[i]] for i in drawn}

    def _sensitive_positions(self, names: list[str]) -> list[int]:
        """The learned columns whose groups ``group_share`` serves (schema only); none when
        the share is 0."""
        if not self.group_share:
            return []
        sensitive = [i for i, c in enumerate(names) if c in self.metadata_.sensitive_columns]
        if not sensitive or len(names) < 2:
            raise ParameterError(
                f"group_share = {self.group_share:g} needs a column marked sensitive in the "
                f"metadata and another learned column (learned: {', '.join(names)}; "
                f"sensitive: {', '.join(self.metadata_.sensitive_columns) or 'none'}); or "
                "leave group_share at 0"
            )
        return sensitive

    def _workload(self, names: list[str]) -> dict[Clique, float]:
        """Workload cliques (column positions) and weights, checked against the encoded columns;
        marginals with a sensitive column weigh ``sensitive_weight`` times more."""
        position = {name: i for i, name in enumerate(names)}
        boost = self.sensitive_weight
        if isinstance(boost, bool) or not isinstance(boost, (int, float)) or not boost > 0:
            raise ParameterError(f"sensitive_weight must be a number > 0, got {boost!r}")
        sensitive = {position[c] for c in self.metadata_.sensitive_columns if c in position}

        def scale(clique: Clique) -> float:
            return float(boost) if sensitive.intersection(clique) else 1.0

        if self.workload is None:
            sets = list(itertools.combinations(range(len(names)), min(self.degree, len(names))))
            return {c: scale(c) for c in sets}
        if not isinstance(self.workload, Sequence) or isinstance(self.workload, str):
            raise ParameterError(
                f"workload must be a list of column-name tuples, got {self.workload!r}"
            )
        if not self.workload:
            raise ParameterError(
                "workload is empty: give at least one marginal, or None for every "
                f"{self.degree}-way marginal"
            )
        weights = self.workload_weights
        if weights is None:
            weights = [1.0] * len(self.workload)
        if len(weights) != len(self.workload):
            raise ParameterError(
                f"workload_weights has {len(weights)} weights for {len(self.workload)} marginals"
            )
        out: dict[Clique, float] = {}
        for columns, weight in zip(self.workload, weights, strict=True):
            unknown = [c for c in columns if c not in position]
            if unknown or not columns or len(set(columns)) != len(columns):
                raise ParameterError(
                    f"workload marginal {tuple(columns)!r} must name distinct learned columns "
                    f"({', '.join(names)}); id, pii and text columns are never learned"
                )
            if not isinstance(weight, (int, float)) or not weight > 0:
                raise ParameterError(f"workload weights must be numbers > 0, got {weight!r}")
            clique = tuple(sorted(position[c] for c in columns))
            out[clique] = out.get(clique, 0.0) + float(weight) * scale(clique)
        return out

    @staticmethod
    def _fitting(
        shape: list[int], model: GraphicalModel, candidates: dict[Clique, float], limit: float
    ) -> list[Clique]:
        """Candidates whose addition keeps the model within ``limit`` MB. A candidate inside a
        current clique adds nothing, so the 1-way marginals always qualify. The growth of the
        others is that of the tree the next estimate builds (:meth:`JunctionTree.grows_within`,
        :func:`~tabsynth.synthesizers.marginal.estimate`), so the model never outgrows the
        limit. It reads the public structure, never the data."""
        tree = model.tree
        room = limit * 2**20 / BYTES_PER_CELL - tree.cells(shape)
        return [r for r in candidates if tree.grows_within(shape, r, room)]


def downward_closure(workload: dict[Clique, float]) -> dict[Clique, float]:
    """Every non-empty subset r of a workload marginal, weighted ``c_r = Σ_s w_s |r ∩ s|``
    (AIM, Section 4.2): subsets shared by many workload marginals, or larger overlaps,
    matter more."""
    subsets = {
        r for s in workload for k in range(1, len(s) + 1) for r in itertools.combinations(s, k)
    }
    # Σ_s w_s |r ∩ s| = Σ_{a ∈ r} W_a, with W_a the weight of the workload marginals holding
    # column a: linear in the candidates, where the pairwise sum stalled wide tables (60
    # columns: 36k candidates × 34k workload marginals).
    column_weight: dict[int, float] = {}
    for s, w in workload.items():
        for a in s:
            column_weight[a] = column_weight.get(a, 0.0) + w
    return {r: sum(column_weight[a] for a in r) for r in sorted(subsets)}
