"""Drawing codes from the network, unconditionally or with some columns given.

Given columns are visible to every head from the start and never resampled; the free columns
are drawn one at a time in the sampling order, each seeing the given columns and those drawn
before it. Because training used random column orders, "the given columns come first" is an
order the network was trained on, whatever columns are given: the draw is from the model's
conditional ``p(free | given)``, with no rejection and no reweighting.

Codes that would complete a cell the declared rules rule out (:mod:`tabsynth.rules.zeros`)
are masked when their column is drawn: the last-drawn column of such a cell gets no
probability there, so those rules hold without redrawing rows.

Randomness comes only from the ``numpy`` generator passed in (one uniform per drawn cell, by
inverse CDF), so the same seed gives the same rows, before and after save/load.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from tabsynth.rules.zeros import StructuralZero
from tabsynth.synthesizers.autoregressive.model import AutoregressiveNet

#: Rows drawn per network pass: large enough for efficient matrix products, small enough that
#: the per-chunk tensors stay in the tens of megabytes.
CHUNK = 32_768
#: Marks a free cell in the ``given`` code matrix.
FREE = -1


@torch.inference_mode()
def sample_codes(
    net: AutoregressiveNet,
    n: int,
    rng: np.random.Generator,
    order: Sequence[int],
    given: np.ndarray | None = None,
    zeros: Sequence[StructuralZero] = (),
) -> np.ndarray:
    """``(n, d)`` codes; ``given`` (``(n, d)``, :data:`FREE` where free) fixes some cells;
    no drawn code completes a cell of ``zeros`` (where its row has another choice)."""
    d = len(net.sizes)
    if given is None:
        given = np.full((n, d), FREE, dtype=np.int64)
    out = np.empty((n, d), dtype=np.int64)
    for start in range(0, n, CHUNK):
        part = given[start : start + CHUNK]
        out[start : start + len(part)] = _sample_chunk(net, part, rng, order, zeros)
    return out


def _sample_chunk(
    net: AutoregressiveNet,
    given: np.ndarray,
    rng: np.random.Generator,
    order: Sequence[int],
    zeros: Sequence[StructuralZero],
) -> np.ndarray:
    visible = torch.from_numpy(given != FREE)
    codes = torch.from_numpy(np.where(given == FREE, 0, given))
    for j in order:
        free = ~visible[:, j]
        rows = int(free.sum())
        if rows == 0:
            continue
        uniforms = torch.from_numpy(rng.random(rows))
        holding = [z for z in zeros if j in z.clique]
        if rows == len(free):
            logits = _masked(net.column_logits(codes, visible, j), holding, j, codes, visible)
            codes[:, j] = draw(logits, uniforms)
        else:
            logits = net.column_logits(codes[free], visible[free], j)
            logits = _masked(logits, holding, j, codes[free], visible[free])
            codes[free, j] = draw(logits, uniforms)
        visible[:, j] = True
    return codes.numpy()


def _masked(
    logits: torch.Tensor,
    zeros: Sequence[StructuralZero],
    j: int,
    codes: torch.Tensor,
    visible: torch.Tensor,
) -> torch.Tensor:
    """``logits`` of column ``j`` with ``-inf`` on the codes that, with the row's columns
    already drawn or given, complete a cell of ``zeros``. A row left with no code is not
    masked: its rule is broken by given values, and the rules' redraws report it."""
    if not zeros:
        return logits
    rows = logits.shape[0]
    allowed = np.ones(tuple(logits.shape), dtype=bool)
    for zero in zeros:
        others = [a for a in zero.clique if a != j]
        table = np.moveaxis(zero.allowed, zero.clique.index(j), -1)
        if others:
            ready = visible[:, others].all(dim=1).numpy()
            found = table[tuple(codes[:, a].numpy() for a in others)]
            allowed &= found | ~ready[:, None]
        else:
            allowed &= np.broadcast_to(table, (rows, table.shape[-1]))
    allowed[~allowed.any(axis=1)] = True
    if allowed.all():
        return logits
    return logits.masked_fill(torch.from_numpy(~allowed), -math.inf)


def draw(logits: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """One code per row from ``softmax(logits)``, by inverting the CDF at ``uniforms``: the
    first code whose CDF exceeds the uniform, so a code of probability 0 is never drawn, even
    at a uniform of exactly 0."""
    cdf = torch.softmax(logits, dim=1).cumsum(dim=1)
    picks = torch.searchsorted(cdf, (uniforms.to(cdf.dtype) * cdf[:, -1]).unsqueeze(1), right=True)
    return picks.squeeze(1).clamp_(max=logits.shape[1] - 1)
