"""DP domain estimation: what is charged, and what the estimated domain looks like.

Tests that check values use a large ρ (σ of a count ≤ about 1) and seeded noise, so the DP
estimates are within a few rows of the exact ones and every assertion is deterministic; each
tolerance below is justified next to it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabsynth.domain import OTHER, BinnedCodec, CategoryCodec, DomainEncoder
from tabsynth.errors import DomainEstimationError, ParameterError
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.privacy import NoiseSource, PrivacyLedger
from tabsynth.synthesizers import MSTSynthesizer
from tabsynth.synthesizers.autoregressive import AutoregressiveSynthesizer
from tabsynth.synthesizers.dp_domain import (
    FULL_SCALE,
    MAX_CATEGORIES,
    MAX_CATEGORY_WEIGHT,
    MAX_DOMAIN_SHARE,
    PRIVATE_DOMAIN_SHARE,
    PUBLIC_DOMAIN_SHARE,
    ROWS_SHARE,
    WEIGHT_STEP,
    category_weight,
    clipped_tails,
    columns_to_estimate,
    default_budget,
    domain_share,
    private_domain,
)

EPSILON, DELTA, RESERVED = 50.0, 1e-9, 1e-10
N = 20_000


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "age": rng.integers(20, 90, N).astype(float),
            "income": rng.uniform(1_000.0, 9_000.0, N),
            "visits": rng.integers(1, 8, N).astype(float),
            "city": rng.choice(["Lyon", "Paris", "Nice"], N, p=[0.3, 0.5, 0.2]).astype(object),
            "admitted": pd.Timestamp("2019-01-01")
            + pd.to_timedelta(rng.integers(0, 5 * 365, N), "D"),
            "smoker": rng.random(N) < 0.3,
            "patient": [f"P{i}" for i in range(N)],
        }
    )
    frame.loc[0, "city"] = "Atlantis"  # one row: kept only with probability δ
    frame.loc[rng.random(N) < 0.1, "income"] = np.nan
    return frame


def schema(frame: pd.DataFrame) -> Metadata:
    return Metadata.detect(frame).schema_only().declared()  # kinds checked: this test's own


def run(frame: pd.DataFrame, metadata: Metadata, **kwargs) -> tuple[DomainEncoder, PrivacyLedger]:
    ledger = PrivacyLedger(EPSILON, DELTA, delta_reserved=RESERVED)
    rho = kwargs.pop("rho", ledger.rho_budget / 2)
    clean = metadata.validate(frame)
    encoder = private_domain(
        clean,
        metadata,
        ledger=ledger,
        rho=rho,
        delta=RESERVED,
        noise=NoiseSource.seeded(1),
        **kwargs,
    )
    return encoder, ledger


def purposes(ledger: PrivacyLedger) -> dict[str, str]:
    return {e.purpose: e.mechanism for e in ledger.entries}


def test_public_domain_spends_nothing_but_edges(table: pd.DataFrame) -> None:
    public = Metadata(
        {
            "age": ColumnSpec("numerical", dtype="int", lower=0, upper=120),
            "income": ColumnSpec("numerical", dtype="float", lower=0.0, upper=10_000.0),
            "visits": ColumnSpec("numerical", dtype="int", lower=0, upper=20),
            "city": ColumnSpec("categorical", categories=("Lyon", "Paris", "Nice", "Atlantis")),
            "admitted": ColumnSpec("datetime", lower="2019-01-01", upper="2023-12-31"),
            "smoker": ColumnSpec("boolean"),
            "patient": ColumnSpec("id"),
        },
        public=True,
    )
    assert columns_to_estimate(public, "auto") == []
    encoder, ledger = run(table, public, binning="auto")
    assert ledger.entries == ()
    assert encoder.to_dict() == DomainEncoder.from_metadata(public).to_dict()
    # by default, DP quantile edges inside public bounds cost only the edges (and, for
    # numbers, their frequent values, and for integers their round values); "visits" spans
    # 21 values, fewer than the 32 bins, so its bounds alone give one bin per value
    assert columns_to_estimate(public) == ["age", "income", "admitted"]
    encoder, ledger = run(table, public)
    assert purposes(ledger) == {
        "frequent values of column 'age'": "dp_categories",
        "round values of column 'age'": "gaussian",
        "frequent values of column 'income'": "dp_categories",
        "bin edges of column 'age'": "dp_quantiles",
        "bin edges of column 'income'": "dp_quantiles",
        "bin edges of column 'admitted'": "dp_quantiles",
    }
    assert encoder.codecs["income"].edges[[0, -1]].tolist() == [0.0, 10_000.0]
    assert encoder.metadata["city"].categories == public["city"].categories


def test_every_release_is_charged_with_a_purpose(table: pd.DataFrame) -> None:
    encoder, ledger = run(table, schema(table))
    assert purposes(ledger) == {
        "range of column 'age'": "dp_bounds",
        "frequent values of column 'age'": "dp_categories",
        "round values of column 'age'": "gaussian",
        # a range read from the data takes a look at where its rows are before its edges
        "bin edges of column 'age' (where the rows are)": "dp_quantiles",
        "bin edges of column 'age'": "dp_quantiles",
        "range of column 'income'": "dp_bounds",
        "frequent values of column 'income'": "dp_categories",
        "bin edges of column 'income' (where the rows are)": "dp_quantiles",
        "bin edges of column 'income'": "dp_quantiles",
        # visits spans 7 values: one bin each, no frequent values or quantiles needed
        "range of column 'visits'": "dp_bounds",
        "categories of column 'city'": "dp_categories",
        # the only categorical column: one look, nothing to pool (dp_tails)
        "range (years) of column 'admitted'": "gaussian",
        "bin edges of column 'admitted'": "dp_quantiles",
    }
    assert {e.phase for e in ledger.entries} == {"domain"}
    # equal shares per column; a column that needed no quantiles leaves part of its share
    assert ledger.spent_rho <= ledger.rho_budget / 2 * (1 + 1e-9)
    # (discrete Gaussian noise rounds σ² up, so each release costs up to 2^-32 less than asked)
    assert ledger.spent_rho > ledger.rho_budget / 2 * (1 - 0.75 / 5) * (1 - 1e-9)
    # δ is shared by the four thresholded columns before their ranges are known; visits's
    # share stays unspent, since its DP range gives it one bin per value
    assert ledger.spent_delta - ledger.conversion_delta == pytest.approx(RESERVED * 3 / 4)
    assert "patient" not in encoder.columns and "smoker" in encoder.columns


def test_estimated_domain_covers_the_data(table: pd.DataFrame) -> None:
    encoder, _ = run(table, schema(table))
    age, visits = encoder.codecs["age"], encoder.codecs["visits"]
    assert isinstance(age, BinnedCodec) and isinstance(visits, BinnedCodec)
    # dp_bounds returns signed powers of two around the data: 20..89 lies in (16, 128]
    assert (age.edges[0], age.edges[-1]) == (15.5, 128.5)
    # one bin per integer 1..7 (dp_bounds rounds out to [1, 8] or [0.5, 8])
    assert np.all(np.diff(visits.edges[:-1]) == 1.0) and visits.edges[-1] >= 7.5
    city = encoder.codecs["city"]
    assert isinstance(city, CategoryCodec)
    assert sorted(city.categories) == ["Lyon", "Nice", "Paris"]  # Atlantis: a single row
    assert city.other and city.nullable
    # the years 2019..2023, each grown by a year with the false step's chance (occupied_span)
    assert encoder.metadata["admitted"].lower in (pd.Timestamp(y, 1, 1) for y in (2018, 2019))
    assert encoder.metadata["admitted"].upper in (pd.Timestamp(y, 1, 1) for y in (2024, 2025))


def test_quantile_bins_hold_equal_shares(table: pd.DataFrame) -> None:
    """Bins at DP quantiles of a uniform column hold about 1/bins of the rows each.

    Here σ ≈ 0.66 rows: the noisy CDF is off by about sqrt(cells below) * σ ≤ 16σ ≈ 11 rows,
    below 5 times that (53 rows, 0.3 % of the 18,000 non-missing rows) with overwhelming
    probability. Inside a grid cell ((16384 - 512)/256 = 62 units, about 140 rows) the quantile
    is interpolated as if the rows were spread evenly, which for a uniform column is off by
    the chance fluctuation of where those rows fall: a few tens of rows. So each edge is
    within about 0.5 % of the rows of its target, and each bin (3.1 %) holds between 2 % and
    4.3 %.
    """
    encoder, _ = run(table, schema(table), bins=32)
    income = table["income"].dropna()
    codes = encoder.codecs["income"].encode(income)
    shares = np.bincount(codes, minlength=32)[:32] / len(income)
    assert shares.min() > 0.02 and shares.max() < 0.043
    assert len(encoder.codecs["income"].edges) == 33


def test_uniform_binning_spends_nothing_on_edges(table: pd.DataFrame) -> None:
    encoder, ledger = run(table, schema(table), binning="uniform")
    assert not any(e.mechanism == "dp_quantiles" for e in ledger.entries)
    edges = encoder.codecs["income"].edges
    # a point bin at each bound, equal widths between
    assert edges[0] == edges[1] and edges[-2] == edges[-1]
    assert np.allclose(np.diff(edges[1:-1]), np.diff(edges)[1])
    with pytest.raises(ParameterError, match="binning"):
        run(table, schema(table), binning="log")


def test_high_cardinality_is_compressed_into_other() -> None:
    rng = np.random.default_rng(2)
    names = [f"c{i:03d}" for i in range(200)]
    frame = pd.DataFrame({"code": rng.choice(names, 40_000).astype(object)})
    encoder, _ = run(frame, schema(frame))
    codec = encoder.codecs["code"]
    assert len(codec.categories) == MAX_CATEGORIES and codec.other
    # the most frequent are kept: noise of σ < 1 row can only swap near-ties
    counts = frame["code"].value_counts()
    kept = counts[list(codec.categories)]
    assert kept.min() >= counts.drop(kept.index).max() - 3
    codes = codec.encode(frame["code"])
    assert (codes == codec.other_code).sum() == counts.drop(kept.index).sum()


def test_declared_bound_is_kept_and_the_other_estimated(table: pd.DataFrame) -> None:
    md = schema(table).with_columns(age=ColumnSpec("numerical", dtype="int", lower=0))
    encoder, ledger = run(table, md)
    edges = encoder.codecs["age"].edges
    assert edges[0] == -0.5 and edges[-1] == 128.5
    assert "range of column 'age'" in purposes(ledger)


def test_a_column_in_a_sliver_of_its_bounds_gets_a_range_around_its_rows(
    table: pd.DataFrame,
) -> None:
    """Latitudes of one city (44.97 ± 0.03) get dp_bounds' [32, 64]; the edges' look finds them
    in a few of its 256 cells and zooms there (:func:`~tabsynth.privacy.dp_range_quantiles`),
    so the column's range is those cells and no bin decodes rows at latitude 32 or 60. A
    declared bound keeps the range: the user's word on it stands."""
    rng = np.random.default_rng(3)
    frame = table.assign(lat=rng.normal(44.97, 0.03, N))
    encoder, ledger = run(frame, schema(frame))
    released = encoder.metadata["lat"]
    # at most 16 of the look's cells, less the new grid's empty ends: all but 1 % of the rows
    assert released.lower >= 44.0 and released.upper <= 46.0
    assert released.upper - released.lower <= 16 * 32 / 256
    outside = (frame["lat"] < released.lower) | (frame["lat"] > released.upper)
    assert outside.mean() < 0.015
    edges = encoder.codecs["lat"].edges
    assert (edges[0], edges[-1]) == (released.lower, released.upper)
    # no point bin at an end: a cut the narrower range clipped is no value rows hold
    assert edges[0] < edges[1] and edges[-2] < edges[-1]
    back = encoder.decode(encoder.encode(schema(frame).validate(frame)), np.random.default_rng(0))
    assert back["lat"].between(released.lower, released.upper).all()
    zoomed = [e for e in ledger.entries if e.purpose == "bin edges of column 'lat'"]
    assert zoomed[0].params["lower"] <= released.lower < released.upper <= zoomed[0].params["upper"]
    declared = schema(frame).with_columns(lat=ColumnSpec("numerical", dtype="float", upper=64.0))
    encoder, ledger = run(frame, declared)
    assert encoder.metadata["lat"].upper == 64.0 and encoder.codecs["lat"].edges[-1] == 64.0
    assert "bin edges of column 'lat' (where the rows are)" not in purposes(ledger)


