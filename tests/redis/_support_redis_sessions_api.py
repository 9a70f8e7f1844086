"""An accounts API that keeps users and sessions in Redis, run as its own process by the tests.

    python _support_redis_sessions_api.py --url redis://127.0.0.1:6379/12

Nothing it writes is the same twice: ``user:<uuid4>`` (hash: name, created_at as an ISO
timestamp), ``session:<uuid4 token>`` (a JSON string ``{"user", "issued_at"}`` with a one
hour TTL), and ``users:by-name`` (hash: name -> user id).

    POST   /users            {name}         -> 201 {id} | 409 (name taken)
    POST   /sessions         {user}         -> 201 {token} | 404
    DELETE /sessions/current (bearer)       -> 204 | 401
    PATCH  /users/me         (bearer) {name} -> 200 | 401 | 409 (name taken)
"""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import redis
from venomqa.testing.server import JsonApi, Reply, Request

api = JsonApi("redis sessions")
api.argument("--url", required=True, help="the Redis database the API keeps its data in")

SESSION_TTL_S = 3600


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _session_user(r: Any, request: Request) -> str | None:
    token = request.bearer
    raw = r.get(f"session:{token}") if token else None
    return None if raw is None else str(json.loads(raw)["user"])


@api.setup
def _connect(options: argparse.Namespace) -> Any:
    return redis.Redis.from_url(options.url, decode_responses=True)


@api.route("POST", r"/users")
def register(request: Request) -> Reply:
    r = request.state
    name = (request.body or {})["name"]
    if r.hexists("users:by-name", name):
        return 409, {"error": "name taken"}
    user_id = str(uuid.uuid4())
    r.hset(f"user:{user_id}", mapping={"name": name, "created_at": _now()})
    r.hset("users:by-name", name, user_id)
    return 201, {"id": user_id}


@api.route("POST", r"/sessions")
def login(request: Request) -> Reply:
    r = request.state
    user_id = (request.body or {})["user"]
    if not r.exists(f"user:{user_id}"):
        return 404, {"error": "no such user"}
    token = str(uuid.uuid4())
    session = json.dumps({"user": user_id, "issued_at": _now()})
    r.set(f"session:{token}", session, ex=SESSION_TTL_S)
    return 201, {"token": token}


@api.route("DELETE", r"/sessions/current")
def logout(request: Request) -> Reply:
    r = request.state
    if _session_user(r, request) is None:
        return 401, {"error": "not logged in"}
    r.delete(f"session:{request.bearer}")
    return 204, None


@api.route("PATCH", r"/users/me")
def rename(request: Request) -> Reply:
    r = request.state
    user_id = _session_user(r, request)
    if user_id is None:
        return 401, {"error": "not logged in"}
    name = (request.body or {})["name"]
    old = r.hget(f"user:{user_id}", "name")
    owner = r.hget("users:by-name", name)
    if owner is not None and owner != user_id:
        return 409, {"error": "name taken"}
    r.hdel("users:by-name", old)
    r.hset("users:by-name", name, user_id)
    r.hset(f"user:{user_id}", "name", name)
    return 200, {"id": user_id, "name": name}


if __name__ == "__main__":
    api.main()
