"""Rules inside the models: structural zeros of the marginal models, derivations turned round.

* MST and AIM estimate their graphical model with the cells the rules rule out held at zero,
  so the rows they draw satisfy those rules before any redraw, and the mass the measurements
  put on impossible cells goes to valid ones (rejection would cut it instead).
* GaussianCopula derives a number from a category it models better, not the other way round.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from test_rules_enforce import RULES, make_table, metadata

from tabsynth.domain import BinnedCodec, CategoryCodec, DomainEncoder
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.rules import Compare, Condition, Conditional, Dependency
from tabsynth.rules.check import all_satisfied
from tabsynth.rules.enforce import Enforcer, backwards_derivations
from tabsynth.rules.zeros import StructuralZero, structural_zeros
from tabsynth.synthesizers import (
    AIMSynthesizer,
    AutoregressiveSynthesizer,
    GaussianCopulaSynthesizer,
    MSTSynthesizer,
)
from tabsynth.synthesizers.marginal import Measurement, estimate

from neighbours import differences, fingerprint, fit_and_watch

HUSBAND_MALE = RULES[3]


def test_zeros_are_the_cells_every_value_of_which_breaks_a_rule() -> None:
    """Husband/Female and Wife/Male are zeros, "Other" and a missing relationship are not; a
    numeric bin is a zero only when every value in it breaks the rule (one value here)."""
    md = metadata()
    encoder = DomainEncoder.from_metadata(md, bins=8)
    columns = encoder.columns
    found = {tuple(columns[a] for a in z.clique): z.allowed for z in structural_zeros(md, encoder)}
    # relationship: Husband, Wife, Other, missing; sex: Male, Female (not nullable)
    assert found[("relationship", "sex")].tolist() == [[1, 0], [0, 1], [1, 1], [1, 1]]
    # age's first bin holds 0 alone (a point bin at the bound): a zero of "age >= 1", and of
    # "age < 15 => marital missing" with a marital status; its next bin holds 1 to 15, and
    # 15 satisfies both rules, so it is not a zero
    assert found[("age",)].tolist() == [False] + [True] * 7
    assert found[("age", "marital")][0].tolist() == [False, False, True]
    assert found[("age", "marital")][1:].all()
    # derived columns (level, total) are not in the model
    assert not any("level" in k or "total" in k for k in found)


def test_other_codes_and_wide_bins_are_never_zeros() -> None:
    md = Metadata(
        {
            "relationship": ColumnSpec("categorical", categories=("Husband", "Wife")),
            "sex": ColumnSpec("categorical", categories=("Male", "Female")),
            "x": ColumnSpec("numerical", dtype="float", lower=0, upper=10),
        },
        public=True,
        rules=(HUSBAND_MALE, Compare("x", ">=", value=5)),
    )
    encoder = DomainEncoder(
        md,
        {
            "relationship": CategoryCodec(("Husband", "Wife"), other=True),
            "sex": CategoryCodec(("Male", "Female"), other=True),
            "x": BinnedCodec(np.array([0.0, 0.0, 4.0, 10.0])),  # a point bin at 0, two wide
        },
    )
    zeros = {z.clique: z.allowed for z in structural_zeros(md, encoder)}
    # relationship: Husband, Wife, other, missing; sex: Male, Female, other, missing
    assert zeros[(0, 1)][0].tolist() == [True, False, True, False]  # other may be Male
    assert zeros[(0, 1)][2].all()  # other relationship: unknown value, never a zero
    assert zeros[(2,)].tolist() == [False, True, True, True]  # only the point bin at 0


def test_estimate_moves_the_mass_of_impossible_cells_to_valid_ones() -> None:
    """Only the 1-way marginals measured (an independent model), and the rule "a == No ⇒
    b == No". Both measured marginals are reachable with the zero (No: 30 %; b == No: 65 %),
    so the estimate must fit them exactly with nothing in the zero cell - where conditioning
    the independent fit on the rule (rejection) would leave ``a == No`` at
    0.3 · 0.65 / (1 − 0.3 · 0.35) = 21.8 %."""
    total = 10_000.0
    one_a = Measurement((0,), np.array([3000.0, 7000.0]), 1.0)
    one_b = Measurement((1,), np.array([6500.0, 3500.0]), 1.0)
    zero = StructuralZero((0, 1), np.array([[True, False], [True, True]]))
    model = estimate((2, 2), [one_a, one_b], iters=2000, total=total, zeros=[zero])
    joint = model.project((0, 1))
    assert joint[0, 1] == 0.0
    np.testing.assert_allclose(joint.sum(axis=1), [3000, 7000], rtol=1e-3)
    np.testing.assert_allclose(joint.sum(axis=0), [6500, 3500], rtol=1e-3)
    plain = estimate((2, 2), [one_a, one_b], iters=2000, total=total).project((0, 1))
    kept = plain * zero.allowed
    assert kept.sum(axis=1)[0] / kept.sum() == pytest.approx(0.3 * 0.65 / (1 - 0.3 * 0.35), 1e-2)


def test_coarsened_zero_keeps_a_merged_cell_with_any_valid_member() -> None:
    zero = StructuralZero((0, 1), np.array([[True, False, False], [False, False, True]]))
    merged = zero.coarsened([np.array([0, 1]), np.array([0, 1, 1])])
    assert merged.allowed.tolist() == [[True, False], [False, True]]


@pytest.mark.parametrize(
    "make",
    [
        lambda: MSTSynthesizer(1.0, noise_seed=1, max_iters=100, binning="auto"),
        lambda: AIMSynthesizer(
            1.0, noise_seed=1, max_rounds=4, round_iters=20, max_iters=50, binning="auto"
        ),
    ],
    ids=["mst", "aim"],
)
def test_marginal_models_draw_no_impossible_cell_before_any_redraw(make) -> None:
    """The model itself gives the zeros no probability: rows straight from the model (no
    enforcement) satisfy the categorical rules, and the model's tables are zero there."""
    table = make_table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synth = make().fit(table, metadata())
    raw = synth._sample(4000, np.random.default_rng(0))  # the model's rows, not enforced
    categorical = [r for r in RULES if set(r.columns) <= {"relationship", "sex"}]
    assert len(categorical) == 2
    assert all_satisfied(raw, metadata(), categorical).all()
    columns = synth.encoder_.columns
    rel, sex = columns.index("relationship"), columns.index("sex")
    joint = synth.model_.project((rel, sex))
    assert joint[0, 1] == 0.0 and joint[1, 0] == 0.0  # Husband/Female, Wife/Male


