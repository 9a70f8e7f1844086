"""A small FastAPI shop served by uvicorn in its own process, on SQLite or PostgreSQL, with its
own OpenAPI document at /openapi.json. ``--bugs`` plants the bugs the OpenAPI tests look for;
without it the app is their bug-free twin.

    python _shop_api.py --port 8123 --db sqlite:///tmp/shop.db [--bugs] [--bug NAME]...
                        [--login] [--carts]

Planted bugs (each a realistic mistake):
- ``getItem`` serves any user's item (broken object-level authorization);
- ``createUser`` stores ``is_admin`` from the request body (mass assignment);
- ``createItem`` without ``name`` crashes (500): the model lets it through, the spec says required;
- ``listItems`` crashes (500) on a page size above 1000 (no maximum enforced);
- ``getItem`` returns ``price`` as a string (drifts from its schema);
- a deleted item is soft-deleted, and reading it crashes (500) instead of answering 404.

``--bug NAME`` plants one more bug in either app (for the retrievable/listed/deleted checks):
- ``unretrievable``: ``createItem`` answers an id off by one (the row's id + 1);
- ``unlisted``: ``listItems`` skips the first item of every page (an OFFSET off by one);
- ``undeleted``: ``deleteItem`` answers 204 but removes nothing (its WHERE matches no row).

``--login``: users log in (``POST /login`` {name, password: NAME-pw} -> {access_token}) and send
``Authorization: Bearer TOKEN`` instead of ``X-User``. Sessions are rows of the database, so a
rollback makes the API forget a token (401) and the client must log in again; a token is the
same for a user every time, so the database's state does not depend on when a login happened.
``GET /_logins`` (not in the document) counts the logins served.

``--carts``: ``POST /carts`` answers ``{"cart": {"number": N, ...}}`` and ``GET
/carts/{cart_number}`` reads it: no name or ``id`` to guess the wiring from (OpenAPI links or
``wiring:`` must say it). With ``--bugs``, ``getCart`` crashes (500) on a cart with no lines.
"""

import argparse
import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,"
    " is_admin INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,"
    " price INTEGER NOT NULL, owner TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS sessions (name TEXT PRIMARY KEY, token TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS carts (number INTEGER PRIMARY KEY AUTOINCREMENT,"
    " note TEXT, owner TEXT NOT NULL)",
)
#: The extra bugs ``--bug`` plants.
EXTRA_BUGS = ("unretrievable", "unlisted", "undeleted")
PG_SCHEMA = tuple(
    s.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "SERIAL PRIMARY KEY") for s in SCHEMA
)


