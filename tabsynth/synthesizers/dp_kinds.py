"""Dates written as text, recognised under DP in a fit that has no metadata.

Without metadata a DP fit takes its schema from the frame's dtypes
(:func:`~tabsynth.schema.schema_from_dtypes`), and a CSV file's dates arrive as text: read as
categories, one per day or second, no value of them is held by enough rows to be released, and
every synthetic date came back as ``"<other>"``. Deciding the kind from the values, as
:meth:`Metadata.detect <tabsynth.metadata.Metadata.detect>` does ("every value parses"), would
let one row flip it. Here each text column takes one look instead:

* **The release.** A histogram of its non-missing values over the layouts of
  :data:`~tabsynth.metadata.DATE_FORMATS` crossed with the public year grid of datetime
  ranges (each value counted under the first layout that parses it, in its year), plus one
  cell for the values no layout parses. A row adds 1 to one cell, so the Gaussian mechanism
  has L2 sensitivity 1. It spends :data:`LOOK_SHARE` of the column's share of the domain
  budget, which the domain then has that much less of.
* **The decision** (post-processing of that release): each layout's years are read like a
  datetime range (:func:`~tabsynth.privacy.occupied_span`); the column holds dates written in
  layout F when F's years show a span, its noisy count over that span is at least
  :data:`MIN_SIGMAS` σ, and at least :data:`DATE_FRACTION` of the noisy non-missing count
  (F's span, the other layouts' spans and the cell of other values, each clipped at 0). Such
  a column is modelled as a datetime with ``format`` F (synthetic values are text in that
  layout again) whose range is that span, so it takes no second release of its years; its
  values F does not parse are modelled as missing, which a warning says. Otherwise it stays
  categorical, as before, and a table too small for the look keeps its text.

Text without a digit is no date: pandas reads ``"now"`` and ``"today"`` under any layout as
the time of the fit. A fit's validation has written every value of a categorical column as
text before the look, so an object column of Python dates or datetimes is read too, in the
layout their ``str()`` takes (``2020-01-02``, ``2020-01-03 04:05:06``), and sampled as such
text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from tabsynth.errors import warn_caller
from tabsynth.metadata import DATE_FORMATS, Metadata
from tabsynth.privacy import NoiseSource, PrivacyLedger, gaussian_counts, sigma_for_rho
from tabsynth.synthesizers.dp_domain import PHASE, YEARS, year_cells, year_span

#: Fraction of a text column's share of the domain budget spent on its look at date layouts.
LOOK_SHARE = 0.02
#: Least fraction of a column's non-missing values (noisy counts) that one layout must parse.
DATE_FRACTION = 0.9
#: Least noisy count of that layout over its span of years, in σ of the look.
MIN_SIGMAS = 10.0


@dataclasses.dataclass(frozen=True)
class KindReading:
    """What the looks decided: the metadata with the date columns as datetimes (and the whole
    numbers as ints, :mod:`~tabsynth.synthesizers.dp_whole`), the table with those columns
    parsed (and rounded), the range of years each date look released, and the ρ the looks
    spent."""

    metadata: Metadata
    data: pd.DataFrame
    years: dict[str, tuple[int, int]]
    rho: float


def layout_counts(values: pd.Series) -> np.ndarray:
    """Non-missing values per (layout of :data:`DATE_FORMATS`, year of the public grid),
    layout by layout, then those no layout parses: each value in exactly one cell (the first
    layout that parses it). Values that are not text, or hold no digit, parse under none, and
    so do years pandas cannot hold (before 1677 or after 2262). Distinct values are parsed
    once."""
    tally = values.dropna().value_counts()
    text = pd.Series([_candidate(v) for v in tally.index], dtype=object)
    weights = tally.to_numpy(dtype=float)
    grid = np.zeros((len(DATE_FORMATS), YEARS))
    open_ = text.notna().to_numpy()
    for layout, row in zip(DATE_FORMATS, grid, strict=True):
        years = _years(text[open_], layout)
        parsed = np.flatnonzero(open_)[years >= 0]
        np.add.at(row, years[years >= 0], weights[parsed])
        open_[parsed] = False
    return np.append(grid.ravel(), weights.sum() - grid.sum())


def _candidate(value: object) -> str | None:
    """Text that might be a date: a string with a digit in it."""
    return value if isinstance(value, str) and any(c.isdigit() for c in value) else None


def _candidates(values: pd.Series) -> pd.Series:
    """``values`` where they might be dates, missing elsewhere: each distinct value is tested
    once, and the rows are matched to them in one vectorised pass."""
    kept = [v for v in values.dropna().unique() if _candidate(v) is not None]
    return values.where(values.isin(kept))


def _years(text: pd.Series, layout: str) -> np.ndarray:
    """Each value's cell on the year grid under ``layout``, or -1 where it does not parse."""
    stamps = pd.to_datetime(text, format=layout, errors="coerce")
    cells = year_cells(stamps.dt.year.fillna(0).to_numpy())
    return np.where(stamps.notna().to_numpy(), cells, -1)


