"""Second looks at the long tails of categorical columns (:mod:`tabsynth.synthesizers.dp_tails`).

The table: ten categorical columns of three values each (a few thousand rows per value, no
tail) and one column ``code`` with three such values and a tail of values held by 160 rows
each. With the domain budget ρ split over eleven columns, each first look runs at ρ/22 (σ₁ = 40
below). The pool (half of every share, ρ/2) pays ρ/20 of tallies (ρ/220 each, σ = sqrt(10)·σ₁ =
126) and 0.45ρ of second looks: each column that qualifies takes back its own 0.45ρ/11, and
``code``, alone with a tail, also what the others put in. Its second look runs at 0.45ρ (σ₂ =
12.7), combined with its first σ_c = 12.1. Thresholds at the δ each look gets: τ₁ ≈ 273 (6.8σ₁)
and τ_c ≈ 84. A tail value of 160 rows passes the first look with probability P(N(0,1) > 2.8) =
0.26 %, and the second with probability 1 − P(N(0,1) > 6.3), so missing any of 30 happens less
than once in 10⁸ fits. The tallies count the rows at stake, each unreleased value's rows beyond
a floor of 1.5 times the best combined look's σ (18 rows here): 30 × 142 = 4,260 for the tail,
which clears MIN_TAIL_SIGMAS·σ = 253 always; a column without a tail clears it with probability
2.3 %, and then looks again at nothing (it has no unreleased values); when none clears it, each
column looks again with its own contribution. The allocation tests below hold whichever columns
qualify.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.privacy import NoiseSource, PrivacyLedger
from tabsynth.synthesizers import dp_domain, dp_tails
from tabsynth.synthesizers.dp_domain import private_domain
from tabsynth.synthesizers.dp_tails import (
    MIN_TAIL_SIGMAS,
    POOL_SHARE,
    SECOND_LOOK,
    TALLY_SHARE,
    CategoryBudget,
    rows_at_stake,
    tail_floor,
)
from tabsynth.synthesizers.value_groups import CategoryUnit

RESERVED = 1e-10
SIGMA_1 = 40.0
HEAD = ("a", "b", "c")
TAIL = tuple(f"t{i:02d}" for i in range(30))
TAIL_ROWS = 160
SECOND = SECOND_LOOK


def plain_columns(rng: np.random.Generator, rows: int) -> dict[str, np.ndarray]:
    return {f"plain{i}": rng.choice(HEAD, rows).astype(object) for i in range(10)}


def tailed(rng: np.random.Generator, tail: tuple[str, ...], rows_each: int) -> np.ndarray:
    code = np.array([*np.repeat(tail, rows_each), *np.repeat(HEAD, 4000)], dtype=object)
    rng.shuffle(code)
    return code


def table(seed: int, tail: tuple[str, ...] = TAIL) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    code = tailed(rng, tail, TAIL_ROWS)
    return pd.DataFrame({"code": code, **plain_columns(rng, len(code))})


@pytest.fixture
def tallies(monkeypatch) -> dict[str, float]:
    """The tail sizes the fit releases, by column: what the allocation may read."""
    released: dict[str, float] = {}
    real = dp_tails.gaussian_counts

    def spy(counts, sigma, *, purpose, **kwargs):
        out = real(counts, sigma, purpose=purpose, **kwargs)
        released[purpose.split("'")[1]] = float(out[0])
        return out

    monkeypatch.setattr(dp_tails, "gaussian_counts", spy)
    return released


def fit_domain(frame: pd.DataFrame, seed: int, groups: dict[str, str] | None = None, **kwargs):
    """The domain of ``frame``'s categorical columns (``groups``: value groups by column)."""
    columns = len(frame.columns)
    rho = 2 * columns / (2 * SIGMA_1**2)  # first looks at ρ/(2·columns): σ₁
    ledger = PrivacyLedger(50.0, 1e-9, delta_reserved=RESERVED)
    groups = groups or {}
    metadata = Metadata(
        {name: ColumnSpec("categorical", value_group=groups.get(name)) for name in frame.columns}
    )
    encoder = private_domain(
        frame,
        metadata,
        ledger=ledger,
        rho=rho,
        delta=RESERVED,
        noise=NoiseSource.seeded(seed),
        **kwargs,
    )
    return encoder, ledger, rho


def second_looks(ledger: PrivacyLedger) -> dict[str, float]:
    return {e.purpose.split("'")[1]: e.rho for e in ledger.entries if SECOND in e.purpose}


