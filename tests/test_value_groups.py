"""Category releases pooled over the columns of a value group
(:mod:`tabsynth.synthesizers.value_groups`, ``per_row`` in
:func:`~tabsynth.privacy.mechanisms.dp_category_look`)."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from tabsynth.errors import MetadataError, ParameterError
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.privacy import NoiseSource, PrivacyLedger
from tabsynth.privacy.mechanisms import (
    _combined_threshold,
    _singleton_threshold,
    _variance_for_rho,
    dp_category_look,
)
from tabsynth.synthesizers import MSTSynthesizer, dp_tails
from tabsynth.synthesizers.autoregressive import AutoregressiveSynthesizer
from tabsynth.synthesizers.base import load as load_model
from tabsynth.synthesizers.dp_domain import private_domain
from tabsynth.synthesizers.value_groups import CategoryUnit, category_units

pytestmark = pytest.mark.filterwarnings("ignore:noise_seed")
GROUP = tuple(f"dx{i}" for i in range(1, 7))


def grouped(*names: str, group: str = "icd9") -> Metadata:
    return Metadata(
        {name: ColumnSpec("categorical", value_group=group) for name in names}
        | {"sex": ColumnSpec("categorical")}
    )


# -- the declaration -------------------------------------------------------------------------


def test_value_group_is_schema_kept_by_schema_only_and_json() -> None:
    md = Metadata(
        {
            "dx1": ColumnSpec("categorical", categories=("a", "b"), value_group="icd9"),
            "age": ColumnSpec("numerical", dtype="int"),
        },
        public=True,
    )
    schema = md.schema_only()
    assert schema["dx1"].value_group == "icd9" and schema["dx1"].categories is None
    back = Metadata.from_dict(json.loads(json.dumps(md.to_dict())))
    assert back["dx1"].value_group == "icd9" and back["age"].value_group is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (dict(kind="numerical", dtype="int", value_group="g"), "only categorical columns"),
        (dict(kind="categorical", value_group=" "), "non-empty name"),
        (dict(kind="categorical", value_group="icd9 "), "without surrounding spaces"),
        (dict(kind="categorical", value_group=3), "a string"),
    ],
)
def test_a_misplaced_or_empty_value_group_is_refused(spec, message) -> None:
    with pytest.raises(MetadataError, match=message):
        ColumnSpec.from_dict("c", spec)


# -- units -------------------------------------------------------------------------------------


def test_holdings_count_each_value_once_per_row_and_skip_missing_values() -> None:
    frame = pd.DataFrame(
        {"dx1": ["a", "a", None, "c"], "dx2": ["a", "b", None, None], "dx3": ["b", "b", "c", None]},
        index=[10, 10, 11, 12],  # repeated labels: rows are told apart by position
    )
    held = CategoryUnit(("dx1", "dx2", "dx3"), "icd9").holdings(frame)
    assert sorted(zip(held.index, held, strict=True)) == [
        (0, "a"), (0, "b"), (1, "a"), (1, "b"), (2, "c"), (3, "c")
    ]  # fmt: skip
    assert held.value_counts().to_dict() == {"a": 2, "b": 2, "c": 2}
    alone = CategoryUnit(("dx1",)).holdings(frame)
    assert list(alone) == ["a", "a", "c"] and list(alone.index) == [0, 1, 3]


def test_category_units_put_a_group_where_its_first_member_stands() -> None:
    md = Metadata(
        {
            "sex": ColumnSpec("categorical"),
            "dx2": ColumnSpec("categorical", value_group="icd9"),
            "race": ColumnSpec("categorical"),
            "dx1": ColumnSpec("categorical", value_group="icd9"),
            "proc": ColumnSpec("categorical", value_group="cpt"),
        }
    )
    units = category_units(md, list(md.names))
    assert [(u.columns, u.group) for u in units] == [
        (("sex",), None),
        (("dx2", "dx1"), "icd9"),
        (("race",), None),
        (("proc",), "cpt"),
    ]
    assert units[1].width == 2 and units[1].label == "value group 'icd9' (columns 'dx2', 'dx1')"
    assert units[0].label == "column 'sex'"


# -- the mechanism -----------------------------------------------------------------------------


def test_per_row_scales_the_noise_and_the_thresholds_delta() -> None:
    """4,000 values of 10 rows each, none kept (δ = 1e-300 puts τ far above): with k = 3 the
    counts left over have variance 3/(2ρ) = 300 (ρ = 1/200). The sample variance of 4,000
    draws has a relative standard deviation of sqrt(2/3999) = 2.2 % (10 % is 4.5 of them),
    and k = 1's variance, 100, is a third of it."""
    rho, delta, k = 1 / 200, 1e-300, 3
    ledger = PrivacyLedger(1e6, 0.5, delta_reserved=0.1)
    values = [f"v{i:04d}" for i in range(4000) for _ in range(10)]
    kept, left, _ = dp_category_look(
        values, rho, delta, per_row=k, ledger=ledger, purpose="c", noise=NoiseSource.seeded(4)
    )
    assert kept == []
    noisy = np.array(list(left.noisy.values()))
    assert noisy.var(ddof=1) == pytest.approx(300.0, rel=0.10)
    assert noisy.mean() == pytest.approx(10.0, abs=5 * np.sqrt(300 / 4000))
    (entry,) = ledger.entries
    variance = k * _variance_for_rho(rho)
    assert Fraction(entry.params["variance"]) == variance == Fraction(300)
    assert entry.rho == pytest.approx(rho, rel=1e-12) and entry.rho <= rho
    assert entry.delta == delta and entry.params["values_per_row"] == k
    assert entry.params["threshold"] == _singleton_threshold(variance, delta / k)


