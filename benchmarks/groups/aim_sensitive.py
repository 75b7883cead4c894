"""AIM's group options on Adult at ε = 1: what they buy small race (and sex) groups.

Usage (from the repository root)::

    python -m benchmarks.groups.aim_sensitive --weights 1 4 --runs 2
    python -m benchmarks.groups.aim_sensitive --weights 1 --shares 0.2 --runs 3
    python -m benchmarks.groups.aim_sensitive --data diabetes130 --by race gender --runs 3

``--data diabetes130``: the 11 columns of :data:`~benchmarks.groups.common.DIABETES_COLUMNS`,
domain declared public (:func:`~benchmarks.groups.common.load_diabetes130_subset`).

Adult with its public metadata, the ``--sensitive`` columns (default ``race``) marked
sensitive. Each run fits AIM (defaults, ε = 1, δ = 1e-9, OS-seeded DP noise: runs differ) once
per ``sensitive_weight`` in ``--weights`` and once per ``group_share`` in ``--shares``, samples
``--rows`` rows, and scores each group of each ``--by`` column (default race and sex):
``1 - mean TVD`` over the 2-way marginals of the other columns, synthetic group rows against
real group rows. One JSON line per fit is appended to ``out/aim_sensitive.jsonl``, with the
marginals AIM measured and their noise scales (DP releases, for the diagnosis).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.groups.common import (
    OUT,
    load_adult,
    load_diabetes130_subset,
    run_info,
    within_group_two_way,
)
from tabsynth import AIMSynthesizer
from tabsynth.evaluation.fidelity import Discretizer, EncodedTable, two_way_tvds
from tabsynth.metadata import Metadata

#: What ``group_share`` buys at this commit (``aim_summary`` labels older records by commit).
GROUP_RULE = "coarse group rounds"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=float, nargs="*", default=[1.0, 4.0])
    parser.add_argument("--shares", type=float, nargs="*", default=[])
    parser.add_argument("--sensitive", nargs="+", default=["race"])
    parser.add_argument("--by", nargs="+", default=["race", "sex"], help="columns scored by group")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--epsilon", type=float, default=1.0)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--data", choices=("adult", "diabetes130"), default="adult")
    args = parser.parse_args(argv)
    real, metadata = load_adult() if args.data == "adult" else load_diabetes130_subset()
    cols = {
        n: dataclasses.replace(s, sensitive=n in args.sensitive)
        for n, s in metadata.columns.items()
    }
    metadata = Metadata(cols, source=metadata.source, public=metadata.public)
    disc = Discretizer.fit(real, metadata)
    enc_real = disc.encode(real)
    command = "python -m benchmarks.groups.aim_sensitive " + " ".join(sys.argv[1:])
    settings = [{"sensitive_weight": w} for w in args.weights]
    settings += [{"group_share": s} for s in args.shares]
    OUT.mkdir(exist_ok=True)
    for run in range(args.runs):
        for params in settings:
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                synth = AIMSynthesizer(epsilon=args.epsilon, **params)
                synth.fit(real, metadata)
            fit_s = time.perf_counter() - started
            sample = synth.sample(args.rows, seed=run)
            enc_syn = disc.encode(sample)
            names = synth.encoder_.columns
            line = {
                **run_info(command),
                "run": run,
                "data": args.data,
                "sensitive": args.sensitive,
                "sensitive_weight": params.get("sensitive_weight", 1.0),
                "group_share": params.get("group_share", 0.0),
                "group_rule": GROUP_RULE,
                "epsilon": args.epsilon,
                "fit_seconds": fit_s,
                "two_way_overall": float(1 - two_way_tvds(disc, enc_real, enc_syn).mean()),
                "groups": {
                    c: score_groups(real, sample, disc, enc_real, enc_syn, c) for c in args.by
                },
                "measured": [
                    [[names[a] for a in r.measurement.clique], float(np.max(r.measurement.stddev))]
                    for r in synth.released_
                ],
            }
            with open(OUT / "aim_sensitive.jsonl", "a") as handle:
                handle.write(json.dumps(line) + "\n")
            groups = line["groups"][args.by[0]]
            small = min(groups, key=lambda g: groups[g]["n_real"])
            print(
                f"run {run} {params}: overall {line['two_way_overall']:.4f}, "
                f"smallest group {small} {groups[small]['two_way']:.4f}, fit {fit_s:.0f}s",
                flush=True,
            )


def score_groups(
    real: pd.DataFrame,
    sample: pd.DataFrame,
    disc: Discretizer,
    enc_real: EncodedTable,
    enc_syn: EncodedTable,
    column: str,
) -> dict[str, dict[str, Any]]:
    """Per group of ``column``: real and synthetic rows and the within-group 2-way score."""
    j = disc.names.index(column)
    groups = {}
    for value in real[column].value_counts().index:
        r = enc_real.take(np.flatnonzero((real[column] == value).to_numpy()))
        s = enc_syn.take(np.flatnonzero((sample[column] == value).to_numpy()))
        groups[value] = {
            "n_real": len(r),
            "n_synthetic": len(s),
            "two_way": within_group_two_way(disc, r, s, [j]) if len(s) else None,
        }
    return groups


if __name__ == "__main__":
    main()
