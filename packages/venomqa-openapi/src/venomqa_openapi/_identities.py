"""The identities of ``openapi.auth``: the headers each sends, logging in when it must.

A login's token is kept with the context as a *step result* (``ctx.set_step_result``): it is
checkpointed and rolled back with the context, so it always matches the API's stores (a login
that writes a session row is undone together with the token it gave), yet it is not part of the
state's fingerprint (a fresh random token does not make a new state). A path logs in where it
first needs an identity; when the API forgot the token anyway (a 401: a session that expired, a
store not declared), the action logs in again and re-sends once.
"""

from __future__ import annotations

import contextlib
from typing import Any

from venomqa.client import Client
from venomqa.context import ExecutionContext

from venomqa_openapi._settings import Identity
from venomqa_openapi._spec import Spec
from venomqa_openapi._wiring import resolve_pointer


class Identities:
    """Headers per identity name."""

    def __init__(self, identities: tuple[Identity, ...], spec: Spec) -> None:
        self.by_name = {identity.name: identity for identity in identities}
        self.names = [identity.name for identity in identities]
        self.spec = spec

    @property
    def main(self) -> str | None:
        """The first identity: the one every ordinary action uses."""
        return self.names[0] if self.names else None

    def headers(self, api: Client, name: str | None, ctx: ExecutionContext) -> dict[str, str]:
        """The headers ``name`` sends (logging in first if it has a login and this path holds
        no token for it)."""
        if name is None:
            return {}
        identity = self.by_name[name]
        headers = dict(identity.headers)
        login = identity.login
        if login is not None:
            token = ctx.step_result(_token_key(name))
            if not isinstance(token, str):
                token = self._log_in(api, identity)
                ctx.set_step_result(_token_key(name), token)
            headers[login.header] = login.format.format(token=token)
        return headers

    def can_refresh(self, name: str | None) -> bool:
        """Whether ``name`` logs in (so a 401 is worth a second login)."""
        return name is not None and self.by_name[name].login is not None

    def forget(self, name: str | None, ctx: ExecutionContext) -> None:
        """Drop ``name``'s token from this path: its next request logs in again."""
        if name is not None:
            ctx.set_step_result(_token_key(name), None)

    def _log_in(self, api: Client, identity: Identity) -> str:
        login = identity.login
        assert login is not None
        op = next((o for o in self.spec.operations if o.name == login.operation), None)
        if op is None:
            raise AssertionError(
                f"identity {identity.name!r}: no operation {login.operation!r} to log in with"
            )
        response = api.request(op.method, op.path, json=login.body, headers=dict(identity.headers))
        body: Any = None
        with contextlib.suppress(ValueError):
            body = response.json()
        token = resolve_pointer(body, login.token)
        if not isinstance(token, str) or response.status_code >= 300:
            raise AssertionError(
                f"identity {identity.name!r}: login via {op.name} answered "
                f"{response.status_code} without a token at {login.token}"
            )
        return token


def _token_key(name: str) -> str:
    return f"venomqa-openapi token {name}"
