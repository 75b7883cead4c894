"""The first-hour demo: a differentially private synthetic copy of the bundled medical sample.

``tabsynth demo`` (and :func:`run_demo`) shows the path the package exists for: AIM at ε = 1
with the sample's *public* metadata (declared by hand in ``medical.metadata.json``, so no budget
is spent on the domain), fitted on 80 % of the rows; a synthetic table of the same size; what
the privacy ledger spent; and the report against the 20 % held out, ending with its verdict.
``non_private=True`` (``--non-private``) fits the GaussianCopula baseline instead, for a
comparison.

Why these AIM settings (measured on this sample, ``benchmarks/demo/README.md``): at (ε = 1,
δ = 1e-9) the whole fit has a zCDP budget of only ρ = 0.015. With AIM's defaults (32 bins, a plan
of 16 rounds per column) a 2-way marginal of two numeric columns has 1,024 cells whose expected
noise exceeds any error it could correct, so AIM never measures age against blood pressure,
creatinine or length of stay, and the many near-empty tail bins of HbA1c and length of stay
collect noise that sampling spreads across their wide ranges (HbA1c's 1 − KS 0.72-0.76, red).
Sixteen bins, a plan of 4 rounds per column (less noise per measurement) and a workload that
weights the target's 3-way marginals ×3 make those measurements affordable: in three draws of
four every fidelity line but detection came out amber or green. Detection stays red (AUC
0.79-0.84): noisy quantile edges leave glucose's sparse tail too heavy, and hard rules of the
sample (pregnancy only under 45) are broken by a few per cent of synthetic rows.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabsynth.errors import FileFormatError

#: The sample the demo uses, the column its utility check predicts, and its privacy budget.
SAMPLE = "medical"
TARGET = "readmitted_30d"
EPSILON = 1.0
#: Share of the sample held out as the report's reference (and the attacks' non-members).
HOLDOUT_SHARE = 0.2
#: AIM settings for a small table at ε = 1 (see the module docstring).
DEMO_BINS = 16
ROUNDS_PER_COLUMN = 4
TARGET_WEIGHT = 3.0
#: Files the demo writes into its output folder.
OUTPUTS = ("synthetic_medical.csv", "report.html", "report.json")


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` made: the fitted synthesizer, the report and the files written."""

    synthesizer: Any
    report: Any
    table: Path
    html: Path
    json: Path


def demo_synthesizer(epsilon: float = EPSILON, seed: int | None = None) -> Any:
    """AIM as the demo fits it: 16 bins, 4 rounds per column, the target's marginals ×3."""
    from tabsynth import datasets
    from tabsynth.synthesizers import AIMSynthesizer

    metadata = datasets.load_sample_metadata(SAMPLE)
    columns = [
        c
        for c in metadata.names
        if metadata[c].kind in ("numerical", "categorical", "boolean", "datetime")
    ]
    workload = list(itertools.combinations(columns, 3))
    weights = [TARGET_WEIGHT if TARGET in w else 1.0 for w in workload]
    return AIMSynthesizer(
        epsilon=epsilon,
        workload=workload,
        workload_weights=weights,
        bins=DEMO_BINS,
        max_rounds=ROUNDS_PER_COLUMN * len(columns),
        seed=seed,
    )


def ledger_summary(ledger: Any) -> str:
    """A few lines on what a DP fit spent: the guarantee, and the budget by phase."""
    lines = [
        f"privacy: ({ledger.spent_epsilon:.3g}, {ledger.spent_delta:.3g})-differential privacy "
        f"spent of a target (ε = {ledger.epsilon:g}, δ = {ledger.delta:g}); neighbours differ "
        "by one row"
    ]
    if ledger.public:
        lines.append(
            f"  public, not charged: {len(ledger.public)} declarations (schema, bounds, categories)"
        )
    phases: dict[str, list[Any]] = {}
    for entry in ledger.entries:
        phases.setdefault(entry.phase or "(no phase)", []).append(entry)
    total = ledger.rho_budget
    for phase, entries in phases.items():
        rho = sum(e.rho for e in entries)
        lines.append(
            f"  {phase}: {len(entries)} noisy releases, {100 * rho / total:.0f} % of the budget"
        )
    lines.append("  (every release: 'tabsynth privacy MODEL' or synth.privacy.explain())")
    return "\n".join(lines)


def run_demo(
    out_dir: str | Path,
    *,
    synthesizer: Any = None,
    seed: int = 0,
    status: Callable[[str], None] = print,
) -> DemoResult:
    """Fit ``synthesizer`` (default: :func:`demo_synthesizer`) on 80 % of the medical sample,
    sample as many rows, and write the synthetic table and the report into ``out_dir``.

    Every output path is checked before the fit. The sample is public, so the messages may
    quote its row counts; a DP fit's own messages would not.
    """
    from tabsynth import datasets
    from tabsynth.evaluation import evaluate
    from tabsynth.io import check_output_path, write_table

    synth = synthesizer if synthesizer is not None else demo_synthesizer(seed=seed)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileFormatError(
            f"cannot create the output folder {out}: {exc.strerror}; choose another --out-dir"
        ) from None
    table, html, json_path = (out / name for name in OUTPUTS)
    for path in (table, html, json_path):
        check_output_path(path)
    data = datasets.load_sample(SAMPLE)
    metadata = datasets.load_sample_metadata(SAMPLE)
    holdout = data.sample(frac=HOLDOUT_SHARE, random_state=seed)
    train = data.drop(index=holdout.index)
    what = (
        f"{type(synth).__name__} at ε = {synth.epsilon:g} with the sample's public metadata"
        if synth.private
        else f"{type(synth).__name__} (not differentially private)"
    )
    status(
        f"demo: fitting {what} on the bundled {SAMPLE} sample ({len(train):,} training rows x "
        f"{train.shape[1]} columns; {len(holdout):,} held out for the report)"
    )
    start = time.perf_counter()
    synth.fit(train, metadata=metadata)
    status(f"fitted in {time.perf_counter() - start:.1f} s")
    if synth.privacy is not None:
        status(ledger_summary(synth.privacy))
    synthetic = synth.sample(len(train), seed=seed)
    write_table(synthetic, table)
    status(f"wrote {len(synthetic):,} synthetic rows to {table}")
    status("writing the report (fidelity, utility, privacy attacks) ...")
    report = evaluate(
        train,
        synthetic,
        holdout=holdout,
        metadata=metadata,
        target=TARGET,
        privacy=synth.privacy,
        seed=seed,
    )
    report.to_html(html)
    report.to_json(json_path)
    return DemoResult(synth, report, table, html, json_path)
