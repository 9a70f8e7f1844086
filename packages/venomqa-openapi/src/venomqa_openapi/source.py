"""OpenApiSource: the ``openapi:`` section of venomqa.yaml turned into actions and invariants.

``build(spec, ...)`` does the same from Python: ``explore(world, *build("openapi.json"))``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from venomqa.errors import ConfigError
from venomqa.models import Action, Invariant
from venomqa.ports import Contribution

from venomqa_openapi._actions import (
    Kit,
    bola_actions,
    invalid_actions,
    mass_assignment_action,
    valid_action,
)
from venomqa_openapi._checks import Ledger, Schemas
from venomqa_openapi._identities import Identities
from venomqa_openapi._settings import Settings, read_settings
from venomqa_openapi._spec import load_spec
from venomqa_openapi._wiring import build_wiring

if TYPE_CHECKING:
    from venomqa.config import Config


class OpenApiSource:
    """Reads ``openapi:`` (a spec path or URL, or a mapping; see ``_settings``)."""

    name = "openapi"

    def __init__(self, section: object, config: Config) -> None:
        self.config = config
        self.settings = read_settings(section, file=str(config.path), folder=config.folder)
        #: The key naming the document: ``openapi`` itself, or ``openapi.spec`` in a mapping.
        self.spec_key = "openapi.spec" if isinstance(section, dict) else "openapi"

    @classmethod
    def scaffold(cls, spec: str, folder: Path) -> dict[Path, str]:
        """``venomqa init --openapi SPEC``: an editable actions module and a venomqa.yaml."""
        from venomqa_openapi._scaffold import scaffold

        return scaffold(spec, folder)

    def contribute(self) -> Contribution:
        try:
            return make(self.settings, timeout=self.config.timeout)
        except ConfigError as exc:
            if exc.file is not None:
                raise
            message = str(exc).removeprefix(f"{exc.key}: ") if exc.key else str(exc)
            key = self.spec_key if exc.key == "openapi" else exc.key
            raise ConfigError(message, file=str(self.config.path), key=key) from exc


def build(spec: str | Path, **options: Any) -> tuple[list[Action], list[Invariant]]:
    """(actions, invariants) from the document at ``spec`` (path or URL); ``options`` are the
    keys of the ``openapi:`` mapping (``seed``, ``checks``, ``auth`` ...)."""
    folder = Path.cwd()
    settings = read_settings({"spec": str(spec), **options}, file="<build>", folder=folder)
    made = make(settings)
    return made.actions, made.invariants


def make(settings: Settings, *, timeout: float = 10.0) -> Contribution:
    """Load the document and make every action and invariant it implies."""
    spec = load_spec(settings.spec, timeout=timeout)
    logins = {i.login.operation for i in settings.identities if i.login is not None}
    names = {op.name for op in spec.operations}
    for key, wanted in (("include", settings.include), ("exclude", settings.exclude)):
        unknown = [name for name in wanted if name not in names]
        if unknown:
            raise ConfigError(
                f"no operation named {', '.join(map(repr, unknown))} in {settings.spec} "
                f"(operations: {', '.join(sorted(names))})",
                key=f"openapi.{key}",
            )
    operations = [
        op
        for op in spec.operations
        if (not settings.include or op.name in settings.include)
        and op.name not in settings.exclude
        and op.name not in logins
    ]
    wiring = build_wiring(spec, operations, settings.wiring)
    kit = Kit(
        spec=spec,
        settings=settings,
        wiring=wiring,
        ledger=Ledger(),
        schemas=Schemas(spec),
        identities=Identities(settings.identities, spec),
        operations=operations,
    )
    made = Contribution()
    checked: dict[str, list[str]] = {}
    for op in operations:
        made.actions.append(valid_action(kit, op))
        made.actions.extend(invalid_actions(kit, op))
        mass = mass_assignment_action(kit, op)
        if mass is not None:
            made.actions.append(mass)
            checked.setdefault(op.name, []).append("mass_assignment")
        if settings.on("bola"):
            probes = bola_actions(kit, op)
            made.actions.extend(probes)
            if probes:
                checked.setdefault(op.name, []).append("bola")
        base = ["status_documented", "schema"]
        slot = kit.created_slot(op)
        if slot is not None:
            base += ["retrievable", "listed"]
        if op.method == "DELETE":
            base.append("deleted_gone")
        checked.setdefault(op.name, []).extend(c for c in base if settings.on(c))
    for op_name, checks in checked.items():
        made.invariants.extend(kit.ledger.invariant(check, op_name) for check in checks)
    return made
