"""Fit one tabsynth synthesizer and sample from it (run in tabsynth's own venv).

Spec keys: ``module`` (imported so the synthesizer registers itself), ``synthesizer`` (the
registry name), ``epsilon`` / ``delta`` (``null`` for non-private), ``params``, ``metadata``
(path of a public metadata JSON, or ``null`` to let a DP synthesizer estimate the domain under
DP), ``metadata_from`` (``"draft"``: fit on ``metadata_tools.draft(train)`` instead), ``seed``
and ``n``. The privacy reported is the ledger's, not the requested budget.
"""

from __future__ import annotations

import importlib
from typing import Any

import pandas as pd
from common import Timer, main, versions

from tabsynth.cli import make_synthesizer


def fit_and_sample(
    spec: dict[str, Any], train: pd.DataFrame, mark: Timer
) -> tuple[pd.DataFrame, dict[str, Any]]:
    importlib.import_module(spec["module"])
    synth = make_synthesizer(
        spec["synthesizer"], spec.get("epsilon"), spec.get("delta"), spec["seed"], spec["params"]
    )
    metadata = spec.get("metadata")
    if spec.get("metadata_from") == "draft":  # what `tabsynth metadata draft` writes, unedited
        from tabsynth.metadata_tools import draft

        metadata = draft(train).metadata
    synth.fit(train, metadata=metadata)
    mark("fit")
    synthetic = synth.sample(spec["n"], seed=spec["seed"])
    ledger = synth.privacy
    info: dict[str, Any] = {
        "config": {"class": type(synth).__name__, **synth.get_params()},
        "versions": versions("tabsynth", "numpy", "pandas", "torch", "sdv", "opacus", "mbi"),
        "epsilon_spent": None if ledger is None else float(ledger.spent_epsilon),
        "delta_spent": None if ledger is None else float(ledger.spent_delta),
        "epsilon_target": None if ledger is None else float(ledger.epsilon),
        "delta_target": None if ledger is None else float(ledger.delta),
        # early stopping decides a non-private neural fit's length: without it, fit times of
        # two commits cannot be told apart from a change in when training stopped
        "epochs_run": getattr(synth, "history_", {}).get("epochs_run"),
    }
    return synthetic, info


if __name__ == "__main__":
    main(fit_and_sample)
