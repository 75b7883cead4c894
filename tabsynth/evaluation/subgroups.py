"""Fidelity within groups: does the synthetic table serve every group, not just the majority?

A synthesizer can score well overall while distorting a small group (a minority, the oldest
patients, one region): the group is rare, so its errors barely move whole-table averages. For
each group column (declared with ``groups=``, else the metadata's sensitive columns; numbers and
dates are cut into quartile bands of the real values) and each of its groups this module
reports the group's share in real vs synthetic, 2-way accuracy and k-marginal within the
group, and TSTR/TRTR on the group's real test rows when a target is given.

Small groups are noisy: 200 real rows give a visibly imperfect 3-way marginal even for a
perfect synthesizer. So each group also gets a *reference*: the same scores for a real sample
(the holdout, or the other half of the real table) of at most the synthetic group's size,
against the real group. That is the expected noise at this group size, and a group is flagged
only when the synthetic table does clearly worse than it, beyond the whole-table gap.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tabsynth.errors import ParameterError
from tabsynth.evaluation import groups
from tabsynth.evaluation.fidelity import (
    MISSING_LABEL,
    Discretizer,
    EncodedTable,
    k_marginal_detail,
    marginal_tvd,
    two_way_tvds,
)
from tabsynth.evaluation.utility import UtilityPredictions

#: Categories kept as their own group (the most frequent in the real table); the rest merge.
MAX_GROUPS_PER_COLUMN = 12
#: A category with fewer real rows than this merges into "(other)".
MIN_GROUP_ROWS = 20
#: Groups with fewer rows than this on either side get shares only, no scores.
MIN_SCORED_ROWS = 10
#: Attribute sets for the k-marginal inside a group (fewer than for the whole table: speed).
GROUP_MAX_SETS = 60
#: Number of quantile bands of a numeric or datetime group column.
BANDS = 4
#: A group is flagged when its k-marginal gap to its reference exceeds the whole table's gap
#: by more than this many points ...
FLAG_K_MARGINAL = 50.0
#: ... or its TSTR gap to TRTR exceeds the whole table's gap by more than this ...
FLAG_UTILITY = 0.05
#: ... or its synthetic share is off by more than this factor (and by more than 3 standard
#: errors of the two shares).
FLAG_SHARE_RATIO = 1.25
#: Groups at least this large are flagged at the base thresholds; smaller ones need gaps
#: larger by sqrt(NOISE_ROWS / rows) (see :func:`noise_scale`).
NOISE_ROWS = 1000
#: A flag is "severe" (a red verdict) when its excess is this many times the flag threshold
#: (for shares: the excess of the ratio over 1).
SEVERE = 3.0
OTHER_LABEL = "(other)"


@dataclass(frozen=True)
class Grouping:
    """Assigns every row of an encoded table to a group of one column."""

    column: str
    index: int
    labels: tuple[str, ...]
    lookup: np.ndarray | None = None
    bands: np.ndarray | None = None

    @property
    def indices(self) -> tuple[int, ...]:
        return (self.index,)

    def assign(self, table: EncodedTable) -> np.ndarray:
        if self.lookup is not None:
            return self.lookup[table.codes[:, self.index]]
        assert self.bands is not None
        values = table.numbers[:, self.index]
        ids = np.searchsorted(self.bands, values, side="right")
        ids[np.isnan(values)] = len(self.labels) - 1
        return ids


def make_grouping(disc: Discretizer, column: str, real: EncodedTable) -> Grouping:
    """Groups of ``column``: frequent categories, or quartile bands of the real values."""
    if column not in disc.names:
        raise ParameterError(
            f"group column {column!r} is not an evaluated column; choose from "
            f"{', '.join(disc.names)}"
        )
    j = disc.names.index(column)
    coding = disc.columns[j]
    if coding.numeric:
        values = real.numbers[:, j]
        values = values[~np.isnan(values)]
        cuts = np.linspace(0, 1, BANDS + 1)[1:-1]
        bands = np.unique(np.quantile(values, cuts)) if values.size else np.empty(0)
        shown = [coding.format_value(b) for b in bands]
        if shown:
            inner = [f"{a} to < {b}" for a, b in itertools.pairwise(shown)]
            labels = [f"< {shown[0]}", *inner, f"≥ {shown[-1]}"]
        else:
            labels = ["all values"]
        return Grouping(column, j, (*labels, MISSING_LABEL), bands=bands)
    counts = np.bincount(real.codes[:, j], minlength=coding.n_levels)
    order = [c for c in np.argsort(-counts, kind="stable") if c < coding.missing_code]
    kept = [c for c in order if counts[c] >= MIN_GROUP_ROWS][:MAX_GROUPS_PER_COLUMN]
    names = coding.labels()
    labels = [names[c] for c in kept] + [MISSING_LABEL, OTHER_LABEL]
    lookup = np.full(coding.n_levels, len(labels) - 1, dtype=np.int64)
    for gid, code in enumerate(kept):
        lookup[code] = gid
    lookup[coding.missing_code] = len(kept)
    return Grouping(column, j, tuple(labels), lookup=lookup)


def subgroup_report(
    disc: Discretizer,
    columns: list[str],
    real: EncodedTable,
    synth: EncodedTable,
    reference: tuple[EncodedTable, EncodedTable],
    *,
    overall_gap: float | None = None,
    predictions: UtilityPredictions | None = None,
    test: EncodedTable | None = None,
    seed: int = 0,
    intersections: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """Scores per group of each column in ``columns``, and of each intersection of two of
    them (default: :func:`~tabsynth.evaluation.groups.intersection_pairs`), with the real
    reference beside each.

    ``reference`` is ``(base, sample)``: two real tables whose within-group comparison shows
    sampling noise. ``overall_gap`` is the whole table's k-marginal gap to its reference;
    ``predictions`` and ``test`` add TSTR/TRTR per group, and for a classification target the
    accuracy, TPR and FPR of both models and the equalized-odds difference of each column.
    """
    rng = np.random.default_rng(seed)
    single = {column: make_grouping(disc, column, real) for column in columns}
    pairs = groups.intersection_pairs(columns) if intersections is None else intersections
    groupings: list[Any] = list(single.values())
    for a, b in pairs:
        first = single.get(a) or make_grouping(disc, a, real)
        second = single.get(b) or make_grouping(disc, b, real)
        groupings.append(groups.IntersectionGrouping(first, second))
    out_columns = []
    for grouping in groupings:
        intersection = isinstance(grouping, groups.IntersectionGrouping)
        ids = {
            "real": grouping.assign(real),
            "synth": grouping.assign(synth),
            "base": grouping.assign(reference[0]),
            "sample": grouping.assign(reference[1]),
        }
        test_ids = None
        if predictions is not None and test is not None:
            test_ids = grouping.assign(test.take(predictions.test_rows))
        others = [i for i in range(len(disc.columns)) if i not in grouping.indices]
        rows = []
        for gid, label in enumerate(grouping.labels):
            n_real = int((ids["real"] == gid).sum())
            n_syn = int((ids["synth"] == gid).sum())
            # an intersection lists only groups big enough to say something on one side
            if max(n_real, n_syn) < (MIN_SCORED_ROWS if intersection else 1):
                continue
            row = _group_row(disc, label, gid, ids, real, synth, reference, others, rng, seed)
            if test_ids is not None and predictions is not None:
                positions = np.flatnonzero(test_ids == gid)
                tstr, trtr = predictions.scores(positions) if len(positions) else (None, None)
                row.update(n_test=len(positions), tstr=tstr, trtr=trtr)
                row.update(groups.classifier_rates(predictions, positions))
            rows.append(row)
        entry: dict[str, Any] = {"column": grouping.column, "groups": rows}
        if intersection:
            entry["intersection"] = [grouping.first.column, grouping.second.column]
        if predictions is not None and predictions.task == "binary":
            entry["equalized_odds"] = groups.equalized_odds(rows)
        out_columns.append(entry)
    utility_gap = None
    if predictions is not None:
        tstr, trtr = predictions.scores()
        utility_gap = None if tstr is None or trtr is None else trtr - tstr
    overall_rates = {}
    if predictions is not None:
        overall_rates = groups.classifier_rates(predictions, np.arange(len(predictions.y)))
    flagged = _flag(out_columns, overall_gap or 0.0, utility_gap, overall_rates)
    return {
        "columns": out_columns,
        "flagged": flagged,
        "settings": {
            "bands": BANDS,
            "max_groups_per_column": MAX_GROUPS_PER_COLUMN,
            "min_group_rows": MIN_GROUP_ROWS,
            "min_scored_rows": MIN_SCORED_ROWS,
            "max_sets": GROUP_MAX_SETS,
            "flag_k_marginal_points": FLAG_K_MARGINAL,
            "flag_utility_gap": FLAG_UTILITY,
            "noise_rows": NOISE_ROWS,
            "flag_share_ratio": FLAG_SHARE_RATIO,
            "flag_equalized_odds": groups.FLAG_EQUALIZED_ODDS,
            "min_class_rows": groups.MIN_CLASS_ROWS,
            "intersections": [list(p) for p in pairs],
        },
    }


def _group_row(
    disc: Discretizer,
    label: str,
    gid: int,
    ids: dict[str, np.ndarray],
    real: EncodedTable,
    synth: EncodedTable,
    reference: tuple[EncodedTable, EncodedTable],
    others: list[int],
    rng: np.random.Generator,
    seed: int,
) -> dict[str, Any]:
    in_real, in_syn = ids["real"] == gid, ids["synth"] == gid
    in_base, in_sample = ids["base"] == gid, ids["sample"] == gid
    row: dict[str, Any] = {
        "group": label,
        "n_real": int(in_real.sum()),
        "n_synthetic": int(in_syn.sum()),
        "share_real": float(in_real.mean()),
        "share_synthetic": float(in_syn.mean()),
        "share_reference": float(in_sample.mean()),
    }
    g_real, g_syn = real.take(np.flatnonzero(in_real)), synth.take(np.flatnonzero(in_syn))
    row.update(_scores(disc, g_real, g_syn, others, seed, ""))
    sample_rows = np.flatnonzero(in_sample)
    if len(sample_rows) > max(len(g_syn), MIN_SCORED_ROWS):
        sample_rows = np.sort(rng.choice(sample_rows, max(len(g_syn), MIN_SCORED_ROWS), False))
    g_base = reference[0].take(np.flatnonzero(in_base))
    row.update(_scores(disc, g_base, reference[1].take(sample_rows), others, seed, "_reference"))
    row["n_reference"] = len(sample_rows)
    return row


def _scores(
    disc: Discretizer,
    a: EncodedTable,
    b: EncodedTable,
    columns: list[int],
    seed: int,
    suffix: str,
) -> dict[str, float | None]:
    if min(len(a), len(b)) < MIN_SCORED_ROWS or not columns:
        return {
            f"one_way_accuracy{suffix}": None,
            f"two_way_accuracy{suffix}": None,
            f"k_marginal{suffix}": None,
        }
    levels = disc.n_levels
    one_way = [marginal_tvd(a.codes, b.codes, (j,), levels) for j in columns]
    tvds = two_way_tvds(disc, a, b, columns)
    km = k_marginal_detail(disc, a, b, max_sets=GROUP_MAX_SETS, seed=seed, columns=columns)
    return {
        f"one_way_accuracy{suffix}": float(1 - np.mean(one_way)),
        f"two_way_accuracy{suffix}": float(1 - tvds.mean()) if tvds.size else None,
        f"k_marginal{suffix}": km["score"],
    }


def noise_scale(rows: int) -> float:
    """How much wider than its base the flag threshold of a group of ``rows`` rows is.

    The fidelity and utility thresholds were set for groups of :data:`NOISE_ROWS` rows or more.
    A within-group score is a mean over a sample, so its sampling fluctuation (and that of its
    single real reference draw) shrinks like ``1 / sqrt(rows)``; smaller groups, such as the
    cells of an intersection, need a proportionally larger gap before the gap is a finding
    rather than noise. Their shares are still checked at their own standard errors.
    """
    return max(1.0, math.sqrt(NOISE_ROWS / max(rows, 1)))


def _table_rows(row: dict[str, Any], side: str) -> float:
    """Rows of the whole ``side`` table, from a group's count and share."""
    share = row[f"share_{side}"]
    return row[f"n_{side}"] / share if share > 0 else max(row[f"n_{side}"], 1)


