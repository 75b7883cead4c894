"""Size guards (issue #12): sample sizes, model parameters and model files that would exhaust
memory are refused up front, and large samples are drawn in bounded chunks.

Nothing here allocates more than a few megabytes: limits are shrunk by monkeypatching the
constants of :mod:`tabsynth.limits`, and crafted files only *declare* huge sizes.
"""

from __future__ import annotations

import io
import json
import math
import struct
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tabsynth as ts
from tabsynth import limits
from tabsynth.domain import generate_column
from tabsynth.errors import ModelFileError, ParameterError
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.schema import restore_dtypes
from tabsynth.synthesizers.autoregressive import AutoregressiveSynthesizer
from tabsynth.synthesizers.autoregressive.sampling import sample_codes
from tabsynth.synthesizers.base import Synthesizer

#: Sizes of the chunks the test synthesizers were asked for, in order.
DRAWS: list[int] = []


class _Table(Synthesizer):
    """Draws every column independently from the generator: float, int, category, ids."""

    name = "_test_limits_table"

    def _fit(self, data, metadata):
        self.means_ = np.arange(4.0)

    def _sample(self, n, rng):
        DRAWS.append(n)
        out = {}
        for name, spec in self.metadata_.columns.items():
            if spec.kind == "id":
                out[name] = generate_column(name, spec, n, rng)
            elif spec.kind == "categorical":
                out[name] = rng.choice(np.array(spec.categories, dtype=object), n)
            elif spec.dtype == "int":
                out[name] = rng.integers(0, 100, n)
            else:
                out[name] = rng.normal(size=n)
        return pd.DataFrame(out)

    def _get_state(self):
        return {}, {"means": self.means_}

    def _set_state(self, state, arrays):
        self.means_ = arrays["means"]


class _CollidingIds(_Table):
    """Ids ``1..n`` in every call: chunks drawn independently repeat each other's ids."""

    name = "_test_limits_colliding"

    def _sample(self, n, rng):
        out = super()._sample(n, rng)
        out["pid"] = np.arange(1, n + 1)
        out["code"] = [f"id-{i:016x}" for i in range(n)]
        return out


class _Trusting(_Table):
    """Stands in for a pickled (SDV) model: needs ``trusted=True`` and carries a payload."""

    name = "_test_limits_trusting"
    requires_trust = True

    def _get_payload(self):
        return b"payload"

    def _set_payload(self, payload):
        self.payload_ = payload


METADATA = Metadata(
    {
        "x": ColumnSpec("numerical", dtype="float"),
        "k": ColumnSpec("numerical", dtype="int", nullable=False),
        "c": ColumnSpec("categorical", categories=("a", "b", "c"), nullable=False),
        "pid": ColumnSpec("id", dtype="int", nullable=False),
        "code": ColumnSpec("id", nullable=False),
    }
)


def _frame(n: int = 20) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": np.linspace(0.0, 1.0, n),
            "k": np.arange(n) % 7,
            "c": ["a", "b", "c", "a"] * (n // 4),
            "pid": np.arange(n) + 1,
            "code": [f"id-{i:016x}" for i in range(n)],
        }
    )


@pytest.fixture
def table() -> _Table:
    return _Table().fit(_frame(), metadata=METADATA)


@pytest.fixture(scope="module")
def autoregressive() -> AutoregressiveSynthesizer:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"early": rng.choice(["a", "b"], 200), "noise": rng.integers(0, 5, 200)})
    params = {"epochs": 1, "width": 8, "batch_size": 64, "progress": False}
    return AutoregressiveSynthesizer(seed=0, **params).fit(frame)


# -- sample sizes -----------------------------------------------------------------------------


def test_absurd_row_counts_are_refused_fast(table, autoregressive):
    for call in (
        lambda: table.sample(10**12),
        lambda: autoregressive.sample(10**12),
        lambda: autoregressive.sample(10**12, conditions={"early": "a"}),
        lambda: table.sample(limits.MAX_SAMPLE_ROWS + 1),
    ):
        start = time.perf_counter()
        with pytest.raises(ParameterError, match="MAX_SAMPLE_ROWS"):
            call()
        assert time.perf_counter() - start < 1.0


