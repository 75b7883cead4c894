"""Reading tables and writing any output atomically.

Every file tabsynth writes goes to a temporary name in the destination folder first and is
renamed into place only once complete, so a crash or a full disk never leaves a half-written
table, report or model that a later step might mistake for a good one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pandas as pd

from tabsynth.errors import FileFormatError

TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary sibling of ``path``; rename it over ``path`` only on success."""
    target = Path(path)
    if target.parent and not target.parent.exists():
        raise FileFormatError(f"cannot write {target}: folder {target.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_open(path, "w") as handle:
        handle.write(text)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in TABLE_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def is_csv(path: str | Path) -> bool:
    """Whether ``path`` names a CSV file (plain or gzipped), which stores no column types."""
    return _suffix(Path(path)) in (".csv", ".csv.gz")


def read_table(path: str | Path, as_text: bool = False) -> pd.DataFrame:
    """Read a CSV (optionally gzipped) or Parquet file.

    CSVs are read with ``keep_default_na=False, na_values=[""]``: only empty cells are
    missing, so real categories such as ``"None"`` or ``"NA"`` survive. With ``as_text`` every
    CSV cell stays a string (codes keep their leading zeros) for the metadata to type; without
    it pandas infers types from the values, which a DP fit must not rely on.
    """
    source = Path(path)
    if not source.is_file():
        raise FileFormatError(f"input file {source} does not exist")
    suffix = _suffix(source)
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(source)
        if suffix in (".csv", ".csv.gz"):
            return pd.read_csv(
                source,
                keep_default_na=False,
                na_values=[""],
                low_memory=False,
                dtype=str if as_text else None,
            )
    except Exception as exc:  # pandas/pyarrow raise many types; the user needs one message
        raise FileFormatError(f"cannot read {source}: {exc}") from None
    raise FileFormatError(
        f"cannot read {source}: unknown extension {suffix!r}; use {', '.join(TABLE_SUFFIXES)}"
    )


def write_table(data: pd.DataFrame, path: str | Path) -> None:
    """Write ``data`` as CSV or Parquet, chosen by the extension, atomically."""
    target = Path(path)
    suffix = _suffix(target)
    if suffix not in TABLE_SUFFIXES:
        raise FileFormatError(
            f"cannot write {target}: unknown extension {suffix!r}; use {', '.join(TABLE_SUFFIXES)}"
        )
    with atomic_open(target, "wb") as handle:
        if suffix in (".parquet", ".pq"):
            data.to_parquet(handle, index=False)
        else:
            data.to_csv(handle, index=False, compression="gzip" if suffix == ".csv.gz" else None)
