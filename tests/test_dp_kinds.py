"""Dates written as text, found under DP in a fit without metadata (``dp_kinds``): the look's
counts and their sensitivity, the decision, and what a fit does with it."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from tabsynth import load
from tabsynth.metadata import DATE_FORMATS, ColumnSpec, Metadata
from tabsynth.privacy import NoiseSource, PrivacyLedger
from tabsynth.synthesizers import MSTSynthesizer
from tabsynth.synthesizers.autoregressive import AutoregressiveSynthesizer
from tabsynth.synthesizers.dp_domain import FIRST_YEAR, PRIVATE_DOMAIN_SHARE
from tabsynth.synthesizers.dp_kinds import (
    DATE_FRACTION,
    LOOK_SHARE,
    MIN_SIGMAS,
    YEARS,
    DateLayout,
    date_layout,
    layout_counts,
    read_dates,
)

LAYOUTS = len(DATE_FORMATS)
#: One value in each layout (in DATE_FORMATS' order), then values no layout parses.
WRITTEN = [
    "2021-03-04 05:06:07",
    "2021-03-04T05:06:07",
    "2021-03-04T05:06:07Z",
    "2021-03-04",
    "2021/03/04",
    "04/03/2021",
]
NOT_DATES = ["not a date", "2021-13-45", "", "31/31/2021", "now", "today", 20210304, 4.5, True]


def dates(rows: int, layout: str = "%Y-%m-%d", seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), unit="D")
    return pd.Series(days.strftime(layout), dtype=object)


def table(rows: int = 6000) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "arrival": dates(rows),
            "stamp": dates(rows, "%Y-%m-%dT%H:%M:%SZ", seed=2),
            "city": rng.choice(["Lyon", "Paris", "Nice"], rows).astype(object),
            "nights": rng.integers(1, 9, rows),
        }
    )
    frame.loc[:9, "arrival"] = "unknown"  # ten rows no layout parses: modelled as missing
    frame.loc[10:19, "arrival"] = None
    return frame


def fit(data: pd.DataFrame, metadata=None, epsilon: float = 1.0, make=MSTSynthesizer):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        synth = make(epsilon=epsilon, noise_seed=4, **({} if make is MSTSynthesizer else DPSGD))
        synth.fit(data, metadata)
    return synth, [str(w.message) for w in caught]


DPSGD = {"epochs": 1, "progress": False}


# -- the look's counts ----------------------------------------------------------------------


def per_layout(counts: np.ndarray) -> tuple[list[float], float]:
    """Each layout's count over all years, and the cell of other values."""
    return counts[:-1].reshape(LAYOUTS, YEARS).sum(axis=1).tolist(), float(counts[-1])


def test_each_layout_is_counted_in_its_own_cells_and_everything_else_in_the_last() -> None:
    counts = layout_counts(pd.Series([*WRITTEN, *WRITTEN[:2], *NOT_DATES, None, np.nan]))
    assert per_layout(counts) == ([2, 2, 1, 1, 1, 1], len(NOT_DATES))
    assert len(counts) == LAYOUTS * YEARS + 1


def test_a_date_is_counted_in_its_year() -> None:
    counts = layout_counts(pd.Series(["1999-12-31", "2000-01-01", "2000-06-30"], dtype=object))
    row = counts[:-1].reshape(LAYOUTS, YEARS)[DATE_FORMATS.index("%Y-%m-%d")]
    assert row[1999 - FIRST_YEAR] == 1 and row[2000 - FIRST_YEAR] == 2 and row.sum() == 3


def test_text_without_a_digit_is_no_date() -> None:
    """pandas reads "now" and "today" under any layout as the time of the fit: they must count
    as other values, and a column read as dates must model them as missing."""
    counts = layout_counts(pd.Series(["now", "today", "2021-01-02"], dtype=object))
    assert per_layout(counts)[1] == 2


def test_one_row_more_moves_one_cell_by_one() -> None:
    """The look's L2 sensitivity is 1: brute force over rows of every kind added to a column
    that already holds each of them."""
    base = pd.Series([*WRITTEN, *NOT_DATES, None] * 3, dtype=object)
    before = layout_counts(base)
    for extra in [*WRITTEN, *NOT_DATES, "1677-12-31", "2262-01-01", None, np.nan, pd.NaT]:
        after = layout_counts(pd.concat([base, pd.Series([extra], dtype=object)]))
        change = np.abs(after - before)
        assert change.sum() <= 1 and change.max() <= 1, extra


def test_an_empty_column_counts_nothing() -> None:
    counts = layout_counts(pd.Series([None, None], dtype=object))
    assert not counts.any() and len(counts) == LAYOUTS * YEARS + 1


# -- the decision -------------------------------------------------------------------------


