"""The bundled demo: a small shop API with seeded sequence bugs, and the checks that find them.

``venomqa demo`` runs it end to end: the shop (``venomqa.demo.server``) serves real HTTP from a
child process on a SQLite file, and the explorer drives ``venomqa.demo.checks`` against it.

Names load on first use, so ``python -m venomqa.demo.server`` imports only what it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from venomqa.lazy import lazy_getattr

if TYPE_CHECKING:
    from venomqa.demo.process import DemoServer, DemoServerError, start_demo_server
    from venomqa.demo.shop import init_schema

_LAZY = {
    "DemoServer": "venomqa.demo.process",
    "DemoServerError": "venomqa.demo.process",
    "start_demo_server": "venomqa.demo.process",
    "init_schema": "venomqa.demo.shop",
}


__getattr__ = lazy_getattr(__name__, _LAZY)


__all__ = ["DemoServer", "DemoServerError", "init_schema", "start_demo_server"]
