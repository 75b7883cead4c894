"""Linkability: can the synthetic data join two partial records of the same person?

Following Giomi et al. 2023: the learned columns are split into two disjoint sets A and B, as
if an attacker held two databases, one with a person's A columns and one with their B
columns. For each target the attacker finds its :data:`NEIGHBOURS` closest synthetic records
on A and, separately, on B; the two halves are linked when the two lists share a synthetic
record. A synthesizer that reproduces training rows links their halves through the copy.

Control: the same attack on holdout rows, which measures how often halves link through
population regularities alone (``risk = (r_train - r_control) / (1 - r_control)``). Baseline:
two random lists of synthetic rows, reported for context.
"""

from __future__ import annotations

import numpy as np

from tabsynth.evaluation.attacks.encoding import DistanceEncoder, nearest
from tabsynth.evaluation.attacks.result import AttackResult
from tabsynth.evaluation.attacks.table import CodedTable
from tabsynth.evaluation.stats import normalised_risk

#: Synthetic neighbours compared on each side.
NEIGHBOURS = 5


def linkability(
    train: CodedTable,
    control: CodedTable,
    synthetic: CodedTable,
    rng: np.random.Generator,
    confidence: float = 0.95,
) -> AttackResult:
    """Run the attack on all rows of ``train`` and ``control`` (subsample them beforehand)."""
    names = list(synthetic.names)
    order = rng.permutation(len(names))
    half = len(names) // 2
    side_a = sorted(names[i] for i in order[:half])
    side_b = sorted(names[i] for i in order[half:])
    k = min(NEIGHBOURS, len(synthetic))
    enc_a = DistanceEncoder.fit(synthetic, side_a)
    enc_b = DistanceEncoder.fit(synthetic, side_b)
    index_a, index_b = enc_a.transform(synthetic), enc_b.transform(synthetic)
    hits = {}
    for role, table in (("train", train), ("control", control)):
        _, near_a = nearest(enc_a.transform(table), index_a, k)
        _, near_b = nearest(enc_b.transform(table), index_b, k)
        hits[role] = int(_share_one(near_a, near_b).sum())
    random_a = rng.integers(0, len(synthetic), (len(control), k))
    random_b = rng.integers(0, len(synthetic), (len(control), k))
    baseline = int(_share_one(random_a, random_b).sum())
    risk, lo, hi, r_train, r_control = normalised_risk(
        hits["train"], len(train), hits["control"], len(control), confidence
    )
    return AttackResult(
        advantage=risk,
        ci=(lo, hi),
        description=(
            "The attacker holds two partial records of a person (two halves of the columns) "
            "and uses the synthetic data to decide whether they belong together: they do when "
            "the same synthetic records are among the closest to both halves. Advantage = how "
            "much more often this links the halves of training records than of never-seen "
            "records, as a share of the links still possible (Giomi et al. 2023): 0 means no "
            "linkage beyond population patterns, 1 means every training record is linked."
        ),
        details={
            "columns_a": side_a,
            "columns_b": side_b,
            "neighbours": k,
            "train_success_rate": r_train,
            "control_success_rate": r_control,
            "baseline_success_rate": baseline / len(control),
            "train_targets": len(train),
            "control_targets": len(control),
        },
    )


def _share_one(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise: do index lists ``a[i]`` and ``b[i]`` have an element in common?"""
    return (a[:, :, None] == b[:, None, :]).any(axis=(1, 2))
