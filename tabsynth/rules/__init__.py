"""Domain rules declared in the metadata, checked in reports and enforced on sampling.

* :mod:`tabsynth.rules.model` - the rule kinds, their JSON form and their validation against
  the declared columns;
* :mod:`tabsynth.rules.check` - which rows satisfy each rule;
* :mod:`tabsynth.rules.enforce` - derived columns and bounded redraws, so that every
  synthetic row satisfies every rule.
"""

from tabsynth.rules.model import (
    Combinations,
    Compare,
    Condition,
    Conditional,
    Dependency,
    Identity,
    Rule,
)

__all__ = [
    "Combinations",
    "Compare",
    "Condition",
    "Conditional",
    "Dependency",
    "Identity",
    "Rule",
]
