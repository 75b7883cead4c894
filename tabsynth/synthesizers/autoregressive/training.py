"""Non-private training: Adam on the column-wise log-likelihood, an average of the iterates
(:mod:`.averaging`), early stopping of that average on held-out rows.

Orders. With ``order="mixed"`` (the default) half of the training rows, drawn at random, use
the table's column order and the other half a fresh random order each. The random half makes
every head learn ``p(x_j | S)`` for any subset ``S`` of the other columns, so sampling can
condition on any given columns exactly by ranking them first (see :mod:`.sampling`); the fixed
half spends the remaining capacity on the order unconditional samples are drawn in. On Adult
the mix had the best held-out likelihood and fidelity close to a fixed order, while random
orders alone lost fidelity (``benchmarks/autoregressive/results.md``).

Reproducibility. All randomness (initialisation, batches, orders) comes from a
``torch.Generator`` seeded with ``seed``; the global torch generator is not touched. torch is
told to use deterministic kernels and a fixed number of threads (2) during the fit, so two fits
with the same seed give the same weights on the same machine and library versions.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from tabsynth.synthesizers.autoregressive.averaging import IterateAverage
from tabsynth.synthesizers.autoregressive.model import AutoregressiveNet, column_nll

#: CPU threads used while fitting; the machines tabsynth targets have at least two cores.
FIT_THREADS = 2
#: Share of rows trained in the table's own column order when ``order="mixed"``.
FIXED_SHARE = 0.5
#: Default schedule: about :data:`STEPS` optimizer steps (at least :data:`MIN_EPOCHS` epochs),
#: batches of at most :data:`MAX_BATCH` rows and at least :data:`MIN_BATCHES` per epoch.
STEPS, MIN_EPOCHS, MAX_BATCH, MIN_BATCHES = 1000, 3, 512, 10


@dataclass(frozen=True)
class TrainConfig:
    """What a non-private fit does; the synthesizer fills it from its parameters."""

    width: int
    blocks: int
    epochs: int
    batch_size: int
    learning_rate: float
    order: str  # "random" or "fixed"
    validation: float  # fraction of rows held out for early stopping (0: none)
    patience: int  # epochs without improvement before stopping


def default_schedule(
    rows: int, validation: float, epochs: int | None, batch_size: int | None
) -> tuple[int, int]:
    """Epochs and batch size for those left ``None``: 512-row batches (smaller for small tables)
    and as many epochs as make about 1,000 steps: 15 on Adult's 39k rows, 7 on diabetes130's 81k.

    A fixed number of steps, not of epochs, because the step size follows a cosine over the
    planned steps: when a large table was given a fixed 15 epochs, held-out likelihood stopped
    improving halfway, at two thirds of the peak step size, and early stopping kept weights
    that missed single columns' shares by up to 7 points (diabetes130: 938.6 k-marginal in
    540 s, against 974.6 in 280 s with 6 epochs; ``benchmarks/results/autoregressive_wide``).
    Small tables get more epochs, held-out rows stopping the fit before it memorises the table.
    """
    train_rows = max(rows - round(validation * rows), 1)
    batch = batch_size or max(min(MAX_BATCH, train_rows // MIN_BATCHES), 1)
    if epochs is None:
        epochs = max(MIN_EPOCHS, math.ceil(STEPS / math.ceil(train_rows / batch)))
    return epochs, batch


@contextlib.contextmanager
def torch_settings() -> Iterator[None]:
    """At most :data:`FIT_THREADS` threads (fewer when the caller has set fewer: the worst-case
    audit runs one fit per process, where a second thread only waits) and deterministic
    kernels for the duration of a fit."""
    old_threads = torch.get_num_threads()
    threads = min(FIT_THREADS, old_threads)
    old_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_deterministic)


def random_ranks(batch: int, columns: int, generator: torch.Generator) -> torch.Tensor:
    """A uniformly random permutation of the columns per row, as ranks ``(batch, columns)``."""
    keys = torch.rand(batch, columns, generator=generator)
    return keys.argsort(dim=1).argsort(dim=1)


def batch_ranks(order: str, batch: int, columns: int, generator: torch.Generator) -> torch.Tensor:
    """Ranks for one training batch: the table's column order, a random order per row, or
    (``"mixed"``) the table's order for a random :data:`FIXED_SHARE` of the rows."""
    fixed = torch.arange(columns).expand(batch, columns)
    if order == "fixed":
        return fixed
    ranks = random_ranks(batch, columns, generator)
    if order == "random":
        return ranks
    keep = torch.rand(batch, 1, generator=generator) < FIXED_SHARE
    return torch.where(keep, fixed, ranks)


