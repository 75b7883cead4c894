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
from tabsynth.metadata import GENERATED_KINDS, ColumnSpec, Metadata, label_key

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
    return _code(metadata, columns, frames, {})[0]


@dataclass(frozen=True)
class Vocabulary:
    """The labels behind the category codes of tables coded together, per categorical or
    boolean column in code order. :meth:`code` codes one more table as if it had been coded
    with them, without coding them again (the audit codes each trial's synthetic rows against
    its background and targets, coded once)."""

    metadata: Metadata
    columns: tuple[str, ...]
    labels: dict[str, pd.Index]

    @classmethod
    def of(
        cls, metadata: Metadata, columns: Sequence[str], frames: Sequence[pd.DataFrame]
    ) -> tuple[list[CodedTable], Vocabulary]:
        """:func:`code_tables` of ``frames``, and their vocabulary."""
        tables, labels = _code(metadata, columns, frames, {})
        return tables, cls(metadata, tuple(columns), labels)

    def code(self, frame: pd.DataFrame) -> CodedTable:
        """``frame`` with the vocabulary's codes; a label it lacks gets a code none of its
        labels has, as coding ``frame`` together with the tables would have given it.
        ``nullable`` then speaks of ``frame`` alone."""
        return _code(self.metadata, self.columns, [frame], self.labels)[0][0]


def _code(
    metadata: Metadata,
    columns: Sequence[str],
    frames: Sequence[pd.DataFrame],
    known: dict[str, pd.Index],
) -> tuple[list[CodedTable], dict[str, pd.Index]]:
    """:func:`code_tables` continuing the codes of ``known`` labels; also the labels, per
    coded categorical or boolean column."""
    specs = [metadata[name] for name in columns]
    parts: list[list[np.ndarray]] = [[] for _ in frames]
    labels: dict[str, pd.Index] = {}
    for name, spec in zip(columns, specs, strict=True):
        series = [f[name] for f in frames]
        if spec.kind in ("numerical", "datetime"):
            coded = _code_numbers(spec, series)
        else:
            coded, labels[name] = _code_labels(spec, series, known.get(name))
        for i, col in enumerate(coded):
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
    tables = [CodedTable(tuple(columns), numeric, m, precision, nullable) for m in matrices]
    return tables, labels


def _precision(spec: ColumnSpec) -> int | None:
    if spec.kind == "datetime":
        return 0  # whole seconds
    if spec.kind != "numerical":
        return None
    return 0 if spec.dtype == "int" else spec.precision


def _code_numbers(spec: ColumnSpec, series: list[pd.Series]) -> list[np.ndarray]:
    if spec.kind == "numerical":
        return [pd.to_numeric(s, errors="coerce").to_numpy(dtype=float) for s in series]
    return [_seconds(s, spec.format) for s in series]


def _code_labels(
    spec: ColumnSpec, series: list[pd.Series], known: pd.Index | None
) -> tuple[list[np.ndarray], pd.Index]:
    """Codes of the canonical labels, in order of first appearance after the ``known`` ones
    (NaN where missing), and all the labels in code order."""
    labels = pd.concat(
        [_labels(s, boolean=spec.kind == "boolean") for s in series], ignore_index=True
    )
    known = pd.Index([], dtype=object) if known is None else known
    codes = known.get_indexer(labels)
    new = (codes < 0) & labels.notna().to_numpy()
    more, extra = pd.factorize(labels[new], use_na_sentinel=True)
    codes[new] = len(known) + more
    uniques = known.append(pd.Index(extra))
    out = codes.astype(float)
    out[codes < 0] = np.nan
    return np.split(out, np.cumsum([len(s) for s in series])[:-1]), pd.Index(uniques)


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
    """The value's label as the metadata matches it (:func:`~tabsynth.metadata.label_key`:
    ``2``, ``2.0`` and ``"2"`` are one), with a boolean's spellings made one."""
    text = label_key(value)
    return _BOOL_TEXT.get(text.lower(), text) if boolean else text


def _round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(values)))
    magnitude = np.where(np.isfinite(magnitude), magnitude, 0.0)
    factor = 10.0 ** (digits - 1 - magnitude)
    return np.round(values * factor) / factor
