"""Benchmark tabsynth against SDV, smartnoise-synth and MOSTLY AI on real sensitive tables.

Usage (from the repository root; see benchmarks/README.md)::

    nice -n 10 python -m benchmarks.run --data-dir ../shared/datasets --datasets adult \\
        --methods all --epsilons 1,3 --timeout 900
    python -m benchmarks.run --setup-peers            # create the peer venvs under .peers/
    python -m benchmarks.run --quick                  # CI smoke test (< 3 minutes)
    nice -n 10 python -m benchmarks.run --scaling     # fit time / memory at 10k-1M rows
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.harness import datasets, methods, results, scaling, suite, venvs
from benchmarks.harness.plots import write_plots

DEFAULT_DATASETS = "adult,credit_default_taiwan,diabetes130"
DEFAULT_OUT = venvs.REPO / "benchmarks" / "results"
#: --quick: a few hundred rows of the bundled sample, tabsynth only, small models, short caps.
#: No ``-nometa`` method: at ε = 1 a few hundred rows cannot pay for DP bounds, and the fit
#: rightly stops with a DomainEstimationError instead of guessing a domain.
QUICK_ROWS = 400
QUICK_TIMEOUT_S = 60.0
QUICK_METHODS = "ts-gaussian_copula,ts-ctgan,ts-mst,ts-aim,ts-autoregressive,ts-autoregressive-dp"
QUICK_OVERRIDES: dict[str, dict[str, Any]] = {
    "ts-ctgan": {"epochs": 2},
    "ts-mst": {"max_iters": 100},
    "ts-aim": {"round_iters": 20, "max_iters": 100},
    "ts-autoregressive": {"epochs": 2},
    "ts-autoregressive-dp": {"epochs": 2},
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    shared = os.environ.get("TABSYNTH_SHARED", str(venvs.REPO.parent / "shared"))
    p.add_argument("--data-dir", type=Path, default=Path(shared) / "datasets")
    p.add_argument(
        "--datasets",
        help=f"comma list of table names (default {DEFAULT_DATASETS}; --scaling: "
        f"{scaling.DATASET})",
    )
    p.add_argument(
        "--methods",
        default="all",
        help=f"comma list of method keys or groups ({', '.join(methods.GROUPS)}); keys: "
        + ", ".join(methods.METHODS),
    )
    p.add_argument("--epsilons", default="0.5,1,3,10", help="ε of the DP methods, comma list")
    p.add_argument("--rows", type=int, help="use a random subset of this many rows per table")
    p.add_argument("--repeats", type=int, default=1, help="runs per (method, ε), seeds 0..R-1")
    p.add_argument("--out", type=Path, help="results folder (default benchmarks/results/)")
    p.add_argument("--timeout", type=float, help="cap per run in seconds (default 900)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="METHOD.PARAM=VALUE",
        help="override a method parameter, e.g. ts-ctgan.epochs=10 (repeatable)",
    )
    p.add_argument("--resume", action="store_true", help="keep finished runs found in --out")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the markdown and plots from the runs.csv in --out, run nothing",
    )
    p.add_argument(
        "--setup-peers",
        nargs="?",
        const=",".join(venvs.ENVS),
        metavar="NAMES",
        help=f"create the peer venvs ({', '.join(venvs.ENVS)}) and exit",
    )
    p.add_argument("--quick", action="store_true", help="CI smoke run (bundled sample, tabsynth)")
    p.add_argument("--scaling", action="store_true", help="scaling curve instead (see scaling.py)")
    p.add_argument(
        "--scaling-rows",
        default=",".join(str(n) for n in scaling.ROWS),
        help="table sizes of the scaling curve",
    )
    return p.parse_args(argv)


def parse_overrides(pairs: list[str]) -> dict[str, dict[str, Any]]:
    """``METHOD.PARAM=VALUE`` pairs; values are JSON where they parse (numbers, true, lists)."""
    import json

    out: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        target, sep, raw = pair.partition("=")
        key, dot, param = target.partition(".")
        if not sep or not dot or key not in methods.METHODS:
            raise SystemExit(f"--set takes METHOD.PARAM=VALUE with a known method, not {pair!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out.setdefault(key, {})[param] = value
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = recorded_command(sys.argv[1:] if argv is None else argv)
    if args.setup_peers:
        ok = [venvs.setup(venvs.ENVS[name.strip()]) for name in args.setup_peers.split(",")]
        return 0 if all(ok) else 1
    out = args.out or DEFAULT_OUT
    if args.report_only:
        rows, meta = results.load_runs(out, finished_only=False)
        if meta is None:
            raise SystemExit(f"no runs.csv and meta.json in {out}")
        publish(out, rows, meta)
        return 0
    overrides = parse_overrides(args.set)
    timeout = args.timeout or 900.0
    if args.scaling:
        sizes = [int(n) for n in args.scaling_rows.split(",")]
        name = args.datasets or scaling.DATASET
        chosen = methods.select(args.methods)
        return scaling.run(args.data_dir, name, chosen, sizes, timeout, overrides, out, command)
    if args.quick:
        out = args.out or Path(tempfile.mkdtemp(prefix="tabsynth-bench-"))
        for key, params in QUICK_OVERRIDES.items():
            overrides[key] = {**params, **overrides.get(key, {})}
        tables = [datasets.load_quick(args.rows or QUICK_ROWS)]
        chosen = methods.select(QUICK_METHODS if args.methods == "all" else args.methods)
        settings = suite.Settings([1.0], args.repeats, args.timeout or QUICK_TIMEOUT_S, overrides)
    else:
        names = [n.strip() for n in (args.datasets or DEFAULT_DATASETS).split(",") if n.strip()]
        tables = [datasets.load(n, args.data_dir, args.rows) for n in names]
        chosen = methods.select(args.methods)
        epsilons = [float(e) for e in args.epsilons.split(",")]
        settings = suite.Settings(epsilons, args.repeats, timeout, overrides)

    rows: list[dict[str, Any]] = []
    meta = results.provenance(command)
    if args.resume:
        rows, old = results.load_runs(out)
        if old is not None:
            meta["commands"] = [*old["commands"], command]
            earlier = old.get("loads", [None] * len(old["commands"]))
            meta["loads"] = [*earlier, *meta["loads"]]

    def save() -> None:
        results.write_runs(out, rows, meta)

    for table in tables:
        print(f"== {table.name}: {len(table.train):,} train / {len(table.holdout):,} holdout rows")
        suite.run_dataset(table, chosen, settings, out / "tmp", rows, save)
    save()
    publish(out, rows, meta)
    return 0


def recorded_command(argv: list[str]) -> str:
    """The command as typed, with the niceness it ran at (results must say how they were made)."""
    niced = f"nice -n {os.nice(0)} " if os.nice(0) else ""
    return f"{niced}python -m benchmarks.run " + " ".join(shlex.quote(a) for a in argv)


def publish(out: Path, rows: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    """The markdown tables, headline and plots for ``rows``."""
    written = results.write_markdown(out, rows, meta)
    written += write_plots(out, pd.DataFrame(rows, columns=results.COLUMNS), meta)
    print(f"results in {out}: runs.csv, " + ", ".join(p.name for p in written))


if __name__ == "__main__":
    sys.exit(main())
