"""The blog demo's actions and invariants: what a user would write for it.

Alice and Bob register and log in; Alice writes one post, edits it, comments on it and deletes
it; Bob may delete it too (he should not be able to). Each action keeps what the API answered in
the context (ids, JWTs); preconditions keep the state space small (49 states). The invariants
read the API only, so they hold on any storage the blog runs on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from venomqa.context import ExecutionContext
from venomqa.models.actions import Action, Severity, action, invariant
from venomqa.world import World

if TYPE_CHECKING:
    import httpx

    from venomqa.client import Client


def _auth(ctx: ExecutionContext, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {ctx[f'{name}_token']}"}


def _register(name: str) -> Action:
    def register(api: Client, ctx: ExecutionContext) -> httpx.Response:
        response = api.post("/users", json={"name": name, "password": f"pw-{name}"})
        ctx[f"{name}_id"] = response.json()["id"]
        return response

    return action(requires=lambda ctx: f"{name}_id" not in ctx, name=f"register_{name}")(register)


def _login(name: str) -> Action:
    def login(api: Client, ctx: ExecutionContext) -> httpx.Response:
        response = api.post("/login", json={"name": name, "password": f"pw-{name}"})
        ctx[f"{name}_token"] = response.json()["token"]
        return response

    def enabled(ctx: ExecutionContext) -> bool:
        return f"{name}_id" in ctx and f"{name}_token" not in ctx

    return action(requires=enabled, name=f"login_{name}")(login)


register_alice = _register("alice")
register_bob = _register("bob")
login_alice = _login("alice")
login_bob = _login("bob")


@action(requires=lambda ctx: "alice_token" in ctx)
def logout_alice(api: Client, ctx: ExecutionContext) -> httpx.Response:
    """POST /logout as Alice."""
    response = api.post("/logout", headers=_auth(ctx, "alice"))
    del ctx["alice_token"]
    return response


def _post_live(ctx: ExecutionContext) -> bool:
    return "post_id" in ctx and "post_gone" not in ctx


def _alice_and(
    condition: Callable[[ExecutionContext], bool],
) -> Callable[[ExecutionContext], bool]:
    return lambda ctx: "alice_token" in ctx and condition(ctx)


@action(requires=_alice_and(lambda ctx: "post_id" not in ctx))
def alice_posts(api: Client, ctx: ExecutionContext) -> httpx.Response:
    """POST /posts as Alice."""
    response = api.post(
        "/posts", json={"title": "hello", "body": "first"}, headers=_auth(ctx, "alice")
    )
    ctx["post_id"] = response.json()["id"]
    return response


@action(requires=_alice_and(_post_live))
def alice_edits(api: Client, ctx: ExecutionContext) -> httpx.Response:
    """PATCH /posts/ID as Alice."""
    return api.patch(
        f"/posts/{ctx['post_id']}", json={"title": "edited"}, headers=_auth(ctx, "alice")
    )


@action(requires=_alice_and(lambda ctx: _post_live(ctx) and "comment_id" not in ctx))
def alice_comments(api: Client, ctx: ExecutionContext) -> httpx.Response:
    """POST /posts/ID/comments as Alice."""
    response = api.post(
        f"/posts/{ctx['post_id']}/comments", json={"text": "nice"}, headers=_auth(ctx, "alice")
    )
    ctx["comment_id"] = response.json()["id"]
    return response


@action(requires=_alice_and(_post_live))
def alice_deletes_post(api: Client, ctx: ExecutionContext) -> httpx.Response:
    """DELETE /posts/ID as Alice."""
    response = api.delete(f"/posts/{ctx['post_id']}", headers=_auth(ctx, "alice"))
    ctx["post_gone"] = True
    return response


@action(requires=lambda ctx: "bob_token" in ctx and _post_live(ctx))
def bob_deletes_post(api: Client, ctx: ExecutionContext) -> httpx.Response:
    """DELETE /posts/ID as Bob, who did not write it."""
    response = api.delete(f"/posts/{ctx['post_id']}", headers=_auth(ctx, "bob"))
    if response.status_code == 204:
        ctx["post_gone"] = True
        ctx["deleted_by"] = "bob"
    return response


@invariant(severity=Severity.CRITICAL)
def only_authors_delete_posts(world: World) -> bool:
    """Nobody deletes a post they did not write."""
    if world.ctx.get("deleted_by") == "bob":
        raise AssertionError("Bob deleted Alice's post")
    return True


@invariant
def comments_belong_to_posts(world: World) -> bool:
    """Every comment's post exists."""
    posts = {post["id"] for post in world.api.get("/posts").json()}
    orphans = [c for c in world.api.get("/comments").json() if c["post_id"] not in posts]
    if orphans:
        raise AssertionError(f"{len(orphans)} comment(s) outlived their post")
    return True


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
INVARIANTS = [only_authors_delete_posts, comments_belong_to_posts]
