"""ReporterPort: turns a run's results into a report (console, JSON, HTML, ...).

A reporter class carries a unique ``name`` (the FORMAT in ``--report FORMAT:PATH``) and is built
as ``cls(path=PATH_OR_NONE, **options)``. ``report(run)`` is required. The live callbacks
``on_progress(progress)`` and ``on_violation(violation)`` are optional and looked up with getattr.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from venomqa.models.results import Progress, RunReport, Violation


@runtime_checkable
class ReporterPort(Protocol):
    """Renders a RunReport to its path (or to standard output when it has none)."""

    name: str

    def report(self, run: RunReport) -> None: ...


@runtime_checkable
class ExplorationObserver(Protocol):
    """Receives live updates from a running exploration (every method optional in practice)."""

    def on_progress(self, progress: Progress) -> None: ...
    def on_violation(self, violation: Violation) -> None: ...


def notify(observers: Iterable[object], method: str, *args: object) -> None:
    """Call ``method(*args)`` on every observer that has it (observers are any objects: each
    callback is optional, so an ExplorationObserver or a ReporterPort without them is fine)."""
    for observer in observers:
        callback = getattr(observer, method, None)
        if callable(callback):
            callback(*args)
