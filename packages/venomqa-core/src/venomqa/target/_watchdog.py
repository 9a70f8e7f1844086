"""Watchdog of one API process group: stops the group when the VenomQA process that started it
dies without stopping it (``kill -9``, an OOM kill, a crash).

Run as a script by the standard library alone (``python -I -S _watchdog.py PARENT_PID GRACE``),
in its own session so that the terminal's Ctrl-C does not reach it. Its standard input is a
pipe whose only writer is VenomQA: VenomQA writes ``pgid N`` once the API has started and
``done`` once it has stopped it itself. End of input without ``done`` means VenomQA is gone (the
kernel closes a dead process's pipes), and so does a new parent process id (checked every
second, for a writer copied into a forked child). Then the watchdog sends SIGTERM to the group,
waits up to GRACE seconds and sends SIGKILL. Unlike ``PR_SET_PDEATHSIG`` this reaches the API's
own children too, works on macOS, and does not fire when the *thread* that started the API ends.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time


def main(argv: list[str]) -> int:
    parent, grace = int(argv[1]), float(argv[2])
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    pgid: int | None = None
    buffer = b""
    while True:
        readable, _, _ = select.select([0], [], [], 1.0)
        if not readable:
            if os.getppid() != parent:
                break
            continue
        chunk = os.read(0, 256)
        if not chunk:
            break
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            words = line.split()
            if words[:1] == [b"done"]:
                return 0
            if words[:1] == [b"pgid"] and len(words) == 2:
                pgid = int(words[1])
    if pgid is not None:
        stop_group(pgid, grace)
    return 0


def stop_group(pgid: int, grace: float) -> None:
    """SIGTERM to the group, then SIGKILL if anything of it is left after ``grace`` seconds."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
