"""Benchmarks of the DP marginal synthesizers (AIM, MST): see ``run.py`` and ``results.md``."""
