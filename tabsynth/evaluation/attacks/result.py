"""What every attack returns: an advantage over its control, with an interval and plain words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class AttackResult:
    """One attack's outcome.

    ``advantage`` is the attack's success on training rows beyond what the same attack
    achieves on rows the synthesizer never saw (the control): 0 means the synthetic data
    gives this attacker nothing about the people in the training set, 1 means it gives
    everything. ``ci`` is its confidence interval; ``description`` says in plain words what
    the attacker does and what the number means; ``details`` holds the raw rates and counts.
    """

    advantage: float
    ci: tuple[float, float]
    description: str
    details: dict[str, Any] = field(default_factory=dict)
    roc: dict[str, list[float]] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "advantage": round(float(self.advantage), 4),
            "ci": [round(float(self.ci[0]), 4), round(float(self.ci[1]), 4)],
            "description": self.description,
            "details": {k: json_ready(v) for k, v in self.details.items()},
        }
        if self.roc is not None:
            out["roc"] = self.roc
        return out


def json_ready(value: Any) -> Any:
    """JSON-ready scalars and lists (numpy types become Python ones, floats are rounded)."""
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return round(float(value), 5)
    return value