def test_outputs_larger_than_memory_are_refused(table, autoregressive, monkeypatch):
    monkeypatch.setattr(limits, "physical_memory_bytes", lambda: 100 * limits.MiB)
    # 5 columns: 3 numeric (8 bytes) + 2 object ids (64 bytes) = 152 bytes a row; 25 MB allowed
    assert limits.sample_bytes_per_row(table.metadata_) == 152
    DRAWS.clear()
    with pytest.raises(ParameterError, match="SAMPLE_MEMORY_FRACTION") as info:
        table.sample(3 * 10**7)
    assert "5 columns" in str(info.value) and "rows per call" in str(info.value)
    assert DRAWS == []  # refused before drawing anything
    with pytest.raises(ParameterError, match="SAMPLE_MEMORY_FRACTION"):
        autoregressive.sample(10**7, conditions=pd.DataFrame({"early": ["a"] * 3}))
    assert len(table.sample(1000, seed=0)) == 1000  # well under the limit
    # memory unknown (no sysconf): only the fixed row limit applies
    monkeypatch.setattr(limits, "physical_memory_bytes", lambda: None)
    limits.check_sample_memory(10**9, table.metadata_)


def test_physical_memory_falls_back_gracefully(monkeypatch):
    memory = limits.physical_memory_bytes()
    assert memory is None or memory > 0

    def broken(name):
        raise ValueError(name)

    monkeypatch.setattr(limits.os, "sysconf", broken)
    assert limits.physical_memory_bytes() is None
    assert limits.model_bytes_limit() == limits.MAX_ARRAYS_BYTES


# -- chunked sampling -------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [10**6, 50])
def test_samples_up_to_one_chunk_are_unchanged(table, monkeypatch, chunk):
    monkeypatch.setattr(limits, "SAMPLE_CHUNK_ROWS", chunk)
    before = restore_dtypes(table._sample(50, np.random.default_rng(3)), table.metadata_)
    pd.testing.assert_frame_equal(table.sample(50, seed=3), before)


def test_samples_above_one_chunk_are_drawn_in_chunks(table, monkeypatch, tmp_path):
    monkeypatch.setattr(limits, "SAMPLE_CHUNK_ROWS", 7)
    DRAWS.clear()
    out = table.sample(50, seed=1)
    assert DRAWS == [7] * 7 + [1]
    assert len(out) == 50 and isinstance(out.index, pd.RangeIndex)
    small = table.sample(5, seed=1)
    assert out.columns.tolist() == small.columns.tolist()
    assert out.dtypes.to_dict() == small.dtypes.to_dict()
    assert out["pid"].is_unique and out["code"].is_unique
    pd.testing.assert_frame_equal(table.sample(50, seed=1), out)  # reproducible for a seed
    assert not table.sample(50, seed=2).equals(out)
    again = ts.load(_saved(table, tmp_path / "chunked.tsyn"))
    pd.testing.assert_frame_equal(again.sample(50, seed=1), out)  # also after save/load


def test_ids_repeated_across_chunks_are_redrawn(monkeypatch):
    monkeypatch.setattr(limits, "SAMPLE_CHUNK_ROWS", 7)
    synth = _CollidingIds().fit(_frame(), metadata=METADATA)
    out = synth.sample(50, seed=0)
    assert out["pid"].is_unique and out["code"].is_unique
    assert out["pid"].dtype == np.int64 and (out["pid"] >= 1).all()
    assert out["pid"].iloc[:7].tolist() == list(range(1, 8))  # first occurrences are kept
    assert out["code"].str.fullmatch(r"id-[0-9a-f]{16}").all()
    pd.testing.assert_frame_equal(synth.sample(50, seed=0), out)


def _unchunked(synth, n, seed, conditions=None):
    """What ``AutoregressiveSynthesizer.sample`` returned before chunking existed."""
    rng = np.random.default_rng(seed)
    given, values = synth._encode_conditions(conditions, n)
    codes = sample_codes(synth.net_, n, rng, synth._sampling_order(), given)
    frame = synth.encoder_.decode(codes, rng)
    for name, column in values.items():
        keep = column.notna().to_numpy()
        frame[name] = frame[name].astype(object).where(~keep, column.astype(object))
    return restore_dtypes(frame, synth.metadata_)


def test_autoregressive_samples_up_to_one_chunk_are_unchanged(autoregressive):
    pd.testing.assert_frame_equal(
        autoregressive.sample(40, seed=4), _unchunked(autoregressive, 40, 4)
    )
    given = {"early": "b"}
    pd.testing.assert_frame_equal(
        autoregressive.sample(40, seed=4, conditions=given),
        _unchunked(autoregressive, 40, 4, given),
    )