def test_turned_round_only_when_the_mapping_is_one_to_one() -> None:
    one_to_one = Dependency("code", "level", mapping=[(1, "low"), (2, "mid"), (3, "high")])
    many_to_one = Dependency("code", "level", mapping=[(1, "low"), (2, "low"), (3, "high")])
    to_missing = Dependency("code", "level", mapping=[(1, "low"), (2, None)])
    always = lambda rule: True  # noqa: E731
    turned = backwards_derivations([one_to_one], always)[0]
    assert (turned.determinant, turned.dependent) == ("level", "code")
    assert dict(turned.mapping) == {"low": 1, "mid": 2, "high": 3}
    for rule in (many_to_one, to_missing):
        assert backwards_derivations([rule], always) == [rule]
    # a turn that would derive one column twice is not made
    other = Conditional((Condition("code", "==", 1),), (Condition("level", "==", "low"),))
    derives_code = Dependency("grade", "code", mapping=[("a", 1)])
    kept = backwards_derivations([one_to_one, other, derives_code], always)
    assert kept[0] == one_to_one


def test_gaussian_copula_derives_the_number_from_its_category() -> None:
    """A skewed code of 12 values determines its label one to one. The copula models the
    label by its frequencies and the code by a continuous marginal; with the rule, the label
    keeps the copula's frequencies (total variation from the real shares within sampling
    noise: about 0.02 for 12 shares at n = 3000, bound 0.05) and the code is its image."""
    rng = np.random.default_rng(0)
    n = 3000
    probs = np.array([30, 20, 12, 9, 7, 6, 5, 4, 3, 2, 1, 1], float)
    code = rng.choice(np.arange(1, 13), n, p=probs / probs.sum())
    labels = [f"L{k}" for k in range(1, 13)]
    data = pd.DataFrame({"code": code, "label": [labels[c - 1] for c in code]})
    rule = Dependency("code", "label", mapping=list(zip(range(1, 13), labels, strict=True)))
    md = Metadata(
        {
            "code": ColumnSpec("numerical", dtype="int", lower=1, upper=12, nullable=False),
            "label": ColumnSpec("categorical", categories=tuple(labels), nullable=False),
        },
        public=True,
        rules=(rule,),
    )
    synth = GaussianCopulaSynthesizer(seed=0).fit(data, md)
    assert isinstance(synth._enforcer(), Enforcer)
    assert [r.derived for r in synth._enforcer().derivations] == ["code"]
    out = synth.sample(n, seed=1)
    assert all_satisfied(out, md, [rule]).all()
    real = data["label"].value_counts(normalize=True)
    fake = out["label"].value_counts(normalize=True).reindex(real.index, fill_value=0.0)
    assert 0.5 * np.abs(real - fake).sum() < 0.05