def test_a_released_pile_at_an_estimated_end_is_a_clipped_tail() -> None:
    """No row of dp_bounds' buckets equals the open end of its range: rows held there were
    clipped onto it, and when they are released as a frequent value the end reaches 0."""
    kept = np.array([65536.0, 1e6])
    assert clipped_tails(65536.0, 2.0**28, kept, (True, True))[:2] == (0.0, 2.0**28)
    assert clipped_tails(65536.0, 2.0**28, kept, (True, True))[2].tolist() == [1e6]
    # a declared end stays, and so does an end no pile was released at (ages from 17: 16)
    assert clipped_tails(65536.0, 2.0**28, kept, (False, True))[:2] == (65536.0, 2.0**28)
    assert clipped_tails(16.0, 128.0, np.array([20.0]), (True, True))[:2] == (16.0, 128.0)
    assert clipped_tails(0.0, 128.0, np.array([0.0]), (True, True))[:2] == (0.0, 128.0)
    # a negative range's upper end, the mirror image
    low, high, rest = clipped_tails(-(2.0**20), -1024.0, np.array([-1024.0]), (True, True))
    assert (low, high, rest.size) == (-(2.0**20), 0.0, 0)


def test_decode_returns_original_kinds(table: pd.DataFrame) -> None:
    md = schema(table)
    encoder, _ = run(table, md)
    clean = md.validate(table)
    back = encoder.decode(encoder.encode(clean), np.random.default_rng(0))
    assert list(back.columns) == list(table.columns)
    assert pd.api.types.is_datetime64_any_dtype(back["admitted"])
    released = encoder.metadata["admitted"]  # 2019..2023, grown by a year or not (above)
    assert back["admitted"].between(released.lower, released.upper).all()
    assert set(back["city"].dropna()) == {"Lyon", "Paris", "Nice", OTHER}
    assert back["income"].isna().sum() == table["income"].isna().sum()
    assert (back["age"] == np.round(back["age"])).all()
    # a decoded number falls in the bin of the original: within the bin's width
    width = np.diff(encoder.codecs["age"].edges).max()
    assert (back["age"] - table["age"]).abs().max() <= width


