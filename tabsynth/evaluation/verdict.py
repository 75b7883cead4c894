"""The verdict: one traffic light and one sentence per check, and the thresholds behind them.

:func:`build_verdict` turns a report's data (with its ``summary``) into the ``verdict`` object
of the JSON schema (see :mod:`tabsynth.evaluation.report`). :class:`~tabsynth.evaluation.Report`
stores it, ``Report.summary()`` prints it, and the HTML page shows it with the thresholds below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

GREEN, AMBER, RED = "green", "amber", "red"
_RANK = {GREEN: 0, AMBER: 1, RED: 2}

# Verdict thresholds: (green up to, amber up to); beyond is red. They are judgment calls,
# set so that a good non-private synthesizer on a table like Adult is green or amber, and
# written out in the report's appendix.
#: k-marginal points below the real reference.
K_MARGINAL_GAP = (30.0, 100.0)
#: 2-way accuracy below the real reference.
TWO_WAY_GAP = (0.02, 0.06)
#: Worst column's shape score below its real reference.
COLUMN_GAP = (0.05, 0.15)
#: Detection AUC.
DETECTION_AUC = (0.60, 0.75)
#: TRTR minus TSTR, per utility metric.
UTILITY_GAP = {"auc": (0.02, 0.05), "r2": (0.05, 0.15)}
#: Formal ε of a DP synthesizer.
EPSILON = (1.0, 10.0)
PRIVACY_LIGHT = {"low": GREEN, "medium": AMBER, "high": RED}


def measure_name(metric: str) -> str:
    """How a column's shape score is named: ``"1 − KS"`` or ``"1 − TVD"``."""
    return "1 − KS" if metric == "ks" else "1 − TVD"


def _light(value: float, limits: tuple[float, float]) -> str:
    return GREEN if value <= limits[0] else AMBER if value <= limits[1] else RED


def build_verdict(data: Mapping[str, Any]) -> dict[str, Any]:
    """One line per check: a traffic light and a sentence saying what it means and what to do."""
    s = data["summary"]
    n_ref = data.get("settings", {}).get("n_reference")
    lines = [
        _fidelity_line(
            "3-way marginals",
            s["k_marginal"],
            s["k_marginal_holdout"],
            data["fidelity"]["k_marginal"].get("score_matched"),
            n_ref,
            K_MARGINAL_GAP,
            ".0f",
            (
                "combinations of three columns are about as faithful as a fresh real sample",
                "combinations of columns are noticeably less faithful than a real sample; check "
                "the worst column sets below and train longer or use a larger model",
                "the synthetic table distorts how columns combine; do not use it for analyses "
                "across several columns before retraining (more epochs, a larger or another "
                "model)",
            ),
        ),
        _fidelity_line(
            "Pairs of columns",
            s["two_way_accuracy"],
            s["two_way_accuracy_holdout"],
            data["fidelity"]["pairs"].get("two_way_accuracy_matched"),
            n_ref,
            TWO_WAY_GAP,
            ".3f",
            (
                "relationships between pairs of columns match as closely as a real sample's",
                "some relationships between pairs of columns are off; see the association "
                "heatmap and the worst pairs",
                "relationships between columns are badly reproduced; correlations computed on "
                "this table cannot be trusted; retrain before use",
            ),
        ),
        _column_line(data["fidelity"]["columns"]),
        _detection_line(s["detection_auc"]),
    ]
    if data.get("utility"):
        lines.append(_utility_line(data["utility"]))
    if data.get("subgroups"):
        lines.append(_subgroup_line(data["subgroups"], data.get("settings", {}).get("groups", [])))
    lines.append(_privacy_line(data.get("privacy") or {}))
    lines.append(_dp_line(data.get("dp")))
    lines = [line for line in lines if line is not None]
    overall = max((line["light"] for line in lines), key=_RANK.__getitem__)
    headline = {
        GREEN: "Every check is green.",
        AMBER: "Usable with care: read the amber lines before sharing or analysing.",
        RED: "Not ready to share: fix the red lines first.",
    }[overall]
    return {"overall": overall, "headline": headline, "lines": lines}


