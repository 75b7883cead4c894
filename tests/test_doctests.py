"""The examples in the docstrings run (the API reference on the documentation site shows them).

Every module of the package whose docstrings hold an example is found by walking the package,
so a new example is tested without being listed here.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import tabsynth


def _modules_with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(tabsynth.__path__, "tabsynth."):
        module = importlib.import_module(info.name)
        if doctest.DocTestFinder().find(module) and any(
            test.examples for test in doctest.DocTestFinder().find(module)
        ):
            names.append(info.name)
    return names


MODULES = _modules_with_examples()


def test_examples_were_found():
    assert "tabsynth.metadata_tools" in MODULES and "tabsynth.synthesizers.aim" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
