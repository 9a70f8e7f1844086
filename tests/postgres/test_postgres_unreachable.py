"""A wrong DSN gives one sentence: which store, where, as whom, then the driver's detail.

``venomqa run`` runs in its own process against a live API; the database port is closed (a real
refused connection), then the user does not exist on the real server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def closed_port() -> int:
    probe = socket.create_server(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()
    return port


def run_with_dsn(tmp_path: Path, dsn: str) -> subprocess.CompletedProcess[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        (tmp_path / "checks.py").write_text(
            "from venomqa import action\n\n@action\ndef ping(api, ctx):\n    return api.get('/')\n"
        )
        config = tmp_path / "venomqa.yaml"
        config.write_text(
            f"target: http://127.0.0.1:{server.server_address[1]}\nactions: [checks]\n"
            f"stores:\n  db: {{adapter: postgres, dsn: '{dsn}'}}\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("VENOMQA_")}
        return subprocess.run(
            [sys.executable, "-m", "venomqa", "run", "-c", str(config), "--no-console"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_refused_connection_is_one_sentence_without_the_password(tmp_path: Path) -> None:
    port = closed_port()
    done = run_with_dsn(tmp_path, f"postgresql://app:s3cret@127.0.0.1:{port}/shop")
    assert done.returncode == 3, done.stderr
    message = done.stderr.strip()
    assert message == (
        f"Error: store 'db' (postgres): cannot connect to 127.0.0.1:{port}/shop as user app: "
        "Connection refused (is the server running on that host and accepting TCP/IP "
        "connections?)"
    )
    assert "s3cret" not in message


def test_a_user_the_server_does_not_know_is_named(tmp_path: Path, postgres_available: None) -> None:
    done = run_with_dsn(tmp_path, "postgresql://nobody_here:pw@127.0.0.1:5432/test")
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(
        "Error: store 'db' (postgres): cannot connect to 127.0.0.1:5432/test as user nobody_here: "
    )
    assert 'role "nobody_here" does not exist' in lines[0]
    assert "pw@" not in lines[0]
