"""Done when: `venomqa run` explores an API server process that keeps its state in Redis, finds
exactly the states an independent model predicts (exact dedup: the cart id counter repeats after
each rollback), reports the seeded violation with its shortest path, and leaves the database and
the server's configuration as they were. The same through ``venomqa.explore``."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from _support_redis import picture
from conftest import E2E_DB, redis_url

MAX_DEPTH = 4
URL = redis_url(E2E_DB)
SERVER = Path(__file__).with_name("_support_redis_api.py")

ACTIONS_MODULE = '''
"""Actions and an invariant for the cart API, written the way a user would."""

from venomqa import Severity, action, invariant


@action(requires=lambda ctx: "cart" not in ctx)
def create_cart(api, ctx):
    response = api.post("/carts")
    ctx["cart"] = response.json()["id"]
    return response


@action(requires=lambda ctx: "cart" in ctx)
def add_apple(api, ctx):
    return api.post(f"/carts/{ctx['cart']}/items/apple")


@action(requires=lambda ctx: "cart" in ctx)
def remove_apple(api, ctx):
    return api.delete(f"/carts/{ctx['cart']}/items/apple")


@action(requires=lambda ctx: "cart" in ctx)
def checkout(api, ctx):
    return api.post(f"/carts/{ctx['cart']}/checkout")


@invariant(severity=Severity.CRITICAL)
def each_cart_is_queued_once(world):
    queued = world.stores["cache"].peek("queue:checkout", 100)
    return len(queued) == len(set(queued))
'''


class Cart(NamedTuple):
    created: bool
    apples: int
    checked_out: bool
    queued: int


def _step(s: Cart, action: str) -> Cart:
    if action == "create_cart":
        return Cart(True, 0, False, 0)
    if action == "add_apple" and not s.checked_out:
        return s._replace(apples=s.apples + 1)
    if action == "remove_apple" and s.apples:
        return s._replace(apples=s.apples - 1)
    if action == "checkout" and s.apples:  # the bug: a checked-out cart is queued again
        return s._replace(checked_out=True, queued=s.queued + 1)
    return s


def model_bfs(max_depth: int) -> dict[Cart, list[str]]:
    root = Cart(False, 0, False, 0)
    paths = {root: []}
    frontier = deque([root])
    while frontier:
        state = frontier.popleft()
        if len(paths[state]) == max_depth:
            continue
        names = ["add_apple", "remove_apple", "checkout"] if state.created else ["create_cart"]
        for name in names:
            target = _step(state, name)
            if target not in paths:
                paths[target] = [*paths[state], name]
                frontier.append(target)
    return paths


EXPECTED_PATH = ["create_cart", "add_apple", "checkout", "checkout"]


def test_model_is_sane() -> None:
    violating = sorted((p for s, p in model_bfs(MAX_DEPTH).items() if s.queued > 1), key=len)
    assert violating[0] == EXPECTED_PATH


@pytest.fixture
def api(e2e_db: Any) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "--url", URL],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("LISTENING "), process.stderr.read() if process.stderr else line
        yield "http://" + line.split()[1]
    finally:
        process.terminate()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _seed_unrelated(r: Any) -> None:
    r.set("site:visits", 41)
    r.hset("user:7", mapping={"name": "ada"})
    r.set("session:abc", "token", px=120_000)


def test_venomqa_run_explores_a_redis_backed_api(api: str, e2e_db: Any, tmp_path: Path) -> None:
    _seed_unrelated(e2e_db)
    before, config = picture(e2e_db), e2e_db.config_get("notify-keyspace-events")
    (tmp_path / "cart_checks.py").write_text(textwrap.dedent(ACTIONS_MODULE))
    (tmp_path / "venomqa.yaml").write_text(
        f"target: {api}\n"
        "actions: [cart_checks]\n"
        "stores:\n"
        f"  cache: {{adapter: redis, url: '{URL}', queues: [queue:checkout]}}\n"
        f"explore: {{strategy: bfs, max_depth: {MAX_DEPTH}}}\n"
    )
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "venomqa", "run", "-c", "venomqa.yaml", "--report", f"json:{out}"],
        cwd=tmp_path,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": "redis"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(out.read_text())
    model = model_bfs(MAX_DEPTH)
    assert report["states"] == len(model)
    [shortest] = [v for v in report["violations"] if v["invariant"] == "each_cart_is_queued_once"]
    assert shortest["path"] == EXPECTED_PATH
    assert [s["response"]["status"] for s in shortest["steps"]] == [201, 200, 200, 200]
    assert not [v for v in report["violations"] if v["kind"] != "invariant"]
    assert picture(e2e_db) == before
    assert e2e_db.config_get("notify-keyspace-events") == config


def test_explore_from_python(api: str, e2e_db: Any, tmp_path: Path) -> None:
    from venomqa import World, explore
    from venomqa_redis import RedisStore

    _seed_unrelated(e2e_db)
    before = picture(e2e_db)
    module_path = tmp_path / "cart_checks_py.py"
    module_path.write_text(textwrap.dedent(ACTIONS_MODULE))
    spec = importlib.util.spec_from_file_location("cart_checks_py", module_path)
    assert spec is not None and spec.loader is not None
    checks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checks)
    world = World(api, stores={"cache": RedisStore(url=URL)})
    actions = [checks.create_cart, checks.add_apple, checks.remove_apple, checks.checkout]
    result = explore(world, actions, [checks.each_cart_is_queued_once], max_depth=MAX_DEPTH)
    world.api.close()
    assert result.states == len(model_bfs(MAX_DEPTH))
    [violation] = result.violations
    assert len(violation.path) == len(EXPECTED_PATH)
    assert picture(e2e_db) == before
