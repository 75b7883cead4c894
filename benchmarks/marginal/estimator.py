"""The Private-PGM estimator of ``tabsynth.synthesizers.marginal``: why NumPy, and its settings.

Usage (from the repository root)::

    nice python -m benchmarks.marginal.estimator --data ../shared/datasets/adult.csv.gz

The same noisy measurements of the Adult table (numbers in 32 quantile bins; the noise is
ordinary seeded Gaussian noise: this compares estimators, it makes no privacy claim) go
through tabsynth's estimator and through ``mbi.estimation.MirrorDescent`` (mbi 2, JAX, float64),
with the same number of iterations, in two workloads:

* **MST-like** - the 1-way marginals and a spanning tree of 2-way marginals, one estimate;
* **AIM-like** - the 1-way marginals, then ten 3-way marginals added one at a time, each
  followed by a warm-started estimate (AIM re-estimates after every round).

For each: wall time, and the final value of the loss both minimise (lower is better).

Then two settings of tabsynth's estimator, on the AIM-like workload:

* **step carried over** between warm-started estimates, or restarted at ``2 / (L * total)``:
  the loss after each round (100 iterations);
* **step growth** after an accepted step (``STEP_GROWTH``; mbi uses 1.01): the loss of one
  cold estimate of all measurements after 50 ... 2000 iterations.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tabsynth.domain import DomainEncoder
from tabsynth.metadata import Metadata
from tabsynth.synthesizers import marginal
from tabsynth.synthesizers.marginal import GraphicalModel, Measurement, data_marginal, estimate

SIGMA = 20.0
TREE = [(0, 2), (0, 4), (3, 4), (4, 5), (5, 7), (6, 7), (7, 9), (7, 14), (8, 13)]
TREE += [(1, 6), (6, 12), (10, 14), (11, 14)]
TRIPLES = [(0, 5, 7), (3, 4, 14), (6, 7, 14), (0, 12, 14), (1, 6, 12)]
TRIPLES += [(5, 7, 9), (0, 4, 14), (8, 13, 14), (10, 11, 14), (0, 2, 12)]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--iters", type=int, default=1000, help="MST-like estimate")
    parser.add_argument("--round-iters", type=int, default=100, help="AIM-like rounds")
    args = parser.parse_args(argv)
    if not Path(args.data).is_file():
        raise SystemExit(f"data file {args.data} not found")
    table = pd.read_csv(args.data, keep_default_na=False, na_values=[""])
    metadata = Metadata.detect(table)
    encoder = DomainEncoder.fit(table, metadata, bins=32)
    codes = encoder.encode(metadata.validate(table))
    shape = [encoder.sizes[c] for c in encoder.columns]
    rng = np.random.default_rng(0)

    def noisy(clique: tuple[int, ...]) -> Measurement:
        exact = data_marginal(codes, shape, clique)
        return Measurement(clique, exact + rng.normal(0, SIGMA, exact.size), SIGMA)

    one_way = [noisy((i,)) for i in range(len(shape))]
    tree = one_way + [noisy(c) for c in TREE]
    rounds = [noisy(c) for c in TRIPLES]
    stages = [one_way + rounds[:k] for k in range(len(rounds) + 1)]
    result = {
        "mst_like": compare(shape, [tree], args.iters),
        "aim_like": compare(shape, stages, args.round_iters),
        "step_carried": carried(shape, stages, args.round_iters),
        "step_growth": growth(shape, stages[-1]),
        "cpus": len(os.sched_getaffinity(0)),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))
    return result


def compare(shape: list[int], stages: list[list[Measurement]], iters: int) -> dict[str, Any]:
    """Estimate after each stage (warm-started), with both estimators."""
    start, cpu = time.perf_counter(), time.process_time()
    model = None
    for measurements in stages:
        model = estimate(shape, measurements, iters=iters, warm_start=model)
    ours_s, ours_cpu = time.perf_counter() - start, time.process_time() - cpu
    ours = loss(lambda c: model.project(c), stages[-1])

    import jax

    jax.config.update("jax_enable_x64", True)
    import mbi

    domain = mbi.Domain([str(i) for i in range(len(shape))], shape)
    start, cpu = time.perf_counter(), time.process_time()
    theirs = None
    for measurements in stages:
        linear = [
            mbi.LinearMeasurement(m.values, tuple(map(str, m.clique)), m.stddev)
            for m in measurements
        ]
        theirs = mbi.estimation.MirrorDescent().estimate(
            domain, linear, iters=iters, warm_start=theirs
        )
    mbi_s, mbi_cpu = time.perf_counter() - start, time.process_time() - cpu
    reference = loss(
        lambda c: np.asarray(theirs.project(tuple(map(str, c))).datavector(flatten=False)),
        stages[-1],
    )
    return {
        "estimates": len(stages),
        "iters_each": iters,
        "tabsynth_seconds": ours_s,
        "tabsynth_cpu_seconds": ours_cpu,
        "mbi_seconds": mbi_s,
        "mbi_cpu_seconds": mbi_cpu,
        "tabsynth_loss": ours,
        "mbi_loss": reference,
    }


def carried(shape: list[int], stages: list[list[Measurement]], iters: int) -> dict[str, list]:
    """Loss after each warm-started round, with the step carried over or restarted."""
    out: dict[str, list] = {}
    for keep in (True, False):
        model, losses = None, []
        for measurements in stages:
            if model is not None and not keep:
                model = GraphicalModel(
                    model.shape, model.tree, model.marginals, model.total, model.potentials
                )
            model = estimate(shape, measurements, iters=iters, warm_start=model)
            losses.append(round(loss(model.project, measurements)))
        out["carried" if keep else "restarted"] = losses
    return out


def growth(shape: list[int], measurements: list[Measurement]) -> dict[str, dict[int, int]]:
    """Loss of a cold estimate after a number of iterations, for several step growths."""
    out = {}
    default = marginal.STEP_GROWTH
    try:
        for rate in (1.01, 1.05, 1.2):
            marginal.STEP_GROWTH = rate
            out[str(rate)] = {
                iters: round(loss(estimate(shape, measurements, iters=iters).project, measurements))
                for iters in (50, 200, 500, 2000)
            }
    finally:
        marginal.STEP_GROWTH = default
    return out


def loss(project: Any, measurements: list[Measurement]) -> float:
    return sum(
        0.5 * float(np.sum(((np.ravel(project(m.clique)) - m.values) / m.stddev) ** 2))
        for m in measurements
    )


if __name__ == "__main__":
    main()