def _line(check: str, light: str, value: Any, reference: Any, display: str, msg: str) -> dict:
    return {
        "check": check,
        "light": light,
        "value": value,
        "reference": reference,
        "display": display,
        "message": msg[0].upper() + msg[1:] + ("" if msg.endswith(".") else "."),
    }


def _fidelity_line(
    check: str,
    value: float | None,
    reference: float | None,
    matched: float | None,
    n_reference: int | None,
    limits: tuple[float, float],
    spec: str,
    messages: tuple[str, str, str],
) -> dict | None:
    """A fidelity line; the light compares the reference with ``matched``, the synthetic score
    at the reference's sample size, when there is one (see evaluate's module docstring)."""
    if value is None:
        return None
    display = f"{value:{spec}}" + ("" if reference is None else f" (real: {reference:{spec}})")
    if reference is None:
        return _line(check, AMBER, value, None, display, "no real reference could be computed")
    compared = value if matched is None else matched
    light = _light(reference - compared, limits)
    text = messages[[GREEN, AMBER, RED].index(light)]
    lead = display
    if f"{compared:{spec}}" != f"{value:{spec}}" and n_reference:
        lead = (
            f"{compared:{spec}} on {n_reference:,} synthetic rows against {reference:{spec}} on "
            f"as many real rows ({value:{spec}} on all synthetic rows)"
        )
    return _line(check, light, value, reference, display, f"{lead}: {text}")


def _column_line(columns: list[dict[str, Any]]) -> dict | None:
    gaps = [
        (c["score_reference"] - c["score"], c)
        for c in columns
        if c["score"] is not None and c.get("score_reference") is not None
    ]
    if not gaps:
        return None
    gap, worst = max(gaps, key=lambda g: g[0])
    light = _light(gap, COLUMN_GAP)
    name = worst["column"]
    stat = measure_name(worst["metric"])
    display = f"worst: {name} {worst['score']:.3f} (real: {worst['score_reference']:.3f})"
    text = {
        GREEN: f"every column's distribution is as close as a real sample's (worst: {name})",
        AMBER: f"column {name} is off ({stat} {worst['score']:.3f} vs "
        f"{worst['score_reference']:.3f} for real data); check its plot in the fidelity section",
        RED: f"column {name} is badly reproduced ({stat} {worst['score']:.3f} vs "
        f"{worst['score_reference']:.3f} for real data); check its kind and bounds in the "
        "metadata, then retrain",
    }[light]
    return _line("Single columns", light, worst["score"], worst["score_reference"], display, text)


def _detection_line(auc: float | None) -> dict | None:
    if auc is None:
        return None
    light = _light(auc, DETECTION_AUC)
    text = {
        GREEN: "a classifier can hardly tell synthetic rows from real ones (0.5 = chance)",
        AMBER: "a classifier can often tell synthetic rows from real ones; try more epochs or "
        "a larger model",
        RED: "synthetic rows are easy to tell from real ones; retrain with more epochs, a "
        "larger model, or another synthesizer",
    }[light]
    return _line("Detection", light, auc, 0.5, f"AUC {auc:.2f}", f"Detection AUC {auc:.2f}: {text}")


