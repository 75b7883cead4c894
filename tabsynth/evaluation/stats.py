"""Confidence intervals and the membership statistics shared by the attacks and the audit.

Every privacy number tabsynth reports comes with an interval, because the attacks run on
subsamples (a thousand targets, a few dozen audit trials) and a point estimate alone would
make noise look like leakage, or hide it. The intervals used, and why:

* :func:`clopper_pearson` - exact binomial interval. The privacy audit turns counts into an
  ε lower bound, a claim that must hold with the stated confidence whatever the sample size,
  so it uses the exact (conservative) interval rather than an approximation.
* :func:`wilson` - score interval for a proportion; close to nominal coverage even for a few
  dozen trials and rates near 0 or 1, and cheap. Used for attack success rates.
* :func:`newcombe_difference` - Newcombe's hybrid score interval for the difference of two
  independent proportions (built from the two Wilson intervals). An attack's advantage is
  always such a difference: success on training rows minus success on rows that were not
  used for training.

Examples
--------
>>> lo, hi = clopper_pearson(5, 10)
>>> round(lo, 3), round(hi, 3)
(0.187, 0.813)
>>> round(epsilon_lower_bound(tp=100, n_pos=100, fp=0, n_neg=100), 2)
3.28
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy import stats

from tabsynth.errors import ParameterError

Side = Literal["two-sided", "lower", "upper"]


def _check_counts(k: int, n: int) -> None:
    if n <= 0 or k < 0 or k > n:
        raise ParameterError(f"need 0 <= successes <= trials and trials > 0; got {k} of {n}")


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ParameterError(f"confidence must be in (0, 1), e.g. 0.95; got {confidence!r}")


def clopper_pearson(
    k: int, n: int, confidence: float = 0.95, side: Side = "two-sided"
) -> tuple[float, float]:
    """Exact binomial confidence interval for ``k`` successes in ``n`` trials.

    ``side="lower"`` returns a one-sided lower bound ``(lo, 1.0)`` holding with probability
    ``confidence``; ``side="upper"`` returns ``(0.0, hi)``.

    >>> math.isclose(clopper_pearson(0, 20, side="upper")[1], 1 - 0.05 ** (1 / 20))
    True
    """
    _check_counts(k, n)
    _check_confidence(confidence)
    alpha = 1.0 - confidence
    if side == "two-sided":
        a_lo = a_hi = alpha / 2
    elif side == "lower":
        a_lo, a_hi = alpha, 0.0
    elif side == "upper":
        a_lo, a_hi = 0.0, alpha
    else:
        raise ParameterError(f"side must be 'two-sided', 'lower' or 'upper', not {side!r}")
    lo = 0.0 if k == 0 or a_lo == 0.0 else float(stats.beta.ppf(a_lo, k, n - k + 1))
    hi = 1.0 if k == n or a_hi == 0.0 else float(stats.beta.ppf(1.0 - a_hi, k + 1, n - k))
    return lo, hi


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes in ``n`` trials (two-sided)."""
    _check_counts(k, n)
    _check_confidence(confidence)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(
    k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95, scale2: float = 1.0
) -> tuple[float, float, float]:
    """Difference ``p1 - p2`` of two independent proportions, with Newcombe's interval.

    ``scale2`` multiplies the second proportion and its Wilson bounds (capped at 1). The
    singling-out attack needs it: its control rate is measured on a smaller set of rows and
    rescaled to the size of the training set (see :mod:`.attacks.singling_out`).

    Returns ``(difference, lower, upper)``.
    """
    p1 = k1 / n1
    p2 = min(1.0, scale2 * k2 / n2)
    l1, u1 = wilson(k1, n1, confidence)
    l2, u2 = wilson(k2, n2, confidence)
    l2, u2 = min(1.0, scale2 * l2), min(1.0, scale2 * u2)
    d = p1 - p2
    lo = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, max(-1.0, lo), min(1.0, hi)


