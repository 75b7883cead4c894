"""Differential privacy for tabsynth: budget accounting, noise, and the mechanisms built on them.

Neighbouring datasets differ by adding or removing one row. A fit creates one
:class:`PrivacyLedger` with the user's target (ε, δ); every mechanism records its cost there
(zCDP ρ, an RDP curve for DP-SGD, or an additive δ for thresholded releases) before releasing
anything, and the ledger refuses to overspend. Noise comes from :class:`NoiseSource`, which uses
the OS CSPRNG unless explicitly seeded for tests.

Typical use::

    ledger = PrivacyLedger(epsilon=1.0, delta=1e-6, delta_reserved=1e-7)
    noise = NoiseSource()
    edges = dp_quantiles(ages, [0.25, 0.5, 0.75], 0, 128, rho=0.001, ledger=ledger,
                         purpose="bin edges of column 'age'", phase="domain", noise=noise)
    print(ledger.explain())
"""

from tabsynth.privacy.accounting import (
    DEFAULT_ORDERS,
    epsilon_from_rdp,
    epsilon_from_rho,
    rho_from_epsilon,
)
from tabsynth.privacy.ledger import RELATIVE_TOLERANCE, LedgerEntry, PrivacyLedger
from tabsynth.privacy.mechanisms import (
    BOUNDS_MAX_EXPONENT,
    BOUNDS_MIN_EXPONENT,
    dp_bounds,
    dp_categories,
    dp_quantiles,
    dp_range_quantiles,
    exponential_mechanism,
    gaussian_counts,
    in_release_order,
    occupied_span,
    rational_variance,
    sigma_for_rho,
)
from tabsynth.privacy.noise import NoiseSource

__all__ = [
    "BOUNDS_MAX_EXPONENT",
    "BOUNDS_MIN_EXPONENT",
    "DEFAULT_ORDERS",
    "RELATIVE_TOLERANCE",
    "LedgerEntry",
    "NoiseSource",
    "PrivacyLedger",
    "dp_bounds",
    "dp_categories",
    "dp_quantiles",
    "dp_range_quantiles",
    "epsilon_from_rdp",
    "epsilon_from_rho",
    "exponential_mechanism",
    "gaussian_counts",
    "in_release_order",
    "occupied_span",
    "rational_variance",
    "rho_from_epsilon",
    "sigma_for_rho",
]
