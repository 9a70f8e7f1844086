"""RetryPolicy: when the client sends a request again, and how long it waits in between.

A request is retried when the server answers one of ``retry_statuses`` (by default the "try again
later" statuses 502, 503 and 504) or sending it raises one of ``retry_exceptions`` (by default
``httpx.TransportError``: refused connections, timeouts, dropped connections). Other statuses,
including 4xx and 500, are answers, not retried. The wait before retry ``n`` (1-based) is
``backoff_base * backoff_factor ** (n - 1)`` seconds, capped at ``backoff_max``; a numeric
``Retry-After`` header is honoured up to the same cap. ``sleep`` is injectable for tests.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx

from venomqa.errors import UsageError

DEFAULT_RETRY_STATUSES: frozenset[int] = frozenset({502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to try a request, on which failures, with exponential backoff.

    ``attempts`` counts every try (``attempts=1`` never retries). ``methods`` limits retries to
    those HTTP methods (upper case); ``None`` retries any method.
    """

    attempts: int = 3
    backoff_base: float = 0.1
    backoff_factor: float = 2.0
    backoff_max: float = 5.0
    retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES
    retry_exceptions: tuple[type[BaseException], ...] = (httpx.TransportError,)
    methods: frozenset[str] | None = None
    respect_retry_after: bool = True
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise UsageError(f"RetryPolicy(attempts={self.attempts}): attempts must be at least 1")
        if self.backoff_base < 0 or self.backoff_max < 0 or self.backoff_factor < 1:
            raise UsageError(
                "RetryPolicy: backoff_base and backoff_max must be >= 0 and backoff_factor >= 1"
            )
        statuses: Iterable[int] = self.retry_statuses
        object.__setattr__(self, "retry_statuses", frozenset(statuses))
        if self.methods is not None:
            object.__setattr__(self, "methods", frozenset(m.upper() for m in self.methods))

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that sends every request exactly once (the client's default)."""
        return cls(attempts=1)

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based) before the next one."""
        wait = self.backoff_base * self.backoff_factor ** (attempt - 1)
        if self.respect_retry_after and response is not None:
            retry_after = response.headers.get("retry-after")
            if retry_after is not None:
                # An HTTP date is not parsed: the computed backoff is good enough then.
                with contextlib.suppress(ValueError):
                    wait = max(0.0, float(retry_after))
        return min(wait, self.backoff_max)

    def retries_status(self, status: int, method: str, attempt: int) -> bool:
        """Whether an answer with ``status`` to try number ``attempt`` should be retried."""
        return (
            attempt < self.attempts
            and status in self.retry_statuses
            and (self.methods is None or method in self.methods)
        )

    def retries_exception(self, exc: BaseException, method: str, attempt: int) -> bool:
        """Whether ``exc`` raised by try number ``attempt`` should be retried."""
        return (
            attempt < self.attempts
            and isinstance(exc, self.retry_exceptions)
            and (self.methods is None or method in self.methods)
        )


__all__ = ["DEFAULT_RETRY_STATUSES", "RetryPolicy"]
