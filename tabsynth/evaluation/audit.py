"""Privacy audit: does a synthesizer leak more about one record than its ε allows?

Differential privacy is a promise about *neighbouring* datasets: fitting on ``D`` or on
``D ∪ {x}`` must give outputs an observer can barely tell apart. :func:`audit` plays that game
(Jagielski et al. 2020; Nasr et al. 2021):

1. **Targets.** Records a synthesizer is most likely to leak: those farthest from their
   nearest other record (outliers, unique combinations), or indices the caller gives.
2. **Trials.** For each trial and target, one fit on ``D`` (OUT) and one on ``D ∪ {target}``
   (IN), each followed by sampling; the synthesizer comes fresh from the factory every time
   and the rows are shuffled, so nothing but the target's presence differs systematically.
3. **Scores** specialised to the target, computed on the synthetic sample: minus the
   distance from the target to its closest synthetic record (the report's distance attack),
   the number of synthetic records closer to the target than half the distance to its
   nearest real neighbour (only a model that saw the target has reason to put records there),
   and a query-based score, the log-frequencies of the target's 1-, 2- and 3-way combinations
   in the synthetic rows, over all of them and over those a marginal method would have
   measured (:mod:`~tabsynth.evaluation.attacks.queries`; what marginal-based synthesizers
   leak, and distances miss). The calibration half picks the strongest.
4. **Decision rule without overfitting.** For each target the score and the threshold are
   chosen on the first half of the trials; TPR (IN flagged) and FPR (OUT flagged) are counted
   on the second half only, so the counts are honest binomial samples. Counts are pooled over
   targets: each target's test obeys the DP inequalities, hence so does their average.
5. **Bound.** ``ε_lb`` from one-sided Clopper-Pearson bounds
   (:func:`~tabsynth.evaluation.stats.epsilon_lower_bound`), at the claimed δ.

Reading the result: the number of trials caps the ε any attack could certify
(``max_measurable_epsilon``: the bound a perfect attack, TPR 1 and FPR 0, would reach), so the
verdict has three values (:func:`decide_verdict`):

* ``"failed"``: ``ε_lb`` exceeds the claimed ε, proof at the stated confidence that the
  implementation breaks its promise.
* ``"passed"``: the trials could have refuted the claim (``max_measurable_epsilon`` above it)
  and the attacks did not. This is evidence, not proof: a stronger attack might find more.
* ``"inconclusive"``: the claim is at or above ``max_measurable_epsilon``, so it could not have
  failed whatever the synthesizer does; the result says how many trials would test it
  (:func:`trials_needed`).

A non-private synthesizer makes no claim; it is judged against ε = 0, "no leakage": failed
means leakage detected (``ε_lb > 0``), passed means none detected by trials that could have
detected some, inconclusive means too few trials for even a perfect attack to show any.
"""

from __future__ import annotations

import html
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from tabsynth.errors import ParameterError
from tabsynth.evaluation.attacks.encoding import DistanceEncoder, nearest
from tabsynth.evaluation.attacks.queries import QueryScore
from tabsynth.evaluation.attacks.result import json_ready
from tabsynth.evaluation.attacks.table import Vocabulary, code_tables, learned_columns
from tabsynth.evaluation.stats import clopper_pearson, epsilon_lower_bound, trials_to_certify
from tabsynth.io import atomic_write_text
from tabsynth.metadata import Metadata, check_frame
from tabsynth.synthesizers.base import Synthesizer, as_metadata, check_seed

#: Rows considered when looking for the most isolated records.
CANDIDATE_ROWS = 5000
SCORES = ("closest_distance", "count_near_target", "query_counts", "focused_queries")
#: The three outcomes of an audit; see the module docstring.
Verdict = Literal["passed", "failed", "inconclusive"]
VERDICTS: tuple[Verdict, ...] = ("passed", "failed", "inconclusive")
CAVEAT = (
    "A lower bound can refute a privacy claim but never prove one: a stronger attack might "
    "find more."
)


