"""The report as one standalone HTML page, drawn from the report's data alone.

Inline CSS, figures as base64 PNG, no script and no external resource, so the page opens
offline and can be archived with the release. Every string that comes from the data (column
names, categories, notes, attack descriptions) goes through html.escape. The data is the dict
described in :mod:`tabsynth.evaluation.report`, so ``Report.from_json(text).to_html(path)``
reproduces a report.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from tabsynth.evaluation.verdict import (
    COLUMN_GAP,
    DETECTION_AUC,
    EPSILON,
    K_MARGINAL_GAP,
    PRIVACY_LIGHT,
    RED,
    TWO_WAY_GAP,
    UTILITY_GAP,
    measure_name,
)
from tabsynth.rules.report import rules_html

DCR_CAVEAT = (
    "Distance-based numbers (DCR, NNDR) are diagnostics, not privacy evidence: tables that "
    "pass distance tests can still be highly vulnerable to membership inference (\u201cThe DCR "
    "Delusion\u201d, Yao et al. 2025; Ganev & De Cristofaro 2023). The privacy verdict rests "
    "on differential-privacy accounting and on the attacks above."
)

_CSS = """
.ts-report{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430;
 max-width:1100px;margin:0 auto;padding:24px}
.ts-report h1{font-size:28px;margin:0 0 4px}
.ts-report h2{font-size:21px;margin:36px 0 10px;padding-bottom:4px;border-bottom:2px solid #dde3ea}
.ts-report h3{font-size:16px;margin:22px 0 8px}
.ts-meta{color:#5b6675;margin:0 0 12px}
.ts-report table{border-collapse:collapse;margin:8px 0 14px;font-size:13.5px}
.ts-report th,.ts-report td{border-bottom:1px solid #e3e8ee;padding:5px 10px;text-align:left;
 vertical-align:top}
.ts-report th{background:#f3f6f9;font-weight:600}
.ts-report td.ts-num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.ts-light{display:inline-block;width:13px;height:13px;border-radius:50%;margin-right:6px;
 vertical-align:-1px}
.ts-green{background:#2e8b3d}.ts-amber{background:#e8a317}.ts-red{background:#c62828}
.ts-badge{display:inline-block;padding:3px 12px;border-radius:14px;color:#fff;font-weight:600}
.ts-badge.ts-amber{color:#1d2430}
.ts-verdict td:first-child{white-space:nowrap;font-weight:600}
.ts-figs{display:flex;flex-wrap:wrap;gap:10px}
.ts-figs img,.ts-report img{max-width:100%;border:1px solid #e3e8ee;border-radius:4px}
.ts-note{background:#f6f8fa;border-left:4px solid #9aa7b4;padding:8px 12px;margin:10px 0}
.ts-caveat{background:#fff6e5;border-left:4px solid #e8a317;padding:8px 12px;margin:10px 0}
.ts-report pre{background:#f6f8fa;padding:10px;overflow-x:auto;font-size:12.5px}
.ts-report nav a{margin-right:14px;color:#3b5b92}
.ts-flag{color:#b3261e}
"""

_e = html.escape
#: Columns with a marginal plot in the fidelity section (the worst ones).
PLOTTED_COLUMNS = 4
#: Rows of the "worst pairs" table.
WORST_PAIRS = 8


def render_html(data: Mapping[str, Any]) -> str:
    """The whole report page."""
    body = "".join(
        [
            _header(data),
            "<nav><a href='#verdict'>Verdict</a><a href='#fidelity'>Fidelity</a>"
            "<a href='#subgroups'>Subgroups</a><a href='#utility'>Utility</a>"
            "<a href='#rules'>Rules</a><a href='#privacy'>Privacy</a>"
            "<a href='#methods'>Methods</a></nav>",
            _section("verdict", "Verdict", _verdict_table(data)),
            _fidelity_html(data),
            _subgroups_html(data),
            _utility_html(data),
            _section("rules", "Rules", rules_html(data)),
            _privacy_html(data),
            _methods_html(data),
        ]
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Synthetic data report</title><style>{_CSS}body{{margin:0}}</style></head>"
        f"<body><main class='ts-report'>{body}</main></body></html>\n"
    )


def render_fragment(data: Mapping[str, Any]) -> str:
    """The header and the verdict table, for a notebook cell (``Report._repr_html_``)."""
    return (
        f"<div class='ts-report'><style>{_CSS}</style>{_header(data)}{_verdict_table(data)}</div>"
    )


def _section(anchor: str, title: str, *parts: str) -> str:
    """One ``<section>`` of the page: ``anchor`` is its id (the nav links to it)."""
    return f"<section id='{anchor}'><h2>{title}</h2>" + "".join(parts) + "</section>"


def _header(data: Mapping[str, Any]) -> str:
    s, verdict, settings = data["summary"], data["verdict"], data.get("settings", {})
    ref = (
        f"holdout of {s['n_holdout']:,} rows"
        if s["reference"] == "holdout"
        else "random split of the real table"
    )
    target = f" · target: {_e(str(s['target']))}" if s.get("target") else ""
    created = f" · {_e(str(settings['created']))}" if settings.get("created") else ""
    light = verdict["overall"]
    return (
        "<h1>Synthetic data report</h1>"
        f"<p class='ts-meta'>{s['n_real']:,} real rows · {s['n_synthetic']:,} synthetic rows · "
        f"reference: {ref}{target}{created}</p>"
        f"<p><span class='ts-badge ts-{light}'>Overall: {light.upper()}</span> "
        f"{_e(verdict['headline'])}</p>"
    )


def _verdict_table(data: Mapping[str, Any]) -> str:
    rows = [
        [
            f"<span class='ts-light ts-{line['light']}' title='{line['light']}'></span>"
            f"{_e(line['check'])}",
            _e(line["display"]),
            _e(line["message"]),
        ]
        for line in data["verdict"]["lines"]
    ]
    return _table(["Check", "Result", "What it means"], rows, cls="ts-verdict")


def _fidelity_html(data: Mapping[str, Any]) -> str:
    from tabsynth.evaluation import plots

    fid = data["fidelity"]
    s, km, det = data["summary"], fid["k_marginal"], fid["detection"]
    km_ci = det_ci = ""
    if km.get("ci"):
        km_ci = f" (95 % CI over sampled sets {km['ci'][0]:.0f}–{km['ci'][1]:.0f})"
    if det.get("ci"):
        det_ci = f" (95 % CI {det['ci'][0]:.2f}–{det['ci'][1]:.2f})"
    key = [
        [
            "Column shapes (mean 1 − KS / 1 − TVD)",
            s["column_shape_score"],
            s["column_shape_score_holdout"],
            "1 = identical distribution of each column",
        ],
        [
            "2-way marginal accuracy (1 − mean TVD)",
            s["two_way_accuracy"],
            s["two_way_accuracy_holdout"],
            "1 = identical distribution of each pair of columns",
        ],
        [
            "Pair trends (correlation / contingency)",
            s["pair_trend_score"],
            s["pair_trend_score_holdout"],
            "1 = same correlations and contingency tables",
        ],
        [
            "k-marginal, k = 3",
            km["score"],
            km.get("reference"),
            "1000 = identical 3-way marginals" + km_ci,
        ],
        [
            "Detection AUC",
            det["auc"],
            0.5,
            "0.5 = a classifier cannot tell real from synthetic" + det_ci,
        ],
    ]
    key_rows = []
    for name, value, reference, meaning in key:
        spec = ".0f" if "k-marginal" in name else ".3f"
        key_rows.append([_e(name), _num(value, spec), _num(reference, spec), _e(meaning)])
    parts = [
        "<p>How closely the synthetic table reproduces the real one. The <b>real reference</b> "
        "column scores a real sample of the same size the same way: that is what "
        "&ldquo;as good as real&rdquo; looks like at this size.</p>",
        _table(["Score", "Synthetic", "Real reference", "Meaning"], key_rows, numeric={1, 2}),
        "<h3>Columns</h3>",
        _columns_table(fid["columns"]),
    ]
    worst = sorted(
        (c for c in fid["columns"] if c["score"] is not None),
        key=lambda c: -((c.get("score_reference") or 1.0) - c["score"]),
    )[:PLOTTED_COLUMNS]
    if worst:
        parts.append("<h3>Marginals of the least faithful columns</h3><div class='ts-figs'>")
        parts += [_img(plots.marginal_plot(c), f"marginal of {c['column']}") for c in worst]
        parts.append("</div>")
    assoc = fid["pairs"]["association"]
    if len(assoc["columns"]) > 1:
        parts.append(
            "<h3>Relationships between columns</h3><p>Absolute difference between the real and "
            "synthetic association of each pair: Pearson correlation for two numeric columns, "
            "Cramér's V when a categorical column is involved. White is identical.</p>"
        )
        parts.append(
            _img(
                plots.association_heatmap(assoc["columns"], assoc["real"], assoc["synthetic"]),
                "association difference heatmap",
            )
        )
    parts.append(_worst_pairs(fid["pairs"]["pairs"]))
    if km.get("worst_sets"):
        rows = [[_e(", ".join(w["columns"])), _num(w["tvd"])] for w in km["worst_sets"]]
        parts.append("<h3>Least faithful 3-column combinations</h3>")
        parts.append(_table(["Columns", "TVD"], rows, numeric={1}))
    return _section("fidelity", "Fidelity", *parts)


def _columns_table(columns: list[dict[str, Any]]) -> str:
    rows = []
    for c in columns:
        coverage = "range" if c["coverage_kind"] == "range" else "categories"
        rows.append(
            [
                _e(c["column"]),
                _e(c["kind"]),
                measure_name(c["metric"]),
                _num(c["score"]),
                _num(c.get("score_reference")),
                _pct(c["missing_real"]),
                _pct(c["missing_synthetic"]),
                f"{_pct(c['coverage'])} {coverage}",
                _pct(c.get("outside_real")),
            ]
        )
    headers = [
        "Column",
        "Kind",
        "Measure",
        "Synthetic",
        "Real ref.",
        "Missing (real)",
        "Missing (synth.)",
        "Coverage",
        "Synthetic outside real range",
    ]
    return _table(headers, rows, numeric={3, 4, 5, 6, 7, 8})


def _worst_pairs(pairs: list[dict[str, Any]]) -> str:
    if not pairs:
        return ""
    worst = sorted(pairs, key=lambda p: -p["tvd"])[:WORST_PAIRS]
    rows = [
        [
            _e(" × ".join(p["columns"])),
            _num(p["tvd"]),
            "Pearson" if p["trend"] == "correlation" else "Cramér's V",
            _num(p["real"]),
            _num(p["synthetic"]),
        ]
        for p in worst
    ]
    return "<h3>Least faithful pairs</h3>" + _table(
        ["Pair", "2-way TVD", "Association", "Real", "Synthetic"], rows, numeric={1, 3, 4}
    )


def _subgroups_html(data: Mapping[str, Any]) -> str:
    from tabsynth.evaluation import plots

    section = data.get("subgroups")
    if not section:
        return _section(
            "subgroups",
            "Subgroups",
            "<p class='ts-note'>No group columns: mark columns as sensitive in the metadata or "
            "pass <code>groups=</code> to check fidelity group by group.</p>",
        )
    parts = [
        "<p>Fidelity inside each group. Small groups are noisy even for a perfect "
        "synthesizer, so each score sits beside its <b>real reference</b>: a real sample of the "
        "same group size scored the same way (the expected noise at this size). A group is "
        "flagged only when it does clearly worse than that, beyond the whole table's gap.</p>",
    ]
    has_utility = any("tstr" in g for col in section["columns"] for g in col["groups"])
    has_rates = any("accuracy_tstr" in g for col in section["columns"] for g in col["groups"])
    for col in section["columns"]:
        parts.append(f"<h3>{_e(col['column'])}</h3>")
        rows = []
        for g in col["groups"]:
            row = [
                _e(g["group"]),
                f"{g['n_real']:,}",
                f"{g['n_synthetic']:,}",
                f"{_pct(g['share_real'])} / {_pct(g['share_synthetic'])}",
                f"{_num(g.get('one_way_accuracy'))} ({_num(g.get('one_way_accuracy_reference'))})",
                f"{_num(g['two_way_accuracy'])} ({_num(g['two_way_accuracy_reference'])})",
                f"{_num(g['k_marginal'], '.0f')} ({_num(g['k_marginal_reference'], '.0f')})",
            ]
            if has_utility:
                row.append(f"{_num(g.get('tstr'))} / {_num(g.get('trtr'))}")
            if has_rates:
                row += [
                    f"{_num(g.get('accuracy_tstr'))} / {_num(g.get('accuracy_trtr'))}",
                    f"{_num(g.get('tpr_tstr'))} / {_num(g.get('tpr_trtr'))}",
                ]
            flags = "<br>".join(_e(f) for f in g.get("flags", []))
            row.append(f"<span class='ts-flag'>{flags}</span>" if flags else "ok")
            rows.append(row)
        headers = [
            "Group",
            "Real rows",
            "Synth. rows",
            "Share real / synth.",
            "1-way acc. (real ref.)",
            "2-way acc. (real ref.)",
            "k-marginal (real ref.)",
        ]
        if has_utility:
            headers.append("TSTR / TRTR")
        if has_rates:
            headers += ["Accuracy TSTR / TRTR", "TPR TSTR / TRTR"]
        headers.append("Flags")
        # every column but the group's name and its flags is numeric
        parts.append(_table(headers, rows, numeric=set(range(1, len(headers) - 1))))
        odds = col.get("equalized_odds")
        if odds:
            parts.append(
                f"<p>Equalized-odds difference over these groups: {odds['tstr']:.3f} for the "
                f"model trained on synthetic data, {odds['trtr']:.3f} trained on real data "
                "(the disparity the real data itself carries).</p>"
            )
        figure = plots.subgroup_plot(col)
        if figure:
            parts.append(_img(figure, f"k-marginal by group of {col['column']}"))
    return _section("subgroups", "Subgroups", *parts)


def _utility_html(data: Mapping[str, Any]) -> str:
    util = data.get("utility")
    if not util:
        return _section(
            "utility",
            "Utility",
            "<p class='ts-note'>No target given: pass <code>target=</code> to compare a model "
            "trained on synthetic data with one trained on real data.</p>",
        )
    skipped = util.get("skipped")
    if skipped:
        others = [n for n in util.get("notes", []) if n != skipped.get("message")]
        return _section(
            "utility",
            "Utility",
            f"<p class='ts-note'><b>Not scored</b> (target <b>{_e(str(util['target']))}</b>): "
            f"{_e(str(skipped.get('message')))}.</p>",
            _notes(others),
        )
    name = "ROC AUC" if util["metric"] == "auc" else "R²"
    if util["task"] == "multiclass":
        name = "macro one-vs-rest ROC AUC"
    rows = [
        [label, _num(util.get(key)), _ci(util.get(f"{key}_ci"))]
        for label, key in (
            ("Train on synthetic, test on real (TSTR)", "tstr"),
            ("Train on real, test on real (TRTR)", "trtr"),
            ("Gap (TRTR − TSTR)", "gap"),
        )
    ]
    info = (
        f"Target <b>{_e(str(util['target']))}</b> ({_e(util['task'])}), metric: {_e(name)}"
        + (
            f", positive class {_e(str(util['positive_class']))}"
            if "positive_class" in util
            else ""
        )
        + f". Model: {_e(util['model'])}; {util['n_train']:,} training rows per model; "
        f"{util['n_test']:,} real test rows ({_e(util.get('test_source', ''))}); 95 % intervals "
        f"from a paired bootstrap of the test rows ({util.get('bootstrap', 0)} replicates)."
    )
    return _section(
        "utility",
        "Utility",
        f"<p>{info}</p>",
        _table(["", "Score", "95 % interval"], rows, numeric={1, 2}),
        _notes(util.get("notes", [])),
    )


def _privacy_html(data: Mapping[str, Any]) -> str:
    from tabsynth.evaluation import plots

    parts = []
    dp = data.get("dp")
    if dp:
        spent = (
            "" if dp.get("epsilon_spent") is None else f" (spent: ε = {dp['epsilon_spent']:.4g})"
        )
        parts += [
            "<h3>Differential privacy ledger</h3>",
            f"<p>The synthesizer was trained with differential privacy: <b>ε = {dp['epsilon']:g}, "
            f"δ = {dp['delta']:.2e}</b>{_e(spent)}. This formal guarantee bounds what any "
            "attack can learn about any one person, including attacks not run below.</p>",
            f"<pre>{_e(dp['explanation'])}</pre>",
        ]
    else:
        parts.append(
            "<p class='ts-note'>No differential-privacy ledger: the synthesizer gives no formal "
            "guarantee, so the evidence below is empirical only.</p>"
        )
    if data.get("audit"):
        from tabsynth.evaluation.audit_page import audit_section

        parts.append(audit_section(data["audit"]))
    priv = data.get("privacy") or {}
    if "attacks" not in priv:
        parts.append(_notes(priv.get("notes", ["Privacy attacks were not run."])))
        return _section("privacy", "Privacy", *parts)
    light = PRIVACY_LIGHT.get(priv.get("privacy_risk"), RED)
    parts += [
        "<h3>Attacks</h3>",
        f"<p><span class='ts-light ts-{light}'></span><b>Risk: {_e(str(priv['privacy_risk']))}"
        f"</b> · membership-inference advantage {_num(priv.get('mia_advantage'))} · exact "
        f"copies of training rows: {_pct(priv.get('exact_copy_rate'))}</p>",
    ]
    thresholds = priv.get("risk_thresholds")
    if thresholds:
        parts.append(f"<p class='ts-meta'>Risk thresholds: {_e(_inline(thresholds))}</p>")
    if priv["attacks"]:
        rows = [
            [
                _e(str(name)),
                _num(a.get("advantage")),
                _ci(a.get("ci")),
                _e(str(a.get("description", ""))),
            ]
            for name, a in priv["attacks"].items()
        ]
        headers = ["Attack", "Advantage", "95 % interval", "What it tries"]
        parts.append(_table(headers, rows, numeric={1, 2}))
        parts.append(
            "<p class='ts-meta'>Advantage: how much better than guessing the attack does "
            "(0 = no better than chance, 1 = always right).</p>"
        )
    roc = plots.roc_plot(priv["attacks"])
    if roc:
        parts.append(_img(roc, "ROC curves of the attacks"))
    if priv.get("groups"):
        parts.append(_group_privacy_html(priv["groups"]))
    if priv.get("exact_copy"):
        parts.append(f"<p class='ts-meta'>Exact copies: {_e(_inline(priv['exact_copy']))}</p>")
    if priv.get("diagnostics"):
        diagnostics = dict(priv["diagnostics"])
        caveat = diagnostics.pop("caveat", None) or DCR_CAVEAT
        parts += [
            "<h3>Distance diagnostics (not privacy evidence)</h3>",
            f"<p class='ts-caveat'>{_e(str(caveat))}</p>",
            _diagnostics_html(diagnostics),
        ]
    parts.append(_notes(priv.get("notes", [])))
    return _section("privacy", "Privacy", *parts)


def _group_privacy_html(section: Mapping[str, Any]) -> str:
    """Attack advantages and the near-copy check per group (tabsynth.evaluation.group_privacy)."""
    parts = [
        "<h3>Privacy by group</h3>",
        "<p>The attacks above, run on each group's own people, and a near-copy check: is a "
        "synthetic member of the group closer to the group's training rows than to as many of "
        "its holdout rows? (0 = no, 1 = every synthetic member mirrors a training member). "
        "Small groups have wide intervals; a group whose lower bound crosses a threshold "
        "raises the risk of the whole release.</p>",
    ]
    for col in section.get("columns", []):
        rows = []
        for g in col["groups"]:
            copies = g.get("near_copies") or {}
            best = max(g["attacks"].items(), key=lambda kv: kv[1]["ci"][0], default=None)
            rows.append(
                [
                    _e(str(g["group"])),
                    f"{g['n_train']:,}",
                    f"{g['n_synthetic']:,}",
                    "–" if best is None else f"{_e(best[0])}: {_num(best[1]['advantage'])}",
                    "–" if best is None else _ci(best[1]["ci"]),
                    _num(copies.get("advantage")),
                    _ci(copies.get("ci")),
                    _e(g["risk"]),
                ]
            )
        headers = [
            "Group",
            "Training rows",
            "Synth. rows",
            "Strongest attack",
            "95 % interval",
            "Near copies",
            "95 % interval",
            "Risk",
        ]
        parts += [f"<h4>{_e(col['column'])}</h4>", _table(headers, rows, numeric={1, 2, 4, 5, 6})]
    return "".join(parts)


def _methods_html(data: Mapping[str, Any]) -> str:
    settings = data.get("settings", {})
    km = data["fidelity"]["k_marginal"]
    det = data["fidelity"]["detection"]
    excluded = settings.get("excluded_columns") or []
    sets = _e(
        f"{km['n_sets']} of {km['n_sets_total']} column sets, drawn with seed {km['seed']}"
        if km.get("sampled")
        else f"all {km.get('n_sets_total', km['n_sets'])} column sets"
    )
    reference = (
        "the holdout (real rows the synthesizer never saw), subsampled to the synthetic size"
        if settings.get("reference") == "holdout"
        else "one random half of the real table scored against the other half"
    )
    items = [
        f"<b>Reference.</b> Every fidelity score is also computed for {reference} "
        f"({_e(str(settings.get('n_reference', '–')))} rows).",
        f"<b>Encoding.</b> Numbers and dates fall into {_e(str(settings.get('bins', 20)))} "
        "quantile bins of "
        "the real values (dates as days); missing values have their own bin; categories not "
        "seen in the real table have their own code. "
        + (
            f"Not evaluated (generated fresh, never learned): {_e(', '.join(excluded))}."
            if excluded
            else ""
        ),
        "<b>Column shapes.</b> Kolmogorov–Smirnov statistic on the non-missing values of "
        "numeric and date columns; total variation distance (TVD, missing as a category) for "
        "categorical and boolean columns. Coverage: share of the real range, or of the real "
        "categories, that the synthetic table reaches.",
        "<b>Pairs.</b> 2-way marginal accuracy = 1 − mean TVD over all pairs of binned columns. "
        "Pair trends: 1 − |Δ Pearson| / 2 for two numeric columns, 1 − 2-way TVD otherwise.",
        f"<b>k-marginal.</b> 1000 × (1 − mean TVD) over 3-way marginals; {sets}.",
        f"<b>Detection.</b> {_e(str(det.get('model', '')))}, {_e(str(det.get('folds', '–')))}"
        f"-fold cross-validation on {_e(str(det.get('n_per_class', '–')))} rows per class; "
        "identical rows share "
        "a fold; AUC of pooled out-of-fold predictions with a Hanley–McNeil interval.",
        "<b>Subgroups.</b> Groups are the most frequent categories (rare ones merged) or "
        "quartile bands of numeric columns; scores inside a group leave out the group column.",
        "<b>Verdict thresholds.</b> Judgment calls, listed in the table below; beyond the "
        "amber limit a line is red. Privacy attack lights follow the attacks' own risk level.",
        f"<b>Settings.</b> seed {_e(str(settings.get('seed')))}; caps "
        f"{_e(_inline(settings.get('caps', {})))}; tabsynth "
        f"{_e(str(settings.get('tabsynth_version', '')))}; step timings (s) "
        f"{_e(_inline(settings.get('timings_s', {})))}.",
    ]
    limits = [
        ("3-way marginals: k-marginal points below the real reference", K_MARGINAL_GAP),
        ("Pairs: 2-way accuracy below the real reference", TWO_WAY_GAP),
        ("Single columns: worst column's score below its real reference", COLUMN_GAP),
        ("Detection: AUC", DETECTION_AUC),
        ("Utility: TRTR − TSTR, AUC", UTILITY_GAP["auc"]),
        ("Utility: TRTR − TSTR, R²", UTILITY_GAP["r2"]),
        ("Formal privacy: ε", EPSILON),
    ]
    rows = [[_e(name), f"{lo:g}", f"{hi:g}"] for name, (lo, hi) in limits]
    return _section(
        "methods",
        "Methods and notes",
        "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>",
        _table(["Verdict check", "Green up to", "Amber up to"], rows, numeric={1, 2}),
        _notes(data.get("notes", [])),
    )


# -- small HTML helpers -----------------------------------------------------------------------


def _table(
    headers: list[str], rows: list[list[str]], cls: str = "", numeric: set[int] | None = None
) -> str:
    """A table; ``rows`` hold HTML that is already escaped."""
    numeric = numeric or set()
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='ts-num'>{cell}</td>" if i in numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    attr = f" class='{cls}'" if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{_e(alt)}">'


def fmt(value: Any, spec: str = ".3f") -> str:
    """``value`` formatted with ``spec`` when it is a number, "–" when it is None."""
    if value is None:
        return "–"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:{spec}}"
    return str(value)


def _num(value: Any, spec: str = ".3f") -> str:
    return _e(fmt(value, spec))


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _ci(ci: Any) -> str:
    if not ci:
        return "–"
    return f"{fmt(ci[0])} – {fmt(ci[1])}"


def _notes(notes: list[str]) -> str:
    if not notes:
        return ""
    return "<div class='ts-note'>" + "<br>".join(_e(str(n)) for n in notes) + "</div>"


def _inline(mapping: Mapping[str, Any]) -> str:
    """``key: value`` pairs on one line (plain text; escape before use in HTML)."""
    return "; ".join(f"{k}: {_short_value(v)}" for k, v in mapping.items())


def _short_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        shown = ", ".join(_short_value(v) for v in value[:6])
        return f"[{shown}{', …' if len(value) > 6 else ''}]"
    if isinstance(value, Mapping):
        return "{" + _inline(value) + "}"
    return str(value)


def _diagnostics_html(diagnostics: Mapping[str, Any]) -> str:
    """Any diagnostics dict: a table per group of same-shaped records (such as DCR summaries
    per comparison), then one row per remaining value."""
    parts, loose = [], []
    for name, value in diagnostics.items():
        records = (
            {k: v for k, v in value.items() if isinstance(v, Mapping)}
            if isinstance(value, Mapping)
            else {}
        )
        if not records:
            loose.append([_e(str(name)), _e(_short_value(value))])
            continue
        fields = list(dict.fromkeys(f for rec in records.values() for f in rec))
        rows = [
            [_e(str(k)), *(_e(_short_value(rec.get(f, "–"))) for f in fields)]
            for k, rec in records.items()
        ]
        parts.append(f"<h4>{_e(str(name))}</h4>")
        parts.append(_table(["", *map(str, fields)], rows, numeric=set(range(1, len(fields) + 1))))
        loose += [
            [_e(f"{name}: {k}"), _e(_short_value(v))]
            for k, v in value.items()
            if not isinstance(v, Mapping)
        ]
    if loose:
        parts.append(_table(["Diagnostic", "Value"], loose))
    return "".join(parts)
