"""Bundled sample tables for demos, documentation and tests.

Two tables ship with tabsynth, 8,000 rows each:

* ``"medical"`` - hospital admissions (age, sex, diagnosis group, labs, length of stay,
  30-day readmission), with MCAR and MAR missing lab values.
* ``"financial"`` - consumer loans (income, purpose, amount, term, grade, rate, DTI,
  default).

Both are entirely synthetic: a seeded script (``data/samples/make_samples.py``) draws every row
from published aggregate statistics (HCUP, CDC, LendingClub, Federal Reserve); no row of any
real data set was used. Their columns depend on each other on purpose, so a synthesizer that
ignores dependence visibly fails on them. Each table comes with a metadata JSON declaring a
*public* domain (physiological or product limits, not the sample's min/max), so the samples
can be used with the differentially private synthesizers without spending budget on bounds.
The data cards ``medical.md`` and ``financial.md`` beside the CSVs describe every column.

Where the files are looked up: in the source tree they exist once, in ``data/samples/`` at the
repository root beside the script that makes them. ``data/`` is not a package, so the build
maps those files into the wheel as package data under ``tabsynth/_samples/``. This module
therefore asks :mod:`importlib.resources` for ``tabsynth/_samples`` first (installed wheel)
and falls back to ``<repo>/data/samples`` (checkout or editable install). The same code works
in all three cases without copying files around in the repository.

Loaded dtypes follow the metadata kinds: datetime columns are ``datetime64[ns]``, boolean
columns ``bool``, float columns ``float64``, integer columns ``int64`` - except integer columns
with missing values, which stay ``float64`` with NaN (numpy has no integer NaN, and a float
column is what most numeric code expects). Categorical and id columns keep the type pandas
reads (strings, or ints for ``term_months``), exactly as :func:`tabsynth.io.read_table` would,
so the frame validates against the metadata.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tabsynth.errors import FileFormatError, ParameterError

if TYPE_CHECKING:
    from tabsynth.metadata import Metadata

__all__ = ["load_sample", "load_sample_metadata", "sample_names", "sample_path"]

SAMPLE_NAMES: tuple[str, ...] = ("financial", "medical")
_PACKAGED_DIR = "_samples"
_REPO_DIR = Path(__file__).resolve().parents[1] / "data" / "samples"


def sample_names() -> list[str]:
    """Names accepted by :func:`load_sample`, sorted."""
    return list(SAMPLE_NAMES)


def sample_path(name: str) -> Path:
    """Path of the CSV file of sample ``name`` (``"medical"`` or ``"financial"``).

    Useful for the command line (``tabsynth fit <path>``) and for reading the file yourself.
    """
    return _find(f"{_checked_name(name)}.csv")


def load_sample(name: str) -> pd.DataFrame:
    """Load sample ``name`` as a DataFrame with dtypes set from its metadata kinds.

    Raises
    ------
    ParameterError
        ``name`` is not one of :func:`sample_names`.
    FileFormatError
        The sample files are missing or do not match each other (a broken installation).
    """
    csv_path = sample_path(name)
    columns = _column_specs(name)
    id_columns = {col: str for col, spec in columns.items() if spec.get("kind") == "id"}
    frame = pd.read_csv(
        csv_path, keep_default_na=False, na_values=[""], dtype=id_columns, low_memory=False
    )
    if list(frame.columns) != list(columns):
        raise FileFormatError(
            f"sample {name!r}: CSV columns {list(frame.columns)} do not match its metadata "
            f"{list(columns)}; reinstall tabsynth or rerun data/samples/make_samples.py"
        )
    for col, spec in columns.items():
        frame[col] = _apply_kind(frame[col], spec)
    return frame


def load_sample_metadata(name: str) -> Metadata:
    """The public-domain :class:`~tabsynth.metadata.Metadata` of sample ``name``."""
    from tabsynth.metadata import Metadata  # lazy: keeps ``load_sample`` import-light

    return Metadata.load(_metadata_path(name))


# -- lookup ----------------------------------------------------------------------------------


def _checked_name(name: Any) -> str:
    """Return ``name`` if it names a sample; otherwise say which names exist."""
    if not isinstance(name, str) or name not in SAMPLE_NAMES:
        raise ParameterError(f"unknown sample {name!r}; choose one of: {', '.join(SAMPLE_NAMES)}")
    return name


def _metadata_path(name: str) -> Path:
    return _find(f"{_checked_name(name)}.metadata.json")


def _search_dirs() -> list[Path]:
    """Folders that may hold the samples: packaged data first, then the repository copy."""
    dirs = []
    packaged = _packaged_dir()
    if packaged is not None:
        dirs.append(packaged)
    dirs.append(_REPO_DIR)
    return dirs


def _packaged_dir() -> Path | None:
    """``tabsynth/_samples`` as a real folder, or None (not installed that way, or zipped)."""
    try:
        root = resources.files("tabsynth") / _PACKAGED_DIR
    except (ModuleNotFoundError, TypeError, ValueError):
        return None
    # A zipped install yields a non-filesystem Traversable; callers need a real Path.
    return root if isinstance(root, Path) else None


def _find(filename: str) -> Path:
    dirs = _search_dirs()
    for folder in dirs:
        candidate = folder / filename
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(d) for d in dirs)
    raise FileFormatError(
        f"sample file {filename} not found (looked in {searched}); the installation is "
        "incomplete: reinstall tabsynth, or run data/samples/make_samples.py in a checkout"
    )


# -- dtypes ----------------------------------------------------------------------------------


def _column_specs(name: str) -> dict[str, dict[str, Any]]:
    """Column specs straight from the JSON, so loading needs no Metadata class."""
    path = _metadata_path(name)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        columns = raw["columns"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FileFormatError(f"cannot read sample metadata {path}: {exc}") from None
    if not isinstance(columns, dict):
        raise FileFormatError(f"sample metadata {path}: 'columns' is not an object")
    return columns


def _apply_kind(values: pd.Series, spec: dict[str, Any]) -> pd.Series:
    """Give one column the dtype its metadata kind implies."""
    kind = spec.get("kind")
    if kind == "datetime":
        return pd.to_datetime(values, format=spec.get("format")).astype("datetime64[ns]")
    if kind == "boolean":
        return _to_bool(values)
    if kind == "numerical":
        if spec.get("dtype") == "int" and not values.isna().any():
            return values.astype("int64")
        return values.astype("float64")
    return values


def _to_bool(values: pd.Series) -> pd.Series:
    """True/False text (or already-parsed bools) to ``bool``; ``boolean`` if any missing."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values
    mapping = {"True": True, "False": False, True: True, False: False}
    parsed = values.map(mapping)
    unknown = parsed.isna() & values.notna()
    if unknown.any():
        raise FileFormatError(f"boolean column {values.name!r} holds {values[unknown].iloc[0]!r}")
    return parsed.astype("boolean") if values.isna().any() else parsed.astype(bool)