@dataclass(frozen=True)
class AuditResult:
    """Outcome of :func:`audit`. ``ci`` holds two-sided Clopper-Pearson intervals of the
    pooled TPR and FPR at ``confidence``; ``targets`` are row positions in the audited table.

    ``verdict`` is ``"passed"``, ``"failed"`` or ``"inconclusive"`` (module docstring) and
    ``reason`` says why in one sentence. ``passed`` is kept for code written before the
    verdict existed; it is derived, ``verdict == "passed"``, so an inconclusive audit is not
    "passed". ``trials_needed`` is set for inconclusive audits: the fewest trials, with as many
    targets, that could have refuted the claim (``None`` also when no feasible number could).
    """

    claimed_epsilon: float | None
    claimed_delta: float | None
    empirical_epsilon_lower: float
    ci: dict[str, list[float]]
    tpr: float
    fpr: float
    trials: int
    targets: list[int]
    verdict: Verdict
    passed: bool = field(init=False)
    reason: str
    notes: list[str]
    confidence: float = 0.95
    max_measurable_epsilon: float = 0.0
    trials_needed: int | None = None
    per_target: list[dict[str, Any]] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ParameterError(f"verdict must be one of {VERDICTS}, not {self.verdict!r}")
        object.__setattr__(self, "passed", self.verdict == "passed")

    def to_dict(self) -> dict[str, Any]:
        return json_ready(asdict(self))

    def summary(self) -> str:
        """A few lines for a terminal."""
        claim = claim_text(self.claimed_epsilon, self.claimed_delta)
        lines = [
            f"Privacy audit {self.verdict.upper()}: empirical ε lower bound "
            f"{self.empirical_epsilon_lower:.2f} ({self.confidence:.0%} confidence); {claim}.",
            self.reason,
            f"{self.trials} trials x {len(self.targets)} targets; pooled TPR {self.tpr:.2f}, "
            f"FPR {self.fpr:.2f}; the largest ε these trials could certify is "
            f"{self.max_measurable_epsilon:.2f}.",
        ]
        return "\n".join(lines + [f"- {n}" for n in self.notes])

    def to_html(self, path: str | Path) -> None:
        """Write a small standalone HTML page (inline CSS, no scripts), atomically."""
        atomic_write_text(path, _html_page(self))


