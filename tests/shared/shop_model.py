"""The demo-style shop used by the end-to-end tests of several stores: the actions a user would
write for it (as a module's source, so ``venomqa run`` imports it from a project folder) and an
independent model of the shop as its documentation describes it.

The model knows nothing of VenomQA: orders (at most two; ids 1..n, so the context's list is
determined by their number) and the refund rows, with the API's two bugs: a cancelled order can
still be paid, and each refund is checked against the total instead of what is left.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

AMOUNT = 100

ACTIONS_MODULE = f'''
"""Actions and an invariant for the shop, written the way a user would."""

from venomqa import Severity, action, invariant


@action(requires=lambda ctx: len(ctx.get("orders", [])) < 2)
def create_order(api, ctx):
    response = api.post("/orders", json={{"amount": {AMOUNT}}})
    ctx["orders"] = [*ctx.get("orders", []), response.json()["id"]]
    return response


@action(requires=lambda ctx: bool(ctx.get("orders")))
def pay_order(api, ctx):
    return api.post(f"/orders/{{ctx['orders'][-1]}}/pay")


@action(requires=lambda ctx: bool(ctx.get("orders")))
def refund_order(api, ctx):
    return api.post(f"/orders/{{ctx['orders'][-1]}}/refund")


@action(requires=lambda ctx: bool(ctx.get("orders")))
def cancel_order(api, ctx):
    return api.delete(f"/orders/{{ctx['orders'][-1]}}")


@invariant(severity=Severity.CRITICAL)
def refunds_never_exceed_payment(world):
    rows = world.stores["db"].query("SELECT amount, refunded FROM orders")
    return all(r["refunded"] <= r["amount"] for r in rows)
'''


class Order(NamedTuple):
    status: str  # pending | paid | refunded
    refunded: int
    cancelled: bool


class ShopState(NamedTuple):
    orders: tuple[Order, ...]
    refunds: tuple[int, ...]  # order id of each refund row, in insertion order


def step(state: ShopState, action: str) -> ShopState:
    """The state after ``action`` (the API's behaviour, bugs included)."""
    orders = list(state.orders)
    if action == "create_order":
        return ShopState((*orders, Order("pending", 0, False)), state.refunds)
    latest, index = orders[-1], len(orders) - 1
    if action == "pay_order" and latest.status == "pending":  # the bug: cancelled not checked
        orders[index] = latest._replace(status="paid")
    elif action == "refund_order" and not latest.cancelled and latest.status != "pending":
        # the bug: each refund is checked against the total, not against what is left
        orders[index] = latest._replace(status="refunded", refunded=latest.refunded + AMOUNT)
        return ShopState(tuple(orders), (*state.refunds, index + 1))
    elif action == "cancel_order" and not latest.cancelled and latest.status == "pending":
        orders[index] = latest._replace(cancelled=True)
    return ShopState(tuple(orders), state.refunds)


def enabled(state: ShopState) -> list[str]:
    """The actions whose preconditions hold."""
    names = ["create_order"] if len(state.orders) < 2 else []
    return names + (["pay_order", "refund_order", "cancel_order"] if state.orders else [])


def model_bfs(max_depth: int) -> dict[ShopState, list[str]]:
    """Every state within ``max_depth`` calls, with a shortest path to it."""
    root = ShopState((), ())
    paths: dict[ShopState, list[str]] = {root: []}
    frontier = deque([root])
    while frontier:
        state = frontier.popleft()
        if len(paths[state]) == max_depth:
            continue
        for action in enabled(state):
            target = step(state, action)
            if target not in paths:
                paths[target] = [*paths[state], action]
                frontier.append(target)
    return paths


def over_refunded(state: ShopState) -> bool:
    """The invariant ``refunds_never_exceed_payment`` is broken."""
    return any(order.refunded > AMOUNT for order in state.orders)


def shortest_violation(max_depth: int) -> list[str]:
    """A shortest path to a state that breaks the invariant."""
    model = model_bfs(max_depth)
    return min((path for state, path in model.items() if over_refunded(state)), key=len)
