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

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tabsynth.errors import DataError
from tabsynth.synthesizers import AIMSynthesizer, MSTSynthesizer
from tabsynth.synthesizers.autoregressive import AutoregressiveSynthesizer
from tabsynth.synthesizers.autoregressive.dp import default_dp_schedule

from neighbours import (
    EXTRA_ROWS,
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


def dpsgd(public_rows: int | None = None) -> AutoregressiveSynthesizer:
    return AutoregressiveSynthesizer(
        epsilon=EPSILON, epochs=2, width=8, progress=False, public_rows=public_rows, **COMMON
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


@pytest.mark.parametrize("extra", DTYPE_EXTRAS)
def test_mst_schema_from_dtypes(tmp_path, extra) -> None:
    left, right, _ = play(mst, typed_frame(base_table()), extra, None, tmp_path)
    assert_same(left, right)


@pytest.mark.slow
@pytest.mark.parametrize("extra", EXTRAS)
def test_aim(table, tmp_path, extra) -> None:
    left, right, _ = play(aim, table, extra, declared_schema(), tmp_path, rounds_follow_noise=True)
    assert_same(left, right)


@pytest.mark.slow
@pytest.mark.parametrize("extra", EXTRAS)
def test_dpsgd_with_a_public_row_count(table, tmp_path, extra) -> None:
    make = lambda: dpsgd(public_rows=len(table))  # noqa: E731
    left, right, _ = play(make, table, extra, declared_schema(), tmp_path)
    assert_same(left, right)


@pytest.mark.slow
@pytest.mark.parametrize("extra", ["missing value", "extreme outlier", "exact duplicate"])
def test_dpsgd_differs_only_through_its_noisy_row_count(table, tmp_path, extra) -> None:
    """Named difference: the schedule (sampling rate, steps, σ, expected batch) follows the
    released noisy count, which moves by one with the extra row under the same noise."""
    left, right, (fit_left, fit_right) = play(dpsgd, table, extra, declared_schema(), tmp_path)
    counts = [fit.history_["rows"] for fit in (fit_left, fit_right)]
    assert counts[1] - counts[0] == 1  # same noise, one more row
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
    assert not any(char.isdigit() for char in message.split("bounds")[0]), message


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
