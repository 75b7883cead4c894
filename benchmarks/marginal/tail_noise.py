"""How far a categorical column's long tail can come back at a given noise, at best.

A DP fit without metadata releases a column's most common values (at most
``MAX_CATEGORIES``) and decodes its "other" code onto the rest of a public list with odds
from noisy counts (``code_ranges.rare_codes``). The 1-way error of that tail has a floor set
by the noise σ of those counts, whatever the model does. This script measures the floor,
optimistically on purpose: the top values come back exact, the list holds exactly the tail
values the rows hold (no empty codes, none missing), and the odds are the better of the
noisy count less σ/2 (tabsynth's) and an empirical-Bayes posterior mean under a prior fitted
to the noisy counts themselves (Kiefer-Wolfowitz NPMLE on a grid, by EM). It prints, per σ,
the tail's share of the 1-way TVD (mean over noise draws), and the ρ one column's counts at
that σ cost against the whole ρ of ε at the harness's δ::

    python -m benchmarks.marginal.tail_noise diabetes130 diag_1 diag_2 diag_3 --eps 1

With ``--fit mst|aim --noise-seed S`` it also fits that method without metadata and splits
each column's 1-way TVD, on a sample as large as the training rows (little sampling noise),
into the part on the values the fit released and the part on the rest: where a fit's error
is, against the floor.

Not private (it reads the training rows directly): a bound to plan with, not a fit.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.harness.datasets import Dataset, load
from benchmarks.marginal.probe import SYNTHESIZERS
from tabsynth.privacy.accounting import rho_from_epsilon
from tabsynth.synthesizers.dp_base import DEFAULT_DELTA
from tabsynth.synthesizers.dp_domain import MAX_CATEGORIES


def posterior_means(noisy: np.ndarray, sigma: float, points: int = 200) -> np.ndarray:
    """E[count | noisy count] under the NPMLE prior of the counts (EM over a fixed grid of 0
    and geometric points up to the largest noisy count): shrinks codes of noise alone to
    about 0 and keeps codes far above σ."""
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


def tail_tvd(counts: np.ndarray, rows: int, sigma: float, rng: np.random.Generator) -> float:
    """The tail's part of the 1-way TVD (a share of the column's ``rows``) when its shape
    comes from counts with Gaussian noise σ, with the better of the two weightings."""
    noisy = counts + rng.normal(0.0, sigma, len(counts))
    best = np.inf
    for weights in (np.clip(noisy - sigma / 2, 0, None), posterior_means(noisy, sigma)):
        if not weights.sum() > 0:  # every count below the shift, or σ finer than the grid
            continue
        shape = weights / weights.sum() * counts.sum()
        best = min(best, 0.5 * float(np.abs(counts - shape).sum()) / rows)
    return best


def fit_split(data: Dataset, columns: list[str], method: str, eps: float, noise_seed: int) -> None:
    """Fit ``method`` without metadata and print each column's 1-way TVD, on released values
    and on the rest."""
    synth = SYNTHESIZERS[method](epsilon=eps, noise_seed=noise_seed).fit(data.train)
    fake = synth.sample(len(data.train), seed=0)
    for column in columns:
        codec = synth.encoder_.codecs[column]
        released = [str(v) for v in codec.categories]
        real = data.train[column].astype(str).value_counts(normalize=True)
        synthetic = fake[column].astype(str).value_counts(normalize=True)
        index = real.index.union(synthetic.index)
        gap = (real.reindex(index, fill_value=0) - synthetic.reindex(index, fill_value=0)).abs()
        on = pd.Index(index).isin(released)
        print(
            f"{method} noise_seed={noise_seed} {column}: {len(released)} released holding "
            f"{real.reindex(released, fill_value=0).sum():.3f} of the rows, {len(codec.rare)} "
            f"rare codes; TVD {gap.sum() / 2:.3f} = {gap[on].sum() / 2:.3f} on released + "
            f"{gap[~on].sum() / 2:.3f} on the rest"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table")
    parser.add_argument("columns", nargs="+")
    parser.add_argument("--eps", type=float, default=1.0)
    parser.add_argument("--top", type=int, default=MAX_CATEGORIES, help="values released exact")
    parser.add_argument("--sigmas", type=float, nargs="+", default=[28, 20, 14, 10, 7, 5])
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--data-dir", default="../shared/datasets")
    parser.add_argument("--fit", choices=sorted(SYNTHESIZERS), help="also fit this method")
    parser.add_argument("--noise-seed", type=int, default=1, help="seeded DP noise (NOT private)")
    args = parser.parse_args()
    data = load(args.table, Path(args.data_dir))
    rng = np.random.default_rng(0)
    whole = rho_from_epsilon(args.eps, DEFAULT_DELTA)
    print(f"{args.table} eps={args.eps:g} delta={DEFAULT_DELTA:g}: whole rho {whole:.5f}")
    for sigma in args.sigmas:
        print(f"  sigma {sigma:g} costs rho {1 / (2 * sigma**2):.5f} a column")
    for column in args.columns:
        held = data.train[column].dropna().astype(str).value_counts()
        tail = held.iloc[args.top :].to_numpy(float)
        rows = int(held.sum())
        floors = [
            np.mean([tail_tvd(tail, rows, sigma, rng) for _ in range(args.draws)])
            for sigma in args.sigmas
        ]
        print(
            f"{column}: {len(held)} values, tail {tail.sum() / rows:.3f} of {rows} rows in "
            f"{len(tail)} values; tail TVD "
            + ", ".join(f"{f:.4f} at sigma {s:g}" for f, s in zip(floors, args.sigmas, strict=True))
        )
    if args.fit:
        fit_split(data, args.columns, args.fit, args.eps, args.noise_seed)


if __name__ == "__main__":
    main()
