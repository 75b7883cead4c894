"""Distance to closest record (DCR) and nearest-neighbour distance ratio (NNDR): diagnostics.

These are reported because people expect them and because they do show gross overfitting
(synthetic rows much closer to training rows than fresh real rows are). They are *not*
privacy evidence: synthetic data can pass DCR tests while being highly vulnerable to
membership inference ("The DCR Delusion", Yao et al. 2025; Ganev & De Cristofaro 2023), and
they have no control for what a distance means for a person. The privacy verdict ignores them.

Both are computed from a sample of synthetic rows and a sample of holdout rows to the
training set, on the mixed distance of :mod:`.encoding`. NNDR is the distance to the closest
training row divided by the distance to the second closest (near 0: the row sits on one
training record rather than among several).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tabsynth.evaluation.attacks.encoding import nearest

#: Rows of each table measured.
SAMPLE_ROWS = 1000

CAVEAT = (
    "DCR and NNDR are overfitting diagnostics, not privacy evidence: synthetic data can "
    "look safe by distance and still leak membership (Yao et al. 2025, 'The DCR Delusion'; "
    "Ganev & De Cristofaro 2023). The privacy verdict rests on the attacks and the exact-copy "
    "check, never on these distances."
)


def distance_diagnostics(
    train: np.ndarray, synthetic: np.ndarray, holdout: np.ndarray | None, rng: np.random.Generator
) -> dict[str, Any]:
    """``{"dcr": ..., "nndr": ...}`` summaries of synthetic-to-train and holdout-to-train."""
    sets = {"synthetic_to_train": synthetic}
    if holdout is not None and len(holdout) > 0:
        sets["holdout_to_train"] = holdout
    dcr: dict[str, Any] = {}
    nndr: dict[str, Any] = {}
    closest: dict[str, np.ndarray] = {}
    for name, rows in sets.items():
        sample = rows[rng.permutation(len(rows))[:SAMPLE_ROWS]]
        dist, _ = nearest(sample, train, 2)
        d1 = dist[:, 0]
        d2 = dist[:, -1]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(d2 > 0, d1 / d2, 1.0)  # on two identical records: not distinctive
        closest[name] = d1
        dcr[name] = {
            "rows": len(sample),
            "p05": _q(d1, 5),
            "median": _q(d1, 50),
            "share_zero": round(float(np.mean(d1 == 0.0)), 5),
        }
        nndr[name] = {"rows": len(sample), "p05": _q(ratio, 5), "median": _q(ratio, 50)}
    if "holdout_to_train" in closest:
        p05 = np.percentile(closest["holdout_to_train"], 5)
        dcr["share_synthetic_closer_than_holdout_p05"] = round(
            float(np.mean(closest["synthetic_to_train"] < p05)), 5
        )
    return {"dcr": dcr, "nndr": nndr}


def _q(values: np.ndarray, pct: float) -> float:
    return round(float(np.percentile(values, pct)), 5)
