"""The finite domain of the codes, estimated under differential privacy where it is not public.

A marginal-based or neural DP model learns over integer codes, so every numeric column needs
bin edges and every categorical column a category list. Bounds and categories the metadata
declares public cost nothing; otherwise they are functions of the private rows and must be
released by a DP mechanism and charged to the ledger (phase ``"domain"``). Bin edges are placed
at DP quantiles by default even inside public bounds (``binning="quantile"``): public bounds are
honest but wide (Taiwan credit's bill amounts span -340k to 1.7M), and uniform bins over them
leave a few bins for all the rows. On credit_default_taiwan at ε = 1 that lifted MST's 3-way
score from 439 to 633, on Adult AIM's from 868 to 931 (``benchmarks/results/``,
``benchmarks/marginal/results.md``); ``binning="auto"`` keeps a fully public domain free.
:func:`private_domain` splits its share ρ of the budget equally between the columns to
estimate:

* **numbers** - missing bounds from :func:`~tabsynth.privacy.dp_bounds` (signed powers of
  two), a quarter of the column's share; then bin edges at DP quantiles
  (:func:`~tabsynth.privacy.dp_quantiles` on a public grid of 256 cells inside the bounds,
  counted through a tree of sums so that the count below any point stays within a few σ and an
  empty range above the data does not inflate the total) with the rest. Where neither bound
  was declared, the quantiles are :func:`~tabsynth.privacy.dp_range_quantiles`: half their budget
  looks where the rows are, and rows that fill at most a sixteenth of the bounds (latitudes of
  one city inside [32, 64]) get a grid over just their cells, which become the column's range;
  otherwise the look is averaged into the edges' measurement. Before the quantiles,
  a third of the edge budget finds the column's *frequent exact values* (thresholded noisy
  counts, as for categories, with additive δ): each gets a point bin and decodes exactly, and
  the quantiles are taken over the other rows. For integers, a quarter of what is left counts
  the *round values* of the rows in bins of more than one whole number, once the edges are
  released (how many are multiples of 5, 10, 50, ...: one Gaussian histogram,
  :mod:`~tabsynth.round_values`), so that a bin decodes onto the multiples its rows hold
  (every credit limit is a multiple of 10,000) instead of all its whole numbers. Quantile
  edges put the bins where the rows are (integer columns give a spike, a value held by many
  rows, a bin of its own and share the other bins among the rest); the benchmark
  (``benchmarks/marginal/results.md``) measured them against uniform bins over the DP bounds,
  which waste most bins on empty tails because DP bounds round up to a power of two. Integer
  columns spanning at most ``bins`` values get one bin per value and no quantile spend. Values
  outside the DP bounds are clipped to them (the bounds drop sparse tails on purpose).
* **datetimes** - the same, on a public grid of calendar years (1678 to 2261, the span of
  ``datetime64[ns]``): a Gaussian histogram of the years, read like ``dp_bounds``' buckets
  (:func:`~tabsynth.privacy.occupied_span`: years above 5 σ, or a run of thinner years that
  stands out as a whole, grown through neighbours above 1 σ), gives bounds to the year.
  Powers of two of seconds since 1970 would be far too coarse (a bucket spans 34 years around
  2020).
* **categories** - :func:`~tabsynth.privacy.dp_categories`: noisy counts above a threshold
  that accounts for the additive δ of values held by a single row; at most 64 categories are
  kept (the largest noisy counts). Values not kept, rare or unseen, share an ``"other"`` code,
  which compresses high-cardinality columns. With two or more categorical columns to
  estimate, half of each one's share is pooled, and the columns whose noisy tally of
  unreleased rows at stake is large take a second look at them with the pool
  (:mod:`~tabsynth.synthesizers.dp_tails`). Columns declared one value group share one
  release and one list (:mod:`~tabsynth.synthesizers.value_groups`).

Columns keep their declared nullability (``True`` when only the schema is known), so missing
values get their own code. Decoding returns the original kinds: numbers in their bins, dates
as datetimes, categories as the values themselves, and "other" as ``"<other>"`` or, for
integer codes, as the rarer codes a second look counted
(:func:`~tabsynth.synthesizers.code_ranges.rare_codes`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from tabsynth import round_values
from tabsynth.domain import (
    DEFAULT_BINS,
    NS_PER_SECOND,
    OTHER,
    DomainEncoder,
    snap_integer_edges,
    to_float,
    uniform_edges,
    with_point_bins,
)
from tabsynth.errors import DomainEstimationError, ParameterError, warn_caller
from tabsynth.metadata import GENERATED_KINDS, ColumnSpec, Metadata
from tabsynth.privacy import (
    NoiseSource,
    PrivacyLedger,
    dp_bounds,
    dp_categories,
    dp_quantiles,
    dp_range_quantiles,
    gaussian_counts,
    occupied_span,
    sigma_for_rho,
)
from tabsynth.privacy.mechanisms import CategoryLook, dp_category_look
from tabsynth.synthesizers.dp_tails import CategoryBudget, second_looks
from tabsynth.synthesizers.value_groups import CategoryUnit, category_units

Binning = Literal["auto", "quantile", "uniform"]
BINNINGS: tuple[str, ...] = ("auto", "quantile", "uniform")
NUMERIC_KINDS = frozenset({"numerical", "datetime"})

#: Default share of ρ for the domain when every learned column's domain is public (bin edges
#: inside public bounds only), and when none is (see :func:`domain_share`).
PUBLIC_DOMAIN_SHARE = 0.1
PRIVATE_DOMAIN_SHARE = 0.3
#: Share of ρ for the noisy row count that sets the categorical columns' weight
#: (:func:`category_weight`), spent only when two or more categorical release units are
#: estimated with the default budget.
ROWS_SHARE = 0.005
#: Rows per σ of a column's default domain budget at which a long categorical tail's weight
#: starts to grow (by one per halving below it, in steps of :data:`WEIGHT_STEP`, rounded down,
#: up to :data:`MAX_CATEGORY_WEIGHT`).
FULL_SCALE = 512.0
WEIGHT_STEP = 0.25
MAX_CATEGORY_WEIGHT = 3.0
#: Most of ρ the default domain budget takes with its row count, however much its long
#: categorical tails weigh.
MAX_DOMAIN_SHARE = 0.7
#: Fraction of a numeric or datetime column's share of ρ spent on its range; the rest on edges.
RANGE_SHARE = 0.25
#: Fraction of a numeric column's edge budget spent finding its frequent exact values.
POINT_SHARE = 1 / 3
#: Fraction of an integer column's edge budget, after its frequent values, spent on its round
#: values (:mod:`tabsynth.round_values`), released after the quantile edges, which get the
#: rest. 0 turns round values off (uniform decoding, as before they existed), for benchmarks.
STEP_SHARE = 0.25
#: A round-value class whose noisy count is below this many σ gets weight 0.
STEP_SIGMAS = 3.0
#: Cells of the public grid dp_quantiles counts on. Its tree of sums keeps the CDF error within
#: a few σ, and the tree's levels (5 here) set σ: a finer grid resolves more and pays in σ.
#: On real rows decoded through the domain, 1024 cells scored within noise of 256, and 64
#: better on Taiwan credit and within noise on Adult (``benchmarks/results/quantile_tree/``).
QUANTILE_GRID = 256
#: Quantile levels read per bin of an integer column (one measurement, however many levels).
FINE_LEVELS = 16
#: Most categories kept per column; the rest share the "other" code.
MAX_CATEGORIES = 64
#: Public year grid of datetime ranges: the span of pandas' datetime64[ns].
FIRST_YEAR, LAST_YEAR = 1678, 2261
#: A year is occupied when its noisy count exceeds this many σ (as a bucket of dp_bounds).
THRESHOLD_SIGMAS = 5.0
YEARS = LAST_YEAR - FIRST_YEAR + 1
PHASE = "domain"


def columns_to_estimate(
    metadata: Metadata, binning: Binning = "quantile", bins: int = DEFAULT_BINS
) -> list[str]:
    """Learned columns whose domain is not declared (booleans always have one), and with
    ``binning="quantile"`` the numeric and datetime columns whose bounds are, for their edges
    (except those the bounds alone bin exactly, see :func:`exact_bins`)."""
    out = []
    for name, spec in metadata.columns.items():
        if spec.kind in GENERATED_KINDS:
            continue
        if not spec.has_domain:
            out.append(name)
        elif binning == "quantile" and spec.kind in NUMERIC_KINDS:
            integer = spec.kind == "numerical" and spec.dtype == "int"
            if not exact_bins(spec.lower, spec.upper, integer, bins):
                out.append(name)
    return out


def domain_share(metadata: Metadata) -> float:
    """Default fraction of ρ for :func:`private_domain`, from what the public metadata leaves to
    estimate: :data:`PUBLIC_DOMAIN_SHARE` when every learned column's bounds or categories are
    declared (only bin edges inside public bounds are paid for), rising to
    :data:`PRIVATE_DOMAIN_SHARE` when none is, with the square of the undeclared fraction f.

    Why not one fraction: bounds and category lists lose whole values when their noise is
    large (a category below the threshold is gone, a range cut off clips its tail), while
    quantile edges inside public bounds only move. Measured at ε = 1, three noise seeds each
    (``benchmarks/results/domain_share/``): without metadata, 0.3 instead of 0.1 raised MST and
    AIM by 6 and 1 points on Adult, 4 and 16 on Taiwan credit, and 30 to 80 on 7,000-row
    samples of Adult, credit and diabetes130; with the data card's metadata it cost AIM 5 points
    on Adult and 10 on credit. Why f² and not f: a card that leaves a few columns undeclared
    is nearly the public case. diabetes130's card leaves 4 of its 48 columns undeclared
    (medical_specialty and the ICD-9 codes, f = 1/12): linear in f gave 0.117, which kept more
    ICD-9 codes and made AIM 1.5 to 4.5 times slower for 2.5 points; f² gives 0.101."""
    learned = [spec for spec in metadata.columns.values() if spec.kind not in GENERATED_KINDS]
    if not learned:
        return PUBLIC_DOMAIN_SHARE
    undeclared = sum(not spec.has_domain for spec in learned) / len(learned)
    return PUBLIC_DOMAIN_SHARE + (PRIVATE_DOMAIN_SHARE - PUBLIC_DOMAIN_SHARE) * undeclared**2


@dataclasses.dataclass(frozen=True)
class DomainBudget:
    """What :func:`private_domain` may spend: ``rho``, shared equally by the columns to
    estimate, and ``extra_rho`` more for each categorical column whose tail of rare values
    stands out (:func:`~tabsynth.synthesizers.dp_tails.second_looks`); the others leave it to
    the model."""

    rho: float
    extra_rho: float = 0.0


def default_budget(
    data: pd.DataFrame,
    metadata: Metadata,
    *,
    ledger: PrivacyLedger,
    noise: NoiseSource,
    binning: Binning = "quantile",
    bins: int = DEFAULT_BINS,
    public_rows: int | None = None,
) -> DomainBudget:
    """The domain's default budget: :func:`domain_share` of ρ shared by the columns to
    estimate, and for each categorical one whose tail stands out :func:`category_weight` − 1
    more shares, the weight set by a noisy row count (charged, :data:`ROWS_SHARE` of ρ; not
    drawn when the categorical columns to estimate form fewer than two release units, which
    take no second looks, so such a fit is what it was). At most
    :data:`MAX_DOMAIN_SHARE` of ρ with the count if every tail stands out: the extra is
    lowered to fit. ``public_rows``, a row count the user declared public, replaces the noisy
    one (the caller records the declaration).

    Why more for long tails on small tables only: a categorical value under its release
    threshold (a number of rows set by the noise) is lost whole, and on a small table a large
    part of the rows sit in such values, while a numeric column only moves its edges and a
    column of a few frequent values loses nothing. At ε = 1 without metadata, a larger share
    for every column lifted 7,000-row samples of Adult and diabetes130 by 10 to 38 points but
    cost such a sample of Taiwan credit, as did the extra for every categorical column (−10
    with MST) or for the long tails in proportion to their size (−4 with MST, −23 with AIM
    on one fit); a
    fixed extra per long tail gained 15 to 25 points on the first two and −2 to +7 on credit
    with MST and AIM (DP-SGD: Adult +27, credit −5; ``benchmarks/results/category_weight/``)."""
    todo = columns_to_estimate(metadata, binning, bins)
    share = domain_share(metadata) * ledger.rho_budget
    categorical = [name for name in todo if metadata[name].kind == "categorical"]
    if len(category_units(metadata, categorical)) < 2:  # no tallies: nothing takes an extra
        return DomainBudget(share)
    if public_rows is not None:
        rows = float(public_rows)
    else:
        (rows,) = gaussian_counts(
            [len(data)],
            sigma_for_rho(ROWS_SHARE * ledger.rho_budget),
            ledger=ledger,
            purpose="number of rows (how much more the long tails of categories may get)",
            phase=PHASE,
            noise=noise,
        )
    each = column_rho(metadata, share, binning, bins)
    extra = (category_weight(rows, each) - 1) * each
    room = ((MAX_DOMAIN_SHARE - ROWS_SHARE) * ledger.rho_budget - share) / len(categorical)
    return DomainBudget(share, max(0.0, min(extra, room)))


def column_rho(
    metadata: Metadata, rho: float, binning: Binning = "quantile", bins: int = DEFAULT_BINS
) -> float:
    """Each column's share when the domain gets ``rho``: :func:`private_domain` splits it
    equally between :func:`columns_to_estimate` (a function of the schema alone)."""
    return rho / max(len(columns_to_estimate(metadata, binning, bins)), 1)


def category_weight(rows: float, column_rho: float) -> float:
    """How many times a column's share of the domain budget a categorical column whose tail
    stands out may spend, for a table of about ``rows`` rows (a released count) whose columns
    get ``column_rho`` each.

    The weight follows the table's size in units of the noise, rows / σ(``column_rho``): one
    more than 1 per halving below :data:`FULL_SCALE`, up to :data:`MAX_CATEGORY_WEIGHT`, in
    steps of :data:`WEIGHT_STEP` (a quarter of a halving of the rows), rounded down: 1 down to
    FULL_SCALE · 2^-¼ (431 σ), 3 from FULL_SCALE / 4 (128 σ) down. The budget is a step
    function of the noisy count, so a table one row larger nearly always gets the same
    budget."""
    scale = max(float(rows), 1.0) / sigma_for_rho(column_rho)
    halvings = np.floor(np.log2(FULL_SCALE / scale) / WEIGHT_STEP) * WEIGHT_STEP
    return float(min(MAX_CATEGORY_WEIGHT, 1.0 + max(0.0, halvings)))


def clipped_tails(
    lo: float, hi: float, kept: np.ndarray, estimated: tuple[bool, bool]
) -> tuple[float, float, np.ndarray]:
    """The range and the frequent values, once a released pile of clipped rows is taken back.

    :func:`~tabsynth.privacy.dp_bounds` gives a positive range that starts at 2^(k-1), the
    open end of its lowest bucket (2^(k-1), 2^k]: no row of the range's buckets equals it, so
    the rows held there were clipped up from the buckets below. When they are enough to be
    released as a frequent value, they are a tail that runs down towards 0 through buckets
    each too thin to stand out of the noise (one that held them alone would have extended the
    range): film budgets from 0 to 2·10^8 got the range [2^16, 2^28], and the 15 % of rows
    below 2^16 came back as that one value. Such an estimated end then reaches 0 and is no
    frequent value (post-processing of both releases), and the quantile edges place the tail's
    rows where they are. A range that merely starts above its rows (ages from 17 get 16)
    clips nothing and stays. The same holds for a negative range's upper end."""
    if estimated[0] and lo > 0 and lo in kept:
        lo, kept = 0.0, kept[kept != lo]
    if estimated[1] and hi < 0 and hi in kept:
        hi, kept = 0.0, kept[kept != hi]
    return lo, hi, kept


