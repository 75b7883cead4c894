"""Whole numbers held as floats, found under DP in a fit without metadata (``dp_whole``): the
look's counts, its noise, the decision, and what a fit does with it."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from test_dp_kinds import assert_kept_by_the_model_file, charged_looks

from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.privacy import NoiseSource, PrivacyLedger
from tabsynth.synthesizers import MSTSynthesizer
from tabsynth.synthesizers.autoregressive import AutoregressiveSynthesizer
from tabsynth.synthesizers.dp_domain import PRIVATE_DOMAIN_SHARE
from tabsynth.synthesizers.dp_whole import (
    LOOK_SHARE,
    MIN_SIGMAS,
    WHOLE_FRACTION,
    holds_whole_numbers,
    read_whole_numbers,
    whole_counts,
)


def table(rows: int = 6000) -> pd.DataFrame:
    """Scores and counts with missing values, as pandas holds them (float64), beside a
    measurement with decimals and an int column."""
    rng = np.random.default_rng(5)
    score = rng.normal(500, 40, rows).round()
    score[rng.random(rows) < 0.3] = np.nan
    visits = rng.poisson(3, rows).astype(float)
    visits[:50] = np.nan
    return pd.DataFrame(
        {
            "score": score,
            "visits": visits,
            "weight": rng.normal(70, 12, rows).round(1),
            "age": rng.integers(18, 90, rows),
        }
    )


def fit(data: pd.DataFrame, metadata=None, epsilon: float = 1.0, make=MSTSynthesizer):
    synth = make(epsilon=epsilon, noise_seed=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        synth.fit(data, metadata)
    return synth, [str(w.message) for w in caught]


# -- the counts and the decision ------------------------------------------------------------


def test_whole_and_fractional_values_are_counted_apart_and_missing_values_not_at_all() -> None:
    values = pd.Series([1.0, -3.0, 0.0, 2.5, np.nan, np.inf, -np.inf, 1e300, -0.25, 7.0, -0.0])
    # 1, -3, 0, 7, -0 | 2.5, ±inf, 1e300 (beyond what an int column holds), -0.25
    assert whole_counts(values).tolist() == [5, 5]
    nullable = pd.Series([2.0**53, -(2.0**53) - 2, pd.NA, 0.5], dtype="Float64")
    assert whole_counts(nullable).tolist() == [1, 2]


def test_one_row_more_moves_one_cell_by_one() -> None:
    """The look's L2 sensitivity is 1: a row is in one cell, or in none when missing."""
    base = pd.Series([1.0, 2.0, np.nan, 3.5])
    for extra in (4.0, 4.5, np.nan, np.inf):
        moved = whole_counts(pd.concat([base, pd.Series([extra])])) - whole_counts(base)
        assert np.abs(moved).sum() <= 1 and set(moved) <= {0.0, 1.0}


def test_the_fraction_and_the_noise_floor_both_bind() -> None:
    sigma = 10.0
    floor = MIN_SIGMAS * sigma
    assert holds_whole_numbers(np.array([floor, 0.0]), sigma)
    assert not holds_whole_numbers(np.array([floor - 1, 0.0]), sigma)
    whole = 10_000.0
    most = whole * (1 - WHOLE_FRACTION) / WHOLE_FRACTION
    assert holds_whole_numbers(np.array([whole, most - 1]), sigma)
    assert not holds_whole_numbers(np.array([whole, most + 1]), sigma)
    # a negative noisy count of fractions does not raise the whole share beyond 1
    assert holds_whole_numbers(np.array([whole, -500.0]), sigma)


def test_the_look_is_one_gaussian_histogram_at_its_share(monkeypatch) -> None:
    """The look's release is ``gaussian_counts`` (whose noise is tested against theory in
    ``test_mechanisms``) on the two counts, at L2 sensitivity 1 and σ² = 1/(2ρ) for ρ its
    share of the column's budget; the ledger records exactly that."""
    from tabsynth.synthesizers import dp_kinds

    seen = []
    original = dp_kinds.gaussian_counts

    def spy(counts, sigma, **how):
        seen.append((np.asarray(counts).tolist(), sigma, how.get("sensitivity", 1)))
        return original(counts, sigma, **how)

    monkeypatch.setattr(dp_kinds, "gaussian_counts", spy)
    data = pd.DataFrame({"x": [1.0, 2.0, 2.5, np.nan] * 100})
    metadata = Metadata({"x": ColumnSpec("numerical", dtype="float")})
    column_rho = 1 / (2 * 20.0**2) / LOOK_SHARE
    ledger = PrivacyLedger(10.0, 1e-9)
    read_whole_numbers(
        data, metadata, ["x"], column_rho=column_rho, ledger=ledger, noise=NoiseSource.seeded(7)
    )
    assert seen == [([200.0, 100.0], pytest.approx(20.0), 1)]
    (entry,) = ledger.entries
    assert entry.rho == pytest.approx(LOOK_SHARE * column_rho, rel=1e-6)
    assert entry.params["sigma"] == pytest.approx(20.0, rel=1e-6)
    assert entry.phase == "domain"


