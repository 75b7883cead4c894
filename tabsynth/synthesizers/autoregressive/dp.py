"""DP-SGD for the autoregressive network: opacus wiring, noise calibration, ledger entry.

The guarantee, for the add/remove-one-row relation the ledger uses:

* **Sampling.** opacus' ``DPDataLoader`` draws every batch by Poisson sampling
  (``UniformWithReplacementSampler``: each row joins with probability ``q`` independently),
  which is what the RDP analysis of the sampled Gaussian mechanism assumes.
* **Clipping and noise.** Every row's gradient is clipped to L2 norm ``max_grad_norm`` and the
  sum gets Gaussian noise of standard deviation ``σ · max_grad_norm``. Per-row gradient norms
  come from "ghost clipping": every layer of :mod:`.model` is headwise, so a head's per-row
  weight gradient is an outer product whose norm is exact and cheap (norm samplers below);
  no per-row gradient is ever materialised.
* **One-way marginals first, and the row count from them.** Before training, the 1-way
  marginal of every column is measured with discrete Gaussian noise (a share
  :data:`ONE_WAY_SHARE` of the budget, phase ``"measure"``), as MST and AIM do. Two things
  are read off them, both post-processing: the row count (their sums, averaged with
  inverse-variance weights) and the codes the data do not use - a "missing" code of a
  column that has no missing values, an ``"<other>"`` code nobody holds - which the network
  is then forbidden to sample, instead of giving them the mass of their noise. The exact n
  must not shape anything stored or printed (40,960 vs 40,961 rows changed q, the steps and
  σ): every number below - the expected batch, ``q``, the steps, ``σ`` and the divisor of the
  noisy gradient sum - comes from the released count, or from a row count the user declares
  public (``public_rows``). The privacy analysis of Poisson-sampled DP-SGD does not depend on
  n, so a declared count that is off costs utility, never privacy.
* **Calibration before training.** ``q = 1 / ceil(ñ / batch_size)`` and
  ``steps = epochs / q`` are fixed in advance; ``σ`` is the smallest noise multiplier whose
  RDP curve (opacus' ``compute_rdp`` on the ledger's orders), composed with what the ledger
  already holds (the DP domain estimation), stays within the target (ε, δ). The curve is
  recorded in the ledger *before* the first step, and the fit checks afterwards that opacus'
  own accountant saw exactly ``steps`` steps at that ``q`` and ``σ``. No validation, early
  stopping or model selection looks at the private rows, and the progress bar counts steps
  without showing the (un-noised) training loss. The weights kept are an average of the
  iterates over the last tenth of the steps (:mod:`.averaging`), post-processing of them.

Randomness, honestly. opacus 1.6 draws the noise with ``torch.normal(generator=...)`` and the
Poisson masks with ``torch.rand(generator=...)``; its ``secure_mode`` needs ``torchcsprng``,
which is unmaintained and not installable for current torch, so it is off. Both generators
here are therefore torch CPU generators (Mersenne Twister, MT19937), each seeded with 64 bits
from the fit's :class:`~tabsynth.privacy.NoiseSource` - the OS CSPRNG (``os.urandom``) unless
the test-only ``noise_seed`` is set. The user's ``seed`` never reaches them. What this does
*not* give: MT19937 is not a cryptographic generator (its state can in principle be recovered
from enough of its outputs, which the released model does not expose directly), a 64-bit seed
bounds the entropy of the whole noise sequence, and floating-point Gaussian samples are
subject to the attacks that ``secure_mode`` mitigates (Mironov 2012; Jin et al. 2022). The
guarantee holds for an adversary who cannot predict MT19937 seeded from the OS; it is not a
proof against one who can.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from opacus import PrivacyEngine
from opacus.accountants.analysis.rdp import compute_rdp
from opacus.data_loader import DPDataLoader
from opacus.grad_sample import register_norm_sampler
from opacus.utils.uniform_sampler import UniformWithReplacementSampler
from torch import nn
from torch.utils.data import DataLoader, Dataset

from tabsynth.domain import DomainEncoder
from tabsynth.errors import BudgetError, PrivacyError
from tabsynth.privacy import LedgerEntry, NoiseSource, PrivacyLedger, sigma_for_rho
from tabsynth.privacy.accounting import epsilon_from_rdp
from tabsynth.synthesizers.autoregressive.averaging import IterateAverage
from tabsynth.synthesizers.autoregressive.model import (
    AutoregressiveNet,
    HeadwiseEmbedding,
    HeadwiseLinear,
    HeadwiseOutput,
    column_nll,
)
from tabsynth.synthesizers.autoregressive.training import batch_ranks, progress_bar
from tabsynth.synthesizers.marginal import Measurement, estimate_total, measure, unused_codes

#: RDP orders above this get no bound (``inf``): opacus' fractional-order series overflows
#: beyond about 1000, and such orders only matter for ε far below what DP-SGD trains with.
MAX_ORDER = 1024.0
#: Calibration searches σ on every k-th ledger order (4x faster; ε is then at most a fraction
#: of a percent above the full-grid value, so the found σ is safe on the full grid too).
CALIBRATION_STRIDE = 4
#: Relative precision of the calibrated σ.
SIGMA_TOLERANCE = 1e-3
PHASE = "training"
#: Compute of the default DP-SGD schedule: this many steps, at a Poisson rate of about
#: :data:`DP_SAMPLE_RATE`, with expected batches of at most :data:`MAX_DP_BATCH` rows.
DP_STEPS, DP_SAMPLE_RATE, MAX_DP_BATCH = 200, 0.2, 8192
#: The default schedule spends that compute on expected batches of this share of the rows (not
#: below :data:`MIN_DP_BATCH`), with proportionally more steps (:func:`default_dp_schedule`).
DP_BATCH_RATE = 0.1
#: Work allowed per DP-SGD step, in multiply-adds of the forward pass (:func:`row_cost` per row
#: of the expected batch, plus :data:`PARAM_WORK` per parameter). Equal to a full 8192-row
#: batch on a table whose row costs ``64 · 1024``: Adult at width 64 (454 M a step at a fifth
#: of its rows, 7,815) stays below it, while diabetes130 (275,000 per row, 1.9 M parameters
#: after the released compression) gets 1,680-row batches instead of 8,192.
STEP_WORK = MAX_DP_BATCH * 64 * 1024
#: Per-step work on every parameter (dense embedding gradient, the second backward pass of
#: ghost clipping, Gaussian noise, Adam), in the units of :data:`STEP_WORK`. Fitted to the
#: measured steps at width 64 (results README): Adult 6.1 s at 7,823 rows, diabetes130 47.6 s
#: at 8,106 rows and 15.5 s at 1,650 rows give about 43 row multiply-adds per parameter.
PARAM_WORK = 40
#: Per-row work of each of the ``d²`` embedding-table indices, whatever the width (the
#: embedding backward sorts them), in the same units. Fitted to diabetes130 at width 16 and
#: 5,089 rows: 14.4 CPU s a step where width and parameter terms alone predicted 7.4 s
#: (Adult at width 64, 7,823 rows: 5.7 CPU s), about 40 per index.
INDEX_WORK = 40
#: Neither the work cap nor :data:`DP_BATCH_RATE` shrinks the expected batch below this many
#: rows (unless the table's fifth is smaller): below it the noise would swamp the averaged
#: gradient.
MIN_DP_BATCH = 256
#: Default width of a DP fit, and the floor below which :func:`default_dp_width` does not go
#: (at 8 features a head could not tell apart the codes of a 100-bin column).
DP_WIDTH, MIN_DP_WIDTH = 64, 16
#: Parameters a DP network may have at its default width (:func:`default_dp_width`). Adult
#: (0.53 M at width 64) and Taiwan credit (24 columns, about 1,500 codes: 2.4 M) keep width 64;
#: diabetes130 (48 columns, 2,772 codes: 8.7 M at width 64) gets width 16 (2.2 M).
MAX_DP_PARAMS = 3_000_000
#: Share of the fit's zCDP budget ρ spent on the 1-way marginals (support and row count). On
#: Adult at ε = 1 (15 columns, δ = 1e-9) each marginal's noise then has σ of about 200 rows:
#: enough to tell a code held by hundreds of rows from an empty one, and the row count (all
#: marginals' sums together) to about ±60, while the training run keeps 97 % of ρ.
ONE_WAY_SHARE = 0.03


@dataclass(frozen=True)
class DPTrainConfig:
    """What a DP-SGD fit does; every field is fixed before the data is touched."""

    width: int
    blocks: int
    epochs: int
    batch_size: int
    learning_rate: float
    max_grad_norm: float
    order: str


@dataclass(frozen=True)
class SGDPlan:
    """The accounted schedule: Poisson rate, number of steps and noise multiplier.

    ``poisson_rate`` is the rate the loader samples rows at; ``sample_rate`` the rate the
    accounting uses, which opacus takes as one over the batches per epoch. The two differ only
    when ``1 / (1 / k)`` rounds below ``k`` in floating point (k = 123 batches does): opacus then
    runs ``k - 1`` batches an epoch and accounts them at ``1 / (k - 1)``, a slightly larger
    rate, which only overstates the privacy loss.
    """

    sample_rate: float
    steps: int
    noise_multiplier: float
    rdp: tuple[float, ...]
    poisson_rate: float


# -- per-row gradient norms of the headwise layers (ghost clipping) ---------------------------


def _sq(x: torch.Tensor) -> torch.Tensor:
    """Squared L2 norm over the last dimension."""
    return (x * x).sum(-1)


@register_norm_sampler(HeadwiseEmbedding)
def embedding_norms(
    layer: HeadwiseEmbedding, activations: list[torch.Tensor], backprops: torch.Tensor
) -> dict[nn.Parameter, torch.Tensor]:
    """Each head adds one table row per column, all distinct, so a row's weight gradient puts
    the head's output gradient on ``d`` distinct rows: norm² = ``d · Σ_j ‖g_j‖²``."""
    per_head = _sq(backprops)  # (B, heads)
    columns = activations[0].shape[-1]
    return {
        layer.weight: (columns * per_head.sum(1)).sqrt(),
        layer.bias: per_head.sum(1).sqrt(),
    }