@pytest.mark.parametrize("extra", ["breaks a rule", "new category"])
def test_neighbours_of_an_aim_fit_with_zeros_expose_the_same(tmp_path, extra) -> None:
    """The zeros come from the declared rules and the domain, never the rows: AIM with rules
    on D and on D plus one row (one that breaks a rule, or holds an undeclared category,
    clipped) exposes the same schema, ledger structure, model file and messages."""
    table = make_table(600)
    row = table.iloc[[7]].copy()
    if extra == "breaks a rule":
        row[["relationship", "sex"]] = ["Husband", "Female"]
    else:
        row["relationship"] = "X"
    bigger = pd.concat([table, row], ignore_index=True)

    def make() -> AIMSynthesizer:
        return AIMSynthesizer(
            2.0, seed=0, noise_seed=3, max_rounds=3, round_iters=10, max_iters=20,
            on_out_of_bounds="clip",
        )  # fmt: skip

    left, shown_left = fit_and_watch(make, table, metadata())
    right, shown_right = fit_and_watch(make, bigger, metadata())
    found = differences(
        fingerprint(left, shown_left, tmp_path), fingerprint(right, shown_right, tmp_path)
    )
    assert not found, "\n".join(found)


@pytest.mark.parametrize("epsilon", [None, 2.0], ids=["non-private", "dp-sgd"])
def test_autoregressive_masks_impossible_codes_at_sampling(epsilon) -> None:
    """A barely trained network (one epoch) gives impossible cells real probability; the
    codes it draws satisfy the categorical rules anyway, before any redraw, because each
    code that would complete a zero is masked - also with a given column that a rule ties
    to one drawn after it."""
    table = make_table(600)
    md = metadata()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synth = AutoregressiveSynthesizer(
            epsilon=epsilon, noise_seed=1 if epsilon else None, seed=0, epochs=1, width=8,
            batch_size=256, progress=False,
        ).fit(table, md)  # fmt: skip
    rng = np.random.default_rng(0)
    raw = synth.encoder_.decode(synth._sample_codes(4000, rng), rng)
    categorical = [r for r in RULES if set(r.columns) <= {"relationship", "sex"}]
    assert all_satisfied(raw, md, categorical).all()
    women = synth.sample(500, seed=2, conditions={"sex": "Female"})
    assert not (women["relationship"] == "Husband").any()


def test_rules_reading_a_derived_column_make_no_zeros() -> None:
    """A derived column is not in a DP model's codes: a rule that reads it is left to the
    enforcer, and the other rules still give their zeros."""
    on_level = Conditional((Condition("level", "==", "low"),), (Condition("sex", "==", "Male"),))
    md = Metadata(metadata().columns, public=True, rules=(*RULES, on_level))
    modelled = [n for n in md.names if n not in ("pid", "level", "total")]
    encoder = DomainEncoder.from_metadata(
        Metadata({n: md[n] for n in modelled}, public=True), bins=8
    )
    found = {tuple(encoder.columns[a] for a in z.clique) for z in structural_zeros(md, encoder)}
    assert ("relationship", "sex") in found
    assert not any("level" in k for k in found)
