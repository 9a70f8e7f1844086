"""``venomqa recover`` and leftovers, for real: a `venomqa run` process SIGKILLed mid-run leaves
its undo log, triggers and rows in the API's SQLite file; ``venomqa recover`` (or the next run)
puts the file back as it was and says so in one plain line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from _support_demo import sqlite_dump
from venomqa.demo import init_schema, start_demo_server
from venomqa.demo.process import DemoServer

ACTIONS = """
from venomqa import action


@action
def create_order(api, ctx):
    return api.post("/orders", json={"amount": 100})
"""


def venomqa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "venomqa", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": ""},
    )


def killed_run(tmp_path: Path, server: DemoServer, db: Path) -> Path:
    """A `venomqa run` SIGKILLed once it has written to the file; returns its venomqa.yaml."""
    (tmp_path / "killed_checks.py").write_text(ACTIONS)
    config = tmp_path / "venomqa.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            target: {server.url}
            actions: [killed_checks]
            stores:
              db: {{adapter: sqlite, path: {db.name}}}
            explore: {{max_depth: 100000, max_states: 1000000}}
            """
        )
    )
    before = sqlite_dump(db)
    process = subprocess.Popen(
        [sys.executable, "-m", "venomqa", "run", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": ""},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(sqlite_dump(db)) < len(before) + 20:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # no clean-up at all
    process.wait(timeout=30)
    return config


def test_recover_repairs_a_killed_run_and_says_what_it_did(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    init_schema(db)
    before = sqlite_dump(db)
    with start_demo_server(db) as server:
        config = killed_run(tmp_path, server, db)
    left = sqlite_dump(db)
    assert left != before
    assert any("_venomqa" in line for line in left), "the killed run left no undo log"

    repaired = venomqa("recover", "-c", str(config))
    again = venomqa("recover", "-c", str(config))

    assert repaired.returncode == 0, repaired.stderr
    [line] = repaired.stdout.splitlines()
    assert line.startswith(f"store 'db' (adapter sqlite, path {db}): repaired: ")
    assert "repaired:" in line and "logged change(s)" in line
    assert "Warning" not in repaired.stderr  # no raw Python warning
    assert sqlite_dump(db) == before
    assert again.returncode == 0
    assert again.stdout.strip().endswith("nothing left over")


def test_the_next_run_repairs_leftovers_with_one_plain_line(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    init_schema(db)
    before = sqlite_dump(db)
    with start_demo_server(db) as server:
        config = killed_run(tmp_path, server, db)
        config.write_text(config.read_text().replace("max_depth: 100000", "max_depth: 2"))
        run = venomqa("run", "-c", str(config))

    assert run.returncode == 0, run.stderr
    notes = [line for line in run.stderr.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and "stopped before its clean-up" in notes[0], run.stderr
    assert "RuntimeWarning" not in run.stderr and "warnings.warn" not in run.stderr
    assert sqlite_dump(db) == before


def test_recover_names_a_store_it_cannot_repair_and_exits_3(tmp_path: Path) -> None:
    config = tmp_path / "venomqa.yaml"
    config.write_text(
        "target: http://127.0.0.1:9\nstores:\n  db: {adapter: sqlite, path: missing.db}\n"
    )
    result = venomqa("recover", "-c", str(config))
    assert result.returncode == 3
    assert "store 'db' (adapter sqlite, path " in result.stderr
    assert "could not be recovered" in result.stderr and "does not exist" in result.stderr


def test_recover_without_stores_says_there_is_nothing_to_do(tmp_path: Path) -> None:
    config = tmp_path / "venomqa.yaml"
    config.write_text("target: http://127.0.0.1:9\n")
    result = venomqa("recover", "-c", str(config))
    assert result.returncode == 0
    assert "configures no stores" in result.stdout
