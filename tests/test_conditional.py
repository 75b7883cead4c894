"""Conditional and rebalanced sampling (tabsynth.synthesizers.conditional) on every model."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from tabsynth import AIMSynthesizer, MSTSynthesizer
from tabsynth.errors import ParameterError
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.synthesizers.conditional import allot

GROUPS = ["A", "B", "C"]
GROUP_P = [0.70, 0.25, 0.05]


def table(rows: int = 4000, seed: int = 0) -> pd.DataFrame:
    """``g`` (groups of 70/25/5 %), ``x`` depending on ``g``, ``y`` on ``x``, ``age`` on g."""
    rng = np.random.default_rng(seed)
    g = rng.choice(GROUPS, rows, p=GROUP_P)
    shift = pd.Series(g).map({"A": 0, "B": 1, "C": 2}).to_numpy()
    x = np.array(["p", "q", "r"])[(shift + (rng.random(rows) < 0.3)) % 3]
    y = np.where(x == "p", rng.random(rows) < 0.8, rng.random(rows) < 0.2)
    age = np.clip(rng.normal(30 + 10 * shift, 5), 18, 90).round().astype(int)
    return pd.DataFrame({"g": g, "x": x, "y": y, "age": age})


def public_metadata() -> Metadata:
    return Metadata(
        {
            "g": ColumnSpec("categorical", categories=("A", "B", "C", "D"), nullable=False),
            "x": ColumnSpec("categorical", categories=("p", "q", "r"), nullable=False),
            "y": ColumnSpec("boolean", nullable=False),
            "age": ColumnSpec("numerical", dtype="int", lower=18, upper=90, nullable=False),
        },
        source="user",
        public=True,
    )


@pytest.fixture(scope="module")
def mst() -> MSTSynthesizer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MSTSynthesizer(epsilon=3.0, max_iters=200, noise_seed=1, binning="uniform").fit(
            table(), public_metadata()
        )


@pytest.fixture(scope="module")
def aim() -> AIMSynthesizer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return AIMSynthesizer(
            epsilon=3.0, max_rounds=6, round_iters=20, max_iters=100, noise_seed=2
        ).fit(table(), public_metadata())


def _binomial_ok(count: int, n: int, p: float, z: float = 4.5) -> bool:
    """``count`` of ``n`` draws is within ``z`` binomial standard deviations of ``n p`` (a
    4.5σ band: a false failure once in ~150 000 checks, fixed seeds make it reproducible)."""
    return abs(count - n * p) <= z * math.sqrt(n * p * (1 - p)) + 1


@pytest.mark.parametrize("name", ["mst", "aim"])
def test_conditioned_rows_follow_the_models_exact_conditional(name, request):
    synth = request.getfixturevalue(name)
    n = 4000
    out = synth.sample(n, seed=3, conditions={"g": "C"})
    assert (out["g"] == "C").all()
    # the model's own P(x | g = C), by conditioning the graphical model analytically
    j_g, j_x = synth.encoder_.columns.index("g"), synth.encoder_.columns.index("x")
    joint = synth.model_.project((j_g, j_x))
    mask_g = synth._model_mask(j_g, 2)
    conditional = (joint * mask_g[:, None]).sum(axis=0)
    conditional = conditional / conditional.sum()
    counts = out["x"].value_counts()
    for k, value in enumerate(["p", "q", "r"]):
        assert _binomial_ok(int(counts.get(value, 0)), n, float(conditional[k])), value
    # and it is the relationship in the data: in group C, x is mostly "r" (shift 2)
    assert counts.get("r", 0) > n / 2


def test_numeric_condition_is_written_exactly(mst):
    out = mst.sample(300, seed=0, conditions={"age": 47, "y": True})
    assert (out["age"] == 47).all() and out["y"].all()
    assert str(out["age"].dtype) == str(mst.sample(5, seed=0)["age"].dtype)


def test_same_seed_same_rows_and_no_conditions_is_plain_sampling(mst):
    a = mst.sample(500, seed=7, shares={"g": "equal"})
    b = mst.sample(500, seed=7, shares={"g": "equal"})
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(mst.sample(500, seed=8, shares={"g": "equal"}))
    pd.testing.assert_frame_equal(mst.sample(50, seed=1, conditions={}), mst.sample(50, seed=1))


@pytest.mark.parametrize("n", [1, 7, 1001])
def test_requested_shares_are_met_to_one_row(mst, n):
    shares = {"A": 0.2, "B": 0.3, "C": 0.5}
    out = mst.sample(n, seed=1, shares={"g": shares})
    assert len(out) == n
    counts = out["g"].value_counts()
    for value, share in shares.items():
        assert abs(counts.get(value, 0) - n * share) < 1, (value, counts.to_dict())


def test_equal_shares_over_an_intersection(mst):
    out = mst.sample(1200, seed=2, shares={("g", "y"): "equal"})
    sizes = out.groupby(["g", "y"]).size()
    # every (g, y) the model can produce: 4 declared groups x 2 (D got noise mass, not zero)
    assert len(sizes) == 8 and sizes.min() == sizes.max() == 150
    assert out.index.equals(pd.RangeIndex(1200))
    # rows are shuffled, not in blocks of one group
    assert out["g"].iloc[:150].nunique() > 1


def test_rebalanced_groups_keep_their_inner_relationships(mst):
    """Within group C, x and y follow the model's conditional whether C is 5 % of the sample
    (unconditioned) or a third (rebalanced): P(x = r | C) agrees within binomial error."""
    big = mst.sample(40_000, seed=4)
    rebalanced = mst.sample(6000, seed=5, shares={"g": {"A": 1 / 3, "B": 1 / 3, "C": 1 / 3}})
    plain_c, rebal_c = big[big["g"] == "C"], rebalanced[rebalanced["g"] == "C"]
    p_plain = float((plain_c["x"] == "r").mean())
    p_rebal = float((rebal_c["x"] == "r").mean())
    se = math.sqrt(p_plain * (1 - p_plain) * (1 / len(plain_c) + 1 / len(rebal_c)))
    assert abs(p_plain - p_rebal) <= 4.5 * se


def test_a_value_outside_an_estimated_range_says_how_to_cover_it() -> None:
    """Without metadata a DP fit estimates each number's range; one city's latitudes get one
    around their rows (:func:`~tabsynth.privacy.dp_range_quantiles`). A value outside it is
    refused with that range and the fix (declare the bounds), not a fit's on_out_of_bounds."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"lat": rng.normal(44.97, 0.03, 20_000), "sex": rng.choice(["F", "M"], 20_000)}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seeded noise
        synth = MSTSynthesizer(epsilon=1.0, noise_seed=1, max_iters=50).fit(frame)
    lower, upper = synth.encoder_.codecs["lat"].edges[[0, -1]]
    assert 44.0 < lower < upper < 46.0
    with pytest.raises(ParameterError, match=r"covers, \[44\.\d+, 4[45]\.\d+\]\..*declare the"):
        synth.sample(5, conditions={"lat": lower - 0.01})
    inside = synth.sample(5, seed=0, conditions={"lat": (lower + upper) / 2})
    assert len(inside) == 5


