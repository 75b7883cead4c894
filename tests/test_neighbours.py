"""Neighbour invariance of every DP synthesizer and of ``tabsynth fit``: the acceptance test of
"a DP claim covers the whole pipeline".

Each test fits the base table ``D`` and ``D`` plus one row (``neighbours.EXTRA_ROWS``: a missing
value, a non-integer in an int column, a malformed date, a new category, a duplicate, an
outlier, a row that makes the id column non-unique, a value outside public bounds) with the
same ``seed`` and ``noise_seed``, and asserts that the schema, the sample's dtypes, the
ledger's structure and parameters, the model file's structure and every message are
identical. Out-of-domain values are repaired (``on_out_of_bounds="clip"``); in ``"error"`` mode
the refusal must not quote the row. The one legitimate difference is named where it occurs:
DP-SGD sizes its schedule from a noisy row count, a charged release.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_round_values import spy as spy_on_round_values

from tabsynth import round_values
from tabsynth.errors import DataError, PrivacyError
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.privacy import mechanisms
from tabsynth.schema import schema_from_dtypes
from tabsynth.synthesizers import AIMSynthesizer, MSTSynthesizer, dp_domain
from tabsynth.synthesizers import aim as aim_module
from tabsynth.synthesizers.autoregressive import AutoregressiveSynthesizer, dp
from tabsynth.synthesizers.autoregressive.dp import default_dp_schedule
from tabsynth.synthesizers.dp_tails import implied_list

from neighbours import (
    EXTRA_ROWS,
    ROWS,
    as_pandas_reads_it,
    base_table,
    declared_schema,
    differences,
    fingerprint,
    fit_and_watch,
    neighbour,
    public_metadata,
    typed_frame,
)

EPSILON = 4.0
COMMON = {"seed": 0, "noise_seed": 3, "on_out_of_bounds": "clip"}
EXTRAS = list(EXTRA_ROWS)
#: With metadata=None the frame's dtypes are the schema; an extra row that the dtypes cannot
#: hold (41.5 in an Int64 column, text in a datetime64 one) is a different frame, not a
#: neighbour of the same schema, so those two are played with declared metadata only.
DTYPE_EXTRAS = [e for e in EXTRAS if e not in ("non-integer in an int column", "malformed date")]


def mst() -> MSTSynthesizer:
    return MSTSynthesizer(epsilon=EPSILON, max_iters=200, **COMMON)


def aim() -> AIMSynthesizer:
    return AIMSynthesizer(epsilon=EPSILON, max_rounds=8, round_iters=30, max_iters=100, **COMMON)


def dpsgd(public_rows: int | None = None, width: int | None = 8) -> AutoregressiveSynthesizer:
    return AutoregressiveSynthesizer(
        epsilon=EPSILON, epochs=2, width=width, progress=False, public_rows=public_rows, **COMMON
    )


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return base_table()


def play(make, data, extra, metadata, folder: Path, **how) -> tuple[dict, dict, tuple]:
    """Fingerprints of the fits on D and on its neighbour, and the two synthesizers."""
    left, shown_left = fit_and_watch(make, data, metadata)
    right, shown_right = fit_and_watch(make, neighbour_of(data, extra, metadata), metadata)
    return (
        fingerprint(left, shown_left, folder, **how),
        fingerprint(right, shown_right, folder, **how),
        (left, right),
    )


def neighbour_of(data: pd.DataFrame, extra: str, metadata) -> pd.DataFrame:
    if metadata is None:  # the schema is the frame's dtypes, held fixed
        return typed_frame(neighbour(base_table(), extra))
    return neighbour(data, extra)


def assert_same(left: dict, right: dict) -> None:
    found = differences(left, right)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("extra", EXTRAS)
@pytest.mark.parametrize("declared", ["public domain", "schema only"])
def test_mst_with_metadata(table, tmp_path, extra, declared) -> None:
    metadata = public_metadata() if declared == "public domain" else declared_schema()
    left, right, _ = play(mst, table, extra, metadata, tmp_path)
    assert_same(left, right)


@pytest.mark.parametrize("extra", EXTRAS)
def test_mst_on_frames_typed_by_pandas_inference(table, tmp_path, extra) -> None:
    """Declared metadata types the output even when the frame's dtypes flip with the row."""
    data, other = as_pandas_reads_it(table), as_pandas_reads_it(neighbour(table, extra))
    left, shown_left = fit_and_watch(mst, data, public_metadata())
    right, shown_right = fit_and_watch(mst, other, public_metadata())
    assert_same(fingerprint(left, shown_left, tmp_path), fingerprint(right, shown_right, tmp_path))


@pytest.mark.parametrize("extra", DTYPE_EXTRAS)
def test_mst_schema_from_dtypes(tmp_path, extra) -> None:
    left, right, _ = play(mst, typed_frame(base_table()), extra, None, tmp_path)
    assert_same(left, right)


def dates_as_text(data: pd.DataFrame) -> pd.DataFrame:
    """The frame typed as a DP fit without metadata reads it, with the visit dates left as the
    text a CSV file holds: a neighbour may add any value to them, "not a date" included."""
    return typed_frame(data).assign(visit=data["visit"].astype(object))


