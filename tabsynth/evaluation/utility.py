"""Utility: would a model trained on the synthetic table work on real data?

Train-on-synthetic / test-on-real (TSTR) is compared with train-on-real / test-on-real (TRTR):
the same model, the same number of training rows, the same real test rows. TRTR is the
ceiling; the gap says what an analyst loses by working on the synthetic copy. The score is the
ROC AUC for a binary target (the minority real class as positive), the macro one-vs-rest AUC for
a multiclass target, and R² for a numeric or datetime target.

The model is scikit-learn's HistGradientBoosting with native categorical support, on the
features of :meth:`Discretizer.features` (raw numbers, category codes, missing as missing),
with fixed hyperparameters and seed: a strong default that needs no tuning, so neither side
gets an advantage from tuning.

Confidence intervals come from a paired bootstrap over the test rows (both models are scored
on the same resamples, so the interval of the gap is honest too).

When there is nothing to predict, there is no score, and the section says why instead of
failing: ``skipped`` is ``{"reason", "message"}`` (reasons: :data:`SKIPPED`), ``tstr`` and
``trtr`` are absent, the message is also among the notes, and the rest of the report is
computed as usual. This happens when the target takes a single value (or almost none) in the
real training rows, in the synthetic table, or in the real test rows. A constant target is a
finding, not bad input: a synthesizer that collapses the target to one value has lost all its
utility for it, and the report is where that should show (the verdict marks it red). A
numeric target that is constant in the synthetic table is still scored: the model trained on
it predicts that constant, and R² (at most 0) says how little that is worth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from tabsynth.errors import ParameterError
from tabsynth.evaluation.fidelity import Discretizer, EncodedTable, rank_auc, single_thread

#: Training rows per model at most (both models get the same number).
UTILITY_MAX_TRAIN = 20_000
#: Real test rows at most.
UTILITY_MAX_TEST = 20_000
#: Bootstrap replicates for the intervals; multiclass targets use fewer (see ``_replicates``).
BOOTSTRAP = 200

Task = Literal["binary", "multiclass", "regression"]

#: Why a utility section has no score (its ``skipped`` field).
SKIPPED = {
    "constant_real": "the target takes a single value in the real training rows",
    "constant_synthetic": "the target takes a single value in the synthetic table",
    "constant_test": "the target takes a single value in the real test rows",
    "too_few_rows": "fewer than 10 rows with a target value",
}


@dataclass(frozen=True)
class UtilityPredictions:
    """Both models' predictions on the real test rows, kept so subgroups can be scored."""

    task: Task
    y: np.ndarray
    tstr: np.ndarray
    trtr: np.ndarray
    classes: tuple[int, ...]
    test_rows: np.ndarray

    def scores(self, rows: np.ndarray | None = None) -> tuple[float | None, float | None]:
        """(TSTR, TRTR) on all test rows, or on the positions ``rows`` of them."""
        sel = slice(None) if rows is None else rows
        y = self.y[sel]
        return (
            task_score(self.task, y, self.tstr[sel], self.classes),
            task_score(self.task, y, self.trtr[sel], self.classes),
        )


def task_score(
    task: Task, y: np.ndarray, pred: np.ndarray, classes: tuple[int, ...]
) -> float | None:
    """AUC (binary), macro one-vs-rest AUC (multiclass) or R² (regression); None if undefined."""
    if len(y) < 2:
        return None
    if task == "regression":
        total = float(((y - y.mean()) ** 2).sum())
        return None if total == 0 else 1.0 - float(((y - pred) ** 2).sum()) / total
    aucs = [rank_auc(y == c, pred[:, c]) for c in classes]
    defined = [a for a in aucs if a is not None]
    return float(np.mean(defined)) if defined else None


