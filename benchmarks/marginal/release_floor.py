"""The best 1-way score any (ε, δ)-DP fit can expect on a categorical column whose values are
not public: a bound, not a measurement.

Without a public list of values, a fit can only output values it saw. A value held by c rows
then comes out with probability at most ``δ (e^{εc} − 1) / (e^ε − 1)``: it is 0 on the table
where no row holds it, and each row added back multiplies the probability by at most e^ε and
adds δ (group privacy). A synthetic column's 1-way score, ``Σ_v min(p_v, q_v)``, counts only
values that came out, so its expectation is at most ``Σ_v p_v · min(1, that probability)``.
The bound spends the whole fit's ε on one column; ``--share`` gives that column a fraction of
ε instead (an illustration of a split between columns, not a bound on a joint release).
E.g.::

    python -m benchmarks.marginal.release_floor diabetes130 --eps 1 --share 1 0.33

Uses the harness's training split (what a fit sees) and the data card's kinds.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from benchmarks.harness.datasets import load


def best_one_way(counts: np.ndarray, epsilon: float, delta: float) -> float:
    """Upper bound on the expected 1-way score of a column with these value counts."""
    c = counts.astype(float)
    # log of δ (e^{εc} − 1) / (e^ε − 1), computed without overflow
    log_p = (
        math.log(delta)
        + epsilon * c
        + np.log1p(-np.exp(-epsilon * c))
        - math.log(math.expm1(epsilon))
    )
    released = np.exp(np.minimum(log_p, 0.0))
    return float((c * released).sum() / c.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table")
    parser.add_argument("--eps", type=float, default=1.0)
    parser.add_argument("--delta", type=float, default=1e-9)
    parser.add_argument("--share", type=float, nargs="+", default=[1.0])
    parser.add_argument("--data-dir", default="../shared/datasets")
    parser.add_argument("--below", type=float, default=0.99, help="print columns below this")
    args = parser.parse_args()
    data = load(args.table, Path(args.data_dir))
    rows = len(data.train)
    print(f"{args.table}: {rows:,} training rows, eps={args.eps:g}, delta={args.delta:g}")
    for name, spec in data.metadata.columns.items():
        if spec.kind != "categorical":
            continue
        counts = data.train[name].dropna().astype(str).value_counts().to_numpy()
        bounds = [best_one_way(counts, args.eps * s, args.delta) for s in args.share]
        if min(bounds) < args.below:
            shown = ", ".join(
                f"share {s:g}: {b:.3f}" for s, b in zip(args.share, bounds, strict=True)
            )
            print(f"  {name} ({counts.size} values): {shown}")


if __name__ == "__main__":
    main()
