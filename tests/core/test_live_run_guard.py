"""Two runs on one store: the second is refused, naming the first, instead of taking the first
one's undo log and triggers for a killed run's leftovers and "repairing" them under it. A killed
run's lock goes with its process, so its leftovers are still repaired by the next run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from _support_demo import sqlite_dump
from venomqa.demo import init_schema, start_demo_server
from venomqa.errors import StoreError
from venomqa.stores import SQLiteStore
from venomqa.stores.live_run import LOCK_SUFFIX

SLOW_ACTIONS = """
import time
from venomqa import action


@action
def create_order(api, ctx):
    time.sleep(0.05)
    return api.post("/orders", json={"amount": 100})
"""


def test_a_second_store_on_the_same_file_is_refused_while_the_first_is_set_up(
    tmp_path: Path,
) -> None:
    db = tmp_path / "shop.db"
    init_schema(db)
    first, second = SQLiteStore(str(db)), SQLiteStore(str(db))
    first.setup()
    try:
        with pytest.raises(StoreError) as refused:
            second.setup()
        message = str(refused.value)
        assert refused.value.store == second.name  # named after the store that was refused
        assert f"{db} is in use by another VenomQA run (pid {os.getpid()}" in message
        assert f"on host {socket.gethostname()}" in message
        assert "would undo each other's changes" in message
    finally:
        first.teardown()
    assert not Path(str(db) + LOCK_SUFFIX).exists(), "teardown removes the lock file"
    second.setup()  # free again
    second.teardown()


def _config(tmp_path: Path, url: str, db: Path) -> Path:
    (tmp_path / "slow_checks.py").write_text(SLOW_ACTIONS)
    config = tmp_path / "venomqa.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            target: {url}
            actions: [slow_checks]
            stores:
              db: {{adapter: sqlite, path: {db.name}}}
            explore: {{max_depth: 100000, max_states: 1000000}}
            """
        )
    )
    return config


def _venomqa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "venomqa", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": ""},
    )


def test_recover_and_a_second_run_refuse_a_live_run_which_goes_on_unharmed(
    tmp_path: Path,
) -> None:
    db = tmp_path / "shop.db"
    init_schema(db)
    before = sqlite_dump(db)
    with start_demo_server(db) as server:
        config = _config(tmp_path, server.url, db)
        live = subprocess.Popen(
            [sys.executable, "-m", "venomqa", "run", "-c", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "VENOMQA_LOAD_PLUGINS": ""},
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(sqlite_dump(db)) < len(before) + 5:
                time.sleep(0.05)  # the live run is writing through the API
            recover = _venomqa("recover", "-c", str(config))
            second = _venomqa("run", "-c", str(config), "--max-depth", "1")
            assert any("_venomqa" in line for line in sqlite_dump(db)), "its log is still there"
        finally:
            live.send_signal(signal.SIGINT)
            _, live_err = live.communicate(timeout=60)

    assert recover.returncode == 3, recover.stdout + recover.stderr
    assert f"in use by another VenomQA run (pid {live.pid} on host" in recover.stderr
    assert second.returncode == 3, second.stdout + second.stderr
    assert f"in use by another VenomQA run (pid {live.pid} on host" in second.stderr
    assert live.returncode == 130, live_err  # stopped by us, and restored cleanly:
    assert "rolled back and checked: db" in live_err
    assert sqlite_dump(db) == before
    assert not Path(str(db) + LOCK_SUFFIX).exists()


def test_a_killed_runs_lock_goes_with_it_and_the_next_run_repairs_what_it_left(
    tmp_path: Path,
) -> None:
    db = tmp_path / "shop.db"
    init_schema(db)
    before = sqlite_dump(db)
    with start_demo_server(db) as server:
        config = _config(tmp_path, server.url, db)
        killed = subprocess.Popen(
            [sys.executable, "-m", "venomqa", "run", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "VENOMQA_LOAD_PLUGINS": ""},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(sqlite_dump(db)) < len(before) + 5:
            time.sleep(0.05)
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        assert Path(str(db) + LOCK_SUFFIX).exists()  # the file stays, the lock does not
        repaired = _venomqa("recover", "-c", str(config))
    assert repaired.returncode == 0, repaired.stderr
    assert "repaired:" in repaired.stdout
    assert sqlite_dump(db) == before
    assert not Path(str(db) + LOCK_SUFFIX).exists()
