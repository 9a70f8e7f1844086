"""A tiny API that requires a login token, with a seeded 500 behind it (for ``venomqa replay``).

- ``POST /login`` answers a new random token (each login another one).
- ``POST /notes`` (``Authorization: Bearer TOKEN``) stores a note and answers 201; without a
  valid token, 401.
- ``POST /notes/export`` (token required) answers the caller's note count; asked for
  ``{"format": "csv"}`` it fails with a 500: the seeded bug.

Run: ``python token_api.py``.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

from venomqa.testing.server import HttpError, JsonApi, Reply, Request

api = JsonApi("token")


@dataclass
class _State:
    tokens: set[str] = field(default_factory=set)
    notes: dict[str, int] = field(default_factory=dict)  # by token
    lock: threading.Lock = field(default_factory=threading.Lock)


@api.setup
def start(options: object) -> _State:
    return _State()


def _authorised(request: Request) -> tuple[_State, str]:
    state: _State = request.state
    token = request.bearer
    if token is None or token not in state.tokens:
        raise HttpError(401, {"error": "log in first"})
    return state, token


@api.route("POST", "/login")
def login(request: Request) -> Reply:
    state: _State = request.state
    token = secrets.token_hex(8)
    with state.lock:
        state.tokens.add(token)
    return 200, {"token": token}


@api.route("POST", "/notes")
def add_note(request: Request) -> Reply:
    state, token = _authorised(request)
    with state.lock:
        state.notes[token] = state.notes.get(token, 0) + 1
    return 201, {"id": state.notes[token]}


@api.route("POST", "/notes/export")
def export(request: Request) -> Reply:
    state, token = _authorised(request)
    body = request.body if isinstance(request.body, dict) else {}
    if body.get("format") == "csv":
        raise RuntimeError("no CSV writer")  # the seeded bug: a 500
    return 200, {"notes": state.notes.get(token, 0)}


if __name__ == "__main__":
    api.main()
