"""The blog demo's storage on Redis, as a real Redis-backed API would keep it (redis-py).

``python -m venomqa.demo.blog --storage _support_redis_blog:open_storage:redis://HOST:PORT/DB``
(with this folder on PYTHONPATH) runs the blog on it. Nothing it writes is the same twice:

- ``user:<uuid>``: a hash (name, password_hash, created_at);
- ``user-name:<name>``: a string, the user's id (the index ``add_user`` claims with SET NX);
- ``session:<jti>``: a hash (user_id, created_at, expires_at) that expires in an hour;
- ``post:<uuid>``: a JSON string (author_id, title, body, checksum, created_at, updated_at);
- ``comment:<uuid>``: a JSON string (post_id, author_id, text, created_at);
- ``ticket:<uuid>``: a string, its created_at.

The record ids live in the key names only (a JSON value or hash does not repeat them), so the
explorer sees ids inside key names and, as foreign keys, whole values. ``posts()``,
``comments()`` and ``end_sessions()`` SCAN their family: it is a demo API.
"""

from __future__ import annotations

import json
from typing import Any

import redis

Row = dict[str, Any]

SESSION_TTL_S = 3600


class RedisBlogStorage:
    """The blog's data in one Redis database (a connection pool, like a real API's)."""

    def __init__(self, url: str) -> None:
        self.r: Any = redis.Redis.from_url(url, decode_responses=True)  # replies are str

    # -- users and sessions --------------------------------------------------------------------

    def add_user(self, user: Row) -> bool:
        if not self.r.set(f"user-name:{user['name']}", user["id"], nx=True):
            return False
        fields = {name: user[name] for name in ("name", "password_hash", "created_at")}
        self.r.hset(f"user:{user['id']}", mapping=fields)
        return True

    def user_named(self, name: str) -> Row | None:
        user_id = self.r.get(f"user-name:{name}")
        if user_id is None:
            return None
        fields = self.r.hgetall(f"user:{user_id}")
        if not fields:  # the name is claimed but the hash not written yet
            return None
        return {"id": user_id, **fields}

    def add_session(self, session: Row) -> None:
        key = f"session:{session['jti']}"
        fields = {name: session[name] for name in ("user_id", "created_at", "expires_at")}
        with self.r.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, SESSION_TTL_S)
            pipe.execute()

    def session_user(self, jti: str) -> str | None:
        user_id = self.r.hget(f"session:{jti}", "user_id")
        return None if user_id is None else str(user_id)

    def end_sessions(self, user_id: str) -> None:
        keys = [
            key
            for key in self.r.scan_iter(match="session:*", _type="hash")
            if self.r.hget(key, "user_id") == user_id
        ]
        if keys:
            self.r.delete(*keys)

    # -- posts and comments --------------------------------------------------------------------

    def add_post(self, post: Row) -> None:
        self.r.set(f"post:{post['id']}", json.dumps(_without_id(post)))

    def post(self, post_id: str) -> Row | None:
        return _row(post_id, self.r.get(f"post:{post_id}"))

    def update_post(self, post_id: str, changes: Row) -> None:
        key = f"post:{post_id}"

        def rewrite(pipe: Any) -> None:
            raw = pipe.get(key)
            if raw is None:
                return
            pipe.multi()
            pipe.set(key, json.dumps({**json.loads(raw), **changes}))

        self.r.transaction(rewrite, key)

    def delete_post(self, post_id: str) -> bool:
        return bool(self.r.delete(f"post:{post_id}"))

    def add_comment(self, comment: Row) -> None:
        self.r.set(f"comment:{comment['id']}", json.dumps(_without_id(comment)))

    def posts(self) -> list[Row]:
        return self._family("post")

    def comments(self) -> list[Row]:
        return self._family("comment")

    def _family(self, name: str) -> list[Row]:
        keys = sorted(self.r.scan_iter(match=f"{name}:*", _type="string"))
        values = self.r.mget(keys) if keys else []
        rows = [
            row
            for key, raw in zip(keys, values, strict=True)
            if (row := _row(key.split(":", 1)[1], raw)) is not None
        ]
        return sorted(rows, key=lambda row: (row["created_at"], row["id"]))

    # -- tickets -------------------------------------------------------------------------------

    def add_tickets(self, tickets: list[Row]) -> None:
        with self.r.pipeline(transaction=True) as pipe:
            for ticket in tickets:
                pipe.set(f"ticket:{ticket['id']}", ticket["created_at"])
            pipe.execute()


def _without_id(row: Row) -> Row:
    return {name: value for name, value in row.items() if name != "id"}


def _row(record_id: str, raw: str | None) -> Row | None:
    return None if raw is None else {"id": record_id, **json.loads(raw)}


def open_storage(url: str) -> RedisBlogStorage:
    """The storage the blog's ``--storage _support_redis_blog:open_storage:URL`` asks for."""
    return RedisBlogStorage(url)
