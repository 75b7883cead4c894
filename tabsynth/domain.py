"""The domain encoder: DataFrame <-> integer codes over a finite, public domain.

Marginal-based and neural synthesizers work on small integers, one per column. This module is
the one place where a column's values become codes and codes become values again:

* numbers and datetimes fall into bins (uniform over public bounds, or edges given by the
  caller, e.g. DP quantiles); decoding samples uniformly inside the bin (integers on round
  values, where the codec has :mod:`~tabsynth.round_values` weights), then restores
  integers, rounding precision and bounds. A repeated edge marks a *point bin* holding
  exactly one value, so a spike such as ``capital_gain == 0`` survives the round trip;
* categories get one code each, plus an optional ``"other"`` code for values the domain
  leaves out (rare categories merged under DP), decoded as the label ``"<other>"`` or, where
  a DP release says which rarer values those rows hold, as one of them;
* booleans get codes 0/1;
* every nullable column gets one extra code for "missing", so missingness is modelled like
  any other value;
* ``id``, ``pii`` and ``text`` columns get no code at all: they are generated fresh on decode
  and never learned from the data.

The encoder holds only the domain (edges, category lists), never rows, so it can be saved in a
model file. Whether that domain is private is decided by whoever built it: see
:meth:`DomainEncoder.from_metadata` (public metadata, or DP-estimated edges passed in) versus
:meth:`DomainEncoder.fit` (quantiles of the data, non-private).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from tabsynth import round_values
from tabsynth.errors import DataError, MetadataError, ModelFileError
from tabsynth.metadata import GENERATED_KINDS, ColumnSpec, Metadata, _json_scalar

#: Label decoded for the "other" code of a categorical column.
OTHER = "<other>"
#: Default number of bins of a numeric or datetime column.
DEFAULT_BINS = 32

NS_PER_SECOND = 1_000_000_000


class Codec(Protocol):
    """How one column maps to codes ``0 .. size-1`` and back."""

    size: int

    def encode(self, values: pd.Series) -> np.ndarray: ...

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.Series: ...

    def to_dict(self) -> dict[str, Any]: ...


# ---------------------------------------------------------------------------------------------
# bin edges


def uniform_edges(lower: float, upper: float, bins: int, integer: bool) -> np.ndarray:
    """Equal-width edges over public bounds, with a point bin at each bound.

    Integer columns get half-integer edges, one bin per value when the range is small, so
    every bin holds at least one integer. Otherwise the two outermost of the ``bins`` bins hold
    only the bounds themselves: values piled up at a bound are the usual spike of real tables
    (amounts that are mostly 0, scores capped at their maximum) and are read from no data, so
    keeping them costs no privacy. Smeared over a wide bin instead, a spike at 0 decodes as
    values spread across the bin: on Adult with public bounds, MST's spike-aware 3-way
    marginal score went from 518 to 820 with these two bins (``benchmarks/marginal/results.md``).
    """
    if bins < 1:
        raise MetadataError(f"bins must be at least 1, not {bins}")
    if integer:
        lo, hi = float(np.floor(lower)) - 0.5, float(np.ceil(upper)) + 0.5
        if hi - lo <= bins:
            return np.arange(lo, hi + 0.5, 1.0)
        if bins < 3:
            return snap_integer_edges(np.linspace(lo, hi, bins + 1))
        inner = snap_integer_edges(np.linspace(lo + 1.0, hi - 1.0, bins - 1))
        return np.concatenate([[lo], inner, [hi]])
    if lower == upper:
        return np.array([lower, upper], dtype=float)
    lo, hi = float(lower), float(upper)
    if bins < 3:
        return np.linspace(lo, hi, bins + 1)
    return np.concatenate([[lo], np.linspace(lo, hi, bins - 1), [hi]])


def snap_integer_edges(edges: np.ndarray) -> np.ndarray:
    """Move edges to half-integers and drop duplicates: every bin then holds whole numbers."""
    snapped = np.floor(np.asarray(edges, dtype=float)) + 0.5
    return np.unique(snapped)


def quantile_edges(
    values: np.ndarray, bins: int, lower: float, upper: float, integer: bool
) -> np.ndarray:
    """Edges at the empirical quantiles of ``values`` (non-private).

    A value that fills more than one quantile bin becomes a point bin (two equal edges), so
    spikes are kept exactly; the outer edges are the bounds.
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return uniform_edges(lower, upper, bins, integer)
    qs = np.quantile(finite, np.linspace(0.0, 1.0, bins + 1))
    qs[0], qs[-1] = lower, upper
    qs = np.clip(qs, lower, upper)
    if integer:
        return snap_integer_edges(np.concatenate([[lower - 0.5], qs, [upper + 0.5]]))
    return with_point_bins(qs)


