"""Query-based membership score: how often the synthetic rows repeat the target's combinations.

A marginal-based synthesizer (MST, AIM, PrivBayes) reproduces the counts of the low-order
marginals it measured, so the strongest black-box attacks on them ask counting queries about
the target rather than looking for a near copy: TAPAS' query-based attack (Houssiau et al.
2022) counts the synthetic rows that agree with the target on subsets of its attributes, and
MAMA-MIA (Golob et al. 2024) reads the same low-order marginals knowing how MST and AIM build
their models. Adding the target to the training rows adds one to every one of its cells, so
in the IN world the synthetic data hit those cells more often; the rarer the combination, the
larger the relative change.

:class:`QueryScore` asks every 1- and 2-way query, and up to :data:`MAX_TRIPLES` 3-way ones
(drawn once with a fixed seed, so they are the same for every trial), on attributes binned
like the marginal methods' domains (numbers in quantile bins of the background rows, missing
values as a value of their own). The score is the sum over queries of ``log((matches + 1/2) /
rows)``: a log-frequency, so rare combinations weigh as much as common ones. It needs no
shadow models: the audit's calibration half picks its threshold.

:meth:`QueryScore.focused` uses what the attacker knows of marginal methods, as MAMA-MIA does:
MST measures the 1-way marginals and the pairs of a maximum spanning tree of dependence, and
AIM the marginals its workload needs most, so the signal sits in the strongly dependent
pairs. It keeps the 1-way queries and the ``d - 1`` pairs whose mutual information in the
synthetic rows is largest (the tree MST would have chosen, read off its own output), and
leaves out the queries a marginal method never measured, which only add noise to the sum.
"""

from __future__ import annotations

import itertools

import numpy as np

#: Quantile bins of a numeric column (the background rows' quantiles).
BINS = 10
#: Most 3-way queries asked (all 1- and 2-way ones are).
MAX_TRIPLES = 300
#: Seed of the draw of 3-way queries: public, the same for every trial and every audit.
QUERY_SEED = 0


class QueryScore:
    """Counting queries about one target, fitted on the background rows' coded matrix."""

    def __init__(self, background: np.ndarray, numeric: tuple[bool, ...]):
        self.numeric = numeric
        self.edges = [
            _quantile_edges(background[:, j]) if is_num else None
            for j, is_num in enumerate(numeric)
        ]
        d = len(numeric)
        triples = list(itertools.combinations(range(d), 3))
        if len(triples) > MAX_TRIPLES:
            rng = np.random.default_rng(QUERY_SEED)
            keep = np.sort(rng.choice(len(triples), MAX_TRIPLES, replace=False))
            triples = [triples[i] for i in keep]
        self.queries: list[tuple[int, ...]] = [
            *((j,) for j in range(d)),
            *itertools.combinations(range(d), 2),
            *triples,
        ]

    def codes(self, matrix: np.ndarray) -> np.ndarray:
        """Integer cell of every value: numbers by quantile bin, categories by code; missing
        values get ``-1``."""
        out = np.full(matrix.shape, -1, dtype=np.int64)
        for j, edges in enumerate(self.edges):
            col = matrix[:, j]
            present = ~np.isnan(col)
            if edges is None:
                out[present, j] = col[present].astype(np.int64)
            else:
                out[present, j] = np.searchsorted(edges, col[present], side="right")
        return out

    def score(self, target: np.ndarray, synthetic: np.ndarray) -> float:
        """Sum over the queries of the log-frequency of the target's answer in ``synthetic``
        (both coded matrices; ``target`` has one row)."""
        return self.scores(target, synthetic)[0]

    def focused(self, target: np.ndarray, synthetic: np.ndarray) -> float:
        """The same sum over the 1-way queries and the ``d - 1`` most dependent pairs of the
        synthetic rows (see the module docstring)."""
        return self.scores(target, synthetic)[1]

    def scores(self, target: np.ndarray, synthetic: np.ndarray) -> tuple[float, float]:
        """:meth:`score` and :meth:`focused` together, coding the rows once."""
        answer, coded = self.codes(target)[0], self.codes(synthetic)
        d = coded.shape[1]
        pairs = sorted(
            itertools.combinations(range(d), 2),
            key=lambda p: -_mutual_information(coded[:, p[0]], coded[:, p[1]]),
        )[: max(d - 1, 0)]
        return (
            _log_frequencies(answer, coded, self.queries),
            _log_frequencies(answer, coded, [*((j,) for j in range(d)), *pairs]),
        )


def _log_frequencies(target: np.ndarray, coded: np.ndarray, queries: list) -> float:
    rows = max(len(coded), 1)
    agree = coded == target
    total = 0.0
    for query in queries:
        matches = int(np.count_nonzero(agree[:, query].all(axis=1)))
        total += float(np.log((matches + 0.5) / rows))
    return total


def _mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """Mutual information (nats) of two code columns, from their empirical joint."""
    if a.size == 0:
        return 0.0
    _, x = np.unique(a, return_inverse=True)
    _, y = np.unique(b, return_inverse=True)
    joint = np.zeros((x.max() + 1, y.max() + 1))
    np.add.at(joint, (x, y), 1.0)
    joint /= joint.sum()
    outer = joint.sum(axis=1, keepdims=True) * joint.sum(axis=0, keepdims=True)
    nz = joint > 0
    return float(np.sum(joint[nz] * np.log(joint[nz] / outer[nz])))


def _quantile_edges(values: np.ndarray) -> np.ndarray:
    """Inner edges of :data:`BINS` quantile bins of the finite values (none if there are none)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.empty(0)
    return np.unique(np.quantile(finite, np.linspace(0, 1, BINS + 1)[1:-1]))
