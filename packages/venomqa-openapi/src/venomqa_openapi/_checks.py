"""The built-in checks: what each generated action saw, and the invariants that report it.

A generated action runs its checks on the responses it got and leaves the problems in the
Ledger, stamped with the client's history mark after its last request. The invariants read them
right after that action (the explorer checks invariants after every action): a problem counts
only while no request was made since, so a hand-written action in between never inherits one.
There is one invariant per check and operation, so each operation's problem is its own finding.
Response bodies are validated with ``jsonschema`` against the document (``$ref``s resolved by
``referencing``).
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from venomqa.models import Invariant, Severity
from venomqa.world import World

from venomqa_openapi._spec import BASE_URI, Spec

#: check -> (invariant title, severity)
TITLES: dict[str, tuple[str, Severity]] = {
    "status_documented": ("status documented", Severity.MEDIUM),
    "schema": ("response matches schema", Severity.MEDIUM),
    "retrievable": ("created resource is retrievable", Severity.HIGH),
    "deleted_gone": ("deleted resource is gone", Severity.HIGH),
    "listed": ("created resource is listed", Severity.MEDIUM),
    "bola": ("object-level authorization", Severity.CRITICAL),
    "mass_assignment": ("no mass assignment", Severity.CRITICAL),
}


def invariant_name(check: str, operation: str) -> str:
    """``response matches schema: getItem``."""
    return f"{TITLES[check][0]}: {operation}"


class Ledger:
    """The problems the last generated action found, by invariant name."""

    def __init__(self) -> None:
        self._mark = -1
        self._problems: dict[str, str] = {}

    def record(self, mark: int, problems: dict[str, str]) -> None:
        self._mark = mark
        self._problems = dict(problems)

    def problem(self, mark: int, name: str) -> str | None:
        return self._problems.get(name) if mark == self._mark else None

    def invariant(self, check: str, operation: str) -> Invariant:
        """The invariant reporting ``check`` for ``operation``."""
        name = invariant_name(check, operation)
        _title, severity = TITLES[check]

        def holds(world: World) -> bool:
            message = self.problem(world.api.mark(), name)
            if message is not None:
                raise AssertionError(message)
            return True

        return Invariant(
            name=name,
            check=holds,
            severity=severity,
            description=f"OpenAPI built-in check ({check}) of {operation}",
            tags=("openapi", check),
        )


class Schemas:
    """Validators for the document's response schemas, built once per schema."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._validators: dict[str, Draft202012Validator] = {}

    def problem(self, pointer: str, body: Any) -> str | None:
        """Why ``body`` does not match the schema at ``pointer``, or None when it does."""
        validator = self._validators.get(pointer)
        if validator is None:
            schema = {"$ref": f"{BASE_URI}#{pointer}"}
            validator = Draft202012Validator(schema, registry=self.spec.registry)
            self._validators[pointer] = validator
        error = best_match(validator.iter_errors(body))
        if error is None:
            return None
        where = error.json_path if error.path else "the body"
        return f"{where}: {error.message}"

    def valid(self, schema: dict[str, Any], value: Any) -> bool:
        """Whether ``value`` matches ``schema`` (a schema of the document, ``$ref``s allowed)."""
        validator = Draft202012Validator(
            {"$id": "urn:venomqa-openapi-value", "allOf": [_rebased(schema)]},
            registry=self.spec.registry,
        )
        return bool(validator.is_valid(value))


def _rebased(node: Any) -> Any:
    """``schema`` with local ``#/...`` refs pointed at the document."""
    if isinstance(node, list):
        return [_rebased(item) for item in node]
    if not isinstance(node, dict):
        return node
    rebased = {key: _rebased(value) for key, value in node.items()}
    ref = rebased.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        rebased["$ref"] = BASE_URI + ref
    return rebased
