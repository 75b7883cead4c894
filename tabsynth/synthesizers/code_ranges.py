"""The integer codes a category release implies: the public list a second look counts.

Many categorical columns hold integer codes: hours worked, ages and incomes binned into 0..99,
payment statuses -2..8, admission source ids. Without metadata a DP fit must find their values
as it finds any text's, with a threshold set by δ (about 6.9 σ: at ε = 1 on the private-pgm
Adult, ``hours-per-week`` kept 22 codes, 92 % of its rows, and sent codes of up to 207 rows to
"other"). Once the first look has released a column's common codes, the rest of the range is no
secret: if at least three in four released values are integers (:data:`MIN_CODE_SHARE`), the
integers around them are a list fixed by the release alone. Counting the tail rows on that list
is the Gaussian mechanism on a histogram over public cells, which needs no δ, so its threshold
is only what keeps values that no row holds out (about 3.1 σ, 3.3 σ on lists of 1,000 codes,
see ``listed`` in :func:`~tabsynth.privacy.mechanisms.dp_category_look`).

The codes on the list that the look does not keep are still the rows' values: the model
gives their rows the column's "other" code, which would decode as the label ``"<other>"`` (4-5
% of ``hours-per-week``'s and ``native-country``'s rows on the private-pgm Adult, a value no
row holds). The look's noisy counts of those codes are released with it, so
:func:`rare_codes` turns them into the odds with which "other" decodes to each
(:attr:`~tabsynth.domain.CategoryCodec.rare`). "Other" also holds the rows of unkept values
off the list (codes beyond its reach, text among the codes); they decode the same way.

Privacy. :func:`implied_codes` reads nothing but the released values, and :func:`rare_codes`
nothing but a look's noisy counts of a public list, which its ρ covers
(:class:`~tabsynth.privacy.mechanisms.ListedCounts`): post-processing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from tabsynth.privacy.mechanisms import ListedCounts

#: The list reaches beyond the released codes by their span, or by this many codes at least.
MIN_REACH = 8
#: A longer list is not listed: the values are amounts or identifiers, not codes. Where the
#: span's stretch would pass it, the reach shrinks to fit (:data:`MIN_REACH` at least; the
#: reach is set before the list is held at 0, whose room below is not given to the top).
MAX_CODES = 1024
#: The share of the released values that must be integer codes: ICD-9 columns hold "250.83"
#: and "V57" among 3-digit codes (on diabetes130, 81-93 % of each column's distinct values
#: are integers, and they hold 89-91 % of its rows).
MIN_CODE_SHARE = 0.75

_CANONICAL = re.compile(r"0|-?[1-9][0-9]*")


def implied_codes(released: Sequence[Any]) -> list[str]:
    """The integers around the integer codes in ``released`` that it does not hold, as text
    in increasing order; ``[]`` unless at least :data:`MIN_CODE_SHARE` of the released values
    are integers written as text one way only (no leading zeros, plus sign or "-0"). A DP fit
    learns undeclared categories as text, so integer codes reach it written so; the other
    released values are not codes and imply nothing.

    The range is the codes' span stretched by that span (:data:`MIN_REACH` at least) on both
    sides, less where that would list more than :data:`MAX_CODES` values, and not below 0
    when no released code is negative; ``[]`` if even :data:`MIN_REACH` lists too many.
    """
    codes = [value for value in released if isinstance(value, str) and _CANONICAL.fullmatch(value)]
    if not codes or len(codes) < MIN_CODE_SHARE * len(released):
        return []
    numbers = {int(value) for value in codes}
    low, high = min(numbers), max(numbers)
    span = high - low
    reach = max(MIN_REACH, min(span, (MAX_CODES - 1 - span) // 2))
    start, stop = low - reach, high + reach
    if low >= 0:
        start = max(start, 0)
    if stop - start + 1 > MAX_CODES:
        return []
    return [str(code) for code in range(start, stop + 1) if code not in numbers]


#: :func:`rare_codes` weighs a code by its noisy count less this many σ.
RARE_SHIFT = 0.5


def rare_codes(listed: ListedCounts, shift: float = RARE_SHIFT) -> dict[Any, float]:
    """Weights for decoding "other" onto the listed codes a look did not keep: each code's
    noisy count less ``shift`` σ (:data:`RARE_SHIFT` for integer codes), where positive.

    A noisy count clipped at 0 gives every code that no row holds about 0.40 σ of weight (the
    mean of a clipped Gaussian), and a list may hold many (it reaches beyond the codes the rows
    hold); less half a σ, 0.20 σ, while a code of a few σ keeps most of its count. On the
    private-pgm Adult (MST, ε = 1, one fit) this lifted the 1-way scores of
    ``hours-per-week`` from 0.933 to 0.963 and of ``native-country`` from 0.946 to 0.975, where
    equal weights on all unkept codes gave 0.956 and 0.965 (``benchmarks/results/rare_codes/``).
    Empty when no code clears the shift: "other" then decodes as ``"<other>"``. A value group's
    columns share one list, one look and so one set of weights.
    """
    less = shift * float(np.sqrt(listed.variance))
    return {code: count - less for code, count in listed.noisy.items() if count > less}
