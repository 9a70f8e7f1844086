"""What to tell a user who names an adapter or report format nobody registered.

Three cases, most useful first: an installed plugin that would provide the name failed to load
(say so, and why); the name is a typo of a known one ("did you mean 'postgres'?"); otherwise the
known names and the package that usually provides it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from venomqa.plugins import PluginInfo

DISTRIBUTION_PREFIX = "venomqa-"


def unknown_name_message(
    kind: str,
    plural: str,
    name: str,
    known: Iterable[str],
    broken: Sequence[PluginInfo] = (),
    *,
    install_hint: bool = False,
) -> str:
    """The message for ``name`` (an ``adapter:`` or report ``format:`` value) not among
    ``known``; ``broken`` are the installed plugins that failed to load (they may provide it).
    ``install_hint`` adds "install venomqa-NAME" when nothing better can be said."""
    names = sorted(known)
    listed = ", ".join(names) or "none installed"
    provider = _provider(name, broken)
    if provider is not None:
        return (
            f"{kind} {name!r} is not available: {_describe(provider)} is installed but failed "
            f"to load: {provider.error}. Fix the plugin (or reinstall it); "
            "`venomqa plugins list` shows every plugin and its error"
        )
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        return f"unknown {kind} {name!r} (did you mean {close[0]!r}?); known {plural}: {listed}"
    message = f"unknown {kind} {name!r}; known {plural}: {listed}"
    if broken:
        failed = "; ".join(f"{_describe(info)}: {info.error}" for info in broken)
        return f"{message}. Installed plugin(s) that failed to load, one may provide it: {failed}"
    if install_hint:
        message += f" (install the package that provides it, e.g. {DISTRIBUTION_PREFIX}{name})"
    return message


def _provider(name: str, broken: Sequence[PluginInfo]) -> PluginInfo | None:
    """The broken plugin whose entry point or distribution is named after ``name``."""
    for info in broken:
        distribution = (info.distribution or "").lower().replace("_", "-")
        if info.name == name or distribution == f"{DISTRIBUTION_PREFIX}{name}".lower():
            return info
    return None


def _describe(info: PluginInfo) -> str:
    version = f" {info.version}" if info.version else ""
    origin = f"the distribution {info.distribution}{version}" if info.distribution else "a plugin"
    return f"{origin} (entry point {info.name!r})"
