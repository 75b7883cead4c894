"""Band cells (tabsynth.synthesizers.bands): which cells a band keeps, that it partitions the
marginal, that a band measurement counts what AIM scored, that Private-PGM fits it, and
AIM's ``band_pairs`` switch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabsynth.errors import ParameterError
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.privacy import NoiseSource, PrivacyLedger
from tabsynth.synthesizers import AIMSynthesizer, MSTSynthesizer
from tabsynth.synthesizers.aim_resolution import coarse_maps, variants
from tabsynth.synthesizers.bands import MIN_BINS, WIDTH, band_index, rank_intervals
from tabsynth.synthesizers.marginal import Measurement, Released, data_marginal, estimate, measure
from tabsynth.synthesizers.mst import compression, kept_codes


def test_rank_intervals_read_the_noisy_distribution_of_the_ordered_bins() -> None:
    noisy = np.r_[100.0, -30.0, 300.0, np.full(7, 200.0), 5000.0]  # last code: "missing"
    ranks = rank_intervals(noisy, 10)
    assert ranks is not None and ranks.shape == (10, 2)
    total = 100 + 300 + 7 * 200
    np.testing.assert_allclose(ranks[0], [0, 100 / total])
    np.testing.assert_allclose(ranks[1], [100 / total, 100 / total])  # negative: empty
    np.testing.assert_allclose(ranks[-1], [1 - 200 / total, 1])
    assert np.array_equal(ranks[1:, 0], ranks[:-1, 1])  # adjacent, in order


def test_no_ranks_without_order_enough_bins_or_mass() -> None:
    assert rank_intervals(np.full(40, 10.0), None) is None
    assert rank_intervals(np.full(MIN_BINS - 1, 10.0), MIN_BINS - 1) is None
    assert rank_intervals(np.full(MIN_BINS, -1.0), MIN_BINS) is None
    assert rank_intervals(np.full(MIN_BINS, 10.0), MIN_BINS) is not None


def _even(bins: int) -> np.ndarray:
    ranks = rank_intervals(np.full(bins, 1.0), bins)
    assert ranks is not None
    return ranks


def test_a_band_keeps_the_diagonal_cells_and_merges_the_rest_by_coarse_cell() -> None:
    """Two columns of 10 equal bins and a "missing" code each: bins 0.1 of the ranks wide,
    so cells within one bin of the diagonal are in the band (a gap of 0 <= WIDTH), cells two
    bins off are not (a gap of 0.1 > WIDTH); missing codes are off the band."""
    assert WIDTH < 0.1
    coarse = np.r_[np.repeat(np.arange(5), 2), 5]  # pairs of bins, "missing" alone
    index = band_index((_even(10), _even(10)), (11, 11), (coarse, coarse)).reshape(11, 11)
    i, j = np.indices((11, 11))
    band = (np.abs(i - j) <= 1) & (i < 10) & (j < 10)
    counts = np.bincount(index.ravel())
    assert np.all(counts[index[band]] == 1)  # each band cell measured alone
    assert len(np.unique(index[band])) == band.sum() == 28
    merged = index[~band]
    assert not set(merged) & set(index[band])
    for a, b in zip(*np.nonzero(~band), strict=True):  # same coarse cell <=> same merged cell
        same = (coarse[i] == coarse[a]) & (coarse[j] == coarse[b]) & ~band
        assert set(index[same]) == {index[a, b]}
    off = {(coarse[a], coarse[b]) for a, b in zip(*np.nonzero(~band), strict=True)}
    assert index.max() + 1 == 28 + len(off)
    assert np.array_equal(np.unique(index), np.arange(index.max() + 1))  # dense labels


def test_bins_of_unequal_mass_meet_where_their_ranks_do() -> None:
    """A spike bin (half the rows at 0) covers ranks 0-0.5: it is near every bin of an even
    partner that starts below 0.5 + WIDTH, whatever their numbers. (One coarse cell for
    everything off the band, so that only band cells are measured alone.)"""
    spike = rank_intervals(np.r_[900.0, np.full(9, 100.0)], 10)
    one = np.zeros(10, dtype=np.int64)
    index = band_index((spike, _even(10)), (10, 10), (one, one)).reshape(10, 10)
    alone = np.bincount(index.ravel())[index] == 1
    expected = [j for j in range(10) if j / 10 <= 0.5 + WIDTH]
    assert list(np.nonzero(alone[0])[0]) == expected
    assert not alone[9, 0] and alone[9, 9]


def test_a_falling_band_follows_the_other_diagonal() -> None:
    """With ``falling`` the band keeps the cells where one column's rank is near one minus the
    other's: for even bins the mirror image of the rising band."""
    one = np.zeros(10, dtype=np.int64)
    rising = band_index((_even(10), _even(10)), (10, 10), (one, one)).reshape(10, 10)
    falling = band_index((_even(10), _even(10)), (10, 10), (one, one), falling=True)
    alone = lambda index: np.bincount(index.ravel())[index] == 1  # noqa: E731
    assert np.array_equal(alone(falling.reshape(10, 10)), alone(rising)[:, ::-1])
    assert alone(falling.reshape(10, 10))[0, 9] and not alone(falling.reshape(10, 10))[0, 0]


