"""Privacy risk of a synthetic table, judged by attacks with controls.

:func:`assess_privacy` runs every attack of :mod:`tabsynth.evaluation.attacks` on a subsample
of targets and returns one JSON-ready dict for the report. Each attack is measured against a
*control*: the same attack on real records the synthesizer never saw (the holdout). What the
synthetic data reveals about everybody (population statistics, the reason to release it) is
not a risk; only the attacker's extra success on the people in the training set is.

The verdict
-----------
``privacy_risk`` is decided by :data:`RISK_THRESHOLDS`:

* **high** - some attack's advantage has its lower confidence bound at or above
  ``attack_high`` (0.20), or the exact-copy excess (synthetic copy rate minus the chance
  rate) has its lower bound at or above ``copy_excess_high`` (1% of released rows).
* **medium** - some attack's lower bound is at or above ``attack_medium`` (0.05), or the
  copy excess is significantly above ``copy_excess_medium`` (0.1%); or the holdout was
  missing or too small to run the attacks (a verdict of "low" needs evidence).
* **low** - otherwise.

Why these numbers. Advantages are on the scale of a membership advantage (TPR - FPR, or a
success rate beyond the control, as a share of what was left to gain). ε-differential privacy
caps a membership advantage at ``tanh(ε/2)``: 0.20 is what ε ≈ 0.4 allows and 0.05 what
ε ≈ 0.1 allows, so "high" means the attack already shows more than a strict DP guarantee
would permit, and "medium" a clearly measurable effect. The verdict uses the *lower* bound so
that sampling noise on a thousand targets (interval half-widths of about 0.05) does not
raise false alarms across a dozen attacks; attacks whose interval is too wide to rule out a
high risk are listed in ``notes``. For copies, 1% of released rows being training records
beyond chance is a verbatim release of that many people, which no purpose justifies.

Distances (DCR, NNDR) are reported under ``diagnostics`` only, as overfitting indicators: they
are not privacy evidence (see :mod:`.attacks.diagnostics`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from tabsynth.errors import DataError, ParameterError
from tabsynth.evaluation.attacks.copies import exact_copies
from tabsynth.evaluation.attacks.diagnostics import CAVEAT, distance_diagnostics
from tabsynth.evaluation.attacks.encoding import DistanceEncoder
from tabsynth.evaluation.attacks.inference import attribute_inference
from tabsynth.evaluation.attacks.linkability import linkability
from tabsynth.evaluation.attacks.membership import membership_attacks
from tabsynth.evaluation.attacks.result import AttackResult, json_ready
from tabsynth.evaluation.attacks.singling_out import singling_out
from tabsynth.evaluation.attacks.table import CodedTable, code_tables, learned_columns
from tabsynth.metadata import Metadata, check_frame

#: Confidence level of every interval in the result.
CONFIDENCE = 0.95
#: Members and non-members each (membership), targets each side (inference, linkability).
TARGETS = 1000
#: Fewest holdout rows with which the control-based attacks run.
MIN_HOLDOUT_ROWS = 20

RISK_THRESHOLDS: dict[str, float] = {
    "attack_high": 0.20,
    "attack_medium": 0.05,
    "copy_excess_high": 0.01,
    "copy_excess_medium": 0.001,
    "confidence": CONFIDENCE,
}
RISK_RULE = (
    "high: an attack's advantage has its lower confidence bound >= attack_high, or the "
    "exact-copy excess over chance has its lower bound >= copy_excess_high; medium: an "
    "attack's lower bound >= attack_medium, or the copy excess lower bound > "
    "copy_excess_medium, or no holdout to run the attacks; low: otherwise. Advantages are "
    "membership-style (0 = no better than on strangers, 1 = total); epsilon-DP caps them at "
    "tanh(epsilon/2), so 0.20 and 0.05 are what epsilon of about 0.4 and 0.1 allow."
)


def assess_privacy(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    metadata: Metadata,
    sensitive: list[str] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Attack ``synthetic`` and report how much it reveals about the rows of ``train``.

    Parameters
    ----------
    train:
        The rows the synthesizer was fitted on.
    synthetic:
        The released table.
    holdout:
        Real rows from the same population that the synthesizer never saw. Every attack needs
        them as its control; without them only the exact-copy check runs and the verdict is
        at least "medium".
    metadata:
        Column kinds; ``id``/``pii``/``text`` columns are not attacked (generated fresh).
    sensitive:
        Columns for attribute inference; default: the metadata's ``sensitive`` columns.
    seed:
        Seeds target sampling and the attacks' random choices (results are reproducible).

    Returns
    -------
    dict
        ``mia_advantage`` (strongest membership attack, or ``None`` without holdout),
        ``privacy_risk`` ("low" / "medium" / "high"), ``risk_thresholds``, ``attacks`` (name ->
        ``advantage``, ``ci``, ``description``, ``details``, and ``roc`` for membership),
        ``exact_copy_rate`` and ``exact_copy`` (rates and control), ``diagnostics`` (DCR,
        NNDR, ``caveat``), ``notes``, ``elapsed_seconds``. JSON-serialisable.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> real = pd.DataFrame({"age": rng.integers(18, 90, 600), "sex": rng.choice(["F", "M"], 600)})
    >>> md = Metadata.detect(real)
    >>> out = assess_privacy(real[:300], real[:300], real[300:], md)  # "synthetic" = copies
    >>> out["privacy_risk"], out["exact_copy_rate"]
    ('high', 1.0)
    """
    started = time.perf_counter()
    if not isinstance(metadata, Metadata):
        raise ParameterError(
            f"metadata must be a tabsynth Metadata, not {type(metadata).__name__}; build one "
            "with Metadata.detect(train) or Metadata.load(path)"
        )
    frames = {"training": train, "synthetic": synthetic}
    if holdout is not None:
        frames["holdout"] = holdout
    for role, frame in frames.items():
        try:
            check_frame(frame)
        except DataError as exc:
            raise DataError(f"{role} table: {exc}") from None
    columns = learned_columns(metadata, frames)
    secrets = _secrets(sensitive, metadata, columns)
    rng = np.random.default_rng(seed)
    coded = code_tables(metadata, columns, list(frames.values()))
    tr, syn = coded[0], coded[1].take(rng.permutation(len(synthetic)))  # no order artefacts
    ho = coded[2] if holdout is not None else None
    notes: list[str] = []

    encoder = DistanceEncoder.fit(syn)
    enc_syn = encoder.transform(syn)
    copy = exact_copies(tr, syn, ho, CONFIDENCE)
    diagnostics = distance_diagnostics(
        encoder.transform(tr), enc_syn, encoder.transform(ho) if ho is not None else None, rng
    )
    diagnostics["caveat"] = CAVEAT

    attacks: dict[str, AttackResult] = {}
    if ho is not None and len(ho) >= MIN_HOLDOUT_ROWS:
        attacks.update(_membership(tr, ho, enc_syn, encoder, rng))
        attacks.update(_control_attacks(tr, ho, syn, secrets, rng, notes))
        if not secrets:
            notes.append(
                "No sensitive columns declared: attribute inference was skipped. Mark them "
                "in the metadata (sensitive: true) or pass sensitive=[...]."
            )
    else:
        notes.append(
            f"No holdout (or fewer than {MIN_HOLDOUT_ROWS} holdout rows): the attacks need "
            "real rows the synthesizer never saw as their control, so only the exact-copy "
            "check ran. Pass holdout= to measure membership, attribute-inference, "
            "singling-out and linkability risk."
        )

    level, reasons = risk_level(attacks, copy, attacks_ran=bool(attacks))
    notes = reasons + notes
    mia = [a.advantage for name, a in attacks.items() if name.startswith("membership")]
    result = {
        "mia_advantage": max(mia) if mia else None,
        "privacy_risk": level,
        "risk_thresholds": {**RISK_THRESHOLDS, "rule": RISK_RULE},
        "attacks": {name: a.to_dict() for name, a in attacks.items()},
        "exact_copy_rate": copy["rate"],
        "exact_copy": copy,
        "diagnostics": diagnostics,
        "notes": notes,
        "elapsed_seconds": time.perf_counter() - started,
    }
    return json_ready(result)