def with_point_bins(edges: np.ndarray) -> np.ndarray:
    """Sorted edges where a value repeated in ``edges`` appears exactly twice (a point bin)."""
    uniq, counts = np.unique(np.asarray(edges, dtype=float), return_counts=True)
    return np.sort(np.concatenate([uniq, uniq[counts > 1]]))


# ---------------------------------------------------------------------------------------------
# codecs


def to_float(values: pd.Series, is_datetime: bool) -> np.ndarray:
    """Numbers as floats; datetimes as seconds since the epoch; missing as NaN."""
    if is_datetime:
        as_dt = pd.to_datetime(values)
        ns = as_dt.astype("datetime64[ns]").to_numpy().astype("int64").astype(float)
        ns[as_dt.isna().to_numpy()] = np.nan
        return ns / NS_PER_SECOND
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


@dataclass(frozen=True)
class BinnedCodec:
    """Numbers (or datetimes, as seconds since the epoch) in bins over public edges.

    ``steps`` (integer columns): (step, weight) pairs of :mod:`tabsynth.round_values`, the
    shares of the rows whose largest divisor among 1, 5, 10, 50, ... is each step; decoding
    weighs each whole number of a bin by its class's share over the class's share of all
    whole numbers. Empty means uniform over the bin's whole numbers.
    """

    edges: np.ndarray
    integer: bool = False
    precision: int | None = None
    nullable: bool = True
    is_datetime: bool = False
    datetime_unit: str | None = None
    steps: round_values.Steps = ()

    def __post_init__(self) -> None:
        edges = np.asarray(self.edges, dtype=float)
        if (
            edges.ndim != 1
            or edges.size < 2
            or not np.all(np.isfinite(edges))
            or np.any(np.diff(edges) < 0)
        ):
            raise MetadataError("bin edges must be a sorted list of at least two finite numbers")
        if np.any((edges[2:] == edges[1:-1]) & (edges[1:-1] == edges[:-2])):
            raise MetadataError("a bin edge may repeat at most once (a point bin)")
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "steps", _checked_steps(self.steps, self.integer))

    @property
    def bins(self) -> int:
        return self.edges.size - 1

    @property
    def size(self) -> int:
        return self.bins + int(self.nullable)

    @property
    def missing_code(self) -> int | None:
        return self.bins if self.nullable else None

    def encode(self, values: pd.Series) -> np.ndarray:
        x = to_float(values, self.is_datetime)
        missing = np.isnan(x)
        if missing.any() and not self.nullable:
            raise DataError(f"column {values.name!r} has missing values but is not nullable")
        e = self.edges
        x_filled = np.clip(np.where(missing, e[0], x), e[0], e[-1])
        codes = np.searchsorted(e, x_filled, side="right") - 1
        # A value equal to a point bin's edge belongs to the point bin, not the next one.
        left = np.searchsorted(e, x_filled, side="left")
        left_ok = np.minimum(left, e.size - 2)
        is_point = (e[left_ok] == x_filled) & (e[left_ok + 1] == x_filled)
        codes = np.where(is_point, left_ok, codes)
        codes = np.clip(codes, 0, self.bins - 1)
        if self.nullable:
            codes = np.where(missing, self.bins, codes)
        return codes.astype(np.int64)

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.Series:
        codes = np.asarray(codes, dtype=np.int64)
        missing = codes == self.bins if self.nullable else np.zeros(codes.shape, bool)
        idx = np.clip(codes, 0, self.bins - 1)
        lo, hi = self.edges[idx], self.edges[idx + 1]
        if self.integer:
            values = self._decode_integer(idx, lo, hi, rng)
        else:
            values = lo + (hi - lo) * rng.random(codes.shape)
            if self.precision is not None:
                values = self._round_inside(idx, values, lo, hi)
        values = np.where(missing, np.nan, values)
        if self.is_datetime:
            return self._to_datetime(values)
        return pd.Series(values, dtype=float)

    def _round_inside(
        self, idx: np.ndarray, values: np.ndarray, lo: np.ndarray, hi: np.ndarray
    ) -> np.ndarray:
        """``values`` rounded to the column's precision without leaving their bins: rounding
        may reach a bin's open upper edge, or its lower edge where a point bin holds that
        value (edges 0, 0, 0.5: 0.04 rounds to 0.0, the point bin's value). Such a value moves
        one step of the precision back into the bin, on the same grid; a bin narrower than that
        step holds no value of the grid, and keeps the nearest value inside it, off the grid."""
        step = 10.0**-self.precision
        above_point = np.zeros(idx.shape, dtype=bool)
        inner = idx > 0
        above_point[inner] = self.edges[idx[inner] - 1] == lo[inner]
        lower = np.where(above_point, np.nextafter(lo, hi), lo)
        upper = np.where(idx == self.bins - 1, hi, np.nextafter(hi, lo))
        rounded = np.round(values, self.precision)
        rounded = np.where(rounded < lower, np.round(rounded + step, self.precision), rounded)
        rounded = np.where(rounded > upper, np.round(rounded - step, self.precision), rounded)
        return np.clip(rounded, lower, upper)

    def _decode_integer(
        self, idx: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """A whole number inside each bin (half-open, the last one closed): uniform, or on
        round values with the odds of :attr:`steps` (:func:`tabsynth.round_values.draw`)."""
        first, last = round_values.whole_numbers(self.edges, idx)
        empty = last < first
        last = np.where(empty, first, last)
        weights = np.array([w for _, w in self.steps])
        if weights.sum() > 0:
            steps = np.array([s for s, _ in self.steps])
            values = round_values.draw(first, last, steps, weights, rng)
        else:
            values = first + np.floor(rng.random(idx.shape) * (last - first + 1))
        return np.where(empty, np.round((lo + hi) / 2), values)

    def _to_datetime(self, seconds: np.ndarray) -> pd.Series:
        ns = np.where(np.isnan(seconds), 0, seconds * NS_PER_SECOND).astype("int64")
        out = pd.Series(pd.to_datetime(ns, unit="ns"))
        if self.datetime_unit:
            out = out.dt.floor(self.datetime_unit)
        return out.mask(np.isnan(seconds))

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "binned",
            "edges": [float(v) for v in self.edges],
            "integer": self.integer,
            "precision": self.precision,
            "nullable": self.nullable,
            "is_datetime": self.is_datetime,
            "datetime_unit": self.datetime_unit,
            # only where there are steps: a file without them stays readable by older versions
            **({"steps": [[s, w] for s, w in self.steps]} if self.steps else {}),
        }


