"""Volatile values: which fields and context keys do not define a state, declared or learned.

A *volatile* field holds a value the API makes up on every run: a random id, a timestamp, a
salted hash, a token. Two states that differ only there are the same state. Fields are named per
store as ``COLLECTION.FIELD`` (a SQL ``table.column``, a Redis key family and hash field such as
``session.@key`` or ``user.created_at``, an S3 folder and metadata field); either part may be a
glob (``*.updated_at``). ``COLLECTION`` alone ignores whole records of that collection (an audit
log, rate-limit counters). Context keys are named as they are (``token``, ``*_token``).

Rules come from ``ignore:`` in venomqa.yaml (or ``explore(ignore=..., ignore_context=...)``) and
from what the explorer learns while it runs; every learned rule keeps the reason it was learned,
and ``pin_lines()`` gives the ``ignore:`` lines that declare them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from venomqa.errors import UsageError

#: The ``store`` of a rule about a context key.
CONTEXT = "context"


@dataclass(frozen=True, slots=True)
class VolatileField:
    """A field (or context key) whose values do not define a state, and why."""

    store: str  # the store's key in the world, or CONTEXT
    spec: str  # COLLECTION.FIELD, COLLECTION, or a context key
    reason: str
    declared: bool = False

    @property
    def where(self) -> str:
        """The venomqa.yaml key that declares it: ``stores.db.ignore`` or ``context.ignore``."""
        return "context.ignore" if self.store == CONTEXT else f"stores.{self.store}.ignore"


def split_spec(spec: str) -> tuple[str, str | None]:
    """``"posts.created_at"`` -> ``("posts", "created_at")``; ``"audit"`` -> ``("audit", None)``."""
    collection, dot, field = spec.partition(".")
    return collection, (field if dot else None)


class VolatileRules:
    """The volatile fields of one exploration: answers "is this field volatile?" quickly.

    ``version`` grows with every rule added, so callers can tell when what they computed under
    the rules may be out of date.
    """

    def __init__(self) -> None:
        self.rules: list[VolatileField] = []
        self.version = 0
        self._exact: set[tuple[str, str, str]] = set()
        self._patterns: list[tuple[str, str, str]] = []
        self._ignored: list[tuple[str, str]] = []
        self._context_exact: set[str] = set()
        self._context_patterns: list[str] = []
        self._field_cache: dict[tuple[str, str, str], bool] = {}
        self._collection_cache: dict[tuple[str, str], bool] = {}
        self._context_cache: dict[str, bool] = {}

    @classmethod
    def declared(
        cls,
        stores: Mapping[str, Iterable[str]] | None = None,
        context: Iterable[str] = (),
    ) -> VolatileRules:
        """Rules from ``ignore:`` declarations: ``{store key: [spec, ...]}`` and context keys."""
        rules = cls()
        for store, specs in (stores or {}).items():
            if isinstance(specs, str):
                raise UsageError(f"ignore for store {store!r} must be a list of fields, not a str")
            for spec in specs:
                rules.add(store, _checked_spec(spec, f"store {store!r}"), "declared", declared=True)
        if isinstance(context, str):
            raise UsageError("ignore_context must be a list of context keys, not a str")
        for key in context:
            rules.add(CONTEXT, _checked_spec(key, "the context"), "declared", declared=True)
        return rules

    def add(self, store: str, spec: str, reason: str, *, declared: bool = False) -> bool:
        """Add a rule; False when an identical one exists already."""
        if any(rule.store == store and rule.spec == spec for rule in self.rules):
            return False
        self.rules.append(VolatileField(store, spec, reason, declared))
        if store == CONTEXT:
            if _is_glob(spec):
                self._context_patterns.append(spec)
            else:
                self._context_exact.add(spec)
        else:
            collection, field = split_spec(spec)
            if field is None:
                self._ignored.append((store, collection))
            elif _is_glob(spec):
                self._patterns.append((store, collection, field))
            else:
                self._exact.add((store, collection, field))
        self.version += 1
        self._field_cache.clear()
        self._collection_cache.clear()
        self._context_cache.clear()
        return True

    def field(self, store: str, collection: str, field: str) -> bool:
        """Whether ``collection.field`` of ``store`` is volatile."""
        key = (store, collection, field)
        known = self._field_cache.get(key)
        if known is None:
            known = key in self._exact or any(
                s == store and fnmatchcase(collection, c) and fnmatchcase(field, f)
                for s, c, f in self._patterns
            )
            self._field_cache[key] = known
        return known

    def collection_ignored(self, store: str, collection: str) -> bool:
        """Whether whole records of ``collection`` in ``store`` are left out of the state."""
        key = (store, collection)
        known = self._collection_cache.get(key)
        if known is None:
            known = any(s == store and fnmatchcase(collection, c) for s, c in self._ignored)
            self._collection_cache[key] = known
        return known

    @property
    def has_context_rules(self) -> bool:
        """Whether any context key is volatile."""
        return bool(self._context_exact or self._context_patterns)

    def context_key(self, key: str) -> bool:
        """Whether the context key ``key`` is volatile."""
        known = self._context_cache.get(key)
        if known is None:
            known = key in self._context_exact or any(
                fnmatchcase(key, p) for p in self._context_patterns
            )
            self._context_cache[key] = known
        return known

    @property
    def learned(self) -> list[VolatileField]:
        """The rules found while exploring (not declared), in the order they were found."""
        return [rule for rule in self.rules if not rule.declared]

    def pin_lines(self) -> list[str]:
        """``ignore:`` lines for venomqa.yaml declaring every rule (declared and learned)."""
        grouped: dict[str, list[str]] = {}
        for rule in self.rules:
            grouped.setdefault(rule.where, []).append(rule.spec)
        return [f"{where}: [{', '.join(specs)}]" for where, specs in grouped.items()]


def _is_glob(spec: str) -> bool:
    return any(c in spec for c in "*?[")


def _checked_spec(spec: object, owner: str) -> str:
    if not isinstance(spec, str) or not spec.strip():
        raise UsageError(f"ignore entries for {owner} must be non-empty strings, got {spec!r}")
    return spec.strip()
