"""Second looks at integer codes on the list their first release implies
(:mod:`tabsynth.synthesizers.code_ranges`, ``listed`` in
:func:`~tabsynth.privacy.mechanisms.dp_category_look`)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from tabsynth.domain import OTHER
from tabsynth.errors import ParameterError
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.privacy import NoiseSource, PrivacyLedger, mechanisms
from tabsynth.privacy.mechanisms import (
    LISTED_FALSE_RATE,
    ListedCounts,
    _singleton_threshold,
    _variance_for_rho,
    dp_category_look,
)
from tabsynth.synthesizers import MSTSynthesizer, dp_tails, load
from tabsynth.synthesizers.code_ranges import MAX_CODES, MIN_REACH, implied_codes, rare_codes
from tabsynth.synthesizers.dp_domain import private_domain

pytestmark = pytest.mark.filterwarnings("ignore:noise_seed")

# -- the list ----------------------------------------------------------------------------------


def test_text_codes_imply_the_integers_around_them_as_text() -> None:
    """Released 10..30 (span 20): the list runs from -10, held at 0 since no code is
    negative, to 50, without the released ones."""
    codes = implied_codes(["10", "12", "30"])
    assert codes == [str(c) for c in range(0, 51) if c not in (10, 12, 30)]


def test_negative_codes_reach_below_zero() -> None:
    codes = implied_codes(["-2", "-1", "0", "2"])
    assert codes == [
        str(c) for c in range(-2 - MIN_REACH, 2 + MIN_REACH + 1) if c not in (-2, -1, 0, 2)
    ]


def test_text_of_a_str_subtype_implies_plain_text() -> None:
    assert implied_codes(["1", np.str_("2")]) == ["0", *map(str, range(3, 11))]


def test_a_single_code_reaches_min_reach_either_way() -> None:
    assert implied_codes(["0"]) == [str(c) for c in range(1, MIN_REACH + 1)]
    assert implied_codes(["7"]) == [str(c) for c in range(0, 7 + MIN_REACH + 1) if c != 7]


@pytest.mark.parametrize(
    "released",
    [
        ["1", "02"],  # a leading zero: the codes are text, "2" is not "02"
        ["1", "+2"],
        ["-0"],
        ["1", 2],  # text and a number: undeclared categories reach a fit as text
        [1, 2],
        ["1", "2.0"],
        ["1", "A"],
        [1.0, 2.0],
        [True, False],
        [np.bool_(True)],
        ["V57", "250"],
        [],
    ],
)
def test_values_that_are_not_integers_written_one_way_imply_nothing(released) -> None:
    assert implied_codes(released) == []


def test_a_wide_span_reaches_as_far_as_the_cap_allows() -> None:
    """-1 and h span h + 1, stretched by that each way: 3h + 4 codes, all 1,024 for h = 340
    (the list holds all but the two released). For h = 341 the reach shrinks to
    (1,023 - 342) // 2 = 340, and to 8 for the widest span that fits, 1,007: -9 to 1,014.
    100 and 900 reach 111 either way, held at 0 below."""
    codes = implied_codes(["-1", "340"])
    assert (codes[0], codes[-1], len(codes)) == ("-342", "681", MAX_CODES - 2)
    codes = implied_codes(["-1", "341"])
    assert (codes[0], codes[-1], len(codes)) == ("-341", "681", MAX_CODES - 3)
    codes = implied_codes(["-1", "1006"])
    assert (codes[0], codes[-1], len(codes)) == (str(-1 - MIN_REACH), "1014", MAX_CODES - 2)
    assert implied_codes(["-1", "1007"]) == []
    codes = implied_codes(["100", "900"])
    assert (codes[0], codes[-1], len(codes)) == ("0", "1011", 1010)
    # the reach is set before the clip at 0: from 0, spans up to 1,015 still fit
    assert len(implied_codes(["0", "1015"])) == MAX_CODES - 2
    assert implied_codes(["0", "1016"]) == []


def test_codes_among_other_values_imply_their_range_alone() -> None:
    """Diagnosis columns hold "250.83" and "V57" among 3-digit codes: with 3 of 4 released
    values integers the list is theirs; with 2 of 3, nothing."""
    assert implied_codes(["1", "2", "3", "V57"]) == ["0", *map(str, range(4, 12))]
    assert implied_codes(["1", "2", "250.83"]) == []
    assert "4" in implied_codes(["1", "2", "3", "04"])  # "04" is text, not the code 4


# -- the mechanism ----------------------------------------------------------------------------


def discrete_gaussian_tail(variance: float, at: int) -> float:
    """P(X ≥ at) for X ~ N_Z(0, σ²), summed over ±60 σ."""
    half = int(60 * np.sqrt(variance))
    k = np.arange(-half, half + 1)
    weights = np.exp(-(k.astype(float) ** 2) / (2 * variance))
    return float(weights[k >= at].sum() / weights.sum())


#: δ of the looks below: a threshold for values off the list far above any count here.
DELTA = 1e-300


def listed(values, candidates, rho, **kwargs):
    ledger = PrivacyLedger(1e6, 0.5, delta_reserved=0.1)
    kept, _, _ = dp_category_look(
        values,
        rho,
        DELTA,
        listed=candidates,
        ledger=ledger,
        purpose="codes",
        noise=NoiseSource.seeded(5),
        **kwargs,
    )
    return kept, ledger


def test_values_no_row_holds_pass_at_the_false_rate_and_no_more(monkeypatch) -> None:
    """ρ = 1/200: σ² = 100 and τ_L = 32, the first integer with P(X ≥ τ) ≤ 1e-3 (P = 8.1e-4;
    31 has 1.1e-3). Of 400,000 absent listed codes about 325 pass: a binomial's standard
    deviation is 18, so 5 of them allow 90 either way; σ² = 90 or 110 would give 179 or 532.
    (One list this long would take a lower rate for each code: lifted here.)"""
    monkeypatch.setattr(mechanisms, "LISTED_FALSE_PER_LIST", 1e9)
    candidates = [str(i) for i in range(400_000)]
    kept, ledger = listed([], candidates, 1 / 200)
    (entry,) = ledger.entries
    assert entry.params["listed_threshold"] == 32 and entry.params["listed"] == 400_000
    p = discrete_gaussian_tail(100.0, 32)
    assert p <= LISTED_FALSE_RATE < discrete_gaussian_tail(100.0, 31)
    assert abs(len(kept) - 400_000 * p) < 5 * np.sqrt(400_000 * p)


def test_a_long_list_passes_half_a_code_no_row_holds_on_average() -> None:
    """Lists of 1,000 absent codes take a rate of 0.5/1,000 a code: τ_L = 34 at σ² = 100
    (P(X ≥ 34) = 4.0e-4; 33 has 5.7e-4). 400 lists pass about 161 codes (standard deviation
    12.7; 5 of them allow 64), where the rate of 1e-3 would pass 325."""
    passed = 0
    for i in range(400):
        candidates = [f"{i}-{j}" for j in range(1000)]
        ledger = PrivacyLedger(1e6, 0.5, delta_reserved=0.1)
        kept, _, _ = dp_category_look(
            [],
            1 / 200,
            DELTA,
            listed=candidates,
            ledger=ledger,
            purpose="c",
            noise=NoiseSource.seeded(i),
        )
        passed += len(kept)
    assert ledger.entries[-1].params["listed_threshold"] == 34
    p = discrete_gaussian_tail(100.0, 34)
    assert p <= 0.5 / 1000 < discrete_gaussian_tail(100.0, 33)
    assert abs(passed - 400_000 * p) < 5 * np.sqrt(400_000 * p)


def test_a_held_value_passes_with_the_chance_its_noise_allows(monkeypatch) -> None:
    """40,000 listed codes held by 21 rows each, 11 below τ_L = 32: each passes with P(X ≥ 11)
    = 0.147 at σ² = 100 (0.134 or 0.158 at σ² = 90 or 110; the binomial's standard deviation
    is 0.0018, so 4 of them allow 0.0071)."""
    monkeypatch.setattr(mechanisms, "LISTED_FALSE_PER_LIST", 1e9)
    candidates = [str(i) for i in range(40_000)]
    values = [c for c in candidates for _ in range(21)]
    kept, _ = listed(values, candidates, 1 / 200)
    p = discrete_gaussian_tail(100.0, 11)
    assert len(kept) / 40_000 == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / 40_000))


def test_the_ledger_records_one_histogram_over_the_list_and_the_values_off_it() -> None:
    """One entry: the cost of one Gaussian histogram (a row's value is on the list or off it),
    with k = 3 values a row, and the δ that values off the list need."""
    kept, ledger = listed(["1"] * 500 + ["9"] * 3 + ["x"] * 4, ["1", "2", "9"], 0.01, per_row=3)
    (entry,) = ledger.entries
    assert entry.mechanism == "dp_categories" and entry.delta == DELTA
    variance = 3 * _variance_for_rho(0.01)
    assert Fraction(entry.params["variance"]) == variance
    assert entry.rho == pytest.approx(0.01, rel=1e-12) and entry.rho <= 0.01
    assert entry.params["listed"] == 3
    assert entry.params["listed_threshold"] == _singleton_threshold(variance, 1e-3) - 1
    assert entry.params["threshold"] == _singleton_threshold(variance, DELTA / 3)
    assert kept == ["1"]


def test_values_off_the_list_take_the_delta_threshold_and_the_largest_are_kept() -> None:
    """ρ = 1e-4 (σ = 70.7): listed codes need τ_L = 220, far below their 1,000-3,000 rows;
    "x", off the list, needs the δ threshold, 2,622 at δ = 1e-300 (8.8 σ above its 2,000
    rows) and 426 at δ = 1e-9 (below its 5,000). The cap keeps the two largest noisy counts
    of both parts (10 σ apart)."""
    values = ["5"] * 3000 + ["3"] * 1000 + ["4"] * 2000 + ["x"] * 2000
    kept, _ = listed(values, ["5", "4", "3", "x2"], 1e-4, max_categories=2)
    assert kept == ["4", "5"]
    ledger = PrivacyLedger(1e6, 0.5, delta_reserved=0.1)
    kept, _, _ = dp_category_look(
        values + ["x"] * 3000,
        1e-4,
        1e-9,
        listed=["5", "4", "3"],
        max_categories=2,
        ledger=ledger,
        purpose="codes",
        noise=NoiseSource.seeded(5),
    )
    assert kept == ["5", "x"]


def test_listed_values_take_fresh_noise_only_and_are_not_left_for_a_later_look() -> None:
    """A first look (σ = 707) keeps "1" (5,000 rows) and leaves "3" and "x" (40 rows each)
    unreleased; a second look listing "3" combines only "x" with its first count, and returns
    only "x" among the counts left. "3" would pass only if its fresh noise alone cleared
    τ_L = 2,186 less its 40 rows (3 σ): not on this seed."""
    ledger = PrivacyLedger(1e6, 0.5, delta_reserved=0.1)
    first = ["1"] * 5000 + ["3"] * 40 + ["x"] * 40
    kept, left, _ = dp_category_look(
        first, 1e-6, 1e-9, ledger=ledger, purpose="c", noise=NoiseSource.seeded(1)
    )
    assert kept == ["1"] and set(left.noisy) == {"3", "x"}
    kept, again, _ = dp_category_look(
        ["3"] * 40 + ["x"] * 40,
        1e-6,
        1e-9,
        earlier=left,
        listed=["3", "4"],
        ledger=ledger,
        purpose="c",
        noise=NoiseSource.seeded(1),
    )
    assert kept == [] and set(again.noisy) == {"x"}
    entry = ledger.entries[-1]
    assert entry.params["listed"] == 2 and entry.params["listed_threshold"] == 2186
    assert "combined_sigma" in entry.params


def test_a_repeated_listed_value_is_refused() -> None:
    with pytest.raises(ParameterError, match="listed"):
        listed(["1"], ["1", "1"], 0.01)


# -- what "other" decodes to ------------------------------------------------------------------


def test_a_listed_look_returns_its_noisy_counts_of_the_listed_codes_it_leaves(
    monkeypatch,
) -> None:
    """σ² = 100, τ_L = 32; 20,000 listed codes held by no row and 20,000 by 10 rows. Every code
    left is returned, with count + X, X conditioned on staying under τ_L: the mean and
    variance of the discrete Gaussian below 32 (or 22), computed here. The means' standard
    errors are 0.071 (0.3 is 4 of them), the variances' 1 % (5 % allows σ² = 90 or 110
    neither)."""
    monkeypatch.setattr(mechanisms, "LISTED_FALSE_PER_LIST", 1e9)  # the rate of short lists
    absent, held = [f"a{i}" for i in range(20_000)], [f"h{i}" for i in range(20_000)]
    ledger = PrivacyLedger(1e6, 0.5, delta_reserved=0.1)
    kept, unreleased, left = dp_category_look(
        [c for c in held for _ in range(10)] + ["x"] * 50,
        1 / 200,
        DELTA,
        listed=absent + held,
        ledger=ledger,
        purpose="codes",
        noise=NoiseSource.seeded(2),
    )
    assert set(left.noisy) == set(absent + held) - set(kept) and left.variance == 100.0
    assert set(unreleased.noisy) == {"x"}
    k = np.arange(-600, 601)
    pmf = np.exp(-(k.astype(float) ** 2) / 200)
    for names, rows in ((absent, 0), (held, 10)):
        below = k < 32 - rows
        mean = float((k * pmf)[below].sum() / pmf[below].sum())
        variance = float(((k - mean) ** 2 * pmf)[below].sum() / pmf[below].sum())
        counts = np.array([left.noisy[c] for c in names if c in left.noisy])
        assert counts.mean() == pytest.approx(rows + mean, abs=0.3)
        assert counts.var() == pytest.approx(variance, rel=0.05)


def test_listed_counts_keep_the_fresh_variance_and_the_codes_the_cap_cut() -> None:
    """After a first look, the listed counts carry the fresh noise's variance 1/(2ρ), not the
    combined one (:func:`rare_codes` reads σ from it); with ``per_row=3``, 3/(2ρ). A listed
    code that clears τ_L = 2,186 (σ = 707) but loses to the cap is left, and returned."""
    ledger = PrivacyLedger(1e6, 0.5, delta_reserved=0.1)
    first = ["1"] * 5000 + ["x"] * 40
    _, left, _ = dp_category_look(
        first, 1e-6, 1e-9, ledger=ledger, purpose="c", noise=NoiseSource.seeded(1)
    )
    kept, again, listed_counts = dp_category_look(
        ["x"] * 40 + ["3"] * 30_000 + ["4"] * 20_000,
        1e-6,
        1e-9,
        earlier=left,
        listed=["3", "4", "5"],
        max_categories=1,
        ledger=ledger,
        purpose="c",
        noise=NoiseSource.seeded(2),
    )
    assert kept == ["3"] and set(listed_counts.noisy) == {"4", "5"}
    assert listed_counts.noisy["4"] == pytest.approx(20_000, abs=5 * 707)
    assert listed_counts.variance == float(_variance_for_rho(1e-6)) > again.variance
    _, _, grouped = dp_category_look(
        ["3"], 1e-6, 1e-9, listed=["3"], per_row=3, ledger=ledger, purpose="c"
    )
    assert grouped.variance == 3 * float(_variance_for_rho(1e-6))


def test_rare_codes_weigh_each_code_by_its_noisy_count_less_half_a_sigma() -> None:
    counts = {"3": 30.0, "4": 5.0, "5": -7.0, "6": 5.5, "7": 120.0}
    assert rare_codes(ListedCounts(counts, 100.0)) == {"3": 25.0, "6": 0.5, "7": 115.0}
    assert rare_codes(ListedCounts({"3": 4.0}, 100.0)) == {}


@pytest.mark.parametrize("seed", range(3))
def test_other_decodes_to_the_rare_codes_of_the_second_look(seed, monkeypatch) -> None:
    """Codes 0-2 (3,000 rows each) are released first; their tail, 3-6 (46 rows each) and
    7-10 (12 rows), stands out of the tally (232 rows, 89 needed: 3.2 σ), and the list 3-10
    they imply takes the second look (τ_L = 24, σ = 7.45): 3-6 pass, 7-10 mostly not. The
    column's codec decodes "other" by exactly what :func:`rare_codes` makes of that look's
    noisy counts of the codes it left; text codes take no list and keep ``"<other>"``. (A
    plain column's tail stands out of the tally by noise on some seeds; its look lists
    nothing.)"""
    looks = []

    def recorded(*args, **kwargs):
        looks.append(dp_category_look(*args, **kwargs))
        return looks[-1]

    monkeypatch.setattr(dp_tails, "dp_category_look", recorded)
    held = {
        "0": 3000,
        "1": 3000,
        "2": 3000,
        **dict.fromkeys("3456", 46),
        **dict.fromkeys("789", 12),
    }
    held["10"] = 12
    for spell in (str, lambda c: f"c{c}"):
        looks.clear()
        rng = np.random.default_rng(seed)
        codes = np.array([spell(c) for c, rows in held.items() for _ in range(rows)], dtype=object)
        rng.shuffle(codes)
        frame = pd.DataFrame({"code": codes})
        for name in ("a", "b", "c"):
            frame[name] = rng.choice(["F", "M"], len(codes)).astype(object)
        encoder = private_domain(
            frame,
            Metadata({name: ColumnSpec("categorical") for name in frame}),
            ledger=PrivacyLedger(50.0, 1e-9, delta_reserved=1e-10),
            rho=0.02,
            delta=1e-10,
            noise=NoiseSource.seeded(seed),
        )
        codec = encoder.codecs["code"]
        assert all(not c.rare for name, c in encoder.codecs.items() if name != "code")
        if spell is not str:
            assert not codec.rare and looks and not any(look.listed.noisy for look in looks)
            continue
        (look,) = [look for look in looks if look.listed.noisy]  # the code column's
        assert set(look.listed.noisy) == {str(c) for c in range(3, 11)} - set(codec.categories)
        assert dict(codec.rare) == rare_codes(look.listed) != {}
        back = codec.decode(np.full(1000, codec.other_code), np.random.default_rng(0))
        rare = dict(codec.rare)
        assert set(back) <= set(rare) and max(rare, key=rare.get) in set(back)


# -- the domain --------------------------------------------------------------------------------


def tails(seed: int, spell) -> pd.DataFrame:
    """A column of three codes held by 3,000 rows each and twelve held by 46, spelled by
    ``spell``; three more plain columns whose common values leave no tail."""
    rng = np.random.default_rng(seed)
    common, rare = [0, 1, 2], list(range(3, 15))
    codes = np.array(
        [spell(c) for c in [*np.repeat(common, 3000), *np.repeat(rare, 46)]], dtype=object
    )
    rng.shuffle(codes)
    out = {"code": codes}
    for name in ("a", "b", "c"):
        out[name] = rng.choice(["F", "M"], len(codes)).astype(object)
    return pd.DataFrame(out)


def estimate(frame: pd.DataFrame, seed: int):
    ledger = PrivacyLedger(50.0, 1e-9, delta_reserved=1e-10)
    encoder = private_domain(
        frame,
        Metadata({name: ColumnSpec("categorical") for name in frame}),
        ledger=ledger,
        rho=0.02,
        delta=1e-10,
        noise=NoiseSource.seeded(seed),
    )
    return set(encoder.metadata["code"].categories), ledger


@pytest.mark.parametrize("seed", range(3))
def test_integer_codes_come_through_a_second_look_that_text_misses(seed) -> None:
    """ρ = 0.02 over four columns: the code column's first look (σ = 14.1, τ = 96) keeps its
    three common codes, 3.5σ above the rare ones' 46 rows. Its tail takes the pool's second
    look (σ = 7.45). On the list of codes 0 to 10 the first release implies, the codes 3 to
    10 clear τ_L = 24 by 3σ (a miss about 1.3e-3 a code). Codes 11 to 14 are off the list and
    meet the δ threshold of the count combined with the first look's (σ_c = 6.6, τ_c = 45.2),
    which each passes about half the time; so do all of them spelled as text ("c3")."""
    as_codes, ledger = estimate(tails(seed, str), seed)
    assert {str(c) for c in range(11)} <= as_codes <= {str(c) for c in range(15)}
    (look,) = [e for e in ledger.entries if "listed" in e.params]
    assert "'code'" in look.purpose and "second look" in look.purpose
    assert look.params["listed"] == 8 and look.params["listed_threshold"] == 24
    assert look.params["threshold"] == pytest.approx(45.2, abs=0.05)
    as_text, ledger = estimate(tails(seed, lambda c: f"c{c}"), seed)
    assert {"c0", "c1", "c2"} < as_text  # 3 to 5 of c3 to c10 on these seeds
    assert len(as_text & {f"c{c}" for c in range(3, 11)}) < 8
    assert not any("listed" in e.params for e in ledger.entries)


def test_a_value_group_of_codes_looks_on_one_list_with_its_sensitivity() -> None:
    """Three columns declared one value group, each with the common codes 0-2 and its own
    rare codes (3-5, 6-8 and 9, 10 and 4, 46 rows each): the group's first look releases 0-2, its
    second look counts each row's distinct values on the list 3-10 (``per_row=3``: variance
    3/(2ρ), sensitivity √3; σ = 12.9, τ_L = 41 here, 0.4σ below 46 rows for a code that one
    column holds: each passes with chance 0.65), and every member gets the same codes."""
    rng = np.random.default_rng(0)
    frame = {}
    for i, name in enumerate(("p1", "p2", "p3")):
        rare = [[3, 4, 5], [6, 7, 8], [9, 10, 4]][i]
        codes = np.array([*np.repeat([0, 1, 2], 3000), *np.repeat(rare, 46)])
        rng.shuffle(codes)
        frame[name] = codes.astype(str).astype(object)
    frame["sex"] = rng.choice(["F", "M"], len(codes)).astype(object)
    group = ColumnSpec("categorical", value_group="pay")
    metadata = Metadata({"p1": group, "p2": group, "p3": group, "sex": ColumnSpec("categorical")})
    ledger = PrivacyLedger(50.0, 1e-9, delta_reserved=1e-10)
    encoder = private_domain(
        pd.DataFrame(frame),
        metadata,
        ledger=ledger,
        rho=0.02,
        delta=1e-10,
        noise=NoiseSource.seeded(0),
    )
    (look,) = [e for e in ledger.entries if "listed" in e.params]
    assert "value group 'pay'" in look.purpose and look.params["values_per_row"] == 3
    variance = float(Fraction(look.params["variance"]))
    assert look.rho == pytest.approx(3 / (2 * variance), rel=1e-12)
    assert look.params["listed"] == 8 and look.params["listed_threshold"] == 41
    released = {encoder.metadata[name].categories for name in ("p1", "p2", "p3")}
    assert len(released) == 1
    assert len({encoder.codecs[name].rare for name in ("p1", "p2", "p3")}) == 1
    assert {"0", "1", "2"} < set(next(iter(released))) <= {str(c) for c in range(11)}


def test_a_tail_that_does_not_stand_out_takes_no_listed_look() -> None:
    """Flags of 0 and 1 and a code column whose rare codes are too few to show in the tally:
    when no tail stands out every column looks again (the pool is spent regardless), but
    with the δ look, which cannot release a code no row holds; a listed look over 2 to 9
    would give each of those codes a chance."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "flag": rng.choice(["0", "1"], 6000).astype(object),
            "kids": rng.choice(["0", "1", "2"], 6000).astype(object),
            "sex": rng.choice(["F", "M"], 6000).astype(object),
        }
    )
    ledger = PrivacyLedger(50.0, 1e-9, delta_reserved=1e-10)
    private_domain(
        frame,
        Metadata({name: ColumnSpec("categorical") for name in frame}),
        ledger=ledger,
        rho=0.02,
        delta=1e-10,
        noise=NoiseSource.seeded(1),
    )
    seconds = [e for e in ledger.entries if "second look" in e.purpose]
    assert len(seconds) == 3 and not any("listed" in e.params for e in seconds)


