"""ExecutionContext: the explicit key/value state actions share, with snapshot and restore."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator, Mapping, MutableMapping
from typing import TypedDict


class ContextSnapshot(TypedDict):
    """What ``ExecutionContext.snapshot()`` returns: deep copies of the data and step results."""

    data: dict[str, object]
    step_results: dict[str, object]


def _stable(value: dict[str, object]) -> str:
    """The data as canonical JSON (keys sorted; what JSON cannot encode by its ``repr``); a
    value that holds itself, which JSON cannot encode either, by its ``repr``."""
    try:
        return _json(value)
    except ValueError:  # a circular reference, somewhere in one of the values
        return _json({key: _json_or_repr(item) for key, item in value.items()})


def _json_or_repr(value: object) -> object:
    try:
        _json(value)
    except ValueError:
        return repr(value)
    return value


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=repr, separators=(",", ":"))


class ExecutionContext(MutableMapping[str, object]):
    """A mapping actions read and write (``ctx["order_id"] = ...``), plus per-step results.

    Values are whatever actions store (ids, tokens, lists of them, any object). ``snapshot()`` /
    ``restore()`` let the explorer and journey runner put it back exactly as it was at a
    checkpoint; ``fingerprint()`` is part of the explorer's state key.
    """

    __slots__ = ("_data", "_step_results")

    def __init__(self, initial: Mapping[str, object] | None = None) -> None:
        self._data: dict[str, object] = dict(initial or {})
        self._step_results: dict[str, object] = {}

    def __getitem__(self, key: str) -> object:
        return self._data[key]

    def __setitem__(self, key: str, value: object) -> None:
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"ExecutionContext({self._data!r})"

    def set_step_result(self, step: str, result: object) -> None:
        """Remember what a journey step returned, readable later with ``step_result``."""
        self._step_results[step] = result

    def step_result(self, step: str, default: object = None) -> object:
        """What the named step returned (``default`` when it has not run)."""
        return self._step_results.get(step, default)

    def snapshot(self) -> ContextSnapshot:
        """A deep copy of the data and step results, for ``restore``."""
        memo: dict[int, object] = {}
        return {"data": _copy(self._data, memo), "step_results": _copy(self._step_results, memo)}

    def copy_data(self) -> dict[str, object]:
        """A deep copy of the data alone (what a state's view records)."""
        return _copy(self._data, {})

    def restore(self, snapshot: ContextSnapshot) -> None:
        """Put the context back exactly as it was when ``snapshot`` was taken."""
        memo: dict[int, object] = {}
        self._data = _copy(snapshot["data"], memo)
        self._step_results = _copy(snapshot["step_results"], memo)

    def fingerprint(self) -> str:
        """A short hash of the data, equal for equal contents (step results excluded)."""
        return hashlib.blake2b(_stable(self._data).encode(), digest_size=8).hexdigest()

    def to_dict(self) -> dict[str, object]:
        """A plain copy of the data."""
        return dict(self._data)


_IMMUTABLE = frozenset({str, int, float, bool, bytes, type(None)})


def _copy(value: dict[str, object], memo: dict[int, object]) -> dict[str, object]:
    """A deep copy of the context's data, taken on every checkpoint (the explorer's hot path).

    Exact, as ``copy.deepcopy`` is: a value held in two places (``ctx["last_order"]`` also in
    ``ctx["orders"]``) is one value in the copy too, and a value that holds itself is copied.
    ``memo`` (copies by the ``id`` of their original, ``copy.deepcopy``'s own memo) is shared by
    the copies taken together. A value ``deepcopy`` refuses (a socket, a lock) is shared, not
    copied; the values around it are still copied.
    """
    return {key: _copy_value(item, memo) for key, item in value.items()}


def _copy_value(value: object, memo: dict[int, object]) -> object:
    """Copy plain JSON-like data quickly (immutable items are taken as they are, without a
    call); anything else goes through ``copy.deepcopy``."""
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    ident = id(value)
    if ident in memo:
        return memo[ident]
    if kind is dict:
        fresh: dict[object, object] = {}
        memo[ident] = fresh
        for key, item in value.items():  # type: ignore[attr-defined]
            fresh[key] = item if type(item) in _IMMUTABLE else _copy_value(item, memo)
        return fresh
    if kind is list:
        items: list[object] = []
        memo[ident] = items
        items.extend(
            [
                item if type(item) in _IMMUTABLE else _copy_value(item, memo)
                for item in value  # type: ignore[attr-defined]
            ]
        )
        return items
    if kind is tuple:
        row = tuple(
            [
                item if type(item) in _IMMUTABLE else _copy_value(item, memo)
                for item in value  # type: ignore[attr-defined]
            ]
        )
        return memo.setdefault(ident, row)
    try:
        return copy.deepcopy(value, memo)
    except Exception:  # objects that refuse deepcopy (sockets, locks) are shared, not copied
        return value
