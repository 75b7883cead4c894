"""Benchmark AIM or MST on a real table: fidelity, utility, time and memory.

Usage (from the repository root)::

    python -m benchmarks.marginal.run --data ../shared/datasets/adult.csv.gz --epsilon 1 \\
        --method aim --out benchmarks/marginal/out

Protocol: the table is split 80/20 with a fixed seed; the synthesizer is fitted on the 80 %
under (ε, δ = 1e-9)-DP with no metadata (so the domain is estimated under DP from the same
budget) unless ``--metadata`` gives a public one; as many rows as the training split are
sampled and scored against it:

* k-marginal: ``1000 * (1 - mean TVD)`` over all 3-way marginals, scored against the training
  split, twice: ``k_marginal_quantile`` is the issue's definition (numbers cut at 20 plain
  quantiles of the real training column, as in the reference figures), ``k_marginal`` is
  :func:`tabsynth.evaluation.fidelity.k_marginal`, which also gives a spike such as
  ``capital_gain == 0`` its own bin and cuts the rest at quantiles, so it also sees how the
  tail of a spiky column is reproduced. The real 20 % holdout scored the same way is the
  reference a perfect synthesizer could reach;
* TSTR: ROC AUC on the real holdout of a HistGradientBoosting classifier trained on the
  synthetic rows for the target column (``--target``, default ``income``), next to TRTR (the
  same classifier trained on the real training split);
* fit time, time to sample 1,000,000 rows (wall clock, and CPU time of the process, which
  other users of a shared machine do not inflate), peak resident memory of the process.

One JSON file per run is written to ``--out`` (default: print only).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import statistics
import sys
import time
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tabsynth.domain import to_float
from tabsynth.evaluation.fidelity import k_marginal
from tabsynth.metadata import GENERATED_KINDS, Metadata
from tabsynth.synthesizers.aim import AIMSynthesizer
from tabsynth.synthesizers.mst import MSTSynthesizer

SPLIT_SEED = 0
SAMPLE_SEED = 0
TIMING_ROWS = 1_000_000
SUMMARY = (
    "k_marginal_quantile",
    "k_marginal",
    "tstr_auc",
    "fit_seconds",
    "fit_cpu_seconds",
    "sample_1m_seconds",
    "sample_1m_cpu_seconds",
    "peak_rss_mb",
)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = parse_args(argv)
    if args.summarize:
        print(summarize(Path(args.summarize)))
        return []
    data_path = Path(args.data or "")
    if not data_path.is_file():
        sys.exit(f"data file {data_path} not found; pass --data PATH (e.g. the adult table)")
    table = pd.read_csv(data_path, keep_default_na=False, na_values=[""])
    train, test = split(table, SPLIT_SEED)
    metadata = Metadata.load(args.metadata) if args.metadata else None
    scoring = Metadata.detect(train)
    reference = {
        "k_marginal_real_holdout": k_marginal(train, test, scoring, k=3, bins=20),
        "k_marginal_quantile_real_holdout": k_marginal_quantile(train, test, scoring),
    }
    if args.target in table.columns:
        reference["trtr_auc"] = tstr_auc(train, test, args.target)
    results = []
    for _ in range(args.repeat):
        result = run_once(args, train, test, metadata, scoring) | reference
        result["data"] = str(data_path)
        result["metadata"] = args.metadata
        results.append(result)
        print(json.dumps({k: v for k, v in result.items() if k != "model_cliques"}, indent=2))
        if args.out:
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            name = f"{args.method}_eps{args.epsilon:g}_{time.strftime('%Y%m%d-%H%M%S')}.json"
            (out / name).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(summary(argv if argv is not None else sys.argv[1:], results))
    return results


def run_once(
    args: argparse.Namespace,
    train: pd.DataFrame,
    test: pd.DataFrame,
    metadata: Metadata | None,
    scoring: Metadata,
) -> dict[str, Any]:
    """Fit, sample and score once (fresh DP noise every time)."""
    synth = make(args)
    start, cpu = time.perf_counter(), time.process_time()
    synth.fit(train, metadata)
    fit_s, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
    synthetic = synth.sample(len(train), seed=SAMPLE_SEED)
    start, cpu = time.perf_counter(), time.process_time()
    synth.sample(TIMING_ROWS, seed=SAMPLE_SEED + 1)
    sample_s, sample_cpu = time.perf_counter() - start, time.process_time() - cpu
    result = {
        "method": args.method,
        "epsilon": args.epsilon,
        "delta": synth.delta,
        "params": synth.get_params(),
        "rows_train": len(train),
        "rows_test": len(test),
        "k_marginal": k_marginal(train, synthetic, scoring, k=3, bins=20),
        "k_marginal_quantile": k_marginal_quantile(train, synthetic, scoring),
        "fit_seconds": fit_s,
        "fit_cpu_seconds": fit_cpu,
        "sample_1m_seconds": sample_s,
        "sample_1m_cpu_seconds": sample_cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "spent_epsilon": synth.privacy.spent_epsilon,
        "spent_delta": synth.privacy.spent_delta,
        "measurements": len(synth.privacy.entries),
        "model_cliques": [list(c) for c in synth.model_.tree.cliques],
        "load_average": os.getloadavg(),
        "environment": environment(),
    }
    if args.target in test.columns:
        result["tstr_auc"] = tstr_auc(synthetic, test, args.target)
    return result


def summary(argv: list[str], results: list[dict[str, Any]]) -> str:
    """One Markdown table row: mean ± standard deviation over the repetitions."""
    skip = {"--data", "--out", "--repeat"}
    config = " ".join(a for i, a in enumerate(argv) if a not in skip and argv[i - 1] not in skip)
    return row(config, results)


def row(config: str, results: list[dict[str, Any]]) -> str:
    cells = []
    for key in SUMMARY:
        values = [r[key] for r in results if key in r]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        cells.append(f"{statistics.mean(values):.4g} ± {spread:.2g}" if values else "-")
    return f"| {config} (n={len(results)}) | " + " | ".join(cells) + " |"


def summarize(folder: Path) -> str:
    """A Markdown table of every JSON result in ``folder``, one row per configuration."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(folder.glob("*.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        cls = AIMSynthesizer if result["method"] == "aim" else MSTSynthesizer
        defaults = cls(result["epsilon"]).get_params()
        changed = [f"{k}={v!r}" for k, v in result["params"].items() if defaults.get(k) != v]
        metadata = Path(result["metadata"]).name if result.get("metadata") else "none"
        config = f"{result['method']} ε={result['epsilon']:g} metadata={metadata} "
        config += " ".join(changed)
        groups.setdefault(config, []).append(result)
    header = "| configuration | " + " | ".join(SUMMARY) + " |"
    lines = [header, "|---" * (len(SUMMARY) + 1) + "|"]
    return "\n".join(lines + [row(c, rs) for c, rs in groups.items()])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="CSV table (may be .csv.gz)")
    parser.add_argument("--summarize", metavar="DIR", help="only print a table of DIR's results")
    parser.add_argument("--epsilon", type=float, default=1.0)
    parser.add_argument("--method", choices=("aim", "mst"), default="aim")
    parser.add_argument("--metadata", help="public metadata JSON (default: estimate under DP)")
    parser.add_argument("--target", default="income", help="column of the TSTR task")
    parser.add_argument(
        "--binning",
        choices=("auto", "quantile", "uniform"),
        default="auto",
        help="the synthesizer's binning parameter",
    )
    parser.add_argument("--out", help="folder for the JSON results")
    parser.add_argument("--repeat", type=int, default=1, help="fits with fresh noise")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="extra synthesizer parameter (JSON value), e.g. --set max_iters=500",
    )
    return parser.parse_args(argv)


