"""Time a few DP-SGD steps of the autoregressive network on a benchmark table, by phase.

    python -m benchmarks.dpsgd_step_profile adult 64 8192

Arguments: dataset name in ``../shared/datasets``, width, expected batch (optional: fine bins,
default 100). Prints the table's shape, :func:`row_cost`, the parameter count and the mean
seconds per step of steps 2-5: wall by phase (ranks, forward, backward with ghost clipping,
noisy optimizer step) and the process' CPU seconds, which a loaded machine distorts less.
The noise is seeded: this measures time, it releases nothing.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from benchmarks.harness.datasets import load
from tabsynth.privacy import NoiseSource
from tabsynth.synthesizers.autoregressive import dp
from tabsynth.synthesizers.autoregressive.encoding import fine_encoder
from tabsynth.synthesizers.autoregressive.model import AutoregressiveNet
from tabsynth.synthesizers.autoregressive.training import batch_ranks, torch_settings


def main(name: str, width: int, batch: int, bins: int = 100) -> None:
    data = load(name, Path("../shared/datasets"))
    encoder = fine_encoder(data.train, data.metadata, bins)
    sizes = tuple(encoder.sizes[c] for c in encoder.columns)
    codes = encoder.encode(data.train)
    rows = len(codes)
    print(
        f"{name}: n {rows}, d {len(sizes)}, codes {sum(sizes)}, "
        f"row_cost {dp.row_cost(sizes, width)}, width {width}, batch {batch}, "
        f"parameters {sum(p.numel() for p in AutoregressiveNet(sizes, width, 0).parameters())}"
    )
    rate = 1 / -(-rows // batch)
    plan = dp.SGDPlan(1 / int(1 / rate), 0, 1.0, (), rate)
    config = dp.DPTrainConfig(width, 0, 1, batch, 1e-2, 1.0, "mixed")
    warnings.filterwarnings("ignore")
    with torch_settings():
        net = AutoregressiveNet(sizes, width, 0)
        _, model, optimizer, criterion, loader = dp.make_private(
            net, codes, config, plan, NoiseSource.seeded(1), expected_batch=batch
        )
        generator = torch.Generator().manual_seed(0)
        times = []
        for k, (rows_batch,) in enumerate(loader):
            c0, t0 = time.process_time(), time.perf_counter()
            rank = batch_ranks("mixed", len(rows_batch), len(sizes), generator)
            t1 = time.perf_counter()
            loss = criterion(model(rows_batch, rank), rows_batch)
            t2 = time.perf_counter()
            loss.backward()
            t3 = time.perf_counter()
            optimizer.step()
            optimizer.zero_grad()
            t4 = time.perf_counter()
            cpu = time.process_time() - c0
            times.append((len(rows_batch), t1 - t0, t2 - t1, t3 - t2, t4 - t3, cpu))
            if k >= 4:
                break
    batch_mean, ranks, forward, backward, step, cpu = np.array(times[1:]).mean(0)
    print(
        f"batch {batch_mean:.0f}  ranks {ranks:.3f}  forward {forward:.3f}  "
        f"backward {backward:.3f}  step {step:.3f}  total {ranks + forward + backward + step:.3f}"
        f" s/step (wall), cpu {cpu:.3f} s/step"
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *map(int, sys.argv[4:5]))
