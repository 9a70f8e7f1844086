"""``venomqa recover`` and leftovers on Redis, for real: a `venomqa run` process SIGKILLed mid-run
against the sessions API leaves its changes in the database and notify-keyspace-events modified;
``venomqa recover`` (or the next run) puts every key, value, TTL and the setting back and says so
in one plain line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support_redis import full_dump
from conftest import E2E_DB, redis_url
from venomqa.testing.server import ApiProcess, start_api_process

URL = redis_url(E2E_DB)
SERVER = Path(__file__).with_name("_support_redis_sessions_api.py")
CAROL = "0c7a1b2e-4f3d-4a5b-9c8d-7e6f5a4b3c2d"

#: Endless: every registration is a new user, so a new state; slow enough to be killed mid-run.
ACTIONS = """
import time

from venomqa import action


@action
def register(api, ctx):
    ctx["n"] = ctx.get("n", 0) + 1
    time.sleep(0.01)
    response = api.post("/users", json={"name": f"user-{ctx['n']}"})
    ctx["user"] = response.json()["id"]
    return response


@action(requires=lambda ctx: "user" in ctx)
def log_in(api, ctx):
    return api.post("/sessions", json={"user": ctx["user"]})


@action
def log_carol_out(api, ctx):
    return api.delete("/sessions/current", headers={"Authorization": "Bearer carols-token"})
"""


def venomqa(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "venomqa", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": "redis"},
    )


@pytest.fixture
def api(e2e_db: Any) -> Iterator[ApiProcess]:
    e2e_db.config_set("notify-keyspace-events", "Kx")
    e2e_db.hset(f"user:{CAROL}", mapping={"name": "carol", "created_at": "2020-01-01T00:00:00Z"})
    e2e_db.hset("users:by-name", "carol", CAROL)
    e2e_db.set("session:carols-token", f'{{"user": "{CAROL}"}}', ex=3600)
    e2e_db.rpush("audit", "created carol")
    e2e_db.zadd("logins", {"carol": 3})
    with start_api_process([sys.executable, str(SERVER), "--url", URL]) as server:
        yield server


def killed_run(tmp_path: Path, api: ApiProcess, e2e_db: Any) -> Path:
    """A `venomqa run` SIGKILLed once the database differs from before; its venomqa.yaml."""
    (tmp_path / "session_checks.py").write_text(textwrap.dedent(ACTIONS))
    config = tmp_path / "venomqa.yaml"
    config.write_text(
        f"target: {api.url}\n"
        "actions: [session_checks]\n"
        "stores:\n"
        f"  cache: {{adapter: redis, url: '{URL}', state_dir: '{tmp_path / 'state'}'}}\n"
        "explore: {max_depth: 100000, max_states: 1000000}\n"
    )
    keys = full_dump(e2e_db)["keys"]
    process = subprocess.Popen(
        [sys.executable, "-m", "venomqa", "run", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": "redis"},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(e2e_db.keys("user:*")) < 4:
        time.sleep(0.02)  # three registrations deep at least
    process.send_signal(signal.SIGKILL)  # no clean-up at all
    process.wait(timeout=30)
    left = full_dump(e2e_db)
    assert left["keys"] != keys, "the run was killed before it changed anything"
    assert left["config"] != "xK"
    return config


def test_recover_repairs_a_killed_run_and_says_what_it_did(
    api: ApiProcess, e2e_db: Any, tmp_path: Path
) -> None:
    before = full_dump(e2e_db)
    config = killed_run(tmp_path, api, e2e_db)

    repaired = venomqa("recover", "-c", str(config), cwd=tmp_path)
    again = venomqa("recover", "-c", str(config), cwd=tmp_path)

    assert repaired.returncode == 0, repaired.stderr
    [line] = repaired.stdout.splitlines()
    assert line.startswith(f"store 'cache' (adapter redis, url {URL}): repaired: {URL}: ")
    assert "stopped before its clean-up" in line and "set notify-keyspace-events back to" in line
    assert "Warning" not in repaired.stderr  # no raw Python warning
    assert full_dump(e2e_db) == before
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"store 'cache' (adapter redis, url {URL}): nothing left over"
    assert list((tmp_path / "state").iterdir()) == []


def test_the_next_run_repairs_leftovers_with_one_plain_line(
    api: ApiProcess, e2e_db: Any, tmp_path: Path
) -> None:
    before = full_dump(e2e_db)
    config = killed_run(tmp_path, api, e2e_db)
    config.write_text(config.read_text().replace("max_depth: 100000", "max_depth: 2"))

    run = venomqa("run", "-c", str(config), cwd=tmp_path)

    assert run.returncode == 0, run.stdout + run.stderr
    notes = [line for line in run.stderr.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and "stopped before its clean-up" in notes[0], run.stderr
    assert "RuntimeWarning" not in run.stderr and "warnings.warn" not in run.stderr
    assert full_dump(e2e_db) == before
    assert list((tmp_path / "state").iterdir()) == []
