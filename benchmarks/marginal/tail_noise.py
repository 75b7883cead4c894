"""What a categorical column's long tail costs its 1-way score at a given noise σ.

A DP fit without metadata releases a column's most common values (at most
``MAX_CATEGORIES``) and decodes its "other" code onto the rest of a public list, with odds
from noisy counts of the list (``code_ranges.rare_codes``). This script estimates what that
costs the column at a noise σ, optimistically on purpose:
- the released values and the missing cells come back exact;
- the list holds exactly the tail values the rows hold, with no empty codes and none missing;
- the odds are, draw by draw, the better of tabsynth's (the noisy count less σ/2) and an
  empirical-Bayes posterior mean (a prior fitted to the noisy counts themselves,
  Kiefer-Wolfowitz NPMLE on a grid, by EM).

It is an estimate for these two weightings, with an oracle picking the better, and not a
bound over every mechanism. Per σ it prints three figures, each a mean over noise draws:
- the tail's TVD, that distribution's distance from the training rows';
- the probe's 1-way score (1 - TVD) of a sample drawn from it at the holdout's size;
- the same score at the training rows' size.

σ = 0 is a sampler that knows the training distribution: what sampling alone costs. The
header gives the ρ one column's counts at each σ cost, against the whole ρ of ε at the
harness's δ::

    python -m benchmarks.marginal.tail_noise diabetes130 diag_1 diag_2 diag_3 --eps 1

With ``--fit mst|aim --noise-seed S`` it also fits that method without metadata. It then
splits each column's 1-way TVD into the part on the values the fit released (missing cells
included) and the part on the rest: where a fit's error is. That TVD is measured on a sample
as large as the training rows, where sampling costs what the σ = 0 line says.

Not private: it reads the training rows directly. It is an estimate to plan with, not a fit.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.harness.datasets import Dataset, load
from benchmarks.marginal.probe import SYNTHESIZERS
from tabsynth.domain import CategoryCodec
from tabsynth.privacy.accounting import rho_from_epsilon
from tabsynth.synthesizers.dp_base import DEFAULT_DELTA
from tabsynth.synthesizers.dp_domain import MAX_CATEGORIES

#: How a missing cell is counted: a value of its own, always modelled, never in the tail.
MISSING = "<missing>"


def posterior_means(noisy: np.ndarray, sigma: float, points: int = 200) -> np.ndarray:
    """E[count | noisy count] under the NPMLE prior of the counts (EM on a fixed grid of 0 and
    geometric points up to 1.2 times the largest noisy count). It shrinks codes of noise alone
    to about 0 and keeps codes far above σ."""
    grid = np.concatenate([[0.0], np.geomspace(0.5, max(float(noisy.max()), 1.0) * 1.2, points)])
    like = np.exp(-0.5 * ((noisy[:, None] - grid[None, :]) / sigma) ** 2)
    prior = np.full(len(grid), 1.0 / len(grid))
    for _ in range(300):
        post = like * prior
        post /= post.sum(axis=1, keepdims=True) + 1e-300
        prior = post.mean(axis=0)
    post = like * prior
    post /= post.sum(axis=1, keepdims=True) + 1e-300
    return post @ grid


def tail_shape(counts: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """The tail's counts as the odds of one noise draw spread them: of the two weightings, the
    one nearer the true counts (``counts`` itself at σ = 0)."""
    if sigma == 0 or not counts.size:
        return counts
    noisy = counts + rng.normal(0.0, sigma, len(counts))
    shapes = [
        weights / weights.sum() * counts.sum()
        for weights in (np.clip(noisy - sigma / 2, 0, None), posterior_means(noisy, sigma))
        if weights.sum() > 0  # not every count under the shift, nor every likelihood 0
    ]
    return min(
        shapes, key=lambda shape: np.abs(counts - shape).sum(), default=np.zeros_like(counts)
    )


def score(real: np.ndarray, model: np.ndarray, size: int, rng: np.random.Generator) -> float:
    """The probe's 1-way score (1 - TVD against ``real``'s shares) of ``size`` rows drawn
    from the shares ``model``."""
    drawn = rng.multinomial(size, model / model.sum()) / size
    return 1.0 - 0.5 * float(np.abs(real / real.sum() - drawn).sum())


def holdings(frame: pd.DataFrame, column: str) -> pd.Series:
    """Rows per value of ``column``, most first, missing cells as :data:`MISSING`."""
    return frame[column].astype("string").fillna(MISSING).value_counts()


def fit_split(data: Dataset, columns: list[str], method: str, eps: float, noise_seed: int) -> None:
    """Fit ``method`` without metadata and print each column's 1-way TVD, on the values it
    released and on the rest, on a sample as large as the training rows."""
    synth = SYNTHESIZERS[method](epsilon=eps, noise_seed=noise_seed).fit(data.train)
    fake = synth.sample(len(data.train), seed=0)
    for column in columns:
        codec = synth.encoder_.codecs[column]
        if not isinstance(codec, CategoryCodec):
            raise SystemExit(f"{column!r} is not a categorical column of the {method} fit")
        released = [str(v) for v in codec.categories] + [MISSING]
        real = holdings(data.train, column)
        real, synthetic = real / real.sum(), holdings(fake, column) / len(fake)
        index = real.index.union(synthetic.index)
        gap = (real.reindex(index, fill_value=0) - synthetic.reindex(index, fill_value=0)).abs()
        on = index.isin(released)
        print(
            f"{method} noise_seed={noise_seed} {column}: {len(codec.categories)} released "
            f"holding {real.reindex(released, fill_value=0).sum():.3f} of the rows (missing "
            f"included), {len(codec.rare)} rare codes; TVD {gap.sum() / 2:.3f} = "
            f"{gap[on].sum() / 2:.3f} on released + {gap[~on].sum() / 2:.3f} on the rest"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table")
    parser.add_argument("columns", nargs="+")
    parser.add_argument("--eps", type=float, default=1.0)
    parser.add_argument("--top", type=int, default=MAX_CATEGORIES, help="values released exact")
    parser.add_argument("--sigmas", type=float, nargs="+", default=[0, 28, 20, 14, 10, 7, 5])
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--data-dir", default="../shared/datasets")
    parser.add_argument("--fit", choices=sorted(SYNTHESIZERS), help="also fit this method")
    parser.add_argument("--noise-seed", type=int, default=1, help="seeded DP noise (NOT private)")
    args = parser.parse_args()
    data = load(args.table, Path(args.data_dir))
    whole = rho_from_epsilon(args.eps, DEFAULT_DELTA)
    print(f"{args.table} eps={args.eps:g} delta={DEFAULT_DELTA:g}: whole rho {whole:.5f}")
    for sigma in args.sigmas:
        if sigma:
            print(f"  sigma {sigma:g} costs rho {1 / (2 * sigma**2):.5f} a column")
    sizes = (len(data.holdout), len(data.train))
    for number, column in enumerate(args.columns):
        real = holdings(data.train, column)
        tail = real.drop(MISSING, errors="ignore").iloc[args.top :]  # past the released
        print(
            f"{column}: {len(real)} values, tail {tail.sum() / real.sum():.3f} of "
            f"{real.sum()} rows in {len(tail)} values; per sigma: tail TVD, 1-way score at "
            f"{sizes[0]} rows, at {sizes[1]} rows"
        )
        for sigma in args.sigmas:
            results = []
            for draw in range(args.draws):
                # a stream per column, σ and draw: no figure depends on the others asked for
                rng = np.random.default_rng((number, round(sigma * 1000), draw))
                model = real.astype(float)
                model[tail.index] = tail_shape(tail.to_numpy(float), sigma, rng)
                tvd = 0.5 * float(np.abs(real - model).sum()) / real.sum()
                results.append(
                    [tvd, *(score(real.to_numpy(), model.to_numpy(), n, rng) for n in sizes)]
                )
            tvd, at_holdout, at_train = np.mean(results, axis=0)
            print(f"  sigma {sigma:g}: {tvd:.4f}, {at_holdout:.3f}, {at_train:.3f}")
    if args.fit:
        fit_split(data, args.columns, args.fit, args.eps, args.noise_seed)


if __name__ == "__main__":
    main()
