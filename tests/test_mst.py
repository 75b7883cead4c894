"""MST end to end (privacy policy, ledger, persistence, reproducibility), and the Private-PGM core
it shares with AIM (junction tree, estimation, projection, sampling, conditioning).

Fits are small (a few thousand rows, few estimation iterations) to keep the file fast; where a
statistical tolerance is used, the reason is given beside it.
"""

from __future__ import annotations

import itertools
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabsynth.domain import BinnedCodec
from tabsynth.errors import BudgetError, DataError, ParameterError, PrivacyError, TabsynthError
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.schema import output_dtypes, schema_from_dtypes
from tabsynth.synthesizers.bands import MIN_BINS
from tabsynth.synthesizers.base import REGISTRY, load
from tabsynth.synthesizers.marginal import (
    EINSUM_INTERMEDIATE_CELLS,
    EINSUM_PLAN_CELLS,
    STOP_WINDOW,
    GraphicalModel,
    JunctionTree,
    Measurement,
    _product_sum,
    clique_cells,
    data_marginal,
    estimate,
    triangulate,
)
from tabsynth.synthesizers.mst import MSTSynthesizer, compression, expansion

#: Tests seed the noise on purpose; the warning that says so is checked elsewhere.
pytestmark = pytest.mark.filterwarnings("ignore:noise_seed")

ITERS = 200


def generated_medical(n: int = 3000) -> tuple[pd.DataFrame, Metadata]:
    """A stand-in for the bundled medical sample, for checkouts without it."""
    rng = np.random.default_rng(0)
    age = rng.integers(18, 95, n)
    frame = pd.DataFrame(
        {
            "patient_id": [f"P{i:06d}" for i in range(n)],
            "age": age,
            "sex": rng.choice(["F", "M"], n),
            "glucose": np.where(rng.random(n) < 0.2, np.nan, np.round(80 + age * rng.random(n), 1)),
            "diabetic": rng.random(n) < age / 200,
        }
    )
    metadata = Metadata(
        {
            "patient_id": ColumnSpec("id"),
            "age": ColumnSpec("numerical", dtype="int", lower=18, upper=100, nullable=False),
            "sex": ColumnSpec("categorical", categories=("F", "M"), nullable=False),
            "glucose": ColumnSpec("numerical", dtype="float", lower=40, upper=600, precision=1),
            "diabetic": ColumnSpec("boolean", nullable=False),
        },
        public=True,
    )
    return frame, metadata


@pytest.fixture(scope="module")
def medical() -> tuple[pd.DataFrame, Metadata]:
    try:
        from tabsynth.datasets import load_sample, load_sample_metadata

        return load_sample("medical"), load_sample_metadata("medical")
    except (ImportError, TabsynthError):
        return generated_medical()


@pytest.fixture(scope="module")
def public_fit(medical: tuple[pd.DataFrame, Metadata]) -> MSTSynthesizer:
    frame, metadata = medical
    # binning="auto": uniform bins over the public bounds, so the domain costs nothing
    return MSTSynthesizer(1.0, max_iters=ITERS, binning="auto").fit(frame, metadata)


@pytest.fixture(scope="module")
def private_fit(medical: tuple[pd.DataFrame, Metadata]) -> MSTSynthesizer:
    frame, _ = medical
    with pytest.warns(UserWarning, match="NOT differentially private"):
        return MSTSynthesizer(1.0, max_iters=ITERS, noise_seed=5).fit(frame)


# -- the privacy policy ------------------------------------------------------------------------


def check_ledger(synth: MSTSynthesizer) -> None:
    ledger = synth.privacy
    assert ledger is synth.privacy_
    assert ledger.spent_epsilon <= synth.epsilon * (1 + 1e-9)
    assert ledger.spent_delta <= synth.delta * (1 + 1e-9)
    # MST spends its whole budget: nothing is left on the table
    assert ledger.spent_epsilon == pytest.approx(synth.epsilon, rel=1e-6)


