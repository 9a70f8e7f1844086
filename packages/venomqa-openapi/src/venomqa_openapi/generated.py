"""What a module written by ``venomqa init --openapi SPEC`` runs on: the actions and invariants
made from the document, looked up by name, so that each can be a plain function of its own.

    openapi = Generated("openapi.json", base=__file__, seed=0)

    @action(name="createItem", requires=openapi.requires("createItem"))
    def createItem(api, ctx):
        return openapi.call("createItem", api, ctx)

    status_documented_createItem = openapi.invariant("status documented: createItem")

    openapi.add_new(globals(), written_with={"seed": 0})   # what changed OPTIONS add
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from typing import Any

from venomqa.client import Client
from venomqa.context import ExecutionContext
from venomqa.errors import ConfigError
from venomqa.models import Action, Invariant
from venomqa.models.actions import Precondition

from venomqa_openapi._settings import read_settings


class Generated:
    """The document ``spec`` (a path relative to ``base``'s folder, or a URL) made into actions
    and invariants with ``options`` (the keys of venomqa.yaml's ``openapi:`` mapping)."""

    def __init__(self, spec: str, *, base: str | Path, **options: Any) -> None:
        from venomqa_openapi.source import make

        self.spec = spec
        self.base = base
        self.where = str(base)
        settings = read_settings(
            {"spec": spec, **options}, file=self.where, folder=Path(base).resolve().parent
        )
        made = make(settings)
        self.actions = {item.name: item for item in made.actions}
        self.invariants = {item.name: item for item in made.invariants}

    def action(self, name: str) -> Action:
        """The generated action ``name``; a name the document does not make is a ConfigError."""
        found = self.actions.get(name)
        if found is None:
            raise ConfigError(
                f"the OpenAPI document makes no action {name!r} (with these OPTIONS); its "
                f"actions: {', '.join(self.actions)}",
                file=self.where,
            )
        return found

    def requires(self, name: str) -> Precondition | None:
        """The precondition of action ``name``: its parameters' slots are filled."""
        return self.action(name).requires

    def call(self, name: str, api: Client, ctx: ExecutionContext) -> Any:
        """Run action ``name``: send its request, fill the slots, run the checks."""
        return self.action(name).fn(api, ctx)

    def invariant(self, name: str) -> Invariant:
        """The built-in check ``name`` (``status documented: createItem`` ...)."""
        found = self.invariants.get(name)
        if found is None:
            raise ConfigError(
                f"the OpenAPI document makes no check {name!r} (with these OPTIONS); its "
                f"checks: {', '.join(self.invariants)}",
                file=self.where,
            )
        return found

    def add_new(self, namespace: dict[str, Any], *, written_with: dict[str, Any]) -> None:
        """Put into ``namespace`` (a module's globals) the actions and checks these options make
        that the options the module was written with did not (the ``... as bob`` probes once
        ``auth`` names two identities), as generated. What the module deleted stays deleted."""
        before = Generated(self.spec, base=self.base, **written_with)
        taken = set(namespace)
        for kind, mine, theirs in (
            ("action", self.actions, before.actions),
            ("check", self.invariants, before.invariants),
        ):
            for name, item in mine.items():
                if name not in theirs:
                    namespace[identifier(f"{kind} {name}", taken)] = item


def identifier(name: str, taken: set[str]) -> str:
    """``createItem [missing name]`` -> ``createItem_missing_name``: a Python name not in
    ``taken`` (which it joins) and not a keyword."""
    base = re.sub(r"\W+", "_", name).strip("_") or "generated"
    if base[0].isdigit() or keyword.iskeyword(base):
        base = f"op_{base}"
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}_{number}", number + 1
    taken.add(candidate)
    return candidate
