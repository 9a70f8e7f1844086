"""The test suite's own layout rule: pytest imports test modules by basename (``rootdir``
imports, no ``__init__.py``), so two test files with one name in different folders break the
collection of the whole suite. Every basename under tests/ is unique."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_module_basename_is_unique() -> None:
    places: dict[str, list[str]] = defaultdict(list)
    for path in TESTS.rglob("*.py"):
        if path.name != "conftest.py" and "__pycache__" not in path.parts:
            places[path.name].append(str(path.relative_to(TESTS)))
    clashes = {name: where for name, where in places.items() if len(where) > 1}
    assert clashes == {}, f"rename one of each: {clashes}"
