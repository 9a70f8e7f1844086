"""Telling a pooled connection the server had already closed from a call the server dropped.

Servers close kept-alive connections when they please (uvicorn does after an unhandled
exception, often a moment after the answer). A request written into such a connection reaches a
socket the server no longer reads: the server's kernel answers with a reset. A request the server
*read* and then dropped ends instead with a clean end of stream and no answer: that is a finding
about the API and is never sent again.

So a request is re-sent, once, on a fresh connection when all of these hold: it went over a
connection that had served an earlier request (no new TCP connection was opened for it), it
failed before any answer arrived, and the failure is a reset or broken pipe.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

_STARTED_NEW_CONNECTION = "connection.connect_tcp.started"
_ANSWER_STARTED = "http11.receive_response_headers.complete"


@dataclass
class ConnectionTrace:
    """Watches one try of a request through httpcore's ``trace`` extension."""

    events: list[str] = field(default_factory=list)

    def __call__(self, event: str, info: dict[str, object]) -> None:
        self.events.append(event)

    @property
    def reused(self) -> bool:
        """Whether the try went over a connection opened for an earlier request."""
        return bool(self.events) and _STARTED_NEW_CONNECTION not in self.events

    @property
    def answered(self) -> bool:
        """Whether the status line and headers of an answer arrived."""
        return _ANSWER_STARTED in self.events


def closed_before_reading(exc: BaseException, trace: ConnectionTrace) -> bool:
    """Whether ``exc`` says the server had closed the reused connection before reading the
    request (see the module docstring)."""
    if not isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError):
        return False
    if not trace.reused or trace.answered:
        return False
    return _caused_by_reset(exc)


def _caused_by_reset(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ConnectionResetError | BrokenPipeError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


__all__ = ["ConnectionTrace", "closed_before_reading"]
