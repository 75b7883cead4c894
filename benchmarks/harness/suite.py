"""The benchmark loop: every method at every ε on one dataset, one row per attempt.

For each (method, ε, repeat) the run's spec is written, the run is started in its own process
(:mod:`.runner`), and its synthetic table is scored here (:mod:`.scoring`). Nothing is dropped:
a method that cannot run gives an "unavailable" / "not installed" row, a run over its cap a
"timeout" row, a crash an "error" row with the end of its output.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.harness import runner, scoring
from benchmarks.harness.datasets import Dataset
from benchmarks.harness.methods import Method
from benchmarks.harness.results import REFERENCE

#: δ of every DP run that takes one (tabsynth's default; far below 1/n for these tables).
DELTA = 1e-9
Row = dict[str, Any]


@dataclass(frozen=True)
class Settings:
    """What every run of one benchmark shares."""

    epsilons: list[float]
    repeats: int = 1
    timeout_s: float = 900.0
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)


def run_dataset(
    dataset: Dataset,
    methods: list[Method],
    settings: Settings,
    workdir: Path,
    rows: list[Row],
    save: Callable[[], None],
    log: Callable[[str], None] = print,
) -> None:
    """Append to ``rows`` every attempt not already there, calling ``save`` after each."""
    base = workdir / dataset.name
    base.mkdir(parents=True, exist_ok=True)
    train_path, metadata_path = base / "train.parquet", base / "metadata.json"
    dataset.train.to_parquet(train_path, index=False)
    dataset.metadata.save(metadata_path)
    shared = {"train": str(train_path), "metadata": str(metadata_path)}
    done = {(r["dataset"], r["method"], _eps(r["epsilon"]), r["repeat"]) for r in rows}

    if (dataset.name, REFERENCE, None, 0) not in done:
        log(f"{dataset.name}: scoring the real holdout (reference row)")
        rows.append(_row(dataset, None, None, 0, "reference", scoring.score_reference(dataset)))
        save()
    for method in methods:
        method = method.with_overrides(settings.overrides.get(method.key, {}))
        reason = method.unavailable()
        if reason is not None:
            log(f"{dataset.name}: {method.key}: {reason}")
            rows.append(_row(dataset, method, None, 0, reason.split(":")[0], {"note": reason}))
            save()
            continue
        for eps in settings.epsilons if method.private else [None]:
            for repeat in range(settings.repeats):
                if (dataset.name, method.key, _eps(eps), repeat) in done:
                    continue
                log(f"{dataset.name}: {method.key} ε={eps} repeat {repeat} ...")
                rows.append(run_one(dataset, method, eps, repeat, settings, shared, base, log))
                save()


def run_one(
    dataset: Dataset,
    method: Method,
    eps: float | None,
    repeat: int,
    settings: Settings,
    shared: dict[str, str],
    base: Path,
    log: Callable[[str], None],
) -> Row:
    """Fit and sample in a child process, then score; always returns a row."""
    workdir = base / f"{method.key}_eps{eps}_r{repeat}"
    spec = make_spec(method, eps, repeat, dataset, shared, workdir, len(dataset.train))
    (workdir / "result.json").unlink(missing_ok=True)
    outcome = runner.run(method.command(), spec, workdir, settings.timeout_s)
    values: Row = {
        "wall_s": outcome.wall_s,
        "peak_rss_mb": outcome.peak_rss_mb,
        "timeout_s": settings.timeout_s,
    }
    status = outcome.status
    if status == "timeout":
        values["note"] = f"killed after the {settings.timeout_s:g} s cap"
    elif status == "error":
        values["note"] = outcome.error
    if outcome.result is not None:
        res = outcome.result
        values.update(
            fit_s=res["fit_s"],
            sample_s=res["sample_s"],
            rows_synthetic=res["rows_sampled"],
            sample_rows_per_s=res["rows_sampled"] / max(res["sample_s"], 1e-9),
            epsilon_spent=res.get("epsilon_spent"),
            delta_spent=res.get("delta_spent"),
            epochs_run=res.get("epochs_run"),
            config=json.dumps(res.get("config"), default=str, sort_keys=True),
        )
        if res.get("note"):
            values["note"] = res["note"]
        try:
            values.update(scoring.score(dataset, pd.read_parquet(spec["synthetic"])))
        except Exception as exc:  # a bad table from a peer is a result, not a crash
            status = "error"
            values["note"] = f"scoring failed: {type(exc).__name__}: {exc}"
    log(
        f"  -> {status} in {outcome.wall_s:.0f} s"
        + (f", k-marginal {values['k_marginal']:.0f}" if values.get("k_marginal") else "")
        + (f" ({values['note']})" if values.get("note") else "")
    )
    return _row(dataset, method, eps, repeat, status, values)


def make_spec(
    method: Method,
    eps: float | None,
    seed: int,
    dataset: Dataset,
    shared: dict[str, str],
    workdir: Path,
    n: int,
) -> dict[str, Any]:
    """The JSON a run script reads (:mod:`benchmarks.harness.peers.common`).

    Peers get the column kinds (public schema) and the target, never the data card's domain:
    each is run the way its own documentation says, with its own preprocessing.
    """
    return {
        **method.options,
        "module": method.module,
        "train": shared["train"],
        "metadata": shared["metadata"] if method.public_metadata else None,
        "kinds": {name: spec.kind for name, spec in dataset.metadata.columns.items()},
        "target": dataset.target,
        "synthetic": str(workdir / "synthetic.parquet"),
        "result": str(workdir / "result.json"),
        "workspace": str(workdir / "workspace"),
        "n": n,
        "seed": seed,
        "epsilon": eps,
        "delta": DELTA if method.private else None,
    }


def _row(
    dataset: Dataset,
    method: Method | None,
    eps: float | None,
    repeat: int,
    status: str,
    values: Row,
) -> Row:
    row: Row = {
        "dataset": dataset.name,
        "method": REFERENCE if method is None else method.key,
        "library": "real data" if method is None else method.library,
        "private": False if method is None else method.private,
        "epsilon": eps,
        "metadata": _metadata_label(method),
        "repeat": repeat,
        "status": status,
        "rows_train": len(dataset.train),
        "rows_holdout": len(dataset.holdout),
    }
    row.update(values)
    return row


def _metadata_label(method: Method | None) -> str:
    """Where the run's domain came from (the CSV's ``metadata`` column)."""
    if method is None:
        return ""
    if method.options.get("metadata_from") == "draft":
        return "drafted (unedited)"
    if method.options.get("metadata_from") == "detect":
        return "peer's own detection"
    if method.library != "tabsynth":
        return "peer's own"
    if method.public_metadata:
        return "public (data card)"
    return "DP-estimated" if method.private else "detected"


def _eps(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
