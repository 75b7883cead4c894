"""Jupyter displays (`_repr_html_`) of metadata, privacy ledgers and synthesizers."""

from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd

import tabsynth as ts
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.privacy import LedgerEntry, PrivacyLedger


class _Cells(HTMLParser):
    """Text of every table cell, and whether the tags balance."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self.open: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        self.open.append(tag)
        if tag in ("td", "th"):
            self._in_cell = True
            self.cells.append("")

    def handle_endtag(self, tag):
        assert self.open.pop() == tag
        self._in_cell = tag not in ("td", "th") and self._in_cell

    def handle_data(self, data):
        if self._in_cell:
            self.cells[-1] += data


def _cells(html: str) -> list[str]:
    parser = _Cells()
    parser.feed(html)
    assert parser.open == []  # every tag closed
    return parser.cells


def test_metadata_shows_kinds_domains_and_escapes_names():
    md = Metadata(
        {
            "<b>age</b>": ColumnSpec("numerical", dtype="int", lower=0, upper=120),
            "sex": ColumnSpec("categorical", categories=("F", "M"), nullable=False),
        },
        public=True,
    )
    html = md._repr_html_()
    assert "<b>age</b>" not in html and "&lt;b&gt;age&lt;/b&gt;" in html
    cells = _cells(html)
    assert cells[4:8] == ["<b>age</b>", "numerical (int)", "[0, 120]", "yes"]
    assert cells[8:12] == ["sex", "categorical", "{F, M}", "no"]
    assert "source user, public" in html


def test_ledger_shows_spend_by_release_and_share():
    ledger = PrivacyLedger(epsilon=1.0, delta=1e-9)
    for _ in range(2):
        ledger.record(
            LedgerEntry("gaussian", "marginal (a)", phase="measure", rho=ledger.rho_budget / 4)
        )
    ledger.declare_public("schema: 1 column")
    html = ledger._repr_html_()
    cells = _cells(html)
    assert cells[5:10] == [
        "measure",
        "marginal (a) (×2)",
        "gaussian",
        f"{ledger.rho_budget / 2:.4g}",
        "50.0 %",
    ]
    assert "schema: 1 column" in html and "ε = 1" in html


def test_synthesizer_shows_parameters_then_metadata_and_ledger_once_fitted():
    df = pd.DataFrame({"a": ["x", "y"] * 100, "b": [1, 2, 3, 4] * 50})
    md = Metadata(
        {
            "a": ColumnSpec("categorical", categories=("x", "y"), nullable=False),
            "b": ColumnSpec("numerical", dtype="int", lower=0, upper=10, nullable=False),
        },
        public=True,
    )
    synth = ts.MSTSynthesizer(epsilon=1.0)
    before = synth._repr_html_()
    assert "not fitted" in before and "Privacy ledger" not in before
    assert "epsilon" in _cells(before)
    synth.fit(df, metadata=md)
    after = synth._repr_html_()
    assert "MSTSynthesizer (fitted)" in after and "Privacy ledger" in after
    assert "Metadata: 2 columns" in after