def audit(
    synthesizer_factory: Callable[[], Synthesizer],
    data: pd.DataFrame | None = None,
    metadata: Metadata | dict | str | Path | None = None,
    trials: int = 20,
    targets: int | Sequence[int] = 3,
    n_rows: int | None = None,
    seed: int = 0,
    progress: bool = True,
    max_seconds: float | None = None,
    n_synthetic: int | None = None,
    confidence: float = 0.95,
    mode: Literal["realistic", "worst-case"] = "realistic",
    workers: int | None = None,
) -> Any:
    """Run the membership game of the module docstring and bound ε from below.

    ``mode="worst-case"`` plays instead the white-box game on crafted neighbours
    (:func:`tabsynth.evaluation.audit_worstcase.worst_case_audit`), which tests the DP claim
    itself and comes close to it for an honest MST or AIM; it needs no ``data`` and returns a
    :class:`~tabsynth.evaluation.audit_worstcase.WorstCaseAuditResult`. For the DP
    autoregressive synthesizer the attack reads every noisy DP-SGD step
    (:mod:`tabsynth.evaluation.audit_dpsgd`); its worst case needs the schedule
    :data:`~tabsynth.evaluation.audit_dpsgd.WORST_CASE_PARAMS` in the factory. Only ``trials``,
    ``seed``, ``progress``, ``max_seconds``, ``confidence`` and ``workers`` (its processes)
    apply to it.

    Parameters
    ----------
    synthesizer_factory:
        Returns a new, unfitted synthesizer each call, e.g. ``lambda: AIMSynthesizer(epsilon=1)``.
    data:
        The table to audit on (realistic mode).
    metadata:
        Passed to every ``fit``; ``None`` lets the synthesizer detect it (a DP synthesizer
        refuses that, as it should).
    trials:
        Trials per target, each one IN and one OUT fit; at least 4 (half choose the rule,
        half measure it). Total fits: ``2 * trials * targets``. In worst-case mode: trials of
        one IN and one OUT fit; thousands bring the bound close to an honest claim.
    targets:
        How many targets to pick among the most isolated records, or their row positions.
    n_rows:
        Size of the background dataset ``D`` (a random subsample of the other rows); fits on
        fewer rows are faster, and one record weighs more in them.
    seed:
        Seeds target choice, subsampling, row order and the sampling seeds.
    progress:
        Print the runtime estimate and show a progress bar. The estimate is the first fit's
        time multiplied by the number of fits; that fit also pays one-time costs (imports,
        compilation), so the estimate tends to be high and the bar's ETA refines it.
    max_seconds:
        Stop starting new trials once this budget would be exceeded; the result says so.
    n_synthetic:
        Rows sampled per fit (default: as many as ``D`` has).
    confidence:
        Confidence of the ε bound and of the reported intervals.
    """
    if mode == "worst-case":
        from tabsynth.evaluation.audit_worstcase import worst_case_audit

        return worst_case_audit(
            synthesizer_factory,
            trials,
            seed=seed,
            workers=workers,
            progress=progress,
            max_seconds=max_seconds,
            confidence=confidence,
        )
    if mode != "realistic":
        raise ParameterError(f"mode must be 'realistic' or 'worst-case', not {mode!r}")
    started = time.perf_counter()
    if not callable(synthesizer_factory):
        raise ParameterError("synthesizer_factory must be a callable returning a new synthesizer")
    if data is None:
        raise ParameterError("the realistic audit needs data: the table to audit on")
    check_frame(data)
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 4:
        raise ParameterError(f"trials must be an integer >= 4 (half calibrate), not {trials!r}")
    if n_synthetic is not None and (
        isinstance(n_synthetic, bool) or not isinstance(n_synthetic, int) or n_synthetic < 1
    ):
        raise ParameterError(f"n_synthetic must be a positive integer, not {n_synthetic!r}")
    if max_seconds is not None and not (
        isinstance(max_seconds, (int, float)) and 0 < max_seconds < math.inf
    ):
        raise ParameterError(f"max_seconds must be positive, not {max_seconds!r}")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        raise ParameterError(f"confidence must be a number in [0.5, 1), not {confidence!r}")
    if not 0.5 <= confidence < 1:
        raise ParameterError(f"confidence must be in [0.5, 1), not {confidence!r}")
    if n_rows is not None and (
        isinstance(n_rows, bool) or not isinstance(n_rows, int) or n_rows < 2
    ):
        raise ParameterError(f"n_rows must be an integer >= 2, not {n_rows!r}")
    rng = np.random.default_rng(check_seed(seed))
    user_meta = as_metadata(metadata)
    meta = user_meta if user_meta is not None else Metadata.detect(data)
    columns = learned_columns(meta, {"audited": data})
    table = data.reset_index(drop=True)
    chosen = _targets(table, meta, columns, targets, rng)
    background = table.drop(index=chosen)
    if n_rows is not None:
        keep = rng.permutation(len(background))[: min(n_rows, len(background))]
        background = background.iloc[np.sort(keep)]
    n_synth = n_synthetic or len(background)
    game = _Game(meta, columns, background, table.iloc[chosen], confidence)

    total_fits = 2 * trials * len(chosen)
    notes: list[str] = []
    claimed: tuple[float | None, float | None] = (None, None)
    bar = tqdm(total=total_fits, disable=not progress, desc="audit fits", file=sys.stderr)
    completed = 0
    seeded = False
    trial_seconds: list[float] = []
    for trial in range(trials):
        if max_seconds is not None and trial_seconds:
            projected = time.perf_counter() - started + float(np.mean(trial_seconds))
            if projected > max_seconds:
                notes.append(
                    f"Stopped after {completed} of {trials} trials: max_seconds={max_seconds:g} "
                    "would have been exceeded. Fewer trials give a weaker (lower) bound."
                )
                break
        t0 = time.perf_counter()
        for t in range(len(chosen)):
            for world in (0, 1):
                synth = synthesizer_factory()
                if not isinstance(synth, Synthesizer):
                    raise ParameterError(
                        "synthesizer_factory must return a new tabsynth synthesizer, got "
                        f"{type(synth).__name__}"
                    )
                train = game.training_set(t, world, rng)
                synth.fit(train, user_meta)
                sample = synth.sample(n_synth, seed=int(rng.integers(2**31)))
                game.record(t, world, sample)
                claimed = _claim(synth, claimed)
                if getattr(synth.privacy, "seeded_noise", False) and not seeded:
                    seeded = True
                    notes.append(
                        "The fits used seeded DP noise (noise_seed): their noise repeats from "
                        "fit to fit, so the trials are not independent and the bound is not "
                        "valid. Audit a factory without noise_seed."
                    )
                bar.update(1)
                if trial == 0 and t == 0 and world == 0:
                    estimate = (time.perf_counter() - t0) * total_fits
                    notes.append(f"Estimated runtime before starting: {estimate:.0f} s.")
                    if progress:
                        tqdm.write(
                            f"Audit: {total_fits} fits ({trials} trials x {len(chosen)} targets "
                            f"x IN/OUT); estimated {estimate:.0f} s",
                            file=sys.stderr,
                        )
        trial_seconds.append(time.perf_counter() - t0)
        completed += 1
    bar.close()
    if completed < 4:
        notes.append(f"Only {completed} trials ran; at least 4 are needed for a bound.")
    return game.result(completed, chosen, claimed, notes, time.perf_counter() - started)


