"""Which response values feed which parameters: the data flow between operations.

Each path parameter ``{p}`` of a path ``/c/{p}...`` is a *slot*, named by the path up to it
(``/items/{item_id}``): the context key that holds the value of the last resource made there.
A slot is filled, in this order of precedence, by

1. the configuration's ``wiring:`` (``"getItem.item_id": "createItem#/id"``),
2. the document's OpenAPI links (``$response.body#/id``, ``$response.header.Location``),
3. a guess: the POST (or PUT) on the collection ``/c`` — the body field named ``p``, else
   ``id``, else ``p`` without its ``_id``/``Id`` suffix, else the last segment of ``Location``;
   when no operation creates on ``/c``, any operation whose success response has a field ``p``.

Body and query fields named like a slot (``item_id``, or ``itemId`` for ``/items``) take its
value too. A deleted resource's slot (and the slots nested under it) is emptied.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from venomqa_openapi._settings import Wire
from venomqa_openapi._spec import Operation, Spec

_PARAM = re.compile(r"\{([^}/]+)\}")


@dataclass(frozen=True)
class Slot:
    """A context key (``/items/{item_id}``), its parameter name and its collection path."""

    key: str
    param: str
    collection: str


@dataclass
class Extractor:
    """Where a producer's response holds a slot's value: JSON pointers into the body and/or
    ``@Header`` names, tried in order."""

    slot: Slot
    pointers: list[str]

    def value(self, body: Any, headers: Any) -> Any:
        for pointer in self.pointers:
            if pointer.startswith("@"):
                header = headers.get(pointer[1:]) if headers is not None else None
                if header:
                    last = str(header).rstrip("/").rsplit("/", 1)[-1]
                    if last:
                        return last if pointer[1:].lower() == "location" else header
                continue
            found = resolve_pointer(body, pointer)
            if found is not None and not isinstance(found, dict | list):
                return found
        return None


@dataclass
class Wiring:
    """Slots per operation, and what each operation's success response fills."""

    slots: dict[str, Slot] = field(default_factory=dict)
    produces: dict[str, list[Extractor]] = field(default_factory=dict)
    #: Where each slot's value comes from, for ``describe()``: slot key -> "OP#/ptr, ..."
    origins: dict[str, list[str]] = field(default_factory=dict)

    def path_slots(self, op: Operation) -> list[Slot]:
        """The slots of ``op``'s path parameters, in path order."""
        return [self.slots[key] for key in _slot_keys(op.path)]

    def field_slot(self, name: str) -> Slot | None:
        """The slot a body/query field named ``name`` takes its value from, if any."""
        for slot in self.slots.values():
            if slot.param == name:
                return slot
        for slot in self.slots.values():
            stem = singular(slot.collection.rstrip("/").rsplit("/", 1)[-1])
            if stem and name in (f"{stem}_id", f"{stem}Id"):
                return slot
        return None

    def harvest(self, op: Operation, body: Any, headers: Any, ctx: Any) -> None:
        """Put what ``op``'s success response holds into the context."""
        for extractor in self.produces.get(op.name, []):
            value = extractor.value(body, headers)
            if value is not None:
                ctx[extractor.slot.key] = value

    def forget(self, slot: Slot, ctx: Any) -> None:
        """Empty ``slot`` and every slot nested under it (the resource is gone)."""
        for key in list(ctx):
            if key == slot.key or str(key).startswith(slot.key + "/"):
                del ctx[key]

    def describe(self) -> dict[str, list[str]]:
        """slot -> its producers, for docs and ``venomqa init --openapi``."""
        return {key: list(found) for key, found in self.origins.items()}


