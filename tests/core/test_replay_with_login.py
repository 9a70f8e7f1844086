"""``venomqa replay`` re-runs a path through the user's actions, so fresh logins and tokens work.

The API (``tests/shared/token_api.py``, its own process) requires a bearer token from
``POST /login``; exporting notes as CSV answers 500. ``venomqa run`` finds the 500,
then ``venomqa replay`` re-runs login -> export_csv with a new token and reproduces it
(re-sending the recorded requests, whose token is redacted, would get 401).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from venomqa.testing.server import start_api_process

SHARED = Path(__file__).resolve().parents[1] / "shared"

CHECKS = """
from venomqa import action


@action(requires=lambda ctx: "token" not in ctx)
def login(api, ctx):
    response = api.post("/login")
    ctx["token"] = response.json()["token"]
    return response


@action(requires=lambda ctx: "token" in ctx and "note" not in ctx)
def add_note(api, ctx):
    response = api.post("/notes", headers={"Authorization": f"Bearer {ctx['token']}"})
    ctx["note"] = response.json()["id"]
    return response


@action(requires=lambda ctx: "token" in ctx)
def export_csv(api, ctx):
    return api.post(
        "/notes/export",
        json={"format": "csv"},
        headers={"Authorization": f"Bearer {ctx['token']}"},
    )
"""


def venomqa(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VENOMQA_")}
    return subprocess.run(
        [sys.executable, "-m", "venomqa", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_replay_logs_in_again_and_reproduces_the_500(tmp_path: Path) -> None:
    (tmp_path / "notes_checks.py").write_text(CHECKS, encoding="utf-8")
    with start_api_process([sys.executable, str(SHARED / "token_api.py")]) as api:
        (tmp_path / "venomqa.yaml").write_text(
            f"target: {api.url}\nactions: [notes_checks]\nexplore: {{max_depth: 3}}\n"
            "reports: [{format: json, path: report.json}]\n",
            encoding="utf-8",
        )
        found = venomqa("run", "--no-console", cwd=tmp_path)
        assert found.returncode == 1, found.stderr
        report = json.loads((tmp_path / "report.json").read_text())
        paths = [v["path"] for v in report["violations"] if v["kind"] == "server_error"]
        assert ["login", "export_csv"] in paths
        replayed = venomqa("replay", "report.json", cwd=tmp_path)
    assert replayed.returncode == 1, replayed.stdout + replayed.stderr
    assert "REPRODUCED: export_csv still gets 500 (recorded 500)" in replayed.stdout
    assert "401" not in replayed.stdout


def test_an_action_no_longer_defined_is_named(tmp_path: Path) -> None:
    (tmp_path / "notes_checks.py").write_text(CHECKS, encoding="utf-8")
    with start_api_process([sys.executable, str(SHARED / "token_api.py")]) as api:
        (tmp_path / "venomqa.yaml").write_text(
            f"target: {api.url}\nactions: [notes_checks]\nexplore: {{max_depth: 3}}\n"
            "reports: [{format: json, path: report.json}]\n",
            encoding="utf-8",
        )
        assert venomqa("run", "--no-console", cwd=tmp_path).returncode == 1
        renamed = CHECKS.replace("def login(", "def sign_in(")
        (tmp_path / "notes_checks.py").write_text(renamed, encoding="utf-8")
        replayed = venomqa("replay", "report.json", cwd=tmp_path)
    assert replayed.returncode == 2, replayed.stdout
    assert "names action(s) 'login' that the modules notes_checks do not define" in (
        replayed.stderr
    )