def normalised_risk(
    k_train: int,
    n_train: int,
    k_control: int,
    n_control: int,
    confidence: float = 0.95,
    control_scale: float = 1.0,
) -> tuple[float, float, float, float, float]:
    """Giomi et al. (2023)'s risk ``(r_train - r_control) / (1 - r_control)`` with an interval.

    ``r_train`` is the attack's success rate on training rows, ``r_control`` the same attack's
    rate on rows the synthesizer never saw: what it achieves by generalisation alone. The
    normalisation makes 1 mean "succeeds on every training row it could not already get
    right from population statistics". The interval is Newcombe's interval of the difference
    divided by ``1 - r_control`` (the normaliser is treated as known: its own uncertainty is
    second order when the difference is small, which is where the interval matters).

    Returns ``(risk, lower, upper, r_train, r_control)``.
    """
    d, lo, hi = newcombe_difference(
        k_train, n_train, k_control, n_control, confidence, scale2=control_scale
    )
    r_train = k_train / n_train
    r_control = min(1.0, control_scale * k_control / n_control)
    room = max(1.0 - r_control, 1e-12)

    def clip(x: float) -> float:
        return float(min(1.0, max(-1.0, x / room)))

    return clip(d), clip(lo), clip(hi), r_train, r_control


def epsilon_lower_bound(
    tp: int, n_pos: int, fp: int, n_neg: int, delta: float = 0.0, confidence: float = 0.95
) -> float:
    """Empirical ε lower bound from a membership game (Jagielski et al. 2020; Nasr et al. 2021).

    An (ε, δ)-DP mechanism forces every test between neighbouring datasets to satisfy
    ``TPR <= e^ε FPR + δ`` and ``1 - FPR <= e^ε (1 - TPR) + δ``, so
    ``ε >= log((TPR - δ) / FPR)`` and ``ε >= log((1 - FPR - δ) / (1 - TPR))``. Both are
    increasing in TPR and decreasing in FPR, so a bound that holds with high probability
    plugs in the pessimistic ends of one-sided Clopper-Pearson intervals, ``TPR_lo`` and
    ``FPR_hi``, in *both* terms:
    ``ε_lb = max(log((TPR_lo - δ) / FPR_hi), log((1 - FPR_hi - δ) / (1 - TPR_lo)))``.
    (Writing the second term with ``FPR_lo`` and ``TPR_hi`` would overstate ε.) The two
    bounds are each taken at level ``1 - (1 - confidence) / 2``, so they hold jointly with
    probability ``confidence`` (Bonferroni). The result is clipped at 0: no evidence of
    leakage is reported as 0, never as a negative ε.
    """
    if not 0.0 <= delta < 1.0:
        raise ParameterError(f"delta must be in [0, 1); got {delta!r}")
    level = 1.0 - (1.0 - confidence) / 2
    tpr_lo = clopper_pearson(tp, n_pos, level, "lower")[0]
    fpr_hi = clopper_pearson(fp, n_neg, level, "upper")[1]
    best = 0.0
    if tpr_lo - delta > 0 and fpr_hi > 0:
        best = max(best, math.log((tpr_lo - delta) / fpr_hi))
    if 1.0 - fpr_hi - delta > 0 and tpr_lo < 1.0:
        best = max(best, math.log((1.0 - fpr_hi - delta) / (1.0 - tpr_lo)))
    return best


#: Largest trial count :func:`epsilon_lower_bound` can evaluate (scipy's beta quantiles take
#: 64-bit integer counts).
MAX_TRIAL_COUNT = 2**63 - 1


