"""Rules made to hold in every synthetic row, whatever the model.

Two mechanisms, both exact:

* **Derivation.** A column a rule determines - the dependent of a dependency with a mapping,
  the left-hand side of an identity - is computed from the columns it depends on, after the
  model has drawn them. A numeric value tied to a category thus takes its declared value, not
  one drawn uniformly inside a bin; and a DP synthesizer does not model derived columns at all
  (:func:`modelled_metadata`), so no budget goes to cells that cannot occur.
* **Bounded redraws.** Rows that still break a rule (a comparison, a conditional, a forbidden
  combination, a derived value outside its declared bounds, a determinant outside a declared
  mapping) are drawn again by the model, with the same sampling conditions for that row, until
  every row satisfies every rule. Kept rows are therefore draws from the model's distribution
  *conditioned on the rules* (a row's first valid redraw is an exact draw from it). After
  :data:`MAX_ROUNDS` rounds, or :data:`STALL_ROUNDS` rounds in a row that fix nothing
  (:data:`MAX_COPIES` tries per broken row each), sampling stops with a
  :class:`~tabsynth.errors.RulesError` that names the rules still broken.

Rules are public (declared, never read from the rows), and all of this is post-processing of
the fitted model: it spends no privacy budget. The one exception is a dependency declared
without a mapping, whose mapping :func:`prepare` learns from the table - allowed in
non-private fits only (a DP fit refuses it, asking for the mapping to be declared).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tabsynth.errors import MetadataError, PrivacyError, RulesError
from tabsynth.rules.check import Table, comparable, constant, identity_value, satisfied
from tabsynth.rules.model import (
    Dependency,
    Identity,
    Rule,
    check_derivation_order,
    derivation_order,
)

if TYPE_CHECKING:
    from tabsynth.metadata import ColumnSpec, Metadata

#: Redraw rounds before sampling gives up on the rules.
MAX_ROUNDS = 100
#: Consecutive rounds that fix no row before sampling gives up (conditions that contradict a
#: rule can never be met, however often the rows are redrawn).
STALL_ROUNDS = 10
#: Most copies of one broken row asked in one round.
MAX_COPIES = 100
#: Most rows asked in one round, in multiples of the chunk's size (bounds memory).
MAX_DRAWN = 4
#: Floor of the acceptance estimate that sets the number of copies.
MIN_RATE = 1e-3
#: Rows drawn per row needed, over the acceptance estimate (i.i.d. samplers).
IID_MARGIN = 1.05

Draw = Callable[[np.ndarray, np.random.Generator], pd.DataFrame]
IidDraw = Callable[[int, np.random.Generator], pd.DataFrame]
#: Key of ``DataFrame.attrs`` where a sampler lists the cells its conditions gave (column ->
#: boolean rows), so that derivation does not overwrite them.
GIVEN = "tabsynth_given"


# ---------------------------------------------------------------------------------------------
# at fit time


def prepare(metadata: Metadata, data: pd.DataFrame, private: bool) -> Metadata:
    """``metadata`` with every dependency's mapping filled in.

    A non-private fit learns a missing mapping from ``data`` (each determinant value's most
    frequent dependent value); a DP fit refuses it, because the mapping would be read from the
    private rows outside the budget.
    """
    rules = metadata.rules
    if not any(isinstance(r, Dependency) and r.mapping is None for r in rules):
        return metadata
    filled: list[Rule] = []
    for rule in rules:
        if isinstance(rule, Dependency) and rule.mapping is None:
            if private:
                raise PrivacyError(
                    f"rule {rule.label!r}: a DP fit cannot learn which {rule.dependent!r} goes "
                    f"with each {rule.determinant!r} from the private rows for free; declare "
                    "the rule's 'mapping' (pairs of values from the data dictionary)"
                )
            rule = rule.with_mapping(learn_mapping(rule, data, metadata))
        filled.append(rule)
    return dataclasses.replace(metadata, rules=tuple(filled))


def learn_mapping(rule: Dependency, data: pd.DataFrame, metadata: Metadata) -> list[tuple]:
    """Non-private: each determinant value with its most frequent dependent value (ties go to
    the value that sorts first as text, so the mapping does not depend on row order)."""
    det = _plain(data[rule.determinant], metadata[rule.determinant])
    dep = _plain(data[rule.dependent], metadata[rule.dependent])
    pairs = pd.DataFrame({"d": det, "v": dep}).astype(object)
    pairs = pairs.where(pairs.notna(), None)
    counts: dict[Any, dict[Any, int]] = {}
    for d, v in zip(pairs["d"], pairs["v"], strict=True):
        counts.setdefault(d, {})
        counts[d][v] = counts[d].get(v, 0) + 1
    out = []
    for d in sorted(counts, key=lambda k: (k is None, str(k))):
        best = sorted(counts[d].items(), key=lambda kv: (-kv[1], str(kv[0])))[0][0]
        out.append((d, best))
    return out


def _plain(series: pd.Series, spec: ColumnSpec) -> list[Any]:
    """Values as JSON scalars: whole floats of int columns as ints, dates as ISO text."""
    col = comparable(series, spec)
    out: list[Any] = []
    for v, missing in zip(col.values, col.missing, strict=True):
        if missing:
            out.append(None)
        elif spec.kind == "datetime":
            out.append(pd.Timestamp(v * 1e9).isoformat())
        elif spec.kind == "numerical":
            out.append(int(v) if spec.dtype == "int" or float(v).is_integer() else float(v))
        else:
            out.append(v.item() if hasattr(v, "item") else v)
    return out


def modelled_metadata(metadata: Metadata) -> Metadata:
    """The columns a model needs to learn: every column but the derived ones, without rules.

    Derived columns are computed on sampling (:class:`Enforcer`), so a DP model spends no
    budget on them.
    """
    derived = {r.derived for r in metadata.rules if r.derived}
    if not derived:
        return metadata
    from tabsynth.metadata import Metadata

    kept = {n: s for n, s in metadata.columns.items() if n not in derived}
    return Metadata(kept, source=metadata.source, public=metadata.public)


def public_description(metadata: Metadata) -> str | None:
    """The rules, in words, for the ledger's list of public inputs."""
    if not metadata.rules:
        return None
    return "rules (declared, enforced on sampling): " + "; ".join(r.label for r in metadata.rules)