def risk_level(
    attacks: dict[str, AttackResult], copy: dict[str, Any], attacks_ran: bool
) -> tuple[str, list[str]]:
    """The verdict and the sentences that justify it (see the module docstring)."""
    t = RISK_THRESHOLDS
    reasons: list[str] = []
    high = [n for n, a in attacks.items() if a.ci[0] >= t["attack_high"]]
    medium = [n for n, a in attacks.items() if t["attack_medium"] <= a.ci[0] < t["attack_high"]]
    excess_lo = copy["excess_ci"][0]
    for name in high + medium:
        a = attacks[name]
        reasons.append(
            f"{name}: advantage {a.advantage:.2f} (95% CI {a.ci[0]:.2f} to {a.ci[1]:.2f})."
        )
    if excess_lo > t["copy_excess_medium"]:
        reasons.append(
            f"{copy['rate']:.1%} of synthetic rows copy a training row, against "
            f"{copy['control_rate']:.1%} expected by chance."
        )
    wide = [
        n
        for n, a in attacks.items()
        if a.ci[0] < t["attack_medium"] and a.ci[1] >= t["attack_high"]
    ]
    if wide:
        reasons.append(
            f"Inconclusive (interval too wide to rule out high risk): {', '.join(wide)}; "
            "more holdout or training rows would narrow it."
        )
    if high or excess_lo >= t["copy_excess_high"]:
        return "high", reasons
    if medium or excess_lo > t["copy_excess_medium"] or not attacks_ran:
        return "medium", reasons
    return "low", reasons


