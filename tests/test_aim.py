"""AIM: budget use, rounds, workload, model-size limit, and what it learns that MST cannot.

Fits are small (a few thousand rows, few rounds and iterations); tolerances are explained where
they are used.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabsynth.errors import ParameterError, TabsynthError
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.privacy import NoiseSource
from tabsynth.schema import output_dtypes, schema_from_dtypes
from tabsynth.synthesizers import aim as aim_module
from tabsynth.synthesizers.aim import AIMSynthesizer, downward_closure
from tabsynth.synthesizers.base import load
from tabsynth.synthesizers.marginal import BYTES_PER_CELL
from tabsynth.synthesizers.mst import MSTSynthesizer

#: Tests seed the noise on purpose; the warning that says so is checked elsewhere.
pytestmark = pytest.mark.filterwarnings("ignore:noise_seed")

FAST = {"max_rounds": 12, "round_iters": 30, "max_iters": 200}


def xor_table(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, Metadata]:
    """c = a XOR b (98 % of rows), d independent: every pair is independent, the triple not."""
    rng = np.random.default_rng(seed)
    a, b, d = rng.integers(0, 2, n), rng.integers(0, 2, n), rng.integers(0, 3, n)
    c = np.where(rng.random(n) < 0.98, a ^ b, 1 - (a ^ b))
    frame = pd.DataFrame({"a": a, "b": b, "c": c, "d": d}).astype(str)
    spec = {k: ColumnSpec("categorical", categories=("0", "1"), nullable=False) for k in "abc"}
    spec["d"] = ColumnSpec("categorical", categories=("0", "1", "2"), nullable=False)
    return frame, Metadata(spec, public=True)


@pytest.fixture(scope="module")
def xor_fit() -> AIMSynthesizer:
    frame, metadata = xor_table()
    return AIMSynthesizer(4.0, noise_seed=1, **FAST).fit(frame, metadata)


def xor_rate(out: pd.DataFrame) -> float:
    a, b, c = (out[k].astype(int) for k in "abc")
    return float(((a ^ b) == c).mean())


def test_aim_learns_a_three_way_dependence_mst_cannot(xor_fit: AIMSynthesizer) -> None:
    """A spanning tree of pairs cannot express XOR (all pairs are independent), so MST's
    samples satisfy it half of the time; AIM's 3-way workload measures (a, b, c) and keeps it.
    At ε = 4 with 4000 rows the noise on a 2x2x2 marginal is a few rows per cell."""
    frame, metadata = xor_table()
    assert xor_rate(xor_fit.sample(5000, seed=0)) > 0.9
    mst = MSTSynthesizer(4.0, noise_seed=1, max_iters=200).fit(frame, metadata)
    assert abs(xor_rate(mst.sample(5000, seed=0)) - 0.5) < 0.1


def test_aim_spends_exactly_its_budget_in_rounds(xor_fit: AIMSynthesizer) -> None:
    ledger = xor_fit.privacy
    assert ledger.spent_epsilon == pytest.approx(4.0, rel=1e-6)
    assert ledger.spent_epsilon <= 4.0 * (1 + 1e-9) and ledger.spent_delta <= 1e-9
    assert ledger.remaining_rho() < 1e-9 * ledger.rho_budget
    measures = [e for e in ledger.entries if e.phase == "measure"]
    selects = [e for e in ledger.entries if e.phase == "select"]
    assert len(measures) == 4 + len(selects) and 1 <= len(selects) <= FAST["max_rounds"]
    # rounds are planned for T = max_rounds: the 1-way marginals use sigma_0 = sqrt(T / 1.8 rho)
    sigma0 = math.sqrt(FAST["max_rounds"] / (2 * 0.9 * ledger.rho_budget))
    sigmas = [e.params["sigma"] for e in measures]
    assert sigmas[:4] == pytest.approx([sigma0] * 4)
    # annealing only halves sigma; the last round takes what is left
    halvings = np.log2(sigma0 / np.array(sigmas[4:-1]))
    assert np.allclose(halvings, np.round(halvings)) and np.all(np.diff(halvings) >= 0)


def test_fewer_rounds_than_columns_still_spend_exactly_the_budget() -> None:
    """max_rounds=2 with 4 columns: the one-way measurements alone are 4 rounds, so the plan
    must grow to d + 1 = 5 rounds instead of overspending on the first measurements."""
    frame, metadata = xor_table(1000)
    synth = AIMSynthesizer(1.0, noise_seed=2, **{**FAST, "max_rounds": 2}).fit(frame, metadata)
    ledger = synth.privacy
    assert ledger.spent_epsilon == pytest.approx(1.0, rel=1e-6)
    assert any(e.phase == "select" for e in ledger.entries)
    sigma0 = math.sqrt(5 / (2 * 0.9 * ledger.rho_budget))
    first = [e.params["sigma"] for e in ledger.entries if e.phase == "measure"][:4]
    assert first == pytest.approx([sigma0] * 4)


def test_save_load_round_trip(xor_fit: AIMSynthesizer, tmp_path: Path) -> None:
    path = tmp_path / "aim.tabsynth"
    xor_fit.save(path)
    loaded = load(path)
    assert isinstance(loaded, AIMSynthesizer) and loaded.get_params() == xor_fit.get_params()
    pd.testing.assert_frame_equal(loaded.sample(800, seed=2), xor_fit.sample(800, seed=2))


def test_downward_closure_weights() -> None:
    """c_r = sum over workload marginals s of w_s |r ∩ s| (AIM, Section 4.2)."""
    weights = downward_closure({(0, 1, 2): 1.0, (1, 2, 3): 2.0})
    assert weights[(1, 2)] == 1 * 2 + 2 * 2
    assert weights[(0,)] == 1 and weights[(3,)] == 2 and weights[(1,)] == 3
    assert weights[(0, 1, 2)] == 3 + 2 * 2
    assert (0, 3) not in weights and len(weights) == 7 + 7 - 3


def test_explicit_workload_and_weights() -> None:
    frame, metadata = xor_table(1500)
    synth = AIMSynthesizer(
        2.0,
        workload=[("a", "b", "c"), ("c", "d")],
        workload_weights=[1.0, 3.0],
        noise_seed=2,
        **FAST,
    ).fit(frame, metadata)
    measured = {e.purpose for e in synth.privacy.entries if e.phase == "measure"}
    allowed = {"marginal (" + ", ".join(repr(c) for c in r) + ")" for r in _subsets("abc", "cd")}
    assert measured <= allowed


def _subsets(*groups: str) -> set[tuple[str, ...]]:
    out = set()
    for group in groups:
        for k in range(1, len(group) + 1):
            out |= {tuple(sorted(s)) for s in itertools.combinations(group, k)}
    return out


@pytest.mark.parametrize(
    ("workload", "weights", "match"),
    [
        ([("a", "zz")], None, "distinct learned columns"),
        ([("a", "a")], None, "distinct learned columns"),
        ([("a", "pid")], None, "never learned"),
        ([("a", "b")], [1.0, 2.0], "weights"),
        ([("a", "b")], [0.0], "> 0"),
    ],
)
def test_bad_workloads_are_refused(workload: list, weights: list | None, match: str) -> None:
    frame, metadata = xor_table(300)
    frame["pid"] = [f"p{i}" for i in range(len(frame))]
    metadata = metadata.with_columns(pid=ColumnSpec("id"))
    with pytest.raises(ParameterError, match=match):
        AIMSynthesizer(1.0, workload=workload, workload_weights=weights).fit(frame, metadata)


@pytest.mark.parametrize(
    "param", ["max_rounds", "max_candidates", "round_iters", "max_iters", "degree"]
)
def test_bad_counts_are_refused(param: str) -> None:
    frame, metadata = xor_table(300)
    with pytest.raises(ParameterError, match=param):
        AIMSynthesizer(1.0, **{param: 0}).fit(frame, metadata)


@pytest.mark.parametrize(
    ("columns", "cap"), [(2, 400), (15, 400), (24, 250), (48, 125), (60, 100), (500, 100)]
)
def test_round_estimates_are_capped_by_width(columns: int, cap: int) -> None:
    """AIM plans 16 rounds a column, so the default cap of a round's estimate falls as 1/d
    (ROUND_WORK / d), within [100, 400]: the planned work of the rounds stays flat."""
    assert AIMSynthesizer(1.0)._round_iters(columns) == cap
    assert AIMSynthesizer(1.0, round_iters=7)._round_iters(columns) == 7


def test_round_estimates_stop_once_converged(monkeypatch) -> None:
    """Every round's estimate runs until converged, at most ``round_iters`` iterations; on the
    XOR table at ε = 4 a round after the first estimate (on the 1-way marginals) stops before
    a cap of 400, else the stop was never exercised where it matters, in the annealing test."""
    seen: list[tuple[int, bool, int]] = []
    real = aim_module.estimate

    def watched(*args, **kwargs):
        model = real(*args, **kwargs)
        seen.append((kwargs["iters"], kwargs.get("until_converged", False), model.iterations))
        return model

    monkeypatch.setattr(aim_module, "estimate", watched)
    frame, metadata = xor_table()
    AIMSynthesizer(4.0, noise_seed=1, max_rounds=12, round_iters=400, max_iters=200).fit(
        frame, metadata
    )
    rounds = seen[:-1]  # the last call is the final estimate (max_iters)
    assert seen[-1][0] == 200 and len(rounds) >= 2
    assert all(iters == 400 and converging for iters, converging, _ in rounds)
    selected = [n for _, _, n in rounds[1:]]  # after the first, on the 1-way marginals
    assert min(selected) < 400, selected


def test_model_size_limit_is_respected() -> None:
    """Ten dependent columns of 12 codes at a large ε: unconstrained, AIM grows 3-way cliques
    (1728 cells, 13.5 KB each) past 0.02 MB; with max_model_size=0.02 it stays below."""
    rng = np.random.default_rng(3)
    base = rng.integers(0, 12, 3000)
    frame = pd.DataFrame(
        {f"x{i}": (base + rng.integers(0, 3, 3000)) % 12 for i in range(10)}
    ).astype(str)
    cats = tuple(str(v) for v in range(12))
    md = Metadata(
        {c: ColumnSpec("categorical", categories=cats, nullable=False) for c in frame},
        public=True,
    )

    def size(limit: float) -> float:
        params = {**FAST, "max_rounds": 20}
        synth = AIMSynthesizer(20.0, max_model_size=limit, noise_seed=3, **params).fit(frame, md)
        return synth.model_.tree.cells(synth.model_.shape) * BYTES_PER_CELL / 2**20

    assert size(80.0) > 0.02 >= size(0.02)


def test_no_metadata_keeps_columns_and_dtypes() -> None:
    try:
        from tabsynth.datasets import load_sample

        frame = load_sample("medical").head(3000)
    except (ImportError, TabsynthError):
        frame, _ = xor_table(3000)
    with pytest.warns(UserWarning, match="noise_seed"):
        synth = AIMSynthesizer(1.0, noise_seed=4, **FAST).fit(frame)
    assert any(e.phase == "domain" for e in synth.privacy.entries)
    out = synth.sample(1000, seed=0)
    assert list(out.columns) == list(frame.columns)
    assert out.dtypes.astype(str).to_dict() == output_dtypes(schema_from_dtypes(frame))


def test_downward_closure_weights_match_the_papers_sum() -> None:
    """c_r = Σ_s w_s |r ∩ s| (AIM, Section 4.2), computed in linear time."""
    import itertools

    from tabsynth.synthesizers.aim import downward_closure

    workload = {(0, 1, 2): 1.0, (1, 3): 2.5, (2, 3, 4): 0.5}
    closure = downward_closure(workload)
    subsets = {r for s in workload for k in (1, 2, 3) for r in itertools.combinations(s, k)}
    assert set(closure) == subsets
    for r, weight in closure.items():
        expected = sum(w * len(set(r) & set(s)) for s, w in workload.items())
        assert weight == pytest.approx(expected)


def test_wide_tables_score_a_random_pool_of_candidates() -> None:
    """Each round scores at most max_candidates marginals, drawn from the noise source (never
    from the data or the user's seed): the same noise seed draws the same pool, another seed
    another one, and every drawn candidate keeps its weight."""
    synth = AIMSynthesizer(1.0, max_candidates=10)
    candidates = downward_closure(dict.fromkeys(itertools.combinations(range(8), 3), 1.0))
    pools = [synth._pool(candidates, NoiseSource.seeded(s)) for s in (1, 1, 2)]
    assert len(pools[0]) == 10 and pools[0] == pools[1] != pools[2]
    assert all(candidates[r] == w for r, w in pools[0].items())
    assert AIMSynthesizer(1.0, max_candidates=None)._pool(candidates, NoiseSource()) == candidates


def test_a_sixty_column_table_fits() -> None:
    """Sixty columns on 300 rows stalled AIM (36,050 candidate marginals, each triangulated
    and projected every round); with bounded growth checks and a random pool it fits, and
    every column comes back."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"c{j}": rng.choice(list("abcd"), 300) for j in range(60)})
    md = Metadata(
        {c: ColumnSpec("categorical", categories=tuple("abcd"), nullable=False) for c in frame},
        public=True,
    )
    synth = AIMSynthesizer(1.0, round_iters=20, max_iters=50, noise_seed=0).fit(frame, md)
    assert synth.sample(10, seed=0).columns.tolist() == frame.columns.tolist()


@pytest.mark.parametrize("workload", [[], "ab", 3])
def test_an_empty_or_malformed_workload_is_refused(workload) -> None:
    frame, metadata = xor_table(300)
    with pytest.raises(ParameterError, match="workload"):
        AIMSynthesizer(1.0, workload=workload).fit(frame, metadata)
