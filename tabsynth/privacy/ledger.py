"""The privacy ledger: one record per private measurement, checked against a target (ε, δ).

Neighbouring datasets: two tables are neighbours when one is obtained from the other by adding
or removing a single row ("unbounded" DP). All sensitivities in :mod:`tabsynth.privacy` are
computed for that relation, and the guarantee reported here is with respect to it.

How costs compose, and why the target δ is split in two:

* Most mechanisms are ρ-zCDP (Bun & Steinke 2016); ρ's add up.
* DP-SGD is analysed as an RDP curve ``α ↦ ε(α)`` (Mironov 2017) on the ledger's :attr:`orders`;
  curves add up, and ρ-zCDP enters as ``α·ρ``.
* Thresholded releases (e.g. :func:`~tabsynth.privacy.mechanisms.dp_categories`) are
  "δ-approximately ρ-zCDP" (approximate zCDP, Bun & Steinke 2016): except with probability δ
  they are ρ-zCDP. Those additive δ's add up, and are paid on top of the conversion.

The composed cost is converted once to (ε, δ)-DP with the bound of Canonne, Kamath & Steinke
(2020), see :mod:`tabsynth.privacy.accounting`, at ``δ_conversion = delta − delta_reserved``.
``delta_reserved`` is asked for up front because the zCDP budget ``rho_budget`` depends on it:
the total guarantee is then (ε, δ_conversion + additive δ's) ≤ (epsilon, delta).

Budget checks allow a relative slack of :data:`RELATIVE_TOLERANCE` (1e-9) so that a budget split
into parts that sum to the whole up to rounding is accepted; the reported spent (ε, δ) is always
the exact composition, slack included, so :meth:`PrivacyLedger.explain` never under-reports.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from tabsynth.errors import BudgetError, ModelFileError, ParameterError
from tabsynth.privacy.accounting import (
    DEFAULT_ORDERS,
    epsilon_from_rdp,
    epsilon_from_rho,
    rho_from_epsilon,
)

__all__ = ["RELATIVE_TOLERANCE", "LedgerEntry", "PrivacyLedger"]

#: Relative slack of every budget check (ρ, ε and reserved δ), for floating-point rounding only.
RELATIVE_TOLERANCE = 1e-9

_FORMAT = "tabsynth.privacy.ledger"
_VERSION = 1
# explain() lists at most this many lines per phase, then summarises the rest.
_MAX_LINES_PER_PHASE = 25


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _json_normalised(params: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-form copy of ``params`` (tuples become lists, numpy scalars become Python ones).

    Storing the JSON form makes ``to_dict``/``from_dict`` round-trip exactly and rejects, at
    recording time rather than at save time, anything a model file could not hold.
    """
    try:
        return json.loads(json.dumps(dict(params), default=_json_default, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ParameterError(
            f"LedgerEntry params must be JSON-serialisable with finite numbers: {error}."
        ) from error


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


@dataclass(frozen=True)
class LedgerEntry:
    """The privacy cost of one measurement of the sensitive data.

    Attributes:
        mechanism: What was run: ``"gaussian"``, ``"exponential"``, ``"dp_bounds"``,
            ``"dp_quantiles"``, ``"dp_categories"``, ``"dp_sgd"``, ...
        purpose: Plain words for a reader of :meth:`PrivacyLedger.explain`, e.g.
            ``"bin edges of column 'age'"`` or ``"measure marginal (age, sex)"``.
        phase: The stage of the fit it belongs to (``"domain"``, ``"select"``, ``"measure"``,
            ``"training"``, ...); explain() groups by it.
        rho: zCDP cost ρ (0 for a mechanism accounted only by its RDP curve).
        rdp: RDP curve on the ledger's :attr:`PrivacyLedger.orders` (``inf`` = no bound at that
            order), or None. Used for DP-SGD, computed by its own accountant.
        delta: Additive δ: the probability of the event on which the zCDP/RDP bound fails
            (e.g. a value held by one row passing a release threshold). Paid from the ledger's
            ``delta_reserved``.
        params: Calibration details (sigma, epsilon, sampling rate, steps, noise multiplier,
            clipping norm, ...). Stored as a read-only JSON-normalised copy.
        seeded_noise: True when the noise came from a test-only seeded source, which makes the
            release not private; explain() then warns.
    """

    mechanism: str
    purpose: str
    phase: str = ""
    rho: float = 0.0
    rdp: tuple[float, ...] | None = None
    delta: float = 0.0
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)
    seeded_noise: bool = False

    def __post_init__(self) -> None:
        for name in ("mechanism", "purpose"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ParameterError(f"LedgerEntry.{name} must be a non-empty string.")
        if not isinstance(self.phase, str):
            raise ParameterError("LedgerEntry.phase must be a string.")
        if not (_is_number(self.rho) and 0.0 <= self.rho < math.inf):
            raise ParameterError(f"LedgerEntry.rho must be finite and >= 0, got {self.rho!r}.")
        if not (_is_number(self.delta) and 0.0 <= self.delta < 1.0):
            raise ParameterError(f"LedgerEntry.delta must be in [0, 1), got {self.delta!r}.")
        if not isinstance(self.seeded_noise, bool):
            raise ParameterError("LedgerEntry.seeded_noise must be a bool.")
        object.__setattr__(self, "rho", float(self.rho))
        object.__setattr__(self, "delta", float(self.delta))
        if self.rdp is not None:
            curve = np.asarray(self.rdp, dtype=float)
            if curve.ndim != 1 or curve.size == 0 or np.any(np.isnan(curve)) or np.any(curve < 0):
                raise ParameterError(
                    "LedgerEntry.rdp must be a non-empty 1-d sequence of values >= 0 (inf allowed)."
                )
            object.__setattr__(self, "rdp", tuple(float(v) for v in curve))
        object.__setattr__(self, "params", MappingProxyType(_json_normalised(self.params)))

    def __reduce__(self) -> tuple[Any, ...]:
        # The read-only params view cannot be pickled or deep-copied; rebuild from the dict form.
        return (type(self).from_dict, (self.to_dict(),))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form; an infinite RDP value is written as None."""
        rdp = None if self.rdp is None else [v if math.isfinite(v) else None for v in self.rdp]
        return {
            "mechanism": self.mechanism,
            "purpose": self.purpose,
            "phase": self.phase,
            "rho": self.rho,
            "rdp": rdp,
            "delta": self.delta,
            "params": dict(self.params),
            "seeded_noise": self.seeded_noise,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LedgerEntry:
        """Inverse of :meth:`to_dict`."""
        rdp = data["rdp"]
        return cls(
            mechanism=data["mechanism"],
            purpose=data["purpose"],
            phase=data["phase"],
            rho=data["rho"],
            rdp=None if rdp is None else tuple(math.inf if v is None else v for v in rdp),
            delta=data["delta"],
            params=data["params"],
            seeded_noise=data["seeded_noise"],
        )


class PrivacyLedger:
    """Accountant for one fit: records what each measurement cost and refuses to overspend.

    Args:
        epsilon: Target ε of the whole fit (> 0).
        delta: Target δ of the whole fit, in (0, 1). It should be well below 1/n for n rows;
            callers that know n check that.
        delta_reserved: Part of ``delta`` set aside for the additive δ of thresholded releases
            (:func:`~tabsynth.privacy.mechanisms.dp_categories`); 0 if there are none. Must be
            < delta. The rest, ``delta − delta_reserved``, is used to convert zCDP/RDP to ε.
        orders: Rényi orders on which RDP curves are recorded (default
            :data:`~tabsynth.privacy.accounting.DEFAULT_ORDERS`).

    Example:
        >>> ledger = PrivacyLedger(epsilon=1.0, delta=1e-6)
        >>> _ = ledger.record(LedgerEntry("gaussian", "measure marginal (age,)", rho=0.01))
        >>> round(ledger.remaining_rho(), 4)
        0.0144
    """

    def __init__(
        self,
        epsilon: float,
        delta: float,
        *,
        delta_reserved: float = 0.0,
        orders: tuple[float, ...] | list[float] | np.ndarray = DEFAULT_ORDERS,
    ) -> None:
        if not (_is_number(epsilon) and 0.0 < epsilon < math.inf):
            raise BudgetError(f"epsilon must be a finite number > 0, got {epsilon!r}.")
        if not (_is_number(delta) and 0.0 < delta < 1.0):
            raise BudgetError(f"delta must be a number in (0, 1), got {delta!r}.")
        if not (_is_number(delta_reserved) and 0.0 <= delta_reserved < delta):
            raise BudgetError(
                f"delta_reserved must be >= 0 and < delta = {delta}, got {delta_reserved!r}."
            )
        grid = np.asarray(orders, dtype=float)
        if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid) & (grid > 1.0)):
            raise ParameterError("orders must be a non-empty 1-d sequence of finite numbers > 1.")
        self._epsilon = float(epsilon)
        self._delta = float(delta)
        self._delta_reserved = float(delta_reserved)
        self._orders = tuple(float(a) for a in grid)
        self._rho_budget = rho_from_epsilon(self._epsilon, self.conversion_delta)
        self._entries: list[LedgerEntry] = []
        self._rho = 0.0
        self._rdp: np.ndarray | None = None
        self._additive_delta = 0.0
        self._public: list[str] = []

    # -- the target ----------------------------------------------------------------------------

    @property
    def epsilon(self) -> float:
        """Target ε the ledger was created with."""
        return self._epsilon

    @property
    def delta(self) -> float:
        """Target δ the ledger was created with."""
        return self._delta

    @property
    def delta_reserved(self) -> float:
        """Part of the target δ available to additive-δ entries."""
        return self._delta_reserved

    @property
    def conversion_delta(self) -> float:
        """δ used to convert the zCDP/RDP total to ε: ``delta − delta_reserved``."""
        return self._delta - self._delta_reserved

    @property
    def orders(self) -> tuple[float, ...]:
        """Rényi orders on which an entry's ``rdp`` curve must be given."""
        return self._orders

    @property
    def rho_budget(self) -> float:
        """Total zCDP ρ that converts to the target: ``rho_from_epsilon(epsilon, δ_conversion)``."""
        return self._rho_budget

    # -- what was spent ------------------------------------------------------------------------

    @property
    def entries(self) -> tuple[LedgerEntry, ...]:
        """Recorded entries, oldest first."""
        return tuple(self._entries)

    @property
    def spent_rho(self) -> float:
        """Sum of the zCDP ρ's of all entries (RDP curves not included)."""
        return self._rho

    @property
    def spent_epsilon(self) -> float:
        """ε of everything recorded so far, at δ = :attr:`conversion_delta`."""
        return self._composed_epsilon(self._rho, self._rdp)

    @property
    def spent_delta(self) -> float:
        """δ of everything recorded so far: the additive δ's, plus the conversion δ if any
        zCDP/RDP cost was spent."""
        spent_any = self._rho > 0.0 or (self._rdp is not None and bool(np.any(self._rdp > 0)))
        return self._additive_delta + (self.conversion_delta if spent_any else 0.0)

    @property
    def seeded_noise(self) -> bool:
        """True if any entry's noise came from a seeded (test-only, non-private) source."""
        return any(entry.seeded_noise for entry in self._entries)

    def remaining_rho(self) -> float:
        """Largest ρ that one more zCDP entry could spend without exceeding the target.

        With only zCDP entries this is ``rho_budget − spent_rho``. Once an RDP curve is recorded
        it is found by bisection on the grid conversion.
        """
        if self._rdp is None:
            return max(self._rho_budget - self._rho, 0.0)
        low, high = 0.0, self._rho_budget
        if self._composed_epsilon(self._rho, self._rdp) > self._epsilon:
            return 0.0
        while high - low > 1e-14 * high:
            mid = 0.5 * (low + high)
            if mid in (low, high):
                break
            if self._composed_epsilon(self._rho + mid, self._rdp) <= self._epsilon:
                low = mid
            else:
                high = mid
        return low

    # -- recording -----------------------------------------------------------------------------

    def fits(self, entry: LedgerEntry) -> bool:
        """Whether :meth:`record` would accept ``entry`` (nothing is recorded)."""
        return self._overspend(entry) is None

    def record(self, entry: LedgerEntry) -> LedgerEntry:
        """Add ``entry`` to the ledger and return it.

        Mechanisms call this before releasing anything, so a refused entry means nothing was
        released.

        Raises:
            BudgetError: the composition would exceed the target (ε, δ); the ledger is unchanged.
            ParameterError: ``entry.rdp`` is not on this ledger's :attr:`orders`.
        """
        problem = self._overspend(entry)
        if problem is not None:
            raise BudgetError(problem)
        self._entries.append(entry)
        self._rho, self._rdp, self._additive_delta = self._totals_with(entry)
        return entry

    def _totals_with(self, entry: LedgerEntry) -> tuple[float, np.ndarray | None, float]:
        if entry.rdp is not None and len(entry.rdp) != len(self._orders):
            raise ParameterError(
                f"entry.rdp has {len(entry.rdp)} values but the ledger has {len(self._orders)} "
                "orders; compute the curve on ledger.orders."
            )
        rdp = self._rdp
        if entry.rdp is not None:
            curve = np.asarray(entry.rdp)
            rdp = curve if rdp is None else rdp + curve
        return self._rho + entry.rho, rdp, self._additive_delta + entry.delta

    def _composed_epsilon(self, rho: float, rdp: np.ndarray | None) -> float:
        if rdp is None:
            return epsilon_from_rho(rho, self.conversion_delta)
        total = np.asarray(self._orders) * rho + rdp
        return epsilon_from_rdp(self._orders, total, self.conversion_delta)[0]

    def _overspend(self, entry: LedgerEntry) -> str | None:
        """Why recording ``entry`` would exceed the target, or None if it fits."""
        if not isinstance(entry, LedgerEntry):
            raise ParameterError(f"expected a LedgerEntry, got {type(entry).__name__}.")
        rho, rdp, additive_delta = self._totals_with(entry)
        slack = 1.0 + RELATIVE_TOLERANCE
        if additive_delta > self._delta_reserved * slack:
            return (
                f"'{entry.purpose}' needs additive δ = {entry.delta:.3g}, but only "
                f"{self._delta_reserved - self._additive_delta:.3g} of delta_reserved = "
                f"{self._delta_reserved:.3g} is left; create the ledger with a larger "
                "delta_reserved."
            )
        if rdp is None:
            if rho > self._rho_budget * slack:
                return (
                    f"'{entry.purpose}' costs ρ = {entry.rho:.4g} but only "
                    f"{self.remaining_rho():.4g} of the budget ρ = {self._rho_budget:.4g} "
                    f"(ε = {self._epsilon:g}, δ = {self._delta:g}) is left."
                )
            return None
        epsilon = self._composed_epsilon(rho, rdp)
        if epsilon > self._epsilon * slack:
            return (
                f"'{entry.purpose}' would bring the total to ε = {epsilon:.4g}, above the "
                f"target ε = {self._epsilon:g} (δ = {self._delta:g})."
            )
        return None

    # -- reporting -----------------------------------------------------------------------------

    def declare_public(self, what: str) -> None:
        """Record an input the fit used for free because it is public, not read from the rows
        (the schema, declared domains, a declared row count), so that :meth:`explain` states
        the whole basis of the guarantee: what is public, and what was charged."""
        if not isinstance(what, str) or not what:
            raise ParameterError("declare_public takes a non-empty description")
        self._public.append(what)

    @property
    def public(self) -> tuple[str, ...]:
        """The public inputs declared with :meth:`declare_public`, in order."""
        return tuple(self._public)

    def explain(self) -> str:
        """A plain-words report of what was spent where, for a human reviewer."""
        lines = ["Privacy ledger"]
        seeded = sum(entry.seeded_noise for entry in self._entries)
        if seeded:
            lines.append(
                f"!!! WARNING: {seeded} of {len(self._entries)} measurements used SEEDED noise, "
                "which is for testing only: the outputs are NOT differentially private. !!!"
            )
        lines += [
            f"Spent: (ε = {self.spent_epsilon:.4g}, δ = {self.spent_delta:.3g})-differential "
            f"privacy, of a target (ε = {self._epsilon:g}, δ = {self._delta:g}).",
            "Neighbouring datasets: two tables that differ by adding or removing one row.",
            "Accounting: zCDP costs ρ add up; RDP curves add up, with ρ-zCDP entering as α·ρ;",
            "  the total is converted to (ε, δ) with the bound of Canonne, Kamath & Steinke (2020)",
            f"  at δ = {self.conversion_delta:.3g}"
            + (
                f", optimised over {len(self._orders)} Rényi orders in "
                f"[{self._orders[0]:g}, {self._orders[-1]:g}]."
                if self._rdp is not None
                else ", optimised over continuous Rényi orders."
            ),
        ]
        if self._delta_reserved > 0:
            lines.append(
                f"Thresholded releases: additive δ = {self._additive_delta:.3g} spent of "
                f"{self._delta_reserved:.3g} reserved, added on top of the conversion δ."
            )
        lines.append(
            f"zCDP budget: ρ = {self._rho:.4g} spent of {self._rho_budget:.4g} "
            f"({self._percent(self._rho)}); ρ = {self.remaining_rho():.4g} left."
        )
        if self._public:
            lines.append("Public, used for free (declared, not read from the rows):")
            lines += [f"    - {what}" for what in self._public]
        if not self._entries:
            lines.append("Nothing has been measured yet.")
            return "\n".join(lines)
        lines.append("Charged to the budget, by phase:")
        for phase in dict.fromkeys(entry.phase for entry in self._entries):
            lines += self._explain_phase(phase, [e for e in self._entries if e.phase == phase])
        return "\n".join(lines)

    def _percent(self, rho: float) -> str:
        return f"{100.0 * rho / self._rho_budget:.1f} % of the ρ budget"

    def _explain_phase(self, phase: str, entries: list[LedgerEntry]) -> list[str]:
        rho = sum(entry.rho for entry in entries)
        count = f"{len(entries)} measurement" + ("s" if len(entries) > 1 else "")
        summary = f"  {phase or '(no phase)'}: {count}, ρ = {rho:.4g} "
        summary += f"({self._percent(rho)})"
        additive = sum(entry.delta for entry in entries)
        if additive > 0:
            summary += f", additive δ = {additive:.3g}"
        curves = [np.asarray(entry.rdp) for entry in entries if entry.rdp is not None]
        if curves:
            alone = epsilon_from_rdp(self._orders, sum(curves), self.conversion_delta)[0]
            summary += f", RDP curves worth ε = {alone:.4g} on their own"
        groups: dict[tuple[str, str], list[LedgerEntry]] = {}
        for entry in entries:
            groups.setdefault((entry.mechanism, entry.purpose), []).append(entry)
        lines = [summary]
        shown = list(groups.items())[:_MAX_LINES_PER_PHASE]
        for (mechanism, purpose), group in shown:
            times = f" (×{len(group)})" if len(group) > 1 else ""
            cost = f"ρ = {sum(e.rho for e in group):.4g}"
            if any(e.delta > 0 for e in group):
                cost += f", δ = {sum(e.delta for e in group):.3g}"
            if any(e.rdp is not None for e in group):
                cost += ", RDP curve"
            if any(e.seeded_noise for e in group):
                cost += ", SEEDED NOISE"
            lines.append(f"    - {purpose}{times} [{mechanism}]: {cost}")
        hidden = [e for group in list(groups.values())[_MAX_LINES_PER_PHASE:] for e in group]
        if hidden:
            lines.append(
                f"    - ... and {len(hidden)} more measurements, ρ = "
                f"{sum(e.rho for e in hidden):.4g}"
            )
        return lines

    # -- persistence ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form for model files (the target, the orders and every entry)."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "epsilon": self._epsilon,
            "delta": self._delta,
            "delta_reserved": self._delta_reserved,
            "orders": list(self._orders),
            "entries": [entry.to_dict() for entry in self._entries],
            "public": list(self._public),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PrivacyLedger:
        """Rebuild a ledger from :meth:`to_dict` output, replaying (and re-checking) each entry.

        Derived quantities (ρ budget, totals) are recomputed, never trusted from the file.

        Raises:
            ModelFileError: the data is not a ledger of this version, or is inconsistent
                (e.g. its entries overspend its own target).
        """
        try:
            if data["format"] != _FORMAT or data["version"] != _VERSION:
                raise ModelFileError(
                    f"not a version-{_VERSION} privacy ledger: format={data['format']!r}, "
                    f"version={data['version']!r}."
                )
            ledger = cls(
                data["epsilon"],
                data["delta"],
                delta_reserved=data["delta_reserved"],
                orders=data["orders"],
            )
            for entry in data["entries"]:
                ledger.record(LedgerEntry.from_dict(entry))
            for what in data.get("public", []):
                ledger.declare_public(what)
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"invalid privacy ledger data: {error}") from error
        return ledger

    def _repr_html_(self) -> str:
        from tabsynth.notebook import _repr_ledger

        return _repr_ledger(self)

    def __repr__(self) -> str:
        return (
            f"PrivacyLedger(epsilon={self._epsilon!r}, delta={self._delta!r}, "
            f"delta_reserved={self._delta_reserved!r}; {len(self._entries)} entries, "
            f"spent ε={self.spent_epsilon:.4g})"
        )
