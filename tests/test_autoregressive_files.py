"""Autoregressive model files across versions: the layout main wrote on 2026-11-30 (commit
3cfa1e6: a DP fit whose 300-code column is compressed, with a rule) still loads and samples
the same rows, and the derived sampling masks are rebuilt after fit and after load.

``tests/data/autoregressive-dp-3cfa1e6.tsyn`` and its ``-sample.csv`` were written by
:func:`write_fixture` with tabsynth at that commit (``PYTHONPATH=<checkout of 3cfa1e6> python
-c "import test_autoregressive_files as t; t.write_fixture()"`` from ``tests/``). The table is
synthetic (:func:`diagnosis_table`) and the file holds no rows, only weights and noisy
marginals.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_dpsgd_compression import CATEGORIES
from test_dpsgd_compression import diagnosis_table as compression_table

import tabsynth
from tabsynth.metadata import Metadata
from tabsynth.rules import Combinations
from tabsynth.synthesizers.autoregressive import AutoregressiveSynthesizer

DATA = Path(__file__).parent / "data"
MODEL = DATA / "autoregressive-dp-3cfa1e6.tsyn"
SAMPLE = DATA / "autoregressive-dp-3cfa1e6-sample.csv"
#: A rule on the compressed column: its structural zero lives on the merged codes.
RULE = Combinations(("diag", "severe"), forbidden=[("icd001", True)])


def diagnosis_table(rows: int = 2000) -> tuple[pd.DataFrame, Metadata]:
    """The compression tests' table (four frequent codes of 300, the rest a rare tail merged
    by DP-SGD's compression), made to obey :data:`RULE`."""
    data, metadata = compression_table(rows, seed=11)
    data.loc[data["diag"] == CATEGORIES[1], "severe"] = False
    return data, Metadata(metadata.columns, public=True, rules=(RULE,))


def fitted(rows: int = 2000, epochs: int = 2) -> AutoregressiveSynthesizer:
    data, metadata = diagnosis_table(rows)
    synth = AutoregressiveSynthesizer(
        epsilon=4.0, epochs=epochs, width=8, progress=False, seed=0, noise_seed=1,
        public_rows=rows,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*noise_seed")
        return synth.fit(data, metadata)


def write_fixture() -> None:
    """Write the model file and its sample (see the module docstring)."""
    synth = fitted()
    synth.save(MODEL)
    synth.sample(40, seed=3).to_csv(SAMPLE, index=False)


def test_model_file_from_main_loads_and_samples_as_before() -> None:
    model = tabsynth.load(MODEL)
    assert model.compression_.active and model.encoder_.sizes["diag"] == 300
    assert model.net_.sizes[0] < 300  # the network's codes are the merged ones
    assert model.zeros_, "the rule's structural zero must be rebuilt on load"
    assert model.sample(40, seed=3).to_csv(index=False) == SAMPLE.read_text()


def test_sampling_masks_are_built_after_fit_and_after_load(tmp_path) -> None:
    synth = fitted(600, epochs=1)
    synth.save(tmp_path / "m.tsyn")
    loaded = tabsynth.load(tmp_path / "m.tsyn")
    assert len(synth.zeros_) == len(loaded.zeros_) == 1
    (made,), (read,) = synth.zeros_, loaded.zeros_
    assert made.clique == read.clique and np.array_equal(made.allowed, read.allowed)
    assert made.allowed.shape[0] == synth.net_.sizes[0]  # on the network's (merged) codes
    assert not made.allowed.all()
    out = loaded.sample(2000, seed=1)
    assert not ((out["diag"] == "icd001") & out["severe"]).any()


@pytest.mark.parametrize("epsilon", [None, 4.0], ids=["non-private", "dp"])
def test_refit_rebuilds_the_masks_for_the_new_rules(epsilon) -> None:
    """A second fit with other rules replaces the masks of the first."""
    data, metadata = diagnosis_table(600)
    synth = AutoregressiveSynthesizer(
        epsilon=epsilon, epochs=1, width=8, progress=False, seed=0, public_rows=600,
        noise_seed=1 if epsilon else None,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synth.fit(data, metadata)
        assert len(synth.zeros_) == 1
        synth.fit(data, Metadata(metadata.columns, public=True))
    assert synth.zeros_ == []
