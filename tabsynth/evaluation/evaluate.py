"""``evaluate()``: one call from (real, synthetic[, holdout]) tables to a :class:`Report`.

The steps, in order: check the inputs; encode every table with one :class:`Discretizer`
fitted on the real table; score single columns, pairs and 3-way marginals against the real
*reference* (see below); train the real-vs-synthetic detection classifier; TSTR vs TRTR when a
``target`` is given; the same within groups; the privacy attacks of
:mod:`tabsynth.evaluation.privacy`; and the report.

The reference. Every fidelity number is also computed for a real sample of (at most) the
synthetic table's size, scored against the real table the same way, because "as good as real"
is not 1.0: a fresh real sample of 5 000 rows has visibly imperfect 3-way marginals too. The
sample is the ``holdout`` when one is given (rows the synthesizer never saw: the honest
reference). Without one, the real table is split at random in two halves and one half is
scored against the other; halves are smaller than the whole, so this reference is a little
noisier (more lenient) than a holdout, and the report says so.

When the reference sample is smaller than the synthetic table (a small holdout), its scores
carry more sampling noise than the synthetic table's, which would flatter the comparison. The
verdict therefore compares the reference with the synthetic table subsampled to the same size
(``score_matched`` / ``two_way_accuracy_matched``); the headline numbers use every row.

Size caps (rows drawn at random with ``seed``; the report records any subsampling):
:data:`MAX_ROWS` per table for everything, :data:`~fidelity.DETECTION_MAX_ROWS` per class
for detection, :data:`~utility.UTILITY_MAX_TRAIN` / :data:`~utility.UTILITY_MAX_TEST` for
utility. Intervals on detection and utility reflect the subsample size.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

import tabsynth
from tabsynth.errors import DataError, MetadataError, ParameterError
from tabsynth.evaluation import fidelity, subgroups, utility
from tabsynth.evaluation.fidelity import Discretizer, EncodedTable
from tabsynth.evaluation.report import Report
from tabsynth.metadata import GENERATED_KINDS, Metadata, check_frame
from tabsynth.rules.report import rules_section

#: Rows per table used at most; larger tables are subsampled with ``seed``.
MAX_ROWS = 100_000
#: Largest ``seed``: scikit-learn's models (detection, utility, attacks) take seeds < 2**32.
MAX_SEED = 2**32 - 1
#: Share of the real table held out as the utility test set when no holdout is given.
UTILITY_TEST_SHARE = 0.3
STEPS = ("encode", "columns", "pairs", "k-marginal", "detection", "utility", "subgroups", "privacy")


def evaluate(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    metadata: Metadata | None = None,
    target: str | None = None,
    sensitive: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    privacy: Any = None,
    seed: int = 0,
    *,
    progress: bool | None = None,
    audit: Any = None,
) -> Report:
    """Score a synthetic table against the real table it was fitted on.

    Parameters
    ----------
    real:
        The table the synthesizer was trained on.
    synthetic:
        The synthetic table; same columns as ``real`` (any order).
    holdout:
        Real rows the synthesizer never saw. Strongly recommended: it is the fidelity
        reference, the utility test set and the non-member side of membership attacks.
    metadata:
        Column kinds; detected from ``real`` when omitted (fine here: a report is no release).
    target:
        Column to predict for the utility (TSTR vs TRTR) section.
    sensitive:
        Columns an attacker might infer (privacy section); default: the metadata's sensitive
        columns.
    groups:
        Columns whose groups are checked one by one; default: ``sensitive``, else the
        metadata's sensitive columns.
    privacy:
        The synthesizer's privacy ledger (``synth.privacy``) when it was trained with DP: any
        object with ``epsilon``, ``delta``, ``explain()`` and ``to_dict()``.
    seed:
        Seeds every subsample, fold split, model and bootstrap: same inputs, same report.
    audit:
        A privacy audit of the synthesizer (:func:`tabsynth.evaluation.audit.audit`'s result
        or its ``to_dict()``), shown in the privacy section.
    progress:
        Show a progress bar (default: only on a terminal).

    Examples
    --------
    >>> df = pd.DataFrame({"x": range(200), "c": ["a", "b"] * 100})
    >>> evaluate(df, df, progress=False).to_dict()["summary"]["k_marginal"]
    1000.0
    """
    started = time.perf_counter()
    metadata = _check_inputs(real, synthetic, holdout, metadata, target, privacy, seed)
    sensitive_cols = _check_columns(
        "sensitive", sensitive if sensitive is not None else metadata.sensitive_columns, metadata
    )
    group_cols = _check_columns(
        "groups", groups if groups is not None else sensitive_cols, metadata
    )
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    sizes = {"real": len(real), "synthetic": len(synthetic)}
    if holdout is not None:
        sizes["holdout"] = len(holdout)
    real, synthetic = _cap(real, "real", rng, notes), _cap(synthetic, "synthetic", rng, notes)
    synthetic = synthetic[list(real.columns)]
    if holdout is not None:
        holdout = _cap(holdout[list(real.columns)], "holdout", rng, notes)
    steps = _Progress(progress)

    disc = Discretizer.fit(real, metadata)
    enc_real, enc_syn = disc.encode(real), disc.encode(synthetic)
    enc_hold = disc.encode(holdout) if holdout is not None else None
    ref_base, ref_sample, ref_note = _reference(enc_real, enc_syn, enc_hold, rng)
    notes += ref_note
    # the synthetic table at the reference's size, for a like-for-like verdict (module doc)
    matched = enc_syn
    if len(ref_sample) < len(enc_syn):
        matched = enc_syn.take(np.sort(rng.choice(len(enc_syn), len(ref_sample), replace=False)))
    steps.done("encode")

    fidelity_section = _fidelity(
        disc, enc_real, enc_syn, (ref_base, ref_sample), matched, seed, steps
    )
    k_marg = fidelity_section["k_marginal"]

    utility_section, predictions, test = None, None, None
    if target is not None:
        train, test, u_note = _utility_split(enc_real, enc_hold, rng)
        utility_section, predictions = utility.utility_report(
            disc, train, enc_syn, test, target, seed=seed
        )
        utility_section["test_source"] = "holdout" if enc_hold is not None else "real split"
        utility_section["notes"] += u_note
    steps.done("utility")

    subgroup_section = None
    if group_cols:
        gap = None if k_marg["reference"] is None else k_marg["reference"] - k_marg["score_matched"]
        subgroup_section = subgroups.subgroup_report(
            disc,
            group_cols,
            enc_real,
            enc_syn,
            (ref_base, ref_sample),
            overall_gap=gap,
            predictions=predictions,
            test=test,
            seed=seed,
        )
    steps.done("subgroups")

    privacy_section = _privacy(
        real, synthetic, holdout, metadata, sensitive_cols, seed, groups=group_cols
    )
    steps.done("privacy")

    excluded = [n for n, s in metadata.columns.items() if s.kind in GENERATED_KINDS]
    results = {
        "settings": {
            "seed": seed,
            "bins": fidelity.DEFAULT_BINS,
            "reference": "holdout" if holdout is not None else "split",
            "n_reference": len(ref_sample),
            "target": target,
            "groups": group_cols,
            "sensitive": sensitive_cols,
            "excluded_columns": excluded,
            "input_rows": sizes,
            "caps": {
                "max_rows": MAX_ROWS,
                "detection_rows_per_class": fidelity.DETECTION_MAX_ROWS,
                "utility_train_rows": utility.UTILITY_MAX_TRAIN,
                "utility_test_rows": utility.UTILITY_MAX_TEST,
                "k_marginal_sets": fidelity.K_MARGINAL_MAX_SETS,
            },
            "tabsynth_version": tabsynth.__version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "timings_s": steps.timings,
        },
        "n_real": len(real),
        "n_synthetic": len(synthetic),
        "n_holdout": None if holdout is None else len(holdout),
        "fidelity": fidelity_section,
        "utility": utility_section,
        "subgroups": subgroup_section,
        "privacy": privacy_section,
        "rules": rules_section(real, synthetic, metadata),
        "notes": notes,
    }
    steps.close(total=time.perf_counter() - started)
    return Report(results, privacy=privacy, audit=audit)


def _fidelity(
    disc: Discretizer,
    real: EncodedTable,
    synth: EncodedTable,
    reference: tuple[EncodedTable, EncodedTable],
    matched: EncodedTable,
    seed: int,
    steps: _Progress,
) -> dict[str, Any]:
    """Columns, pairs, k-marginal and detection, each beside its real reference."""
    ref_base, ref_sample = reference
    columns = fidelity.column_report(disc, real, synth)
    for col, ref in zip(columns, fidelity.column_report(disc, ref_base, ref_sample), strict=True):
        col["score_reference"] = ref["score"]
    steps.done("columns")

    pairs = fidelity.pair_report(disc, real, synth)
    ref_pairs = fidelity.pair_report(disc, ref_base, ref_sample)
    pairs["two_way_accuracy_reference"] = ref_pairs["two_way_accuracy"]
    pairs["pair_trend_score_reference"] = ref_pairs["pair_trend_score"]
    pairs["association"]["reference"] = ref_pairs["association"]["synthetic"]
    tvds = fidelity.two_way_tvds(disc, real, matched)
    pairs["two_way_accuracy_matched"] = float(1 - tvds.mean()) if tvds.size else None
    steps.done("pairs")

    k_marg = fidelity.k_marginal_detail(disc, real, synth, seed=seed)
    k_marg["reference"] = fidelity.k_marginal_detail(disc, ref_base, ref_sample, seed=seed)["score"]
    k_marg["score_matched"] = fidelity.k_marginal_detail(disc, real, matched, seed=seed)["score"]
    steps.done("k-marginal")

    detect = fidelity.detection(disc, real, synth, seed=seed)
    steps.done("detection")
    return {"columns": columns, "pairs": pairs, "k_marginal": k_marg, "detection": detect}


class _Progress:
    """A tqdm bar over :data:`STEPS` that also records how long each step took."""

    def __init__(self, show: bool | None) -> None:
        from tqdm.auto import tqdm

        # tqdm's disable=None hides the bar when the output is not a terminal
        disable = None if show is None else not show
        self.bar = tqdm(total=len(STEPS), desc="tabsynth report", disable=disable)
        self.timings: dict[str, float] = {}
        self._last = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self._last, 3)
        self._last = now
        self.bar.set_postfix_str(name)
        self.bar.update(1)

    def close(self, total: float) -> None:
        self.timings["total"] = round(total, 3)
        self.bar.close()


# ---------------------------------------------------------------------------------------------
# input checks


def _check_inputs(
    real: Any,
    synthetic: Any,
    holdout: Any,
    metadata: Metadata | None,
    target: str | None,
    privacy: Any,
    seed: Any,
) -> Metadata:
    for name, frame in (("real", real), ("synthetic", synthetic), ("holdout", holdout)):
        if frame is None and name == "holdout":
            continue
        try:
            check_frame(frame)
        except DataError as exc:
            raise DataError(f"{name} table: {exc}") from None
    _same_columns("synthetic", real, synthetic)
    if holdout is not None:
        _same_columns("holdout", real, holdout)
    if metadata is None:
        metadata = Metadata.detect(real)
    elif not isinstance(metadata, Metadata):
        raise ParameterError(f"metadata must be a tabsynth Metadata, got {type(metadata).__name__}")
    elif set(metadata.names) != set(real.columns):
        missing = sorted(set(metadata.names) - set(real.columns))
        extra = sorted(set(real.columns) - set(metadata.names))
        raise MetadataError(
            f"the metadata does not describe the real table (in the metadata only: {missing}; "
            f"in the table only: {extra}); pass metadata for exactly the table's columns"
        )
    _check_kinds(metadata, real=real, synthetic=synthetic, holdout=holdout)
    if target is not None:
        if target not in metadata.columns:
            raise ParameterError(
                f"target {target!r} is not a column; choose one of {', '.join(metadata.names)}"
            )
        if metadata[target].kind in GENERATED_KINDS:
            raise ParameterError(
                f"target {target!r} is an {metadata[target].kind} column, which is generated "
                "fresh and never learned; choose a numerical, categorical or boolean column"
            )
    if privacy is not None and not all(
        hasattr(privacy, attr) for attr in ("epsilon", "delta", "explain", "to_dict")
    ):
        raise ParameterError(
            "privacy must be a privacy ledger (synth.privacy): an object with epsilon, delta, "
            f"explain() and to_dict(); got {type(privacy).__name__}"
        )
    if (
        not isinstance(seed, (int, np.integer))
        or isinstance(seed, bool)
        or not 0 <= seed <= MAX_SEED
    ):
        raise ParameterError(
            f"seed must be a whole number from 0 to 2**32 - 1 (the report's scikit-learn "
            f"models take no larger seed), got {seed!r}"
        )
    return metadata


def _check_kinds(metadata: Metadata, **frames: pd.DataFrame | None) -> None:
    """Every table's values fit the declared kinds (text in a number column, numbers in a
    date column): else the metrics would compare values of different types, or crash deep
    inside one. Bounds and categories are not checked: a synthetic table may leave them."""
    schema = metadata.schema_only()
    schema = schema.with_columns(
        **{  # 2.5 in an int column is a poor synthetic value, not a wrong kind
            n: dataclasses.replace(s, dtype="float", precision=None)
            for n, s in schema.columns.items()
            if s.kind == "numerical"
        }
    )
    for name, frame in frames.items():
        if frame is None:
            continue
        try:
            # private: an all-missing synthetic column is scored, not refused
            schema.validate(frame[schema.names], private=True)
        except (DataError, MetadataError) as exc:
            raise DataError(f"{name} table: {exc}") from None


def _same_columns(name: str, real: pd.DataFrame, other: pd.DataFrame) -> None:
    missing = [c for c in real.columns if c not in other.columns]
    extra = [c for c in other.columns if c not in real.columns]
    if missing or extra:
        raise DataError(
            f"the {name} table's columns differ from the real table's (missing: {missing}; "
            f"extra: {extra}); compare tables with the same columns"
        )


def _check_columns(what: str, names: Sequence[str], metadata: Metadata) -> list[str]:
    if isinstance(names, str):
        names = [names]
    out = []
    for name in names:
        if name not in metadata.columns:
            raise ParameterError(
                f"{what}: {name!r} is not a column; choose from {', '.join(metadata.names)}"
            )
        if metadata[name].kind in GENERATED_KINDS:
            raise ParameterError(
                f"{what}: {name!r} is an {metadata[name].kind} column and is not evaluated"
            )
        out.append(name)
    return list(dict.fromkeys(out))


# ---------------------------------------------------------------------------------------------
# samples


def _cap(
    frame: pd.DataFrame, name: str, rng: np.random.Generator, notes: list[str]
) -> pd.DataFrame:
    if len(frame) <= MAX_ROWS:
        return frame.reset_index(drop=True)
    notes.append(f"The {name} table has {len(frame):,} rows; a random {MAX_ROWS:,} were used.")
    rows = np.sort(rng.choice(len(frame), MAX_ROWS, replace=False))
    return frame.iloc[rows].reset_index(drop=True)


def _reference(
    real: EncodedTable,
    synth: EncodedTable,
    holdout: EncodedTable | None,
    rng: np.random.Generator,
) -> tuple[EncodedTable, EncodedTable, list[str]]:
    """(base, sample) real tables whose comparison is the fidelity reference (module doc)."""
    notes = []
    if holdout is not None:
        base, sample = real, holdout
    else:
        order = rng.permutation(len(real))
        half = len(real) // 2
        base, sample = real.take(order[:half]), real.take(order[half:])
        notes.append(
            "No holdout was given: the fidelity reference scores one random half of the real "
            "table against the other half, which is a little more lenient than a holdout."
        )
    if len(sample) > len(synth):
        sample = sample.take(np.sort(rng.choice(len(sample), len(synth), replace=False)))
    elif len(sample) < len(synth):
        notes.append(
            f"The reference sample has {len(sample):,} rows, fewer than the {len(synth):,} "
            "synthetic rows, so its scores carry more sampling noise: a lenient reference."
        )
    return base, sample, notes


def _utility_split(
    real: EncodedTable, holdout: EncodedTable | None, rng: np.random.Generator
) -> tuple[EncodedTable, EncodedTable, list[str]]:
    if holdout is not None:
        return real, holdout, []
    order = rng.permutation(len(real))
    n_test = round(UTILITY_TEST_SHARE * len(real))
    note = (
        f"No holdout was given: {UTILITY_TEST_SHARE:.0%} of the real rows serve as the test set. "
        "The synthesizer saw those rows, so TSTR is optimistic."
    )
    return real.take(order[n_test:]), real.take(order[:n_test]), [note]


def _privacy(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    metadata: Metadata,
    sensitive: list[str],
    seed: int,
    groups: list[str] | None = None,
) -> dict[str, Any]:
    """Run the attacks of :mod:`tabsynth.evaluation.privacy` (imported here, when needed), and
    per group of ``groups`` those of :mod:`tabsynth.evaluation.group_privacy` when a holdout
    is given; a group's risk raises the table's."""
    from tabsynth.evaluation import group_privacy
    from tabsynth.evaluation.privacy import assess_privacy

    section = assess_privacy(real, synthetic, holdout, metadata, sensitive=sensitive, seed=seed)
    if not groups or holdout is None:
        return section
    by_group = group_privacy.group_privacy(
        real, synthetic, holdout, metadata, groups, sensitive, seed=seed
    )
    return group_privacy.combine(section, by_group)
