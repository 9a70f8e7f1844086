"""ClientPort: what actions see as ``api`` — an HTTP client that records every exchange."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from venomqa.models.results import RequestRecord


class HttpResponse(Protocol):
    """What VenomQA reads from a response an action returns (``httpx.Response`` is one)."""

    @property
    def status_code(self) -> int: ...


@runtime_checkable
class ClientPort(Protocol):
    """An HTTP client bound to a base URL; every call appends a RequestRecord to ``history``.

    The keyword arguments of the request methods are the implementation's (httpx's for the
    venomqa Client: ``json``, ``params``, ``headers``, ...); the port accepts any.
    """

    history: list[RequestRecord]

    def mark(self) -> int:
        """A position in the history; ``records_since(mark)`` returns what came after it."""
        ...

    def records_since(self, mark: int) -> list[RequestRecord]:
        """The records appended since ``mark`` was taken."""
        ...

    def request(self, method: str, url: str, **kwargs: object) -> HttpResponse: ...
    def get(self, url: str, **kwargs: object) -> HttpResponse: ...
    def post(self, url: str, **kwargs: object) -> HttpResponse: ...
    def put(self, url: str, **kwargs: object) -> HttpResponse: ...
    def patch(self, url: str, **kwargs: object) -> HttpResponse: ...
    def delete(self, url: str, **kwargs: object) -> HttpResponse: ...
