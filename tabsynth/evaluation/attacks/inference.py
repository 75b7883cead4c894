"""Attribute inference: knowing everything else about a person, guess their sensitive value.

Following Giomi et al. 2023 (the anonymeter paper): the attacker knows every learned column
of a target except the secret one, finds the synthetic record closest on those columns
(mixed distance, :mod:`.encoding`), and guesses that record's secret value. A guess is right
when it equals the true category, or, for a number, lies within :data:`NUMERIC_TOLERANCE` of
the secret column's robust range (1st-99th percentile span in the synthetic data) of the truth.

The same attack on holdout rows (never seen by the synthesizer) is the control: it measures
what the synthetic data reveals through population-level patterns, which is the point of
releasing it. Only the excess on training rows is a privacy risk:
``risk = (r_train - r_control) / (1 - r_control)``. A random guess drawn from the synthetic
column (the paper's baseline) is reported for context: an attack that does no better than it
has no power, and a risk near 0 then says little.
"""

from __future__ import annotations

import numpy as np

from tabsynth.evaluation.attacks.encoding import DistanceEncoder, nearest
from tabsynth.evaluation.attacks.result import AttackResult
from tabsynth.evaluation.attacks.table import CodedTable
from tabsynth.evaluation.stats import normalised_risk

#: A numeric guess within this share of the column's robust range counts as correct.
NUMERIC_TOLERANCE = 0.05


def attribute_inference(
    train: CodedTable,
    control: CodedTable,
    synthetic: CodedTable,
    secret: str,
    rng: np.random.Generator,
    confidence: float = 0.95,
) -> AttackResult:
    """Run the attack on all rows of ``train`` and ``control`` (subsample them beforehand)."""
    j = synthetic.index(secret)
    aux = [name for name in synthetic.names if name != secret]
    if not aux:
        raw = synthetic.values[:, j]
        guesses = {"train": _random_guesses(raw, len(train), rng)}
        guesses["control"] = _random_guesses(raw, len(control), rng)
    else:
        encoder = DistanceEncoder.fit(synthetic, aux)
        index = encoder.transform(synthetic)
        guesses = {}
        for role, table in (("train", train), ("control", control)):
            _, pos = nearest(encoder.transform(table), index, 1)
            guesses[role] = synthetic.values[pos[:, 0], j]
    tolerance = _tolerance(synthetic, j)
    hits_t = int(_correct(guesses["train"], train.values[:, j], tolerance).sum())
    hits_c = int(_correct(guesses["control"], control.values[:, j], tolerance).sum())
    baseline = _random_guesses(synthetic.values[:, j], len(control), rng)
    hits_b = int(_correct(baseline, control.values[:, j], tolerance).sum())
    risk, lo, hi, r_train, r_control = normalised_risk(
        hits_t, len(train), hits_c, len(control), confidence
    )
    return AttackResult(
        advantage=risk,
        ci=(lo, hi),
        description=(
            f"The attacker knows every other column of a person and guesses their '{secret}' "
            "from the most similar synthetic record. Advantage = how much more often the "
            "guess is right for people in the training data than for people who were not, "
            "as a share of what was left to guess (Giomi et al. 2023): 0 means the synthetic "
            "data reveals this value only through population patterns, 1 means it reveals "
            "it for every training record."
        ),
        details={
            "secret": secret,
            "train_success_rate": r_train,
            "control_success_rate": r_control,
            "baseline_success_rate": hits_b / len(control),
            "train_targets": len(train),
            "control_targets": len(control),
            "numeric_tolerance": tolerance,
        },
    )


def _tolerance(table: CodedTable, j: int) -> float:
    if not table.numeric[j]:
        return 0.0
    present = table.values[:, j][~np.isnan(table.values[:, j])]
    if present.size == 0:
        return 0.0
    lo, hi = np.percentile(present, [1, 99])
    return float(NUMERIC_TOLERANCE * (hi - lo))


def _correct(guess: np.ndarray, truth: np.ndarray, tolerance: float) -> np.ndarray:
    both_missing = np.isnan(guess) & np.isnan(truth)
    with np.errstate(invalid="ignore"):
        close = np.abs(guess - truth) <= tolerance
    return both_missing | close


def _random_guesses(column: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return column[rng.integers(0, len(column), n)]
