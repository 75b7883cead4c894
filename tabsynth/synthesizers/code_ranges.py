"""The integer codes a category release implies: the public list a second look counts.

Many categorical columns hold integer codes: hours worked, ages and incomes binned into 0..99,
payment statuses -2..8, admission source ids. Without metadata a DP fit must find their values
as it finds any text's, with a threshold set by δ (about 6.9 σ: at ε = 1 on the private-pgm
Adult, ``hours-per-week`` kept 22 codes, 92 % of its rows, and sent codes of up to 207 rows to
"other"). Once the first look has released a column's common codes, the rest of the range is
no secret: if every released value is an integer, the integers around them are a list fixed
by the release alone. Counting the tail rows on that list is the Gaussian mechanism on a
histogram over public cells, which needs no δ, so its threshold is only what keeps values
that no row holds out (about 3.1 σ, see ``listed`` in
:func:`~tabsynth.privacy.mechanisms.dp_category_look`).

Privacy. :func:`implied_codes` reads nothing but the released values: post-processing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

#: The list reaches beyond the released codes by their span, or by this many codes at least.
MIN_REACH = 8
#: A longer list is not listed: the values are amounts or identifiers, not codes, and the
#: codes no row holds that pass (each with chance 1e-3) would add up.
MAX_CODES = 512

_CANONICAL = re.compile(r"0|-?[1-9][0-9]*")


def implied_codes(released: Sequence[Any]) -> list[str]:
    """The integers around ``released`` that it does not hold, as text in increasing order;
    ``[]`` unless every released value is an integer written as text one way only (no
    leading zeros, plus sign or "-0"). A DP fit learns undeclared categories as text, so
    integer codes reach it written so.

    The range is the released span stretched by that span (:data:`MIN_REACH` at least) on both
    sides, not below 0 when no released code is negative; ``[]`` if it holds more than
    :data:`MAX_CODES` values.
    """
    if not released or not all(
        isinstance(value, str) and _CANONICAL.fullmatch(value) for value in released
    ):
        return []
    numbers = {int(value) for value in released}
    low, high = min(numbers), max(numbers)
    reach = max(high - low, MIN_REACH)
    start, stop = low - reach, high + reach
    if low >= 0:
        start = max(start, 0)
    if stop - start + 1 > MAX_CODES:
        return []
    return [str(code) for code in range(start, stop + 1) if code not in numbers]
