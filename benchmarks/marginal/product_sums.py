"""When einsum should plan a product: replay one AIM fit's sum-products at several thresholds.

Fits AIM (seeded test noise: NOT private) on a shared table with the data card, records the
factor shapes of every call of ``marginal._product_sum`` (scoring candidates outside the
junction tree), then replays the ``--top`` slowest on random tables of the same shapes with
``marginal.EINSUM_PLAN_CELLS`` set to each threshold, e.g.::

    nice -n 5 python -m benchmarks.marginal.product_sums diabetes130 --top 60000

Prints the seconds each threshold takes over the same calls, checking they agree.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

import tabsynth as ts
from benchmarks.harness.datasets import load
from tabsynth.synthesizers import marginal

Call = tuple[list[tuple[tuple[int, ...], tuple[int, ...]]], tuple[int, ...], float]


def record(table: str, data_dir: Path, epsilon: float) -> list[Call]:
    """Every product one fit makes: (factor labels and shapes, kept labels, seconds)."""
    data = load(table, data_dir)
    original = marginal._product_sum
    calls: list[Call] = []

    def timed(factors: Any, keep: Any) -> np.ndarray:
        start = time.perf_counter()
        out = original(factors, keep)
        shapes = [(tuple(a), t.shape) for a, t in factors]
        calls.append((shapes, tuple(keep), time.perf_counter() - start))
        return out

    marginal._product_sum = timed
    try:
        ts.AIMSynthesizer(epsilon=epsilon, noise_seed=1).fit(data.train, metadata=data.metadata)
    finally:
        marginal._product_sum = original
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table")
    parser.add_argument("--data-dir", default="../shared/datasets")
    parser.add_argument("--eps", type=float, default=1.0)
    parser.add_argument("--top", type=int, default=60_000)
    parser.add_argument("--thresholds", default="1024,8192,65536,524288,1e18")
    args = parser.parse_args()
    calls = record(args.table, Path(args.data_dir), args.eps)
    print(f"{len(calls)} products, {sum(c[2] for c in calls):.1f} s in the fit", flush=True)
    slowest = sorted(calls, key=lambda c: -c[2])[: args.top]
    thresholds = [int(float(t)) for t in args.thresholds.split(",")]
    seconds = dict.fromkeys(thresholds, 0.0)
    rng = np.random.default_rng(0)
    saved = marginal.EINSUM_PLAN_CELLS
    try:
        for shapes, keep, _ in slowest:
            factors = [(attrs, rng.random(shape)) for attrs, shape in shapes]
            results = []
            for threshold in thresholds:
                marginal.EINSUM_PLAN_CELLS = threshold
                start = time.perf_counter()
                results.append(marginal._product_sum(factors, keep))
                seconds[threshold] += time.perf_counter() - start
            assert all(np.allclose(r, results[0]) for r in results)
    finally:
        marginal.EINSUM_PLAN_CELLS = saved
    for threshold, took in seconds.items():
        print(f"threshold {threshold:.3g}: {took:.1f} s over the {len(slowest)} slowest products")


if __name__ == "__main__":
    main()
