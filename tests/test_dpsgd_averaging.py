"""The average of the DP-SGD iterates that a DP fit keeps (averaging.py and its wiring)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tabsynth.synthesizers.autoregressive import AutoregressiveSynthesizer, dp
from tabsynth.synthesizers.autoregressive.averaging import AVERAGE_SHARE, IterateAverage

from neighbours import base_table, declared_schema, differences, fingerprint, fit_and_watch
from neighbours import neighbour as add_row
from recorded_average import Recorded, record


def scalar_weight(values: list[float], steps: int, share: float) -> float:
    """The average of a one-weight layer that took the ``values`` in turn."""
    layer = nn.Linear(1, 1, bias=False)
    average = IterateAverage(layer.parameters(), steps=steps, share=share)
    for value in values:
        layer.weight.data.fill_(value)
        average.update()
    average.copy_to()
    return layer.weight.item()


def test_uniform_until_the_window_fills_then_exponential() -> None:
    # window 4: the first four iterates get equal weight ...
    assert scalar_weight([4.0, 0.0, 0.0, 0.0], steps=40, share=0.1) == pytest.approx(1.0)
    # ... and each later one weight 1/4, the old average 3/4
    assert scalar_weight([4.0, 0.0, 0.0, 0.0, 8.0], steps=40, share=0.1) == pytest.approx(2.75)


def test_a_window_of_one_step_keeps_the_last_iterate() -> None:
    assert scalar_weight([5.0, -1.0, 3.0], steps=3, share=0.1) == 3.0


def test_noise_of_independent_steps_shrinks_with_the_window() -> None:
    """Iterates that are a fixed point plus independent N(0, 1) noise: the exponential average
    over a window W has variance 1 / (2W - 1) once the window has filled; with W = 20 that is
    0.026 against 1 for the last iterate (5000 weights, so the sample variance is within a few
    percent)."""
    generator = torch.Generator().manual_seed(0)
    layer = nn.Linear(5000, 1, bias=False)
    average = IterateAverage(layer.parameters(), steps=200, share=0.1)
    for _ in range(200):
        layer.weight.data.normal_(generator=generator)
        average.update()
    average.copy_to()
    assert layer.weight.var().item() == pytest.approx(1 / 39, rel=0.1)


def test_parameters_without_gradient_and_runs_without_steps_are_left_alone() -> None:
    frozen, trained = nn.Parameter(torch.ones(2), requires_grad=False), nn.Parameter(torch.ones(2))
    average = IterateAverage([frozen, trained], steps=10)
    average.copy_to()  # no step yet: nothing to copy
    assert trained.tolist() == [1.0, 1.0]
    trained.data.fill_(3.0)
    frozen.data.fill_(7.0)
    average.update()
    trained.data.fill_(0.0)
    average.copy_to()
    assert trained.tolist() == [3.0, 3.0] and frozen.tolist() == [7.0, 7.0]


@pytest.fixture
def recorded(monkeypatch) -> type[Recorded]:
    return record(monkeypatch, dp)


def dpsgd(rows: int) -> AutoregressiveSynthesizer:
    return AutoregressiveSynthesizer(
        epsilon=4.0,
        epochs=4,
        width=8,
        public_rows=rows,
        progress=False,
        seed=0,
        noise_seed=3,
        on_out_of_bounds="clip",
    )


def test_a_dp_fit_keeps_the_average_of_its_iterates(recorded) -> None:
    table = base_table(600)
    fit = dpsgd(len(table)).fit(table, declared_schema())
    (average,) = recorded.made
    assert average.seen == fit.history_["steps"] == 20  # updated once per accounted step
    assert average.window == pytest.approx(AVERAGE_SHARE * 20)
    kept = [p for p in fit.net_.parameters() if p.requires_grad]
    forbidden = fit.net_.out.bias == dp.FORBIDDEN_LOGIT
    assert forbidden.any()  # the codes the noisy marginals found unused stay forbidden
    moved = False
    for param, mean, last in zip(kept, average.averages, average.last, strict=True):
        usable = param != dp.FORBIDDEN_LOGIT
        assert torch.equal(param[usable], mean[usable])
        moved |= not torch.equal(mean, last)
    assert moved  # the average is not the last iterate


@pytest.mark.slow
@pytest.mark.parametrize("extra", ["missing value", "extreme outlier"])
def test_neighbours_average_over_the_same_window(recorded, tmp_path, extra) -> None:
    """D and D plus one row, same seeds: the window comes from the planned steps (a public row
    count here), so both fits average the same iterates, and nothing deterministic differs."""
    table = base_table()
    left, shown_left = fit_and_watch(lambda: dpsgd(len(table)), table, declared_schema())
    other = add_row(table, extra)
    right, shown_right = fit_and_watch(lambda: dpsgd(len(table)), other, declared_schema())
    first, second = recorded.made
    assert (first.window, first.seen) == (second.window, second.seen)
    found = differences(
        fingerprint(left, shown_left, tmp_path), fingerprint(right, shown_right, tmp_path)
    )
    assert not found, "\n".join(found)
