"""``venomqa run`` and ``venomqa replay`` with ``target.command``: VenomQA starts the API (a real
process on a free port, its SQLite file given through ``{stores.db.path}``), explores it, stops
it; a command that exits or never answers fails the run with exit 3 and shows its output."""

from __future__ import annotations

import json
import re
from pathlib import Path

from _support_demo import sqlite_dump
from _support_target import notes_project, running, venomqa


def _pid(folder: Path) -> int:
    return int((folder / "api.pid").read_text())


def test_run_starts_the_api_explores_it_and_stops_it(tmp_path: Path) -> None:
    config = notes_project(tmp_path)
    before = sqlite_dump(tmp_path / "notes.db")

    process = venomqa("run", "-c", str(config))
    out, err = process.communicate(timeout=120)

    assert process.returncode == 1, out + err
    report = json.loads((tmp_path / "report.json").read_text())
    assert [v["path"] for v in report["violations"]] == [["add_note", "add_note"]]
    # the report names the URL the API really ran on: the port VenomQA picked
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", report["target"])
    assert report["target"] != "http://127.0.0.1:{port}"
    assert re.search(r"api: started `\S+ notes_api\.py --port \d+` \(pid \d+\)", err)
    assert not running(_pid(tmp_path)), "the API outlived the run"
    assert sqlite_dump(tmp_path / "notes.db") == before


def test_a_shell_command_runs_and_its_whole_group_is_stopped(tmp_path: Path) -> None:
    """A string runs through the shell; values put into it are quoted, so a folder with a space
    works; the shell's child (the API) is stopped with it."""
    folder = tmp_path / "with space"
    folder.mkdir()
    config = notes_project(
        folder, command='"{python} notes_api.py --port {port}; echo never reached"'
    )

    process = venomqa("run", "-c", str(config))
    out, err = process.communicate(timeout=120)

    assert process.returncode == 1, out + err
    assert not running(_pid(folder))


def test_a_command_that_exits_at_once_fails_with_its_output_and_exit_3(tmp_path: Path) -> None:
    config = notes_project(
        tmp_path,
        command=(
            '["{python}", -c, "import sys; print(\'cannot open the database: {port}\'); '
            'sys.exit(4)"]'
        ),
    )

    process = venomqa("run", "-c", str(config))
    out, err = process.communicate(timeout=60)

    assert process.returncode == 3, out + err
    assert "Error: the API `" in err and "-c 'import sys;" in err
    assert "exited with code 4 before it answered GET http://127.0.0.1:" in err
    assert "/health; its last output:\n    cannot open the database: " in err


def test_a_command_that_never_gets_ready_times_out_and_is_stopped(tmp_path: Path) -> None:
    config = notes_project(
        tmp_path,
        command=(
            '["{python}", -c, "import os, time; print(\'warming up as\', os.getpid(), '
            'flush=True); time.sleep(120)", "{port}"]'
        ),
        extra="ready_timeout: 1.5\nstop_timeout: 1\n",
    )

    process = venomqa("run", "-c", str(config))
    out, err = process.communicate(timeout=60)

    assert process.returncode == 3, out + err
    assert "did not answer GET http://127.0.0.1:" in err
    assert "/health below 500 within 1.5s (last: connection refused); it was stopped." in err
    assert "Raise target.ready_timeout" in err
    found = re.search(r"warming up as (\d+)", err)
    assert found is not None, err
    assert not running(int(found.group(1)))


def test_an_api_that_dies_mid_run_is_reported_with_its_output(tmp_path: Path) -> None:
    config = notes_project(tmp_path)

    process = venomqa("run", "-c", str(config), NOTES_CRASH="1")
    out, err = process.communicate(timeout=60)

    assert process.returncode == 3, out + err
    assert re.search(
        r"note: the API `\S+ notes_api\.py --port \d+` \(pid \d+\) exited with code 70", err
    )
    assert "its last output:\n    notes api on" in err
    assert "    notes api: out of memory (simulated)" in err
    assert not running(_pid(tmp_path))


def test_target_on_the_command_line_replaces_the_command(tmp_path: Path) -> None:
    """``--target URL``: nothing is started; the URL is used as given."""
    config = notes_project(tmp_path, command='["{python}", -c, "raise SystemExit(9)", "{port}"]')

    process = venomqa("run", "-c", str(config), "--target", "http://127.0.0.1:9")
    out, err = process.communicate(timeout=60)

    assert process.returncode == 3, out + err
    assert "the API under test at http://127.0.0.1:9 is unreachable" in err
    assert "exited with code 9" not in err


def test_replay_starts_the_api_to_replay_on(tmp_path: Path) -> None:
    config = notes_project(tmp_path)
    first = venomqa("run", "-c", str(config))
    out, err = first.communicate(timeout=120)
    assert first.returncode == 1, out + err
    pid = _pid(tmp_path)

    replay = venomqa("replay", str(tmp_path / "report.json"), "-c", str(config))
    out, err = replay.communicate(timeout=120)

    assert replay.returncode == 1, out + err
    assert "REPRODUCED" in out and "1 of 1 violation(s) reproduced." in out
    assert _pid(tmp_path) != pid, "replay did not start its own API"
    assert not running(_pid(tmp_path))
