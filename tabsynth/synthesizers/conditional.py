"""Conditional and rebalanced sampling, shared by every synthesizer.

Two requests a user makes of a fitted synthesizer:

* **conditions** ``{column: value}``: every row has these values, and the other columns follow
  the model's distribution *given* them. Each synthesizer conditions its own way - exactly for
  the graphical models of MST and AIM (the model is conditioned, nothing is rejected), by
  fixing the given codes for the autoregressive model, through SDV's conditional sampling for
  the SDV baselines. This module checks the request and turns values into domain codes.
* **shares** ``{column: {value: share}}`` or ``{column: "equal"}`` (or a pair of columns and
  their value pairs: an intersection): the synthetic table has these group shares, and each
  group's rows are drawn conditionally on the group, so the relationships *inside* a group are
  the model's, not distorted by reweighting. Counts per group are allotted by largest
  remainder, so a share is met to within one row (no sampling error on the shares).

Sampling is post-processing of a released model: it spends no budget. What a refusal says
depends only on the released model and its domain (the categories a DP fit released, the
probabilities of the released model), never on the training rows, so the messages of a DP
model are as public as the model itself.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tabsynth.domain import BooleanCodec, CategoryCodec, DomainEncoder
from tabsynth.errors import DataError, ParameterError
from tabsynth.metadata import GENERATED_KINDS, Metadata

if TYPE_CHECKING:
    from tabsynth.synthesizers.base import Synthesizer

#: A group key: one column, or a tuple of columns (an intersection).
GroupKey = str | tuple[str, ...]
Shares = Mapping[GroupKey, Mapping[Any, float] | str]
#: Shares must sum to 1 within this tolerance.
SHARE_TOLERANCE = 1e-6
#: At most this many columns in one intersection (groups multiply quickly).
MAX_INTERSECTION = 2


def check_conditions(conditions: Any, metadata: Metadata) -> dict[str, Any]:
    """``conditions`` as a plain dict of learned columns to single, non-missing values."""
    if conditions is None:
        return {}
    if not isinstance(conditions, Mapping):
        raise ParameterError(
            "conditions must be a dict {column: value}, not " + type(conditions).__name__
        )
    out: dict[str, Any] = {}
    for name, value in conditions.items():
        if name not in metadata.columns:
            raise ParameterError(
                f"cannot condition on {name!r}: not a column of the model; columns: "
                + ", ".join(metadata.names)
            )
        if metadata[name].kind in GENERATED_KINDS:
            raise ParameterError(
                f"cannot condition on {name!r}: id, pii and text columns are generated fresh"
            )
        if _is_missing(value):
            raise ParameterError(
                f"cannot condition on {name!r} being missing: give a value (missing values "
                "are drawn as the model learned them)"
            )
        if not np.ndim(value) == 0:
            raise ParameterError(
                f"conditions give one value per column; {name!r} got {value!r}. To sample "
                "several groups, use shares={column: {value: share, ...}}"
            )
        out[str(name)] = value
    return out


def conform_value(metadata: Metadata, name: str, value: Any) -> Any:
    """``value`` parsed to ``name``'s declared type (a date string to a timestamp, "3" to 3),
    or a :class:`ParameterError` saying why it is not a value of the column.

    A value outside the column's range gets its own message: a fitted model's range is the
    declared one or, where the metadata declared none, one a DP fit estimated (it may end
    short of the rarest real values), and the fix is a value inside it or declared bounds,
    not the ``on_out_of_bounds`` of a fit."""
    spec = metadata[name]
    unbounded = dataclasses.replace(spec, lower=None, upper=None)
    try:
        cells = pd.DataFrame({name: pd.Series([value], dtype=object)})
        parsed = Metadata({name: unbounded}).validate(cells, on_out_of_bounds="error")[name]
    except DataError as exc:
        raise ParameterError(f"cannot condition on {name!r} = {value!r}: {exc}") from None
    below = spec.lower is not None and bool((parsed < spec.lower).any())
    if below or (spec.upper is not None and bool((parsed > spec.upper).any())):
        raise ParameterError(
            f"cannot condition on {name!r} = {value!r}: it lies outside the range the model "
            f"covers, [{spec.lower}, {spec.upper}]. Condition on a value inside it; to cover "
            "more, declare the column's bounds in the metadata and fit again (a DP fit "
            "estimates the range of a column whose bounds are not declared)."
        )
    return parsed.iloc[0]


def encode_value(encoder: DomainEncoder, name: str, value: Any) -> tuple[int, Any]:
    """The domain code of ``value`` in column ``name`` of ``encoder``, and the value as the
    column's type.

    A category the released domain does not list is refused - in a DP model it was either
    absent from the data or merged into ``<other>`` by the DP category selection, and the
    model cannot tell its rows apart from the other rare ones. The message lists only the
    released categories.
    """
    try:
        conformed = conform_value(encoder.metadata, name, value)
    except ParameterError:
        check_released(encoder, name, pd.Series([value], name=name, dtype=object))
        raise
    check_released(encoder, name, pd.Series([conformed], name=name))
    code = int(encoder.codecs[name].encode(pd.Series([conformed], name=name))[0])
    return code, conformed


def check_released(encoder: DomainEncoder, name: str, values: pd.Series) -> None:
    """Refuse given (non-missing) ``values`` of a categorical column that its domain does not
    list: the codec would map them to ``<other>`` silently."""
    codec = encoder.codecs[name]
    if not isinstance(codec, CategoryCodec):
        return
    given = values.dropna()
    unknown = given[~given.isin(list(codec.categories))]
    if unknown.empty:
        return
    kept = ", ".join(repr(c) for c in codec.categories)
    merged = (
        " (a DP fit merges categories it could not tell from noise into '<other>', which may "
        "decode to rarer codes that cannot be conditioned on)"
        if codec.other
        else ""
    )
    raise ParameterError(
        f"cannot condition on {name!r} = {unknown.iloc[0]!r}: the model's domain has no such "
        f"category{merged}. Categories of the model: {kept}"
    )


def candidate_values(synth: Synthesizer, column: str) -> list[Any]:
    """The values of a group column a synthesizer can be asked for: the categories of its
    domain (released or declared), or ``False`` and ``True`` (as the column spells them)."""
    metadata = synth.metadata_
    if column not in metadata.columns:
        raise ParameterError(
            f"shares name {column!r}, which is not a column of the model; columns: "
            + ", ".join(metadata.names)
        )
    spec = metadata[column]
    if spec.kind == "boolean" and spec.labels is not None:
        return list(spec.labels)  # the flag as the table spells it
    encoder = getattr(synth, "encoder_", None)
    codec = encoder.codecs.get(column) if encoder is not None else None
    if isinstance(codec, CategoryCodec):
        return list(codec.categories)
    if isinstance(codec, BooleanCodec):
        return [False, True]
    if spec.kind == "boolean":
        return [False, True]
    if spec.kind == "categorical" and spec.categories is not None:
        return list(spec.categories)
    raise ParameterError(
        f"shares need a categorical or boolean column with known categories; {column!r} is "
        f"{spec.kind}. Bin it into a categorical column first, or condition on exact values"
    )


def plan_groups(
    synth: Synthesizer, shares: Any, conditions: dict[str, Any]
) -> tuple[tuple[str, ...], list[tuple[tuple[Any, ...], float]]]:
    """The group columns and ``[(values, share), ...]`` of a ``shares`` request.

    ``"equal"`` spreads the rows evenly over the groups the model can produce (for MST and AIM,
    the combinations the released model gives positive probability; other models, every
    combination of their domain's categories). An explicit mapping lists each group's share;
    shares sum to 1, and unlisted groups get none.
    """
    if not isinstance(shares, Mapping) or len(shares) != 1:
        raise ParameterError(
            "shares must be a dict with one entry, {column: {value: share, ...}} or "
            '{column: "equal"} (a tuple of two columns for an intersection), not '
            f"{shares!r}"
        )
    ((key, spec),) = shares.items()
    columns = (key,) if isinstance(key, str) else tuple(key)
    if not columns or len(columns) > MAX_INTERSECTION or len(set(columns)) != len(columns):
        raise ParameterError(
            f"shares are set on one column or an intersection of {MAX_INTERSECTION} distinct "
            f"columns, not {key!r}"
        )
    clash = [c for c in columns if c in conditions]
    if clash:
        raise ParameterError(f"{clash[0]!r} is both in conditions and in shares; keep one")
    values = [candidate_values(synth, c) for c in columns]
    if isinstance(spec, str):
        if spec != "equal":
            raise ParameterError(f'shares for {key!r} must be a dict or "equal", not {spec!r}')
        groups = [
            g
            for g in itertools.product(*values)
            if synth._can_condition({**conditions, **dict(zip(columns, g, strict=True))})
        ]
        if not groups:
            raise ParameterError(f"the model gives no group of {key!r} any probability")
        return columns, [(g, 1.0 / len(groups)) for g in groups]
    if not isinstance(spec, Mapping) or not spec:
        raise ParameterError(f'shares for {key!r} must be a non-empty dict or "equal"')
    plan = []
    for value, share in spec.items():
        group = (value,) if len(columns) == 1 else value
        if not isinstance(group, tuple) or len(group) != len(columns):
            raise ParameterError(
                f"shares for the intersection {columns!r} are keyed by tuples of "
                f"{len(columns)} values, not {value!r}"
            )
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not share >= 0:
            raise ParameterError(f"the share of {value!r} must be a number >= 0, not {share!r}")
        plan.append((group, float(share)))
    total = sum(s for _, s in plan)
    if not math.isfinite(total) or abs(total - 1.0) > SHARE_TOLERANCE:
        raise ParameterError(f"the shares for {key!r} sum to {total:g}; they must sum to 1")
    return columns, [(g, s) for g, s in plan if s > 0]


def allot(n: int, shares: Sequence[float]) -> np.ndarray:
    """Whole counts summing to ``n`` closest to ``n * shares`` (largest remainder; ties to the
    earlier group), so each group's share is met to within one row."""
    exact = n * np.asarray(shares, dtype=float)
    counts = np.floor(exact).astype(np.int64)
    short = n - int(counts.sum())
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:short]] += 1
    return counts