@pytest.mark.parametrize(
    ("frame", "purpose"),
    [
        (pd.DataFrame({"x": np.arange(50, dtype=float)}), "range of column 'x'"),
        (
            pd.DataFrame({"d": pd.date_range("2020-01-01", periods=50, freq="D")}),
            "range (years) of column 'd'",
        ),
    ],
)
def test_tiny_budget_refuses_to_guess_a_domain(frame: pd.DataFrame, purpose: str) -> None:
    """With too little budget no power-of-two bucket (no year) clears the threshold: a range
    read off pure noise would be garbage, so the estimate is refused with a message that names
    the column, says what to do, and quotes nothing from the data."""
    with pytest.raises(DomainEstimationError) as caught:
        run(frame, schema(frame), rho=1e-6)
    message = str(caught.value)
    assert message.startswith(purpose)
    assert "Declare the column's bounds" in message and "epsilon" in message
    assert not any(ch.isdigit() for ch in message)


def test_frequent_values_become_point_bins() -> None:
    """Values held by many rows are released (thresholded noisy counts) and get a point bin
    each, so they decode exactly; a value held by one row is released with probability at most
    the column's δ share (1e-10 here), so never in practice."""
    rng = np.random.default_rng(3)
    rates = np.array([-3.4, -1.8, -0.1, 0.25, 1.1, 1.4, 2.75, 4.86, 5.0, 93.994])
    frame = pd.DataFrame(
        {
            "rate": rng.choice(rates, N),
            "amount": np.where(rng.random(N) < 0.6, 0.0, rng.lognormal(8, 1, N).round(2)),
        }
    )
    frame.loc[0, "rate"] = 12.3456  # one row
    encoder, ledger = run(frame, schema(frame))
    rate = encoder.codecs["rate"]
    points = rate.edges[1:][np.diff(rate.edges) == 0]
    assert set(rates) <= set(points) and 12.3456 not in points
    codes = rate.encode(pd.Series(rates))
    assert rate.decode(codes, np.random.default_rng(0)).tolist() == rates.tolist()
    amount = encoder.codecs["amount"]
    assert amount.decode(amount.encode(pd.Series([0.0])), np.random.default_rng(0))[0] == 0.0
    assert purposes(ledger)["frequent values of column 'rate'"] == "dp_categories"


