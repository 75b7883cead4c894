"""Merging the rare codes of high-cardinality columns before DP-SGD (post-processing).

Why. Every code of a column costs the network one output logit and, in every head, one
embedding row: the output layer, the softmax and the cross-entropy grow with ``Σ sizes``,
the parameters with ``d · Σ sizes``, and DP-SGD pays for each parameter at every step (two
backward passes under ghost clipping, noise, Adam). On diabetes130 the three diagnosis
columns hold 2,174 of the 2,581 codes, and most of those codes are held by fewer rows than
the noise of a DP 1-way marginal: DP-SGD cannot learn their conditionals anyway, only pay
for them (their logits and cross-entropy were about two thirds of a step's time).

What. A column with more than :data:`MAX_CODES` codes keeps one code for each code whose
noisy 1-way count reaches ``SUPPORT_SIGMAS`` standard deviations, and the others share one
code (MST's compression rule, :func:`tabsynth.synthesizers.mst.compression`). The network is
trained on, and samples, the compressed codes; a shared code is split back at sampling in
proportion to its members' noisy counts (:func:`tabsynth.synthesizers.mst.expansion`).
Columns with at most :data:`MAX_CODES` codes are left alone, so tables without such columns
(Adult, Taiwan credit: at most 101 codes a column) fit exactly as before.

Privacy. The maps and the expansion tables are functions of the noisy 1-way marginals that
:func:`~.dp.released_support` already released and charged, and of the public domain sizes:
post-processing, no budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tabsynth.errors import ModelFileError
from tabsynth.rules.zeros import StructuralZero
from tabsynth.synthesizers.marginal import Measurement, sample_rows
from tabsynth.synthesizers.mst import compression, expansion

#: Columns with more codes than this are compressed (the non-private encoder's 100 fine bins,
#: plus "missing", stay below it: numeric columns keep their order and their bins).
MAX_CODES = 128


@dataclass(frozen=True)
class Compression:
    """Per column, ``maps[j]`` (original code -> compressed code) and ``tables[j]`` (the
    row-stochastic table from compressed codes back to original ones), or ``None`` for a
    column left alone."""

    maps: tuple[np.ndarray | None, ...]
    tables: tuple[np.ndarray | None, ...]

    @classmethod
    def identity(cls, columns: int) -> Compression:
        """Nothing compressed (non-private fits, and model files from before compression)."""
        return cls((None,) * columns, (None,) * columns)

    @classmethod
    def from_released(
        cls, one_way: Sequence[Measurement], unused: Sequence[np.ndarray]
    ) -> Compression:
        """Compress the columns with more than :data:`MAX_CODES` codes, from their released
        noisy 1-way marginals; ``unused`` codes (:func:`~.marginal.unused_codes`) get no mass
        on the way back."""
        maps: list[np.ndarray | None] = []
        tables: list[np.ndarray | None] = []
        for m, gone in zip(one_way, unused, strict=True):
            if m.values.size <= MAX_CODES:
                maps.append(None)
                tables.append(None)
                continue
            mapping = compression(m.values, float(np.max(m.stddev)))
            maps.append(mapping)
            tables.append(expansion(m, mapping, gone))
        return cls(tuple(maps), tuple(tables))

    @property
    def active(self) -> bool:
        """Whether any column is compressed."""
        return any(m is not None for m in self.maps)

    def sizes(self, sizes: Sequence[int]) -> tuple[int, ...]:
        """The network's code counts for the encoder's ``sizes``."""
        return tuple(
            int(s) if t is None else t.shape[0] for s, t in zip(sizes, self.tables, strict=True)
        )

    def compress(self, codes: np.ndarray) -> np.ndarray:
        """Encoder codes ``(n, d)`` to the network's; negative entries (free cells of a
        conditions matrix) are kept."""
        if not self.active:
            return codes
        out = codes.copy()
        for j, mapping in enumerate(self.maps):
            if mapping is not None:
                cells = codes[:, j] >= 0
                out[cells, j] = mapping[codes[cells, j]]
        return out

    def expand(self, codes: np.ndarray, given: np.ndarray | None, rng: np.random.Generator):
        """The network's codes ``(n, d)`` back to encoder codes; a shared code draws one of
        its members from ``rng``. Cells of ``given`` (encoder codes, negative where free) keep
        their given code. Draws nothing when no column is compressed."""
        if not self.active:
            return codes
        out = codes.copy()
        for j, table in enumerate(self.tables):
            if table is None:
                continue
            small = codes[:, j]
            out[:, j] = table.argmax(axis=1)[small]
            spread = ((table > 0).sum(axis=1) > 1)[small]
            if spread.any():
                out[spread, j] = sample_rows(table, small[spread], rng)
            if given is not None:
                fixed = given[:, j] >= 0
                out[fixed, j] = given[fixed, j]
        return out

    def unused(self, unused: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per column, the network's codes that must never be drawn: a shared code whose
        members are all unused has an empty expansion row."""
        return [
            gone if table is None else table.sum(axis=1) == 0
            for gone, table in zip(unused, self.tables, strict=True)
        ]

    def zeros(self, zeros: Sequence[StructuralZero]) -> list[StructuralZero]:
        """The declared rules' structural zeros on the network's codes: a merged cell is
        allowed when any of its cells is."""
        if not self.active:
            return list(zeros)
        out = []
        for zero in zeros:
            if all(self.maps[a] is None for a in zero.clique):
                out.append(zero)
                continue
            maps = [
                np.arange(zero.allowed.shape[k]) if self.maps[a] is None else self.maps[a]
                for k, a in enumerate(zero.clique)
            ]
            out.append(zero.coarsened(maps))
        return out

    # -- persistence ------------------------------------------------------------------------
    #: The model file's arrays that belong to the compression start with this; the layout
    #: (``compression_map_<j>``, ``compression_table_<j>``) is this class's alone.
    ARRAY_PREFIX = "compression_"

    def state(self) -> tuple[list[int], dict[str, np.ndarray]]:
        """The compressed columns' positions and their arrays, for the model file."""
        columns = [j for j, m in enumerate(self.maps) if m is not None]
        arrays: dict[str, np.ndarray] = {}
        for j in columns:
            arrays[f"{self.ARRAY_PREFIX}map_{j}"] = self.maps[j]  # type: ignore[assignment]
            arrays[f"{self.ARRAY_PREFIX}table_{j}"] = self.tables[j]  # type: ignore[assignment]
        return columns, arrays

    @classmethod
    def from_state(
        cls, columns: Sequence[int], arrays: dict[str, np.ndarray], sizes: Sequence[int]
    ) -> tuple[Compression, dict[str, np.ndarray]]:
        """Rebuild from :meth:`state` for an encoder with ``sizes``, and hand back the model
        file's other arrays; a model file whose arrays do not fit the encoder is refused. A
        file from before compression (no columns) gives :meth:`identity`."""
        maps: list[np.ndarray | None] = [None] * len(sizes)
        tables: list[np.ndarray | None] = [None] * len(sizes)
        for j in columns:
            if not isinstance(j, int) or not 0 <= j < len(sizes):
                raise ModelFileError(f"the code compression names a column {j!r} it lacks")
            try:
                mapping = np.asarray(arrays[f"{cls.ARRAY_PREFIX}map_{j}"], dtype=np.int64)
                table = np.asarray(arrays[f"{cls.ARRAY_PREFIX}table_{j}"], dtype=float)
            except (KeyError, TypeError, IndexError, ValueError):
                raise ModelFileError(f"the code compression of column {j} is missing") from None
            if (
                mapping.shape != (int(sizes[j]),)
                or table.ndim != 2
                or table.shape[1] != int(sizes[j])
                or mapping.min() < 0
                or mapping.max() >= table.shape[0]
                or not np.isfinite(table).all()
                or (table < 0).any()
            ):
                raise ModelFileError(f"the code compression of column {j} does not fit its domain")
            maps[j], tables[j] = mapping, table
        others = {k: v for k, v in arrays.items() if not k.startswith(cls.ARRAY_PREFIX)}
        return cls(tuple(maps), tuple(tables)), others