@register_norm_sampler(HeadwiseLinear)
def linear_norms(
    layer: HeadwiseLinear, activations: list[torch.Tensor], backprops: torch.Tensor
) -> dict[nn.Parameter, torch.Tensor]:
    """Head ``j``'s weight gradient is ``x_j ⊗ g_j``: norm² = ``Σ_j ‖x_j‖² ‖g_j‖²``."""
    g = _sq(backprops)
    return {
        layer.weight: (_sq(activations[0]) * g).sum(1).sqrt(),
        layer.bias: g.sum(1).sqrt(),
    }


@register_norm_sampler(HeadwiseOutput)
def output_norms(
    layer: HeadwiseOutput, activations: list[torch.Tensor], backprops: torch.Tensor
) -> dict[nn.Parameter, torch.Tensor]:
    """As :func:`linear_norms`, with head ``j``'s output gradient the slice of its column."""
    g = torch.stack([_sq(part) for part in backprops.split(layer.sizes, dim=1)], dim=1)
    return {
        layer.weight: (_sq(activations[0]) * g).sum(1).sqrt(),
        layer.bias: g.sum(1).sqrt(),
    }


# -- accounting --------------------------------------------------------------------------------


def rdp_curve(sample_rate: float, sigma: float, steps: int, orders: np.ndarray) -> np.ndarray:
    """RDP of ``steps`` sampled-Gaussian steps on ``orders`` (``inf`` where not computed)."""
    return np.array(_rdp_curve(sample_rate, sigma, steps, tuple(float(a) for a in orders)))


