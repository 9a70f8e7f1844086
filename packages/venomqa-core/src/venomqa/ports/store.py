"""The store contract every stateful adapter implements (docs/plugins.md shows one).

A store is something the API under test keeps state in. Only the six methods of ``StorePort`` plus
a ``name`` class attribute are required; everything else core may use is optional and looked up
with ``getattr`` (see ``optional_release``, ``SupportsRecords``, ``SupportsAudit``,
``SupportsUnchangedNotice``, ``SupportsSettle``, ``SupportsClone``, and the
``DatabasePort``, ``CachePort``, ``StoragePort`` and ``QueuePort`` a store may also be, for
invariants).

Token semantics: ``checkpoint()`` returns a token for the current state. ``rollback(token)`` puts
the state back exactly as it was at ``token``; the token stays valid (it can be rolled back to
again), and every token taken *after* it is invalid from then on. Tokens therefore behave like a
stack, which is what the explorer and the journey runner use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias, runtime_checkable

from venomqa.json_types import Json

#: A field value of a record: plain data (see RecordChange), at any depth.
FieldValue: TypeAlias = (
    bool | int | float | str | bytes | Sequence["FieldValue"] | Mapping[str, "FieldValue"] | None
)


@runtime_checkable
class StorePort(Protocol):
    """A store VenomQA can checkpoint and roll back while a (possibly separate) API writes it."""

    name: str

    def setup(self) -> None:
        """Install whatever the adapter needs (triggers, log tables, ...). Called once per run."""

    def teardown(self) -> None:
        """Remove everything ``setup`` installed, leaving the store as the user had it."""

    def checkpoint(self) -> object:
        """Remember the current state and return an opaque token for it."""

    def rollback(self, token: object) -> None:
        """Make the state exactly what it was at ``token`` (data and id counters)."""

    def fingerprint(self) -> str:
        """A short value, equal for equal states; cheap, called after every action."""

    def observe(self) -> dict[str, Json]:
        """A small human-readable summary of the state for reports (JSON data)."""


@runtime_checkable
class SupportsRelease(Protocol):
    """Optional: free the resources a token holds once it will not be rolled back to again."""

    def release(self, token: object) -> None: ...


@dataclass(frozen=True, slots=True)
class RecordChange:
    """One record (a row, a key, an object) whose content differs from what it was at setup().

    ``before``/``after`` map field names to plain values (None, bool, int, float, str, bytes, and
    lists/dicts of them; timestamps as ISO-8601 text, UUIDs and decimals as text): the record at
    ``setup()`` and now, None where it did not or does not exist. ``identity`` names the record
    within its ``collection`` (a table, a key family, a folder) and ``key_fields`` are the fields
    that form its primary key as the application sees it (empty when it has none).
    """

    collection: str
    identity: tuple[FieldValue, ...]
    before: Mapping[str, FieldValue] | None
    after: Mapping[str, FieldValue] | None
    key_fields: tuple[str, ...] = ()


@runtime_checkable
class SupportsRecords(Protocol):
    """Optional: the content a store holds, as the records that changed since ``setup()``.

    With it the explorer sees *what* differs between two states, field by field: it leaves out
    values that differ on every run (timestamps, random ids, salted hashes) and learns which
    those are, so an API that stores them still has a finite, repeatable set of states. A store
    that offers it is fingerprinted through it (``fingerprint()`` is then not called by the
    explorer). Cost: O(records changed since setup), never a scan of the store. Records equal to
    their setup content may be listed (they are ignored). The returned sequence is a snapshot:
    the store must not change it afterwards.
    """

    def changed_records(self) -> Sequence[RecordChange]: ...


@runtime_checkable
class SupportsAudit(Protocol):
    """Optional: the store's content read afresh from the backing system, by part.

    A store's ``fingerprint()`` and ``changed_records()`` come from what it keeps track of (an
    undo log, a shadow copy, a running hash), so a rollback that is wrong in the same way as that
    bookkeeping would look right to them. ``audit()`` reads the data itself instead and returns
    a digest per part (``"table orders"``, ``"sequence orders_id_seq"``, ``"key session:1"``...):
    equal digests for equal content, id counters included. ``verify_rollback`` compares it too,
    and a difference names the parts that differ. Cost: may read everything tracked (O(data));
    it is only called by that self-check.
    """

    def audit(self) -> Mapping[str, str]: ...


@runtime_checkable
class SupportsUnchangedNotice(Protocol):
    """Optional: being told that nothing can have written to the store since the world's
    previous call to it.

    The world calls ``unchanged_since_last_call()`` right before a ``checkpoint``,
    ``rollback``, ``fingerprint`` or ``changed_records`` call when, since its previous call to
    the stores, no action has run through it and its API client sent no request (the explorer's
    view, checkpoint and next rollback of one state). The next of those calls may then reuse
    what the store last read from its backing system instead of reading it again (an S3 bucket
    listing). Only that next call: the notice is never given after a write the world knows of,
    and the store must itself forget what it read when it writes (rollback, put, delete).
    """

    def unchanged_since_last_call(self) -> None: ...


def optional_unchanged(store: object) -> None:
    """Call ``store.unchanged_since_last_call()`` when the store offers it."""
    notice = getattr(store, "unchanged_since_last_call", None)
    if callable(notice):
        notice()


@runtime_checkable
class SupportsSettle(Protocol):
    """Optional: wait until work the API handed elsewhere (background jobs) is done.

    The world calls ``settle()`` on every store that offers it, before reading or saving any
    store (``checkpoint``, ``rollback``, ``fingerprint``, ``view``, ``observe``), once after each
    action: only when an action ran since the previous settle. A store of job queues (Celery,
    RQ) waits there until its queues are drained and no job is running, so invariants and
    checkpoints see settled state. It must not raise for a job that failed or never finished:
    it keeps that as part of its state for invariants to report (a finding with the path that
    enqueued the job); an unreachable broker is a StoreError as anywhere else.
    """

    def settle(self) -> None: ...


def optional_settle(store: object) -> None:
    """Call ``store.settle()`` when the store offers it."""
    settle = getattr(store, "settle", None)
    if callable(settle):
        settle()


@runtime_checkable
class SupportsClone(Protocol):
    """Optional: copies of the store's backing data, one per extra parallel worker
    (``venomqa run --workers N``: worker 1 uses the store itself, workers 2..N a copy each).

    ``clone(label)`` is called on a store that is *not* set up, before any API process of the
    run is started (nothing of the run is connected to the data). It copies the data as it is
    now (tables, keys, objects, id counters; nothing VenomQA installs) into a new database,
    file, database number or bucket whose name contains ``venomqa`` and ``label`` (``w2``,
    ``w3``...), and returns the constructor options of a store of the same adapter over the
    copy: the store's own options with the location changed. Those options are also what
    ``{stores.KEY.OPTION}`` in ``target.command``/``target.env`` is filled from for that
    worker's API. A copy of the same name left by an earlier run that is not running any more
    is replaced; one a live run uses is a StoreError naming it.

    ``drop_clone(options)`` removes the copy made with those options (its own store has been
    torn down). ``drop_leftover_clones()`` removes the copies earlier runs left behind (killed
    before their clean-up), leaving alone any a live run uses, and returns one line per copy
    removed, naming it (``venomqa recover`` prints them).
    """

    def clone(self, label: str) -> dict[str, Json]: ...

    def drop_clone(self, options: Mapping[str, Json]) -> None: ...

    def drop_leftover_clones(self) -> list[str]: ...


REQUIRED_STORE_METHODS = ("setup", "teardown", "checkpoint", "rollback", "fingerprint", "observe")


def missing_store_methods(store_cls: type) -> list[str]:
    """The contract methods a store class lacks (empty when it honours the contract)."""
    return [m for m in REQUIRED_STORE_METHODS if not callable(getattr(store_cls, m, None))]


def records_of(store: object) -> Sequence[RecordChange] | None:
    """``store.changed_records()`` when the store offers it, else None."""
    changed = getattr(store, "changed_records", None)
    return changed() if callable(changed) else None


def optional_release(store: object, token: object) -> None:
    """Call ``store.release(token)`` when the store offers it; do nothing otherwise."""
    release = getattr(store, "release", None)
    if callable(release):
        release(token)
