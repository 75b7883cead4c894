"""Fit one SDV 2.0 synthesizer (GaussianCopula, CTGAN, TVAE) and sample (SDV peer venv).

Spec keys: ``model`` (``gaussian_copula`` | ``ctgan`` | ``tvae``), ``params`` (keyword
arguments of the SDV class, e.g. ``{"epochs": 30}``), ``kinds`` (column -> tabsynth kind),
``seed``, ``n``. SDV is given the same column kinds as tabsynth's adapters (the public schema),
not its own detection, so the two differ only in the library code; its own transformers then
learn everything else, as SDV does by default. ``metadata_from: "detect"`` gives it its own
detection instead (``detect_from_dataframes`` on the training rows).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from common import Timer, main, versions
from sdv.metadata import Metadata
from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer

MODELS = {
    "gaussian_copula": GaussianCopulaSynthesizer,
    "ctgan": CTGANSynthesizer,
    "tvae": TVAESynthesizer,
}


def fit_and_sample(
    spec: dict[str, Any], train: pd.DataFrame, mark: Timer
) -> tuple[pd.DataFrame, dict[str, Any]]:
    import numpy as np
    import torch

    np.random.seed(spec["seed"])
    torch.manual_seed(spec["seed"])
    if spec.get("metadata_from") == "detect":  # SDV's own detection, as its users start
        metadata = Metadata.detect_from_dataframes({"data": train})
    else:
        columns = {name: {"sdtype": kind} for name, kind in spec["kinds"].items()}
        metadata = Metadata.load_from_dict({"tables": {"data": {"columns": columns}}})
    synth = MODELS[spec["model"]](metadata, **spec["params"])
    synth.fit({"data": train})  # SDV 2 takes and returns {table name: frame}
    mark("fit")
    # SDV samples from a fixed seed (73251) unless told otherwise, so every repeat drew the
    # same rows; its own (private) setter makes the repeats' seeds count, as tabsynth's do
    synth._set_random_state(spec["seed"])
    synthetic = synth.sample(num_rows=spec["n"])["data"]
    info = {
        "config": {"class": type(synth).__name__, **synth.get_parameters()},
        "sdv_metadata": metadata.to_dict(),
        "versions": versions("sdv", "ctgan", "rdt", "torch", "numpy", "pandas"),
    }
    return synthetic, info


if __name__ == "__main__":
    main(fit_and_sample)
