"""Worst-case, white-box audit of DP-SGD: the target's gradient read off every noisy step.

The worst-case game of :mod:`tabsynth.evaluation.audit_worstcase` fits the DP autoregressive
synthesizer many times on crafted neighbours ``D`` and ``D ∪ {target}``. This module is its
white-box attack on DP-SGD (:mod:`tabsynth.synthesizers.autoregressive.dp`), after the
gradient-canary audits of Nasr et al. (2021, 2023): an adversary who sees every privatized
step can test the Gaussian mechanism of each step directly.

What a step releases. opacus clips every sampled row's gradient to norm ``C``, adds
``N(0, σ²C² I)`` to their sum and divides by the expected batch ``B``; the optimizer (Adam)
then moves the weights. The DP guarantee covers the whole sequence of these noisy gradients,
so reading them is a valid (and the strongest) observer of the claim; the weights are
post-processing of them. :class:`GradientCanary` reads each noisy gradient ``p.grad`` from a
global step pre-hook on the wrapped optimizer (torch's
``register_optimizer_step_pre_hook``), never opacus' un-noised sum, and changes nothing.

The test. At step ``t`` the attacker knows the weights (post-processing of earlier steps), so
it computes the target's clipped gradient ``c_t u_t`` (``u_t`` a unit vector, ``c_t ≤ C``) and
the background rows' clipped gradients. It projects ``B · p.grad`` minus the background's
(expected) contribution on ``u_t``: ``x_t = N(0, σ²C²)`` OUT, ``c_t + N(0, σ²C²)`` IN when every
row is in every batch. The Neyman-Pearson test of ``T`` independent Gaussian shifts thresholds
``Σ c_t x_t / (σC sqrt(Σ c_t²))``: N(0, 1) OUT, N(μ, 1) IN with ``μ = sqrt(Σ c_t²)/(σC)``, at
most ``sqrt(T)/σ``, which is exactly the mechanism's Gaussian DP. The audit can then come as
close to the claim as MST's (its ceiling is the RDP-to-(ε, δ) conversion of the accounting).

Worst case for the schedule, not only the data (:data:`WORST_CASE_PARAMS`): a public row
count and an expected batch at least as large, so every row is in every batch (Poisson rate
q = 1: the attacker knows the background's contribution exactly, and sampling gives no
privacy amplification); a small clipping norm, so the target's gradient is always clipped to
exactly ``C``; the table's own column order (the attacker reproduces the training loss); a
few steps, so each fit takes tens of milliseconds. With other schedules the statistic stays
valid (its OUT distribution does not depend on them) but is weaker: with q < 1 the attacker
subtracts only the background's expected contribution and the target is in a step only with
probability q.

A second score, ``likelihood``, reads the released network only: its log-likelihood of the
target. It is far weaker on an honest fit, but it sees a release that is not the privatized
model (the audit prefers ``gradient`` unless another attack clearly beats it).

Not covered: the 1-way marginals the synthesizer releases first (3 % of its budget) are not
attacked, which leaves the μ of the whole release about 1.5 % above what this test can reach.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from opacus.optimizers import DPOptimizer
from torch.optim.optimizer import register_optimizer_step_pre_hook

from tabsynth.errors import ParameterError
from tabsynth.evaluation.audit_worstcase import Neighbours
from tabsynth.synthesizers.autoregressive import AutoregressiveSynthesizer
from tabsynth.synthesizers.autoregressive.model import AutoregressiveNet, column_nll
from tabsynth.synthesizers.base import Synthesizer

#: Name of the attack in the audit's results.
ATTACK = "gradient"
#: The worst-case DP-SGD schedule on :func:`~tabsynth.evaluation.audit_worstcase.
#: crafted_neighbours` (5 rows with the target; module docstring): every row in each of 4
#: steps, the target's gradient always clipped, a tiny network for fast fits.
WORST_CASE_PARAMS: dict[str, Any] = {
    "epochs": 4,
    "batch_size": 8,
    "public_rows": 5,
    "order": "fixed",
    "width": 8,
    "max_grad_norm": 0.01,
    "progress": False,  # one bar for the audit, not one per fit
}
#: opacus' clipping factor is ``min(1, C / (norm + NORM_EPS))``.
NORM_EPS = 1e-6


def worst_case_params(synthesizer: str) -> dict[str, Any]:
    """Defaults of the worst-case game for a registered synthesizer name (the CLI's
    ``--param`` values override them): :data:`WORST_CASE_PARAMS` for ``"autoregressive"``."""
    return dict(WORST_CASE_PARAMS) if synthesizer == AutoregressiveSynthesizer.name else {}


@dataclass(frozen=True)
class Step:
    """One DP-SGD step seen on the target's direction ``u``: the noisy averaged gradient
    ``<p.grad, u>``, the background's clipped sum ``<Σ clip(g_i), u>`` and ``|clip(g_target)|``."""

    noisy: float
    background: float
    signal: float


