"""Singling out: can the synthetic data help write a rule that isolates one real person?

Following Giomi et al. 2023, the attacker writes predicates from the synthetic table alone and
keeps those that match exactly one synthetic record:

* univariate - a value that occurs once in its column, a column's minimum (``x <= min``) or
  maximum (``x >= max``), or the single missing value of a column;
* multivariate - conditions on a random synthetic record's columns: equality for categories,
  ``>=`` its value for a number above the column median and ``<=`` below it, "is missing" for
  missing values. Giomi et al. combine a fixed number of columns (3 by default); on a table
  of forty thousand rows fewer than 1 in 200 such rules isolate a record, so we add columns
  in random order until the rule matches its record alone (at least two). The attacker
  still uses nothing but the synthetic table.

The attack succeeds with a predicate that also isolates a real training record.

**Control.** How often the same predicates isolate a record the synthesizer never saw. A
predicate's chance of matching exactly one row depends on the number of rows, and the
holdout is usually smaller than the training set; Giomi et al. correct for that by fitting a
model of success against dataset size. We avoid the model: every predicate is evaluated on
one pool, training rows plus holdout rows, and counts as a training hit when the single row it
matches is a training row, a control hit when it is a holdout row. When the synthetic data
is independent of the training rows, every row of the pool is equally likely to be the
isolated one, so ``control hits x n_train / n_holdout`` estimates the training hits exactly
(without a model); leakage shows as training hits beyond it. Risk is
``(r_train - r_control) / (1 - r_control)``. Random predicates (random columns, operators
and values) give the paper's baseline, reported for context.
"""

from __future__ import annotations

import warnings

import numpy as np

from tabsynth.evaluation.attacks.result import AttackResult
from tabsynth.evaluation.attacks.table import CodedTable
from tabsynth.evaluation.stats import normalised_risk

#: Predicates each attack tries to collect.
PREDICATES = 1000
#: Synthetic records tried per predicate wanted before giving up (records with duplicates
#: can never be isolated).
ATTEMPTS_PER_PREDICATE = 5

EQ, LE, GE, ISNA, ANY = 0, 1, 2, 3, 4

DESCRIPTION = (
    "The attacker writes {kind} rules from the synthetic data (e.g. 'age >= 87 and "
    "diagnosis = X') that each match exactly one synthetic record, and checks whether a rule "
    "isolates exactly one real person. Advantage = how much more often the rules isolate a "
    "person of the training data than a person never seen, as a share of what was left "
    "(Giomi et al. 2023): 0 means singling out works no better than on strangers, 1 means "
    "every rule points at one training record."
)


def singling_out(
    train: CodedTable,
    control: CodedTable,
    synthetic: CodedTable,
    mode: str,
    rng: np.random.Generator,
    confidence: float = 0.95,
) -> AttackResult | None:
    """Run the ``"univariate"`` or ``"multivariate"`` attack; ``None`` if no predicate
    singles out a synthetic record (nothing to attack with)."""
    make = _univariate if mode == "univariate" else _multivariate
    syn, tr, ctl = (np.ascontiguousarray(t.values.T) for t in (synthetic, train, control))
    numeric = np.asarray(synthetic.numeric)
    cols, ops, vals = make(syn, numeric, rng)
    if len(cols) == 0:
        return None
    hits_t, hits_c = _pool_hits(tr, ctl, cols, ops, vals)
    conditions = (ops != ANY).sum(axis=1)
    width = min(round(float(conditions.mean())), len(numeric))
    r_cols, r_ops, r_vals = _random_predicates(synthetic, len(cols), width, rng)
    base_t, _ = _pool_hits(tr, ctl, r_cols, r_ops, r_vals)
    scale = len(train) / len(control)
    risk, lo, hi, r_train, r_control = normalised_risk(
        hits_t, len(cols), hits_c, len(cols), confidence, control_scale=scale
    )
    return AttackResult(
        advantage=risk,
        ci=(lo, hi),
        description=DESCRIPTION.format(kind=mode),
        details={
            "predicates": len(cols),
            "mean_conditions": float(conditions.mean()),
            "train_success_rate": r_train,
            "control_success_rate": r_control,
            "baseline_success_rate": base_t / len(cols),
            "control_scale": scale,
        },
    )


