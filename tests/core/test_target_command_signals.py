"""The API VenomQA started never outlives it: Ctrl-C (or SIGTERM) mid-run rolls the stores back
and stops the API's whole process group; ``kill -9`` of VenomQA stops it too (the watchdog)."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

import pytest
from _support_demo import sqlite_dump
from _support_target import (
    LIST_COMMAND,
    group_members,
    kill_quietly,
    notes_project,
    running,
    venomqa,
    wait_until,
)

SHELL_COMMAND = '"{python} notes_api.py --port {port}; echo never reached"'
pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc (Linux)")


def _notes(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM notes").fetchone()[0])
    finally:
        conn.close()


def _api_started(folder: Path) -> int:
    """The API's pid, once it has written it and the run has added a note through it."""
    pidfile = folder / "api.pid"
    assert wait_until(lambda: pidfile.is_file() and pidfile.read_text().strip(), 30)
    pid = int(pidfile.read_text())
    assert wait_until(lambda: _notes(folder / "notes.db") > 0, 30), "the run never wrote"
    return pid


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("command", [LIST_COMMAND, SHELL_COMMAND], ids=["list", "shell"])
def test_a_signal_mid_run_rolls_back_then_stops_the_api_group(
    tmp_path: Path, command: str, signum: int, code: int
) -> None:
    config = notes_project(tmp_path, command=command, max_depth=200)
    before = sqlite_dump(tmp_path / "notes.db")
    process = venomqa("run", "-c", str(config), NOTES_PAUSE="0.05")
    pgid = None
    try:
        pid = _api_started(tmp_path)
        pgid = os.getpgid(pid)
        assert pgid != os.getpgid(process.pid), "the API shares VenomQA's process group"
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)

        assert process.returncode == code, out + err
        assert "stores rolled back and checked: db." in err
        assert not running(pid)
        assert group_members(pgid) == []
        assert sqlite_dump(tmp_path / "notes.db") == before
    finally:
        process.kill()
        if pgid is not None:
            kill_quietly(pgid)


@pytest.mark.parametrize("command", [LIST_COMMAND, SHELL_COMMAND], ids=["list", "shell"])
def test_the_api_dies_with_a_killed_venomqa(tmp_path: Path, command: str) -> None:
    """``kill -9`` leaves VenomQA no chance to clean up: its watchdog sees VenomQA's end of the
    pipe close and stops the API's group (the shell's child too, which PR_SET_PDEATHSIG on the
    shell would not reach)."""
    config = notes_project(tmp_path, command=command, max_depth=200)
    process = venomqa("run", "-c", str(config), NOTES_PAUSE="0.05")
    pgid = None
    try:
        pid = _api_started(tmp_path)
        pgid = os.getpgid(pid)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

        assert wait_until(lambda: not running(pid), 10), "the API outlived a killed VenomQA"
        assert wait_until(lambda: group_members(pgid) == [], 10)
    finally:
        process.kill()
        if pgid is not None:
            kill_quietly(pgid)


def test_a_signal_while_waiting_for_ready_stops_the_command(tmp_path: Path) -> None:
    slow = "import os, time; open('api.pid', 'w').write(str(os.getpid())); time.sleep(120)"
    config = notes_project(tmp_path, command=f'["{{python}}", -c, "{slow}", "{{port}}"]')
    process = venomqa("run", "-c", str(config))
    pid = None
    try:
        pidfile = tmp_path / "api.pid"
        assert wait_until(lambda: pidfile.is_file() and pidfile.read_text().strip(), 30)
        pid = int(pidfile.read_text())
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)

        assert process.returncode == 143, out + err
        assert "Interrupted by SIGTERM." in err
        assert not running(pid)
    finally:
        process.kill()
        if pid is not None:
            kill_quietly(pid)
