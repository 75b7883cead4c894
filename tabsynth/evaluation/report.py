"""The report: every number of an evaluation, a verdict, and its text, JSON and HTML forms.

A :class:`Report` is plain data (the dict :func:`~tabsynth.evaluation.evaluate` builds) plus
what is derived from it: the ``summary`` for machines and the ``verdict`` for people. The HTML
is drawn from that data alone, so ``Report.from_json(text).to_html(path)`` reproduces a report.
The verdict's checks and thresholds live in :mod:`tabsynth.evaluation.verdict`, the page in
:mod:`tabsynth.evaluation.html`.

JSON schema (``schema_version`` 1). Top level::

    summary     object, the stable contract for CI gates (below)
    verdict     {"overall": light, "headline": str,
                 "lines": [{"check", "light", "value", "reference", "display", "message"}]}
    settings    {"seed", "bins", "reference": "holdout"|"split", "n_reference", "target",
                 "groups", "sensitive", "excluded_columns", "input_rows", "caps",
                 "tabsynth_version", "created", "timings_s"}
    n_real, n_synthetic, n_holdout (null without holdout)
    fidelity    {"columns": [per column: "column", "kind", "metric" ("ks"|"tvd"),
                             "statistic", "score" (1 - statistic), "score_reference",
                             "missing_real", "missing_synthetic", "coverage_kind"
                             ("range"|"categories"), "coverage", "outside_real",
                             "binned_tvd", "marginal": {"labels", "real", "synthetic"}],
                 "pairs": {"pairs": [{"columns", "tvd", "trend" ("correlation"|"contingency"),
                                      "real", "synthetic", "trend_score"}],
                           "two_way_accuracy", "two_way_accuracy_reference",
                           "two_way_accuracy_matched",
                           "pair_trend_score", "pair_trend_score_reference",
                           "association": {"columns", "real", "synthetic", "reference"}},
                 "k_marginal": {"score", "reference", "score_matched", "mean_tvd", "k", "n_sets",
                                "n_sets_total", "sampled", "seed", "ci", "worst_sets"},
                 "detection": {"auc", "ci", "n_per_class", "folds", "model"}}
    utility     null, or {"target", "task", "metric" ("auc"|"r2"), "tstr", "trtr", "gap",
                          "tstr_ci", "trtr_ci", "gap_ci", "n_train", "n_test",
                          "test_source", "model", "notes", "skipped", ...};
                "skipped" is null, or {"reason", "message"} when nothing could be scored
                (reason "constant_real", "constant_synthetic", "constant_test" or
                "too_few_rows"; then "tstr"/"trtr" are absent, see tabsynth.evaluation.utility)
    subgroups   null, or {"columns": [{"column", "groups": [{"group", "n_real",
                          "n_synthetic", "n_reference", "share_real", "share_synthetic",
                          "share_reference", "two_way_accuracy", "two_way_accuracy_reference",
                          "k_marginal", "k_marginal_reference", "k_marginal_gap",
                          "one_way_accuracy", "one_way_accuracy_reference",
                          "tstr"?, "trtr"?, "n_test"?, "accuracy_tstr"?, "accuracy_trtr"?,
                          "tpr_tstr"?, "tpr_trtr"?, "fpr_tstr"?, "fpr_trtr"?, "n_positive"?,
                          "n_negative"?, "flags"}], "intersection"? [col, col],
                          "equalized_odds"? null | {"tstr", "trtr", "excess", "flagged",
                          "groups"}}],
                          (an intersection's "column" is "a × b", its groups "x × y")
                          "flagged": [{"column", "group", "reasons", "gap", "severe"}],
                          "settings"}
    rules       null, or the rules section of tabsynth.rules.report (share of rows meeting
                each declared rule, real vs synthetic; synthetic examples only)
    privacy     the dict of ``tabsynth.evaluation.privacy.assess_privacy`` ("mia_advantage",
                "privacy_risk", "risk_thresholds", "attacks", "exact_copy_rate",
                "diagnostics", "notes"); a report built without it shows "not run";
                with group columns and a holdout also "groups": {"columns": [{"column",
                "groups": [{"group", "n_train", "n_holdout", "n_synthetic", "attacks",
                "near_copies", "risk", "reasons"}]}], "risk", "exposed", "settings", "notes"}
                (tabsynth.evaluation.group_privacy); "privacy_risk" is then at least "risk"
    dp          null, or {"epsilon", "delta", "epsilon_spent", "seeded_noise",
                          "explanation", "ledger"} from the synthesizer's privacy ledger
    notes       [str]

``summary`` keys (always present; null where they do not apply)::

    schema_version, n_real, n_synthetic, n_holdout, reference,
    k_marginal, k_marginal_holdout,            1000 = identical 3-way marginals
    two_way_accuracy, two_way_accuracy_holdout,
    pair_trend_score, pair_trend_score_holdout,
    column_shape_score, column_shape_score_holdout,
    detection_auc,                             0.5 = indistinguishable
    target, tstr_auc, trtr_auc, tstr_r2, trtr_r2,
    subgroups_flagged,
    rules_min_share,                           lowest share of synthetic rows meeting a rule
    mia_advantage, privacy_risk, exact_copy_rate,
    dp, epsilon, delta,
    overall                                    "green" | "amber" | "red"

The ``*_holdout`` keys hold the real reference (a holdout sample of the synthetic table's size,
or one half of the real table against the other when ``reference`` is ``"split"``). The
``*_matched`` fields score the synthetic table subsampled to the reference's size; the verdict
compares those with the reference, so a small holdout does not flatter the synthetic table.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tabsynth.errors import FileFormatError, ParameterError
from tabsynth.evaluation.html import fmt, render_fragment, render_html
from tabsynth.evaluation.verdict import build_verdict
from tabsynth.io import atomic_write_text

SCHEMA_VERSION = 1


class LedgerLike(Protocol):
    """What a report needs from a privacy ledger (``tabsynth.privacy.PrivacyLedger``)."""

    @property
    def epsilon(self) -> float: ...

    @property
    def delta(self) -> float: ...

    def explain(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


class Report:
    """Everything an evaluation measured, with a verdict.

    Parameters
    ----------
    results:
        The sections built by :func:`~tabsynth.evaluation.evaluate` (see the module docstring).
    privacy:
        The synthesizer's privacy ledger when it was trained with differential privacy; it
        opens the report's privacy section and adds ``epsilon``/``delta`` to the summary.
    audit:
        A privacy audit's result (anything with ``to_dict()``) or that dict; the privacy
        section shows it.
    """

    def __init__(
        self, results: Mapping[str, Any], privacy: LedgerLike | None = None, audit: Any = None
    ) -> None:
        if not isinstance(results, Mapping) or "fidelity" not in results:
            raise ParameterError("a Report needs the results of evaluate() (with 'fidelity')")
        data = copy.deepcopy(dict(results))
        if privacy is not None:
            data["dp"] = ledger_section(privacy)
        data.setdefault("dp", None)
        if audit is not None:
            data["audit"] = dict(audit) if isinstance(audit, Mapping) else audit.to_dict()
        data.setdefault("audit", None)
        data.setdefault("notes", [])
        data["summary"] = build_summary(data)
        data["verdict"] = build_verdict(data)
        data["summary"]["overall"] = data["verdict"]["overall"]
        self._data: dict[str, Any] = _jsonable(data)

    # -- access ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A deep copy of every number in the report."""
        return copy.deepcopy(self._data)

    @property
    def overall(self) -> str:
        """``"green"``, ``"amber"`` or ``"red"``: the worst light of the verdict."""
        return str(self._data["verdict"]["overall"])

    def __repr__(self) -> str:
        s = self._data["summary"]
        return (
            f"<Report {self.overall}: k_marginal={fmt(s['k_marginal'], '.0f')}, "
            f"detection_auc={fmt(s['detection_auc'])}, privacy_risk={s['privacy_risk']}>"
        )

    # -- text -----------------------------------------------------------------------------------
    def summary(self) -> str:
        """The verdict as plain text, for a terminal or a log."""
        s, verdict = self._data["summary"], self._data["verdict"]
        ref = "holdout" if s["reference"] == "holdout" else "split of the real table"
        lines = [
            f"tabsynth report: {s['n_real']:,} real rows, {s['n_synthetic']:,} synthetic rows "
            f"(reference: {ref})",
            f"Overall: {verdict['overall'].upper()}. {verdict['headline']}",
            "",
        ]
        width = max(len(line["check"]) for line in verdict["lines"])
        for line in verdict["lines"]:
            lines.append(
                f"  [{line['light'].upper():5}] {line['check']:<{width}}  {line['display']}"
            )
            lines.append(f"          {line['message']}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return render_fragment(self._data)

    # -- files ----------------------------------------------------------------------------------
    def to_json(self, path: str | Path | None = None) -> str:
        """The report as JSON text; also written (atomically) to ``path`` when given."""
        text = json.dumps(self._data, indent=2, ensure_ascii=False, allow_nan=False)
        if path is not None:
            atomic_write_text(path, text + "\n")
        return text

    def to_html(self, path: str | Path | None = None) -> str:
        """A standalone HTML page (inline CSS and images, no network); written atomically to
        ``path`` when given."""
        text = render_html(self._data)
        if path is not None:
            atomic_write_text(path, text)
        return text

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """Rebuild a report from :meth:`to_dict` / :meth:`to_json` output."""
        version = data.get("summary", {}).get("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise FileFormatError(f"report schema_version {version} is not {SCHEMA_VERSION}")
        return cls(data)

    @classmethod
    def from_json(cls, text: str) -> Report:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FileFormatError(f"report is not valid JSON: {exc}") from None
        return cls.from_dict(data)


# ---------------------------------------------------------------------------------------------
# summary


def ledger_section(ledger: LedgerLike) -> dict[str, Any]:
    """What the report keeps of a privacy ledger (duck-typed, see :class:`LedgerLike`)."""
    spent = getattr(ledger, "spent_epsilon", None)
    return {
        "epsilon": float(ledger.epsilon),
        "delta": float(ledger.delta),
        "epsilon_spent": None if spent is None else float(spent),
        "seeded_noise": bool(getattr(ledger, "seeded_noise", False)),
        "explanation": str(ledger.explain()),
        "ledger": ledger.to_dict(),
    }


def build_summary(data: Mapping[str, Any]) -> dict[str, Any]:
    """The flat ``summary`` object (module docstring)."""
    fid = data["fidelity"]
    pairs, km = fid["pairs"], fid["k_marginal"]
    util = data.get("utility") or {}
    priv = data.get("privacy") or {}
    dp = data.get("dp")
    metric = util.get("metric") if util.get("tstr") is not None else None
    flagged = None if not data.get("subgroups") else len(data["subgroups"]["flagged"])
    return {
        "schema_version": SCHEMA_VERSION,
        "n_real": data["n_real"],
        "n_synthetic": data["n_synthetic"],
        "n_holdout": data.get("n_holdout"),
        "reference": data.get("settings", {}).get("reference"),
        "k_marginal": km["score"],
        "k_marginal_holdout": km.get("reference"),
        "two_way_accuracy": pairs["two_way_accuracy"],
        "two_way_accuracy_holdout": pairs.get("two_way_accuracy_reference"),
        "pair_trend_score": pairs["pair_trend_score"],
        "pair_trend_score_holdout": pairs.get("pair_trend_score_reference"),
        "column_shape_score": _mean(c["score"] for c in fid["columns"]),
        "column_shape_score_holdout": _mean(c.get("score_reference") for c in fid["columns"]),
        "detection_auc": fid["detection"]["auc"],
        "target": util.get("target"),
        "tstr_auc": util.get("tstr") if metric == "auc" else None,
        "trtr_auc": util.get("trtr") if metric == "auc" else None,
        "tstr_r2": util.get("tstr") if metric == "r2" else None,
        "trtr_r2": util.get("trtr") if metric == "r2" else None,
        "subgroups_flagged": flagged,
        "rules_min_share": (data.get("rules") or {}).get("min_share_synthetic"),
        "mia_advantage": priv.get("mia_advantage"),
        "privacy_risk": priv.get("privacy_risk"),
        "exact_copy_rate": priv.get("exact_copy_rate"),
        "dp": dp is not None,
        "epsilon": None if dp is None else dp["epsilon"],
        "delta": None if dp is None else dp["delta"],
        "overall": None,
    }


# ---------------------------------------------------------------------------------------------
# helpers


def _mean(values: Any) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def _jsonable(value: Any) -> Any:
    """Plain JSON types only: numpy scalars become Python numbers, NaN and ±inf become null."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)