def build_wiring(spec: Spec, operations: list[Operation], wires: Iterable[Wire]) -> Wiring:
    """Work out the slots of ``operations`` and their producers (see the module docstring)."""
    wiring = Wiring()
    by_name = {op.name: op for op in operations}
    for op in operations:
        for key in _slot_keys(op.path):
            param = _PARAM.findall(key)[-1]
            collection = key[: key.rindex("/{")] or "/"
            wiring.slots.setdefault(key, Slot(key, param, collection))
    claimed: set[str] = set()

    def add(producer: str, slot: Slot, pointers: list[str]) -> None:
        wiring.produces.setdefault(producer, []).append(Extractor(slot, pointers))
        wiring.origins.setdefault(slot.key, []).append(f"{producer}: {' | '.join(pointers)}")

    for wire in wires:  # 1. the configuration
        target = by_name.get(wire.operation)
        slot = _slot_of(wiring, target, wire.param) if target is not None else None
        if slot is None:
            from venomqa.errors import ConfigError

            raise ConfigError(
                f"wiring: operation {wire.operation!r} has no path parameter {wire.param!r} "
                f"(operations: {', '.join(sorted(by_name))})",
                key=f"openapi.wiring.{wire.operation}.{wire.param}",
            )
        if wire.source not in by_name:
            from venomqa.errors import ConfigError

            raise ConfigError(
                f"wiring: no operation named {wire.source!r}",
                key=f"openapi.wiring.{wire.operation}.{wire.param}",
            )
        add(wire.source, slot, [wire.pointer])
        claimed.add(slot.key)

    for op in operations:  # 2. OpenAPI links
        for response in op.responses.values():
            for link in response.links.values():
                target = by_name.get(str(link.get("operationId", "")))
                for param, expression in (link.get("parameters") or {}).items():
                    slot = _slot_of(wiring, target, str(param)) if target else None
                    pointer = _link_pointer(str(expression))
                    if slot is not None and pointer is not None and slot.key not in claimed:
                        add(op.name, slot, [pointer])
    claimed.update(
        extractor.slot.key for extractors in wiring.produces.values() for extractor in extractors
    )

    for slot in wiring.slots.values():  # 3. guesses
        if slot.key in claimed:
            continue
        creators = [
            op for op in operations if op.path == slot.collection and op.method in ("POST", "PUT")
        ]
        pointers = [f"/{slot.param}", "/id"]
        bare = re.sub(r"(_id|Id)$", "", slot.param)
        if bare != slot.param:
            pointers.append(f"/{bare}")
        pointers.append("@Location")
        for op in creators:
            add(op.name, slot, pointers)
        if creators:
            continue
        for op in operations:
            if op.method != "GET" and _success_has_field(spec, op, slot.param):
                add(op.name, slot, [f"/{slot.param}"])
    return wiring


def _success_has_field(spec: Spec, op: Operation, name: str) -> bool:
    for status, response in op.responses.items():
        if status.startswith("2") and response.schema_pointer is not None:
            schema = spec.deref(spec.resolver.lookup("#" + response.schema_pointer).contents)
            if isinstance(schema, dict) and name in (schema.get("properties") or {}):
                return True
    return False


def _slot_keys(path: str) -> list[str]:
    return [path[: match.end()] for match in _PARAM.finditer(path)]


def _slot_of(wiring: Wiring, op: Operation | None, param: str) -> Slot | None:
    if op is None:
        return None
    for key in _slot_keys(op.path):
        if key.endswith("{" + param + "}"):
            return wiring.slots.get(key)
    return None


def _link_pointer(expression: str) -> str | None:
    if expression.startswith("$response.body#"):
        return expression.partition("#")[2] or "/"
    if expression.startswith("$response.header."):
        return "@" + expression[len("$response.header.") :]
    return None


def resolve_pointer(document: Any, pointer: str) -> Any:
    """The value at JSON pointer ``pointer`` in ``document``, or None."""
    node = document
    for part in pointer.lstrip("/").split("/") if pointer not in ("", "/") else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def singular(word: str) -> str:
    """``items`` -> ``item``, ``categories`` -> ``category`` (a guess, for field matching)."""
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word
