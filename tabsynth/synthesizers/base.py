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
import zipfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from tabsynth.errors import (
    MetadataError,
    ModelFileError,
    NotFittedError,
    ParameterError,
)
from tabsynth.io import atomic_open
from tabsynth.metadata import Metadata, OutOfBounds, check_frame
from tabsynth.schema import restore_dtypes

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
            self.metadata_ = meta
            self._fit(clean, meta)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        return self

    def sample(self, n: int, seed: int | None = None) -> pd.DataFrame:
        """``n`` synthetic rows with the training columns, in order, with their dtypes.

        The same ``seed`` gives the same rows, also after :meth:`save` and :func:`load`.
        """
        self._check_fitted()
        n = check_count(n)
        rng = np.random.default_rng(check_seed(seed, "seed"))
        return restore_dtypes(self._sample(n, rng), self.metadata_)

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
    """
    manifest, arrays, payload = _read_model_file(Path(path))
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
        model.metadata_ = Metadata.from_dict(manifest["metadata"])
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


def _read_model_file(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray], bytes | None]:
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if MANIFEST not in names:
                raise ModelFileError(f"{path} is not a tabsynth model (no {MANIFEST})")
            manifest = json.loads(archive.read(MANIFEST))
            with np.load(io.BytesIO(archive.read(ARRAYS)), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            payload = archive.read(PAYLOAD) if PAYLOAD in names else None
    except ModelFileError:
        raise
    except (
        zipfile.BadZipFile,
        json.JSONDecodeError,
        KeyError,
        ValueError,
        OSError,
        EOFError,
    ) as exc:
        raise ModelFileError(f"{path} is not a readable tabsynth model file: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MODEL_FORMAT:
        raise ModelFileError(f"{path} is not a tabsynth model file")
    if manifest.get("format_version") != MODEL_FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has model format version {manifest.get('format_version')}; this tabsynth "
            f"reads version {MODEL_FORMAT_VERSION}"
        )
    return manifest, arrays, payload


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
    """A positive whole number of rows, or a :class:`ParameterError` that says so."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ParameterError(f"the number of rows must be a positive integer, not {n!r}")
    return int(n)
