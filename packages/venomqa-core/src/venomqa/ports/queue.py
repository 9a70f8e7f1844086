"""QueuePort: a message/job queue whose pending items invariants can inspect."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class QueuePort(Protocol):
    """A named queue: how many items wait, and a peek at them."""

    def length(self, queue: str) -> int: ...
    def peek(self, queue: str, count: int = 10) -> list[object]: ...