def _secrets(sensitive: list[str] | None, metadata: Metadata, columns: list[str]) -> list[str]:
    if sensitive is None:
        return [c for c in metadata.sensitive_columns if c in columns]
    if isinstance(sensitive, str):
        raise ParameterError(f"sensitive must be a list of column names, e.g. [{sensitive!r}]")
    unknown = [c for c in sensitive if c not in columns]
    if unknown:
        raise ParameterError(
            f"sensitive columns {unknown} are not learned columns of the tables; choose from "
            f"{columns}"
        )
    return list(dict.fromkeys(sensitive))


def _membership(
    tr: CodedTable,
    ho: CodedTable,
    enc_syn: np.ndarray,
    encoder: DistanceEncoder,
    rng: np.random.Generator,
) -> dict[str, AttackResult]:
    """Non-members and the density reference are disjoint halves of the holdout."""
    n = min(TARGETS, len(ho) // 2, len(tr))
    order = rng.permutation(len(ho))
    members = tr.take(rng.choice(len(tr), n, replace=False))
    return membership_attacks(
        encoder.transform(members),
        encoder.transform(ho.take(order[:n])),
        enc_syn,
        encoder.transform(ho.take(order[n:])),
        rng,
        CONFIDENCE,
    )


def _control_attacks(
    tr: CodedTable,
    ho: CodedTable,
    syn: CodedTable,
    secrets: list[str],
    rng: np.random.Generator,
    notes: list[str],
) -> dict[str, AttackResult]:
    out: dict[str, AttackResult] = {}
    targets = tr.take(rng.choice(len(tr), min(TARGETS, len(tr)), replace=False))
    controls = ho.take(rng.choice(len(ho), min(TARGETS, len(ho)), replace=False))
    for secret in secrets:
        out[f"attribute_inference:{secret}"] = attribute_inference(
            targets, controls, syn, secret, rng, CONFIDENCE
        )
    for mode in ("univariate", "multivariate"):
        result = singling_out(tr, ho, syn, mode, rng, CONFIDENCE)
        if result is None:
            notes.append(f"Singling out ({mode}): no predicate isolates a synthetic record.")
        else:
            out[f"singling_out_{mode}"] = result
    if len(syn.names) >= 2:
        out["linkability"] = linkability(targets, controls, syn, rng, CONFIDENCE)
    else:
        notes.append("Linkability needs at least two learned columns; skipped.")
    return out