@dataclasses.dataclass(frozen=True)
class DateLayout:
    """A layout a look found, and the years its dates span."""

    layout: str
    years: tuple[int, int]


def date_layout(noisy: np.ndarray, sigma: float) -> DateLayout | None:
    """The layout a look's noisy counts show the column written in, with its span of years, or
    None (see the module docstring): post-processing of the release alone."""
    grid = noisy[:-1].reshape(len(DATE_FORMATS), YEARS)
    spans = [year_span(row, sigma) for row in grid]
    mass = np.array([_span_count(row, span) for row, span in zip(grid, spans, strict=True)])
    best = int(np.argmax(mass))
    span = spans[best]
    total = mass.sum() + max(float(noisy[-1]), 0.0)
    if span is None or mass[best] < MIN_SIGMAS * sigma or mass[best] < DATE_FRACTION * total:
        return None
    return DateLayout(DATE_FORMATS[best], span)


def _span_count(row: np.ndarray, span: tuple[int, int] | None) -> float:
    """A layout's noisy count over its span of years, clipped at 0 (0 without a span)."""
    if span is None:
        return 0.0
    first, last = year_cells(np.asarray(span))
    return max(float(row[first : last + 1].sum()), 0.0)


def read_dates(
    data: pd.DataFrame,
    metadata: Metadata,
    columns: list[str],
    *,
    column_rho: float,
    ledger: PrivacyLedger,
    noise: NoiseSource,
) -> KindReading:
    """One look at each of ``columns`` (categorical by their text dtype, not declared), each
    with :data:`LOOK_SHARE` of ``column_rho``; those it shows as dates become datetime columns
    with their layout as ``format``, parsed in the returned table (what the layout does not
    parse is missing), each announced by a warning that names the column and the layout."""
    rho = LOOK_SHARE * column_rho
    sigma = sigma_for_rho(rho)
    specs = dict(metadata.columns)
    years: dict[str, tuple[int, int]] = {}
    what = "date layouts and years of column {!r} (whether its text holds dates)"
    for name, noisy in column_looks(data, columns, layout_counts, what, sigma, ledger, noise):
        found = date_layout(noisy, sigma)
        if found is not None:
            specs[name] = dataclasses.replace(specs[name], kind="datetime", format=found.layout)
            years[name] = found.years
            _warn_read_as_dates(name, found.layout)
    if years:
        text = data[list(years)].apply(_candidates)
        read = Metadata({name: specs[name] for name in years})
        parsed = read.validate(text, on_out_of_bounds="clip", private=True)
        data = data.assign(**{name: parsed[name] for name in years})
    reading = dataclasses.replace(metadata, columns=specs)
    return KindReading(reading, data, years, rho * len(columns))


def column_looks(
    data: pd.DataFrame,
    columns: list[str],
    count: Callable[[pd.Series], np.ndarray],
    what: str,
    sigma: float,
    ledger: PrivacyLedger,
    noise: NoiseSource,
) -> Iterator[tuple[str, np.ndarray]]:
    """Each column's look: its histogram ``count`` (each row in at most one cell, L2
    sensitivity 1) with discrete Gaussian noise of ``sigma``, charged to the domain phase as
    ``what`` with the column's name."""
    for name in columns:
        purpose = what.format(name)
        yield (
            name,
            gaussian_counts(
                count(data[name]), sigma, ledger=ledger, purpose=purpose, phase=PHASE, noise=noise
            ),
        )


def _warn_read_as_dates(name: str, layout: str) -> None:
    """Say which text column is modelled as dates, in which layout, and what happens to values
    in any other; read from the release alone, like the decision."""
    warn_caller(
        f"column {name!r} holds text that a differentially private look found to be dates "
        f"written {layout!r}, so it is modelled as a datetime and sampled in that layout; its "
        "values in any other layout are modelled as missing. Declare it in the metadata "
        f'(kind "datetime", format "{layout}") to spend nothing on the look, or declare it '
        "categorical to keep its text"
    )
