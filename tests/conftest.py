"""Shared by every test folder.

- ``tests/shared`` (the blog demo's independent model, the skip-or-fail-under-CI rule) is
  importable as plain modules.
- Plugins are isolated: each test starts with freshly loaded plugins, and only this
  repository's own distributions load (not whatever else is installed on the machine), unless
  the test chooses with ``VENOMQA_LOAD_PLUGINS`` itself.
- Under ``CI=true`` a skipped test is a failed test (a missing service or package must not pass
  silently), unless it is marked ``@pytest.mark.platform_specific("why")``: something this
  platform's build lacks (an SQLite without FTS5), not something CI should have installed.
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_SHARED = str(Path(__file__).with_name("shared"))
if _SHARED not in sys.path:
    sys.path.insert(0, _SHARED)

#: The entry points of this repository's distributions.
_OURS = (
    "venomqa-postgres",
    "venomqa-redis",
    "venomqa-s3",
    "venomqa-reporters",
    "venomqa-mysql",
    "venomqa-celery",
    "venomqa-ray",
)


def _our_installed_plugins() -> str:
    names = [
        entry.name
        for entry in importlib.metadata.entry_points(group="venomqa")
        if entry.dist is not None and entry.dist.metadata["Name"] in _OURS
    ]
    return ",".join(sorted(set(names)))


_PLUGINS = _our_installed_plugins()


@pytest.fixture(autouse=True)
def isolated_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from venomqa.plugins import LOAD_PLUGINS_ENV, reset_plugins

    monkeypatch.setenv(LOAD_PLUGINS_ENV, _PLUGINS)
    reset_plugins()
    yield
    reset_plugins()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI, turn a skip into a failure unless the test is marked platform-specific."""
    from services import on_ci  # tests/shared is on sys.path by now

    report = yield
    if report.skipped and on_ci() and item.get_closest_marker("platform_specific") is None:
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where every service must be there: {reason}"
    return report
