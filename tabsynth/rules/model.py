"""Domain rules: what every row of the table obeys, declared in the metadata.

A rule comes from the data dictionary, not from the rows, so it is *public*: declaring it costs
no privacy budget, and every synthesizer enforces it on every synthetic row. Five kinds cover
what data dictionaries state:

============  ================================================================================
kind          holds in a row when
============  ================================================================================
compare       ``left op right`` (a column or a constant on the right); a missing operand makes
              the comparison not applicable, as SQL ``CHECK`` constraints do
conditional   the ``then`` conditions all hold whenever the ``if`` conditions all hold
              (``if age < 15 then marital_status is missing``; ``if relationship == Husband
              then sex == Male``)
dependency    ``dependent`` equals ``mapping[determinant]`` (declared, or learned from the
              table by a non-private fit); without a mapping, the dependent is the same in
              every row that shares the determinant (missing counts as a value)
combinations  the tuple of ``columns`` is among ``allowed`` (or not among ``forbidden``);
              ``null`` in a tuple stands for a missing value
identity      ``column == sum(plus) - sum(minus)`` within ``tolerance``; not applicable when
              an operand is missing. The column is *derived* on sampling
============  ================================================================================

JSON form (the ``"rules"`` list at the top level of the metadata)::

    {"kind": "compare", "left": "discharge", "op": ">=", "right": "admission"}
    {"kind": "compare", "left": "age", "op": ">=", "value": 0}
    {"kind": "conditional", "if": [{"column": "age", "op": "<", "value": 15}],
     "then": [{"column": "marital_status", "op": "missing"}]}
    {"kind": "dependency", "determinant": "education_num", "dependent": "education",
     "mapping": [[9, "HS-grad"], [13, "Bachelors"]]}
    {"kind": "combinations", "columns": ["a", "b"], "forbidden": [["x", "y"]]}
    {"kind": "identity", "column": "total", "plus": ["a", "b"], "tolerance": 0}

Every rule may carry a ``"name"`` used in reports and errors (by default its text). Rules are
checked against the columns of the metadata (:func:`validate_rules`): unknown columns, values
outside declared categories, order comparisons of categories, missingness of a non-nullable
column are refused with a :class:`~tabsynth.errors.MetadataError` that names the rule.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from tabsynth.errors import MetadataError

if TYPE_CHECKING:
    from tabsynth.metadata import ColumnSpec

#: Comparison operators, between columns or against a constant.
COMPARISONS: tuple[str, ...] = (">=", ">", "<=", "<", "==", "!=")
#: Operators of a condition (``if`` / ``then`` parts of a conditional rule).
CONDITION_OPS: tuple[str, ...] = (*COMPARISONS, "in", "not in", "missing", "present")
#: Operators that order values: refused on categorical and boolean columns.
ORDERING: frozenset[str] = frozenset({">=", ">", "<=", "<"})
#: Kinds of column a rule may name: generated columns (id, pii, text) are never learned.
RULE_KINDS: frozenset[str] = frozenset({"numerical", "categorical", "boolean", "datetime"})


def _scalar(value: Any, where: str) -> Any:
    """A JSON scalar (string, number, boolean; ``None`` where allowed by the caller)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MetadataError(f"{where}: {value!r} is not a finite number")
        return value
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return _scalar(item(), where)
    raise MetadataError(f"{where}: {value!r} is not a string, number or boolean")


