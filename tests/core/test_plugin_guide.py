"""Every example of docs/plugins.md builds, installs and works as the page says.

The files are taken from the page as shown (each fenced block whose first line is ``# PATH``),
written into one project folder per package, and installed with ``pip install -e`` into a fresh
virtual environment holding venomqa-core (editable, from this checkout) and the build backend the
page names. In that environment ``venomqa plugins list`` must show the three plugins, and a run
against a real API (its own process, keeping its state as files in a folder) must use the store,
the reporter and the strategy together: the violation found, its line written by the reporter,
and the folder rolled back to what it held before the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from services import require_service
from venomqa.testing.server import start_api_process

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "plugins.md"
CORE = ROOT / "packages" / "venomqa-core"

#: The files the page shows; a new example must be added here (and so gets tested).
EXPECTED_FILES = {
    "venomqa_folder/__init__.py",
    "pyproject.toml",
    "venomqa.yaml",
    "venomqa_lines/__init__.py",
    "venomqa_reverse/__init__.py",
}

#: The notes API: keeps its state as one file per note in the folder given by --data.
NOTES_API = """\
from pathlib import Path

from venomqa.testing.server import HttpError, JsonApi

api = JsonApi("notes")
api.argument("--data", required=True)


@api.setup
def folder(options):
    return Path(options.data)


def notes(folder):
    return sorted(p.name for p in folder.iterdir())


@api.route("GET", "/notes")
def list_notes(request):
    return 200, {"notes": notes(request.state)}


@api.route("POST", "/notes")
def add_note(request):
    name = f"note-{len(notes(request.state)) + 1}.txt"
    (request.state / name).write_text(str(request.body))
    return 201, {"name": name}


@api.route("DELETE", "/notes")
def remove_note(request):
    names = notes(request.state)
    if not names:
        raise HttpError(404, {"error": "no notes"})
    (request.state / names[-1]).unlink()
    return 204, None


if __name__ == "__main__":
    api.main()
"""

NOTES_CHECKS = """\
from venomqa import action, invariant


@action
def add_note(api, ctx):
    return api.post("/notes", json={"text": "hello"})


@action
def remove_note(api, ctx):
    return api.delete("/notes")


@invariant
def at_most_two_notes(world):
    return len(world.stores["files"].observe()["files"]) <= 2
"""


def page_files(page: Path) -> dict[str, str]:
    """Each fenced block of ``page`` whose first line is ``# PATH``, by PATH."""
    files: dict[str, str] = {}
    block: list[str] | None = None
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            if block is None:
                block = []
            else:
                first = block[0] if block else ""
                path = first[2:].strip() if first.startswith("# ") else ""
                if path and " " not in path and ("/" in path or "." in path):
                    files[path] = "\n".join(block[1:]) + "\n"
                block = None
        elif block is not None:
            block.append(line)
    return files


def _pip(venv_python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """This interpreter's pip, installing into ``venv_python``'s environment."""
    return subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv_python), "install", "-q", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _project(root: Path, package: str, module: str, pyproject: str) -> Path:
    """A project folder for ``package`` (folder, lines, reverse) from the page's files."""
    folder = root / package
    (folder / f"venomqa_{package}").mkdir(parents=True)
    (folder / f"venomqa_{package}" / "__init__.py").write_text(module)
    (folder / "pyproject.toml").write_text(pyproject.replace("folder", package))
    return folder


@pytest.mark.slow
def test_every_plugin_example_installs_lists_and_runs(tmp_path: Path) -> None:
    files = page_files(PAGE)
    assert set(files) == EXPECTED_FILES
    pyproject = files["pyproject.toml"]
    assert "[build-system]" in pyproject and "venomqa_folder" in pyproject
    projects = [
        _project(tmp_path, name, files[f"venomqa_{name}/__init__.py"], pyproject)
        for name in ("folder", "lines", "reverse")
    ]

    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    backend = _pip(python, "hatchling>=1.21", "editables")
    if backend.returncode != 0:
        require_service(f"cannot install the build backend hatchling: {backend.stderr[-500:]}")
    editable = [arg for folder in (CORE, *projects) for arg in ("-e", str(folder))]
    installed = _pip(python, "--no-build-isolation", *editable)
    assert installed.returncode == 0, installed.stderr

    env = {k: v for k, v in os.environ.items() if k != "VENOMQA_LOAD_PLUGINS"}
    venomqa = str(venv / "bin" / "venomqa")
    listed = subprocess.run(
        [venomqa, "plugins", "list", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    plugins = {p["name"]: p for p in json.loads(listed.stdout)}
    assert plugins["folder"]["adapters"] == ["folder"]
    assert plugins["lines"]["reporters"] == ["lines"]
    assert plugins["reverse"]["strategies"] == ["last-move-first"]
    for name in ("folder", "lines", "reverse"):
        assert plugins[name]["error"] is None
        assert plugins[name]["distribution"] == f"venomqa-{name}"
        assert plugins[name]["version"] == "0.1.0"
    table = subprocess.run(
        [venomqa, "plugins", "list"], env=env, capture_output=True, text=True, timeout=60
    ).stdout
    assert "venomqa-folder" in table and "adapters: folder" in table

    run_dir = tmp_path / "run"
    data = run_dir / "data"
    data.mkdir(parents=True)
    (data / "note-1.txt").write_text("there before the run")
    (run_dir / "notes_api.py").write_text(NOTES_API)
    (run_dir / "notes_checks.py").write_text(NOTES_CHECKS)
    config = yaml.safe_load(files["venomqa.yaml"])
    assert config["stores"]["files"] == {"adapter": "folder", "path": "./data"}
    command = [str(python), str(run_dir / "notes_api.py"), "--data", str(data)]
    with start_api_process(command, what="notes API") as server:
        config.update(target=server.url, actions=["notes_checks"])
        (run_dir / "venomqa.yaml").write_text(yaml.safe_dump(config))
        done = subprocess.run(
            [
                *(venomqa, "run", "--strategy", "last-move-first", "--max-depth", "3"),
                *("--report", "lines:violations.txt", "--no-console"),
            ],
            cwd=run_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1, done.stdout + done.stderr
    # One note was there: two more adds break the rule; the strategy keeps paths shortest.
    assert (run_dir / "violations.txt").read_text() == textwrap.dedent(
        """\
        high at_most_two_notes: add_note -> add_note
        """
    )
    assert sorted(p.name for p in data.iterdir()) == ["note-1.txt"]
    assert (data / "note-1.txt").read_text() == "there before the run"
