"""Privacy by group: does the release protect the majority but expose a small group?

Whole-table attacks average over everyone, so a synthesizer that reproduces the 30 members of
a rare group almost verbatim barely moves them. For every group of each group column (the
sensitive columns by default) this module runs, on the group's own people:

* both **membership** attacks of :mod:`.attacks.membership` (members: the group's training
  rows; non-members: the group's holdout rows; the density reference is the rest of the
  holdout, as for the whole table);
* **attribute inference** of every other sensitive column (:mod:`.attacks.inference`);
* a **near-copy check**: each synthetic member of the group is compared with its closest real
  member of the group in the training table and in the holdout, both cut to the same number
  of rows, so that without copying the two distances are exchangeable and the synthetic row
  is equally likely to sit closer to either. ``advantage = 2 * share_closer_to_training - 1``
  (ties count half) is 0 without copying and 1 when every synthetic member mirrors a training
  member. This is a *distance* test: passing it is no evidence of privacy (see
  :mod:`.attacks.diagnostics`), but failing it is evidence of exposure, so it may raise the
  risk and never lowers it.

Each result carries an interval (small groups have wide ones), and a group's risk follows the
whole table's rule (:data:`tabsynth.evaluation.privacy.RISK_THRESHOLDS`, on the lower bound):
``high`` or ``medium`` for a group makes the release at least as risky
(:func:`combine`), so a release that exposes a small group is never "low risk".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tabsynth.evaluation.attacks.encoding import DistanceEncoder, nearest
from tabsynth.evaluation.attacks.inference import attribute_inference
from tabsynth.evaluation.attacks.membership import membership_attacks
from tabsynth.evaluation.attacks.result import json_ready
from tabsynth.evaluation.attacks.table import code_tables, learned_columns
from tabsynth.evaluation.stats import wilson
from tabsynth.metadata import Metadata

#: Fewest training and holdout rows a group needs to be attacked.
MIN_GROUP_ROWS = 10
#: Targets per side and synthetic rows per group, at most.
MAX_GROUP_ROWS = 1000
#: Groups per column, at most (the most frequent in the training table).
MAX_GROUPS = 12
CONFIDENCE = 0.95
_RANK = {"low": 0, "medium": 1, "high": 2}


def group_privacy(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    metadata: Metadata,
    groups: list[str],
    sensitive: list[str],
    seed: int = 0,
) -> dict[str, Any]:
    """Attack results and the near-copy check per group of each categorical or boolean column
    of ``groups``; JSON-ready (see the module docstring)."""
    from tabsynth.evaluation.privacy import RISK_THRESHOLDS

    rng = np.random.default_rng(seed)
    frames = {"training": train, "synthetic": synthetic, "holdout": holdout}
    columns = learned_columns(metadata, frames)
    tr, syn, ho = code_tables(metadata, columns, list(frames.values()))
    encoder = DistanceEncoder.fit(syn)
    enc = {"train": encoder.transform(tr), "syn": encoder.transform(syn)}
    enc["hold"] = encoder.transform(ho)
    out_columns, skipped = [], []
    for column in groups:
        if column not in columns or metadata[column].kind not in ("categorical", "boolean"):
            skipped.append(column)
            continue
        labels = {k: _labels(f[column]) for k, f in frames.items()}
        frequent = labels["training"].value_counts().index[:MAX_GROUPS]
        rows = []
        for value in frequent:
            ids = {k: np.flatnonzero((v == value).to_numpy()) for k, v in labels.items()}
            if min(len(ids["training"]), len(ids["holdout"])) < MIN_GROUP_ROWS:
                continue
            row = _group(value, ids, tr, ho, syn, enc, column, sensitive, rng)
            row["risk"], row["reasons"] = _risk(row, RISK_THRESHOLDS)
            rows.append(row)
        out_columns.append({"column": column, "groups": rows})
    exposed = [
        {"column": c["column"], "group": g["group"], "risk": g["risk"], "reasons": g["reasons"]}
        for c in out_columns
        for g in c["groups"]
        if g["risk"] != "low"
    ]
    exposed.sort(key=lambda e: -_RANK[e["risk"]])
    risk = exposed[0]["risk"] if exposed else "low"
    notes = []
    if skipped:
        notes.append(
            f"Not broken down by group (not categorical or boolean): {', '.join(skipped)}."
        )
    return json_ready(
        {
            "columns": out_columns,
            "risk": risk,
            "exposed": exposed,
            "settings": {
                "min_group_rows": MIN_GROUP_ROWS,
                "max_group_rows": MAX_GROUP_ROWS,
                "max_groups": MAX_GROUPS,
                "confidence": CONFIDENCE,
            },
            "notes": notes,
        }
    )


def combine(privacy: dict[str, Any], groups: dict[str, Any]) -> dict[str, Any]:
    """The privacy section with ``groups`` added and ``privacy_risk`` raised to the riskiest
    group's level (never lowered), with the reason first among the notes."""
    out = dict(privacy, groups=groups)
    if _RANK[groups["risk"]] > _RANK.get(privacy.get("privacy_risk", "low"), 0):
        first = groups["exposed"][0]
        out["privacy_risk"] = groups["risk"]
        out["notes"] = [
            f"Group {first['column']} = {first['group']} is exposed: {first['reasons'][0]} "
            "The whole-table attacks average it away; the risk is raised to the group's.",
            *privacy.get("notes", []),
        ]
    return out


