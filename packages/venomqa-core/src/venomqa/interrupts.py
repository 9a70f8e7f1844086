"""Stopping a run cleanly: Ctrl-C, SIGTERM and SIGHUP take one path, never mid-store-operation.

A signal that lands while a store is checkpointing, rolling back or reading its changes would
leave that store's connection half-way (a transaction open, a command in flight), and the clean-up
that follows would fail on it. So while a ``World.session()`` runs, these signals are handled
here: outside a store operation they raise ``RunInterrupted`` at once (the run stops, the session
rolls the stores back, reports are written); inside one they are held until the operation is
done, then raised. The same holds for a call to the API under test: a signal waits for its
answer, so the API has finished (and committed) what the call started before the stores are
rolled back. A second signal while one is held raises at once (the user insists; the request's
timeout bounds the wait otherwise). Outside sessions, and off the main thread (where Python
delivers no signals), nothing changes.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType, TracebackType

from venomqa.errors import RunInterrupted

#: The signals that stop a run: Ctrl-C, a cancelled job or ``timeout``, a closed terminal.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def signal_name(signum: int) -> str:
    """``SIGTERM`` for 15; Ctrl-C is named as such (``SIGINT (Ctrl-C)``)."""
    try:
        name = signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
    return f"{name} (Ctrl-C)" if signum == signal.SIGINT else name


Handler = Callable[[int, FrameType | None], object] | int | None


class Interrupts:
    """The process's stop signals while a session runs; see the module docstring."""

    def __init__(self) -> None:
        self.depth = 0
        self.pending: int | None = None
        self._previous: dict[int, Handler] | None = None

    @contextmanager
    def handled(self) -> Iterator[None]:
        """Handle the stop signals for the duration (a no-op when already handling them, or
        off the main thread)."""
        if self._previous is not None or threading.current_thread() is not threading.main_thread():
            yield
            return
        self._previous = {signum: signal.signal(signum, self._on_signal) for signum in STOP_SIGNALS}
        try:
            yield
        finally:
            previous, self._previous = self._previous, None
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def critical(self) -> _Critical:
        """A block during which stop signals are held (a store operation)."""
        return _Critical(self)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.depth and self.pending is None:
            self.pending = signum
            return
        self.pending = None
        raise RunInterrupted(signum)


class _Critical:
    """``with interrupts.critical():`` — a class, not a generator: it runs on every store call.
    Only the main thread counts (signals are delivered there); elsewhere it does nothing."""

    __slots__ = ("_counted", "_interrupts")

    def __init__(self, interrupts: Interrupts) -> None:
        self._interrupts = interrupts
        self._counted = False

    def __enter__(self) -> None:
        if threading.get_ident() == _MAIN_THREAD:
            self._counted = True
            self._interrupts.depth += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._counted:
            return
        interrupts = self._interrupts
        interrupts.depth -= 1
        if interrupts.depth == 0 and interrupts.pending is not None:
            signum, interrupts.pending = interrupts.pending, None
            raise RunInterrupted(signum)


_MAIN_THREAD = threading.main_thread().ident

#: The one instance: signals belong to the process.
INTERRUPTS = Interrupts()
