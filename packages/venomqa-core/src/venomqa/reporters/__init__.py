"""Built-in reporters: ``console`` (live progress and a summary) and ``json`` (DESIGN §9).

Both register through the built-in plugin like any third-party reporter; import them from their
modules (``venomqa.reporters.console``, ``venomqa.reporters.json_report``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from venomqa.reporters.console import ConsoleReporter
    from venomqa.reporters.json_report import JsonReporter

_LAZY = {
    "ConsoleReporter": "venomqa.reporters.console",
    "JsonReporter": "venomqa.reporters.json_report",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'venomqa.reporters' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = ["ConsoleReporter", "JsonReporter"]