@functools.lru_cache(maxsize=256)
def _rdp_curve(
    sample_rate: float, sigma: float, steps: int, orders: tuple[float, ...]
) -> tuple[float, ...]:
    """Exact RDP at the integer orders, and at fractional orders an upper bound by convexity.

    opacus evaluates a slowly converging series at every fractional order (up to 16 ms each
    at q = 0.2: 25 s for one calibration of the default schedule), but its integer-order
    formula is a short finite sum. ``(α − 1) · RDP(α)`` is the log moment of the privacy loss,
    a convex function of α (log-sum-exp in α), so on ``[k, k + 1]`` it lies below the chord
    through its values at the integers ``k`` and ``k + 1`` (and at α = 1 it is 0). The chord
    therefore bounds the fractional orders from above: the accounting can only overstate the
    privacy loss, never understate it. The cache serves repeated fits with one plan.
    """
    grid = np.asarray(orders)
    out = np.full(len(grid), math.inf)
    usable = grid <= MAX_ORDER
    lows = np.floor(grid[usable])
    highs = np.ceil(grid[usable])
    integers = np.unique(np.concatenate([lows, highs]))
    integers = integers[integers >= 2]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        values = compute_rdp(
            q=sample_rate, noise_multiplier=sigma, steps=steps, orders=[int(a) for a in integers]
        )
    values = np.asarray(values, dtype=float)
    values = np.where(np.isfinite(values) & (values >= 0), values, math.inf)
    # log moments (α − 1)·RDP(α) at the integers, with 0 at α = 1
    moment = dict(zip(integers.tolist(), ((integers - 1) * values).tolist(), strict=True))
    moment[1.0] = 0.0
    low_m = np.array([moment[a] for a in lows.tolist()])
    high_m = np.array([moment[a] for a in highs.tolist()])
    alpha = grid[usable]
    weight = np.where(highs > lows, alpha - lows, 0.0)
    chord = low_m + weight * (high_m - low_m)
    out[usable] = chord / (alpha - 1)
    return tuple(out)


