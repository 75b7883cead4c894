"""What a small race group's within-group 2-way score could gain, from the exact data (no DP).

Usage (from the repository root)::

    python -m benchmarks.groups.aim_ceiling

For the two smallest race groups of Adult, scores (as ``aim_sensitive`` does) 1,700 rows drawn
from: the whole table (what a model that treats race as independent gives the group); the
table reweighted to the group's own distribution of some columns (what a perfect measurement
of those (race, column) marginals could give); the group's own rows (near the ceiling).
Deterministic (seed 0); prints one line per reference.
"""

from __future__ import annotations

import numpy as np

from benchmarks.groups.common import load_adult, within_group_two_way
from tabsynth.evaluation.fidelity import Discretizer

REWEIGHT = [
    ["relationship", "sex", "income", "marital_status"],
    ["native_country"],
    ["education"],
    ["workclass"],
]


def main() -> None:
    real, metadata = load_adult()
    disc = Discretizer.fit(real, metadata)
    enc = disc.encode(real)
    race = disc.names.index("race")
    rng = np.random.default_rng(0)
    rows = 1700

    def score(group: str, drawn: np.ndarray) -> float:
        members = enc.take(np.flatnonzero((real["race"] == group).to_numpy()))
        return within_group_two_way(disc, members, enc.take(drawn), [race])

    def reweighted(group: str, columns: list[str]) -> np.ndarray:
        inside = (real["race"] == group).to_numpy()
        key = real[columns].astype(str).agg("|".join, axis=1)
        ratio = key[inside].value_counts(normalize=True) / key.value_counts(normalize=True)
        weight = key.map(ratio).fillna(0.0).to_numpy()
        return rng.choice(len(real), rows, p=weight / weight.sum())

    for group in real["race"].value_counts().index[-2:]:
        own = np.flatnonzero((real["race"] == group).to_numpy())
        print(f"{group}: whole table {score(group, rng.choice(len(real), rows)):.4f}")
        for columns in REWEIGHT:
            value = score(group, reweighted(group, columns))
            print(f"{group}: reweighted to {', '.join(columns)} {value:.4f}")
        print(f"{group}: own rows {score(group, rng.choice(own, rows)):.4f}")


if __name__ == "__main__":
    main()
