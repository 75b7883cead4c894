"""The report's figures, as inline PNG data URIs.

Figures are drawn on matplotlib's Agg canvas directly (``Figure`` + ``FigureCanvasAgg``, no
``pyplot``), so making a report never changes the caller's matplotlib backend or global state,
and works on a server without a display. Every function takes plain report data (lists and
dicts from the JSON), so an HTML report can be redrawn from its JSON alone.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

REAL_COLOR = "#3b5b92"
SYNTH_COLOR = "#e07b39"
REF_COLOR = "#8c8c8c"
DPI = 90
#: Categories shown per marginal plot; the rarest are summed into one bar. Numeric bins are
#: always all shown, in order (there are only about as many as the report's bins).
MAX_BARS = 20


def to_data_uri(fig: Figure) -> str:
    """PNG bytes of ``fig`` as a ``data:image/png;base64,...`` URI."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def marginal_plot(column: Mapping[str, Any]) -> str:
    """Real vs synthetic frequencies of one column's bins or categories."""
    marginal = column["marginal"]
    labels = list(marginal["labels"])
    real = np.asarray(marginal["real"], dtype=float)
    synth = np.asarray(marginal["synthetic"], dtype=float)
    used = (real > 0) | (synth > 0)
    labels = [lab for lab, u in zip(labels, used, strict=True) if u]
    real, synth = real[used], synth[used]
    if len(labels) > MAX_BARS and column["kind"] in ("categorical", "boolean"):
        top = np.sort(np.argsort(-(real + synth))[: MAX_BARS - 1])
        rest = np.setdiff1d(np.arange(len(labels)), top)
        labels = [labels[i] for i in top] + [f"{len(rest)} others"]
        real = np.r_[real[top], real[rest].sum()]
        synth = np.r_[synth[top], synth[rest].sum()]
    fig = Figure(figsize=(5.2, 2.9))
    ax = fig.add_subplot()
    x = np.arange(len(labels))
    ax.bar(x - 0.2, real, width=0.4, color=REAL_COLOR, label="real")
    ax.bar(x + 0.2, synth, width=0.4, color=SYNTH_COLOR, label="synthetic")
    ax.set_xticks(x, [_short(lab) for lab in labels], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("share of rows")
    ax.set_title(str(column["column"]), fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.spines[["top", "right"]].set_visible(False)
    return to_data_uri(fig)


def association_heatmap(
    columns: Sequence[str], real: Sequence[Sequence[float | None]], synth: Sequence[Sequence[Any]]
) -> str:
    """|real − synthetic| association per pair (Pearson for two numbers, else Cramér's V)."""
    a = np.array([[np.nan if v is None else v for v in row] for row in real], dtype=float)
    b = np.array([[np.nan if v is None else v for v in row] for row in synth], dtype=float)
    diff = np.abs(a - b)
    size = max(3.5, 0.42 * len(columns) + 1.5)
    fig = Figure(figsize=(size + 1.0, size))
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(diff), cmap="Reds", vmin=0.0, vmax=0.5)
    ticks = np.arange(len(columns))
    ax.set_xticks(ticks, [_short(c) for c in columns], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(ticks, [_short(c) for c in columns], fontsize=8)
    for i in range(len(columns)):
        for j in range(len(columns)):
            if i != j and np.isfinite(diff[i, j]) and diff[i, j] >= 0.1:
                ax.text(j, i, f"{diff[i, j]:.2f}", ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="|difference| (0.5+ saturates)")
    ax.set_title("Association difference, real vs synthetic", fontsize=10)
    return to_data_uri(fig)


def roc_plot(attacks: Mapping[str, Mapping[str, Any]]) -> str | None:
    """ROC curves of the privacy attacks that report one; None if none does."""
    curves = {name: a["roc"] for name, a in attacks.items() if isinstance(a.get("roc"), Mapping)}
    if not curves:
        return None
    fig = Figure(figsize=(4.4, 4.0))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color=REF_COLOR, linestyle="--", linewidth=1, label="chance")
    for name, roc in curves.items():
        ax.plot(roc.get("fpr", []), roc.get("tpr", []), linewidth=1.5, label=_short(name, 28))
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Attack ROC curves", fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return to_data_uri(fig)


def subgroup_plot(column: Mapping[str, Any]) -> str | None:
    """k-marginal per group: synthetic (filled) next to the real reference (hollow)."""
    rows = [r for r in column["groups"] if r.get("k_marginal") is not None]
    if not rows:
        return None
    fig = Figure(figsize=(5.6, 0.42 * len(rows) + 1.2))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    ref = [np.nan if r["k_marginal_reference"] is None else r["k_marginal_reference"] for r in rows]
    ax.scatter(ref, y, facecolors="none", edgecolors=REF_COLOR, s=60, label="real reference")
    ax.scatter([r["k_marginal"] for r in rows], y, color=SYNTH_COLOR, s=30, label="synthetic")
    ax.set_yticks(y, [f"{_short(r['group'], 22)} (n={r['n_real']})" for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("k-marginal within group (1000 = identical)")
    ax.set_title(f"Groups of {_short(str(column['column']), 30)}", fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.spines[["top", "right"]].set_visible(False)
    return to_data_uri(fig)


def _short(text: Any, limit: int = 18) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
