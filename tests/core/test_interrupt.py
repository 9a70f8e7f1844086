"""Ctrl-C for real: SIGINT (or SIGTERM) to a `venomqa run` process mid-exploration rolls the API's
SQLite file back, removes everything the store installed, writes the reports with what was found
and exits 128 + the signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from _support_demo import sqlite_dump
from venomqa.demo import init_schema, start_demo_server

SLOW_ACTIONS = """
import time

from venomqa import action


@action
def create_order(api, ctx):
    response = api.post("/orders", json={"amount": 100})
    time.sleep(0.05)
    return response
"""


def test_sigint_mid_run_restores_the_file_and_exits_130(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    init_schema(db)
    before = sqlite_dump(db)
    (tmp_path / "slow_checks.py").write_text(SLOW_ACTIONS)
    with start_demo_server(db) as server:
        (tmp_path / "venomqa.yaml").write_text(
            textwrap.dedent(
                f"""
                target: {server.url}
                actions: [slow_checks]
                stores:
                  db: {{adapter: sqlite, path: {db.name}}}
                explore: {{max_depth: 500, max_states: 100000}}
                """
            )
        )
        env = {**os.environ, "VENOMQA_LOAD_PLUGINS": ""}
        process = subprocess.Popen(
            [sys.executable, "-m", "venomqa", "run", "-c", str(tmp_path / "venomqa.yaml")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        # Wait until the exploration has really written to the file, then press Ctrl-C.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(sqlite_dump(db)) <= len(before):
            time.sleep(0.05)
        assert len(sqlite_dump(db)) > len(before), "the run never wrote to the API's file"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)

    assert process.returncode == 130, stderr
    assert "; stores rolled back and checked: db." in stderr and "Interrupted by SIG" in stderr
    after = sqlite_dump(db)
    assert after == before
    assert not [line for line in after if "_venomqa" in line]


FINDING_ACTIONS = (
    SLOW_ACTIONS
    + """

from venomqa import invariant


@invariant
def no_order_yet(world):
    return not world.stores["db"].query("SELECT id FROM orders")
"""
)


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)]
)
def test_a_stopped_run_writes_every_report_with_what_it_found(
    tmp_path: Path, signum: int, code: int
) -> None:
    """Ctrl-C, or SIGTERM from a cancelled CI job, after a violation was found: the stores are
    rolled back, and every report asked for is written with the finding and stop reason
    ``interrupted``; the exit code is 128 + the signal."""
    db = tmp_path / "shop.db"
    init_schema(db)
    before = sqlite_dump(db)
    (tmp_path / "slow_checks.py").write_text(FINDING_ACTIONS)
    with start_demo_server(db) as server:
        (tmp_path / "venomqa.yaml").write_text(
            textwrap.dedent(
                f"""
                target: {server.url}
                actions: [slow_checks]
                stores:
                  db: {{adapter: sqlite, path: {db.name}}}
                explore: {{max_depth: 500, max_states: 100000}}
                reports: [{{format: json, path: first.json}}, {{format: json, path: second.json}}]
                """
            )
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "venomqa", "run", "-c", str(tmp_path / "venomqa.yaml")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "VENOMQA_LOAD_PLUGINS": ""},
        )
        assert process.stdout is not None
        for line in process.stdout:  # the console announces each violation as it is found
            if line.startswith("violation: no_order_yet"):
                break
        else:
            pytest.fail("the run ended without finding the violation")
        process.send_signal(signum)
        out, stderr = process.communicate(timeout=30)

    assert process.returncode == code, stderr
    assert "; stores rolled back and checked: db." in stderr and "Interrupted by SIG" in stderr
    assert f"(stopped: interrupted ({signal.Signals(signum).name}" in out
    assert "INCOMPLETE (interrupted by SIG" in out and "1 violation found so far." in out
    for name in ("first.json", "second.json"):
        report = json.loads((tmp_path / name).read_text())
        assert report["exploration"]["stop_reason"] == "interrupted"
        assert report["complete"] is False
        assert report["stopped"].startswith(f"interrupted by {signal.Signals(signum).name}")
        assert [v["invariant"] for v in report["violations"]] == ["no_order_yet"]
        assert report["violations"][0]["path"] == ["create_order"]
    assert sqlite_dump(db) == before
