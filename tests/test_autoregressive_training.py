"""Non-private training of the autoregressive model: the default schedule and the averaged
weights a fit keeps (training.py)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from tabsynth.synthesizers.autoregressive import AutoregressiveSynthesizer, training
from tabsynth.synthesizers.autoregressive.averaging import IterateAverage

from recorded_average import Recorded, record


@pytest.mark.parametrize(
    ("rows", "epochs", "batch"),
    [
        (81_390, 7, 512),  # diabetes130: 144 steps an epoch, 1,000 steps in 7 epochs
        (39_074, 15, 512),  # Adult: 69 steps an epoch
        (1_000, 100, 90),  # small: 10 batches an epoch, more epochs
        (2_000_000, 3, 512),  # very large: the floor of 3 epochs
    ],
)
def test_default_schedule_plans_about_a_thousand_steps(rows: int, epochs: int, batch: int) -> None:
    assert training.default_schedule(rows, 0.1, None, None) == (epochs, batch)


def test_default_schedule_keeps_what_the_user_set() -> None:
    assert training.default_schedule(81_390, 0.1, 2, 64) == (2, 64)


@pytest.fixture
def snapshots(monkeypatch) -> type[Recorded]:
    return record(monkeypatch, training)


def test_a_fit_keeps_the_averaged_weights_of_its_best_epoch(
    snapshots, monkeypatch, mixed_frame: pd.DataFrame
) -> None:
    scripted = iter([3.0, 1.0, 2.0, 2.0, 2.0, 2.0])  # the second epoch is the best
    monkeypatch.setattr(training, "evaluate_nll", lambda *args, **kwargs: next(scripted))
    synth = AutoregressiveSynthesizer(epochs=6, width=8, patience=10, seed=0, progress=False)
    synth.fit(mixed_frame)
    (average,) = snapshots.made
    assert synth.history_["valid_nll"] == [3.0, 1.0, 2.0, 2.0, 2.0, 2.0]
    assert len(average.validated) == 6
    kept = [p for p in synth.net_.parameters() if p.requires_grad]
    for param, validated, final in zip(kept, average.validated[1], average.averages, strict=True):
        assert torch.equal(param, validated)
        assert not torch.equal(param, final)  # not the last average: the best epoch's


def test_swapped_gives_the_iterates_back_even_after_an_error() -> None:
    layer = torch.nn.Linear(2, 1)
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.1, fused=True)
    average = IterateAverage(layer.parameters(), steps=4, share=1.0)
    for _ in range(3):
        layer(torch.ones(1, 2)).sum().backward()
        optimizer.step()
        average.update()
    iterates = [p.detach().clone() for p in layer.parameters()]
    moments = [optimizer.state[p]["exp_avg"].clone() for p in layer.parameters()]
    with pytest.raises(RuntimeError), average.swapped():
        assert not torch.equal(layer.weight, iterates[0])  # the average, inside
        raise RuntimeError("evaluation failed")
    for param, iterate, moment in zip(layer.parameters(), iterates, moments, strict=True):
        assert torch.equal(param, iterate)
        assert torch.equal(optimizer.state[param]["exp_avg"], moment)


def test_without_validation_a_fit_keeps_the_final_average(
    snapshots, mixed_frame: pd.DataFrame
) -> None:
    synth = AutoregressiveSynthesizer(epochs=3, width=8, validation=0.0, seed=0, progress=False)
    synth.fit(mixed_frame)
    (average,) = snapshots.made
    assert average.validated == [] and average.seen > 1
    kept = [p for p in synth.net_.parameters() if p.requires_grad]
    for param, mean in zip(kept, average.averages, strict=True):
        assert torch.equal(param, mean)
