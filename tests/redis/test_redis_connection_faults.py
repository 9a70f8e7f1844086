"""The store's own connections dropped mid-run, for real: while ``explore`` runs against the cart
API process, another client keeps ``CLIENT KILL``ing the store's command connection and its
keyspace subscriber (found by their client names), or a proxy between the store and Redis
restarts. The run finds exactly what an undisturbed run finds and leaves the database as it was.
When Redis cannot be reached again, the run stops with a StoreError naming the server, and the
journal lets the next setup finish the clean-up."""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support_redis import full_dump
from _support_redis_faults import ConnectionKiller, TcpProxy
from conftest import E2E_DB, redis_url
from venomqa import Action, Severity, World, action, explore, invariant
from venomqa.errors import LeftoversRepaired, StoreError
from venomqa.testing.server import ApiProcess, start_api_process
from venomqa_redis import RedisStore

URL = redis_url(E2E_DB)
SERVER = Path(__file__).with_name("_support_redis_api.py")
MAX_DEPTH = 4


@action(requires=lambda ctx: "cart" not in ctx)
def create_cart(api: Any, ctx: Any) -> Any:
    response = api.post("/carts")
    ctx["cart"] = response.json()["id"]
    return response


@action(requires=lambda ctx: "cart" in ctx)
def add_apple(api: Any, ctx: Any) -> Any:
    return api.post(f"/carts/{ctx['cart']}/items/apple")


@action(requires=lambda ctx: "cart" in ctx)
def remove_apple(api: Any, ctx: Any) -> Any:
    return api.delete(f"/carts/{ctx['cart']}/items/apple")


@action(requires=lambda ctx: "cart" in ctx)
def checkout(api: Any, ctx: Any) -> Any:
    return api.post(f"/carts/{ctx['cart']}/checkout")


@invariant(severity=Severity.CRITICAL)
def each_cart_is_queued_once(world: Any) -> bool:
    queued = world.stores["cache"].peek("queue:checkout", 100)
    return len(queued) == len(set(queued))


ACTIONS = [create_cart, add_apple, remove_apple, checkout]


@pytest.fixture
def api(e2e_db: Any) -> Iterator[ApiProcess]:
    e2e_db.config_set("notify-keyspace-events", "Kx")
    e2e_db.set("site:visits", 41)
    e2e_db.hset("user:7", mapping={"name": "ada"})
    e2e_db.set("session:abc", "token", px=120_000)
    with start_api_process([sys.executable, str(SERVER), "--url", URL]) as server:
        yield server


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    forwarder = TcpProxy()
    forwarder.start()
    try:
        yield forwarder
    finally:
        forwarder.stop()


def findings(result: Any) -> tuple[Any, ...]:
    """What a run found, to compare runs: states, transitions, every finding and its path."""
    found = sorted((v.kind, v.invariant, tuple(v.path)) for v in result.violations)
    return result.stop_reason, result.states, result.transitions, found


def run(server: ApiProcess, store: RedisStore, actions: list[Action] = ACTIONS) -> Any:
    world = World(server.url, stores={"cache": store})
    try:
        return explore(world, actions, [each_cart_is_queued_once], max_depth=MAX_DEPTH)
    finally:
        world.api.close()


def every_nth_call(n: int, fault: Any) -> list[Action]:
    """ACTIONS, where every ``n``-th call (across all of them) first causes ``fault()``."""
    calls = [0]

    def wrap(original: Action) -> Action:
        def fn(api: Any, ctx: Any) -> Any:
            calls[0] += 1
            if calls[0] % n == 0:
                fault()
            return original.fn(api, ctx)

        return Action(original.name, fn, requires=original.requires)

    return [wrap(a) for a in ACTIONS]


