"""Checking that a rollback really restored a state: what each store holds, and what differs.

A ``Snapshot`` is each store's ``fingerprint()`` plus, for stores that list their records
(``SupportsRecords``), the records that differ from setup, content included. ``drift(expected,
now)`` says, store by store, what is not as it was: the records added, removed or changed, or
(for a store that cannot list records) that its fingerprint moved. The world takes one at the
start of every session and compares after the final rollback; with ``verify_rollback`` it takes
one at every checkpoint and compares after every rollback to it, including what stores that
can read their data afresh (``SupportsAudit``) find there: a rollback whose bookkeeping and data
disagree is caught too.

Cost: one ``fingerprint()`` and one ``changed_records()`` per store, O(records changed since
setup) each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from venomqa.ports.store import RecordChange, StorePort, SupportsAudit, SupportsRecords

_T = TypeVar("_T")


class StoreCall(Protocol):
    """``call(store_name, operation, fn)``: runs one store method, naming the store if it
    fails (``World``'s way of calling stores)."""

    def __call__(self, name: str, operation: str, fn: Callable[[], _T]) -> _T: ...


#: One record as compared: (collection, identity as text, content as text).
_Record = tuple[str, str, str]

_SHOWN = 3


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Each store's fingerprint and, where it can list them, its records that differ from
    setup (as comparable text)."""

    fingerprints: Mapping[str, str]
    records: Mapping[str, frozenset[_Record]]
    #: Each auditing store's content read afresh, by part (only when asked for: O(data)).
    audits: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def take(stores: Mapping[str, StorePort], call: StoreCall, *, audit: bool = False) -> Snapshot:
    """What every store holds now; with ``audit``, also what the stores that can read their
    data afresh (``SupportsAudit``) find there."""
    fingerprints: dict[str, str] = {}
    records: dict[str, frozenset[_Record]] = {}
    audits: dict[str, Mapping[str, str]] = {}
    for name, store in stores.items():
        fingerprints[name] = call(name, "fingerprint", store.fingerprint)
        if isinstance(store, SupportsRecords):
            records[name] = _comparable(call(name, "changed_records", store.changed_records))
        if audit and isinstance(store, SupportsAudit):
            audits[name] = dict(call(name, "audit", store.audit))
    return Snapshot(fingerprints, records, audits)


def drift(expected: Snapshot, now: Snapshot) -> list[str]:
    """What differs between two snapshots, one message per store that differs."""
    problems: list[str] = []
    for name, fingerprint in expected.fingerprints.items():
        then_records, now_records = expected.records.get(name), now.records.get(name)
        if then_records is not None and now_records is not None and then_records != now_records:
            problems.append(f"store {name!r}: {_records_differ(then_records, now_records)}")
        elif now.fingerprints.get(name) != fingerprint:
            problems.append(
                f"store {name!r}: its fingerprint is {now.fingerprints.get(name)}, "
                f"not {fingerprint}"
            )
        elif name in expected.audits and name in now.audits:
            parts = _parts_differ(expected.audits[name], now.audits[name])
            if parts:
                problems.append(
                    f"store {name!r}: read afresh, {parts} differ(s) from the checkpoint, "
                    "although the store's own records say it is restored (the adapter's "
                    "bookkeeping is wrong)"
                )
    return problems


def _parts_differ(expected: Mapping[str, str], now: Mapping[str, str]) -> str:
    differ = sorted(p for p in expected.keys() | now.keys() if expected.get(p) != now.get(p))
    more = f" and {len(differ) - _SHOWN} more" if len(differ) > _SHOWN else ""
    return ", ".join(differ[:_SHOWN]) + more


def _comparable(changes: Sequence[RecordChange]) -> frozenset[_Record]:
    return frozenset(
        (c.collection, repr(c.identity), _shown(c.after)) for c in changes if c.before != c.after
    )


def _shown(fields: Mapping[str, object] | None) -> str:
    """``{amount: 2500, id: 1}``, or ``absent``."""
    if fields is None:
        return "absent"
    return "{" + ", ".join(f"{name}: {value!r}" for name, value in sorted(fields.items())) + "}"


def _records_differ(expected: frozenset[_Record], now: frozenset[_Record]) -> str:
    """``2 record(s) differ: orders (3,) now {...} instead of absent, ...``."""
    then_by_id = {(c, i): content for c, i, content in expected}
    now_by_id = {(c, i): content for c, i, content in now}
    differ = sorted(
        key
        for key in then_by_id.keys() | now_by_id.keys()
        if then_by_id.get(key) != now_by_id.get(key)
    )
    shown = [
        f"{collection} {identity} {_content(now_by_id.get((collection, identity)))} instead of "
        f"{_content(then_by_id.get((collection, identity)))}"
        for collection, identity in differ[:_SHOWN]
    ]
    more = f", and {len(differ) - _SHOWN} more" if len(differ) > _SHOWN else ""
    return f"{len(differ)} record(s) differ: {'; '.join(shown)}{more}"


def _content(text: str | None) -> str:
    """A record's content as shown in a message (``as at setup`` when it matches setup)."""
    if text is None:
        return "as at setup"
    return text if len(text) <= 120 else text[:117] + "..."
