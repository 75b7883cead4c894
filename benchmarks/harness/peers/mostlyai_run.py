"""Fit MOSTLY AI's TabularARGN (mostlyai-engine 2.7.3), with or without DP-SGD (its peer venv).

Spec keys: ``params`` (keyword arguments of ``TabularARGN``; ``max_training_time`` in minutes
is always set because the engine's default is four hours), ``epsilon`` (``null``: no DP),
``delta``, ``workspace``, ``seed``, ``n``. With DP the engine's ``max_epsilon`` bounds its
*total* ε, which includes the ε of "value protection" (the DP value ranges of its analysis
step); that part is set to ``VALUE_PROTECTION_SHARE`` of ε, the same 10 % tabsynth spends on a
domain it must estimate. The ε the engine reports for the checkpoint it keeps is recorded.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import pandas as pd
from common import Timer, main, versions
from mostlyai.engine import TabularARGN
from mostlyai.engine.domain import DifferentialPrivacyConfig

VALUE_PROTECTION_SHARE = 0.1


def fit_and_sample(
    spec: dict[str, Any], train: pd.DataFrame, mark: Timer
) -> tuple[pd.DataFrame, dict[str, Any]]:
    params = dict(spec["params"])
    dp = None
    if spec["epsilon"] is not None:
        dp = DifferentialPrivacyConfig(
            max_epsilon=spec["epsilon"],
            delta=spec["delta"],
            value_protection_epsilon=VALUE_PROTECTION_SHARE * spec["epsilon"],
        )
    model = TabularARGN(
        workspace_dir=spec["workspace"],
        differential_privacy=dp,
        random_state=spec["seed"],
        device="cpu",
        **params,
    )
    model.fit(train)
    mark("fit")
    synthetic = model.sample(n_samples=spec["n"])
    eps, delta = _reported_privacy(Path(spec["workspace"]))
    info = {
        "config": {
            "class": "TabularARGN",
            **params,
            "differential_privacy": None if dp is None else dp.model_dump(),
        },
        "versions": versions("mostlyai-engine", "torch", "opacus", "numpy", "pandas"),
        "epsilon_spent": eps,
        "delta_spent": delta,
        "note": None
        if dp is None
        else "ε, δ from the engine's progress log, which rounds "
        "them to 2 decimals (δ = 1e-9 shows as 0)",
    }
    return synthetic, info


def _reported_privacy(workspace: Path) -> tuple[float | None, float | None]:
    """ε and δ of the last checkpoint in the engine's progress log (``None`` without DP)."""
    found = glob.glob(str(workspace / "**" / "progress-messages.csv"), recursive=True)
    if not found:
        return None, None
    progress = pd.read_csv(found[0])
    kept = progress[progress["is_checkpoint"].astype(bool)] if "is_checkpoint" in progress else []
    if len(kept) == 0 or "dp_eps" not in progress or kept["dp_eps"].isna().all():
        return None, None
    last = kept.iloc[-1]
    return float(last["dp_eps"]), float(last["dp_delta"])


if __name__ == "__main__":
    main(fit_and_sample)