def test_a_fit_saves_its_rare_codes_and_samples_them_for_other(tmp_path) -> None:
    """An MST fit at ε = 2 of a column like the one above, without code 10 (with this noise
    the listed look keeps 3-6 and leaves 7, 8 and 10 weights): the saved model keeps the
    codec's rare codes, and the loaded one samples no ``"<other>"``, only released codes and
    rare ones."""
    rng = np.random.default_rng(4)
    held = {**dict.fromkeys("012", 3000), **dict.fromkeys("3456", 46), **dict.fromkeys("789", 12)}
    codes = np.array([c for c, rows in held.items() for _ in range(rows)], dtype=object)
    rng.shuffle(codes)
    frame = pd.DataFrame({"code": codes})
    for name in ("a", "b", "c"):
        frame[name] = rng.choice(["F", "M"], len(codes)).astype(object)
    metadata = Metadata({name: ColumnSpec("categorical") for name in frame})
    fit = MSTSynthesizer(2.0, noise_seed=4, max_iters=50).fit(frame, metadata)
    codec = fit.encoder_.codecs["code"]
    assert codec.rare
    fit.save(tmp_path / "model.tsyn")
    loaded = load(tmp_path / "model.tsyn")
    assert loaded.encoder_.codecs["code"] == codec
    sample = loaded.sample(20_000, seed=1)["code"]
    assert OTHER not in set(sample)
    assert set(sample) <= set(codec.categories) | set(dict(codec.rare))
