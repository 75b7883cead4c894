"""The worst-case audit's HTML page: the verdict, the numbers, and the trade-off curve.

The figure is the f-DP picture (Dong, Roth & Su 2022): type I error α (FPR) against type II
error β (1 − TPR). A mechanism keeps its promise when no attack's curve dips below the claim's
curve; the empirical curve of the chosen attack is drawn against the Gaussian curve of the
claim (``G_μ`` for the μ whose GDP guarantee is exactly the claimed (ε, δ)), the (ε, δ)
curve itself, and ``G_μlb``, the curve the audit proved the release cannot stay above. Drawn
on a bare Agg canvas like the report's figures (:mod:`tabsynth.evaluation.plots`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from tabsynth.evaluation import fdp
from tabsynth.evaluation.audit import html_page, html_row
from tabsynth.evaluation.plots import REAL_COLOR, REF_COLOR, SYNTH_COLOR, to_data_uri

if TYPE_CHECKING:
    from tabsynth.evaluation.audit_worstcase import WorstCaseAuditResult


def trade_off_plot(r: Mapping[str, Any]) -> str:
    """PNG data URI of the attack's empirical trade-off curve against the claim's curves,
    from a worst-case audit's ``to_dict()`` (so a report can redraw it from its JSON)."""
    alpha = np.linspace(0.0, 1.0, 401)
    fig = Figure(figsize=(4.6, 4.2))
    ax = fig.add_subplot()
    ax.plot(alpha, 1 - alpha, color=REF_COLOR, linestyle=":", linewidth=1, label="no leakage")
    eps, delta, mu_claim = r.get("claimed_epsilon"), r.get("claimed_delta"), r.get("mu_claimed")
    if eps is not None and delta is not None:
        ax.plot(
            alpha,
            fdp.dp_trade_off(eps, delta, alpha),
            color=REF_COLOR,
            linestyle="--",
            linewidth=1,
            label=f"claim (ε={eps:g}, δ={delta:g})",
        )
    if mu_claim is not None:
        ax.plot(
            alpha,
            fdp.gaussian_trade_off(mu_claim, alpha),
            color=REAL_COLOR,
            linewidth=1.5,
            label=f"claim as GDP (μ={mu_claim:.3f})",
        )
    ax.plot(
        alpha,
        fdp.gaussian_trade_off(r["mu_lower"], alpha),
        color=SYNTH_COLOR,
        linestyle="--",
        linewidth=1.2,
        label=f"proved: μ ≥ {r['mu_lower']:.3f}",
    )
    roc = r.get("roc") or {}
    fpr, tpr = np.asarray(roc.get("fpr", []), float), np.asarray(roc.get("tpr", []), float)
    ax.plot(fpr, 1 - tpr, color=SYNTH_COLOR, linewidth=1.5, label=f"attack {r['attack']!r}")
    ax.plot([r["fpr_upper"]], [1 - r["tpr_lower"]], "o", color=SYNTH_COLOR, markersize=4)
    ax.set_xlabel("type I error α (FPR)")
    ax.set_ylabel("type II error β (1 − TPR)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Trade-off curve: attack vs claim", fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="upper right")
    return to_data_uri(fig)


def audit_section(d: Mapping[str, Any]) -> str:
    """The audit as a fragment of the report's privacy section, from its ``to_dict()``:
    verdict and reason, the bound against the claim, and for a worst-case audit the
    trade-off curve."""
    verdict = str(d.get("verdict", "inconclusive"))
    worst = d.get("mode") == "worst-case"
    claim = d.get("claimed_epsilon")
    bound = d.get("empirical_epsilon_lower")
    lines = [
        f"<h3>Privacy audit ({'worst case, white box' if worst else 'realistic'})</h3>",
        f"<p><b class='{html.escape(verdict)}'>{html.escape(verdict.upper())}</b>: "
        f"{html.escape(str(d.get('reason', '')))}</p>",
        "<p class='ts-meta'>Empirical ε lower bound "
        f"{'-' if bound is None else f'{bound:.3f}'} against the claimed "
        f"{'none' if claim is None else f'{claim:g}'}; the largest ε the trials could certify: "
        f"{d.get('max_measurable_epsilon', 0.0):.2f}.</p>",
    ]
    if worst and d.get("mu_lower") is not None:
        lines.append(f"<img alt='trade-off curve of the audit' src='{trade_off_plot(d)}'>")
    return "".join(lines)


def worst_case_page(r: WorstCaseAuditResult) -> str:
    """The standalone page (inline CSS and image, no scripts)."""

    row = html_row

    def num(x: float | None, digits: int = 3) -> str:
        return "-" if x is None else f"{x:.{digits}f}"

    claim = "none (non-private)" if r.claimed_epsilon is None else f"{r.claimed_epsilon:g}"
    summary = "".join(
        [
            row("empirical ε lower bound", num(r.empirical_epsilon_lower)),
            row("claimed ε", claim),
            row("claimed δ", "-" if r.claimed_delta is None else f"{r.claimed_delta:g}"),
            row("bound / claim", num(r.ratio, 2)),
            row("μ lower bound (GDP)", num(r.mu_lower)),
            row("ε from the μ bound at the claimed δ", num(r.epsilon_lower_gdp)),
            row("ε from the (ε, δ) inequalities (no assumption)", num(r.epsilon_lower_dp)),
            row(
                "μ of the claim / of the released measurements",
                f"{num(r.mu_claimed)} / {num(r.mu_release)}",
            ),
            row("attack (threshold)", f"{r.attack} ({r.threshold:.4g})"),
            row("TPR ≥ / FPR ≤", f"{r.tpr_lower:.4f} / {r.fpr_upper:.4f}"),
            row("confidence", f"{r.confidence:.0%}"),
            row("largest ε these trials could certify", num(r.max_measurable_epsilon, 2)),
            row("trials (calibration)", f"{r.trials} ({r.calibration_trials})"),
            row("runtime", f"{r.elapsed_seconds:.1f} s"),
        ]
    )
    attacks = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{mu:.3f}</td></tr>" for name, mu in r.attacks.items()
    )
    body = (
        f"<img alt='trade-off curve' src='{trade_off_plot(r.to_dict())}'>"
        "<h2>Attacks (μ bound each promised on the calibration trials)</h2>"
        f"<table><tr><th>attack</th><th>promised μ bound</th></tr>{attacks}</table>"
    )
    return html_page("Worst-case privacy audit", r.verdict, r.reason, summary, body, r.notes)
