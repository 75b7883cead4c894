"""The catalogue of bad (and odd but valid) inputs the sweep tries.

Each builder returns :class:`~benchmarks.robustness.harness.Case` objects of one family.
Tables are small (tens to a few thousand rows) and the synthesizers run with their fastest
settings (one epoch, few iterations): the sweep asks whether an input is handled, not how
well a model fits. Files the cases read (CSVs, metadata, fitted model files) are made once
by :func:`make_files` in ``ROOT``.
"""

from __future__ import annotations

import decimal
import io
import json
import os
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.robustness.harness import Case, CliResult, run_cli

ROOT = Path(os.environ.get("SWEEP_ROOT", "/tmp/tabsynth-sweep"))
#: A full-disk device of the sweep's own (c 1 7, like /dev/full): a write that wrongly
#: replaces the device node then harms nothing outside ``ROOT``. A FIFO where mknod of a
#: device is not allowed.
DEV_FULL = ROOT / "full"

# -- tables -----------------------------------------------------------------------------------


def base_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """Every kind of column, a few missing values, no oddity."""
    rng = np.random.default_rng(seed)
    income = np.round(rng.lognormal(10, 1, n), 2)
    income[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "income": income,
            "sex": rng.choice(["F", "M"], n),
            "smoker": rng.random(n) < 0.3,
            "visit": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
        }
    )


BASE_METADATA: dict[str, Any] = {
    "public": True,
    "columns": {
        "age": {"kind": "numerical", "dtype": "int", "lower": 0, "upper": 120, "nullable": False},
        "income": {"kind": "numerical", "dtype": "float", "lower": 0, "upper": 1e7},
        "sex": {"kind": "categorical", "categories": ["F", "M"], "nullable": False},
        "smoker": {"kind": "boolean", "nullable": False},
        "visit": {
            "kind": "datetime",
            "lower": "2019-01-01",
            "upper": "2023-12-31",
            "nullable": False,
        },
    },
}


def with_column(name: str, values: Any, n: int = 200) -> pd.DataFrame:
    frame = base_frame(n)
    frame[name] = values
    return frame


def repeat(values: list[Any], n: int = 200) -> list[Any]:
    return [values[i % len(values)] for i in range(n)]


# -- synthesizers (fastest settings) ----------------------------------------------------------


def synths() -> dict[str, Callable[..., Any]]:
    import tabsynth as ts

    return {
        "gaussian_copula": lambda **kw: ts.GaussianCopulaSynthesizer(seed=0, **kw),
        "ctgan": lambda **kw: ts.CTGANSynthesizer(
            seed=0, epochs=1, batch_size=50, progress=False, **kw
        ),
        "tvae": lambda **kw: ts.TVAESynthesizer(
            seed=0, epochs=1, batch_size=50, progress=False, **kw
        ),
        "autoregressive": lambda **kw: ts.AutoregressiveSynthesizer(
            seed=0, epochs=1, progress=False, **kw
        ),
        "autoregressive_dp": lambda **kw: ts.AutoregressiveSynthesizer(
            epsilon=kw.pop("epsilon", 50.0), seed=0, epochs=1, progress=False, **kw
        ),
        "mst": lambda **kw: ts.MSTSynthesizer(epsilon=kw.pop("epsilon", 50.0), max_iters=50, **kw),
        "aim": lambda **kw: ts.AIMSynthesizer(
            epsilon=kw.pop("epsilon", 50.0), max_rounds=2, round_iters=10, max_iters=50, **kw
        ),
    }


PRIVATE = ("autoregressive_dp", "mst", "aim")
FAST = ("gaussian_copula", "autoregressive", "autoregressive_dp", "mst", "aim")
ALL = ("gaussian_copula", "ctgan", "tvae", "autoregressive", "autoregressive_dp", "mst", "aim")


def fit_sample(
    synth: str, frame: Any, metadata: Any = None, n: int = 30, **params: Any
) -> tuple[Any, pd.DataFrame]:
    model = synths()[synth](**params)
    model.fit(frame, metadata=metadata)
    return frame, model.sample(n, seed=1)


def faithful(private: bool) -> Callable[[tuple[Any, pd.DataFrame]], str | None]:
    """A check that the sample has the training columns, and that no column changed kind:
    sampled categories are training values (of the same Python type), numbers stay numbers
    inside the training range (non-private), columns without missing values get none."""

    def check(result: tuple[Any, pd.DataFrame]) -> str | None:
        train, out = result
        if list(out.columns) != list(train.columns):
            return f"columns {list(out.columns)[:6]} != {list(train.columns)[:6]}"
        for name in train.columns:
            real, fake = train[name], out[name]
            if real.notna().all() and fake.isna().any():
                return f"{name!r}: missing values appeared in a column that had none"
            present = fake.dropna()
            if present.empty:
                continue
            if pd.api.types.is_numeric_dtype(real.dtype) and not pd.api.types.is_bool_dtype(
                real.dtype
            ):
                if not pd.api.types.is_numeric_dtype(fake.dtype):
                    return f"{name!r}: numeric column came back as {fake.dtype}"
                lo, hi = real.min(), real.max()
                if not private and (
                    present.min() < lo - 1e-9 * abs(lo) or present.max() > hi + 1e-9 * abs(hi)
                ):
                    return f"{name!r}: values {present.min()}..{present.max()} outside {lo}..{hi}"
                continue
            if pd.api.types.is_datetime64_any_dtype(real.dtype):
                if str(getattr(real.dtype, "tz", None)) != str(getattr(fake.dtype, "tz", None)):
                    return f"{name!r}: time zone {real.dtype} came back as {fake.dtype}"
                continue

            # DP fits learn undeclared categories as text (README: row-local repairs)
            def key_of(v: Any) -> tuple[str, str]:
                return ("str", str(v)) if private else (type(v).__name__, repr(v))

            seen = {key_of(v) for v in real.dropna().tolist()}
            if len(seen) > 100:
                continue
            for value in present.tolist():
                key = key_of(value)
                if key not in seen and not (private and value == "<other>"):
                    if isinstance(value, bool) and ("bool", repr(value)) in seen:
                        continue
                    return (
                        f"{name!r}: sampled {value!r} ({type(value).__name__}) is no training value"
                    )
        return None

    return check


# -- families ---------------------------------------------------------------------------------


