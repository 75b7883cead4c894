"""CPU cost of one AIM round on a real mid-run model: scoring every candidate and re-estimating.

Runs AIM (seeded test noise: NOT private) on a shared table until its model holds
``--measurements`` marginals, then times, on that model, the projection of every candidate of
the downward closure (what a round's selection scores) and ``--iters`` warm-started
estimation iterations (what follows the measurement). Run it in two checkouts to compare two
versions of the inference code on the same model, e.g.::

    nice -n 10 python -m benchmarks.marginal.round_cost credit_default_taiwan --measurements 50

``--message-cells 0,65536`` times the projections once for each value of
``marginal.MESSAGE_CELLS`` (0: every marginal across cliques in one contraction), each on a
fresh copy of the model.
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
from tabsynth.synthesizers import aim, marginal
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
    parser.add_argument("--message-cells", default=None, help="comma-separated values to time")
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
    workload = {c: 1.0 for c in itertools.combinations(range(len(shape)), 3)}
    candidates = list(aim.downward_closure(workload))
    settings = [None] if args.message_cells is None else args.message_cells.split(",")
    timings = []
    for setting in settings:
        if setting is not None:
            marginal.MESSAGE_CELLS = int(float(setting))
        fresh = GraphicalModel(model.shape, model.tree, model.marginals, model.total)
        cpu = time.process_time()
        answers = [fresh.project(r) for r in candidates]
        score_s = time.process_time() - cpu
        digest = hashlib.sha256(b"".join(np.round(a, 6).tobytes() for a in answers)).hexdigest()
        label = "" if setting is None else f"message_cells={setting} "
        timings.append(f"{label}score_cpu={score_s:.2f}s answers_sha256={digest[:12]}")
    cpu = time.process_time()
    estimate(shape, measurements, iters=args.iters, warm_start=model)
    estimate_s = time.process_time() - cpu
    print(
        f"{args.table} eps={args.eps:g} measurements={len(measurements)} "
        f"model={model.tree.cells(shape) * 8 / 2**20:.2f}MB cliques={len(model.tree.cliques)} "
        f"candidates={len(candidates)} {' '.join(timings)} "
        f"estimate_{args.iters}_cpu={estimate_s:.2f}s "
        f"load={os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
