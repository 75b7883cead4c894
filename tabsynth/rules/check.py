"""Which rows satisfy each rule: one vectorised test per rule kind.

The checker serves three callers: the enforcement loop (which rows to redraw), the report
(the share of rows satisfying each rule, real vs synthetic) and ``suggest-rules``. It reads a
frame as it comes - training frame, decoded codes or a CSV read as text - and puts each named
column in one comparable form first (:func:`comparable`): numbers and datetimes as floats
(datetimes in seconds since the epoch), categories and booleans as Python values, missing as
``None``/NaN. See :mod:`tabsynth.rules.model` for what "satisfies" means for each kind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tabsynth.errors import DataError
from tabsynth.rules.model import (
    Combinations,
    Compare,
    Condition,
    Conditional,
    Dependency,
    Identity,
    Rule,
)

if TYPE_CHECKING:
    from tabsynth.metadata import ColumnSpec, Metadata

#: Relative slack of float comparisons in identities (sums of rounded floats).
REL_TOL = 1e-9
NS_PER_SECOND = 1_000_000_000

_TRUE = {True: True, False: False, "True": True, "False": False, "true": True, "false": False}


@dataclass(frozen=True)
class Column:
    """One column in comparable form: ``values`` (float array for ordered kinds, object array
    otherwise) and ``missing``."""

    values: np.ndarray
    missing: np.ndarray
    ordered: bool


def comparable(series: pd.Series, spec: ColumnSpec) -> Column:
    """``series`` as floats (numerical, datetime in seconds) or Python objects (others)."""
    if spec.kind == "numerical":
        x = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        return Column(x, np.isnan(x), True)
    if spec.kind == "datetime":
        x = _seconds(series, spec)
        return Column(x, np.isnan(x), True)
    missing = series.isna().to_numpy()
    values = series.astype(object).to_numpy().copy()
    if spec.kind == "boolean":
        values = np.array(
            [
                None if m else _TRUE.get(v, _TRUE.get(str(v), v))
                for v, m in zip(values, missing, strict=True)
            ],
            dtype=object,
        )
    elif spec.categories is not None and not all(isinstance(c, str) for c in spec.categories):
        spelled = {str(c): c for c in spec.categories}
        values = np.array(
            [spelled.get(v, v) if isinstance(v, str) else v for v in values], dtype=object
        )
    values[missing] = None
    return Column(values, missing, False)


def _seconds(series: pd.Series, spec: ColumnSpec) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps = series
        if getattr(series.dt, "tz", None) is not None:
            stamps = series.dt.tz_convert("UTC").dt.tz_localize(None)
    else:
        stamps = pd.to_datetime(
            series, format=spec.format or "ISO8601", errors="coerce", utc=True
        ).dt.tz_localize(None)
    ns = stamps.astype("datetime64[ns]").to_numpy().astype("int64").astype(float)
    ns[stamps.isna().to_numpy()] = np.nan
    return ns / NS_PER_SECOND


def constant(value: Any, spec: ColumnSpec) -> Any:
    """A rule's constant in the comparable form of ``spec``'s column."""
    if value is None:
        return None
    if spec.kind == "datetime":
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return stamp.value / NS_PER_SECOND
    if spec.kind == "numerical":
        return float(value)
    return value


class Table:
    """The columns of a frame that rules name, converted once, on demand."""

    def __init__(self, frame: pd.DataFrame, metadata: Metadata):
        self.frame = frame
        self.metadata = metadata
        self.n = len(frame)
        self._cache: dict[str, Column] = {}

    def __getitem__(self, name: str) -> Column:
        if name not in self._cache:
            if name not in self.frame.columns:
                raise DataError(f"the table has no column {name!r}, which a rule names")
            self._cache[name] = comparable(self.frame[name], self.metadata[name])
        return self._cache[name]

    def spec(self, name: str) -> ColumnSpec:
        return self.metadata[name]


def _compare(op: str, a: np.ndarray, b: Any) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        if op == ">=":
            return a >= b
        if op == ">":
            return a > b
        if op == "<=":
            return a <= b
        if op == "<":
            return a < b
        if op == "==":
            return a == b
        return a != b


def _equal_arrays(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise ``a == b`` of two object arrays."""
    same = a == b
    if isinstance(same, np.ndarray) and same.shape == a.shape:
        return same.astype(bool)
    return np.fromiter((x == y for x, y in zip(a, b, strict=True)), bool, len(a))


def _equal_objects(values: np.ndarray, value: Any) -> np.ndarray:
    """Elementwise ``values == value`` over an object array (numpy compares object by object;
    a missing cell, ``None``, equals no constant)."""
    same = values == value
    if isinstance(same, np.ndarray) and same.shape == values.shape:
        return same.astype(bool)
    return np.fromiter((v == value and v is not None for v in values), bool, len(values))


def condition_holds(cond: Condition, table: Table) -> np.ndarray:
    """Rows where ``cond`` holds; false on a missing cell except for ``missing``."""
    col = table[cond.column]
    if cond.op == "missing":
        return col.missing.copy()
    if cond.op == "present":
        return ~col.missing
    spec = table.spec(cond.column)
    if cond.op in ("in", "not in"):
        if col.ordered:
            wanted = np.array([constant(v, spec) for v in cond.value], dtype=float)
            inside = np.isin(col.values, wanted)
        else:
            inside = pd.Series(col.values).isin(list(cond.value)).to_numpy()
        return ~col.missing & (inside if cond.op == "in" else ~inside)
    value = constant(cond.value, spec)
    if col.ordered:
        return ~col.missing & _compare(cond.op, col.values, value)
    same = _equal_objects(col.values, value)
    return ~col.missing & (same if cond.op == "==" else ~same)


