"""The file protocol between the harness and a run, shared by every script in this folder.

A run script is started as ``python SCRIPT SPEC.json``; :func:`main` reads the spec, calls the
script's ``fit_and_sample(spec, train) -> (synthetic, info)`` between timers and writes the
synthetic parquet and the result JSON. The script runs alone in its process, so its peak
memory (measured by the harness from outside) is the run's.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

Timer = Callable[[str], None]
FitAndSample = Callable[[dict[str, Any], pd.DataFrame, Timer], tuple[pd.DataFrame, dict[str, Any]]]


def versions(*packages: str) -> dict[str, str]:
    """Installed versions of ``packages`` (``"missing"`` where absent)."""
    found = {}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "missing"
    return found


def main(fit_and_sample: FitAndSample) -> None:
    """Run one spec: ``fit_and_sample`` calls ``mark("fit")`` once fitting is done."""
    spec = json.loads(Path(sys.argv[1]).read_text())
    train = pd.read_parquet(spec["train"])
    marks: dict[str, float] = {}

    def mark(name: str) -> None:
        marks[name] = time.perf_counter()

    mark("start")
    synthetic, info = fit_and_sample(spec, train, mark)
    mark("sampled")
    synthetic.to_parquet(spec["synthetic"], index=False)
    result = {
        "fit_s": marks["fit"] - marks["start"],
        "sample_s": marks["sampled"] - marks["fit"],
        "rows_sampled": len(synthetic),
        **info,
    }
    Path(spec["result"]).write_text(json.dumps(result, indent=2, default=str) + "\n")