def assert_allocated_from_tallies(
    ledger, tallies, rho: float, columns: int, extra_rho: float = 0.0
) -> None:
    """Second looks where the released tallies clear MIN_TAIL_SIGMAS·σ (or, when none does,
    everywhere), each at its own contribution to the pool plus, in proportion to the
    released tallies (or equally), what the others put in: the whole pool is spent, whatever
    the tallies say (each cost is the asked ρ, or up to 2^-32 below it after σ² is rounded
    up). Each long tail also takes ``extra_rho`` (per column); it is not spent on the
    others."""
    looks = second_looks(ledger)
    (sigma,) = {e.params["sigma"] for e in ledger.entries if "rows outside" in e.purpose}
    long = {name for name, size in tallies.items() if size > MIN_TAIL_SIGMAS * sigma}
    assert set(looks) == (long or set(tallies))
    own = (1 - TALLY_SHARE) * POOL_SHARE * rho / columns
    spare = own * (columns - len(looks))
    total = sum(tallies[name] for name in long)
    for name, cost in looks.items():
        more = spare * tallies[name] / total + extra_rho if long else spare / len(looks)
        assert cost == pytest.approx(own + more, rel=1e-9)
    spent = rho + extra_rho * len(long)
    assert sum(e.rho for e in ledger.entries) == pytest.approx(spent, rel=1e-9)
    assert sum(e.rho for e in ledger.entries) <= spent * (1 + 1e-12)
    assert sum(e.delta for e in ledger.entries) <= RESERVED * (1 + 1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_a_long_tail_gets_a_second_look_that_keeps_its_rarer_values(seed, tallies) -> None:
    encoder, ledger, rho = fit_domain(table(seed), seed)
    assert set(encoder.metadata["code"].categories) == set(HEAD + TAIL)
    for i in range(10):  # a second look at no unreleased value adds nothing
        assert set(encoder.metadata[f"plain{i}"].categories) == set(HEAD)
    assert "code" in second_looks(ledger)
    assert len(tallies) == 11
    assert_allocated_from_tallies(ledger, tallies, rho, 11)


def test_the_thresholds_the_module_docstring_reasons_with(tallies) -> None:
    _, ledger, _ = fit_domain(table(0), 0)
    (first,) = [e for e in ledger.entries if e.purpose == "categories of column 'code'"]
    (second,) = [e for e in ledger.entries if SECOND in e.purpose]
    assert math.sqrt(float(Fraction(first.params["variance"]))) == pytest.approx(SIGMA_1)
    assert first.params["threshold"] in range(270, 277)
    assert second.params["combined_sigma"] == pytest.approx(12.1, abs=0.05)
    assert 82 < second.params["threshold"] < 86
    (floor,) = {
        e.purpose.rsplit("first ", 1)[1] for e in ledger.entries if "rows outside" in e.purpose
    }
    assert floor == "18 of each value"
    assert 3500 < tallies["code"] < 5020  # 30 × (160 − 18) = 4,260 rows at stake ± 6σ


@pytest.mark.parametrize("seed", range(5))
def test_two_tails_share_the_spare_budget_in_proportion(seed, tallies) -> None:
    rng = np.random.default_rng(seed)
    frame = table(seed)
    frame["code2"] = tailed(rng, tuple(f"u{i:02d}" for i in range(15)), 2 * TAIL_ROWS)
    _, ledger, rho = fit_domain(frame, seed)
    assert {"code", "code2"} <= set(second_looks(ledger))
    assert_allocated_from_tallies(ledger, tallies, rho, 12)


@pytest.mark.parametrize("seed", range(5))
def test_without_a_tail_nothing_more_is_released(seed, tallies) -> None:
    frame = pd.DataFrame(plain_columns(np.random.default_rng(seed), 12_000))
    encoder, ledger, rho = fit_domain(frame, seed)
    assert all(set(encoder.metadata[n].categories) == set(HEAD) for n in frame.columns)
    assert len(tallies) == 10
    assert_allocated_from_tallies(ledger, tallies, rho, 10)


@pytest.mark.parametrize("seed", range(3))
def test_the_extra_goes_to_each_long_tail(seed, tallies) -> None:
    """The extra of a small table's default budget (``dp_domain.default_budget``): each of
    the two tailed columns takes it on top of its share of the pool."""
    rng = np.random.default_rng(seed)
    frame = table(seed)
    frame["code2"] = tailed(rng, tuple(f"u{i:02d}" for i in range(15)), 2 * TAIL_ROWS)
    rho = 2 * 12 / (2 * SIGMA_1**2)
    encoder, ledger, _ = fit_domain(frame, seed, extra_rho=rho / 12)
    assert {"code", "code2"} <= set(second_looks(ledger))
    assert_allocated_from_tallies(ledger, tallies, rho, 12, extra_rho=rho / 12)
    assert set(encoder.metadata["code"].categories) == set(HEAD + TAIL)


@pytest.mark.parametrize("seed", range(5))
def test_without_a_tail_the_extra_is_not_spent(seed, tallies) -> None:
    """A column without a tail leaves the extra unspent (the model then has it); a plain
    column's tally stands out by chance now and then and takes it, as the allocation check
    allows."""
    frame = pd.DataFrame(plain_columns(np.random.default_rng(seed), 12_000))
    rho = 2 * 10 / (2 * SIGMA_1**2)
    _, ledger, _ = fit_domain(frame, seed, extra_rho=rho / 10)
    assert_allocated_from_tallies(ledger, tallies, rho, 10, extra_rho=rho / 10)


def test_a_value_group_with_a_long_tail_takes_one_extra_per_column() -> None:
    """Two code columns declared one value group (``value_groups``) are one release unit with
    two columns' shares: when its tail stands out it takes two extras. The same fit without
    the extra, on the same noise, releases the same tallies, so each second look differs by
    exactly its unit's width times the extra."""
    frame = table(0)
    frame["code2"] = tailed(np.random.default_rng(1), TAIL, TAIL_ROWS)
    group = {"code": "codes", "code2": "codes"}

    def seconds(extra: float) -> dict[str, float]:
        _, ledger, _ = fit_domain(frame, 0, groups=group, extra_rho=extra)
        return {e.purpose: e.rho for e in ledger.entries if SECOND in e.purpose}

    extra = 2 / (2 * SIGMA_1**2)  # a column's share, ρ / columns
    with_extra, without = seconds(extra), seconds(0.0)
    assert set(with_extra) == set(without)
    (unit,) = [purpose for purpose in with_extra if "value group 'codes'" in purpose]
    for purpose, cost in with_extra.items():
        width = 2 if purpose == unit else 1
        assert cost - without[purpose] == pytest.approx(width * extra, rel=1e-6)


def test_a_single_categorical_column_takes_no_extra(tallies) -> None:
    """No tally tells a lone column's tail, so its one look takes its share and no extra."""
    rho = 2 / (2 * SIGMA_1**2)
    _, ledger, _ = fit_domain(table(0)[["code"]], 0, extra_rho=rho)
    (look,) = ledger.entries
    assert look.rho == pytest.approx(rho, rel=1e-9) and not tallies


def test_a_column_at_max_categories_gets_no_second_look(tallies) -> None:
    many = tuple(f"t{i:03d}" for i in range(100))
    encoder, ledger, _ = fit_domain(table(0, tail=many), 0, max_categories=3)
    assert tallies["code"] > 10_000  # a long tail, but no room for more values
    assert "code" not in second_looks(ledger)
    assert set(encoder.metadata["code"].categories) == set(HEAD)


def test_a_second_look_keeps_at_most_max_categories_in_all() -> None:
    many = tuple(f"t{i:03d}" for i in range(100))
    encoder, _, _ = fit_domain(table(0, tail=many), 0, max_categories=20)
    kept = encoder.metadata["code"].categories
    assert len(kept) == 20 and set(HEAD) <= set(kept)
    assert list(kept) == sorted(kept)  # one release order for both looks' values


def test_a_single_categorical_column_takes_one_look_with_its_whole_share(tallies) -> None:
    """With no other column to pool with, a second look could only give the column back what
    it put in, less the tally: one look at the whole share, as before pooling."""
    encoder, ledger, rho = fit_domain(table(0)[["code"]], 0)
    (look,) = ledger.entries
    assert look.purpose == "categories of column 'code'" and not tallies
    assert look.rho == pytest.approx(rho, rel=1e-9) and look.delta == RESERVED
    assert set(HEAD) <= set(encoder.metadata["code"].categories)


# -- what the tallies count ------------------------------------------------------------------


def test_rows_at_stake_are_each_values_rows_beyond_the_floor() -> None:
    rest = pd.Series(["x"] * 5 + ["y"] * 3 + ["z", "w"])
    assert rows_at_stake(rest, 2) == 3 + 1
    assert rows_at_stake(rest, 1) == 4 + 2  # values held by one row: nothing at stake
    assert rows_at_stake(rest.iloc[:0], 1) == 0


def test_rows_at_stake_move_by_at_most_one_per_added_value() -> None:
    """The tally's sensitivity: adding one row (one value) moves it by 0 or 1, whatever the
    counts and the floor."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        rest = pd.Series(rng.choice(list("abcdefgh"), int(rng.integers(0, 60))))
        floor = int(rng.integers(1, 12))
        added = pd.concat([rest, pd.Series([rng.choice(list("abcdefghz"))])])
        assert rows_at_stake(added, floor) - rows_at_stake(rest, floor) in (0, 1)


def test_a_groups_rows_at_stake_move_by_at_most_its_width() -> None:
    """A value group of k columns counts each value's rows over its columns (each row's
    distinct values, :meth:`.CategoryUnit.holdings`): adding or removing one row moves the
    tally by at most k, and by exactly k where the row brings k values over the floor."""
    unit = CategoryUnit(("d1", "d2", "d3"), "dx")
    rng = np.random.default_rng(1)
    moved = []
    values = ["a", "b", "c", "d", None]
    for _ in range(300):
        rows = int(rng.integers(1, 40))
        frame = pd.DataFrame({c: rng.choice(values, rows) for c in unit.columns})
        row = pd.DataFrame({c: [rng.choice(values)] for c in unit.columns})
        both = pd.concat([frame, row], ignore_index=True)
        floor = int(rng.integers(1, 6))
        at_stake = [rows_at_stake(unit.holdings(t), floor) for t in (frame, both)]
        change = at_stake[1] - at_stake[0]
        assert 0 <= change <= 3
        moved.append(change)
    assert max(moved) == 3


def test_the_floor_is_a_multiple_of_the_best_second_looks_sigma() -> None:
    """1.5 σ of one look with the first look's ρ and the whole pool's second-look part (per
    column of the unit) plus the extra, rounded down, at least one row; one row for a unit
    whose first release implies a list of codes."""
    budget = CategoryBudget(
        first_rho=1e-4, first_delta=1e-11, pool_rho=2e-3, second_delta=1e-11, extra_rho=5e-4
    )
    best = 1e-4 + (1 - TALLY_SHARE) * 2e-3 + 5e-4
    assert tail_floor(budget, 1, listed=False) == math.floor(1.5 / math.sqrt(2 * best)) == 21
    wide = 1e-4 + (1 - TALLY_SHARE) * 2e-3 / 3 + 5e-4  # a group of three shares the pool
    assert tail_floor(budget, 3, listed=False) == math.floor(1.5 / math.sqrt(2 * wide)) == 30
    assert tail_floor(budget, 1, listed=True) == 1  # a listed code passes at about 3.1 σ
    rich = CategoryBudget(first_rho=10.0, first_delta=1e-11, pool_rho=10.0, second_delta=1e-11)
    assert tail_floor(rich, 1, listed=False) == 1


@pytest.mark.parametrize("seed", range(5))
def test_an_identifier_column_leaves_the_pool_to_a_long_tail(seed, tallies) -> None:
    """A column of identifiers held as text (one row a value, none released) has the longest
    tail of all but nothing at stake: its tally stays in its noise, so ``code`` alone takes
    the pool's spare and keeps its tail; the identifiers take no second look."""
    frame = table(seed)
    frame["ref"] = [f"r{i:06d}" for i in range(len(frame))]
    with pytest.warns(UserWarning, match="no value of column 'ref'") as caught:
        encoder, ledger, rho = fit_domain(frame, seed)
    assert not any(ch.isdigit() for w in caught for ch in str(w.message))  # names no count
    assert encoder.metadata["ref"].categories == ()
    assert "ref" not in second_looks(ledger) and "code" in second_looks(ledger)
    (sigma,) = {e.params["sigma"] for e in ledger.entries if "rows outside" in e.purpose}
    assert abs(tallies["ref"]) < 6 * sigma  # nothing at stake: 0 ± 6σ of its tally
    assert set(encoder.metadata["code"].categories) == set(HEAD + TAIL)
    assert_allocated_from_tallies(ledger, tallies, rho, 12)


