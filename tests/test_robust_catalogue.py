"""Catalogue of bad inputs found by the robustness sweep (``benchmarks/robustness``, issue #12).

Each case asserts tabsynth's own exception type and a message that says what to fix, or the
correct result. Cases that need a fit use the smallest table and settings that reach the
check; most fail before any model is trained.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tabsynth as ts
from tabsynth.cli import main
from tabsynth.errors import (
    BudgetError,
    DataError,
    FileFormatError,
    MetadataError,
    ModelFileError,
    ParameterError,
)
from tabsynth.evaluation.audit import audit
from tabsynth.io import check_output_path
from tabsynth.synthesizers.mst import MSTSynthesizer

C = ts.ColumnSpec


def _table(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "sex": rng.choice(["F", "M"], n),
            "income": np.round(rng.lognormal(10, 1, n), 2),
        }
    )


PUBLIC = {
    "public": True,
    "columns": {
        "age": {"kind": "numerical", "dtype": "int", "lower": 0, "upper": 120, "nullable": False},
        "sex": {"kind": "categorical", "categories": ["F", "M"], "nullable": False},
        "income": {"kind": "numerical", "dtype": "float", "lower": 0, "upper": 1e7},
    },
}


# -- cells that are not one value -------------------------------------------------------

CELLS = [
    ([[1, 2], [3]], "list values"),
    ([{"a": 1}, {"b": 2}], "dict values"),
    ([{1}, {2}], "set values"),
    ([(1, 2), (3,)], "tuple values"),
    ([np.arange(2), np.arange(3)], "ndarray values"),
    ([b"x", b"y\x00"], "raw bytes"),
]


@pytest.mark.parametrize(("cells", "match"), CELLS, ids=[m for _, m in CELLS])
def test_cells_that_are_not_one_value_are_refused(cells, match) -> None:
    """pandas cannot count containers (a raw 'unhashable type' before), and DP fits learned
    their repr as text; bytes came back as "b'x'"."""
    frame = _table().assign(odd=[cells[i % len(cells)] for i in range(60)])
    with pytest.raises(DataError, match=match):
        ts.Metadata.detect(frame)
    with pytest.raises(DataError, match=match) as raised:
        ts.MSTSynthesizer(epsilon=1.0).fit(frame)  # the DP schema path: no value quoted
    assert "'odd'" in str(raised.value) and repr(cells[0]) not in str(raised.value)


def test_mixed_scalars_and_missing_values_are_still_accepted() -> None:
    frame = _table().assign(odd=["a", None, np.nan, pd.NA, 1, 2.5] * 10)
    assert ts.Metadata.detect(frame)["odd"].kind == "categorical"


# -- metadata built in Python follows the JSON rules -----------------------------------

SPECS = [
    (dict(kind="numerical", dtype="int", lower="a", upper="z"), "'lower' must be a finite"),
    (dict(kind="categorical", nullable="no"), "'nullable' must be true or false"),
    (dict(kind="categorical", sensitive="false"), "'sensitive' must be true or false"),
    (dict(kind="categorical", categories="north"), "'categories' must be a list"),
    (dict(kind="categorical", categories={"a": 1}), "'categories' must be a list"),
    (dict(kind="categorical", categories=["a", float("nan")]), "no NaN or null"),
    (dict(kind="categorical", categories=["a", None]), "no NaN or null"),
    (dict(kind="categorical", categories=[["a"], ["b"]]), "'categories' must be a list"),
    (dict(kind="categorical", categories=[1, True]), "unique"),
    (dict(kind="numerical", dtype="float", lower=float("nan"), upper=1.0), "finite number"),
    (dict(kind="numerical", dtype="float", lower=0, upper=float("inf")), "finite number"),
    (dict(kind="numerical", dtype="int", lower=True, upper=5), "finite number"),
    (dict(kind="id", lower=0, upper=5), "generated fresh"),
    (dict(kind="categorical", dtype="int"), "only numerical and id columns take 'dtype'"),
    (dict(kind="numerical", dtype="int32"), "'int' or 'float'"),
    (dict(kind="numerical", dtype="int", format="%Y"), "only datetime columns take 'format'"),
    (dict(kind="datetime", format=5), "'format' must be a string"),
    (dict(kind="datetime", format="hello"), "strftime layout"),
    (dict(kind="categorical", precision=2), "only numerical columns take 'precision'"),
    (dict(kind="boolean", lower=0), "only numerical and datetime columns take 'lower'"),
    (dict(kind=3), "unknown kind"),
]


@pytest.mark.parametrize(("spec", "match"), SPECS, ids=[m for _, m in SPECS])
def test_column_specs_are_type_checked_in_python_and_json(spec, match) -> None:
    with pytest.raises(MetadataError, match=match):
        C(**spec)
    raw = {k: (list(v) if isinstance(v, tuple) else v) for k, v in spec.items()}
    try:
        json.dumps(raw, allow_nan=True)
    except TypeError:
        return  # not expressible in JSON
    with pytest.raises(MetadataError, match=match):
        ts.Metadata.from_dict({"columns": {"x": raw}})


def test_declared_categories_may_not_be_empty() -> None:
    """Every value would be out of the domain; an empty list from a DP release is allowed."""
    with pytest.raises(MetadataError, match="categories is empty"):
        ts.Metadata.from_dict({"columns": {"x": {"kind": "categorical", "categories": []}}})
    assert C("categorical", categories=()).categories == ()


def test_categories_from_numpy_are_plain_python_values() -> None:
    spec = C("categorical", categories=np.array([1, 2]))
    assert spec.categories == (1, 2) and all(type(c) is int for c in spec.categories)


METADATA = [
    (lambda: ts.Metadata({"a": C("categorical")}, public="yes"), "public must be True or False"),
    (lambda: ts.Metadata([C("categorical")]), "mapping of column names"),
    (lambda: ts.Metadata({"a": {"kind": "categorical"}}), "Metadata.from_dict"),
    (lambda: ts.Metadata({1: C("categorical")}), "names must be strings"),
]


@pytest.mark.parametrize(("make", "match"), METADATA, ids=[m for _, m in METADATA])
def test_metadata_objects_are_type_checked(make, match) -> None:
    with pytest.raises(MetadataError, match=match):
        make()


# -- metadata JSON -------------------------------------------------------------------------

JSON_TEXTS = [
    ('{"columns": {"a": {"kind": "id"}, "a": {"kind": "categorical"}}}', "'a' twice"),
    ('{"columns": {"a": {"kind": "categorical", "nullable": false, "nullable": true}}}', "twice"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
]


@pytest.mark.parametrize(("text", "match"), JSON_TEXTS, ids=["columns", "keys", "deep"])
def test_json_that_parses_ambiguously_or_not_at_all(text, match) -> None:
    """json.loads lets the last duplicate win silently, and crashes on deep nesting."""
    with pytest.raises(MetadataError, match=match):
        ts.Metadata.from_json(text)


def test_a_byte_order_mark_is_accepted(tmp_path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b'\xef\xbb\xbf{"columns": {"a": {"kind": "id"}}}')
    assert ts.Metadata.load(path).names == ["a"]


@pytest.mark.parametrize(
    "content", [bytes(range(256)), '{"columns": {"é": {"kind": "id"}}}'.encode("latin-1")]
)
def test_metadata_files_that_are_not_utf8(tmp_path, content) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match="not UTF-8"):
        ts.Metadata.load(path)
    with pytest.raises(FileFormatError, match="not UTF-8"):
        ts.Metadata.from_sdv(path)


SDV = [
    ({"tables": [1]}, "'tables' must be an object"),
    ({"tables": {}}, "'tables' must be an object"),
    ({"METADATA_SPEC_VERSION": "V1", "columns": {"a": "numerical"}}, "must be an object"),
    ({"METADATA_SPEC_VERSION": "V1", "columns": {"a": {"sdtype": 5}}}, "must be a string"),
]


@pytest.mark.parametrize(("raw", "match"), SDV, ids=[m for _, m in SDV])
def test_malformed_sdv_metadata(raw, match) -> None:
    with pytest.raises(MetadataError, match=match):
        ts.Metadata.from_dict(raw)


def test_sdv_metadata_of_an_unknown_table_or_type() -> None:
    sdv = {"tables": {"t": {"columns": {"a": {"sdtype": "id"}}}}}
    with pytest.raises(MetadataError, match="no table 'u'"):
        ts.Metadata.from_sdv(sdv, table="u")
    with pytest.raises(MetadataError, match="JSON object"):
        ts.Metadata.from_sdv(5)


# -- parameters ----------------------------------------------------------------------------

SDV_PARAMS = [
    (lambda: ts.GaussianCopulaSynthesizer(sdv_params="x"), "sdv_params must be a dict"),
    (lambda: ts.GaussianCopulaSynthesizer(sdv_params={"bogus": 1}), "refused the parameters"),
    (lambda: ts.GaussianCopulaSynthesizer(default_distribution="bogus"), "refused the param"),
    (lambda: ts.CTGANSynthesizer(batch_size=15), "multiple of 10"),
    (lambda: ts.CTGANSynthesizer(epochs=0), "epochs"),
    (lambda: ts.TVAESynthesizer(epochs="x"), "epochs"),
    (lambda: ts.TVAESynthesizer(batch_size=-10), "batch_size"),
    (lambda: ts.CTGANSynthesizer(progress="no"), "progress must be True or False"),
    (lambda: ts.AutoregressiveSynthesizer(progress="no"), "progress must be True or False"),
]


@pytest.mark.parametrize(("make", "match"), SDV_PARAMS, ids=[m for _, m in SDV_PARAMS])
def test_parameters_are_refused_before_training(make, match) -> None:
    """SDV's own checks raised raw TypeError/ValueError/AssertionError deep in training."""
    with pytest.raises(ParameterError, match=match):
        make().fit(_table(), PUBLIC)


