"""Runs anonymeter's three evaluators on prepared CSVs. Executed inside the anonymeter venv.

Usage: ``python anon_runner.py WORKDIR`` where WORKDIR holds ``config.json`` and, for each
case, ``CASE_train.csv``, ``CASE_synthetic.csv``, ``CASE_control.csv``. Writes
``anonymeter.json``: for each case and evaluator, the risk and its interval, the raw rates,
or the error anonymeter raised (its crash on exact copies is part of what we record).
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from importlib.metadata import version
from pathlib import Path

import pandas as pd
from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def _summary(evaluator) -> dict:
    risk = evaluator.risk(confidence_level=0.95)
    res = evaluator.results(confidence_level=0.95)

    def rate(name: str) -> float | None:
        value = getattr(res, name, None)
        return None if value is None else float(value.value)

    return {
        "risk": float(risk.value),
        "ci": [float(risk.ci[0]), float(risk.ci[1])],
        "attack_rate": rate("attack_rate"),
        "control_rate": rate("control_rate"),
        "baseline_rate": rate("baseline_rate"),
    }


def _run(name: str, make) -> dict:
    started = time.perf_counter()
    try:
        out = _summary(make())
    except Exception as exc:  # record whatever anonymeter raises, with its last frames
        out = {
            "error": f"{type(exc).__name__}: {exc}",
            "trace": traceback.format_exc(limit=-3).strip().splitlines()[-6:],
        }
    out["seconds"] = round(time.perf_counter() - started, 1)
    print(f"  {name}: {out.get('risk', out.get('error'))}", flush=True)
    return out


def evaluate_case(
    ori: pd.DataFrame,
    syn: pd.DataFrame,
    ctl: pd.DataFrame,
    link: list[list[str]],
    secret: str,
    n: int,
) -> dict:
    aux = [c for c in ori.columns if c != secret]
    return {
        "singling_out_univariate": _run(
            "singling out univariate",
            lambda: SinglingOutEvaluator(ori, syn, n_attacks=n, control=ctl, seed=0).evaluate(
                mode="univariate"
            ),
        ),
        "singling_out_multivariate": _run(
            "singling out multivariate",
            lambda: SinglingOutEvaluator(
                ori, syn, n_attacks=n, n_cols=3, control=ctl, max_attempts=50_000, seed=0
            ).evaluate(mode="multivariate"),
        ),
        "linkability": _run(
            "linkability",
            lambda: LinkabilityEvaluator(
                ori, syn, aux_cols=(link[0], link[1]), n_attacks=n, n_neighbors=5, control=ctl
            ).evaluate(n_jobs=1),
        ),
        f"attribute_inference:{secret}": _run(
            "inference",
            lambda: InferenceEvaluator(
                ori, syn, aux_cols=aux, secret=secret, n_attacks=n, control=ctl
            ).evaluate(n_jobs=1),
        ),
    }


def main(workdir: Path) -> None:
    config = json.loads((workdir / "config.json").read_text())
    results = {"versions": {p: version(p) for p in ("anonymeter", "numpy", "pandas", "polars")}}
    for case in config["cases"]:
        print(f"case {case}", flush=True)
        results[case] = evaluate_case(
            _read(workdir / f"{case}_train.csv"),
            _read(workdir / f"{case}_synthetic.csv"),
            _read(workdir / f"{case}_control.csv"),
            config["linkability_columns"][case],
            config["secret"],
            config["n_attacks"],
        )
    (workdir / "anonymeter.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