# ---------------------------------------------------------------------------------------------
# at sampling time


class Enforcer:
    """Derives and redraws until every row of a drawn chunk satisfies the metadata's rules.

    ``backwards`` picks one-to-one dependencies to derive the other way round (the
    determinant from the dependent, by the inverted mapping): a model that learns both
    columns may model the dependent better, and deriving from the worse-modelled side moves
    its error into the better one (see :func:`backwards_derivations`).
    """

    def __init__(self, metadata: Metadata, backwards: Callable[[Dependency], bool] | None = None):
        self.metadata = metadata
        self.rules: tuple[Rule, ...] = tuple(metadata.rules)
        self.derivations = derivation_order(backwards_derivations(self.rules, backwards))
        #: Share of drawn rows that met the rules, carried from one chunk to the next. It
        #: starts at 1: with the rules inside the models (structural zeros, masked draws,
        #: derivations) most draws meet them, and a shortfall costs one small extra draw.
        self.rate = 1.0

    @property
    def active(self) -> bool:
        return bool(self.rules)

    # -- derivation ------------------------------------------------------------------------
    def derive(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with every derived column computed from its inputs, in metadata order.

        Cells that a sampling condition gave (``frame.attrs[GIVEN]``: column -> rows) keep
        their value; where it disagrees with the derivation, :meth:`valid` rejects the row and
        it is drawn again with the same condition.
        """
        given = frame.attrs.get(GIVEN, {})
        frame = frame.reset_index(drop=True)
        frame.attrs.pop(GIVEN, None)  # pandas compares attrs when concatenating frames
        for rule in self.derivations:
            table = Table(frame, self.metadata)
            target = rule.derived
            assert target is not None
            spec = self.metadata[target]
            if isinstance(rule, Identity):
                value = _rounded(identity_value(rule, table), spec)
            else:
                assert isinstance(rule, Dependency)
                value = _mapped(rule, table, self.metadata)
            if target in given and target in frame.columns:
                keep = np.asarray(given[target], dtype=bool)
                value = frame[target].astype(object).where(keep, value.astype(object))
            frame[target] = value
        order = [n for n in self.metadata.names if n in frame.columns]
        return frame[order]

    def valid(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows of a derived frame that satisfy every rule, derived values within bounds."""
        table = Table(frame, self.metadata)
        ok = np.ones(table.n, dtype=bool)
        for rule in self.rules:
            ok &= satisfied(rule, table)
        for rule in self.derivations:
            target = rule.derived
            spec = self.metadata[target]
            col = table[target]
            if spec.kind in ("numerical", "datetime"):
                with np.errstate(invalid="ignore"):
                    if spec.lower is not None:
                        ok &= col.missing | (col.values >= constant(spec.lower, spec))
                    if spec.upper is not None:
                        ok &= col.missing | (col.values <= constant(spec.upper, spec))
            if col.missing.any() and not spec.nullable:
                ok &= ~col.missing
        return ok

    # -- the loop --------------------------------------------------------------------------
    def enforce(self, frame: pd.DataFrame, redraw: Draw, rng: np.random.Generator) -> pd.DataFrame:
        """``frame`` (rows ``0 .. len-1`` of a chunk) with every row made to satisfy the rules.

        ``redraw(rows, rng)`` draws fresh rows for the chunk positions ``rows`` (with those
        rows' sampling conditions, if any; a position may be asked several times). Each round
        asks every broken row about ``1.5 / acceptance`` times (at most :data:`MAX_COPIES`,
        and :data:`MAX_DRAWN` chunks' worth in all) and keeps its first valid copy, so a
        rule that holds in a share ``p`` of the model's rows costs about ``1 / p`` draws, not
        ``1 / p`` rounds.
        """
        frame = self.derive(frame)
        ok = self.valid(frame)
        bad = ~ok
        rate = max(float(ok.mean()) if len(ok) else 1.0, MIN_RATE)
        stalled = 0
        for _ in range(MAX_ROUNDS):
            if not bad.any():
                return frame
            rows = np.flatnonzero(bad)
            copies = int(min(MAX_COPIES, np.ceil(1.5 / rate)))
            copies = max(1, min(copies, (MAX_DRAWN * len(frame)) // len(rows)))
            asked = np.repeat(rows, copies)
            fresh = self.derive(redraw(asked, rng))
            fixed = self.valid(fresh)
            rate = max(float(fixed.mean()), MIN_RATE)
            good = np.flatnonzero(fixed)
            if good.size == 0:
                stalled += 1
                if stalled >= STALL_ROUNDS:
                    break
                continue
            stalled = 0
            positions, first = np.unique(asked[good], return_index=True)
            keep = fresh.iloc[good[first]]
            keep.index = positions
            frame = pd.concat([frame.drop(index=positions), keep]).sort_index()
            bad[positions] = False
        if not bad.any():
            return frame
        raise RulesError(self._failure(frame, bad))

    def enforce_iid(self, draw: IidDraw, size: int, rng: np.random.Generator) -> pd.DataFrame:
        """``size`` rows satisfying the rules from a sampler of independent, identically
        distributed rows (``draw(k, rng)``: ``k`` fresh rows).

        Each round draws the rows still needed divided by the acceptance seen so far (plus a
        margin) and keeps the valid ones in order: the first ``size`` valid rows of an i.i.d.
        stream are an exact sample of the model conditioned on the rules, and one model call
        usually suffices (models pay a fixed cost per call, whatever the number of rows).
        """
        parts: list[pd.DataFrame] = []
        need, stalled = size, 0
        last = None
        for _ in range(MAX_ROUNDS):
            if need == 0:
                break
            asked = int(min(np.ceil(need * IID_MARGIN / self.rate) + 16, MAX_DRAWN * size + 16))
            fresh = self.derive(draw(asked, rng))
            ok = self.valid(fresh)
            self.rate = max(float(ok.mean()), MIN_RATE)
            if not ok.any():
                last, stalled = fresh, stalled + 1
                if stalled >= STALL_ROUNDS:
                    break
                continue
            stalled = 0
            kept = (fresh if ok.all() else fresh[ok]).iloc[:need]
            parts.append(kept)
            need -= len(kept)
        if need == 0:
            return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        assert last is not None
        raise RulesError(self._failure(last, np.ones(len(last), dtype=bool)))

    def _failure(self, frame: pd.DataFrame, bad: np.ndarray) -> str:
        table = Table(frame.iloc[np.flatnonzero(bad)].reset_index(drop=True), self.metadata)
        broken = [r.label for r in self.rules if not satisfied(r, table).all()]
        if not broken:
            broken = [f"{r.derived} within its declared bounds" for r in self.derivations]
        return (
            f"{int(bad.sum())} of {len(frame)} sampled rows still break "
            f"{'; '.join(repr(b) for b in broken)} after repeated redraws: the model gives rows "
            "that satisfy these rules too little probability. Check that the sampling "
            "conditions do not contradict the rules and that the rules hold in the training "
            "table (the report's rules section shows each rule's share), or fit with more "
            "budget or training"
        )


def backwards_derivations(
    rules: Sequence[Rule], backwards: Callable[[Dependency], bool] | None
) -> list[Rule]:
    """``rules`` with each dependency that ``backwards`` picks turned round when its mapping
    is one-to-one (no dependent value twice, none missing), so that the determinant is derived
    from the dependent. For such a mapping the two rules hold in the same rows, and the
    checks keep using the declared rule. A turn that would derive a column twice or in a
    cycle is not made."""
    out = list(rules)
    if backwards is None:
        return out
    for i, rule in enumerate(out):
        if not isinstance(rule, Dependency) or rule.mapping is None or not backwards(rule):
            continue
        values = [v for _, v in rule.mapping]
        if None in values or len(set(values)) != len(values):
            continue
        turned = Dependency(
            rule.dependent, rule.determinant, tuple((v, k) for k, v in rule.mapping), rule.name
        )
        trial = [*out[:i], turned, *out[i + 1 :]]
        derived = [r.derived for r in trial if r.derived]
        if len(derived) != len(set(derived)):
            continue
        try:
            check_derivation_order(trial)
        except MetadataError:
            continue
        out = trial
    return out


def _rounded(values: np.ndarray, spec: ColumnSpec) -> pd.Series:
    if spec.dtype == "int":
        values = np.round(values)
    elif spec.precision is not None:
        values = np.round(values, spec.precision)
    return pd.Series(values, dtype=float)


def _mapped(rule: Dependency, table: Table, metadata: Metadata) -> pd.Series:
    """The dependent's declared value for each row's determinant; missing where the
    determinant is outside the mapping (the check then rejects the row)."""
    det_spec, dep_spec = metadata[rule.determinant], metadata[rule.dependent]
    mapping = {constant(k, det_spec): v for k, v in rule.mapping or ()}
    col = table[rule.determinant]
    keys = col.values.astype(object)
    keys[col.missing] = None
    values = pd.Series(keys, dtype=object).map(mapping)  # NaN where a key is not mapped
    if dep_spec.kind == "numerical":
        return pd.to_numeric(values, errors="coerce").astype(float)
    if dep_spec.kind == "datetime":
        return pd.Series(pd.to_datetime(values))
    return values.astype(object).where(values.notna(), None)
