"""DP-SGD fits with fresh noise, each scored at its last iterate and at iterate averages.

Every fit trains once; besides the average the synthesizer keeps
(:data:`~tabsynth.synthesizers.autoregressive.averaging.AVERAGE_SHARE`) it records the last
iterate (what a fit returned before averaging) and averages over other windows, then samples
and scores each with the benchmark harness' scorer on the harness' split. The variants of one
fit share its noise, so their differences are paired. Averages are post-processing of the
iterates: recording several costs no privacy, and the last iterate is exactly the weights the
fit would have kept without averaging (averaging draws no random numbers).

    nice -n 19 python -m benchmarks.dpsgd_stability --data-dir ../shared/datasets \
        --dataset adult --epsilon 3 --repeats 5 \
        --out benchmarks/results/dpsgd_stability/averaging_adult

Writes ``runs.csv`` (one row per fit and variant) and ``summary.csv`` (per variant: mean,
standard deviation and range of TSTR AUC and k-marginal over the fits). Fits run in separate
processes (``--first-seed S --repeats 1 --out DIR/seedS``) are pooled afterwards with
``--summarize DIR``, which reads every ``runs.csv`` under ``DIR`` and writes
``DIR/all_runs.csv`` and ``DIR/summary.csv``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import ClassVar

import pandas as pd
import torch

from benchmarks.harness import datasets, scoring
from benchmarks.harness.suite import DELTA
from tabsynth.synthesizers.autoregressive import AutoregressiveSynthesizer, dp
from tabsynth.synthesizers.autoregressive.averaging import AVERAGE_SHARE, IterateAverage

#: Windows compared, as shares of the planned steps (0: the last iterate).
SHARES = (0.0, 0.05, AVERAGE_SHARE, 0.2, 0.5)


class RecordedAverages:
    """Stands in for :class:`IterateAverage` in ``dp.train_private``: keeps one average per
    share in :data:`SHARES` and leaves the last iterate in the network."""

    captured: ClassVar[dict[float, list[torch.Tensor]]] = {}

    def __init__(self, parameters, steps: int):
        params = list(parameters)
        self.parameters = [p for p in params if p.requires_grad]
        self.tracks = {s: IterateAverage(params, steps, s) for s in SHARES if s > 0}

    def update(self) -> None:
        for track in self.tracks.values():
            track.update()

    def copy_to(self) -> None:
        captured = {0.0: [p.detach().clone() for p in self.parameters]}
        captured.update({s: [a.clone() for a in t.averages] for s, t in self.tracks.items()})
        RecordedAverages.captured = captured


def load_weights(synth: AutoregressiveSynthesizer, weights: list[torch.Tensor]) -> None:
    """Put ``weights`` into the fitted network, keeping the codes the fit forbade at -inf."""
    net = synth.net_
    forbidden = torch.isinf(net.out.bias).clone()
    with torch.no_grad():
        params = [p for p in net.parameters() if p.requires_grad]
        for param, value in zip(params, weights, strict=True):
            param.copy_(value)
        net.out.bias[forbidden] = -torch.inf


def summarize(table: pd.DataFrame, out: Path) -> None:
    """Per variant: mean, sd (n - 1), min, max and range over the fits; printed and saved."""
    metrics = ["tstr_auc", "k_marginal", "two_way_accuracy"]
    summary = table.groupby("average_share")[metrics].agg(["mean", "std", "min", "max"])
    for metric in ("tstr_auc", "k_marginal"):
        summary[(metric, "range")] = summary[(metric, "max")] - summary[(metric, "min")]
    summary.columns = ["_".join(c) for c in summary.columns]
    summary.insert(0, "fits", table.groupby("average_share").size())
    summary.round(4).to_csv(out / "summary.csv")
    print(summary.round(4).to_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--dataset", default="adult")
    parser.add_argument("--epsilon", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--summarize", type=Path, help="pool the runs.csv under this folder")
    args = parser.parse_args()
    if args.summarize is not None:
        runs = sorted(p for p in args.summarize.rglob("runs.csv"))
        table = pd.concat([pd.read_csv(p) for p in runs], ignore_index=True)
        table = table.sort_values(["seed", "average_share"])
        table.to_csv(args.summarize / "all_runs.csv", index=False)
        summarize(table, args.summarize)
        return
    if args.out is None:
        parser.error("--out is required (or --summarize)")
    args.out.mkdir(parents=True, exist_ok=True)
    data = datasets.load(args.dataset, args.data_dir)
    dp.IterateAverage = RecordedAverages  # instrumentation: see module docstring
    rows = []
    runs_path = args.out / "runs.csv"
    for seed in range(args.first_seed, args.first_seed + args.repeats):
        started, load = time.perf_counter(), os.getloadavg()
        synth = AutoregressiveSynthesizer(
            epsilon=args.epsilon, delta=DELTA, seed=seed, progress=False
        )
        synth.fit(data.train, metadata=data.metadata)
        fit_s = time.perf_counter() - started
        for share, weights in RecordedAverages.captured.items():
            load_weights(synth, weights)
            synthetic = synth.sample(len(data.train), seed=seed)
            row = scoring.score(data, synthetic)
            rows.append(
                {
                    "dataset": args.dataset,
                    "epsilon": args.epsilon,
                    "seed": seed,
                    "average_share": share,
                    "fit_s": round(fit_s, 1),
                    "load_at_start": " ".join(f"{v:.2f}" for v in load),
                    **{k: row[k] for k in ("k_marginal", "tstr_auc", "two_way_accuracy")},
                    "steps": synth.history_["steps"],
                    "noise_multiplier": synth.history_["noise_multiplier"],
                }
            )
            print(json.dumps(rows[-1]), flush=True)
        pd.DataFrame(rows).to_csv(runs_path, index=False)
    summarize(pd.DataFrame(rows), args.out)


if __name__ == "__main__":
    main()
