"""Scaling curve: fit time, peak memory and sampling throughput against table size.

A real table (adult's training split) is resampled with replacement to 10k, 100k and 1M rows,
so the columns and their dependence stay real while only the row count grows. Each tabsynth
synthesizer is fitted once per size in its own capped process (DP ones at ε = 1 with the data
card's public metadata), then samples :data:`SAMPLE_ROWS` rows for the throughput. Fidelity is
not scored here: the comparison tables do that. A method that times out at one size is not
tried at larger ones; those sizes get a "skipped" row saying so.

Usage: ``nice -n 10 python -m benchmarks.run --scaling --methods tabsynth --timeout 600``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.harness import datasets, results, runner
from benchmarks.harness.methods import Method
from benchmarks.harness.suite import make_spec

DATASET = "adult"
ROWS = (10_000, 100_000, 1_000_000)
SAMPLE_ROWS = 100_000
EPSILON = 1.0
COLUMNS = [
    "method", "rows", "epsilon", "status", "fit_s", "sample_s", "sample_rows_per_s",
    "peak_rss_mb", "wall_s", "timeout_s", "note",
]  # fmt: skip


def run(
    data_dir: Path,
    name: str,
    chosen: list[Method],
    sizes: list[int],
    timeout_s: float,
    overrides: dict[str, dict[str, Any]],
    out: Path,
    command: str,
) -> int:
    """Run the curve and write ``scaling.csv``, ``scaling.md`` and ``plots/scaling.png``."""
    base = datasets.load(name, data_dir)
    meta = results.provenance(command)
    work = out / "tmp" / "scaling"
    work.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    timed_out: set[str] = set()
    for n in sizes:
        grown = base.train.sample(n, replace=True, random_state=0).reset_index(drop=True)
        table = dataclasses.replace(base, name=f"{name}_{n}", train=grown)
        shared = {"train": str(work / f"train_{n}.parquet"), "metadata": str(work / "md.json")}
        grown.to_parquet(shared["train"], index=False)
        base.metadata.save(shared["metadata"])
        for method in chosen:
            if method.library != "tabsynth":
                continue
            method = method.with_overrides(overrides.get(method.key, {}))
            rows.append(_one(method, table, n, shared, work, timeout_s, timed_out))
            _write(out, rows, meta)
    return 0


def _one(
    method: Method,
    table: datasets.Dataset,
    n: int,
    shared: dict[str, str],
    work: Path,
    timeout_s: float,
    timed_out: set[str],
) -> dict[str, Any]:
    eps = EPSILON if method.private else None
    row: dict[str, Any] = {"method": method.key, "rows": n, "epsilon": eps, "timeout_s": timeout_s}
    reason = method.unavailable()
    if reason is not None:
        return {**row, "status": reason.split(":")[0], "note": reason}
    if method.key in timed_out:
        return {**row, "status": "skipped", "note": "timed out at a smaller size"}
    print(f"scaling: {method.key} on {n:,} rows ...", flush=True)
    workdir = work / f"{method.key}_{n}"
    spec = make_spec(method, eps, 0, table, shared, workdir, min(n, SAMPLE_ROWS))
    outcome = runner.run(method.command(), spec, workdir, timeout_s)
    row.update(status=outcome.status, wall_s=outcome.wall_s, peak_rss_mb=outcome.peak_rss_mb)
    if outcome.status == "timeout":
        timed_out.add(method.key)
        row["note"] = f"killed after the {timeout_s:g} s cap"
    elif outcome.result is not None:
        res = outcome.result
        row.update(
            fit_s=res["fit_s"],
            sample_s=res["sample_s"],
            sample_rows_per_s=res["rows_sampled"] / max(res["sample_s"], 1e-9),
        )
    else:
        row["note"] = outcome.error
    print(f"  -> {row['status']} in {outcome.wall_s:.0f} s", flush=True)
    return row


def _write(out: Path, rows: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    header = "\n".join(f"# command: {c}" for c in meta["commands"])
    csv = frame.to_csv(index=False, float_format="%.6g")
    (out / "scaling.csv").write_text(f"{header}\n# machine: {meta['machine']}\n{csv}")
    lines = [
        "# Scaling: fit time, peak memory and sampling throughput against rows",
        "",
        f"adult's training split resampled with replacement; DP methods at ε = {EPSILON:g} with "
        f"the data card's public metadata; throughput from sampling {SAMPLE_ROWS:,} rows "
        "(or the table size, if smaller).",
        "",
        "| method | rows | status | fit s | peak MB | sampling rows/s | note |",
        "|---|---:|---|---:|---:|---:|---|",
    ]
    for _, r in frame.iterrows():
        lines.append(
            f"| {r.method} | {r.rows:,} | {r.status} | {_f(r.fit_s, '.1f')} "
            f"| {_f(r.peak_rss_mb, '.0f')} | {_f(r.sample_rows_per_s, ',.0f')} "
            f"| {'' if pd.isna(r.note) else r.note} |"
        )
    lines += ["", *results.provenance_lines(meta)]
    (out / "scaling.md").write_text("\n".join(lines) + "\n")
    _plot(out, frame)


def _plot(out: Path, frame: pd.DataFrame) -> None:
    from benchmarks.harness.plots import plt

    ok = frame[frame.status == "ok"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    for method, runs in ok.groupby("method", sort=False):
        axes[0].plot(runs.rows, runs.fit_s, marker="o", label=method)
        axes[1].plot(runs.rows, runs.peak_rss_mb, marker="o", label=method)
    for ax, label in zip(axes, ("fit time, s", "peak memory, MB"), strict=True):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training rows (log)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7)
    (out / "plots").mkdir(exist_ok=True)
    fig.savefig(out / "plots" / "scaling.png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def _f(value: Any, spec: str) -> str:
    return "" if pd.isna(value) else format(value, spec)
