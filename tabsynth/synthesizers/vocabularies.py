"""Public vocabularies a category release can imply: countries and US states, named or coded.

Columns of countries and states are everywhere in the tables hospitals, banks and insurers
hold (a patient's country of birth, a borrower's state), and their tails are long: on Adult,
``native_country`` keeps about 94 % of its rows at ε = 1 without metadata, because each
country needs a noisy count of about 6.9 σ to be released (the δ of a value only one row
holds). But the names of the world's countries are no secret. Once the first look has
released a column's common values and at least three in four of its released text values
are names or codes of one vocabulary (:data:`MIN_SHARE`), the rest of that vocabulary is a
list fixed by the release alone, and a second look counts the tail rows on it as it counts
integer codes (:mod:`~tabsynth.synthesizers.code_ranges`): a Gaussian histogram over public
cells, no δ, so a threshold of about 3.2 σ instead of 6.9 σ.

The list is written the way the column writes its released values: "United-States" lists
"Puerto-Rico", "prt" lists "esp" (:func:`implied_vocabulary`). A value the column spells its
own way ("Columbia", "Trinadad&Tobago" on Adult) is off the list and counted as before.

Most of a vocabulary's entries are held by no row of a given table, so the decoding of
"other" onto the listed values a look did not keep
(:func:`~tabsynth.synthesizers.code_ranges.rare_codes`) takes a larger shift here,
:data:`RARE_SHIFT`.

Privacy. The vocabularies are constants of the library (``pycountry``'s ISO 3166 data), and
which one applies, and how it is written, is read from the released values alone:
post-processing. The look on the list is the listed look of
:func:`~tabsynth.privacy.mechanisms.dp_category_look`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

#: The share of the released text values that must belong to the vocabulary.
MIN_SHARE = 0.75
#: And how many at least: one released value says nothing about what the column holds.
MIN_MATCHES = 2
#: :func:`~tabsynth.synthesizers.code_ranges.rare_codes` weighs a listed value by its noisy
#: count less this many σ. An entry no row holds keeps σ·E[(Z − 1.5)⁺] ≈ 0.03 σ of weight on
#: average, so the about 290 country names a table holds none of add up to about 9 σ (at the
#: integer codes' 0.5 σ, about 57 σ, more than the rows "other" holds). Held out at ε = 1,
#: 1.5 beat 2.5 (a loan table's US states 0.85-0.87 against 0.80-0.81, 1-way) and matched it
#: on Adult's countries (``benchmarks/results/vocabularies/``).
RARE_SHIFT = 1.5

_SEPARATORS = re.compile(r"[\s_\-]+")
#: Where a name's short form ends: "Korea, Republic of", "Wales [Cymru GB-CYM]".
_QUALIFIER = re.compile(r"\s*[,\[(].*$")


#: A public list of values: each entry's comparison key and the form it is written in.
Vocabulary = dict[str, str]


def _key(text: str) -> str:
    """How values are compared: case, and runs of spaces, hyphens and underscores, aside."""
    return " ".join(_SEPARATORS.split(text.strip().casefold())).strip()


def _vocabulary(forms: Iterable[str]) -> Vocabulary:
    entries: dict[str, str] = {}
    for form in sorted(f for f in forms if f):
        for written in (form, _QUALIFIER.sub("", form)):
            if written and _key(written) not in entries:
                entries[_key(written)] = written
    return entries


@functools.cache
def vocabularies() -> tuple[Vocabulary, ...]:
    """The vocabularies: country names, ISO 3166-1 alpha-3 and alpha-2 codes, US state names
    and their two-letter codes (states, the District of Columbia and outlying areas).

    Country names are each country's ISO name and common name, each also without its
    qualifier ("Korea, Republic of" and "Korea"), the short names of former countries
    ("Yugoslavia"), and the United Kingdom's four nations. Official names ("Kingdom of
    Sweden") are left out: tables seldom write them, and every entry no row holds adds to
    the false values a list lets through and to the weight "other" gives them."""
    import pycountry

    countries = list(pycountry.countries)
    states = list(pycountry.subdivisions.get(country_code="US"))
    names = [getattr(c, attr, "") for c in countries for attr in ("name", "common_name")]
    names += [_QUALIFIER.sub("", h.name) for h in pycountry.historic_countries]
    names += [
        s.name
        for s in pycountry.subdivisions.get(country_code="GB")
        if s.type in {"Country", "Nation"}
    ]
    return (
        _vocabulary(names),
        _vocabulary([c.alpha_3 for c in countries]),
        _vocabulary([c.alpha_2 for c in countries]),
        _vocabulary([s.name for s in states]),
        _vocabulary([s.code.removeprefix("US-") for s in states]),
    )


def implied_vocabulary(released: Sequence[Any]) -> list[str]:
    """The entries of the vocabulary the released text values belong to that the release does
    not hold, written like the released values, in sorted order; ``[]`` unless at least
    :data:`MIN_MATCHES` and :data:`MIN_SHARE` of the released text values (counted once per
    comparison key) are in one vocabulary, the one holding the most of them. When two
    vocabularies hold as many (``"CA"`` and ``"GA"`` are US states and countries), the
    release does not say which the column holds: ``[]``.

    How they are written: the released values' separator between words (a hyphen or an
    underscore where every matched value of several words uses it, else a space), their case
    (lower or upper where every matched value is, else the vocabulary's own), and the spaces
    around them ("  Mexico" lists "  Canada") where every matched value has the same; ``[]``
    where they differ."""
    texts = [value for value in released if isinstance(value, str) and _key(value)]
    keys = {_key(value): value for value in texts}
    if len(keys) < MIN_MATCHES:
        return []
    hits = [sum(key in vocabulary for key in keys) for vocabulary in vocabularies()]
    most = max(hits)
    if hits.count(most) > 1 or most < max(MIN_MATCHES, MIN_SHARE * len(keys)):
        return []
    best = vocabularies()[hits.index(most)]
    write = _style([value for key, value in keys.items() if key in best])
    if write is None:
        return []
    return sorted({write(form) for key, form in best.items() if key not in keys})


def _style(matched: Sequence[str]) -> Callable[[str], str] | None:
    """How to write a vocabulary's form like ``matched``, the released values it holds; None
    when they are padded with different spaces."""
    pads = {(v[: len(v) - len(v.lstrip())], v[len(v.rstrip()) :]) for v in matched}
    if len(pads) > 1:
        return None
    ((lead, trail),) = pads
    bare = [v.strip() for v in matched]
    words = [v for v in bare if " " in _key(v)]
    separator = " "
    for sep in ("-", "_"):
        if words and all(sep in v and " " not in v for v in words):
            separator = sep
    letters = [v for v in bare if any(ch.isalpha() for ch in v)]
    lower = bool(letters) and all(v == v.lower() for v in letters)
    upper = bool(letters) and all(v == v.upper() for v in letters)

    def write(form: str) -> str:
        text = separator.join(_SEPARATORS.split(form)) if separator != " " else form
        return lead + (text.lower() if lower else text.upper() if upper else text) + trail

    return write
