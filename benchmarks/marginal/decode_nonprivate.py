"""One non-private autoregressive fit, sampled twice with its round values and twice without.

Round values (:mod:`tabsynth.round_values`) change only how codes become numbers, so the same
fitted model and the same sample seeds give the same codes both ways: the difference in the
3-way k-marginal (the harness's scorer, as in ``probe``) is decoding's alone. E.g.::

    python -m benchmarks.marginal.decode_nonprivate credit_default_taiwan --meta

Not private; a diagnostic between harness runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
import warnings
from pathlib import Path

import tabsynth as ts
from benchmarks.harness.datasets import load
from benchmarks.marginal.probe import Scorer
from tabsynth.domain import BinnedCodec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table")
    parser.add_argument("--meta", action="store_true", help="public metadata (the data card)")
    parser.add_argument("--data-dir", default="../shared/datasets")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    data = load(args.table, Path(args.data_dir))
    metadata = data.metadata if args.meta else data.metadata.schema_only()
    start = time.time()
    synth = ts.AutoregressiveSynthesizer(seed=0, progress=False).fit(data.train, metadata=metadata)
    fit_s = time.time() - start
    scorer = Scorer.of(data)
    n = len(data.holdout)

    def scores() -> list[float]:
        return [scorer.score(synth.sample(n, seed=s)) for s in (1, 2)]

    rounded = scores()
    codecs = synth.encoder_.codecs
    for name, codec in codecs.items():
        if isinstance(codec, BinnedCodec) and codec.steps:
            codecs[name] = dataclasses.replace(codec, steps=())
    uniform = scores()
    print(
        f"{args.table} non-private meta={args.meta} fit={fit_s:.0f}s "
        f"load={os.getloadavg()[0]:.2f} k-marginal of samples 1, 2: round values "
        f"{rounded[0]:.1f}, {rounded[1]:.1f}; uniform {uniform[0]:.1f}, {uniform[1]:.1f}; "
        f"real holdout {scorer.score(data.holdout):.1f}"
    )


if __name__ == "__main__":
    main()
