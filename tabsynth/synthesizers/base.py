"""The synthesizer contract shared by every model in tabsynth.

scikit-learn's estimator habits, applied to tables:

* the constructor stores parameters and does nothing else (``get_params`` reads them back);
* ``fit(data, metadata=None)`` validates at the boundary, learns, stores state in attributes
  ending in ``_`` and returns ``self``;
* ``sample(n, seed=None)`` returns the training columns, in order, with the dtypes their
  metadata declares (:func:`tabsynth.schema.output_dtype`), never dtypes read off the
  training frame, whose pandas dtypes depend on its values;
* a ``fit`` that raises leaves the synthesizer as it was before the call;
* ``save(path)`` / :func:`load` use a zip of JSON plus ``.npz`` arrays: no training rows, and
  loading never runs code. A model that cannot be stored that way (SDV's) sets
  ``requires_trust`` and :func:`load` refuses it unless the caller passes ``trusted=True``;
* ``privacy`` is ``None`` for a non-private synthesizer, or the :class:`PrivacyLedger` that
  accounts for every access to the data.
"""

from __future__ import annotations

import inspect
import io
import json
import math
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from tabsynth import limits
from tabsynth.domain import generate_column
from tabsynth.errors import (
    MetadataError,
    ModelFileError,
    NotFittedError,
    ParameterError,
)
from tabsynth.io import atomic_open
from tabsynth.metadata import Metadata, OutOfBounds, check_frame
from tabsynth.rules import enforce as rules_enforce
from tabsynth.schema import restore_dtypes
from tabsynth.synthesizers import conditional
from tabsynth.synthesizers.conditional import Shares

MODEL_FORMAT = "tabsynth-model"
#: 2: output dtypes follow the metadata; version 1 files stored the training frame's dtypes.
MODEL_FORMAT_VERSION = 2
MANIFEST = "model.json"
ARRAYS = "arrays.npz"
PAYLOAD = "payload.pickle"

#: name -> class, filled by ``Synthesizer.__init_subclass__``; the CLI and :func:`load` use it.
REGISTRY: dict[str, type[Synthesizer]] = {}

MetadataLike = Metadata | dict | str | Path | None


