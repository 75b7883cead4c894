"""Non-private baselines: SDV's GaussianCopula, CTGAN and TVAE behind tabsynth's contract.

They exist so users can compare tabsynth's models with the libraries they already know, on the
same data, through the same API. SDV does its own preprocessing (it is "SDV with tabsynth's
metadata", not a tabsynth model), and it makes no privacy claim.

Persistence: SDV models can only be stored with pickle, so their model files carry a pickle
payload and :func:`tabsynth.load` refuses them unless ``trusted=True``. ``id``, ``pii`` and
``text`` columns are removed before SDV sees the table and generated fresh on sampling, so
SDV never learns or stores them.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import pickle
import random
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from tabsynth import limits
from tabsynth.domain import generate_column
from tabsynth.errors import DependencyError, ModelFileError, ParameterError
from tabsynth.metadata import GENERATED_KINDS, Metadata, OutOfBounds
from tabsynth.rules.enforce import Enforcer
from tabsynth.rules.model import Dependency
from tabsynth.synthesizers.base import Synthesizer
from tabsynth.synthesizers.conditional import conform_value

TABLE = "data"
#: Batches SDV may draw per conditional request before it gives up (SDV's default is 100).
CONDITION_TRIES = 100


@contextlib.contextmanager
def seeded_globals(seed: int | None) -> Iterator[None]:
    """Seed numpy's, Python's and torch's global generators (SDV uses them), then restore."""
    if seed is None:
        yield
        return
    import torch

    np_state, py_state, torch_state = (
        np.random.get_state(),
        random.getstate(),
        torch.get_rng_state(),
    )
    np.random.seed(seed)
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
        torch.set_rng_state(torch_state)


def reseed_sdv(model: Any, seed: int) -> None:
    """Make one SDV sample call depend on ``seed`` alone.

    SDV seeds its model through ``_set_random_state``, but RDT's reverse transformers (which
    place missing values and pick categories within their intervals) keep generators of their
    own that advance across calls; each gets a child seed of ``seed`` here.

    The child seed is derived from the field's *name*, never from its position: SDV builds
    the transformer table by iterating ``set(data.columns)``
    (``DataProcessor._create_config``), so the order of ``field_transformers`` changes with
    ``PYTHONHASHSEED`` and a positional assignment would give each column a different
    generator in every process (missing values would fall elsewhere for the same seed).
    """
    model._set_random_state(seed)
    transformers = model._data_processor._hyper_transformer.field_transformers
    for field in sorted(transformers, key=_field_key):
        transformer = transformers[field]
        if not transformer:
            continue
        transformer.reset_randomization()
        transformer.set_random_state(
            np.random.RandomState(_field_seed(seed, field)), "reverse_transform"
        )


def _field_key(field: str | tuple[str, ...]) -> str:
    """A field of RDT's transformer table (a column, or a tuple of columns) as one string."""
    return "\x1f".join(field) if isinstance(field, tuple) else str(field)


def _field_seed(seed: int, field: str | tuple[str, ...]) -> int:
    """A 32-bit seed state for one field: a function of ``seed`` and the field's name only."""
    digest = hashlib.sha256(_field_key(field).encode("utf-8")).digest()
    words = np.frombuffer(digest[:16], dtype="<u4").tolist()
    return int(np.random.SeedSequence([seed, *words]).generate_state(1)[0])


def to_sdv_metadata(metadata: Metadata, ordinal: dict[str, dict[str, Any]] | None = None) -> Any:
    """Our metadata, less the generated columns, as an ``sdv.metadata.Metadata``; ``ordinal``
    replaces the entries of some numerical columns (see :func:`ordinal_columns`)."""
    from sdv.metadata import Metadata as SDVMetadata

    learned = Metadata(
        {n: s for n, s in metadata.columns.items() if s.kind not in GENERATED_KINDS},
        source=metadata.source,
    )
    columns = {**learned.to_sdv()["columns"], **(ordinal or {})}
    return SDVMetadata.load_from_dict({"tables": {TABLE: {"columns": columns}}})