class _Game:
    """State of one audit: the neighbouring datasets and the scores seen so far."""

    def __init__(
        self,
        metadata: Metadata,
        columns: list[str],
        background: pd.DataFrame,
        target_rows: pd.DataFrame,
        confidence: float,
    ) -> None:
        self.metadata, self.columns = metadata, columns
        self.background, self.target_rows = background, target_rows
        self.confidence = confidence
        # coded once: each trial codes only its synthetic rows against these codes
        (bg, self.targets), self.vocabulary = Vocabulary.of(
            metadata, columns, [background, target_rows]
        )
        self.encoder = DistanceEncoder.fit(bg)
        dist, _ = nearest(self.encoder.transform(self.targets), self.encoder.transform(bg), 1)
        self.radius = dist[:, 0] / 2  # closer than this: nearer the target than any real row
        self.queries = QueryScore(bg.values, bg.numeric)
        # scores[target][world] -> list of (one value per name in SCORES) per trial
        self.scores: list[list[list[tuple[float, ...]]]] = [
            [[], []] for _ in range(len(target_rows))
        ]

    def training_set(self, t: int, world: int, rng: np.random.Generator) -> pd.DataFrame:
        rows = self.background
        if world == 1:
            rows = pd.concat([rows, self.target_rows.iloc[[t]]])
        return rows.iloc[rng.permutation(len(rows))].reset_index(drop=True)

    def record(self, t: int, world: int, sample: pd.DataFrame) -> None:
        target, synth = self.targets.take(np.array([t])), self.vocabulary.code(sample)
        dist, _ = nearest(self.encoder.transform(target), self.encoder.transform(synth), len(synth))
        r = self.radius[t]
        near = float(np.sum(dist[0] < r) if r > 0 else np.sum(dist[0] == 0.0))
        query, focused = self.queries.scores(target.values, synth.values)
        self.scores[t][world].append((-float(dist[0, 0]), near, query, focused))

    def result(
        self,
        completed: int,
        chosen: list[int],
        claimed: tuple[float | None, float | None],
        notes: list[str],
        elapsed: float,
    ) -> AuditResult:
        eps_claim, delta_claim = claimed
        delta = delta_claim or 0.0
        half = completed // 2
        tp = fp = n_eval = 0
        per_target = []
        for t, index in enumerate(chosen):
            if completed < 4:
                break
            out_s = np.asarray(self.scores[t][0][:completed])
            in_s = np.asarray(self.scores[t][1][:completed])
            score, thr = _calibrate(in_s[:half], out_s[:half], delta, self.confidence)
            t_tp = int(np.sum(in_s[half:, score] >= thr))
            t_fp = int(np.sum(out_s[half:, score] >= thr))
            n = completed - half
            tp, fp, n_eval = tp + t_tp, fp + t_fp, n_eval + n
            per_target.append(
                {
                    "row": index,
                    "score": SCORES[score],
                    "threshold": thr,
                    "tpr": t_tp / n,
                    "fpr": t_fp / n,
                    "evaluation_trials": n,
                }
            )
        if n_eval == 0:
            eps_lb, tpr, fpr, ci, best = 0.0, 0.0, 0.0, {"tpr": [0, 1], "fpr": [0, 1]}, 0.0
        else:
            eps_lb = epsilon_lower_bound(tp, n_eval, fp, n_eval, delta, self.confidence)
            best = epsilon_lower_bound(n_eval, n_eval, 0, n_eval, delta, self.confidence)
            tpr, fpr = tp / n_eval, fp / n_eval
            ci = {
                "tpr": list(clopper_pearson(tp, n_eval, self.confidence)),
                "fpr": list(clopper_pearson(fp, n_eval, self.confidence)),
            }
        verdict = decide_verdict(eps_lb, eps_claim, best)
        reason = _reason(verdict, eps_lb, eps_claim, best, self.confidence)
        needed = None
        if verdict == "inconclusive":
            needed = trials_needed(eps_claim or 0.0, len(chosen), delta, self.confidence)
            reason += " " + _needed_sentence(needed, eps_claim, len(chosen), completed)
        return AuditResult(
            claimed_epsilon=eps_claim,
            claimed_delta=delta_claim,
            empirical_epsilon_lower=eps_lb,
            ci=ci,
            tpr=tpr,
            fpr=fpr,
            trials=completed,
            targets=list(chosen),
            verdict=verdict,
            reason=reason,
            notes=[*notes, CAVEAT],
            confidence=self.confidence,
            max_measurable_epsilon=best,
            trials_needed=needed,
            per_target=per_target,
            elapsed_seconds=elapsed,
        )


