"""ActionSourcePort: a plugin that makes actions and invariants from a section of venomqa.yaml.

A source class carries a unique ``name``: the top-level key of ``venomqa.yaml`` it owns (e.g.
``openapi``), which configuration validation then accepts. It is built as
``cls(section, config)`` with that key's value (environment already interpolated) and the loaded
``venomqa.config.Config``; ``contribute()`` returns a Contribution whose actions and invariants
run alongside those of the user's modules, sharing one context. Bad input in the section is a
``venomqa.errors.ConfigError`` naming the file and key path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from venomqa.models.actions import Action, Invariant

if TYPE_CHECKING:
    from venomqa.config.model import Config


@dataclass
class Contribution:
    """What one source adds to a run."""

    actions: list[Action] = field(default_factory=list)
    invariants: list[Invariant] = field(default_factory=list)


@runtime_checkable
class ActionSourcePort(Protocol):
    """Builds actions and invariants from its section of the configuration."""

    name: str

    def __init__(self, section: object, config: Config) -> None: ...

    def contribute(self) -> Contribution: ...