def test_errors_are_clear(mst):
    with pytest.raises(ParameterError, match="Categories of the model: 'A', 'B', 'C', 'D'"):
        mst.sample(5, conditions={"g": "Z"})
    with pytest.raises(ParameterError, match="not a column"):
        mst.sample(5, conditions={"nope": 1})
    with pytest.raises(ParameterError, match=r"outside the range the model covers, \[\d+, \d+\]"):
        mst.sample(5, conditions={"age": 400})
    with pytest.raises(ParameterError, match="being missing"):
        mst.sample(5, conditions={"g": None})
    with pytest.raises(ParameterError, match=r"sum to 0\.9"):
        mst.sample(5, shares={"g": {"A": 0.5, "B": 0.4}})
    with pytest.raises(ParameterError, match="categorical or boolean"):
        mst.sample(5, shares={"age": "equal"})
    with pytest.raises(ParameterError, match="both in conditions and in shares"):
        mst.sample(5, conditions={"g": "A"}, shares={"g": "equal"})
    with pytest.raises(ParameterError, match="tuples of 2 values"):
        mst.sample(5, shares={("g", "x"): {"A": 1.0}})
    with pytest.raises(ParameterError, match="one entry"):
        mst.sample(5, shares={"g": "equal", "x": "equal"})


def test_allot_is_largest_remainder():
    assert allot(10, [1 / 3, 1 / 3, 1 / 3]).tolist() == [4, 3, 3]
    assert allot(7, [0.5, 0.5]).sum() == 7
    assert allot(3, [0.0, 1.0]).tolist() == [0, 3]


