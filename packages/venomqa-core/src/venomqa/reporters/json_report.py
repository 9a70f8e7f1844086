"""JsonReporter: writes the RunReport as pretty JSON (the schema in docs/reports.md), redacted."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from venomqa.json_types import Json
from venomqa.models import RunReport
from venomqa.reporters.redaction import redact_report, report_filter


class JsonReporter:
    """Writes ``RunReport.to_dict()`` to ``path`` (parent folders created); stdout if no path."""

    name = "json"
    #: A report given without a path is written to ``venomqa-report.json``.
    file_extension = "json"

    def __init__(self, path: str | None = None, *, indent: int = 2) -> None:
        self.path = Path(path) if path and path != "-" else None
        self.indent = indent

    def render(self, run: RunReport) -> str:
        """The report as a JSON document, redacted (``venomqa.reporters.redaction``)."""
        plain = json.loads(json.dumps(run.to_dict(), default=_fallback))  # JSON types only
        data = redact_report(plain, report_filter(run))
        return json.dumps(data, indent=self.indent, default=_fallback) + "\n"

    def report(self, run: RunReport) -> None:
        text = self.render(run)
        if self.path is None:
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(text, encoding="utf-8")


def _fallback(value: object) -> Json:
    """What ``json.dumps`` writes for a value that is not JSON (bytes, a set, any object)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return repr(value)
