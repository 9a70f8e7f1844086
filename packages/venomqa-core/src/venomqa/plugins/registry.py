"""Collecting the named classes plugins register (adapters, reporters) and checking them.

Each plugin's hook implementation is called on its own, so that every class is attributed to
the plugin that returned it: a duplicate name is reported naming both plugins, a class that
breaks the contract names its plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from venomqa.errors import DuplicateNameError, PluginError

#: Checks one class of a kind; returns a problem description or None when the class is fine.
ClassCheck = Callable[[type], "str | None"]


@dataclass
class PluginHookResult:
    """What one plugin's implementation of a registration hook returned (or how it failed)."""

    plugin_name: str
    label: str
    value: object = None
    error: str | None = None


@dataclass
class Registry:
    """The classes of one kind by name, which plugin gave each, and the problems found."""

    kind: str
    classes: dict[str, type] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    provided: dict[str, list[str]] = field(default_factory=dict)
    #: (the plugins involved, the error): one plugin, or both plugins of a duplicate name.
    problems: list[tuple[list[str], PluginError]] = field(default_factory=list)

    def raise_first_problem(self) -> None:
        """Raise the first problem found, if any (a PluginError or DuplicateNameError)."""
        if self.problems:
            raise self.problems[0][1]


def build_registry(
    kind: str,
    hook_name: str,
    results: Iterable[PluginHookResult],
    check: ClassCheck | None = None,
) -> Registry:
    """Validate each plugin's returned classes and index them by their ``name``."""
    registry = Registry(kind=kind)
    labels: dict[str, str] = {}
    for result in results:
        labels[result.plugin_name] = result.label
        names = registry.provided.setdefault(result.plugin_name, [])
        problem = _problem_adder(registry, result.plugin_name)
        if result.error is not None:
            problem(f"{result.label}: {hook_name}() failed: {result.error}")
            continue
        value = [] if result.value is None else result.value
        if not isinstance(value, list | tuple):
            problem(
                f"{result.label}: {hook_name}() must return a list of classes, "
                f"got {type(value).__name__}"
            )
            continue
        for cls in value:
            if not isinstance(cls, type):
                problem(f"{result.label}: {hook_name}() returned {cls!r}, which is not a class")
                continue
            name = getattr(cls, "name", None)
            if not isinstance(name, str) or not name:
                problem(
                    f"{result.label}: {kind} class {cls.__qualname__} has no string "
                    f"class attribute 'name'"
                )
                continue
            names.append(name)
            issue = check(cls) if check is not None else None
            if issue is not None:
                problem(f"{result.label}: {kind} {name!r} ({cls.__qualname__}) {issue}")
                continue
            owner = registry.owners.get(name)
            if owner is not None:
                problem(
                    f"{kind} name {name!r} is registered twice: by {labels[owner]} and by "
                    f"{result.label}; uninstall or disable one of them "
                    f"(VENOMQA_DISABLE_PLUGINS=<entry point name>)",
                    DuplicateNameError,
                    also=owner,
                )
                continue
            registry.classes[name] = cls
            registry.owners[name] = result.plugin_name
    return registry


def _problem_adder(registry: Registry, plugin_name: str) -> Callable[..., None]:
    def problem(
        message: str, error_type: type[PluginError] = PluginError, also: str | None = None
    ) -> None:
        involved = [plugin_name] if also is None else [also, plugin_name]
        registry.problems.append((involved, error_type(message)))

    return problem
