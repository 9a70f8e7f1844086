"""Where a report goes: a file (parent folders created), or standard output without a path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from venomqa.errors import UsageError

#: GitHub Actions' job summary file; a report written there is appended, never overwritten.
GITHUB_STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def output_path(path: str | os.PathLike[str] | None) -> Path | None:
    """The report's file, or None for standard output (no path, or ``-``)."""
    if path is None or os.fspath(path) in ("", "-"):
        return None
    return Path(path)


def write_report(path: Path | None, text: str, *, fmt: str, append: bool = False) -> None:
    """Write ``text`` to ``path`` (or stdout); errors name the format and the file."""
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a" if append else "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(
            f"{fmt} report: cannot write {path}: {exc.strerror or exc}; "
            "choose a writable path with --report FORMAT:PATH or the file's reports"
        ) from exc


def is_step_summary(path: Path | None) -> bool:
    """Whether ``path`` is the GitHub Actions job summary of this run."""
    summary = os.environ.get(GITHUB_STEP_SUMMARY_ENV)
    if path is None or not summary:
        return False
    try:
        return path.resolve() == Path(summary).resolve()
    except OSError:
        return False