def train_network(
    codes: np.ndarray,
    sizes: tuple[int, ...],
    config: TrainConfig,
    seed: int | None,
    progress: bool,
) -> tuple[AutoregressiveNet, dict[str, object]]:
    """Fit the network to ``(n, d)`` codes; returns it (the averaged weights of the best
    validation epoch, or the final average without validation rows) and a history."""
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    data = torch.from_numpy(np.ascontiguousarray(codes, dtype=np.int64))
    train, valid = _split(data, config.validation, generator)
    # One draw of validation orders for the whole fit, so epochs are compared on equal terms.
    valid_rank = batch_ranks(config.order, len(valid), data.shape[1], generator)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
        net = AutoregressiveNet(sizes, config.width, config.blocks)
    planned = config.epochs * math.ceil(len(train) / config.batch_size)
    # fused: one pass over the parameters, not several; on diabetes130 the unfused update of
    # the 17.6 M input weights took 0.22 s of a 0.49 s step (0.02 s fused, one thread)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.learning_rate, fused=True)
    schedule = warmup_cosine(optimizer, planned)
    # the weights kept are an average of the recent iterates (:mod:`.averaging`): it damps the
    # step-to-step noise that otherwise shows as columns off in their 1-way shares
    average = IterateAverage(net.parameters(), planned)
    best, best_state, since_best = math.inf, None, 0
    history: dict[str, list[float]] = {"train_nll": [], "valid_nll": []}
    bar = progress_bar(config.epochs, progress)
    for _ in range(config.epochs):
        train_nll = _epoch(net, train, sizes, config, optimizer, schedule, generator, average)
        history["train_nll"].append(train_nll)
        postfix = {"nll": f"{train_nll:.3f}"}
        if len(valid):
            with average.swapped():
                valid_nll = evaluate_nll(net, valid, valid_rank, sizes)
                if valid_nll < best:
                    best, best_state, since_best = valid_nll, copy.deepcopy(net.state_dict()), 0
                else:
                    since_best += 1
            history["valid_nll"].append(valid_nll)
            postfix["valid"] = f"{valid_nll:.3f}"
        bar.set_postfix(postfix)
        bar.update()
        if since_best >= config.patience:
            break
    bar.close()
    if best_state is not None:
        net.load_state_dict(best_state)
    else:
        average.copy_to()
    net.eval()
    return net, {"epochs_run": len(history["train_nll"]), **history}


def warmup_cosine(
    optimizer: torch.optim.Optimizer, total: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over the first 10 % of the steps, then a cosine decay to 5 % of the step
    size: large steps early, small ones to settle at the end, for any number of steps."""
    warmup = max(round(0.1 * total), 1)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min((step - warmup) / max(total - warmup, 1), 1.0)
        return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _split(
    data: torch.Tensor, fraction: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    held = round(fraction * len(data))
    if held == 0 or held >= len(data):
        return data, data[:0]
    perm = torch.randperm(len(data), generator=generator)
    return data[perm[held:]], data[perm[:held]]


def _epoch(
    net: AutoregressiveNet,
    data: torch.Tensor,
    sizes: tuple[int, ...],
    config: TrainConfig,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    generator: torch.Generator,
    average: IterateAverage,
) -> float:
    net.train()
    total = 0.0
    perm = torch.randperm(len(data), generator=generator)
    for start in range(0, len(data), config.batch_size):
        batch = data[perm[start : start + config.batch_size]]
        rank = batch_ranks(config.order, len(batch), batch.shape[1], generator)
        loss = column_nll(net(batch, rank), batch, sizes).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        average.update()
        total += loss.item() * len(batch)
    return total / len(data)


@torch.no_grad()
def evaluate_nll(
    net: AutoregressiveNet,
    data: torch.Tensor,
    rank: torch.Tensor,
    sizes: tuple[int, ...],
    chunk: int = 8192,
) -> float:
    """Mean negative log-likelihood of ``data`` (nats per row) under the column orders ``rank``."""
    net.eval()
    total = 0.0
    for start in range(0, len(data), chunk):
        part = data[start : start + chunk]
        total += float(column_nll(net(part, rank[start : start + chunk]), part, sizes).sum())
    return total / max(len(data), 1)


def progress_bar(total: int, enabled: bool, unit: str = "epoch") -> tqdm:
    """Progress with an ETA (tqdm estimates it from the epochs or steps done so far)."""
    return tqdm(total=total, desc="autoregressive fit", unit=unit, disable=not enabled)
