"""Inference on the Private-PGM model as AIM uses it: many marginals projected from one model
(memoised messages), checked against the joint distribution built independently of
:meth:`GraphicalModel.project`."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from tabsynth.rules.zeros import IMPOSSIBLE
from tabsynth.synthesizers import marginal
from tabsynth.synthesizers.marginal import GraphicalModel, Measurement, _Inference, estimate


def random_model(seed: int, d: int = 8) -> GraphicalModel:
    """A model on random overlapping cliques (a bushy junction tree, some disconnected
    columns), estimated a few steps from random measurements: no structure AIM would avoid."""
    rng = np.random.default_rng(seed)
    shape = rng.integers(2, 4, d).tolist()
    cliques = {tuple(sorted(rng.choice(d - 1, 3, replace=False).tolist())) for _ in range(4)}
    measurements = [
        Measurement(c, rng.random(math.prod(shape[a] for a in c)) * 100, 5.0) for c in cliques
    ]
    return estimate(shape, measurements, iters=30)


def independent_joint(model: GraphicalModel) -> np.ndarray:
    """The joint counts from the clique marginals alone: the product of the clique tables over
    the product of the separator tables (0 / 0 = 0), plus uniform columns no clique holds."""
    shape, tree = model.shape, model.tree
    joint = np.ones(shape)
    for i, clique in enumerate(tree.cliques):
        table = model.marginals[i]
        sep = tree.separator(i)
        if sep:
            mass = table.sum(
                axis=tuple(k for k, a in enumerate(clique) if a not in sep), keepdims=True
            )
            table = np.divide(table, mass, out=np.zeros_like(table), where=mass > 0)
        joint = joint * table.reshape([shape[a] if a in clique else 1 for a in range(len(shape))])
    return model.total * joint / joint.sum()


def joint_of_potentials(shape: list[int], potentials: dict, total: float) -> np.ndarray:
    """The joint counts ``exp(sum of log-potentials)``, built cell by cell."""
    d = len(shape)
    log_joint = np.zeros(shape)
    for clique, theta in potentials.items():
        log_joint = log_joint + theta.reshape([shape[a] if a in clique else 1 for a in range(d)])
    joint = np.exp(log_joint - log_joint.max())
    return joint * (total / joint.sum())


def clique_sums(joint: np.ndarray, cliques) -> list[np.ndarray]:
    d = joint.ndim
    return [joint.sum(axis=tuple(a for a in range(d) if a not in c)) for c in cliques]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_marginal_matches_the_joint_in_any_order(seed: int) -> None:
    """Projections share memoised messages across calls; whatever was asked before, each
    equals the joint's marginal, and a fresh model asked in the reverse order agrees exactly."""
    model = random_model(seed)
    joint = independent_joint(model)
    d = len(model.shape)
    sets = [s for k in (1, 2, 3) for s in itertools.combinations(range(d), k)]
    spanning = [s for s in sets if model.tree.containing(s, model.shape) is None]
    assert len(spanning) > 10  # most go through the sum-product, not one clique's table
    forward = {s: model.project(s) for s in sets}
    fresh = random_model(seed)
    backward = {s: fresh.project(s) for s in reversed(sets)}
    for s in sets:
        others = tuple(a for a in range(d) if a not in s)
        assert np.allclose(forward[s], joint.sum(axis=others), rtol=1e-9, atol=1e-9)
        assert np.array_equal(forward[s], backward[s])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_message_passing_gives_the_marginals_of_the_potentials(seed: int) -> None:
    """The clique marginals the estimator computes equal those of the brute-force joint
    ``exp(sum of log-potentials)``, including with potentials so large that most cells carry
    probabilities far below the largest one (the downward pass exponentiates each clique once,
    shifted by its largest log-belief)."""
    model = random_model(seed)
    rng = np.random.default_rng(seed)
    for scale in (1.0, 300.0):
        potentials = {c: rng.normal(0, scale, t.shape) for c, t in model.potentials.items()}
        inference = _Inference(model.shape, sorted(potentials))
        joint = joint_of_potentials(list(model.shape), potentials, 1000.0)
        for table, want in zip(
            inference.marginals(potentials, 1000.0),
            clique_sums(joint, inference.tree.cliques),
            strict=True,
        ):
            assert np.allclose(table, want, rtol=1e-8, atol=1e-10)