@pytest.mark.parametrize("epsilon", [1e-300, 1e-9])
def test_vanishing_epsilon_is_refused(epsilon) -> None:
    """ε = 1e-300 overflowed the discrete Gaussian's 64-bit arithmetic."""
    with pytest.raises(BudgetError, match="MIN_EPSILON"):
        ts.MSTSynthesizer(epsilon=epsilon).fit(_table(), PUBLIC)


@pytest.mark.parametrize("key", ["epsilon", "delta", "seed"])
def test_cli_param_cannot_override_an_option(tmp_path, capsys, key) -> None:
    """'--epsilon 1 --param epsilon=2' silently fitted at ε = 1."""
    table = tmp_path / "t.csv"
    _table().to_csv(table, index=False)
    argv = ["fit", str(table), "-s", "mst", "--epsilon", "1", "--param", f"{key}=2"]
    assert main([*argv, "-o", str(tmp_path / "m.tsyn")]) == 2
    assert f"set {key} with --{key}" in capsys.readouterr().err


# -- outputs that are not files --------------------------------------------------------------


def test_outputs_that_are_devices_or_pipes_are_refused(tmp_path) -> None:
    """As root, the atomic rename replaced /dev/full itself with a regular file."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(FileFormatError, match="not a regular file"):
        check_output_path(fifo)
    with pytest.raises(FileFormatError, match="not a regular file"):
        check_output_path("/dev/null")


# -- sampling conditions ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def autoregressive() -> ts.AutoregressiveSynthesizer:
    return ts.AutoregressiveSynthesizer(seed=0, epochs=1, progress=False).fit(_table(), PUBLIC)


@pytest.mark.parametrize("value", [None, float("nan"), pd.NA, pd.NaT])
def test_a_missing_condition_is_refused_not_ignored(autoregressive, value) -> None:
    """{'sex': None} used to sample without any condition."""
    with pytest.raises(ParameterError, match="leave those columns out"):
        autoregressive.sample(5, seed=0, conditions={"sex": value})


def test_missing_cells_of_a_conditions_frame_still_mean_free(autoregressive) -> None:
    given = pd.DataFrame({"sex": ["F", None, "M"]})
    out = autoregressive.sample(3, seed=0, conditions=given)
    assert out["sex"].iloc[0] == "F" and out["sex"].iloc[2] == "M"


# -- evaluate ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "column", "value", "match"),
    [
        ("synthetic", "age", "x", "synthetic table: column 'age' is declared numerical"),
        ("holdout", "age", "x", "holdout table: column 'age' is declared numerical"),
        ("synthetic", "age", True, None),  # booleans are numbers: scored, not refused
    ],
)
def test_evaluate_checks_the_kinds_of_every_table(side, column, value, match) -> None:
    real = _table()
    tables = {"synthetic": _table(), "holdout": _table(30)}
    tables[side] = tables[side].assign(**{column: value})
    if match is None:
        from tabsynth.evaluation.evaluate import _check_kinds

        _check_kinds(ts.Metadata.detect(real), **tables)
        return
    with pytest.raises(DataError, match=match):
        ts.evaluate(real, tables["synthetic"], holdout=tables["holdout"], progress=False)


# -- model files -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("catalogue") / "mst.tsyn"
    ts.MSTSynthesizer(epsilon=10.0, max_iters=20, binning="auto").fit(_table(), PUBLIC).save(path)
    return path


def _rewritten(src: Path, dst: Path, manifest: str | None = None, nan: bool = False) -> Path:
    with zipfile.ZipFile(src) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if manifest is not None:
        members["model.json"] = manifest.encode()
    if nan:
        with np.load(io.BytesIO(members["arrays.npz"])) as npz:
            arrays = {k: np.full_like(npz[k], np.nan) for k in npz.files}
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        members["arrays.npz"] = buffer.getvalue()
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return dst


def test_a_deeply_nested_manifest_is_refused(model_file, tmp_path) -> None:
    bad = _rewritten(model_file, tmp_path / "deep.tsyn", manifest="[" * 200_000 + "]" * 200_000)
    with pytest.raises(ModelFileError, match="not a readable tabsynth model"):
        ts.load(bad)


def test_non_finite_arrays_are_refused(model_file, tmp_path) -> None:
    """NaN marginals sampled garbage without an error."""
    bad = _rewritten(model_file, tmp_path / "nan.tsyn", nan=True)
    with pytest.raises(ModelFileError, match="NaN or infinite"):
        ts.load(bad)
    assert len(ts.load(model_file).sample(5, seed=0)) == 5


@pytest.mark.parametrize("path", [None, 5, ["m.tsyn"]])
def test_load_needs_a_path(path) -> None:
    with pytest.raises(ParameterError, match="path must be a file path"):
        ts.load(path)


# -- CSV quirks --------------------------------------------------------------------------------

CSV_HEADERS = [
    (b"a,a\n1,2\n", "repeats the column names ['a']"),  # pandas read it as a, a.1
    (b"a,,b\n1,x,2\n", "header column(s) [2] have no name"),  # pandas: Unnamed: 1
    (b"a,b,\n1,2,\n", "header column(s) [3] have no name"),
    (b"age;sex\n30;F\n", "containing semicolons"),  # one text column, silently
    (b"age\tsex\n30\tF\n", "containing tabs"),
    (b"age|sex\n30|F\n", "containing pipes"),
]


@pytest.mark.parametrize(("content", "match"), CSV_HEADERS, ids=[m for _, m in CSV_HEADERS])
def test_csv_headers_pandas_would_repair_silently(tmp_path, content, match) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    for as_text in (False, True):
        with pytest.raises(FileFormatError, match=re.escape(match)):
            ts.read_table(path, as_text=as_text)


def test_codes_with_leading_zeros_stay_text_without_metadata(tmp_path) -> None:
    """'01005' was read as the number 1005; quantities and a lone 0 stay numbers."""
    path = tmp_path / "t.csv"
    path.write_text("zip,n,z\n01005,1,0\n12345,2,0\n00100,3,5\n")
    frame = ts.read_table(path)
    assert frame["zip"].tolist() == ["01005", "12345", "00100"]
    assert frame["n"].dtype == np.int64 and frame["z"].dtype == np.int64


def test_a_byte_order_mark_and_crlf_are_read(tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbfage,sex\r\n30,F\r\n40,M\r\n")
    frame = ts.read_table(path)
    assert frame.columns.tolist() == ["age", "sex"] and frame["age"].tolist() == [30, 40]


def test_demo_refuses_an_empty_out_dir(tmp_path, capsys, monkeypatch) -> None:
    """'--out-dir ""' wrote the demo's files into the current folder."""
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--out-dir", ""]) == 2
    assert "--out-dir is empty" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


