"""Writing metadata: a draft read from the data, and a check of data against metadata.

Every DP user's first task is to declare the table's schema and public domain. Two tools make
that quick and hard to get wrong:

* :func:`draft` starts from :meth:`Metadata.detect` and adds rules for the data people
  actually hold: integer columns with few distinct values are *codes* (sex 1/2, race 1-9, a
  payment status -2..8) and become categorical, as SDV's detection makes them ordinal;
  integers named like an identifier (``*_id``, ``*_nbr``) with many values are ids, with few
  values codes; a table whose every column is a non-negative integer, most from 0, is an
  encoded table (codes 0..k-1, e.g. Private-PGM's discretised data) and is categorical
  throughout; 0/1 and True/False columns are boolean. A flag in words (yes/no, y/n) is boolean
  too, with its spelling declared (``true_value``/``false_value``), so its words come back as
  written; one whose only clue is a word that says "absent" (``Ch``/``No``) is drafted the
  same way and asked about. Categorical columns named alike but for a trailing number whose
  values overlap (``diag_1``, ``diag_2``, ``diag_3``) are drafted as one value group. Names
  like ``num_*``, ``*_months`` or plurals (``existing_credits``) mark counts and keep a run
  of consecutive integers numerical. Bounds are the data's extremes rounded *outwards* to
  round numbers (dates to whole years). The draft is marked ``source="data"``:
  no synthesizer treats it as public until a person has checked it, and its notes say what to
  check.
* Some kinds no rule on values can decide: a few-valued integer column is a code list or a
  count (``installment_rate`` 1-4 is a number, ``cp`` 1-4 a code), and two values other than a
  yes/no pair (``A191``/``A192``) are a flag or two categories. The draft still picks one (by
  the rules above, and always one the table fits), but lists such columns in
  :attr:`Draft.confirm` and marks their notes ``PLEASE CONFIRM``, so the guess is never
  silent; ``tabsynth metadata check`` repeats them while the notes stay in the file.
* :func:`check` lists every way a table contradicts a metadata file (values outside bounds,
  unknown codes, missing values in a non-nullable column, text in a number column, ...),
  using the same rules as :meth:`Metadata.validate`, with counts only unless values are asked
  for.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tabsynth.errors import DataError, MetadataError, ParameterError
from tabsynth.metadata import (
    _BOOLEANS,
    GENERATED_KINDS,
    ColumnSpec,
    Metadata,
    _conform,
    _detect_column,
    _json_scalar,
    _sorted_categories,
    check_frame,
)

#: Integer columns with at most this many distinct values (and at most a tenth of the rows) are
#: codes unless their name says they count something. SDV's detection uses 10; 12 keeps a
#: payment status -2..8 (11 codes) categorical while 14 hospital days stay numerical.
MAX_CODES = 12
#: Integer columns named like an identifier with at most this many values are codes (an
#: ``admission_type_id`` 1-8); with more, and mostly distinct, they are identifiers.
MAX_ID_CODES = 50
#: Name tokens of identifiers.
ID_TOKENS = frozenset({"id", "nbr", "key", "uuid", "guid", "identifier"})
#: Name tokens that say a column counts or measures something (then a run of integers stays
#: numerical). ``num``/``number``/``n``/``count`` count only when they name what they count
#: (``num_dependents``; a column called just ``num`` says nothing).
QUANTITY_TOKENS = frozenset(
    {
        "age", "amount", "amt", "count", "days", "duration", "hours", "length", "minutes",
        "months", "rate", "score", "seconds", "since", "size", "time", "total", "weeks",
        "weight", "years",
    }
)  # fmt: skip
COUNT_PREFIXES = frozenset({"num", "number", "n", "count", "cnt", "nb"})
#: Words that say "absent": two values, one of them one of these, read as a flag (``Ch``/``No``
#: in a "change" column), unless another column of the table lists both values among more
#: (``No``/``Steady`` where a sibling drug column holds ``No``/``Steady``/``Up``/``Down``).
NEGATIONS = frozenset({"no", "none", "never", "not", "absent", "negative", "false", "nil"})
#: How notes mark a kind the values cannot decide (``tabsynth metadata check`` looks for it).
CONFIRM = "PLEASE CONFIRM"
#: Categories held by fewer rows than this get a note: declaring them public reveals them.
RARE = 5


@dataclass(frozen=True)
class Question:
    """A kind the values cannot decide: the kinds they allow (the draft's pick first), and what
    the person who knows the column must say."""

    kinds: tuple[str, ...]
    why: str

    def __str__(self) -> str:
        return f"{CONFIRM}: {self.kinds[0]} or {' or '.join(self.kinds[1:])}? {self.why}"


@dataclass(frozen=True)
class Draft:
    """A metadata draft and the notes on what a person must check before declaring it public.

    ``notes`` maps a column name (or ``""`` for the whole table) to its notes. ``confirm``
    holds the columns whose kind the values leave open (their notes start with
    ``PLEASE CONFIRM``).
    """

    metadata: Metadata
    notes: dict[str, list[str]] = field(default_factory=dict)
    confirm: dict[str, Question] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The metadata layout with a ``notes`` object (ignored when the file is loaded)."""
        return {**self.metadata.to_dict(), "notes": self.notes}

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def save(self, path: str | Path) -> None:
        from tabsynth.io import atomic_write_text

        atomic_write_text(path, self.to_json() + "\n")


def draft(data: pd.DataFrame, value_labels: Mapping[str, Mapping[Any, str]] | None = None) -> Draft:
    """Draft metadata for ``data``: kinds by the rules of the module docstring, categories and
    round bounds from the values, ``source="data"``, and notes on what to check.

    ``value_labels`` is the code book, ``{column: {code: label}}`` (``{"telephone": {"A191":
    "none", "A192": "yes, registered"}}``): a two-valued column whose labels read as yes/no
    is drafted as a flag spelled with its codes, which its codes alone cannot show.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sex": [1, 2] * 50, "age": range(20, 120), "ok": [0, 1] * 50})
    >>> d = draft(df)
    >>> [d.metadata[c].kind for c in df], d.metadata["age"].lower, d.metadata["age"].upper
    (['categorical', 'numerical', 'boolean'], 20, 120)
    >>> d.metadata.source
    'data'
    """
    check_frame(data)
    labels = _check_value_labels(value_labels, data)
    coded_table = _is_coded_table(data)
    code_lists = _code_lists(data)
    specs: dict[str, ColumnSpec] = {}
    confirm: dict[str, Question] = {}
    notes: dict[str, list[str]] = {
        "": [
            "Read from the data (source: data): no synthesizer treats it as public. Check every "
            "column below, replace what the data revealed by what holds by definition, then "
            'set "source": "user" and "public": true to declare the domain public.',
            "Bounds are the data's extremes rounded outwards: replace them by limits known "
            "without looking at the rows (assay ranges, product limits, the period covered); "
            "the data's own extremes reveal its most unusual people.",
        ]
    }
    for column in data.columns:
        name = str(column)
        spec, column_notes, question = _draft_column(
            name, data[column], coded_table, code_lists, labels.get(name, {})
        )
        specs[name] = spec
        if question is not None:
            confirm[name] = question
            column_notes.insert(0, str(question))
        if column_notes:
            notes[name] = column_notes
    if not coded_table:
        for group, members in _value_groups(specs).items():
            for name in members:
                specs[name] = dataclasses.replace(specs[name], value_group=group)
                others = ", ".join(repr(m) for m in members if m != name)
                notes.setdefault(name, []).append(
                    f"value_group {group!r}, with {others}: the names and the values suggest "
                    "one code system. A DP fit then releases the group's categories together, "
                    "each code counted over these columns, and gives every column the whole "
                    "list. Keep it only if you know, not from these rows, that they hold codes "
                    "of one system."
                )
    if confirm:
        notes[""].append(
            f"{CONFIRM} the kind of {len(confirm)} column{'s' if len(confirm) > 1 else ''} "
            f"that the values cannot decide: {', '.join(confirm)}. Each column's note says "
            f"what to choose; delete the {CONFIRM} note once you have.",
        )
    return Draft(Metadata(specs, source="data"), notes, confirm)


def _value_groups(specs: Mapping[str, ColumnSpec]) -> dict[str, list[str]]:
    """Categorical columns named alike but for a trailing number (``diag_1``, ``diag_2``, ...,
    ``PAY_0``, ``PAY_2``; the stem compared without case), each of which shares at least half
    its categories with the other members: one code system, named by the first one's stem.
    A column that shares too little leaves, and the rest are checked again without it, so no
    member stays for what a departed column held."""
    stems: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for name, spec in specs.items():
        found = re.fullmatch(r"(.*?[^\W\d_])[\W_]*\d+", name)
        if found and spec.kind == "categorical" and spec.categories:
            key = found.group(1).casefold()
            names.setdefault(key, found.group(1))
            stems.setdefault(key, []).append(name)
    out = {}
    for key, members in stems.items():
        values = {name: set(specs[name].categories or ()) for name in members}
        while len(members) >= 2:
            kept = [
                name
                for name in members
                if 2 * len(values[name] & set().union(*(values[n] for n in members if n != name)))
                >= len(values[name])
            ]
            if kept == members:
                out[names[key]] = members
                break
            members = kept
    return out


def _check_value_labels(
    value_labels: Mapping[str, Mapping[Any, str]] | None, data: pd.DataFrame
) -> dict[str, dict[str, str]]:
    """The code book as ``{column: {code as text: label}}``, or a :class:`MetadataError`
    naming what is wrong with it."""
    if value_labels is None:
        return {}
    if not isinstance(value_labels, Mapping):
        raise MetadataError("value_labels must map column names to {code: label} objects")
    out = {}
    for column, labels in value_labels.items():
        if column not in data.columns:
            raise MetadataError(f"value_labels name {column!r}, which is not a column of the table")
        if not isinstance(labels, Mapping) or not all(isinstance(v, str) for v in labels.values()):
            raise MetadataError(f"value_labels of {column!r} must map each code to a text label")
        out[str(column)] = {str(code): label for code, label in labels.items()}
    return out


def _draft_column(
    name: str,
    series: pd.Series,
    coded_table: bool,
    code_lists: list[frozenset[str]],
    labels: Mapping[str, str],
) -> tuple[ColumnSpec, list[str], Question | None]:
    spec = _detect_column(series)
    values = series.dropna()
    notes: list[str] = []
    question: Question | None = None
    if spec.kind == "categorical" and len(spec.categories or ()) == 2 and not coded_table:
        spec, why, question = _two_values(spec, code_lists, labels)
        notes.append(why)
    if spec.kind == "numerical" and spec.dtype == "int":
        spec, why, question = _integer_kind(name, values, spec, coded_table)
        if why:
            notes.append(why)
    if spec.kind == "numerical":
        lower, upper = round_outwards(float(spec.lower), float(spec.upper), spec.dtype == "int")
        spec = dataclasses.replace(spec, lower=lower, upper=upper)
        notes.append(
            f"numerical ({spec.dtype}), bounds [{lower}, {upper}]: the data's range rounded "
            "outwards; declare the range the column can take by definition"
        )
    elif spec.kind == "datetime":
        lower = pd.Timestamp(year=spec.lower.year, month=1, day=1)
        upper = pd.Timestamp(year=spec.upper.year, month=12, day=31)
        spec = dataclasses.replace(spec, lower=lower, upper=upper)
        notes.append(
            f"datetime{' ' + spec.format if spec.format else ''}, whole years "
            f"{lower.year}-{upper.year}: declare the period the table covers"
        )
    elif spec.kind == "categorical":
        counts = values.astype(str).value_counts() if len(values) else pd.Series(dtype=int)
        rare = int((counts < RARE).sum())
        text = f"categorical, {len(spec.categories or ())} categories seen in the data"
        if rare:
            text += (
                f", {rare} of them in fewer than {RARE} rows: keep only codes that are public "
                "knowledge (a code list), since listing a rare one reveals that someone has it"
            )
        notes.append(text + "; add valid codes that happen not to occur")
    elif spec.kind == "id":
        notes.append("id: generated fresh, never learned; check it identifies rows")
    if spec.nullable and spec.kind not in GENERATED_KINDS:
        notes.append("nullable because the data has missing values: check they can occur")
    return spec, notes, question


def _two_values(
    spec: ColumnSpec, code_lists: list[frozenset[str]], labels: Mapping[str, str]
) -> tuple[ColumnSpec, str, Question | None]:
    """A two-valued column: a flag (boolean) or two categories, and whether that is sure.

    A flag spelled otherwise than True/False is boolean with its spelling declared
    (``true_value``/``false_value``), so its values come back as written. Its words are the
    values, or the first word of each value's label when the code book gives both.
    """
    categories = spec.categories or ()
    if all(isinstance(c, str) and c.lower() in ("true", "false") for c in categories) and all(
        c in _BOOLEANS for c in categories
    ):
        return ColumnSpec("boolean", nullable=spec.nullable), "boolean: True/False values", None
    words = {str(c).strip().lower(): c for c in categories}
    if all(str(c) in labels for c in categories):
        words = {_first_word(labels[str(c)]): c for c in categories}
    seen = frozenset(str(c) for c in categories)
    if any(seen < codes for codes in code_lists):
        why = "categorical: another column lists these two values among more (one code list)"
        return spec, why, None
    yes = [c for w, c in words.items() if w in TRUE_WORDS]
    if any(set(words) == pair for pair in YES_NO):
        flag = _spelled_flag(spec, yes[0])
        if set(words) != {"0", "1"}:
            return flag, f"boolean: a yes/no flag spelled {yes[0]!r}/{flag.false_value!r}", None
        question = Question(
            ("boolean", "categorical"),
            "Its values are the text '0' and '1': a flag (kept as written), or two codes; "
            "declare it categorical if they are two categories.",
        )
        return flag, "boolean: '1'/'0' written as text", question
    negated = [c for w, c in words.items() if w in NEGATIONS]
    if len(negated) == 1 and len(words) == 2:
        true_value = next(c for c in categories if c is not negated[0])
        flag = _spelled_flag(spec, true_value)
        absent = repr(negated[0])
        if str(negated[0]) in labels:
            absent += f" (labelled {labels[str(negated[0])]!r})"
        question = Question(
            ("boolean", "categorical"),
            f"Read as a flag because {absent} says 'absent': {true_value!r} is taken as "
            "true. Swap true_value and false_value if that is wrong; declare it categorical "
            "if they are two categories.",
        )
        return flag, f"boolean: {negated[0]!r} reads as false", question
    question = Question(
        ("categorical", "boolean"),
        "Two values that are not a yes/no pair: if they mean yes/no (has / has not), declare "
        "it boolean with true_value and false_value (how each is written); keep it "
        "categorical if they are two categories.",
    )
    return spec, "categorical: two values", question


def _first_word(label: str) -> str:
    """``"yes, registered under the customer's name"`` -> ``"yes"``."""
    found = re.match(r"\s*([^\W_]+)", label)
    return found.group(1).lower() if found else label.strip().lower()


def _spelled_flag(spec: ColumnSpec, true_value: Any) -> ColumnSpec:
    """A boolean spelled with the column's two values, ``true_value`` meaning true."""
    false_value = next(c for c in spec.categories or () if c != true_value)
    return ColumnSpec(
        "boolean", nullable=spec.nullable, true_value=true_value, false_value=false_value
    )


def _code_lists(data: pd.DataFrame) -> list[frozenset[str]]:
    """The value sets (as text) of the table's text columns with 3 to :data:`MAX_CODES`
    values: code lists a two-valued column may share."""
    lists = []
    for column in data.columns:
        series = data[column]
        if pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype):
            distinct = series.dropna().astype(str).unique()
            if 2 < len(distinct) <= MAX_CODES:
                lists.append(frozenset(distinct))
    return lists


