"""Where one AIM fit's time goes, round by round: each estimate's CPU seconds, the CPU seconds
spent since the previous one (selection: pool, size check, scoring), and the model's cells.

Seeded DP noise (not private), data-card metadata, then the probe's score, e.g.::

    nice -n 10 python -m benchmarks.marginal.aim_rounds adult 10 --set max_model_size=80

Wraps :func:`tabsynth.synthesizers.aim.estimate` to time it; the fit itself is unchanged.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import tabsynth as ts
import tabsynth.synthesizers.aim as aim
from benchmarks.harness.datasets import load
from benchmarks.marginal.probe import Scores, parse_params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table")
    parser.add_argument("epsilon", type=float)
    parser.add_argument("--data-dir", default="../shared/datasets")
    parser.add_argument("--noise-seed", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE")
    args = parser.parse_args()
    params = parse_params(args.set)
    data = load(args.table, Path(args.data_dir))

    original = aim.estimate
    totals = {"estimate": 0.0, "between": 0.0}
    last = [time.process_time()]

    def timed(shape: Any, measurements: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        model = original(shape, measurements, **kwargs)
        took, between = time.process_time() - start, start - last[0]
        totals["estimate"] += took
        totals["between"] += between
        cells = model.tree.cells(shape)
        print(
            f"measurements={len(measurements):3d} iters={model.iterations}/{kwargs.get('iters')} "
            f"estimate={took:6.2f}s before={between:6.2f}s cells={cells:,} "
            f"last={measurements[-1].clique}",
            flush=True,
        )
        last[0] = time.process_time()
        return model

    aim.estimate = timed
    synth = ts.AIMSynthesizer(epsilon=args.epsilon, noise_seed=args.noise_seed, **params)
    wall, cpu = time.time(), time.process_time()
    synth.fit(data.train, metadata=data.metadata)
    wall, cpu = time.time() - wall, time.process_time() - cpu
    scores = Scores.of(synth, data)
    print(
        f"fit {wall:.1f}s wall, {cpu:.1f}s CPU (estimates {totals['estimate']:.1f}s, between "
        f"{totals['between']:.1f}s); k-marginal {scores.k_marginal:.1f}, "
        f"real sample {scores.reference:.1f}"
    )


if __name__ == "__main__":
    main()