def utility_report(
    disc: Discretizer,
    train: EncodedTable,
    synth: EncodedTable,
    test: EncodedTable,
    target: str,
    *,
    seed: int = 0,
    max_train: int = UTILITY_MAX_TRAIN,
    max_test: int = UTILITY_MAX_TEST,
) -> tuple[dict[str, Any], UtilityPredictions | None]:
    """TSTR vs TRTR for ``target``: a JSON-ready dict and the predictions behind it."""
    if target not in disc.names:
        raise ParameterError(
            f"target {target!r} is not an evaluated column; choose one of {', '.join(disc.names)}"
        )
    j = disc.names.index(target)
    coding = disc.columns[j]
    rng = np.random.default_rng(seed)
    y_train, rows_train = _target(coding, train, j)
    y_syn, rows_syn = _target(coding, synth, j)
    y_test, rows_test = _target(coding, test, j)
    if len(rows_test) > max_test:
        keep = np.sort(rng.choice(len(rows_test), max_test, replace=False))
        y_test, rows_test = y_test[keep], rows_test[keep]
    task = _task(coding, y_train)
    out: dict[str, Any] = {
        "target": target,
        "task": task,
        "metric": "r2" if task == "regression" else "auc",
        "model": "HistGradientBoosting(max_iter=100), native categorical support",
        "n_test": len(rows_test),
        "skipped": None,
        "notes": [],
    }
    n_train = min(len(rows_train), len(rows_syn), max_train)
    out["n_train"] = int(n_train)
    skipped = _why_unscored(coding, target, task, y_train, y_syn, y_test)
    if skipped is not None:
        reason, message = skipped
        out["skipped"] = {"reason": reason, "message": message}
        out["notes"].append(message)
        return out, None
    rows_train = rng.choice(rows_train, n_train, replace=False)
    rows_syn = rng.choice(rows_syn, n_train, replace=False)
    features = [i for i in range(len(disc.columns)) if i != j]
    x_test = _features(disc, test, rows_test, features)
    levels = coding.n_levels
    pred_trtr = _fit_predict(task, disc, train, rows_train, features, j, x_test, levels, seed)
    pred_tstr = _fit_predict(task, disc, synth, rows_syn, features, j, x_test, levels, seed)
    classes: tuple[int, ...] = ()
    if task == "binary":
        codes, counts = np.unique(y_train, return_counts=True)
        classes = (int(codes[np.argmin(counts)]),)
        out["positive_class"] = disc.columns[j].labels()[classes[0]]
    elif task == "multiclass":
        classes = tuple(int(c) for c in np.unique(y_test))
    preds = UtilityPredictions(task, y_test, pred_tstr, pred_trtr, classes, rows_test)
    tstr, trtr = preds.scores()
    out.update(tstr=tstr, trtr=trtr, gap=None if tstr is None or trtr is None else trtr - tstr)
    out.update(_bootstrap(preds, seed))
    return out, preds


def _why_unscored(
    coding: Any,
    target: str,
    task: Task,
    y_train: np.ndarray,
    y_syn: np.ndarray,
    y_test: np.ndarray,
) -> tuple[str, str] | None:
    """``(reason, note)`` when TSTR and TRTR cannot be computed (module doc), else None."""
    what = "TSTR and TRTR cannot be computed"
    if len(y_train) < 10:
        return "too_few_rows", (
            f"fewer than 10 real training rows have a value of the target {target!r}: {what}; "
            "choose a target that is mostly present"
        )
    value = _single_value(coding, y_train)
    if value is not None:
        return "constant_real", (
            f"the target {target!r} takes a single value ({value}) in the real training rows, "
            f"so there is nothing to predict: {what}; choose a target with at least two values"
        )
    if len(y_syn) < 10:
        return "too_few_rows", (
            f"fewer than 10 synthetic rows have a value of the target {target!r}: {what}; the "
            "synthesizer left it (almost) always missing, so retrain it or sample more rows"
        )
    # a regression model trained on a constant still predicts something (R² <= 0 says how
    # little): only a categorical target that collapsed to one value leaves nothing to fit
    value = None if task == "regression" else _single_value(coding, y_syn)
    if value is not None:
        return "constant_synthetic", (
            f"the target {target!r} takes a single value ({value}) in the synthetic table, so a "
            f"model trained on it cannot tell the classes apart: {what}; the synthesizer lost "
            "the target's other values, so retrain it (more epochs, another synthesizer)"
        )
    if len(y_test) < 10:
        return "too_few_rows", (
            f"fewer than 10 real test rows have a value of the target {target!r}: {what}; give "
            "a larger holdout"
        )
    value = _single_value(coding, y_test)
    if value is not None:
        metric = "R²" if task == "regression" else "AUC"
        return "constant_test", (
            f"the target {target!r} takes a single value ({value}) in the real test rows, and "
            f"{metric} needs at least two: {what}; give a holdout with both outcomes"
        )
    return None


