"""CachePort: key/value access to a cache store (e.g. Redis) for invariants."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class CachePort(Protocol):
    """A key/value cache invariants can read and tests can seed; values are whatever the cache
    holds (text, numbers, or the adapter's form of structured values), None when absent."""

    def get(self, key: str) -> object: ...
    def set(self, key: str, value: object, ttl: float | None = None) -> None: ...
    def delete(self, key: str) -> None: ...
    def keys(self, pattern: str = "*") -> list[str]: ...