@dataclass(frozen=True)
class Support:
    """What the noisy 1-way marginals release: the row count the schedule uses, per column
    the codes the network must not sample, and the marginals themselves (from which
    :mod:`.compression` merges rare codes)."""

    rows: int
    unused: list[np.ndarray]
    one_way: list[Measurement]


def released_support(
    codes: np.ndarray,
    encoder: DomainEncoder,
    public_rows: int | None,
    ledger: PrivacyLedger,
    noise: NoiseSource,
) -> Support:
    """Measure every column's 1-way marginal (see the module docstring); post-process them
    into the row count (``public_rows`` when declared, free) and the unused codes."""
    names = encoder.columns
    shape = [encoder.sizes[name] for name in names]
    sigma = sigma_for_rho(ONE_WAY_SHARE * ledger.rho_budget / len(names))
    one_way = [
        measure(codes, shape, (j,), sigma, names=names, ledger=ledger, noise=noise)
        for j in range(len(names))
    ]
    if public_rows is not None:
        ledger.declare_public(f"number of rows: {public_rows} (declared public_rows)")
        rows = public_rows
    else:
        rows = round(estimate_total(one_way))
    return Support(rows=max(1, rows), unused=unused_codes(encoder, one_way), one_way=one_way)


#: Output bias of the codes the network must never sample. Finite, because a model file holding
#: an infinity is refused as corrupt; so far below any logit that softmax gives the code
#: probability exactly 0 (exp underflows), and sampling never picks a code of probability 0.
FORBIDDEN_LOGIT = -1e30


def forbid_codes(net: AutoregressiveNet, unused: list[np.ndarray]) -> None:
    """Make the network never sample the ``unused`` codes: their output bias becomes
    :data:`FORBIDDEN_LOGIT` (conditioning on them stays possible)."""
    with torch.no_grad():
        for bias, mask in zip(net.out.bias.split(net.sizes), unused, strict=True):
            bias[torch.from_numpy(mask)] = FORBIDDEN_LOGIT


