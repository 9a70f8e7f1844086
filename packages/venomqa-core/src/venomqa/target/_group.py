"""A command running in its own process group, guarded by a watchdog, stopped as a whole.

``ProcessGroup.start`` runs the command in a new session (its process id is the group id), its
standard output and error going to one file, and starts a watchdog (``_watchdog.py``) that
stops the group if this process dies first. ``stop`` sends SIGTERM to the group, waits up to a
grace period for every member to end, then sends SIGKILL; a second Ctrl-C during the wait kills
at once. Members that are zombies (ended, not yet reaped by their new parent) count as gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

_WATCHDOG = Path(__file__).with_name("_watchdog.py")


class ProcessGroup:
    """One started command: ``process`` is its leader; ``pgid`` equals its pid."""

    def __init__(self, process: subprocess.Popen[bytes], watchdog: subprocess.Popen[bytes]):
        self.process = process
        self.pgid = process.pid
        self._watchdog = watchdog

    @classmethod
    def start(
        cls,
        command: tuple[str, ...] | str,
        *,
        env: Mapping[str, str],
        cwd: str | None,
        output: IO[bytes],
        grace_s: float,
    ) -> ProcessGroup:
        """Start ``command`` (a string runs through ``/bin/sh -c``); OSError if it cannot run."""
        watchdog = subprocess.Popen(
            [sys.executable, "-I", "-S", str(_WATCHDOG), str(os.getpid()), f"{grace_s:g}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            process = subprocess.Popen(
                command,
                shell=isinstance(command, str),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except BaseException:
            _release(watchdog)
            raise
        group = cls(process, watchdog)
        group._tell(f"pgid {process.pid}\n")
        return group

    def alive(self) -> bool:
        """Whether the leader is still running."""
        return self.process.poll() is None

    def stop(self, grace_s: float) -> None:
        """Stop every member: SIGTERM, up to ``grace_s`` seconds, then SIGKILL. Idempotent."""
        try:
            if self.process.poll() is None or _group_alive(self.pgid):
                self._signal(signal.SIGTERM)
                try:
                    deadline = time.monotonic() + grace_s
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self.process.wait(timeout=grace_s)
                    while _group_alive(self.pgid) and time.monotonic() < deadline:
                        time.sleep(0.02)
                except KeyboardInterrupt:  # asked again: no more grace
                    self._kill()
                    raise
                if self.process.poll() is None or _group_alive(self.pgid):
                    self._kill()
        finally:
            self._tell("done\n")
            _release(self._watchdog)

    def _kill(self) -> None:
        self._signal(signal.SIGKILL)
        self.process.wait()

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, signum)

    def _tell(self, line: str) -> None:
        stdin = self._watchdog.stdin
        if stdin is None or stdin.closed:
            return
        with contextlib.suppress(OSError):
            stdin.write(line.encode())
            stdin.flush()


def _release(watchdog: subprocess.Popen[bytes]) -> None:
    """Close the watchdog's input (after ``done``, it exits quietly) and reap it."""
    if watchdog.stdin is not None:
        with contextlib.suppress(OSError):
            watchdog.stdin.close()
    try:
        watchdog.wait(timeout=5)
    except subprocess.TimeoutExpired:
        watchdog.kill()
        watchdog.wait()


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies excepted, where /proc tells)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return bool(group_members(pgid)) if os.path.isdir("/proc/self") else True


def group_members(pgid: int) -> list[int]:
    """The running (not zombie) processes of group ``pgid``, read from /proc (Linux)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as file:
                stat = file.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) >= 3 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            members.append(int(entry))
    return members