class GradientCanary:
    """The white-box DP-SGD attack of the module docstring, for one game.

    Built from a fitted probe (its encoder, schedule and clipping norm; the domain is public,
    so every fit of the audit encodes rows alike). The network's shape is read off each
    watched fit instead: a DP fit merges the rare codes of columns with more than 128 codes
    from its own noisy 1-way marginals (:mod:`~tabsynth.synthesizers.autoregressive.
    compression`), so two fits of one audit may train networks of different shapes.
    :meth:`watch` records the steps of one fit, :meth:`scores` turns them into the test
    statistic.
    """

    primary = ATTACK
    mu_formula = "sqrt(steps)/σ of the noisy gradient steps (every row in every batch)"

    def __init__(self, fitted: AutoregressiveSynthesizer, game: Neighbours):
        encoder = fitted.encoder_
        self._target = encoder.encode(game.target)
        self._background = encoder.encode(game.background)
        self._sizes = tuple(encoder.sizes[name] for name in encoder.columns)
        self._max_grad_norm = float(fitted.max_grad_norm)
        self.notes: list[str] = []
        rate = _plan(fitted)["sample_rate"]
        if rate < 1.0:
            self.notes.append(
                f"The schedule samples rows at rate q = {rate:.3g}: the attacker does not know "
                "which rows each step used, so the test is valid but weaker. The worst case "
                "puts every row in every step (audit_dpsgd.WORST_CASE_PARAMS)."
            )
        if fitted.order != "fixed":
            self.notes.append(
                f"The synthesizer trains with order={fitted.order!r}: the attack assumes the "
                "table's column order, so it sees only part of the target's gradient (valid, "
                "weaker). order='fixed' is the worst case."
            )

    @contextmanager
    def watch(self, synth: Synthesizer) -> Iterator[list[Step]]:
        """Record every DP-SGD step of ``synth``'s fit, run inside; one thread, as one fit per
        process is what the audit runs (a second thread only waits)."""
        steps: list[Step] = []
        fit: list[_WatchedFit] = []  # built at the first step: the fit's compression is known
        threads = torch.get_num_threads()
        torch.set_num_threads(1)

        def hook(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
            if isinstance(optimizer, DPOptimizer):
                return  # the wrapper: its gradients are not noised yet
            params = [p for group in optimizer.param_groups for p in group["params"]]
            if not fit:
                fit.append(self._watched(synth, params))
            steps.append(fit[0].step(params))

        handle = register_optimizer_step_pre_hook(hook)
        try:
            yield steps
        finally:
            handle.remove()
            torch.set_num_threads(threads)

    def _watched(self, synth: Synthesizer, params: list[torch.Tensor]) -> _WatchedFit:
        """The attacker's copy of the network ``synth`` trains, and the game's rows on its
        codes, from ``synth``'s compression (set before training starts)."""
        compression = getattr(synth, "compression_", None)
        if compression is None:
            raise ParameterError(
                "the DP-SGD audit watched a training run before the synthesizer passed to "
                "watch() had started its fit; fit that synthesizer inside watch()"
            )
        net = _network_like(compression.sizes(self._sizes), params)
        rows, counts = np.unique(compression.compress(self._background), axis=0, return_counts=True)
        return _WatchedFit(
            net,
            torch.from_numpy(compression.compress(self._target).astype(np.int64))[0],
            torch.from_numpy(rows.astype(np.int64)),
            counts.tolist(),
            self._max_grad_norm,
        )

    def scores(self, synth: Synthesizer, steps: list[Step]) -> dict[str, float]:
        """The statistic of the module docstring: N(0, 1) when the target was out."""
        plan = _plan(synth)
        if len(steps) != plan["steps"]:
            raise ParameterError(
                f"the DP-SGD audit saw {len(steps)} steps but the ledger accounts "
                f"{plan['steps']}; fit one synthesizer at a time inside watch()"
            )
        rate, scale = plan["sample_rate"], plan["noise_multiplier"] * plan["max_grad_norm"]
        batch = max(1, round(synth.history_["rows"] * rate))  # type: ignore[attr-defined]
        c = np.array([s.signal for s in steps])
        x = np.array([batch * s.noisy - rate * s.background for s in steps])
        norm = math.sqrt(float(c @ c))
        return {
            ATTACK: float(c @ x) / (scale * norm) if norm > 0 else 0.0,
            "likelihood": self._log_likelihood(synth),
        }

    def _log_likelihood(self, synth: Synthesizer) -> float:
        """The released network's log-likelihood of the target (table column order): a test
        of the final model itself, which catches a release that is not the privatized one.
        A code the noisy 1-way marginals ruled out has likelihood 0: clipped to -1e6."""
        net: AutoregressiveNet = synth.net_  # type: ignore[attr-defined]
        compression = synth.compression_  # type: ignore[attr-defined]
        codes = torch.from_numpy(compression.compress(self._target).astype(np.int64))
        rank = torch.arange(codes.shape[1]).view(1, -1)
        with torch.no_grad():
            nll = float(column_nll(net(codes, rank), codes, net.sizes)[0])
        return -min(nll, 1e6)

    def mu_release(self, synth: Synthesizer) -> float | None:
        """``sqrt(steps)/σ`` when every row is in every batch (the mechanism's Gaussian DP,
        the most any test can show); ``None`` under subsampling."""
        plan = _plan(synth)
        if plan["sample_rate"] < 1.0:
            return None
        return math.sqrt(plan["steps"]) / plan["noise_multiplier"]


@dataclass(frozen=True)
class _WatchedFit:
    """The attacker's view of one fit: a copy of its network (weights refreshed at every
    step) and the game's rows on its codes (the background's distinct rows and counts)."""

    net: AutoregressiveNet
    target: torch.Tensor
    background: torch.Tensor
    counts: list[int]
    max_grad_norm: float

    def step(self, params: list[torch.Tensor]) -> Step:
        """What one noisy step shows on the direction of the target's clipped gradient."""
        if any(p.grad is None for p in params):
            raise ParameterError(_FOREIGN)
        with torch.no_grad():
            for mine, theirs in zip(self.net.parameters(), params, strict=True):
                mine.copy_(theirs)
        target = self.clipped(self.target)
        signal = float(target.norm())
        if signal == 0.0:
            return Step(0.0, 0.0, 0.0)
        u = target / signal
        background = sum(
            (n * self.clipped(row) for row, n in zip(self.background, self.counts, strict=True)),
            start=torch.zeros_like(u),
        )
        noisy = torch.cat([p.grad.reshape(-1) for p in params])
        return Step(float(noisy @ u), float(background @ u), signal)

    def clipped(self, row: torch.Tensor) -> torch.Tensor:
        """One row's training-loss gradient (table column order), clipped as opacus does."""
        codes = row.view(1, -1)
        rank = torch.arange(codes.shape[1]).view(1, -1)
        with torch.enable_grad():
            loss = column_nll(self.net(codes, rank), codes, self.net.sizes).sum()
            grads = torch.autograd.grad(loss, list(self.net.parameters()))
        flat = torch.cat([g.reshape(-1) for g in grads])
        factor = min(1.0, self.max_grad_norm / (float(flat.norm()) + NORM_EPS))
        return flat * factor


_FOREIGN = (
    "the DP-SGD audit watched an optimizer whose parameters are not the network of the "
    "synthesizer passed to watch(); fit that synthesizer, and only it, inside watch()"
)


def _network_like(sizes: tuple[int, ...], params: list[torch.Tensor]) -> AutoregressiveNet:
    """An :class:`AutoregressiveNet` for ``sizes`` (the watched fit's code counts) with the
    width and residual blocks of the trained ``params`` (input table, input bias ``(d,
    width)``, two tensors per block, output weight and bias); refused unless every parameter
    then has the trained one's shape."""
    if len(params) < 4 or len(params) % 2 or params[1].ndim != 2:
        raise ParameterError(_FOREIGN)
    net = AutoregressiveNet(sizes, params[1].shape[1], (len(params) - 4) // 2)
    if [p.shape for p in net.parameters()] != [p.shape for p in params]:
        raise ParameterError(_FOREIGN)
    return net


def _plan(synth: Synthesizer) -> dict[str, Any]:
    """The DP-SGD entry's parameters in the fitted synthesizer's ledger."""
    ledger = synth.privacy
    entries = [e for e in (ledger.entries if ledger else ()) if e.mechanism == "dp_sgd"]
    if len(entries) != 1:
        raise ParameterError("the DP-SGD audit needs a fit with exactly one DP-SGD training run")
    return dict(entries[0].params)


def white_box_for(synth: Synthesizer, game: Neighbours) -> GradientCanary | None:
    """The DP-SGD attack for a fitted DP autoregressive synthesizer, else ``None``."""
    if isinstance(synth, AutoregressiveSynthesizer) and synth.private:
        return GradientCanary(synth, game)
    return None
