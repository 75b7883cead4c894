"""A second look at the long tails of categorical columns, paid from a pool of their budget.

:func:`~tabsynth.privacy.dp_categories` keeps a value only when its noisy count clears a
threshold of about 6.8 σ (the additive δ of values held by one row). With the domain budget
split equally between columns, a column of hundreds of codes loses its rare ones to "other"
while a column of five values loses none: at ε = 1 without metadata, diabetes130's ICD-9 code
columns kept about 65 % of their rows and Adult's ``native_country`` 93 %. Which columns have
long tails is a function of the rows, so the split cannot be fixed in advance; it is released:

1. Every estimated categorical column (when they form two or more release units) pools
   :data:`POOL_SHARE` of its share of ρ and takes its first look
   (:func:`~tabsynth.privacy.mechanisms.dp_category_look`) with the rest.
2. Each column's *tail*, its non-missing rows outside the values the first look released, is
   tallied with Gaussian noise (:data:`TALLY_SHARE` of the pool, split equally): the rows at
   stake, each unreleased value's rows beyond the few that no look could release
   (:func:`rows_at_stake`, :func:`tail_floor`).
3. Columns whose noisy tail stands out of the tally's noise (above :data:`MIN_TAIL_SIGMAS` σ)
   count their tail rows again, with the first look's unreleased noisy counts combined by
   inverse variance: as good as one look with both budgets. Each takes back what it put in the
   pool, and the contributions of the columns without a tail are shared among them in
   proportion to their noisy tails, the rows at stake. The threshold falls, so rarer values
   come through, up to the column's :data:`~tabsynth.synthesizers.dp_domain.MAX_CATEGORIES` in
   all. Where at least three in four values the first look released are integer codes and the
   tail stands out, the second look counts the codes around them
   (:mod:`~tabsynth.synthesizers.code_ranges`), a list fixed by that release, on that list
   (``listed`` in :func:`~tabsynth.privacy.mechanisms.dp_category_look`): no δ, so a threshold
   of about 3.1 σ (3.3 σ on lists of 1,000 codes), while values off the list are counted as
   before. (A column whose tail does not stand out, a flag of 0 and 1, would mostly list codes
   no row holds, each of which passes with that look's small chance.) The noisy counts of the
   listed codes it does not keep are released too: they say which codes the column's "other"
   decodes to (:func:`~tabsynth.synthesizers.code_ranges.rare_codes`). Where three in four
   released text values are instead names or codes of countries or US states, the rest of
   that vocabulary is the list (:mod:`~tabsynth.synthesizers.vocabularies`,
   :func:`implied_list`).

When no tail stands out, every column takes its own share back: the pool is spent whatever
the tallies say. On small tables the domain's default budget adds an *extra* for long tails
(:func:`~tabsynth.synthesizers.dp_domain.default_budget`, sized by a noisy row count): each
column whose tail stands out takes it in its second look, and the others leave it to the
model, so the budget left for the model follows the tallies (how many tails stood out), a
choice read from released counts (the same privacy filter as below). A column of
identifiers held as text (which a DP fit needs declared, ``kind: id``) would have the longest
tail of all and nothing to give back; so would dates or timestamps held as text. Their values
hold a row or a few each, below what any look can release, so their tallies leave those rows
out (:func:`tail_floor`) and they leave the pool to the columns that can use it.

A value group of k columns (:mod:`~tabsynth.synthesizers.value_groups`) is one release unit:
it pools its k columns' shares and takes k back, its tail is the rows with a value outside its
release in any of its columns, its tally counts each value's rows over its columns (one row
moves it by up to k), and its looks count each row's distinct values (``per_row=k``).

Privacy. Given the released values K of a column, the rows of D and of D + r whose values lie
outside K differ by at most r: the tally (sensitivity 1: r adds one row to at most one value's
count, and its excess over the public floor by at most 1) and the second look are mechanisms on
neighbouring inputs (for a unit of k columns, r moves the tally by at most k and adds at most k
distinct values to the second look's counts), and which columns get a second look, and with
what ρ, is read from earlier releases only. The pool and the extra bound their total ρ whatever
those releases are, and the model spends what the ledger has left after them, so adaptive zCDP
composition holds (a privacy filter: Feldman & Zrnic 2021, "Individual Privacy Accounting via a
Rényi Filter"; Whitehouse et al. 2023, "Fully-Adaptive Composition in Differential Privacy"). A
value off any list held by one row comes through the first or the second look with probability
at most δ₁ + δ₂, the column's two halves of its additive δ (the combined look's threshold
bounds its own chance by δ₂ whatever the first look drew); the at most k values one row alone
adds to a unit of k columns each pass at δ/k of that. Listed codes (a list read from the first
look's release, public by then) get fresh noise of the same σ: a row's value is on the list or
off it, so the look stays one Gaussian histogram of one cost, and its ρ covers every listed
code, those held by one row included (they pass their threshold with a chance of up to about 1
in 1,000 plus what the row adds, bounded by ρ, not δ).

Why pool rather than give every column the whole share: when every estimated categorical
column has a long tail (diabetes130's data card leaves only ``medical_specialty`` and the
three ICD-9 code columns undeclared), the looks redistribute nothing, and the tallies and the
split of δ between two looks cost a few percent of the threshold (1 to 2 points of k-marginal
there); when the tails are a few columns among many (diabetes130 or Adult without metadata),
the pool multiplies their budget (diabetes130 +14 to +15 at ε = 1,
``benchmarks/results/dp_tails/README.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from tabsynth.privacy import (
    NoiseSource,
    PrivacyLedger,
    gaussian_counts,
    in_release_order,
    sigma_for_rho,
)
from tabsynth.privacy.mechanisms import CategoryLook, dp_category_look
from tabsynth.synthesizers import code_ranges, vocabularies
from tabsynth.synthesizers.code_ranges import implied_codes, rare_codes
from tabsynth.synthesizers.value_groups import CategoryUnit
from tabsynth.synthesizers.vocabularies import implied_vocabulary

#: Fraction of each estimated categorical column's share of ρ pooled for second looks.
POOL_SHARE = 0.5
#: Fraction of the pool spent counting the tails that decide who gets the rest.
TALLY_SHARE = 0.1
#: A column gets a second look when its noisy tail exceeds this many σ of the tally's noise.
MIN_TAIL_SIGMAS = 2.0
#: The tallies leave out this many σ of the best combined look's noise of each value's rows
#: (:func:`tail_floor`).
TAIL_FLOOR_SIGMAS = 1.5
#: How a second look's ledger entry names itself.
SECOND_LOOK = "second look at its tail"


@dataclass(frozen=True)
class CategoryBudget:
    """How an estimated categorical column's share of ρ and of δ divides between its looks."""

    first_rho: float
    first_delta: float
    #: ρ pooled by all the categorical columns, for the tallies and the second looks.
    pool_rho: float
    second_delta: float
    #: ρ beyond the pool, per column, for the second look of each unit whose tail stands out;
    #: not spent on the others.
    extra_rho: float = 0.0

    @classmethod
    def split(
        cls, share: float, delta: float, columns: int, units: int, extra: float = 0.0
    ) -> CategoryBudget:
        """Budgets for ``columns`` categorical columns, each with ``share`` of ρ and ``delta``,
        released as ``units`` (a column, or the columns of a value group), and ``extra`` ρ
        more per column for those whose tails stand out.

        A single unit has no one to share a pool with: it takes one look with all of it. It
        has no tally to tell whether its tail is long either, so it takes no extra."""
        if units < 2:
            return cls(first_rho=share, first_delta=delta, pool_rho=0.0, second_delta=0.0)
        return cls(
            first_rho=(1 - POOL_SHARE) * share,
            first_delta=delta / 2,
            pool_rho=POOL_SHARE * share * columns,
            second_delta=delta / 2,
            extra_rho=extra,
        )


