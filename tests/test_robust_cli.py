"""The command line under bad input, signals and reruns (issue #12).

Every bad input ends with exit code 2 and one line that says what to fix, output paths are
checked before any data is read or any model is fitted, SIGTERM leaves no temporary file
behind (exit 143), stale temporaries of killed runs are cleaned up, and a seeded SDV fit
samples the same table in every process.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

import tabsynth as ts
from tabsynth.cli import main
from tabsynth.errors import FileFormatError
from tabsynth.io import STALE_TEMP_SECONDS, atomic_open, check_output_path, read_table

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A table, a fitted model and assorted broken inputs, made once for the module."""
    root = tmp_path_factory.mktemp("robust_cli")
    data = ts.datasets.load_sample("medical").head(500)
    table = root / "medical.csv"
    data.to_csv(table, index=False)
    model = root / "model.tsyn"
    ts.GaussianCopulaSynthesizer(seed=0).fit(data).save(model)
    (root / "empty.csv").write_text("")
    (root / "header.csv").write_text(",".join(data.columns) + "\n")
    (root / "table.txt").write_text("x\n1\n")
    (root / "junk.tsyn").write_bytes(b"not a zip file")
    (root / "folder").mkdir()
    return {
        "root": root,
        "table": table,
        "model": model,
        "empty": root / "empty.csv",
        "header": root / "header.csv",
        "txt": root / "table.txt",
        "junk": root / "junk.tsyn",
        "folder": root / "folder",
    }


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if a command reads a table, loads a model or runs an audit."""

    def work(*args, **kwargs):
        raise AssertionError("the command started its work before checking its paths")

    monkeypatch.setattr("tabsynth.io.read_table", work)
    monkeypatch.setattr("tabsynth.synthesizers.load", work)
    monkeypatch.setattr("tabsynth.evaluation.audit.audit", work)
    monkeypatch.setattr("tabsynth.datasets.load_sample", work)


def _argv(argv: list[str], files: dict[str, Path], tmp_path: Path) -> list[str]:
    out = []
    for arg in argv:
        if arg.startswith("{") and arg.endswith("}"):
            arg = str(files[arg[1:-1]])
        elif arg.startswith("OUT/"):
            arg = str(tmp_path / arg[4:])
        out.append(arg)
    return out


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tabsynth"), err
    return lines[0]


BAD_INPUTS = [
    # sample
    (["sample", "{model}", "-n", "abc", "-o", "OUT/s.csv", "--trusted"], "positive integer"),
    (["sample", "{model}", "-n", "0", "-o", "OUT/s.csv", "--trusted"], "positive integer"),
    (
        ["sample", "{model}", "-n", "5", "--seed", "-1", "-o", "OUT/s.csv", "--trusted"],
        "0 to 2**63",
    ),
    (
        ["sample", "{model}", "-n", "5", "--seed", str(2**70), "-o", "OUT/s.csv", "--trusted"],
        "0 to 2**63",
    ),
    (["sample", "OUT/missing.tsyn", "-n", "5", "-o", "OUT/s.csv"], "does not exist"),
    (["sample", "{folder}", "-n", "5", "-o", "OUT/s.csv"], "is a folder"),
    (["sample", "{junk}", "-n", "5", "-o", "OUT/s.csv"], "not a readable tabsynth model"),
    (["sample", "{table}", "-n", "5", "-o", "OUT/s.csv"], "not a readable tabsynth model"),
    (["sample", "{model}", "-n", "5", "-o", "OUT/s.csv"], "--trusted"),
    (["sample", "{model}", "-n", "5", "-o", "OUT/s.txt", "--trusted"], "unknown extension"),
    # privacy
    (["privacy", "OUT/missing.tsyn"], "does not exist"),
    (["privacy", "{folder}"], "is a folder"),
    (["privacy", "{junk}"], "not a readable tabsynth model"),
    # metadata detect
    (["metadata", "detect", "OUT/missing.csv", "-o", "OUT/m.json"], "does not exist"),
    (["metadata", "detect", "{folder}", "-o", "OUT/m.json"], "is a folder"),
    (["metadata", "detect", "{empty}", "-o", "OUT/m.json"], "the file is empty"),
    (["metadata", "detect", "{header}", "-o", "OUT/m.json"], "no rows"),
    (["metadata", "detect", "{txt}", "-o", "OUT/m.json"], "unknown extension"),
    # report
    (["report", "{table}", "OUT/missing.csv", "-o", "OUT/r.html"], "does not exist"),
    (["report", "{empty}", "{table}", "-o", "OUT/r.html"], "the file is empty"),
    (["report", "{header}", "{header}", "-o", "OUT/r.html"], "no rows"),
    (["report", "{table}", "{table}", "--target", "nope", "-o", "OUT/r.html"], "not a column"),
    # audit
    (
        ["audit", "{table}", "-s", "mst", "--epsilon", "1", "--seed", "-1", "-o", "OUT/a.html"],
        "0 to 2**63",
    ),
    (
        ["audit", "{table}", "-s", "mst", "--epsilon", "1", "--seed", str(2**70), "-o", "OUT/a.h"],
        "0 to 2**63",
    ),
    (["audit", "{table}", "-s", "nope", "-o", "OUT/a.html"], "unknown synthesizer"),
    (["audit", "{table}", "-s", "mst", "--targets", "0", "-o", "OUT/a.html"], "positive integer"),
    (["audit", "{header}", "-s", "mst", "--epsilon", "1", "-o", "OUT/a.html"], "no rows"),
    # fit
    (["fit", "{empty}", "-s", "gaussian_copula", "-o", "OUT/m.tsyn"], "the file is empty"),
    (["fit", "{txt}", "-s", "gaussian_copula", "-o", "OUT/m.tsyn"], "unknown extension"),
    (["fit", "{table}", "-s", "gaussian_copula", "--seed", "x", "-o", "OUT/m.tsyn"], "seed"),
    # demo
    (["demo", "--seed", "-1", "--out-dir", "OUT/demo"], "0 to 2**32"),
    (["demo", "--out-dir", "{table}"], "is a file, not a folder"),
    (["demo", "-s", "nope", "--out-dir", "OUT/demo"], "unknown synthesizer"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_exits_2_with_one_line(tmp_path, files, capsys, argv, message):
    assert main(_argv(argv, files, tmp_path)) == 2
    assert message in _one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []  # nothing written, not even the demo's folder


def test_huge_sample_size_is_one_line(tmp_path, files, capsys):
    out = tmp_path / "s.csv"
    argv = ["sample", str(files["model"]), "-n", str(10**12), "-o", str(out), "--trusted"]
    assert main(argv) == 2
    assert "rows" in _one_line_error(capsys)
    assert not out.exists()


OUTPUT_CHECKS = [
    (["report", "{table}", "{table}", "-o", "OUT/r.html", "--json", "OUT/no/r.json"], "no"),
    (["report", "{table}", "{table}", "-o", "{folder}"], "is a folder"),
    (["report", "{table}", "{table}", "-o", "OUT/r.html", "--json", "OUT/r.html"], "overwrite"),
    (["report", "{table}", "{table}", "-o", "{table}"], "would overwrite"),
    (["audit", "{table}", "-s", "mst", "--epsilon", "1", "-o", "OUT/no/a.html"], "no"),
    (["audit", "{table}", "-s", "mst", "--epsilon", "1", "-o", "{folder}"], "is a folder"),
    (["sample", "{model}", "-n", "5", "-o", "OUT/no/s.csv", "--trusted"], "no"),
    (["sample", "{model}", "-n", "5", "-o", "{folder}", "--trusted"], "is a folder"),
    (["sample", "{model}", "-n", "5", "-o", "OUT/s.xlsx", "--trusted"], "unknown extension"),
    (["fit", "{table}", "-s", "gaussian_copula", "-o", "OUT/no/m.tsyn"], "no"),
    (["fit", "{table}", "-s", "gaussian_copula", "-o", "{folder}"], "is a folder"),
    (["fit", "{table}", "-s", "gaussian_copula", "-o", "{table}"], "would overwrite"),
    (["metadata", "detect", "{table}", "-o", "{folder}"], "is a folder"),
    (["metadata", "detect", "{table}", "-o", "OUT/no/m.json"], "no"),
]


@pytest.mark.parametrize(
    ("argv", "where"), OUTPUT_CHECKS, ids=[" ".join(a) for a, _ in OUTPUT_CHECKS]
)
def test_outputs_are_checked_before_the_work(tmp_path, files, capsys, no_work, argv, where):
    assert main(_argv(argv, files, tmp_path)) == 2
    line = _one_line_error(capsys)
    assert "cannot write" in line or "would overwrite" in line
    if where == "no":
        assert "folder" in line and "does not exist" in line and "create it" in line
    else:
        assert where in line
    assert list(tmp_path.iterdir()) == []  # not even the report's HTML


def test_check_output_path_says_what_to_fix(tmp_path):
    with pytest.raises(FileFormatError, match="is a folder; give the path of a file"):
        check_output_path(tmp_path)
    with pytest.raises(FileFormatError, match="does not exist; create it first"):
        check_output_path(tmp_path / "no" / "x.csv")
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileFormatError, match="is a file, not a folder"):
        check_output_path(tmp_path / "file" / "x.csv")
    with pytest.raises(FileFormatError, match="unknown extension"):
        check_output_path(tmp_path / "x.xlsx", (".csv",))
    assert check_output_path(tmp_path / "x.csv", (".csv",)) == tmp_path / "x.csv"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_unwritable_output_folder(tmp_path, files, capsys, no_work):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        argv = ["fit", str(files["table"]), "-s", "gaussian_copula", "-o", str(locked / "m")]
        assert main(argv) == 2
        assert "not writable" in _one_line_error(capsys)
    finally:
        locked.chmod(0o755)


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"tabsynth {ts.__version__}"


def test_every_tabsynth_error_is_printed_on_one_line(monkeypatch, tmp_path, files, capsys):
    from tabsynth.errors import DataError

    def fail(args):
        raise DataError("first line\nsecond line\n\tthird")

    monkeypatch.setattr("tabsynth.cli._privacy", fail)
    assert main(["privacy", str(files["model"])]) == 2
    assert _one_line_error(capsys) == "tabsynth: error: first line second line third"


def test_empty_and_folder_inputs_in_read_table(files):
    with pytest.raises(FileFormatError, match="the file is empty"):
        read_table(files["empty"])
    with pytest.raises(FileFormatError, match="is a folder"):
        read_table(files["folder"])
    assert len(read_table(files["header"])) == 0  # a header-only file reads as 0 rows


# ---------------------------------------------------------------------------------------------
# temporaries: SIGTERM and stale leftovers

_SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    from tabsynth import cli
    from tabsynth.io import atomic_open
    from tabsynth.metadata import Metadata

    def slow_save(self, path):
        with atomic_open(path, "w") as handle:
            handle.write("{" * 100_000)
            handle.flush()
            print("writing", flush=True)
            time.sleep(60)

    Metadata.save = slow_save
    sys.exit(cli.main(["metadata", "detect", sys.argv[1], "--out", sys.argv[2]]))
    """
)


