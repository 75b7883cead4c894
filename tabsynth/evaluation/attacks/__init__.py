"""Privacy attacks on a synthetic table, each measured against a control.

One module per attack (membership, attribute inference, singling out, linkability, exact
copies) plus the distance diagnostics; :mod:`table` and :mod:`encoding` give them a common
view of the rows. :func:`tabsynth.evaluation.privacy.assess_privacy` runs them all.
"""
