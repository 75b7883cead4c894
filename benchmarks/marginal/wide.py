"""AIM on wide tables: fit time against the number of columns (robustness issue: 60 columns on
300 rows stalled AIM for minutes).

Each table has ``rows`` rows and ``d`` categorical columns of 4 or 5 codes, declared public (so
the time is AIM's alone). Reports wall and CPU seconds and the load average, since the machine
is shared: compare CPU seconds, and rows of one run with each other.

    python -m benchmarks.marginal.wide --columns 10,20,30,60 --rows 300
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd

from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.synthesizers.aim import AIMSynthesizer


def table(d: int, rows: int) -> tuple[pd.DataFrame, Metadata]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            f"c{j}": rng.choice(list("abcd"), rows) if j % 2 else rng.integers(0, 5, rows)
            for j in range(d)
        }
    ).astype(str)
    specs = {c: ColumnSpec("categorical", categories=tuple(sorted(set(frame[c])))) for c in frame}
    return frame, Metadata(specs, public=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", default="10,20,30,60")
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--epsilon", type=float, default=1.0)
    args = parser.parse_args()
    print("| columns | rows | wall s | CPU s | load (1 min) |\n|---:|---:|---:|---:|---:|")
    for d in (int(c) for c in args.columns.split(",")):
        frame, metadata = table(d, args.rows)
        wall, cpu = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            AIMSynthesizer(args.epsilon).fit(frame, metadata)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        load = os.getloadavg()[0]
        print(f"| {d} | {args.rows} | {wall:.1f} | {cpu:.1f} | {load:.1f} |", flush=True)


if __name__ == "__main__":
    main()
