"""Tests of tabsynth.privacy.ledger: composition, budget checks, reporting and persistence."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import pickle

import numpy as np
import pytest

from tabsynth.errors import BudgetError, ModelFileError, ParameterError
from tabsynth.privacy import (
    LedgerEntry,
    NoiseSource,
    PrivacyLedger,
    epsilon_from_rdp,
    epsilon_from_rho,
    gaussian_counts,
    rho_from_epsilon,
)


def gaussian_rdp(ledger: PrivacyLedger, sigma: float) -> tuple[float, ...]:
    """RDP curve α/(2σ²) of a Gaussian mechanism with sensitivity 1, on the ledger's orders."""
    return tuple(np.asarray(ledger.orders) / (2 * sigma**2))


def test_budget_is_derived_from_the_conversion_delta() -> None:
    ledger = PrivacyLedger(1.0, 1e-6, delta_reserved=2e-7)
    assert ledger.conversion_delta == pytest.approx(8e-7)
    assert ledger.rho_budget == rho_from_epsilon(1.0, 8e-7)
    assert ledger.spent_epsilon == 0.0 and ledger.spent_delta == 0.0
    assert ledger.remaining_rho() == ledger.rho_budget


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"epsilon": 0.0, "delta": 1e-6}, BudgetError),
        ({"epsilon": math.inf, "delta": 1e-6}, BudgetError),
        ({"epsilon": 1.0, "delta": 0.0}, BudgetError),
        ({"epsilon": 1.0, "delta": 1.0}, BudgetError),
        ({"epsilon": 1.0, "delta": 1e-6, "delta_reserved": 1e-6}, BudgetError),
        ({"epsilon": 1.0, "delta": 1e-6, "delta_reserved": -1e-9}, BudgetError),
        ({"epsilon": 1.0, "delta": 1e-6, "orders": [0.5, 2.0]}, ParameterError),
    ],
)
def test_impossible_targets_are_refused(kwargs: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        PrivacyLedger(**kwargs)


def test_k_zcdp_entries_compose_by_summing_rho() -> None:
    ledger = PrivacyLedger(2.0, 1e-6)
    rhos = [0.001, 0.02, 0.003, 0.0004, 0.01]
    for i, rho in enumerate(rhos):
        ledger.record(LedgerEntry("gaussian", f"measure marginal {i}", "measure", rho=rho))
    assert ledger.spent_rho == pytest.approx(sum(rhos), rel=1e-15)
    assert ledger.spent_epsilon == pytest.approx(epsilon_from_rho(sum(rhos), 1e-6), rel=1e-12)
    assert ledger.spent_delta == 1e-6
    assert ledger.remaining_rho() == pytest.approx(ledger.rho_budget - sum(rhos), rel=1e-12)


def test_rdp_entry_composes_with_zcdp_as_alpha_times_rho() -> None:
    # A Gaussian with σ recorded as an RDP curve plus a zCDP entry of ρ must cost exactly what
    # a single RDP curve α·(ρ + 1/(2σ²)) costs on the same grid.
    ledger = PrivacyLedger(3.0, 1e-6)
    sigma, rho = 4.0, 0.05
    ledger.record(LedgerEntry("dp_sgd", "train", "training", rdp=gaussian_rdp(ledger, sigma)))
    ledger.record(LedgerEntry("gaussian", "measure", "measure", rho=rho))
    orders = np.asarray(ledger.orders)
    expected = epsilon_from_rdp(orders, orders * (rho + 1 / (2 * sigma**2)), 1e-6)[0]
    assert ledger.spent_epsilon == pytest.approx(expected, rel=1e-12)
    assert ledger.spent_rho == rho


def test_additive_delta_is_paid_on_top_of_the_conversion_delta() -> None:
    ledger = PrivacyLedger(1.0, 1e-6, delta_reserved=3e-7)
    ledger.record(LedgerEntry("dp_categories", "categories of 'a'", rho=0.001, delta=1e-7))
    ledger.record(LedgerEntry("dp_categories", "categories of 'b'", rho=0.001, delta=2e-7))
    assert ledger.spent_delta == pytest.approx(7e-7 + 3e-7, rel=1e-12)
    assert ledger.spent_epsilon == pytest.approx(epsilon_from_rho(0.002, 7e-7), rel=1e-12)
    with pytest.raises(BudgetError, match="delta_reserved"):
        ledger.record(LedgerEntry("dp_categories", "categories of 'c'", rho=0.001, delta=1e-8))


def test_additive_delta_needs_a_reservation() -> None:
    ledger = PrivacyLedger(1.0, 1e-6)
    with pytest.raises(BudgetError, match="delta_reserved"):
        ledger.record(LedgerEntry("dp_categories", "categories of 'a'", rho=0.001, delta=1e-9))


def test_overspend_raises_and_leaves_the_ledger_unchanged() -> None:
    ledger = PrivacyLedger(1.0, 1e-6)
    ledger.record(LedgerEntry("gaussian", "first", rho=0.9 * ledger.rho_budget))
    before = ledger.to_dict()
    too_much = LedgerEntry("gaussian", "second", rho=0.2 * ledger.rho_budget)
    assert not ledger.fits(too_much)
    with pytest.raises(BudgetError, match="second"):
        ledger.record(too_much)
    assert ledger.to_dict() == before
    assert ledger.spent_epsilon <= 1.0


def test_budget_split_into_equal_parts_fits_despite_rounding() -> None:
    ledger = PrivacyLedger(1.0, 1e-6)
    parts = 7
    for i in range(parts):
        ledger.record(LedgerEntry("gaussian", f"part {i}", rho=ledger.rho_budget / parts))
    # The documented slack is 1e-9 relative, far above the rounding error of 7 additions.
    assert ledger.spent_epsilon == pytest.approx(1.0, rel=1e-9)
    assert not ledger.fits(LedgerEntry("gaussian", "one more", rho=1e-6))


def test_rdp_overspend_raises() -> None:
    ledger = PrivacyLedger(1.0, 1e-6)
    assert ledger.fits(LedgerEntry("dp_sgd", "train", rdp=gaussian_rdp(ledger, 10.0)))
    with pytest.raises(BudgetError, match="train"):
        ledger.record(LedgerEntry("dp_sgd", "train", rdp=gaussian_rdp(ledger, 0.5)))
    assert ledger.entries == ()


def test_remaining_rho_with_an_rdp_curve_is_exactly_what_still_fits() -> None:
    ledger = PrivacyLedger(2.0, 1e-6)
    ledger.record(LedgerEntry("dp_sgd", "train", rdp=gaussian_rdp(ledger, 6.0)))
    remaining = ledger.remaining_rho()
    assert 0 < remaining < ledger.rho_budget - 1 / (2 * 6.0**2)
    assert ledger.fits(LedgerEntry("gaussian", "rest", rho=remaining))
    assert not ledger.fits(LedgerEntry("gaussian", "rest", rho=remaining * 1.001))
    ledger.record(LedgerEntry("gaussian", "rest", rho=remaining))
    assert ledger.spent_epsilon == pytest.approx(2.0, rel=1e-9)


def test_rdp_curve_must_be_on_the_ledger_orders() -> None:
    ledger = PrivacyLedger(1.0, 1e-6)
    with pytest.raises(ParameterError, match="orders"):
        ledger.record(LedgerEntry("dp_sgd", "train", rdp=(0.1, 0.2, 0.3)))


def test_entries_are_frozen_and_validated() -> None:
    entry = LedgerEntry("gaussian", "measure", params={"sigma": np.float64(2.0), "shape": (2, 3)})
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.rho = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        entry.params["sigma"] = 3.0  # type: ignore[index]
    # params are stored in their JSON form, so a model file holds exactly what is in memory.
    assert dict(entry.params) == {"sigma": 2.0, "shape": [2, 3]}
    for bad in (
        {"rho": -1.0},
        {"rho": math.inf},
        {"delta": 1.0},
        {"rdp": (0.1, math.nan)},
        {"params": {"f": object()}},
        {"params": {"sigma": math.nan}},
        {"purpose": ""},
    ):
        with pytest.raises(ParameterError):
            LedgerEntry(**{"mechanism": "gaussian", "purpose": "p", **bad})


def test_entries_survive_pickle_and_deepcopy() -> None:
    entry = LedgerEntry("dp_sgd", "train", rdp=(0.1, math.inf), params={"steps": 10})
    assert pickle.loads(pickle.dumps(entry)) == entry
    assert copy.deepcopy(entry) == entry
    assert hash(copy.deepcopy(entry)) == hash(entry)


def filled_ledger() -> PrivacyLedger:
    ledger = PrivacyLedger(1.0, 1e-6, delta_reserved=1e-7)
    ledger.record(
        LedgerEntry("dp_bounds", "bounds of column 'income'", "domain", rho=0.001, params={})
    )
    ledger.record(
        LedgerEntry("dp_categories", "categories of column 'city'", "domain", rho=0.001, delta=5e-8)
    )
    for i in range(3):
        ledger.record(LedgerEntry("exponential", f"select marginal {i} of 20", "select", rho=1e-4))
    curve = list(gaussian_rdp(ledger, 40.0))
    curve[-1] = math.inf  # an order without a bound must survive the JSON round trip
    ledger.record(
        LedgerEntry(
            "dp_sgd",
            "train the generator",
            "training",
            rdp=tuple(curve),
            params={"noise_multiplier": 40.0, "steps": 100, "sample_rate": 0.01},
        )
    )
    return ledger


def test_to_dict_from_dict_round_trips_exactly_through_json() -> None:
    ledger = filled_ledger()
    text = json.dumps(ledger.to_dict(), allow_nan=False)  # strict JSON, no Infinity
    restored = PrivacyLedger.from_dict(json.loads(text))
    assert restored.to_dict() == ledger.to_dict()
    assert restored.entries == ledger.entries
    assert restored.spent_epsilon == ledger.spent_epsilon
    assert restored.spent_delta == ledger.spent_delta
    assert restored.rho_budget == ledger.rho_budget
    assert restored.orders == ledger.orders


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda d: d.update(format="something else"),
        lambda d: d.update(version=99),
        lambda d: d.pop("epsilon"),
        lambda d: d.update(epsilon=0.001),  # entries now overspend the target
        lambda d: d["entries"][0].update(rho=-1),
    ],
)
def test_from_dict_rejects_corrupt_data(corrupt) -> None:
    data = filled_ledger().to_dict()
    corrupt(data)
    with pytest.raises(ModelFileError):
        PrivacyLedger.from_dict(data)


