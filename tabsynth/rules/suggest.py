"""Candidate rules that hold in a table, for a person to review: ``tabsynth metadata
suggest-rules DATA``.

This reads the private rows. Its output is a *draft*: which rules hold, and the mappings of
dependencies, are facts about the rows, so declaring them public is the data owner's decision,
to be checked against the data dictionary (a rule that holds by chance in this table is not a
rule of the domain). Nothing here is ever applied to a fit automatically: the draft is written
to its own file, not into the metadata.

Candidates (each holding in every row, with at least ``min_support`` rows where it matters):

* comparisons between two numerical or two datetime columns (``a >= b``, ``a > b``);
* conditional missingness: ``if A == a then B is missing``;
* functional dependencies ``B determined by A`` between categorical or whole-number columns,
  with the mapping when it is short;
* conditional values ``if A == a then B == b`` where A does not already determine B.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tabsynth.rules.check import Table
from tabsynth.rules.model import Compare, Condition, Conditional, Dependency, Rule

if TYPE_CHECKING:
    from tabsynth.metadata import Metadata

#: Rows a candidate must concern to be suggested (fewer could hold by chance).
MIN_SUPPORT = 30
#: Most distinct values of a determinant or of a conditioning column.
MAX_LEVELS = 200
#: Mappings up to this many pairs are written out; longer ones are left to the user.
MAX_MAPPING = 100
#: At most this many conditional-value candidates (the best supported).
MAX_CONDITIONALS = 50

WARNING = (
    "DRAFT read from the private rows: every rule below holds in this table, which does not "
    "make it a rule of the domain. Check each against the data dictionary before declaring it "
    "in the metadata's 'rules'; tabsynth never applies this file by itself"
)


def suggest_rules(
    data: pd.DataFrame, metadata: Metadata, min_support: int = MIN_SUPPORT
) -> list[Rule]:
    """Candidate rules that hold in every row of ``data`` (see the module docstring)."""
    table = Table(data, metadata)
    specs = {n: s for n, s in metadata.columns.items() if s.kind in _LEARNED}
    out: list[Rule] = []
    out += _comparisons(table, specs, min_support)
    deps = _dependencies(table, specs, min_support)
    out += deps
    determined = {(r.determinant, r.dependent) for r in deps}
    out += _missingness(table, specs, min_support)
    out += _conditional_values(table, specs, determined, min_support)
    return out


_LEARNED = ("numerical", "categorical", "boolean", "datetime")
_MISSING = "\0missing"


def _comparisons(table: Table, specs: dict, min_support: int) -> list[Rule]:
    out: list[Rule] = []
    ordered = [n for n, s in specs.items() if s.kind in ("numerical", "datetime")]
    for a, b in itertools.combinations(ordered, 2):
        if specs[a].kind != specs[b].kind:
            continue
        x, y = table[a], table[b]
        both = ~x.missing & ~y.missing
        if both.sum() < min_support:
            continue
        dx, dy = x.values[both], y.values[both]
        for left, right, lv, rv in ((a, b, dx, dy), (b, a, dy, dx)):
            if np.all(lv > rv):
                out.append(Compare(left, ">", right=right))
            elif np.all(lv >= rv) and not np.all(lv == rv):
                out.append(Compare(left, ">=", right=right))
    return out


def _levels(table: Table, name: str, spec: Any) -> pd.Series | None:
    """Per-row hashable keys of a column with few distinct values (None for missing)."""
    if spec.kind == "datetime" or (spec.kind == "numerical" and spec.dtype != "int"):
        return None
    col = table[name]
    keys = pd.Series(col.values.astype(object))
    keys[col.missing] = None
    return keys if keys.nunique(dropna=False) <= MAX_LEVELS else None


def _dependencies(table: Table, specs: dict, min_support: int) -> list[Dependency]:
    out = []
    keys = {n: _levels(table, n, s) for n, s in specs.items()}
    keys = {n: k for n, k in keys.items() if k is not None and k.nunique(dropna=False) > 1}
    for a, b in itertools.permutations(keys, 2):
        ka, kb = keys[a], keys[b]
        pairs = pd.DataFrame({"a": ka, "b": kb}).astype(object).fillna(_MISSING)
        per_a = pairs.groupby("a", sort=False)["b"].nunique()
        if (per_a > 1).any() or len(per_a) * 2 > table.n or table.n < min_support:
            continue
        if len(per_a) == pairs["b"].nunique() and a > b:
            continue  # one-to-one: suggest one direction only
        first = pairs.drop_duplicates("a")
        mapping = None
        if len(first) <= MAX_MAPPING and _MISSING not in set(first["a"]):
            mapping = [
                (_json(x), None if y == _MISSING else _json(y))
                for x, y in zip(first["a"], first["b"], strict=True)
            ]
            mapping.sort(key=lambda p: str(p[0]))
        out.append(Dependency(a, b, mapping=mapping))
    return out


def _missingness(table: Table, specs: dict, min_support: int) -> list[Rule]:
    out: list[Rule] = []
    nullable = [n for n in specs if table[n].missing.any() and not table[n].missing.all()]
    for a, spec in specs.items():
        if spec.kind not in ("categorical", "boolean"):
            continue
        keys = _levels(table, a, spec)
        if keys is None:
            continue
        for value, rows in keys.dropna().groupby(keys.dropna()).groups.items():
            if len(rows) < min_support:
                continue
            idx = np.asarray(rows)
            for b in nullable:
                if b != a and table[b].missing[idx].all():
                    out.append(
                        Conditional((Condition(a, "==", _json(value)),), (Condition(b, "missing"),))
                    )
    return out


def _conditional_values(table: Table, specs: dict, determined: set, min_support: int) -> list[Rule]:
    found: list[tuple[int, Rule]] = []
    cats = {
        n: _levels(table, n, s) for n, s in specs.items() if s.kind in ("categorical", "boolean")
    }
    cats = {n: k for n, k in cats.items() if k is not None and k.nunique() > 1}
    for a, b in itertools.permutations(cats, 2):
        if (a, b) in determined:
            continue
        # a missing B breaks "then B == b": it counts as a value of its own
        pairs = pd.DataFrame({"a": cats[a], "b": cats[b].astype(object).fillna(_MISSING)})
        pairs = pairs[pairs["a"].notna()]
        if pairs.empty:
            continue
        counts = pairs.groupby("a")["b"].agg(["nunique", "size", "first"])
        for value, row in counts.iterrows():
            if row["nunique"] == 1 and row["size"] >= min_support and row["first"] != _MISSING:
                rule = Conditional(
                    (Condition(a, "==", _json(value)),), (Condition(b, "==", _json(row["first"])),)
                )
                found.append((int(row["size"]), rule))
    found.sort(key=lambda p: (-p[0], p[1].label))
    return [r for _, r in found[:MAX_CONDITIONALS]]


def _json(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def draft(data: pd.DataFrame, metadata: Metadata, min_support: int = MIN_SUPPORT) -> dict:
    """The JSON draft ``suggest-rules`` writes: the warning, then the candidate rules (each
    checked against the metadata's columns)."""
    from tabsynth.metadata import Metadata
    from tabsynth.rules.model import rules_to_json

    clean = metadata.validate(data, on_out_of_bounds="error")
    rules = suggest_rules(clean, metadata, min_support)
    checked = Metadata(metadata.columns, source=metadata.source, rules=tuple(rules))
    return {"draft": True, "warning": WARNING, "rules": rules_to_json(checked.rules)}
