"""Synthesizers: one contract (:class:`Synthesizer`), several models behind it.

Importing this package registers every synthesizer under its CLI name in :data:`REGISTRY`.
"""

from tabsynth.synthesizers.aim import AIMSynthesizer
from tabsynth.synthesizers.autoregressive import AutoregressiveSynthesizer
from tabsynth.synthesizers.base import REGISTRY, Synthesizer, load
from tabsynth.synthesizers.dp_base import DPSynthesizer
from tabsynth.synthesizers.mst import MSTSynthesizer
from tabsynth.synthesizers.sdv import (
    CTGANSynthesizer,
    GaussianCopulaSynthesizer,
    TVAESynthesizer,
)

__all__ = [
    "REGISTRY",
    "AIMSynthesizer",
    "AutoregressiveSynthesizer",
    "CTGANSynthesizer",
    "DPSynthesizer",
    "GaussianCopulaSynthesizer",
    "MSTSynthesizer",
    "Synthesizer",
    "TVAESynthesizer",
    "load",
]