def dp_table(rare_rows: int) -> pd.DataFrame:
    """Groups with a DP-estimated domain: 'rare' is far too small to be released at ε = 1."""
    base = table(3000, seed=5)
    extra = base.iloc[:rare_rows].assign(g="rare")
    return pd.concat([base, extra], ignore_index=True)


def _messages(data: pd.DataFrame) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synth = MSTSynthesizer(epsilon=1.0, max_iters=50, noise_seed=9).fit(data)
    out = []
    for conditions in ({"g": "rare"}, {"g": "never"}, {"x": "p", "g": "rare"}):
        with pytest.raises(ParameterError) as info:
            synth.sample(5, seed=0, conditions=conditions)
        out.append(str(info.value))
    out.append(sorted(synth.sample(400, seed=0, shares={"g": "equal"})["g"].unique()))
    return out


def test_a_category_merged_by_dp_is_refused_and_the_refusal_is_neighbour_safe():
    """D and D plus one more row of the rare group, same seeds: the released domain does not
    list 'rare' (merged into <other>), and every message and the equal-share groups match."""
    first, second = _messages(dp_table(3)), _messages(dp_table(4))
    assert "merges categories" in first[0] and "'rare'" in first[0]
    assert "'rare'" not in first[3]
    assert first == second


def test_zero_probability_value_is_refused():
    """Declared groups D and E have no rows; MST merges them into one code and splits it back
    by their noisy counts, so with this noise E's count is negative and the model never draws
    E. Conditioning on E is refused (not silently ignored) and equal shares skip it."""
    cols = dict(public_metadata().columns)
    cols["g"] = ColumnSpec("categorical", categories=("A", "B", "C", "D", "E"), nullable=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synth = MSTSynthesizer(epsilon=1.0, max_iters=50, noise_seed=2, binning="uniform").fit(
            table(3000), Metadata(cols, source="user", public=True)
        )
    j = synth.encoder_.columns.index("g")
    assert synth._condition_probability({j: synth._model_mask(j, 4)}) == 0  # precondition
    with pytest.raises(ParameterError, match="no probability"):
        synth.sample(5, conditions={"g": "E"})
    assert (synth.sample(5, seed=0, conditions={"g": "D"})["g"] == "D").all()
    equal = synth.sample(400, seed=0, shares={"g": "equal"})
    assert equal["g"].value_counts().to_dict() == dict.fromkeys("ABCD", 100)


def test_gaussian_copula_samples_conditionally_through_sdv():
    from tabsynth import GaussianCopulaSynthesizer

    synth = GaussianCopulaSynthesizer(seed=0).fit(table(1500))
    out = synth.sample(300, seed=1, conditions={"g": "C"})
    assert len(out) == 300 and (out["g"] == "C").all()
    rebalanced = synth.sample(301, seed=1, shares={"g": "equal"})
    assert sorted(rebalanced["g"].value_counts().tolist()) == [100, 100, 101]
    with pytest.raises(ParameterError, match="'g'"):
        synth.sample(5, conditions={"g": "Z"})


def test_autoregressive_rebalances_through_its_conditions():
    from tabsynth import AutoregressiveSynthesizer

    synth = AutoregressiveSynthesizer(epochs=2, seed=0, progress=False).fit(table(1500))
    out = synth.sample(200, seed=0, shares={("g", "y"): {("C", True): 0.5, ("A", False): 0.5}})
    assert out.groupby(["g", "y"]).size().to_dict() == {("A", False): 100, ("C", True): 100}
