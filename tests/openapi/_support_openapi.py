"""Start the test shop (``_shop_api.py``) in its own process on a free loopback port, and run
``venomqa`` against it in another process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

APP = Path(__file__).with_name("_shop_api.py")


class ShopProcess:
    """A running shop: its base URL; ``stop()`` ends it."""

    def __init__(self, db: str, *, bugs: bool, flags: Sequence[str] = ()) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, str(APP), "--port", str(self.port), "--db", db]
        self.process = subprocess.Popen(
            [*command, *(["--bugs"] if bugs else []), *flags],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the shop exited: {self.process.stderr.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(self.url + "/openapi.json", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the shop did not answer within 30s")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()


def run_venomqa(
    folder: Path, *args: str, plugins: str = "openapi", timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``venomqa ARGS`` in a new process, in ``folder``, with only ``plugins`` loading."""
    return subprocess.run(
        [sys.executable, "-m", "venomqa.cli.main", *args],
        cwd=folder,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": plugins},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
