"""What one action changed: a short, value-free summary of two WorldViews' difference.

``describe_changes(parent, child)`` lists the records created (``+orders#1``), deleted
(``-orders#1``) or updated (``orders#1: status, refunded``, the fields that differ) and the
context keys added, removed or changed (``ctx +order_id``), at most ``limit`` entries then
``+N more``. Values are left out (they may be secrets); record identities are shown, cut short.
Reports use it to label states and the steps of a violation's path. Cost: O(records the two
views hold), which is what keying the states already costs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from venomqa.ports.store import FieldValue, RecordChange
from venomqa.state.view import StorePart, WorldView

#: Entries kept per summary.
CHANGE_LIMIT = 6
_IDENTITY_LIMIT = 24
_Record = Mapping[str, FieldValue] | None


def describe_changes(
    parent: WorldView, child: WorldView, *, limit: int = CHANGE_LIMIT
) -> list[str]:
    """What differs from ``parent`` to ``child`` (see the module docstring)."""
    entries: list[str] = []
    for store in sorted(set(parent.stores) | set(child.stores)):
        entries += _store_changes(store, parent.stores.get(store), child.stores.get(store))
    entries += _context_changes(parent.context, child.context)
    if len(entries) > limit:
        return [*entries[:limit], f"+{len(entries) - limit} more"]
    return entries


def _store_changes(store: str, before: StorePart | None, after: StorePart | None) -> list[str]:
    if isinstance(before, str) or isinstance(after, str) or before is None or after is None:
        return [] if before == after else [f"{store}: changed"]
    old, new = _now(before), _now(after)
    setup = {**_setup(after), **_setup(before)}
    entries: list[str] = []
    for key in sorted(set(old) | set(new), key=repr):
        was = old.get(key, setup.get(key))
        now = new.get(key, setup.get(key))
        if was == now:
            continue
        label = _label(key)
        if was is None:
            entries.append(f"+{label}")
        elif now is None:
            entries.append(f"-{label}")
        else:
            fields = sorted(name for name in set(was) | set(now) if was.get(name) != now.get(name))
            entries.append(f"{label}: {', '.join(fields)}")
    return entries


def _now(part: Sequence[RecordChange]) -> dict[tuple[object, ...], _Record]:
    return {(change.collection, *change.identity): change.after for change in part}


def _setup(part: Sequence[RecordChange]) -> dict[tuple[object, ...], _Record]:
    return {(change.collection, *change.identity): change.before for change in part}


def _label(key: tuple[object, ...]) -> str:
    collection, *identity = key
    shown = ",".join(str(value) for value in identity)
    if len(shown) > _IDENTITY_LIMIT:
        shown = shown[: _IDENTITY_LIMIT - 1] + "…"
    return f"{collection}#{shown}" if shown else str(collection)


def _context_changes(before: Mapping[str, object], after: Mapping[str, object]) -> list[str]:
    entries: list[str] = []
    for key in sorted(set(before) | set(after)):
        if key not in before:
            entries.append(f"ctx +{key}")
        elif key not in after:
            entries.append(f"ctx -{key}")
        elif before[key] != after[key]:
            entries.append(f"ctx {key}")
    return entries


__all__ = ["CHANGE_LIMIT", "describe_changes"]
