"""CircuitBreaker: stops the client hammering an API that keeps failing.

States::

    closed ──(failure_threshold consecutive failures)──► open
    open ──(reset_timeout_s elapsed)──► half_open: one probe request is let through
    half_open ──probe succeeds──► closed        half_open ──probe fails──► open (timer restarts)

While open (or while a half-open probe is in flight) requests raise
:class:`venomqa.errors.CircuitOpenError` without being sent. A failure is a request that raised
(after the client's retries) or was answered with one of ``failure_statuses`` (by default 502,
503 and 504: the server is not there to answer; a 500 is an answer and counts as a success).
The clock is injectable for tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from venomqa.errors import CircuitOpenError, UsageError

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts consecutive failures and refuses requests for a while once there are too many."""

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout_s: float = 30.0,
        *,
        failure_statuses: Iterable[int] = (502, 503, 504),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise UsageError(
                f"CircuitBreaker(failure_threshold={failure_threshold}): must be at least 1"
            )
        if reset_timeout_s < 0:
            raise UsageError(f"CircuitBreaker(reset_timeout_s={reset_timeout_s}): must be >= 0")
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self.failure_statuses = frozenset(failure_statuses)
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half_open"`` (open whose timeout has elapsed)."""
        with self._lock:
            if self._state == OPEN and self._timeout_elapsed():
                return HALF_OPEN
            return self._state

    @property
    def consecutive_failures(self) -> int:
        """Failures since the last success."""
        return self._failures

    def before_request(self, target: str = "") -> None:
        """Let a request through, or raise CircuitOpenError naming ``target`` if it is refused."""
        with self._lock:
            if self._state == CLOSED:
                return
            if self._state == OPEN and self._timeout_elapsed():
                self._state = HALF_OPEN
            if self._state == HALF_OPEN and not self._probe_in_flight:
                self._probe_in_flight = True
                return
            remaining = max(0.0, self._opened_at + self.reset_timeout_s - self._clock())
        what = f" {target}" if target else ""
        raise CircuitOpenError(
            f"circuit breaker is open after {self._failures} consecutive failure(s); "
            f"refusing{what} for another {remaining:.1f} s (reset_timeout_s="
            f"{self.reset_timeout_s}). Check that the API under test is healthy."
        )

    def record_status(self, status: int) -> None:
        """Record the outcome of a request answered with ``status``."""
        if status in self.failure_statuses:
            self.record_failure()
        else:
            self.record_success()

    def record_success(self) -> None:
        """A request succeeded: close the circuit and forget past failures."""
        with self._lock:
            self._state = CLOSED
            self._failures = 0
            self._probe_in_flight = False

    def record_failure(self) -> None:
        """A request failed: count it; open the circuit at the threshold or on a failed probe."""
        with self._lock:
            self._failures += 1
            if self._state == HALF_OPEN or self._failures >= self.failure_threshold:
                self._state = OPEN
                self._opened_at = self._clock()
            self._probe_in_flight = False

    def reset(self) -> None:
        """Close the circuit by hand."""
        self.record_success()

    def _timeout_elapsed(self) -> bool:
        return self._clock() - self._opened_at >= self.reset_timeout_s

    def __repr__(self) -> str:
        return (
            f"CircuitBreaker(state={self.state!r}, failures={self._failures}/"
            f"{self.failure_threshold}, reset_timeout_s={self.reset_timeout_s})"
        )


__all__ = ["CLOSED", "HALF_OPEN", "OPEN", "CircuitBreaker"]