def _single_value(coding: Any, y: np.ndarray) -> str | None:
    """The one value ``y`` takes, as a label, or None when it takes several (or none)."""
    values = np.unique(y)
    if len(values) != 1:
        return None
    if coding.numeric:
        return coding.format_value(float(values[0]))
    return repr(coding.labels()[int(values[0])])


def _target(coding: Any, table: EncodedTable, j: int) -> tuple[np.ndarray, np.ndarray]:
    """Target values and the rows where the target is present."""
    if coding.numeric:
        y = table.numbers[:, j]
        rows = np.flatnonzero(~np.isnan(y))
    else:
        y = table.codes[:, j]
        rows = np.flatnonzero(y != coding.missing_code)
    return y[rows], rows


def _task(coding: Any, y_train: np.ndarray) -> Task:
    if coding.numeric:
        return "regression"
    return "binary" if len(np.unique(y_train)) <= 2 else "multiclass"


def _features(
    disc: Discretizer, table: EncodedTable, rows: np.ndarray, features: list[int]
) -> np.ndarray:
    x, _ = disc.features(table.take(rows))
    return x[:, features]


def _fit_predict(
    task: Task,
    disc: Discretizer,
    table: EncodedTable,
    rows: np.ndarray,
    features: list[int],
    j: int,
    x_test: np.ndarray,
    levels: int,
    seed: int,
) -> np.ndarray:
    """Fit on ``rows`` of ``table``; predictions (regression) or a probability per code."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    x, mask = disc.features(table.take(rows))
    x, mask = x[:, features], mask[features]
    # A feature the synthesizer left entirely missing carries no information, and
    # scikit-learn's binning fails on an all-NaN column: make it constant, so no tree splits on it.
    x[:, np.isnan(x).all(axis=0)] = 0.0
    params = {"max_iter": 100, "categorical_features": mask, "random_state": seed}
    with single_thread():
        if task == "regression":
            y = table.numbers[rows, j]
            return (
                HistGradientBoostingRegressor(**params, early_stopping=False)
                .fit(x, y)
                .predict(x_test)
            )
        y = table.codes[rows, j]
        proba = np.zeros((len(x_test), levels))
        if len(np.unique(y)) < 2:
            # a random subsample that kept one class (scikit-learn's predict_proba would still
            # return two columns): the model is certain of that class everywhere
            proba[:, int(y[0])] = 1.0
            return proba
        model = HistGradientBoostingClassifier(**params, early_stopping=False).fit(x, y)
        proba[:, model.classes_.astype(int)] = model.predict_proba(x_test)
    return proba


def _replicates(preds: UtilityPredictions) -> int:
    """Fewer replicates for many classes: each costs one rank sort per class and model."""
    if preds.task != "multiclass":
        return BOOTSTRAP
    return max(50, min(BOOTSTRAP, 600 // len(preds.classes)))


def _bootstrap(preds: UtilityPredictions, seed: int) -> dict[str, Any]:
    """Paired bootstrap 95 % intervals of TSTR, TRTR and their gap."""
    rng = np.random.default_rng(seed + 1)
    n = len(preds.y)
    reps = _replicates(preds)
    pairs = [preds.scores(rng.integers(0, n, n)) for _ in range(reps)]
    kept = np.array([p for p in pairs if p[0] is not None and p[1] is not None], dtype=float)
    if len(kept) < 10:
        return {"tstr_ci": None, "trtr_ci": None, "gap_ci": None, "bootstrap": 0}

    def interval(values: np.ndarray) -> list[float]:
        return [float(v) for v in np.percentile(values, [2.5, 97.5])]

    return {
        "tstr_ci": interval(kept[:, 0]),
        "trtr_ci": interval(kept[:, 1]),
        "gap_ci": interval(kept[:, 1] - kept[:, 0]),
        "bootstrap": len(kept),
    }