def _utility_line(util: Mapping[str, Any]) -> dict:
    target = util["target"]
    skipped = util.get("skipped")
    if skipped:
        # a target collapsed to one value in the synthetic table: nothing left to learn from
        light = RED if skipped.get("reason") == "constant_synthetic" else AMBER
        return _line("Utility", light, None, None, "not scored", str(skipped.get("message")))
    if util.get("tstr") is None or util.get("trtr") is None:
        why = "; ".join(util.get("notes", [])) or "the score is undefined"
        return _line("Utility", AMBER, None, None, "not scored", f"no utility score: {why}")
    tstr, trtr, metric = util["tstr"], util["trtr"], util["metric"]
    name = "AUC" if metric == "auc" else "R²"
    light = _light(trtr - tstr, UTILITY_GAP[metric])
    display = f"TSTR {name} {tstr:.3f} (TRTR: {trtr:.3f})"
    lead = (
        f"a model trained on synthetic data scores {name} {tstr:.3f} on real data, against "
        f"{trtr:.3f} when trained on real data"
    )
    text = {
        GREEN: f"as useful as the real table for predicting {target}",
        AMBER: f"some power to predict {target} is lost; fine for exploration, check before "
        "building models on it",
        RED: f"models trained on this table predict {target} much worse; do not train "
        "production models on it",
    }[light]
    return _line("Utility", light, tstr, trtr, display, f"{lead}: {text}")


def _subgroup_line(section: Mapping[str, Any], groups: list[str]) -> dict:
    flagged = section["flagged"]
    checked = ", ".join(groups) or "declared groups"
    if not flagged:
        return _line(
            "Subgroups",
            GREEN,
            0,
            None,
            "none flagged",
            f"no group of {checked} is served clearly worse than the table as a whole",
        )
    light = RED if any(f.get("severe") for f in flagged) else AMBER
    first = flagged[0]
    example = f"{first['column']} = {first['group']}: {first['reasons'][0]}"
    advice = (
        "do not use the table for analyses of these groups before retraining"
        if light == RED
        else "check analyses of these groups against real data"
    )
    return _line(
        "Subgroups",
        light,
        len(flagged),
        None,
        f"{len(flagged)} flagged",
        f"{len(flagged)} group(s) served worse than the table as a whole, e.g. {example}; {advice}",
    )


def _privacy_line(priv: Mapping[str, Any]) -> dict:
    if "privacy_risk" not in priv:
        return _line(
            "Privacy attacks",
            AMBER,
            None,
            None,
            "not run",
            "privacy attacks were not run, so there is no empirical evidence on leakage",
        )
    risk, adv = priv["privacy_risk"], priv.get("mia_advantage")
    light = PRIVACY_LIGHT.get(risk, RED)
    display = f"risk {risk}" + ("" if adv is None else f", membership advantage {adv:.3f}")
    exposed = (priv.get("groups") or {}).get("exposed") or []
    if exposed:
        display += f"; group {exposed[0]['column']} = {exposed[0]['group']} exposed"
    text = {
        GREEN: "attacks gain little: the table says little about who was in the real data",
        AMBER: "some attacks do better than chance; review the attack table before release and "
        "consider training with differential privacy",
        RED: "the table leaks information about real people; do not release it; retrain with "
        "differential privacy",
    }[light]
    return _line("Privacy attacks", light, adv, None, display, f"{display}: {text}")


def _dp_line(dp: Mapping[str, Any] | None) -> dict:
    if dp is None:
        return _line(
            "Formal privacy",
            AMBER,
            None,
            None,
            "no DP",
            "no formal guarantee: the synthesizer was not trained with differential privacy; "
            "if the table leaves your control, use a DP synthesizer",
        )
    eps, delta = dp["epsilon"], dp["delta"]
    display = f"ε = {eps:g}, δ = {delta:.1e}"
    if dp.get("seeded_noise"):
        return _line(
            "Formal privacy",
            RED,
            eps,
            None,
            display,
            "trained with SEEDED noise (for tests only): NOT differentially private; do not "
            "release",
        )
    light = _light(eps, EPSILON)
    text = {
        GREEN: "a strong formal guarantee for every person in the data",
        AMBER: "a moderate formal guarantee, common in practice; state it in the release notes",
        RED: "a weak formal guarantee; the attack results carry most of the weight",
    }[light]
    return _line(
        "Formal privacy",
        light,
        eps,
        None,
        display,
        f"trained with differential privacy at {display}: {text}",
    )
