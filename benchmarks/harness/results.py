"""Results on disk: the CSV of every run, a markdown table per dataset, plots, the headline.

Every file says how it was made: the CSV starts with ``#`` lines (read it with
``pd.read_csv(path, comment="#")``), the markdown files and ``meta.json`` carry the commands,
package versions and machine, and each plot has them in its footer. The CSV is rewritten after
every run, so an interrupted benchmark keeps what it finished (``--resume`` continues it).
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.harness import venvs

COLUMNS = [
    "dataset", "method", "library", "private", "epsilon", "metadata", "repeat", "status",
    "rows_train", "rows_holdout", "rows_synthetic",
    "fit_s", "sample_s", "sample_rows_per_s", "peak_rss_mb", "wall_s", "timeout_s", "epochs_run",
    "epsilon_spent", "delta_spent",
    "k_marginal", "k_marginal_matched", "k_marginal_ref",
    "two_way_accuracy", "two_way_accuracy_ref", "two_way_tvd",
    "detection_auc", "tstr_auc", "trtr_auc", "mia_advantage", "privacy_risk", "eval_s",
    "config", "note",
]  # fmt: skip
#: Columns that hold labels, not measurements.
TEXT_COLUMNS = (
    "dataset", "method", "library", "private", "metadata", "status", "privacy_risk", "config",
    "note",
)  # fmt: skip
#: Statuses of rows that hold a finished attempt (kept by ``--resume``).
FINISHED = ("ok", "timeout", "error", "reference")
REFERENCE = "real-holdout"
TABSYNTH_PACKAGES = (
    "tabsynth", "numpy", "pandas", "scikit-learn", "torch", "sdv", "opacus", "mbi", "jax",
    "pycountry",  # the vocabularies a DP fit lists (synthesizers/vocabularies.py)
)  # fmt: skip
PEER_PACKAGES = ("sdv", "smartnoise-synth", "opacus", "mostlyai-engine", "torch", "mbi")
#: Pairs compared in the headline: (tabsynth method, peer method). The ``-nometa`` pairs are
#: the like-for-like ones for DP: the peers estimate their domains under DP too.
HEADLINE_PAIRS = (
    ("ts-gaussian_copula", "sdv-gaussian_copula"),
    ("ts-gaussian_copula-draft", "sdv-gaussian_copula-detect"),
    ("ts-ctgan", "sdv-ctgan"),
    ("ts-tvae", "sdv-tvae"),
    ("ts-mst", "sn-mst"),
    ("ts-mst-nometa", "sn-mst"),
    ("ts-aim", "sn-aim"),
    ("ts-aim-nometa", "sn-aim"),
    ("ts-autoregressive-dp", "sn-dpctgan"),
    ("ts-autoregressive-dp-nometa", "sn-dpctgan"),
    ("ts-autoregressive-dp", "mostly-argn-dp"),
    ("ts-autoregressive-dp-nometa", "mostly-argn-dp"),
    ("ts-autoregressive", "mostly-argn"),
)


# ---------------------------------------------------------------------------------------------
# provenance


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model and load: what a reader needs to compare timings."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram_gib = None
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        total_kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        ram_gib = round(total_kib / 2**20, 1)
    return {
        "cores": os.cpu_count(),
        "ram_gib": ram_gib,
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def versions() -> dict[str, Any]:
    """tabsynth's environment, its git commit, and each installed peer's key packages."""
    found: dict[str, Any] = {}
    for name in TABSYNTH_PACKAGES:
        try:
            found[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            found[name] = "missing"
    git = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, cwd=venvs.REPO
    )
    found["tabsynth_git"] = git.stdout.strip() or "unknown"
    peers = {}
    for env in venvs.ENVS.values():
        record = venvs.install_record(env)
        if record is None:
            peers[env.name] = "not installed"
            continue
        pins = [p for p in record["freeze"] if p.split("==")[0].lower() in PEER_PACKAGES]
        peers[env.name] = {"packages": pins, "install": record["commands"]}
    found["peers"] = peers
    return found


def provenance(command: str) -> dict[str, Any]:
    """Where a result file came from. ``loads`` holds the load average at the start of each
    command (``None`` where not recorded): on a shared machine it says which timings compare."""
    found = machine()
    return {
        "commands": [command],
        "loads": [found["load_average_at_start"]],
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": found,
        "versions": versions(),
    }


# ---------------------------------------------------------------------------------------------
# CSV


def load_runs(
    out: Path, finished_only: bool = True
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Rows and provenance of an earlier benchmark in ``out``: for ``--resume`` the finished
    attempts only (a method unavailable then may be available now), all for ``--report-only``.
    """
    csv, meta = out / "runs.csv", out / "meta.json"
    if not csv.is_file() or not meta.is_file():
        return [], None
    frame = pd.read_csv(csv, comment="#", keep_default_na=False, na_values=[""])
    rows = [
        {k: (None if _missing(v) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]
    if finished_only:
        rows = [r for r in rows if r["status"] in FINISHED]
    return rows, json.loads(meta.read_text())


def write_runs(out: Path, rows: Sequence[dict[str, Any]], meta: dict[str, Any]) -> None:
    """``runs.csv`` (with ``#`` provenance lines) and ``meta.json``."""
    out.mkdir(parents=True, exist_ok=True)
    header = [f"# command: {c}" for c in meta["commands"]]
    header.append(f"# machine: {json.dumps(meta['machine'])}")
    header.append(f"# versions: {json.dumps(_short_versions(meta['versions']))}")
    frame = pd.DataFrame(list(rows), columns=COLUMNS)
    text = "\n".join(header) + "\n" + frame.to_csv(index=False, float_format="%.6g")
    _atomic(out / "runs.csv", text)
    _atomic(out / "meta.json", json.dumps(meta, indent=2) + "\n")


# ---------------------------------------------------------------------------------------------
# markdown


def write_markdown(out: Path, rows: Sequence[dict[str, Any]], meta: dict[str, Any]) -> list[Path]:
    """One table per dataset (means over repeats) and ``headline.md``; returns the files."""
    frame = pd.DataFrame(list(rows), columns=COLUMNS)
    written = []
    for dataset, part in frame.groupby("dataset", sort=False):
        path = out / f"{dataset}.md"
        _atomic(path, dataset_markdown(str(dataset), part, meta))
        written.append(path)
    path = out / "headline.md"
    _atomic(path, headline_markdown(frame, meta))
    written.append(path)
    return written


def dataset_markdown(dataset: str, frame: pd.DataFrame, meta: dict[str, Any]) -> str:
    first = frame.iloc[0]
    lines = [
        f"# Benchmark: {dataset}",
        "",
        f"{int(first.rows_train):,} training rows, {int(first.rows_holdout):,} holdout rows "
        "(fixed 80/20 split, seed 0); every method samples as many rows as it trained on. "
        "Numbers are means over repeats; the CSV beside this file has every run. "
        "k-marginal (matched / ref): the run's score on every synthetic row; in brackets the "
        "same score for the synthetic table subsampled to the holdout's size, then for the "
        "real holdout (what a perfect synthesizer would reach at that size). Compare the two "
        "bracketed numbers: the holdout is a quarter of the synthetic table's size, and a "
        "smaller sample scores lower, which flatters the unbracketed score. The real-holdout "
        "row scores half the holdout against the training rows; its k-marginal is lower than "
        "the bracketed references because it is a smaller sample still.",
        "",
        "| method | ε | metadata | status | fit s | sample s | peak MB | "
        "k-marginal (matched / ref) | "
        "2-way acc. | detection AUC | TSTR AUC (TRTR) | MIA adv. | ε spent (δ) |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for _, row in summarise(frame).iterrows():
        k_marginal = _fmt(row.k_marginal, ".0f")
        if k_marginal and not _missing(row.k_marginal_ref):
            matched = _fmt(row.k_marginal_matched, ".0f") or "–"
            k_marginal += f" ({matched} / {row.k_marginal_ref:.0f})"
        tstr = _fmt(row.tstr_auc, ".3f")
        if not _missing(row.trtr_auc) and tstr != "":
            tstr += f" ({row.trtr_auc:.3f})"
        spent = _fmt(row.epsilon_spent, ".3g")
        if spent:
            spent += f" ({row.delta_spent:.0e})"
        status = str(row.status) + (f" ×{int(row.n)}" if row.n > 1 else "")
        lines.append(
            f"| {row.method} | {_fmt(row.epsilon, 'g') or '–'} | {row.metadata or ''} | {status} "
            f"| {_fmt(row.fit_s, '.1f')} | {_fmt(row.sample_s, '.2f')} "
            f"| {_fmt(row.peak_rss_mb, '.0f')} | {k_marginal} "
            f"| {_fmt(row.two_way_accuracy, '.3f')} | {_fmt(row.detection_auc, '.3f')} "
            f"| {tstr} | {_fmt(row.mia_advantage, '.3f')} | {spent} |"
        )
    notes = frame[frame.note.notna() & (frame.note != "")][["method", "epsilon", "note"]]
    if len(notes):
        lines += ["", "Notes:", ""]
        for _, row in notes.drop_duplicates(["method", "note"]).iterrows():
            lines.append(f"- **{row.method}**: {row.note}")
    configs = frame[frame.config.notna()].drop_duplicates("method")[["method", "config"]]
    lines += ["", "Configurations (as each run recorded them):", ""]
    lines += [f"- **{row.method}**: `{row.config}`" for _, row in configs.iterrows()]
    lines += ["", *provenance_lines(meta)]
    return "\n".join(lines) + "\n"


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Means over repeats per (method, ε), keeping the order of first appearance."""
    keys = ["method", "epsilon"]
    numeric = [c for c in COLUMNS if c not in (*TEXT_COLUMNS, *keys, "repeat")]
    frame = frame.assign(
        epsilon=frame.epsilon.astype(float),
        _order=range(len(frame)),
        **{c: pd.to_numeric(frame[c], errors="coerce") for c in numeric},
    )
    # a run resumed from files older than the matched score has it for some repeats only: a
    # mean over those beside a mean over all would compare different fits
    unmatched = frame.k_marginal.notna() & frame.k_marginal_matched.isna()
    partial = unmatched.groupby([frame[k] for k in keys], dropna=False, sort=False).transform("any")
    frame.loc[partial, "k_marginal_matched"] = float("nan")
    grouped = frame.groupby(keys, dropna=False, sort=False)
    out = grouped[numeric].mean(numeric_only=True)
    firsts = grouped[["status", "metadata", "library", "private", "note", "_order"]].first()
    out = out.join(firsts).assign(n=grouped.size()).reset_index()
    return out.sort_values("_order")


def headline_markdown(frame: pd.DataFrame, meta: dict[str, Any]) -> str:
    """tabsynth against each peer doing the same job: ratios, not absolute seconds."""
    lines = [
        "# Headline: tabsynth against its peers",
        "",
        "Ratios (peer ÷ tabsynth) of fit time and peak memory on the same machine and data: "
        "above 1 means tabsynth is faster or leaner. Fidelity as k-marginal (1000 = identical "
        "3-way marginals) and TSTR AUC, side by side. A side that hit its time cap shows as "
        '"timeout", and the time ratio is then a bound.',
        "",
        "| dataset | ε | tabsynth | peer | fit time ratio | memory ratio | k-marginal "
        "(tabsynth / peer) | TSTR AUC (tabsynth / peer) |",
        "|---|---:|---|---|---:|---:|---:|---:|",
    ]
    done = frame[frame.status.isin(["ok", "timeout"])]
    found = 0
    for dataset in done.dataset.unique():
        part = summarise(done[done.dataset == dataset])
        for ours, theirs in HEADLINE_PAIRS:
            for _, a in part[part.method == ours].iterrows():
                same_eps = part[(part.method == theirs) & _same(part.epsilon, a.epsilon)]
                for _, b in same_eps.iterrows():
                    if a.status == b.status == "timeout":
                        continue
                    found += 1
                    lines.append(
                        f"| {dataset} | {_fmt(a.epsilon, 'g') or '–'} | {ours} | {theirs} "
                        f"| {_time_ratio(a, b)} | {b.peak_rss_mb / a.peak_rss_mb:.1f}× "
                        f"| {_pair(a.k_marginal, b.k_marginal, '.0f')} "
                        f"| {_pair(a.tstr_auc, b.tstr_auc, '.3f')} |"
                    )
    if not found:
        lines.append("| (no pair of tabsynth and peer runs finished on the same data) |||||||")
    lines += ["", *provenance_lines(meta)]
    return "\n".join(lines) + "\n"


def _time_ratio(ours: pd.Series, theirs: pd.Series) -> str:
    """Peer ÷ tabsynth fit time; a timed-out side counts with its cap (a bound)."""
    if ours.status == "timeout":
        return f"< {theirs.fit_s / ours.timeout_s:.2g}×"
    if theirs.status == "timeout":
        return f"> {theirs.timeout_s / ours.fit_s:.2g}×"
    return f"{theirs.fit_s / ours.fit_s:.2g}×"


def _pair(ours: Any, theirs: Any, spec: str) -> str:
    return f"{_fmt(ours, spec) or 'timeout'} / {_fmt(theirs, spec) or 'timeout'}"


def provenance_lines(meta: dict[str, Any]) -> list[str]:
    m = meta["machine"]
    loads = meta.get("loads") or [None] * len(meta["commands"])
    return [
        "Made by:",
        "",
        *[f"    {c}" for c in meta["commands"]],
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM, {m['platform']}, "
        f"Python {m['python']}; load average (1, 5, 15 min) at the start of each command, in "
        f"order: {', '.join(str(x) if x else 'not recorded' for x in loads)} "
        "(a shared machine: compare timings within one command's runs).",
        "",
        f"Versions: {json.dumps(_short_versions(meta['versions']))}",
    ]


def _short_versions(found: dict[str, Any]) -> dict[str, Any]:
    peers = {
        name: (p if isinstance(p, str) else p["packages"]) for name, p in found["peers"].items()
    }
    return {**{k: v for k, v in found.items() if k != "peers"}, "peers": peers}


# ---------------------------------------------------------------------------------------------
# helpers


def _same(column: pd.Series, value: Any) -> pd.Series:
    if _missing(value):
        return column.isna()
    return (column - float(value)).abs() < 1e-12


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _fmt(value: Any, spec: str) -> str:
    return "" if _missing(value) else format(value, spec)


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