def _calibrate(
    in_s: np.ndarray, out_s: np.ndarray, delta: float, confidence: float
) -> tuple[int, float]:
    """Score and threshold ("IN if score >= threshold") that separate best on calibration
    trials: the largest ε bound, then the largest TPR - FPR."""
    best = (-1.0, -2.0, 0, math.inf)
    n = len(in_s)
    for score in range(len(SCORES)):
        for thr in np.unique(np.r_[in_s[:, score], out_s[:, score]]):
            k_in = int(np.sum(in_s[:, score] >= thr))
            k_out = int(np.sum(out_s[:, score] >= thr))
            eps = epsilon_lower_bound(k_in, n, k_out, n, delta, confidence)
            key = (eps, k_in / n - k_out / n, score, float(thr))
            if key[:2] > best[:2]:
                best = key
    return best[2], best[3]


def claim_text(epsilon: float | None, delta: float | None) -> str:
    """The privacy claim an audit tests, in words."""
    if epsilon is None:
        return "no privacy claim (non-private synthesizer)"
    return f"claimed ε = {epsilon:g}, δ = {delta:g}"


def _targets(
    table: pd.DataFrame,
    metadata: Metadata,
    columns: list[str],
    targets: int | Sequence[int],
    rng: np.random.Generator,
) -> list[int]:
    """Positions of the targets: given, or the rows farthest from their nearest other row."""
    n = len(table)
    if isinstance(targets, (int, np.integer)) and not isinstance(targets, bool):
        if not 1 <= targets < n:
            raise ParameterError(f"targets must be between 1 and {n - 1} rows, not {targets}")
        (coded,) = code_tables(metadata, columns, [table])
        encoder = DistanceEncoder.fit(coded)
        rows = encoder.transform(coded)
        candidates = rng.permutation(n)[:CANDIDATE_ROWS]
        dist, idx = nearest(rows[candidates], rows, 2)
        # the nearest row is the candidate itself unless it has a duplicate (distance 0 then)
        isolation = np.where(idx[:, 0] == candidates, dist[:, 1], dist[:, 0])
        order = np.argsort(-isolation, kind="stable")[: int(targets)]
        return sorted(int(candidates[i]) for i in order)
    if isinstance(targets, (str, bytes)) or not isinstance(targets, Sequence):
        raise ParameterError(f"targets must be a count or a list of row positions, not {targets!r}")
    if not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in targets):
        raise ParameterError(f"target positions must be whole row positions, got {list(targets)}")
    chosen = sorted({int(i) for i in targets})
    if not chosen or chosen[0] < 0 or chosen[-1] >= n or len(chosen) >= n:
        raise ParameterError(
            f"target positions must be distinct row positions in 0..{n - 1}, leaving at least "
            f"one other row; got {list(targets)}"
        )
    return chosen