@pytest.mark.parametrize("per_row", [0, 1.5, True, "2"])
def test_per_row_must_be_a_whole_number_of_values(per_row) -> None:
    ledger = PrivacyLedger(1e6, 0.5, delta_reserved=0.1)
    with pytest.raises(ParameterError, match="per_row"):
        dp_category_look(["a"], 0.01, 1e-9, per_row=per_row, ledger=ledger, purpose="c")


# -- the domain --------------------------------------------------------------------------------


def coded(seed: int) -> pd.DataFrame:
    """Six columns of codes: two frequent everywhere, and ten that each column holds 40 times
    (240 rows in all), with a plain column beside them."""
    rng = np.random.default_rng(seed)
    tail = [f"r{i:02d}" for i in range(10)]
    out = {}
    for name in GROUP:
        codes = np.array([*np.repeat(tail, 40), *np.repeat(["A", "B"], 3000)], dtype=object)
        rng.shuffle(codes)
        out[name] = codes
    out["sex"] = rng.choice(["F", "M"], len(codes)).astype(object)
    return pd.DataFrame(out)


def fit(frame: pd.DataFrame, metadata: Metadata, seed: int = 0, **kwargs):
    ledger = PrivacyLedger(50.0, 1e-9, delta_reserved=1e-10)
    encoder = private_domain(
        frame,
        metadata,
        ledger=ledger,
        rho=0.01,
        delta=1e-10,
        noise=NoiseSource.seeded(seed),
        **kwargs,
    )
    return encoder, ledger


@pytest.mark.parametrize("seed", range(3))
def test_a_group_releases_codes_its_columns_hold_too_rarely_alone(seed) -> None:
    """ρ = 0.01 over seven columns: every first look at σ = 26.5 with a threshold of 181
    (the group's too: six columns' shares of ρ and δ for six values a row leave each count
    one column's noise and δ). A rare code is held by 231-240 rows over the group (a row
    holding it twice counts once): when the group's first look misses it, its second look
    (σ_c = 19.2, τ_c = 131 in these fits) keeps it, 5σ_c above (a miss below 1e-7 a code).
    A column alone looks again at σ_c = 18.3-18.7, τ_c = 124-128, 4.6σ_c above its 40 rows (a
    pass below 3e-6 a code, 2e-4 for all 60). The group keeps all ten; the columns none."""
    frame = coded(seed)
    alone, _ = fit(frame, Metadata({n: ColumnSpec("categorical") for n in frame}), seed)
    assert [len(alone.metadata[n].categories) for n in GROUP] == [2] * len(GROUP)
    together, ledger = fit(frame, grouped(*GROUP), seed)
    cats = {together.metadata[n].categories for n in GROUP}
    assert len(cats) == 1 and len(next(iter(cats))) == 12
    assert together.metadata["sex"].categories == ("F", "M")
    # the group spends its columns' shares: the whole domain budget, as without it
    assert sum(e.rho for e in ledger.entries) == pytest.approx(0.01, rel=1e-9)
    assert sum(e.delta for e in ledger.entries) <= 1e-10 * (1 + 1e-12)
    looks = [e for e in ledger.entries if e.mechanism == "dp_categories"]
    assert [e.purpose for e in looks[:2]] == [
        "categories of value group 'icd9' (columns " + ", ".join(map(repr, GROUP)) + ")",
        "categories of column 'sex'",
    ]
    assert not any("column 'dx" in e.purpose for e in ledger.entries)
    assert looks[0].params["values_per_row"] == len(GROUP)
    assert looks[0].params["threshold"] == looks[1].params["threshold"]


def test_a_group_keeps_at_most_max_categories_per_member_in_all() -> None:
    encoder, _ = fit(coded(0), grouped(*GROUP), max_categories=1)
    assert len(encoder.metadata["dx1"].categories) == len(GROUP)


def test_declared_members_keep_their_categories_and_the_rest_are_grouped() -> None:
    md = grouped(*GROUP)
    md = md.with_columns(dx3=dataclasses.replace(md["dx3"], categories=("A", "B", "Z")))
    encoder, ledger = fit(coded(1), md)
    assert encoder.metadata["dx3"].categories == ("A", "B", "Z")
    members = [n for n in GROUP if n != "dx3"]
    assert len({encoder.metadata[n].categories for n in members}) == 1
    (entry,) = [e for e in ledger.entries if e.purpose.startswith("categories of value group")]
    assert entry.params["values_per_row"] == len(members)


