"""Values that give themselves away as made up on the spot: clock readings, salts, tokens.

Running an action twice finds most volatile values (they differ), but not a timestamp with
one-second resolution taken twice within the same second, nor a JWT issued twice in that second.
These are recognised by their form instead:

- a date and time (ISO 8601, SQL ``YYYY-MM-DD HH:MM:SS``, HTTP dates) or a number of seconds or
  milliseconds since 1970 within two days of the current time: a clock reading (the two days
  cover time zones, expiry times such as "in an hour" and clock skew; a value merely *set* by a
  test, e.g. a due date, is rarely that close to now);
- a salted password hash (bcrypt ``$2b$``, argon2, scrypt, PBKDF2 and the crypt formats):
  random by construction;
- a JWT (three base64url parts whose header has ``alg``) with ``iat``, ``exp``, ``nbf`` or
  ``jti`` claims.

A date without a time is not a clue: it only changes at midnight.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from venomqa.json_types import Json

_WINDOW = timedelta(days=2)
_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?\s?(?:Z|[+-]\d{2}(?::?\d{2})?)?"
)
_HTTP_DATE = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \w+")
_SALTED = re.compile(
    r"\$(?:2[abxy]?|argon2(?:id|i|d)|scrypt|pbkdf2[-_a-z0-9]*|[156]|y|gy|7)\$"
    r"|(?:pbkdf2|scrypt):[a-z0-9:]+\$"
)
_JWT = re.compile(r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_JWT_CLAIMS = ("iat", "exp", "nbf", "jti")


def volatile_clue(value: object, now: datetime | None = None) -> str | None:
    """Why ``value`` looks made up on the spot (a short reason), or None."""
    if isinstance(value, bool):
        return None
    now = now or datetime.now(UTC)
    if isinstance(value, int | float):
        return "a clock reading" if _near_now_epoch(float(value), now) else None
    if isinstance(value, datetime):
        return "a clock reading" if _near_now(value, now) else None
    if not isinstance(value, str) or len(value) < 16:
        return None
    if _SALTED.match(value):
        return "a salted hash"
    if _JWT.fullmatch(value) and _jwt_has_claims(value):
        return "a token with a timestamp or id (JWT)"
    parsed = _parse_time(value)
    if parsed is not None and _near_now(parsed, now):
        return "a clock reading"
    return None


def _parse_time(text: str) -> datetime | None:
    text = text.strip()
    if _ISO.fullmatch(text):
        try:
            return datetime.fromisoformat(text.replace(",", ".").replace(" Z", "Z"))
        except ValueError:
            return None
    if _HTTP_DATE.fullmatch(text):
        try:
            return parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return None


def _near_now(moment: datetime, now: datetime) -> bool:
    if moment.tzinfo is None:  # naive: local time or UTC, whichever the API used
        local = now.astimezone().replace(tzinfo=None)
        utc = now.astimezone(UTC).replace(tzinfo=None)
        return abs(moment - local) <= _WINDOW or abs(moment - utc) <= _WINDOW
    return abs(moment - now) <= _WINDOW


def _near_now_epoch(number: float, now: datetime) -> bool:
    seconds = now.timestamp()
    window = _WINDOW.total_seconds()
    return abs(number - seconds) <= window or abs(number / 1000 - seconds) <= window


def _jwt_has_claims(token: str) -> bool:
    header, payload, _ = token.split(".")
    decoded_header = _b64json(header)
    if not isinstance(decoded_header, dict) or "alg" not in decoded_header:
        return False
    claims = _b64json(payload)
    return isinstance(claims, dict) and any(c in claims for c in _JWT_CLAIMS)


def _b64json(part: str) -> Json:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        decoded: Json = json.loads(raw)
        return decoded
    except ValueError:
        return None