def row_cost(sizes: Sequence[int], width: int) -> int:
    """Multiply-adds of one row's forward pass through :class:`~.model.AutoregressiveNet`:
    every one of the ``d`` heads sums ``d`` embedding vectors (``d² · width``), and the output
    layers produce ``Σ sizes`` logits from ``width`` features each. Backward, ghost clipping
    and the noisy optimizer step scale with the same terms, so per-step time follows this
    cost times the batch: per row of a batch, diabetes130 (48 columns) costs 7.0 times Adult
    by this count and took 7.5 times as long (``benchmarks/dpsgd_step_profile.py``, see
    ``benchmarks/results/dpsgd_wide/README.md``). The ``d²`` table indices of a row also cost
    :data:`INDEX_WORK` each whatever the width (the embedding backward sorts them), which
    dominates once the width is small. The per-step work on the parameters, which does not
    grow with the batch, is :data:`PARAM_WORK` times :func:`parameter_count`. Only public
    quantities enter: the domain sizes (public metadata or an already released DP domain)
    and the width."""
    d = len(sizes)
    return width * (d * d + sum(int(s) for s in sizes)) + INDEX_WORK * d * d


def parameter_count(sizes: Sequence[int], width: int) -> int:
    """Parameters of :class:`~.model.AutoregressiveNet` without residual blocks: per head one
    embedding row per code and hidden code of every column, a bias, and the output layer."""
    d, codes = len(sizes), sum(int(s) for s in sizes)
    return width * (d * (codes + d) + d + codes) + codes


def default_dp_width(sizes: Sequence[int]) -> int:
    """The width of a DP fit: :data:`DP_WIDTH`, halved while the network would have more than
    :data:`MAX_DP_PARAMS` parameters, but not below :data:`MIN_DP_WIDTH`.

    Why shrink wide tables: each head holds an embedding row for every code of every column,
    so the parameters grow as ``d · Σ sizes · width`` (8.7 M on diabetes130 at width 64, 16
    times Adult). Every DP-SGD step pays for all of them - two backward passes under ghost
    clipping, a dense embedding gradient, Gaussian noise on each coordinate, Adam - and the
    noise vector's norm grows with their square root while the clipped signal does not.
    Only public quantities enter: the domain sizes (declared or already released under DP).
    """
    width = DP_WIDTH
    while width > MIN_DP_WIDTH and parameter_count(sizes, width) > MAX_DP_PARAMS:
        width //= 2
    return width


