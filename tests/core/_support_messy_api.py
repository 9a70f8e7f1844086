"""A blog API that stores what real APIs store, run as its own process on a SQLite file.

    python _support_messy_api.py --db blog.db

Nothing it writes is the same twice: uuid4 primary and foreign keys, ``created_at`` and
``updated_at`` rewritten on every change, salted password hashes (PBKDF2 with a random salt),
JWTs handed out at login (random ``jti``, ``iat``; signed with a key made at start-up), a random
``checksum`` rewritten on every edit, session expiry one hour from now.

    POST   /users                {name, password}   -> 201 {id, name} | 409
    POST   /login                {name, password}   -> 200 {token} | 401
    POST   /logout               (bearer)           -> 204 | 401
    POST   /posts                (bearer) {title, body} -> 201 {id, ...}
    PATCH  /posts/ID             (bearer) {title}   -> 200 | 403 | 404
    DELETE /posts/ID             (bearer)           -> 204 | 404
    POST   /posts/ID/comments    (bearer) {text}    -> 201 {id} | 404
    GET    /posts/ID                                -> 200 {post, comments} | 404
    POST   /tickets                                 -> 201 {count}

``POST /tickets`` is nondeterministic in a way no field explains: it creates one ticket, then
two on the next call, then one again...

Seeded bugs: DELETE /posts/ID does not check that the caller wrote the post (any logged-in user
may delete it), and deleting a post leaves its comments behind.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import sqlite3
import time
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

from venomqa.testing.server import JsonApi, Reply, Request

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    jti TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL, expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS posts (
    id TEXT PRIMARY KEY, author_id TEXT NOT NULL REFERENCES users(id), title TEXT NOT NULL,
    body TEXT NOT NULL, checksum TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tickets (id TEXT PRIMARY KEY, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS comments (
    id TEXT PRIMARY KEY, post_id TEXT NOT NULL, author_id TEXT NOT NULL REFERENCES users(id),
    text TEXT NOT NULL, created_at TEXT NOT NULL
);
"""

api = JsonApi("messy blog")
api.argument("--db", required=True, help="SQLite file the blog keeps its data in")


class Blog:
    """The process's state: where the data is and the key JWTs are signed with."""

    def __init__(self, db: str) -> None:
        self.db = db
        self.key = secrets.token_bytes(32)
        self.ticket_calls = 0

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db, timeout=10)
        conn.row_factory = sqlite3.Row
        return conn

    def token(self, user_id: str, jti: str) -> str:
        header = _b64({"alg": "HS256", "typ": "JWT"})
        payload = _b64({"sub": user_id, "jti": jti, "iat": int(time.time())})
        signature = hmac.new(self.key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"

    def session_user(self, conn: sqlite3.Connection, request: Request) -> str | None:
        token = request.bearer
        if token is None or token.count(".") != 2:
            return None
        header, payload, signature = token.split(".")
        expected = hmac.new(self.key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        if not hmac.compare_digest(expected, given):
            return None
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        row = conn.execute(
            "SELECT user_id FROM sessions WHERE jti = ?", (claims["jti"],)
        ).fetchone()
        return None if row is None else str(row["user_id"])


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _hash_password(password: str) -> str:
    salt = secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 1000).hex()
    return f"pbkdf2:sha256:1000${salt}${digest}"


def _password_ok(stored: str, password: str) -> bool:
    _, salt, digest = stored.split("$")
    again = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 1000).hex()
    return hmac.compare_digest(again, digest)


@api.setup
def _open(options: argparse.Namespace) -> Blog:
    with closing(sqlite3.connect(options.db)) as conn:
        conn.executescript(SCHEMA)
    return Blog(options.db)


@api.route("POST", r"/users")
def register(request: Request) -> Reply:
    blog: Blog = request.state
    body = request.body or {}
    with closing(blog.connect()) as conn, conn:
        if conn.execute("SELECT 1 FROM users WHERE name = ?", (body["name"],)).fetchone():
            return 409, {"error": "name taken"}
        user_id = str(uuid.uuid4())
        conn.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?)",
            (user_id, body["name"], _hash_password(body["password"]), _now()),
        )
    return 201, {"id": user_id, "name": body["name"]}


