"""Riding out a brief S3 outage, and giving up on a dead server within a bounded time.

Every request the store makes goes through ``Patience.call``. A request that fails the way a
restarting or overloaded server makes it fail (connection refused or dropped, a timeout, a 5xx
or throttling answer, a DeleteObjects that refused entries for such a reason, or an answer that
contradicts an earlier one: ``S3Contradicts``, as SeaweedFS gives while it shuts down) is sent
again, 0.2 s later, then 0.4 s, ... at most 2 s apart, until S3 answers or it has been failing for
``retry_for_s`` seconds. The clock runs per outage, not per request: requests made while S3 is
already down share what is left of the window. Once it has given up, every request gets one
attempt and no wait until one gets an answer, so the clean-up that follows a failed run fails
fast instead of waiting out the window again at each step.

When S3 answers again after an outage, a ``VenomQAWarning`` says for how long it was gone, so
that a user reading the API's 5xx findings of that moment knows why.

Every request the store sends is safe to repeat: listings and version deletions are idempotent,
and a repeated write (``put``/``delete`` from an invariant) adds a version that the next
rollback or the teardown removes like any other. boto3's own retries are off (one attempt per
call) so that this is the only retry policy.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from venomqa.errors import VenomQAWarning

from venomqa_s3._listing import RefusedDeletes

T = TypeVar("T")

log = logging.getLogger("venomqa_s3")

#: Seconds between two attempts: doubled after each failure, from the first to the largest.
FIRST_DELAY_S = 0.2
MAX_DELAY_S = 2.0

#: S3 error codes that mean "not now" rather than "no".
TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequests",
        "RequestTimeout",
        "RequestTimeoutException",
        "OperationAborted",
    }
)


class S3Contradicts(Exception):
    """S3 answered, but its answer contradicts what it said before (a listing of a key's
    versions without one it listed earlier); asked again like a failed request."""


class S3Unanswered(Exception):
    """S3 gave no usable answer for ``waited_s`` seconds; ``cause`` is the last failure."""

    def __init__(self, waited_s: float, cause: Exception) -> None:
        super().__init__(f"no answer for {waited_s:.1f}s; last: {describe(cause)}")
        self.waited_s = waited_s
        self.cause = cause


def describe(exc: Exception) -> str:
    """``TypeName: message``, short."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def is_transient(exc: Exception) -> bool:
    """Whether ``exc`` is how a restarting, unreachable or overloaded S3 fails a request."""
    from botocore import exceptions as boto

    if isinstance(exc, S3Contradicts):
        return True
    if isinstance(exc, RefusedDeletes):
        return bool(exc.codes) and all(code in TRANSIENT_CODES for code in exc.codes)
    if isinstance(exc, boto.SSLError | boto.ProxyConnectionError):
        return False  # a configuration problem: waiting does not help
    if isinstance(exc, boto.ConnectionError | boto.HTTPClientError | boto.IncompleteReadError):
        return True
    if isinstance(exc, boto.ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(error.get("Code", ""))
        numeric = int(code) if code.isdigit() else None
        return (
            code in TRANSIENT_CODES
            or (isinstance(status, int) and (status >= 500 or status == 429))
            or (numeric is not None and (numeric >= 500 or numeric == 429))
        )
    return False


@dataclass
class Patience:
    """How long the store waits for S3 to come back (see the module docstring).

    ``where`` names the bucket and endpoint in messages, ``redact`` removes credentials from
    the errors they quote; ``clock`` and ``sleep`` are injectable for tests.
    """

    retry_for_s: float
    where: str
    redact: Callable[[str], str] = str
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _down_since: float | None = field(default=None, init=False)
    _first_failure: str = field(default="", init=False)
    _gave_up: bool = field(default=False, init=False)

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()``, sent again while it fails transiently and the window is not used up.

        Raises S3Unanswered (from the last failure) once it is; other errors pass unchanged.
        """
        delay = FIRST_DELAY_S
        while True:
            try:
                result = fn()
            except Exception as exc:
                if not is_transient(exc):
                    self._answered()  # S3 said no: it is there
                    raise
                left = self._failed(exc)
                self.sleep(min(delay, left))
                delay = min(delay * 2, MAX_DELAY_S)
                continue
            self._answered()
            return result

    def _failed(self, exc: Exception) -> float:
        """Note a transient failure; the seconds left to wait, or S3Unanswered if none are."""
        with self._lock:
            now = self.clock()
            if self._down_since is None:
                self._down_since, self._first_failure = now, self.redact(describe(exc))
                log.warning(
                    "%s: S3 does not answer (%s); retrying for up to %gs",
                    self.where,
                    self._first_failure,
                    self.retry_for_s,
                )
            waited = now - self._down_since
            left = self.retry_for_s - waited
            if self._gave_up or left <= 0:
                self._gave_up = True
                raise S3Unanswered(waited, exc) from exc
            return left

    def _answered(self) -> None:
        """S3 answered: end the outage, if there was one, and say how long it lasted."""
        with self._lock:
            if self._down_since is None:
                return
            lasted = self.clock() - self._down_since
            first, gave_up = self._first_failure, self._gave_up
            self._down_since, self._first_failure, self._gave_up = None, "", False
        what = "answers again" if gave_up else "answered again and the store went on"
        warnings.warn(
            f"{self.where}: S3 gave no usable answer for {lasted:.1f}s ({first}); it {what}. API "
            "calls made meanwhile may have failed because of the outage",
            VenomQAWarning,
            stacklevel=3,
        )
