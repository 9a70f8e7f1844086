"""Finding and importing third-party plugins: the ``venomqa`` entry-point group.

Which entry points load is chosen by two environment variables:

- ``VENOMQA_LOAD_PLUGINS`` unset: every entry point loads; a comma list: only those names load;
  an empty string: none load. Built-in plugins load regardless.
- ``VENOMQA_DISABLE_PLUGINS``: a comma list of entry-point names that never load.

Importing a plugin never raises here: a failure becomes a ``LoadedEntryPoint`` carrying the error
text, so the CLI can show the plugin as broken.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING

from venomqa.plugins.markers import ENTRY_POINT_GROUP

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

LOAD_PLUGINS_ENV = "VENOMQA_LOAD_PLUGINS"
DISABLE_PLUGINS_ENV = "VENOMQA_DISABLE_PLUGINS"


@dataclass
class LoadedEntryPoint:
    """One entry point of the ``venomqa`` group: the object it loaded, or why it did not."""

    name: str
    value: str
    distribution: str | None
    version: str | None
    plugin: object = None
    error: str | None = None


def _names(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def requested_names() -> list[str] | None:
    """The entry-point names ``VENOMQA_LOAD_PLUGINS`` asks for (``None``: all of them)."""
    raw = os.environ.get(LOAD_PLUGINS_ENV)
    return None if raw is None else _names(raw)


def disabled_names() -> set[str]:
    """The entry-point names ``VENOMQA_DISABLE_PLUGINS`` blocks."""
    return set(_names(os.environ.get(DISABLE_PLUGINS_ENV, "")))


def discover_entry_points() -> list[EntryPoint]:
    """Every entry point of the ``venomqa`` group, sorted by name (so load order does not depend
    on directory listings); a name found twice keeps its first entry (the same distribution can
    be visible twice on ``sys.path``)."""
    import importlib.metadata  # imported here: it is slow and `import venomqa` must not pay it

    found: dict[str, EntryPoint] = {}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry_point.name, entry_point)
    return [found[name] for name in sorted(found)]


def _describe(entry_point: EntryPoint) -> LoadedEntryPoint:
    dist = entry_point.dist
    name = dist.metadata["Name"] if dist is not None else None
    return LoadedEntryPoint(
        name=entry_point.name,
        value=entry_point.value,
        distribution=name,
        version=dist.version if dist is not None else None,
    )


def describe_exception(exc: BaseException) -> str:
    """``Type: message (file:line)`` of an exception, for showing a plugin's failure."""
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" ({last[0].filename}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


def load_entry_points() -> list[LoadedEntryPoint]:
    """Import the selected entry points; each failure is recorded on its entry, never raised.

    A name requested by ``VENOMQA_LOAD_PLUGINS`` that no installed distribution provides is
    reported as a broken entry so the user sees the typo.
    """
    requested = requested_names()
    if requested == []:
        return []
    disabled = disabled_names()
    loaded: list[LoadedEntryPoint] = []
    available = discover_entry_points()
    for entry_point in available:
        if entry_point.name in disabled:
            continue
        if requested is not None and entry_point.name not in requested:
            continue
        entry = _describe(entry_point)
        try:
            entry.plugin = entry_point.load()
        except (Exception, SystemExit) as exc:  # whatever a plugin's import does, not a crash
            entry.error = f"failed to import {entry.value!r}: {describe_exception(exc)}"
        loaded.append(entry)
    known = {entry_point.name for entry_point in available}
    for name in requested or []:
        if name not in known and name not in disabled:
            loaded.append(
                LoadedEntryPoint(
                    name=name,
                    value="",
                    distribution=None,
                    version=None,
                    error=(
                        f"{LOAD_PLUGINS_ENV} names {name!r} but no installed distribution "
                        f"has a {ENTRY_POINT_GROUP!r} entry point of that name"
                    ),
                )
            )
    return loaded
