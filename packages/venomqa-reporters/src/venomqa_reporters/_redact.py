"""Redaction and display form of what a report shows from requests: URLs, headers, bodies.

The client has already redacted its records; reports pass everything through
:class:`venomqa.client.SensitiveDataFilter` once more, so a record built by hand (or by a future
client) cannot leak a credential into a file that is pasted into a pull request. A reporter makes
its Redactor per run (:meth:`Redactor.for_run`): it then also masks every secret the run's
clients registered or learned, in messages, errors and echoed bodies alike.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from venomqa.client.redaction import SensitiveDataFilter
from venomqa.models import RunReport, VolatileFieldInfo
from venomqa.reporters.redaction import report_filter

#: Bodies longer than this many characters are cut in reports (with a note saying so).
BODY_LIMIT = 20_000


class Redactor:
    """Formats request/response data for display after redacting it."""

    def __init__(self, data_filter: SensitiveDataFilter | None = None) -> None:
        self.filter = data_filter if data_filter is not None else SensitiveDataFilter()

    @classmethod
    def for_run(cls, run: RunReport) -> Redactor:
        """A Redactor masking the secrets of ``run`` (``venomqa.reporters.redaction``)."""
        return cls(report_filter(run))

    def url(self, url: str) -> str:
        """The URL with sensitive query parameters, passwords and secret literals redacted."""
        return self.filter.redact_url(url)

    def short_url(self, url: str) -> str:
        """The redacted URL without scheme and host (``/orders/1?x=y``)."""
        redacted = self.url(url)
        parts = urlsplit(redacted)
        if not parts.scheme:
            return redacted
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def headers(self, headers: dict[str, str]) -> dict[str, str]:
        """The headers with credentials redacted."""
        return self.filter.redact_headers(headers)

    def text(self, text: str | None) -> str:
        """Free text (a message, an error) with secret literals and ``name=value`` redacted."""
        return self.filter.redact_text(text) if text else ""

    def reason(self, info: VolatileFieldInfo) -> str:
        """Why a volatile value was learned, without a credential's value it may quote."""
        return self.filter.redact_learned(info.spec, info.reason)

    def body(self, body: Any, *, limit: int = BODY_LIMIT) -> str:
        """A redacted body as display text: JSON pretty-printed, cut at ``limit`` characters."""
        if body is None:
            return ""
        if isinstance(body, bytes):
            body = body.decode("utf-8", errors="replace")
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except ValueError:
                return _cut(self.filter.redact_text(body), limit)
        value = self.filter.redact_value(body)
        if isinstance(value, str):
            return _cut(value, limit)
        text = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
        return _cut(text, limit)

    def one_line(self, body: Any, limit: int = 200) -> str:
        """A redacted body on one line, cut at ``limit`` characters."""
        text = " ".join(self.body(body, limit=limit * 4).split())
        return _cut(text, limit)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"... ({len(text) - limit} more characters)"
