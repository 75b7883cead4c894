"""AIM's sensitive_weight: marginals holding sensitive columns weigh more in the workload."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from tabsynth import AIMSynthesizer
from tabsynth.errors import ParameterError
from tabsynth.metadata import Metadata

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