def _labels(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), "(missing)").astype(str)


def _group(
    value: str,
    ids: dict[str, np.ndarray],
    tr: Any,
    ho: Any,
    syn: Any,
    enc: dict[str, np.ndarray],
    column: str,
    sensitive: list[str],
    rng: np.random.Generator,
) -> dict[str, Any]:
    t_ids, h_ids, s_ids = ids["training"], ids["holdout"], ids["synthetic"]
    row: dict[str, Any] = {
        "group": value,
        "n_train": len(t_ids),
        "n_holdout": len(h_ids),
        "n_synthetic": len(s_ids),
        "attacks": {},
    }
    # membership: the group's holdout rows split into non-members and (with the rest of the
    # holdout) the density reference
    n = min(MAX_GROUP_ROWS, len(h_ids) // 2, len(t_ids))
    if n >= MIN_GROUP_ROWS // 2:
        order = rng.permutation(h_ids)
        members = rng.choice(t_ids, n, replace=False)
        reference = np.setdiff1d(np.arange(len(ho)), order[:n])
        for name, result in membership_attacks(
            enc["train"][members],
            enc["hold"][order[:n]],
            enc["syn"],
            enc["hold"][reference],
            rng,
            CONFIDENCE,
        ).items():
            row["attacks"][name] = _short(result)
    targets = tr.take(rng.choice(t_ids, min(MAX_GROUP_ROWS, len(t_ids)), replace=False))
    controls = ho.take(rng.choice(h_ids, min(MAX_GROUP_ROWS, len(h_ids)), replace=False))
    for secret in sensitive:
        if secret != column:
            result = attribute_inference(targets, controls, syn, secret, rng, CONFIDENCE)
            row["attacks"][f"attribute_inference:{secret}"] = _short(result)
    row["near_copies"] = near_copies(enc, t_ids, h_ids, s_ids, rng)
    return row


def near_copies(
    enc: dict[str, np.ndarray],
    t_ids: np.ndarray,
    h_ids: np.ndarray,
    s_ids: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, Any] | None:
    """The near-copy check of one group (module docstring); ``None`` without synthetic rows."""
    if len(s_ids) == 0:
        return None
    m = min(len(t_ids), len(h_ids), MAX_GROUP_ROWS)
    train = enc["train"][rng.choice(t_ids, m, replace=False)]
    hold = enc["hold"][rng.choice(h_ids, m, replace=False)]
    synth = enc["syn"][rng.choice(s_ids, min(len(s_ids), MAX_GROUP_ROWS), replace=False)]
    d_train = nearest(synth, train, 1)[0][:, 0]
    d_hold = nearest(synth, hold, 1)[0][:, 0]
    closer = float((d_train < d_hold).sum() + 0.5 * (d_train == d_hold).sum())
    lo, hi = wilson(round(closer), len(synth), CONFIDENCE)
    share = closer / len(synth)
    return {
        "synthetic_rows": len(synth),
        "real_rows_each": m,
        "share_closer_to_training": share,
        "advantage": 2 * share - 1,
        "ci": [2 * lo - 1, 2 * hi - 1],
        "exact_copy_rate": float((d_train == 0).mean()),
        "exact_match_rate_holdout": float((d_hold == 0).mean()),
        "median_distance_training": float(np.median(d_train)),
        "median_distance_holdout": float(np.median(d_hold)),
    }


def _short(result: Any) -> dict[str, Any]:
    """An attack result without its description and ROC (the whole-table section has them)."""
    return {
        "advantage": float(result.advantage),
        "ci": [float(result.ci[0]), float(result.ci[1])],
    }


def _risk(row: dict[str, Any], thresholds: dict[str, float]) -> tuple[str, list[str]]:
    """The whole table's rule on this group's lower bounds (see the module docstring)."""
    checks = dict(row["attacks"])
    if row["near_copies"] is not None:
        checks["near_copies"] = row["near_copies"]
    level, reasons = "low", []
    for name, result in checks.items():
        lo = result["ci"][0]
        found = (
            "high"
            if lo >= thresholds["attack_high"]
            else "medium"
            if lo >= thresholds["attack_medium"]
            else "low"
        )
        if found != "low":
            reasons.append(
                f"{name}: advantage {result['advantage']:.2f} (95% CI {result['ci'][0]:.2f} to "
                f"{result['ci'][1]:.2f}) on this group's {row['n_train']} training rows."
            )
        if _RANK[found] > _RANK[level]:
            level = found
    return level, reasons
