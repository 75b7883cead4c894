"""Whole numbers held as floats, recognised under DP in a fit that has no metadata.

Without metadata a DP fit takes its schema from the frame's dtypes
(:func:`~tabsynth.schema.schema_from_dtypes`), and pandas holds any integer column with a
missing value as ``float64``: test scores, counts, years of experience, school ids. Modelled
as floats, such a column came back as 549.4945798953689 where every real value is whole, its
quantile edges fell between whole numbers (bins that hold no value, each given a share of the
noise), and it got none of the integer path's point bins and round values. On a 47-column
table of test scores (``AER/STAR``, 20 such columns, ε = 1, MST) this look lifted the 3-way
score by 26 points on average over four fits (5 to 41;
``benchmarks/results/whole_floats/``). Deciding from the values, as :meth:`Metadata.detect
<tabsynth.metadata.Metadata.detect>` does ("every value is whole"), would let one row
(``2.5``) flip the column's kind, so each such column takes one look instead:

* **The release.** A histogram of its non-missing values in two cells, whole and not whole
  (±inf, and whole floats beyond ±2^53, which an int column refuses, count as not whole; NaN
  is missing). A row adds 1 to one
  cell, so the Gaussian mechanism has L2 sensitivity 1. It spends :data:`LOOK_SHARE` of the
  column's share of the domain budget, which the domain then has that much less of.
* **The decision** (post-processing of that release): the column holds whole numbers when
  the noisy whole count is at least :data:`MIN_SIGMAS` σ and
  at least :data:`WHOLE_FRACTION` of the noisy non-missing count (the other cell clipped at
  0). It is then modelled as an ``int`` column (so sampled as whole numbers, dtype ``Int64``)
  and a warning names it; a column the look cannot tell, or that holds fractions, stays a
  float, as before. The rare fractions of a column read as whole are rounded (halves to
  even) before the domain reads it, one row at a time, which is what the warning says.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from tabsynth.errors import warn_caller
from tabsynth.metadata import EXACT_INTEGER, Metadata
from tabsynth.privacy import NoiseSource, PrivacyLedger, sigma_for_rho
from tabsynth.synthesizers.dp_kinds import column_looks

#: Fraction of a float column's share of the domain budget spent on its look.
LOOK_SHARE = 0.1
#: Least fraction of a column's non-missing values (noisy counts) that must be whole.
WHOLE_FRACTION = 0.95
#: Least noisy count of whole values, in σ of the look.
MIN_SIGMAS = 10.0


def whole_counts(values: pd.Series) -> np.ndarray:
    """Non-missing values that are whole numbers an int column holds, and the others."""
    x = values.to_numpy(dtype=float, na_value=np.nan)
    x = x[~np.isnan(x)]
    whole = int(np.count_nonzero((np.abs(x) <= EXACT_INTEGER) & (x == np.round(x))))
    return np.array([whole, x.size - whole], dtype=float)


def holds_whole_numbers(noisy: np.ndarray, sigma: float) -> bool:
    """Whether a look's noisy counts show a column of whole numbers (module docstring):
    post-processing of the release alone."""
    whole, fractions = float(noisy[0]), max(float(noisy[1]), 0.0)
    return whole >= MIN_SIGMAS * sigma and whole >= WHOLE_FRACTION * (whole + fractions)


def read_whole_numbers(
    data: pd.DataFrame,
    metadata: Metadata,
    columns: list[str],
    *,
    column_rho: float,
    ledger: PrivacyLedger,
    noise: NoiseSource,
) -> tuple[Metadata, pd.DataFrame, float]:
    """One look at each of ``columns`` (float by their dtype, not declared), each with
    :data:`LOOK_SHARE` of ``column_rho``: the metadata with the columns it shows as whole
    numbers declared ``int``, the table with those columns rounded, and the ρ the looks
    spent. One warning names those columns."""
    rho = LOOK_SHARE * column_rho
    sigma = sigma_for_rho(rho)
    specs = dict(metadata.columns)
    found = []
    what = "whole and fractional values of column {!r} (whether it holds integers)"
    for name, noisy in column_looks(data, columns, whole_counts, what, sigma, ledger, noise):
        if holds_whole_numbers(noisy, sigma):
            specs[name] = dataclasses.replace(specs[name], dtype="int", precision=0)
            found.append(name)
    if found:
        _warn_read_as_whole(found)
        data = data.assign(**{name: data[name].round() for name in found})
    return dataclasses.replace(metadata, columns=specs), data, rho * len(columns)


def _warn_read_as_whole(names: list[str]) -> None:
    """Say which float columns are modelled as whole numbers, read from the release alone."""
    shown = ", ".join(repr(name) for name in names)
    warn_caller(
        f"column(s) {shown} hold floats that a differentially private look found to be whole "
        "numbers (pandas stores an integer column with missing values as float64), so they are "
        "modelled as integers and sampled as whole numbers (dtype Int64); a rare fraction among "
        "their values is rounded. To spend nothing on the look, pass metadata that declares "
        "every column's kind (tabsynth.schema.schema_from_dtypes(frame) gives the frame's, to "
        'edit), with dtype "int" for these, or "float" to keep fractions'
    )
