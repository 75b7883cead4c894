"""AIM's group options: ``sensitive_weight`` (marginals holding sensitive columns weigh more in
the workload) and ``group_share`` (the few-valued marginals of each sensitive column measured up
front)."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from tabsynth import AIMSynthesizer
from tabsynth.errors import ParameterError
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.privacy import NoiseSource, PrivacyLedger
from tabsynth.synthesizers.aim import measure_groups
from tabsynth.synthesizers.marginal import Measurement

from neighbours import (
    base_table,
    declared_schema,
    differences,
    fingerprint,
    fit_and_watch,
    neighbour,
)


def marked(metadata: Metadata, *names: str) -> Metadata:
    """``metadata`` with ``names`` declared sensitive (public schema, like the kinds)."""
    cols = {n: dataclasses.replace(s, sensitive=n in names) for n, s in metadata.columns.items()}
    return Metadata(cols, source=metadata.source, public=metadata.public)


def small_aim(**params) -> AIMSynthesizer:
    return AIMSynthesizer(
        epsilon=4.0, max_rounds=8, round_iters=20, max_iters=50, seed=0, noise_seed=3, **params
    )


def quiet_fit(synth: AIMSynthesizer, data: pd.DataFrame, metadata: Metadata) -> AIMSynthesizer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return synth.fit(data, metadata)


def test_workload_weights_follow_the_sensitive_columns():
    data = base_table(500)
    synth = quiet_fit(small_aim(sensitive_weight=4.0), data, marked(declared_schema(), "sex"))
    names = synth.encoder_.columns
    sex = names.index("sex")
    weights = synth._workload(names)
    assert {w for c, w in weights.items() if sex in c} == {4.0}
    assert {w for c, w in weights.items() if sex not in c} == {1.0}
    synth.workload = [("sex", "age"), ("age", "income")]
    synth.workload_weights = [2.0, 2.0]
    by_clique = synth._workload(names)
    assert sorted(by_clique.values()) == [2.0, 8.0]
    # the default changes nothing
    plain = quiet_fit(small_aim(), data, marked(declared_schema(), "sex"))
    assert set(plain._workload(names).values()) == {1.0}


@pytest.mark.parametrize("bad", [0, -1.0, "2", True])
def test_bad_sensitive_weight_is_refused(bad):
    with pytest.raises(ParameterError, match="sensitive_weight"):
        quiet_fit(small_aim(sensitive_weight=bad), base_table(300), declared_schema())


@pytest.mark.parametrize("extra", ["new category", "exact duplicate"])
def test_sensitive_weighting_is_neighbour_safe(tmp_path, extra):
    """D and D plus one row, same seeds: the weighted workload depends on the schema only, so
    the fits expose nothing structural that differs (see tests/neighbours.py)."""
    metadata = marked(declared_schema(), "sex", "smoker")
    data = base_table()

    def make() -> AIMSynthesizer:
        return small_aim(sensitive_weight=5.0, on_out_of_bounds="clip")

    left, shown_left = fit_and_watch(make, data, metadata)
    right, shown_right = fit_and_watch(make, neighbour(data, extra), metadata)
    found = differences(
        fingerprint(left, shown_left, tmp_path, rounds_follow_noise=True),
        fingerprint(right, shown_right, tmp_path, rounds_follow_noise=True),
    )
    assert not found, "\n".join(found)
    assert np.isclose(left.privacy.spent_epsilon, right.privacy.spent_epsilon)


# -- group_share: the cells of the sensitive columns' 2-way marginals that small groups fill --


def one_way(values: list[float], sigma: float, column: int) -> Measurement:
    return Measurement((column,), np.array(values, dtype=float), sigma)


def test_measure_groups_keeps_the_cells_the_smallest_group_fills():
    """Column 0 (sensitive): groups of 600 and 200 rows and a code whose noisy count is noise
    (5 < 3σ₀ = 6): the smallest group is the 200. Column 1: values with shares 0.5, 0.45, 0.05;
    column 2: one value. ρ = 1/2 over two partners: σ = sqrt(2 / (2 · 1/2)) = sqrt(2) before
    the partners without qualifying values are dropped. 200 · 0.05 = 10 ≥ σ, but 200 · 0.004
    does not: the rare value's cells are left out."""
    rng = np.random.default_rng(0)
    rows = 800
    codes = np.column_stack(
        [
            np.r_[np.zeros(600, int), np.ones(200, int)],
            rng.choice(4, rows, p=[0.5, 0.45, 0.046, 0.004]),
            np.zeros(rows, int),
        ]
    )
    shape = [3, 4, 1]
    noisy = [
        one_way([600, 200, 5], 2.0, 0),
        one_way([400, 360, 37, 3], 2.0, 1),
        one_way([800], 2.0, 2),
    ]
    ledger = PrivacyLedger(100.0, 1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seeded noise warns
        taken = measure_groups(
            codes,
            shape,
            [(0, 1), (0, 2)],
            noisy,
            2.0,
            0.5,
            ["s", "a", "b"],
            ledger,
            NoiseSource.seeded(1),
        )
    assert [m.clique for m in taken] == [(0, 1), (0, 2)]
    sigma = math.sqrt(2 / (2 * 0.5))
    measured = np.isfinite(taken[0].stddev).reshape(3, 4)
    assert (measured == [[True, True, True, False]] * 3).all()
    assert np.allclose(taken[0].stddev[np.isfinite(taken[0].stddev)], sigma)
    assert (taken[0].values.reshape(3, 4)[:, 3] == 0).all()
    # the released cells are the true counts plus noise of scale σ
    true = np.bincount(codes[:, 0] * 4 + codes[:, 1], minlength=12).reshape(3, 4)
    assert np.abs(taken[0].values.reshape(3, 4)[measured] - true[measured]).max() < 6 * sigma
    assert np.isfinite(taken[1].stddev).all()  # one value: every group fills it
    entries = [e for e in ledger.entries if e.phase == "groups"]
    assert sum(e.rho for e in entries) == pytest.approx(0.5, rel=1e-6)
    assert "9 of 12 cells" in entries[0].purpose


def test_measure_groups_drops_partners_without_cells_and_spends_on_the_rest():
    codes = np.zeros((400, 2), int)
    codes[:100, 0] = 1
    noisy = [one_way([300, 100], 1.0, 0), one_way([1] * 40, 1.0, 1)]  # 40 rare values
    shape = [2, 40]
    ledger = PrivacyLedger(100.0, 1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        taken = measure_groups(
            codes, shape, [(0, 1)], noisy, 1.0, 0.5, ["s", "a"], ledger, NoiseSource.seeded(1)
        )
    # 100 · 1/40 = 2.5 ≥ σ = 1: qualifies; with a noisier one-way of the group it would not
    assert len(taken) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        none = measure_groups(
            codes, shape, [(0, 1)], noisy, 1.0, 0.02, ["s", "a"], ledger, NoiseSource.seeded(1)
        )
    assert none == []  # σ = 5 > 2.5: nothing stands out, nothing is spent here
    assert len([e for e in ledger.entries if e.phase == "groups"]) == 1


def group_entries(synth: AIMSynthesizer) -> list:
    return [e for e in synth.privacy.entries if e.phase == "groups"]


def test_group_share_spends_its_share_of_aim_budget_before_the_rounds():
    data = base_table(1000)
    data["band"] = np.where(np.arange(len(data)) < 3, "rare", "common")
    band = ColumnSpec("categorical", categories=("common", "rare"))
    metadata = marked(declared_schema().with_columns(band=band), "sex", "smoker")
    synth = quiet_fit(small_aim(group_share=0.3), data, metadata)
    names = synth.encoder_.columns
    entries = group_entries(synth)
    # the group measurements follow the one-way ones, before AIM's first selection
    phases = [e.phase for e in synth.privacy.entries if e.phase != "domain"]
    assert phases[: len(names) + len(entries)] == ["measure"] * len(names) + ["groups"] * len(
        entries
    )
    aim_rho = sum(e.rho for e in synth.privacy.entries if e.phase != "domain")
    assert sum(e.rho for e in entries) == pytest.approx(0.3 * aim_rho, rel=1e-6)
    # (sex, smoker) once though both are sensitive; "rare" (3 rows) is never measured
    measured = [r.measurement for r in synth.released_[len(names) : len(names) + len(entries)]]
    cliques = [tuple(names[a] for a in m.clique) for m in measured]
    assert len(set(cliques)) == len(cliques) and ("sex", "smoker") in cliques
    for m in measured:
        if "band" in [names[a] for a in m.clique]:
            axis = [names[a] for a in m.clique].index("band")
            cells = np.isfinite(m.stddev).reshape(
                [synth.encoder_.sizes[names[a]] for a in m.clique]
            )
            rare = synth.encoder_.codecs["band"].encode(pd.Series(["rare"]))[0]
            assert not np.take(cells, rare, axis=axis).any()
    assert synth.privacy.spent_epsilon == pytest.approx(4.0, rel=1e-6)


def test_group_share_zero_is_plain_aim():
    data = base_table(500)
    metadata = marked(declared_schema(), "sex")
    plain = quiet_fit(small_aim(), data, metadata)
    zero = quiet_fit(small_aim(group_share=0.0), data, metadata)
    assert not group_entries(plain) and not group_entries(zero)
    assert [e.purpose for e in plain.privacy.entries] == [e.purpose for e in zero.privacy.entries]


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, "0.2", True, float("nan")])
def test_bad_group_share_is_refused(bad):
    with pytest.raises(ParameterError, match="group_share"):
        quiet_fit(small_aim(group_share=bad), base_table(300), marked(declared_schema(), "sex"))


