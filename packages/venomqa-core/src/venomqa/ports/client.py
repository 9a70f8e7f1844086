"""ClientPort: what actions see as ``api`` — an HTTP client that records every exchange."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from venomqa.models.results import RequestRecord


@runtime_checkable
class ClientPort(Protocol):
    """An HTTP client bound to a base URL; every call appends a RequestRecord to ``history``."""

    history: list[RequestRecord]

    def mark(self) -> int:
        """A position in the history; ``records_since(mark)`` returns what came after it."""
        ...

    def records_since(self, mark: int) -> list[RequestRecord]:
        """The records appended since ``mark`` was taken."""
        ...

    def request(self, method: str, url: str, **kwargs: Any) -> Any: ...
    def get(self, url: str, **kwargs: Any) -> Any: ...
    def post(self, url: str, **kwargs: Any) -> Any: ...
    def put(self, url: str, **kwargs: Any) -> Any: ...
    def patch(self, url: str, **kwargs: Any) -> Any: ...
    def delete(self, url: str, **kwargs: Any) -> Any: ...
