"""ExecutionContext: the explicit key/value state actions share, with snapshot and restore."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator, MutableMapping
from typing import Any


def _stable(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr, separators=(",", ":"))


class ExecutionContext(MutableMapping[str, Any]):
    """A mapping actions read and write (``ctx["order_id"] = ...``), plus per-step results.

    ``snapshot()`` / ``restore()`` let the explorer and journey runner put it back exactly as it
    was at a checkpoint; ``fingerprint()`` is part of the explorer's state key.
    """

    __slots__ = ("_data", "_step_results")

    def __init__(self, initial: dict[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = dict(initial or {})
        self._step_results: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"ExecutionContext({self._data!r})"

    def set_step_result(self, step: str, result: Any) -> None:
        """Remember what a journey step returned, readable later with ``step_result``."""
        self._step_results[step] = result

    def step_result(self, step: str, default: Any = None) -> Any:
        """What the named step returned (``default`` when it has not run)."""
        return self._step_results.get(step, default)

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the data and step results, for ``restore``."""
        return {"data": _copy(self._data), "step_results": _copy(self._step_results)}

    def copy_data(self) -> dict[str, Any]:
        """A deep copy of the data alone (what a state's view records)."""
        return _copy(self._data)

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Put the context back exactly as it was when ``snapshot`` was taken."""
        self._data = _copy(snapshot["data"])
        self._step_results = _copy(snapshot["step_results"])

    def fingerprint(self) -> str:
        """A short hash of the data, equal for equal contents (step results excluded)."""
        return hashlib.blake2b(_stable(self._data).encode(), digest_size=8).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """A plain copy of the data."""
        return dict(self._data)


_IMMUTABLE = (str, int, float, bool, bytes, type(None))


def _copy_value(value: Any) -> Any:
    """Copy plain JSON-like data quickly; anything else goes through ``copy.deepcopy``."""
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    if kind is dict:
        return {key: _copy_value(item) for key, item in value.items()}
    if kind is list:
        return [_copy_value(item) for item in value]
    if kind is tuple:
        return tuple(_copy_value(item) for item in value)
    return copy.deepcopy(value)


def _copy(value: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of the context's data, taken on every checkpoint (the explorer's hot path)."""
    try:
        return {key: _copy_value(item) for key, item in value.items()}
    except Exception:  # objects that refuse deepcopy (sockets, locks) are shared, not copied
        return dict(value)
