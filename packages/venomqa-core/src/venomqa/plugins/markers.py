"""The pluggy markers of the ``venomqa`` project: ``hookspec`` (core), ``hookimpl`` (plugins)."""

from __future__ import annotations

import pluggy

PROJECT_NAME = "venomqa"
ENTRY_POINT_GROUP = "venomqa"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
