"""Actions, invariants and an independent abstract model of the messy blog API
(``_support_messy_api.py``), plus helpers to run it.

The model knows nothing of VenomQA: it is the API's behaviour on abstract values (who is
registered, who is logged in, what happened to the one post and its comment), explored by its own
BFS. The explorer must find exactly its states and the shortest paths to its two bugs although no
value the API stores is ever the same twice.
"""

from __future__ import annotations

import sqlite3
import sys
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from venomqa import Severity, action, invariant
from venomqa.testing.server import ApiProcess, start_api_process

API_SCRIPT = Path(__file__).with_name("_support_messy_api.py")


@contextmanager
def messy_api(db: Path) -> Iterator[ApiProcess]:
    """The blog API serving ``db`` from its own process (creating the schema)."""
    command = [sys.executable, str(API_SCRIPT), "--db", str(db)]
    with start_api_process(command, what="messy blog API") as server:
        yield server


def dump(db: Path) -> list[Any]:
    """Everything in the file that matters: schema, rows of every table, sqlite_sequence."""
    with closing(sqlite3.connect(db)) as conn:
        schema = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        tables = [name for kind, name, _ in schema if kind == "table"]
        rows = {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables}
    return [schema, rows]


# -- actions -------------------------------------------------------------------------------------


def _register(name: str) -> Callable[[Any, Any], Any]:
    def register(api: Any, ctx: Any) -> Any:
        response = api.post("/users", json={"name": name, "password": f"pw-{name}"})
        ctx[f"{name}_id"] = response.json()["id"]
        return response

    return register


def _login(name: str) -> Callable[[Any, Any], Any]:
    def login(api: Any, ctx: Any) -> Any:
        response = api.post("/login", json={"name": name, "password": f"pw-{name}"})
        ctx[f"{name}_token"] = response.json()["token"]
        return response

    return login


