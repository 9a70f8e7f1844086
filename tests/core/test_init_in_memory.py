"""`venomqa init`'s starter against an API that keeps its state in its own memory: nothing is
rolled back between branches, so replays disagree. The run reports that as a nondeterminism
finding whose message says what to do (declare the stores) and where the docs explain it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from venomqa.testing.server import start_api_process

IN_MEMORY_API = '''
"""Items kept in this process's memory; at most one is ever created (a quota that is never
given back), so what an action answers depends on every call made before, on any branch."""

from venomqa.testing.server import HttpError, JsonApi

api = JsonApi("in-memory items")
items = {}
created = [0]


@api.route("POST", r"/items")
def create(request):
    if created[0] >= 1:
        raise HttpError(409, {"error": "quota used up"})
    created[0] += 1
    items[created[0]] = request.body
    return 201, {"id": created[0]}


@api.route("GET", r"/items/(?P<id>\\d+)")
def read(request):
    if int(request.params["id"]) not in items:
        raise HttpError(404, {"error": "no such item"})
    return 200, items[int(request.params["id"])]


@api.route("DELETE", r"/items/(?P<id>\\d+)")
def delete(request):
    items.pop(int(request.params["id"]), None)
    return 204, None


if __name__ == "__main__":
    api.main()
'''


def test_the_starter_on_an_in_memory_api_points_at_declaring_stores(tmp_path: Path) -> None:
    script = tmp_path / "in_memory_api.py"
    script.write_text(IN_MEMORY_API)
    project = tmp_path / "project"

    def venomqa(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "venomqa", *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=project if project.exists() else tmp_path,
        )

    assert venomqa("init", str(project)).returncode == 0
    config_text = (project / "venomqa.yaml").read_text()
    assert "Declare every" in config_text and "store whose data your actions change" in config_text

    with start_api_process([sys.executable, str(script)], what="in-memory API") as api:
        result = venomqa("run", "-c", str(project / "venomqa.yaml"), "--target", api.url)
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads((project / "reports" / "venomqa.json").read_text())
    [finding] = [v for v in report["violations"] if v["invariant"] == "nondeterminism"]
    hint = "no store is declared under `stores:`, so nothing is rolled back between branches"
    assert hint in finding["message"]
    assert "docs/configuration.md" in finding["message"]
    assert hint in result.stdout
