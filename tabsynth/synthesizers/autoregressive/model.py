"""The torch network: one small MLP per column, all evaluated in a few batched operations.

Column ``j`` has its own *head*, a network for ``p(x_j | visible columns)``. A head's input
layer is a sum of one learned vector per (head, column, code): the visible columns contribute
the vector of their code, the others the vector of a per-column "hidden" code. That is a
linear layer on the one-hot encoding of the row, with the invisible columns replaced by a
marker, and it costs one gather-and-add per column instead of a matrix product, which is what
keeps sampling fast: drawing a row costs ``d·d·width`` additions plus
``width·(d·width·blocks + Σ codes)`` multiply-adds. Residual per-head linear blocks follow,
then a per-head output layer with one logit per code of the column.

Which columns a head sees is given by a *rank* per row: column ``i`` is visible to head ``j``
when ``rank[i] < rank[j]``. A fixed rank gives an ordinary autoregressive model; a random
permutation per row trains every head for every subset of the other columns ("order-agnostic"
training, Uria et al. 2014), so sampling can start from any set of given columns.

Every layer here is *headwise*: for one row, head ``j`` reads one input vector and writes one
output vector. The per-sample gradient of a head's weight is then an outer product, so its norm
is ``‖input‖·‖output gradient‖`` without materialising it. :mod:`.dp` registers those norms
with opacus ("ghost clipping"), which is what makes DP-SGD affordable on a CPU.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class HeadwiseEmbedding(nn.Module):
    """Input layer: ``h[b, j] = bias[j] + Σ_i weight[j, i, code_or_hidden(b, i, j)]``.

    The table stores, for every head, one block of ``Σ_i (size_i + 1)`` rows: the codes of
    column ``i`` and, last, its "hidden" code.
    """

    def __init__(self, sizes: Sequence[int], width: int):
        super().__init__()
        self.columns = len(sizes)
        rows = [s + 1 for s in sizes]
        self.block = sum(rows)
        # Constants derived from ``sizes``, kept as plain tensors rather than buffers: opacus
        # refuses trainable layers that have buffers (they could hold private statistics).
        self.offsets = torch.tensor([0, *rows[:-1]], dtype=torch.int64).cumsum(0)
        self.hidden_codes = torch.tensor(sizes, dtype=torch.int64)
        self.head_base = torch.arange(self.columns, dtype=torch.int64) * self.block
        self.weight = nn.Parameter(torch.empty(self.columns * self.block, width))
        self.bias = nn.Parameter(torch.zeros(self.columns, width))
        # The sum of d unit-scale vectors would grow with d; scale so it starts near unit size.
        nn.init.normal_(self.weight, std=1.0 / math.sqrt(self.columns))

    def forward(self, index: torch.Tensor) -> torch.Tensor:
        """``index``: ``(B, heads, d)`` rows of the table (see :meth:`table_index`)."""
        batch, heads, d = index.shape
        flat = F.embedding_bag(index.reshape(batch * heads, d), self.weight, mode="sum")
        return flat.view(batch, heads, self.weight.shape[1]) + self.bias

    def table_index(self, codes: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """Table rows of every head: ``codes`` ``(B, d)``, ``visible`` ``(B, heads, d)``."""
        col = torch.where(visible, codes.unsqueeze(1), self.hidden_codes)
        return col + self.offsets + self.head_base.view(1, -1, 1)


class HeadwiseLinear(nn.Module):
    """``y[b, j] = x[b, j] @ weight[j] + bias[j]``: one ``width × width`` map per head."""

    def __init__(self, heads: int, width: int):
        super().__init__()
        bound = 1.0 / math.sqrt(width)
        self.weight = nn.Parameter(torch.empty(heads, width, width).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(heads, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bjh,jhk->bjk", x, self.weight) + self.bias


class HeadwiseOutput(nn.Module):
    """Head ``j`` maps its ``width`` features to the ``sizes[j]`` logits of its column; the
    logits of all heads are concatenated, column by column, into ``(B, Σ sizes)``."""

    def __init__(self, sizes: Sequence[int], width: int):
        super().__init__()
        self.sizes = tuple(int(s) for s in sizes)
        bound = 1.0 / math.sqrt(width)
        self.weight = nn.Parameter(torch.empty(sum(self.sizes), width).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(sum(self.sizes)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.weight.split(self.sizes)
        biases = self.bias.split(self.sizes)
        # unbind, not x[:, j]: the backward of d separate selects zero-fills a (B, d, width)
        # gradient per head (d² · B · width writes), which dominated steps on 48 columns
        heads = x.unbind(1)
        return torch.cat(
            [F.linear(h, w, b) for h, w, b in zip(heads, weights, biases, strict=True)], 1
        )

    def head(self, x: torch.Tensor, j: int) -> torch.Tensor:
        """Logits of column ``j`` alone from that head's features ``x`` ``(B, width)``."""
        start = sum(self.sizes[:j])
        stop = start + self.sizes[j]
        return F.linear(x, self.weight[start:stop], self.bias[start:stop])


class AutoregressiveNet(nn.Module):
    """``p(x_j | x_i for rank_i < rank_j)`` for every column ``j``, as logits.

    Parameters
    ----------
    sizes:
        Number of codes of each column (``DomainEncoder.sizes``).
    width:
        Features per head.
    blocks:
        Residual headwise linear blocks after the input layer.
    """

    def __init__(self, sizes: Sequence[int], width: int, blocks: int):
        super().__init__()
        self.sizes = tuple(int(s) for s in sizes)
        self.embed = HeadwiseEmbedding(self.sizes, width)
        self.blocks = nn.ModuleList(HeadwiseLinear(len(self.sizes), width) for _ in range(blocks))
        self.out = HeadwiseOutput(self.sizes, width)

    def forward(self, codes: torch.Tensor, rank: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, Σ sizes)`` of every column given the columns ranked before it.

        ``codes`` and ``rank`` are ``(B, d)`` integers; ``rank`` is a permutation per row.
        """
        visible = rank.unsqueeze(1) < rank.unsqueeze(2)  # [b, j, i]: i before j
        h = self.embed(self.embed.table_index(codes, visible))
        for block in self.blocks:
            h = h + block(F.relu(h))
        return self.out(F.relu(h))

    @torch.no_grad()
    def column_logits(self, codes: torch.Tensor, visible: torch.Tensor, j: int) -> torch.Tensor:
        """Logits ``(B, sizes[j])`` of column ``j`` given the columns where ``visible`` (``(B, d)``
        booleans) is true; computes head ``j`` only, with in-place updates, for sampling."""
        emb = self.embed
        col = torch.where(visible, codes, emb.hidden_codes)
        index = col + emb.offsets + j * emb.block
        h = F.embedding_bag(index, emb.weight, mode="sum").add_(emb.bias[j])
        for block in self.blocks:
            h.addmm_(torch.relu(h), block.weight[j]).add_(block.bias[j])
        return self.out.head(h.relu_(), j)


def column_nll(logits: torch.Tensor, codes: torch.Tensor, sizes: Sequence[int]) -> torch.Tensor:
    """Per-row negative log-likelihood ``(B,)``: the sum over columns of the cross-entropy."""
    total = logits.new_zeros(codes.shape[0])
    for j, part in enumerate(logits.split(tuple(sizes), dim=1)):
        total = total + F.cross_entropy(part, codes[:, j], reduction="none")
    return total
