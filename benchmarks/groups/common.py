"""What the group benchmarks share: the tables, their public metadata, within-group scores."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tabsynth.evaluation.fidelity import Discretizer, EncodedTable, marginal_tvd
from tabsynth.metadata import Metadata

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ROOT.parent / "shared" / "datasets"
ADULT_METADATA = ROOT / "benchmarks" / "marginal" / "adult.public.metadata.json"
OUT = Path(__file__).resolve().parent / "out"


def load_adult() -> tuple[pd.DataFrame, Metadata]:
    """Adult (48,842 rows) with its public metadata (bounds and categories, declared public)."""
    path = DATASETS / "adult.csv.gz"
    if not path.exists():
        raise SystemExit(f"{path} is missing: this benchmark needs the shared Adult table")
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    return frame, Metadata.load(ADULT_METADATA)


#: The diabetes130 columns the AIM group benchmark fits: race, gender and age, and the
#: admission, stay, lab, medication and outcome columns most analyses use. AIM on all 48
#: learned columns runs far past ten minutes a fit on the shared machine, and a first try with
#: 16 columns had not finished one fit after 25 minutes at load 9-10 (2 cores).
DIABETES_COLUMNS = [
    "race",
    "gender",
    "age",
    "admission_type_id",
    "time_in_hospital",
    "num_lab_procedures",
    "num_medications",
    "number_inpatient",
    "A1Cresult",
    "insulin",
    "readmitted",
]


def load_diabetes130_subset() -> tuple[pd.DataFrame, Metadata]:
    """diabetes130 (101,766 encounters) cut to :data:`DIABETES_COLUMNS`, with its domain
    (categories, integer bounds) declared public as for Adult: the benchmark asks what the
    group option buys, not what estimating the domain costs. The admission codes are
    categories (the data card), so they are read as text. Rows are encounters, and one
    patient can have several: DP here protects an encounter, as the fits are run."""
    path = DATASETS / "diabetes130.csv.gz"
    if not path.exists():
        raise SystemExit(f"{path} is missing: this benchmark needs the shared diabetes130 table")
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""], low_memory=False)
    frame = frame[DIABETES_COLUMNS].astype({"admission_type_id": str})
    detected = Metadata.detect(frame)
    return frame, Metadata(dict(detected.columns), source="user", public=True)


def within_group_two_way(
    disc: Discretizer,
    real: EncodedTable,
    synth: EncodedTable,
    skip: list[int],
) -> float:
    """``1 - mean TVD`` over the 2-way marginals of every column pair not in ``skip``."""
    pool = [j for j in range(len(disc.columns)) if j not in skip]
    levels = disc.n_levels
    tvds = [
        marginal_tvd(real.codes, synth.codes, p, levels) for p in itertools.combinations(pool, 2)
    ]
    return float(1 - np.mean(tvds))


def run_info(command: str) -> dict[str, Any]:
    """Command, date, load average and commit, recorded with every result."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    return {
        "command": command,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average": list(os.getloadavg()),
        "cpus": os.cpu_count(),
        "commit": commit,
    }


def write_json(name: str, payload: dict[str, Any]) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / name
    path.write_text(json.dumps(payload, indent=1, default=str))
    return path