#: Most distinct values of a numerical column that GaussianCopula models as ordinal: SDV's own
#: detection's cap (at most 10, and at most a tenth of the rows).
ORDINAL_VALUES = 10


def ordinal_columns(data: pd.DataFrame, metadata: Metadata) -> dict[str, dict[str, Any]]:
    """SDV ``ordinal`` entries for numerical columns that hold few whole numbers, and for
    categorical columns whose codes read as whole numbers.

    A copula fits a continuous marginal to every numerical column and rounds what it samples:
    on a column of four values (an instalment rate 1-4, a number of dependents 1-2) that
    smears the frequencies over the neighbouring values, and every marginal involving the
    column suffers (German credit: 3-way k-marginal 686 against 762 with SDV's own detection,
    which makes those columns ordinal). Kept numerical in our metadata (they are numbers), they
    are modelled by their frequencies, in order, as SDV's detection would.

    Codes (a payment status ``-2`` .. ``8``, as numbers or as text) stay categorical for every
    other synthesizer, but a copula places each category on a slice of one latent normal:
    in the codes' numeric order, neighbouring statuses sit side by side and the correlation
    between one month's status and the next survives, which an order by text ("-1" < "-2" <
    "0") breaks. Their values are kept as they are, only ordered. The values come from the
    training rows: this is for the non-private baselines only.
    """
    cap = min(ORDINAL_VALUES, round(len(data) / 10))
    out: dict[str, dict[str, Any]] = {}
    for name, spec in metadata.columns.items():
        if name not in data.columns:
            continue
        if spec.kind == "numerical":
            values = pd.to_numeric(data[name], errors="coerce").dropna()
            distinct = np.unique(values.to_numpy(dtype=float))
            if not (0 < len(distinct) <= cap and np.all(distinct == np.round(distinct))):
                continue
            order: list[Any] = [int(v) for v in distinct]
        elif spec.kind == "categorical":
            codes = spec.categories or tuple(data[name].dropna().unique())
            numbers = [_whole_number(c) for c in codes]
            if not codes or None in numbers:
                continue
            order = [c for _, c in sorted(zip(numbers, codes, strict=True), key=lambda p: p[0])]
        else:
            continue
        out[name] = {
            "sdtype": "ordinal",
            "range_values": order,
            "range_is_nullable": bool(data[name].isna().any()),
        }
    return out


def _whole_number(code: Any) -> int | None:
    """``3``, ``3.0`` and ``"-3"`` as the number they write; None for anything else."""
    if isinstance(code, (bool, np.bool_)):
        return None
    try:
        value = float(code)
    except (TypeError, ValueError):
        return None
    return int(value) if np.isfinite(value) and value == round(value) else None


def to_sdv_frame(data: pd.DataFrame, metadata: Metadata) -> pd.DataFrame:
    """The learned columns, with nullable booleans as objects (SDV's boolean handling)."""
    keep = [n for n, s in metadata.columns.items() if s.kind not in GENERATED_KINDS]
    frame = data[keep].copy()
    for name in keep:
        if metadata[name].kind == "boolean" and str(frame[name].dtype) == "boolean":
            frame[name] = frame[name].astype(object).where(frame[name].notna(), np.nan)
    return frame