def test_public_metadata_spends_nothing_on_the_domain(
    public_fit: MSTSynthesizer, medical: tuple[pd.DataFrame, Metadata]
) -> None:
    frame, metadata = medical
    check_ledger(public_fit)
    phases = {e.phase for e in public_fit.privacy.entries}
    assert phases == {"measure", "select"}
    learned = [n for n, s in metadata.columns.items() if s.kind != "id"]
    d = len(learned)
    mechanisms = [e.mechanism for e in public_fit.privacy.entries]
    # one pick per tree edge, and one per pair of ordered columns (all cells or a band): as
    # many as the encoder's public bins say (none of these columns has all its noisy counts
    # at or below 0), whatever the tree
    ordered = sum(
        isinstance(c, BinnedCodec) and c.bins >= MIN_BINS
        for c in public_fit.encoder_.codecs.values()
    )
    choices = sum(e.purpose.startswith("how to measure") for e in public_fit.privacy.entries)
    assert ordered >= 2 and choices == ordered * (ordered - 1) // 2
    assert mechanisms.count("gaussian") == d + (d - 1)
    assert mechanisms.count("exponential") == d - 1 + choices
    out = public_fit.sample(2000, seed=0)
    assert list(out.columns) == list(frame.columns)
    assert out.dtypes.astype(str).to_dict() == output_dtypes(metadata)
    assert str(out["age"].dtype) == "int64" and str(out["diabetic"].dtype) == "bool"
    for name in learned:
        spec = metadata[name]
        if spec.kind == "numerical":
            assert out[name].dropna().between(spec.lower, spec.upper).all()
        if spec.kind == "categorical":
            assert set(out[name].dropna()) <= set(spec.categories)
    assert not out["patient_id"].isin(frame["patient_id"]).any()


def test_no_metadata_estimates_the_domain_under_dp(
    private_fit: MSTSynthesizer, medical: tuple[pd.DataFrame, Metadata]
) -> None:
    frame, _ = medical
    check_ledger(private_fit)
    domain = [e for e in private_fit.privacy.entries if e.phase == "domain"]
    # every release names its column, but the one row count (dp_domain.default_budget)
    counts = [e for e in domain if e.purpose.startswith("number of rows")]
    assert len(counts) == 1 and counts[0].mechanism == "gaussian"
    assert domain and all("column '" in e.purpose for e in domain if e not in counts)
    assert any(e.mechanism == "dp_categories" for e in domain)
    assert "domain" in private_fit.privacy.explain()
    out = private_fit.sample(2000, seed=0)
    assert list(out.columns) == list(frame.columns)
    # the schema of a frame without metadata: its pandas dtypes, every column nullable
    assert out.dtypes.astype(str).to_dict() == output_dtypes(schema_from_dtypes(frame))
    assert str(out["age"].dtype) == "Int64" and str(out["diabetic"].dtype) == "boolean"


def test_detected_metadata_is_refused(medical: tuple[pd.DataFrame, Metadata]) -> None:
    frame, _ = medical
    with pytest.raises(PrivacyError) as info:
        MSTSynthesizer(1.0).fit(frame, Metadata.detect(frame))
    message = str(info.value)
    assert "public" in message and "schema_only().declared()" in message


def test_metadata_not_declared_public_is_estimated(medical: tuple[pd.DataFrame, Metadata]) -> None:
    frame, metadata = medical
    private = Metadata(metadata.columns, source="user", public=False)
    small = frame.head(1000)
    # ε = 4, not 1: at ε = 1 a 1000-row column's dp_bounds histogram (σ ≈ 116) has no bucket
    # above 5σ, and dp_bounds now refuses (DomainEstimationError) instead of guessing; even at
    # ε = 4 a thin column can fail now and then, so the noise is seeded (deterministic test)
    with pytest.warns(UserWarning, match="not declared public"):
        synth = MSTSynthesizer(4.0, max_iters=20, noise_seed=0).fit(small, private)
    assert any(e.phase == "domain" for e in synth.privacy.entries)


