"""SensitiveDataFilter: removes credentials and secrets from what the client records.

It redacts

* headers such as ``Authorization``, ``Cookie``, ``Set-Cookie``, ``X-API-Key`` and any header
  whose name looks like a credential (``X-Auth-Token``, ``X-Client-Secret``, ...);
* JSON and form fields whose names look like a credential (``password``, ``api_key``,
  ``refreshToken``, ``credit_card``, ...), case-insensitively, at any depth of dicts and lists;
* query-string parameters with such names and the password of ``user:password@`` in URLs;
* every literal secret value its :class:`~venomqa.client.secrets.SecretsManager` knows, wherever
  it appears (header values, URL paths, body text);
* in free text (:meth:`SensitiveDataFilter.redact_text`), JWTs, and the values the explorer quotes
  as ``NAME is A in one run and B in the other`` when NAME looks like a credential.

Each value it redacts because of its name is also handed to the SecretsManager to *learn*
(:meth:`~venomqa.client.secrets.SecretsManager.learn`), so reports mask it wherever else it shows
up: an API echoing a password under another name, an error message quoting a session token.

A name "looks like a credential" when, lowercased and stripped of ``-``, ``_`` and other
punctuation, it contains one of :data:`SENSITIVE_NAME_PARTS` or equals one of
:data:`SENSITIVE_NAMES`. Extra names given to the filter are matched the same way as whole names.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, unquote, unquote_plus, urlencode, urlsplit, urlunsplit

from venomqa.client.secrets import REDACTED, SecretsManager
from venomqa.json_types import Json

SENSITIVE_NAME_PARTS: tuple[str, ...] = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "authorization",
    "credential",
    "creditcard",
    "cardnumber",
    "privatekey",
    "accesskey",
    "sessionid",
    "cookie",
)
"""Substrings of a normalised name that make a field, parameter or header sensitive."""

SENSITIVE_NAMES: frozenset[str] = frozenset(
    {"pwd", "pass", "auth", "cvv", "cvc", "ssn", "pin", "otp", "sig", "signature"}
)
"""Normalised names that are sensitive only as whole names (as parts they match too much)."""

SENSITIVE_HEADERS: frozenset[str] = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)
"""Header names (lowercase) always redacted, whatever the name rules say."""

_AUTH_SCHEMES = ("bearer ", "basic ", "digest ", "token ", "apikey ")
_LEAVES = frozenset({int, float, bool, type(None)})
_NON_ALNUM = re.compile(r"[^a-z0-9]")
_KEY_VALUE = re.compile(r"(?<![\w.-])([A-Za-z][\w.-]{0,63})=([^&\s;,\"']*)")
_JSON_PAIR = re.compile(
    r'"((?:[^"\\]|\\.){1,128})"(\s*:\s*)("(?:[^"\\]|\\.)*"?|-?[\d.eE+-]+|true|false|null)'
)
#: A JWT: a base64url JSON header (``{"`` encodes as ``eyJ``), a payload and a signature.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
#: How the explorer tells two runs apart: ``posts.token is A in one run and B in the other``.
_DIFFERENCE = re.compile(r"([\w.*-]+) is (.+?) in one run and (.+?) in the other")


class SensitiveDataFilter:
    """Redacts credentials from headers, bodies, URLs and text before anything is recorded.

    ``extra_fields`` and ``extra_headers`` add names to redact; ``secrets`` is the manager whose
    literal values are masked everywhere (a new one is made if not given).
    """

    def __init__(
        self,
        *,
        extra_fields: Iterable[str] = (),
        extra_headers: Iterable[str] = (),
        secrets: SecretsManager | None = None,
        replacement: str = REDACTED,
    ) -> None:
        self.secrets = secrets if secrets is not None else SecretsManager()
        self.replacement = replacement
        self._extra_fields = frozenset(_normalise(name) for name in extra_fields)
        self._headers = SENSITIVE_HEADERS | {name.lower() for name in extra_headers}
        self._field_verdicts: dict[str, bool] = {}
        self._header_verdicts: dict[str, bool] = {}

    # -- names -------------------------------------------------------------------------------

    def is_sensitive_field(self, name: str) -> bool:
        """Whether a body field or query parameter called ``name`` holds a credential."""
        verdict = self._field_verdicts.get(name)
        if verdict is None:
            normalised = _normalise(name)
            verdict = (
                normalised in SENSITIVE_NAMES
                or normalised in self._extra_fields
                or any(part in normalised for part in SENSITIVE_NAME_PARTS)
            )
            if len(self._field_verdicts) < 4096:
                self._field_verdicts[name] = verdict
        return verdict

    def is_sensitive_header(self, name: str) -> bool:
        """Whether the header ``name`` carries a credential."""
        verdict = self._header_verdicts.get(name)
        if verdict is None:
            verdict = name.lower() in self._headers or self.is_sensitive_field(name)
            if len(self._header_verdicts) < 1024:
                self._header_verdicts[name] = verdict
        return verdict

    # -- values ------------------------------------------------------------------------------

    def redact_headers(
        self, headers: Mapping[str, str] | Iterable[tuple[str, str]]
    ) -> dict[str, str]:
        """A new dict of ``headers`` with credential headers and secret literals redacted.

        For ``Authorization``-like headers the scheme word (``Bearer``, ``Basic``) is kept.
        """
        items = headers.items() if isinstance(headers, Mapping) else headers
        mask = self.secrets.mask
        redacted: dict[str, str] = {}
        for name, value in items:
            if self.is_sensitive_header(name):
                self._learn_credential(name, value)
                redacted[name] = self._redact_credential(value)
            else:
                redacted[name] = mask(value, self.replacement)
        return redacted

    def redact_value(self, value: Json) -> Json:
        """A redacted copy of a JSON-like value (dicts, lists, strings, numbers), at any depth."""
        return self._walk(value, True, True)

    def redact_in_place(self, value: Json, *, strings_masked: bool = False) -> Json:
        """Redact a freshly decoded JSON value the caller owns, mutating it; returns the result.

        Cheaper than :meth:`redact_value` (nothing is copied). Pass ``strings_masked=True`` when
        secret literals were already masked in the text it was decoded from.
        """
        return self._walk(value, False, not strings_masked)

    def _walk(self, value: Json, copy: bool, mask: bool) -> Json:
        if type(value) is str:
            if '"' in value or "=" in value or "eyJ" in value:  # JSON, name=value, a JWT
                return self.redact_text(value)
            return self.secrets.mask(value, self.replacement) if mask else value
        if type(value) is dict:
            target: dict[str, Json] = {} if copy else value
            verdicts = self._field_verdicts
            for key, item in value.items():
                verdict = verdicts.get(key)
                if verdict is None:
                    verdict = isinstance(key, str) and self.is_sensitive_field(key)
                if verdict and item is not None:
                    self._learn(item)
                    target[key] = self.replacement
                elif type(item) in _LEAVES or (_plain(item) and not mask):
                    if copy:
                        target[key] = item
                else:
                    target[key] = self._walk(item, copy, mask)
            return target
        if type(value) is list and not copy:
            for index, item in enumerate(value):
                if not (type(item) in _LEAVES or (_plain(item) and not mask)):
                    value[index] = self._walk(item, copy, mask)
            return value
        if isinstance(value, list | tuple):
            return [
                item if type(item) in _LEAVES else self._walk(item, copy, mask) for item in value
            ]
        if isinstance(value, str):  # a str subclass
            return self._walk(str(value), copy, mask)
        return value

    def redact_text(self, text: str) -> str:
        """``text`` with secret literals masked and ``"name": value`` / ``name=value`` redacted.

        Used for bodies that could not be decoded as a whole (e.g. truncated JSON).
        """
        text = self.secrets.mask(text, self.replacement)
        if '"' in text:
            text = _JSON_PAIR.sub(self._redact_json_pair, text)
        if "=" in text:
            text = _KEY_VALUE.sub(self._redact_key_value, text)
        if "eyJ" in text:
            text = _JWT.sub(self._redact_jwt, text)
        if " in one run and " in text:
            text = _DIFFERENCE.sub(self._redact_difference, text)
        return text

    def redact_learned(self, spec: str, reason: str) -> str:
        """Why the volatile value ``spec`` (``TABLE.FIELD`` or a context key) was learned, as
        :meth:`redact_text` leaves it, and without the value the reason quotes (``a token ...:
        'eyJ...'``) when the field or key looks like a credential."""
        if self.is_sensitive_field(spec.rpartition(".")[2]):
            head, colon, _ = reason.partition(": ")
            if colon:
                reason = f"{head}: {self.replacement}"
        return self.redact_text(reason)

    def redact_form(self, text: str) -> str:
        """An ``application/x-www-form-urlencoded`` string with sensitive fields redacted."""
        pairs = parse_qsl(text, keep_blank_values=True)
        if not pairs:
            return self.secrets.mask(text, self.replacement)
        return self.secrets.mask(urlencode(self._redact_pairs(pairs), safe="*"), self.replacement)

    def redact_url(self, url: str) -> str:
        """``url`` with sensitive query parameters, a userinfo password and secrets redacted."""
        if "?" in url or "@" in url:
            parts = urlsplit(url)
            netloc, query = parts.netloc, parts.query
            if "@" in netloc:
                userinfo, _, host = netloc.rpartition("@")
                if ":" in userinfo:
                    user, _, password = userinfo.partition(":")
                    if password != self.replacement:
                        self._learn(unquote(password))
                    netloc = f"{user}:{self.replacement}@{host}"
            if query:
                pairs = parse_qsl(query, keep_blank_values=True)
                if any(self.is_sensitive_field(name) for name, _ in pairs):
                    query = urlencode(self._redact_pairs(pairs), safe="*")
            url = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
        return self.secrets.mask(url, self.replacement)

    # -- helpers -----------------------------------------------------------------------------

    def _redact_credential(self, value: str) -> str:
        lowered = value[:8].lower()
        for scheme in _AUTH_SCHEMES:
            if lowered.startswith(scheme):
                return value[: len(scheme)] + self.replacement
        return self.replacement

    def _redact_pairs(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        redacted = []
        for name, value in pairs:
            if self.is_sensitive_field(name):
                self._learn(value)
                value = self.replacement
            redacted.append((name, value))
        return redacted

    def _redact_key_value(self, match: re.Match[str]) -> str:
        if not self.is_sensitive_field(match.group(1)) or match.group(2) == self.replacement:
            return match.group(0)
        value = match.group(2)
        self._learn(value)
        self._learn(unquote_plus(value))  # a URL's parameter, say, quoted in a message
        return f"{match.group(1)}={self.replacement}"

    def _redact_json_pair(self, match: re.Match[str]) -> str:
        name = match.group(1)
        if not self.is_sensitive_field(name):
            return match.group(0)
        value = match.group(3)
        if value.startswith('"'):
            try:
                self._learn(json.loads(value if value.endswith('"') else value + '"'))
            except ValueError:
                self._learn(value.strip('"'))
        return f'"{name}"{match.group(2)}"{self.replacement}"'

    def _redact_jwt(self, match: re.Match[str]) -> str:
        self._learn(match.group(0))
        return self.replacement

    def _redact_difference(self, match: re.Match[str]) -> str:
        name = match.group(1)
        if not self.is_sensitive_field(name.rpartition(".")[2]):
            return match.group(0)
        self._learn(match.group(2))
        self._learn(match.group(3))
        return f"{name} is {self.replacement} in one run and {self.replacement} in the other"

    # -- learning ----------------------------------------------------------------------------

    def _learn(self, value: Json) -> None:
        """Have the SecretsManager learn ``value`` (the strings in it), redacted by its name."""
        if type(value) is str:
            if value and self.replacement not in value:
                self.secrets.learn(value)
        elif isinstance(value, dict):
            for item in value.values():
                self._learn(item)
        elif isinstance(value, list | tuple):
            for item in value:
                self._learn(item)

    def _learn_credential(self, name: str, value: str) -> None:
        """Learn what a credential header carries: the token after its scheme, Basic's
        ``user:password`` and password, each cookie's value."""
        lowered = name.lower()
        if lowered in ("cookie", "set-cookie"):
            pairs = value.split(";") if lowered == "cookie" else value.split(";")[:1]
            for pair in pairs:
                self._learn(pair.partition("=")[2].strip())
            return
        scheme, space, rest = value.partition(" ")
        if not space or f"{scheme.lower()} " not in _AUTH_SCHEMES:
            self._learn(value)
            return
        self._learn(rest)
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(rest, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return
            self._learn(decoded)
            self._learn(decoded.partition(":")[2])


def _plain(value: Json) -> bool:
    """A string that cannot embed JSON, ``name=value`` pairs or a JWT."""
    return type(value) is str and '"' not in value and "=" not in value and "eyJ" not in value


def _normalise(name: str) -> str:
    return _NON_ALNUM.sub("", name.lower())


__all__ = [
    "REDACTED",
    "SENSITIVE_HEADERS",
    "SENSITIVE_NAMES",
    "SENSITIVE_NAME_PARTS",
    "SensitiveDataFilter",
]
