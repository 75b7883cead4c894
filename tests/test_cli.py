"""The command line: real runs of main(), exit codes, one-line errors, atomic outputs."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import tabsynth as ts
from tabsynth.cli import main


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "medical.csv"
    ts.datasets.load_sample("medical").head(800).to_csv(path, index=False)
    return path


def test_fit_sample_and_privacy(tmp_path, table, capsys):
    model = tmp_path / "m.tsyn"
    assert main(["fit", str(table), "-s", "gaussian_copula", "--seed", "0", "-o", str(model)]) == 0
    out = tmp_path / "s.parquet"
    assert main(["sample", str(model), "-n", "50", "--seed", "1", "-o", str(out), "--trusted"]) == 0
    frame = pd.read_parquet(out)
    assert len(frame) == 50 and frame.columns[0] == "patient_id"
    assert main(["privacy", str(model), "--trusted"]) == 0
    assert "not differentially private" in capsys.readouterr().out


def test_metadata_detect_writes_data_sourced_metadata(tmp_path, table):
    out = tmp_path / "m.json"
    assert main(["metadata", "detect", str(table), "-o", str(out)]) == 0
    assert json.loads(out.read_text())["source"] == "data"


def test_a_detected_schema_is_refused_by_a_dp_fit_until_declared(tmp_path, table, capsys):
    """The kinds ``detect --schema-only`` writes were read from the values: the file says
    source "data", and a DP fit takes it only once the user has checked it and said so."""
    schema = tmp_path / "schema.json"
    assert main(["metadata", "detect", str(table), "--schema-only", "-o", str(schema)]) == 0
    raw = json.loads(schema.read_text())
    assert raw["source"] == "data" and '"source": "user"' in capsys.readouterr().err
    fit = ["fit", str(table), "-s", "mst", "--epsilon", "10", "--metadata", str(schema)]
    fit += ["-o", str(tmp_path / "m.tsyn")]
    assert main(fit) == 2
    assert '"source": "user"' in capsys.readouterr().err
    schema.write_text(json.dumps({**raw, "source": "user"}))
    assert main(fit) == 0


def test_demo_writes_a_synthetic_table_and_a_report(tmp_path):
    assert main(["demo", "--out-dir", str(tmp_path), "--synthesizer", "gaussian_copula"]) == 0
    out = pd.read_csv(tmp_path / "synthetic_medical.csv")
    assert len(out) == 6400  # 80% of the 8,000 sample rows are used for training
    summary = json.loads((tmp_path / "report.json").read_text())["summary"]
    assert summary["privacy_risk"] in ("low", "medium", "high") and summary["tstr_auc"] > 0.5
    assert "<html" in (tmp_path / "report.html").read_text()[:200].lower()


def test_report_command(tmp_path, table, capsys):
    real = pd.read_csv(table)
    real.iloc[:500].to_csv(tmp_path / "train.csv", index=False)
    real.iloc[500:].to_csv(tmp_path / "holdout.csv", index=False)
    real.iloc[:500].to_csv(tmp_path / "copy.csv", index=False)  # a "synthesizer" that copies
    args = [
        "report",
        str(tmp_path / "train.csv"),
        str(tmp_path / "copy.csv"),
        "--holdout",
        str(tmp_path / "holdout.csv"),
        "--target",
        "readmitted_30d",
        "-o",
        str(tmp_path / "r.html"),
        "--json",
        str(tmp_path / "r.json"),
    ]
    assert main(args) == 0
    summary = json.loads((tmp_path / "r.json").read_text())["summary"]
    assert summary["privacy_risk"] == "high"
    assert (tmp_path / "r.html").stat().st_size > 10_000


def test_audit_command(tmp_path, table):
    out = tmp_path / "audit.html"
    args = [
        "audit",
        str(table),
        "-s",
        "gaussian_copula",
        "--trials",
        "4",
        "--targets",
        "1",
        "--rows",
        "200",
        "-o",
        str(out),
    ]
    assert main(args) == 0
    assert "audit" in out.read_text().lower()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "missing.csv", "-s", "gaussian_copula", "-o", "m.tsyn"], "does not exist"),
        (["fit", "{table}", "-s", "nope", "-o", "m.tsyn"], "unknown synthesizer"),
        (
            ["fit", "{table}", "-s", "gaussian_copula", "--epsilon", "1", "-o", "m.tsyn"],
            "not differentially private",
        ),
        (
            ["fit", "{table}", "-s", "gaussian_copula", "--param", "colour=red", "-o", "m.tsyn"],
            "takes no parameter",
        ),
        (["sample", "{table}", "-n", "5", "-o", "x.csv"], "not a readable tabsynth model"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, table, capsys, argv, message):
    argv = [a.replace("{table}", str(table)) for a in argv]
    argv = [
        str(tmp_path / a) if a.endswith((".tsyn", ".csv")) and "/" not in a else a for a in argv
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and err.startswith("tabsynth: error:")


def test_sample_refuses_untrusted_pickle_and_zero_rows(tmp_path, table, capsys):
    model = tmp_path / "m.tsyn"
    main(["fit", str(table), "-s", "gaussian_copula", "-o", str(model)])
    assert main(["sample", str(model), "-n", "5", "-o", str(tmp_path / "x.csv")]) == 2
    assert main(["sample", str(model), "-n", "0", "-o", str(tmp_path / "x.csv"), "--trusted"]) == 2
    assert not (tmp_path / "x.csv").exists()
    assert "positive integer" in capsys.readouterr().err


def test_unknown_output_extension_leaves_nothing_behind(tmp_path, table):
    model = tmp_path / "m.tsyn"
    main(["fit", str(table), "-s", "gaussian_copula", "-o", str(model)])
    assert main(["sample", str(model), "-n", "5", "-o", str(tmp_path / "x.xlsx"), "--trusted"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tsyn", "medical.csv"]