@pytest.mark.parametrize(
    ("epsilon", "delta"),
    [(0.0, 1e-9), (-1.0, 1e-9), (float("inf"), 1e-9), (1.0, 0.0), (1.0, 0.5), (1.0, 1.0 / 500)],
)
def test_impossible_budgets_are_refused(epsilon: float, delta: float) -> None:
    frame = pd.DataFrame({"x": np.arange(500) % 7})
    with pytest.raises(BudgetError):
        MSTSynthesizer(epsilon, delta).fit(frame)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"max_iters": 0}, "max_iters"),
        ({"bins": 1}, "bins"),
        ({"budget_split": 1.0}, "budget_split"),
        ({"noise_seed": -1}, "noise_seed"),
    ],
)
def test_bad_parameters_are_refused(params: dict, match: str) -> None:
    frame = pd.DataFrame({"x": np.arange(500) % 7})
    with pytest.raises(ParameterError, match=match):
        MSTSynthesizer(1.0, **params).fit(frame)


def test_delta_just_below_one_over_n_is_accepted() -> None:
    frame = pd.DataFrame({"x": np.arange(500) % 7, "y": np.arange(500) % 3})
    # Seeded noise: at this δ the bounds of 500 rows are not always releasable (an error).
    synth = MSTSynthesizer(1.0, 0.99 / 500, max_iters=10, noise_seed=0).fit(frame)
    assert synth.privacy.delta == pytest.approx(0.99 / 500)


def test_only_generated_columns_is_an_error() -> None:
    frame = pd.DataFrame({"pid": [f"P{i}" for i in range(100)]})
    with pytest.raises(DataError, match="nothing to learn"):
        MSTSynthesizer(1.0).fit(frame, Metadata({"pid": ColumnSpec("id")}, public=True))


# -- noise and reproducibility -----------------------------------------------------------------


def test_fits_differ_unless_noise_is_seeded(medical: tuple[pd.DataFrame, Metadata]) -> None:
    frame, metadata = medical
    small = frame.head(2000)

    def fit(**kwargs: int) -> MSTSynthesizer:
        return MSTSynthesizer(1.0, max_iters=30, seed=0, **kwargs).fit(small, metadata)

    a, b = fit(), fit()
    assert not a.sample(500, seed=0).equals(b.sample(500, seed=0))
    assert not a.privacy.seeded_noise
    with pytest.warns(UserWarning, match="noise_seed"):
        c, d = fit(noise_seed=11), fit(noise_seed=11)
    pd.testing.assert_frame_equal(c.sample(500, seed=0), d.sample(500, seed=0))
    assert c.privacy.seeded_noise and "SEEDED" in c.privacy.explain()


def test_sampling_is_reproducible_with_a_seed(public_fit: MSTSynthesizer) -> None:
    pd.testing.assert_frame_equal(public_fit.sample(300, seed=4), public_fit.sample(300, seed=4))
    assert not public_fit.sample(300, seed=4).equals(public_fit.sample(300, seed=5))


# -- persistence -------------------------------------------------------------------------------


def test_save_load_round_trip_without_pickle_or_rows(
    private_fit: MSTSynthesizer, medical: tuple[pd.DataFrame, Metadata], tmp_path: Path
) -> None:
    frame, _ = medical
    path = tmp_path / "mst.tabsynth"
    private_fit.save(path)
    loaded = load(path)
    assert type(loaded) is MSTSynthesizer and REGISTRY["mst"] is MSTSynthesizer
    pd.testing.assert_frame_equal(loaded.sample(1000, seed=3), private_fit.sample(1000, seed=3))
    assert loaded.privacy.explain() == private_fit.privacy.explain()
    with zipfile.ZipFile(path) as archive:
        assert set(archive.namelist()) == {"model.json", "arrays.npz"}
        manifest = archive.read("model.json").decode()
        with archive.open("arrays.npz") as handle, np.load(handle, allow_pickle=False) as npz:
            assert all(npz[k].dtype != object for k in npz.files)
    assert not any(pid in manifest for pid in frame["patient_id"].head(200))
    assert json.loads(manifest)["synthesizer"] == "mst"


# -- what MST learns ---------------------------------------------------------------------------


def chain(n: int, seed: int) -> pd.DataFrame:
    """a -> b -> c -> d: each column copies the previous one 90 % of the time."""
    rng = np.random.default_rng(seed)
    cols = [rng.integers(0, 4, n)]
    for _ in range(3):
        cols.append(np.where(rng.random(n) < 0.9, cols[-1], rng.integers(0, 4, n)))
    return pd.DataFrame({name: c.astype(str) for name, c in zip("abcd", cols, strict=True)})