class _SDVSynthesizer(Synthesizer):
    """Shared adapter: subclasses name the SDV class and the keyword arguments it takes."""

    requires_trust: ClassVar[bool] = True
    sdv_class: ClassVar[str] = ""

    def _sdv_kwargs(self) -> dict[str, Any]:
        return dict(self.sdv_params or {})

    def _fit(self, data: pd.DataFrame, metadata: Metadata) -> None:
        try:
            import sdv.single_table as sdv_single
        except ImportError as exc:  # pragma: no cover - sdv is a core dependency
            raise DependencyError(f"SDV baselines need the 'sdv' package: {exc}") from None
        cls = getattr(sdv_single, self.sdv_class)
        model = self._make_model(cls, self._sdv_metadata(data, metadata))
        with seeded_globals(self.seed), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit({TABLE: to_sdv_frame(data, metadata)})  # SDV 2 takes {table: frame}
        self.model_ = model

    def _sdv_metadata(self, data: pd.DataFrame, metadata: Metadata) -> Any:
        """The metadata SDV's model is built with."""
        return to_sdv_metadata(metadata)

    def _make_model(self, cls: Any, sdv_metadata: Any) -> Any:
        """SDV's model, with our parameters; SDV's refusal of one as a ParameterError."""
        params = self.sdv_params
        if params is not None and (
            not isinstance(params, dict) or not all(isinstance(k, str) for k in params)
        ):
            raise ParameterError(
                f"sdv_params must be a dict of keyword arguments for SDV's {self.sdv_class}, "
                f"not {params!r}"
            )
        self._check_params()
        kwargs = self._sdv_kwargs()
        try:
            return cls(sdv_metadata, **kwargs)
        except (TypeError, ValueError) as exc:
            raise ParameterError(
                f"SDV's {self.sdv_class} refused the parameters {kwargs}: "
                f"{' '.join(str(exc).split())}; see its documentation for what it takes"
            ) from None

    def _check_params(self) -> None:
        """Parameters of our own (not ``sdv_params``) checked before SDV sees them."""

    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        seed = int(rng.integers(2**31 - 1))
        with seeded_globals(seed), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reseed_sdv(self.model_, seed)
            learned = self.model_.sample(num_rows=n)[TABLE]
        return self._assemble(learned, n, rng)

    def _sample_given(
        self, n: int, conditions: dict[str, Any], rng: np.random.Generator
    ) -> pd.DataFrame:
        """SDV's own conditional sampling (``sample_from_conditions``): GaussianCopula
        conditions its copula, CTGAN and TVAE reject rows that miss the condition."""
        from sdv.sampling import Condition

        values = {name: conform_value(self.metadata_, name, v) for name, v in conditions.items()}
        seed = int(rng.integers(2**31 - 1))
        with seeded_globals(seed), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reseed_sdv(self.model_, seed)
            try:
                learned = self.model_.sample_from_conditions(
                    [Condition(column_values=values, num_rows=n)],
                    max_tries_per_batch=CONDITION_TRIES,
                )[TABLE]
            except Exception as exc:  # SDV raises plain ValueErrors of many kinds
                given = ", ".join(f"{k} = {v!r}" for k, v in conditions.items())
                raise ParameterError(f"SDV could not sample {n} rows with {given}: {exc}") from None
        return self._assemble(learned.reset_index(drop=True), n, rng)

    def _assemble(self, learned: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """The metadata's columns: SDV's learned ones, fresh ids and fake pii."""
        out = {}
        for name, spec in self.metadata_.columns.items():
            if spec.kind in GENERATED_KINDS:
                if spec.kind == "id" or spec.pii_strategy == "fake":
                    out[name] = generate_column(name, spec, n, rng)
            else:
                out[name] = learned[name].reset_index(drop=True)
        return pd.DataFrame(out)

    def _get_payload(self) -> bytes:
        return pickle.dumps(self.model_)

    def _set_payload(self, payload: bytes) -> None:
        try:
            self.model_ = pickle.loads(payload)
        except Exception as exc:  # unpickling can fail in many ways; report one
            raise ModelFileError(f"cannot restore the SDV model: {exc}") from None


class GaussianCopulaSynthesizer(_SDVSynthesizer):
    """SDV's Gaussian copula (non-private).

    Numerical columns holding at most :data:`ORDINAL_VALUES` whole numbers are modelled by
    their frequencies (SDV's ``ordinal``), not by a continuous marginal rounded afterwards, and
    integer codes in their numeric order (:func:`ordinal_columns`).

    Parameters
    ----------
    seed:
        Makes fitting and sampling reproducible.
    default_distribution:
        SDV's marginal family for numeric columns (``"beta"``, ``"norm"``, ``"truncnorm"``,
        ...); ``None`` keeps SDV's default.
    sdv_params:
        Further keyword arguments for ``sdv.single_table.GaussianCopulaSynthesizer``.

    The model file holds a pickle: :func:`tabsynth.load` needs ``trusted=True`` for it.
    """

    name = "gaussian_copula"
    sdv_class = "GaussianCopulaSynthesizer"

    def __init__(
        self,
        *,
        seed: int | None = None,
        default_distribution: str | None = None,
        sdv_params: dict[str, Any] | None = None,
        on_out_of_bounds: OutOfBounds = "error",
    ):
        super().__init__(seed=seed, on_out_of_bounds=on_out_of_bounds)
        self.default_distribution = default_distribution
        self.sdv_params = sdv_params

    def _sdv_metadata(self, data: pd.DataFrame, metadata: Metadata) -> Any:
        """Few whole numbers and integer codes go to SDV as ordinal (:func:`ordinal_columns`)."""
        return to_sdv_metadata(metadata, ordinal_columns(data, metadata))

    def _enforcer(self) -> Enforcer:
        """One-to-one dependencies of a category on a number (``education`` on
        ``education_num``) are sampled the other way round: the copula models a category by
        its frequencies but a number by a fitted continuous marginal, so the number is
        derived from the drawn category (on Adult, deriving ``education`` from the drawn
        ``education_num`` cost 16.6 points of 3-way k-marginal; ``benchmarks/rules``)."""
        kinds = self.metadata_

        def backwards(rule: Dependency) -> bool:
            return kinds[rule.determinant].kind == "numerical" and kinds[rule.dependent].kind in (
                "categorical",
                "boolean",
            )

        return Enforcer(self.metadata_, backwards)

    def _sdv_kwargs(self) -> dict[str, Any]:
        kwargs = super()._sdv_kwargs()
        if self.default_distribution is not None:
            kwargs.setdefault("default_distribution", self.default_distribution)
        return kwargs


class _NeuralSDVSynthesizer(_SDVSynthesizer):
    """CTGAN and TVAE share epochs, batch size and a tqdm progress bar (SDV's ``verbose``)."""

    def __init__(
        self,
        *,
        seed: int | None = None,
        epochs: int = 300,
        batch_size: int = 500,
        progress: bool = True,
        sdv_params: dict[str, Any] | None = None,
        on_out_of_bounds: OutOfBounds = "error",
    ):
        super().__init__(seed=seed, on_out_of_bounds=on_out_of_bounds)
        self.epochs = epochs
        self.batch_size = batch_size
        self.progress = progress
        self.sdv_params = sdv_params

    def _check_params(self) -> None:
        limits.check_int("epochs", self.epochs, 1)
        limits.check_int("batch_size", self.batch_size, 2)
        limits.check_bool("progress", self.progress)
        # CTGAN splits each batch into packs of ``pac`` rows (10 by default) and asserts an
        # even batch; a batch that breaks either fails deep inside its training loop
        pac = (self.sdv_params or {}).get("pac", 10)
        if (
            self.name == "ctgan"
            and isinstance(pac, int)
            and pac > 0
            and self.batch_size % math.lcm(pac, 2)
        ):
            raise ParameterError(
                f"batch_size must be a multiple of {math.lcm(pac, 2)} for {type(self).__name__}"
                f" (even, and whole packs of pac = {pac} rows), got {self.batch_size}"
            )

    def _sdv_kwargs(self) -> dict[str, Any]:
        kwargs = super()._sdv_kwargs()
        kwargs.setdefault("epochs", self.epochs)
        kwargs.setdefault("batch_size", self.batch_size)
        kwargs.setdefault("verbose", self.progress)
        kwargs.setdefault("enable_gpu", False)
        return kwargs


class CTGANSynthesizer(_NeuralSDVSynthesizer):
    """SDV's CTGAN (conditional GAN; non-private). Model files need ``trusted=True``.

    ``batch_size`` must be a multiple of SDV's ``pac`` (10 by default).
    """

    name = "ctgan"
    sdv_class = "CTGANSynthesizer"


class TVAESynthesizer(_NeuralSDVSynthesizer):
    """SDV's TVAE (variational autoencoder; non-private). Model files need ``trusted=True``."""

    name = "tvae"
    sdv_class = "TVAESynthesizer"