def test_a_full_memo_changes_no_projection(monkeypatch: pytest.MonkeyPatch) -> None:
    """The memo stops growing at MEMO_BYTES; projections past that point are computed afresh
    and equal those of an unbounded memo."""
    unbounded = random_model(0)
    sets = [s for k in (2, 3) for s in itertools.combinations(range(len(unbounded.shape)), k)]
    expected = [unbounded.project(s) for s in sets]
    monkeypatch.setattr(marginal, "MEMO_BYTES", 2_000)
    bounded = random_model(0)
    for s, want in zip(sets, expected, strict=True):
        assert np.array_equal(bounded.project(s), want)
    assert 0 < bounded._memo_bytes <= 2_000 < unbounded._memo_bytes


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_contraction_gives_what_the_messages_give(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a message would exceed MESSAGE_CELLS, a marginal across cliques is summed in one
    contraction instead; both orders give the joint's marginal."""
    passed = random_model(seed)
    joint = independent_joint(passed)
    d = len(passed.shape)
    sets = [
        s
        for k in (2, 3)
        for s in itertools.combinations(range(d), k)
        if passed.tree.containing(s, passed.shape) is None
    ]
    assert len(sets) > 10
    expected = {s: passed.project(s) for s in sets}
    assert any(key[0] == "message" for key in passed._memo)  # small: messages passed
    monkeypatch.setattr(marginal, "MESSAGE_CELLS", 0)
    contracted = random_model(seed)
    for s in sets:
        others = tuple(a for a in range(d) if a not in s)
        got = contracted.project(s)
        assert np.allclose(got, expected[s], rtol=1e-10, atol=1e-10)
        assert np.allclose(got, joint.sum(axis=others), rtol=1e-9, atol=1e-9)
    assert not any(key[0] == "message" for key in contracted._memo)


# (0, 1, 2), (0, 2, 3) and (1, 3) make {0, 1, 2, 3} one clique of the tree: (0, 1) is then
# summed from (0, 1, 2), and (1,) from (0, 1) or (1, 3).
NESTED = [(0, 1, 2), (0, 2, 3), (1, 3), (0, 1), (1,), (2,), (3, 4), (4,), (5,), (0, 5)]


@pytest.mark.parametrize("seed", range(6))
def test_sums_over_scattered_axes_are_numpys(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """``_sum_out`` merges adjacent axes and sums one run at a time (on every table here:
    small ones would otherwise go to NumPy); on any axes of any table (size-1 axes, no axes,
    all axes) it gives NumPy's sums, shaped as NumPy shapes them."""
    monkeypatch.setattr(marginal, "NUMPY_SUM_CELLS", 0)
    rng = np.random.default_rng(seed)
    for _ in range(100):
        shape = tuple(int(n) for n in rng.integers(1, 5, rng.integers(0, 7)))
        table = rng.random(shape)
        if rng.random() < 0.2:  # not C-contiguous
            table = np.asfortranarray(table)
        axes = tuple(a for a in range(len(shape)) if rng.random() < 0.5)
        want = table.sum(axis=axes)
        got = marginal._sum_out(table, axes)
        assert got.shape == want.shape
        assert np.allclose(got, want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nested_potentials_and_measured_marginals(seed: int) -> None:
    """Potentials of cliques nested in other measured cliques are added to the smallest of
    them, and those marginals summed from it (``source``); the clique marginals are still the
    joint's, and so is every measured clique's marginal."""
    rng = np.random.default_rng(seed)
    shape = rng.integers(2, 5, 6).tolist()
    potentials = {c: rng.normal(0, 1, tuple(shape[a] for a in c)) for c in NESTED}
    inference = _Inference(tuple(shape), sorted(potentials))
    assert (0, 1, 2, 3) in inference.tree.cliques
    assert inference.source[(0, 1)] == (0, 1, 2)
    assert inference.source[(1,)] in {(0, 1), (1, 3)}
    joint = joint_of_potentials(shape, potentials, 500.0)
    mu = inference.marginals(potentials, 500.0)
    for table, want in zip(mu, clique_sums(joint, inference.tree.cliques), strict=True):
        assert np.allclose(table, want, rtol=1e-9, atol=1e-12)
    measured = inference.projections(mu, NESTED)
    for clique, want in zip(NESTED, clique_sums(joint, NESTED), strict=True):
        assert np.allclose(measured[clique], want, rtol=1e-9, atol=1e-12)
    # only what is asked for, and what it is summed from
    assert set(inference.projections(mu, [(0, 1)])) == {(0, 1), (0, 1, 2)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cliques_without_a_potential(seed: int) -> None:
    """A clique of the structure may have no potential of its own (estimate gives every one
    a potential, a rule's mask or both, but nothing requires it): the potentials nested in it
    are spread over its axes, and the marginals are still the joint's."""
    rng = np.random.default_rng(seed)
    shape = rng.integers(2, 5, 6).tolist()
    potentials = {c: rng.normal(0, 1, tuple(shape[a] for a in c)) for c in NESTED}
    del potentials[(0, 1)], potentials[(0, 1, 2)]
    inference = _Inference(tuple(shape), NESTED)
    joint = joint_of_potentials(shape, potentials, 500.0)
    mu = inference.marginals(potentials, 500.0)
    for table, want in zip(mu, clique_sums(joint, inference.tree.cliques), strict=True):
        assert np.allclose(table, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("underflow", [0.0, np.inf])
def test_one_shift_and_a_shift_per_slice_agree(
    underflow: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upwards a clique is exponentiated after one shift by its maximum, or, where a slice
    would underflow, after a shift per separator slice (``UNDERFLOW`` at 0 forces the first,
    at infinity the second). On potentials that underflow nowhere both give the joint's
    marginals."""
    monkeypatch.setattr(marginal, "UNDERFLOW", underflow)
    rng = np.random.default_rng(7)
    shape = rng.integers(2, 5, 6).tolist()
    potentials = {c: rng.normal(0, 2, tuple(shape[a] for a in c)) for c in NESTED}
    inference = _Inference(tuple(shape), sorted(potentials))
    joint = joint_of_potentials(shape, potentials, 500.0)
    mu = inference.marginals(potentials, 500.0)
    for table, want in zip(mu, clique_sums(joint, inference.tree.cliques), strict=True):
        assert np.allclose(table, want, rtol=1e-9, atol=1e-12)


def test_impossible_slices_take_a_shift_of_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """A code made impossible by a rule (log-potential -1e6) can empty a whole slice of a
    clique. After one shift by the clique's maximum that slice sums to 0 (the downward pass
    would divide 0 by 0); the check on :data:`UNDERFLOW` shifts each slice by its own maximum
    instead, and the message is the exact log-sum-exp of every slice."""
    table = np.random.default_rng(3).normal(0, 1, (3, 4))
    table[0] = IMPOSSIBLE + table[0]
    want = np.log(np.exp(table - table.max(axis=1, keepdims=True)).sum(axis=1))
    want += table.max(axis=1)
    _, shift, sums = marginal._exponentiated(table.copy(), (1,), (3, 1))
    assert np.min(sums) >= 1.0
    assert np.allclose((np.log(sums) + shift).ravel(), want, rtol=1e-12)
    monkeypatch.setattr(marginal, "UNDERFLOW", 0.0)
    _, _, unchecked = marginal._exponentiated(table.copy(), (1,), (3, 1))
    assert unchecked[0, 0] == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_an_impossible_code_gets_no_mass(seed: int) -> None:
    """With a code barred by a rule's log-potential on a column that separates cliques, the
    clique marginals are still the joint's, and hold nothing on that code."""
    rng = np.random.default_rng(seed)
    shape = rng.integers(2, 5, 6).tolist()
    potentials = {c: rng.normal(0, 1, tuple(shape[a] for a in c)) for c in NESTED}
    tree = _Inference(tuple(shape), NESTED).tree
    column = min(a for i in range(1, len(tree.cliques)) for a in tree.separator(i))
    potentials[(column,)] = potentials.get((column,), 0.0) + np.where(
        np.arange(shape[column]) == 0, IMPOSSIBLE, 0.0
    )
    inference = _Inference(tuple(shape), sorted(potentials))
    joint = joint_of_potentials(shape, potentials, 500.0)
    mu = inference.marginals(potentials, 500.0)
    for clique, table, want in zip(
        inference.tree.cliques, mu, clique_sums(joint, inference.tree.cliques), strict=True
    ):
        assert np.allclose(table, want, rtol=1e-9, atol=1e-12)
        if column in clique:
            assert np.all(np.take(table, 0, axis=clique.index(column)) == 0.0)