def test_client_kill_of_both_connections_changes_nothing(
    api: ApiProcess, e2e_db: Any, tmp_path: Path
) -> None:
    before = full_dump(e2e_db)
    undisturbed = run(api, RedisStore(url=URL, state_dir=str(tmp_path)))
    assert full_dump(e2e_db) == before

    with ConnectionKiller(E2E_DB) as killer:
        disturbed = run(api, RedisStore(url=URL, state_dir=str(tmp_path)))

    assert killer.kills["venomqa"] >= 5 and killer.kills["venomqa-events"] >= 5, killer.kills
    assert findings(disturbed) == findings(undisturbed)
    assert [v.invariant for v in disturbed.violations] == ["each_cart_is_queued_once"]
    assert full_dump(e2e_db) == before
    assert list(tmp_path.iterdir()) == []


def test_the_store_connections_carry_client_names(e2e_db: Any, tmp_path: Path) -> None:
    store = RedisStore(url=URL, state_dir=str(tmp_path))
    store.setup()
    try:
        names = sorted(c["name"] for c in e2e_db.client_list() if c["name"].startswith("venomqa"))
    finally:
        store.teardown()
    assert names == ["venomqa", "venomqa-events"]


def test_a_restarting_proxy_changes_nothing(
    api: ApiProcess, proxy: TcpProxy, e2e_db: Any, tmp_path: Path
) -> None:
    url = f"{proxy.url_prefix}/{E2E_DB}"
    before = full_dump(e2e_db)
    undisturbed = run(api, RedisStore(url=url, state_dir=str(tmp_path)))

    disturbed = run(
        api, RedisStore(url=url, state_dir=str(tmp_path)), every_nth_call(3, proxy.drop)
    )

    assert findings(disturbed) == findings(undisturbed)
    assert full_dump(e2e_db) == before


def test_redis_gone_mid_run_stops_with_a_store_error_naming_the_server(
    api: ApiProcess, proxy: TcpProxy, e2e_db: Any, tmp_path: Path
) -> None:
    url = f"{proxy.url_prefix}/{E2E_DB}"
    before = full_dump(e2e_db)
    store = RedisStore(url=url, state_dir=str(tmp_path))
    actions = every_nth_call(10, proxy.stop)  # the API still reaches Redis; the store does not
    started = time.monotonic()

    with pytest.raises(StoreError) as raised:
        run(api, store, actions)

    elapsed = time.monotonic() - started
    message = str(raised.value)
    assert f"redis://127.0.0.1:{proxy.port}/{E2E_DB}" in message, message
    assert "cannot talk to Redis" in message
    partial = raised.value.partial
    assert partial is not None and partial.stop_reason == "aborted"
    assert f"redis://127.0.0.1:{proxy.port}/{E2E_DB}" in partial.stop_detail  # what stopped it
    assert elapsed < 20, f"took {elapsed:.1f}s to give up"
    assert store.journal_file.exists()  # teardown could not finish: the next setup will

    proxy.start()  # the same port again
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        store.setup()
        store.teardown()
    assert [w.category for w in seen] == [LeftoversRepaired], [str(w.message) for w in seen]
    assert full_dump(e2e_db) == before
    assert not store.journal_file.exists()


@pytest.mark.parametrize("mode", ["auto", "scan"])
def test_a_teardown_that_cannot_reach_redis_keeps_the_journal(
    proxy: TcpProxy, e2e_db: Any, tmp_path: Path, mode: str
) -> None:
    e2e_db.set("counter", 1)
    before = full_dump(e2e_db)
    store = RedisStore(url=f"{proxy.url_prefix}/{E2E_DB}", state_dir=str(tmp_path), mode=mode)
    store.setup()
    e2e_db.set("counter", 2)
    proxy.stop()

    with pytest.raises(StoreError, match="finishes the clean-up from its journal"):
        store.teardown()
    assert store.journal_file.exists()

    proxy.start()
    with pytest.warns(LeftoversRepaired, match="restored 1 key"):
        store.setup()
    store.teardown()
    assert full_dump(e2e_db) == before