@dataclass(frozen=True)
class Condition:
    """``column op value``: one test on one column of a row.

    ``op`` is a comparison (``value`` a constant), ``in`` / ``not in`` (``value`` a list),
    ``missing`` or ``present`` (no value). A condition on a missing cell is false, except
    ``missing``.
    """

    column: str
    op: str
    value: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.column, str):
            raise MetadataError(f"a condition's column must be a name, not {self.column!r}")
        if self.op not in CONDITION_OPS:
            raise MetadataError(
                f"unknown condition operator {self.op!r} on {self.column!r}; use one of "
                f"{', '.join(CONDITION_OPS)}"
            )
        where = f"condition on {self.column!r}"
        if self.op in ("missing", "present"):
            if self.value is not None:
                raise MetadataError(f"{where}: {self.op!r} takes no value; remove it")
        elif self.op in ("in", "not in"):
            if isinstance(self.value, (str, bytes)) or not isinstance(
                self.value, (Sequence, set, frozenset)
            ):
                raise MetadataError(f"{where}: {self.op!r} needs a list of values")
            values = tuple(_scalar(v, where) for v in self.value)
            if not values:
                raise MetadataError(f"{where}: {self.op!r} needs at least one value")
            object.__setattr__(self, "value", values)
        else:
            if self.value is None:
                raise MetadataError(
                    f"{where}: {self.op!r} needs a value; to test for missing values use the "
                    "operator 'missing'"
                )
            object.__setattr__(self, "value", _scalar(self.value, where))

    def describe(self) -> str:
        if self.op in ("missing", "present"):
            return f"{self.column} is {'missing' if self.op == 'missing' else 'present'}"
        if self.op in ("in", "not in"):
            return f"{self.column} {self.op} {list(self.value)!r}"
        return f"{self.column} {self.op} {self.value!r}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"column": self.column, "op": self.op}
        if self.value is not None:
            out["value"] = list(self.value) if isinstance(self.value, tuple) else self.value
        return out

    @classmethod
    def from_dict(cls, raw: Any, where: str) -> Condition:
        if not isinstance(raw, Mapping):
            raise MetadataError(f"{where}: a condition is an object with 'column' and 'op'")
        unknown = set(raw) - {"column", "op", "value"}
        if unknown or "column" not in raw or "op" not in raw:
            raise MetadataError(
                f"{where}: a condition has keys 'column', 'op' and (for most operators) "
                f"'value'; got {sorted(raw)}"
            )
        try:
            return cls(raw["column"], raw["op"], raw.get("value"))
        except MetadataError as exc:
            raise MetadataError(f"{where}: {exc}") from None

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)


@dataclass(frozen=True)
class Rule:
    """Base of the rule kinds; ``name`` labels it in reports and errors."""

    kind: ClassVar[str] = ""

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the rule reads, in a stable order."""
        raise NotImplementedError

    @property
    def label(self) -> str:
        """The rule's ``name``, or its text."""
        name = getattr(self, "name", None)
        return name if name else self.describe()

    def describe(self) -> str:
        raise NotImplementedError

    @property
    def derived(self) -> str | None:
        """The column this rule computes from others on sampling, if any."""
        return None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:  # optional parts left out (name, right/value, mapping)
                continue
            out[f.name] = _to_json(value)
        return out


def _to_json(value: Any) -> Any:
    if isinstance(value, Condition):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    return value


@dataclass(frozen=True)
class Compare(Rule):
    """``left op right`` with ``right`` a column, or ``left op value`` with a constant."""

    kind: ClassVar[str] = "compare"
    left: str
    op: str
    right: str | None = None
    value: Any = None
    name: str | None = None

    def __post_init__(self) -> None:
        if self.op not in COMPARISONS:
            raise MetadataError(
                f"rule {self.label!r}: unknown operator {self.op!r}; use one of "
                f"{', '.join(COMPARISONS)}"
            )
        if (self.right is None) == (self.value is None):
            raise MetadataError(
                f"rule comparing {self.left!r}: give exactly one of 'right' (a column) and "
                "'value' (a constant)"
            )
        if self.value is not None:
            object.__setattr__(self, "value", _scalar(self.value, f"rule {self.label!r}"))

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.left,) if self.right is None else (self.left, self.right)

    def describe(self) -> str:
        other = self.right if self.right is not None else repr(self.value)
        return f"{self.left} {self.op} {other}"


@dataclass(frozen=True)
class Conditional(Rule):
    """Whenever every ``if_`` condition holds, every ``then`` condition holds."""

    kind: ClassVar[str] = "conditional"
    if_: tuple[Condition, ...]
    then: tuple[Condition, ...]
    name: str | None = None

    def __post_init__(self) -> None:
        for part in ("if_", "then"):
            conds = getattr(self, part)
            if isinstance(conds, Condition):
                conds = (conds,)
            conds = tuple(conds)
            if not conds or not all(isinstance(c, Condition) for c in conds):
                raise MetadataError(
                    f"a conditional rule needs at least one Condition in '{part.rstrip('_')}'"
                )
            object.__setattr__(self, part, conds)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.column for c in (*self.if_, *self.then)))

    def describe(self) -> str:
        cond = " and ".join(c.describe() for c in self.if_)
        then = " and ".join(c.describe() for c in self.then)
        return f"if {cond} then {then}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.name is not None:
            out["name"] = self.name
        out["if"] = [c.to_dict() for c in self.if_]
        out["then"] = [c.to_dict() for c in self.then]
        return out