def exact_bins(lower: Any, upper: Any, integer: bool, bins: int) -> bool:
    """Whether the bounds alone give every value its own bin - a single value, or an integer
    range of at most ``bins`` values - so DP quantile edges could add nothing."""
    if lower == upper:
        return True
    return integer and float(np.ceil(upper)) - float(np.floor(lower)) + 1 <= bins


def thresholded_columns(
    metadata: Metadata, binning: Binning = "quantile", bins: int = DEFAULT_BINS
) -> list[str]:
    """Columns whose domain release is thresholded and so needs additive δ
    (:func:`~tabsynth.privacy.dp_categories`): categorical columns without public categories,
    and numerical columns whose edges are estimated (their frequent exact values)."""
    todo = set(columns_to_estimate(metadata, binning, bins))
    return [
        name
        for name, spec in metadata.columns.items()
        if name in todo
        and (spec.kind == "categorical" or (spec.kind == "numerical" and binning != "uniform"))
    ]


def private_domain(
    data: pd.DataFrame,
    metadata: Metadata,
    *,
    ledger: PrivacyLedger,
    rho: float,
    delta: float,
    noise: NoiseSource,
    bins: int = DEFAULT_BINS,
    binning: Binning = "quantile",
    max_categories: int | None = None,
    extra_rho: float = 0.0,
    years: Mapping[str, tuple[int, int]] | None = None,
) -> DomainEncoder:
    """The encoder over ``metadata``'s public domain, completed under DP where it has none.

    Parameters
    ----------
    data:
        The validated private table (canonical dtypes, see :meth:`Metadata.validate`).
    metadata:
        Its public metadata: columns with a declared domain are used as declared and spend
        nothing.
    ledger, noise:
        Where each release is recorded (phase ``"domain"``) and where its noise comes from.
    rho:
        zCDP budget shared equally by the columns to estimate; spent only if there are any.
        Categorical columns pool part of their shares for second looks at long tails
        (:mod:`~tabsynth.synthesizers.dp_tails`), spent whatever the looks find.
    extra_rho:
        More ρ for the second look of each categorical column whose tail stands out
        (:func:`default_budget`); the others leave it unspent.
    delta:
        Additive δ shared equally by the categorical columns to estimate (from the ledger's
        ``delta_reserved``).
    bins:
        Bins per numeric or datetime column.
    binning:
        ``"quantile"`` (default): DP quantile edges inside every column's bounds, public ones
        included (the bounds themselves cost nothing). ``"auto"``: DP quantile edges inside
        DP-estimated bounds, uniform bins over public ones (free). ``"uniform"``: equal widths
        everywhere, nothing spent on edges.
    max_categories:
        Most categories kept per estimated categorical column; a value group of k columns
        (:mod:`~tabsynth.synthesizers.value_groups`) keeps up to k times as many, one list
        for all its columns. ``None`` means :data:`MAX_CATEGORIES` (not "no cap", as for
        :func:`~tabsynth.privacy.dp_categories`), read at call time so that a benchmark can
        override the constant.
    years:
        First and last year of datetime columns whose range an earlier release gave (the look
        of :mod:`~tabsynth.synthesizers.dp_kinds` at dates written as text): used as their
        range, so their whole share goes to their bin edges.
    """
    if binning not in BINNINGS:
        raise ParameterError(f"binning must be one of {BINNINGS}, not {binning!r}")
    max_categories = MAX_CATEGORIES if max_categories is None else max_categories
    todo = columns_to_estimate(metadata, binning, bins)
    if not todo:
        return DomainEncoder.from_metadata(metadata, bins=bins)
    share = column_rho(metadata, rho, binning, bins)
    thresholded = thresholded_columns(metadata, binning, bins)
    categorical = [name for name in thresholded if metadata[name].kind == "categorical"]
    delta_each = delta / len(thresholded) if thresholded else 0.0
    units = {unit.columns[0]: unit for unit in category_units(metadata, categorical)}
    looks = CategoryBudget.split(share, delta_each, len(categorical), len(units), extra_rho)
    estimator = _ColumnEstimator(ledger, noise, bins, binning, delta_each)
    specs = dict(metadata.columns)
    edges: dict[str, np.ndarray] = {}
    steps: dict[str, round_values.Steps] = {}
    held = {unit: unit.holdings(data) for unit in units.values()}
    first: dict[CategoryUnit, CategoryLook] = {}
    for name in todo:
        spec = metadata[name]
        if spec.kind == "categorical":
            if name not in units:  # a value group's later member: released with its first
                continue
            unit = units[name]
            first[unit] = dp_category_look(
                held[unit],
                looks.first_rho * unit.width,
                looks.first_delta * unit.width,
                max_categories=max_categories * unit.width,
                per_row=unit.width,
                ledger=ledger,
                purpose=f"categories of {unit.label}",
                phase=PHASE,
                noise=noise,
            )
        elif spec.kind == "datetime":
            released = (years or {}).get(name)
            specs[name], edges[name] = estimator.datetime(name, data[name], spec, share, released)
        else:
            specs[name], edges[name], steps[name] = estimator.numeric(name, data[name], spec, share)
    kept, rare_weights = second_looks(
        held, first, looks, ledger=ledger, noise=noise, max_categories=max_categories, phase=PHASE
    )
    rare: dict[str, dict[Any, float]] = {}
    for unit, values in kept.items():
        if not values:
            _warn_nothing_released(unit)
        weights = rare_weights.get(unit, {})
        for name in unit.columns:
            specs[name] = dataclasses.replace(specs[name], categories=tuple(values))
            rare[name] = weights
    estimated = Metadata(specs, source="user", public=False)
    return DomainEncoder.from_metadata(
        estimated,
        bins=bins,
        edges=edges,
        other={name: True for name in categorical},
        rare=rare,
        steps=steps,
    )