def _auth(ctx: Any, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {ctx[f'{name}_token']}"}


register_alice = action(requires=lambda ctx: "alice_id" not in ctx, name="register_alice")(
    _register("alice")
)
register_bob = action(requires=lambda ctx: "bob_id" not in ctx, name="register_bob")(
    _register("bob")
)
login_alice = action(
    requires=lambda ctx: "alice_id" in ctx and "alice_token" not in ctx, name="login_alice"
)(_login("alice"))
login_bob = action(
    requires=lambda ctx: "bob_id" in ctx and "bob_token" not in ctx, name="login_bob"
)(_login("bob"))


@action(requires=lambda ctx: "alice_token" in ctx)
def logout_alice(api: Any, ctx: Any) -> Any:
    response = api.post("/logout", headers=_auth(ctx, "alice"))
    del ctx["alice_token"]
    return response


def _post_live(ctx: Any) -> bool:
    return "post_id" in ctx and "post_gone" not in ctx


@action(requires=lambda ctx: "alice_token" in ctx and "post_id" not in ctx)
def alice_posts(api: Any, ctx: Any) -> Any:
    response = api.post(
        "/posts", json={"title": "hello", "body": "first"}, headers=_auth(ctx, "alice")
    )
    ctx["post_id"] = response.json()["id"]
    return response


@action(requires=lambda ctx: "alice_token" in ctx and _post_live(ctx))
def alice_edits(api: Any, ctx: Any) -> Any:
    return api.patch(
        f"/posts/{ctx['post_id']}", json={"title": "edited"}, headers=_auth(ctx, "alice")
    )


@action(requires=lambda ctx: "alice_token" in ctx and _post_live(ctx) and "comment_id" not in ctx)
def alice_comments(api: Any, ctx: Any) -> Any:
    response = api.post(
        f"/posts/{ctx['post_id']}/comments", json={"text": "nice"}, headers=_auth(ctx, "alice")
    )
    ctx["comment_id"] = response.json()["id"]
    return response


@action(requires=lambda ctx: "alice_token" in ctx and _post_live(ctx))
def alice_deletes_post(api: Any, ctx: Any) -> Any:
    response = api.delete(f"/posts/{ctx['post_id']}", headers=_auth(ctx, "alice"))
    ctx["post_gone"] = True
    return response


@action(requires=lambda ctx: "bob_token" in ctx and _post_live(ctx))
def bob_deletes_post(api: Any, ctx: Any) -> Any:
    response = api.delete(f"/posts/{ctx['post_id']}", headers=_auth(ctx, "bob"))
    if response.status_code == 204:
        ctx["post_gone"] = True
        ctx["deleted_by"] = "bob"
    return response


ACTIONS = [
    register_alice,
    register_bob,
    login_alice,
    login_bob,
    logout_alice,
    alice_posts,
    alice_edits,
    alice_comments,
    alice_deletes_post,
    bob_deletes_post,
]


@invariant(severity=Severity.CRITICAL)
def only_authors_delete_posts(world: Any) -> bool:
    return world.ctx.get("deleted_by") != "bob"


@invariant
def comments_belong_to_posts(world: Any) -> Any:
    rows = world.stores["db"].query(
        "SELECT count(*) AS n FROM comments WHERE post_id NOT IN (SELECT id FROM posts)"
    )
    if rows[0]["n"]:
        raise AssertionError(f"{rows[0]['n']} comment(s) outlived their post")
    return True


@invariant(severity=Severity.LOW)
def passwords_are_hashed(world: Any) -> bool:
    rows = world.stores["db"].query("SELECT password_hash FROM users")
    return all(not r["password_hash"].startswith("pw-") for r in rows)


INVARIANTS = [only_authors_delete_posts, comments_belong_to_posts, passwords_are_hashed]

#: Everything the API makes up, as ``ignore:`` would declare it.
IGNORE = {
    "db": [
        "users.id",
        "users.password_hash",
        "users.created_at",
        "sessions.jti",
        "sessions.created_at",
        "sessions.expires_at",
        "posts.id",
        "posts.checksum",
        "posts.created_at",
        "posts.updated_at",
        "comments.id",
        "comments.created_at",
    ]
}
IGNORE_CONTEXT = ["*_token"]


# -- the abstract model --------------------------------------------------------------------------

NONE, LIVE, EDITED, GONE, GONE_BY_BOB = "none", "live", "edited", "gone", "gone_by_bob"


@dataclass(frozen=True)
class Blog:
    alice: bool = False
    bob: bool = False
    alice_in: bool = False
    bob_in: bool = False
    post: str = NONE
    comment: bool = False


def _live(s: Blog) -> bool:
    return s.post in (LIVE, EDITED)


#: name -> (enabled in state, next state); mirrors the actions' preconditions and the API.
MODEL: dict[str, tuple[Callable[[Blog], bool], Callable[[Blog], Blog]]] = {
    "register_alice": (lambda s: not s.alice, lambda s: replace(s, alice=True)),
    "register_bob": (lambda s: not s.bob, lambda s: replace(s, bob=True)),
    "login_alice": (lambda s: s.alice and not s.alice_in, lambda s: replace(s, alice_in=True)),
    "login_bob": (lambda s: s.bob and not s.bob_in, lambda s: replace(s, bob_in=True)),
    "logout_alice": (lambda s: s.alice_in, lambda s: replace(s, alice_in=False)),
    "alice_posts": (lambda s: s.alice_in and s.post == NONE, lambda s: replace(s, post=LIVE)),
    "alice_edits": (lambda s: s.alice_in and _live(s), lambda s: replace(s, post=EDITED)),
    "alice_comments": (
        lambda s: s.alice_in and _live(s) and not s.comment,
        lambda s: replace(s, comment=True),
    ),
    "alice_deletes_post": (lambda s: s.alice_in and _live(s), lambda s: replace(s, post=GONE)),
    "bob_deletes_post": (lambda s: s.bob_in and _live(s), lambda s: replace(s, post=GONE_BY_BOB)),
}

#: The model's invariants: name -> holds in state.
MODEL_INVARIANTS: dict[str, Callable[[Blog], bool]] = {
    "only_authors_delete_posts": lambda s: s.post != GONE_BY_BOB,
    "comments_belong_to_posts": lambda s: not (s.comment and s.post in (GONE, GONE_BY_BOB)),
    "passwords_are_hashed": lambda s: True,
}


def model_bfs(max_depth: int) -> dict[Blog, list[str]]:
    """Every model state within ``max_depth`` actions, with a shortest path to it."""
    paths: dict[Blog, list[str]] = {Blog(): []}
    queue = deque([Blog()])
    while queue:
        state = queue.popleft()
        if len(paths[state]) >= max_depth:
            continue
        for name, (enabled, step) in MODEL.items():
            if enabled(state):
                target = step(state)
                if target not in paths:
                    paths[target] = [*paths[state], name]
                    queue.append(target)
    return paths


def shortest_violations(max_depth: int) -> dict[str, int]:
    """For each model invariant that some state within ``max_depth`` breaks: the length of a
    shortest path to such a state."""
    lengths: dict[str, int] = {}
    for state, path in model_bfs(max_depth).items():
        for name, holds in MODEL_INVARIANTS.items():
            if not holds(state) and len(path) < lengths.get(name, 1 << 30):
                lengths[name] = len(path)
    return lengths


def replay_in_model(path: list[str]) -> Blog:
    """The model state ``path`` leads to (AssertionError if an action is not enabled)."""
    state = Blog()
    for name in path:
        enabled, step = MODEL[name]
        assert enabled(state), f"{name} is not enabled in {state} (path {path})"
        state = step(state)
    return state