class Database:
    """One connection per request, to SQLite (``sqlite:///PATH``) or PostgreSQL (a DSN)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite:///")

    @contextmanager
    def connect(self) -> Iterator[Any]:
        if self.sqlite:
            conn: Any = sqlite3.connect(self.url[len("sqlite:///") :], timeout=30)
            conn.row_factory = sqlite3.Row
        else:
            import psycopg
            from psycopg.rows import dict_row

            conn = psycopg.connect(self.url, row_factory=dict_row)
        try:
            yield conn
            conn.commit()
        finally:
            conn.close()

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        if not self.sqlite:
            sql = sql.replace("?", "%s")
        with self.connect() as conn:
            cursor = conn.execute(sql, params)
            rows = cursor.fetchall() if cursor.description else []
            return [dict(row) for row in rows]

    def create_schema(self) -> None:
        for statement in SCHEMA if self.sqlite else PG_SCHEMA:
            self.run(statement)


def create_app(
    db: Database,
    bugs: bool,
    extra: frozenset[str] = frozenset(),
    *,
    login: bool = False,
    carts: bool = False,
) -> Any:
    from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
    from fastapi.responses import JSONResponse
    from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
    from pydantic import BaseModel, ConfigDict

    app = FastAPI(title="shop", version="1")
    logins = [0]

    @app.middleware("http")
    async def crash_is_500(request: Request, call_next: Any) -> Any:
        """An unhandled error answers 500 and keeps the connection (as most servers do)."""
        try:
            return await call_next(request)
        except Exception as exc:
            return JSONResponse({"detail": f"internal error: {exc}"}, status_code=500)

    if login:
        bearer = HTTPBearer(auto_error=False)

        def user_header(
            credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
        ) -> str:
            token = credentials.credentials if credentials is not None else ""
            rows = db.run("SELECT name FROM sessions WHERE token = ?", (token,))
            if not rows:
                raise HTTPException(401, "not logged in (or the session is gone)")
            return str(rows[0]["name"])

        class Credentials(BaseModel):
            name: str
            password: str

        class Token(BaseModel):
            access_token: str

        @app.post("/login", operation_id="login", response_model=Token)
        def log_in(payload: Credentials) -> dict[str, str]:
            if payload.password != f"{payload.name}-pw":
                raise HTTPException(401, "wrong password")
            token = hashlib.sha256(f"{payload.name}:shop-secret".encode()).hexdigest()[:32]
            db.run(
                "INSERT INTO sessions (name, token) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET token = excluded.token",
                (payload.name, token),
            )
            logins[0] += 1
            return {"access_token": token}

        @app.get("/_logins", include_in_schema=False)
        def count_logins() -> dict[str, int]:
            return {"logins": logins[0]}

    else:
        user_header = APIKeyHeader(name="X-User")  # type: ignore[assignment]

    class UserCreate(BaseModel):
        name: str

    class User(BaseModel):
        id: int
        name: str
        is_admin: bool

    if bugs:

        class ItemCreate(BaseModel):
            # Lets a missing name through while the document says it is required.
            model_config = ConfigDict(json_schema_extra={"required": ["name", "price"]})
            name: str | None = None
            price: int

    else:

        class ItemCreate(BaseModel):  # type: ignore[no-redef]
            name: str
            price: int

    class Item(BaseModel):
        id: int
        name: str
        price: int
        owner: str

    class Problem(BaseModel):
        detail: str

    not_found: dict[int | str, dict[str, Any]] = {404: {"model": Problem}}

    def item_row(item_id: int) -> dict[str, Any] | None:
        rows = db.run("SELECT * FROM items WHERE id = ?", (item_id,))
        return rows[0] if rows else None

    def public(row: dict[str, Any]) -> dict[str, Any]:
        return {k: row[k] for k in ("id", "name", "price", "owner")}

    @app.post("/users", operation_id="createUser", status_code=201, response_model=User)
    async def create_user(payload: UserCreate, request: Request) -> dict[str, Any]:
        raw = await request.json()
        admin = bool(raw.get("is_admin")) if bugs else False
        rows = db.run(
            "INSERT INTO users (name, is_admin) VALUES (?, ?) RETURNING id",
            (payload.name, int(admin)),
        )
        return {"id": rows[0]["id"], "name": payload.name, "is_admin": admin}

    @app.post("/items", operation_id="createItem", status_code=201, response_model=Item)
    def create_item(payload: ItemCreate, user: str = Depends(user_header)) -> dict[str, Any]:
        name = payload.name.strip() if bugs else payload.name  # type: ignore[union-attr]
        rows = db.run(
            "INSERT INTO items (name, price, owner) VALUES (?, ?, ?) RETURNING id",
            (name, payload.price, user),
        )
        new_id = rows[0]["id"] + (1 if "unretrievable" in extra else 0)
        return {"id": new_id, "name": name, "price": payload.price, "owner": user}

    if bugs:

        @app.get("/items", operation_id="listItems", response_model=list[Item])
        def list_items(
            limit: int = 10, offset: int = 0, user: str = Depends(user_header)
        ) -> list[dict[str, Any]]:
            if limit > 1000:
                raise RuntimeError("page too large for the cursor")
            return _list(user, limit, max(offset, 0))

    else:

        @app.get("/items", operation_id="listItems", response_model=list[Item])
        def list_items(  # type: ignore[misc]
            limit: int = Query(10, ge=1, le=100),
            offset: int = Query(0, ge=0),
            user: str = Depends(user_header),
        ) -> list[dict[str, Any]]:
            return _list(user, limit, offset)

    def _list(user: str, limit: int, offset: int) -> list[dict[str, Any]]:
        rows = db.run(
            "SELECT * FROM items WHERE owner = ? AND deleted = 0 ORDER BY id LIMIT ? OFFSET ?",
            (user, limit, offset + (1 if "unlisted" in extra else 0)),
        )
        return [public(row) for row in rows]

    @app.get("/items/{item_id}", operation_id="getItem", response_model=Item, responses=not_found)
    def get_item(item_id: int, user: str = Depends(user_header)) -> Any:
        row = item_row(item_id)
        if row is None or (not bugs and (row["deleted"] or row["owner"] != user)):
            raise HTTPException(404, "no such item")
        if row["deleted"]:
            raise RuntimeError("item row is a tombstone")
        if bugs:
            return JSONResponse({**public(row), "price": str(row["price"])})
        return public(row)

    @app.delete(
        "/items/{item_id}",
        operation_id="deleteItem",
        status_code=204,
        responses=not_found,
        response_class=Response,
        response_model=None,
    )
    def delete_item(item_id: int, user: str = Depends(user_header)) -> Response:
        row = item_row(item_id)
        if row is None or row["deleted"] or row["owner"] != user:
            raise HTTPException(404, "no such item")
        if "undeleted" in extra:
            db.run("DELETE FROM items WHERE id = ? AND owner <> ?", (item_id, user))
        elif bugs:
            db.run("UPDATE items SET deleted = 1 WHERE id = ?", (item_id,))
        else:
            db.run("DELETE FROM items WHERE id = ?", (item_id,))
        return Response(status_code=204)

    if carts:

        class CartCreate(BaseModel):
            note: str | None = None

        class Cart(BaseModel):
            number: int
            note: str | None
            lines: int

        class NewCart(BaseModel):
            cart: Cart

        @app.post("/carts", operation_id="createCart", status_code=201, response_model=NewCart)
        def create_cart(payload: CartCreate, user: str = Depends(user_header)) -> Any:
            rows = db.run(
                "INSERT INTO carts (note, owner) VALUES (?, ?) RETURNING number",
                (payload.note, user),
            )
            return {"cart": {"number": rows[0]["number"], "note": payload.note, "lines": 0}}

        @app.get(
            "/carts/{cart_number}", operation_id="getCart", response_model=Cart, responses=not_found
        )
        def get_cart(cart_number: int, user: str = Depends(user_header)) -> Any:
            rows = db.run("SELECT * FROM carts WHERE number = ? AND owner = ?", (cart_number, user))
            if not rows:
                raise HTTPException(404, "no such cart")
            if bugs:
                raise ZeroDivisionError("average line price of a cart with no lines")
            return {"number": rows[0]["number"], "note": rows[0]["note"], "lines": 0}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--bugs", action="store_true")
    parser.add_argument("--bug", action="append", default=[], choices=EXTRA_BUGS)
    parser.add_argument("--login", action="store_true")
    parser.add_argument("--carts", action="store_true")
    args = parser.parse_args()
    import uvicorn

    db = Database(args.db)
    db.create_schema()
    app = create_app(db, args.bugs, frozenset(args.bug), login=args.login, carts=args.carts)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="error")


if __name__ == "__main__":
    main()
