"""Evaluation of a synthetic table: fidelity, utility, subgroups and privacy, as a report.

>>> from tabsynth.evaluation import evaluate
>>> report = evaluate(real, synthetic, holdout=holdout, target="readmitted")  # doctest: +SKIP
>>> print(report.summary())                                                   # doctest: +SKIP
>>> report.to_html("report.html"); report.to_json("report.json")              # doctest: +SKIP
"""

from tabsynth.evaluation.evaluate import evaluate
from tabsynth.evaluation.report import Report

__all__ = ["Report", "evaluate"]
