"""What every report redacts with: the run's secrets, gathered when the report is written.

The client redacted its records as it made them, but a report also shows text no record went
through (a violation's message, an action's error, why a value was learned) and bodies in which
an API echoed a credential under a name that does not give it away. So every reporter redacts
again, with :func:`report_filter`: a SensitiveDataFilter that masks each secret the clients of
this process registered (auth, credential headers) or learned (values they redacted by name:
passwords, tokens, API keys), after reading the run's own records so the credentials in them are
learned too.
"""

from __future__ import annotations

from collections.abc import Iterator

from venomqa.client.redaction import SensitiveDataFilter
from venomqa.client.secrets import secrets_in_use
from venomqa.json_types import Json
from venomqa.models import RequestRecord, RunReport


def report_filter(run: RunReport) -> SensitiveDataFilter:
    """The filter a report of ``run`` redacts with (see the module docstring)."""
    reader = SensitiveDataFilter()  # learns what the run's records and texts carry by name
    for record in run_records(run):
        reader.redact_url(record.url)
        reader.redact_headers(record.request_headers)
        reader.redact_headers(record.response_headers)
        reader.redact_value(record.request_body)
        reader.redact_value(record.response_body)
        reader.redact_text(record.error or "")
    for text in run_texts(run):
        reader.redact_text(text)
    return SensitiveDataFilter(secrets=secrets_in_use())


def run_records(run: RunReport) -> Iterator[RequestRecord]:
    """Every request record a report of ``run`` can show."""
    for violation in run.violations:
        for step in violation.steps:
            yield from step.requests
    for journey in run.journeys:
        for result in journey.steps:
            yield from result.requests
        for path in journey.paths:
            for result in path.steps:
                yield from result.requests


def run_texts(run: RunReport) -> Iterator[str]:
    """The free texts of ``run``: messages, errors, source lines of frames, reasons."""
    for violation in run.violations:
        yield violation.message
        yield from (step.error for step in violation.steps if step.error)
        yield from (frame.source for frame in violation.frames if frame.source)
    for journey in run.journeys:
        steps = [*journey.steps, *(step for path in journey.paths for step in path.steps)]
        yield from (step.error for step in steps if step.error)
    if run.stopped is not None:
        yield run.stopped
    if run.exploration is not None:
        yield from (info.reason for info in run.exploration.volatile)
        detail = getattr(run.exploration, "stop_detail", None)  # why an aborted run stopped
        if isinstance(detail, str):
            yield detail


def redact_report(value: Json, data_filter: SensitiveDataFilter) -> Json:
    """A redacted copy of a report as JSON (``RunReport.to_dict()``): URLs, headers and bodies
    redacted as the client redacts them, each learned value's reason without a credential's
    value, every other string as free text. Keys (action, table, header names) are kept."""
    if isinstance(value, dict):
        redacted: dict[str, Json] = {}
        spec = value.get("spec")
        for key, item in value.items():
            if key == "body":
                redacted[key] = data_filter.redact_value(item)
            elif key == "headers" and isinstance(item, dict):
                headers = {name: str(header) for name, header in item.items()}
                redacted[key] = dict(data_filter.redact_headers(headers))
            elif key in ("url", "target") and isinstance(item, str):
                redacted[key] = data_filter.redact_text(data_filter.redact_url(item))
            elif key == "reason" and isinstance(item, str) and isinstance(spec, str):
                redacted[key] = data_filter.redact_learned(spec, item)
            else:
                redacted[key] = redact_report(item, data_filter)
        return redacted
    if isinstance(value, list):
        return [redact_report(item, data_filter) for item in value]
    if isinstance(value, str):
        return data_filter.redact_text(value)
    return value


__all__ = ["redact_report", "report_filter", "run_records", "run_texts"]
