"""The report's rules section: the share of rows satisfying each rule, real vs synthetic.

The real table is private: for it the section gives shares only, never a row. Example rows
that break a rule are taken from the *synthetic* table (a release, or the draft of one), and
only their values in the rule's columns are shown, so the section can sit in a report about a
DP synthesizer. Rules are listed worst first (lowest synthetic share).

JSON (``report.to_dict()["rules"]``; ``null`` when the metadata declares no rules)::

    {"rules": [{"rule", "kind", "columns", "share_real", "share_synthetic",
                "broken_synthetic", "examples": [{column: value}]}],
     "min_share_synthetic", "all_hold"}
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tabsynth.rules.check import Table, satisfied

if TYPE_CHECKING:
    from tabsynth.metadata import Metadata

#: Broken synthetic rows shown per rule.
EXAMPLES = 3


def rules_section(
    real: pd.DataFrame, synthetic: pd.DataFrame, metadata: Metadata
) -> dict[str, Any] | None:
    """The section's data, or ``None`` without rules."""
    if not metadata.rules:
        return None
    real_table, syn_table = Table(real, metadata), Table(synthetic, metadata)
    out = []
    for rule in metadata.rules:
        ok_real = satisfied(rule, real_table)
        ok_syn = satisfied(rule, syn_table)
        broken = np.flatnonzero(~ok_syn)
        examples = [
            {c: _plain(synthetic[c].iloc[i]) for c in rule.columns} for i in broken[:EXAMPLES]
        ]
        out.append(
            {
                "rule": rule.label,
                "kind": rule.kind,
                "columns": list(rule.columns),
                "share_real": _share(ok_real),
                "share_synthetic": _share(ok_syn),
                "broken_synthetic": int(broken.size),
                "examples": examples,
            }
        )
    out.sort(key=lambda r: (r["share_synthetic"], r["rule"]))
    low = min(r["share_synthetic"] for r in out)
    return {"rules": out, "min_share_synthetic": low, "all_hold": low == 1.0}


def _share(ok: np.ndarray) -> float:
    return float(ok.mean()) if ok.size else 1.0


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NA:
        return None
    return value


def rules_html(data: Mapping[str, Any]) -> str:
    """The section's HTML (inner parts; the page wraps it in its ``<section>``)."""
    section = data.get("rules")
    if not section:
        return (
            "<p class='ts-note'>No rules in the metadata: declare the rules of the data "
            'dictionary (<code>"rules"</code>) to check them here and enforce them on '
            "sampling.</p>"
        )
    e = html.escape
    head = (
        "<p>Share of rows that satisfy each declared rule, in the real and in the synthetic "
        "table, worst first. Examples are synthetic rows only (their values in the rule's "
        "columns); the real table is shown as shares, never as rows.</p>"
    )
    rows = []
    for r in section["rules"]:
        examples = "<br>".join(
            e(", ".join(f"{k}={v!r}" for k, v in ex.items())) for ex in r["examples"]
        )
        flag = "ok" if r["broken_synthetic"] == 0 else f"<span class='ts-flag'>{examples}</span>"
        rows.append(
            "<tr>"
            f"<td>{e(r['rule'])}</td><td>{e(r['kind'])}</td>"
            f"<td class='ts-num'>{100 * r['share_real']:.2f} %</td>"
            f"<td class='ts-num'>{100 * r['share_synthetic']:.2f} %</td>"
            f"<td class='ts-num'>{r['broken_synthetic']:,}</td><td>{flag}</td>"
            "</tr>"
        )
    table = (
        "<table><thead><tr><th>Rule</th><th>Kind</th><th>Real</th><th>Synthetic</th>"
        "<th>Broken synth. rows</th><th>Examples</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
    return head + table