def test_marginal_model_samples_the_frequent_values() -> None:
    """End to end at ε = 1 on 20,000 rows: a rate column with six levels comes back on those
    levels (point bins), where bins over a DP grid would spread it over the whole range."""
    rng = np.random.default_rng(4)
    levels = np.array([-1.8, -0.1, 1.1, 1.4, 2.75, 4.86])
    frame = pd.DataFrame(
        {"rate": rng.choice(levels, N), "group": rng.choice(["a", "b"], N).astype(object)}
    )
    synth = MSTSynthesizer(epsilon=1.0, seed=0, noise_seed=0, max_iters=200)
    with pytest.warns(UserWarning, match="noise_seed"):
        synth.fit(frame, metadata=schema(frame))
    out = synth.sample(5_000, seed=0)
    assert np.isin(out["rate"], levels).mean() > 0.95


def test_domain_share_grows_with_what_the_metadata_leaves_to_estimate() -> None:
    """0.1 of ρ when every learned column's domain is declared, 0.3 when none is, with the
    square of the undeclared fraction in between; generated columns (ids) do not count, and
    booleans (their domain is always known) count as declared."""
    declared = {
        "age": ColumnSpec("numerical", dtype="int", lower=0, upper=120),
        "city": ColumnSpec("categorical", categories=("Lyon", "Paris")),
        "smoker": ColumnSpec("boolean"),
        "patient": ColumnSpec("id"),
    }
    public = Metadata(declared, source="user", public=True)
    assert domain_share(public) == pytest.approx(PUBLIC_DOMAIN_SHARE)
    half = Metadata({**declared, "age": ColumnSpec("numerical", dtype="int")}, public=False)
    assert domain_share(half) == pytest.approx(
        PUBLIC_DOMAIN_SHARE + (PRIVATE_DOMAIN_SHARE - PUBLIC_DOMAIN_SHARE) / 9
    )
    none = Metadata({k: v for k, v in declared.items() if k != "smoker"}).schema_only()
    assert domain_share(none) == pytest.approx(PRIVATE_DOMAIN_SHARE)


