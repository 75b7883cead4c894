"""The neighbour game of the DP invariants, as a library for the tests that play it.

A DP fit must not let anything deterministic depend on one row, except through a charged
release. :func:`fingerprint` collects what a fit exposes - the schema, the sample's dtypes, the
ledger's structure, the model file's structure, every warning - so that a test can fit on ``D``
and on ``D`` plus one row :data:`EXTRA_ROWS` with the same ``seed`` and ``noise_seed`` and
compare the two. With the same seeded noise, a release that reads one more row moves by
exactly that row's contribution; a *structural* difference in the fingerprints is a leak.
"""

from __future__ import annotations

import io
import json
import re
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.synthesizers.dp_tails import SECOND_LOOK

ROWS = 2000
#: How the ledger names MST's pick between a pair's whole marginal and its bands.
BAND_PICK = ": all cells or a band"

#: Each neighbour of the base table: one extra row, written as changes to a copy of row 7.
EXTRA_ROWS: dict[str, dict[str, Any]] = {
    "missing value": {"age": None, "income": None},
    "non-integer in an int column": {"age": 41.5},
    "malformed date": {"visit": "not a date"},
    "new category": {"sex": "X"},
    "exact duplicate": {},
    "extreme outlier": {"income": 9.9e11, "age": 1e6},
    "id made non-unique": {"pid": "p00003"},
    "outside public bounds": {"age": 150, "income": -5.0},
}


def base_table(rows: int = ROWS) -> pd.DataFrame:
    """Patients as text, the way a CSV arrives: the metadata gives them their types."""
    rng = np.random.default_rng(11)
    age = np.clip(rng.normal(50, 15, rows).round(), 18, 95).astype(int)
    visit = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, rows), unit="D")
    return pd.DataFrame(
        {
            "pid": [f"p{i:05d}" for i in range(rows)],
            "age": age.astype(object),
            "income": np.round(np.exp(rng.normal(10, 0.6, rows)), 2).astype(object),
            "sex": rng.choice(["F", "M"], rows).astype(object),
            "visit": visit.strftime("%Y-%m-%d").astype(object),
            "smoker": (rng.random(rows) < 0.3).astype(object),
        }
    )


def neighbour(data: pd.DataFrame, extra: str) -> pd.DataFrame:
    """``data`` plus one row: row 7 with the changes of ``EXTRA_ROWS[extra]``."""
    row = data.iloc[[7]].copy()
    for column, value in EXTRA_ROWS[extra].items():
        row[column] = pd.Series([value], index=row.index, dtype=object)
    return pd.concat([data, row], ignore_index=True)


def as_pandas_reads_it(data: pd.DataFrame) -> pd.DataFrame:
    """The table after a CSV round trip with pandas' type inference: its dtypes now depend on
    the values (one missing value turns an int column into float64, one text value a number
    column into object), which is why declared metadata, not dtypes, must type the output."""
    return pd.read_csv(io.StringIO(data.to_csv(index=False)))


def public_metadata() -> Metadata:
    """Declared public domain (bounds, categories), all columns nullable."""
    return Metadata(
        {
            "pid": ColumnSpec("id"),
            "age": ColumnSpec("numerical", dtype="int", lower=0, upper=120, precision=0),
            "income": ColumnSpec("numerical", dtype="float", lower=0, upper=1e6, precision=2),
            "sex": ColumnSpec("categorical", categories=("F", "M")),
            "visit": ColumnSpec(
                "datetime", lower="2019-01-01", upper="2024-12-31", format="%Y-%m-%d"
            ),
            "smoker": ColumnSpec("boolean"),
        },
        public=True,
    )


def declared_schema() -> Metadata:
    """Kinds only: every domain is estimated under DP."""
    return public_metadata().schema_only()


def typed_frame(data: pd.DataFrame) -> pd.DataFrame:
    """The frame with pandas dtypes fixed by the caller, as a DP fit without metadata reads
    them: the same dtypes for ``D`` and its neighbour, whatever the extra row holds."""
    return pd.DataFrame(
        {
            "pid": data["pid"].astype(object),
            "age": pd.to_numeric(data["age"], errors="coerce").round().astype("Int64"),
            "income": pd.to_numeric(data["income"], errors="coerce").astype("float64"),
            "sex": data["sex"].astype(object),
            "visit": pd.to_datetime(data["visit"], format="%Y-%m-%d", errors="coerce"),
            "smoker": data["smoker"].astype("boolean"),
        }
    )


def fit_and_watch(make: Callable[[], Any], data: pd.DataFrame, metadata: Any) -> tuple[Any, list]:
    """Fit, keeping every warning raised on the way (in order, as text)."""
    synth = make()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        synth.fit(data, metadata)
    return synth, [f"{w.category.__name__}: {w.message}" for w in caught]