@dataclass(frozen=True)
class Dependency(Rule):
    """``dependent`` is a function of ``determinant``; ``mapping`` lists the pairs
    ``(determinant value, dependent value)`` when declared (else it is learned by a
    non-private fit; DP fits need it declared)."""

    kind: ClassVar[str] = "dependency"
    determinant: str
    dependent: str
    mapping: tuple[tuple[Any, Any], ...] | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if self.determinant == self.dependent:
            raise MetadataError(f"rule {self.label!r}: a column cannot depend on itself")
        if self.mapping is None:
            return
        pairs = self.mapping.items() if isinstance(self.mapping, Mapping) else self.mapping
        where = f"rule {self.label!r}"
        if not isinstance(pairs, (list, tuple, type({}.items()))):
            raise MetadataError(f"{where}: the mapping is a list of pairs, not {pairs!r}")
        out: dict[Any, Any] = {}
        for pair in pairs:
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise MetadataError(
                    f"{where}: the mapping is a list of [determinant value, dependent value] "
                    f"pairs; got {pair!r}"
                )
            key, value = _scalar(pair[0], where), _scalar(pair[1], where)
            if key in out and out[key] != value:
                raise MetadataError(
                    f"{where}: the mapping gives {key!r} two values ({out[key]!r} and "
                    f"{value!r}); keep one"
                )
            out[key] = value
        if not out:
            raise MetadataError(f"{where}: the mapping is empty; list its pairs or omit it")
        object.__setattr__(self, "mapping", tuple(out.items()))

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.determinant, self.dependent)

    @property
    def derived(self) -> str | None:
        return self.dependent if self.mapping is not None else None

    def describe(self) -> str:
        return f"{self.dependent} is determined by {self.determinant}"

    def with_mapping(self, mapping: Sequence[tuple[Any, Any]]) -> Dependency:
        return dataclasses.replace(self, mapping=tuple(mapping))


@dataclass(frozen=True)
class Combinations(Rule):
    """The values of ``columns`` form one of the ``allowed`` tuples, or none of the
    ``forbidden`` ones (exactly one of the two lists); ``None`` matches a missing value."""

    kind: ClassVar[str] = "combinations"
    columns_: tuple[str, ...]
    allowed: tuple[tuple[Any, ...], ...] | None = None
    forbidden: tuple[tuple[Any, ...], ...] | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        cols = tuple(self.columns_)
        where = f"rule {self.label!r}"
        if len(cols) < 2 or len(set(cols)) != len(cols):
            raise MetadataError(f"{where}: list at least two distinct columns")
        object.__setattr__(self, "columns_", cols)
        if (self.allowed is None) == (self.forbidden is None):
            raise MetadataError(f"{where}: give exactly one of 'allowed' and 'forbidden'")
        part = "allowed" if self.allowed is not None else "forbidden"
        tuples = []
        combos = getattr(self, part)
        if not isinstance(combos, (list, tuple)):
            raise MetadataError(f"{where}: '{part}' is a list of combinations")
        for combo in combos:
            if not isinstance(combo, (list, tuple)) or len(combo) != len(cols):
                raise MetadataError(
                    f"{where}: each {part} combination lists one value per column "
                    f"({len(cols)}); got {combo!r}"
                )
            tuples.append(tuple(_scalar(v, where) for v in combo))
        if not tuples:
            raise MetadataError(f"{where}: the {part} list is empty")
        object.__setattr__(self, part, tuple(tuples))

    @property
    def columns(self) -> tuple[str, ...]:
        return self.columns_

    def describe(self) -> str:
        part = "allowed" if self.allowed is not None else "forbidden"
        count = len(self.allowed if self.allowed is not None else self.forbidden or ())
        return f"({', '.join(self.columns_)}) in {count} {part} combinations"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.name is not None:
            out["name"] = self.name
        out["columns"] = list(self.columns_)
        if self.allowed is not None:
            out["allowed"] = [list(c) for c in self.allowed]
        else:
            out["forbidden"] = [list(c) for c in self.forbidden or ()]
        return out


