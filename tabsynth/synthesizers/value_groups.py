"""The units a DP category release counts: one column, or the columns of a value group.

Columns that hold codes of one system (a stay's primary, secondary and further diagnoses) share
their values, and each column alone sees a rare code too seldom to release it: at ε = 1
without metadata, diabetes130's three ICD-9 columns kept 50-64 codes each, those above a
threshold of about 250 rows, and 75-76 % of their rows. Counted once over the three columns (the
rows that hold a code in any of them), a code recurs enough to clear the same threshold:
132-140 codes, 85-90 % of each column's rows, and 14 to 16 points more 3-way score for MST and
AIM (``benchmarks/results/value_groups/``).

Which columns share values is schema (``value_group`` in the metadata, kept by
:meth:`~tabsynth.metadata.Metadata.schema_only`), declared by a person who knows the code
systems. A DP fit never groups columns itself: grouping them because their values overlap
would need a DP decision. (A draft, which reads the rows anyway, proposes groups that way,
and DP fits refuse its metadata until a person has checked it and declared it.)

Privacy. A unit of k columns gives each row's *distinct* values, so a row adds 1 to at most k
counts; :func:`~tabsynth.privacy.mechanisms.dp_category_look` with ``per_row=k`` scales the
noise and the threshold's δ for that. A unit spends its k columns' shares of ρ and δ together,
so the noise on each count is that of one column alone, while a code's count sums its rows over
the columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from tabsynth.metadata import Metadata


@dataclass(frozen=True)
class CategoryUnit:
    """Columns whose categories one release finds, and the name its ledger entries use."""

    columns: tuple[str, ...]
    group: str | None = None

    @property
    def width(self) -> int:
        """Most distinct values one row adds to the unit's counts."""
        return len(self.columns)

    @property
    def label(self) -> str:
        """How ledger purposes name the unit: ``column 'x'`` or ``value group 'g' (...)``."""
        if self.group is None:
            return f"column {self.columns[0]!r}"
        return f"value group {self.group!r} (columns {', '.join(map(repr, self.columns))})"

    def holdings(self, data: pd.DataFrame) -> pd.Series:
        """Each row's distinct non-missing values over the unit's columns, indexed by the
        row's position (repeated for a row with several values)."""
        # as objects, so that stacking columns of different dtypes converts no value
        frame = data[list(self.columns)].astype(object).reset_index(drop=True)
        if self.width == 1:  # one value a row at most: nothing to stack or drop
            return frame[self.columns[0]].dropna()
        stacked = frame.stack(future_stack=True).dropna()
        rows = stacked.index.get_level_values(0)
        values = stacked.to_numpy(dtype=object)
        repeated = pd.DataFrame({"row": rows, "value": values}).duplicated().to_numpy()
        return pd.Series(values[~repeated], index=rows[~repeated])


def category_units(metadata: Metadata, columns: Sequence[str]) -> list[CategoryUnit]:
    """``columns`` (categorical, in order) as release units: the members of one value group
    form one unit, placed where its first member is; the others are units of their own."""
    groups: dict[str, list[str]] = {}
    for name in columns:
        if (group := metadata[name].value_group) is not None:
            groups.setdefault(group, []).append(name)
    units: list[CategoryUnit] = []
    for name in columns:
        group = metadata[name].value_group
        if group is None:
            units.append(CategoryUnit((name,)))
        elif groups[group][0] == name:
            units.append(CategoryUnit(tuple(groups[group]), group))
    return units
