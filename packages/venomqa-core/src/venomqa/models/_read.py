"""Reading values back from a parsed JSON report: each helper returns the type a model field
has, or raises TypeError naming what it got (``venomqa replay`` reports a malformed report)."""

from __future__ import annotations

from venomqa.json_types import Json, JsonObject


def _wrong(expected: str, value: Json) -> TypeError:
    return TypeError(f"expected {expected}, got {type(value).__name__} {value!r:.60}")


def obj(value: Json) -> JsonObject:
    """A JSON object."""
    if isinstance(value, dict):
        return value
    raise _wrong("an object", value)


def array(value: Json) -> list[Json]:
    """A JSON array; null (or any empty value, or a missing key read as None) is an empty one."""
    if not value:
        return []
    if isinstance(value, list):
        return value
    raise _wrong("an array", value)


def text(value: Json) -> str:
    """A string."""
    if isinstance(value, str):
        return value
    raise _wrong("a string", value)


def optional_text(value: Json) -> str | None:
    """A string or null."""
    return None if value is None else text(value)


def texts(value: Json) -> list[str]:
    """An array of strings (null: none)."""
    return [text(item) for item in array(value)]


def optional_int(value: Json) -> int | None:
    """An integer or null."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise _wrong("an integer", value)


def integer(value: Json) -> int:
    """A number (or numeric text) as an int."""
    if isinstance(value, int | float | str):
        return int(value)
    raise _wrong("an integer", value)


def number(value: Json) -> float:
    """A number (or numeric text) as a float; null (or any empty value) is 0."""
    if not value:
        return 0.0
    if isinstance(value, int | float | str):
        return float(value)
    raise _wrong("a number", value)