def second_looks(
    held: dict[CategoryUnit, pd.Series],
    first: dict[CategoryUnit, CategoryLook],
    budget: CategoryBudget,
    *,
    ledger: PrivacyLedger,
    noise: NoiseSource,
    max_categories: int,
    phase: str,
) -> tuple[dict[CategoryUnit, list[Any]], dict[CategoryUnit, dict[Any, float]]]:
    """Each unit's released values (``first``: the first look's, in metadata order, and what
    it left unreleased), with those its second look adds, in release order; and for each unit
    whose second look counted a list, the odds with which its "other" decodes to the listed
    values it did not keep (:func:`~tabsynth.synthesizers.code_ranges.rare_codes` of their
    noisy counts, which the look releases). ``held`` gives each unit's values row by row
    (:meth:`.CategoryUnit.holdings`). Spends exactly
    ``budget.pool_rho`` unless every unit is already at its most categories, and
    ``budget.extra_rho`` per column of each unit whose tail stands out.

    A value group of k columns (:mod:`~tabsynth.synthesizers.value_groups`) put k columns'
    shares in the pool and takes k back; its tally counts the rows at stake of the values
    outside its release over its columns (sensitivity k), and its second look counts their values
    with ``per_row=k``, ``max_categories`` times k in all.

    Each unit whose tail stands out also takes ``budget.extra_rho`` per column; the others
    leave it unspent."""
    out = {unit: look.kept for unit, look in first.items()}
    rare: dict[CategoryUnit, dict[Any, float]] = {}
    if not budget.pool_rho:
        return out, rare
    columns = _columns_of(list(first))
    tally_each = TALLY_SHARE * budget.pool_rho / columns
    own = (1 - TALLY_SHARE) * budget.pool_rho / columns  # per column
    rests: dict[CategoryUnit, pd.Series] = {}
    sizes: dict[CategoryUnit, float] = {}
    sigmas: dict[CategoryUnit, float] = {}
    # a list fixed by the first release (empty if none), and how "other" decodes onto it
    implied = {unit: implied_list(look.kept) for unit, look in first.items()}
    for unit, look in first.items():
        rest = held[unit][~held[unit].isin(look.kept)]
        floor = tail_floor(budget, unit.width, listed=bool(implied[unit].values))
        sigmas[unit] = sigma_for_rho(tally_each * unit.width, unit.width)
        (sizes[unit],) = gaussian_counts(
            [rows_at_stake(rest, floor)],
            sigmas[unit],
            sensitivity=unit.width,
            ledger=ledger,
            purpose=f"rows outside the released categories of {unit.label}, beyond the "
            f"first {floor} of each value",
            phase=phase,
            noise=noise,
        )
        if len(look.kept) < max_categories * unit.width:  # room for more
            rests[unit] = rest
    long = [unit for unit in rests if sizes[unit] > MIN_TAIL_SIGMAS * sigmas[unit]]
    takers = long or list(rests)
    if not takers:
        return out, rare
    spare = own * (columns - _columns_of(takers))  # put in by the units that take nothing
    tails = sum(sizes[unit] for unit in long)
    for unit in takers:
        values, unreleased = first[unit].kept, first[unit].unreleased
        share = spare * sizes[unit] / tails if long else spare * unit.width / _columns_of(takers)
        share += budget.extra_rho * unit.width if unit in long else 0.0
        # rows to find, and codes around the released ones: count those on a list
        codes, shift = implied[unit] if unit in long else NO_LIST
        more, _, left = dp_category_look(
            rests[unit],
            own * unit.width + share,
            budget.second_delta * unit.width,
            earlier=unreleased,
            listed=codes,
            max_categories=max_categories * unit.width - len(values),
            per_row=unit.width,
            ledger=ledger,
            purpose=f"rarer categories of {unit.label} ({SECOND_LOOK})",
            phase=phase,
            noise=noise,
        )
        out[unit] = in_release_order(values + more)
        if codes:
            rare[unit] = rare_codes(left, shift)
    return out, rare


