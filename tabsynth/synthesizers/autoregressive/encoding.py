"""Fine numeric bins for the non-private model.

The network predicts a code per column, and a number is decoded uniformly inside its bin, so
the bins bound how faithfully numbers come back. :meth:`DomainEncoder.fit` puts integer edges
at half-integers after taking quantiles, which merges a spike (``hours_per_week == 40``, held
by half of Adult) with its neighbours: the bin ``[38.5, 40.5]`` then decodes half of the 40s as
39. Here every spike gets a bin of its own and the quantile bins are spent on the rest:

* a value held by at least ``1/bins`` of the rows is a spike: a one-integer bin, or a point
  bin (repeated edge) for floats;
* the other values get quantile bins, as many as the spikes leave;
* an integer column with at most ``bins`` possible values gets one bin per value;
* an integer column decodes onto the round values its rows hold, with their exact shares
  (:func:`tabsynth.round_values.observed`).

The data-derived domain makes this non-private; DP fits take their bins from
:mod:`tabsynth.synthesizers.dp_domain` instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tabsynth import round_values
from tabsynth.domain import NS_PER_SECOND, DomainEncoder, to_float, with_point_bins
from tabsynth.metadata import Metadata


def fine_encoder(data: pd.DataFrame, metadata: Metadata, bins: int) -> DomainEncoder:
    """A :class:`DomainEncoder` whose numeric columns have :func:`fine_edges` bins."""
    base = DomainEncoder.fit(data, metadata, bins=bins)  # fills undeclared bounds, categories
    edges = {}
    steps = {}
    for name, spec in base.metadata.columns.items():
        if spec.kind not in ("numerical", "datetime"):
            continue
        is_datetime = spec.kind == "datetime"
        if is_datetime:
            lower, upper = (spec.lower.value / NS_PER_SECOND, spec.upper.value / NS_PER_SECOND)
        else:
            lower, upper = float(spec.lower), float(spec.upper)
        values = to_float(data[name], is_datetime)
        integer = spec.kind == "numerical" and spec.dtype == "int"
        edges[name] = fine_edges(values, bins, lower, upper, integer)
        if integer:
            steps[name] = round_values.observed(values, edges[name], lower, upper)
    return DomainEncoder.from_metadata(base.metadata, edges=edges, steps=steps)


def fine_edges(
    values: np.ndarray, bins: int, lower: float, upper: float, integer: bool
) -> np.ndarray:
    """Bin edges over ``[lower, upper]``: spikes alone, quantile bins over the other values.

    >>> fine_edges(np.array([1, 2, 2, 2, 9]), 4, 1, 9, integer=True).tolist()
    [0.5, 1.5, 2.5, 3.5, 6.5, 9.5]
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if integer and upper - lower + 1 <= bins:
        return np.arange(lower - 0.5, upper + 1.0, 1.0)
    if finite.size == 0:
        return np.array([lower, upper]) + (np.array([-0.5, 0.5]) if integer else 0.0)
    distinct, counts = np.unique(finite, return_counts=True)
    spikes = distinct[counts * bins >= finite.size]
    rest = finite[~np.isin(finite, spikes)]
    quantiles = (
        np.quantile(rest, np.linspace(0, 1, max(bins - spikes.size, 1) + 1))
        if (rest.size)
        else np.empty(0)
    )
    if integer:
        cuts = np.concatenate([np.floor(quantiles), spikes - 1, spikes, [lower - 1, upper]]) + 0.5
        return np.unique(np.clip(cuts, lower - 0.5, upper + 0.5))
    inner = np.clip(quantiles, lower, upper)
    return with_point_bins(np.concatenate([[lower, upper], inner, spikes, spikes]))