def count_matches(
    columns: np.ndarray, cols: np.ndarray, ops: np.ndarray, vals: np.ndarray
) -> np.ndarray:
    """Rows each predicate matches, on a column-major matrix (``columns[j]`` is column j).

    A predicate is the AND of its conditions ``columns[cols[p, i]] <ops[p, i]> vals[p, i]``;
    NaN matches only ISNA, and ANY pads predicates with fewer conditions. The first condition
    scans the whole column, later ones only the rows still matching, so a predicate costs
    about one column scan.
    """
    counts = np.empty(len(cols), dtype=np.int64)
    for p in range(len(cols)):
        rows = None
        for j, op, v in zip(cols[p], ops[p], vals[p], strict=True):
            if op == ANY:
                continue
            hit = _compare(columns[j] if rows is None else columns[j, rows], op, v)
            rows = np.flatnonzero(hit) if rows is None else rows[hit]
            if rows.size == 0:
                break
        counts[p] = columns.shape[1] if rows is None else rows.size
    return counts


def _compare(x: np.ndarray, op: int, v: float) -> np.ndarray:
    if op == EQ:
        return x == v
    if op == LE:
        return x <= v
    if op == GE:
        return x >= v
    return np.isnan(x)


def _pool_hits(
    train: np.ndarray, control: np.ndarray, cols: np.ndarray, ops: np.ndarray, vals: np.ndarray
) -> tuple[int, int]:
    in_train = count_matches(train, cols, ops, vals)
    in_control = count_matches(control, cols, ops, vals)
    hits_t = int(np.sum((in_train == 1) & (in_control == 0)))
    hits_c = int(np.sum((in_control == 1) & (in_train == 0)))
    return hits_t, hits_c


def _univariate(
    synthetic: np.ndarray, numeric: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cols: list[int] = []
    ops: list[int] = []
    vals: list[float] = []
    for j, col in enumerate(synthetic):
        missing = np.isnan(col)
        if missing.sum() == 1:
            cols.append(j)
            ops.append(ISNA)
            vals.append(0.0)
        present = col[~missing]
        if present.size == 0:
            continue
        values, counts = np.unique(present, return_counts=True)
        rare = values[counts == 1]
        cols += [j] * len(rare)
        ops += [EQ] * len(rare)
        vals += rare.tolist()
        if numeric[j]:
            cols += [j, j]
            ops += [LE, GE]
            vals += [values[0], values[-1]]
    order = rng.permutation(len(cols))[: PREDICATES * 3]
    c = np.asarray(cols, dtype=np.int64)[order, None]
    o = np.asarray(ops, dtype=np.int64)[order, None]
    v = np.asarray(vals, dtype=float)[order, None]
    unique = count_matches(synthetic, c, o, v) == 1
    return c[unique][:PREDICATES], o[unique][:PREDICATES], v[unique][:PREDICATES]


def _multivariate(
    synthetic: np.ndarray, numeric: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Conditions on a random synthetic record's columns, in random order, added until the
    rule matches that record alone (at least two conditions)."""
    width, n = synthetic.shape
    with warnings.catch_warnings():  # an all-missing column has no median; it gets ISNA
        warnings.simplefilter("ignore", RuntimeWarning)
        medians = np.nanmedian(synthetic, axis=1)
    found: dict[bytes, np.ndarray] = {}
    for _ in range(PREDICATES * ATTEMPTS_PER_PREDICATE):
        if len(found) >= PREDICATES or width < 2:
            break
        record = int(rng.integers(n))
        pred = np.zeros((3, width))
        pred[1] = ANY
        rows = None
        for i, j in enumerate(rng.permutation(width)):
            v = synthetic[j, record]
            op = ISNA if np.isnan(v) else EQ if not numeric[j] else GE if v > medians[j] else LE
            hit = _compare(synthetic[j] if rows is None else synthetic[j, rows], op, v)
            rows = np.flatnonzero(hit) if rows is None else rows[hit]
            pred[:, i] = (j, op, 0.0 if op == ISNA else v)
            if i >= 1 and rows.size == 1:
                found.setdefault(pred.tobytes(), pred)
                break
    if not found:
        return np.empty((0, 1), np.int64), np.empty((0, 1), np.int64), np.empty((0, 1))
    stacked = np.stack(list(found.values()))
    return stacked[:, 0].astype(np.int64), stacked[:, 1].astype(np.int64), stacked[:, 2]


def _random_predicates(
    synthetic: CodedTable, count: int, w: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The paper's baseline: random columns, operators and values seen in the column."""
    x = synthetic.values
    width = x.shape[1]
    cols = np.sort(np.argsort(rng.random((count, width)), axis=1)[:, :w], axis=1)
    vals = x[rng.integers(0, len(x), (count, w)), cols]
    numeric = np.asarray(synthetic.numeric)[cols]
    ops = np.where(numeric, rng.integers(0, 3, (count, w)), EQ)
    ops = np.where(np.isnan(vals), ISNA, ops)
    return cols, ops, np.where(np.isnan(vals), 0.0, vals)
