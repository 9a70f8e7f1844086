"""Authentication for the client: bearer tokens, API keys and HTTP Basic, as ``httpx.Auth``.

Each class also offers ``secret_values()``; the client registers those values with its
SecretsManager so the token, key or password never appears in a RequestRecord, whatever
header, URL or body it ends up in. ``repr()`` never shows them either.
"""

from __future__ import annotations

import base64
from collections.abc import Generator

import httpx

from venomqa.errors import UsageError


class BearerAuth(httpx.Auth):
    """Sends ``Authorization: Bearer <token>`` with every request."""

    def __init__(self, token: str) -> None:
        if not token:
            raise UsageError("BearerAuth: the token is empty")
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def secret_values(self) -> tuple[str, ...]:
        """The values to keep out of records."""
        return (self._token,)

    def __repr__(self) -> str:
        return "BearerAuth(token=***)"


class ApiKeyAuth(httpx.Auth):
    """Sends an API key in a header (``X-API-Key`` by default) or in a query parameter.

    ``ApiKeyAuth(key)`` sets ``X-API-Key``; ``ApiKeyAuth(key, header="X-Token")`` another header;
    ``ApiKeyAuth(key, query_param="api_key")`` appends ``?api_key=<key>`` instead of a header.
    """

    def __init__(
        self, key: str, header: str = "X-API-Key", *, query_param: str | None = None
    ) -> None:
        if not key:
            raise UsageError("ApiKeyAuth: the key is empty")
        if query_param is None and not header:
            raise UsageError("ApiKeyAuth: give a header name or a query_param name")
        self._key = key
        self.header = header
        self.query_param = query_param

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.query_param is not None:
            request.url = request.url.copy_merge_params({self.query_param: self._key})
        else:
            request.headers[self.header] = self._key
        yield request

    def secret_values(self) -> tuple[str, ...]:
        """The values to keep out of records."""
        return (self._key,)

    def __repr__(self) -> str:
        if self.query_param is not None:
            return f"ApiKeyAuth(key=***, query_param={self.query_param!r})"
        return f"ApiKeyAuth(key=***, header={self.header!r})"


class BasicAuth(httpx.Auth):
    """HTTP Basic authentication: ``Authorization: Basic base64(user:password)``."""

    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self._password = password
        credentials = f"{user}:{password}".encode()
        self._encoded = base64.b64encode(credentials).decode("ascii")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Basic {self._encoded}"
        yield request

    def secret_values(self) -> tuple[str, ...]:
        """The values to keep out of records: the password and the encoded credentials."""
        return (self._password, self._encoded)

    def __repr__(self) -> str:
        return f"BasicAuth(user={self.user!r}, password=***)"


__all__ = ["ApiKeyAuth", "BasicAuth", "BearerAuth"]
