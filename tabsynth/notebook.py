"""How tabsynth's objects show in Jupyter: small, self-contained HTML tables (``_repr_html_``).

One module renders them so the classes carry one line each. Everything shown is already public
to whoever holds the object: a metadata's declarations, a ledger's releases, a synthesizer's
parameters and (when fitted) its metadata and ledger. Nothing is computed from training rows.
"""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = (
    "<style>.tabsynth-repr table{border-collapse:collapse;font-size:0.9em}"
    ".tabsynth-repr th,.tabsynth-repr td{border:1px solid #ccc;padding:2px 8px;text-align:left;"
    "vertical-align:top}.tabsynth-repr caption{text-align:left;font-weight:bold}</style>"
)
#: Most items of a list (categories, ledger entries) shown before "... and N more".
MAX_ITEMS = 12


def _table(caption: str, header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows
    )
    return (
        f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _short(items: Any) -> str:
    items = list(items)
    text = ", ".join(str(i) for i in items[:MAX_ITEMS])
    return text + (f", ... and {len(items) - MAX_ITEMS} more" if len(items) > MAX_ITEMS else "")


def _clip(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _wrap(*parts: str) -> str:
    return f'<div class="tabsynth-repr">{_STYLE}{"".join(parts)}</div>'


def metadata_table(metadata: Any) -> str:
    """The columns of a :class:`~tabsynth.Metadata`: kind, type, domain, nullability."""
    rows = []
    for name, spec in metadata.columns.items():
        if spec.categories is not None:
            domain = "{" + _short(spec.categories) + "}"
        elif spec.lower is not None or spec.upper is not None:
            domain = f"[{spec.lower}, {spec.upper}]"
        else:
            domain = ""
        kind = spec.kind + (f" ({spec.dtype})" if spec.dtype else "")
        kind += f" {spec.format}" if spec.format else ""
        rows.append([name, kind, domain, "yes" if spec.nullable else "no"])
    status = "public" if metadata.public else "not public"
    caption = f"Metadata: {len(metadata)} columns, source {metadata.source}, {status}"
    return _table(caption, ["column", "kind", "domain", "nullable"], rows)


def _repr_metadata(metadata: Any) -> str:
    return _wrap(metadata_table(metadata))


def ledger_table(ledger: Any) -> str:
    """A :class:`~tabsynth.privacy.PrivacyLedger`: the guarantee and the budget by phase."""
    caption = (
        f"Privacy ledger: (ε = {ledger.spent_epsilon:.4g}, δ = {ledger.spent_delta:.3g}) spent "
        f"of (ε = {ledger.epsilon:g}, δ = {ledger.delta:g})"
    )
    if ledger.seeded_noise:
        caption += " - SEEDED NOISE: not private (tests only)"
    groups: dict[tuple[str, str, str], list[Any]] = {}
    for entry in ledger.entries:
        groups.setdefault((entry.phase, entry.purpose, entry.mechanism), []).append(entry)
    budget = ledger.rho_budget
    rows = [
        [phase, purpose + (f" (×{len(es)})" if len(es) > 1 else ""), mechanism,
         f"{sum(e.rho for e in es):.4g}", f"{100 * sum(e.rho for e in es) / budget:.1f} %"]
        for (phase, purpose, mechanism), es in list(groups.items())[:MAX_ITEMS]
    ]  # fmt: skip
    if len(groups) > MAX_ITEMS:
        rest = [e for es in list(groups.values())[MAX_ITEMS:] for e in es]
        rho = sum(e.rho for e in rest)
        rows.append(
            ["", f"... and {len(rest)} more", "", f"{rho:.4g}", f"{100 * rho / budget:.1f} %"]
        )
    header = ["phase", "release", "mechanism", "ρ (zCDP)", "share of budget"]
    public = f"<p>Public, not charged: {escape(_short(ledger.public))}</p>" if ledger.public else ""
    return _table(caption, header, rows) + public


def _repr_ledger(ledger: Any) -> str:
    return _wrap(ledger_table(ledger))


def _repr_synthesizer(synth: Any) -> str:
    params = [[k, _clip(repr(v))] for k, v in synth.get_params().items()]
    fitted = getattr(synth, "is_fitted", False)
    caption = f"{type(synth).__name__} ({'fitted' if fitted else 'not fitted'})"
    parts = [_table(caption, ["parameter", "value"], params)]
    if fitted:
        parts.append(metadata_table(synth.metadata_))
        if synth.privacy is not None:
            parts.append(ledger_table(synth.privacy))
    return _wrap(*parts)