def test_a_fit_spends_the_default_domain_share(table: pd.DataFrame) -> None:
    """With the schema only, five of the six columns have no declared domain (a boolean
    always has one): the default spends 0.1 + 0.2 · (5/6)² = 43/180 of ρ on the domain, 43/18
    times what budget_split=0.1 spends, release by release (each σ² is rounded up alike).
    Its one categorical column has no tally to tell a long tail, so the default draws no row
    count (dp_domain.default_budget)."""
    frame = table.drop(columns=["patient"]).head(5000)
    metadata = schema(frame)
    counting = "number of rows"

    def domain_rho(**kwargs) -> tuple[list[float], list[float]]:
        fit = MSTSynthesizer(EPSILON, noise_seed=4, max_iters=10, **kwargs).fit(frame, metadata)
        entries = [e for e in fit.privacy.entries if e.phase == "domain"]
        counts = [e.rho / fit.privacy.rho_budget for e in entries if counting in e.purpose]
        return [e.rho for e in entries if counting not in e.purpose], counts

    (default, count), (tenth, none) = domain_rho(), domain_rho(budget_split=0.1)
    assert len(default) == len(tenth) > 0
    assert np.array(default) == pytest.approx(43 / 18 * np.array(tenth), rel=1e-6)
    assert count == none == []


def test_category_weight_steps_down_with_the_table_scale() -> None:
    """1 from FULL_SCALE rows per σ up, then one more per halving, in quarter steps, up to
    MAX_CATEGORY_WEIGHT; a step function of the rows, never rising with them."""
    rho = 1 / (2 * 50.0**2)  # σ = 50 rows
    full = FULL_SCALE * 50
    assert category_weight(full * 1.01, rho) == category_weight(1e9, rho) == 1.0
    assert category_weight(full / 2**0.3, rho) == 1.0 + WEIGHT_STEP
    assert category_weight(full / 2**1.1, rho) == 2.0
    assert category_weight(full / 2**2.1, rho) == category_weight(1, rho) == MAX_CATEGORY_WEIGHT
    assert category_weight(-30, rho) == MAX_CATEGORY_WEIGHT  # a noisy count may be negative
    rows = np.geomspace(10, 1e7, 2_000)
    weights = np.array([category_weight(r, rho) for r in rows])
    assert np.all(np.diff(weights) <= 0)
    steps = np.arange(1.0, MAX_CATEGORY_WEIGHT + WEIGHT_STEP, WEIGHT_STEP)
    assert set(weights) == set(steps)


def categorical_schema(columns: int, numeric: int = 1) -> Metadata:
    specs = {f"c{i}": ColumnSpec("categorical") for i in range(columns)}
    specs.update({f"x{i}": ColumnSpec("numerical", dtype="float") for i in range(numeric)})
    return Metadata(specs)


