"""Generations: refit on synthetic data again and again; what happens to the smallest groups?

Usage (from the repository root)::

    python -m benchmarks.groups.generations --epsilon 1 --generations 5
    python -m benchmarks.groups.generations --plot-only   # redraw from out/generations.jsonl

Generation 0 is MST fitted on Adult (public metadata) under (ε, 1e-9)-DP. Each later
generation is a fresh MST fitted on data made by the one before, in two ways:

* **replace**: only the previous generation's synthetic table (as many rows as Adult);
* **accumulate**: the real table plus every synthetic table made so far (Gerstgrasser et al.
  2024, "Is model collapse inevitable?", find accumulating avoids collapse).

Each generation's synthetic table (48,842 rows) is scored against the *real* table: overall
2-way accuracy (``1 - mean TVD`` over all column pairs), and for the smallest race groups
their share and their within-group 2-way accuracy (pairs of the other columns, group rows
against the real group's rows). One JSON line per generation goes to ``out/generations.jsonl``
and the plot to ``generations.png``.

Privacy note: "replace" touches the real table once (generation 0); later fits are
post-processing and the whole chain is (ε, δ)-DP. "accumulate" refits on the real table in
every generation, so k generations spend k·ε by composition.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.groups.common import OUT, load_adult, run_info, within_group_two_way
from tabsynth import MSTSynthesizer
from tabsynth.evaluation.fidelity import Discretizer, two_way_tvds

GROUP = "race"
SMALLEST = 2
PLOT = Path(__file__).resolve().parent / "generations.png"


def score(disc: Discretizer, real: pd.DataFrame, enc_real, sample: pd.DataFrame, small):
    enc = disc.encode(sample)
    j = disc.names.index(GROUP)
    out = {"two_way_overall": float(1 - two_way_tvds(disc, enc_real, enc).mean()), "groups": {}}
    for value in small:
        s_rows = np.flatnonzero((sample[GROUP] == value).to_numpy())
        r_rows = np.flatnonzero((real[GROUP] == value).to_numpy())
        out["groups"][value] = {
            "share_real": len(r_rows) / len(real),
            "share": len(s_rows) / len(sample),
            "two_way": within_group_two_way(disc, enc_real.take(r_rows), enc.take(s_rows), [j])
            if len(s_rows) >= 10
            else None,
        }
    return out


def run(args: argparse.Namespace) -> None:
    real, metadata = load_adult()
    disc = Discretizer.fit(real, metadata)
    enc_real = disc.encode(real)
    small = list(real[GROUP].value_counts().index[-SMALLEST:])
    command = "python -m benchmarks.groups.generations " + " ".join(sys.argv[1:])
    OUT.mkdir(exist_ok=True)

    def fit(data: pd.DataFrame) -> MSTSynthesizer:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return MSTSynthesizer(epsilon=args.epsilon).fit(data, metadata)

    first = fit(real).sample(len(real), seed=0)
    for mode in ("replace", "accumulate"):
        current, pool = first, [real, first]
        for gen in range(args.generations + 1):
            if gen > 0:
                started = time.perf_counter()
                train = current if mode == "replace" else pd.concat(pool, ignore_index=True)
                current = fit(train).sample(len(real), seed=gen)
                pool.append(current)
                fit_s = time.perf_counter() - started
            else:
                fit_s = None
            line = {
                **run_info(command),
                "mode": mode,
                "generation": gen,
                "epsilon": args.epsilon,
                "fit_seconds": fit_s,
                **score(disc, real, enc_real, current, small),
            }
            with open(OUT / "generations.jsonl", "a") as handle:
                handle.write(json.dumps(line) + "\n")
            groups = ", ".join(
                f"{g}: share {v['share']:.4f} 2-way {v['two_way'] or float('nan'):.4f}"
                for g, v in line["groups"].items()
            )
            print(f"{mode} gen {gen}: overall {line['two_way_overall']:.4f}; {groups}", flush=True)


def plot(path: Path = OUT / "generations.jsonl") -> Path:
    """Three panels against the generation: overall 2-way accuracy, and for each of the
    smallest groups its share (relative to its real share) and its within-group 2-way score;
    one line per mode (the latest run of each epsilon in the file)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    eps = lines[-1]["epsilon"]
    lines = [x for x in lines if x["epsilon"] == eps]
    # keep the latest record of each (mode, generation)
    latest = {(x["mode"], x["generation"]): x for x in lines}
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    styles = {"replace": "-", "accumulate": "--"}
    groups = list(next(iter(latest.values()))["groups"])
    colors = dict(zip(groups, ("tab:red", "tab:purple"), strict=False))
    for mode, style in styles.items():
        rows = sorted(
            (x for (m, _), x in latest.items() if m == mode), key=lambda x: x["generation"]
        )
        gens = [x["generation"] for x in rows]
        axes[0].plot(gens, [x["two_way_overall"] for x in rows], style, color="black", label=mode)
        for g in groups:
            rel = [x["groups"][g]["share"] / x["groups"][g]["share_real"] for x in rows]
            axes[1].plot(gens, rel, style, color=colors[g], label=f"{g} ({mode})")
            score_g = [x["groups"][g]["two_way"] for x in rows]
            axes[2].plot(gens, score_g, style, color=colors[g], label=f"{g} ({mode})")
    axes[0].set_title("Overall 2-way accuracy vs real")
    axes[1].set_title("Smallest groups: share / real share")
    axes[1].axhline(1.0, color="grey", lw=0.8)
    axes[2].set_title("Smallest groups: within-group 2-way accuracy")
    for ax in axes:
        ax.set_xlabel("generation")
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(fontsize=7, frameon=False)
    last = lines[-1]
    fig.suptitle(
        f"MST refitted on its own output, Adult, ε = {eps:g} per fit "
        f"({last['date']}, load {last['load_average'][0]:.1f})",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)
    return PLOT


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epsilon", type=float, default=1.0)
    parser.add_argument("--generations", type=int, default=5)
    parser.add_argument("--plot-only", action="store_true")
    args = parser.parse_args(argv)
    if not args.plot_only:
        run(args)
    print("plot written to", plot())


if __name__ == "__main__":
    main()
