"""An :class:`IterateAverage` that remembers what a fit did with it, for the tests of DP-SGD's
and non-private training's averaged weights."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import ModuleType

import pytest
import torch

from tabsynth.synthesizers.autoregressive.averaging import AVERAGE_SHARE, IterateAverage


class Recorded(IterateAverage):
    """Every average built in a fit (``made``), the averaged weights each time training
    validated them (``validated``) and the last iterate before the average replaced it
    (``last``)."""

    made: list[Recorded] = []  # noqa: RUF012 - a test's record, reset by record()

    def __init__(self, parameters, steps: int, share: float = AVERAGE_SHARE):
        super().__init__(parameters, steps, share)
        self.last: list[torch.Tensor] = []
        self.validated: list[list[torch.Tensor]] = []
        Recorded.made.append(self)

    def copy_to(self) -> None:
        self.last = [p.detach().clone() for p in self.parameters]
        super().copy_to()

    @contextlib.contextmanager
    def swapped(self) -> Iterator[None]:
        with super().swapped():
            self.validated.append([p.detach().clone() for p in self.parameters])
            yield


def record(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> type[Recorded]:
    """Make ``module`` build :class:`Recorded` averages, starting a fresh record."""
    Recorded.made = []
    monkeypatch.setattr(module, "IterateAverage", Recorded)
    return Recorded