def test_a_list_is_read_off_the_first_release_alone(monkeypatch) -> None:
    """The list a second look counts on (integer codes, or the rest of a vocabulary) must be
    public by then: :func:`~tabsynth.synthesizers.dp_tails.implied_list` gets exactly each
    first look's released values, never the rows. A country column's tail of nine countries
    below the first threshold comes through on the list of the world's other countries."""
    countries = ("Canada", "Mexico", "United States")
    tail = ("Chile", "Cuba", "Egypt", "France", "Germany", "India", "Japan", "Peru", "Poland")
    rng = np.random.default_rng(0)
    code = np.array([*np.repeat(tail, TAIL_ROWS), *np.repeat(countries, 4000)], dtype=object)
    rng.shuffle(code)
    frame = pd.DataFrame({"code": code, **plain_columns(rng, len(code))})
    released, given = [], []
    first_look, implied = dp_domain.dp_category_look, dp_tails.implied_list

    def look(*args, **kwargs):
        out = first_look(*args, **kwargs)
        released.append(list(out.kept))
        return out

    def spy(kept):
        given.append(list(kept))
        return implied(kept)

    monkeypatch.setattr(dp_domain, "dp_category_look", look)
    monkeypatch.setattr(dp_tails, "implied_list", spy)
    encoder, ledger, _ = fit_domain(frame, 0)
    assert given == released and set(countries) == set(released[0])
    (listed,) = [e for e in ledger.entries if "listed" in e.params]
    assert "'code'" in listed.purpose
    assert listed.params["listed"] == len(implied(released[0])[0])
    assert set(tail) <= set(encoder.metadata["code"].categories)
