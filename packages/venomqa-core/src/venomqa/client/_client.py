"""Client: the HTTP client actions receive as ``api``; it records every exchange, redacted.

``Client`` wraps an ``httpx.Client``. Each try of each request is appended to ``history`` as a
:class:`~venomqa.models.results.RequestRecord` with credentials and secrets redacted, including
tries that failed to send. HTTP error statuses are returned like any other answer; a refused or
timed-out connection raises :class:`~venomqa.errors.TargetUnreachableError` once the retry policy
gives up, and so does a call the server dropped (closed the connection, reset it) when the server
then refuses new connections: the API is gone, so the run cannot go on. Other send errors (a read
timeout, a connection dropped by a server that still accepts new ones, an exception raised by an
in-process app) are recorded and re-raised unchanged: they are findings about the API.
One exception: a request written into a kept-alive connection the server had already closed
(it answers with a reset, having read nothing) is re-sent once on a fresh connection
(``venomqa.client._stale``). ``verify`` and ``cert`` set TLS up (``venomqa.client._tls``).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from venomqa.client._inprocess import transport_for_app
from venomqa.client._recording import DEFAULT_MAX_BODY_BYTES, Recorder
from venomqa.client._stale import ConnectionTrace, closed_before_reading
from venomqa.client._tls import ClientCert, ssl_context
from venomqa.client.circuit import CircuitBreaker
from venomqa.client.redaction import SensitiveDataFilter
from venomqa.client.retry import RetryPolicy
from venomqa.client.secrets import SecretsManager
from venomqa.errors import TargetUnreachableError, UsageError
from venomqa.interrupts import INTERRUPTS
from venomqa.models.results import RequestRecord

IN_PROCESS_BASE_URL = "http://testserver"

# Keyword arguments of httpx.Client.request that belong to send(), not build_request().
_SEND_OPTIONS = ("auth", "follow_redirects")


class Client:
    """An HTTP client bound to the API under test, recording every exchange in ``history``.

    ``base_url`` is the API's root (``http://127.0.0.1:8000``); relative URLs are joined to it.
    ``app`` serves requests from an in-process WSGI or ASGI app instead (ASGI is detected from an
    ``async`` callable; ``asgi=True``/``False`` overrides the guess); ``base_url`` then defaults
    to ``http://testserver``. ``retry`` defaults to no retries. ``redactor`` decides what is
    hidden in records; the secrets of ``auth`` and the values of credential ``headers`` are
    registered with its SecretsManager (``client.secrets``) so they never appear in records.

    The request methods take httpx's keyword arguments (``json``, ``params``, ``headers``, ...)
    and pass them to httpx unchanged, so they are typed as httpx types them.

    ``verify`` (True, False, or a CA bundle path) and ``cert`` (a PEM path holding certificate
    and key, or a ``(certificate, key)`` pair) configure TLS for ``https://`` targets.
    """

    def __init__(
        self,
        base_url: str = "",
        *,
        app: Any = None,  # a WSGI or ASGI callable, told apart at run time (see ``asgi``)
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        retry: RetryPolicy | None = None,
        circuit_breaker: CircuitBreaker | None = None,
        timeout: float = 10.0,
        redactor: SensitiveDataFilter | None = None,
        asgi: bool | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        verify: bool | str = True,
        cert: ClientCert | None = None,
    ) -> None:
        if app is not None and not base_url:
            base_url = IN_PROCESS_BASE_URL
        self.base_url: str = base_url
        self.app = app
        self.retry: RetryPolicy = retry if retry is not None else RetryPolicy.never()
        self.circuit_breaker = circuit_breaker
        self.timeout = timeout
        self.redactor: SensitiveDataFilter = (
            redactor if redactor is not None else (SensitiveDataFilter())
        )
        self.history: list[RequestRecord] = []
        self._dropped = 0
        self._recorder = Recorder(self.redactor, max_body_bytes)
        self._register_secrets(headers, auth)
        transport = transport_for_app(app, asgi=asgi) if app is not None else None
        self._http = httpx.Client(
            base_url=base_url,
            headers=dict(headers) if headers else None,
            auth=auth,
            timeout=timeout,
            transport=transport,
            verify=ssl_context(verify, cert),
        )

    @property
    def secrets(self) -> SecretsManager:
        """The SecretsManager whose values are masked in every record."""
        return self.redactor.secrets

    # -- requests ----------------------------------------------------------------------------

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send a request (httpx keyword arguments), record it, and return the response."""
        method = method.upper()
        send_options = {key: kwargs.pop(key) for key in _SEND_OPTIONS if key in kwargs}
        request = self._build(method, url, kwargs)
        breaker = self.circuit_breaker
        if breaker is not None:
            breaker.before_request(f"{method} {self._redacted_url(request)}")
        policy = self.retry
        attempt = 0
        resent = False  # re-sent once already because the server had closed the connection
        while True:
            attempt += 1
            if attempt > 1:
                request = self._build(method, url, kwargs)  # a fresh request for each try
            trace = ConnectionTrace()
            if self.app is None:
                request.extensions["trace"] = trace
            started = time.perf_counter()
            try:
                # A stop signal waits for the answer: the API has then finished (and committed)
                # what this call started, so the rollback that follows sees all of it.
                with INTERRUPTS.critical():
                    response = self._http.send(request, **send_options)
            except Exception as exc:
                elapsed = time.perf_counter() - started
                self.history.append(self._recorder.failure(request, exc, elapsed))
                if not resent and self.app is None and closed_before_reading(exc, trace):
                    resent = True  # the server never read it: not a try of the API
                    attempt -= 1
                    continue
                if policy.retries_exception(exc, method, attempt):
                    policy.sleep(policy.delay(attempt))
                    continue
                if breaker is not None:
                    breaker.record_failure()
                translated = self._translate(exc, request)
                if translated is None:
                    raise
                raise translated from exc
            except BaseException:
                if breaker is not None:
                    breaker.record_failure()  # e.g. Ctrl-C mid-probe: never leave a probe hanging
                raise
            elapsed = time.perf_counter() - started
            self.history.append(self._recorder.exchange(response, elapsed))
            if policy.retries_status(response.status_code, method, attempt):
                response.close()
                policy.sleep(policy.delay(attempt, response))
                continue
            if breaker is not None:
                breaker.record_status(response.status_code)
            return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        """Send a GET request."""
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        """Send a POST request."""
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        """Send a PUT request."""
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        """Send a PATCH request."""
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        """Send a DELETE request."""
        return self.request("DELETE", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> httpx.Response:
        """Send a HEAD request."""
        return self.request("HEAD", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> httpx.Response:
        """Send an OPTIONS request."""
        return self.request("OPTIONS", url, **kwargs)

    # -- history -----------------------------------------------------------------------------

    def mark(self) -> int:
        """A position in the history; ``records_since(mark)`` returns what came after it."""
        return self._dropped + len(self.history)

    def records_since(self, mark: int) -> list[RequestRecord]:
        """The records appended since ``mark`` was taken (a new list)."""
        return self.history[max(0, mark - self._dropped) :]

    def clear_history(self) -> None:
        """Forget the recorded exchanges (frees memory); marks taken earlier stay valid."""
        self._dropped += len(self.history)
        self.history.clear()

    # -- lifecycle ---------------------------------------------------------------------------

    def check_reachable(self) -> None:
        """Send one cheap GET to the base URL; raise TargetUnreachableError if it cannot connect.

        Any HTTP status counts as reachable. The probe is not recorded and bypasses the retry
        policy and the circuit breaker.
        """
        if not self.base_url:
            raise UsageError("the Client has no base_url and no app, so there is nothing to reach")
        shown = self.redactor.redact_url(self.base_url)
        try:
            response = self._http.request("GET", "", timeout=self.timeout)
        except httpx.TransportError as exc:
            detail = self.redactor.redact_text(str(exc)) or "no details"
            hint = _tls_hint(detail) or "check that the server is running and that the URL is right"
            raise TargetUnreachableError(
                f"the API under test at {shown} is unreachable ({type(exc).__name__}: "
                f"{detail}); {hint}"
            ) from exc
        except Exception:
            if self.app is None:
                raise
            return  # an in-process app that fails on "/" is still there to be tested
        response.close()

    def close(self) -> None:
        """Close connections (and stop an in-process ASGI app's event loop)."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.redactor.redact_url(self.base_url)
        kind = " (in-process app)" if self.app is not None else ""
        return f"Client({where!r}{kind}, {len(self.history)} record(s))"

    # -- helpers -----------------------------------------------------------------------------

    def _build(self, method: str, url: str, options: dict[str, Any]) -> httpx.Request:
        try:
            return self._http.build_request(method, url, **options)
        except TypeError as exc:
            raise UsageError(f"{method} {url}: could not build the request: {exc}") from exc

    def _redacted_url(self, request: httpx.Request) -> str:
        return self.redactor.redact_url(str(request.url))

    def _translate(self, exc: Exception, request: httpx.Request) -> Exception | None:
        where = f"{request.method} {self._redacted_url(request)}"
        detail = self.redactor.redact_text(str(exc)) or "no details"
        if isinstance(exc, httpx.UnsupportedProtocol):
            return UsageError(
                f"{where}: {detail}; give the Client a base_url such as http://127.0.0.1:8000 "
                "or use an absolute URL"
            )
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            tries = f" after {self.retry.attempts} tries" if self.retry.attempts > 1 else ""
            hint = _tls_hint(detail) or "check that the server is running"
            return TargetUnreachableError(
                f"cannot connect to the API under test for {where}{tries}: "
                f"{type(exc).__name__}: {detail}; {hint}"
            )
        if isinstance(exc, httpx.TransportError) and self.app is None:
            refused = _refuses_connections(request.url)
            if refused is not None:  # not a dropped call: the server itself is gone
                return TargetUnreachableError(
                    f"the API under test stopped answering during {where} "
                    f"({type(exc).__name__}: {detail}) and now refuses connections ({refused}); "
                    "check that the server is running"
                )
        return None

    def _register_secrets(self, headers: Mapping[str, str] | None, auth: httpx.Auth | None) -> None:
        secrets = self.redactor.secrets
        values = getattr(auth, "secret_values", None)
        if callable(values):
            for value in values():
                secrets.register(value)
        for name, value in (headers or {}).items():
            if self.redactor.is_sensitive_header(name):
                secrets.register(value.split(" ", 1)[-1] if " " in value else value)


__all__ = ["IN_PROCESS_BASE_URL", "Client"]


def _refuses_connections(url: httpx.URL, timeout: float = 2.0) -> str | None:
    """Why a TCP connection to ``url``'s host cannot be opened, or None when it can."""
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.host, port), timeout=timeout):
            return None
    except OSError as exc:
        return str(exc) or type(exc).__name__


def _tls_hint(detail: str) -> str | None:
    """What to set when a TLS handshake failed the way ``detail`` says, or None."""
    if "CERTIFICATE_VERIFY_FAILED" in detail:
        return (
            "the server's TLS certificate is not trusted: give its CA bundle as "
            "`client: {verify: PATH}` in venomqa.yaml (or Client(verify=PATH))"
        )
    if "CERTIFICATE_REQUIRED" in detail.upper() or "certificate required" in detail:
        return (
            "the server requires a client certificate: give it as `client: {cert: PATH}` "
            "(certificate and key in one PEM) or `client: {cert: [CERT, KEY]}` in venomqa.yaml"
        )
    return None
