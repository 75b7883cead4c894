"""Synthesizers: one contract (:class:`Synthesizer`), several models behind it."""

from tabsynth.synthesizers.base import REGISTRY, Synthesizer, load
from tabsynth.synthesizers.sdv import (
    CTGANSynthesizer,
    GaussianCopulaSynthesizer,
    TVAESynthesizer,
)

__all__ = [
    "REGISTRY",
    "CTGANSynthesizer",
    "GaussianCopulaSynthesizer",
    "Synthesizer",
    "TVAESynthesizer",
    "load",
]
