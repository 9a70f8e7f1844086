"""The plugin system: one pluggy PluginManager for the ``venomqa`` project and entry-point group.

    from venomqa.plugins import adapters, reporters, strategies, sources, backends, plugin_infos

Plugins load lazily, on the first call of any function here, and once. ``VENOMQA_LOAD_PLUGINS``
(unset: all; comma list: those entry-point names; empty: none) and ``VENOMQA_DISABLE_PLUGINS``
(comma list) choose which third-party plugins load; the built-in plugin always loads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from venomqa.lazy import lazy_getattr
from venomqa.plugins.loading import DISABLE_PLUGINS_ENV, LOAD_PLUGINS_ENV
from venomqa.plugins.markers import ENTRY_POINT_GROUP, PROJECT_NAME, hookimpl, hookspec

if TYPE_CHECKING:
    from venomqa.plugins.manager import (
        PluginInfo,
        adapters,
        backends,
        broken_plugins,
        configure,
        get_plugin_manager,
        plugin_infos,
        register_commands,
        reporters,
        reset_plugins,
        sources,
        strategies,
    )

# `import venomqa` imports this package (for `hookimpl`); the manager loads on first use only.
__getattr__ = lazy_getattr(
    __name__,
    dict.fromkeys(
        (
            "PluginInfo",
            "adapters",
            "backends",
            "broken_plugins",
            "configure",
            "get_plugin_manager",
            "plugin_infos",
            "register_commands",
            "reporters",
            "reset_plugins",
            "sources",
            "strategies",
        ),
        "venomqa.plugins.manager",
    ),
)


__all__ = [
    "DISABLE_PLUGINS_ENV",
    "ENTRY_POINT_GROUP",
    "LOAD_PLUGINS_ENV",
    "PROJECT_NAME",
    "PluginInfo",
    "adapters",
    "backends",
    "broken_plugins",
    "configure",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "plugin_infos",
    "register_commands",
    "reporters",
    "reset_plugins",
    "sources",
    "strategies",
]
