"""Reading tables and writing any output atomically.

Every file tabsynth writes goes to a temporary name in the destination folder first and is
renamed into place only once complete, so a crash or a full disk never leaves a half-written
table, report or model that a later step might mistake for a good one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import pandas as pd

from tabsynth.errors import FileFormatError

TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")

#: A temporary file of :func:`atomic_open` older than this (seconds) belongs to a run that
#: was killed (SIGKILL, power loss) before it could clean up; the next write of the same
#: target removes it. An hour is far longer than any write takes.
STALE_TEMP_SECONDS = 3600.0

#: The random part of :func:`tempfile.mkstemp` names: 8 characters of this alphabet.
_MKSTEMP_RANDOM = r"[a-z0-9_]{8}"
#: Errors of the file system (not of the code writing) that :func:`atomic_open` reports as a
#: :class:`FileFormatError`: a full disk or quota, a file too large, a read-only mount.
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES})


def check_output_path(path: str | Path, suffixes: Iterable[str] | None = None) -> Path:
    """Refuse an output path that cannot be written, before any work is done.

    The path must not be a folder, its folder must exist and be writable, and when
    ``suffixes`` is given its extension must be one of them. Returns the path; raises
    :class:`FileFormatError` with a message that says what to change.
    """
    target = Path(path)
    if str(path) == "" or target.name in ("", ".", ".."):
        raise FileFormatError(f"cannot write {str(path)!r}: give a file name, e.g. out/result.csv")
    if target.is_dir():
        raise FileFormatError(
            f"cannot write {target}: it is a folder; give the path of a file (inside it, e.g. "
            f"{target / 'NAME'}, or elsewhere)"
        )
    if target.exists() and not target.is_file():
        # a device (/dev/full), FIFO or socket: the atomic rename would replace the node itself
        raise FileFormatError(
            f"cannot write {target}: it is not a regular file (a device, pipe or socket); "
            "give the path of a file"
        )
    folder = target.parent
    if not folder.exists():
        raise FileFormatError(
            f"cannot write {target}: folder {folder} does not exist; create it first "
            f"(mkdir -p {folder}) or write elsewhere"
        )
    if not folder.is_dir():
        raise FileFormatError(f"cannot write {target}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise FileFormatError(
            f"cannot write {target}: folder {folder} is not writable; choose a folder you can "
            "write to"
        )
    if suffixes is not None:
        allowed = tuple(suffixes)
        suffix = _suffix(target)
        if suffix not in allowed:
            raise FileFormatError(
                f"cannot write {target}: unknown extension {suffix!r}; use {', '.join(allowed)}"
            )
    return target


def check_input_path(path: str | Path, what: str = "input file") -> Path:
    """Refuse an input path that is missing, a folder, or unreadable (:class:`FileFormatError`,
    naming it as ``what``); returns the path."""
    source = Path(path)
    if source.is_dir():
        raise FileFormatError(f"{what} {source} is a folder; give the path of the file itself")
    if not source.is_file():
        if not source.exists():
            raise FileFormatError(f"{what} {source} does not exist; check the path")
        raise FileFormatError(f"{what} {source} is not a regular file; give a file's path")
    if not os.access(source, os.R_OK):
        raise FileFormatError(f"{what} {source} is not readable: check its permissions")
    return source


def remove_stale_temporaries(target: str | Path, older_than: float = STALE_TEMP_SECONDS) -> int:
    """Delete leftovers of :func:`atomic_open` for ``target`` older than ``older_than`` s.

    Only files named like our own temporaries of this very target (``.{name}.XXXXXXXX.tmp``,
    the ``X`` being :func:`tempfile.mkstemp`'s random part) in its folder are touched, so
    temporaries of another target, or of a write still in progress, survive. Returns how
    many were removed; errors (a file removed meanwhile, no permission) are ignored.
    """
    target = Path(target)
    folder = target.parent
    pattern = re.compile(re.escape(f".{target.name}.") + _MKSTEMP_RANDOM + re.escape(".tmp"))
    cutoff = time.time() - older_than
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
    return removed


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary sibling of ``path``; rename it over ``path`` only on success.

    The temporary is removed on any exception, ``KeyboardInterrupt`` included (the CLI turns
    SIGTERM into one). A process killed outright (SIGKILL) cannot clean up: its temporary is
    removed by the next write of the same target once it is older than
    :data:`STALE_TEMP_SECONDS`.
    """
    target = check_output_path(path)
    remove_stale_temporaries(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise FileFormatError(f"cannot write {target}: {exc.strerror}") from None
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:
            # a full disk or a read-only mount is not a bug: one line that says so
            raise FileFormatError(f"cannot write {target}: {exc.strerror}") from None
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
    source = check_input_path(path, "input file")
    suffix = _suffix(source)
    if suffix in (".csv", ".csv.gz") and source.stat().st_size == 0:
        raise FileFormatError(
            f"cannot read {source}: the file is empty; a CSV table needs a header line with the "
            "column names and at least one row"
        )
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(source)
        if suffix in (".csv", ".csv.gz"):
            header = _read_csv(source, header=None, nrows=1, dtype=str).iloc[0].tolist()
            _check_header(source, header)
            frame = _read_csv(source, dtype=str if as_text else None)
            if not as_text:
                frame = _keep_codes_as_text(source, frame)
            return frame
    except FileFormatError:
        raise
    except Exception as exc:  # pandas/pyarrow raise many types; the user needs one message
        detail = " ".join(str(exc).split()) or type(exc).__name__  # one line
        raise FileFormatError(f"cannot read {source}: {detail}") from None
    raise FileFormatError(
        f"cannot read {source}: unknown extension {suffix!r}; use {', '.join(TABLE_SUFFIXES)}"
    )


def _read_csv(source: Path, **kwargs: Any) -> pd.DataFrame:
    """``pd.read_csv`` with tabsynth's missing-value rule: only empty cells are missing."""
    return pd.read_csv(source, keep_default_na=False, na_values=[""], low_memory=False, **kwargs)


#: Separators other than the comma that a one-column header containing them betrays.
_OTHER_SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "pipes"}


def _check_header(source: Path, header: list[Any]) -> None:
    """Refuse a CSV header pandas would silently repair: a repeated name (read as ``a.1``,
    which dodges the duplicate-name check), an empty name (read as ``Unnamed: 2``), or one
    name holding another separator (a ``;``-separated file read as one text column)."""
    names = ["" if pd.isna(name) else str(name) for name in header]
    repeated = sorted({name for name in names if names.count(name) > 1 and name})
    if repeated:
        raise FileFormatError(
            f"cannot read {source}: the header repeats the column names {repeated}; rename "
            "them so each is unique"
        )
    empty = [i + 1 for i, name in enumerate(names) if not name.strip()]
    if empty:
        raise FileFormatError(
            f"cannot read {source}: header column(s) {empty} have no name (a trailing comma?); "
            "name every column or remove the empty ones"
        )
    if len(names) == 1:
        for separator, plural in _OTHER_SEPARATORS.items():
            if separator in names[0]:
                raise FileFormatError(
                    f"cannot read {source}: its header is one name containing {plural} "
                    f"({names[0][:60]!r}); tabsynth reads comma-separated files, so convert it "
                    "(e.g. pd.read_csv(path, sep=None).to_csv(new_path, index=False))"
                )


#: A whole number written with a leading zero (``01005``): a code, not a quantity.
_LEADING_ZERO = r"^[+-]?0[0-9]"


def _keep_codes_as_text(source: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """Integer columns whose text has leading zeros (postcodes, ICD codes: ``01005``) read
    back as text: pandas' inference would turn them into numbers and drop the zeros."""
    ints = [c for c in frame.columns if pd.api.types.is_integer_dtype(frame[c].dtype)]
    if not ints:
        return frame
    text = _read_csv(source, dtype=str, usecols=ints)
    for name in ints:
        if text[name].str.contains(_LEADING_ZERO, regex=True, na=False).any():
            frame[name] = text[name].astype(object)
    return frame


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
