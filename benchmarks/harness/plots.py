"""The benchmark's figures (matplotlib, Agg backend: files only, no display needed).

Two per dataset: fidelity against ε (DP methods as lines, non-private ones and the real holdout
as horizontal references, because they have no ε) and fidelity against fit time (what each
point of quality costs). Each figure's footer names the command and the machine, so a copied
PNG still says where it came from.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from benchmarks.harness.results import REFERENCE, summarise

#: (metric, axis label, the column holding what real data reaches on it, its label).
METRICS = (
    ("k_marginal", "k-marginal (1000 = identical 3-way marginals)", "k_marginal_ref",
     "real holdout of the same size"),
    ("tstr_auc", "TSTR ROC AUC", "trtr_auc", "TRTR (trained on real)"),
)  # fmt: skip


def write_plots(out: Path, frame: pd.DataFrame, meta: dict[str, Any]) -> list[Path]:
    """Both figures for every dataset with finished runs; returns the files written."""
    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    footer = _footer(meta)
    written = []
    for dataset, part in frame.groupby("dataset", sort=False):
        done = part[part.status.isin(["ok", "reference"])]
        if done.empty:
            continue
        table = summarise(done)
        for name, draw in FIGURES:
            fig = draw(table, str(dataset))
            fig.text(0.01, 0.005, footer, fontsize=6, va="bottom", family="monospace")
            path = plots / f"{dataset}_{name}.png"
            fig.savefig(path, dpi=110)
            plt.close(fig)
            written.append(path)
    return written


def _vs_epsilon(table: pd.DataFrame, dataset: str) -> plt.Figure:
    fig, axes = plt.subplots(1, len(METRICS), figsize=(13, 5.2))
    fig.subplots_adjust(bottom=0.18, right=0.8, wspace=0.3)
    colors = _colors(table)
    runs_only = table[table.method != REFERENCE]
    private = runs_only[runs_only.private.astype(bool) & runs_only.epsilon.notna()]
    flat = runs_only[runs_only.epsilon.isna()]
    for ax, (metric, label, ref, ref_label) in zip(axes, METRICS, strict=True):
        for method, runs in private.groupby("method", sort=False):
            runs = runs.sort_values("epsilon")
            ax.plot(runs.epsilon, runs[metric], marker="o", label=method, color=colors[method])
        for _, row in flat.iterrows():
            if not pd.isna(row[metric]):
                ax.axhline(row[metric], ls="--", lw=1, label=row.method, color=colors[row.method])
        if runs_only[ref].notna().any():
            ax.axhline(runs_only[ref].mean(), color="black", ls=":", lw=1.2, label=ref_label)
        ax.set_xscale("log")
        ax.set_xlabel("ε (log scale); dashed: non-private methods")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle(f"{dataset}: fidelity against the privacy budget")
    return fig


def _vs_time(table: pd.DataFrame, dataset: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(10, 6))
    fig.subplots_adjust(bottom=0.2)
    timed = table[table.fit_s.notna() & table.k_marginal.notna()]
    for library, runs in timed.groupby("library", sort=False):
        ax.scatter(runs.fit_s, runs.k_marginal, label=library, s=30, marker=_marker(runs))
        for _, row in runs.iterrows():
            eps = "" if pd.isna(row.epsilon) else f" ε={row.epsilon:g}"
            ax.annotate(
                f"{row.method}{eps}",
                (row.fit_s, row.k_marginal),
                fontsize=6,
                xytext=(3, 3),
                textcoords="offset points",
            )
    if timed.k_marginal_ref.notna().any():
        ax.axhline(
            timed.k_marginal_ref.mean(),
            color="black",
            ls=":",
            lw=1.2,
            label="real holdout of the same size",
        )
    ax.set_xscale("log")
    ax.set_xlabel("fit time, seconds (log scale)")
    ax.set_ylabel(METRICS[0][1])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"{dataset}: fidelity against fit time")
    return fig


FIGURES = (("fidelity_vs_epsilon", _vs_epsilon), ("fidelity_vs_fit_time", _vs_time))


def _colors(table: pd.DataFrame) -> dict[str, Any]:
    """One colour per method, the same in every panel (tab20: up to 20 distinct)."""
    cmap = plt.get_cmap("tab20")
    return {m: cmap(i % 20) for i, m in enumerate(dict.fromkeys(table.method))}


def _marker(runs: pd.DataFrame) -> str:
    return "o" if runs.library.iloc[0] == "tabsynth" else "s"


def _footer(meta: dict[str, Any]) -> str:
    m = meta["machine"]
    where = f"machine: {m['cores']} cores, {m['ram_gib']} GiB, {m['cpu']}"
    commands = "; ".join(meta["commands"])
    return "\n".join(textwrap.wrap(f"{commands} | {where}", 180)[:3])
