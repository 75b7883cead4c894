"""The attacker's view of a table: the learned columns as one float matrix with shared codes.

Training, synthetic and holdout tables reach the privacy report with whatever dtypes their
producers gave them: integers that came back as floats, booleans as strings, dates as text.
Comparing them cell by cell needs one canonical form, built here once for all attacks:

* numerical columns -> floats; datetimes -> seconds since the epoch (floats);
* categorical and boolean columns -> integer codes shared by all tables coded together, so
  the same category has the same code in every table (``"1"``, ``1`` and ``1.0`` are one
  category; ``True``, ``"true"`` and ``1`` are one boolean value);
* missing values -> NaN, in every kind of column;
* ``id``, ``pii`` and ``text`` columns are left out: synthesizers generate them fresh, so they
  carry nothing an attacker could learn from the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabsynth.errors import DataError
from tabsynth.metadata import GENERATED_KINDS, ColumnSpec, Metadata

#: Significant digits kept when comparing floats that have no declared precision.
SIGNIFICANT_DIGITS = 6
_NAN_KEY = -1.2345678e300  # stands for a missing value when rows are hashed


@dataclass(frozen=True)
class CodedTable:
    """Learned columns of one table: ``values[i, j]`` is row ``i`` of column ``names[j]``."""

    names: tuple[str, ...]
    numeric: tuple[bool, ...]
    values: np.ndarray
    precision: tuple[int | None, ...]
    #: whether the column has missing values in *any* of the tables coded together
    nullable: tuple[bool, ...]

    def __len__(self) -> int:
        return self.values.shape[0]

    def index(self, name: str) -> int:
        return self.names.index(name)

    def take(self, rows: np.ndarray) -> CodedTable:
        """The same columns, rows ``rows`` only."""
        return CodedTable(
            self.names, self.numeric, self.values[rows], self.precision, self.nullable
        )

    def row_keys(self) -> np.ndarray:
        """One 64-bit hash per row of the rounded values: equal rows get equal keys.

        Floats are rounded to their column's declared precision, or to
        :data:`SIGNIFICANT_DIGITS` significant digits, so that a value written back from a
        synthesizer's decoder compares equal to the original it copies.
        """
        rounded = np.empty_like(self.values)
        for j, digits in enumerate(self.precision):
            col = self.values[:, j]
            if not self.numeric[j]:
                rounded[:, j] = col
            elif digits is not None:
                rounded[:, j] = np.round(col, digits)
            else:
                rounded[:, j] = _round_significant(col, SIGNIFICANT_DIGITS)
        rounded = np.where(np.isnan(rounded), _NAN_KEY, rounded) + 0.0  # -0.0 -> 0.0
        frame = pd.DataFrame(rounded)
        return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def learned_columns(metadata: Metadata, frames: dict[str, pd.DataFrame]) -> list[str]:
    """Columns an attacker can learn about from the model, checked present in every frame.

    ``frames`` maps a role ("training", "synthetic", "holdout") to its table; the first is
    the reference for which metadata columns exist.
    """
    roles = list(frames)
    first = frames[roles[0]]
    columns = [
        name
        for name, spec in metadata.columns.items()
        if spec.kind not in GENERATED_KINDS and name in first.columns
    ]
    if not columns:
        raise DataError(
            "no learned columns to attack: the metadata marks every column of the training "
            "table as id, pii or text (or none is in the table); check the metadata"
        )
    for role in roles[1:]:
        absent = [c for c in columns if c not in frames[role].columns]
        if absent:
            raise DataError(
                f"the {role} table lacks columns {absent} that the training table has; pass "
                "tables with the same learned columns"
            )
    return columns


def code_tables(
    metadata: Metadata, columns: Sequence[str], frames: Sequence[pd.DataFrame]
) -> list[CodedTable]:
    """Code ``frames`` together (shared category codes), one :class:`CodedTable` each."""
    specs = [metadata[name] for name in columns]
    parts: list[list[np.ndarray]] = [[] for _ in frames]
    for name, spec in zip(columns, specs, strict=True):
        for i, col in enumerate(_code_column(name, spec, [f[name] for f in frames])):
            parts[i].append(col)
    matrices = [
        np.column_stack(p) if p else np.empty((len(f), 0))
        for p, f in zip(parts, frames, strict=True)
    ]
    numeric = tuple(spec.kind in ("numerical", "datetime") for spec in specs)
    precision = tuple(_precision(spec) for spec in specs)
    nullable = tuple(
        bool(any(np.isnan(m[:, j]).any() for m in matrices)) for j in range(len(columns))
    )
    return [CodedTable(tuple(columns), numeric, m, precision, nullable) for m in matrices]


def _precision(spec: ColumnSpec) -> int | None:
    if spec.kind == "datetime":
        return 0  # whole seconds
    if spec.kind != "numerical":
        return None
    return 0 if spec.dtype == "int" else spec.precision


def _code_column(name: str, spec: ColumnSpec, series: list[pd.Series]) -> list[np.ndarray]:
    if spec.kind == "numerical":
        return [pd.to_numeric(s, errors="coerce").to_numpy(dtype=float) for s in series]
    if spec.kind == "datetime":
        return [_seconds(s, spec.format) for s in series]
    labels = [_labels(s, boolean=spec.kind == "boolean") for s in series]
    codes, _ = pd.factorize(pd.concat(labels, ignore_index=True), use_na_sentinel=True)
    codes = codes.astype(float)
    codes[codes < 0] = np.nan
    return np.split(codes, np.cumsum([len(s) for s in series])[:-1])


def _seconds(series: pd.Series, fmt: str | None) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps = series
    else:
        stamps = pd.to_datetime(series, format=fmt, errors="coerce")
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert(None)
    stamps = stamps.astype("datetime64[ns]")
    out = stamps.to_numpy().astype("int64").astype(float) / 1e9
    out[stamps.isna().to_numpy()] = np.nan
    return out


def _labels(series: pd.Series, boolean: bool) -> pd.Series:
    """Canonical text of each value (NaN for missing); works on unique values for speed."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    canon = np.array([_canonical(v, boolean) for v in uniques] + [np.nan], dtype=object)
    return pd.Series(canon[codes], dtype=object)


_BOOL_TEXT = {"true": "True", "1": "True", "false": "False", "0": "False"}


def _canonical(value: object, boolean: bool) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    text = str(value)
    return _BOOL_TEXT.get(text.lower(), text) if boolean else text


def _round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(values)))
    magnitude = np.where(np.isfinite(magnitude), magnitude, 0.0)
    factor = 10.0 ** (digits - 1 - magnitude)
    return np.round(values * factor) / factor