def make(args: argparse.Namespace) -> AIMSynthesizer | MSTSynthesizer:
    extra = {}
    for item in args.set:
        key, _, value = item.partition("=")
        extra[key] = json.loads(value)
    cls = AIMSynthesizer if args.method == "aim" else MSTSynthesizer
    return cls(args.epsilon, binning=args.binning, **extra)


def split(table: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(table))
    cut = int(0.8 * len(table))
    return (
        table.iloc[order[:cut]].reset_index(drop=True),
        table.iloc[order[cut:]].reset_index(drop=True),
    )


def k_marginal_quantile(
    real: pd.DataFrame, synth: pd.DataFrame, metadata: Metadata, bins: int = 20
) -> float:
    """The issue's k-marginal: ``1000 * (1 - mean TVD)`` over all 3-way marginals, numbers
    (and dates) cut at the distinct interior ``bins``-quantiles of the real column, categories
    as they are; missing values, and categories the real column lacks, get a code each."""
    real_codes, synth_codes, levels = [], [], []
    for name, spec in metadata.columns.items():
        if spec.kind in GENERATED_KINDS:
            continue
        if spec.kind in ("numerical", "datetime"):
            is_date = spec.kind == "datetime"
            x, y = to_float(real[name], is_date), to_float(synth[name], is_date)
            edges = np.unique(np.nanquantile(x, np.linspace(0, 1, bins + 1)[1:-1]))
            pair = [
                np.where(np.isnan(v), len(edges) + 1, np.searchsorted(edges, v, "right"))
                for v in (x, y)
            ]
            size = len(edges) + 2
        else:
            cats = pd.Index(real[name].dropna().astype(str).unique())
            pair = []
            for column in (real[name], synth[name]):
                code = cats.get_indexer(column.astype(str))
                pair.append(
                    np.where(column.isna(), len(cats), np.where(code < 0, len(cats) + 1, code))
                )
            size = len(cats) + 2
        real_codes.append(pair[0])
        synth_codes.append(pair[1])
        levels.append(size)
    tvds = []
    for cols in itertools.combinations(range(len(levels)), 3):
        sizes = [levels[c] for c in cols]
        hist = [
            np.bincount(
                np.ravel_multi_index([codes[c] for c in cols], sizes), minlength=np.prod(sizes)
            )
            / len(codes[0])
            for codes in (real_codes, synth_codes)
        ]
        tvds.append(0.5 * np.abs(hist[0] - hist[1]).sum())
    return 1000.0 * (1.0 - float(np.mean(tvds)))


def tstr_auc(train: pd.DataFrame, test: pd.DataFrame, target: str) -> float:
    """ROC AUC on ``test`` of a classifier fitted on ``train``; the rarer class of the real
    test labels is the positive one."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    positive = test[target].value_counts().idxmin()
    features = [c for c in test.columns if c != target]
    both = pd.concat([train[features], test[features]], keys=["train", "test"])
    for column in features:
        if not pd.api.types.is_numeric_dtype(test[column]):
            both[column] = both[column].astype(str).astype("category")
        else:
            both[column] = pd.to_numeric(both[column], errors="coerce")
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    model.fit(both.loc["train"], (train[target] == positive).to_numpy())
    score = model.predict_proba(both.loc["test"])[:, 1]
    return float(roc_auc_score((test[target] == positive).to_numpy(), score))


def environment() -> dict[str, Any]:
    versions = {}
    for package in ("numpy", "pandas", "scipy", "scikit-learn", "mbi", "jax"):
        try:
            versions[package] = package_metadata.version(package)
        except package_metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpus": len(os.sched_getaffinity(0)),
        "packages": versions,
    }


if __name__ == "__main__":
    main()
