"""AIM's group options: ``sensitive_weight`` (marginals holding sensitive columns weigh more in
the workload) and ``group_share`` (coarse marginals of a sensitive column chosen for the
smallest groups, :mod:`tabsynth.synthesizers.aim_groups`)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from tabsynth import AIMSynthesizer
from tabsynth.errors import ParameterError
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.synthesizers import aim
from tabsynth.synthesizers.aim_groups import GROUP_ROUNDS, coarse_cells
from tabsynth.synthesizers.marginal import Measurement, Released, estimate

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


def assert_neighbours_alike(make, data, extra, metadata, folder):
    """Fit D and D plus the ``extra`` row with the same seeds; their AIM fingerprints must
    agree (tests/neighbours.py). Returns both fits."""
    left, shown_left = fit_and_watch(make, data, metadata)
    right, shown_right = fit_and_watch(make, neighbour(data, extra), metadata)
    found = differences(
        fingerprint(left, shown_left, folder, rounds_follow_noise=True),
        fingerprint(right, shown_right, folder, rounds_follow_noise=True),
    )
    assert not found, "\n".join(found)
    return left, right


@pytest.mark.parametrize("extra", ["new category", "exact duplicate"])
def test_sensitive_weighting_is_neighbour_safe(tmp_path, extra):
    """D and D plus one row, same seeds: the weighted workload depends on the schema only, so
    the fits expose nothing structural that differs (see tests/neighbours.py)."""
    metadata = marked(declared_schema(), "sex", "smoker")
    data = base_table()

    def make() -> AIMSynthesizer:
        return small_aim(sensitive_weight=5.0, on_out_of_bounds="clip")

    left, right = assert_neighbours_alike(make, data, extra, metadata, tmp_path)
    assert np.isclose(left.privacy.spent_epsilon, right.privacy.spent_epsilon)


# -- group_share: coarse (sensitive, column) marginals chosen for the smallest groups --------


def test_coarse_cells_cut_runs_of_bins_the_smallest_group_fills():
    # 10 equal bins and a "missing" code; the group is expected to hold 30 rows in each bin
    noisy = np.array([100.0] * 10 + [5.0])
    mapping = coarse_cells(noisy, binned=10, expected_rows=300, floor=80)
    # runs of three bins (90 rows each), the thin last bin joins the run before it; the
    # rarely used missing code joins the last run too
    assert mapping.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2]
    expected = np.bincount(mapping, weights=300 * noisy / noisy.sum())
    assert expected.min() >= 80


def test_coarse_cells_keep_the_common_values_and_merge_the_rest():
    # a country column: one value holds 90 %, the rest is spread thin (a negative noisy count
    # weighs nothing)
    noisy = np.array([10.0, 900.0, 20.0, -3.0, 30.0, 40.0])
    mapping = coarse_cells(noisy, binned=None, expected_rows=400, floor=50)
    assert mapping.tolist() == [1, 0, 1, 1, 1, 1]
    # nothing but one cell above the floor: no use measuring
    assert coarse_cells(noisy, binned=None, expected_rows=40, floor=50) is None
    assert coarse_cells(np.array([-1.0, -2.0]), binned=None, expected_rows=400, floor=1) is None


def test_a_merged_cell_measurement_is_fitted_through_its_merge():
    # two columns of 4 codes; the 1-way marginals are exact, and a coarse (a, b) measurement
    # says that a = 0 goes with b in {0, 1} three times as often as the table says
    shape = [4, 4]
    flat = Measurement((0,), np.array([400.0, 400, 400, 400]), 1.0)
    other = Measurement((1,), np.array([400.0, 400, 400, 400]), 1.0)
    maps = (np.array([0, 1, 1, 1]), np.array([0, 0, 1, 1]))
    coarse = Measurement((0, 1), np.array([300.0, 100, 500, 700]), 1.0, maps)
    model = estimate(shape, [flat, other, coarse], iters=300)
    table = model.project((0, 1))
    merged = np.zeros((2, 2))
    np.add.at(merged, np.ix_(*maps), table)
    assert np.allclose(merged.ravel(), coarse.values, atol=2.0)
    # within a merged cell the estimate stays flat (maximum entropy)
    assert table[0, 0] == pytest.approx(table[0, 1], rel=1e-3)
    # a white-box audit finds each row's merged cell
    released = Released.direct(coarse, shape)
    assert released.cells(np.array([[0, 1], [2, 3]])).tolist() == [0, 3]


def group_entries(synth: AIMSynthesizer) -> list:
    return [e for e in synth.privacy.entries if e.phase == "groups"]


def group_selections(synth: AIMSynthesizer) -> list:
    return [e for e in synth.privacy.entries if "coarse group marginal" in e.purpose]


def coarse_measurements(synth: AIMSynthesizer) -> list[Measurement]:
    return [r.measurement for r in synth.released_ if r.measurement.maps is not None]


def test_group_share_spends_its_share_on_coarse_marginals_of_the_sensitive_column():
    data = base_table(1000)
    metadata = marked(declared_schema(), "sex")
    synth = quiet_fit(small_aim(group_share=0.3), data, metadata)
    names = synth.encoder_.columns
    sex = names.index("sex")
    measured = coarse_measurements(synth)
    assert len(measured) == len(group_entries(synth)) == len(group_selections(synth))
    assert len(measured) == GROUP_ROUNDS
    for m in measured:
        assert sex in m.clique and len(m.clique) == 2
        s = m.clique.index(sex)
        # the sensitive column keeps its codes; the partner is cut into at least two cells
        assert m.maps[s].tolist() == list(range(synth.encoder_.sizes["sex"]))
        assert 2 <= m.maps[1 - s].max() + 1 <= synth.encoder_.sizes[names[m.clique[1 - s]]]
    # the share of AIM's ρ (everything but the domain phase) the group rounds spent
    aim_rho = sum(e.rho for e in synth.privacy.entries if e.phase != "domain")
    group_rho = sum(e.rho for e in group_entries(synth) + group_selections(synth))
    assert group_rho == pytest.approx(0.3 * aim_rho, rel=1e-6)
    assert synth.privacy.spent_epsilon == pytest.approx(4.0, rel=1e-6)


def test_group_share_picks_the_column_where_the_small_group_differs():
    """A group of 10 % of the rows whose mix of one partner is reversed: the group-weighted
    score finds it (its 1-way counts hardly move the table's)."""
    rng = np.random.default_rng(5)
    n = 4000
    small = rng.random(n) < 0.1
    data = pd.DataFrame(
        {
            "group": np.where(small, "b", "a"),
            "flag": np.where(rng.random(n) < np.where(small, 0.9, 0.1), "yes", "no"),
            "noise1": rng.choice(["p", "q"], n),
            "noise2": rng.choice(["u", "v"], n),
        }
    ).astype(object)
    metadata = Metadata(
        {
            "group": ColumnSpec("categorical", categories=("a", "b"), sensitive=True),
            "flag": ColumnSpec("categorical", categories=("no", "yes")),
            "noise1": ColumnSpec("categorical", categories=("p", "q")),
            "noise2": ColumnSpec("categorical", categories=("u", "v")),
        },
        source="user",
        public=True,
    )
    synth = quiet_fit(small_aim(group_share=0.5), data, metadata)
    first = coarse_measurements(synth)[0]
    assert [synth.encoder_.columns[a] for a in first.clique] == ["group", "flag"]
    # and the model learns the group's own mix
    sample = synth.sample(20_000, seed=1)
    in_b = sample["group"] == "b"
    assert (sample.loc[in_b, "flag"] == "yes").mean() > 0.7


def test_group_share_zero_is_plain_aim():
    data = base_table(500)
    metadata = marked(declared_schema(), "sex")
    plain = quiet_fit(small_aim(), data, metadata)
    zero = quiet_fit(small_aim(group_share=0.0), data, metadata)
    assert not group_entries(plain) and not group_entries(zero)
    assert not coarse_measurements(plain)
    assert [e.purpose for e in plain.privacy.entries] == [e.purpose for e in zero.privacy.entries]


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, "0.2", True, float("nan")])
def test_bad_group_share_is_refused(bad):
    with pytest.raises(ParameterError, match="group_share"):
        quiet_fit(small_aim(group_share=bad), base_table(300), marked(declared_schema(), "sex"))


