"""Column types decided by declarations alone: output dtypes, and the DP schema of a bare frame.

Two rules live here, because both must never look at a single value of the private table:

* :func:`output_dtype` - the dtype a synthetic column comes back with, read off its
  :class:`~tabsynth.metadata.ColumnSpec` (kind, ``dtype``, ``nullable``, ``format``, declared
  categories). It is one rule for every synthesizer, private or not. An older design copied the
  training frame's pandas dtypes, which depend on the values: one missing value turns an
  ``int64`` column into ``float64``, one ``None`` a ``bool`` column into ``object``. Under
  differential privacy that is a deterministic leak about one row, outside any budget.
* :func:`schema_from_dtypes` - what a DP fit without metadata may take as public schema: the
  pandas dtypes exactly as the caller built the frame, and nothing read from its values (no
  integrality test, no date parsing, no uniqueness rule). Value-based detection
  (:meth:`Metadata.detect`) flips kinds when one row is added - ``2.5`` makes an int column
  float, ``"unknown"`` in a date column makes it text, one duplicate makes an id column
  categorical - so it stays for non-private use only.

================================  ==============================================
declared column                   output dtype
================================  ==============================================
numerical ``int``                 ``int64``; ``Int64`` when nullable
numerical ``float``               ``float64``
boolean                           ``bool``; ``boolean`` when nullable
boolean with ``true_value``       the declared spellings: ``object``, or ``int64``
                                  (``Int64`` when nullable) for whole-number codes
datetime with a ``format``        text (``object``) written with that format
datetime without a format         ``datetime64[ns]`` (``[ns, zone]`` with a timezone)
categorical, declared int codes   ``int64``; ``Int64`` when nullable
categorical, declared floats      ``float64``
categorical, otherwise            ``object`` (the declared values; ``"<other>"``, or
                                  the rarer integer codes it decodes to)
id with ``dtype: int``            ``int64``
id, pii, text                     ``object``
================================  ==============================================
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from tabsynth.errors import DataError
from tabsynth.metadata import ColumnSpec, Metadata, timezone_of

#: strftime layout of datetimes written as text when the metadata declares no format.
ISO_FORMAT = "%Y-%m-%dT%H:%M:%S"


def output_dtype(spec: ColumnSpec) -> str:
    """The pandas dtype of a synthetic column, from its declaration alone (table above)."""
    if spec.kind == "numerical":
        if spec.dtype == "int":
            return "Int64" if spec.nullable else "int64"
        return "float64"
    if spec.kind == "boolean" and spec.labels is not None:
        if all(isinstance(v, (int, np.integer)) for v in spec.labels):
            return "Int64" if spec.nullable else "int64"
        return "object"
    if spec.kind == "boolean":
        return "boolean" if spec.nullable else "bool"
    if spec.kind == "datetime":
        if spec.format:
            return "object"
        return f"datetime64[ns, {spec.timezone}]" if spec.timezone else "datetime64[ns]"
    if spec.kind == "categorical":
        return _category_dtype(spec)
    if spec.kind == "id" and spec.dtype == "int":
        return "int64"
    return "object"


def output_dtypes(metadata: Metadata) -> dict[str, str]:
    """Column -> dtype of every synthetic column (``pii`` dropped by its strategy excluded)."""
    return {
        name: output_dtype(spec)
        for name, spec in metadata.columns.items()
        if not (spec.kind in ("pii", "text") and spec.pii_strategy == "drop")
    }


def _category_dtype(spec: ColumnSpec) -> str:
    cats = spec.categories
    if not cats:
        return "object"
    if all(isinstance(c, (int, np.integer)) and not isinstance(c, (bool, np.bool_)) for c in cats):
        return "Int64" if spec.nullable else "int64"
    if all(isinstance(c, (float, np.floating)) for c in cats):
        return "float64"
    return "object"


def restore_dtypes(data: pd.DataFrame, metadata: Metadata) -> pd.DataFrame:
    """Give decoded columns the dtypes their declarations imply (:func:`output_dtype`).

    Columns absent from ``data`` (a pii column with ``pii_strategy="drop"``) are skipped.
    """
    out = {}
    for name, spec in metadata.columns.items():
        if name in data.columns:
            out[name] = _restore_column(data[name], spec)
    return pd.DataFrame(out)


def _restore_column(series: pd.Series, spec: ColumnSpec) -> pd.Series:
    dtype = output_dtype(spec)
    if spec.kind == "boolean" and spec.labels is not None:
        return _spell_flags(series, spec.labels, dtype)
    if spec.kind == "datetime":
        stamps = pd.to_datetime(series).astype("datetime64[ns]")
        if spec.timezone:  # modelled in UTC, returned in the declared zone
            stamps = stamps.dt.tz_localize("UTC").dt.tz_convert(spec.timezone)
        if not spec.format:
            return stamps
        text = stamps.dt.strftime(spec.format or ISO_FORMAT)
        return text.astype(object).where(series.notna(), np.nan)
    if dtype in ("int64", "Int64"):
        values = pd.to_numeric(series, errors="coerce").round()
        # A non-nullable column never decodes a missing value; the nullable dtype is only a
        # guard for models (SDV's) that could still produce one.
        return values.astype("Int64" if values.isna().any() else dtype)
    if dtype == "float64":
        return pd.to_numeric(series, errors="coerce").astype("float64")
    if dtype in ("bool", "boolean"):
        return series.astype("boolean" if series.isna().any() else dtype)
    return series.astype(object).where(series.notna(), np.nan)


def _spell_flags(series: pd.Series, labels: tuple[Any, Any], dtype: str) -> pd.Series:
    """Flags decoded as True/False, spelled as the column declares. Values already spelled (a
    frame restored once, as the group sampler's parts are) are kept, and flags that a
    conditional sampler wrote into an object column are spelled too."""
    if pd.api.types.is_bool_dtype(series.dtype):
        flags = series.astype("boolean")
        spelled = pd.Series(
            np.where(flags.fillna(False).to_numpy(dtype=bool), labels[1], labels[0]),
            index=series.index,
            dtype=object,
        ).where(flags.notna(), np.nan)
    else:
        spelled = series.astype(object).map(
            lambda v: labels[int(v)] if isinstance(v, (bool, np.bool_)) else v
        )
    if dtype == "object":
        return spelled
    return spelled.astype("Int64" if spelled.isna().any() else dtype)


# ---------------------------------------------------------------------------------------------
# the DP schema of a frame given without metadata


def schema_from_dtypes(data: pd.DataFrame) -> Metadata:
    """Kinds from the frame's pandas dtypes alone; no domain (DP mode without metadata).

    bool / ``boolean`` -> boolean; integer dtypes -> numerical int; float dtypes -> numerical
    float; ``datetime64`` (time zone or not) -> datetime; ``category``, ``object`` and
    ``string`` -> categorical (text is taken for categories; a DP fit looks, under DP, for
    dates written as text in the columns :func:`text_columns` names:
    :mod:`~tabsynth.synthesizers.dp_kinds`, and for whole numbers in the columns
    :func:`float_columns` names: :mod:`~tabsynth.synthesizers.dp_whole`; an identifier or
    free-text column must be declared). Every column is nullable, since nullability is a
    property of the values. Any other dtype raises :class:`DataError` saying what to declare.
    """
    return Metadata(
        {str(name): _kind_of(str(name), data[name].dtype) for name in data.columns},
        source="user",
        public=False,
    )


def text_columns(data: pd.DataFrame) -> list[str]:
    """Columns that :func:`schema_from_dtypes` takes for categories because pandas holds them as
    text (``object`` or ``string``), not because the caller made them ``category``: the ones
    that may hold dates written as text."""
    return [str(name) for name in data.columns if _is_text(data[name].dtype)]


def float_columns(data: pd.DataFrame) -> list[str]:
    """Columns that :func:`schema_from_dtypes` takes for fractional numbers because pandas holds
    them as floats: the ones that may hold whole numbers (an integer column with a missing
    value is ``float64``)."""
    return [str(name) for name in data.columns if pd.api.types.is_float_dtype(data[name].dtype)]


def _is_text(dtype: Any) -> bool:
    """``object`` or ``string``, and not ``category`` (which pandas also calls a string dtype
    when its categories are text)."""
    types = pd.api.types
    return not isinstance(dtype, pd.CategoricalDtype) and (
        types.is_object_dtype(dtype) or types.is_string_dtype(dtype)
    )


def _kind_of(name: str, dtype: Any) -> ColumnSpec:
    types = pd.api.types
    if isinstance(dtype, pd.CategoricalDtype):  # before is_bool_dtype, which reads its values
        return ColumnSpec("categorical")
    if types.is_bool_dtype(dtype):
        return ColumnSpec("boolean")
    if types.is_integer_dtype(dtype):
        return ColumnSpec("numerical", dtype="int", precision=0)
    if types.is_float_dtype(dtype):
        return ColumnSpec("numerical", dtype="float")
    if types.is_datetime64_any_dtype(dtype):
        return ColumnSpec("datetime", timezone=timezone_of(dtype))
    if _is_text(dtype):
        return ColumnSpec("categorical")
    example = json.dumps({"columns": {name: {"kind": "numerical", "dtype": "float"}}})
    raise DataError(
        f"column {name!r} has dtype {dtype}, whose kind a DP fit cannot decide without looking "
        f"at the values; pass metadata that declares every column's kind (e.g. {example}, "
        "kinds: numerical, categorical, boolean, datetime, id, pii, text), or convert it"
    )