def odd_frames() -> dict[str, Callable[[], pd.DataFrame]]:
    """Tables with odd dtypes, names and shapes; each a valid table or one to refuse."""
    n = 200

    def multi_cols() -> pd.DataFrame:
        frame = base_frame(n)
        frame.columns = pd.MultiIndex.from_tuples([("a", c) for c in frame.columns])
        return frame

    def multi_index() -> pd.DataFrame:
        frame = base_frame(n)
        frame.index = pd.MultiIndex.from_arrays([np.arange(n) % 3, np.arange(n)])
        return frame

    def dup_index() -> pd.DataFrame:
        frame = base_frame(n)
        frame.index = [0] * n
        return frame

    def cat_unused() -> pd.DataFrame:
        return with_column("grp", pd.Categorical(repeat(["a", "b"]), categories=["a", "b", "zzz"]))

    def sparse() -> pd.DataFrame:
        return with_column("sp", pd.arrays.SparseArray(repeat([0.0, 0.0, 1.0])))

    def renamed(name: str) -> Callable[[], pd.DataFrame]:
        return lambda: base_frame(n).rename(columns={"sex": name})

    return {
        "period": lambda: with_column("p", pd.period_range("2020-01", periods=n, freq="M")),
        "interval": lambda: with_column("iv", pd.interval_range(0, n)),
        "nested_lists": lambda: with_column("l", repeat([[1, 2], [3]])),
        "dicts": lambda: with_column("d", repeat([{"a": 1}, {"b": 2}])),
        "sets": lambda: with_column("s", repeat([{1}, {2}])),
        "bytes": lambda: with_column("b", repeat([b"x", b"y\x00"])),
        "mixed_int_str": lambda: with_column("m", repeat([1, "a", 2.5, "b"])),
        "mixed_bool_int": lambda: with_column("m", repeat([True, 1, 0, False])),
        "decimal": lambda: with_column(
            "dec", repeat([decimal.Decimal("1.5"), decimal.Decimal("2")])
        ),
        "Int64_na": lambda: with_column("i", pd.array(repeat([1, None, 3]), dtype="Int64")),
        "Float64_na": lambda: with_column("f", pd.array(repeat([1.5, None]), dtype="Float64")),
        "boolean_na": lambda: with_column(
            "bb", pd.array(repeat([True, None, False]), dtype="boolean")
        ),
        "string_python": lambda: with_column(
            "st", pd.array(repeat(["u", None, "v"]), dtype="string")
        ),
        "string_pyarrow": lambda: with_column(
            "st", pd.array(repeat(["u", None, "v"]), dtype="string[pyarrow]")
        ),
        "arrow_int": lambda: with_column(
            "ai", pd.array(repeat([1, 2, None]), dtype="int64[pyarrow]")
        ),
        "category_unused": cat_unused,
        "category_int": lambda: with_column("ci", pd.Categorical(repeat([1, 2, 3]))),
        "multiindex_columns": multi_cols,
        "multiindex_index": multi_index,
        "duplicate_index": dup_index,
        "string_index": lambda: base_frame(n).set_axis([f"r{i}" for i in range(n)]),
        "na_mixture_object": lambda: with_column(
            "x", repeat(["a", None, np.nan, pd.NA, "b", pd.NaT])
        ),
        "nat_datetime": lambda: with_column("t", pd.to_datetime(repeat(["2020-01-01", None]))),
        "mixed_tz_objects": lambda: with_column(
            "t",
            repeat(
                [pd.Timestamp("2020-01-01", tz="UTC"), pd.Timestamp("2020-01-01", tz="Asia/Tokyo")]
            ),
        ),
        "tz_aware": lambda: with_column(
            "t", pd.date_range("2020-01-01", periods=n, tz="Europe/Paris")
        ),
        "datetime_seconds_unit": lambda: with_column(
            "t", pd.Series(pd.date_range("2020", periods=n)).astype("datetime64[s]")
        ),
        "uint64": lambda: with_column("u", np.arange(n, dtype=np.uint64)),
        "uint64_huge": lambda: with_column("u", np.full(n, 2**63 + 5, dtype=np.uint64)),
        "int8": lambda: with_column("i8", np.arange(n, dtype=np.int8) % 100),
        "float16": lambda: with_column("f16", np.linspace(0, 1, n).astype(np.float16)),
        "float32": lambda: with_column("f32", np.linspace(0, 1, n).astype(np.float32)),
        "near_float_max": lambda: with_column("big", np.linspace(1e307, 1.7e308, n)),
        "subnormal": lambda: with_column("tiny", np.full(n, 5e-324) * np.arange(n)),
        "negative_zero": lambda: with_column("z", repeat([-0.0, 0.0, 1.0])),
        "constant_numeric": lambda: with_column("c", np.full(n, 7)),
        "constant_text": lambda: with_column("c", ["only"] * n),
        "one_value_rest_missing": lambda: with_column("o", [5.0] + [np.nan] * (n - 1)),
        "text_numbers": lambda: with_column("tn", repeat(["1", "2", "10"])),
        "leading_zero_codes": lambda: with_column("zip", repeat(["01005", "00100", "12345"])),
        "category_other_label": lambda: with_column("cat", repeat(["<other>", "a", "b"])),
        "category_nan_text": lambda: with_column("cat", repeat(["nan", "None", "", "NA"])),
        "newlines_in_values": lambda: with_column("txt", repeat(["a\nb", 'q"t', "c,d"])),
        "nul_in_values": lambda: with_column("txt", repeat(["a\x00b", "c"])),
        "huge_cardinality": lambda: pd.DataFrame(
            {"k": [f"k{i}" for i in range(3000)], "v": np.arange(3000) % 7}
        ),
        "wide_categories_2k": lambda: pd.DataFrame(
            {"k": [f"k{i % 2000}" for i in range(4000)], "v": np.arange(4000) % 7}
        ),
        "unicode_names": renamed("性别 🚻"),
        "rtl_name": renamed("\u05e9\u05dd"),
        "empty_name": renamed(""),
        "whitespace_name": renamed("  "),
        "long_name": renamed("x" * 10_000),
        "dotted_name": renamed("a.b[0]"),
        "newline_name": renamed("sex\nkind"),
        "one_row": lambda: base_frame(1),
        "two_rows": lambda: base_frame(2),
        "all_missing_but_typed": lambda: with_column("e", pd.Series([None] * n, dtype="float64")),
        "object_all_none": lambda: with_column("e", [None] * n),
        "complex": lambda: with_column("cx", np.arange(n) + 1j),
        "timedelta": lambda: with_column("td", pd.to_timedelta(np.arange(n), "h")),
        "inf": lambda: with_column("inf", repeat([1.0, np.inf])),
        "numpy_array_not_frame": lambda: base_frame(n).to_numpy(),
        "series_not_frame": lambda: base_frame(n)["age"],
        "int_column_names": lambda: base_frame(n).set_axis(range(5), axis=1),
    }


#: Odd tables that hold valid data a careful user expects to work (not just to be refused).
SHOULD_WORK = {
    "Int64_na",
    "Float64_na",
    "boolean_na",
    "string_python",
    "category_unused",
    "category_int",
    "multiindex_index",
    "duplicate_index",
    "string_index",
    "nat_datetime",
    "tz_aware",
    "datetime_seconds_unit",
    "uint64",
    "int8",
    "float32",
    "negative_zero",
    "leading_zero_codes",
    "category_other_label",
    "category_nan_text",
    "newlines_in_values",
    "unicode_names",
    "rtl_name",
    "dotted_name",
    "two_rows",
    "text_numbers",
    "constant_text",
}


#: The odd tables also tried with DP-SGD (the slowest fit): its schema and domain steps are
#: shared with MST and AIM, so a subset covers what is particular to it (sampling codes).
DP_SGD_FRAMES = {
    "nested_lists",
    "Int64_na",
    "boolean_na",
    "category_unused",
    "tz_aware",
    "uint64_huge",
    "near_float_max",
    "constant_numeric",
    "one_value_rest_missing",
    "leading_zero_codes",
    "one_row",
    "two_rows",
    "huge_cardinality",
}


def frame_cases() -> list[Case]:
    cases = []
    frames = odd_frames()
    for fname, make in frames.items():
        targets = ALL if fname in ("category_unused", "leading_zero_codes", "Int64_na") else FAST
        for synth in targets:
            if synth == "autoregressive_dp" and fname not in DP_SGD_FRAMES:
                continue  # a DP-SGD fit takes 10-20 s here; its domain code is MST's and AIM's
            expect = "ok" if fname in SHOULD_WORK and synth not in PRIVATE else "either"

            def run(make: Callable[[], Any] = make, synth: str = synth) -> Any:
                return fit_sample(synth, make())

            cases.append(
                Case(
                    "dtypes & shapes",
                    f"{synth} fit: {fname}",
                    run,
                    expect=expect,
                    check=faithful(synth in PRIVATE),
                )
            )
    return cases


def metadata_python_cases() -> list[Case]:
    """ColumnSpec / Metadata built in Python: the same rules as JSON."""
    import tabsynth as ts

    C = ts.ColumnSpec
    specs: dict[str, Callable[[], Any]] = {
        "string bounds": lambda: C("numerical", dtype="int", lower="a", upper="z"),
        "nullable as text": lambda: C("categorical", nullable="no"),
        "sensitive as text": lambda: C("categorical", sensitive="false"),
        "categories as a string": lambda: C("categorical", categories="north"),
        "categories as a dict": lambda: C("categorical", categories={"a": 1}),
        "categories with NaN": lambda: C("categorical", categories=["a", float("nan")]),
        "categories with None": lambda: C("categorical", categories=["a", None]),
        "categories nested": lambda: C("categorical", categories=[["a"], ["b"]]),
        "categories 1 and True": lambda: C("categorical", categories=[1, True]),
        "empty categories": lambda: C("categorical", categories=[]),
        "NaN bound": lambda: C("numerical", dtype="float", lower=float("nan"), upper=1.0),
        "inf bound": lambda: C("numerical", dtype="float", lower=0, upper=float("inf")),
        "1e308 bounds": lambda: C("numerical", dtype="float", lower=-1e308, upper=1e308),
        "bool bound": lambda: C("numerical", dtype="int", lower=True, upper=5),
        "lower above upper": lambda: C("numerical", dtype="int", lower=5, upper=1),
        "id with bounds": lambda: C("id", lower=0, upper=5),
        "pii with categories": lambda: C("pii", categories=["a"]),
        "dtype on categorical": lambda: C("categorical", dtype="int"),
        "dtype bogus": lambda: C("numerical", dtype="int32"),
        "format on numerical": lambda: C("numerical", dtype="int", format="%Y"),
        "format not a string": lambda: C("datetime", format=5),
        "format without directives": lambda: C("datetime", format="hello"),
        "bad datetime bound": lambda: C("datetime", lower="not a date"),
        "datetime bounds reversed": lambda: C("datetime", lower="2021-01-01", upper="2020-01-01"),
        "precision negative": lambda: C("numerical", dtype="float", precision=-1),
        "precision float": lambda: C("numerical", dtype="float", precision=1.5),
        "precision huge": lambda: C("numerical", dtype="float", precision=10**6),
        "precision on categorical": lambda: C("categorical", precision=2),
        "timezone unknown": lambda: C("datetime", timezone="Mars/Olympus"),
        "timezone on numerical": lambda: C("numerical", dtype="int", timezone="UTC"),
        "kind unknown": lambda: C("number"),
        "kind not a string": lambda: C(3),
        "pii_strategy bogus": lambda: C("pii", pii_strategy="hash"),
        "metadata public as text": lambda: ts.Metadata({"a": C("categorical")}, public="yes"),
        "metadata source bogus": lambda: ts.Metadata({"a": C("categorical")}, source="me"),
        "metadata columns a list": lambda: ts.Metadata([C("categorical")]),
        "metadata column not a spec": lambda: ts.Metadata({"a": {"kind": "categorical"}}),
        "metadata int column name": lambda: ts.Metadata({1: C("categorical")}),
        "metadata empty": lambda: ts.Metadata({}),
    }
    # detect() writes such bounds, DP category selection may release none: all harmless
    either = {"1e308 bounds", "precision huge", "empty categories"}
    cases = [
        Case("metadata (Python)", name, make, expect="either" if name in either else "error")
        for name, make in specs.items()
    ]
    cases.append(
        Case(
            "metadata (Python)",
            "datetime bounds as Timestamps",
            lambda: C("datetime", lower=pd.Timestamp("2020-01-01"), upper="2021-01-01"),
            expect="ok",
        )
    )
    return cases