# -- what model files hold (README, "What a non-private model file contains") ----------------


def test_model_files_hold_what_the_readme_says(tmp_path) -> None:
    """Declared bounds keep the data's extremes out of the metadata, not out of a non-private
    model's learned state; a DP file with a public domain holds neither."""
    data = _table(300)
    data.loc[9, "income"] = 1234567.89
    secret = struct.pack("<d", 1234567.89)

    def contents(path: Path) -> tuple[str, bytes]:
        with zipfile.ZipFile(path) as archive:
            return archive.read("model.json").decode(), archive.read("arrays.npz")

    dp = tmp_path / "dp.tsyn"
    ts.MSTSynthesizer(epsilon=1.0, max_iters=20, binning="auto").fit(data, PUBLIC).save(dp)
    text, arrays = contents(dp)
    assert "1234567.89" not in text and secret not in arrays
    plain = tmp_path / "plain.tsyn"
    ts.AutoregressiveSynthesizer(seed=0, epochs=1, progress=False).fit(data, PUBLIC).save(plain)
    text, _ = contents(plain)
    assert json.loads(text)["metadata"]["columns"]["income"]["upper"] == 1e7  # declared
    assert "1234567.89" in text  # a bin edge at the data's maximum, as documented


AUDITS = [
    ({"confidence": 1.5}, "confidence"),
    ({"confidence": 0}, "confidence"),
    ({"confidence": "high"}, "confidence"),
    ({"n_rows": 1}, "n_rows"),
    ({"targets": ["a"]}, "target positions"),
    ({"targets": "ab"}, "targets must be"),
]


@pytest.mark.parametrize(("kwargs", "match"), AUDITS, ids=[m for _, m in AUDITS])
def test_audit_parameters_are_refused_before_any_fit(kwargs, match) -> None:
    frame = pd.DataFrame({"a": list("xyz") * 20, "b": range(60)})
    fits = []

    def factory():
        fits.append(1)
        return MSTSynthesizer(1.0)

    with pytest.raises(ParameterError, match=match):
        audit(factory, frame, progress=False, **kwargs)
    assert not fits


def test_an_audit_factory_must_make_a_synthesizer() -> None:
    frame = pd.DataFrame({"a": list("xyz") * 20, "b": range(60)})
    with pytest.raises(ParameterError, match="synthesizer_factory must return"):
        audit(lambda: None, frame, progress=False)