@dataclass(frozen=True)
class Identity(Rule):
    """``column == sum(plus) - sum(minus)`` within ``tolerance``; ``column`` is derived from
    the others on sampling (rounded to its declared precision)."""

    kind: ClassVar[str] = "identity"
    column: str
    plus: tuple[str, ...]
    minus: tuple[str, ...] = ()
    tolerance: float = 0.0
    name: str | None = None

    def __post_init__(self) -> None:
        where = f"rule {self.label!r}"
        plus, minus = tuple(self.plus), tuple(self.minus)
        if isinstance(self.plus, str) or isinstance(self.minus, str):
            raise MetadataError(f"{where}: 'plus' and 'minus' are lists of column names")
        if not plus:
            raise MetadataError(f"{where}: 'plus' needs at least one column")
        if self.column in plus + minus:
            raise MetadataError(f"{where}: {self.column!r} cannot be a term of its own identity")
        tol = self.tolerance
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < math.inf:
            raise MetadataError(f"{where}: tolerance must be a finite number >= 0, not {tol!r}")
        object.__setattr__(self, "plus", plus)
        object.__setattr__(self, "minus", minus)
        object.__setattr__(self, "tolerance", float(tol))

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column, *self.plus, *self.minus)

    @property
    def derived(self) -> str | None:
        return self.column

    def describe(self) -> str:
        rhs = " + ".join(self.plus) + "".join(f" - {m}" for m in self.minus)
        tol = f" (± {self.tolerance:g})" if self.tolerance else ""
        return f"{self.column} = {rhs}{tol}"


KINDS: dict[str, type[Rule]] = {
    cls.kind: cls for cls in (Compare, Conditional, Dependency, Combinations, Identity)
}
#: JSON keys of each kind (the Python field names differ where JSON's are keywords).
_JSON_KEYS: dict[str, dict[str, str]] = {
    "compare": {"left": "left", "op": "op", "right": "right", "value": "value"},
    "conditional": {"if": "if_", "then": "then"},
    "dependency": {"determinant": "determinant", "dependent": "dependent", "mapping": "mapping"},
    "combinations": {"columns": "columns_", "allowed": "allowed", "forbidden": "forbidden"},
    "identity": {"column": "column", "plus": "plus", "minus": "minus", "tolerance": "tolerance"},
}


def rule_from_dict(raw: Any, index: int) -> Rule:
    """One rule from its JSON object; ``index`` locates it in errors."""
    where = f"rule {index + 1}"
    if not isinstance(raw, Mapping) or raw.get("kind") not in KINDS:
        kind = raw.get("kind") if isinstance(raw, Mapping) else None
        raise MetadataError(
            f"{where}: expected an object whose 'kind' is one of {', '.join(KINDS)}, "
            f"got kind {kind!r}"
        )
    kind = raw["kind"]
    keys = _JSON_KEYS[kind]
    unknown = set(raw) - set(keys) - {"kind", "name"}
    if unknown:
        raise MetadataError(
            f"{where} ({kind}): unknown keys {sorted(unknown)}; known keys are "
            f"{sorted({'kind', 'name', *keys})}"
        )
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise MetadataError(f"{where}: 'name' must be a string, not {name!r}")
    label = f"{where} ({name})" if name else where
    kwargs: dict[str, Any] = {"name": name}
    for key, field in keys.items():
        if key in raw:
            kwargs[field] = raw[key]
    try:
        if kind == "conditional":
            for key in ("if_", "then"):
                conds = kwargs.get(key)
                if not isinstance(conds, list):
                    raise MetadataError(f"'{key.rstrip('_')}' must be a list of conditions")
                kwargs[key] = tuple(Condition.from_dict(c, key.rstrip("_")) for c in conds)
        for key in ("left", "right", "determinant", "dependent", "column"):
            if key in kwargs and kwargs[key] is not None and not isinstance(kwargs[key], str):
                raise MetadataError(f"'{key}' must be a column name, not {kwargs[key]!r}")
        for key in ("plus", "minus", "columns_"):
            if key in kwargs and (
                not isinstance(kwargs[key], list)
                or not all(isinstance(c, str) for c in kwargs[key])
            ):
                raise MetadataError(f"'{key.rstrip('_')}' must be a list of column names")
        return KINDS[kind](**kwargs)
    except TypeError as exc:
        raise MetadataError(f"{label}: missing keys for a {kind} rule ({exc})") from None
    except MetadataError as exc:
        raise MetadataError(f"{label}: {exc}") from None


