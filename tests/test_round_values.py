"""Round values: the ladder of steps, the classes a DP histogram counts, decoding on them, and
the release in the DP domain (``tabsynth/round_values.py``, ``dp_domain._round_values``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_dp_domain import run

from tabsynth import round_values
from tabsynth.domain import BinnedCodec, codec_from_dict
from tabsynth.errors import MetadataError, ModelFileError
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.privacy import sigma_for_rho
from tabsynth.synthesizers import dp_domain


def test_the_ladder_reaches_the_larger_magnitude_of_the_bounds() -> None:
    assert round_values.ladder(10_000, 1_000_000).tolist() == [
        1, 5, 10, 50, 100, 500, 1_000, 5_000, 10_000, 50_000, 100_000, 500_000, 1_000_000
    ]  # fmt: skip
    assert round_values.ladder(-340_000, 170_000)[-1] == 100_000
    assert round_values.ladder(-7, 2).tolist() == [1, 5]
    assert round_values.ladder(0, 4).tolist() == [1]


def test_each_value_is_counted_once_under_its_largest_step() -> None:
    steps = round_values.ladder(0, 10_000)  # 1, 5, 10, 50, ..., 10000
    values = np.array([7, 3, 5, 15, 10, 120, 50, -2_000, 0, 25_000])
    counts = round_values.class_counts(values, steps)
    by_step = dict(zip(steps.tolist(), counts.tolist(), strict=True))
    # 7, 3 -> 1; 5, 15 -> 5; 10, 120 -> 10; 50 -> 50; -2000 -> 1000; 0 and 25000 -> the top
    # step that divides them (0: every step; 25000: 5000)
    assert by_step == {
        1: 2, 5: 2, 10: 2, 50: 1, 100: 0, 500: 0, 1_000: 1, 5_000: 1, 10_000: 1
    }  # fmt: skip
    # one value more moves one count by one: the histogram's L2 sensitivity is 1
    rng = np.random.default_rng(3)
    base = rng.integers(-50_000, 50_000, 500) * rng.choice([1, 10, 1000], 500)
    for extra in (0, 1, 35, 4_000, -70_000):
        more = round_values.class_counts(np.append(base, extra), steps)
        diff = more - round_values.class_counts(base, steps)
        assert sorted(diff.tolist()) == [0] * (len(steps) - 1) + [1]


def draw(first: int, last: int, weights: dict[float, float], n: int = 2_000) -> np.ndarray:
    steps = round_values.ladder(0, 10_000)
    w = np.array([weights.get(s, 0.0) for s in steps])
    ends = np.full(n, float(first)), np.full(n, float(last))
    return round_values.draw(*ends, steps, w, np.random.default_rng(0))


def test_a_drawn_value_is_a_member_of_its_class_inside_the_range() -> None:
    # class 100: the multiples of 100 that are not multiples of 500
    values = draw(1, 10_000, {100: 1.0})
    assert np.all(values % 100 == 0) and not np.any(values % 500 == 0)
    assert values.min() >= 100 and values.max() <= 9_900
    assert len(np.unique(values)) == 80  # uniform over its 80 members
    # negative ranges: class 1000 in [-2999, -1001] holds -2000 alone
    assert set(draw(-2_999, -1_001, {1_000: 1.0}).tolist()) == {-2_000.0}
    ones = draw(-2_999, -1_001, {1: 1.0})
    assert np.all(ones % 5 != 0) and ones.min() >= -2_999 and ones.max() <= -1_001
    # the top step's class is all its multiples, 0 among them
    assert set(draw(-1_500, 1_500, {10_000: 1.0}).tolist()) == {0.0}
    # a single whole number is the only draw
    assert set(draw(1_234, 1_234, {1_000: 0.5, 1: 0.5}).tolist()) == {1_234.0}


def test_a_range_without_members_of_weighted_classes_is_drawn_uniformly() -> None:
    # no multiple of 1000 in [1001, 1999]: every whole number there, not the roundest one
    values = draw(1_001, 1_999, {1_000: 1.0})
    assert values.min() >= 1_001 and values.max() <= 1_999
    assert len(np.unique(values)) > 600 and np.mean(values == 1_500) < 0.01
    # with class 1 weighted as well, the range takes class 1 alone
    assert not np.any(draw(1_001, 1_999, {1: 0.8, 1_000: 0.2}) % 5 == 0)


def test_values_of_no_roundness_come_back_no_rounder() -> None:
    """Uniform whole numbers, their exact weights, then draws: the shares of multiples of 5,
    10 and 1000 stay 1/5, 1/10 and 1/1000 within 5 binomial standard deviations."""
    n = 20_000
    rows = np.arange(1, 10_001)
    weights = dict(round_values.observed(rows, np.array([0.5, 10_000.5]), 1, 10_000))
    values = draw(1, 10_000, weights, n)
    for step, share in ((5, 0.2), (10, 0.1), (1_000, 0.001)):
        assert abs(np.mean(values % step == 0) - share) < 5 * np.sqrt(share * (1 - share) / n)


def test_classes_are_drawn_with_their_weights() -> None:
    n = 20_000
    values = draw(1, 10_000, {1: 0.5, 1_000: 0.5}, n)
    # class 1 holds no multiple of 5, so the multiples of 1000 are the draws of class 1000:
    # a binomial share of 0.5, standard deviation sqrt(0.25 / n) = 0.0035, tolerance 5 of them
    assert abs(np.mean(values % 1_000 == 0) - 0.5) < 5 * np.sqrt(0.25 / n)
    assert not np.any(values % 5_000 == 0)


def test_a_round_value_takes_its_bin_as_far_as_its_class_beats_chance() -> None:
    """Half the rows on multiples of 1000, which are 8 in 10,000 of the integers (multiples of
    5000 being another class): such a value is 0.5 / 0.0008 = 625 times likelier than chance,
    a value of class 1 (not a multiple of 5) 0.5 / 0.8 = 0.625 times. In [2937, 3036], 3000 is
    the one member of class 1000 and 80 numbers are of class 1, so 3000 takes
    625 / (625 + 80 * 0.625) = 0.926 of the draws (standard deviation 0.0059 for 2,000)."""
    values = draw(2_937, 3_036, {1: 0.5, 1_000: 0.5})
    assert abs(np.mean(values == 3_000) - 625 / 675) < 5 * np.sqrt(0.926 * 0.074 / 2_000)
    assert not np.any((values != 3_000) & (values % 5 == 0))


LIMITS = np.array([9_999.5, 19_999.5, 57_175.5, 69_033.5, 120_000.5])


def test_a_codec_with_steps_decodes_a_bin_onto_its_round_values() -> None:
    steps = [(s, 0.0) for s in round_values.ladder(10_000, 120_000)]
    steps[8] = (10_000.0, 1.0)
    codec = BinnedCodec(LIMITS, integer=True, nullable=False, steps=tuple(steps))
    values = codec.decode(np.array([2] * 50 + [3] * 50), np.random.default_rng(1))
    assert set(values[:50]) == {60_000.0}  # the bin's one member of the class
    # 100,000 is a multiple of 50,000: another class
    assert set(values[50:]) <= {70_000.0, 80_000.0, 90_000.0, 110_000.0, 120_000.0}
    assert codec_from_dict(codec.to_dict()).to_dict() == codec.to_dict()


def test_no_steps_or_no_weight_decodes_uniformly_as_before() -> None:
    codes = np.arange(4).repeat(25)
    plain = BinnedCodec(LIMITS, integer=True, nullable=False)
    zero = BinnedCodec(LIMITS, integer=True, nullable=False, steps=((1, 0.0), (5, 0.0)))
    uniform = plain.decode(codes, np.random.default_rng(2))
    assert uniform.equals(zero.decode(codes, np.random.default_rng(2)))
    # the draw of the versions before round values: first + floor(u * count) per bin
    first, last = np.ceil(LIMITS[codes]), np.ceil(LIMITS[codes + 1]) - 1
    last[codes == 3] = np.floor(LIMITS[4])  # the last bin is closed
    u = np.random.default_rng(2).random(codes.size)
    assert uniform.tolist() == (first + np.floor(u * (last - first + 1))).tolist()
    # no steps, no "steps" key: such a file stays readable by versions before round values
    assert "steps" not in plain.to_dict()
    assert codec_from_dict(plain.to_dict()).to_dict() == plain.to_dict()


@pytest.mark.parametrize(
    "steps, integer",
    [
        (((1, 1.0),), False),  # a float column
        (((1, 1.0), (5, -0.1)), True),  # a negative weight
        (((1, 1.0), (5, float("nan"))), True),
        (((1, 1.0), (10, 1.0), (5, 1.0)), True),  # not ascending
        (((5, 1.0), (10, 1.0)), True),  # no step 1 to fall back on
        (((1, 1.0), (2.5, 1.0)), True),  # not a whole number
        ((("a", 1.0),), True),
        (((1, 1.0), (float("inf"), 1.0)), True),
        (((1, 1.0), (10**400, 1.0)), True),  # too large for a float
        (((1, 1e308), (5, 1e308)), True),  # weights whose sum overflows
        (((1, 1.0), (5, 1.0), (12, 1.0)), True),  # 5 does not divide 12
        (((1, 2, 3),), True),
    ],
)
def test_malformed_steps_are_refused(steps, integer) -> None:
    with pytest.raises(MetadataError, match=r"round-value steps|integer column"):
        BinnedCodec(LIMITS, integer=integer, steps=steps)
    raw = {**BinnedCodec(LIMITS, integer=integer).to_dict(), "steps": steps}
    with pytest.raises(ModelFileError, match="corrupt column codec"):
        codec_from_dict(raw)


# ---------------------------------------------------------------------------------------------
# the DP release


def limits_table(n: int = 6_000) -> pd.DataFrame:
    """Credit limits: multiples of 10,000 with a spike at 50,000, a few odd ones, missing."""
    rng = np.random.default_rng(5)
    limit = rng.integers(1, 60, n) * 10_000.0
    limit[rng.random(n) < 0.3] = 50_000
    limit[:40] = rng.integers(10_001, 600_000, 40)
    limit[40:60] = np.nan
    return pd.DataFrame(
        {"limit": limit, "rate": rng.uniform(0, 1, n), "small": rng.integers(0, 9, n)}
    )


def spy(monkeypatch) -> list[dict]:
    """Records what each round-value release counted, drew and returned."""
    seen: list[dict] = []
    real = dp_domain.gaussian_counts

    def recording(counts, sigma, **kwargs):
        noisy = real(counts, sigma, **kwargs)
        if kwargs["purpose"].startswith("round values"):
            seen.append(
                {
                    "purpose": kwargs["purpose"],
                    "counts": np.asarray(counts),
                    "sigma": sigma,
                    "noisy": noisy,
                }
            )
        return noisy

    monkeypatch.setattr(dp_domain, "gaussian_counts", recording)
    return seen


def declared(upper: int = 600_000) -> Metadata:
    return Metadata(
        {
            "limit": ColumnSpec("numerical", dtype="int", lower=10_000, upper=upper),
            "rate": ColumnSpec("numerical", dtype="float", lower=0, upper=1),
            "small": ColumnSpec("numerical", dtype="int", lower=0, upper=8),
        }
    )


def test_the_release_counts_the_rows_outside_the_point_bins(monkeypatch) -> None:
    frame = limits_table()
    seen = spy(monkeypatch)
    encoder, ledger = run(frame, declared())
    # only the integer column whose bins are not one per value: not the float, not "small"
    (entry,) = [e for e in ledger.entries if e.purpose.startswith("round values")]
    assert entry.purpose == "round values of column 'limit'" and entry.mechanism == "gaussian"
    codec = encoder.codecs["limit"]
    assert 50_000 - 0.5 in codec.edges and 50_000 + 0.5 in codec.edges  # its point bin
    rows = frame["limit"].dropna().to_numpy()
    ladder = round_values.ladder(10_000, 600_000)
    # the rows of the bins of more than one whole number, read off the released edges
    wide = round_values.in_wide_bins(rows, codec.edges)
    assert 0 < wide.sum() < 0.7 * rows.size  # the point bin's 30 % and more are left out
    expected = round_values.class_counts(rows[wide], ladder)
    (record,) = seen
    assert record["counts"].tolist() == expected.tolist()
    # its share: STEP_SHARE of the column's edge budget left after the frequent values
    share = ledger.rho_budget / 2 / 2  # two columns to estimate: limit and rate
    rho = share * (1 - dp_domain.POINT_SHARE) * dp_domain.STEP_SHARE
    assert record["sigma"] == pytest.approx(sigma_for_rho(rho))
    # the codec's weights are the noisy counts, 0 below STEP_SIGMAS sigma: post-processing
    noisy, floor = record["noisy"], dp_domain.STEP_SIGMAS * record["sigma"]
    assert [w for _, w in codec.steps] == np.where(noisy >= floor, noisy, 0.0).tolist()
    assert [s for s, _ in codec.steps] == ladder.tolist()
    assert encoder.codecs["rate"].steps == () and encoder.codecs["small"].steps == ()


def test_decoded_limits_land_on_their_round_values() -> None:
    frame = limits_table()
    encoder, _ = run(frame, declared())
    codec = encoder.codecs["limit"]
    rows = frame["limit"].dropna()
    decoded = codec.decode(codec.encode(rows), np.random.default_rng(0))
    # 40 of 5,940 rows are not multiples of 10,000; uniform decoding would leave about 1 in
    # 10,000 of the others on one
    assert np.mean(decoded % 10_000 == 0) > 0.95


def test_nothing_is_spent_where_decoding_cannot_use_it(monkeypatch) -> None:
    seen = spy(monkeypatch)
    frame = limits_table()
    # uniform bins over public bounds cost nothing
    _, ledger = run(frame, declared(), binning="uniform")
    assert ledger.entries == ()
    # bounds below 5 leave one step: nothing to weigh
    small = Metadata({"small": ColumnSpec("numerical", dtype="int", lower=0, upper=4)})
    _, ledger = run(frame[["small"]].clip(upper=4), small, bins=2)
    assert [e.purpose for e in ledger.entries] == [
        "frequent values of column 'small'",
        "bin edges of column 'small'",
    ]
    assert seen == []


def test_the_non_private_weights_count_the_rows_of_wide_bins() -> None:
    edges = np.array([-0.5, 0.5, 9_999.5, 10_000.5, 60_000.5])  # 0 and 10,000 alone
    values = np.array([0, 0, 10_000, 10_000, 20_000, 30_000, 37, np.nan])
    weights = dict(round_values.observed(values, edges, 0, 60_000))
    assert weights[10_000] == 2 and weights[1] == 1 and sum(weights.values()) == 3
    assert round_values.observed(values, edges, 0, 4) == ()


def test_the_non_private_model_decodes_on_round_values() -> None:
    from tabsynth.synthesizers.autoregressive.encoding import fine_encoder

    frame = limits_table()
    encoder = fine_encoder(frame, declared(), bins=16)
    steps = dict(encoder.codecs["limit"].steps)
    assert steps[10_000] + steps[50_000] + steps[100_000] > 0.9 * sum(steps.values())
    assert encoder.codecs["rate"].steps == ()


class _Highest:
    """A generator whose every uniform is the largest below 1."""

    def random(self, shape):
        return np.full(shape, 1 - 2**-53)


def test_the_highest_uniform_stays_inside_the_range_and_its_classes() -> None:
    """Where pick * total rounds up to the total, the draw takes the last class with odds,
    not the top step (here without weight and without a member in the range)."""
    steps = round_values.ladder(0, 1e12)
    weights = np.random.default_rng(0).random(len(steps))
    weights[-1] = 0.0
    first, last = np.array([852_052_332.0]), np.array([852_060_452.0])
    (value,) = round_values.draw(first, last, steps, weights, _Highest())
    assert first[0] <= value <= last[0] and value % 10_000 == 0
