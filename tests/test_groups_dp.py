"""AIM's group options: ``sensitive_weight`` (marginals holding sensitive columns weigh more in
the workload) and ``group_share`` (the few-valued marginals of each sensitive column measured up
front)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from tabsynth import AIMSynthesizer
from tabsynth.errors import ParameterError
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.synthesizers.aim import GROUP_PARTNER_VALUES

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


# -- group_share: the few-valued (sensitive, column) marginals measured up front -------------


def group_measurements(synth: AIMSynthesizer) -> list[tuple[tuple[str, ...], float]]:
    """The released measurements charged to the ``groups`` phase, with their noise scales."""
    names = synth.encoder_.columns
    released = [r.measurement for r in synth.released_]
    d = len(names)
    # the one-way measurements come first, then the group marginals, then AIM's rounds
    groups = [m for m in released[d:] if len(m.clique) == 2][: len(group_entries(synth))]
    return [(tuple(names[a] for a in m.clique), float(m.stddev)) for m in groups]


def group_entries(synth: AIMSynthesizer) -> list:
    return [e for e in synth.privacy.entries if e.phase == "groups"]


def test_group_share_measures_the_few_valued_partners_at_equal_noise():
    data = base_table(500)
    metadata = marked(declared_schema(), "sex", "smoker")
    synth = quiet_fit(small_aim(group_share=0.3), data, metadata)
    sizes = synth.encoder_.sizes
    assert sizes["age"] > GROUP_PARTNER_VALUES >= max(sizes["sex"], sizes["smoker"])
    # (sex, smoker) once, though both are sensitive; no many-valued partner (age, income, visit)
    taken = group_measurements(synth)
    assert [cols for cols, _ in taken] == [("sex", "smoker")]
    entries = group_entries(synth)
    assert [e.purpose for e in entries] == ["marginal ('sex', 'smoker')"]
    # the share of AIM's ρ (everything but the domain phase) that the group phase spent
    aim_rho = sum(e.rho for e in synth.privacy.entries if e.phase != "domain")
    assert entries[0].rho == pytest.approx(0.3 * aim_rho, rel=1e-9)
    assert taken[0][1] == pytest.approx((2 * entries[0].rho) ** -0.5, rel=1e-9)
    assert synth.privacy.spent_epsilon == pytest.approx(4.0, rel=1e-6)


def test_group_share_splits_evenly_over_several_partners():
    data = base_table(500)
    data["band"] = np.where(data["age"].astype(int) < 50, "young", "old")
    metadata = marked(
        declared_schema().with_columns(band=ColumnSpec("categorical", categories=("young", "old"))),
        "sex",
    )
    synth = quiet_fit(small_aim(group_share=0.5), data, metadata)
    taken = group_measurements(synth)
    assert [cols for cols, _ in taken] == [("sex", "smoker"), ("sex", "band")]
    assert taken[0][1] == pytest.approx(taken[1][1])
    rho = [e.rho for e in group_entries(synth)]
    assert rho[0] == pytest.approx(rho[1])
    aim_rho = sum(e.rho for e in synth.privacy.entries if e.phase != "domain")
    assert sum(rho) == pytest.approx(0.5 * aim_rho, rel=1e-9)


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


@pytest.mark.parametrize("extra", ["new category", "exact duplicate"])
def test_group_share_is_neighbour_safe(tmp_path, extra):
    """D and D plus one row, same seeds: which group marginals are measured and at what noise
    follows from the schema, the domain sizes and ρ only (see tests/neighbours.py)."""
    metadata = marked(declared_schema(), "sex")
    data = base_table()

    def make() -> AIMSynthesizer:
        return small_aim(group_share=0.25, on_out_of_bounds="clip")

    left, right = assert_neighbours_alike(make, data, extra, metadata, tmp_path)
    assert group_measurements(left) == group_measurements(right)
    assert [e.to_dict() for e in group_entries(left)] == [e.to_dict() for e in group_entries(right)]