def test_group_share_without_a_sensitive_column_is_refused():
    with pytest.raises(ParameterError, match=r"group_share = 0\.2 needs a column marked sensitive"):
        quiet_fit(small_aim(group_share=0.2), base_table(300), declared_schema())


def without_group_cells(print_: dict) -> dict:
    """A fingerprint with the ``groups`` ledger entries reduced to their kind: which partner
    values each one measures, and so how many entries share the budget and at what noise, is
    post-processing of the noisy one-way marginals (charged releases), and may change when one
    row tips a value across the threshold."""
    ledger = print_["ledger"]
    kept = [e for e in ledger if e["phase"] != "groups"]
    kinds = sorted({(e["mechanism"], e["phase"]) for e in ledger if e["phase"] == "groups"})
    return {**print_, "ledger": kept, "group entries": kinds}


@pytest.mark.parametrize("extra", ["new category", "exact duplicate"])
def test_group_share_is_neighbour_safe(tmp_path, extra):
    """D and D plus one row, same seeds: the pairs come from the schema, the cells from the
    noisy one-way marginals, the noise scale from ρ and the number of measured pairs; nothing
    else differs (see tests/neighbours.py)."""
    metadata = marked(declared_schema(), "sex")
    data = base_table()

    def make() -> AIMSynthesizer:
        return small_aim(group_share=0.25, on_out_of_bounds="clip")

    left, shown_left = fit_and_watch(make, data, metadata)
    right, shown_right = fit_and_watch(make, neighbour(data, extra), metadata)
    found = differences(
        without_group_cells(fingerprint(left, shown_left, tmp_path, rounds_follow_noise=True)),
        without_group_cells(fingerprint(right, shown_right, tmp_path, rounds_follow_noise=True)),
    )
    assert not found, "\n".join(found)
    assert group_entries(left) and group_entries(right), "the table must exercise group_share"
    aim_rho = [
        sum(e.rho for e in synth.privacy.entries if e.phase != "domain") for synth in (left, right)
    ]
    spent = [sum(e.rho for e in group_entries(synth)) for synth in (left, right)]
    assert spent == pytest.approx([0.25 * aim_rho[0], 0.25 * aim_rho[1]], rel=1e-6)