def _warn_nothing_released(unit: CategoryUnit) -> None:
    """Say that a categorical column will come back as "other" wherever it holds a value, and
    what to declare instead. Read from the release alone (no value of it held by enough rows
    passed), so the warning is as private as the release; it names the column, never a count."""
    warn_caller(
        f"no value of {unit.label} is held by enough rows to be released under differential "
        f"privacy, so every non-missing synthetic value of it will be {OTHER!r}; if it holds "
        "identifiers, free text, or dates or times written as text, declare its kind (id, "
        "text or datetime) in the metadata, and if its values are public knowledge, declare "
        "its categories"
    )


@dataclasses.dataclass(frozen=True)
class _ColumnEstimator:
    """Range and bin edges of one numeric or datetime column, released under DP."""

    ledger: PrivacyLedger
    noise: NoiseSource
    bins: int
    binning: Binning
    delta: float

    def numeric(
        self, name: str, values: pd.Series, spec: ColumnSpec, rho: float
    ) -> tuple[ColumnSpec, np.ndarray, round_values.Steps]:
        x = to_float(values, is_datetime=False)
        integer = spec.dtype == "int"
        estimated = (False, False)
        if spec.has_domain:  # public bounds: only the edges are estimated
            lo, hi = float(spec.lower), float(spec.upper)
        else:
            low, high = dp_bounds(
                x,
                rho * RANGE_SHARE,
                ledger=self.ledger,
                purpose=f"range of column {name!r}",
                phase=PHASE,
                noise=self.noise,
                integer=integer,
            )
            lo = float(spec.lower) if spec.lower is not None else low
            hi = float(spec.upper) if spec.upper is not None else high
            lo, hi = min(lo, hi), max(lo, hi)
            # the ends read from the data alone (not a declared bound, even swapped in)
            estimated = (spec.lower is None and lo == low, spec.upper is None and hi == high)
            rho *= 1 - RANGE_SHARE
        if integer:
            lo, hi = float(np.floor(lo)), float(np.ceil(hi))
        # A range read from the data alone may narrow to where its rows are (the edges'
        # dp_range_quantiles), or take back a tail it clipped (clipped_tails); a bound the user
        # declared stays.
        edges, steps = self._edges(name, x, lo, hi, integer, rho, points=True, estimated=estimated)
        # integers: half-integer edges around whole numbers
        lower, upper = (
            (int(edges[0] + 0.5), int(edges[-1] - 0.5))
            if integer
            else (float(edges[0]), float(edges[-1]))
        )
        return dataclasses.replace(spec, lower=lower, upper=upper), edges, steps

    def datetime(
        self,
        name: str,
        values: pd.Series,
        spec: ColumnSpec,
        rho: float,
        years: tuple[int, int] | None = None,
    ) -> tuple[ColumnSpec, np.ndarray]:
        """Range (public, the ``years`` released before, or a release of the years) and edges."""
        if spec.has_domain:  # public bounds: only the edges are estimated
            lo, hi = spec.lower, spec.upper
        elif years is not None:
            lo, hi = pd.Timestamp(years[0], 1, 1), pd.Timestamp(years[1] + 1, 1, 1)
        else:
            first, last = self._year_range(name, values, rho * RANGE_SHARE)
            lo = spec.lower if spec.lower is not None else pd.Timestamp(year=first, month=1, day=1)
            hi = spec.upper if spec.upper is not None else pd.Timestamp(last + 1, 1, 1)
            lo, hi = min(lo, hi), max(lo, hi)
            rho *= 1 - RANGE_SHARE
        seconds = to_float(values, is_datetime=True)
        lo_s, hi_s = lo.value / NS_PER_SECOND, hi.value / NS_PER_SECOND
        edges, _ = self._edges(name, seconds, lo_s, hi_s, False, rho)
        return dataclasses.replace(spec, lower=lo, upper=hi), edges

    def _year_range(self, name: str, values: pd.Series, rho: float) -> tuple[int, int]:
        """First and last year that one discrete Gaussian histogram of the years shows occupied
        (each row is in one year, L2 sensitivity 1; :func:`~tabsynth.privacy.occupied_span`).
        Thirty years of 5,600 rows at a small budget clear no year alone, but their run does.
        When nothing stands out, a year read off pure noise would be arbitrary:
        DomainEstimationError says what to do."""
        cells = year_cells(pd.to_datetime(values).dropna().dt.year.to_numpy())
        counts = np.bincount(cells, minlength=YEARS)
        sigma = sigma_for_rho(rho)
        purpose = f"range (years) of column {name!r}"
        noisy = gaussian_counts(
            counts, sigma, ledger=self.ledger, purpose=purpose, phase=PHASE, noise=self.noise
        )
        span = year_span(noisy, sigma)
        if span is None:
            raise DomainEstimationError(
                f"{purpose}: no range could be released under differential privacy (no year's "
                "noisy count, nor any run of years, cleared the threshold): the column has too "
                "few rows for the privacy budget spent on it. Declare the column's bounds "
                "(lower and upper) in the metadata, raise epsilon, or use more rows."
            )
        return span

    def _edges(
        self,
        name: str,
        x: np.ndarray,
        lo: float,
        hi: float,
        integer: bool,
        rho: float,
        points: bool = False,
        estimated: tuple[bool, bool] = (False, False),
    ) -> tuple[np.ndarray, round_values.Steps]:
        """Bin edges inside [lo, hi]: point bins at the frequent exact values (``points``,
        numbers only) and DP quantile edges for the rest of the rows; for integers with
        points, the round-value weights of those rows as well. ``estimated`` says which of
        ``lo`` and ``hi`` :func:`~tabsynth.privacy.dp_bounds` gave: such an end may reach 0
        (:func:`clipped_tails`), and with both the quantile edges may span less than the range
        (:func:`~tabsynth.privacy.dp_range_quantiles`). The edges' ends are the column's
        range."""
        if self.binning == "uniform" or exact_bins(lo, hi, integer, self.bins):
            return uniform_edges(lo, hi, self.bins, integer), ()
        kept = np.empty(0)
        if points:
            kept = self._frequent_values(name, np.clip(x, lo, hi), rho * POINT_SHARE)
            rho *= 1 - POINT_SHARE
            lo, hi, kept = clipped_tails(lo, hi, kept, estimated)
        x = np.clip(x, lo, hi)
        x = x[~np.isin(x, kept)]  # no frequent values without points
        ladder = round_values.ladder(lo, hi)
        steps_rho = rho * STEP_SHARE if points and integer and ladder.size > 1 else 0.0
        edges = self._quantile_edges(name, x, lo, hi, integer, rho - steps_rho, all(estimated))
        if not integer:
            return with_point_bins(np.concatenate([edges, kept, kept])), ()
        edges = snap_integer_edges(np.concatenate([edges, kept - 0.5, kept + 0.5]))
        steps = self._round_values(name, x, edges, ladder, steps_rho) if steps_rho > 0 else ()
        return edges, steps

    def _frequent_values(self, name: str, x: np.ndarray, rho: float) -> np.ndarray:
        """Exact values held by many rows (a rate with ten levels, amounts that are mostly 0,
        limits in round thousands), released by thresholded noisy counts like categories.

        A quantile edge cannot mark them: quantiles are read on a public grid, so a spike
        lands inside a grid cell and decodes as values spread over a bin - on a bank table
        with ten distinct rates, 19,000 distinct synthetic values appeared and only 42 % fell
        on a real one. At most ``bins // 2`` values are kept (the largest noisy counts). Their
        point bins come on top of the column's ``bins`` quantile bins: taking them out of the
        quantile bins left, at large ε where many modest values pass the threshold, a few wide
        bins for the whole tail (a top bin from 186k to 964k on credit's bill amounts).
        """
        values = x[~np.isnan(x)].tolist()
        kept = dp_categories(
            values,
            rho,
            self.delta,
            max_categories=max(1, self.bins // 2),
            ledger=self.ledger,
            purpose=f"frequent values of column {name!r}",
            phase=PHASE,
            noise=self.noise,
        )
        return np.asarray(sorted(kept), dtype=float)

    def _round_values(
        self, name: str, x: np.ndarray, edges: np.ndarray, ladder: np.ndarray, rho: float
    ) -> round_values.Steps:
        """Round-value weights (:mod:`tabsynth.round_values`) of the rows in bins of more than
        one whole number: a Gaussian histogram of their classes (each row in one, L2
        sensitivity 1). The ladder and the edges that pick the rows are released already.

        A class whose noisy count is below :data:`STEP_SIGMAS` σ gets weight 0 (post-
        processing): clipping at 0 alone would leave each empty class about 0.4 σ of weight,
        and on a small table a ladder of ten empty classes would then draw a sizeable share
        of the rows on round values they never hold. Its values then get no odds of their
        own: a bin's rows go to the classes with weight, or uniformly where it holds none.
        """
        x = x[~np.isnan(x)]
        counts = round_values.class_counts(x[round_values.in_wide_bins(x, edges)], ladder)
        sigma = sigma_for_rho(rho)
        noisy = gaussian_counts(
            counts,
            sigma,
            ledger=self.ledger,
            purpose=f"round values of column {name!r}",
            phase=PHASE,
            noise=self.noise,
        )
        weights = np.where(noisy >= STEP_SIGMAS * sigma, noisy, 0.0)
        return tuple(zip(ladder.tolist(), weights.tolist(), strict=True))

    def _quantile_edges(
        self, name: str, x: np.ndarray, lo: float, hi: float, integer: bool, rho: float, zoom: bool
    ) -> np.ndarray:
        fine = integer and self.bins > 2
        levels = self.bins * (FINE_LEVELS if fine else 1)
        # Counts and amounts (integers from 0) get a log grid on x + 1: its first cell holds
        # only the value 0, so a spike at 0 is seen as one, and the tail gets cells in
        # proportion to its magnitude. Decided from the DP lower bound alone.
        shift = 1.0 if integer and lo == 0 else 0.0
        args = (x + shift, np.linspace(0.0, 1.0, levels + 1)[1:-1], lo + shift, hi + shift, rho)
        options: dict[str, Any] = {
            "ledger": self.ledger,
            "purpose": f"bin edges of column {name!r}",
            "phase": PHASE,
            "noise": self.noise,
            "bins": QUANTILE_GRID,
            "grid": "log" if shift else "auto",
        }
        if zoom:
            found = dp_range_quantiles(*args, **options)
            lo, hi, cuts = found.lower - shift, found.upper - shift, found.quantiles - shift
            if integer:
                lo, hi = float(np.floor(lo)), float(np.ceil(hi))
            else:  # a cut the narrower range clipped is no value rows pile up on
                cuts = cuts[(cuts > lo) & (cuts < hi)]
        else:
            cuts = dp_quantiles(*args, **options) - shift
        if fine:
            return integer_edges(cuts, lo, hi, self.bins)
        return with_point_bins(np.concatenate([[lo], cuts, [hi]]))


def year_cells(years: np.ndarray) -> np.ndarray:
    """Each year's cell on the public year grid; the grid's ends hold the first and last months
    pandas can hold (1677, 2262)."""
    return np.clip(np.asarray(years, dtype=int) - FIRST_YEAR, 0, YEARS - 1)


def year_span(noisy: np.ndarray, sigma: float) -> tuple[int, int] | None:
    """First and last year a noisy histogram on the year grid shows occupied
    (:func:`~tabsynth.privacy.occupied_span` at :data:`THRESHOLD_SIGMAS`), or None;
    post-processing of that histogram."""
    span = occupied_span(np.asarray(noisy) / sigma, THRESHOLD_SIGMAS)
    return None if span is None else (FIRST_YEAR + span[0], FIRST_YEAR + span[1])


def integer_edges(cuts: np.ndarray, lo: float, hi: float, bins: int) -> np.ndarray:
    """Bin edges of an integer column from a fine grid of (DP) quantiles: post-processing.

    A value that takes at least 1/bins of the quantile levels is a spike (``capital_gain ==
    0`` for 92 % of Adult) and gets a point bin; the other bins split the remaining levels
    evenly. Plain quantile edges would put nearly all bins inside the spike, where integer
    snapping merges them, and leave two or three wide bins for the whole tail.
    """
    values = np.round(cuts)
    uniq, counts = np.unique(values, return_counts=True)
    spikes = uniq[counts >= len(values) / bins]
    rest = values[~np.isin(values, spikes)]
    inner = bins - len(spikes)
    picks = np.linspace(0, rest.size - 1, inner + 1)[1:-1].round().astype(int) if rest.size else []
    interior = rest[picks] if inner > 1 and rest.size else np.empty(0)
    edges = np.concatenate([[lo - 0.5], spikes - 0.5, spikes + 0.5, interior, [hi + 0.5]])
    return snap_integer_edges(np.clip(edges, lo - 0.5, hi + 0.5))
