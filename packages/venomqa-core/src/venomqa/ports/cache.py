"""CachePort: key/value access to a cache store (e.g. Redis) for invariants."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class CachePort(Protocol):
    """A key/value cache invariants can read and tests can seed."""

    def get(self, key: str) -> Any: ...
    def set(self, key: str, value: Any, ttl: float | None = None) -> None: ...
    def delete(self, key: str) -> None: ...
    def keys(self, pattern: str = "*") -> list[str]: ...
