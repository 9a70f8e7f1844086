"""The blog demo API: what real APIs store, and two seeded bugs.

Nothing it writes is the same twice: uuid4 primary and foreign keys, ``created_at`` and
``updated_at`` rewritten on every change, salted password hashes (PBKDF2, random salt), JWTs
handed out at login (random ``jti``, ``iat``, signed with a key made at start-up), a random
``checksum`` rewritten on every edit, sessions expiring an hour from now.

    POST   /users              {name, password}       -> 201 {id, name} | 409
    POST   /login              {name, password}       -> 200 {token} | 401
    POST   /logout             (bearer)               -> 204 | 401
    POST   /posts              (bearer) {title, body} -> 201 {id, title}
    GET    /posts                                     -> 200 [post]
    GET    /posts/ID                                  -> 200 {post, comments} | 404
    PATCH  /posts/ID           (bearer) {title}       -> 200 | 403 | 404
    DELETE /posts/ID           (bearer)               -> 204 | 404
    POST   /posts/ID/comments  (bearer) {text}        -> 201 {id} | 404
    GET    /comments                                  -> 200 [comment]
    POST   /tickets                                   -> 201 {count}

Seeded bugs: ``DELETE /posts/ID`` does not check that the caller wrote the post, and leaves the
post's comments behind. ``POST /tickets`` is nondeterministic in a way no field explains (one
ticket, then two on the next call, then one...).

Run it: ``python -m venomqa.demo.blog --storage sqlite:blog.db`` (or ``MODULE:FUNCTION:ARG`` for
a ``BlogStorage`` another package provides, as the PostgreSQL and Redis test suites do).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import importlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from venomqa.demo.blog.storage import BlogStorage, SqliteBlogStorage
from venomqa.testing.server import HttpError, JsonApi, Reply, Request

api = JsonApi("blog demo")
api.argument(
    "--storage",
    required=True,
    help="sqlite:PATH, or MODULE:FUNCTION:ARGUMENT returning a BlogStorage",
)


class Blog:
    """The process's state: its storage, the JWT signing key, a lock for read-then-write."""

    def __init__(self, storage: BlogStorage) -> None:
        self.storage = storage
        self.key = secrets.token_bytes(32)
        self.lock = threading.Lock()
        self.ticket_calls = 0

    def token(self, user_id: str, jti: str) -> str:
        header = _b64({"alg": "HS256", "typ": "JWT"})
        payload = _b64({"sub": user_id, "jti": jti, "iat": int(time.time())})
        return f"{header}.{payload}.{self._sign(f'{header}.{payload}')}"

    def caller(self, request: Request) -> str:
        """The id of the user whose valid token the request carries; else a 401 answer."""
        token = request.bearer
        user = None
        if token is not None and token.count(".") == 2:
            header, payload, signature = token.split(".")
            if hmac.compare_digest(self._sign(f"{header}.{payload}"), signature):
                claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
                user = self.storage.session_user(str(claims["jti"]))
        if user is None:
            raise HttpError(401, {"error": "not logged in"})
        return user

    def _sign(self, text: str) -> str:
        digest = hmac.new(self.key, text.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def open_storage(spec: str) -> BlogStorage:
    """``sqlite:PATH`` or ``MODULE:FUNCTION:ARGUMENT`` (``FUNCTION(ARGUMENT)`` is the storage)."""
    kind, _, rest = spec.partition(":")
    if kind == "sqlite":
        return SqliteBlogStorage(rest)
    function, _, argument = rest.partition(":")
    storage: BlogStorage = getattr(importlib.import_module(kind), function)(argument)
    return storage


@api.setup
def _start(options: argparse.Namespace) -> Blog:
    return Blog(open_storage(options.storage))


def _blog(request: Request) -> Blog:
    """The process's Blog (what ``_start`` returned)."""
    blog = request.state
    if not isinstance(blog, Blog):
        raise TypeError(f"the blog API is not set up (its state is {blog!r})")
    return blog


def _field(request: Request, name: str) -> str:
    """The text ``name`` of the JSON body; missing (KeyError) or not text (TypeError) is a 500."""
    body = request.body if isinstance(request.body, dict) else {}
    value = body[name]
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {value!r}")
    return value


def _b64(data: Mapping[str, str | int]) -> str:
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


@api.route("POST", r"/users")
def register(request: Request) -> Reply:
    blog = _blog(request)
    user = {
        "id": str(uuid.uuid4()),
        "name": _field(request, "name"),
        "password_hash": _hash_password(_field(request, "password")),
        "created_at": _now(),
    }
    with blog.lock:
        if not blog.storage.add_user(user):
            return 409, {"error": "name taken"}
    return 201, {"id": user["id"], "name": user["name"]}


@api.route("POST", r"/login")
def login(request: Request) -> Reply:
    blog = _blog(request)
    user = blog.storage.user_named(_field(request, "name"))
    if user is None or not _password_ok(user["password_hash"], _field(request, "password")):
        return 401, {"error": "bad credentials"}
    jti = secrets.token_urlsafe(12)
    expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    session = {"jti": jti, "user_id": user["id"], "created_at": _now(), "expires_at": expires}
    blog.storage.add_session(session)
    return 200, {"token": blog.token(user["id"], jti)}


@api.route("POST", r"/logout")
def logout(request: Request) -> Reply:
    blog = _blog(request)
    user = blog.caller(request)
    blog.storage.end_sessions(user)
    return 204, None


@api.route("POST", r"/posts")
def create_post(request: Request) -> Reply:
    blog = _blog(request)
    user = blog.caller(request)
    now = _now()
    post = {
        "id": str(uuid.uuid4()),
        "author_id": user,
        "title": _field(request, "title"),
        "body": _field(request, "body"),
        "checksum": secrets.token_hex(8),
        "created_at": now,
        "updated_at": now,
    }
    blog.storage.add_post(post)
    return 201, {"id": post["id"], "title": post["title"]}


@api.route("GET", r"/posts")
def list_posts(request: Request) -> Reply:
    blog = _blog(request)
    return 200, blog.storage.posts()


@api.route("GET", r"/posts/(?P<id>[0-9a-f-]+)")
def read_post(request: Request) -> Reply:
    blog = _blog(request)
    post = blog.storage.post(request.params["id"])
    if post is None:
        return 404, {"error": "no such post"}
    comments = [c for c in blog.storage.comments() if c["post_id"] == post["id"]]
    return 200, {"post": post, "comments": comments}


@api.route("PATCH", r"/posts/(?P<id>[0-9a-f-]+)")
def edit_post(request: Request) -> Reply:
    blog = _blog(request)
    user = blog.caller(request)
    post = blog.storage.post(request.params["id"])
    if post is None:
        return 404, {"error": "no such post"}
    if post["author_id"] != user:
        return 403, {"error": "not your post"}
    changes = {
        "title": _field(request, "title"),
        "checksum": secrets.token_hex(8),
        "updated_at": _now(),
    }
    blog.storage.update_post(post["id"], changes)
    return 200, {"id": post["id"]}


@api.route("DELETE", r"/posts/(?P<id>[0-9a-f-]+)")
def delete_post(request: Request) -> Reply:
    blog = _blog(request)
    blog.caller(request)
    # Seeded bugs: no check that the caller wrote the post; its comments stay behind.
    if not blog.storage.delete_post(request.params["id"]):
        return 404, {"error": "no such post"}
    return 204, None


@api.route("POST", r"/posts/(?P<id>[0-9a-f-]+)/comments")
def comment(request: Request) -> Reply:
    blog = _blog(request)
    user = blog.caller(request)
    if blog.storage.post(request.params["id"]) is None:
        return 404, {"error": "no such post"}
    new = {
        "id": str(uuid.uuid4()),
        "post_id": request.params["id"],
        "author_id": user,
        "text": _field(request, "text"),
        "created_at": _now(),
    }
    blog.storage.add_comment(new)
    return 201, {"id": new["id"]}


@api.route("GET", r"/comments")
def list_comments(request: Request) -> Reply:
    blog = _blog(request)
    return 200, blog.storage.comments()


@api.route("POST", r"/tickets")
def buy_tickets(request: Request) -> Reply:
    blog = _blog(request)
    with blog.lock:
        blog.ticket_calls += 1
        count = 1 + blog.ticket_calls % 2
    blog.storage.add_tickets(
        [{"id": str(uuid.uuid4()), "created_at": _now()} for _ in range(count)]
    )
    return 201, {"count": count}