def trials_to_certify(epsilon: float, delta: float = 0.0, confidence: float = 0.95) -> int | None:
    """Smallest ``n`` for which a perfect attack on ``n`` IN and ``n`` OUT trials makes
    :func:`epsilon_lower_bound` exceed ``epsilon``; ``None`` when no ``n`` up to
    :data:`MAX_TRIAL_COUNT` would (claims above about ε = 42 at 95%).

    Why: the number of trials caps the ε an audit can certify whatever the attack, so a claim
    above the cap cannot fail. This says how many trials a claim needs before they are run.

    Closed form, no search: with ``TP = n`` and ``FP = 0`` the one-sided bounds are
    ``TPR_lo = q`` and ``FPR_hi = 1 - q`` with ``q = a^(1/n)``, ``a = (1 - confidence) / 2``,
    and both terms of the bound equal ``log((q - δ) / (1 - q))``. That exceeds ``ε`` iff
    ``q > r = (e^ε + δ) / (1 + e^ε)``, i.e. iff ``n > log(a) / log(r)``. ``1 - r`` is
    computed as ``(1 - δ) e^-ε / (1 + e^-ε)`` so that large ε neither overflows nor rounds
    ``r`` to 1.

    >>> trials_to_certify(1.0)
    12
    >>> epsilon_lower_bound(11, 11, 0, 11) <= 1.0 < epsilon_lower_bound(12, 12, 0, 12)
    True
    >>> trials_to_certify(0.0)  # the fewest trials that can show any leakage at all
    6
    >>> trials_to_certify(100.0) is None
    True
    """
    if not (math.isfinite(epsilon) and epsilon >= 0.0):
        raise ParameterError(f"epsilon must be a finite number >= 0; got {epsilon!r}")
    if not 0.0 <= delta < 1.0:
        raise ParameterError(f"delta must be in [0, 1); got {delta!r}")
    _check_confidence(confidence)
    alpha = (1.0 - confidence) / 2
    shrink = math.exp(-epsilon)
    one_minus_r = (1.0 - delta) * shrink / (1.0 + shrink)
    if one_minus_r == 0.0:  # e^-ε underflowed: no representable count suffices
        return None
    threshold = math.log(alpha) / math.log1p(-one_minus_r)
    if threshold >= MAX_TRIAL_COUNT:
        return None
    return math.floor(threshold) + 1


# ---------------------------------------------------------------------------------------------
# scores -> thresholds, advantage, ROC


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """Threshold ``t`` maximising TPR - FPR for the rule "member if score >= t".

    Ties are kept together (a threshold never splits equal scores), so the rule is the one a
    real attacker could apply to a new score.
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        raise ParameterError("need both members and non-members to choose a threshold")
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    tp = np.cumsum(y)
    fp = np.cumsum(~y)
    last_of_tie = np.r_[s[1:] != s[:-1], True]
    gain = tp[last_of_tie] / n_pos - fp[last_of_tie] / n_neg
    candidates = s[last_of_tie]
    i = int(np.argmax(gain))
    if gain[i] <= 0:
        return math.inf  # flag nobody: no threshold beats guessing on this fold
    return float(candidates[i])


def held_out_advantage(
    scores: np.ndarray, labels: np.ndarray, rng: np.random.Generator, folds: int = 2
) -> tuple[int, int, int, int]:
    """Membership advantage with thresholds chosen on other folds (cross-fitting).

    Choosing the best threshold and measuring TPR - FPR on the same targets is biased upward
    (under no leakage it averages about ``1/sqrt(n)``, not 0). Here the targets are split into
    ``folds`` stratified folds; each fold is classified with the threshold that was best on
    the others. The pooled counts are an honest estimate that is centred on 0 when there is
    no leakage, so its interval can cover 0.

    Returns ``(true_positives, members, false_positives, non_members)``.
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=bool)
    fold = np.empty(len(labels), dtype=int)
    for cls in (True, False):
        idx = np.flatnonzero(labels == cls)
        fold[idx] = rng.permutation(len(idx)) % folds
    tp = fp = 0
    for f in range(folds):
        test = fold == f
        t = best_threshold(scores[~test], labels[~test])
        flagged = scores[test] >= t
        tp += int(np.sum(flagged & labels[test]))
        fp += int(np.sum(flagged & ~labels[test]))
    return tp, int(labels.sum()), fp, int((~labels).sum())


def roc_curve(
    scores: np.ndarray, labels: np.ndarray, max_points: int = 200
) -> tuple[list[float], list[float], float]:
    """ROC points (at most ``max_points``, always including (0,0) and (1,1)) and the AUC.

    The AUC is the Mann-Whitney probability that a random member scores above a random
    non-member (ties count one half).
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    last_of_tie = np.r_[s[1:] != s[:-1], True]
    tpr = np.r_[0.0, np.cumsum(y)[last_of_tie] / n_pos]
    fpr = np.r_[0.0, np.cumsum(~y)[last_of_tie] / n_neg]
    ranks = stats.rankdata(scores)
    auc = (ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    if len(tpr) > max_points:
        keep = np.unique(np.round(np.linspace(0, len(tpr) - 1, max_points)).astype(int))
        tpr, fpr = tpr[keep], fpr[keep]
    return [round(float(v), 5) for v in fpr], [round(float(v), 5) for v in tpr], float(auc)
