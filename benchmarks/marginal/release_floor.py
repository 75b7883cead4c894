"""The best 1-way score any (ε, δ)-DP fit can expect on a categorical column whose values are
not public: an upper bound, not a measurement.

Premise: the fit has no list of the column's values, so it outputs only values it saw (and
missing values, which it may output freely). A value held by c rows then comes out with
probability at most ``δ (e^{εc} − 1) / (e^ε − 1)``: it is 0 on the table where no row holds
it, and each row added back multiplies the probability by at most e^ε and adds δ (group
privacy). A synthetic column's 1-way score, ``Σ_v min(p_v, q_v)``, counts only values that
came out, so its expectation is at most ``p_missing + Σ_v p_v · min(1, that probability)``,
for every (ε, δ)-DP fit, whatever else it releases.

The premise does not hold for a column of integer codes: tabsynth's second look there counts
the codes its first release implies (:mod:`tabsynth.synthesizers.code_ranges`), a list fixed
by that release, so a code no row holds can come out and the bound does not apply.

``--share f`` shows what a release of this column alone would get with a fraction f of the
fit's zCDP budget ρ (converted back to ε with the whole δ), as when the columns' releases are
separate mechanisms that split ρ, as tabsynth's are: an illustration, not a bound on a joint
release. ``--pool A,B,C`` bounds instead one release of the values seen in any of these
columns (which share their values, as three columns of diagnosis codes do): a value then comes
out with the chance that the rows holding it in any of them allow. E.g.::

    python -m benchmarks.marginal.release_floor diabetes130 --eps 1 --share 1 0.5 0.33 0.1
    python -m benchmarks.marginal.release_floor diabetes130 --pool diag_1,diag_2,diag_3

Uses the harness's training split (what a fit sees) and the data card's kinds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.harness.datasets import load
from tabsynth.privacy.accounting import epsilon_from_rho, rho_from_epsilon
from tabsynth.synthesizers.value_groups import CategoryUnit


def best_one_way(
    counts: np.ndarray,
    epsilon: float,
    delta: float,
    missing: int = 0,
    holders: np.ndarray | None = None,
) -> float:
    """Upper bound on the expected 1-way score of a column with these value counts and this
    many missing values. ``holders``: the rows that hold each value anywhere the release
    looks (a release pooled over columns that share their values); by default its count."""
    c = np.asarray(counts, dtype=float)
    x = epsilon * (c if holders is None else np.asarray(holders, dtype=float))
    # log of δ (e^{εc} − 1) / (e^ε − 1), without overflow or cancellation
    log_p = np.log(delta) + x + np.log(-np.expm1(-x)) - (epsilon + np.log(-np.expm1(-epsilon)))
    released = np.exp(np.minimum(log_p, 0.0))
    return float((missing + (c * released).sum()) / (missing + c.sum()))


def holders(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """For each value (as text), the rows that hold it in any of ``columns``: a row that holds
    it twice counts once, missing cells not at all (the counts a value group's release takes,
    :class:`~tabsynth.synthesizers.value_groups.CategoryUnit`)."""
    text = frame[columns].astype("string")
    return CategoryUnit(tuple(columns), "pool").holdings(text).value_counts()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table")
    parser.add_argument("--eps", type=float, default=1.0)
    parser.add_argument("--delta", type=float, default=1e-9)
    parser.add_argument("--share", type=float, nargs="+", default=[1.0], help="fractions of ρ")
    parser.add_argument("--data-dir", default="../shared/datasets")
    parser.add_argument("--below", type=float, default=0.99, help="print columns below this")
    parser.add_argument("--pool", default="", help="comma-separated columns released together")
    args = parser.parse_args()
    if not all(0 < s <= 1 for s in args.share):
        parser.error("every --share must lie in (0, 1]")
    rho = rho_from_epsilon(args.eps, args.delta)
    epsilons = [epsilon_from_rho(s * rho, args.delta) for s in args.share]
    data = load(args.table, Path(args.data_dir))
    pooled = [c for c in args.pool.split(",") if c]
    if any(c not in data.train.columns for c in pooled):
        parser.error(f"--pool: no such column among {pooled}")
    held = holders(data.train, pooled)
    print(
        f"{args.table}: {len(data.train):,} training rows, eps={args.eps:g}, delta={args.delta:g}"
        f" (rho={rho:.4g}); shares of rho as eps: "
        + ", ".join(f"{s:g} -> {e:.3f}" for s, e in zip(args.share, epsilons, strict=True))
    )
    for name, spec in data.metadata.columns.items():
        if spec.kind != "categorical":
            continue
        column = data.train[name]
        found = column.dropna().astype("string").value_counts()
        counts, missing = found.to_numpy(), int(column.isna().sum())
        reach = held.reindex(found.index).to_numpy() if name in pooled else None
        bounds = [best_one_way(counts, e, args.delta, missing, reach) for e in epsilons]
        if min(bounds) < args.below:
            shown = ", ".join(
                f"share {s:g}: {b:.3f}" for s, b in zip(args.share, bounds, strict=True)
            )
            how = " (pooled)" if name in pooled else ""
            print(f"  {name}{how} ({counts.size} values, {missing} missing): {shown}")


if __name__ == "__main__":
    main()