class Synthesizer(ABC):
    """Base class: fit on a table, sample a synthetic one, save and load.

    Subclasses implement :meth:`_fit`, :meth:`_sample`, and :meth:`_get_state` /
    :meth:`_set_state` for persistence.
    """

    #: Registry key used by the CLI (``--synthesizer NAME``) and in model files.
    name: ClassVar[str] = ""
    #: True for models whose state is stored as a pickle (see module docstring).
    requires_trust: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            REGISTRY[cls.name] = cls

    def __init__(self, *, seed: int | None = None, on_out_of_bounds: OutOfBounds = "error"):
        self.seed = seed
        self.on_out_of_bounds = on_out_of_bounds

    # -- parameters -------------------------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self" and p != "kwargs"]

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, as stored (JSON-serialisable for saved models)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _repr_html_(self) -> str:
        from tabsynth.notebook import _repr_synthesizer

        return _repr_synthesizer(self)

    # -- the contract -----------------------------------------------------------------------
    #: Whether fits make a privacy claim; then messages never quote the private table.
    private: ClassVar[bool] = False

    def fit(self, data: pd.DataFrame, metadata: MetadataLike = None) -> Synthesizer:
        """Learn from ``data``. ``metadata`` may be a :class:`Metadata`, a dict, a JSON path,
        or ``None`` (detected from the data where the synthesizer allows it).

        If the fit raises, the synthesizer keeps the state it had before the call (a fitted
        model stays usable).
        """
        check_frame(data)
        check_seed(self.seed, "seed")
        before = dict(self.__dict__)
        try:
            meta = self._resolve_metadata(data, as_metadata(metadata))
            clean = meta.validate(
                data, on_out_of_bounds=self.on_out_of_bounds, private=self.private
            )
            meta = rules_enforce.prepare(meta, clean, private=self.private)
            self.metadata_ = meta
            self._fit(clean, meta)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        return self

    def sample(
        self,
        n: int,
        seed: int | None = None,
        conditions: Mapping[str, Any] | None = None,
        shares: Shares | None = None,
    ) -> pd.DataFrame:
        """``n`` synthetic rows with the training columns, in order, with their dtypes.

        ``conditions`` ``{column: value}`` fixes columns in every row and draws the others from
        the model's distribution given them; ``shares`` (``{column: {value: share}}``,
        ``{column: "equal"}``, or the same for a tuple of two columns) sets group shares, each
        group drawn conditionally (see :mod:`tabsynth.synthesizers.conditional`). A value the
        model cannot produce is refused with a :class:`ParameterError`.

        The same ``seed`` gives the same rows, also after :meth:`save` and :func:`load`.
        ``n`` is at most :data:`tabsynth.limits.MAX_SAMPLE_ROWS`, and an output estimated to
        take more than :data:`~tabsynth.limits.SAMPLE_MEMORY_FRACTION` of memory is refused
        up front. More than :data:`~tabsynth.limits.SAMPLE_CHUNK_ROWS` rows are drawn in
        chunks (see :meth:`_sample_in_chunks`); up to that many are drawn in one go, as
        before chunking existed, so existing seeds keep giving the same rows.
        """
        if shares is not None:
            return conditional.sample_shares(self, n, seed, shares, conditions)
        self._check_fitted()
        n = check_count(n)
        limits.check_sample_memory(n, self.metadata_)
        rng = np.random.default_rng(check_seed(seed, "seed"))
        given = conditional.check_conditions(conditions, self.metadata_)
        if given:

            def draw(size: int, _start: int, child: np.random.Generator) -> pd.DataFrame:
                frame = self._sample_given(size, given, child)
                # the rules' enforcer must not overwrite a condition (e.g. on a derived column)
                frame.attrs[rules_enforce.GIVEN] = {c: np.ones(len(frame), bool) for c in given}
                return frame

            return self._sample_in_chunks(n, rng, draw)
        return self._sample_in_chunks(n, rng, lambda size, _start, child: self._sample(size, child))

    def _sample_in_chunks(
        self,
        n: int,
        rng: np.random.Generator,
        draw: Callable[[int, int, np.random.Generator], pd.DataFrame],
        redraw: Callable[[np.ndarray, np.random.Generator], pd.DataFrame] | None = None,
    ) -> pd.DataFrame:
        """``n`` rows from ``draw(size, start, rng)`` (decoded rows ``start`` to
        ``start + size``), with the declared dtypes.

        With rules in the metadata, each chunk goes through
        :class:`tabsynth.rules.enforce.Enforcer`: derived columns are computed and rows that
        break a rule are drawn again by ``redraw(rows, rng)`` (fresh rows for the absolute
        positions ``rows``, for samplers whose rows differ, e.g. by their conditions). Without
        ``redraw`` the rows are taken as independent and identically distributed: valid rows
        are kept from draws of ``draw`` sized by the acceptance seen so far.

        Up to :data:`tabsynth.limits.SAMPLE_CHUNK_ROWS` rows: one call with ``rng`` itself,
        exactly the rows an unchunked sampler gave. More: one call per chunk, chunk ``i``
        with the ``i``-th child generator spawned from ``rng`` (still reproducible for a
        seed), so a model's intermediates stay bounded by the chunk; the chunks are
        concatenated, ``id`` values repeated across chunks are redrawn from one more child
        (ids stay unique), and the dtypes restored once, as for an unchunked draw.
        """
        enforcer = self._enforcer()
        if enforcer.active:
            plain = draw

            def draw(size: int, start: int, child: np.random.Generator) -> pd.DataFrame:
                if redraw is None:
                    return enforcer.enforce_iid(lambda k, r: plain(k, start, r), size, child)
                return enforcer.enforce(
                    plain(size, start, child), lambda rows, r: redraw(rows + start, r), child
                )

        else:
            bare = draw

            def draw(size: int, start: int, child: np.random.Generator) -> pd.DataFrame:
                # the marks of given cells are for the rules' enforcer only: pandas compares
                # attrs when concatenating chunks, and users should not see them
                frame = bare(size, start, child)
                frame.attrs.pop(rules_enforce.GIVEN, None)
                return frame

        chunk = limits.SAMPLE_CHUNK_ROWS
        if n <= chunk:
            return restore_dtypes(draw(n, 0, rng), self.metadata_)
        starts = range(0, n, chunk)
        children = rng.spawn(len(starts) + 1)
        parts = [
            draw(min(chunk, n - start), start, child)
            for start, child in zip(starts, children, strict=False)
        ]
        frame = pd.concat(parts, ignore_index=True)
        del parts
        _redraw_repeated_ids(frame, self.metadata_, n, children[-1])
        return restore_dtypes(frame, self.metadata_)

    def _enforcer(self) -> rules_enforce.Enforcer:
        """What makes sampled rows satisfy the rules (models may turn derivations round)."""
        return rules_enforce.Enforcer(self.metadata_)

    @property
    def privacy(self) -> Any:
        """The privacy ledger of a DP synthesizer after fit; ``None`` when not private."""
        return getattr(self, "privacy_", None)

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "metadata_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(data) before sampling "
                "or saving"
            )

    def _resolve_metadata(self, data: pd.DataFrame, metadata: Metadata | None) -> Metadata:
        """Non-private default: detect the metadata when none is given."""
        return metadata if metadata is not None else Metadata.detect(data)

    @abstractmethod
    def _fit(self, data: pd.DataFrame, metadata: Metadata) -> None:
        """Learn from validated data."""

    @abstractmethod
    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` decoded rows (:func:`~tabsynth.schema.restore_dtypes` sets the dtypes)."""

    def _sample_given(
        self, n: int, conditions: dict[str, Any], rng: np.random.Generator
    ) -> pd.DataFrame:
        """``n`` decoded rows given ``conditions`` (checked by
        :func:`~tabsynth.synthesizers.conditional.check_conditions`); models that can condition
        override it."""
        raise ParameterError(f"{type(self).__name__} cannot sample conditionally")

    def _can_condition(self, conditions: dict[str, Any]) -> bool:
        """Whether the model gives ``conditions`` positive probability, where it can tell
        (``shares="equal"`` skips groups it cannot produce); ``True`` when it cannot."""
        return True

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-serialisable state and named numeric arrays; never training rows."""
        return {}, {}

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:  # noqa: B027
        """Restore what :meth:`_get_state` returned."""

    def _get_payload(self) -> bytes | None:
        """Opaque bytes for models that cannot be stored as JSON and arrays (``requires_trust``)."""
        return None

    def _set_payload(self, payload: bytes) -> None:
        raise ModelFileError(f"{type(self).__name__} stores no payload")

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the fitted model to ``path`` (a zip of JSON and arrays), atomically."""
        self._check_fitted()
        from tabsynth import __version__

        state, arrays = self._get_state()
        privacy = self.privacy
        manifest = {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "tabsynth_version": __version__,
            "synthesizer": self.name,
            "params": self.get_params(),
            "metadata": self.metadata_.to_dict(),
            "privacy": privacy.to_dict() if privacy is not None else None,
            "state": state,
        }
        payload = self._get_payload() if self.requires_trust else None
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        with (
            atomic_open(path, "wb") as handle,
            zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        ):
            archive.writestr(MANIFEST, json.dumps(manifest, default=_json_default))
            archive.writestr(ARRAYS, buffer.getvalue())
            if payload is not None:
                archive.writestr(PAYLOAD, payload)


def load(path: str | Path, trusted: bool = False) -> Synthesizer:
    """Load a model written by :meth:`Synthesizer.save`.

    Loading reads JSON and ``.npz`` arrays with ``allow_pickle=False``: it runs no code. Models
    of classes with ``requires_trust`` (the SDV baselines) hold a pickle; they load only with
    ``trusted=True``, which you should pass only for files you made yourself.

    Sizes are checked before anything is read (:mod:`tabsynth.limits`): each zip member's
    declared uncompressed size against its limit and for a suspicious compression ratio, and
    each array's ``.npy`` header (shape and dtype) against the bytes the file really holds, so
    a small crafted file cannot make loading allocate gigabytes.
    """
    if not isinstance(trusted, bool):  # "no" is a non-empty string: truthy, it would unpickle
        raise ParameterError(f"trusted must be True or False, not {trusted!r}")
    if not isinstance(path, (str, Path)):
        raise ParameterError(f"path must be a file path (str or Path), not {path!r}")
    manifest, arrays, payload = _read_model_file(Path(path), read_payload=trusted)
    name = manifest.get("synthesizer")
    cls = REGISTRY.get(name)
    if cls is None:
        raise ModelFileError(
            f"{path} holds a model of unknown synthesizer {name!r}; known: {sorted(REGISTRY)}"
        )
    if cls.requires_trust and not trusted:
        raise ModelFileError(
            f"{path} holds a {cls.__name__}, whose state is a pickle that can run code when "
            "loaded; pass trusted=True (CLI: --trusted) only if you made this file yourself"
        )
    try:
        model = cls(**manifest["params"])
        model.metadata_ = Metadata.from_dict(manifest["metadata"], declared=False)
        if manifest.get("privacy") is not None:
            from tabsynth.privacy.ledger import PrivacyLedger

            model.privacy_ = PrivacyLedger.from_dict(manifest["privacy"])
        model._set_state(manifest.get("state", {}), arrays)
        if cls.requires_trust:
            if payload is None:
                raise ModelFileError(f"{path} lacks the model payload")
            model._set_payload(payload)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, MetadataError) as exc:
        raise ModelFileError(f"{path} is not a valid {cls.__name__} model file: {exc}") from None
    return model


def _read_model_file(
    path: Path, read_payload: bool = True
) -> tuple[dict[str, Any], dict[str, np.ndarray], bytes | None]:
    """The manifest, the arrays and (when ``read_payload``) the pickled payload of a model
    file; every size is checked before it is read (see :func:`load`)."""
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if MANIFEST not in names:
                raise ModelFileError(f"{path} is not a tabsynth model (no {MANIFEST})")
            manifest = json.loads(
                _read_member(
                    archive, MANIFEST, path, limits.MAX_MANIFEST_BYTES, "MAX_MANIFEST_BYTES"
                )
            )
            _check_manifest(manifest, path)
            if ARRAYS not in names:
                raise ModelFileError(f"{path} is not a tabsynth model (no {ARRAYS})")
            arrays = _read_arrays(archive, path)
            payload = None
            if read_payload and PAYLOAD in names:
                payload = _read_member(
                    archive, PAYLOAD, path, limits.model_bytes_limit(), "MAX_ARRAYS_BYTES"
                )
    except ModelFileError:
        raise
    except (
        zipfile.BadZipFile,
        json.JSONDecodeError,
        RecursionError,  # JSON nested deeper than the parser's stack
        KeyError,
        ValueError,
        OSError,
        EOFError,
    ) as exc:
        raise ModelFileError(f"{path} is not a readable tabsynth model file: {exc}") from None
    return manifest, arrays, payload


def _check_manifest(manifest: Any, path: Path) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != MODEL_FORMAT:
        raise ModelFileError(f"{path} is not a tabsynth model file")
    if manifest.get("format_version") != MODEL_FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has model format version {manifest.get('format_version')}; this tabsynth "
            f"reads version {MODEL_FORMAT_VERSION}"
        )


def _read_member(
    archive: zipfile.ZipFile, name: str, path: Path, limit: int, setting: str
) -> bytes:
    """The bytes of member ``name``, after its declared size passed the checks."""
    info = archive.getinfo(name)
    limits.check_zip_member(info, limit, f"{path}: member {name}", setting)
    return archive.read(info)


def _read_arrays(archive: zipfile.ZipFile, path: Path) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` member, each ``.npy`` header checked before its data.

    The arrays together may declare at most :func:`tabsynth.limits.model_bytes_limit`
    bytes, and each header's shape and dtype must account exactly for the bytes its member
    holds: a header that declares 10^11 elements is refused without allocating them.
    """
    limit = limits.model_bytes_limit()
    packed = _read_member(archive, ARRAYS, path, limit, "MAX_ARRAYS_BYTES")
    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(io.BytesIO(packed)) as npz:
        infos = npz.infolist()
        declared = sum(info.file_size for info in infos)
        if declared > limit:
            raise ModelFileError(
                f"{path}: the arrays in {ARRAYS} declare {declared:,} bytes together, more "
                f"than the {limit:,} allowed (tabsynth.limits.MAX_ARRAYS_BYTES): this is not a "
                "model file tabsynth wrote. If you made it yourself and trust it, raise that "
                "limit before loading"
            )
        for info in infos:
            what = f"{path}: array {info.filename} in {ARRAYS}"
            limits.check_zip_member(info, limit, what, "MAX_ARRAYS_BYTES")
            with npz.open(info) as stream:
                _check_npy_header(stream, info.file_size, what)
            with npz.open(info) as stream:
                array = np.lib.format.read_array(stream, allow_pickle=False)
            if array.dtype.kind in "fc" and not np.isfinite(array).all():
                # tabsynth never saves NaN or infinite weights or marginals; sampling from them
                # would return garbage without an error
                raise ModelFileError(
                    f"{what} holds NaN or infinite values: the file is corrupt (or its model "
                    "diverged in training); fit the model again"
                )
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            arrays[key] = array
    return arrays


def _check_npy_header(stream: Any, member_bytes: int, what: str) -> None:
    """Read a ``.npy`` header from ``stream`` and refuse it unless its shape and dtype account
    for exactly the ``member_bytes - header`` bytes of data that follow; no data is read."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(stream)
        else:
            raise ModelFileError(
                f"{what} is a .npy array of format version {version}; model files use 1.0 or "
                "2.0. Save the model again with tabsynth"
            )
    except ModelFileError:
        raise
    except (ValueError, EOFError, SyntaxError, TypeError) as exc:
        raise ModelFileError(f"{what} is not a valid .npy array: {exc}") from None
    if dtype.hasobject:
        raise ModelFileError(
            f"{what} holds Python objects (dtype {dtype}), which load only through pickle; "
            "model files hold numeric arrays only. Load only files you made"
        )
    expected = math.prod(shape) * dtype.itemsize
    held = member_bytes - stream.tell()
    if expected != held:
        raise ModelFileError(
            f"{what} declares shape {shape} of {dtype} ({expected:,} bytes) but holds "
            f"{held:,} bytes of data: the file is corrupt or crafted. Load only files you made"
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in a model file")


def as_metadata(metadata: MetadataLike) -> Metadata | None:
    """Accept a Metadata, a dict in tabsynth's or SDV's layout, or a path to a JSON file."""
    if metadata is None or isinstance(metadata, Metadata):
        return metadata
    if isinstance(metadata, dict):
        return Metadata.from_dict(metadata)
    if isinstance(metadata, (str, Path)):
        return Metadata.load(metadata)
    raise MetadataError(
        f"metadata must be a Metadata, a dict or a JSON path, not {type(metadata).__name__}"
    )


#: Seeds are whole numbers in [0, 2^63): what every generator tabsynth seeds (numpy, torch,
#: SDV's) takes alike, so one seed means the same thing everywhere.
MAX_SEED = 2**63 - 1


def check_seed(seed: Any, name: str = "seed") -> int | None:
    """``None`` or a whole number in [0, 2^63), else a :class:`ParameterError` naming it."""
    if seed is None:
        return None
    if (
        isinstance(seed, bool)
        or not isinstance(seed, (int, np.integer))
        or not 0 <= seed <= MAX_SEED
    ):
        raise ParameterError(
            f"{name} must be None or a whole number from 0 to 2**63 - 1, not {seed!r}"
        )
    return int(seed)


def check_count(n: Any) -> int:
    """A positive whole number of rows up to :data:`tabsynth.limits.MAX_SAMPLE_ROWS`, or a
    :class:`ParameterError` that says so (refused before anything is allocated)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ParameterError(f"the number of rows must be a positive integer, not {n!r}")
    limits.check_sample_rows(int(n))
    return int(n)


def _redraw_repeated_ids(
    frame: pd.DataFrame, metadata: Metadata, n: int, rng: np.random.Generator
) -> None:
    """Make the ``id`` columns of ``frame`` (chunks drawn independently) unique again, in
    place: every repeat of an earlier value gets a fresh one, until none is left.

    Fresh integer ids come from ``[1, 10·max(n, 10^8)]``, the range one unchunked draw of
    ``n`` rows uses (:func:`~tabsynth.domain.generate_column`), so they stay sparse in it;
    other ids are fresh random tokens of the same form.
    """
    for name, spec in metadata.columns.items():
        if spec.kind != "id" or name not in frame.columns:
            continue
        column = frame[name]
        repeated = (column.duplicated() & column.notna()).to_numpy()
        if not repeated.any():
            continue
        column = column.copy()
        while repeated.any():
            count = int(repeated.sum())
            if spec.dtype == "int":
                fresh = rng.integers(1, 10 * max(n, 10**8), size=count, endpoint=True)
            else:
                fresh = generate_column(name, spec, count, rng).to_numpy()
            column.iloc[np.flatnonzero(repeated)] = fresh
            repeated = (column.duplicated() & column.notna()).to_numpy()
        frame[name] = column