def rules_from_json(raw: Any) -> tuple[Rule, ...]:
    """The ``"rules"`` list of a metadata object."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise MetadataError("'rules' must be a list of rule objects")
    return tuple(rule_from_dict(r, i) for i, r in enumerate(raw))


def rules_to_json(rules: Sequence[Rule]) -> list[dict[str, Any]]:
    return [r.to_dict() for r in rules]


# ---------------------------------------------------------------------------------------------
# validation against the columns


def validate_rules(rules: Sequence[Any], columns: Mapping[str, ColumnSpec]) -> tuple[Rule, ...]:
    """``rules`` as a tuple, each checked against the declared columns; raises
    :class:`MetadataError` naming the rule and what to fix."""
    rules = tuple(rules)
    derived: dict[str, str] = {}
    for rule in rules:
        if not isinstance(rule, Rule):
            raise MetadataError(
                f"rules must be Rule objects (Compare, Conditional, ...), not {type(rule).__name__}"
            )
        where = f"rule {rule.label!r}"
        for name in rule.columns:
            if name not in columns:
                raise MetadataError(
                    f"{where} names column {name!r}, which the metadata does not declare; "
                    f"known columns: {', '.join(columns)}"
                )
            if columns[name].kind not in RULE_KINDS:
                raise MetadataError(
                    f"{where} names {name!r}, a {columns[name].kind} column that is generated "
                    "fresh on sampling; rules can only name learned columns"
                )
        _CHECKS[rule.kind](rule, columns, where)
        target = rule.derived
        if target is not None:
            if target in derived:
                raise MetadataError(
                    f"{where} derives {target!r}, which rule {derived[target]!r} already "
                    "derives; keep one of them"
                )
            derived[target] = rule.label
    check_derivation_order(rules)
    return rules


def check_derivation_order(rules: Sequence[Rule]) -> None:
    """A derived column may feed another derivation, but not in a cycle."""
    sources = {r.derived: set(r.columns) - {r.derived} for r in rules if r.derived}
    state: dict[str, int] = {}

    def visit(col: str, path: list[str]) -> None:
        if state.get(col) == 2:
            return
        if state.get(col) == 1:
            raise MetadataError(
                f"rules derive columns in a cycle ({' -> '.join([*path, col])}); break it"
            )
        state[col] = 1
        for src in sources.get(col, ()):
            visit(src, [*path, col])
        state[col] = 2

    for col in sources:
        visit(col, [])


def derivation_order(rules: Sequence[Rule]) -> list[Rule]:
    """The deriving rules, each after those deriving its inputs."""
    deriving = {r.derived: r for r in rules if r.derived}
    done: list[Rule] = []
    seen: set[str] = set()

    def visit(col: str) -> None:
        if col in seen or col not in deriving:
            return
        seen.add(col)
        for src in deriving[col].columns:
            if src != col:
                visit(src)
        done.append(deriving[col])

    for col in deriving:
        visit(col)
    return done


def _is_ordered(spec: ColumnSpec) -> bool:
    return spec.kind in ("numerical", "datetime")


def _check_value(spec: ColumnSpec, name: str, value: Any, where: str) -> None:
    """``value`` is a possible value of column ``name`` (without reading any row)."""
    if value is None:
        if not spec.nullable:
            raise MetadataError(
                f"{where}: {name!r} is declared nullable: false, so it is never missing; fix "
                "the rule or the column"
            )
        return
    if spec.kind == "numerical":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise MetadataError(f"{where}: {name!r} is numerical; compare it with a number")
    elif spec.kind == "datetime":
        try:
            pd.Timestamp(value)
        except (ValueError, TypeError):
            raise MetadataError(
                f"{where}: {name!r} is a datetime; {value!r} is not a date (use ISO 8601)"
            ) from None
    elif spec.kind == "boolean":
        if not isinstance(value, bool):
            spelled = (
                f" (the table's {spec.true_value!r} is true, {spec.false_value!r} false)"
                if spec.labels is not None
                else ""
            )
            raise MetadataError(f"{where}: {name!r} is boolean; use true or false{spelled}")
    elif spec.categories is not None and value not in spec.categories:
        raise MetadataError(
            f"{where}: {value!r} is not a declared category of {name!r}; add it to the "
            "column's categories or fix the rule"
        )


def _check_compare(rule: Compare, columns: Mapping[str, ColumnSpec], where: str) -> None:
    left = columns[rule.left]
    if rule.right is None:
        if rule.op in ORDERING and not _is_ordered(left):
            raise MetadataError(
                f"{where}: {rule.op!r} orders values, but {rule.left!r} is {left.kind}; use "
                "== or != (or a combinations rule)"
            )
        _check_value(left, rule.left, rule.value, where)
        return
    right = columns[rule.right]
    if rule.left == rule.right:
        raise MetadataError(f"{where}: compares {rule.left!r} with itself")
    if rule.op in ORDERING:
        if not (_is_ordered(left) and _is_ordered(right) and left.kind == right.kind):
            raise MetadataError(
                f"{where}: {rule.op!r} needs two numerical or two datetime columns; "
                f"{rule.left!r} is {left.kind}, {rule.right!r} is {right.kind}"
            )
    elif left.kind != right.kind:
        raise MetadataError(
            f"{where}: {rule.left!r} ({left.kind}) and {rule.right!r} ({right.kind}) are of "
            "different kinds, so they are never equal"
        )


def _check_condition(cond: Condition, columns: Mapping[str, ColumnSpec], where: str) -> None:
    spec = columns[cond.column]
    if cond.op in ORDERING and not _is_ordered(spec):
        raise MetadataError(
            f"{where}: {cond.op!r} orders values, but {cond.column!r} is {spec.kind}; use ==, "
            "!=, in or not in"
        )
    if cond.op == "missing" and not spec.nullable:
        raise MetadataError(
            f"{where}: {cond.column!r} is declared nullable: false, so it is never missing; "
            "fix the rule or set nullable: true"
        )
    if cond.op in ("in", "not in"):
        for v in cond.value:
            _check_value(spec, cond.column, v, where)
    elif cond.op in COMPARISONS:
        _check_value(spec, cond.column, cond.value, where)


def _check_conditional(rule: Conditional, columns: Mapping[str, ColumnSpec], where: str) -> None:
    for cond in (*rule.if_, *rule.then):
        _check_condition(cond, columns, where)


def _check_dependency(rule: Dependency, columns: Mapping[str, ColumnSpec], where: str) -> None:
    for key, value in rule.mapping or ():
        _check_value(columns[rule.determinant], rule.determinant, key, where)
        _check_value(columns[rule.dependent], rule.dependent, value, where)


def _check_combinations(rule: Combinations, columns: Mapping[str, ColumnSpec], where: str) -> None:
    for name in rule.columns_:
        if columns[name].kind not in ("categorical", "boolean"):
            raise MetadataError(
                f"{where}: {name!r} is {columns[name].kind}; combinations rules take "
                "categorical or boolean columns (use compare or conditional rules for numbers)"
            )
    for combo in rule.allowed or rule.forbidden or ():
        for name, value in zip(rule.columns_, combo, strict=True):
            _check_value(columns[name], name, value, where)


def _check_identity(rule: Identity, columns: Mapping[str, ColumnSpec], where: str) -> None:
    for name in rule.columns:
        if columns[name].kind != "numerical":
            raise MetadataError(
                f"{where}: {name!r} is {columns[name].kind}; identities add numerical columns"
            )


_CHECKS: dict[str, Any] = {
    "compare": _check_compare,
    "conditional": _check_conditional,
    "dependency": _check_dependency,
    "combinations": _check_combinations,
    "identity": _check_identity,
}
