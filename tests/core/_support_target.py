"""For the ``target.command`` tests: a notes API script backed by SQLite, its checks, a project
folder that starts it through ``target: {command: ...}``, and process helpers.

The API (``notes_api.py``, ``venomqa.testing.server``'s JsonApi) reads its SQLite file from
``$NOTES_DB``, writes its process id to ``$NOTES_PIDFILE`` when set, prints ``notes api on
PORT`` on stderr and serves:

    GET  /health   200 {"ok": true}
    GET  /notes    200 [{"id", "text"}]
    POST /notes    201 {"id": N}
    DELETE /notes  204 (every note)

With ``$NOTES_CRASH`` set, the process exits (code 70) on the first ``POST /notes``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

NOTES_API = """
import os
import sqlite3
import sys

from venomqa.testing.server import JsonApi

api = JsonApi("notes")


@api.setup
def connect(options):
    path = os.environ["NOTES_DB"]
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTOINCREMENT, text TEXT)"
        )
    conn.close()
    if os.environ.get("NOTES_PIDFILE"):
        with open(os.environ["NOTES_PIDFILE"], "w") as file:
            file.write(str(os.getpid()))
    print(f"notes api on {options.port}", file=sys.stderr, flush=True)
    return path


def _run(path, sql, params=()):
    conn = sqlite3.connect(path)
    try:
        with conn:
            cursor = conn.execute(sql, params)
            return cursor.lastrowid, cursor.fetchall()
    finally:
        conn.close()


@api.route("GET", "/health")
def health(request):
    return 200, {"ok": True}


@api.route("GET", "/notes")
def list_notes(request):
    _, rows = _run(request.state, "SELECT id, text FROM notes ORDER BY id")
    return 200, [{"id": i, "text": t} for i, t in rows]


@api.route("POST", "/notes")
def add_note(request):
    note_id, _ = _run(request.state, "INSERT INTO notes (text) VALUES (?)", ("hi",))
    if os.environ.get("NOTES_CRASH"):
        print("notes api: out of memory (simulated)", file=sys.stderr, flush=True)
        os._exit(70)
    return 201, {"id": note_id}


@api.route("DELETE", "/notes")
def clear(request):
    _run(request.state, "DELETE FROM notes")
    return 204, None


if __name__ == "__main__":
    api.main()
"""

#: Two actions and an invariant that two notes break: found at depth 2.
NOTES_CHECKS = """
import os
import time

from venomqa import action, invariant

PAUSE = float(os.environ.get("NOTES_PAUSE", "0"))


@action
def add_note(api, ctx):
    response = api.post("/notes")
    time.sleep(PAUSE)
    return response


@action
def clear_notes(api, ctx):
    return api.delete("/notes")


@invariant
def at_most_one_note(world):
    return len(world.stores["db"].query("SELECT id FROM notes")) <= 1
"""

LIST_COMMAND = '["{python}", notes_api.py, --port, "{port}"]'


def notes_project(
    folder: Path,
    *,
    command: str = LIST_COMMAND,
    extra: str = "",
    max_depth: int = 3,
) -> Path:
    """A folder with the API, its checks, an empty notes file and a venomqa.yaml starting the
    API by ``command`` (YAML text); returns the venomqa.yaml path."""
    (folder / "notes_api.py").write_text(NOTES_API)
    (folder / "notes_checks.py").write_text(NOTES_CHECKS)
    init_notes(folder / "notes.db")
    config = folder / "venomqa.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            target:
              url: http://127.0.0.1:{{port}}
              command: {command}
              env: {{NOTES_DB: "{{stores.db.path}}", NOTES_PIDFILE: api.pid}}
              ready: /health
            """
        )
        + textwrap.indent(textwrap.dedent(extra), "  ")
        + textwrap.dedent(
            f"""\
            actions: [notes_checks]
            stores:
              db: {{adapter: sqlite, path: notes.db}}
            explore: {{max_depth: {max_depth}}}
            reports: [{{format: json, path: report.json}}]
            """
        )
    )
    return config


def init_notes(path: Path) -> None:
    """An empty notes file with its table (as the API would create it)."""
    import sqlite3

    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTOINCREMENT, text TEXT)"
        )
    conn.close()


def venomqa(*args: str, cwd: Path | None = None, **env: str) -> subprocess.Popen[str]:
    """``python -m venomqa ARGS`` in its own process, no third-party plugins loaded."""
    return subprocess.Popen(
        [sys.executable, "-m", "venomqa", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": "", **env},
    )


def running(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat[stat.rfind(b")") + 2 :][:1] not in (b"Z", b"X")


def group_members(pgid: int) -> list[int]:
    """Running processes of process group ``pgid``."""
    from venomqa.target._group import group_members as members

    return members(pgid)


def wait_until(condition: object, timeout: float = 15.0) -> bool:
    """Poll ``condition()`` until it is true or ``timeout`` seconds passed; its last value."""
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def kill_quietly(pid: int) -> None:
    """SIGKILL ``pid``'s process group (clean-up after a failed test)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