def sample_shares(
    synth: Synthesizer,
    n: int,
    seed: int | None,
    shares: Any,
    conditions: Any,
) -> pd.DataFrame:
    """``n`` rows whose groups have the requested shares, each group drawn conditionally.

    Each group gets its own seed spawned from ``seed`` (the same seed gives the same table),
    and the rows are shuffled so that groups do not come in blocks.
    """
    from tabsynth.schema import restore_dtypes
    from tabsynth.synthesizers.base import _redraw_repeated_ids, check_count, check_seed

    synth._check_fitted()
    n = check_count(n)
    base = check_conditions(conditions, synth.metadata_)
    columns, plan = plan_groups(synth, shares, base)
    counts = allot(n, [s for _, s in plan])
    sequence = np.random.SeedSequence(check_seed(seed))
    children = sequence.spawn(len(plan) + 1)
    parts = []
    for (group, _), count, child in zip(plan, counts, children, strict=False):
        if count == 0:
            continue
        given = {**base, **dict(zip(columns, group, strict=True))}
        group_seed = int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))
        parts.append(synth.sample(int(count), seed=group_seed, conditions=given))
    frame = pd.concat(parts, ignore_index=True)
    rng = np.random.default_rng(children[-1])
    frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    _redraw_repeated_ids(frame, synth.metadata_, n, rng)
    return restore_dtypes(frame, synth.metadata_)


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value)) if np.ndim(value) == 0 else False
    except (TypeError, ValueError):
        return False
