"""Select-measure-generate: noisy marginals in, a graphical model out, synthetic rows from it.

MST and AIM share one pipeline (McKenna, Miklau & Sheldon 2021, "Winning the NIST Contest";
McKenna et al. 2022, "AIM"): *measure* marginals of the integer codes with the Gaussian
mechanism, *estimate* the distribution that best explains all noisy measurements with
Private-PGM (McKenna, Sheldon & Miklau 2019, "Graphical-model based estimation and inference
for differential privacy"), and *generate* rows from it. This module holds that shared part:

* :class:`Measurement` and :func:`measure` - a noisy marginal, recorded on the ledger;
* :func:`triangulate` and :class:`JunctionTree` - the structure the estimate lives on, its
  size (:func:`clique_cells`, what AIM's limit on model growth bounds), and what a new clique
  would add to it;
* :func:`estimate` - Private-PGM's mirror descent (Algorithm 1 of the 2019 paper, with the
  Armijo step-size search of its reference implementation) on the log-potentials of the
  measured cliques, with exact sum-product message passing on the junction tree;
* :class:`GraphicalModel` - clique marginals of the estimate: marginals of any attribute set
  (by elimination over the smallest subtree that covers it), conditioning on allowed codes,
  and exact forward sampling;
* :func:`unused_codes` - the "missing" and "other" codes a non-public domain adds, when the
  noisy 1-way marginals show the data do not use them;
* :class:`MarginalSynthesizer` - the DP synthesizer base both algorithms derive from.

Why NumPy rather than ``mbi`` (the authors' JAX library): ``mbi`` 2 JIT-compiles its solver for
every new set of cliques, which on CPU costs 5 to 20 s per compilation. AIM changes the clique
set every round and scores hundreds of candidate marginals per round (each a new compilation
in ``mbi``). On Adult the same measurements took 39 s through ``mbi`` and 2 s here for MST,
182 s and 6 s for eleven AIM-like warm-started estimates, with equal or lower final loss here
(``benchmarks/marginal/results.md``); ``mbi`` is also no longer a runtime dependency, so
``import tabsynth`` never loads JAX. The tests check this estimator against ``mbi`` where it
is installed.

Everything after the measurements is post-processing of DP releases: it spends no budget.
Cliques are tuples of column positions in increasing order, and every array over a clique has
its axes in that order.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import pandas as pd

from tabsynth.cells import cell_counts, coarse_sizes, fine_to_coarse, row_cells
from tabsynth.domain import DomainEncoder
from tabsynth.errors import ModelFileError, ParameterError
from tabsynth.privacy import NoiseSource, PrivacyLedger, gaussian_counts
from tabsynth.rules.zeros import StructuralZero
from tabsynth.synthesizers.conditional import encode_value
from tabsynth.synthesizers.dp_base import DPSynthesizer

Clique = tuple[int, ...]

#: Bytes per cell of a clique table, for model sizes (float64, as in AIM's size limit).
BYTES_PER_CELL = 8
#: A code whose noisy 1-way count is below this many σ is treated as unused (MST's threshold).
SUPPORT_SIGMAS = 3.0
#: Sampling tables at most this wide draw by comparison with the CDF, wider ones by search.
NARROW = 32
#: Rows per chunk of the comparison (bounds its temporary to CHUNK x NARROW values).
CHUNK = 1 << 16
#: Growth of the mirror-descent step after an accepted step. mbi uses 1.01; 1.05 reached a lower
#: loss than 1.01 after 50 to 2000 iterations on Adult (benchmarks/marginal/results.md).
STEP_GROWTH = 1.05
#: Most bytes of tables a model keeps from one projection for the next (:meth:`GraphicalModel.
#: project`); AIM scores every candidate of a round on one model, then drops it.
MEMO_BYTES = 1 << 29
#: A sum over a product of factors whose labels span more cells than this is planned by
#: einsum's optimiser (which contracts through BLAS where the shapes allow); smaller ones run
#: einsum's plain loop (:func:`_product_sum`).
#: Replaying the 60,000 slowest products of an AIM fit on diabetes130: 14.7 s at 2**13
#: against 19.7 s at 2**10, 16.0 s at 2**16 and 26.4 s at 2**19
#: (``benchmarks/results/aim_speed/``).
EINSUM_PLAN_CELLS = 1 << 13
#: Largest message (cells) :meth:`GraphicalModel._eliminate` passes from a clique to its parent;
#: a marginal that needs a larger one is summed in one contraction instead.
MESSAGE_CELLS = 1 << 16
#: Largest intermediate table (cells) einsum's optimiser may create while it contracts a planned
#: product pair by pair. NumPy's own limit is the largest operand: where every pairwise
#: contraction makes a table larger than that, it gives up and runs one loop over every label.
#: A product of four tables from AIM's model of diabetes130 (the largest 529,200 cells) then
#: ran over 3.3 billion label combinations in 14 s, where three pairwise contractions, the
#: largest intermediate 604,800 cells, take 0.03 s. 2**24 cells are 128 MB of float64.
EINSUM_INTERMEDIATE_CELLS = 1 << 24
# _sum_out leaves tables under this many cells to NumPy's sum.
NUMPY_SUM_CELLS = 1 << 12
# A separator cell whose clique slice sums below this (relative to the clique's largest cell)
# after the one shift by the clique's maximum has lost precision: see _exponentiated.
UNDERFLOW = 1e-280
#: Mirror-descent iterations between two progress-bar updates.
PROGRESS_EVERY = 50
#: Iterations over which an estimate that runs ``until_converged`` judges its progress.
STOP_WINDOW = 100


# ---------------------------------------------------------------------------------------------
# measurements


@dataclass(frozen=True)
class Measurement:
    """A noisy marginal: ``values`` estimates the counts of ``clique``'s cells (C order) with
    independent Gaussian errors of standard deviation ``stddev`` (one number, or one per
    cell when cells were merged).

    ``maps``, when given, holds per attribute of the clique the map from the model's codes to
    coarser codes the counts were taken on (a cell of ``values`` then sums several cells of the
    marginal). AIM's ``group_share`` measures small groups this way: merged cells hold enough
    of a group's rows to stand out of the noise.

    ``index``, when given, groups cells in a way no per-attribute map can: for each cell of
    the marginal (C order, on ``maps``' codes if any), the cell of ``values`` it counts in.
    Band cells (:mod:`~tabsynth.synthesizers.bands`) keep the cells near the diagonal of two
    ordered columns and merge the rest."""

    clique: Clique
    values: np.ndarray
    stddev: float | np.ndarray
    maps: tuple[np.ndarray, ...] | None = None
    index: np.ndarray | None = None

    def variance_of_total(self) -> float:
        return float(np.sum(np.broadcast_to(np.square(self.stddev), self.values.shape)))

    def cell_index(self, shape: Sequence[int]) -> np.ndarray | None:
        """For each cell of the clique's marginal (C order), the cell of ``values`` it counts
        in; None when the counts are on the model's own codes."""
        merged = None if self.maps is None else fine_to_coarse(self.maps)
        if self.index is None:
            return merged
        return self.index if merged is None else self.index[merged]


@dataclass(frozen=True)
class Released:
    """A measurement as the fit released it, with how to find a row's cell in it.

    ``code_maps`` holds, per attribute of the clique, the map from the encoder's codes to the
    codes the marginal was measured on (the identity, or MST's merged codes). Fitted
    synthesizers keep these as ``released_`` so a white-box audit can read exactly what was
    published; they are DP releases, so reading them costs no privacy. They are not saved in
    model files: sampling needs only the model.
    """

    measurement: Measurement
    code_maps: tuple[np.ndarray, ...]

    @classmethod
    def direct(cls, measurement: Measurement, shape: Sequence[int]) -> Released:
        """A measurement taken on the encoder's own codes, or on the coarser codes of its
        ``maps``."""
        if measurement.maps is not None:
            return cls(measurement, measurement.maps)
        return cls(measurement, tuple(np.arange(shape[a]) for a in measurement.clique))

    def cells(self, codes: np.ndarray) -> np.ndarray:
        """Flat (C order) cell index of each row of encoder ``codes`` in this measurement."""
        cells = row_cells(codes, self.measurement.clique, self.code_maps)
        index = self.measurement.index
        return cells if index is None else index[cells]


def data_marginal(codes: np.ndarray, shape: Sequence[int], clique: Clique) -> np.ndarray:
    """Exact counts of the marginal on ``clique``, flattened in C order (the private input)."""
    if not clique:
        return np.array([float(codes.shape[0])])
    flat = np.zeros(codes.shape[0], dtype=np.int64)
    for a in clique:  # the C-order cell index, built in place (AIM counts thousands of these)
        flat *= shape[a]
        flat += codes[:, a]
    return np.bincount(flat, minlength=math.prod(shape[a] for a in clique)).astype(float)


def measure(
    codes: np.ndarray,
    shape: Sequence[int],
    clique: Clique,
    sigma: float,
    *,
    names: Sequence[str],
    ledger: PrivacyLedger,
    noise: NoiseSource,
    phase: str = "measure",
    maps: tuple[np.ndarray, ...] | None = None,
    index: np.ndarray | None = None,
) -> Measurement:
    """Gaussian mechanism on one marginal (each row adds 1 to one cell: L2 sensitivity 1), on
    the model's codes or, with ``maps`` or ``index``, on coarser cells (see
    :class:`Measurement`; a row still counts in one cell)."""
    purpose = "marginal (" + ", ".join(repr(names[a]) for a in clique)
    if maps is None:
        counts = data_marginal(codes, shape, clique)
    else:
        counts = cell_counts(codes, clique, maps)
        purpose += "; " + " x ".join(map(str, coarse_sizes(maps))) + " coarse cells"
    if index is not None:
        counts = np.bincount(index, weights=counts, minlength=int(index.max()) + 1)
        purpose += f"; band cells, {counts.size} measured"
    values = gaussian_counts(
        counts,
        sigma,
        ledger=ledger,
        purpose=purpose + ")",
        phase=phase,
        noise=noise,
    )
    return Measurement(clique, values, float(sigma), maps, index)


def estimate_total(measurements: Sequence[Measurement]) -> float:
    """Minimum-variance unbiased estimate of the number of rows from the noisy marginals: each
    marginal's sum is an unbiased estimate; they are averaged with inverse-variance weights."""
    sums = np.array([m.values.sum() for m in measurements])
    weights = np.array([1.0 / m.variance_of_total() for m in measurements])
    return max(1.0, float(np.sum(weights * sums) / np.sum(weights)))


# ---------------------------------------------------------------------------------------------
# structure


@dataclass(frozen=True)
class JunctionTree:
    """Maximal cliques of a triangulation of the measured cliques, as a tree.

    ``cliques`` are listed so that each one's ``parents`` entry points to an earlier clique
    (the first is the root, parent -1). Disconnected parts are joined by edges with an empty
    separator, so there is always one tree.
    """

    cliques: tuple[Clique, ...]
    parents: tuple[int, ...]

    @classmethod
    def build(cls, shape: Sequence[int], cliques: Sequence[Clique]) -> JunctionTree:
        """The junction tree of :func:`triangulate`'s maximal cliques: a maximum spanning tree
        on separator sizes, which is a junction tree for a chordal graph."""
        return cls.spanning(triangulate(shape, cliques))

    @classmethod
    def spanning(cls, maximal: list[Clique]) -> JunctionTree:
        """The junction tree of the maximal cliques of a chordal graph (as :func:`triangulate`
        returns them)."""
        pairs = sorted(
            itertools.combinations(range(len(maximal)), 2),
            key=lambda p: (-len(set(maximal[p[0]]) & set(maximal[p[1]])), p),
        )
        root_of = list(range(len(maximal)))

        def find(i: int) -> int:
            while root_of[i] != i:
                root_of[i] = root_of[root_of[i]]
                i = root_of[i]
            return i

        adjacent: list[list[int]] = [[] for _ in maximal]
        for i, j in pairs:
            ri, rj = find(i), find(j)
            if ri != rj:
                root_of[ri] = rj
                adjacent[i].append(j)
                adjacent[j].append(i)
        order, parents, seen = [0], [-1], {0}
        stack = [0]
        position = {0: 0}
        while stack:
            node = stack.pop()
            for nxt in sorted(adjacent[node], reverse=True):
                if nxt not in seen:
                    seen.add(nxt)
                    position[nxt] = len(order)
                    order.append(nxt)
                    parents.append(position[node])
                    stack.append(nxt)
        return cls(tuple(maximal[i] for i in order), tuple(parents))

    def separator(self, i: int) -> Clique:
        """Attributes clique ``i`` shares with its parent (empty for the root)."""
        if self.parents[i] < 0:
            return ()
        parent = set(self.cliques[self.parents[i]])
        return tuple(a for a in self.cliques[i] if a in parent)

    @cached_property
    def holding(self) -> dict[int, set[int]]:
        """The cliques holding each attribute."""
        out: dict[int, set[int]] = {}
        for i, clique in enumerate(self.cliques):
            for a in clique:
                out.setdefault(a, set()).add(i)
        return out

    @cached_property
    def ancestors(self) -> tuple[tuple[int, ...], ...]:
        """Each clique's path up to the root, itself first."""
        paths: list[tuple[int, ...]] = []
        for i, parent in enumerate(self.parents):
            paths.append((i,) if parent < 0 else (i, *paths[parent]))
        return tuple(paths)

    @cached_property
    def component(self) -> tuple[int, ...]:
        """Each clique's connected part: a child joined by an empty separator starts a new one."""
        out: list[int] = []
        for i, parent in enumerate(self.parents):
            out.append(i if parent < 0 or not self.separator(i) else out[parent])
        return tuple(out)

    def local_growth(self, shape: Sequence[int], attrs: Sequence[int]) -> int:
        """Cells that triangulating the model with ``attrs`` as one more clique adds (0 when a
        clique holds them already), found by re-triangulating only the subtree that joins
        the topmost holders of ``attrs``.

        Why it is the whole triangulation's answer: the rest of the tree hangs on that
        subtree through separators that stay complete. While any vertex outside remains,
        one of them is simplicial (each branch is chordal and meets the subtree in a
        complete separator), and :func:`triangulate` eliminates fill-free vertices first, so
        both runs eliminate the outside without fill and then face the same graph, with the
        same costs and order. AIM asks this of thousands of candidates a round: whole
        triangulations took 2-4 s of each round on a 48-column table. One round's
        measurement changes the tree in one place, so the answer is cached by subtree.
        """
        if self.containing(attrs, shape) is not None:
            return 0
        return self._retriangulated(shape, attrs, self._joining(attrs))

    def grows_within(self, shape: Sequence[int], attrs: Sequence[int], room: float) -> bool:
        """Whether ``local_growth(shape, attrs) <= room``, without triangulating when a bound
        settles it. Write Π(X) for the product of the domain sizes of the attributes X. The
        maximal cliques of a chordal graph on V whose domains all have two values or more
        hold at most Π(V) cells. (By induction on a leaf clique S ∪ R of its junction tree,
        R ≠ ∅ the attributes no other clique holds: S is a proper subset of V − R, or the
        leaf's neighbour would lie inside the leaf, so the leaf holds at most
        Π(V − R) Π(R) / 2 <= Π(V − R) (Π(R) - 1) cells and the rest at most Π(V − R).)
        :func:`triangulate` returns every maximal clique of a chordal graph on all the local
        attributes (the joining cliques' and ``attrs``), so re-triangulating grows the model
        by at most their Π less the joining cliques' cells. On diabetes130 that settles a
        fifth of AIM's size checks."""
        if self.containing(attrs, shape) is not None:
            return room >= 0
        cliques = self._joining(attrs)
        local = set(attrs).union(*cliques)
        bound = math.prod(shape[a] for a in local) - clique_cells(shape, cliques)
        if bound <= room and min(shape[a] for a in local) >= 2:
            return True
        return self._retriangulated(shape, attrs, cliques) <= room

    @staticmethod
    def _retriangulated(shape: Sequence[int], attrs: Sequence[int], cliques: list[Clique]) -> int:
        """Cells that triangulating ``cliques`` with ``attrs`` adds, numbered locally so that
        the same tables met in any part of any model share one cache entry."""
        local = sorted(set(attrs).union(*cliques))
        position = {a: k for k, a in enumerate(local)}
        parts = tuple(sorted(tuple(position[a] for a in c) for c in cliques))
        joined = tuple(sorted(position[a] for a in set(attrs)))
        return _retriangulated_growth(tuple(shape[a] for a in local), parts, joined)

    def _joining(self, attrs: Sequence[int]) -> list[Clique]:
        """The cliques of :meth:`joining_subtree`."""
        return [self.cliques[n] for n in self.joining_subtree(attrs)[1]]

    def joining_subtree(self, attrs: Sequence[int]) -> tuple[int, list[int]]:
        """The lowest common ancestor of the topmost holders of the attributes ``attrs``, and
        the cliques on the paths from those holders up to it (itself included), in order."""
        paths = [self.ancestors[h] for h in {min(self.holding[a]) for a in attrs}]
        top = _meeting(paths)
        return top, sorted({n for path in paths for n in path[: path.index(top) + 1]})

    def cells(self, shape: Sequence[int]) -> int:
        """Cells of all clique tables."""
        return clique_cells(shape, self.cliques)

    def containing(self, attrs: Sequence[int], shape: Sequence[int]) -> int | None:
        """Index of the smallest clique holding every attribute of ``attrs``, if any."""
        holding = self.holding
        if any(a not in holding for a in attrs):
            return None
        best = set.intersection(*(holding[a] for a in attrs)) if attrs else range(len(self.cliques))
        if not best:
            return None
        return min(best, key=lambda i: (math.prod(shape[a] for a in self.cliques[i]), i))


def clique_cells(shape: Sequence[int], cliques: Sequence[Clique]) -> int:
    """Cells of the tables of these cliques: a model's size, in AIM's limit on its growth."""
    return sum(math.prod(shape[a] for a in c) for c in cliques)


@lru_cache(maxsize=2**16)
def _retriangulated_growth(
    shape: tuple[int, ...], cliques: tuple[Clique, ...], attrs: Clique
) -> int:
    """Cells that triangulating ``cliques`` with ``attrs`` as one more clique adds to them
    (attributes numbered 0 .. len(shape) - 1 in their original order, so that tables met in
    any part of any model share one entry)."""
    return clique_cells(shape, triangulate(shape, [*cliques, attrs])) - clique_cells(shape, cliques)


def _meeting(paths: Sequence[tuple[int, ...]]) -> int:
    """The lowest clique on every one of these paths to the root (their lowest common
    ancestor): ancestors have smaller indices."""
    return max(set(paths[0]).intersection(*paths[1:]))


def triangulate(shape: Sequence[int], cliques: Sequence[Clique]) -> list[Clique]:
    """Maximal cliques of a triangulation of the graph in which each clique is complete.

    Greedy elimination: the variable whose elimination adds the fewest fill-in edges goes
    first, then the one forming the smallest table. Min-fill keeps a tree of pairs (MST) a
    tree of pairs; the size rule keeps AIM's tables small. Every attribute is in some clique.
    Graphs are bit masks and the loops are written out: AIM triangulates a hundred thousand
    small graphs per fit on a wide table (:meth:`JunctionTree.local_growth`). Log-sizes are
    added one by one, left to right: the built-in ``sum`` compensates its rounding from
    Python 3.12 on, which would break near-ties between tables differently by version.
    """
    d = len(shape)
    adjacent = [0] * d
    for clique in cliques:
        mask = sum(1 << a for a in clique)
        for a in clique:
            adjacent[a] |= mask & ~(1 << a)
    log_size = [math.log(max(s, 1)) for s in shape]

    def cost(u: int) -> tuple[int, float, int]:
        """Fill-in edges eliminating ``u`` would add, log-size of the table it would form."""
        around = rest = adjacent[u]
        unlinked, size = 0, 0.0
        while rest:
            low = rest & -rest
            rest ^= low
            a = low.bit_length() - 1
            unlinked += (around & ~adjacent[a]).bit_count()  # counts a itself, once per a
            size += log_size[a]
        return (unlinked - around.bit_count()) // 2, log_size[u] + size, u

    costs = {u: cost(u) for u in range(d)}
    formed: list[int] = []
    while costs:
        v = min(costs, key=costs.__getitem__)
        around = rest = adjacent[v]
        formed.append(around | 1 << v)
        while rest:
            low = rest & -rest
            rest ^= low
            a = low.bit_length() - 1
            adjacent[a] = (adjacent[a] | around) & ~low & ~(1 << v)
        filled = costs.pop(v)[0] > 0
        # only the neighbours change cost, and, where fill edges were added, nodes next to two
        # of them (84 % of the eliminations in AIM's size checks on diabetes130 added none)
        for u in costs:
            if around >> u & 1 or (filled and (adjacent[u] & around).bit_count() >= 2):
                costs[u] = cost(u)
    maximal = {c for c in formed if not any(c != other and c & other == c for other in formed)}
    return sorted(tuple(a for a in range(d) if c >> a & 1) for c in maximal)


# ---------------------------------------------------------------------------------------------
# array helpers


def _broadcast_shape(sub: Clique, clique: Clique, shape: Sequence[int]) -> tuple[int, ...]:
    """Shape that lets an array over ``sub`` (a subset of ``clique``) broadcast over ``clique``."""
    members = set(sub)
    return tuple(shape[a] if a in members else 1 for a in clique)


def _other_axes(clique: Clique, keep: Sequence[int]) -> tuple[int, ...]:
    members = set(keep)
    return tuple(i for i, a in enumerate(clique) if a not in members)


def _runs(shape: Sequence[int], marked: set[int]) -> tuple[list[int], list[bool]]:
    """The sizes of the runs of adjacent axes that are all marked or all not (size-1 axes
    dropped), and whether each run is marked: the same table, with as few axes as it can."""
    sizes: list[int] = []
    marks: list[bool] = []
    for axis, size in enumerate(shape):
        if size == 1:
            continue
        if marks and marks[-1] == (axis in marked):
            sizes[-1] *= size
        else:
            sizes.append(size)
            marks.append(axis in marked)
    return sizes, marks


def _sum_out(table: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    """``table.sum(axis=axes)``, faster where the axes are scattered; with nothing to sum it
    may return a view of ``table``.

    NumPy reduces over scattered axes one short inner loop at a time: summing a 94,080-cell
    clique of diabetes130's AIM model to a 4-cell separator took 0.8 ms, 30 times a plain
    sum of the table. Here adjacent axes are merged into runs, and each summed run, the last
    first, is summed out of a three-axis view by einsum's own loops (single-threaded, unlike a
    product with ones through BLAS, whose threads change the rounding). The order of the
    additions differs from NumPy's: float rounding only. On that model's separator sums and
    five random sets of axes per clique, it took 5.0 ms where NumPy took 13.6. Tables under
    :data:`NUMPY_SUM_CELLS` go to NumPy, which is faster there than the few calls this makes;
    a table that is not C-contiguous is copied by the first reshape."""
    if table.size < NUMPY_SUM_CELLS:
        return table.sum(axis=tuple(axes))
    sizes, summed = _runs(table.shape, set(axes))
    out = table
    while True in summed:
        k = len(summed) - 1 - summed[::-1].index(True)
        view = out.reshape(math.prod(sizes[:k]), sizes[k], math.prod(sizes[k + 1 :]))
        out = np.einsum("ijk->ik", view)
        del sizes[k], summed[k]
        if 0 < k < len(sizes):  # the kept runs on either side are now adjacent
            sizes[k - 1 : k + 1] = [sizes[k - 1] * sizes[k]]
            del summed[k]
    dropped = set(axes)
    return out.reshape(tuple(n for a, n in enumerate(table.shape) if a not in dropped))


def _product_sum(factors: Sequence[tuple[Clique, np.ndarray]], keep: Clique) -> np.ndarray:
    """Sum over every attribute not in ``keep`` of the product of the factors; the result has
    one axis per attribute of ``keep``, in order. Labels are assigned locally, so the einsum
    never sees more attributes than these few factors hold."""
    labels: dict[int, int] = {}
    sizes: dict[int, int] = {}
    operands: list[Any] = []
    for attrs, array in factors:
        operands += [array, [labels.setdefault(a, len(labels)) for a in attrs]]
        sizes.update(zip(attrs, array.shape, strict=True))
    operands.append([labels[a] for a in keep])
    # Unplanned, einsum runs one C loop over every combination of the labels. That is all an
    # outer product needs, and cheapest for the small products AIM's scoring makes by the
    # hundred thousand, where planning (tens of microseconds) would dominate; but a sum over
    # a large product runs hundreds of times faster through BLAS (diabetes130: 0.5 s for a
    # message of 10 M cells).
    summed = len(sizes) > len(keep)
    if summed and math.prod(sizes.values()) > EINSUM_PLAN_CELLS:
        return np.einsum(*operands, optimize=("greedy", EINSUM_INTERMEDIATE_CELLS))
    return np.einsum(*operands, optimize=False)


# ---------------------------------------------------------------------------------------------
# the estimated distribution


@dataclass
class GraphicalModel:
    """A distribution over the codes, stored as its junction-tree clique marginals.

    ``marginals[i]`` is the probability table of ``tree.cliques[i]``; ``total`` the estimated
    number of rows. ``potentials`` (log-potentials of the measured cliques) and ``step`` (the
    last mirror-descent step size) are kept in memory to warm-start the next estimate; they
    are not needed to sample and are not saved.
    """

    shape: tuple[int, ...]
    tree: JunctionTree
    marginals: list[np.ndarray]
    total: float
    potentials: dict[Clique, np.ndarray] = field(default_factory=dict, repr=False)
    step: float | None = field(default=None, repr=False)
    #: Mirror-descent iterations of the estimate that made the model (0 for a model made
    #: otherwise: conditioned or loaded).
    iterations: int = field(default=0, repr=False, compare=False)
    #: Tables derived from ``marginals`` by :meth:`project` (which never change after
    #: construction), kept for the next projection.
    _memo: dict[tuple[Any, ...], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _memo_bytes: int = field(default=0, init=False, repr=False, compare=False)

    def project(self, attrs: Sequence[int]) -> np.ndarray:
        """Expected counts of the marginal on ``attrs`` (sorted), as an array with one axis each.

        Inside one clique it is a sum. Otherwise the distribution of the smallest subtree
        covering ``attrs`` is its clique marginals divided by its separator marginals, and the
        other attributes are summed out (:meth:`_eliminate`).
        """
        attrs = tuple(sorted(attrs))
        if not attrs:
            return np.array(self.total)
        inside = self.tree.containing(attrs, self.shape)
        if inside is not None:
            clique = self.tree.cliques[inside]
            return self.total * self.marginals[inside].sum(axis=_other_axes(clique, attrs))
        tree = self.tree
        parts: dict[int, list[int]] = {}
        for a in attrs:
            parts.setdefault(tree.component[min(tree.holding[a])], []).append(a)
        if len(parts) == 1:
            return self.total * self._eliminate(attrs)
        # disconnected parts of the model are independent: an outer product of their marginals,
        # by broadcasting (einsum's call overhead was a fifth of AIM's scoring on diabetes130)
        out = np.array(self.total)
        for part in parts.values():
            out = out * (self.project(part) / self.total).reshape(
                _broadcast_shape(tuple(part), attrs, self.shape)
            )
        return out

    def _eliminate(self, attrs: Clique) -> np.ndarray:
        """Marginal of ``attrs`` when no clique holds them all, from the smallest subtree
        covering them: its top clique's marginal times each other clique's conditional given
        its separator is the subtree's joint distribution, summed over everything else.

        Two orders of summation, both exact. Passing messages from the leaves up
        (:meth:`_message`) shares them between candidates, but a message keeps its separator
        together with every wanted attribute below it: on AIM's late models of diabetes130
        those reached 50 million cells, and one candidate took 20 s. Where a message would
        exceed :data:`MESSAGE_CELLS`, the subtree's tables are instead contracted in one einsum,
        in the order its optimiser picks (:meth:`_contract`)."""
        tree = self.tree
        holders = {a: min(tree.holding[a]) for a in attrs}
        top, nodes = tree.joining_subtree(attrs)
        below: dict[int, set[int]] = {i: set() for i in nodes}
        for a, h in holders.items():
            path = tree.ancestors[h]
            for i in path[: path.index(top)]:
                below[i].add(a)
        widest = max(
            (
                math.prod(self.shape[a] for a in below[i].union(tree.separator(i)))
                for i in nodes
                if i != top
            ),
            default=0,
        )
        if widest > MESSAGE_CELLS:
            return self._contract(attrs, top, nodes)
        messages = self._messages_into(top, attrs, holders)
        linked = {a for attrs_, _ in messages for a in attrs_}
        need = tuple(a for a in tree.cliques[top] if a in holders or a in linked)
        return _product_sum([(need, self._reduced(top, need, True)), *messages], attrs)

    def _contract(self, attrs: Clique, top: int, nodes: list[int]) -> np.ndarray:
        """:meth:`_eliminate` in one einsum: each table of the subtree ``nodes`` (under
        ``top``) summed down to the attributes ``attrs`` and the separators need, then their
        product summed in the optimiser's order."""
        tree = self.tree
        shared: dict[int, set[int]] = {i: set() for i in nodes}
        for i in nodes:
            if i != top:  # what a clique shares with its parent, both hold
                shared[i].update(tree.separator(i))
                shared[tree.parents[i]].update(tree.separator(i))
        wanted = set(attrs)
        factors = []
        for i in nodes:
            need = tuple(a for a in tree.cliques[i] if a in wanted or a in shared[i])
            factors.append((need, self._reduced(i, need, i == top)))
        return _product_sum(factors, attrs)

    def _messages_into(
        self, node: int, below: Clique, holders: dict[int, int]
    ) -> list[tuple[Clique, np.ndarray]]:
        """The messages ``node``'s children send it for the attributes ``below``, whose holders
        (topmost cliques) lie in ``node``'s subtree: one per child whose subtree holds some."""
        ancestors = self.tree.ancestors
        by_child: dict[int, list[int]] = {}
        for a in below:
            path = ancestors[holders[a]]
            if path[0] != node:
                by_child.setdefault(path[path.index(node) - 1], []).append(a)
        return [self._message(c, tuple(by_child[c]), holders) for c in sorted(by_child)[::-1]]

    def _message(self, i: int, below: Clique, holders: dict[int, int]) -> tuple[Clique, np.ndarray]:
        """What clique ``i``'s subtree tells its parent about the attributes ``below`` (those
        whose holder lies in the subtree): P(``below`` | separator) over ``keep`` (the
        separator and ``below``), summed over everything else.

        It depends on ``i`` and ``below`` only (a wanted attribute in clique ``i`` with its
        holder higher up is in the separator, by running intersection), so it is memoised per
        model: AIM scores hundreds of candidate marginals per round, and those sharing a
        column share most of their messages. Post-processing of the model only.
        """
        key = ("message", i, below)
        if key in self._memo:
            return self._memo[key]
        tree = self.tree
        clique, sep = tree.cliques[i], tree.separator(i)
        messages = self._messages_into(i, below, holders)
        linked = {a for attrs_, _ in messages for a in attrs_}
        wanted = set(below)
        # sum out first what nothing else needs: keeps the products small
        need = tuple(a for a in clique if a in wanted or a in linked or a in sep)
        keep = tuple(sorted(set(sep) | ((set(clique) | linked) & wanted)))
        factors = [(need, self._reduced(i, need, False)), *messages]
        table = _product_sum(factors, keep)
        return self._remember(key, (keep, table), table)

    def _reduced(self, i: int, need: Clique, top: bool) -> np.ndarray:
        """Clique ``i``'s marginal (``top``) or conditional given its separator, summed down to
        the attributes ``need`` (memoised per model)."""
        key = ("reduced", i, need, top)
        if key in self._memo:
            return self._memo[key]
        full = self.marginals[i] if top else self._conditional(i)
        table = full.sum(axis=_other_axes(self.tree.cliques[i], need))
        return self._remember(key, table, table)

    def _conditional(self, i: int) -> np.ndarray:
        """P(clique i without its separator | separator), zero where the separator is
        (memoised per model)."""
        key = ("conditional", i)
        if key in self._memo:
            return self._memo[key]
        clique = self.tree.cliques[i]
        table = self.marginals[i]
        sep_mass = table.sum(axis=_other_axes(clique, self.tree.separator(i)), keepdims=True)
        conditional = np.divide(table, sep_mass, out=np.zeros_like(table), where=sep_mass > 0)
        return self._remember(key, conditional, conditional)

    def _remember(self, key: tuple[Any, ...], value: Any, table: np.ndarray) -> Any:
        """Memoise ``value`` (holding ``table``) unless the memo would then exceed
        :data:`MEMO_BYTES`: the messages of a large model can outgrow memory many times over,
        and the tables met first (conditionals, reductions, small messages) are the ones most
        shared."""
        if self._memo_bytes + table.nbytes <= MEMO_BYTES:
            self._memo[key] = value
            self._memo_bytes += table.nbytes
        return value

    def condition(self, allowed: dict[int, np.ndarray]) -> GraphicalModel:
        """The model conditioned on column ``j`` taking only the codes where ``allowed[j]``.

        Each indicator multiplies one clique holding its column; Hugin propagation (collect to
        the root, then distribute, in probability space with 0/0 = 0) recalibrates the clique
        marginals to the conditional distribution. ``total`` is kept.
        """
        tree, shape = self.tree, self.shape
        tables = [m.copy() for m in self.marginals]
        for column, mask in allowed.items():
            home = tree.containing((column,), shape)
            clique = tree.cliques[home]
            tables[home] = tables[home] * np.asarray(mask, float).reshape(
                _broadcast_shape((column,), clique, shape)
            )
        # separator tables, from the unconditioned marginals; Hugin updates them as it goes
        seps = {
            i: self.marginals[i].sum(axis=_other_axes(tree.cliques[i], tree.separator(i)))
            for i in range(1, len(tree.cliques))
        }

        def absorb(target: int, source: int, edge: int) -> None:
            sep = tree.separator(edge)
            new = tables[source].sum(axis=_other_axes(tree.cliques[source], sep))
            ratio = np.divide(new, seps[edge], out=np.zeros_like(new), where=seps[edge] > 0)
            tables[target] = tables[target] * ratio.reshape(
                _broadcast_shape(sep, tree.cliques[target], shape)
            )
            seps[edge] = new

        for i in reversed(seps):
            absorb(tree.parents[i], i, i)
        for i in seps:
            absorb(i, tree.parents[i], i)
        mass = [t.sum() for t in tables]
        if min(mass) <= 0:
            return self
        return GraphicalModel(
            shape, tree, [t / z for t, z in zip(tables, mass, strict=True)], self.total
        )

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` rows of codes drawn exactly from the model, shape ``(n, len(shape))``.

        Forward sampling along the tree: the root clique's cells are drawn from its marginal,
        then each clique's new attributes from their distribution given its separator, which
        the parent has already fixed (by the running-intersection property nothing else is
        relevant). One vectorised inverse-CDF lookup per clique.
        """
        out = np.zeros((n, len(self.shape)), dtype=np.int64, order="F")  # column writes
        for i, clique in enumerate(self.tree.cliques):
            sep = self.tree.separator(i)
            new = tuple(a for a in clique if a not in set(sep))
            if not new:
                continue
            order = [clique.index(a) for a in sep + new]
            sep_sizes = [self.shape[a] for a in sep]
            new_sizes = [self.shape[a] for a in new]
            table = np.transpose(self.marginals[i], order).reshape(
                math.prod(sep_sizes), math.prod(new_sizes)
            )
            rows = (
                np.ravel_multi_index(tuple(out[:, a] for a in sep), sep_sizes)
                if sep
                else np.zeros(n, dtype=np.int64)
            )
            drawn = sample_rows(table, rows, rng)
            for a, column in zip(new, np.unravel_index(drawn, new_sizes), strict=True):
                out[:, a] = column
        return out

    # -- persistence -----------------------------------------------------------------------
    def to_state(self, prefix: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = {
            "shape": list(self.shape),
            "cliques": [list(c) for c in self.tree.cliques],
            "parents": list(self.tree.parents),
            "total": float(self.total),
        }
        arrays = {f"{prefix}marginal_{i}": m for i, m in enumerate(self.marginals)}
        return state, arrays

    @classmethod
    def from_state(
        cls, state: dict[str, Any], arrays: dict[str, np.ndarray], prefix: str
    ) -> GraphicalModel:
        shape = tuple(int(s) for s in state["shape"])
        tree = JunctionTree(
            tuple(tuple(int(a) for a in c) for c in state["cliques"]),
            tuple(int(p) for p in state["parents"]),
        )
        marginals = []
        for i, clique in enumerate(tree.cliques):
            table = np.asarray(arrays[f"{prefix}marginal_{i}"], dtype=float)
            if table.shape != tuple(shape[a] for a in clique):
                raise ModelFileError(f"clique table {i} has shape {table.shape}, not {clique}")
            marginals.append(table)
        return cls(shape, tree, marginals, float(state["total"]))


def sample_rows(table: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each entry of ``rows``, a column index drawn with probabilities ∝ ``table[row]``.

    Inverse CDF, all draws at once. Narrow tables compare each uniform with its row's CDF
    (in chunks, to bound memory); wide ones lay the rows' CDFs end to end, row ``r`` shifted
    to ``[r, r + 1]``, so one ``searchsorted`` of ``r + u`` finds every draw. A row of zeros (a
    parent configuration the model gives no mass) falls back to uniform.
    """
    table = np.asarray(table, dtype=float)
    width = table.shape[1]
    mass = table.sum(axis=1, keepdims=True)
    probs = np.where(mass > 0, table / np.where(mass > 0, mass, 1.0), 1.0 / width)
    cdf = np.cumsum(probs, axis=1)
    cdf[:, -1] = 1.0
    u = rng.random(rows.shape[0])
    if width <= NARROW:
        out = np.empty(rows.shape[0], dtype=np.int64)
        for s in range(0, rows.shape[0], CHUNK):
            out[s : s + CHUNK] = (cdf[rows[s : s + CHUNK]] <= u[s : s + CHUNK, None]).sum(axis=1)
        return np.minimum(out, width - 1)
    flat = (cdf + np.arange(table.shape[0])[:, None]).ravel()
    found = np.searchsorted(flat, rows + u, side="right")
    return np.clip(found - rows * width, 0, width - 1)


# ---------------------------------------------------------------------------------------------
# estimation (Private-PGM)


class _Inference:
    """Sum-product message passing on a fixed junction tree, and the measured cliques'
    marginals from its clique marginals.

    Each estimate runs this hundreds of times, so it makes as few passes over the clique tables
    as it can (on diabetes130's late AIM models, 420 k cells, it was most of an estimate):

    - A potential nested in a larger measured clique is added to that clique's potential, and
      a measured marginal is summed from the smallest measured clique holding it, rather than
      each from its home in the tree (``source``): the 1-way potentials of 49 columns made 49
      passes over the large tables each way.
    - Upwards, each clique is exponentiated once (:func:`_exponentiated`); its message is the
      log of its sums per separator cell plus the shift. Downwards, its marginal is that table
      times the parent's separator marginal over those sums (its conditional given the
      separator), never a second exponentiation.
    - Sums over scattered axes go through :func:`_sum_out`.
    """

    def __init__(
        self, shape: tuple[int, ...], cliques: Sequence[Clique], tree: JunctionTree | None = None
    ):
        """Message passing for the potentials of ``cliques`` on ``tree``, which must hold
        them (default: the junction tree of their triangulation)."""
        self.shape = shape
        self.tree = JunctionTree.build(shape, cliques) if tree is None else tree
        tree = self.tree
        self.home = {c: tree.containing(c, shape) for c in cliques}
        # Largest first: each clique's source is the smallest table it can be summed from,
        # a larger measured clique (listed before it) or its home in the tree (None).
        cells = {c: math.prod(shape[a] for a in c) for c in [*cliques, *tree.cliques]}
        self.order = sorted(cliques, key=lambda c: (-cells[c], c))
        self.source: dict[Clique, Clique | None] = {}
        for k, clique in enumerate(self.order):
            holders = [o for o in self.order[:k] if set(clique) < set(o)]
            best = min(holders, key=lambda o: (cells[o], o), default=None)
            home_cells = cells[tree.cliques[self.home[clique]]]
            self.source[clique] = best if best and cells[best] < home_cells else None
        # each clique's table as it broadcasts into its holder (source or home), and the axes
        # of the holder summed out to give the clique's marginal
        self.spread: dict[Clique, tuple[int, ...]] = {}
        self.summed: dict[Clique, tuple[int, ...]] = {}
        for clique in cliques:
            source = self.source[clique]
            holder = tree.cliques[self.home[clique]] if source is None else source
            self.spread[clique] = _broadcast_shape(clique, holder, shape)
            self.summed[clique] = _other_axes(holder, clique)
        self.edges = []
        for i in range(1, len(tree.cliques)):
            sep, parent = tree.separator(i), tree.parents[i]
            child_c, parent_c = tree.cliques[i], tree.cliques[parent]
            self.edges.append(
                (
                    i,
                    parent,
                    _other_axes(child_c, sep),
                    _other_axes(parent_c, sep),
                    _broadcast_shape(sep, parent_c, shape),
                    _broadcast_shape(sep, child_c, shape),
                )
            )

    def marginals(self, potentials: dict[Clique, np.ndarray], total: float) -> list[np.ndarray]:
        """Clique marginals (summing to ``total``) of the model with these log-potentials, which
        must be on cliques given at construction."""
        if not potentials.keys() <= self.source.keys():
            raise KeyError(f"no place for potentials on {sorted(potentials.keys() - self.source)}")
        beliefs = [np.zeros(tuple(self.shape[a] for a in c)) for c in self.tree.cliques]
        lifted: dict[Clique, np.ndarray] = {}  # potentials passed on to a larger clique
        for clique in reversed(self.order):
            theta, below = potentials.get(clique), lifted.pop(clique, None)
            if theta is None and below is None:
                continue
            if theta is None:  # only nested potentials: spread them over this clique's axes
                table = np.broadcast_to(below, tuple(self.shape[a] for a in clique))
            else:
                table = theta if below is None else theta + below
            source, table = self.source[clique], table.reshape(self.spread[clique])
            if source is None:
                beliefs[self.home[clique]] += table
            else:
                lifted[source] = table if source not in lifted else lifted[source] + table
        sums: dict[int, np.ndarray] = {}
        for i, parent, child_axes, _, in_parent, in_child in reversed(self.edges):
            beliefs[i], shift, sums[i] = _exponentiated(beliefs[i], child_axes, in_child)
            beliefs[parent] += (np.log(sums[i]) + shift).reshape(in_parent)
        root = beliefs[0]
        np.exp(np.subtract(root, np.max(root), out=root), out=root)
        root *= total / root.sum()
        for i, parent, _, parent_axes, _, in_child in self.edges:
            beliefs[i] *= _sum_out(beliefs[parent], parent_axes).reshape(in_child) / sums[i]
        return beliefs

    def projections(
        self, marginals: list[np.ndarray], cliques: Sequence[Clique]
    ) -> dict[Clique, np.ndarray]:
        """The marginals of ``cliques`` (given at construction) from the clique marginals, and
        of the cliques they were summed from (a rule's clique is only summed when a measured
        one is taken from it)."""
        out: dict[Clique, np.ndarray] = {}

        def summed(clique: Clique) -> np.ndarray:
            if clique not in out:
                source = self.source[clique]
                table = marginals[self.home[clique]] if source is None else summed(source)
                out[clique] = _sum_out(table, self.summed[clique])
            return out[clique]

        for clique in cliques:
            summed(clique)
        return out


def _exponentiated(
    table: np.ndarray, axes: tuple[int, ...], kept: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray | float, np.ndarray]:
    """The exponential of log-beliefs ``table``, shifted so that no slice along ``axes``
    underflows, with the shift and the slices' sums (both broadcasting as ``kept``).

    One shift by the table's maximum is cheap (a per-slice maximum is a reduction over
    scattered axes). It is exact unless a slice's sum falls below :data:`UNDERFLOW`, where its
    cells would lose digits or vanish (impossible cells at the rules' -1e6 do); then each slice
    is shifted by its own maximum instead, so its largest cell is 1 and its sum at least 1.
    ``table`` may be overwritten."""
    top = float(np.max(table))
    exp = np.subtract(table, top)
    np.exp(exp, out=exp)
    sums = _sum_out(exp, axes).reshape(kept)
    if np.min(sums) >= UNDERFLOW:
        return exp, top, sums
    shift = np.max(table, axis=axes, keepdims=True)
    np.exp(np.subtract(table, shift, out=table), out=table)
    return table, shift, _sum_out(table, axes).reshape(kept)


def _lipschitz(shape: Sequence[int], measurements: Sequence[Measurement]) -> float:
    """Lipschitz constant of the gradient of the L2 loss in the marginals (mbi's bound: each
    measurement is routed to the largest measured clique containing it; exact for identity
    queries). It sets the first step size; the line search adapts it afterwards."""
    cliques = {m.clique for m in measurements}
    maximal = [c for c in cliques if not any(set(c) < set(o) for o in cliques)]
    blocks: dict[Clique, float] = {}
    for m in measurements:
        home = min(
            (c for c in maximal if set(m.clique) <= set(c)),
            key=lambda c: (math.prod(shape[a] for a in c), c),
        )
        ratio = math.prod(shape[a] for a in home) / math.prod(shape[a] for a in m.clique)
        index = m.cell_index(shape)
        if index is not None:  # a merged cell sums this many cells: ||Q^T Q|| of the merge
            ratio *= float(np.bincount(index).max())
        blocks[home] = blocks.get(home, 0.0) + float(np.max(1.0 / np.square(m.stddev))) * ratio
    return max(blocks.values())


def _estimate_tree(
    shape: Sequence[int], cliques: Sequence[Clique], warm_start: GraphicalModel | None
) -> JunctionTree:
    """The junction tree of the estimate: the triangulation of ``cliques``, or with a warm
    start its tree grown by them where that is smaller.

    AIM sized each candidate's growth against the current tree
    (:meth:`JunctionTree.local_growth`); from scratch, the greedy triangulation can cost far
    more (diabetes130 at ε = 1: a 151 k-cell tree plus one 3-way marginal became 3.6 M cells,
    and the fit took twice as long), or sometimes less. Taking the smaller keeps the model
    within the size the selection allowed."""
    maximal = triangulate(shape, cliques)
    if warm_start is not None:
        grown = triangulate(shape, [*warm_start.tree.cliques, *cliques])
        if clique_cells(shape, grown) < clique_cells(shape, maximal):
            maximal = grown
    return JunctionTree.spanning(maximal)


def estimate(
    shape: Sequence[int],
    measurements: Sequence[Measurement],
    *,
    iters: int,
    warm_start: GraphicalModel | None = None,
    total: float | None = None,
    progress: Callable[[int], None] | None = None,
    zeros: Sequence[StructuralZero] = (),
    until_converged: bool = False,
) -> GraphicalModel:
    """The graphical model whose marginals best fit the noisy measurements (Private-PGM).

    Minimises ``sum_m 0.5 * ||(mu_m - y_m) / sigma_m||^2`` over the marginals ``mu`` of
    distributions with ``total`` rows, by mirror descent on the log-potentials of the measured
    cliques (McKenna, Sheldon & Miklau 2019, Algorithm 1): the maximum-entropy solution, whose
    junction tree is the triangulation of the measured cliques (with ``warm_start``, or of its
    tree grown by them where that is smaller: :func:`_estimate_tree`). Steps start at ``2 / (L *
    total)`` and follow an Armijo search: grow by :data:`STEP_GROWTH` on sufficient decrease,
    else halve. ``warm_start`` reuses a previous model's log-potentials *and step size*: AIM
    re-estimates after each round, and restarting from the conservative first step left its
    round estimates 2 to 40 times above the loss reached with the step carried over, after
    100 iterations each (``benchmarks/marginal/results.md``).

    ``zeros`` are cells the declared rules make impossible (:mod:`tabsynth.rules.zeros`):
    their cliques join the junction tree with a fixed log-potential that is not optimised,
    so the estimate is the best fit among distributions with no mass there.

    ``until_converged`` stops before ``iters`` once the last :data:`STOP_WINDOW` iterations
    lowered the loss by less than ``sqrt(N / 2)``, N the measured cells. Why that scale: the
    loss is half the chi-square of the residuals, so at the true marginals it is about N / 2
    give or take ``sqrt(N / 2)`` from one draw of the noise to the next; a descent that gains
    less than that spread in a window is fitting what the measurements cannot tell apart.
    AIM's final estimate on diabetes130 (ε = 1) lowered its loss by 5 % in its last 900
    iterations (22 s) and its k-marginal moved by 0.1; on Adult at ε = 10 the loss still
    falls 2 % every 100 iterations at the end, and it runs them all
    (``benchmarks/results/aim_wide/README.md``). The stop reads the loss, a function of the
    noisy measurements only: post-processing.
    """
    shape = tuple(int(s) for s in shape)
    total = estimate_total(measurements) if total is None else total
    cliques = sorted({m.clique for m in measurements})
    structure = sorted({*cliques, *(z.clique for z in zeros)})
    inference = _Inference(shape, structure, _estimate_tree(shape, structure, warm_start))
    fixed: dict[Clique, np.ndarray] = {}
    for z in zeros:
        fixed[z.clique] = fixed.get(z.clique, 0.0) + z.log_mask()

    def marginals(potentials: dict[Clique, np.ndarray]) -> list[np.ndarray]:
        merged = dict(potentials)
        for clique, mask in fixed.items():
            merged[clique] = merged[clique] + mask if clique in merged else mask
        return inference.marginals(merged, total)

    previous = warm_start.potentials if warm_start is not None else {}
    theta = {
        c: previous.get(c, np.zeros(tuple(shape[a] for a in c))).astype(float) for c in cliques
    }
    groups: dict[Clique, list[tuple[Measurement, np.ndarray | None]]] = {c: [] for c in cliques}
    for m in measurements:
        groups[m.clique].append((m, m.cell_index(shape)))

    Gradients = dict[Clique, np.ndarray]

    def loss_and_gradient(mu: list[np.ndarray]) -> tuple[float, Gradients, Gradients]:
        """The loss, its gradient in the potentials, and the measured cliques' marginals
        (kept for the Armijo test, which would otherwise project every clique twice more)."""
        loss, grad, projections = 0.0, {}, {}
        marginals = inference.projections(mu, cliques)
        for clique, group in groups.items():
            projected = marginals[clique].ravel()
            g = np.zeros_like(projected)
            for m, index in group:
                fitted = (
                    projected
                    if index is None
                    else np.bincount(index, weights=projected, minlength=m.values.size)
                )
                scaled = (fitted - m.values) / m.stddev
                loss += 0.5 * float(scaled @ scaled)
                g += scaled / m.stddev if index is None else (scaled / m.stddev)[index]
            grad[clique], projections[clique] = g.reshape(theta[clique].shape), projected
        return loss, grad, projections

    def change(g: Gradients, before: Gradients, after: Gradients) -> float:
        return sum(float(np.vdot(g[c], before[c] - after[c])) for c in cliques)

    carried = warm_start.step if warm_start is not None else None
    step = carried or 2.0 / (_lipschitz(shape, measurements) * total)
    mu = marginals(theta)
    loss, grad, projected = loss_and_gradient(mu)
    window: deque[float] = deque([loss], maxlen=STOP_WINDOW + 1)  # the latest losses
    spread = math.sqrt(sum(m.values.size for m in measurements) / 2)
    done = 0
    while done < iters:
        candidate = {c: theta[c] - step * grad[c] for c in cliques}
        mu2 = marginals(candidate)
        loss2, grad2, projected2 = loss_and_gradient(mu2)
        if loss - loss2 >= 0.5 * step * change(grad, projected, projected2):
            theta, mu, loss, grad, projected = candidate, mu2, loss2, grad2, projected2
            step *= STEP_GROWTH
        else:
            step *= 0.5
        done += 1
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
        if until_converged:
            window.append(loss)
            if len(window) > STOP_WINDOW and window[0] - loss < spread:
                break
    reported = done - done % PROGRESS_EVERY
    if progress is not None and iters > reported:
        progress(iters - reported)  # the last part step, and what a converged estimate skipped
    return GraphicalModel(
        shape, inference.tree, [m / total for m in mu], float(total), theta, step, done
    )


def unused_codes(
    encoder: DomainEncoder, one_way: Sequence[Measurement], sigmas: float = SUPPORT_SIGMAS
) -> list[np.ndarray]:
    """Per column, the codes the encoder added in case the data use them ("missing", "other")
    whose noisy 1-way count is below ``sigmas`` standard deviations: noise, not data.

    A domain that was not declared public makes every column nullable and every estimated
    categorical column open to "other"; without this, the estimate would give those codes the
    mass of their noise, and the output would have missing values or ``<other>`` labels the
    table never had. A column keeps at least one code. Post-processing: costs nothing.
    """
    out = []
    for codec, m in zip(encoder.codecs.values(), one_way, strict=True):
        structural = np.zeros(codec.size, dtype=bool)
        if codec.nullable:
            structural[codec.size - 1] = True  # every codec puts "missing" last
        other = getattr(codec, "other_code", None)
        if other is not None:
            structural[other] = True
        unused = structural & (m.values < sigmas * np.asarray(m.stddev))
        out.append(unused if not unused.all() else np.zeros_like(unused))
    return out


# ---------------------------------------------------------------------------------------------
# the synthesizer base


class MarginalSynthesizer(DPSynthesizer):
    """DP synthesizer whose model is a :class:`GraphicalModel` over the encoder's codes, kept
    as ``model_``. Subclasses implement ``_fit_codes``; they may extend sampling and state.
    After a fit, ``released_`` holds every Gaussian measurement as a :class:`Released`, for
    white-box audits (:mod:`tabsynth.evaluation.audit_worstcase`); it is not saved."""

    def _sample_codes(
        self, n: int, rng: np.random.Generator, model: GraphicalModel | None = None
    ) -> np.ndarray:
        return (model or self.model_).sample(n, rng)

    def _model_mask(self, column: int, code: int) -> np.ndarray:
        """The model's codes of ``column`` that decode to ``code`` (MST's are compressed)."""
        return np.arange(self.model_.shape[column]) == code

    def _sample_given(
        self, n: int, conditions: dict[str, Any], rng: np.random.Generator
    ) -> pd.DataFrame:
        """Exact conditional sampling: forward sampling from the model conditioned on the
        given codes (Hugin propagation), no rejection. A numeric value fixes its bin in the
        model and is then written exactly (inside a bin, values are uniform and independent
        of the other columns, so that is the decoder's conditional too)."""
        model, codes, values = self._conditioned(conditions)
        drawn = self._sample_codes(n, rng, model)
        for j, code in codes.items():
            drawn[:, j] = code
        frame = self.encoder_.decode(drawn, rng)
        for name, value in values.items():
            if self.encoder_.metadata[name].kind in ("numerical", "datetime"):
                frame[name] = pd.Series([value] * n, dtype=object)
        return frame

    def _can_condition(self, conditions: dict[str, Any]) -> bool:
        return self._condition_probability(self._condition_masks(conditions)[0]) > 0

    def _conditioned(
        self, conditions: dict[str, Any]
    ) -> tuple[GraphicalModel, dict[int, int], dict[str, Any]]:
        """The model conditioned on ``conditions``, their codes and their typed values; a
        :class:`ParameterError` when the released model gives them no probability."""
        allowed, codes, values = self._condition_masks(conditions)
        if self._condition_probability(allowed) <= 0:
            given = ", ".join(f"{k} = {v!r}" for k, v in conditions.items())
            raise ParameterError(
                f"cannot condition on {given}: the model gives it no probability (the data "
                "never showed it, or, for a DP model, its noisy count was too small to tell "
                "from noise). Condition on values the model can produce"
            )
        return self.model_.condition(allowed), codes, values

    def _condition_masks(
        self, conditions: dict[str, Any]
    ) -> tuple[dict[int, np.ndarray], dict[int, int], dict[str, Any]]:
        columns = self.encoder_.columns
        allowed, codes, values = {}, {}, {}
        for name, value in conditions.items():
            code, values[name] = encode_value(self.encoder_, name, value)
            j = columns.index(name)
            allowed[j], codes[j] = self._model_mask(j, code), code
        return allowed, codes, values

    def _condition_probability(self, allowed: dict[int, np.ndarray]) -> float:
        """P(every column j takes a code where ``allowed[j]``) under the model."""
        attrs = tuple(sorted(allowed))
        table = self.model_.project(attrs)
        for axis, j in enumerate(attrs):
            shape = [1] * len(attrs)
            shape[axis] = -1
            table = table * np.asarray(allowed[j], float).reshape(shape)
        return float(table.sum() / max(self.model_.total, 1e-300))

    def _get_model_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return self.model_.to_state("model_")

    def _set_model_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.model_ = GraphicalModel.from_state(state, arrays, "model_")
