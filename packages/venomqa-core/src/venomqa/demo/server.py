"""The demo shop as a real HTTP server (stdlib only), meant to run in its own process.

    python -m venomqa.demo.server --db shop.db --port 0

prints ``LISTENING 127.0.0.1:PORT`` as its first line once it accepts connections, serves JSON
until SIGTERM or SIGINT, then shuts down cleanly. Routes:

    POST   /orders               {amount}   -> 201 order
    GET    /orders                          -> 200 {orders, total}
    GET    /orders/{id}                     -> 200 order | 404
    POST   /orders/{id}/pay                 -> 200 order | 404 | 409
    POST   /orders/{id}/refund   {amount?}  -> 200 order | 400 | 404 | 409
    DELETE /orders/{id}                     -> 200 order (cancelled) | 404 | 409

The business rules, and the bugs seeded in them, live in ``venomqa.demo.shop``.
"""

from __future__ import annotations

import argparse

from venomqa.demo import shop
from venomqa.testing.server import JsonApi, Reply, Request

api = JsonApi("demo shop")
api.argument("--db", required=True, help="SQLite file the shop keeps its data in")


@api.setup
def _open(options: argparse.Namespace) -> str:
    shop.init_schema(options.db)
    return str(options.db)


def _db(request: Request) -> str:
    """The shop's SQLite file (what ``_open`` returned)."""
    db_path = request.state
    if not isinstance(db_path, str):
        raise TypeError(f"the shop is not set up (its state is {db_path!r})")
    return db_path


@api.route("POST", r"/orders")
def _create(request: Request) -> Reply:
    return shop.create_order(_db(request), request.body)


@api.route("GET", r"/orders")
def _list(request: Request) -> Reply:
    return shop.list_orders(_db(request))


@api.route("GET", r"/orders/(?P<id>\d+)")
def _get(request: Request) -> Reply:
    return shop.get_order(_db(request), int(request.params["id"]))


@api.route("POST", r"/orders/(?P<id>\d+)/pay")
def _pay(request: Request) -> Reply:
    return shop.pay_order(_db(request), int(request.params["id"]))


@api.route("POST", r"/orders/(?P<id>\d+)/refund")
def _refund(request: Request) -> Reply:
    return shop.refund_order(_db(request), int(request.params["id"]), request.body)


@api.route("DELETE", r"/orders/(?P<id>\d+)")
def _cancel(request: Request) -> Reply:
    return shop.cancel_order(_db(request), int(request.params["id"]))


if __name__ == "__main__":
    api.main()
