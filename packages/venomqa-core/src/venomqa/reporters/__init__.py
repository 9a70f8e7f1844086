"""Built-in reporters: ``console`` (live progress and a summary) and ``json`` (docs/reports.md).

Both register through the built-in plugin like any third-party reporter; import them from their
modules (``venomqa.reporters.console``, ``venomqa.reporters.json_report``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from venomqa.lazy import lazy_getattr

if TYPE_CHECKING:
    from venomqa.reporters.console import ConsoleReporter
    from venomqa.reporters.json_report import JsonReporter

_LAZY = {
    "ConsoleReporter": "venomqa.reporters.console",
    "JsonReporter": "venomqa.reporters.json_report",
}

__getattr__ = lazy_getattr(__name__, _LAZY)


__all__ = ["ConsoleReporter", "JsonReporter"]