def test_autoregressive_chunks_split_the_conditions(autoregressive, monkeypatch):
    monkeypatch.setattr(limits, "SAMPLE_CHUNK_ROWS", 16)
    partial = pd.DataFrame({"early": (["a", None, "b", None] * 10)}, index=range(100, 140))
    out = autoregressive.sample(40, seed=0, conditions=partial)
    assert len(out) == 40 and isinstance(out.index, pd.RangeIndex)
    given = partial["early"].notna().to_numpy()
    assert out["early"][given].tolist() == partial["early"][given].tolist()
    pd.testing.assert_frame_equal(autoregressive.sample(40, seed=0, conditions=partial), out)
    fixed = autoregressive.sample(40, seed=0, conditions={"early": "b"})
    assert (fixed["early"] == "b").all()
    assert fixed.dtypes.to_dict() == autoregressive.sample(5, seed=0).dtypes.to_dict()
    with pytest.raises(ParameterError, match="rows"):
        autoregressive.sample(40, conditions=partial.head(39))
    bad = partial.copy()
    bad.iloc[35, 0] = "z"
    with pytest.raises(ParameterError, match=r"in rows 32 to 39 of conditions.*categories"):
        autoregressive.sample(40, seed=0, conditions=bad)


# -- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"bins": 10**6}, r"bins must be a whole number from 2 to 4,096 \(tabsynth.limits"),
        ({"bins": 1}, "bins"),
        ({"width": 10**6}, r"width must be a whole number from 1 to 4,096"),
        ({"width": 0}, "width"),
        ({"blocks": 10**3}, r"blocks must be a whole number from 0 to 16"),
        ({"learning_rate": math.inf}, "learning_rate must be a finite number > 0, got inf"),
        ({"learning_rate": math.nan}, "learning_rate must be a finite number > 0, got nan"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": "fast"}, "learning_rate"),
        ({"max_grad_norm": math.inf}, "max_grad_norm must be a finite number > 0"),
        ({"max_grad_norm": math.nan}, "max_grad_norm"),
        ({"epochs": True}, "epochs"),
    ],
)
@pytest.mark.parametrize("epsilon", [None, 1.0])
def test_autoregressive_parameters_are_bounded(params, match, epsilon):
    synth = AutoregressiveSynthesizer(epsilon, progress=False, **params)
    start = time.perf_counter()
    with pytest.raises(ParameterError, match=match):
        synth.fit(_frame(200).drop(columns=["pid", "code"]))
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("cls", [ts.MSTSynthesizer, ts.AIMSynthesizer])
def test_dp_bins_are_bounded(cls):
    frame = pd.DataFrame({"x": np.arange(500) % 7})
    with pytest.raises(ParameterError, match=r"bins must be a whole number from 2 to 4,096"):
        cls(1.0, bins=10**6).fit(frame)


def test_integer_and_positive_checks():
    assert limits.check_int("bins", np.int64(4096), 2, limits.MAX_BINS) == 4096
    for bad in (True, 2.0, "3", limits.MAX_BINS + 1, 1):
        with pytest.raises(ParameterError, match="bins"):
            limits.check_int("bins", bad, 2, limits.MAX_BINS)
    assert limits.check_positive_finite("rate", np.float32(0.5)) == 0.5
    for bad in (True, -1.0, -math.inf, None):
        with pytest.raises(ParameterError, match="rate"):
            limits.check_positive_finite("rate", bad)


# -- model files ------------------------------------------------------------------------------


