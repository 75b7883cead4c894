"""Size limits: one policy for inputs that would exhaust memory or make no sense.

A bad-input sweep (issue #12) found that a few arguments and files could take a whole machine
down: ``sample(10**12)``, ``bins=10**6``, ``width=10**6``, a 3 MB model file whose JSON inflates
to 3 GB, an ``.npy`` header that declares 10^11 elements. Every such guard lives here, as a
named constant with the reason for its value, and is applied at the boundary:

* :meth:`Synthesizer.sample <tabsynth.synthesizers.base.Synthesizer.sample>` refuses more than
  :data:`MAX_SAMPLE_ROWS` rows, or an output whose estimated size
  (:func:`sample_bytes_per_row`) exceeds :data:`SAMPLE_MEMORY_FRACTION` of the machine's memory,
  and draws large requests in chunks of :data:`SAMPLE_CHUNK_ROWS` rows;
* model parameters are checked with :func:`check_int` and :func:`check_positive_finite`
  against :data:`MAX_BINS`, :data:`MAX_WIDTH` and :data:`MAX_BLOCKS`;
* :func:`tabsynth.load` checks every zip member's declared size (:func:`check_zip_member`,
  :data:`MAX_MANIFEST_BYTES`, :func:`model_bytes_limit`) and every ``.npy`` header before it
  reads the data.

The constants are module attributes read at call time: a caller who knows better (a machine
with more memory, a model file they made themselves) can raise one, e.g.
``tabsynth.limits.MAX_ARRAYS_BYTES = 8 * GiB``, and tests can shrink them.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from tabsynth.errors import ModelFileError, ParameterError
from tabsynth.metadata import Metadata
from tabsynth.schema import output_dtypes

MiB = 2**20
GiB = 2**30

# -- sampling ---------------------------------------------------------------------------------

#: Most rows one ``sample`` call returns. A billion rows of even one numeric column is 8 GB;
#: beyond that no single in-memory DataFrame is a sensible result, and the id generator's
#: range (10·n) stays far inside int64. Larger requests are refused before anything is
#: allocated; sample in several calls (with different seeds) and write each part out.
MAX_SAMPLE_ROWS = 10**9

#: Rows drawn per chunk by ``sample``. Each chunk comes from its own child generator, spawned
#: from the one seeded generator, so memory for a model's intermediates (codes, uniforms,
#: one-hot blocks, decoded columns) stays bounded by this many rows times the columns, plus
#: the output itself. A request of at most this many rows is drawn exactly as before chunking
#: existed (one call, the seeded generator itself): existing seeds give the same rows; larger
#: requests give other rows than before for the same seed, still reproducible, with ``id``
#: values repeated across chunks redrawn so ids stay unique. One million rows keeps a chunk
#: of a wide table in the hundreds of megabytes while the per-chunk overhead (a Python call,
#: a ``concat``) stays negligible.
SAMPLE_CHUNK_ROWS = 1_000_000

#: Largest share of the machine's memory one ``sample`` output may take, by the estimate of
#: :func:`sample_bytes_per_row`. A quarter, because the output is briefly held about twice
#: (the chunks are concatenated, then given their declared dtypes) next to whatever the
#: caller already holds, and the estimate is rough.
SAMPLE_MEMORY_FRACTION = 0.25

#: Estimated bytes of one cell of a numpy-typed output column (int64, float64, datetime64).
NUMERIC_CELL_BYTES = 8
#: Estimated bytes of one cell of a nullable extension column (``Int64``, ``boolean``): the
#: value, its mask byte, rounded up.
MASKED_CELL_BYTES = 16
#: Estimated bytes of one cell of an ``object`` column: an 8-byte pointer plus a short Python
#: string (49 bytes of header, then the text) - ids, tokens and formatted dates are about
#: that; category labels share their string objects, so this over-estimates them.
OBJECT_CELL_BYTES = 64

# -- model parameters -------------------------------------------------------------------------

#: Most bins of a numeric or datetime column (DP synthesizers and the autoregressive one).
#: Marginals are products of bins (a 3-way marginal of 4096-bin columns already has 6.9e10
#: cells); finer than this only splits the same rows into emptier bins, and under DP each bin
#: costs noise. The defaults are 32 (marginal models) and 100 (autoregressive).
MAX_BINS = 4096

#: Most features per column head of the autoregressive network. Its input table holds
#: ``d · Σ(codes + 1) · width`` 4-byte floats: at width 4096, 13 columns of 100 bins take
#: 280 MB and 50 such columns 4 GB. The defaults are 128 (non-private) and 64 (DP); the
#: benchmarks went no higher than 128.
MAX_WIDTH = 4096

#: Most residual blocks per head of the autoregressive network; each adds ``d · width²``
#: weights (at the width cap, 64 MiB per column per block). The benchmarks measured 0 and 1
#: (no gain from 1, ``benchmarks/autoregressive/results.md``); 16 leaves room to experiment.
MAX_BLOCKS = 16

# -- privacy budget ---------------------------------------------------------------------------

#: Smallest ε a DP synthesizer accepts. Noise scales like 1/ε: at ε = 10^-6 a count's noise
#: already has a standard deviation in the millions, so every release is noise for any table
#: that fits in memory; far below it (ε = 1e-15) the discrete Gaussian's integers outgrow
#: the 64-bit arithmetic of its sampler. A smaller ε buys no privacy that matters, only a
#: crash.
MIN_EPSILON = 1e-6

# -- model files ------------------------------------------------------------------------------

#: Most bytes of a model file's ``model.json`` once uncompressed. Real manifests are tens of
#: kilobytes (metadata, encoder edges and categories, the privacy ledger); 64 MiB admits a
#: categorical column with about a million declared categories. Parsing JSON takes up to ~20
#: times its text in Python objects, so this also bounds the parse.
MAX_MANIFEST_BYTES = 64 * MiB

#: Most bytes of a model file's arrays (``arrays.npz``, the sum of the arrays it declares) and
#: of an SDV payload, uncompressed; further capped at :data:`LOAD_MEMORY_FRACTION` of memory
#: (:func:`model_bytes_limit`). The largest default model on the benchmark tables, the
#: autoregressive one on the 49-column diabetes130 (about 3,000 codes), holds about 80 MB.
MAX_ARRAYS_BYTES = 2 * GiB

#: Largest share of the machine's memory a model file's arrays may declare: loading holds the
#: packed ``.npz`` bytes and the arrays at once.
LOAD_MEMORY_FRACTION = 0.25

#: Largest uncompressed/compressed ratio of a zip member of at least
#: :data:`COMPRESSION_CHECK_MIN_BYTES`. The members tabsynth writes compress 1.1:1 (network
#: weights) to about 4:1 (JSON); deflate tops out near 1030:1, reached only by repetitive
#: filler, which is how a small file inflates to gigabytes (a "zip bomb").
MAX_COMPRESSION_RATIO = 100

#: Members smaller than this are exempt from the ratio check: an empty or tiny member
#: (``np.savez()`` of nothing, a bias of zeros) can compress well and costs nothing to read.
COMPRESSION_CHECK_MIN_BYTES = 1 * MiB


def physical_memory_bytes() -> int | None:
    """This machine's memory in bytes (the smaller of RAM and a cgroup limit), or ``None``
    where it cannot be read (then only the fixed limits apply)."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    if total <= 0:
        return None
    for name in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(name).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < total:  # "max" or a huge sentinel: no limit
            total = int(text)
    return total


