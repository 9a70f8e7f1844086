"""Seeded values from JSON schemas: valid inputs, and the invalid variants of an operation.

A value comes from the schema's ``example``/``examples``, ``default``, ``const`` or ``enum`` when it
has one, else from its type and bounds (formats: date, date-time, email, uuid, uri). The random
source is seeded by the caller (seed, operation, state), so one operation in one state sends the
same values every time: a replay reproduces its requests. Fields a client may not set (readOnly,
or named like privileges: ``admin``, ``role`` ...) are never sent by valid inputs. Each value is
checked against its schema with ``jsonschema`` (see ``Schemas``), never by hand.
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Callable
from typing import Any

#: Names that look like privileges a client must not grant itself.
PRIVILEGED = (
    "admin",
    "is_admin",
    "isadmin",
    "role",
    "roles",
    "is_staff",
    "is_superuser",
    "superuser",
    "permissions",
    "is_verified",
    "verified",
    "balance",
    "credits",
)
#: Query parameter names that size a page / skip into a listing.
PAGE_SIZES = ("limit", "per_page", "page_size", "pagesize", "size", "count", "top", "first")
OFFSETS = ("offset", "skip", "start", "page")
#: An oversized page size, above any sane maximum.
OVERSIZED = 1_000_000

Lookup = Callable[[str], Any]


def privileged(name: str, extra: tuple[str, ...] = ()) -> bool:
    """Whether a field named ``name`` looks like a privilege (or is one of ``extra``)."""
    return name.lower().replace("-", "_") in PRIVILEGED or name in extra


class ValueMaker:
    """Makes values for schemas, following ``$ref`` with ``lookup``."""

    def __init__(self, lookup: Lookup, rng: random.Random) -> None:
        self.lookup = lookup
        self.rng = rng

    def resolve(self, schema: Any) -> dict[str, Any]:
        depth = 0
        while isinstance(schema, dict) and "$ref" in schema and depth < 32:
            schema = self.lookup(schema["$ref"])
            depth += 1
        return dict(schema) if isinstance(schema, dict) else {}

    def merged(self, schema: Any) -> dict[str, Any]:
        """``schema`` resolved, with ``allOf`` parts merged and the first non-null
        ``anyOf``/``oneOf`` option taken."""
        schema = self.resolve(schema)
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            props: dict[str, Any] = dict(merged.get("properties", {}))
            required: list[str] = list(merged.get("required", []))
            for part in schema["allOf"]:
                part = self.merged(part)
                props.update(part.get("properties", {}))
                required.extend(part.get("required", []))
                for key, value in part.items():
                    merged.setdefault(key, value)
            merged["properties"], merged["required"] = props, required
            return merged
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [self.merged(o) for o in schema[key]]
                chosen = next((o for o in options if o.get("type") != "null"), options[0])
                rest = {k: v for k, v in schema.items() if k != key}
                return {**chosen, **rest}
        return dict(schema)

    def object_schema(self, schema: Any) -> dict[str, Any]:
        return self.merged(schema)

    def value(self, schema: Any, name: str = "value", depth: int = 0) -> Any:
        schema = self.merged(schema)
        for key in ("const", "default"):
            if key in schema:
                return schema[key]
        if "example" in schema:
            return schema["example"]
        if isinstance(schema.get("examples"), list) and schema["examples"]:
            return schema["examples"][0]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.rng.choice(schema["enum"])
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        if kind == "object":
            return self.object(schema, depth) if depth < 4 else {}
        if kind == "array":
            count = max(int(schema.get("minItems", 1)), 1)
            count = min(count, int(schema.get("maxItems", count)))
            return [self.value(schema.get("items", {}), name, depth + 1) for _ in range(count)]
        if kind == "integer":
            return self.rng.randint(*_bounds(schema, integer=True))
        if kind == "number":
            low, high = _bounds(schema, integer=False)
            return round(self.rng.uniform(low, high), 2)
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        return self.text(schema, name)

    def object(self, schema: dict[str, Any], depth: int = 0) -> dict[str, Any]:
        """The object's writable, non-privileged properties (required ones always)."""
        required = set(schema.get("required", []))
        made: dict[str, Any] = {}
        for prop, sub in (schema.get("properties") or {}).items():
            resolved = self.resolve(sub)
            if prop not in required and (resolved.get("readOnly") or privileged(prop)):
                continue
            made[prop] = self.value(sub, prop, depth + 1)
        return made

    def text(self, schema: dict[str, Any], name: str) -> str:
        fmt = schema.get("format")
        if fmt == "date-time":
            return f"2024-01-{self.rng.randint(1, 28):02d}T12:00:00Z"
        if fmt == "date":
            return f"2024-01-{self.rng.randint(1, 28):02d}"
        if fmt == "email":
            return f"user{self.rng.randint(1, 10**6)}@example.com"
        if fmt == "uuid":
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        if fmt in ("uri", "url"):
            return f"https://example.com/{self.rng.randint(1, 10**6)}"
        low = int(schema.get("minLength", 1))
        high = int(schema.get("maxLength", max(low, 12)))
        stem = "".join(ch for ch in name.lower() if ch.isalnum())[:6] or "v"
        tail = "".join(self.rng.choice(string.ascii_lowercase) for _ in range(6))
        value = f"{stem}-{tail}"
        if len(value) > high:
            value = value[:high]
        while len(value) < low:
            value += self.rng.choice(string.ascii_lowercase)
        return value


def _bounds(schema: dict[str, Any], *, integer: bool) -> tuple[Any, Any]:
    low = schema.get("minimum", 1)
    high = schema.get("maximum", max(low, 1) + 99)
    if "exclusiveMinimum" in schema and not isinstance(schema["exclusiveMinimum"], bool):
        low = schema["exclusiveMinimum"] + (1 if integer else 0.01)
    if "exclusiveMaximum" in schema and not isinstance(schema["exclusiveMaximum"], bool):
        high = schema["exclusiveMaximum"] - (1 if integer else 0.01)
    if integer:
        return int(low), max(int(low), int(high))
    return float(low), max(float(low), float(high))


def wrong_type(schema: dict[str, Any]) -> Any:
    """A value of another JSON type than ``schema`` wants."""
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    return {"string": 12345, "integer": "not-a-number", "number": "not-a-number"}.get(
        str(kind), "not-an-object" if kind in ("object", "array") else 12345
    )


def out_of_range(schema: dict[str, Any], name: str) -> list[tuple[str, Any]]:
    """Boundary-breaking values for a number parameter: (label, value) pairs."""
    found: list[tuple[str, Any]] = []
    lowered = name.lower()
    if "maximum" in schema:
        found.append((f"{name} above maximum", schema["maximum"] + 1))
    if lowered in PAGE_SIZES:
        found.append((f"oversized {name}", OVERSIZED))
    if "minimum" in schema:
        found.append((f"{name} below minimum", schema["minimum"] - 1))
    if lowered in OFFSETS:
        found.append((f"negative {name}", -1))
    return found
