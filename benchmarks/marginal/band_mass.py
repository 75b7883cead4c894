"""How much of a pair of numeric columns lies near the diagonal of their ranks: the share of
rows, and of the cells, that band cells of a given width keep (``tabsynth.synthesizers.bands``).

Bins are the columns' own quantiles (exact, not DP: a look at the public shared tables that
motivates the width, not a fit), e.g.::

    python -m benchmarks.marginal.band_mass ../shared/datasets/credit_default_taiwan.csv \\
        BILL_AMT1,BILL_AMT2 PAY_AMT1,PAY_AMT2 LIMIT_BAL,BILL_AMT1
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

WIDTHS = (0.0, 0.03, 0.05, 0.1)


def codes(x: np.ndarray, bins: int) -> tuple[np.ndarray, int]:
    """Quantile bin of each value (equal values share a bin) and the number of bins."""
    cuts = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1]))
    return np.searchsorted(cuts, x, side="right"), cuts.size + 1


def ranks(code: np.ndarray, size: int) -> np.ndarray:
    """Each bin's interval of ranks, as :func:`tabsynth.synthesizers.bands.rank_intervals`
    reads it from a noisy marginal (here the exact one)."""
    cdf = np.concatenate([[0.0], np.cumsum(np.bincount(code, minlength=size))]) / code.size
    return np.column_stack([cdf[:-1], cdf[1:]])


def band_share(a: np.ndarray, b: np.ndarray, width: float, bins: int) -> tuple[float, int, int]:
    """Share of the rows in the band, band cells, and all cells of the pair."""
    (ca, na), (cb, nb) = codes(a, bins), codes(b, bins)
    ra, rb = ranks(ca, na), ranks(cb, nb)
    gap = np.maximum(ra[:, None, 0] - rb[None, :, 1], rb[None, :, 0] - ra[:, None, 1])
    near = gap <= width
    return float(near[ca, cb].mean()), int(near.sum()), na * nb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv")
    parser.add_argument("pairs", nargs="+", metavar="COL,COL")
    parser.add_argument("--bins", type=int, default=32)
    args = parser.parse_args()
    data = pd.read_csv(args.csv)
    print(f"{args.csv}, {args.bins} quantile bins; per width: share of rows, band cells / cells")
    for pair in args.pairs:
        first, second = pair.split(",")
        both = data[[first, second]].dropna().to_numpy(dtype=float)
        shares = [band_share(both[:, 0], both[:, 1], w, args.bins) for w in WIDTHS]
        cells = "  ".join(
            f"{w:g}: {s:.3f} {k}/{n}" for w, (s, k, n) in zip(WIDTHS, shares, strict=True)
        )
        print(f"{first} x {second}  {cells}")


if __name__ == "__main__":
    main()