def sample_bytes_per_row(metadata: Metadata) -> int:
    """Estimated bytes of one output row of a synthesizer fitted with ``metadata``."""
    total = 0
    for dtype in output_dtypes(metadata).values():
        if dtype == "object":
            total += OBJECT_CELL_BYTES
        elif dtype in ("Int64", "boolean"):
            total += MASKED_CELL_BYTES
        else:
            total += NUMERIC_CELL_BYTES
    return max(total, 1)


def check_sample_rows(n: int) -> None:
    """Refuse more than :data:`MAX_SAMPLE_ROWS` rows (``n`` is already a positive int)."""
    if n > MAX_SAMPLE_ROWS:
        raise ParameterError(
            f"cannot sample {n:,} rows in one call: the most is {MAX_SAMPLE_ROWS:,} "
            "(tabsynth.limits.MAX_SAMPLE_ROWS); sample in several calls with different seeds "
            "and write each part out"
        )


def check_sample_memory(n: int, metadata: Metadata) -> None:
    """Refuse an output of ``n`` rows whose estimated size exceeds
    :data:`SAMPLE_MEMORY_FRACTION` of this machine's memory (no check where it is unknown)."""
    memory = physical_memory_bytes()
    if memory is None:
        return
    per_row = sample_bytes_per_row(metadata)
    allowed = int(memory * SAMPLE_MEMORY_FRACTION)
    if n * per_row > allowed:
        columns = len(output_dtypes(metadata))
        raise ParameterError(
            f"sampling {n:,} rows of {columns} columns would take about "
            f"{_size(n * per_row)}, more than {SAMPLE_MEMORY_FRACTION:.0%} of this machine's "
            f"{_size(memory)} of memory (tabsynth.limits.SAMPLE_MEMORY_FRACTION); ask for at "
            f"most {max(allowed // per_row, 1):,} rows per call and write each part out, with "
            "a different seed per call"
        )