def _claim(
    synth: Synthesizer, previous: tuple[float | None, float | None]
) -> tuple[float | None, float | None]:
    ledger = synth.privacy
    if ledger is None:
        return previous
    eps, delta = float(ledger.epsilon), float(ledger.delta)
    if previous[0] is None:
        return eps, delta
    return max(previous[0], eps), max(previous[1] or 0.0, delta)


def decide_verdict(
    empirical_epsilon: float, claimed_epsilon: float | None, max_measurable_epsilon: float
) -> Verdict:
    """Three-way verdict of an audit from its ε lower bound, the claim and the largest ε its
    trials could certify (module docstring).

    A claim equal to ``max_measurable_epsilon`` is inconclusive too: the bound never exceeds
    what a perfect attack reaches, so such a claim could not have failed. No claim
    (non-private) is judged against ε = 0.

    >>> decide_verdict(2.0, 1.0, 2.0), decide_verdict(0.3, 1.0, 2.0), decide_verdict(0.0, 3.0, 2.0)
    ('failed', 'passed', 'inconclusive')
    """
    claim = 0.0 if claimed_epsilon is None else claimed_epsilon
    if empirical_epsilon > claim:
        return "failed"
    if max_measurable_epsilon > claim:
        return "passed"
    return "inconclusive"


