"""Fit one smartnoise-synth 1.0.8 synthesizer (MST, AIM, DP-CTGAN) and sample (its peer venv).

Spec keys: ``model`` (``mst`` | ``aim`` | ``dpctgan``), ``params`` (keyword arguments of the
smartnoise class), ``epsilon``, ``delta``, ``kinds`` (column -> tabsynth kind), ``seed``,
``n``. smartnoise preprocesses with its own ``TableTransformer``: the column kinds say which
columns are continuous, and it estimates their bounds under DP from ``PREPROCESSOR_SHARE`` of
ε (the same 10 % tabsynth spends on a domain it must estimate), then bins them (MST, AIM: 10
uniform bins) or min-max scales them (DP-CTGAN). That whole configuration is recorded.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from common import Timer, main, versions
from snsynth import Synthesizer

#: Fraction of ε smartnoise spends on bounds of continuous columns (it subtracts it from ε).
PREPROCESSOR_SHARE = 0.1


def fit_and_sample(
    spec: dict[str, Any], train: pd.DataFrame, mark: Timer
) -> tuple[pd.DataFrame, dict[str, Any]]:
    import numpy as np
    import torch

    np.random.seed(spec["seed"])
    torch.manual_seed(spec["seed"])
    params = dict(spec["params"])
    if spec["model"] == "dpctgan":
        params.setdefault("cuda", False)
        params.setdefault("verbose", False)
    params["delta"] = spec["delta"]
    synth = Synthesizer.create(spec["model"], epsilon=spec["epsilon"], **params)
    continuous = [c for c, kind in spec["kinds"].items() if kind == "numerical"]
    categorical = [c for c in train.columns if c not in continuous]
    fit_options = {
        "categorical_columns": categorical,
        "continuous_columns": continuous,
        "preprocessor_eps": PREPROCESSOR_SHARE * spec["epsilon"],
        "nullable": bool(train.isna().any().any()),
    }
    synth.fit(train, **fit_options)
    mark("fit")
    synthetic = synth.sample(spec["n"])
    if not isinstance(synthetic, pd.DataFrame):
        synthetic = pd.DataFrame(synthetic, columns=train.columns)
    info = {
        "config": {
            "synthesizer": spec["model"],
            "epsilon": spec["epsilon"],
            **params,
            "fit": fit_options,
        },
        "versions": versions("smartnoise-synth", "opacus", "mbi", "torch", "numpy", "pandas"),
        "epsilon_spent": spec["epsilon"],
        "delta_spent": spec["delta"],
        "note": "ε, δ as configured (smartnoise reports no ledger)",
    }
    return synthetic, info


if __name__ == "__main__":
    main(fit_and_sample)
