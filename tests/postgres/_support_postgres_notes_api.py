"""A notes API over PostgreSQL whose rows get random uuid4 primary keys and server-set
timestamps, run as its own process by the tests (``_support_postgres_notes.notes_api``).

    python _support_postgres_notes_api.py --dsn postgresql://... [--port 0]

Notes get a uuid4 made by the API, comments one made by the database (``gen_random_uuid()``),
labels a SERIAL id; all get ``created_at DEFAULT now()``, and finishing a note sets
``finished_at = now()``. It writes
through its own ``psycopg_pool`` pool, committing every request.

``POST /notes/slow`` is a write still in flight when a client gives up: it inserts a note, waits
``sleep`` seconds inside its open transaction, with ``comment`` then comments on the note, and
commits only then.
"""

from __future__ import annotations

import argparse
import time
import uuid
from typing import Any

from psycopg_pool import ConnectionPool
from venomqa.testing.server import JsonApi, Reply, Request

SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id uuid PRIMARY KEY,
    title text NOT NULL,
    done boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE TABLE IF NOT EXISTS comments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    note_id uuid NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS labels (
    id serial PRIMARY KEY,
    note_id uuid NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""

api = JsonApi("postgres notes")
api.argument("--dsn", required=True)


@api.setup
def connect(options: argparse.Namespace) -> ConnectionPool:
    pool = ConnectionPool(options.dsn, min_size=1, max_size=4, open=True)
    with pool.connection() as conn:
        conn.execute(SCHEMA)
    return pool


@api.route("POST", r"/notes")
def create(request: Request) -> Reply:
    title = request.body.get("title") if isinstance(request.body, dict) else None
    if not isinstance(title, str) or not title:
        return 400, {"error": "title must be a non-empty string"}
    note = str(uuid.uuid4())
    with request.state.connection() as conn:
        conn.execute("INSERT INTO notes (id, title) VALUES (%s, %s)", (note, title))
    return 201, {"id": note, "title": title, "done": False}


@api.route("POST", r"/notes/slow")
def create_slowly(request: Request) -> Reply:
    body = request.body if isinstance(request.body, dict) else {}
    pause = body.get("sleep", 1.0)
    if not isinstance(pause, int | float) or not 0 <= pause <= 30:
        return 400, {"error": "sleep must be a number of seconds from 0 to 30"}
    note = str(uuid.uuid4())
    with request.state.connection() as conn:
        conn.execute("INSERT INTO notes (id, title) VALUES (%s, 'slow')", (note,))
        time.sleep(pause)  # the transaction stays open: the insert is not committed yet
        if body.get("comment"):
            conn.execute("INSERT INTO comments (note_id, body) VALUES (%s, 'slow')", (note,))
    return 201, {"id": note}


@api.route("POST", r"/notes/(?P<note>[0-9a-f-]{36})/done")
def finish(request: Request) -> Reply:
    with request.state.connection() as conn:
        row = _note(conn, request.params["note"])
        if row is None:
            return 404, {"error": "no such note"}
        if row[0]:
            return 409, {"error": "already done"}
        conn.execute(
            "UPDATE notes SET done = true, finished_at = now() WHERE id = %s",
            (request.params["note"],),
        )
    return 200, {"id": request.params["note"], "done": True}


@api.route("POST", r"/notes/(?P<note>[0-9a-f-]{36})/comments")
def comment(request: Request) -> Reply:
    body = request.body.get("body") if isinstance(request.body, dict) else None
    with request.state.connection() as conn:
        if _note(conn, request.params["note"]) is None:
            return 404, {"error": "no such note"}
        row = conn.execute(
            "INSERT INTO comments (note_id, body) VALUES (%s, %s) RETURNING id",
            (request.params["note"], str(body)),
        ).fetchone()
    return 201, {"id": str(row[0]) if row else None}


@api.route("POST", r"/notes/(?P<note>[0-9a-f-]{36})/labels")
def label(request: Request) -> Reply:
    name = request.body.get("name") if isinstance(request.body, dict) else None
    with request.state.connection() as conn:
        if _note(conn, request.params["note"]) is None:
            return 404, {"error": "no such note"}
        row = conn.execute(
            "INSERT INTO labels (note_id, name) VALUES (%s, %s) RETURNING id",
            (request.params["note"], str(name)),
        ).fetchone()
    return 201, {"id": row[0] if row else None}


@api.route("DELETE", r"/notes/(?P<note>[0-9a-f-]{36})")
def delete(request: Request) -> Reply:
    with request.state.connection() as conn:
        done = conn.execute("DELETE FROM notes WHERE id = %s", (request.params["note"],))
        if done.rowcount == 0:
            return 404, {"error": "no such note"}
    return 204, None


def _note(conn: Any, note: str) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = conn.execute(
        "SELECT done FROM notes WHERE id = %s FOR UPDATE", (note,)
    ).fetchone()
    return row


if __name__ == "__main__":
    api.main()
