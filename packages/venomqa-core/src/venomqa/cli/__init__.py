"""The ``venomqa`` command line. The click group lives in ``venomqa.cli.main``; commands load
lazily so ``venomqa --help`` starts fast."""

from __future__ import annotations

from venomqa.errors import EXIT_OK, EXIT_VIOLATIONS
from venomqa.models import RunReport


def exit_code_for(report: RunReport) -> int:
    """0 when the run is clean, 1 when anything was violated or a journey failed."""
    return EXIT_OK if report.ok else EXIT_VIOLATIONS


__all__ = ["exit_code_for"]