def metadata_json_cases() -> list[Case]:
    import tabsynth as ts

    def column(**spec: Any) -> Callable[[], Any]:
        return lambda: ts.Metadata.from_dict({"columns": {"a": spec}})

    raw: dict[str, Callable[[], Any]] = {
        "public as text": lambda: ts.Metadata.from_dict(
            {"public": "false", "columns": {"a": {"kind": "categorical"}}}
        ),
        "nullable 'no'": column(kind="categorical", nullable="no"),
        "sensitive 'false'": column(kind="categorical", sensitive="false"),
        "bounds as strings": column(kind="numerical", dtype="int", lower="0", upper="9"),
        "bounds null": column(kind="numerical", dtype="int", lower=None, upper=None),
        "categories 'north'": column(kind="categorical", categories="north"),
        "categories list of lists": column(kind="categorical", categories=[["a"]]),
        "categories with null": column(kind="categorical", categories=["a", None]),
        "categories object": column(kind="categorical", categories={"a": 1}),
        "categories duplicate": column(kind="categorical", categories=["a", "a"]),
        "categories 1 and 1.0": column(kind="categorical", categories=[1, 1.0]),
        "id with bounds": column(kind="id", lower=0, upper=1),
        "NaN bound": column(kind="numerical", dtype="float", lower=float("nan"), upper=1),
        "1e308 bound": column(kind="numerical", dtype="float", lower=0, upper=1e308),
        "unknown key": column(kind="categorical", categorys=["a"]),
        "kind missing": column(dtype="int"),
        "kind null": column(kind=None),
        "kind wrong case": column(kind="Numerical", dtype="int"),
        "column is a list": lambda: ts.Metadata.from_dict({"columns": {"a": ["categorical"]}}),
        "column is a string": lambda: ts.Metadata.from_dict({"columns": {"a": "categorical"}}),
        "columns a list": lambda: ts.Metadata.from_dict({"columns": [{"kind": "categorical"}]}),
        "columns empty": lambda: ts.Metadata.from_dict({"columns": {}}),
        "no columns key": lambda: ts.Metadata.from_dict({"public": True}),
        "top level a list": lambda: ts.Metadata.from_dict([1, 2]),
        "top level null": lambda: ts.Metadata.from_json("null"),
        "schema_version '1'": lambda: ts.Metadata.from_dict(
            {"schema_version": "1", "columns": {"a": {"kind": "categorical"}}}
        ),
        "schema_version 2": lambda: ts.Metadata.from_dict(
            {"schema_version": 2, "columns": {"a": {"kind": "categorical"}}}
        ),
        "source 'DATA'": lambda: ts.Metadata.from_dict(
            {"source": "DATA", "columns": {"a": {"kind": "categorical"}}}
        ),
        "source data + public": lambda: ts.Metadata.from_dict(
            {"source": "data", "public": True, "columns": {"a": {"kind": "categorical"}}}
        ),
        "unknown top-level key": lambda: ts.Metadata.from_dict(
            {"colums": {}, "columns": {"a": {"kind": "categorical"}}}
        ),
        "not JSON": lambda: ts.Metadata.from_json("{columns:"),
        "JSON with BOM": lambda: ts.Metadata.from_json('\ufeff{"columns": {"a": {"kind": "id"}}}'),
        "deeply nested JSON": lambda: ts.Metadata.from_json("[" * 100_000 + "]" * 100_000),
        "duplicate column keys": lambda: ts.Metadata.from_json(
            '{"columns": {"a": {"kind": "id"}, "a": {"kind": "categorical"}}}'
        ),
        "duplicate spec keys": lambda: ts.Metadata.from_json(
            '{"columns": {"a": {"kind": "categorical", "nullable": false, "nullable": true}}}'
        ),
        "sdv: tables empty": lambda: ts.Metadata.from_dict({"tables": {}}),
        "sdv: tables a list": lambda: ts.Metadata.from_dict({"tables": [1]}),
        "sdv: column not an object": lambda: ts.Metadata.from_dict(
            {"METADATA_SPEC_VERSION": "SINGLE_TABLE_V1", "columns": {"a": "numerical"}}
        ),
        "sdv: sdtype missing": lambda: ts.Metadata.from_dict(
            {"METADATA_SPEC_VERSION": "SINGLE_TABLE_V1", "columns": {"a": {}}}
        ),
        "sdv: sdtype a number": lambda: ts.Metadata.from_dict(
            {"METADATA_SPEC_VERSION": "SINGLE_TABLE_V1", "columns": {"a": {"sdtype": 5}}}
        ),
        "sdv: unknown table": lambda: ts.Metadata.from_sdv(
            {"tables": {"t": {"columns": {"a": {"sdtype": "id"}}}}}, table="u"
        ),
        "sdv: columns missing": lambda: ts.Metadata.from_dict({"METADATA_SPEC_VERSION": "V1"}),
        "sdv: path missing": lambda: ts.Metadata.from_sdv(str(ROOT / "nope.json")),
        "sdv: not a mapping": lambda: ts.Metadata.from_sdv(5),
    }
    cases = [
        Case(
            "metadata (JSON)",
            name,
            make,
            expect="either" if name in ("bounds null", "JSON with BOM") else "error",
        )
        for name, make in raw.items()
    ]
    files = {
        "load: missing file": ROOT / "missing.json",
        "load: a folder": ROOT,
        "load: binary file": ROOT / "binary.json",
        "load: latin-1 file": ROOT / "latin1.json",
        "load: empty file": ROOT / "empty.json",
        "load: BOM file": ROOT / "bom.json",
    }
    for name, path in files.items():
        expect = "either" if "BOM" in name else "error"
        cases.append(
            Case("metadata (JSON)", name, lambda p=path: ts.Metadata.load(p), expect=expect)
        )
    # metadata that parses but does not match the table
    frame = base_frame()

    def fit_with(md: dict[str, Any], synth: str = "gaussian_copula") -> Callable[[], Any]:
        return lambda: fit_sample(synth, frame, md)

    def changed(column: str, **spec: Any) -> dict[str, Any]:
        md = json.loads(json.dumps(BASE_METADATA))
        md["columns"][column] = spec
        return md

    mismatch = {
        "metadata lacks a column": {
            "public": True,
            "columns": {k: v for k, v in BASE_METADATA["columns"].items() if k != "age"},
        },
        "metadata has an extra column": changed("extra", kind="categorical"),
        "int declared over floats": changed("income", kind="numerical", dtype="int"),
        "datetime declared over ints": changed("age", kind="datetime"),
        "boolean declared over text": changed("sex", kind="boolean"),
        "categories that miss a value": changed("sex", kind="categorical", categories=["F"]),
        "bounds that cut values": changed(
            "age", kind="numerical", dtype="int", lower=30, upper=40, nullable=False
        ),
        "nullable false over NaN": changed(
            "income", kind="numerical", dtype="float", nullable=False
        ),
        "numerical over text": changed("sex", kind="numerical", dtype="float"),
        "categories declared as ints over text": changed(
            "sex", kind="categorical", categories=[1, 2]
        ),
    }
    for name, md in mismatch.items():
        for synth in ("gaussian_copula", "mst"):
            cases.append(Case("metadata vs table", f"{synth}: {name}", fit_with(md, synth)))
    # valid declarations whose documented effect changes the output type: declared
    # datetimes with a format or a zone come back as declared, undeclared categories as text
    ok = {
        "datetime declared with a format": changed("visit", kind="datetime", format="%d/%m/%Y"),
        "datetime declared with tz but naive values": changed(
            "visit", kind="datetime", timezone="UTC"
        ),
        "categorical declared over bools": changed("smoker", kind="categorical"),
        "categorical declared over ints": changed("age", kind="categorical"),
        "float declared over ints": changed("age", kind="numerical", dtype="float"),
    }
    for name, md in ok.items():
        cases.append(
            Case(
                "metadata vs table",
                f"gaussian_copula: {name}",
                fit_with(md),
                expect="ok",
                check=faithful(True) if "bools" in name else None,
            )
        )
    return cases