def coded(rows: int, columns: int, numeric: int = 1) -> tuple[pd.DataFrame, Metadata]:
    """``rows`` rows of :func:`categorical_schema`'s columns: the default budget reads only the
    table's size and kinds, not its values."""
    categorical = {f"c{i}": ["a"] * rows for i in range(columns)}
    numbers = {f"x{i}": np.arange(rows, dtype=float) for i in range(numeric)}
    return pd.DataFrame({**categorical, **numbers}), categorical_schema(columns, numeric)


def budget(frame: pd.DataFrame, metadata: Metadata, epsilon: float = 1.0):
    ledger = PrivacyLedger(epsilon, DELTA, delta_reserved=RESERVED)
    out = default_budget(frame, metadata, ledger=ledger, noise=NoiseSource.seeded(2))
    return out, ledger


def test_default_budget_adds_an_extra_for_the_tails_of_a_small_table() -> None:
    """300 rows at ε = 1, two categorical and three numeric columns: a column's share
    (0.3 ρ / 5) has σ of about 24 rows, so the table is 13 σ, far below FULL_SCALE whatever
    the count's noise (σ about 82 rows, and a negative count still weighs at most the
    maximum): each categorical column's tail may take MAX_CATEGORY_WEIGHT − 1 more shares
    when it stands out, 0.545 of ρ in all with the count, within the cap."""
    out, ledger = budget(*coded(300, 2, numeric=3))
    share = PRIVATE_DOMAIN_SHARE * ledger.rho_budget
    assert out.rho == pytest.approx(share)
    assert out.extra_rho == pytest.approx((MAX_CATEGORY_WEIGHT - 1) * share / 5)
    (count,) = ledger.entries
    assert "number of rows" in count.purpose and count.phase == "domain"
    assert count.rho == pytest.approx(ROWS_SHARE * ledger.rho_budget, rel=1e-6)


def test_default_budget_keeps_the_domain_within_its_cap() -> None:
    """Ten categorical columns and no other: 0.3 of ρ, and twice as much again if every tail
    stood out, would be 0.9; the extra stops where the domain and the count reach
    MAX_DOMAIN_SHARE."""
    out, ledger = budget(*coded(300, 10, numeric=0))
    (count,) = ledger.entries
    whole = out.rho + 10 * out.extra_rho + count.rho
    assert whole == pytest.approx(MAX_DOMAIN_SHARE * ledger.rho_budget, rel=1e-6)


def test_a_small_fit_with_long_tails_fills_its_domain_to_the_cap() -> None:
    """A fit end to end: ten columns of 1,200 rows, 400 holding one value and 800 a tail of
    eight values held by 100 rows each. At ε = 1 a column's share has σ of about 33 rows, so
    the table is 36 σ (weight 3); a first look (σ ≈ 47) keeps only the frequent value
    (threshold near 320 rows), and each tail's rows at stake (100 a value less a floor of
    about 20) stand 4 σ out of its tally (σ ≈ 150), so every column takes the extra. Three
    shares each would be 0.9 of ρ: the ledger's domain phase, count included, comes to
    MAX_DOMAIN_SHARE of ρ."""
    rng = np.random.default_rng(3)
    tail = np.repeat([f"t{i}" for i in range(8)], 100)
    column = lambda: rng.permutation([*["a"] * 400, *tail]).astype(object)  # noqa: E731
    frame = pd.DataFrame({f"c{i}": column() for i in range(10)})
    fit = MSTSynthesizer(1.0, noise_seed=5, max_iters=10).fit(frame, categorical_schema(10, 0))
    ledger = fit.privacy
    domain = sum(e.rho for e in ledger.entries if e.phase == "domain")
    seconds = [e for e in ledger.entries if "second look" in e.purpose]
    assert len(seconds) == 10
    assert domain == pytest.approx(MAX_DOMAIN_SHARE * ledger.rho_budget, rel=1e-6)