@pytest.mark.parametrize(
    "make",
    [
        lambda: MSTSynthesizer(epsilon=4.0, seed=0, noise_seed=1, max_iters=100),
        lambda: AutoregressiveSynthesizer(
            epsilon=4.0, seed=0, noise_seed=1, epochs=1, width=8, progress=False
        ),
    ],
    ids=["mst", "dpsgd"],
)
def test_a_grouped_fit_saves_loads_and_samples_the_groups_codes(tmp_path, make) -> None:
    frame = coded(2)
    synth = make()
    synth.fit(frame, grouped(*GROUP))
    path = tmp_path / "grouped.tsyn"
    synth.save(path)
    loaded = load_model(path)
    assert loaded.metadata_["dx1"].value_group == "icd9"
    out = loaded.sample(500, seed=3)
    released = set(synth.encoder_.metadata["dx1"].categories)
    assert set(out["dx4"].dropna()) <= released and len(released) == 12
    assert out.equals(synth.sample(500, seed=3))


def test_a_groups_tally_counts_each_values_rows_over_its_columns(monkeypatch) -> None:
    """Codes A and B (3,000 rows each, always released), code C in 40 rows of dx1 and 40
    others of dx2, code D in both dx2 and dx3 of 30 rows, and fifty rows that hold a code no
    other row has in each of the three columns. With the floor at one row, the group's tally
    counts each value's rows over its columns beyond the first: 79 for C, 29 for D (a row
    holding it twice counts once), nothing for the 150 lone codes. One row adds to up to
    three values' counts, so the tally is charged for L2 sensitivity 3."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {name: rng.permutation(np.repeat(["A", "B"], 3000)).astype(object) for name in GROUP[:3]}
    )
    for i, name in enumerate(GROUP[:3]):
        frame.loc[:49, name] = [f"u{i}{row:02d}" for row in range(50)]
    frame.loc[50:89, "dx1"] = "C"
    frame.loc[90:129, "dx2"] = "C"
    frame.loc[130:159, ["dx2", "dx3"]] = "D"
    frame["sex"] = rng.choice(["F", "M"], len(frame)).astype(object)
    counted: dict[str, tuple[int, int]] = {}
    real = dp_tails.gaussian_counts

    def spy(counts, sigma, *, purpose, sensitivity=1, **kwargs):
        counted[purpose] = (int(counts[0]), sensitivity)
        return real(counts, sigma, purpose=purpose, sensitivity=sensitivity, **kwargs)

    monkeypatch.setattr(dp_tails, "gaussian_counts", spy)
    monkeypatch.setattr(dp_tails, "TAIL_FLOOR_SIGMAS", 0.0)
    encoder, ledger = fit(frame, grouped(*GROUP[:3]))
    assert not {"C", "D"} & set(encoder.metadata["dx1"].categories)  # in the tail
    assert counted == {
        "rows outside the released categories of value group 'icd9' "
        "(columns 'dx1', 'dx2', 'dx3'), beyond the first 1 of each value": (108, 3),
        "rows outside the released categories of column 'sex', beyond the first 1 of each value": (
            0,
            1,
        ),
    }
    tally = next(e for e in ledger.entries if "rows outside" in e.purpose and "icd9" in e.purpose)
    assert tally.params["l2_sensitivity"] == 3.0
    assert tally.rho == pytest.approx(9 / (2 * tally.params["sigma"] ** 2), rel=1e-9)


def test_a_groups_second_look_threshold_is_for_delta_over_k() -> None:
    _, ledger = fit(coded(0), grouped(*GROUP))
    first, second = [
        e for e in ledger.entries if "value group" in e.purpose and e.params.get("threshold")
    ]
    k = len(GROUP)
    assert first.params["values_per_row"] == second.params["values_per_row"] == k
    v1, v2 = (float(Fraction(e.params["variance"])) for e in (first, second))
    assert second.params["threshold"] == _combined_threshold(v1, v2, second.delta / k)
    assert first.params["threshold"] == _singleton_threshold(
        Fraction(first.params["variance"]), first.delta / k
    )


def test_a_group_alone_takes_one_look_with_all_its_shares() -> None:
    """Three grouped columns and no other categorical one: one release unit, no pool to
    share, so no tally and no second look; the look spends the columns' whole shares."""
    frame = coded(0)[list(GROUP[:3])]
    _, ledger = fit(frame, Metadata({n: ColumnSpec("categorical", value_group="g") for n in frame}))
    (entry,) = ledger.entries
    assert entry.purpose.startswith("categories of value group 'g'")
    assert entry.rho == pytest.approx(0.01, rel=1e-9) and entry.delta == pytest.approx(1e-10)