@api.route("POST", r"/login")
def login(request: Request) -> Reply:
    blog: Blog = request.state
    body = request.body or {}
    with closing(blog.connect()) as conn, conn:
        row = conn.execute("SELECT * FROM users WHERE name = ?", (body["name"],)).fetchone()
        if row is None or not _password_ok(row["password_hash"], body["password"]):
            return 401, {"error": "bad credentials"}
        jti = secrets.token_urlsafe(12)
        expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        conn.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", (jti, row["id"], _now(), expires))
    return 200, {"token": blog.token(row["id"], jti)}


@api.route("POST", r"/logout")
def logout(request: Request) -> Reply:
    blog: Blog = request.state
    with closing(blog.connect()) as conn, conn:
        if blog.session_user(conn, request) is None:
            return 401, {"error": "not logged in"}
        conn.execute("DELETE FROM sessions WHERE user_id = ?", (blog.session_user(conn, request),))
    return 204, None


@api.route("POST", r"/posts")
def create_post(request: Request) -> Reply:
    blog: Blog = request.state
    body = request.body or {}
    with closing(blog.connect()) as conn, conn:
        user = blog.session_user(conn, request)
        if user is None:
            return 401, {"error": "not logged in"}
        post_id, now = str(uuid.uuid4()), _now()
        conn.execute(
            "INSERT INTO posts VALUES (?, ?, ?, ?, ?, ?, ?)",
            (post_id, user, body["title"], body["body"], secrets.token_hex(8), now, now),
        )
    return 201, {"id": post_id, "title": body["title"]}


@api.route("PATCH", r"/posts/(?P<id>[0-9a-f-]+)")
def edit_post(request: Request) -> Reply:
    blog: Blog = request.state
    with closing(blog.connect()) as conn, conn:
        user = blog.session_user(conn, request)
        if user is None:
            return 401, {"error": "not logged in"}
        row = conn.execute("SELECT * FROM posts WHERE id = ?", (request.params["id"],)).fetchone()
        if row is None:
            return 404, {"error": "no such post"}
        if row["author_id"] != user:
            return 403, {"error": "not your post"}
        conn.execute(
            "UPDATE posts SET title = ?, checksum = ?, updated_at = ? WHERE id = ?",
            ((request.body or {})["title"], secrets.token_hex(8), _now(), row["id"]),
        )
    return 200, {"id": row["id"]}


@api.route("DELETE", r"/posts/(?P<id>[0-9a-f-]+)")
def delete_post(request: Request) -> Reply:
    blog: Blog = request.state
    with closing(blog.connect()) as conn, conn:
        if blog.session_user(conn, request) is None:
            return 401, {"error": "not logged in"}
        # Seeded bugs: no check that the caller wrote the post; its comments stay behind.
        deleted = conn.execute("DELETE FROM posts WHERE id = ?", (request.params["id"],))
        if deleted.rowcount == 0:
            return 404, {"error": "no such post"}
    return 204, None


@api.route("POST", r"/posts/(?P<id>[0-9a-f-]+)/comments")
def comment(request: Request) -> Reply:
    blog: Blog = request.state
    with closing(blog.connect()) as conn, conn:
        user = blog.session_user(conn, request)
        if user is None:
            return 401, {"error": "not logged in"}
        post = conn.execute("SELECT id FROM posts WHERE id = ?", (request.params["id"],))
        if post.fetchone() is None:
            return 404, {"error": "no such post"}
        comment_id = str(uuid.uuid4())
        conn.execute(
            "INSERT INTO comments VALUES (?, ?, ?, ?, ?)",
            (comment_id, request.params["id"], user, (request.body or {})["text"], _now()),
        )
    return 201, {"id": comment_id}


@api.route("POST", r"/tickets")
def buy_tickets(request: Request) -> Reply:
    blog: Blog = request.state
    blog.ticket_calls += 1
    count = 1 + blog.ticket_calls % 2
    with closing(blog.connect()) as conn, conn:
        for _ in range(count):
            conn.execute("INSERT INTO tickets VALUES (?, ?)", (str(uuid.uuid4()), _now()))
    return 201, {"count": count}


@api.route("GET", r"/posts/(?P<id>[0-9a-f-]+)")
def read_post(request: Request) -> Reply:
    blog: Blog = request.state
    with closing(blog.connect()) as conn:
        row = conn.execute("SELECT * FROM posts WHERE id = ?", (request.params["id"],)).fetchone()
        if row is None:
            return 404, {"error": "no such post"}
        comments = conn.execute("SELECT * FROM comments WHERE post_id = ?", (row["id"],))
        return 200, {"post": dict(row), "comments": [dict(c) for c in comments]}


if __name__ == "__main__":
    api.main()