def _flag(
    columns: list[dict[str, Any]],
    overall_gap: float,
    utility_gap: float | None,
    overall_rates: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Groups served clearly worse than the table as a whole, worst first; then columns whose
    synthetic-trained model is clearly less fair than the real-trained one."""
    flagged = []
    rates = overall_rates or {}
    tpr_gap = None
    if rates.get("tpr_trtr") is not None and rates.get("tpr_tstr") is not None:
        tpr_gap = rates["tpr_trtr"] - rates["tpr_tstr"]
    for col in columns:
        for row in col["groups"]:
            reasons, severe = [], False
            p, q = row["share_real"], row["share_synthetic"]
            # a share is a mean over the whole table, not over the group: its standard error
            # divides by the table's size (the group's size made small groups unflaggable)
            se = np.sqrt(
                p * (1 - p) / _table_rows(row, "real") + q * (1 - q) / _table_rows(row, "synthetic")
            )
            ratio = max(q / p, p / q) if p > 0 and q > 0 else math.inf
            if ratio > FLAG_SHARE_RATIO and abs(q - p) > 3 * se:
                word = "under" if q < p else "over"
                reasons.append(f"{word}-represented: {q:.1%} of synthetic rows vs {p:.1%} of real")
                severe |= ratio > SEVERE * (FLAG_SHARE_RATIO - 1) + 1
            gap = None
            noise = noise_scale(min(row["n_real"], row["n_synthetic"]))
            if row["k_marginal"] is not None and row["k_marginal_reference"] is not None:
                gap = row["k_marginal_reference"] - row["k_marginal"]
                if gap - overall_gap > FLAG_K_MARGINAL * noise:
                    reasons.append(
                        f"3-way fidelity {gap:.0f} points below its real reference "
                        f"(whole table: {overall_gap:.0f})"
                    )
                    severe |= gap - overall_gap > SEVERE * FLAG_K_MARGINAL * noise
            row["k_marginal_gap"] = gap
            if utility_gap is not None and row.get("tstr") is not None and row.get("trtr"):
                u_gap = row["trtr"] - row["tstr"]
                u_noise = noise_scale(row.get("n_test") or 0)
                if u_gap - utility_gap > FLAG_UTILITY * u_noise:
                    reasons.append(
                        f"a model trained on synthetic data scores {u_gap:.2f} below one trained "
                        f"on real data in this group (whole table: {utility_gap:.2f})"
                    )
                    severe |= u_gap - utility_gap > SEVERE * FLAG_UTILITY * u_noise
            enough = row.get("n_positive", 0) >= groups.MIN_CLASS_ROWS
            if tpr_gap is not None and enough and row.get("tpr_tstr") is not None:
                t_gap = row["tpr_trtr"] - row["tpr_tstr"]
                # binomial noise of both rates on this group's positives (module doc)
                se = np.sqrt(
                    sum(row[f"tpr_{m}"] * (1 - row[f"tpr_{m}"]) for m in ("tstr", "trtr"))
                    / row["n_positive"]
                )
                if t_gap - tpr_gap > max(FLAG_UTILITY, groups.Z * se):
                    reasons.append(
                        f"a model trained on synthetic data finds {row['tpr_tstr']:.0%} of this "
                        f"group's positives vs {row['tpr_trtr']:.0%} trained on real data "
                        f"(whole table: {rates['tpr_tstr']:.0%} vs {rates['tpr_trtr']:.0%})"
                    )
                    severe |= t_gap - tpr_gap > SEVERE * FLAG_UTILITY
            row["flags"] = reasons
            if reasons:
                flagged.append(
                    {
                        "column": col["column"],
                        "group": row["group"],
                        "reasons": reasons,
                        "gap": gap,
                        "severe": severe,
                    }
                )
    flagged.sort(key=lambda f: -(f["gap"] if f["gap"] is not None else -np.inf))
    for col in columns:
        odds = col.get("equalized_odds")
        if odds and odds["flagged"]:
            flagged.append(
                {
                    "column": col["column"],
                    "group": "(all groups)",
                    "reasons": [
                        f"equalized-odds difference {odds['tstr']:.2f} for a model trained on "
                        f"synthetic data vs {odds['trtr']:.2f} trained on real data"
                    ],
                    "gap": None,
                    "severe": odds["excess"] > SEVERE * groups.FLAG_EQUALIZED_ODDS,
                }
            )
    return flagged
