"""tabsynth: realistic synthetic copies of sensitive tables, with formal privacy on request.

The public API lives here; everything else is an implementation detail.
"""

__version__ = "0.1.0"

from tabsynth import datasets, errors
from tabsynth.domain import DomainEncoder
from tabsynth.evaluation import Report, evaluate
from tabsynth.evaluation.audit import AuditResult, audit
from tabsynth.io import read_table, write_table
from tabsynth.metadata import ColumnSpec, Metadata
from tabsynth.synthesizers import (
    REGISTRY,
    AIMSynthesizer,
    AutoregressiveSynthesizer,
    CTGANSynthesizer,
    DPSynthesizer,
    GaussianCopulaSynthesizer,
    MSTSynthesizer,
    Synthesizer,
    TVAESynthesizer,
    load,
)

__all__ = [
    "REGISTRY",
    "AIMSynthesizer",
    "AuditResult",
    "AutoregressiveSynthesizer",
    "CTGANSynthesizer",
    "ColumnSpec",
    "DPSynthesizer",
    "DomainEncoder",
    "GaussianCopulaSynthesizer",
    "MSTSynthesizer",
    "Metadata",
    "Report",
    "Synthesizer",
    "TVAESynthesizer",
    "__version__",
    "audit",
    "datasets",
    "errors",
    "evaluate",
    "load",
    "read_table",
    "write_table",
]