def test_explain_mentions_purposes_totals_relation_and_conversion() -> None:
    ledger = filled_ledger()
    text = ledger.explain()
    for entry in ledger.entries:
        assert entry.purpose in text
    for phase in ("domain", "select", "training"):
        assert phase in text
    assert f"{ledger.spent_epsilon:.4g}" in text
    assert f"{ledger.spent_delta:.3g}" in text
    assert "%" in text
    assert "adding or removing one row" in text
    assert "Canonne, Kamath & Steinke" in text
    assert "WARNING" not in text
    assert not ledger.seeded_noise


def test_explain_warns_loudly_about_seeded_noise() -> None:
    ledger = PrivacyLedger(1.0, 1e-6)
    gaussian_counts(np.zeros(3), 10.0, ledger=ledger, purpose="secure", noise=NoiseSource())
    assert "WARNING" not in ledger.explain()
    gaussian_counts(np.zeros(3), 10.0, ledger=ledger, purpose="seeded", noise=NoiseSource.seeded(1))
    assert ledger.seeded_noise
    assert [e.seeded_noise for e in ledger.entries] == [False, True]
    text = ledger.explain()
    assert "WARNING" in text and "NOT differentially private" in text
    assert PrivacyLedger.from_dict(ledger.to_dict()).seeded_noise


def test_explain_of_an_empty_ledger() -> None:
    assert "Nothing has been measured" in PrivacyLedger(1.0, 1e-6).explain()
