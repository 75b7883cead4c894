"""Benchmark tables: loading, the fixed 80/20 split, and public metadata from the data cards.

Every method sees the same training split and is scored against the same holdout, so the split
is fixed (seed :data:`SPLIT_SEED`) and made once per dataset. Identifier columns (the data
card's ``id`` type, e.g. ``patient_nbr`` in diabetes130) are used only to keep every row of one
person on the same side of the split (a patient in both halves would make the holdout a poor
stand-in for unseen people) and are then dropped: no synthesizer should learn them.

Public metadata: each shared table comes with a JSON data card listing column types, ranges and
category lists. That card is published documentation of the table, so declaring the domain it
describes public (``source="user", public=True``) is honest for this benchmark - in a real
deployment the same information would come from a code book or data dictionary. Columns the
card does not enumerate (e.g. diabetes130's ICD-9 codes, only "top categories" listed) get no
domain, and DP synthesizers estimate theirs under DP from the budget.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tabsynth.metadata import ColumnSpec, Metadata

SPLIT_SEED = 0
TRAIN_SHARE = 0.8
#: The bundled table of ``--quick``, which needs no shared data folder.
QUICK_DATASET = "medical"
QUICK_TARGET = "readmitted_30d"


@dataclass(frozen=True)
class Dataset:
    """A benchmark table after the split: what the runs fit on and are scored against."""

    name: str
    train: pd.DataFrame
    holdout: pd.DataFrame
    metadata: Metadata
    target: str
    source: str

    @property
    def rows(self) -> int:
        return len(self.train) + len(self.holdout)


def load(name: str, data_dir: Path, rows: int | None = None) -> Dataset:
    """Read ``NAME.csv[.gz]`` and its card from ``data_dir``; split it 80/20.

    ``rows`` keeps a random subset (seed :data:`SPLIT_SEED`) first, for quicker runs.
    """
    card_path = data_dir / f"{name}.json"
    if not card_path.is_file():
        raise FileNotFoundError(f"no data card {card_path}; is --data-dir the shared datasets?")
    card = json.loads(card_path.read_text())
    columns = card["columns"]
    text_columns = {c["name"]: str for c in columns if c.get("dtype") == "string"}
    table = pd.read_csv(
        data_dir / card["file"], keep_default_na=False, na_values=[""], dtype=text_columns
    )
    ids = [c["name"] for c in columns if c["type"] == "id"]
    metadata = Metadata(
        {c["name"]: card_column(c) for c in columns if c["type"] != "id"},
        source="user",
        public=True,
    )
    return split(name, table, metadata, card["target"]["column"], ids, rows, str(card_path))


def load_quick(rows: int) -> Dataset:
    """The bundled medical sample (public metadata written by hand), for ``--quick``."""
    from tabsynth import datasets

    table = datasets.load_sample(QUICK_DATASET)
    metadata = datasets.load_sample_metadata(QUICK_DATASET)
    ids = [n for n, s in metadata.columns.items() if s.kind == "id"]
    metadata = Metadata(
        {n: s for n, s in metadata.columns.items() if n not in ids}, source="user", public=True
    )
    source = f"tabsynth.datasets.load_sample({QUICK_DATASET!r})"
    return split(QUICK_DATASET, table, metadata, QUICK_TARGET, ids, rows, source)


def split(
    name: str,
    table: pd.DataFrame,
    metadata: Metadata,
    target: str,
    ids: list[str],
    rows: int | None,
    source: str,
) -> Dataset:
    """Subsample to ``rows``, split 80/20 (grouped by the first id column), drop the ids."""
    rng = np.random.default_rng(SPLIT_SEED)
    if rows is not None and rows < len(table):
        table = table.iloc[np.sort(rng.choice(len(table), rows, replace=False))]
    groups = table[ids[0]].to_numpy() if ids else np.arange(len(table))
    unique = np.unique(groups)
    train_groups = rng.permutation(unique)[: round(TRAIN_SHARE * len(unique))]
    # hashed: np.isin compares object ids (diabetes130's patient numbers) pairwise, 68 s
    in_train = pd.Series(groups).isin(set(train_groups)).to_numpy()
    table = table.drop(columns=ids).reset_index(drop=True)
    return Dataset(
        name=name,
        train=table[in_train].reset_index(drop=True),
        holdout=table[~in_train].reset_index(drop=True),
        metadata=metadata,
        target=target,
        source=source,
    )


def card_column(column: dict[str, Any]) -> ColumnSpec:
    """A data-card column as a :class:`ColumnSpec` with the domain the card documents.

    Boolean columns are declared categorical with their two documented labels: cards spell
    them ``Yes``/``No`` or ``Ch``/``No`` as well as ``0``/``1``, and a category list keeps the
    labels exactly as written.
    """
    nullable = column.get("n_missing", 0) > 0
    if column["type"] == "numerical":
        dtype = "int" if column.get("dtype") == "int" else "float"
        return ColumnSpec(
            kind="numerical",
            dtype=dtype,
            lower=column.get("min"),
            upper=column.get("max"),
            precision=0 if dtype == "int" else None,
            nullable=nullable,
        )
    categories = column.get("categories")
    listed = tuple(sorted(categories)) if isinstance(categories, dict) else None
    return ColumnSpec(kind="categorical", categories=listed, nullable=nullable)