class ImpliedList(NamedTuple):
    """A public list a first release implies, and the shift (in σ) with which "other" decodes
    onto its values (:func:`~tabsynth.synthesizers.code_ranges.rare_codes`)."""

    values: list[str]
    rare_shift: float


#: What a release that implies no list gives.
NO_LIST = ImpliedList([], 0.0)


def implied_list(released: Sequence[Any]) -> ImpliedList:
    """The public list a release implies: the integer codes around released codes
    (:func:`~tabsynth.synthesizers.code_ranges.implied_codes`), or else the rest of a
    vocabulary (:func:`~tabsynth.synthesizers.vocabularies.implied_vocabulary`), each with its
    own shift; :data:`NO_LIST` if none."""
    codes = implied_codes(released)
    if codes:
        return ImpliedList(codes, code_ranges.RARE_SHIFT)
    names = implied_vocabulary(released)
    return ImpliedList(names, vocabularies.RARE_SHIFT) if names else NO_LIST


def tail_floor(budget: CategoryBudget, width: int, listed: bool) -> int:
    """How many rows of each unreleased value of a unit of ``width`` columns its tally leaves
    out: :data:`TAIL_FLOOR_SIGMAS` times σ_c, the noise of the best combined look it could take
    (its first look with the whole pool's second-look part and its extra), at least 1. A value
    held by fewer rows passes a δ threshold (about 6.5 σ_c) with next to no chance, so its rows
    are not at stake. A unit whose first release implies a list (``listed``,
    :func:`implied_list`) counts from one row: a listed value needs only about 3.1 σ, which
    1.5 σ of rows pass now and then. Read from the budget and the first release alone:
    public."""
    if listed:
        return 1
    best = (1 - TALLY_SHARE) * budget.pool_rho / width + budget.extra_rho
    sigma = sigma_for_rho(budget.first_rho + best)
    return max(1, math.floor(TAIL_FLOOR_SIGMAS * sigma))


def rows_at_stake(rest: pd.Series, floor: int) -> int:
    """Σ over the values in ``rest`` (one entry per row and distinct value) of their rows
    beyond the first ``floor``: what a unit's tally counts.

    Adding a row adds 1 to at most one count per column of the unit, and a count's excess over
    the floor grows by at most that 1: sensitivity 1 for a column, k for a value group of k
    columns. A column of identifiers or timestamps held as text, whose values hold a row or
    a few each, has nothing at stake however many rows lie outside its release, so it does
    not draw the pool away from the columns whose rarer values a second look can find."""
    counts = rest.value_counts().to_numpy()
    return int(np.maximum(counts - floor, 0).sum())


def _columns_of(units: Sequence[CategoryUnit]) -> int:
    """How many columns ``units`` release categories for."""
    return sum(unit.width for unit in units)