def _checked_steps(steps: Any, integer: bool) -> round_values.Steps:
    """``steps`` as (step, weight) float pairs, checked as a model file may hold them: whole
    steps from 1, each dividing the next (a class is a step's multiples less the next one's),
    weights finite, not negative, with a finite sum; only integer columns take them."""
    try:
        pairs = tuple((float(s), float(w)) for s, w in steps)
    except (TypeError, ValueError, OverflowError):
        raise MetadataError("round-value steps must be (step, weight) pairs of numbers") from None
    if not pairs:
        return ()
    if not integer:
        raise MetadataError("only an integer column can decode on round-value steps")
    values, weights = np.array(pairs).T
    with np.errstate(all="ignore"):
        chained = np.all(np.isfinite(values)) and np.all(np.fmod(values[1:], values[:-1]) == 0)
        fine = np.all(np.isfinite(weights)) and np.isfinite(weights.sum()) and weights.min() >= 0
    if values[0] != 1 or np.any(np.diff(values) <= 0) or not chained or not fine:
        raise MetadataError(
            "round-value steps must be ascending whole numbers from 1, each dividing the next, "
            "with finite weights of at least 0"
        )
    return pairs


@dataclass(frozen=True)
class CategoryCodec:
    """One code per declared category, then ``other`` (optional), then missing (optional).

    ``rare`` (with ``other``): values outside ``categories`` and their positive weights; the
    ``other`` code then decodes to one of them, drawn with those odds, instead of the label
    ``"<other>"``. A DP fit sets them from released noisy counts of codes a release implies
    (:func:`~tabsynth.synthesizers.code_ranges.rare_codes`): "other" holds mostly the rows of
    those codes, and the label is a value that no row holds.
    """

    categories: tuple[Any, ...]
    other: bool = False
    nullable: bool = True
    rare: tuple[tuple[Any, float], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", tuple(self.categories))
        if not all(isinstance(pair, (tuple, list)) and len(pair) == 2 for pair in self.rare):
            raise MetadataError("rare values must be (value, weight) pairs")
        if not all(
            isinstance(w, (int, float, np.integer, np.floating)) and not isinstance(w, bool)
            for _, w in self.rare
        ):
            raise MetadataError("the weights of rare values must be numbers")
        object.__setattr__(self, "rare", tuple((v, float(w)) for v, w in self.rare))
        if not self.categories and not self.other:
            raise MetadataError("a categorical column needs at least one category or 'other'")
        if self.rare and not self.other:
            raise MetadataError("rare values need an 'other' code to decode from")
        values = [v for v, _ in self.rare]
        if len(set(values)) < len(values) or set(values) & set(self.categories):
            raise MetadataError("rare values must be distinct and not among the categories")
        if not all(np.isfinite(w) and w > 0 for _, w in self.rare):
            raise MetadataError("the weights of rare values must be finite and positive")

    @property
    def size(self) -> int:
        return len(self.categories) + int(self.other) + int(self.nullable)

    @property
    def other_code(self) -> int | None:
        return len(self.categories) if self.other else None

    @property
    def missing_code(self) -> int | None:
        return self.size - 1 if self.nullable else None

    def encode(self, values: pd.Series) -> np.ndarray:
        missing = values.isna().to_numpy()
        codes = pd.Categorical(values, categories=list(self.categories)).codes.astype(np.int64)
        unknown = (codes < 0) & ~missing
        if unknown.any():
            if not self.other:
                example = values[unknown].iloc[0]
                raise DataError(
                    f"column {values.name!r} holds {example!r}, which is not among its "
                    "categories; declare it in the metadata"
                )
            codes[unknown] = len(self.categories)
        if missing.any():
            if not self.nullable:
                raise DataError(f"column {values.name!r} has missing values but is not nullable")
            codes[missing] = self.size - 1
        return codes

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.Series:
        lookup = np.empty(self.size, dtype=object)
        lookup[: len(self.categories)] = self.categories
        if self.other:
            lookup[len(self.categories)] = OTHER
        if self.nullable:
            lookup[-1] = np.nan
        codes = np.asarray(codes, dtype=np.int64)
        out = lookup[codes]
        if self.rare:
            other = np.flatnonzero(codes == len(self.categories))
            values = np.empty(len(self.rare), dtype=object)
            values[:] = [v for v, _ in self.rare]
            weights = np.array([w for _, w in self.rare])
            out[other] = values[rng.choice(len(values), size=other.size, p=weights / weights.sum())]
        return pd.Series(out, dtype=object)

    def to_dict(self) -> dict[str, Any]:
        cats = [_json_scalar(v) for v in self.categories]
        return {
            "type": "category",
            "categories": cats,
            "other": self.other,
            "nullable": self.nullable,
            **({"rare": [[_json_scalar(v), w] for v, w in self.rare]} if self.rare else {}),
        }


@dataclass(frozen=True)
class BooleanCodec:
    """False -> 0, True -> 1, missing -> 2 when nullable."""

    nullable: bool = True

    @property
    def size(self) -> int:
        return 2 + int(self.nullable)

    def encode(self, values: pd.Series) -> np.ndarray:
        missing = values.isna().to_numpy()
        if missing.any() and not self.nullable:
            raise DataError(f"column {values.name!r} has missing values but is not nullable")
        codes = np.where(missing, 2, values.fillna(False).astype(bool).to_numpy().astype(np.int64))
        return codes.astype(np.int64)

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.Series:
        codes = np.asarray(codes, dtype=np.int64)
        if self.nullable and np.any(codes == 2):
            out = pd.Series(codes == 1, dtype="boolean")
            out[codes == 2] = pd.NA
            return out
        return pd.Series(codes == 1, dtype=bool)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "boolean", "nullable": self.nullable}