def test_mst_finds_the_chain_and_keeps_its_marginals() -> None:
    frame = chain(5000, 0)
    md = Metadata(
        {c: ColumnSpec("categorical", categories=tuple("0123")) for c in "abcd"}, public=True
    )
    synth = MSTSynthesizer(20.0, max_iters=500, noise_seed=0).fit(frame, md)
    measured = {e.purpose for e in synth.privacy.entries if e.phase == "measure"}
    assert {"marginal ('a', 'b')", "marginal ('b', 'c')", "marginal ('c', 'd')"} <= measured
    out = synth.sample(20_000, seed=0)
    for pair in ("ab", "bc", "cd"):
        real = frame.groupby(list(pair)).size() / len(frame)
        fake = out.groupby(list(pair)).size() / len(out)
        # σ ≈ 3 rows per cell at ε = 20, plus sampling error ≈ sqrt(16 / 20000): TVD < 0.03
        assert 0.5 * real.sub(fake, fill_value=0).abs().sum() < 0.03


def test_compression_merges_noise_level_codes() -> None:
    noisy = np.array([500.0, 2.0, -3.0, 80.0, 10.0])
    mapping = compression(noisy, sigma=10.0)  # keep counts >= 30
    assert mapping.tolist() == [0, 2, 2, 1, 2]
    unused = np.array([False, False, True, False, False])
    table = expansion(Measurement((0,), noisy, 10.0), mapping, unused)
    assert np.allclose(table[0], [1, 0, 0, 0, 0]) and np.allclose(table[1], [0, 0, 0, 1, 0])
    # the merged code splits in proportion to clipped noisy counts, never into unused codes
    assert np.allclose(table[2], [0, 2 / 12, 0, 0, 10 / 12])


# -- the Private-PGM core ----------------------------------------------------------------------

SHAPE = (3, 4, 2, 5, 3)
CLIQUES = [(0, 1), (1, 2), (2, 3), (3, 4), (0, 3), (1, 4)]


