"""Transports that call an in-process WSGI or ASGI app instead of opening a socket.

httpx's synchronous client only speaks WSGI in-process; :class:`SyncASGITransport` bridges to
ASGI by running the app on one private event loop in a background thread (so the app's
loop-bound state survives between requests, and it works even when the caller is itself inside
a running event loop). ASGI lifespan events are not sent: an app that needs startup work done
should do it before it is handed to the client.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
from typing import Any

import httpx


def is_asgi_app(app: object) -> bool:
    """Whether ``app`` looks like an ASGI app (a coroutine function, or ``async def __call__``)."""
    if inspect.iscoroutinefunction(app):
        return True
    call = getattr(app, "__call__", None)  # noqa: B004 - we need the method itself, not callable()
    return call is not None and inspect.iscoroutinefunction(call)


def transport_for_app(app: Any, *, asgi: bool | None = None) -> httpx.BaseTransport:
    """The transport that serves requests from ``app`` (ASGI if detected or ``asgi=True``).

    ``app`` is a WSGI or an ASGI callable; which one is decided here, at run time, so it reaches
    httpx's transports untyped.
    """
    if asgi is None:
        asgi = is_asgi_app(app)
    if asgi:
        return SyncASGITransport(app)
    return httpx.WSGITransport(app=app)


class SyncASGITransport(httpx.BaseTransport):
    """A synchronous httpx transport that runs an ASGI app on a private event loop."""

    def __init__(self, app: Any, *, root_path: str = "") -> None:  # as httpx.ASGITransport
        self._inner = httpx.ASGITransport(app=app, root_path=root_path)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # turns any body into a ByteStream, which is also an async stream
        loop = self._running_loop()
        future = asyncio.run_coroutine_threadsafe(self._send(request), loop)
        timeout = request.extensions.get("timeout", {}).get("read")
        try:
            return future.result(timeout=timeout)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise httpx.ReadTimeout(
                f"the ASGI app did not answer within {timeout} s", request=request
            ) from exc

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        body = await response.aread()
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(body),
            extensions=response.extensions,
        )

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="venomqa-asgi-loop", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


__all__ = ["SyncASGITransport", "is_asgi_app", "transport_for_app"]
