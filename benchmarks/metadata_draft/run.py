"""GaussianCopula with drafted metadata against SDV's own detection, on the shared tables.

For each table (a seeded sample of at most ROWS rows, split 80/20), three fits of SDV's
GaussianCopula, all scored the same way (3-way k-marginal against the training rows, with the
drafted metadata as the scorer's schema, so every variant is read alike):

* ``draft``: tabsynth's GaussianCopulaSynthesizer with ``Metadata.draft(train)``;
* ``sdv``: SDV's GaussianCopulaSynthesizer with ``Metadata.detect_from_dataframe(train)``;
* ``detect``: tabsynth's GaussianCopulaSynthesizer with ``Metadata.detect(train)`` (before).

``holdout`` is the score of real held-out rows (of the same count, drawn with replacement
when fewer), the reference a perfect synthesizer would reach.

Run from the repository root: ``python benchmarks/metadata_draft/run.py [--rows 6000]``;
writes ``benchmarks/metadata_draft/results.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import tabsynth as ts
from tabsynth.evaluation.fidelity import k_marginal

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("TABSYNTH_SHARED", HERE.parents[1] / ".." / "shared")) / "datasets"
TABLES = ("credit_default_taiwan", "german_credit", "heart_disease_cleveland", "adult")


def _load(name: str, rows: int) -> pd.DataFrame:
    card = json.loads((SHARED / f"{name}.json").read_text())
    df = pd.read_csv(SHARED / card["file"], keep_default_na=False, na_values=[""], low_memory=False)
    return df.sample(min(rows, len(df)), random_state=0).reset_index(drop=True)


def _sdv_own(train: pd.DataFrame, n: int) -> pd.DataFrame:
    from sdv.metadata import Metadata as SDVMetadata
    from sdv.single_table import GaussianCopulaSynthesizer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        md = SDVMetadata.detect_from_dataframes({"table": train})
        synth = GaussianCopulaSynthesizer(md)
        np.random.seed(0)
        synth.fit({"table": train})  # SDV 2 takes {table: frame}
        return synth.sample(num_rows=n)["table"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=6000)
    args = parser.parse_args()
    lines = [
        "# GaussianCopula: drafted metadata against SDV's own detection",
        "",
        f"`python benchmarks/metadata_draft/run.py --rows {args.rows}`, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"load average at start {os.getloadavg()[0]:.1f}. 3-way k-marginal (1000 = identical), "
        "one seeded fit each.",
        "",
        "| table | rows | draft | SDV detection | tabsynth detect | real holdout |",
        "|---|---|---|---|---|---|",
    ]
    for name in TABLES:
        if not (SHARED / f"{name}.json").exists():
            print(f"skip {name}: {SHARED} has no such table")
            continue
        df = _load(name, args.rows)
        holdout = df.sample(frac=0.2, random_state=1)
        train = df.drop(index=holdout.index)
        drafted = ts.Metadata.draft(train)
        scores = {}
        for variant in ("draft", "sdv", "detect"):
            start = time.perf_counter()
            if variant == "sdv":
                synthetic = _sdv_own(train, len(train))
            else:
                md = drafted if variant == "draft" else ts.Metadata.detect(train)
                model = ts.GaussianCopulaSynthesizer(seed=0).fit(train, metadata=md)
                synthetic = model.sample(len(train), seed=0)
            scores[variant] = k_marginal(train, synthetic, drafted)
            print(name, variant, f"{scores[variant]:.0f}", f"{time.perf_counter() - start:.1f} s")
        reference = k_marginal(
            train, holdout.sample(len(train), replace=True, random_state=2), drafted
        )
        lines.append(
            f"| {name} | {len(train):,} | {scores['draft']:.0f} | {scores['sdv']:.0f} | "
            f"{scores['detect']:.0f} | {reference:.0f} |"
        )
    lines.append("")
    lines.append(f"Load average at the end: {os.getloadavg()[0]:.1f}.")
    (HERE / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
