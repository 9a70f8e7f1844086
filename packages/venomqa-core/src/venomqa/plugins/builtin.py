"""The built-in plugin of venomqa-core: the SQLite store, the console and JSON reporters, the BFS,
DFS and random-walk strategies, and the local execution backend (parallel workers as threads).

It registers through the same hooks a third-party plugin uses. The classes are imported inside
the hook functions so that loading plugins (and so starting the CLI) stays fast.
"""

from __future__ import annotations

from venomqa.plugins.markers import hookimpl

PLUGIN_NAME = "builtin"


@hookimpl
def venomqa_register_adapters() -> list[type]:
    from venomqa.stores.sqlite import SQLiteStore

    return [SQLiteStore]


@hookimpl
def venomqa_register_reporters() -> list[type]:
    from venomqa.reporters.console import ConsoleReporter
    from venomqa.reporters.json_report import JsonReporter

    return [ConsoleReporter, JsonReporter]


@hookimpl
def venomqa_register_backends() -> list[type]:
    from venomqa.parallel import LocalBackend
    from venomqa.parallel_processes import ProcessBackend

    return [LocalBackend, ProcessBackend]


@hookimpl
def venomqa_register_strategies() -> list[type]:
    from venomqa.explorer.strategies import BUILTIN_STRATEGIES

    return list(BUILTIN_STRATEGIES)