def test_group_share_without_a_sensitive_column_is_refused():
    with pytest.raises(ParameterError, match=r"group_share = 0\.2 needs a column marked sensitive"):
        quiet_fit(small_aim(group_share=0.2), base_table(300), declared_schema())


@pytest.mark.parametrize("extra", ["new category", "exact duplicate"])
def test_group_share_is_neighbour_safe(tmp_path, extra):
    """D and D plus one row, same seeds: the fingerprints agree (tests/neighbours.py; the group
    rounds' choices are exponential-mechanism releases, phase ``select``, so what they measure
    is compared by kind), and so do the group rounds' number, noise scales and costs, which
    follow from the schema, the domain and ρ only."""
    metadata = marked(declared_schema(), "sex")
    data = base_table()

    def make() -> AIMSynthesizer:
        return small_aim(group_share=0.25, on_out_of_bounds="clip")

    left, right = assert_neighbours_alike(make, data, extra, metadata, tmp_path)

    def rounds(synth: AIMSynthesizer) -> list:
        return [(e.mechanism, e.rho, e.params.get("sigma")) for e in group_entries(synth)] + [
            (e.mechanism, e.rho, e.params.get("epsilon")) for e in group_selections(synth)
        ]

    assert rounds(left) == rounds(right)
    assert len(coarse_measurements(left)) == len(coarse_measurements(right)) == GROUP_ROUNDS
    assert [m.stddev for m in coarse_measurements(left)] == [
        m.stddev for m in coarse_measurements(right)
    ]


def test_group_rounds_split_their_budget_as_aim_rounds_do(monkeypatch):
    """One measure/select split for AIM's rounds and the group rounds: with AIM's share set
    to one half, each group round's measurement costs exactly what its selection costs."""
    monkeypatch.setattr(aim, "MEASURE_SHARE", 0.5)
    synth = quiet_fit(small_aim(group_share=0.3), base_table(600), marked(declared_schema(), "sex"))
    selections = group_selections(synth)
    measurements = [e for e in group_entries(synth) if e not in selections]
    assert len(measurements) == len(selections) == GROUP_ROUNDS
    for m, s in zip(measurements, selections, strict=True):
        assert m.rho == pytest.approx(s.rho, rel=1e-12)
