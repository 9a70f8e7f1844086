"""Every hook a VenomQA plugin can implement, grouped by phase. All names start ``venomqa_`` so
pluggy's ``check_pending()`` catches a misspelt hookimpl.

Registration (called once, when plugins load):
    venomqa_register_adapters   -> list of store classes, each with a unique ``name``
    venomqa_register_reporters  -> list of reporter classes, each with a unique ``name``
    venomqa_register_strategies -> list of search strategy classes, each with a unique ``name``
    venomqa_register_commands   -> adds click commands to the ``venomqa`` CLI group
    venomqa_register_sources    -> list of action source classes, each reading one top-level
                                   section of venomqa.yaml (its ``name``)
    venomqa_register_backends   -> list of execution backend classes (where parallel workers
                                   run: ``venomqa run --backend NAME``), each with a ``name``

Configuration (historic: plugins registered later still receive earlier calls):
    venomqa_configure           -> sees the loaded configuration before a run starts
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from venomqa.plugins.markers import hookspec

if TYPE_CHECKING:
    import click

    from venomqa.config import Config
    from venomqa.explorer.search import Strategy
    from venomqa.ports import ActionSourcePort, ReporterPort, StorePort
    from venomqa.ports.backend import ExecutionBackend


@hookspec
def venomqa_register_adapters() -> list[type[StorePort]]:
    """Return store classes. Each has a class attribute ``name`` (the ``adapter:`` value in
    venomqa.yaml), is built with that store's YAML options as keyword arguments, and implements
    ``setup``, ``teardown``, ``checkpoint``, ``rollback``, ``fingerprint`` and ``observe``.
    Results of all plugins are collected; a name registered twice is an error naming both."""
    return []


@hookspec
def venomqa_register_reporters() -> list[type[ReporterPort]]:
    """Return reporter classes. Each has a class attribute ``name`` (the FORMAT of
    ``--report FORMAT:PATH``), is built as ``cls(path=PATH_OR_NONE, **options)`` and implements
    ``report(run)``. A name registered twice is an error naming both plugins."""
    return []


@hookspec
def venomqa_register_strategies() -> list[type[Strategy]]:
    """Return search strategy classes (see ``venomqa.explorer.search.Strategy``). Each has a
    class attribute ``name`` (the ``explore: {strategy: NAME}`` value), a bool class attribute
    ``shortest_paths`` and a ``search(search)`` method returning a StopReason; a fresh instance
    runs each pass of an exploration. A name registered twice is an error naming both
    plugins."""
    return []


@hookspec
def venomqa_register_backends() -> list[type[ExecutionBackend]]:
    """Return execution backend classes (see ``venomqa.ports.backend``). Each has a class
    attribute ``name`` (the ``--backend NAME`` value), is built with the backend options as
    keyword arguments (``--address ADDR`` is ``address=ADDR``) and has ``hosts(recipes)``. A
    name registered twice is an error naming both plugins."""
    return []


@hookspec
def venomqa_register_sources() -> list[type[ActionSourcePort]]:
    """Return action source classes (see ``venomqa.ports.ActionSourcePort``). Each has a class
    attribute ``name``: the top-level key of venomqa.yaml it owns (``openapi``, ...), which the
    configuration then accepts. It is built as ``cls(section, config)`` with that key's value
    and the loaded Config, and ``contribute()`` returns the actions and invariants it makes,
    which run alongside the user's modules. A name registered twice is an error naming both
    plugins."""
    return []


@hookspec
def venomqa_register_commands(cli: click.Group) -> None:
    """Add commands to the ``venomqa`` click group ``cli`` (e.g. ``cli.add_command(cmd)``).
    Returns nothing."""


@hookspec(historic=True)
def venomqa_configure(config: Config) -> None:
    """Called with the loaded ``venomqa.config.Config`` before a run starts. Historic: a plugin
    registered after the call still receives it. Returns nothing."""