def parameter_cases() -> list[Case]:
    frame = base_frame()
    md = BASE_METADATA
    bad: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "dp": [
            ("epsilon=0", {"epsilon": 0}),
            ("epsilon=-1", {"epsilon": -1}),
            ("epsilon=nan", {"epsilon": float("nan")}),
            ("epsilon=inf", {"epsilon": float("inf")}),
            ("epsilon='1'", {"epsilon": "1"}),
            ("epsilon=True", {"epsilon": True}),
            ("delta=0", {"delta": 0}),
            ("delta=0.5", {"delta": 0.5}),
            ("delta=nan", {"delta": float("nan")}),
            ("delta='x'", {"delta": "x"}),
            ("bins=0", {"bins": 0}),
            ("bins=2.5", {"bins": 2.5}),
            ("bins=10**6", {"bins": 10**6}),
            ("budget_split=1.5", {"budget_split": 1.5}),
            ("budget_split=nan", {"budget_split": float("nan")}),
            ("budget_split=0", {"budget_split": 0}),
            ("binning='bogus'", {"binning": "bogus"}),
            ("seed=-1", {"seed": -1}),
            ("noise_seed='x'", {"noise_seed": "x"}),
            ("on_out_of_bounds='ignore'", {"on_out_of_bounds": "ignore"}),
        ],
        "autoregressive": [
            ("epochs=0", {"epochs": 0}),
            ("epochs=1.5", {"epochs": 1.5}),
            ("batch_size=0", {"batch_size": 0}),
            ("width=10**6", {"width": 10**6}),
            ("blocks=-1", {"blocks": -1}),
            ("learning_rate=inf", {"learning_rate": float("inf")}),
            ("learning_rate=-1", {"learning_rate": -1.0}),
            ("order='bogus'", {"order": "bogus"}),
            ("validation=1", {"validation": 1.0}),
            ("validation=-0.1", {"validation": -0.1}),
            ("validation=nan", {"validation": float("nan")}),
            ("patience=-1", {"patience": -1}),
            ("max_grad_norm=0", {"max_grad_norm": 0.0}),
            ("max_grad_norm=inf", {"max_grad_norm": float("inf")}),
            ("public_rows=0", {"public_rows": 0}),
            ("public_rows=1.5", {"public_rows": 1.5}),
            ("progress='no'", {"progress": "no"}),
            ("seed=2**70", {"seed": 2**70}),
        ],
        "aim": [
            ("workload unknown column", {"workload": [["nope"]]}),
            ("workload empty", {"workload": []}),
            ("workload a string", {"workload": "age"}),
            ("workload_weights wrong length", {"workload_weights": [1.0]}),
            ("degree=0", {"degree": 0}),
            ("max_model_size=-1", {"max_model_size": -1.0}),
            ("max_model_size=nan", {"max_model_size": float("nan")}),
            ("max_rounds=0", {"max_rounds": 0}),
            ("round_iters=0", {"round_iters": 0}),
            ("max_iters=-5", {"max_iters": -5}),
        ],
        "mst": [("max_iters=0", {"max_iters": 0}), ("max_iters='x'", {"max_iters": "x"})],
        "sdv": [
            ("sdv_params bogus key", {"sdv_params": {"bogus": 1}}),
            ("sdv_params a string", {"sdv_params": "x"}),
            ("seed=1.5", {"seed": 1.5}),
            ("on_out_of_bounds=None", {"on_out_of_bounds": None}),
        ],
        "gc": [("default_distribution bogus", {"default_distribution": "bogus"})],
        "ctgan": [
            ("epochs=0", {"epochs": 0}),
            ("batch_size=15 (not a multiple of pac)", {"batch_size": 15}),
            ("batch_size=-10", {"batch_size": -10}),
            ("epochs='x'", {"epochs": "x"}),
        ],
    }
    targets = {
        "dp": ("autoregressive_dp", "mst", "aim"),
        "autoregressive": ("autoregressive", "autoregressive_dp"),
        "aim": ("aim",),
        "mst": ("mst",),
        "sdv": ("gaussian_copula", "ctgan"),
        "gc": ("gaussian_copula",),
        "ctgan": ("ctgan", "tvae"),
    }
    cases = []
    for group, items in bad.items():
        for synth in targets[group]:
            for label, params in items:

                def run(synth: str = synth, params: dict[str, Any] = params) -> Any:
                    import tabsynth as ts

                    factory = {
                        "gaussian_copula": ts.GaussianCopulaSynthesizer,
                        "ctgan": ts.CTGANSynthesizer,
                        "tvae": ts.TVAESynthesizer,
                        "autoregressive": ts.AutoregressiveSynthesizer,
                        "autoregressive_dp": ts.AutoregressiveSynthesizer,
                        "mst": ts.MSTSynthesizer,
                        "aim": ts.AIMSynthesizer,
                    }[synth]
                    kwargs: dict[str, Any] = {}
                    if synth in PRIVATE:
                        kwargs["epsilon"] = 50.0
                    if synth in ("autoregressive", "autoregressive_dp", "ctgan", "tvae"):
                        kwargs.update(epochs=1, progress=False)
                    if synth in ("ctgan", "tvae"):
                        kwargs["batch_size"] = 50
                    if synth == "aim":
                        kwargs.update(max_rounds=2, round_iters=10, max_iters=50)
                    kwargs.update(params)
                    model = factory(**kwargs)
                    model.fit(frame, metadata=md)
                    return model.sample(5, seed=0)

                # TVAE has no packs: any batch size of at least 2 is fine
                expect = "either" if synth == "tvae" and "pac" in label else "error"
                cases.append(Case("parameters", f"{synth}: {label}", run, expect=expect))
    return cases


def sample_cases() -> list[Case]:
    """``sample`` arguments and conditions, on models fitted once by :func:`make_files`."""
    import tabsynth as ts

    models = {
        "gaussian_copula": ROOT / "gc.tsyn",
        "autoregressive": ROOT / "ar.tsyn",
        "mst": ROOT / "mst.tsyn",
        "aim": ROOT / "aim.tsyn",
        "autoregressive_dp": ROOT / "ardp.tsyn",
    }
    bad_n = {
        "n=0": 0,
        "n=-1": -1,
        "n=1.5": 1.5,
        "n=True": True,
        "n='10'": "10",
        "n=None": None,
        "n=10**12": 10**12,
        "n=nan": float("nan"),
    }
    bad_seed = {"seed=-1": -1, "seed='a'": "a", "seed=2**70": 2**70, "seed=1.0": 1.0}
    cases = []
    for synth, path in models.items():
        for label, n in bad_n.items():
            cases.append(
                Case(
                    "sample",
                    f"{synth}: {label}",
                    lambda p=path, n=n: ts.load(p, trusted=True).sample(n),
                )
            )
        for label, seed in bad_seed.items():
            cases.append(
                Case(
                    "sample",
                    f"{synth}: {label}",
                    lambda p=path, s=seed: ts.load(p, trusted=True).sample(5, seed=s),
                )
            )
        cases.append(
            Case(
                "sample",
                f"{synth}: n=np.int64(5)",
                lambda p=path: ts.load(p, trusted=True).sample(np.int64(5)),
                expect="ok",
            )
        )
    conditions: dict[str, Any] = {
        "unknown column": {"nope": 1},
        "value of the wrong type": {"age": "abc"},
        "age outside the bounds": {"age": 500},
        "category not declared": {"sex": "X"},
        "None": {"sex": None},
        "a list value": {"sex": ["F", "M"]},
        "not a mapping": ["sex", "F"],
        "float in an int column": {"age": 30.5},
        "NaN in a non-nullable column": {"age": float("nan")},
        "bool in a categorical column": {"sex": True},
        "datetime as text": {"visit": "not a date"},
        "frame with wrong row count": pd.DataFrame({"sex": ["F", "M"]}),
        "frame with an unknown column": pd.DataFrame({"nope": ["F"] * 5}),
        "empty mapping": {},
    }
    for path_key in ("autoregressive", "autoregressive_dp"):
        for label, cond in conditions.items():
            expect = "ok" if label == "empty mapping" else "error"
            cases.append(
                Case(
                    "sample conditions",
                    f"{path_key}: {label}",
                    lambda p=models[path_key], c=cond: ts.load(p).sample(5, seed=0, conditions=c),
                    expect=expect,
                )
            )

    def good_condition(p: Path = models["autoregressive"]) -> Any:
        out = ts.load(p).sample(20, seed=0, conditions={"sex": "F", "age": 40})
        return out

    cases.append(
        Case(
            "sample conditions",
            "autoregressive: valid conditions hold",
            good_condition,
            expect="ok",
            check=lambda out: (
                None
                if (out["sex"] == "F").all() and (out["age"] == 40).all()
                else "conditions not applied"
            ),
        )
    )
    return cases


