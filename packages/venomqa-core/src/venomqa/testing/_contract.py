"""The store contract checks (``venomqa.ports.store``), as functions and as a pytest base class.

Every check takes a fresh, not yet set-up store and a ContractWriter bound to the same backing
system. It sets the store up itself and always tears it down. The checks only use the six
contract methods, so they apply to any adapter; ``check_changed_records`` checks the optional
``changed_records()`` capability when the store offers it and passes otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from venomqa.ports.store import RecordChange, StorePort, records_of
from venomqa.testing._writer import ContractWriter

#: One check: runs on a fresh, not yet set-up store and a writer on the same backing system.
Check = Callable[[StorePort, ContractWriter], None]


@contextmanager
def _set_up(store: StorePort) -> Iterator[StorePort]:
    store.setup()
    try:
        yield store
    finally:
        store.teardown()


def check_rollback_undoes_insert(store: StorePort, writer: ContractWriter) -> None:
    """A key written after a checkpoint is gone after rolling back to it."""
    writer.write("seed", "s")
    with _set_up(store):
        before = writer.read_all()
        token = store.checkpoint()
        writer.write("inserted", "1")
        assert writer.read_all() == {**before, "inserted": "1"}, (
            "the writer's insert is not visible"
        )
        store.rollback(token)
        assert writer.read_all() == before, "rollback did not undo an insert"


def check_rollback_undoes_update(store: StorePort, writer: ContractWriter) -> None:
    """A value overwritten after a checkpoint has its old value after rolling back."""
    writer.write("updated", "old")
    with _set_up(store):
        before = writer.read_all()
        token = store.checkpoint()
        writer.write("updated", "new")
        store.rollback(token)
        assert writer.read_all() == before, "rollback did not undo an update"


def check_rollback_undoes_delete(store: StorePort, writer: ContractWriter) -> None:
    """A key deleted after a checkpoint is back after rolling back."""
    writer.write("deleted", "here")
    with _set_up(store):
        before = writer.read_all()
        token = store.checkpoint()
        writer.delete("deleted")
        store.rollback(token)
        assert writer.read_all() == before, "rollback did not undo a delete"


def check_rollback_undoes_another_process_writes(store: StorePort, writer: ContractWriter) -> None:
    """Inserts, updates and deletes made by another process are all undone (required)."""
    writer.write("kept", "1")
    writer.write("changed", "1")
    writer.write("removed", "1")
    with _set_up(store):
        before = writer.read_all()
        token = store.checkpoint()
        writer.write("added", "2")
        writer.write("changed", "2")
        writer.delete("removed")
        writer.write("added", "3")
        store.rollback(token)
        assert writer.read_all() == before, "rollback did not undo another process's writes"


def check_nested_checkpoints(store: StorePort, writer: ContractWriter) -> None:
    """Roll back the inner checkpoint, then the outer one."""
    with _set_up(store):
        outer_state = writer.read_all()
        outer = store.checkpoint()
        writer.write("level", "1")
        inner_state = writer.read_all()
        inner = store.checkpoint()
        writer.write("level", "2")
        writer.write("deeper", "x")
        store.rollback(inner)
        assert writer.read_all() == inner_state, "rollback to the inner checkpoint failed"
        store.rollback(outer)
        assert writer.read_all() == outer_state, "rollback to the outer checkpoint failed"


def check_token_reusable_after_rollback(store: StorePort, writer: ContractWriter) -> None:
    """A token stays valid after being rolled back to, again and again."""
    with _set_up(store):
        before = writer.read_all()
        token = store.checkpoint()
        for branch in range(3):
            writer.write(f"branch{branch}", str(branch))
            store.rollback(token)
            assert writer.read_all() == before, f"rollback number {branch + 1} to one token failed"


def check_fingerprint_tracks_content(store: StorePort, writer: ContractWriter) -> None:
    """Equal contents give equal fingerprints whatever the history; different ones differ."""
    with _set_up(store):
        original = store.fingerprint()
        assert isinstance(original, str), "fingerprint() must return a str"
        assert store.fingerprint() == original, "fingerprint changed without any write"
        writer.write("fp", "1")
        changed = store.fingerprint()
        assert changed != original, "fingerprint did not change after an insert"
        writer.write("fp", "2")
        assert store.fingerprint() not in (original, changed), "an update kept the fingerprint"
        writer.write("fp", "1")
        assert store.fingerprint() == changed, "same contents, different fingerprint"
        writer.delete("fp")
        assert store.fingerprint() == original, "insert then delete did not restore the fingerprint"


def check_fingerprint_restored_by_rollback(store: StorePort, writer: ContractWriter) -> None:
    """After a rollback the fingerprint is the one taken at the checkpoint."""
    writer.write("fp-seed", "1")
    with _set_up(store):
        token = store.checkpoint()
        original = store.fingerprint()
        writer.write("fp-new", "x")
        writer.write("fp-seed", "2")
        assert store.fingerprint() != original, "fingerprint did not change after writes"
        store.rollback(token)
        assert store.fingerprint() == original, "rollback did not restore the fingerprint"


def check_observe_returns_dict(store: StorePort, writer: ContractWriter) -> None:
    """observe() gives a dict summary."""
    writer.write("observed", "1")
    with _set_up(store):
        summary = store.observe()
        assert isinstance(summary, dict), f"observe() returned {type(summary).__name__}, not dict"


def check_teardown_leaves_no_trace(store: StorePort, writer: ContractWriter) -> None:
    """After a run rolled back to its root, teardown leaves the backing system as it was."""
    writer.write("pristine", "1")
    before = writer.snapshot()
    store.setup()
    try:
        root = store.checkpoint()
        writer.write("during-run", "1")
        writer.write("pristine", "2")
        store.checkpoint()
        writer.delete("pristine")
        store.rollback(root)
    finally:
        store.teardown()
    assert writer.snapshot() == before, "teardown left the backing system different from before"


def check_changed_records(store: StorePort, writer: ContractWriter) -> None:
    """Optional ``changed_records()``: exactly the records that differ from setup, as they
    were then and are now, also after rollbacks; plain, JSON-like field values."""
    if not callable(getattr(store, "changed_records", None)):
        return
    writer.write("kept", "k1")
    writer.write("changed", "c1")
    writer.write("removed", "r1")
    with _set_up(store):
        assert _differing(store) == [], "changed_records() lists records right after setup"
        token = store.checkpoint()
        writer.write("added", "a1")
        writer.write("changed", "c2")
        writer.delete("removed")
        changes = _differing(store)
        shapes = sorted((c.before is None, c.after is None) for c in changes)
        assert shapes == [(False, False), (False, True), (True, False)], (
            "after an insert, an update and a delete by another process, changed_records() "
            f"should list one new, one changed and one removed record; got {changes!r}"
        )
        for change in changes:
            assert isinstance(change.collection, str), "collection must be a str"
            assert isinstance(change.identity, tuple), "identity must be a tuple"
            for image in (change.before, change.after):
                for value in (image or {}).values():
                    assert _plain(value), f"field value {value!r} is not a plain value"
        inner = store.checkpoint()
        writer.write("changed", "c1")
        assert len(_differing(store)) == 2, "writing back the setup value still lists the record"
        store.rollback(inner)
        assert len(_differing(store)) == 3, "rollback did not restore what changed_records() lists"
        store.rollback(token)
        assert _differing(store) == [], "after rolling back to setup, records are still listed"


def _differing(store: StorePort) -> list[RecordChange]:
    return [c for c in records_of(store) or () if c.before != c.after]


def _plain(value: object) -> bool:
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


ALL_CHECKS: tuple[Check, ...] = (
    check_rollback_undoes_insert,
    check_rollback_undoes_update,
    check_rollback_undoes_delete,
    check_rollback_undoes_another_process_writes,
    check_nested_checkpoints,
    check_token_reusable_after_rollback,
    check_fingerprint_tracks_content,
    check_fingerprint_restored_by_rollback,
    check_observe_returns_dict,
    check_teardown_leaves_no_trace,
    check_changed_records,
)


def check_store_contract(make_store: Callable[[], StorePort], writer: ContractWriter) -> list[str]:
    """Run every check, each on a fresh store from ``make_store``; returns the checks' names.

    Raises AssertionError naming the first check that fails.
    """
    passed: list[str] = []
    for check in ALL_CHECKS:
        try:
            check(make_store(), writer)
        except AssertionError as exc:
            raise AssertionError(f"{check.__name__}: {exc}") from exc
        passed.append(check.__name__)
    return passed


class StoreContract:
    """Subclass in a test module and provide two pytest fixtures: ``store`` and ``writer``.

    ``store`` must return a fresh store instance that is *not* set up; ``writer`` a
    ContractWriter on the same backing system. Each test sets the store up and tears it down.
    """

    def test_rollback_undoes_insert(self, store: StorePort, writer: ContractWriter) -> None:
        check_rollback_undoes_insert(store, writer)

    def test_rollback_undoes_update(self, store: StorePort, writer: ContractWriter) -> None:
        check_rollback_undoes_update(store, writer)

    def test_rollback_undoes_delete(self, store: StorePort, writer: ContractWriter) -> None:
        check_rollback_undoes_delete(store, writer)

    def test_rollback_undoes_another_process_writes(
        self, store: StorePort, writer: ContractWriter
    ) -> None:
        check_rollback_undoes_another_process_writes(store, writer)

    def test_nested_checkpoints(self, store: StorePort, writer: ContractWriter) -> None:
        check_nested_checkpoints(store, writer)

    def test_token_reusable_after_rollback(self, store: StorePort, writer: ContractWriter) -> None:
        check_token_reusable_after_rollback(store, writer)

    def test_fingerprint_tracks_content(self, store: StorePort, writer: ContractWriter) -> None:
        check_fingerprint_tracks_content(store, writer)

    def test_fingerprint_restored_by_rollback(
        self, store: StorePort, writer: ContractWriter
    ) -> None:
        check_fingerprint_restored_by_rollback(store, writer)

    def test_observe_returns_dict(self, store: StorePort, writer: ContractWriter) -> None:
        check_observe_returns_dict(store, writer)

    def test_teardown_leaves_no_trace(self, store: StorePort, writer: ContractWriter) -> None:
        check_teardown_leaves_no_trace(store, writer)

    def test_changed_records(self, store: StorePort, writer: ContractWriter) -> None:
        check_changed_records(store, writer)
