"""Benchmark the autoregressive synthesizer on one public table: fidelity, utility, speed.

Protocol: read the CSV (``keep_default_na=False, na_values=['']``), split 80/20 with a fixed
seed, fit on the 80 %, sample as many rows as the training part has, and score against the
training part with :mod:`tabsynth.evaluation` (numbers in 20 quantile bins of the real training
data): 2-way accuracy ``1 - mean TVD`` over all pairs, 3-way k-marginal ``1000 (1 - mean TVD)``,
detection AUC (real training rows vs synthetic, cross-validated gradient boosting), and TSTR /
TRTR AUC of the target on the 20 % test part. Also times the fit (wall clock and CPU seconds of
this process) and sampling of 200,000 rows.

Examples::

    nice python benchmarks/autoregressive/run.py
    nice python benchmarks/autoregressive/run.py --epsilon 3 --delta 1e-6
    nice python benchmarks/autoregressive/run.py --set order=fixed --set epochs=20
    nice python benchmarks/autoregressive/run.py --data ../shared/datasets/diabetes130.csv.gz \
        --target readmitted --id patient_nbr --no-scores
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

import tabsynth
from tabsynth.evaluation.fidelity import Discretizer, detection_auc, k_marginal, two_way_accuracy
from tabsynth.evaluation.utility import utility_report
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.synthesizers.autoregressive import AutoregressiveSynthesizer, training

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[2] / "shared" / "datasets" / "adult.csv.gz"
SPEED_ROWS = 200_000


def parse_value(text: str) -> Any:
    """``--set key=value`` values: JSON where it parses (numbers, null, true), else a string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def split(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(frame))
    cut = int(0.8 * len(frame))
    train = frame.iloc[order[:cut]].reset_index(drop=True)
    test = frame.iloc[order[cut:]].reset_index(drop=True)
    return train, test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--target", default="income")
    parser.add_argument("--id", action="append", default=[], help="columns to treat as ids")
    parser.add_argument("--epsilon", type=float, default=None)
    parser.add_argument("--delta", type=float, default=1e-6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--no-scores", action="store_true", help="time the fit only")
    parser.add_argument("--quick", action="store_true", help="marginal scores only (tuning)")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads of the fit (default: 2)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results.jsonl")
    args = parser.parse_args()

    if args.threads is not None:
        training.FIT_THREADS = args.threads
        torch.set_num_threads(args.threads)  # sampling uses torch's global setting
    frame = pd.read_csv(args.data, keep_default_na=False, na_values=[""], low_memory=False)
    train, test = split(frame, args.seed)
    metadata = Metadata.detect(train)
    metadata = metadata.with_columns(**{c: ColumnSpec("id") for c in args.id})
    params = dict(kv.split("=", 1) for kv in args.set)
    params = {k: parse_value(v) for k, v in params.items()}
    if args.epsilon is not None:
        params.update(epsilon=args.epsilon, delta=args.delta)
    synth = AutoregressiveSynthesizer(seed=args.seed, progress=False, **params)
    # DP fits see the schema only: their domain is estimated under DP from the budget.
    # The kinds of these public benchmark tables were checked by hand (their data cards).
    fit_metadata = metadata.schema_only().declared() if args.epsilon is not None else metadata

    load_before = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    synth.fit(train, fit_metadata)
    fit_wall, fit_cpu = time.perf_counter() - wall, time.process_time() - cpu

    result: dict[str, Any] = {
        "data": args.data.name,
        "rows_train": len(train),
        "params": synth.get_params(),
        "history": {k: v for k, v in synth.history_.items() if not isinstance(v, list)},
        "fit_wall_s": round(fit_wall, 1),
        "fit_cpu_s": round(fit_cpu, 1),
        "fit_threads": training.FIT_THREADS,
        "load_avg_1m_before_fit": round(load_before, 2),
    }
    start, cpu = time.perf_counter(), time.process_time()
    synth.sample(SPEED_ROWS, seed=1)
    result["sample_rows_per_s"] = round(SPEED_ROWS / (time.perf_counter() - start))
    result["sample_rows_per_cpu_s"] = round(SPEED_ROWS / (time.process_time() - cpu))
    if not args.no_scores:
        result.update(score(train, test, synth.sample(len(train), seed=2), metadata, args))
    if synth.privacy is not None:
        result["spent_epsilon"] = round(synth.privacy.spent_epsilon, 4)
        result["noise_multiplier"] = synth.history_["noise_multiplier"]
    result.update(environment())
    print(json.dumps(result))
    with args.out.open("a") as handle:
        handle.write(json.dumps(result) + "\n")


def score(
    train: pd.DataFrame,
    test: pd.DataFrame,
    synth: pd.DataFrame,
    metadata: Metadata,
    args: argparse.Namespace,
) -> dict[str, Any]:
    marginals = {
        "two_way": round(two_way_accuracy(train, synth, metadata), 4),
        "k_marginal_3": round(k_marginal(train, synth, metadata, k=3), 1),
    }
    if args.quick:
        return marginals
    disc = Discretizer.fit(train, metadata)
    utility, _ = utility_report(
        disc, disc.encode(train), disc.encode(synth), disc.encode(test), args.target
    )
    return {
        **marginals,
        "detection_auc": round(detection_auc(train, synth, metadata), 4),
        "tstr_auc": round(utility["tstr"], 4),
        "trtr_auc": round(utility["trtr"], 4),
    }


def environment() -> dict[str, Any]:
    return {
        "tabsynth": tabsynth.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "when": time.strftime("%Y-%m-%d %H:%M"),
    }


if __name__ == "__main__":
    main()
