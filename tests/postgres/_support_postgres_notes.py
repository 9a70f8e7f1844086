"""The notes API (``_support_postgres_notes_api.py``) as the tests drive it: its process, the
actions a user would write for it, an independent model of its states, and ways to disturb a
run (killing VenomQA's backend, watching a write in flight).

The actions are also the action module of `venomqa run` configurations in the tests
(``actions: [_support_postgres_notes]`` with this folder on PYTHONPATH).
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from _support_postgres import ADMIN_DSN
from venomqa import action
from venomqa.testing.server import ApiProcess, start_api_process

SERVER = Path(__file__).with_name("_support_postgres_notes_api.py")


@contextmanager
def notes_api(dsn: str) -> Iterator[ApiProcess]:
    """The notes API serving the database ``dsn`` from its own process (tables created)."""
    with start_api_process(
        [sys.executable, str(SERVER), "--dsn", dsn], what="postgres notes API"
    ) as server:
        yield server


# -- the actions ---------------------------------------------------------------------------------


@action(requires=lambda ctx: len(ctx.get("notes", [])) < 2)
def create_note(api: Any, ctx: Any) -> Any:
    notes = ctx.get("notes", [])
    response = api.post("/notes", json={"title": f"note {len(notes) + 1}"})
    ctx["notes"] = [*notes, response.json()["id"]]
    return response


@action(requires=lambda ctx: bool(ctx.get("notes")))
def finish_note(api: Any, ctx: Any) -> Any:
    return api.post(f"/notes/{ctx['notes'][-1]}/done")


@action(requires=lambda ctx: bool(ctx.get("notes")))
def comment_note(api: Any, ctx: Any) -> Any:
    return api.post(f"/notes/{ctx['notes'][-1]}/comments", json={"body": "hi"})


@action(requires=lambda ctx: bool(ctx.get("notes")))
def delete_note(api: Any, ctx: Any) -> Any:
    *rest, latest = ctx["notes"]
    response = api.delete(f"/notes/{latest}")
    if rest:
        ctx["notes"] = rest
    else:
        del ctx["notes"]  # the context as it was before the first note
    return response


@action(requires=lambda ctx: bool(ctx.get("notes")))
def label_note(api: Any, ctx: Any) -> Any:
    """Labels get SERIAL ids: not in the model (``ACTIONS``), for soaks and killed runs."""
    return api.post(f"/notes/{ctx['notes'][-1]}/labels", json={"name": "urgent"})


#: The actions the model (``model_states``) describes.
ACTIONS = [create_note, finish_note, comment_note, delete_note]
#: Every action, labels (SERIAL ids) included.
ALL_ACTIONS = [*ACTIONS, label_note]

# -- the independent model: each note (in creation order) as (done, comments) ------------------

Notes = tuple[tuple[bool, int], ...]


def _step(state: Notes, name: str) -> Notes | None:
    if name == "create_note":
        return (*state, (False, 0)) if len(state) < 2 else None
    if not state:
        return None
    *rest, (done, comments) = state
    if name == "finish_note":
        return (*rest, (True, comments))
    if name == "comment_note":
        return (*rest, (done, comments + 1))
    return tuple(rest)


def model_states(max_depth: int) -> int:
    """How many distinct states BFS reaches within ``max_depth`` actions."""
    depth: dict[Notes, int] = {(): 0}
    frontier: deque[Notes] = deque([()])
    while frontier:
        state = frontier.popleft()
        if depth[state] == max_depth:
            continue
        for fn in ACTIONS:
            target = _step(state, fn.name)
            if target is not None and target not in depth:
                depth[target] = depth[state] + 1
                frontier.append(target)
    return len(depth)


# -- disturbing a run ----------------------------------------------------------------------------


def database_name(dsn: str) -> str:
    return dsn.rsplit("/", 1)[1]


def venomqa_backends(dsn: str) -> list[int]:
    """The pids of the backends named ``venomqa`` connected to the database of ``dsn``."""
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'venomqa' AND datname = %s",
            (database_name(dsn),),
        ).fetchall()
    return [int(pid) for (pid,) in rows]


def terminate(pid: int) -> bool:
    """``pg_terminate_backend(pid)`` from another connection."""
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        row = admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()
    return bool(row and row[0])


class BackendKiller(threading.Thread):
    """Terminates VenomQA's backend on ``dsn``'s database every ``every`` seconds, from the
    moment the store's setup has committed (its ``_venomqa.meta`` exists) until ``stop()``.
    Only backends older than ``min_age`` seconds are killed, so the operation retried on a new
    connection gets through. ``killed`` holds the pids terminated."""

    def __init__(self, dsn: str, every: float = 0.2, min_age: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.every = every
        self.min_age = min_age
        self.killed: list[int] = []
        self._stopping = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stopping.is_set():
                row = conn.execute("SELECT to_regclass('_venomqa.meta') IS NOT NULL").fetchone()
                if row and row[0]:
                    break
                time.sleep(0.005)
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            while not self._stopping.wait(self.every):
                rows = admin.execute(
                    "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'venomqa' AND datname = %s "
                    "AND backend_start < now() - make_interval(secs => %s)",
                    (database_name(self.dsn), self.min_age),
                ).fetchall()
                self.killed += [int(pid) for pid, done in rows if done]

    def stop(self) -> list[int]:
        """Stop killing; the pids killed."""
        self._stopping.set()
        if self.is_alive():
            self.join(30)
        return self.killed


def writers_on(dsn: str, table: str, other_than: int) -> int:
    """How many other backends hold a granted RowExclusiveLock (a write) on ``table``."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE d.datname = current_database() AND l.relation = %s::regclass "
            "AND l.mode = 'RowExclusiveLock' AND l.granted AND l.pid <> %s",
            (table, other_than),
        ).fetchone()
    return int(row[0]) if row else 0


def wait_for(predicate: Any, timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``predicate()`` until it is true; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)
