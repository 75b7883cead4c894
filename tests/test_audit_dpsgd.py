"""The worst-case white-box audit of DP-SGD: its statistic is what the theory says, watching
changes nothing, an honest fit passes and a planted leak fails.

The leak is a test double of the DP autoregressive synthesizer that charges the ledger for σ
but has opacus draw a hundredth of that noise (a noise multiplier near 0), through opacus'
``_adjusted_noise_multiplier``, which its accountant does not see: never product code.

Fits use the worst-case schedule (:data:`WORST_CASE_PARAMS`: 4 full-batch steps) and seeded
DP noise with a distinct seed per fit, so every outcome is reproducible; the production
audit refuses seeded noise.
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from dataclasses import replace
from unittest import mock

import numpy as np
import pytest
import torch

from tabsynth.cli import main
from tabsynth.errors import ParameterError
from tabsynth.evaluation.audit_dpsgd import WORST_CASE_PARAMS, GradientCanary, white_box_for
from tabsynth.evaluation.audit_worstcase import crafted_neighbours, worst_case_audit
from tabsynth.metadata import Metadata
from tabsynth.synthesizers.autoregressive import AutoregressiveSynthesizer, dp
from tabsynth.synthesizers.mst import MSTSynthesizer

DELTA = 1e-6


class QuietDPSGD(AutoregressiveSynthesizer):
    """BROKEN ON PURPOSE: opacus adds 1 % of the noise the ledger was charged for."""

    name = ""  # not registered

    def _fit_codes(self, codes, encoder, ledger, noise):
        honest = dp.make_private

        def make_private(net, codes, config, plan, noise, expected_batch):
            out = honest(net, codes, config, plan, noise, expected_batch)
            out[2]._adjusted_noise_multiplier = plan.noise_multiplier / 100
            return out

        with mock.patch.object(dp, "make_private", make_private):
            super()._fit_codes(codes, encoder, ledger, noise)


def seeded(epsilon, cls=AutoregressiveSynthesizer):
    """A factory giving every fit its own noise seed: independent, reproducible trials."""
    seeds = itertools.count(1000)
    return lambda: cls(epsilon, DELTA, seed=0, noise_seed=next(seeds), **WORST_CASE_PARAMS)


def fit(synth, inside, watcher=None, rng_seed=0, game=None, watched=None):
    """Fit ``synth`` on the game's IN or OUT table, under ``watcher`` if given (told it
    watches ``watched``, by default ``synth``)."""
    game = game or crafted_neighbours()
    table = game.table(inside, np.random.default_rng(rng_seed))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*noise_seed")
        if watcher is None:
            return synth.fit(table, game.metadata), None
        with watcher.watch(watched or synth) as steps:
            synth.fit(table, game.metadata)
    return synth, watcher.scores(synth, steps)


def canary(epsilon):
    game = crafted_neighbours()
    probe, _ = fit(seeded(epsilon)(), inside=False)
    watcher = white_box_for(probe, game)
    assert isinstance(watcher, GradientCanary)
    return watcher, probe


def test_statistic_is_standard_normal_out_and_shifted_by_mu_in():
    """At ε = 20 the four full-batch steps have μ = sqrt(4)/σ ≈ 3. OUT, the statistic is a
    sum of the noise on the target's direction: N(0, 1); IN it is N(μ, 1). With 20 fits per
    world the means have standard error 0.22: 4 standard errors of tolerance (reproducible
    with the seeded noise). A wrong batch divisor or background term would shift OUT by
    several units; a wrong σ would move both spread and shift."""
    watcher, probe = canary(20.0)
    mu = watcher.mu_release(probe)
    assert mu == pytest.approx(2 / probe.history_["noise_multiplier"])
    factory = seeded(20.0)
    scores = {
        w: [fit(factory(), bool(w), watcher, i)[1]["gradient"] for i in range(20)] for w in (0, 1)
    }
    out, inside = np.array(scores[0]), np.array(scores[1])
    assert 2.0 < mu < 5.0
    assert abs(out.mean()) < 4 * math.sqrt(1 / 20)
    assert 0.6 < out.std() < 1.5
    assert abs(inside.mean() - out.mean() - mu) < 4 * math.sqrt(2 / 20)


def test_watching_changes_nothing():
    """The hook only reads: same seeds and noise, same weights with and without it."""
    watcher, _ = canary(3.0)
    make = lambda: AutoregressiveSynthesizer(  # noqa: E731
        3.0, DELTA, seed=0, noise_seed=7, **WORST_CASE_PARAMS
    )
    plain, _ = fit(make(), inside=True)
    watched, scores = fit(make(), inside=True, watcher=watcher)
    for a, b in zip(plain.net_.parameters(), watched.net_.parameters(), strict=True):
        assert torch.equal(a, b)
    assert set(scores) == {"gradient", "likelihood"}


def test_other_synthesizers_get_no_gradient_attack():
    game = crafted_neighbours()
    mst = MSTSynthesizer(1.0, DELTA, max_iters=1).fit(game.background, game.metadata)
    assert white_box_for(mst, game) is None
    non_private = AutoregressiveSynthesizer(epochs=1, progress=False, seed=0)
    assert white_box_for(non_private.fit(game.background, game.metadata), game) is None


def test_subsampled_schedule_is_noted_and_still_scored():
    """q = 1/3 (batches of 2 of 5 public rows): the audit says it is weaker, and scores."""
    params = {**WORST_CASE_PARAMS, "batch_size": 2, "epochs": 1}
    make = lambda: AutoregressiveSynthesizer(3.0, DELTA, seed=0, noise_seed=5, **params)  # noqa: E731
    probe, _ = fit(make(), inside=False)
    watcher = white_box_for(probe, crafted_neighbours())
    assert any("rate q = 0.333" in note for note in watcher.notes)
    assert watcher.mu_release(probe) is None  # no closed form under subsampling
    _, scores = fit(make(), inside=True, watcher=watcher)
    assert math.isfinite(scores["gradient"])


def run(factory, trials):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*noise_seed")
        return worst_case_audit(
            factory, trials, workers=1, progress=False, seeded_noise_ok=True, n_synthetic=0
        )


def test_honest_dpsgd_passes_below_its_claim():
    """ε = 3: μ of the release 0.60 (GDP ε 2.75 < 3); 20 trials could certify ε ≈ 11."""
    result = run(seeded(3.0), 20)
    assert result.verdict == "passed", result.summary()
    assert result.attack == "gradient" and "likelihood" in result.attacks
    assert result.empirical_epsilon_lower <= 3.0
    assert result.mu_release == pytest.approx(0.598, abs=0.01)


def test_noise_near_zero_fails():
    """ε = 1 claims μ ≈ 0.2 for the whole run; 1 % of the noise makes μ ≈ 20: IN and OUT
    scores separate perfectly, and the 10 counted trials of 20 certify ε far above 1."""
    result = run(seeded(1.0, QuietDPSGD), 20)
    assert result.verdict == "failed", result.summary()
    assert result.empirical_epsilon_lower > 1.0


def test_cli_worst_case_autoregressive_uses_the_worst_case_schedule(tmp_path):
    out, js = tmp_path / "audit.html", tmp_path / "audit.json"
    args = ["audit", "--mode", "worst-case", "-s", "autoregressive", "--epsilon", "3"]
    args += ["--delta", "1e-6", "--trials", "12", "--workers", "1"]
    assert main([*args, "-o", str(out), "--json", str(js)]) == 0
    data = json.loads(js.read_text())
    assert data["attack"] == "gradient" and data["verdict"] in ("passed", "inconclusive")
    assert data["mu_release"] == pytest.approx(0.598, abs=0.01)  # full batches: q = 1


WIDE = ("x", "t", *(f"c{i:03d}" for i in range(198)))


def wide_game():
    """The crafted pair with 200 declared categories for ``a``: a DP fit merges the codes its
    noisy 1-way counts leave below 3σ (autoregressive.compression), so fits with different
    noise train networks of different shapes (noise seeds 1001 and 1005: 1 and 3 codes)."""
    game = crafted_neighbours()
    spec = game.metadata.columns["a"]
    metadata = Metadata({**game.metadata.columns, "a": replace(spec, categories=WIDE)}, public=True)
    return replace(game, metadata=metadata)


def wide(noise_seed):
    return AutoregressiveSynthesizer(3.0, DELTA, seed=0, noise_seed=noise_seed, **WORST_CASE_PARAMS)


def test_fits_with_other_compressions_are_scored_on_their_own_network():
    """A canary built from a probe whose network merged ``a`` into 1 code watches a fit whose
    network kept 3: it scores exactly what a canary built from that fit's twin does."""
    game = wide_game()
    probe, _ = fit(wide(1001), inside=False, game=game)
    twin, _ = fit(wide(1005), inside=False, game=game)
    assert probe.net_.sizes[0] == 1 and twin.net_.sizes[0] == 3
    watched = {}
    for built_from in (probe, twin):
        synth, scores = fit(wide(1005), True, white_box_for(built_from, game), game=game)
        assert synth.net_.sizes[0] == 3
        watched[built_from.net_.sizes[0]] = scores
    assert watched[1] == watched[3]
    assert math.isfinite(watched[1]["gradient"]) and math.isfinite(watched[1]["likelihood"])


def test_watching_another_synthesizer_is_refused_with_what_to_do():
    """Told to watch a fit whose network merged ``a`` into 1 code while another fit (2 codes)
    trains: its parameters cannot be that network's, and the error says what to fit."""
    watcher, _ = canary(3.0)
    merged, _ = fit(wide(1001), inside=False, game=wide_game())
    other = AutoregressiveSynthesizer(3.0, DELTA, seed=0, noise_seed=3, **WORST_CASE_PARAMS)
    with pytest.raises(ParameterError, match="not the network of the synthesizer passed"):
        fit(other, inside=True, watcher=watcher, watched=merged)


def test_audit_runs_on_a_game_whose_fits_differ_in_shape():
    """Twelve trials of the wide game (noise seeds 1000 to 1024: 1 to 4 codes for ``a``)
    complete and score every fit with the gradient attack."""
    factory = seeded(3.0)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*noise_seed")
        result = worst_case_audit(
            factory,
            12,
            workers=1,
            progress=False,
            seeded_noise_ok=True,
            n_synthetic=0,
            game=wide_game(),
        )
    assert result.attack == "gradient" and result.verdict in ("passed", "inconclusive")
