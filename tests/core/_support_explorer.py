"""Test support for the explorer: a small shop/counter WSGI app whose state lives in an in-memory
store that honours the store contract strictly (stack tokens), and a loopback HTTP server."""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from venomqa import ExecutionContext, Severity, action, invariant
from venomqa.client import Client
from venomqa.world import World

INITIAL_DATA: dict[str, Any] = {"next_id": 1, "orders": {}, "counter": 0}


class MemoryStore:
    """Holds the app's data; checkpoints are deep copies on a stack. Misuse of a token (rolling
    back to an invalidated one, releasing one that is not on top) raises, so engine bugs show."""

    name = "memory"

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = copy.deepcopy(INITIAL_DATA if data is None else data)
        self._stack: list[tuple[int, dict[str, Any]]] = []
        self._next_token = 0
        self.calls: dict[str, int] = dict.fromkeys(
            ("setup", "teardown", "checkpoint", "rollback", "release", "fingerprint"), 0
        )

    def setup(self) -> None:
        self.calls["setup"] += 1

    def teardown(self) -> None:
        self.calls["teardown"] += 1

    def checkpoint(self) -> int:
        self.calls["checkpoint"] += 1
        token = self._next_token
        self._next_token += 1
        self._stack.append((token, copy.deepcopy(self.data)))
        return token

    def _position(self, token: int) -> int:
        for position, (held, _) in enumerate(self._stack):
            if held == token:
                return position
        raise ValueError(f"token {token} is not valid (stack: {[t for t, _ in self._stack]})")

    def rollback(self, token: int) -> None:
        self.calls["rollback"] += 1
        position = self._position(token)
        self.data = copy.deepcopy(self._stack[position][1])
        del self._stack[position + 1 :]

    def release(self, token: int) -> None:
        self.calls["release"] += 1
        if not self._stack or self._stack[-1][0] != token:
            raise ValueError(
                f"released token {token} is not on top of {[t for t, _ in self._stack]}"
            )
        self._stack.pop()

    def fingerprint(self) -> str:
        self.calls["fingerprint"] += 1
        text = json.dumps(self.data, sort_keys=True)
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

    def observe(self) -> dict[str, Any]:
        return {"orders": len(self.data["orders"]), "counter": self.data["counter"]}

    @property
    def open_tokens(self) -> list[int]:
        return [token for token, _ in self._stack]


Handler = Callable[[dict[str, Any], list[str], Any], tuple[int, Any]]


class ShopApp:
    """A WSGI app over ``store.data``. Seeded bug: refunding a paid order twice is accepted."""

    def __init__(self, store: MemoryStore, *, counter_cap: int | None = None) -> None:
        self.store = store
        self.counter_cap = counter_cap
        self.requests = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.requests += 1
        method = environ["REQUEST_METHOD"]
        parts = [p for p in environ.get("PATH_INFO", "/").split("/") if p]
        status, body = self._route(method, parts)
        payload = json.dumps(body).encode()
        reason = {200: "OK", 201: "Created", 404: "Not Found", 409: "Conflict"}.get(status, "Error")
        start_response(
            f"{status} {reason}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def _route(self, method: str, parts: list[str]) -> tuple[int, Any]:
        data = self.store.data
        orders = data["orders"]
        if parts == ["orders"] and method == "POST":
            order_id = data["next_id"]
            data["next_id"] += 1
            orders[str(order_id)] = {"amount": 100, "paid": False, "refunded": 0}
            return 201, {"id": order_id}
        if len(parts) >= 2 and parts[0] == "orders":
            order = orders.get(parts[1])
            if order is None:
                return 404, {"error": "no such order"}
            if len(parts) == 2 and method == "GET":
                return 200, order
            if parts[2:] == ["pay"] and method == "POST":
                if order["paid"]:
                    return 409, {"error": "already paid"}
                order["paid"] = True
                return 200, order
            if parts[2:] == ["refund"] and method == "POST":
                if not order["paid"]:
                    return 409, {"error": "not paid"}
                order["refunded"] += order["amount"]  # BUG: a second refund is accepted
                return 200, order
        if parts == ["counter"] and method == "GET":
            return 200, {"value": data["counter"]}
        if parts == ["counter", "inc"] and method == "POST":
            if self.counter_cap is not None and data["counter"] >= self.counter_cap:
                return 409, {"error": "at cap"}
            data["counter"] += 1
            return 200, {"value": data["counter"]}
        if parts == ["counter", "dec"] and method == "POST":
            if data["counter"] <= 0:
                return 409, {"error": "at zero"}
            data["counter"] -= 1
            return 200, {"value": data["counter"]}
        if parts == ["boom"]:
            return 500, {"error": "internal error"}
        return 404, {"error": "not found"}


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` over real HTTP on a free 127.0.0.1 port; yields the base URL."""
    server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# Actions and invariants shared by the explorer tests.


@action
def create_order(api: Client, ctx: ExecutionContext) -> Any:
    response = api.post("/orders")
    ctx["order_id"] = response.json()["id"]
    return response


@action(requires=lambda ctx: "order_id" in ctx)
def pay(api: Client, ctx: ExecutionContext) -> Any:
    return api.post(f"/orders/{ctx['order_id']}/pay")


@action(requires=lambda ctx: "order_id" in ctx)
def refund(api: Client, ctx: ExecutionContext) -> Any:
    return api.post(f"/orders/{ctx['order_id']}/refund")


@invariant(severity=Severity.CRITICAL)
def never_over_refunded(world: World) -> bool:
    orders = world.stores["db"].data["orders"].values()
    return all(order["refunded"] <= order["amount"] for order in orders)


SHOP_ACTIONS = [create_order, pay, refund]


@action
def inc(api: Client, ctx: ExecutionContext) -> Any:
    return api.post("/counter/inc")


@action
def dec(api: Client, ctx: ExecutionContext) -> Any:
    return api.post("/counter/dec")


def counter_of(world: World) -> int:
    value: int = world.stores["db"].data["counter"]
    return value