def test_default_budget_counts_nothing_without_categorical_columns_to_estimate() -> None:
    """No categorical column to estimate (numbers only, or categories declared public), or a
    single one (no tally to tell its tail): no count, no extra, the domain share as before."""
    out, ledger = budget(*coded(300, 0))
    assert out.extra_rho == 0 and not ledger.entries
    out, ledger = budget(*coded(300, 1))
    assert out.extra_rho == 0 and not ledger.entries
    declared = Metadata(
        {"c0": ColumnSpec("categorical", categories=("a",))}, source="user", public=True
    )
    out, ledger = budget(pd.DataFrame({"c0": ["a"] * 300}), declared)
    assert out.extra_rho == 0 and not ledger.entries
    assert out.rho == pytest.approx(PUBLIC_DOMAIN_SHARE * ledger.rho_budget)


def test_default_budget_adds_nothing_for_a_large_table() -> None:
    """At ε = 50 a column's share has σ of about 0.57 rows, so 3,000 rows are over 5,000 σ,
    far above FULL_SCALE: weight 1, no extra (the count is still drawn)."""
    out, ledger = budget(*coded(3000, 2), epsilon=50.0)
    assert out.extra_rho == 0 and len(ledger.entries) == 1


def test_a_row_count_declared_public_replaces_the_noisy_one() -> None:
    """``public_rows`` (DP-SGD's declared row count) sizes the weight for free: nothing drawn;
    at ε = 1, 300 declared rows get the extra, 10⁷ get none."""
    frame, metadata = coded(300, 2)
    for rows, extra in ((300, True), (10**7, False)):
        ledger = PrivacyLedger(1.0, DELTA, delta_reserved=RESERVED)
        noise = NoiseSource.seeded(2)
        out = default_budget(frame, metadata, ledger=ledger, noise=noise, public_rows=rows)
        assert not ledger.entries and (out.extra_rho > 0) == extra


@pytest.mark.parametrize("seed", range(5))
def test_a_date_range_from_years_too_thin_to_clear_alone(seed: int) -> None:
    """5,600 dates over the 30 years 1990-2019 (about 187 a year): at σ = 80 for the year
    histogram (ρ = 4 × 1/(2·80²), a quarter of it for the range) a year is 2.3σ, so none clears
    5σ (p ≈ 0.003 each) and the fit used to stop with DomainEstimationError. The run of the 30
    years sums to 70σ, far above 6.0·√30 = 33σ. Its ends may cut a year or two: an end year
    (2.3σ) leaves the run when its noise is below -0.8σ (p = 0.21) and the growth through
    years above 1σ misses it when below -1.3σ (p = 0.1); over 200 seeds the range started in
    1988-1992 in 192 and ended in 2018-2022 in 184 (the worst cut six years at one end, the
    widest reached four years past the data). These five seeds sit inside those spreads."""
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 30 * 365, 5600)
    frame = pd.DataFrame({"when": pd.Timestamp("1990-01-01") + pd.to_timedelta(days, "D")})
    metadata = Metadata({"when": ColumnSpec("datetime")})
    ledger = PrivacyLedger(EPSILON, DELTA)
    encoder = private_domain(
        metadata.validate(frame),
        metadata,
        ledger=ledger,
        rho=4 / (2 * 80.0**2),
        delta=0.0,
        noise=NoiseSource.seeded(seed),
    )
    spec = encoder.metadata["when"]
    assert 1987 <= spec.lower.year <= 1992 and 2018 <= spec.upper.year <= 2023
    assert ledger.entries[0].params["sigma"] == pytest.approx(80.0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: MSTSynthesizer(1.0, max_iters=10),
        lambda: AutoregressiveSynthesizer(3.0, delta=1e-6, epochs=1, width=8, progress=False),
    ],
    ids=["mst", "dpsgd"],
)
def test_a_column_that_releases_nothing_warns_at_the_callers_line(make) -> None:
    """References held as text (one row a value, kinds from the dtypes): no value can be
    released, every non-missing synthetic value is "other", and the fit says so, naming the
    column and what to declare, at the line that called ``fit`` (however deep in tabsynth the
    release ran, and whichever synthesizer)."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "ref": [f"R-{i:05d}" for i in range(3000)],
            "group": rng.choice(["a", "b"], 3000).astype(object),
            "x": rng.normal(size=3000),
        }
    )
    with pytest.warns(UserWarning, match="no value of column 'ref'") as caught:
        synth = make().fit(frame)
    (warning,) = [w for w in caught if "no value of column 'ref'" in str(w.message)]
    assert warning.filename == __file__
    assert "declare its kind (id, text or datetime)" in str(warning.message)
    assert set(synth.sample(50, seed=0)["ref"]) == {OTHER}
