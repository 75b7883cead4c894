"""tabsynth: realistic synthetic copies of sensitive tables, with formal privacy on request.

The public API lives here; everything else is an implementation detail.
"""

__version__ = "0.1.0"

from tabsynth import datasets, errors
from tabsynth.domain import DomainEncoder
from tabsynth.evaluation import Report, evaluate
from tabsynth.io import read_table, write_table
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.synthesizers import (
    REGISTRY,
    CTGANSynthesizer,
    GaussianCopulaSynthesizer,
    Synthesizer,
    TVAESynthesizer,
    load,
)

__all__ = [
    "REGISTRY",
    "CTGANSynthesizer",
    "ColumnSpec",
    "DomainEncoder",
    "GaussianCopulaSynthesizer",
    "Metadata",
    "Report",
    "Synthesizer",
    "TVAESynthesizer",
    "__version__",
    "datasets",
    "errors",
    "evaluate",
    "load",
    "read_table",
    "write_table",
]