def codec_from_dict(raw: dict[str, Any]) -> Codec:
    kind = raw.get("type")
    args = {k: v for k, v in raw.items() if k != "type"}
    try:
        if kind == "binned":
            return BinnedCodec(edges=np.asarray(args.pop("edges"), dtype=float), **args)
        if kind == "category":
            rare = tuple(tuple(pair) for pair in args.pop("rare", []))
            return CategoryCodec(categories=tuple(args.pop("categories")), rare=rare, **args)
        if kind == "boolean":
            return BooleanCodec(**args)
    except (TypeError, ValueError, KeyError, MetadataError) as exc:
        raise ModelFileError(f"corrupt column codec {raw!r}: {exc}") from None
    raise ModelFileError(f"unknown column codec type {kind!r}")


# ---------------------------------------------------------------------------------------------
# the encoder


def datetime_unit(spec: ColumnSpec) -> str | None:
    """Dates written without a time of day are decoded at day resolution, others to the second."""
    if spec.format is not None and not any(t in spec.format for t in ("%H", "%I", "%M", "%S")):
        return "D"
    return "s"


def _bounds(spec: ColumnSpec) -> tuple[float, float]:
    if spec.kind == "datetime":
        return (spec.lower.value / NS_PER_SECOND, spec.upper.value / NS_PER_SECOND)
    return float(spec.lower), float(spec.upper)


