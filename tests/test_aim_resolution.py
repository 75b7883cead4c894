"""AIM's coarse candidate variants (aim_resolution): the cuts, the variants offered, and that a
coarse measurement counts exactly what the selection scored."""

from __future__ import annotations

import numpy as np

from tabsynth.privacy import NoiseSource, PrivacyLedger
from tabsynth.synthesizers.aim_resolution import COARSE_CELLS, coarse_maps, variants
from tabsynth.synthesizers.marginal import Measurement, data_marginal, measure


def _one_way(values) -> Measurement:
    return Measurement((0,), np.asarray(values, dtype=float), 10.0)


def test_a_binned_column_is_cut_into_runs_of_about_equal_mass() -> None:
    noisy = np.full(32, 100.0)
    noisy[5] = -40.0  # a negative noisy count counts as empty
    (cut,) = coarse_maps([_one_way(noisy)], [32])
    assert cut is not None and len(cut) == 32
    assert np.all(np.diff(cut) >= 0) and np.all(np.diff(cut) <= 1)  # runs of adjacent bins
    assert 2 <= cut.max() + 1 <= COARSE_CELLS
    sizes = np.bincount(cut, weights=np.maximum(noisy, 0))
    assert sizes.min() >= noisy.clip(0).sum() / COARSE_CELLS  # each run holds its share


def test_a_categorical_keeps_its_common_values_and_merges_the_rest() -> None:
    noisy = np.r_[3000.0, 50.0, 900.0, np.full(40, 10.0)]
    (cut,) = coarse_maps([_one_way(noisy)], [None])
    assert cut[0] != cut[2] and len({cut[0], cut[2], cut[1]}) == 3
    assert len(set(cut[3:]) | {cut[1]}) == 1  # the rare values share one cell
    assert cut.max() + 1 == 3


def test_columns_that_cutting_would_not_merge_get_no_map() -> None:
    few = np.array([500.0, 400.0, 300.0])  # each value already above its share
    assert coarse_maps([_one_way(few), _one_way(np.zeros(9))], [None, 9]) == [None, None]


def test_variants_offer_the_coarse_cells_only_where_a_column_is_cut() -> None:
    shape = [32, 3, 40]
    cut32 = np.repeat(np.arange(8), 4)
    maps = [cut32, None, np.r_[0, 1, np.full(38, 2)]]
    no = [None] * 3

    def cells(clique, shape=shape, maps=maps, ranks=no, coarse=True):
        return [v.cells for v in variants(clique, shape, maps, ranks, coarse=coarse)]

    assert cells((0,)) == [32]  # 1-way: as measured
    assert cells((1,)) == [3]
    assert cells((0, 1)) == [96, 24]
    assert cells((0, 2)) == [1280, 24]
    assert cells((0, 2), coarse=False) == [1280]
    assert cells((0, 1, 2)) == [3840]  # pairs only
    assert cells((1, 1), [3, 3], [None, None], [None, None]) == [9]


def test_a_coarse_measurement_counts_what_the_variant_scored() -> None:
    """Summing the fine marginal into the variant's cells (the selection's error) and
    counting rows into the coarse cells (the measurement) agree cell by cell."""
    rng = np.random.default_rng(0)
    shape = [32, 3, 40]
    codes = np.column_stack([rng.integers(0, s, 5000) for s in shape])
    maps = [np.repeat(np.arange(8), 4), None, np.r_[0, 1, np.full(38, 2)]]
    fine, coarse = variants((0, 2), shape, maps, [None] * 3, coarse=True)
    truth = data_marginal(codes, shape, (0, 2))
    assert np.array_equal(fine.coarsen(truth), truth.ravel())
    ledger = PrivacyLedger(epsilon=1e6, delta=1e-9)
    m = measure(
        codes, shape, (0, 2), 0.01, names=["a", "b", "c"], ledger=ledger,
        noise=NoiseSource.seeded(1), maps=coarse.maps,
    )  # fmt: skip
    assert m.maps is coarse.maps and m.values.shape == (coarse.cells,)
    np.testing.assert_allclose(m.values, coarse.coarsen(truth), atol=0.5)  # σ = 0.01
    assert "8 x 3 coarse cells" in ledger.entries[-1].purpose


def test_coarse_pairs_is_off_by_default_and_checked() -> None:
    """A default fit measures no coarse cells (its releases are plain AIM's); a fit with
    ``coarse_pairs=True`` on correlated numbers does; the flag must be a bool."""
    import pandas as pd
    import pytest

    from tabsynth.errors import ParameterError
    from tabsynth.metadata import ColumnSpec, Metadata
    from tabsynth.synthesizers import AIMSynthesizer

    rng = np.random.default_rng(1)
    x = rng.normal(size=4000)
    data = pd.DataFrame(
        {"x": x, "y": x + rng.normal(scale=0.3, size=4000), "z": rng.normal(size=4000)}
    )
    spec = ColumnSpec("numerical", dtype="float", lower=-6.0, upper=6.0, nullable=False)
    metadata = Metadata({c: spec for c in data.columns}, public=True)
    purposes = {}
    for flag in (False, True):
        synth = AIMSynthesizer(
            epsilon=1.0, max_iters=50, round_iters=20, coarse_pairs=flag, noise_seed=2
        )
        with pytest.warns(UserWarning, match="noise_seed"):
            synth.fit(data, metadata)
        purposes[flag] = [e.purpose for e in synth.privacy_.entries]
    assert not any("coarse" in p for p in purposes[False])
    assert any("coarse cells" in p for p in purposes[True])
    with pytest.raises(ParameterError, match="coarse_pairs"):
        AIMSynthesizer(epsilon=1.0, coarse_pairs="yes").fit(data, metadata)
