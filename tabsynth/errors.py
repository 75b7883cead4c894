"""Exceptions raised by tabsynth.

Every error a user can trigger with bad input is a subclass of :class:`TabsynthError`, so a
caller can catch one type, and the CLI can turn any of them into a one-line message with exit
code 2. Each message says what to change, not only what went wrong.
"""

from __future__ import annotations

import os
import sys
import warnings


class TabsynthError(Exception):
    """Base class of every error tabsynth raises on purpose."""


class DataError(TabsynthError, ValueError):
    """The table itself cannot be used: empty, duplicate names, unsupported dtype, bad values."""


class DomainEstimationError(DataError):
    """A column's domain (its range) could not be estimated under differential privacy: too few
    rows for the budget spent on it. Declaring the domain in the metadata avoids the estimate."""


class MetadataError(TabsynthError, ValueError):
    """Metadata is malformed, or does not match the table it is used with."""


class ParameterError(TabsynthError, ValueError):
    """An argument is outside what the function accepts (for example ``n <= 0``)."""


class NotFittedError(TabsynthError, RuntimeError):
    """A synthesizer was asked to sample or save before :meth:`fit` ran."""


class FileFormatError(TabsynthError, OSError):
    """An input file is missing, unreadable, or in a format tabsynth does not read."""


class ModelFileError(TabsynthError):
    """A model file is corrupt, foreign, from an incompatible version, or untrusted."""


class PrivacyError(TabsynthError):
    """A request would break a differential-privacy guarantee (data-derived domain, large δ)."""


class BudgetError(PrivacyError, ValueError):
    """A privacy budget is impossible: non-positive ε, δ outside (0, 1/n), or over-spent."""


class DependencyError(TabsynthError, ImportError):
    """An optional dependency needed by the requested feature is not installed."""


class RulesError(TabsynthError, RuntimeError):
    """Sampling could not meet the metadata's rules within its bounded number of redraws
    (the model gives rows that satisfy them too little probability, or the sampling
    conditions contradict them)."""


def warn_caller(message: str) -> None:
    """A :class:`UserWarning` attributed to the first frame outside tabsynth: the caller's
    line, however deep in the package it was raised (Python 3.11 has no
    ``skip_file_prefixes``)."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level + 1)
