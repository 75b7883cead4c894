"""AIM with and without ``sensitive_weight`` on Adult at ε = 1: what it buys small race groups.

Usage (from the repository root)::

    python -m benchmarks.groups.aim_sensitive --weights 1 4 --runs 2

Adult with its public metadata, ``race`` marked sensitive. Each run fits AIM (defaults,
ε = 1, δ = 1e-9, OS-seeded DP noise: runs differ) with each weight in turn, samples
``--rows`` rows, and scores each race group: ``1 - mean TVD`` over the 2-way marginals of the
other columns, synthetic group rows against real group rows. One JSON line per fit is appended
to ``out/aim_sensitive.jsonl``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import warnings

import numpy as np

from benchmarks.groups.common import OUT, load_adult, run_info, within_group_two_way
from tabsynth import AIMSynthesizer
from tabsynth.evaluation.fidelity import Discretizer, two_way_tvds
from tabsynth.metadata import Metadata

GROUP = "race"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=float, nargs="+", default=[1.0, 4.0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--epsilon", type=float, default=1.0)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args(argv)
    real, metadata = load_adult()
    cols = {n: dataclasses.replace(s, sensitive=n == GROUP) for n, s in metadata.columns.items()}
    metadata = Metadata(cols, source=metadata.source, public=metadata.public)
    disc = Discretizer.fit(real, metadata)
    j = disc.names.index(GROUP)
    enc_real = disc.encode(real)
    command = "python -m benchmarks.groups.aim_sensitive " + " ".join(sys.argv[1:])
    OUT.mkdir(exist_ok=True)
    for run in range(args.runs):
        for weight in args.weights:
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                synth = AIMSynthesizer(epsilon=args.epsilon, sensitive_weight=weight)
                synth.fit(real, metadata)
            fit_s = time.perf_counter() - started
            sample = synth.sample(args.rows, seed=run)
            enc_syn = disc.encode(sample)
            groups = {}
            for value in real[GROUP].value_counts().index:
                r = enc_real.take(np.flatnonzero((real[GROUP] == value).to_numpy()))
                s = enc_syn.take(np.flatnonzero((sample[GROUP] == value).to_numpy()))
                groups[value] = {
                    "n_real": len(r),
                    "n_synthetic": len(s),
                    "two_way": within_group_two_way(disc, r, s, [j]) if len(s) else None,
                }
            line = {
                **run_info(command),
                "run": run,
                "sensitive_weight": weight,
                "epsilon": args.epsilon,
                "fit_seconds": fit_s,
                "two_way_overall": float(1 - two_way_tvds(disc, enc_real, enc_syn).mean()),
                "groups": groups,
            }
            with open(OUT / "aim_sensitive.jsonl", "a") as handle:
                handle.write(json.dumps(line) + "\n")
            small = min(groups, key=lambda g: groups[g]["n_real"])
            print(
                f"run {run} weight {weight:g}: overall {line['two_way_overall']:.4f}, "
                f"smallest group {small} {groups[small]['two_way']:.4f}, fit {fit_s:.0f}s",
                flush=True,
            )


if __name__ == "__main__":
    main()