def test_a_column_read_as_whole_is_rounded_before_the_domain_reads_it() -> None:
    values = np.arange(4000, dtype=float)
    values[:40] += 0.5  # 1 % halves: whole enough at this budget, rounded half to even
    data = pd.DataFrame({"x": values})
    metadata = Metadata({"x": ColumnSpec("numerical", dtype="float")})
    with pytest.warns(UserWarning, match="'x' hold floats"):
        read, rounded, _ = read_whole_numbers(
            data,
            metadata,
            ["x"],
            column_rho=1.0,
            ledger=PrivacyLedger(10.0, 1e-9),
            noise=NoiseSource.seeded(1),
        )
    assert read["x"].dtype == "int"
    assert rounded["x"].tolist()[:4] == [0.0, 2.0, 2.0, 4.0]  # 0.5, 1.5, 2.5, 3.5
    assert data["x"][0] == 0.5  # the caller's frame is not changed


# -- in a fit -------------------------------------------------------------------------------


def test_whole_floats_are_modelled_as_integers_and_sampled_as_whole_numbers() -> None:
    synth, shown = fit(table())
    assert synth.metadata_["score"] == ColumnSpec("numerical", dtype="int", precision=0)
    assert synth.metadata_["visits"].dtype == "int"
    assert synth.metadata_["weight"].dtype == "float"
    out = synth.sample(3000, seed=0)
    for name in ("score", "visits"):
        assert out[name].dtype == "Int64"
        present = out[name].dropna().to_numpy(dtype=float)
        assert len(present) > 1000
        assert np.array_equal(present, np.round(present))
    assert out["score"].isna().mean() == pytest.approx(0.3, abs=0.05)
    # the measurement keeps its decimals
    weights = out["weight"].dropna()
    assert out["weight"].dtype == "float64" and (weights != weights.round()).mean() > 0.5
    (said,) = [m for m in shown if "found to be whole" in m]
    assert "'score', 'visits'" in said and "'weight'" not in said


def test_each_float_column_pays_its_look_from_the_domain_budget() -> None:
    synth, _ = fit(table())
    ledger = synth.privacy
    names = ["score", "visits", "weight"]
    looks = charged_looks(ledger, "whole and fractional", names, LOOK_SHARE, 4)
    # the domain's columns share what the looks left (a column whose range turns out to hold
    # few enough whole numbers for a bin each spends no edges)
    spent = sum(e.rho for e in ledger.entries if e.phase == "domain")
    assert spent <= PRIVATE_DOMAIN_SHARE * ledger.rho_budget * (1 + 1e-9)
    left = PRIVATE_DOMAIN_SHARE * ledger.rho_budget - sum(e.rho for e in looks)
    weight = [e for e in ledger.entries if e.phase == "domain" and "'weight'" in e.purpose]
    assert sum(e.rho for e in weight[1:]) == pytest.approx(left / 4, rel=1e-6)


def test_a_column_with_many_fractions_stays_a_float() -> None:
    data = table()
    data.loc[: len(data) // 10, "score"] += 0.5  # a tenth of the rows hold halves
    synth, _ = fit(data)
    assert synth.metadata_["score"].dtype == "float"
    assert synth.metadata_["visits"].dtype == "int"


def test_a_table_too_small_for_the_look_keeps_its_floats() -> None:
    """500 rows at ε = 1: the look's σ (67) puts the floor (670) far above the 350 scores."""
    synth, shown = fit(table(500))
    assert synth.metadata_["score"].dtype == "float"
    assert not any("found to be whole" in m and "'score'" in m for m in shown)


def test_declared_kinds_take_no_look() -> None:
    metadata = Metadata(
        {
            "score": ColumnSpec("numerical", dtype="float"),
            "visits": ColumnSpec("numerical", dtype="float"),
            "weight": ColumnSpec("numerical", dtype="float"),
            "age": ColumnSpec("numerical", dtype="int"),
        }
    )
    synth, shown = fit(table(), metadata)
    assert synth.metadata_["score"].dtype == "float"
    assert not any(e.purpose.startswith("whole and") for e in synth.privacy.entries)
    assert not any("found to be whole" in m for m in shown)


def test_both_looks_come_out_of_the_domain_share() -> None:
    """A frame with dates written as text and whole floats: each kind of look is charged
    once per column, and the domain with its looks spends no more than its share."""
    data = table().assign(
        day=pd.Series(pd.date_range("2019-01-01", periods=6000, freq="h").strftime("%Y-%m-%d"))
    )
    synth, _ = fit(data)
    ledger = synth.privacy
    assert synth.metadata_["day"].kind == "datetime" and synth.metadata_["score"].dtype == "int"
    looks = [e.purpose.split(" of column")[0] for e in ledger.entries if "whether" in e.purpose]
    assert looks.count("date layouts and years") == 1
    assert looks.count("whole and fractional values") == 3
    spent = sum(e.rho for e in ledger.entries if e.phase == "domain")
    assert spent <= PRIVATE_DOMAIN_SHARE * ledger.rho_budget * (1 + 1e-9)
    assert sum(e.rho for e in ledger.entries) <= ledger.rho_budget * (1 + 1e-9)


def test_dpsgd_reads_whole_numbers_too(tmp_path) -> None:
    def make(epsilon: float, noise_seed: int) -> AutoregressiveSynthesizer:
        return AutoregressiveSynthesizer(
            epsilon=epsilon, noise_seed=noise_seed, epochs=2, width=8, progress=False
        )

    synth, _ = fit(table(), epsilon=3.0, make=make)
    assert_kept_by_the_model_file(synth, tmp_path, "score", lambda s: s.dtype == "int")