def satisfied(rule: Rule, table: Table) -> np.ndarray:
    """Boolean array: which rows of ``table`` satisfy ``rule``."""
    if isinstance(rule, Compare):
        return _satisfied_compare(rule, table)
    if isinstance(rule, Conditional):
        applies = np.ones(table.n, dtype=bool)
        for cond in rule.if_:
            applies &= condition_holds(cond, table)
        holds = np.ones(table.n, dtype=bool)
        for cond in rule.then:
            holds &= condition_holds(cond, table)
        return ~applies | holds
    if isinstance(rule, Dependency):
        return _satisfied_dependency(rule, table)
    if isinstance(rule, Combinations):
        return _satisfied_combinations(rule, table)
    if isinstance(rule, Identity):
        return _satisfied_identity(rule, table)
    raise TypeError(f"unknown rule {rule!r}")


def _satisfied_compare(rule: Compare, table: Table) -> np.ndarray:
    left = table[rule.left]
    if rule.right is None:
        value = constant(rule.value, table.spec(rule.left))
        if left.ordered:
            return left.missing | _compare(rule.op, left.values, value)
        same = _equal_objects(left.values, value)
        return left.missing | (same if rule.op == "==" else ~same)
    right = table[rule.right]
    absent = left.missing | right.missing
    if left.ordered and right.ordered:
        return absent | _compare(rule.op, left.values, right.values)
    same = np.fromiter(
        (a == b for a, b in zip(left.values, right.values, strict=True)), bool, table.n
    )
    return absent | (same if rule.op == "==" else ~same)


def _keys(col: Column) -> np.ndarray:
    """Hashable per-row keys with missing as ``None`` (NaN is not equal to itself)."""
    out = col.values.astype(object).copy()
    out[col.missing] = None
    return out


def _satisfied_dependency(rule: Dependency, table: Table) -> np.ndarray:
    det, dep = _keys(table[rule.determinant]), _keys(table[rule.dependent])
    if rule.mapping is not None:
        spec = table.spec(rule.dependent)
        mapping = {k: constant(v, spec) for k, v in rule.mapping}
        keys = pd.Series(det, dtype=object)
        known = keys.isin(list(mapping)).to_numpy()
        expected = keys.map(mapping).to_numpy(dtype=object)
        absent = pd.isna(expected)  # a mapping to None: the dependent must be missing
        same = np.where(absent, table[rule.dependent].missing, _equal_arrays(expected, dep))
        return known & same
    if table.n == 0:
        return np.ones(0, dtype=bool)
    det_codes = pd.factorize(pd.Series(det), use_na_sentinel=False)[0]
    dep_codes = pd.factorize(pd.Series(dep), use_na_sentinel=False)[0]
    pairs = pd.DataFrame({"d": det_codes, "v": dep_codes})
    counts = pairs.value_counts().reset_index(name="c")
    modal = counts.sort_values(["c", "v"], ascending=[False, True]).drop_duplicates("d")
    mode_of = np.empty(det_codes.max() + 1, dtype=np.int64)
    mode_of[modal["d"].to_numpy()] = modal["v"].to_numpy()
    return mode_of[det_codes] == dep_codes


def _satisfied_combinations(rule: Combinations, table: Table) -> np.ndarray:
    cols = [_keys(table[c]) for c in rule.columns_]
    listed = {tuple(c) for c in (rule.allowed or rule.forbidden or ())}
    found = np.fromiter((tuple(row) in listed for row in zip(*cols, strict=True)), bool, table.n)
    return found if rule.allowed is not None else ~found


def identity_value(rule: Identity, table: Table) -> np.ndarray:
    """``sum(plus) - sum(minus)`` per row (NaN where an operand is missing)."""
    total = np.zeros(table.n)
    for name in rule.plus:
        total = total + table[name].values
    for name in rule.minus:
        total = total - table[name].values
    return total


def _satisfied_identity(rule: Identity, table: Table) -> np.ndarray:
    target = table[rule.column].values
    expected = identity_value(rule, table)
    absent = np.isnan(expected) | np.isnan(target)
    slack = rule.tolerance + REL_TOL * np.maximum(1.0, np.abs(expected))
    with np.errstate(invalid="ignore"):
        return absent | (np.abs(target - expected) <= slack)


# ---------------------------------------------------------------------------------------------
# summaries


@dataclass(frozen=True)
class RuleResult:
    """How many rows of one table satisfy one rule."""

    rule: Rule
    rows: int
    satisfied: int

    @property
    def share(self) -> float:
        return self.satisfied / self.rows if self.rows else 1.0


def check(
    frame: pd.DataFrame, metadata: Metadata, rules: Sequence[Rule] | None = None
) -> list[RuleResult]:
    """Per rule (the metadata's by default), the rows of ``frame`` that satisfy it."""
    rules = metadata.rules if rules is None else rules
    table = Table(frame, metadata)
    return [RuleResult(r, table.n, int(satisfied(r, table).sum())) for r in rules]


def all_satisfied(frame: pd.DataFrame, metadata: Metadata, rules: Sequence[Rule]) -> np.ndarray:
    """Rows of ``frame`` that satisfy every rule of ``rules``."""
    table = Table(frame, metadata)
    ok = np.ones(table.n, dtype=bool)
    for rule in rules:
        ok &= satisfied(rule, table)
    return ok


def violations(
    frame: pd.DataFrame, metadata: Metadata, rules: Sequence[Rule] | None = None
) -> Mapping[str, np.ndarray]:
    """Rule label -> positions of the rows that break it (only rules broken somewhere)."""
    rules = metadata.rules if rules is None else rules
    table = Table(frame, metadata)
    out = {}
    for rule in rules:
        bad = np.flatnonzero(~satisfied(rule, table))
        if bad.size:
            out[rule.label] = bad
    return out