def _integer_kind(
    name: str, values: pd.Series, spec: ColumnSpec, coded_table: bool
) -> tuple[ColumnSpec, str, Question | None]:
    """Kind of an integer column: codes, boolean, identifier or a number (with the reason,
    and the question for the user when the values leave it open)."""
    distinct = np.unique(values.to_numpy(dtype=float))
    n = len(distinct)
    tokens = name_tokens(name)
    as_codes = dataclasses.replace(
        spec,
        kind="categorical",
        dtype=None,
        lower=None,
        upper=None,
        precision=None,
        categories=_sorted_categories(np.asarray([int(v) for v in distinct], dtype=object)),
    )
    if coded_table:
        return as_codes, "categorical: every column of the table is an integer code from 0", None
    if n <= 2 and set(distinct) <= {0.0, 1.0}:
        spec = ColumnSpec("boolean", nullable=spec.nullable)
        return spec, "boolean: holds only 0 and 1", None
    if tokens & ID_TOKENS:
        if n <= MAX_ID_CODES:
            why = "categorical: named like an identifier but holds few values (codes)"
            return as_codes, why, None
        if n >= 0.5 * len(values):
            return ColumnSpec("id"), "id: named like an identifier, values mostly distinct", None
    if n <= min(MAX_CODES, max(2, len(values) // 10)):
        consecutive = distinct[-1] - distinct[0] == n - 1
        if consecutive and _counts_something(tokens):
            question = Question(
                ("numerical", "categorical"),
                f"Only {n} integer values, read as a count or measure because of its name; "
                "declare it categorical if the numbers are codes.",
            )
            return spec, "numerical: few values, but the name says it counts or measures", question
        if n == 2:
            question = Question(
                ("categorical", "boolean"),
                "Two integer codes: declare it boolean if they mean yes/no, keep it "
                "categorical if they are two categories.",
            )
        else:
            question = Question(
                ("categorical", "numerical"),
                f"Only {n} integer values, read as codes; declare it numerical if it counts "
                "or measures something (then arithmetic on it makes sense).",
            )
        why = f"categorical: an integer column with only {n} distinct values (codes)"
        return as_codes, why, question
    return spec, "", None


#: Words that mean true in a yes/no pair (compared in lower case).
TRUE_WORDS = frozenset({"1", "yes", "y", "true", "t"})
#: Text pairs read as yes/no flags (compared in lower case).
YES_NO = (
    frozenset({"0", "1"}),  # as text: a flag kept as written, or two codes (asked about)
    frozenset({"yes", "no"}),
    frozenset({"y", "n"}),
    frozenset({"true", "false"}),
    frozenset({"t", "f"}),
)


def name_tokens(name: str) -> set[str]:
    """Lower-case words of a column name (``num_lab_procedures``, ``timeInHospital``)."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return {t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t}


def _counts_something(tokens: set[str]) -> bool:
    if tokens & QUANTITY_TOKENS:
        return True
    if len(tokens) > 1 and tokens & COUNT_PREFIXES:
        return True
    # a plural names a count: existing_credits, delinquencies (not status, class)
    return any(
        len(t) > 3 and t.endswith("s") and not t.endswith(("ss", "us", "is")) for t in tokens
    )


def _is_coded_table(data: pd.DataFrame) -> bool:
    """Whether the table is encoded: every column holds only non-negative integers, and most
    columns start at 0 (codes 0..k-1, some of which need not occur)."""
    if data.shape[1] < 2 or len(data) == 0:
        return False
    from_zero = 0
    for column in data.columns:
        series = data[column]
        if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(
            series.dtype
        ):
            return False
        values = series.dropna().to_numpy(dtype=float)
        if values.size == 0 or values.min() < 0 or not np.all(values == np.round(values)):
            return False
        from_zero += values.min() == 0
    return from_zero >= 0.5 * data.shape[1]


def round_outwards(lower: float, upper: float, integer: bool) -> tuple[Any, Any]:
    """``[lower, upper]`` widened to multiples of a round step (1, 2 or 5 × 10^k), the largest
    that still cuts the range into at least five steps.

    >>> round_outwards(18, 100, True), round_outwards(0.26, 13.52, False)
    ((10, 100), (0.0, 14.0))
    """
    span = upper - lower
    if span <= 0:
        step = 10.0 ** math.floor(math.log10(abs(upper))) if upper else 1.0
    else:
        exponent = math.floor(math.log10(span / 5))
        step = max(m * 10.0**exponent for m in (1, 2, 5) if m * 10.0**exponent <= span / 5)
    if integer:
        step = max(1.0, round(step))
    lo = math.floor(lower / step) * step
    hi = math.ceil(upper / step) * step
    if integer:
        return int(lo), int(hi)
    digits = max(0, -math.floor(math.log10(step)))
    return round(lo, digits), round(hi, digits)


# ---------------------------------------------------------------------------------------------
# check


@dataclass(frozen=True)
class Finding:
    """One way a table contradicts its metadata: the column, the rule, how many values break
    it, and (only when asked for) a few of those values."""

    column: str
    rule: str
    count: int | None = None  # None: a finding about the column, not its values
    examples: tuple[Any, ...] = ()

    def __str__(self) -> str:
        text = f"{self.column}: {self.rule}"
        if self.count is not None:
            text += f" ({self.count} value{'s' if self.count != 1 else ''})"
        if self.examples:
            text += ", e.g. " + ", ".join(repr(v) for v in self.examples)
        return text


def check(metadata: Metadata, data: pd.DataFrame, *, show_values: int = 0) -> list[Finding]:
    """Every contradiction between ``data`` and ``metadata``, column by column, by the rules of
    :meth:`Metadata.validate` (which stops at the first one).

    ``show_values`` (default 0) is how many offending values each finding quotes: they come
    from the private rows, so none unless asked for.

    >>> md = Metadata({"age": ColumnSpec("numerical", dtype="int", lower=0, upper=100,
    ...                                  nullable=False)})
    >>> for finding in check(md, pd.DataFrame({"age": [30, 130, None]})):
    ...     print(finding)
    age: has missing values but nullable: false (1 value)
    age: holds values outside its declared bounds [0, 100] (1 value)
    """
    if isinstance(show_values, bool) or not isinstance(show_values, int) or show_values < 0:
        raise ParameterError(f"show_values must be a whole number >= 0, got {show_values!r}")
    check_frame(data)
    findings: list[Finding] = []
    for name in metadata.names:
        if name not in data.columns:
            findings.append(Finding(name, "is in the metadata but not in the table"))
    for column in data.columns:
        if str(column) not in metadata.columns:
            findings.append(Finding(str(column), "is in the table but not in the metadata"))
    for name, spec in metadata.columns.items():
        if name not in data.columns:
            continue
        raw: list[tuple[str, str, pd.Series]] = []
        try:
            _conform(name, data[name], spec, "clip", False, raw)
        except DataError as exc:  # e.g. a column entirely missing, numbers in a date column
            raw.append((name, str(exc).split(": ", 1)[-1], data[name]))
        for column, rule, bad in raw:
            shown = tuple(_json_scalar(v) for v in bad.dropna().unique()[:show_values])
            count = int(bad.sum()) if bad.dtype == bool else len(bad)
            findings.append(Finding(column, rule, count, shown))
    return findings


def open_questions(path: str | Path) -> dict[str, str]:
    """The kinds a metadata file still asks a person to confirm: its columns' notes that start
    with ``PLEASE CONFIRM`` (written by :func:`draft`, deleted by whoever decides).

    A file that is not JSON, or has no such notes, has none; reading the metadata itself is
    :meth:`Metadata.load`'s job, with its own errors.
    """
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    notes = raw.get("notes") if isinstance(raw, dict) else None
    if not isinstance(notes, dict):
        return {}
    return {
        str(column): note
        for column, lines in notes.items()
        if column and isinstance(lines, list)
        for note in lines
        if isinstance(note, str) and note.startswith(CONFIRM)
    }


def load_dictionary(path: str | Path) -> Metadata:
    """Metadata from a data dictionary in CSV: one row per column, with the headers
    ``column, kind`` and optionally ``type`` (int/float), ``lower``, ``upper``, ``codes``
    (separated by ``|``), ``nullable`` (true/false), ``format``, ``group`` (the
    ``value_group`` of categorical columns that share a code system).

    A data dictionary is written by people, not read from the rows: the result is
    ``source="user"``, but not public until you say so (``dataclasses.replace(md,
    public=True)`` or ``"public": true`` in the saved file).
    """
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise MetadataError(f"cannot read the data dictionary {path}: {exc}") from None
    table.columns = [c.strip().lower() for c in table.columns]
    missing = {"column", "kind"} - set(table.columns)
    if missing:
        raise MetadataError(
            f"the data dictionary {path} needs the headers column and kind; missing "
            f"{sorted(missing)}"
        )
    specs: dict[str, dict[str, Any]] = {}
    for row in table.to_dict("records"):
        name = row["column"].strip()
        raw: dict[str, Any] = {"kind": row["kind"].strip()}
        if row.get("type", "").strip():
            raw["dtype"] = row["type"].strip()
        for key in ("lower", "upper"):
            text = row.get(key, "").strip()
            if text:
                raw[key] = _number_or_text(text)
        codes = row.get("codes", "").strip()
        if codes:
            raw["categories"] = [_number_or_text(c.strip()) for c in codes.split("|")]
        nullable = row.get("nullable", "").strip().lower()
        if nullable:
            if nullable not in ("true", "false"):
                raise MetadataError(f"column {name!r}: nullable must be true or false")
            raw["nullable"] = nullable == "true"
        if row.get("format", "").strip():
            raw["format"] = row["format"].strip()
        if row.get("group", "").strip():
            if raw["kind"] != "categorical":
                raise MetadataError(
                    f"column {name!r}: only categorical columns take a group (value_group); "
                    "empty its group cell or change its kind"
                )
            raw["value_group"] = row["group"].strip()
        specs[name] = raw
    return Metadata.from_dict({"source": "user", "public": False, "columns": specs})


def _number_or_text(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def from_arrow_schema(source: Any) -> Metadata:
    """Kinds from a Parquet file's or an Arrow schema's declared types, reading no rows.

    The types were declared by whoever wrote the file, so they are schema, not values: the
    result is ``source="user"`` with no domain (declare bounds and categories before a DP fit
    treats them as public). Integers are numerical int, floating point numerical float,
    booleans boolean, dates and timestamps datetime (with their time zone), and text and
    dictionary-encoded columns categorical, by the rule of a DP fit on a Parquet file
    (:func:`tabsynth.schema.schema_from_dtypes`): declare identifiers and free text yourself.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tabsynth.schema import schema_from_dtypes

    if isinstance(source, pa.Schema):
        schema = source
    else:
        try:
            schema = pq.read_schema(source)
        except (OSError, pa.ArrowException) as exc:
            raise MetadataError(f"cannot read a Parquet schema from {source}: {exc}") from None
    metadata = schema_from_dtypes(schema.empty_table().to_pandas())
    dates = {
        field.name: ColumnSpec("datetime")
        for field in schema
        if pa.types.is_date(field.type)  # pandas holds dates as objects: not text
    }
    return metadata.with_columns(**dates) if dates else metadata
