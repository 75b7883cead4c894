"""Benchmarks of tabsynth against its peers; ``python -m benchmarks.run --help`` (README.md)."""