def binned_codec(
    spec: ColumnSpec, edges: np.ndarray, steps: round_values.Steps = ()
) -> BinnedCodec:
    """The codec of a numerical or datetime column over the given edges."""
    return BinnedCodec(
        edges=edges,
        integer=spec.kind == "numerical" and spec.dtype == "int",
        precision=spec.precision if spec.kind == "numerical" else None,
        nullable=spec.nullable,
        is_datetime=spec.kind == "datetime",
        datetime_unit=datetime_unit(spec) if spec.kind == "datetime" else None,
        steps=steps,
    )


class DomainEncoder:
    """Maps a table to an ``(n, d)`` array of codes and back; ``d`` excludes generated columns.

    Build it with :meth:`from_metadata` (public domain; DP-safe) or :meth:`fit` (bin edges
    from data quantiles; non-private).
    """

    def __init__(self, metadata: Metadata, codecs: dict[str, Codec]):
        self.metadata = metadata
        self.codecs = codecs
        expected = [n for n, s in metadata.columns.items() if s.kind not in GENERATED_KINDS]
        if list(codecs) != expected:
            raise MetadataError(f"codecs {list(codecs)} do not match columns {expected}")

    @property
    def columns(self) -> list[str]:
        """Names of the encoded columns, in metadata order."""
        return list(self.codecs)

    @property
    def sizes(self) -> dict[str, int]:
        """Number of codes of each encoded column: the finite domain."""
        return {name: codec.size for name, codec in self.codecs.items()}

    @classmethod
    def from_metadata(
        cls,
        metadata: Metadata,
        bins: int | dict[str, int] = DEFAULT_BINS,
        edges: dict[str, np.ndarray] | None = None,
        other: bool | dict[str, bool] = False,
        rare: dict[str, dict[Any, float]] | None = None,
        steps: dict[str, round_values.Steps] | None = None,
    ) -> DomainEncoder:
        """Build the encoder from the metadata's declared domain alone.

        Parameters
        ----------
        bins:
            Uniform bins per numeric/datetime column (one number, or per column).
        edges:
            Explicit bin edges per column (e.g. DP quantiles); they take precedence.
        other:
            Whether categorical columns get an ``other`` code.
        rare:
            Per categorical column with an ``other`` code, the values it decodes to and their
            weights (:attr:`CategoryCodec.rare`).
        steps:
            Per integer column, the round-value weights it decodes with
            (:attr:`BinnedCodec.steps`).
        """
        rare = rare or {}
        steps = steps or {}
        edges = edges or {}
        codecs: dict[str, Codec] = {}
        for name, spec in metadata.columns.items():
            if spec.kind in GENERATED_KINDS:
                continue
            if spec.kind in ("numerical", "datetime"):
                col_edges = edges.get(name)
                if col_edges is None:
                    if not spec.has_domain:
                        raise MetadataError(
                            f"column {name!r} has no declared bounds; declare lower and upper "
                            "in the metadata, or let a DP synthesizer estimate them"
                        )
                    lo, hi = _bounds(spec)
                    n_bins = bins.get(name, DEFAULT_BINS) if isinstance(bins, dict) else bins
                    col_edges = uniform_edges(lo, hi, n_bins, spec.dtype == "int")
                col_steps = steps.get(name, ())
                codecs[name] = binned_codec(spec, np.asarray(col_edges, dtype=float), col_steps)
            elif spec.kind == "categorical":
                if spec.categories is None:
                    raise MetadataError(
                        f"column {name!r} has no declared categories; list them in the "
                        "metadata, or let a DP synthesizer select them"
                    )
                use_other = other.get(name, False) if isinstance(other, dict) else other
                codecs[name] = CategoryCodec(
                    spec.categories,
                    other=use_other,
                    nullable=spec.nullable,
                    rare=tuple(rare.get(name, {}).items()),
                )
            else:
                codecs[name] = BooleanCodec(nullable=spec.nullable)
        return cls(metadata, codecs)

    @classmethod
    def fit(
        cls, data: pd.DataFrame, metadata: Metadata, bins: int | dict[str, int] = DEFAULT_BINS
    ) -> DomainEncoder:
        """Non-private: numeric bin edges at the data's quantiles (spikes become point bins).

        Missing bounds and categories are taken from the data too; use only where the
        synthesizer makes no privacy claim.
        """
        detected = Metadata.detect(data[[c for c in metadata.names if c in data.columns]])
        edges: dict[str, np.ndarray] = {}
        specs: dict[str, ColumnSpec] = {}
        for name, spec in metadata.columns.items():
            if spec.kind in GENERATED_KINDS:
                specs[name] = spec
                continue
            if not spec.has_domain:
                found = detected[name]
                spec = dataclasses.replace(
                    spec, lower=found.lower, upper=found.upper, categories=found.categories
                )
            specs[name] = spec
            if spec.kind in ("numerical", "datetime"):
                n_bins = bins.get(name, DEFAULT_BINS) if isinstance(bins, dict) else bins
                lo, hi = _bounds(spec)
                values = to_float(data[name], spec.kind == "datetime")
                edges[name] = quantile_edges(values, n_bins, lo, hi, spec.dtype == "int")
        full = Metadata(specs, source=metadata.source, public=metadata.public)
        return cls.from_metadata(full, bins=bins, edges=edges)

    def encode(self, data: pd.DataFrame) -> np.ndarray:
        """Codes of every encoded column, shape ``(len(data), len(self.columns))``."""
        if not self.codecs:
            return np.zeros((len(data), 0), dtype=np.int64)
        return np.column_stack([codec.encode(data[name]) for name, codec in self.codecs.items()])

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        """Values for every metadata column (generated kinds included), in metadata order."""
        codes = np.asarray(codes)
        n = codes.shape[0]
        out: dict[str, pd.Series] = {}
        position = {name: i for i, name in enumerate(self.codecs)}
        for name, spec in self.metadata.columns.items():
            if spec.kind in GENERATED_KINDS:
                if spec.kind != "id" and spec.pii_strategy == "drop":
                    continue
                out[name] = generate_column(name, spec, n, rng)
            else:
                out[name] = self.codecs[name].decode(codes[:, position[name]], rng)
        return pd.DataFrame({k: v.reset_index(drop=True) for k, v in out.items()})

    def to_dict(self) -> dict[str, Any]:
        return {
            "metadata": self.metadata.to_dict(),
            "codecs": {name: codec.to_dict() for name, codec in self.codecs.items()},
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> DomainEncoder:
        metadata = Metadata.from_dict(raw["metadata"], declared=False)
        codecs = {name: codec_from_dict(c) for name, c in raw["codecs"].items()}
        return cls(metadata, codecs)


def generate_column(name: str, spec: ColumnSpec, n: int, rng: np.random.Generator) -> pd.Series:
    """Fresh values for an id/pii/text column: random, unique for ids, unrelated to any row."""
    if spec.kind == "id" and spec.dtype == "int":
        return pd.Series(rng.choice(10 * max(n, 10**8), size=n, replace=False) + 1, dtype="int64")
    digits = rng.integers(0, 16, size=(n, 16))
    alphabet = np.array(list("0123456789abcdef"))
    tokens = ["".join(row) for row in alphabet[digits]]
    prefix = "id" if spec.kind == "id" else spec.kind
    return pd.Series([f"{prefix}-{t}" for t in tokens], dtype=object)