@pytest.mark.parametrize("extra", [*DTYPE_EXTRAS, "malformed date"])
@pytest.mark.parametrize("method", ["mst", "dpsgd"])
def test_dates_written_as_text_are_read_on_both_sides(tmp_path, extra, method) -> None:
    """The look at each text column's date layouts (:mod:`~tabsynth.synthesizers.dp_kinds`)
    is a release like any other: one more row moves one of its noisy counts by one, and both
    fits read ``visit`` as dates in the same layout, with the same warning, schema and ledger
    (``pid`` and ``sex`` take their look and stay categorical). The domain share is given
    (:func:`fixed_split`): ``pid`` and ``sex`` have nothing at stake in their tails, a new
    category shifts the seeded noise stream, and with the looks' draws before them their
    tallies tip by noise on one side. DP-SGD is given its row count for the same reason (its
    noisy count is the difference ``test_dpsgd_differs_only_through_its_noisy_row_count``
    names)."""
    data = dates_as_text(base_table())
    other = dates_as_text(neighbour(base_table(), extra))
    make = fixed_split(
        mst if method == "mst" else lambda: dpsgd(public_rows=ROWS), schema_from_dtypes(data)
    )
    left, shown_left = fit_and_watch(make, data, None)
    right, shown_right = fit_and_watch(make, other, None)
    assert_same(fingerprint(left, shown_left, tmp_path), fingerprint(right, shown_right, tmp_path))
    for synth, shown in ((left, shown_left), (right, shown_right)):
        assert synth.metadata_["visit"].format == "%Y-%m-%d"
        looks = [e.purpose for e in synth.privacy.entries if e.purpose.startswith("date layouts")]
        assert len(looks) == 3
        assert sum("'visit' holds text that" in message for message in shown) == 1


def ages_as_floats(data: pd.DataFrame) -> pd.DataFrame:
    """The frame typed as a DP fit without metadata reads it, with the ages held as float64, as
    pandas holds an integer column with a missing value: a neighbour may add any number to
    them, 41.5 included (the row that flips ``Metadata.detect`` from int to float)."""
    return typed_frame(data).assign(age=pd.to_numeric(data["age"], errors="coerce").astype(float))


@pytest.mark.parametrize("extra", EXTRAS)
@pytest.mark.parametrize("method", ["mst", "dpsgd"])
def test_whole_numbers_held_as_floats_are_read_on_both_sides(tmp_path, extra, method) -> None:
    """The look at each float column's whole and fractional values
    (:mod:`~tabsynth.synthesizers.dp_whole`) is a release like any other: one more row moves
    one of its two noisy counts by one, and both fits model ``age`` as an integer (with the
    same warning, schema, sample dtypes and ledger), and ``income``, which holds cents, as a
    float. DP-SGD is given its row count (its noisy count is the difference
    ``test_dpsgd_differs_only_through_its_noisy_row_count`` names)."""
    data = ages_as_floats(base_table())
    other = ages_as_floats(neighbour(base_table(), extra))
    make = mst if method == "mst" else lambda: dpsgd(public_rows=ROWS)
    left, shown_left = fit_and_watch(make, data, None)
    right, shown_right = fit_and_watch(make, other, None)
    assert_same(fingerprint(left, shown_left, tmp_path), fingerprint(right, shown_right, tmp_path))
    for synth, shown in ((left, shown_left), (right, shown_right)):
        assert synth.metadata_["age"].dtype == "int"
        assert synth.metadata_["income"].dtype == "float"
        looks = [e.purpose for e in synth.privacy.entries if e.purpose.startswith("whole and")]
        assert len(looks) == 2
        assert sum("'age' hold floats" in message for message in shown) == 1


@pytest.mark.parametrize("extra", EXTRAS)
def test_mst_ranges_from_runs_of_thin_cells(tmp_path, extra, monkeypatch) -> None:
    """Amounts spread over ten power-of-two buckets and dates over ten years, about 200 rows
    per cell: at ε = 0.6 few cells or none clear 5σ alone, and a run of cells widens both
    ranges (:func:`~tabsynth.privacy.occupied_span`, post-processing of the same noisy
    histograms). Both sides must use the run (else the test proves nothing)."""
    spans: list[tuple[int, int]] = []  # cells spanned without the run, and with it
    # dp_bounds' buckets (integer and float columns) and the years of a date range
    ranges = {
        mechanisms._bounds_grid(0)[0].size,
        mechanisms._bounds_grid()[0].size,
        dp_domain.YEARS,
    }
    real_span = mechanisms.occupied_span

    def watched(z, threshold):
        span = real_span(z, threshold)
        if len(z) in ranges:  # not the levels of the edges' trees (dp_range_quantiles)
            spans.append((width(single_cells_grown(z, threshold)), width(span)))
        return span

    monkeypatch.setattr(mechanisms, "occupied_span", watched)
    monkeypatch.setattr(dp_domain, "occupied_span", watched)
    data = base_table()
    rng = np.random.default_rng(5)
    data["amount"] = np.round(np.exp2(rng.uniform(4, 14, len(data)))).astype(int).astype(object)
    days = pd.to_timedelta(rng.integers(0, 10 * 365, len(data)), unit="D")
    data["since"] = (pd.Timestamp("1990-01-01") + days).strftime("%Y-%m-%d").astype(object)
    # first, so that their noise comes before the draws a new category adds to the seeded stream
    columns = {
        "since": ColumnSpec("datetime", format="%Y-%m-%d"),
        "amount": ColumnSpec("numerical", dtype="int"),
        **declared_schema().columns,
    }
    metadata = Metadata(columns, public=False)
    # the default share, given: the default's row count would shift the seeded noise stream
    # this table was set up on (its extra for long tails is played in the test below)
    split = dp_domain.domain_share(metadata)
    make = lambda: MSTSynthesizer(epsilon=0.6, max_iters=200, budget_split=split, **COMMON)  # noqa: E731
    left, right, _ = play(make, data, extra, metadata, tmp_path)
    assert_same(left, right)
    # per fit: since, amount, then age, income and visit (the estimated ranges, in order)
    thin = spans[0:2] + spans[5:7]
    assert len(spans) == 10 and all(alone < size for alone, size in thin), spans


