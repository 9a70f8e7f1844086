"""The demo's actions and invariants: what a user would write for the demo shop.

Orders opened are listed in ``ctx["orders"]``, at most ``MAX_ORDERS`` of them, and every other
action acts on the newest one, so the state space stays small (7 states at depth 4 with one order,
20 with two); the API decides which calls succeed. Invariants read the API and the ``db`` store
(the shop's SQLite file). Besides these, the explorer itself reports any 5xx answer as a finding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from venomqa.context import ExecutionContext
from venomqa.models.actions import Severity, action, invariant
from venomqa.world import World

if TYPE_CHECKING:
    import httpx

    from venomqa.client import Client

#: What every demo order costs, in cents.
ORDER_AMOUNT = 2500
#: How many orders the exploration opens at most; one keeps the demo's report short.
MAX_ORDERS = 1


def _orders(ctx: ExecutionContext) -> list[int]:
    """The ids of the orders opened so far."""
    orders = ctx.get("orders", [])
    return orders if isinstance(orders, list) else []


def _has_order(ctx: ExecutionContext) -> bool:
    return bool(ctx.get("orders"))


def _newest(ctx: ExecutionContext) -> int:
    return int(_orders(ctx)[-1])


@action(requires=lambda ctx: len(_orders(ctx)) < MAX_ORDERS)
def create_order(api: Client, ctx: ExecutionContext) -> httpx.Response:
    """POST /orders: open a new order."""
    response = api.post("/orders", json={"amount": ORDER_AMOUNT})
    if response.status_code == 201:
        ctx["orders"] = [*_orders(ctx), response.json()["id"]]
    return response


@action(requires=_has_order)
def pay_order(api: Client, ctx: ExecutionContext) -> httpx.Response:
    """POST /orders/{id}/pay: charge the newest order."""
    return api.post(f"/orders/{_newest(ctx)}/pay")


@action(requires=_has_order)
def refund_order(api: Client, ctx: ExecutionContext) -> httpx.Response:
    """POST /orders/{id}/refund: refund the newest order in full."""
    return api.post(f"/orders/{_newest(ctx)}/refund")


@action(requires=_has_order)
def cancel_order(api: Client, ctx: ExecutionContext) -> httpx.Response:
    """DELETE /orders/{id}: cancel the newest order."""
    return api.delete(f"/orders/{_newest(ctx)}")


@action(requires=_has_order)
def get_order(api: Client, ctx: ExecutionContext) -> httpx.Response:
    """GET /orders/{id}: read the newest order back."""
    return api.get(f"/orders/{_newest(ctx)}")


@action
def list_orders(api: Client, ctx: ExecutionContext) -> httpx.Response:
    """GET /orders: list the open orders."""
    return api.get("/orders")


@invariant(severity=Severity.CRITICAL)
def refunds_never_exceed_payment(world: World) -> bool:
    """No order is refunded more than it cost."""
    rows = world.database("db").query("SELECT id, amount, refunded FROM orders")
    over = [r for r in rows if r["refunded"] > r["amount"]]
    if over:
        worst = over[0]
        raise AssertionError(
            f"order {worst['id']} cost {worst['amount']} but {worst['refunded']} was refunded"
        )
    return True


@invariant(severity=Severity.CRITICAL)
def cancelled_orders_are_never_charged(world: World) -> bool:
    """An order that was cancelled is never paid afterwards."""
    rows = world.database("db").query(
        "SELECT id, status FROM orders WHERE cancelled = 1 AND status != 'pending'"
    )
    if rows:
        raise AssertionError(f"order {rows[0]['id']} was cancelled but is {rows[0]['status']}")
    return True


@invariant(severity=Severity.MEDIUM)
def order_list_total_matches_orders(world: World) -> bool:
    """GET /orders reports a total equal to the orders it lists and to the open orders stored."""
    listing = world.api.get("/orders").json()
    stored = world.database("db").query("SELECT COUNT(*) AS n FROM orders WHERE cancelled = 0")
    listed, total, open_orders = len(listing["orders"]), listing["total"], stored[0]["n"]
    if not total == listed == open_orders:
        raise AssertionError(
            f"GET /orders says total={total} but lists {listed} orders; {open_orders} are open"
        )
    return True


ACTIONS = [create_order, pay_order, refund_order, cancel_order, get_order, list_orders]
INVARIANTS = [
    refunds_never_exceed_payment,
    cancelled_orders_are_never_charged,
    order_list_total_matches_orders,
]
