"""What every differentially private synthesizer shares: budget, metadata policy, ledger, noise.

A DP synthesizer releases a model (and samples from it) that is (ε, δ)-DP with respect to adding
or removing one row of the training table. That is only true if *every* data-dependent choice
is either public or paid for, so :class:`DPSynthesizer` fixes the policy once for all models:

* **Budget.** ε > 0 and 0 < δ < 1/n, else :class:`~tabsynth.errors.BudgetError`. A δ of the
  order of 1/n allows mechanisms that publish whole rows with probability δ·n; the default
  1e-9 is far below 1/n for any table that fits in memory. The exact row count n is not
  released: it only decides whether the requested δ is accepted (an error to the data owner,
  which names no n). MST and AIM estimate their models' row total from the noisy marginals;
  DP-SGD derives its schedule from a noisy row count charged to the ledger, or from a row
  count the user declares public (``public_rows``).
* **Metadata.** Column names and kinds are public schema in every mode. Domains (bounds,
  categories, nullability, precision) are public only when the user declares them so:
  ``Metadata(..., source="user", public=True)``. Metadata detected from the data is refused
  with :class:`~tabsynth.errors.PrivacyError`. User metadata *not* declared public is
  accepted, but its domains are ignored (with a warning) and estimated under DP like a
  missing one: a domain written by a person may still have been read off the private table,
  and refusing would leave no DP way to use a file that documents formats and sensitive
  columns. With ``metadata=None`` the schema comes from the frame's pandas dtypes exactly as
  given (:func:`~tabsynth.schema.schema_from_dtypes`): no value is looked at for free,
  because value-based detection flips a column's kind when one row is added. Text and float
  columns then take a charged look, for dates (:mod:`~tabsynth.synthesizers.dp_kinds`) and
  for whole numbers (:mod:`~tabsynth.synthesizers.dp_whole`).
* **Messages.** Errors and warnings of a DP fit name columns and rules, never a value or a
  count from the table (:meth:`Metadata.validate` with ``private=True``).
* **Output types** come from the metadata alone (:func:`~tabsynth.schema.output_dtype`), and
  with ``metadata=None`` from the looks' releases (a date or whole-number column's kind).
* **Domain.** Columns without a public domain get one from
  :func:`~tabsynth.synthesizers.dp_domain.private_domain`, paid with the fraction
  ``budget_split`` of the zCDP budget ρ (by default 0.1 when the metadata declares every
  domain, rising to 0.3 when it declares none:
  :func:`~tabsynth.synthesizers.dp_domain.domain_share`; on small tables the long tails of
  categorical columns may take more, as a noisy row count decides:
  :func:`~tabsynth.synthesizers.dp_domain.default_budget`). Declared bounds and categories cost
  nothing, but by default (``binning="quantile"``) numeric bin edges are still placed at DP
  quantiles inside public bounds, from the same ``budget_split``; ``binning="auto"`` makes a
  fully public domain free. ``id``, ``pii`` and ``text`` columns are never learned (generated
  fresh on sampling).
* **Noise.** All DP noise comes from :class:`~tabsynth.privacy.NoiseSource` (the OS CSPRNG).
  ``seed`` never touches it; ``noise_seed`` is an explicit, test-only way to make noise
  reproducible, and the ledger then flags every measurement as not private.
* **Accounting.** One :class:`~tabsynth.privacy.PrivacyLedger` per fit, kept as ``privacy_``
  (``synth.privacy.explain()``) and saved with the model.

Subclasses implement :meth:`DPSynthesizer._fit_codes` (learn from the integer codes of the
:class:`~tabsynth.domain.DomainEncoder`, spending only through the ledger) and
:meth:`DPSynthesizer._sample_codes`, plus the model-state hooks.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from tabsynth.domain import DEFAULT_BINS, DomainEncoder
from tabsynth.errors import BudgetError, DataError, ParameterError, PrivacyError
from tabsynth.metadata import Metadata, OutOfBounds, check_frame
from tabsynth.privacy import NoiseSource, PrivacyLedger
from tabsynth.rules import enforce as rules_enforce
from tabsynth.schema import float_columns, schema_from_dtypes, text_columns
from tabsynth.synthesizers.base import MetadataLike, Synthesizer
from tabsynth.synthesizers.dp_domain import (
    BINNINGS,
    Binning,
    DomainBudget,
    column_rho,
    default_budget,
    domain_share,
    private_domain,
    thresholded_columns,
)
from tabsynth.synthesizers.dp_kinds import KindReading, read_dates
from tabsynth.synthesizers.dp_whole import read_whole_numbers

#: Default δ: far below 1/n for any table, so the guarantee is not "release one row".
DEFAULT_DELTA = 1e-9
#: Fraction of δ set aside for the additive δ of thresholded domain releases (categories, and
#: the frequent values of numeric columns) when some column needs one; the rest converts zCDP to
#: (ε, δ). Either part barely moves ε.
DELTA_FOR_THRESHOLDS = 0.1


class DPSynthesizer(Synthesizer):
    """Base class of the (ε, δ)-differentially private synthesizers.

    Parameters
    ----------
    epsilon:
        Target ε of the whole fit, > 0 (domain estimation included).
    delta:
        Target δ, in (0, 1/n) for n training rows; keep it far below 1/n.
    budget_split:
        Fraction of the zCDP budget ρ spent on estimating the domain (bounds, bin edges,
        categories) where it is not public; unused when nothing is left to estimate.
        ``None`` (default): 0.1 when the metadata declares every learned column's bounds or
        categories, up to 0.3 when it declares none (with the square of the undeclared
        share of columns: :func:`~tabsynth.synthesizers.dp_domain.domain_share`), shared
        equally by the columns to estimate; on small tables, categorical columns whose
        rare values hold many rows may take up to twice as much again (up to 0.7 of ρ in
        all), as a noisy row count (0.5 % of ρ) decides:
        :func:`~tabsynth.synthesizers.dp_domain.default_budget`. A number given here is
        shared equally and spends nothing on the count.
    bins:
        Bins of each numeric or datetime column. Integer columns with fewer values get one
        bin per value. A pair of numeric columns costs ``bins²`` cells in noise and model
        size, so tables made mostly of correlated amounts gain from fewer: on Taiwan credit
        (14 numeric columns of 24) AIM at ε = 1 scored 714-722 with 16 bins against 650-653
        with 32; on Adult 16 bins cost about 2 points at ε ≥ 3, hence the default
        (``benchmarks/results/aim_wide/README.md``).
    binning:
        Where the bin edges go. ``"quantile"`` (default): at DP quantiles inside every
        column's bounds, public ones included, paid from ``budget_split`` - public bounds are
        usually much wider than where the data lie (on Adult at ε = 1 this raised the 3-way
        marginal score of MST from 848 to 907 and of AIM from 868 to 931). ``"auto"``:
        uniform over public bounds, with a point bin at each bound so spikes there (amounts
        that are mostly 0) survive, so a fully public domain spends nothing; DP quantiles
        inside DP-estimated bounds. ``"uniform"``: uniform everywhere, nothing spent on edges.
    seed:
        Seeds randomness that is not DP noise (MST and AIM have none when fitting; a
        subclass may, e.g. for weight initialisation). DP noise never comes from it. Samples
        are made reproducible by ``sample(n, seed=...)``.
    noise_seed:
        TEST ONLY: seeds the DP noise so fits are reproducible. The result is not private;
        the ledger says so on every entry.
    on_out_of_bounds:
        What to do with values outside a *public* domain: ``"error"`` or ``"clip"``. Values
        outside a DP-estimated domain are always clipped (or mapped to the "other" category):
        the estimate drops sparse tails on purpose.
    """

    private: ClassVar[bool] = True
    #: Columns of the frame being fitted that only their text dtype makes categorical (set by
    #: :meth:`fit` when no metadata is given); none for a fit that did not come through it.
    _undeclared_text: tuple[str, ...] = ()
    #: Columns of that frame that only their float dtype makes fractional: each takes a look
    #: for whole numbers.
    _undeclared_floats: tuple[str, ...] = ()

    def __init__(
        self,
        epsilon: float,
        delta: float = DEFAULT_DELTA,
        *,
        budget_split: float | None = None,
        bins: int = DEFAULT_BINS,
        binning: Binning = "quantile",
        seed: int | None = None,
        noise_seed: int | None = None,
        on_out_of_bounds: OutOfBounds = "error",
    ):
        super().__init__(seed=seed, on_out_of_bounds=on_out_of_bounds)
        self.epsilon = epsilon
        self.delta = delta
        self.budget_split = budget_split
        self.bins = bins
        self.binning = binning
        self.noise_seed = noise_seed

    # -- validation at the boundary ---------------------------------------------------------
    def fit(self, data: pd.DataFrame, metadata: MetadataLike = None) -> DPSynthesizer:
        """Learn from ``data`` under (ε, δ)-DP; see the module docstring for what is public."""
        check_frame(data)
        self._check_params(len(data))
        # columns that only their dtype makes categorical or float: each takes a look, for
        # dates and for whole numbers
        self._undeclared_text = tuple(text_columns(data)) if metadata is None else ()
        self._undeclared_floats = tuple(float_columns(data)) if metadata is None else ()
        return super().fit(data, metadata)

    def _check_params(self, n_rows: int) -> None:
        from tabsynth import limits

        eps, delta = self.epsilon, self.delta
        if not _is_number(eps) or not 0 < eps < math.inf:
            raise BudgetError(f"epsilon must be a finite number > 0, got {eps!r}")
        if eps < limits.MIN_EPSILON:
            raise BudgetError(
                f"epsilon = {eps:g} is below {limits.MIN_EPSILON:g} "
                "(tabsynth.limits.MIN_EPSILON): every release would be pure noise; use a "
                "larger ε"
            )
        if not _is_number(delta) or not 0 < delta < 1:
            raise BudgetError(f"delta must be a number in (0, 1), got {delta!r}")
        if delta >= 1.0 / n_rows:
            # No n in the message: it may end up in logs that leave the data owner's hands.
            raise BudgetError(
                f"delta = {delta:g} is not below 1/n for this table of n rows: such a δ allows "
                "publishing individual rows outright. Keep δ far below 1/n (the default is "
                f"{DEFAULT_DELTA:g})"
            )
        split = self.budget_split
        if split is not None and (not _is_number(split) or not 0 < split < 1):
            raise ParameterError(f"budget_split must be a fraction in (0, 1), got {split!r}")
        if self.binning not in BINNINGS:
            raise ParameterError(f"binning must be one of {BINNINGS}, got {self.binning!r}")
        limits.check_int("bins", self.bins, 2, limits.MAX_BINS, limit="MAX_BINS")
        if self.noise_seed is not None:
            check_count("noise_seed", self.noise_seed, minimum=0)

    def _resolve_metadata(self, data: pd.DataFrame, metadata: Metadata | None) -> Metadata:
        """The public part of the metadata (see the module docstring)."""
        if metadata is None:
            return schema_from_dtypes(data)
        if metadata.source == "data":
            raise PrivacyError(
                "this metadata was detected from the data (source 'data'): its bounds and "
                "categories are functions of the private rows, so a DP synthesizer cannot use "
                "them for free. Either pass metadata whose domain you declare public "
                "(source 'user', public true: bounds and categories known without looking at "
                "the table), or pass metadata=None to let tabsynth estimate the domain under DP "
                "from the same budget (the frame's dtypes are the schema). Detected kinds and "
                "int/float types were read from the values too: to use them, check each one "
                "and pass metadata.schema_only().declared() (in a metadata file, without bounds "
                'or categories: "source": "user")'
            )
        if metadata.public:
            return metadata
        schema = metadata.schema_only()
        if schema != metadata:
            warnings.warn(
                "the metadata is not declared public (public: false), so its bounds, "
                "categories, nullability and precision are ignored and estimated under DP from "
                "the budget, and its rules are not applied; set public: true if they are "
                "public knowledge",
                UserWarning,
                stacklevel=4,
            )
        return schema

    # -- the fit ----------------------------------------------------------------------------
    def _fit(self, data: pd.DataFrame, metadata: Metadata) -> None:
        noise = self._noise_source()
        modelled = rules_enforce.modelled_metadata(metadata)  # derived columns: not learned
        thresholded = thresholded_columns(modelled, self.binning, self.bins)
        reserved = self.delta * DELTA_FOR_THRESHOLDS if thresholded else 0.0
        ledger = PrivacyLedger(self.epsilon, self.delta, delta_reserved=reserved)
        for what in public_inputs(metadata):
            ledger.declare_public(what)
        read = self._read_kinds(data, modelled, ledger, noise)
        data, modelled = read.data, read.metadata
        budget = self._domain_budget(data[modelled.names], modelled, ledger, noise)
        encoder = private_domain(
            data[modelled.names],
            modelled,
            ledger=ledger,
            rho=budget.rho - read.rho,
            years=read.years,
            delta=reserved,
            noise=noise,
            bins=self.bins,
            binning=self.binning,
            extra_rho=budget.extra_rho,
        )
        if not encoder.columns:
            raise DataError(
                "nothing to learn: every column is an id, pii or text column, which are "
                "generated fresh; declare at least one numerical, categorical, boolean or "
                "datetime column"
            )
        codes = encoder.encode(data)
        self._fit_codes(codes, encoder, ledger, noise)
        self.encoder_ = encoder
        self.privacy_ = ledger

    def _read_kinds(
        self, data: pd.DataFrame, modelled: Metadata, ledger: PrivacyLedger, noise: NoiseSource
    ) -> KindReading:
        """The table, its modelled metadata, the years released and the ρ spent, after the looks
        a fit without metadata takes at the columns whose kind only their dtype set: text taken
        for categories, for dates (:mod:`~tabsynth.synthesizers.dp_kinds`), and floats, for
        whole numbers (:mod:`~tabsynth.synthesizers.dp_whole`). Each look spends a part of its
        column's share of the domain budget (:func:`column_rho`, public), and the domain gets
        that much less. The output's schema follows what the looks found."""
        texts = [
            name
            for name in self._undeclared_text
            if name in modelled.columns
            and modelled[name].kind == "categorical"
            and not modelled[name].has_domain
        ]
        floats = [
            name
            for name in self._undeclared_floats
            if name in modelled.columns
            and modelled[name].kind == "numerical"
            and modelled[name].dtype == "float"
            and not modelled[name].has_domain
        ]
        if not texts and not floats:
            return KindReading(modelled, data, {}, 0.0)
        share = self.budget_split or domain_share(modelled)
        each = column_rho(modelled, share * ledger.rho_budget, self.binning, self.bins)
        read = KindReading(modelled, data, {}, 0.0)
        if texts:
            read = read_dates(data, modelled, texts, column_rho=each, ledger=ledger, noise=noise)
        if floats:
            whole, rounded, rho = read_whole_numbers(
                read.data, read.metadata, floats, column_rho=each, ledger=ledger, noise=noise
            )
            read = dataclasses.replace(read, metadata=whole, data=rounded, rho=read.rho + rho)
        specs = {
            name: read.metadata[name]
            for name in [*texts, *floats]
            if read.metadata[name] != modelled[name]
        }
        self.metadata_ = dataclasses.replace(self.metadata_, columns=self.metadata_.columns | specs)
        return read

    def _noise_source(self) -> NoiseSource:
        if self.noise_seed is None:
            return NoiseSource()
        warnings.warn(
            f"noise_seed={self.noise_seed} makes the DP noise predictable: this fit is NOT "
            "differentially private. Use it in tests only.",
            UserWarning,
            stacklevel=5,
        )
        return NoiseSource.seeded(self.noise_seed)

    def _domain_budget(
        self, data: pd.DataFrame, modelled: Metadata, ledger: PrivacyLedger, noise: NoiseSource
    ) -> DomainBudget:
        """``budget_split`` of ρ shared equally by the columns to estimate, or by default what
        ``modelled`` leaves to estimate and the table's size call for (:func:`default_budget`)."""
        if self.budget_split is not None:
            return DomainBudget(self.budget_split * ledger.rho_budget)
        return default_budget(
            data,
            modelled,
            ledger=ledger,
            noise=noise,
            binning=self.binning,
            bins=self.bins,
            public_rows=self._public_rows(),
        )

    def _public_rows(self) -> int | None:
        """A row count the user declared public, used for free instead of a noisy one."""
        return None

    @abstractmethod
    def _fit_codes(
        self, codes: np.ndarray, encoder: DomainEncoder, ledger: PrivacyLedger, noise: NoiseSource
    ) -> None:
        """Learn from the ``(n, d)`` codes; every access to them goes through ``ledger``."""

    @abstractmethod
    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` rows of codes of the encoder's columns."""

    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        return self.encoder_.decode(self._sample_codes(n, rng), rng)

    # -- persistence ------------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        model_state, arrays = self._get_model_state()
        return {"encoder": self.encoder_.to_dict(), "model": model_state}, arrays

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.encoder_ = DomainEncoder.from_dict(state["encoder"])
        self._set_model_state(state["model"], arrays)

    @abstractmethod
    def _get_model_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON state and arrays of the fitted model (never rows)."""

    @abstractmethod
    def _set_model_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`_get_model_state` returned."""


def public_inputs(metadata: Metadata) -> list[str]:
    """What a fit on ``metadata`` takes for free, in words for :meth:`PrivacyLedger.explain`."""
    kinds = ", ".join(f"{name} ({_kind_words(spec)})" for name, spec in metadata.columns.items())
    out = [f"schema: {len(metadata)} columns, their names, kinds and formats: {kinds}"]
    if metadata.public:
        bounded = [n for n, s in metadata.columns.items() if s.kind in ("numerical", "datetime")]
        listed = [n for n, s in metadata.columns.items() if s.kind == "categorical"]
        if bounded:
            out.append(f"bounds of {', '.join(bounded)}")
        if listed:
            out.append(f"categories of {', '.join(listed)}")
        out.append("which columns may be missing (nullable) and rounding precisions")
    rules = rules_enforce.public_description(metadata)
    return out if rules is None else [*out, rules]


def _kind_words(spec: Any) -> str:
    if spec.kind == "numerical":
        return f"{spec.dtype}"
    if spec.kind == "datetime" and spec.format:
        return f"datetime {spec.format}"
    return spec.kind


def check_count(name: str, value: Any, minimum: int = 1) -> None:
    """A whole-number parameter (iterations, rounds, bins), or a ParameterError naming it."""
    from tabsynth import limits

    limits.check_int(name, value, minimum)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
