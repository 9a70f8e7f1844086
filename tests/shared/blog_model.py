"""An independent abstract model of the blog demo API (``venomqa.demo.blog``), and the checks
every store's test suite makes against it.

The model knows nothing of VenomQA: it is the API's behaviour on abstract values (who is
registered, who is logged in, what happened to the one post and its comment), explored by its own
BFS. The explorer must find exactly its states and the shortest paths to its two bugs, on any
store the blog runs on, although no value the API stores is ever the same twice.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

NONE, LIVE, EDITED, GONE, GONE_BY_BOB = "none", "live", "edited", "gone", "gone_by_bob"

#: The invariants of venomqa.demo.blog.checks that the API breaks.
SEEDED = {"comments_belong_to_posts", "only_authors_delete_posts"}


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


#: Every state the model can reach at all.
ALL_STATES = len(model_bfs(100))


def shortest_violations(max_depth: int) -> dict[str, int]:
    """For each invariant some state within ``max_depth`` breaks: a shortest path's length."""
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


def assert_matches_model(result: Any, depth: int) -> None:
    """``result`` (an ExplorationResult) has exactly the model's states within ``depth``, the
    two seeded bugs each with the model's shortest path length, on real paths, and nothing
    else (no nondeterminism, no server error)."""
    assert result.states == len(model_bfs(depth)), (result.states, len(model_bfs(depth)))
    found = {v.invariant: v for v in result.violations}
    assert set(found) == SEEDED, [v.message for v in result.violations]
    for name, length in shortest_violations(depth).items():
        violation = found[name]
        assert len(violation.path) == length, (name, violation.path)
        replay_in_model(violation.path)
        assert violation.occurrences >= 1
