"""One DP fit on a shared table, scored like the harness: fit time, 3-way k-marginal against a
real holdout sample, the worst 1-way columns (each with the real holdout's score of it) and the
columns with the most excess 3-way error.

A quick diagnostic between full harness runs (``python -m benchmarks.run``), e.g.::

    nice -n 10 python -m benchmarks.marginal.probe credit_default_taiwan mst --meta --eps 1000

``dpsgd`` fits the DP-SGD model (``AutoregressiveSynthesizer``); its ``seed`` sets its
initialisation, so a repeatable fit also needs ``--set seed=0`` (and ``--set progress=false``
keeps the log to one line per fit).

Without ``--meta`` the fit gets the data card's kinds only (``schema_only()``); ``--bare``
passes ``metadata=None`` instead, as a user who declares nothing: the training frame's dtypes
are the schema, and text columns take their DP look for dates.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import tabsynth as ts
from benchmarks.harness.datasets import load
from tabsynth.evaluation.fidelity import (
    Discretizer,
    choose_sets,
    column_report,
    k_marginal_detail,
    marginal_tvd,
)

SYNTHESIZERS = {"mst": ts.MSTSynthesizer, "aim": ts.AIMSynthesizer}
#: What the probe fits: the marginal methods, and DP-SGD.
METHODS = {**SYNTHESIZERS, "dpsgd": ts.AutoregressiveSynthesizer}


def parse_params(items: list[str]) -> dict[str, Any]:
    """Names and values from ``--set PARAM=VALUE`` or ``--const`` options (each VALUE is JSON)."""
    return {k: json.loads(v) for k, v in (item.split("=", 1) for item in items)}


def add_const_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--const",
        action="append",
        default=[],
        metavar="MODULE.NAME=VALUE",
        help="override a module constant (JSON value) for this run, e.g. --const "
        "tabsynth.synthesizers.dp_tails.POOL_SHARE=0.75; only where the code reads it at run "
        "time (not a default argument, nor a copy made by 'from ... import')",
    )


def apply_consts(parser: argparse.ArgumentParser, items: list[str]) -> dict[str, Any]:
    """Set each ``--const MODULE.NAME=VALUE``; returns them, for the output line."""
    consts = parse_params(items)
    for target, value in consts.items():
        module, _, name = target.rpartition(".")
        if not module or not hasattr(importlib.import_module(module), name):
            parser.error(f"--const {target}: not a MODULE.NAME of an existing constant")
        setattr(importlib.import_module(module), name, value)
    return consts


@dataclass(frozen=True)
class Scorer:
    """The harness's 3-way k-marginal against a table's training rows (20 quantile bins)."""

    disc: Discretizer
    real: Any

    @classmethod
    def of(cls, data: Any) -> Scorer:
        disc = Discretizer.fit(data.train, data.metadata, bins=20)
        return cls(disc, disc.encode(data.train))

    def k_marginal(self, encoded: Any) -> float:
        """Score of an already encoded table (``self.disc.encode(frame)``)."""
        return k_marginal_detail(self.disc, self.real, encoded, k=3, max_sets=1000, seed=0)["score"]

    def score(self, frame: Any) -> float:
        """Score of a table of values."""
        return self.k_marginal(self.disc.encode(frame))


@dataclass(frozen=True)
class Scores:
    """A holdout-sized sample of a fitted synthesizer scored like the harness: the 3-way
    k-marginal against the training rows, and the same for the real holdout (the reference)."""

    disc: Discretizer
    real: Any
    fake: Any
    held: Any
    k_marginal: float
    reference: float

    @classmethod
    def of(cls, synth: Any, data: Any) -> Scores:
        scorer = Scorer.of(data)
        disc = scorer.disc
        fake = disc.encode(synth.sample(len(data.holdout), seed=0))
        held = disc.encode(data.holdout)
        return cls(disc, scorer.real, fake, held, scorer.k_marginal(fake), scorer.k_marginal(held))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table")
    parser.add_argument("method", choices=sorted(METHODS))
    parser.add_argument("--eps", type=float, default=1.0)
    given = parser.add_mutually_exclusive_group()
    given.add_argument("--meta", action="store_true", help="public metadata (the data card)")
    given.add_argument(
        "--bare",
        action="store_true",
        help="metadata=None: the training frame's dtypes are the schema (not the card's kinds)",
    )
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--data-dir", default="../shared/datasets")
    parser.add_argument(
        "--noise-seed",
        type=int,
        default=None,
        help="seeded DP noise (NOT private): paired comparisons of two code versions",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="a synthesizer parameter (JSON value), e.g. --set max_iters=500",
    )
    add_const_option(parser)
    parser.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="NAME=COL,COL,...",
        help="declare categorical columns that share their values (value_group), e.g. "
        "--group icd9=diag_1,diag_2,diag_3",
    )
    args = parser.parse_args()
    if args.bare and args.group:
        parser.error("--group declares metadata; --bare fits without any")
    data = load(args.table, Path(args.data_dir), rows=args.rows)
    metadata = None if args.bare else data.metadata if args.meta else data.metadata.schema_only()
    for item in args.group:
        group, _, names = item.partition("=")
        metadata = metadata.with_columns(
            **{c: dataclasses.replace(metadata[c], value_group=group) for c in names.split(",")}
        )
    params = parse_params(args.set)
    consts = apply_consts(parser, args.const)
    synth = METHODS[args.method](epsilon=args.eps, noise_seed=args.noise_seed, **params)
    start, cpu = time.time(), time.process_time()
    synth.fit(data.train, metadata=metadata)
    fit_s, cpu_s = time.time() - start, time.process_time() - cpu
    scores = Scores.of(synth, data)
    disc, real, fake, held = scores.disc, scores.real, scores.fake, scores.held
    score, reference = scores.k_marginal, scores.reference
    print(
        f"{args.table} {args.method} eps={args.eps:g} meta={'none' if args.bare else args.meta} "
        f"{params or ''} "
        f"{consts or ''} {' '.join(args.group)} "
        f"noise_seed={args.noise_seed} fit={fit_s:.1f}s "
        f"cpu={cpu_s:.1f}s load={os.getloadavg()[0]:.2f} kmarg={score:.1f} real={reference:.1f}"
    )
    # a score of 0.0 (no category kept) is the worst, not missing
    unscored = lambda r: 1.0 if r["score"] is None else r["score"]  # noqa: E731
    rows = sorted(column_report(disc, real, fake), key=unscored)[:6]
    # the real holdout's score of the same column: a holdout-sized sample of a column of
    # hundreds of values falls short of 1 by sampling alone
    holdout = {r["column"]: r["score"] for r in column_report(disc, real, held)}
    shown = lambda score: "none" if score is None else f"{score:.3f}"  # noqa: E731
    print(
        "  worst 1-way (real holdout):",
        ", ".join(
            f"{r['column']}={shown(r['score'])} ({shown(holdout[r['column']])})" for r in rows
        ),
    )
    sets, _ = choose_sets(len(disc.columns), 3, 1000, 0)
    excess: dict[str, list[float]] = {}
    for cols in sets:
        gap = marginal_tvd(real.codes, fake.codes, cols, disc.n_levels) - marginal_tvd(
            real.codes, held.codes, cols, disc.n_levels
        )
        for c in cols:
            excess.setdefault(disc.names[c], []).append(gap)
    worst = sorted(excess.items(), key=lambda kv: -np.mean(kv[1]))[:12]
    print("  excess 3-way TVD:", ", ".join(f"{k}={np.mean(v):.2f}" for k, v in worst))


if __name__ == "__main__":
    main()