def test_aim_offers_a_band_only_for_two_ranked_columns_where_it_merges() -> None:
    shape = [12, 12, 3]
    ranks = [_even(12), _even(12), None]
    pairs_of_bins = np.repeat(np.arange(6), 2)
    assert len(variants((0, 1), shape, [None] * 3, ranks, coarse=False)) == 1  # merges nothing
    maps = [pairs_of_bins, pairs_of_bins, None]
    pair = variants((0, 1), shape, maps, ranks, coarse=False)
    assert [v.maps is None and v.band is not None for v in pair] == [False, True]
    assert pair[0].band is None and pair[1].cells < 144
    assert len(variants((0, 2), shape, maps, ranks, coarse=False)) == 1  # no order
    assert len(variants((0, 1, 2), shape, maps, ranks, coarse=False)) == 1  # pairs only


def _near_diagonal(rows: int, levels: int, seed: int) -> tuple[np.ndarray, list[int], list]:
    """Codes of two columns whose second is the first moved by -1, 0 or +1, their shape, and
    each column's rank intervals from its exact counts."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, levels, rows)
    codes = np.column_stack([x, np.clip(x + rng.integers(-1, 2, rows), 0, levels - 1)])
    counts = [np.bincount(c, minlength=levels).astype(float) for c in codes.T]
    return codes, [levels, levels], [rank_intervals(c, levels) for c in counts]


def test_a_band_measurement_counts_what_aim_scored_and_what_the_release_says() -> None:
    """The variant's sums of the fine marginal (the selection's error), the counts of the
    measurement and the cells the released measurement gives each row all agree."""
    codes, shape, ranks = _near_diagonal(5000, 16, seed=0)
    quarters = np.repeat(np.arange(4), 4)
    _, band = variants((0, 1), shape, [quarters, quarters], ranks, coarse=False)
    truth = data_marginal(codes, shape, (0, 1))
    ledger = PrivacyLedger(epsilon=1e6, delta=1e-9)
    m = measure(
        codes, shape, (0, 1), 0.01, names=["x", "y"], ledger=ledger,
        noise=NoiseSource.seeded(1), index=band.band,
    )  # fmt: skip
    assert m.values.shape == (band.cells,)
    assert f"band cells, {band.cells} measured" in ledger.entries[-1].purpose
    np.testing.assert_allclose(m.values, band.coarsen(truth), atol=0.5)  # σ = 0.01
    released = Released.direct(m, shape)
    rows = np.bincount(released.cells(codes), minlength=band.cells)
    np.testing.assert_allclose(m.values, rows, atol=0.5)
    assert np.array_equal(m.cell_index(shape), band.index)


def test_private_pgm_fits_a_band_measurement() -> None:
    """Noise-free 1-way marginals and band counts of a near-diagonal pair: the estimate's
    pair marginal reproduces the band cells and the merged totals."""
    codes, shape, ranks = _near_diagonal(20_000, 10, seed=3)
    index = band_index((ranks[0], ranks[1]), (10, 10), (None, np.repeat(np.arange(5), 2)))
    truth = data_marginal(codes, shape, (0, 1))
    measured = [
        Measurement((0,), data_marginal(codes, shape, (0,)), 1.0),
        Measurement((1,), data_marginal(codes, shape, (1,)), 1.0),
        Measurement((0, 1), np.bincount(index, weights=truth), 1.0, index=index),
    ]
    model = estimate(shape, measured, iters=2000)
    fitted = np.bincount(index, weights=model.project((0, 1)).ravel())
    np.testing.assert_allclose(fitted, measured[2].values, atol=0.02 * len(codes) / index.max())


def test_a_measurement_merged_by_maps_then_grouped_by_an_index() -> None:
    """``cell_index`` applies ``maps`` first, then ``index`` on the merged cells."""
    maps = (np.array([0, 0, 1]), np.array([0, 1, 1, 2]))  # 3 x 4 cells -> 2 x 3
    index = np.array([0, 1, 1, 2, 2, 0])  # the 6 merged cells -> 3 measured
    m = Measurement((0, 1), np.zeros(3), 1.0, maps=maps, index=index)
    merged = np.array([[0, 1, 1, 2], [0, 1, 1, 2], [3, 4, 4, 5]]).ravel()
    assert np.array_equal(m.cell_index([3, 4]), index[merged])


def _correlated(rows: int = 4000) -> tuple[pd.DataFrame, Metadata]:
    rng = np.random.default_rng(1)
    x = rng.normal(size=rows)
    data = pd.DataFrame(
        {"x": x, "y": x + rng.normal(scale=0.2, size=rows), "z": rng.normal(size=rows)}
    )
    spec = ColumnSpec("numerical", dtype="float", lower=-6.0, upper=6.0, nullable=False)
    return data, Metadata({c: spec for c in data.columns}, public=True)


@pytest.mark.parametrize("method", [AIMSynthesizer, MSTSynthesizer])
def test_band_pairs_is_on_by_default_and_checked(method) -> None:
    """A default fit on correlated numbers measures band cells; ``band_pairs=False`` gives
    plain AIM or MST; the flag must be a bool."""
    data, metadata = _correlated()
    purposes = {}
    for flag in (True, False):
        synth = method(epsilon=1.0, max_iters=50, band_pairs=flag, noise_seed=2)
        with pytest.warns(UserWarning, match="noise_seed"):
            synth.fit(data, metadata)
        purposes[flag] = [e.purpose for e in synth.privacy_.entries]
    assert any("band cells" in p for p in purposes[True])
    assert not any("band" in p for p in purposes[False])
    with pytest.raises(ParameterError, match="band_pairs"):
        method(epsilon=1.0, band_pairs=1).fit(data, metadata)


def _falling(rows: int = 20_000) -> tuple[pd.DataFrame, Metadata]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=rows)
    data = pd.DataFrame(
        {"x": x, "z": -x + rng.normal(scale=0.3, size=rows), "y": rng.normal(size=rows)}
    )
    spec = ColumnSpec("numerical", dtype="float", lower=-6.0, upper=6.0, nullable=False)
    return data, Metadata({c: spec for c in data.columns}, public=True)


def test_mst_measures_a_falling_pair_on_the_falling_band_read_off_its_releases(
    monkeypatch,
) -> None:
    """On a pair where z falls as x rises, MST's choice takes the falling band; the cells it
    measured are exactly the band that its released 1-way marginals give (ranks of the bins
    that kept a code, coarse cells of the compressed marginals), and the ranks were computed
    from those releases: nothing else fed them."""
    import tabsynth.synthesizers.mst as mst_module

    seen = []

    def recording(noisy, bins):
        seen.append((np.array(noisy), bins))
        return rank_intervals(noisy, bins)

    monkeypatch.setattr(mst_module, "rank_intervals", recording)
    data, metadata = _falling()
    synth = MSTSynthesizer(epsilon=1.0, max_iters=50, noise_seed=4)
    with pytest.warns(UserWarning, match="noise_seed"):
        synth.fit(data, metadata)
    one_way = [r.measurement for r in synth.released_[:3]]
    public = [codec.bins for codec in synth.encoder_.codecs.values()]
    assert len(seen) == 3
    for (noisy, b), m, bins in zip(seen, one_way, public, strict=True):
        assert np.array_equal(noisy, m.values) and b == bins
    pairs = {r.measurement.clique: r for r in synth.released_[3:]}
    assert (0, 1) in pairs and pairs[(0, 1)].measurement.index is not None
    maps = pairs[(0, 1)].code_maps  # MST's compression of x and z
    bins = [codec.bins for codec in synth.encoder_.codecs.values()]
    ranks = [
        rank_intervals(one_way[a].values, bins[a])[kept_codes(maps[a])[: bins[a]]] for a in (0, 1)
    ]
    compressed = [
        Measurement((a,), np.bincount(maps[a], weights=one_way[a].values), 1.0) for a in (0, 1)
    ]
    cuts = coarse_maps(compressed, [len(r) for r in ranks])
    sizes = (len(compressed[0].values), len(compressed[1].values))
    expected = band_index((ranks[0], ranks[1]), sizes, (cuts[0], cuts[1]), falling=True)
    assert np.array_equal(pairs[(0, 1)].measurement.index, expected)
    assert any(e.purpose.startswith("how to measure ('x', 'z')") for e in synth.privacy_.entries)


def test_aim_reads_its_bands_off_the_released_one_way_marginals(monkeypatch) -> None:
    """Every rank interval and coarse cut AIM computes comes from the released noisy 1-way
    marginals and the columns' public bins: a band read off exact counts would fail here
    (the neighbour test compares only the structure of the releases)."""
    import tabsynth.synthesizers.aim as aim_module

    seen, cut = [], []

    def recording(noisy, bins):
        seen.append((np.array(noisy), bins))
        return rank_intervals(noisy, bins)

    def cutting(one_way, binned):
        cut.append(([np.array(m.values) for m in one_way], list(binned)))
        return coarse_maps(one_way, binned)

    monkeypatch.setattr(aim_module, "rank_intervals", recording)
    monkeypatch.setattr(aim_module, "coarse_maps", cutting)
    data, metadata = _correlated()
    synth = AIMSynthesizer(epsilon=1.0, max_iters=50, round_iters=20, noise_seed=2)
    with pytest.warns(UserWarning, match="noise_seed"):
        synth.fit(data, metadata)
    released = [r.measurement.values for r in synth.released_[:3]]
    bins = [codec.bins for codec in synth.encoder_.codecs.values()]
    assert len(seen) == 3
    for (noisy, b), values, public in zip(seen, released, bins, strict=True):
        assert np.array_equal(noisy, values) and b == public
    ((cut_values, cut_bins),) = cut  # the coarse cells off the band: the same releases
    assert all(np.array_equal(a, b) for a, b in zip(cut_values, released, strict=True))
    assert cut_bins == bins


def test_kept_codes_follow_mst_compression() -> None:
    """MST's band ranks keep the bins that kept a compressed code: none merged, one merged
    (its code then sits alone at the end, not in order), the last alone (the map is the
    identity: it keeps its place) and several merged."""
    sigma = 10.0
    for noisy, kept in [
        (np.full(6, 100.0), [True] * 6),
        (np.r_[100.0, 100.0, 100.0, 5.0], [True] * 4),
        (np.r_[100.0, 5.0, 100.0, 100.0], [True, False, True, True]),
        (np.r_[5.0, 100.0, -3.0, 100.0, 0.0], [False, True, False, True, False]),
    ]:
        mapping = compression(noisy, sigma)
        assert kept_codes(mapping).tolist() == kept
        assert np.array_equal(mapping[kept], np.arange(sum(kept)))  # in order, from 0


def test_mst_picks_spend_their_share_and_two_columns_take_none() -> None:
    """The picks spend BAND_CHOICE_SHARE of the selection's third of ρ between them, the
    tree's edges the rest of it; a table of two columns has no selection, so no picks and no
    band."""
    from tabsynth.synthesizers.mst import BAND_CHOICE_SHARE

    data, metadata = _correlated()
    synth = MSTSynthesizer(epsilon=1.0, max_iters=50, noise_seed=2)
    with pytest.warns(UserWarning, match="noise_seed"):
        synth.fit(data, metadata)
    entries = synth.privacy_.entries
    picks = [e.rho for e in entries if e.purpose.startswith("how to measure")]
    edges = [e.rho for e in entries if e.purpose.startswith("an edge of the spanning tree")]
    third = sum(picks) + sum(edges)
    assert len(picks) == 3 and len(edges) == 2  # x, y, z are ordered: three pairs
    assert sum(picks) == pytest.approx(BAND_CHOICE_SHARE * third, rel=1e-9)
    assert sum(e.rho for e in entries if e.phase == "measure") == pytest.approx(2 * third)

    two = MSTSynthesizer(epsilon=1.0, max_iters=50, noise_seed=2)
    with pytest.warns(UserWarning, match="noise_seed"):
        two.fit(data[["x", "y"]], Metadata({c: metadata[c] for c in ("x", "y")}, public=True))
    purposes = [e.purpose for e in two.privacy_.entries]
    assert not any("how to measure" in p or "band" in p for p in purposes)
