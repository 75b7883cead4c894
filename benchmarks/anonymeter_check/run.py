"""Cross-check tabsynth's privacy attacks against anonymeter on the same inputs.

Run from the repository root with tabsynth's Python:

    python benchmarks/anonymeter_check/run.py

It builds ``.peers/anon`` (a separate venv: anonymeter 1.1.0 pins numpy<1.27) if absent,
prepares three cases from Adult (``../shared/datasets``; the bundled medical sample if that
is missing) - synthetic = the training rows, a partial leak, no leak - runs anonymeter's
singling-out, linkability and inference evaluators in that venv, runs tabsynth's
:func:`~tabsynth.evaluation.privacy.assess_privacy` here, and writes ``results.md`` beside
this file. See README.md for how to read it.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import tabsynth
from tabsynth import datasets
from tabsynth.evaluation.privacy import assess_privacy
from tabsynth.io import atomic_write_text
from tabsynth.metadata import Metadata

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
VENV = REPO / ".peers" / "anon"
SHARED = Path(os.environ.get("TABSYNTH_SHARED", REPO.parent / "shared"))
ADULT = SHARED / "datasets" / "adult.csv.gz"
N_TRAIN, N_CONTROL, N_SYNTHETIC = 3000, 1500, 3000
LEAK_SHARE = 0.25  # partial-leak case: this share of synthetic rows are training rows
N_ATTACKS = 500  # anonymeter's default
ATTACKS = (
    "singling_out_univariate",
    "singling_out_multivariate",
    "linkability",
)


def load() -> tuple[pd.DataFrame, Metadata, str, str]:
    if ADULT.is_file():
        frame = pd.read_csv(ADULT, keep_default_na=False, na_values=[""])
        return frame, Metadata.detect(frame), "sex", "Adult (UCI), ../shared/datasets/adult.csv.gz"
    frame = datasets.load_sample("medical").drop(columns=["patient_id"])
    metadata = datasets.load_sample_metadata("medical")
    metadata = Metadata({n: metadata[n] for n in frame.columns}, source="user")
    return frame, metadata, "sex", "tabsynth medical sample"


def make_cases(frame: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, ...]]:
    order = np.random.default_rng(0).permutation(len(frame))
    train = frame.iloc[order[:N_TRAIN]].reset_index(drop=True)
    control = frame.iloc[order[N_TRAIN : N_TRAIN + N_CONTROL]].reset_index(drop=True)
    fresh = frame.iloc[order[N_TRAIN + N_CONTROL :][:N_SYNTHETIC]].reset_index(drop=True)
    n_leak = int(LEAK_SHARE * N_SYNTHETIC)
    partial = pd.concat([train.iloc[:n_leak], fresh.iloc[n_leak:]], ignore_index=True)
    return {
        "copies": (train, train.copy(), control),
        "partial_leak": (train, partial, control),
        "no_leak": (train, fresh, control),
    }


def ensure_venv() -> str:
    python = VENV / "bin" / "python"
    if python.exists():
        return "existing"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(VENV / "bin" / "pip"), "install", "--quiet", "anonymeter==1.1.0", "pandas"],
        check=True,
    )
    return f"built in {time.perf_counter() - started:.0f} s"


def fmt(entry: dict | None) -> str:
    if entry is None:
        return "-"
    if "error" in entry:
        return f"crashed: `{entry['error'][:90]}`"
    value = entry.get("risk", entry.get("advantage"))
    lo, hi = entry["ci"]
    return f"{value:.2f} [{lo:.2f}, {hi:.2f}]"


def rates(entry: dict | None, keys: tuple[str, str]) -> str:
    if entry is None or "error" in entry:
        return ""
    source = entry.get("details", entry)
    a, c = (source.get(k) for k in keys)
    return "" if a is None or c is None else f"{a:.2f} / {c:.2f}"


def main() -> None:
    started = time.perf_counter()
    frame, metadata, secret, source = load()
    cases = make_cases(frame)
    venv_state = ensure_venv()
    ours: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        link_cols = {}
        for case, (train, syn, control) in cases.items():
            t0 = time.perf_counter()
            result = assess_privacy(train, syn, control, metadata, sensitive=[secret], seed=0)
            result["seconds"] = time.perf_counter() - t0
            ours[case] = result
            details = result["attacks"]["linkability"]["details"]
            link_cols[case] = [details["columns_a"], details["columns_b"]]
            for role, table in (("train", train), ("synthetic", syn), ("control", control)):
                table.to_csv(work / f"{case}_{role}.csv", index=False)
        config = {
            "cases": list(cases),
            "secret": secret,
            "n_attacks": N_ATTACKS,
            "linkability_columns": link_cols,
        }
        (work / "config.json").write_text(json.dumps(config))
        runner = subprocess.run(
            [str(VENV / "bin" / "python"), str(HERE / "anon_runner.py"), str(work)],
            capture_output=True,
            text=True,
        )
        print(runner.stdout)
        if runner.returncode != 0:
            print(runner.stderr, file=sys.stderr)
            raise SystemExit(f"anonymeter runner failed with exit code {runner.returncode}")
        theirs = json.loads((work / "anonymeter.json").read_text())
    write_results(ours, theirs, source, secret, venv_state, time.perf_counter() - started)


def write_results(
    ours: dict, theirs: dict, source: str, secret: str, venv_state: str, seconds: float
) -> None:
    names = (*ATTACKS, f"attribute_inference:{secret}")
    lines = [
        "# anonymeter cross-check: results",
        "",
        "Written by `python benchmarks/anonymeter_check/run.py` (see README.md).",
        "",
        f"- data: {source}; {N_TRAIN} training rows, {N_CONTROL} control (holdout) rows, "
        f"{N_SYNTHETIC} synthetic rows; attribute-inference secret: `{secret}`",
        "- cases: `copies` (synthetic = the training rows), `partial_leak` "
        f"({LEAK_SHARE:.0%} of synthetic rows are training rows, the rest fresh real rows), "
        "`no_leak` (synthetic = fresh real rows from the same population)",
        f"- tabsynth {tabsynth.__version__} (Python {platform.python_version()}, numpy "
        f"{np.__version__}, pandas {pd.__version__}); anonymeter venv ({venv_state}): "
        + ", ".join(f"{k} {v}" for k, v in theirs["versions"].items()),
        f"- anonymeter settings: n_attacks={N_ATTACKS}, singling out n_cols=3 "
        "(max_attempts=50000), linkability n_neighbors=5 on tabsynth's column split, "
        "inference aux_cols = all other columns; tabsynth: defaults of `assess_privacy`",
        f"- total runtime {seconds:.0f} s; generated {time.strftime('%Y-%m-%d')}",
        "",
        "Risk (anonymeter) and advantage (tabsynth) are both `(r_train - r_control) / "
        "(1 - r_control)` for these attacks, with 95% intervals; `rates` = training / control "
        "success rate.",
        "",
    ]
    for case in ours:
        lines += [
            f"## {case}",
            "",
            f"tabsynth verdict: **{ours[case]['privacy_risk']}**, membership advantage "
            f"{ours[case]['mia_advantage']:.2f}, exact-copy rate "
            f"{ours[case]['exact_copy_rate']:.2f} (assess_privacy took "
            f"{ours[case]['seconds']:.1f} s)",
            "",
            "| attack | anonymeter risk [95% CI] | rates | tabsynth advantage [95% CI] | rates |",
            "|---|---|---|---|---|",
        ]
        for name in names:
            a = theirs[case].get(name)
            t = ours[case]["attacks"].get(name)
            lines.append(
                f"| {name} | {fmt(a)} | {rates(a, ('attack_rate', 'control_rate'))} | "
                f"{fmt(t)} | {rates(t, ('train_success_rate', 'control_success_rate'))} |"
            )
        lines.append("")
    atomic_write_text(HERE / "results.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