def evaluate_cases() -> list[Case]:
    import tabsynth as ts

    real = base_frame(300, seed=0)
    synth = base_frame(300, seed=1)
    hold = base_frame(100, seed=2)

    def ev(r: Any = real, s: Any = synth, **kw: Any) -> Any:
        kw.setdefault("progress", False)
        return ts.evaluate(r, s, **kw)

    cases: dict[str, tuple[Callable[[], Any], str]] = {
        "synthetic lacks a column": (lambda: ev(s=synth.drop(columns="age")), "error"),
        "synthetic has an extra column": (lambda: ev(s=synth.assign(x=1)), "error"),
        "synthetic columns reordered": (lambda: ev(s=synth[synth.columns[::-1]]), "ok"),
        "synthetic text in a numeric column": (
            lambda: ev(s=synth.assign(age=["x"] * 300)),
            "error",
        ),
        "synthetic numbers in a datetime column": (
            lambda: ev(s=synth.assign(visit=np.arange(300))),
            "error",
        ),
        "synthetic all missing in a column": (lambda: ev(s=synth.assign(age=np.nan)), "either"),
        "synthetic with inf": (lambda: ev(s=synth.assign(income=np.inf)), "either"),
        "synthetic unseen categories": (lambda: ev(s=synth.assign(sex="Z")), "either"),
        "synthetic empty": (lambda: ev(s=synth.iloc[:0]), "error"),
        "synthetic one row": (lambda: ev(s=synth.iloc[:1]), "either"),
        "real two rows": (lambda: ev(r=real.iloc[:2]), "either"),
        "real not a frame": (lambda: ev(r=real.to_numpy()), "error"),
        "synthetic a dict": (lambda: ev(s=synth.to_dict()), "error"),
        "target not a column": (lambda: ev(target="nope"), "error"),
        "target constant": (lambda: ev(target="sex", r=real.assign(sex="F")), "either"),
        "target continuous": (lambda: ev(target="income"), "either"),
        "target datetime": (lambda: ev(target="visit"), "either"),
        "target with a number as name": (lambda: ev(target=5), "error"),
        "holdout with other columns": (lambda: ev(holdout=hold.drop(columns="sex")), "error"),
        "holdout with text in age": (lambda: ev(holdout=hold.assign(age="x")), "error"),
        "holdout one row": (lambda: ev(holdout=hold.iloc[:1]), "either"),
        "metadata mismatch": (
            lambda: ev(metadata=ts.Metadata({"x": ts.ColumnSpec("categorical")})),
            "error",
        ),
        "metadata as a dict": (lambda: ev(metadata=BASE_METADATA), "either"),
        "sensitive not a column": (lambda: ev(sensitive=["nope"]), "error"),
        "sensitive a string": (lambda: ev(sensitive="sex"), "either"),
        "sensitive continuous": (lambda: ev(sensitive=["income"]), "either"),
        "groups not a column": (lambda: ev(groups=["nope"]), "error"),
        "seed=-1": (lambda: ev(seed=-1), "error"),
        "seed=2**40": (lambda: ev(seed=2**40), "error"),
        "privacy a dict": (lambda: ev(privacy={"epsilon": 1}), "error"),
        "progress='yes'": (lambda: ev(progress="yes"), "either"),
        "real with MultiIndex columns": (
            lambda: ev(
                r=real.set_axis(pd.MultiIndex.from_tuples([("a", c) for c in real.columns]), axis=1)
            ),
            "error",
        ),
        "real with a Period column": (
            lambda: ev(
                r=real.assign(p=pd.period_range("2020-01", periods=300, freq="D")),
                s=synth.assign(p=pd.period_range("2020-01", periods=300, freq="D")),
            ),
            "error",
        ),
        "real with dict cells": (
            lambda: ev(r=real.assign(d=[{"a": 1}] * 300), s=synth.assign(d=[{"a": 1}] * 300)),
            "error",
        ),
        "duplicate index": (
            lambda: ev(r=real.set_axis([0] * 300), s=synth.set_axis([0] * 300)),
            "either",
        ),
        "tz-aware datetimes": (
            lambda: ev(
                r=real.assign(visit=real["visit"].dt.tz_localize("UTC")),
                s=synth.assign(visit=synth["visit"].dt.tz_localize("UTC")),
            ),
            "either",
        ),
        "real and synthetic with mismatched dtypes (int vs text numbers)": (
            lambda: ev(s=synth.assign(age=synth["age"].astype(str))),
            "either",
        ),
        "huge cardinality column": (
            lambda: ev(
                r=real.assign(k=[f"k{i}" for i in range(300)]),
                s=synth.assign(k=[f"j{i}" for i in range(300)]),
            ),
            "either",
        ),
    }
    return [
        Case("evaluate", name, run, expect=expect, timeout=90)  # type: ignore[arg-type]
        for name, (run, expect) in cases.items()
    ]


def audit_cases() -> list[Case]:
    import tabsynth as ts

    frame = base_frame(120)

    def mst() -> Any:
        return ts.MSTSynthesizer(epsilon=1.0, max_iters=20)

    def au(factory: Any = mst, data: Any = frame, **kw: Any) -> Any:
        kw.setdefault("progress", False)
        kw.setdefault("metadata", BASE_METADATA)
        return ts.audit(factory, data, **kw)

    cases = {
        "factory not callable": lambda: au(factory=5),
        "factory returns a class": lambda: au(factory=lambda: ts.MSTSynthesizer),
        "factory returns None": lambda: au(factory=lambda: None),
        "factory an instance": lambda: au(factory=mst()),
        "trials=0": lambda: au(trials=0),
        "trials=-1": lambda: au(trials=-1),
        "trials=1.5": lambda: au(trials=1.5),
        "targets=0": lambda: au(targets=0),
        "targets=[]": lambda: au(targets=[]),
        "targets=[-1]": lambda: au(targets=[-1]),
        "targets=[10**6]": lambda: au(targets=[10**6]),
        "targets=['a']": lambda: au(targets=["a"]),
        "n_rows=1": lambda: au(n_rows=1),
        "n_rows=10**9": lambda: au(n_rows=10**9),
        "seed=-1": lambda: au(seed=-1),
        "max_seconds=-1": lambda: au(max_seconds=-1),
        "max_seconds=nan": lambda: au(max_seconds=float("nan")),
        "confidence=1.5": lambda: au(confidence=1.5),
        "confidence=0": lambda: au(confidence=0),
        "n_synthetic=0": lambda: au(n_synthetic=0),
        "data 3 rows": lambda: au(data=frame.iloc[:3]),
        "data not a frame": lambda: au(data=frame.to_numpy()),
        "metadata mismatch": lambda: au(metadata={"columns": {"x": {"kind": "categorical"}}}),
    }
    return [Case("audit", name, run, timeout=60) for name, run in cases.items()]


# -- model files ------------------------------------------------------------------------------


def _rewrite(
    src: Path, dst: Path, edit: Callable[[dict[str, Any], dict[str, bytes]], None]
) -> Path:
    """Copy model file ``src`` to ``dst`` with ``edit(manifest, members)`` applied."""
    with zipfile.ZipFile(src) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members.pop("model.json"))
    edit(manifest, members)
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if manifest is not None:
            archive.writestr("model.json", json.dumps(manifest))
        for name, data in members.items():
            archive.writestr(name, data)
    return dst


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _arrays(members: dict[str, bytes]) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(members["arrays.npz"])) as npz:
        return {k: npz[k] for k in npz.files}


def load_cases() -> list[Case]:
    import tabsynth as ts

    paths = {
        "random bytes": ROOT / "random.tsyn",
        "empty file": ROOT / "empty.tsyn",
        "a folder": ROOT / "folder",
        "missing": ROOT / "missing.tsyn",
        "a CSV": ROOT / "base.csv",
        "a FIFO": ROOT / "fifo.tsyn",
        "/dev/zero": Path("/dev/zero"),
        "truncated zip": ROOT / "truncated.tsyn",
        "zip without manifest": ROOT / "nomanifest.tsyn",
        "manifest not JSON": ROOT / "notjson.tsyn",
        "manifest a list": ROOT / "list.tsyn",
        "manifest deeply nested": ROOT / "deep.tsyn",
        "future format version": ROOT / "future.tsyn",
        "foreign format": ROOT / "foreign.tsyn",
        "unknown synthesizer": ROOT / "unknown.tsyn",
        "params with unknown key": ROOT / "params.tsyn",
        "params with bad value": ROOT / "badparams.tsyn",
        "metadata invalid": ROOT / "badmeta.tsyn",
        "metadata column renamed": ROOT / "renamed.tsyn",
        "privacy ledger garbage": ROOT / "badledger.tsyn",
        "state missing": ROOT / "nostate.tsyn",
        "state garbage": ROOT / "badstate.tsyn",
        "arrays missing": ROOT / "noarrays.tsyn",
        "array with object dtype": ROOT / "objarray.tsyn",
        "array of the wrong shape": ROOT / "shape.tsyn",
        "array of NaN": ROOT / "nanarray.tsyn",
        "array of the wrong dtype": ROOT / "dtype.tsyn",
        "arrays of another model": ROOT / "swapped.tsyn",
        "mst state of the wrong shape": ROOT / "mstshape.tsyn",
        "mst marginal NaN": ROOT / "mstnan.tsyn",
        "sdv pickle untrusted": ROOT / "gc.tsyn",
        "sdv payload garbage, trusted": ROOT / "badpayload.tsyn",
        "zip bomb manifest": ROOT / "bomb.tsyn",
        "npy header of 10^11 elements": ROOT / "hugenpy.tsyn",
    }
    cases = []
    for name, path in paths.items():
        trusted = "trusted" in name and "untrusted" not in name

        def run(p: Path = path, trusted: bool = trusted) -> Any:
            model = ts.load(p, trusted=trusted)
            return model.sample(5, seed=0)

        # a self-consistent edit (a renamed column, a fit-only parameter) loads and samples
        expect = (
            "either" if name in ("params with bad value", "metadata column renamed") else "error"
        )
        cases.append(Case("load", name, run, expect=expect, timeout=30))
    for trusted in ("yes", 1, None):
        cases.append(
            Case(
                "load",
                f"trusted={trusted!r}",
                lambda t=trusted: ts.load(ROOT / "gc.tsyn", trusted=t),
            )
        )
    cases.append(Case("load", "path None", lambda: ts.load(None)))
    cases.append(Case("load", "path an int", lambda: ts.load(5)))
    return cases


