"""Import the user's action modules and collect what they define.

Actions, invariants, journeys and state graphs are found among each module's globals, in
definition order, each object once (an action imported into a second module is not doubled).
``discover_config`` adds what plugins' action sources make from their sections of the
configuration (``openapi:`` ...).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from venomqa.errors import ActionDefinitionError, ConfigError
from venomqa.models import Action, Invariant, Journey, StateGraph

if TYPE_CHECKING:
    from venomqa.config.model import Config


@dataclass
class Discovered:
    """Everything found in the user's modules."""

    actions: list[Action] = field(default_factory=list)
    invariants: list[Invariant] = field(default_factory=list)
    journeys: list[Journey] = field(default_factory=list)
    graphs: list[StateGraph] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.actions or self.invariants or self.journeys or self.graphs)


def import_modules(
    names: Sequence[str], folder: str | Path, *, file: str | None = None
) -> list[ModuleType]:
    """Import each module named in ``names`` with ``folder`` first on ``sys.path``.

    A module defined in ``folder`` is imported afresh (not taken from ``sys.modules``), so a run
    always sees the file as it is now. A failing import is a ConfigError naming the module, the
    file and the key ``actions[i]``, with the underlying error.
    """
    root = str(Path(folder).absolute())
    added = root not in sys.path
    if added:
        sys.path.insert(0, root)
    try:
        modules = []
        for index, name in enumerate(names):
            _forget_local(name, Path(root))
            try:
                modules.append(importlib.import_module(name))
            except Exception as exc:
                raise ConfigError(
                    f"cannot import module {name!r} (looked in {root} and on sys.path): "
                    f"{type(exc).__name__}: {exc}",
                    file=file,
                    key=f"actions[{index}]",
                ) from exc
        return modules
    finally:
        if added and root in sys.path:
            sys.path.remove(root)


def _forget_local(name: str, folder: Path) -> None:
    top = name.split(".")[0]
    if not ((folder / f"{top}.py").is_file() or (folder / top / "__init__.py").is_file()):
        return
    importlib.invalidate_caches()
    for loaded in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
        del sys.modules[loaded]


def collect(modules: Iterable[ModuleType]) -> Discovered:
    """Collect Action, Invariant, Journey and StateGraph objects from the modules' globals.

    Two *different* objects of one kind with the same name are an ActionDefinitionError.
    """
    found = Discovered()
    seen: set[int] = set()
    owners: dict[tuple[str, str], str] = {}
    for module in modules:
        for value in list(vars(module).values()):
            if id(value) in seen:
                continue
            kind = _add(found, value)
            if kind is None:
                continue
            seen.add(id(value))
            name = str(getattr(value, "name", ""))
            previous = owners.get((kind, name))
            if previous is not None:
                raise ActionDefinitionError(
                    f"two different {kind}s are named {name!r} (in modules {previous!r} "
                    f"and {module.__name__!r}); rename one of them"
                )
            owners[(kind, name)] = module.__name__
    return found


def _add(found: Discovered, value: object) -> str | None:
    """Add ``value`` to its list in ``found``; its kind, or None when it is none of them."""
    if isinstance(value, Action):
        found.actions.append(value)
        return "action"
    if isinstance(value, Invariant):
        found.invariants.append(value)
        return "invariant"
    if isinstance(value, Journey):
        found.journeys.append(value)
        return "journey"
    if isinstance(value, StateGraph):
        found.graphs.append(value)
        return "graph"
    return None


def discover(names: Sequence[str], folder: str | Path, *, file: str | None = None) -> Discovered:
    """Import the modules and collect their actions, invariants, journeys and graphs."""
    return collect(import_modules(names, folder, file=file))


def discover_config(config: Config) -> Discovered:
    """What a run of ``config`` explores: the modules of ``actions:``, then, for each section a
    plugin owns (``openapi:`` ...), the actions and invariants its source makes. A name used by
    two different actions (or invariants) is an ActionDefinitionError."""
    found = discover(config.actions, config.folder, file=str(config.path))
    if not config.sections:
        return found
    from venomqa.plugins import sources

    known = sources()
    for key, section in config.sections.items():
        contribution = known[key](section, config).contribute()
        for kind, mine, theirs in (
            ("action", found.actions, contribution.actions),
            ("invariant", found.invariants, contribution.invariants),
        ):
            taken = {item.name for item in mine}
            for item in theirs:
                if item.name in taken:
                    raise ActionDefinitionError(
                        f"two different {kind}s are named {item.name!r} (one made from the "
                        f"{key!r} section of {config.path}); rename yours"
                    )
                taken.add(item.name)
            mine.extend(theirs)
    return found
