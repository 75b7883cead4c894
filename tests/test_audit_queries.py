"""The query-based membership score of the realistic audit."""

from __future__ import annotations

import numpy as np

from tabsynth.evaluation.attacks.queries import MAX_TRIPLES, QueryScore, _log_frequencies


def coded(rng: np.random.Generator, n: int) -> np.ndarray:
    """Two categorical codes (0-3) and one number per row."""
    return np.column_stack([rng.integers(0, 4, n), rng.integers(0, 4, n), rng.normal(size=n)])


def test_more_copies_of_the_target_combination_score_higher() -> None:
    rng = np.random.default_rng(0)
    background = coded(rng, 500)
    queries = QueryScore(background, (False, False, True))
    target = np.array([[3.0, 3.0, 2.5]])
    synthetic = coded(rng, 400)
    synthetic = synthetic[~((synthetic[:, 0] == 3) & (synthetic[:, 1] == 3))]
    scores = []
    for copies in (0, 1, 5):
        rows = np.vstack([synthetic, np.repeat(target, copies, axis=0)])
        scores.append(queries.score(target, rows))
    assert scores[0] < scores[1] < scores[2]


def test_missing_values_are_a_value_of_their_own() -> None:
    background = np.array([[0.0, 1.0], [1.0, np.nan], [0.0, 2.0], [1.0, 3.0]])
    queries = QueryScore(background, (False, True))
    codes = queries.codes(np.array([[np.nan, np.nan], [1.0, 2.5]]))
    assert codes[0].tolist() == [-1, -1] and codes[1, 0] == 1 and codes[1, 1] >= 0


def test_queries_are_fixed_and_capped() -> None:
    background = np.random.default_rng(1).integers(0, 3, (50, 20)).astype(float)
    one = QueryScore(background, (False,) * 20)
    two = QueryScore(background[::-1], (False,) * 20)
    assert one.queries == two.queries  # chosen from the column count only, never the rows
    assert len(one.queries) == 20 + 190 + MAX_TRIPLES


def test_focused_queries_follow_the_dependent_pairs() -> None:
    """Column 1 copies column 0, column 2 copies it 70 % of the time, column 3 is noise: the
    d - 1 = 3 most dependent pairs are (0, 1), (0, 2), (1, 2), so the focused score is the
    log-frequency sum over the 1-way queries and those pairs, and a pair with the noise column
    (the one the extra rows share with the target) moves only the full score."""
    rng = np.random.default_rng(2)
    a = rng.integers(0, 4, 400)
    c = np.where(rng.random(400) < 0.7, a, rng.integers(0, 4, 400))
    synthetic = np.column_stack([a, a, c, rng.integers(0, 4, 400)]).astype(float)
    queries = QueryScore(synthetic, (False,) * 4)
    target = np.array([[0.0, 1.0, 2.0, 3.0]])
    rows = np.vstack([synthetic, np.array([[0.0, 3.0, 3.0, 3.0]] * 40)])
    kept = [(0,), (1,), (2,), (3,), (0, 1), (0, 2), (1, 2)]
    for table in (synthetic, rows):
        expected = _log_frequencies(queries.codes(target)[0], queries.codes(table), kept)
        assert np.isclose(queries.focused(target, table), expected)
    full = queries.score(target, rows) - queries.score(target, synthetic)
    focused = queries.focused(target, rows) - queries.focused(target, synthetic)
    assert full > focused  # (0, 3) and the triples with it rose; the focused sum skips them


def test_trials_coded_once_score_as_trials_coded_with_the_background() -> None:
    """The audit codes its background and targets once and each trial's synthetic rows
    against them; every score equals coding background, target and synthetic rows together
    for each trial, as the audit did before. The tables hold categories that only a target,
    only another target, or only the synthetic rows have, booleans in other spellings,
    missing values and numbers."""
    import pandas as pd

    from tabsynth.evaluation.attacks.encoding import nearest
    from tabsynth.evaluation.attacks.table import Vocabulary, code_tables
    from tabsynth.evaluation.audit import _Game
    from tabsynth.metadata import ColumnSpec, Metadata

    rng = np.random.default_rng(3)
    n = 200
    metadata = Metadata(
        {
            "city": ColumnSpec("categorical"),
            "flag": ColumnSpec("boolean"),
            "x": ColumnSpec("numerical", dtype="float"),
        },
        public=True,
    )
    background = pd.DataFrame(
        {
            "city": rng.choice(["a", "b", "c", None], n),
            "flag": rng.choice([True, False], n),
            "x": rng.normal(size=n),
        }
    )
    targets = pd.DataFrame(
        {"city": ["rare", "b", "other"], "flag": [True, False, True], "x": [9.0, np.nan, 0.1]}
    )
    game = _Game(metadata, ["city", "flag", "x"], background, targets, 0.95)
    samples = [
        pd.DataFrame(
            {
                "city": rng.choice(["a", "b", "rare", "other", "new", None], 80),
                "flag": rng.choice(["true", "0", True, 1.0], 80),
                "x": rng.normal(size=80),
            }
        )
        for _ in range(4)
    ]
    for t in range(len(targets)):
        for world, sample in enumerate(samples[:2] if t % 2 else samples[2:]):
            game.record(t, world % 2, sample)
            _, target, synth = code_tables(
                metadata, game.columns, [background, targets.iloc[[t]], sample]
            )
            dist, _ = nearest(game.encoder.transform(target), game.encoder.transform(synth), 80)
            r = game.radius[t]
            near = float(np.sum(dist[0] < r) if r > 0 else np.sum(dist[0] == 0.0))
            expected = (-float(dist[0, 0]), near, *game.queries.scores(target.values, synth.values))
            assert game.scores[t][world % 2][-1] == expected
    (_, coded_targets), vocabulary = Vocabulary.of(metadata, game.columns, [background, targets])
    new = vocabulary.code(pd.DataFrame({"city": ["new", "rare"], "flag": [1, 0], "x": [1, 2]}))
    assert new.values[1, 0] == coded_targets.values[0, 0]  # "rare": the target's code
    assert new.values[0, 0] not in set(vocabulary.labels["city"].get_indexer(["a", "b", "c"]))
