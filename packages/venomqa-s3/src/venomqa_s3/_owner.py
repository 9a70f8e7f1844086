"""Which process made a worker's copy of a bucket, and whether it still runs.

S3 has no connections to watch, so a copy belongs to the process that made it: its host name,
process id and start time (clock ticks since boot, from ``/proc``; 0 where there is no
``/proc``), written as ``host/pid/start``. On the same host a copy's maker is alive when a
process with that id exists and started at that time (a recycled id does not count). On another
host VenomQA cannot tell: ``alive()`` is None, and the copy is left alone.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass

#: What S3 tag values may hold besides letters and digits (host names are cut down to it).
_NOT_IN_TAGS = re.compile(r"[^A-Za-z0-9 +\-=._:@]")


def _host() -> str:
    return _NOT_IN_TAGS.sub("-", socket.gethostname())[:100] or "unknown-host"


def _start_ticks(pid: int) -> int | None:
    """When process ``pid`` started (ticks since boot); None if there is no such process; 0 if
    this system has no ``/proc`` to tell."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
        return int(fields[19])  # field 22 of stat(5); fields[0] is field 3
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return None
    except (OSError, ValueError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return 0  # exists, someone else's
    return 0


@dataclass(frozen=True)
class Owner:
    """A process, as ``host/pid/start``."""

    host: str
    pid: int
    started: int

    @classmethod
    def this_process(cls) -> Owner:
        pid = os.getpid()
        return cls(_host(), pid, _start_ticks(pid) or 0)

    def encode(self) -> str:
        return f"{self.host}/{self.pid}/{self.started}"

    @classmethod
    def decode(cls, text: str) -> Owner | None:
        host, _, rest = text.rpartition("/")
        host, _, pid = host.rpartition("/")
        try:
            return cls(host, int(pid), int(rest))
        except ValueError:
            return None

    def alive(self) -> bool | None:
        """Whether the process still runs; None when it ran on another host."""
        if self.host != _host():
            return None
        started = _start_ticks(self.pid)
        if started is None:
            return False
        return not (started and self.started and started != self.started)

    def describe(self) -> str:
        return f"process {self.pid} on {self.host}"
