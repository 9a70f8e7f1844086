"""``start_target`` from Python, as parallel workers use it: each call gets its own port and the
stores' options it is given; ``RunningTarget`` reports url, pid and output, and ``stop()`` ends
the whole group, with SIGKILL for a process that ignores SIGTERM."""

from __future__ import annotations

import _thread
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from _support_target import NOTES_API, group_members, init_notes, running
from venomqa.errors import ConfigError
from venomqa.target import TargetSpec, TargetStartError, start_target
from venomqa.testing.server import start_api_process


def _notes_spec(folder: Path, **changes: object) -> TargetSpec:
    (folder / "notes_api.py").write_text(NOTES_API)
    fields: dict[str, object] = {
        "url": "http://127.0.0.1:{port}",
        "command": ("{python}", "notes_api.py", "--port", "{port}"),
        "env": {"NOTES_DB": "{stores.db.path}"},
        "ready": "/health",
        "cwd": str(folder),
        "file": str(folder / "venomqa.yaml"),
    }
    fields.update(changes)
    return TargetSpec(**fields)  # type: ignore[arg-type]


def test_each_start_gets_its_port_and_its_stores_values(tmp_path: Path) -> None:
    """Two copies at once (a worker each): their own port, their own SQLite file."""
    spec = _notes_spec(tmp_path)
    files = [tmp_path / f"w{i}.db" for i in (1, 2)]
    for file in files:
        init_notes(file)

    def start(index: int) -> object:
        return start_target(spec, stores={"db": {"path": str(files[index])}}, label=f"w{index}")

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(start, (0, 1))
    with first, second:
        assert first.url != second.url and first.pid != second.pid
        httpx.post(f"{first.url}/notes")
        assert len(httpx.get(f"{first.url}/notes").json()) == 1
        assert httpx.get(f"{second.url}/notes").json() == []
        assert "notes api on" in first.output_tail()
        assert repr(first).startswith(f"RunningTarget(url='{first.url}', pid={first.pid}")
        assert first.alive() and first.exit_code is None
    for target in (first, second):
        assert target.pid is not None and not running(target.pid)
        assert "notes api on" in target.output_tail()  # still readable after stop
        target.stop()  # idempotent


def test_a_misspelt_store_option_of_a_copy_is_a_config_error(tmp_path: Path) -> None:
    spec = _notes_spec(tmp_path)
    with pytest.raises(ConfigError) as caught:
        start_target(spec, stores={"db": {"file": "x.db"}}, label="w3")
    assert caught.value.key == "target.env.NOTES_DB"
    assert "store 'db' has no option 'path'" in str(caught.value)


def test_messages_name_the_label_and_the_command(tmp_path: Path) -> None:
    spec = _notes_spec(tmp_path, command=("{python}", "-c", "raise SystemExit(5)", "{port}"))
    with pytest.raises(TargetStartError) as caught:
        start_target(spec, stores={"db": {"path": "x"}}, label="w2")
    message = str(caught.value)
    assert message.startswith(f"the API (w2) `{sys.executable} -c 'raise SystemExit(5)' ")
    assert "exited with code 5 before it answered" in message and "it wrote no output" in message
    assert caught.value.exit_code == 3


def test_a_program_that_does_not_exist(tmp_path: Path) -> None:
    spec = _notes_spec(tmp_path, command=("./no-such-api", "{port}"))
    with pytest.raises(TargetStartError) as caught:
        start_target(spec, stores={"db": {"path": "x"}})
    assert f"could not be run in {tmp_path}: No such file or directory" in str(caught.value)


def test_a_server_left_answering_on_a_fixed_port_is_not_mistaken_for_the_api(
    tmp_path: Path,
) -> None:
    init_notes(tmp_path / "old.db")
    (tmp_path / "notes_api.py").write_text(NOTES_API)
    with start_api_process(
        [sys.executable, str(tmp_path / "notes_api.py")],
        env={"NOTES_DB": str(tmp_path / "old.db"), "PATH": ""},
    ) as old:
        spec = _notes_spec(
            tmp_path,
            url=old.url,
            command=("{python}", "-c", "import time; time.sleep(30)"),
        )
        with pytest.raises(TargetStartError) as caught:
            start_target(spec, stores={"db": {"path": "x"}})
    assert f"was not started: something already answers at {old.url}/health (HTTP 200)" in str(
        caught.value
    )


def test_stop_kills_what_ignores_sigterm_after_the_grace_period(tmp_path: Path) -> None:
    ignoring = (
        "import signal, time, sys, http.server as h\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "h.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), h.SimpleHTTPRequestHandler)"
        ".serve_forever()\n"
    )
    spec = _notes_spec(tmp_path, command=("{python}", "-c", ignoring, "{port}"), stop_timeout_s=0.5)
    target = start_target(spec, stores={"db": {"path": "x"}})  # a 404 is an answer
    assert target.pid is not None
    started = time.monotonic()
    target.stop()
    assert 0.4 < time.monotonic() - started < 5
    assert not running(target.pid) and group_members(target.pid) == []
    assert target.exit_code == -9
    assert "was ended by SIGKILL" in target.stopped_message()


def test_ctrl_c_while_waiting_for_ready_stops_the_process(tmp_path: Path) -> None:
    script = "import os, time; print(os.getpid(), flush=True); time.sleep(60)"
    spec = _notes_spec(tmp_path, command=("{python}", "-c", script, "{port}"))
    timer = threading.Timer(1.0, _thread.interrupt_main)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            start_target(spec, stores={"db": {"path": "x"}})
    finally:
        timer.cancel()
    assert time.monotonic() - started < 10
    assert [pid for pid in _python_children(script)] == []


def test_without_a_command_it_only_waits_for_ready(tmp_path: Path) -> None:
    init_notes(tmp_path / "n.db")
    (tmp_path / "notes_api.py").write_text(NOTES_API)
    with start_api_process(
        [sys.executable, str(tmp_path / "notes_api.py")], env={"NOTES_DB": str(tmp_path / "n.db")}
    ) as api:
        spec = TargetSpec(url=api.url, ready="/health")
        with start_target(spec, stores={}) as target:
            assert (target.url, target.pid, target.alive()) == (api.url, None, True)
            assert target.output_tail() == ""


def _python_children(script: str) -> list[int]:
    from _support_demo import processes_mentioning

    return processes_mentioning(script)


def test_reading_the_output_does_not_move_where_the_command_writes(tmp_path: Path) -> None:
    chatty = (
        "import sys, threading, http.server as h\n"
        "class Quiet(h.SimpleHTTPRequestHandler):\n"
        "    def log_message(self, *args): pass\n"
        "server = h.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), Quiet)\n"
        "threading.Thread(target=server.serve_forever, daemon=True).start()\n"
        "for i in range(20000):\n"
        "    print('line %d' % i, flush=True)\n"
        "print('end', flush=True)\n"
        "threading.Event().wait()\n"
    )
    spec = TargetSpec(url="http://127.0.0.1:{port}", command=("{python}", "-c", chatty, "{port}"))
    with start_target(spec, stores={}) as target:
        deadline = time.monotonic() + 20
        while not target.output_tail().endswith("end") and time.monotonic() < deadline:
            target.output_tail()
        lines = target.output_tail(lines=6).splitlines()
    assert lines == [f"line {i}" for i in range(19995, 20000)] + ["end"]
