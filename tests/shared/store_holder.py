"""A store set up in another process, as a live run (or a killed one) has it: for the tests of
``SupportsClone`` (a copy a live run uses is left alone) and of leftovers in an original.

``live_store(cls, options)`` starts a Python process that builds the store, sets it up, says so
and holds it until told to tear down; ``killed_store(cls, options, *writes)`` sets one up, lets
``writes`` (callables' source, run with the store's options) change the data, and exits without
any clean-up, like a SIGKILLed run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_HOLD = """
import importlib, json, sys
module, name, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
store = getattr(importlib.import_module(module), name)(**options)
store.setup()
print("SET UP", flush=True)
sys.stdin.readline()
store.teardown()
print("TORN DOWN", flush=True)
"""

_KILL = """
import importlib, json, os, sys
module, name, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
store = getattr(importlib.import_module(module), name)(**options)
store.setup()
exec(sys.argv[4], {"options": options})
os._exit(0)  # no teardown: the store's machinery and the writes stay
"""


def _where(cls: type) -> tuple[str, str]:
    return cls.__module__, cls.__qualname__


@contextmanager
def live_store(cls: type, options: dict[str, Any]) -> Iterator[subprocess.Popen[str]]:
    """A store of ``cls`` on ``options``, set up in another process for the block's duration."""
    module, name = _where(cls)
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLD, module, name, json.dumps(options)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdin is not None
    try:
        line = process.stdout.readline()
        if line.strip() != "SET UP":
            process.kill()
            _, err = process.communicate(timeout=30)
            raise AssertionError(f"the live store did not set up: {line!r} {err}")
        yield process
    finally:
        if process.poll() is None:
            process.stdin.write("\n")
            process.stdin.flush()
            out, err = process.communicate(timeout=60)
            assert "TORN DOWN" in out, err


def killed_store(cls: type, options: dict[str, Any], writes: str = "") -> None:
    """Set a store of ``cls`` up in another process, run ``writes`` (Python source seeing
    ``options``) and end that process without tearing down."""
    module, name = _where(cls)
    done = subprocess.run(
        [sys.executable, "-c", _KILL, module, name, json.dumps(options), writes],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