def trials_needed(
    epsilon: float, targets: int, delta: float = 0.0, confidence: float = 0.95
) -> int | None:
    """Fewest audit trials with which a perfect attack on ``targets`` targets would certify
    more than ``epsilon``, so that a claim of ``epsilon`` could fail; ``None`` if no feasible
    number would (:func:`~tabsynth.evaluation.stats.trials_to_certify`).

    Each target's trials are split as in :func:`audit`: the first ``trials // 2`` choose the
    rule, the other ``trials - trials // 2`` are counted, and the counts are pooled over
    targets. So ``m = ceil(n / targets)`` evaluation trials per target are needed, which
    ``2m - 1`` trials give (and at least 4, the audit's minimum).

    >>> trials_needed(1.0, targets=3)  # 12 pooled evaluation trials: 4 per target
    7
    """
    pooled = trials_to_certify(epsilon, delta, confidence)
    if pooled is None:
        return None
    per_target = -(-pooled // targets)
    return max(4, 2 * per_target - 1)


def _reason(
    verdict: Verdict, eps_lb: float, claim: float | None, best: float, confidence: float
) -> str:
    """One sentence saying why the verdict is what it is."""
    if claim is None:
        return {
            "failed": f"Non-private synthesizer: it measurably leaks its most isolated records "
            f"(ε ≥ {eps_lb:.2f} at {confidence:.0%} confidence).",
            "passed": "Non-private synthesizer: no leakage detected by trials able to certify "
            f"up to ε = {best:.2f}.",
            "inconclusive": "Non-private synthesizer, and too few trials for even a perfect "
            "attack to show any leakage.",
        }[verdict]
    return {
        "failed": f"The lower bound {eps_lb:.2f} exceeds the claimed ε = {claim:g}: at "
        f"{confidence:.0%} confidence the implementation leaks more than it promises.",
        "passed": f"No violation found: these trials could have certified up to ε = "
        f"{best:.2f}, above the claim {claim:g}, and the attacks stayed at {eps_lb:.2f}.",
        "inconclusive": f"These trials cannot test the claim: even a perfect attack would "
        f"certify at most ε = {best:.2f}, not more than the claimed {claim:g}.",
    }[verdict]


def _needed_sentence(needed: int | None, claim: float | None, targets: int, ran: int) -> str:
    """How many trials an inconclusive audit would have needed (``needed`` is ``None`` only
    for a claim so large that no feasible number suffices)."""
    goal = "Detecting any leakage" if claim is None else f"Testing ε = {claim:g}"
    if needed is None:
        return f"No feasible number of trials could test ε = {claim:g}."
    plural = "s" if targets != 1 else ""
    return (
        f"{goal} needs at least {needed:,} trials with {targets} target{plural} "
        f"(this audit ran {ran}), or more targets."
    )


_CSS = """
body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}.passed{color:#1a7f37}.failed{color:#b42318}.inconclusive{color:#9a6700}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;
text-align:left}th{background:#f4f4f4}li{margin:.3rem 0}img{max-width:100%}
"""


def html_row(name: str, value: object) -> str:
    """One row of an audit page's summary table."""
    return f"<tr><th>{html.escape(name)}</th><td>{html.escape(str(value))}</td></tr>"


def html_page(
    title: str, verdict: str, reason: str, summary: str, body: str, notes: list[str]
) -> str:
    """A standalone audit page (inline CSS, no scripts): both audits' pages share it."""
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>tabsynth {title.lower()}</title><style>{_CSS}</style></head><body>"
        f"<h1>{title}: <span class='{verdict}'>{verdict}</span></h1>"
        f"<p>{html.escape(reason)}</p><table>{summary}</table>{body}"
        f"<h2>Notes</h2><ul>{items}</ul></body></html>\n"
    )


def _html_page(r: AuditResult) -> str:
    row = html_row
    claim = "none (non-private)" if r.claimed_epsilon is None else f"{r.claimed_epsilon:g}"
    summary = "".join(
        [
            row("empirical ε lower bound", f"{r.empirical_epsilon_lower:.3f}"),
            row("claimed ε", claim),
            row("claimed δ", "-" if r.claimed_delta is None else f"{r.claimed_delta:g}"),
            row("confidence", f"{r.confidence:.0%}"),
            row("largest ε this audit could certify", f"{r.max_measurable_epsilon:.3f}"),
            row("pooled TPR (CI)", f"{r.tpr:.3f} ({r.ci['tpr'][0]:.3f}-{r.ci['tpr'][1]:.3f})"),
            row("pooled FPR (CI)", f"{r.fpr:.3f} ({r.ci['fpr'][0]:.3f}-{r.ci['fpr'][1]:.3f})"),
            row("trials x targets", f"{r.trials} x {len(r.targets)}"),
            row("runtime", f"{r.elapsed_seconds:.1f} s"),
        ]
    )
    head = "<tr><th>row</th><th>score</th><th>threshold</th><th>TPR</th><th>FPR</th></tr>"
    targets = "".join(
        f"<tr><td>{t['row']}</td><td>{html.escape(t['score'])}</td><td>{t['threshold']:.4g}</td>"
        f"<td>{t['tpr']:.2f}</td><td>{t['fpr']:.2f}</td></tr>"
        for t in r.per_target
    )
    body = f"<h2>Targets</h2><table>{head}{targets}</table>"
    return html_page("Privacy audit", r.verdict, r.reason, summary, body, r.notes)
