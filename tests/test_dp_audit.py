"""Privacy audit: an empirical lower bound on ε from a distinguishing game, on the full fit path.

The game (Jagielski et al. 2020, "Auditing Differentially Private Machine Learning"; Nasr et al.
2021, "Adversary Instantiation"): two neighbouring tables differ by one target row, placed where
a leak is easiest to see - a category no other row has ("violet") and a value far outside
everyone else's (size 1000 where the others lie in 17..30). A synthesizer is fitted many times
on each table with fresh noise, and the adversary looks at the released model (its domain is
part of the model file) and says "the target was in" when the domain reveals the target's
category or value. Its true- and false-positive counts give, with one-sided Clopper-Pearson
bounds, an ε that every (ε, δ)-DP mechanism must exceed
(:func:`tabsynth.evaluation.stats.epsilon_lower_bound`).

The verdict is the audit's (:func:`tabsynth.evaluation.audit.decide_verdict`): 100 fits per
table let a perfect adversary certify ε up to 3.3, above the claim, so a pass means something
here; with 11 or fewer fits per table the claim ε = 1 could not fail and the verdict would be
"inconclusive".

* The real MST must pass: ε_lb ≤ the claimed ε. Its domain comes from DP mechanisms: the
  category survives ``dp_categories`` with probability δ (< 1e-9), and the value's power-of-two
  bucket clears ``dp_bounds``' 5σ threshold (σ ≈ 52 rows here) with probability about 3e-7;
  so both counts are almost surely 0 and the bound is 0.
* A deliberately broken MST that takes its domain from the data (as if detected metadata were
  public) must be caught: its domain holds the target exactly when the target is in, so with
  100 fits per table ε_lb ≈ 3.3, above the claimed ε = 1.

Each fit is tiny (two columns, 600 rows, 10 estimation iterations): 400 fits take well under a
minute.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabsynth.evaluation.audit import decide_verdict
from tabsynth.evaluation.stats import epsilon_lower_bound
from tabsynth.metadata import Metadata
from tabsynth.synthesizers.mst import MSTSynthesizer

CLAIMED_EPSILON = 1.0
DELTA = 1e-9
TRIALS = 100
TARGET = {"color": "violet", "size": 1000}


class DomainFromData(MSTSynthesizer):
    """BROKEN ON PURPOSE: reads bounds and categories off the private rows and calls them
    public. Everything else (measurements, selection, ledger) is the real MST."""

    name = ""  # not registered: the real "mst" stays in the registry

    def _resolve_metadata(self, data: pd.DataFrame, metadata: Metadata | None) -> Metadata:
        return Metadata(Metadata.detect(data).columns, source="user", public=True)


def neighbours() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    without = pd.DataFrame(
        {
            "color": rng.choice(["red", "green", "blue"], 600).astype(object),
            "size": rng.integers(17, 31, 600),
        }
    )
    with_target = pd.concat([without, pd.DataFrame([TARGET])], ignore_index=True)
    return without, with_target


def reveals_target(synth: MSTSynthesizer) -> bool:
    """The adversary's test: does the released domain contain the target's category or value?"""
    codecs = synth.encoder_.codecs
    return TARGET["color"] in codecs["color"].categories or codecs["size"].edges[-1] >= 1000


def audit(cls: type[MSTSynthesizer]) -> str:
    without, with_target = neighbours()

    def positives(table: pd.DataFrame) -> int:
        return sum(
            reveals_target(cls(CLAIMED_EPSILON, max_iters=10).fit(table)) for _ in range(TRIALS)
        )

    tp, fp = positives(with_target), positives(without)
    bound = epsilon_lower_bound(tp, TRIALS, fp, TRIALS, DELTA, confidence=0.95)
    best = epsilon_lower_bound(TRIALS, TRIALS, 0, TRIALS, DELTA, confidence=0.95)
    return decide_verdict(bound, CLAIMED_EPSILON, best)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_mst_passes_the_audit() -> None:
    assert audit(MSTSynthesizer) == "passed"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_audit_catches_a_domain_read_from_the_data() -> None:
    assert audit(DomainFromData) == "failed"