def default_dp_schedule(
    n_rows: int,
    epochs: int | None,
    batch_size: int | None,
    sizes: Sequence[int] = (),
    width: int = DP_WIDTH,
) -> tuple[int, int]:
    """Epochs and expected batch size for those left ``None``, for a released row count.

    Compute: a fixed number of row passes, :data:`DP_STEPS` expected batches of a fifth of the
    table (at most :data:`MAX_DP_BATCH` rows), keeps the cost of large tables bounded. Wide
    tables: a step costs ``batch ·`` :func:`row_cost` (quadratic in the columns) plus
    :data:`PARAM_WORK` per parameter (:func:`parameter_count`), so with ``sizes`` given that
    batch is also capped to keep a step within :data:`STEP_WORK` (but not below
    :data:`MIN_DP_BATCH`): diabetes130 (48 columns, about 550 codes after the released
    compression, width 64) gets about 1,700 rows where a fifth would be 8,192.

    Batches: the noise added to a step's summed gradient does not grow with the batch, so its
    share of the average gradient falls as ``1 / batch``, while the σ needed for the same
    (ε, δ) grows more slowly with the sampling rate: at the same 200 steps, larger batches win
    (Adult at ε = 3, 2048 / 4096 / 8192 rows: 2-way accuracy 0.936 / 0.937 / 0.946,
    ``benchmarks/autoregressive/results.md``). At the same row passes, though, twice the
    steps at half the batch win: the expected batch is :data:`DP_BATCH_RATE` of the rows (not
    below :data:`MIN_DP_BATCH`, nor above the capped fifth) and the steps grow so that
    ``steps · batch`` stays (Taiwan credit at ε = 3: 3-way score 733.5 / 730.9 against
    718.9 / 716.9 for two noise draws; Adult about neutral;
    ``benchmarks/results/dpsgd_schedule``).
    Tables whose capped fifth is already at most that keep 200 steps: diabetes130, tables of
    more than 81,920 rows, and tables of at most 1,280 rows (a fifth of at most 256); tables
    of 1,281-2,559 rows get 256-row batches and 200-400 steps. A batch size the user sets
    keeps 200 steps (even the default's value); epochs alone get the tenth. The extra steps
    cost their per-step parameter work: about +5 % on Adult, up to +25 % on tables of a few
    thousand rows. Inputs are public or released: the noisy row count, the domain sizes and
    the width.
    """
    steps = float(DP_STEPS)
    if batch_size is None:
        fifth = max(1, min(MAX_DP_BATCH, math.ceil(n_rows * DP_SAMPLE_RATE)))
        if sizes:
            left = STEP_WORK - PARAM_WORK * parameter_count(sizes, width)
            fifth = min(fifth, max(MIN_DP_BATCH, left // row_cost(sizes, width)))
        batch_size = min(fifth, max(MIN_DP_BATCH, math.ceil(n_rows * DP_BATCH_RATE)))
        steps = DP_STEPS * fifth / batch_size  # the capped fifth's row passes
    if epochs is None:
        epochs = max(1, round(steps / max(math.ceil(n_rows / batch_size), 1)))
    return epochs, batch_size


def plan_sgd(ledger: PrivacyLedger, n_rows: int, batch_size: int, epochs: int) -> SGDPlan:
    """The smallest σ for which ``epochs`` of Poisson-sampled steps fit in what the ledger has
    left, with the Poisson rate ``1 / ceil(n_rows / batch_size)`` and the batches per epoch and
    accounted rate exactly as opacus derives them from the loader (see :class:`SGDPlan`)."""
    poisson_rate = 1.0 / max(math.ceil(n_rows / batch_size), 1)
    steps_per_epoch = int(1 / poisson_rate)  # opacus' UniformWithReplacementSampler.__len__
    sample_rate = 1.0 / steps_per_epoch
    steps = epochs * steps_per_epoch
    orders = np.asarray(ledger.orders)
    spent = orders * ledger.spent_rho
    for entry in ledger.entries:
        if entry.rdp is not None:
            spent = spent + np.asarray(entry.rdp)
    sigma = calibrate_sigma(
        sample_rate,
        steps,
        ledger.epsilon,
        ledger.conversion_delta,
        tuple(orders[::CALIBRATION_STRIDE]),
        tuple(spent[::CALIBRATION_STRIDE]),
    )
    curve = rdp_curve(sample_rate, sigma, steps, orders)
    return SGDPlan(sample_rate, steps, sigma, tuple(float(v) for v in curve), poisson_rate)


@functools.lru_cache(maxsize=64)
def calibrate_sigma(
    sample_rate: float,
    steps: int,
    epsilon: float,
    delta: float,
    orders: tuple[float, ...],
    spent: tuple[float, ...],
) -> float:
    """Smallest σ (to :data:`SIGMA_TOLERANCE`) with ``spent + RDP(σ)`` worth at most ``epsilon``
    at ``delta`` on ``orders``; raises :class:`BudgetError` if even σ = 1000 is not enough."""

    def fits(sigma: float) -> bool:
        curve = rdp_curve(sample_rate, sigma, steps, np.asarray(orders))
        eps, _ = epsilon_from_rdp(orders, np.asarray(spent) + curve, delta)
        return eps <= epsilon

    low, high = 0.1, 1000.0
    if not fits(high):
        raise BudgetError(
            f"DP-SGD with {steps} steps at sampling rate {sample_rate:.3g} does not fit in the "
            f"budget left (ε = {epsilon:g}); raise epsilon or lower epochs"
        )
    while high / low > 1 + SIGMA_TOLERANCE:
        mid = math.sqrt(low * high)
        low, high = (low, mid) if fits(mid) else (mid, high)
    return high


def ledger_entry(plan: SGDPlan, config: DPTrainConfig, noise: NoiseSource) -> LedgerEntry:
    """The one ledger entry of the training run; its purpose carries the parameters a reader
    of ``explain()`` needs (the ledger prints purposes, not params)."""
    purpose = (
        f"DP-SGD training of the autoregressive network: Poisson sampling rate "
        f"q = {plan.sample_rate:.4g}, {plan.steps} steps, noise multiplier "
        f"σ = {plan.noise_multiplier:.4g}, clipping norm C = {config.max_grad_norm:g}"
    )
    return LedgerEntry(
        mechanism="dp_sgd",
        purpose=purpose,
        phase=PHASE,
        rdp=plan.rdp,
        params={
            "sample_rate": plan.sample_rate,
            "steps": plan.steps,
            "noise_multiplier": plan.noise_multiplier,
            "max_grad_norm": config.max_grad_norm,
            "expected_batch_size": config.batch_size,
            "epochs": config.epochs,
            "accountant": "RDP of the Poisson-sampled Gaussian (opacus compute_rdp)",
        },
        seeded_noise=not noise.is_secure,
    )


# -- training ----------------------------------------------------------------------------------


class CodesDataset(Dataset):
    """The code matrix; ``__getitems__`` returns a whole batch in one indexing operation."""

    def __init__(self, codes: torch.Tensor):
        self.codes = codes

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, index: int) -> tuple[torch.Tensor]:
        return (self.codes[index],)

    def __getitems__(self, indices: list[int]) -> torch.Tensor:
        return self.codes[torch.as_tensor(indices, dtype=torch.int64)]


def as_batch(rows: torch.Tensor) -> tuple[torch.Tensor]:
    """Collate function: :meth:`CodesDataset.__getitems__` already built the batch."""
    return (rows,)


class ColumnNLL(nn.Module):
    """Per-row negative log-likelihood with a ``reduction``, as opacus' ghost clipping needs."""

    def __init__(self, sizes: tuple[int, ...]):
        super().__init__()
        self.sizes = sizes
        self.reduction = "mean"

    def forward(self, logits: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        per_row = column_nll(logits, codes, self.sizes)
        if self.reduction == "none":
            return per_row
        return per_row.sum() if self.reduction == "sum" else per_row.mean()


def torch_generator(noise: NoiseSource) -> torch.Generator:
    """A torch generator seeded with 64 bits drawn from ``noise`` (see module docstring)."""
    high, low = (int(u * 2**32) for u in noise.uniform(2))
    return torch.Generator().manual_seed((high << 32) | low)


def train_private(
    codes: np.ndarray,
    sizes: tuple[int, ...],
    config: DPTrainConfig,
    ledger: PrivacyLedger,
    noise: NoiseSource,
    seed: int | None,
    progress: bool,
    rows: int,
) -> tuple[AutoregressiveNet, SGDPlan]:
    """Spend the rest of the ledger on DP-SGD and return the trained network and its plan.

    ``rows`` is the released row count (:func:`released_support`): the plan and opacus'
    divisor of the noisy gradient sum are derived from it, never from ``len(codes)``.
    """
    plan = plan_sgd(ledger, rows, config.batch_size, config.epochs)
    ledger.record(ledger_entry(plan, config, noise))
    model_rng = torch.Generator()
    if seed is None:
        model_rng.seed()
    else:
        model_rng.manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(2**62, (1,), generator=model_rng)))
        net = AutoregressiveNet(sizes, config.width, config.blocks)
    engine, model, optimizer, criterion, loader = make_private(
        net, codes, config, plan, noise, expected_batch=max(1, round(rows * plan.sample_rate))
    )
    average = IterateAverage(net.parameters(), plan.steps)  # post-processing, see averaging
    bar = progress_bar(plan.steps, progress, unit="step")
    with warnings.catch_warnings(), _quiet_empty_batches():
        # The input of the first layer is integer codes, which need no gradient; torch says so.
        warnings.filterwarnings("ignore", message="Full backward hook is firing")
        for _ in range(config.epochs):
            for (batch,) in loader:
                rank = batch_ranks(config.order, len(batch), len(sizes), model_rng)
                loss = criterion(model(batch, rank), batch)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
                average.update()
                bar.update()
    bar.close()
    _check_accountant(engine, plan)
    net = model.to_standard_module()
    average.copy_to()
    net.eval()
    return net, plan