def cells(layout: int, years: dict[int, float], rest: float = 0.0) -> np.ndarray:
    """Noisy counts: ``years`` {year: count} under one layout, ``rest`` in the other cell."""
    out = np.zeros(LAYOUTS * YEARS + 1)
    for year, count in years.items():
        out[layout * YEARS + year - FIRST_YEAR] = count
    out[-1] = rest
    return out


def test_a_layout_that_holds_the_column_is_read_with_its_years() -> None:
    found = date_layout(cells(3, {2015: 400.0, 2016: 600.0}), sigma=10.0)
    assert found == DateLayout(DATE_FORMATS[3], (2015, 2016))


def test_the_fraction_and_the_noise_floor_both_bind() -> None:
    sigma = 10.0
    at = DATE_FRACTION / (1 - DATE_FRACTION)  # layout count per other-cell count at the edge
    assert date_layout(cells(0, {2020: 90 * at}, 90.0), sigma) is not None
    assert date_layout(cells(0, {2020: 90 * at - 1}, 90.0), sigma) is None
    assert date_layout(cells(0, {2020: MIN_SIGMAS * sigma}), sigma) is not None
    assert date_layout(cells(0, {2020: MIN_SIGMAS * sigma - 1}), sigma) is None


def test_dates_too_thin_to_show_their_years_keep_their_text() -> None:
    """Eighty years of 1σ each add up to 80σ, but no year and no run stands out of the noise
    (a run grows only through years above RUN_DRIFT_SIGMAS = 1.5): no span, no range to model
    them in, so the column stays categorical instead of failing its range later. At 2σ a year
    the run stands out, and its span is the range."""
    assert date_layout(cells(0, {1930 + y: 1.0 * 10 for y in range(80)}), sigma=10.0) is None
    found = date_layout(cells(0, {1930 + y: 2.0 * 10 for y in range(80)}), sigma=10.0)
    assert found is not None and found.years == (1930, 2009)


def test_negative_noisy_cells_do_not_lower_the_total() -> None:
    """Clipping at 0 (post-processing) keeps a negative cell from helping a layout."""
    noisy = cells(1, {2020: 500.0}, -400.0)
    noisy[2 * YEARS + 2020 - FIRST_YEAR] = -300.0
    assert date_layout(noisy, sigma=1.0) is not None
    assert date_layout(cells(1, {2020: 500.0}, 60.0), sigma=1.0) is None


# -- in a fit -------------------------------------------------------------------------------


def test_text_dates_are_modelled_as_datetimes_and_sampled_in_their_layout() -> None:
    data = table()
    synth, shown = fit(data)
    assert synth.metadata_["arrival"] == ColumnSpec("datetime", format="%Y-%m-%d")
    assert synth.metadata_["stamp"] == ColumnSpec("datetime", format="%Y-%m-%dT%H:%M:%SZ")
    assert synth.metadata_["city"].kind == "categorical"
    out = synth.sample(2000, seed=0)
    assert out["arrival"].dtype == object and out["stamp"].dtype == object
    for name in ("arrival", "stamp"):
        layout = synth.metadata_[name].format
        present = out[name].dropna()
        assert len(present) > 1900  # 20 of 6,000 training rows are missing or not dates
        parsed = pd.to_datetime(present, format=layout, errors="coerce")
        assert parsed.notna().all()
        # the DP range is whole years around 2015-2017 (its span may grow by a year on each
        # side through a neighbour above 1 σ, occupied_span's documented false step), and the
        # bins follow the quantiles
        assert parsed.min() >= pd.Timestamp("2014-01-01")
        assert parsed.max() < pd.Timestamp("2019-01-01")
        inside = parsed.between(pd.Timestamp("2015-01-01"), pd.Timestamp("2017-06-20"))
        assert inside.mean() > 0.95
        assert parsed.median() == pytest.approx(
            pd.Timestamp("2016-03-25"), abs=pd.Timedelta(60, "D")
        )
    assert sum("'arrival' holds text that" in m and "'%Y-%m-%d'" in m for m in shown) == 1
    assert not any("'city' holds text" in m for m in shown)


def charged_looks(ledger, purpose: str, names: list[str], share: float, columns: int) -> list:
    """The ledger's looks whose purpose starts with ``purpose``: one per column of ``names``,
    in order, each charged ``share`` of a column's part of the default domain share (the
    fit's ``columns`` columns, none declared), in the domain phase."""
    looks = [e for e in ledger.entries if e.purpose.startswith(purpose)]
    assert [e.purpose.split("'")[1] for e in looks] == names
    column_rho = PRIVATE_DOMAIN_SHARE * ledger.rho_budget / columns
    for entry in looks:
        assert entry.rho == pytest.approx(share * column_rho, rel=1e-6)
        assert entry.phase == "domain"
    return looks