def fingerprint(
    synth: Any, shown: list[str], folder: Path, rounds_follow_noise: bool = False
) -> dict[str, Any]:
    """Everything deterministic a DP fit exposes, except the values its noise drives.

    Named difference: once a marginal method *selects* (an exponential-mechanism release,
    phase ``"select"``), which marginals it measures next - their names and cell counts - is
    post-processing of that release, and may change when one row tips a close choice. Those
    entries are compared by mechanism, phase and noise scale only. With
    ``rounds_follow_noise`` (AIM) even the number of rounds is post-processing of noisy
    measurements (its annealing), so only the kinds of entries after the first selection are
    compared, and the model file's arrays by name pattern and dtype (how many clique tables
    it holds follows the selected structure).

    Second named difference: whether a categorical column takes a second look at its tail
    (:mod:`tabsynth.synthesizers.dp_tails`), and with what share of the pool, is
    post-processing of its noisy tally, so second looks are left out of the ledger compared
    here (``tests/test_dp_tails.py`` checks that they follow the released tallies alone, and
    ``test_mst_second_look_at_a_long_tail`` that both neighbours take one where the tail is
    long). The model file's ledger is compared through ``ledger``, not its skeleton. On a
    small table the default domain budget gives each tail that stands out an extra
    (:func:`~tabsynth.synthesizers.dp_domain.default_budget`), so the model's budget, and its
    σ, follow how many tallies stood out: post-processing too, but with these tables, seeds
    and extra rows no tally that decides an extra tips between the neighbours, so those σ are
    still compared exactly (a case where one tips would fail here, and would need them
    compared up to their common scale).

    Third: MST picks how to measure each pair of ordered columns of 8 bins or more
    (``MSTSynthesizer._bands``), so how many picks it makes follows the bin counts of a
    DP-estimated domain (one row more shifts a seeded noise stream, and a released range may
    then hold fewer values): post-processing of the domain releases, like a marginal's cells.
    Its picks are compared by kind and total ρ, which they share.
    """
    path = folder / f"model-{id(synth)}.tsyn"
    synth.save(path)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("model.json"))
        with np.load(io.BytesIO(archive.read("arrays.npz")), allow_pickle=False) as npz:
            arrays = {k: str(npz[k].dtype) for k in npz.files}
        members = sorted(archive.namelist())
    sample = synth.sample(64, seed=5)
    ledger = synth.privacy
    phases = [e.phase for e in ledger.entries]
    first = phases.index("select") if "select" in phases else len(phases)
    before = [e for e in ledger.entries[:first] if SECOND_LOOK not in e.purpose]
    after = [e for e in ledger.entries[first:] if not e.purpose.endswith(BAND_PICK)]
    picks = [e for e in ledger.entries[first:] if e.purpose.endswith(BAND_PICK)]
    return {
        "schema": synth.metadata_.to_dict(),
        "sample dtypes": sample.dtypes.astype(str).to_dict(),
        "ledger": [
            {"mechanism": e.mechanism, "purpose": e.purpose, "phase": e.phase, **_fixed(e.params)}
            for e in before
        ],
        "ledger after selection": (
            sorted({(e.mechanism, e.phase) for e in after})
            if rounds_follow_noise
            else [(e.mechanism, e.phase, e.params.get("sigma")) for e in after]
        ),
        # the picks share one budget however many there are
        "band picks": (
            sorted({(e.mechanism, e.phase) for e in picks}),
            float(np.round(sum(e.rho for e in picks), 12)),
        ),
        "public inputs": ledger.public,
        "ledger target": (ledger.epsilon, ledger.delta, ledger.rho_budget),
        "model members": members,
        "model structure": skeleton({**manifest, "privacy": None}),
        # the model's clique tables follow its structure, which selection picks under noise
        "arrays": (
            sorted({(re.sub(r"\d+$", "#", k), v) for k, v in arrays.items()})
            if rounds_follow_noise
            else arrays
        ),
        "messages": shown,
    }


def _fixed(params: dict[str, Any]) -> dict[str, Any]:
    """Entry parameters minus ``cells``: a measured marginal's cell count is the product of
    its columns' domain sizes, and a DP-estimated domain (quantile edges that merge, categories
    kept) is post-processing of the charged domain releases."""
    return {k: v for k, v in params.items() if k != "cells"}


def skeleton(value: Any) -> Any:
    """Keys and types of a JSON document, without its values."""
    if isinstance(value, dict):
        return {k: skeleton(v) for k, v in value.items()}
    if isinstance(value, list):
        return ["list", *sorted({json.dumps(skeleton(v), sort_keys=True) for v in value})]
    return type(value).__name__


def differences(left: dict[str, Any], right: dict[str, Any]) -> list[str]:
    """The parts of two fingerprints that differ, with the first differing item of each."""
    out = []
    for key in left:
        a, b = left[key], right[key]
        if a == b:
            continue
        if isinstance(a, list) and isinstance(b, list):
            i = next(
                (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                min(len(a), len(b)),
            )
            first = (a[i] if i < len(a) else "<none>", b[i] if i < len(b) else "<none>")
            out.append(f"{key} (lengths {len(a)}, {len(b)}), item {i}: {first[0]} != {first[1]}")
        else:
            out.append(f"{key}: {a} != {b}")
    return out
