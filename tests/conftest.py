"""Shared fixtures.

Tests that need the real public tables in ``../shared/datasets`` take the ``shared_datasets``
fixture: it skips with a reason when the folder is absent (a clone without ``../shared``), so
the core suite still runs on the bundled ``data/samples`` tables. Set ``TABSYNTH_SHARED`` to
point elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabsynth.io import read_table

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TABSYNTH_SHARED", REPO.parent / "shared")) / "datasets"


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"needs the public datasets folder {SHARED} (../shared beside the checkout)")
    return SHARED


def read_shared(folder: Path, name: str) -> pd.DataFrame:
    path = folder / name
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return read_table(path)  # keep_default_na=False, na_values=[""], as the data cards say


@pytest.fixture
def mixed_frame() -> pd.DataFrame:
    """A small table with every kind of column and missing values."""
    rng = np.random.default_rng(0)
    n = 400
    age = rng.integers(18, 90, n)
    frame = pd.DataFrame(
        {
            "age": age,
            "income": np.round(rng.lognormal(10, 1, n), 2),
            "sex": rng.choice(["F", "M"], n),
            "smoker": rng.random(n) < 0.3,
            "visit": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
            "patient": [f"P{i:05d}" for i in range(n)],
        }
    )
    frame.loc[rng.random(n) < 0.15, "income"] = np.nan
    frame.loc[rng.random(n) < 0.4, "income"] = 0.0
    return frame