def test_sigterm_removes_the_temporary_file_and_exits_143(tmp_path, files):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "m.json"
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(files["table"]), str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        assert ready and proc.stdout.readline().strip() == "writing", proc.stderr.read()
        temporaries = list(out_dir.glob(".m.json.*.tmp"))
        assert len(temporaries) == 1  # the write is in progress
        proc.send_signal(signal.SIGTERM)
        # the writer sleeps 60 s: ending well before that means the signal stopped it
        code = proc.wait(timeout=45)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read()
    assert code == 143, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("tabsynth: term")
    assert list(out_dir.iterdir()) == []  # neither the temporary nor a partial m.json


def test_stale_temporaries_of_killed_runs_are_removed(tmp_path):
    target = tmp_path / "t.csv"
    old = time.time() - STALE_TEMP_SECONDS - 60
    stale = tmp_path / ".t.csv.ab_cd12x.tmp"  # a run killed by SIGKILL long ago
    fresh = tmp_path / ".t.csv.zz9_8yx7.tmp"  # a write in progress in another process
    other = tmp_path / ".t.csv.gz.ab_cd12x.tmp"  # another target's temporary
    odd = tmp_path / ".t.csv.keep-me.tmp"  # not our naming pattern
    for path in (stale, fresh, other, odd):
        path.write_text("partial")
    for path in (stale, other, odd):
        os.utime(path, (old, old))
    with atomic_open(target, "w") as handle:
        handle.write("a\n1\n")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([fresh.name, other.name, odd.name, target.name])


# ---------------------------------------------------------------------------------------------
# seeded SDV results are the same in every process

_FIT_AND_SAMPLE = textwrap.dedent(
    """
    import sys
    import tabsynth as ts

    data = ts.datasets.load_sample("medical").head(500)
    synth = ts.GaussianCopulaSynthesizer(seed=0).fit(data)
    synth.sample(300, seed=1).to_pickle(sys.argv[1])
    """
)


def test_seeded_sdv_sampling_does_not_depend_on_the_hash_seed(tmp_path):
    """SDV orders its transformers by iterating a set of column names, so the order changes
    with PYTHONHASHSEED; the per-column generators that place missing values must not."""
    procs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = tmp_path / f"sample_{hash_seed}.pkl"
        cmd = [sys.executable, "-c", _FIT_AND_SAMPLE, str(out)]
        procs.append((out, subprocess.Popen(cmd, env=env, cwd=REPO, stderr=subprocess.PIPE)))
    frames = []
    for out, proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-2000:]
        frames.append(pd.read_pickle(out))
    first, second = frames
    assert first.isna().to_numpy().any()  # the sample has missing values to place
    pd.testing.assert_frame_equal(first, second)
