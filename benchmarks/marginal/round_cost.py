"""CPU cost of one AIM round on a real mid-run model: scoring every candidate and re-estimating.

Runs AIM (seeded test noise: NOT private) on a shared table until its model holds
``--measurements`` marginals, then times, on that model, the projection of every candidate of
the downward closure (what a round's selection scores) and ``--iters`` warm-started
estimation iterations (what follows the measurement). Run it in two checkouts to compare two
versions of the inference code on the same model, e.g.::

    nice -n 10 python -m benchmarks.marginal.round_cost credit_default_taiwan --measurements 50
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

import tabsynth as ts
from benchmarks.harness.datasets import load
from tabsynth.synthesizers import aim
from tabsynth.synthesizers.marginal import GraphicalModel, estimate


class _Reached(Exception):
    """Stops the fit once the model holds enough measurements."""

    def __init__(self, shape: Any, measurements: list[Any], model: GraphicalModel):
        self.shape, self.measurements, self.model = shape, measurements, model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table")
    parser.add_argument("--eps", type=float, default=1.0)
    parser.add_argument("--measurements", type=int, default=50)
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("--data-dir", default="../shared/datasets")
    args = parser.parse_args()
    data = load(args.table, Path(args.data_dir))

    def stop_at(shape: Any, measurements: Any, **kwargs: Any) -> GraphicalModel:
        model = estimate(shape, measurements, **kwargs)
        if len(measurements) >= args.measurements:
            raise _Reached(shape, list(measurements), model)
        return model

    aim.estimate = stop_at  # the benchmark's hook into the rounds
    try:
        ts.AIMSynthesizer(epsilon=args.eps, noise_seed=1).fit(data.train, metadata=data.metadata)
        raise SystemExit("the fit ended before the model held that many measurements")
    except _Reached as reached:
        shape, measurements, model = reached.shape, reached.measurements, reached.model
    fresh = GraphicalModel(model.shape, model.tree, model.marginals, model.total)
    workload = {c: 1.0 for c in itertools.combinations(range(len(shape)), 3)}
    candidates = list(aim.downward_closure(workload))
    cpu = time.process_time()
    answers = [fresh.project(r) for r in candidates]
    score_s = time.process_time() - cpu
    digest = hashlib.sha256(b"".join(np.round(a, 6).tobytes() for a in answers)).hexdigest()
    cpu = time.process_time()
    estimate(shape, measurements, iters=args.iters, warm_start=model)
    estimate_s = time.process_time() - cpu
    print(
        f"{args.table} eps={args.eps:g} measurements={len(measurements)} "
        f"model={model.tree.cells(shape) * 8 / 2**20:.2f}MB cliques={len(model.tree.cliques)} "
        f"candidates={len(candidates)} score_cpu={score_s:.2f}s "
        f"estimate_{args.iters}_cpu={estimate_s:.2f}s answers_sha256={digest[:12]} "
        f"load={os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