def make_files() -> None:
    """Write the files the cases read (runs in a forked child: it fits models)."""
    import tabsynth as ts

    ROOT.mkdir(parents=True, exist_ok=True)
    frame = base_frame()
    frame.to_csv(ROOT / "base.csv", index=False)
    (ROOT / "base.metadata.json").write_text(json.dumps(BASE_METADATA))
    (ROOT / "missing.json").unlink(missing_ok=True)
    (ROOT / "binary.json").write_bytes(bytes(range(256)) * 4)
    (ROOT / "latin1.json").write_bytes('{"columns": {"é": {"kind": "id"}}}'.encode("latin-1"))
    (ROOT / "empty.json").write_text("")
    (ROOT / "bom.json").write_bytes(b'\xef\xbb\xbf{"columns": {"a": {"kind": "id"}}}')
    (ROOT / "folder").mkdir(exist_ok=True)
    (ROOT / "random.tsyn").write_bytes(np.random.default_rng(0).bytes(5000))
    (ROOT / "empty.tsyn").write_bytes(b"")
    if not (ROOT / "fifo.tsyn").exists():
        os.mkfifo(ROOT / "fifo.tsyn")
    DEV_FULL.unlink(missing_ok=True)
    try:
        os.mknod(DEV_FULL, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except PermissionError:
        os.mkfifo(DEV_FULL)
    md = ts.Metadata.from_dict(BASE_METADATA)
    ts.GaussianCopulaSynthesizer(seed=0).fit(frame, md).save(ROOT / "gc.tsyn")
    ts.AutoregressiveSynthesizer(seed=0, epochs=1, progress=False).fit(frame, md).save(
        ROOT / "ar.tsyn"
    )
    ts.AutoregressiveSynthesizer(epsilon=50.0, epochs=1, progress=False).fit(frame, md).save(
        ROOT / "ardp.tsyn"
    )
    ts.MSTSynthesizer(epsilon=50.0, max_iters=50).fit(frame, md).save(ROOT / "mst.tsyn")
    ts.AIMSynthesizer(epsilon=50.0, max_rounds=2, round_iters=10, max_iters=50).fit(frame, md).save(
        ROOT / "aim.tsyn"
    )
    ar = ROOT / "ar.tsyn"
    data = ar.read_bytes()
    (ROOT / "truncated.tsyn").write_bytes(data[: len(data) // 2])
    with zipfile.ZipFile(ROOT / "nomanifest.tsyn", "w") as archive:
        archive.writestr("arrays.npz", _npz({}))
    with zipfile.ZipFile(ROOT / "notjson.tsyn", "w") as archive:
        archive.writestr("model.json", "{not json")
        archive.writestr("arrays.npz", _npz({}))
    with zipfile.ZipFile(ROOT / "list.tsyn", "w") as archive:
        archive.writestr("model.json", "[1, 2]")
        archive.writestr("arrays.npz", _npz({}))
    with zipfile.ZipFile(ROOT / "deep.tsyn", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model.json", "[" * 200_000 + "]" * 200_000)
        archive.writestr("arrays.npz", _npz({}))
    with zipfile.ZipFile(ROOT / "bomb.tsyn", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model.json", " " * (200 * 2**20))
        archive.writestr("arrays.npz", _npz({}))

    def set_(key: str, value: Any) -> Callable[[dict[str, Any], dict[str, bytes]], None]:
        def edit(manifest: dict[str, Any], members: dict[str, bytes]) -> None:
            manifest[key] = value

        return edit

    _rewrite(ar, ROOT / "future.tsyn", set_("format_version", 99))
    _rewrite(ar, ROOT / "foreign.tsyn", set_("format", "sdv"))
    _rewrite(ar, ROOT / "unknown.tsyn", set_("synthesizer", "bogus"))
    _rewrite(ar, ROOT / "params.tsyn", lambda m, a: m["params"].update(bogus=1))
    _rewrite(ar, ROOT / "badparams.tsyn", lambda m, a: m["params"].update(bins=-5))
    _rewrite(ar, ROOT / "badmeta.tsyn", lambda m, a: m["metadata"]["columns"].update(age="x"))

    def rename(m: dict[str, Any], a: dict[str, bytes]) -> None:
        cols = m["metadata"]["columns"]
        cols["AGE"] = cols.pop("age")

    _rewrite(ar, ROOT / "renamed.tsyn", rename)
    _rewrite(ROOT / "mst.tsyn", ROOT / "badledger.tsyn", set_("privacy", {"entries": "x"}))
    _rewrite(ar, ROOT / "nostate.tsyn", lambda m, a: m.pop("state"))
    _rewrite(ar, ROOT / "badstate.tsyn", set_("state", {"encoder": 5}))

    def no_arrays(m: dict[str, Any], a: dict[str, bytes]) -> None:
        a["arrays.npz"] = _npz({})

    _rewrite(ar, ROOT / "noarrays.tsyn", no_arrays)

    def obj_array(m: dict[str, Any], a: dict[str, bytes]) -> None:
        arrays = _arrays(a)
        key = next(iter(arrays))
        arrays[key] = np.array([{"x": 1}], dtype=object)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays, allow_pickle=True)
        a["arrays.npz"] = buffer.getvalue()

    _rewrite(ar, ROOT / "objarray.tsyn", obj_array)

    def reshape(m: dict[str, Any], a: dict[str, bytes]) -> None:
        arrays = _arrays(a)
        arrays = {k: np.zeros((3, 7), dtype=v.dtype) for k, v in arrays.items()}
        a["arrays.npz"] = _npz(arrays)

    _rewrite(ar, ROOT / "shape.tsyn", reshape)

    def nan(m: dict[str, Any], a: dict[str, bytes]) -> None:
        arrays = _arrays(a)
        a["arrays.npz"] = _npz(
            {k: np.full_like(v, np.nan) if v.dtype.kind == "f" else v for k, v in arrays.items()}
        )

    _rewrite(ar, ROOT / "nanarray.tsyn", nan)

    def dtype(m: dict[str, Any], a: dict[str, bytes]) -> None:
        arrays = _arrays(a)
        a["arrays.npz"] = _npz({k: v.astype("U3") for k, v in arrays.items()})

    _rewrite(ar, ROOT / "dtype.tsyn", dtype)

    def swapped(m: dict[str, Any], a: dict[str, bytes]) -> None:
        with zipfile.ZipFile(ROOT / "mst.tsyn") as archive:
            a["arrays.npz"] = archive.read("arrays.npz")

    _rewrite(ar, ROOT / "swapped.tsyn", swapped)
    _rewrite(ROOT / "mst.tsyn", ROOT / "mstshape.tsyn", reshape)
    _rewrite(ROOT / "mst.tsyn", ROOT / "mstnan.tsyn", nan)

    def garbage_payload(m: dict[str, Any], a: dict[str, bytes]) -> None:
        a["payload.pickle"] = b"\x80\x04garbage"

    _rewrite(ROOT / "gc.tsyn", ROOT / "badpayload.tsyn", garbage_payload)

    def huge_npy(m: dict[str, Any], a: dict[str, bytes]) -> None:
        header = b"\x93NUMPY\x01\x00"
        text = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000,), }"
        text = text + " " * (118 - len(text)) + "\n"
        body = header + len(text).to_bytes(2, "little") + text.encode() + b"\x00" * 64
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as npz:
            npz.writestr("w.npy", body)
        a["arrays.npz"] = buffer.getvalue()

    _rewrite(ar, ROOT / "hugenpy.tsyn", huge_npy)
    write_csvs()


# -- CSV files and the CLI --------------------------------------------------------------------

CSVS: dict[str, bytes] = {
    "bom": b"\xef\xbb\xbfage,sex\n" + b"".join(b"%d,F\n" % i for i in range(40)),
    "quoted_newlines": b"age,note\n" + b"".join(b'%d,"a\nb"\n' % i for i in range(40)),
    "semicolon": b"age;sex\n" + b"".join(b"%d;F\n" % i for i in range(40)),
    "tab": b"age\tsex\n" + b"".join(b"%d\tM\n" % i for i in range(40)),
    "pipe": b"age|sex\n" + b"".join(b"%d|M\n" % i for i in range(40)),
    "trailing_empty_column": b"age,sex,\n" + b"".join(b"%d,F,\n" % i for i in range(40)),
    "only_header": b"age,sex\n",
    "empty": b"",
    "only_newlines": b"\n\n\n",
    "duplicate_header": b"a,a\n" + b"".join(b"%d,%d\n" % (i, i) for i in range(40)),
    "empty_header_cell": b"a,,b\n" + b"".join(b"%d,x,%d\n" % (i, i) for i in range(40)),
    "ragged_rows": b"a,b\n1,2\n3,4,5\n6\n",
    "latin1": b"name,age\n" + "".join(f"Zoë{i},{i}\n" for i in range(40)).encode("latin-1"),
    "binary": bytes(range(256)) * 10,
    "one_row": b"age,sex\n30,F\n",
    "two_rows": b"age,sex\n30,F\n40,M\n",
    "leading_zeros": b"zip,n\n" + b"".join(b"0%04d,%d\n" % (i, i % 3) for i in range(40)),
    "na_strings": b"cat,n\n"
    + b"".join(b"%s,%d\n" % (s, i) for i, s in enumerate([b"NA", b"None", b"null", b"x"] * 10)),
    "whitespace_values": b"age,sex\n" + b"".join(b" %d , F \n" % i for i in range(40)),
    "crlf": b"age,sex\r\n" + b"".join(b"%d,F\r\n" % i for i in range(40)),
    "no_trailing_newline": b"age,sex\n" + b"\n".join(b"%d,F" % i for i in range(40)),
    "huge_field": b"a,b\n" + b"x" * 2_000_000 + b",1\n" + b"y,2\n" * 40,
    "many_columns": (",".join(f"c{i}" for i in range(2000)) + "\n").encode()
    + b"".join(
        (",".join(str((i + j) % 5) for j in range(2000)) + "\n").encode() for i in range(30)
    ),
    "unicode_header": "âge,性别\n".encode() + b"".join(b"%d,F\n" % i for i in range(40)),
    "mixed_types": b"v\n" + b"".join(b"%s\n" % s for s in [b"1", b"a", b"2.5", b"True"] * 10),
    "all_empty_values": b"a,b\n" + b",\n" * 40,
    "gz_not_gzip": b"age,sex\n1,F\n",
}


def write_csvs() -> None:
    for name, data in CSVS.items():
        suffix = ".csv.gz" if name == "gz_not_gzip" else ".csv"
        (ROOT / f"{name}{suffix}").write_bytes(data)
    (ROOT / "corrupt.parquet").write_bytes(b"PAR1" + b"\x00" * 100)
    frame = base_frame()
    frame.to_parquet(ROOT / "base.parquet")
    with_column("p", pd.period_range("2020-01", periods=200, freq="M")).to_parquet(
        ROOT / "period.parquet"
    )
    with_column("iv", pd.interval_range(0, 200)).to_parquet(ROOT / "interval.parquet")
    with_column("l", repeat([[1, 2], [3]])).to_parquet(ROOT / "lists.parquet")
    with_column("t", pd.date_range("2020", periods=200, tz="Asia/Tokyo")).to_parquet(
        ROOT / "tz.parquet"
    )
    pd.DataFrame({"x": [1, 2, 3]}).set_axis(pd.Index([0], name="i").repeat(3)).to_parquet(
        ROOT / "dupindex.parquet"
    )
    (ROOT / "leading.metadata.json").write_text(
        json.dumps(
            {
                "columns": {
                    "zip": {"kind": "categorical"},
                    "n": {"kind": "numerical", "dtype": "int"},
                }
            }
        )
    )


def cli_cases() -> list[Case]:
    out = ROOT / "out"

    def cli(*argv: str, expect: str = "error", check: Any = None, match: str | None = None) -> Case:
        args = [str(a) for a in argv]
        label = " ".join(a.replace(str(ROOT) + "/", "") for a in args)
        return Case(
            "CLI",
            label,
            lambda: run_cli(args),
            expect=expect,
            check=check,
            match=match,  # type: ignore[arg-type]
        )

    model = ROOT / "ar.tsyn"
    csv = ROOT / "base.csv"
    md = ROOT / "base.metadata.json"
    cases = []
    for name in CSVS:
        suffix = ".csv.gz" if name == "gz_not_gzip" else ".csv"
        path = ROOT / f"{name}{suffix}"
        expect = "either"
        cases.append(
            cli("fit", path, "-s", "gaussian_copula", "-o", out / f"{name}.tsyn", expect=expect)
        )
        cases.append(cli("metadata", "detect", path, "-o", out / f"{name}.json", expect=expect))
    for name in ("corrupt", "period", "interval", "lists", "tz", "dupindex", "base"):
        path = ROOT / f"{name}.parquet"
        expect = "either"
        cases.append(
            cli("fit", path, "-s", "gaussian_copula", "-o", out / f"pq_{name}.tsyn", expect=expect)
        )
        cases.append(
            cli(
                "fit",
                path,
                "-s",
                "mst",
                "--epsilon",
                "50",
                "-o",
                out / f"pqm_{name}.tsyn",
                expect=expect,
            )
        )

    def leading_zeros_kept(res: CliResult) -> str | None:
        import tabsynth as ts

        sample = ts.read_table(out / "lead.csv", as_text=True)
        bad = [z for z in sample["zip"] if not (len(z) == 5 and z.startswith("0"))]
        return f"codes lost their zeros: {bad[:3]}" if bad else None

    cases.append(
        Case(
            "CLI",
            "fit + sample keep leading zeros with --metadata",
            lambda: (
                run_cli(
                    [
                        "fit",
                        str(ROOT / "leading_zeros.csv"),
                        "-s",
                        "gaussian_copula",
                        "-m",
                        str(ROOT / "leading.metadata.json"),
                        "-o",
                        str(out / "lead.tsyn"),
                    ]
                ),
                run_cli(
                    [
                        "sample",
                        str(out / "lead.tsyn"),
                        "-n",
                        "20",
                        "-o",
                        str(out / "lead.csv"),
                        "--trusted",
                    ]
                ),
            )[1],
            expect="ok",
            check=leading_zeros_kept,
        )
    )
    bad_numbers = ["nan", "inf", "-1", "0", "1e400", "abc", "-inf", "1e-300"]
    for value in bad_numbers:
        cases.append(
            cli("fit", csv, "-s", "mst", "--epsilon", value, "-m", md, "-o", out / "m.tsyn")
        )
    for value in ["2", "-1", "nan", "0", "abc", "1"]:
        cases.append(
            cli(
                "fit",
                csv,
                "-s",
                "mst",
                "--epsilon",
                "1",
                "--delta",
                value,
                "-m",
                md,
                "-o",
                out / "m.tsyn",
            )
        )
    cases += [
        cli("fit", csv, "-s", "mst", "-m", md, "-o", out / "m.tsyn", match="epsilon"),
        cli("fit", csv, "-s", "aim", "-o", out / "m.tsyn"),
        cli("fit", csv, "-s", "gaussian_copula", "--delta", "1e-9", "-o", out / "m.tsyn"),
        cli("fit", csv, "-s", "gaussian_copula", "--epsilon", "1", "-o", out / "m.tsyn"),
        cli("fit", csv, "-s", "autoregressive", "--param", "epochs=abc", "-o", out / "m.tsyn"),
        cli("fit", csv, "-s", "autoregressive", "--param", "bogus=1", "-o", out / "m.tsyn"),
        cli("fit", csv, "-s", "autoregressive", "--param", "=1", "-o", out / "m.tsyn"),
        cli("fit", csv, "-s", "autoregressive", "--param", "epochs", "-o", out / "m.tsyn"),
        cli("fit", csv, "-s", "autoregressive", "--param", "seed=-4", "-o", out / "m.tsyn"),
        cli("fit", csv, "-s", "autoregressive", "--param", "epochs=1e9", "-o", out / "m.tsyn"),
        cli("fit", csv, "-s", "autoregressive", "--param", "width=[1]", "-o", out / "m.tsyn"),
        cli("fit", csv, "-s", "autoregressive", "--param", "progress=no", "-o", out / "m.tsyn"),
        cli(
            "fit",
            csv,
            "-s",
            "mst",
            "--epsilon",
            "1",
            "--param",
            "epsilon=2",
            "-m",
            md,
            "-o",
            out / "m.tsyn",
        ),
        cli(
            "fit",
            csv,
            "-s",
            "gaussian_copula",
            "--param",
            'sdv_params={"x":1}',
            "-o",
            out / "m.tsyn",
        ),
        cli("fit", csv, "-s", "nope", "-o", out / "m.tsyn"),
        cli("fit", csv, "-s", "", "-o", out / "m.tsyn"),
        cli("fit", csv, "-s", "gaussian_copula", "-m", ROOT / "binary.json", "-o", out / "m.tsyn"),
        cli("fit", csv, "-s", "gaussian_copula", "-m", ROOT / "empty.json", "-o", out / "m.tsyn"),
        cli("fit", csv, "-s", "gaussian_copula", "-m", ROOT / "latin1.json", "-o", out / "m.tsyn"),
        cli("fit", csv, "-s", "gaussian_copula", "-m", csv, "-o", out / "m.tsyn"),
        cli("fit", csv, "-s", "gaussian_copula", "-o", str(DEV_FULL)),
        cli("fit", csv, "-s", "gaussian_copula", "-o", "/proc/nope/m.tsyn"),
        cli("fit", csv, "-s", "gaussian_copula", "-o", ""),
        cli("fit", csv, "-s", "gaussian_copula", "-o", out),
        cli("fit", csv, "-s", "gaussian_copula", "-o", csv),
        cli("fit", ROOT / "fifo.tsyn", "-s", "gaussian_copula", "-o", out / "m.tsyn"),
        cli("fit", "/dev/null", "-s", "gaussian_copula", "-o", out / "m.tsyn"),
        cli("fit", "-", "-s", "gaussian_copula", "-o", out / "m.tsyn"),
        cli("fit", csv, "-s", "gaussian_copula", "--seed", "1e3", "-o", out / "m.tsyn"),
        cli("fit", csv, "-s", "gaussian_copula", "--seed", str(2**64), "-o", out / "m.tsyn"),
        cli(
            "fit", csv, "-s", "gaussian_copula", "--seed", " 7 ", "-o", out / "m.tsyn", expect="ok"
        ),
        cli("sample", model, "-n", "1e3", "-o", out / "s.csv"),
        cli("sample", model, "-n", "5.0", "-o", out / "s.csv"),
        cli("sample", model, "-n", str(10**12), "-o", out / "s.csv"),
        cli("sample", model, "-n", "-5", "-o", out / "s.csv"),
        cli("sample", model, "-n", "5", "--seed", "-1", "-o", out / "s.csv"),
        cli("sample", model, "-n", "5", "-o", out / "s.json"),
        cli("sample", model, "-n", "5", "-o", str(DEV_FULL)),
        cli("sample", model, "-n", "5", "-o", model),
        cli("sample", ROOT / "fifo.tsyn", "-n", "5", "-o", out / "s.csv"),
        cli("sample", ROOT / "deep.tsyn", "-n", "5", "-o", out / "s.csv"),
        cli("sample", ROOT / "bomb.tsyn", "-n", "5", "-o", out / "s.csv"),
        cli("sample", ROOT / "shape.tsyn", "-n", "5", "-o", out / "s.csv"),
        cli("sample", ROOT / "badpayload.tsyn", "-n", "5", "-o", out / "s.csv", "--trusted"),
        cli("sample", model, "-n", "5", "-o", out / "s.parquet", expect="ok"),
        cli("privacy", ROOT / "badledger.tsyn"),
        cli("privacy", ROOT / "random.tsyn"),
        cli("report", csv, ROOT / "semicolon.csv", "-o", out / "r.html"),
        cli("report", csv, ROOT / "base.parquet", "-o", out / "r.html", expect="either"),
        cli("report", csv, csv, "--target", "sex", "--sensitive", "nope", "-o", out / "r.html"),
        cli("report", csv, csv, "--holdout", ROOT / "one_row.csv", "-o", out / "r.html"),
        cli("report", csv, csv, "-m", ROOT / "binary.json", "-o", out / "r.html"),
        cli("report", csv, csv, "-m", ROOT / "leading.metadata.json", "-o", out / "r.html"),
        cli("report", csv, csv, "-o", out / "r.html", "--json", out / "r.html"),
        cli("report", csv, csv, "-o", out / "r.pdf", expect="either"),
        cli("audit", csv, "-s", "mst", "-o", out / "a.html", match="epsilon"),
        cli("audit", csv, "-s", "mst", "--epsilon", "1", "--trials", "0", "-o", out / "a.html"),
        cli("audit", csv, "-s", "mst", "--epsilon", "1", "--trials", "-3", "-o", out / "a.html"),
        cli("audit", csv, "-s", "mst", "--epsilon", "1", "--trials", "x", "-o", out / "a.html"),
        cli(
            "audit",
            csv,
            "-s",
            "mst",
            "--epsilon",
            "1",
            "--max-seconds",
            "nan",
            "-o",
            out / "a.html",
        ),
        cli(
            "audit", csv, "-s", "mst", "--epsilon", "1", "--max-seconds", "-1", "-o", out / "a.html"
        ),
        cli("audit", csv, "-s", "mst", "--epsilon", "1", "--rows", "1", "-o", out / "a.html"),
        cli(
            "audit",
            csv,
            "-s",
            "mst",
            "--epsilon",
            "1",
            "--delta",
            "0.9",
            "-m",
            md,
            "-o",
            out / "a.html",
        ),
        cli("audit", csv, "-s", "mst", "--epsilon", "1", "--param", "bins=0", "-o", out / "a.html"),
        cli("audit", csv, "-s", "gaussian_copula", "--epsilon", "1", "-o", out / "a.html"),
        cli("metadata", "detect", csv, "-o", out / "m.csv", expect="either"),
        cli("metadata", "detect", csv, "-o", str(DEV_FULL)),
        cli("metadata", "bogus", csv),
        cli("demo", "-s", "mst", "--out-dir", out / "demo1"),
        cli("demo", "--epsilon", "1", "--out-dir", out / "demo2"),
        cli("demo", "--seed", str(2**40), "--out-dir", out / "demo3"),
        cli("demo", "--out-dir", "/proc/nope"),
        cli("demo", "--out-dir", ""),
        cli("bogus"),
        cli(),
        cli("fit"),
        cli("--version", expect="ok"),
    ]
    return cases


def cli_setup() -> None:
    (ROOT / "out").mkdir(parents=True, exist_ok=True)


def scale_cases() -> list[Case]:
    """DP fits of small tables without a declared domain (estimated or refused, never
    guessed), wide tables, and the largest allowed parameters: no stall, no OOM."""

    def plausible(result: tuple[Any, pd.DataFrame]) -> str | None:
        """DP bounds are powers of two around the data: a sample far outside is a guess."""
        train, out = result
        for name in train.columns:
            real, fake = train[name], out[name].dropna()
            if pd.api.types.is_numeric_dtype(real.dtype) and not fake.empty:
                span = max(abs(real.min()), abs(real.max()), 1.0)
                if fake.abs().max() > 8 * span:
                    return f"{name!r}: sampled {fake.abs().max():.3g} for data within ±{span:.3g}"
            elif real.dtype == object and not fake.empty and (fake == "<other>").all():
                return f"{name!r}: every category came back '<other>'"
        return None

    small = base_frame(300).drop(columns="visit")
    wide = {
        k: pd.DataFrame(
            {f"c{j}": np.random.default_rng(j).choice(["a", "b", "c"], 300) for j in range(k)}
        )
        for k in (40, 60)
    }

    def wide_md(k: int) -> dict[str, Any]:
        cols = {f"c{j}": {"kind": "categorical", "categories": ["a", "b", "c"]} for j in range(k)}
        return {"public": True, "columns": cols}

    cases = []
    for synth in ("mst", "aim", "autoregressive_dp"):
        cases.append(
            Case(
                "scale & DP domains",
                f"{synth}: 300 rows at epsilon=1, no metadata",
                lambda s=synth: fit_sample(s, small, epsilon=1.0),
                expect="either",
                check=plausible,
            )
        )
    for k, frame in wide.items():
        for synth in ("mst", "aim"):
            cases.append(
                Case(
                    "scale & DP domains",
                    f"{synth}: {k} columns x 300 rows, epsilon=1",
                    lambda s=synth, f=frame, k=k: fit_sample(s, f, wide_md(k), epsilon=1.0),
                    expect="ok",
                )
            )
    cases += [
        Case(
            "scale & DP domains",
            "aim: bins=4096",
            lambda: fit_sample("aim", small, epsilon=1.0, bins=4096),
            expect="either",
        ),
        Case(
            "scale & DP domains",
            "autoregressive: width=4096",
            lambda: fit_sample("autoregressive", small, width=4096),
            expect="either",
        ),
        Case(
            "scale & DP domains",
            "gaussian_copula: 3,000 rows of a 3,000-category column",
            lambda: fit_sample("gaussian_copula", odd_frames()["huge_cardinality"]()),
            expect="either",
        ),
    ]
    return cases


def all_cases() -> list[Case]:
    return (
        metadata_python_cases()
        + metadata_json_cases()
        + parameter_cases()
        + sample_cases()
        + evaluate_cases()
        + audit_cases()
        + load_cases()
        + cli_cases()
        + scale_cases()
        + frame_cases()
    )
