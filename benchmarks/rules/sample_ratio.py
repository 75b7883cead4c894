"""Sampling time with the rules enforced vs switched off, on one fitted model.

The benchmark's own sampling ratio compares two fits, each timed once; under a shared
machine's load that is mostly noise. Here one MST model (ε = 1) is fitted with the table's
rules, then ``sample(n)`` is timed with the rules on and with them switched off
(``metadata_`` without rules), alternating the two so that they share the load; the minimum
of each is kept.

    python -m benchmarks.rules.sample_ratio --rows 20000 \
        --datasets adult,credit_default_taiwan,diabetes130
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
import warnings
from pathlib import Path

from benchmarks.harness.datasets import load
from benchmarks.rules.run import RULES
from tabsynth.synthesizers import MSTSynthesizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default="../shared/datasets", type=Path)
    parser.add_argument("--datasets", default=",".join(RULES))
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    for name in args.datasets.split(","):
        data = load(name, args.data_dir, rows=args.rows)
        ruled = dataclasses.replace(data.metadata, rules=tuple(RULES[name]))
        synth = MSTSynthesizer(1.0, seed=0, max_iters=200).fit(data.train, ruled)
        n = len(data.train)
        full = synth.metadata_
        bare = dataclasses.replace(full, rules=())
        on: list[float] = []
        off: list[float] = []
        for i in range(args.repeats):
            for meta, times in ((full, on), (bare, off)):
                synth.metadata_ = meta
                start = time.perf_counter()
                synth.sample(n, seed=i)
                times.append(time.perf_counter() - start)
        synth.metadata_ = full
        print(
            f"{name}: {n} rows, with rules {min(on):.3f} s, rules off {min(off):.3f} s, "
            f"ratio {min(on) / min(off):.2f}, load {os.getloadavg()[0]:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
