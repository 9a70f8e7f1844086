"""Turns an httpx request/response (or a failed send) into a redacted RequestRecord.

Bodies are decoded the first time a record's body is read, and only then: JSON into Python
values, form bodies and text into strings, binary content into a short description. Anything
over ``max_body_bytes`` is recorded as truncated text and never parsed, so a huge body costs a
slice, not a parse and a copy. Headers and URLs are redacted at once (they are small).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields

import httpx

from venomqa.client.redaction import SensitiveDataFilter
from venomqa.json_types import Json
from venomqa.models.results import RequestRecord

DEFAULT_MAX_BODY_BYTES = 64 * 1024

#: Turns raw body bytes and their content type into the recorded body.
Decoder = Callable[[bytes, str | None], Json]

_BINARY_TYPES = (
    "image/",
    "audio/",
    "video/",
    "font/",
    "multipart/",
    "application/octet-stream",
    "application/pdf",
    "application/zip",
    "application/gzip",
)


class LazyRequestRecord(RequestRecord):
    """A RequestRecord whose bodies are decoded and redacted on first access, not when recorded.

    Most records are never read (only the steps of a violation reach a report), so the client
    keeps the raw bytes and does the decoding work only if someone looks. It behaves as a plain
    RequestRecord otherwise, and compares equal to one with the same values.
    """

    _decode: Decoder
    _pending: dict[str, tuple[bytes, str | None]]

    @property
    def request_body(self) -> Json:
        return self._body("request_body")

    @request_body.setter
    def request_body(self, value: Json) -> None:
        self._set_body("request_body", value)

    @property
    def response_body(self) -> Json:
        return self._body("response_body")

    @response_body.setter
    def response_body(self, value: Json) -> None:
        self._set_body("response_body", value)

    def _body(self, name: str) -> Json:
        pending = self.__dict__.get("_pending")
        if pending and name in pending:
            content, content_type = pending.pop(name)
            self.__dict__[name] = self._decode(content, content_type)
        return self.__dict__.get(name)

    def _set_body(self, name: str, value: Json) -> None:
        pending = self.__dict__.get("_pending")
        if pending:
            pending.pop(name, None)
        self.__dict__[name] = value

    def defer(self, name: str, content: bytes, content_type: str | None, decode: Decoder) -> None:
        """Decode ``content`` into the body ``name`` with ``decode`` when it is first read."""
        if not content:
            return
        self.__dict__.setdefault("_pending", {})[name] = (content, content_type)
        self.__dict__["_decode"] = decode

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RequestRecord):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in fields(RequestRecord))

    # Defining __eq__ leaves __hash__ None, as it is for RequestRecord: records are mutable.

    def __reduce__(self) -> tuple[type[RequestRecord], tuple[object, ...]]:
        # Copies and pickles are plain, fully decoded RequestRecords (no filter, no locks).
        return (RequestRecord, tuple(getattr(self, f.name) for f in fields(RequestRecord)))


class Recorder:
    """Builds RequestRecords through one SensitiveDataFilter."""

    def __init__(
        self, redactor: SensitiveDataFilter, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    ) -> None:
        self.redactor = redactor
        self.max_body_bytes = max_body_bytes

    def exchange(self, response: httpx.Response, duration_s: float) -> RequestRecord:
        """The record of a request that got ``response`` (bodies decoded when first read)."""
        request = response.request
        redactor = self.redactor
        record = LazyRequestRecord(
            method=request.method,
            url=redactor.redact_url(str(request.url)),
            request_headers=redactor.redact_headers(request.headers),
            response_status=response.status_code,
            response_headers=redactor.redact_headers(response.headers),
            duration_ms=duration_s * 1000.0,
        )
        self._defer_request_body(record, request)
        record.defer(
            "response_body", response.content, response.headers.get("content-type"), self.body
        )
        return record

    def failure(
        self, request: httpx.Request, exc: BaseException, duration_s: float
    ) -> RequestRecord:
        """The record of ``request`` whose sending raised ``exc``."""
        redactor = self.redactor
        record = LazyRequestRecord(
            method=request.method,
            url=redactor.redact_url(str(request.url)),
            request_headers=redactor.redact_headers(request.headers),
            duration_ms=duration_s * 1000.0,
            error=redactor.redact_text(f"{type(exc).__name__}: {exc}"),
        )
        self._defer_request_body(record, request)
        return record

    def body(self, content: bytes, content_type: str | None) -> Json:
        """A redacted, recordable form of a body: JSON value, text, or a description."""
        if not content:
            return None
        size = len(content)
        kind = (content_type or "").lower()
        if kind.startswith(_BINARY_TYPES):
            return f"<{size} bytes of {kind.split(';')[0]}>"
        truncated = size > self.max_body_bytes
        if not truncated and (
            "json" in kind or (not kind and content.lstrip()[:1] in (b"{", b"["))
        ):
            try:
                # Secret literals are masked in the text once (one regex pass), then the parsed
                # value is walked in place for sensitive field names: no copies.
                text = self.redactor.secrets.mask(content.decode(), self.redactor.replacement)
                return self.redactor.redact_in_place(json.loads(text), strings_masked=True)
            except ValueError:
                pass  # not JSON (or not UTF-8) after all: recorded as text below
        text = content[: self.max_body_bytes].decode(_charset(kind), errors="replace")
        if kind.startswith("application/x-www-form-urlencoded") and not truncated:
            return self.redactor.redact_form(text)
        text = self.redactor.redact_text(text)
        if truncated:
            text += f"... [truncated: {size} bytes in total]"
        return text

    def _defer_request_body(self, record: LazyRequestRecord, request: httpx.Request) -> None:
        try:
            content = request.content
        except httpx.RequestNotRead:
            length = request.headers.get("content-length")
            kind = request.headers.get("content-type", "streamed content").split(";")[0]
            record.request_body = f"<{length} bytes of {kind}>" if length else f"<streamed {kind}>"
            return
        record.defer("request_body", content, request.headers.get("content-type"), self.body)


def _charset(content_type: str) -> str:
    marker = content_type.find("charset=")
    if marker < 0:
        return "utf-8"
    charset = content_type[marker + 8 :].split(";")[0].strip().strip('"')
    try:
        "".encode(charset)
    except LookupError:
        return "utf-8"
    return charset


__all__ = ["DEFAULT_MAX_BODY_BYTES", "LazyRequestRecord", "Recorder"]
