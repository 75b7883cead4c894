"""The public vocabularies a category release implies (countries, US states), and the list a
second look counts on (:mod:`tabsynth.synthesizers.vocabularies`)."""

from __future__ import annotations

import pytest

from tabsynth.synthesizers import code_ranges, vocabularies
from tabsynth.synthesizers.dp_tails import implied_list
from tabsynth.synthesizers.vocabularies import implied_vocabulary


def test_country_names_are_listed_as_the_column_writes_them() -> None:
    """Adult writes "United-States": the list holds "Puerto-Rico" and "El-Salvador", the
    short forms of ISO names ("Iran", "Taiwan") and common names ("Vietnam"), and none of the
    released values."""
    listed = implied_vocabulary(["United-States", "Mexico", "Philippines"])
    assert {"Puerto-Rico", "El-Salvador", "Germany", "Iran", "Taiwan", "Vietnam"} <= set(listed)
    assert {"England", "Scotland", "Yugoslavia"} <= set(listed)
    assert not {"United-States", "Mexico", "Philippines"} & set(listed)
    assert "Puerto Rico" not in listed and listed == sorted(listed)


def test_codes_are_listed_in_the_column_s_case() -> None:
    """Lower-case alpha-3 codes list lower-case alpha-3 codes; a value of another code system
    ("cn") among them is released but implies nothing of its own."""
    listed = implied_vocabulary(["prt", "gbr", "esp", "cn"])
    assert {"fra", "deu", "usa"} <= set(listed)
    assert not {"prt", "gbr", "esp", "FRA", "de"} & set(listed)
    states = implied_vocabulary(["CA", "TX", "NY", "FL"])
    assert {"WA", "DC", "PR"} <= set(states) and "CA" not in states
    assert "MX" not in states  # alpha-2 holds only CA of the four: the state codes win
    assert "GERMANY" in implied_vocabulary(["UNITED STATES", "MEXICO"])


def test_the_column_s_separator_and_padding_are_kept() -> None:
    """Underscores replace every separator of a form; the UCI file's leading space is
    written back, so the list holds what the rows hold."""
    listed = implied_vocabulary(["united_states", "el_salvador", "mexico"])
    assert {"guinea_bissau", "puerto_rico"} <= set(listed)
    padded = implied_vocabulary([" United-States", " Mexico"])
    assert " Puerto-Rico" in padded and "Puerto-Rico" not in padded


@pytest.mark.parametrize(
    "released",
    [
        ["CA", "GA"],  # US states or countries: as many of each, so neither
        [" Mexico", "Canada"],  # padded two ways
        ["United States", "united-states", "Mexico", "Zembla"],  # 2 of 3 distinct
        ["Male", "Female"],
        ["Yes", "No"],
        ["Mexico"],  # one value says nothing of the column
        ["Mexico", "Canada", "Toronto", "Montreal"],  # half are not countries
        [1, 2, 3],
        [],
    ],
)
def test_no_list_without_a_vocabulary_of_most_released_values(released) -> None:
    assert implied_vocabulary(released) == []


def test_only_text_values_are_weighed() -> None:
    assert "Germany" in implied_vocabulary([1.5, "Mexico", "Canada"])


def test_the_shift_of_the_decoding_follows_the_list() -> None:
    """Integer codes decode "other" at their shift; a vocabulary, most of whose entries no row
    holds, at its own, larger one."""
    codes, shift = implied_list(["10", "20", "30"])
    assert codes and shift == code_ranges.RARE_SHIFT
    names, shift = implied_list(["Canada", "Mexico"])
    assert "Germany" in names and shift == vocabularies.RARE_SHIFT > code_ranges.RARE_SHIFT
    assert implied_list(["a", "b"]) == ([], 0.0)