def _saved(synth: Synthesizer, path: Path) -> Path:
    synth.save(path)
    return path


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _declare_size(path: Path, member: str, size: int) -> None:
    """Rewrite the uncompressed size the central directory declares for ``member``."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + name_length] == name:
            struct.pack_into("<I", data, at + 24, size)
            path.write_bytes(bytes(data))
            return
        at = data.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"{member} not in {path}")


def _npz(arrays: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    _write(buffer, arrays, compression=zipfile.ZIP_STORED)  # type: ignore[arg-type]
    return buffer.getvalue()


def _npy_header(shape: tuple, descr: str = "<f8") -> bytes:
    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def test_models_still_load(table, tmp_path):
    again = ts.load(_saved(table, tmp_path / "m.tsyn"))
    assert np.array_equal(again.means_, table.means_)
    pd.testing.assert_frame_equal(again.sample(30, seed=2), table.sample(30, seed=2))


def test_an_inflating_manifest_is_refused_before_it_is_read(table, tmp_path):
    members = _members(_saved(table, tmp_path / "m.tsyn"))
    manifest = json.loads(members["model.json"])
    manifest["padding"] = " " * (2 * limits.MiB)  # deflates about 1000:1, like a zip bomb
    members["model.json"] = json.dumps(manifest).encode()
    path = _write(tmp_path / "bomb.tsyn", members)
    assert path.stat().st_size < 100_000
    with pytest.raises(ModelFileError, match="MAX_COMPRESSION_RATIO"):
        ts.load(path)


def test_a_manifest_declaring_gigabytes_is_refused(table, tmp_path, monkeypatch):
    path = _saved(table, tmp_path / "m.tsyn")
    _declare_size(path, "model.json", 3 * 10**9)
    with pytest.raises(ModelFileError, match=r"declares 3.0 GB .*MAX_MANIFEST_BYTES"):
        ts.load(path)
    monkeypatch.setattr(limits, "MAX_MANIFEST_BYTES", 100)  # a plain over-size manifest
    with pytest.raises(ModelFileError, match="MAX_MANIFEST_BYTES"):
        ts.load(_saved(table, tmp_path / "n.tsyn"))


def test_arrays_over_the_limit_are_refused(table, tmp_path, monkeypatch):
    path = _saved(table, tmp_path / "m.tsyn")
    monkeypatch.setattr(limits, "MAX_ARRAYS_BYTES", 64)
    with pytest.raises(ModelFileError, match="MAX_ARRAYS_BYTES"):
        ts.load(path)
    monkeypatch.setattr(limits, "physical_memory_bytes", lambda: 256)  # a quarter: 64 bytes
    monkeypatch.setattr(limits, "MAX_ARRAYS_BYTES", 2 * limits.GiB)
    with pytest.raises(ModelFileError, match="MAX_ARRAYS_BYTES"):
        ts.load(path)


def test_a_npy_header_declaring_a_huge_shape_is_refused(table, tmp_path):
    members = _members(_saved(table, tmp_path / "m.tsyn"))
    members["arrays.npz"] = _npz({"means.npy": _npy_header((10**11,)) + bytes(8)})
    path = _write(tmp_path / "huge.tsyn", members)
    start = time.perf_counter()
    with pytest.raises(ModelFileError, match=r"means.npy .*declares shape \(100000000000,\)"):
        ts.load(path)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    ("member", "match"),
    [
        (_npy_header((4,)) + bytes(16), "holds 16 bytes"),  # truncated
        (_npy_header((1,), "|O") + bytes(8), "Python objects"),  # a pickle
        (b"not an array", "not a valid .npy array"),
    ],
)
def test_inconsistent_arrays_are_refused(table, tmp_path, member, match):
    members = _members(_saved(table, tmp_path / "m.tsyn"))
    members["arrays.npz"] = _npz({"means.npy": member})
    with pytest.raises(ModelFileError, match=match):
        ts.load(_write(tmp_path / "bad.tsyn", members))


def test_an_inflating_array_member_is_refused(table, tmp_path):
    members = _members(_saved(table, tmp_path / "m.tsyn"))
    zeros = np.zeros(2 * limits.MiB // 8)
    buffer = io.BytesIO()
    np.save(buffer, zeros)
    inner = io.BytesIO()
    _write(inner, {"means.npy": buffer.getvalue()})  # type: ignore[arg-type]
    members["arrays.npz"] = inner.getvalue()
    with pytest.raises(ModelFileError, match=r"means\.npy .*like a zip bomb"):
        ts.load(_write(tmp_path / "bomb.tsyn", members, compression=zipfile.ZIP_STORED))


def test_an_untrusted_payload_is_not_read(tmp_path):
    synth = _Trusting().fit(_frame(), metadata=METADATA)
    path = _saved(synth, tmp_path / "m.tsyn")
    assert ts.load(path, trusted=True).payload_ == b"payload"
    _declare_size(path, "payload.pickle", 3 * 10**9)
    with pytest.raises(ModelFileError, match="trusted=True"):
        ts.load(path)  # refused for trust, before the payload's size matters
    with pytest.raises(ModelFileError, match=r"payload\.pickle declares 3\.0 GB"):
        ts.load(path, trusted=True)