def check_int(
    name: str, value: Any, minimum: int, maximum: int | None = None, *, limit: str = ""
) -> int:
    """A whole number in ``[minimum, maximum]`` (no upper end when ``maximum`` is None), else a
    :class:`ParameterError` naming ``name``, the allowed range and (``limit``) the constant
    that sets the maximum. The one validator of whole-number parameters."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, np.integer))
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        if maximum is None:
            raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
        where = f" (tabsynth.limits.{limit})" if limit else ""
        raise ParameterError(
            f"{name} must be a whole number from {minimum} to {maximum:,}{where}, got {value!r}"
        )
    return int(value)


def check_positive_finite(name: str, value: Any) -> float:
    """A finite real number > 0, else a :class:`ParameterError` naming ``name``. Infinity and
    NaN are refused: an infinite step size or clipping norm trains a degenerate model."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not 0 < value < math.inf
    ):
        raise ParameterError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    """``True`` or ``False``, else a :class:`ParameterError` naming ``name``: ``"no"`` and
    ``"false"`` are non-empty strings, which Python would read as true."""
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def model_bytes_limit() -> int:
    """Most bytes a model file's arrays (or payload) may take once read:
    :data:`MAX_ARRAYS_BYTES`, or :data:`LOAD_MEMORY_FRACTION` of memory if that is less."""
    memory = physical_memory_bytes()
    if memory is None:
        return MAX_ARRAYS_BYTES
    return min(MAX_ARRAYS_BYTES, int(memory * LOAD_MEMORY_FRACTION))


def check_zip_member(info: Any, limit: int, what: str, setting: str) -> None:
    """Refuse a zip member (a :class:`zipfile.ZipInfo`) that declares more than ``limit``
    bytes uncompressed, or that inflates suspiciously (:data:`MAX_COMPRESSION_RATIO`),
    before a byte of it is read. ``what`` names it in the message; ``setting`` is the
    constant that sets ``limit``."""
    size, packed = int(info.file_size), int(info.compress_size)
    if size > limit:
        raise ModelFileError(
            f"{what} declares {_size(size)} uncompressed, more than the {_size(limit)} allowed "
            f"(tabsynth.limits.{setting}): this is not a model file tabsynth wrote. If you made "
            "it yourself and trust it, raise that limit before loading"
        )
    if size >= COMPRESSION_CHECK_MIN_BYTES and size > MAX_COMPRESSION_RATIO * max(packed, 1):
        raise ModelFileError(
            f"{what} inflates from {_size(packed)} to {_size(size)} (over "
            f"{MAX_COMPRESSION_RATIO}:1, tabsynth.limits.MAX_COMPRESSION_RATIO), like a zip "
            "bomb; model files tabsynth writes compress far less. Load only files you made"
        )


def _size(nbytes: int) -> str:
    for unit, scale in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} bytes"