def one_column_case(
    name: str, values: np.ndarray, spec: ColumnSpec, extra: str, own: tuple[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, Metadata]:
    """The base table with column ``name``, its neighbour by ``extra`` (for the test's own
    extra ``own[0]``, a duplicate row whose ``name`` holds ``own[1]``), and kinds-only
    metadata with ``name`` first, so that its noise comes before the draws a new category adds
    to the seeded stream."""
    data = base_table().assign(**{name: values.astype(object)})
    other = neighbour(data, "exact duplicate" if extra == own[0] else extra)
    if extra == own[0]:
        other.loc[other.index[-1], name] = own[1]
    columns = {name: spec, **declared_schema().columns}
    return data, other, Metadata(columns, public=False)


@pytest.mark.parametrize("extra", [*EXTRAS, "a latitude far away"])
def test_mst_zooms_into_a_column_in_a_sliver_of_its_range(tmp_path, extra) -> None:
    """One city's latitudes (44.97 ± 0.03) get dp_bounds' [32, 64], and the edges' look zooms
    into the few cells that hold them (:func:`~tabsynth.privacy.dp_range_quantiles`): its
    span, the second grid and the column's range are post-processing of the look, and must
    come out the same on both sides, whether the added row is an ordinary one or holds a
    latitude of 60 that the zoomed range clips. The domain share is given (:func:`fixed_split`),
    so that a new category's shifted stream cannot tip a tally."""
    lat = np.random.default_rng(4).normal(44.97, 0.03, ROWS).round(5)
    # One row already lies far away, so that the added one holds no new value: a new value
    # adds a draw to the frequent values' release, which shifts the seeded stream of the look.
    lat[8] = 60.0
    spec = ColumnSpec("numerical", dtype="float")
    data, other, metadata = one_column_case("lat", lat, spec, extra, ("a latitude far away", 60.0))

    def zoomed(synth) -> None:  # a few of the look's 0.125-wide cells around 44.97, not 60
        edges = synth.encoder_.codecs["lat"].edges
        assert 44.0 < edges[0] < 44.9 and 45.05 < edges[-1] < 46.0, edges

    # ε = 20: at ε = 4 a look at 2,000 rows is too noisy to be sure of the rows outside
    wide = lambda: MSTSynthesizer(epsilon=20.0, max_iters=200, **COMMON)  # noqa: E731
    assert_fits_agree(fixed_split(wide, metadata), data, other, metadata, tmp_path, zoomed)


@pytest.mark.parametrize("extra", [*EXTRAS, "a budget in the thin tail"])
def test_mst_takes_back_a_thin_tail_its_range_clipped(tmp_path, extra) -> None:
    """Budgets spread over powers of two from 1 to 2^20, 30 % of them thinly below 2^16: at
    ε = 2 dp_bounds' range starts at 2^16, every budget below is clipped onto it, and that
    pile is released as a frequent value. Reading the pile as a clipped tail
    (:func:`~tabsynth.synthesizers.dp_domain.clipped_tails`) is post-processing of the two
    releases, so both sides must take the range down to 0 the same way, whether the added
    row is an ordinary one or a budget of 100 in the tail."""
    rng = np.random.default_rng(6)
    tail = np.floor(np.exp2(rng.uniform(0, 16, ROWS))).astype(int)
    budget = np.where(rng.random(ROWS) < 0.3, tail, rng.integers(2**16, 2**20, ROWS))
    spec = ColumnSpec("numerical", dtype="int")
    own = ("a budget in the thin tail", 100)
    data, other, metadata = one_column_case("budget", budget, spec, extra, own)

    def taken_back(synth) -> None:  # the range reaches 0, and 2^16 is no point bin
        edges = synth.encoder_.codecs["budget"].edges
        assert synth.encoder_.metadata["budget"].lower == 0 and edges[0] == -0.5
        assert 2**16 - 0.5 not in edges or 2**16 + 0.5 not in edges, edges

    make = lambda: MSTSynthesizer(epsilon=2.0, max_iters=200, **COMMON)  # noqa: E731
    assert_fits_agree(fixed_split(make, metadata), data, other, metadata, tmp_path, taken_back)


@pytest.mark.parametrize("extra", EXTRAS)
def test_mst_second_look_at_a_long_tail(tmp_path, extra) -> None:
    """A code column of three values held by 400 rows each and a tail of sixteen held by 50
    (:mod:`~tabsynth.synthesizers.dp_tails`): the tally of its tail, which the extra row
    joins, decides a second look, and both sides must take it (else the test proves
    nothing). Another column's tally may tip on the extra row (a new category is one more
    row outside the first look's release) and share the pool: post-processing of the
    tallies, so second looks and their scales are left out of the fingerprints.

    A tip that decided an extra would also move the model's σ, which the fingerprints compare
    (see ``neighbours.fingerprint``); these extra rows tip none.

    2,000 rows at ε = 4 are small in units of the domain's noise, so the default budget
    (:func:`~tabsynth.synthesizers.dp_domain.default_budget`) counts the rows and gives the
    long tail an extra: both sides must count and take it, at the same weight (the count is
    in the fingerprint's ledger)."""
    data = base_table()
    tail = [f"t{i:02d}" for i in range(16)]
    codes = np.array([*np.repeat(tail, 50), *np.repeat(["A", "B", "C"], 400)], dtype=object)
    np.random.default_rng(8).shuffle(codes)
    codes[7] = "t00"  # the extra rows copy row 7: its value is in the tail
    data["code"] = codes
    # first, so that its noise comes before the draws a new category adds to the seeded stream
    metadata = Metadata({"code": ColumnSpec("categorical"), **declared_schema().columns})
    left, right, fits = play(mst, data, extra, metadata, tmp_path)
    assert_same(left, right)
    for synth in fits:
        seconds = [e.purpose for e in synth.privacy.entries if "second look" in e.purpose]
        assert any("'code'" in purpose for purpose in seconds), seconds
        ledger = synth.privacy
        domain = [e for e in ledger.entries if e.phase == "domain"]
        count = [e for e in domain if "number of rows" in e.purpose]
        share = dp_domain.domain_share(metadata) * ledger.rho_budget
        assert len(count) == 1 and sum(e.rho for e in domain) > share + count[0].rho


@pytest.mark.parametrize("extra", [*EXTRAS, "a new reference"])
def test_mst_an_undeclared_identifier_leaves_the_pool_to_a_long_tail(tmp_path, extra) -> None:
    """A column of references held as text and not declared an id (one row a value, so
    nothing of it is released) beside ``code``, whose tail of sixteen values held by 50 rows
    needs a second look: the references' tally counts the rows at stake, none, whatever the
    extra row holds (a copy of row 7's reference, or a new one), so only ``code`` takes a
    second look, on both sides, and both fits warn that ``ref`` comes back as "other"."""
    data = base_table()
    tail = [f"t{i:02d}" for i in range(16)]
    codes = np.array([*np.repeat(tail, 50), *np.repeat(["A", "B", "C"], 400)], dtype=object)
    np.random.default_rng(8).shuffle(codes)
    codes[7] = "t00"
    data["code"] = codes
    data["ref"] = [f"R-{i:05d}" for i in range(len(data))]
    metadata = Metadata(
        {"code": ColumnSpec("categorical"), "ref": ColumnSpec("categorical")}
        | declared_schema().columns
    )
    if extra in EXTRA_ROWS:
        other = neighbour(data, extra)
    else:
        other = pd.concat([data, data.iloc[[7]].assign(ref="R-new")], ignore_index=True)
    left, shown_left = fit_and_watch(mst, data, metadata)
    right, shown_right = fit_and_watch(mst, other, metadata)
    assert_same(fingerprint(left, shown_left, tmp_path), fingerprint(right, shown_right, tmp_path))
    for synth, shown in ((left, shown_left), (right, shown_right)):
        seconds = [e.purpose for e in synth.privacy.entries if "second look" in e.purpose]
        assert any("'code'" in p for p in seconds) and not any("'ref'" in p for p in seconds)
        assert synth.encoder_.metadata["ref"].categories == ()
        assert any("no value of column 'ref'" in message for message in shown)


@pytest.mark.parametrize("extra", EXTRAS)
def test_round_values_move_by_the_extra_row_alone(table, extra, monkeypatch) -> None:
    """The round-value histogram of ``age`` (:mod:`tabsynth.round_values`) counts the rows in
    bins of more than one whole number of the edges released just before it: an adaptive
    release, so its sensitivity holds for given edges. Each fit's counts are those of its
    rows under its own released edges (nothing else read), and under the neighbour's edges
    the two tables' counts differ by the extra row's class alone, one count by one, or not
    at all (a missing age, or one in a point bin): the L2 sensitivity of 1 its σ is charged
    for. Public bounds fix the ladder."""
    releases = spy_on_round_values(monkeypatch)
    ladder = round_values.ladder(0, 120)
    rows, seen = [], []
    for data in (table, neighbour_of(table, extra, public_metadata())):
        before = len(releases)
        synth, _ = fit_and_watch(mst, data, public_metadata())
        (release,) = [r for r in releases[before:] if r["purpose"].endswith("'age'")]
        seen.append({**release, "edges": synth.encoder_.codecs["age"].edges})
        ages = public_metadata().validate(data, on_out_of_bounds="clip")["age"]
        rows.append(ages.dropna().to_numpy(dtype=float))

    def counts(ages: np.ndarray, edges: np.ndarray) -> list[int]:
        return round_values.class_counts(ages[round_values.in_wide_bins(ages, edges)], ladder)

    for fit, ages in zip(seen, rows, strict=True):
        assert fit["counts"].tolist() == counts(ages, fit["edges"]).tolist()
    edges = seen[1]["edges"]
    diff = (counts(rows[1], edges) - counts(rows[0], edges)).tolist()
    assert sorted(diff) in ([0] * ladder.size, [0] * (ladder.size - 1) + [1])
    assert seen[0]["counts"].sum() > 1_000


def assert_fits_agree(make, data, other, metadata, folder: Path, check, **how) -> None:
    """Fit ``data`` and its neighbour ``other``: the same fingerprint, and ``check`` holds for
    both fits."""
    left, shown_left = fit_and_watch(make, data, metadata)
    right, shown_right = fit_and_watch(make, other, metadata)
    assert_same(
        fingerprint(left, shown_left, folder, **how), fingerprint(right, shown_right, folder, **how)
    )
    for synth in (left, right):
        check(synth)


#: Neighbours of the implied-codes test beyond EXTRA_ROWS: a new value in the code column.
NEW_VALUES = {
    "a new code on the implied list": "40",
    "a new code off the list": "99",
    "a new value that is not a code": "x",
}
#: The same for the country column: a country on the vocabulary, a name off it.
NEW_COUNTRIES = {"a new country on the list": "Zimbabwe", "a new name off the list": "Zembla"}


ODD_CODES = [str(c) for c in range(11, 30, 2)]
#: The tail of the country column: ten countries whose rows the list must find.
RARE_COUNTRIES = [
    "Chile", "Cuba", "Egypt", "France", "Germany", "India", "Japan", "Peru", "Poland", "Spain"
]  # fmt: skip


#: The common values of the listed-look tests: three codes, or three codes and a value that
#: is not one (as "250.83" among ICD-9 codes), which sorts before the new values; three
#: countries.
COMMON_VALUES = {
    "codes": ("10", "20", "30"),
    "codes and a decimal": ("10", "2.5", "20", "30"),
    "countries": ("Canada", "Mexico", "United States"),
}


def listed_case(extra: str, common: str = "codes") -> tuple[pd.DataFrame, pd.DataFrame, Metadata]:
    """A column of codes 10, 20 and 30 (and "2.5") held by 1,380 rows between them and ten odd
    codes between them held by 62 (:mod:`~tabsynth.synthesizers.code_ranges`): the first look
    releases the common ones, and the tail's second look counts the list of codes 0 to 50 they
    imply, where a new code ("40") counts once on one side only; "99" and "x" are on no list.
    All new values sort after the others, so the first look draws the same noise for the values
    both sides hold. The odd codes clear the listed look's threshold by 5 σ (MST's and AIM's
    fits alike).

    With ``common="countries"`` the column holds three countries and ten rarer ones
    (:mod:`~tabsynth.synthesizers.vocabularies`), and the list is the rest of the world's."""
    tail, new = (
        (RARE_COUNTRIES, NEW_COUNTRIES) if common == "countries" else (ODD_CODES, NEW_VALUES)
    )
    data = base_table()
    rows = 1380 // len(COMMON_VALUES[common])
    codes = np.array([*np.repeat(tail, 62), *np.repeat(COMMON_VALUES[common], rows)], dtype=object)
    np.random.default_rng(8).shuffle(codes)
    codes[7] = COMMON_VALUES[common][0]
    data["code"] = codes
    metadata = Metadata({"code": ColumnSpec("categorical"), **declared_schema().columns})
    if extra in EXTRA_ROWS:
        return data, neighbour(data, extra), metadata
    row = data.iloc[[7]].assign(code=new[extra])
    return data, pd.concat([data, row], ignore_index=True), metadata


def assert_listed(synth, common: str = "codes") -> None:
    """One look with a list, at the code column, and all the common values and odd codes but
    none of the new ones. A listed code no row holds passes at the look's false-release rate
    (1e-3 each, so about 4 % of fits release one of the 38 here; a country list's 300 entries,
    about 0.3 in all), as the noise stream allows.
    "other" decodes to listed codes the look left (their noisy counts are the look's release;
    no row holds them here, but some clear the shift by noise), never to the new values off
    the list."""
    (look,) = [e for e in synth.privacy.entries if "listed" in e.params]
    assert "'code'" in look.purpose
    released = set(synth.encoder_.metadata["code"].categories)
    countries = common == "countries"
    tail, new = (RARE_COUNTRIES, NEW_COUNTRIES) if countries else (ODD_CODES, NEW_VALUES)
    held = {*COMMON_VALUES[common], *tail}
    listed, _ = implied_list(COMMON_VALUES[common] if countries else ["10", "20", "30"])
    assert held <= released
    assert released - held <= set(listed) - set(new.values())
    rare = dict(synth.encoder_.codecs["code"].rare)
    assert rare and set(rare) <= set(listed) and set(rare).isdisjoint(tail)


@pytest.mark.parametrize("extra", [*EXTRAS, *NEW_VALUES])
def test_mst_second_look_on_implied_codes(tmp_path, extra) -> None:
    assert_fits_agree(mst, *listed_case(extra), tmp_path, assert_listed)


@pytest.mark.parametrize("extra", [*NEW_VALUES, *EXTRAS[:3]])
def test_mst_second_look_on_codes_among_other_values(tmp_path, extra) -> None:
    case = listed_case(extra, "codes and a decimal")
    check = lambda synth: assert_listed(synth, "codes and a decimal")  # noqa: E731
    assert_fits_agree(mst, *case, tmp_path, check)


@pytest.mark.parametrize("extra", [*NEW_COUNTRIES, *EXTRAS[:3]])
def test_mst_second_look_on_a_vocabulary(tmp_path, extra) -> None:
    """Released country names imply the rest of the world's as a public list
    (:mod:`~tabsynth.synthesizers.vocabularies`): a country only the extra row holds is
    counted on it, on one side only, a name off it as before."""
    case = listed_case(extra, "countries")
    check = lambda synth: assert_listed(synth, "countries")  # noqa: E731
    assert_fits_agree(mst, *case, tmp_path, check)


@pytest.mark.parametrize("extra", list(NEW_COUNTRIES))
def test_aim_second_look_on_a_vocabulary(tmp_path, extra) -> None:
    case = listed_case(extra, "countries")
    check = lambda synth: assert_listed(synth, "countries")  # noqa: E731
    assert_fits_agree(aim, *case, tmp_path, check, rounds_follow_noise=True)


@pytest.mark.parametrize("extra", ["a new code on the implied list", "a new code off the list"])
def test_aim_second_look_on_implied_codes(tmp_path, extra) -> None:
    case = listed_case(extra)
    assert_fits_agree(aim, *case, tmp_path, assert_listed, rounds_follow_noise=True)


@pytest.mark.slow
@pytest.mark.parametrize("extra", ["a new code on the implied list", "a new code off the list"])
def test_dpsgd_second_look_on_implied_codes(tmp_path, extra) -> None:
    """DP-SGD shares the released domain, its listed look and the rare codes "other" decodes
    to; with the row count declared, nothing else of its fit follows the rows."""
    data, other, metadata = listed_case(extra)
    make = lambda: dpsgd(public_rows=len(data))  # noqa: E731
    assert_fits_agree(make, data, other, metadata, tmp_path, assert_listed)


#: Neighbours of the value-group test beyond EXTRA_ROWS: new codes in the group's columns.
NEW_CODES = {
    "one new code in two columns": {"dx1": "Z99", "dx2": "Z99"},
    "three new codes in one row": {"dx1": "Z97", "dx2": "Z98", "dx3": "Z99"},
}


def value_group_case(extra: str) -> tuple[pd.DataFrame, pd.DataFrame, Metadata]:
    """Three diagnosis columns declared one value group
    (:mod:`~tabsynth.synthesizers.value_groups`): thirty codes held by 41 to 82 rows per
    column, against a first threshold of 80 for the pooled counts (MST's fit), and row 7
    holds some. The neighbour adds a copy of row 7, changed as ``extra`` says: as the other
    neighbour tests, or holding codes no other row has, one code in two columns (which counts
    once) or three in one row (k new values: the case the threshold's δ/k covers)."""
    data = base_table()
    rng = np.random.default_rng(9)
    codes = [f"{c}{i}" for c in "EVW" for i in range(10)]
    for name in ("dx1", "dx2", "dx3"):
        column = np.array([*np.repeat(codes, 30 + 30 * (name != "dx3")), *["A"] * 200])
        data[name] = rng.choice(column, len(data)).astype(object)
    data.loc[7, ["dx1", "dx2", "dx3"]] = ["E1", "V2", "E1"]
    group = ColumnSpec("categorical", value_group="dx")
    metadata = Metadata(
        {"dx1": group, "dx2": group, "dx3": group, **declared_schema().columns}, public=False
    )
    if extra in EXTRA_ROWS:
        return data, neighbour(data, extra), metadata
    row = data.iloc[[7]].copy()
    for column, code in NEW_CODES[extra].items():
        row[column] = code
    return data, pd.concat([data, row], ignore_index=True), metadata


def assert_group_released_together(synth) -> None:
    """One first look and one second (which the fingerprint leaves out) for the group, one
    list for its columns, more than "A" in it, and none of the neighbour's new codes."""
    looks = [e for e in synth.privacy.entries if "value group 'dx'" in e.purpose]
    kept = [e.params["values_per_row"] for e in looks if e.mechanism == "dp_categories"]
    assert kept == [3, 3]
    released = {synth.encoder_.metadata[n].categories for n in ("dx1", "dx2", "dx3")}
    assert len(released) == 1 and not {"Z97", "Z98", "Z99"} & set(next(iter(released)))
    assert len(next(iter(released))) > 10


def fixed_split(make, metadata: Metadata):
    """``make``'s synthesizer with the default domain share given as ``budget_split``.

    The group's first look releases every code, so nothing is at stake in its tail
    (:func:`~tabsynth.synthesizers.dp_tails.rows_at_stake`), and whether its noisy tally
    stands out is noise alone. A new category shifts the seeded noise stream, so it may stand
    out on one side only: post-processing, but with the default budget the extra for long
    tails would then move the model's σ, which the fingerprints compare exactly. A given share
    has no extra (the pool is spent whatever the tallies say), so everything else still
    compares."""

    def made():
        synth = make()
        synth.budget_split = dp_domain.domain_share(metadata)
        return synth

    return made


@pytest.mark.parametrize("extra", [*EXTRAS, *NEW_CODES])
def test_mst_value_group(tmp_path, extra) -> None:
    data, other, metadata = value_group_case(extra)
    make = fixed_split(mst, metadata)
    assert_fits_agree(make, data, other, metadata, tmp_path, assert_group_released_together)


@pytest.mark.slow
@pytest.mark.parametrize("extra", list(NEW_CODES))
def test_aim_value_group(tmp_path, extra) -> None:
    data, other, metadata = value_group_case(extra)
    make, check = fixed_split(aim, metadata), assert_group_released_together
    assert_fits_agree(make, data, other, metadata, tmp_path, check, rounds_follow_noise=True)


def single_cells_grown(z: np.ndarray, threshold: float) -> tuple[int, int] | None:
    """The span occupied_span would give without its run: cells above ``threshold``, grown
    through neighbours above EXTEND_SIGMAS."""
    cells = np.flatnonzero(z > threshold)
    if not cells.size:
        return None
    low, high = int(cells[0]), int(cells[-1])
    while low > 0 and z[low - 1] > mechanisms.EXTEND_SIGMAS:
        low -= 1
    while high < z.size - 1 and z[high + 1] > mechanisms.EXTEND_SIGMAS:
        high += 1
    return low, high


def width(span: tuple[int, int] | None) -> int:
    return 0 if span is None else span[1] - span[0] + 1


@pytest.mark.slow
@pytest.mark.parametrize("extra", EXTRAS)
def test_aim(table, tmp_path, extra) -> None:
    left, right, _ = play(aim, table, extra, declared_schema(), tmp_path, rounds_follow_noise=True)
    assert_same(left, right)


@pytest.mark.slow
@pytest.mark.parametrize("extra", ["missing value", "new category", "extreme outlier"])
def test_aim_estimates_stop_early(table, tmp_path, extra, monkeypatch) -> None:
    """Every estimate (each round's and the final one) stops once converged
    (``until_converged``), after a number of iterations that follows the noisy measurements;
    neighbours still show and store the same things, and both kinds of stop must happen on
    both sides (else the test proves nothing)."""
    calls: list[tuple[int, int]] = []  # (cap, iterations run), fit after fit
    real_estimate = aim_module.estimate

    def watched(*args, **kwargs):
        model = real_estimate(*args, **kwargs)
        assert kwargs.get("until_converged")
        calls.append((kwargs["iters"], model.iterations))
        return model

    monkeypatch.setattr(aim_module, "estimate", watched)
    make = lambda: AIMSynthesizer(  # noqa: E731
        epsilon=EPSILON, max_rounds=8, round_iters=400, max_iters=2000, **COMMON
    )
    left, right, _ = play(make, table, extra, declared_schema(), tmp_path, rounds_follow_noise=True)
    assert_same(left, right)
    finals = [i for i, (cap, _) in enumerate(calls) if cap == 2000]
    assert len(finals) == 2, calls
    for fit in (calls[: finals[0] + 1], calls[finals[0] + 1 :]):
        assert fit[-1][1] < 2000, fit  # the final estimate stopped
        assert min(done for _, done in fit[1:-1]) < 400, fit  # so did a selected round's


@pytest.mark.slow
@pytest.mark.parametrize("extra", ["missing value", "new category", "extreme outlier"])
def test_aim_with_coarse_pairs(table, tmp_path, extra) -> None:
    """The coarse cuts come from the noisy 1-way marginals, so neighbours offer, score and
    measure the same coarse cells; the fits must measure some (else the test proves nothing)."""
    make = lambda: AIMSynthesizer(  # noqa: E731
        epsilon=EPSILON, max_rounds=12, round_iters=30, max_iters=100, coarse_pairs=True, **COMMON
    )
    left, right, (fit, _) = play(
        make, table, extra, declared_schema(), tmp_path, rounds_follow_noise=True
    )
    assert_same(left, right)
    assert any("coarse cells" in e.purpose for e in fit.privacy_.entries)


@pytest.mark.slow
@pytest.mark.parametrize("extra", ["missing value", "new category", "extreme outlier"])
@pytest.mark.parametrize("method", ["aim", "mst"])
def test_band_pairs(table, tmp_path, extra, method) -> None:
    """Band cells come from the noisy 1-way marginals' ranks and coarse cuts (MST's on its
    compressed codes), so neighbours offer, score and measure the same cells; the fits must
    measure some band (else the test proves nothing), hence an income that follows age."""
    rng = np.random.default_rng(5)
    age = table["age"].astype(int)
    income = np.round(1000 * age + rng.normal(0, 3000, len(table)), 2)
    table = table.assign(income=pd.Series(income, dtype=object))
    if method == "aim":
        make = lambda: AIMSynthesizer(  # noqa: E731
            epsilon=EPSILON, max_rounds=12, round_iters=30, max_iters=100, band_pairs=True, **COMMON
        )
    else:
        make = lambda: MSTSynthesizer(epsilon=EPSILON, max_iters=200, band_pairs=True, **COMMON)  # noqa: E731
    left, right, (fit, _) = play(
        make, table, extra, declared_schema(), tmp_path, rounds_follow_noise=method == "aim"
    )
    assert_same(left, right)
    assert any("band cells" in e.purpose for e in fit.privacy_.entries)


@pytest.mark.slow
@pytest.mark.parametrize("extra", EXTRAS)
def test_dpsgd_with_a_public_row_count(table, tmp_path, extra) -> None:
    make = lambda: dpsgd(public_rows=len(table))  # noqa: E731
    left, right, _ = play(make, table, extra, declared_schema(), tmp_path)
    assert_same(left, right)


@pytest.mark.slow
@pytest.mark.parametrize("extra", ["missing value", "new category", "extreme outlier"])
def test_dpsgd_default_width_follows_the_released_domain(
    table, tmp_path, extra, monkeypatch
) -> None:
    """The default width and the batch cap come from the released domain sizes: with a
    parameter budget small enough to narrow this table's network, neighbours still fit the
    same network and show the same fingerprint."""
    monkeypatch.setattr(dp, "MAX_DP_PARAMS", 15_000)  # the table's network: 24,635 at width 64
    make = lambda: dpsgd(public_rows=len(table), width=None)  # noqa: E731
    left, right, fits = play(make, table, extra, declared_schema(), tmp_path)
    widths = {fit.net_.embed.bias.shape[1] for fit in fits}
    assert len(widths) == 1 and widths.pop() < dp.DP_WIDTH
    assert_same(left, right)


@pytest.mark.slow
@pytest.mark.parametrize("extra", ["missing value", "extreme outlier", "exact duplicate"])
def test_dpsgd_differs_only_through_its_noisy_row_count(table, tmp_path, extra) -> None:
    """Named difference: the schedule (sampling rate, steps, σ, expected batch) follows the
    row count released by the noisy 1-way marginals (with the same noise, it moves by the
    extra row, and by the domain releases that shape those marginals)."""
    left, right, (fit_left, fit_right) = play(dpsgd, table, extra, declared_schema(), tmp_path)
    counts = [fit.history_["rows"] for fit in (fit_left, fit_right)]
    assert all(abs(c - len(table)) < 200 for c in counts), counts  # a count, not a guess
    for fit, rows, print_ in ((fit_left, counts[0], left), (fit_right, counts[1], right)):
        (entry,) = [e for e in print_["ledger"] if e["mechanism"] == "dp_sgd"]
        epochs, batch = default_dp_schedule(rows, 2, None)
        assert entry["expected_batch_size"] == batch and entry["epochs"] == epochs
        assert entry["steps"] == fit.history_["steps"]
    schedule = ("purpose", "sample_rate", "steps", "noise_multiplier", "expected_batch_size")
    for print_ in (left, right):
        for entry in print_["ledger"]:
            if entry["mechanism"] == "dp_sgd":
                for key in schedule:
                    entry.pop(key)
    assert_same(left, right)


@pytest.mark.parametrize(
    "extra",
    ["non-integer in an int column", "malformed date", "new category", "outside public bounds"],
)
def test_refusals_do_not_quote_the_row(table, extra) -> None:
    """In "error" mode the neighbour is refused, and the message names the column and the
    rule: never the value, nor a count of rows."""
    synth = MSTSynthesizer(epsilon=EPSILON, noise_seed=3)
    with pytest.raises(DataError) as caught:
        synth.fit(neighbour(table, extra), public_metadata())
    message = str(caught.value)
    for value in EXTRA_ROWS[extra].values():
        assert str(value) not in message
    assert not re.search(r"\d+ (values|rows)|e\.g\.", message), message  # no count, example


def test_detected_kinds_are_refused_on_both_neighbours() -> None:
    """Detected kinds and types are functions of the values: one row of 2.5 turns a float64
    column of whole numbers from int to float, one malformed date turns a date column written
    as text an identifier. So the schema of detected metadata stays ``source="data"``, and a DP
    fit refuses it on both neighbours with the same message."""
    days = pd.date_range("2020-01-01", periods=500).strftime("%Y-%m-%d")
    frame = pd.DataFrame({"amount": np.arange(500) % 40 * 1.0, "when": days})
    plus = pd.concat([frame, pd.DataFrame({"amount": [2.5], "when": ["not a date"]})])
    schemas = [Metadata.detect(f).schema_only() for f in (frame, plus)]
    assert [s["amount"].dtype for s in schemas] == ["int", "float"]  # what would leak
    assert [s["when"].kind for s in schemas] == ["datetime", "id"]
    messages = []
    for f, schema in zip((frame, plus), schemas, strict=True):
        with pytest.raises(PrivacyError) as caught:
            MSTSynthesizer(epsilon=EPSILON, noise_seed=3).fit(f, schema)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


@pytest.mark.slow
@pytest.mark.parametrize("extra", ["missing value", "new category", "extreme outlier"])
def test_cli_fit(table, tmp_path, extra) -> None:
    """``tabsynth fit`` on CSV files: identical messages and model structure."""
    metadata = tmp_path / "metadata.json"
    public_metadata().save(metadata)
    outputs = []
    for name, frame in (("d", table), ("d_plus_x", neighbour(table, extra))):
        (tmp_path / name).mkdir()
        csv = tmp_path / name / "table.csv"
        frame.to_csv(csv, index=False)
        model = tmp_path / name / "model.tsyn"
        done = subprocess.run(
            [sys.executable, "-m", "tabsynth.cli", "fit", str(csv), "-s", "mst",
             "--epsilon", str(EPSILON), "--metadata", str(metadata), "--seed", "0",
             "--param", "noise_seed=3", "--param", "on_out_of_bounds=clip", "--out", str(model)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        outputs.append((done.stdout, done.stderr.replace(str(tmp_path / name), "DIR"), model))
    (out_left, err_left, model_left), (out_right, err_right, model_right) = outputs
    assert (out_left, err_left) == (out_right, err_right)
    assert "2,00" not in err_left and "2000" not in err_left  # no row count printed
    from tabsynth.synthesizers import load

    prints = [fingerprint(load(m), [], tmp_path) for m in (model_left, model_right)]
    assert_same(*prints)


#: Odd rows a reviewer tried: each goes FIRST (pandas guesses layouts and types from the first
#: value) into a column declared without a format or categories.
ODD_ROWS = {
    "date in another layout": {"when": "05/01/2020"},
    "date with an offset": {"when": "2020-01-05T10:00:00+05:00"},
    "zone-aware timestamp": {"when": pd.Timestamp("2020-01-05", tz="Asia/Tokyo")},
    "date beyond 2262": {"when": "3000-01-01"},
    "True among int codes": {"code": True},
    "float among int codes": {"code": 1.0},
    "numpy int among int codes": {"code": np.int64(1)},
    "unhashable list": {"code": [1, 2]},
    "complex number": {"amount": 3 + 4j},
}


def _odd_table() -> tuple[pd.DataFrame, Metadata]:
    rng = np.random.default_rng(3)
    n = 300
    frame = pd.DataFrame(
        {
            "when": pd.Series(
                (pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"))
                .strftime("%Y-%m-%d")
                .tolist(),
                dtype=object,
            ),
            "code": pd.Series(rng.integers(1, 4, n).tolist(), dtype=object),
            "amount": pd.Series(rng.normal(100, 10, n).round(2).tolist(), dtype=object),
        }
    )
    schema = Metadata(
        {
            "when": ColumnSpec("datetime"),
            "code": ColumnSpec("categorical"),
            "amount": ColumnSpec("numerical", dtype="float"),
        }
    )
    return frame, schema


@pytest.mark.parametrize("odd", list(ODD_ROWS))
def test_a_first_row_changes_no_other_row(odd) -> None:
    """Repairs are row-local: whatever one row holds, and wherever it stands, every other
    row is validated exactly as without it (no layout or type guessed from the first value)."""
    frame, schema = _odd_table()
    row = frame.iloc[[0]].copy()
    for column, value in ODD_ROWS[odd].items():
        row[column] = pd.Series([value], index=row.index, dtype=object)
    with_row = pd.concat([row, frame], ignore_index=True)
    alone = schema.validate(frame, on_out_of_bounds="clip", private=True)
    together = schema.validate(with_row, on_out_of_bounds="clip", private=True)
    pd.testing.assert_frame_equal(together.iloc[1:].reset_index(drop=True), alone)


def test_categories_learned_as_text_are_the_same_whatever_comes_first(tmp_path) -> None:
    frame, schema = _odd_table()
    make = lambda: MSTSynthesizer(epsilon=EPSILON, max_iters=50, **COMMON)  # noqa: E731
    prints = []
    for first in (None, True, np.int64(1), "1"):
        data = frame.copy()
        if first is not None:
            data.loc[0, "code"] = first
        synth, shown = fit_and_watch(make, data, schema.with_columns(when=ColumnSpec("datetime")))
        prints.append(fingerprint(synth, shown, tmp_path))
        assert synth.encoder_.codecs["code"].categories == ("1", "2", "3")
    for other in prints[1:]:
        assert_same(prints[0], other)


def test_a_category_dtype_of_booleans_stays_categorical() -> None:
    from tabsynth.schema import schema_from_dtypes

    frame = pd.DataFrame({"flag": pd.Series([True, False] * 5, dtype="category")})
    assert schema_from_dtypes(frame)["flag"].kind == "categorical"