def chain_codes(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    codes = np.zeros((n, len(SHAPE)), dtype=np.int64)
    codes[:, 0] = rng.integers(0, SHAPE[0], n)
    for j in range(1, len(SHAPE)):
        codes[:, j] = (codes[:, j - 1] + rng.integers(0, 2, n)) % SHAPE[j]
    return codes


def noisy_measurements(codes: np.ndarray, sigma: float, seed: int = 1) -> list[Measurement]:
    rng = np.random.default_rng(seed)
    out = []
    for clique in CLIQUES:
        exact = data_marginal(codes, SHAPE, clique)
        out.append(Measurement(clique, exact + rng.normal(0, sigma, exact.size), sigma))
    return out


@pytest.fixture(scope="module")
def fitted_model() -> GraphicalModel:
    return estimate(SHAPE, noisy_measurements(chain_codes(5000), 10.0), iters=1500)


def joint(model: GraphicalModel) -> np.ndarray:
    return model.project(tuple(range(len(SHAPE))))


def test_junction_tree_has_running_intersection() -> None:
    tree = JunctionTree.build(SHAPE, CLIQUES)
    for clique in CLIQUES:
        assert any(set(clique) <= set(c) for c in tree.cliques)
    for attribute in range(len(SHAPE)):
        holders = {i for i, c in enumerate(tree.cliques) if attribute in c}
        # the cliques holding an attribute form a connected subtree: exactly one has no
        # parent among them
        tops = [i for i in holders if tree.parents[i] not in holders]
        assert len(tops) == 1
    assert all(p < i for i, p in enumerate(tree.parents))


def test_projection_agrees_with_the_joint(fitted_model: GraphicalModel) -> None:
    full = joint(fitted_model)
    assert full.sum() == pytest.approx(fitted_model.total)
    for k in (1, 2, 3):
        for attrs in itertools.combinations(range(len(SHAPE)), k):
            others = tuple(a for a in range(len(SHAPE)) if a not in attrs)
            assert np.allclose(full.sum(axis=others), fitted_model.project(attrs))


def test_estimate_fits_noiseless_measurements() -> None:
    """With exact measurements of a distribution the cliques can represent, the estimate
    reproduces them: the maximum-entropy distribution with those marginals exists."""
    codes = chain_codes(4000)
    exact = [Measurement(c, data_marginal(codes, SHAPE, c), 1.0) for c in [(0, 1), (1, 2), (2, 3)]]
    model = estimate(SHAPE, exact, iters=3000)
    for m in exact:
        assert np.abs(model.project(m.clique).ravel() - m.values).sum() / 4000 < 2e-3


def estimate_loss(model: GraphicalModel, measurements: list[Measurement]) -> float:
    """Private-PGM's loss: half the chi-square of the model's residuals on the measurements."""
    return sum(
        0.5 * float(np.sum(((model.project(m.clique).ravel() - m.values) / m.stddev) ** 2))
        for m in measurements
    )


def test_estimate_warm_start_continues(fitted_model: GraphicalModel) -> None:
    measurements = noisy_measurements(chain_codes(5000), 10.0)

    def loss(model: GraphicalModel) -> float:
        return estimate_loss(model, measurements)

    cold = estimate(SHAPE, measurements, iters=20)
    warm = estimate(SHAPE, measurements, iters=20, warm_start=fitted_model)
    assert loss(warm) < loss(cold)
    assert loss(warm) <= loss(fitted_model) * (1 + 1e-6)


def test_estimate_until_converged_stops_where_the_noise_hides_progress() -> None:
    """The early stop is a prefix of the same descent, taken at the first window that gains
    less than the loss's spread under the noise; the progress bar still fills."""
    measurements = noisy_measurements(chain_codes(5000), 10.0)

    def loss(model: GraphicalModel) -> float:
        return estimate_loss(model, measurements)

    ticks: list[int] = []
    early = estimate(SHAPE, measurements, iters=3000, until_converged=True, progress=ticks.append)
    full = estimate(SHAPE, measurements, iters=3000)
    assert full.iterations == 3000
    assert STOP_WINDOW < early.iterations < 3000
    assert sum(ticks) == 3000
    prefix = estimate(SHAPE, measurements, iters=early.iterations)
    assert all(np.array_equal(a, b) for a, b in zip(prefix.marginals, early.marginals, strict=True))
    spread = np.sqrt(sum(m.values.size for m in measurements) / 2)
    # the last window gained less than the spread, the one before did not
    losses = [
        loss(estimate(SHAPE, measurements, iters=early.iterations - back))
        for back in (STOP_WINDOW + 1, STOP_WINDOW, 1)
    ]
    assert losses[2] - loss(early) >= 0
    assert losses[1] - loss(early) < spread <= losses[0] - losses[2]
    assert loss(full) <= loss(early)


def test_estimate_until_converged_can_stop_at_the_first_window() -> None:
    """Measurements so noisy that the first window gains nothing worth the spread: the stop
    comes after exactly one window, and the bar still gets every iteration asked for (a
    number that is not a multiple of its step)."""
    measurements = noisy_measurements(chain_codes(5000), 1000.0)
    ticks: list[int] = []
    early = estimate(SHAPE, measurements, iters=1234, until_converged=True, progress=ticks.append)
    assert early.iterations == STOP_WINDOW
    assert sum(ticks) == 1234 and min(ticks) > 0


def test_sampling_follows_the_model(fitted_model: GraphicalModel) -> None:
    """200,000 draws: each cell's frequency has standard error <= 0.0011, so the TVD of a
    marginal with K <= 60 cells is below sqrt(K / (2 pi n)) * ... ≈ 0.007 on average; 0.02 is
    a margin no correct sampler misses and any wrong conditional exceeds."""
    rows = fitted_model.sample(200_000, np.random.default_rng(0))
    for attrs in [(0,), (0, 1), (0, 3), (2, 4), (0, 2, 4)]:
        expected = fitted_model.project(attrs).ravel() / fitted_model.total
        observed = data_marginal(rows, SHAPE, attrs) / len(rows)
        assert 0.5 * np.abs(observed - expected).sum() < 0.02


def test_conditioning_matches_the_joint(fitted_model: GraphicalModel) -> None:
    allowed = np.array([True, True, False, True])
    conditioned = fitted_model.condition({1: allowed})
    full = joint(fitted_model) * allowed.reshape(1, 4, 1, 1, 1)
    full *= fitted_model.total / full.sum()
    for attrs in [(0, 2), (1, 3), (0, 4), (0, 1, 4)]:
        others = tuple(a for a in range(len(SHAPE)) if a not in attrs)
        assert np.allclose(full.sum(axis=others), conditioned.project(attrs))
    assert (conditioned.sample(5000, np.random.default_rng(0))[:, 1] != 2).all()


@pytest.mark.slow
def test_estimate_agrees_with_mbi() -> None:
    """The same measurements through mbi's mirror descent (the authors' library) give the same
    marginals: both minimise the same convex loss over the same model family."""
    jax = pytest.importorskip("jax")
    mbi = pytest.importorskip("mbi")
    measurements = noisy_measurements(chain_codes(3000), 10.0)[:3]
    ours = estimate(SHAPE, measurements, iters=2000)
    domain = mbi.Domain([str(a) for a in range(len(SHAPE))], SHAPE)
    with jax.enable_x64(True):  # mbi's float32 default cannot resolve near-empty cells
        theirs = mbi.estimation.MirrorDescent().estimate(
            domain,
            [
                mbi.LinearMeasurement(m.values, tuple(map(str, m.clique)), m.stddev)
                for m in measurements
            ],
            iters=2000,
        )
        for attrs in [(0, 1), (0, 3), (1, 2, 3)]:
            reference = np.asarray(theirs.project(tuple(map(str, attrs))).datavector(False))
            assert np.abs(ours.project(attrs) - reference).sum() / ours.total < 1e-4


def test_projection_across_disconnected_parts_is_their_product() -> None:
    """Cliques (0, 1) and (2, 3) share nothing: the model makes them independent, and a
    marginal spanning both is the outer product of their marginals (no sum-product needed)."""
    codes = chain_codes(3000)
    parts = [Measurement(c, data_marginal(codes, SHAPE, c), 1.0) for c in [(0, 1), (2, 3)]]
    model = estimate(SHAPE, parts, iters=300)
    assert len(set(model.tree.component)) >= 2
    full = joint(model)
    for attrs in [(0, 2), (1, 3), (0, 1, 3), (0, 2, 3), (1, 2)]:
        others = tuple(a for a in range(len(SHAPE)) if a not in attrs)
        assert np.allclose(full.sum(axis=others), model.project(attrs))


def random_cliques(
    rng: np.random.Generator, d: int, fewest: int, most: int, *, widest: int
) -> list[tuple[int, ...]]:
    """Between ``fewest`` and ``most - 1`` cliques of 1 to ``widest`` of ``d`` attributes."""
    return [
        tuple(sorted(rng.choice(d, int(rng.integers(1, widest + 1)), replace=False).tolist()))
        for _ in range(int(rng.integers(fewest, most)))
    ]


def test_local_growth_matches_the_whole_triangulation() -> None:
    """AIM sizes a candidate by re-triangulating only the subtree it joins
    (JunctionTree.local_growth). On random structures of up to 14 measured cliques that gives
    the size of triangulating the whole model with the candidate (the argument is in the
    docstring), and nothing for a marginal already covered."""
    rng = np.random.default_rng(11)
    joined = 0
    for _ in range(300):
        d = int(rng.integers(6, 16))
        shape = rng.integers(2, 9, d).tolist()
        cliques = random_cliques(rng, d, 2, 15, widest=3)
        tree = JunctionTree.build(shape, cliques)
        r = tuple(sorted(rng.choice(d, 3, replace=False).tolist()))
        whole = clique_cells(shape, triangulate(shape, [*tree.cliques, r]))
        local = tree.local_growth(shape, r)
        assert tree.cells(shape) + local == whole
        if tree.containing(r, shape) is None:
            joined += 1
        else:
            assert local == 0
    assert joined > 100  # most draws join cliques: the comparison is not vacuous


def test_products_agree_planned_or_not() -> None:
    """_product_sum hands sums over large products to einsum's optimiser and runs the rest,
    outer products included, as one loop; both give the plain sum of products."""
    rng = np.random.default_rng(15)
    a, b = rng.random((6, 7, 8, 9)), rng.random((8, 9, 10, 11))
    assert EINSUM_PLAN_CELLS < 6 * 7 * 8 * 9 * 10 * 11  # planned
    expected = np.tensordot(a, b, axes=([2, 3], [0, 1])).transpose(0, 2, 1, 3)
    out = _product_sum([((0, 1, 2, 3), a), ((2, 3, 4, 5), b)], (0, 4, 1, 5))
    assert np.allclose(out, expected)
    small = _product_sum([((0, 1), a[:2, :3, 0, 0]), ((1, 2), b[0, :3, :2, 0])], (0, 2))
    assert np.allclose(small, a[:2, :3, 0, 0] @ b[0, :3, :2, 0])
    outer = _product_sum([((0, 1, 2), a[:, :, :, 0]), ((3, 4), b[0, 0])], (0, 1, 2, 3, 4))
    assert outer.size > EINSUM_PLAN_CELLS  # nothing summed: one loop however large
    assert np.allclose(outer, np.multiply.outer(a[:, :, :, 0], b[0, 0]))


def test_products_contract_pairwise_past_numpys_memory_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Four tables shaped like one of AIM's products on diabetes130: every pairwise
    contraction makes a table larger than the largest of them (529,200 cells), which NumPy's
    optimiser takes as its memory limit unless told otherwise: it then plans one loop over all
    3.3 billion label combinations (14 s). _product_sum plans under EINSUM_INTERMEDIATE_CELLS,
    where the optimiser contracts pair by pair, and the sum is the one contracted by hand."""
    sizes = {0: 10, 1: 8, 2: 14, 3: 7, 4: 4, 5: 3, 6: 49, 7: 45, 8: 16}
    cliques = [(0, 1, 2, 3, 4, 5), (0, 1, 6, 4), (0, 2, 3, 7, 4, 5), (1, 2, 8, 4, 5)]
    rng = np.random.default_rng(3)
    factors = [(c, rng.random([sizes[a] for a in c])) for c in cliques]
    keep = (6, 7, 8)
    asked: list = []
    einsum = np.einsum

    def spy(*operands, optimize=False):
        asked.append(optimize)
        return einsum(*operands, optimize=optimize)

    monkeypatch.setattr(np, "einsum", spy)
    got = _product_sum(factors, keep)
    monkeypatch.undo()
    assert asked == [("greedy", EINSUM_INTERMEDIATE_CELLS)]
    operands: list = []
    for c, table in factors:
        operands += [table, list(c)]
    path = np.einsum_path(*operands, list(keep), optimize=asked[0])[0]
    assert len(path) == 4  # ["einsum_path", and three pairwise contractions]
    (a, ta), (b, tb), (c, tc), (e, te) = factors
    ac = np.einsum(ta, list(a), tc, list(c), [0, 1, 2, 4, 5, 7])  # sums out 3
    abc = np.einsum(ac, [0, 1, 2, 4, 5, 7], tb, list(b), [1, 2, 4, 5, 6, 7])  # sums out 0
    expected = np.einsum(abc, [1, 2, 4, 5, 6, 7], te, list(e), list(keep))
    assert np.allclose(got, expected, rtol=1e-12)


def test_triangulations_hold_at_most_the_product_of_their_domains() -> None:
    """The bound JunctionTree.grows_within relies on: the maximal cliques of a triangulation
    hold at most the product of the domains once every domain has two values or more, and
    not with domains of one value (two one-value columns measured apart: 2 cells > 1)."""
    rng = np.random.default_rng(13)
    for _ in range(500):
        d = int(rng.integers(4, 12))
        shape = rng.integers(2, 5, d).tolist()
        cliques = random_cliques(rng, d, 1, 12, widest=4)
        assert clique_cells(shape, triangulate(shape, cliques)) <= math.prod(shape)
    assert clique_cells([1, 1], triangulate([1, 1], [(0,), (1,)])) == 2


def greedy_elimination(shape: list[int], cliques: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """The elimination triangulate documents, written plainly: every remaining node's cost
    recomputed at every step (fill edges, then the log-size of the table it would form, added
    left to right as triangulate adds it, then the node)."""
    d = len(shape)
    adjacent = {a: set() for a in range(d)}
    for clique in cliques:
        for a in clique:
            adjacent[a] |= set(clique) - {a}
    log_size = [math.log(max(n, 1)) for n in shape]

    def cost(u: int) -> tuple[int, float, int]:
        around = sorted(adjacent[u])
        fill = sum(1 for a, b in itertools.combinations(around, 2) if b not in adjacent[a])
        size = 0.0
        for a in around:
            size += log_size[a]
        return fill, log_size[u] + size, u

    formed = []
    while adjacent:
        v = min(adjacent, key=cost)
        around = adjacent.pop(v)
        formed.append(around | {v})
        for a in around:
            adjacent[a] = (adjacent[a] | around) - {a, v}
    maximal = [c for c in formed if not any(c < other for other in formed)]
    return sorted({tuple(sorted(c)) for c in maximal})


def test_triangulate_is_the_plain_greedy_elimination() -> None:
    """triangulate updates only the costs an elimination can change (the neighbours, and
    after fill-in the nodes next to two of them); it forms the same cliques as recomputing
    every cost at every step, so AIM's models do not depend on that bookkeeping."""
    rng = np.random.default_rng(15)
    for _ in range(600):
        d = int(rng.integers(4, 14))
        shape = rng.choice([1, 2, 3, 5, 7, 10, 49], d).tolist()
        cliques = random_cliques(rng, d, 1, 12, widest=4)
        assert triangulate(shape, cliques) == greedy_elimination(shape, cliques)


def test_the_size_check_answers_as_the_triangulation_does() -> None:
    """AIM's size check, JunctionTree.grows_within, settles many candidates by that bound
    instead of triangulating; its answers are local_growth(...) <= room, at the boundary
    and with one-value domains too."""
    rng = np.random.default_rng(14)
    for _ in range(400):
        d = int(rng.integers(5, 14))
        shape = rng.integers(1 if rng.random() < 0.3 else 2, 7, d).tolist()
        cliques = random_cliques(rng, d, 2, 12, widest=3)
        tree = JunctionTree.build(shape, cliques)
        r = tuple(sorted(rng.choice(d, 3, replace=False).tolist()))
        growth = tree.local_growth(shape, r)
        for room in (growth - 1, growth, growth + 0.5, 10**9):
            assert tree.grows_within(shape, r, room) == (growth <= room)


def test_a_warm_start_grows_its_tree_no_more_than_aim_checked() -> None:
    """A warm-started estimate is never larger than the previous tree plus
    JunctionTree.local_growth of the new clique, the growth AIM's selection checked against
    the model-size limit: triangulating the measured cliques from scratch can cost more (a
    3.6 M-cell tree on diabetes130 where the grown tree fit), and then the grown tree is used."""
    rng = np.random.default_rng(0)
    scratch_larger = 0
    for _ in range(500):
        d = int(rng.integers(6, 12))
        shape = tuple(rng.integers(2, 6, d).tolist())
        codes = np.stack([rng.integers(0, k, 200) for k in shape], axis=1)
        cliques = {
            tuple(sorted(rng.choice(d, int(rng.integers(2, 4)), replace=False).tolist()))
            for _ in range(int(rng.integers(3, 10)))
        }
        measurements = [
            Measurement(c, data_marginal(codes, shape, c), 1.0) for c in sorted(cliques)
        ]
        before = estimate(shape, measurements, iters=1)
        new = tuple(sorted(rng.choice(d, 3, replace=False).tolist()))
        added = Measurement(new, data_marginal(codes, shape, new), 1.0)
        after = estimate(shape, [*measurements, added], iters=1, warm_start=before)
        checked = before.tree.cells(shape) + before.tree.local_growth(shape, new)
        assert after.tree.cells(shape) <= checked
        scratch = triangulate(shape, [*sorted(cliques), new])
        scratch_larger += clique_cells(shape, scratch) > checked
    assert scratch_larger >= 3  # cases where the scratch triangulation would have broken it