@contextlib.contextmanager
def _quiet_empty_batches() -> Iterator[None]:
    """Hold back opacus' warning that the first Poisson batch is empty. An empty batch is a
    noise-only step, accounted like any other; but whether the first one is empty depends on
    the row count (chance ``(1 - q)^n``), so printing it would release one uncharged bit."""
    log = logging.getLogger("opacus.data_loader")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def make_private(
    net: AutoregressiveNet,
    codes: np.ndarray,
    config: DPTrainConfig,
    plan: SGDPlan,
    noise: NoiseSource,
    expected_batch: int,
) -> tuple[PrivacyEngine, nn.Module, torch.optim.Optimizer, nn.Module, DataLoader]:
    """opacus' engine, wrapped model, DP optimizer, ghost-clipping criterion and Poisson
    loader for ``plan``; refuses to return a loader that does not sample as accounted.

    The Poisson loader is built here at the planned rate rather than by ``make_private``,
    which would derive the rate from ``len(dataset)``; likewise the optimizer divides the
    noisy gradient sum by ``expected_batch`` (from the released row count), where opacus
    would use ``int(len(dataset) * q)``.
    """
    loader = DPDataLoader(
        CodesDataset(torch.from_numpy(np.ascontiguousarray(codes, dtype=np.int64))),
        sample_rate=plan.poisson_rate,
        collate_fn=as_batch,
        generator=torch_generator(noise),
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Secure RNG turned off")
        engine = PrivacyEngine(accountant="rdp")
    model, optimizer, criterion, loader = engine.make_private(
        module=net,
        optimizer=torch.optim.Adam(net.parameters(), lr=config.learning_rate),
        criterion=ColumnNLL(tuple(net.sizes)),
        data_loader=loader,
        noise_multiplier=plan.noise_multiplier,
        max_grad_norm=config.max_grad_norm,
        poisson_sampling=False,  # the loader above already samples by Poisson
        grad_sample_mode="ghost",
        noise_generator=torch_generator(noise),
    )
    model.forbid_grad_accumulation()  # what make_private does with poisson_sampling=True
    optimizer.expected_batch_size = expected_batch
    _check_loader(loader, plan)
    return engine, model, optimizer, criterion, loader


def _check_loader(loader: DataLoader, plan: SGDPlan) -> None:
    if not isinstance(loader, DPDataLoader) or not isinstance(
        loader.batch_sampler, UniformWithReplacementSampler
    ):
        raise PrivacyError("opacus did not install Poisson sampling; refusing to train")
    if not math.isclose(loader.sample_rate, plan.poisson_rate, rel_tol=1e-12):
        raise PrivacyError(
            f"opacus samples at rate {loader.sample_rate} but {plan.poisson_rate} was planned"
        )
    batches = len(loader)
    if not math.isclose(batches * plan.sample_rate, 1.0):
        raise PrivacyError(
            f"opacus runs {batches} batches an epoch but the ledger accounts rate "
            f"{plan.sample_rate}"
        )


def _check_accountant(engine: PrivacyEngine, plan: SGDPlan) -> None:
    """opacus counted every step; they must be exactly the accounted ones."""
    history = engine.accountant.history
    steps = sum(count for _, _, count in history)
    same = all(
        math.isclose(sigma, plan.noise_multiplier) and math.isclose(rate, plan.sample_rate)
        for sigma, rate, _ in history
    )
    if steps != plan.steps or not same:
        raise PrivacyError(
            f"opacus recorded {steps} steps ({history}) but the ledger accounted {plan.steps} "
            f"at σ = {plan.noise_multiplier}, q = {plan.sample_rate}"
        )
