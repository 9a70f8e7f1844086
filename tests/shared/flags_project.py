"""A project for parallel-worker tests and ``bench/workers.py``: flags in a SQLite file behind
an API whose every request waits ``latency`` seconds (a latency-bound API), with an action to
switch each flag on and off and an invariant that reads the store; BFS over every combination.
``make_project(folder, flags, latency)`` writes the API, the checks, the database and a
venomqa.yaml that starts the API from ``target.command``.
"""

from __future__ import annotations

import sqlite3
import sys
import textwrap
from pathlib import Path

PYTHON = sys.executable

FLAGS_API = '''
"""Flags in a SQLite file; every request waits LATENCY seconds first."""
import sqlite3
import time

from venomqa.testing.server import JsonApi

api = JsonApi("flags")
api.argument("--db", required=True)
api.argument("--latency", type=float, default=0.02)


@api.setup
def connect(options):
    return options


def _sql(options, sql, params=()):
    time.sleep(options.latency)
    conn = sqlite3.connect(options.db, timeout=10)
    try:
        with conn:
            return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@api.route("GET", "/health")
def health(request):
    return 200, {"ok": True}


@api.route("PUT", r"/flags/(?P<flag>\\d+)")
def switch_on(request):
    _sql(request.state, "UPDATE flags SET value = 1 WHERE id = ?", (int(request.params["flag"]),))
    return 200, {"on": True}


@api.route("DELETE", r"/flags/(?P<flag>\\d+)")
def switch_off(request):
    _sql(request.state, "UPDATE flags SET value = 0 WHERE id = ?", (int(request.params["flag"]),))
    return 204, None


if __name__ == "__main__":
    api.main()
'''

FLAGS_CHECKS = '''
"""On and off for each flag; the context knows which are on."""
from venomqa import Action, invariant

FLAGS = {flags}


def _on(flag):
    def fire(api, ctx):
        response = api.put(f"/flags/{{flag}}")
        ctx[f"flag{{flag}}"] = True
        return response
    return fire


def _off(flag):
    def fire(api, ctx):
        response = api.delete(f"/flags/{{flag}}")
        ctx.pop(f"flag{{flag}}", None)
        return response
    return fire


for _flag in range(FLAGS):
    globals()[f"on_{{_flag}}"] = Action(
        f"on_{{_flag}}", _on(_flag), requires=lambda ctx, f=_flag: f"flag{{f}}" not in ctx
    )
    globals()[f"off_{{_flag}}"] = Action(
        f"off_{{_flag}}", _off(_flag), requires=lambda ctx, f=_flag: f"flag{{f}}" in ctx
    )


@invariant
def flags_are_flags(world):
    rows = world.stores["db"].query("SELECT value FROM flags")
    return len(rows) == FLAGS and all(row["value"] in (0, 1) for row in rows)
'''


def make_project(folder: Path, flags: int, latency: float) -> None:
    (folder / "flags_api.py").write_text(FLAGS_API)
    (folder / "flags_checks.py").write_text(FLAGS_CHECKS.format(flags=flags))
    conn = sqlite3.connect(folder / "flags.db")
    with conn:
        conn.execute("CREATE TABLE flags (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
        conn.executemany("INSERT INTO flags VALUES (?, 0)", [(i,) for i in range(flags)])
    conn.close()
    (folder / "venomqa.yaml").write_text(
        textwrap.dedent(
            f"""\
            target:
              url: http://127.0.0.1:{{port}}
              command: ["{PYTHON}", flags_api.py, --port, "{{port}}",
                        --db, "{{stores.db.path}}", --latency, "{latency}"]
              ready: /health
            actions: [flags_checks]
            stores:
              db: {{adapter: sqlite, path: flags.db}}
            explore: {{max_depth: {flags}, max_states: 100000}}
            """
        )
    )