def test_each_text_column_pays_its_look_from_the_domain_budget() -> None:
    synth, _ = fit(table())
    ledger = synth.privacy
    looks = charged_looks(ledger, "date layouts", ["arrival", "stamp", "city"], LOOK_SHARE, 4)
    # the domain's columns share what the looks left; arrival's look released its years, so
    # its whole quarter goes to its edges
    left = PRIVATE_DOMAIN_SHARE * ledger.rho_budget - sum(e.rho for e in looks)
    arrival = [e for e in ledger.entries if e.phase == "domain" and "'arrival'" in e.purpose]
    assert [e.purpose.split(" of")[0] for e in arrival] == ["date layouts and years", "bin edges"]
    assert arrival[1].rho == pytest.approx(left / 4, rel=1e-6)


def test_a_table_too_small_for_the_look_keeps_its_text() -> None:
    """600 rows at ε = 1: the look's σ is far above 600 / MIN_SIGMAS, so no layout can pass,
    and the dates stay categorical (and warn that nothing of them is released)."""
    synth, shown = fit(table(600))
    assert synth.metadata_["arrival"].kind == "categorical"
    assert not any("holds text that" in m for m in shown)


def test_a_column_half_of_dates_keeps_its_text() -> None:
    data = table()
    data.loc[: len(data) // 2, "arrival"] = "n/a"
    synth, _ = fit(data)
    assert synth.metadata_["arrival"].kind == "categorical"
    assert synth.metadata_["stamp"].kind == "datetime"


def test_declared_kinds_take_no_look() -> None:
    data = table()
    metadata = Metadata(
        {
            "arrival": ColumnSpec("categorical"),
            "stamp": ColumnSpec("datetime", format="%Y-%m-%dT%H:%M:%SZ"),
            "city": ColumnSpec("categorical"),
            "nights": ColumnSpec("numerical", dtype="int"),
        }
    )
    synth, _ = fit(data, metadata)
    assert synth.metadata_["arrival"].kind == "categorical"
    assert not any(e.purpose.startswith("date layouts") for e in synth.privacy.entries)


def test_a_category_dtype_is_a_declaration() -> None:
    data = table().assign(arrival=lambda f: f["arrival"].astype("category"))
    synth, _ = fit(data)
    assert synth.metadata_["arrival"].kind == "categorical"
    looks = [e.purpose for e in synth.privacy.entries if e.purpose.startswith("date layouts")]
    assert not any("'arrival'" in p for p in looks)


def assert_kept_by_the_model_file(synth, tmp_path, column: str, read) -> None:
    """What a look made of ``column`` (``read`` of its spec) holds in the fit, and in the
    model file it saves, which samples the same rows."""
    assert read(synth.metadata_[column])
    synth.save(tmp_path / "m.tsyn")
    again = load(tmp_path / "m.tsyn")
    assert read(again.metadata_[column])
    assert again.sample(50, seed=1).equals(synth.sample(50, seed=1))


def test_dpsgd_reads_dates_too(tmp_path) -> None:
    synth, _ = fit(table(), epsilon=3.0, make=AutoregressiveSynthesizer)
    assert_kept_by_the_model_file(synth, tmp_path, "arrival", lambda s: s.format == "%Y-%m-%d")


@pytest.mark.parametrize("noise_seed", [1, 2, 3])
def test_dates_spread_over_decades_fit_either_way(noise_seed) -> None:
    """Birth dates over eighty years, 3,000 rows: thin years. Whether the look reads them or
    not, the fit must not fail (a column it reads has the span its look released as range)."""
    rng = np.random.default_rng(noise_seed)
    born = pd.Timestamp("1930-01-01") + pd.to_timedelta(rng.integers(0, 80 * 365, 3000), "D")
    data = pd.DataFrame({"born": born.strftime("%Y-%m-%d").astype(object), "x": rng.random(3000)})
    synth = MSTSynthesizer(epsilon=1.0, noise_seed=noise_seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synth.fit(data)
    assert synth.sample(10, seed=0)["born"].dtype == object


def test_read_dates_parses_only_the_columns_it_reads() -> None:
    data = table()
    data.loc[20:24, "arrival"] = "today"  # no digit: missing, not the time of the fit
    ledger = PrivacyLedger(1.0, 1e-9)
    metadata = Metadata({name: ColumnSpec("categorical") for name in ("arrival", "city")})
    with pytest.warns(UserWarning, match="'arrival' holds text"):
        read = read_dates(
            data[["arrival", "city"]],
            metadata,
            ["arrival", "city"],
            column_rho=0.001,
            ledger=ledger,
            noise=NoiseSource.seeded(0),
        )
    assert read.metadata["arrival"].kind == "datetime"
    assert pd.api.types.is_datetime64_dtype(read.data["arrival"])
    assert read.data["arrival"].isna().sum() == 25  # ten "unknown", ten missing, five "today"
    assert read.years == {"arrival": (2015, 2017)}
    assert read.data["city"].equals(data["city"])
    assert read.rho == pytest.approx(2 * LOOK_SHARE * 0.001)
