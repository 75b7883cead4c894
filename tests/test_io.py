"""Reading tables and atomic writes."""

from __future__ import annotations

import pandas as pd
import pytest

from tabsynth.errors import FileFormatError
from tabsynth.io import atomic_open, read_table, write_table


def test_csv_keeps_none_strings_and_only_blanks_are_missing(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\nNone,1\n,2\nNA,3\n")
    frame = read_table(path)
    assert frame["a"].tolist()[0] == "None" and frame["a"].tolist()[2] == "NA"
    assert frame["a"].isna().tolist() == [False, True, False]


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_round_trip(tmp_path, suffix):
    frame = pd.DataFrame({"x": [1, 2], "y": ["a", None]})
    path = tmp_path / f"t{suffix}"
    write_table(frame, path)
    back = read_table(path)
    assert back["x"].tolist() == [1, 2] and back["y"].isna().tolist() == [False, True]


def test_failed_write_leaves_no_file(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), atomic_open(target, "w") as handle:
        handle.write("partial")
        raise RuntimeError("crash mid-write")
    assert list(tmp_path.iterdir()) == []


def test_unreadable_inputs(tmp_path):
    with pytest.raises(FileFormatError, match="does not exist"):
        read_table(tmp_path / "none.csv")
    odd = tmp_path / "t.xlsx"
    odd.write_text("x")
    with pytest.raises(FileFormatError, match="unknown extension"):
        read_table(odd)
    broken = tmp_path / "t.parquet"
    broken.write_text("not parquet")
    with pytest.raises(FileFormatError, match="cannot read"):
        read_table(broken)
    with pytest.raises(FileFormatError, match="does not exist"):
        write_table(pd.DataFrame({"x": [1]}), tmp_path / "no" / "dir.csv")
